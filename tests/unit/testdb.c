/* See testdb.h. The PostgreSQL admin connection uses the server's url and password files
 * (scripts/pg-test-server); each test gets CREATE DATABASE and, at teardown, DROP DATABASE
 * WITH (FORCE), so tests never see each other's rows and may run in parallel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testdb.h"

#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *state_dir(void)
{
    const char *s = getenv("BK_TEST_PG_STATE");
    return s && *s ? s : NULL;
}

bool testdb_is_pg(void)
{
    return state_dir() != NULL;
}

static char *read_line(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", state_dir(), name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "testdb: cannot read %s (is the pg fixture up?)\n", path);
        fail();
    }
    char buf[1024] = "";
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return xstrdup(buf);
}

static void admin(const char *sql)
{
    char *url = read_line("url"), *pw = read_line("password");
    const char *keys[] = {"dbname", "password", NULL};
    const char *vals[] = {url, pw, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "testdb: %s\n", PQerrorMessage(c));
        fail();
    }
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "testdb: %s: %s\n", sql, PQresultErrorMessage(r));
        fail();
    }
    PQclear(r);
    PQfinish(c);
    free(url);
    free(pw);
}

static const char *base(const char *dir)
{
    const char *b = strrchr(dir, '/');
    return b ? b + 1 : dir;
}

char *testdb_section(const char *dir)
{
    if (!testdb_is_pg())
        return xasprintf("[database]\nurl = sqlite://%s/t.db\n", dir);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", base(dir));
    admin(sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", base(dir));
    admin(sql);
    char *url = read_line("url");
    /* postgresql:///postgres?host=… -> postgresql:///DB?host=… */
    const char *qs = strchr(url, '?');
    char *out = xasprintf("[database]\nurl = postgresql:///%s%s\npassword_file = %s/password\n",
                          base(dir), qs ? qs : "", state_dir());
    free(url);
    return out;
}

void testdb_drop(const char *dir)
{
    if (testdb_is_pg()) {
        char sql[256];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", base(dir));
        admin(sql);
        return;
    }
    char p[512];
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/t.db%s", dir, sfx[i]);
        unlink(p);
    }
}

struct q1 {
    bool got;
    int64_t i;
    char *s;
};

static int q1_row(const struct store_row *r, void *ud)
{
    struct q1 *q = ud;
    q->got = true;
    q->i = store_row_int(r, 0);
    const char *t = store_row_text(r, 0);
    q->s = t ? xstrdup(t) : NULL;
    return 1;
}

static struct q1 run1(const struct bk_config *cfg, const char *sql)
{
    struct bk_store *s = NULL;
    struct bk_err e = {0};
    struct q1 q = {0};
    if (store_open(cfg, &s, &e) < 0 || store_query(s, sql, NULL, 0, q1_row, &q, &e) < 0) {
        fprintf(stderr, "testdb: %s: %s\n", sql, e.msg);
        fail();
    }
    store_close(s);
    return q;
}

int64_t testdb_q1(const struct bk_config *cfg, const char *sql)
{
    struct q1 q = run1(cfg, sql);
    free(q.s);
    return q.got ? q.i : -1;
}

char *testdb_qtext(const struct bk_config *cfg, const char *sql)
{
    return run1(cfg, sql).s;
}

void testdb_exec(const struct bk_config *cfg, const char *sql)
{
    struct bk_store *s = NULL;
    struct bk_err e = {0};
    if (store_open(cfg, &s, &e) < 0 || store_exec(s, sql, NULL, 0, NULL, NULL, &e) < 0) {
        fprintf(stderr, "testdb: %s: %s\n", sql, e.msg);
        fail();
    }
    store_close(s);
}

/* store_copy (see copy.h). Values travel as text through the generic queries; one that
 * reads as a 64-bit integer in canonical form goes as an integer (every number of the schema
 * is an integer), anything else as text — a text column given an integer stores its digits
 * on both engines, so "0042" and "42" both come back as written. */
#include "store/copy.h"

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every table of store/migrations.h, parents before children (foreign keys). A table the
 * source has and this list lacks stops the copy (a migration added it: add it here). */
static const char *const TABLES[] = {
    "source",         "source_state",     "customer",        "job",           "job_run",
    "job_object",     "override",         "remark",          "remark_run",    "audit",
    "app_user",       "api_token",        "web_session",     "poll_run",      "poll_request",
    "stage_job",      "stage_run",        "stage_object",    "run_tombstone", "poll_counter",
    "job_schedule",   "job_schedule_set", "job_slot",        "push_check",    "alert_incident",
    "alert_outbox",   "alert_counter",    "job_fingerprint", "mail_message",  "mail_rule",
    "serve_instance", "source_lease",
};
#define NTABLES (sizeof TABLES / sizeof TABLES[0])

static int count_row(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

static int count_rows(struct bk_store *s, const char *table, int64_t *n, struct bk_err *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
    *n = 0;
    return store_query(s, sql, NULL, 0, count_row, n, err);
}

struct tables_ctx {
    char unknown[64];
};

static int table_row(const struct store_row *r, void *ud)
{
    struct tables_ctx *c = ud;
    const char *t = store_row_text(r, 0);
    if (!t || strcmp(t, "schema_migrations") == 0 || strncmp(t, "sqlite_", 7) == 0)
        return 0;
    for (size_t i = 0; i < NTABLES; i++)
        if (strcmp(t, TABLES[i]) == 0)
            return 0;
    snprintf(c->unknown, sizeof c->unknown, "%s", t);
    return 1;
}

/* The one place where the engines differ here: how to list tables. */
static int check_tables(struct bk_store *s, struct bk_err *err)
{
    struct tables_ctx c = {{0}};
    int rc =
        store_query(s,
                    store_engine(s) == STORE_ENGINE_SQLITE
                        /* a virtual table (an FTS index) and its shadow tables are kept by
                         * SQLite from the rows copied: not copied themselves */
                        ? "SELECT t.name FROM sqlite_master t WHERE t.type = 'table'"
                          " AND t.sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
                          " AND NOT EXISTS (SELECT 1 FROM sqlite_master v"
                          " WHERE v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%'"
                          " AND substr(t.name, 1, length(v.name) + 1) = v.name || '_')"
                        : "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
                    NULL, 0, table_row, &c, err);
    if (rc < 0)
        return rc;
    if (c.unknown[0])
        return bk_err_set(err, BK_EINVAL, "table %s is not one db copy knows", c.unknown);
    return 0;
}

static int version_of(struct bk_store *s, const char *which, int *v, struct bk_err *err)
{
    int rc = store_schema_version(s, v, err);
    if (rc < 0)
        bk_err_prefix(err, "%s: ", which);
    return rc;
}

struct copy_ctx {
    struct bk_store *to;
    const char *table;
    char *sql; /* the INSERT, built from the first row's column names */
    int ncols;
    struct store_param *p;
    int64_t rows;
    struct bk_err *err;
};

static bool canonical_int(const char *v, int64_t *out)
{
    const char *d = v[0] == '-' ? v + 1 : v;
    if (!*d || (d[0] == '0' && d[1]) || (v[0] == '-' && d[0] == '0'))
        return false;
    for (const char *p = d; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (errno == ERANGE || *end)
        return false;
    *out = n;
    return true;
}

static int copy_row(const struct store_row *r, void *ud)
{
    struct copy_ctx *c = ud;
    if (!c->sql) {
        c->ncols = store_row_count(r);
        struct bk_buf b;
        bk_buf_init(&b, 1 << 16);
        bk_buf_printf(&b, "INSERT INTO %s (", c->table);
        for (int i = 0; i < c->ncols; i++)
            bk_buf_printf(&b, "%s%s", i ? ", " : "", store_row_name(r, i));
        bk_buf_appends(&b, ") VALUES (");
        for (int i = 0; i < c->ncols; i++)
            bk_buf_printf(&b, "%s?%d", i ? ", " : "", i + 1);
        bk_buf_appends(&b, ")");
        c->sql = bk_buf_steal(&b);
        c->p = xcalloc((size_t)c->ncols, sizeof *c->p);
    }
    for (int i = 0; i < c->ncols; i++) {
        const char *v = store_row_text(r, i);
        int64_t n;
        if (!v)
            c->p[i] = SP_NULL;
        else if (canonical_int(v, &n))
            c->p[i] = SP_INT(n);
        else
            c->p[i] = SP_TEXT(v);
    }
    int rc = store_exec(c->to, c->sql, c->p, (size_t)c->ncols, NULL, NULL, c->err);
    if (rc < 0) {
        bk_err_prefix(c->err, "copy %s: ", c->table);
        return rc;
    }
    c->rows++;
    return 0;
}

/* PostgreSQL's identity columns do not follow explicit ids: continue after the largest. */
static int reset_identity(struct bk_store *to, const char *table, struct bk_err *err)
{
    if (store_engine(to) != STORE_ENGINE_POSTGRESQL)
        return 0;
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE(MAX(id), 0) + 1, false)"
             " FROM %s",
             table, table);
    return store_query(to, sql, NULL, 0, NULL, NULL, err);
}

static int has_id_column(const struct store_row *r, void *ud)
{
    for (int i = 0; i < store_row_count(r); i++)
        if (strcmp(store_row_name(r, i), "id") == 0)
            *(bool *)ud = true;
    return 1;
}

int store_copy(struct bk_store *from, struct bk_store *to, bool force,
               int (*cb)(const struct store_copy_table *t, void *ud), void *ud, struct bk_err *err)
{
    int vf = 0, vt = 0, rc;
    if ((rc = version_of(from, "source", &vf, err)) < 0 ||
        (rc = version_of(to, "target", &vt, err)) < 0)
        return rc;
    if (vf != vt)
        return bk_err_set(err, BK_EINVAL,
                          "the source is at schema version %d, the target at %d: open the "
                          "source once with this backupctl (it migrates) before copying",
                          vf, vt);
    if ((rc = check_tables(from, err)) < 0)
        return rc;
    int64_t target_rows = 0;
    for (size_t i = 0; i < NTABLES; i++) {
        int64_t n;
        if ((rc = count_rows(to, TABLES[i], &n, err)) < 0)
            return rc;
        target_rows += n;
    }
    if (target_rows > 0 && !force)
        return bk_err_set(err, BK_EINVAL,
                          "the target holds %" PRId64 " row(s); copying would mix two "
                          "installations (--force empties it first)",
                          target_rows);
    if ((rc = store_begin(to, err)) < 0)
        return rc;
    for (size_t i = NTABLES; i-- > 0 && target_rows > 0 && rc == 0;) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s", TABLES[i]);
        rc = store_exec(to, sql, NULL, 0, NULL, NULL, err);
    }
    struct store_copy_table *done = xcalloc(NTABLES, sizeof *done);
    for (size_t i = 0; i < NTABLES && rc == 0; i++) {
        struct copy_ctx c = {.to = to, .table = TABLES[i], .err = err};
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT * FROM %s", TABLES[i]);
        rc = store_query(from, sql, NULL, 0, copy_row, &c, err);
        free(c.sql);
        free(c.p);
        if (rc != 0)
            break;
        bool has_id = false;
        snprintf(sql, sizeof sql, "SELECT * FROM %s LIMIT 1", TABLES[i]);
        if ((rc = store_query(to, sql, NULL, 0, has_id_column, &has_id, err)) < 0 ||
            (has_id && (rc = reset_identity(to, TABLES[i], err)) < 0))
            break;
        done[i].table = TABLES[i];
        if ((rc = count_rows(from, TABLES[i], &done[i].source_rows, err)) < 0 ||
            (rc = count_rows(to, TABLES[i], &done[i].target_rows, err)) < 0)
            break;
        if (done[i].source_rows != done[i].target_rows || done[i].source_rows != c.rows)
            rc = bk_err_set(err, BK_EIO,
                            "table %s: %" PRId64 " row(s) in the source, %" PRId64
                            " copied, %" PRId64 " in the target (was the source written "
                            "during the copy?)",
                            TABLES[i], done[i].source_rows, c.rows, done[i].target_rows);
    }
    if (rc == 0)
        rc = store_commit(to, err);
    if (rc != 0) {
        store_rollback(to);
        free(done);
        return rc < 0 ? rc : -BK_EIO;
    }
    for (size_t i = 0; i < NTABLES && cb && rc == 0; i++)
        rc = cb(&done[i], ud);
    free(done);
    return rc;
}

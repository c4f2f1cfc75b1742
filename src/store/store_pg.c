/* PostgreSQL backend of the store (issue 11), with libpq: the same ops and the same meaning
 * as store_sqlite.c. The migrations are store/migrations.h translated to PostgreSQL types
 * (pg_migration_sql), run under an advisory lock so instances starting together migrate
 * once; ?N placeholders become $N; a poll is staged in short transactions and applied in one;
 * the apply writes a row only when something in it changed and never touches a reviewed run.
 *
 * Parameter types: an integer is sent as int8 and a text as text, so PostgreSQL never has to
 * guess; a NULL is sent untyped and takes its type from where it is used (a statement where
 * nothing tells, `?1 IS NULL` alone, casts it). Booleans read back as 1/0, like SQLite's. */
#include "store/migrations.h"
#include "store/runs.h"
#include "store/store_backend.h"

#include "config/config.h"
#include "core/fpset.h"
#include "platform/platform.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <libpq-fe.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define OID_BOOL 16
#define OID_INT8 20
#define OID_TEXT 25
#define PG_MAX_PARAMS 64
/* The key of the advisory lock the migrations run under ("bkmigr" in ASCII). */
#define PG_MIGRATE_LOCK 0x626b6d696772LL

/* Statements with parameters kept prepared, by SQL text and parameter types: the
 * expected-runs evaluator runs the same few statements hundreds of thousands of times a cycle
 * (bench/expected), and parsing and planning each would cost more than running it. */
#define PG_CACHE 32

struct pg_cached {
    char *sql; /* ?N text as the caller wrote it; NULL: free slot */
    int np;
    unsigned types[PG_MAX_PARAMS];
    char name[16];
};

struct pg {
    PGconn *c;
    struct pg_cached cache[PG_CACHE];
    unsigned cache_next, prepared;
    bool readonly;
    bool in_txn;        /* between pg_begin and pg_commit/pg_rollback */
    int64_t timeout_ms; /* statement_timeout */
    char label[160];    /* "postgresql DB@HOST": what errors name (never the password) */
    /* store_begin_batch: writes that return nothing are pipelined (see pipe_send) */
    bool batch;       /* in a batch transaction */
    bool piped;       /* the connection is in pipeline mode */
    int pending;      /* statements sent since the last sync */
    bool pipe_failed; /* one of them failed: pipe_err holds the first error */
    struct bk_err pipe_err;
};

static int pg_session(struct pg *q, struct bk_err *err);

/* A row handed to callbacks: the result and the row number. */
struct pg_row {
    PGresult *res;
    int row;
};

static void pg_notice(void *arg, const char *msg)
{
    (void)arg;
    log_debug("postgresql: %s", msg);
}

static int pg_fail(struct pg *q, PGresult *res, struct bk_err *err, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(q->c);
    char one[400];
    snprintf(one, sizeof one, "%s", msg ? msg : "unknown error");
    one[strcspn(one, "\n")] = '\0';
    /* class 23: integrity constraint violation, what SQLite's exec reports as a conflict */
    if (state && strncmp(state, "23", 2) == 0)
        return bk_err_set(err, BK_EINVAL, "conflict: %s: %s", q->label, one);
    if (state && strcmp(state, "57014") == 0)
        return bk_err_set(err, BK_ETIMEOUT, "%s: %s: %s", q->label, what, one);
    return bk_err_set(err, BK_EIO, "%s: %s: %s", q->label, what, one);
}

/* ?N -> $N, and a bare ? -> $K numbered as SQLite numbers it (one more than the largest
 * number so far), outside quoted literals and identifiers. Caller frees. */
static char *pg_sql(const char *in)
{
    struct bk_buf b;
    bk_buf_init(&b, 16 << 20);
    char quote = 0;
    long max = 0;
    for (const char *p = in; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?') {
            char *end;
            long k = strtol(p + 1, &end, 10);
            if (end == p + 1 || !isdigit((unsigned char)p[1]))
                k = max + 1;
            else
                p = end - 1;
            if (k > max)
                max = k;
            bk_buf_printf(&b, "$%ld", k);
            continue;
        }
        bk_buf_append(&b, p, 1);
    }
    char *out = bk_buf_steal(&b);
    return out ? out : xstrdup("");
}

/* The server went away (restart, failover, an idle connection cut): connect again, once,
 * when no transaction was open — a statement outside a transaction is safe to run again; in
 * one, the transaction is gone with the connection, and the caller's rollback and retry (the
 * poller's next interval) redo it whole, never half. */
/* Forget the prepared statements (the server did when the session ended). */
static void cache_clear(struct pg *q)
{
    for (int i = 0; i < PG_CACHE; i++) {
        free(q->cache[i].sql);
        q->cache[i].sql = NULL;
    }
}

static bool pg_reconnect(struct pg *q)
{
    if (q->in_txn || PQstatus(q->c) != CONNECTION_BAD)
        return false;
    cache_clear(q);
    PQreset(q->c);
    if (PQstatus(q->c) != CONNECTION_OK || pg_session(q, NULL) < 0) {
        log_warn("store: %s: reconnecting failed", q->label);
        return false;
    }
    log_info("store: %s: reconnected", q->label);
    return true;
}

/* The name of sql's prepared statement in this session, or NULL. */
static const char *cache_find(struct pg *q, const char *sql, int np, const unsigned *types)
{
    for (int i = 0; np > 0 && i < PG_CACHE; i++) {
        struct pg_cached *c = &q->cache[i];
        if (c->sql && c->np == np && strcmp(c->sql, sql) == 0 &&
            memcmp(c->types, types, (size_t)np * sizeof *types) == 0)
            return c->name;
    }
    return NULL;
}

/* Prepare sql in this session (evicting the oldest): its name, or NULL with *res the error. */
static const char *cache_prepare(struct pg *q, const char *sql, int np, const unsigned *types,
                                 PGresult **res)
{
    *res = NULL;
    struct pg_cached *c = &q->cache[q->cache_next++ % PG_CACHE];
    if (c->sql) {
        char dealloc[40];
        snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", c->name);
        PQclear(PQexec(q->c, dealloc));
        free(c->sql);
        c->sql = NULL;
    }
    snprintf(c->name, sizeof c->name, "bk%u", q->prepared++);
    char *s = pg_sql(sql);
    PGresult *r = PQprepare(q->c, c->name, s, np, types);
    free(s);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        *res = r; /* the error, as an execution would have reported it */
        return NULL;
    }
    PQclear(r);
    c->sql = xstrdup(sql);
    c->np = np;
    memcpy(c->types, types, (size_t)np * sizeof *types);
    return c->name;
}

/* Run a statement with parameters, prepared once per session (see PG_CACHE). A statement
 * is not cached while the transaction is in error (DEALLOCATE would be refused); then, and
 * without parameters (literal IN lists, which vary), it runs unprepared. */
static PGresult *exec_cached(struct pg *q, const char *sql, int np, const unsigned *types,
                             const char *const *vals)
{
    const char *name = cache_find(q, sql, np, types);
    if (name)
        return PQexecPrepared(q->c, name, np, vals, NULL, NULL, 0);
    PGresult *res;
    if (np == 0 || PQtransactionStatus(q->c) == PQTRANS_INERROR) {
        char *s = pg_sql(sql);
        res = PQexecParams(q->c, s, np, types, vals, NULL, NULL, 0);
        free(s);
        return res;
    }
    if (!(name = cache_prepare(q, sql, np, types, &res)))
        return res;
    return PQexecPrepared(q->c, name, np, vals, NULL, NULL, 0);
}

/* Parameters as libpq wants them: types, text values (nums holds the integers' text). */
static void bind_params(const struct store_param *p, size_t np, unsigned *types, const char **vals,
                        char (*nums)[24])
{
    for (size_t i = 0; i < np; i++) {
        switch (p[i].type) {
        case STORE_P_INT:
            types[i] = OID_INT8;
            snprintf(nums[i], sizeof nums[i], "%" PRId64, p[i].i);
            vals[i] = nums[i];
            break;
        case STORE_P_TEXT:
            types[i] = OID_TEXT;
            vals[i] = p[i].s;
            break;
        default:
            types[i] = 0;
            vals[i] = NULL;
            break;
        }
    }
}

/* ---- pipelined writes (store_begin_batch) ----
 * The expected-runs evaluation writes slots and schedules one statement each, thousands per
 * batch of jobs; on a server each one waited a round trip (100,000 jobs: 83 s of a first
 * evaluation). In a batch transaction a write whose caller wants no result (no change count,
 * no id) is sent without waiting, in libpq's pipeline mode, and its result read at the next
 * sync: every PIPE_SYNC statements (so neither side's socket buffer fills), before any
 * statement that returns something, and at commit. The first error of a pipelined write is
 * what that call reports; the transaction is then in error on the server, so nothing after
 * it applies, and the caller's rollback undoes it whole. */
#define PIPE_SYNC 256

static void pipe_record(struct pg *q, PGresult *res)
{
    if (!q->pipe_failed) {
        pg_fail(q, res, &q->pipe_err, "query");
        q->pipe_failed = true;
    }
}

/* Read every result up to the sync just sent. */
static void pipe_drain(struct pg *q)
{
    if (!q->piped || q->pending == 0)
        return;
    if (PQpipelineSync(q->c) != 1) {
        pipe_record(q, NULL);
        q->pending = 0;
        return;
    }
    int nulls = 0;
    for (;;) {
        PGresult *r = PQgetResult(q->c);
        if (!r) {
            /* one NULL ends each statement's results; more, on a dead connection, is the end */
            if (PQstatus(q->c) == CONNECTION_BAD || ++nulls > q->pending + 1) {
                pipe_record(q, NULL);
                break;
            }
            continue;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            pipe_record(q, r); /* the first error only; the aborted ones after it are noise */
        PQclear(r);
    }
    q->pending = 0;
}

/* Leave pipeline mode (results read); the first error of the pipelined writes, if any. */
static int pipe_flush(struct pg *q, struct bk_err *err)
{
    if (q->piped) {
        pipe_drain(q);
        if (PQexitPipelineMode(q->c) != 1 && !q->pipe_failed)
            pipe_record(q, NULL);
        q->piped = false;
    }
    if (!q->pipe_failed)
        return 0;
    q->pipe_failed = false;
    if (err)
        *err = q->pipe_err;
    return -(q->pipe_err.code ? q->pipe_err.code : BK_EIO);
}

/* Send a write without waiting for its result (see above). */
static int pipe_send(struct pg *q, const char *sql, const struct store_param *p, size_t np,
                     struct bk_err *err)
{
    unsigned types[PG_MAX_PARAMS];
    const char *vals[PG_MAX_PARAMS];
    char nums[PG_MAX_PARAMS][24];
    bind_params(p, np, types, vals, nums);
    const char *name = cache_find(q, sql, (int)np, types);
    if (!name) { /* prepared outside the pipeline, once per session */
        int rc = pipe_flush(q, err);
        if (rc < 0)
            return rc;
        PGresult *res;
        if (!(name = cache_prepare(q, sql, (int)np, types, &res))) {
            rc = pg_fail(q, res, err, "query");
            PQclear(res);
            return rc;
        }
    }
    if (!q->piped) {
        if (PQenterPipelineMode(q->c) != 1)
            return bk_err_set(err, BK_EIO, "%s: cannot pipeline: %s", q->label,
                              PQerrorMessage(q->c));
        q->piped = true;
    }
    if (PQsendQueryPrepared(q->c, name, (int)np, vals, NULL, NULL, 0) != 1) {
        pipe_record(q, NULL);
        return pipe_flush(q, err);
    }
    if (++q->pending >= PIPE_SYNC)
        pipe_drain(q);
    return 0;
}

/* Run sql (with ?N placeholders) with params; *out gets the result on success (caller
 * PQclear()s) or NULL. */
static int pg_run(struct pg *q, const char *sql, const struct store_param *p, size_t np,
                  PGresult **out, struct bk_err *err)
{
    *out = NULL;
    if (np > PG_MAX_PARAMS)
        return bk_err_set(err, BK_EINVAL, "%s: %zu parameters (at most %d)", q->label, np,
                          PG_MAX_PARAMS);
    int frc = pipe_flush(q, err);
    if (frc < 0)
        return frc;
    unsigned types[PG_MAX_PARAMS];
    const char *vals[PG_MAX_PARAMS];
    char nums[PG_MAX_PARAMS][24];
    bind_params(p, np, types, vals, nums);
    PGresult *res = exec_cached(q, sql, (int)np, types, vals);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && pg_reconnect(q)) {
        PQclear(res);
        res = exec_cached(q, sql, (int)np, types, vals);
        st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        int rc = pg_fail(q, res, err, "query");
        PQclear(res);
        return rc;
    }
    *out = res;
    return 0;
}

/* A script of statements without parameters (migrations, BEGIN, COMMIT). */
static int pg_script(struct pg *q, const char *sql, struct bk_err *err)
{
    int frc = pipe_flush(q, err);
    if (frc < 0)
        return frc;
    PGresult *res = PQexec(q->c, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && pg_reconnect(q)) {
        PQclear(res);
        res = PQexec(q->c, sql);
        st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    }
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_fail(q, res, err, "exec");
    PQclear(res);
    return rc;
}

static int64_t cmd_tuples(PGresult *res)
{
    const char *t = PQcmdTuples(res);
    return t && *t ? strtoll(t, NULL, 10) : 0;
}

static int pg_exec_n(struct pg *q, const char *sql, const struct store_param *p, size_t np,
                     int64_t *changes, struct bk_err *err)
{
    PGresult *res;
    int rc = pg_run(q, sql, p, np, &res, err);
    if (rc < 0)
        return rc;
    if (changes)
        *changes = cmd_tuples(res);
    PQclear(res);
    return 0;
}

/* The first column of the first row as an integer (0 when no row or NULL). */
static int pg_int1(struct pg *q, const char *sql, const struct store_param *p, size_t np,
                   int64_t *v, struct bk_err *err)
{
    PGresult *res;
    int rc = pg_run(q, sql, p, np, &res, err);
    if (rc < 0)
        return rc;
    *v = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                                                       : 0;
    PQclear(res);
    return 0;
}

static int pg_begin(void *impl, struct bk_err *err)
{
    struct pg *q = impl;
    int rc = pg_script(q, "BEGIN", err);
    q->in_txn = rc == 0;
    return rc;
}

static int pg_begin_batch(void *impl, struct bk_err *err)
{
    struct pg *q = impl;
    int rc = pg_begin(q, err);
    q->batch = rc == 0;
    return rc;
}

static int pg_commit(void *impl, struct bk_err *err)
{
    struct pg *q = impl;
    q->batch = false;
    int rc = pg_script(q, "COMMIT", err);
    q->in_txn = false;
    return rc;
}

static void pg_rollback(void *impl)
{
    struct pg *q = impl;
    q->batch = false;
    pipe_flush(q, NULL); /* the pipelined writes' results, and out of pipeline mode */
    q->in_txn = false;
    if (PQstatus(q->c) == CONNECTION_OK) /* a lost connection took the transaction with it */
        pg_script(q, "ROLLBACK", NULL);
}

/* ---- migrations ---- */

static bool word_at(const char *s, size_t i, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(s + i, w, n) != 0)
        return false;
    if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))
        return false;
    return !isalnum((unsigned char)s[i + n]) && s[i + n] != '_';
}

/* store/migrations.h is written in the types both engines share; on PostgreSQL INTEGER is
 * 32 bits, so every INTEGER becomes BIGINT (times are epoch milliseconds), and the `id
 * INTEGER PRIMARY KEY` that SQLite makes a rowid becomes an identity column. Quoted text is
 * left alone. Caller frees. */
char *pg_migration_sql(const char *sql);
char *pg_migration_sql(const char *sql)
{
    static const char ID[] = "id INTEGER PRIMARY KEY";
    struct bk_buf b;
    bk_buf_init(&b, 1 << 20);
    bool quoted = false;
    for (size_t i = 0; sql[i];) {
        if (sql[i] == '\'')
            quoted = !quoted;
        if (!quoted && word_at(sql, i, "id") && strncmp(sql + i, ID, sizeof ID - 1) == 0) {
            bk_buf_printf(&b, "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
            i += sizeof ID - 1;
            continue;
        }
        if (!quoted && word_at(sql, i, "INTEGER")) {
            bk_buf_printf(&b, "BIGINT");
            i += strlen("INTEGER");
            continue;
        }
        bk_buf_append(&b, sql + i, 1);
        i++;
    }
    return bk_buf_steal(&b);
}

/* The migrations whose SQLite text has no PostgreSQL meaning, in PostgreSQL's words (the
 * same version number, the same effect on every query both engines run). */
static const struct {
    int version;
    const char *sql;
} PG_MIGRATIONS[] = {
    /* 13 (issue 13, Run Checks): the same indexes; SQLite's FTS5 trigram index of run messages
     * (job_run_fts and its triggers) has no counterpart here: store/runs.c searches messages
     * with a portable condition on PostgreSQL. */
    {13, "DROP INDEX job_customer;"
         "CREATE INDEX job_customer_name ON job (customer_id, name, id);"
         "DROP INDEX job_run_unreviewed;"
         "CREATE INDEX job_run_review_job ON job_run (reviewed_at, job_id, status, override);"
         "DROP INDEX job_run_review_start;"
         "CREATE INDEX job_run_review_start ON job_run (reviewed_at, start_at, job_id);"
         "CREATE INDEX job_run_review_rank ON job_run (job_id, reviewed_at, " STORE_RUN_RANK_OF(
             "status", "override") ", start_at);"
                                   "CREATE INDEX job_run_overridden ON job_run (reviewed_at) WHERE "
                                   "override = 1;"},
};

/* Migration v as PostgreSQL runs it. Caller frees. */
static char *pg_migration(int v)
{
    for (size_t i = 0; i < sizeof PG_MIGRATIONS / sizeof PG_MIGRATIONS[0]; i++)
        if (PG_MIGRATIONS[i].version == v)
            return xstrdup(PG_MIGRATIONS[i].sql);
    return pg_migration_sql(store_migrations[v - 1]);
}

static int pg_migrate(struct pg *q, struct bk_err *err)
{
    struct store_param lk[] = {SP_INT(PG_MIGRATE_LOCK)};
    PGresult *res;
    int rc = pg_run(q, "SELECT pg_advisory_lock(?1)", lk, 1, &res, err);
    if (rc < 0)
        return rc;
    PQclear(res);
    if ((rc = pg_script(q,
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                        err)) < 0)
        goto out;
    int64_t have = 0;
    if ((rc = pg_int1(q, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0, &have,
                      err)) < 0)
        goto out;
    if (have > STORE_MIGRATION_COUNT) {
        rc = bk_err_set(err, BK_ECONFIG,
                        "%s: database schema version %d is newer than this backupctl (%d)",
                        q->label, (int)have, STORE_MIGRATION_COUNT);
        goto out;
    }
    for (int v = (int)have + 1; v <= STORE_MIGRATION_COUNT; v++) {
        char *sql = pg_migration(v);
        char ins[160];
        snprintf(ins, sizeof ins,
                 "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, %lld)", v,
                 (long long)bk_now_ms());
        if ((rc = pg_begin(q, err)) == 0 && (rc = pg_script(q, sql, err)) == 0 &&
            (rc = pg_script(q, ins, err)) == 0)
            rc = pg_commit(q, err);
        free(sql);
        if (rc < 0) {
            pg_rollback(q);
            bk_err_prefix(err, "migration %d: ", v);
            goto out;
        }
        log_debug("store: applied migration %d (postgresql)", v);
    }
out:
    if (pg_run(q, "SELECT pg_advisory_unlock(?1)", lk, 1, &res, NULL) == 0)
        PQclear(res);
    return rc;
}

/* ---- open ---- */

/* The [database] password: from password_env, or password_file (refused when group or
 * others can read it, like every secret file). NULL when none is configured. The reading
 * rules are those of secrets/secretfile.c, which the store does not link (the web layer
 * links the store and must not link the secrets module). Caller wipes and frees. */
static int pg_password(const struct bk_config *cfg, char **out, struct bk_err *err)
{
    *out = NULL;
    if (cfg->db_password.env) {
        const char *v = getenv(cfg->db_password.env);
        if (!v || !*v)
            return bk_err_set(err, BK_ECONFIG,
                              "[database] password: environment variable %s is not set",
                              cfg->db_password.env);
        *out = xstrdup(v);
        return 0;
    }
    const char *path = cfg->db_password.file;
    if (!path)
        return 0;
    int fd = bk_plat_open_read(path);
    if (fd < 0)
        return bk_err_set(err, BK_EIO, "[database] password: cannot open %s: %s", path,
                          strerror(errno));
    char why[600], buf[1024];
    int rc = 0;
    ssize_t n = 0;
    if (bk_plat_secret_fd_private(fd, path, why, sizeof why) < 0) {
        rc = bk_err_set(err, BK_ECONFIG, "[database] password: %s", why);
        goto out;
    }
    n = read(fd, buf, sizeof buf - 1);
    if (n < 0) {
        rc = bk_err_set(err, BK_EIO, "[database] password: cannot read %s: %s", path,
                        strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0) {
        rc = bk_err_set(err, BK_ECONFIG, "[database] password: %s is empty", path);
        goto out;
    }
    *out = xstrdup(buf);
out:
    memset(buf, 0, sizeof buf);
    close(fd);
    return rc;
}

/* The settings of every session (again after a reconnect). */
static int pg_session(struct pg *q, struct bk_err *err)
{
    char set[200];
    snprintf(set, sizeof set,
             "SET statement_timeout = %lld; SET client_min_messages = warning;"
             " SET TIME ZONE 'UTC'%s",
             (long long)q->timeout_ms,
             q->readonly ? "; SET default_transaction_read_only = on" : "");
    PGresult *res = PQexec(q->c, set);
    int rc = 0;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail(q, res, err, "session settings");
    PQclear(res);
    return rc;
}

static void pg_close(void *impl)
{
    struct pg *q = impl;
    if (!q)
        return;
    PQfinish(q->c);
    cache_clear(q);
    free(q);
}

static int pg_open(const struct bk_config *cfg, bool readonly, void **impl, struct bk_err *err)
{
    *impl = NULL;
    char *pw = NULL;
    int rc = pg_password(cfg, &pw, err);
    if (rc < 0)
        return rc;
    struct pg *q = xcalloc(1, sizeof *q);
    q->readonly = readonly;
    /* dbname first: expanded from the URL, then the keywords after it override it */
    const char *keys[] = {"dbname", "password", "application_name", "connect_timeout", NULL};
    const char *vals[] = {cfg->db_url, pw, "backupctl", "10", NULL};
    if (!pw) {
        keys[1] = "application_name";
        vals[1] = "backupctl";
        keys[2] = "connect_timeout";
        vals[2] = "10";
        keys[3] = NULL;
    }
    q->c = PQconnectdbParams(keys, vals, 1);
    if (pw) {
        memset(pw, 0, strlen(pw));
        free(pw);
    }
    snprintf(q->label, sizeof q->label, "postgresql %s@%s", q->c ? PQdb(q->c) : "?",
             q->c && PQhost(q->c) ? PQhost(q->c) : "?");
    if (!q->c || PQstatus(q->c) != CONNECTION_OK) {
        char one[400];
        snprintf(one, sizeof one, "%s", q->c ? PQerrorMessage(q->c) : "out of memory");
        one[strcspn(one, "\n")] = '\0';
        rc = bk_err_set(err, BK_ECONNECT, "%s: cannot connect: %s", q->label, one);
        goto out;
    }
    PQsetNoticeProcessor(q->c, pg_notice, NULL);
    q->timeout_ms = cfg->db_statement_timeout_ms > 0 ? cfg->db_statement_timeout_ms : 30000;
    if ((rc = pg_session(q, err)) < 0)
        goto out;
    if (!readonly) {
        rc = pg_migrate(q, err);
    } else {
        int64_t v;
        if ((rc = pg_int1(q, "SELECT COUNT(*) FROM schema_migrations", NULL, 0, &v, err)) < 0) {
            bk_err_prefix(err, "not a backupctl store: ");
            goto out;
        }
        rc = 0; /* pg_session made the session read only */
    }
out:
    if (rc < 0) {
        pg_close(q);
        return rc;
    }
    *impl = q;
    return 0;
}

static int pg_schema_version(void *impl, int *version, struct bk_err *err)
{
    int64_t v = 0;
    int rc =
        pg_int1(impl, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, 0, &v, err);
    *version = (int)v;
    return rc;
}

static int pg_source_sync(void *impl, const struct bk_source_cfg *src, int64_t *id,
                          struct bk_err *err)
{
    struct pg *q = impl;
    struct store_param p[] = {SP_TEXT(src->name),
                              SP_TEXT(bk_source_type_name(src->type)),
                              SP_TEXT(src->url),
                              SP_INT(src->interval_ms),
                              SP_INT(src->enabled ? 1 : 0),
                              SP_INT(bk_now_ms())};
    int rc = pg_exec_n(q,
                       "INSERT INTO source (name, kind, url, interval_ms, enabled, created_at,"
                       " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
                       " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind,"
                       " url = excluded.url, interval_ms = excluded.interval_ms,"
                       " enabled = excluded.enabled, updated_at = excluded.updated_at"
                       " WHERE source.kind IS DISTINCT FROM excluded.kind"
                       " OR source.url IS DISTINCT FROM excluded.url"
                       " OR source.interval_ms IS DISTINCT FROM excluded.interval_ms"
                       " OR source.enabled IS DISTINCT FROM excluded.enabled",
                       p, 6, NULL, err);
    if (rc < 0)
        return rc;
    rc = pg_int1(q, "SELECT id FROM source WHERE name = ?1", p, 1, id, err);
    if (rc == 0 && *id == 0)
        rc = bk_err_set(err, BK_EIO, "%s: source %s has no id", q->label, src->name);
    return rc;
}

static int pg_state_get(void *impl, int64_t source_id, const char *key, char **value,
                        struct bk_err *err)
{
    struct pg *q = impl;
    *value = NULL;
    struct store_param p[] = {SP_INT(source_id), SP_TEXT(key)};
    PGresult *res;
    int rc = pg_run(q, "SELECT value FROM source_state WHERE source_id = ?1 AND key = ?2", p, 2,
                    &res, err);
    if (rc < 0)
        return rc;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        *value = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int delete_stage(struct pg *q, const char *where, int64_t arg, struct bk_err *err)
{
    static const char *const tables[] = {"stage_job", "stage_run", "stage_object"};
    struct store_param p[] = {SP_INT(arg)};
    for (size_t i = 0; i < 3; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s", tables[i], where);
        int rc = pg_exec_n(q, sql, p, 1, NULL, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int count_poll(struct pg *q, int64_t source_id, const char *result, int64_t n,
                      struct bk_err *err)
{
    struct store_param p[] = {SP_INT(source_id), SP_TEXT(result), SP_INT(n)};
    return pg_exec_n(q,
                     "INSERT INTO poll_counter (source_id, result, n) VALUES (?1, ?2, ?3)"
                     " ON CONFLICT (source_id, result) DO UPDATE SET n = poll_counter.n + ?3",
                     p, 3, NULL, err);
}

static int pg_poll_begin(void *impl, int64_t source_id, const char *instance, int64_t *poll_id,
                         struct bk_err *err)
{
    struct pg *q = impl;
    int rc = pg_begin(q, err);
    if (rc < 0)
        return rc;
    /* Leftovers of a poll of this source that died (kill -9, power loss). */
    rc = delete_stage(q,
                      "poll_id IN (SELECT id FROM poll_run WHERE source_id = ?1"
                      " AND result = 'running')",
                      source_id, err);
    int64_t interrupted = 0;
    struct store_param p[] = {SP_INT(source_id), SP_INT(bk_now_ms()), SP_TEXT(instance)};
    if (rc == 0)
        rc = pg_exec_n(q,
                       "UPDATE poll_run SET result = 'interrupted', finished_at = NULL,"
                       " error = 'the poll did not finish (process stopped)'"
                       " WHERE source_id = ?1 AND result = 'running'",
                       p, 1, &interrupted, err);
    if (rc == 0 && interrupted > 0)
        rc = count_poll(q, source_id, "interrupted", interrupted, err);
    if (rc == 0)
        rc = pg_int1(q,
                     "INSERT INTO poll_run (source_id, started_at, result, instance)"
                     " VALUES (?1, ?2, 'running', ?3) RETURNING id",
                     p, 3, poll_id, err);
    if (rc == 0)
        rc = pg_commit(q, err);
    if (rc < 0)
        pg_rollback(q);
    return rc;
}

/* Rows of one page go in one statement per table and chunk (a round trip per row would cost
 * more than the insert); the same key twice within a statement is refused by ON CONFLICT
 * DO UPDATE, so a page is cut where a key repeats (a device listed twice on one page). */
#define STAGE_CHUNK 500

static int stage_flush(struct pg *q, const char *head, const char *tail, int ncols,
                       const char *const *vals, size_t nrows, struct bk_err *err)
{
    if (nrows == 0)
        return 0;
    struct bk_buf sql;
    bk_buf_init(&sql, 16 << 20);
    bk_buf_printf(&sql, "%s", head);
    unsigned *types = xmalloc(nrows * (size_t)ncols * sizeof *types);
    for (size_t r = 0; r < nrows; r++) {
        bk_buf_printf(&sql, "%s(", r ? "," : "");
        for (int c = 0; c < ncols; c++) {
            size_t k = r * (size_t)ncols + (size_t)c;
            /* column 1 (poll id) and the integer columns are typed by the table */
            types[k] = 0;
            bk_buf_printf(&sql, "%s$%zu", c ? "," : "", k + 1);
        }
        bk_buf_printf(&sql, ")");
    }
    bk_buf_printf(&sql, " %s", tail);
    PGresult *res =
        PQexecParams(q->c, sql.data, (int)(nrows * (size_t)ncols), types, vals, NULL, NULL, 0);
    int rc = 0;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail(q, res, err, "stage");
    PQclear(res);
    free(types);
    bk_buf_free(&sql);
    return rc;
}

/* One table's rows being collected: values as text (NULL for NULL), copied. */
struct stage_tab {
    const char *head, *tail;
    int ncols, nkey; /* the first nkey columns after poll_id form the key */
    const char **vals;
    char **owned; /* the copies vals point into */
    size_t nrows, nowned;
};

static void tab_init(struct stage_tab *t, const char *head, const char *tail, int ncols, int nkey)
{
    memset(t, 0, sizeof *t);
    t->head = head;
    t->tail = tail;
    t->ncols = ncols;
    t->nkey = nkey;
    t->vals = xcalloc((size_t)STAGE_CHUNK * (size_t)ncols, sizeof *t->vals);
    t->owned = xcalloc((size_t)STAGE_CHUNK * (size_t)ncols, sizeof *t->owned);
}

static void tab_reset(struct stage_tab *t)
{
    for (size_t i = 0; i < t->nowned; i++)
        free(t->owned[i]);
    t->nowned = 0;
    t->nrows = 0;
}

static void tab_free(struct stage_tab *t)
{
    tab_reset(t);
    free(t->vals);
    free(t->owned);
}

static int tab_flush(struct pg *q, struct stage_tab *t, struct bk_err *err)
{
    int rc = stage_flush(q, t->head, t->tail, t->ncols, t->vals, t->nrows, err);
    tab_reset(t);
    return rc;
}

/* v as text in buf, or NULL (a NULL column) when null. */
static const char *fmt_int(char *buf, size_t n, int64_t v, bool null)
{
    if (null)
        return NULL;
    snprintf(buf, n, "%" PRId64, v);
    return buf;
}

static bool eq_or_null(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Add a row (ncols values, copied); flushes first when the chunk is full or already holds
 * the row's key. */
static int tab_add(struct pg *q, struct stage_tab *t, const char *const *row, struct bk_err *err)
{
    bool repeat = false;
    for (size_t r = 0; r < t->nrows && !repeat; r++) {
        bool same = true;
        for (int c = 1; c <= t->nkey && same; c++)
            same = eq_or_null(t->vals[r * (size_t)t->ncols + (size_t)c], row[c]);
        repeat = same;
    }
    if (repeat || t->nrows == STAGE_CHUNK) {
        int rc = tab_flush(q, t, err);
        if (rc < 0)
            return rc;
    }
    for (int c = 0; c < t->ncols; c++) {
        char *v = row[c] ? xstrdup(row[c]) : NULL;
        if (v)
            t->owned[t->nowned++] = v;
        t->vals[t->nrows * (size_t)t->ncols + (size_t)c] = v;
    }
    t->nrows++;
    return 0;
}

static int pg_poll_stage(void *impl, int64_t poll_id, const struct bk_batch *b, struct bk_err *err)
{
    struct pg *q = impl;
    struct stage_tab tj, tr, to;
    tab_init(&tj,
             "INSERT INTO stage_job AS t (poll_id, external_id, name, kind, customer_ext_id,"
             " customer_name, colour_bar, colour_bar_as_of, fingerprint, policy_name,"
             " policy_rpo_s) VALUES ",
             "ON CONFLICT (poll_id, external_id) DO UPDATE SET name = excluded.name,"
             " kind = excluded.kind, customer_ext_id = excluded.customer_ext_id,"
             " customer_name = excluded.customer_name, colour_bar = excluded.colour_bar,"
             " colour_bar_as_of = excluded.colour_bar_as_of, fingerprint = excluded.fingerprint,"
             " policy_name = excluded.policy_name, policy_rpo_s = excluded.policy_rpo_s",
             11, 1);
    tab_init(&tr,
             "INSERT INTO stage_run AS t (poll_id, job_external_id, vendor_run_id, start_at,"
             " end_at, status, raw_status, error_count, message) VALUES ",
             "ON CONFLICT (poll_id, job_external_id, vendor_run_id) DO UPDATE SET"
             " start_at = excluded.start_at, end_at = excluded.end_at, status = excluded.status,"
             " raw_status = excluded.raw_status, error_count = excluded.error_count,"
             " message = excluded.message",
             9, 2);
    tab_init(&to,
             "INSERT INTO stage_object AS t (poll_id, job_external_id, vendor_run_id, name,"
             " status, raw_status, message) VALUES ",
             "ON CONFLICT (poll_id, job_external_id, vendor_run_id, name) DO UPDATE SET"
             " status = excluded.status, raw_status = excluded.raw_status,"
             " message = excluded.message",
             7, 3);
    char pid[24], n1[24], n2[24], n3[24];
    snprintf(pid, sizeof pid, "%" PRId64, poll_id);
    int rc = pg_begin(q, err);
    for (size_t i = 0; i < b->njobs && rc == 0; i++) {
        const struct bk_job_rec *j = &b->jobs[i];
        const char *row[11] = {
            pid,
            j->external_id,
            j->name ? j->name : j->external_id,
            j->kind ? j->kind : "unknown",
            j->customer_ext_id,
            j->customer_name,
            j->colour_bar,
            fmt_int(n1, sizeof n1, j->colour_bar_as_of_ms, j->colour_bar_as_of_ms <= 0),
            fmt_int(n2, sizeof n2, (int64_t)j->fingerprint, j->fingerprint == BK_FP_NONE),
            j->policy,
            fmt_int(n3, sizeof n3, j->policy_rpo_s, j->policy_rpo_s <= 0),
        };
        rc = tab_add(q, &tj, row, err);
    }
    if (rc == 0)
        rc = tab_flush(q, &tj, err);
    for (size_t i = 0; i < b->nruns && rc == 0; i++) {
        const struct bk_run_rec *r = &b->runs[i];
        const char *row[9] = {
            pid,
            r->job_external_id,
            r->vendor_run_id,
            fmt_int(n1, sizeof n1, r->start_ms, r->start_ms <= 0),
            fmt_int(n2, sizeof n2, r->end_ms, r->end_ms <= 0),
            bk_run_status_name(r->status),
            r->raw_status ? r->raw_status : "",
            fmt_int(n3, sizeof n3, r->error_count, r->error_count < 0),
            r->message,
        };
        rc = tab_add(q, &tr, row, err);
        for (size_t k = 0; k < r->nobjects && rc == 0; k++) {
            const struct bk_obj_rec *o = &r->objects[k];
            const char *orow[7] = {pid,
                                   r->job_external_id,
                                   r->vendor_run_id,
                                   o->name,
                                   bk_run_status_name(o->status),
                                   o->raw_status,
                                   o->message};
            rc = tab_add(q, &to, orow, err);
        }
    }
    if (rc == 0)
        rc = tab_flush(q, &tr, err);
    if (rc == 0)
        rc = tab_flush(q, &to, err);
    if (rc == 0)
        rc = pg_commit(q, err);
    if (rc < 0)
        pg_rollback(q);
    tab_free(&tj);
    tab_free(&tr);
    tab_free(&to);
    return rc;
}

/* The apply statements of store_sqlite.c in PostgreSQL's words (IS DISTINCT FROM for
 * SQLite's IS NOT; no arithmetic on booleans). Parameters: ?1 source id, ?2 now, ?3 poll. */
static const char SQL_CUSTOMERS[] =
    "INSERT INTO customer (source_id, external_id, name, created_at, updated_at)"
    " SELECT ?1, customer_ext_id, COALESCE(MAX(customer_name), customer_ext_id), ?2, ?2"
    " FROM stage_job WHERE poll_id = ?3 AND customer_ext_id IS NOT NULL GROUP BY customer_ext_id"
    " ON CONFLICT (source_id, external_id) DO UPDATE SET name = excluded.name,"
    " updated_at = excluded.updated_at WHERE customer.name IS DISTINCT FROM excluded.name";

static const char SQL_JOBS[] =
    "INSERT INTO job (source_id, customer_id, external_id, name, kind, colour_bar,"
    " colour_bar_as_of, policy_name, policy_rpo_s, created_at, updated_at)"
    " SELECT ?1, c.id, s.external_id, s.name, s.kind, s.colour_bar, s.colour_bar_as_of,"
    " s.policy_name, s.policy_rpo_s, ?2, ?2"
    " FROM stage_job s LEFT JOIN customer c ON c.source_id = ?1"
    " AND c.external_id = s.customer_ext_id WHERE s.poll_id = ?3"
    " ON CONFLICT (source_id, external_id) DO UPDATE SET customer_id = excluded.customer_id,"
    " name = excluded.name, kind = excluded.kind, colour_bar = excluded.colour_bar,"
    " colour_bar_as_of = excluded.colour_bar_as_of, policy_name = excluded.policy_name,"
    " policy_rpo_s = excluded.policy_rpo_s, retired_at = NULL,"
    " updated_at = excluded.updated_at"
    " WHERE job.customer_id IS DISTINCT FROM excluded.customer_id"
    " OR job.name IS DISTINCT FROM excluded.name OR job.kind IS DISTINCT FROM excluded.kind"
    " OR job.colour_bar IS DISTINCT FROM excluded.colour_bar"
    " OR job.policy_name IS DISTINCT FROM excluded.policy_name"
    " OR job.policy_rpo_s IS DISTINCT FROM excluded.policy_rpo_s OR job.retired_at IS NOT NULL";

static const char SQL_RETIRE[] =
    "UPDATE job SET retired_at = ?2, updated_at = ?2 WHERE source_id = ?1"
    " AND retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM stage_job s WHERE s.poll_id = ?3"
    " AND s.external_id = job.external_id)";

static const char SQL_RETIRE_CANDIDATES[] =
    "SELECT id, external_id FROM job WHERE source_id = ?1 AND retired_at IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM stage_job s WHERE s.poll_id = ?3"
    " AND s.external_id = job.external_id) AND ?2 IS NOT NULL";

static const char SQL_ACTIVE_NOT_STAGED[] =
    "SELECT (SELECT COUNT(*) FROM job WHERE source_id = ?1 AND retired_at IS NULL)"
    " - (SELECT COUNT(*) FROM stage_job WHERE poll_id = ?3) + CASE WHEN ?2 IS NULL THEN 1 ELSE 0"
    " END";

static const char SQL_FINGERPRINTS[] =
    "INSERT INTO job_fingerprint (job_id, fp)"
    " SELECT j.id, s.fingerprint FROM stage_job s JOIN job j ON j.source_id = ?1"
    " AND j.external_id = s.external_id WHERE s.poll_id = ?3 AND s.fingerprint IS NOT NULL"
    " AND ?2 IS NOT NULL"
    " ON CONFLICT (job_id) DO UPDATE SET fp = excluded.fp"
    " WHERE job_fingerprint.fp IS DISTINCT FROM excluded.fp";

static const char SQL_RUNS_NEW[] =
    "SELECT COUNT(*) FROM stage_run s JOIN job j ON j.source_id = ?1"
    " AND j.external_id = s.job_external_id WHERE s.poll_id = ?3 AND ?2 IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM job_run r WHERE r.job_id = j.id"
    " AND r.vendor_run_id = s.vendor_run_id)"
    " AND NOT EXISTS (SELECT 1 FROM run_tombstone t WHERE t.job_id = j.id"
    " AND t.vendor_run_id = s.vendor_run_id)";

static const char SQL_RUNS[] =
    "INSERT INTO job_run (job_id, source_type, vendor_run_id, start_at, end_at, status,"
    " raw_status, error_count, message, created_at, updated_at)"
    " SELECT j.id, 'api', s.vendor_run_id, s.start_at, s.end_at, s.status, s.raw_status,"
    " s.error_count, s.message, ?2, ?2 FROM stage_run s JOIN job j ON j.source_id = ?1"
    " AND j.external_id = s.job_external_id WHERE s.poll_id = ?3"
    " AND NOT EXISTS (SELECT 1 FROM run_tombstone t WHERE t.job_id = j.id"
    " AND t.vendor_run_id = s.vendor_run_id)"
    " ON CONFLICT (job_id, vendor_run_id) DO UPDATE SET start_at = excluded.start_at,"
    " end_at = excluded.end_at, status = excluded.status, raw_status = excluded.raw_status,"
    " error_count = excluded.error_count, message = excluded.message,"
    " updated_at = excluded.updated_at"
    " WHERE job_run.reviewed_at IS NULL AND (job_run.start_at IS DISTINCT FROM excluded.start_at"
    " OR job_run.end_at IS DISTINCT FROM excluded.end_at"
    " OR job_run.status IS DISTINCT FROM excluded.status"
    " OR job_run.raw_status IS DISTINCT FROM excluded.raw_status"
    " OR job_run.error_count IS DISTINCT FROM excluded.error_count"
    " OR job_run.message IS DISTINCT FROM excluded.message)";

static const char SQL_OBJECTS[] =
    "INSERT INTO job_object (run_id, name, status, raw_status, message)"
    " SELECT r.id, o.name, o.status, o.raw_status, o.message FROM stage_object o"
    " JOIN job j ON j.source_id = ?1 AND j.external_id = o.job_external_id"
    " JOIN job_run r ON r.job_id = j.id AND r.vendor_run_id = o.vendor_run_id"
    " WHERE o.poll_id = ?3 AND r.reviewed_at IS NULL AND ?2 IS NOT NULL"
    " ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status,"
    " raw_status = excluded.raw_status, message = excluded.message"
    " WHERE job_object.status IS DISTINCT FROM excluded.status"
    " OR job_object.raw_status IS DISTINCT FROM excluded.raw_status"
    " OR job_object.message IS DISTINCT FROM excluded.message";

static const char SQL_SUPERSEDED[] =
    "SELECT r.id, COALESCE(r.start_at, r.created_at), g.colour_bar, g.colour_bar_as_of,"
    " (SELECT MIN(s.start_at) FROM stage_run s WHERE s.poll_id = ?3"
    "  AND s.job_external_id = j.external_id AND s.start_at > COALESCE(r.start_at, r.created_at)),"
    " (SELECT COUNT(*) FROM job_run x WHERE x.job_id = r.job_id AND x.id <> r.id"
    "  AND x.start_at >= (COALESCE(r.start_at, r.created_at) / 86400000) * 86400000"
    "  AND x.start_at < (COALESCE(r.start_at, r.created_at) / 86400000 + 1) * 86400000)"
    " FROM job_run r JOIN job j ON j.id = r.job_id"
    " LEFT JOIN stage_job g ON g.poll_id = ?3 AND g.external_id = j.external_id"
    " WHERE r.reviewed_at IS NULL AND r.status = 'running' AND j.source_id = ?1"
    " AND ?2 IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM stage_run s WHERE s.poll_id = ?3"
    "  AND s.job_external_id = j.external_id AND s.vendor_run_id = r.vendor_run_id)"
    " AND EXISTS (SELECT 1 FROM stage_run s WHERE s.poll_id = ?3"
    "  AND s.job_external_id = j.external_id AND s.start_at > COALESCE(r.start_at, r.created_at))"
    " ORDER BY r.id";

static int64_t res_int(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int apply_one(struct pg *q, const char *sql, const struct store_param *p3, int64_t *changes,
                     bool count_query, struct bk_err *err)
{
    return count_query ? pg_int1(q, sql, p3, 3, changes, err)
                       : pg_exec_n(q, sql, p3, 3, changes, err);
}

static int finish_superseded(struct pg *q, const struct store_param *p3, int64_t *n,
                             struct bk_err *err)
{
    *n = 0;
    PGresult *res;
    int rc = pg_run(q, SQL_SUPERSEDED, p3, 3, &res, err);
    if (rc < 0)
        return rc;
    int64_t now = p3[1].i;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        char digit;
        int64_t start = res_int(res, i, 1), as_of = res_int(res, i, 3);
        enum bk_run_status st =
            store_superseded_status(PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2), as_of,
                                    start, res_int(res, i, 4), res_int(res, i, 5), &digit);
        char day[32], msg[300], raw[2] = {digit, '\0'};
        bk_iso8601(start, day, sizeof day);
        if (digit)
            snprintf(msg, sizeof msg,
                     "%s per the vendor's colour bar for %.10s: a newer session started before "
                     "the end of this one was reported",
                     bk_run_status_name(st), day);
        else
            snprintf(msg, sizeof msg,
                     "the vendor never reported the end of this run: a newer run started while "
                     "it was still running");
        struct store_param up[] = {SP_INT(res_int(res, i, 0)), SP_TEXT(bk_run_status_name(st)),
                                   SP_TEXT(digit ? raw : NULL), SP_TEXT(msg), SP_INT(now)};
        int64_t c = 0;
        rc = pg_exec_n(q,
                       "UPDATE job_run SET status = ?2, raw_status = COALESCE(?3, raw_status),"
                       " message = ?4, updated_at = ?5"
                       " WHERE id = ?1 AND reviewed_at IS NULL AND status = 'running'",
                       up, 5, &c, err);
        *n += c;
    }
    PQclear(res);
    return rc;
}

static int retire_unseen(struct pg *q, const struct store_param *p3, const struct bk_fpset *seen,
                         int64_t *n, struct bk_err *err)
{
    *n = 0;
    int64_t others = -1;
    int rc = apply_one(q, SQL_ACTIVE_NOT_STAGED, p3, &others, true, err);
    if (rc < 0 || others == (int64_t)bk_fpset_seen_count(seen))
        return rc;
    PGresult *res;
    if ((rc = pg_run(q, SQL_RETIRE_CANDIDATES, p3, 3, &res, err)) < 0)
        return rc;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        if (bk_fpset_seen(seen, PQgetvalue(res, i, 1)))
            continue;
        struct store_param up[] = {SP_INT(res_int(res, i, 0)), p3[1]};
        int64_t c = 0;
        rc = pg_exec_n(q, "UPDATE job SET retired_at = ?2, updated_at = ?2 WHERE id = ?1", up, 2,
                       &c, err);
        *n += c;
    }
    PQclear(res);
    return rc;
}

static int pg_poll_finish(void *impl, int64_t poll_id, int64_t source_id,
                          const struct store_poll_outcome *o, struct store_apply_stats *st,
                          struct bk_err *err)
{
    struct pg *q = impl;
    memset(st, 0, sizeof *st);
    int64_t now = bk_now_ms();
    struct store_param p3[] = {SP_INT(source_id), SP_INT(now), SP_INT(poll_id)};
    int rc = pg_begin(q, err);
    if (rc < 0)
        return rc;
    if (o->result != STORE_POLL_FAILED) {
        int64_t total_runs = 0;
        if ((rc = apply_one(q, SQL_CUSTOMERS, p3, &st->customers_changed, false, err)) < 0 ||
            (rc = apply_one(q, SQL_JOBS, p3, &st->jobs_changed, false, err)) < 0)
            goto out;
        if (o->result == STORE_POLL_OK &&
            (rc = o->seen ? retire_unseen(q, p3, o->seen, &st->jobs_retired, err)
                          : apply_one(q, SQL_RETIRE, p3, &st->jobs_retired, false, err)) < 0)
            goto out;
        if ((rc = apply_one(q, SQL_RUNS_NEW, p3, &st->runs_new, true, err)) < 0 ||
            (rc = apply_one(q, SQL_RUNS, p3, &total_runs, false, err)) < 0 ||
            (rc = apply_one(q, SQL_OBJECTS, p3, &st->objects_changed, false, err)) < 0 ||
            (rc = finish_superseded(q, p3, &st->runs_superseded, err)) < 0 ||
            (rc = apply_one(q, SQL_FINGERPRINTS, p3, &st->fingerprints_changed, false, err)) < 0)
            goto out;
        st->runs_updated = total_runs - st->runs_new + st->runs_superseded;
        if (o->state_key && o->state_value) {
            struct store_param ss[] = {SP_INT(source_id), SP_TEXT(o->state_key),
                                       SP_TEXT(o->state_value)};
            if ((rc = pg_exec_n(q,
                                "INSERT INTO source_state (source_id, key, value)"
                                " VALUES (?1, ?2, ?3) ON CONFLICT (source_id, key)"
                                " DO UPDATE SET value = excluded.value"
                                " WHERE source_state.value IS DISTINCT FROM excluded.value",
                                ss, 3, NULL, err)) < 0)
                goto out;
        }
    }
    static const char *const names[] = {"ok", "partial", "failed"};
    struct store_param pr[] = {SP_INT(poll_id),           SP_INT(now),
                               SP_INT(o->pages),          SP_INT(o->devices),
                               SP_INT(st->runs_new),      SP_INT(st->runs_updated),
                               SP_TEXT(names[o->result]), SP_TEXT(o->error)};
    if ((rc = pg_exec_n(q,
                        "UPDATE poll_run SET finished_at = ?2, pages = ?3, devices = ?4,"
                        " runs_new = ?5, runs_updated = ?6, result = ?7, error = ?8"
                        " WHERE id = ?1",
                        pr, 8, NULL, err)) < 0 ||
        (rc = count_poll(q, source_id, names[o->result], 1, err)) < 0 ||
        (rc = delete_stage(q, "poll_id = ?1", poll_id, err)) < 0)
        goto out;
    rc = pg_commit(q, err);
out:
    if (rc < 0)
        pg_rollback(q);
    return rc;
}

static const char *res_text(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static bool res_bool(PGresult *res, int row, int col)
{
    const char *v = res_text(res, row, col);
    return v && (v[0] == 't' || (v[0] >= '1' && v[0] <= '9'));
}

static int pg_status_each(void *impl, const char *customer,
                          int (*cb)(const struct store_status_row *r, void *ud), void *ud,
                          struct bk_err *err)
{
    struct pg *q = impl;
    struct store_param p[] = {SP_TEXT(customer)};
    PGresult *res;
    int rc = pg_run(
        q,
        "SELECT COALESCE(c.name, ''), s.name, j.name, j.kind, j.external_id,"
        " COALESCE(r.status, 'none'), r.raw_status, COALESCE(r.start_at, r.end_at, 0),"
        " r.reviewed_at IS NOT NULL, COALESCE(r.override, 0),"
        " (SELECT MAX(COALESCE(x.end_at, x.start_at)) FROM job_run x WHERE x.job_id = j.id"
        "  AND " STORE_RUN_SUCCEEDED(
            "x") "),"
                 " " STORE_FRESH_COLUMNS ","
                 " (SELECT description FROM job_schedule z WHERE z.job_id = j.id), r.anomaly"
                 " FROM job j JOIN source s ON s.id = j.source_id"
                 " LEFT JOIN customer c ON c.id = j.customer_id"
                 " LEFT JOIN job_run r ON r.id = " STORE_LATEST_RUN_OF(
                     "j.id") " WHERE j.retired_at IS NULL AND (CAST(?1 AS TEXT) IS NULL OR c.name "
                             "= ?1"
                             "  OR (CAST(c.id AS TEXT) = ?1"
                             "   AND NOT EXISTS (SELECT 1 FROM customer z WHERE z.name = ?1)))"
                             " ORDER BY c.name NULLS FIRST, s.name, j.name, j.id",
        p, 1, &res, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_status_row r = {
            .customer = res_text(res, i, 0),
            .source = res_text(res, i, 1),
            .job = res_text(res, i, 2),
            .kind = res_text(res, i, 3),
            .external_id = res_text(res, i, 4),
            .status = res_text(res, i, 5),
            .raw_status = res_text(res, i, 6),
            .last_run_at = res_int(res, i, 7),
            .reviewed = res_bool(res, i, 8),
            .override = res_int(res, i, 9) != 0,
            .last_success_at = res_int(res, i, 10),
            .last_real_run_at = res_int(res, i, 11),
            .warn_after_ms = res_int(res, i, 12),
            .crit_after_ms = res_int(res, i, 13),
            .first_seen_at = res_int(res, i, 14),
            .schedule = res_text(res, i, 15),
            .anomaly = res_text(res, i, 16),
        };
        if ((rc = cb(&r, ud)) != 0)
            break;
    }
    PQclear(res);
    return rc;
}

static int pg_source_each(void *impl, int (*cb)(const struct store_source_row *r, void *ud),
                          void *ud, struct bk_err *err)
{
    struct pg *q = impl;
    PGresult *res;
    int rc = pg_run(q, STORE_SQL_SOURCE_EACH, NULL, 0, &res, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        struct store_source_row r = {
            .name = res_text(res, i, 0),
            .kind = res_text(res, i, 1),
            .interval_ms = res_int(res, i, 2),
            .paused = res_int(res, i, 3) != 0,
            .last_poll_at = res_int(res, i, 4),
            .last_result = res_text(res, i, 5),
            .last_error = res_text(res, i, 6),
            .last_success_at = res_int(res, i, 7),
            .last_duration_ms = PQgetisnull(res, i, 8) ? -1 : res_int(res, i, 8),
        };
        if ((rc = cb(&r, ud)) != 0)
            break;
    }
    PQclear(res);
    return rc;
}

static int pg_review_job(void *impl, const char *source, const char *external_id, const char *who,
                         int64_t *n, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(source), SP_TEXT(external_id), SP_INT(bk_now_ms()),
                              SP_TEXT(who)};
    return pg_exec_n(impl,
                     "UPDATE job_run SET reviewed_at = ?3, reviewed_by = ?4, updated_at = ?3"
                     " WHERE reviewed_at IS NULL AND status <> 'running'"
                     " AND job_id IN (SELECT j.id FROM job j"
                     " JOIN source s ON s.id = j.source_id WHERE s.name = ?1"
                     " AND j.external_id = ?2)",
                     p, 4, n, err);
}

/* ---- generic queries ---- */

static int pg_query(void *impl, const char *sql, const struct store_param *p, size_t np,
                    int (*cb)(const struct store_row *r, void *ud), void *ud, struct bk_err *err)
{
    PGresult *res;
    int rc = pg_run(impl, sql, p, np, &res, err);
    if (rc < 0)
        return rc;
    for (int i = 0; cb && i < PQntuples(res); i++) {
        struct pg_row row = {res, i};
        if ((rc = cb((const struct store_row *)&row, ud)) != 0)
            break;
    }
    PQclear(res);
    return rc;
}

/* Does this INSERT need a RETURNING for *last_id? */
static bool wants_returning(const char *sql)
{
    while (isspace((unsigned char)*sql))
        sql++;
    if (strncasecmp(sql, "INSERT", 6) != 0)
        return false;
    for (const char *p = sql; *p; p++)
        if (strncasecmp(p, "RETURNING", 9) == 0)
            return false;
    return true;
}

static int pg_exec(void *impl, const char *sql, const struct store_param *p, size_t np,
                   int64_t *changes, int64_t *last_id, struct bk_err *err)
{
    struct pg *q = impl;
    if (q->batch && !changes && !last_id && np > 0 && np <= PG_MAX_PARAMS)
        return pipe_send(q, sql, p, np, err);
    char *owned = NULL;
    /* PostgreSQL has no last_insert_rowid(): the inserted row's id comes back by RETURNING */
    if (last_id && wants_returning(sql))
        sql = owned = xasprintf("%s RETURNING id", sql);
    PGresult *res;
    int rc = pg_run(q, sql, p, np, &res, err);
    free(owned);
    if (rc < 0)
        return rc;
    if (changes)
        *changes = cmd_tuples(res);
    if (last_id)
        *last_id = PQntuples(res) > 0 && PQnfields(res) > 0 ? res_int(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

static int pg_row_count(const struct store_row *r)
{
    return PQnfields(((const struct pg_row *)r)->res);
}

static bool pg_row_is_null(const struct store_row *r, int col)
{
    const struct pg_row *x = (const struct pg_row *)r;
    return PQgetisnull(x->res, x->row, col);
}

static const char *pg_row_text(const struct store_row *r, int col)
{
    const struct pg_row *x = (const struct pg_row *)r;
    if (PQgetisnull(x->res, x->row, col))
        return NULL;
    const char *v = PQgetvalue(x->res, x->row, col);
    if (PQftype(x->res, col) == OID_BOOL) /* SQLite's booleans are 1 and 0 */
        return v[0] == 't' ? "1" : "0";
    return v;
}

static int64_t pg_row_int(const struct store_row *r, int col)
{
    const struct pg_row *x = (const struct pg_row *)r;
    if (PQgetisnull(x->res, x->row, col))
        return 0;
    const char *v = PQgetvalue(x->res, x->row, col);
    if (PQftype(x->res, col) == OID_BOOL)
        return v[0] == 't';
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E') /* numeric, double: truncated, as SQLite */
        return (int64_t)strtod(v, NULL);
    return n;
}

static const char *pg_row_name(const struct store_row *r, int col)
{
    return PQfname(((const struct pg_row *)r)->res, col);
}

const struct store_ops store_pg_ops = {
    .scheme = "postgres", /* postgresql:// and postgres://, as libpq */
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .source_sync = pg_source_sync,
    .state_get = pg_state_get,
    .poll_begin = pg_poll_begin,
    .poll_stage = pg_poll_stage,
    .poll_finish = pg_poll_finish,
    .status_each = pg_status_each,
    .source_each = pg_source_each,
    .review_job = pg_review_job,
    .query = pg_query,
    .exec = pg_exec,
    .begin = pg_begin,
    .begin_batch = pg_begin_batch,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .row_count = pg_row_count,
    .row_is_null = pg_row_is_null,
    .row_text = pg_row_text,
    .row_int = pg_row_int,
    .row_name = pg_row_name,
};

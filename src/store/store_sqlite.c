/* SQLite backend of the store: WAL, one writer, staging tables for atomic polls, and
 * set-based UPSERTs that write a row only when something in it changed (so an unchanged poll
 * writes no job, run or object row) and never touch a reviewed run. */
#include "store/migrations.h"
#include "store/sqlite_wal.h"
#include "store/store_backend.h"

#include "config/config.h"
#include "core/fpset.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define EXEC_CACHE 16

struct sq {
    sqlite3 *db;
    bool readonly;
    sqlite3_stmt *ins_job, *ins_run, *ins_obj, *ins_obj_multi;
    /* store_exec statements kept prepared, by SQL text: the expected-runs evaluator runs the
     * same few statements thousands of times per cycle (bench/expected) */
    struct {
        char *sql;
        sqlite3_stmt *st;
    } cache[EXEC_CACHE];
    unsigned cache_next;
    /* where a poll's store time goes (logged at debug level by poll_finish) */
    bool temp_ready; /* the TEMP staging tables exist on this connection */
    int64_t stage_us, stage_pages, stage_job_us, stage_run_us, stage_commit_us;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The database file, so an error that reaches a log or a 500 says which file failed (a
 * database made read-only behind our back reports "…/backupctl.db: attempt to write a
 * readonly database", not a bare SQLite message). */
static const char *dbfile(struct sq *q)
{
    const char *f = q->db ? sqlite3_db_filename(q->db, "main") : NULL;
    return f && *f ? f : "(memory)";
}

static int dberr(struct sq *q, struct bk_err *err, const char *what)
{
    return bk_err_set(err, BK_EIO, "sqlite %s: %s: %s", dbfile(q), what, sqlite3_errmsg(q->db));
}

static int exec(struct sq *q, const char *sql, struct bk_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc =
            bk_err_set(err, BK_EIO, "sqlite %s: %s", dbfile(q), msg ? msg : sqlite3_errmsg(q->db));
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static int prepare(struct sq *q, const char *sql, sqlite3_stmt **st, struct bk_err *err)
{
    if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK)
        return dberr(q, err, "prepare");
    return 0;
}

/* Run a statement that returns no rows; *changes gets sqlite3_changes(). */
static int step_done(struct sq *q, sqlite3_stmt *st, int64_t *changes, struct bk_err *err)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        dberr(q, err, "step");
        sqlite3_reset(st);
        return -BK_EIO;
    }
    if (changes)
        *changes = sqlite3_changes(q->db);
    sqlite3_reset(st);
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* The same without a copy: for strings that outlive the statement's next step (a staged
 * page's, bound again before every step). */
static void bind_static(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static int migrate(struct sq *q, struct bk_err *err)
{
    int rc = exec(q,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                  err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st;
    if ((rc = prepare(q, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &st, err)) < 0)
        return rc;
    int have = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (have > STORE_MIGRATION_COUNT)
        return bk_err_set(err, BK_ECONFIG,
                          "database schema version %d is newer than this backupctl (%d)", have,
                          STORE_MIGRATION_COUNT);
    for (int v = have + 1; v <= STORE_MIGRATION_COUNT; v++) {
        if ((rc = exec(q, "BEGIN IMMEDIATE", err)) < 0)
            return rc;
        if ((rc = exec(q, store_migrations[v - 1], err)) < 0) {
            exec(q, "ROLLBACK", NULL);
            bk_err_prefix(err, "migration %d: ", v);
            return rc;
        }
        char ins[160];
        snprintf(ins, sizeof ins,
                 "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, %lld)", v,
                 (long long)bk_now_ms());
        if ((rc = exec(q, ins, err)) < 0 || (rc = exec(q, "COMMIT", err)) < 0) {
            exec(q, "ROLLBACK", NULL);
            return rc;
        }
        log_debug("store: applied migration %d", v);
    }
    return 0;
}

static void sq_close(void *impl)
{
    struct sq *q = impl;
    if (!q)
        return;
    sqlite3_finalize(q->ins_job);
    sqlite3_finalize(q->ins_run);
    sqlite3_finalize(q->ins_obj);
    sqlite3_finalize(q->ins_obj_multi);
    for (int i = 0; i < EXEC_CACHE; i++) {
        sqlite3_finalize(q->cache[i].st);
        free(q->cache[i].sql);
    }
    sqlite3_close(q->db);
    free(q);
}

/* Before a read-write open: create a missing database file 0600 (run messages can name
 * customers' systems; SQLite gives its -wal and -shm files the database's mode) and leave an
 * existing file's mode alone; refuse a database we could not write — SQLite would open it
 * read-only without a word, and every write would fail later. */
static int sq_prepare_file(const char *path, struct bk_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno != EEXIST)
        return bk_err_set(err, BK_EIO, "cannot create database %s: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) < 0)
        return bk_err_set(err, BK_EIO, "cannot open database %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return bk_err_set(err, BK_ECONFIG, "database %s is not a regular file", path);
    /* the owner's write bit too: root may write anything, but a 0444 file is a statement */
    if (!(st.st_mode & S_IWUSR))
        return bk_err_set(err, BK_ECONFIG,
                          "database %s is read-only (mode %04o); backupctl writes to it (chmod "
                          "u+w %s)",
                          path, (unsigned)(st.st_mode & 07777), path);
    if (access(path, W_OK) < 0)
        return bk_err_set(err, BK_ECONFIG, "database %s cannot be written: %s", path,
                          strerror(errno));
    /* the -wal and -shm files live beside it */
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    int rc = 0;
    if (access(slash ? dir : ".", W_OK) < 0)
        rc = bk_err_set(err, BK_ECONFIG,
                        "database %s: cannot create its -wal and -shm files in %s: %s", path,
                        slash ? dir : ".", strerror(errno));
    free(dir);
    return rc;
}

/* Waiting for the write lock (another connection's transaction), up to about 10 s: every
 * millisecond at first, then every 5 ms. SQLite's own busy timeout backs off to 100 ms
 * sleeps, so a review request that met a 150 ms apply answered after 180-330 ms
 * (bench/poll_cove, review during a poll); polling at 5 ms answers within 5 ms of the lock's
 * release, for 200 cheap wake-ups a second while waiting. */
static int busy_wait(void *ud, int n)
{
    (void)ud;
    if (n >= 10 + 2000)
        return 0;
    struct timespec ts = {.tv_nsec = n < 10 ? 1000000 : 5000000};
    nanosleep(&ts, NULL);
    return 1;
}

static int sq_open(const struct bk_config *cfg, bool readonly, void **impl, struct bk_err *err)
{
    *impl = NULL;
    if (!cfg->db_path)
        return bk_err_set(err, BK_ECONFIG, "no SQLite path in database url");
    struct sq *q = xcalloc(1, sizeof *q);
    q->readonly = readonly;
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    int rc = 0;
    if (!readonly && (rc = sq_prepare_file(cfg->db_path, err)) < 0)
        goto out;
    if (sqlite3_open_v2(cfg->db_path, &q->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = bk_err_set(err, BK_EIO, "cannot open database %s: %s", cfg->db_path,
                        q->db ? sqlite3_errmsg(q->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_handler(q->db, busy_wait, NULL);
    if (!readonly) {
        if (sqlite3_db_readonly(q->db, "main") == 1) {
            rc = bk_err_set(err, BK_ECONFIG, "database %s cannot be written (opened read-only)",
                            cfg->db_path);
            goto out;
        }
        if ((rc = exec(q,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                       "PRAGMA foreign_keys=ON;"
                       /* no memory map: mapped pages of a 100k-device database count as
                        * the poller's RSS (bench/poll_cove, 100,000 devices: 164 MB with
                        * 256 MB mapped, 62 MB without); the expected-runs evaluation pays
                        * about 15 % for read() copies (bench/expected, 10k jobs: 0.27 s ->
                        * 0.31 s a cycle) */
                       "PRAGMA mmap_size=0;",
                       err)) < 0)
            goto out;
        if ((rc = migrate(q, err)) < 0)
            goto out;
        sq_wal_attach(q->db);
    } else {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(q->db, "SELECT COUNT(*) FROM schema_migrations", -1, &st, NULL) !=
            SQLITE_OK) {
            rc = bk_err_set(err, BK_EIO, "database %s is not a backupctl store (%s)", cfg->db_path,
                            sqlite3_errmsg(q->db));
            goto out;
        }
        sqlite3_finalize(st);
    }
out:
    if (rc < 0) {
        sq_close(q);
        return rc;
    }
    *impl = q;
    return 0;
}

static int sq_schema_version(void *impl, int *version, struct bk_err *err)
{
    struct sq *q = impl;
    sqlite3_stmt *st;
    int rc = prepare(q, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &st, err);
    if (rc < 0)
        return rc;
    *version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return 0;
}

static int sq_source_sync(void *impl, const struct bk_source_cfg *src, int64_t *id,
                          struct bk_err *err)
{
    struct sq *q = impl;
    sqlite3_stmt *st;
    int rc = prepare(q,
                     "INSERT INTO source (name, kind, url, interval_ms, enabled, created_at,"
                     " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
                     " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url,"
                     " interval_ms = excluded.interval_ms, enabled = excluded.enabled,"
                     " updated_at = excluded.updated_at"
                     " WHERE source.kind IS NOT excluded.kind OR source.url IS NOT excluded.url"
                     " OR source.interval_ms IS NOT excluded.interval_ms"
                     " OR source.enabled IS NOT excluded.enabled",
                     &st, err);
    if (rc < 0)
        return rc;
    bind_text(st, 1, src->name);
    bind_text(st, 2, bk_source_type_name(src->type));
    bind_text(st, 3, src->url);
    sqlite3_bind_int64(st, 4, src->interval_ms);
    sqlite3_bind_int(st, 5, src->enabled ? 1 : 0);
    sqlite3_bind_int64(st, 6, bk_now_ms());
    rc = step_done(q, st, NULL, err);
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    if ((rc = prepare(q, "SELECT id FROM source WHERE name = ?1", &st, err)) < 0)
        return rc;
    bind_text(st, 1, src->name);
    if (sqlite3_step(st) == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else
        rc = dberr(q, err, "source id");
    sqlite3_finalize(st);
    return rc;
}

static int sq_state_get(void *impl, int64_t source_id, const char *key, char **value,
                        struct bk_err *err)
{
    struct sq *q = impl;
    *value = NULL;
    sqlite3_stmt *st;
    int rc =
        prepare(q, "SELECT value FROM source_state WHERE source_id = ?1 AND key = ?2", &st, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, source_id);
    bind_text(st, 2, key);
    if (sqlite3_step(st) == SQLITE_ROW)
        *value = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return 0;
}

/* The staging area. A poll stages its pages in short transactions (so the write lock is
 * free between pages) and applies them in one. Runs and objects, three quarters of the staged
 * rows, go to TEMP tables: they live in this connection's temp database, which has no WAL and
 * is never synced, and vanish with the connection — a killed poll leaves none behind. Jobs
 * stay in main.stage_job, where another process sees that a poll is under way (the kill -9 and
 * SIGTERM tests wait on it) and the next poll of the source cleans what a dead one left. A
 * connection runs one poll at a time (the poller, a daemon worker), so the temp tables hold one
 * poll and are emptied whole (DELETE without WHERE: SQLite truncates). Measured (100,000
 * devices, bench/poll_cove): runs and objects in TEMP, stage 0.64 -> 0.53 s, the apply's
 * unstage 0.16 -> 0.07 s and commit 0.20 -> 0.15 s; jobs in TEMP as well gained nothing more
 * measurable (stage 0.41 -> 0.43 s, apply 1.18 -> 1.21 s: noise), so they stay visible. */
#define SJ "main.stage_job"
#define SR "temp.stage_run"
#define SO "temp.stage_object"

static int ensure_temp(struct sq *q, struct bk_err *err)
{
    if (q->temp_ready)
        return 0;
    int rc = exec(q,
                  "CREATE TEMP TABLE IF NOT EXISTS stage_run ("
                  " poll_id INTEGER NOT NULL, job_external_id TEXT NOT NULL,"
                  " vendor_run_id TEXT NOT NULL, start_at INTEGER, end_at INTEGER,"
                  " status TEXT NOT NULL, raw_status TEXT NOT NULL, error_count INTEGER,"
                  " message TEXT, PRIMARY KEY (poll_id, job_external_id, vendor_run_id))"
                  " WITHOUT ROWID;"
                  "CREATE TEMP TABLE IF NOT EXISTS stage_object ("
                  " poll_id INTEGER NOT NULL, job_external_id TEXT NOT NULL,"
                  " vendor_run_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,"
                  " raw_status TEXT, message TEXT,"
                  " PRIMARY KEY (poll_id, job_external_id, vendor_run_id, name)) WITHOUT ROWID;",
                  err);
    if (rc == 0)
        q->temp_ready = true;
    return rc;
}

/* Drop the staged rows of this connection's temp tables (all of them: one poll at a time)
 * and those of main.stage_job that `where` selects (?1 = arg); the tables of older versions
 * (main.stage_run, main.stage_object) are cleaned the same way. */
static int delete_stage(struct sq *q, const char *where, int64_t arg, bool old_tables,
                        struct bk_err *err)
{
    static const char *const tables[] = {SJ, "main.stage_run", "main.stage_object"};
    int rc = 0;
    if (q->temp_ready && (rc = exec(q, "DELETE FROM " SR "; DELETE FROM " SO, err)) < 0)
        return rc;
    for (size_t i = 0; i < (old_tables ? 3 : 1); i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s", tables[i], where);
        sqlite3_stmt *st;
        if ((rc = prepare(q, sql, &st, err)) < 0)
            return rc;
        sqlite3_bind_int64(st, 1, arg);
        rc = step_done(q, st, NULL, err);
        sqlite3_finalize(st);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* backupctl_poll_runs_total: one more finished poll of source_id with this result. The
 * counter has its own table because retention deletes poll_run rows, and counters only rise. */
static int count_poll(struct sq *q, int64_t source_id, const char *result, struct bk_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(q,
                     "INSERT INTO poll_counter (source_id, result, n) VALUES (?1, ?2, 1)"
                     " ON CONFLICT (source_id, result) DO UPDATE SET n = poll_counter.n + 1",
                     &st, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, source_id);
    bind_text(st, 2, result);
    rc = step_done(q, st, NULL, err);
    sqlite3_finalize(st);
    return rc;
}

static int sq_poll_begin(void *impl, int64_t source_id, const char *instance, int64_t *poll_id,
                         struct bk_err *err)
{
    struct sq *q = impl;
    int rc = ensure_temp(q, err);
    if (rc < 0 || (rc = exec(q, "BEGIN IMMEDIATE", err)) < 0)
        return rc;
    /* Leftovers of a poll of this source that died (kill -9, power loss). */
    rc = delete_stage(q,
                      "poll_id IN (SELECT id FROM poll_run WHERE source_id = ?1"
                      " AND result = 'running')",
                      source_id, true, err);
    sqlite3_stmt *st = NULL;
    int64_t interrupted = 0;
    if (rc == 0)
        rc = prepare(q,
                     "UPDATE poll_run SET result = 'interrupted', finished_at = NULL,"
                     " error = 'the poll did not finish (process stopped)'"
                     " WHERE source_id = ?1 AND result = 'running'",
                     &st, err);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, source_id);
        rc = step_done(q, st, &interrupted, err);
        sqlite3_finalize(st);
        st = NULL;
    }
    for (int64_t i = 0; i < interrupted && rc == 0; i++)
        rc = count_poll(q, source_id, "interrupted", err);
    if (rc == 0)
        rc = prepare(q,
                     "INSERT INTO poll_run (source_id, started_at, result, instance)"
                     " VALUES (?1, ?2, 'running', ?3)",
                     &st, err);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, source_id);
        sqlite3_bind_int64(st, 2, bk_now_ms());
        bind_text(st, 3, instance);
        rc = step_done(q, st, NULL, err);
        *poll_id = sqlite3_last_insert_rowid(q->db);
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = exec(q, "COMMIT", err);
    if (rc < 0)
        exec(q, "ROLLBACK", NULL);
    /* No automatic checkpoint while this connection polls: it would run inside the commit of
     * a staged page or of the apply, holding the write lock while it copies the WAL into the
     * database (100,000 devices: the apply's commit 0.17 s, 0.03 s without; the 10 % re-poll
     * 0.12 s -> 0.02 s). sq_poll_finish checkpoints (PASSIVE) after its commit and restores
     * the connection's checkpoint mode (sq_wal_attach). */
    if (rc == 0)
        exec(q, "PRAGMA wal_autocheckpoint=0", NULL);
    return rc;
}

/* Objects (1.7 per run with Cove) are staged 32 rows per INSERT: fewer statement runs for
 * the same rows (100,000 devices: runs and objects 0.34 -> 0.24 s of staging). */
#define OBJ_MULTI 32
struct obj_ref {
    const struct bk_run_rec *r;
    const struct bk_obj_rec *o;
};

static void bind_obj(sqlite3_stmt *so, int base, int64_t poll_id, const struct bk_run_rec *r,
                     const struct bk_obj_rec *o)
{
    sqlite3_bind_int64(so, base + 1, poll_id);
    bind_static(so, base + 2, r->job_external_id);
    bind_static(so, base + 3, r->vendor_run_id);
    bind_static(so, base + 4, o->name);
    bind_static(so, base + 5, bk_run_status_name(o->status));
    bind_static(so, base + 6, o->raw_status);
    bind_static(so, base + 7, o->message);
}

static int stage_rows(struct sq *q, int64_t poll_id, const struct bk_batch *b, struct bk_err *err)
{
    struct obj_ref pend[OBJ_MULTI];
    int npend = 0;
    int rc = 0;
    if ((rc = ensure_temp(q, err)) < 0)
        return rc;
    if (!q->ins_job &&
        ((rc = prepare(q,
                       "INSERT OR REPLACE INTO " SJ " (poll_id, external_id, name, kind,"
                       " customer_ext_id, customer_name, colour_bar, colour_bar_as_of,"
                       " fingerprint, policy_name, policy_rpo_s)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                       &q->ins_job, err)) < 0 ||
         (rc = prepare(q,
                       "INSERT OR REPLACE INTO " SR " (poll_id, job_external_id,"
                       " vendor_run_id, start_at, end_at, status, raw_status, error_count,"
                       " message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                       &q->ins_run, err)) < 0 ||
         (rc = prepare(q,
                       "INSERT OR REPLACE INTO " SO " (poll_id, job_external_id,"
                       " vendor_run_id, name, status, raw_status, message)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       &q->ins_obj, err)) < 0))
        return rc;
    if ((rc = exec(q, "BEGIN IMMEDIATE", err)) < 0)
        return rc;
    int64_t tj = mono_us();
    for (size_t i = 0; i < b->njobs && rc == 0; i++) {
        const struct bk_job_rec *j = &b->jobs[i];
        sqlite3_stmt *st = q->ins_job;
        sqlite3_bind_int64(st, 1, poll_id);
        bind_static(st, 2, j->external_id);
        bind_static(st, 3, j->name ? j->name : j->external_id);
        bind_static(st, 4, j->kind ? j->kind : "unknown");
        bind_static(st, 5, j->customer_ext_id);
        bind_static(st, 6, j->customer_name);
        bind_static(st, 7, j->colour_bar);
        bind_time(st, 8, j->colour_bar_as_of_ms);
        if (j->fingerprint != BK_FP_NONE)
            sqlite3_bind_int64(st, 9, (int64_t)j->fingerprint);
        else
            sqlite3_bind_null(st, 9);
        bind_static(st, 10, j->policy);
        if (j->policy_rpo_s > 0)
            sqlite3_bind_int64(st, 11, j->policy_rpo_s);
        else
            sqlite3_bind_null(st, 11);
        rc = step_done(q, st, NULL, err);
    }
    int64_t tr = mono_us();
    q->stage_job_us += tr - tj;
    for (size_t i = 0; i < b->nruns && rc == 0; i++) {
        const struct bk_run_rec *r = &b->runs[i];
        sqlite3_stmt *st = q->ins_run;
        sqlite3_bind_int64(st, 1, poll_id);
        bind_static(st, 2, r->job_external_id);
        bind_static(st, 3, r->vendor_run_id);
        bind_time(st, 4, r->start_ms);
        bind_time(st, 5, r->end_ms);
        bind_static(st, 6, bk_run_status_name(r->status));
        bind_static(st, 7, r->raw_status ? r->raw_status : "");
        if (r->error_count >= 0)
            sqlite3_bind_int64(st, 8, r->error_count);
        else
            sqlite3_bind_null(st, 8);
        bind_static(st, 9, r->message);
        rc = step_done(q, st, NULL, err);
        for (size_t k = 0; k < r->nobjects && rc == 0; k++) {
            pend[npend++] = (struct obj_ref){r, &r->objects[k]};
            if (npend == OBJ_MULTI) {
                if (!q->ins_obj_multi) {
                    char sql[8192];
                    int off =
                        snprintf(sql, sizeof sql,
                                 "INSERT OR REPLACE INTO " SO " (poll_id, job_external_id,"
                                 " vendor_run_id, name, status, raw_status, message) VALUES ");
                    for (int m = 0; m < OBJ_MULTI; m++)
                        off += snprintf(sql + off, sizeof sql - (size_t)off, "%s(?,?,?,?,?,?,?)",
                                        m ? "," : "");
                    if ((rc = prepare(q, sql, &q->ins_obj_multi, err)) < 0)
                        break;
                }
                for (int m = 0; m < OBJ_MULTI; m++)
                    bind_obj(q->ins_obj_multi, 7 * m, poll_id, pend[m].r, pend[m].o);
                rc = step_done(q, q->ins_obj_multi, NULL, err);
                npend = 0;
            }
        }
    }
    for (int m = 0; m < npend && rc == 0; m++) {
        bind_obj(q->ins_obj, 0, poll_id, pend[m].r, pend[m].o);
        rc = step_done(q, q->ins_obj, NULL, err);
    }
    int64_t tc = mono_us();
    q->stage_run_us += tc - tr;
    if (rc == 0)
        rc = exec(q, "COMMIT", err);
    q->stage_commit_us += mono_us() - tc;
    if (rc < 0)
        exec(q, "ROLLBACK", NULL);
    return rc;
}

static int sq_poll_stage(void *impl, int64_t poll_id, const struct bk_batch *b, struct bk_err *err)
{
    struct sq *q = impl;
    int64_t t0 = mono_us();
    int rc = stage_rows(q, poll_id, b, err);
    q->stage_us += mono_us() - t0;
    q->stage_pages++;
    return rc;
}

/* The apply statements, parameters: ?1 source id, ?2 now (ms), ?3 poll id. */
static const char SQL_CUSTOMERS[] =
    "INSERT INTO customer (source_id, external_id, name, created_at, updated_at)"
    " SELECT ?1, customer_ext_id, COALESCE(MAX(customer_name), customer_ext_id), ?2, ?2"
    " FROM " SJ " WHERE poll_id = ?3 AND customer_ext_id IS NOT NULL GROUP BY customer_ext_id"
    " ON CONFLICT (source_id, external_id) DO UPDATE SET name = excluded.name,"
    " updated_at = excluded.updated_at WHERE customer.name IS NOT excluded.name";

static const char SQL_JOBS[] =
    "INSERT INTO job (source_id, customer_id, external_id, name, kind, colour_bar,"
    " colour_bar_as_of, policy_name, policy_rpo_s, created_at, updated_at)"
    " SELECT ?1, c.id, s.external_id, s.name, s.kind, s.colour_bar, s.colour_bar_as_of,"
    " s.policy_name, s.policy_rpo_s, ?2, ?2"
    " FROM " SJ " s LEFT JOIN customer c ON c.source_id = ?1"
    " AND c.external_id = s.customer_ext_id WHERE s.poll_id = ?3"
    " ON CONFLICT (source_id, external_id) DO UPDATE SET customer_id = excluded.customer_id,"
    " name = excluded.name, kind = excluded.kind, colour_bar = excluded.colour_bar,"
    " colour_bar_as_of = excluded.colour_bar_as_of, policy_name = excluded.policy_name,"
    " policy_rpo_s = excluded.policy_rpo_s, retired_at = NULL,"
    " updated_at = excluded.updated_at"
    " WHERE job.customer_id IS NOT excluded.customer_id OR job.name IS NOT excluded.name"
    " OR job.kind IS NOT excluded.kind OR job.colour_bar IS NOT excluded.colour_bar"
    " OR job.policy_name IS NOT excluded.policy_name"
    " OR job.policy_rpo_s IS NOT excluded.policy_rpo_s OR job.retired_at IS NOT NULL";

static const char SQL_RETIRE[] =
    "UPDATE job SET retired_at = ?2, updated_at = ?2 WHERE source_id = ?1"
    " AND retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM " SJ " s WHERE s.poll_id = ?3"
    " AND s.external_id = job.external_id)";

/* The same, for a poll that skipped unchanged jobs (o->seen): the candidates, filtered in C. */
static const char SQL_RETIRE_CANDIDATES[] =
    "SELECT id, external_id FROM job WHERE source_id = ?1 AND retired_at IS NULL"
    " AND ?2 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM " SJ " s WHERE s.poll_id = ?3"
    " AND s.external_id = job.external_id)";

static const char SQL_ACTIVE_NOT_STAGED[] =
    "SELECT (SELECT COUNT(*) FROM job WHERE source_id = ?1 AND retired_at IS NULL)"
    " - (SELECT COUNT(*) FROM " SJ " WHERE poll_id = ?3) + (?2 IS NULL)";

/* After the jobs, runs and objects: the fingerprint of what was applied, for the next poll. */
static const char SQL_FINGERPRINTS[] =
    "INSERT INTO job_fingerprint (job_id, fp)"
    " SELECT j.id, s.fingerprint FROM " SJ " s JOIN job j ON j.source_id = ?1"
    " AND j.external_id = s.external_id WHERE s.poll_id = ?3 AND s.fingerprint IS NOT NULL"
    " AND ?2 IS NOT NULL"
    " ON CONFLICT (job_id) DO UPDATE SET fp = excluded.fp"
    " WHERE job_fingerprint.fp IS NOT excluded.fp";

static const char SQL_RUNS_MAX_ID[] =
    "SELECT COALESCE(MAX(id), 0) FROM job_run WHERE ?1 IS NOT NULL AND ?2 IS NOT NULL"
    " AND ?3 IS NOT NULL";

static const char SQL_RUNS[] =
    "INSERT INTO job_run (job_id, source_type, vendor_run_id, start_at, end_at, status,"
    " raw_status, error_count, message, created_at, updated_at)"
    " SELECT j.id, 'api', s.vendor_run_id, s.start_at, s.end_at, s.status, s.raw_status,"
    " s.error_count, s.message, ?2, ?2 FROM " SR " s JOIN job j ON j.source_id = ?1"
    " AND j.external_id = s.job_external_id WHERE s.poll_id = ?3"
    " AND NOT EXISTS (SELECT 1 FROM run_tombstone t WHERE t.job_id = j.id"
    " AND t.vendor_run_id = s.vendor_run_id)"
    " ON CONFLICT (job_id, vendor_run_id) DO UPDATE SET start_at = excluded.start_at,"
    " end_at = excluded.end_at, status = excluded.status, raw_status = excluded.raw_status,"
    " error_count = excluded.error_count, message = excluded.message,"
    " updated_at = excluded.updated_at"
    " WHERE job_run.reviewed_at IS NULL AND (job_run.start_at IS NOT excluded.start_at"
    " OR job_run.end_at IS NOT excluded.end_at OR job_run.status IS NOT excluded.status"
    " OR job_run.raw_status IS NOT excluded.raw_status"
    " OR job_run.error_count IS NOT excluded.error_count"
    " OR job_run.message IS NOT excluded.message)";

static const char SQL_OBJECTS[] =
    "INSERT INTO job_object (run_id, name, status, raw_status, message)"
    " SELECT r.id, o.name, o.status, o.raw_status, o.message FROM " SO " o"
    " JOIN job j ON j.source_id = ?1 AND j.external_id = o.job_external_id"
    " JOIN job_run r ON r.job_id = j.id AND r.vendor_run_id = o.vendor_run_id"
    " WHERE o.poll_id = ?3 AND r.reviewed_at IS NULL AND ?2 IS NOT NULL"
    " ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status,"
    " raw_status = excluded.raw_status, message = excluded.message"
    " WHERE job_object.status IS NOT excluded.status"
    " OR job_object.raw_status IS NOT excluded.raw_status"
    " OR job_object.message IS NOT excluded.message";

/* Runs still "running" whose job has a newer run in this poll while the vendor no longer
 * reports them (Cove shows only a device's latest session; HYCU forgot the job): their end
 * will never be reported, so they get a final status now (store_superseded_status). Columns:
 * id, start, colour bar as this poll read it (the job's as_of is only rewritten when the bar
 * changes), its time, the newer run's start, other runs of that day. */
static const char SQL_SUPERSEDED[] =
    "SELECT r.id, COALESCE(r.start_at, r.created_at), g.colour_bar, g.colour_bar_as_of,"
    " (SELECT MIN(s.start_at) FROM " SR " s WHERE s.poll_id = ?3"
    "  AND s.job_external_id = j.external_id AND s.start_at > COALESCE(r.start_at, r.created_at)),"
    " (SELECT COUNT(*) FROM job_run x WHERE x.job_id = r.job_id AND x.id <> r.id"
    "  AND x.start_at >= (COALESCE(r.start_at, r.created_at) / 86400000) * 86400000"
    "  AND x.start_at < (COALESCE(r.start_at, r.created_at) / 86400000 + 1) * 86400000)"
    " FROM job_run r JOIN job j ON j.id = r.job_id"
    " LEFT JOIN " SJ " g ON g.poll_id = ?3 AND g.external_id = j.external_id"
    " WHERE r.reviewed_at IS NULL AND r.status = 'running' AND j.source_id = ?1"
    " AND ?2 IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM " SR " s WHERE s.poll_id = ?3"
    "  AND s.job_external_id = j.external_id AND s.vendor_run_id = r.vendor_run_id)"
    " AND EXISTS (SELECT 1 FROM " SR " s WHERE s.poll_id = ?3"
    "  AND s.job_external_id = j.external_id AND s.start_at > COALESCE(r.start_at, r.created_at))"
    " ORDER BY r.id";

struct superseded {
    int64_t id;
    enum bk_run_status status;
    char digit;
    int64_t start, as_of;
};

static int finish_superseded(struct sq *q, int64_t source_id, int64_t now, int64_t poll_id,
                             int64_t *n, struct bk_err *err)
{
    *n = 0;
    sqlite3_stmt *st = NULL, *up = NULL;
    struct superseded *v = NULL;
    size_t nv = 0, cap = 0;
    int rc = prepare(q, SQL_SUPERSEDED, &st, err), s;
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, poll_id);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (nv == cap) {
            cap = cap ? 2 * cap : 64;
            v = xrealloc(v, cap * sizeof *v);
        }
        struct superseded *x = &v[nv++];
        x->id = sqlite3_column_int64(st, 0);
        x->start = sqlite3_column_int64(st, 1);
        x->as_of = sqlite3_column_int64(st, 3);
        x->status = store_superseded_status((const char *)sqlite3_column_text(st, 2), x->as_of,
                                            x->start, sqlite3_column_int64(st, 4),
                                            sqlite3_column_int64(st, 5), &x->digit);
    }
    if (s != SQLITE_DONE)
        rc = dberr(q, err, "superseded runs");
    sqlite3_finalize(st);
    if (rc == 0 && nv > 0)
        rc = prepare(q,
                     "UPDATE job_run SET status = ?2, raw_status = COALESCE(?3, raw_status),"
                     " message = ?4, updated_at = ?5"
                     " WHERE id = ?1 AND reviewed_at IS NULL AND status = 'running'",
                     &up, err);
    for (size_t i = 0; i < nv && rc == 0; i++) {
        char day[32], msg[300], raw[2] = {v[i].digit, '\0'};
        bk_iso8601(v[i].start, day, sizeof day);
        if (v[i].digit)
            snprintf(msg, sizeof msg,
                     "%s per the vendor's colour bar for %.10s: a newer session started before "
                     "the end of this one was reported",
                     bk_run_status_name(v[i].status), day);
        else
            snprintf(msg, sizeof msg,
                     "the vendor never reported the end of this run: a newer run started while "
                     "it was still running");
        sqlite3_bind_int64(up, 1, v[i].id);
        bind_text(up, 2, bk_run_status_name(v[i].status));
        bind_text(up, 3, v[i].digit ? raw : NULL);
        bind_text(up, 4, msg);
        sqlite3_bind_int64(up, 5, now);
        int64_t c = 0;
        rc = step_done(q, up, &c, err);
        *n += c;
    }
    sqlite3_finalize(up);
    free(v);
    return rc;
}

static int apply_one(struct sq *q, const char *sql, int64_t source_id, int64_t now, int64_t poll_id,
                     int64_t *changes, bool count_query, struct bk_err *err);

/* Retire the jobs an OK poll neither staged nor saw unchanged (seen). */
static int retire_unseen(struct sq *q, int64_t source_id, int64_t now, int64_t poll_id,
                         const struct bk_fpset *seen, int64_t *n, struct bk_err *err)
{
    *n = 0;
    sqlite3_stmt *st = NULL, *up = NULL;
    int64_t *ids = NULL;
    size_t nids = 0, cap = 0;
    /* The usual case, nothing gone, without the scan: after SQL_JOBS every staged job is
     * active, and so is every job seen unchanged (loaded among the active ones); the two sets
     * are disjoint unless one device was listed twice, changing in between (then a retire
     * waits one poll; never the other way round). Equal counts: no other active job. */
    int64_t others = -1;
    int rc = apply_one(q, SQL_ACTIVE_NOT_STAGED, source_id, now, poll_id, &others, true, err), s;
    if (rc < 0 || others == (int64_t)bk_fpset_seen_count(seen))
        return rc;
    if ((rc = prepare(q, SQL_RETIRE_CANDIDATES, &st, err)) < 0)
        return rc;
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, poll_id);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (bk_fpset_seen(seen, col_text(st, 1)))
            continue;
        if (nids == cap) {
            cap = cap ? 2 * cap : 64;
            ids = xrealloc(ids, cap * sizeof *ids);
        }
        ids[nids++] = sqlite3_column_int64(st, 0);
    }
    if (s != SQLITE_DONE)
        rc = dberr(q, err, "retire candidates");
    sqlite3_finalize(st);
    if (rc == 0 && nids > 0)
        rc = prepare(q, "UPDATE job SET retired_at = ?2, updated_at = ?2 WHERE id = ?1", &up, err);
    for (size_t i = 0; i < nids && rc == 0; i++) {
        sqlite3_bind_int64(up, 1, ids[i]);
        sqlite3_bind_int64(up, 2, now);
        int64_t c = 0;
        rc = step_done(q, up, &c, err);
        *n += c;
    }
    sqlite3_finalize(up);
    free(ids);
    return rc;
}

static int apply_one(struct sq *q, const char *sql, int64_t source_id, int64_t now, int64_t poll_id,
                     int64_t *changes, bool count_query, struct bk_err *err)
{
    sqlite3_stmt *st;
    int rc = prepare(q, sql, &st, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, poll_id);
    if (count_query) {
        if (sqlite3_step(st) == SQLITE_ROW)
            *changes = sqlite3_column_int64(st, 0);
        else
            rc = dberr(q, err, "count");
    } else {
        rc = step_done(q, st, changes, err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Where the apply's time goes, one lap per statement (logged at debug level). */
struct laps {
    int64_t t;
    int n;
    const char *name[16];
    int64_t us[16];
};

static void lap(struct laps *l, const char *name)
{
    int64_t now = mono_us();
    if (l->n < 16) {
        l->name[l->n] = name;
        l->us[l->n++] = now - l->t;
    }
    l->t = now;
}

static void log_laps(struct sq *q, const struct laps *l, int64_t t0)
{
    if (log_get_level() < LOG_DEBUG)
        return;
    char buf[600];
    size_t off = 0;
    for (int i = 0; i < l->n && off < sizeof buf; i++) {
        int w =
            snprintf(buf + off, sizeof buf - off, " %s=%.3f", l->name[i], (double)l->us[i] / 1e6);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    log_debug("store sqlite: stage=%.3fs (%lld pages; jobs=%.3f runs+objects=%.3f commit=%.3f) "
              "apply=%.3fs:%s",
              (double)q->stage_us / 1e6, (long long)q->stage_pages, (double)q->stage_job_us / 1e6,
              (double)q->stage_run_us / 1e6, (double)q->stage_commit_us / 1e6,
              (double)(mono_us() - t0) / 1e6, off ? buf : "");
}

static int sq_poll_finish(void *impl, int64_t poll_id, int64_t source_id,
                          const struct store_poll_outcome *o, struct store_apply_stats *st,
                          struct bk_err *err)
{
    struct sq *q = impl;
    memset(st, 0, sizeof *st);
    int64_t now = bk_now_ms(), t0 = mono_us();
    struct laps l = {.t = t0};
    int rc = ensure_temp(q, err);
    if (rc < 0 || (rc = exec(q, "BEGIN IMMEDIATE", err)) < 0) {
        /* the poll ends here all the same: checkpoints again */
        sq_wal_attach(q->db);
        return rc;
    }
    lap(&l, "begin");
    if (o->result != STORE_POLL_FAILED) {
        int64_t total_runs = 0;
        if ((rc = apply_one(q, SQL_CUSTOMERS, source_id, now, poll_id, &st->customers_changed,
                            false, err)) < 0)
            goto out;
        lap(&l, "customers");
        if ((rc = apply_one(q, SQL_JOBS, source_id, now, poll_id, &st->jobs_changed, false, err)) <
            0)
            goto out;
        lap(&l, "jobs");
        if (o->result == STORE_POLL_OK &&
            (rc = o->seen
                      ? retire_unseen(q, source_id, now, poll_id, o->seen, &st->jobs_retired, err)
                      : apply_one(q, SQL_RETIRE, source_id, now, poll_id, &st->jobs_retired, false,
                                  err)) < 0)
            goto out;
        lap(&l, "retire");
        /* The new runs are the rows SQL_RUNS adds: job_run ids are rowids (no AUTOINCREMENT),
         * so every insert takes MAX(id) + 1, and no other writer runs inside this transaction.
         * Two lookups by rowid instead of a probe per staged run (0.05 s at 100,000). */
        int64_t max_before = 0;
        if ((rc = apply_one(q, SQL_RUNS_MAX_ID, source_id, now, poll_id, &max_before, true, err)) <
            0)
            goto out;
        if ((rc = apply_one(q, SQL_RUNS, source_id, now, poll_id, &total_runs, false, err)) < 0)
            goto out;
        lap(&l, "runs");
        sqlite3_stmt *cn;
        if ((rc = prepare(q, "SELECT COUNT(*) FROM job_run WHERE id > ?1", &cn, err)) < 0)
            goto out;
        sqlite3_bind_int64(cn, 1, max_before);
        if (sqlite3_step(cn) == SQLITE_ROW)
            st->runs_new = sqlite3_column_int64(cn, 0);
        else
            rc = dberr(q, err, "new runs");
        sqlite3_finalize(cn);
        if (rc < 0)
            goto out;
        lap(&l, "runs_new");
        if ((rc = apply_one(q, SQL_OBJECTS, source_id, now, poll_id, &st->objects_changed, false,
                            err)) < 0)
            goto out;
        lap(&l, "objects");
        if ((rc = finish_superseded(q, source_id, now, poll_id, &st->runs_superseded, err)) < 0)
            goto out;
        lap(&l, "superseded");
        if ((rc = apply_one(q, SQL_FINGERPRINTS, source_id, now, poll_id, &st->fingerprints_changed,
                            false, err)) < 0)
            goto out;
        lap(&l, "fingerprints");
        st->runs_updated = total_runs - st->runs_new + st->runs_superseded;
        if (o->state_key && o->state_value) {
            sqlite3_stmt *ss;
            if ((rc = prepare(q,
                              "INSERT INTO source_state (source_id, key, value)"
                              " VALUES (?1, ?2, ?3) ON CONFLICT (source_id, key)"
                              " DO UPDATE SET value = excluded.value"
                              " WHERE source_state.value IS NOT excluded.value",
                              &ss, err)) < 0)
                goto out;
            sqlite3_bind_int64(ss, 1, source_id);
            bind_text(ss, 2, o->state_key);
            bind_text(ss, 3, o->state_value);
            rc = step_done(q, ss, NULL, err);
            sqlite3_finalize(ss);
            if (rc < 0)
                goto out;
        }
    }
    sqlite3_stmt *pr;
    if ((rc = prepare(q,
                      "UPDATE poll_run SET finished_at = ?2, pages = ?3, devices = ?4,"
                      " runs_new = ?5, runs_updated = ?6, result = ?7, error = ?8"
                      " WHERE id = ?1",
                      &pr, err)) < 0)
        goto out;
    static const char *const names[] = {"ok", "partial", "failed"};
    sqlite3_bind_int64(pr, 1, poll_id);
    sqlite3_bind_int64(pr, 2, now);
    sqlite3_bind_int64(pr, 3, o->pages);
    sqlite3_bind_int64(pr, 4, o->devices);
    sqlite3_bind_int64(pr, 5, st->runs_new);
    sqlite3_bind_int64(pr, 6, st->runs_updated);
    bind_text(pr, 7, names[o->result]);
    bind_text(pr, 8, o->error);
    rc = step_done(q, pr, NULL, err);
    sqlite3_finalize(pr);
    if (rc < 0 || (rc = count_poll(q, source_id, names[o->result], err)) < 0)
        goto out;
    lap(&l, "poll_run");
    if ((rc = delete_stage(q, "poll_id = ?1", poll_id, false, err)) < 0)
        goto out;
    lap(&l, "unstage");
    rc = exec(q, "COMMIT", err);
    lap(&l, "commit");
out:
    if (rc < 0)
        exec(q, "ROLLBACK", NULL);
    /* the checkpoint the poll held back (sq_poll_begin), now that the write lock is free */
    exec(q, "PRAGMA wal_checkpoint(PASSIVE)", NULL);
    sq_wal_attach(q->db);
    if (rc == 0) {
        lap(&l, "checkpoint");
        log_laps(q, &l, t0);
    }
    q->stage_us = q->stage_pages = q->stage_job_us = q->stage_run_us = q->stage_commit_us = 0;
    return rc;
}

static int sq_status_each(void *impl, const char *customer,
                          int (*cb)(const struct store_status_row *r, void *ud), void *ud,
                          struct bk_err *err)
{
    struct sq *q = impl;
    sqlite3_stmt *st;
    /* The latest run of a job is the one with the greatest start (then id). */
    int rc = prepare(
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
                     "j.id") " WHERE j.retired_at IS NULL AND (?1 IS NULL OR c.name = ?1"
                             "  OR (CAST(c.id AS TEXT) = ?1"
                             "   AND NOT EXISTS (SELECT 1 FROM customer z WHERE z.name = ?1)))"
                             " ORDER BY c.name, s.name, j.name, j.id",
        &st, err);
    if (rc < 0)
        return rc;
    bind_text(st, 1, customer);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_status_row r = {
            .customer = col_text(st, 0),
            .source = col_text(st, 1),
            .job = col_text(st, 2),
            .kind = col_text(st, 3),
            .external_id = col_text(st, 4),
            .status = col_text(st, 5),
            .raw_status = col_text(st, 6),
            .last_run_at = sqlite3_column_int64(st, 7),
            .reviewed = sqlite3_column_int(st, 8) != 0,
            .override = sqlite3_column_int(st, 9) != 0,
            .last_success_at = sqlite3_column_int64(st, 10),
            .last_real_run_at = sqlite3_column_int64(st, 11),
            .warn_after_ms = sqlite3_column_int64(st, 12),
            .crit_after_ms = sqlite3_column_int64(st, 13),
            .first_seen_at = sqlite3_column_int64(st, 14),
            .schedule = col_text(st, 15),
            .anomaly = col_text(st, 16),
        };
        if ((rc = cb(&r, ud)) != 0)
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = dberr(q, err, "status");
    sqlite3_finalize(st);
    return rc;
}

static int sq_source_each(void *impl, int (*cb)(const struct store_source_row *r, void *ud),
                          void *ud, struct bk_err *err)
{
    struct sq *q = impl;
    sqlite3_stmt *st;
    int rc = prepare(q, STORE_SQL_SOURCE_EACH, &st, err);
    if (rc < 0)
        return rc;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_source_row r = {
            .name = col_text(st, 0),
            .kind = col_text(st, 1),
            .interval_ms = sqlite3_column_int64(st, 2),
            .paused = sqlite3_column_int(st, 3) != 0,
            .last_poll_at = sqlite3_column_int64(st, 4),
            .last_result = col_text(st, 5),
            .last_error = col_text(st, 6),
            .last_success_at = sqlite3_column_int64(st, 7),
            .last_duration_ms =
                sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 8),
        };
        if ((rc = cb(&r, ud)) != 0)
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = dberr(q, err, "sources");
    sqlite3_finalize(st);
    return rc;
}

static int sq_review_job(void *impl, const char *source, const char *external_id, const char *who,
                         int64_t *n, struct bk_err *err)
{
    struct sq *q = impl;
    sqlite3_stmt *st;
    int rc = prepare(q,
                     "UPDATE job_run SET reviewed_at = ?3, reviewed_by = ?4, updated_at = ?3"
                     " WHERE reviewed_at IS NULL AND status <> 'running'"
                     " AND job_id IN (SELECT j.id FROM job j"
                     " JOIN source s ON s.id = j.source_id WHERE s.name = ?1"
                     " AND j.external_id = ?2)",
                     &st, err);
    if (rc < 0)
        return rc;
    bind_text(st, 1, source);
    bind_text(st, 2, external_id);
    sqlite3_bind_int64(st, 3, bk_now_ms());
    bind_text(st, 4, who);
    rc = step_done(q, st, n, err);
    sqlite3_finalize(st);
    return rc;
}

/* ---- generic queries ---- */

static int bind_params(struct sq *q, sqlite3_stmt *st, const struct store_param *p, size_t np,
                       struct bk_err *err)
{
    for (size_t i = 0; i < np; i++) {
        int rc;
        switch (p[i].type) {
        case STORE_P_INT:
            rc = sqlite3_bind_int64(st, (int)i + 1, p[i].i);
            break;
        case STORE_P_TEXT:
            rc = sqlite3_bind_text(st, (int)i + 1, p[i].s, -1, SQLITE_TRANSIENT);
            break;
        default:
            rc = sqlite3_bind_null(st, (int)i + 1);
            break;
        }
        if (rc != SQLITE_OK)
            return dberr(q, err, "bind");
    }
    return 0;
}

static int sq_query(void *impl, const char *sql, const struct store_param *p, size_t np,
                    int (*cb)(const struct store_row *r, void *ud), void *ud, struct bk_err *err)
{
    struct sq *q = impl;
    sqlite3_stmt *st;
    int rc = prepare(q, sql, &st, err);
    if (rc < 0)
        return rc;
    if ((rc = bind_params(q, st, p, np, err)) < 0) {
        sqlite3_finalize(st);
        return rc;
    }
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (cb && (rc = cb((const struct store_row *)st, ud)) != 0)
            break;
    }
    if (rc == 0 && s != SQLITE_ROW && s != SQLITE_DONE)
        rc = dberr(q, err, "query");
    sqlite3_finalize(st);
    return rc;
}

static int sq_exec(void *impl, const char *sql, const struct store_param *p, size_t np,
                   int64_t *changes, int64_t *last_id, struct bk_err *err)
{
    struct sq *q = impl;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    for (int i = 0; i < EXEC_CACHE && !st; i++)
        if (q->cache[i].sql && strcmp(q->cache[i].sql, sql) == 0)
            st = q->cache[i].st;
    if (!st) {
        if ((rc = prepare(q, sql, &st, err)) < 0)
            return rc;
        unsigned k = q->cache_next++ % EXEC_CACHE;
        sqlite3_finalize(q->cache[k].st);
        free(q->cache[k].sql);
        q->cache[k].sql = xstrdup(sql);
        q->cache[k].st = st;
    }
    if ((rc = bind_params(q, st, p, np, err)) == 0) {
        int s = sqlite3_step(st);
        if (s != SQLITE_DONE && s != SQLITE_ROW) {
            rc = sqlite3_errcode(q->db) == SQLITE_CONSTRAINT
                     ? bk_err_set(err, BK_EINVAL, "conflict: %s", sqlite3_errmsg(q->db))
                     : dberr(q, err, "exec");
        } else {
            if (changes)
                *changes = sqlite3_changes(q->db);
            if (last_id)
                *last_id = sqlite3_last_insert_rowid(q->db);
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sq_begin(void *impl, struct bk_err *err)
{
    return exec(impl, "BEGIN IMMEDIATE", err);
}

static int sq_commit(void *impl, struct bk_err *err)
{
    return exec(impl, "COMMIT", err);
}

static void sq_rollback(void *impl)
{
    exec(impl, "ROLLBACK", NULL);
}

static int sq_row_count(const struct store_row *r)
{
    return sqlite3_column_count((sqlite3_stmt *)r);
}

static bool sq_row_is_null(const struct store_row *r, int col)
{
    return sqlite3_column_type((sqlite3_stmt *)r, col) == SQLITE_NULL;
}

static const char *sq_row_text(const struct store_row *r, int col)
{
    return (const char *)sqlite3_column_text((sqlite3_stmt *)r, col);
}

static int64_t sq_row_int(const struct store_row *r, int col)
{
    return sqlite3_column_int64((sqlite3_stmt *)r, col);
}

static const char *sq_row_name(const struct store_row *r, int col)
{
    return sqlite3_column_name((sqlite3_stmt *)r, col);
}

/* serve: checkpoints on a thread of their own from now on (sqlite_wal.h) */
static int sq_background_checkpoints(void *impl, struct bk_err *err)
{
    struct sq *q = impl;
    int rc = sq_wal_start(dbfile(q), err);
    if (rc == 0)
        sq_wal_attach(q->db);
    return rc;
}

const struct store_ops store_sqlite_ops = {
    .scheme = "sqlite://",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .source_sync = sq_source_sync,
    .state_get = sq_state_get,
    .poll_begin = sq_poll_begin,
    .poll_stage = sq_poll_stage,
    .poll_finish = sq_poll_finish,
    .status_each = sq_status_each,
    .source_each = sq_source_each,
    .review_job = sq_review_job,
    .query = sq_query,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .row_count = sq_row_count,
    .row_is_null = sq_row_is_null,
    .row_text = sq_row_text,
    .row_int = sq_row_int,
    .row_name = sq_row_name,
    .background_checkpoints = sq_background_checkpoints,
    .background_checkpoints_stop = sq_wal_stop,
};

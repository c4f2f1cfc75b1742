/* Benchmark of the alert rules and delivery (issue 10) over a real SQLite store: N jobs with
 * 30 days of daily successes, then F of them fail at once. Prints the seconds of
 * alert_evaluate in the steady state (nothing changed), for the poll that brings the F
 * failures (F incidents opened, F outbox rows queued; target <= 1 s for 10,000 jobs / 1,000
 * failing), and the steady state after; then, with a receiver URL, the delivery throughput
 * (alerts/s) of alert_deliver_due to it. Usage: bk-alerts [N [F [URL]]]. Not a test. */
#define _POSIX_C_SOURCE 200809L
#include "alert/deliver.h"
#include "alert/engine.h"
#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS 86400000LL

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(const char *path, int njobs, int64_t now)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL);
    sqlite3_exec(db,
                 "INSERT INTO source (id, name, kind, url, interval_ms, created_at, updated_at)"
                 " VALUES (1, 'cove', 'cove', 'https://x', 900000, 0, 0);"
                 "INSERT INTO customer (id, source_id, external_id, name, created_at, updated_at)"
                 " VALUES (1, 1, 'c1', 'Acme', 0, 0);",
                 NULL, NULL, NULL);
    sqlite3_stmt *jst, *rst;
    sqlite3_prepare_v2(db,
                       "INSERT INTO job (id, source_id, customer_id, external_id, name, kind,"
                       " created_at, updated_at) VALUES (?1, 1, 1, ?2, ?2, 'server', ?3, ?3)",
                       -1, &jst, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO job_run (job_id, vendor_run_id, start_at, end_at, status,"
                       " raw_status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'success',"
                       " 'Completed', ?3, ?3)",
                       -1, &rst, NULL);
    for (int j = 1; j <= njobs; j++) {
        char name[32];
        snprintf(name, sizeof name, "dev-%06d", j);
        sqlite3_bind_int(jst, 1, j);
        sqlite3_bind_text(jst, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(jst, 3, now - 100 * DAY_MS);
        sqlite3_step(jst);
        sqlite3_reset(jst);
        for (int d = 30; d >= 1; d--) {
            int64_t start = now - d * DAY_MS + (j % 600) * 60000LL;
            char vid[32];
            snprintf(vid, sizeof vid, "r%lld", (long long)start);
            sqlite3_bind_int(rst, 1, j);
            sqlite3_bind_text(rst, 2, vid, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(rst, 3, start);
            sqlite3_bind_int64(rst, 4, start + 1800000);
            sqlite3_step(rst);
            sqlite3_reset(rst);
        }
    }
    sqlite3_finalize(jst);
    sqlite3_finalize(rst);
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO poll_run (source_id, started_at, finished_at, result)"
             " VALUES (1, %lld, %lld, 'ok'); COMMIT",
             (long long)(now - 60000), (long long)(now - 30000));
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE", NULL, NULL, NULL);
    sqlite3_close(db);
}

static void fail_some(const char *path, int njobs, int nfail, int64_t now)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "INSERT INTO job_run (job_id, vendor_run_id, start_at, end_at, status,"
                       " raw_status, message, created_at, updated_at)"
                       " VALUES (?1, 'fail-' || ?1, ?2, ?2, 'failed', 'Failed',"
                       " 'disk full', ?2, ?2)",
                       -1, &st, NULL);
    int step = njobs / nfail > 0 ? njobs / nfail : 1;
    for (int k = 0, j = 1; k < nfail && j <= njobs; k++, j += step) {
        sqlite3_bind_int(st, 1, j);
        sqlite3_bind_int64(st, 2, now - 600000);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
}

static double eval(struct bk_store *s, const struct bk_config *cfg, int64_t now,
                   struct alert_eval_stats *st)
{
    struct bk_err err = {0};
    double t0 = now_s();
    if (alert_evaluate(s, cfg, now, st, &err) < 0) {
        fprintf(stderr, "alert_evaluate: %s\n", err.msg);
        exit(1);
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    int64_t njobs = 10000, nfail = 1000;
    if ((argc > 1 && (str_to_i64(argv[1], &njobs) < 0 || njobs < 1)) ||
        (argc > 2 && (str_to_i64(argv[2], &nfail) < 0 || nfail < 1 || nfail > njobs))) {
        fprintf(stderr, "usage: bk-alerts [JOBS [FAILING [URL]]]\n");
        return 1;
    }
    const char *url = argc > 3 ? argv[3] : "http://127.0.0.1:9/none";
    char dir[] = "/tmp/bk-bench-alert-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char *text = xasprintf("[database]\nurl = sqlite://%s/b.db\n[server]\ntimezone = UTC\n"
                           "[alert \"ops\"]\nwebhook = %s\n",
                           dir, url);
    struct bk_config *cfg;
    struct bk_err err = {0};
    if (config_parse_string(text, "bench.conf", dir, &cfg, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    free(text);
    struct bk_store *s;
    if (store_open(cfg, &s, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    store_close(s);
    int64_t now = bk_now_ms();
    fill(cfg->db_path, (int)njobs, now);
    if (store_open(cfg, &s, &err) < 0)
        return 1;
    struct alert_eval_stats st;
    double steady = eval(s, cfg, now, &st);
    fail_some(cfg->db_path, (int)njobs, (int)nfail, now);
    double burst = eval(s, cfg, now + 1000, &st);
    long long opened = (long long)st.opened, queued = (long long)st.queued;
    double after = eval(s, cfg, now + 2000, &st);
    printf("jobs=%lld failing=%lld  steady=%.3f s  burst=%.3f s (opened=%lld queued=%lld)  "
           "steady_after=%.3f s (queued=%lld)  target: burst <= 1 s at 10000/1000\n",
           (long long)njobs, (long long)nfail, steady, burst, opened, queued, after,
           (long long)st.queued);
    if (argc > 3) {
        double t0 = now_s();
        struct alert_deliver_stats ds = {0};
        int n;
        do {
            n = alert_deliver_due(s, cfg, "bench", bk_now_ms(), 50, NULL, &ds, &err);
        } while (n > 0);
        double dt = now_s() - t0;
        printf("delivery to %s: sent=%lld retried=%lld failed=%lld in %.2f s = %.0f alerts/s\n",
               url, (long long)ds.sent, (long long)ds.retried, (long long)ds.failed, dt,
               dt > 0 ? (double)ds.sent / dt : 0.0);
    }
    store_close(s);
    config_free(cfg);
    char p[128];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/b.db%s", dir, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

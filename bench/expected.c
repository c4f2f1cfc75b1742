/* Benchmark of the whole expected-runs evaluator (issue 9) over a real SQLite store: N jobs
 * with 90 days of history (daily, twice a day, weekly, irregular, a tenth stopped some days
 * ago, a third with a Cove colour bar, some workstations), then store_expected_eval cycles:
 * the first writes every schedule and slot, the next ones are the steady state the daemon
 * runs after each poll and every 5 minutes. Prints seconds per cycle for each N (default
 * 1000 10000; target <= 1 s per cycle for 10k) and per job, flat when growth is linear.
 * Usage: bk-expected [N...]. Not a test. */
#define _POSIX_C_SOURCE 200809L
#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS 86400000LL
#define MIN_MS 60000LL

static uint32_t seed = 7;
static int rnd(int n)
{
    seed = seed * 1103515245u + 12345u;
    return (int)((seed >> 16) % (uint32_t)n);
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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
                       " colour_bar, colour_bar_as_of, created_at, updated_at)"
                       " VALUES (?1, 1, 1, ?2, ?2, ?3, ?4, ?5, ?6, ?6)",
                       -1, &jst, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO job_run (job_id, vendor_run_id, start_at, end_at, status,"
                       " raw_status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'success',"
                       " 'Completed', ?3, ?3)",
                       -1, &rst, NULL);
    int64_t today = now / DAY_MS;
    for (int j = 1; j <= njobs; j++) {
        int kind = rnd(100), hour = rnd(24), stop = rnd(10) == 0 ? 1 + rnd(6) : 0;
        bool ws = rnd(10) < 2, bar = rnd(3) == 0;
        char name[32], barbuf[29];
        snprintf(name, sizeof name, "dev-%06d", j);
        for (int k = 0; k < 28; k++)
            barbuf[k] = (27 - k) < stop ? '0' : '5';
        barbuf[28] = '\0';
        sqlite3_bind_int(jst, 1, j);
        sqlite3_bind_text(jst, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(jst, 3, ws ? "workstation" : "server", -1, SQLITE_STATIC);
        if (bar) {
            sqlite3_bind_text(jst, 4, barbuf, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(jst, 5, now - 600000);
        } else {
            sqlite3_bind_null(jst, 4);
            sqlite3_bind_null(jst, 5);
        }
        sqlite3_bind_int64(jst, 6, now - 100 * DAY_MS);
        sqlite3_step(jst);
        sqlite3_reset(jst);
        for (int64_t d = today - 90; d <= today - stop; d++) {
            int wday = (int)((d % 7 + 11) % 7);
            int per = kind < 60 ? 1 : kind < 75 ? 2 : 0;
            if (kind >= 75 && kind < 90 && wday == 0)
                per = 1;
            if (kind >= 90 && rnd(3) == 0)
                per = 1;
            for (int k = 0; k < per; k++) {
                int64_t start = d * DAY_MS + ((hour + 12 * k) % 24) * 3600000LL + rnd(20) * MIN_MS;
                if (start > now)
                    continue;
                char vid[32];
                snprintf(vid, sizeof vid, "r%lld", (long long)start);
                sqlite3_bind_int(rst, 1, j);
                sqlite3_bind_text(rst, 2, vid, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int64(rst, 3, start);
                sqlite3_bind_int64(rst, 4, start + (30 + rnd(60)) * MIN_MS);
                sqlite3_step(rst);
                sqlite3_reset(rst);
            }
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
    /* as the daemon's database would be: checkpointed, not one 100 MB write-ahead log */
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); ANALYZE", NULL, NULL, NULL);
    sqlite3_close(db);
}

static int bench(int njobs)
{
    char dir[] = "/tmp/bk-bench-exp-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char *text = xasprintf("[database]\nurl = sqlite://%s/b.db\n[server]\ntimezone = UTC\n", dir);
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
    fill(cfg->db_path, njobs, now);
    if (store_open(cfg, &s, &err) < 0)
        return 1;
    for (int cycle = 0; cycle < 3; cycle++) {
        struct store_expected_stats st;
        int64_t t0 = bk_mono_ms();
        double c0 = cpu_s();
        if (store_expected_eval(s, cfg, 0, now + cycle * 60000, &st, &err) < 0) {
            fprintf(stderr, "eval: %s\n", err.msg);
            return 1;
        }
        double wall = (double)(bk_mono_ms() - t0) / 1000.0, cpu = cpu_s() - c0;
        printf("jobs=%-6d cycle=%d %-7s wall=%.3f s cpu=%.3f s per_job=%.1f us  missed_new=%lld "
               "offline=%lld anomalies_new=%lld slots_written=%lld\n",
               njobs, cycle + 1, cycle == 0 ? "(first)" : "(steady)", wall, cpu, cpu * 1e6 / njobs,
               (long long)st.missed_new, (long long)st.offline, (long long)st.anomalies_new,
               (long long)st.slots_written);
        fflush(stdout);
    }
    store_close(s);
    char p[128];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/b.db%s", dir, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
    config_free(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    int sizes[8] = {1000, 10000};
    int n = 2;
    if (argc > 1) {
        n = 0;
        for (int i = 1; i < argc && n < 8; i++)
            sizes[n++] = (int)strtol(argv[i], NULL, 10);
    }
    for (int i = 0; i < n; i++)
        if (sizes[i] > 0 && bench(sizes[i]) != 0)
            return 1;
    return 0;
}

/* Operators keep working during a poll (issue 12): while process PID (a `backupctl poll`)
 * polls (from its poll_run row until it is no longer 'running'), issue the write a review request
 * makes — BEGIN IMMEDIATE, the API's UPDATE of one job_run, an audit row, COMMIT, through the store
 * as `serve` opens it (same busy handler) — every 10 ms, and print how long each took to answer:
 * count, p50, p99, max and how many took more than 100 ms (target: none). The run id reviewed does
 * not exist, so the poll's outcome is the same with or without this bench; the write lock is taken
 * all the same. Usage: bk-review-latency DB_PATH PID. Not a test. */
#define _POSIX_C_SOURCE 200809L
#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_row(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

static bool alive(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bk-review-latency DB_PATH PID\n");
        return 2;
    }
    char *end;
    long pid = strtol(argv[2], &end, 10);
    if (*end || pid <= 0) {
        fprintf(stderr, "bk-review-latency: bad pid %s\n", argv[2]);
        return 2;
    }
    char *text = xasprintf("[database]\nurl = sqlite://%s\n", argv[1]);
    struct bk_config *cfg;
    struct bk_err err = {0};
    if (config_parse_string(text, "bench.conf", "/", &cfg, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    free(text);
    struct bk_store *s = NULL;
    /* the poll creates and migrates the database: wait until it has begun (its poll_run row
     * 'running'), never racing its migrations */
    while (alive(pid)) {
        struct bk_store *ro;
        int64_t begun = 0;
        if (store_open_ro(cfg, &ro, &err) == 0) {
            store_query(ro, "SELECT COUNT(*) FROM poll_run WHERE result = 'running'", NULL, 0,
                        count_row, &begun, &err);
            store_close(ro);
        }
        bk_err_clear(&err);
        if (begun > 0 && store_open(cfg, &s, &err) == 0)
            break;
        s = NULL;
        bk_err_clear(&err);
        nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
    }
    size_t n = 0, cap = 1024, failed = 0;
    double *lat = xmalloc(cap * sizeof *lat);
    /* until the poll has applied (no poll_run 'running' left): the expected-runs evaluation
     * `poll --once` runs next is not the poll */
    while (s && alive(pid)) {
        int64_t running = 0;
        store_query(s, "SELECT COUNT(*) FROM poll_run WHERE result = 'running'", NULL, 0, count_row,
                    &running, &err);
        bk_err_clear(&err);
        if (!running)
            break;
        double t0 = mono_s();
        int64_t now = bk_now_ms();
        struct store_param p[] = {SP_INT(now), SP_TEXT("bench"), SP_INT(-1)};
        struct store_param a[] = {SP_INT(now), SP_TEXT("bench")};
        int rc = store_begin(s, &err);
        if (rc == 0 &&
            ((rc = store_exec(s,
                              "UPDATE job_run SET reviewed_at = ?1, reviewed_by = ?2,"
                              " updated_at = ?1 WHERE id = ?3 AND reviewed_at IS NULL"
                              " AND status <> 'running'",
                              p, 3, NULL, NULL, &err)) < 0 ||
             (rc = store_exec(s,
                              "INSERT INTO audit (at, who, action, target, before_json,"
                              " after_json) VALUES (?1, ?2, 'bench.review', 'run:-1', NULL, NULL)",
                              a, 2, NULL, NULL, &err)) < 0 ||
             (rc = store_commit(s, &err)) < 0))
            store_rollback(s);
        if (rc < 0) {
            failed++;
            bk_err_clear(&err);
        }
        if (n == cap) {
            cap *= 2;
            lat = xrealloc(lat, cap * sizeof *lat);
        }
        lat[n++] = (mono_s() - t0) * 1000.0;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    store_close(s);
    config_free(cfg);
    if (!n) {
        printf("review_latency: no request issued (the poll ended first)\n");
        free(lat);
        return 0;
    }
    size_t over = 0;
    for (size_t i = 0; i < n; i++)
        over += lat[i] > 100.0;
    qsort(lat, n, sizeof *lat, cmp_d);
    printf("review_latency: requests=%zu failed=%zu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f "
           "over_100ms=%zu\n",
           n, failed, lat[n / 2], lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], lat[n - 1],
           over);
    free(lat);
    return 0;
}

/* Benchmark of the issue 9 core: one evaluation cycle = for every job, learn its schedule from
 * 90 days of runs (and, for a third of them, a 28-day Cove colour bar), list and check its
 * slots of the last 7 days (Missed / expected), stale, the offline check, and a duration
 * anomaly check of its last run. Prints the time per cycle for 1k/10k/100k jobs (target: <= 1 s for
 * 10k) and the time per job, which stays flat when the cost grows linearly. Not a test. */
#define _POSIX_C_SOURCE 200809L
#include "core/schedule.h"
#include "core/tzfile.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NT 256 /* distinct histories; job i uses history i % NT */
#define MAXR 400
#define DAY_MS 86400000LL
#define MIN_MS 60000LL

struct hist {
    int64_t runs[MAXR], dur[MAXR];
    size_t n;
    char bar[29];
    bool has_bar, workstation;
};

static struct hist *H;
static uint32_t seed = 42;

static int rnd(int n)
{
    seed = seed * 1103515245u + 12345u;
    return (int)((seed >> 16) % (uint32_t)n);
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_histories(const struct bk_tz *tz, int64_t now)
{
    int64_t today = now / DAY_MS;
    for (int t = 0; t < NT; t++) {
        struct hist *h = &H[t];
        int kind = rnd(100), hour = rnd(24), stop = rnd(10) == 0 ? 1 + rnd(6) : 0;
        h->n = 0;
        for (int64_t d = today - 90; d <= today - stop; d++) {
            int wday = (int)((d % 7 + 11) % 7);
            int per = kind < 60 ? 1 : kind < 75 ? 2 : 0;
            if (kind >= 75 && kind < 85 && wday == 0)
                per = 1; /* weekly */
            if (kind >= 85 && kind < 90 && (d % 30) == 0)
                per = 1; /* roughly monthly */
            if (kind >= 90 && rnd(3) == 0)
                per = 1; /* irregular */
            for (int k = 0; k < per && h->n < MAXR; k++) {
                int64_t local = d * 86400 + ((hour + k * 12) % 24) * 3600 + rnd(40) * 60;
                int64_t at = bk_tz_local_to_utc(tz, local) * 1000;
                if (at > now)
                    continue;
                size_t i = h->n++; /* keep them ascending, as the store hands them over */
                for (; i > 0 && h->runs[i - 1] > at; i--) {
                    h->runs[i] = h->runs[i - 1];
                    h->dur[i] = h->dur[i - 1];
                }
                h->runs[i] = at;
                h->dur[i] = (60 + rnd(60)) * MIN_MS;
            }
        }
        h->has_bar = rnd(3) == 0;
        h->workstation = h->has_bar && rnd(2) == 0;
        for (int i = 0; i < 28; i++) {
            int64_t d = today - 27 + i;
            bool ran = false;
            for (size_t k = 0; k < h->n; k++)
                ran |= h->runs[k] / DAY_MS == d;
            h->bar[i] = ran ? '5' : '0';
        }
        h->bar[28] = '\0';
    }
}

/* One cycle over njobs; returns the number of findings (so nothing is optimised away). */
static long cycle(const struct bk_tz *tz, size_t njobs, int64_t now)
{
    long missed = 0;
    struct bk_slot slots[64];
    int64_t merged[MAXR + 32];
    for (size_t j = 0; j < njobs; j++) {
        const struct hist *h = &H[j % NT];
        struct bk_learn_in in = {h->runs, h->n, h->has_bar ? h->bar : NULL, now, tz, now};
        struct bk_schedule s;
        bk_sched_learn(&in, &s);
        const int64_t *runs = h->runs;
        size_t n = h->n;
        if (h->has_bar) {
            n = bk_sched_merge_bar(h->runs, h->n, h->bar, now, merged, MAXR + 32);
            runs = merged;
        }
        if (h->workstation) {
            struct bk_offline o;
            bk_sched_offline(h->bar, now, h->n ? h->runs[h->n - 1] : 0, now, 3, 7, &o);
            missed += o.level == BK_OFFLINE_ERROR;
        } else {
            size_t k = bk_sched_check(&s, tz, runs, n, now - 7 * DAY_MS, now, now, slots, 64);
            for (size_t i = 0; i < k; i++)
                missed += slots[i].state == BK_SLOT_MISSED;
        }
        struct bk_stale_opts so;
        bk_sched_stale_defaults(&s, h->workstation ? "workstation" : "server", &so);
        missed += bk_sched_freshness(h->n ? h->runs[h->n - 1] : 0, 1, now, &so) == BK_FRESH_STALE;
        if (h->n > 1) {
            char why[96];
            missed += bk_sched_duration_anomaly(h->dur, h->n - 1, h->dur[h->n - 1], NULL, why,
                                                sizeof why);
        }
    }
    return missed;
}

int main(int argc, char **argv)
{
    int cycles = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 3;
    if (cycles < 1)
        cycles = 1;
    struct bk_tz *tz;
    struct bk_err err = {0};
    if (bk_tz_load("Europe/Paris", &tz, &err) < 0) {
        fprintf(stderr, "bk-schedule: %s\n", err.msg);
        return 1;
    }
    H = calloc(NT, sizeof *H);
    if (!H)
        return 1;
    int64_t now = 1796119200000LL; /* 2026-12-01T10:00:00Z */
    make_histories(tz, now);
    size_t runs = 0;
    for (int t = 0; t < NT; t++)
        runs += H[t].n;
    printf("history: %d distinct jobs, 90 days, %.1f runs/job on average; 1/3 with a colour bar\n",
           NT, (double)runs / NT);
    /* CPU time too: on a shared machine the wall time includes waiting for a core */
    printf("%8s %12s %12s %12s %10s\n", "jobs", "ms/cycle", "us/job", "cpu us/job", "flagged");
    const size_t sizes[] = {1000, 10000, 100000};
    for (size_t k = 0; k < 3; k++) {
        double best = 1e9, best_cpu = 1e9;
        long missed = 0;
        for (int c = 0; c < cycles; c++) {
            double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            missed = cycle(tz, sizes[k], now);
            double dt = clock_s(CLOCK_MONOTONIC) - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
            if (dt < best)
                best = dt;
            if (dc < best_cpu)
                best_cpu = dc;
        }
        printf("%8zu %12.1f %12.2f %12.2f %10ld\n", sizes[k], best * 1e3,
               best * 1e6 / (double)sizes[k], best_cpu * 1e6 / (double)sizes[k], missed);
    }
    printf("target: <= 1000 ms/cycle for 10000 jobs; us/job flat = linear growth\n");
    bk_tz_free(tz);
    free(H);
    return 0;
}

#define _DEFAULT_SOURCE /* wait4 */
/* Runs a command N times and prints the median wall time, CPU time (user+system) and peak
 * RSS of the child processes: the whole-process figures the benchmarks report.
 * Usage: bk-rusage N command [args…]   Output: "wall_ms=… cpu_ms=… maxrss_kb=… rc=…" */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bk-rusage N command [args...]\n");
        return 2;
    }
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (*end || n < 1 || n > 1000) {
        fprintf(stderr, "bk-rusage: bad N\n");
        return 2;
    }
    double *wall = calloc((size_t)n, sizeof *wall), *cpu = calloc((size_t)n, sizeof *cpu),
           *rss = calloc((size_t)n, sizeof *rss);
    int rc = 0;
    for (long i = 0; i < n; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        if (pid == 0) {
            /* The child's own output would drown the figures. */
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) {
                dup2(null, 1);
                dup2(null, 2);
            }
            execvp(argv[2], argv + 2);
            _exit(127);
        }
        int st;
        struct rusage ru;
        if (wait4(pid, &st, 0, &ru) < 0)
            return 2;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        wall[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        cpu[i] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
        rss[i] = (double)ru.ru_maxrss;
    }
    qsort(wall, (size_t)n, sizeof *wall, cmp);
    qsort(cpu, (size_t)n, sizeof *cpu, cmp);
    qsort(rss, (size_t)n, sizeof *rss, cmp);
    printf("wall_ms=%.1f cpu_ms=%.1f maxrss_kb=%.0f rc=%d runs=%ld\n", wall[n / 2], cpu[n / 2],
           rss[n / 2], rc, n);
    free(wall);
    free(cpu);
    free(rss);
    return 0;
}

/* A constant-rate HTTP load for the push ping benchmark (issue 14): bk-pingload RATE SECONDS
 * URLS_FILE [SOURCE_IP...]. Starts request i at t0 + i/RATE (not when the last one ended, so a
 * slow server cannot hide its latency by slowing the load: no coordinated omission), each a
 * POST of a short body to the next URL of URLS_FILE (round robin), from the next source
 * address (127.0.0.x all reach a loopback listener; the server limits pings per address).
 * Prints the achieved rate, the answers by status and the latency p50/p99/max, measured from
 * the request's scheduled start. libcurl multi, keep-alive, one process. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

struct slot {
    CURL *h;
    double sched;
    int busy;
};

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bk-pingload RATE SECONDS URLS_FILE [SOURCE_IP...]\n");
        return 2;
    }
    double rate = strtod(argv[1], NULL), secs = strtod(argv[2], NULL);
    FILE *f = fopen(argv[3], "r");
    if (!f || rate <= 0 || secs <= 0) {
        fprintf(stderr, "bk-pingload: bad arguments\n");
        return 2;
    }
    char **urls = NULL, line[512];
    size_t nurls = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line)
            continue;
        urls = realloc(urls, (nurls + 1) * sizeof *urls);
        urls[nurls++] = strdup(line);
    }
    fclose(f);
    if (!nurls) {
        fprintf(stderr, "bk-pingload: no URL in %s\n", argv[3]);
        return 2;
    }
    char **ips = argv + 4;
    int nips = argc - 4;
    size_t total = (size_t)(rate * secs);
    double *lat = calloc(total ? total : 1, sizeof *lat);
    long codes[600] = {0};
    long errors = 0;
    enum { NSLOTS = 512 };
    static struct slot slots[NSLOTS];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)NSLOTS);
    for (int i = 0; i < NSLOTS; i++) {
        slots[i].h = curl_easy_init();
        curl_easy_setopt(slots[i].h, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(slots[i].h, CURLOPT_PRIVATE, &slots[i]);
        curl_easy_setopt(slots[i].h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(slots[i].h, CURLOPT_TIMEOUT_MS, 10000L);
    }
    size_t started = 0, done = 0, skipped = 0;
    double t0 = now_s();
    while (done + skipped < total) {
        double t = now_s();
        while (started < total && t0 + (double)started / rate <= t) {
            struct slot *s = NULL;
            for (int i = 0; i < NSLOTS && !s; i++)
                if (!slots[i].busy)
                    s = &slots[i];
            if (!s) { /* every slot in flight: counted, never silently delayed */
                skipped++;
                started++;
                continue;
            }
            s->busy = 1;
            s->sched = t0 + (double)started / rate;
            curl_easy_setopt(s->h, CURLOPT_URL, urls[started % nurls]);
            curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, "exit 0, 1.2 GB dumped");
            if (nips)
                curl_easy_setopt(s->h, CURLOPT_INTERFACE, ips[started % (size_t)nips]);
            curl_multi_add_handle(m, s->h);
            started++;
        }
        int running;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *s;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK)
                errors++;
            else if (code > 0 && code < 600)
                codes[code]++;
            lat[done++] = now_s() - s->sched;
            curl_multi_remove_handle(m, msg->easy_handle);
            s->busy = 0;
        }
        double next = started < total ? t0 + (double)started / rate : t + 0.01;
        int wait_ms = (int)((next - now_s()) * 1000);
        curl_multi_poll(m, NULL, 0, wait_ms > 0 ? wait_ms : 0, NULL);
    }
    double elapsed = now_s() - t0;
    qsort(lat, done, sizeof *lat, cmp_d);
    printf("%zu requests in %.2f s (%.0f/s asked, %.0f/s achieved), %zu not sent (all %d "
           "connections busy), %ld transport errors; answers:",
           done, elapsed, rate, (double)done / elapsed, skipped, NSLOTS, errors);
    for (int c = 0; c < 600; c++)
        if (codes[c])
            printf(" %d x%ld", c, codes[c]);
    if (done)
        printf("\nlatency from the scheduled start: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               lat[done / 2] * 1000, lat[(size_t)((double)done * 0.99)] * 1000,
               lat[done - 1] * 1000);
    for (int i = 0; i < NSLOTS; i++)
        curl_easy_cleanup(slots[i].h);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    for (size_t i = 0; i < nurls; i++)
        free(urls[i]);
    free(urls);
    free(lat);
    return 0;
}

/* Benchmark of the report e-mail pipeline (issue 14): N mails (default 10,000) of the mixed
 * synthetic catalogue (tests/fixtures/mail, each copy with its own Message-ID) written into a
 * Maildir, then one serve-style scan of it into a fresh SQLite store: decode, parse, store in
 * one transaction per mail, move to cur/. Prints the wall time and mails/s (target: 10,000 in
 * <= 10 s). Usage: bk-mail-ingest FIXTURE_DIR [N]. Not a test. */
#define _POSIX_C_SOURCE 200809L
#include "config/config.h"
#include "mail/ingest.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = xmalloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bk-mail-ingest FIXTURE_DIR [N]\n");
        return 1;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
    char *fx[64];
    size_t fl[64], nfx = 0;
    DIR *d = opendir(argv[1]);
    struct dirent *de;
    while (d && (de = readdir(d)) && nfx < 64) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".eml") != 0)
            continue;
        char *p = xasprintf("%s/%s", argv[1], de->d_name);
        fx[nfx] = slurp(p, &fl[nfx]);
        free(p);
        if (fx[nfx])
            nfx++;
    }
    if (d)
        closedir(d);
    if (!nfx) {
        fprintf(stderr, "no .eml in %s\n", argv[1]);
        return 1;
    }
    char dir[] = "/tmp/bk-mailbench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char *md = xasprintf("%s/maildir", dir);
    const char *subs[] = {"", "/new", "/cur", "/tmp"};
    for (int i = 0; i < 4; i++) {
        char *p = xasprintf("%s%s", md, subs[i]);
        mkdir(p, 0700);
        free(p);
    }
    for (long i = 0; i < n; i++) {
        /* a Message-ID of its own: "<v1@synthetic.backupctl>" -> "<v1-i@synthetic.backupctl>" */
        const char *src = fx[i % (long)nfx];
        const char *at = strstr(src, "@synthetic.backupctl>");
        char *p = xasprintf("%s/new/%010ld.bench", md, i);
        FILE *f = fopen(p, "wb");
        free(p);
        if (!f)
            return 1;
        if (at) {
            fwrite(src, 1, (size_t)(at - src), f);
            fprintf(f, "-%ld", i);
            fputs(at, f);
        } else {
            fputs(src, f);
        }
        fclose(f);
    }
    char *text = xasprintf("[database]\nurl = sqlite://%s/b.db\n[source \"mail-bench\"]\n"
                           "type = mail\nmaildir = %s\ntimezone = Europe/Paris\n",
                           dir, md);
    struct bk_config *cfg = NULL;
    struct bk_store *s = NULL;
    struct bk_err e = {0};
    if (config_parse_string(text, "bench.conf", dir, &cfg, &e) < 0 || store_open(cfg, &s, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    struct mail_source ms;
    if (mail_source_open(s, cfg, config_find_source(cfg, "mail-bench"), &ms, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    struct mail_scan_stats st;
    double t0 = now_s();
    int rc = mail_maildir_scan(s, &ms, (size_t)n, NULL, &st, &e);
    double t = now_s() - t0;
    if (rc < 0)
        fprintf(stderr, "scan: %s\n", e.msg);
    printf("mail ingest: %lld mails (%zu kinds) from a Maildir in %.2f s = %.0f mails/s "
           "(stored %lld, duplicates %lld, refused %lld, errors %lld)\n",
           (long long)st.seen, nfx, t, t > 0 ? (double)st.seen / t : 0.0, (long long)st.stored,
           (long long)st.duplicates, (long long)st.refused, (long long)st.errors);
    mail_source_close(&ms);
    store_close(s);
    config_free(cfg);
    free(text);
    /* clean up: cur/ files, the db */
    char *cur = xasprintf("%s/cur", md);
    DIR *c = opendir(cur);
    while (c && (de = readdir(c)))
        if (de->d_name[0] != '.') {
            char *p = xasprintf("%s/%s", cur, de->d_name);
            unlink(p);
            free(p);
        }
    if (c)
        closedir(c);
    for (int i = 3; i >= 0; i--) {
        char *p = xasprintf("%s%s", md, subs[i]);
        rmdir(p);
        free(p);
    }
    const char *dbs[] = {"b.db", "b.db-wal", "b.db-shm"};
    for (int i = 0; i < 3; i++) {
        char *p = xasprintf("%s/%s", dir, dbs[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(cur);
    free(md);
    for (size_t i = 0; i < nfx; i++)
        free(fx[i]);
    return rc < 0 || t > 10.0 ? 1 : 0;
}

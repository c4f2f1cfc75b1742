/* The report e-mail pipeline and the Maildir input (see ingest.h). */
#include "mail/ingest.h"

#include "config/config.h"
#include "platform/platform.h"
#include "core/tzfile.h"
#include "mail/mime.h"
#include "mail/parse.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int mail_source_open(struct bk_store *s, const struct bk_config *cfg,
                     const struct bk_source_cfg *src, struct mail_source *ms, struct bk_err *err)
{
    memset(ms, 0, sizeof *ms);
    ms->cfg = src;
    int rc = store_source_sync(s, src, &ms->source_id, err);
    if (rc < 0)
        return rc;
    const char *zone = src->timezone ? src->timezone : cfg->timezone;
    if ((rc = bk_tz_load(zone, &ms->tz, err)) < 0)
        bk_err_prefix(err, "source %s: ", src->name);
    return rc;
}

void mail_source_close(struct mail_source *ms)
{
    if (!ms)
        return;
    bk_tz_free(ms->tz);
    ms->tz = NULL;
}

char *mail_rule_key(const char *subject)
{
    static const char *const words[] = {"success",  "successful", "succeeded", "warning",
                                        "warnings", "failed",     "failure",   "error",
                                        "errors",   "ok",         "completed", "issues"};
    size_t n = strlen(subject);
    char *out = xmalloc(n + 1);
    size_t o = 0;
    const char *p = subject;
    while (*p) {
        if (isalpha((unsigned char)*p)) {
            const char *w = p;
            while (isalpha((unsigned char)*p))
                p++;
            size_t wl = (size_t)(p - w);
            bool drop = false;
            for (size_t i = 0; i < sizeof words / sizeof words[0] && !drop; i++)
                drop = strlen(words[i]) == wl && strncasecmp(w, words[i], wl) == 0;
            if (drop)
                continue;
            for (size_t i = 0; i < wl; i++)
                out[o++] = (char)tolower((unsigned char)w[i]);
            continue;
        }
        if (isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '[' || *p == ']' || *p == '(' || *p == ')' ||
            *p == ',' || *p == '-' || *p == ':' || *p == '/' || *p == '.') {
            if (o && out[o - 1] != ' ')
                out[o++] = ' ';
            p++;
            continue;
        }
        out[o++] = *p++;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return out;
}

static const char *job_kind(const char *product)
{
    static const struct {
        const char *product, *kind;
    } kinds[] = {{"veeam_vbr", "vm"},
                 {"veeam_agent", "server"},
                 {"vb365", "m365"},
                 {"synology_abb", "nas"},
                 {"synology_hyper_backup", "nas"},
                 {"nakivo", "vm"},
                 {"duplicati", "script"},
                 {"wsb", "server"}};
    for (size_t i = 0; product && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].product, product) == 0)
            return kinds[i].kind;
    return "email";
}

/* FNV-1a of the raw bytes: the id of a mail without a Message-ID (same bytes, same id). */
static uint64_t fnv64(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int mail_ingest_bytes(struct bk_store *s, const struct mail_source *ms, const char *raw, size_t len,
                      int64_t now_ms, struct mail_ingest_result *out, struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    struct mail_msg *m = NULL;
    int rc = mail_msg_parse(raw, len, &m, err);
    if (rc < 0)
        return rc;
    struct mail_parse_ctx ctx = {.tz = ms->tz};
    struct mail_result r;
    mail_parse(m, &ctx, &r);
    char mid[64];
    if (!m->message_id)
        snprintf(mid, sizeof mid, "no-message-id-%016" PRIx64 "@backupctl", fnv64(raw, len));
    char *rule_key = mail_rule_key(m->subject);
    char vrid[320];
    int64_t at = m->date_ms ? m->date_ms : now_ms;
    int64_t start = r.start_ms ? r.start_ms : r.end_ms ? r.end_ms : at;
    int64_t end = r.end_ms ? r.end_ms : r.kind == MAIL_RUN && r.start_ms ? 0 : at;
    if (r.group_retries)
        snprintf(vrid, sizeof vrid, "mail:%s:%" PRId64, r.product ? r.product : "", start);
    else
        snprintf(vrid, sizeof vrid, "mail:%.300s", m->message_id ? m->message_id : mid);
    struct store_mail_in in = {.source_id = ms->source_id,
                               .customer = ms->cfg->customer ? ms->cfg->customer : ms->cfg->name,
                               .message_id = m->message_id ? m->message_id : mid,
                               .sender = m->from,
                               .subject = m->subject,
                               .sent_at_ms = m->date_ms,
                               .received_at_ms = now_ms,
                               .raw = raw,
                               .raw_len = len,
                               .synthetic = m->synthetic,
                               .kind = mail_kind_name(r.kind),
                               .product = r.product,
                               .reason = r.reason,
                               .rule_key = rule_key,
                               .job_name = r.job_name,
                               .job_kind = job_kind(r.product),
                               .vendor_run_id = vrid,
                               .start_ms = start,
                               .end_ms = end,
                               .status = bk_run_status_name(r.status),
                               .raw_status = r.raw_status ? r.raw_status : "none",
                               .message = r.kind == MAIL_RUN ? r.message : m->subject,
                               .objects = r.objects,
                               .nobjects = r.nobjects,
                               .group_retries = r.group_retries};
    rc = store_mail_ingest(s, &in, &out->st, err);
    snprintf(out->kind, sizeof out->kind, "%s", mail_kind_name(r.kind));
    snprintf(out->product, sizeof out->product, "%s", r.product ? r.product : "");
    snprintf(out->job, sizeof out->job, "%s", r.job_name ? r.job_name : "");
    snprintf(out->status, sizeof out->status, "%s", bk_run_status_name(r.status));
    free(rule_key);
    mail_result_clear(&r);
    mail_msg_free(m);
    return rc;
}

/* ---- Maildir ------------------------------------------------------------------------- */

static int read_file(const char *path, char **data, size_t *len, struct bk_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return bk_err_set(err, errno == ENOENT ? BK_ENOTFOUND : BK_EIO, "%s: %s", path,
                          strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return bk_err_set(err, BK_EINVAL, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > MAIL_MAX_BYTES) {
        close(fd);
        return bk_err_set(err, BK_ETOOBIG, "%s: %lld bytes, over the %u MB limit", path,
                          (long long)sb.st_size, MAIL_MAX_BYTES / (1024 * 1024));
    }
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > MAIL_MAX_BYTES + 1) {
                free(buf);
                close(fd);
                return bk_err_set(err, BK_ETOOBIG, "%s: over the %u MB limit", path,
                                  MAIL_MAX_BYTES / (1024 * 1024));
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t k = read(fd, buf + n, cap - n - 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return bk_err_set(err, BK_EIO, "%s: %s", path, strerror(e));
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mail_test_crash_hook(void)
{
    const char *h = getenv("BACKUPCTL_TEST_MAIL_CRASH");
    if (h && strcmp(h, "after-commit") == 0) {
        fprintf(stderr, "BACKUPCTL_TEST_MAIL_CRASH: aborting after the commit, before the move\n");
        abort();
    }
}

enum mail_outcome mail_ingest_counted(struct bk_store *s, const struct mail_source *ms, int fetched,
                                      const char *raw, size_t len, struct mail_scan_stats *st,
                                      struct bk_err *e)
{
    struct mail_ingest_result res;
    int rc = fetched;
    if (rc == 0)
        rc = mail_ingest_bytes(s, ms, raw ? raw : "", len, bk_plat_realtime_ms(), &res, e);
    if (rc == 0) {
        mail_test_crash_hook();
        if (res.st.duplicate)
            st->duplicates++;
        else
            st->stored++;
        return MAIL_DONE;
    }
    if (rc == -BK_EINVAL || rc == -BK_ETOOBIG) {
        st->refused++;
        return MAIL_REFUSED;
    }
    st->errors++;
    if (!e->code)
        e->code = -rc;
    return MAIL_FAILED;
}

static void move_to_cur(const char *dir, const char *name, const char *flags)
{
    const char *colon = strstr(name, ":2,");
    char *from = xasprintf("%s/new/%s", dir, name);
    char *to =
        colon ? xasprintf("%s/cur/%s", dir, name) : xasprintf("%s/cur/%s:2,%s", dir, name, flags);
    if (rename(from, to) < 0)
        log_warn("maildir %s: cannot move %s to cur/: %s", dir, name, strerror(errno));
    free(from);
    free(to);
}

int mail_maildir_scan(struct bk_store *s, const struct mail_source *ms, size_t max,
                      volatile int *stop, struct mail_scan_stats *st, struct bk_err *err)
{
    memset(st, 0, sizeof *st);
    const char *dir = ms->cfg->maildir;
    if (!dir)
        return 0;
    char *newdir = xasprintf("%s/new", dir);
    DIR *d = opendir(newdir);
    if (!d) {
        int e = errno;
        free(newdir);
        return bk_err_set(err, BK_EIO, "maildir %s: %s", dir, strerror(e));
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        if (de->d_name[0] == '.')
            continue;
        names = xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (stop && *stop)
            break;
        st->seen++;
        char *path = xasprintf("%s/%s", newdir, names[i]);
        char *data = NULL;
        size_t len = 0;
        struct bk_err e = {0};
        int frc = read_file(path, &data, &len, &e);
        if (frc == -BK_ENOTFOUND) { /* taken by someone else meanwhile */
            free(path);
            continue;
        }
        enum mail_outcome o = mail_ingest_counted(s, ms, frc, data, len, st, &e);
        free(data);
        if (o == MAIL_DONE) {
            move_to_cur(dir, names[i], "S");
        } else if (o == MAIL_REFUSED) {
            log_warn("maildir %s: %s refused: %s (kept in cur/, flagged)", dir, names[i], e.msg);
            move_to_cur(dir, names[i], "F");
        } else {
            log_warn("maildir %s: %s: %s (left in new/ for the next scan)", dir, names[i], e.msg);
            if (rc == 0) {
                rc = -(e.code ? e.code : BK_EIO);
                if (err)
                    *err = e;
            }
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(newdir);
    return rc;
}

/* The IMAP input (see imap.h). */
#include "mail/imap.h"

#include "config/config.h"
#include "mail/mime.h"
#include "platform/platform.h"
#include "store/sources.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t mail_imap_uidvalidity(const char *reply)
{
    const char *p = reply ? strstr(reply, "[UIDVALIDITY ") : NULL;
    if (!p)
        return 0;
    p += strlen("[UIDVALIDITY ");
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9' && v < UINT64_MAX / 10)
        v = v * 10 + (uint64_t)(*p++ - '0');
    return *p == ']' ? v : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void mail_imap_search_uids(const char *reply, uint64_t after, uint64_t *uids, size_t max, size_t *n)
{
    *n = 0;
    const char *p = reply ? strstr(reply, "* SEARCH") : NULL;
    if (!p)
        return;
    p += strlen("* SEARCH");
    while (*p && *p != '\r' && *p != '\n' && *n < max) {
        while (*p == ' ')
            p++;
        uint64_t v = 0;
        bool any = false;
        while (*p >= '0' && *p <= '9' && v < UINT64_MAX / 10) {
            v = v * 10 + (uint64_t)(*p++ - '0');
            any = true;
        }
        if (!any)
            break;
        if (v > after) /* "UID n:*" answers the highest UID even when it is below n */
            uids[(*n)++] = v;
    }
    qsort(uids, *n, sizeof *uids, cmp_u64);
}

static size_t write_cb(char *p, size_t sz, size_t nm, void *ud)
{
    struct bk_buf *b = ud;
    return bk_buf_append(b, p, sz * nm) == 0 ? sz * nm : 0;
}

struct imap {
    CURL *h;
    const struct bk_source_cfg *cfg;
    const char *password;
    char *base;   /* imaps://host:port/FOLDER */
    char *folder; /* FOLDER */
};

/* One request: url (NULL = the folder's), custom command (NULL = a fetch). */
static int imap_do(struct imap *im, const char *url, const char *cmd, struct bk_buf *out,
                   struct bk_err *err)
{
    bk_buf_reset(out);
    CURL *h = im->h;
    curl_easy_setopt(h, CURLOPT_URL, url ? url : im->base);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, cmd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        int code = rc == CURLE_LOGIN_DENIED                                          ? BK_EAUTH
                   : rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ? BK_ECONNECT
                   : rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ? BK_ETLS
                   : rc == CURLE_OPERATION_TIMEDOUT ? BK_ETIMEOUT
                   : rc == CURLE_WRITE_ERROR        ? BK_ETOOBIG
                                                    : BK_EPROTO;
        return bk_err_set(err, code, "IMAP %s: %s", cmd ? cmd : "fetch", curl_easy_strerror(rc));
    }
    return 0;
}

static int state_get_u64(struct bk_store *s, int64_t sid, const char *key, uint64_t *v,
                         struct bk_err *err)
{
    char *val = NULL;
    int rc = store_state_get(s, sid, key, &val, err);
    *v = 0;
    if (rc == 0 && val) {
        int64_t x;
        if (str_to_i64(val, &x) == 0 && x > 0)
            *v = (uint64_t)x;
    }
    free(val);
    return rc;
}

static int state_set_u64(struct bk_store *s, int64_t sid, const char *key, uint64_t v,
                         struct bk_err *err)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return store_source_state_set(s, sid, key, buf, err);
}

int mail_imap_poll(struct bk_store *s, const struct mail_source *ms, const char *password,
                   size_t max, struct mail_scan_stats *st, struct bk_err *err)
{
    memset(st, 0, sizeof *st);
    const struct bk_source_cfg *c = ms->cfg;
    if (!c->imap_url)
        return 0;
    struct imap im = {.cfg = c, .password = password};
    const char *slash = strchr(strstr(c->imap_url, "://") + 3, '/');
    im.folder = xstrdup(slash + 1);
    im.base = xstrdup(c->imap_url);
    if (!*im.folder) {
        free(im.folder);
        im.folder = xstrdup("INBOX");
        free(im.base);
        im.base = xasprintf("%sINBOX", c->imap_url);
    }
    im.h = curl_easy_init();
    CURL *h = im.h;
    curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
    if (c->imap_xoauth2) /* SASL XOAUTH2: the secret is a bearer token (refreshed outside) */
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, password);
    else
        curl_easy_setopt(h, CURLOPT_PASSWORD, password);
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* imap:// needs STARTTLS */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    struct bk_buf out;
    bk_buf_init(&out, (size_t)MAIL_MAX_BYTES + 65536);
    uint64_t *uids = NULL;
    char *cmd = NULL;
    int rc = 0;

    /* UIDVALIDITY: a change means the server renumbered the folder: start again from 0 */
    cmd = xasprintf("EXAMINE %s", im.folder);
    rc = imap_do(&im, NULL, cmd, &out, err);
    free(cmd);
    cmd = NULL;
    uint64_t validity = rc == 0 ? mail_imap_uidvalidity(out.data) : 0, known = 0, last = 0;
    if (rc == 0 && !validity)
        rc = bk_err_set(err, BK_EPROTO, "IMAP EXAMINE %s: no UIDVALIDITY in the reply", im.folder);
    if (rc == 0)
        rc = state_get_u64(s, ms->source_id, "imap_uidvalidity", &known, err);
    if (rc == 0)
        rc = state_get_u64(s, ms->source_id, "imap_last_uid", &last, err);
    if (rc == 0 && known != validity) {
        if (known)
            log_info("source %s: IMAP UIDVALIDITY of %s changed (%" PRIu64 " -> %" PRIu64
                     "): reading the folder again",
                     c->name, im.folder, known, validity);
        last = 0;
        if ((rc = state_set_u64(s, ms->source_id, "imap_uidvalidity", validity, err)) == 0)
            rc = state_set_u64(s, ms->source_id, "imap_last_uid", 0, err);
    }
    size_t n = 0;
    if (rc == 0) {
        cmd = xasprintf("UID SEARCH UID %" PRIu64 ":*", last + 1);
        rc = imap_do(&im, NULL, cmd, &out, err);
        free(cmd);
        cmd = NULL;
    }
    if (rc == 0) {
        uids = xcalloc(max ? max : 1, sizeof *uids);
        mail_imap_search_uids(out.data, last, uids, max, &n);
    }
    /* Fetch and commit each mail while the folder is open read-only (the EXAMINE above): a
     * fetch then never marks a mail read (what BODY.PEEK[] would give; libcurl fetches with
     * BODY[] and drops the literal of a custom FETCH). Only the mails committed (or refused)
     * are moved, after, in the folder opened read-write: a crash in between re-reads them
     * (a duplicate), since the last UID moves with the mail. */
    size_t ndone = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        st->seen++;
        char *url = xasprintf("%s;UID=%" PRIu64, im.base, uids[i]);
        struct bk_err e = {0};
        int frc = imap_do(&im, url, NULL, &out, &e);
        free(url);
        enum mail_outcome o = mail_ingest_counted(s, ms, frc, out.data, out.len, st, &e);
        if (o == MAIL_REFUSED)
            log_warn("source %s: IMAP UID %" PRIu64 " refused: %s (moved all the same)", c->name,
                     uids[i], e.msg);
        if (o == MAIL_FAILED) {
            rc = -e.code;
            *err = e;
            break;
        }
        ndone = i + 1;
    }
    if (ndone > 0) {
        cmd = xasprintf("SELECT %s", im.folder);
        struct bk_err se = {0};
        if (imap_do(&im, NULL, cmd, &out, &se) < 0) {
            log_warn("source %s: %s (the mails stay, read again next time)", c->name, se.msg);
            ndone = 0;
        }
        free(cmd);
        cmd = NULL;
    }
    for (size_t i = 0; i < ndone; i++) {
        cmd = xasprintf("UID MOVE %" PRIu64 " %s", uids[i], c->imap_processed);
        struct bk_err me = {0};
        if (imap_do(&im, NULL, cmd, &out, &me) < 0)
            log_warn("source %s: %s", c->name, me.msg); /* read again next time: a duplicate */
        free(cmd);
        cmd = NULL;
        struct bk_err ue = {0};
        int urc = state_set_u64(s, ms->source_id, "imap_last_uid", uids[i], &ue);
        if (urc < 0) {
            if (rc == 0) {
                rc = urc;
                *err = ue;
            }
            break;
        }
    }
    free(uids);
    bk_buf_free(&out);
    curl_easy_cleanup(h);
    free(im.base);
    free(im.folder);
    return rc;
}

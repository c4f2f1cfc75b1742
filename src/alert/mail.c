/* The e-mail channel (alert.h): one SMTP transaction per attempt through libcurl, STARTTLS
 * required unless the section says tls = off, AUTH when it names a user. The message itself is
 * built by mime.c. The result's error is one line naming the server and what went wrong, never
 * the password or the body. */
#include "alert/alert.h"

#include "alert/mime.h"
#include "config/config.h"
#include "platform/platform.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct upload {
    const char *data;
    size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    struct upload *u = ud;
    size_t n = size * nitems;
    if (n > u->len - u->off)
        n = u->len - u->off;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

/* This machine's name as a Message-ID right side and EHLO name: [A-Za-z0-9.-] only. */
static void local_host(char *out, size_t outsz)
{
    if (gethostname(out, outsz - 1) != 0 || !*out)
        snprintf(out, outsz, "localhost");
    out[outsz - 1] = 0;
    for (char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-'))
            *p = '-';
}

/* res->error = "URL: what detail (SMTP code)"; detail (curl's or the server's words) has its
 * control bytes escaped so it stays one line. */
static void fail(struct bk_send_result *res, enum bk_send_outcome o, const char *url,
                 const char *what, const char *detail)
{
    char clean[200];
    str_escape_ctl(detail ? detail : "", clean, sizeof clean, NULL, false);
    res->outcome = o;
    char code[32] = "";
    if (res->code > 0)
        snprintf(code, sizeof code, " (SMTP %ld)", res->code);
    /* the code at the end matters most: the detail is what gets cut */
    snprintf(res->error, sizeof res->error, "%.80s: %.100s%.80s%s", url, what, clean, code);
}

void alert_mail_send(const struct bk_alert_cfg *a, const struct bk_alert_secrets *sec,
                     const struct bk_alert_msg *m, long timeout_ms, struct bk_send_result *res)
{
    memset(res, 0, sizeof *res);
    const char *smtp = a->smtp ? a->smtp : "smtp://localhost:25";
    if (a->nto == 0) {
        fail(res, BK_SEND_FAILED, smtp, "no recipient (email =)", NULL);
        return;
    }
    char host[256];
    local_host(host, sizeof host);
    char *from = a->from ? xstrdup(a->from) : xasprintf("backupctl@%s", host);
    struct mime_env env = {
        .from = from,
        .to = (const char *const *)a->to,
        .nto = a->nto,
        .host = host,
        .date_ms = bk_plat_realtime_ms(),
    };
    char *msg = mime_build_message(&env, m);
    struct upload up = {.data = msg, .len = strlen(msg)};
    /* the URL's path is the EHLO name (curl): this machine's, not "localhost" */
    const char *after = strstr(smtp, "://");
    char *url = after && !strchr(after + 3, '/') ? xasprintf("%s/%s", smtp, host) : xstrdup(smtp);
    bool implicit = str_starts_with(smtp, "smtps://");
    char errbuf[CURL_ERROR_SIZE] = "";
    char *mail_from = xasprintf("<%s>", from);
    struct curl_slist *rcpt = NULL;
    for (size_t i = 0; i < a->nto; i++) {
        char *r = xasprintf("<%s>", a->to[i]);
        rcpt = curl_slist_append(rcpt, r);
        free(r);
    }
    CURL *h = curl_easy_init();
    if (!h || !rcpt) {
        fail(res, BK_SEND_RETRY, smtp, "cannot initialise libcurl", NULL);
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    /* STARTTLS or nothing: CURLUSESSL_TRY would fall back to plain text silently */
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     implicit || !a->tls_off ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, a->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, a->insecure ? 0L : 2L);
    if (a->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, a->ca_file);
    if (a->smtp_username) {
        curl_easy_setopt(h, CURLOPT_USERNAME, a->smtp_username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, sec && sec->smtp_password ? sec->smtp_password : "");
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    if (timeout_ms > 0) {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    }
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    /* on a failure, only a refusal is worth quoting (not STARTTLS's 220 or EHLO's 250) */
    res->code = rc == CURLE_OK || code >= 400 ? code : 0;
    const char *detail = *errbuf ? errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OK:
        res->outcome = BK_SEND_OK;
        break;
    case CURLE_USE_SSL_FAILED:
        fail(res, BK_SEND_FAILED, smtp,
             "the server does not offer STARTTLS, which is required (tls = off allows plain "
             "SMTP)",
             NULL);
        break;
    case CURLE_LOGIN_DENIED:
        /* 535 and friends: retrying a wrong password can lock the account; 454 is temporary */
        fail(res, code >= 400 && code < 500 ? BK_SEND_RETRY : BK_SEND_FAILED, smtp,
             "authentication of smtp_username rejected: ", detail);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        fail(res, BK_SEND_FAILED, smtp, "TLS certificate not trusted: ", detail);
        break;
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        fail(res, BK_SEND_FAILED, smtp, "", detail); /* the configuration, not the moment */
        break;
    default:
        if (code >= 500)
            fail(res, BK_SEND_FAILED, smtp, "rejected: ", detail);
        else
            fail(res, BK_SEND_RETRY, smtp, "", detail);
    }
    /* the server's words are in the error: a hostile one could echo what AUTH sent it */
    if (sec && sec->smtp_password && *sec->smtp_password &&
        strstr(res->error, sec->smtp_password)) {
        fail(res, res->outcome, smtp, "the server's reply repeated the password (not shown)", NULL);
    }
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
    free(mail_from);
    free(url);
    free(msg);
    free(from);
}

void alert_body_free(struct bk_alert_body *b)
{
    if (!b)
        return;
    free(b->title);
    free(b->text);
    free(b->html);
    memset(b, 0, sizeof *b);
}

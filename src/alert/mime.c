/* The alert e-mail (mime.h). Everything that comes from a vendor (job names, messages) is
 * hostile: header values are encoded or folded, never raw; the HTML part escapes every
 * character that means something to HTML, and links only http(s) URLs. */
#include "alert/mime.h"

#include "alert/alert.h"
#include "core/tzfile.h"
#include "platform/platform.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIME_MAX (8u << 20) /* a message larger than this is a bug, not an alert */

static void app(struct bk_buf *b, const char *s, size_t n)
{
    if (bk_buf_append(b, s, n) < 0)
        abort(); /* bounded by MIME_MAX: the inputs are bounded long before that */
}

static void apps(struct bk_buf *b, const char *s)
{
    app(b, s, strlen(s));
}

void mime_date(int64_t epoch_ms, char *out, size_t outsz)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct bk_civil c;
    int64_t s = epoch_ms / 1000 - (epoch_ms % 1000 < 0);
    bk_tz_civil(NULL, s, &c);
    snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[c.wday % 7], c.day,
             mons[(c.month - 1) % 12], c.year, c.hour, c.min, c.sec);
}

/* ---- quoted-printable ---- */

static const char HEX[] = "0123456789ABCDEF";

/* The encoding of the byte at s (n bytes left) when it lands at column col: into tok, its
 * length returned. */
static size_t qp_token(const char *s, size_t n, size_t col, bool eol, char tok[3])
{
    unsigned char c = (unsigned char)s[0];
    bool lit = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol);
    /* a line that starts with "." or "From " is changed by some relays: encode it */
    if (col == 0 && (c == '.' || (c == 'F' && n >= 5 && memcmp(s, "From ", 5) == 0)))
        lit = false;
    if (lit) {
        tok[0] = (char)c;
        return 1;
    }
    tok[0] = '=';
    tok[1] = HEX[c >> 4];
    tok[2] = HEX[c & 15];
    return 3;
}

char *mime_qp_encode(const char *s, size_t n)
{
    struct bk_buf b;
    bk_buf_init(&b, MIME_MAX);
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n')) {
            if (c == '\r')
                i++;
            apps(&b, "\r\n");
            col = 0;
            continue;
        }
        bool eol =
            i + 1 == n || s[i + 1] == '\n' || (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');
        char tok[3];
        size_t k = qp_token(s + i, n - i, col, eol, tok);
        /* 76 with the soft break's "="; the last token of a line may use all 76 */
        if (col + k > (eol ? 76 : 75)) {
            apps(&b, "=\r\n");
            col = 0;
            k = qp_token(s + i, n - i, col, eol, tok);
        }
        app(&b, tok, k);
        col += k;
    }
    if (col > 0)
        apps(&b, "\r\n");
    if (!b.data)
        return xstrdup("");
    return bk_buf_steal(&b);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *mime_qp_decode(const char *s)
{
    struct bk_buf b;
    bk_buf_init(&b, MIME_MAX);
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '=' && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && s[i + 1] && s[i + 2] && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            char c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            app(&b, &c, 1);
            i += 2;
        } else if (s[i] == '\r' && s[i + 1] == '\n') {
            apps(&b, "\n");
            i++;
        } else {
            app(&b, s + i, 1);
        }
    }
    if (!b.data)
        return xstrdup("");
    return bk_buf_steal(&b);
}

/* ---- header fields ---- */

static bool needs_encoding(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 32 || *p >= 127)
            return true;
    return strstr(v, "=?") != NULL; /* would read as an encoded-word */
}

/* The length of the longest prefix of s (at most max bytes) that ends on a UTF-8 boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n > 0 ? n : max; /* not UTF-8 after all: cut anywhere */
}

char *mime_header(const char *name, const char *value)
{
    char *v = xstrdup(value ? value : "");
    for (char *p = v; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    struct bk_buf b;
    bk_buf_init(&b, MIME_MAX);
    apps(&b, name);
    apps(&b, ":");
    size_t col = strlen(name) + 1;
    size_t len = strlen(v);
    bool enc = needs_encoding(v);
    if (!enc) {
        /* fold at spaces; a word too long for any line falls back to encoded-words */
        const char *p = v;
        struct bk_buf t;
        bk_buf_init(&t, MIME_MAX);
        bool first = true;
        while (*p && !enc) {
            size_t sp = strspn(p, " \t");
            p += sp;
            if (!*p)
                break;
            size_t w = strcspn(p, " \t");
            /* the first word cannot move to a line of its own */
            if (w + 1 > 77 || (first && col + 1 + w > 78)) {
                enc = true;
                break;
            }
            if (!first && col + 1 + w > 78) {
                apps(&t, "\r\n");
                col = 0;
            }
            apps(&t, " ");
            app(&t, p, w);
            col += 1 + w;
            first = false;
            p += w;
        }
        if (!enc && t.data)
            app(&b, t.data, t.len);
        bk_buf_free(&t);
    }
    if (enc) {
        /* 36 bytes -> 48 base64 characters -> a 60-character encoded-word: fits after any
         * header name up to 17 characters, and on a continuation line */
        size_t off = 0;
        bool first = true;
        while (off < len || first) {
            size_t take = utf8_cut(v + off, len - off, 36);
            char *b64 = str_base64(v + off, take);
            if (!first)
                apps(&b, "\r\n");
            apps(&b, " =?UTF-8?B?");
            apps(&b, b64);
            apps(&b, "?=");
            free(b64);
            off += take;
            first = false;
        }
    }
    apps(&b, "\r\n");
    free(v);
    return bk_buf_steal(&b);
}

/* ---- HTML ---- */

static void esc_into(struct bk_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            apps(b, "&amp;");
            break;
        case '<':
            apps(b, "&lt;");
            break;
        case '>':
            apps(b, "&gt;");
            break;
        case '"':
            apps(b, "&quot;");
            break;
        case '\'':
            apps(b, "&#39;");
            break;
        default:
            app(b, s, 1);
        }
    }
}

char *mime_html_escape(const char *s)
{
    struct bk_buf b;
    bk_buf_init(&b, MIME_MAX);
    esc_into(&b, s);
    if (!b.data)
        return xstrdup("");
    return bk_buf_steal(&b);
}

const char *mime_status_color(const char *status)
{
    if (!status)
        return "#555555";
    if (strstr(status, "failed") || strstr(status, "down"))
        return "#c62828";
    if (strstr(status, "missed") || strstr(status, "stale") || strstr(status, "offline"))
        return "#7f0000";
    if (strstr(status, "warning"))
        return "#b26a00";
    if (strstr(status, "recovered") || strstr(status, "success"))
        return "#2e7d32";
    return "#555555";
}

static bool http_url(const char *u)
{
    return u && (str_starts_with(u, "https://") || str_starts_with(u, "http://")) &&
           !strpbrk(u, " \t\r\n");
}

char *mime_html_from_msg(const struct bk_alert_msg *m)
{
    const char *status = m->status ? m->status : m->event;
    const char *color = mime_status_color(status);
    struct bk_buf b;
    bk_buf_init(&b, MIME_MAX);
    apps(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    esc_into(&b, m->title);
    apps(&b, "</title></head>\n<body style=\"margin:0;padding:24px;background:#f4f5f7;"
             "font-family:Helvetica,Arial,sans-serif;color:#1f2328\">\n");
    bk_buf_printf(&b,
                  "<div style=\"max-width:640px;margin:0 auto;background:#ffffff;"
                  "border-top:4px solid %s;border-radius:6px;padding:20px 24px\">\n",
                  color);
    apps(&b, "<h1 style=\"font-size:18px;margin:0 0 12px\">");
    esc_into(&b, m->title);
    apps(&b, "</h1>\n");
    if (status) {
        bk_buf_printf(&b,
                      "<p style=\"margin:0 0 16px\"><span style=\"display:inline-block;"
                      "padding:2px 10px;border-radius:3px;background:%s;color:#ffffff;"
                      "font-weight:bold\">",
                      color);
        esc_into(&b, status);
        apps(&b, "</span></p>\n");
    }
    const char *lab[] = {"Customer", "Source", "Job"};
    const char *val[] = {m->customer, m->source, m->job};
    bool any = m->customer || m->source || m->job;
    if (any)
        apps(&b, "<table style=\"border-collapse:collapse;margin:0 0 16px;font-size:14px\">\n");
    for (size_t i = 0; i < 3; i++) {
        if (!val[i])
            continue;
        bk_buf_printf(&b, "<tr><td style=\"padding:2px 16px 2px 0;color:#666666\">%s</td><td>",
                      lab[i]);
        esc_into(&b, val[i]);
        apps(&b, "</td></tr>\n");
    }
    if (any)
        apps(&b, "</table>\n");
    if (m->text) {
        apps(&b, "<pre style=\"white-space:pre-wrap;word-wrap:break-word;font-family:inherit;"
                 "font-size:14px;margin:0 0 16px\">");
        esc_into(&b, m->text);
        apps(&b, "</pre>\n");
    }
    if (http_url(m->url)) {
        apps(&b, "<p style=\"margin:0 0 16px\"><a href=\"");
        esc_into(&b, m->url);
        apps(&b, "\" style=\"display:inline-block;padding:8px 16px;background:#0b57d0;"
                 "color:#ffffff;text-decoration:none;border-radius:4px\">Open the job</a></p>\n");
    }
    apps(&b, "<p style=\"margin:16px 0 0;font-size:12px;color:#888888\">Sent by backupctl</p>\n"
             "</div>\n</body></html>\n");
    return bk_buf_steal(&b);
}

/* ---- the message ---- */

static void random_boundary(char *out, size_t outsz)
{
    unsigned char r[16] = {0};
    if (bk_plat_random(r, sizeof r) < 0) {
        int64_t t = bk_plat_monotonic_ms() ^ bk_plat_realtime_ms() ^ bk_plat_pid();
        memcpy(r, &t, sizeof t);
    }
    /* "=_" never occurs in quoted-printable text ("=" is always followed by hex or CRLF) */
    size_t o = (size_t)snprintf(out, outsz, "=_bk_");
    for (size_t i = 0; i < sizeof r && o + 2 < outsz; i++) {
        out[o++] = HEX[r[i] >> 4];
        out[o++] = HEX[r[i] & 15];
    }
    out[o] = 0;
}

static void part(struct bk_buf *b, const char *boundary, const char *type, const char *body)
{
    bk_buf_printf(b,
                  "\r\n--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                  boundary, type);
    apps(b, body);
}

static void add_header(struct bk_buf *b, const char *name, const char *value)
{
    char *h = mime_header(name, value);
    apps(b, h);
    free(h);
}

char *mime_build_message(const struct mime_env *env, const struct bk_alert_msg *m)
{
    const char *host = env->host && *env->host ? env->host : "localhost";
    const char *inc = m->incident_id ? m->incident_id : m->id ? m->id : "backupctl";
    /* the text part, with the link when the text does not carry it */
    char *text;
    const char *t = m->text ? m->text : m->title ? m->title : "";
    if (http_url(m->url) && !strstr(t, m->url))
        text = xasprintf("%s%s\nOpen the job: %s\n", t, *t && t[strlen(t) - 1] != '\n' ? "\n" : "",
                         m->url);
    else
        text = xstrdup(t);
    char *html = m->html ? xstrdup(m->html) : mime_html_from_msg(m);
    char *qt = mime_qp_encode(text, strlen(text));
    char *qh = mime_qp_encode(html, strlen(html));
    char boundary[64];
    do
        random_boundary(boundary, sizeof boundary);
    while (strstr(qt, boundary) || strstr(qh, boundary));

    struct bk_buf b;
    bk_buf_init(&b, MIME_MAX);
    char date[64];
    mime_date(env->date_ms, date, sizeof date);
    bk_buf_printf(&b, "Date: %s\r\n", date);
    bk_buf_printf(&b, "From: backupctl <%s>\r\n", env->from);
    /* To: one address per folded line after the first */
    apps(&b, "To:");
    size_t col = 3;
    for (size_t i = 0; i < env->nto; i++) {
        size_t w = strlen(env->to[i]) + (i + 1 < env->nto ? 1 : 0);
        if (i > 0 && col + 1 + w > 78) {
            apps(&b, "\r\n");
            col = 0;
        }
        bk_buf_printf(&b, " %s%s", env->to[i], i + 1 < env->nto ? "," : "");
        col += 1 + w;
    }
    apps(&b, "\r\n");
    add_header(&b, "Subject", m->title ? m->title : "backupctl alert");
    bk_buf_printf(&b, "Message-ID: <%s.%d@%s>\r\n", inc, m->seq, host);
    if (m->seq > 0) {
        bk_buf_printf(&b, "In-Reply-To: <%s.0@%s>\r\n", inc, host);
        bk_buf_printf(&b, "References: <%s.0@%s>\r\n", inc, host);
    }
    apps(&b, "MIME-Version: 1.0\r\n");
    bk_buf_printf(&b, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n", boundary);
    apps(&b, "Auto-Submitted: auto-generated\r\n");
    if (m->event && !strpbrk(m->event, "\r\n") && strlen(m->event) < 40)
        bk_buf_printf(&b, "X-Backupctl-Event: %s\r\n", m->event);
    apps(&b, "\r\nThis is a MIME message: a text and an HTML version.\r\n");
    part(&b, boundary, "text/plain", qt);
    part(&b, boundary, "text/html", qh);
    bk_buf_printf(&b, "\r\n--%s--\r\n", boundary);
    free(text);
    free(html);
    free(qt);
    free(qh);
    return bk_buf_steal(&b);
}

/* Error context helpers. Messages are single lines: newlines are replaced by spaces so a
 * vendor's multi-line error text cannot break a log or a Nagios output line. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void flatten(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

int bk_err_set(struct bk_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        flatten(err->msg);
    }
    return -code;
}

void bk_err_prefix(struct bk_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[256];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t pl = strlen(pre);
    if (pl > sizeof err->msg - 1)
        pl = sizeof err->msg - 1;
    memcpy(err->msg, pre, pl);
    size_t ol = strnlen(old, sizeof old);
    if (ol > sizeof err->msg - 1 - pl)
        ol = sizeof err->msg - 1 - pl;
    memcpy(err->msg + pl, old, ol);
    err->msg[pl + ol] = '\0';
    flatten(err->msg);
}

void bk_err_clear(struct bk_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

const char *bk_status_name(int code)
{
    static const char *const names[] = {
        [BK_OK] = "ok",
        [BK_EINVAL] = "invalid",
        [BK_ECONFIG] = "config",
        [BK_EIO] = "io",
        [BK_ECONNECT] = "connect",
        [BK_EDNS] = "dns",
        [BK_ETLS] = "tls",
        [BK_ETIMEOUT] = "timeout",
        [BK_EHTTP] = "http",
        [BK_EAUTH] = "auth",
        [BK_EPROTO] = "protocol",
        [BK_ENOTFOUND] = "not_found",
        [BK_ETOOBIG] = "too_big",
        [BK_EINTR] = "interrupted",
        [BK_EAMBIGUOUS] = "ambiguous",
        [BK_EPERM] = "permission",
        [BK_ESESSION] = "session",
        [BK_EPARTIAL] = "partial",
    };
    if (code < 0)
        code = -code;
    if ((size_t)code >= sizeof names / sizeof names[0] || !names[code])
        return "error";
    return names[code];
}

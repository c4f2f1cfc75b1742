/* Number, duration and boolean parsing with full-string and range checks. */
#include "util/str.h"

#include "util/err.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int str_to_i64(const char *s, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -BK_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -BK_EINVAL;
    *out = v;
    return 0;
}

int str_to_double(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -BK_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -BK_EINVAL;
    /* strtod accepts hex and "inf"/"nan"; only plain decimals are durations/intervals. */
    for (const char *p = s; p < end; p++)
        if (!isdigit((unsigned char)*p) && *p != '.' && *p != '-' && *p != '+')
            return -BK_EINVAL;
    *out = v;
    return 0;
}

int str_parse_duration(const char *s, double *seconds)
{
    if (!s)
        return -BK_EINVAL;
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return -BK_EINVAL;
    char num[40];
    memcpy(num, s, n + 1);
    double mult = 1;
    switch (num[n - 1]) {
    case 's':
        mult = 1;
        break;
    case 'm':
        mult = 60;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    default:
        mult = 0;
        break;
    }
    if (mult != 0)
        num[n - 1] = '\0';
    else
        mult = 1;
    double v;
    if (str_to_double(num, &v) < 0 || v < 0)
        return -BK_EINVAL;
    v *= mult;
    if (v > 10.0 * 365 * 86400)
        return -BK_EINVAL;
    *seconds = v;
    return 0;
}

int str_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "true", "1", "on", "y"};
    static const char *const no[] = {"no", "false", "0", "off", "n", ""};
    if (!s)
        return -BK_EINVAL;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (str_eq_ci(s, yes[i])) {
            *out = true;
            return 0;
        }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (str_eq_ci(s, no[i])) {
            *out = false;
            return 0;
        }
    return -BK_EINVAL;
}

bool str_eq_ci(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

bool str_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

char *str_base64(const void *data, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

size_t str_escape_ctl(const char *in, char *out, size_t outsz, const char *also, bool keep_tab)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (!outsz)
        return 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        unsigned c = *p;
        bool c1 = c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
        bool esc = (c < 0x20 && !(keep_tab && c == '\t')) || c == 0x7f || c1 ||
                   (also && strchr(also, (int)c));
        if (!esc) {
            if (o + 1 >= outsz)
                break;
            out[o++] = (char)c;
            continue;
        }
        if (c1)
            c = *++p; /* the C1 code point U+0080..U+009F is the second byte */
        if (o + 4 >= outsz)
            break;
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
    }
    out[o] = '\0';
    return o;
}

bool str_url_has_userinfo(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return false;
    p += 3;
    size_t auth = strcspn(p, "/?#");
    const char *at = memchr(p, '@', auth);
    return at != NULL;
}

/* Time helpers. */
#include "util/timeutil.h"

#include "platform/platform.h"
#include "util/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t bk_now_ms(void)
{
    return bk_plat_realtime_ms();
}

int64_t bk_mono_ms(void)
{
    return bk_plat_monotonic_ms();
}

int64_t bk_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void bk_iso8601(int64_t epoch_ms, char *out, size_t outsz)
{
    time_t t = (time_t)(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, outsz, "invalid");
        return;
    }
    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

int bk_parse_iso8601(const char *s, int64_t *epoch_ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    const char *p = s;
    if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return -BK_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -BK_EINVAL;
    int64_t offset_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return -BK_EINVAL;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return -BK_EINVAL;
        }
        if (*p == '.' || *p == ',') {
            p++;
            int scale = 100, n = 0;
            while (isdigit((unsigned char)*p)) {
                if (n++ < 3) {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                }
                p++;
            }
            if (n == 0)
                return -BK_EINVAL;
        }
        if (h > 23 || mi > 59 || sec > 60)
            return -BK_EINVAL;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (digits(&p, 2, &oh))
                return -BK_EINVAL;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p) && digits(&p, 2, &om))
                return -BK_EINVAL;
            offset_s = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p)
        return -BK_EINVAL;
    int64_t days = bk_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *epoch_ms = secs * 1000 + ms;
    return 0;
}

int bk_sleep_ms(int64_t ms, volatile sig_atomic_t *stop)
{
    int64_t end = bk_mono_ms() + ms;
    for (;;) {
        if (stop && *stop)
            return -BK_EINTR;
        int64_t left = end - bk_mono_ms();
        if (left <= 0)
            return 0;
        if (left > 50)
            left = 50;
        bk_plat_sleep_ms(left);
    }
}

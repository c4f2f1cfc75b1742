/* Time zones without the process-wide TZ: a small reader of the system's TZif files
 * (RFC 8536, /usr/share/zoneinfo from the tzdata package) and of POSIX TZ rules (the TZif
 * footer, or a TZ variable like "CET-1CEST,M3.5.0,M10.5.0/3").
 *
 * Why not localtime_r/mktime: they read the zone from the process environment, so converting
 * in "the customer's zone" means setenv("TZ") + tzset(), which races with every other thread
 * (the daemon's workers and web threads all format times). A struct bk_tz is immutable once
 * loaded, so any number of threads may share one; every conversion here is a pure function.
 *
 * Load a zone once (bk_tz_load: the only function doing I/O) and keep it for as long as the
 * configuration lives; lookups are a binary search over the zone's transitions, or the POSIX
 * rule beyond the last one. Leap seconds ("right/" zones) are ignored, as POSIX time does. */
#ifndef BK_CORE_TZFILE_H
#define BK_CORE_TZFILE_H

#include <stddef.h>
#include <stdint.h>

struct bk_err;
struct bk_tz;

/* A local calendar reading of an instant. */
struct bk_civil {
    int year, month, day; /* month 1-12, day 1-31 */
    int hour, min, sec;
    int wday;      /* 0 = Sunday */
    int64_t days;  /* local days since 1970-01-01 */
    int32_t utoff; /* seconds east of UTC in force */
    int32_t sec_of_day;
};

/* Loads an IANA zone ("Europe/Paris") from $TZDIR or /usr/share/zoneinfo. name NULL or ""
 * means the server's zone: $TZ (a zone name, ":name" or a POSIX rule), else /etc/localtime,
 * else UTC. Names with "..", a leading '/' or other characters than [A-Za-z0-9_+-/] are
 * refused. The caller frees *out with bk_tz_free(). 0 or -BK_EINVAL / -BK_ENOTFOUND. */
int bk_tz_load(const char *name, struct bk_tz **out, struct bk_err *err);
/* Parses TZif data (pure; what bk_tz_load does after reading the file). */
int bk_tz_parse_tzif(const char *name, const uint8_t *data, size_t n, struct bk_tz **out,
                     struct bk_err *err);
/* Parses a POSIX TZ rule ("UTC0", "EST5EDT,M3.2.0,M11.1.0", "<+0530>-5:30"). */
int bk_tz_parse_posix(const char *rule, struct bk_tz **out, struct bk_err *err);
/* The UTC zone (static, never freed: bk_tz_free ignores it). */
const struct bk_tz *bk_tz_utc(void);
/* NULL-safe. */
void bk_tz_free(struct bk_tz *tz);
/* The name it was loaded under ("Europe/Paris", "UTC", the rule text). Borrowed. */
const char *bk_tz_name(const struct bk_tz *tz);

/* Seconds east of UTC in force at the instant utc_s (Unix seconds). tz NULL = UTC. */
int32_t bk_tz_offset(const struct bk_tz *tz, int64_t utc_s);
/* The local calendar reading of utc_s. */
void bk_tz_civil(const struct bk_tz *tz, int64_t utc_s, struct bk_civil *out);
/* The instant a local wall-clock time (local_s = local days * 86400 + second of day) happens.
 * A time skipped by a spring-forward gap is moved forward by the gap (02:30 → 03:30 in
 * Paris, as mktime does); a time repeated by an autumn fall-back is its first occurrence. */
int64_t bk_tz_local_to_utc(const struct bk_tz *tz, int64_t local_s);

/* Civil date of a day count (inverse of bk_days_from_civil; Howard Hinnant's algorithm). */
void bk_civil_from_days(int64_t days, int *year, int *month, int *day);

#endif

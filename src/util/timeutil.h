/* Time: wall-clock UTC epoch milliseconds for facts we store or print, CLOCK_MONOTONIC for
 * intervals and deadlines, and ISO 8601 UTC conversion without the non-reentrant libc calls. */
#ifndef BK_UTIL_TIMEUTIL_H
#define BK_UTIL_TIMEUTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

int64_t bk_now_ms(void);
int64_t bk_mono_ms(void);
/* Writes "2026-01-15T10:30:45Z" (whole seconds) into out (>= 21 bytes). */
void bk_iso8601(int64_t epoch_ms, char *out, size_t outsz);
/* Parses ISO 8601 date-times ("2026-01-15T10:30:45Z", ".123", "+02:00", "2026-01-15 10:30:45",
 * no zone = UTC). 0 or -BK_EINVAL. */
int bk_parse_iso8601(const char *s, int64_t *epoch_ms);
/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
int64_t bk_days_from_civil(int64_t y, unsigned m, unsigned d);
/* Sleeps ms milliseconds, returning early (-BK_EINTR) once *stop becomes non-zero
 * (stop may be NULL). Checks the flag at least every 50 ms. */
int bk_sleep_ms(int64_t ms, volatile sig_atomic_t *stop);

#endif

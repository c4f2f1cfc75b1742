/* Checked string → number conversions (the banned atoi's replacements) and small parsers
 * shared by the CLI and the config: durations and yes/no values. */
#ifndef BK_UTIL_STR_H
#define BK_UTIL_STR_H

#include <stdbool.h>
#include <stdint.h>

/* Whole string must be a base-10 integer within range. 0 or -BK_EINVAL. */
int str_to_i64(const char *s, int64_t *out);
/* Whole string must be a finite decimal number. 0 or -BK_EINVAL. */
int str_to_double(const char *s, double *out);
/* "90", "0.5", "90s", "15m", "2h", "1d" → seconds (>= 0, finite, <= 10 years). 0 or -BK_EINVAL. */
int str_parse_duration(const char *s, double *seconds);
/* yes/no/true/false/1/0/on/off in any case; "" → false. 0 or -BK_EINVAL. */
int str_parse_bool(const char *s, bool *out);
bool str_eq_ci(const char *a, const char *b);
bool str_starts_with(const char *s, const char *prefix);

#include <stddef.h>
/* Copy in to out (size outsz, always NUL-terminated, truncated to fit) with every control byte
 * (C0, DEL, and the C1 range encoded in UTF-8 as C2 80..C2 9F) and every byte of `also`
 * written as \xHH, so vendor-supplied names cannot move a terminal's cursor, forge a line or
 * break a line-oriented format. A tab is kept when keep_tab. Returns the bytes written. */
size_t str_escape_ctl(const char *in, char *out, size_t outsz, const char *also, bool keep_tab);
/* True when an http(s) URL carries user-info ("http://user:pw@host/"). */
bool str_url_has_userinfo(const char *url);
/* Standard base64 (RFC 4648, padded) of n bytes; caller frees. */
char *str_base64(const void *data, size_t n);
#endif

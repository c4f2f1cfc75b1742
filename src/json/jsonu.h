/* Typed, forgiving getters over jansson for vendor replies: vendors send numbers as strings,
 * times as epoch ms or ISO text, and null where a field is absent. Every getter returns a
 * "not there" value rather than failing, so parsers decide what is required. */
#ifndef BK_JSON_JSONU_H
#define BK_JSON_JSONU_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;

/* Parse a whole document (max depth/size are the caller's buffer's bound). Caller frees
 * with json_decref(). NULL + err filled (BK_EPROTO, with line:column) on bad JSON. */
json_t *jsonu_parse(const char *buf, size_t len, struct bk_err *err);
/* Borrowed string value of obj[key], or NULL when absent/null/not a string. */
const char *jsonu_str(const json_t *obj, const char *key);
/* obj[key] as a double: number or numeric string. false when absent or not numeric. */
bool jsonu_num(const json_t *obj, const char *key, double *out);
/* obj[key] as int64: integer, integral real, or integer string. */
bool jsonu_i64(const json_t *obj, const char *key, int64_t *out);
/* obj[key] as a time: epoch ms (number or digit string; values < 1e11 taken as seconds) or
 * ISO 8601 text. false when absent or unparseable. */
bool jsonu_time_ms(const json_t *obj, const char *key, int64_t *out);
/* obj[key] as bool: true/false, or strings "true"/"false"/"1"/"0". */
bool jsonu_bool(const json_t *obj, const char *key, bool *out);
/* Serialise compactly; caller frees with free(). */
char *jsonu_dump(const json_t *v);

#endif

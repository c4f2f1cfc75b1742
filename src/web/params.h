/* Query strings and JSON request bodies of the HTTP API, parsed without MHD so they can be
 * fuzzed and unit-tested alone. Every failure fills a one-line message that names the
 * parameter ("limit: must be an integer from 1 to 1000") and never echoes the value. */
#ifndef BK_WEB_PARAMS_H
#define BK_WEB_PARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARAMS_MAX 32         /* distinct query parameters per request */
#define PARAMS_MAX_QUERY 8192 /* bytes of raw query string */
#define PARAMS_MAX_VALUE 1024 /* bytes of one decoded value */
#define PARAMS_LIMIT_DEFAULT 50
#define PARAMS_LIMIT_MAX 1000
#define PARAMS_JSON_DEPTH 16 /* nesting of a request body */

struct web_params {
    size_t n;
    char *key[PARAMS_MAX]; /* owned, decoded, NUL-free, valid UTF-8 */
    char *val[PARAMS_MAX];
};

/* Parse the raw query string qs (without '?', len bytes, may be NULL/empty): percent- and
 * '+'-decoding, UTF-8 check, a repeated key is an error. p is filled (free with
 * params_free, also on error). 0, or -BK_EINVAL with msg filled. */
int params_parse_query(const char *qs, size_t len, struct web_params *p, char *msg, size_t msgsz);
/* Frees the keys and values; p can be reused. NULL-safe. */
void params_free(struct web_params *p);
/* Borrowed value of key, or NULL when absent. */
const char *params_get(const struct web_params *p, const char *key);
/* -BK_EINVAL when a parameter is not in the NULL-terminated list allowed. */
int params_check_allowed(const struct web_params *p, const char *const *allowed, char *msg,
                         size_t msgsz);

/* limit (default 50, 1..1000) and offset (default 0, >= 0). */
int params_paging(const struct web_params *p, int64_t *limit, int64_t *offset, char *msg,
                  size_t msgsz);
/* Integer in [min, max]; *present false (and *out untouched) when absent. */
int params_int(const struct web_params *p, const char *key, int64_t min, int64_t max, int64_t *out,
               bool *present, char *msg, size_t msgsz);
/* true/false/1/0/yes/no (any case). */
int params_bool(const struct web_params *p, const char *key, bool *out, bool *present, char *msg,
                size_t msgsz);
/* A time: epoch milliseconds (digits) or ISO 8601 ("2026-01-15", "2026-01-15T10:30:45Z",
 * offsets allowed). */
int params_time(const struct web_params *p, const char *key, int64_t *ms, bool *present, char *msg,
                size_t msgsz);
/* One of the NULL-terminated values (exact match); *out borrowed from values. */
int params_enum(const struct web_params *p, const char *key, const char *const *values,
                const char **out, char *msg, size_t msgsz);
/* Non-empty text of at most maxlen bytes; an empty value counts as absent (*out NULL). */
int params_text(const struct web_params *p, const char *key, size_t maxlen, const char **out,
                char *msg, size_t msgsz);

/* Parse a request body that must be one JSON object, at most max_depth levels deep, with no
 * duplicate keys. *out: caller json_decref()s. 0, or -BK_EINVAL with msg ("body: invalid JSON
 * at line 1, column 5: …"). */
int params_json_body(const char *body, size_t len, size_t max_depth, json_t **out, char *msg,
                     size_t msgsz);
/* Nesting depth of a JSON text (brackets outside strings); pure helper, exposed for tests. */
size_t params_json_depth(const char *s, size_t len);
/* Whether s[0..len) is valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
bool params_utf8_valid(const char *s, size_t len);

/* Typed getters over a body object; absent or null → *present false. Wrong types are errors
 * naming the field. */
int params_json_int(const json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
                    bool *present, char *msg, size_t msgsz);
int params_json_text(const json_t *o, const char *key, size_t maxlen, const char **out, char *msg,
                     size_t msgsz);
int params_json_time(const json_t *o, const char *key, int64_t *ms, bool *present, char *msg,
                     size_t msgsz);
/* An array of 1..max positive integer ids; *ids caller frees. */
int params_json_ids(const json_t *o, const char *key, size_t max, int64_t **ids, size_t *n,
                    char *msg, size_t msgsz);
/* -BK_EINVAL when the object has a key not in the NULL-terminated list. */
int params_json_check_allowed(const json_t *o, const char *const *allowed, char *msg, size_t msgsz);

#endif

/* Query-string and JSON-body parsing for the HTTP API (see params.h). Pure: no I/O, no MHD,
 * so the fuzz target exercises exactly what the server runs. */
#include "web/params.h"

#include "util/err.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t msgsz, const char *fmt, ...)
{
    if (msg && msgsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msgsz, fmt, ap);
        va_end(ap);
    }
    return -BK_EINVAL;
}

bool params_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t need;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode one key or value (s[0..n)) into a fresh string; NULL on bad escapes, NUL bytes,
 * invalid UTF-8 or an over-long result (*why says which). */
static char *decode(const char *s, size_t n, const char **why)
{
    if (n > PARAMS_MAX_VALUE * 3) {
        *why = "is too long";
        return NULL;
    }
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int h = i + 2 < n ? hexval(s[i + 1]) : -1, l = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                *why = "has a malformed percent-encoding";
                free(out);
                return NULL;
            }
            c = (char)(h * 16 + l);
            i += 2;
            if (c == '\0') {
                *why = "contains a NUL byte";
                free(out);
                return NULL;
            }
        }
        out[o++] = c;
    }
    out[o] = '\0';
    if (o > PARAMS_MAX_VALUE) {
        *why = "is too long";
        free(out);
        return NULL;
    }
    if (!params_utf8_valid(out, o)) {
        *why = "is not valid UTF-8";
        free(out);
        return NULL;
    }
    return out;
}

int params_parse_query(const char *qs, size_t len, struct web_params *p, char *msg, size_t msgsz)
{
    memset(p, 0, sizeof *p);
    if (!qs || len == 0)
        return 0;
    if (len > PARAMS_MAX_QUERY)
        return fail(msg, msgsz, "query string is too long (at most %d bytes)", PARAMS_MAX_QUERY);
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && qs[j] != '&' && qs[j] != ';')
            j++;
        if (j > i) { /* empty pieces ("a=1&&b=2", trailing '&') are skipped */
            size_t eq = i;
            while (eq < j && qs[eq] != '=')
                eq++;
            const char *why = NULL;
            char *k = decode(qs + i, eq - i, &why);
            if (!k)
                return fail(msg, msgsz, "query parameter name %s", why);
            if (!*k) {
                free(k);
                return fail(msg, msgsz, "query parameter with an empty name");
            }
            char *v = eq < j ? decode(qs + eq + 1, j - eq - 1, &why) : xstrdup("");
            if (!v) {
                int rc = fail(msg, msgsz, "%.64s: value %s", k, why);
                free(k);
                return rc;
            }
            if (params_get(p, k)) {
                int rc = fail(msg, msgsz, "%.64s: parameter given more than once", k);
                free(k);
                free(v);
                return rc;
            }
            if (p->n == PARAMS_MAX) {
                free(k);
                free(v);
                return fail(msg, msgsz, "too many query parameters (at most %d)", PARAMS_MAX);
            }
            p->key[p->n] = k;
            p->val[p->n] = v;
            p->n++;
        }
        i = j + 1;
    }
    return 0;
}

void params_free(struct web_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->key[i]);
        free(p->val[i]);
    }
    p->n = 0;
}

const char *params_get(const struct web_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->key[i], key) == 0)
            return p->val[i];
    return NULL;
}

int params_check_allowed(const struct web_params *p, const char *const *allowed, char *msg,
                         size_t msgsz)
{
    for (size_t i = 0; i < p->n; i++) {
        bool ok = false;
        for (size_t k = 0; allowed && allowed[k]; k++)
            if (strcmp(p->key[i], allowed[k]) == 0)
                ok = true;
        if (!ok)
            return fail(msg, msgsz, "%.64s: unknown query parameter", p->key[i]);
    }
    return 0;
}

/* Strict base-10 integer: optional '-', digits only, no spaces or '+', within int64. */
static bool strict_i64(const char *s, int64_t *out)
{
    const char *d = *s == '-' ? s + 1 : s;
    if (!*d)
        return false;
    for (const char *c = d; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return str_to_i64(s, out) == 0;
}

int params_int(const struct web_params *p, const char *key, int64_t min, int64_t max, int64_t *out,
               bool *present, char *msg, size_t msgsz)
{
    *present = false;
    const char *v = params_get(p, key);
    if (!v)
        return 0;
    int64_t x;
    if (!strict_i64(v, &x) || x < min || x > max) {
        if (max == INT64_MAX)
            return fail(msg, msgsz, "%s: must be an integer >= %lld", key, (long long)min);
        return fail(msg, msgsz, "%s: must be an integer from %lld to %lld", key, (long long)min,
                    (long long)max);
    }
    *out = x;
    *present = true;
    return 0;
}

int params_paging(const struct web_params *p, int64_t *limit, int64_t *offset, char *msg,
                  size_t msgsz)
{
    bool present;
    *limit = PARAMS_LIMIT_DEFAULT;
    *offset = 0;
    int rc = params_int(p, "limit", 1, PARAMS_LIMIT_MAX, limit, &present, msg, msgsz);
    if (rc < 0)
        return rc;
    /* Offsets past a billion rows are a mistake or an attack, not a page. */
    return params_int(p, "offset", 0, 1000000000, offset, &present, msg, msgsz);
}

int params_bool(const struct web_params *p, const char *key, bool *out, bool *present, char *msg,
                size_t msgsz)
{
    *present = false;
    const char *v = params_get(p, key);
    if (!v)
        return 0;
    static const char *const t[] = {"true", "1", "yes"}, *const f[] = {"false", "0", "no"};
    for (size_t i = 0; i < 3; i++) {
        if (str_eq_ci(v, t[i]) || str_eq_ci(v, f[i])) {
            *out = str_eq_ci(v, t[i]);
            *present = true;
            return 0;
        }
    }
    return fail(msg, msgsz, "%s: must be true or false", key);
}

static int parse_time(const char *v, int64_t *ms)
{
    bool digits = *v != '\0';
    for (const char *c = v; *c; c++)
        if (*c < '0' || *c > '9')
            digits = false;
    if (digits) {
        /* epoch ms up to year 9999 */
        return str_to_i64(v, ms) == 0 && *ms <= 253402300799999LL ? 0 : -BK_EINVAL;
    }
    if (strlen(v) > 40)
        return -BK_EINVAL;
    int64_t t;
    if (bk_parse_iso8601(v, &t) < 0)
        return -BK_EINVAL;
    /* Accept years 1970..9999 only: anything else is a typo. */
    if (t < 0 || t > 253402300799999LL)
        return -BK_EINVAL;
    *ms = t;
    return 0;
}

int params_time(const struct web_params *p, const char *key, int64_t *ms, bool *present, char *msg,
                size_t msgsz)
{
    *present = false;
    const char *v = params_get(p, key);
    if (!v)
        return 0;
    if (parse_time(v, ms) < 0)
        return fail(msg, msgsz,
                    "%s: must be an ISO 8601 time (2026-01-15T10:30:00Z) or epoch milliseconds",
                    key);
    *present = true;
    return 0;
}

int params_enum(const struct web_params *p, const char *key, const char *const *values,
                const char **out, char *msg, size_t msgsz)
{
    *out = NULL;
    const char *v = params_get(p, key);
    if (!v)
        return 0;
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; values[i]; i++) {
        if (strcmp(v, values[i]) == 0) {
            *out = values[i];
            return 0;
        }
        int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", values[i]);
        if (n > 0 && (size_t)n < sizeof list - used)
            used += (size_t)n;
    }
    return fail(msg, msgsz, "%s: must be one of %s", key, list);
}

int params_text(const struct web_params *p, const char *key, size_t maxlen, const char **out,
                char *msg, size_t msgsz)
{
    *out = NULL;
    const char *v = params_get(p, key);
    if (!v || !*v)
        return 0;
    if (strlen(v) > maxlen)
        return fail(msg, msgsz, "%s: at most %zu bytes", key, maxlen);
    *out = v;
    return 0;
}

/* ---- JSON bodies ---- */

size_t params_json_depth(const char *s, size_t len)
{
    size_t depth = 0, max = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return max;
}

int params_json_body(const char *body, size_t len, size_t max_depth, json_t **out, char *msg,
                     size_t msgsz)
{
    *out = NULL;
    if (!body || len == 0)
        return fail(msg, msgsz, "body: a JSON object is required");
    if (params_json_depth(body, len) > max_depth)
        return fail(msg, msgsz, "body: JSON nested deeper than %zu levels", max_depth);
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        /* jansson's text names the problem, never more than a few bytes of the input */
        char text[80];
        size_t tl = strnlen(je.text, sizeof text - 1);
        memcpy(text, je.text, tl);
        text[tl] = '\0';
        for (char *c = text; *c; c++)
            if ((unsigned char)*c < 0x20)
                *c = ' ';
        return fail(msg, msgsz, "body: invalid JSON at line %d, column %d: %s", je.line, je.column,
                    text);
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return fail(msg, msgsz, "body: must be a JSON object");
    }
    *out = v;
    return 0;
}

int params_json_int(const json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
                    bool *present, char *msg, size_t msgsz)
{
    *present = false;
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        if (max == INT64_MAX)
            return fail(msg, msgsz, "%s: must be an integer >= %lld", key, (long long)min);
        return fail(msg, msgsz, "%s: must be an integer from %lld to %lld", key, (long long)min,
                    (long long)max);
    }
    *out = json_integer_value(v);
    *present = true;
    return 0;
}

int params_json_text(const json_t *o, const char *key, size_t maxlen, const char **out, char *msg,
                     size_t msgsz)
{
    *out = NULL;
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(msg, msgsz, "%s: must be a string", key);
    if (json_string_length(v) > maxlen)
        return fail(msg, msgsz, "%s: at most %zu bytes", key, maxlen);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(msg, msgsz, "%s: contains a NUL character", key);
    *out = json_string_value(v);
    return 0;
}

int params_json_time(const json_t *o, const char *key, int64_t *ms, bool *present, char *msg,
                     size_t msgsz)
{
    *present = false;
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        json_integer_value(v) <= 253402300799999LL) {
        *ms = json_integer_value(v);
        *present = true;
        return 0;
    }
    if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
        parse_time(json_string_value(v), ms) == 0) {
        *present = true;
        return 0;
    }
    return fail(msg, msgsz, "%s: must be an ISO 8601 time or epoch milliseconds", key);
}

int params_json_ids(const json_t *o, const char *key, size_t max, int64_t **ids, size_t *n,
                    char *msg, size_t msgsz)
{
    *ids = NULL;
    *n = 0;
    const json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > max)
        return fail(msg, msgsz, "%s: must be an array of 1 to %zu ids", key, max);
    int64_t *v = xcalloc(json_array_size(a), sizeof *v);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *e = json_array_get(a, i);
        if (!json_is_integer(e) || json_integer_value(e) < 1) {
            free(v);
            return fail(msg, msgsz, "%s[%zu]: must be a positive integer id", key, i);
        }
        v[i] = json_integer_value(e);
    }
    *ids = v;
    *n = json_array_size(a);
    return 0;
}

int params_json_check_allowed(const json_t *o, const char *const *allowed, char *msg, size_t msgsz)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(k, allowed[i]) == 0)
                ok = true;
        if (!ok) {
            /* the key came from the client: print it only when it is plain */
            bool plain = strlen(k) <= 64;
            for (const char *c = k; plain && *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '_')
                    plain = false;
            return plain ? fail(msg, msgsz, "%s: unknown field", k)
                         : fail(msg, msgsz, "body: unknown field");
        }
    }
    return 0;
}

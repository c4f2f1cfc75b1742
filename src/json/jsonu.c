/* jansson helpers. */
#include "json/jsonu.h"

#include "util/err.h"
#include "util/str.h"
#include "util/timeutil.h"

#include <math.h>
#include <string.h>

json_t *jsonu_parse(const char *buf, size_t len, struct bk_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root) {
        bk_err_set(err, BK_EPROTO, "malformed JSON at line %d column %d: %s", je.line, je.column,
                   je.text);
        return NULL;
    }
    return root;
}

const char *jsonu_str(const json_t *obj, const char *key)
{
    if (!json_is_object(obj))
        return NULL;
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool jsonu_num(const json_t *obj, const char *key, double *out)
{
    if (!json_is_object(obj))
        return false;
    json_t *v = json_object_get(obj, key);
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!isfinite(d))
            return false;
        *out = d;
        return true;
    }
    if (json_is_string(v))
        return str_to_double(json_string_value(v), out) == 0;
    return false;
}

bool jsonu_i64(const json_t *obj, const char *key, int64_t *out)
{
    if (!json_is_object(obj))
        return false;
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e18)
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (json_is_string(v))
        return str_to_i64(json_string_value(v), out) == 0;
    return false;
}

bool jsonu_time_ms(const json_t *obj, const char *key, int64_t *out)
{
    int64_t v;
    if (jsonu_i64(obj, key, &v)) {
        if (v <= 0 || v > INT64_MAX / 1000)
            return false;
        *out = v < 100000000000LL ? v * 1000 : v;
        return true;
    }
    const char *s = jsonu_str(obj, key);
    return s && bk_parse_iso8601(s, out) == 0;
}

bool jsonu_bool(const json_t *obj, const char *key, bool *out)
{
    if (!json_is_object(obj))
        return false;
    json_t *v = json_object_get(obj, key);
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_string(v))
        return str_parse_bool(json_string_value(v), out) == 0 && *json_string_value(v);
    return false;
}

char *jsonu_dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* Fuzz target: the HTTP API's query-string and JSON-body parsers (web/params.c). A first byte
 * 'B' selects the JSON body parser, anything else the query parser; the rest is the input. Every
 * getter runs on whatever parsed. */
#include "web/params.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {"limit", "offset", "reviewed", "status", "job", "from",
                                   "to",    "q",      "ids",      "body",   NULL};
#define NKEYS (sizeof keys / sizeof keys[0] - 1)
static const char *const statuses[] = {"success", "failed", "warning", NULL};

static void query(const char *s, size_t n)
{
    struct web_params p;
    char msg[256];
    int64_t a, b;
    bool x, present;
    const char *v;
    if (params_parse_query(s, n, &p, msg, sizeof msg) == 0) {
        params_paging(&p, &a, &b, msg, sizeof msg);
        for (size_t i = 0; i < NKEYS; i++) {
            params_int(&p, keys[i], 1, INT64_MAX, &a, &present, msg, sizeof msg);
            params_bool(&p, keys[i], &x, &present, msg, sizeof msg);
            params_time(&p, keys[i], &a, &present, msg, sizeof msg);
            params_enum(&p, keys[i], statuses, &v, msg, sizeof msg);
            params_text(&p, keys[i], 16, &v, msg, sizeof msg);
        }
        params_check_allowed(&p, keys, msg, sizeof msg);
    }
    params_free(&p);
}

static void body(const char *s, size_t n)
{
    json_t *o = NULL;
    char msg[256];
    int64_t a, *ids;
    size_t nids;
    bool present;
    const char *v;
    params_json_depth(s, n);
    if (params_json_body(s, n, PARAMS_JSON_DEPTH, &o, msg, sizeof msg) != 0)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        params_json_int(o, keys[i], 1, INT64_MAX, &a, &present, msg, sizeof msg);
        params_json_text(o, keys[i], 64, &v, msg, sizeof msg);
        params_json_time(o, keys[i], &a, &present, msg, sizeof msg);
        if (params_json_ids(o, keys[i], 1000, &ids, &nids, msg, sizeof msg) == 0)
            free(ids);
    }
    static const char *const allowed[] = {"ids", "job", NULL};
    params_json_check_allowed(o, allowed, msg, sizeof msg);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* exact-size copy without a terminator: the parsers take (pointer, length) */
    char *s = malloc(size - 1 ? size - 1 : 1);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    if (data[0] == 'B')
        body(s, size - 1);
    else
        query(s, size - 1);
    params_utf8_valid(s, size - 1);
    free(s);
    return 0;
}

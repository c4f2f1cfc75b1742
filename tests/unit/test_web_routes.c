/* Unit tests of the route table: pattern matching ({id} numeric, {name} one segment, no
 * traversal), lookup with 405 detection, and the OpenAPI document agreeing exactly with the
 * table (every route documented, every documented path+method routed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "web/web_internal.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

static bool match(const char *pattern, const char *path, const char *want0, const char *want1)
{
    const char *cap[WEB_MAX_CAPS];
    size_t len[WEB_MAX_CAPS];
    if (!web_route_match(pattern, path, cap, len, WEB_MAX_CAPS))
        return false;
    if (want0)
        assert_true(strlen(want0) == len[0] && strncmp(cap[0], want0, len[0]) == 0);
    if (want1)
        assert_true(strlen(want1) == len[1] && strncmp(cap[1], want1, len[1]) == 0);
    return true;
}

static void test_match(void **state)
{
    assert_true(match("/healthz", "/healthz", NULL, NULL));
    assert_false(match("/healthz", "/healthz/", NULL, NULL));
    assert_false(match("/healthz", "/health", NULL, NULL));
    assert_false(match("/healthz", "", NULL, NULL));
    assert_true(match("/api/v1/jobs/{id}", "/api/v1/jobs/42", "42", NULL));
    assert_true(match("/api/v1/jobs/{id}", "/api/v1/jobs/999999999999999999", NULL, NULL));
    const char *bad_ids[] = {
        "/api/v1/jobs/",    "/api/v1/jobs/0",   "/api/v1/jobs/012",
        "/api/v1/jobs/-1",  "/api/v1/jobs/1a",  "/api/v1/jobs/4 2",
        "/api/v1/jobs/1/",  "/api/v1/jobs/1/x", "/api/v1/jobs/9999999999999999999",
        "/api/v1/jobs/%31", "/api/v1/jobs/1e3"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        assert_false(match("/api/v1/jobs/{id}", bad_ids[i], NULL, NULL));
    assert_true(
        match("/api/v1/sources/{name}/poll", "/api/v1/sources/hycu lab/poll", "hycu lab", NULL));
    assert_false(match("/api/v1/sources/{name}/poll", "/api/v1/sources//poll", NULL, NULL));
    assert_false(match("/api/v1/sources/{name}/poll", "/api/v1/sources/a/b/poll", NULL, NULL));
    assert_false(match("/api/v1/sources/{name}/poll", "/api/v1/sources/../poll", NULL, NULL));
    assert_false(match("/api/v1/sources/{name}/poll", "/api/v1/sources/./poll", NULL, NULL));
    assert_true(match("/api/v1/users/{name}", "/api/v1/users/..a", "..a", NULL));
    assert_true(match("/a/{name}/b/{id}", "/a/x/b/7", "x", "7"));
}

static void test_find(void **state)
{
    const char *cap[WEB_MAX_CAPS];
    size_t len[WEB_MAX_CAPS];
    bool known;
    const struct web_route *r = web_route_find("GET", "/api/v1/runs/12", cap, len, &known);
    assert_non_null(r);
    assert_ptr_equal(r->fn, api_run_get);
    r = web_route_find("POST", "/api/v1/runs/review", cap, len, &known);
    assert_non_null(r);
    assert_ptr_equal(r->fn, api_runs_review);
    r = web_route_find("POST", "/api/v1/runs/12/review", cap, len, &known);
    assert_ptr_equal(r->fn, api_run_review);
    assert_int_equal(r->min_role, BK_ROLE_OPERATOR);
    /* HEAD finds GET */
    r = web_route_find("HEAD", "/healthz", cap, len, &known);
    assert_ptr_equal(r->fn, api_healthz);
    /* a known path with another method: 405 */
    assert_null(web_route_find("PUT", "/api/v1/jobs", cap, len, &known));
    assert_true(known);
    assert_null(web_route_find("GET", "/api/v1/runs/review", cap, len, &known));
    assert_true(known);
    char allow[64];
    web_route_allow("/api/v1/overrides", allow, sizeof allow);
    assert_string_equal(allow, "GET, POST, DELETE");
    /* unknown paths: 404 */
    const char *unknown[] = {
        "/",           "/api/v1",           "/api/v1/",     "/api/v1/jobs/../users",
        "/etc/passwd", "/api/v1/jobs;drop", "/API/V1/JOBS", "/metrics/"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_null(web_route_find("GET", unknown[i], cap, len, &known));
        assert_false(known);
    }
}

static void test_table_sane(void **state)
{
    for (size_t i = 0; i < web_nroutes; i++) {
        const struct web_route *r = &web_routes[i];
        assert_non_null(r->fn);
        assert_true(strcmp(r->method, "GET") == 0 || strcmp(r->method, "POST") == 0 ||
                    strcmp(r->method, "PUT") == 0 || strcmp(r->method, "DELETE") == 0);
        /* reads need no body; public routes are only health, readiness, login and the push
         * check-ins (whose uuid is the credential) */
        if (strcmp(r->method, "GET") == 0)
            assert_false(r->flags & WR_BODY);
        if (r->flags & WR_PUBLIC)
            assert_true(
                strcmp(r->pattern, "/healthz") == 0 || strcmp(r->pattern, "/readyz") == 0 ||
                (strcmp(r->pattern, "/api/v1/session") == 0 && strcmp(r->method, "POST") == 0) ||
                (strncmp(r->pattern, "/ping/", 6) == 0 && r->fn == api_ping));
        /* admin-only areas */
        if (strncmp(r->pattern, "/api/v1/users", 13) == 0 ||
            strncmp(r->pattern, "/api/v1/audit", 13) == 0 ||
            strncmp(r->pattern, "/api/v1/sources/", 16) == 0)
            assert_int_equal(r->min_role, BK_ROLE_ADMIN);
        /* no duplicates */
        for (size_t k = 0; k < i; k++)
            assert_false(strcmp(web_routes[k].method, r->method) == 0 &&
                         strcmp(web_routes[k].pattern, r->pattern) == 0);
    }
}

static void lower(const char *in, char *out, size_t outsz)
{
    size_t i = 0;
    for (; in[i] && i + 1 < outsz; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void test_openapi_matches_routes(void **state)
{
    json_error_t je;
    json_t *doc = json_loads(web_openapi_json(), 0, &je);
    if (!doc)
        fail_msg("openapi.json does not parse: line %d: %s", je.line, je.text);
    assert_true(strncmp(json_string_value(json_object_get(doc, "openapi")), "3.0.", 4) == 0);
    json_t *paths = json_object_get(doc, "paths");
    assert_true(json_is_object(paths));
    int problems = 0;
    /* every route is documented */
    for (size_t i = 0; i < web_nroutes; i++) {
        char m[16];
        lower(web_routes[i].method, m, sizeof m);
        json_t *p = json_object_get(paths, web_routes[i].pattern);
        if (!p || !json_object_get(p, m)) {
            fprintf(stderr, "route %s %s is not in openapi.json\n", web_routes[i].method,
                    web_routes[i].pattern);
            problems++;
        }
    }
    /* every documented operation is routed */
    const char *path;
    json_t *ops;
    json_object_foreach(paths, path, ops)
    {
        const char *method;
        json_t *op;
        json_object_foreach(ops, method, op)
        {
            if (strcmp(method, "parameters") == 0 || strcmp(method, "summary") == 0)
                continue;
            bool found = false;
            for (size_t i = 0; i < web_nroutes; i++) {
                char m[16];
                lower(web_routes[i].method, m, sizeof m);
                if (strcmp(web_routes[i].pattern, path) == 0 && strcmp(m, method) == 0)
                    found = true;
            }
            if (!found) {
                fprintf(stderr, "openapi.json documents %s %s, which has no route\n", method, path);
                problems++;
            }
            /* path parameters are declared */
            if (strstr(path, "{id}") || strstr(path, "{name}"))
                assert_non_null(json_object_get(op, "parameters"));
        }
    }
    json_decref(doc);
    assert_int_equal(problems, 0);
}

/* Login throttling counts the attempt before the password hash: parallel wrong passwords for
 * one user get exactly the allowed number of tries. */
struct take_ctx {
    struct web_ratelimit *rl;
    pthread_barrier_t *go;
    bool ok;
};

static void *take_thread(void *arg)
{
    struct take_ctx *c = arg;
    int64_t retry = 0;
    pthread_barrier_wait(c->go);
    c->ok = ratelimit_take(c->rl, "user:victim", 1000, &retry);
    if (c->ok)
        nanosleep(&(struct timespec){0, 20000000}, NULL); /* the hash: the others arrive */
    return NULL;
}

static void test_login_throttle_counts_before_hashing(void **state)
{
    (void)state;
    struct web_ratelimit *rl = ratelimit_new(5, 60000, 16);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 10);
    pthread_t th[10];
    struct take_ctx c[10];
    for (int i = 0; i < 10; i++) {
        c[i] = (struct take_ctx){rl, &go, false};
        pthread_create(&th[i], NULL, take_thread, &c[i]);
    }
    int passed = 0;
    for (int i = 0; i < 10; i++) {
        pthread_join(th[i], NULL);
        passed += c[i].ok;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(passed, 5);
    int64_t retry = 0;
    assert_false(ratelimit_take(rl, "user:victim", 2000, &retry));
    assert_int_equal(retry, 59);
    /* a refund (a success, or our own failure) gives one attempt back */
    ratelimit_refund(rl, "user:victim");
    assert_true(ratelimit_take(rl, "user:victim", 2000, &retry));
    assert_false(ratelimit_take(rl, "user:victim", 2000, &retry));
    /* the window ends */
    assert_true(ratelimit_take(rl, "user:victim", 61000, &retry));
    /* other keys are not affected; refunding an unknown key is harmless */
    assert_true(ratelimit_take(rl, "user:other", 2000, &retry));
    ratelimit_refund(rl, "user:nobody");
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_table_sane),
        cmocka_unit_test(test_openapi_matches_routes),
        cmocka_unit_test(test_login_throttle_counts_before_hashing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

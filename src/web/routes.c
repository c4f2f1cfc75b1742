/* The route table of the HTTP API (one const row per method + path) and the pure matcher.
 * openapi.c documents exactly these rows; test_web_routes checks that both agree. */
#include "web/web_internal.h"

#include <stdio.h>
#include <string.h>

#define V BK_ROLE_VIEWER
#define O BK_ROLE_OPERATOR
#define A BK_ROLE_ADMIN

const struct web_route web_routes[] = {
    {"GET", "/healthz", api_healthz, V, WR_PUBLIC},
    {"GET", "/readyz", api_readyz, V, WR_PUBLIC},
    {"GET", "/metrics", api_metrics, V, WR_METRICS},
    /* push check-ins: the unguessable uuid is the credential (issue 14) */
    {"GET", "/ping/{name}", api_ping, V, WR_PUBLIC | WR_RAW},
    {"POST", "/ping/{name}", api_ping, V, WR_PUBLIC | WR_RAW},
    {"GET", "/ping/{name}/{name}", api_ping, V, WR_PUBLIC | WR_RAW},
    {"POST", "/ping/{name}/{name}", api_ping, V, WR_PUBLIC | WR_RAW},
    {"GET", "/api/v1/openapi.json", api_openapi, V, 0},
    {"POST", "/api/v1/session", api_session_create, V, WR_PUBLIC | WR_BODY},
    {"GET", "/api/v1/session", api_session_get, V, 0},
    {"DELETE", "/api/v1/session", api_session_delete, V, 0},
    {"GET", "/api/v1/session/probe", api_session_probe, V, WR_AUTH_OPTIONAL},
    {"GET", "/api/v1/customers", api_customers, V, 0},
    {"GET", "/api/v1/sources", api_sources, V, 0},
    {"POST", "/api/v1/sources/{name}/poll", api_source_poll, A, 0},
    {"GET", "/api/v1/alerts", api_alerts, V, 0},
    {"POST", "/api/v1/alerts/{id}/retry", api_alert_retry, O, 0},
    {"POST", "/api/v1/sources/{name}/pause", api_source_pause, A, 0},
    {"POST", "/api/v1/sources/{name}/resume", api_source_resume, A, 0},
    {"GET", "/api/v1/jobs", api_jobs, V, 0},
    {"POST", "/api/v1/jobs", api_push_job_create, O, WR_BODY},
    {"GET", "/api/v1/jobs/{id}", api_job_get, V, 0},
    {"PUT", "/api/v1/jobs/{id}/schedule", api_job_schedule_put, O, WR_BODY},
    {"DELETE", "/api/v1/jobs/{id}/schedule", api_job_schedule_delete, O, 0},
    {"GET", "/api/v1/jobs/{id}/ping", api_job_ping_url, O, 0},
    {"GET", "/api/v1/daily", api_daily, V, 0},
    /* report e-mails (issue 14, api_inbox.c) */
    {"GET", "/api/v1/inbox", api_inbox, V, 0},
    {"GET", "/api/v1/inbox/{id}/raw", api_inbox_raw, V, 0},
    {"POST", "/api/v1/inbox/{id}/assign", api_inbox_assign, O, WR_BODY},
    {"GET", "/api/v1/runs", api_runs, V, 0},
    {"POST", "/api/v1/runs/review", api_runs_review, O, WR_BODY},
    {"GET", "/api/v1/runs/{id}", api_run_get, V, 0},
    {"POST", "/api/v1/runs/{id}/review", api_run_review, O, 0},
    {"GET", "/api/v1/remarks", api_remarks, V, 0},
    {"POST", "/api/v1/remarks", api_remark_create, O, WR_BODY},
    {"PUT", "/api/v1/remarks/{id}", api_remark_update, O, WR_BODY},
    {"DELETE", "/api/v1/remarks/{id}", api_remark_delete, O, 0},
    {"GET", "/api/v1/overrides", api_overrides, V, 0},
    {"POST", "/api/v1/overrides", api_override_create, O, WR_BODY},
    {"DELETE", "/api/v1/overrides", api_overrides_delete, O, WR_BODY},
    {"PUT", "/api/v1/overrides/{id}", api_override_update, O, WR_BODY},
    {"DELETE", "/api/v1/overrides/{id}", api_override_delete, O, 0},
    {"GET", "/api/v1/audit", api_audit, A, 0},
    {"GET", "/api/v1/users", api_users, A, 0},
    {"POST", "/api/v1/users", api_user_create, A, WR_BODY},
    {"PUT", "/api/v1/users/{name}", api_user_update, A, WR_BODY},
    {"DELETE", "/api/v1/users/{name}", api_user_delete, A, 0},
    /* any role manages its own tokens; admins everyone's (checked in the handlers) */
    {"GET", "/api/v1/tokens", api_tokens, V, 0},
    {"POST", "/api/v1/tokens", api_token_create, V, WR_BODY},
    {"DELETE", "/api/v1/tokens/{id}", api_token_delete, V, 0},
};
const size_t web_nroutes = sizeof web_routes / sizeof web_routes[0];

bool web_route_match(const char *pattern, const char *path, const char **cap, size_t *caplen,
                     size_t maxcaps)
{
    const char *p = pattern, *s = path;
    size_t ncap = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (!end)
                return false;
            bool numeric = (size_t)(end - p) == 3 && strncmp(p, "{id}", 4) == 0;
            const char *seg = s;
            while (*s && *s != '/')
                s++;
            size_t n = (size_t)(s - seg);
            if (n == 0 || n > 256)
                return false;
            if (numeric) {
                /* 1..18 digits, no leading zero: always fits an int64 */
                if (n > 18 || seg[0] == '0')
                    return false;
                for (size_t i = 0; i < n; i++)
                    if (seg[i] < '0' || seg[i] > '9')
                        return false;
            } else if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
                return false;
            }
            if (ncap < maxcaps) {
                cap[ncap] = seg;
                caplen[ncap] = n;
            }
            ncap++;
            p = end + 1;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0' && ncap <= maxcaps;
}

const struct web_route *web_route_find(const char *method, const char *path, const char **cap,
                                       size_t *caplen, bool *path_known)
{
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    *path_known = false;
    for (size_t i = 0; i < web_nroutes; i++) {
        if (!web_route_match(web_routes[i].pattern, path, cap, caplen, WEB_MAX_CAPS))
            continue;
        if (strcmp(web_routes[i].method, m) == 0)
            return &web_routes[i];
        *path_known = true;
    }
    return NULL;
}

void web_route_allow(const char *path, char *out, size_t outsz)
{
    const char *cap[WEB_MAX_CAPS];
    size_t caplen[WEB_MAX_CAPS];
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < web_nroutes; i++) {
        if (!web_route_match(web_routes[i].pattern, path, cap, caplen, WEB_MAX_CAPS))
            continue;
        int n = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", web_routes[i].method);
        if (n < 0 || (size_t)n >= outsz - used)
            break;
        used += (size_t)n;
    }
}

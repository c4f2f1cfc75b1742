/* The Microsoft Graph input (see graph.h). */
#include "mail/graph.h"

#include "config/config.h"
#include "http/http.h"
#include "json/jsonu.h"
#include "mail/mime.h"
#include "platform/platform.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE 50 /* $top of a listing page */

/* s percent-encoded for a URL path segment or a form value. Caller frees. */
static char *esc(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        abort();
    char *r = xstrdup(e);
    curl_free(e);
    return r;
}

struct graph {
    struct http_client *http;
    const struct bk_source_cfg *c;
    char *user; /* the mailbox, encoded: {graph_url}/users/{user}/… */
};

/* A JSON request to Graph; *out gets the parsed reply (NULL for an empty one). */
static int call(struct graph *g, const char *method, const char *url, const char *body,
                enum http_retry retry, json_t **out, struct bk_err *err)
{
    struct http_req rq = {.method = method,
                          .url = url,
                          .body = body,
                          .body_len = body ? strlen(body) : 0,
                          .retry = retry};
    struct http_resp resp;
    int rc = http_request(g->http, &rq, &resp, err);
    if (out)
        *out = NULL;
    if (rc == 0 && out && resp.body.len > 0 &&
        !(*out = jsonu_parse(resp.body.data, resp.body.len, err)))
        rc = -BK_EPROTO;
    http_resp_free(&resp);
    return rc;
}

/* The app's token for Graph (client credentials), set as the client's Bearer. */
static int get_token(struct graph *g, const char *secret, struct bk_err *err)
{
    char *id = esc(g->c->username), *sec = esc(secret);
    char *form = xasprintf("client_id=%s&client_secret=%s&grant_type=client_credentials&scope="
                           "https%%3A%%2F%%2Fgraph.microsoft.com%%2F.default",
                           id, sec);
    memset(sec, 0, strlen(sec));
    free(sec);
    free(id);
    struct http_req rq = {.method = "POST",
                          .url = g->c->graph_token_url,
                          .body = form,
                          .body_len = strlen(form),
                          .content_type = "application/x-www-form-urlencoded",
                          .retry = HTTP_RETRY_READ};
    struct http_resp resp;
    int rc = http_request(g->http, &rq, &resp, err);
    memset(form, 0, strlen(form));
    free(form);
    if (rc == -BK_EAUTH || (rc == -BK_EHTTP && resp.status == 400)) {
        /* 400 invalid_client / unauthorized_client: the credentials, not the request */
        rc = bk_err_set(err, BK_EAUTH,
                        "Graph token: the tenant refused the client id or secret "
                        "(HTTP %ld)",
                        resp.status);
    } else if (rc == 0) {
        json_t *j = jsonu_parse(resp.body.data, resp.body.len, err);
        const char *tok = j ? jsonu_str(j, "access_token") : NULL;
        if (!tok || !*tok) {
            rc = bk_err_set(err, BK_EPROTO, "Graph token: no access_token in the reply");
        } else {
            char *auth = xasprintf("Bearer %s", tok);
            http_client_set_auth(g->http, auth); /* registered as a secret with the logger */
            memset(auth, 0, strlen(auth));
            free(auth);
        }
        json_decref(j);
    }
    http_resp_free(&resp);
    return rc;
}

/* The id of the processed folder: a top-level folder of that display name, made when
 * missing. */
static int processed_folder(struct graph *g, char **id, struct bk_err *err)
{
    const char *name = g->c->graph_processed;
    char *filter = xasprintf("displayName eq '%s'", name); /* name: checked by config */
    char *ef = esc(filter);
    char *url = xasprintf("%s/users/%s/mailFolders?%%24filter=%s&%%24select=id,displayName",
                          g->c->graph_url, g->user, ef);
    free(ef);
    free(filter);
    json_t *j = NULL;
    int rc = call(g, "GET", url, NULL, HTTP_RETRY_READ, &j, err);
    free(url);
    *id = NULL;
    if (rc == 0) {
        json_t *v = json_array_get(json_object_get(j, "value"), 0);
        const char *fid = v ? jsonu_str(v, "id") : NULL;
        if (fid && *fid)
            *id = xstrdup(fid);
    }
    json_decref(j);
    if (rc == 0 && !*id) {
        json_t *body = json_pack("{ss}", "displayName", name);
        char *b = jsonu_dump(body);
        json_decref(body);
        url = xasprintf("%s/users/%s/mailFolders", g->c->graph_url, g->user);
        rc = call(g, "POST", url, b, HTTP_RETRY_UNSENT, &j, err);
        free(url);
        free(b);
        const char *fid = rc == 0 && j ? jsonu_str(j, "id") : NULL;
        if (rc == 0 && fid && *fid)
            *id = xstrdup(fid);
        else if (rc == 0)
            rc = bk_err_set(err, BK_EPROTO, "Graph: the new folder %s has no id", name);
        json_decref(j);
    }
    if (rc < 0)
        bk_err_prefix(err, "Graph folder %s: ", name);
    return rc;
}

struct ids {
    char **v;
    size_t n, cap;
};

/* Up to max message ids of the folder, oldest first. */
static int list_ids(struct graph *g, size_t max, struct ids *out, struct bk_err *err)
{
    char *folder = esc(g->c->graph_folder);
    char *url = xasprintf("%s/users/%s/mailFolders/%s/messages?%%24select=id&%%24orderby="
                          "receivedDateTime%%20asc&%%24top=%d",
                          g->c->graph_url, g->user, folder, LIST_PAGE);
    free(folder);
    int rc = 0;
    for (int pages = 0; url && out->n < max && rc == 0; pages++) {
        json_t *j = NULL;
        rc = call(g, "GET", url, NULL, HTTP_RETRY_READ, &j, err);
        free(url);
        url = NULL;
        if (rc < 0)
            break;
        json_t *v = json_object_get(j, "value"), *m;
        size_t i;
        if (!json_is_array(v)) {
            rc = bk_err_set(err, BK_EPROTO, "Graph messages: no value array in the reply");
            json_decref(j);
            break;
        }
        json_array_foreach(v, i, m)
        {
            const char *id = jsonu_str(m, "id");
            if (!id || !*id || out->n >= max)
                continue;
            if (out->n == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 64;
                out->v = xrealloc(out->v, out->cap * sizeof *out->v);
            }
            out->v[out->n++] = xstrdup(id);
        }
        const char *next = jsonu_str(j, "@odata.nextLink");
        /* the bearer token goes only to the Graph endpoint the config names */
        if (next && *next && !str_starts_with(next, g->c->graph_url))
            rc = bk_err_set(err, BK_EPROTO, "Graph messages: a nextLink to another host refused");
        else if (next && *next && json_array_size(v) > 0 && pages < 10000)
            url = xstrdup(next);
        json_decref(j);
    }
    free(url);
    return rc;
}

int mail_graph_poll(struct bk_store *s, const struct mail_source *ms, const char *secret,
                    size_t max, volatile sig_atomic_t *stop, struct mail_scan_stats *st,
                    struct bk_err *err)
{
    memset(st, 0, sizeof *st);
    const struct bk_source_cfg *c = ms->cfg;
    if (!c->graph_tenant)
        return 0;
    struct http_opts o = {.ca_file = c->ca_file,
                          .insecure = c->insecure,
                          .max_body = (size_t)MAIL_MAX_BYTES + 1,
                          .stop = stop};
    struct graph g = {http_client_new(&o), c, esc(c->graph_mailbox)};
    struct ids ids = {0};
    char *dest = NULL;
    int rc = get_token(&g, secret, err);
    if (rc == 0)
        rc = processed_folder(&g, &dest, err);
    if (rc == 0)
        rc = list_ids(&g, max, &ids, err);
    for (size_t i = 0; rc == 0 && i < ids.n; i++) {
        st->seen++;
        char *eid = esc(ids.v[i]);
        char *url = xasprintf("%s/users/%s/messages/%s/$value", c->graph_url, g.user, eid);
        struct http_req rq = {.method = "GET", .url = url, .retry = HTTP_RETRY_READ};
        struct http_resp resp;
        struct bk_err e = {0};
        int frc = http_request(g.http, &rq, &resp, &e);
        free(url);
        if (frc == -BK_EHTTP && resp.status == 404) { /* moved or deleted meanwhile */
            http_resp_free(&resp);
            free(eid);
            continue;
        }
        enum mail_outcome oc =
            mail_ingest_counted(s, ms, frc, resp.body.data, resp.body.len, st, &e);
        http_resp_free(&resp);
        if (oc == MAIL_REFUSED)
            log_warn("source %s: Graph message %zu of this poll refused: %s (moved all the same)",
                     c->name, i + 1, e.msg);
        if (oc == MAIL_FAILED) {
            rc = -e.code;
            *err = e;
            free(eid);
            break;
        }
        json_t *body = json_pack("{ss}", "destinationId", dest);
        char *b = jsonu_dump(body);
        json_decref(body);
        url = xasprintf("%s/users/%s/messages/%s/move", c->graph_url, g.user, eid);
        struct bk_err me = {0};
        if (call(&g, "POST", url, b, HTTP_RETRY_UNSENT, NULL, &me) < 0)
            log_warn("source %s: Graph move: %s (read again next time: a duplicate)", c->name,
                     me.msg);
        free(url);
        free(b);
        free(eid);
    }
    for (size_t i = 0; i < ids.n; i++)
        free(ids.v[i]);
    free(ids.v);
    free(dest);
    free(g.user);
    http_client_free(g.http);
    return rc;
}

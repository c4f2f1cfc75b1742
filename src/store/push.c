/* Push check-ins: the SQL of push jobs and pings (see push.h). */
#include "store/push.h"

#include "config/config.h"
#include "core/status.h"
#include "platform/platform.h"
#include "store/overrides.h"
#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *store_push_url(const struct bk_config *cfg, unsigned port, const char *uuid)
{
    if (cfg->public_url) {
        char path[80];
        snprintf(path, sizeof path, "/ping/%s", uuid);
        return config_public_link(cfg, path);
    }
    const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
    const char *host = listen, *lport = strrchr(listen, ':'); /* "[::1]:8080" too */
    size_t hlen = lport ? (size_t)(lport - listen) : strlen(listen);
    if (strncmp(listen, "0.0.0.0:", 8) == 0) { /* every address: this host's loopback */
        host = "127.0.0.1";
        hlen = 9;
    }
    char pbuf[16];
    if (port > 0)
        snprintf(pbuf, sizeof pbuf, ":%u", port);
    else
        snprintf(pbuf, sizeof pbuf, "%s", lport ? lport : "");
    return xasprintf("%s://%.*s%s/ping/%s", cfg->tls_cert ? "https" : "http", (int)hlen, host, pbuf,
                     uuid);
}

int store_push_new_uuid(char *out, struct bk_err *err)
{
    unsigned char b[16];
    if (bk_plat_random(b, sizeof b) < 0)
        return bk_err_set(err, BK_EIO, "no random bytes for a ping uuid");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

bool store_push_uuid_valid(const char *s)
{
    if (!s || strlen(s) != STORE_PUSH_UUID_LEN)
        return false;
    for (size_t i = 0; i < STORE_PUSH_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

static int first_int(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 1;
}

static int first_text(const struct store_row *r, void *ud)
{
    const char *t = store_row_text(r, 0);
    snprintf(ud, STORE_PUSH_UUID_LEN + 1, "%s", t ? t : "");
    return 1;
}

int store_push_job_add(struct bk_store *s, int64_t source_id, const char *customer,
                       const char *name, const char *kind, const char *who, int64_t now_ms,
                       int64_t *job_id, char *uuid_out, struct bk_err *err)
{
    int rc = store_push_new_uuid(uuid_out, err);
    if (rc < 0)
        return rc;
    unsigned char rb[6];
    if (bk_plat_random(rb, sizeof rb) < 0)
        return bk_err_set(err, BK_EIO, "no random bytes for a job id");
    /* the job's external id is NOT the uuid: lists and logs show external ids */
    char ext[32];
    snprintf(ext, sizeof ext, "push-%02x%02x%02x%02x%02x%02x", rb[0], rb[1], rb[2], rb[3], rb[4],
             rb[5]);
    if ((rc = store_begin(s, err)) < 0)
        return rc;
    int64_t cust = 0, exists = 0;
    struct store_param cp[] = {SP_INT(source_id), SP_TEXT(customer), SP_INT(now_ms)};
    rc = store_exec(s,
                    "INSERT INTO customer (source_id, external_id, name, created_at, updated_at)"
                    " VALUES (?1, ?2, ?2, ?3, ?3) ON CONFLICT (source_id, external_id) DO NOTHING",
                    cp, 3, NULL, NULL, err);
    if (rc == 0)
        rc = store_query(s, "SELECT id FROM customer WHERE source_id = ?1 AND external_id = ?2", cp,
                         2, first_int, &cust, err);
    if (rc >= 0) {
        struct store_param ep[] = {SP_INT(source_id), SP_INT(cust), SP_TEXT(name)};
        rc = store_query(s,
                         "SELECT id FROM job WHERE source_id = ?1 AND customer_id = ?2"
                         " AND name = ?3 AND retired_at IS NULL",
                         ep, 3, first_int, &exists, err);
    }
    if (rc >= 0 && exists) {
        store_rollback(s);
        return bk_err_set(err, BK_EINVAL, "customer \"%.100s\" already has a push job \"%.100s\"",
                          customer, name);
    }
    if (rc >= 0) {
        struct store_param jp[] = {SP_INT(source_id),
                                   SP_INT(cust),
                                   SP_TEXT(ext),
                                   SP_TEXT(name),
                                   SP_TEXT(kind ? kind : "script"),
                                   SP_INT(now_ms)};
        rc = store_exec(s,
                        "INSERT INTO job (source_id, customer_id, external_id, name, kind,"
                        " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                        jp, 6, NULL, job_id, err);
    }
    if (rc >= 0) {
        struct store_param pp[] = {SP_INT(*job_id), SP_TEXT(uuid_out), SP_TEXT(who),
                                   SP_INT(now_ms)};
        rc = store_exec(s,
                        "INSERT INTO push_check (job_id, uuid, created_by, created_at)"
                        " VALUES (?1, ?2, ?3, ?4)",
                        pp, 4, NULL, NULL, err);
    }
    if (rc >= 0)
        rc = store_commit(s, err);
    if (rc < 0)
        store_rollback(s);
    return rc < 0 ? rc : 0;
}

int store_push_job_uuid(struct bk_store *s, int64_t job_id, char *uuid_out, struct bk_err *err)
{
    uuid_out[0] = '\0';
    struct store_param p[] = {SP_INT(job_id)};
    int rc = store_query(s, "SELECT uuid FROM push_check WHERE job_id = ?1", p, 1, first_text,
                         uuid_out, err);
    if (rc < 0)
        return rc;
    return uuid_out[0] ? 0
                       : bk_err_set(err, BK_ENOTFOUND, "job %" PRId64 " is not a push job", job_id);
}

/* The first STORE_PUSH_MESSAGE_MAX bytes of a ping's body as text a list and a log can show:
 * valid UTF-8 (a broken sequence becomes '?'), no control bytes but newline and tab, cut on a
 * character boundary. NULL for an empty body. */
static char *body_message(const char *b, size_t n)
{
    if (!b || !n)
        return NULL;
    if (n > STORE_PUSH_MESSAGE_MAX)
        n = STORE_PUSH_MESSAGE_MAX;
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)b[i];
        size_t len = c < 0x80             ? 1
                     : (c & 0xe0) == 0xc0 ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        bool ok = len > 0 && i + len <= n && !(len == 2 && c < 0xc2) && !(c > 0xf4);
        for (size_t k = 1; ok && k < len; k++)
            ok = ((unsigned char)b[i + k] & 0xc0) == 0x80;
        if (ok && len == 3) { /* no overlong forms, no surrogates */
            unsigned char c1 = (unsigned char)b[i + 1];
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
        } else if (ok && len == 4) {
            unsigned char c1 = (unsigned char)b[i + 1];
            ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
        }
        if (!ok) {
            if (i + 4 > n && len > 1 && i + len > n)
                break; /* a character cut by the size limit */
            out[o++] = '?';
            i++;
            continue;
        }
        if (len == 1 && ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f))
            out[o++] = c == '\r' ? '\n' : ' ';
        else
            for (size_t k = 0; k < len; k++)
                out[o++] = b[i + k];
        i += len;
    }
    while (o > 0 && (out[o - 1] == '\n' || out[o - 1] == ' '))
        o--;
    out[o] = '\0';
    if (!o) {
        free(out);
        return NULL;
    }
    return out;
}

struct run_row {
    int64_t id, start, reviewed;
    char status[16];
};

static int run_cb(const struct store_row *r, void *ud)
{
    struct run_row *x = ud;
    x->id = store_row_int(r, 0);
    x->start = store_row_int(r, 1);
    x->reviewed = store_row_int(r, 2);
    const char *st = store_row_text(r, 3);
    snprintf(x->status, sizeof x->status, "%s", st ? st : "");
    return 1;
}

#define RUN_COLS "SELECT id, COALESCE(start_at, 0), COALESCE(reviewed_at, 0), status FROM job_run"

static int apply_ping(struct bk_store *s, const struct store_ping *p, struct store_ping_result *out,
                      struct bk_err *err)
{
    struct store_param up[] = {SP_TEXT(p->uuid), SP_INT(p->now_ms)};
    int rc = store_query(s,
                         "SELECT j.id FROM push_check pc JOIN job j ON j.id = pc.job_id"
                         " WHERE pc.uuid = ?1 AND j.retired_at IS NULL",
                         up, 1, first_int, &out->job_id, err);
    if (rc < 0 || !out->job_id)
        return rc < 0 ? rc : 0;
    out->found = true;
    if ((rc = store_exec(s, "UPDATE push_check SET last_ping_at = ?2 WHERE uuid = ?1", up, 2, NULL,
                         NULL, err)) < 0)
        return rc;
    char *vrid = p->rid ? xasprintf("rid:%s", p->rid) : NULL;
    struct run_row same = {0}, open = {0};
    if (vrid) {
        struct store_param rp[] = {SP_INT(out->job_id), SP_TEXT(vrid)};
        rc = store_query(s, RUN_COLS " WHERE job_id = ?1 AND vendor_run_id = ?2", rp, 2, run_cb,
                         &same, err);
    }
    /* the run a start opened and no end closed yet (the latest one) */
    struct store_param jp[] = {SP_INT(out->job_id)};
    if (rc >= 0 && !same.id)
        rc = store_query(
            s,
            RUN_COLS " WHERE job_id = ?1 AND source_type = 'push'"
                     " AND status = 'running' ORDER BY start_at DESC NULLS LAST, id DESC LIMIT 1",
            jp, 1, run_cb, &open, err);
    if (rc < 0)
        goto out;
    rc = 0;
    char *msg = body_message(p->body, p->body_len);
    char raw[24];
    enum bk_run_status st = BK_RUN_SUCCESS;
    if (p->kind == STORE_PING_START) {
        snprintf(raw, sizeof raw, "start");
        st = BK_RUN_RUNNING;
    } else if (p->kind == STORE_PING_FAIL) {
        snprintf(raw, sizeof raw, "fail");
        st = BK_RUN_FAILED;
    } else if (p->kind == STORE_PING_EXIT) {
        snprintf(raw, sizeof raw, "exit %d", p->exit_status);
        st = p->exit_status == 0 ? BK_RUN_SUCCESS : BK_RUN_FAILED;
    } else {
        snprintf(raw, sizeof raw, "success");
    }
    const char *stname = bk_run_status_name(st);
    out->duration_ms = -1;
    if (same.id &&
        (p->kind == STORE_PING_START || strcmp(same.status, "running") != 0 || same.reviewed)) {
        /* the same rid again: a retried ping, or an end for a run already closed */
        out->duplicate = true;
        out->run_id = same.id;
        free(msg);
        goto out;
    }
    if (p->kind == STORE_PING_START) {
        if (open.id) { /* a new start before the last one's end: that end will never come */
            struct store_param cp[] = {SP_INT(open.id), SP_INT(p->now_ms)};
            rc = store_exec(s,
                            "UPDATE job_run SET status = 'unknown', end_at = NULL,"
                            " message = 'a new start arrived before this run reported its end',"
                            " updated_at = ?2 WHERE id = ?1 AND reviewed_at IS NULL",
                            cp, 2, NULL, NULL, err);
        }
        char gen[64];
        unsigned char rb[4] = {0};
        bk_plat_random(rb, sizeof rb);
        snprintf(gen, sizeof gen, "ping:%" PRId64 ":%02x%02x%02x%02x", p->now_ms, rb[0], rb[1],
                 rb[2], rb[3]);
        struct store_param ip[] = {SP_INT(out->job_id), SP_TEXT(vrid ? vrid : gen),
                                   SP_INT(p->now_ms), SP_TEXT(raw), SP_TEXT(msg)};
        if (rc >= 0)
            rc = store_exec(s,
                            "INSERT INTO job_run (job_id, source_type, vendor_run_id, start_at,"
                            " status, raw_status, message, created_at, updated_at)"
                            " VALUES (?1, 'push', ?2, ?3, 'running', ?4, ?5, ?3, ?3)",
                            ip, 5, NULL, &out->run_id, err);
        free(msg);
        goto out;
    }
    /* an end with a rid closes the start of that rid only; one without, the latest start */
    const struct run_row *target = vrid ? (same.id ? &same : NULL) : open.id ? &open : NULL;
    if (target) {
        struct store_param fp[] = {SP_INT(target->id), SP_INT(p->now_ms), SP_TEXT(stname),
                                   SP_TEXT(raw), SP_TEXT(msg)};
        rc = store_exec(s,
                        "UPDATE job_run SET end_at = ?2, status = ?3, raw_status = ?4,"
                        " message = COALESCE(?5, message), updated_at = ?2"
                        " WHERE id = ?1 AND reviewed_at IS NULL",
                        fp, 5, NULL, NULL, err);
        out->run_id = target->id;
        if (target->start > 0)
            out->duration_ms = p->now_ms - target->start;
    } else {
        char gen[64];
        unsigned char rb[4] = {0};
        bk_plat_random(rb, sizeof rb);
        snprintf(gen, sizeof gen, "ping:%" PRId64 ":%02x%02x%02x%02x", p->now_ms, rb[0], rb[1],
                 rb[2], rb[3]);
        struct store_param ip[] = {SP_INT(out->job_id), SP_TEXT(vrid ? vrid : gen),
                                   SP_INT(p->now_ms),   SP_TEXT(stname),
                                   SP_TEXT(raw),        SP_TEXT(msg)};
        rc = store_exec(s,
                        "INSERT INTO job_run (job_id, source_type, vendor_run_id, start_at,"
                        " end_at, status, raw_status, message, created_at, updated_at)"
                        " VALUES (?1, 'push', ?2, ?3, ?3, ?4, ?5, ?6, ?3, ?3)",
                        ip, 6, NULL, &out->run_id, err);
    }
    free(msg);
    if (rc >= 0) { /* an override rule may make this failure a success */
        struct store_override_changes ch;
        rc = store_overrides_reevaluate_run(s, out->run_id, "push", &ch, err);
    }
out:
    free(vrid);
    return rc < 0 ? rc : 0;
}

int store_push_ping(struct bk_store *s, const struct store_ping *p, struct store_ping_result *out,
                    struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    out->duration_ms = -1;
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    if ((rc = apply_ping(s, p, out, err)) < 0 || (rc = store_commit(s, err)) < 0) {
        store_rollback(s);
        struct store_ping_result none = {.duration_ms = -1};
        *out = none;
        return rc;
    }
    return 0;
}

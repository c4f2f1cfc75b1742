/* Report e-mails: the SQL of stored mails, their runs and the Inbox (see mail.h). */
#include "store/mail.h"

#include "store/overrides.h"
#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int first_int(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 1;
}

/* The job of (source, customer, external id), created when new. */
static int job_get(struct bk_store *s, const struct store_mail_in *in, const char *ext,
                   int64_t *job_id, struct bk_err *err)
{
    *job_id = 0;
    struct store_param jp[] = {SP_INT(in->source_id), SP_TEXT(ext)};
    int rc = store_query(s, "SELECT id FROM job WHERE source_id = ?1 AND external_id = ?2", jp, 2,
                         first_int, job_id, err);
    if (rc < 0 || *job_id)
        return rc < 0 ? rc : 0;
    int64_t cust = 0;
    struct store_param cp[] = {SP_INT(in->source_id), SP_TEXT(in->customer),
                               SP_INT(in->received_at_ms)};
    rc = store_exec(s,
                    "INSERT INTO customer (source_id, external_id, name, created_at, updated_at)"
                    " VALUES (?1, ?2, ?2, ?3, ?3) ON CONFLICT (source_id, external_id) DO NOTHING",
                    cp, 3, NULL, NULL, err);
    if (rc == 0)
        rc = store_query(s, "SELECT id FROM customer WHERE source_id = ?1 AND external_id = ?2", cp,
                         2, first_int, &cust, err);
    if (rc < 0)
        return rc;
    struct store_param ip[] = {SP_INT(in->source_id),
                               SP_INT(cust),
                               SP_TEXT(ext),
                               SP_TEXT(in->job_name),
                               SP_TEXT(in->job_kind ? in->job_kind : "email"),
                               SP_INT(in->received_at_ms)};
    rc = store_exec(s,
                    "INSERT INTO job (source_id, customer_id, external_id, name, kind, created_at,"
                    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    ip, 6, NULL, job_id, err);
    return rc < 0 ? rc : 0;
}

struct cand {
    int64_t id, latest_sent;
};

static int cand_cb(const struct store_row *r, void *ud)
{
    struct cand *c = ud;
    c->id = store_row_int(r, 0);
    c->latest_sent = store_row_int(r, 1);
    return 1;
}

/* Objects of a run: a newer mail's word wins, an older one only adds what is missing. */
static int put_objects(struct bk_store *s, int64_t run_id, const struct store_mail_in *in,
                       bool newer, struct bk_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < in->nobjects && rc >= 0; i++) {
        const struct bk_obj_rec *o = &in->objects[i];
        struct store_param p[] = {SP_INT(run_id), SP_TEXT(o->name),
                                  SP_TEXT(bk_run_status_name(o->status)), SP_TEXT(o->raw_status),
                                  SP_TEXT(o->message)};
        rc =
            store_exec(s,
                       newer ? "INSERT INTO job_object (run_id, name, status, raw_status, message)"
                               " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (run_id, name) DO UPDATE"
                               " SET status = excluded.status, raw_status = excluded.raw_status,"
                               " message = excluded.message"
                             : "INSERT INTO job_object (run_id, name, status, raw_status, message)"
                               " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (run_id, name) DO NOTHING",
                       p, 5, NULL, NULL, err);
    }
    return rc < 0 ? rc : 0;
}

static int64_t failed_objects(const struct store_mail_in *in)
{
    int64_t n = 0;
    for (size_t i = 0; i < in->nobjects; i++)
        n += in->objects[i].status == BK_RUN_FAILED;
    return n;
}

/* The run of the mail: a retry joins its run, else a new one (or the existing one of the same
 * vendor run id). */
static int put_run(struct bk_store *s, const struct store_mail_in *in, int64_t job_id,
                   struct store_mail_out *out, struct bk_err *err)
{
    struct cand c = {0};
    int rc = 0;
    struct store_param vp[] = {SP_INT(job_id), SP_TEXT(in->vendor_run_id)};
    const char *cand_sql = "SELECT r.id, COALESCE((SELECT MAX(m.sent_at) FROM mail_message m"
                           " WHERE m.run_id = r.id), 0) FROM job_run r";
    char *sql = xasprintf("%s WHERE r.job_id = ?1 AND r.vendor_run_id = ?2", cand_sql);
    rc = store_query(s, sql, vp, 2, cand_cb, &c, err);
    free(sql);
    if (rc >= 0 && !c.id && in->group_retries && in->start_ms) {
        /* a retry of a run that did not succeed, or an older mail of a run (mails can arrive
         * out of order): either way within the window of its first start */
        struct store_param gp[] = {
            SP_INT(job_id), SP_INT(in->start_ms - STORE_MAIL_RETRY_WINDOW_MS),
            SP_INT(in->start_ms + STORE_MAIL_RETRY_WINDOW_MS), SP_INT(in->sent_at_ms)};
        sql = xasprintf("%s WHERE r.job_id = ?1 AND r.source_type = 'email'"
                        " AND r.reviewed_at IS NULL AND r.start_at >= ?2 AND r.start_at <= ?3"
                        " AND (r.status <> 'success' OR ?4 < COALESCE((SELECT MAX(m2.sent_at)"
                        " FROM mail_message m2 WHERE m2.run_id = r.id), 0))"
                        " ORDER BY r.start_at DESC NULLS LAST, r.id DESC LIMIT 1",
                        cand_sql);
        rc = store_query(s, sql, gp, 4, cand_cb, &c, err);
        free(sql);
    }
    if (rc < 0)
        return rc;
    int64_t nfail = failed_objects(in);
    if (c.id) {
        bool newer = in->sent_at_ms >= c.latest_sent;
        struct store_param up[] = {SP_INT(c.id),
                                   SP_INT(in->end_ms),
                                   SP_TEXT(in->status),
                                   SP_TEXT(in->raw_status),
                                   SP_TEXT(in->message),
                                   SP_INT(in->received_at_ms),
                                   SP_INT(newer ? 1 : 0),
                                   SP_INT(nfail),
                                   in->start_ms ? SP_INT(in->start_ms) : SP_NULL};
        rc = store_exec(
            s,
            "UPDATE job_run SET"
            " start_at = CASE WHEN ?9 IS NOT NULL AND (start_at IS NULL OR ?9 < start_at)"
            " THEN ?9 ELSE start_at END,"
            " end_at = CASE WHEN ?7 = 1 AND ?2 > 0 THEN ?2 ELSE end_at END,"
            " status = CASE WHEN ?7 = 1 THEN ?3 ELSE status END,"
            " raw_status = CASE WHEN ?7 = 1 THEN ?4 ELSE raw_status END,"
            " message = CASE WHEN ?7 = 1 THEN ?5 ELSE message END,"
            " error_count = CASE WHEN ?7 = 1 THEN ?8 ELSE error_count END,"
            " override = CASE WHEN ?7 = 1 THEN 0 ELSE override END,"
            " updated_at = ?6 WHERE id = ?1 AND reviewed_at IS NULL",
            up, 9, NULL, NULL, err);
        out->run_id = c.id;
        if (rc >= 0)
            rc = put_objects(s, c.id, in, newer, err);
    } else {
        struct store_param ip[] = {SP_INT(job_id),
                                   SP_TEXT(in->vendor_run_id),
                                   in->start_ms ? SP_INT(in->start_ms) : SP_NULL,
                                   in->end_ms ? SP_INT(in->end_ms) : SP_NULL,
                                   SP_TEXT(in->status),
                                   SP_TEXT(in->raw_status),
                                   SP_TEXT(in->message),
                                   SP_INT(in->received_at_ms),
                                   SP_INT(nfail)};
        rc = store_exec(s,
                        "INSERT INTO job_run (job_id, source_type, vendor_run_id, start_at, end_at,"
                        " status, raw_status, error_count, message, created_at, updated_at)"
                        " VALUES (?1, 'email', ?2, ?3, ?4, ?5, ?6, ?9, ?7, ?8, ?8)",
                        ip, 9, NULL, &out->run_id, err);
        out->run_new = true;
        if (rc >= 0)
            rc = put_objects(s, out->run_id, in, true, err);
    }
    if (rc >= 0) { /* an override rule may make this failure a success */
        struct store_override_changes ch;
        rc = store_overrides_reevaluate_run(s, out->run_id, "mail", &ch, err);
    }
    return rc < 0 ? rc : 0;
}

static int insert_mail(struct bk_store *s, const struct store_mail_in *in, const char *state,
                       int64_t run_id, int64_t *mail_id, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(in->source_id),
                              SP_TEXT(in->message_id),
                              SP_TEXT(in->sender),
                              SP_TEXT(in->subject ? in->subject : ""),
                              in->sent_at_ms ? SP_INT(in->sent_at_ms) : SP_NULL,
                              SP_INT(in->received_at_ms),
                              SP_INT((int64_t)in->raw_len),
                              SP_TEXT(in->raw),
                              SP_TEXT(in->kind),
                              SP_TEXT(in->product),
                              SP_TEXT(in->job_name),
                              SP_TEXT(in->status ? in->status : "unknown"),
                              SP_TEXT(in->reason),
                              SP_TEXT(in->rule_key ? in->rule_key : ""),
                              SP_TEXT(state),
                              run_id ? SP_INT(run_id) : SP_NULL,
                              SP_INT(in->synthetic ? 1 : 0)};
    return store_exec(s,
                      "INSERT INTO mail_message (source_id, message_id, sender, subject, sent_at,"
                      " received_at, size, raw, kind, product, job_name, status, reason, rule_key,"
                      " state, run_id, synthetic) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                      " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                      p, 17, NULL, mail_id, err);
}

static int ingest(struct bk_store *s, const struct store_mail_in *in, struct store_mail_out *out,
                  struct bk_err *err)
{
    struct store_param dp[] = {SP_INT(in->source_id), SP_TEXT(in->message_id)};
    int rc = store_query(s, "SELECT id FROM mail_message WHERE source_id = ?1 AND message_id = ?2",
                         dp, 2, first_int, &out->mail_id, err);
    if (rc < 0)
        return rc;
    if (out->mail_id) {
        out->duplicate = true;
        snprintf(out->state, sizeof out->state, "duplicate");
        return 0;
    }
    const char *state = "inbox";
    if (strcmp(in->kind, "run") == 0) {
        char *ext = xasprintf("mail:%s:%s", in->product ? in->product : "mail", in->job_name);
        rc = job_get(s, in, ext, &out->job_id, err);
        free(ext);
        if (rc >= 0)
            rc = put_run(s, in, out->job_id, out, err);
        state = "run";
    } else if (strcmp(in->kind, "not_a_run") == 0) {
        state = "not_a_run";
    } else if (in->sender && in->rule_key) {
        struct store_param rp[] = {SP_INT(in->source_id), SP_TEXT(in->sender),
                                   SP_TEXT(in->rule_key)};
        rc = store_query(s,
                         "SELECT r.job_id FROM mail_rule r JOIN job j ON j.id = r.job_id"
                         " WHERE r.source_id = ?1 AND r.sender = ?2 AND r.rule_key = ?3"
                         " AND j.retired_at IS NULL",
                         rp, 3, first_int, &out->job_id, err);
        if (rc >= 0 && out->job_id) {
            struct store_mail_in r = *in;
            r.group_retries = false;
            rc = put_run(s, &r, out->job_id, out, err);
            out->via_rule = true;
            state = "run";
        }
    }
    if (rc >= 0)
        rc = insert_mail(s, in, state, out->run_id, &out->mail_id, err);
    snprintf(out->state, sizeof out->state, "%s", state);
    return rc < 0 ? rc : 0;
}

int store_mail_ingest(struct bk_store *s, const struct store_mail_in *in,
                      struct store_mail_out *out, struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    if ((rc = ingest(s, in, out, err)) < 0 || (rc = store_commit(s, err)) < 0) {
        store_rollback(s);
        memset(out, 0, sizeof *out);
        return rc;
    }
    return 0;
}

struct mail_row {
    int64_t id, source_id, sent_at, received_at;
    char *message_id, *sender, *rule_key, *state, *status, *subject;
};

static int mail_row_cb(const struct store_row *r, void *ud)
{
    struct mail_row *m = ud;
    m->id = store_row_int(r, 0);
    m->source_id = store_row_int(r, 1);
    m->message_id = xstrdup_or_null(store_row_text(r, 2));
    m->sender = xstrdup_or_null(store_row_text(r, 3));
    m->rule_key = xstrdup_or_null(store_row_text(r, 4));
    m->state = xstrdup_or_null(store_row_text(r, 5));
    m->status = xstrdup_or_null(store_row_text(r, 6));
    m->sent_at = store_row_int(r, 7);
    m->received_at = store_row_int(r, 8);
    m->subject = xstrdup_or_null(store_row_text(r, 9));
    return 1;
}

static void mail_row_free(struct mail_row *m)
{
    free(m->message_id);
    free(m->sender);
    free(m->rule_key);
    free(m->state);
    free(m->status);
    free(m->subject);
}

static int assign(struct bk_store *s, int64_t mail_id, int64_t job_id, const char *who,
                  int64_t now_ms, int64_t *run_id, struct bk_err *err)
{
    struct mail_row m = {0};
    struct store_param mp[] = {SP_INT(mail_id)};
    int rc = store_query(s,
                         "SELECT id, source_id, message_id, sender, rule_key, state, status,"
                         " COALESCE(sent_at, 0), received_at, subject FROM mail_message"
                         " WHERE id = ?1",
                         mp, 1, mail_row_cb, &m, err);
    int64_t jid = 0;
    struct store_param jp[] = {SP_INT(job_id)};
    if (rc >= 0 && !m.id)
        rc = bk_err_set(err, BK_ENOTFOUND, "no mail %" PRId64, mail_id);
    else if (rc >= 0 && strcmp(m.state, "inbox") != 0)
        rc = bk_err_set(err, BK_EINVAL, "mail %" PRId64 " is not in the Inbox (it is %s)", mail_id,
                        m.state);
    if (rc >= 0)
        rc = store_query(s, "SELECT id FROM job WHERE id = ?1 AND retired_at IS NULL", jp, 1,
                         first_int, &jid, err);
    if (rc >= 0 && !jid)
        rc = bk_err_set(err, BK_ENOTFOUND, "no job %" PRId64, job_id);
    if (rc >= 0) {
        char *vrid = xasprintf("mail:%s", m.message_id);
        int64_t at = m.sent_at ? m.sent_at : m.received_at;
        struct store_mail_in in = {.source_id = m.source_id,
                                   .vendor_run_id = vrid,
                                   .start_ms = at,
                                   .end_ms = at,
                                   .status = m.status,
                                   .raw_status = m.status,
                                   .message = m.subject,
                                   .sent_at_ms = m.sent_at,
                                   .received_at_ms = now_ms};
        struct store_mail_out out = {0};
        rc = put_run(s, &in, job_id, &out, err);
        *run_id = out.run_id;
        free(vrid);
    }
    if (rc >= 0) {
        struct store_param up[] = {SP_INT(mail_id), SP_INT(*run_id)};
        rc = store_exec(s, "UPDATE mail_message SET state = 'assigned', run_id = ?2 WHERE id = ?1",
                        up, 2, NULL, NULL, err);
    }
    if (rc >= 0 && m.sender) {
        struct store_param rp[] = {SP_INT(m.source_id), SP_TEXT(m.sender), SP_TEXT(m.rule_key),
                                   SP_INT(job_id),      SP_TEXT(who),      SP_INT(now_ms)};
        rc = store_exec(s,
                        "INSERT INTO mail_rule (source_id, sender, rule_key, job_id, created_by,"
                        " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                        " ON CONFLICT (source_id, sender, rule_key) DO UPDATE"
                        " SET job_id = excluded.job_id, created_by = excluded.created_by,"
                        " created_at = excluded.created_at",
                        rp, 6, NULL, NULL, err);
    }
    mail_row_free(&m);
    return rc < 0 ? rc : 0;
}

int store_mail_assign(struct bk_store *s, int64_t mail_id, int64_t job_id, const char *who,
                      int64_t now_ms, int64_t *run_id, struct bk_err *err)
{
    *run_id = 0;
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    if ((rc = assign(s, mail_id, job_id, who, now_ms, run_id, err)) < 0 ||
        (rc = store_commit(s, err)) < 0) {
        store_rollback(s);
        *run_id = 0;
        return rc;
    }
    return 0;
}

int store_mail_assign_new(struct bk_store *s, int64_t mail_id, const char *customer,
                          const char *name, const char *who, int64_t now_ms, int64_t *job_id,
                          int64_t *run_id, struct bk_err *err)
{
    *run_id = *job_id = 0;
    int rc = store_begin(s, err);
    if (rc < 0)
        return rc;
    int64_t sid = 0;
    struct store_param mp[] = {SP_INT(mail_id)};
    rc = store_query(s, "SELECT source_id FROM mail_message WHERE id = ?1", mp, 1, first_int, &sid,
                     err);
    if (rc >= 0 && !sid)
        rc = bk_err_set(err, BK_ENOTFOUND, "no mail %" PRId64, mail_id);
    if (rc >= 0) {
        struct store_mail_in in = {.source_id = sid,
                                   .customer = customer,
                                   .job_name = name,
                                   .job_kind = "email",
                                   .received_at_ms = now_ms};
        char *ext = xasprintf("mail:inbox:%s", name);
        rc = job_get(s, &in, ext, job_id, err);
        free(ext);
    }
    if (rc >= 0)
        rc = assign(s, mail_id, *job_id, who, now_ms, run_id, err);
    if (rc < 0 || (rc = store_commit(s, err)) < 0) {
        store_rollback(s);
        *run_id = *job_id = 0;
        return rc;
    }
    return 0;
}

struct raw_out {
    char *raw;
    size_t len;
};

static int raw_cb(const struct store_row *r, void *ud)
{
    struct raw_out *o = ud;
    const char *t = store_row_text(r, 0);
    o->raw = xstrdup(t ? t : "");
    o->len = strlen(o->raw);
    return 1;
}

int store_mail_raw(struct bk_store *s, int64_t mail_id, char **raw, size_t *len, struct bk_err *err)
{
    struct raw_out o = {0};
    struct store_param p[] = {SP_INT(mail_id)};
    int rc = store_query(s, "SELECT raw FROM mail_message WHERE id = ?1", p, 1, raw_cb, &o, err);
    if (rc < 0)
        return rc;
    if (!o.raw)
        return bk_err_set(err, BK_ENOTFOUND, "no mail %" PRId64, mail_id);
    *raw = o.raw;
    *len = o.len;
    return 0;
}

struct list_ctx {
    int (*cb)(const struct store_mail_row *m, void *ud);
    void *ud;
};

static int list_cb(const struct store_row *r, void *ud)
{
    const struct list_ctx *c = ud;
    struct store_mail_row m = {
        .id = store_row_int(r, 0),
        .source = store_row_text(r, 1),
        .message_id = store_row_text(r, 2),
        .sender = store_row_text(r, 3),
        .subject = store_row_text(r, 4),
        .sent_at_ms = store_row_int(r, 5),
        .received_at_ms = store_row_int(r, 6),
        .size = store_row_int(r, 7),
        .kind = store_row_text(r, 8),
        .product = store_row_text(r, 9),
        .job_name = store_row_text(r, 10),
        .status_hint = store_row_text(r, 11),
        .reason = store_row_text(r, 12),
        .state = store_row_text(r, 13),
        .run_id = store_row_int(r, 14),
        .synthetic = store_row_int(r, 15) != 0,
    };
    return c->cb(&m, c->ud);
}

#define MAIL_WHERE                                                                                 \
    " FROM mail_message m JOIN source s ON s.id = m.source_id"                                     \
    " WHERE (CAST(?1 AS TEXT) IS NULL OR m.state = ?1)"                                            \
    " AND (CAST(?2 AS TEXT) IS NULL OR s.name = ?2)"                                               \
    " AND (CAST(?5 AS BIGINT) IS NULL OR m.run_id = ?5)"

int store_mail_list(struct bk_store *s, const char *state, const char *source, int64_t run_id,
                    int64_t limit, int64_t offset,
                    int (*cb)(const struct store_mail_row *m, void *ud), void *ud, int64_t *total,
                    struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(state), SP_TEXT(source), SP_INT(limit), SP_INT(offset),
                              run_id > 0 ? SP_INT(run_id) : SP_NULL};
    struct list_ctx c = {cb, ud};
    *total = 0;
    int rc = store_query(s,
                         "SELECT m.id, s.name, m.message_id, m.sender, m.subject,"
                         " COALESCE(m.sent_at, 0), m.received_at, m.size, m.kind, m.product,"
                         " m.job_name, m.status, m.reason, m.state, COALESCE(m.run_id, 0),"
                         " m.synthetic" MAIL_WHERE
                         " ORDER BY m.received_at DESC, m.id DESC LIMIT ?3 OFFSET ?4",
                         p, 5, list_cb, &c, err);
    if (rc >= 0)
        rc = store_query(s, "SELECT COUNT(*)" MAIL_WHERE, p, 5, first_int, total, err);
    return rc < 0 ? rc : 0;
}

static int name_cb(const struct store_row *r, void *ud)
{
    const char *t = store_row_text(r, 0);
    snprintf(ud, 256, "%s", t ? t : "");
    return 1;
}

int store_mail_source(struct bk_store *s, int64_t mail_id, char out[256], struct bk_err *err)
{
    out[0] = '\0';
    struct store_param p[] = {SP_INT(mail_id)};
    int rc = store_query(s,
                         "SELECT s.name FROM mail_message m JOIN source s ON s.id = m.source_id"
                         " WHERE m.id = ?1",
                         p, 1, name_cb, out, err);
    return rc < 0 ? rc : 0;
}

/* The Inbox of report e-mails (issue 14): mails no parser recognised wait here for an
 * operator, who assigns them to a job; the assignment is remembered as a rule (the source,
 * the sender and the subject's shape -> the job) so the next such mail becomes a run by
 * itself. Also the raw mail of any stored report ("Download EML"). HTTP only: the SQL is the
 * store's (store/mail.c). */
#include "config/config.h"
#include "store/mail.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "web/web_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int inbox_row(const struct store_mail_row *m, void *ud)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(m->id));
    json_object_set_new(o, "source", web_jstr(m->source));
    json_object_set_new(o, "message_id", web_jstr(m->message_id));
    json_object_set_new(o, "from", web_jstr(m->sender));
    json_object_set_new(o, "subject", web_jstr(m->subject));
    json_object_set_new(o, "date", web_jtime(m->sent_at_ms));
    json_object_set_new(o, "received_at", web_jtime(m->received_at_ms));
    json_object_set_new(o, "size", json_integer(m->size));
    json_object_set_new(o, "kind", web_jstr(m->kind));
    json_object_set_new(o, "product", web_jstr(m->product));
    json_object_set_new(o, "job_name", web_jstr(m->job_name));
    json_object_set_new(o, "status_hint", web_jstr(m->status_hint));
    json_object_set_new(o, "reason", web_jstr(m->reason));
    json_object_set_new(o, "state", web_jstr(m->state));
    json_object_set_new(o, "run_id", m->run_id ? json_integer(m->run_id) : json_null());
    json_object_set_new(o, "synthetic", json_boolean(m->synthetic));
    json_array_append_new(ud, o);
    return 0;
}

/* GET /api/v1/inbox?state=inbox|run|not_a_run|assigned|all&source=NAME&run=ID&limit&offset
 * (run=ID: the mails of one run, for its Download EML) */
void api_inbox(struct web_req *rq)
{
    static const char *const allowed[] = {"limit", "offset", "state", "source", "run", NULL};
    static const char *const states[] = {"inbox", "run", "not_a_run", "assigned", "all", NULL};
    int64_t limit, offset, run = 0;
    bool has_run = false;
    const char *state = NULL, *source = NULL;
    if (params_check_allowed(&rq->q, allowed, rq->msg, sizeof rq->msg) < 0 ||
        params_paging(&rq->q, &limit, &offset, rq->msg, sizeof rq->msg) < 0 ||
        (params_get(&rq->q, "state") &&
         params_enum(&rq->q, "state", states, &state, rq->msg, sizeof rq->msg) < 0) ||
        params_text(&rq->q, "source", 256, &source, rq->msg, sizeof rq->msg) < 0 ||
        params_int(&rq->q, "run", 1, INT64_MAX, &run, &has_run, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    if (!state)
        state = has_run ? "all" : "inbox";
    bool all = strcmp(state, "all") == 0;
    json_t *items = json_array();
    int64_t total = 0;
    struct bk_err err = {0};
    if (store_mail_list(rq->st, all ? NULL : state, source, has_run ? run : 0, limit, offset,
                        inbox_row, items, &total, &err) < 0) {
        json_decref(items);
        web_internal(rq, &err);
        return;
    }
    web_reply(rq, 200,
              json_pack("{s:o,s:I,s:I,s:I}", "items", items, "total", (json_int_t)total, "limit",
                        (json_int_t)limit, "offset", (json_int_t)offset));
}

/* GET /api/v1/inbox/{id}/raw: the stored mail as it arrived (message/rfc822). */
void api_inbox_raw(struct web_req *rq)
{
    static const char *const none[] = {NULL};
    if (params_check_allowed(&rq->q, none, rq->msg, sizeof rq->msg) < 0) {
        web_bad_request(rq);
        return;
    }
    char *raw = NULL;
    size_t len = 0;
    struct bk_err err = {0};
    int rc = store_mail_raw(rq->st, rq->id, &raw, &len, &err);
    if (rc == -BK_ENOTFOUND) {
        web_error(rq, 404, "not_found", "no mail %" PRId64, rq->id);
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    rq->status = 200;
    json_decref(rq->json);
    rq->json = NULL;
    free(rq->text);
    rq->text = raw;
    rq->text_is_json = false;
    rq->ctype = "message/rfc822";
    snprintf(rq->disposition, sizeof rq->disposition,
             "attachment; filename=\"mail-%" PRId64 ".eml\"", rq->id);
}

/* POST /api/v1/inbox/{id}/assign (operator, audited): {"job": ID} assigns the mail to a job,
 * {"create": {"name": N[, "customer": C]}} creates the job first (in the mail's source, for C
 * or the source's customer). The mail becomes a run of the job, and the next mail of that
 * sender with the same subject shape goes there itself. */
void api_inbox_assign(struct web_req *rq)
{
    json_t *job = json_object_get(rq->body, "job"), *create = json_object_get(rq->body, "create");
    const char *name = json_string_value(json_object_get(create, "name"));
    const char *customer = json_string_value(json_object_get(create, "customer"));
    bool by_id = json_is_integer(job) && json_integer_value(job) > 0 && !create;
    bool by_new = json_is_object(create) && !job && name && *name && strlen(name) <= 200 &&
                  !strpbrk(name, "\r\n") && (!customer || (*customer && strlen(customer) <= 200));
    if (json_object_size(rq->body) != 1 || !(by_id || by_new)) {
        web_error(rq, 400, "bad_request",
                  "body: {\"job\": ID} or {\"create\": {\"name\": NAME, \"customer\": C}} "
                  "(a name of one line, at most 200 bytes)");
        return;
    }
    int64_t job_id = by_id ? (int64_t)json_integer_value(job) : 0, run_id = 0;
    struct bk_err err = {0};
    int rc;
    if (by_id) {
        rc = store_mail_assign(rq->st, rq->id, job_id, rq->who.name, bk_now_ms(), &run_id, &err);
    } else {
        char src[256];
        rc = store_mail_source(rq->st, rq->id, src, &err);
        const struct bk_source_cfg *sc = rc >= 0 ? config_find_source(rq->w->cfg, src) : NULL;
        if (!customer)
            customer = sc && sc->customer ? sc->customer : *src ? src : "mail";
        if (rc >= 0)
            rc = store_mail_assign_new(rq->st, rq->id, customer, name, rq->who.name, bk_now_ms(),
                                       &job_id, &run_id, &err);
    }
    if (rc == -BK_ENOTFOUND) {
        web_error(rq, 404, "not_found", "%s", err.msg);
        return;
    }
    if (rc == -BK_EINVAL) {
        web_error(rq, 409, "conflict", "%s", err.msg);
        return;
    }
    if (rc < 0) {
        web_internal(rq, &err);
        return;
    }
    char target[32];
    snprintf(target, sizeof target, "mail:%" PRId64, rq->id);
    json_t *after = json_pack("{s:I,s:I,s:b}", "job", (json_int_t)job_id, "run", (json_int_t)run_id,
                              "created_job", by_new);
    web_audit(rq, "mail.assign", target, NULL, after);
    json_decref(after);
    web_changed(rq);
    web_reply(rq, 200,
              json_pack("{s:I,s:I,s:I,s:s}", "id", (json_int_t)rq->id, "job_id", (json_int_t)job_id,
                        "run_id", (json_int_t)run_id, "state", "assigned"));
}

/* The Duplicati parser (see parse_duplicati.h). */
#include "mail/parse_duplicati.h"

#include "mail/mime.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static enum bk_run_status result_status(const char *w)
{
    if (!w)
        return BK_RUN_UNKNOWN;
    if (strcmp(w, "Success") == 0)
        return BK_RUN_SUCCESS;
    if (strcmp(w, "Warning") == 0)
        return BK_RUN_WARNING;
    if (strcmp(w, "Error") == 0 || strcmp(w, "Fatal") == 0)
        return BK_RUN_FAILED;
    return BK_RUN_UNKNOWN;
}

static char *line_value(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
            const char *v = p + kl + 1;
            return mail_trim_dup(v, strcspn(v, "\r\n"));
        }
    }
    return NULL;
}

/* "1/24/2018 10:01:45 PM (1516852905)" -> the parenthesised Unix seconds, else ISO 8601. */
static int64_t time_value(const char *v)
{
    if (!v)
        return 0;
    const char *op = strrchr(v, '(');
    if (op) {
        char num[24];
        size_t n = strcspn(op + 1, ")");
        if (n < sizeof num) {
            memcpy(num, op + 1, n);
            num[n] = '\0';
            int64_t s;
            if (str_to_i64(num, &s) == 0 && s > 0 && s < 253402300800LL)
                return s * 1000;
        }
    }
    int64_t ms;
    return bk_parse_iso8601(v, &ms) == 0 ? ms : 0;
}

static int parse_json(const char *body, struct mail_result *r)
{
    json_error_t je;
    json_t *root = json_loads(body, JSON_REJECT_DUPLICATES, &je);
    json_t *data = root ? json_object_get(root, "Data") : NULL;
    if (!json_is_object(data)) {
        json_decref(root);
        return 0;
    }
    const char *pr = json_string_value(json_object_get(data, "ParsedResult"));
    r->status = result_status(pr);
    r->raw_status = xstrdup(pr ? pr : "none");
    const char *bt = json_string_value(json_object_get(data, "BeginTime"));
    const char *et = json_string_value(json_object_get(data, "EndTime"));
    int64_t ms;
    if (bt && bk_parse_iso8601(bt, &ms) == 0)
        r->start_ms = ms;
    if (et && bk_parse_iso8601(et, &ms) == 0)
        r->end_ms = ms;
    json_t *extra = json_object_get(root, "Extra");
    const char *bn = json_string_value(json_object_get(extra, "backup-name"));
    if (bn && !r->job_name)
        r->job_name = mail_utf8_clean(bn, strlen(bn));
    json_decref(root);
    return 1;
}

int mail_parse_duplicati(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                         struct mail_result *r)
{
    const char *text = *m->text ? m->text : m->html_text;
    const char *rf = mail_strcasestr(m->subject, "report for ");
    bool subj = mail_strcasestr(m->subject, "Duplicati") && rf;
    bool body = strstr(text, "ParsedResult") &&
                (subj || strstr(text, "MainOperation") || strstr(text, "\"Data\""));
    bool failed_form = subj && strstr(text, "Failed:");
    if (!subj && !body)
        return 0;
    if (!body && !failed_form)
        return 0;
    r->kind = MAIL_RUN;
    r->product = "duplicati";
    r->job_type = xstrdup("Backup");
    if (rf) {
        const char *n = rf + strlen("report for ");
        r->job_name = mail_trim_dup(n, strcspn(n, "(\r\n"));
    }
    const char *brace = text;
    while (*brace == ' ' || *brace == '\n' || *brace == '\r' || *brace == '\t')
        brace++;
    if (*brace == '{' && parse_json(brace, r))
        return 1;
    char *pr = line_value(text, "ParsedResult");
    char *fl = line_value(text, "Failed");
    if (pr) {
        r->status = result_status(pr);
        r->raw_status = pr;
    } else if (fl) {
        r->status = BK_RUN_FAILED;
        r->raw_status = xstrdup("Failed");
    } else {
        r->status = BK_RUN_UNKNOWN;
        r->raw_status = xstrdup("none");
    }
    if (fl) {
        char *det = line_value(text, "Details");
        r->message = det ? xasprintf("%s\n%s", fl, det) : xstrdup(fl);
        free(det);
        if (r->status == BK_RUN_SUCCESS) /* a Failed: line never reads as success */
            r->status = BK_RUN_FAILED;
    }
    free(fl);
    char *bt = line_value(text, "BeginTime"), *et = line_value(text, "EndTime");
    r->start_ms = time_value(bt);
    r->end_ms = time_value(et);
    free(bt);
    free(et);
    return 1;
}

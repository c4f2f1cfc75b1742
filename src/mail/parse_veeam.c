/* The Veeam session-report parser (see parse_veeam.h). */
#include "mail/parse_veeam.h"

#include "mail/html.h"
#include "mail/mime.h"
#include "util/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum bk_run_status mail_veeam_status(const char *w)
{
    if (!w)
        return BK_RUN_UNKNOWN;
    while (*w == ' ')
        w++;
    static const struct {
        const char *word;
        enum bk_run_status st;
    } map[] = {{"Success", BK_RUN_SUCCESS}, {"Warning", BK_RUN_WARNING}, {"None", BK_RUN_WARNING},
               {"Pending", BK_RUN_WARNING}, {"Failed", BK_RUN_FAILED},   {"Error", BK_RUN_FAILED},
               {"Running", BK_RUN_RUNNING}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i].word);
        if (strncasecmp(w, map[i].word, n) == 0 && !isalpha((unsigned char)w[n]))
            return map[i].st;
    }
    return BK_RUN_UNKNOWN;
}

static int worse(enum bk_run_status a, enum bk_run_status b)
{
    static const int rank[] = {[BK_RUN_SUCCESS] = 1, [BK_RUN_WARNING] = 2, [BK_RUN_FAILED] = 4,
                               [BK_RUN_RUNNING] = 0, [BK_RUN_MISSED] = 3,  [BK_RUN_UNKNOWN] = 3};
    return rank[a] >= rank[b] ? (int)a : (int)b;
}

/* The first line of a cell, as a fresh string. */
static char *first_line(const char *s)
{
    return mail_trim_dup(s, strcspn(s, "\n"));
}

/* "Backup job: DC-Daily" -> type "Backup", name "DC-Daily" (minus a session suffix). */
static bool split_header(const char *cell, char **type, char **name)
{
    char *line = first_line(cell);
    char *c = strstr(line, " job: ");
    bool ok = false;
    if (c && c > line && c - line < 40) {
        size_t tl = (size_t)(c - line);
        bool letters = true; /* a job type is a few words: "Backup Copy", "Agent Backup" */
        for (size_t i = 0; i < tl; i++)
            if (!(isalpha((unsigned char)line[i]) || line[i] == ' ' || line[i] == '-'))
                letters = false;
        char *n = mail_trim_dup(c + 6, strlen(c + 6));
        /* strip one trailing "(Full)", "(Incremental)", "(Retry N)", "(Active Full)" */
        size_t nl = strlen(n);
        if (nl && n[nl - 1] == ')') {
            char *op = strrchr(n, '(');
            if (op && op > n &&
                (strcmp(op, "(Full)") == 0 || strcmp(op, "(Incremental)") == 0 ||
                 strcmp(op, "(Active Full)") == 0 || strncmp(op, "(Retry ", 7) == 0)) {
                *op = '\0';
                char *t = mail_trim_dup(n, strlen(n));
                free(n);
                n = t;
            }
        }
        if (letters && *n) {
            *type = mail_trim_dup(line, tl);
            *name = n;
            ok = true;
        } else {
            free(n);
        }
    }
    free(line);
    return ok;
}

static bool label_is(const char *cell, const char *label)
{
    /* "Start\ntime" in forwarded mails: compare with whitespace collapsed */
    const char *a = cell, *b = label;
    while (*a && *b) {
        if (isspace((unsigned char)*a) && *b == ' ') {
            while (isspace((unsigned char)*a))
                a++;
            b++;
            continue;
        }
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
        a++, b++;
    }
    while (*a == ':' || isspace((unsigned char)*a))
        a++;
    return !*a && !*b;
}

/* The subject's [Success|Warning|Failed] hint, anywhere in it (a garbage prefix is common). */
static enum bk_run_status subject_status(const char *subj, char *word, size_t wsz)
{
    static const char *const words[] = {"[Success]", "[Warning]", "[Failed]", "[Error]"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        const char *p = mail_strcasestr(subj, words[i]);
        if (p) {
            size_t n = strlen(words[i]) - 2;
            if (n >= wsz)
                n = wsz - 1;
            memcpy(word, p + 1, n);
            word[n] = '\0';
            return mail_veeam_status(word);
        }
    }
    /* "[Veeam] Failed - SQL-Nightly": a bare word right after a bracket tag */
    const char *p = strchr(subj, ']');
    if (p) {
        enum bk_run_status st = mail_veeam_status(p + 1);
        if (st != BK_RUN_UNKNOWN) {
            const char *w = p + 1;
            while (*w == ' ')
                w++;
            size_t n = strcspn(w, " -");
            if (n >= wsz)
                n = wsz - 1;
            memcpy(word, w, n);
            word[n] = '\0';
            return st;
        }
    }
    word[0] = '\0';
    return BK_RUN_UNKNOWN;
}

int mail_parse_veeam(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                     struct mail_result *r)
{
    bool fingerprint = strstr(m->html, "processObjectsHeader") || strstr(m->html, "sessionDetails");
    if (!fingerprint || mail_strcasestr(m->html_text, "Veeam Backup for Microsoft 365"))
        return 0;
    size_t hdr = m->nrows, objs = m->nrows;
    for (size_t i = 0; i < m->nrows && hdr == m->nrows; i++) {
        const struct mail_html_row *row = &m->rows[i];
        if (row->ncells >= 1 && row->ncells <= 3 &&
            split_header(row->cells[0], &r->job_type, &r->job_name))
            hdr = i;
    }
    if (hdr == m->nrows)
        return 0; /* a Veeam report that is no session: the not-a-run parser's */
    bool agent = strncmp(r->job_type, "Agent", 5) == 0 ||
                 (mail_strcasestr(m->html_text, "Veeam Agent for") &&
                  !mail_strcasestr(m->html_text, "Veeam Backup & Replication"));
    r->product = agent ? "veeam_agent" : "veeam_vbr";
    r->kind = MAIL_RUN;
    r->group_retries = true;

    /* status: the header's right cell, reconciled with the subject (the worse wins) */
    const struct mail_html_row *h = &m->rows[hdr];
    char *word = h->ncells >= 2 ? first_line(h->cells[1]) : xstrdup("");
    enum bk_run_status st = mail_veeam_status(word);
    char sw[16];
    enum bk_run_status sst = subject_status(m->subject, sw, sizeof sw);
    if (st == BK_RUN_UNKNOWN && sst != BK_RUN_UNKNOWN) {
        free(word);
        word = xstrdup(sw);
        st = sst;
    } else if (sst != BK_RUN_UNKNOWN && worse(sst, st) != (int)st) {
        free(word);
        word = xstrdup(sw);
        st = sst;
    }
    r->status = st;
    r->raw_status = *word ? word : (free(word), xstrdup("none"));

    /* the session grid: label cells followed by their values */
    int64_t day = -1;
    int sess_sec = -1, start_sec = -1, end_sec = -1, plus = 0;
    struct {
        char *v;
    } msg = {0};
    for (size_t i = hdr + 1; i < m->nrows; i++) {
        const struct mail_html_row *row = &m->rows[i];
        if (row->tr_class && strcmp(row->tr_class, "processObjectsHeader") == 0) {
            objs = i;
            break;
        }
        for (size_t c = 0; c < row->ncells; c++) {
            const char *cell = row->cells[c];
            if (row->cell_class[c] && strcmp(row->cell_class[c], "sessionDetails") == 0) {
                if (day < 0)
                    day = mail_parse_long_date(cell, &sess_sec);
                continue;
            }
            if (c + 1 < row->ncells && label_is(cell, "Start time") && start_sec < 0)
                start_sec = mail_parse_clock(row->cells[c + 1], NULL);
            else if (c + 1 < row->ncells && label_is(cell, "End time") && end_sec < 0)
                end_sec = mail_parse_clock(row->cells[c + 1], &plus);
            else if (c == 8 && *cell && !msg.v) /* the rowspan cell: session messages */
                msg.v = xstrdup(cell);
        }
    }
    r->message = msg.v;
    if (start_sec < 0)
        start_sec = sess_sec;
    if (day < 0 && m->date_ms) {
        /* no date in the body: the mail was sent at (or just after) the end */
        int sent_sec;
        int64_t sent_day = mail_local_days(ctx ? ctx->tz : NULL, m->date_ms, &sent_sec);
        int64_t end_day = sent_day;
        if (end_sec >= 0 && end_sec > sent_sec + 3600)
            end_day--; /* ended before midnight, mailed after it */
        day = end_day - (end_sec >= 0 ? plus : 0);
    }
    if (day >= 0 && start_sec >= 0)
        r->start_ms = mail_local_to_utc_ms(ctx ? ctx->tz : NULL, day, start_sec);
    if (day >= 0 && end_sec >= 0) {
        int64_t eday = day + plus;
        if (!plus && start_sec >= 0 && end_sec < start_sec)
            eday++; /* an end before the start without "(+1)": past midnight all the same */
        r->end_ms = mail_local_to_utc_ms(ctx ? ctx->tz : NULL, eday, end_sec);
    }

    mail_veeam_objects(m, objs, r);
    return 1;
}

void mail_veeam_objects(const struct mail_msg *m, size_t from, struct mail_result *r)
{
    for (size_t objs = from; objs < m->nrows; objs++) {
        if (!m->rows[objs].tr_class || strcmp(m->rows[objs].tr_class, "processObjectsHeader") != 0)
            continue;
        const struct mail_html_row *oh = &m->rows[objs];
        int ci_name = -1, ci_status = -1, ci_details = -1;
        for (size_t c = 0; c < oh->ncells; c++) {
            if (label_is(oh->cells[c], "Name"))
                ci_name = (int)c;
            else if (label_is(oh->cells[c], "Status"))
                ci_status = (int)c;
            else if (label_is(oh->cells[c], "Details"))
                ci_details = (int)c;
        }
        if (ci_name < 0)
            ci_name = 0;
        size_t i;
        for (i = objs + 1; i < m->nrows; i++) {
            const struct mail_html_row *row = &m->rows[i];
            if (row->ncells < 2 || (size_t)ci_name >= row->ncells ||
                (row->tr_class && strcmp(row->tr_class, "processObjectsHeader") == 0))
                break;
            const char *sraw =
                ci_status >= 0 && (size_t)ci_status < row->ncells ? row->cells[ci_status] : "";
            const char *det =
                ci_details >= 0 && (size_t)ci_details < row->ncells ? row->cells[ci_details] : NULL;
            char *name = first_line(row->cells[ci_name]);
            char *sword = first_line(sraw);
            mail_result_add_object(r, name, mail_veeam_status(sword), sword, det);
            free(name);
            free(sword);
        }
        objs = i - 1;
    }
}

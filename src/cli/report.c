/* Report rendering. The text layout is the Absyss script's (50 '=' frames, "Key: value"
 * lines), so log parsers written for it keep working; labels switch language with --lang. */
#include "cli/report.h"

#include "json/jsonu.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *const FRAME = "==================================================";
static const char *const SEP = "--------------------------------------------------";

enum label {
    L_TITLE,
    L_TIMESTAMP,
    L_BACKUP_NAME,
    L_JOB_ID,
    L_STATUS,
    L_START,
    L_END,
    L_PROGRESS,
    L_ERROR,
    L_DETAILS,
    L_JOBS,
    L_MESSAGE,
    L_COUNT,
};

static const char *const labels[2][L_COUNT] = {
    [LANG_EN] =
        {
            [L_TITLE] = "HYCU BACKUP EXECUTION REPORT",
            [L_TIMESTAMP] = "Timestamp",
            [L_BACKUP_NAME] = "Backup Name",
            [L_JOB_ID] = "Job ID",
            [L_STATUS] = "Status",
            [L_START] = "Start Time",
            [L_END] = "End Time",
            [L_PROGRESS] = "Progress",
            [L_ERROR] = "Error",
            [L_DETAILS] = "Details",
            [L_JOBS] = "Jobs",
            [L_MESSAGE] = "Message",
        },
    [LANG_FR] =
        {
            [L_TITLE] = "RAPPORT D'EXÉCUTION DE LA SAUVEGARDE HYCU",
            [L_TIMESTAMP] = "Horodatage",
            [L_BACKUP_NAME] = "Nom de la sauvegarde",
            [L_JOB_ID] = "ID du job",
            [L_STATUS] = "Statut",
            [L_START] = "Heure de début",
            [L_END] = "Heure de fin",
            [L_PROGRESS] = "Progression",
            [L_ERROR] = "Erreur",
            [L_DETAILS] = "Détails",
            [L_JOBS] = "Jobs",
            [L_MESSAGE] = "Message",
        },
};

void backup_result_free(struct backup_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->njobs; i++) {
        free(r->jobs[i].id);
        hycu_job_clear(&r->jobs[i].job);
    }
    free(r->jobs);
    free(r->backup_name);
    free(r->entity_uuid);
    free(r->error);
    memset(r, 0, sizeof *r);
}

static json_t *time_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[32];
    bk_iso8601(ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *report_json(const struct backup_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "timestamp", time_or_null(r->timestamp_ms));
    json_object_set_new(o, "backup_name", str_or_null(r->backup_name));
    json_object_set_new(o, "target_type", str_or_null(r->kind));
    json_object_set_new(o, "uuid", str_or_null(r->entity_uuid));
    json_object_set_new(o, "status", json_string(r->status ? r->status : "error"));
    json_object_set_new(o, "exit_code", json_integer(r->exit_code));
    json_object_set_new(o, "error", str_or_null(r->error));
    json_t *jobs = json_array();
    for (size_t i = 0; i < r->njobs; i++) {
        const struct backup_job_result *j = &r->jobs[i];
        json_t *jo = json_object();
        json_object_set_new(jo, "job_id", json_string(j->id));
        json_object_set_new(jo, "status", str_or_null(j->status));
        json_object_set_new(jo, "raw_status", str_or_null(j->job.raw_status));
        json_object_set_new(jo, "start_time", time_or_null(j->job.start_ms));
        json_object_set_new(jo, "end_time", time_or_null(j->job.end_ms));
        json_object_set_new(jo, "progress",
                            j->job.raw_status && j->job.pct >= 0
                                ? json_integer((json_int_t)(j->job.pct + 0.5))
                                : json_null());
        json_object_set_new(jo, "error", str_or_null(j->job.message));
        json_array_append_new(jobs, jo);
    }
    json_object_set_new(o, "jobs", jobs);
    return o;
}

static void line_time(FILE *f, const char *label, int64_t ms)
{
    char buf[32] = "";
    if (ms > 0)
        bk_iso8601(ms, buf, sizeof buf);
    fprintf(f, "%s: %s\n", label, ms > 0 ? buf : "N/A");
}

static void write_job(FILE *f, const struct backup_job_result *j, const char *const *L,
                      const char *run_error)
{
    fprintf(f, "%s: %s\n", L[L_JOB_ID], j->id);
    fprintf(f, "%s: %s\n", L[L_STATUS], j->job.raw_status ? j->job.raw_status : "UNKNOWN");
    line_time(f, L[L_START], j->job.start_ms);
    line_time(f, L[L_END], j->job.end_ms);
    if (j->job.raw_status && j->job.pct >= 0)
        fprintf(f, "%s: %d%%\n", L[L_PROGRESS], (int)(j->job.pct + 0.5));
    /* HYCU's exit message is an error only when the job did not end OK; a run-level error
     * (timeout, interruption) always is. */
    bool job_ok =
        j->job.state == HYCU_OK || j->job.state == HYCU_QUEUED || j->job.state == HYCU_EXECUTING;
    if (run_error)
        fprintf(f, "%s: %s\n", L[L_ERROR], run_error);
    if (j->job.message)
        fprintf(f, "%s: %s\n", run_error || job_ok ? L[L_MESSAGE] : L[L_ERROR], j->job.message);
    if (j->job.details) {
        fprintf(f, "%s:\n", L[L_DETAILS]);
        const char *p = j->job.details;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(f, "  %.*s\n", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
}

void report_write_text(FILE *f, const struct backup_result *r, enum report_lang lang)
{
    const char *const *L = labels[lang == LANG_FR ? LANG_FR : LANG_EN];
    char ts[32];
    bk_iso8601(r->timestamp_ms, ts, sizeof ts);
    fprintf(f, "%s\n%s\n%s\n", FRAME, L[L_TITLE], FRAME);
    fprintf(f, "%s: %s\n", L[L_TIMESTAMP], ts);
    if (r->njobs == 1) {
        write_job(f, &r->jobs[0], L, r->error);
    } else {
        if (r->backup_name)
            fprintf(f, "%s: %s\n", L[L_BACKUP_NAME], r->backup_name);
        fprintf(f, "%s: %s\n", L[L_STATUS], r->status ? r->status : "error");
        if (r->njobs)
            fprintf(f, "%s: %zu\n", L[L_JOBS], r->njobs);
        if (r->error)
            fprintf(f, "%s: %s\n", L[L_ERROR], r->error);
        for (size_t i = 0; i < r->njobs; i++) {
            fprintf(f, "%s\n", SEP);
            write_job(f, &r->jobs[i], L, NULL);
        }
    }
    fprintf(f, "%s\n", FRAME);
}

void report_write(FILE *f, const struct backup_result *r, enum report_format fmt,
                  enum report_lang lang)
{
    if (fmt == REPORT_JSON) {
        json_t *o = report_json(r);
        json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', f);
        json_decref(o);
    } else {
        report_write_text(f, r, lang);
    }
    fflush(f);
}

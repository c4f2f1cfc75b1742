/* The backup's own run in the store: see backup_record.h. */
#include "cli/backup_record.h"

#include "config/config.h"
#include "providers/hycu.h"
#include "store/store.h"
#include "store/trigger.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct backup_record {
    struct bk_config *cfg;
    struct bk_store *store;
    const struct bk_source_cfg *src;
    int64_t source_id;
};

/* "https://HYCU:8443/" and "https://hycu:8443/rest/v1.0" are the same controller. */
static size_t url_key(const char *u)
{
    size_t n = strlen(u);
    while (n && u[n - 1] == '/')
        n--;
    static const char rest[] = "/rest/v1.0";
    if (n >= sizeof rest - 1 && strncasecmp(u + n - (sizeof rest - 1), rest, sizeof rest - 1) == 0)
        n -= sizeof rest - 1;
    while (n && u[n - 1] == '/')
        n--;
    return n;
}

static bool same_url(const char *a, const char *b)
{
    size_t na = url_key(a), nb = url_key(b);
    return na == nb && strncasecmp(a, b, na) == 0;
}

static int pick_source(const struct bk_config *cfg, const char *path, const char *name,
                       const char *url, const struct bk_source_cfg **out, struct bk_err *err)
{
    if (name) {
        const struct bk_source_cfg *s = config_find_source(cfg, name);
        if (!s)
            return bk_err_set(err, BK_EINVAL, "--source %.100s: no such [source] in %.200s", name,
                              path);
        if (s->type != BK_SOURCE_HYCU)
            return bk_err_set(err, BK_EINVAL, "--source %.100s: a %s source, not hycu", name,
                              bk_source_type_name(s->type));
        *out = s;
        return 0;
    }
    const struct bk_source_cfg *found = NULL;
    size_t n = 0;
    for (size_t i = 0; i < cfg->nsources; i++) {
        const struct bk_source_cfg *s = &cfg->sources[i];
        if (s->type == BK_SOURCE_HYCU && s->url && same_url(s->url, url)) {
            found = s;
            n++;
        }
    }
    if (n == 1) {
        *out = found;
        return 0;
    }
    if (n)
        return bk_err_set(err, BK_EINVAL,
                          "--config %.200s: %zu hycu sources have the url %.200s; name one with"
                          " --source",
                          path, n, url);
    return bk_err_set(err, BK_EINVAL,
                      "--config %.200s: no hycu [source] has the url %.200s; add one or name one"
                      " with --source",
                      path, url);
}

int backup_record_open(const char *config_path, const char *source, const char *url,
                       struct backup_record **out, struct bk_err *err)
{
    *out = NULL;
    struct backup_record *br = xcalloc(1, sizeof *br);
    int rc = config_load(config_path, &br->cfg, err);
    if (rc >= 0)
        rc = pick_source(br->cfg, config_path, source, url, &br->src, err);
    if (rc >= 0 && (rc = store_open(br->cfg, &br->store, err)) < 0)
        bk_err_prefix(err, "--config %.200s: ", config_path);
    if (rc >= 0 && (rc = store_source_sync(br->store, br->src, &br->source_id, err)) < 0)
        bk_err_prefix(err, "--config %.200s: ", config_path);
    if (rc < 0) {
        backup_record_close(br);
        return rc;
    }
    *out = br;
    return 0;
}

void backup_record_write(struct backup_record *br, const struct backup_result *r)
{
    if (!br || r->njobs == 0)
        return;
    bool policy = r->kind && strcmp(r->kind, "policy") == 0;
    enum hycu_kind k = HYCU_VM;
    if (r->kind && hycu_kind_parse(r->kind, &k) < 0)
        k = HYCU_VM;
    struct store_trigger_job job = {
        .external_id = r->entity_uuid,
        .name = r->backup_name,
        .kind = hycu_poll_kind_name(k),
    };
    struct store_trigger_run *runs = xcalloc(r->njobs, sizeof *runs);
    const char *self[1] = {r->entity_uuid};
    size_t n = 0;
    for (size_t i = 0; i < r->njobs; i++) {
        const struct backup_job_result *jr = &r->jobs[i];
        const struct hycu_job *j = &jr->job;
        bool read = j->raw_status != NULL;
        if (policy && !read)
            continue; /* its VM is named by the job's entity map, not read yet */
        runs[n++] = (struct store_trigger_run){
            .job_external_ids = policy ? (const char *const *)j->entity_ids : self,
            .n_ids = policy ? j->n_entity_ids : 1,
            .vendor_run_id = jr->id,
            .start_ms = read ? j->start_ms : 0,
            .end_ms = read && hycu_job_is_final(j) ? j->end_ms : 0,
            .status = read ? hycu_state_status(j->state) : BK_RUN_RUNNING,
            .raw_status = read ? j->raw_status : "",
            .message = read ? j->message : NULL,
        };
    }
    struct store_trigger_result res;
    struct bk_err err = {0};
    const char *customer = br->src->customer ? br->src->customer : br->src->name;
    if (n == 0) {
        free(runs);
        return;
    }
    if (store_trigger_record(br->store, br->source_id, customer, policy ? NULL : &job, runs, n,
                             bk_now_ms(), &res, &err) < 0)
        log_warn("the run could not be recorded in backupctl's store: %s", err.msg);
    else {
        log_debug("store: %d run(s) recorded, %d of a job not polled yet, %d reviewed", res.written,
                  res.skipped, res.reviewed);
        if (res.skipped)
            log_info("%d job(s) of VMs that source \"%s\" has not polled yet: the next poll "
                     "records them",
                     res.skipped, br->src->name);
    }
    free(runs);
}

void backup_record_close(struct backup_record *br)
{
    if (!br)
        return;
    store_close(br->store);
    config_free(br->cfg);
    free(br);
}

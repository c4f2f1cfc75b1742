/* HYCU controller client: inventory lookup, run-now triggers, job polling and cancel over
 * the real /rest/v1.0 API, plus the v1 dialect of the Absyss vtom-hycu script
 * (POST /api/v1/backups, GET /api/v1/backups/{id}/status). Never touches a store.
 * Not thread-safe: one instance per thread. */
#ifndef BK_PROVIDERS_HYCU_H
#define BK_PROVIDERS_HYCU_H

#include "core/model.h"
#include "http/http.h"
#include "providers/hycu_parse.h"

#include <jansson.h>

struct bk_err;
struct hycu;

enum hycu_dialect { HYCU_DIALECT_REST = 0, HYCU_DIALECT_V1 };

struct hycu_cfg {
    const char *url; /* controller base, e.g. https://hycu:8443 (borrowed) */
    enum hycu_dialect dialect;
    const char *token;    /* API key → Bearer (borrowed; registered as a log secret) */
    const char *username; /* Basic auth when token is NULL */
    const char *password;
    struct http_opts http;
    int page_size; /* default 100 */
};

/* 0 and *out set, or -BK_EINVAL (bad URL) / -BK_EIO. Caller frees with hycu_close(). */
int hycu_open(const struct hycu_cfg *cfg, struct hycu **out, struct bk_err *err);
void hycu_close(struct hycu *h);
struct http_client *hycu_http(struct hycu *h);

/* Every entity of one kind (all pages). Appends to out. */
int hycu_list(struct hycu *h, enum hycu_kind kind, struct hycu_entity_list *out,
              struct bk_err *err);
/* Entities whose name equals name exactly, among the kinds in kinds (HYCU_KIND_BIT mask). */
int hycu_lookup(struct hycu *h, const char *name, unsigned kinds, struct hycu_entity_list *out,
                struct bk_err *err);
/* Entity by uuid among kinds (first kind that knows it). -BK_ENOTFOUND when none does. */
int hycu_get_entity(struct hycu *h, const char *uuid, unsigned kinds, struct hycu_entity *out,
                    struct bk_err *err);

struct hycu_trigger_opts {
    bool force_full;
    const char *target_uuid; /* HYCU backup target, may be NULL */
    /* Monotonic ms until which the "did it start anyway?" lookup is retried after a trigger
     * that got a timeout or 5xx; 0 = 10 minutes from the trigger. */
    int64_t lookup_deadline_ms;
};

/* The answer to "is a job of this entity running?". UNKNOWN is never read as NONE. */
enum hycu_running {
    HYCU_RUNNING_FOUND = 0, /* yes: the job uuids are known */
    HYCU_RUNNING_NONE,      /* HYCU's listing positively shows none */
    HYCU_RUNNING_UNKNOWN,   /* the listing or a job check failed */
};

/* Start a backup of e now (a policy = all its VMs). Job uuids are appended to ids. The POST
 * is retried by the HTTP layer only when it never reached the server. After a timeout or 5xx
 * the running jobs of e are looked up — a read, retried with backoff until
 * o->lookup_deadline_ms — and attached to; the POST is sent again only when that lookup
 * answered NONE. *lookup (may be NULL) gets the last lookup's answer (NONE when none was
 * needed): on failure, UNKNOWN means a backup may have started and nothing was posted again. */
int hycu_trigger(struct hycu *h, const struct hycu_entity *e, const struct hycu_trigger_opts *o,
                 struct hycu_strlist *ids, enum hycu_running *lookup, struct bk_err *err);
/* Jobs of e that are QUEUED/EXECUTING/ABORTING, matched by every page of GET /jobs then the
 * entity map of GET /jobs/{uuid} (see docs/hycu.md); uuids appended to ids. One attempt (each
 * request retried by the HTTP layer), no loop. */
enum hycu_running hycu_running_lookup(struct hycu *h, const struct hycu_entity *e,
                                      struct hycu_strlist *ids, struct bk_err *err);
/* hycu_running_lookup as 0 (FOUND or NONE: ids tells) or a negative error (UNKNOWN). */
int hycu_find_running(struct hycu *h, const struct hycu_entity *e, struct hycu_strlist *ids,
                      struct bk_err *err);
/* The current state of a job. */
int hycu_get_job(struct hycu *h, const char *job_id, struct hycu_job *out, struct bk_err *err);
/* Kill a job (DELETE /jobs/{uuid}, or DELETE /api/v1/backups/{id} in the v1 dialect). */
int hycu_cancel_job(struct hycu *h, const char *job_id, struct bk_err *err);
/* v1 dialect trigger: body {"name", "timestamp", …extra} (extra borrowed, may be NULL). */
int hycu_v1_trigger(struct hycu *h, const char *name, const json_t *extra, char **job_id,
                    struct bk_err *err);
/* Resolve a backup target by name or uuid to its uuid (GET /targets). Caller frees *uuid. */
int hycu_resolve_target(struct hycu *h, const char *name_or_uuid, char **uuid, struct bk_err *err);

struct hycu_poll_stats {
    int64_t devices; /* inventory entities */
    int64_t runs;    /* runs delivered */
    int64_t pages;   /* listing pages read */
};

/* Monitoring poll: the inventory (VMs, applications, shares, volume groups) as jobs of
 * customer, then backup runs from every page of GET /jobs — each job judged by its own
 * createdTime, never by where the listing puts it (orderBy is asked for, not relied on),
 * looking back to the previous poll's threshold so a job one listing skipped is found by the
 * next (docs/hycu.md) — plus a re-read of the jobs that were still running then.
 * state_in is the cursor saved by the previous poll (NULL on the first poll, which keeps the
 * newest history_pages × page_size jobs); *state_out receives the new cursor (caller frees).
 * Job types: see hycu_job_type_parse(); unknown ones are delivered with status unknown. cb
 * gets the records in batches. */
int hycu_poll(struct hycu *h, const char *customer, int history_pages, const char *state_in,
              int64_t now_ms, bk_batch_fn cb, void *ud, struct hycu_poll_stats *stats,
              char **state_out, struct bk_err *err);

/* The job kind the monitoring poll stores for an entity kind: vm, application, share,
 * volumegroup (policy for a policy, which is never a job of its own). */
const char *hycu_poll_kind_name(enum hycu_kind k);

#endif

/* Pure parsing of HYCU controller replies (no I/O; fuzzed): the /rest/v1.0 envelope
 * {version, entities, metadata, message} — tolerating a bare object and string entities —,
 * inventory entities, jobs, run-now replies, and the v1 dialect of the Absyss script. */
#ifndef BK_PROVIDERS_HYCU_PARSE_H
#define BK_PROVIDERS_HYCU_PARSE_H

#include "core/status.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;

enum hycu_kind { HYCU_VM = 0, HYCU_APP, HYCU_SHARE, HYCU_VG, HYCU_POLICY, HYCU_KIND_COUNT };
#define HYCU_KIND_BIT(k) (1u << (k))
#define HYCU_KIND_ALL ((1u << HYCU_KIND_COUNT) - 1)

/* Job states of HYCU 5.2 (GetJobDTO.status) plus "a word we do not know". */
enum hycu_state {
    HYCU_QUEUED = 0,
    HYCU_EXECUTING,
    HYCU_ABORTING,
    HYCU_OK,
    HYCU_WARNING,
    HYCU_ERROR,
    HYCU_FATAL,
    HYCU_ABORTED,
    HYCU_UNDEFINED,
    HYCU_UNMAPPED,
};

struct hycu_entity {
    enum hycu_kind kind;
    char *uuid;
    char *name;
    char *policy_uuid; /* protectionGroupUuid, may be NULL */
    int64_t rpo_s;     /* policies: the RPO in seconds (hycu_parse_rpo), 0 = none given */
};

struct hycu_entity_list {
    struct hycu_entity *v;
    size_t n, cap;
};

struct hycu_job {
    char *uuid;
    char *task_name;
    char *raw_status; /* vendor word, never NULL after a successful parse */
    enum hycu_state state;
    double pct;        /* 0..100, or -1 when the reply had no progress */
    int64_t start_ms;  /* 0 = unknown */
    int64_t end_ms;    /* 0 = not finished / unknown */
    char *message;     /* taskExitMessage title (or v1 error_message), may be NULL */
    char *details;     /* taskExitMessage details (or v1 details as "k: v" lines), may be NULL */
    char **entity_ids; /* uuids found in entityMap (keys and string values), may be empty */
    size_t n_entity_ids;
    char *type; /* the job's "type" word as HYCU sent it, may be NULL */
};

/* What a job's "type" says it is. The reference gives no list of job types (its sample says
 * "type": "…"), so the word is read loosely: see hycu_job_type_parse(). */
enum hycu_job_type {
    HYCU_JOB_BACKUP = 0, /* a backup (or no type at all: the run-now jobs we start) */
    HYCU_JOB_OTHER,      /* clearly not a backup: restore, archive, mount, expiry, … */
    HYCU_JOB_UNKNOWN,    /* a word we cannot place: kept, stored with status unknown */
};

struct hycu_page {
    json_t *root;        /* owned */
    json_t *entities;    /* owned reference: always an array */
    int64_t total;       /* metadata.totalEntityCount, -1 when absent */
    const char *message; /* borrowed from root: message.titleDescriptionEn, may be NULL */
};

struct hycu_strlist {
    char **v;
    size_t n, cap;
};

/* Parse an envelope. A bare object becomes a one-element entities array; a missing
 * entities key an empty one. 0 or -BK_EPROTO. Free with hycu_page_free() (NULL-safe). */
int hycu_parse_page(const char *body, size_t len, struct hycu_page *out, struct bk_err *err);
void hycu_page_free(struct hycu_page *p);
/* Human text of an error envelope (message.titleDescriptionEn/detailsDescriptionEn), or NULL.
 * Caller frees. */
char *hycu_parse_error_text(const char *body, size_t len);

/* Fill out from one inventory object (vmName for VMs, name otherwise). Strings are copied.
 * 0, or -BK_EPROTO when uuid or name is missing. */
int hycu_parse_entity(const json_t *obj, enum hycu_kind kind, struct hycu_entity *out,
                      struct bk_err *err);
void hycu_entity_clear(struct hycu_entity *e);
/* A policy's RPO (GetPolicyExDTO.rpo) in seconds. The reference names the field but pins
 * neither unit nor shape, so every plausible one is read:
 *  - a number (or a string of one): >= 900,000 is milliseconds (HYCU's times are epoch ms),
 *    900 .. 899,999 seconds, below 900 hours ("24"): ranges where the common RPOs (15 min to
 *    a week) cannot be read two ways;
 *  - a duration text: "4h", "1d", "1h30m", "4 hours", "90 minutes", ISO 8601 "PT4H", "P1D";
 *  - an object {value|amount|duration: N, unit|timeUnit|units: "HOURS"} (no unit: as a number).
 * true with *out_s in [60 s, 366 d]; false for anything else (no RPO is better than a wrong
 * one: it would make Missed runs). */
bool hycu_parse_rpo(const json_t *v, int64_t *out_s);
void hycu_entity_list_push(struct hycu_entity_list *l, struct hycu_entity *e); /* takes e */
void hycu_entity_list_free(struct hycu_entity_list *l);

/* Parse a job object (GetJobDTO/GetJobExDTO). 0 or -BK_EPROTO (no uuid/status). Strings
 * copied; release with hycu_job_clear(). completitionPct is a 0..1 fraction on 5.2, but a
 * controller may send a percent: a value above 1 is a percent; below 1 a fraction; exactly 1
 * is 100 % only when the job ended OK or WARNING, else 1 % (a running or failed job at "1" is
 * far likelier 1 % than done). */
int hycu_parse_job(const json_t *obj, struct hycu_job *out, struct bk_err *err);
void hycu_job_clear(struct hycu_job *j);

/* Job uuids of a run-now reply: entities as strings, or objects with jobUuid/uuid. 0, or
 * -BK_EPROTO when there is none. */
int hycu_parse_trigger(const char *body, size_t len, struct hycu_strlist *ids, struct bk_err *err);

/* v1 dialect: {"job_id", "status"} and {"status", "progress", "start_time", …}. */
int hycu_v1_parse_trigger(const char *body, size_t len, char **job_id, struct bk_err *err);
int hycu_v1_parse_status(const char *body, size_t len, const char *job_id, struct hycu_job *out,
                         struct bk_err *err);

enum hycu_state hycu_state_parse(const char *word);
/* Classify a job "type" word, case-insensitively, with ' ', '-' and '_' alike: a word made of
 * tokens that include BACKUP (or BACKUPS) and none of the non-backup verbs (RESTORE, COPY,
 * ARCHIVE, EXPIRE, DELETE, MOUNT, VALIDATION, …) is a backup ("BACKUP", "Backup",
 * "VM_BACKUP", "backup-app", "INCREMENTAL_BACKUP"); a word naming only a non-backup verb is
 * HYCU_JOB_OTHER; anything else is HYCU_JOB_UNKNOWN. NULL or "" (no type) is a backup. */
enum hycu_job_type hycu_job_type_parse(const char *word);
/* Final = no more polling: a terminal state, or an unmapped word on a job that finished. */
bool hycu_job_is_final(const struct hycu_job *j);
/* DESIGN §4 mapping (ABORTED → failed; the caller keeps the "cancelled" reason). */
enum bk_run_status hycu_state_status(enum hycu_state s);
const char *hycu_kind_name(enum hycu_kind k);
/* "vm", "app", "share", "vg", "policy" → kind. 0 or -BK_EINVAL. */
int hycu_kind_parse(const char *s, enum hycu_kind *out);

void hycu_strlist_push(struct hycu_strlist *l, const char *s); /* copies s */
void hycu_strlist_free(struct hycu_strlist *l);

#endif

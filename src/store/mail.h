/* Report e-mails (issue 14): the SQL of stored mails, their runs, the Inbox and its rules.
 * All of it lives in mail.c. store_mail_ingest is the pipeline's one transaction: the mail
 * (deduplicated on its Message-ID per source), the job it names (created when new), the run
 * (source_type 'email') and its objects commit together or not at all. */
#ifndef BK_STORE_MAIL_H
#define BK_STORE_MAIL_H

#include "core/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_store;
struct bk_err;

/* What the parsers made of one mail (strings borrowed). */
struct store_mail_in {
    int64_t source_id;
    const char *customer; /* the source's customer (created when new) */
    const char *message_id, *sender, *subject;
    int64_t sent_at_ms, received_at_ms;
    const char *raw; /* NUL-terminated (a mail with a NUL byte is refused before) */
    size_t raw_len;
    bool synthetic;
    const char *kind;    /* "run", "not_a_run" or "unknown" */
    const char *product; /* may be NULL */
    const char *reason;  /* may be NULL */
    const char *rule_key;
    /* runs (and the keyword hint of an unknown mail: status) */
    const char *job_name, *job_kind;
    const char *vendor_run_id;
    int64_t start_ms, end_ms;
    const char *status, *raw_status, *message;
    const struct bk_obj_rec *objects;
    size_t nobjects;
    /* a retry: join the latest unreviewed, not successful run of the job that started within
     * STORE_MAIL_RETRY_WINDOW_MS before start_ms, instead of a new run; the newest mail (by
     * sent_at) sets its status */
    bool group_retries;
};

#define STORE_MAIL_RETRY_WINDOW_MS (4 * 3600 * 1000LL)

struct store_mail_out {
    bool duplicate; /* this Message-ID was stored before: nothing changed */
    int64_t mail_id, job_id, run_id;
    bool run_new;   /* a new run (else a retry joined an existing one, or no run) */
    bool via_rule;  /* an unknown mail made a run by an Inbox rule */
    char state[16]; /* run, not_a_run, inbox */
};

/* The pipeline's transaction (see above). A BACKUPCTL_TEST_MAIL_CRASH=after-commit
 * environment makes the caller's tests abort right after it; not here. */
int store_mail_ingest(struct bk_store *s, const struct store_mail_in *in,
                      struct store_mail_out *out, struct bk_err *err);

/* Make an Inbox mail a run of job_id and remember the rule (its source, sender, rule key ->
 * job), one transaction. -BK_ENOTFOUND (mail or job), -BK_EINVAL when the mail is not in the
 * Inbox. *run_id gets the run. */
int store_mail_assign(struct bk_store *s, int64_t mail_id, int64_t job_id, const char *who,
                      int64_t now_ms, int64_t *run_id, struct bk_err *err);

/* "Create a job from it": the same, for a new job named name of customer (created when new)
 * in the mail's source (kind "email"; an existing job of that name there is taken). *job_id
 * gets the job. One transaction. */
int store_mail_assign_new(struct bk_store *s, int64_t mail_id, const char *customer,
                          const char *name, const char *who, int64_t now_ms, int64_t *job_id,
                          int64_t *run_id, struct bk_err *err);

/* The name of the source a mail came in through (out[256], "" when no such mail). */
int store_mail_source(struct bk_store *s, int64_t mail_id, char out[256], struct bk_err *err);

/* A stored mail as the Inbox lists it (strings valid during the callback only). */
struct store_mail_row {
    int64_t id;
    const char *source, *message_id, *sender, *subject;
    int64_t sent_at_ms, received_at_ms, size;
    const char *kind, *product, *job_name, *status_hint, *reason, *state;
    int64_t run_id; /* 0 none */
    bool synthetic;
};

/* Mails newest first: state (NULL: any), source name (NULL: any), run (0: any), a page of
 * them; *total gets how many match. */
int store_mail_list(struct bk_store *s, const char *state, const char *source, int64_t run_id,
                    int64_t limit, int64_t offset,
                    int (*cb)(const struct store_mail_row *m, void *ud), void *ud, int64_t *total,
                    struct bk_err *err);

/* The raw bytes of a stored mail (caller frees); -BK_ENOTFOUND. */
int store_mail_raw(struct bk_store *s, int64_t mail_id, char **raw, size_t *len,
                   struct bk_err *err);

#endif

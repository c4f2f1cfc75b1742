/* Push check-ins (issue 14): jobs that report themselves by pinging a URL, Healthchecks-style
 * (`POST /ping/<uuid>[/start|/fail|/<exit-status>]`). All their SQL lives in push.c. A ping
 * becomes a run of source_type 'push' in one transaction, exactly once: a `rid` makes a
 * retried ping idempotent, a start followed by its end measures the duration, and a run
 * already final (or reviewed) is never changed. */
#ifndef BK_STORE_PUSH_H
#define BK_STORE_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_store;
struct bk_err;

#define STORE_PUSH_UUID_LEN 36       /* 8-4-4-4-12 lower-case hex, version 4 */
#define STORE_PUSH_MESSAGE_MAX 10240 /* bytes of a ping's body kept as the run's message */

struct bk_config;
/* The ping URL of uuid: [server] public_url, else http(s)://LISTEN (https with tls_cert)
 * with port instead of LISTEN's when port > 0 (serve knows the port it bound), + "/ping/" +
 * uuid. Caller frees. */
char *store_push_url(const struct bk_config *cfg, unsigned port, const char *uuid);

/* A fresh random (v4) uuid into out[STORE_PUSH_UUID_LEN + 1]. */
int store_push_new_uuid(char *out, struct bk_err *err);
/* Whether s has the shape of a ping uuid (no store access: refuses junk early). */
bool store_push_uuid_valid(const char *s);

/* Create a push job of the push source source_id for customer (created when new) with name
 * and kind (NULL: "script"); a job of that name for that customer may exist once. *job_id and
 * uuid_out[STORE_PUSH_UUID_LEN + 1] receive the new job and its ping uuid. One transaction.
 * -BK_EINVAL (with a message) when the job exists. */
int store_push_job_add(struct bk_store *s, int64_t source_id, const char *customer,
                       const char *name, const char *kind, const char *who, int64_t now_ms,
                       int64_t *job_id, char *uuid_out, struct bk_err *err);
/* The ping uuid of a push job; -BK_ENOTFOUND when job_id is not one. */
int store_push_job_uuid(struct bk_store *s, int64_t job_id, char *uuid_out, struct bk_err *err);

enum store_ping_kind {
    STORE_PING_SUCCESS = 0, /* /ping/<uuid> */
    STORE_PING_START,       /* /ping/<uuid>/start */
    STORE_PING_FAIL,        /* /ping/<uuid>/fail */
    STORE_PING_EXIT,        /* /ping/<uuid>/<exit-status>: 0 success, else failed */
};

struct store_ping {
    const char *uuid;
    enum store_ping_kind kind;
    int exit_status;  /* STORE_PING_EXIT: 0..255 */
    const char *rid;  /* NULL or a client's run id (idempotency) */
    const char *body; /* may be NULL; not NUL-terminated */
    size_t body_len;
    int64_t now_ms;
};

struct store_ping_result {
    bool found;          /* the uuid names a push job */
    bool duplicate;      /* a repeated ping (same rid) changed nothing */
    int64_t job_id;      /* when found */
    int64_t run_id;      /* the run created or finished */
    int64_t duration_ms; /* start to end, when a start ping was seen; else -1 */
};

/* Apply one ping (one transaction). Not found is not an error: out->found false. */
int store_push_ping(struct bk_store *s, const struct store_ping *p, struct store_ping_result *out,
                    struct bk_err *err);

#endif

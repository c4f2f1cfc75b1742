/* Several `backupctl serve` on one database (issue 11, DESIGN §6): the instance rows (who
 * runs, its heartbeat), the source leases (who polls what, until when) and the "poll now"
 * requests handed between instances. All the SQL of it lives in store/instances.c; the daemon
 * decides when to call what (daemon/daemon.c, "coordination").
 *
 * Times that decide who holds a lease are read from the database's clock, never from the
 * caller's, so instances on hosts whose clocks drift apart still agree on when a lease ended.
 * A lease the caller holds is also valid locally only until the time it sent the renewal plus
 * the TTL (by its monotonic clock): that is never later than the database's expiry. */
#ifndef BK_STORE_INSTANCES_H
#define BK_STORE_INSTANCES_H

#include <stdbool.h>
#include <stdint.h>

struct bk_err;
struct bk_store;

/* What an instance says about itself (strings borrowed). */
struct instances_self {
    const char *id; /* unique among the running instances: [server] instance, or host:pid */
    const char *host;
    long pid;
    const char *version;
    const char *listen; /* may be NULL */
    int64_t ttl_ms;     /* its lease TTL: it counts as down once last_seen is older */
};

/* Record that me is alive now (insert or update its row; stopped_at cleared) and forget the
 * rows of instances not seen for a day. Also the daemon's "the database answers" probe. */
int instances_heartbeat(struct bk_store *s, const struct instances_self *me, struct bk_err *err);
/* Instances alive now: not stopped, last seen within their own TTL. */
int instances_live_count(struct bk_store *s, int64_t *n, struct bk_err *err);
/* me stops: its leases are released (others take its sources at once, not after the TTL)
 * and its row is marked stopped. */
int instances_stop(struct bk_store *s, const char *me, struct bk_err *err);

/* Take (or keep) the lease of the source named source for owner, for ttl_ms from now: one
 * conditional upsert, which wins only when nobody holds it, its holder's lease expired, or
 * owner holds it already — so of two instances trying at once exactly one wins. exclusive
 * (SQLite, where the single-instance file lock already makes this process the only one)
 * takes it whoever held it. *won: this call holds it now. A source without a row (never
 * synced) is not won. */
int instances_lease_acquire(struct bk_store *s, const char *source, const char *owner,
                            int64_t ttl_ms, bool exclusive, bool *won, struct bk_err *err);
/* Extend every lease owner still holds by ttl_ms from now, then call cb with the name of
 * each source it holds (a lease another instance took after it expired is not among them).
 * cb returns non-zero to stop. */
int instances_lease_renew(struct bk_store *s, const char *owner, int64_t ttl_ms,
                          int (*cb)(const char *source, void *ud), void *ud, struct bk_err *err);
/* Give up the lease of source (only if owner holds it). */
int instances_lease_release(struct bk_store *s, const char *source, const char *owner,
                            struct bk_err *err);

/* Every lease, valid or expired, by source name. Strings borrowed during the callback. */
struct instances_lease_row {
    const char *source, *owner;
    int64_t acquired_at, expires_at; /* ms, the database's clock */
    bool valid;                      /* not expired now */
};
int instances_lease_each(struct bk_store *s,
                         int (*cb)(const struct instances_lease_row *r, void *ud), void *ud,
                         struct bk_err *err);

/* Every instance row, by id. */
struct instances_row {
    const char *id, *host, *version, *listen;
    int64_t pid, started_at, last_seen, ttl_ms, stopped_at; /* stopped_at 0: running */
    int64_t now;                                            /* the database's clock when read */
    int64_t leases;                                         /* valid leases it holds */
    bool up; /* not stopped and seen within its TTL */
};
int instances_each(struct bk_store *s, int (*cb)(const struct instances_row *r, void *ud), void *ud,
                   struct bk_err *err);

/* "Poll now" for whichever instance holds source: a poll_request row. -BK_ENOTFOUND when the
 * store has no such source. */
int instances_poll_request(struct bk_store *s, const char *source, const char *who,
                           struct bk_err *err);
/* The open poll requests of the sources owner holds: each is marked handled (by one
 * conditional update, so two readers never both take it) and handed to cb (source name, who
 * asked). */
int instances_poll_requests_take(struct bk_store *s, const char *owner,
                                 void (*cb)(const char *source, const char *who, void *ud),
                                 void *ud, struct bk_err *err);

/* When the last applied poll (ok or partial) of source started, by any instance (ms, 0: never):
 * a new holder of the lease continues the schedule from it instead of polling at once. */
int instances_last_poll_start(struct bk_store *s, const char *source, int64_t *ms,
                              struct bk_err *err);

#endif

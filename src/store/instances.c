/* Instances, source leases and "poll now" requests (see instances.h).
 *
 * Why lease rows and not advisory locks. A PostgreSQL advisory lock belongs to a session: it
 * needs one connection held open per instance for as long as it polls, dies with that
 * connection (a server restart or an idle-connection cut drops every lock at once, mid-poll),
 * does not survive a transaction-pooling connection pooler (pgbouncer hands the next statement
 * to another session), cannot be read by the web UI of another instance ("who polls what"), and
 * has no SQLite meaning. A row (owner, expiry) is none of that: it is taken with one conditional
 * upsert (ON CONFLICT … DO UPDATE … WHERE the holder is the taker or its lease ran out), so two
 * instances trying together are serialised on the row and exactly one wins; it survives the
 * connection, so a database restart shorter than the TTL changes no holder; it is a query away
 * for /metrics, the API and the Sources page; and it is the same SQL on both engines. The
 * price is that an instance that dies keeps its sources until the TTL runs out (the
 * configurable [server] lease_ttl, 30 s by default), where an advisory lock would be released
 * at once — a clean stop releases its leases itself (instances_stop).
 *
 * Leases are sticky: an instance keeps its sources interval after interval, renewing them
 * every third of the TTL, and gives some back only when more instances are alive than when
 * it took them (the daemon's fair share). So a source keeps one poller, one schedule and one
 * failure backoff, and the holder shown is the one that will poll next. */
#include "store/instances.h"

#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* The database's clock in epoch ms: the one clock every instance reads. */
#define NOW_PG "(CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT))"
#define NOW_SQLITE "(CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER))"

/* A statement written once with the clock as a parameter of the macro. */
#define BOTH(name, text) static const char *const name[2] = {text(NOW_SQLITE), text(NOW_PG)}

static const char *pick(struct bk_store *s, const char *const sql[2])
{
    return sql[store_engine(s) == STORE_ENGINE_POSTGRESQL ? 1 : 0];
}

#define SQL_HEARTBEAT(NOW)                                                                         \
    "INSERT INTO serve_instance (id, host, pid, version, listen, started_at, last_seen, ttl_ms)"   \
    " VALUES (?1, ?2, ?3, ?4, ?5, " NOW ", " NOW ", ?6)"                                           \
    " ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,"                    \
    " version = excluded.version, listen = excluded.listen, last_seen = excluded.last_seen,"       \
    " ttl_ms = excluded.ttl_ms, stopped_at = NULL,"                                                \
    " started_at = CASE WHEN serve_instance.pid = excluded.pid"                                    \
    "  AND serve_instance.stopped_at IS NULL THEN serve_instance.started_at"                       \
    "  ELSE excluded.started_at END"
BOTH(HEARTBEAT, SQL_HEARTBEAT);

#define SQL_FORGET(NOW) "DELETE FROM serve_instance WHERE last_seen < " NOW " - 86400000"
BOTH(FORGET, SQL_FORGET);

#define SQL_LIVE(NOW)                                                                              \
    "SELECT COUNT(*) FROM serve_instance WHERE stopped_at IS NULL AND last_seen + ttl_ms > " NOW
BOTH(LIVE, SQL_LIVE);

#define SQL_STOPPED(NOW) "UPDATE serve_instance SET stopped_at = " NOW " WHERE id = ?1"
BOTH(STOPPED, SQL_STOPPED);

/* The WHERE of the DO UPDATE is what makes two takers safe: PostgreSQL re-checks it against
 * the row the other taker just committed (and refuses), SQLite has one writer at a time. */
#define SQL_ACQUIRE(NOW)                                                                           \
    "INSERT INTO source_lease (source_id, owner, acquired_at, expires_at)"                         \
    " SELECT id, ?2, " NOW ", " NOW " + ?3 FROM source WHERE name = ?1"                            \
    " ON CONFLICT (source_id) DO UPDATE SET owner = excluded.owner,"                               \
    " acquired_at = CASE WHEN source_lease.owner = excluded.owner"                                 \
    "  AND source_lease.expires_at > excluded.acquired_at THEN source_lease.acquired_at"           \
    "  ELSE excluded.acquired_at END,"                                                             \
    " expires_at = excluded.expires_at"                                                            \
    " WHERE source_lease.owner = excluded.owner OR source_lease.expires_at <= "                    \
    "excluded.acquired_at"                                                                         \
    " OR ?4 = 1"
BOTH(ACQUIRE, SQL_ACQUIRE);

#define SQL_RENEW(NOW) "UPDATE source_lease SET expires_at = " NOW " + ?2 WHERE owner = ?1"
BOTH(RENEW, SQL_RENEW);

#define SQL_HELD(NOW)                                                                              \
    "SELECT s.name FROM source_lease l JOIN source s ON s.id = l.source_id"                        \
    " WHERE l.owner = ?1 AND l.expires_at > " NOW " ORDER BY s.name"
BOTH(HELD, SQL_HELD);

#define SQL_LEASES(NOW)                                                                            \
    "SELECT s.name, l.owner, l.acquired_at, l.expires_at,"                                         \
    " CASE WHEN l.expires_at > " NOW " THEN 1 ELSE 0 END"                                          \
    " FROM source_lease l JOIN source s ON s.id = l.source_id ORDER BY s.name"
BOTH(LEASES, SQL_LEASES);

#define SQL_INSTANCES(NOW)                                                                         \
    "SELECT i.id, i.host, i.pid, i.version, i.listen, i.started_at, i.last_seen, i.ttl_ms,"        \
    " i.stopped_at, " NOW ", (SELECT COUNT(*) FROM source_lease l WHERE l.owner = i.id"            \
    " AND l.expires_at > " NOW ") FROM serve_instance i ORDER BY i.id"
BOTH(INSTANCES, SQL_INSTANCES);

#define SQL_REQUESTS(NOW)                                                                          \
    "SELECT r.id, s.name, r.requested_by FROM poll_request r"                                      \
    " JOIN source_lease l ON l.source_id = r.source_id JOIN source s ON s.id = r.source_id"        \
    " WHERE r.handled_at IS NULL AND l.owner = ?1 AND l.expires_at > " NOW                         \
    " ORDER BY r.id LIMIT 100"
BOTH(REQUESTS, SQL_REQUESTS);

#define SQL_HANDLED(NOW)                                                                           \
    "UPDATE poll_request SET handled_at = " NOW " WHERE id = ?1 AND handled_at IS NULL"
BOTH(HANDLED, SQL_HANDLED);

int instances_heartbeat(struct bk_store *s, const struct instances_self *me, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(me->id),      SP_TEXT(me->host),   SP_INT(me->pid),
                              SP_TEXT(me->version), SP_TEXT(me->listen), SP_INT(me->ttl_ms)};
    int rc = store_exec(s, pick(s, HEARTBEAT), p, 6, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(s, pick(s, FORGET), NULL, 0, NULL, NULL, err);
    return rc;
}

static int int_row(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

int instances_live_count(struct bk_store *s, int64_t *n, struct bk_err *err)
{
    *n = 0;
    return store_query(s, pick(s, LIVE), NULL, 0, int_row, n, err);
}

int instances_stop(struct bk_store *s, const char *me, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(me)};
    int rc = store_exec(s, "DELETE FROM source_lease WHERE owner = ?1", p, 1, NULL, NULL, err);
    if (rc == 0)
        rc = store_exec(s, pick(s, STOPPED), p, 1, NULL, NULL, err);
    return rc;
}

int instances_lease_acquire(struct bk_store *s, const char *source, const char *owner,
                            int64_t ttl_ms, bool exclusive, bool *won, struct bk_err *err)
{
    *won = false;
    struct store_param p[] = {SP_TEXT(source), SP_TEXT(owner), SP_INT(ttl_ms),
                              SP_INT(exclusive ? 1 : 0)};
    int64_t n = 0;
    int rc = store_exec(s, pick(s, ACQUIRE), p, 4, &n, NULL, err);
    if (rc == 0)
        *won = n == 1;
    return rc;
}

struct name_cb {
    int (*cb)(const char *source, void *ud);
    void *ud;
};

static int held_row(const struct store_row *r, void *ud)
{
    struct name_cb *c = ud;
    return c->cb(store_row_text(r, 0), c->ud);
}

int instances_lease_renew(struct bk_store *s, const char *owner, int64_t ttl_ms,
                          int (*cb)(const char *source, void *ud), void *ud, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(owner), SP_INT(ttl_ms)};
    int rc = store_exec(s, pick(s, RENEW), p, 2, NULL, NULL, err);
    if (rc < 0)
        return rc;
    struct name_cb c = {cb, ud};
    rc = store_query(s, pick(s, HELD), p, 1, held_row, &c, err);
    return rc < 0 ? rc : 0;
}

int instances_lease_release(struct bk_store *s, const char *source, const char *owner,
                            struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(source), SP_TEXT(owner)};
    return store_exec(s,
                      "DELETE FROM source_lease WHERE owner = ?2"
                      " AND source_id = (SELECT id FROM source WHERE name = ?1)",
                      p, 2, NULL, NULL, err);
}

struct lease_cb {
    int (*cb)(const struct instances_lease_row *r, void *ud);
    void *ud;
};

static int lease_row(const struct store_row *r, void *ud)
{
    struct lease_cb *c = ud;
    struct instances_lease_row row = {
        .source = store_row_text(r, 0),
        .owner = store_row_text(r, 1),
        .acquired_at = store_row_int(r, 2),
        .expires_at = store_row_int(r, 3),
        .valid = store_row_int(r, 4) != 0,
    };
    return c->cb(&row, c->ud);
}

int instances_lease_each(struct bk_store *s,
                         int (*cb)(const struct instances_lease_row *r, void *ud), void *ud,
                         struct bk_err *err)
{
    struct lease_cb c = {cb, ud};
    int rc = store_query(s, pick(s, LEASES), NULL, 0, lease_row, &c, err);
    return rc < 0 ? rc : 0;
}

struct inst_cb {
    int (*cb)(const struct instances_row *r, void *ud);
    void *ud;
};

static int inst_row(const struct store_row *r, void *ud)
{
    struct inst_cb *c = ud;
    struct instances_row row = {
        .id = store_row_text(r, 0),
        .host = store_row_text(r, 1),
        .pid = store_row_int(r, 2),
        .version = store_row_text(r, 3),
        .listen = store_row_text(r, 4),
        .started_at = store_row_int(r, 5),
        .last_seen = store_row_int(r, 6),
        .ttl_ms = store_row_int(r, 7),
        .stopped_at = store_row_int(r, 8),
        .now = store_row_int(r, 9),
        .leases = store_row_int(r, 10),
    };
    row.up = row.stopped_at == 0 && row.last_seen + row.ttl_ms > row.now;
    return c->cb(&row, c->ud);
}

int instances_each(struct bk_store *s, int (*cb)(const struct instances_row *r, void *ud), void *ud,
                   struct bk_err *err)
{
    struct inst_cb c = {cb, ud};
    int rc = store_query(s, pick(s, INSTANCES), NULL, 0, inst_row, &c, err);
    return rc < 0 ? rc : 0;
}

int instances_poll_request(struct bk_store *s, const char *source, const char *who,
                           struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(source), SP_TEXT(who)};
    const char *sql = store_engine(s) == STORE_ENGINE_POSTGRESQL
                          ? "INSERT INTO poll_request (source_id, requested_at, requested_by)"
                            " SELECT id, " NOW_PG ", ?2 FROM source WHERE name = ?1"
                          : "INSERT INTO poll_request (source_id, requested_at, requested_by)"
                            " SELECT id, " NOW_SQLITE ", ?2 FROM source WHERE name = ?1";
    int64_t n = 0;
    int rc = store_exec(s, sql, p, 2, &n, NULL, err);
    if (rc == 0 && n == 0)
        rc = bk_err_set(err, BK_ENOTFOUND, "source \"%s\" is not in the store yet", source);
    return rc;
}

struct req {
    int64_t id;
    char *source, *who;
};

struct req_list {
    struct req *v;
    size_t n;
};

static int req_row(const struct store_row *r, void *ud)
{
    struct req_list *l = ud;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    struct req *q = &l->v[l->n++];
    q->id = store_row_int(r, 0);
    q->source = xstrdup_or_null(store_row_text(r, 1));
    q->who = xstrdup_or_null(store_row_text(r, 2));
    return 0;
}

int instances_poll_requests_take(struct bk_store *s, const char *owner,
                                 void (*cb)(const char *source, const char *who, void *ud),
                                 void *ud, struct bk_err *err)
{
    struct req_list l = {0};
    struct store_param p[] = {SP_TEXT(owner)};
    /* A read first: on SQLite an update that matches nothing still waits for the write lock,
     * and this runs every second. */
    int rc = store_query(s, pick(s, REQUESTS), p, 1, req_row, &l, err);
    for (size_t i = 0; i < l.n; i++) {
        int64_t n = 0;
        struct store_param h[] = {SP_INT(l.v[i].id)};
        if (rc == 0)
            rc = store_exec(s, pick(s, HANDLED), h, 1, &n, NULL, err);
        if (rc == 0 && n == 1 && l.v[i].source)
            cb(l.v[i].source, l.v[i].who, ud);
        free(l.v[i].source);
        free(l.v[i].who);
    }
    free(l.v);
    return rc < 0 ? rc : 0;
}

int instances_last_poll_start(struct bk_store *s, const char *source, int64_t *ms,
                              struct bk_err *err)
{
    *ms = 0;
    struct store_param p[] = {SP_TEXT(source)};
    int rc = store_query(s,
                         "SELECT COALESCE(MAX(p.started_at), 0) FROM poll_run p"
                         " JOIN source s ON s.id = p.source_id"
                         " WHERE s.name = ?1 AND p.result IN ('ok', 'partial')",
                         p, 1, int_row, ms, err);
    return rc < 0 ? rc : 0;
}

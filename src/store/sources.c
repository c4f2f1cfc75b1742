/* The SQL of the source and customer lists and of the requests the web layer leaves for the
 * scheduler (sources.h). */
#include "store/sources.h"

#include "store/store.h"

const struct store_listq STORE_LIST_SOURCES = {
    .select = "s.id, s.name, s.name, s.kind, s.interval_ms, s.enabled, s.paused,"
              " ok.t, ok.t, p.started_at, p.finished_at, p.result, p.pages, p.devices,"
              " p.runs_new, p.runs_updated, p.error, p.instance",
    .from = "source s LEFT JOIN poll_run p ON p.id = (SELECT y.id FROM poll_run y"
            " WHERE y.source_id = s.id ORDER BY y.started_at DESC, y.id DESC LIMIT 1)"
            " LEFT JOIN (SELECT source_id, MAX(finished_at) AS t FROM poll_run"
            " WHERE result = 'ok' GROUP BY source_id) ok ON ok.source_id = s.id",
    .count_from = "source s",
    .order = "s.name, s.id",
};

const struct store_listq STORE_LIST_CUSTOMERS = {
    .select = "c.id, c.name, c.external_id, c.external_ref, s.name,"
              " (SELECT COUNT(*) FROM job j WHERE j.customer_id = c.id AND j.retired_at IS NULL)",
    .from = "customer c JOIN source s ON s.id = c.source_id",
    .count_from = NULL,
    .order = "c.name, c.id",
};

static int id_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

int store_source_id(struct bk_store *s, const char *name, int64_t *id, struct bk_err *err)
{
    *id = 0;
    struct store_param p[] = {SP_TEXT(name)};
    return store_query(s, "SELECT id FROM source WHERE name = ?1", p, 1, id_cb, id, err) < 0 ? -1
                                                                                             : 0;
}

int store_poll_request_add(struct bk_store *s, int64_t source_id, int64_t now_ms, const char *who,
                           struct bk_err *err)
{
    struct store_param p[] = {SP_INT(source_id), SP_INT(now_ms), SP_TEXT(who)};
    return store_exec(s,
                      "INSERT INTO poll_request (source_id, requested_at, requested_by)"
                      " VALUES (?1, ?2, ?3)",
                      p, 3, NULL, NULL, err);
}

int store_source_paused_set(struct bk_store *s, int64_t source_id, bool paused, int64_t now_ms,
                            struct bk_err *err)
{
    struct store_param p[] = {SP_INT(paused), SP_INT(now_ms), SP_INT(source_id)};
    return store_exec(s, "UPDATE source SET paused = ?1, updated_at = ?2 WHERE id = ?3", p, 3, NULL,
                      NULL, err);
}

int store_source_state_set(struct bk_store *s, int64_t source_id, const char *key,
                           const char *value, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(source_id), SP_TEXT(key), SP_TEXT(value)};
    return store_exec(s,
                      "INSERT INTO source_state (source_id, key, value) VALUES (?1, ?2, ?3)"
                      " ON CONFLICT (source_id, key) DO UPDATE SET value = excluded.value",
                      p, 3, NULL, NULL, err);
}

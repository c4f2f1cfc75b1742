/* Sources and their customers as the API lists them, and the requests a web process leaves
 * for the instance that polls a source (issue 11: the web layer holds no SQL). */
#ifndef BK_STORE_SOURCES_H
#define BK_STORE_SOURCES_H

#include "store/page.h"

#include <stdbool.h>
#include <stdint.h>

struct bk_err;
struct bk_store;

/* GET /api/v1/sources: id, name, name (again, for "configured"), kind, interval_ms, enabled,
 * paused, last ok poll end (twice: last_success_at and up), then the latest poll's started_at,
 * finished_at, result, pages, devices, runs_new, runs_updated, error, instance. */
extern const struct store_listq STORE_LIST_SOURCES;

/* GET /api/v1/customers: id, name, external_id, external_ref, source name, live jobs. */
extern const struct store_listq STORE_LIST_CUSTOMERS;
/* Conditions on that list ('?' placeholders). */
#define STORE_CUSTOMERS_OF_SOURCE "s.name = ?"
#define STORE_CUSTOMERS_NAME_LIKE "LOWER(c.name) LIKE ? ESCAPE '\\'"
#define STORE_CUSTOMERS_ID_OR_NAME "c.id = ? OR c.name = ?"
#define STORE_CUSTOMERS_NAME "c.name = ?"

/* The id of the source named name into *id (0: no such row). 0 or -1. */
int store_source_id(struct bk_store *s, const char *name, int64_t *id, struct bk_err *err);
/* "Poll now" for a source no scheduler of this process polls: a poll_request row that the
 * instance polling it picks up. name borrowed. 0 or -1. */
int store_poll_request_add(struct bk_store *s, int64_t source_id, int64_t now_ms, const char *who,
                           struct bk_err *err);
/* Pause or resume the source with that id (no scheduler in this process). 0 or -1. */
int store_source_paused_set(struct bk_store *s, int64_t source_id, bool paused, int64_t now_ms,
                            struct bk_err *err);
/* Set the per-source key/value state (read back with store_state_get). Strings borrowed.
 * 0 or -1. */
int store_source_state_set(struct bk_store *s, int64_t source_id, const char *key,
                           const char *value, struct bk_err *err);

#endif

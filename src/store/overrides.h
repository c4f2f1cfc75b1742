/* Overrides: rules that turn matching failed/warning/unknown runs into "success (override)".
 * The API applies a new override at once; the daemon calls store_overrides_apply_all after a
 * poll so runs that arrive later are covered too. Only unreviewed runs are ever touched. */
#ifndef BK_STORE_OVERRIDES_H
#define BK_STORE_OVERRIDES_H

#include "store/store.h"

#include <stdint.h>

struct bk_err;

/* What an override matches (strings borrowed; NULL = any). */
struct store_override {
    int64_t id;
    int64_t job_id; /* 0 = every job */
    const char *object_name;
    const char *match_status; /* failed|warning|unknown|missed; NULL = failed, warning, unknown */
    const char *match_kind;   /* contains|equals|starts|ends (with match_text) */
    const char *match_text;   /* compared case-insensitively (ASCII) with the run's message, or
                                 the object's when object_name is set */
    int64_t valid_from, valid_until; /* epoch ms, 0 = open */
};

/* Mark every unreviewed run o matches as override = 1; *changed gets the count. With
 * object_name set, a run matches when that object matches and no other object of the run
 * is failed/warning/unknown/missed. Runs inside the caller's transaction if one is open. */
int store_override_apply(struct bk_store *s, const struct store_override *o, int64_t *changed,
                         struct bk_err *err);
/* Apply every stored override (one transaction). */
int store_overrides_apply_all(struct bk_store *s, int64_t *changed, struct bk_err *err);

/* LIKE pattern for kind/text: lower-cased, '%', '_' and '\' escaped (ESCAPE '\'), wrapped in
 * '%' as kind says. Caller frees. */
char *store_like_pattern(const char *kind, const char *text);

#endif

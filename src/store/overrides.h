/* Overrides: rules that turn matching failed/warning/unknown runs into "success (override)".
 * A run's override flag is derived from the rules in force: it is set while at least one rule
 * matches the run and cleared when none does (a rule deleted, or the run changed so that no
 * rule matches any more). The API re-evaluates when a rule is created or deleted, the poller
 * after every poll. Only unreviewed runs are ever touched: a reviewed run keeps its flag.
 * Every re-evaluation that changes flags writes one audit row ("run.override") listing the
 * runs set and cleared. */
#ifndef BK_STORE_OVERRIDES_H
#define BK_STORE_OVERRIDES_H

#include "store/store.h"

#include <stdbool.h>
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

/* True when o restricts what it matches: a job, an object, a status, a text, or a time window
 * closed at both ends. A rule without any would turn every failed and warning run into a
 * success, so the API refuses it. */
bool store_override_has_condition(const struct store_override *o);

/* What a re-evaluation changed. */
struct store_override_changes {
    int64_t set, cleared;
};

/* Re-derive the override flag of every unreviewed run from the stored rules, inside the
 * caller's transaction; when anything changed, append the audit row (who, target borrowed;
 * who NULL = "system"). */
int store_overrides_reevaluate(struct bk_store *s, const char *who, const char *target,
                               struct store_override_changes *ch, struct bk_err *err);
/* The same for one run only (a push check-in), inside the caller's transaction. */
int store_overrides_reevaluate_run(struct bk_store *s, int64_t run_id, const char *target,
                                   struct store_override_changes *ch, struct bk_err *err);
/* The same in a transaction of its own (the poller: who "poller", target e.g. the source). */
int store_overrides_apply_all(struct bk_store *s, const char *target,
                              struct store_override_changes *ch, struct bk_err *err);

/* How many runs (reviewed or not) rule id matches now, whatever the other rules: what the
 * Overrides page shows as "matches so far". 0 when there is no such rule. */
int store_override_matches(struct bk_store *s, int64_t id, int64_t *matches, struct bk_err *err);

/* Change rule id's time window (epoch ms, 0 = open; only the ends whose set_ flag is true),
 * inside the caller's transaction; the caller re-evaluates the runs. -BK_ENOTFOUND without such
 * a rule; -BK_EINVAL (err says why) when from would be after until, or when the window was the
 * rule's only condition and would no longer be one. */
int store_override_set_validity(struct bk_store *s, int64_t id, bool set_from, int64_t valid_from,
                                bool set_until, int64_t valid_until, struct bk_err *err);

/* LIKE pattern for kind/text: lower-cased, '%', '_' and '\' escaped (ESCAPE '\'), wrapped in
 * '%' as kind says. Caller frees. */
char *store_like_pattern(const char *kind, const char *text);
/* The same for an override's match_text, where '*' stands for any text (the UI proposes
 * "Failed (* errors) at *" so the rule matches the next run with another count). */
char *store_override_pattern(const char *kind, const char *text);

#endif

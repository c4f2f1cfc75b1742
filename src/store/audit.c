/* The SQL of the audit list (audit.h). */
#include "store/audit.h"

const struct store_listq STORE_LIST_AUDIT = {
    .select = "a.id, a.at, a.who, a.action, a.target, a.before_json, a.after_json",
    .from = "audit a",
    .count_from = NULL,
    .order = "a.at DESC, a.id DESC",
};

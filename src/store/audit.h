/* The audit trail as GET /api/v1/audit lists it (issue 11: the web layer holds no SQL). */
#ifndef BK_STORE_AUDIT_H
#define BK_STORE_AUDIT_H

#include "store/page.h"

/* id, at, who, action, target, before_json, after_json; newest first. */
extern const struct store_listq STORE_LIST_AUDIT;
/* Conditions on that list ('?' placeholders). */
#define STORE_AUDIT_WHO "a.who = ?"
#define STORE_AUDIT_ACTION "a.action = ?"
#define STORE_AUDIT_TARGET "a.target = ?"
#define STORE_AUDIT_FROM "a.at >= ?"
#define STORE_AUDIT_TO "a.at <= ?"

#endif

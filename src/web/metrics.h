/* /metrics: the Prometheus text exposition (format 0.0.4) of DESIGN §2 — per job state-set
 * status and last run / last success times, per source up / last success / poll duration /
 * poll results — rendered from the store. */
#ifndef BK_WEB_METRICS_H
#define BK_WEB_METRICS_H

#include "store/store.h"
#include "util/buf.h"

#include <stdint.h>

struct bk_config;
struct bk_err;

/* Append v as a label value: \ " and newline escaped, invalid UTF-8 bytes replaced by '?'.
 * Returns the bk_buf_append result. */
int metrics_escape_label(struct bk_buf *out, const char *v);
/* Append every store-derived family to out; sources are limited to those configured in cfg.
 * now_ms decides which sources read as up. 0 or a store error / -BK_ETOOBIG. */
int metrics_render(struct bk_store *s, const struct bk_config *cfg, int64_t now_ms,
                   struct bk_buf *out, struct bk_err *err);

#endif

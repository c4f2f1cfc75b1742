/* Between config.c and config_alert.c only: not an interface for the rest of the program. */
#ifndef BK_CONFIG_CONFIG_INT_H
#define BK_CONFIG_CONFIG_INT_H

#include "config/config.h"

#include <stddef.h>

struct bk_err;

/* Each key parser returns 1, or 0 with a one-line message in msg (the caller adds file:line). */
int cfg_alert_key(struct bk_alert_cfg *a, const char *key, const char *value, char *msg, size_t n);
int cfg_maint_key(struct bk_maint_cfg *m, const char *key, const char *value, char *msg, size_t n);
/* A `*_file` / `*_env` secret reference for key (base "password" takes password_file, …). */
int cfg_secret(struct bk_secret_ref *r, const char *base, const char *key, const char *value,
               char *msg, size_t n);
bool cfg_valid_url(const char *v);
/* Whole-file rules of alert and maintenance sections (after every key is read). */
int cfg_alerts_validate(struct bk_config *c, const char *name, struct bk_err *err);
void cfg_alerts_free(struct bk_config *c);

#endif

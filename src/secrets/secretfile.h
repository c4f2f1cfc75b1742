/* Reading secrets from files: refused when group or others can read the file (a token in a
 * world-readable file is a leaked token), bounded in size, trailing newline stripped. */
#ifndef BK_SECRETS_SECRETFILE_H
#define BK_SECRETS_SECRETFILE_H

#include <stddef.h>

struct bk_err;

/* Read the whole file at path into *out (caller frees). what names it in errors
 * ("--auth-file"). 0, or -BK_EIO (unreadable), -BK_ECONFIG (permissions, empty, too big). */
int secretfile_read(const char *path, const char *what, char **out, size_t *len,
                    struct bk_err *err);

struct bk_secret_ref;
/* Resolve a config secret reference (a *_file path or a *_env variable name) into *out
 * (caller frees). what names it in errors ("source \"x\" password"). */
int secret_resolve(const struct bk_secret_ref *ref, const char *what, char **out,
                   struct bk_err *err);

struct bk_config;
/* Resolve (and wipe again) every secret the configuration references, so a configuration
 * with an unreadable, group-readable or unset secret is refused before it is used; the first
 * failure is reported as "file:line: source \"x\" password: …". Shared by `config check`
 * and `serve` (start and SIGHUP). */
int secrets_check_config(const struct bk_config *cfg, struct bk_err *err);

#endif

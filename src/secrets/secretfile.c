/* Secret file reading with a permission check done on the open descriptor (fstat), so the
 * file checked is the file read. */
#include "secrets/secretfile.h"

#include "config/config.h"
#include "platform/platform.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FILE_MAX (64 * 1024)
#define PATH_MAX_WHAT 4200

int secretfile_read(const char *path, const char *what, char **out, size_t *len, struct bk_err *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    int fd = bk_plat_open_read(path);
    if (fd < 0)
        return bk_err_set(err, BK_EIO, "%s: cannot open %s: %s", what, path, strerror(errno));
    struct stat st;
    int rc = 0;
    struct bk_buf b;
    char chunk[4096];
    bk_buf_init(&b, SECRET_FILE_MAX);
    if (fstat(fd, &st) < 0) {
        rc = bk_err_set(err, BK_EIO, "%s: cannot stat %s: %s", what, path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = bk_err_set(err, BK_ECONFIG, "%s: %s is not a regular file", what, path);
        goto out;
    }
    char why[600];
    if (bk_plat_secret_fd_private(fd, path, why, sizeof why) < 0) {
        rc = bk_err_set(err, BK_ECONFIG, "%s: %s", what, why);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = bk_err_set(err, BK_EIO, "%s: cannot read %s: %s", what, path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (bk_buf_append(&b, chunk, (size_t)n) < 0) {
            rc = bk_err_set(err, BK_ECONFIG, "%s: %s is larger than %d bytes", what, path,
                            SECRET_FILE_MAX);
            goto out;
        }
    }
    /* Only the line ending goes: a password may legitimately end with a space. */
    if (b.len > 0 && b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    if (b.len > 0 && b.data[b.len - 1] == '\r')
        b.data[--b.len] = '\0';
    if (b.len == 0) {
        rc = bk_err_set(err, BK_ECONFIG, "%s: %s is empty", what, path);
        goto out;
    }
    if (len)
        *len = b.len;
    *out = bk_buf_steal(&b);
out:
    /* Leave no copy of the secret in freed memory or on the stack. */
    if (b.data)
        memset(b.data, 0, b.cap);
    bk_buf_free(&b);
    memset(chunk, 0, sizeof chunk);
    close(fd);
    return rc;
}

int secret_resolve(const struct bk_secret_ref *ref, const char *what, char **out,
                   struct bk_err *err)
{
    *out = NULL;
    if (ref->file)
        return secretfile_read(ref->file, what, out, NULL, err);
    if (ref->env) {
        const char *v = getenv(ref->env);
        if (!v || !*v)
            return bk_err_set(err, BK_ECONFIG, "%s: environment variable %s is not set", what,
                              ref->env);
        *out = xstrdup(v);
        return 0;
    }
    return bk_err_set(err, BK_ECONFIG, "%s: no secret configured", what);
}

int secrets_check_config(const struct bk_config *cfg, struct bk_err *err)
{
    for (size_t i = 0; i < cfg->nsources; i++) {
        const struct bk_source_cfg *s = &cfg->sources[i];
        const struct bk_secret_ref *refs[] = {&s->password, &s->token};
        for (size_t k = 0; k < 2; k++) {
            if (!refs[k]->file && !refs[k]->env)
                continue;
            char what[200], *v = NULL;
            snprintf(what, sizeof what, "%s:%d: source \"%s\" %s", cfg->path, s->line, s->name,
                     k == 0 ? "password" : "token");
            int rc = secret_resolve(refs[k], what, &v, err);
            if (v) {
                memset(v, 0, strlen(v));
                free(v);
            }
            if (rc < 0)
                return rc;
        }
    }
    for (size_t i = 0; i < cfg->nalerts; i++) {
        const struct bk_alert_cfg *a = &cfg->alerts[i];
        const struct bk_secret_ref *refs[] = {&a->webhook_ref, &a->hmac, &a->smtp_password};
        const char *names[] = {"webhook", "secret", "smtp_password"};
        for (size_t k = 0; k < 3; k++) {
            if (!refs[k]->file && !refs[k]->env)
                continue;
            char what[200], *v = NULL;
            snprintf(what, sizeof what, "%s:%d: alert \"%s\" %s", cfg->path, a->line, a->name,
                     names[k]);
            int rc = secret_resolve(refs[k], what, &v, err);
            if (v) {
                memset(v, 0, strlen(v));
                free(v);
            }
            if (rc < 0)
                return rc;
        }
    }
    if (cfg->db_password.file || cfg->db_password.env) { /* [database] password */
        char what[PATH_MAX_WHAT], *v = NULL;
        snprintf(what, sizeof what, "%s: [database] password", cfg->path);
        int rc = secret_resolve(&cfg->db_password, what, &v, err);
        if (v) {
            memset(v, 0, strlen(v));
            free(v);
        }
        if (rc < 0)
            return rc;
    }
    if (cfg->tls_key) { /* the web server's private key is a secret file too */
        char what[PATH_MAX_WHAT], *v = NULL;
        snprintf(what, sizeof what, "%s: [server] tls_key", cfg->path);
        int rc = secretfile_read(cfg->tls_key, what, &v, NULL, err);
        if (v) {
            memset(v, 0, strlen(v));
            free(v);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

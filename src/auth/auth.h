/* Web users, API tokens and browser sessions (DESIGN §2). Passwords are Argon2id hashes
 * (libsodium crypto_pwhash_str, >= 19 MiB, t >= 2, at most one hash computed at a time);
 * API tokens are >= 128 random bits shown once and stored as SHA-256; sessions are random
 * cookies stored as SHA-256 with a CSRF token and an expiry. Thread-safe (each call takes the
 * caller's store handle). */
#ifndef BK_AUTH_AUTH_H
#define BK_AUTH_AUTH_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

struct bk_err;

enum bk_role { BK_ROLE_VIEWER = 0, BK_ROLE_OPERATOR = 1, BK_ROLE_ADMIN = 2 };

struct auth_identity {
    int64_t user_id;
    char name[128];
    enum bk_role role;
    char csrf[65]; /* session only: the token state-changing requests must echo */
    bool via_session;
    int64_t token_id; /* bearer only */
};

/* sodium_init(); call once before threads start. 0 or -BK_EIO. */
int auth_init(void);
const char *bk_role_name(enum bk_role r);
int bk_role_parse(const char *s, enum bk_role *out);

/* 0 when name is a valid user name (below), else -BK_EINVAL with the reason in err. */
int auth_check_user_name(const char *name, struct bk_err *err);

/* Users. Names: 1-64 chars of [A-Za-z0-9._@-]; passwords >= 8 chars. Errors: -BK_EINVAL
 * (bad name/password/duplicate), -BK_ENOTFOUND. */
int auth_user_add(struct bk_store *s, const char *name, enum bk_role role, const char *password,
                  struct bk_err *err);
int auth_user_passwd(struct bk_store *s, const char *name, const char *password,
                     struct bk_err *err);
/* Deletes the user, its tokens and sessions. */
int auth_user_del(struct bk_store *s, const char *name, struct bk_err *err);
/* Check a password; constant-time failure path (a hash is verified even for an unknown user).
 * -BK_EAUTH on mismatch. */
int auth_login(struct bk_store *s, const char *name, const char *password, struct auth_identity *id,
               struct bk_err *err);

/* API tokens: *token (caller frees) is shown once; only its SHA-256 is stored. */
int auth_token_add(struct bk_store *s, const char *user, const char *label, char **token,
                   int64_t *token_id, struct bk_err *err);
int auth_token_revoke(struct bk_store *s, int64_t token_id, struct bk_err *err);
/* Identity of a bearer token (not revoked); -BK_EAUTH otherwise. Updates last_used_at at most
 * once a minute. */
int auth_token_verify(struct bk_store *s, const char *token, struct auth_identity *id,
                      struct bk_err *err);

/* Sessions: *cookie (caller frees) is the cookie value; id->csrf is filled. ttl in ms. */
int auth_session_create(struct bk_store *s, const struct auth_identity *user, int64_t ttl_ms,
                        char **cookie, struct auth_identity *id, struct bk_err *err);
int auth_session_verify(struct bk_store *s, const char *cookie, struct auth_identity *id,
                        struct bk_err *err);
int auth_session_delete(struct bk_store *s, const char *cookie, struct bk_err *err);

/* Constant-time string comparison for tokens (CSRF). */
bool auth_equal(const char *a, const char *b);

/* ---- Acting user, audit, listings (web API) --------------------------------------------
 * The functions above record "cli" as the actor in the audit log; these variants take the
 * acting user's name (who; NULL = "cli"). Each change and its audit row commit together. */
int auth_user_add_as(struct bk_store *s, const char *who, const char *name, enum bk_role role,
                     const char *password, struct bk_err *err);
/* Changing a password also ends the user's browser sessions (tokens stay valid). */
int auth_user_passwd_as(struct bk_store *s, const char *who, const char *name, const char *password,
                        struct bk_err *err);
int auth_user_del_as(struct bk_store *s, const char *who, const char *name, struct bk_err *err);
int auth_token_add_as(struct bk_store *s, const char *who, const char *user, const char *label,
                      char **token, int64_t *token_id, struct bk_err *err);
/* Revoking an already revoked token succeeds without change; -BK_ENOTFOUND for an unknown id. */
int auth_token_revoke_as(struct bk_store *s, const char *who, int64_t token_id, struct bk_err *err);

/* Append one audit row (at = now). who NULL = "cli"; target, before_json and after_json may be
 * NULL; the JSON strings are stored as given (borrowed) and must hold no secrets. Joins the
 * caller's transaction when one is open. */
int auth_audit(struct bk_store *s, const char *who, const char *action, const char *target,
               const char *before_json, const char *after_json, struct bk_err *err);

/* Every user, by name. Strings are borrowed for the duration of the callback; a non-zero
 * return from cb stops the walk and is returned. */
int auth_user_each(struct bk_store *s,
                   int (*cb)(int64_t id, const char *name, enum bk_role role, int64_t created_at,
                             void *ud),
                   void *ud, struct bk_err *err);
/* Every token (user NULL) or the tokens of one user (-BK_ENOTFOUND if no such user), by id;
 * never the token or its hash. label may be NULL; last_used_at / revoked_at are 0 when never.
 * Same callback rules as auth_user_each. */
int auth_token_each(struct bk_store *s, const char *user,
                    int (*cb)(int64_t id, const char *user, const char *label, int64_t created_at,
                              int64_t last_used_at, int64_t revoked_at, void *ud),
                    void *ud, struct bk_err *err);

#endif

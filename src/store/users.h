/* Users, API tokens, browser sessions and the audit trail: the SQL of auth/ (which keeps the
 * rules: hashing, token and cookie formats, expiry). Roles travel as their stored words; the
 * caller parses them. Secrets never reach here: only password hashes and SHA-256 hex. */
#ifndef BK_STORE_USERS_H
#define BK_STORE_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_store;
struct bk_err;

#define STORE_USER_NAME_MAX 128
#define STORE_HASH_MAX 256
#define STORE_LABEL_MAX 129

struct store_user {
    bool found;
    bool hash_ok; /* the stored hash fits hash[] */
    int64_t id, created_at;
    char name[STORE_USER_NAME_MAX];
    char role[16]; /* as stored ("" when longer) */
    char hash[STORE_HASH_MAX];
};

/* By name (name != NULL) or by id. Not found is not an error: u->found false. */
int store_user_get(struct bk_store *s, const char *name, int64_t id, struct store_user *u,
                   struct bk_err *err);
/* -BK_EINVAL when the name exists (a unique constraint). */
int store_user_insert(struct bk_store *s, const char *name, const char *role, const char *hash,
                      int64_t now_ms, struct bk_err *err);
/* Set the hash; with if_hash, only while the stored one is still if_hash. *changed may be
 * NULL. */
int store_user_set_hash(struct bk_store *s, int64_t id, const char *hash, const char *if_hash,
                        int64_t *changed, struct bk_err *err);
/* End every browser session of the user; *n (may be NULL) = how many. */
int store_user_sessions_end(struct bk_store *s, int64_t user_id, int64_t *n, struct bk_err *err);
/* Delete the user with its tokens and sessions (counted). Inside the caller's transaction. */
int store_user_delete(struct bk_store *s, int64_t id, int64_t *tokens, int64_t *sessions,
                      struct bk_err *err);
/* Every user by name. */
int store_user_each(struct bk_store *s,
                    int (*cb)(int64_t id, const char *name, const char *role, int64_t created_at,
                              void *ud),
                    void *ud, struct bk_err *err);

int store_audit_insert(struct bk_store *s, int64_t at, const char *who, const char *action,
                       const char *target, const char *before_json, const char *after_json,
                       struct bk_err *err);

struct store_token {
    bool found;
    bool revoked, has_label;
    int64_t id, user_id, last_used_at, revoked_at;
    char user[STORE_USER_NAME_MAX];
    char role[16];
    char label[STORE_LABEL_MAX];
};

int store_token_insert(struct bk_store *s, int64_t user_id, const char *label,
                       const char *sha256_hex, int64_t now_ms, int64_t *id, struct bk_err *err);
/* By id (sha256_hex NULL) or by hash. */
int store_token_get(struct bk_store *s, int64_t id, const char *sha256_hex, struct store_token *t,
                    struct bk_err *err);
int store_token_revoke(struct bk_store *s, int64_t id, int64_t now_ms, struct bk_err *err);
/* Record a use, unless one was recorded after not_before. */
int store_token_touch(struct bk_store *s, int64_t id, int64_t now_ms, int64_t not_before,
                      struct bk_err *err);
/* Every token (user_id 0) or one user's, by id. */
int store_token_each(struct bk_store *s, int64_t user_id,
                     int (*cb)(int64_t id, const char *user, const char *label, int64_t created_at,
                               int64_t last_used_at, int64_t revoked_at, void *ud),
                     void *ud, struct bk_err *err);

struct store_session {
    bool found;
    int64_t user_id, created_at, expires_at, last_seen_at;
    char name[STORE_USER_NAME_MAX];
    char role[16];
    char csrf[65];
};

int store_session_insert(struct bk_store *s, const char *sha256_hex, int64_t user_id,
                         const char *csrf, int64_t now_ms, int64_t expires_ms, struct bk_err *err);
/* Delete the sessions expired at now_ms. */
int store_session_prune(struct bk_store *s, int64_t now_ms, struct bk_err *err);
int store_session_get(struct bk_store *s, const char *sha256_hex, struct store_session *x,
                      struct bk_err *err);
int store_session_touch(struct bk_store *s, const char *sha256_hex, int64_t now_ms,
                        int64_t expires_ms, struct bk_err *err);
int store_session_delete(struct bk_store *s, const char *sha256_hex, struct bk_err *err);

/* The role (as stored, "" when longer than role) of the user named name and how many admins
 * there are (the last admin is never demoted); *found false when no such user. 0 or -1. */
int store_user_role_admins(struct bk_store *s, const char *name, bool *found, char role[16],
                           int64_t *admins, struct bk_err *err);
/* Set the role (its name) of the user named name. 0 or -1. */
int store_user_role_set(struct bk_store *s, const char *name, const char *role, struct bk_err *err);
/* The name of the user who owns API token id into name (size namesz, cut to fit);
 * *found false when no such token. 0 or -1. */
int store_token_owner(struct bk_store *s, int64_t id, bool *found, char *name, size_t namesz,
                      struct bk_err *err);

#endif

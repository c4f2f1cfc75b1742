/* Users, tokens, sessions, audit: the SQL of users.h (portable SQL, ?N placeholders). */
#include "store/users.h"

#include "store/store.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

/* A text parameter that is never NULL (an array: SP_TEXT's NULL test would warn). */
#define SP_STR(v) ((struct store_param){.type = STORE_P_TEXT, .s = (v)})

static void copy_text(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* A role word that does not fit is no role at all (never a prefix of one). */
static void copy_role(char dst[16], const char *src)
{
    if (src && strlen(src) < 16)
        memcpy(dst, src, strlen(src) + 1);
    else
        dst[0] = '\0';
}

static int user_cb(const struct store_row *r, void *ud)
{
    struct store_user *u = ud;
    u->found = true;
    u->id = store_row_int(r, 0);
    copy_text(u->name, sizeof u->name, store_row_text(r, 1));
    copy_role(u->role, store_row_text(r, 2));
    const char *h = store_row_text(r, 3);
    u->hash_ok = h && strlen(h) < sizeof u->hash;
    if (u->hash_ok)
        memcpy(u->hash, h, strlen(h) + 1);
    u->created_at = store_row_int(r, 4);
    return 1;
}

int store_user_get(struct bk_store *s, const char *name, int64_t id, struct store_user *u,
                   struct bk_err *err)
{
    memset(u, 0, sizeof *u);
    struct store_param p[] = {name ? SP_TEXT(name) : SP_INT(id)};
    int rc = store_query(s,
                         name ? "SELECT id, name, role, password_hash, created_at FROM app_user"
                                " WHERE name = ?1"
                              : "SELECT id, name, role, password_hash, created_at FROM app_user"
                                " WHERE id = ?1",
                         p, 1, user_cb, u, err);
    return rc < 0 ? rc : 0;
}

int store_user_insert(struct bk_store *s, const char *name, const char *role, const char *hash,
                      int64_t now_ms, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(name), SP_TEXT(role), SP_TEXT(hash), SP_INT(now_ms)};
    return store_exec(s,
                      "INSERT INTO app_user (name, role, password_hash, created_at)"
                      " VALUES (?1, ?2, ?3, ?4)",
                      p, 4, NULL, NULL, err);
}

int store_user_set_hash(struct bk_store *s, int64_t id, const char *hash, const char *if_hash,
                        int64_t *changed, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(hash), SP_INT(id), SP_TEXT(if_hash)};
    return store_exec(s,
                      if_hash ? "UPDATE app_user SET password_hash = ?1 WHERE id = ?2"
                                " AND password_hash = ?3"
                              : "UPDATE app_user SET password_hash = ?1 WHERE id = ?2",
                      p, if_hash ? 3 : 2, changed, NULL, err);
}

int store_user_sessions_end(struct bk_store *s, int64_t user_id, int64_t *n, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(user_id)};
    return store_exec(s, "DELETE FROM web_session WHERE user_id = ?1", p, 1, n, NULL, err);
}

int store_user_delete(struct bk_store *s, int64_t id, int64_t *tokens, int64_t *sessions,
                      struct bk_err *err)
{
    struct store_param p[] = {SP_INT(id)};
    int rc;
    if ((rc = store_exec(s, "DELETE FROM api_token WHERE user_id = ?1", p, 1, tokens, NULL, err)) <
            0 ||
        (rc = store_user_sessions_end(s, id, sessions, err)) < 0)
        return rc;
    return store_exec(s, "DELETE FROM app_user WHERE id = ?1", p, 1, NULL, NULL, err);
}

struct user_each_ctx {
    int (*cb)(int64_t, const char *, const char *, int64_t, void *);
    void *ud;
};

static int user_each_cb(const struct store_row *r, void *ud)
{
    struct user_each_ctx *c = ud;
    const char *name = store_row_text(r, 1);
    return c->cb(store_row_int(r, 0), name ? name : "", store_row_text(r, 2), store_row_int(r, 3),
                 c->ud);
}

int store_user_each(struct bk_store *s,
                    int (*cb)(int64_t id, const char *name, const char *role, int64_t created_at,
                              void *ud),
                    void *ud, struct bk_err *err)
{
    struct user_each_ctx c = {cb, ud};
    return store_query(s, "SELECT id, name, role, created_at FROM app_user ORDER BY name", NULL, 0,
                       user_each_cb, &c, err);
}

int store_audit_insert(struct bk_store *s, int64_t at, const char *who, const char *action,
                       const char *target, const char *before_json, const char *after_json,
                       struct bk_err *err)
{
    struct store_param p[] = {SP_INT(at),      SP_TEXT(who),         SP_TEXT(action),
                              SP_TEXT(target), SP_TEXT(before_json), SP_TEXT(after_json)};
    return store_exec(s,
                      "INSERT INTO audit (at, who, action, target, before_json, after_json)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      p, 6, NULL, NULL, err);
}

/* ---- tokens ------------------------------------------------------------------------------ */

int store_token_insert(struct bk_store *s, int64_t user_id, const char *label,
                       const char *sha256_hex, int64_t now_ms, int64_t *id, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(user_id), SP_TEXT(label), SP_TEXT(sha256_hex), SP_INT(now_ms)};
    return store_exec(s,
                      "INSERT INTO api_token (user_id, name, sha256, created_at)"
                      " VALUES (?1, ?2, ?3, ?4)",
                      p, 4, NULL, id, err);
}

static int token_cb(const struct store_row *r, void *ud)
{
    struct store_token *t = ud;
    t->found = true;
    t->id = store_row_int(r, 0);
    t->user_id = store_row_int(r, 1);
    copy_text(t->user, sizeof t->user, store_row_text(r, 2));
    copy_role(t->role, store_row_text(r, 3));
    t->last_used_at = store_row_int(r, 4);
    t->revoked = !store_row_is_null(r, 5);
    t->revoked_at = store_row_int(r, 5);
    t->has_label = !store_row_is_null(r, 6);
    copy_text(t->label, sizeof t->label, t->has_label ? store_row_text(r, 6) : "");
    return 1;
}

#define TOKEN_SELECT                                                                               \
    "SELECT t.id, t.user_id, u.name, u.role, t.last_used_at, t.revoked_at, t.name"                 \
    " FROM api_token t JOIN app_user u ON u.id = t.user_id "

int store_token_get(struct bk_store *s, int64_t id, const char *sha256_hex, struct store_token *t,
                    struct bk_err *err)
{
    memset(t, 0, sizeof *t);
    struct store_param p[] = {sha256_hex ? SP_TEXT(sha256_hex) : SP_INT(id)};
    int rc = store_query(
        s, sha256_hex ? TOKEN_SELECT "WHERE t.sha256 = ?1" : TOKEN_SELECT "WHERE t.id = ?1", p, 1,
        token_cb, t, err);
    return rc < 0 ? rc : 0;
}

int store_token_revoke(struct bk_store *s, int64_t id, int64_t now_ms, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(now_ms), SP_INT(id)};
    return store_exec(s, "UPDATE api_token SET revoked_at = ?1 WHERE id = ?2", p, 2, NULL, NULL,
                      err);
}

int store_token_touch(struct bk_store *s, int64_t id, int64_t now_ms, int64_t not_before,
                      struct bk_err *err)
{
    struct store_param p[] = {SP_INT(now_ms), SP_INT(id), SP_INT(not_before)};
    return store_exec(s,
                      "UPDATE api_token SET last_used_at = ?1 WHERE id = ?2 AND"
                      " (last_used_at IS NULL OR last_used_at <= ?3)",
                      p, 3, NULL, NULL, err);
}

struct token_each_ctx {
    int (*cb)(int64_t, const char *, const char *, int64_t, int64_t, int64_t, void *);
    void *ud;
};

static int token_each_cb(const struct store_row *r, void *ud)
{
    struct token_each_ctx *c = ud;
    const char *user = store_row_text(r, 1);
    return c->cb(store_row_int(r, 0), user ? user : "", store_row_text(r, 2), store_row_int(r, 3),
                 store_row_int(r, 4), store_row_int(r, 5), c->ud);
}

#define TOKEN_LIST_SELECT                                                                          \
    "SELECT t.id, u.name, t.name, t.created_at, t.last_used_at, t.revoked_at"                      \
    " FROM api_token t JOIN app_user u ON u.id = t.user_id "

int store_token_each(struct bk_store *s, int64_t user_id,
                     int (*cb)(int64_t id, const char *user, const char *label, int64_t created_at,
                               int64_t last_used_at, int64_t revoked_at, void *ud),
                     void *ud, struct bk_err *err)
{
    struct token_each_ctx c = {cb, ud};
    if (!user_id)
        return store_query(s, TOKEN_LIST_SELECT "ORDER BY t.id", NULL, 0, token_each_cb, &c, err);
    struct store_param p[] = {SP_INT(user_id)};
    return store_query(s, TOKEN_LIST_SELECT "WHERE t.user_id = ?1 ORDER BY t.id", p, 1,
                       token_each_cb, &c, err);
}

/* ---- sessions ---------------------------------------------------------------------------- */

int store_session_insert(struct bk_store *s, const char *sha256_hex, int64_t user_id,
                         const char *csrf, int64_t now_ms, int64_t expires_ms, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(sha256_hex), SP_INT(user_id), SP_TEXT(csrf), SP_INT(now_ms),
                              SP_INT(expires_ms)};
    return store_exec(s,
                      "INSERT INTO web_session (id_sha256, user_id, csrf_token, created_at,"
                      " expires_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
                      p, 5, NULL, NULL, err);
}

int store_session_prune(struct bk_store *s, int64_t now_ms, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(now_ms)};
    return store_exec(s, "DELETE FROM web_session WHERE expires_at <= ?1", p, 1, NULL, NULL, err);
}

static int session_cb(const struct store_row *r, void *ud)
{
    struct store_session *x = ud;
    x->found = true;
    x->user_id = store_row_int(r, 0);
    copy_text(x->name, sizeof x->name, store_row_text(r, 1));
    copy_role(x->role, store_row_text(r, 2));
    copy_text(x->csrf, sizeof x->csrf, store_row_text(r, 3));
    x->created_at = store_row_int(r, 4);
    x->expires_at = store_row_int(r, 5);
    x->last_seen_at = store_row_int(r, 6);
    return 1;
}

int store_session_get(struct bk_store *s, const char *sha256_hex, struct store_session *x,
                      struct bk_err *err)
{
    memset(x, 0, sizeof *x);
    struct store_param p[] = {SP_TEXT(sha256_hex)};
    int rc = store_query(s,
                         "SELECT s.user_id, u.name, u.role, s.csrf_token, s.created_at,"
                         " s.expires_at, s.last_seen_at FROM web_session s"
                         " JOIN app_user u ON u.id = s.user_id WHERE s.id_sha256 = ?1",
                         p, 1, session_cb, x, err);
    return rc < 0 ? rc : 0;
}

int store_session_touch(struct bk_store *s, const char *sha256_hex, int64_t now_ms,
                        int64_t expires_ms, struct bk_err *err)
{
    struct store_param p[] = {SP_INT(now_ms), SP_INT(expires_ms), SP_TEXT(sha256_hex)};
    return store_exec(s,
                      "UPDATE web_session SET last_seen_at = ?1, expires_at = ?2"
                      " WHERE id_sha256 = ?3",
                      p, 3, NULL, NULL, err);
}

int store_session_delete(struct bk_store *s, const char *sha256_hex, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(sha256_hex)};
    return store_exec(s, "DELETE FROM web_session WHERE id_sha256 = ?1", p, 1, NULL, NULL, err);
}

struct role_admins {
    bool *found;
    char *role;
    int64_t *admins;
};

static int role_admins_cb(const struct store_row *r, void *ud)
{
    struct role_admins *x = ud;
    const char *role = store_row_text(r, 0);
    *x->found = true;
    if (!role || strlen(role) >= 16)
        role = "";
    snprintf(x->role, 16, "%s", role);
    *x->admins = store_row_int(r, 1);
    return 0;
}

int store_user_role_admins(struct bk_store *s, const char *name, bool *found, char role[16],
                           int64_t *admins, struct bk_err *err)
{
    *found = false;
    role[0] = '\0';
    *admins = 0;
    struct role_admins x = {found, role, admins};
    struct store_param p[] = {SP_TEXT(name)};
    return store_query(s,
                       "SELECT role, (SELECT COUNT(*) FROM app_user WHERE role = 'admin')"
                       " FROM app_user WHERE name = ?1",
                       p, 1, role_admins_cb, &x, err) < 0
               ? -1
               : 0;
}

int store_user_role_set(struct bk_store *s, const char *name, const char *role, struct bk_err *err)
{
    struct store_param p[] = {SP_TEXT(role), SP_TEXT(name)};
    return store_exec(s, "UPDATE app_user SET role = ?1 WHERE name = ?2", p, 2, NULL, NULL, err);
}

struct owner {
    bool *found;
    char *name;
    size_t namesz;
};

static int owner_cb(const struct store_row *r, void *ud)
{
    struct owner *o = ud;
    const char *name = store_row_text(r, 0);
    *o->found = true;
    snprintf(o->name, o->namesz, "%s", name ? name : "");
    return 0;
}

int store_token_owner(struct bk_store *s, int64_t id, bool *found, char *name, size_t namesz,
                      struct bk_err *err)
{
    *found = false;
    name[0] = '\0';
    struct owner o = {found, name, namesz};
    struct store_param p[] = {SP_INT(id)};
    return store_query(s,
                       "SELECT u.name FROM api_token t JOIN app_user u ON u.id = t.user_id"
                       " WHERE t.id = ?1",
                       p, 1, owner_cb, &o, err) < 0
               ? -1
               : 0;
}

/* Users, API tokens and browser sessions (their SQL: store/users.c). Password hashing is the
 * expensive, attackable part: at most one Argon2id computation runs at a time in the process (a
 * flood of logins queues instead of exhausting memory), and an unknown user name costs the same
 * hash as a known one. Tokens and session cookies are 256 random bits; only their SHA-256 reaches
 * the database, so a copy of the database does not let anyone in. Every user or token change
 * commits together with its audit row. */
#include "auth/auth.h"

#include "store/users.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Argon2id parameters (OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane). */
#define AUTH_PW_OPSLIMIT 2ULL
#define AUTH_PW_MEMLIMIT ((size_t)19 * 1024 * 1024)
#define AUTH_PW_MIN 8
#define AUTH_PW_MAX 1024
#define AUTH_NAME_MAX 64
#define AUTH_LABEL_MAX 128
#define AUTH_RAND_BYTES 32
/* base64url without padding of 32 bytes: 43 characters. */
#define AUTH_B64_LEN 43
#define AUTH_TOKEN_PREFIX "bk_"
#define AUTH_TOKEN_LEN (3 + AUTH_B64_LEN)

/* last_used_at and sliding session expiry are written at most once a minute. */
#define AUTH_TOUCH_MS 60000
/* A sliding session never outlives this, however active. */
#define AUTH_SESSION_MAX_MS (7 * 86400 * 1000LL)

/* A hash of a random, forgotten password with the parameters above: verified when the user
 * does not exist so that the answer takes as long as for a real user (unit-tested to match
 * the current parameters). */
static const char DUMMY_HASH[] = "$argon2id$v=19$m=19456,t=2,p=1$OrvBKmoz3AtR+SIwAb0mYw$"
                                 "Jje6McDmQzLBM0fmMofvuHRn1BODRgH2hSz0zoa7sf8";

static pthread_mutex_t g_hash_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_init_once = PTHREAD_ONCE_INIT;
static int g_init_rc = -1;
static char g_dummy_hash[crypto_pwhash_STRBYTES];

static void init_once(void)
{
    if (sodium_init() < 0)
        return;
    memcpy(g_dummy_hash, DUMMY_HASH, sizeof DUMMY_HASH);
    /* Parameters changed and the constant was not regenerated: make one that matches. */
    if (crypto_pwhash_str_needs_rehash(g_dummy_hash, AUTH_PW_OPSLIMIT, AUTH_PW_MEMLIMIT) != 0) {
        unsigned char pw[16];
        randombytes_buf(pw, sizeof pw);
        if (crypto_pwhash_str(g_dummy_hash, (const char *)pw, sizeof pw, AUTH_PW_OPSLIMIT,
                              AUTH_PW_MEMLIMIT) != 0)
            return;
        sodium_memzero(pw, sizeof pw);
    }
    g_init_rc = 0;
}

static int ensure_init(struct bk_err *err)
{
    pthread_once(&g_init_once, init_once);
    if (g_init_rc < 0)
        return bk_err_set(err, BK_EIO, "libsodium failed to initialise");
    return 0;
}

int auth_init(void)
{
    return ensure_init(NULL) < 0 ? -BK_EIO : 0;
}

static const char *const ROLE_NAMES[] = {"viewer", "operator", "admin"};

const char *bk_role_name(enum bk_role r)
{
    if ((int)r < 0 || (size_t)r >= sizeof ROLE_NAMES / sizeof ROLE_NAMES[0])
        return "viewer";
    return ROLE_NAMES[r];
}

int bk_role_parse(const char *s, enum bk_role *out)
{
    for (size_t i = 0; s && i < sizeof ROLE_NAMES / sizeof ROLE_NAMES[0]; i++)
        if (strcmp(s, ROLE_NAMES[i]) == 0) {
            *out = (enum bk_role)i;
            return 0;
        }
    return -BK_EINVAL;
}

bool auth_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t n = strlen(a);
    if (strlen(b) != n)
        return false;
    return sodium_memcmp(a, b, n) == 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

int auth_check_user_name(const char *name, struct bk_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > AUTH_NAME_MAX)
        return bk_err_set(err, BK_EINVAL, "user name must be 1-%d characters", AUTH_NAME_MAX);
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return bk_err_set(err, BK_EINVAL,
                              "user name may only hold letters, digits and . _ @ - "
                              "(bad character at position %d)",
                              (int)(p - name) + 1);
    }
    return 0;
}

static int check_password(const char *pw, struct bk_err *err)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < AUTH_PW_MIN)
        return bk_err_set(err, BK_EINVAL, "password must be at least %d characters", AUTH_PW_MIN);
    if (n > AUTH_PW_MAX)
        return bk_err_set(err, BK_EINVAL, "password must be at most %d characters", AUTH_PW_MAX);
    return 0;
}

static int check_label(const char *label, struct bk_err *err)
{
    if (!label)
        return 0;
    if (strlen(label) > AUTH_LABEL_MAX)
        return bk_err_set(err, BK_EINVAL, "token name must be at most %d characters",
                          AUTH_LABEL_MAX);
    for (const unsigned char *p = (const unsigned char *)label; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return bk_err_set(err, BK_EINVAL, "token name must not hold control characters");
    return 0;
}

static int hash_password(const char *pw, char out[crypto_pwhash_STRBYTES], struct bk_err *err)
{
    pthread_mutex_lock(&g_hash_lock);
    int rc = crypto_pwhash_str(out, pw, strlen(pw), AUTH_PW_OPSLIMIT, AUTH_PW_MEMLIMIT);
    pthread_mutex_unlock(&g_hash_lock);
    if (rc != 0)
        return bk_err_set(err, BK_EIO, "password hashing failed (out of memory?)");
    return 0;
}

static bool verify_password(const char *hash, const char *pw)
{
    pthread_mutex_lock(&g_hash_lock);
    int rc = crypto_pwhash_str_verify(hash, pw, strlen(pw));
    pthread_mutex_unlock(&g_hash_lock);
    return rc == 0;
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* 32 random bytes, base64url without padding, after prefix. Caller frees. */
static char *random_b64(const char *prefix)
{
    unsigned char r[AUTH_RAND_BYTES];
    char b64[sodium_base64_ENCODED_LEN(AUTH_RAND_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    randombytes_buf(r, sizeof r);
    sodium_bin2base64(b64, sizeof b64, r, sizeof r, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = xasprintf("%s%s", prefix, b64);
    sodium_memzero(r, sizeof r);
    sodium_memzero(b64, sizeof b64);
    return out;
}

/* A cheap shape check before any hashing or lookup. */
static bool is_b64url(const char *s, size_t len)
{
    if (strlen(s) != len)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static void json_str(struct bk_buf *b, const char *s)
{
    if (!s) {
        bk_buf_appends(b, "null");
        return;
    }
    bk_buf_appends(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            bk_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            bk_buf_printf(b, "\\u%04x", *p);
        else
            bk_buf_append(b, p, 1);
    }
    bk_buf_appends(b, "\"");
}

static const char *actor(const char *who)
{
    return who && *who ? who : "cli";
}

/* Roll back on failure, else commit (rolling back if the commit itself fails). */
static int tx_end(struct bk_store *s, int rc, struct bk_err *err)
{
    if (rc < 0) {
        store_rollback(s);
        return rc;
    }
    if ((rc = store_commit(s, err)) < 0)
        store_rollback(s);
    return rc;
}

struct user_row {
    struct store_user st;
    bool found;
    bool role_ok;
    bool hash_ok;
    int64_t id;
    enum bk_role role;
    const char *name; /* st.name */
    const char *hash; /* st.hash */
};

static int user_fill(int rc, struct user_row *u)
{
    u->found = u->st.found;
    u->id = u->st.id;
    u->name = u->st.name;
    u->hash = u->st.hash;
    u->hash_ok = u->st.hash_ok;
    u->role_ok = u->found && bk_role_parse(u->st.role, &u->role) == 0;
    return rc;
}

static int user_find(struct bk_store *s, const char *name, struct user_row *u, struct bk_err *err)
{
    memset(u, 0, sizeof *u);
    return user_fill(store_user_get(s, name ? name : "", 0, &u->st, err), u);
}

static int user_find_id(struct bk_store *s, int64_t id, struct user_row *u, struct bk_err *err)
{
    memset(u, 0, sizeof *u);
    return user_fill(store_user_get(s, NULL, id, &u->st, err), u);
}

/* ---- audit ------------------------------------------------------------------------------- */

int auth_audit(struct bk_store *s, const char *who, const char *action, const char *target,
               const char *before_json, const char *after_json, struct bk_err *err)
{
    if (!action || !*action)
        return bk_err_set(err, BK_EINVAL, "audit: no action");
    int rc = store_audit_insert(s, bk_now_ms(), actor(who), action, target, before_json, after_json,
                                err);
    if (rc < 0)
        bk_err_prefix(err, "audit: ");
    return rc;
}

/* ---- users ------------------------------------------------------------------------------- */

int auth_user_add_as(struct bk_store *s, const char *who, const char *name, enum bk_role role,
                     const char *password, struct bk_err *err)
{
    int rc;
    if ((rc = ensure_init(err)) < 0 || (rc = auth_check_user_name(name, err)) < 0 ||
        (rc = check_password(password, err)) < 0)
        return rc;
    if ((int)role < BK_ROLE_VIEWER || (int)role > BK_ROLE_ADMIN)
        return bk_err_set(err, BK_EINVAL, "unknown role %d", (int)role);
    struct user_row u;
    if ((rc = user_find(s, name, &u, err)) < 0)
        return rc;
    if (u.found)
        return bk_err_set(err, BK_EINVAL, "user \"%s\" already exists", name);
    /* Hash outside the transaction: the write lock is never held for an Argon2 run. */
    char hash[crypto_pwhash_STRBYTES];
    if ((rc = hash_password(password, hash, err)) < 0)
        return rc;
    if ((rc = store_begin(s, err)) < 0)
        return rc;
    rc = store_user_insert(s, name, bk_role_name(role), hash, bk_now_ms(), err);
    if (rc == -BK_EINVAL) /* lost a race with another add of the same name */
        rc = bk_err_set(err, BK_EINVAL, "user \"%s\" already exists", name);
    if (rc == 0) {
        struct bk_buf after;
        bk_buf_init(&after, 1024);
        bk_buf_appends(&after, "{\"name\":");
        json_str(&after, name);
        bk_buf_printf(&after, ",\"role\":\"%s\"}", bk_role_name(role));
        rc = auth_audit(s, who, "user.add", name, NULL, after.data, err);
        bk_buf_free(&after);
    }
    return tx_end(s, rc, err);
}

int auth_user_add(struct bk_store *s, const char *name, enum bk_role role, const char *password,
                  struct bk_err *err)
{
    return auth_user_add_as(s, NULL, name, role, password, err);
}

int auth_user_passwd_as(struct bk_store *s, const char *who, const char *name, const char *password,
                        struct bk_err *err)
{
    int rc;
    if ((rc = ensure_init(err)) < 0 || (rc = check_password(password, err)) < 0)
        return rc;
    struct user_row u;
    if ((rc = user_find(s, name ? name : "", &u, err)) < 0)
        return rc;
    if (!u.found)
        return bk_err_set(err, BK_ENOTFOUND, "no user \"%s\"", name ? name : "");
    char hash[crypto_pwhash_STRBYTES];
    if ((rc = hash_password(password, hash, err)) < 0)
        return rc;
    if ((rc = store_begin(s, err)) < 0)
        return rc;
    int64_t n = 0;
    rc = store_user_set_hash(s, u.id, hash, NULL, &n, err);
    if (rc == 0 && n == 0)
        rc = bk_err_set(err, BK_ENOTFOUND, "no user \"%s\"", name);
    /* A new password ends the browser sessions opened with the old one. */
    int64_t sessions = 0;
    if (rc == 0)
        rc = store_user_sessions_end(s, u.id, &sessions, err);
    if (rc == 0) {
        struct bk_buf after;
        bk_buf_init(&after, 1024);
        bk_buf_appends(&after, "{\"name\":");
        json_str(&after, u.name);
        bk_buf_printf(&after, ",\"password\":\"changed\",\"sessions_ended\":%lld}",
                      (long long)sessions);
        rc = auth_audit(s, who, "user.passwd", u.name, NULL, after.data, err);
        bk_buf_free(&after);
    }
    return tx_end(s, rc, err);
}

int auth_user_passwd(struct bk_store *s, const char *name, const char *password, struct bk_err *err)
{
    return auth_user_passwd_as(s, NULL, name, password, err);
}

int auth_user_del_as(struct bk_store *s, const char *who, const char *name, struct bk_err *err)
{
    int rc;
    if ((rc = store_begin(s, err)) < 0)
        return rc;
    struct user_row u;
    if ((rc = user_find(s, name ? name : "", &u, err)) < 0)
        goto out;
    if (!u.found) {
        rc = bk_err_set(err, BK_ENOTFOUND, "no user \"%s\"", name ? name : "");
        goto out;
    }
    int64_t tokens = 0, sessions = 0;
    if ((rc = store_user_delete(s, u.id, &tokens, &sessions, err)) < 0)
        goto out;
    struct bk_buf before;
    bk_buf_init(&before, 1024);
    bk_buf_appends(&before, "{\"name\":");
    json_str(&before, u.name);
    bk_buf_printf(&before, ",\"role\":\"%s\",\"tokens\":%lld,\"sessions\":%lld}",
                  u.role_ok ? bk_role_name(u.role) : "?", (long long)tokens, (long long)sessions);
    rc = auth_audit(s, who, "user.del", u.name, before.data, NULL, err);
    bk_buf_free(&before);
out:
    return tx_end(s, rc, err);
}

int auth_user_del(struct bk_store *s, const char *name, struct bk_err *err)
{
    return auth_user_del_as(s, NULL, name, err);
}

static void fill_identity(struct auth_identity *id, const struct user_row *u)
{
    memset(id, 0, sizeof *id);
    id->user_id = u->id;
    snprintf(id->name, sizeof id->name, "%s", u->name);
    id->role = u->role;
}

int auth_login(struct bk_store *s, const char *name, const char *password, struct auth_identity *id,
               struct bk_err *err)
{
    int rc;
    if ((rc = ensure_init(err)) < 0)
        return rc;
    if (!password)
        password = "";
    struct user_row u;
    if ((rc = user_find(s, name ? name : "", &u, err)) < 0)
        return rc;
    /* Always one Argon2 verification, whether or not the user exists. */
    bool usable = u.found && u.hash_ok && u.role_ok;
    bool ok = verify_password(usable ? u.hash : g_dummy_hash, password) && usable;
    if (!ok)
        return bk_err_set(err, BK_EAUTH, "invalid user name or password");
    if (crypto_pwhash_str_needs_rehash(u.hash, AUTH_PW_OPSLIMIT, AUTH_PW_MEMLIMIT) != 0) {
        char hash[crypto_pwhash_STRBYTES];
        struct bk_err e2 = {0};
        if (hash_password(password, hash, &e2) == 0) {
            /* Only if unchanged meanwhile: never overwrite a concurrent passwd. */
            if (store_user_set_hash(s, u.id, hash, u.hash, NULL, &e2) < 0)
                log_warn("auth: could not upgrade the password hash of \"%s\": %s", u.name, e2.msg);
        }
    }
    if (id)
        fill_identity(id, &u);
    return 0;
}

struct user_each_ctx {
    int (*cb)(int64_t, const char *, enum bk_role, int64_t, void *);
    void *ud;
};

static int user_each_cb(int64_t id, const char *name, const char *role_word, int64_t created_at,
                        void *ud)
{
    struct user_each_ctx *c = ud;
    enum bk_role role = BK_ROLE_VIEWER; /* an unknown stored role lists as the least */
    bk_role_parse(role_word, &role);
    return c->cb(id, name, role, created_at, c->ud);
}

int auth_user_each(struct bk_store *s,
                   int (*cb)(int64_t id, const char *name, enum bk_role role, int64_t created_at,
                             void *ud),
                   void *ud, struct bk_err *err)
{
    struct user_each_ctx c = {cb, ud};
    return store_user_each(s, user_each_cb, &c, err);
}

/* ---- API tokens -------------------------------------------------------------------------- */

int auth_token_add_as(struct bk_store *s, const char *who, const char *user, const char *label,
                      char **token, int64_t *token_id, struct bk_err *err)
{
    int rc;
    *token = NULL;
    if (token_id)
        *token_id = 0;
    if (label && !*label)
        label = NULL;
    if ((rc = ensure_init(err)) < 0 || (rc = check_label(label, err)) < 0)
        return rc;
    if ((rc = store_begin(s, err)) < 0)
        return rc;
    char *tok = NULL;
    struct user_row u;
    if ((rc = user_find(s, user ? user : "", &u, err)) < 0)
        goto out;
    if (!u.found) {
        rc = bk_err_set(err, BK_ENOTFOUND, "no user \"%s\"", user ? user : "");
        goto out;
    }
    tok = random_b64(AUTH_TOKEN_PREFIX);
    char hex[65];
    sha256_hex(tok, hex);
    int64_t id = 0;
    if ((rc = store_token_insert(s, u.id, label, hex, bk_now_ms(), &id, err)) < 0)
        goto out;
    struct bk_buf after;
    bk_buf_init(&after, 1024);
    bk_buf_printf(&after, "{\"id\":%lld,\"user\":", (long long)id);
    json_str(&after, u.name);
    bk_buf_appends(&after, ",\"name\":");
    json_str(&after, label);
    bk_buf_appends(&after, "}");
    char target[32];
    snprintf(target, sizeof target, "token:%lld", (long long)id);
    rc = auth_audit(s, who, "token.add", target, NULL, after.data, err);
    bk_buf_free(&after);
    if (rc == 0 && token_id)
        *token_id = id;
out:
    rc = tx_end(s, rc, err);
    if (rc == 0) {
        *token = tok;
    } else if (tok) {
        sodium_memzero(tok, strlen(tok));
        free(tok);
        if (token_id)
            *token_id = 0;
    }
    return rc;
}

int auth_token_add(struct bk_store *s, const char *user, const char *label, char **token,
                   int64_t *token_id, struct bk_err *err)
{
    return auth_token_add_as(s, NULL, user, label, token, token_id, err);
}

struct token_row {
    struct store_token st;
    bool role_ok;
    enum bk_role role;
};

static int token_get(struct bk_store *s, int64_t id, const char *hex, struct token_row *t,
                     struct bk_err *err)
{
    memset(t, 0, sizeof *t);
    int rc = store_token_get(s, id, hex, &t->st, err);
    t->role_ok = t->st.found && bk_role_parse(t->st.role, &t->role) == 0;
    return rc;
}

int auth_token_revoke_as(struct bk_store *s, const char *who, int64_t token_id, struct bk_err *err)
{
    int rc;
    if ((rc = store_begin(s, err)) < 0)
        return rc;
    struct token_row tr;
    if ((rc = token_get(s, token_id, NULL, &tr, err)) < 0)
        goto out;
    const struct store_token t = tr.st;
    if (!t.found) {
        rc = bk_err_set(err, BK_ENOTFOUND, "no token %lld", (long long)token_id);
        goto out;
    }
    if (t.revoked)
        goto out; /* already revoked: nothing changes, nothing to audit */
    int64_t now = bk_now_ms();
    if ((rc = store_token_revoke(s, token_id, now, err)) < 0)
        goto out;
    struct bk_buf before, after;
    bk_buf_init(&before, 1024);
    bk_buf_init(&after, 256);
    bk_buf_printf(&before, "{\"id\":%lld,\"user\":", (long long)t.id);
    json_str(&before, t.user);
    bk_buf_appends(&before, ",\"name\":");
    json_str(&before, t.has_label ? t.label : NULL);
    bk_buf_appends(&before, ",\"revoked_at\":null}");
    bk_buf_printf(&after, "{\"id\":%lld,\"revoked_at\":%lld}", (long long)t.id, (long long)now);
    char target[32];
    snprintf(target, sizeof target, "token:%lld", (long long)t.id);
    rc = auth_audit(s, who, "token.revoke", target, before.data, after.data, err);
    bk_buf_free(&before);
    bk_buf_free(&after);
out:
    return tx_end(s, rc, err);
}

int auth_token_revoke(struct bk_store *s, int64_t token_id, struct bk_err *err)
{
    return auth_token_revoke_as(s, NULL, token_id, err);
}

int auth_token_verify(struct bk_store *s, const char *token, struct auth_identity *id,
                      struct bk_err *err)
{
    int rc;
    if ((rc = ensure_init(err)) < 0)
        return rc;
    if (!token || strncmp(token, AUTH_TOKEN_PREFIX, 3) != 0 || !is_b64url(token + 3, AUTH_B64_LEN))
        return bk_err_set(err, BK_EAUTH, "invalid API token");
    char hex[65];
    sha256_hex(token, hex);
    struct token_row tr;
    if ((rc = token_get(s, 0, hex, &tr, err)) < 0)
        return rc;
    const struct store_token t = tr.st;
    if (!t.found || !tr.role_ok)
        return bk_err_set(err, BK_EAUTH, "invalid API token");
    if (t.revoked)
        return bk_err_set(err, BK_EAUTH, "API token %lld is revoked", (long long)t.id);
    int64_t now = bk_now_ms();
    if (t.last_used_at == 0 || now - t.last_used_at >= AUTH_TOUCH_MS) {
        struct bk_err e2 = {0};
        if (store_token_touch(s, t.id, now, now - AUTH_TOUCH_MS, &e2) < 0)
            log_warn("auth: could not record the use of token %lld: %s", (long long)t.id, e2.msg);
    }
    if (id) {
        memset(id, 0, sizeof *id);
        id->user_id = t.user_id;
        snprintf(id->name, sizeof id->name, "%s", t.user);
        id->role = tr.role;
        id->token_id = t.id;
    }
    return 0;
}

int auth_token_each(struct bk_store *s, const char *user,
                    int (*cb)(int64_t id, const char *user, const char *label, int64_t created_at,
                              int64_t last_used_at, int64_t revoked_at, void *ud),
                    void *ud, struct bk_err *err)
{
    if (!user)
        return store_token_each(s, 0, cb, ud, err);
    struct user_row u;
    int rc = user_find(s, user, &u, err);
    if (rc < 0)
        return rc;
    if (!u.found)
        return bk_err_set(err, BK_ENOTFOUND, "no user \"%s\"", user);
    return store_token_each(s, u.id, cb, ud, err);
}

/* ---- sessions ---------------------------------------------------------------------------- */

int auth_session_create(struct bk_store *s, const struct auth_identity *user, int64_t ttl_ms,
                        char **cookie, struct auth_identity *id, struct bk_err *err)
{
    int rc;
    *cookie = NULL;
    if ((rc = ensure_init(err)) < 0)
        return rc;
    if (!user || ttl_ms <= 0)
        return bk_err_set(err, BK_EINVAL, "session: no user or a ttl <= 0");
    /* Fresh name and role from the database: the caller's identity may be stale. */
    struct user_row u;
    if ((rc = user_find_id(s, user->user_id, &u, err)) < 0)
        return rc;
    if (!u.found || !u.role_ok)
        return bk_err_set(err, BK_ENOTFOUND, "session: no user with id %lld",
                          (long long)user->user_id);
    char *ck = random_b64("");
    char hex[65];
    sha256_hex(ck, hex);
    unsigned char r[AUTH_RAND_BYTES];
    char csrf[2 * AUTH_RAND_BYTES + 1];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(csrf, sizeof csrf, r, sizeof r);
    sodium_memzero(r, sizeof r);
    int64_t now = bk_now_ms();
    int64_t exp = ttl_ms > AUTH_SESSION_MAX_MS ? now + AUTH_SESSION_MAX_MS : now + ttl_ms;
    /* Housekeeping: expired sessions of anyone go when a new one starts. */
    struct bk_err e2 = {0};
    if (store_session_prune(s, now, &e2) < 0)
        log_warn("auth: could not prune expired sessions: %s", e2.msg);
    rc = store_session_insert(s, hex, u.id, csrf, now, exp, err);
    if (rc < 0) {
        sodium_memzero(ck, strlen(ck));
        free(ck);
        return rc;
    }
    if (id) {
        fill_identity(id, &u);
        memcpy(id->csrf, csrf, sizeof csrf);
        id->via_session = true;
    }
    *cookie = ck;
    return 0;
}

int auth_session_verify(struct bk_store *s, const char *cookie, struct auth_identity *id,
                        struct bk_err *err)
{
    int rc;
    if ((rc = ensure_init(err)) < 0)
        return rc;
    if (!cookie || !is_b64url(cookie, AUTH_B64_LEN))
        return bk_err_set(err, BK_EAUTH, "invalid session");
    char hex[65];
    sha256_hex(cookie, hex);
    struct store_session x;
    if ((rc = store_session_get(s, hex, &x, err)) < 0)
        return rc;
    enum bk_role role = BK_ROLE_VIEWER;
    if (!x.found || bk_role_parse(x.role, &role) < 0)
        return bk_err_set(err, BK_EAUTH, "invalid session");
    int64_t now = bk_now_ms();
    struct bk_err e2 = {0};
    if (x.expires_at <= now) {
        if (store_session_delete(s, hex, &e2) < 0)
            log_warn("auth: could not delete an expired session: %s", e2.msg);
        return bk_err_set(err, BK_EAUTH, "session expired");
    }
    /* Sliding expiry: activity pushes the end by the session's idle allowance (expires_at -
     * last_seen_at, the ttl it was created with), never past the absolute maximum. */
    if (now - x.last_seen_at >= AUTH_TOUCH_MS) {
        int64_t idle = x.expires_at - x.last_seen_at;
        int64_t exp = now + idle;
        if (exp > x.created_at + AUTH_SESSION_MAX_MS)
            exp = x.created_at + AUTH_SESSION_MAX_MS;
        if (exp < x.expires_at)
            exp = x.expires_at;
        if (store_session_touch(s, hex, now, exp, &e2) < 0)
            log_warn("auth: could not extend a session: %s", e2.msg);
    }
    if (id) {
        memset(id, 0, sizeof *id);
        id->user_id = x.user_id;
        snprintf(id->name, sizeof id->name, "%s", x.name);
        id->role = role;
        memcpy(id->csrf, x.csrf, sizeof id->csrf);
        id->via_session = true;
    }
    return 0;
}

int auth_session_delete(struct bk_store *s, const char *cookie, struct bk_err *err)
{
    int rc;
    if ((rc = ensure_init(err)) < 0)
        return rc;
    if (!cookie || !is_b64url(cookie, AUTH_B64_LEN))
        return 0; /* nothing that could be stored */
    char hex[65];
    sha256_hex(cookie, hex);
    return store_session_delete(s, hex, err);
}

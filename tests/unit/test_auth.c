/* Unit tests of auth/ on a real SQLite file: user names and duplicates, Argon2id logins
 * (right, wrong, unknown user, after passwd, rehash of weaker hashes), API tokens (verify,
 * revoke, wrong tokens, nothing secret stored), sessions (create, verify, delete, expiry),
 * deletion cascading to tokens and sessions, the audit trail and auth_equal. Each test gets
 * a fresh database. Argon2 runs are kept few: each costs ~20-50 ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth/auth.h"
#include "config/config.h"
#include "store/store.h"
#include "util/err.h"
#include "util/xalloc.h"

#include "testdb.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char g_dir[64];
static struct bk_config *g_cfg;
static struct bk_store *g_s;

static const char PW[] = "correct horse battery";

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bk-auth-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    char *sec = testdb_section(g_dir);
    char *text = xasprintf("%s", sec);
    struct bk_err e = {0};
    int rc = config_parse_string(text, "t.conf", g_dir, &g_cfg, &e);
    free(text);
    free(sec);
    if (rc < 0 || auth_init() < 0)
        return -1;
    return store_open(g_cfg, &g_s, &e);
}

static int teardown(void **state)
{
    store_close(g_s);
    g_s = NULL;
    testdb_drop(g_dir);
    rmdir(g_dir);
    config_free(g_cfg);
    g_cfg = NULL;
    return 0;
}

static int int_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 1;
}

/* The single integer a query answers (-1 when no row). */
static int64_t q1(const char *sql)
{
    int64_t v = -1;
    struct bk_err e = {0};
    assert_true(store_query(g_s, sql, NULL, 0, int_cb, &v, &e) >= 0);
    return v;
}

struct text_cb {
    char buf[256];
};

static int text_cb(const struct store_row *r, void *ud)
{
    struct text_cb *t = ud;
    snprintf(t->buf, sizeof t->buf, "%s", store_row_text(r, 0) ? store_row_text(r, 0) : "");
    return 1;
}

static void q_text(const char *sql, char out[256])
{
    struct text_cb t = {{0}};
    struct bk_err e = {0};
    assert_true(store_query(g_s, sql, NULL, 0, text_cb, &t, &e) >= 0);
    memcpy(out, t.buf, sizeof t.buf);
}

/* Does any column of any row of table hold needle? */
struct scan {
    const char *needle;
    int hits;
    int rows;
};

static int scan_cb(const struct store_row *r, void *ud)
{
    struct scan *sc = ud;
    sc->rows++;
    for (int i = 0; i < store_row_count(r); i++) {
        const char *v = store_row_text(r, i);
        if (v && strstr(v, sc->needle))
            sc->hits++;
    }
    return 0;
}

static int scan_table(const char *table, const char *needle, int *rows)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT * FROM %s", table);
    struct scan sc = {needle, 0, 0};
    struct bk_err e = {0};
    assert_int_equal(store_query(g_s, sql, NULL, 0, scan_cb, &sc, &e), 0);
    if (rows)
        *rows = sc.rows;
    return sc.hits;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_roles_and_equal(void **state)
{
    assert_int_equal(auth_init(), 0);
    enum bk_role r;
    assert_int_equal(bk_role_parse("admin", &r), 0);
    assert_int_equal(r, BK_ROLE_ADMIN);
    assert_int_equal(bk_role_parse("operator", &r), 0);
    assert_int_equal(r, BK_ROLE_OPERATOR);
    assert_int_equal(bk_role_parse("viewer", &r), 0);
    assert_int_equal(r, BK_ROLE_VIEWER);
    assert_int_equal(bk_role_parse("Admin", &r), -BK_EINVAL);
    assert_int_equal(bk_role_parse("root", &r), -BK_EINVAL);
    assert_int_equal(bk_role_parse("", &r), -BK_EINVAL);
    assert_int_equal(bk_role_parse(NULL, &r), -BK_EINVAL);
    assert_string_equal(bk_role_name(BK_ROLE_OPERATOR), "operator");

    assert_true(auth_equal("abc", "abc"));
    assert_true(auth_equal("", ""));
    assert_false(auth_equal("abc", "abd"));
    assert_false(auth_equal("abc", "abcd"));
    assert_false(auth_equal("abcd", "abc"));
    assert_false(auth_equal("abc", ""));
    assert_false(auth_equal(NULL, "abc"));
    assert_false(auth_equal("abc", NULL));
    assert_false(auth_equal(NULL, NULL));
}

static void test_user_names(void **state)
{
    struct bk_err e = {0};
    assert_int_equal(auth_user_add(g_s, "alice", BK_ROLE_ADMIN, PW, &e), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM app_user WHERE name = 'alice' AND role = 'admin'"),
                     1);
    /* Duplicate: refused before any hashing, the first user unchanged. */
    assert_int_equal(auth_user_add(g_s, "alice", BK_ROLE_VIEWER, PW, &e), -BK_EINVAL);
    assert_non_null(strstr(e.msg, "already exists"));
    assert_int_equal(q1("SELECT COUNT(*) FROM app_user"), 1);

    const char *bad[] = {"", "a b", "x;drop", "tab\there", "é", "a/b", "quote'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(auth_user_add(g_s, bad[i], BK_ROLE_VIEWER, PW, &e), -BK_EINVAL);
        assert_int_equal(auth_check_user_name(bad[i], &e), -BK_EINVAL);
    }
    assert_int_equal(auth_user_add(g_s, NULL, BK_ROLE_VIEWER, PW, &e), -BK_EINVAL);
    char longname[66];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    assert_int_equal(auth_check_user_name(longname, &e), -BK_EINVAL);
    longname[64] = '\0';
    assert_int_equal(auth_check_user_name(longname, &e), 0);
    assert_int_equal(auth_check_user_name("ops.team_1@acme-corp", &e), 0);
    /* Bad passwords and roles. */
    assert_int_equal(auth_user_add(g_s, "bob", BK_ROLE_VIEWER, "short", &e), -BK_EINVAL);
    assert_non_null(strstr(e.msg, "at least 8"));
    assert_null(strstr(e.msg, "short"));
    assert_int_equal(auth_user_add(g_s, "bob", BK_ROLE_VIEWER, NULL, &e), -BK_EINVAL);
    assert_int_equal(auth_user_add(g_s, "bob", (enum bk_role)7, PW, &e), -BK_EINVAL);
    assert_int_equal(q1("SELECT COUNT(*) FROM app_user"), 1);

    /* The stored hash is Argon2id with the required parameters, never the password. */
    char hash[256];
    q_text("SELECT password_hash FROM app_user WHERE name = 'alice'", hash);
    assert_true(strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    assert_int_equal(scan_table("app_user", PW, NULL), 0);
}

static void test_login_and_passwd(void **state)
{
    struct bk_err e = {0};
    struct auth_identity id;
    assert_int_equal(auth_user_add(g_s, "bob", BK_ROLE_OPERATOR, PW, &e), 0);

    double t0 = now_ms();
    assert_int_equal(auth_login(g_s, "bob", PW, &id, &e), 0);
    double t_ok = now_ms() - t0;
    assert_string_equal(id.name, "bob");
    assert_int_equal(id.role, BK_ROLE_OPERATOR);
    assert_true(id.user_id > 0);
    assert_false(id.via_session);
    print_message("one Argon2id verification: %.1f ms\n", t_ok);

    assert_int_equal(auth_login(g_s, "bob", "wrong password", &id, &e), -BK_EAUTH);
    assert_null(strstr(e.msg, "wrong password"));
    /* An unknown user costs a hash too (the dummy): the answer is not instant. */
    t0 = now_ms();
    assert_int_equal(auth_login(g_s, "nobody", PW, &id, &e), -BK_EAUTH);
    double t_unknown = now_ms() - t0;
    assert_true(t_unknown > t_ok / 4);
    char msg_unknown[512];
    snprintf(msg_unknown, sizeof msg_unknown, "%s", e.msg);
    assert_int_equal(auth_login(g_s, "bob", "", &id, &e), -BK_EAUTH);
    assert_string_equal(e.msg, msg_unknown); /* same words whichever part was wrong */

    assert_int_equal(auth_user_passwd(g_s, "bob", "a new secret 42", &e), 0);
    assert_int_equal(auth_login(g_s, "bob", PW, &id, &e), -BK_EAUTH);
    assert_int_equal(auth_login(g_s, "bob", "a new secret 42", &id, &e), 0);
    assert_int_equal(auth_user_passwd(g_s, "nobody", "a new secret 42", &e), -BK_ENOTFOUND);
    assert_int_equal(auth_user_passwd(g_s, "bob", "short", &e), -BK_EINVAL);
}

static void test_rehash(void **state)
{
    struct bk_err e = {0};
    struct auth_identity id;
    assert_int_equal(auth_user_add(g_s, "old", BK_ROLE_VIEWER, PW, &e), 0);
    /* A hash made with weaker parameters, as an older release might have stored. */
    char weak[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(weak, PW, strlen(PW), 1, 8 * 1024 * 1024), 0);
    struct store_param p[] = {{.type = STORE_P_TEXT, .s = weak}};
    assert_int_equal(
        store_exec(g_s, "UPDATE app_user SET password_hash = ?1", p, 1, NULL, NULL, &e), 0);
    assert_int_equal(auth_login(g_s, "old", PW, &id, &e), 0);
    char hash[256];
    q_text("SELECT password_hash FROM app_user", hash);
    assert_true(strncmp(hash, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    assert_int_equal(auth_login(g_s, "old", PW, &id, &e), 0);
}

static void test_tokens(void **state)
{
    struct bk_err e = {0};
    struct auth_identity id;
    assert_int_equal(auth_user_add(g_s, "carol", BK_ROLE_VIEWER, PW, &e), 0);

    char *tok = NULL;
    int64_t tid = 0;
    assert_int_equal(auth_token_add(g_s, "carol", "grafana", &tok, &tid, &e), 0);
    assert_non_null(tok);
    assert_int_equal(tid, 1); /* fresh database: the queries below use id 1 */
    assert_true(strncmp(tok, "bk_", 3) == 0);
    assert_int_equal(strlen(tok), 3 + 43);
    assert_int_equal(strspn(tok + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_"),
                     43);

    /* Stored: lowercase hex SHA-256 of the token, and nothing of the token itself. */
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[65], stored[256];
    crypto_hash_sha256(h, (const unsigned char *)tok, strlen(tok));
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    q_text("SELECT sha256 FROM api_token", stored);
    assert_string_equal(stored, hex);
    assert_string_not_equal(stored, tok);
    int rows = 0;
    assert_int_equal(scan_table("api_token", tok, &rows), 0);
    assert_int_equal(rows, 1);
    char part[16];
    snprintf(part, sizeof part, "%.12s", tok + 3);
    assert_int_equal(scan_table("api_token", part, NULL), 0);
    assert_int_equal(scan_table("audit", part, NULL), 0);

    assert_int_equal(q1("SELECT COUNT(*) FROM api_token WHERE last_used_at IS NULL"), 1);
    memset(&id, 0x55, sizeof id);
    assert_int_equal(auth_token_verify(g_s, tok, &id, &e), 0);
    assert_string_equal(id.name, "carol");
    assert_int_equal(id.role, BK_ROLE_VIEWER);
    assert_int_equal(id.token_id, tid);
    assert_false(id.via_session);
    assert_string_equal(id.csrf, "");
    int64_t used = q1("SELECT last_used_at FROM api_token");
    assert_true(used > 0);
    /* At most once a minute: a second use right away writes nothing. */
    assert_int_equal(store_exec(g_s, "UPDATE api_token SET last_used_at = last_used_at - 1000",
                                NULL, 0, NULL, NULL, &e),
                     0);
    assert_int_equal(auth_token_verify(g_s, tok, &id, &e), 0);
    assert_int_equal(q1("SELECT last_used_at FROM api_token"), used - 1000);

    /* Wrong tokens: one character changed, truncated, no prefix, empty, NULL. */
    char *wrong = xstrdup(tok);
    wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
    assert_int_equal(auth_token_verify(g_s, wrong, &id, &e), -BK_EAUTH);
    assert_null(strstr(e.msg, wrong));
    wrong[strlen(wrong) - 1] = '\0';
    assert_int_equal(auth_token_verify(g_s, wrong, &id, &e), -BK_EAUTH);
    free(wrong);
    assert_int_equal(auth_token_verify(g_s, tok + 3, &id, &e), -BK_EAUTH);
    assert_int_equal(auth_token_verify(g_s, "", &id, &e), -BK_EAUTH);
    assert_int_equal(auth_token_verify(g_s, NULL, &id, &e), -BK_EAUTH);
    assert_int_equal(auth_token_verify(g_s, hex, &id, &e), -BK_EAUTH); /* the hash is no key */

    /* A second token, listing, unknown users. */
    char *tok2 = NULL;
    int64_t tid2 = 0;
    assert_int_equal(auth_token_add(g_s, "carol", NULL, &tok2, &tid2, &e), 0);
    assert_string_not_equal(tok, tok2);
    free(tok2);
    assert_int_equal(auth_token_add(g_s, "nobody", "x", &tok2, NULL, &e), -BK_ENOTFOUND);
    assert_null(tok2);
    char ctl[] = "bad\nlabel";
    assert_int_equal(auth_token_add(g_s, "carol", ctl, &tok2, NULL, &e), -BK_EINVAL);
    assert_int_equal(q1("SELECT COUNT(*) FROM api_token"), 2);

    /* Revoke: refused from then on; again = no change; unknown id = not found. */
    assert_int_equal(auth_token_revoke(g_s, tid, &e), 0);
    assert_int_equal(auth_token_verify(g_s, tok, &id, &e), -BK_EAUTH);
    assert_non_null(strstr(e.msg, "revoked"));
    int64_t revoked_at = q1("SELECT revoked_at FROM api_token WHERE id = 1");
    assert_true(revoked_at > 0);
    assert_int_equal(auth_token_revoke(g_s, tid, &e), 0);
    assert_int_equal(q1("SELECT revoked_at FROM api_token WHERE id = 1"), revoked_at);
    assert_int_equal(auth_token_revoke(g_s, 999, &e), -BK_ENOTFOUND);
    assert_int_equal(q1("SELECT COUNT(*) FROM audit WHERE action = 'token.revoke'"), 1);
    sodium_memzero(tok, strlen(tok));
    free(tok);
}

struct tok_list {
    int n;
    int64_t ids[8];
    char labels[8][32];
    int64_t revoked[8];
};

static int tok_list_cb(int64_t id, const char *user, const char *label, int64_t created_at,
                       int64_t last_used_at, int64_t revoked_at, void *ud)
{
    struct tok_list *l = ud;
    assert_true(l->n < 8);
    assert_true(created_at > 0);
    l->ids[l->n] = id;
    snprintf(l->labels[l->n], sizeof l->labels[0], "%s:%s", user, label ? label : "(null)");
    l->revoked[l->n] = revoked_at;
    l->n++;
    return 0;
}

struct user_list {
    int n;
    char names[8][32];
    enum bk_role roles[8];
};

static int user_list_cb(int64_t id, const char *name, enum bk_role role, int64_t created_at,
                        void *ud)
{
    struct user_list *l = ud;
    assert_true(l->n < 8);
    assert_true(id > 0 && created_at > 0);
    snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
    l->roles[l->n] = role;
    l->n++;
    return 0;
}

static int stop_cb(int64_t id, const char *name, enum bk_role role, int64_t created_at, void *ud)
{
    ++*(int *)ud;
    return 42;
}

static void test_listings(void **state)
{
    struct bk_err e = {0};
    /* Users are inserted directly (no Argon2 needed to list them). */
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO app_user (name, role, password_hash, created_at) "
                                "VALUES ('zed', 'viewer', 'x', 1), ('amy', 'admin', 'x', 2)",
                                NULL, 0, NULL, NULL, &e),
                     0);
    struct user_list ul = {0};
    assert_int_equal(auth_user_each(g_s, user_list_cb, &ul, &e), 0);
    assert_int_equal(ul.n, 2);
    assert_string_equal(ul.names[0], "amy");
    assert_int_equal(ul.roles[0], BK_ROLE_ADMIN);
    assert_string_equal(ul.names[1], "zed");
    int calls = 0;
    assert_int_equal(auth_user_each(g_s, stop_cb, &calls, &e), 42);
    assert_int_equal(calls, 1);

    char *t = NULL;
    int64_t id1, id2, id3;
    assert_int_equal(auth_token_add(g_s, "zed", "ci", &t, &id1, &e), 0);
    free(t);
    assert_int_equal(auth_token_add(g_s, "amy", NULL, &t, &id2, &e), 0);
    free(t);
    assert_int_equal(auth_token_add_as(g_s, "amy", "zed", "two", &t, &id3, &e), 0);
    free(t);
    assert_int_equal(auth_token_revoke(g_s, id3, &e), 0);

    struct tok_list tl = {0};
    assert_int_equal(auth_token_each(g_s, NULL, tok_list_cb, &tl, &e), 0);
    assert_int_equal(tl.n, 3);
    assert_string_equal(tl.labels[0], "zed:ci");
    assert_string_equal(tl.labels[1], "amy:(null)");
    assert_int_equal(tl.revoked[0], 0);
    assert_true(tl.revoked[2] > 0);
    memset(&tl, 0, sizeof tl);
    assert_int_equal(auth_token_each(g_s, "zed", tok_list_cb, &tl, &e), 0);
    assert_int_equal(tl.n, 2);
    assert_int_equal(tl.ids[0], id1);
    assert_int_equal(tl.ids[1], id3);
    assert_int_equal(auth_token_each(g_s, "nobody", tok_list_cb, &tl, &e), -BK_ENOTFOUND);
    assert_int_equal(q1("SELECT COUNT(*) FROM audit WHERE action = 'token.add' AND who = 'amy'"),
                     1);
}

static void test_sessions(void **state)
{
    struct bk_err e = {0};
    struct auth_identity user, id;
    assert_int_equal(auth_user_add(g_s, "dave", BK_ROLE_ADMIN, PW, &e), 0);
    assert_int_equal(auth_login(g_s, "dave", PW, &user, &e), 0);

    char *cookie = NULL;
    assert_int_equal(auth_session_create(g_s, &user, 3600 * 1000, &cookie, &id, &e), 0);
    assert_non_null(cookie);
    assert_int_equal(strlen(cookie), 43);
    assert_true(id.via_session);
    assert_string_equal(id.name, "dave");
    assert_int_equal(id.role, BK_ROLE_ADMIN);
    assert_int_equal(strlen(id.csrf), 64);
    assert_int_equal(strspn(id.csrf, "0123456789abcdef"), 64);
    char csrf[65];
    memcpy(csrf, id.csrf, sizeof csrf);
    assert_int_equal(scan_table("web_session", cookie, NULL), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM web_session"), 1);

    memset(&id, 0, sizeof id);
    assert_int_equal(auth_session_verify(g_s, cookie, &id, &e), 0);
    assert_true(id.via_session);
    assert_string_equal(id.name, "dave");
    assert_int_equal(id.user_id, user.user_id);
    assert_int_equal(id.role, BK_ROLE_ADMIN);
    assert_true(auth_equal(id.csrf, csrf));

    /* Wrong cookies, a bearer token offered as a cookie. */
    char *wrong = xstrdup(cookie);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    assert_int_equal(auth_session_verify(g_s, wrong, &id, &e), -BK_EAUTH);
    free(wrong);
    assert_int_equal(auth_session_verify(g_s, "", &id, &e), -BK_EAUTH);
    assert_int_equal(auth_session_verify(g_s, NULL, &id, &e), -BK_EAUTH);

    /* Two sessions are independent; delete ends one. */
    char *cookie2 = NULL;
    assert_int_equal(auth_session_create(g_s, &user, 3600 * 1000, &cookie2, &id, &e), 0);
    assert_string_not_equal(cookie, cookie2);
    assert_false(auth_equal(id.csrf, csrf));
    assert_int_equal(auth_session_delete(g_s, cookie, &e), 0);
    assert_int_equal(auth_session_verify(g_s, cookie, &id, &e), -BK_EAUTH);
    assert_int_equal(auth_session_verify(g_s, cookie2, &id, &e), 0);
    assert_int_equal(auth_session_delete(g_s, cookie, &e), 0); /* again: nothing to do */
    free(cookie);

    /* Expiry: refused and deleted. */
    char *shortlived = NULL;
    assert_int_equal(auth_session_create(g_s, &user, 1, &shortlived, NULL, &e), 0);
    nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    assert_int_equal(q1("SELECT COUNT(*) FROM web_session"), 2);
    assert_int_equal(auth_session_verify(g_s, shortlived, &id, &e), -BK_EAUTH);
    assert_non_null(strstr(e.msg, "expired"));
    assert_int_equal(q1("SELECT COUNT(*) FROM web_session"), 1);
    free(shortlived);

    /* Sliding expiry: a session last seen over a minute ago is extended by its idle ttl. */
    assert_int_equal(store_exec(g_s,
                                "UPDATE web_session SET last_seen_at = last_seen_at - 120000, "
                                "expires_at = expires_at - 120000",
                                NULL, 0, NULL, NULL, &e),
                     0);
    int64_t before = q1("SELECT expires_at FROM web_session");
    assert_int_equal(auth_session_verify(g_s, cookie2, &id, &e), 0);
    assert_true(q1("SELECT expires_at FROM web_session") >= before + 120000);

    /* Bad arguments; an unknown user id. */
    char *c3 = NULL;
    assert_int_equal(auth_session_create(g_s, &user, 0, &c3, NULL, &e), -BK_EINVAL);
    struct auth_identity ghost = user;
    ghost.user_id = 9999;
    assert_int_equal(auth_session_create(g_s, &ghost, 1000, &c3, NULL, &e), -BK_ENOTFOUND);
    assert_null(c3);

    /* A new password ends the user's sessions. */
    assert_int_equal(auth_user_passwd(g_s, "dave", "another password", &e), 0);
    assert_int_equal(auth_session_verify(g_s, cookie2, &id, &e), -BK_EAUTH);
    free(cookie2);
}

static void test_delete_cascades(void **state)
{
    struct bk_err e = {0};
    struct auth_identity user, id;
    assert_int_equal(auth_user_add(g_s, "erin", BK_ROLE_OPERATOR, PW, &e), 0);
    assert_int_equal(store_exec(g_s,
                                "INSERT INTO app_user (name, role, password_hash, created_at) "
                                "VALUES ('frank', 'viewer', 'x', 1)",
                                NULL, 0, NULL, NULL, &e),
                     0);
    assert_int_equal(auth_login(g_s, "erin", PW, &user, &e), 0);
    char *tok = NULL, *other = NULL, *cookie = NULL;
    assert_int_equal(auth_token_add(g_s, "erin", "a", &tok, NULL, &e), 0);
    assert_int_equal(auth_token_add(g_s, "frank", "b", &other, NULL, &e), 0);
    assert_int_equal(auth_session_create(g_s, &user, 3600 * 1000, &cookie, NULL, &e), 0);

    assert_int_equal(auth_user_del(g_s, "erin", &e), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM app_user WHERE name = 'erin'"), 0);
    assert_int_equal(q1("SELECT COUNT(*) FROM api_token"), 1);
    assert_int_equal(q1("SELECT COUNT(*) FROM web_session"), 0);
    assert_int_equal(auth_token_verify(g_s, tok, &id, &e), -BK_EAUTH);
    assert_int_equal(auth_session_verify(g_s, cookie, &id, &e), -BK_EAUTH);
    assert_int_equal(auth_token_verify(g_s, other, &id, &e), 0);
    assert_string_equal(id.name, "frank");
    assert_int_equal(auth_user_del(g_s, "erin", &e), -BK_ENOTFOUND);
    assert_int_equal(auth_login(g_s, "erin", PW, &id, &e), -BK_EAUTH);
    free(tok);
    free(other);
    free(cookie);
}

struct audit_rows {
    int n;
    char line[8][512];
};

static int audit_cb(const struct store_row *r, void *ud)
{
    struct audit_rows *a = ud;
    assert_true(a->n < 8);
    assert_true(store_row_int(r, 0) > 0);
    snprintf(a->line[a->n], sizeof a->line[0], "%s|%s|%s|%s|%s",
             store_row_text(r, 1) ? store_row_text(r, 1) : "NULL",
             store_row_text(r, 2) ? store_row_text(r, 2) : "NULL",
             store_row_text(r, 3) ? store_row_text(r, 3) : "NULL",
             store_row_text(r, 4) ? store_row_text(r, 4) : "NULL",
             store_row_text(r, 5) ? store_row_text(r, 5) : "NULL");
    a->n++;
    return 0;
}

static void test_audit(void **state)
{
    struct bk_err e = {0};
    assert_int_equal(auth_user_add(g_s, "gina", BK_ROLE_VIEWER, PW, &e), 0);
    assert_int_equal(auth_user_passwd_as(g_s, "root-admin", "gina", "other password", &e), 0);
    char *tok = NULL;
    int64_t tid = 0;
    assert_int_equal(auth_token_add(g_s, "gina", "label \"q\"", &tok, &tid, &e), 0);
    assert_int_equal(auth_token_revoke_as(g_s, "root-admin", tid, &e), 0);
    assert_int_equal(auth_user_del(g_s, "gina", &e), 0);
    assert_int_equal(auth_audit(g_s, NULL, "source.pause", "cove-1", NULL, "{\"paused\":true}", &e),
                     0);
    assert_int_equal(auth_audit(g_s, "x", "", NULL, NULL, NULL, &e), -BK_EINVAL);
    /* Failed changes write nothing. */
    assert_int_equal(auth_user_add(g_s, "bad name", BK_ROLE_VIEWER, PW, &e), -BK_EINVAL);
    assert_int_equal(auth_user_del(g_s, "gina", &e), -BK_ENOTFOUND);

    struct audit_rows a = {0};
    assert_int_equal(store_query(g_s,
                                 "SELECT at, who, action, target, before_json, after_json "
                                 "FROM audit ORDER BY id",
                                 NULL, 0, audit_cb, &a, &e),
                     0);
    assert_int_equal(a.n, 6);
    assert_string_equal(a.line[0],
                        "cli|user.add|gina|NULL|{\"name\":\"gina\",\"role\":\"viewer\"}");
    assert_string_equal(a.line[1], "root-admin|user.passwd|gina|NULL|{\"name\":\"gina\","
                                   "\"password\":\"changed\",\"sessions_ended\":0}");
    char want[256];
    snprintf(want, sizeof want,
             "cli|token.add|token:%lld|NULL|{\"id\":%lld,\"user\":\"gina\",\"name\":\"label "
             "\\\"q\\\"\"}",
             (long long)tid, (long long)tid);
    assert_string_equal(a.line[2], want);
    snprintf(want, sizeof want, "root-admin|token.revoke|token:%lld|{\"id\":%lld,", (long long)tid,
             (long long)tid);
    assert_true(strncmp(a.line[3], want, strlen(want)) == 0);
    assert_string_equal(a.line[4], "cli|user.del|gina|{\"name\":\"gina\",\"role\":\"viewer\","
                                   "\"tokens\":1,\"sessions\":0}|NULL");
    assert_string_equal(a.line[5], "cli|source.pause|cove-1|NULL|{\"paused\":true}");
    /* No secret, no hash in the trail. */
    assert_int_equal(scan_table("audit", PW, NULL), 0);
    assert_int_equal(scan_table("audit", "other password", NULL), 0);
    assert_int_equal(scan_table("audit", "argon2", NULL), 0);
    assert_int_equal(scan_table("audit", tok + 3, NULL), 0);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_and_equal),
        cmocka_unit_test_setup_teardown(test_user_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_and_passwd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of `backupctl backup` option handling: precedence command line > auth file >
 * environment, secret file permissions, usage errors, backup-config keys, exit mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/backup_opts.h"
#include "cli/cmd_backup.h"
#include "util/err.h"
#include "util/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const *g_env;

static const char *fake_env(const char *name)
{
    for (const char *const *p = g_env; p && *p; p += 2)
        if (strcmp(p[0], name) == 0)
            return p[1];
    return NULL;
}

static char g_dir[64];

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bk-opts-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    const char *names[] = {"auth.json", "auth644.json", "tok", "cfg.json", NULL};
    for (int i = 0; names[i]; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
        unlink(p);
    }
    rmdir(g_dir);
    return 0;
}

static const char *write_file(const char *name, const char *content, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    chmod(path, mode);
    return path;
}

static int parse(struct backup_opts *o, struct bk_err *e, int argc, ...)
{
    char *argv[32];
    va_list ap;
    va_start(ap, argc);
    argv[0] = (char *)"backup";
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    return backup_opts_parse(argc, argv, fake_env, o, e);
}

static void test_defaults_and_env(void **state)
{
    const char *env[] = {"HYCU_URL", "https://h:8443", "HYCU_AUTH_TOKEN", "envtok", NULL};
    g_env = env;
    struct backup_opts o;
    struct bk_err e = {0};
    assert_int_equal(parse(&o, &e, 3, "--backup-name", "Daily Backup"), 0);
    assert_string_equal(o.url, "https://h:8443");
    assert_string_equal(o.token, "envtok");
    assert_true(o.check_interval == 30);
    assert_true(o.timeout == 3600);
    assert_int_equal(o.kinds, HYCU_KIND_ALL);
    assert_int_equal(o.api, HYCU_DIALECT_REST);
    backup_opts_free(&o);
    log_clear_secrets();
}

static void test_precedence(void **state)
{
    const char *auth = write_file("auth.json", "{\"token\": \"filetok\"}", 0600);
    char authpath[128];
    snprintf(authpath, sizeof authpath, "%s", auth);
    const char *env[] = {"HYCU_URL", "https://h", "HYCU_AUTH_TOKEN", "envtok", NULL};
    g_env = env;
    struct backup_opts o;
    struct bk_err e = {0};
    /* auth file beats the environment … */
    assert_int_equal(parse(&o, &e, 5, "--backup-name", "x", "--auth-file", authpath), 0);
    assert_string_equal(o.token, "filetok");
    backup_opts_free(&o);
    /* … and the command line beats the auth file. */
    assert_int_equal(
        parse(&o, &e, 7, "--backup-name", "x", "--auth-file", authpath, "--auth-token", "clitok"),
        0);
    assert_string_equal(o.token, "clitok");
    backup_opts_free(&o);
    log_clear_secrets();
}

static void test_secret_permissions(void **state)
{
    const char *p = write_file("auth644.json", "{\"token\": \"t\"}", 0644);
    char path[128];
    snprintf(path, sizeof path, "%s", p);
    const char *env[] = {"HYCU_URL", "https://h", NULL};
    g_env = env;
    struct backup_opts o;
    struct bk_err e = {0};
    assert_true(parse(&o, &e, 5, "--backup-name", "x", "--auth-file", path) < 0);
    assert_non_null(strstr(e.msg, "chmod 600"));
    backup_opts_free(&o);
    const char *t = write_file("tok", "filetoken\n", 0600);
    snprintf(path, sizeof path, "%s", t);
    assert_int_equal(parse(&o, &e, 5, "--backup-name", "x", "--auth-token-file", path), 0);
    assert_string_equal(o.token, "filetoken"); /* trailing newline stripped */
    backup_opts_free(&o);
    log_clear_secrets();
}

static void test_usage_errors(void **state)
{
    const char *env[] = {"HYCU_AUTH_TOKEN", "t0k3n", NULL};
    g_env = env;
    struct backup_opts o;
    struct bk_err e = {0};
    assert_true(parse(&o, &e, 3, "--backup-name", "x") < 0);
    assert_non_null(strstr(e.msg, "--url"));
    backup_opts_free(&o);
    assert_true(parse(&o, &e, 5, "--backup-name", "x", "--check-interval", "soon") < 0);
    assert_non_null(strstr(e.msg, "--check-interval"));
    backup_opts_free(&o);
    assert_true(parse(&o, &e, 4, "--backup-name", "x", "--bogus") < 0);
    assert_non_null(strstr(e.msg, "--bogus"));
    backup_opts_free(&o);
    assert_true(parse(&o, &e, 4, "--backup-name", "Daily", "Backup") < 0);
    assert_non_null(strstr(e.msg, "unexpected argument"));
    backup_opts_free(&o);
    assert_true(parse(&o, &e, 2, "--backup-name") < 0);
    backup_opts_free(&o);
    assert_true(parse(&o, &e, 5, "--backup-name", "x", "--target-type", "fileset") < 0);
    backup_opts_free(&o);
    /* Credentials missing entirely. */
    const char *env2[] = {"HYCU_URL", "https://h", NULL};
    g_env = env2;
    assert_true(parse(&o, &e, 3, "--backup-name", "x") < 0);
    assert_non_null(strstr(e.msg, "no credentials"));
    backup_opts_free(&o);
    log_clear_secrets();
}

/* A URL carrying credentials or a query string is refused without being echoed. */
static void test_url_secrets(void **state)
{
    const char *env[] = {"HYCU_AUTH_TOKEN", "t0k3n", NULL};
    g_env = env;
    struct backup_opts o;
    struct bk_err e = {0};
    assert_true(parse(&o, &e, 5, "--backup-name", "x", "--url", "http://admin:hunter2@h:8443") < 0);
    assert_non_null(strstr(e.msg, "--url must not contain credentials"));
    assert_null(strstr(e.msg, "hunter2"));
    backup_opts_free(&o);
    assert_true(parse(&o, &e, 5, "--backup-name", "x", "--url", "https://h:8443/?token=s3cr3t") <
                0);
    assert_non_null(strstr(e.msg, "--url must be the controller's base URL"));
    assert_null(strstr(e.msg, "s3cr3t"));
    backup_opts_free(&o);
    const char *env2[] = {"HYCU_AUTH_TOKEN", "t0k3n", "HYCU_URL", "https://u:pw@h", NULL};
    g_env = env2;
    assert_true(parse(&o, &e, 3, "--backup-name", "x") < 0);
    assert_non_null(strstr(e.msg, "HYCU_URL must not contain credentials"));
    backup_opts_free(&o);
    log_clear_secrets();
}

static void test_decimal_interval(void **state)
{
    const char *env[] = {"HYCU_URL", "https://h", "HYCU_AUTH_TOKEN", "t0k3n", NULL};
    g_env = env;
    struct backup_opts o;
    struct bk_err e = {0};
    assert_int_equal(
        parse(&o, &e, 7, "--backup-name", "x", "--check-interval", "0.05", "--timeout", "2m"), 0);
    assert_true(o.check_interval > 0.049 && o.check_interval < 0.051);
    assert_true(o.timeout == 120);
    backup_opts_free(&o);
    log_clear_secrets();
}

static void test_backup_config(void **state)
{
    struct backup_opts o;
    memset(&o, 0, sizeof o);
    o.kinds = HYCU_KIND_ALL;
    struct bk_err e = {0};
    const char *cfg = "{\"type\":\"full\",\"target\":\"target-nfs\",\"target_type\":\"policy\","
                      "\"retention\":30,\"notifications\":{\"webhook\":\"http://127.0.0.1:1/x\"}}";
    assert_int_equal(backup_config_parse(cfg, strlen(cfg), HYCU_DIALECT_REST, &o, &e), 0);
    assert_true(o.force_full);
    assert_string_equal(o.target, "target-nfs");
    assert_int_equal(o.kinds, HYCU_KIND_BIT(HYCU_POLICY));
    assert_string_equal(o.webhook, "http://127.0.0.1:1/x");
    backup_opts_free(&o);
    const char *bad[] = {"[]", "{\"type\":\"differential\"}", "{\"notifications\":5}",
                         "{\"notifications\":{\"webhook\":\"ftp://x\"}}", "{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&o, 0, sizeof o);
        assert_true(backup_config_parse(bad[i], strlen(bad[i]), HYCU_DIALECT_REST, &o, &e) < 0);
        backup_opts_free(&o);
    }
}

static void test_auth_file_parse(void **state)
{
    char *t, *u, *p;
    struct bk_err e = {0};
    const char *a = "{\"username\":\"admin\",\"password\":\"pw\"}";
    assert_int_equal(auth_file_parse(a, strlen(a), &t, &u, &p, &e), 0);
    assert_null(t);
    assert_string_equal(u, "admin");
    assert_string_equal(p, "pw");
    free(u);
    free(p);
    const char *b = "{\"username\":\"admin\"}";
    assert_true(auth_file_parse(b, strlen(b), &t, &u, &p, &e) < 0);
}

static void test_setup_exit_codes(void **state)
{
    assert_int_equal(backup_setup_exit_code(-BK_EAUTH, 401), 1);
    assert_int_equal(backup_setup_exit_code(-BK_EDNS, 0), 1);
    assert_int_equal(backup_setup_exit_code(-BK_ETLS, 0), 1);
    assert_int_equal(backup_setup_exit_code(-BK_ENOTFOUND, 0), 1);
    assert_int_equal(backup_setup_exit_code(-BK_EAMBIGUOUS, 0), 1);
    assert_int_equal(backup_setup_exit_code(-BK_EHTTP, 404), 1);
    assert_int_equal(backup_setup_exit_code(-BK_EHTTP, 503), 8);
    assert_int_equal(backup_setup_exit_code(-BK_ECONNECT, 0), 8);
    assert_int_equal(backup_setup_exit_code(-BK_EPROTO, 0), 8);
    assert_int_equal(backup_setup_exit_code(-BK_EINTR, 0), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_env),   cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_secret_permissions), cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_decimal_interval),   cmocka_unit_test(test_backup_config),
        cmocka_unit_test(test_auth_file_parse),    cmocka_unit_test(test_setup_exit_codes),
        cmocka_unit_test(test_url_secrets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

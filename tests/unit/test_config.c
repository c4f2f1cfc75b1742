/* Unit tests of the configuration parser: the DESIGN §6 example, defaults, and errors that
 * name file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "util/err.h"

#include <string.h>

static const char EXAMPLE[] =
    "[database]\n"
    "url = sqlite://data/backupctl.db\n"
    "[server]\n"
    "listen = 127.0.0.1:8080\n"
    "[source \"cove-msp1\"]\n"
    "type = cove\n"
    "url = https://api.backup.management/jsonapi\n"
    "partner = Acme Corp (admin@acme.example)\n"
    "username = backupctl-api\n"
    "password_file = /etc/backupctl/cove-msp1.secret      ; or password_env\n"
    "interval = 15m\n"
    "page_size = 1000\n"
    "[source \"hycu-prod\"]\n"
    "type = hycu\n"
    "url = https://hycu.example:8443\n"
    "token_env = HYCU_TOKEN\n"
    "interval = 30m\n"
    "[alert \"ops\"]\n"
    "webhook = https://hooks.example/backup\n"
    "email = ops@example.com\n";

static void test_example(void **state)
{
    struct bk_config *c;
    struct bk_err e = {0};
    assert_int_equal(config_parse_string(EXAMPLE, "x.conf", "/etc/backupctl", &c, &e), 0);
    assert_string_equal(c->db_path, "/etc/backupctl/data/backupctl.db");
    assert_int_equal(c->nsources, 2);
    const struct bk_source_cfg *s = config_find_source(c, "cove-msp1");
    assert_non_null(s);
    assert_int_equal(s->type, BK_SOURCE_COVE);
    assert_string_equal(s->partner, "Acme Corp (admin@acme.example)");
    assert_string_equal(s->password.file, "/etc/backupctl/cove-msp1.secret");
    assert_int_equal(s->interval_ms, 15 * 60 * 1000);
    const struct bk_source_cfg *h = config_find_source(c, "hycu-prod");
    assert_string_equal(h->token.env, "HYCU_TOKEN");
    assert_string_equal(h->customer, "hycu-prod"); /* defaults to the source name */
    assert_int_equal(h->page_size, 100);
    assert_int_equal(c->nalerts, 1);
    config_free(c);
}

static void expect_error(const char *text, const char *needle)
{
    struct bk_config *c = NULL;
    struct bk_err e = {0};
    assert_true(config_parse_string(text, "f.conf", ".", &c, &e) < 0);
    assert_null(c);
    if (!strstr(e.msg, needle))
        fail_msg("error \"%s\" lacks \"%s\"", e.msg, needle);
}

static void test_errors(void **state)
{
    expect_error("[source \"a\"]\ntype = cove\nurl = https://x/jsonapi\nusername = u\n"
                 "password = hunter2\n",
                 "f.conf:5: \"password\" must not hold the secret itself");
    expect_error("[database]\nurl = mysql://x\n", "f.conf:2:");
    expect_error("[source \"a\"]\ntype = veeam\n",
                 "f.conf:2: type must be cove, hycu, push or mail");
    /* mail sources (issue 14) */
    expect_error("[source \"m\"]\ntype = mail\nurl = https://x/\n",
                 "source \"m\": a mail source takes no url or credentials");
    expect_error("[source \"m\"]\ntype = mail\nimap_url = imaps://x/INBOX\n",
                 "username (for imap_url) is required");
    expect_error("[source \"m\"]\ntype = mail\nimap_url = https://x/\n",
                 "f.conf:3: imap_url must be imaps://HOST[:PORT]/FOLDER");
    expect_error("[source \"m\"]\ntype = mail\nimap_url = imaps://u:p@x/INBOX\n",
                 "without credentials");
    expect_error("[source \"m\"]\ntype = mail\nimap_auth = basic\n",
                 "imap_auth must be password or xoauth2");
    expect_error("[source \"m\"]\ntype = mail\ntimezone = Mars/Base\n",
                 "f.conf:3: timezone \"Mars/Base\" is not a known time zone");
    expect_error("[source \"m\"]\ntype = mail\nimap_processed = a b\n",
                 "imap_processed must be a folder name");
    expect_error("[source \"a\"]\ntype = cove\nurl = https://x\nusername = u\n",
                 "password_file or password_env is required");
    expect_error("[bogus]\nx = 1\n", "f.conf:2: unknown section [bogus]");
    expect_error("[source \"a\"]\ntype = hycu\nurl = https://x\ntoken_env = T\ninterval = 1s\n",
                 "f.conf:5: interval");
    expect_error("[source \"a\"]\ntype = hycu\nurl = https://x\ntoken_env = T\n"
                 "[source \"a\"]\ntype = hycu\n",
                 "defined twice");
    expect_error("[source \"a\"]\ntype = hycu\nurl = https://x\ntoken_env = 1BAD\n",
                 "not an environment variable name");
    expect_error("[source \"a\"]\ntype = hycu\nurl = https://x\ntoken_env = T\nwhat = 1\n",
                 "f.conf:5: unknown key \"what\"");
    expect_error("this is not ini\n", "f.conf:1:");
    expect_error("[source \"a\"]\ntype = hycu\nurl = ftp://x\n", "not an http(s) URL");
}

/* A "[name" line without "]" is reported as itself, not as a key of the section before. */
static void test_malformed_header(void **state)
{
    expect_error("[database]\nurl = sqlite://x.db\n[server\nlisten = 127.0.0.1:1\n",
                 "f.conf:3: section header \"[server\" has no closing \"]\"");
    expect_error("[server]\nlisten = 127.0.0.1:1\n[source \"a\"\ntype = hycu\n",
                 "f.conf:3: section header \"[source \"a\"\" has no closing");
    /* an earlier error still wins */
    expect_error("[server]\nnope = 1\n[server\n", "f.conf:2: unknown key \"nope\"");
    struct bk_config *c = NULL;
    struct bk_err e = {0};
    expect_error("[server\n", "f.conf:1: section header");
    /* ';' inside a quoted section name is not a comment */
    assert_int_equal(config_parse_string("[source \"a;b\"]\ntype = hycu\nurl = https://x\n"
                                         "token_env = T\n",
                                         "f.conf", ".", &c, &e),
                     0);
    config_free(c);
}

/* page_size written before type is kept; the type only sets the default. */
static void test_page_size_before_type(void **state)
{
    struct bk_config *c = NULL;
    struct bk_err e = {0};
    assert_int_equal(config_parse_string("[source \"h\"]\npage_size = 7\ntype = hycu\n"
                                         "url = https://x\ntoken_env = T\n"
                                         "[source \"c\"]\npage_size = 9\ntype = cove\n"
                                         "url = https://x/jsonapi\nusername = u\npassword_env = P\n"
                                         "[source \"d\"]\ntype = cove\nurl = https://x/jsonapi\n"
                                         "username = u\npassword_env = P\n",
                                         "f.conf", ".", &c, &e),
                     0);
    assert_int_equal(config_find_source(c, "h")->page_size, 7);
    assert_int_equal(config_find_source(c, "c")->page_size, 9);
    assert_int_equal(config_find_source(c, "d")->page_size, 1000);
    config_free(c);
}

/* Credentials have keys of their own: a URL with user-info is refused, and no error echoes
 * what a URL hides. */
static void test_url_credentials(void **state)
{
    struct bk_config *c = NULL;
    struct bk_err e = {0};
    assert_true(config_parse_string("[source \"a\"]\ntype = hycu\n"
                                    "url = http://admin:hunter2@hycu:8443/\ntoken_env = T\n",
                                    "f.conf", ".", &c, &e) < 0);
    assert_non_null(strstr(e.msg, "f.conf:3: url must not contain credentials"));
    assert_null(strstr(e.msg, "hunter2"));
    assert_null(strstr(e.msg, "admin"));
    assert_true(config_parse_string("[source \"a\"]\ntype = hycu\n"
                                    "url = https://hycu/a b?token=s3cr3t\ntoken_env = T\n",
                                    "f.conf", ".", &c, &e) < 0);
    assert_non_null(strstr(e.msg, "f.conf:3: url"));
    assert_null(strstr(e.msg, "s3cr3t"));
    /* an '@' in the path is not user-info */
    assert_int_equal(config_parse_string("[source \"a\"]\ntype = hycu\n"
                                         "url = https://hycu/x@y\ntoken_env = T\n",
                                         "f.conf", ".", &c, &e),
                     0);
    config_free(c);
}

/* [database] for PostgreSQL (issue 11): the password comes from password_file/password_env,
 * never the URL (which is logged); libpq parameters pass through. */
static void test_database_pg(void **state)
{
    (void)state;
    struct bk_config *c = NULL;
    struct bk_err e = {0};
    assert_int_equal(config_parse_string("[database]\n"
                                         "url = postgresql://bk@db.example/bk?sslmode=verify-full\n"
                                         "password_file = db.secret\nstatement_timeout = 5s\n",
                                         "f.conf", "/etc/bk", &c, &e),
                     0);
    assert_string_equal(c->db_url, "postgresql://bk@db.example/bk?sslmode=verify-full");
    assert_null(c->db_path);
    assert_string_equal(c->db_password.file, "/etc/bk/db.secret"); /* relative to the file */
    assert_int_equal(c->db_statement_timeout_ms, 5000);
    config_free(c);
    assert_int_equal(config_parse_string("[database]\nurl = postgres:///bk?host=/run/pg\n"
                                         "password_env = BK_DB_PW\n",
                                         "f.conf", ".", &c, &e),
                     0);
    assert_string_equal(c->db_password.env, "BK_DB_PW");
    assert_int_equal(c->db_statement_timeout_ms, 30000); /* the default */
    config_free(c);
    const char *bad[] = {"[database]\nurl = postgresql://bk:hunter2@db/bk\n",
                         "[database]\nurl = postgresql://db/bk?password=hunter2\n"};
    for (size_t i = 0; i < 2; i++) {
        assert_true(config_parse_string(bad[i], "f.conf", ".", &c, &e) < 0);
        assert_non_null(strstr(e.msg, "f.conf:2: database url holds a password"));
        assert_null(strstr(e.msg, "hunter2"));
    }
    assert_true(config_parse_string("[database]\nurl = postgresql:///bk\n"
                                    "statement_timeout = 0s\n",
                                    "f.conf", ".", &c, &e) < 0);
    assert_non_null(strstr(e.msg, "statement_timeout"));
    /* an '@' after the host is not user-info */
    assert_int_equal(config_parse_string("[database]\nurl = postgresql://db/bk?user=a@b\n",
                                         "f.conf", ".", &c, &e),
                     0);
    config_free(c);
}

static void test_defaults(void **state)
{
    struct bk_config *c;
    struct bk_err e = {0};
    assert_int_equal(config_parse_string("", "e.conf", "/srv", &c, &e), 0);
    assert_string_equal(c->db_path, "/srv/backupctl.db");
    assert_string_equal(c->listen, "127.0.0.1:8080");
    assert_int_equal(c->nsources, 0);
    config_free(c);
}

/* issue 9: [schedule "name"], [customer "name"], [expected], [server] timezone. */
static void test_schedules(void **state)
{
    (void)state;
    static const char T[] = "[server]\ntimezone = Europe/Paris\n"
                            "[customer \"Acme\"]\ntimezone = America/New_York\n"
                            "[schedule \"weekly\"]\nkind = server\njob = db-*\n"
                            "cron = 0 3 * * 0\ngrace = 3h\n"
                            "[schedule \"nightly\"]\ncustomer = Acme\nevery = 1d\n"
                            "timezone = UTC\n"
                            "[expected]\nstale_warn_m365 = 30h\nstale_crit_m365 = 3d\n"
                            "offline_warn = 2d\noffline_error = 5d\nworkstations_missed = yes\n"
                            "duration_factor = 4\nbackfill = 3d\n";
    struct bk_config *c;
    struct bk_err e = {0};
    assert_int_equal(config_parse_string(T, "s.conf", "/tmp", &c, &e), 0);
    assert_string_equal(c->timezone, "Europe/Paris");
    assert_int_equal(c->nschedules, 2);
    const struct bk_schedule_cfg *m = config_match_schedule(c, "Acme", "cove", "db-1", "server");
    assert_non_null(m);
    assert_string_equal(m->name, "weekly"); /* first match wins, in file order */
    assert_string_equal(m->spec, "0 3 * * 0");
    assert_int_equal(m->grace_ms, 3 * 3600 * 1000LL);
    m = config_match_schedule(c, "Acme", "cove", "web-1", "server");
    assert_string_equal(m->name, "nightly");
    assert_int_equal(m->grace_ms, -1);
    assert_null(config_match_schedule(c, "Other", "cove", "web-1", "server"));
    assert_string_equal(config_find_customer(c, "Acme")->timezone, "America/New_York");
    assert_int_equal(config_find_stale(c, "m365")->warn_ms, 30 * 3600 * 1000LL);
    assert_int_equal(config_find_stale(c, "m365")->crit_ms, 3 * 86400 * 1000LL);
    assert_null(config_find_stale(c, "server"));
    assert_int_equal(c->expected.offline_warn_days, 2);
    assert_int_equal(c->expected.offline_error_days, 5);
    assert_true(c->expected.workstations_missed);
    assert_true(c->expected.duration_factor > 3.9 && c->expected.duration_factor < 4.1);
    assert_int_equal(c->expected.backfill_ms, 3 * 86400 * 1000LL);
    config_free(c);
    /* defaults */
    assert_int_equal(config_parse_string("[server]\n", "d.conf", "/tmp", &c, &e), 0);
    assert_null(c->timezone);
    assert_int_equal(c->expected.offline_warn_days, 3);
    assert_int_equal(c->expected.offline_error_days, 7);
    assert_false(c->expected.workstations_missed);
    assert_int_equal(c->expected.backfill_ms, 7 * 86400 * 1000LL);
    config_free(c);
}

static void test_schedule_errors(void **state)
{
    (void)state;
    expect_error("[server]\n[schedule \"a\"]\ncron = 0 25 * * *\n", "f.conf:3:");
    expect_error("[schedule \"a\"]\nevery = 1x\n", "f.conf:2:");
    expect_error("[schedule \"a\"]\nevery = 0 22 * * *\n", "not a duration");
    expect_error("[schedule \"a\"]\ncron = 1d\n", "not a cron expression");
    expect_error("[schedule \"a\"]\nevery = 1d\ncron = 0 1 * * *\n", "given twice");
    expect_error("[schedule \"a\"]\nevery = 1d\ntimezone = Mars/Olympus\n",
                 "f.conf:3: timezone \"Mars/Olympus\" is not a known time zone");
    expect_error("[schedule \"a\"]\njob = x\n",
                 "f.conf:1: schedule \"a\": every or cron is required");
    expect_error("[schedule \"a\"]\nevery = 1d\nwhen = now\n", "f.conf:3: unknown key \"when\"");
    expect_error("[server]\ntimezone = ../etc/passwd\n", "f.conf:2: timezone");
    expect_error("[customer \"A\"]\ntimezone = Nowhere/City\n", "f.conf:2:");
    expect_error("[expected]\nstale_warn_server = soon\n", "f.conf:2: stale_warn_server");
    expect_error("[expected]\nstale_warn_server = 2d\nstale_crit_server = 1d\n", "f.conf:3:");
    expect_error("[expected]\noffline_warn = 5d\noffline_error = 2d\n", "offline_error");
    expect_error("[expected]\nduration_factor = 0.5\n", "f.conf:2: duration_factor");
    expect_error("[expected]\nbackfill = 90d\n", "f.conf:2: backfill");
}

static void test_alerts(void **state)
{
    (void)state;
    struct bk_config *c;
    struct bk_err e = {0};
    const char *text = "[server]\npublic_url = https://bk.example/\n"
                       "[alert \"ops\"]\n"
                       "webhook = https://hooks.example/backup\n"
                       "format = teams\n"
                       "header = X-Team: backup\n"
                       "header = X-Env: prod\n"
                       "secret_env = HOOK_KEY\n"
                       "email = ops@example.com, oncall@example.com\n"
                       "smtp = smtps://mail.example:465\n"
                       "from = backupctl@example.com\n"
                       "smtp_username = bk\n"
                       "smtp_password_file = /etc/backupctl/smtp.secret\n"
                       "customer = Acme*\n"
                       "kind = server\n"
                       "min_severity = failed\n"
                       "after = 3\n"
                       "repeat = 4h\n"
                       "summary = 07:30\n"
                       "summary_per = all\n"
                       "[alert \"slack\"]\n"
                       "webhook_env = SLACK_URL\nformat = slack\n"
                       "[alert \"local\"]\nemail = root@localhost\n"
                       "[maintenance \"patch\"]\ncustomer = Acme\ncron = 0 22 * * 6\n"
                       "duration = 4h\ntimezone = Europe/Paris\n"
                       "[maintenance \"move\"]\njob = srv-*\n"
                       "start = 2026-12-05 20:00\nend = 2026-12-06 06:00\n";
    assert_int_equal(config_parse_string(text, "a.conf", ".", &c, &e), 0);
    assert_string_equal(c->public_url, "https://bk.example/");
    assert_int_equal(c->nalerts, 3);
    const struct bk_alert_cfg *a = &c->alerts[0];
    assert_int_equal(a->format, BK_ALERT_TEAMS);
    assert_int_equal(a->nheaders, 2);
    assert_string_equal(a->headers[1], "X-Env: prod");
    assert_string_equal(a->hmac.env, "HOOK_KEY");
    assert_int_equal(a->nto, 2);
    assert_string_equal(a->to[1], "oncall@example.com");
    assert_string_equal(a->smtp_password.file, "/etc/backupctl/smtp.secret");
    assert_int_equal(a->min_severity, BK_SEV_FAILED);
    assert_int_equal(a->after, 3);
    assert_int_equal(a->repeat_ms, 4 * 3600 * 1000LL);
    assert_int_equal(a->summary_minute, 7 * 60 + 30);
    assert_true(a->summary_all);
    assert_true(a->recovered);
    assert_true(config_alert_matches(a, "Acme Corp", "cove", "srv1", "server"));
    assert_false(config_alert_matches(a, "Contoso", "cove", "srv1", "server"));
    assert_false(config_alert_matches(a, "Acme Corp", "cove", "ws1", "workstation"));
    assert_string_equal(c->alerts[1].webhook_ref.env, "SLACK_URL");
    assert_int_equal(c->alerts[1].format, BK_ALERT_SLACK);
    assert_int_equal(c->alerts[1].after, 1);
    assert_int_equal(c->alerts[1].summary_minute, -1);
    assert_string_equal(c->alerts[2].smtp, "smtp://localhost:25"); /* DESIGN §6's example */
    assert_null(c->alerts[2].from);
    assert_int_equal(c->nmaints, 2);
    assert_string_equal(c->maints[0].cron, "0 22 * * 6");
    assert_int_equal(c->maints[0].duration_ms, 4 * 3600 * 1000LL);
    assert_string_equal(c->maints[1].end, "2026-12-06 06:00");
    config_free(c);

    expect_error("[alert \"a\"]\nformat = slack\n", "webhook (or webhook_file");
    expect_error("[alert \"a\"]\nwebhook = ftp://x/y\n", "not an http(s) URL");
    expect_error("[alert \"a\"]\nwebhook = https://u:p@x/y\n", "without credentials");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\nwebhook_env = U\n", "given twice");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\nsecret = k\n", "must not hold");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\nheader = NoColon\n", "Name: value");
    expect_error("[alert \"a\"]\nemail = not-an-address\n", "is not an address");
    expect_error("[alert \"a\"]\nemail = a@b.c\nsmtp = http://x\n", "smtp://HOST");
    expect_error("[alert \"a\"]\nemail = a@b.c\nsmtp_password_env = P\n", "smtp_username");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\nafter = 0\n", "from 1 to 100");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\nrepeat = 1m\n", "at least 5m");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\nsummary = 7:30\n", "HH:MM");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\ntls = maybe\n", "on or off");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\nbogus = 1\n", "unknown key \"bogus\"");
    expect_error("[alert \"a\"]\nwebhook = https://x/y\n[alert \"a\"]\nformat = json\n",
                 "defined twice");
    expect_error("[maintenance \"m\"]\ncron = 0 22 * * 6\n", "cron needs duration");
    expect_error("[maintenance \"m\"]\nstart = 2026-12-05 20:00\n", "start and end");
    expect_error("[maintenance \"m\"]\nstart = 2026-12-05 20:00\nend = 2026-12-05 19:00\n",
                 "end must be after start");
    expect_error("[maintenance \"m\"]\nstart = 2026-13-05 20:00\n", "YYYY-MM-DD HH:MM");
    expect_error("[maintenance \"m\"]\ntimezone = Mars/Base\n", "not a known time zone");
    expect_error("[server]\npublic_url = https://x/?a=1\n", "public_url");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_malformed_header),
        cmocka_unit_test(test_page_size_before_type),
        cmocka_unit_test(test_url_credentials),
        cmocka_unit_test(test_database_pg),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_schedule_errors),
        cmocka_unit_test(test_alerts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the report e-mail pipeline: one per case of the synthetic catalogue
 * (tests/fixtures/mail, email-reports.md §15) — Veeam happy path, object messages, retry
 * grouping, midnight + Dutch date, folded custom subject, copy job None/Pending,
 * replication, agent grid labels, RFC 2047 + windows-1252, VB365 attachment, Duplicati text
 * / JSON / failed, WSB keywords, not-a-run mails — plus hostile input and the store's
 * transaction: dedupe, retries as one run (last mail wins, in any order), the Inbox and its
 * rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "core/tzfile.h"
#include "mail/imap.h"
#include "mail/ingest.h"
#include "mail/mime.h"
#include "mail/parse.h"
#include "store/mail.h"
#include "store/store.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct bk_tz *g_paris;

static char *slurp(const char *name, size_t *len)
{
    char *path = xasprintf("%s/%s", MAIL_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    free(path);
    assert_non_null(f);
    char *buf = xmalloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static struct mail_msg *load(const char *name)
{
    size_t n;
    char *raw = slurp(name, &n);
    struct mail_msg *m = NULL;
    struct bk_err e = {0};
    assert_int_equal(mail_msg_parse(raw, n, &m, &e), 0);
    free(raw);
    assert_true(m->synthetic);
    return m;
}

static void parse(const char *name, struct mail_result *r)
{
    struct mail_msg *m = load(name);
    struct mail_parse_ctx ctx = {.tz = g_paris};
    mail_parse(m, &ctx, r);
    mail_msg_free(m);
}

static int64_t iso(const char *s)
{
    int64_t ms = 0;
    assert_int_equal(bk_parse_iso8601(s, &ms), 0);
    return ms;
}

static const struct bk_obj_rec *obj(const struct mail_result *r, const char *name)
{
    for (size_t i = 0; i < r->nobjects; i++)
        if (strcmp(r->objects[i].name, name) == 0)
            return &r->objects[i];
    fail_msg("no object %s", name);
    return NULL;
}

static void test_v1_success(void **state)
{
    struct mail_result r;
    parse("v1_success.eml", &r);
    assert_int_equal(r.kind, MAIL_RUN);
    assert_string_equal(r.product, "veeam_vbr");
    assert_string_equal(r.job_type, "Backup");
    assert_string_equal(r.job_name, "DC-Daily");
    assert_int_equal(r.status, BK_RUN_SUCCESS);
    /* 22:00:06 / 23:10:00 in Paris (UTC+1 in November) on the session row's date */
    assert_true(r.start_ms == iso("2026-11-24T21:00:06Z"));
    assert_true(r.end_ms == iso("2026-11-24T22:10:00Z"));
    assert_int_equal(r.nobjects, 3);
    assert_int_equal(obj(&r, "DC02")->status, BK_RUN_SUCCESS);
    assert_true(r.group_retries);
    mail_result_clear(&r);
}

static void test_v2_object_messages(void **state)
{
    struct mail_result r;
    parse("v2_warning.eml", &r);
    assert_int_equal(r.status, BK_RUN_WARNING);
    const struct bk_obj_rec *o = obj(&r, "DC02");
    assert_int_equal(o->status, BK_RUN_WARNING);
    /* two messages joined by <br>: two lines */
    assert_string_equal(o->message, "Failed to truncate transaction logs for SQL instances: "
                                    "MSSQLSERVER.\nChanged block tracking cannot be enabled: one "
                                    "or more snapshots present on the VM.");
    assert_null(obj(&r, "DC01")->message);
    mail_result_clear(&r);
}

static void test_v3_each_retry(void **state)
{
    const char *files[] = {"v3_retry1.eml", "v3_retry2.eml", "v3_final.eml"};
    enum bk_run_status want[] = {BK_RUN_FAILED, BK_RUN_FAILED, BK_RUN_SUCCESS};
    for (int i = 0; i < 3; i++) {
        struct mail_result r;
        parse(files[i], &r);
        assert_string_equal(r.job_name, "FS-Nightly");
        assert_int_equal(r.status, want[i]);
        assert_int_equal(obj(&r, "FS01")->status, want[i]);
        mail_result_clear(&r);
    }
}

static void test_v4_midnight_dutch(void **state)
{
    struct mail_result r;
    parse("v4_midnight_dutch.eml", &r);
    /* "dinsdag 1 december 2026 22:00:06", end "00:12:33 (+1)" */
    assert_true(r.start_ms == iso("2026-12-01T21:00:06Z"));
    assert_true(r.end_ms == iso("2026-12-01T23:12:33Z"));
    mail_result_clear(&r);
}

static void test_v5_folded_custom_subject(void **state)
{
    struct mail_msg *m = load("v5_folded_subject.eml");
    assert_string_equal(m->subject, "LICENSE EXPIRES IN 5 DAYS [Veeam] Failed - SQL-Nightly");
    mail_msg_free(m);
    struct mail_result r;
    parse("v5_folded_subject.eml", &r);
    assert_string_equal(r.job_name, "SQL-Nightly");
    assert_int_equal(r.status, BK_RUN_FAILED); /* from the subject: the header has no word */
    assert_string_equal(r.raw_status, "Failed");
    mail_result_clear(&r);
}

static void test_v6_copy_none_pending(void **state)
{
    struct mail_result r;
    parse("v6_copy_none.eml", &r);
    assert_string_equal(r.job_type, "Backup Copy");
    assert_string_equal(r.job_name, "Copy to Offsite");
    assert_int_equal(r.status, BK_RUN_WARNING); /* None: never success */
    assert_int_equal(obj(&r, "DC01")->status, BK_RUN_WARNING);
    assert_string_equal(obj(&r, "DC01")->raw_status, "Pending");
    mail_result_clear(&r);
}

static void test_v7_replication(void **state)
{
    struct mail_result r;
    parse("v7_replication.eml", &r);
    assert_string_equal(r.job_type, "Replication");
    assert_string_equal(r.job_name, "Replica-DC");
    mail_result_clear(&r);
}

static void test_v8_agent_date_header(void **state)
{
    struct mail_result r;
    parse("v8_agent.eml", &r);
    assert_string_equal(r.product, "veeam_agent");
    assert_string_equal(r.job_name, "Backup Job LAPTOP01");
    assert_int_equal(r.status, BK_RUN_WARNING);
    /* no session row: the date of the Date: header (Nov 27, Paris), "Start\ntime" labels */
    assert_true(r.start_ms == iso("2026-11-27T11:30:00Z"));
    assert_true(r.end_ms == iso("2026-11-27T12:04:10Z"));
    assert_string_equal(obj(&r, "LAPTOP01")->message, "Low disk space on the target.");
    mail_result_clear(&r);
}

static void test_v9_rfc2047_charset(void **state)
{
    struct mail_msg *m = load("v9_rfc2047.eml");
    assert_string_equal(m->subject, "[Success] Sauvegarde Clients \xe2\x80\x93 \xc3\x89lys\xc3\xa9"
                                    "e (1 objects)");
    mail_msg_free(m);
    struct mail_result r;
    parse("v9_rfc2047.eml", &r);
    /* the body is windows-1252 in base64: the en dash and accents arrive as UTF-8 */
    assert_string_equal(r.job_name, "Sauvegarde Clients \xe2\x80\x93 \xc3\x89lys\xc3\xa9"
                                    "e");
    mail_result_clear(&r);
}

static void test_m1_vb365_attachment(void **state)
{
    struct mail_result r;
    parse("m1_vb365_attachment.eml", &r);
    assert_string_equal(r.product, "vb365");
    assert_string_equal(r.job_name, "Contoso - Exchange");
    assert_int_equal(r.status, BK_RUN_WARNING);
    assert_int_equal(r.nobjects, 3); /* from Details.html, the attachment */
    assert_int_equal(obj(&r, "bob@contoso.example")->status, BK_RUN_WARNING);
    mail_result_clear(&r);
}

static void test_duplicati(void **state)
{
    struct mail_result r;
    parse("d1_duplicati_text.eml", &r);
    assert_int_equal(r.kind, MAIL_RUN);
    assert_string_equal(r.job_name, "Docs-to-B2");
    assert_int_equal(r.status, BK_RUN_SUCCESS);
    assert_true(r.start_ms == 1795831202000LL); /* the parenthesised raw values */
    assert_true(r.end_ms == 1795831305000LL);
    mail_result_clear(&r);
    parse("d2_duplicati_json.eml", &r);
    assert_string_equal(r.job_name, "Photos-NAS");
    assert_int_equal(r.status, BK_RUN_WARNING);
    assert_true(r.start_ms == iso("2026-11-29T03:00:00Z"));
    mail_result_clear(&r);
    parse("d3_duplicati_failed.eml", &r);
    assert_int_equal(r.status, BK_RUN_FAILED);
    assert_non_null(strstr(r.message, "(401) Unauthorized"));
    mail_result_clear(&r);
}

static void test_w1_keywords(void **state)
{
    struct mail_result r;
    parse("w1_wsb_failed.eml", &r);
    assert_string_equal(r.product, "wsb");
    assert_string_equal(r.job_name, "SRV01");
    assert_int_equal(r.status, BK_RUN_FAILED);
    assert_string_equal(r.message, "There is not enough disk space to create the volume shadow "
                                   "copy.");
    mail_result_clear(&r);
    /* failure beats success; "0 errors" is no failure; nothing is never success */
    assert_int_equal(mail_keyword_status("completed with errors"), BK_RUN_FAILED);
    assert_int_equal(mail_keyword_status("Success, 0 errors"), BK_RUN_SUCCESS);
    assert_int_equal(mail_keyword_status("no errors, completed"), BK_RUN_SUCCESS);
    assert_int_equal(mail_keyword_status("hello there"), BK_RUN_UNKNOWN);
    assert_int_equal(mail_keyword_status("terror"), BK_RUN_UNKNOWN);
}

static void test_placeholders(void **state)
{
    struct mail_result r;
    parse("s1_synology_placeholder.eml", &r);
    assert_string_equal(r.product, "synology_hyper_backup");
    assert_string_equal(r.job_name, "Offsite-C2");
    assert_int_equal(r.status, BK_RUN_WARNING);
    mail_result_clear(&r);
    parse("n1_nakivo_placeholder.eml", &r);
    assert_string_equal(r.job_name, "VMware-Prod");
    assert_int_equal(r.status, BK_RUN_WARNING); /* stopped, none failed */
    mail_result_clear(&r);
}

static void test_not_a_run(void **state)
{
    const char *files[] = {"x1_vbr_daily_summary.eml", "x1_vbr_malware.eml", "x2_acronis_recap.eml",
                           "x3_newsletter.eml"};
    for (size_t i = 0; i < 4; i++) {
        struct mail_result r;
        parse(files[i], &r);
        if (r.kind != MAIL_NOT_A_RUN)
            fail_msg("%s: %s", files[i], mail_kind_name(r.kind));
        assert_null(r.job_name);
        mail_result_clear(&r);
    }
    struct mail_result r;
    parse("u1_unknown.eml", &r);
    assert_int_equal(r.kind, MAIL_UNKNOWN);
    assert_int_equal(r.status, BK_RUN_SUCCESS); /* the keyword hint, for an Inbox rule */
    mail_result_clear(&r);
}

static void test_hostile(void **state)
{
    struct mail_msg *m = NULL;
    struct bk_err e = {0};
    assert_int_equal(mail_msg_parse("", 0, &m, &e), -BK_EINVAL);
    assert_int_equal(mail_msg_parse("a\0b: c\n", 7, &m, &e), -BK_EINVAL);
    assert_non_null(strstr(e.msg, "NUL byte at offset 1"));
    assert_int_equal(mail_msg_parse("just some text\n", 15, &m, &e), -BK_EINVAL);
    /* an mbox envelope line first (a Postfix pipe with flag F) is skipped */
    const char *mbox = "From veeam@acme.example Tue Nov 24 23:10:30 2026\nSubject: hi\n\nbody\n";
    assert_int_equal(mail_msg_parse(mbox, strlen(mbox), &m, &e), 0);
    assert_string_equal(m->subject, "hi");
    mail_msg_free(m);
    m = NULL;
    assert_int_equal(mail_msg_parse("From x", 6, &m, &e), -BK_EINVAL);
    assert_int_equal(mail_msg_parse("x", (size_t)MAIL_MAX_BYTES + 1, &m, &e), -BK_ETOOBIG);
    /* broken MIME, a lying boundary, junk HTML, invalid UTF-8: parsed, never a crash */
    const char *junk = "Subject: =?utf-8?B?////?= \xff\xfe\r\nContent-Type: multipart/mixed;"
                       " boundary=x\r\n\r\n--x\r\nContent-Type: text/html; charset=nope\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n!!!!\r\n--x\r\nContent-Type:"
                       " text/html\r\n\r\n<tr class=processObjectsHeader><td>Name<tr><td>x<td>"
                       "<table><tr><td>Backup job: \xc3\r\n";
    assert_int_equal(mail_msg_parse(junk, strlen(junk), &m, &e), 0);
    struct mail_result r;
    mail_parse(m, NULL, &r);
    mail_result_clear(&r);
    mail_msg_free(m);
    int sec;
    assert_true(mail_parse_long_date("99/99/9999", &sec) == -1);
    assert_true(mail_parse_long_date("Tuesday, November 24, 2026 10:00:06 PM", &sec) ==
                bk_days_from_civil(2026, 11, 24));
    assert_int_equal(sec, 22 * 3600 + 6);
    assert_int_equal(mail_parse_clock("25:00:00", NULL), -1);
}

static void test_rule_key(void **state)
{
    char *a = mail_rule_key("Nightly rsync report 2026-11-30: OK");
    char *b = mail_rule_key("Nightly rsync report 2026-12-01: FAILED");
    assert_string_equal(a, "nightly rsync report");
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_imap_replies(void **state)
{
    const char *ex = "* FLAGS (\\Seen)\r\n* OK [UIDVALIDITY 1796282428] UIDs valid\r\n";
    assert_true(mail_imap_uidvalidity(ex) == 1796282428ULL);
    assert_true(mail_imap_uidvalidity("* OK [UIDVALIDITY x]") == 0);
    assert_true(mail_imap_uidvalidity(NULL) == 0);
    uint64_t u[4];
    size_t n;
    /* "UID 5:*" answers the highest UID even when below 5: dropped; sorted; bounded */
    mail_imap_search_uids("* SEARCH 9 3 7 6 8\r\n", 5, u, 3, &n);
    assert_int_equal(n, 3);
    assert_true(u[0] == 6 && u[1] == 7 && u[2] == 9);
    mail_imap_search_uids("* SEARCH 4\r\n", 4, u, 4, &n);
    assert_int_equal(n, 0);
    mail_imap_search_uids("* BYE\r\n", 0, u, 4, &n);
    assert_int_equal(n, 0);
}

/* ---- the store's transaction ---- */

static char g_dir[64];

static struct bk_config *open_cfg(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/bk-mail-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char *text = xasprintf("[database]\nurl = sqlite://%s/t.db\n[source \"mail-acme\"]\n"
                           "type = mail\ncustomer = Acme\ntimezone = Europe/Paris\n",
                           g_dir);
    struct bk_err e = {0};
    struct bk_config *cfg = NULL;
    assert_int_equal(config_parse_string(text, "t.conf", g_dir, &cfg, &e), 0);
    free(text);
    return cfg;
}

static void close_cfg(struct bk_config *cfg)
{
    char p[128];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/t.db%s", g_dir, sfx[i]);
        unlink(p);
    }
    rmdir(g_dir);
    config_free(cfg);
}

static void ingest(struct bk_store *s, const struct mail_source *ms, const char *name,
                   struct mail_ingest_result *res)
{
    size_t n;
    char *raw = slurp(name, &n);
    struct bk_err e = {0};
    if (mail_ingest_bytes(s, ms, raw, n, 1800000000000LL, res, &e) < 0)
        fail_msg("%s: %s", name, e.msg);
    free(raw);
}

static int count_cb(const struct store_row *r, void *ud)
{
    *(int64_t *)ud = store_row_int(r, 0);
    return 0;
}

static int64_t count(struct bk_store *s, const char *sql)
{
    int64_t n = -1;
    struct bk_err e = {0};
    assert_true(store_query(s, sql, NULL, 0, count_cb, &n, &e) >= 0);
    return n;
}

static void test_store_pipeline(void **state)
{
    struct bk_config *cfg = open_cfg();
    struct bk_store *s = NULL;
    struct bk_err e = {0};
    assert_int_equal(store_open(cfg, &s, &e), 0);
    struct mail_source ms;
    assert_int_equal(mail_source_open(s, cfg, config_find_source(cfg, "mail-acme"), &ms, &e), 0);
    struct mail_ingest_result res;

    /* retries out of order: the final mail first, then both failed retries */
    ingest(s, &ms, "v3_final.eml", &res);
    assert_true(res.st.run_new);
    int64_t run = res.st.run_id;
    ingest(s, &ms, "v3_retry2.eml", &res);
    assert_false(res.st.run_new);
    assert_true(res.st.run_id == run);
    ingest(s, &ms, "v3_retry1.eml", &res);
    assert_true(res.st.run_id == run);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM job_run"), 1);
    /* the last mail's result wins; the run starts at the first attempt; one object */
    assert_int_equal(count(s, "SELECT COUNT(*) FROM job_run WHERE status = 'success'"
                              " AND source_type = 'email'"),
                     1);
    assert_true(count(s, "SELECT start_at FROM job_run") == iso("2026-11-26T00:00:00Z"));
    assert_int_equal(count(s, "SELECT COUNT(*) FROM job_object WHERE status = 'success'"), 1);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM mail_message WHERE run_id IS NOT NULL"), 3);

    /* dedupe on Message-ID */
    ingest(s, &ms, "v3_final.eml", &res);
    assert_true(res.st.duplicate);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM mail_message"), 3);

    /* a second run of another day is its own run; a not-a-run mail makes none */
    ingest(s, &ms, "v1_success.eml", &res);
    ingest(s, &ms, "v2_warning.eml", &res);
    ingest(s, &ms, "x1_vbr_daily_summary.eml", &res);
    assert_string_equal(res.st.state, "not_a_run");
    assert_int_equal(count(s, "SELECT COUNT(*) FROM job_run"), 3);

    /* the Inbox: unknown, assigned once, then automatic by the rule */
    ingest(s, &ms, "u1_unknown.eml", &res);
    assert_string_equal(res.st.state, "inbox");
    assert_true(res.st.run_id == 0);
    int64_t mail = res.st.mail_id, job = count(s, "SELECT MIN(id) FROM job"), arun = 0;
    assert_int_equal(store_mail_assign(s, mail, job, "op", 1800000000000LL, &arun, &e), 0);
    assert_true(arun > 0);
    assert_int_equal(store_mail_assign(s, mail, job, "op", 1800000000000LL, &arun, &e),
                     -BK_EINVAL); /* not in the Inbox any more */
    assert_int_equal(store_mail_assign(s, 999, job, "op", 1800000000000LL, &arun, &e),
                     -BK_ENOTFOUND);
    ingest(s, &ms, "u2_unknown_next.eml", &res);
    assert_string_equal(res.st.state, "run");
    assert_true(res.st.via_rule);
    assert_true(res.st.job_id == job);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM job_run WHERE status = 'failed'"
                              " AND vendor_run_id = 'mail:u2@synthetic.backupctl'"),
                     1);
    char *raw = NULL;
    size_t rl = 0;
    assert_int_equal(store_mail_raw(s, mail, &raw, &rl, &e), 0);
    assert_non_null(strstr(raw, "X-Backupctl-Synthetic: 1"));
    free(raw);
    mail_source_close(&ms);
    store_close(s);
    close_cfg(cfg);
}

static void test_store_reviewed_never_changed(void **state)
{
    struct bk_config *cfg = open_cfg();
    struct bk_store *s = NULL;
    struct bk_err e = {0};
    assert_int_equal(store_open(cfg, &s, &e), 0);
    struct mail_source ms;
    assert_int_equal(mail_source_open(s, cfg, config_find_source(cfg, "mail-acme"), &ms, &e), 0);
    struct mail_ingest_result res;
    ingest(s, &ms, "v3_retry1.eml", &res);
    assert_true(store_exec(s, "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'op'", NULL, 0,
                           NULL, NULL, &e) >= 0);
    ingest(s, &ms, "v3_final.eml", &res); /* a reviewed run is not joined: a run of its own */
    assert_true(res.st.run_new);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM job_run WHERE status = 'failed'"), 1);
    mail_source_close(&ms);
    store_close(s);
    close_cfg(cfg);
}

static void test_store_create_job_from_mail(void **state)
{
    struct bk_config *cfg = open_cfg();
    struct bk_store *s = NULL;
    struct bk_err e = {0};
    assert_int_equal(store_open(cfg, &s, &e), 0);
    struct mail_source ms;
    assert_int_equal(mail_source_open(s, cfg, config_find_source(cfg, "mail-acme"), &ms, &e), 0);
    struct mail_ingest_result res;
    ingest(s, &ms, "u1_unknown.eml", &res);
    int64_t job = 0, run = 0;
    assert_int_equal(store_mail_assign_new(s, res.st.mail_id, "Acme", "rsync files", "op",
                                           1800000000000LL, &job, &run, &e),
                     0);
    assert_true(job > 0 && run > 0);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM job WHERE name = 'rsync files'"
                              " AND external_id = 'mail:inbox:rsync files'"),
                     1);
    ingest(s, &ms, "u2_unknown_next.eml", &res);
    assert_true(res.st.via_rule);
    assert_true(res.st.job_id == job);
    assert_int_equal(store_mail_assign_new(s, 999, "Acme", "x", "op", 1, &job, &run, &e),
                     -BK_ENOTFOUND);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM job WHERE name = 'x'"), 0); /* rolled back */
    mail_source_close(&ms);
    store_close(s);
    close_cfg(cfg);
}

static int group_setup(void **state)
{
    struct bk_err e = {0};
    return bk_tz_load("Europe/Paris", &g_paris, &e);
}

static int group_teardown(void **state)
{
    bk_tz_free(g_paris);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_success),
        cmocka_unit_test(test_v2_object_messages),
        cmocka_unit_test(test_v3_each_retry),
        cmocka_unit_test(test_v4_midnight_dutch),
        cmocka_unit_test(test_v5_folded_custom_subject),
        cmocka_unit_test(test_v6_copy_none_pending),
        cmocka_unit_test(test_v7_replication),
        cmocka_unit_test(test_v8_agent_date_header),
        cmocka_unit_test(test_v9_rfc2047_charset),
        cmocka_unit_test(test_m1_vb365_attachment),
        cmocka_unit_test(test_duplicati),
        cmocka_unit_test(test_w1_keywords),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_not_a_run),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_rule_key),
        cmocka_unit_test(test_imap_replies),
        cmocka_unit_test(test_store_pipeline),
        cmocka_unit_test(test_store_reviewed_never_changed),
        cmocka_unit_test(test_store_create_job_from_mail),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

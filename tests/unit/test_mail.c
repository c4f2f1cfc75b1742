/* Unit tests of the alert e-mail (mime.c, summary.c): headers, threading, quoted-printable,
 * RFC 2047 subjects, HTML escaping of hostile vendor text, the boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert/alert.h"
#include "alert/mime.h"
#include "config/config.h"
#include "util/err.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const TO[] = {"ops@example.com", "night@example.com"};
static const struct mime_env ENV = {
    .from = "backupctl@mon.example",
    .to = TO,
    .nto = 2,
    .host = "mon.example",
    .date_ms = 1796233055000, /* 2026-12-02T17:37:35Z */
};

static const char HOSTILE[] = "disk <img src=x onerror=alert(1)> & \"full\" 'x'";

static struct bk_alert_msg msg(int seq)
{
    struct bk_alert_msg m = {
        .id = "d-1",
        .incident_id = "inc-42",
        .seq = seq,
        .event = "run.failed",
        .customer = "Acme",
        .source = "cove-msp1",
        .job = "srv-01",
        .status = "failed",
        .title = "Failed: Acme / srv-01 (cove-msp1)",
        .text = HOSTILE,
        .url = "https://bk.example/#/jobs/7",
    };
    return m;
}

/* The header block (up to the first empty line). Caller frees. */
static char *headers_of(const char *mail)
{
    const char *e = strstr(mail, "\r\n\r\n");
    assert_non_null(e);
    char *h = malloc((size_t)(e - mail) + 3);
    memcpy(h, mail, (size_t)(e - mail) + 2);
    h[e - mail + 2] = 0;
    return h;
}

static void assert_lines_max(const char *s, size_t max)
{
    for (const char *p = s; *p;) {
        const char *e = strstr(p, "\r\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > max)
            fail_msg("line of %zu > %zu: %.*s", n, max, (int)n, p);
        assert_null(memchr(p, '\n', n)); /* every line ends in CRLF */
        p += n + (e ? 2 : 0);
    }
}

static void test_headers(void **state)
{
    (void)state;
    struct bk_alert_msg m = msg(0);
    char *mail = mime_build_message(&ENV, &m);
    char *h = headers_of(mail);
    assert_non_null(strstr(h, "Date: Wed, 02 Dec 2026 17:37:35 +0000\r\n"));
    assert_non_null(strstr(h, "From: backupctl <backupctl@mon.example>\r\n"));
    assert_non_null(strstr(h, "To: ops@example.com, night@example.com\r\n"));
    assert_non_null(strstr(h, "Subject: Failed: Acme / srv-01 (cove-msp1)\r\n"));
    assert_non_null(strstr(h, "Message-ID: <inc-42.0@mon.example>\r\n"));
    assert_non_null(strstr(h, "MIME-Version: 1.0\r\n"));
    assert_non_null(strstr(h, "Content-Type: multipart/alternative;\r\n boundary=\""));
    assert_null(strstr(h, "In-Reply-To:"));
    assert_null(strstr(h, "References:"));
    assert_non_null(strstr(mail, "Content-Type: text/plain; charset=UTF-8\r\n"
                                 "Content-Transfer-Encoding: quoted-printable\r\n"));
    assert_non_null(strstr(mail, "Content-Type: text/html; charset=UTF-8\r\n"
                                 "Content-Transfer-Encoding: quoted-printable\r\n"));
    assert_lines_max(mail, 78);
    free(h);
    free(mail);
}

static void test_threading(void **state)
{
    (void)state;
    struct bk_alert_msg m = msg(3);
    char *mail = mime_build_message(&ENV, &m);
    char *h = headers_of(mail);
    assert_non_null(strstr(h, "Message-ID: <inc-42.3@mon.example>\r\n"));
    assert_non_null(strstr(h, "In-Reply-To: <inc-42.0@mon.example>\r\n"));
    assert_non_null(strstr(h, "References: <inc-42.0@mon.example>\r\n"));
    free(h);
    free(mail);
}

static void roundtrip(const char *in, const char *want)
{
    char *q = mime_qp_encode(in, strlen(in));
    assert_lines_max(q, 76);
    for (const char *p = q; *p; p++)
        assert_true((unsigned char)*p < 127);
    char *d = mime_qp_decode(q);
    assert_string_equal(d, want ? want : in);
    free(d);
    free(q);
}

static void test_qp(void **state)
{
    (void)state;
    char lng[400];
    memset(lng, 'a', sizeof lng - 1);
    lng[sizeof lng - 1] = 0;
    lng[100] = ' ';
    lng[150] = '=';
    lng[sizeof lng - 2] = '\n'; /* a body ends with a line break */
    roundtrip(lng, NULL);
    roundtrip("Sauvegarde échouée — 備份失敗 ✓\nsecond line\n", NULL);
    roundtrip(".\n.leading dot\nFrom here\n", NULL);
    roundtrip("trailing space \ntrailing tab\t\n", NULL);
    roundtrip("crlf\r\nlines\r\n", "crlf\nlines\n");
    char *q = mime_qp_encode(".x\nFrom y\n", 10);
    assert_string_equal(q, "=2Ex\r\n=46rom y\r\n");
    free(q);
    q = mime_qp_encode("a \nb", 4);
    assert_string_equal(q, "a=20\r\nb\r\n");
    free(q);
    /* a soft break never leaves a "." or "From " at the start of a line */
    char dots[200];
    memset(dots, '.', sizeof dots - 1);
    dots[sizeof dots - 1] = 0;
    q = mime_qp_encode(dots, strlen(dots));
    for (const char *p = q; (p = strstr(p, "\r\n")); p += 2)
        assert_true(p[2] != '.');
    assert_true(q[0] != '.');
    free(q);
}

/* out = n copies of w */
static void repeat(char *out, size_t outsz, const char *w, int n)
{
    size_t o = 0, k = strlen(w);
    for (int i = 0; i < n && o + k < outsz; i++, o += k)
        memcpy(out + o, w, k);
    out[o] = 0;
}

/* decode(encode(x)) == x for many pseudo-random inputs (fixed seed: the same every run), up
 * to the encoder's normalisation: CRLF is a line break, and a body ends with one. */
static void test_qp_random(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    static const char pick[] = "a .=F\rom\t\r\n\xc3\xa9\x01\x7f";
    for (int round = 0; round < 500; round++) {
        char in[400], want[420];
        size_t n = 0, w = 0;
        seed = seed * 1103515245 + 12345;
        size_t len = (seed >> 8) % sizeof in;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245 + 12345;
            uint32_t r = seed >> 8;
            in[n++] = r % 3 ? pick[r % (sizeof pick - 1)] : (char)(1 + r % 255);
        }
        for (size_t i = 0; i < n; i++) {
            if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
                continue;
            want[w++] = in[i];
        }
        if (w > 0 && want[w - 1] != '\n')
            want[w++] = '\n';
        want[w] = 0;
        char *q = mime_qp_encode(in, n);
        assert_lines_max(q, 76);
        for (const char *p = q; (p = strstr(p, "\r\n")); p += 2)
            assert_true(p[2] != '.' && strncmp(p + 2, "From ", 5) != 0);
        char *d = mime_qp_decode(q);
        assert_string_equal(d, want);
        free(d);
        free(q);
    }
}

static void test_subject(void **state)
{
    (void)state;
    char *h = mime_header("Subject", "Échec : Acme / srv-01");
    assert_true(str_starts_with(h, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(h, "?=\r\n"));
    free(h);
    /* long non-ASCII: several encoded-words, folded, lines <= 78, UTF-8 never split */
    char in[600];
    repeat(in, sizeof in, "échec ", 40);
    h = mime_header("Subject", in);
    assert_lines_max(h, 78);
    assert_non_null(strstr(h, "?=\r\n =?UTF-8?B?"));
    free(h);
    /* ASCII: folded at spaces */
    char a[300];
    repeat(a, sizeof a, "word1234 ", 30);
    h = mime_header("Subject", a);
    assert_lines_max(h, 78);
    assert_null(strstr(h, "=?UTF-8"));
    free(h);
    /* a first word too long for the first line: encoded, not an overlong line */
    char w[80];
    memset(w, 'w', 72);
    w[72] = 0;
    h = mime_header("Subject", w);
    assert_lines_max(h, 78);
    assert_true(str_starts_with(h, "Subject: =?UTF-8?B?"));
    free(h);
    /* no header injection */
    h = mime_header("Subject", "x\r\nBcc: evil@example.com");
    assert_null(strstr(h, "\r\nBcc"));
    free(h);
}

static void test_html_escaping(void **state)
{
    (void)state;
    char *e = mime_html_escape("<a href='x'>&\"</a>");
    assert_string_equal(e, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
    free(e);
    struct bk_alert_msg m = msg(0);
    m.job = "<script>alert(1)</script>";
    char *h = mime_html_from_msg(&m);
    assert_null(strstr(h, "<img"));
    assert_null(strstr(h, "<script>"));
    assert_non_null(strstr(h, "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;full&quot;"));
    assert_non_null(strstr(h, "&lt;script&gt;"));
    assert_non_null(strstr(h, "href=\"https://bk.example/#/jobs/7\""));
    assert_non_null(strstr(h, "Open the job"));
    assert_non_null(strstr(h, "#c62828")); /* failed: red */
    free(h);
    /* only http(s) links */
    m.url = "javascript:alert(1)";
    h = mime_html_from_msg(&m);
    assert_null(strstr(h, "javascript:"));
    assert_null(strstr(h, "Open the job"));
    free(h);
    assert_string_equal(mime_status_color("missed"), "#7f0000");
    assert_string_equal(mime_status_color("warning"), "#b26a00");
    assert_string_equal(mime_status_color("recovered"), "#2e7d32");
    assert_string_equal(mime_status_color("success"), "#2e7d32");
}

static void test_boundary(void **state)
{
    (void)state;
    struct bk_alert_msg m = msg(0);
    char *mail = mime_build_message(&ENV, &m);
    const char *b = strstr(mail, "boundary=\"");
    assert_non_null(b);
    b += 10;
    const char *e = strchr(b, '"');
    char bound[80];
    snprintf(bound, sizeof bound, "--%.*s", (int)(e - b), b);
    /* exactly: two part openers and the closer, nothing in the bodies */
    int n = 0;
    for (const char *p = mail; (p = strstr(p, bound)); p += strlen(bound))
        n++;
    assert_int_equal(n, 3);
    char closer[90];
    snprintf(closer, sizeof closer, "%s--\r\n", bound);
    assert_non_null(strstr(mail, closer));
    /* the decoded text part is the text plus the link */
    const char *tp = strstr(mail, "quoted-printable\r\n\r\n") + 20;
    const char *te = strstr(tp, bound);
    char *qp = strndup(tp, (size_t)(te - tp));
    char *d = mime_qp_decode(qp);
    assert_non_null(strstr(d, HOSTILE));
    assert_non_null(strstr(d, "Open the job: https://bk.example/#/jobs/7"));
    free(d);
    free(qp);
    free(mail);
}

static void test_summary(void **state)
{
    (void)state;
    struct bk_summary_item items[] = {
        {.customer = "Acme",
         .source = "cove",
         .job = "srv-01",
         .status = "failed",
         .message = HOSTILE,
         .url = "https://bk.example/#/jobs/1",
         .at_ms = 1796233055000},
        {.customer = "Acme",
         .source = "cove",
         .job = "srv-02",
         .status = "missed",
         .at_ms = 1796233055000},
    };
    struct bk_summary s = {.scope = "Acme",
                           .tz = "UTC",
                           .from_ms = 1796146655000,
                           .to_ms = 1796233055000,
                           .total_jobs = 12,
                           .items = items,
                           .nitems = 2};
    struct bk_alert_body b;
    alert_summary_build(&s, &b);
    assert_string_equal(b.title, "Backup summary for Acme: 2 problem(s)");
    assert_non_null(strstr(b.text, "srv-01"));
    assert_non_null(strstr(b.text, "2026-12-02 17:37"));
    assert_non_null(strstr(b.text, HOSTILE));
    assert_null(strstr(b.html, "<img"));
    assert_non_null(strstr(b.html, "&lt;img"));
    assert_non_null(strstr(b.html, "href=\"https://bk.example/#/jobs/1\""));
    alert_body_free(&b);
    s.nitems = 0;
    alert_summary_build(&s, &b);
    assert_string_equal(b.title, "Backup summary for Acme: all 12 backups OK");
    alert_body_free(&b);
}

static void test_secrets(void **state)
{
    (void)state;
    static const char CONF[] = "[database]\nurl = sqlite://x.db\n"
                               "[alert \"ops\"]\nemail = ops@example.com\n"
                               "webhook = https://hooks.example/x\nsmtp_username = alerts\n"
                               "smtp_password_env = BK_TEST_SMTP_PW\n";
    struct bk_config *c;
    struct bk_err e = {0};
    assert_int_equal(config_parse_string(CONF, "x.conf", "/tmp", &c, &e), 0);
    struct bk_alert_secrets_owned o;
    unsetenv("BK_TEST_SMTP_PW");
    assert_true(alert_secrets_load(&c->alerts[0], &o, &e) < 0);
    assert_non_null(strstr(e.msg, "alert \"ops\" smtp_password"));
    assert_null(o.s.smtp_password);
    assert_null(o.webhook_url); /* nothing half-loaded */
    setenv("BK_TEST_SMTP_PW", "s3cret-value", 1);
    assert_int_equal(alert_secrets_load(&c->alerts[0], &o, &e), 0);
    assert_string_equal(o.s.smtp_password, "s3cret-value");
    assert_string_equal(o.s.webhook_url, "https://hooks.example/x");
    assert_ptr_not_equal(o.s.webhook_url, c->alerts[0].webhook); /* an owned copy */
    assert_null(o.s.hmac_key);
    alert_secrets_free(&o);
    assert_null(o.smtp_password);
    assert_null(o.s.smtp_password);
    alert_secrets_free(&o); /* twice is harmless */
    alert_secrets_free(NULL);
    unsetenv("BK_TEST_SMTP_PW");
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),  cmocka_unit_test(test_threading),
        cmocka_unit_test(test_qp),       cmocka_unit_test(test_qp_random),
        cmocka_unit_test(test_subject),  cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_boundary), cmocka_unit_test(test_summary),
        cmocka_unit_test(test_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Building the e-mail of an alert (RFC 5322 + MIME): headers, a multipart/alternative body
 * with a text/plain and a text/html part, both quoted-printable. Pure functions apart from
 * the random boundary, so the unit tests see exactly what goes on the wire. */
#ifndef BK_ALERT_MIME_H
#define BK_ALERT_MIME_H

#include <stddef.h>
#include <stdint.h>

struct bk_alert_msg;

/* What the message needs besides the alert message itself. All borrowed. */
struct mime_env {
    const char *from;      /* From: address (user@example.com) */
    const char *const *to; /* To: addresses */
    size_t nto;
    const char *host; /* the right side of Message-ID */
    int64_t date_ms;  /* Date: (UTC epoch ms) */
};

/* The whole message, CRLF line ends, ready for SMTP DATA (curl dot-stuffs it). When m->html
 * is NULL the HTML part is derived from m->text (mime_html_from_msg). Caller frees. */
char *mime_build_message(const struct mime_env *env, const struct bk_alert_msg *m);

/* Quoted-printable (RFC 2045 §6.7) of n bytes: lines of at most 76 characters ending in CRLF
 * ("\n" and "\r\n" in the input are line breaks), trailing white space, a leading "." and a
 * leading "From " encoded. Caller frees. */
char *mime_qp_encode(const char *s, size_t n);
/* The inverse (soft breaks removed, CRLF turned into "\n"); for tests. Caller frees. */
char *mime_qp_decode(const char *s);

/* One header field "Name: value" with its CRLF, folded to lines of at most 78 characters; a
 * value with non-ASCII or control bytes becomes RFC 2047 encoded-words (=?UTF-8?B?...?=),
 * never splitting a UTF-8 sequence. CR and LF in value become spaces. Caller frees. */
char *mime_header(const char *name, const char *value);

/* s with & < > " ' escaped for HTML text and attribute values. Caller frees. */
char *mime_html_escape(const char *s);
/* The HTML body of a message without one: title, coloured status, the escaped text, the
 * "Open the job" link (http(s) URLs only). Caller frees. */
char *mime_html_from_msg(const struct bk_alert_msg *m);
/* The colour (CSS hex) that shows a status: failed, missed, warning, recovered/success. */
const char *mime_status_color(const char *status);

/* RFC 5322 date-time of epoch ms in UTC ("Wed, 02 Dec 2026 17:37:35 +0000") into out
 * (>= 32 bytes). */
void mime_date(int64_t epoch_ms, char *out, size_t outsz);

#endif

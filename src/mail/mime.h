/* Report e-mails (issue 14), first stage: raw RFC 5322 bytes -> a decoded message (GMime).
 * Multipart, quoted-printable, base64, RFC 2047 headers, folded headers and charsets all end
 * up as UTF-8 text: the text/plain and text/html parts of the body, and the text-like
 * attachments (a VB365 detailed report, a JSON result). HTML is further reduced to text and
 * table rows by html.c (libxml2's HTML parser, never regular expressions over markup).
 * Everything from outside is bounded: MAIL_MAX_BYTES per message, MAIL_MAX_PART per part,
 * MAIL_MAX_PARTS parts. Pure apart from GMime's one-time initialisation; thread-safe. */
#ifndef BK_MAIL_MIME_H
#define BK_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;

#define MAIL_MAX_BYTES (25u * 1024 * 1024) /* a bigger message is refused, not stored */
#define MAIL_MAX_PART (8u * 1024 * 1024)   /* decoded bytes kept of one part */
#define MAIL_MAX_PARTS 64                  /* text parts kept of one message */

struct mail_part {
    char *content_type; /* "text/html", lower case */
    char *filename;     /* NULL unless an attachment names one */
    bool attachment;    /* Content-Disposition: attachment (or a filename) */
    char *text;         /* decoded, UTF-8 (invalid sequences replaced), NUL-terminated */
    size_t len;
};

struct mail_html_row;

struct mail_msg {
    char *message_id; /* without <>; NULL when the mail has none */
    char *from;       /* the sender's address, lower case; NULL when none */
    char *subject;    /* RFC 2047-decoded, unfolded, UTF-8; "" when none */
    int64_t date_ms;  /* Date: header, 0 when absent or unreadable */
    int date_utoff;   /* the Date: header's own offset (seconds east of UTC) */
    bool synthetic;   /* X-Backupctl-Synthetic: 1 */
    bool list_mail;   /* List-Unsubscribe / List-Id / Precedence: bulk (newsletters) */
    struct mail_part *parts;
    size_t nparts;
    /* derived: the body's text/plain parts joined, the body's HTML parts joined (raw, for
     * fingerprints such as class="processObjectsHeader"), the text of all HTML (body and
     * attachments), and the table rows of all HTML */
    char *text, *html, *html_text;
    struct mail_html_row *rows;
    size_t nrows;
};

/* Parse raw bytes (at most MAIL_MAX_BYTES; NUL bytes are refused: RFC 5322 has none).
 * -BK_ETOOBIG, or -BK_EINVAL when it is not a message at all (no header, nothing GMime can
 * read). On success the caller frees *out with mail_msg_free(). */
int mail_msg_parse(const char *raw, size_t len, struct mail_msg **out, struct bk_err *err);
void mail_msg_free(struct mail_msg *m);

/* A copy of s[0..n) that is valid UTF-8 (a broken sequence becomes U+FFFD). Caller frees. */
char *mail_utf8_clean(const char *s, size_t n);

#endif

/* Raw message -> struct mail_msg with GMime (see mime.h). */
#include "mail/mime.h"

#include "mail/html.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void gmime_init_once(void)
{
    g_mime_init();
}

char *mail_utf8_clean(const char *s, size_t n)
{
    if (!s)
        return xstrdup("");
    gchar *v = g_utf8_make_valid(s, (gssize)n);
    /* g_utf8_make_valid keeps NUL bytes; cut at the first one */
    char *out = xstrdup(v);
    g_free(v);
    return out;
}

static char *lower_dup(const char *s)
{
    char *o = xstrdup(s);
    for (char *p = o; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return o;
}

struct walk {
    struct mail_msg *m;
    size_t total; /* decoded bytes kept so far */
};

/* The decoded, charset-converted content of a leaf part, at most MAIL_MAX_PART bytes. */
static char *part_text(GMimePart *part, size_t *len)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    if (!w)
        return NULL;
    GMimeStream *mem = g_mime_stream_mem_new();
    GMimeStream *filt = g_mime_stream_filter_new(mem);
    const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    bool text = ct && g_mime_content_type_is_type(ct, "text", "*");
    if (text && charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
        g_ascii_strcasecmp(charset, "us-ascii") != 0) {
        GMimeFilter *f = g_mime_filter_charset_new(charset, "UTF-8");
        if (f) { /* an unknown charset: keep the bytes, they are made valid below */
            g_mime_stream_filter_add(GMIME_STREAM_FILTER(filt), f);
            g_object_unref(f);
        }
    }
    g_mime_data_wrapper_write_to_stream(w, filt);
    g_mime_stream_flush(filt);
    GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    size_t n = ba ? ba->len : 0;
    if (n > MAIL_MAX_PART)
        n = MAIL_MAX_PART;
    char *out = mail_utf8_clean(ba && ba->data ? (const char *)ba->data : "", n);
    g_object_unref(filt);
    g_object_unref(mem);
    *len = strlen(out);
    return out;
}

static void walk_cb(GMimeObject *parent, GMimeObject *obj, gpointer ud)
{
    struct walk *wk = ud;
    struct mail_msg *m = wk->m;
    if (!GMIME_IS_PART(obj) || m->nparts >= MAIL_MAX_PARTS || wk->total >= MAIL_MAX_BYTES)
        return;
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *type = ct ? g_mime_content_type_get_media_type(ct) : NULL;
    const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
    char ctbuf[128];
    g_snprintf(ctbuf, sizeof ctbuf, "%s/%s", type ? type : "text", sub ? sub : "plain");
    char *ctl = lower_dup(ctbuf);
    /* only what a parser can read: text, and JSON/XML attachments */
    bool readable = strncmp(ctl, "text/", 5) == 0 || strcmp(ctl, "application/json") == 0 ||
                    strcmp(ctl, "application/xml") == 0;
    if (!readable) {
        free(ctl);
        return;
    }
    const char *disp = g_mime_object_get_disposition(obj);
    const char *fname = g_mime_part_get_filename(GMIME_PART(obj));
    struct mail_part p = {.content_type = ctl};
    p.attachment = (disp && g_ascii_strcasecmp(disp, "attachment") == 0) || fname;
    p.filename = fname ? mail_utf8_clean(fname, strlen(fname)) : NULL;
    p.text = part_text(GMIME_PART(obj), &p.len);
    if (!p.text)
        p.text = xstrdup("");
    wk->total += p.len;
    m->parts = xrealloc(m->parts, (m->nparts + 1) * sizeof *m->parts);
    m->parts[m->nparts++] = p;
}

static char *join(const struct mail_msg *m, bool html)
{
    struct bk_buf b;
    bk_buf_init(&b, (size_t)MAIL_MAX_BYTES * 2);
    bk_buf_appends(&b, "");
    for (size_t i = 0; i < m->nparts; i++) {
        const struct mail_part *p = &m->parts[i];
        if (p->attachment || strcmp(p->content_type, html ? "text/html" : "text/plain") != 0)
            continue;
        if (b.len)
            bk_buf_appends(&b, "\n");
        bk_buf_append(&b, p->text, p->len);
    }
    return bk_buf_steal(&b);
}

int mail_msg_parse(const char *raw, size_t len, struct mail_msg **out, struct bk_err *err)
{
    *out = NULL;
    if (len > MAIL_MAX_BYTES)
        return bk_err_set(err, BK_ETOOBIG, "message of %zu bytes is over the %u MB limit", len,
                          MAIL_MAX_BYTES / (1024 * 1024));
    if (len == 0)
        return bk_err_set(err, BK_EINVAL, "empty message");
    const char *nul = memchr(raw, '\0', len);
    if (nul)
        return bk_err_set(err, BK_EINVAL, "not an RFC 5322 message: a NUL byte at offset %zu",
                          (size_t)(nul - raw));
    /* an mbox "From " envelope line (a Postfix pipe with flag F, procmail) is no header */
    if (len > 5 && strncmp(raw, "From ", 5) == 0) {
        const char *nl = memchr(raw, '\n', len);
        if (!nl)
            return bk_err_set(err, BK_EINVAL, "not an RFC 5322 message: only an mbox From line");
        len -= (size_t)(nl + 1 - raw);
        raw = nl + 1;
    }
    /* a header line comes first: "Name:" with printable characters */
    size_t i = 0;
    while (i < len && raw[i] > 32 && raw[i] < 127 && raw[i] != ':')
        i++;
    if (i == 0 || i >= len || raw[i] != ':')
        return bk_err_set(err, BK_EINVAL, "not an RFC 5322 message: no header line at the start");
    pthread_once(&g_once, gmime_init_once);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    if (!msg)
        return bk_err_set(err, BK_EINVAL, "not an RFC 5322 message: GMime could not read it");

    struct mail_msg *m = xcalloc(1, sizeof *m);
    const char *mid = g_mime_message_get_message_id(msg);
    if (mid && *mid)
        m->message_id = mail_utf8_clean(mid, strnlen(mid, 995));
    InternetAddressList *from = g_mime_message_get_from(msg);
    if (from && internet_address_list_length(from) > 0) {
        InternetAddress *ia = internet_address_list_get_address(from, 0);
        if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
            const char *a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
            if (a && *a) {
                char *c = mail_utf8_clean(a, strnlen(a, 320));
                m->from = lower_dup(c);
                free(c);
            }
        }
    }
    const char *subj = g_mime_message_get_subject(msg);
    m->subject = mail_utf8_clean(subj ? subj : "", subj ? strnlen(subj, 4096) : 0);
    for (char *p = m->subject; *p; p++) /* unfolded: no CR/LF/TAB left */
        if (*p == '\r' || *p == '\n' || *p == '\t')
            *p = ' ';
    GDateTime *dt = g_mime_message_get_date(msg);
    if (dt) {
        m->date_ms = (int64_t)g_date_time_to_unix(dt) * 1000;
        m->date_utoff = (int)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_SECOND);
    }
    GMimeObject *mo = GMIME_OBJECT(msg);
    const char *syn = g_mime_object_get_header(mo, "X-Backupctl-Synthetic");
    while (syn && (*syn == ' ' || *syn == '\t'))
        syn++;
    m->synthetic = syn && syn[0] == '1';
    m->list_mail =
        g_mime_object_get_header(mo, "List-Unsubscribe") || g_mime_object_get_header(mo, "List-Id");
    const char *prec = g_mime_object_get_header(mo, "Precedence");
    if (prec &&
        (g_ascii_strncasecmp(prec, "bulk", 4) == 0 || g_ascii_strncasecmp(prec, "list", 4) == 0))
        m->list_mail = true;

    struct walk wk = {.m = m};
    g_mime_message_foreach(msg, walk_cb, &wk);
    /* a message that is a bare leaf part: foreach covers only the children of a multipart */
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    if (body && GMIME_IS_PART(body) && m->nparts == 0)
        walk_cb(NULL, body, &wk);
    g_object_unref(msg);

    m->text = join(m, false);
    m->html = join(m, true);
    for (size_t k = 0; k < m->nparts; k++)
        if (strcmp(m->parts[k].content_type, "text/html") == 0)
            mail_html_extract(m->parts[k].text, m->parts[k].len, &m->html_text, &m->rows,
                              &m->nrows);
    if (!m->html_text)
        m->html_text = xstrdup("");
    *out = m;
    return 0;
}

void mail_msg_free(struct mail_msg *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nparts; i++) {
        free(m->parts[i].content_type);
        free(m->parts[i].filename);
        free(m->parts[i].text);
    }
    free(m->parts);
    free(m->message_id);
    free(m->from);
    free(m->subject);
    free(m->text);
    free(m->html);
    free(m->html_text);
    mail_html_rows_free(m->rows, m->nrows);
    free(m);
}

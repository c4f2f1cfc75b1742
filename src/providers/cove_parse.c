/* Cove reply parsers and the row → job/run/object mapping. Everything here is pure apart from
 * the once-per-process warning about unmapped status codes. The tolerance rules come from
 * reference/cove-api.md: values are strings but numbers must not break us (§3.2), keys echo
 * the spelling that was asked for (D9F0 vs D09F00, §4.2), Settings may omit requested codes
 * or add unrequested ones, and I78 may say D1 for D01 (§4.1).
 *
 * Speed matters (100 000 rows of ~42 settings per poll). jansson spent ~35 ms per 1000-row
 * page in malloc/free for its tree, so replies are read by a strict one-pass reader that keeps
 * only the members we use, with every string in one arena (~5 ms per page). A row is then
 * flattened into a fixed open-addressing table keyed by the numeric code, so every lookup is
 * O(1) and no string is copied until the mapped record needs it. */
#include "providers/cove_parse.h"

#include "util/err.h"
#include "util/log.h"
#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_I(n) (0x01000000u | (uint32_t)(n))
#define KEY_D(d, f) (0x02000000u | ((uint32_t)(d) << 10) | (uint32_t)(f))
#define COVE_MAX_OBJECTS 32
#define COVE_MAX_BAR 366 /* days of colour bar kept (the last, most recent ones) */
#define COVE_MAX_VISA 4096

/* ---- small helpers ------------------------------------------------------------------ */

/* Digits at *p (at most maxdigits) as a number; advances *p. false without any digit or with
 * too many. */
static bool take_num(const char **p, unsigned maxdigits, uint32_t *out)
{
    const char *s = *p;
    uint32_t v = 0;
    unsigned n = 0;
    while (*s >= '0' && *s <= '9') {
        if (++n > maxdigits)
            return false;
        v = v * 10 + (uint32_t)(*s - '0');
        s++;
    }
    if (n == 0)
        return false;
    *p = s;
    *out = v;
    return true;
}

/* "I1", "I01" → KEY_I(1); "D9F0", "D09F00" → KEY_D(9, 0); anything else → 0. */
static uint32_t code_key(const char *s)
{
    uint32_t a, b;
    if (s[0] == 'I') {
        s++;
        if (!take_num(&s, 6, &a) || *s)
            return 0;
        return KEY_I(a);
    }
    if (s[0] == 'D') {
        s++;
        if (!take_num(&s, 3, &a) || *s != 'F')
            return 0;
        s++;
        if (!take_num(&s, 3, &b) || *s)
            return 0;
        return KEY_D(a, b);
    }
    return 0;
}

/* Integer text ("42", also "42.0"); false for anything else or out of range. */
static bool val_i64(const char *v, int64_t *out)
{
    if (!v)
        return false;
    if (str_to_i64(v, out) == 0)
        return true;
    double d;
    if (str_to_double(v, &d) == 0 && d == floor(d) && fabs(d) < 9.0e18) {
        *out = (int64_t)d;
        return true;
    }
    return false;
}

/* ---- a strict one-pass JSON reader ----------------------------------------------------- */

/* Reads RFC 8259 JSON (UTF-8 validated, no \u0000, nesting <= JS_MAX_DEPTH) straight into
 * struct cove_reply: only the members we use are kept, the rest is validated and skipped.
 * Decoded strings go to one arena sized 2 × the body: a string never decodes longer than its
 * source and a number's text plus its NUL never exceeds twice its source, so the arena cannot
 * overflow (js_string/js_number still check). */
#define JS_MAX_DEPTH 64

struct js {
    const unsigned char *p, *end, *start;
    struct cove_reply *r;
    int depth;
    struct bk_err *err;
};

static int js_fail(struct js *j, const char *what)
{
    return bk_err_set(j->err, BK_EPROTO, "malformed Cove reply at byte %zu: %s",
                      (size_t)(j->p - j->start), what);
}

/* Next non-space byte (not consumed), or -1 at the end. */
static int js_peek(struct js *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
    return j->p < j->end ? *j->p : -1;
}

static int js_expect(struct js *j, int c, const char *what)
{
    if (js_peek(j) != c)
        return js_fail(j, what);
    j->p++;
    return 0;
}

static bool hex4(const unsigned char *s, const unsigned char *e, uint32_t *out)
{
    if (e - s < 4)
        return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i];
        if (c >= '0' && c <= '9')
            v = v * 16 + (c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v = v * 16 + (c - 'A' + 10);
        else
            return false;
    }
    *out = v;
    return true;
}

static char *put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xC0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *d++ = (char)(0xF0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/* Length of the valid UTF-8 sequence at s (2–4 bytes), 0 when invalid (overlong forms,
 * surrogates and code points above U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, const unsigned char *e)
{
    unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(e - s) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))
        return 0;
    return n;
}

static int js_string(struct js *j, const char **out)
{
    if (js_peek(j) != '"')
        return js_fail(j, "expected a string");
    j->p++;
    struct cove_reply *r = j->r;
    if (r->arena_cap - r->arena_used < (size_t)(j->end - j->p) + 1)
        return js_fail(j, "reply too large to decode"); /* cannot happen, see above */
    char *d0 = r->arena + r->arena_used, *d = d0;
    const unsigned char *s = j->p, *e = j->end;
    const char *bad = NULL;
    for (;;) {
        if (s >= e) {
            bad = "unterminated string";
            break;
        }
        unsigned c = *s;
        if (c == '"')
            break;
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            *d++ = (char)c;
            s++;
            continue;
        }
        if (c < 0x20) {
            bad = "control character in a string";
            break;
        }
        if (c >= 0x80) {
            size_t n = utf8_seq(s, e);
            if (!n) {
                bad = "invalid UTF-8 in a string";
                break;
            }
            memcpy(d, s, n);
            d += n;
            s += n;
            continue;
        }
        /* backslash */
        if (e - s < 2) {
            bad = "unterminated string";
            break;
        }
        unsigned x = s[1];
        s += 2;
        static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
        const char *k = x ? strchr(simple_in, (int)x) : NULL;
        if (k) {
            *d++ = simple_out[k - simple_in];
            continue;
        }
        uint32_t cp, lo;
        if (x != 'u' || !hex4(s, e, &cp)) {
            bad = "bad escape in a string";
            break;
        }
        s += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (e - s < 6 || s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, e, &lo) || lo < 0xDC00 ||
                lo > 0xDFFF) {
                bad = "unpaired surrogate in a string";
                break;
            }
            s += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            bad = "unpaired surrogate in a string";
            break;
        } else if (cp == 0) {
            bad = "\\u0000 in a string";
            break;
        }
        d = put_utf8(d, cp);
    }
    if (bad) {
        j->p = s;
        return js_fail(j, bad);
    }
    *d++ = '\0';
    r->arena_used += (size_t)(d - d0);
    j->p = s + 1;
    *out = d0;
    return 0;
}

static bool is_digit(const unsigned char *s, const unsigned char *e)
{
    return s < e && *s >= '0' && *s <= '9';
}

/* A number, validated against the JSON grammar; its text is kept as written. */
static int js_number(struct js *j, const char **out)
{
    const unsigned char *s = j->p, *e = j->end, *b = s;
    if (s < e && *s == '-')
        s++;
    if (s < e && *s == '0')
        s++;
    else if (is_digit(s, e))
        while (is_digit(s, e))
            s++;
    else
        return js_fail(j, "bad number");
    if (s < e && *s == '.') {
        s++;
        if (!is_digit(s, e))
            return js_fail(j, "bad number");
        while (is_digit(s, e))
            s++;
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < e && (*s == '+' || *s == '-'))
            s++;
        if (!is_digit(s, e))
            return js_fail(j, "bad number");
        while (is_digit(s, e))
            s++;
    }
    size_t n = (size_t)(s - b);
    struct cove_reply *r = j->r;
    if (r->arena_cap - r->arena_used < n + 1)
        return js_fail(j, "reply too large to decode");
    char *d = r->arena + r->arena_used;
    memcpy(d, b, n);
    d[n] = '\0';
    r->arena_used += n + 1;
    j->p = s;
    *out = d;
    return 0;
}

static int js_literal(struct js *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return js_fail(j, "unexpected character");
    j->p += n;
    return 0;
}

typedef int (*js_member_fn)(struct js *j, const char *key, void *ud);
typedef int (*js_elem_fn)(struct js *j, void *ud);
static int js_skip(struct js *j);

/* Iterate an object's members; fn NULL skips every value. */
static int js_object(struct js *j, js_member_fn fn, void *ud)
{
    int rc = js_expect(j, '{', "expected an object");
    if (rc)
        return rc;
    if (++j->depth > JS_MAX_DEPTH)
        return js_fail(j, "nesting too deep");
    if (js_peek(j) == '}') {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        const char *key;
        if ((rc = js_string(j, &key)) || (rc = js_expect(j, ':', "expected ':'")))
            return rc;
        if ((rc = fn ? fn(j, key, ud) : js_skip(j)))
            return rc;
        int c = js_peek(j);
        j->p++;
        if (c == '}')
            break;
        if (c != ',') {
            j->p--;
            return js_fail(j, c < 0 ? "truncated object" : "expected ',' or '}'");
        }
    }
    j->depth--;
    return 0;
}

static int js_array(struct js *j, js_elem_fn fn, void *ud)
{
    int rc = js_expect(j, '[', "expected an array");
    if (rc)
        return rc;
    if (++j->depth > JS_MAX_DEPTH)
        return js_fail(j, "nesting too deep");
    if (js_peek(j) == ']') {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        if ((rc = fn ? fn(j, ud) : js_skip(j)))
            return rc;
        int c = js_peek(j);
        j->p++;
        if (c == ']')
            break;
        if (c != ',') {
            j->p--;
            return js_fail(j, c < 0 ? "truncated array" : "expected ',' or ']'");
        }
    }
    j->depth--;
    return 0;
}

/* Validate and drop one value (its decoded text is given back to the arena). */
static int js_skip(struct js *j)
{
    size_t mark = j->r->arena_used;
    const char *tmp;
    int rc, c = js_peek(j);
    switch (c) {
    case '"':
        rc = js_string(j, &tmp);
        break;
    case '{':
        rc = js_object(j, NULL, NULL);
        break;
    case '[':
        rc = js_array(j, NULL, NULL);
        break;
    case 't':
        return js_literal(j, "true");
    case 'f':
        return js_literal(j, "false");
    case 'n':
        return js_literal(j, "null");
    case -1:
        return js_fail(j, "truncated reply");
    default:
        if (c != '-' && (c < '0' || c > '9'))
            return js_fail(j, "unexpected character");
        rc = js_number(j, &tmp);
        break;
    }
    j->r->arena_used = mark;
    return rc;
}

/* A string or a number as text; *out NULL (value skipped) for null, booleans and structures. */
static int js_scalar(struct js *j, const char **out)
{
    int c = js_peek(j);
    *out = NULL;
    if (c == '"')
        return js_string(j, out);
    if (c == '-' || (c >= '0' && c <= '9'))
        return js_number(j, out);
    return js_skip(j);
}

#define GROW(arr, n, cap, init)                                                                    \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : (init);                                                      \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));                                        \
        }                                                                                          \
    } while (0)

/* ---- the reply's shape --------------------------------------------------------------- */

struct root_ctx {
    bool has_error, error_bad, has_result, result_bad;
    const char *code, *data;
};

static int setting_member(struct js *j, const char *key, void *ud)
{
    (void)ud;
    uint32_t k = code_key(key);
    if (!k)
        return js_skip(j); /* legacy or custom code we never ask for */
    const char *val;
    int rc = js_scalar(j, &val);
    if (rc || !val)
        return rc;
    struct cove_reply *r = j->r;
    GROW(r->settings, r->nsettings, r->settings_cap, 256);
    r->settings[r->nsettings].key = k;
    r->settings[r->nsettings].val = val;
    r->nsettings++;
    return 0;
}

static int setting_elem(struct js *j, void *ud)
{
    return js_peek(j) == '{' ? js_object(j, setting_member, ud) : js_skip(j);
}

static int row_member(struct js *j, const char *key, void *ud)
{
    struct cove_rowref *row = ud;
    const char *v;
    int64_t n;
    int rc;
    if (strcmp(key, "Settings") == 0) {
        int c = js_peek(j);
        if (c == '[')
            return js_array(j, setting_elem, NULL);
        if (c == '{')
            return js_object(j, setting_member, NULL);
        return js_skip(j);
    }
    if (strcmp(key, "AccountId") == 0) {
        if ((rc = js_scalar(j, &v)))
            return rc;
        row->valid = v && val_i64(v, &n) && n >= 0;
        row->account_id = row->valid ? n : -1;
        return 0;
    }
    if (strcmp(key, "PartnerId") == 0) {
        if ((rc = js_scalar(j, &v)))
            return rc;
        row->has_partner = v && val_i64(v, &n);
        row->partner_id = row->has_partner ? n : 0;
        return 0;
    }
    return js_skip(j); /* Flags and anything newer */
}

static int row_elem(struct js *j, void *ud)
{
    (void)ud;
    struct cove_reply *r = j->r;
    struct cove_rowref row = {.account_id = -1, .first = r->nsettings};
    int rc = js_peek(j) == '{' ? js_object(j, row_member, &row) : js_skip(j);
    if (rc)
        return rc;
    row.n = r->nsettings - row.first;
    GROW(r->rows, r->nrows, r->rows_cap, 64);
    r->rows[r->nrows++] = row;
    return 0;
}

static int total_member(struct js *j, const char *key, void *ud)
{
    (void)ud;
    const char *v;
    int rc = js_scalar(j, &v);
    if (rc)
        return rc;
    struct cove_reply *r = j->r;
    GROW(r->totals, r->ntotals, r->totals_cap, 4);
    r->totals[r->ntotals].expr = key;
    r->totals[r->ntotals].val = v;
    r->ntotals++;
    return 0;
}

static int total_elem(struct js *j, void *ud)
{
    return js_peek(j) == '{' ? js_object(j, total_member, ud) : js_skip(j);
}

static int login_member(struct js *j, const char *key, void *ud)
{
    (void)ud;
    if (strcmp(key, "PartnerId") != 0)
        return js_skip(j);
    const char *v;
    int rc = js_scalar(j, &v);
    if (rc)
        return rc;
    j->r->has_partner_id = v && val_i64(v, &j->r->partner_id);
    return 0;
}

/* result.result: rows (EnumerateAccountStatistics) or an object (Login). */
static int inner_result(struct js *j)
{
    struct cove_reply *r = j->r;
    switch (js_peek(j)) {
    case '[':
        r->result_kind = COVE_RESULT_ROWS;
        return js_array(j, row_elem, NULL);
    case '{':
        r->result_kind = COVE_RESULT_OBJECT;
        return js_object(j, login_member, NULL);
    case 'n':
        r->result_kind = COVE_RESULT_NONE;
        return js_skip(j);
    default:
        r->result_kind = COVE_RESULT_OTHER;
        return js_skip(j);
    }
}

static int result_member(struct js *j, const char *key, void *ud)
{
    (void)ud;
    if (strcmp(key, "result") == 0)
        return inner_result(j);
    if (strcmp(key, "totalStatistics") == 0) {
        int c = js_peek(j);
        if (c == '[')
            return js_array(j, total_elem, NULL);
        if (c == '{') /* {expr: value, …}: tolerated */
            return js_object(j, total_member, NULL);
    }
    return js_skip(j); /* homeNodeInfo and others */
}

static int error_member(struct js *j, const char *key, void *ud)
{
    struct root_ctx *x = ud;
    if (strcmp(key, "code") == 0)
        return js_scalar(j, &x->code);
    if (strcmp(key, "data") == 0)
        return js_scalar(j, &x->data);
    if (strcmp(key, "message") == 0 && js_peek(j) == '"')
        return js_string(j, &j->r->error_message);
    return js_skip(j);
}

static int root_member(struct js *j, const char *key, void *ud)
{
    struct root_ctx *x = ud;
    struct cove_reply *r = j->r;
    int c = js_peek(j);
    if (strcmp(key, "visa") == 0) {
        const char *v;
        if (c != '"')
            return js_skip(j);
        int rc = js_string(j, &v);
        r->visa = !rc && *v && strlen(v) <= COVE_MAX_VISA ? v : NULL;
        return rc;
    }
    if (strcmp(key, "error") == 0) {
        if (c == 'n')
            return js_skip(j);
        x->has_error = true;
        if (c == '{')
            return js_object(j, error_member, x);
        x->error_bad = true;
        return js_skip(j);
    }
    if (strcmp(key, "result") == 0) {
        x->has_result = true;
        if (c == '{')
            return js_object(j, result_member, NULL);
        if (c == '[') { /* a flatter envelope: tolerated */
            r->result_kind = COVE_RESULT_ROWS;
            return js_array(j, row_elem, NULL);
        }
        if (c != 'n')
            x->result_bad = true;
        return js_skip(j);
    }
    return js_skip(j); /* id, jsonrpc, … */
}

/* ---- envelope ---------------------------------------------------------------------- */

void cove_reply_free(struct cove_reply *r)
{
    if (!r)
        return;
    free(r->arena);
    free(r->rows);
    free(r->settings);
    free(r->totals);
    memset(r, 0, sizeof *r);
}

/* Vendor text for an error message: bounded, control characters replaced. */
static void clean_text(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    for (; in && *in && n + 1 < outsz; in++)
        out[n++] = ((unsigned char)*in < 0x20 || *in == 0x7f) ? ' ' : *in;
    out[n] = '\0';
}

static int reply_error(struct cove_reply *out, const struct root_ctx *x, struct bk_err *err)
{
    if (x->error_bad)
        return bk_err_set(err, BK_EPROTO, "Cove error reply with a malformed \"error\" member");
    int64_t data = 0, code = 0;
    bool has_data = val_i64(x->data, &data);
    val_i64(x->code, &code);
    out->error_data = has_data ? data : 0;
    out->error_code = code;
    char msg[200];
    clean_text(out->error_message ? out->error_message : "", msg, sizeof msg);
    if (has_data && data == COVE_ERR_AUTH)
        return bk_err_set(err, BK_EAUTH, "Cove rejected partner/username/password (2100)");
    if (has_data && data == COVE_ERR_SESSION)
        return bk_err_set(err, BK_ESESSION, "Cove rejected the visa (1701): %s",
                          *msg ? msg : "Visa is inconsistent/corrupted");
    if (has_data && data == COVE_ERR_SECURITY)
        return bk_err_set(err, BK_EPERM, "permission denied (13501): %s",
                          *msg ? msg : "Operation failed because of security reasons");
    /* A well-formed error we have no rule for: the vendor's own answer, not a garbled reply,
     * so it is reported as such and never retried as "malformed". */
    out->vendor_error = true;
    char dtxt[32] = "none";
    if (has_data)
        snprintf(dtxt, sizeof dtxt, "%" PRId64, data);
    return bk_err_set(err, BK_EPROTO, "Cove vendor error (code %" PRId64 ", data %s): %s", code,
                      dtxt, *msg ? msg : "no message");
}

int cove_parse_reply(const char *body, size_t len, struct cove_reply *out, struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    if (!body || len == 0)
        return bk_err_set(err, BK_EPROTO, "empty Cove reply");
    if (len > (SIZE_MAX - 16) / 2)
        return bk_err_set(err, BK_EPROTO, "Cove reply too large");
    out->arena_cap = 2 * len + 16;
    out->arena = xmalloc(out->arena_cap);
    struct js j = {
        .p = (const unsigned char *)body,
        .end = (const unsigned char *)body + len,
        .start = (const unsigned char *)body,
        .r = out,
        .err = err,
    };
    struct root_ctx x = {0};
    if (js_peek(&j) != '{')
        return js_fail(&j, "not a JSON object");
    int rc = js_object(&j, root_member, &x);
    if (rc)
        return rc;
    if (js_peek(&j) != -1)
        return js_fail(&j, "trailing characters after the reply");
    if (x.has_error)
        return reply_error(out, &x, err);
    if (!x.has_result)
        return bk_err_set(err, BK_EPROTO, "Cove reply has neither \"result\" nor \"error\"");
    if (x.result_bad)
        return bk_err_set(err, BK_EPROTO, "Cove reply \"result\" has an unexpected type");
    return 0;
}

static bool expr_eq(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        if (*a != *b)
            return false;
        if (!*a)
            return true;
        a++;
        b++;
    }
}

bool cove_total(const struct cove_reply *r, const char *expr, int64_t *out)
{
    if (!r || !expr)
        return false;
    for (size_t i = 0; i < r->ntotals; i++)
        if (expr_eq(r->totals[i].expr, expr))
            return val_i64(r->totals[i].val, out);
    return false;
}

void cove_login_clear(struct cove_login *l)
{
    if (!l)
        return;
    free(l->visa);
    memset(l, 0, sizeof *l);
}

int cove_parse_login(const char *body, size_t len, struct cove_login *out, struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    struct cove_reply r;
    int rc = cove_parse_reply(body, len, &r, err);
    out->vendor_error = r.vendor_error;
    if (rc < 0)
        goto out;
    if (!r.visa) {
        rc = bk_err_set(err, BK_EPROTO, "Cove Login reply without a visa");
        goto out;
    }
    if (!r.has_partner_id || r.partner_id < 0) {
        rc = bk_err_set(err, BK_EPROTO, "Cove Login reply without a usable result.PartnerId");
        goto out;
    }
    out->visa = xstrdup(r.visa);
    out->partner_id = r.partner_id;
out:
    cove_reply_free(&r);
    return rc;
}

/* ---- Settings flattening ----------------------------------------------------------- */

bool cove_code_canon(const char *code, char *out, size_t outsz)
{
    uint32_t k = code ? code_key(code) : 0;
    if (!k)
        return false;
    int n;
    if (k & 0x01000000u)
        n = snprintf(out, outsz, "I%u", (unsigned)(k & 0xffffffu));
    else
        n = snprintf(out, outsz, "D%02uF%02u", (unsigned)((k >> 10) & 0x3ffu),
                     (unsigned)(k & 0x3ffu));
    return n > 0 && (size_t)n < outsz;
}

static inline uint32_t slot_of(uint32_t key)
{
    return (key * 2654435761u) >> 24; /* Fibonacci hashing onto 256 slots */
}

static const char *get_key(const struct cove_row *r, uint32_t key)
{
    for (uint32_t h = slot_of(key), n = 0; n < COVE_ROW_SLOTS; h = (h + 1) & 255, n++) {
        if (r->slot[h].key == key)
            return r->slot[h].val;
        if (r->slot[h].key == 0)
            return NULL;
    }
    return NULL;
}

const char *cove_row_get(const struct cove_row *r, const char *code)
{
    uint32_t k = code ? code_key(code) : 0;
    return k ? get_key(r, k) : NULL;
}

static void put(struct cove_row *r, uint32_t key, const char *val)
{
    for (uint32_t h = slot_of(key);; h = (h + 1) & 255) {
        if (r->slot[h].key == key) {
            r->slot[h].val = val;
            return;
        }
        if (r->slot[h].key == 0) {
            if (r->nsettings >= COVE_ROW_MAX) {
                r->dropped++;
                return;
            }
            r->slot[h].key = key;
            r->slot[h].val = val;
            r->nsettings++;
            return;
        }
    }
}

int cove_reply_row(const struct cove_reply *r, size_t i, struct cove_row *out, struct bk_err *err)
{
    memset(out->slot, 0, sizeof out->slot);
    out->nsettings = out->dropped = 0;
    out->account_id = -1;
    out->has_partner = false;
    out->partner_id = 0;
    if (i >= r->nrows)
        return bk_err_set(err, BK_EINVAL, "row %zu out of range", i);
    const struct cove_rowref *row = &r->rows[i];
    if (!row->valid)
        return bk_err_set(err, BK_EPROTO, "Cove row without a usable AccountId");
    out->account_id = row->account_id;
    out->has_partner = row->has_partner;
    out->partner_id = row->partner_id;
    for (size_t k = 0; k < row->n; k++)
        put(out, r->settings[row->first + k].key, r->settings[row->first + k].val);
    return 0;
}

/* ---- statuses and names ------------------------------------------------------------ */

static const struct {
    const char *name;
    enum bk_run_status status;
} session_table[] = {
    [1] = {"In progress", BK_RUN_RUNNING},
    [2] = {"Failed", BK_RUN_FAILED},
    [3] = {"Aborted", BK_RUN_FAILED},
    [4] = {NULL, BK_RUN_UNKNOWN}, /* not in the official list (§4.5): Blocked/Unknown */
    [5] = {"Completed", BK_RUN_SUCCESS},
    [6] = {"Interrupted", BK_RUN_FAILED},
    [7] = {"Not started", BK_RUN_FAILED},
    [8] = {"Completed with errors", BK_RUN_WARNING},
    [9] = {"In progress with faults", BK_RUN_RUNNING},
    [10] = {"Over quota", BK_RUN_FAILED},
    [11] = {"No selection", BK_RUN_FAILED},
    [12] = {"Restarted", BK_RUN_WARNING},
};
#define SESSION_CODES ((int64_t)(sizeof session_table / sizeof session_table[0]))

const char *cove_session_name(int64_t code)
{
    return code > 0 && code < SESSION_CODES ? session_table[code].name : NULL;
}

/* Codes already reported as unmapped, so each is logged once per process however many
 * devices and polls carry it. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen_codes[32][24];
static size_t nseen;
static bool seen_overflow;

static void note_unmapped(const char *raw)
{
    char key[24];
    clean_text(raw, key, sizeof key);
    bool log_it = false, log_full = false;
    pthread_mutex_lock(&seen_lock);
    size_t i;
    for (i = 0; i < nseen; i++)
        if (strcmp(seen_codes[i], key) == 0)
            break;
    if (i == nseen) {
        if (nseen < sizeof seen_codes / sizeof seen_codes[0]) {
            memcpy(seen_codes[nseen++], key, sizeof key);
            log_it = true;
        } else if (!seen_overflow) {
            seen_overflow = log_full = true;
        }
    }
    pthread_mutex_unlock(&seen_lock);
    if (log_it)
        log_warn("Cove: unmapped session status \"%s\", stored raw as unknown", key);
    if (log_full)
        log_warn("Cove: more unmapped session statuses; no longer logging new ones");
}

enum bk_run_status cove_session_status(const char *raw, bool *ran)
{
    int64_t code;
    *ran = true;
    if (!raw || !*raw) {
        *ran = false;
        return BK_RUN_UNKNOWN;
    }
    if (!val_i64(raw, &code)) {
        note_unmapped(raw);
        return BK_RUN_UNKNOWN;
    }
    if (code == 0) {
        *ran = false;
        return BK_RUN_UNKNOWN;
    }
    if (code < 0 || code >= SESSION_CODES) {
        note_unmapped(raw);
        return BK_RUN_UNKNOWN;
    }
    return session_table[code].status;
}

static const char *const ds_names[] = {
    [1] = "Files and Folders",
    [2] = "System State",
    [3] = "MS SQL",
    [4] = "VSS Exchange",
    [5] = "Microsoft 365 SharePoint",
    [6] = "Network Shares",
    [7] = "VSS System State",
    [8] = "VMware Virtual Machines",
    [9] = "Total",
    [10] = "VSS MS SQL",
    [11] = "VSS SharePoint",
    [12] = "Oracle",
    [14] = "Hyper-V",
    [15] = "MySQL",
    [16] = "Virtual Disaster Recovery",
    [17] = "Bare Metal Restore",
    [19] = "Microsoft 365 Exchange",
    [20] = "Microsoft 365 OneDrive",
    [23] = "Microsoft 365 Teams",
};
#define DS_CODES (sizeof ds_names / sizeof ds_names[0])

const char *cove_datasource_name(const char *code)
{
    uint32_t n;
    if (!code || code[0] != 'D')
        return NULL;
    code++;
    if (!take_num(&code, 3, &n) || *code || n >= DS_CODES)
        return NULL;
    return ds_names[n];
}

static const char *const columns[] = {
    "I1",     "I8",     "I14",    "I18",    "I32",    "I59",    "I78",    "D09F00", "D09F06",
    "D09F08", "D09F09", "D09F12", "D09F15", "D09F16", "D09F17", "D09F18", "D01F00", "D01F15",
    "D04F00", "D04F15", "D05F00", "D05F15", "D06F00", "D06F15", "D07F00", "D07F15", "D08F00",
    "D08F15", "D10F00", "D10F15", "D11F00", "D11F15", "D14F00", "D14F15", "D15F00", "D15F15",
    "D19F00", "D19F15", "D20F00", "D20F15", "D23F00", "D23F15",
};

const char *const *cove_columns(size_t *n)
{
    *n = sizeof columns / sizeof columns[0];
    return columns;
}

/* ---- mapping ------------------------------------------------------------------------ */

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* D09F08 kept only when it is digits (surrounding spaces trimmed); the most recent days. */
static char *colour_bar(const char *v)
{
    if (!v)
        return NULL;
    while (*v == ' ')
        v++;
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == ' ')
        n--;
    if (n == 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return NULL;
    if (n > COVE_MAX_BAR) {
        v += n - COVE_MAX_BAR;
        n = COVE_MAX_BAR;
    }
    return xstrndup(v, n);
}

/* Unix seconds (or, defensively, milliseconds) → epoch ms; false unless positive and sane. */
static bool unix_ms(const char *v, int64_t *ms)
{
    int64_t t;
    if (!val_i64(v, &t) || t <= 0)
        return false;
    if (t < 100000000000LL) /* seconds up to the year 5138 */
        *ms = t * 1000;
    else if (t < 100000000000000LL)
        *ms = t;
    else
        return false;
    return true;
}

static const char *kind_of(const struct cove_row *r)
{
    int64_t v;
    if (val_i64(get_key(r, KEY_I(59)), &v) && v == 2)
        return "m365";
    if (val_i64(get_key(r, KEY_I(32)), &v)) {
        if (v == 2)
            return "server";
        if (v == 1)
            return "workstation";
    }
    return nonempty(get_key(r, KEY_I(18))) ? "server" : "unknown";
}

static char *run_message(const char *raw, int64_t errors)
{
    int64_t code;
    const char *name = val_i64(raw, &code) ? cove_session_name(code) : NULL;
    char base[64];
    if (name)
        snprintf(base, sizeof base, "%s", name);
    else {
        char c[24];
        clean_text(raw, c, sizeof c);
        snprintf(base, sizeof base, "Unknown status %s", c);
    }
    if (errors > 0)
        return xasprintf("%s (%" PRId64 " error%s)", base, errors, errors == 1 ? "" : "s");
    return xstrdup(base);
}

static void add_objects(const struct cove_row *r, struct bk_run_rec *run)
{
    const char *ap = get_key(r, KEY_I(78));
    if (!ap)
        return;
    unsigned char seen[13] = {0}; /* bitmap of datasource numbers 0..99 */
    for (const char *p = ap; *p && run->nobjects < COVE_MAX_OBJECTS;) {
        if (*p != 'D') {
            p++; /* separators or legacy letters: skipped */
            continue;
        }
        p++;
        /* Two digits at most: "D01D02" and the short "D1D2" both split right. */
        uint32_t d = 0;
        int nd = 0;
        for (; nd < 2 && *p >= '0' && *p <= '9'; nd++, p++)
            d = d * 10 + (uint32_t)(*p - '0');
        if (nd == 0)
            continue;
        if (d == 9 || (seen[d >> 3] & (1u << (d & 7))))
            continue; /* D09 is the Total, never an object */
        seen[d >> 3] |= (unsigned char)(1u << (d & 7));
        char code[8];
        snprintf(code, sizeof code, "D%02u", (unsigned)d);
        const char *name = d < DS_CODES ? ds_names[d] : NULL;
        const char *raw = nonempty(get_key(r, KEY_D(d, 0)));
        bool ran;
        struct bk_obj_rec o = {0};
        o.name = xstrdup(name ? name : code);
        o.status = cove_session_status(raw, &ran);
        o.raw_status = xstrdup(raw ? raw : "");
        int64_t ms;
        if (unix_ms(get_key(r, KEY_D(d, 15)), &ms)) {
            char iso[32];
            bk_iso8601(ms, iso, sizeof iso);
            o.message = xasprintf("last session %s", iso);
        }
        bk_run_add_object(run, &o);
    }
}

static int map_flat(const struct cove_row *r, int64_t poll_time_ms, struct bk_job_rec *job,
                    struct bk_run_rec *run, bool *has_run)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, r->account_id);
    job->external_id = xstrdup(id);
    const char *name = nonempty(get_key(r, KEY_I(1)));
    if (!name)
        name = nonempty(get_key(r, KEY_I(18)));
    job->name = xstrdup(name ? name : id);
    job->kind = xstrdup(kind_of(r));
    if (r->has_partner)
        job->customer_ext_id = xasprintf("%" PRId64, r->partner_id);
    job->customer_name = xstrdup_or_null(nonempty(get_key(r, KEY_I(8))));
    job->colour_bar = colour_bar(get_key(r, KEY_D(9, 8)));
    job->colour_bar_as_of_ms = job->colour_bar ? poll_time_ms : 0;

    *has_run = false;
    const char *f15 = get_key(r, KEY_D(9, 15));
    const char *raw = nonempty(get_key(r, KEY_D(9, 0)));
    int64_t start_ms, t15;
    bool ran;
    if (!unix_ms(f15, &start_ms) || !val_i64(f15, &t15))
        return 0; /* never ran */
    enum bk_run_status st = cove_session_status(raw, &ran);
    if (!ran)
        return 0;
    run->job_external_id = xstrdup(id);
    run->vendor_run_id = xasprintf("%" PRId64, t15);
    run->start_ms = start_ms;
    run->status = st;
    run->raw_status = xstrdup(raw);
    int64_t dur;
    if (st != BK_RUN_RUNNING && val_i64(get_key(r, KEY_D(9, 12)), &dur) && dur >= 0 &&
        dur < 100LL * 365 * 86400)
        run->end_ms = start_ms + dur * 1000;
    int64_t errors;
    run->error_count = val_i64(get_key(r, KEY_D(9, 6)), &errors) && errors >= 0 ? errors : -1;
    run->message = run_message(raw, run->error_count);
    add_objects(r, run);
    *has_run = true;
    return 0;
}

int cove_map_row(const struct cove_row *row, int64_t poll_time_ms, struct bk_job_rec *job,
                 struct bk_run_rec *run, bool *has_run, struct bk_err *err)
{
    (void)err;
    memset(job, 0, sizeof *job);
    memset(run, 0, sizeof *run);
    return map_flat(row, poll_time_ms, job, run, has_run);
}

int cove_map_page(const struct cove_reply *r, int64_t poll_time_ms, struct bk_batch *b,
                  size_t *rows, size_t *skipped, struct bk_err *err)
{
    *rows = *skipped = 0;
    if (r->result_kind == COVE_RESULT_NONE)
        return 0;
    if (r->result_kind != COVE_RESULT_ROWS)
        return bk_err_set(err, BK_EPROTO, "Cove result.result is not an array of devices");
    struct cove_row *row = xmalloc(sizeof *row);
    for (size_t i = 0; i < r->nrows; i++) {
        if (cove_reply_row(r, i, row, NULL) < 0) {
            (*skipped)++;
            continue;
        }
        struct bk_job_rec job = {0};
        struct bk_run_rec run = {0};
        bool has_run;
        map_flat(row, poll_time_ms, &job, &run, &has_run);
        bk_batch_add_job(b, &job);
        if (has_run)
            bk_batch_add_run(b, &run);
    }
    free(row);
    *rows = r->nrows;
    if (*skipped)
        log_warn("Cove: skipped %zu of %zu device rows: not an object or no usable AccountId",
                 *skipped, *rows);
    return 0;
}

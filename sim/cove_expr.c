/* cove_expr: column codes and the filter/totals language of cove-sim (see cove_expr.h). */
#include "cove_expr.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/str.h"
#include "util/xalloc.h"

/* ------------------------------------------------------------------------------------------ */
/* column codes                                                                               */

/* Legacy identity codes with a known I-number (reference §4.1, §4.4). */
static const struct {
    const char *code;
    unsigned num;
} legacy_ids[] = {
    {"AU", 0},  {"AN", 1},  {"AL", 2},  {"CD", 4},  {"ED", 5},  {"TS", 6},  {"AR", 8},
    {"PD", 9},  {"PN", 10}, {"LN", 11}, {"US", 14}, {"OS", 16}, {"VN", 17}, {"MN", 18},
    {"TZ", 24}, {"OT", 32}, {"YV", 37}, {"AS", 38}, {"RU", 39}, {"MF", 44}, {"MO", 45},
    {"OI", 54}, {"OP", 56}, {"AT", 59}, {"PF", 77}, {"AP", 78},
};

/* Legacy data-source letters → D-numbers (reference §4.4). */
static int legacy_source(char c)
{
    switch (c) {
    case 'T':
        return 9;
    case 'F':
        return 1;
    case 'S':
        return 2;
    case 'X':
        return 4;
    case 'N':
        return 6;
    case 'W':
        return 8;
    case 'Z':
        return 10;
    case 'P':
        return 11;
    case 'Y':
        return 12;
    case 'H':
        return 14;
    case 'L':
        return 15;
    case 'G':
        return 19;
    case 'J':
        return 20;
    default:
        return -1;
    }
}

/* Legacy field characters → F-numbers. Note 6 and 7 are swapped against the F order
 * (7 = errors F06, 6 = protected size F07), as N-able's scripts use them. */
static int legacy_field(char c)
{
    static const char chars[] = "01234567ABLQIMGJOR";
    static const int fields[] = {0, 1, 2, 3, 4, 5, 7, 6, 12, 8, 9, 16, 13, 20, 15, 17, 18, 14};
    const char *p = c != '\0' ? strchr(chars, c) : NULL;
    return p != NULL ? fields[p - chars] : -1;
}

/* Reads 1–3 decimal digits (leading zeros allowed: D09, D9, I01). */
static const char *read_small(const char *p, unsigned *out)
{
    unsigned v = 0;
    int n = 0;
    while (isdigit((unsigned char)*p) && n < 3) {
        v = v * 10 + (unsigned)(*p - '0');
        p++;
        n++;
    }
    if (n == 0 || isdigit((unsigned char)*p))
        return NULL;
    *out = v;
    return p;
}

bool cove_col_parse(const char *code, struct cove_col *out)
{
    const char *p;
    unsigned a, b;

    if (code == NULL || code[0] == '\0')
        return false;
    if (code[0] == 'I' && (p = read_small(code + 1, &a)) != NULL && *p == '\0') {
        *out = (struct cove_col){'I', a, 0};
        return true;
    }
    if (code[0] == 'D' && (p = read_small(code + 1, &a)) != NULL && *p == 'F' &&
        (p = read_small(p + 1, &b)) != NULL && *p == '\0') {
        *out = (struct cove_col){'D', a, b};
        return true;
    }
    if (strlen(code) == 2) {
        for (size_t i = 0; i < sizeof(legacy_ids) / sizeof(legacy_ids[0]); i++) {
            if (strcmp(code, legacy_ids[i].code) == 0) {
                *out = (struct cove_col){'I', legacy_ids[i].num, 0};
                return true;
            }
        }
        int s = legacy_source(code[0]), f = legacy_field(code[1]);
        if (s >= 0 && f >= 0) {
            *out = (struct cove_col){'D', (unsigned)s, (unsigned)f};
            return true;
        }
    }
    return false;
}

bool cove_col_eq(struct cove_col a, struct cove_col b)
{
    return a.kind == b.kind && a.num == b.num && a.field == b.field;
}

/* ------------------------------------------------------------------------------------------ */
/* values                                                                                     */

bool cove_val_truthy(const struct cove_val *v)
{
    return v->is_str ? v->str[0] != '\0' : v->num != 0;
}

void cove_num_format(double v, char *buf, size_t bufsz)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9e18)
        snprintf(buf, bufsz, "%" PRId64, (int64_t)v);
    else
        snprintf(buf, bufsz, "%.17g", v);
}

static const char *val_text(const struct cove_val *v, char *buf, size_t bufsz)
{
    if (v->is_str)
        return v->str;
    cove_num_format(v->num, buf, bufsz);
    return buf;
}

/* Strings that hold numbers compare as numbers, because every Settings value is a string and
 * `I14 > 1000` must still mean a numeric comparison. */
static bool val_number(const struct cove_val *v, double *out)
{
    if (!v->is_str) {
        *out = v->num;
        return true;
    }
    return v->str[0] != '\0' && str_to_double(v->str, out) == 0;
}

/* '*' = any run, '?' = one character; case-insensitive like the console's search. */
static bool glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s != '\0') {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == '?' ||
                   (*pat != '\0' && tolower((unsigned char)*pat) == tolower((unsigned char)*s))) {
            pat++;
            s++;
        } else if (star != NULL) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* tree                                                                                       */

enum node_kind {
    N_NUM,
    N_STR,
    N_COL,
    N_ANY,
    N_NEG,
    N_NOT,
    N_AGO,
    N_FROMNOW,
    N_OR,
    N_AND,
    N_EQ,
    N_NE,
    N_LT,
    N_GT,
    N_LE,
    N_GE,
    N_MATCH,
    N_ADD,
    N_SUB,
    N_MUL,
    N_DIV,
    N_MOD,
    N_IN,
};

struct node {
    enum node_kind kind;
    double num;
    char *str;
    struct cove_col col;
    struct node *a, *b;
    struct node **list; /* N_IN: the candidates */
    size_t nlist;
};

struct cove_expr {
    struct node *root;
    bool uses_now;
};

static void node_free(struct node *n)
{
    if (n == NULL)
        return;
    node_free(n->a);
    node_free(n->b);
    for (size_t i = 0; i < n->nlist; i++)
        node_free(n->list[i]);
    free(n->list);
    free(n->str);
    free(n);
}

static struct node *node_new(enum node_kind k, struct node *a, struct node *b)
{
    struct node *n = xcalloc(1, sizeof(*n));
    n->kind = k;
    n->a = a;
    n->b = b;
    return n;
}

static struct node *node_num(double v)
{
    struct node *n = node_new(N_NUM, NULL, NULL);
    n->num = v;
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* lexer + recursive-descent parser                                                           */

enum tok_kind { T_END, T_NUM, T_STR, T_IDENT, T_OP };

struct parser {
    const char *p;
    enum tok_kind tk;
    char text[256]; /* identifier, operator or string literal */
    double num;
    int depth;
    bool failed;
    bool uses_now;
    char *err;
    size_t errsz;
};

#define MAX_DEPTH 64

static void fail(struct parser *ps, const char *what)
{
    if (!ps->failed)
        snprintf(ps->err, ps->errsz, "%s", what);
    ps->failed = true;
    ps->tk = T_END;
}

static void next(struct parser *ps)
{
    static const char *const ops[] = {"==", "!=", "<>", "<=", ">=", "=~", "&&", "||", "<", ">",
                                      "(",  ")",  ",",  ".",  "*",  "/",  "%",  "+",  "-", "!"};
    const char *p = ps->p;

    if (ps->failed)
        return;
    while (isspace((unsigned char)*p))
        p++;
    ps->text[0] = '\0';
    if (*p == '\0') {
        ps->tk = T_END;
    } else if (isdigit((unsigned char)*p)) {
        const char *start = p;
        while (isdigit((unsigned char)*p))
            p++;
        /* "7.days()" is 7 then a method call; only a digit after the dot makes a fraction. */
        if (*p == '.' && isdigit((unsigned char)p[1])) {
            p++;
            while (isdigit((unsigned char)*p))
                p++;
        }
        char tmp[64];
        if ((size_t)(p - start) >= sizeof(tmp)) {
            fail(ps, "number too long");
            return;
        }
        memcpy(tmp, start, (size_t)(p - start));
        tmp[p - start] = '\0';
        if (str_to_double(tmp, &ps->num) != 0) {
            fail(ps, "bad number");
            return;
        }
        ps->tk = T_NUM;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        const char *start = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        if ((size_t)(p - start) >= sizeof(ps->text)) {
            fail(ps, "identifier too long");
            return;
        }
        memcpy(ps->text, start, (size_t)(p - start));
        ps->text[p - start] = '\0';
        ps->tk = T_IDENT;
    } else if (*p == '\'' || *p == '"') {
        char q = *p++;
        size_t n = 0;
        while (*p != '\0' && *p != q) {
            if (n + 1 >= sizeof(ps->text)) {
                fail(ps, "string literal too long");
                return;
            }
            ps->text[n++] = *p++;
        }
        if (*p != q) {
            fail(ps, "unterminated string");
            return;
        }
        p++;
        ps->text[n] = '\0';
        ps->tk = T_STR;
    } else {
        size_t i;
        for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            size_t l = strlen(ops[i]);
            if (strncmp(p, ops[i], l) == 0) {
                snprintf(ps->text, sizeof(ps->text), "%s", ops[i]);
                p += l;
                ps->tk = T_OP;
                break;
            }
        }
        if (i == sizeof(ops) / sizeof(ops[0])) {
            fail(ps, "unexpected character");
            return;
        }
    }
    ps->p = p;
}

static bool is_op(const struct parser *ps, const char *op)
{
    return ps->tk == T_OP && strcmp(ps->text, op) == 0;
}

static bool is_word(const struct parser *ps, const char *w)
{
    return ps->tk == T_IDENT && strcasecmp(ps->text, w) == 0;
}

static bool expect_op(struct parser *ps, const char *op)
{
    if (!is_op(ps, op)) {
        char msg[64];
        snprintf(msg, sizeof(msg), "expected '%s'", op);
        fail(ps, msg);
        return false;
    }
    next(ps);
    return true;
}

static struct node *parse_or(struct parser *ps);

/* Session.* names from the web GUI (reference §3.5) → status codes (§4.5). Blocked and
 * Undefined have no published number; 4 and 0 are the reference's best reading. */
static int session_constant(const char *name, double *out)
{
    static const struct {
        const char *name;
        int v;
    } names[] = {
        {"InProcess", 1},
        {"InProgress", 1},
        {"Failed", 2},
        {"Aborted", 3},
        {"Blocked", 4},
        {"Completed", 5},
        {"Interrupted", 6},
        {"NotStarted", 7},
        {"CompletedWithErrors", 8},
        {"InProgressWithFaults", 9},
        {"InProcessWithFaults", 9},
        {"OverQuota", 10},
        {"NoSelection", 11},
        {"Restarted", 12},
        {"Undefined", 0},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].v;
            return 0;
        }
    }
    return -1;
}

static struct node *parse_primary(struct parser *ps)
{
    struct node *n = NULL;

    if (ps->tk == T_NUM) {
        n = node_num(ps->num);
        next(ps);
    } else if (ps->tk == T_STR) {
        n = node_new(N_STR, NULL, NULL);
        n->str = xstrdup(ps->text);
        next(ps);
    } else if (is_op(ps, "(")) {
        next(ps);
        n = parse_or(ps);
        if (!expect_op(ps, ")")) {
            node_free(n);
            return NULL;
        }
    } else if (ps->tk == T_IDENT) {
        struct cove_col col;
        if (strcmp(ps->text, "ANY") == 0) {
            n = node_new(N_ANY, NULL, NULL);
            next(ps);
        } else if (is_word(ps, "true") || is_word(ps, "false")) {
            n = node_num(is_word(ps, "true") ? 1 : 0);
            next(ps);
        } else if (strcmp(ps->text, "Session") == 0) {
            double v;
            next(ps);
            if (!expect_op(ps, "."))
                return NULL;
            if (ps->tk != T_IDENT || session_constant(ps->text, &v) != 0) {
                fail(ps, "unknown Session constant");
                return NULL;
            }
            n = node_num(v);
            next(ps);
        } else if (cove_col_parse(ps->text, &col)) {
            n = node_new(N_COL, NULL, NULL);
            n->col = col;
            next(ps);
        } else {
            char msg[300];
            snprintf(msg, sizeof(msg), "unknown column '%.200s'", ps->text);
            fail(ps, msg);
        }
    } else {
        fail(ps, ps->tk == T_END ? "unexpected end of filter" : "unexpected token");
    }
    return n;
}

/* x.days() / x.hours() / … multiply into seconds; x.ago() / x.fromNow() are relative to now. */
static struct node *parse_postfix(struct parser *ps)
{
    static const struct {
        const char *name;
        double secs;
    } units[] = {{"seconds", 1},    {"second", 1},   {"minutes", 60}, {"minute", 60},
                 {"hours", 3600},   {"hour", 3600},  {"days", 86400}, {"day", 86400},
                 {"weeks", 604800}, {"week", 604800}};
    struct node *n = parse_primary(ps);

    while (n != NULL && is_op(ps, ".")) {
        next(ps);
        if (ps->tk != T_IDENT) {
            fail(ps, "expected a method name after '.'");
            break;
        }
        char name[32];
        snprintf(name, sizeof(name), "%.31s", ps->text);
        next(ps);
        if (!expect_op(ps, "(") || !expect_op(ps, ")"))
            break;
        if (strcmp(name, "ago") == 0 || strcmp(name, "fromNow") == 0) {
            n = node_new(strcmp(name, "ago") == 0 ? N_AGO : N_FROMNOW, n, NULL);
            ps->uses_now = true;
            continue;
        }
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcmp(name, units[i].name) == 0)
                break;
        if (i == sizeof(units) / sizeof(units[0])) {
            fail(ps, "unknown method");
            break;
        }
        n = node_new(N_MUL, n, node_num(units[i].secs));
    }
    if (ps->failed) {
        node_free(n);
        return NULL;
    }
    return n;
}

static struct node *parse_unary(struct parser *ps)
{
    if (++ps->depth > MAX_DEPTH) {
        fail(ps, "filter nested too deeply");
        return NULL;
    }
    struct node *n;
    if (is_op(ps, "-")) {
        next(ps);
        n = parse_unary(ps);
        n = n != NULL ? node_new(N_NEG, n, NULL) : NULL;
    } else if (is_op(ps, "!") || is_word(ps, "not")) {
        next(ps);
        n = parse_unary(ps);
        n = n != NULL ? node_new(N_NOT, n, NULL) : NULL;
    } else {
        n = parse_postfix(ps);
    }
    ps->depth--;
    return n;
}

static struct node *parse_binary_chain(struct parser *ps, struct node *(*sub)(struct parser *),
                                       const char *const *ops, const enum node_kind *kinds,
                                       size_t nops)
{
    struct node *n = sub(ps);
    while (n != NULL && !ps->failed) {
        size_t i;
        for (i = 0; i < nops; i++) {
            bool word = isalpha((unsigned char)ops[i][0]);
            if (word ? is_word(ps, ops[i]) : is_op(ps, ops[i]))
                break;
        }
        if (i == nops)
            break;
        next(ps);
        struct node *r = sub(ps);
        if (r == NULL) {
            node_free(n);
            return NULL;
        }
        n = node_new(kinds[i], n, r);
    }
    if (ps->failed) {
        node_free(n);
        return NULL;
    }
    return n;
}

static struct node *parse_mul(struct parser *ps)
{
    static const char *const ops[] = {"*", "/", "%"};
    static const enum node_kind kinds[] = {N_MUL, N_DIV, N_MOD};
    return parse_binary_chain(ps, parse_unary, ops, kinds, 3);
}

static struct node *parse_add(struct parser *ps)
{
    static const char *const ops[] = {"+", "-"};
    static const enum node_kind kinds[] = {N_ADD, N_SUB};
    return parse_binary_chain(ps, parse_mul, ops, kinds, 2);
}

static struct node *parse_cmp(struct parser *ps)
{
    static const char *const ops[] = {"==", "!=", "<>", "<=", ">=", "<", ">", "=~"};
    static const enum node_kind kinds[] = {N_EQ, N_NE, N_NE, N_LE, N_GE, N_LT, N_GT, N_MATCH};
    struct node *n = parse_add(ps);

    if (n == NULL)
        return NULL;
    if (is_word(ps, "in")) {
        struct node *in = node_new(N_IN, n, NULL);
        next(ps);
        if (!expect_op(ps, "(")) {
            node_free(in);
            return NULL;
        }
        for (;;) {
            struct node *item = parse_add(ps);
            if (item == NULL) {
                node_free(in);
                return NULL;
            }
            in->list = xrealloc(in->list, (in->nlist + 1) * sizeof(*in->list));
            in->list[in->nlist++] = item;
            if (is_op(ps, ",")) {
                next(ps);
                continue;
            }
            if (!expect_op(ps, ")")) {
                node_free(in);
                return NULL;
            }
            return in;
        }
    }
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (is_op(ps, ops[i])) {
            next(ps);
            struct node *r = parse_add(ps);
            if (r == NULL) {
                node_free(n);
                return NULL;
            }
            return node_new(kinds[i], n, r);
        }
    }
    return n;
}

/* not/! bind looser than comparisons here ("not AT == 1" negates the comparison); the unary
 * form in parse_unary covers "!x" inside arithmetic. */
static struct node *parse_not(struct parser *ps)
{
    if (is_op(ps, "!") || is_word(ps, "not")) {
        if (++ps->depth > MAX_DEPTH) {
            fail(ps, "filter nested too deeply");
            return NULL;
        }
        next(ps);
        struct node *n = parse_not(ps);
        ps->depth--;
        return n != NULL ? node_new(N_NOT, n, NULL) : NULL;
    }
    return parse_cmp(ps);
}

static struct node *parse_and(struct parser *ps)
{
    static const char *const ops[] = {"&&", "and"};
    static const enum node_kind kinds[] = {N_AND, N_AND};
    return parse_binary_chain(ps, parse_not, ops, kinds, 2);
}

static struct node *parse_or(struct parser *ps)
{
    static const char *const ops[] = {"||", "or"};
    static const enum node_kind kinds[] = {N_OR, N_OR};
    if (++ps->depth > MAX_DEPTH) {
        fail(ps, "filter nested too deeply");
        return NULL;
    }
    struct node *n = parse_binary_chain(ps, parse_and, ops, kinds, 2);
    ps->depth--;
    return n;
}

struct cove_expr *cove_expr_parse(const char *src, char *err, size_t errsz)
{
    struct parser ps = {.p = src, .err = err, .errsz = errsz};
    struct node *root;

    next(&ps);
    root = parse_or(&ps);
    if (root != NULL && ps.tk != T_END)
        fail(&ps, "unexpected trailing text");
    if (ps.failed || root == NULL) {
        if (!ps.failed)
            snprintf(err, errsz, "empty expression");
        node_free(root);
        return NULL;
    }
    struct cove_expr *e = xcalloc(1, sizeof(*e));
    e->root = root;
    e->uses_now = ps.uses_now;
    return e;
}

void cove_expr_free(struct cove_expr *e)
{
    if (e == NULL)
        return;
    node_free(e->root);
    free(e);
}

bool cove_expr_uses_now(const struct cove_expr *e)
{
    return e != NULL && e->uses_now;
}

static bool each_col(const struct node *n, bool (*fn)(void *ctx, struct cove_col col), void *ctx)
{
    if (n == NULL)
        return true;
    if (n->kind == N_COL && !fn(ctx, n->col))
        return false;
    if (!each_col(n->a, fn, ctx) || !each_col(n->b, fn, ctx))
        return false;
    for (size_t i = 0; i < n->nlist; i++)
        if (!each_col(n->list[i], fn, ctx))
            return false;
    return true;
}

bool cove_expr_each_col(const struct cove_expr *e, bool (*fn)(void *ctx, struct cove_col col),
                        void *ctx)
{
    return each_col(e->root, fn, ctx);
}

/* ------------------------------------------------------------------------------------------ */
/* evaluation                                                                                 */

#define SCRATCH 128

static void eval(const struct node *n, const struct cove_env *env, struct cove_val *out, char *buf,
                 size_t bufsz);

static bool compare(enum node_kind op, const struct cove_val *l, const struct cove_val *r)
{
    char lb[64], rb[64];
    double a, b;
    int c;

    if (op == N_MATCH)
        return glob_match(val_text(r, rb, sizeof(rb)), val_text(l, lb, sizeof(lb)));
    if (val_number(l, &a) && val_number(r, &b))
        c = a < b ? -1 : a > b ? 1 : 0;
    else
        c = strcmp(val_text(l, lb, sizeof(lb)), val_text(r, rb, sizeof(rb)));
    switch (op) {
    case N_EQ:
        return c == 0;
    case N_NE:
        return c != 0;
    case N_LT:
        return c < 0;
    case N_GT:
        return c > 0;
    case N_LE:
        return c <= 0;
    case N_GE:
        return c >= 0;
    default:
        return false;
    }
}

static void col_value(const struct cove_env *env, struct cove_col col, struct cove_val *out,
                      char *buf, size_t bufsz)
{
    if (!env->col(env->ctx, col, out, buf, bufsz))
        *out = (struct cove_val){.is_str = true, .str = ""};
}

/* `ANY op x` holds when op holds for any text column (reference: "ANY = any text column"). */
static bool compare_any(enum node_kind op, const struct cove_env *env, const struct cove_val *r)
{
    char buf[SCRATCH];
    for (size_t i = 0; i < env->ntext_cols; i++) {
        struct cove_val v;
        col_value(env, env->text_cols[i], &v, buf, sizeof(buf));
        if (compare(op, &v, r))
            return true;
    }
    return false;
}

static double num_of(const struct cove_val *v)
{
    double d;
    return val_number(v, &d) ? d : 0;
}

static void eval(const struct node *n, const struct cove_env *env, struct cove_val *out, char *buf,
                 size_t bufsz)
{
    char lb[SCRATCH], rb[SCRATCH];
    struct cove_val l, r;

    *out = (struct cove_val){0};
    switch (n->kind) {
    case N_NUM:
        out->num = n->num;
        return;
    case N_STR:
        out->is_str = true;
        out->str = n->str;
        return;
    case N_COL:
        col_value(env, n->col, out, buf, bufsz);
        return;
    case N_ANY:
        out->is_str = true;
        out->str = "";
        return;
    case N_NEG:
        eval(n->a, env, &l, lb, sizeof(lb));
        out->num = -num_of(&l);
        return;
    case N_NOT:
        eval(n->a, env, &l, lb, sizeof(lb));
        out->num = !cove_val_truthy(&l);
        return;
    case N_AGO:
    case N_FROMNOW:
        eval(n->a, env, &l, lb, sizeof(lb));
        out->num = (double)env->now + (n->kind == N_AGO ? -num_of(&l) : num_of(&l));
        return;
    case N_OR:
    case N_AND:
        eval(n->a, env, &l, lb, sizeof(lb));
        if (cove_val_truthy(&l) == (n->kind == N_OR)) {
            out->num = n->kind == N_OR;
            return;
        }
        eval(n->b, env, &r, rb, sizeof(rb));
        out->num = cove_val_truthy(&r);
        return;
    case N_IN:
        eval(n->a, env, &l, lb, sizeof(lb));
        for (size_t i = 0; i < n->nlist; i++) {
            eval(n->list[i], env, &r, rb, sizeof(rb));
            if (compare(N_EQ, &l, &r)) {
                out->num = 1;
                return;
            }
        }
        return;
    case N_EQ:
    case N_NE:
    case N_LT:
    case N_GT:
    case N_LE:
    case N_GE:
    case N_MATCH:
        eval(n->b, env, &r, rb, sizeof(rb));
        if (n->a->kind == N_ANY) {
            out->num = compare_any(n->kind, env, &r);
            return;
        }
        eval(n->a, env, &l, lb, sizeof(lb));
        out->num = compare(n->kind, &l, &r);
        return;
    case N_ADD:
    case N_SUB:
    case N_MUL:
    case N_DIV:
    case N_MOD: {
        eval(n->a, env, &l, lb, sizeof(lb));
        eval(n->b, env, &r, rb, sizeof(rb));
        double a = num_of(&l), b = num_of(&r);
        if (n->kind == N_ADD)
            out->num = a + b;
        else if (n->kind == N_SUB)
            out->num = a - b;
        else if (n->kind == N_MUL)
            out->num = a * b;
        else if (b == 0) /* no NaN/inf leaking into totals */
            out->num = 0;
        else
            out->num = n->kind == N_DIV ? a / b : fmod(a, b);
        return;
    }
    }
}

void cove_expr_eval(const struct cove_expr *e, const struct cove_env *env, struct cove_val *out,
                    char *buf, size_t bufsz)
{
    eval(e->root, env, out, buf, bufsz);
}

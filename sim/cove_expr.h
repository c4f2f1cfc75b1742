/* cove_expr: Cove column codes and the filter/totals expression language, for cove-sim.
 *
 * Column codes come in three spellings that the live service treats alike (reference §4): new
 * (I1, D09F00), unpadded (D9F0) and legacy two-letter (AN, T0). cove_col_parse() maps all of
 * them to one canonical struct so the simulator answers a code whatever way it was written.
 * The expression language is the subset of the console's advanced filter (reference §3.5)
 * that clients are seen to send: comparisons, =~ wildcards, and/or/not, in (…), arithmetic,
 * N.days().ago() and Session.* constants. It is parsed once per request into a tree and
 * evaluated per device through a column callback, so no device is ever turned into JSON. */
#ifndef BK_SIM_COVE_EXPR_H
#define BK_SIM_COVE_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A canonical column: kind 'I' (device property I<num>) or 'D' (statistic D<num>F<field>). */
struct cove_col {
    char kind;
    unsigned num;
    unsigned field;
};

/* Parses any accepted spelling of a column code. Returns false when code is not one. */
bool cove_col_parse(const char *code, struct cove_col *out);
bool cove_col_eq(struct cove_col a, struct cove_col b);

/* A value during evaluation: a number, or a string borrowed from the device or a scratch
 * buffer that lives as long as the evaluation step that produced it. */
struct cove_val {
    bool is_str;
    double num;
    const char *str;
};

/* How an expression reads the device it is evaluated against. col() returns false when the
 * device has no value for the column (the expression then sees ""); buf is scratch space for
 * values that have to be formatted. */
struct cove_env {
    bool (*col)(void *ctx, struct cove_col col, struct cove_val *out, char *buf, size_t bufsz);
    const struct cove_col *text_cols; /* what ANY searches */
    size_t ntext_cols;
    void *ctx;
    int64_t now; /* Unix seconds, for .ago() */
};

struct cove_expr;

/* Parses src. Returns an expression the caller frees with cove_expr_free(), or NULL with a
 * one-line reason in err. */
struct cove_expr *cove_expr_parse(const char *src, char *err, size_t errsz);
void cove_expr_free(struct cove_expr *e);
/* True when the value depends on the clock (ago/fromNow), so cached results go stale. */
bool cove_expr_uses_now(const struct cove_expr *e);
/* Calls fn for every column the expression reads; stops and returns false as soon as fn does. */
bool cove_expr_each_col(const struct cove_expr *e, bool (*fn)(void *ctx, struct cove_col col),
                        void *ctx);
/* Evaluates e; a string result may point into buf. */
void cove_expr_eval(const struct cove_expr *e, const struct cove_env *env, struct cove_val *out,
                    char *buf, size_t bufsz);
/* Non-zero numbers and non-empty strings are true. */
bool cove_val_truthy(const struct cove_val *v);
/* Formats a number the way Cove sends values: integers without a fraction. */
void cove_num_format(double v, char *buf, size_t bufsz);

#endif

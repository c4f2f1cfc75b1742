/* Pure parsing of Cove Data Protection JSON-RPC replies (no I/O; fuzzed): the envelope
 * (top-level visa, result.result, result.totalStatistics, error.data codes), the Login reply,
 * the Settings array of EnumerateAccountStatistics rows flattened into a code→value map, and
 * the DESIGN §4 mapping of one row onto a job, its last run and that run's datasources.
 * Facts and their sources: reference/cove-api.md §1–4, §6. */
#ifndef BK_PROVIDERS_COVE_PARSE_H
#define BK_PROVIDERS_COVE_PARSE_H

#include "core/model.h"
#include "core/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;

/* Cove-specific error.data values (reference §6). */
#define COVE_ERR_AUTH 2100      /* unknown partner/username or bad password */
#define COVE_ERR_SESSION 1701   /* visa inconsistent/corrupted/expired */
#define COVE_ERR_SECURITY 13501 /* operation failed because of security reasons */

/* One Settings entry of a row: a normalised column code (see cove_code_canon) and its value
 * as text (numbers keep their JSON spelling). */
struct cove_kv {
    uint32_t key;
    const char *val;
};

/* A row of result.result: where its settings sit in cove_reply.settings. */
struct cove_rowref {
    bool valid; /* an object with a usable AccountId (>= 0) */
    bool has_partner;
    int64_t account_id;
    int64_t partner_id;
    size_t first, n; /* settings[first .. first+n) */
};

struct cove_total_kv {
    const char *expr;
    const char *val; /* number or string, as text; NULL for other types */
};

enum cove_result_kind {
    COVE_RESULT_NONE = 0, /* absent or null */
    COVE_RESULT_ROWS,     /* an array: rows[] */
    COVE_RESULT_OBJECT,   /* an object (Login: PartnerId) */
    COVE_RESULT_OTHER,    /* a string, number or boolean */
};

/* A parsed reply. Every string points into `arena` (decoded, NUL-terminated). The page is
 * read in one pass without building a JSON tree: jansson's per-node allocations made a
 * 1000-row page cost ~35 ms, a third of the whole budget for a 100 000-device fleet. */
struct cove_reply {
    char *arena;                       /* owned */
    const char *visa;                  /* top-level visa, NULL when absent */
    int64_t error_data;                /* error.data of an error reply, 0 otherwise */
    int64_t error_code;                /* error.code of an error reply, 0 otherwise */
    const char *error_message;         /* error.message, may be NULL */
    enum cove_result_kind result_kind; /* of result.result */
    struct cove_rowref *rows;          /* owned */
    size_t nrows, rows_cap;
    struct cove_kv *settings; /* owned: the settings of every row, row after row */
    size_t nsettings, settings_cap;
    struct cove_total_kv *totals; /* owned: result.totalStatistics */
    size_t ntotals, totals_cap;
    bool vendor_error;   /* a well-formed error reply with an error.data we have no rule for */
    bool has_partner_id; /* result.result.PartnerId (Login) */
    int64_t partner_id;
    size_t arena_used, arena_cap;
};

/* Parse a JSON-RPC reply (strict RFC 8259 JSON, UTF-8, nesting <= 64). 0 on success; on an
 * error reply -BK_EAUTH (2100), -BK_ESESSION (1701), -BK_EPERM (13501) or -BK_EPROTO with
 * out->vendor_error set (any other error.data, or none: "Cove vendor error (code C, data
 * D): MESSAGE" in err); -BK_EPROTO without vendor_error for malformed, truncated or
 * non-object JSON and for a malformed "error" member (retryable). Whatever the result, free
 * out with cove_reply_free() (NULL-safe): an error reply keeps its visa readable. */
int cove_parse_reply(const char *body, size_t len, struct cove_reply *out, struct bk_err *err);
void cove_reply_free(struct cove_reply *r);
/* Value of a totalStatistics entry {expr: value} (number or numeric string), matching expr
 * exactly but ignoring spaces. false when absent or not an integer. */
bool cove_total(const struct cove_reply *r, const char *expr, int64_t *out);

struct cove_login {
    char *visa;         /* owned */
    int64_t partner_id; /* result.result.PartnerId (integer or numeric string) */
    bool vendor_error;  /* set on failure too: as cove_reply.vendor_error */
};

/* Parse a Login reply: errors as cove_parse_reply, -BK_EPROTO (not a vendor error) without
 * visa or PartnerId.
 * On success out owns a copy of the visa: release with cove_login_clear() (NULL-safe). */
int cove_parse_login(const char *body, size_t len, struct cove_login *out, struct bk_err *err);
void cove_login_clear(struct cove_login *l);

/* One flattened row: its settings in a small open-addressing table keyed by the numeric
 * code, so a lookup costs O(1) whatever the number of columns. Codes that are not In or
 * DnnFnn (legacy AN, custom AA843, …) are not kept. Values are borrowed from the reply. */
#define COVE_ROW_SLOTS 256
#define COVE_ROW_MAX 160 /* settings kept per row; extra ones are dropped */
struct cove_row {
    int64_t account_id;
    bool has_partner;
    int64_t partner_id;
    size_t nsettings;
    size_t dropped; /* settings beyond COVE_ROW_MAX */
    struct {
        uint32_t key; /* 0 = empty */
        const char *val;
    } slot[COVE_ROW_SLOTS];
};

/* Canonical form of a column code: "I<n>" or "D<nn>F<nn>" ("D9F0" → "D09F00", "I01" →
 * "I1"). Writes it to out (>= 16 bytes) and returns true, or false for anything else. */
bool cove_code_canon(const char *code, char *out, size_t outsz);
/* Flatten row i of r (r must outlive out). Settings may have been an array of single-key
 * objects (the documented shape), of multi-key objects, or one flat object; null, boolean and
 * structured values count as absent; a later duplicate wins. 0, or -BK_EPROTO when the row
 * is not an object or has no usable AccountId (callers skip it). */
int cove_reply_row(const struct cove_reply *r, size_t i, struct cove_row *out, struct bk_err *err);
/* Borrowed value of a code in any accepted spelling ("D9F0", "D09F00"), NULL when absent. */
const char *cove_row_get(const struct cove_row *r, const char *code);

/* DESIGN §4 for a session status code (F00 / F16 / F17): *ran is false for 0 or empty
 * ("never ran"). Unmapped codes (not 0–12) are logged once per process and map to unknown. */
enum bk_run_status cove_session_status(const char *raw, bool *ran);
/* "Completed", "Completed with errors", … for the documented codes, NULL otherwise. */
const char *cove_session_name(int64_t code);
/* Human name of a datasource ("D10" or "D1" → "VSS MS SQL"), NULL when unknown. */
const char *cove_datasource_name(const char *code);

/* Map one flattened row (DESIGN §4). The job is always filled; the run only when D09F15 is a
 * positive Unix time and D09F00 is not 0/empty (*has_run says which). Strings are owned by
 * the records: release with bk_job_rec_clear()/bk_run_rec_clear(). Returns 0 (err is for
 * future checks). */
int cove_map_row(const struct cove_row *row, int64_t poll_time_ms, struct bk_job_rec *job,
                 struct bk_run_rec *run, bool *has_run, struct bk_err *err);

/* Map every row of an EnumerateAccountStatistics reply into b (appended; b keeps ownership).
 * *rows = rows in the page, *skipped = rows without AccountId (logged as one warning).
 * 0, or -BK_EPROTO when result.result is neither an array nor absent/null. */
int cove_map_page(const struct cove_reply *r, int64_t poll_time_ms, struct bk_batch *b,
                  size_t *rows, size_t *skipped, struct bk_err *err);

/* The columns EnumerateAccountStatistics is asked for (static table; never D02/D03, which
 * are legacy and answered with 13501). *n = count. */
const char *const *cove_columns(size_t *n);

#endif

/* Report e-mail parsers (issue 14): pure functions from a decoded message (mime.h) to what it
 * reports. One file pair per product, tried in a fixed order (specific before generic, as
 * Backupchecks does): each looks for its body fingerprints (never the sender: senders are
 * admin-chosen) and claims the mail or passes. A claimed mail is a run, or "not a run" (a
 * daily summary, a digest, a newsletter: kept, never a run); a mail no parser claims is
 * "unknown" and goes to the Inbox. Unknown words never become success. */
#ifndef BK_MAIL_PARSE_H
#define BK_MAIL_PARSE_H

#include "core/model.h"
#include "core/status.h"

#include <stdbool.h>
#include <stdint.h>

struct mail_msg;
struct bk_tz;

enum mail_kind { MAIL_UNKNOWN = 0, MAIL_RUN, MAIL_NOT_A_RUN };

struct mail_result {
    enum mail_kind kind;
    const char *product; /* static: "veeam_vbr", "veeam_agent", "vb365", "synology_abb", … */
    char *job_type;      /* "Backup", "Backup Copy", "Replication", … or NULL */
    char *job_name;      /* runs: never NULL or empty */
    enum bk_run_status status;
    char *raw_status;   /* the product's word ("Success", "Failed", "Partially completed") */
    int64_t start_ms;   /* 0 = unknown (the Date: header is used) */
    int64_t end_ms;     /* 0 = unknown */
    char *message;      /* session-level text, NULL */
    char *reason;       /* not a run / unknown: why, for the Inbox; NULL */
    bool group_retries; /* Veeam: a retry's mail belongs to the run it retries */
    struct bk_obj_rec *objects;
    size_t nobjects;
};

/* What a parser may know beyond the message: the source's zone (for dates without one;
 * NULL = UTC). */
struct mail_parse_ctx {
    const struct bk_tz *tz;
};

/* A parser: 1 when it claimed the mail (r filled), 0 when not its kind. Pure. */
typedef int (*mail_parser_fn)(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                              struct mail_result *r);

/* Run the registry in order; r is always filled (MAIL_UNKNOWN when nothing claimed it, with
 * the generic keyword status as a hint in r->status). The caller clears r. */
void mail_parse(const struct mail_msg *m, const struct mail_parse_ctx *ctx, struct mail_result *r);
void mail_result_clear(struct mail_result *r);
const char *mail_kind_name(enum mail_kind k);

/* The parsers, in registry order (parse.c). */
int mail_parse_veeam(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                     struct mail_result *r);
int mail_parse_vb365(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                     struct mail_result *r);
int mail_parse_synology(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                        struct mail_result *r);
int mail_parse_nakivo(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                      struct mail_result *r);
int mail_parse_duplicati(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                         struct mail_result *r);
int mail_parse_notarun(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                       struct mail_result *r);
int mail_parse_generic(const struct mail_msg *m, const struct mail_parse_ctx *ctx,
                       struct mail_result *r);

/* ---- helpers shared by the parsers (parse_util.c) ---- */
/* Case-insensitive substring search (ASCII folding). */
const char *mail_strcasestr(const char *hay, const char *needle);
/* The generic keyword status of a text: failure words beat warning words beat success words;
 * none: BK_RUN_UNKNOWN (never success). */
enum bk_run_status mail_keyword_status(const char *text);
/* "HH:MM[:SS]" at s -> seconds of day, and "(+N)" after it -> *plus_days; -1 when none. */
int mail_parse_clock(const char *s, int *plus_days);
/* A long locale date ("Tuesday, November 24, 2026 10:00:06 PM", "dinsdag 24 november 2026
 * 22:00:06", "24/11/2026", "2026-11-24") -> days since 1970; -1 when none. *sec_of_day gets a
 * time found after the date, or -1. English, Dutch, French and German month names. */
int64_t mail_parse_long_date(const char *s, int *sec_of_day);
/* Local days of an instant in tz (NULL = UTC). */
int64_t mail_local_days(const struct bk_tz *tz, int64_t utc_ms, int *sec_of_day);
/* UTC ms of local days + second of day in tz. */
int64_t mail_local_to_utc_ms(const struct bk_tz *tz, int64_t days, int sec_of_day);
/* Append an object (copies). */
void mail_result_add_object(struct mail_result *r, const char *name, enum bk_run_status st,
                            const char *raw, const char *message);
/* Trim spaces at both ends, in a fresh copy. */
char *mail_trim_dup(const char *s, size_t n);

#endif

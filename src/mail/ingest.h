/* The report e-mail pipeline (issue 14): raw RFC 5322 bytes -> decoded (mime.c) -> identified
 * and parsed (parse.c) -> stored with its run in ONE transaction (store/mail.c). Inputs are
 * thin: stdin (`backupctl mail ingest`), a Maildir scanned by serve (here), IMAP (imap.h) and
 * Microsoft Graph (graph.h) — each hands raw bytes to mail_ingest_bytes and acknowledges the
 * mail at its origin (the Maildir rename, an IMAP or Graph move) only after that commit. A crash
 * between the two re-reads the mail, and the Message-ID dedupe makes that harmless. */
#ifndef BK_MAIL_INGEST_H
#define BK_MAIL_INGEST_H

#include "store/mail.h"

#include <stddef.h>
#include <stdint.h>

struct bk_store;
struct bk_config;
struct bk_source_cfg;
struct bk_tz;
struct bk_err;

/* A mail source ready to take mails: its source row and its zone. */
struct mail_source {
    const struct bk_source_cfg *cfg; /* borrowed */
    int64_t source_id;
    struct bk_tz *tz; /* owned */
};

/* Sync src's source row and load its zone (src->timezone, else cfg's server zone). */
int mail_source_open(struct bk_store *s, const struct bk_config *cfg,
                     const struct bk_source_cfg *src, struct mail_source *ms, struct bk_err *err);
void mail_source_close(struct mail_source *ms);

struct mail_ingest_result {
    struct store_mail_out st;
    char kind[12];    /* run, not_a_run, unknown */
    char product[24]; /* "" when none */
    char job[128];    /* the job name, "" when none */
    char status[12];  /* the run's status */
};

/* Decode, parse and store one mail. -BK_ETOOBIG / -BK_EINVAL for bytes that are no mail
 * (nothing stored); store errors as they come. A duplicate is success (out->st.duplicate). */
int mail_ingest_bytes(struct bk_store *s, const struct mail_source *ms, const char *raw, size_t len,
                      int64_t now_ms, struct mail_ingest_result *out, struct bk_err *err);

/* The subject's shape for Inbox rules: lower case, digits and status words dropped, spaces
 * collapsed ("[Failed] Nightly 2026-11-24" and "[Success] Nightly 2026-11-25" agree).
 * Caller frees. */
char *mail_rule_key(const char *subject);

/* The test hook of the crash-between-commit-and-move tests of every input (tests/integration):
 * with BACKUPCTL_TEST_MAIL_CRASH=after-commit in the environment, abort here. */
void mail_test_crash_hook(void);

struct mail_scan_stats {
    int64_t seen, stored, duplicates, refused, errors;
};

/* One mail of an input through the pipeline, counted into st (seen is the input's): fetched is
 * the input's result of getting the bytes (0: raw/len hold them). MAIL_DONE: stored, or a
 * duplicate (the test crash hook ran after the commit): acknowledge it at its origin.
 * MAIL_REFUSED: bytes that are no mail (e->msg says why): acknowledge it too, keep it for a
 * human where the input can. MAIL_FAILED: a fetch or store error (in *e): leave it for the
 * next poll. */
enum mail_outcome { MAIL_DONE, MAIL_REFUSED, MAIL_FAILED };
enum mail_outcome mail_ingest_counted(struct bk_store *s, const struct mail_source *ms, int fetched,
                                      const char *raw, size_t len, struct mail_scan_stats *st,
                                      struct bk_err *e);

/* Scan ms's Maildir once: every file of new/ (oldest name first, at most max) is ingested,
 * then renamed into cur/ (":2,S"; a refused one ":2,F", kept for a human). A store error
 * leaves the file in new/ for the next scan. stop (may be NULL) ends the scan early. */
int mail_maildir_scan(struct bk_store *s, const struct mail_source *ms, size_t max,
                      volatile int *stop, struct mail_scan_stats *st, struct bk_err *err);

#endif

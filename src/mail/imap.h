/* The IMAP input of report e-mails (issue 14), over TLS with libcurl: per folder the
 * UIDVALIDITY and the last UID done are kept in source_state; each poll lists the UIDs above
 * it (UID SEARCH), fetches each mail by UID, hands it to the pipeline (mail/ingest.h) and
 * only after that commit moves it to the processed folder (UID MOVE, RFC 6851). A crash in
 * between, a reconnect or a UIDVALIDITY change (the server renumbered: rescan from 0) only
 * re-reads mails, which the Message-ID dedupe makes harmless.
 * Mails are fetched while the folder is open read-only (EXAMINE), so a fetch never marks one
 * read — what BODY.PEEK[] gives (libcurl fetches with BODY[] and drops the literal of a custom
 * FETCH) — and moved afterwards with the folder opened read-write (SELECT); the UID, not
 * \Seen, says what is done. */
#ifndef BK_MAIL_IMAP_H
#define BK_MAIL_IMAP_H

#include "mail/ingest.h"

#include <stddef.h>

/* One poll of ms's imap_url with password (borrowed; never logged). At most max mails. */
int mail_imap_poll(struct bk_store *s, const struct mail_source *ms, const char *password,
                   size_t max, struct mail_scan_stats *st, struct bk_err *err);

/* Pure helpers (tested): the UIDVALIDITY of an EXAMINE reply (0 when none), and the UIDs of a
 * "* SEARCH 1 2 3" reply above `after`, ascending, at most max, into uids (*n). */
uint64_t mail_imap_uidvalidity(const char *reply);
void mail_imap_search_uids(const char *reply, uint64_t after, uint64_t *uids, size_t max,
                           size_t *n);

#endif

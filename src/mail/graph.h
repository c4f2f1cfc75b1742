/* The Microsoft Graph input of report e-mails (issue 14): a Microsoft 365 mailbox read by an
 * app registration with client credentials (Mail.ReadWrite, restricted to the report mailbox
 * by RBAC for Applications). Each poll gets a token (POST to the tenant's token endpoint),
 * lists the folder's messages oldest first (ids only, following @odata.nextLink but never to
 * another host), then per message downloads the raw MIME (GET …/messages/{id}/$value), hands
 * it to the pipeline (mail/ingest.h) and only after that commit moves it to the processed
 * folder (POST …/move; the folder is made when missing). The folder holds only what is not
 * done, so there is no cursor to keep: a crash between commit and move re-reads a mail, which
 * the Message-ID dedupe makes harmless. Reading does not mark a mail read. Throttling (429,
 * 503 with Retry-After) is waited out by the HTTP client's retries. */
#ifndef BK_MAIL_GRAPH_H
#define BK_MAIL_GRAPH_H

#include "mail/ingest.h"

#include <signal.h>
#include <stddef.h>

/* One poll of ms's mailbox with the client secret (borrowed; never logged). At most max
 * mails. stop (may be NULL) aborts transfers. */
int mail_graph_poll(struct bk_store *s, const struct mail_source *ms, const char *secret,
                    size_t max, volatile sig_atomic_t *stop, struct mail_scan_stats *st,
                    struct bk_err *err);

#endif

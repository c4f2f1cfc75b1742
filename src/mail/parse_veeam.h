/* Veeam Backup & Replication job reports (backup, backup copy, replication, agent jobs
 * managed by VBR) and standalone Veeam Agent reports: the Veeam HTML session report
 * (email-reports.md §2.4, §3). Identified by body fingerprints — a header cell
 * "<Type> job: <name>" with a session table (class sessionDetails / processObjectsHeader) —
 * never by sender or subject (an admin-editable template, used only as a hint). The body's
 * times carry no date: the date comes from the session row's long locale date, else the
 * Date: header in the source's zone; "(+1)" moves an end past midnight. Per-VM rows become
 * objects. Retries send one mail each: the result asks the store to group them. */
#ifndef BK_MAIL_PARSE_VEEAM_H
#define BK_MAIL_PARSE_VEEAM_H

#include "mail/parse.h"

/* Veeam's words -> status: Success; Warning, None, Pending -> warning; Failed, Error -> failed;
 * anything else unknown. */
enum bk_run_status mail_veeam_status(const char *word);
/* The rows after each class="processObjectsHeader" row of m (body and attachments) as
 * objects of r, keyed by the header labels (Name, Status, Details). */
void mail_veeam_objects(const struct mail_msg *m, size_t from, struct mail_result *r);

#endif

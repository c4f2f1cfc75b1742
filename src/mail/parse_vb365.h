/* Veeam Backup for Microsoft 365 job reports (email-reports.md §4). Identified by the Veeam
 * session layout plus the product's name in the body; the job is "<Org> - <Job>" from the
 * default subject template when it parses, else the header cell. Large tenants put the
 * per-object report in an HTML attachment: its rows are read like the body's. Body column
 * names are [unverified] (no captured sample): fixtures are synthetic. */
#ifndef BK_MAIL_PARSE_VB365_H
#define BK_MAIL_PARSE_VB365_H
#include "mail/parse.h"
#endif

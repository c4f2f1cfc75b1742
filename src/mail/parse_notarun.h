/* Mails that report no run (email-reports.md §2.1, §7, §15 X1–X3): Veeam reports that are
 * not a job session (daily summary, SOBR, malware detection, …), digests such as the Acronis
 * daily recap, and list mail (newsletters). Classified "not a run": kept, never a run. */
#ifndef BK_MAIL_PARSE_NOTARUN_H
#define BK_MAIL_PARSE_NOTARUN_H
#include "mail/parse.h"
#endif

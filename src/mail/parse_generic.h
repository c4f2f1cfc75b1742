/* Generic keyword rules (email-reports.md §9, §12.5): Windows Server Backup scripts
 * ("Successful Backup on SRV01" / "Failed Backup on SRV01", the jocha.se report), with the
 * Healthchecks rule that failure words beat success words and no match is never success. */
#ifndef BK_MAIL_PARSE_GENERIC_H
#define BK_MAIL_PARSE_GENERIC_H
#include "mail/parse.h"
#endif

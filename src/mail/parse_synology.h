/* Synology Active Backup for Business and Hyper Backup notifications (email-reports.md §5).
 * PLACEHOLDER rules: the real subjects and bodies are [unverified] (no captured sample; DSM
 * sends them in the DSM notification language). Matched: the product name in the text, the
 * task name in square brackets after "task", and the outcome words completed / partially
 * completed / failed / cancelled / suspended. Replace with captured samples. */
#ifndef BK_MAIL_PARSE_SYNOLOGY_H
#define BK_MAIL_PARSE_SYNOLOGY_H
#include "mail/parse.h"
#endif

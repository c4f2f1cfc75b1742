/* NAKIVO Backup & Replication job reports (email-reports.md §6). PLACEHOLDER rules: the mail
 * format is [unverified]; the words are the CLI's ("Successful", "Failed", "Stopped (3 VM
 * successful. 0 VM failed. 2 VM stopped)"). Matched: "NAKIVO" in the text, a line
 * "Job: <name>" and a line "Status: <word>". Replace with captured samples. */
#ifndef BK_MAIL_PARSE_NAKIVO_H
#define BK_MAIL_PARSE_NAKIVO_H
#include "mail/parse.h"
#endif

/* Duplicati backup reports (email-reports.md §8): the classic text body (one "Key: value" per
 * line, raw values in parentheses preferred: "EndTime: 1/24/2018 10:01:45 PM (1516852905)"),
 * the JSON body ({"Data": {...}, "Extra": {...}}), and the failed form ("Failed: …",
 * "Details: …"). Job name from the default subject "Duplicati Backup report for <name>",
 * else Extra["backup-name"]. ParsedResult: Success, Warning, Error/Fatal -> failed. */
#ifndef BK_MAIL_PARSE_DUPLICATI_H
#define BK_MAIL_PARSE_DUPLICATI_H
#include "mail/parse.h"
#endif

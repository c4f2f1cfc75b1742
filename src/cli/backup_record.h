/* `backupctl backup --config F [--source NAME]`: the backup reports its own run to
 * backupctl's store (source_type 'trigger'), so a scheduler-triggered HYCU backup shows in
 * Daily Jobs and Run Checks as what it is, at once and not only after the next poll. Not in
 * the Windows build (it has no store). */
#ifndef BK_CLI_BACKUP_RECORD_H
#define BK_CLI_BACKUP_RECORD_H

#include "cli/report.h"

struct backup_record;
struct bk_err;

/* Load config_path, open its store and pick the source: `source` by name (a hycu source), else
 * the one hycu source whose url is url (scheme and host case-insensitive, a trailing '/'
 * ignored). 0, or a negative error with a one-line message (a configuration error: exit 1,
 * before anything is started). */
int backup_record_open(const char *config_path, const char *source, const char *url,
                       struct backup_record **out, struct bk_err *err);
/* Record r's jobs: right after the trigger (running) and with the report (as it says). A
 * store that cannot be written is a warning on stderr: the backup's exit code never
 * depends on it. */
void backup_record_write(struct backup_record *br, const struct backup_result *r);
void backup_record_close(struct backup_record *br);

#endif

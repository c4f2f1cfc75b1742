/* `backupctl backup`: trigger + monitor one HYCU backup for a job scheduler (DESIGN §3). */
#ifndef BK_CLI_CMD_BACKUP_H
#define BK_CLI_CMD_BACKUP_H

/* argv[0] is "backup". Returns the process exit code of DESIGN §3. */
int cmd_backup(int argc, char **argv);

/* Exit code of an error before the trigger (lookup, credentials, URL): 1 for what the
 * operator must fix, 7 for an interruption, 8 for the rest. Exported for unit tests. */
int backup_setup_exit_code(int rc, long http_status);

#endif

/* `backupctl db copy` (issue 11): move an installation between stores, SQLite <-> PostgreSQL
 * and back, with a row count per table checked before the target commits. */
#ifndef BK_CLI_CMD_DB_H
#define BK_CLI_CMD_DB_H

int cmd_db(int argc, char **argv);

#endif

/* Web users and API tokens from the command line: `user add|passwd|del|list` and
 * `token add|list|revoke` (DESIGN §2). */
#ifndef BK_CLI_CMD_USERS_H
#define BK_CLI_CMD_USERS_H

int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);

#endif

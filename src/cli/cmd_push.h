/* Push check-ins from the command line (issue 14): `job add` creates a push job and prints
 * its ping URL; `ping` reports a run to such a URL, or wraps a command and reports its start,
 * end, exit status and the tail of its output. */
#ifndef BK_CLI_CMD_PUSH_H
#define BK_CLI_CMD_PUSH_H

int cmd_job(int argc, char **argv);
int cmd_ping(int argc, char **argv);

#endif

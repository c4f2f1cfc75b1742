/* `backupctl alert test NAME` (issue 10): send a test message through every channel of one
 * [alert "NAME"] section, so an operator sees a wrong password or a missing STARTTLS now and
 * not on the night a backup fails. */
#ifndef BK_CLI_CMD_ALERT_H
#define BK_CLI_CMD_ALERT_H

int cmd_alert(int argc, char **argv);

#endif

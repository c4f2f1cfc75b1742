/* The monitoring commands over the store: `poll`, `status`, `check`, `config check`. */
#ifndef BK_CLI_CMD_MONITOR_H
#define BK_CLI_CMD_MONITOR_H

int cmd_poll(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_config(int argc, char **argv);

#endif

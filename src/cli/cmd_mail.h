/* `backupctl mail ingest` (issue 14): one report e-mail from stdin (an MTA pipe, a one-off)
 * into the pipeline of mail/ingest.h. */
#ifndef BK_CLI_CMD_MAIL_H
#define BK_CLI_CMD_MAIL_H

int cmd_mail(int argc, char **argv);

#endif

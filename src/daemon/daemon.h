/* `backupctl serve`: the always-on daemon — per-source poll schedule on worker threads,
 * the HTTP server, signals (SIGHUP reload, SIGTERM/SIGINT stop), readiness notification and
 * retention pruning. */
#ifndef BK_DAEMON_DAEMON_H
#define BK_DAEMON_DAEMON_H

/* argv[0] = "serve". Returns the process exit code. */
int daemon_serve(int argc, char **argv);

#endif

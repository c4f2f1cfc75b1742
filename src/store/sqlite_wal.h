/* WAL checkpoints of `backupctl serve` on SQLite, off the request path.
 *
 * SQLite checkpoints automatically in the commit that takes the WAL past 1,000 pages: the
 * request whose write crosses the line copies the WAL into the database and syncs it. For a
 * push ping that was the whole tail (bench/push_ping, 500 pings/s, 2 cores: p99 4.4 ms with
 * the automatic checkpoint, 1.4 ms without). With the background checkpointer started, every
 * connection the process opens afterwards turns the automatic checkpoint off and only reports
 * the WAL's size; one thread on its own connection runs a PASSIVE checkpoint when the WAL has
 * reached 1,000 pages (SQLite's own threshold) and at least once a second while it grows, so
 * the WAL stays as small as before. PASSIVE never waits for a reader or a writer, and a
 * checkpoint is only a copy: what it does not copy now stays in the WAL, readable and durable
 * (synchronous=NORMAL) as before. Processes that did not start it (the CLI) keep SQLite's
 * automatic checkpoint. Internal to the SQLite backend. */
#ifndef BK_STORE_SQLITE_WAL_H
#define BK_STORE_SQLITE_WAL_H

#include "util/err.h"

#include <sqlite3.h>
#include <stdbool.h>

/* Start the thread, checkpointing the database file at path. 0, or <0 with err set. */
int sq_wal_start(const char *path, struct bk_err *err);
/* Stop it after a last checkpoint; connections opened later checkpoint automatically again. */
void sq_wal_stop(void);
/* The checkpoint mode of a connection, at open and after a poll held checkpoints back:
 * reporting to the thread when it runs, SQLite's automatic checkpoint otherwise. */
void sq_wal_attach(sqlite3 *db);
/* Checkpoints the thread ran since it started (tests and logs). */
long sq_wal_checkpoints(void);

#endif

/* The background WAL checkpointer of the SQLite backend (see sqlite_wal.h). */
#include "store/sqlite_wal.h"

#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* SQLite's default automatic checkpoint threshold (SQLITE_DEFAULT_WAL_AUTOCHECKPOINT). */
#define WAL_PAGES 1000

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, stop;
    int pages;    /* the WAL's size in pages at the last commit any connection reported */
    bool written; /* a commit since the last checkpoint */
    sqlite3 *db;  /* the thread's own connection */
    pthread_t th;
} g_wal = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static atomic_bool g_on;
static atomic_long g_count;

/* Called by SQLite after each commit, with the write lock already released. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
    (void)ud;
    (void)db;
    (void)name;
    pthread_mutex_lock(&g_wal.mu);
    g_wal.pages = pages;
    g_wal.written = true;
    if (pages >= WAL_PAGES)
        pthread_cond_signal(&g_wal.cv);
    pthread_mutex_unlock(&g_wal.mu);
    return SQLITE_OK;
}

void sq_wal_attach(sqlite3 *db)
{
    if (atomic_load(&g_on))
        sqlite3_wal_hook(db, wal_hook, NULL); /* replaces the automatic checkpoint */
    else
        sqlite3_wal_autocheckpoint(db, WAL_PAGES);
}

static void checkpoint(void)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(g_wal.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    /* A WAL restarts from its beginning only when a write starts after a checkpoint copied
     * all of it; under writes that never pause, PASSIVE checkpoints keep up but the WAL
     * keeps growing. Past 4 thresholds (16 MB of 4 KB pages), one RESTART checkpoint makes
     * the writers wait (their busy handler) while it finishes, as the commit that
     * checkpointed inline did. */
    if (rc == SQLITE_OK && log >= 4 * WAL_PAGES)
        rc = sqlite3_wal_checkpoint_v2(g_wal.db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        log_warn("store: WAL checkpoint: %s", sqlite3_errmsg(g_wal.db));
    atomic_fetch_add(&g_count, 1);
}

static void *wal_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_wal.mu);
    while (!g_wal.stop) {
        if (g_wal.pages < WAL_PAGES) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&g_wal.cv, &g_wal.mu, &ts);
            if (g_wal.stop)
                break;
            if (g_wal.pages < WAL_PAGES && !g_wal.written)
                continue; /* nothing written for a second: nothing to copy */
        }
        g_wal.pages = 0;
        g_wal.written = false;
        pthread_mutex_unlock(&g_wal.mu);
        checkpoint();
        pthread_mutex_lock(&g_wal.mu);
    }
    pthread_mutex_unlock(&g_wal.mu);
    return NULL;
}

int sq_wal_start(const char *path, struct bk_err *err)
{
    if (g_wal.running)
        return 0;
    if (sqlite3_open_v2(path, &g_wal.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        int rc = bk_err_set(err, BK_EIO, "cannot open database %s for checkpoints: %s", path,
                            g_wal.db ? sqlite3_errmsg(g_wal.db) : "out of memory");
        sqlite3_close(g_wal.db);
        g_wal.db = NULL;
        return rc;
    }
    sqlite3_wal_autocheckpoint(g_wal.db, 0);
    sqlite3_busy_timeout(g_wal.db, 2000); /* a RESTART checkpoint waits for readers */
    /* A connection that has read nothing yet does not know the file is in WAL mode: its
     * checkpoints would do nothing (log and checkpointed -1). The mode is the file's, set by
     * the store that opened it first; asking for it reads the header. */
    char *msg = NULL;
    if (sqlite3_exec(g_wal.db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) != SQLITE_OK) {
        int rc = bk_err_set(err, BK_EIO, "database %s: %s", path, msg ? msg : "journal mode");
        sqlite3_free(msg);
        sqlite3_close(g_wal.db);
        g_wal.db = NULL;
        return rc;
    }
    g_wal.stop = false;
    g_wal.pages = 0;
    g_wal.written = false;
    atomic_store(&g_count, 0);
    if (pthread_create(&g_wal.th, NULL, wal_main, NULL) != 0) {
        sqlite3_close(g_wal.db);
        g_wal.db = NULL;
        return bk_err_set(err, BK_EIO, "cannot start the checkpoint thread");
    }
    g_wal.running = true;
    atomic_store(&g_on, true);
    return 0;
}

void sq_wal_stop(void)
{
    if (!g_wal.running)
        return;
    atomic_store(&g_on, false);
    pthread_mutex_lock(&g_wal.mu);
    g_wal.stop = true;
    pthread_cond_signal(&g_wal.cv);
    pthread_mutex_unlock(&g_wal.mu);
    pthread_join(g_wal.th, NULL);
    checkpoint();
    sqlite3_close(g_wal.db);
    g_wal.db = NULL;
    g_wal.running = false;
}

long sq_wal_checkpoints(void)
{
    return atomic_load(&g_count);
}

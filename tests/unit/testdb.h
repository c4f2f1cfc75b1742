/* The store's tests on both engines (issue 11). Without BK_TEST_PG_STATE a test's database is
 * a SQLite file in its own directory; with it (the ctest entries unit.NAME.pg, whose fixture
 * scripts/pg-test-server starts a private PostgreSQL server and writes that state directory)
 * it is a fresh PostgreSQL database on that server, dropped at teardown. */
#ifndef BK_TESTS_TESTDB_H
#define BK_TESTS_TESTDB_H

#include <stdbool.h>
#include <stdint.h>

struct bk_config;

/* true when the tests run on PostgreSQL */
bool testdb_is_pg(void);
/* The [database] section (with its trailing newline) of a fresh database for the test whose
 * private directory is dir (a mkdtemp directory: its name makes the database name). Creates
 * the PostgreSQL database (dropping one of that name first); aborts the test on failure.
 * Caller frees. */
char *testdb_section(const char *dir);
/* Drop the test's database (PostgreSQL) or remove its files (SQLite: t.db, -wal, -shm). */
void testdb_drop(const char *dir);
/* The first column of the first row of sql, through a store opened on cfg: an integer (-1
 * when no row) or a text (NULL when no row or NULL; caller frees). */
int64_t testdb_q1(const struct bk_config *cfg, const char *sql);
char *testdb_qtext(const struct bk_config *cfg, const char *sql);
/* Run a statement through a store opened on cfg; asserts it succeeds. */
void testdb_exec(const struct bk_config *cfg, const char *sql);

#endif

/* Moving an installation between stores (issue 11: `backupctl db copy`, SQLite <-> PostgreSQL
 * and back): every table of the schema, row by row through the generic queries, in one
 * transaction on the target, with a row count per table compared before the commit. */
#ifndef BK_STORE_COPY_H
#define BK_STORE_COPY_H

#include <stdbool.h>
#include <stdint.h>

struct bk_store;
struct bk_err;

/* One table copied: its name and rows in the source and in the target after the copy. */
struct store_copy_table {
    const char *table;
    int64_t source_rows, target_rows;
};

/* Copy every row of from (borrowed, read only) into to (borrowed; migrated by its open). Both
 * must be at this build's schema version. A target that holds any row is refused
 * (-BK_EINVAL) unless force, which empties it first. Identity counters of a PostgreSQL target
 * continue after the copied ids. cb (may be NULL) gets each table after the counts compare;
 * a count that differs rolls everything back (-BK_EIO). Stop the instances that write to from
 * first: the source is read table by table. */
int store_copy(struct bk_store *from, struct bk_store *to, bool force,
               int (*cb)(const struct store_copy_table *t, void *ud), void *ud, struct bk_err *err);

#endif

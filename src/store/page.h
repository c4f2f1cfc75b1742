/* A list answer's two queries (issue 11): the rows of one page and the COUNT(*) of all of
 * them, over a named list (select, from, order: SQL that lives in the store module of its
 * domain) and a WHERE clause the caller grows from the conditions those modules export (SQL
 * macros over the list's aliases, '?N' placeholders). The web layer only chooses. */
#ifndef BK_STORE_PAGE_H
#define BK_STORE_PAGE_H

#include <stddef.h>

struct store_listq {
    const char *select;     /* the columns, in the order the caller reads them */
    const char *from;       /* the tables with their aliases */
    const char *count_from; /* what COUNT(*) reads (a cheaper FROM), NULL: from */
    const char *order;      /* a total order */
};

/* "SELECT COUNT(*) FROM … WHERE where". Caller frees. */
char *store_list_count_sql(const struct store_listq *l, const char *where);
/* "SELECT … FROM … WHERE where ORDER BY … LIMIT ?np+1 OFFSET ?np+2" (np: the parameters of
 * where). Caller frees. */
char *store_list_page_sql(const struct store_listq *l, const char *where, size_t np);

#endif

/* The SQL of a list answer (page.h): one place for the paging statement every list shares. */
#include "store/page.h"

#include "util/xalloc.h"

char *store_list_count_sql(const struct store_listq *l, const char *where)
{
    return xasprintf("SELECT COUNT(*) FROM %s WHERE %s", l->count_from ? l->count_from : l->from,
                     where);
}

char *store_list_page_sql(const struct store_listq *l, const char *where, size_t np)
{
    return xasprintf("SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT ?%zu OFFSET ?%zu", l->select,
                     l->from, where, l->order, np + 1, np + 2);
}

/* Allocation wrappers that abort on out-of-memory (tmux xmalloc), so no caller has an
 * untested OOM path. Not a place for policy: every other module allocates through these. */
#ifndef BK_UTIL_XALLOC_H
#define BK_UTIL_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* All return memory the caller frees with free(); none returns NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* xstrdup, or NULL for NULL. */
char *xstrdup_or_null(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif

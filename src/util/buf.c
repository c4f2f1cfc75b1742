/* Bounded buffer implementation. */
#include "util/buf.h"

#include "util/err.h"
#include "util/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bk_buf_init(struct bk_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int bk_buf_append(struct bk_buf *b, const void *p, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return -BK_ETOOBIG;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        b->data = xrealloc(b->data, ncap);
        b->cap = ncap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int bk_buf_appends(struct bk_buf *b, const char *s)
{
    return bk_buf_append(b, s, strlen(s));
}

int bk_buf_printf(struct bk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    int rc = bk_buf_appends(b, s);
    free(s);
    return rc;
}

void bk_buf_reset(struct bk_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void bk_buf_free(struct bk_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *bk_buf_steal(struct bk_buf *b)
{
    char *d = b->data ? b->data : xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

/* Bounded growable byte buffer (curl dynbuf): every append checks a maximum so a hostile
 * server or file cannot make us allocate without limit. Always NUL-terminated. */
#ifndef BK_UTIL_BUF_H
#define BK_UTIL_BUF_H

#include <stddef.h>

struct bk_buf {
    char *data; /* NUL-terminated when non-NULL; owned */
    size_t len;
    size_t cap;
    size_t max; /* appends that would exceed max fail with -BK_ETOOBIG */
};

void bk_buf_init(struct bk_buf *b, size_t max);
/* 0, or -BK_ETOOBIG (buffer unchanged). */
int bk_buf_append(struct bk_buf *b, const void *p, size_t n);
int bk_buf_appends(struct bk_buf *b, const char *s);
int bk_buf_printf(struct bk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bk_buf_reset(struct bk_buf *b);
/* Frees the data; the buffer can be reused after bk_buf_init. NULL-safe. */
void bk_buf_free(struct bk_buf *b);
/* Hand the data to the caller (free() it); the buffer is left empty. */
char *bk_buf_steal(struct bk_buf *b);

#endif

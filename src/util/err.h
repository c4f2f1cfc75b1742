/* Error values and the error-context struct every fallible function fills at the failure
 * site (curl's error buffer + OpenBSD's __func__ habit). */
#ifndef BK_UTIL_ERR_H
#define BK_UTIL_ERR_H

enum bk_status {
    BK_OK = 0,
    BK_EINVAL = 1,   /* bad argument or input */
    BK_ECONFIG = 2,  /* configuration problem */
    BK_EIO = 3,      /* file or system I/O */
    BK_ECONNECT = 4, /* could not connect (refused, unreachable) */
    BK_EDNS = 5,     /* host name did not resolve */
    BK_ETLS = 6,     /* TLS handshake / certificate not trusted */
    BK_ETIMEOUT = 7, /* operation timed out */
    BK_EHTTP = 8,    /* HTTP status that is an error (see http status) */
    BK_EAUTH = 9,    /* credentials rejected (401/403) */
    BK_EPROTO = 10,  /* malformed or unexpected reply */
    BK_ENOTFOUND = 11,
    BK_ETOOBIG = 12, /* a bounded buffer would overflow */
    BK_EINTR = 13,   /* interrupted by a signal */
    BK_EAMBIGUOUS = 14,
    BK_EPERM = 15,    /* authenticated but not allowed (Cove 13501) */
    BK_ESESSION = 16, /* session/visa expired or rejected (Cove 1701): log in again */
    BK_EPARTIAL = 17, /* a listing ended short of the size the vendor announced */
};

struct bk_err {
    int code;      /* one of enum bk_status (positive) */
    long http;     /* HTTP status when relevant, else 0 */
    char msg[512]; /* one line, no secrets */
};

/* Fill err (may be NULL) and return -code, so callers can `return bk_err_set(...)`. */
int bk_err_set(struct bk_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepend context ("lookup: ") to an already filled message. */
void bk_err_prefix(struct bk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bk_err_clear(struct bk_err *err);
const char *bk_status_name(int code);

#endif

/* Login rate limiting: failures counted per key ("ip:127.0.0.1", "user:alice") in a fixed
 * window; a key with too many failures is refused until its window ends. Bounded memory
 * (a full table evicts the stalest entry), thread-safe, time passed in for tests. */
#ifndef BK_WEB_RATELIMIT_H
#define BK_WEB_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct web_ratelimit;

/* max_failures within window_ms; capacity keys tracked. Caller frees. */
struct web_ratelimit *ratelimit_new(unsigned max_failures, int64_t window_ms, size_t capacity);
void ratelimit_free(struct web_ratelimit *rl);
/* Whether key may try now; when not, *retry_after_s (>= 1) says when it may. */
bool ratelimit_allowed(struct web_ratelimit *rl, const char *key, int64_t now_ms,
                       int64_t *retry_after_s);
/* Count one attempt of key now, before its outcome is known, if the key may still try:
 * true and counted, or false (not counted) with *retry_after_s. Checking and counting under
 * one lock is what keeps parallel attempts within max_failures (a check before a slow
 * password hash and a count after it let them all through). */
bool ratelimit_take(struct web_ratelimit *rl, const char *key, int64_t now_ms,
                    int64_t *retry_after_s);
/* Give back one attempt counted by ratelimit_take (it succeeded, or failed on our side). */
void ratelimit_refund(struct web_ratelimit *rl, const char *key);
/* Count one failure of key. */
void ratelimit_fail(struct web_ratelimit *rl, const char *key, int64_t now_ms);
/* Forget key (a successful login). */
void ratelimit_reset(struct web_ratelimit *rl, const char *key);

#endif

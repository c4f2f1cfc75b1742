/* Fixed-window failure counters for login rate limiting (see ratelimit.h). A linear scan is
 * fine: the table is small and every login also computes an Argon2id hash. */
#include "web/ratelimit.h"

#include "util/xalloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RL_KEY_MAX 160

struct rl_entry {
    char key[RL_KEY_MAX];
    int64_t window_start;
    unsigned failures;
    bool used;
};

struct web_ratelimit {
    pthread_mutex_t lock;
    unsigned max_failures;
    int64_t window_ms;
    size_t cap;
    struct rl_entry *e;
};

struct web_ratelimit *ratelimit_new(unsigned max_failures, int64_t window_ms, size_t capacity)
{
    struct web_ratelimit *rl = xcalloc(1, sizeof *rl);
    pthread_mutex_init(&rl->lock, NULL);
    rl->max_failures = max_failures ? max_failures : 1;
    rl->window_ms = window_ms > 0 ? window_ms : 1;
    rl->cap = capacity ? capacity : 1;
    rl->e = xcalloc(rl->cap, sizeof *rl->e);
    return rl;
}

void ratelimit_free(struct web_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl->e);
    free(rl);
}

static struct rl_entry *find(struct web_ratelimit *rl, const char *key)
{
    for (size_t i = 0; i < rl->cap; i++)
        if (rl->e[i].used && strncmp(rl->e[i].key, key, RL_KEY_MAX - 1) == 0)
            return &rl->e[i];
    return NULL;
}

bool ratelimit_allowed(struct web_ratelimit *rl, const char *key, int64_t now_ms,
                       int64_t *retry_after_s)
{
    bool ok = true;
    pthread_mutex_lock(&rl->lock);
    struct rl_entry *e = find(rl, key);
    if (e && now_ms - e->window_start >= rl->window_ms) {
        e->used = false; /* window over: forget */
    } else if (e && e->failures >= rl->max_failures) {
        ok = false;
        int64_t left = e->window_start + rl->window_ms - now_ms;
        *retry_after_s = left > 0 ? (left + 999) / 1000 : 1;
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

/* The entry of key, (re)started when absent or its window is over (lock held). */
static struct rl_entry *entry_for(struct web_ratelimit *rl, const char *key, int64_t now_ms)
{
    struct rl_entry *e = find(rl, key);
    if (e && now_ms - e->window_start >= rl->window_ms)
        e->used = false;
    if (!e || !e->used) {
        /* a free slot, else the entry whose window started longest ago */
        struct rl_entry *victim = NULL;
        for (size_t i = 0; i < rl->cap; i++) {
            struct rl_entry *x = &rl->e[i];
            if (!x->used || now_ms - x->window_start >= rl->window_ms) {
                victim = x;
                break;
            }
            if (!victim || x->window_start < victim->window_start)
                victim = x;
        }
        e = victim;
        memset(e, 0, sizeof *e);
        size_t n = strlen(key);
        memcpy(e->key, key, n < RL_KEY_MAX - 1 ? n : RL_KEY_MAX - 1);
        e->window_start = now_ms;
        e->used = true;
    }
    return e;
}

void ratelimit_fail(struct web_ratelimit *rl, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&rl->lock);
    entry_for(rl, key, now_ms)->failures++;
    pthread_mutex_unlock(&rl->lock);
}

bool ratelimit_take(struct web_ratelimit *rl, const char *key, int64_t now_ms,
                    int64_t *retry_after_s)
{
    pthread_mutex_lock(&rl->lock);
    struct rl_entry *e = entry_for(rl, key, now_ms);
    bool ok = e->failures < rl->max_failures;
    if (ok) {
        e->failures++;
    } else {
        int64_t left = e->window_start + rl->window_ms - now_ms;
        *retry_after_s = left > 0 ? (left + 999) / 1000 : 1;
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

void ratelimit_refund(struct web_ratelimit *rl, const char *key)
{
    pthread_mutex_lock(&rl->lock);
    struct rl_entry *e = find(rl, key);
    if (e && e->failures > 0)
        e->failures--;
    pthread_mutex_unlock(&rl->lock);
}

void ratelimit_reset(struct web_ratelimit *rl, const char *key)
{
    pthread_mutex_lock(&rl->lock);
    struct rl_entry *e = find(rl, key);
    if (e)
        e->used = false;
    pthread_mutex_unlock(&rl->lock);
}

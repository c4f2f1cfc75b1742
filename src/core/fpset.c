/* Job fingerprints and the open-addressing hash table that holds them (core/fpset.h). Keys
 * live in one growing arena, entries in a power-of-two array probed linearly, so 100,000 jobs
 * cost two allocations and a few MB. FNV-1a 64 over length-prefixed fields, runs and objects
 * combined by a sum of mixed hashes so their order does not matter. */
#include "core/fpset.h"

#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* 16 bytes: 100,000 jobs fit in 4 MB of slots (the poll's RSS budget is 64 MB). */
struct fp_entry {
    uint64_t fp;
    uint32_t key; /* offset in the arena + 1; 0 = empty slot */
    uint32_t tag; /* bit 31: seen; bits 0-30: the key's hash, to skip most strcmp */
};

#define TAG_SEEN 0x80000000u
#define TAG_HASH(h) ((uint32_t)((h) >> 33))

struct bk_fpset {
    struct fp_entry *e;
    size_t cap, n, nseen; /* cap: a power of two */
    char *arena;          /* the keys, NUL-terminated, at most 4 GB */
    size_t alen, acap;
};

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* A string as its length and bytes, NULL as a length no string has: "a","bc" never hashes
 * like "ab","c", and NULL never like "". */
static uint64_t fnv_str(uint64_t h, const char *s)
{
    uint64_t len = s ? (uint64_t)strlen(s) : UINT64_MAX;
    h = fnv_bytes(h, &len, sizeof len);
    return s ? fnv_bytes(h, s, (size_t)len) : h;
}

static uint64_t fnv_int(uint64_t h, int64_t v)
{
    return fnv_bytes(h, &v, sizeof v);
}

/* splitmix64's finaliser: a sum of raw FNV values would let two changes cancel too easily. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t key_hash(const char *key)
{
    return mix(fnv_str(FNV_OFFSET, key));
}

struct bk_fpset *bk_fpset_new(void)
{
    struct bk_fpset *s = xcalloc(1, sizeof *s);
    s->cap = 64;
    s->e = xcalloc(s->cap, sizeof *s->e);
    return s;
}

void bk_fpset_free(struct bk_fpset *s)
{
    if (!s)
        return;
    free(s->e);
    free(s->arena);
    free(s);
}

static const char *entry_key(const struct bk_fpset *s, const struct fp_entry *e)
{
    return s->arena + (e->key - 1);
}

static struct fp_entry *find(const struct bk_fpset *s, const char *key, uint64_t h)
{
    size_t mask = s->cap - 1;
    uint32_t tag = TAG_HASH(h);
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct fp_entry *e = &s->e[i];
        if (!e->key || ((e->tag & ~TAG_SEEN) == tag && strcmp(entry_key(s, e), key) == 0))
            return e;
    }
}

static void grow(struct bk_fpset *s)
{
    struct fp_entry *old = s->e;
    size_t ocap = s->cap;
    s->cap *= 2;
    s->e = xcalloc(s->cap, sizeof *s->e);
    size_t mask = s->cap - 1;
    for (size_t k = 0; k < ocap; k++) {
        if (!old[k].key)
            continue;
        size_t i = (size_t)key_hash(entry_key(s, &old[k])) & mask;
        while (s->e[i].key)
            i = (i + 1) & mask;
        s->e[i] = old[k];
    }
    free(old);
}

void bk_fpset_put(struct bk_fpset *s, const char *key, uint64_t fp)
{
    uint64_t h = key_hash(key);
    struct fp_entry *e = find(s, key, h);
    if (e->key) {
        e->fp = fp;
        return;
    }
    /* load factor at most 1/2: probes stay short even with clustered ids */
    if (2 * (s->n + 1) > s->cap) {
        grow(s);
        e = find(s, key, h);
    }
    size_t len = strlen(key) + 1;
    if (s->alen + len >= UINT32_MAX)
        abort(); /* 4 GB of external ids: not a fleet */
    if (s->alen + len > s->acap) {
        size_t cap = s->acap ? s->acap : 4096;
        while (s->alen + len > cap)
            cap *= 2;
        s->arena = xrealloc(s->arena, cap);
        s->acap = cap;
    }
    memcpy(s->arena + s->alen, key, len);
    e->key = (uint32_t)(s->alen + 1);
    s->alen += len;
    e->tag = TAG_HASH(h);
    e->fp = fp;
    s->n++;
}

bool bk_fpset_get(const struct bk_fpset *s, const char *key, uint64_t *fp)
{
    const struct fp_entry *e = find(s, key, key_hash(key));
    if (!e->key)
        return false;
    if (fp)
        *fp = e->fp;
    return true;
}

bool bk_fpset_mark_seen(struct bk_fpset *s, const char *key)
{
    struct fp_entry *e = find(s, key, key_hash(key));
    if (!e->key)
        return false;
    if (!(e->tag & TAG_SEEN)) {
        e->tag |= TAG_SEEN;
        s->nseen++;
    }
    return true;
}

bool bk_fpset_seen(const struct bk_fpset *s, const char *key)
{
    const struct fp_entry *e = find(s, key, key_hash(key));
    return e->key && (e->tag & TAG_SEEN);
}

size_t bk_fpset_count(const struct bk_fpset *s)
{
    return s->n;
}

size_t bk_fpset_seen_count(const struct bk_fpset *s)
{
    return s->nseen;
}

static uint64_t run_fp(const struct bk_run_rec *r)
{
    uint64_t h = FNV_OFFSET;
    h = fnv_str(h, r->vendor_run_id);
    h = fnv_int(h, r->start_ms);
    h = fnv_int(h, r->end_ms);
    h = fnv_int(h, (int64_t)r->status);
    h = fnv_str(h, r->raw_status);
    h = fnv_int(h, r->error_count);
    h = fnv_str(h, r->message);
    uint64_t objs = 0;
    for (size_t k = 0; k < r->nobjects; k++) {
        const struct bk_obj_rec *o = &r->objects[k];
        uint64_t oh = FNV_OFFSET;
        oh = fnv_str(oh, o->name);
        oh = fnv_int(oh, (int64_t)o->status);
        oh = fnv_str(oh, o->raw_status);
        oh = fnv_str(oh, o->message);
        objs += mix(oh);
    }
    h = fnv_int(h, (int64_t)r->nobjects);
    return mix(fnv_int(h, (int64_t)objs));
}

void bk_batch_fingerprints(const struct bk_batch *b, uint64_t *fp, long *run_job)
{
    struct bk_fpset *idx = bk_fpset_new();
    for (size_t i = 0; i < b->njobs; i++) {
        const struct bk_job_rec *j = &b->jobs[i];
        uint64_t h = FNV_OFFSET;
        h = fnv_str(h, j->external_id);
        h = fnv_str(h, j->name);
        h = fnv_str(h, j->kind);
        h = fnv_str(h, j->customer_ext_id);
        h = fnv_str(h, j->customer_name);
        h = fnv_str(h, j->colour_bar);
        if (j->policy || j->policy_rpo_s) { /* only HYCU's: Cove's stay as they were */
            h = fnv_str(h, j->policy);
            h = fnv_int(h, j->policy_rpo_s);
        }
        fp[i] = h;
        /* a job listed twice in one page: its runs count towards the last copy, which is the
         * one staging keeps */
        bk_fpset_put(idx, j->external_id ? j->external_id : "", (uint64_t)i);
    }
    for (size_t k = 0; k < b->nruns; k++) {
        uint64_t i;
        const char *ext = b->runs[k].job_external_id;
        if (ext && bk_fpset_get(idx, ext, &i)) {
            run_job[k] = (long)i;
            fp[i] += run_fp(&b->runs[k]);
        } else {
            run_job[k] = -1;
        }
    }
    for (size_t i = 0; i < b->njobs; i++) {
        fp[i] = mix(fp[i]);
        if (fp[i] == BK_FP_NONE)
            fp[i] = 1;
    }
    bk_fpset_free(idx);
}

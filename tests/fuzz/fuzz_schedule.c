/* Fuzz target: the schedule parser (durations, cron) and what runs on its result (slots),
 * the POSIX TZ rule parser, the TZif reader, and learning from a colour bar. Input: TZif data
 * (starts with "TZif"), a raw struct bk_schedule (starts with "RAW"), or lines
 * "schedule\nPOSIX rule\ncolour bar". */
#include "core/schedule.h"
#include "core/tzfile.h"
#include "util/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct bk_tz *tz, const struct bk_schedule *s)
{
    static struct bk_slot slots[64];
    int64_t t0 = 1790000000000LL; /* 2026-09 */
    int64_t runs[4] = {t0, t0 + 3600000, t0 + 86400000, t0 + 3 * 86400000};
    size_t n = bk_sched_check(s, tz, runs, 4, t0 - 86400000, t0 + 10 * 86400000, t0 + 5 * 86400000,
                              slots, 64);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && slots[i].start_ms <= slots[i - 1].start_ms)
            abort(); /* slots come in strictly increasing order */
        if (slots[i].open_ms > slots[i].start_ms || slots[i].close_ms < slots[i].start_ms ||
            slots[i].due_ms < slots[i].close_ms)
            abort(); /* open <= start <= close <= due */
    }
    char d[128];
    bk_sched_describe(s, d, sizeof d);
    for (size_t sz = 1; sz < 24; sz += 5)
        bk_sched_describe(s, d, sz); /* truncation stays inside the buffer */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bk_err err = {0};
    struct bk_tz *tz = NULL;
    if (size >= 4 && memcmp(data, "TZif", 4) == 0) {
        if (bk_tz_parse_tzif("fuzz", data, size, &tz, &err) == 0) {
            for (int64_t t = -2000000000LL; t < 4000000000LL; t += 123456789)
                (void)bk_tz_local_to_utc(tz, t + bk_tz_offset(tz, t));
            bk_tz_free(tz);
        }
        return 0;
    }
    if (size >= 3 + sizeof(struct bk_schedule) && memcmp(data, "RAW", 3) == 0) {
        /* a schedule read back from storage may hold anything: slots stay in bounds */
        struct bk_schedule raw;
        memcpy(&raw, data + 3, sizeof raw);
        raw.kind = (enum bk_sched_kind)((unsigned)data[3] % 8);
        raw.origin = BK_SCHED_LEARNED;
        raw.cron.mday_any = data[4] & 1;
        raw.cron.wday_any = data[4] & 2;
        raw.spec[sizeof raw.spec - 1] = '\0';
        exercise(bk_tz_utc(), &raw);
        return 0;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *rule = strchr(text, '\n'), *bar = NULL;
    if (rule) {
        *rule++ = '\0';
        bar = strchr(rule, '\n');
        if (bar)
            *bar++ = '\0';
    }
    if (rule && bk_tz_parse_posix(rule, &tz, &err) < 0)
        tz = NULL;
    const struct bk_tz *z = tz ? tz : bk_tz_utc();
    struct bk_schedule s;
    if (bk_sched_parse(text, -1, &s, &err) == 0)
        exercise(z, &s);
    int64_t dur;
    (void)bk_sched_parse_duration(text, &dur, &err);
    if (bar) {
        int64_t now = 1790000000000LL;
        struct bk_learn_in in = {NULL, 0, bar, now, z, now};
        bk_sched_learn(&in, &s);
        exercise(z, &s);
        struct bk_offline o;
        bk_sched_offline(bar, now, 0, now, 3, 7, &o);
    }
    bk_tz_free(tz);
    free(text);
    return 0;
}

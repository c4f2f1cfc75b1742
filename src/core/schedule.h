/* Expected schedules (issue 9), the pure part: parse configured schedules, learn one from a
 * job's history, list its slots, tell which slots were missed, flag unusual durations and
 * offline workstations. No SQL, no I/O, no clock: every function takes `now` from the caller.
 *
 * Design note
 * -----------
 * Time zones. "The backup night" is a customer's local notion, so slots are computed in a
 * struct bk_tz (core/tzfile.h: our own TZif reader, because localtime_r/mktime would need
 * the process-wide TZ switched per customer, which is not thread-safe). Local times skipped
 * by a spring-forward gap move forward by the gap; repeated autumn times happen once (first).
 *
 * Learning (bk_sched_learn), over the last BK_SCHED_HORIZON_DAYS days:
 *  1. Backup days. A run belongs to the local day of (start - pivot), where the pivot is the
 *     middle of the largest empty stretch of the day's clock among the runs' local start
 *     times: runs at 23:30 and at 00:30 are the same night, not two days. A Cove colour bar
 *     (D09F08, one digit per UTC day, last = the day of its as-of time, 0 = no backup; every
 *     other digit, failures included, shows the job was scheduled that day) adds active days,
 *     so a schedule is known from the first poll.
 *  2. The learning span runs from the first to the last active day: a job that stopped
 *     recently keeps the schedule it had, which is what makes its silence Missed.
 *  3. Fewer than BK_SCHED_MIN_EVIDENCE active days: UNKNOWN (no slots; callers fall back to
 *     stale). Then, first match wins:
 *     - DAILY: >= 75 % of the span's days active (tolerates a few failed-to-start nights).
 *     - WEEKLY: span >= 14 days; the weekdays active >= 60 % of their occurrences, every
 *       other weekday <= 25 %, and <= 15 % of active days outside the chosen weekdays.
 *     - MONTHLY: span >= 45 days; same rule over days of month (each chosen day seen twice
 *       at least), "last day of month" being a day of its own.
 *     - otherwise IRREGULAR: never Missed, only stale.
 *  4. Times of day (from runs only; a colour bar has none): n = the median number of runs per
 *     active day. n >= 2 makes DAILY into MULTI (n windows, capped at BK_SCHED_MAX_WINDOWS):
 *     the clock times are split at their n-1 widest gaps; clusters holding fewer than 40 % of
 *     the active days are ad-hoc runs and dropped. A window spans the 10th-90th percentile of
 *     its start times (min-max under 10 runs). A window wider than 12 h, more than 24 runs a
 *     day, or no run times at all give one whole-backup-day window.
 *     When every window falls after midnight (a 03:00 job, whose backup day starts at 15:00),
 *     the days are renamed to the calendar day the runs happen on: "weekly Sun 03:00".
 *  5. Confidence (0-100) = share of expected days that were active x min(1, evidence / 14)
 *     (two weeks of nights are needed to trust a daily schedule); evidence = active days.
 *
 * Slots (bk_sched_slots, bk_sched_check). A window gives one slot per matching backup day:
 * start = the window's start; a run counts for it when it starts in [start - lead, start +
 * len + late), lead = min(12 h, half the quiet time before the window), late = min(grace,
 * the next window's lead), so an early run still counts and neighbouring slots never share a
 * run (one missing hourly run is one Missed, not a shift of every later run by a slot).
 * due = start + len + grace: no run by then → MISSED; before then → EXPECTED (not yet); the
 * full grace covers the delay between a run's start and the poll that sees it. Each run
 * satisfies at most one slot (greedy, in time order). A slot is identified by its start, so
 * repeated checks give the same slots (one Missed per slot).
 * `every = D` slots are periods aligned on local midnight + day_start_min (D divides a day,
 * or is whole days; weeks start on Monday; other D on the Unix epoch): a run that starts in
 * the period counts, due = period end + grace. A caller overriding a learned schedule with
 * "every = 1d" should copy the learned day_start_min, so the day boundary falls in the job's
 * quiet hours. Cron slots have len 0 and the lead of the cron's closest times.
 * For a Cove device the colour bar's active days stand in for runs not collected
 * (bk_sched_merge_bar), so a device first seen today is judged on its last 28 days.
 *
 * Not decided here (the caller's): the range to check (from the job's first sighting or the
 * last check on, so a new job gets no Missed for days before we knew it), that a source that
 * could not be polled gives "unknown" instead of Missed, and that workstations skip Missed
 * for the offline check.
 *
 * Cost: nothing is allocated (the caller passes the slot array; bk_sched_learn uses about
 * 56 KB of stack); one zone lookup per run of the horizon, a few per slot; bench/schedule.
 *
 * Durations: anomalous when the run took < median / factor or > median x factor (factor
 * default 3) and differs from the median by >= 5 min, over >= 5 past durations; the median
 * (the upper one for an even count, found by quickselect) is robust to the odd full backup.
 * Offline: whole days since the last active colour-bar day or the last session, whichever
 * is more recent, against warning/error thresholds (3/7).
 * Stale: from the longest expected quiet time P (by schedule, else by kind), warn after P +
 * 2 h and critical after 2 P + 2 h, so a daily job keeps check's 26 h / 50 h and a weekly
 * one is not stale on its third day; never ran is a warning until it is older than crit. */
#ifndef BK_CORE_SCHEDULE_H
#define BK_CORE_SCHEDULE_H

#include "core/tzfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bk_err;

#define BK_SCHED_MAX_WINDOWS 24
#define BK_SCHED_HORIZON_DAYS 90
#define BK_SCHED_MAX_RUNS 4096 /* learning reads at most the most recent ones */
#define BK_SCHED_MIN_EVIDENCE 3
#define BK_SCHED_DEFAULT_GRACE_S 7200
#define BK_SCHED_MAX_SPEC 256

enum bk_sched_kind {
    BK_SCHED_UNKNOWN = 0, /* not enough history yet: no slots */
    BK_SCHED_IRREGULAR,   /* no slots; only stale applies */
    BK_SCHED_DAILY,
    BK_SCHED_MULTI, /* several times a day (nwin windows) */
    BK_SCHED_WEEKLY,
    BK_SCHED_MONTHLY,
    BK_SCHED_EVERY, /* configured "every = 12h" */
    BK_SCHED_CRON,  /* configured cron expression */
};

enum bk_sched_origin { BK_SCHED_LEARNED = 0, BK_SCHED_CONFIGURED, BK_SCHED_POLICY };

struct bk_cron {
    uint64_t minutes; /* bit 0-59 */
    uint32_t hours;   /* bit 0-23 */
    uint32_t mdays;   /* bit 1-31 */
    uint16_t months;  /* bit 1-12 */
    uint8_t wdays;    /* bit 0-6, 0 = Sunday */
    bool mday_any, wday_any;
};

/* A time-of-day window, in minutes from local midnight of the backup day (start may exceed
 * 1439: a window at 00:30 of a night whose day starts at noon has start 1470). */
struct bk_window {
    int16_t start_min, len_min, lead_min;
};

struct bk_schedule {
    enum bk_sched_kind kind;
    enum bk_sched_origin origin;
    uint8_t wdays;  /* DAILY/MULTI/WEEKLY: bit 0-6, 0 = Sunday */
    uint32_t mdays; /* MONTHLY: bit 1-31, bit 0 = last day of the month */
    uint8_t nwin;
    struct bk_window win[BK_SCHED_MAX_WINDOWS];
    int64_t every_s;       /* EVERY */
    int16_t day_start_min; /* EVERY: periods start at local midnight + this (a backup night
                            * from 12:00 to 12:00 keeps 23:50 and 00:10 in one period);
                            * learned: the pivot, i.e. where the job's quiet time is */
    struct bk_cron cron;   /* CRON */
    int16_t cron_lead_min;
    char spec[64]; /* CRON/EVERY: the configured text (truncated), for bk_sched_describe */
    int64_t grace_s;
    int confidence; /* 0-100 */
    int evidence;   /* active days seen (learned) */
    int per_day;    /* typical runs per active day (learned) */
};

/* ---- parsing (configured schedules) ------------------------------------------------ */

/* "30m", "12h", "1d", "1w", "1h30m" (units s m h d w, no unit only for "0"), at most 366d.
 * 0 or -BK_EINVAL with a one-line error naming the column. */
int bk_sched_parse_duration(const char *s, int64_t *out_s, struct bk_err *err);
/* 5-field cron "min hour mday month wday": '*', lists, ranges, steps ("a-b/n"; "/n" on a star),
 * names JAN-DEC and SUN-SAT (MON-SUN, 7 = Sunday), @hourly/@daily/@weekly/@monthly; mday and
 * wday both restricted means either (as in cron). */
int bk_sched_parse_cron(const char *s, struct bk_cron *out, struct bk_err *err);
/* A configured schedule: a cron expression (5 fields or @name) or a duration ("every").
 * grace_s < 0 = BK_SCHED_DEFAULT_GRACE_S. Fills *out (origin CONFIGURED). */
int bk_sched_parse(const char *spec, int64_t grace_s, struct bk_schedule *out, struct bk_err *err);
/* Human text ("daily 22:00-22:40", "weekly Sun 03:00", "every 12h", "cron 0 2 * * *",
 * "irregular"), for the job page and the API. Always NUL-terminates. */
void bk_sched_describe(const struct bk_schedule *s, char *out, size_t outsz);
const char *bk_sched_kind_name(enum bk_sched_kind k);

/* ---- learning ------------------------------------------------------------------------ */

struct bk_learn_in {
    const int64_t *runs_ms; /* run start times, UTC epoch ms, ascending; borrowed */
    size_t nruns;
    const char *bar;      /* Cove D09F08 digits (last = most recent UTC day) or NULL */
    int64_t bar_as_of_ms; /* the poll that read the bar */
    const struct bk_tz *tz;
    int64_t now_ms;
};

/* Learns the expected schedule; never fails (UNKNOWN when there is too little). */
void bk_sched_learn(const struct bk_learn_in *in, struct bk_schedule *out);

/* A vendor policy's RPO (HYCU) as an input of learning. The policy says how often the
 * vendor means to back the entity up; the history says when it really does. The history
 * wins while it is at least as strict (its longest quiet time, bk_sched_period_s, is within
 * the RPO): it has the job's real times of day. When it gives no schedule (unknown,
 * irregular: a first poll, a new VM) or a looser one (a VM backed up weekly under a 24 h
 * policy), the job is held to "every RPO" (periods from the learned day boundary, default
 * grace): a backup the policy promised and that did not happen is Missed. Returns true and
 * fills *out (kind EVERY, origin BK_SCHED_POLICY) when the policy wins; false leaves *out
 * alone. rpo_s outside [60 s, 366 d] never wins. */
bool bk_sched_policy(const struct bk_schedule *learned, int64_t rpo_s, const char *kind,
                     struct bk_schedule *out);

/* The runs (start times, ascending) plus, for each active colour-bar day without a run, a
 * stand-in run at the latest run's UTC time of day (noon without runs, never after the bar's
 * as-of time): what bk_sched_check needs for a Cove device known only from its bar. Writes
 * at most cap times, ascending; returns how many. */
size_t bk_sched_merge_bar(const int64_t *runs_ms, size_t nruns, const char *bar,
                          int64_t bar_as_of_ms, int64_t *out, size_t cap);

/* ---- slots --------------------------------------------------------------------------- */

enum bk_slot_state { BK_SLOT_EXPECTED = 0, BK_SLOT_RAN, BK_SLOT_MISSED };

struct bk_slot {
    int64_t start_ms; /* the expected start: identifies the slot (one Missed per slot) */
    int64_t open_ms;  /* a run starting in [open_ms, close_ms) counts for it */
    int64_t close_ms;
    int64_t due_ms; /* no run by then: missed (>= close_ms: runs are seen after they start) */
    int32_t run;    /* index of the run that satisfied it, -1 */
    enum bk_slot_state state;
};

/* The slots whose start is in [from_ms, to_ms), in time order, at most cap. Returns how many
 * were written; when it equals cap there may be more (continue from the last start + 1). */
size_t bk_sched_slots(const struct bk_schedule *s, const struct bk_tz *tz, int64_t from_ms,
                      int64_t to_ms, struct bk_slot *out, size_t cap);
/* bk_sched_slots, then each slot's state given the runs (start times, ascending) and now. */
size_t bk_sched_check(const struct bk_schedule *s, const struct bk_tz *tz, const int64_t *runs_ms,
                      size_t nruns, int64_t from_ms, int64_t to_ms, int64_t now_ms,
                      struct bk_slot *out, size_t cap);

/* ---- durations ----------------------------------------------------------------------- */

struct bk_dur_opts {
    double factor;        /* <= 1: 3 */
    int64_t min_delta_ms; /* <= 0: 5 min */
    size_t min_samples;   /* 0: 5 */
};

/* 1 and a reason ("ran 4 min, usually 2 h") when duration_ms is anomalous against the past
 * durations (ms, any order, at most the last 1024 are used), else 0 and reason "". */
int bk_sched_duration_anomaly(const int64_t *hist_ms, size_t n, int64_t duration_ms,
                              const struct bk_dur_opts *o, char *reason, size_t rsz);
/* "45 s", "4 min", "2 h", "1 h 30 min", "3 d". */
void bk_sched_format_duration(int64_t ms, char *out, size_t outsz);

/* ---- stale and never ran ------------------------------------------------------------ */

enum bk_fresh {
    BK_FRESH_OK = 0,
    BK_FRESH_OLD,       /* last run older than warn: warning */
    BK_FRESH_STALE,     /* last run older than crit: critical, never green */
    BK_FRESH_NEVER_NEW, /* never ran, first seen less than crit ago: warning */
    BK_FRESH_NEVER_OLD, /* never ran, known for longer than crit: critical */
};

struct bk_stale_opts {
    int64_t warn_ms, crit_ms;
};

/* The longest expected quiet time between two runs, in seconds: from the schedule when it
 * has slots (daily 1 d, weekly the widest gap between its weekdays, monthly 31 d, several a
 * day the widest gap between windows, every D, cron 1 d or more), else by job kind
 * ("workstation" 3 d; anything else, servers and M365 tenants included, 1 d). s may be NULL. */
int64_t bk_sched_period_s(const struct bk_schedule *s, const char *kind);
/* Thresholds from the period P: warn = P + 2 h, crit = 2 P + 2 h (daily: 26 h / 50 h, what
 * `check` has always used). */
void bk_sched_stale_defaults(const struct bk_schedule *s, const char *kind,
                             struct bk_stale_opts *out);
/* last_run_ms / first_seen_ms 0 = none. */
enum bk_fresh bk_sched_freshness(int64_t last_run_ms, int64_t first_seen_ms, int64_t now_ms,
                                 const struct bk_stale_opts *o);

/* ---- offline workstations ------------------------------------------------------------ */

enum bk_offline_level { BK_OFFLINE_OK = 0, BK_OFFLINE_WARNING, BK_OFFLINE_ERROR, BK_OFFLINE_NEVER };

struct bk_offline {
    enum bk_offline_level level;
    int days;      /* whole days since the last active day (-1 never) */
    bool at_least; /* the bar holds no active day: days is a lower bound */
    char reason[96];
};

/* bar/bar_as_of_ms as in bk_learn_in (NULL/0 if none); last_session_ms 0 = none. Days are
 * UTC days, as the colour bar's. warn_days/error_days <= 0: 3 / 7. */
void bk_sched_offline(const char *bar, int64_t bar_as_of_ms, int64_t last_session_ms,
                      int64_t now_ms, int warn_days, int error_days, struct bk_offline *out);

#endif

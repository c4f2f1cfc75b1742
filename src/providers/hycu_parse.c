/* HYCU reply parsers. Everything here is pure: bytes in, structs out. The tolerance rules
 * come from reference/hycu-api-and-visual-tom.md A.3: entities is "always an array" on 5.2,
 * but newer controllers may answer a bare object, and run-now endpoints answer job uuids as
 * strings. */
#include "providers/hycu_parse.h"

#include "json/jsonu.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *word;
    enum hycu_state state;
} state_table[] = {
    {"QUEUED", HYCU_QUEUED}, {"EXECUTING", HYCU_EXECUTING}, {"ABORTING", HYCU_ABORTING},
    {"OK", HYCU_OK},         {"WARNING", HYCU_WARNING},     {"ERROR", HYCU_ERROR},
    {"FATAL", HYCU_FATAL},   {"ABORTED", HYCU_ABORTED},     {"UNDEFINED", HYCU_UNDEFINED},
};

static const char *const kind_names[HYCU_KIND_COUNT] = {
    [HYCU_VM] = "vm", [HYCU_APP] = "app",       [HYCU_SHARE] = "share",
    [HYCU_VG] = "vg", [HYCU_POLICY] = "policy",
};

enum hycu_state hycu_state_parse(const char *word)
{
    if (!word)
        return HYCU_UNMAPPED;
    for (size_t i = 0; i < sizeof state_table / sizeof state_table[0]; i++)
        if (strcmp(word, state_table[i].word) == 0)
            return state_table[i].state;
    return HYCU_UNMAPPED;
}

/* Verbs that make a job something other than a backup, even when the word also says BACKUP
 * ("BACKUP_COPY", "RESTORE_FROM_BACKUP", "EXPIRE_BACKUP", "BACKUP_VALIDATION"). */
static const char *const other_words[] = {
    "RESTORE",     "ARCHIVE",   "ARCHIVING", "EXPIRE",      "EXPIRY",    "EXPIRATION",   "DELETE",
    "DELETION",    "MOUNT",     "VALIDATE",  "VALIDATION",  "VERIFY",    "VERIFICATION", "CLONE",
    "MIGRATE",     "MIGRATION", "REPLICATE", "REPLICATION", "DISCOVERY", "DISCOVER",     "IMPORT",
    "EXPORT",      "CLEANUP",   "PURGE",     "RECOVERY",    "RECOVER",   "UPGRADE",      "UPDATE",
    "MAINTENANCE", "REPORT",    "COPY",      "SYNC",
};

static bool is_sep(char c)
{
    return c == ' ' || c == '-' || c == '_' || c == '.' || c == '/';
}

/* needle (upper case) inside s[0..n) ignoring case. */
static bool has_ci(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(s + i, needle, k) == 0)
            return true;
    return false;
}

enum hycu_job_type hycu_job_type_parse(const char *word)
{
    if (!word || !*word)
        return HYCU_JOB_BACKUP;
    bool backup = false, other = false;
    const char *p = word;
    while (*p) {
        while (*p && is_sep(*p))
            p++;
        const char *tok = p;
        while (*p && !is_sep(*p))
            p++;
        size_t n = (size_t)(p - tok);
        if (n == 0)
            continue;
        /* Substrings, for camelCase words ("vmBackup", "RestoreVm"); the four-letter verbs
         * only as whole tokens ("ASYNC" is no "SYNC"). */
        if (has_ci(tok, n, "BACKUP"))
            backup = true;
        for (size_t i = 0; i < sizeof other_words / sizeof other_words[0]; i++) {
            size_t k = strlen(other_words[i]);
            if (k < 5 ? (n == k && strncasecmp(tok, other_words[i], k) == 0)
                      : has_ci(tok, n, other_words[i]))
                other = true;
        }
    }
    if (other)
        return HYCU_JOB_OTHER;
    return backup ? HYCU_JOB_BACKUP : HYCU_JOB_UNKNOWN;
}

enum bk_run_status hycu_state_status(enum hycu_state s)
{
    switch (s) {
    case HYCU_OK:
        return BK_RUN_SUCCESS;
    case HYCU_WARNING:
        return BK_RUN_WARNING;
    case HYCU_ERROR:
    case HYCU_FATAL:
    case HYCU_ABORTED:
        return BK_RUN_FAILED;
    case HYCU_QUEUED:
    case HYCU_EXECUTING:
    case HYCU_ABORTING:
        return BK_RUN_RUNNING;
    default:
        return BK_RUN_UNKNOWN;
    }
}

bool hycu_job_is_final(const struct hycu_job *j)
{
    switch (j->state) {
    case HYCU_OK:
    case HYCU_WARNING:
    case HYCU_ERROR:
    case HYCU_FATAL:
    case HYCU_ABORTED:
    case HYCU_UNDEFINED:
        return true;
    case HYCU_UNMAPPED:
        return j->end_ms > 0;
    default:
        return false;
    }
}

const char *hycu_kind_name(enum hycu_kind k)
{
    return (unsigned)k < HYCU_KIND_COUNT ? kind_names[k] : "?";
}

int hycu_kind_parse(const char *s, enum hycu_kind *out)
{
    for (unsigned i = 0; i < HYCU_KIND_COUNT; i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (enum hycu_kind)i;
            return 0;
        }
    return -BK_EINVAL;
}

void hycu_strlist_push(struct hycu_strlist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = xstrdup(s);
}

void hycu_strlist_free(struct hycu_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

int hycu_parse_page(const char *body, size_t len, struct hycu_page *out, struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    out->total = -1;
    json_t *root = jsonu_parse(body, len, err);
    if (!root)
        return -BK_EPROTO;
    out->root = root;
    if (!json_is_object(root) && !json_is_array(root)) {
        hycu_page_free(out);
        return bk_err_set(err, BK_EPROTO, "reply is neither a JSON object nor an array");
    }
    if (json_is_array(root)) {
        out->entities = json_incref(root);
        return 0;
    }
    json_t *ents = json_object_get(root, "entities");
    if (json_is_array(ents)) {
        out->entities = json_incref(ents);
    } else if (ents == NULL || json_is_null(ents)) {
        /* A bare object (no envelope) is itself the entity; an envelope without entities
         * (it has metadata or message) is an empty list. */
        out->entities = json_array();
        if (!json_object_get(root, "metadata") && !json_object_get(root, "message"))
            json_array_append(out->entities, root);
    } else if (json_is_object(ents) || json_is_string(ents)) {
        out->entities = json_array();
        json_array_append(out->entities, ents);
    } else {
        hycu_page_free(out);
        return bk_err_set(err, BK_EPROTO, "\"entities\" has an unexpected type");
    }
    json_t *meta = json_object_get(root, "metadata");
    int64_t total;
    if (jsonu_i64(meta, "totalEntityCount", &total) && total >= 0)
        out->total = total;
    json_t *msg = json_object_get(root, "message");
    out->message = jsonu_str(msg, "titleDescriptionEn");
    return 0;
}

void hycu_page_free(struct hycu_page *p)
{
    if (!p)
        return;
    json_decref(p->entities);
    json_decref(p->root);
    memset(p, 0, sizeof *p);
}

char *hycu_parse_error_text(const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!root)
        return NULL;
    char *out = NULL;
    json_t *msg = json_object_get(root, "message");
    const char *t = jsonu_str(msg, "titleDescriptionEn");
    const char *d = jsonu_str(msg, "detailsDescriptionEn");
    if (!t)
        t = jsonu_str(root, "error");
    if (!t && json_is_string(msg))
        t = json_string_value(msg);
    if (t && d && *d)
        out = xasprintf("%s: %s", t, d);
    else if (t)
        out = xstrdup(t);
    json_decref(root);
    if (out && strlen(out) > 300)
        out[300] = '\0';
    return out;
}

void hycu_entity_clear(struct hycu_entity *e)
{
    if (!e)
        return;
    free(e->uuid);
    free(e->name);
    free(e->policy_uuid);
    memset(e, 0, sizeof *e);
}

int hycu_parse_entity(const json_t *obj, enum hycu_kind kind, struct hycu_entity *out,
                      struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    const char *uuid = jsonu_str(obj, "uuid");
    const char *name = jsonu_str(obj, kind == HYCU_VM ? "vmName" : "name");
    if (!name)
        name = jsonu_str(obj, kind == HYCU_VM ? "name" : "vmName");
    if (!uuid || !*uuid || !name)
        return bk_err_set(err, BK_EPROTO, "%s entity without uuid or name", kind_names[kind]);
    out->kind = kind;
    out->uuid = xstrdup(uuid);
    out->name = xstrdup(name);
    out->policy_uuid = xstrdup_or_null(jsonu_str(obj, "protectionGroupUuid"));
    if (kind == HYCU_POLICY && !hycu_parse_rpo(json_object_get(obj, "rpo"), &out->rpo_s))
        out->rpo_s = 0;
    return 0;
}

void hycu_entity_list_push(struct hycu_entity_list *l, struct hycu_entity *e)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = *e;
    memset(e, 0, sizeof *e);
}

void hycu_entity_list_free(struct hycu_entity_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        hycu_entity_clear(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void hycu_job_clear(struct hycu_job *j)
{
    if (!j)
        return;
    free(j->uuid);
    free(j->task_name);
    free(j->raw_status);
    free(j->message);
    free(j->details);
    free(j->type);
    for (size_t i = 0; i < j->n_entity_ids; i++)
        free(j->entity_ids[i]);
    free(j->entity_ids);
    memset(j, 0, sizeof *j);
    j->pct = -1;
}

static void add_entity_id(struct hycu_job *j, const char *s)
{
    if (!s || !*s || j->n_entity_ids >= 64)
        return;
    j->entity_ids = xrealloc(j->entity_ids, (j->n_entity_ids + 1) * sizeof *j->entity_ids);
    j->entity_ids[j->n_entity_ids++] = xstrdup(s);
}

/* entityMap's shape is undocumented: accept {uuid: name}, {KIND: uuid}, {KIND: [uuid|{uuid}]}
 * and [{uuid}] — every uuid-looking string found is a candidate. */
static void collect_entity_ids(struct hycu_job *j, const json_t *m, int depth)
{
    if (!m || depth > 3)
        return;
    if (json_is_string(m)) {
        add_entity_id(j, json_string_value(m));
    } else if (json_is_array(m)) {
        size_t i;
        json_t *v;
        json_array_foreach(m, i, v) collect_entity_ids(j, v, depth + 1);
    } else if (json_is_object(m)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)m, k, v)
        {
            if (depth == 0)
                add_entity_id(j, k);
            collect_entity_ids(j, v, depth + 1);
        }
    }
}

int hycu_parse_job(const json_t *obj, struct hycu_job *out, struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    out->pct = -1;
    if (!json_is_object(obj))
        return bk_err_set(err, BK_EPROTO, "job entity is not an object");
    const char *uuid = jsonu_str(obj, "uuid");
    const char *status = jsonu_str(obj, "status");
    if (!uuid || !*uuid)
        return bk_err_set(err, BK_EPROTO, "job without uuid");
    if (!status || !*status)
        return bk_err_set(err, BK_EPROTO, "job %s without status", uuid);
    out->uuid = xstrdup(uuid);
    out->raw_status = xstrdup(status);
    out->state = hycu_state_parse(status);
    out->task_name = xstrdup_or_null(jsonu_str(obj, "taskName"));
    out->type = xstrdup_or_null(jsonu_str(obj, "type"));
    double pct;
    if (jsonu_num(obj, "completitionPct", &pct) && pct >= 0) {
        /* A 0..1 fraction on 5.2; tolerate a controller that sends percent. Only "1" is
         * ambiguous: the job's status decides (see hycu_parse.h). */
        bool done = out->state == HYCU_OK || out->state == HYCU_WARNING;
        if (pct < 1.0)
            out->pct = pct * 100.0;
        else if (pct == 1.0)
            out->pct = done ? 100.0 : 1.0;
        else
            out->pct = pct <= 100.0 ? pct : 100.0;
    }
    int64_t t;
    if (jsonu_time_ms(obj, "startTime", &t))
        out->start_ms = t;
    if (jsonu_time_ms(obj, "finishTime", &t))
        out->end_ms = t;
    json_t *m = json_object_get(obj, "taskExitMessage");
    const char *title = jsonu_str(m, "titleDescriptionEn");
    const char *details = jsonu_str(m, "detailsDescriptionEn");
    if (title && *title)
        out->message = xstrdup(title);
    if (details && *details)
        out->details = xstrdup(details);
    collect_entity_ids(out, json_object_get(obj, "entityMap"), 0);
    collect_entity_ids(out, json_object_get(obj, "richEntityMap"), 0);
    return 0;
}

int hycu_parse_trigger(const char *body, size_t len, struct hycu_strlist *ids, struct bk_err *err)
{
    struct hycu_page pg;
    int rc = hycu_parse_page(body, len, &pg, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(pg.entities, i, v)
    {
        const char *id = NULL;
        if (json_is_string(v))
            id = json_string_value(v);
        else if (json_is_object(v)) {
            id = jsonu_str(v, "jobUuid");
            if (!id)
                id = jsonu_str(v, "uuid");
        }
        if (id && *id && strlen(id) < 128)
            hycu_strlist_push(ids, id);
    }
    hycu_page_free(&pg);
    if (ids->n == 0)
        return bk_err_set(err, BK_EPROTO, "run-now reply carries no job uuid");
    return 0;
}

int hycu_v1_parse_trigger(const char *body, size_t len, char **job_id, struct bk_err *err)
{
    *job_id = NULL;
    json_t *root = jsonu_parse(body, len, err);
    if (!root)
        return -BK_EPROTO;
    int rc = 0;
    const char *id = jsonu_str(root, "job_id");
    int64_t n;
    if (id && *id)
        *job_id = xstrdup(id);
    else if (jsonu_i64(root, "job_id", &n))
        *job_id = xasprintf("%lld", (long long)n);
    else
        rc = bk_err_set(err, BK_EPROTO, "trigger reply has no job_id");
    json_decref(root);
    return rc;
}

static char *details_text(const json_t *d)
{
    if (!json_is_object(d) || json_object_size(d) == 0)
        return NULL;
    struct bk_buf b;
    bk_buf_init(&b, 4096);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)d, k, v)
    {
        char *val = json_is_string(v) ? xstrdup(json_string_value(v)) : jsonu_dump(v);
        if (bk_buf_printf(&b, "%s%s: %s", b.len ? "\n" : "", k, val ? val : "") < 0) {
            free(val);
            break;
        }
        free(val);
    }
    return bk_buf_steal(&b);
}

int hycu_v1_parse_status(const char *body, size_t len, const char *job_id, struct hycu_job *out,
                         struct bk_err *err)
{
    memset(out, 0, sizeof *out);
    out->pct = -1;
    json_t *root = jsonu_parse(body, len, err);
    if (!root)
        return -BK_EPROTO;
    const char *status = jsonu_str(root, "status");
    if (!json_is_object(root) || !status || !*status) {
        json_decref(root);
        return bk_err_set(err, BK_EPROTO, "status reply has no \"status\"");
    }
    out->uuid = xstrdup(jsonu_str(root, "job_id") ? jsonu_str(root, "job_id") : job_id);
    out->raw_status = xstrdup(status);
    /* The original script: completed|failed|cancelled are final, every other word is
     * "still running". */
    if (strcmp(status, "completed") == 0)
        out->state = HYCU_OK;
    else if (strcmp(status, "failed") == 0)
        out->state = HYCU_ERROR;
    else if (strcmp(status, "cancelled") == 0)
        out->state = HYCU_ABORTED;
    else
        out->state = HYCU_EXECUTING;
    double pct;
    if (jsonu_num(root, "progress", &pct) && pct >= 0)
        out->pct = pct > 100 ? 100 : pct;
    int64_t t;
    if (jsonu_time_ms(root, "start_time", &t))
        out->start_ms = t;
    if (jsonu_time_ms(root, "end_time", &t))
        out->end_ms = t;
    const char *em = jsonu_str(root, "error_message");
    if (em && *em)
        out->message = xstrdup(em);
    out->details = details_text(json_object_get(root, "details"));
    json_decref(root);
    return 0;
}

/* ---- policy RPO ---------------------------------------------------------------------- */

#define RPO_MIN_S 60
#define RPO_MAX_S (366LL * 86400)

static bool rpo_ok(double s, int64_t *out)
{
    if (!(s >= RPO_MIN_S && s <= (double)RPO_MAX_S))
        return false;
    *out = (int64_t)(s + 0.5);
    return true;
}

/* A bare number: milliseconds, seconds or hours by magnitude (see the header). */
static bool rpo_number(double n, int64_t *out)
{
    if (n >= 900000)
        return rpo_ok(n / 1000, out);
    if (n >= 900)
        return rpo_ok(n, out);
    return rpo_ok(n * 3600, out);
}

/* Seconds per unit word ("h", "hours", "HOURS", "Minute", "ms"), 0 when not one. */
static double unit_seconds(const char *u, size_t n)
{
    static const struct {
        const char *w;
        double s;
    } units[] = {
        {"ms", 0.001},
        {"millis", 0.001},
        {"millisecond", 0.001},
        {"milliseconds", 0.001},
        {"s", 1},
        {"sec", 1},
        {"secs", 1},
        {"second", 1},
        {"seconds", 1},
        {"m", 60},
        {"min", 60},
        {"mins", 60},
        {"minute", 60},
        {"minutes", 60},
        {"h", 3600},
        {"hr", 3600},
        {"hrs", 3600},
        {"hour", 3600},
        {"hours", 3600},
        {"d", 86400},
        {"day", 86400},
        {"days", 86400},
        {"w", 604800},
        {"week", 604800},
        {"weeks", 604800},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].w) == n && strncasecmp(u, units[i].w, n) == 0)
            return units[i].s;
    return 0;
}

/* ISO 8601 "PnW", "PnDTnHnMnS" (case-insensitive, integer or decimal amounts). */
static bool rpo_iso(const char *s, double *out)
{
    if (*s != 'P' && *s != 'p')
        return false;
    s++;
    bool time = false, any = false;
    double total = 0;
    while (*s) {
        if (*s == 'T' || *s == 't') {
            if (time)
                return false;
            time = true;
            s++;
            continue;
        }
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0 || !*end)
            return false;
        char u = (char)(*end | 0x20);
        double mul = u == 'w' && !time   ? 604800
                     : u == 'd' && !time ? 86400
                     : u == 'h' && time  ? 3600
                     : u == 'm' && time  ? 60
                     : u == 's' && time  ? 1
                                         : 0;
        if (mul == 0)
            return false;
        total += v * mul;
        any = true;
        s = end + 1;
    }
    *out = total;
    return any;
}

/* "24", "4h", "1h30m", "4 hours", "PT4H". */
static bool rpo_text(const char *s, int64_t *out)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        n--;
    if (n == 0 || n > 64)
        return false;
    char buf[65];
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v;
    if (rpo_iso(buf, &v))
        return rpo_ok(v, out);
    char *end;
    v = strtod(buf, &end);
    if (end == buf || v < 0)
        return false;
    if (!*end)
        return rpo_number(v, out);
    /* amount-unit pairs: "1h30m", "4 hours", "1 day 12 hours" */
    double total = 0;
    const char *p = buf;
    while (*p) {
        v = strtod(p, &end);
        if (end == p || v < 0)
            return false;
        p = end;
        while (*p == ' ')
            p++;
        size_t k = 0;
        while ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= 'A' && p[k] <= 'Z'))
            k++;
        double mul = unit_seconds(p, k);
        if (mul == 0)
            return false;
        total += v * mul;
        p += k;
        while (*p == ' ' || *p == ',')
            p++;
    }
    return rpo_ok(total, out);
}

bool hycu_parse_rpo(const json_t *v, int64_t *out_s)
{
    int64_t s = 0;
    bool ok = false;
    if (json_is_number(v))
        ok = rpo_number(json_number_value(v), &s);
    else if (json_is_string(v))
        ok = rpo_text(json_string_value(v), &s);
    else if (json_is_object(v)) {
        static const char *const value_keys[] = {"value", "amount", "duration", "rpo", "count"};
        static const char *const unit_keys[] = {"unit", "timeUnit", "units", "unitType"};
        const json_t *val = NULL;
        const char *unit = NULL;
        for (size_t i = 0; i < sizeof value_keys / sizeof value_keys[0] && !val; i++)
            val = json_object_get(v, value_keys[i]);
        for (size_t i = 0; i < sizeof unit_keys / sizeof unit_keys[0] && !unit; i++)
            unit = jsonu_str(v, unit_keys[i]);
        double n = 0;
        bool have = false;
        if (json_is_number(val)) {
            n = json_number_value(val);
            have = true;
        } else if (json_is_string(val)) {
            char *end;
            const char *t = json_string_value(val);
            n = strtod(t, &end);
            have = end != t && !*end;
        }
        if (have && n >= 0 && unit) {
            double mul = unit_seconds(unit, strlen(unit));
            ok = mul > 0 && rpo_ok(n * mul, &s);
        } else if (have && n >= 0)
            ok = rpo_number(n, &s);
        else if (json_is_string(val))
            ok = rpo_text(json_string_value(val), &s);
    }
    if (ok)
        *out_s = s;
    return ok;
}

/* hycu-sim: a local stand-in for a HYCU backup controller, for tests, demos and benchmarks.
 *
 * It serves two dialects from one deterministic state: the real REST API under /rest/v1.0
 * (envelope, pagination, run-now schedules, jobs) and the Absyss script's invented contract under
 * /api/v1/backups. Jobs advance one step per status read rather than by wall-clock time, so a test
 * controls exactly how many polls a backup takes (see the scenario file in the usage text).
 * Server plumbing (TLS, faults, request log, signals) lives in simcore.c. */
#include "simcore.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/str.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define REST_PREFIX "/rest/v1.0"
#define V1_PREFIX "/api/v1/backups"
#define NONE SIZE_MAX
#define MAX_DEVICES 1000000

enum ent_type { ET_VM, ET_APP, ET_SHARE, ET_VG, ET_POLICY, ET_COUNT };

static const char *const type_words[ET_COUNT] = {"vm", "app", "share", "vg", "policy"};
static const char *const type_labels[ET_COUNT] = {"VM", "App", "Share", "Volume group", "Policy"};

/* How a job of an entity ends: outcome NULL means "use the scenario default". */
struct script {
    char *outcome;
    int64_t polls;
    char *message;
    bool running;
};

struct entity {
    enum ent_type type;
    char *uuid;
    char *name;
    char *customer;
    size_t policy; /* index into ents, or NONE */
    size_t vm;     /* apps: the VM they run on, or NONE */
    bool scripted;
    struct script script;
    int64_t counts[ET_COUNT]; /* policies: members per type */
    int64_t rpo_s;            /* policies: the RPO (default 24 h) */
};

struct job {
    char uuid[37];
    size_t entity; /* or NONE (v1 job for a name the inventory does not know) */
    char *name;    /* entity name or the v1 backup name */
    char *task_name;
    char *outcome;
    int64_t polls;
    char *message;
    bool forever; /* stays EXECUTING */
    int64_t reads;
    char *status;
    double pct;
    int64_t created, start, finish;
    bool force_full;
    bool aborted_by_api;
    bool v1;
    const char *type;   /* the "type" word served (from --job-types; static or h-owned) */
    unsigned map_shape; /* enum map_shape */
};

/* entityMap's shape is not in the reference: --entity-map serves each one docs/hycu.md lists. */
enum map_shape {
    MAP_UUID_NAME,
    MAP_KIND_UUID,
    MAP_KIND_LIST,
    MAP_KIND_OBJECTS,
    MAP_LIST,
    MAP_SHAPES,
    MAP_MIXED = MAP_SHAPES
};
static const char *const map_shape_names[] = {"uuid-name",    "kind-uuid", "kind-list",
                                              "kind-objects", "list",      "mixed"};

/* A policy's "rpo": the reference names the field but not its unit or shape, so the sim
 * serves each one a client might meet (--rpo-format; mixed = each policy in turn). */
enum rpo_format { RPO_MS, RPO_S, RPO_HOURS, RPO_ISO, RPO_TEXT, RPO_OBJECT, RPO_FORMATS };
#define RPO_MIXED RPO_FORMATS
static const char *const rpo_format_names[] = {"ms",   "s",      "hours", "iso",
                                               "text", "object", "mixed"};

/* The order GET /jobs lists jobs in: as orderBy asks (createdTime, -createdTime; newest first
 * without one), always oldest first (orderBy ignored), or a stable scramble (orderBy ignored). */
enum job_order { ORDER_ASKED, ORDER_OLDEST, ORDER_SHUFFLE };

struct hycu {
    pthread_mutex_t lock;
    uint64_t seed;
    struct entity *ents;
    size_t nents;
    struct job *jobs;
    size_t njobs;
    uint64_t job_counter;
    struct script def;
    char targets[2][37];
    char hypervisor[37];
    char **tokens;
    size_t ntokens;
    char *basic; /* expected base64 of "user:password", or NULL */
    int64_t page_cap;
    bool no_total;
    bool iso;
    char **job_types; /* --job-types: job k gets job_types[k % n_job_types] */
    size_t n_job_types;
    unsigned map_shape; /* enum map_shape */
    enum job_order job_order;
    bool pct_percent;      /* --pct percent: completitionPct 0..100 instead of 0..1 */
    int64_t hide_job;      /* --hide-job K,N: the K-th job (1-based, creation order)… */
    int64_t hide_listings; /* …is left out of this many GET /jobs answers once it exists */
    unsigned rpo_format;   /* enum rpo_format */
    bool no_policies;      /* --no-policies: GET /policies answers 404 (an older controller) */
};

/* ------------------------------------------------------------------------------------------ */
/* deterministic ids and small helpers                                                        */

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* A v4-looking uuid that depends only on (seed, domain, n), so fleets and job ids repeat from run
 * to run and tests can hard-code them. */
static void make_uuid(uint64_t seed, unsigned domain, uint64_t n, char out[37])
{
    uint64_t a = splitmix(splitmix(seed) ^ ((uint64_t)domain << 56) ^ n);
    uint64_t b = splitmix(a ^ 0x5851f42d4c957f2dULL);
    a = (a & ~0xF000ULL) | 0x4000ULL;
    b = (b & ~(0xCULL << 60)) | (0x8ULL << 60);
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             a >> 32, (a >> 16) & 0xFFFF, a & 0xFFFF, b >> 48, b & (uint64_t)0xFFFFFFFFFFFF);
}

static bool is_final(const struct job *j)
{
    return j->finish != 0;
}

static json_t *jtime(const struct hycu *h, int64_t ms)
{
    if (ms == 0)
        return json_null();
    if (!h->iso)
        return json_integer(ms);
    char buf[96];
    struct tm tm;
    time_t secs = (time_t)(ms / 1000);
    gmtime_r(&secs, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
}

static json_t *jiso(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char buf[32];
    bk_iso8601(ms, buf, sizeof(buf));
    return json_string(buf);
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *v1_error(const char *msg)
{
    return dump(json_pack("{ss}", "error", msg));
}

/* ------------------------------------------------------------------------------------------ */
/* envelopes                                                                                  */

static char *envelope(const struct hycu *h, json_t *entities, int64_t grand, int64_t total,
                      int64_t page, int64_t size, const char *msg_type, const char *msg)
{
    json_t *meta = json_object();
    json_t *message = json_pack("{ss}", "type", msg_type);

    if (!h->no_total) {
        json_object_set_new(meta, "grandTotalEntityCount", json_integer(grand));
        json_object_set_new(meta, "totalEntityCount", json_integer(total));
    }
    json_object_set_new(meta, "pageNumber", json_integer(page));
    json_object_set_new(meta, "entityCount", json_integer((json_int_t)json_array_size(entities)));
    json_object_set_new(meta, "pageSize", json_integer(size));
    if (msg != NULL)
        json_object_set_new(message, "titleDescriptionEn", json_string(msg));
    return dump(json_pack("{sssososo}", "version", "v1.0", "entities", entities, "metadata", meta,
                          "message", message));
}

static char *rest_error(const struct hycu *h, const char *msg)
{
    return envelope(h, json_array(), 0, 0, 1, 0, "ERROR", msg);
}

static char *one_entity(const struct hycu *h, json_t *e)
{
    json_t *arr = json_array();
    json_array_append_new(arr, e);
    return envelope(h, arr, 1, 1, 1, 100, "OK", NULL);
}

static char *hycu_error_body(void *ctx, const char *path, unsigned status, const char *message)
{
    if (strncmp(path, "/api/v1/", 8) == 0)
        return v1_error(message);
    return rest_error(ctx, message);
}

/* ------------------------------------------------------------------------------------------ */
/* inventory                                                                                  */

static size_t add_entity(struct hycu *h, enum ent_type t, const char *name, const char *uuid)
{
    h->ents = xrealloc(h->ents, (h->nents + 1) * sizeof(*h->ents));
    struct entity *e = &h->ents[h->nents];
    memset(e, 0, sizeof(*e));
    e->type = t;
    e->name = xstrdup(name);
    if (uuid != NULL) {
        e->uuid = xstrdup(uuid);
    } else {
        e->uuid = xmalloc(37);
        make_uuid(h->seed, 1, h->nents, e->uuid);
    }
    e->policy = NONE;
    e->rpo_s = 86400;
    e->vm = NONE;
    return h->nents++;
}

static size_t find_entity(const struct hycu *h, enum ent_type t, const char *uuid)
{
    for (size_t i = 0; i < h->nents; i++)
        if (h->ents[i].type == t && strcmp(h->ents[i].uuid, uuid) == 0)
            return i;
    return NONE;
}

static size_t find_by_name(const struct hycu *h, int t, const char *name)
{
    for (size_t i = 0; i < h->nents; i++)
        if ((t < 0 || h->ents[i].type == (enum ent_type)t) && strcmp(h->ents[i].name, name) == 0)
            return i;
    return NONE;
}

static json_t *rpo_json(const struct hycu *h, const struct entity *e)
{
    unsigned f = h->rpo_format;
    if (f == RPO_MIXED)
        f = (unsigned)((size_t)(e - h->ents) % RPO_FORMATS);
    int64_t s = e->rpo_s;
    char buf[48];
    switch (f) {
    case RPO_MS:
        return json_integer((json_int_t)(s * 1000));
    case RPO_S:
        return json_integer((json_int_t)s);
    case RPO_HOURS:
        return json_real((double)s / 3600.0);
    case RPO_ISO:
        snprintf(buf, sizeof(buf), "PT%" PRId64 "H%" PRId64 "M", s / 3600, s % 3600 / 60);
        return json_string(buf);
    case RPO_TEXT:
        if (s % 86400 == 0)
            snprintf(buf, sizeof(buf), "%" PRId64 " days", s / 86400);
        else
            snprintf(buf, sizeof(buf), "%" PRId64 " minutes", s / 60);
        return json_string(buf);
    default:
        return s % 3600 == 0
                   ? json_pack("{sIss}", "value", (json_int_t)(s / 3600), "unit", "HOURS")
                   : json_pack("{sIss}", "value", (json_int_t)(s / 60), "unit", "MINUTES");
    }
}

static json_t *entity_json(const struct hycu *h, const struct entity *e)
{
    const char *pg_uuid = e->policy != NONE ? h->ents[e->policy].uuid : NULL;
    const char *pg_name = e->policy != NONE ? h->ents[e->policy].name : NULL;

    switch (e->type) {
    case ET_VM:
        return json_pack("{sssssssosossss}", "uuid", e->uuid, "vmName", e->name, "status",
                         "PROTECTED", "protectionGroupUuid",
                         pg_uuid ? json_string(pg_uuid) : json_null(), "protectionGroupName",
                         pg_name ? json_string(pg_name) : json_null(), "hypervisorUuid",
                         h->hypervisor, "customer", e->customer);
    case ET_APP:
        return json_pack("{sssssssosossss}", "uuid", e->uuid, "name", e->name, "applicationType",
                         "MS_SQL_SERVER", "vmUuid",
                         e->vm != NONE ? json_string(h->ents[e->vm].uuid) : json_null(),
                         "protectionGroupUuid", pg_uuid ? json_string(pg_uuid) : json_null(),
                         "status", "PROTECTED", "customer", e->customer);
    case ET_SHARE:
    case ET_VG:
        return json_pack("{sssssoss}", "uuid", e->uuid, "name", e->name, "protectionGroupUuid",
                         pg_uuid ? json_string(pg_uuid) : json_null(), "customer", e->customer);
    case ET_POLICY:
    case ET_COUNT:
        break;
    }
    return json_pack("{sssssosIsIsIsIss}", "uuid", e->uuid, "name", e->name, "rpo", rpo_json(h, e),
                     "vmsCount", (json_int_t)e->counts[ET_VM], "appsCount",
                     (json_int_t)e->counts[ET_APP], "sharesCount", (json_int_t)e->counts[ET_SHARE],
                     "vgsCount", (json_int_t)e->counts[ET_VG], "customer", e->customer);
}

/* Generated fleet first (so scenario entries never shift generated uuids), then the scenario. */
static void build_fleet(struct hycu *h, int64_t devices)
{
    char name[32];
    int64_t quarter = devices / 4;
    int64_t npol = quarter > 0 ? quarter : 1;

    for (int64_t i = 1; i <= devices; i++) {
        snprintf(name, sizeof(name), "vm-%04" PRId64, i);
        add_entity(h, ET_VM, name, NULL);
    }
    for (int64_t i = 1; i <= quarter; i++) {
        snprintf(name, sizeof(name), "app-%04" PRId64, i);
        add_entity(h, ET_APP, name, NULL);
    }
    for (int64_t i = 1; i <= quarter; i++) {
        snprintf(name, sizeof(name), "share-%04" PRId64, i);
        add_entity(h, ET_SHARE, name, NULL);
    }
    for (int64_t i = 1; i <= quarter; i++) {
        snprintf(name, sizeof(name), "vg-%04" PRId64, i);
        add_entity(h, ET_VG, name, NULL);
    }
    for (int64_t i = 1; i <= npol; i++) {
        snprintf(name, sizeof(name), "policy-%02" PRId64, i);
        add_entity(h, ET_POLICY, name, NULL);
    }
}

/* Round-robin policies, app hosts and customer labels over every entity, generated or not. The
 * policies used are the generated ones; scenario policies get members only through "members". */
static void assign_fleet(struct hycu *h, int64_t customers, size_t first_scenario_policy)
{
    size_t *pols = xcalloc(h->nents + 1, sizeof(*pols));
    size_t *vms = xcalloc(h->nents + 1, sizeof(*vms));
    size_t npol = 0, nvm = 0;
    int64_t seen[ET_COUNT] = {0};
    char label[32];

    for (size_t i = 0; i < h->nents; i++) {
        if (h->ents[i].type == ET_POLICY && i < first_scenario_policy)
            pols[npol++] = i;
        if (h->ents[i].type == ET_VM)
            vms[nvm++] = i;
    }
    for (size_t i = 0; i < h->nents; i++) {
        struct entity *e = &h->ents[i];
        int64_t k = seen[e->type]++;
        snprintf(label, sizeof(label), "customer-%02" PRId64, k % customers + 1);
        e->customer = xstrdup(label);
        if (e->type != ET_POLICY && npol > 0)
            e->policy = pols[(size_t)k % npol];
        if (e->type == ET_APP && nvm > 0)
            e->vm = vms[(size_t)k % nvm];
    }
    free(pols);
    free(vms);
}

static void count_policy_members(struct hycu *h)
{
    for (size_t i = 0; i < h->nents; i++)
        if (h->ents[i].policy != NONE)
            h->ents[h->ents[i].policy].counts[h->ents[i].type]++;
}

/* ------------------------------------------------------------------------------------------ */
/* scenario file                                                                              */

static bool valid_outcome(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* Reads outcome/polls/message/running from o into sc. 0 or -1 with err set. */
static int parse_script(json_t *o, struct script *sc, char *err, size_t errsz, const char *where)
{
    json_t *v;

    if ((v = json_object_get(o, "outcome")) != NULL) {
        if (!json_is_string(v) || !valid_outcome(json_string_value(v))) {
            snprintf(err, errsz, "%s: \"outcome\" must be an upper-case status word", where);
            return -1;
        }
        free(sc->outcome);
        sc->outcome = xstrdup(json_string_value(v));
    }
    if ((v = json_object_get(o, "polls")) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000) {
            snprintf(err, errsz, "%s: \"polls\" must be an integer >= 0", where);
            return -1;
        }
        sc->polls = json_integer_value(v);
    }
    if ((v = json_object_get(o, "message")) != NULL) {
        if (!json_is_string(v)) {
            snprintf(err, errsz, "%s: \"message\" must be a string", where);
            return -1;
        }
        free(sc->message);
        sc->message = xstrdup(json_string_value(v));
    }
    if ((v = json_object_get(o, "running")) != NULL) {
        if (!json_is_boolean(v)) {
            snprintf(err, errsz, "%s: \"running\" must be true or false", where);
            return -1;
        }
        sc->running = json_is_true(v);
    }
    return 0;
}

static int check_keys(json_t *o, const char *const *allowed, char *err, size_t errsz,
                      const char *where)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        bool ok = key[0] == '_' || strcmp(key, "comment") == 0;
        for (size_t i = 0; !ok && allowed[i] != NULL; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            snprintf(err, errsz, "%s: unknown key \"%s\"", where, key);
            return -1;
        }
    }
    return 0;
}

static int load_scenario(struct hycu *h, const char *path, json_t **members_out, char *err,
                         size_t errsz)
{
    static const char *const top_keys[] = {"default", "entities", NULL};
    static const char *const def_keys[] = {"outcome", "polls", "message", NULL};
    static const char *const ent_keys[] = {"type",    "name",    "uuid",    "outcome", "polls",
                                           "message", "running", "members", "rpo",     NULL};
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    json_t *v, *ents;
    char where[64];
    size_t i;
    int rc = -1;

    *members_out = json_array();
    if (doc == NULL) {
        if (jerr.line > 0)
            snprintf(err, errsz, "line %d: %s", jerr.line, jerr.text);
        else
            snprintf(err, errsz, "%s", jerr.text);
        return -1;
    }
    if (!json_is_object(doc)) {
        snprintf(err, errsz, "top level must be an object");
        goto out;
    }
    if (check_keys(doc, top_keys, err, errsz, "top level") != 0)
        goto out;
    if ((v = json_object_get(doc, "default")) != NULL) {
        if (!json_is_object(v) || check_keys(v, def_keys, err, errsz, "default") != 0 ||
            parse_script(v, &h->def, err, errsz, "default") != 0) {
            if (!json_is_object(v))
                snprintf(err, errsz, "\"default\" must be an object");
            goto out;
        }
    }
    ents = json_object_get(doc, "entities");
    if (ents != NULL && !json_is_array(ents)) {
        snprintf(err, errsz, "\"entities\" must be an array");
        goto out;
    }
    json_array_foreach(ents, i, v)
    {
        snprintf(where, sizeof(where), "entities[%zu]", i);
        if (!json_is_object(v)) {
            snprintf(err, errsz, "%s: must be an object", where);
            goto out;
        }
        if (check_keys(v, ent_keys, err, errsz, where) != 0)
            goto out;
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *name = json_string_value(json_object_get(v, "name"));
        json_t *juuid = json_object_get(v, "uuid");
        json_t *members = json_object_get(v, "members");
        int t = -1;
        for (int k = 0; type != NULL && k < ET_COUNT; k++)
            if (strcmp(type, type_words[k]) == 0)
                t = k;
        if (t < 0) {
            snprintf(err, errsz, "%s: \"type\" must be vm, app, share, vg or policy", where);
            goto out;
        }
        if (name == NULL || *name == '\0') {
            snprintf(err, errsz, "%s: \"name\" must be a non-empty string", where);
            goto out;
        }
        if (juuid != NULL && (!json_is_string(juuid) || json_string_length(juuid) == 0)) {
            snprintf(err, errsz, "%s: \"uuid\" must be a non-empty string", where);
            goto out;
        }
        for (size_t k = 0; juuid != NULL && k < h->nents; k++) {
            if (strcmp(h->ents[k].uuid, json_string_value(juuid)) == 0) {
                snprintf(err, errsz, "%s: uuid already used", where);
                goto out;
            }
        }
        if (members != NULL && (t != ET_POLICY || !json_is_array(members))) {
            snprintf(err, errsz, "%s: \"members\" is an array, for policies only", where);
            goto out;
        }
        json_t *rpo = json_object_get(v, "rpo");
        if (rpo != NULL && (t != ET_POLICY || !json_is_integer(rpo) ||
                            json_integer_value(rpo) < 60 || json_integer_value(rpo) > 31622400)) {
            snprintf(err, errsz, "%s: \"rpo\" is seconds (60..31622400), for policies only", where);
            goto out;
        }
        size_t idx = add_entity(h, (enum ent_type)t, name, json_string_value(juuid));
        struct entity *e = &h->ents[idx];
        if (rpo != NULL)
            e->rpo_s = (int64_t)json_integer_value(rpo);
        e->scripted = true;
        e->script.polls = -1; /* unset: the default's */
        if (parse_script(v, &e->script, err, errsz, where) != 0)
            goto out;
        size_t m;
        json_t *mv;
        json_array_foreach(members, m, mv)
        {
            if (!json_is_string(mv)) {
                snprintf(err, errsz, "%s: \"members\" must hold VM names", where);
                goto out;
            }
            json_array_append_new(*members_out,
                                  json_pack("{sIsO}", "policy", (json_int_t)idx, "vm", mv));
        }
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

/* Policy members are resolved after the round-robin so they win; a member that names no VM is
 * created, so a scenario can list "app01" without declaring it separately. */
static void apply_members(struct hycu *h, json_t *members)
{
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m)
    {
        size_t pol = (size_t)json_integer_value(json_object_get(m, "policy"));
        const char *vm = json_string_value(json_object_get(m, "vm"));
        size_t idx = find_by_name(h, ET_VM, vm);
        if (idx == NONE) {
            idx = add_entity(h, ET_VM, vm, NULL);
            h->ents[idx].customer = xstrdup("customer-01");
        }
        for (size_t k = 0; k < h->nents; k++)
            if (h->ents[k].type == ET_VM && strcmp(h->ents[k].name, vm) == 0)
                h->ents[k].policy = pol;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* jobs                                                                                       */

static const char *status_localized(const char *s)
{
    static const char *const map[][2] = {
        {"QUEUED", "Queued"},   {"EXECUTING", "Executing"}, {"OK", "OK"},
        {"WARNING", "Warning"}, {"ERROR", "Error"},         {"FATAL", "Fatal"},
        {"ABORTED", "Aborted"}, {"UNDEFINED", "Undefined"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(s, map[i][0]) == 0)
            return map[i][1];
    return s;
}

static const char *exit_type(const char *s)
{
    if (strcmp(s, "EXECUTING") == 0)
        return "IN_PROGRESS";
    if (strcmp(s, "OK") == 0 || strcmp(s, "WARNING") == 0)
        return s;
    if (strcmp(s, "ERROR") == 0 || strcmp(s, "FATAL") == 0 || strcmp(s, "ABORTED") == 0)
        return "ERROR";
    return "NONE";
}

/* Human text for the job's current state: the scenario message once final, else a default. */
static char *exit_title(const struct job *j)
{
    const char *s = j->status;
    if (is_final(j) && j->message != NULL && !j->aborted_by_api)
        return xstrdup(j->message);
    if (strcmp(s, "QUEUED") == 0)
        return xstrdup("Job queued");
    if (strcmp(s, "EXECUTING") == 0)
        return xstrdup("Job in progress");
    if (strcmp(s, "OK") == 0)
        return xstrdup("Backup completed successfully");
    if (strcmp(s, "WARNING") == 0)
        return xstrdup("Backup completed with warnings");
    if (strcmp(s, "ERROR") == 0)
        return xstrdup("Backup failed");
    if (strcmp(s, "FATAL") == 0)
        return xstrdup("Backup failed with a fatal error");
    if (strcmp(s, "ABORTED") == 0)
        return xstrdup(j->aborted_by_api ? "Job aborted by api" : "Job aborted");
    if (strcmp(s, "UNDEFINED") == 0)
        return xstrdup("Job status undefined");
    return xasprintf("Job finished with status %s", s);
}

static void set_status(struct job *j, const char *s)
{
    free(j->status);
    j->status = xstrdup(s);
}

/* The whole lifecycle is a function of the number of status reads: 0 → QUEUED, k < polls →
 * EXECUTING at k/polls, polls → the scripted outcome (frozen from then on). */
static void job_advance(struct job *j)
{
    if (is_final(j))
        return;
    if (j->forever) {
        set_status(j, j->reads == 0 && j->polls > 0 ? "QUEUED" : "EXECUTING");
        if (j->polls > 0)
            j->pct = j->reads >= j->polls ? 0.99 : (double)j->reads / (double)j->polls;
        else
            j->pct = 0.5;
        return;
    }
    if (j->reads >= j->polls) {
        set_status(j, j->outcome);
        j->finish = bk_now_ms();
        if (strcmp(j->outcome, "OK") == 0 || strcmp(j->outcome, "WARNING") == 0)
            j->pct = 1.0;
        return;
    }
    set_status(j, j->reads == 0 ? "QUEUED" : "EXECUTING");
    j->pct = (double)j->reads / (double)j->polls;
}

static void job_read(struct job *j)
{
    if (is_final(j))
        return;
    j->reads++;
    job_advance(j);
}

/* running: the job is already EXECUTING and never finishes (scenario "running": true). */
static struct job *job_create(struct hycu *h, size_t entity, const char *name, bool v1,
                              bool running)
{
    const struct script *sc = &h->def;
    if (entity != NONE && h->ents[entity].scripted)
        sc = &h->ents[entity].script;

    h->jobs = xrealloc(h->jobs, (h->njobs + 1) * sizeof(*h->jobs));
    struct job *j = &h->jobs[h->njobs++];
    memset(j, 0, sizeof(*j));
    j->type = h->n_job_types ? h->job_types[h->job_counter % h->n_job_types] : "BACKUP";
    j->map_shape =
        h->map_shape == MAP_MIXED ? (unsigned)(h->job_counter % MAP_SHAPES) : h->map_shape;
    make_uuid(h->seed, 2, h->job_counter++, j->uuid);
    j->entity = entity;
    j->name = xstrdup(entity != NONE ? h->ents[entity].name : name);
    j->task_name = entity != NONE
                       ? xasprintf("Backup of %s %s", type_labels[h->ents[entity].type], j->name)
                       : xasprintf("Backup of %s", j->name);
    /* Unset fields of an entity's entry fall back to the scenario default. */
    j->outcome = xstrdup(sc->outcome != NULL ? sc->outcome : h->def.outcome);
    j->polls = sc->polls >= 0 ? sc->polls : h->def.polls;
    const char *msg = sc->message != NULL ? sc->message : h->def.message;
    j->message = msg != NULL ? xstrdup(msg) : NULL;
    j->forever = running || strcmp(j->outcome, "EXECUTING") == 0;
    if (running)
        j->polls = 0;
    j->created = j->start = bk_now_ms();
    j->v1 = v1;
    job_advance(j);
    return j;
}

static struct job *find_job(struct hycu *h, const char *uuid)
{
    for (size_t i = 0; i < h->njobs; i++)
        if (strcmp(h->jobs[i].uuid, uuid) == 0)
            return &h->jobs[i];
    return NULL;
}

static void job_abort(struct job *j)
{
    if (is_final(j))
        return;
    set_status(j, "ABORTED");
    j->aborted_by_api = true;
    j->finish = bk_now_ms();
}

static const char *const kind_keys[ET_COUNT] = {"VM", "APPLICATION", "SHARE", "VOLUME_GROUP",
                                                "POLICY"};

static json_t *entity_map(const struct hycu *h, const struct job *j)
{
    if (j->entity == NONE)
        return j->map_shape == MAP_LIST ? json_array() : json_object();
    const struct entity *e = &h->ents[j->entity];
    const char *k = kind_keys[e->type];
    switch (j->map_shape) {
    case MAP_KIND_UUID:
        return json_pack("{ss}", k, e->uuid);
    case MAP_KIND_LIST:
        return json_pack("{s[s]}", k, e->uuid);
    case MAP_KIND_OBJECTS:
        return json_pack("{s[{ssss}]}", k, "uuid", e->uuid, "name", e->name);
    case MAP_LIST:
        return json_pack("[{ssssss}]", "uuid", e->uuid, "name", e->name, "type", k);
    default:
        return json_pack("{ss}", e->uuid, e->name);
    }
}

static json_t *job_json(const struct hycu *h, const struct job *j, bool ex)
{
    char *title = exit_title(j);
    json_t *o = json_object();

    json_object_set_new(o, "uuid", json_string(j->uuid));
    json_object_set_new(o, "taskName", json_string(j->task_name));
    json_object_set_new(o, "type", json_string(j->type));
    json_object_set_new(o, "status", json_string(j->status));
    json_object_set_new(o, "statusLocalized", json_string(status_localized(j->status)));
    json_object_set_new(o, "completitionPct", json_real(h->pct_percent ? j->pct * 100.0 : j->pct));
    json_object_set_new(o, "startTime", jtime(h, j->start));
    json_object_set_new(o, "finishTime", jtime(h, j->finish));
    json_object_set_new(o, "createdTime", jtime(h, j->created));
    json_object_set_new(o, "forceFull", json_boolean(j->force_full));
    json_object_set_new(o, "abortedBy", j->aborted_by_api ? json_string("api") : json_null());
    json_object_set_new(o, "taskExitMessage",
                        json_pack("{sssssn}", "type", exit_type(j->status), "titleDescriptionEn",
                                  title, "detailsDescriptionEn"));
    if (ex)
        json_object_set_new(o, "entityMap", entity_map(h, j));
    json_object_set_new(o, "parentUuid", json_null());
    json_object_set_new(o, "childJobs", json_array());
    free(title);
    return o;
}

static const char *v1_status(const char *s)
{
    if (strcmp(s, "OK") == 0 || strcmp(s, "WARNING") == 0)
        return "completed";
    if (strcmp(s, "ERROR") == 0 || strcmp(s, "FATAL") == 0)
        return "failed";
    if (strcmp(s, "ABORTED") == 0)
        return "cancelled";
    if (strcmp(s, "QUEUED") == 0 || strcmp(s, "EXECUTING") == 0)
        return "running";
    return NULL;
}

static json_t *v1_status_json(const struct job *j)
{
    const char *st = v1_status(j->status);
    char *lower = xstrdup(j->status);
    json_t *err = json_null();

    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (is_final(j) && strcmp(j->status, "OK") != 0) {
        char *t = exit_title(j);
        if (strcmp(j->status, "WARNING") != 0 || j->message != NULL)
            err = json_string(t);
        free(t);
    }
    json_t *o = json_pack("{sssssIsoso}", "job_id", j->uuid, "status", st ? st : lower, "progress",
                          (json_int_t)(j->pct * 100.0 + 0.5), "start_time", jiso(j->start),
                          "end_time", jiso(j->finish));
    json_object_set_new(o, "error_message", err);
    json_object_set_new(o, "details", json_pack("{ss}", "backup_name", j->name));
    free(lower);
    return o;
}

/* ------------------------------------------------------------------------------------------ */
/* auth                                                                                       */

static bool auth_ok(const struct hycu *h, const struct sim_request *req, bool bearer_only)
{
    const char *a = sim_req_header(req, "Authorization");
    if (a == NULL)
        return false;
    if (strncasecmp(a, "Bearer ", 7) == 0) {
        a += 7;
        while (*a == ' ')
            a++;
        for (size_t i = 0; i < h->ntokens; i++)
            if (strcmp(a, h->tokens[i]) == 0)
                return true;
        return false;
    }
    if (!bearer_only && h->basic != NULL && strncasecmp(a, "Basic ", 6) == 0) {
        a += 6;
        while (*a == ' ')
            a++;
        return strcmp(a, h->basic) == 0;
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* REST dialect                                                                               */

struct page {
    int64_t size;   /* as asked (reported back) */
    int64_t number; /* 1-based */
    int64_t eff;    /* entities actually served per page */
};

static int parse_page(const struct hycu *h, const struct sim_request *req, struct page *pg,
                      char *err, size_t errsz)
{
    const char *s = sim_req_arg(req, "pageSize");
    const char *n = sim_req_arg(req, "pageNumber");

    pg->size = 100;
    pg->number = 1;
    if (s != NULL && (str_to_i64(s, &pg->size) != 0 || pg->size < 1)) {
        snprintf(err, errsz, "Invalid pageSize");
        return -1;
    }
    if (n != NULL && (str_to_i64(n, &pg->number) != 0 || pg->number < 1)) {
        snprintf(err, errsz, "Invalid pageNumber");
        return -1;
    }
    if (pg->size > 1000)
        pg->size = 1000;
    pg->eff = pg->size;
    if (h->page_cap > 0 && pg->eff > h->page_cap)
        pg->eff = h->page_cap;
    return 0;
}

/* "vmName##db" → field "vmName", value "db"; false when absent or another shape. */
static bool parse_filter(const struct sim_request *req, char *field, size_t fsz, const char **value)
{
    const char *f = sim_req_arg(req, "filter");
    const char *sep = f != NULL ? strstr(f, "##") : NULL;
    if (sep == NULL)
        return false;
    snprintf(field, fsz, "%.*s", (int)(sep - f), f);
    *value = sep + 2;
    return true;
}

static const struct {
    const char *path;
    enum ent_type type;
} collections[] = {
    {"vms", ET_VM},          {"applications", ET_APP}, {"shares", ET_SHARE},
    {"volumegroups", ET_VG}, {"policies", ET_POLICY},
};

static const struct {
    const char *path;
    enum ent_type type;
} schedules[] = {
    {"backup", ET_VM},
    {"backupApp", ET_APP},
    {"backupShare", ET_SHARE},
    {"backupVolumeGroup", ET_VG},
};

static void list_entities(struct hycu *h, const struct sim_request *req, enum ent_type t,
                          struct sim_response *resp)
{
    struct page pg;
    char err[64], field[32];
    const char *needle = NULL;
    int64_t grand = 0, total = 0, from, to;
    json_t *arr = json_array();

    if (parse_page(h, req, &pg, err, sizeof(err)) != 0) {
        json_decref(arr);
        sim_resp_set(resp, 400, rest_error(h, err));
        return;
    }
    if (parse_filter(req, field, sizeof(field), &needle) &&
        strcmp(field, t == ET_VM ? "vmName" : "name") != 0)
        needle = NULL; /* other fields: ignored, like most of HYCU's filter grammar here */
    from = (pg.number - 1) * pg.eff;
    to = from + pg.eff;
    for (size_t i = 0; i < h->nents; i++) {
        const struct entity *e = &h->ents[i];
        if (e->type != t)
            continue;
        grand++;
        if (needle != NULL && strstr(e->name, needle) == NULL)
            continue;
        if (total >= from && total < to)
            json_array_append_new(arr, entity_json(h, e));
        total++;
    }
    sim_resp_set(resp, 200, envelope(h, arr, grand, total, pg.number, pg.size, "OK", NULL));
}

static void list_targets(struct hycu *h, const struct sim_request *req, const char *uuid,
                         struct sim_response *resp)
{
    static const char *const names[2] = {"target-nfs", "target-s3"};
    static const char *const types[2] = {"NFS", "S3"};
    json_t *arr = json_array();
    for (int i = 0; i < 2; i++) {
        if (uuid != NULL && strcmp(uuid, h->targets[i]) != 0)
            continue;
        json_array_append_new(arr, json_pack("{sssssssssIsI}", "uuid", h->targets[i], "name",
                                             names[i], "type", types[i], "health", "GREEN",
                                             "totalSizeInBytes", (json_int_t)1 << 42,
                                             "freeSizeInBytes", (json_int_t)1 << 41));
    }
    if (uuid != NULL && json_array_size(arr) == 0) {
        json_decref(arr);
        sim_resp_set(resp, 404, rest_error(h, "Target not found"));
        return;
    }
    size_t n = json_array_size(arr);
    sim_resp_set(resp, 200, envelope(h, arr, (int64_t)n, (int64_t)n, 1, 100, "OK", NULL));
}

static int cmp_job_newest(const void *a, const void *b)
{
    const struct job *x = *(const struct job *const *)a, *y = *(const struct job *const *)b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return x > y ? -1 : (x < y ? 1 : 0); /* array order is creation order */
}

static int cmp_job_oldest(const void *a, const void *b)
{
    return -cmp_job_newest(a, b);
}

static uint64_t job_scramble(const struct job *j)
{
    uint64_t x = 0;
    for (const char *p = j->uuid; *p; p++)
        x = x * 131 + (unsigned char)*p;
    return splitmix(x);
}

static int cmp_job_scrambled(const void *a, const void *b)
{
    uint64_t x = job_scramble(*(const struct job *const *)a);
    uint64_t y = job_scramble(*(const struct job *const *)b);
    return x < y ? -1 : (x > y ? 1 : cmp_job_newest(a, b));
}

static void list_jobs(struct hycu *h, const struct sim_request *req, struct sim_response *resp)
{
    struct page pg;
    char err[64], field[32];
    const char *want = NULL;
    int64_t total = 0, from;
    json_t *arr = json_array();
    struct job **sorted;

    if (parse_page(h, req, &pg, err, sizeof(err)) != 0) {
        json_decref(arr);
        sim_resp_set(resp, 400, rest_error(h, err));
        return;
    }
    if (parse_filter(req, field, sizeof(field), &want) && strcmp(field, "status") != 0)
        want = NULL;
    sorted = xcalloc(h->njobs + 1, sizeof(*sorted));
    for (size_t i = 0; i < h->njobs; i++)
        sorted[i] = &h->jobs[i];
    const char *ob = sim_req_arg(req, "orderBy");
    int (*cmp)(const void *, const void *) = cmp_job_newest;
    if (h->job_order == ORDER_OLDEST)
        cmp = cmp_job_oldest;
    else if (h->job_order == ORDER_SHUFFLE)
        cmp = cmp_job_scrambled;
    else if (ob != NULL && strcmp(ob, "createdTime") == 0)
        cmp = cmp_job_oldest;
    qsort(sorted, h->njobs, sizeof(*sorted), cmp);
    from = (pg.number - 1) * pg.eff;
    const struct job *hidden = NULL;
    if (h->hide_job > 0 && (size_t)h->hide_job <= h->njobs && h->hide_listings > 0) {
        hidden = &h->jobs[h->hide_job - 1];
        h->hide_listings--;
    }
    for (size_t i = 0; i < h->njobs; i++) {
        if (want != NULL && strcmp(sorted[i]->status, want) != 0)
            continue;
        if (sorted[i] == hidden)
            continue; /* a listing that lags behind the job itself */
        if (total >= from && total < from + pg.eff)
            json_array_append_new(arr, job_json(h, sorted[i], false));
        total++;
    }
    free(sorted);
    sim_resp_set(resp, 200,
                 envelope(h, arr, (int64_t)h->njobs, total, pg.number, pg.size, "OK", NULL));
}

static void trigger(struct hycu *h, const struct sim_request *req, enum ent_type t,
                    struct sim_response *resp)
{
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    json_t *list = json_object_get(body, "uuidList");
    json_t *ff = json_object_get(body, "forceFull");
    json_t *target = json_object_get(body, "targetUuid");
    bool force = false;
    size_t i;
    json_t *v;
    char msg[200];

    if (!json_is_object(body)) {
        sim_resp_set(resp, 400, rest_error(h, "Invalid or missing JSON body"));
        goto out;
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        sim_resp_set(resp, 400, rest_error(h, "uuidList is required"));
        goto out;
    }
    if (json_is_boolean(ff)) {
        force = json_is_true(ff);
    } else if (json_is_string(ff) && (strcmp(json_string_value(ff), "true") == 0 ||
                                      strcmp(json_string_value(ff), "false") == 0)) {
        force = strcmp(json_string_value(ff), "true") == 0;
    } else if (ff != NULL && !json_is_null(ff)) {
        sim_resp_set(resp, 400, rest_error(h, "forceFull must be a boolean"));
        goto out;
    }
    if (target != NULL && !json_is_null(target)) {
        const char *tu = json_string_value(target);
        if (tu == NULL || (strcmp(tu, h->targets[0]) != 0 && strcmp(tu, h->targets[1]) != 0)) {
            snprintf(msg, sizeof(msg), "Target %.100s not found", tu ? tu : "(not a string)");
            sim_resp_set(resp, 404, rest_error(h, msg));
            goto out;
        }
    }
    /* Validate everything before creating anything: a rejected call must leave no job. */
    json_array_foreach(list, i, v)
    {
        const char *u = json_string_value(v);
        if (u == NULL || find_entity(h, t, u) == NONE) {
            snprintf(msg, sizeof(msg), "%s %.100s not found", type_labels[t],
                     u ? u : "(not a string)");
            sim_resp_set(resp, 404, rest_error(h, msg));
            goto out;
        }
    }
    json_t *ids = json_array();
    json_array_foreach(list, i, v)
    {
        struct job *j = job_create(h, find_entity(h, t, json_string_value(v)), NULL, false, false);
        j->force_full = force;
        json_array_append_new(ids, json_string(j->uuid));
    }
    size_t n = json_array_size(ids);
    sim_resp_set(resp, 202, envelope(h, ids, (int64_t)n, (int64_t)n, 1, 100, "OK", NULL));
out:
    json_decref(body);
}

static void method_not_allowed(struct hycu *h, struct sim_response *resp, const char *allow)
{
    sim_resp_set(resp, 405, rest_error(h, "Method not allowed"));
    sim_resp_header(resp, "Allow", allow);
}

static void serve_rest(struct hycu *h, const struct sim_request *req, const char *rest,
                       struct sim_response *resp)
{
    char seg0[64] = "", seg1[128] = "";
    const char *slash;
    bool get = strcmp(req->method, "GET") == 0;
    int nseg = 0;

    /* Split "/a/b" into at most two segments; deeper paths are unknown. */
    if (*rest == '/')
        rest++;
    if (*rest != '\0') {
        slash = strchr(rest, '/');
        if (slash == NULL) {
            snprintf(seg0, sizeof(seg0), "%s", rest);
            nseg = 1;
        } else if (strchr(slash + 1, '/') == NULL && slash[1] != '\0' &&
                   (size_t)(slash - rest) < sizeof(seg0) && strlen(slash + 1) < sizeof(seg1)) {
            snprintf(seg0, sizeof(seg0), "%.*s", (int)(slash - rest), rest);
            snprintf(seg1, sizeof(seg1), "%s", slash + 1);
            nseg = 2;
        } else {
            nseg = 3;
        }
    }

    for (size_t i = 0; nseg >= 1 && nseg <= 2 && i < sizeof(collections) / sizeof(*collections);
         i++) {
        if (strcmp(seg0, collections[i].path) != 0)
            continue;
        if (h->no_policies && collections[i].type == ET_POLICY) {
            sim_resp_set(resp, 404, rest_error(h, "Not found"));
        } else if (!get) {
            method_not_allowed(h, resp, "GET");
        } else if (nseg == 1) {
            list_entities(h, req, collections[i].type, resp);
        } else {
            size_t idx = find_entity(h, collections[i].type, seg1);
            if (idx == NONE)
                sim_resp_set(resp, 404, rest_error(h, "Entity not found"));
            else
                sim_resp_set(resp, 200, one_entity(h, entity_json(h, &h->ents[idx])));
        }
        return;
    }
    if (strcmp(seg0, "targets") == 0 && nseg <= 2) {
        if (!get)
            method_not_allowed(h, resp, "GET");
        else
            list_targets(h, req, nseg == 2 ? seg1 : NULL, resp);
        return;
    }
    if (strcmp(seg0, "schedules") == 0 && nseg == 2) {
        for (size_t i = 0; i < sizeof(schedules) / sizeof(*schedules); i++) {
            if (strcmp(seg1, schedules[i].path) != 0)
                continue;
            if (strcmp(req->method, "POST") != 0)
                method_not_allowed(h, resp, "POST");
            else
                trigger(h, req, schedules[i].type, resp);
            return;
        }
    }
    if (strcmp(seg0, "jobs") == 0 && nseg == 1) {
        if (!get)
            method_not_allowed(h, resp, "GET");
        else
            list_jobs(h, req, resp);
        return;
    }
    if (strcmp(seg0, "jobs") == 0 && nseg == 2) {
        struct job *j = find_job(h, seg1);
        if (!get && strcmp(req->method, "DELETE") != 0) {
            method_not_allowed(h, resp, "GET, DELETE");
        } else if (j == NULL) {
            sim_resp_set(resp, 404, rest_error(h, "Job not found"));
        } else if (get) {
            job_read(j);
            sim_resp_set(resp, 200, one_entity(h, job_json(h, j, true)));
        } else {
            job_abort(j);
            sim_resp_set(resp, 200, envelope(h, json_array(), 0, 0, 1, 100, "OK", "Job killed"));
        }
        return;
    }
    if (strcmp(seg0, "administration") == 0 && nseg == 2 && strcmp(seg1, "software") == 0) {
        if (!get)
            method_not_allowed(h, resp, "GET");
        else
            sim_resp_set(resp, 200, one_entity(h, json_pack("{ss}", "version", "5.2.0-sim")));
        return;
    }
    sim_resp_set(resp, 404, rest_error(h, "Not found"));
}

/* ------------------------------------------------------------------------------------------ */
/* v1 dialect                                                                                 */

static void serve_v1(struct hycu *h, const struct sim_request *req, const char *rest,
                     struct sim_response *resp)
{
    char id[64];

    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        if (strcmp(req->method, "POST") != 0) {
            sim_resp_set(resp, 405, v1_error("method not allowed"));
            sim_resp_header(resp, "Allow", "POST");
            return;
        }
        json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
        const char *name = json_string_value(json_object_get(body, "name"));
        if (!json_is_object(body))
            sim_resp_set(resp, 400, v1_error("invalid JSON body"));
        else if (name == NULL || *name == '\0')
            sim_resp_set(resp, 400, v1_error("name is required"));
        else {
            /* A scripted entity of that name wins over a generated one of any type. */
            size_t idx = NONE;
            for (size_t i = 0; i < h->nents && idx == NONE; i++)
                if (h->ents[i].scripted && strcmp(h->ents[i].name, name) == 0)
                    idx = i;
            if (idx == NONE)
                idx = find_by_name(h, -1, name);
            struct job *j = job_create(h, idx, name, true, false);
            sim_resp_set(resp, 200,
                         dump(json_pack("{ssss}", "job_id", j->uuid, "status", "running")));
        }
        json_decref(body);
        return;
    }
    /* "/{id}/status" or "/{id}" */
    const char *p = rest + 1;
    const char *slash = strchr(p, '/');
    size_t idlen = slash != NULL ? (size_t)(slash - p) : strlen(p);
    bool status = slash != NULL && strcmp(slash, "/status") == 0;
    if (idlen == 0 || idlen >= sizeof(id) || (slash != NULL && !status)) {
        sim_resp_set(resp, 404, v1_error("not found"));
        return;
    }
    snprintf(id, sizeof(id), "%.*s", (int)idlen, p);
    struct job *j = find_job(h, id);
    if (status && strcmp(req->method, "GET") != 0) {
        sim_resp_set(resp, 405, v1_error("method not allowed"));
        sim_resp_header(resp, "Allow", "GET");
    } else if (!status && strcmp(req->method, "DELETE") != 0) {
        sim_resp_set(resp, 405, v1_error("method not allowed"));
        sim_resp_header(resp, "Allow", "DELETE");
    } else if (j == NULL) {
        sim_resp_set(resp, 404, v1_error("job not found"));
    } else if (status) {
        job_read(j);
        sim_resp_set(resp, 200, dump(v1_status_json(j)));
    } else {
        job_abort(j);
        json_t *o = v1_status_json(j);
        sim_resp_set(resp, 200,
                     dump(json_pack("{sOsO}", "job_id", json_object_get(o, "job_id"), "status",
                                    json_object_get(o, "status"))));
        json_decref(o);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* dispatch                                                                                   */

static void serve_sim(struct hycu *h, const struct sim_request *req, struct sim_response *resp)
{
    if (strcmp(req->path, "/__sim/jobs") == 0 && strcmp(req->method, "GET") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < h->njobs; i++) {
            json_t *o = job_json(h, &h->jobs[i], true);
            json_object_set_new(o, "reads", json_integer(h->jobs[i].reads));
            json_object_set_new(o, "api", json_string(h->jobs[i].v1 ? "v1" : "rest"));
            json_object_set_new(o, "entityName", json_string(h->jobs[i].name));
            json_array_append_new(arr, o);
        }
        sim_resp_set(resp, 200, dump(json_pack("{so}", "jobs", arr)));
        return;
    }
    sim_resp_set(resp, 404, v1_error("unknown /__sim endpoint"));
}

static void hycu_handle(void *ctx, const struct sim_request *req, struct sim_response *resp)
{
    struct hycu *h = ctx;
    size_t rl = strlen(REST_PREFIX), vl = strlen(V1_PREFIX);
    bool is_rest =
        strncmp(req->path, REST_PREFIX, rl) == 0 && (req->path[rl] == '\0' || req->path[rl] == '/');
    bool is_v1 =
        strncmp(req->path, V1_PREFIX, vl) == 0 && (req->path[vl] == '\0' || req->path[vl] == '/');

    pthread_mutex_lock(&h->lock);
    if (strncmp(req->path, "/__sim/", 7) == 0) {
        serve_sim(h, req, resp);
    } else if (is_v1 || strncmp(req->path, "/api/", 5) == 0) {
        if (!auth_ok(h, req, true))
            sim_resp_set(resp, 401, v1_error("Authentication failed"));
        else if (!is_v1)
            sim_resp_set(resp, 404, v1_error("not found"));
        else
            serve_v1(h, req, req->path + vl, resp);
    } else if (!auth_ok(h, req, false)) {
        sim_resp_set(resp, 401, rest_error(h, "Authentication failed"));
    } else if (is_rest) {
        serve_rest(h, req, req->path + rl, resp);
    } else {
        sim_resp_set(resp, 404, rest_error(h, "Not found"));
    }
    pthread_mutex_unlock(&h->lock);
}

/* ------------------------------------------------------------------------------------------ */
/* main                                                                                       */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: hycu-sim [options]\n"
            "Local HYCU controller simulator: REST /rest/v1.0 and the Absyss /api/v1/backups.\n"
            "%s"
            "  --devices N          VMs in the generated fleet (default 8; N/4 apps, shares,\n"
            "                       volume groups; max(1,N/4) policies)\n"
            "  --customers M        customer labels customer-01.. (default 1)\n"
            "  --seed S             seed for the deterministic uuids (default 1)\n"
            "  --scenario F         JSON: per-entity job outcome, polls, message, running\n"
            "  --token T            accepted Bearer token (repeatable)\n"
            "  --user U --password P   accepted Basic credentials\n"
            "                       (neither given: token sim-token, user admin/admin)\n"
            "  --page-cap N         serve at most N entities per page whatever pageSize says\n"
            "  --no-total           omit totalEntityCount/grandTotalEntityCount\n"
            "  --time-format ms|iso job times as epoch ms (default) or ISO 8601 strings\n"
            "  --job-types W1,W2,… job \"type\" words, one per job in turn (default BACKUP)\n"
            "  --job-order asked|oldest|shuffle   GET /jobs order: as orderBy asks (default;\n"
            "                       newest first without one), oldest first, or a stable\n"
            "                       scramble (both ignore orderBy)\n"
            "  --entity-map SHAPE   entityMap of GET /jobs/{uuid}: uuid-name (default,\n"
            "                       {uuid: name}), kind-uuid ({\"VM\": uuid}), kind-list\n"
            "                       ({\"VM\": [uuid]}), kind-objects ({\"VM\": [{uuid, name}]}),\n"
            "                       list ([{uuid, name, type}]) or mixed (each in turn)\n"
            "  --pct fraction|percent   completitionPct as 0..1 (default, HYCU 5.2) or 0..100\n"
            "  --hide-job K,N       leave the K-th job created out of the first N GET /jobs\n"
            "                       answers once it exists (GET /jobs/{uuid} still finds it)\n"
            "  --rpo-format F       a policy's \"rpo\": ms, s, hours (a number), iso (PT24H0M),\n"
            "                       text (\"1 days\", \"240 minutes\"), object ({value, unit})\n"
            "                       or mixed (default: each policy in turn). Scenario policies\n"
            "                       take \"rpo\" in seconds; others have 24 h\n"
            "  --no-policies        GET /policies answers 404, as a controller without it\n"
            "  --help               this text\n",
            sim_config_usage());
}

static void hycu_free(struct hycu *h)
{
    for (size_t i = 0; i < h->nents; i++) {
        free(h->ents[i].uuid);
        free(h->ents[i].name);
        free(h->ents[i].customer);
        free(h->ents[i].script.outcome);
        free(h->ents[i].script.message);
    }
    free(h->ents);
    for (size_t i = 0; i < h->njobs; i++) {
        free(h->jobs[i].name);
        free(h->jobs[i].task_name);
        free(h->jobs[i].outcome);
        free(h->jobs[i].message);
        free(h->jobs[i].status);
    }
    free(h->jobs);
    free(h->def.outcome);
    free(h->def.message);
    for (size_t i = 0; i < h->ntokens; i++)
        free(h->tokens[i]);
    free(h->tokens);
    free(h->basic);
    for (size_t i = 0; i < h->n_job_types; i++)
        free(h->job_types[i]);
    free(h->job_types);
    pthread_mutex_destroy(&h->lock);
}

static int opt_int(const char *name, const char *val, int64_t lo, int64_t hi, int64_t *out)
{
    if (val == NULL || str_to_i64(val, out) != 0 || *out < lo || *out > hi) {
        fprintf(stderr, "hycu-sim: %s: expected an integer in %" PRId64 "..%" PRId64 "\n", name, lo,
                hi);
        return -1;
    }
    return 0;
}

/* The options that vary what the reference leaves open. 0, or -1 after a one-line error. */
static int sim_option(struct hycu *h, const char *name, const char *val)
{
    if (val == NULL || *val == '\0') {
        fprintf(stderr, "hycu-sim: %s needs a value\n", name);
        return -1;
    }
    if (strcmp(name, "--job-types") == 0) {
        for (size_t i = 0; i < h->n_job_types; i++)
            free(h->job_types[i]);
        h->n_job_types = 0;
        const char *p = val;
        for (;;) {
            const char *c = strchr(p, ',');
            size_t n = c != NULL ? (size_t)(c - p) : strlen(p);
            if (n == 0 || n > 64 || h->n_job_types >= 64) {
                fprintf(stderr, "hycu-sim: --job-types: expected up to 64 comma-separated "
                                "words of 1..64 characters\n");
                return -1;
            }
            h->job_types = xrealloc(h->job_types, (h->n_job_types + 1) * sizeof(*h->job_types));
            h->job_types[h->n_job_types++] = xstrndup(p, n);
            if (c == NULL)
                break;
            p = c + 1;
        }
        return 0;
    }
    if (strcmp(name, "--job-order") == 0) {
        if (strcmp(val, "asked") == 0)
            h->job_order = ORDER_ASKED;
        else if (strcmp(val, "oldest") == 0)
            h->job_order = ORDER_OLDEST;
        else if (strcmp(val, "shuffle") == 0)
            h->job_order = ORDER_SHUFFLE;
        else {
            fprintf(stderr, "hycu-sim: --job-order: expected asked, oldest or shuffle\n");
            return -1;
        }
        return 0;
    }
    if (strcmp(name, "--entity-map") == 0) {
        for (unsigned i = 0; i <= MAP_MIXED; i++)
            if (strcmp(val, map_shape_names[i]) == 0) {
                h->map_shape = i;
                return 0;
            }
        fprintf(stderr, "hycu-sim: --entity-map: expected uuid-name, kind-uuid, kind-list, "
                        "kind-objects, list or mixed\n");
        return -1;
    }
    if (strcmp(name, "--rpo-format") == 0) {
        for (unsigned i = 0; i <= RPO_MIXED; i++)
            if (strcmp(val, rpo_format_names[i]) == 0) {
                h->rpo_format = i;
                return 0;
            }
        fprintf(stderr, "hycu-sim: --rpo-format: expected ms, s, hours, iso, text, object or "
                        "mixed\n");
        return -1;
    }
    if (strcmp(name, "--hide-job") == 0) {
        const char *comma = strchr(val, ',');
        char k[32];
        if (comma == NULL || (size_t)(comma - val) >= sizeof(k)) {
            fprintf(stderr, "hycu-sim: --hide-job: expected K,N\n");
            return -1;
        }
        snprintf(k, sizeof(k), "%.*s", (int)(comma - val), val);
        if (opt_int(name, k, 1, 1000000, &h->hide_job) != 0 ||
            opt_int(name, comma + 1, 1, 1000000, &h->hide_listings) != 0)
            return -1;
        return 0;
    }
    if (strcmp(val, "fraction") == 0 || strcmp(val, "percent") == 0) {
        h->pct_percent = strcmp(val, "percent") == 0;
        return 0;
    }
    fprintf(stderr, "hycu-sim: --pct: expected fraction or percent\n");
    return -1;
}

int main(int argc, char **argv)
{
    struct hycu h;
    struct sim_config cfg;
    const char *scenario = NULL, *user = NULL, *password = NULL;
    int64_t devices = 8, customers = 1, seed = 1;
    json_t *members = NULL;
    char err[256];
    int rc = 2;

    memset(&h, 0, sizeof(h));
    pthread_mutex_init(&h.lock, NULL);
    h.def.outcome = xstrdup("OK");
    h.def.polls = 2;
    h.rpo_format = RPO_MIXED;
    sim_config_init(&cfg);

    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *arg = argv[i], *val = NULL;
        const char *eq = strchr(arg, '=');
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (strncmp(arg, "--", 2) != 0 || (eq != NULL && (size_t)(eq - arg) >= sizeof(name))) {
            fprintf(stderr, "hycu-sim: unexpected argument\n");
            usage(stderr);
            goto out;
        }
        snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
        bool flag = strcmp(name, "--no-total") == 0 || strcmp(name, "--no-policies") == 0;
        if (flag && eq != NULL) {
            fprintf(stderr, "hycu-sim: %s takes no value\n", name);
            goto out;
        }
        if (!flag)
            val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);

        int r = sim_config_option(&cfg, name, val, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "hycu-sim: %s\n", err);
            goto out;
        }
        if (r > 0)
            continue;
        if (flag && strcmp(name, "--no-policies") == 0) {
            h.no_policies = true;
        } else if (flag) {
            h.no_total = true;
        } else if (strcmp(name, "--devices") == 0) {
            if (opt_int(name, val, 0, MAX_DEVICES, &devices) != 0)
                goto out;
        } else if (strcmp(name, "--customers") == 0) {
            if (opt_int(name, val, 1, 100000, &customers) != 0)
                goto out;
        } else if (strcmp(name, "--seed") == 0) {
            if (opt_int(name, val, 0, INT64_MAX, &seed) != 0)
                goto out;
        } else if (strcmp(name, "--page-cap") == 0) {
            if (opt_int(name, val, 1, 1000000, &h.page_cap) != 0)
                goto out;
        } else if (strcmp(name, "--job-types") == 0 || strcmp(name, "--job-order") == 0 ||
                   strcmp(name, "--entity-map") == 0 || strcmp(name, "--pct") == 0 ||
                   strcmp(name, "--hide-job") == 0 || strcmp(name, "--rpo-format") == 0) {
            if (sim_option(&h, name, val) != 0)
                goto out;
        } else if (strcmp(name, "--scenario") == 0 || strcmp(name, "--token") == 0 ||
                   strcmp(name, "--user") == 0 || strcmp(name, "--password") == 0 ||
                   strcmp(name, "--time-format") == 0) {
            if (val == NULL) {
                fprintf(stderr, "hycu-sim: %s needs a value\n", name);
                goto out;
            }
            if (strcmp(name, "--scenario") == 0) {
                scenario = val;
            } else if (strcmp(name, "--token") == 0) {
                if (*val == '\0') {
                    fprintf(stderr, "hycu-sim: --token must not be empty\n");
                    goto out;
                }
                h.tokens = xrealloc(h.tokens, (h.ntokens + 1) * sizeof(*h.tokens));
                h.tokens[h.ntokens++] = xstrdup(val);
            } else if (strcmp(name, "--user") == 0) {
                user = val;
            } else if (strcmp(name, "--password") == 0) {
                password = val;
            } else if (strcmp(val, "ms") == 0 || strcmp(val, "iso") == 0) {
                h.iso = strcmp(val, "iso") == 0;
            } else {
                fprintf(stderr, "hycu-sim: --time-format: expected ms or iso\n");
                goto out;
            }
        } else {
            fprintf(stderr, "hycu-sim: unknown option %s\n", name);
            usage(stderr);
            goto out;
        }
    }
    if ((user == NULL) != (password == NULL)) {
        fprintf(stderr, "hycu-sim: --user and --password go together\n");
        goto out;
    }
    if (h.ntokens == 0 && user == NULL) {
        h.tokens = xmalloc(sizeof(*h.tokens));
        h.tokens[h.ntokens++] = xstrdup("sim-token");
        user = password = "admin";
    }
    if (user != NULL) {
        char *pair = xasprintf("%s:%s", user, password);
        h.basic = str_base64(pair, strlen(pair));
        memset(pair, 0, strlen(pair));
        free(pair);
    }

    h.seed = (uint64_t)seed;
    make_uuid(h.seed, 3, 0, h.targets[0]);
    make_uuid(h.seed, 3, 1, h.targets[1]);
    make_uuid(h.seed, 3, 2, h.hypervisor);
    build_fleet(&h, devices);
    size_t first_scenario = h.nents;
    if (scenario != NULL && load_scenario(&h, scenario, &members, err, sizeof(err)) != 0) {
        fprintf(stderr, "hycu-sim: scenario %s: %s\n", scenario, err);
        goto out;
    }
    assign_fleet(&h, customers, first_scenario);
    if (members != NULL)
        apply_members(&h, members);
    count_policy_members(&h);
    /* "running": the job a scheduler retry would find still going. */
    for (size_t i = 0; i < h.nents; i++) {
        if (h.ents[i].scripted && h.ents[i].script.running)
            job_create(&h, i, NULL, false, true);
    }

    struct sim_app app = {.ctx = &h, .handle = hycu_handle, .error_body = hycu_error_body};
    rc = sim_run(&cfg, &app) == 0 ? 0 : 1;
out:
    json_decref(members);
    sim_config_free(&cfg);
    hycu_free(&h);
    return rc;
}

/* Numbered schema migrations, identical in meaning on SQLite and PostgreSQL (types are the
 * common subset: INTEGER for ids, counts and epoch-millisecond times, TEXT for strings). Each
 * runs once, in order, inside one transaction with its schema_migrations row. */
#ifndef BK_STORE_MIGRATIONS_H
#define BK_STORE_MIGRATIONS_H

#include "store/runs.h"

static const char *const store_migrations[] = {
    /* 1: the DESIGN §5 data model, plus staging tables for atomic polls. */
    "CREATE TABLE source ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, url TEXT NOT NULL,"
    " interval_ms INTEGER NOT NULL, enabled INTEGER NOT NULL DEFAULT 1,"
    " paused INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE source_state ("
    " source_id INTEGER NOT NULL REFERENCES source(id), key TEXT NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY (source_id, key));"
    "CREATE TABLE customer ("
    " id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES source(id),"
    " external_id TEXT NOT NULL, name TEXT NOT NULL, external_ref TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " UNIQUE (source_id, external_id));"
    "CREATE TABLE job ("
    " id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES source(id),"
    " customer_id INTEGER REFERENCES customer(id), external_id TEXT NOT NULL,"
    " name TEXT NOT NULL, kind TEXT NOT NULL, colour_bar TEXT, colour_bar_as_of INTEGER,"
    " retired_at INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " UNIQUE (source_id, external_id));"
    "CREATE INDEX job_customer ON job (customer_id);"
    "CREATE TABLE job_run ("
    " id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES job(id),"
    " source_type TEXT NOT NULL DEFAULT 'api', vendor_run_id TEXT NOT NULL,"
    " start_at INTEGER, end_at INTEGER, status TEXT NOT NULL, raw_status TEXT NOT NULL,"
    " error_count INTEGER, message TEXT, override INTEGER NOT NULL DEFAULT 0,"
    " reviewed_at INTEGER, reviewed_by TEXT, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, UNIQUE (job_id, vendor_run_id));"
    "CREATE INDEX job_run_job_start ON job_run (job_id, start_at);"
    "CREATE INDEX job_run_unreviewed ON job_run (reviewed_at, status);"
    "CREATE TABLE job_object ("
    " id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES job_run(id),"
    " name TEXT NOT NULL, status TEXT NOT NULL, raw_status TEXT, message TEXT,"
    " UNIQUE (run_id, name));"
    "CREATE TABLE override ("
    " id INTEGER PRIMARY KEY, job_id INTEGER REFERENCES job(id), object_name TEXT,"
    " match_status TEXT, match_kind TEXT, match_text TEXT, valid_from INTEGER,"
    " valid_until INTEGER, created_by TEXT, created_at INTEGER NOT NULL);"
    "CREATE TABLE remark ("
    " id INTEGER PRIMARY KEY, body TEXT NOT NULL, created_by TEXT, created_at INTEGER NOT NULL);"
    "CREATE TABLE remark_run ("
    " remark_id INTEGER NOT NULL REFERENCES remark(id),"
    " run_id INTEGER NOT NULL REFERENCES job_run(id), PRIMARY KEY (remark_id, run_id));"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, who TEXT, action TEXT NOT NULL,"
    " target TEXT, before_json TEXT, after_json TEXT);"
    "CREATE TABLE app_user ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
    " password_hash TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE api_token ("
    " id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES app_user(id),"
    " name TEXT, sha256 TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,"
    " last_used_at INTEGER, revoked_at INTEGER);"
    "CREATE TABLE poll_run ("
    " id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES source(id),"
    " started_at INTEGER NOT NULL, finished_at INTEGER, pages INTEGER NOT NULL DEFAULT 0,"
    " devices INTEGER NOT NULL DEFAULT 0, runs_new INTEGER NOT NULL DEFAULT 0,"
    " runs_updated INTEGER NOT NULL DEFAULT 0, result TEXT NOT NULL, error TEXT,"
    " instance TEXT);"
    "CREATE INDEX poll_run_source ON poll_run (source_id, started_at);"
    "CREATE TABLE stage_job ("
    " poll_id INTEGER NOT NULL, external_id TEXT NOT NULL, name TEXT NOT NULL,"
    " kind TEXT NOT NULL, customer_ext_id TEXT, customer_name TEXT, colour_bar TEXT,"
    " colour_bar_as_of INTEGER, PRIMARY KEY (poll_id, external_id));"
    "CREATE TABLE stage_run ("
    " poll_id INTEGER NOT NULL, job_external_id TEXT NOT NULL, vendor_run_id TEXT NOT NULL,"
    " start_at INTEGER, end_at INTEGER, status TEXT NOT NULL, raw_status TEXT NOT NULL,"
    " error_count INTEGER, message TEXT,"
    " PRIMARY KEY (poll_id, job_external_id, vendor_run_id));"
    "CREATE TABLE stage_object ("
    " poll_id INTEGER NOT NULL, job_external_id TEXT NOT NULL, vendor_run_id TEXT NOT NULL,"
    " name TEXT NOT NULL, status TEXT NOT NULL, raw_status TEXT, message TEXT,"
    " PRIMARY KEY (poll_id, job_external_id, vendor_run_id, name));",
    /* 2: browser sessions (stored so several web instances can share them), "poll now"
     * requests handed from the web layer to whichever instance polls the source, and the
     * indexes the API's filters need. */
    "CREATE TABLE web_session ("
    " id_sha256 TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES app_user(id),"
    " csrf_token TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " last_seen_at INTEGER NOT NULL);"
    "CREATE TABLE poll_request ("
    " id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES source(id),"
    " requested_at INTEGER NOT NULL, requested_by TEXT, handled_at INTEGER);"
    "CREATE INDEX audit_at ON audit (at);"
    "CREATE INDEX job_run_start ON job_run (start_at);",
    /* 3: Run Checks lists unreviewed runs newest first; without this index every request
     * sorts all unreviewed runs (p50 87 ms → 0.8 ms on 300,000 runs). */
    "CREATE INDEX job_run_review_start ON job_run (reviewed_at, start_at);",
    /* 4: every job's last success (status, check, /metrics) read from the index alone:
     * the status query on 10,000 jobs / 300,000 runs goes from 145 ms to 60 ms. */
    "CREATE INDEX job_run_job_status ON job_run (job_id, status, end_at, start_at, override);",
    /* 5: what retention deletes must not come back or go down. run_tombstone keeps the
     * (job, vendor run id) of every pruned run, so a vendor that still reports it (Cove's
     * D09F15 of a device that has not run since) cannot insert it again, unreviewed.
     * poll_counter holds backupctl_poll_runs_total, which pruning poll_run made go down;
     * it starts from the poll_run rows still there. */
    "CREATE TABLE run_tombstone ("
    " job_id INTEGER NOT NULL REFERENCES job(id), vendor_run_id TEXT NOT NULL,"
    " pruned_at INTEGER NOT NULL, PRIMARY KEY (job_id, vendor_run_id));"
    "CREATE TABLE poll_counter ("
    " source_id INTEGER NOT NULL REFERENCES source(id), result TEXT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY (source_id, result));"
    "INSERT INTO poll_counter (source_id, result, n)"
    " SELECT source_id, result, COUNT(*) FROM poll_run WHERE result <> 'running'"
    " GROUP BY source_id, result;",
    /* 6: expected schedules (issue 9). job_schedule is each job's effective schedule, as
     * the expected-runs evaluator last computed it (learned from the history, or configured
     * in [schedule] sections or through the API), with the stale thresholds that follow from
     * it. job_schedule_set holds schedules configured per job through the API. job_slot
     * materialises the slots of a rolling window in the schedule's zone (day = the local
     * backup day), so Daily Jobs is one indexed query: expected (not yet), ran (run_id),
     * missed (run_id = the synthetic `missed` run) or unknown (the source was down).
     * job_run.anomaly is a duration-anomaly reason ("ran 4 min, usually 2 h"). */
    "ALTER TABLE customer ADD COLUMN timezone TEXT;"
    "ALTER TABLE job_run ADD COLUMN anomaly TEXT;"
    "CREATE TABLE job_schedule ("
    " job_id INTEGER PRIMARY KEY REFERENCES job(id), origin TEXT NOT NULL,"
    " kind TEXT NOT NULL, description TEXT NOT NULL, timezone TEXT NOT NULL,"
    " grace_ms INTEGER NOT NULL, confidence INTEGER, evidence INTEGER, config_name TEXT,"
    " warn_after_ms INTEGER NOT NULL, crit_after_ms INTEGER NOT NULL,"
    " checked_until INTEGER, updated_at INTEGER NOT NULL);"
    "CREATE TABLE job_schedule_set ("
    " job_id INTEGER PRIMARY KEY REFERENCES job(id), spec TEXT NOT NULL, timezone TEXT,"
    " grace_ms INTEGER, created_by TEXT, created_at INTEGER NOT NULL);"
    "CREATE TABLE job_slot ("
    " job_id INTEGER NOT NULL REFERENCES job(id), slot_start INTEGER NOT NULL,"
    " open_at INTEGER NOT NULL, close_at INTEGER NOT NULL, due_at INTEGER NOT NULL,"
    " day TEXT NOT NULL, state TEXT NOT NULL, run_id INTEGER REFERENCES job_run(id),"
    " PRIMARY KEY (job_id, slot_start));"
    "CREATE INDEX job_slot_day ON job_slot (day, state);",
    /* 7: the expected-runs evaluator reads every job's real runs of 90 days each cycle; this
     * index covers that read (no table lookups): 10,000 jobs x 90 days, see bench/expected. */
    "CREATE INDEX job_run_job_type_start ON job_run (job_id, source_type, start_at, end_at,"
    " status);",
    /* 8: push check-ins (issue 14). A job of a `type = push` source has one push_check row;
     * its uuid is the secret part of the job's ping URL (never logged in full). */
    "CREATE TABLE push_check ("
    " job_id INTEGER PRIMARY KEY REFERENCES job(id), uuid TEXT NOT NULL UNIQUE,"
    " created_by TEXT, created_at INTEGER NOT NULL, last_ping_at INTEGER);",
    /* 9: alerts (issue 10). alert_incident: one open incident per (alert section, job or
     * source) at most (the partial unique index), its uid threads its messages. alert_outbox:
     * one row per (incident message, channel), written in the transaction that opened, reminded
     * or closed the incident; uid is the Idempotency-Key of every attempt. A row is claimed
     * (state sending, claimed_until) before it is sent, so two workers never send it twice;
     * muted_summary marks an incident opened during maintenance that the end-of-window
     * summary has not told about yet;
     * a claim that expired (a worker died) is taken again. alert_counter holds
     * backupctl_alerts_sent_total, which no pruning makes go down. */
    "CREATE TABLE alert_incident ("
    " id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, alert TEXT NOT NULL,"
    " scope TEXT NOT NULL, target_id INTEGER NOT NULL, kind TEXT NOT NULL,"
    " run_id INTEGER, muted INTEGER NOT NULL DEFAULT 0, muted_summary INTEGER NOT NULL DEFAULT 0,"
    " seq INTEGER NOT NULL DEFAULT 0,"
    " opened_at INTEGER NOT NULL, last_sent_at INTEGER, closed_at INTEGER);"
    "CREATE UNIQUE INDEX alert_incident_open ON alert_incident (alert, scope, target_id)"
    " WHERE closed_at IS NULL;"
    "CREATE TABLE alert_outbox ("
    " id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, alert TEXT NOT NULL,"
    " channel TEXT NOT NULL, incident_id INTEGER REFERENCES alert_incident(id),"
    " seq INTEGER NOT NULL, event TEXT NOT NULL, title TEXT NOT NULL, payload TEXT NOT NULL,"
    " state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,"
    " claimed_by TEXT, claimed_until INTEGER, last_error TEXT, last_code INTEGER,"
    " created_at INTEGER NOT NULL, sent_at INTEGER);"
    "CREATE INDEX alert_outbox_due ON alert_outbox (state, next_at);"
    "CREATE TABLE alert_counter ("
    " channel TEXT NOT NULL, result TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY (channel, result));",
    /* 10: job fingerprints (issue 12). job_fingerprint holds the hash (core/fpset.h) of what
     * the vendor last reported for a job, written in the apply transaction with the rows it
     * describes; a poll drops a job whose fingerprint is unchanged before any SQL. Its own
     * table, so recording a new fingerprint never rewrites (or re-dates) the job row. */
    "CREATE TABLE job_fingerprint ("
    " job_id INTEGER PRIMARY KEY REFERENCES job(id) ON DELETE CASCADE, fp INTEGER NOT NULL);"
    "ALTER TABLE stage_job ADD COLUMN fingerprint INTEGER;",
    /* 11: a HYCU entity's policy and its RPO (seconds), an input of the expected schedule
     * when the history alone does not give one (store/expected.c). */
    "ALTER TABLE job ADD COLUMN policy_name TEXT;"
    "ALTER TABLE job ADD COLUMN policy_rpo_s INTEGER;"
    "ALTER TABLE stage_job ADD COLUMN policy_name TEXT;"
    "ALTER TABLE stage_job ADD COLUMN policy_rpo_s INTEGER;",
    /* 12: report e-mails (issue 14). mail_message keeps every mail once per source (unique
     * Message-ID), raw, with what the parsers made of it: state 'run' (run_id), 'not_a_run',
     * 'inbox' (unknown: waits for an operator) or 'assigned' (an operator made it a run). Its
     * insert shares the transaction of the run it feeds, so a crash never loses or doubles
     * one. mail_rule remembers an assignment: the next mail of that sender with the same
     * subject shape (rule_key) becomes a run of the job without the Inbox. */
    "CREATE TABLE mail_message ("
    " id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES source(id),"
    " message_id TEXT NOT NULL, sender TEXT, subject TEXT NOT NULL, sent_at INTEGER,"
    " received_at INTEGER NOT NULL, size INTEGER NOT NULL, raw TEXT NOT NULL,"
    " kind TEXT NOT NULL, product TEXT, job_name TEXT, status TEXT NOT NULL, reason TEXT,"
    " rule_key TEXT NOT NULL, state TEXT NOT NULL, run_id INTEGER REFERENCES job_run(id),"
    " synthetic INTEGER NOT NULL DEFAULT 0, UNIQUE (source_id, message_id));"
    "CREATE INDEX mail_message_state ON mail_message (state, received_at);"
    "CREATE INDEX mail_message_run ON mail_message (run_id);"
    "CREATE TABLE mail_rule ("
    " id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL REFERENCES source(id),"
    " sender TEXT NOT NULL, rule_key TEXT NOT NULL, job_id INTEGER NOT NULL REFERENCES job(id),"
    " created_by TEXT, created_at INTEGER NOT NULL, UNIQUE (source_id, sender, rule_key));",
    /* 13: Run Checks at 10,000 jobs / 300,000 runs (issue 13, store/runs.c). A page of the
     * list grouped by customer reads, per (customer, rank) segment, the jobs of the customer
     * by name (job_customer_name) and their runs by rank and start (job_run_review_rank, the
     * expression of STORE_RUN_RANK_OF); the segments are counted from job_run_review_job alone.
     * The text search reads job_run_fts, a trigram index of the run messages kept by triggers
     * (SQLite only: PostgreSQL has pg_trgm for the same), and the job ids beside the start
     * (job_run_review_start), so a search that matches nothing reads one index, no row.
     * job_run_overridden holds the few overridden runs: with no override rule, a poll's
     * re-evaluation reads them instead of every unreviewed run (store/overrides.c). */
    "DROP INDEX job_customer;"
    "CREATE INDEX job_customer_name ON job (customer_id, name, id);"
    "DROP INDEX job_run_unreviewed;"
    "CREATE INDEX job_run_review_job ON job_run (reviewed_at, job_id, status, override);"
    "DROP INDEX job_run_review_start;"
    "CREATE INDEX job_run_review_start ON job_run (reviewed_at, start_at, job_id);"
    "CREATE INDEX job_run_review_rank ON job_run (job_id, reviewed_at, " STORE_RUN_RANK_OF(
        "status",
        "override") ", start_at);"
                    "CREATE INDEX job_run_overridden ON job_run (reviewed_at) WHERE override = 1;"
                    "CREATE VIRTUAL TABLE job_run_fts USING fts5(message, content='job_run', "
                    "content_rowid='id',"
                    " tokenize='trigram');"
                    "INSERT INTO job_run_fts (job_run_fts) VALUES ('rebuild');"
                    "CREATE TRIGGER job_run_fts_insert AFTER INSERT ON job_run BEGIN"
                    " INSERT INTO job_run_fts (rowid, message) VALUES (new.id, new.message); END;"
                    "CREATE TRIGGER job_run_fts_delete AFTER DELETE ON job_run BEGIN"
                    " INSERT INTO job_run_fts (job_run_fts, rowid, message) VALUES ('delete', "
                    "old.id, old.message);"
                    " END;"
                    "CREATE TRIGGER job_run_fts_update AFTER UPDATE OF message ON job_run BEGIN"
                    " INSERT INTO job_run_fts (job_run_fts, rowid, message) VALUES ('delete', "
                    "old.id, old.message);"
                    " INSERT INTO job_run_fts (rowid, message) VALUES (new.id, new.message); END;",
    /* 14: several `backupctl serve` on one database (issue 11, store/instances.c).
     * serve_instance: one row per running instance, its heartbeat (last_seen) and lease TTL,
     * so its health is visible and the live ones can share the sources. source_lease: which
     * instance polls a source, until when (times by the database's clock); taken with one
     * conditional upsert, so two instances never both hold it. poll_request_open: the
     * "poll now" requests no instance has picked up yet, read every second by the holders. */
    "CREATE TABLE serve_instance ("
    " id TEXT PRIMARY KEY, host TEXT, pid INTEGER, version TEXT, listen TEXT,"
    " started_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, ttl_ms INTEGER NOT NULL,"
    " stopped_at INTEGER);"
    "CREATE TABLE source_lease ("
    " source_id INTEGER PRIMARY KEY REFERENCES source(id), owner TEXT NOT NULL,"
    " acquired_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);"
    "CREATE INDEX source_lease_owner ON source_lease (owner);"
    "CREATE INDEX poll_request_open ON poll_request (source_id) WHERE handled_at IS NULL;",
};

#define STORE_MIGRATION_COUNT ((int)(sizeof store_migrations / sizeof store_migrations[0]))

#endif

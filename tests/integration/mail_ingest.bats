#!/usr/bin/env bats
# Report e-mails end to end (issue 14): `backupctl mail ingest` from stdin (stored, a run or
# not, deduplicated on Message-ID; one-line errors and exit 1 for input that is no mail), and
# a Maildir watched by the real `backupctl serve` — including a crash injected between the
# commit and the move to cur/ (BACKUPCTL_TEST_MAIL_CRASH=after-commit): after a restart
# nothing is lost and nothing doubled. Fixtures: tests/fixtures/mail (synthetic). Needs sqlite3.

bats_require_minimum_version 1.5.0

setup() {
    load helpers
    setup_tmp
    FIX="${SRC_DIR:-.}/tests/fixtures/mail"
    mkdir -p "$T/maildir/new" "$T/maildir/cur" "$T/maildir/tmp"
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[server]
listen = 127.0.0.1:0
[source "mail-acme"]
type = mail
customer = Acme
timezone = Europe/Paris
maildir = maildir
interval = 10s
CONF
}

teardown() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null || true
    [ -n "${SERVE_PID:-}" ] && wait "$SERVE_PID" 2>/dev/null || true
    teardown_tmp
}

q() { sqlite3 "$T/b.db" "$1"; }

ingest() { "$BACKUPCTL" mail ingest --config "$T/b.conf" --source mail-acme "$@"; }

# the whole catalogue: 24 mails, 16 runs (3 Veeam retries make one), 2 in the Inbox, 4 not runs
N_MAILS=24
N_RUNS=16

# wait_maildir_empty: until new/ is empty (at most ~30 s; the first scan runs at start)
wait_maildir_empty() {
    local i=0
    while [ -n "$(ls -A "$T/maildir/new")" ]; do
        i=$((i + 1))
        [ $i -gt 600 ] && { ls "$T/maildir/new"; cat "$T/serve.err"; return 1; }
        kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/serve.err"; return 1; }
        sleep 0.05
    done
}

@test "mail ingest: a Veeam mail from stdin becomes a run with its objects; the same mail again changes nothing" {
    run ingest <"$FIX/v1_success.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == 'stored mail 1: new run 1 of job "DC-Daily" (veeam_vbr, success)' ]]
    [ "$(q "SELECT source_type, status, raw_status FROM job_run")" = "email|success|Success" ]
    [ "$(q "SELECT COUNT(*) FROM job_object")" = 3 ]
    [ "$(q "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', start_at / 1000, 'unixepoch') FROM job_run")" = "2026-11-24T21:00:06Z" ]
    run ingest <"$FIX/v1_success.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == "duplicate: this Message-ID is stored already (mail 1), nothing changed" ]]
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 1 ]
    [ "$(q "SELECT COUNT(*) FROM job_run")" = 1 ]
    [ "$(q "SELECT COUNT(*) FROM job_object")" = 3 ]
    # the raw mail is kept byte for byte
    [ "$(q "SELECT size || ' ' || length(CAST(raw AS BLOB)) FROM mail_message")" = "$(wc -c <"$FIX/v1_success.eml") $(wc -c <"$FIX/v1_success.eml")" ]
}

@test "mail ingest: retries of one run arrive as three mails and make one run; the last result wins" {
    for f in v3_retry1 v3_retry2 v3_final; do
        run ingest <"$FIX/$f.eml"
        [ "$status" -eq 0 ]
    done
    [ "$(q "SELECT COUNT(*) FROM job_run")" = 1 ]
    [ "$(q "SELECT status FROM job_run")" = success ]
    [ "$(q "SELECT COUNT(*) || ' ' || MIN(status) FROM job_object")" = "1 success" ]
    [ "$(q "SELECT COUNT(*) FROM mail_message WHERE run_id IS NOT NULL")" = 3 ]
}

@test "mail ingest: not-a-run mails and unknown mails are stored and make no run" {
    run ingest <"$FIX/x1_vbr_daily_summary.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == "stored mail 1: not a run" ]]
    run ingest <"$FIX/u1_unknown.eml"
    [ "$status" -eq 0 ]
    [[ "$output" == "stored mail 2: in the Inbox (not recognised)" ]]
    [ "$(q "SELECT COUNT(*) FROM job_run")" = 0 ]
    [ "$(q "SELECT group_concat(state, ',') FROM (SELECT state FROM mail_message ORDER BY id)")" = "not_a_run,inbox" ]
}

@test "mail ingest: bad input is refused with one line and exit 1, and nothing is stored" {
    run ingest </dev/null
    [ "$status" -eq 1 ]
    [[ "$output" == "backupctl mail ingest: empty message" ]]
    run ingest < <(printf 'Subject: x\n\nab\0cd\n')
    [ "$status" -eq 1 ]
    [[ "$output" == *"NUL byte at offset 14" ]]
    run ingest < <(printf 'not a mail at all\n')
    [ "$status" -eq 1 ]
    [[ "$output" == *"no header line at the start" ]]
    head -c 27000000 /dev/zero | tr '\0' 'a' >"$T/big.eml"
    run ingest <"$T/big.eml"
    [ "$status" -eq 1 ]
    [[ "$output" == *"over the 25 MB limit: not stored" ]]
    run "$BACKUPCTL" mail ingest --config "$T/b.conf" --source nope <"$FIX/v1_success.eml"
    [ "$status" -eq 1 ]
    [[ "$output" == *'has no source "nope" of type mail' ]]
    run "$BACKUPCTL" mail ingest --config "$T/b.conf" <"$FIX/v1_success.eml"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    if [ -f "$T/b.db" ]; then [ "$(q "SELECT COUNT(*) FROM mail_message")" = 0 ]; fi
}

@test "mail: serve scans the Maildir, moves each mail to cur/ after its commit" {
    cp "$FIX"/*.eml "$T/maildir/new/"
    [ "$(ls "$T/maildir/new" | wc -l)" -eq $N_MAILS ]
    start_serve
    wait_maildir_empty
    [ "$(ls "$T/maildir/cur" | grep -c ':2,S$')" -eq $N_MAILS ]
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = $N_MAILS ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'email'")" = $N_RUNS ]
    [ "$(q "SELECT COUNT(*) FROM mail_message WHERE state = 'inbox'")" = 2 ]
    [ "$(q "SELECT COUNT(*) FROM mail_message WHERE state = 'not_a_run'")" = 4 ]
    # a mail delivered later is picked up by a later scan (every interval)
    sed 's/<v1@synthetic.backupctl>/<v1-again@synthetic.backupctl>/' "$FIX/v1_success.eml" >"$T/maildir/tmp/late"
    mv "$T/maildir/tmp/late" "$T/maildir/new/late"
    wait_maildir_empty
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = $((N_MAILS + 1)) ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'email'")" = $N_RUNS ] # same run
}

@test "mail: a crash between the commit and the move loses nothing and doubles nothing" {
    cp "$FIX"/*.eml "$T/maildir/new/"
    BACKUPCTL_TEST_MAIL_CRASH=after-commit start_serve
    wait_serve_crash
    grep -q "aborting after the commit, before the move" "$T/serve.err"
    # the first mail is committed but still in new/
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 1 ]
    [ "$(ls "$T/maildir/new" | wc -l)" -eq $N_MAILS ]
    start_serve
    wait_maildir_empty
    [ "$(ls "$T/maildir/cur" | wc -l)" -eq $N_MAILS ]
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = $N_MAILS ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'email'")" = $N_RUNS ]
    [ "$(q "SELECT COUNT(*) FROM (SELECT message_id FROM mail_message GROUP BY message_id HAVING COUNT(*) > 1)")" = 0 ]
    grep -q "1 duplicate(s)" "$T/serve.err"
}

@test "mail: the Inbox API lists unknown mails, serves the raw EML, and an assignment makes the next such mail a run by itself" {
    printf 'pw-123456789\n' >"$T/pw"
    chmod 600 "$T/pw"
    for u in oper:operator view:viewer; do
        "$BACKUPCTL" user add "${u%%:*}" --role "${u##*:}" --password-file "$T/pw" \
            --config "$T/b.conf" >/dev/null
    done
    OPER=$("$BACKUPCTL" token add --user oper --config "$T/b.conf" 2>/dev/null)
    VIEW=$("$BACKUPCTL" token add --user view --config "$T/b.conf" 2>/dev/null)
    cp "$FIX/v1_success.eml" "$FIX/u1_unknown.eml" "$FIX/x3_newsletter.eml" "$T/maildir/new/"
    start_serve
    wait_maildir_empty
    run curl -fsS -H "Authorization: Bearer $VIEW" "$SERVE_URL/api/v1/inbox"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.total' <<<"$output")" = 1 ]
    [ "$(jq -r '.items[0].subject' <<<"$output")" = "Nightly rsync report 2026-11-30: OK" ]
    [ "$(jq -r '.items[0].from' <<<"$output")" = "cron@files.acme.example" ]
    [ "$(jq -r '.items[0].status_hint' <<<"$output")" = success ]
    mail=$(jq -r '.items[0].id' <<<"$output")
    run curl -fsS -H "Authorization: Bearer $VIEW" "$SERVE_URL/api/v1/inbox?state=all"
    [ "$(jq -r '.total' <<<"$output")" = 3 ]
    run curl -sS -H "Authorization: Bearer $VIEW" "$SERVE_URL/api/v1/inbox?state=nope"
    [ "$(jq -r '.error.code' <<<"$output")" = bad_request ]
    # Download EML: byte for byte, as message/rfc822
    curl -fsS -D "$T/h" -o "$T/raw.eml" -H "Authorization: Bearer $VIEW" "$SERVE_URL/api/v1/inbox/$mail/raw"
    grep -qi '^content-type: message/rfc822' "$T/h"
    cmp "$T/raw.eml" "$FIX/u1_unknown.eml"
    run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VIEW" "$SERVE_URL/api/v1/inbox/999/raw"
    [ "$output" = 404 ]
    job=$(q "SELECT id FROM job WHERE name = 'DC-Daily'")
    # a viewer may not assign; an operator may, once
    run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VIEW" \
        -H 'Content-Type: application/json' -d "{\"job\": $job}" "$SERVE_URL/api/v1/inbox/$mail/assign"
    [ "$output" = 403 ]
    run curl -fsS -H "Authorization: Bearer $OPER" -H 'Content-Type: application/json' \
        -d "{\"job\": $job}" "$SERVE_URL/api/v1/inbox/$mail/assign"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.state' <<<"$output")" = assigned ]
    run curl -sS -w '%{http_code}' -o /dev/null -H "Authorization: Bearer $OPER" -H 'Content-Type: application/json' \
        -d "{\"job\": $job}" "$SERVE_URL/api/v1/inbox/$mail/assign"
    [ "$output" = 409 ]
    [ "$(q "SELECT COUNT(*) FROM audit WHERE action = 'mail.assign'")" = 1 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE job_id = $job")" = 2 ]
    # the run's mail, for its Download EML
    run_id=$(q "SELECT run_id FROM mail_message WHERE id = $mail")
    run curl -fsS -H "Authorization: Bearer $VIEW" "$SERVE_URL/api/v1/inbox?run=$run_id"
    [ "$(jq -r '.total' <<<"$output")" = 1 ]
    [ "$(jq -r '.items[0].id' <<<"$output")" = "$mail" ]
    # the next mail of that sender and subject shape: a run of the job, no Inbox
    cp "$FIX/u2_unknown_next.eml" "$T/maildir/new/"
    wait_maildir_empty
    [ "$(q "SELECT state FROM mail_message WHERE message_id = 'u2@synthetic.backupctl'")" = run ]
    [ "$(q "SELECT status FROM job_run WHERE vendor_run_id = 'mail:u2@synthetic.backupctl' AND job_id = $job")" = failed ]
    run curl -fsS -H "Authorization: Bearer $VIEW" "$SERVE_URL/api/v1/inbox"
    [ "$(jq -r '.total' <<<"$output")" = 0 ]
    # "create a job from it": a newsletter-free unknown mail of another sender
    sed 's/cron@files.acme.example/cron@db.acme.example/; s/<u1@/<u1-db@/' "$FIX/u1_unknown.eml" >"$T/maildir/tmp/db"
    mv "$T/maildir/tmp/db" "$T/maildir/new/db"
    wait_maildir_empty
    mail=$(q "SELECT id FROM mail_message WHERE sender = 'cron@db.acme.example'")
    run curl -sS -w ' %{http_code}' -H "Authorization: Bearer $OPER" -H 'Content-Type: application/json' \
        -d '{"create": {"name": ""}}' "$SERVE_URL/api/v1/inbox/$mail/assign"
    [[ "$output" == *" 400" ]]
    run curl -fsS -H "Authorization: Bearer $OPER" -H 'Content-Type: application/json' \
        -d '{"create": {"name": "db rsync"}}' "$SERVE_URL/api/v1/inbox/$mail/assign"
    [ "$status" -eq 0 ]
    [ "$(q "SELECT c.name || '/' || j.name || '/' || j.kind FROM job j JOIN customer c ON c.id = j.customer_id WHERE j.id = $(jq -r .job_id <<<"$output")")" = "Acme/db rsync/email" ]
}

#!/usr/bin/env bats
# Push check-ins (issue 14): a `type = push` source, jobs created by `backupctl job add` and
# POST /api/v1/jobs, pings to the real `backupctl serve` over loopback (success, start/end
# with a measured duration, fail, exit status, rid idempotency, a body as the message, rate
# limits, the uuid never logged in full) and `backupctl ping` wrapping a command. Needs curl,
# jq, sqlite3.

bats_require_minimum_version 1.5.0

setup() {
    load helpers
    setup_tmp
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[server]
listen = 127.0.0.1:0
[source "scripts"]
type = push
customer = Acme
CONF
}

teardown() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null || true
    [ -n "${SERVE_PID:-}" ] && wait "$SERVE_PID" 2>/dev/null || true
    teardown_tmp
}

q() { sqlite3 "$T/b.db" "$1"; }

# add_job NAME [ARGS…]: `job add`, sets UUID (and URL against the running serve)
add_job() {
    run "$BACKUPCTL" job add --config "$T/b.conf" --source scripts --name "$@"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    local line=${lines[1]}
    UUID=${line##*/ping/}
    [[ "$UUID" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
    URL="$SERVE_URL/ping/$UUID"
}

@test "push: config takes a push source, refuses one with a url; check and poll have nothing to poll" {
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    printf 'url = https://x.example/\n' >>"$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *'source "scripts": a push source takes no url'* ]]
    sed -i '$d' "$T/b.conf"
    run "$BACKUPCTL" poll --once --source scripts --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"source scripts is a push source: nothing to poll"* ]]
    add_job nightly-dump
    start_serve
    curl -fsS "$SERVE_URL/ping/$UUID" >/dev/null
    # a push source is never polled, so never "down": check is OK, not CRITICAL
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == "BACKUPCTL OK"* ]]
}

@test "push: success, start/end with a duration, fail, exit status, a body as the message" {
    start_serve
    add_job nightly-dump --kind database
    run curl -sS "$URL"
    [[ "$output" == *'"ok":true'* ]]
    [ "$(q "SELECT status || ' ' || source_type || ' ' || (end_at = start_at) FROM job_run")" = "success push 1" ]
    [ "$(q "SELECT c.name || '/' || j.name || '/' || j.kind FROM job j JOIN customer c ON c.id = j.customer_id")" = "Acme/nightly-dump/database" ]
    # the external id is not the secret
    run q "SELECT external_id FROM job"
    [[ "$output" != *"$UUID"* ]]
    curl -fsS "$URL/start" >/dev/null
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE status = 'running'")" -eq 1 ]
    sleep 0.2
    run curl -fsS -X POST --data-binary $'dump failed: disk full\nat line 3' "$URL/fail"
    [[ "$output" =~ \"duration_ms\":([0-9]+) ]]
    [ "${BASH_REMATCH[1]}" -ge 200 ]
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 2 ] # the start and its end are one run
    [ "$(q "SELECT status || '|' || raw_status || '|' || message FROM job_run ORDER BY id DESC LIMIT 1")" = $'failed|fail|dump failed: disk full\nat line 3' ]
    [ "$(q "SELECT end_at - start_at >= 200 FROM job_run ORDER BY id DESC LIMIT 1")" = 1 ]
    curl -fsS "$URL/0" >/dev/null
    curl -fsS "$URL/3" >/dev/null
    [ "$(q "SELECT group_concat(status || ':' || raw_status, ',') FROM (SELECT * FROM job_run ORDER BY id DESC LIMIT 2)")" = "failed:exit 3,success:exit 0" ]
    # a body is cut at 10 KB and control bytes never reach the store
    head -c 20000 /dev/zero | tr '\0' 'x' | sed 's/^/\x1b[31m/' >"$T/big"
    curl -fsS -X POST --data-binary @"$T/big" "$URL" >/dev/null
    [ "$(q "SELECT length(message) <= 10240, instr(message, char(27)) FROM job_run ORDER BY id DESC LIMIT 1")" = "1|0" ]
}

@test "push: a rid makes a retried ping change nothing; an unknown or malformed uuid is a JSON 404" {
    start_serve
    add_job backup
    for i in 1 2 3; do curl -fsS "$URL/start?rid=run-42" >/dev/null; done
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 1 ]
    for i in 1 2 3; do curl -fsS "$URL?rid=run-42" >/dev/null; done
    [ "$(q "SELECT COUNT(*) || ' ' || status FROM job_run")" = "1 success" ]
    run curl -fsS "$URL/fail?rid=run-42" # too late: the run is final
    [[ "$output" == *'"duplicate":true'* ]]
    [ "$(q "SELECT status FROM job_run")" = "success" ]
    # without a rid every ping is a run of its own
    curl -fsS "$URL" >/dev/null
    curl -fsS "$URL" >/dev/null
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 3 ]
    run curl -sS -o "$T/body" -w '%{http_code} %{content_type}' "$SERVE_URL/ping/00000000-0000-4000-8000-000000000000"
    [ "$output" = "404 application/json; charset=utf-8" ]
    jq -e '.error.code == "not_found"' "$T/body" >/dev/null
    run curl -sS -o /dev/null -w '%{http_code}' "$SERVE_URL/ping/not-a-uuid"
    [ "$output" = 404 ]
    run curl -sS -o /dev/null -w '%{http_code}' "$URL/256"
    [ "$output" = 404 ]
    run curl -sS -o /dev/null -w '%{http_code}' "$URL?rid=bad%20rid"
    [ "$output" = 400 ]
    run curl -sS -o /dev/null -w '%{http_code}' "$URL?other=1"
    [ "$output" = 400 ]
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 3 ]
}

@test "push: a second start closes the first as unknown (never stuck running)" {
    start_serve
    add_job backup
    curl -fsS "$URL/start" >/dev/null
    curl -fsS "$URL/start" >/dev/null
    [ "$(q "SELECT group_concat(status, ',') FROM (SELECT status FROM job_run ORDER BY id)")" = "unknown,running" ]
    curl -fsS "$URL" >/dev/null
    [ "$(q "SELECT group_concat(status, ',') FROM (SELECT status FROM job_run ORDER BY id)")" = "unknown,success" ]
}

@test "push: pings are rate limited per uuid (429 + Retry-After) and the uuid is never logged in full" {
    start_serve --verbose
    add_job chatty
    local codes=""
    for i in $(seq 1 62); do
        codes="$codes $(curl -sS -o /dev/null -w '%{http_code}' "$URL")"
    done
    [[ "$codes" == *" 200 200"* ]]
    [[ "$codes" == *"429 429" ]]
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 60 ]
    run curl -sS -D - -o /dev/null "$URL"
    [[ "$output" == *"Retry-After: "* ]]
    # another job is not limited by the first one's flood
    local first=$UUID
    add_job quiet
    run curl -sS -o /dev/null -w '%{http_code}' "$URL"
    [ "$output" = 200 ]
    grep -q "/ping/${first:0:8}" "$T/serve.err"
    run grep -c -- "$first" "$T/serve.err"
    [ "$output" -eq 0 ]
    run grep -c -- "$UUID" "$T/serve.err"
    [ "$output" -eq 0 ]
}

@test "push: POST /api/v1/jobs (operator, audited) answers the ping URL; GET …/ping gives it again" {
    printf 'pw-123456789\n' >"$T/pw"
    chmod 600 "$T/pw"
    for u in oper:operator view:viewer; do
        "$BACKUPCTL" user add "${u%%:*}" --role "${u##*:}" --password-file "$T/pw" \
            --config "$T/b.conf" >/dev/null
    done
    OPER=$("$BACKUPCTL" token add --user oper --config "$T/b.conf" 2>/dev/null)
    VIEW=$("$BACKUPCTL" token add --user view --config "$T/b.conf" 2>/dev/null)
    start_serve
    body='{"source":"scripts","name":"pg-dump","customer":"Contoso"}'
    run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VIEW" \
        -H 'Content-Type: application/json' -d "$body" "$SERVE_URL/api/v1/jobs"
    [ "$output" = 403 ]
    run curl -fsS -H "Authorization: Bearer $OPER" -H 'Content-Type: application/json' \
        -d "$body" "$SERVE_URL/api/v1/jobs"
    [ "$status" -eq 0 ]
    id=$(jq -r .id <<<"$output")
    url=$(jq -r .ping_url <<<"$output")
    [[ "$url" == "$SERVE_URL/ping/"* ]]
    run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OPER" \
        -H 'Content-Type: application/json' -d "$body" "$SERVE_URL/api/v1/jobs"
    [ "$output" = 409 ]
    run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OPER" \
        -H 'Content-Type: application/json' -d '{"source":"nope","name":"x"}' "$SERVE_URL/api/v1/jobs"
    [ "$output" = 400 ]
    [ "$(curl -fsS -H "Authorization: Bearer $OPER" "$SERVE_URL/api/v1/jobs/$id/ping" | jq -r .ping_url)" = "$url" ]
    curl -fsS "$url" >/dev/null
    [ "$(curl -fsS -H "Authorization: Bearer $VIEW" "$SERVE_URL/api/v1/jobs/$id" | jq -r '.runs[0].status')" = success ]
    [ "$(q "SELECT action || ' ' || who FROM audit WHERE action = 'job.create'")" = "job.create oper" ]
    run q "SELECT after_json FROM audit WHERE action = 'job.create'"
    [[ "$output" != *"${url##*/ping/}"* ]]
}

@test "push: backupctl ping wraps a command: start, output as the message, its exit status" {
    start_serve
    add_job wrapped
    run "$BACKUPCTL" ping "$URL" -- sh -c 'echo copying; echo oops >&2; exit 3'
    [ "$status" -eq 3 ]
    [[ "$output" == *copying*oops* ]]
    [ "$(q "SELECT status || '|' || raw_status || '|' || message || '|' || (end_at >= start_at) FROM job_run")" = $'failed|exit 3|copying\noops|1' ]
    run "$BACKUPCTL" ping "$URL" -- true
    [ "$status" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE status = 'success'")" -eq 1 ]
    run -127 "$BACKUPCTL" ping "$URL" -- /nonexistent/tool
    [ "$status" -eq 127 ]
    [ "$(q "SELECT raw_status FROM job_run ORDER BY id DESC LIMIT 1")" = "exit 127" ]
    # one ping, and bad arguments
    run "$BACKUPCTL" ping "$URL" fail --message "tape stuck"
    [ "$status" -eq 0 ]
    [ "$(q "SELECT status || '|' || message FROM job_run ORDER BY id DESC LIMIT 1")" = "failed|tape stuck" ]
    run "$BACKUPCTL" ping "$SERVE_URL/ping/00000000-0000-4000-8000-000000000000"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no push job has this ping URL"* ]]
    run "$BACKUPCTL" ping "$URL" maybe
    [ "$status" -eq 1 ]
    run "$BACKUPCTL" ping ftp://x/ping/y
    [ "$status" -eq 1 ]
    # a delivery failure never hides the command's own exit status
    run "$BACKUPCTL" ping --timeout 1s "http://127.0.0.1:1/ping/$UUID" -- sh -c 'exit 4'
    [ "$status" -eq 4 ]
    [[ "$output" == *"not delivered"* ]]
}

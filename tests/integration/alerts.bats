#!/usr/bin/env bats
# Alerts (issue 10) end to end: `backupctl serve` with a push source and an [alert] webhook
# section, a webhook receiver started here (tests/integration/hook_receiver.py) that refuses
# the first attempts of every delivery: one incident per failure, the same Idempotency-Key on
# every attempt, a valid HMAC, Retry-After honoured, one "recovered" message, nothing sent
# twice, a pending delivery sent by the next `serve` after a restart, a source with wrong
# credentials is one incident. Needs curl, jq, sqlite3, python3.

bats_require_minimum_version 1.5.0

setup() {
    load helpers
    setup_tmp
    command -v python3 >/dev/null || { echo "alerts.bats needs python3" >&2; return 1; }
    printf 'hmac-key-for-tests-%s\n' "$RANDOM$RANDOM" >"$T/hmac"
    printf 'pw-123456789\n' >"$T/pw"
    chmod 600 "$T/hmac" "$T/pw"
}

teardown() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null || true
    [ -n "${SERVE_PID:-}" ] && wait "$SERVE_PID" 2>/dev/null || true
    stop_sims
    teardown_tmp
}

q() { sqlite3 "$T/b.db" "$1"; }

# receiver ARGS… : start the webhook receiver (log in $T/hook.log); sets HOOK_URL.
receiver() {
    : >"$T/hook.log"
    start_sim HOOK "$SRC_DIR/tests/integration/hook_receiver.py" --log "$T/hook.log" \
        --hmac-file "$T/hmac" "$@"
}

conf() {
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[server]
listen = 127.0.0.1:0
public_url = https://backups.example/
[source "scripts"]
type = push
customer = Acme
[alert "ops"]
webhook = $HOOK_URL/hook
secret_file = $T/hmac
$*
CONF
}

# a push job through the API as an operator; sets PING
push_job() {
    if [ -z "${OPER:-}" ]; then
        "$BACKUPCTL" user add oper --role operator --password-file "$T/pw" --config "$T/b.conf" >/dev/null
        OPER=$("$BACKUPCTL" token add --user oper --config "$T/b.conf" 2>/dev/null)
    fi
    local url
    url=$(curl -fsS -H "Authorization: Bearer $OPER" -H 'Content-Type: application/json' \
        -d "{\"source\":\"scripts\",\"name\":\"$1\",\"customer\":\"Acme\"}" \
        "$SERVE_URL/api/v1/jobs" | jq -r .ping_url)
    # the URL users get is under public_url; the test talks to serve directly
    [[ "$url" == "https://backups.example/ping/"* ]]
    PING="$SERVE_URL/ping/${url##*/ping/}"
}

# wait_hook JQ-FILTER N: until N lines of the receiver's log match (at most 60 s)
wait_hook() {
    local i=0
    until [ "$(jq -c "select($1)" "$T/hook.log" | wc -l)" -ge "$2" ]; do
        i=$((i + 1))
        [ $i -lt 1200 ] || { echo "wait_hook: no $2 x $1 in:"; cat "$T/hook.log"; cat "$T/serve.err"; return 1; }
        sleep 0.05
    done
}

@test "alerts: a failure is one incident, retried with one Idempotency-Key until accepted, signed; recovery is one message" {
    receiver --fail-first 2 --retry-after 1
    conf "header = X-Team: backup-ops"
    start_serve
    push_job pg-dump
    curl -fsS -X POST --data-binary 'pg_dump: connection refused' "$PING/fail" >/dev/null
    wait_hook '.status == 200 and .event == "run.failed"' 1
    key=$(jq -r 'select(.status == 200) | .key' "$T/hook.log")
    # three attempts, the first two refused, all with the same key and a valid signature
    [ "$(jq -r --arg k "$key" 'select(.key == $k) | .status' "$T/hook.log" | tr '\n' ' ')" = "503 503 200 " ]
    [ "$(jq -r 'select(.sig_ok != true)' "$T/hook.log" | wc -l)" -eq 0 ]
    [ "$(jq -r 'select(.team != "backup-ops")' "$T/hook.log" | wc -l)" -eq 0 ]
    [ "$(jq -r 'select(.content_type != "application/json")' "$T/hook.log" | wc -l)" -eq 0 ]
    body=$(jq -r 'select(.status == 200) | .body' "$T/hook.log")
    [ "$(jq -r .customer <<<"$body")" = Acme ]
    [ "$(jq -r .job <<<"$body")" = pg-dump ]
    [ "$(jq -r .id <<<"$body")" = "$key" ]
    [ "$(jq -r .run.message <<<"$body")" = 'pg_dump: connection refused' ]
    [[ "$(jq -r .url <<<"$body")" == "https://backups.example/#/jobs/"* ]]
    [ "$(q "SELECT state || ' ' || attempts FROM alert_outbox")" = "sent 3" ]
    # the same state again (another failure of the same incident) sends nothing new …
    curl -fsS -X POST "$PING/fail" >/dev/null
    # … and the success that closes it sends one "recovered"
    curl -fsS "$PING" >/dev/null
    wait_hook '.status == 200 and .event == "run.recovered"' 1
    [ "$(jq -r 'select(.status == 200) | .event' "$T/hook.log" | sort | tr '\n' ' ')" = "run.failed run.recovered " ]
    [ "$(q "SELECT COUNT(*) FROM alert_incident WHERE closed_at IS NOT NULL")" -eq 1 ]
    [ "$(jq -r 'select(.status == 200) | .key' "$T/hook.log" | sort -u | wc -l)" -eq 2 ]
    # the API and the metrics tell the same story (every message was refused twice first)
    run curl -fsS -H "Authorization: Bearer $OPER" "$SERVE_URL/api/v1/alerts?state=sent"
    [ "$(jq -r '.total' <<<"$output")" -eq 2 ]
    [ "$(jq -r '[.items[].event] | sort | join(" ")' <<<"$output")" = "run.failed run.recovered" ]
    [ "$(jq -r '.items[] | select(.event == "run.failed") | .attempts' <<<"$output")" -eq 3 ]
    metrics=$(curl -fsS -H "Authorization: Bearer $OPER" "$SERVE_URL/metrics")
    grep -qx 'backupctl_alerts_sent_total{channel="webhook",result="retry"} 4' <<<"$metrics" || { grep alerts <<<"$metrics"; false; }
    grep -qx 'backupctl_alerts_sent_total{channel="webhook",result="sent"} 2' <<<"$metrics"
    grep -qx 'backupctl_alerts_pending 0' <<<"$metrics"
    # the HMAC key is nowhere in a delivered body or the log
    run grep -F -f "$T/hmac" "$T/hook.log" "$T/serve.err"
    [ "$status" -eq 1 ]
}

@test "alerts: after = 2 waits for the second failure in a row" {
    receiver
    conf "after = 2"
    start_serve
    push_job nightly
    A=$PING
    push_job sentinel
    B=$PING
    curl -fsS -X POST "$A/fail" >/dev/null
    curl -fsS -X POST "$B/fail" >/dev/null
    curl -fsS -X POST "$B/fail" >/dev/null
    # B's alert comes from an evaluation that also saw A's single failure: nothing for A
    wait_hook '.event == "run.failed"' 1
    [ "$(jq -r '.body | fromjson | .job' "$T/hook.log" | sort -u)" = sentinel ]
    curl -fsS "$A/start" >/dev/null # a run in progress says nothing
    curl -fsS -X POST "$A/fail" >/dev/null
    wait_hook '.event == "run.failed"' 2
    [ "$(jq -r '.body | fromjson | .job' "$T/hook.log" | sort -u | tr '\n' ' ')" = "nightly sentinel " ]
    [ "$(q "SELECT COUNT(*) FROM alert_incident")" -eq 2 ]
}

@test "alerts: a delivery pending when serve stops is sent by the next serve, with the same key" {
    receiver --fail-first 1 --retry-after 2
    conf
    start_serve
    push_job weekly
    curl -fsS -X POST "$PING/fail" >/dev/null
    wait_hook '.status == 503' 1
    key=$(jq -r 'select(.status == 503) | .key' "$T/hook.log")
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
    [ "$(q "SELECT state FROM alert_outbox WHERE uid = '$key'")" = pending ]
    start_serve
    wait_hook '.status == 200' 1
    [ "$(jq -r 'select(.status == 200) | .key' "$T/hook.log")" = "$key" ]
    [ "$(jq -r 'select(.status == 200)' "$T/hook.log" | jq -s length)" -eq 1 ]
}

@test "alerts: a source with wrong credentials is one incident, without the password" {
    receiver
    start_sim COVE "$COVE_SIM" --devices 20 --customers 2
    printf 'wrong-password-%s\n' "$RANDOM" >"$T/cove.secret"
    chmod 600 "$T/cove.secret"
    conf "[source \"cove-msp\"]
type = cove
url = $COVE_URL/jsonapi
partner = Acme MSP (admin@acme.example)
username = backupctl-api
password_file = $T/cove.secret
interval = 1h"
    start_serve
    wait_hook '.event == "source.down"' 1
    body=$(jq -r 'select(.event == "source.down") | .body' "$T/hook.log")
    [ "$(jq -r .source <<<"$body")" = cove-msp ]
    run grep -F -f "$T/cove.secret" "$T/hook.log"
    [ "$status" -eq 1 ]
    # a push failure afterwards is delivered; the source is still one incident
    push_job after-source
    curl -fsS -X POST "$PING/fail" >/dev/null
    wait_hook '.event == "run.failed"' 1
    [ "$(jq -r 'select(.event == "source.down")' "$T/hook.log" | jq -s length)" -eq 1 ]
    [ "$(q "SELECT COUNT(*) FROM alert_incident WHERE scope = 'source'")" -eq 1 ]
}

@test "alerts: a refused delivery is failed with its error in the API; retry now sends it again" {
    receiver --fail-first 1 --fail-code 400
    conf
    start_serve
    push_job monthly
    curl -fsS -X POST "$PING/fail" >/dev/null
    wait_hook '.status == 400' 1
    local i=0
    until [ "$(q "SELECT state FROM alert_outbox")" = failed ]; do
        i=$((i + 1)); [ $i -lt 400 ] || { q "SELECT * FROM alert_outbox"; false; }
        sleep 0.05
    done
    run curl -fsS -H "Authorization: Bearer $OPER" "$SERVE_URL/api/v1/alerts?state=failed"
    [ "$(jq -r '.items[0].last_code' <<<"$output")" = 400 ]
    [[ "$(jq -r '.items[0].last_error' <<<"$output")" == *"HTTP 400"* ]]
    id=$(jq -r '.items[0].id' <<<"$output")
    run curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $OPER" \
        "$SERVE_URL/api/v1/alerts/999999/retry"
    [ "$output" = 404 ]
    run curl -fsS -X POST -H "Authorization: Bearer $OPER" "$SERVE_URL/api/v1/alerts/$id/retry"
    [ "$status" -eq 0 ]
    wait_hook '.status == 200' 1
    [ "$(jq -r '.key' "$T/hook.log" | sort -u | wc -l)" -eq 1 ]
    [ "$(q "SELECT action || ' ' || who FROM audit WHERE action = 'alert.retry'")" = "alert.retry oper" ]
}

@test "alerts: backupctl alert test sends a signed test message through the webhook" {
    receiver
    conf
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == *"webhook: sent (200)"* ]] || { echo "$output"; false; }
    [ "$(jq -r 'select(.status == 200) | .event' "$T/hook.log")" = test ]
    [ "$(jq -r '.sig_ok' "$T/hook.log")" = true ]
    [ -n "$(jq -r '.key' "$T/hook.log")" ]
    # a receiver that refuses: exit 8 and the reason
    stop_sims
    receiver --fail-first 5 --fail-code 500
    conf
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    [ "$status" -eq 8 ]
    [[ "$output" == *"HTTP 500"* ]]
    run grep -F -f "$T/hmac" <<<"$output"
    [ "$status" -eq 1 ]
}

# polls N: wait until the source cove-msp has N finished polls
polls() {
    local i=0
    until [ "$(q "SELECT COUNT(*) FROM poll_run p JOIN source s ON s.id = p.source_id WHERE s.name = 'cove-msp' AND p.finished_at IS NOT NULL")" -ge "$1" ]; do
        i=$((i + 1)); [ $i -lt 1200 ] || { cat "$T/serve.err"; return 1; }
        sleep 0.05
    done
}

@test "alerts: a Cove poll alerts each failing device once; unchanged polls after it send nothing" {
    receiver
    start_sim COVE "$COVE_SIM" --devices 30 --customers 2
    printf 'sim-password\n' >"$T/cove.secret"
    chmod 600 "$T/cove.secret"
    conf "[source \"cove-msp\"]
type = cove
url = $COVE_URL/jsonapi
partner = Acme MSP (admin@acme.example)
username = backupctl-api
password_file = $T/cove.secret
interval = 1h"
    "$BACKUPCTL" user add adm --role admin --password-file "$T/pw" --config "$T/b.conf" >/dev/null
    ADM=$("$BACKUPCTL" token add --user adm --config "$T/b.conf" 2>/dev/null)
    start_serve
    # the first poll's evaluation queues every message in one transaction: once one is
    # delivered, all exist
    wait_hook '.status == 200' 1
    n=$(q "SELECT COUNT(*) FROM alert_outbox")
    [ "$n" -gt 0 ]
    [ "$n" -eq "$(q "SELECT COUNT(*) FROM alert_incident")" ]
    [ "$(q "SELECT COUNT(*) FROM alert_incident WHERE scope = 'job'")" -eq "$n" ]
    # two more polls of an unchanged fleet: when the third has finished, the evaluation after
    # the second is done too (one source never polls twice at once)
    curl -fsS -X POST -H "Authorization: Bearer $ADM" "$SERVE_URL/api/v1/sources/cove-msp/poll" >/dev/null
    polls 2
    curl -fsS -X POST -H "Authorization: Bearer $ADM" "$SERVE_URL/api/v1/sources/cove-msp/poll" >/dev/null
    polls 3
    [ "$(q "SELECT COUNT(*) FROM alert_outbox")" -eq "$n" ]
    [ "$(q "SELECT COUNT(*) FROM alert_incident")" -eq "$n" ]
}

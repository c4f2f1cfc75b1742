#!/usr/bin/env bats
# `backupctl serve` as a daemon: start-up checks, schedule, backoff, SIGHUP, SIGTERM, one
# instance per SQLite file. API routes are covered by api.bats.

setup() {
    load helpers
    setup_tmp
    printf 'sim-password\n' >"$T/cove.secret"
    chmod 600 "$T/cove.secret"
}

teardown() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null || true
    [ -n "${SERVE_PID:-}" ] && wait "$SERVE_PID" 2>/dev/null || true
    teardown_tmp
}

conf_head() {
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[server]
listen = 127.0.0.1:0
CONF
}

add_cove() { # NAME URL [interval]
    cat >>"$T/b.conf" <<CONF
[source "$1"]
type = cove
url = $2/jsonapi
partner = Acme MSP (admin@acme.example)
username = backupctl-api
password_file = $T/cove.secret
interval = ${3:-1m}
CONF
}

serve() {
    start_serve "$@" || return 1
    API=$SERVE_URL
}

q() { sqlite3 "$T/b.db" "$1"; }

wait_for() { # SQL EXPECTED [tries]
    local i=0
    until [ "$(q "$1" 2>/dev/null)" = "$2" ]; do
        i=$((i + 1)); [ $i -lt "${3:-400}" ] || { echo "timeout waiting for $1 = $2 (got $(q "$1"))"; return 1; }
        sleep 0.05
    done
}

@test "serve refuses an invalid configuration and a group-readable secret" {
    printf '[source "x"]\ntype = cove\n' >"$T/b.conf"
    run "$BACKUPCTL" serve --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"not starting"*"b.conf:1"* ]]
    start_sim COVE "$COVE_SIM"
    conf_head
    add_cove cove-a "$COVE_URL"
    chmod 644 "$T/cove.secret"
    run "$BACKUPCTL" serve --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"chmod 600"* ]]
}

@test "serve polls at start, answers healthz/readyz, and a second instance is refused" {
    start_sim COVE "$COVE_SIM" --devices 12
    conf_head
    add_cove cove-a "$COVE_URL"
    serve
    [ "$(curl -s "$API/healthz")" = '{"status":"ok"}' ]
    curl -sf "$API/readyz" >/dev/null
    wait_for "SELECT COUNT(*) FROM job" 12
    run "$BACKUPCTL" serve --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"another backupctl serve (pid $SERVE_PID)"* ]]
}

@test "SIGHUP adds a source without a restart; an invalid config is not swapped in" {
    start_sim COVE "$COVE_SIM" --devices 5
    conf_head
    add_cove cove-a "$COVE_URL"
    serve
    wait_for "SELECT COUNT(*) FROM source" 1
    cp "$T/b.conf" "$T/good.conf"
    add_cove cove-b "$COVE_URL"
    kill -HUP "$SERVE_PID"
    wait_for "SELECT COUNT(*) FROM poll_run p JOIN source s ON s.id = p.source_id WHERE s.name = 'cove-b' AND p.result = 'ok'" 1
    printf '[source "broken"]\ntype = nope\n' >>"$T/b.conf"
    kill -HUP "$SERVE_PID"
    i=0; until grep -q 'NOT reloaded' "$T/serve.err"; do i=$((i+1)); [ $i -lt 200 ]; sleep 0.05; done
    kill -0 "$SERVE_PID"
    curl -sf "$API/readyz" >/dev/null
}

@test "a source whose vendor is down is backed off while the others keep their schedule" {
    start_sim COVE "$COVE_SIM" --devices 5
    conf_head
    add_cove good "$COVE_URL" 10s
    add_cove down "http://127.0.0.1:1" 10s
    serve
    # within ~12 s: good polls at t=0 and t≈10 s; down fails at 0 then waits 30 s
    wait_for "SELECT COUNT(*) FROM poll_run p JOIN source s ON s.id = p.source_id WHERE s.name = 'good' AND p.result = 'ok'" 2 400
    [ "$(q "SELECT COUNT(*) FROM poll_run p JOIN source s ON s.id = p.source_id WHERE s.name = 'down'")" -eq 1 ]
    grep -q 'source down: poll failed (1 in a row), next try in 30 s' "$T/serve.err"
}

@test "rejected credentials are not retried until an admin resumes the source" {
    start_sim COVE "$COVE_SIM" --devices 5
    printf 'wrong\n' >"$T/cove.secret"
    conf_head
    add_cove cove-a "$COVE_URL" 10s
    serve
    wait_for "SELECT COUNT(*) FROM poll_run" 1
    sleep 1
    [ "$(curl -s "$COVE_URL/__sim/stats" | grep -o '"login_failures":[0-9]*')" = '"login_failures":1' ]
    grep -q 'credentials rejected; not retrying' "$T/serve.err"
}

@test "SIGTERM mid-poll stops within 10 s and leaves a consistent database" {
    start_sim COVE "$COVE_SIM" --devices 300 --latency-ms 100
    conf_head
    add_cove cove-a "$COVE_URL"
    printf 'page_size = 10\n' >>"$T/b.conf"
    serve
    wait_for "SELECT COUNT(DISTINCT poll_id) > 0 FROM stage_job" 1
    t0=$(date +%s)
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID"
    rc=$?
    SERVE_PID=
    [ "$rc" -eq 0 ]
    [ $(( $(date +%s) - t0 )) -le 10 ]
    [ "$(q 'SELECT COUNT(*) FROM job')" -eq 0 ]       # the unfinished poll was rolled back
    [ "$(q 'SELECT COUNT(*) FROM stage_job')" -eq 0 ]
    [ "$(q "SELECT result FROM poll_run")" = failed ]
    [ "$(q 'PRAGMA integrity_check')" = ok ]
}

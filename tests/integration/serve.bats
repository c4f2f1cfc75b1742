#!/usr/bin/env bats
# `backupctl serve` as a daemon: start-up checks, schedule, backoff, SIGHUP, SIGTERM, one
# instance per SQLite file. API routes are covered by api.bats.

bats_require_minimum_version 1.5.0

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

add_cove() { # NAME URL [interval] [password file]
    cat >>"$T/b.conf" <<CONF
[source "$1"]
type = cove
url = $2/jsonapi
partner = Acme MSP (admin@acme.example)
username = backupctl-api
password_file = ${4:-$T/cove.secret}
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

@test "a TLS private key that group or others can read is refused, by serve and config check" {
    command -v openssl >/dev/null || skip "no openssl"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
        -subj /CN=localhost 2>/dev/null
    conf_head
    printf 'tls_cert = %s\ntls_key = %s\n' "$T/cert.pem" "$T/key.pem" >>"$T/b.conf"
    for mode in 644 640 604; do
        chmod "$mode" "$T/key.pem"
        run "$BACKUPCTL" serve --config "$T/b.conf"
        [ "$status" -eq 1 ]
        [[ "$output" == *"not starting"*"tls_key"*"$T/key.pem is accessible by group or others"*"chmod 600"* ]]
        run "$BACKUPCTL" config check --config "$T/b.conf"
        [ "$status" -eq 1 ]
        [[ "$output" == *"tls_key"*"chmod 600"* ]]
    done
    # 0600 serves HTTPS
    chmod 600 "$T/key.pem"
    serve
    [[ "$API" == http://* ]]
    [ "$(curl -sk "https://${API#http://}/healthz")" = '{"status":"ok"}' ]
}

@test "serve polls at start, answers healthz/readyz, and a second instance is refused" {
    start_sim COVE "$COVE_SIM" --devices 12
    conf_head
    add_cove cove-a "$COVE_URL"
    serve
    [ "$(curl -s "$API/healthz")" = '{"status":"ok"}' ]
    curl -sf "$API/readyz" >/dev/null
    wait_for "SELECT COUNT(*) FROM job" 12
    # the planner statistics were gathered at start (ANALYZE creates sqlite_stat1)
    [ "$(q "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")" = sqlite_stat1 ]
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
    start_sim COVE "$COVE_SIM" --devices 5 --request-log "$T/cove.log"
    printf 'wrong\n' >"$T/bad.secret"
    chmod 600 "$T/bad.secret"
    conf_head
    add_cove good "$COVE_URL" 10s
    add_cove bad "$COVE_URL" 10s "$T/bad.secret"
    printf 'correct-horse-1\n' >"$T/pw"
    chmod 600 "$T/pw"
    "$BACKUPCTL" user add admin --role admin --password-file "$T/pw" --config "$T/b.conf" >/dev/null
    tok=$("$BACKUPCTL" token add --user admin --config "$T/b.conf" 2>/dev/null)
    serve
    # 5 polls of the good source at 10 s ± 10 %: past 3 intervals and the first 30 s backoff,
    # so a retry (every interval, or after a backoff) would have shown
    wait_for "SELECT COUNT(*) FROM poll_run p JOIN source s ON s.id = p.source_id WHERE s.name = 'good' AND p.result = 'ok'" 5 1200
    echo "good polls: 5, logins: $(grep -c Login "$T/cove.log"), bad polls: $(q "SELECT COUNT(*) FROM poll_run p JOIN source s ON s.id = p.source_id WHERE s.name = 'bad'")"
    [ "$(curl -s "$COVE_URL/__sim/stats" | grep -o '"login_failures":[0-9]*')" = '"login_failures":1' ]
    [ "$(q "SELECT COUNT(*) FROM poll_run p JOIN source s ON s.id = p.source_id WHERE s.name = 'bad'")" -eq 1 ]
    grep -q 'source bad: credentials rejected; not retrying' "$T/serve.err"
    curl -s -H "Authorization: Bearer $tok" "$API/metrics" | grep -q '^backupctl_daemon_source_paused{source="bad"} 1$'
    # an admin's resume is the "fixed it" signal: one more try
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $tok" "$API/api/v1/sources/bad/resume")" = 200 ]
    wait_for "SELECT COUNT(*) FROM poll_run p JOIN source s ON s.id = p.source_id WHERE s.name = 'bad'" 2
    [ "$(curl -s "$COVE_URL/__sim/stats" | grep -o '"login_failures":[0-9]*')" = '"login_failures":2' ]
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

@test "1,000 idle connections from each of two addresses leave /healthz and the API answering; a header still incomplete after 10 s is cut" {
    conf_head
    printf 'correct-horse-1\n' >"$T/pw"
    chmod 600 "$T/pw"
    "$BACKUPCTL" user add admin --role admin --password-file "$T/pw" --config "$T/b.conf" >/dev/null
    tok=$("$BACKUPCTL" token add --user admin --config "$T/b.conf" 2>/dev/null)
    # serve raises its own soft file limit to fit its connections (the helper does too):
    # start it with the usual 1024
    echo "ulimit -n: soft $(ulimit -Sn), hard $(ulimit -Hn)"
    [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1024 ] && ulimit -Sn 1024
    serve
    echo "serve's open file limit: $(grep 'Max open files' /proc/$SERVE_PID/limits)"
    port=${API##*:}
    pids=""
    for ip in 127.0.0.1 127.0.0.3; do
        "$BIN_DIR/holdconns" hold 127.0.0.1 "$port" 1000 "$ip" >"$T/hold.$ip" 2>"$T/hold.$ip.err" &
        pids="$pids $!"
    done
    i=0
    until [ "$(cat "$T"/hold.127.0.0.[13] | grep -c '^connected ')" -eq 2 ]; do
        i=$((i + 1)); [ $i -lt 400 ] || { cat "$T"/hold.*; return 1; }
        sleep 0.05
    done
    echo "held: $(cat "$T/hold.127.0.0.1") from 127.0.0.1, $(cat "$T/hold.127.0.0.3") from 127.0.0.3"
    for n in 1 2 3; do
        h=$(curl -s --interface 127.0.0.2 --max-time 1 -w ' %{http_code} %{time_total}s' "$API/healthz")
        a=$(curl -s --interface 127.0.0.2 --max-time 1 -o /dev/null -w '%{http_code} %{time_total}s' \
            -H "Authorization: Bearer $tok" "$API/api/v1/sources")
        echo "from 127.0.0.2: /healthz $h, GET /api/v1/sources $a"
        [[ "$h" == '{"status":"ok"} 200 '* ]]
        [[ "$a" == '200 '* ]]
    done
    # a client that trickles its header byte by byte (each byte restarts MHD's idle timer)
    run "$BIN_DIR/holdconns" trickle 127.0.0.1 "$port" 25 127.0.0.4
    echo "trickled header: $output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^closed\ after\ ([0-9]+) ]]
    [ "${BASH_REMATCH[1]}" -ge 5 ] # the deadline, not a refusal at connect
    kill -TERM $pids
    wait $pids || true
    echo "at the end: 127.0.0.1 $(tail -n1 "$T/hold.127.0.0.1"), 127.0.0.3 $(tail -n1 "$T/hold.127.0.0.3")"
    # the held connections were silent: all closed at their header deadline
    grep -q '^open 0 closed 1000$' "$T/hold.127.0.0.1"
    grep -q '^open 0 closed 1000$' "$T/hold.127.0.0.3"
    grep -q 'sent no complete request header within 10 s' "$T/serve.err"
    [ "$(curl -s --max-time 1 "$API/healthz")" = '{"status":"ok"}' ]
}

@test "the database is made 0600 when created, its mode is left alone after, and a read-only one is a start-up error" {
    conf_head
    (umask 000 && "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null 2>&1) || true
    [ "$(stat -c %a "$T/b.db")" = 600 ]
    # an operator's choice of mode is kept (no chmod behind their back)
    chmod 640 "$T/b.db"
    serve
    curl -sf "$API/readyz" >/dev/null
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
    SERVE_PID=
    [ "$(stat -c %a "$T/b.db")" = 640 ]
    # read-only: serve does not start (so /readyz is never "ready"), names the file and why
    rm -f "$T/b.db-wal" "$T/b.db-shm"
    chmod 444 "$T/b.db"
    run "$BACKUPCTL" serve --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"not starting: database $T/b.db is read-only (mode 0444)"* ]]
    [[ "$output" != *"listening on"* ]]
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"database $T/b.db is read-only"* ]]
    # nothing changed and nothing left behind
    [ "$(stat -c %a "$T/b.db")" = 444 ]
    [ ! -e "$T/b.db-shm" ]
    [ ! -e "$T/b.db-wal" ]
    # a folder SQLite cannot create its -wal/-shm files in, when we are not root
    if [ "$(id -u)" -ne 0 ]; then
        chmod 644 "$T/b.db"
        chmod 555 "$T"
        run "$BACKUPCTL" serve --config "$T/b.conf"
        chmod 755 "$T"
        [ "$status" -eq 1 ]
        [[ "$output" == *"cannot create its -wal and -shm files"* ]]
    fi
}

@test "SIGHUP refuses a config that changes the database or leaves no source; the running one keeps polling" {
    start_sim COVE "$COVE_SIM" --devices 5
    conf_head
    add_cove cove-a "$COVE_URL" 10s
    serve
    ok() { q "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'"; }
    wait_for "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'" 1
    cp "$T/b.conf" "$T/good.conf"
    refused() { # N: the N-th refusal is logged as an ERROR
        local i=0
        until [ "$(grep -c 'ERROR - SIGHUP: configuration NOT reloaded' "$T/serve.err")" -ge "$1" ]; do
            i=$((i + 1)); [ $i -lt 200 ] || { cat "$T/serve.err"; return 1; }
            sleep 0.05
        done
    }
    # an empty file (a truncated deploy): every source would go, and the database too
    : >"$T/b.conf"
    kill -HUP "$SERVE_PID"
    refused 1
    # the same database, no source
    printf '[database]\nurl = sqlite://b.db\n[server]\nlisten = 127.0.0.1:0\n' >"$T/b.conf"
    kill -HUP "$SERVE_PID"
    refused 2
    grep -q "NOT reloaded (keeping the running one): $T/b.conf: no enabled source left (the running configuration has 1)" "$T/serve.err"
    # every source disabled is the same
    sed 's/^interval = 10s$/interval = 10s\nenabled = no/' "$T/good.conf" >"$T/b.conf"
    kill -HUP "$SERVE_PID"
    refused 3
    [ "$(grep -c 'no enabled source left' "$T/serve.err")" -eq 2 ]
    # another database: the writes would stay on the old one
    sed 's|sqlite://b.db|sqlite://other.db|' "$T/good.conf" >"$T/b.conf"
    kill -HUP "$SERVE_PID"
    refused 4
    grep -q "\[database\] url changed (from $T/b.db to $T/other.db); the database only changes with a restart" "$T/serve.err"
    if grep -q 'configuration reloaded' "$T/serve.err"; then grep 'reloaded' "$T/serve.err"; false; fi
    run ! grep -q 'removed from the schedule' "$T/serve.err"
    # the running configuration still polls (the next 10 s interval), into the old database
    n=$(ok)
    wait_for "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'" $((n + 1)) 600
    [ ! -e "$T/other.db" ]
    kill -0 "$SERVE_PID"
    # and a good reload still works
    cp "$T/good.conf" "$T/b.conf"
    kill -HUP "$SERVE_PID"
    i=0; until grep -q 'configuration reloaded' "$T/serve.err"; do i=$((i+1)); [ $i -lt 200 ]; sleep 0.05; done
}

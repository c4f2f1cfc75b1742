#!/usr/bin/env bats
# What happens to runs over time, against cove-sim over loopback into real SQLite files: a run
# still "running" when the device's next session appears gets a final status (Cove's colour
# bar of that day when it tells, otherwise unknown, never success); retention never brings a
# reviewed run back; and backupctl_poll_runs_total never goes down when poll records are pruned.

PARTNER='Acme MSP (admin@acme.example)'

setup() {
    load helpers
    setup_tmp
    printf 'sim-password\n' >"$T/cove.secret"
    chmod 600 "$T/cove.secret"
}

teardown() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    teardown_tmp
}

cove() {
    start_sim COVE "$COVE_SIM" --request-log "$T/cove.log" "$@"
}

# conf [EXTRA INI LINES]
conf() {
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[server]
listen = 127.0.0.1:0
[source "cove-msp"]
type = cove
url = $COVE_URL/jsonapi
partner = $PARTNER
username = backupctl-api
password_file = $T/cove.secret
interval = 1h
${1:-}
CONF
}

q() { sqlite3 "$T/b.db" "$1"; }
poll() { "$BACKUPCTL" poll --once --config "$T/b.conf" "$@"; }
ctl() { curl -s -X POST -d "$2" "$COVE_URL/__sim/$1"; }
# set ACCOUNT KEY VALUE... : poke the device's columns (D09 = the total of its data sources)
set_dev() {
    local id=$1 body=""
    shift
    while [ $# -gt 0 ]; do
        body="$body, \"$1\": \"$2\""
        shift 2
    done
    ctl devices "{\"set\": {\"account_id\": $id$body}}" | grep -q '"AccountId"\|"account_id"\|D09' || {
        echo "set $id failed"
        return 1
    }
}
# run_of ACCOUNT VENDOR_RUN_ID COLUMN
run_of() {
    q "SELECT r.$3 FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.external_id = '$1' AND r.vendor_run_id = '$2'"
}

# 28 digits, the last one today: DIGIT_2_DAYS_AGO DIGIT_YESTERDAY DIGIT_TODAY
bar() { printf '5555555555555555555555555%s%s%s' "$1" "$2" "$3"; }

@test "a run still running when the next session appears gets Cove's colour bar status, else unknown" {
    cove --devices 6
    conf
    now=$(date +%s)
    old=$((now - 2 * 86400))
    for id in 200001 200002 200003; do
        set_dev $id D09F00 1 D09F15 $old
    done
    poll >/dev/null
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE vendor_run_id = '$old' AND status = 'running'")" -eq 3 ]
    # a reviewed run is never changed (written directly: the API refuses to review a running run)
    q "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'legacy' WHERE vendor_run_id = '$old' AND job_id = (SELECT id FROM job WHERE external_id = '200003')"
    # the next sessions: the bar says 200001's old session failed; 200002's day still shows it
    # running (the vendor never reported its end)
    set_dev 200001 D09F00 5 D09F15 $now D09F08 "$(bar 2 0 5)"
    set_dev 200002 D09F00 1 D09F15 $now D09F08 "$(bar 1 0 1)"
    set_dev 200003 D09F00 5 D09F15 $now D09F08 "$(bar 2 0 5)"
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"runs_new=3 "* ]]
    [ "$(run_of 200001 "$old" status)/$(run_of 200001 "$old" raw_status)" = failed/2 ]
    [[ "$(run_of 200001 "$old" message)" == *"colour bar"* ]]
    [ "$(run_of 200002 "$old" status)" = unknown ]
    [[ "$(run_of 200002 "$old" message)" == *"never reported the end"* ]]
    [ "$(run_of 200003 "$old" status)" = running ]
    # the new sessions are runs of their own
    [ "$(run_of 200001 "$now" status)" = success ]
    [ "$(run_of 200002 "$now" status)" = running ]
    # polling again changes nothing
    run poll
    [[ "$output" == *"runs_new=0 runs_updated=0"* ]]
}

@test "after sessions start on every device twice, only each device's latest run is running" {
    cove --devices 40
    conf
    ctl advance '{"all": true}' >/dev/null
    poll >/dev/null
    before=$(q "SELECT COUNT(*) FROM job_run WHERE status = 'running'")
    [ "$before" -ge 30 ]
    ctl advance '{"seconds": 86400, "all": true}' >/dev/null
    poll >/dev/null
    # every run but each job's latest has a final status, and none of them became a success
    [ "$(q "SELECT COUNT(*) FROM job_run r WHERE r.status = 'running' AND r.id <> (SELECT y.id FROM job_run y WHERE y.job_id = r.job_id ORDER BY y.start_at DESC, y.id DESC LIMIT 1)")" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE message LIKE '%never reported the end%'")" -ge "$before" ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE message LIKE '%never reported the end%' AND status <> 'unknown'")" -eq 0 ]
}

@test "retention: a pruned reviewed run never comes back, and poll counters never go down" {
    cove --devices 6
    conf '[retention]
runs = 1d
poll_runs = 1d'
    old=$(($(date +%s) - 3 * 86400))
    set_dev 200001 D09F00 2 D09F15 $old D09F18 $((old + 120))
    poll >/dev/null
    poll >/dev/null
    rid=$(q "SELECT r.id FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.external_id = '200001' AND r.vendor_run_id = '$old'")
    [ -n "$rid" ]
    printf 'correct-horse-1\n' >"$T/pw"
    chmod 600 "$T/pw"
    "$BACKUPCTL" user add admin --role admin --password-file "$T/pw" --config "$T/b.conf" >/dev/null
    tok=$("$BACKUPCTL" token add --user admin --config "$T/b.conf" 2>/dev/null)
    # the poll records are old enough to be pruned too
    q "UPDATE poll_run SET started_at = started_at - 3 * 86400000, finished_at = finished_at - 3 * 86400000"
    SERVE_CONF=$T/b.conf start_serve
    api() { curl -s -X "$1" -H "Authorization: Bearer $tok" ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$SERVE_URL$2"; }
    counter() { api GET /metrics | sed -n 's/^backupctl_poll_runs_total{source="cove-msp",result="ok"} //p'; }
    # review it, as an operator would
    [ "$(api POST "/api/v1/runs/$rid/review" | jq -r .reviewed)" = true ]
    # wait for the startup poll, then for the first retention pass (a minute after start)
    i=0
    until [ "$(q "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'")" -ge 3 ]; do
        i=$((i + 1))
        [ $i -lt 400 ] || return 1
        sleep 0.05
    done
    seen=$(counter)
    [ "$seen" -ge 3 ]
    i=0
    until grep -q 'retention: pruned 1 reviewed runs' "$T/serve.err"; do
        i=$((i + 1))
        [ $i -lt 1800 ] || {
            cat "$T/serve.err"
            return 1
        }
        sleep 0.05
    done
    grep -q 'retention: pruned 2 poll records' "$T/serve.err"
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE id = $rid")" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM run_tombstone t JOIN job j ON j.id = t.job_id WHERE j.external_id = '200001' AND t.vendor_run_id = '$old'")" -eq 1 ]
    # the counter did not go down with the pruned records
    [ "$(counter)" -ge "$seen" ]
    # Cove still reports that session: a poll now must not insert it again, unreviewed
    polls=$(q "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'")
    [ "$(api POST /api/v1/sources/cove-msp/poll | jq -r .status)" = queued ]
    i=0
    until [ "$(q "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'")" -gt "$polls" ]; do
        i=$((i + 1))
        [ $i -lt 400 ] || return 1
        sleep 0.05
    done
    curl -s "$COVE_URL/__sim/devices?account_id=200001" | grep -q "\"D09F15\":\"$old\""
    [ "$(q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.external_id = '200001' AND r.vendor_run_id = '$old'")" -eq 0 ]
    [ "$(counter)" -ge $((seen + 1)) ]
}

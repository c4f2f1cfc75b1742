#!/usr/bin/env bats
# Expected schedules end to end (issue 9): cove-sim with a scenario of devices that stopped
# backing up some days ago, a weekly device and offline workstations → `backupctl poll --once`
# → Missed runs in the database, status/check say so, the weekly device is not Missed on its
# off days, workstations are offline (warning/failed) and not Missed; polling and evaluating
# again creates no duplicate. Times: the scenario's are relative to the simulator's start (real
# now), and the evaluator runs on the real clock, so no test seam is needed.

PARTNER='Acme MSP (admin@acme.example)'

setup() {
    load helpers
    setup_tmp
    printf 'sim-password\n' >"$T/cove.secret"
    chmod 600 "$T/cove.secret"
}

teardown() {
    teardown_tmp
}

q() { sqlite3 "$T/b.db" "$1"; }

conf() {
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[server]
timezone = UTC
[source "cove-msp"]
type = cove
url = $COVE_URL/jsonapi
partner = $PARTNER
username = backupctl-api
password_file = $T/cove.secret
interval = 15m
$1
CONF
}

# bar_weekly N: a 28-day colour bar active every 7th day, the last one N days ago
bar_weekly() {
    local k s=""
    for k in $(seq 0 27); do
        if [ $(((27 - k) % 7)) -eq "$1" ]; then s="${s}5"; else s="${s}0"; fi
    done
    printf '%s' "$s"
}

# The scenario: one device stopped 3 days ago, one 5 days ago, a weekly one whose last run
# was 2 days ago, a workstation idle for 4 days, one idle for 9 days, and a healthy server.
scenario_fleet() {
    local wk
    wk=$(bar_weekly 2)
    scenario "{\"devices\": [
      {\"account_id\": 900001, \"name\": \"srv-stopped3\", \"os_type\": 2, \"status\": 5,
       \"last_session\": -262800, \"colour_bar\": \"5555555555555555555555555000\"},
      {\"account_id\": 900002, \"name\": \"srv-stopped5\", \"os_type\": 2, \"status\": 5,
       \"last_session\": -435600, \"colour_bar\": \"5555555555555555555555500000\"},
      {\"account_id\": 900003, \"name\": \"srv-weekly\", \"os_type\": 2, \"status\": 5,
       \"last_session\": -176400, \"colour_bar\": \"$wk\"},
      {\"account_id\": 900004, \"name\": \"ws-idle4\", \"os_type\": 1, \"status\": 5,
       \"last_session\": -349200, \"colour_bar\": \"5555555555555555555555550000\"},
      {\"account_id\": 900005, \"name\": \"ws-idle9\", \"os_type\": 1, \"status\": 5,
       \"last_session\": -781200, \"colour_bar\": \"5555555555555555555000000000\"},
      {\"account_id\": 900006, \"name\": \"srv-fine\", \"os_type\": 2, \"status\": 5,
       \"last_session\": -600, \"colour_bar\": \"5555555555555555555555555555\"}]}"
}

missed() {
    q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = '$1'
       AND r.status = 'missed' AND r.source_type = 'expected'"
}

@test "stopped devices get Missed runs once; weekly not Missed on its off days; workstations offline" {
    scenario_fleet
    start_sim COVE "$COVE_SIM" --devices 0 --scenario "$T/scenario.json"
    conf
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    # the schedules are known from the first poll (colour bar)
    [ "$(q "SELECT s.origin || ' ' || s.kind FROM job_schedule s JOIN job j ON j.id = s.job_id WHERE j.name = 'srv-stopped3'")" = "learned daily" ]
    [ "$(q "SELECT s.kind FROM job_schedule s JOIN job j ON j.id = s.job_id WHERE j.name = 'srv-weekly'")" = weekly ]
    # stopped 3 days ago: the 2 or 3 nights since (today's may still be in its grace)
    n3=$(missed srv-stopped3)
    [ "$n3" -ge 2 ] && [ "$n3" -le 3 ]
    n5=$(missed srv-stopped5)
    [ "$n5" -ge 4 ] && [ "$n5" -le 5 ]
    [ "$(missed srv-weekly)" -eq 0 ]
    [ "$(missed srv-fine)" -eq 0 ]
    [ "$(missed ws-idle4)" -eq 0 ]
    [ "$(missed ws-idle9)" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_slot s JOIN job j ON j.id = s.job_id WHERE j.name = 'srv-weekly' AND s.state = 'missed'")" -eq 0 ]
    # the Missed runs follow the contract
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE status = 'missed' AND (vendor_run_id NOT LIKE 'missed:%' OR raw_status <> 'missed' OR end_at IS NOT NULL OR message NOT LIKE 'no backup by %')")" -eq 0 ]
    # workstations: offline, warning at 4 days, failed at 9, one run each
    [ "$(q "SELECT r.status || ' ' || r.raw_status FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'ws-idle4' AND r.source_type = 'expected'")" = "warning offline" ]
    [ "$(q "SELECT r.status FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'ws-idle9' AND r.source_type = 'expected'")" = failed ]
    [[ "$(q "SELECT r.message FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'ws-idle9' AND r.source_type = 'expected'")" == "offline for 9 days (last activity "* ]]
    # status and check say so
    run "$BACKUPCTL" status --config "$T/b.conf" --status missed --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r '[.[].job] | sort | join(",")' <<<"$output")" = srv-stopped3,srv-stopped5 ]
    [ "$(jq -r '.[0].freshness' <<<"$output")" = stale ]
    [[ "$(jq -r '.[0].schedule' <<<"$output")" == daily* ]]
    run "$BACKUPCTL" status --config "$T/b.conf"
    [[ "$output" == *srv-weekly*success*weekly* ]]
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 2 ]
    [[ "$output" == "BACKUPCTL CRITICAL - 3 failed, "* ]] # 2 Missed + the failed workstation
    [[ "$output" == *"missed"* ]]
    # again: no duplicate
    before=$(q "SELECT COUNT(*) FROM job_run")
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    [ "$(missed srv-stopped3)" -eq "$n3" ]
    [ "$(missed srv-stopped5)" -eq "$n5" ]
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq "$before" ]
    [ "$(q "SELECT COUNT(*) FROM (SELECT job_id, vendor_run_id FROM job_run GROUP BY 1, 2 HAVING COUNT(*) > 1)")" -eq 0 ]
}

@test "a Missed run is reviewable and stays reviewed; check no longer counts it" {
    scenario_fleet
    start_sim COVE "$COVE_SIM" --devices 0 --scenario "$T/scenario.json"
    conf
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    sqlite3 "$T/b.db" "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'op' WHERE source_type = 'expected'"
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'expected' AND reviewed_at IS NULL")" -eq 0 ]
    run "$BACKUPCTL" check --config "$T/b.conf"
    # reviewed: not failed any more, but the stopped devices are still stale (never green)
    [ "$status" -eq 2 ]
    [[ "$output" == "BACKUPCTL CRITICAL - 0 failed, "* ]]
    [[ "$output" == *" stale=2 "* || "$output" == *" stale=3 "* ]]
}

@test "a source that cannot be polled gives unknown slots, not Missed" {
    scenario_fleet
    start_sim COVE "$COVE_SIM" --devices 0 --scenario "$T/scenario.json"
    conf
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    # pretend the last successful poll was 6 days ago: every later slot is unknown
    sqlite3 "$T/b.db" "DELETE FROM job_run WHERE source_type = 'expected'; DELETE FROM job_slot;
      UPDATE poll_run SET started_at = started_at - 6 * 86400000, finished_at = finished_at - 6 * 86400000"
    stop_sims
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -ne 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE status = 'missed'")" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_slot s JOIN job j ON j.id = s.job_id WHERE j.name = 'srv-stopped3' AND s.state = 'unknown'")" -ge 2 ]
}

@test "config: [schedule] sections override what was learned; bad ones fail config check" {
    scenario_fleet
    start_sim COVE "$COVE_SIM" --devices 0 --scenario "$T/scenario.json"
    conf '[schedule "weekly servers"]
job = srv-stopped*
cron = 0 3 * * 0
timezone = Europe/Paris
grace = 3h'
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    [ "$(q "SELECT s.origin || '|' || s.config_name || '|' || s.timezone || '|' || s.grace_ms FROM job_schedule s JOIN job j ON j.id = s.job_id WHERE j.name = 'srv-stopped3'")" = "config|weekly servers|Europe/Paris|10800000" ]
    [ "$(q "SELECT s.origin FROM job_schedule s JOIN job j ON j.id = s.job_id WHERE j.name = 'srv-fine'")" = learned ]
    printf '[schedule "bad"]\ncron = 0 25 * * *\n' >>"$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -ne 0 ]
    [[ "$output" == *"b.conf:"*"cron"* ]]
}

@test "check --help documents the rules; /metrics has backupctl_job_stale and stays valid" {
    run "$BACKUPCTL" check --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"never ran"* ]]
    [[ "$output" == *"Missed"* ]]
    [[ "$output" == *"--warn-age / --crit-age override"* ]]
    scenario_fleet
    start_sim COVE "$COVE_SIM" --devices 0 --scenario "$T/scenario.json"
    conf '[server]
listen = 127.0.0.1:0
metrics_public = yes'
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    start_serve
    curl -sf "$SERVE_URL/metrics" >"$T/metrics.txt"
    kill "$SERVE_PID" && wait "$SERVE_PID" || true
    grep -q '^backupctl_job_stale{customer="[^"]*",source="cove-msp",job="srv-stopped5",kind="server"} 1$' "$T/metrics.txt"
    grep -q '^backupctl_job_stale{customer="[^"]*",source="cove-msp",job="srv-fine",kind="server"} 0$' "$T/metrics.txt"
    grep -q '^backupctl_job_status{customer="[^"]*",source="cove-msp",job="srv-stopped5",kind="server",status="missed"} 1$' "$T/metrics.txt"
    run "$BATS_TEST_DIRNAME/promcheck.sh" "$T/metrics.txt"
    [ "$status" -eq 0 ]
    [[ "$output" == "promcheck: OK: "* ]]
}

@test "check: never ran is a warning until older than the critical threshold; anomalies warn; --crit-age overrides" {
    scenario '{"devices": [
      {"account_id": 900011, "name": "srv-new", "os_type": 2, "status": 0},
      {"account_id": 900012, "name": "srv-ok", "os_type": 2, "status": 5, "last_session": -600,
       "colour_bar": "5555555555555555555555555555"}]}'
    start_sim COVE "$COVE_SIM" --devices 0 --scenario "$T/scenario.json"
    conf
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == "BACKUPCTL WARNING - 0 failed, 1 warning, 0 stale, "*"srv-new: never ran"* ]]
    run "$BACKUPCTL" status --config "$T/b.conf" --format json
    [ "$(jq -r '.[] | select(.job == "srv-new") | .freshness' <<<"$output")" = never_new ]
    # known for 3 days without a run: critical
    sqlite3 "$T/b.db" "UPDATE job SET created_at = created_at - 3 * 86400000 WHERE name = 'srv-new'"
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 2 ]
    [[ "$output" == "BACKUPCTL CRITICAL - 0 failed, 0 warning, 1 stale, "*"srv-new: never ran"* ]]
    run "$BACKUPCTL" check --config "$T/b.conf" --crit-age 100h
    [ "$status" -eq 1 ]
    # a successful run with a duration anomaly is a warning until reviewed
    sqlite3 "$T/b.db" "UPDATE job SET retired_at = 1 WHERE name = 'srv-new';
      UPDATE job_run SET anomaly = 'ran 4 min, usually 2 h' WHERE source_type <> 'expected'"
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"srv-ok: duration anomaly"* ]]
    sqlite3 "$T/b.db" "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'op'"
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 0 ]
}

@test "a schedule set through the API drops the old schedule's unreviewed Missed runs, keeps a reviewed one" {
    scenario_fleet
    start_sim COVE "$COVE_SIM" --devices 0 --scenario "$T/scenario.json"
    conf
    sed -i 's/^timezone = UTC$/timezone = UTC\nlisten = 127.0.0.1:0/' "$T/b.conf"
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    jid=$(q "SELECT id FROM job WHERE name = 'srv-stopped5'")
    old=$(missed srv-stopped5)
    [ "$old" -ge 3 ]
    keep=$(q "SELECT MIN(id) FROM job_run WHERE job_id = $jid AND status = 'missed'")
    q "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'op' WHERE id = $keep"
    printf 'correct-horse-1\n' >"$T/pw"
    chmod 600 "$T/pw"
    "$BACKUPCTL" user add oper --role operator --password-file "$T/pw" --config "$T/b.conf" >/dev/null
    tok=$("$BACKUPCTL" token add --user oper --config "$T/b.conf" 2>/dev/null)
    start_serve
    # the learned slot's minute of the day, and a schedule 6 hours away from it
    min=$(q "SELECT (start_at / 60000) % 1440 FROM job_run WHERE id = $keep")
    h=$(((min / 60 + 6) % 24))
    run curl -fsS -X PUT -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
        -d "{\"spec\": \"0 $h * * *\", \"timezone\": \"UTC\"}" "$SERVE_URL/api/v1/jobs/$jid/schedule"
    [ "$status" -eq 0 ]
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
    # the old schedule's Missed: only the reviewed one is left
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE job_id = $jid AND status = 'missed' AND (start_at / 60000) % 1440 = $min")" -eq 1 ]
    [ "$(q "SELECT reviewed_by FROM job_run WHERE id = $keep")" = op ]
    # the new schedule's own Missed nights, one per day
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE job_id = $jid AND status = 'missed' AND (start_at / 60000) % 1440 = $((h * 60))")" -ge 3 ]
    [ "$(q "SELECT COUNT(*) FROM (SELECT day FROM job_slot s JOIN job_run r ON r.id = s.run_id WHERE s.job_id = $jid AND s.state = 'missed' AND r.reviewed_at IS NULL GROUP BY day HAVING COUNT(*) > 1)")" -eq 0 ]
    [ "$(q "SELECT who FROM audit WHERE action = 'run.missed.dropped' AND target = 'job $jid'")" = system ]
}

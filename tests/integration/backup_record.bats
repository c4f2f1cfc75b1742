#!/usr/bin/env bats
# `backupctl backup --config F`: a scheduler-triggered backup records its own run in the store
# (source_type trigger) — running at once, final with the report — and the poller's view of
# the same HYCU job updates that run instead of storing a second one. The exit code never
# depends on the store; a bad --config is a configuration error before anything starts.

bats_require_minimum_version 1.5.0

setup() {
    load helpers
    setup_tmp
}

teardown() {
    teardown_tmp
}

bk() {
    HYCU_URL="$HYCU_URL" HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN" timeout 60 \
        "$BACKUPCTL" backup --check-interval 0.05 --retry-backoff 0.02 "$@"
}

q() { sqlite3 "$T/b.db" "$1"; }

write_conf() { write_hycu_conf "$@"; }

run_of() { # run_of VM: "source_type status raw_status" of its runs, one line each
    q "SELECT r.source_type || ' ' || r.status || ' ' || r.raw_status FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = '$1' ORDER BY r.id"
}

posts() { grep -c '"POST","path":"/rest/v1.0/schedules/' "$T/hycu.log" || true; }

@test "a backup records its run (trigger), final as the report says; a later poll updates that run, never a second" {
    scenario '{"entities": [{"type": "vm", "name": "db01", "outcome": "ERROR", "polls": 2, "message": "Snapshot failed"},
      {"type": "vm", "name": "web01", "outcome": "OK", "polls": 2}]}'
    hycu_sim --devices 2 --scenario "$T/scenario.json"
    write_conf "$HYCU_URL/"
    run bk --backup-name web01 --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [ "$(run_of web01)" = "trigger success OK" ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE end_at IS NULL OR start_at IS NULL")" -eq 0 ]
    [ "$(q "SELECT c.name || ' ' || j.kind FROM job j JOIN customer c ON c.id = j.customer_id WHERE j.name = 'web01'")" = "Lab Corp vm" ]
    run bk --backup-name db01 --config "$T/b.conf"
    [ "$status" -eq 4 ]
    [ "$(run_of db01)" = "trigger failed ERROR" ]
    [ "$(q "SELECT r.message FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'db01'")" = "Snapshot failed" ]
    # the poller sees the same two HYCU jobs: the same rows, still trigger, nothing doubled
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type <> 'expected'")" -eq 2 ]
    [ "$(run_of web01)" = "trigger success OK" ]
    [ "$(q "SELECT COUNT(*) FROM job WHERE name = 'web01'")" -eq 1 ]
    # status sees it like any run
    run "$BACKUPCTL" status --config "$T/b.conf" --format json
    [ "$status" -eq 0 ]
    [ "$(printf '%s' "$output" | jq -r '.[] | select(.job == "db01") | .status')" = failed ]
}

@test "a backup still running when it stops watching (timeout) stays running in the store; the poll finishes it" {
    scenario '{"entities": [{"type": "vm", "name": "slow01", "outcome": "OK", "polls": 40}]}'
    hycu_sim --devices 1 --scenario "$T/scenario.json"
    write_conf
    run bk --backup-name slow01 --config "$T/b.conf" --timeout 0.2
    [ "$status" -eq 3 ]
    [ "$(q "SELECT source_type || ' ' || status FROM job_run")" = "trigger running" ]
    for i in $(seq 1 60); do
        run "$BACKUPCTL" poll --once --config "$T/b.conf"
        [ "$status" -eq 0 ]
        [ "$(q "SELECT status FROM job_run")" = running ] || break
    done
    [ "$(q "SELECT source_type || ' ' || status FROM job_run")" = "trigger success" ]
}

@test "a policy backup records each VM's run under the VM the poller knows; unknown VMs wait for the poll" {
    scenario '{"entities": [{"type": "vm", "name": "a01", "polls": 1}, {"type": "vm", "name": "b01", "polls": 1},
      {"type": "policy", "name": "gold", "members": ["a01", "b01"]}]}'
    hycu_sim --devices 0 --scenario "$T/scenario.json"
    write_conf
    run bk --backup-name gold --target-type policy --config "$T/b.conf" --verbose
    [ "$status" -eq 0 ]
    # nothing polled yet: no VM job to attach the runs to, and no policy job invented
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job WHERE kind = 'policy'")" -eq 0 ]
    [[ "$output" == *"2 job(s) of VMs that source \"hycu-lab\" has not polled yet"* ]]
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'api'")" -eq 2 ]
    run bk --backup-name gold --target-type policy --config "$T/b.conf" --verbose
    [ "$status" -eq 0 ]
    [[ "$output" != *"has not polled yet"* ]]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'trigger' AND status = 'success'")" -eq 2 ]
    [ "$(run_of a01 | grep -c trigger)" -eq 1 ]
    [ "$(run_of b01 | grep -c trigger)" -eq 1 ]
}

@test "a bad --config or --source is exit 1 before anything is started; --config needs --api rest" {
    hycu_sim --devices 1
    write_conf
    run bk --backup-name vm-0001 --config "$T/nope.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"nope.conf"* ]]
    run bk --backup-name vm-0001 --config "$T/b.conf" --source other
    [ "$status" -eq 1 ]
    [[ "$output" == *'--source other: no such [source]'* ]]
    write_conf "https://elsewhere.example:8443"
    run bk --backup-name vm-0001 --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no hycu [source] has the url $HYCU_URL"* ]]
    [ "$(posts)" -eq 0 ]
    # named explicitly, a source of another url is taken as asked
    run bk --backup-name vm-0001 --config "$T/b.conf" --source hycu-lab
    [ "$status" -eq 0 ]
    [ "$(posts)" -eq 1 ]
    [ "$(q "SELECT source_type FROM job_run")" = trigger ]
    run bk --backup-name vm-0001 --api v1 --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"--config needs --api rest"* ]]
    run bk --backup-name vm-0001 --source hycu-lab
    [ "$status" -eq 1 ]
    [[ "$output" == *"--source needs --config"* ]]
    [ "$(posts)" -eq 1 ]
}

@test "a store that cannot be written is a warning: the backup's exit code is its own" {
    scenario '{"entities": [{"type": "vm", "name": "db01", "outcome": "ERROR", "polls": 1}]}'
    hycu_sim --devices 1 --scenario "$T/scenario.json"
    write_conf
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    # the store refuses every new run (as a full disk or a read-only replica would)
    q "CREATE TRIGGER no_runs BEFORE INSERT ON job_run BEGIN SELECT RAISE(ABORT, 'disk full'); END;"
    run bk --backup-name db01 --config "$T/b.conf"
    [ "$status" -eq 4 ]
    [[ "$output" == *"could not be recorded in backupctl's store"*"disk full"* ]]
    [[ "$output" == *"HYCU BACKUP EXECUTION REPORT"* ]]
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 0 ]
}

@test "a reviewed run is never changed by the backup that records it again" {
    scenario '{"entities": [{"type": "vm", "name": "slow01", "outcome": "OK", "polls": 1000}]}'
    hycu_sim --devices 0 --scenario "$T/scenario.json"
    write_conf
    run bk --backup-name slow01 --config "$T/b.conf" --no-monitor
    [ "$status" -eq 0 ]
    [ "$(q "SELECT source_type || ' ' || status FROM job_run")" = "trigger running" ]
    q "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'op', status = 'warning'"
    before=$(q "SELECT updated_at || status FROM job_run")
    # attached to the same HYCU job, the backup records it again: running, not what was reviewed
    run bk --backup-name slow01 --config "$T/b.conf" --if-running attach --timeout 0.3
    [ "$status" -eq 3 ]
    [[ "$output" == *"attaching to 1 running job"* ]]
    [ "$(posts)" -eq 1 ]
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 1 ]
    [ "$(q "SELECT updated_at || status FROM job_run WHERE reviewed_at IS NOT NULL")" = "$before" ]
}

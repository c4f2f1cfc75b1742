#!/usr/bin/env bats
# `backupctl poll/status/check/config check` against hycu-sim and a real SQLite file.

setup() {
    load helpers
    setup_tmp
}

teardown() {
    teardown_tmp
}

api() { # api METHOD PATH [BODY]
    curl -s -X "$1" -H "Authorization: Bearer $HYCU_TEST_TOKEN" ${3:+-d "$3"} "$HYCU_URL/rest/v1.0$2"
}

vm_uuid() {
    # filtered, so a --page-cap sim still answers it on the first page
    api GET "/vms?pageSize=1000&filter=vmName%23%23$1" | grep -o "\"uuid\":\"[^\"]*\",\"vmName\":\"$1\"" | cut -d'"' -f4
}

trigger() {
    api POST /schedules/backup "{\"uuidList\":[\"$(vm_uuid "$1")\"]}" >/dev/null
}

write_conf() { write_hycu_conf "$@"; }

q() { sqlite3 "$T/b.db" "$1"; }

@test "config check: OK, and errors name file:line" {
    hycu_sim --devices 2
    write_conf
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == "configuration OK (1 source)" ]]
    chmod 644 "$T/hycu.token"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"b.conf:3: source \"hycu-lab\" token"*"chmod 600"* ]]
    printf '[source "x"]\ntype = hycu\nurl = https://h\npassword = hunter2\n' >"$T/bad.conf"
    run "$BACKUPCTL" config check --config "$T/bad.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"bad.conf:4:"* ]]
    [[ "$output" != *"hunter2"* ]]
}

@test "poll: runs land once, an unchanged poll writes nothing, completion updates in place" {
    scenario '{"default": {"outcome": "OK", "polls": 2},
      "entities": [{"type": "vm", "name": "db01", "outcome": "ERROR", "polls": 1, "message": "disk failed"}]}'
    hycu_sim --devices 3 --scenario "$T/scenario.json"
    write_conf
    trigger vm-0001
    trigger db01
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^source\ hycu-lab:\ ok\ devices=[0-9]+\ runs_new=2\ runs_updated=0\ pages=[0-9]+\ seconds=[0-9.]+$ ]]
    # the sim advanced each job by one read: db01 ended ERROR, vm-0001 still running
    [ "$(q "SELECT status FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'db01'")" = failed ]
    [ "$(q "SELECT status FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'vm-0001'")" = running ]
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [[ "$output" == *"runs_new=0 runs_updated=1 "* ]]
    [ "$(q "SELECT status FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'vm-0001'")" = success ]
    before=$(q "SELECT MAX(updated_at) FROM job_run")
    jobs_before=$(q "SELECT MAX(updated_at) FROM job")
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [[ "$output" == *"runs_new=0 runs_updated=0 "* ]]
    [ "$(q "SELECT MAX(updated_at) FROM job_run")" = "$before" ]
    [ "$(q "SELECT MAX(updated_at) FROM job")" = "$jobs_before" ]
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 2 ]
    [ "$(q "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'")" -eq 3 ]
    # a new backup of the same VM is a new run
    trigger vm-0001
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [[ "$output" == *"runs_new=1 "* ]]
}

@test "status: table and the JSON contract" {
    hycu_sim --devices 2
    write_conf
    trigger vm-0001
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    run "$BACKUPCTL" status --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Lab Corp"*"hycu-lab"*"vm-0001"*"success"* ]]
    run "$BACKUPCTL" status --config "$T/b.conf" --format json
    [ "$status" -eq 0 ]
    for k in customer source job kind external_id last_run_at status raw_status reviewed age_seconds; do
        [[ "$output" == *"\"$k\":"* ]] || { echo "missing $k"; return 1; }
    done
    [[ "$output" == *'"raw_status": "OK"'* ]]
    run "$BACKUPCTL" status --config "$T/b.conf" --customer "Nobody"
    [ "${#lines[@]}" -eq 1 ]
}

@test "check: Nagios output and exit codes; a source that cannot poll is not OK" {
    scenario '{"entities": [{"type": "vm", "name": "db01", "outcome": "ERROR", "polls": 1}]}'
    hycu_sim --devices 0 --scenario "$T/scenario.json"
    write_conf
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 3 ] # no store yet: UNKNOWN
    [[ "$output" == "BACKUPCTL UNKNOWN - "* ]]
    trigger db01
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 2 ]
    [[ "$output" =~ ^BACKUPCTL\ CRITICAL\ -\ 1\ failed,\ 0\ warning,\ 0\ stale,\ 0\ sources\ down\ of\ 1\ jobs.*\|\ failed=1\ warning=0\ stale=0\ sources_down=0\ ok=0\ jobs=1$ ]]
    # reviewing the failure makes it OK
    id=$(q "SELECT external_id FROM job WHERE name = 'db01'")
    q "UPDATE job_run SET reviewed_at = 1, reviewed_by = 't'"
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == "BACKUPCTL OK - 0 failed"* ]]
    # the controller rejects the token: the poll fails, and after 3 intervals the source is down
    printf 'wrong-token\n' >"$T/hycu.token"
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"source hycu-lab: failed"*'error="'*"credentials rejected"* ]]
    [[ "$output" != *"wrong-token"* ]]
    q "UPDATE poll_run SET finished_at = finished_at - 4 * 60000"
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 2 ]
    [[ "$output" == *"1 source down"* ]]
}

@test "a reviewed run is never changed by polling" {
    hycu_sim --devices 1
    write_conf
    trigger vm-0001
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    q "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'alice'"
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    [ "$(q "SELECT status || '/' || reviewed_by FROM job_run")" = "running/alice" ]
}

@test "poll: unknown source and bad config are one-line errors, exit 1" {
    hycu_sim --devices 1
    write_conf
    run "$BACKUPCTL" poll --once --config "$T/b.conf" --source nope
    [ "$status" -eq 1 ]
    [[ "$output" == *'no source "nope"'* ]]
    run "$BACKUPCTL" poll --once --config "$T/missing.conf"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
}

# trigger_vms N: one run-now backup of each of vm-0001..vm-000N, in that order.
trigger_vms() {
    local i
    for i in $(seq 1 "$1"); do
        trigger "vm-000$i"
        sleep 0.01 # distinct createdTime values
    done
}

@test "poll: a server page cap of 2 collects every job and every device (with and without totals)" {
    for totals in "" --no-total; do
        rm -f "$T/b.db"
        stop_sims
        hycu_sim --devices 7 --page-cap 2 $totals
        write_conf
        trigger_vms 7
        run "$BACKUPCTL" poll --once --config "$T/b.conf"
        [ "$status" -eq 0 ]
        # 7 VMs + 1 app + 1 share + 1 volume group
        [[ "$output" == *"devices=10 runs_new=7 "* ]]
        [ "$(q "SELECT COUNT(DISTINCT vendor_run_id) FROM job_run")" -eq 7 ]
        [ "$(q "SELECT COUNT(*) FROM job")" -eq 10 ]
    done
}

@test "poll: jobs listed in any order (orderBy ignored) and every entityMap shape: no run dropped" {
    for order in oldest shuffle; do
        rm -f "$T/b.db"
        stop_sims
        hycu_sim --devices 6 --job-order "$order" --entity-map mixed
        write_conf
        trigger_vms 3
        run "$BACKUPCTL" poll --once --config "$T/b.conf"
        [ "$status" -eq 0 ]
        [[ "$output" == *"runs_new=3 "* ]]
        # jobs created after the cursor are found wherever the listing puts them
        trigger_vms 6
        run "$BACKUPCTL" poll --once --config "$T/b.conf"
        [ "$status" -eq 0 ]
        [[ "$output" == *"runs_new=6 "* ]]
        [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 9 ]
        # each run is attributed to its own VM, whatever shape its entity map had
        [ "$(q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'vm-0001'")" -eq 2 ]
        [ "$(q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'vm-0006'")" -eq 1 ]
    done
}

@test "poll: job type spellings are read loosely; unknown types are kept as unknown and logged once" {
    hycu_sim --devices 6 --job-types 'BACKUP,Backup,vm_backup,RESTORE,MYSTERY_TASK,MYSTERY_TASK'
    write_conf
    trigger_vms 6
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    # the restore is not a backup run; the two mystery jobs are kept
    [[ "$output" == *"runs_new=5 "* ]]
    [ "$(printf '%s\n' "$output" | grep -c 'job type "MYSTERY_TASK"')" -eq 1 ]
    [ "$(q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'vm-0004'")" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE status = 'unknown'")" -eq 2 ]
    [ "$(q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name IN ('vm-0001','vm-0002','vm-0003') AND r.status = 'running'")" -eq 3 ]
    q "SELECT message FROM job_run WHERE status = 'unknown'" | grep -q 'MYSTERY_TASK'
    # unknown stays unknown once the job has ended; the backups complete normally
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE status = 'unknown'")" -eq 2 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE status = 'success'")" -eq 3 ]
}

@test "poll: a job the listing showed late (created before a newer one) is still collected" {
    # job 2 stays out of the first GET /jobs answer after it exists, as a listing in no
    # stable order can skip a job while another is created
    hycu_sim --devices 3 --hide-job 2,1
    write_conf
    trigger vm-0001
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [[ "$output" == *"runs_new=1 "* ]]
    trigger_vms 3 # job 2 (vm-0001 again, hidden), job 3 (vm-0002), job 4 (vm-0003)
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == *"runs_new=2 "* ]]
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == *"runs_new=1 "* ]]
    [ "$(q "SELECT COUNT(*) FROM job_run")" -eq 4 ]
    [ "$(q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'vm-0001'")" -eq 2 ]
    # nothing new: nothing re-read but the running ones, nothing written
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [[ "$output" == *"runs_new=0 runs_updated=0 "* ]]
}

@test "poll: a policy's RPO, in every spelling the sim serves, is the schedule of a VM with no history yet" {
    scenario '{"entities": [{"type": "policy", "name": "Silver", "rpo": 43200, "members": ["db01"]}]}'
    hycu_sim --devices 24 --scenario "$T/scenario.json"
    # the sim varies the shape per policy (mixed): numbers in ms, s and hours, ISO 8601, text, objects
    shapes=$(api GET "/policies?pageSize=100" | jq -r '[.entities[].rpo | type] | unique | join(",")')
    [ "$shapes" = "number,object,string" ]
    [ "$(api GET "/policies?pageSize=100" | jq -r '[.entities[].rpo | tostring] | unique | length')" -ge 6 ]
    write_conf
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    # every generated policy is 24 h however it was written; Silver is 12 h
    [ "$(q "SELECT COUNT(DISTINCT policy_name) FROM job WHERE policy_name LIKE 'policy-%'")" -eq 6 ]
    [ "$(q "SELECT group_concat(DISTINCT policy_rpo_s) FROM job WHERE policy_name LIKE 'policy-%'")" = 86400 ]
    [ "$(q "SELECT policy_name || ' ' || policy_rpo_s FROM job WHERE name = 'db01'")" = "Silver 43200" ]
    # no run yet: the policy is the schedule, named in it
    [ "$(q "SELECT s.origin || ' ' || s.description || ' ' || s.config_name FROM job_schedule s JOIN job j ON j.id = s.job_id WHERE j.name = 'db01'")" = "policy every 12h Silver" ]
    [ "$(q "SELECT s.origin || ' ' || s.description FROM job_schedule s JOIN job j ON j.id = s.job_id WHERE j.name = 'vm-0001'")" = "policy every 1d" ]
    # an unchanged re-poll rewrites no job
    before=$(q "SELECT MAX(updated_at) FROM job")
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [ "$(q "SELECT MAX(updated_at) FROM job")" = "$before" ]
}

@test "poll: a controller without GET /policies (404) still polls; its jobs have no policy" {
    hycu_sim --devices 4 --no-policies
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $HYCU_TEST_TOKEN" "$HYCU_URL/rest/v1.0/policies")" = 404 ]
    write_conf
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == "source hycu-lab: ok "* ]]
    [ "$(q "SELECT COUNT(*) FROM job")" -gt 0 ]
    [ "$(q "SELECT COUNT(*) FROM job WHERE policy_name IS NOT NULL OR policy_rpo_s IS NOT NULL")" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM job_schedule WHERE origin = 'policy'")" -eq 0 ]
}

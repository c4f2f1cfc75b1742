#!/usr/bin/env bats
# `backupctl backup` end to end against hycu-sim over loopback: every exit code for its real
# cause, both auth modes, both API dialects, faults, signals, TLS and secret hygiene.

bats_require_minimum_version 1.5.0

setup() {
    load helpers
    setup_tmp
}

teardown() {
    teardown_tmp
}

# bk ARGS… : backupctl backup against the sim (token from the environment), fast polling.
bk() {
    HYCU_URL="$HYCU_URL" HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN" timeout 60 \
        "$BACKUPCTL" backup --check-interval 0.05 --retry-backoff 0.02 "$@"
}

log_has() { grep -c "$1" "$T/hycu.log" || true; }

# absent PATTERN FILE…: no FILE contains PATTERN, and every FILE was read (grep's 1, not 2).
absent() {
    run grep -q -- "$1" "${@:2}"
    [ "$status" -eq 1 ]
}

std_scenario() {
    scenario '{"default": {"outcome": "OK", "polls": 2},
      "entities": [
        {"type": "vm", "name": "Daily Backup", "outcome": "OK", "polls": 3},
        {"type": "vm", "name": "warn01", "outcome": "WARNING", "polls": 1, "message": "1 file skipped"},
        {"type": "vm", "name": "err01", "outcome": "ERROR", "polls": 2, "message": "Snapshot failed"},
        {"type": "vm", "name": "fatal01", "outcome": "FATAL", "polls": 1},
        {"type": "vm", "name": "abort01", "outcome": "ABORTED", "polls": 1},
        {"type": "vm", "name": "undef01", "outcome": "UNDEFINED", "polls": 1},
        {"type": "vm", "name": "weird01", "outcome": "PAUSED_BY_OPERATOR", "polls": 1},
        {"type": "vm", "name": "forever", "outcome": "EXECUTING"},
        {"type": "vm", "name": "busy", "running": true},
        {"type": "app", "name": "twin"}, {"type": "share", "name": "twin"},
        {"type": "app", "name": "sql01", "outcome": "OK", "polls": 1},
        {"type": "policy", "name": "gold", "members": ["Daily Backup", "err01", "warn01"]}
      ]}'
}

@test "exit 0: a VM backup that ends OK, text report in the original layout" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name "Daily Backup"
    [ "$status" -eq 0 ]
    [[ "$output" == *"HYCU BACKUP EXECUTION REPORT"* ]]
    [[ "$output" == *"Status: OK"* ]]
    [[ "$output" == *"Progress: 100%"* ]]
    [[ "$output" == *"Start Time: 20"* ]]
    [ "$(log_has '"POST","path":"/rest/v1.0/schedules/backup"')" -eq 1 ]
    [ "$(log_has '"path":"/rest/v1.0/jobs/')" -ge 3 ]
}

@test "exit 0: the report goes to stdout and logs to stderr" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    bk --backup-name sql01 --target-type app >"$T/out" 2>"$T/err"
    grep -q '^Status: OK$' "$T/out"
    absent ' - INFO - ' "$T/out"
    grep -q ' - INFO - ' "$T/err"
    grep -q '/rest/v1.0/schedules/backupApp' "$T/hycu.log"
}

@test "Basic auth with --username and --password-file" {
    std_scenario
    start_sim HYCU "$HYCU_SIM" --user backup-op --password 'pw with spaces!' \
        --request-log "$T/hycu.log" --scenario "$T/scenario.json"
    printf 'pw with spaces!\n' >"$T/pw"
    chmod 600 "$T/pw"
    run env HYCU_URL="$HYCU_URL" timeout 60 "$BACKUPCTL" backup --backup-name "Daily Backup" \
        --username backup-op --password-file "$T/pw" --check-interval 0.05
    [ "$status" -eq 0 ]
    grep -q 'Basic \*\*\*' "$T/hycu.log"
    absent 'pw with spaces' "$T/hycu.log"
    # a wrong password is a configuration error (1), before anything is triggered
    printf 'wrong\n' >"$T/pw"
    run env HYCU_URL="$HYCU_URL" timeout 60 "$BACKUPCTL" backup --backup-name "Daily Backup" \
        --username backup-op --password-file "$T/pw"
    [ "$status" -eq 1 ]
    [[ "$output" == *"401"* ]]
}

@test "exit 1: usage errors are one line with a hint, never 2" {
    run "$BACKUPCTL" backup --backup-name x
    [ "$status" -eq 1 ]
    [[ "$output" == *"--url"*"backupctl backup --help"* ]]
    [ "${#lines[@]}" -eq 1 ]
    run env HYCU_URL=http://127.0.0.1:1 HYCU_AUTH_TOKEN=abcd "$BACKUPCTL" backup --backup-name x --check-interval soon
    [ "$status" -eq 1 ]
    [[ "$output" == *"--check-interval"* ]]
    run env HYCU_URL=http://127.0.0.1:1 HYCU_AUTH_TOKEN=abcd "$BACKUPCTL" backup --backup-name Daily Backup
    [ "$status" -eq 1 ]
    [[ "$output" == *"unexpected argument"* ]]
    run "$BACKUPCTL" backup --frobnicate
    [ "$status" -eq 1 ]
}

@test "--help documents every option and every exit code" {
    run "$BACKUPCTL" backup --help
    [ "$status" -eq 0 ]
    for opt in --backup-name --target-type --uuid --url --auth-token --auth-token-file --username \
        --password-file --auth-file --check-interval --timeout --if-running --backup-config \
        --no-monitor --verbose --api --cancel-on-timeout --cancel-on-interrupt --on-warning \
        --report-format --report-file --ca-file --insecure --lang; do
        [[ "$output" == *"$opt"* ]] || { echo "missing $opt"; return 1; }
    done
    for code in 0 1 2 3 4 5 6 7 8; do
        echo "$output" | grep -qE "^  $code  " || { echo "missing exit code $code"; return 1; }
    done
}

@test "exit 1: rejected token before the trigger, nothing started" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run env HYCU_URL="$HYCU_URL" HYCU_AUTH_TOKEN=wrong-token timeout 60 "$BACKUPCTL" backup --backup-name "Daily Backup"
    [ "$status" -eq 1 ]
    [[ "$output" == *"credentials rejected"* ]]
    [ "$(log_has '"POST"')" -eq 0 ]
}

@test "exit 1: unknown name, and an ambiguous name lists the candidates" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name nosuchvm
    [ "$status" -eq 1 ]
    [[ "$output" == *'no vm, app, share, vg or policy named "nosuchvm"'* ]]
    run bk --backup-name twin
    [ "$status" -eq 1 ]
    [[ "$output" == *"matches 2 entities"*"app "*"share "* ]]
    [ "$(log_has '"POST"')" -eq 0 ]
    # --target-type resolves the ambiguity
    run bk --backup-name twin --target-type share
    [ "$status" -eq 0 ]
    grep -q '/rest/v1.0/schedules/backupShare' "$T/hycu.log"
}

@test "exit 1: a host name that does not resolve" {
    run env HYCU_AUTH_TOKEN=abcd timeout 60 "$BACKUPCTL" backup --backup-name x --url https://hycu.invalid:8443
    [ "$status" -eq 1 ]
    [[ "$output" == *"does not resolve"* ]]
}

@test "exit 1: --if-running fail when a backup of the entity is running; attach monitors it" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name busy --if-running fail
    [ "$status" -eq 1 ]
    [[ "$output" == *"already running"* ]]
    [ "$(log_has '"POST"')" -eq 0 ]
    run bk --backup-name busy --if-running attach --timeout 0.3
    [ "$status" -eq 3 ]
    [[ "$output" == *"attaching to 1 running job"* ]]
    [ "$(log_has '"POST"')" -eq 0 ]
    # start (the default) starts a second backup anyway, like the original script
    run bk --backup-name busy --no-monitor
    [ "$status" -eq 0 ]
    [ "$(log_has '"POST"')" -eq 1 ]
}

@test "--if-running attach finds the running job on any page, whatever order GET /jobs uses" {
    std_scenario
    for order in asked oldest shuffle; do
        stop_sims
        # "busy" runs from the start: 12 newer jobs push it past page 5 of 2 newest-first
        hycu_sim --scenario "$T/scenario.json" --page-cap 2 --job-order "$order" --entity-map kind-list
        vm=$(curl -s -H "Authorization: Bearer $HYCU_TEST_TOKEN" \
            "$HYCU_URL/rest/v1.0/vms?filter=vmName%23%23vm-0001" | grep -o '"uuid":"[^"]*"' | head -n 1 | cut -d'"' -f4)
        for i in $(seq 1 12); do
            curl -s -H "Authorization: Bearer $HYCU_TEST_TOKEN" -d "{\"uuidList\":[\"$vm\"]}" \
                "$HYCU_URL/rest/v1.0/schedules/backup" >/dev/null
        done
        run bk --backup-name busy --if-running attach --no-monitor
        [ "$status" -eq 0 ]
        [[ "$output" == *"attaching to 1 running job"* ]]
        [ "$(log_has '"POST","path":"/rest/v1.0/schedules/backup"')" -eq 12 ]
        : >"$T/hycu.log"
    done
}

@test "exit 2: status unreadable after the trigger (persistent 503), after retries" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json" --fault 503,count=0,path=/rest/v1.0/jobs/,method=GET
    run bk --backup-name "Daily Backup" --retries 2
    [ "$status" -eq 2 ]
    [[ "$output" == *"monitoring error"* ]]
    # 3 polls x (1 + 2 retries)
    [ "$(log_has '"GET","path":"/rest/v1.0/jobs/')" -eq 9 ]
}

@test "exit 2: malformed JSON from the status endpoint" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json" --fault malformed,count=0,path=/rest/v1.0/jobs/,method=GET
    run bk --backup-name "Daily Backup"
    [ "$status" -eq 2 ]
    [[ "$output" == *"malformed JSON"* ]]
}

@test "exit 0: 429 and 5xx bursts during monitoring recover" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json" --fault 503,count=3,path=/rest/v1.0/jobs/,method=GET \
        --fault 429,count=1,after=3,retry_after=1,path=/rest/v1.0/jobs/,method=GET \
        --fault truncated,count=1,path=/rest/v1.0/jobs/,method=GET,after=4
    run bk --backup-name "Daily Backup"
    [ "$status" -eq 0 ]
    [[ "$output" == *"retrying"* ]]
    [ "$(log_has '"status":503')" -eq 3 ]
    [ "$(log_has '"status":429')" -eq 1 ]
}

@test "exit 0: a trigger that got a 503 is checked for a running job, then retried once" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json" --fault 503,count=1,path=/rest/v1.0/schedules/backup
    run bk --backup-name "Daily Backup"
    [ "$status" -eq 0 ]
    [ "$(log_has '"POST","path":"/rest/v1.0/schedules/backup"')" -eq 2 ]
    grep -q '"path":"/rest/v1.0/jobs","query":"orderBy' "$T/hycu.log"
}

@test "a trigger that got a 503 although HYCU started the job attaches instead of starting twice" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json" --fault 503,count=1,handled=1,path=/rest/v1.0/schedules/backup
    run bk --backup-name "Daily Backup"
    [ "$status" -eq 0 ]
    [[ "$output" == *"found 1 running job(s)"* ]]
    [ "$(log_has '"POST","path":"/rest/v1.0/schedules/backup"')" -eq 1 ]
    [ "$(curl -s "$HYCU_URL/__sim/jobs" | grep -o '"entityName":"Daily Backup"' | wc -l)" -eq 1 ]
}

@test "a trigger 503 that started the job, then 503s on GET /jobs: one POST, the job monitored to its end" {
    std_scenario
    # 6 failed listings = 3 lookups of 2 attempts each (--retries 1): only a lookup retried
    # beyond the HTTP layer's own retries finds the job; posting again would start a second.
    hycu_sim --scenario "$T/scenario.json" --entity-map kind-objects \
        --fault 503,count=1,handled=1,path=/rest/v1.0/schedules/backup \
        --fault 503,count=6,path=/rest/v1.0/jobs,method=GET
    run bk --backup-name "Daily Backup" --retries 1
    [ "$(log_has '"POST","path":"/rest/v1.0/schedules/backup"')" -eq 1 ]
    [ "$status" -eq 0 ]
    [[ "$output" == *"Status: OK"* ]]
    [[ "$output" == *"running-job lookup 3 failed"* ]]
    [[ "$output" == *"found 1 running job(s)"* ]]
    [ "$(log_has '"path":"/rest/v1.0/jobs","query":"orderBy')" -ge 4 ]
    [ "$(curl -s "$HYCU_URL/__sim/jobs" | grep -o '"entityName":"Daily Backup"' | wc -l)" -eq 1 ]
    curl -s "$HYCU_URL/__sim/jobs" | grep -q '"status":"OK"'
}

@test "exit 2: a trigger 503 whose running jobs cannot be listed until --timeout is never posted again" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json" \
        --fault 503,count=1,handled=1,path=/rest/v1.0/schedules/backup \
        --fault 503,count=0,path=/rest/v1.0/jobs,method=GET
    run bk --backup-name "Daily Backup" --retries 1 --timeout 1 --report-format json
    [ "$(log_has '"POST","path":"/rest/v1.0/schedules/backup"')" -eq 1 ]
    [ "$status" -eq 2 ]
    [[ "$output" == *"a backup may have started"*"not posting again"* ]]
    [[ "$output" == *'"status": "monitoring_error"'* ]]
    # the lookup was retried (a read), the POST was not
    [[ "$output" == *"running-job lookup 2 failed"* ]]
    [ "$(log_has '"POST","path":"/rest/v1.0/schedules/backup"')" -eq 1 ]
    [ "$(curl -s "$HYCU_URL/__sim/jobs" | grep -o '"entityName":"Daily Backup"' | wc -l)" -eq 1 ]
    run "$BACKUPCTL" backup --help
    [[ "$output" == *"a backup may have started, it is not posted again"* ]]
}

@test "progress: a completitionPct of 1 is 1 % while running, 100 % once OK (--pct percent)" {
    scenario '{"entities": [{"type": "vm", "name": "slow", "outcome": "OK", "polls": 100},
                            {"type": "vm", "name": "quick", "outcome": "OK", "polls": 1}]}'
    hycu_sim --scenario "$T/scenario.json" --pct percent
    # one status read after the trigger: EXECUTING at 1 of 100 polls, sent as 1 (percent)
    run bk --backup-name slow --no-monitor
    [ "$status" -eq 0 ]
    [[ "$output" == *"Progress: 1%"* ]]
    run bk --backup-name quick
    [ "$status" -eq 0 ]
    [[ "$output" == *"Status: OK"*"Progress: 100%"* ]]
}

@test "exit 3: timeout with --cancel-on-timeout sends DELETE" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    start=$(date +%s%N)
    run bk --backup-name forever --timeout 0.5 --cancel-on-timeout --report-format json
    end=$(date +%s%N)
    [ "$status" -eq 3 ]
    [[ "$output" == *'"status": "timeout"'* ]]
    [ "$(log_has '"DELETE","path":"/rest/v1.0/jobs/')" -eq 1 ]
    # no overshoot by a whole interval: well under 5 s
    [ $(((end - start) / 1000000)) -lt 5000 ]
}

@test "exit 4: ERROR, FATAL, and WARNING with --on-warning failure; WARNING is 0 by default" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name err01
    [ "$status" -eq 4 ]
    [[ "$output" == *"Status: ERROR"* ]]
    [[ "$output" == *"Error: Snapshot failed"* ]]
    run bk --backup-name fatal01
    [ "$status" -eq 4 ]
    run bk --backup-name warn01
    [ "$status" -eq 0 ]
    [[ "$output" == *"Status: WARNING"* ]]
    run bk --backup-name warn01 --on-warning failure
    [ "$status" -eq 4 ]
}

@test "exit 5: ABORTED; exit 6: UNDEFINED and an unmapped status with a finish time" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name abort01
    [ "$status" -eq 5 ]
    run bk --backup-name undef01
    [ "$status" -eq 6 ]
    run bk --backup-name weird01
    [ "$status" -eq 6 ]
    [[ "$output" == *'unmapped HYCU status "PAUSED_BY_OPERATOR"'* ]]
}

wait_for_poll() {
    local i=0
    until [ "$(log_has '"GET","path":"/rest/v1.0/jobs/')" -ge 1 ]; do
        i=$((i + 1)); [ $i -lt 400 ] || return 1
        sleep 0.025
    done
}

@test "exit 7: SIGTERM mid-monitor with --cancel-on-interrupt sends DELETE" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    HYCU_URL="$HYCU_URL" HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN" "$BACKUPCTL" backup --backup-name forever \
        --check-interval 0.05 --cancel-on-interrupt >"$T/out" 2>"$T/err" &
    pid=$!
    wait_for_poll
    kill -TERM $pid
    rc=0; wait $pid || rc=$?
    [ "$rc" -eq 7 ] || { echo "exit $rc; stderr:"; cat "$T/err"; false; }
    grep -q 'interrupted by SIGTERM' "$T/err"
    [ "$(log_has '"DELETE","path":"/rest/v1.0/jobs/')" -eq 1 ]
    grep -q 'HYCU BACKUP EXECUTION REPORT' "$T/out"
}

@test "exit 7: SIGINT without --cancel-on-interrupt leaves the job running" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    HYCU_URL="$HYCU_URL" HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN" "$BACKUPCTL" backup --backup-name forever \
        --check-interval 0.05 >"$T/out" 2>"$T/err" &
    pid=$!
    wait_for_poll
    kill -INT $pid
    rc=0; wait $pid || rc=$?
    [ "$rc" -eq 7 ] || { echo "exit $rc; stderr:"; cat "$T/err"; false; }
    [ "$(log_has '"DELETE"')" -eq 0 ]
    grep -q 'keep running' "$T/out"
}

@test "exit 8: controller unreachable, and 5xx during the lookup" {
    run env HYCU_AUTH_TOKEN=abcd timeout 60 "$BACKUPCTL" backup --backup-name x --url http://127.0.0.1:1 --retries 1 --retry-backoff 0.01
    [ "$status" -eq 8 ]
    std_scenario
    hycu_sim --scenario "$T/scenario.json" --fault 500,count=0,path=/rest/v1.0/vms
    run bk --backup-name "Daily Backup" --retries 1
    [ "$status" -eq 8 ]
    [ "$(log_has '"POST"')" -eq 0 ]
}

@test "a policy with several jobs where one fails: exit 4, one block per job" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name gold --report-format text
    [ "$status" -eq 4 ]
    [[ "$output" == *"Jobs: 3"* ]]
    [ "$(echo "$output" | grep -c '^Job ID: ')" -eq 3 ]
    [[ "$output" == *"Status: failed"* ]]
    grep '"POST","path":"/rest/v1.0/schedules/backup"' "$T/hycu.log" | grep -q 'uuidList'
}

@test "--no-monitor reports the accepted job and exits 0" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name forever --no-monitor --report-format json
    [ "$status" -eq 0 ]
    [[ "$output" == *'"status": "running"'* ]]
    [[ "$output" == *'"job_id": "'* ]]
}

@test "--api v1: the original script's contract" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --api v1 --backup-name "Daily Backup"
    [ "$status" -eq 0 ]
    grep -q '"POST","path":"/api/v1/backups"' "$T/hycu.log"
    grep -q '"path":"/api/v1/backups/[^"]*/status"' "$T/hycu.log"
    run bk --api v1 --backup-name err01
    [ "$status" -eq 4 ]
    run bk --api v1 --backup-name abort01
    [ "$status" -eq 5 ]
    run bk --api v1 --backup-name forever --timeout 0.3 --cancel-on-timeout
    [ "$status" -eq 3 ]
    grep -q '"DELETE","path":"/api/v1/backups/' "$T/hycu.log"
}

@test "--backup-config: type full forces a full backup, policy keys reported as ignored" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    printf '{"type": "full", "retention": 30, "compression": true, "target": "target-nfs"}' >"$T/cfg.json"
    run bk --backup-name "Daily Backup" --backup-config "$T/cfg.json"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"retention" is set by the HYCU policy'*"ignored"* ]]
    [[ "$output" == *'"compression" is set by the HYCU policy'* ]]
    grep '"POST","path":"/rest/v1.0/schedules/backup"' "$T/hycu.log" | grep -q 'forceFull\\":true'
    grep '"POST","path":"/rest/v1.0/schedules/backup"' "$T/hycu.log" | grep -q 'targetUuid'
    printf '{"type": ' >"$T/bad.json"
    run bk --backup-name "Daily Backup" --backup-config "$T/bad.json"
    [ "$status" -eq 1 ]
}

@test "webhook gets the JSON report with an Idempotency-Key and no credentials; failure keeps the exit code" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    printf '{"notifications": {"webhook": "%s/hook/backup"}}' "$HYCU_URL" >"$T/cfg.json"
    run bk --backup-name err01 --backup-config "$T/cfg.json"
    [ "$status" -eq 4 ]
    [[ "$output" == *"webhook: report not delivered"* ]]
    hook=$(grep '"path":"/hook/backup"' "$T/hycu.log" | head -n1)
    [ -n "$hook" ]
    [[ "$hook" == *'Idempotency-Key'* ]]
    [[ "$hook" != *'Authorization'* ]]
    [[ "$hook" == *'exit_code'* ]]
}

@test "the token never appears in output or logs, even with --verbose and on argv" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run env HYCU_URL="$HYCU_URL" timeout 60 "$BACKUPCTL" backup --backup-name err01 --verbose \
        --check-interval 0.05 --auth-token "$HYCU_TEST_TOKEN"
    [ "$status" -eq 4 ]
    [[ "$output" == *"DEBUG"* ]]
    [[ "$output" != *"$HYCU_TEST_TOKEN"* ]]
    grep -q 'Bearer \*\*\*' "$T/hycu.log"
    absent "$HYCU_TEST_TOKEN" "$T/hycu.log"
    absent "$HYCU_TEST_TOKEN" "$T/HYCU.out" "$T/HYCU.err"
}

@test "--report-format json and --report-file, --lang fr" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name warn01 --report-format json --report-file "$T/report.json"
    [ "$status" -eq 0 ]
    grep -q '"status": "warning"' "$T/report.json"
    grep -q '"raw_status": "WARNING"' "$T/report.json"
    grep -q '"exit_code": 0' "$T/report.json"
    grep -q '"progress": 100' "$T/report.json"
    run bk --backup-name "Daily Backup" --lang fr
    [ "$status" -eq 0 ]
    [[ "$output" == *"RAPPORT D'EXÉCUTION"* ]]
    [[ "$output" == *"Statut: OK"* ]]
}

@test "TLS: --ca-file trusts the test CA; without it exit 1 and a clear message" {
    std_scenario
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 2>/dev/null
    hycu_sim --scenario "$T/scenario.json" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
    [[ "$HYCU_URL" == https://* ]]
    run bk --backup-name "Daily Backup" --ca-file "$T/cert.pem"
    [ "$status" -eq 0 ]
    run bk --backup-name "Daily Backup"
    [ "$status" -eq 1 ]
    [[ "$output" == *"TLS certificate not trusted"*"--ca-file"* ]]
    run bk --backup-name "Daily Backup" --insecure
    [ "$status" -eq 0 ]
    [[ "$output" == *"NOT verified"* ]]
}

@test "--uuid skips the lookup; an auth file with group read is refused" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json"
    uuid=$(curl -s -H "Authorization: Bearer $HYCU_TEST_TOKEN" "$HYCU_URL/rest/v1.0/vms?pageSize=1000" \
        | grep -o '"uuid":"[^"]*","vmName":"Daily Backup"' | cut -d'"' -f4)
    [ -n "$uuid" ]
    : >"$T/hycu.log"
    run bk --uuid "$uuid"
    [ "$status" -eq 0 ]
    [ "$(log_has '"path":"/rest/v1.0/vms","')" -eq 0 ]
    printf '{"token": "%s"}' "$HYCU_TEST_TOKEN" >"$T/auth.json"
    chmod 640 "$T/auth.json"
    run env HYCU_URL="$HYCU_URL" "$BACKUPCTL" backup --backup-name x --auth-file "$T/auth.json"
    [ "$status" -eq 1 ]
    [[ "$output" == *"chmod 600"* ]]
    chmod 600 "$T/auth.json"
    run env HYCU_URL="$HYCU_URL" timeout 60 "$BACKUPCTL" backup --backup-name "Daily Backup" --auth-file "$T/auth.json" --check-interval 0.05
    [ "$status" -eq 0 ]
}

@test "pagination: a server that returns fewer entities than asked, and no totals" {
    std_scenario
    hycu_sim --scenario "$T/scenario.json" --devices 40 --page-cap 7
    run bk --backup-name vm-0040
    [ "$status" -eq 0 ]
    stop_sims
    : >"$T/hycu.log"
    hycu_sim --scenario "$T/scenario.json" --devices 40 --page-cap 7 --no-total
    run bk --backup-name vm-0040 --target-type vm
    [ "$status" -eq 0 ]
    # GET /targets ignores pageSize/pageNumber: the repeated page ends that listing, once
    : >"$T/hycu.log"
    printf '{"target": "target-s3"}' >"$T/cfg.json"
    run bk --backup-name vm-0040 --target-type vm --backup-config "$T/cfg.json"
    [ "$status" -eq 0 ]
    [ "$(log_has '"path":"/rest/v1.0/targets"')" -eq 2 ]
    grep '"POST","path":"/rest/v1.0/schedules/backup"' "$T/hycu.log" | grep -q 'targetUuid'
}

#!/usr/bin/env bats
# Smoke test of the HYCU simulator itself: the backupctl integration tests trust hycu-sim, so the
# behaviours they lean on (auth, envelope, pagination, the per-read job lifecycle, faults, TLS,
# the masked request log) are checked here first against the real binary with plain curl.
# Needs only $HYCU_SIM (default: build/bin/hycu-sim of this tree), curl, openssl, grep, sed.

bats_require_minimum_version 1.5.0

setup() {
    SIM="${HYCU_SIM:-$BATS_TEST_DIRNAME/../../build/bin/hycu-sim}"
    T="$BATS_TEST_TMPDIR"
    TOKEN="sim-token"
    SIM_PID=""
}

teardown() {
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
}

# start_sim [options...]: runs the simulator on a free port and sets PORT and BASE.
start_sim() {
    : >"$T/out" # truncated before the start: a restart must not read the old port
    "$SIM" --port 0 "$@" >"$T/out" 2>"$T/err" &
    SIM_PID=$!
    local i
    for i in $(seq 1 400); do
        grep -q '^listening on ' "$T/out" 2>/dev/null && break
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.05
    done
    PORT=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/out")
    if [ -z "$PORT" ]; then
        cat "$T/err" >&2
        return 1
    fi
    BASE="http://127.0.0.1:$PORT"
    REST="$BASE/rest/v1.0"
}

# api URL [curl args...]: authenticated request; body on stdout, then a line "HTTP <code>".
api() {
    local url="$1"
    shift
    curl -s -H "Authorization: Bearer $TOKEN" -w '\nHTTP %{http_code}\n' "$@" "$url"
}

# field NAME: first string value of "NAME" in stdin.
field() {
    grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | sed 's/^.*:"\(.*\)"$/\1/'
}

@test "missing or wrong credentials get 401 with the HYCU error envelope" {
    start_sim
    run curl -s -w '\nHTTP %{http_code}' "$REST/vms"
    [[ "$output" == *'"version":"v1.0"'* ]]
    [[ "$output" == *'"type":"ERROR"'* ]]
    [[ "$output" == *'"titleDescriptionEn":"Authentication failed"'* ]]
    [[ "$output" == *"HTTP 401" ]]
    TOKEN=wrong run api "$REST/vms"
    [[ "$output" == *"HTTP 401" ]]
    run curl -s -o /dev/null -w '%{http_code}' -u admin:admin "$REST/vms"
    [ "$output" = 200 ]
    # The v1 dialect takes Bearer only, like the original script.
    run curl -s -o /dev/null -w '%{http_code}' -u admin:admin -d '{"name":"x"}' \
        "$BASE/api/v1/backups"
    [ "$output" = 401 ]
}

@test "GET /vms answers the envelope with totals" {
    start_sim --devices 10
    run api "$REST/vms"
    [[ "$output" == *"HTTP 200" ]]
    [[ "$output" == '{"version":"v1.0","entities":[{'* ]]
    [[ "$output" == *'"totalEntityCount":10,'* ]]
    [[ "$output" == *'"grandTotalEntityCount":10,'* ]]
    [[ "$output" == *'"vmName":"vm-0010"'* ]]
    [[ "$output" == *'"message":{"type":"OK"}'* ]]
    [ "$(printf '%s' "$output" | grep -o '"vmName"' | wc -l)" -eq 10 ]
}

@test "--page-cap serves short pages that still add up to the total" {
    start_sim --devices 8 --page-cap 3
    run api "$REST/vms?pageSize=100&pageNumber=1"
    [[ "$output" == *'"entityCount":3,"pageSize":100'* ]]
    [[ "$output" == *'"totalEntityCount":8'* ]]
    names=""
    for p in 1 2 3 4; do
        page=$(api "$REST/vms?pageSize=100&pageNumber=$p")
        names="$names $(printf '%s' "$page" | grep -o '"vmName":"[^"]*"' | tr '\n' ' ')"
    done
    [ "$(printf '%s' "$names" | grep -o 'vm-00[0-9]*' | sort -u | wc -l)" -eq 8 ]
    run api "$REST/vms?pageSize=100&pageNumber=4"
    [[ "$output" == *'"entities":[]'* ]]
}

@test "a run-now trigger returns job uuids and the job reaches its outcome after polls reads" {
    printf '%s\n' '{"default": {"outcome": "OK", "polls": 3},' \
        ' "entities": [{"type": "vm", "name": "db01", "outcome": "WARNING", "polls": 2,' \
        '               "message": "1 disk skipped"}]}' >"$T/scenario.json"
    start_sim --scenario "$T/scenario.json"
    vm=$(api "$REST/vms?pageSize=1" | field uuid)
    [ -n "$vm" ]
    run api "$REST/schedules/backup" -H 'Content-Type: application/json' \
        -d "{\"uuidList\":[\"$vm\"],\"forceFull\":false}"
    [[ "$output" == *"HTTP 202" ]]
    job=$(printf '%s' "$output" | grep -o '"entities":\["[0-9a-f-]*"\]' | sed 's/.*\["\(.*\)"\]/\1/')
    [[ "$job" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]
    run api "$REST/jobs/$job"
    [[ "$output" == *'"status":"EXECUTING"'* ]]
    [[ "$output" == *'"finishTime":null'* ]]
    run api "$REST/jobs/$job"
    [[ "$output" == *'"status":"EXECUTING"'* ]]
    run api "$REST/jobs/$job"
    [[ "$output" == *'"status":"OK"'* ]]
    [[ "$output" == *'"completitionPct":1.0'* ]]
    [[ "$output" == *"\"entityMap\":{\"$vm\":\"vm-0001\"}"* ]]
    # The scripted entity follows its own entry.
    db=$(api "$REST/vms?filter=vmName%23%23db01" | field uuid)
    job=$(api "$REST/schedules/backup" -d "{\"uuidList\":[\"$db\"]}" |
        grep -o '"entities":\["[0-9a-f-]*"' | sed 's/.*\["//; s/"$//')
    api "$REST/jobs/$job" >/dev/null
    run api "$REST/jobs/$job"
    [[ "$output" == *'"status":"WARNING"'* ]]
    [[ "$output" == *'"titleDescriptionEn":"1 disk skipped"'* ]]
    # An unknown uuid is a 404 that creates no job.
    run api "$REST/schedules/backup" -d '{"uuidList":["nope"]}'
    [[ "$output" == *"HTTP 404" ]]
    [[ "$output" == *nope* ]]
    [ "$(api "$REST/jobs" | grep -o '"taskName"' | wc -l)" -eq 2 ]
}

@test "DELETE /jobs/{uuid} aborts a running job" {
    start_sim
    vm=$(api "$REST/vms?pageSize=1" | field uuid)
    job=$(api "$REST/schedules/backup" -d "{\"uuidList\":[\"$vm\"]}" |
        grep -o '"entities":\["[0-9a-f-]*"' | sed 's/.*\["//; s/"$//')
    run api "$REST/jobs/$job" -X DELETE
    [[ "$output" == *"HTTP 200" ]]
    run api "$REST/jobs/$job"
    [[ "$output" == *'"status":"ABORTED"'* ]]
    [[ "$output" == *'"abortedBy":"api"'* ]]
    [[ "$output" != *'"finishTime":null'* ]]
}

@test "v1 dialect: trigger by name, status goes running then completed" {
    start_sim
    run api "$BASE/api/v1/backups" -d '{"name":"vm-0002","timestamp":"2026-01-15T10:30:45"}'
    [[ "$output" == *'"status":"running"'* ]]
    [[ "$output" == *"HTTP 200" ]]
    id=$(printf '%s' "$output" | field job_id)
    run api "$BASE/api/v1/backups/$id/status"
    [[ "$output" == *'"status":"running"'* ]]
    [[ "$output" == *'"progress":50'* ]]
    run api "$BASE/api/v1/backups/$id/status"
    [[ "$output" == *'"status":"completed"'* ]]
    [[ "$output" == *'"progress":100'* ]]
    [[ "$output" == *'"details":{"backup_name":"vm-0002"}'* ]]
    run api "$BASE/api/v1/backups" -d '{"timestamp":"x"}'
    [[ "$output" == *'"error":"name is required"'* ]]
    [[ "$output" == *"HTTP 400" ]]
}

@test "--fault 503,count=2 answers 503 twice then 200" {
    start_sim --fault 503,count=2,path=/rest/v1.0/vms
    run api "$REST/vms"
    [[ "$output" == *'"type":"ERROR"'* ]]
    [[ "$output" == *"HTTP 503" ]]
    run api "$REST/vms"
    [[ "$output" == *"HTTP 503" ]]
    run api "$REST/vms"
    [[ "$output" == *"HTTP 200" ]]
    # Run-time faults: 429 with Retry-After, then cleared.
    curl -s -d '429,retry_after=7' "$BASE/__sim/fault" >/dev/null
    run curl -s -i -H "Authorization: Bearer $TOKEN" "$REST/vms"
    [[ "$output" == *"HTTP/1.1 429"* ]]
    [[ "$output" == *"Retry-After: 7"* ]]
    curl -s -d 'truncated' "$BASE/__sim/fault" >/dev/null
    run api "$REST/vms"
    [[ "$output" == *"HTTP 200" ]]
    [[ "$output" != *'"message":{"type":"OK"}'* ]]
}

@test "TLS with a self-signed certificate made at test time" {
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -days 1 \
        -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
    start_sim --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
    run curl -s --cacert "$T/cert.pem" -H "Authorization: Bearer $TOKEN" \
        "https://127.0.0.1:$PORT/rest/v1.0/administration/software"
    [[ "$output" == *'"version":"5.2.0-sim"'* ]]
    # Plain HTTP to the TLS port does not get an answer.
    run curl -s -m 5 -o /dev/null -w '%{http_code}' "$REST/vms"
    [ "$output" != 200 ]
}

@test "the request log records each request with secrets masked" {
    start_sim --token s3cr3t-t0ken --request-log "$T/req.log"
    TOKEN=s3cr3t-t0ken
    api "$REST/vms?pageSize=2" >/dev/null
    api "$BASE/api/v1/backups" -H 'X-Auth-Token: s3cr3t-t0ken' \
        -d '{"name":"vm-0001","password":"hunter2"}' >/dev/null
    curl -s "$BASE/__sim/jobs" >/dev/null
    [ "$(wc -l <"$T/req.log")" -eq 2 ]
    run ! grep -q 's3cr3t-t0ken' "$T/req.log"
    run ! grep -q 'hunter2' "$T/req.log"
    grep -q '"Authorization":"Bearer \*\*\*"' "$T/req.log"
    grep -q '"X-Auth-Token":"\*\*\*"' "$T/req.log"
    grep -q '"query":"pageSize=2"' "$T/req.log"
    grep -q '"peer":"127.0.0.1:[0-9]*"' "$T/req.log"
    grep -q '"path":"/api/v1/backups".*"status":200' "$T/req.log"
}

@test "SIGTERM stops the simulator cleanly with exit 0" {
    start_sim
    kill -TERM "$SIM_PID"
    rc=0
    wait "$SIM_PID" || rc=$?
    SIM_PID=""
    [ "$rc" -eq 0 ]
}

@test "bad arguments and bad scenario files exit 2 with one line on stderr" {
    run "$SIM" --no-such-option
    [ "$status" -eq 2 ]
    run "$SIM" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *usage:* ]]
    printf '{"entities":[{"type":"fileset","name":"x"}]}' >"$T/bad.json"
    run "$SIM" --scenario "$T/bad.json"
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *fileset*  || "$output" == *type* ]]
}

# trigger_n N: N run-now backups of the first VM; job uuids in creation order on stdout.
trigger_n() {
    local vm i
    vm=$(api "$REST/vms?pageSize=1" | field uuid)
    for i in $(seq 1 "$1"); do
        api "$REST/schedules/backup" -d "{\"uuidList\":[\"$vm\"]}" |
            grep -o '"entities":\["[0-9a-f-]*"' | sed 's/.*\["//; s/"$//'
        sleep 0.01 # distinct createdTime values
    done
}

@test "--job-types serves each word in turn; --pct percent sends completitionPct as 0..100" {
    start_sim --devices 1 --job-types 'BACKUP,vm_backup,RESTORE' --pct percent
    trigger_n 4 >"$T/jobs"
    types=$(api "$REST/jobs?orderBy=createdTime" | grep -o '"taskName":"[^"]*","type":"[^"]*"' |
        sed 's/.*"type"://' | tr '\n' ' ')
    [ "$types" = '"BACKUP" "vm_backup" "RESTORE" "BACKUP" ' ]
    run api "$REST/jobs/$(head -n 1 "$T/jobs")"
    [[ "$output" == *'"status":"EXECUTING"'*'"completitionPct":50.0'* ]]
    run "$SIM" --job-types 'A,,B'
    [ "$status" -eq 2 ]
    run "$SIM" --pct ratio
    [ "$status" -eq 2 ]
}

@test "--job-order: orderBy honoured by default, ignored with oldest and shuffle" {
    start_sim --devices 1
    trigger_n 6 >"$T/jobs"
    newest=$(tac "$T/jobs" | tr '\n' ' ')
    oldest=$(tr '\n' ' ' <"$T/jobs")
    order() { api "$REST/jobs$1" | grep -o '"uuid":"[^"]*","taskName"' | cut -d'"' -f4 | tr '\n' ' '; }
    [ "$(order '?orderBy=-createdTime')" = "$newest" ]
    [ "$(order '?orderBy=createdTime')" = "$oldest" ]
    [ "$(order '')" = "$newest" ]
    kill "$SIM_PID"
    wait "$SIM_PID" || true
    start_sim --devices 1 --job-order oldest
    trigger_n 6 >"$T/jobs"
    [ "$(order '?orderBy=-createdTime')" = "$(tr '\n' ' ' <"$T/jobs")" ]
    kill "$SIM_PID"
    wait "$SIM_PID" || true
    start_sim --devices 1 --job-order shuffle
    trigger_n 6 >"$T/jobs"
    s1=$(order '?orderBy=-createdTime')
    [ "$s1" != "$(tac "$T/jobs" | tr '\n' ' ')" ]
    [ "$s1" != "$(tr '\n' ' ' <"$T/jobs")" ]
    # stable from request to request, so pages still add up
    [ "$(order '?orderBy=-createdTime')" = "$s1" ]
    [ "$(printf '%s' "$s1" | wc -w)" -eq 6 ]
    run "$SIM" --job-order random
    [ "$status" -eq 2 ]
}

@test "--entity-map serves each shape, mixed cycles through them" {
    start_sim --devices 1 --entity-map mixed
    vm=$(api "$REST/vms?pageSize=1" | field uuid)
    trigger_n 5 >"$T/jobs"
    maps=""
    while read -r j; do
        maps="$maps$(api "$REST/jobs/$j" | grep -o '"entityMap":[^]}]*[]}]*' | head -n 1)|"
    done <"$T/jobs"
    [[ "$maps" == *"\"entityMap\":{\"$vm\":\"vm-0001\"}|"* ]]
    [[ "$maps" == *"\"entityMap\":{\"VM\":\"$vm\"}|"* ]]
    [[ "$maps" == *"\"entityMap\":{\"VM\":[\"$vm\"]}|"* ]]
    [[ "$maps" == *"\"entityMap\":{\"VM\":[{\"uuid\":\"$vm\",\"name\":\"vm-0001\"}]}|"* ]]
    [[ "$maps" == *"\"entityMap\":[{\"uuid\":\"$vm\",\"name\":\"vm-0001\",\"type\":\"VM\"}]|"* ]]
    run "$SIM" --entity-map tree
    [ "$status" -eq 2 ]
    run "$SIM" --help
    for opt in --job-types --job-order --entity-map --pct --page-cap --hide-job; do
        [[ "$output" == *"$opt"* ]] || { echo "missing $opt"; return 1; }
    done
}

@test "--hide-job K,N leaves the K-th job out of N listings, not out of GET /jobs/{uuid}" {
    start_sim --devices 1 --hide-job 2,2
    trigger_n 3 >"$T/jobs"
    hidden=$(sed -n 2p "$T/jobs")
    for i in 1 2; do
        run api "$REST/jobs"
        [[ "$output" != *"$hidden"* ]]
        [[ "$output" == *"$(sed -n 3p "$T/jobs")"* ]]
    done
    run api "$REST/jobs/$hidden"
    [[ "$output" == *"HTTP 200" ]]
    run api "$REST/jobs"
    [[ "$output" == *"$hidden"* ]]
    run "$SIM" --hide-job 2
    [ "$status" -eq 2 ]
}

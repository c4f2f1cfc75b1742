#!/usr/bin/env bats
# `backupctl poll` of Cove sources against cove-sim into real SQLite files: complete fleets,
# exactly-once runs, sessions completing, reviewed runs, visa expiry mid-pagination, vendor
# errors, and crash safety.

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

cove() {
    start_sim COVE "$COVE_SIM" --hostile-names --request-log "$T/cove.log" "$@"
}

# conf [PAGE_SIZE] [DB] [SECRET]
conf() {
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://${2:-b.db}
[source "cove-msp"]
type = cove
url = $COVE_URL/jsonapi
partner = $PARTNER
username = backupctl-api
password_file = ${3:-$T/cove.secret}
interval = 15m
page_size = ${1:-1000}
CONF
}

q() { sqlite3 "${DB:-$T/b.db}" "$1"; }
poll() { "$BACKUPCTL" poll --once --config "$T/b.conf" "$@"; }
ctl() { curl -s -X POST -d "$2" "$COVE_URL/__sim/$1"; }
# the content of the live tables, without bookkeeping times
dump() {
    sqlite3 "$1" "SELECT c.external_id, c.name, j.external_id, j.name, j.kind, j.colour_bar,
        j.retired_at IS NULL FROM job j LEFT JOIN customer c ON c.id = j.customer_id ORDER BY 3;
      SELECT j.external_id, r.vendor_run_id, r.start_at, r.end_at, r.status, r.raw_status,
        r.error_count, r.message FROM job_run r JOIN job j ON j.id = r.job_id ORDER BY 1, 2;
      SELECT j.external_id, r.vendor_run_id, o.name, o.status, o.raw_status, o.message
        FROM job_object o JOIN job_run r ON r.id = o.run_id JOIN job j ON j.id = r.job_id
        ORDER BY 1, 2, 3;"
}

@test "a 3-customer fleet lands complete; same-named customers stay apart" {
    cove --devices 60 --customers 3
    conf 25
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^source\ cove-msp:\ ok\ devices=60\ runs_new=[0-9]+\ runs_updated=0\ pages=3\ seconds= ]]
    [ "$(q 'SELECT COUNT(*) FROM job')" -eq 60 ]
    [ "$(q "SELECT COUNT(*) FROM customer WHERE name = 'Contoso'")" -eq 2 ]
    [ "$(q 'SELECT COUNT(DISTINCT kind) FROM job')" -ge 3 ] # server, workstation, m365
    ran=$(curl -s "$COVE_URL/__sim/devices" | grep -o '"D09F15":"[1-9][0-9]*"' | wc -l)
    # the vendor's runs; the synthetic ones (issue 9) come on top
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type <> 'expected'")" -eq "$ran" ]
    [ "$(q 'SELECT COUNT(*) FROM job_object')" -gt 0 ]
    # the generated fleet shows what did not happen: stopped servers are Missed, the
    # offline workstations have an offline run, the weekly servers are learned weekly
    [ "$(q "SELECT COUNT(DISTINCT r.job_id) FROM job_run r JOIN job j ON j.id = r.job_id WHERE r.status = 'missed' AND j.external_id IN ('200004', '200024', '200044')")" -eq 3 ]
    [ "$(q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE r.raw_status = 'offline' AND j.external_id IN ('200006', '200026', '200046')")" -eq 3 ]
    [ "$(q "SELECT COUNT(*) FROM job_schedule s JOIN job j ON j.id = s.job_id WHERE s.kind = 'weekly' AND j.external_id IN ('200011', '200031', '200051')")" -ge 2 ]
    # the colour bar is stored with the job
    [ "$(q "SELECT COUNT(*) FROM job WHERE length(colour_bar) = 28")" -gt 50 ]
    # the XSS probe name is stored as text, untouched
    [ "$(q "SELECT COUNT(*) FROM job WHERE name = '<img src=x onerror=alert(1)>'")" -eq 1 ]
}

@test "a second poll with no change writes no job, run or object row" {
    cove --devices 40
    conf 1000
    poll >/dev/null
    before=$(dump "$T/b.db")
    stamps=$(q "SELECT MAX(updated_at) FROM job; SELECT MAX(updated_at) FROM job_run;")
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"runs_new=0 runs_updated=0"* ]]
    [ "$(dump "$T/b.db")" = "$before" ]
    [ "$(q "SELECT MAX(updated_at) FROM job; SELECT MAX(updated_at) FROM job_run;")" = "$stamps" ]
    [ "$(q "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'")" -eq 2 ]
}

# issue 12: a device whose fingerprint is unchanged is dropped before any SQL
@test "fingerprints: an unchanged second poll stages nothing, writes no row, retires nothing" {
    cove --devices 40
    conf 1000
    poll >/dev/null
    [ "$(q 'SELECT COUNT(*) FROM job_fingerprint')" -eq 40 ]
    before=$(dump "$T/b.db")
    stamps=$(q "SELECT MAX(updated_at) FROM job; SELECT MAX(updated_at) FROM job_run;
        SELECT COUNT(*) FROM job_object;")
    run poll --verbose
    [ "$status" -eq 0 ]
    # every device skipped as unchanged: not one staged
    [[ "$output" == *"unchanged=40"* ]]
    [[ "$output" == *"runs_new=0 runs_updated=0"* ]]
    [ "$(dump "$T/b.db")" = "$before" ]
    [ "$(q "SELECT MAX(updated_at) FROM job; SELECT MAX(updated_at) FROM job_run;
        SELECT COUNT(*) FROM job_object;")" = "$stamps" ]
    [ "$(q 'SELECT COUNT(*) FROM job WHERE retired_at IS NOT NULL')" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM poll_run WHERE result = 'ok'")" -eq 2 ]
}

# jobfield EXT SQL-EXPR: one value of the job with external id EXT and its vendor run
jobrun() {
    q "SELECT $2 FROM job j JOIN job_run r ON r.job_id = j.id WHERE j.external_id = '$1'
        AND r.source_type = 'api' ORDER BY r.start_at DESC LIMIT 1"
}

@test "fingerprints: a change of only the colour bar, the error count, one datasource's status or the session's status is applied" {
    cove --devices 20
    # pages of 7: the changed devices reach the store through the poller's page queue
    conf 7
    # four devices with a finished last session and a Files and Folders datasource
    poll >/dev/null
    mapfile -t ids < <(q "SELECT j.external_id FROM job j JOIN job_run r ON r.job_id = j.id
        JOIN job_object o ON o.run_id = r.id WHERE r.source_type = 'api'
        AND r.status <> 'running' AND o.name = 'Files and Folders' AND r.error_count IS NOT NULL
        AND j.colour_bar IS NOT NULL
        ORDER BY j.external_id LIMIT 4")
    [ "${#ids[@]}" -eq 4 ]
    a=${ids[0]} b=${ids[1]} c=${ids[2]} d=${ids[3]}
    poll >/dev/null # every fingerprint recorded and confirmed
    bar=$(q "SELECT colour_bar FROM job WHERE external_id = '$a'")
    newbar="${bar%?}$([ "${bar: -1}" = 2 ] && echo 5 || echo 2)"
    ctl devices "{\"set\": {\"account_id\": $a, \"D09F08\": \"$newbar\"}}" >/dev/null
    errs=$(jobrun "$b" r.error_count)
    ctl devices "{\"set\": {\"account_id\": $b, \"D09F06\": $((errs + 7))}}" >/dev/null
    ost=$(jobrun "$c" "(SELECT o.raw_status FROM job_object o WHERE o.run_id = r.id AND o.name = 'Files and Folders')")
    nst=$([ "$ost" = 2 ] && echo 5 || echo 2)
    ctl devices "{\"set\": {\"account_id\": $c, \"D01F00\": $nst}}" >/dev/null
    # the same session (same D09F15), its status alone changed: updated in place
    sst=$(jobrun "$d" r.raw_status)
    nsst=$([ "$sst" = 8 ] && echo 5 || echo 8)
    ctl devices "{\"set\": {\"account_id\": $d, \"D09F00\": $nsst}}" >/dev/null
    run poll --verbose
    [ "$status" -eq 0 ]
    [[ "$output" == *"unchanged=16"* ]]
    [ "$(q "SELECT colour_bar FROM job WHERE external_id = '$a'")" = "$newbar" ]
    [ "$(jobrun "$b" r.error_count)" -eq $((errs + 7)) ]
    [ "$(jobrun "$c" "(SELECT o.raw_status FROM job_object o WHERE o.run_id = r.id AND o.name = 'Files and Folders')")" = "$nst" ]
    [ "$(jobrun "$d" r.raw_status)" = "$nsst" ]
    [ "$(q "SELECT COUNT(*) FROM job j JOIN job_run r ON r.job_id = j.id WHERE j.external_id = '$d' AND r.source_type = 'api'")" -eq 1 ]
    # and the next poll, with nothing changed, skips all 20 again
    run poll --verbose
    [[ "$output" == *"unchanged=20"* ]]
}

@test "a store failure in the middle of the pages stops the poll: failed, nothing applied, nothing left staged" {
    cove --devices 50
    conf 10
    poll >/dev/null
    before=$(dump "$T/b.db")
    # every device staged again (no fingerprint), and staging the 31st fails (the 4th page of
    # 5, while the poller's producer thread is fetching the next one)
    q "DELETE FROM job_fingerprint; CREATE TRIGGER boom BEFORE INSERT ON stage_job
        WHEN NEW.external_id = '200031' BEGIN SELECT RAISE(ABORT, 'staging refused'); END;"
    ctl advance '{"all": true}' >/dev/null
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *"source cove-msp: failed"*"staging refused"* ]]
    [ "$(q "SELECT result FROM poll_run ORDER BY id DESC LIMIT 1")" = failed ]
    [ "$(dump "$T/b.db")" = "$before" ]
    [ "$(q 'SELECT COUNT(*) FROM stage_job')" -eq 0 ]
    [ "$(q 'SELECT COUNT(*) FROM job_fingerprint')" -eq 0 ]
    # the next poll, the store fixed, applies everything
    q "DROP TRIGGER boom"
    run poll
    [ "$status" -eq 0 ]
    [ "$(q 'SELECT COUNT(*) FROM job_fingerprint')" -eq 50 ]
    [ "$(dump "$T/b.db")" != "$before" ]
}

@test "fingerprints: a removed device is retired by the next full poll, the unchanged ones are not" {
    cove --devices 10
    conf
    poll >/dev/null
    poll >/dev/null
    ctl devices '{"remove": 200003}' >/dev/null
    run poll --verbose
    [ "$status" -eq 0 ]
    [[ "$output" == *"unchanged=9"* ]]
    [ "$(q "SELECT retired_at IS NOT NULL FROM job WHERE external_id = '200003'")" -eq 1 ]
    [ "$(q "SELECT COUNT(*) FROM job WHERE retired_at IS NULL")" -eq 9 ]
    # a retired device that comes back is staged (its fingerprint is not consulted) and revived
    run poll --verbose
    [[ "$output" == *"unchanged=9"* ]]
    [ "$(q "SELECT COUNT(*) FROM job WHERE retired_at IS NULL")" -eq 9 ]
}

@test "fingerprints: a partial poll that skipped unchanged devices retires nothing" {
    # the first poll reads the fleet in one page, so the once-only empty page at record 20
    # meets the second poll, which pages by 10 (the sim keeps its sessions: no restart)
    cove --devices 30 --empty-page-at 20
    conf 30
    poll >/dev/null
    [ "$(q 'SELECT COUNT(*) FROM job_fingerprint')" -eq 30 ]
    conf 10
    run poll --verbose
    [ "$status" -eq 1 ]
    [[ "$output" == *"unchanged=20"* ]]
    [ "$(q "SELECT result FROM poll_run ORDER BY id DESC LIMIT 1")" = partial ]
    [ "$(q 'SELECT COUNT(*) FROM job WHERE retired_at IS NOT NULL')" -eq 0 ]
}

@test "a session that completes updates its run in place; a new session is a new run" {
    cove --devices 10
    conf
    ctl advance '{"account_id": 200001, "status": 1}' >/dev/null
    poll >/dev/null
    [ "$(q "SELECT r.status FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.external_id = '200001'")" = running ]
    ctl advance '{"account_id": 200001, "status": 5}' >/dev/null
    run poll
    [[ "$output" == *"runs_new=0 runs_updated=1"* ]]
    [ "$(q "SELECT r.status FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.external_id = '200001'")" = success ]
    ctl advance '{"seconds": 3600}' >/dev/null
    ctl advance '{"account_id": 200001, "status": 2}' >/dev/null
    run poll
    [[ "$output" == *"runs_new=1 "* ]]
    [ "$(q "SELECT COUNT(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.external_id = '200001'")" -eq 2 ]
}

@test "a reviewed run survives a changed vendor status" {
    cove --devices 10
    conf
    ctl advance '{"account_id": 200002, "status": 1}' >/dev/null
    poll >/dev/null
    q "UPDATE job_run SET reviewed_at = 1, reviewed_by = 'op' WHERE job_id = (SELECT id FROM job WHERE external_id = '200002')"
    ctl advance '{"account_id": 200002, "status": 2}' >/dev/null
    poll >/dev/null
    # the vendor's run (a synthetic Missed run of a past night may be there too: issue 9)
    [ "$(q "SELECT r.status || '/' || r.reviewed_by FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.external_id = '200002' AND r.source_type <> 'expected'")" = "running/op" ]
}

@test "visa expiry in the middle of pagination recovers without losing or duplicating a page" {
    cove --devices 100 --fault visa-expire,rpc=EnumerateAccountStatistics,after=2
    conf 20
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"devices=100 "* ]]
    [ "$(q 'SELECT COUNT(*) FROM job')" -eq 100 ]
    [ "$(grep -c 'Login' "$T/cove.log")" -eq 2 ]
    # the failed page was asked again (resumed), not the whole poll
    [ "$(grep -c 'StartRecordNumber\\":40' "$T/cove.log")" -eq 2 ]
    [ "$(grep -c 'StartRecordNumber\\":0' "$T/cove.log")" -eq 1 ]
}

@test "2100: bad credentials fail the source once, clearly, with no retry loop" {
    cove --devices 5
    printf 'wrong-password\n' >"$T/bad.secret"
    chmod 600 "$T/bad.secret"
    conf 1000 b.db "$T/bad.secret"
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *"source cove-msp: failed"*'error="'*"2100"* ]]
    [[ "$output" != *"wrong-password"* ]]
    [ "$(curl -s "$COVE_URL/__sim/stats" | grep -o '"login_failures":[0-9]*')" = '"login_failures":1' ]
    [ "$(q "SELECT result FROM poll_run")" = failed ]
}

@test "13501 is reported as a permissions problem naming the partner and the columns" {
    cove --devices 5 --forbid-column D10F00
    conf
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *"13501"* ]]
    [[ "$output" == *"Acme MSP"* ]]
    [[ "$output" == *"D10F00"* ]]
}

@test "5xx bursts and truncated JSON are retried; the poll succeeds" {
    cove --devices 50 --fault 503,count=2,rpc=EnumerateAccountStatistics,after=1 \
        --fault truncated,count=1,rpc=EnumerateAccountStatistics,after=2
    conf 10
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"devices=50 "* ]]
    [ "$(q 'SELECT COUNT(*) FROM job')" -eq 50 ]
}

@test "a fleet that comes back short is partial: applied, nothing retired" {
    cove --devices 30
    conf 10
    poll >/dev/null
    stop_sims
    # The listing ends (an empty page) at record 10 of the 30 that COUNT(1) announces.
    cove --devices 30 --empty-page-at 10
    conf 10
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *"source cove-msp: failed"*'error="partial poll:'*"COUNT(1) announced 30"* ]]
    [ "$(q "SELECT result FROM poll_run ORDER BY id DESC LIMIT 1")" = partial ]
    [ "$(q 'SELECT COUNT(*) FROM job WHERE retired_at IS NOT NULL')" -eq 0 ]
}

# eas_starts : the StartRecordNumber of every EnumerateAccountStatistics request, in order.
eas_starts() {
    grep 'EnumerateAccountStatistics' "$T/cove.log" | grep -o 'StartRecordNumber\\":[0-9]*' |
        cut -d: -f2 | tr '\n' ' '
}

@test "a server that caps the page below page_size is normal paging, not a partial poll" {
    cove --devices 30 --max-records 7
    conf 10
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"source cove-msp: ok devices=30 "*" pages=5 "* ]]
    # short pages continue where they stopped; the poll ends at COUNT(1), with no extra page
    [ "$(eas_starts)" = "0 7 14 21 28 " ]
    [ "$(q 'SELECT COUNT(*) FROM job')" -eq 30 ]
    ctl devices '{"remove": 200030}' >/dev/null
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"source cove-msp: ok devices=29 "* ]]
    [ "$(q 'SELECT external_id FROM job WHERE retired_at IS NOT NULL')" = 200030 ]
    stop_sims

    # one page cut in half in the middle of the listing: the rest still comes
    cove --devices 30 --short-page-at 10
    conf 10 short.db
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"source cove-msp: ok devices=30 "* ]]
    [ "$(DB=$T/short.db q 'SELECT COUNT(*) FROM job WHERE retired_at IS NULL')" -eq 30 ]
    stop_sims

    # the case in the field: page_size 10000, the server's own cap of 5000
    cove --devices 5003
    conf 10000 big.db
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"source cove-msp: ok devices=5003 "*" pages=2 "* ]]
    [ "$(DB=$T/big.db q 'SELECT COUNT(*) FROM job')" -eq 5003 ]
}

@test "without a trustworthy totalStatistics the poll is partial and retires nothing" {
    cove --devices 30
    conf 10
    poll >/dev/null
    stop_sims
    : >"$T/cove.log"
    n=1
    for shape in null omit string nested garbled; do
        # the vendor removed a device: unseen, but without a count to trust it is not retired
        cove --devices 30 --totals-shape "$shape"
        conf 10
        ctl devices '{"remove": 200005}' >/dev/null
        run poll
        echo "shape $shape: $output"
        [ "$status" -eq 1 ]
        [[ "$output" == *"source cove-msp: failed devices=29 "*'error="partial poll: Cove listed 29 devices for partner \"Acme MSP'*'no usable totalStatistics COUNT(1)'* ]]
        n=$((n + 1))
        [ "$(q "SELECT result FROM poll_run ORDER BY id DESC LIMIT 1")" = partial ]
        [ "$(q 'SELECT COUNT(*) FROM poll_run')" -eq "$n" ]
        [ "$(q 'SELECT COUNT(*) FROM job WHERE retired_at IS NOT NULL')" -eq 0 ]
        # paging ran to an empty page: 3 full pages, then the empty one at 29
        [ "$(eas_starts)" = "0 10 20 29 " ]
        stop_sims
        : >"$T/cove.log"
    done
    # and a listing that stops early without a total is partial too
    cove --devices 30 --totals-shape omit --empty-page-at 10
    conf 10
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *"source cove-msp: failed devices=10 "*'partial poll:'* ]]
    [ "$(q 'SELECT COUNT(*) FROM job WHERE retired_at IS NOT NULL')" -eq 0 ]
    stop_sims
    # the readable shapes are trusted: the removed device is retired
    for shape in numbers object array; do
        cove --devices 30 --totals-shape "$shape"
        conf 10
        ctl devices '{"remove": 200005}' >/dev/null
        run poll
        echo "shape $shape: $output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"source cove-msp: ok devices=29 "* ]]
        [ "$(q "SELECT external_id FROM job WHERE retired_at IS NOT NULL")" = 200005 ]
        q "UPDATE job SET retired_at = NULL"
        stop_sims
    done
}

@test "a truncated or malformed Login reply is retried with backoff; 2100 never is" {
    cove --devices 5 --fault 'truncated,count=1,rpc=Login,handled=1' \
        --fault 'malformed,after=1,count=1,rpc=Login' --fault 'login-novisa,after=2,count=1,rpc=Login'
    conf
    run poll
    [ "$status" -eq 0 ]
    [[ "$output" == *"source cove-msp: ok devices=5 "* ]]
    [ "$(grep -c '"Login' "$T/cove.log")" -eq 4 ]
    stop_sims

    # bounded: 1 + 3 attempts, then a clear failure
    : >"$T/cove.log"
    cove --devices 5 --fault 'malformed,count=0,rpc=Login'
    conf
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *'source cove-msp: failed'*'error="Cove Login: malformed Cove reply'* ]]
    [ "$(grep -c '"Login' "$T/cove.log")" -eq 4 ]
    [ "$(grep -c 'EnumerateAccountStatistics' "$T/cove.log")" -eq 0 ]
    stop_sims

    # a retried Login that meets 2100 stops there
    : >"$T/cove.log"
    cove --devices 5 --fault 'truncated,count=1,rpc=Login' --fault 'rpc2100,after=1,count=0,rpc=Login'
    conf
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *'source cove-msp: failed'*'(2100)'* ]]
    [ "$(grep -c '"Login' "$T/cove.log")" -eq 2 ]
    [ "$(curl -s "$COVE_URL/__sim/stats" | grep -o '"login_failures":[0-9]*')" = '"login_failures":1' ]
}

@test "an unknown error.data is a vendor error with its code and message, not retried" {
    cove --devices 30 --fault 'rpc-unknown,after=1,count=1,rpc=EnumerateAccountStatistics'
    conf 10
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *'source cove-msp: failed'*'error="Cove EnumerateAccountStatistics at record 10: Cove vendor error (code -32603, data 19001): Internal error: storage statistics temporarily unavailable"'* ]]
    [ "$(eas_starts)" = "0 10 " ]
    [ "$(q "SELECT result FROM poll_run")" = failed ]
    [ "$(q 'SELECT COUNT(*) FROM job')" -eq 0 ]
    stop_sims

    : >"$T/cove.log"
    cove --devices 5 --fault 'rpc-unknown,count=0,rpc=Login'
    conf
    run poll
    [ "$status" -eq 1 ]
    [[ "$output" == *'error="Cove Login: Cove vendor error (code -32603, data 19001): Internal error'* ]]
    [ "$(grep -c '"Login' "$T/cove.log")" -eq 1 ]
}

@test "a device removed at the vendor is retired, never deleted" {
    cove --devices 10
    conf
    poll >/dev/null
    ctl devices '{"remove": 200003}' >/dev/null
    run poll
    [ "$status" -eq 0 ]
    [ "$(q "SELECT retired_at IS NOT NULL FROM job WHERE external_id = '200003'")" -eq 1 ]
    [ "$(q 'SELECT COUNT(*) FROM job')" -eq 10 ]
}

@test "kill -9 during a poll, then a clean poll, gives the same database as an uninterrupted one" {
    # one simulator (its times are relative to its start), slowed down
    cove --devices 200 --seed 7 --latency-ms 40
    conf 20 ref.db
    poll >/dev/null
    ref=$(dump "$T/ref.db")
    conf 20 crash.db
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null 2>&1 &
    pid=$!
    i=0
    until [ "$(DB=$T/crash.db q 'SELECT COUNT(DISTINCT poll_id) FROM stage_job' 2>/dev/null || echo 0)" -ge 1 ]; do
        i=$((i + 1)); [ $i -lt 400 ] || break
        sleep 0.02
    done
    kill -9 $pid
    wait $pid || true
    [ "$(DB=$T/crash.db q 'SELECT COUNT(*) FROM job')" -eq 0 ] # nothing visible
    run poll
    [ "$status" -eq 0 ]
    [ "$(dump "$T/crash.db")" = "$ref" ]
    [ "$(DB=$T/crash.db q "SELECT COUNT(*) FROM poll_run WHERE result = 'interrupted'")" -eq 1 ]
    [ "$(DB=$T/crash.db q 'SELECT COUNT(*) FROM stage_job')" -eq 0 ]
}

# loop_conf: a good source and one whose password Cove rejects, both every 10 s
loop_conf() {
    printf 'wrong-password\n' >"$T/bad.secret"
    chmod 600 "$T/bad.secret"
    printf '[database]\nurl = sqlite://b.db\n' >"$T/b.conf"
    for s in ${1:-good bad}; do
        cat >>"$T/b.conf" <<CONF
[source "$s"]
type = cove
url = $COVE_URL/jsonapi
partner = $PARTNER
username = backupctl-api
password_file = $T/$([ "$s" = bad ] && echo bad || echo cove).secret
interval = 10s
CONF
    done
}

@test "fingerprints: kill -9 during a re-poll changes nothing visible, fingerprints included" {
    cove --devices 200 --seed 7 --latency-ms 40
    conf 20 ref.db
    poll >/dev/null
    conf 20 crash.db
    poll >/dev/null
    ctl advance '{"all": true}' >/dev/null # a new session on every device: all changed
    fps() { sqlite3 "$1" "SELECT j.external_id, f.fp FROM job_fingerprint f JOIN job j ON j.id = f.job_id ORDER BY 1"; }
    before=$(dump "$T/crash.db")
    fp_before=$(fps "$T/crash.db")
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null 2>&1 &
    pid=$!
    i=0
    until [ "$(DB=$T/crash.db q 'SELECT COUNT(DISTINCT poll_id) FROM stage_job' 2>/dev/null || echo 0)" -ge 1 ]; do
        i=$((i + 1)); [ $i -lt 400 ] || break
        sleep 0.02
    done
    kill -9 $pid
    wait $pid || true
    [ "$(dump "$T/crash.db")" = "$before" ]
    [ "$(fps "$T/crash.db")" = "$fp_before" ]
    run poll
    [ "$status" -eq 0 ]
    conf 20 ref.db
    poll >/dev/null
    [ "$(dump "$T/crash.db")" = "$(dump "$T/ref.db")" ]
    [ "$(fps "$T/crash.db")" = "$(fps "$T/ref.db")" ]
    [ "$(fps "$T/crash.db")" != "$fp_before" ]
}

@test "poll loop: rejected credentials are never retried while the good source keeps polling" {
    cove --devices 5
    loop_conf
    # 38 s: past three 10 s intervals (the old loop logged in again every interval) and past
    # the first 30 s backoff (a hold mistaken for an ordinary failure would retry there)
    run timeout --preserve-status -s TERM 38 "$BACKUPCTL" poll --config "$T/b.conf"
    [ "$status" -eq 0 ]
    ok=$(grep -c '^source good: ok' <<<"$output")
    echo "good polls: $ok, bad polls: $(grep -c '^source bad: failed' <<<"$output")"
    [ "$ok" -ge 4 ]
    [ "$(grep -c '^source bad: failed' <<<"$output")" -eq 1 ]
    [[ "$output" == *"source bad: credentials rejected; not retrying"* ]]
    [ "$(curl -s "$COVE_URL/__sim/stats" | grep -o '"login_failures":[0-9]*')" = '"login_failures":1' ]
    # every good poll logged in once, the bad source once in all
    [ "$(grep -c 'Login' "$T/cove.log")" -eq $((ok + 1)) ]
}

@test "poll loop: with every source's credentials rejected, poll stops with exit 1" {
    cove --devices 5
    loop_conf bad
    run timeout --preserve-status -s TERM 38 "$BACKUPCTL" poll --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"every source is waiting for fixed credentials"* ]]
    [ "$(curl -s "$COVE_URL/__sim/stats" | grep -o '"login_failures":[0-9]*')" = '"login_failures":1' ]
}

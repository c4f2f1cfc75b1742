#!/usr/bin/env bats
# Smoke test of the Cove simulator itself: the Cove provider tests trust cove-sim, so the
# behaviours they lean on (Login and the visa chain, the Settings shape and spellings, subtree
# scoping, 13501 columns, paging and Totals, OrderBy, filters, visa expiry mid-pagination,
# sessions that advance on request, the masked request log) are checked here first with plain
# curl against the real binary. Needs $COVE_SIM (set by ctest), curl, grep, sed.

bats_require_minimum_version 1.5.0

PARTNER='Acme MSP (admin@acme.example)'

setup() {
    load helpers
    setup_tmp
}

teardown() {
    teardown_tmp
}

# cove ARGS… : start cove-sim with a request log at $T/cove.log.
cove() {
    start_sim COVE "$COVE_SIM" --hostile-names --request-log "$T/cove.log" "$@"
}

# rpc BODY : POST BODY to /jsonapi; the reply on stdout.
rpc() {
    curl -s -d "$1" "$COVE_URL/jsonapi"
}

# visa_of : the top-level visa of the reply on stdin ("" when none).
visa_of() {
    grep -o '"visa":"[^"]*"}$' | sed 's/^"visa":"\(.*\)"}$/\1/'
}

login_body() {
    printf '{"jsonrpc":"2.0","id":"1","method":"Login","params":{"partner":"%s","username":"%s","password":"%s"}}' \
        "${1:-$PARTNER}" "${2:-backupctl-api}" "${3:-sim-password}"
}

# login : sets VISA.
login() {
    VISA=$(rpc "$(login_body "$@")" | visa_of)
    [ -n "$VISA" ]
}

# eas QUERY [VISA] : EnumerateAccountStatistics with that query object.
eas() {
    rpc "{\"jsonrpc\":\"2.0\",\"id\":7,\"visa\":\"${2:-$VISA}\",\"method\":\"EnumerateAccountStatistics\",\"params\":{\"query\":$1}}"
}

# rows : number of rows (AccountId members) in the reply on stdin.
rows() {
    grep -o '"AccountId":' | wc -l | tr -d ' '
}

exact_scenario() {
    scenario '{"devices": [
      {"account_id": 300001, "name": "exact-name", "partner": "Customer 01", "os_type": 2,
       "account_type": 1, "datasources": "D01D10", "status": 5, "errors": 0, "duration": 120,
       "last_session": -3600, "colour_bar": "5555555555555555555555555585"},
      {"account_id": 300002, "name": "failing", "partner_id": 1002, "status": 2, "errors": 3,
       "last_session": -7200}]}'
}

@test "Login: success gives UserInfo and a visa, failures give 2100 and no visa" {
    cove
    run rpc "$(login_body)"
    [[ "$output" == '{"id":"1","jsonrpc":"2.0","result":{"result":{'* ]]
    [[ "$output" == *'"PartnerId":1000'* ]]
    [[ "$output" == *'"Flags":["NonInteractive"]'* ]]
    [[ "$output" == *'"Name":"backupctl-api"'* ]]
    [[ "$output" =~ \"visa\":\"1000-50001-1-[0-9]+-[0-9A-F]{40}\"\}$ ]]

    for body in "$(login_body "$PARTNER" backupctl-api wrong)" "$(login_body "Acme MSP" backupctl-api sim-password)" \
        "$(login_body "$PARTNER" nobody sim-password)" \
        '{"jsonrpc":"2.0","id":2,"method":"Login","params":{"username":"backupctl-api","password":"sim-password"}}'; do
        run rpc "$body"
        [[ "$output" == *'"error":{"code":-32603,"data":2100,"message":"Unknown partner/username or bad password"}'* ]]
        [[ "$output" != *visa* ]]
    done
    run curl -s "$COVE_URL/__sim/stats"
    [[ "$output" == *'"logins":1,'* ]]
    [[ "$output" == *'"login_failures":4,'* ]]
    [[ "$output" == *'"Login":5'* ]]
}

@test "a visa is required, each success returns a new one, old ones stay valid until idle too long" {
    cove --visa-ttl 60
    q='{"PartnerId":1000,"Columns":["I1"],"RecordsCount":1}'
    run eas "$q" ""
    [[ "$output" == '{"id":7,"jsonrpc":"2.0","error":{"code":-32603,"data":1701,"message":"Visa is inconsistent/corrupted"}}' ]]
    run eas "$q" "1000-50001-1-1700000000-0000000000000000000000000000000000000000"
    [[ "$output" == *'"data":1701'* ]]
    login
    # A visa inside params does not count.
    run rpc "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"EnumerateAccountStatistics\",\"params\":{\"visa\":\"$VISA\",\"query\":$q}}"
    [[ "$output" == *'"data":1701'* ]]

    v2=$(eas "$q" | visa_of)
    [ -n "$v2" ] && [ "$v2" != "$VISA" ]
    v3=$(eas "$q" "$v2" | visa_of)
    [ -n "$v3" ] && [ "$v3" != "$v2" ]
    run eas "$q" "$VISA" # the first visa still works
    [[ "$output" == *'"result":{"result":[{"AccountId":200001,'* ]]

    # Idle past the TTL (sim clock moved): every visa is dead, a new Login works.
    curl -s -d '{"seconds": 61}' "$COVE_URL/__sim/advance" >/dev/null
    run eas "$q" "$v3"
    [[ "$output" == *'"data":1701'* ]]
    login
    run eas "$q"
    [[ "$output" == *'"AccountId":200001'* ]]
}

@test "Settings: sorted single-key objects, string values, requested spelling echoed, unknown codes omitted" {
    exact_scenario
    cove --scenario "$T/scenario.json"
    login
    run eas '{"PartnerId":1000,"Filter":"AU == 300001","Columns":["T0","I1","D9F00","D09F00","AN","D9F0","ZZ9","I78","TB","D01F06","AT","I14","D19F00"]}'
    [[ "$output" == *'"result":{"result":[{"AccountId":300001,"Flags":null,"PartnerId":1001,"Settings":[{"AN":"exact-name"},{"AT":"1"},{"D01F06":"0"},{"D09F00":"5"},{"D9F0":"5"},{"D9F00":"5"},{"I1":"exact-name"},{"I14":"107374182400"},{"I78":"D01D10"},{"T0":"5"},{"TB":"5555555555555555555555555585"}]}],"totalStatistics":null},"visa":"'* ]]

    start=$(curl -s "$COVE_URL/__sim/stats" | sed 's/.*"start":\([0-9]*\).*/\1/')
    run eas '{"PartnerId":1000,"Filter":"AN == '"'"'failing'"'"'","Columns":["D09F00","D09F06","D09F15","D09F12","D09F09"]}'
    [[ "$output" == *'"PartnerId":1002,"Settings":[{"D09F00":"2"},{"D09F06":"3"},{"D09F09":"'$((start - 7200 - 86400))'"},{"D09F12":"120"},{"D09F15":"'$((start - 7200))'"}]}'* ]]
}

@test "PartnerId covers its subtree; partners outside the user's subtree get 13501" {
    cove
    login
    run eas '{"PartnerId":1001,"Columns":["I8"]}'
    [[ "$output" == *'"PartnerId":1001,'* ]]
    [[ "$output" == *'"PartnerId":1004,"Settings":[{"I8":"Customer 01 / Site B"}]'* ]]
    [[ "$output" != *'"PartnerId":1002'* ]]
    # Two customers share a name; their ids differ.
    run eas '{"PartnerId":1000,"Filter":"AR == '"'"'Contoso'"'"'","Columns":["AR"]}'
    [[ "$output" == *'"PartnerId":1002'* ]]
    [[ "$output" == *'"PartnerId":1003'* ]]
    run eas '{"PartnerId":999,"Columns":["I1"]}'
    [[ "$output" == *'"error":{"code":-32603,"data":13501,"message":"Operation failed because of security reasons"}'* ]]
    stop_sims

    cove --partner "Customer 01" --username cust --password pw
    login "Customer 01" cust pw
    run eas '{"PartnerId":1000,"Columns":["I1"]}'
    [[ "$output" == *'"data":13501'* ]]
    run eas '{"PartnerId":1004,"Columns":["I1"]}'
    [ "$(printf '%s' "$output" | rows)" -eq 2 ]
}

@test "forbidden columns answer 13501 in any spelling, configurable with --forbid-column" {
    cove
    login
    for col in D02F00 D2F0 D03F09 S0; do
        run eas "{\"PartnerId\":1000,\"Columns\":[\"I1\",\"$col\"]}"
        [[ "$output" == *'"data":13501'* ]]
    done
    run eas '{"PartnerId":1000,"Filter":"D02F00 == 5","Columns":["I1"]}'
    [[ "$output" == *'"data":13501'* ]]
    stop_sims

    cove --forbid-column I14
    login
    run eas '{"PartnerId":1000,"Columns":["US"]}'
    [[ "$output" == *'"data":13501'* ]]
    run eas '{"PartnerId":1000,"Columns":["D02F00"],"RecordsCount":1}'
    [[ "$output" == *'"result":{"result":[{"AccountId":200001,'* ]]
}

@test "paging with StartRecordNumber/RecordsCount, Totals sorted, --max-records and --short-page-at" {
    cove --short-page-at 14
    login
    run eas '{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":0,"RecordsCount":7,"Totals":["SUM(I32)","COUNT(1)","COUNT(AT==2)"]}'
    [ "$(printf '%s' "$output" | rows)" -eq 7 ]
    [[ "$output" == *'"totalStatistics":[{"COUNT(1)":"20"},{"COUNT(AT==2)":"2"},{"SUM(I32)":"'* ]]
    run eas '{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":7,"RecordsCount":7}'
    [ "$(printf '%s' "$output" | rows)" -eq 7 ]
    [[ "$output" == *'"result":[{"AccountId":200008,'* ]]
    # The short page: half of the 6 remaining rows, once.
    run eas '{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":14,"RecordsCount":7}'
    [ "$(printf '%s' "$output" | rows)" -eq 3 ]
    run eas '{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":14,"RecordsCount":7}'
    [ "$(printf '%s' "$output" | rows)" -eq 6 ]
    run eas '{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":21,"RecordsCount":7}'
    [[ "$output" == *'"result":{"result":[],"totalStatistics":null}'* ]]
    stop_sims

    cove --max-records 5
    login
    run eas '{"PartnerId":1000,"Columns":["I1"],"RecordsCount":1000}'
    [ "$(printf '%s' "$output" | rows)" -eq 5 ]
}

@test "--empty-page-at answers once with no rows; --totals-shape writes totalStatistics in each shape" {
    cove --empty-page-at 7
    login
    q='{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":7,"RecordsCount":7}'
    run eas "$q"
    [[ "$output" == *'"result":{"result":[],"totalStatistics":null}'* ]]
    run eas "$q"
    [ "$(printf '%s' "$output" | rows)" -eq 7 ]
    stop_sims

    t='{"PartnerId":1000,"Columns":["I1"],"RecordsCount":1,"Totals":["SUM(I32)","COUNT(1)"]}'
    declare -A want=(
        [array]='"totalStatistics":[{"COUNT(1)":"20"},{"SUM(I32)":"'
        [numbers]='"totalStatistics":[{"COUNT(1)":20},{"SUM(I32)":'
        [object]='"totalStatistics":{"COUNT(1)":"20","SUM(I32)":"'
        [null]='"totalStatistics":null}'
        [string]='"totalStatistics":"20"}'
        [nested]='"totalStatistics":[[{"COUNT(1)":"20"},{"SUM(I32)":"'
        [garbled]='"totalStatistics":[{"COUNT(1)":"n/a"},{"SUM(I32)":"n/a"}]}'
    )
    for shape in "${!want[@]}"; do
        cove --totals-shape "$shape"
        login
        run eas "$t"
        [ "$(printf '%s' "$output" | rows)" -eq 1 ]
        [[ "$output" == *"${want[$shape]}"* ]] || { echo "shape $shape: $output"; false; }
        stop_sims
    done
    cove --totals-shape omit
    login
    run eas "$t"
    [[ "$output" == *'"Settings":[{"I1":"'*'"}]}]},"visa":"'* ]]
    [[ "$output" != *totalStatistics* ]]
    run "$COVE_SIM" --totals-shape square
    [ "$status" -eq 2 ]
    [[ "$output" == *'--totals-shape: expected array'* ]]
}

@test "rpc-unknown, login-novisa and malformed faults on Login" {
    cove --fault 'rpc-unknown,count=1,rpc=EnumerateAccountStatistics' --fault 'login-novisa,count=1,rpc=Login' \
        --fault 'truncated,after=1,count=1,rpc=Login,handled=1' --fault 'malformed,after=2,count=1,rpc=Login'
    # Every matching fault counts each Login: novisa, then truncated, then malformed.
    run rpc "$(login_body)"
    [[ "$output" == '{"id":"1","jsonrpc":"2.0","result":{"result":{"PartnerId":1000,"Name":"backupctl-api"}}}' ]]
    run rpc "$(login_body)"
    [[ "$output" == '{"id":"1","jsonrpc":"2.0","result":{"result":{'* ]]
    [[ "$output" != *'}' ]]
    run rpc "$(login_body)"
    [[ "$output" == *'<<garbage>>'* ]]
    login
    run eas '{"PartnerId":1000,"Columns":["I1"]}'
    [[ "$output" == *'"error":{"code":-32603,"data":19001,"message":"Internal error: storage statistics temporarily unavailable"}'* ]]
    run eas '{"PartnerId":1000,"Columns":["I1"]}'
    [ "$(printf '%s' "$output" | rows)" -eq 20 ]
}

@test "OrderBy and Filter" {
    cove
    login
    run eas '{"PartnerId":1000,"Columns":["AN"],"OrderBy":"AN DESC","RecordsCount":2}'
    [[ "$output" == *'"result":[{"AccountId":200020,'*'{"AccountId":200019,'* ]]
    run eas '{"PartnerId":1000,"Columns":["I1"],"OrderBy":"I0 DESC","RecordsCount":1}'
    [[ "$output" == *'"result":[{"AccountId":200020,'* ]]
    run eas '{"PartnerId":1000,"Columns":["I1"],"OrderBy":"AU","RecordsCount":1}'
    [[ "$output" == *'"result":[{"AccountId":200001,'* ]]
    # The XSS probe name is served verbatim (JSON needs no escaping for it).
    run eas '{"PartnerId":1000,"Filter":"I1 =~ '"'"'*onerror*'"'"'","Columns":["I1"]}'
    [[ "$output" == *'"Settings":[{"I1":"<img src=x onerror=alert(1)>"}]'* ]]
    run eas '{"PartnerId":1000,"Filter":"(AT == 2 OR OT == 1) and TS > 2.days().ago()","Columns":["AT"],"Totals":["COUNT(1)"]}'
    # 7: the generated fleet's device #6, a workstation, is offline for days (issue 9)
    [[ "$output" == *'"totalStatistics":[{"COUNT(1)":"7"}]'* ]]
    run eas '{"PartnerId":1000,"Filter":"AT ==","Columns":["I1"]}'
    [[ "$output" == *'"error":{"code":-32602,"data":0,"message":"Invalid filter'* ]]
    run eas '{"PartnerId":1000,"OrderBy":"AN SIDEWAYS","Columns":["I1"]}'
    [[ "$output" == *'"code":-32602'* ]]
}

@test "visa-expire fault on the 3rd page: 1701, every earlier visa dies, a new Login resumes" {
    cove --fault 'visa-expire,rpc=EnumerateAccountStatistics,after=2'
    login
    first=$VISA
    for start in 0 5; do
        out=$(eas "{\"PartnerId\":1000,\"Columns\":[\"I1\"],\"StartRecordNumber\":$start,\"RecordsCount\":5}")
        [ "$(printf '%s' "$out" | rows)" -eq 5 ]
        VISA=$(printf '%s' "$out" | visa_of)
    done
    run eas '{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":10,"RecordsCount":5}'
    [[ "$output" == '{"id":7,"jsonrpc":"2.0","error":{"code":-32603,"data":1701,"message":"Visa is inconsistent/corrupted"}}' ]]
    run eas '{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":10,"RecordsCount":5}' "$first"
    [[ "$output" == *'"data":1701'* ]]
    login
    run eas '{"PartnerId":1000,"Columns":["I1"],"StartRecordNumber":10,"RecordsCount":5}'
    [[ "$output" == *'"result":[{"AccountId":200011,'* ]]
    grep -q '"fault":"visa-expire"' "$T/cove.log"
    run curl -s "$COVE_URL/__sim/stats"
    [[ "$output" == *'"EnumerateAccountStatistics":5'* ]]
}

@test "rpc2100 and 503 faults; malformed JSON-RPC answers" {
    cove --fault 'rpc2100,rpc=Login' --fault '503,count=2,path=/jsonapi,rpc=EnumeratePartners'
    run rpc "$(login_body)"
    [[ "$output" == *'"data":2100'* ]]
    login
    body="{\"jsonrpc\":\"2.0\",\"id\":3,\"visa\":\"$VISA\",\"method\":\"EnumeratePartners\",\"params\":{\"parentPartnerId\":1000,\"fields\":[0,1],\"fetchRecursively\":true}}"
    run curl -s -o /dev/null -w '%{http_code}' -d "$body" "$COVE_URL/jsonapi"
    [ "$output" = 503 ]
    run curl -s -o /dev/null -w '%{http_code}' -d "$body" "$COVE_URL/jsonapi"
    [ "$output" = 503 ]
    run rpc "$body"
    [[ "$output" == *'"Id":1004,"Level":"Site"'*'"Name":"Customer 01 / Site B","ParentId":1001'* ]]

    run rpc "{\"jsonrpc\":\"2.0\",\"id\":4,\"visa\":\"$VISA\",\"method\":\"NoSuchMethod\"}"
    [[ "$output" == '{"id":4,"jsonrpc":"2.0","error":{"code":-32601,"data":0,"message":"Method not found"}}' ]]
    run rpc '{"jsonrpc":"2.0", "id":'
    [[ "$output" == *'"code":-32700'* ]]
    run curl -s -o /dev/null -w '%{http_code}' "$COVE_URL/jsonapi"
    [ "$output" = 404 ]
    run curl -s -o /dev/null -w '%{http_code}' -d '{}' "$COVE_URL/other"
    [ "$output" = 404 ]
}

@test "/__sim/advance: a new session gets a new F15 and F00=1, completion keeps F15; bars shift daily" {
    exact_scenario
    cove --scenario "$T/scenario.json"
    col() { curl -s "$COVE_URL/__sim/devices?account_id=300001" | grep -o "\"$1\":\"[^\"]*\"" | cut -d'"' -f4; }
    f15=$(col D09F15)
    [ "$(col D09F00)" = 5 ]

    curl -s -d '{"all": true}' "$COVE_URL/__sim/advance" | grep -q '"started":22'
    new15=$(col D09F15)
    [ "$new15" -gt "$f15" ]
    [ "$(col D09F00)" = 1 ]

    curl -s -d '{"seconds": 300, "complete_running": true}' "$COVE_URL/__sim/advance" | grep -q '"completed":22'
    [ "$(col D09F15)" = "$new15" ]
    [ "$(col D09F00)" != 1 ]
    f12=$(col D09F12) # the clock is wall time plus advances, so allow a tick
    [ "$f12" -ge 300 ] && [ "$f12" -le 302 ]

    curl -s -d '{"account_id": 300001, "status": 8, "errors": 4}' "$COVE_URL/__sim/advance" >/dev/null
    [ "$(col D09F00)" = 8 ]
    [ "$(col D09F06)" = 4 ]
    bar=$(col D09F08)
    [ "${bar: -1}" = 8 ]
    curl -s -d '{"seconds": 86400}' "$COVE_URL/__sim/advance" >/dev/null
    [ "$(col D09F08)" = "${bar:1}0" ]

    # The same change is what a client sees through the API.
    login
    run eas '{"PartnerId":1000,"Filter":"I0 == 300001","Columns":["D09F00","T0"]}'
    [[ "$output" == *'"Settings":[{"D09F00":"8"},{"T0":"8"}]'* ]]

    # set / remove / add for retirement and exact-state tests.
    curl -s -d '{"set": {"account_id": 300001, "D09F00": "2"}}' "$COVE_URL/__sim/devices" | grep -q '"D09F00":"2"'
    curl -s -d '{"remove": 300001}' "$COVE_URL/__sim/devices" | grep -q '"removed":300001'
    run curl -s -o /dev/null -w '%{http_code}' "$COVE_URL/__sim/devices?account_id=300001"
    [ "$output" = 404 ]
    curl -s -d '{"add": {"account_id": 300009, "name": "late", "partner": "Contoso"}}' "$COVE_URL/__sim/devices" | grep -q '"added":300009'
}

@test "request log masks the password and leaves /__sim out" {
    cove
    login
    curl -s "$COVE_URL/__sim/stats" >/dev/null
    grep -q '"method":"POST","path":"/jsonapi"' "$T/cove.log"
    grep -q '\\"password\\":\\"\*\*\*\\"' "$T/cove.log"
    run ! grep -q 'sim-password' "$T/cove.log"
    run ! grep -q '__sim' "$T/cove.log"
}

@test "a bad scenario or option is a one-line error and exit 2" {
    printf '{"devices": [{"name": "x", "status": 4}]}' >"$T/bad.json"
    run "$COVE_SIM" --scenario "$T/bad.json"
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *'is not a Cove session status'* ]]
    printf '{"devices": [' >"$T/bad.json"
    run "$COVE_SIM" --scenario "$T/bad.json"
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    run "$COVE_SIM" --partner "Nowhere" --username a --password b --partner Other --username c --password d
    [ "$status" -eq 2 ]
    run "$COVE_SIM" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *sim-password* ]]
}

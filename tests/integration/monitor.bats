#!/usr/bin/env bats
# `backupctl status`, `check` and `config check` as a user, an attacker and a reviewer try them
# (issue 8): URLs that carry credentials, malformed configuration lines, selections that match
# nothing, vendor names with control bytes and '|', and what LAST RUN means. Against hycu-sim
# and cove-sim over loopback and a real SQLite file. Needs curl, jq, sqlite3.

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

trigger() { # trigger VM-NAME
    local uuid
    uuid=$(api GET "/vms?pageSize=1000" | jq -r --arg n "$1" '.entities[] | select(.vmName == $n) | .uuid')
    api POST /schedules/backup "{\"uuidList\":[\"$uuid\"]}" >/dev/null
}

hycu_conf() { # hycu_conf [EXTRA SOURCE LINES…]
    printf '%s\n' "$HYCU_TEST_TOKEN" >"$T/hycu.token"
    chmod 600 "$T/hycu.token"
    {
        printf '[database]\nurl = sqlite://b.db\n[source "hycu-lab"]\n'
        for l in "$@"; do printf '%s\n' "$l"; done
        printf 'type = hycu\nurl = %s\ntoken_file = %s\ncustomer = Lab Corp\ninterval = 1m\n' \
            "$HYCU_URL" "$T/hycu.token"
    } >"$T/b.conf"
}

cove_conf() { # cove_conf URL
    printf 'sim-password\n' >"$T/cove.secret"
    chmod 600 "$T/cove.secret"
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[source "cove-msp"]
type = cove
url = $1
partner = Acme MSP (admin@acme.example)
username = backupctl-api
password_file = $T/cove.secret
interval = 1m
CONF
}

q() { sqlite3 "$T/b.db" "$1"; }

@test "config: a '[section' line without ']' is reported as itself" {
    printf '[database]\nurl = sqlite://b.db\n[server\nlisten = 127.0.0.1:1\n' >"$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *'b.conf:3: section header "[server" has no closing "]"'* ]]
    [[ "$output" != *"unknown key"* ]]
}

@test "config: page_size before type is kept (the request log shows it)" {
    hycu_sim --devices 3
    hycu_conf "page_size = 2"
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    grep -q 'pageSize=2' "$T/hycu.log"
    run grep -c 'pageSize=100\b' "$T/hycu.log"
    [ "$output" -eq 0 ]
}

@test "URLs: user-info is refused (config and backup), query strings never reach a log line" {
    hycu_sim --devices 1
    addr=${HYCU_URL#http://}
    hycu_conf
    sed -i "s|^url = http://.*|url = http://admin:hunter2@$addr|" "$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"b.conf:"*": url must not contain credentials"* ]]
    [[ "$output" != *hunter2* ]]
    run "$BACKUPCTL" poll --once --verbose --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" != *hunter2* ]]
    [ ! -e "$T/b.db" ] # nothing stored the URL
    # backup --url / HYCU_URL: exit 1, a clear error, nothing echoed
    run env HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN" "$BACKUPCTL" backup --backup-name vm-0001 \
        --url "http://admin:hunter2@$addr" --verbose
    [ "$status" -eq 1 ]
    [[ "$output" == *"--url must not contain credentials"* ]]
    [[ "$output" != *hunter2* ]]
    run env HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN" HYCU_URL="http://u:hunter2@$addr" \
        "$BACKUPCTL" backup --backup-name vm-0001 --verbose
    [ "$status" -eq 1 ]
    [[ "$output" == *"HYCU_URL must not contain credentials"* ]]
    [[ "$output" != *hunter2* ]]
    run env HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN" "$BACKUPCTL" backup --backup-name vm-0001 \
        --url "$HYCU_URL/?token=s3cr3t-q" --verbose
    [ "$status" -eq 1 ]
    [[ "$output" == *"--url must be the controller's base URL"* ]]
    [[ "$output" != *s3cr3t-q* ]]
    # the simulator saw none of these attempts
    run grep -c . "$T/hycu.log"
    [ "$output" -eq 0 ]
}

@test "URLs: a query string in a source URL is masked in --verbose lines" {
    start_sim COVE "$COVE_SIM" --devices 3 --customers 1
    cove_conf "$COVE_URL/jsonapi?token=s3cr3t-q"
    run "$BACKUPCTL" poll --once --verbose --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" == *"/jsonapi?*** -> 200"* ]]
    [[ "$output" != *s3cr3t-q* ]]
    # nor in an error: the poll summary, the store, the log
    stop_sims
    cove_conf "http://127.0.0.1:$COVE_PORT/jsonapi?token=s3cr3t-q"
    run "$BACKUPCTL" poll --once --verbose --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"source cove-msp: failed"*'error="'*"/jsonapi?***"* ]]
    [[ "$output" != *s3cr3t-q* ]]
    [ "$(q "SELECT COUNT(*) FROM poll_run WHERE error LIKE '%s3cr3t%'")" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM poll_run WHERE error LIKE '%/jsonapi?***%'")" -eq 1 ]
}

@test "check/status --customer: unknown is UNKNOWN (exit 3); an id picks one of two namesakes" {
    start_sim COVE "$COVE_SIM" --devices 12 --customers 3
    cove_conf "$COVE_URL/jsonapi"
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    run "$BACKUPCTL" check --config "$T/b.conf" --customer Nope
    [ "$status" -eq 3 ]
    [[ "$output" == 'BACKUPCTL UNKNOWN - no customer "Nope" (name or id) in the store' ]]
    run "$BACKUPCTL" status --config "$T/b.conf" --customer Nope
    [ "$status" -eq 1 ]
    [[ "$output" == *'no customer "Nope"'* ]]
    # two customers are named Contoso: the name selects both, an id selects one
    [ "$(q "SELECT COUNT(*) FROM customer WHERE name = 'Contoso'")" -eq 2 ]
    both=$(q "SELECT COUNT(*) FROM job j JOIN customer c ON c.id = j.customer_id WHERE c.name = 'Contoso' AND j.retired_at IS NULL")
    id=$(q "SELECT MIN(c.id) FROM customer c JOIN job j ON j.customer_id = c.id WHERE c.name = 'Contoso'")
    one=$(q "SELECT COUNT(*) FROM job WHERE customer_id = $id AND retired_at IS NULL")
    [ "$one" -gt 0 ] && [ "$one" -lt "$both" ]
    run "$BACKUPCTL" check --config "$T/b.conf" --customer Contoso
    [[ "$output" == *" jobs=$both" ]]
    run "$BACKUPCTL" check --config "$T/b.conf" --customer "$id"
    [ "$status" -ne 3 ]
    [[ "$output" == *" jobs=$one" ]]
    run "$BACKUPCTL" status --config "$T/b.conf" --customer "$id" --format json
    [ "$status" -eq 0 ]
    [ "$(jq length <<<"$output")" -eq "$one" ]
    # a customer that exists but has no job: still nothing to vouch for
    q "INSERT INTO customer (source_id, external_id, name, created_at, updated_at) SELECT id, 'x', 'Empty', 0, 0 FROM source"
    run "$BACKUPCTL" check --config "$T/b.conf" --customer Empty
    [ "$status" -eq 3 ]
    [[ "$output" == "BACKUPCTL UNKNOWN - 0 failed"*"of 0 jobs (no job of that customer) |"* ]]
}

@test "check/status/log: control bytes and '|' in vendor and login names are escaped" {
    scenario '{"entities": [{"type": "vm", "name": "ev|il\u001b[2J\nOK - fake", "outcome": "ERROR", "polls": 1}]}'
    hycu_sim --devices 0 --scenario "$T/scenario.json"
    hycu_conf
    trigger $'ev|il\e[2J\nOK - fake'
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    [ "$(q "SELECT COUNT(*) FROM job WHERE name LIKE 'ev|il%'")" -eq 1 ]
    run "$BACKUPCTL" check --config "$T/b.conf"
    [ "$status" -eq 2 ]
    printf '%s\n' "$output" >"$T/check.out"
    [ "$(wc -l <"$T/check.out")" -eq 1 ]
    [ "$(tr -cd '|' <"$T/check.out" | wc -c)" -eq 1 ] # only the perfdata separator
    run grep -c $'\e' "$T/check.out"
    [ "$output" -eq 0 ]
    grep -qF 'Lab Corp/ev\x7cil\x1b[2J\x0aOK - fake: failed) | failed=1' "$T/check.out"
    "$BACKUPCTL" status --config "$T/b.conf" >"$T/status.out"
    [ "$(wc -l <"$T/status.out")" -eq 2 ]
    run grep -c $'\e' "$T/status.out"
    [ "$output" -eq 0 ]
    grep -qF 'ev|il\x1b[2J\x0aOK' "$T/status.out"
    # a login name with ESC reaches the daemon's text log escaped
    printf '[server]\nlisten = 127.0.0.1:0\n' >>"$T/b.conf"
    start_serve
    curl -s -o /dev/null -H 'Content-Type: application/json' \
        -d '{"username": "x\u001b[31mroot\u0007", "password": "nope-nope-1"}' "$SERVE_URL/api/v1/session"
    kill "$SERVE_PID" && wait "$SERVE_PID" || true
    grep -qF 'failed login for "x\x1b[31mroot\x07"' "$T/serve.err"
    run grep -c $'[\e\a]' "$T/serve.err"
    [ "$output" -eq 0 ]
}

@test "status: LAST RUN is the latest run's start (as in the UI); --status filters" {
    scenario '{"default": {"outcome": "OK", "polls": 1},
      "entities": [{"type": "vm", "name": "db01", "outcome": "ERROR", "polls": 1},
                   {"type": "vm", "name": "web01", "outcome": "WARNING", "polls": 1}]}'
    hycu_sim --devices 1 --scenario "$T/scenario.json"
    hycu_conf
    for vm in db01 web01 vm-0001; do trigger "$vm"; done
    sleep 1.1 # so that a run's end differs from its start by at least a second
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    start=$(q "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', r.start_at / 1000, 'unixepoch') FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'db01'")
    end=$(q "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', r.end_at / 1000, 'unixepoch') FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.name = 'db01'")
    [ -n "$start" ] && [ "$start" != "$end" ]
    run "$BACKUPCTL" status --config "$T/b.conf" --format json
    [ "$(jq -r '.[] | select(.job == "db01") | .last_run_at' <<<"$output")" = "$start" ]
    run "$BACKUPCTL" status --config "$T/b.conf"
    [[ "$output" == *"db01"*" $start "* ]]
    run "$BACKUPCTL" status --config "$T/b.conf" --status failed --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r '[.[].job] | join(",")' <<<"$output")" = db01 ]
    run "$BACKUPCTL" status --config "$T/b.conf" --status warning
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == *web01*warning* ]]
    run "$BACKUPCTL" status --config "$T/b.conf" --status missed
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ] # the header: a filter may match nothing
    run "$BACKUPCTL" status --config "$T/b.conf" --status broken
    [ "$status" -eq 1 ]
    [[ "$output" == *"--status must be success, warning, failed"* ]]
}

@test "demo: the simulators' hostile names are opt-in (--hostile-names), and the demo does not opt in" {
    start_sim COVE "$COVE_SIM" --devices 12 --customers 3
    cove_conf "$COVE_URL/jsonapi"
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    [ "$(q "SELECT COUNT(*) FROM job")" -eq 12 ]
    [ "$(q "SELECT COUNT(*) FROM job WHERE name LIKE '%onerror%'")" -eq 0 ]
    stop_sims
    rm -f "$T/b.db"
    start_sim COVE "$COVE_SIM" --devices 12 --customers 3 --hostile-names
    cove_conf "$COVE_URL/jsonapi"
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    [ "$(q "SELECT COUNT(*) FROM job WHERE name = '<img src=x onerror=alert(1)>'")" -eq 1 ]
    run grep -c -- --hostile-names "$SRC_DIR/scripts/demo-run"
    [ "$output" -eq 0 ]
}

@test "docs: the README stands on its own; BACKUPCTL_CONFIG works and is documented; help serve names the web UI" {
    # every relative link of the README resolves inside the repository
    grep -o '](\([^)#]*\)' "$SRC_DIR/README.md" | sed 's/^](//' | grep -v '^https\?://' >"$T/links"
    [ -s "$T/links" ]
    while read -r l; do
        [ -e "$SRC_DIR/$l" ] || { echo "README links $l, which a clone does not have"; return 1; }
        case "$l" in ../*) echo "README links outside the repository: $l"; return 1 ;; esac
    done <"$T/links"
    run grep -c -e '\.\./shared' -e 'Today it does the first job' "$SRC_DIR/README.md"
    [ "$output" -eq 0 ]
    grep -q BACKUPCTL_CONFIG "$SRC_DIR/README.md"
    run "$BACKUPCTL" help
    [[ "$output" == *'$BACKUPCTL_CONFIG'* ]]
    printf '[database]\nurl = sqlite://b.db\n' >"$T/env.conf"
    run env BACKUPCTL_CONFIG="$T/env.conf" "$BACKUPCTL" config check
    [ "$status" -eq 0 ]
    [[ "$output" == "configuration OK (0 sources)" ]]
    run env BACKUPCTL_CONFIG="$T/missing.conf" "$BACKUPCTL" config check
    [ "$status" -eq 1 ]
    [[ "$output" == *"$T/missing.conf: cannot open"* ]]
    run "$BACKUPCTL" help serve
    [ "$status" -eq 0 ]
    [[ "$output" == *"web UI"* ]]
}

@test "config check: an alert's secrets are checked like a source's, and never echoed" {
    printf 'smtp-hunter2\n' >"$T/smtp.secret"
    chmod 644 "$T/smtp.secret"
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[alert "ops"]
email = ops@example.com
smtp = smtp://127.0.0.1:2525
smtp_username = bk
smtp_password_file = $T/smtp.secret
CONF
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *'b.conf:3: alert "ops" smtp_password'* ]]
    [[ "$output" != *hunter2* ]]
    chmod 600 "$T/smtp.secret"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    printf 'webhook_env = BK_TEST_UNSET_HOOK\nformat = slack\n' >>"$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *'alert "ops" webhook'* ]]
    [[ "$output" == *BK_TEST_UNSET_HOOK* ]]
}

#!/usr/bin/env bats
# Visual TOM integration: integrations/vtom/tom_submit.hycu played by a fake VTOM agent
# (recording tsend/vtgestlog/gestlog stubs, TOM_* environment) against hycu-sim.

bats_require_minimum_version 1.5.0

SUBMIT_REL=integrations/vtom/tom_submit.hycu

setup() {
    load helpers
    setup_tmp
    : "${SRC_DIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    SUBMIT="$SRC_DIR/$SUBMIT_REL"
    REAL_BACKUPCTL=$BACKUPCTL
    # Nothing from the caller's environment may feed backupctl: the fields must do it.
    unset HYCU_URL HYCU_AUTH_TOKEN HYCU_AUTH_TOKEN_FILE HYCU_AUTH_FILE HYCU_USERNAME \
        HYCU_PASSWORD HYCU_API

    # The fake agent: $ABM_BIN/tsend records its arguments, one line per call.
    mkdir -p "$T/abm/bin" "$T/admin"
    cat >"$T/abm/bin/tsend" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$T/tsend.log"
EOF
    cat >"$T/abm/bin/vtgestlog" <<EOF
#!/bin/sh
echo vtgestlog >>"$T/calls.log"
EOF
    cat >"$T/admin/gestlog" <<EOF
#!/bin/sh
echo "gestlog TOM_LOG_ACTION=[\$TOM_LOG_ACTION]" >>"$T/calls.log"
EOF
    chmod 755 "$T/abm/bin/tsend" "$T/abm/bin/vtgestlog" "$T/admin/gestlog"
    export ABM_BIN="$T/abm/bin" TOM_ADMIN="$T/admin"
    export TOM_JOB_ID=1234 TOM_JOB_EXEC=NORMAL TOM_ENVIRONMENT=Exploitation \
        TOM_APPLICATION=Backups TOM_JOB=HYCU_Daily TOM_LOG_ACTION="   "
    export BACKUPCTL

    scenario '{"default":{"outcome":"OK","polls":2},"entities":[
        {"type":"vm","name":"Daily Backup","outcome":"OK","polls":2},
        {"type":"vm","name":"db01","outcome":"ERROR","polls":1,"message":"disk failed"},
        {"type":"vm","name":"long run","outcome":"EXECUTING"}]}'
}

teardown() {
    teardown_tmp
}

# BACKUPCTL becomes a wrapper that records its argv (one argument per line, in $T/argv)
# and whether HYCU_AUTH_TOKEN is set, then runs the real backupctl.
wrap_backupctl() {
    cat >"$T/backupctl-wrapper" <<EOF
#!/bin/sh
: >"$T/argv"
for a in "\$@"; do printf '%s\n' "\$a" >>"$T/argv"; done
echo "token-env=\${HYCU_AUTH_TOKEN:+set}" >"$T/wrapper-env"
exec "$REAL_BACKUPCTL" "\$@"
EOF
    chmod 755 "$T/backupctl-wrapper"
    export BACKUPCTL="$T/backupctl-wrapper"
}

# submit FIELD1..FIELD9 : run the submitter like the agent does (always 9 parameters).
# stdout in $output, stderr in $stderr, exit code in $status.
submit() {
    run --separate-stderr timeout 60 sh "$SUBMIT" "$@"
}

# has_line FILE LINE : FILE has exactly LINE as one of its lines.
has_line() {
    grep -qxF -- "$2" "$1"
}

# lacks_line FILE LINE : the opposite (a bare `! cmd` would not fail a bats test).
lacks_line() {
    ! grep -qxF -- "$2" "$1" || return 1
}

@test "vtom: success with a VM name containing a space -> exit 0, tsend -sT -r0" {
    hycu_sim --scenario "$T/scenario.json"
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [[ "$output" == *"HYCU BACKUP EXECUTION REPORT"* ]]
    [[ "$output" == *"Status: OK"* ]]
    [[ "$output" == *"Begin of the script..."* ]]
    [[ "$output" == *"End of the script."* ]]
    [[ "$output" == *"--> Exit [0] then acknowledgment"* ]]
    [[ "$output" == *"_______________________________________________________________________"* ]]
    [ "$(wc -l <"$T/tsend.log")" -eq 1 ]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
    has_line "$T/calls.log" vtgestlog
    # TOM_LOG_ACTION is three spaces: no gestlog
    ! grep -q '^gestlog' "$T/calls.log" || false
    # a VTOM job: no "not submitted by a Visual TOM engine" warning
    [[ "$stderr" != *"TOM_JOB_ID is empty"* ]]
}

@test "vtom: backup failed -> exit 4, tsend -sE -r4 with the meaning" {
    hycu_sim --scenario "$T/scenario.json"
    submit "db01" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 4 ]
    [[ "$output" == *"Status: ERROR"* ]]
    [[ "$output" == *"--> Exit [4] then no acknowledgment"* ]]
    has_line "$T/tsend.log" "-sE -r4 -mJob in error (4: backup failed)"
    has_line "$T/calls.log" vtgestlog
}

@test "vtom: optional fields empty, no-monitor YES / verbose no -> exit 0 while the job runs" {
    hycu_sim --scenario "$T/scenario.json"
    wrap_backupctl
    submit "long run" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "" "" "" "YES" "no"
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Status: QUEUED"* || "$output" == *"Status: EXECUTING"* ]]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
    has_line "$T/argv" "--no-monitor"
    lacks_line "$T/argv" "--verbose"
    # empty fields are dropped, not passed as empty values
    lacks_line "$T/argv" "--auth-file"
    lacks_line "$T/argv" "--check-interval"
    lacks_line "$T/argv" "--timeout"
    lacks_line "$T/argv" "--backup-config"
    lacks_line "$T/argv" ""
}

@test "vtom: the token is never on backupctl's argv, in the output or in the request log" {
    hycu_sim --scenario "$T/scenario.json"
    wrap_backupctl
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "no" "yes"
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    # the wrapper ran, with every field in place and the token in the environment only
    [ -s "$T/argv" ]
    cat "$T/argv"
    [ "$(sed -n 1p "$T/argv")" = backup ]
    [ "$(sed -n 2,3p "$T/argv" | tr '\n' '|')" = "--backup-name|Daily Backup|" ]
    [ "$(grep -A1 -xF -- --url "$T/argv" | sed -n 2p)" = "$HYCU_URL" ]
    [ "$(grep -A1 -xF -- --check-interval "$T/argv" | sed -n 2p)" = "0.05" ]
    [ "$(grep -A1 -xF -- --timeout "$T/argv" | sed -n 2p)" = "30" ]
    has_line "$T/argv" "--verbose"
    lacks_line "$T/argv" "--no-monitor"
    ! grep -q -- "--auth-token" "$T/argv" || false
    has_line "$T/wrapper-env" "token-env=set"
    ! grep -qF -- "$HYCU_TEST_TOKEN" "$T/argv" || false
    [[ "$output" != *"$HYCU_TEST_TOKEN"* ]]
    [[ "$stderr" != *"$HYCU_TEST_TOKEN"* ]]
    [ -s "$T/hycu.log" ]
    ! grep -qF -- "$HYCU_TEST_TOKEN" "$T/hycu.log" || false
    ! grep -qF -- "$HYCU_TEST_TOKEN" "$T/tsend.log" || false
}

@test "vtom: TEST mode runs nothing and reports the job finished" {
    hycu_sim --scenario "$T/scenario.json"
    wrap_backupctl
    export TOM_JOB_EXEC=TEST
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [ ! -s "$T/hycu.log" ]
    [ ! -e "$T/argv" ]
    [ "$(cat "$T/tsend.log")" = "-sT -r0 -mJob finished (TEST mode)" ]
    has_line "$T/calls.log" vtgestlog
    [[ "$output" == *"Begin of the script..."* ]]
}

@test "vtom: auth-file field (0600) with an empty token field works; a 0644 file is refused" {
    hycu_sim --scenario "$T/scenario.json"
    mkdir "$T/secret dir"
    af="$T/secret dir/hycu auth.json"
    printf '{"token": "%s"}\n' "$HYCU_TEST_TOKEN" >"$af"
    chmod 600 "$af"
    submit "Daily Backup" "$HYCU_URL" "" "$af" "0.05" "30" "" "" ""
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Status: OK"* ]]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"

    : >"$T/tsend.log"
    chmod 644 "$af"
    submit "Daily Backup" "$HYCU_URL" "" "$af" "0.05" "30" "" "" ""
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    has_line "$T/tsend.log" "-sE -r1 -mJob in error (1: configuration error)"
}

@test "vtom: an invalid yes/no value is a configuration error (exit 1, -sE -r1)" {
    hycu_sim --scenario "$T/scenario.json"
    wrap_backupctl
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "maybe" ""
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"no-monitor"*"maybe"* ]]
    has_line "$T/tsend.log" "-sE -r1 -mJob in error (1: configuration error)"
    [ ! -e "$T/argv" ]
    [ ! -s "$T/hycu.log" ]

    : >"$T/tsend.log"
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" "oui"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"verbose"*"oui"* ]]
    has_line "$T/tsend.log" "-sE -r1 -mJob in error (1: configuration error)"
}

@test "vtom: yes/no spellings in any case" {
    hycu_sim --scenario "$T/scenario.json"
    wrap_backupctl
    for v in yes YES True 1 on ON; do
        submit "long run" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "" "" "" "$v" ""
        [ "$status" -eq 0 ]
        has_line "$T/argv" "--no-monitor"
    done
    for v in no NO False 0 off Off ""; do
        submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "$v" "$v"
        [ "$status" -eq 0 ]
        lacks_line "$T/argv" "--no-monitor"
        lacks_line "$T/argv" "--verbose"
    done
}

@test "vtom: backup-config path with a space" {
    hycu_sim --scenario "$T/scenario.json"
    wrap_backupctl
    mkdir "$T/conf dir"
    cf="$T/conf dir/backup config.json"
    printf '%s\n' '{"type": "full"}' >"$cf"
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "$cf" "" ""
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [ "$(grep -A1 -xF -- --backup-config "$T/argv" | sed -n 2p)" = "$cf" ]
    grep -q 'forceFull[^,}]*true' "$T/hycu.log"
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"

    # a bad config in a path with a space: exit 1, and the path is named whole
    printf '%s\n' '{"type": "weekly"}' >"$cf"
    : >"$T/tsend.log"
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "$cf" "" ""
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"$cf"* ]]
    has_line "$T/tsend.log" "-sE -r1 -mJob in error (1: configuration error)"
}

@test "vtom: gestlog only when TOM_LOG_ACTION is not three spaces" {
    hycu_sim --scenario "$T/scenario.json"
    export TOM_LOG_ACTION="   "
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 0 ]
    has_line "$T/calls.log" vtgestlog
    ! grep -q '^gestlog' "$T/calls.log" || false

    : >"$T/calls.log"
    export TOM_LOG_ACTION=ARCHIVE
    submit "db01" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 4 ]
    has_line "$T/calls.log" vtgestlog
    has_line "$T/calls.log" "gestlog TOM_LOG_ACTION=[ARCHIVE]"
    # vtgestlog (after tsend) comes before gestlog
    [ "$(sed -n 1p "$T/calls.log")" = vtgestlog ]
}

@test "vtom: empty url field falls back to HYCU_URL; empty name is refused" {
    hycu_sim --scenario "$T/scenario.json"
    wrap_backupctl
    submit "Daily Backup" "" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    lacks_line "$T/argv" "--url"

    : >"$T/tsend.log"
    rm -f "$T/argv"
    submit "" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"backup-name"* ]]
    [ ! -e "$T/argv" ]
    has_line "$T/tsend.log" "-sE -r1 -mJob in error (1: configuration error)"
}

@test "vtom: not run by a VTOM engine (TOM_JOB_ID empty) -> warning, still runs" {
    hycu_sim --scenario "$T/scenario.json"
    export TOM_JOB_ID=
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"TOM_JOB_ID is empty"* ]]
    [[ "$output" == *"Status: OK"* ]]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
}

@test "vtom: timeout field -> exit 3, -sE -r3" {
    hycu_sim --scenario "$T/scenario.json"
    submit "long run" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "0.3" "" "" ""
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 3 ]
    has_line "$T/tsend.log" "-sE -r3 -mJob in error (3: timeout)"
}

@test "vtom: stopping the job (SIGTERM to the submitter) -> backupctl exits 7, -sE -r7" {
    hycu_sim --scenario "$T/scenario.json"
    sh "$SUBMIT" "long run" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "60" "" "" "" \
        >"$T/out" 2>"$T/err" &
    pid=$!
    # wait (bounded) until the backup was triggered and polled at least once
    i=0
    until grep -q '"path":"/rest/v1.0/jobs/' "$T/hycu.log" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le 400 ] || { kill -9 "$pid"; false; }
        sleep 0.025
    done
    kill -TERM "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le 400 ] || { kill -9 "$pid"; false; }
        sleep 0.025
    done
    rc=0
    wait "$pid" || rc=$?
    cat "$T/out" "$T/err"
    [ "$rc" -eq 7 ]
    has_line "$T/tsend.log" "-sE -r7 -mJob in error (7: interrupted)"
}

@test "vtom: the submitter runs under bash --posix (and ksh when installed)" {
    hycu_sim --scenario "$T/scenario.json"
    shells="bash --posix"
    command -v ksh >/dev/null 2>&1 && shells="$shells|ksh"
    command -v mksh >/dev/null 2>&1 && shells="$shells|mksh"
    IFS='|'
    for s in $shells; do
        unset IFS
        : >"$T/tsend.log"
        # shellcheck disable=SC2086
        run --separate-stderr timeout 60 $s "$SUBMIT" "Daily Backup" "$HYCU_URL" \
            "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "no" "off"
        echo "$s: $status $output $stderr"
        [ "$status" -eq 0 ]
        [[ "$output" == *"Status: OK"* ]]
        has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
        IFS='|'
    done
    unset IFS
}

#!/usr/bin/env bats
# Visual TOM on Windows: integrations/vtom/submit_queue_hycu.bat run by wine's cmd, as a fake
# Windows agent would (recording tsend.exe/vtgestlog.exe stubs in %ABM_BIN%, TOM_* environment),
# against hycu-sim with backupctl.exe — the same field combinations as vtom.bats for the sh
# submitter. Run by scripts/test-windows (BK_WINE, BK_EXE, ARGREC_EXE, one WINEPREFIX).

bats_require_minimum_version 1.5.0

setup() {
    load ../integration/helpers
    setup_tmp
    : "${SRC_DIR:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    [ -n "${BK_WINE:-}" ] && [ -x "$BK_WINE" ] || { echo "BK_WINE (wine64 launcher) not set: run scripts/test-windows" >&2; return 1; }
    [ -f "${BK_EXE:-}" ] && [ -f "${ARGREC_EXE:-}" ] || { echo "BK_EXE/ARGREC_EXE missing" >&2; return 1; }
    unset HYCU_URL HYCU_AUTH_TOKEN HYCU_AUTH_TOKEN_FILE HYCU_AUTH_FILE HYCU_USERNAME \
        HYCU_PASSWORD HYCU_API
    mkdir -p "$T/abm/bin" "$T/bk dir"
    cp "$ARGREC_EXE" "$T/abm/bin/tsend.exe"
    cp "$ARGREC_EXE" "$T/abm/bin/vtgestlog.exe"
    cp "$ARGREC_EXE" "$T/bk dir/backupctl-rec.exe"
    cp "$SRC_DIR/integrations/vtom/submit_queue_hycu.bat" "$T/submit_queue_hycu.bat"
    export tsend_LOG="$(winpath "$T/tsend.log")" vtgestlog_LOG="$(winpath "$T/calls.log")"
    export ABM_BIN="$(winpath "$T/abm/bin")"
    export TOM_JOB_ID=1234 TOM_JOB_EXEC=NORMAL TOM_ENVIRONMENT=Exploitation \
        TOM_APPLICATION=Backups TOM_JOB=HYCU_Daily TOM_LOG_ACTION="   "
    export BACKUPCTL="$(winpath "$BK_EXE")"
    scenario '{"default":{"outcome":"OK","polls":2},"entities":[
        {"type":"vm","name":"Daily Backup","outcome":"OK","polls":2},
        {"type":"vm","name":"db01","outcome":"ERROR","polls":1,"message":"disk failed"},
        {"type":"vm","name":"long run","outcome":"EXECUTING"},
        {"type":"vm","name":"O'"'"'Brien & Co (test)","outcome":"OK","polls":1},
        {"type":"vm","name":"Sauvegarde Élysée","outcome":"OK","polls":1}]}'
}

teardown() {
    teardown_tmp
}

# winpath PATH : the Windows form of a unix path under wine (drive Z: is /).
winpath() {
    local p=$1
    printf 'Z:%s' "${p//\//\\}"
}

# The backupctl of the submitter becomes the recording stub: its argv one per line in
# $T/argv, whether HYCU_AUTH_TOKEN was set in $T/wrapper-env. It exits 0 without a backup.
record_backupctl() {
    export BACKUPCTL="$(winpath "$T/bk dir/backupctl-rec.exe")"
    export backupctl_rec_ARGV="$(winpath "$T/argv")" backupctl_rec_ENV="$(winpath "$T/wrapper-env")"
}

# submit FIELD1..FIELD9 : the agent's call, `cmd /c submit_queue_hycu.bat "f1" … "f9"`.
# stdout in $output, stderr in $stderr (CRs dropped), exit code in $status.
submit() {
    run --separate-stderr timeout 120 "$BK_WINE" cmd /c "$(winpath "$T/submit_queue_hycu.bat")" "$@"
    output=${output//$'\r'/}
    stderr=${stderr//$'\r'/}
    echo "status: $status"
    echo "stdout: $output"
    echo "stderr: $stderr"
}

has_line() { tr -d '\r' <"$1" | grep -qxF -- "$2"; }
lacks_line() { ! tr -d '\r' <"$1" | grep -qxF -- "$2" || return 1; }
arg_after() { tr -d '\r' <"$T/argv" | grep -A1 -xF -- "$1" | sed -n 2p; }

@test "vtom.bat: success with a VM name containing a space -> exit 0, tsend -sT -r0" {
    hycu_sim --scenario "$T/scenario.json"
    submit "Daily Backup" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 0 ]
    [[ "$output" == *"HYCU BACKUP EXECUTION REPORT"* ]]
    [[ "$output" == *"Status: OK"* ]]
    [[ "$output" == *"Begin of the script..."* ]]
    [[ "$output" == *"End of the script."* ]]
    [[ "$output" == *"--> Exit [0] then acknowledgment"* ]]
    [ "$(wc -l <"$T/tsend.log")" -eq 1 ]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
    [ -s "$T/calls.log" ]
    [[ "$stderr" != *"TOM_JOB_ID is empty"* ]]
    [[ "$output$stderr" != *"$HYCU_TEST_TOKEN"* ]]
}

@test "vtom.bat: backup failed -> exit 4, tsend -sE -r4 with the meaning" {
    hycu_sim --scenario "$T/scenario.json"
    submit "db01" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 4 ]
    [[ "$output" == *"Status: ERROR"* ]]
    [[ "$output" == *"--> Exit [4] then no acknowledgment"* ]]
    has_line "$T/tsend.log" "-sE -r4 -mJob in error (4: backup failed)"
}

@test "vtom.bat: optional fields empty, no-monitor YES / verbose no -> exit 0 while the job runs" {
    hycu_sim --scenario "$T/scenario.json"
    submit "long run" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "" "" "" "YES" "no"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Status: QUEUED"* || "$output" == *"Status: EXECUTING"* ]]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
    record_backupctl
    submit "long run" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "" "" "" "YES" "no"
    [ "$status" -eq 0 ]
    cat "$T/argv"
    has_line "$T/argv" "--no-monitor"
    lacks_line "$T/argv" "--verbose"
    lacks_line "$T/argv" "--auth-file"
    lacks_line "$T/argv" "--check-interval"
    lacks_line "$T/argv" "--timeout"
    lacks_line "$T/argv" "--backup-config"
    lacks_line "$T/argv" ""
}

@test "vtom.bat: the token is never on backupctl's argv, only in HYCU_AUTH_TOKEN" {
    record_backupctl
    submit "Daily Backup" "http://127.0.0.1:9" "secret-tok-123" "" "0.05" "30" "" "no" "yes"
    [ "$status" -eq 0 ]
    cat "$T/argv"
    [ "$(tr -d '\r' <"$T/argv" | sed -n 1p)" = backup ]
    [ "$(tr -d '\r' <"$T/argv" | sed -n 2,3p | tr '\n' '|')" = "--backup-name|Daily Backup|" ]
    [ "$(arg_after --url)" = "http://127.0.0.1:9" ]
    [ "$(arg_after --check-interval)" = "0.05" ]
    [ "$(arg_after --timeout)" = "30" ]
    has_line "$T/argv" "--verbose"
    lacks_line "$T/argv" "--no-monitor"
    has_line "$T/wrapper-env" "token-env=set"
    ! grep -qF -- "secret-tok-123" "$T/argv" || false
    [[ "$output$stderr" != *"secret-tok-123"* ]]
}

@test "vtom.bat: TEST mode runs nothing and reports the job finished" {
    record_backupctl
    export TOM_JOB_EXEC=TEST
    submit "Daily Backup" "http://127.0.0.1:9" "tok" "" "0.05" "30" "" "" ""
    [ "$status" -eq 0 ]
    [[ "$output" == *"TEST mode: backupctl is not run"* ]]
    [ ! -e "$T/argv" ]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (TEST mode)"
    [ -s "$T/calls.log" ]
}

@test "vtom.bat: an invalid yes/no value is a configuration error (exit 1, -sE -r1)" {
    record_backupctl
    submit "Daily Backup" "http://127.0.0.1:9" "tok" "" "0.05" "30" "" "maybe" ""
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"field 8 (no-monitor) must be yes or no"*"'maybe'"* ]]
    has_line "$T/tsend.log" "-sE -r1 -mJob in error (1: configuration error)"
    [ ! -e "$T/argv" ]
    submit "Daily Backup" "http://127.0.0.1:9" "tok" "" "0.05" "30" "" "" "oui"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"field 9 (verbose)"* ]]
}

@test "vtom.bat: yes/no spellings in any case" {
    record_backupctl
    for v in yes Yes TRUE 1 on; do
        submit "long run" "http://127.0.0.1:9" "tok" "" "" "" "" "$v" ""
        [ "$status" -eq 0 ]
        has_line "$T/argv" "--no-monitor"
    done
    for v in no NO False 0 off; do
        submit "Daily Backup" "http://127.0.0.1:9" "tok" "" "" "" "" "$v" "$v"
        [ "$status" -eq 0 ]
        lacks_line "$T/argv" "--no-monitor"
        lacks_line "$T/argv" "--verbose"
    done
}

@test "vtom.bat: auth-file and backup-config paths with spaces, empty token field" {
    hycu_sim --scenario "$T/scenario.json"
    mkdir -p "$T/my conf"
    printf '{"token": "%s"}\n' "$HYCU_TEST_TOKEN" >"$T/my conf/auth file.json"
    chmod 600 "$T/my conf/auth file.json"
    printf '{"type": "full"}\n' >"$T/my conf/backup config.json"
    submit "Daily Backup" "$HYCU_URL" "" "$(winpath "$T/my conf/auth file.json")" "0.05" "30" \
        "$(winpath "$T/my conf/backup config.json")" "" ""
    [ "$status" -eq 0 ]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
    grep -q '"POST","path":"/rest/v1.0/schedules/backup"' "$T/hycu.log"
}

@test "vtom.bat: names with quotes, ampersand and parentheses stay one argument" {
    hycu_sim --scenario "$T/scenario.json"
    submit "O'Brien & Co (test)" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 0 ]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
    record_backupctl
    submit "O'Brien & Co (test)" "$HYCU_URL" "tok" "" "" "" "" "" ""
    [ "$status" -eq 0 ]
    [ "$(arg_after --backup-name)" = "O'Brien & Co (test)" ]
    submit "Sauvegarde Élysée" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "" "" "" "" ""
    [ "$(arg_after --backup-name)" = "Sauvegarde Élysée" ]
}

@test "vtom.bat: empty url field falls back to HYCU_URL; empty name is refused" {
    hycu_sim --scenario "$T/scenario.json"
    HYCU_URL=$HYCU_URL submit "Daily Backup" "" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 0 ]
    : >"$T/tsend.log"
    submit "" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "30" "" "" ""
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"field 1 (backup-name) is empty"* ]]
    has_line "$T/tsend.log" "-sE -r1 -mJob in error (1: configuration error)"
}

@test "vtom.bat: not run by a VTOM engine (TOM_JOB_ID empty) -> warning, still runs" {
    record_backupctl
    unset TOM_JOB_ID
    submit "Daily Backup" "http://127.0.0.1:9" "tok" "" "0.05" "30" "" "" ""
    [ "$status" -eq 0 ]
    [[ "$stderr" == *"TOM_JOB_ID is empty"* ]]
    has_line "$T/tsend.log" "-sT -r0 -mJob finished (0)"
}

@test "vtom.bat: timeout field -> exit 3, -sE -r3; backupctl missing -> 127" {
    hycu_sim --scenario "$T/scenario.json"
    submit "long run" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "0.05" "0.3" "" "" ""
    [ "$status" -eq 3 ]
    has_line "$T/tsend.log" "-sE -r3 -mJob in error (3: timeout)"
    export BACKUPCTL="$(winpath "$T/nowhere/backupctl.exe")"
    submit "long run" "$HYCU_URL" "$HYCU_TEST_TOKEN" "" "" "" "" "" ""
    [ "$status" -eq 127 ]
    has_line "$T/tsend.log" "-sE -r127 -mJob in error (127: backupctl not found)"
}

#!/usr/bin/env bats
# One test list for `backupctl backup`, run against every build of it: the Linux binary (ctest,
# BK_EXE unset) and backupctl.exe under Debian's wine64 (scripts/test-windows sets BK_EXE to the
# .exe and BK_WINE to the wine launcher, with one WINEPREFIX initialised for the whole run).
# Same scenarios, same exit codes, same report bytes. backup.bats has the full Linux matrix.
bats_require_minimum_version 1.5.0


setup() {
    load helpers
    setup_tmp
    : "${BK_EXE:=$BACKUPCTL}"
    if [ -n "${BK_WINE:-}" ]; then EXE=("$BK_WINE" "$BK_EXE"); else EXE=("$BK_EXE"); fi
}

teardown() {
    teardown_tmp
}

# exe ARGS… : the program under test (through wine for the .exe), at most 120 s.
exe() {
    timeout 120 "${EXE[@]}" "$@"
}

# hostpath PATH : PATH as the program under test sees it (wine maps / to drive Z:).
hostpath() {
    if [ -n "${BK_WINE:-}" ]; then printf 'Z:%s' "$1"; else printf '%s' "$1"; fi
}

# bk ARGS… : backupctl backup against the sim (token from the environment), fast polling.
bk() {
    HYCU_URL="$HYCU_URL" HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN" \
        exe backup --check-interval 0.05 --retry-backoff 0.02 "$@"
}

log_has() { grep -c "$1" "$T/hycu.log" || true; }

matrix_scenario() {
    scenario '{"default": {"outcome": "OK", "polls": 2},
      "entities": [
        {"type": "vm", "name": "Daily Backup", "outcome": "OK", "polls": 3},
        {"type": "vm", "name": "Sauvegarde Élysée ç", "outcome": "OK", "polls": 20},
        {"type": "vm", "name": "warn01", "outcome": "WARNING", "polls": 1, "message": "1 file skipped"},
        {"type": "vm", "name": "err01", "outcome": "ERROR", "polls": 2, "message": "Snapshot failed"},
        {"type": "vm", "name": "forever", "outcome": "EXECUTING"}
      ]}'
}

@test "--version and help" {
    run exe --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^backupctl\ [0-9]+\.[0-9]+\.[0-9]+ ]]
    run exe help backup
    [ "$status" -eq 0 ]
    for code in 0 1 2 3 4 5 6 7 8; do
        echo "$output" | grep -qE "^  $code  " || { echo "missing exit code $code"; return 1; }
    done
    run exe help
    [ "$status" -eq 0 ]
    [[ "$output" == *"backup "* ]]
    run exe no-such-command
    [ "$status" -eq 1 ]
    if [ -n "${BK_WINE:-}" ]; then
        # the Windows build says that the monitoring side is Linux-only, and has none of it
        run exe help
        [[ "$output" == *"monitoring side (poll, serve"*"is in the Linux build"* ]]
        run exe poll
        [ "$status" -eq 1 ]
        [[ "$output" == *'unknown command "poll"'* ]]
    else
        run exe help
        [[ "$output" == *"poll "* ]]
    fi
}

@test "exit 0: success, text report in the original layout" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name "Daily Backup"
    [ "$status" -eq 0 ]
    [[ "$output" == *"HYCU BACKUP EXECUTION REPORT"* ]]
    [[ "$output" == *"Status: OK"* ]]
    [[ "$output" == *"Progress: 100%"* ]]
    [ "$(log_has '"POST","path":"/rest/v1.0/schedules/backup"')" -eq 1 ]
    [ "$(log_has '"path":"/rest/v1.0/jobs/')" -ge 3 ]
}

@test "exit 4: failure, the vendor message in the report" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name err01
    [ "$status" -eq 4 ]
    [[ "$output" == *"Snapshot failed"* ]]
}

@test "exit 3: timeout with --cancel-on-timeout sends DELETE" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name forever --timeout 0.5 --cancel-on-timeout --report-format json
    [ "$status" -eq 3 ]
    [[ "$output" == *'"status": "timeout"'* ]]
    [ "$(log_has '"DELETE","path":"/rest/v1.0/jobs/')" -eq 1 ]
}

@test "exit 0: a 503 burst during monitoring recovers" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json" --fault 503,count=3,path=/rest/v1.0/jobs/,method=GET
    run bk --backup-name "Daily Backup"
    [ "$status" -eq 0 ]
    [[ "$output" == *"retrying"* ]]
    [ "$(log_has '"status":503')" -eq 3 ]
}

@test "exit 2: a persistent 503 after the trigger" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json" --fault 503,count=0,path=/rest/v1.0/jobs/,method=GET
    run bk --backup-name "Daily Backup" --retries 1
    [ "$status" -eq 2 ]
    [[ "$output" == *"monitoring error"* ]]
}

@test "exit 1: bad credentials, nothing started; exit 1 for a usage error" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json"
    HYCU_TEST_TOKEN=wrong-token run bk --backup-name "Daily Backup"
    [ "$status" -eq 1 ]
    [[ "$output" == *"credentials rejected"* ]]
    [ "$(log_has '"POST"')" -eq 0 ]
    [[ "$output" != *wrong-token* ]]
    run bk --backup-name x --check-interval nope
    [ "$status" -eq 1 ]
    [[ "$output" == *"see 'backupctl backup --help'"* ]]
}

@test "exit 8: controller unreachable" {
    HYCU_URL=http://127.0.0.1:1 HYCU_AUTH_TOKEN=t run exe backup --backup-name x --retries 0
    [ "$status" -eq 8 ]
}

@test "--report-format json to --report-file: same bytes as the Linux build (LF endings)" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json"
    run bk --backup-name warn01 --report-format json --report-file "$(hostpath "$T/report.json")"
    [ "$status" -eq 0 ]
    grep -q '"status": "warning"' "$T/report.json"
    grep -q '"raw_status": "WARNING"' "$T/report.json"
    grep -q '"exit_code": 0' "$T/report.json"
    run ! grep -q $'\r' "$T/report.json"
    jq -e '.jobs | length == 1' "$T/report.json" >/dev/null
}

@test "UTF-8: a backup name with accents, French labels, a UTF-8 report file name" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json"
    # exit 0 = the name matched the sim's entity byte for byte (no code page conversion)
    run bk --backup-name "Sauvegarde Élysée ç" --check-interval 0.01 --lang fr \
        --report-file "$(hostpath "$T/rapport-été.txt")"
    [ "$status" -eq 0 ]
    grep -q "RAPPORT D'EXÉCUTION" "$T/rapport-été.txt"
    grep -q "Heure de début: 20" "$T/rapport-été.txt"
    grep -q "Statut: OK" "$T/rapport-été.txt"
    run bk --backup-name "Sauvegarde Élysée ç" --check-interval 0.01 --lang fr
    [ "$status" -eq 0 ]
    [[ "$output" == *"RAPPORT D'EXÉCUTION"* ]]
    [[ "$output" == *"Heure de début: 20"* ]]
    run bk --backup-name "Sauvegarde Élysée ç" --check-interval 0.01 --report-format json \
        --report-file "$(hostpath "$T/r.json")"
    [ "$status" -eq 0 ]
    grep -q '"Sauvegarde Élysée ç"' "$T/r.json" || grep -qi 'Sauvegarde \\u00c9lys\\u00e9e \\u00e7' "$T/r.json"
    run bk --backup-name "Sauvegarde Elysee c" --check-interval 0.01
    [ "$status" -eq 1 ]
}

@test "an auth file that others can read is refused (mode bits / DACL), a private one is used" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json"
    # written the Windows way (CRLF): the same file works on both builds
    printf '{"token": "%s"}\r\n' "$HYCU_TEST_TOKEN" >"$T/auth.json"
    chmod 644 "$T/auth.json"
    HYCU_AUTH_TOKEN= run exe backup --backup-name "Daily Backup" \
        --check-interval 0.05 --auth-file "$(hostpath "$T/auth.json")"
    [ "$status" -eq 1 ]
    [[ "$output" == *"auth.json is accessible by"* ]]
    [[ "$output" != *"$HYCU_TEST_TOKEN"* ]]
    [ "$(log_has '"POST"')" -eq 0 ]
    chmod 600 "$T/auth.json"
    HYCU_AUTH_TOKEN= run exe backup --backup-name "Daily Backup" \
        --check-interval 0.05 --auth-file "$(hostpath "$T/auth.json")"
    [ "$status" -eq 0 ]
}

@test "exit 7: an interrupt (SIGINT; Ctrl+C under wine) with --cancel-on-interrupt sends DELETE" {
    matrix_scenario
    hycu_sim --scenario "$T/scenario.json"
    # started directly (no function, no subshell): $! is the program (or wine's loader)
    export HYCU_URL HYCU_AUTH_TOKEN="$HYCU_TEST_TOKEN"
    $BK_WINE "$BK_EXE" backup --backup-name forever --check-interval 0.05 \
        --cancel-on-interrupt >"$T/out" 2>"$T/err" &
    pid=$!
    i=0
    until grep -q '"GET","path":"/rest/v1.0/jobs/' "$T/hycu.log" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 1200 ] || { cat "$T/err"; false; }; sleep 0.05
    done
    kill -INT "$pid"
    rc=0
    wait "$pid" || rc=$?
    cat "$T/err"
    [ "$rc" -eq 7 ]
    if [ -n "${BK_WINE:-}" ]; then
        grep -q 'interrupted by Ctrl+C' "$T/err" # wine turns SIGINT into CTRL_C_EVENT
    else
        grep -q 'interrupted by SIGINT' "$T/err"
    fi
    [ "$(log_has '"DELETE","path":"/rest/v1.0/jobs/')" -eq 1 ]
}

@test "TLS (OpenSSL on Linux, Schannel on Windows): --ca-file trusts the test CA; without it exit 1" {
    matrix_scenario
    # A DNS name: curl 7.88's Schannel matches only DNS names of the certificate, not IPs.
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 1 2>/dev/null
    hycu_sim --scenario "$T/scenario.json" --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
    [[ "$HYCU_URL" == https://* ]]
    HYCU_URL="https://localhost:$HYCU_PORT"
    run bk --backup-name "Daily Backup" --ca-file "$(hostpath "$T/cert.pem")"
    echo "$output"
    [ "$status" -eq 0 ]
    # Without --ca-file, Schannel checks against Windows' certificate store itself; wine's
    # Schannel does no such check (it accepts any certificate), so only Linux can show it.
    if [ -z "${BK_WINE:-}" ]; then
        run bk --backup-name "Daily Backup"
        [ "$status" -eq 1 ]
        [[ "$output" == *"TLS certificate not trusted"*"--ca-file"* ]]
    fi
    # a CA that did not sign the controller's certificate is refused on both
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other.key" -out "$T/other.pem" \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost -days 1 2>/dev/null
    run bk --backup-name "Daily Backup" --ca-file "$(hostpath "$T/other.pem")"
    [ "$status" -eq 1 ]
    [[ "$output" == *"TLS certificate not trusted"*"--ca-file"* ]]
    run bk --backup-name "Daily Backup" --insecure
    [ "$status" -eq 0 ]
    [[ "$output" == *"NOT verified"* ]]
}

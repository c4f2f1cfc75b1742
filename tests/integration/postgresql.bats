#!/usr/bin/env bats
# The real backupctl on PostgreSQL (issue 11), on the private server of the ctest fixture pg
# (scripts/pg-test-server; BK_TEST_PG_STATE holds its url and password files): poll, status
# and check on a fresh database per test, `db copy` round trips SQLite <-> PostgreSQL, and
# the password never leaves its file.

PARTNER='Acme MSP (admin@acme.example)'

setup() {
    load helpers
    setup_tmp
    [ -n "${BK_TEST_PG_STATE:-}" ] && [ -f "$BK_TEST_PG_STATE/url" ] || {
        echo "BK_TEST_PG_STATE is not set or has no url: run through ctest (fixture pg)" >&2
        return 1
    }
    PGURL=$(cat "$BK_TEST_PG_STATE/url")
    PGPW_FILE=$BK_TEST_PG_STATE/password
    QS=${PGURL#*\?}
    DB=bk_$(basename "$T" | tr 'A-Z.' 'a-z_')
    admin "CREATE DATABASE $DB"
    printf 'sim-password\n' >"$T/cove.secret"
    chmod 600 "$T/cove.secret"
}

teardown() {
    stop_sims
    admin "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
    admin "DROP DATABASE IF EXISTS ${DB}_2 WITH (FORCE)" || true
    teardown_tmp
}

export PGOPTIONS='-c client_min_messages=warning'
admin() { PGPASSWORD=$(cat "$PGPW_FILE") psql -qAtX -v ON_ERROR_STOP=1 "$PGURL" -c "$1"; }
q() { PGPASSWORD=$(cat "$PGPW_FILE") psql -qAtX -v ON_ERROR_STOP=1 "postgresql:///${2:-$DB}?$QS" -c "$1"; }
pgurl() { echo "postgresql:///${1:-$DB}?$QS"; }

conf() {
    cat >"$T/b.conf" <<CONF
[database]
url = $(pgurl "$@")
password_file = $PGPW_FILE
[source "cove-msp"]
type = cove
url = $COVE_URL/jsonapi
partner = $PARTNER
username = backupctl-api
password_file = $T/cove.secret
interval = 15m
page_size = 25
CONF
}

@test "poll, status and check on PostgreSQL; a second poll of the same fleet writes nothing" {
    start_sim COVE "$COVE_SIM" --devices 60 --customers 3
    conf
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ok\ devices=60\ runs_new=([0-9]+) ]]
    new=${BASH_REMATCH[1]}
    [ "$(q 'SELECT COUNT(*) FROM job')" -eq 60 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'api'")" -eq "$new" ]
    # every migration once, as many as SQLite has
    [ "$(q 'SELECT COUNT(*) FROM schema_migrations')" -eq "$(q 'SELECT MAX(version) FROM schema_migrations')" ]
    "$BACKUPCTL" db copy --from "$(pgurl)" --from-password-file "$PGPW_FILE" --to "sqlite://$T/v.db" >/dev/null
    [ "$(q 'SELECT MAX(version) FROM schema_migrations')" -eq "$(sqlite3 "$T/v.db" 'SELECT MAX(version) FROM schema_migrations')" ]
    updated=$(q 'SELECT MAX(updated_at) FROM job_run')
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" =~ runs_new=0\ runs_updated=0 ]]
    [ "$(q 'SELECT MAX(updated_at) FROM job_run')" = "$updated" ]
    run "$BACKUPCTL" status --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [ "$(echo "$output" | grep -c cove-msp)" -eq 60 ]
    run "$BACKUPCTL" check --config "$T/b.conf"
    [[ "$output" =~ ^BACKUPCTL\ (OK|WARNING|CRITICAL)\ -\ .*jobs=60 ]]
    # the password appears nowhere but in its file
    pw=$(cat "$PGPW_FILE")
    ! grep -rqF "$pw" "$T" || false
}

@test "db copy: PostgreSQL -> SQLite -> PostgreSQL keeps every row; a non-empty target is refused" {
    start_sim COVE "$COVE_SIM" --devices 40 --customers 2
    conf
    "$BACKUPCTL" poll --once --config "$T/b.conf" >/dev/null
    # status without the ages (they move with the clock between the two reads)
    status_json() {
        "$BACKUPCTL" status --format json --config "$T/b.conf" |
            jq -S 'walk(if type == "object" then del(.age_seconds) else . end)'
    }
    status_json >"$T/status.pg"
    [ "$(jq length "$T/status.pg")" -eq 40 ]
    run "$BACKUPCTL" db copy --from "$(pgurl)" --from-password-file "$PGPW_FILE" \
        --to "sqlite://$T/copy.db"
    [ "$status" -eq 0 ]
    [[ "$output" =~ job_run\ +([0-9]+)\ +([0-9]+) ]]
    [ "${BASH_REMATCH[1]}" -eq "$(q 'SELECT COUNT(*) FROM job_run')" ]
    [ "${BASH_REMATCH[1]}" -eq "${BASH_REMATCH[2]}" ]
    [[ "$output" =~ every\ table\'s\ count\ matches ]]
    [ "$(sqlite3 "$T/copy.db" 'SELECT COUNT(*) FROM job')" -eq 40 ]
    # again: refused, unchanged
    run "$BACKUPCTL" db copy --from "$(pgurl)" --from-password-file "$PGPW_FILE" \
        --to "sqlite://$T/copy.db"
    [ "$status" -eq 1 ]
    [[ "$output" =~ --force ]]
    run "$BACKUPCTL" db copy --from "$(pgurl)" --from-password-file "$PGPW_FILE" \
        --to "sqlite://$T/copy.db" --force
    [ "$status" -eq 0 ]
    # back into a new PostgreSQL database: status reads the same, and polling goes on there
    admin "CREATE DATABASE ${DB}_2"
    run "$BACKUPCTL" db copy --from "sqlite://$T/copy.db" --to "$(pgurl "${DB}_2")" \
        --to-password-file "$PGPW_FILE"
    [ "$status" -eq 0 ]
    conf "${DB}_2"
    status_json >"$T/status.back"
    diff "$T/status.pg" "$T/status.back"
    run "$BACKUPCTL" poll --once --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [[ "$output" =~ runs_new=0\ runs_updated=0 ]]
    [ "$(q 'SELECT COUNT(*) FROM poll_run' "${DB}_2")" -eq 2 ]
}

@test "a password in the URL is refused; a bad password names the database, not the secret" {
    run "$BACKUPCTL" db copy --from "postgresql://bktest:hunter2@localhost/x" --to "sqlite://$T/x.db"
    [ "$status" -eq 1 ]
    [[ "$output" =~ holds\ a\ password ]]
    [[ ! "$output" =~ hunter2 ]]
    printf 'wrong-password\n' >"$T/bad.pw"
    chmod 600 "$T/bad.pw"
    run "$BACKUPCTL" db copy --from "$(pgurl)" --from-password-file "$T/bad.pw" --to "sqlite://$T/x.db"
    [ "$status" -eq 1 ]
    [[ "$output" =~ $DB ]]
    [[ "$output" =~ password\ authentication\ failed ]]
    [[ ! "$output" =~ wrong-password ]]
    chmod 644 "$T/bad.pw"
    run "$BACKUPCTL" db copy --from "$(pgurl)" --from-password-file "$T/bad.pw" --to "sqlite://$T/x.db"
    [ "$status" -eq 1 ]
    [[ "$output" =~ group\ or\ others ]]
}

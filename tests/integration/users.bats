#!/usr/bin/env bats
# `backupctl user …` and `backupctl token …` against a real SQLite file: passwords from a
# private file or stdin, role and name validation, duplicates, list/passwd/del, tokens shown
# once (stdout holds the token and nothing else), never listed, revocable, and no plaintext
# secret anywhere in the database.

setup() {
    load helpers
    setup_tmp
    printf '[database]\nurl = sqlite://b.db\n' >"$T/b.conf"
    printf 'file-password-1\nignored second line\n' >"$T/pw"
    chmod 600 "$T/pw"
}

teardown() {
    teardown_tmp
}

q() { sqlite3 "$T/b.db" "$1"; }

# Every row of every table, as SQL text (grep -c counts lines; 0 = absent).
dump() { sqlite3 "$T/b.db" .dump; }

bku() { "$BACKUPCTL" "$@" --config "$T/b.conf"; }

@test "user add from a password file and from stdin; list shows both" {
    run bku user add alice --role admin --password-file "$T/pw"
    [ "$status" -eq 0 ]
    [ "$output" = "user alice added (role admin)" ]
    run bash -c "echo 'stdin-password-2' | \"$BACKUPCTL\" user add bob --role viewer --config '$T/b.conf'"
    [ "$status" -eq 0 ]
    [ "$output" = "user bob added (role viewer)" ]
    run bku user list
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "NAME   ROLE      CREATED" ]
    [[ "${lines[1]}" =~ ^alice\ +admin\ +20[0-9-]+T[0-9:]+Z$ ]]
    [[ "${lines[2]}" =~ ^bob\ +viewer\ + ]]
    [ "${#lines[@]}" -eq 3 ]
    [ "$(q "SELECT role FROM app_user WHERE name = 'bob'")" = viewer ]
    [ "$(q "SELECT substr(password_hash, 1, 31) FROM app_user WHERE name = 'alice'")" = '$argon2id$v=19$m=19456,t=2,p=1$' ]
    [ "$(q "SELECT COUNT(*) FROM audit WHERE action = 'user.add' AND who = 'cli'")" -eq 2 ]
}

@test "bad roles, names, passwords, files and duplicates exit 1 with one line" {
    run bku user add carl --role root --password-file "$T/pw"
    [ "$status" -eq 1 ]
    [[ "$output" == *'unknown role "root"'* ]]
    run bku user add carl --password-file "$T/pw"
    [ "$status" -eq 1 ]
    [[ "$output" == *"--role is required"* ]]
    run bku user add 'carl smith' --role viewer --password-file "$T/pw"
    [ "$status" -eq 1 ]
    [[ "$output" == *"user name may only hold"* ]]
    run bash -c "echo short | \"$BACKUPCTL\" user add carl --role viewer --config '$T/b.conf'"
    [ "$status" -eq 1 ]
    [[ "$output" == *"at least 8 characters"* ]]
    [[ "$output" != *short* ]]
    run bku user add carl --role viewer </dev/null
    [ "$status" -eq 1 ]
    [[ "$output" == *"no password on standard input"* ]]
    chmod 644 "$T/pw"
    run bku user add carl --role viewer --password-file "$T/pw"
    [ "$status" -eq 1 ]
    [[ "$output" == *"accessible by group or others"* ]]
    [[ "$output" != *file-password-1* ]]
    chmod 600 "$T/pw"
    run bku user add carl --role viewer --password-file "$T/pw"
    [ "$status" -eq 0 ]
    run bku user add carl --role admin --password-file "$T/pw"
    [ "$status" -eq 1 ]
    [ "$output" = 'backupctl user add: user "carl" already exists' ]
    [ "$(q "SELECT role FROM app_user WHERE name = 'carl'")" = viewer ]
    run bku user add
    [ "$status" -eq 1 ]
    [[ "$output" == *"missing NAME"*"--help"* ]]
    run bku user frobnicate
    [ "$status" -eq 1 ]
    run bku user list --user x
    [ "$status" -eq 1 ]
    [[ "$output" == *"does not apply"* ]]
    [ "$(q "SELECT COUNT(*) FROM app_user")" -eq 1 ]
}

@test "--help on every subcommand" {
    for sub in "user" "user add" "user passwd" "user del" "user list" "token" "token add" \
        "token list" "token revoke"; do
        # shellcheck disable=SC2086
        run "$BACKUPCTL" $sub --help
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == Usage:* ]]
    done
    run "$BACKUPCTL" help user
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "Usage: backupctl user add"* ]]
}

@test "passwd replaces the hash; del removes the user and its tokens" {
    bku user add dave --role operator --password-file "$T/pw"
    old=$(q "SELECT password_hash FROM app_user WHERE name = 'dave'")
    run bash -c "printf 'a-new-password\n' | \"$BACKUPCTL\" user passwd dave --config '$T/b.conf'"
    [ "$status" -eq 0 ]
    [ "$output" = "password of user dave changed" ]
    [ "$(q "SELECT password_hash FROM app_user WHERE name = 'dave'")" != "$old" ]
    run bash -c "printf 'a-new-password\n' | \"$BACKUPCTL\" user passwd nobody --config '$T/b.conf'"
    [ "$status" -eq 1 ]
    [ "$output" = 'backupctl user passwd: no user "nobody"' ]
    bku token add --user dave >/dev/null 2>&1
    [ "$(q "SELECT COUNT(*) FROM api_token")" -eq 1 ]
    run bku user del dave
    [ "$status" -eq 0 ]
    [ "$output" = "user dave deleted" ]
    [ "$(q "SELECT COUNT(*) FROM app_user")" -eq 0 ]
    [ "$(q "SELECT COUNT(*) FROM api_token")" -eq 0 ]
    run bku user del dave
    [ "$status" -eq 1 ]
    [ "$(q "SELECT group_concat(action, ',') FROM (SELECT action FROM audit ORDER BY id)")" = \
        "user.add,user.passwd,token.add,user.del" ]
    [ "$(dump | grep -c -e file-password-1 -e a-new-password)" -eq 0 ]
}

@test "token add prints only the token; list never shows it; revoke; nothing secret stored" {
    bku user add erin --role viewer --password-file "$T/pw"
    "$BACKUPCTL" token add --user erin --name "grafana board" --config "$T/b.conf" \
        >"$T/out" 2>"$T/err"
    [ "$(wc -l <"$T/out")" -eq 1 ]
    tok=$(cat "$T/out")
    [[ "$tok" =~ ^bk_[A-Za-z0-9_-]{43}$ ]]
    grep -q "shown only once" "$T/err"
    [ "$(grep -c -e "$tok" "$T/err")" -eq 0 ]

    run bku token list
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" =~ ^ID\ +USER\ +LABEL\ +CREATED\ +LAST-USED\ +REVOKED$ ]]
    [[ "${lines[1]}" =~ ^1\ +erin\ +grafana\ board\ +20[0-9-]+T[0-9:]+Z\ +-\ +-$ ]]
    [[ "$output" != *"$tok"* ]]
    [[ "$output" != *"${tok:3:20}"* ]]

    # The database holds the SHA-256 of the token, never the token or the password.
    [ "$(q "SELECT sha256 FROM api_token")" = "$(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)" ]
    [ "$(dump | grep -c -e "${tok:3:16}" -e file-password-1)" -eq 0 ]
    [ "$(dump | grep -c -e "$(printf '%s' "$tok" | sha256sum | cut -c1-64)")" -eq 1 ]

    run bku token add --user nobody
    [ "$status" -eq 1 ]
    [ -z "$(bku token add --user nobody 2>/dev/null)" ]
    run bku token add
    [ "$status" -eq 1 ]
    [[ "$output" == *"--user is required"* ]]

    run bku token revoke 1
    [ "$status" -eq 0 ]
    [ "$output" = "token 1 revoked" ]
    [ "$(q "SELECT revoked_at IS NOT NULL FROM api_token WHERE id = 1")" -eq 1 ]
    run bku token list --user erin
    [[ "${lines[1]}" =~ Z\ +-\ +20[0-9-]+T[0-9:]+Z$ ]]
    run bku token revoke 99
    [ "$status" -eq 1 ]
    run bku token revoke abc
    [ "$status" -eq 1 ]
    run bku token list --user nobody
    [ "$status" -eq 1 ]
    [ "$(q "SELECT COUNT(*) FROM audit WHERE action IN ('token.add', 'token.revoke')")" -eq 2 ]
}

@test "a read-only database: user and token commands exit 1 with one line naming the file, and change nothing" {
    run bku user add alice --role admin --password-file "$T/pw"
    [ "$status" -eq 0 ]
    [ "$(stat -c %a "$T/b.db")" = 600 ]
    before=$(dump | md5sum)
    rm -f "$T/b.db-wal" "$T/b.db-shm"
    chmod 444 "$T/b.db"
    for cmd in "user add bob --role viewer --password-file $T/pw" "user del alice" \
        "token add --user alice"; do
        run bku $cmd
        [ "$status" -eq 1 ] || { echo "$cmd: $status $output"; return 1; }
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"database $T/b.db is read-only (mode 0444)"* ]]
    done
    [ "$(stat -c %a "$T/b.db")" = 444 ]
    [ ! -e "$T/b.db-shm" ]
    [ "$(dump | md5sum)" = "$before" ]
}

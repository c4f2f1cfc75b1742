#!/usr/bin/env bats
# Report e-mails over IMAP end to end (issue 14): Debian's dovecot on a private loopback port
# with TLS (a self-signed certificate made here) and a test user, `backupctl serve` polling
# it: mails fetched by UID, stored, moved to the Processed folder after their commit; then a
# crash between commit and move, a dovecot restart (reconnect) and a UIDVALIDITY change (the
# folder renumbered) — nothing lost, nothing doubled; XOAUTH2 against dovecot's oauth2 passdb
# and a local token-info endpoint (oauth_tokeninfo.py). Needs dovecot-imapd, openssl, sqlite3.

bats_require_minimum_version 1.5.0

setup() {
    load helpers
    setup_tmp
    FIX="${SRC_DIR:-.}/tests/fixtures/mail"
    command -v dovecot >/dev/null || { echo "dovecot not installed (scripts/deps --test)" >&2; return 1; }
    D="$T/dovecot"
    mkdir -p "$D/run" "$D/state" "$D/home/reports/Maildir/new" "$D/home/reports/Maildir/cur" \
        "$D/home/reports/Maildir/tmp"
    chmod 755 "$T"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/key.pem" -out "$D/cert.pem" -days 2 \
        -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
    IMAP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "reports:{PLAIN}s3cret-imap-pw" >"$D/users"
    cat >"$D/dovecot.conf" <<CONF
protocols = imap
first_valid_uid = 1
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
ssl = required
ssl_cert = <$D/cert.pem
ssl_key = <$D/key.pem
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$D/home/%u
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  mailbox Processed {
    auto = create
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $IMAP_PORT
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
CONF
    printf 's3cret-imap-pw\n' >"$T/imap.pw"
    chmod 600 "$T/imap.pw"
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[server]
listen = 127.0.0.1:0
[source "mail-imap"]
type = mail
customer = Acme
timezone = Europe/Paris
imap_url = imaps://127.0.0.1:$IMAP_PORT/INBOX
username = reports
password_file = $T/imap.pw
ca_file = $D/cert.pem
interval = 10s
CONF
    start_dovecot
}

teardown() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null || true
    [ -n "${SERVE_PID:-}" ] && wait "$SERVE_PID" 2>/dev/null || true
    stop_dovecot
    teardown_tmp
}

start_dovecot() {
    rm -rf "$D/run"/*
    dovecot -F -c "$D/dovecot.conf" >"$D/out" 2>&1 &
    DOVECOT_PID=$!
    local i=0
    until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $IMAP_PORT), 1)" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 200 ] || { cat "$D/out" "$D/dovecot.log"; return 1; }
        sleep 0.05
    done
}

stop_dovecot() {
    [ -n "${DOVECOT_PID:-}" ] || return 0
    kill "$DOVECOT_PID" 2>/dev/null || true
    wait "$DOVECOT_PID" 2>/dev/null || true
    DOVECOT_PID=
}

q() { sqlite3 "$T/b.db" "$1"; }

deliver() { # deliver FIXTURE... into the user's INBOX
    for f in "$@"; do cp "$FIX/$f.eml" "$D/home/reports/Maildir/new/$f"; done
    chown -R dovecot:dovecot "$D/home"
}

inbox_count() { find "$D/home/reports/Maildir/new" "$D/home/reports/Maildir/cur" -type f | wc -l; }
# mails of the user's Maildir that IMAP marked read (flag S in the info part of the name)
seen_count() { find "$D/home/reports/Maildir" -type f -name '*:2,*S*' | grep -c . || true; }
processed_count() { find "$D/home/reports/Maildir/.Processed" -path '*/new/*' -o -path '*/cur/*' -type f 2>/dev/null | grep -c . || true; }

wait_inbox_empty() {
    local i=0
    while [ "$(inbox_count)" -ne 0 ]; do
        i=$((i + 1))
        [ $i -lt 600 ] || { cat "$T/serve.err"; return 1; }
        kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/serve.err"; return 1; }
        sleep 0.05
    done
}

@test "mail imap: serve fetches by UID over TLS, stores, and moves each mail to Processed after its commit" {
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    deliver v1_success u1_unknown v3_retry1
    start_serve
    wait_inbox_empty
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 3 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'email'")" = 2 ]
    [ "$(processed_count)" -eq 3 ]
    [ "$(q "SELECT value FROM source_state WHERE key = 'imap_last_uid'")" = 3 ]
    [ "$(seen_count)" -eq 0 ] # fetched read-only: still unread for the mailbox's user
    run ! grep -q s3cret-imap-pw "$T/serve.err"
    # a later mail: the next poll, from the last UID on
    deliver v2_warning
    wait_inbox_empty
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 4 ]
    [ "$(q "SELECT value FROM source_state WHERE key = 'imap_last_uid'")" = 4 ]
}

@test "mail imap: a crash between commit and move, a reconnect and a UIDVALIDITY change lose and double nothing" {
    deliver v3_retry1 v3_retry2 v3_final u1_unknown
    BACKUPCTL_TEST_MAIL_CRASH=after-commit start_serve
    wait_serve_crash
    grep -q "aborting after the commit, before the move" "$T/serve.err"
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 1 ]
    [ "$(inbox_count)" -eq 4 ]
    [ "$(seen_count)" -eq 0 ] # the one fetched before the crash is not marked read
    # the server restarts and renumbers the folder (its UID list and indexes are gone)
    stop_dovecot
    rm -f "$D/home/reports/Maildir"/dovecot*
    sleep 1 # UIDVALIDITY is a time in seconds: make the new one differ
    start_dovecot
    start_serve
    wait_inbox_empty
    grep -q "UIDVALIDITY of INBOX changed" "$T/serve.err"
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 4 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'email'")" = 1 ] # three retries, one run
    [ "$(q "SELECT status FROM job_run")" = success ]
    [ "$(processed_count)" -eq 4 ]
    grep -q "1 duplicate(s)" "$T/serve.err"
}

@test "mail imap: XOAUTH2 with a bearer token from the secret file; a wrong token is refused, said in the log, and nothing is stored" {
    # dovecot's oauth2 passdb checks each token at a token-info endpoint (a local stand-in
    # for the provider's); the source sends it with SASL XOAUTH2 (imap_auth = xoauth2)
    printf 'ya29.test-token-%s\n' "$RANDOM$RANDOM" >"$T/imap.token"
    chmod 600 "$T/imap.token"
    start_sim TOKENINFO "$SRC_DIR/tests/integration/oauth_tokeninfo.py" --token-file "$T/imap.token" \
        --user reports --log "$T/tokeninfo.log"
    printf 'tokeninfo_url = %s/tokeninfo?access_token=\nusername_attribute = email\n' \
        "$TOKENINFO_URL" >"$D/oauth2.conf.ext"
    stop_dovecot
    python3 - "$D/dovecot.conf" "$D/oauth2.conf.ext" <<'PY'
import re, sys
p, ext = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("auth_mechanisms = plain", "auth_mechanisms = xoauth2")
s = re.sub(r"passdb \{.*?\n\}", "passdb {\n  driver = oauth2\n  mechanisms = xoauth2\n  args = %s\n}" % ext, s, count=1, flags=re.S)
open(p, "w").write(s)
PY
    start_dovecot
    # a wrong token first: refused by the provider, the poll fails, nothing is stored
    printf 'ya29.wrong\n' >"$T/imap.wrong"
    chmod 600 "$T/imap.wrong"
    sed -i "s|^password_file = .*|password_file = $T/imap.wrong\nimap_auth = xoauth2|" "$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    deliver v1_success u1_unknown
    start_serve
    local i=0
    until grep -q invalid "$T/tokeninfo.log" 2>/dev/null && grep -qi "mail-imap.*denied" "$T/serve.err"; do
        i=$((i + 1)); [ $i -lt 600 ] || { cat "$T/serve.err"; return 1; }
        sleep 0.05
    done
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 0 ]
    [ "$(inbox_count)" -eq 2 ]
    run ! grep -qx valid "$T/tokeninfo.log" # refused only
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
    # the right token: stored and moved, the token never in the log
    sed -i "s|^password_file = .*|password_file = $T/imap.token|" "$T/b.conf"
    start_serve
    wait_inbox_empty
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 2 ]
    [ "$(processed_count)" -eq 2 ]
    grep -qx valid "$T/tokeninfo.log"
    run ! grep -qF "$(cat "$T/imap.token")" "$T/serve.err"
}

#!/usr/bin/env bats
# The alert e-mail channel (issue 10) against a real SMTP server over loopback
# (smtp_sink.py: aiosmtpd with STARTTLS and AUTH required, a certificate made per test):
# `backupctl alert test` delivers a well-formed multipart/alternative message over TLS with
# AUTH; a wrong password fails without showing it; a server without STARTTLS is refused
# unless tls = off; an unknown alert name is a usage error. Needs python3-aiosmtpd, openssl.

bats_require_minimum_version 1.5.0

# Debian's python3 (where apt installs aiosmtpd; smtp_sink.py's #! line), not one a version
# manager put first in PATH
PY=/usr/bin/python3

setup() {
    load helpers
    setup_tmp
    # a missing aiosmtpd is a failure, not a skip: scripts/deps --test installs it
    if ! "$PY" -c 'import aiosmtpd' 2>"$T/py.err"; then
        echo "python3-aiosmtpd is missing ($PY: $(tail -n1 "$T/py.err")); run scripts/deps --test" >&2
        return 1
    fi
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
    SMTP_PASS="pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$SMTP_PASS" >"$T/smtp.secret"
    chmod 600 "$T/smtp.secret"
    mkdir "$T/mail"
}

teardown() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null || true
    [ -n "${SERVE_PID:-}" ] && wait "$SERVE_PID" 2>/dev/null || true
    stop_sims
    teardown_tmp
}

# sink ARGS... : start smtp_sink.py as SMTP (SMTP_PORT), messages in $T/mail
sink() {
    start_sim SMTP "$SRC_DIR/tests/integration/smtp_sink.py" --dir "$T/mail" "$@"
}

tls_sink() {
    sink --cert "$T/cert.pem" --key "$T/key.pem" --user alerts --password-file "$T/smtp.secret"
}

# conf SECRET_FILE [EXTRA KEY LINES…] : $T/b.conf with [alert "ops"] to the sink
conf() {
    local secret=$1
    shift
    {
        printf '[database]\nurl = sqlite://b.db\n[server]\npublic_url = https://bk.example/\n'
        printf '[alert "ops"]\nemail = ops@example.com, oncall@example.com\n'
        printf 'smtp = smtp://127.0.0.1:%s\nfrom = backupctl@mon.example\n' "$SMTP_PORT"
        if [ -n "$secret" ]; then
            printf 'smtp_username = alerts\nsmtp_password_file = %s\nca_file = %s\n' "$secret" "$T/cert.pem"
        fi
        printf '%s\n' "$@"
        printf '[alert "pager"]\nwebhook = http://127.0.0.1:1/hook\n'
    } >"$T/b.conf"
}

nmail() { find "$T/mail" -name '*.eml' | wc -l; }

@test "mail: alert test delivers over STARTTLS with AUTH a well-formed multipart/alternative message" {
    tls_sink
    conf "$T/smtp.secret"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf" --message 'hostile: <img src=x onerror=alert(1)>'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "email ops@example.com, oncall@example.com: sent (250)" ]
    [ "$(nmail)" -eq 1 ]
    [ "$(jq -r .tls "$T/mail/1.env")" = true ]
    [ "$(jq -r .user "$T/mail/1.env")" = alerts ]
    [ "$(jq -r .mail_from "$T/mail/1.env")" = backupctl@mon.example ]
    [ "$(jq -r '.rcpt_tos | join(",")' "$T/mail/1.env")" = "ops@example.com,oncall@example.com" ]
    run "$PY" - "$T/mail/1.eml" <<'PY'
import email, email.policy, email.utils, sys
raw = open(sys.argv[1], "rb").read()
assert b"\n" not in raw.replace(b"\r\n", b""), "a bare LF"
for line in raw.split(b"\r\n"):
    assert len(line) <= 78, line
m = email.message_from_bytes(raw, policy=email.policy.default)
assert not m.defects, m.defects
for h in ("Date", "Message-ID", "From", "To", "Subject", "MIME-Version"):
    assert m[h], h
assert email.utils.parsedate_to_datetime(m["Date"]).utcoffset().total_seconds() == 0
assert m["From"].addresses[0].addr_spec == "backupctl@mon.example"
assert [a.addr_spec for a in m["To"].addresses] == ["ops@example.com", "oncall@example.com"]
assert str(m["Subject"]) == "backupctl test alert (ops)", m["Subject"]
assert m["Message-ID"].endswith(">") and ".0@" in m["Message-ID"]
assert m["In-Reply-To"] is None
assert m.get_content_type() == "multipart/alternative"
parts = list(m.iter_parts())
assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"], parts
for p in parts:
    assert p["Content-Transfer-Encoding"] == "quoted-printable"
    assert p.get_content_charset() == "utf-8"
text, html = parts[0].get_content(), parts[1].get_content()
assert "test message from backupctl" in text and "e-mail to ops@example.com" in text
assert "hostile: <img src=x onerror=alert(1)>" in text
assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
assert "backupctl test alert (ops)" in html and 'href="https://bk.example/"' in html
print("ok")
PY
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = ok ]
}

@test "mail: smtps:// (implicit TLS) delivers; an untrusted certificate fails unless insecure = yes" {
    sink --implicit-tls --cert "$T/cert.pem" --key "$T/key.pem" --user alerts --password-file "$T/smtp.secret"
    conf "$T/smtp.secret"
    sed -i "s|^smtp = smtp://|smtp = smtps://|" "$T/b.conf"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(nmail)" -eq 1 ]
    [ "$(jq -r '.tls, .user' "$T/mail/1.env" | paste -sd' ')" = "true alerts" ]
    stop_sims
    rm -f "$T/mail"/*
    tls_sink
    conf "$T/smtp.secret"
    sed -i '/^ca_file = /d' "$T/b.conf" # the system's CAs do not know the test certificate
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 8 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"failed: smtp://127.0.0.1:$SMTP_PORT: TLS certificate not trusted"* ]]
    [ "$(nmail)" -eq 0 ]
    conf "$T/smtp.secret" "insecure = yes"
    sed -i '/^ca_file = /d' "$T/b.conf"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    [ "$status" -eq 0 ]
    [ "$(nmail)" -eq 1 ]
}

@test "mail: a wrong password fails (exit 8) in one line that does not show it" {
    tls_sink
    printf 'not-%s\n' "$SMTP_PASS" >"$T/wrong.secret"
    chmod 600 "$T/wrong.secret"
    conf "$T/wrong.secret"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 8 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "email ops@example.com, oncall@example.com: failed: smtp://127.0.0.1:$SMTP_PORT: "*"authentication"*"535"* ]]
    [[ "$output" != *"$SMTP_PASS"* ]]
    [[ "$output" != *"not-"* ]]
    [ "$(nmail)" -eq 0 ]
}

@test "mail: a server without STARTTLS is refused unless tls = off" {
    sink --no-starttls
    conf ""
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 8 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"failed: "*"STARTTLS"* ]]
    [ "$(nmail)" -eq 0 ]
    conf "" "tls = off"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "email ops@example.com, oncall@example.com: sent (250)" ]
    [ "$(nmail)" -eq 1 ]
    [ "$(jq -r .tls "$T/mail/1.env")" = false ]
}

@test "mail: a 4xx reply is temporary, a 5xx reply and a refused connection are reported (exit 8)" {
    sink --no-starttls --rcpt-reply "451 4.3.0 mailbox busy, try later"
    conf "" "tls = off"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 8 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"failed (temporary, the daemon would retry): smtp://127.0.0.1:$SMTP_PORT: "*"(SMTP 451)" ]]
    stop_sims
    sink --no-starttls --rcpt-reply "550 5.1.1 no such user"
    conf "" "tls = off"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 8 ]
    [[ "$output" == *"failed: smtp://127.0.0.1:$SMTP_PORT: rejected: "*"(SMTP 550)" ]]
    [ "$(nmail)" -eq 0 ]
    # nothing listens there any more: temporary
    stop_sims
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 8 ]
    [[ "$output" == *"failed (temporary, the daemon would retry): smtp://127.0.0.1:$SMTP_PORT: "* ]]
}

@test "mail: a group-readable or missing SMTP password file is a configuration error (exit 1)" {
    tls_sink
    chmod 640 "$T/smtp.secret"
    conf "$T/smtp.secret"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *'alert "ops" smtp_password'* ]]
    [[ "$output" != *"$SMTP_PASS"* ]]
    conf "$T/nowhere.secret"
    run "$BACKUPCTL" alert test ops --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *'alert "ops" smtp_password'* ]]
    [ "$(nmail)" -eq 0 ]
}

@test "mail: an unknown alert name, a missing name and a bad option exit 1" {
    SMTP_PORT=25
    conf ""
    run "$BACKUPCTL" alert test nope --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *'has no [alert "nope"] (defined: ops, pager)'* ]]
    run "$BACKUPCTL" alert test --config "$T/b.conf"
    [ "$status" -eq 1 ]
    run "$BACKUPCTL" alert frob
    [ "$status" -eq 1 ]
    run "$BACKUPCTL" alert test --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Exit 0 every channel delivered, 8 a channel failed"* ]]
}

@test "mail: alert test reports a webhook that does not deliver (exit 8)" {
    SMTP_PORT=25
    conf ""
    run "$BACKUPCTL" alert test pager --config "$T/b.conf"
    echo "$output"
    [ "$status" -eq 8 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "webhook: failed"* ]]
}

@test "mail: serve mails an incident once and threads its recovery under it (Message-ID / In-Reply-To)" {
    tls_sink
    conf "$T/smtp.secret" '[source "scripts"]' 'type = push' 'customer = Acme'
    printf '[server]\nlisten = 127.0.0.1:0\n' >>"$T/b.conf"
    printf 'pw-123456789\n' >"$T/pw"
    chmod 600 "$T/pw"
    "$BACKUPCTL" user add oper --role operator --password-file "$T/pw" --config "$T/b.conf" >/dev/null
    OPER=$("$BACKUPCTL" token add --user oper --config "$T/b.conf" 2>/dev/null)
    start_serve
    url=$(curl -fsS -H "Authorization: Bearer $OPER" -H 'Content-Type: application/json' \
        -d '{"source":"scripts","name":"pg-dump","customer":"Acme"}' "$SERVE_URL/api/v1/jobs" | jq -r .ping_url)
    ping="$SERVE_URL/ping/${url##*/ping/}"
    curl -fsS -X POST --data-binary 'pg_dump: <b>connection refused</b>' "$ping/fail" >/dev/null
    local i=0
    until [ "$(nmail)" -ge 1 ]; do
        i=$((i + 1)); [ $i -lt 400 ] || { cat "$T/serve.err"; sqlite3 "$T/b.db" "SELECT channel, state, last_error FROM alert_outbox"; false; }
        sleep 0.05
    done
    curl -fsS -X POST "$ping/fail" >/dev/null # the same incident: no second mail
    curl -fsS "$ping" >/dev/null
    i=0
    until [ "$(nmail)" -ge 2 ]; do
        i=$((i + 1)); [ $i -lt 400 ] || { cat "$T/serve.err"; sqlite3 "$T/b.db" "SELECT channel, state, last_error FROM alert_outbox"; false; }
        sleep 0.05
    done
    run "$PY" - "$T/mail" <<'PY'
import email, email.policy, glob, sys
msgs = [email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)
        for f in sorted(glob.glob(sys.argv[1] + "/*.eml"), key=lambda f: int(f.split("/")[-1][:-4]))]
assert len(msgs) == 2, len(msgs)
opened, recovered = msgs
assert opened["Subject"].startswith("Failed: Acme / pg-dump"), opened["Subject"]
assert recovered["Subject"].startswith("Recovered: Acme / pg-dump"), recovered["Subject"]
assert opened["In-Reply-To"] is None
assert recovered["In-Reply-To"] == opened["Message-ID"], (recovered["In-Reply-To"], opened["Message-ID"])
assert opened["Message-ID"] in recovered["References"]
html = opened.get_body(("html",)).get_content()
assert "&lt;b&gt;connection refused&lt;/b&gt;" in html, html
assert "https://bk.example/#/jobs/" in opened.get_body(("plain",)).get_content()
PY
    echo "$output"
    [ "$status" -eq 0 ]
    kill "$SERVE_PID"
    wait "$SERVE_PID" || true
    # the SMTP password is in no log line
    run grep -F -f "$T/smtp.secret" "$T/serve.err"
    [ "$status" -eq 1 ]
}

#!/usr/bin/env bats
# Report e-mails from a Microsoft 365 mailbox over Microsoft Graph (issue 14), end to end:
# `backupctl serve` against graph_sim.py (the tenant's token endpoint and Graph v1.0 over
# directories): client credentials, listing pages followed (the simulator caps them below the
# $top asked), throttling waited out, each mail stored and only then moved to the processed
# folder (made when missing); a wrong client secret; a crash between commit and move.

bats_require_minimum_version 1.5.0

setup() {
    load helpers
    setup_tmp
    FIX="${SRC_DIR:-.}/tests/fixtures/mail"
    G="$T/graph"
    mkdir -p "$G/inbox"
    printf 'sim-client-secret-%s\n' "$RANDOM$RANDOM" >"$T/graph.secret"
    chmod 600 "$T/graph.secret"
    TENANT=contoso.onmicrosoft.com
    CLIENT=11111111-2222-3333-4444-555555555555
    MAILBOX=reports@contoso.example
}

teardown() {
    [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null || true
    [ -n "${SERVE_PID:-}" ] && wait "$SERVE_PID" 2>/dev/null || true
    teardown_tmp
}

graph_sim() { # ARGS...: start the simulator, write b.conf against it
    start_sim GRAPH "$SRC_DIR/tests/integration/graph_sim.py" --root "$G" --tenant "$TENANT" \
        --client-id "$CLIENT" --secret-file "$T/graph.secret" --mailbox "$MAILBOX" \
        --log "$T/graph.log" "$@"
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[server]
listen = 127.0.0.1:0
[source "mail-m365"]
type = mail
customer = Acme
timezone = Europe/Paris
graph_tenant = $TENANT
graph_mailbox = $MAILBOX
username = $CLIENT
password_file = ${SECRET_FILE:-$T/graph.secret}
graph_url = $GRAPH_URL/v1.0
graph_token_url = $GRAPH_URL/$TENANT/oauth2/v2.0/token
interval = 10s
CONF
}

q() { sqlite3 "$T/b.db" "$1"; }

deliver() { # FIXTURE[:NAME]... into the Inbox, in this order (mtime)
    local i=0 f
    for f in "$@"; do
        i=$((i + 1))
        cp "$FIX/${f%%:*}.eml" "$G/inbox/${f#*:}"
        touch -d "@$((1700000000 + i))" "$G/inbox/${f#*:}"
    done
}

inbox_count() { find "$G/inbox" -type f | wc -l; }
processed_count() { find "$G/Processed" -type f 2>/dev/null | wc -l; }

wait_inbox_empty() {
    local i=0
    while [ "$(inbox_count)" -ne 0 ]; do
        i=$((i + 1))
        [ $i -lt 600 ] || { cat "$T/serve.err" "$T/graph.log" "$T/GRAPH.err"; return 1; }
        kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/serve.err"; return 1; }
        sleep 0.05
    done
}

wait_log() { # TEXT: the poll's summary line comes just after its last move
    local i=0
    until grep -qF "$1" "$T/serve.err"; do
        i=$((i + 1))
        [ $i -lt 600 ] || { cat "$T/serve.err"; return 1; }
        sleep 0.05
    done
}

@test "mail graph: client credentials, pages followed, throttling waited out, each mail stored then moved to a Processed folder made for it" {
    graph_sim --page-cap 4 --throttle 1
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 0 ]
    # 10 mails, 3 listing pages of at most 4; v1_success three times (one Message-ID)
    deliver v1_success:a1 u1_unknown:a2 v3_retry1:a3 v3_retry2:a4 v3_final:a5 v2_warning:a6 \
        v1_success:a7 d1_duplicati_text:a8 v1_success:a9 x3_newsletter:a10
    start_serve
    wait_inbox_empty
    [ "$(processed_count)" -eq 10 ]
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 8 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'email'")" = 4 ] # v1, v3 (one run), v2, d1
    wait_log "10 mail(s): 8 stored, 2 duplicate(s)"
    # the folder was made, the listing was throttled once and retried, the pages followed
    jq -e -s 'any(.[]; .method == "POST" and (.path | endswith("/mailFolders")) and .status == 201)' "$T/graph.log"
    jq -e -s '[.[] | select(.path | endswith("/messages")) | .status] | .[0] == 429 and (map(select(. == 200)) | length) >= 3' "$T/graph.log"
    # the client secret and the token never in the log
    run ! grep -qF "$(cat "$T/graph.secret")" "$T/serve.err"
    run ! grep -qi "bearer" "$T/serve.err"
    # a later mail: the next poll; the existing folder is found, not made again
    deliver v4_midnight_dutch:b1
    wait_inbox_empty
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 9 ]
    [ "$(jq -s '[.[] | select(.method == "POST" and (.path | endswith("/mailFolders")))] | length' "$T/graph.log")" -eq 1 ]
}

@test "mail graph: a wrong client secret is refused by the tenant, said in the log, nothing stored or moved" {
    printf 'not-the-secret\n' >"$T/wrong.secret"
    chmod 600 "$T/wrong.secret"
    SECRET_FILE=$T/wrong.secret graph_sim
    deliver v1_success:a1 v2_warning:a2
    start_serve
    wait_log "refused the client id or secret"
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 0 ]
    [ "$(inbox_count)" -eq 2 ]
    run ! grep -q '"path": "/v1.0/' "$T/graph.log" # no Graph call without a token
}

@test "mail graph: a crash between commit and move re-reads the mail once, nothing lost or doubled" {
    graph_sim
    deliver v3_retry1:a1 v3_retry2:a2 v3_final:a3
    BACKUPCTL_TEST_MAIL_CRASH=after-commit start_serve
    wait_serve_crash
    grep -q "aborting after the commit, before the move" "$T/serve.err"
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 1 ]
    [ "$(inbox_count)" -eq 3 ]
    start_serve
    wait_inbox_empty
    [ "$(q "SELECT COUNT(*) FROM mail_message")" = 3 ]
    [ "$(q "SELECT COUNT(*) FROM job_run WHERE source_type = 'email'")" = 1 ] # three retries, one run
    [ "$(processed_count)" -eq 3 ]
    wait_log "3 mail(s): 2 stored, 1 duplicate(s)"
}

@test "mail graph: config check names what is missing or conflicting" {
    printf '[source "m"]\ntype = mail\ngraph_tenant = t.example\nusername = c\npassword_file = %s\n' \
        "$T/graph.secret" >"$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"graph_mailbox (for graph_tenant) is required"* ]]
    printf 'graph_mailbox = r@t.example\nimap_url = imaps://127.0.0.1/INBOX\n' >>"$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"imap_url and graph_tenant are two inputs"* ]]
    printf '[source "m"]\ntype = mail\ngraph_mailbox = r@t.example\n' >"$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"graph_tenant (for the graph_* settings) is required"* ]]
    printf '[source "m"]\ntype = mail\ngraph_tenant = t.example\ngraph_mailbox = a b\n' >"$T/b.conf"
    run "$BACKUPCTL" config check --config "$T/b.conf"
    [ "$status" -eq 1 ]
    [[ "$output" == *"graph_mailbox must be letters"* ]]
}

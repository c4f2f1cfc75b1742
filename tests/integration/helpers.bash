# Shared helpers for the bats integration tests. Each test gets its own temp dir ($T) and
# starts the simulator it needs on a free loopback port (no fixed ports, no long sleeps).

: "${BIN_DIR:=${SRC_DIR:-.}/build/bin}"
: "${BACKUPCTL:=$BIN_DIR/backupctl}"
: "${HYCU_SIM:=$BIN_DIR/hycu-sim}"
: "${COVE_SIM:=$BIN_DIR/cove-sim}"

setup_tmp() {
    T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/bk.XXXXXX")
    export T
    SIM_PIDS=""
}

# wait_listening OUT ERR PID : wait (at most 10 s) until OUT has the "listening on ADDR" line
# every program of this project prints when it is ready; prints ADDR. On failure shows ERR.
wait_listening() {
    local i=0
    until grep -q '^listening on ' "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 400 ] || ! kill -0 "$3" 2>/dev/null; then
            echo "$1: the program did not start:" >&2
            cat "$2" >&2
            return 1
        fi
        sleep 0.025
    done
    sed -n 's/^listening on //p' "$1" | head -n1
}

# start_serve ARGS... : `backupctl serve --config ${SERVE_CONF:-$T/b.conf} ARGS`; sets
# SERVE_PID and SERVE_URL (exported). Output in $T/serve.out/.err.
start_serve() {
    # Truncated here, not by the child's redirection: the child may open the file after
    # wait_listening has already read a previous program's "listening on" line from it.
    : >"$T/serve.out"
    "$BACKUPCTL" serve --config "${SERVE_CONF:-$T/b.conf}" "$@" >"$T/serve.out" 2>"$T/serve.err" &
    export SERVE_PID=$!
    local addr
    addr=$(wait_listening "$T/serve.out" "$T/serve.err" "$SERVE_PID") || return 1
    export SERVE_URL="http://$addr"
}

# wait_serve_crash: the serve started with BACKUPCTL_TEST_MAIL_CRASH exits (aborts) by itself
wait_serve_crash() {
    local i=0
    while kill -0 "$SERVE_PID" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 600 ] || { echo "serve did not crash"; return 1; }
        sleep 0.05
    done
    SERVE_PID=
}

# start_sim NAME BINARY ARGS... : starts a simulator, waits for "listening on", sets
# ${NAME}_URL (http[s]://127.0.0.1:PORT) and ${NAME}_PORT. Output in $T/NAME.out/.err.
start_sim() {
    local name=$1 bin=$2
    shift 2
    : >"$T/$name.out" # see start_serve: a restarted simulator must not find the old port
    "$bin" --port 0 "$@" >"$T/$name.out" 2>"$T/$name.err" &
    local pid=$!
    SIM_PIDS="$SIM_PIDS $pid"
    local addr
    addr=$(wait_listening "$T/$name.out" "$T/$name.err" "$pid") || return 1
    local scheme=http
    case " $* " in *" --tls-cert "*) scheme=https ;; esac
    eval "${name}_URL=$scheme://$addr"
    eval "${name}_PORT=${addr##*:}"
    eval "${name}_PID=$pid"
    export "${name}_URL" "${name}_PORT" "${name}_PID"
}

# hycu_sim ARGS... : start hycu-sim as HYCU with a request log at $T/hycu.log and the
# token $HYCU_TEST_TOKEN.
hycu_sim() {
    HYCU_TEST_TOKEN="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    export HYCU_TEST_TOKEN
    start_sim HYCU "$HYCU_SIM" --token "$HYCU_TEST_TOKEN" --request-log "$T/hycu.log" "$@"
}

stop_sims() {
    for p in $SIM_PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $SIM_PIDS; do wait "$p" 2>/dev/null || true; done
    SIM_PIDS=""
}

teardown_tmp() {
    stop_sims
    [ -n "${T:-}" ] && rm -rf "$T"
}

# scenario JSON : writes $T/scenario.json
# write_hycu_conf [URL]: $T/b.conf with one hycu source "hycu-lab" (customer Lab Corp) at
# URL (default $HYCU_URL), its token in $T/hycu.token (mode 600), SQLite in b.db.
write_hycu_conf() {
    printf '%s\n' "$HYCU_TEST_TOKEN" >"$T/hycu.token"
    chmod 600 "$T/hycu.token"
    cat >"$T/b.conf" <<CONF
[database]
url = sqlite://b.db
[source "hycu-lab"]
type = hycu
url = ${1:-$HYCU_URL}
token_file = $T/hycu.token
customer = Lab Corp
interval = 1m
CONF
}

scenario() {
    printf '%s\n' "$1" >"$T/scenario.json"
}

# bk ARGS... : run backupctl backup against $HYCU_URL with fast polling; output in
# $output (stdout+stderr, bats run), exit code in $status.
fast_opts="--check-interval 0.05 --retry-backoff 0.02"

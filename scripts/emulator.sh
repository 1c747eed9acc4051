#!/usr/bin/env bash
# The local AWS emulator: moto server (DynamoDB, SES v2, SNS) from a project-local venv.
#
# Usage:
#   scripts/emulator.sh venv            create .venv with the pinned moto, if not already there
#   scripts/emulator.sh start [NAME]    start moto on a free 127.0.0.1 port; prints the endpoint
#   scripts/emulator.sh stop [NAME]     stop the instance started under NAME
#   scripts/emulator.sh endpoint [NAME] print the endpoint of a running instance
#
# NAME (default "dev") keeps instances apart, so a test run never touches the emulator a
# developer left running. State (pid, endpoint, log) lives in .local/emulator/.
#
# Sourcing this file defines the same operations as functions (emulator_venv,
# emulator_start, emulator_stop, emulator_endpoint) without running anything.

MOTO_VERSION="5.2.5"
RESETKIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$RESETKIT_ROOT/.venv"
EMULATOR_STATE="$RESETKIT_ROOT/.local/emulator"

_emulator_log() { printf 'emulator: %s\n' "$*" >&2; }

# True when .venv holds exactly the pinned moto with its server extra.
_emulator_venv_ok() {
    [[ -x "$VENV/bin/python" && -x "$VENV/bin/moto_server" ]] &&
        "$VENV/bin/python" - "$MOTO_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
import flask, flask_cors  # the [server] extra
sys.exit(0 if version("moto") == sys.argv[1] else 1)
PY
}

emulator_venv() {
    if _emulator_venv_ok; then
        return 0
    fi
    local python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null; then
        _emulator_log "python3 is required (Debian: apt-get install python3 python3-venv)"
        return 1
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        _emulator_log "creating $VENV"
        "$python" -m venv "$VENV" || {
            _emulator_log "could not create the venv (Debian: apt-get install python3-venv)"
            return 1
        }
    fi
    _emulator_log "installing moto[server]==$MOTO_VERSION into $VENV"
    "$VENV/bin/python" -m pip install --quiet --no-cache-dir "moto[server]==$MOTO_VERSION" || return 1
    _emulator_venv_ok || { _emulator_log "moto $MOTO_VERSION did not install cleanly"; return 1; }
}

_emulator_free_port() {
    "$VENV/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Succeeds once the server answers HTTP at $1.
_emulator_answers() {
    "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1).read()
PY
}

emulator_endpoint() {
    local name="${1:-dev}"
    [[ -f "$EMULATOR_STATE/$name.endpoint" ]] && cat "$EMULATOR_STATE/$name.endpoint"
}

_emulator_running() {
    local pid_file="$EMULATOR_STATE/${1:-dev}.pid"
    [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

emulator_start() {
    local name="${1:-dev}"
    emulator_venv || return 1
    mkdir -p "$EMULATOR_STATE"
    if _emulator_running "$name"; then
        emulator_endpoint "$name"
        return 0
    fi
    local port endpoint pid log="$EMULATOR_STATE/$name.log"
    port="$(_emulator_free_port)" || return 1
    endpoint="http://127.0.0.1:$port"
    # moto's own `moto_server` serves each request on its own thread, and its DynamoDB
    # model takes no lock: two concurrent TransactWriteItems can both pass their
    # conditions, and a cancelled one restores a snapshot over the other's write. DynamoDB
    # itself serialises conditional writes per item, so the emulator must too: the same
    # server, started single-threaded (werkzeug then also closes each connection).
    "$VENV/bin/python" -c '
import sys
import moto.server as server
run_simple = server.run_simple
server.run_simple = lambda *args, **kwargs: run_simple(*args, **{**kwargs, "threaded": False})
server.main(sys.argv[1:])
' -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$EMULATOR_STATE/$name.pid"
    echo "$endpoint" >"$EMULATOR_STATE/$name.endpoint"
    local tries=0
    until _emulator_answers "$endpoint"; do
        if ! kill -0 "$pid" 2>/dev/null || ((++tries > 150)); then
            _emulator_log "moto did not come up on $endpoint; its log:"
            cat "$log" >&2
            emulator_stop "$name"
            return 1
        fi
        sleep 0.2
    done
    _emulator_log "moto $MOTO_VERSION (pid $pid) listening on $endpoint"
    echo "$endpoint"
}

emulator_stop() {
    local name="${1:-dev}" pid_file="$EMULATOR_STATE/${1:-dev}.pid"
    if [[ -f "$pid_file" ]]; then
        local pid
        pid="$(cat "$pid_file")"
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
    fi
    rm -f "$pid_file" "$EMULATOR_STATE/$name.endpoint"
    return 0
}

_emulator_main() {
    set -euo pipefail
    local cmd="${1:-}"
    shift || true
    case "$cmd" in
        venv) emulator_venv ;;
        start) emulator_start "$@" ;;
        stop) emulator_stop "$@" ;;
        endpoint) emulator_endpoint "$@" || { _emulator_log "not running"; exit 1; } ;;
        *)
            sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            [[ "$cmd" == "-h" || "$cmd" == "--help" ]] || exit 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _emulator_main "$@"
fi

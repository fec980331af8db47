#!/bin/bash
# run.sh — run segdb-server's integration tests against a built binary.
# Usage: tests/integration/run.sh PATH/TO/segdb-server   (or the build directory holding it)
# Raises the open-file limit (1,000 concurrent clients), runs
# test_server.py with Debian's python3 (redis-py), and whatever happens kills
# every server it started. Exit status: 0 only when every check passed; the
# last line is "integration: N passed, M failed".
set -u
server=${1:-}
if [ -d "$server" ]; then
    server=$server/segdb-server
fi
if [ $# -ne 1 ] || [ ! -f "$server" ] || [ ! -x "$server" ]; then
    echo "usage: $0 PATH/TO/segdb-server (or its build directory)" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
pidfile=$(mktemp /tmp/segdb-it-pids.XXXXXX)
cleanup() {
    if [ -s "$pidfile" ]; then
        exe=$(readlink -f "$server")
        while read -r pid; do
            # only a server we started that is still running (never a reused pid)
            if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ]; then
                kill -9 "$pid" 2>/dev/null
            fi
        done < "$pidfile"
    fi
    rm -f "$pidfile"
}
trap cleanup EXIT INT TERM
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
timeout -k 10 900 /usr/bin/python3 "$here/test_server.py" "$server" "$pidfile"
st=$?; timeout -k 10 600 "$here/test_csv.sh" "$(dirname "$server")" || st=1; (exit $st)
rc=$?; timeout -k 10 600 /usr/bin/python3 "$here/test_campaign.py" "$server" "$pidfile" || rc=1; exit $rc

#!/usr/bin/env bash
# run-demo.sh BUILD_DIR PORT — what `make run` does after building: start
# segdb-server on PORT with a data dir ./data, load 1M generated demo contacts
# (the bench generator, as RESP through redis-cli --pipe) when the data dir is
# empty, print how to connect, and keep the server in the foreground (Ctrl-C
# stops it cleanly). Without a server binary it prints the benchmark table.
set -euo pipefail
BUILD=${1:-build-release}
PORT=${2:-7311}
DIR=${DATA_DIR:-data}
N=${DEMO_N:-1000000}
if [ ! -x "$BUILD/segdb-server" ]; then
  "$BUILD/segdb-bench" --n "$N"
  exit 0
fi
mkdir -p "$DIR"
"$BUILD/segdb-server" --port "$PORT" --dir "$DIR" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' INT TERM
for _ in $(seq 1 100); do
  redis-cli -p "$PORT" PING >/dev/null 2>&1 && break
  sleep 0.1
done
live=$(redis-cli -p "$PORT" COUNT 2>/dev/null || echo 0)
if [ "${live:-0}" = "0" ]; then
  echo "loading $N demo contacts..."
  tmp=$(mktemp)
  "$BUILD/segdb-bench" --n "$N" --gen-resp "$tmp" >/dev/null
  redis-cli -p "$PORT" --pipe < "$tmp"
  rm -f "$tmp"
fi
cat <<MSG

segdb is running on 127.0.0.1:$PORT with $(redis-cli -p "$PORT" COUNT) contacts (data in $DIR).
Connect with:
  redis-cli -p $PORT COUNT WHERE 'city:"Hà Nội" AND tag:t001'
  $BUILD/segdb-cli -p $PORT
Ctrl-C stops the server.
MSG
wait $SERVER

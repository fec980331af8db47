#!/usr/bin/env bash
# server-bench.sh BUILD_DIR [N] — the server and durability figures of
# docs/benchmarks.md, measured with the real segdb-server, redis-benchmark and
# (for PING) Debian's redis-server side by side. Run by hand (`make
# bench-server`), never in CI: it needs ~3 GiB and a few minutes at N = 10M.
#
#   ping       PING -P 1 and -P 16, segdb then redis, alternating rounds
#              (both servers pinned to CPU 1, redis-benchmark to CPU 0), with
#              each server's CPU time per PING and the medians (the
#              other sections leave the server unpinned: BGSAVE's child and
#              the query threads need the second core)
#   always     appendfsync always: UPSERT with 1 client, then 50 (group commit),
#              from segdb-bench --write-load; then the ceiling: 50 clients with
#              appendfsync no, and the disk's raw write + fdatasync rate
#   everysec   pipelined UPSERT (-P 16, 50 clients) under appendfsync everysec
#   load       N generated contacts imported from CSV (segdb-cli import), SAVE
#   count      COUNT WHERE tag:t000 AND tag:t001 on one connection, INFO usec
#   bgsave     COUNT latency (p50/p99/max) on one connection while BGSAVE runs
#   restart    time from exec to the first PONG with the N-contact snapshot,
#              warm page cache (and cold too when run as root)
#
# SECTIONS="ping always" limits what runs; ROUNDS sets the PING rounds;
# EXTRA="--huge-pages yes" adds options to every segdb-server started.
set -euo pipefail
B=$(cd "${1:-build-release}" && pwd)
N=${2:-10000000}
SECTIONS=${SECTIONS:-ping always everysec load count bgsave restart}
ROUNDS=${ROUNDS:-3}
PY=/usr/bin/python3
D=$(mktemp -d /tmp/segdb-server-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT

free_port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_pong() { # port, seconds
  local i
  for i in $(seq 1 $(($2 * 100))); do
    redis-cli -p "$1" PING 2>/dev/null | grep -q PONG && return 0
    sleep 0.01
  done
  echo "server on port $1 did not answer" >&2
  return 1
}
# requests/s of a redis-benchmark -q run (the number before "requests per second")
rps() { tr '\r' '\n' | grep 'requests per second' | tail -1 | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/'; }
start_segdb() { # port, dir, extra options... (PIN=1: on CPU 1, as the PING comparison wants)
  local port=$1 dir=$2 pin=()
  shift 2
  [ "${PIN:-0}" = 1 ] && pin=(taskset -c 1)
  # shellcheck disable=SC2086 # EXTRA holds options, split on purpose
  "${pin[@]}" "$B/segdb-server" --port "$port" --dir "$dir" "$@" ${EXTRA:-} >>"$D/server.log" 2>&1 &
  PIDS+=($!)
  SEGDB_PID=$!
}
stop_segdb() { # port
  redis-cli -p "$1" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "$SEGDB_PID" 2>/dev/null || true
}
has() { [[ " $SECTIONS " == *" $1 "* ]]; }

echo "# segdb server benchmarks, $(date -u +%F), commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?'), N=$N"

if has ping; then
  P1=$(free_port)
  P2=$(free_port)
  PIN=1 start_segdb "$P1" "$D/ping" --appendfsync no
  SEGDB_PING_PID=$SEGDB_PID
  taskset -c 1 redis-server --port "$P2" --save '' --appendonly no >/dev/null 2>&1 &
  PIDS+=($!)
  REDIS_PID=$!
  wait_pong "$P1" 10
  wait_pong "$P2" 10
  # The single redis-benchmark thread is the bottleneck (the servers' core
  # idles), so each server's own CPU time per PING is printed too: its utime +
  # stime (clock ticks) over the run / the PINGs (-t ping runs PING_INLINE and
  # PING_MBULK, n each).
  ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  cpu_us() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz * 1e6 / (2 * n)}'; }
  : >"$D/ping.tsv"
  for r in $(seq 1 "$ROUNDS"); do
    for who in segdb redis; do
      p=$P1 pid=$SEGDB_PING_PID
      [ $who = redis ] && p=$P2 pid=$REDIS_PID
      t0=$(ticks "$pid")
      a=$(taskset -c 0 redis-benchmark -p "$p" -t ping -n 200000 -P 1 -q 2>/dev/null | grep MBULK | rps)
      t1=$(ticks "$pid")
      b=$(taskset -c 0 redis-benchmark -p "$p" -t ping -n 1000000 -P 16 -q 2>/dev/null | grep MBULK | rps)
      t2=$(ticks "$pid")
      ca=$(cpu_us $((t1 - t0)) 200000)
      cb=$(cpu_us $((t2 - t1)) 1000000)
      echo "ping round $r $who: -P 1 $a/s ($ca us CPU/PING), -P 16 $b/s ($cb us CPU/PING)"
      printf '%s\t%s\t%s\t%s\t%s\n' "$who" "$a" "$b" "$ca" "$cb" >>"$D/ping.tsv"
    done
  done
  median() { sort -n | awk '{a[NR] = $1} END {print NR ? (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) : 0}'; }
  for col in 2 3 4 5; do
    what=$(case $col in 2) echo "-P 1 req/s";; 3) echo "-P 16 req/s";; 4) echo "-P 1 us CPU/PING";; 5) echo "-P 16 us CPU/PING";; esac)
    sm=$(awk -v c=$col '$1 == "segdb" {print $c}' "$D/ping.tsv" | median)
    rm_=$(awk -v c=$col '$1 == "redis" {print $c}' "$D/ping.tsv" | median)
    echo "ping medians $what: segdb $sm, redis $rm_, segdb/redis $(awk -v s="$sm" -v r="$rm_" 'BEGIN {printf "%.2f", (r > 0 ? s / r : 0)}')"
  done
  redis-cli -p "$P2" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  stop_segdb "$P1"
fi

if has always; then
  # The light C client of segdb-bench (--write-load: one request in flight per
  # connection); redis-benchmark itself tops out near 65k requests/s here.
  # Each run uses fresh ids, so every UPSERT creates a contact.
  P=$(free_port)
  start_segdb "$P" "$D/always" --appendfsync always
  wait_pong "$P" 10
  id=1000000
  wl() { # clients requests -> rate
    "$B/segdb-bench" --n "$2" --write-load "$P" --clients "$1" --first-id $id | sed -E 's/.*rate=([0-9]+).*/\1/'
    id=$((id + 10000000))
  }
  for r in 1 2 3; do
    one=$(wl 1 3000)
    fifty=$(wl 50 200000)
    echo "always round $r: 1 client $one/s, 50 clients $fifty/s, ratio $(echo "scale=1; $fifty / $one" | bc)"
  done
  redis-cli -p "$P" INFO persistence | grep -E '^wal_(records|fsyncs):' | tr -d '\r' | tr '\n' ' '
  echo
  stop_segdb "$P"
  # The ceiling: the same 50 clients with no fsync at all, and the disk's own
  # rate of one small write + fdatasync after another.
  start_segdb "$P" "$D/always-no" --appendfsync no
  wait_pong "$P" 10
  echo "appendfsync no, 50 clients: $(wl 50 200000)/s"
  stop_segdb "$P"
  $PY - "$D/fsync-probe" <<'PYEOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
n, t = 2000, time.perf_counter()
for i in range(n):
    os.pwrite(fd, b"x" * 100, i * 100)
    os.fdatasync(fd)
dt = time.perf_counter() - t
print(f"raw write + fdatasync: {dt / n * 1e6:.0f} us each, {n / dt:.0f}/s")
PYEOF
fi

if has everysec; then
  P=$(free_port)
  start_segdb "$P" "$D/everysec" --appendfsync everysec
  wait_pong "$P" 10
  for r in 1 2; do
    echo "everysec round $r: pipelined UPSERT $(redis-benchmark -p "$P" -c 50 -P 16 -n 2000000 -r 100000000 -q UPSERT __rand_int__ city Hue tags vip 2>/dev/null | rps)/s"
  done
  stop_segdb "$P"
fi

if has load || has count || has bgsave || has restart; then
  P=$(free_port)
  start_segdb "$P" "$D/big" --appendfsync everysec --snapshot-log-bytes 0 --snapshot-changes 0
  wait_pong "$P" 10
  "$B/segdb-bench" --n "$N" --gen-csv "$D/c.csv" >/dev/null
  t0=$(date +%s.%N)
  "$B/segdb-cli" -p "$P" import "$D/c.csv" >"$D/import.out" 2>&1
  t1=$(date +%s.%N)
  rm -f "$D/c.csv"
  echo "load: $N contacts imported in $(echo "$t1 - $t0" | bc) s; COUNT = $(redis-cli -p "$P" COUNT)"
  redis-cli -p "$P" SAVE >/dev/null
  if has count; then
    for r in 1 2 3; do
      echo "count round $r: $(redis-benchmark -p "$P" -c 1 -n 20000 -q COUNT WHERE tag:t000 AND tag:t001 2>/dev/null | rps)/s"
    done
    redis-cli -p "$P" INFO commandstats | grep -i 'cmdstat_count' | tr -d '\r'
  fi
  if has bgsave; then
    $PY - "$P" <<'EOF'
import sys, time, threading, redis
port = int(sys.argv[1])
r = redis.Redis(port=port)
lat, stop = [], [False]
def loop():
    c = redis.Redis(port=port)
    while not stop[0]:
        t = time.perf_counter()
        c.execute_command("COUNT", "WHERE", "tag:t000", "AND", "tag:t001")
        lat.append((time.perf_counter() - t) * 1000)
for rnd in (1, 2):
    lat.clear(); stop[0] = False
    th = threading.Thread(target=loop); th.start()
    time.sleep(1.0)
    t0 = time.time(); r.execute_command("BGSAVE")
    for _ in range(1200):
        time.sleep(0.05)
        info = r.info("persistence")
        if not int(info.get("bgsave_in_progress", 0)):
            break
    took = time.time() - t0
    time.sleep(0.5); stop[0] = True; th.join()
    lat.sort()
    print("bgsave round %d: %.2f s (%s), fork %s us; COUNT during it: n=%d p50 %.3f ms, p99 %.3f ms, max %.2f ms"
          % (rnd, took, info.get("last_bgsave_status"), info.get("latest_fork_usec"), len(lat),
             lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]))
EOF
  fi
  stop_segdb "$P"
  if has restart; then
    for mode in warm warm cold; do
      if [ $mode = cold ]; then
        if [ "$(id -u)" != 0 ]; then break; fi
        sync
        echo 3 >/proc/sys/vm/drop_caches
      fi
      t0=$(date +%s.%N)
      start_segdb "$P" "$D/big" --appendfsync everysec
      wait_pong "$P" 120
      t1=$(date +%s.%N)
      echo "restart ($mode page cache): $(echo "$t1 - $t0" | bc) s to the first PONG, COUNT = $(redis-cli -p "$P" COUNT)"
      stop_segdb "$P"
    done
  fi
fi

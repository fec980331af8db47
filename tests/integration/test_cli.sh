#!/bin/bash
# test_cli.sh — integration tests of segdb-cli against the real segdb-server.
# Usage: tests/integration/test_cli.sh BUILD_DIR   (holding segdb-cli and segdb-server)
#
# Starts segdb-server on free loopback ports (picked with /usr/bin/python3)
# with temporary --dir directories, then checks segdb-cli: one command from
# the arguments (raw and formatted output, exit status, errors on stderr),
# commands piped on stdin, AUTH with -a and SEGDB_CLI_AUTH, a refused
# connection, bad options, a fake server that answers garbage, --embedded
# with piped commands (its data kept in DIR between sessions, a directory
# a server uses refused), and an interactive session driven through tmux (TAB
# completion of `cit` to `city` inside a WHERE, the prompt, the timing line,
# the FIND FIELDS table, the history file). Without tmux that last part is
# skipped with a message. Every wait is bounded; whatever happens, the
# servers, the fake server and the tmux server it started are killed.
# Prints "cli: N passed, M failed"; the exit status is 0 only when all passed.
set -u
build=${1:-}
if [ $# -ne 1 ] || [ ! -x "$build/segdb-cli" ] || [ ! -x "$build/segdb-server" ]; then
    echo "usage: $0 BUILD_DIR   (a directory holding segdb-cli and segdb-server)" >&2
    exit 2
fi
build=$(cd "$build" && pwd)
CLI=$build/segdb-cli
SERVER=$build/segdb-server
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

tmp=$(mktemp -d /tmp/segdb-cli-it.XXXXXX)
tmux_sock="segdb-cli-it-$$"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if command -v tmux >/dev/null 2>&1; then
        tmux -L "$tmux_sock" kill-server 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# AddressSanitizer builds: a leak makes the CLI exit non-zero, which the
# status checks below catch.
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export LANG=C.UTF-8 LC_ALL=C.UTF-8
export SEGDB_HISTFILE="$tmp/history"
unset SEGDB_CLI_AUTH

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}
# check NAME EXPECTED ACTUAL
check() {
    if [ "$2" == "$3" ]; then
        pass
    else
        fail "$1"
        echo "  expected: $(printf '%q' "$2")"
        echo "  actual:   $(printf '%q' "$3")"
    fi
}
# check_has NAME NEEDLE HAYSTACK
check_has() {
    case "$3" in
    *"$2"*) pass ;;
    *)
        fail "$1"
        echo "  wanted:   $(printf '%q' "$2")"
        echo "  in:       $(printf '%q' "$3")"
        ;;
    esac
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME [extra options]: sets $port; the server's pid is remembered for cleanup
start_server() {
    local name=$1
    shift
    port=$(free_port)
    "$SERVER" --port "$port" --dir "$tmp/$name-data" "$@" >"$tmp/$name.log" 2>&1 &
    pids+=($!)
    local i
    for i in $(seq 1 100); do
        if "$PY" - "$port" <<'EOF' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"PING\r\n")
s.settimeout(2)
sys.exit(0 if s.recv(64).startswith((b"+PONG", b"-NOAUTH")) else 1)
EOF
        sleep 0.1
    done
    echo "segdb-server did not start; its log:" >&2
    cat "$tmp/$name.log" >&2
    exit 1
}

# run_cli OUT ERR ARGS...: runs segdb-cli with stdin from /dev/null, bounded; sets $status
run_cli() {
    local out=$1 err=$2
    shift 2
    timeout -k 5 60 "$CLI" "$@" </dev/null >"$out" 2>"$err"
    status=$?
}

start_server main
P=$port
O=$tmp/out
E=$tmp/err

# ---- one command from the arguments (stdout not a terminal: raw replies) ----
run_cli "$O" "$E" -p "$P" PING
check "PING" "PONG" "$(cat "$O")"
check "PING exit status" 0 "$status"

run_cli "$O" "$E" -p "$P" UPSERT 1 name "Nguyễn Văn An" city "Hà Nội" tags "vip;mới" purchases 3
check "UPSERT creates" "1" "$(cat "$O")"
run_cli "$O" "$E" -p "$P" UPSERT 2 name "Trần Thị Bình" city "Huế" tags vip email binh@example.vn
run_cli "$O" "$E" -p "$P" UPSERT 3 name "Lê Văn Cường" city "hà nội" phone "0912 345 678"
check "UPSERT 3" "1" "$(cat "$O")"
run_cli "$O" "$E" -p "$P" UPSERT 1 relationship hot
check "UPSERT updates" "0" "$(cat "$O")"

run_cli "$O" "$E" -p "$P" COUNT WHERE tag:vip
check "COUNT WHERE tag:vip (words as arguments)" "2" "$(cat "$O")"
run_cli "$O" "$E" -p "$P" COUNT WHERE 'city:"Ha Noi" AND NOT tag:vip'
check "COUNT with a quoted Vietnamese value" "1" "$(cat "$O")"
run_cli "$O" "$E" -p "$P" COUNT WHERE "q:nguyen"
check "COUNT WHERE q:nguyen finds Nguyễn" "1" "$(cat "$O")"

run_cli "$O" "$E" -p "$P" FIND FIELDS name,city WHERE 'city:"hà nội"'
# the first spelling seen of a category value is the one shown (SPEC 7)
check "FIND FIELDS raw: one item a line" "$(printf '1\nNguyễn Văn An\nHà Nội\n3\nLê Văn Cường\nHà Nội')" "$(cat "$O")"

run_cli "$O" "$E" -p "$P" GET 999
check "GET of a missing contact: nil is an empty line" "$(printf '\n_')" "$(cat "$O"; printf _)"
check "GET missing exit status" 0 "$status"

run_cli "$O" "$E" -p "$P" COUNT WHERE 'bogus:1'
check "error reply: exit status 1" 1 "$status"
check "error reply: nothing on stdout" "" "$(cat "$O")"
check_has "error reply: on stderr" "(error) ERR unknown field 'bogus'" "$(cat "$E")"

run_cli "$O" "$E" -p "$P" COUNT WHERE 'city:"unclosed'
check "filter syntax error: exit 1" 1 "$status"

# ---- formatted replies (--no-raw, as on a terminal) ----
run_cli "$O" "$E" --no-raw -p "$P" COUNT WHERE tag:vip
check "formatted integer" "(integer) 2" "$(cat "$O")"
run_cli "$O" "$E" --no-raw -p "$P" GET 999
check "formatted nil" "(nil)" "$(cat "$O")"
run_cli "$O" "$E" --no-raw -p "$P" NOSUCH
check_has "formatted error on stdout" "(error) ERR unknown command" "$(cat "$O")"
check "formatted error exit status" 1 "$status"
run_cli "$O" "$E" --no-raw -p "$P" GET 2 name city
check "formatted array" "$(printf '1) "name"\n2) "Trần Thị Bình"\n3) "city"\n4) "Huế"')" "$(cat "$O")"
run_cli "$O" "$E" --no-raw -p "$P" FIND FIELDS name,city,phone WHERE has:name
expected=$(cat <<'EOF'
 id | name          | city   | phone
----+---------------+--------+--------------
 1  | Nguyễn Văn An | Hà Nội | 
 2  | Trần Thị Bình | Huế    | 
 3  | Lê Văn Cường  | Hà Nội | 0912 345 678
(3 rows)
EOF
)
check "FIND FIELDS table aligned by display width" "$expected" "$(cat "$O")"
run_cli "$O" "$E" --no-raw -p "$P" EXPLAIN WHERE tag:vip AND city:hue
check_has "EXPLAIN shown as text" "BITMAP" "$(cat "$O")"
case "$(cat "$O")" in *'\n'*) fail "EXPLAIN shown as text, not escaped" ;; *) pass ;; esac

# ---- commands from stdin ----
cat >"$tmp/cmds.txt" <<'EOF'
# a comment, then a blank line

UPSERT 10 name "Phạm Thu Hà" city 'Đà Nẵng' tags "vip;khách quen"
COUNT WHERE city:"da nang"
COUNT WHERE tag:"khach quen" AND q:pham
COUNT WHERE "tag:vip AND city:'Đà Nẵng'"
DEL 10
COUNT WHERE city:danang
EOF
timeout -k 5 60 "$CLI" -p "$P" <"$tmp/cmds.txt" >"$O" 2>"$E"
status=$?
check "stdin commands" "$(printf '1\n1\n1\n1\n1\n0')" "$(cat "$O")"
check "stdin commands exit status" 0 "$status"
check "stdin commands: no stderr" "" "$(cat "$E")"

printf 'PING\nCOUNT WHERE nosuch:1\nbad "quote\nCOUNT WHERE tag:vip\n' |
    timeout -k 5 60 "$CLI" -p "$P" >"$O" 2>"$E"
status=$?
check "stdin: later commands run after errors" "$(printf 'PONG\n2')" "$(cat "$O")"
check "stdin: exit status 1 after an error" 1 "$status"
check_has "stdin: the error names its line" "stdin line 2: (error) ERR unknown field" "$(cat "$E")"
check_has "stdin: unbalanced quotes named" "stdin line 3: Invalid argument(s): unbalanced quotes" "$(cat "$E")"

printf 'COUNT WHERE tag:vip\nQUIT\nPING\n' | timeout -k 5 60 "$CLI" -p "$P" >"$O" 2>"$E"
status=$?
check "stdin: QUIT ends the session" "$(printf '2\nOK')" "$(cat "$O")"
check "stdin: QUIT exit status" 0 "$status"

# ---- options and connection errors ----
run_cli "$O" "$E" --help
check "--help exit status" 0 "$status"
check_has "--help" "Usage: segdb-cli [-h HOST] [-p PORT] [-a PASSWORD]" "$(cat "$O")"
run_cli "$O" "$E" -p 0 PING
check "-p 0 is a usage error" 2 "$status"
run_cli "$O" "$E" --frobnicate PING
check "unknown option is a usage error" 2 "$status"
check_has "unknown option named" "unknown option '--frobnicate'" "$(cat "$E")"
run_cli "$O" "$E" --embedded "$tmp/x" -p 1 PING
check "--embedded with -p is a usage error" 2 "$status"
closed=$(free_port)
run_cli "$O" "$E" -p "$closed" PING
check "refused connection: exit 1" 1 "$status"
check_has "refused connection: message" "Could not connect to segdb at 127.0.0.1:$closed" "$(cat "$E")"
run_cli "$O" "$E" -h localhost -p "$P" PING
check "-h localhost" "PONG" "$(cat "$O")"

# ---- a server that answers garbage, one that stalls ----
fake_port=$(free_port)
"$PY" - "$fake_port" <<'EOF' &
import socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(4)
while True:
    c, _ = l.accept()
    data = c.recv(65536)
    if b"STALL" in data:
        c.sendall(b"$10\r\nabc")
        time.sleep(30)
    else:
        c.sendall(b"%garbage\r\n")
    c.close()
EOF
pids+=($!)
for i in $(seq 1 50); do
    "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $fake_port), timeout=1).close()" 2>/dev/null && break
    sleep 0.1
done
run_cli "$O" "$E" -p "$fake_port" PING
check "garbage reply: exit 1" 1 "$status"
check_has "garbage reply: protocol error" "Protocol error" "$(cat "$E")"
run_cli "$O" "$E" -t 0.5 -p "$fake_port" STALL
check "stalled reply cut by -t: exit 1" 1 "$status"
check_has "stalled reply: message" "no reply from 127.0.0.1:$fake_port for 500 ms" "$(cat "$E")"

# ---- AUTH ----
start_server auth --requirepass "mật khẩu"
A=$port
run_cli "$O" "$E" -p "$A" COUNT
check "no password: NOAUTH, exit 1" 1 "$status"
check_has "no password: NOAUTH" "NOAUTH" "$(cat "$E")"
run_cli "$O" "$E" -p "$A" -a "mật khẩu" COUNT
check "-a password" "0" "$(cat "$O")"
SEGDB_CLI_AUTH="mật khẩu" run_cli "$O" "$E" -p "$A" PING
check "SEGDB_CLI_AUTH" "PONG" "$(cat "$O")"
run_cli "$O" "$E" -p "$A" -a wrong PING
check "wrong password: exit 1" 1 "$status"
check_has "wrong password: message" "AUTH failed: WRONGPASS" "$(cat "$E")"
run_cli "$O" "$E" -p "$A" -a "mật khẩu" SHUTDOWN
check "SHUTDOWN: exit 0" 0 "$status"
check "SHUTDOWN: no output" "" "$(cat "$O")"
gone=no
for i in $(seq 1 50); do
    if ! "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $A), timeout=1).close()" 2>/dev/null; then
        gone=yes
        break
    fi
    sleep 0.1
done
check "SHUTDOWN stopped the server" yes "$gone"

# ---- --embedded ----
cat >"$tmp/emb.txt" <<'EOF'
PING
UPSERT 7 name "Đỗ Thị Hương" city "Hải Phòng" tags vip
UPSERT 8 name "Vũ Minh" city "hai phong"
COUNT WHERE city:"hai phong"
FIELD.CREATE diem number
UPSERT 8 diem 9.5
COUNT WHERE diem >= 9
FIND FIELDS name WHERE tag:vip
SHUTDOWN
PING
EOF
timeout -k 5 60 "$CLI" --embedded "$tmp/emb" <"$tmp/emb.txt" >"$O" 2>"$E"
status=$?
check "embedded: piped commands" "$(printf 'PONG\n1\n1\n2\nOK\n0\n1\n7\nĐỗ Thị Hương')" "$(cat "$O")"
check "embedded: exit status" 0 "$status"
check "embedded: nothing on stderr" "" "$(cat "$E")"
run_cli "$O" "$E" --embedded "$tmp/emb" --no-raw COUNT WHERE diem '>=' 9
check "embedded: a new session finds the data in DIR" "(integer) 1" "$(cat "$O")"
run_cli "$O" "$E" --embedded "$tmp/emb" FIND FIELDS name,city WHERE 'city:"Hải Phòng"'
check "embedded: recovered values" "$(printf '7\nĐỗ Thị Hương\nHải Phòng\n8\nVũ Minh\nHải Phòng')" "$(cat "$O")"
run_cli "$O" "$E" --embedded "$tmp/emb" SAVE
check "embedded: SAVE" "OK" "$(cat "$O")"
ls "$tmp/emb" >"$O"
check_has "embedded: the log is in DIR" "wal-" "$(cat "$O")"
check_has "embedded: the snapshot is in DIR" "snapshot-" "$(cat "$O")"
run_cli "$O" "$E" --embedded "$tmp/main-data" PING
check "embedded: a directory a server uses is refused" 1 "$status"
check_has "embedded: ... saying why" "in use by a segdb-server" "$(cat "$E")"
run_cli "$O" "$E" --embedded "$tmp/cmds.txt" PING
check "embedded: a file is not a data directory" 1 "$status"

# ---- interactive, through tmux ----
if ! command -v tmux >/dev/null 2>&1; then
    echo "cli: interactive part skipped: tmux is not installed (apt-get install tmux)"
else
    T="tmux -L $tmux_sock -f /dev/null"
    # wait_pane REGEX: up to 10 s for the pane to show a line matching REGEX
    wait_pane() {
        local i
        for i in $(seq 1 100); do
            if $T capture-pane -p -t cli -S -200 2>/dev/null | grep -qE -- "$1"; then
                return 0
            fi
            sleep 0.1
        done
        return 1
    }
    pane() { $T capture-pane -p -t cli -S -200 2>/dev/null; }
    # expect_pane NAME REGEX
    expect_pane() {
        if wait_pane "$2"; then
            pass
        else
            fail "$1: no line matching /$2/ in the pane:"
            pane | sed 's/^/    | /' | tail -25
        fi
    }
    # expect_reply NAME CMD_REGEX REPLY_REGEX: the line after the last one matching
    # CMD_REGEX (the command as typed) comes to match REPLY_REGEX
    expect_reply() {
        local i
        for i in $(seq 1 100); do
            if pane | awk -v c="$2" -v r="$3" '$0 ~ c { n = NR } { line[NR] = $0 }
                   END { exit !(n && line[n + 1] ~ r) }'; then
                pass
                return
            fi
            sleep 0.1
        done
        fail "$1: the reply to /$2/ is not /$3/:"
        pane | sed 's/^/    | /' | tail -25
    }
    $T new-session -d -s cli -x 150 -y 50 \
        "env LANG=C.UTF-8 LC_ALL=C.UTF-8 SEGDB_HISTFILE=$tmp/history ASAN_OPTIONS=$ASAN_OPTIONS \
         $CLI -p $P; echo CLI-EXIT=\$?; sleep 30"
    expect_pane "interactive: prompt" "^127\.0\.0\.1:$P>( |$)"
    $T send-keys -t cli 'COUNT WHERE cit' Tab
    expect_pane "interactive: TAB completes cit to city inside WHERE" "> COUNT WHERE city$"
    $T send-keys -t cli ':"ha noi"' Enter
    expect_reply "interactive: formatted integer" '> COUNT WHERE city:"ha noi"$' '^[(]integer[)] 2$'
    expect_pane "interactive: timing line" "^\([0-9]+\.[0-9]{2} ms\)$"
    $T send-keys -t cli 'FIE' Tab
    expect_pane "interactive: TAB extends to the common prefix" "> FIELD\.$"
    $T send-keys -t cli 'L' Tab Enter
    expect_pane "interactive: completed command runs" '^ 1\) "id"$'
    $T send-keys -t cli 'fin' Tab 'FIELDS name,ci' Tab ' WHERE tag:vip' Enter
    expect_pane "interactive: lower-case command completion" "> find FIELDS name,city WHERE tag:vip$"
    expect_pane "interactive: FIND FIELDS table" "^ 1  \| Nguyễn Văn An \| Hà Nội$"
    expect_pane "interactive: table footer" "^\(2 rows\)$"
    $T send-keys -t cli 'COUNT WHERE has:' Tab Tab
    expect_pane "interactive: TAB twice lists candidates" "^address +archived +birthday"
    $T send-keys -t cli C-u 'GET 999' Enter
    expect_reply "interactive: nil" '> GET 999$' '^[(]nil[)]$'
    $T send-keys -t cli 'COUNT WHERE "unbalanced' Enter
    expect_pane "interactive: unbalanced quotes" "^Error: Invalid argument\(s\): unbalanced quotes$"
    $T send-keys -t cli 'AUTH secret-password' Enter
    expect_pane "interactive: error reply" "^\(error\) ERR AUTH <password> called without any password configured"
    $T send-keys -t cli 'help COUNT' Enter
    expect_pane "interactive: help" "^  COUNT \[WHERE filter\]$"
    $T send-keys -t cli 'exit' Enter
    expect_pane "interactive: exit status 0 (no leaks)" "^CLI-EXIT=0$"
    hist=$(cat "$tmp/history" 2>/dev/null)
    check_has "history file has the commands" "COUNT" "$hist"
    case "$hist" in *secret-password*) fail "history must not keep AUTH lines" ;; *) pass ;; esac
    mode=$(stat -c %a "$tmp/history" 2>/dev/null)
    check "history file is private" 600 "$mode"
    $T kill-session -t cli 2>/dev/null

    # embedded, interactive: its prompt, command names from the command table
    $T new-session -d -s cli -x 150 -y 50 \
        "env LANG=C.UTF-8 LC_ALL=C.UTF-8 SEGDB_HISTFILE= ASAN_OPTIONS=$ASAN_OPTIONS \
         $CLI --embedded $tmp/emb2 2>/dev/null; echo CLI-EXIT=\$?; sleep 30"
    expect_pane "embedded interactive: prompt" "^embedded:$tmp/emb2>( |$)"
    $T send-keys -t cli 'UPSERT 5 name "Hồ Xuân Hương" city Huế' Enter
    expect_pane "embedded interactive: UPSERT" "^\(integer\) 1$"
    $T send-keys -t cli 'GET 5 name' Enter
    expect_pane "embedded interactive: Vietnamese typed at the prompt arrives intact" '^2\) "Hồ Xuân Hương"$'
    $T send-keys -t cli 'COUN' Tab 'WHERE cit' Tab ':hue' Enter
    expect_pane "embedded interactive: completion and count" "> COUNT WHERE city:hue$"
    $T send-keys -t cli 'COUNT WHERE name:"Hồ Xuân Hương" AND cit' Tab ':huế' Enter
    expect_pane "embedded interactive: completion after Vietnamese text" '> COUNT WHERE name:"Hồ Xuân Hương" AND city:huế$'
    expect_reply "embedded interactive: ... and its count" 'AND city:huế$' '^[(]integer[)] 1$'
    $T send-keys -t cli C-d
    expect_pane "embedded interactive: Ctrl-D exits cleanly" "^CLI-EXIT=0$"
    $T kill-server 2>/dev/null
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

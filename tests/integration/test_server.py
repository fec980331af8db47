#!/usr/bin/python3
"""
test_server.py — integration tests of segdb-server against the real binary.

Usage: /usr/bin/python3 tests/integration/test_server.py PATH/TO/segdb-server [PIDFILE]
(normally through tests/integration/run.sh, which raises the file limit and
kills any server left behind). Starts servers on free loopback ports with
temporary --dir directories and checks: redis-cli round trips of every
command, redis-py pipelining, inline requests with Vietnamese values, AUTH,
malformed and abusive input (the server keeps serving others and its memory
does not grow), maxclients, the output-buffer limit, 1,000 concurrent
clients, SHUTDOWN and SIGTERM. Prints "integration: N passed, M failed" and
exits non-zero on any failure.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

SERVER = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
PIDFILE = sys.argv[2] if len(sys.argv) > 2 else None
PASSED = 0
FAILED = 0
SERVERS = []


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print("FAIL: %s %s" % (name, detail), flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, *extra):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="segdb-it-")
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        env = dict(os.environ)
        # Under AddressSanitizer, freed memory sits in a quarantine that would
        # look like growth to the RSS check: keep it small.
        env["ASAN_OPTIONS"] = "quarantine_size_mb=4:detect_leaks=1:" + env.get("ASAN_OPTIONS", "")
        self.proc = subprocess.Popen(
            [SERVER, "--port", str(self.port), "--dir", os.path.join(self.dir, "data")] + list(extra),
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        SERVERS.append(self)
        if PIDFILE:
            with open(PIDFILE, "a") as f:
                f.write("%d\n" % self.proc.pid)
        self.wait_ready()

    def wait_ready(self, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited early: " + self.logtext())
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                s.sendall(b"PING\r\n")
                s.settimeout(2)
                data = s.recv(100)
                s.close()
                if data.startswith(b"+PONG") or data.startswith(b"-NOAUTH"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not answer PING within %.0fs" % timeout)

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def conn(srv, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_until(s, want, timeout=5.0):
    """Read until `want` bytes are in the buffer, EOF or timeout."""
    buf = b""
    deadline = time.time() + timeout
    while want not in buf and time.time() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not d:
            break
        buf += d
    return buf


def recv_all(s, timeout=5.0):
    """Read until EOF (or timeout); returns (bytes, closed)."""
    buf = b""
    deadline = time.time() + timeout
    s.settimeout(0.5)
    while time.time() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return buf, True
        if not d:
            return buf, True
        buf += d
    return buf, False


def exchange(srv, payload, want=b"\r\n", timeout=5.0):
    s = conn(srv, timeout)
    s.sendall(payload)
    data = recv_until(s, want, timeout)
    s.close()
    return data


def cli(srv, *args, password=None):
    cmd = ["redis-cli", "-p", str(srv.port)]
    if password:
        cmd += ["--no-auth-warning", "-a", password]
    cmd += [a if isinstance(a, bytes) else str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, timeout=20)
    return r.stdout.decode("utf-8", "replace").rstrip("\n")


# ---------------------------------------------------------------------------

def test_inline(srv):
    s = conn(srv)
    s.sendall('UPSERT 5 city "Hà Nội"\r\n'.encode())
    check("inline UPSERT with a quoted Vietnamese value", recv_until(s, b"\r\n") == b":1\r\n")
    s.sendall(b'COUNT WHERE city:"ha noi"\r\n')
    check("inline COUNT WHERE city:\"ha noi\" finds it", recv_until(s, b"\r\n") == b":1\r\n")
    s.sendall("COUNT WHERE \"city:'Hà Nội'\"\n".encode())
    check("inline filter in one double-quoted argument", recv_until(s, b"\r\n") == b":1\r\n")
    s.sendall(b'UPSERT 6 city "H\\xc3\\xa0 N\\xe1\\xbb\\x99i" name \'O\\\'Brien\'\r\n')
    check("inline \\xHH escapes and \\' in single quotes", recv_until(s, b"\r\n") == b":1\r\n")
    s.sendall(b"GET 6 name city\r\n")
    got = recv_until(s, "Nội\r\n".encode())
    check("GET returns the unescaped values",
          got == "*4\r\n$4\r\nname\r\n$7\r\nO'Brien\r\n$4\r\ncity\r\n$9\r\nHà Nội\r\n".encode(), repr(got))
    s.sendall(b"\r\n\r\n   \r\nPING\r\n")
    check("empty inline lines are ignored", recv_until(s, b"\r\n") == b"+PONG\r\n")
    s.sendall(b'ECHO "abc\r\nPING\r\n')
    got = recv_until(s, b"+PONG\r\n")
    check("unbalanced quotes: error, and the connection keeps working",
          got == b"-ERR Protocol error: unbalanced quotes in request\r\n+PONG\r\n", repr(got))
    s.sendall(b"DEL 6\r\n")
    check("inline DEL", recv_until(s, b"\r\n") == b":1\r\n")
    s.close()


def test_cli_round_trips(srv):
    check("PING", cli(srv, "PING") == "PONG")
    check("PING msg", cli(srv, "PING", "xin chào") == "xin chào")
    check("ECHO", cli(srv, "ECHO", "Đà Nẵng") == "Đà Nẵng")
    check("AUTH without a password configured",
          cli(srv, "AUTH", "x").startswith("ERR AUTH <password> called without any password"))
    check("UPSERT creates", cli(srv, "UPSERT", 10, "name", "Nguyễn Văn An", "city", "Hà Nội",
                                "email", "an@example.vn") == "1")
    check("UPSERT updates", cli(srv, "UPSERT", 10, "phone", "0912 345 678") == "0")
    check("UPSERT 2^64-1", cli(srv, "UPSERT", "18446744073709551615", "city", "Huế") == "1")
    check("UPSERT odd arguments", cli(srv, "UPSERT", 11, "city", "Huế", "name") ==
          "ERR wrong number of arguments for 'upsert' command")
    check("UPSERT invalid UTF-8 is refused",
          cli(srv, "UPSERT", 12, "name", b"\xff\xfe").startswith("ERR"))
    check("UPSERT unknown field names FIELD.CREATE",
          "FIELD.CREATE" in cli(srv, "UPSERT", 12, "shoe_size", "42"))
    r = redis.Redis(port=srv.port, socket_timeout=5)
    out = r.execute_command("GET", 10, "name", "city", "email")
    check("GET with fields", out == ["name".encode(), "Nguyễn Văn An".encode(), b"city", "Hà Nội".encode(),
                                     b"email", b"an@example.vn"], repr(out))
    out = r.execute_command("GET", 10, "address")
    check("GET a field the contact lacks is nil", out == [b"address", None], repr(out))
    check("GET absent contact is nil", cli(srv, "GET", 999999) == "")
    check("GET id 0", cli(srv, "GET", 0) == "ERR invalid id '0': ids start at 1")
    check("GET signed id", cli(srv, "GET", "+5").startswith("ERR invalid id '+5': ids have no sign"))
    check("GET hex id", cli(srv, "GET", "0x5") == "ERR invalid id '0x5': ids are decimal, not hexadecimal")
    check("GET id over 2^64-1", cli(srv, "GET", "18446744073709551616") ==
          "ERR invalid id '18446744073709551616': larger than 18446744073709551615 (2^64-1)")
    check("GET id not a number", cli(srv, "GET", "abc").startswith("ERR invalid id 'abc'"))
    check("COUNT all", cli(srv, "COUNT") == "3")
    check("COUNT WHERE joined words", cli(srv, "COUNT", "WHERE", "city:hanoi", "AND", "has:email") == "1")
    check("COUNT WHERE one quoted argument", cli(srv, "COUNT", "WHERE", "city:'Hà Nội' OR city:hue") == "3")
    check("COUNT WHERE nothing", cli(srv, "COUNT", "WHERE") == "ERR empty filter after WHERE")
    check("COUNT without WHERE keyword", cli(srv, "COUNT", "city:hue").startswith("ERR syntax error"))
    check("COUNT filter error is precise", cli(srv, "COUNT", "WHERE", "city:Hà", "Nội").startswith("ERR"))
    out = cli(srv, "FIND", "WHERE", "city:hanoi")
    check("FIND ids as bulk strings", set(out.split("\n")) == {"5", "10"}, repr(out))
    out = r.execute_command("FIND", "LIMIT", "0", "10", "FIELDS", "city,name", "SORT", "name", "DESC",
                            "WHERE", "city:hue")
    check("FIND options in any order, FIELDS rows with nil",
          out == [[b"18446744073709551615", "Huế".encode(), None]], repr(out))
    out = r.execute_command("FIND", "LIMIT", "1", "1", "WHERE", "city:hanoi")
    check("FIND LIMIT offset count", out == [b"10"], repr(out))
    check("FIND LIMIT over 10,000", cli(srv, "FIND", "LIMIT", "0", "10001").startswith("LIMIT"))
    check("FIND LIMIT count 0 is an empty page", cli(srv, "FIND", "LIMIT", "0", "0") == "")
    check("FIND unknown option", cli(srv, "FIND", "ORDER", "x").startswith("ERR syntax error: unknown FIND option"))
    check("EXPLAIN", "city" in cli(srv, "EXPLAIN", "WHERE", "city:hanoi"))
    check("EXPLAIN without WHERE", cli(srv, "EXPLAIN", "city:hanoi", "x").startswith("ERR syntax error"))
    check("FIELD.CREATE", cli(srv, "FIELD.CREATE", "shoe_size", "integer") == "OK")
    check("FIELD.CREATE twice", cli(srv, "FIELD.CREATE", "shoe_size", "integer").startswith("ERR"))
    check("custom field usable", cli(srv, "UPSERT", 12, "shoe_size", "42") == "1")
    out = cli(srv, "FIELD.LIST").split("\n")
    check("FIELD.LIST pairs", "shoe_size" in out and len(out) % 2 == 0, repr(out[:6]))
    check("DBSIZE", cli(srv, "DBSIZE") == "4")
    check("DEL", cli(srv, "DEL", 12, 999, 12) in ("1", "2"))
    check("DEL bad id", cli(srv, "DEL", 10, "x").startswith("ERR invalid id"))
    check("GET after DEL", cli(srv, "GET", 12) == "")
    check("DEBUG VERIFY", cli(srv, "DEBUG", "VERIFY") == "OK")
    check("DEBUG other", cli(srv, "DEBUG", "SEGFAULT").startswith("ERR unknown subcommand"))
    check("SELECT 0", cli(srv, "SELECT", 0) == "OK")
    check("SELECT 1", cli(srv, "SELECT", 1).startswith("ERR DB index is out of range"))
    check("HELLO 3 -> NOPROTO", cli(srv, "HELLO", 3) == "NOPROTO unsupported protocol version")
    check("HELLO 2", "segdb" in cli(srv, "HELLO", 2))
    check("CLIENT SETNAME/GETNAME",
          cli(srv, "CLIENT", "SETNAME", "x y") .startswith("ERR Client names cannot contain spaces"))
    check("CLIENT SETNAME", r.client_setname("it-client") is True)
    check("CLIENT GETNAME", r.client_getname() == "it-client")
    lst = r.client_list()
    check("CLIENT LIST fields", any(c.get("name") == "it-client" and "addr" in c and "idle" in c
                                    and "age" in c and "fd" in c and "cmd" in c for c in lst), repr(lst))
    check("CLIENT ID", isinstance(r.client_id(), int))
    out = cli(srv, "INFO")
    for section in ("# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Keyspace"):
        check("INFO has " + section, section in out)
    for field in ("segdb_version:", "process_id:%d" % srv.proc.pid, "tcp_port:%d" % srv.port,
                  "uptime_in_seconds:", "connected_clients:", "maxclients:", "used_memory:",
                  "used_memory_engine:", "bytes_per_contact:", "total_commands_processed:",
                  "instantaneous_ops_per_sec:", "rejected_connections:", "cmdstat_upsert:calls=",
                  "contacts:live=3,archived=0", "aof_enabled:"):
        check("INFO has " + field, field in out, "")
    out = cli(srv, "INFO", "keyspace")
    check("INFO section", out.strip() == "# Keyspace\r\ncontacts:live=3,archived=0".replace("\r", "")
          or out.replace("\r", "").strip() == "# Keyspace\ncontacts:live=3,archived=0", repr(out))
    check("SLOWLOG LEN", cli(srv, "SLOWLOG", "LEN").isdigit())
    check("SLOWLOG GET", cli(srv, "SLOWLOG", "GET", 5) is not None)
    check("SLOWLOG RESET", cli(srv, "SLOWLOG", "RESET") == "OK" and cli(srv, "SLOWLOG", "LEN") == "0")
    check("COMMAND COUNT", int(cli(srv, "COMMAND", "COUNT")) >= 20)
    cmds = r.command()
    check("COMMAND entries", cmds.get("upsert", {}).get("arity") == -4 and
          "write" in cmds["upsert"]["flags"] and cmds["get"]["first_key_pos"] == 0, repr(cmds.get("upsert")))
    raw = redis.Redis(port=srv.port, socket_timeout=5)
    raw.set_response_callback("COMMAND", lambda resp, **kw: resp)
    docs = raw.execute_command("COMMAND", "DOCS", "FIND")
    check("COMMAND DOCS", docs and docs[0] == b"find" and b"summary" in docs[1], repr(docs))
    check("CONFIG GET", cli(srv, "CONFIG", "GET", "maxclients").split("\n") == ["maxclients", "10000"])
    check("CONFIG GET without a pattern", cli(srv, "CONFIG", "GET") ==
          "ERR wrong number of arguments for 'config|get' command")
    check("CONFIG SET is refused by name", cli(srv, "CONFIG", "SET", "maxclients", "5").startswith(
          "ERR unknown subcommand 'SET' for 'config'; valid: GET, RESETSTAT"))
    # RESETSTAT: the counters and per-command figures start again; the one command
    # and connection counted since are the RESETSTAT call and the INFO connection
    before = cli(srv, "INFO", "stats", "commandstats")
    check("commandstats before RESETSTAT", "cmdstat_upsert:" in before, before)
    check("CONFIG RESETSTAT", cli(srv, "CONFIG", "RESETSTAT") == "OK")
    after = cli(srv, "INFO", "stats", "commandstats").replace("\r", "")
    check("RESETSTAT zeroed the stats", "cmdstat_upsert:" not in after and
          "total_commands_processed:1\n" in after and "total_connections_received:1\n" in after, after)
    check("CONFIG RESETSTAT takes no argument", cli(srv, "CONFIG", "RESETSTAT", "x") ==
          "ERR wrong number of arguments for 'config|resetstat' command")
    check("unknown command", cli(srv, "NOPE", "a", "b") ==
          "ERR unknown command 'NOPE', with args beginning with: 'a' 'b' ")
    check("wrong arity", cli(srv, "ECHO") == "ERR wrong number of arguments for 'echo' command")
    s = conn(srv)
    s.sendall(b"QUIT\r\nPING\r\n")
    data, closed = recv_all(s)
    check("QUIT replies +OK and closes", data == b"+OK\r\n" and closed, repr(data))
    s.close()
    # redis-cli interactive start-up asks COMMAND DOCS; the reply must parse
    docs = raw.execute_command("COMMAND", "DOCS")
    check("COMMAND DOCS lists every command", len(docs) == 2 * int(cli(srv, "COMMAND", "COUNT")))
    raw.close()
    r.close()


def test_pipeline(srv):
    r = redis.Redis(port=srv.port, socket_timeout=30)
    p = r.pipeline(transaction=False)
    n = 5000
    for i in range(n):
        p.execute_command("UPSERT", 100000 + i, "city", "Cần Thơ" if i % 2 else "Đà Lạt", "purchases", i)
    for i in range(n):
        p.execute_command("COUNT", "WHERE", "city:dalat", "AND", "purchases", "<", i)
    res = p.execute(raise_on_error=False)
    check("pipeline: 10,000 replies", len(res) == 2 * n)
    check("pipeline: every UPSERT created", all(x == 1 for x in res[:n]))
    # even ids i have city dalat and purchases i: COUNT purchases < i = ceil(i/2)
    bad = [i for i in range(n) if res[n + i] != (i + 1) // 2]
    check("pipeline: every COUNT correct", not bad, "first bad: %r" % bad[:3])
    r.close()


def test_auth(extra_abuse=True):
    srv = Server("--requirepass", "bí mật", "--maxclients", "10", "--slowlog-log-slower-than", "0",
                 "--client-output-buffer-limit", "1mb")
    got = exchange(srv, b"PING\r\n")
    check("NOAUTH before AUTH", got == b"-NOAUTH Authentication required.\r\n", repr(got))
    got = exchange(srv, b"COUNT\r\n")
    check("NOAUTH for reads", got == b"-NOAUTH Authentication required.\r\n", repr(got))
    got = exchange(srv, b"AUTH wrong\r\n")
    check("wrong password", got.startswith(b"-WRONGPASS"), repr(got))
    s = conn(srv)
    s.sendall('AUTH "bí mật"\r\nPING\r\nAUTH default "bí mật"\r\n'.encode())
    got = recv_until(s, b"+PONG\r\n+OK\r\n")
    check("AUTH then PING", got == b"+OK\r\n+PONG\r\n+OK\r\n", repr(got))
    s.close()
    r = redis.Redis(port=srv.port, password="bí mật", socket_timeout=5)
    check("redis-py with a password", r.ping() is True)
    check("redis-cli -a", cli(srv, "PING", password="bí mật") == "PONG")
    check("HELLO 2 AUTH", b"segdb" in exchange(srv, 'HELLO 2 AUTH default "bí mật"\r\n'.encode(), b"modules"))
    # CVE-2021-32675: large declared sizes before AUTH are refused at once
    s = conn(srv)
    s.sendall(b"*100000\r\n")
    data, closed = recv_all(s)
    check("unauthenticated *100000 -> LIMIT and close", data.startswith(b"-LIMIT") and closed, repr(data))
    s.close()
    s = conn(srv)
    s.sendall(b"*2\r\n$4\r\nAUTH\r\n$1000000\r\n")
    data, closed = recv_all(s)
    check("unauthenticated $1000000 -> LIMIT and close", data.startswith(b"-LIMIT") and closed, repr(data))
    s.close()
    s = conn(srv)
    s.sendall(b"A" * 20000)
    data, closed = recv_all(s)
    check("unauthenticated long inline line -> LIMIT and close", data.startswith(b"-LIMIT") and closed,
          repr(data[:80]))
    s.close()
    # the same sizes are fine after AUTH
    s = conn(srv)
    s.sendall('AUTH "bí mật"\r\n*2\r\n$4\r\nECHO\r\n$100000\r\n'.encode() + b"x" * 100000 + b"\r\n")
    data = recv_until(s, b"x\r\n")
    check("large bulk after AUTH", data.startswith(b"+OK\r\n$100000\r\n") and len(data) == 5 + 9 + 100000 + 2,
          repr(data[:40]))
    s.close()
    # SLOWLOG with threshold 0 has entries, but never the password
    log = r.execute_command("SLOWLOG", "GET", "-1")
    check("SLOWLOG records commands", len(log) > 0 and len(log[0]) == 6)
    check("SLOWLOG never holds AUTH", not any(e[3] and e[3][0].upper() in (b"AUTH", b"HELLO") for e in log))
    check("SLOWLOG GET 1", len(r.execute_command("SLOWLOG", "GET", "1")) == 1)
    # maxclients
    time.sleep(0.3)  # let the server notice the connections closed above
    held = [conn(srv) for _ in range(9)]  # r holds one connection already
    for h in held:
        h.sendall('AUTH "bí mật"\r\n'.encode())
        recv_until(h, b"\r\n")
    s = conn(srv)
    data, closed = recv_all(s)
    check("maxclients -> error then close", data == b"-ERR max number of clients reached\r\n" and closed,
          repr(data))
    s.close()
    for h in held:
        h.close()
    time.sleep(0.3)
    check("rejected_connections counted", r.info("stats")["rejected_connections"] >= 1)
    # output buffer limit: a client that never reads its replies is dropped
    s = conn(srv, timeout=10)
    s.sendall('AUTH "bí mật"\r\n'.encode())
    recv_until(s, b"\r\n")
    payload = b"*2\r\n$4\r\nECHO\r\n$1048576\r\n" + b"z" * 1048576 + b"\r\n"
    sent = 0
    try:
        for _ in range(64):
            s.sendall(payload)
            sent += 1
    except OSError:
        pass
    data, closed = recv_all(s, timeout=10)
    check("client over the output buffer limit is disconnected",
          closed and len(data) < 64 * 1048576, "sent=%d got=%d closed=%s" % (sent, len(data), closed))
    s.close()
    check("server logs the output-limit disconnect", "output buffer" in srv.logtext())
    check("server still serves after the output limit", r.ping() is True)
    r.close()
    rc = srv.stop(signal.SIGTERM)
    check("SIGTERM exits 0", rc == 0, "rc=%r" % rc)


def abuse_round(srv, rnd):
    # malformed RESP -> -ERR Protocol error, then close
    for payload, want in ((b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
                          (b"*1\r\n$-3\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
                          (b"*2\r\n$4\r\nPING\r\n:12\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
                          (b"*1\r\n$4\r\nPINGxx", b"-ERR Protocol error: expected CRLF after a bulk of 4 bytes\r\n")):
        s = conn(srv)
        s.sendall(payload)
        data, closed = recv_all(s)
        check("malformed %r -> error and close" % payload[:12], data == want and closed, repr(data))
        s.close()
    # huge declared lengths -> -LIMIT before allocating, then close
    for payload in (b"*4294967295\r\n", b"*1\r\n$9999999999\r\n", b"*1\r\n$99999999999999999999999999\r\n"):
        s = conn(srv)
        s.sendall(payload)
        data, closed = recv_all(s)
        check("huge length %r -> LIMIT and close" % payload, data.startswith(b"-LIMIT ") and closed, repr(data))
        s.close()
    # binary garbage: some reply or a close, and the server lives on
    g = random.Random(rnd)
    for _ in range(5):
        s = conn(srv)
        try:
            s.sendall(bytes(g.randrange(256) for _ in range(4096)) + b"\r\n")
            recv_until(s, b"\r\n", timeout=2)
        except OSError:
            pass
        s.close()
    # a client that disconnects mid-request: nothing is applied
    s = conn(srv)
    s.sendall(b"*5\r\n$6\r\nUPSERT\r\n$6\r\n777777\r\n$4\r\ncity\r\n$5\r\nHu")
    s.close()
    s = conn(srv)
    s.sendall(b"*2\r\n$4\r\nECHO\r\n$10000000\r\n" + b"y" * 3000000)
    s.close()
    # unbalanced quotes keep the connection
    s = conn(srv)
    s.sendall(b"ECHO 'abc\r\nPING\r\n")
    got = recv_until(s, b"+PONG\r\n")
    check("unbalanced quotes then PING on the same connection",
          got == b"-ERR Protocol error: unbalanced quotes in request\r\n+PONG\r\n", repr(got))
    s.close()
    check("half-sent UPSERT was not applied", exchange(srv, b"GET 777777\r\n") == b"$-1\r\n")
    check("server alive after abuse round %d" % rnd, exchange(srv, b"PING\r\n") == b"+PONG\r\n")


def test_abuse_and_memory(srv):
    abuse_round(srv, 0)
    abuse_round(srv, 1)
    time.sleep(0.3)
    before = srv.rss_kib()
    for rnd in range(2, 8):
        abuse_round(srv, rnd)
    time.sleep(0.3)
    after = srv.rss_kib()
    if os.environ.get("SEGDB_IT_VERBOSE"):
        print("RSS before/after abuse rounds: %d / %d KiB" % (before, after))
    check("RSS does not grow across abuse rounds (< 8 MiB)", after - before < 8 * 1024,
          "before=%d KiB after=%d KiB" % (before, after))


def test_concurrent(srv, n=1000):
    socks = []
    errors = 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            socks.append(s)
        except OSError:
            errors += 1
    for s in socks:
        try:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
        except OSError:
            errors += 1
    pong = other = dropped = 0
    for s in socks:
        data = recv_until(s, b"\r\n", timeout=10)
        if data == b"+PONG\r\n":
            pong += 1
        elif data.startswith(b"-"):
            other += 1
        else:
            dropped += 1
        s.close()
    check("1,000 concurrent clients each get a reply, an error or a close",
          pong + other + dropped + errors >= n, "pong=%d err=%d dropped=%d" % (pong, other, dropped))
    check("1,000 concurrent clients: all PONG under the default maxclients", pong == n,
          "pong=%d err=%d dropped=%d connect-errors=%d" % (pong, other, dropped, errors))
    check("server serves others after 1,000 clients", exchange(srv, b"PING\r\n") == b"+PONG\r\n")


def test_shutdown():
    srv = Server()
    check("SHUTDOWN closes the connection without a reply", exchange(srv, b"SHUTDOWN\r\n") == b"")
    try:
        rc = srv.proc.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    check("SHUTDOWN exits 0", rc == 0, "rc=%r" % rc)
    check("listener closed after SHUTDOWN", srv.proc.poll() is not None)

    srv = Server()
    check("SHUTDOWN with a wrong argument is refused and the server stays",
          exchange(srv, b"SHUTDOWN LATER\r\n").startswith(b"-ERR SHUTDOWN takes NOSAVE or SAVE")
          and exchange(srv, b"PING\r\n") == b"+PONG\r\n")
    exchange(srv, b"UPSERT 7 city Hue\r\n")
    check("SHUTDOWN SAVE closes without a reply", exchange(srv, b"SHUTDOWN SAVE\r\n") == b"")
    try:
        rc = srv.proc.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    snaps = [f for f in os.listdir(os.path.join(srv.dir, "data")) if f.startswith("snapshot-") and f.endswith(".sdb")]
    check("SHUTDOWN SAVE exits 0 after a snapshot holding the write",
          rc == 0 and any(int(f[len("snapshot-"):-len(".sdb")]) >= 1 for f in snaps), "rc=%r %r" % (rc, snaps))


def test_startup_options():
    r = subprocess.run([SERVER, "--help"], capture_output=True, timeout=10)
    out = r.stdout.decode()
    check("--help lists options", r.returncode == 0 and all(
        "--" + o in out for o in ("bind", "port", "dir", "requirepass", "maxclients", "appendfsync",
                                  "dont-forget-days", "protected-mode", "repair", "config")))
    r = subprocess.run([SERVER, "--bind", "0.0.0.0", "--port", str(free_port())], capture_output=True,
                       timeout=10)
    check("non-loopback bind without a password is refused",
          r.returncode != 0 and b"protected mode" in r.stderr, repr(r.stderr))
    r = subprocess.run([SERVER, "--port", "notaport"], capture_output=True, timeout=10)
    check("bad option value is refused", r.returncode != 0 and b"port" in r.stderr)
    d = tempfile.mkdtemp(prefix="segdb-it-conf-")
    try:
        port = free_port()
        conf = os.path.join(d, "segdb.conf")
        with open(conf, "w") as f:
            f.write("# test config\nport %d\nmaxclients 77\nslowlog-max-len 5\n" % port)
        srv = Server("--config", conf)
        check("config file and command line: command line wins", srv.port != port and
              cli(srv, "CONFIG", "GET", "maxclients").split("\n") == ["maxclients", "77"])
        check("INFO config_file", "config_file:" + os.path.realpath(conf) in cli(srv, "INFO", "server"))
        srv.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_huge_pages():
    """--huge-pages yes: the server runs itself again with glibc's hugetlb
    tunable (when the kernel has THP on), and works: writes, counts, BGSAVE."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            thp_on = "[never]" not in f.read()
    except OSError:
        thp_on = False
    plain = Server()
    with open("/proc/%d/environ" % plain.proc.pid, "rb") as f:
        check("huge-pages defaults to no: no hugetlb tunable", b"glibc.malloc.hugetlb" not in f.read())
    plain.stop()
    srv = Server("--huge-pages", "yes")
    with open("/proc/%d/environ" % srv.proc.pid, "rb") as f:
        env = f.read()
    check("--huge-pages yes runs with glibc.malloc.hugetlb=1 when THP is on",
          (b"glibc.malloc.hugetlb=1" in env) == thp_on, "thp_on=%r" % thp_on)
    s = conn(srv)
    s.sendall(b"".join(b"UPSERT %d city Hue tags vip\r\n" % i for i in range(1, 20001)))
    got, deadline = b"", time.time() + 60
    while got.count(b"\r\n") < 20000 and time.time() < deadline:
        more = recv_until(s, b"\r\n", timeout=5)
        if not more:
            break
        got += more
    s.close()
    check("huge pages: 20,000 pipelined UPSERTs answered", got.count(b":1\r\n") == 20000)
    check("huge pages: COUNT sees them", cli(srv, "COUNT", "WHERE", "city:hue AND tag:vip") == "20000")
    cli(srv, "BGSAVE")
    deadline = time.time() + 30
    while time.time() < deadline and "bgsave_in_progress:1" in cli(srv, "INFO", "persistence"):
        time.sleep(0.05)
    info = cli(srv, "INFO", "persistence")
    check("huge pages: BGSAVE completes", "bgsave_in_progress:0" in info and
          "last_bgsave_status:ok" in info and "saves:1" in info, info)
    check("huge pages: SIGTERM exits 0", srv.stop() == 0)


def timed(fn, *args):
    t0 = time.time()
    fn(*args)
    if os.environ.get("SEGDB_IT_VERBOSE"):
        print("%-24s %.2fs" % (fn.__name__, time.time() - t0), flush=True)


def main():
    if not SERVER or not os.access(SERVER, os.X_OK):
        print("usage: test_server.py PATH/TO/segdb-server", file=sys.stderr)
        return 2
    try:
        srv = Server()
        timed(test_inline, srv)
        timed(test_cli_round_trips, srv)
        timed(test_pipeline, srv)
        timed(test_abuse_and_memory, srv)
        timed(test_concurrent, srv)
        check("main server alive at the end", srv.alive())
        rc = srv.stop(signal.SIGTERM)
        check("SIGTERM: clean exit 0", rc == 0, "rc=%r log=%s" % (rc, srv.logtext()[-2000:]))
        timed(test_auth)
        timed(test_shutdown)
        timed(test_startup_options)
        timed(test_huge_pages)
    except Exception as e:  # a crash of the harness is a failure, never a pass
        import traceback
        traceback.print_exc()
        check("harness ran to the end", False, repr(e))
    finally:
        for s in SERVERS:
            if s.proc.poll() is None or FAILED:
                pass
            if FAILED and s.proc.poll() is not None and s.proc.returncode not in (0, None):
                print("--- server log (port %d) ---\n%s" % (s.port, s.logtext()[-4000:]))
            s.cleanup()
    print("integration: %d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

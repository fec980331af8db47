#!/usr/bin/python3
"""
crash_test.py — kill -9 a real segdb-server under write load, restart it, and
check that nothing acknowledged was lost and nothing was half-applied.

Usage: /usr/bin/python3 tests/integration/crash_test.py PATH/TO/segdb-server [--rounds N] [--seed S]
(`make test` runs a few rounds; `make test-crash ROUNDS=100` many.)

Every round, on one data directory kept across rounds:
  1. start the server on a free loopback port with --appendfsync always, small
     log segments and frequent automatic snapshots (--snapshot-changes), so
     kills land in rotations, BGSAVE children and log removal too;
  2. several client threads (redis-py) write: UPSERTs of new contacts with
     unique values (name, city, source: three fields, so a half-applied
     UPSERT shows), and, when the server has TAG (checked with COMMAND), a
     TAG ... WHERE over a batch of contacts the same thread wrote and had
     acknowledged (a bulk write with an exactly known effect); one more
     thread IMPORTs blocks of 300 new contacts as CSV (one log record each,
     all or nothing; the engine applies a block column by column when its
     ids are above every id written before it, row by row otherwise);
  3. at a random moment (in some rounds right after a BGSAVE) the server is
     killed with SIGKILL;
  4. it is restarted on the same directory; the test then checks every
     UPSERT and TAG acknowledged in this round (and a sample of older ones):
     present with all its fields / its whole batch; every unacknowledged one
     is all there or not at all; COUNT agrees; DEBUG VERIFY is +OK.
At the end every acknowledged write of every round is checked once more, the
directory is stopped cleanly and segdb-check must find it sound; then a byte
in the middle of the log is damaged: the start must refuse naming file and
offset, segdb-check must report it and --repair cut it, and the start work.
Prints "crash: ... lost=L half=H" and exits 1 when anything is lost or half
applied or the server fails to restart. Bounded: timeouts on every socket and
wait, every started server is killed in a finally block.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import redis

THREADS = 6
BATCH = 20          # contacts per TAG batch
IMPORT_ROWS = 300   # contacts per IMPORT
START_TIMEOUT = 60.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, exe, datadir, logpath, extra):
        self.port = free_port()
        self.log = open(logpath, "a")
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = "detect_leaks=0:" + env.get("ASAN_OPTIONS", "")
        self.proc = subprocess.Popen(
            [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", datadir,
             "--appendfsync", "always"] + extra,
            stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                s.settimeout(2)
                s.sendall(b"PING\r\n")
                ok = s.recv(16).startswith(b"+PONG")
                s.close()
                if ok:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def client(self, timeout=10.0):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout,
                           socket_connect_timeout=timeout, decode_responses=True)

    def kill9(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode


class State:
    """Everything written, and what the server acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.next_id = 1
        self.acked = {}        # id -> (name, city, source)
        self.unacked = {}      # id -> values: sent, no reply (the kill came first)
        self.tags_acked = {}   # tag -> batch size
        self.tags_unacked = {}

    def new_id(self):
        with self.lock:
            i = self.next_id
            self.next_id += 1
            return i


def values(i, rnd):
    return ("n%d-%x" % (i, (i * 2654435761) & 0xffffff), "r%d" % rnd, "s%d" % (i % 13))


def writer(srv, st, rnd, tno, use_tag, stop, counters):
    try:
        r = srv.client()
    except Exception:
        return
    batch = []
    bno = 0
    while not stop.is_set():
        i = st.new_id()
        name, city, source = values(i, rnd)
        chan = "b%dx%dx%d" % (rnd, tno, bno)
        try:
            rep = r.execute_command("UPSERT", i, "name", name, "city", city, "source", source,
                                    "channel", chan)
        except redis.exceptions.ResponseError as e:
            # -READONLY would be a disk problem: not expected here
            with st.lock:
                st.unacked[i] = (name, city, source)
            counters["errors"] += 1
            counters["last_error"] = str(e)
            return
        except Exception:
            with st.lock:
                st.unacked[i] = (name, city, source)
            return
        if rep != 1:
            counters["errors"] += 1
            counters["last_error"] = "UPSERT %d replied %r" % (i, rep)
            return
        with st.lock:
            st.acked[i] = (name, city, source)
        counters["upserts"] += 1
        batch.append(i)
        if use_tag and len(batch) == BATCH:
            tag = "tg%dx%dx%d" % (rnd, tno, bno)
            try:
                n = r.execute_command("TAG", tag, "WHERE", "channel:%s" % chan)
            except Exception:
                with st.lock:
                    st.tags_unacked[tag] = BATCH
                return
            with st.lock:
                if n == BATCH:
                    st.tags_acked[tag] = BATCH
                else:
                    counters["errors"] += 1
                    counters["last_error"] = "TAG %s changed %r, expected %d" % (tag, n, BATCH)
            counters["tags"] += 1
            batch = []
            bno += 1
        elif not use_tag and len(batch) == BATCH:
            batch = []
            bno += 1


def importer(srv, st, rnd, stop, counters):
    """IMPORT blocks of new contacts (same values as UPSERT's) until stopped."""
    try:
        r = srv.client()
    except Exception:
        return
    while not stop.is_set():
        with st.lock:
            first = st.next_id
            st.next_id += IMPORT_ROWS
        rows = {i: values(i, rnd) for i in range(first, first + IMPORT_ROWS)}
        csv = "id,name,city,source\n" + "".join("%d,%s,%s,%s\n" % ((i,) + v) for i, v in rows.items())
        try:
            rep = r.execute_command("IMPORT", csv)
        except redis.exceptions.ResponseError as e:
            with st.lock:
                st.unacked.update(rows)
            counters["errors"] += 1
            counters["last_error"] = str(e)
            return
        except Exception:
            with st.lock:
                st.unacked.update(rows)
            return
        if not isinstance(rep, list) or rep[:3] != [IMPORT_ROWS, 0, 0]:
            counters["errors"] += 1
            counters["last_error"] = "IMPORT of %d rows replied %r" % (IMPORT_ROWS, rep[:5])
            return
        with st.lock:
            st.acked.update(rows)
        counters["imports"] += 1


def get_many(r, ids):
    """GET id name city source for each id, pipelined; returns id -> tuple or None."""
    out = {}
    ids = list(ids)
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        p = r.pipeline(transaction=False)
        for i in chunk:
            p.execute_command("GET", i, "name", "city", "source")
        for i, rep in zip(chunk, p.execute()):
            if rep is None:
                out[i] = None
            else:
                d = dict(zip(rep[0::2], rep[1::2]))
                out[i] = (d.get("name"), d.get("city"), d.get("source"))
    return out


def tag_counts(r, tags):
    out = {}
    tags = list(tags)
    for k in range(0, len(tags), 200):
        chunk = tags[k:k + 200]
        p = r.pipeline(transaction=False)
        for t in chunk:
            p.execute_command("COUNT", "WHERE", "tag:%s" % t)
        for t, n in zip(chunk, p.execute()):
            out[t] = n
    return out


def verify(srv, st, acked_ids, unacked_ids, tags_acked, tags_unacked, report):
    """Returns (lost, half) and adds details to report."""
    lost = half = 0
    r = srv.client(timeout=60)
    got = get_many(r, acked_ids)
    for i in acked_ids:
        want = st.acked[i]
        have = got[i]
        if have is None:
            lost += 1
            report.append("acknowledged UPSERT %d lost" % i)
        elif have != want:
            half += 1
            report.append("acknowledged UPSERT %d is %r, wrote %r" % (i, have, want))
    got = get_many(r, unacked_ids)
    for i in unacked_ids:
        have = got[i]
        if have is not None and have != st.unacked[i]:
            half += 1
            report.append("unacknowledged UPSERT %d half applied: %r, wrote %r" % (i, have, st.unacked[i]))
    counts = tag_counts(r, list(tags_acked) + list(tags_unacked))
    for t in tags_acked:
        if counts[t] != tags_acked[t]:
            lost += 1
            report.append("acknowledged TAG %s: COUNT %d, expected %d" % (t, counts[t], tags_acked[t]))
    for t in tags_unacked:
        if counts[t] not in (0, tags_unacked[t]):
            half += 1
            report.append("unacknowledged TAG %s half applied: COUNT %d of %d" % (t, counts[t], tags_unacked[t]))
    v = r.execute_command("DEBUG", "VERIFY")
    if v not in ("OK", b"OK", True):
        half += 1
        report.append("DEBUG VERIFY: %r" % (v,))
    total = r.execute_command("COUNT")
    with st.lock:
        lo, hi = len(st.acked), len(st.acked) + len(st.unacked)
    if not lo <= total <= hi:
        lost += 1
        report.append("COUNT %d outside [%d, %d]" % (total, lo, hi))
    r.close()
    return lost, half


def damage_check(exe, check_exe, datadir, logpath, extra, servers):
    """Damage in the middle of the log: the start refuses naming file and
    offset, segdb-check reports it, segdb-check --repair cuts it, the start
    then works. Returns a list of failures."""
    fails = []
    srv = Server(exe, datadir, logpath, extra)
    servers.append(srv)
    if not srv.wait_ready():
        return ["damage check: the server did not start"]
    r = srv.client()
    base = 10 ** 12
    for k in range(10):
        r.execute_command("UPSERT", base + k, "name", "damage%d" % k)
    last = int(r.info("persistence")["wal_last_seq"])
    r.close()
    if srv.stop() != 0:
        fails.append("damage check: SIGTERM exit status %r" % srv.proc.returncode)
    segs = sorted(f for f in os.listdir(datadir) if f.startswith("wal-") and f.endswith(".log"))
    seg = os.path.join(datadir, segs[-1])
    dump = subprocess.run([check_exe, "--dump", seg], capture_output=True, timeout=60).stdout.decode()
    # The 10 writes may straddle a segment boundary (the start after a crash
    # opens a new segment): damage the earliest of them in the last segment
    # that still has valid records after it.
    offsets = {}
    for line in dump.splitlines():
        w = line.split()
        if len(w) > 3 and w[0] == "seq" and w[2] == "offset":
            offsets[int(w[1])] = int(w[3])
    target = next((q for q in range(last - 9, last) if q in offsets), None)
    if target is None:
        return fails + ["damage check: none of records %d..%d found in segdb-check --dump of %s"
                        % (last - 9, last - 1, seg)]
    off = offsets[target]
    after = last - target
    with open(seg, "r+b") as f:
        f.seek(off + 30)
        b = f.read(1)
        f.seek(off + 30)
        f.write(bytes([b[0] ^ 0x5A]))
    p = subprocess.run([exe, "--port", str(free_port()), "--dir", datadir], capture_output=True, timeout=60)
    err = p.stderr.decode(errors="replace")
    if p.returncode == 0 or "corrupt log at offset %d" % off not in err or segs[-1] not in err:
        fails.append("damage check: the start did not refuse naming file and offset %d (exit %d): %s"
                     % (off, p.returncode, err[-600:]))
    c = subprocess.run([check_exe, datadir], capture_output=True, timeout=120)
    out = c.stdout.decode(errors="replace")
    if c.returncode != 1 or "DAMAGE IN THE MIDDLE" not in out or "%d valid record(s)" % after not in out:
        fails.append("damage check: segdb-check exit %d:\n%s" % (c.returncode, out[-1500:]))
    c = subprocess.run([check_exe, "--repair", datadir], capture_output=True, timeout=120)
    out = c.stdout.decode(errors="replace")
    if c.returncode != 0 or "repaired:" not in out or "lost %d valid record(s)" % after not in out:
        fails.append("damage check: segdb-check --repair exit %d:\n%s" % (c.returncode, out[-1500:]))
    srv = Server(exe, datadir, logpath, extra)
    servers.append(srv)
    if not srv.wait_ready():
        return fails + ["damage check: the server did not start after the repair"]
    r = srv.client()
    if r.execute_command("DEBUG", "VERIFY") not in ("OK", True):
        fails.append("damage check: DEBUG VERIFY after the repair")
    if r.execute_command("GET", base + 9, "name") is not None:
        fails.append("damage check: a record after the cut survived")
    r.close()
    srv.stop()
    if not fails:
        print("damage check: a byte flipped at %s offset %d: the start refused naming it, segdb-check "
              "reported it, --repair cut it (%d records lost, as said), the start then worked"
              % (segs[-1], off, after), flush=True)
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-write-seconds", type=float, default=1.2)
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    a = ap.parse_args()
    exe = os.path.abspath(a.server)
    if os.path.isdir(exe):
        exe = os.path.join(exe, "segdb-server")
    check_exe = os.path.join(os.path.dirname(exe), "segdb-check")
    seed = a.seed if a.seed is not None else int(time.time())
    rng = random.Random(seed)
    top = tempfile.mkdtemp(prefix="segdb-crash-")
    datadir = os.path.join(top, "data")
    logpath = os.path.join(top, "server.log")
    extra = ["--wal-segment-bytes", "65536", "--snapshot-changes", "700"]
    st = State()
    servers = []
    t0 = time.time()
    lost = half = 0
    restarts = bgsave_kills = killed_in_bgsave = 0
    log_pos = 0
    failures = []
    use_tag = use_import = False
    try:
        srv = Server(exe, datadir, logpath, extra)
        servers.append(srv)
        if not srv.wait_ready():
            raise RuntimeError("the server did not start")
        r = srv.client()
        cmds = r.execute_command("COMMAND")
        if isinstance(cmds, dict):  # redis-py parses COMMAND into {name: info}
            names = {str(k).lower() for k in cmds}
        else:
            names = {(c[0] if isinstance(c[0], str) else c[0].decode()).lower() for c in cmds}
        use_tag = "tag" in names
        use_import = "import" in names
        r.close()
        for rnd in range(1, a.rounds + 1):
            before_acked = set(st.acked)
            before_unacked = set(st.unacked)
            before_tags = set(st.tags_acked)
            before_tags_un = set(st.tags_unacked)
            stop = threading.Event()
            counters = {"upserts": 0, "tags": 0, "imports": 0, "errors": 0, "last_error": ""}
            ths = [threading.Thread(target=writer, args=(srv, st, rnd, t, use_tag, stop, counters),
                                    daemon=True) for t in range(THREADS)]
            if use_import:
                ths.append(threading.Thread(target=importer, args=(srv, st, rnd, stop, counters), daemon=True))
            for t in ths:
                t.start()
            time.sleep(rng.uniform(0.05, a.max_write_seconds))
            if rng.random() < 0.35:
                try:
                    c = srv.client(timeout=5)
                    c.execute_command("BGSAVE")
                    c.close()
                    bgsave_kills += 1
                except Exception:
                    pass
                time.sleep(rng.uniform(0.0, 0.03))
            srv.kill9()
            stop.set()
            with open(logpath, errors="replace") as f:
                f.seek(log_pos)
                text = f.read()
                log_pos = f.tell()
            started = text.rfind("background save started")
            if started >= 0 and text.rfind("BGSAVE: snapshot-") < started and \
                    text.rfind("background save failed") < started:
                killed_in_bgsave += 1
            for t in ths:
                t.join(30)
            if counters["errors"]:
                failures.append("round %d: %d unexpected replies, e.g. %s" %
                                (rnd, counters["errors"], counters["last_error"]))
            srv = Server(exe, datadir, logpath, extra)
            servers.append(srv)
            restarts += 1
            if not srv.wait_ready():
                with open(logpath) as f:
                    tail = f.read()[-3000:]
                raise RuntimeError("round %d: the server did not restart:\n%s" % (rnd, tail))
            with st.lock:
                new_acked = sorted(set(st.acked) - before_acked)
                new_unacked = sorted(set(st.unacked) - before_unacked)
                old = sorted(before_acked)
                new_tags = {t: st.tags_acked[t] for t in set(st.tags_acked) - before_tags}
                new_tags_un = {t: st.tags_unacked[t] for t in set(st.tags_unacked) - before_tags_un}
            sample = rng.sample(old, min(len(old), 300))
            report = []
            l, h = verify(srv, st, new_acked + sample, new_unacked, new_tags, new_tags_un, report)
            lost += l
            half += h
            failures += ["round %d: %s" % (rnd, x) for x in report[:20]]
            print("round %3d: %5d upserts or imported rows (%d IMPORTs) %3d tags acknowledged, %d unacknowledged "
                  "in flight, lost %d, half %d" % (rnd, len(new_acked), counters["imports"], len(new_tags),
                                                   len(new_unacked) + len(new_tags_un), l, h), flush=True)
        # everything, once more
        report = []
        with st.lock:
            all_acked = sorted(st.acked)
            all_unacked = sorted(st.unacked)
            tags = dict(st.tags_acked)
            tags_un = dict(st.tags_unacked)
        l, h = verify(srv, st, all_acked, all_unacked, tags, tags_un, report)
        lost += l
        half += h
        failures += ["final: %s" % x for x in report[:20]]
        # a clean stop, then segdb-check agrees the directory is sound
        rc = srv.stop()
        if rc != 0:
            failures.append("SIGTERM exit status %r" % rc)
        if os.path.exists(check_exe):
            chk = subprocess.run([check_exe, datadir], capture_output=True, timeout=120)
            if chk.returncode != 0:
                failures.append("segdb-check after a clean stop: exit %d\n%s" %
                                (chk.returncode, chk.stdout.decode(errors="replace")[-2000:]))
            failures += damage_check(exe, check_exe, datadir, logpath, extra, servers)
    except Exception as e:  # noqa: BLE001 — report and fail, whatever it was
        failures.append("error: %s" % e)
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.proc.kill()
                try:
                    s.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        if not a.keep and not failures:
            shutil.rmtree(top, ignore_errors=True)
    for f in failures[:40]:
        print("FAIL: " + f)
    ok = not failures and lost == 0 and half == 0
    print("crash: %d rounds (seed %d), %d restarts (%d kills right after a BGSAVE command, %d while a "
          "snapshot child was writing), %d acknowledged upserts, "
          "%d acknowledged tags%s, %d unacknowledged in flight, lost=%d half=%d, %.1fs%s"
          % (a.rounds, seed, restarts, bgsave_kills, killed_in_bgsave, len(st.acked), len(st.tags_acked),
             "" if use_tag else " (no TAG command in this build)", len(st.unacked) + len(st.tags_unacked),
             lost, half, time.time() - t0, "" if ok else "  (data kept in %s)" % top))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

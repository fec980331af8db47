#!/usr/bin/python3
"""
test_campaign.py — end-to-end tests of segdb's campaign commands against the
real segdb-server binary.

Usage: /usr/bin/python3 tests/integration/test_campaign.py BUILD_DIR|PATH/TO/segdb-server [PIDFILE]
(run.sh runs it after test_server.py). Starts the server on a free loopback
port with a temporary --dir (the helpers of test_server.py), loads 300
Vietnamese contacts and checks every campaign command against a model kept
here in Python: TAG, UNTAG, SET, ARCHIVE, UNARCHIVE, SPLIT (parts, PERCENT,
RANDOM, BY, SAVE), FACET, OVERLAP (the `|` as its own argument, inside one
argument, inline), REACH, SEGMENT.*, GROUP.* (Vietnamese names), NOTE.*;
errors and their code words through redis-cli; that the campaign state
survives a restart (log replay); and a few commands through
segdb-cli --embedded. Prints "campaign: N passed, M failed" and exits
non-zero on any failure.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_server as ts  # noqa: E402  (Server, free_port, cli, recv_until)

PASSED = 0
FAILED = 0

CITIES = ["Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Huế", "Cần Thơ"]
FOLDED = {"Hà Nội": "hanoi", "Hồ Chí Minh": "hochiminh", "Đà Nẵng": "danang", "Huế": "hue",
          "Cần Thơ": "cantho"}
N = 300


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print("FAIL: %s %s" % (name, detail), flush=True)


def client(port):
    """redis-py on port, with Redis' own SET reply callback removed: segdb's
    SET replies [changed, rejected], not +OK."""
    r = redis.Redis(port=port, socket_timeout=30)
    r.set_response_callback("SET", lambda response, **options: response)
    return r


def error_of(r, *args):
    """The error text of a command that must fail (None when it succeeded)."""
    try:
        r.execute_command(*args)
    except redis.ResponseError as e:
        return str(e)
    return None


class Contact:
    def __init__(self, i):
        self.id = i
        self.city = CITIES[i % 5]
        self.email = "k%d@example.vn" % i if i % 3 == 0 else None
        self.phone = "09%08d" % (i * 37) if i % 4 == 0 else None
        self.whatsapp = i % 8 == 0
        self.hmac = i % 10 == 0
        self.created = 1700000000 + ((i * 7919) % N) * 60
        self.status = "subscribed" if i % 2 == 0 else "never_subscribed"
        self.tags = set()
        self.archived = False
        self.relationship = "new"


def load(r, model):
    p = r.pipeline(transaction=False)
    for c in model.values():
        args = ["UPSERT", c.id, "name", "Nguyễn Văn %d" % c.id, "city", c.city, "created_at", c.created]
        if c.email:
            args += ["email", c.email]
        if c.phone:
            args += ["phone", c.phone]
        if c.whatsapp:
            args += ["whatsapp", "yes"]
        if c.hmac:
            args += ["hmac_verified", "yes"]
        if c.status == "subscribed":
            args += ["status", "subscribed"]
        p.execute_command(*args)
    res = p.execute()
    check("load: %d contacts created" % N, res == [1] * N, repr(res[:5]))


def live(model):
    return [c for c in model.values() if not c.archived]


def ids_of(reply):
    return sorted(int(x) for x in reply)


# ---------------------------------------------------------------------------

def test_bulk_writes(srv, r, model):
    hanoi = [c for c in live(model) if c.city == "Hà Nội"]
    got = r.execute_command("TAG", "vip", "WHERE", 'city:"ha noi"')
    check("TAG WHERE replies the contacts changed", got == len(hanoi), repr(got))
    for c in hanoi:
        c.tags.add("vip")
    want = sum(1 for i in (1, 2, 3) if "vip" not in model[i].tags)
    got = r.execute_command("TAG", "VIP", "ID", 1, 2, 3)
    check("TAG ID (case-insensitive tag)", got == want, repr(got))
    for i in (1, 2, 3):
        model[i].tags.add("vip")
    check("TAG again changes nothing", r.execute_command("TAG", "vip", "ID", 1, 2, 3) == 0)
    check("UNTAG ID", r.execute_command("UNTAG", "vip", "ID", 1, 999999) == 1)
    model[1].tags.discard("vip")
    vip = [c for c in live(model) if "vip" in c.tags]
    check("COUNT WHERE tag:vip follows", r.execute_command("COUNT", "WHERE", "tag:vip") == len(vip))
    # TAG with the filter's words as separate arguments, joined by spaces
    want = sum(1 for c in live(model) if c.city == "Huế" and c.email)
    got = r.execute_command("TAG", "Khách quen", "WHERE", "city:hue", "AND", "has:email")
    check("TAG with a Vietnamese tag and a multi-word WHERE", got == want, repr(got))
    for c in live(model):
        if c.city == "Huế" and c.email:
            c.tags.add("khachquen")
    check("tag:khachquen folds the tag name",
          r.execute_command("COUNT", "WHERE", "tag:khachquen") == want)

    # SET: relationship on every vip; status follows SPEC 4.2
    got = r.execute_command("SET", "relationship", "hot", "WHERE", "tag:vip")
    check("SET replies [changed, rejected]", got == [len(vip), 0], repr(got))
    for c in vip:
        c.relationship = "hot"
    moved = sum(1 for c in vip if c.status == "subscribed")
    refused = sum(1 for c in vip if c.status == "never_subscribed")
    got = r.execute_command("SET", "status", "unsubscribed", "WHERE", "tag:vip")
    check("SET status: never_subscribed contacts are rejected", got == [moved, refused], repr(got))
    for c in vip:
        if c.status == "subscribed":
            c.status = "unsubscribed"

    # ARCHIVE / UNARCHIVE
    cantho = [c for c in live(model) if c.city == "Cần Thơ"]
    got = r.execute_command("ARCHIVE", "WHERE", "city:cantho")
    check("ARCHIVE WHERE", got == len(cantho), repr(got))
    for c in cantho:
        c.archived = True
    check("archived contacts leave the universe", r.execute_command("COUNT") == N - len(cantho))
    check("TAG skips archived contacts", r.execute_command("TAG", "x", "WHERE", "archived:yes") == 0)
    got = r.execute_command("SET", "city", "Huế", "WHERE", "archived:yes")
    check("SET counts archived contacts as rejected", got == [0, len(cantho)], repr(got))
    check("GROUP.ADD/NOTE.ADD refuse archived: NOTE.ADD is an error",
          "archived" in (error_of(r, "NOTE.ADD", cantho[0].id, "x") or ""))
    got = r.execute_command("UNARCHIVE", "WHERE", "city:cantho")
    check("UNARCHIVE WHERE reaches archived contacts", got == len(cantho), repr(got))
    for c in cantho:
        c.archived = False
    check("UNARCHIVE again changes nothing", r.execute_command("UNARCHIVE", "ID", cantho[0].id) == 0)

    # through redis-cli: replies and error code words
    check("redis-cli TAG ID", ts.cli(srv, "TAG", "cli", "ID", 10, 20, 30) == "3")
    check("redis-cli SET shows two integers",
          ts.cli(srv, "SET", "relationship", "won", "ID", 10, 20).split() == ["2", "0"])
    model[10].relationship = model[20].relationship = "won"
    check("redis-cli id 0", ts.cli(srv, "TAG", "x", "ID", 0) == "ERR invalid id '0': ids start at 1")
    check("redis-cli signed id", ts.cli(srv, "TAG", "x", "ID", "-5").startswith("ERR invalid id '-5': ids have no sign"))
    check("redis-cli hex id", ts.cli(srv, "UNTAG", "x", "ID", "0x10") ==
          "ERR invalid id '0x10': ids are decimal, not hexadecimal")
    check("redis-cli id over 2^64-1", ts.cli(srv, "ARCHIVE", "ID", "18446744073709551616").startswith(
        "ERR invalid id '18446744073709551616': larger than"))
    check("redis-cli missing target", ts.cli(srv, "TAG", "x", "1", "2").startswith(
        "ERR syntax error: TAG needs a target"))
    check("redis-cli bad tag name", ts.cli(srv, "TAG", "a,b", "ID", 1) == "ERR tag name contains ',': 'a,b'")
    check("redis-cli SET unknown field names FIELD.CREATE",
          "FIELD.CREATE" in ts.cli(srv, "SET", "shoe_size", "42", "ID", 1))
    check("redis-cli SET purchases abc is WRONGTYPE",
          ts.cli(srv, "SET", "purchases", "abc", "ID", 1).startswith("WRONGTYPE"))
    err = error_of(r, "TAG", b"\xff\xfe", "ID", 1)
    check("TAG with an invalid UTF-8 name is an error", err and "UTF-8" in err, repr(err))
    err = error_of(r, "TAG", b"a\x00b", "ID", 1)
    check("TAG with a NUL in the name is an error", err and "NUL" in err, repr(err))


def test_split(srv, r, model):
    hcm = sorted(c.id for c in live(model) if c.city == "Hồ Chí Minh")
    n = len(hcm)
    want = [n * k // 4 - n * (k - 1) // 4 for k in range(1, 5)]
    got = r.execute_command("SPLIT", 4, "RANDOM", 42, "SAVE", "ab_", "WHERE", 'city:"Hồ Chí Minh"')
    check("SPLIT 4 RANDOM 42 SAVE replies the sizes", got == want, repr(got))
    parts = [ids_of(r.execute_command("FIND", "WHERE", "segment:ab_%d" % k)) for k in range(1, 5)]
    check("SPLIT SAVE: parts are the saved segments", [len(p) for p in parts] == want)
    union = sorted(x for p in parts for x in p)
    check("SPLIT parts are disjoint and cover the set", union == hcm)
    got = r.execute_command("SPLIT", 4, "RANDOM", 42, "SAVE", "cd_", "WHERE", "city:hochiminh")
    again = [ids_of(r.execute_command("FIND", "WHERE", "segment:cd_%d" % k)) for k in range(1, 5)]
    check("same data + same seed = same parts", again == parts)
    other = [ids_of(r.execute_command("FIND", "WHERE", "segment:ab_%d" % k)) for k in range(1, 5)]
    check("a SPLIT without SAVE changes nothing", other == parts)
    got = r.execute_command("SPLIT", "PERCENT", 10, 90, "RANDOM", 7)
    check("SPLIT PERCENT 10 90 (a holdout)", got == [N // 10, N - N // 10], repr(got))
    got = r.execute_command("SPLIT", "PERCENT", "12.5", "25")
    check("SPLIT PERCENT with decimals is exact", got == [N * 125 // 1000, N * 375 // 1000 - N * 125 // 1000],
          repr(got))
    emails = sorted((c for c in live(model) if c.email), key=lambda c: (c.created, c.id))
    m = len(emails)
    got = r.execute_command("SPLIT", 3, "BY", "created_at", "SAVE", "t_", "WHERE", "has:email")
    check("SPLIT 3 BY created_at", got == [m // 3, 2 * m // 3 - m // 3, m - 2 * m // 3], repr(got))
    first = ids_of(r.execute_command("FIND", "WHERE", "segment:t_1"))
    check("SPLIT BY created_at: part 1 holds the oldest", first == sorted(c.id for c in emails[:m // 3]))
    # rejections, with their code words, through redis-cli
    check("SPLIT 0 is ERR", ts.cli(srv, "SPLIT", 0).startswith("ERR SPLIT needs at least 1 part"))
    check("SPLIT 1001 is LIMIT", ts.cli(srv, "SPLIT", 1001) == "LIMIT SPLIT into 1001 parts; the limit is 1000")
    check("SPLIT 1000 works", len(r.execute_command("SPLIT", 1000)) == 1000)
    check("SPLIT PERCENT over 100 is ERR",
          ts.cli(srv, "SPLIT", "PERCENT", 60, 50) == "ERR percentages sum to more than 100")
    check("SPLIT PERCENT negative is ERR",
          ts.cli(srv, "SPLIT", "PERCENT", "-10", 50).startswith("ERR percentages can't be negative"))
    check("SPLIT SAVE onto existing segments is ERR",
          ts.cli(srv, "SPLIT", 2, "SAVE", "ab_").startswith("ERR segment 'ab_1' already exists"))
    check("SPLIT with an unknown option is ERR",
          ts.cli(srv, "SPLIT", 2, "SHUFFLE").startswith("ERR syntax error: unknown SPLIT option 'SHUFFLE'"))
    check("SPLIT BY an unknown field is ERR",
          ts.cli(srv, "SPLIT", 2, "BY", "nosuch").startswith("ERR unknown field 'nosuch' in BY"))


def facet_model(cs):
    counts = {}
    for c in cs:
        counts[c.city] = counts.get(c.city, 0) + 1
    items = sorted(counts.items(), key=lambda kv: (-kv[1], FOLDED[kv[0]]))
    flat = []
    for v, n in items:
        flat += [v.encode(), n]
    return flat


def test_facet_overlap_reach(srv, r, model):
    got = r.execute_command("FACET", "city")
    check("FACET city: values (bulk) and counts (integers)", got == facet_model(live(model)), repr(got))
    phones = [c for c in live(model) if c.phone]
    got = r.execute_command("FACET", "city", "TOP", 2, "WHERE", "has:phone")
    check("FACET TOP 2 WHERE", got == facet_model(phones)[:4], repr(got))
    got = r.execute_command("FACET", "relationship", "WHERE", "tag:vip")
    check("FACET relationship", got[0] == b"hot", repr(got))
    check("FACET a text field is ERR", ts.cli(srv, "FACET", "name").startswith("ERR can't FACET 'name'"))

    sets = [set(c.id for c in live(model) if "vip" in c.tags),
            set(c.id for c in live(model) if c.email),
            set(c.id for c in live(model) if c.city == "Huế")]
    want = [[len(a & b) for b in sets] for a in sets]
    got = r.execute_command("OVERLAP", "tag:vip", "|", "has:email", "|", "city:hue")
    check("OVERLAP: `|` as its own argument", got == want, repr(got))
    got = r.execute_command("OVERLAP", "tag:vip | has:email | city:hue")
    check("OVERLAP: one argument holding the `|`s", got == want, repr(got))
    out = ts.cli(srv, "OVERLAP", "tag:vip", "|", "has:email", "|", "city:hue")
    check("redis-cli OVERLAP", out.split() == [str(x) for row in want for x in row], repr(out))
    s = ts.conn(srv)
    s.sendall(b"OVERLAP tag:vip | has:email\r\n")
    got = ts.recv_until(s, b":%d\r\n" % len(sets[1]))
    s.close()
    check("inline OVERLAP", got == b"*2\r\n*2\r\n:%d\r\n:%d\r\n*2\r\n:%d\r\n:%d\r\n" % (
        want[0][0], want[0][1], want[1][0], want[1][1]), repr(got))
    check("OVERLAP with an empty filter is ERR",
          ts.cli(srv, "OVERLAP", "tag:vip", "|").startswith("ERR in filter 2:"))
    check("OVERLAP of 33 filters is LIMIT",
          ts.cli(srv, *(["OVERLAP", "tag:vip"] + ["|", "tag:vip"] * 32)).startswith("LIMIT"))

    def reach(cs):
        return [b"email", sum(1 for c in cs if c.email), b"sms", sum(1 for c in cs if c.phone),
                b"whatsapp", sum(1 for c in cs if c.phone and c.whatsapp), b"web", sum(1 for c in cs if c.hmac)]
    got = r.execute_command("REACH")
    check("REACH", got == reach(live(model)), repr(got))
    got = r.execute_command("REACH", "WHERE", "tag:vip", "OR", "city:hue")
    check("REACH WHERE", got == reach([c for c in live(model) if "vip" in c.tags or c.city == "Huế"]), repr(got))
    check("redis-cli REACH", ts.cli(srv, "REACH", "WHERE", "has:phone").split()[:4] ==
          ["email", str(sum(1 for c in phones if c.email)), "sms", str(len(phones))])


def pairs(entry):
    return {entry[i].decode(): entry[i + 1] for i in range(0, len(entry), 2)}


def test_segments(srv, r, model):
    check("SEGMENT.SAVE", r.execute_command("SEGMENT.SAVE", "hot", "WHERE", "relationship:hot") in (b"OK", "OK", True))
    vip = [c for c in live(model) if "vip" in c.tags]
    got = r.execute_command("SEGMENT.FREEZE", "vip_now", "WHERE", "tag:vip")
    check("SEGMENT.FREEZE replies the size", got == len(vip), repr(got))
    check("SET after SEGMENT.SAVE", r.execute_command("SET", "relationship", "hot", "ID", 6) == [1, 0])
    model[6].relationship = "hot"
    check("TAG after SEGMENT.FREEZE", r.execute_command("TAG", "vip", "ID", 4) == 1)
    model[4].tags.add("vip")
    check("a frozen segment stays", r.execute_command("COUNT", "WHERE", "segment:vip_now") == len(vip))
    hot = sum(1 for c in live(model) if c.relationship == "hot")
    check("a live segment follows writes", r.execute_command("COUNT", "WHERE", "segment:hot") == hot)
    lst = r.execute_command("SEGMENT.LIST")
    names = [pairs(e)["name"] for e in lst]
    check("SEGMENT.LIST in creation order",
          names == [b"ab_1", b"ab_2", b"ab_3", b"ab_4", b"cd_1", b"cd_2", b"cd_3", b"cd_4", b"t_1", b"t_2",
                    b"t_3", b"hot", b"vip_now"], repr(names))
    e = pairs(lst[-2])
    check("SEGMENT.LIST entry of a live segment",
          e["type"] == b"live" and e["definition"] == b"relationship:hot" and e["size"] is None
          and abs(e["created"] - time.time()) < 600, repr(e))
    e = pairs(r.execute_command("SEGMENT.GET", "VIP_NOW"))
    check("SEGMENT.GET of a frozen segment", e["name"] == b"vip_now" and e["type"] == b"frozen" and
          e["size"] == len(vip) and e["count"] == len(vip), repr(e))
    check("SEGMENT.DEL", r.execute_command("SEGMENT.DEL", "vip_now") in (b"OK", "OK", True))
    check("contacts stay after SEGMENT.DEL", r.execute_command("COUNT") == len(live(model)))
    check("SEGMENT.DEL of a missing segment is ERR",
          ts.cli(srv, "SEGMENT.DEL", "vip_now").startswith("ERR no segment named 'vip_now'"))
    check("SEGMENT.GET of a missing segment is ERR",
          ts.cli(srv, "SEGMENT.GET", "nope").startswith("ERR no segment named 'nope'"))
    check("SEGMENT.SAVE of a taken name is ERR",
          ts.cli(srv, "SEGMENT.SAVE", "HOT", "WHERE", "tag:x").startswith("ERR segment 'HOT' already exists"))
    check("a Vietnamese segment name is ERR",
          ts.cli(srv, "SEGMENT.SAVE", "Khách", "WHERE", "tag:x").startswith("ERR invalid segment name"))
    r.execute_command("SEGMENT.SAVE", "b", "WHERE", "tag:vip")
    r.execute_command("SEGMENT.SAVE", "a", "WHERE", "segment:b AND has:email")
    r.execute_command("SEGMENT.DEL", "b")
    out = ts.cli(srv, "SEGMENT.SAVE", "b", "WHERE", "segment:a")
    check("a segment cycle is ERR", out.startswith("ERR") and "b -> a -> b" in out, out)
    check("SEGMENT.SAVE without WHERE is ERR",
          ts.cli(srv, "SEGMENT.SAVE", "z", "FROM", "tag:x").startswith("ERR syntax error"))


def test_groups(srv, r, model):
    check("redis-cli GROUP.CREATE \"Khách VIP\" -> KHACH_VIP", ts.cli(srv, "GROUP.CREATE", "Khách VIP") == "KHACH_VIP")
    check("GROUP.CREATE with PARENT",
          r.execute_command("GROUP.CREATE", "Khách hàng Hà Nội", "PARENT", "khach_vip") == b"KHACH_HANG_HA_NOI")
    check("a taken code gets _2", r.execute_command("GROUP.CREATE", "khách-vip") == b"KHACH_VIP_2")
    check("GROUP.ADD ID", r.execute_command("GROUP.ADD", "KHACH_VIP", "ID", 1, 2, 3) == 3)
    hanoi = [c.id for c in live(model) if c.city == "Hà Nội"]
    check("GROUP.ADD WHERE", r.execute_command("GROUP.ADD", "KHACH_HANG_HA_NOI", "WHERE", "city:hanoi") == len(hanoi))
    r.execute_command("ARCHIVE", "ID", 7)
    check("GROUP.ADD skips archived contacts", r.execute_command("GROUP.ADD", "KHACH_VIP", "ID", 7, 8) == 1)
    r.execute_command("UNARCHIVE", "ID", 7)
    tree = set(hanoi) | {1, 2, 3, 8}
    check("group:CODE matches its subtree", r.execute_command("COUNT", "WHERE", "group:KHACH_VIP") == len(tree))
    got = [pairs(e) for e in r.execute_command("GROUP.LIST")]
    check("GROUP.LIST depth-first with parents",
          [(g["code"], g["name"].decode(), g["parent"], g["members"]) for g in got] ==
          [(b"KHACH_VIP", "Khách VIP", None, 4),
           (b"KHACH_HANG_HA_NOI", "Khách hàng Hà Nội", b"KHACH_VIP", len(hanoi)),
           (b"KHACH_VIP_2", "khách-vip", None, 0)], repr(got))
    check("GROUP.REMOVE", r.execute_command("GROUP.REMOVE", "KHACH_VIP", "ID", 1, 2, 99) == 2)
    check("GROUP.ADD to an unknown group is ERR",
          ts.cli(srv, "GROUP.ADD", "NOSUCH", "ID", 1).startswith("ERR no group 'NOSUCH'"))
    check("GROUP.CREATE under an unknown parent is ERR",
          ts.cli(srv, "GROUP.CREATE", "x", "PARENT", "NOSUCH").startswith("ERR no group 'NOSUCH' to be the parent"))
    err = error_of(r, "GROUP.CREATE", b"\xc3\x28")
    check("GROUP.CREATE with invalid UTF-8 is an error", err and "UTF-8" in err, repr(err))
    check("GROUP.DEL", r.execute_command("GROUP.DEL", "KHACH_VIP") in (b"OK", "OK", True))
    got = [pairs(e) for e in r.execute_command("GROUP.LIST")]
    check("GROUP.DEL moves the children up", [(g["code"], g["parent"]) for g in got] ==
          [(b"KHACH_HANG_HA_NOI", None), (b"KHACH_VIP_2", None)], repr(got))
    check("GROUP.DEL of an unknown group is ERR", ts.cli(srv, "GROUP.DEL", "KHACH_VIP").startswith("ERR no group"))


def test_notes(srv, r, model):
    t0 = int(time.time())
    check("NOTE.ADD replies the note id", r.execute_command("NOTE.ADD", 5, "Khách hỏi giá **gói Pro**") == 1)
    check("NOTE.ADD again", r.execute_command("NOTE.ADD", 5, "Gọi lại\n- thứ Hai") == 2)
    got = [pairs(e) for e in r.execute_command("NOTE.LIST", 5)]
    check("NOTE.LIST newest first, with times",
          [g["id"] for g in got] == [2, 1] and got[1]["text"].decode() == "Khách hỏi giá **gói Pro**" and
          got[0]["text"].decode() == "Gọi lại\n- thứ Hai" and all(abs(g["created"] - t0) < 600 for g in got)
          and all(g["edited"] is None for g in got), repr(got))
    check("NOTE.EDIT", r.execute_command("NOTE.EDIT", 5, 1, "Đã chốt đơn") in (b"OK", "OK", True))
    got = [pairs(e) for e in r.execute_command("NOTE.LIST", 5)]
    check("NOTE.EDIT sets the text and edited time", got[1]["text"].decode() == "Đã chốt đơn" and
          isinstance(got[1]["edited"], int), repr(got))
    check("NOTE.DEL", r.execute_command("NOTE.DEL", 5, 2) in (b"OK", "OK", True))
    check("NOTE.LIST after NOTE.DEL", [pairs(e)["id"] for e in r.execute_command("NOTE.LIST", 5)] == [1])
    check("1,000 Vietnamese characters are fine", r.execute_command("NOTE.ADD", 6, "ệ" * 1000) == 3)
    check("1,001 characters are LIMIT",
          ts.cli(srv, "NOTE.ADD", 6, "ệ" * 1001) == "LIMIT note is 1001 characters; the limit is 1000")
    check("NOTE.ADD to an unknown contact is ERR",
          ts.cli(srv, "NOTE.ADD", 999999, "x") == "ERR no contact with id 999999")
    check("NOTE.ADD id 0 is ERR", ts.cli(srv, "NOTE.ADD", 0, "x") == "ERR invalid id '0': ids start at 1")
    check("NOTE.DEL of another contact's note is ERR",
          ts.cli(srv, "NOTE.DEL", 6, 1).startswith("ERR contact 6 has no note 1"))
    err = error_of(r, "NOTE.ADD", 5, b"\xff")
    check("NOTE.ADD with invalid UTF-8 is an error", err and "UTF-8" in err, repr(err))


class Restarted(ts.Server):
    """A server on an existing data directory (a restart)."""

    def __init__(self, data_dir):
        self.port = ts.free_port()
        self.dir = tempfile.mkdtemp(prefix="segdb-it-")
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        self.proc = subprocess.Popen([ts.SERVER, "--port", str(self.port), "--dir", data_dir],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        ts.SERVERS.append(self)
        if ts.PIDFILE:
            with open(ts.PIDFILE, "a") as f:
                f.write("%d\n" % self.proc.pid)
        self.wait_ready()


def snapshot_state(r):
    return {
        "count": r.execute_command("COUNT"),
        "vip": ids_of(r.execute_command("FIND", "WHERE", "tag:vip")),
        "hot": r.execute_command("COUNT", "WHERE", "relationship:hot"),
        "ab_1": ids_of(r.execute_command("FIND", "WHERE", "segment:ab_1")),
        "segments": [pairs(e)["name"] for e in r.execute_command("SEGMENT.LIST")],
        "groups": r.execute_command("GROUP.LIST"),
        "notes": r.execute_command("NOTE.LIST", 5),
        "facet": r.execute_command("FACET", "city"),
    }


def test_restart(srv):
    r = client(srv.port)
    before = snapshot_state(r)
    r.close()
    rc = srv.stop(signal.SIGTERM)
    check("SIGTERM: clean exit", rc == 0, "rc=%r" % rc)
    again = Restarted(os.path.join(srv.dir, "data"))
    r = client(again.port)
    after = snapshot_state(r)
    for k in before:
        check("after a restart: %s is the same" % k, before[k] == after[k], "%r != %r" % (before[k], after[k]))
    r.close()
    again.stop(signal.SIGTERM)


def test_embedded(build_dir):
    cli_bin = os.path.join(build_dir, "segdb-cli")
    if not os.access(cli_bin, os.X_OK):
        check("segdb-cli is built next to segdb-server", False, cli_bin)
        return
    d = tempfile.mkdtemp(prefix="segdb-it-emb-")
    script = "\n".join([
        'UPSERT 1 city "Hà Nội" email a@x.vn',
        "UPSERT 2 city hue",
        "TAG vip WHERE city:hanoi",
        'GROUP.CREATE "Khách VIP"',
        "SPLIT 2 RANDOM 1 SAVE p_",
        "OVERLAP tag:vip | city:hue",
        "SPLIT 0",
    ]) + "\n"
    p = subprocess.run([cli_bin, "--embedded", d], input=script.encode(), capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace").split("\n")
    errs = p.stderr.decode("utf-8", "replace")
    check("segdb-cli --embedded runs campaign commands",
          out[:10] == ["1", "1", "1", "KHACH_VIP", "1", "1", "1", "0", "0", "1"], repr(out) + errs)
    check("segdb-cli --embedded shows errors", "ERR SPLIT needs at least 1 part" in errs + "\n".join(out), errs)
    subprocess.run(["rm", "-rf", d])


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else ""
    server = os.path.join(arg, "segdb-server") if os.path.isdir(arg) else arg
    if not server or not os.access(server, os.X_OK):
        print("usage: test_campaign.py BUILD_DIR|PATH/TO/segdb-server [PIDFILE]", file=sys.stderr)
        return 2
    ts.SERVER = os.path.abspath(server)
    ts.PIDFILE = sys.argv[2] if len(sys.argv) > 2 else None
    try:
        srv = ts.Server()
        r = client(srv.port)
        model = {i: Contact(i) for i in range(1, N + 1)}
        load(r, model)
        test_bulk_writes(srv, r, model)
        test_split(srv, r, model)
        test_facet_overlap_reach(srv, r, model)
        test_segments(srv, r, model)
        test_groups(srv, r, model)
        test_notes(srv, r, model)
        check("DEBUG VERIFY after the campaign commands", r.execute_command("DEBUG", "VERIFY") in (b"OK", "OK", True))
        r.close()
        test_restart(srv)
        test_embedded(os.path.dirname(ts.SERVER))
    except Exception as e:  # a crash of the harness is a failure, never a pass
        import traceback
        traceback.print_exc()
        check("harness ran to the end", False, repr(e))
    finally:
        for s in ts.SERVERS:
            if FAILED and s.proc.poll() is not None and s.proc.returncode not in (0, None):
                print("--- server log (port %d) ---\n%s" % (s.port, s.logtext()[-4000:]))
            s.cleanup()
    print("campaign: %d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

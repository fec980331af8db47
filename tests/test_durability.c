/*
 * test_durability.c — Criterion suite `durability` for storage/durability.c
 * and its server glue (server/cmd_persist.c, the write-reply tracking of
 * server/server.c): ENOSPC and EIO injected through the vfs seam turn writes
 * READONLY while reads go on, the replies of the writes whose flush failed
 * become -READONLY (never OK), writes resume once the log works again and
 * nothing acknowledged is lost; SAVE and BGSAVE write snapshots, drop the log
 * they cover and keep snapshot_keep of them; automatic snapshots; a failed
 * BGSAVE is reported.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_persist.h"
#include "durability.h"
#include "recovery.h"
#include "server.h"
#include "snapshot.h"
#include "vfs.h"
#include "wal.h"

#define MEMDIR "/data"

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return 1764000000;
}

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct rig {
    vfs *mem, *v;       /* v = fault(mem) for the in-memory rigs, posix for disk ones */
    const char *dir;
    segdb_t *db;
    dur_t *d;
} rig;

static void rig_open(rig *r, wal_fsync_mode mode, uint64_t segment_bytes, uint64_t changes)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_now;
    recovery_options ro = {.dir = r->dir, .v = r->v, .engine = &o, .say = quiet};
    recovery_result res;
    segdb_err e = {0};
    cr_assert_eq(recovery_run(&ro, &r->db, &res, &e), 0, "%s", e.msg);
    dur_options d;
    dur_options_init(&d);
    d.dir = r->dir;
    d.v = r->v;
    d.fsync_mode = mode;
    d.everysec_thread = false;
    d.segment_max_bytes = segment_bytes;
    d.snapshot_changes = changes;
    d.snapshot_log_bytes = 0;
    d.retry_ms = 50;
    d.last_save_seq = res.snapshot_seq;
    d.say = quiet;
    cr_assert_eq(dur_open(r->db, &d, &r->d, &e), 0, "%s", e.msg);
}

static void rig_close(rig *r)
{
    segdb_err e = {0};
    dur_close(r->d, &e);
    segdb_close(r->db);
    r->d = NULL;
    r->db = NULL;
}

static void mem_rig(rig *r)
{
    r->mem = vfs_mem_create();
    r->v = vfs_fault_create(r->mem);
    r->dir = MEMDIR;
}

static void mem_rig_free(rig *r)
{
    vfs_fault_free(r->v);
    vfs_mem_free(r->mem);
}

static int upsert(segdb_t *db, uint64_t id, const char *name, segdb_err *e)
{
    segdb_kv kv[1] = {{"name", name, strlen(name)}};
    int c;
    return segdb_upsert(db, id, kv, 1, &c, e);
}

static bool present(segdb_t *db, uint64_t id)
{
    segdb_strvec out = {0};
    segdb_err e = {0};
    int r = segdb_get(db, id, NULL, 0, &out, &e);
    segdb_strvec_free(&out);
    cr_assert_geq(r, 0, "%s", e.msg);
    return r == 1;
}

/* ---- the dur_t alone ----------------------------------------------------- */

static void readonly_then_recover(const vfs_fault_plan *plan, wal_fsync_mode mode, const char *want)
{
    rig r;
    mem_rig(&r);
    rig_open(&r, mode, 0, 0);
    segdb_err e = {0};
    cr_assert_eq(upsert(r.db, 1, "An", &e), 0);
    cr_assert_eq(dur_flush(r.d, &e), 0, "%s", e.msg);
    cr_assert_null(dur_readonly_reason(r.d));

    vfs_fault_arm(r.v, plan);
    cr_assert_eq(upsert(r.db, 2, "Bình", &e), 0, "appended before the failure is known");
    int rc = dur_flush(r.d, &e);
    cr_assert_eq(rc, SEGDB_EREADONLY, "%d %s", rc, e.msg);
    const char *why = dur_readonly_reason(r.d);
    cr_assert_not_null(why);
    cr_assert(strstr(why, want), "%s", why);
    /* writes are refused and not applied; reads go on */
    rc = upsert(r.db, 3, "Cường", &e);
    cr_assert_eq(rc, SEGDB_EREADONLY, "%d", rc);
    cr_assert_not(present(r.db, 3));
    cr_assert(present(r.db, 1));
    cr_assert(present(r.db, 2), "the unacknowledged write is applied in memory");
    dur_stats st;
    dur_get_stats(r.d, &st);
    cr_assert(st.readonly);
    cr_assert(strstr(st.readonly_reason, want));

    /* no retry before retry_ms */
    vfs_fault_stats fs0, fs1;
    vfs_fault_get_stats(r.v, &fs0);
    cr_assert_eq(dur_flush(r.d, &e), SEGDB_EREADONLY);
    vfs_fault_get_stats(r.v, &fs1);
    cr_assert_eq(fs0.writes, fs1.writes, "a flush inside retry_ms does not touch the disk");

    /* still failing after the interval: still read-only */
    sleep_ms(60);
    cr_assert_eq(dur_flush(r.d, &e), SEGDB_EREADONLY);

    /* the disk works again */
    vfs_fault_disarm(r.v);
    sleep_ms(60);
    cr_assert_eq(dur_flush(r.d, &e), 0, "%s", e.msg);
    cr_assert_null(dur_readonly_reason(r.d));
    cr_assert_eq(upsert(r.db, 4, "Dũng", &e), 0, "%s", e.msg);
    cr_assert_eq(dur_flush(r.d, &e), 0, "%s", e.msg);
    rig_close(&r);

    /* restart: 1 and 4 acknowledged, 2 logged by the retry, 3 never applied */
    rig_open(&r, mode, 0, 0);
    cr_assert(present(r.db, 1));
    cr_assert(present(r.db, 2));
    cr_assert_not(present(r.db, 3));
    cr_assert(present(r.db, 4));
    rig_close(&r);
    mem_rig_free(&r);
}

Test(durability, enospc_on_a_log_write_turns_writes_readonly_until_the_disk_has_room)
{
    vfs_fault_plan p = {.write_fail_at = 1, .write_errno = ENOSPC};
    readonly_then_recover(&p, WAL_FSYNC_ALWAYS, "No space left on device");
}

Test(durability, a_short_write_then_enospc_in_everysec_mode)
{
    vfs_fault_plan p = {.write_fail_at = 1, .write_errno = ENOSPC, .write_short_bytes = 9};
    readonly_then_recover(&p, WAL_FSYNC_EVERYSEC, "No space left on device");
}

Test(durability, eio_on_fsync_in_always_mode_turns_writes_readonly_until_it_works)
{
    vfs_fault_plan p = {.sync_fail_at = 1, .sync_errno = EIO};
    readonly_then_recover(&p, WAL_FSYNC_ALWAYS, "Input/output error");
}

Test(durability, eio_on_write_in_no_mode)
{
    vfs_fault_plan p = {.write_fail_at = 1, .write_errno = EIO};
    readonly_then_recover(&p, WAL_FSYNC_NO, "Input/output error");
}

/* ---- through the server: replies --------------------------------------- */

typedef struct srig {
    rig r;
    server_ctx *srv;
    client_ctx *c;
    int peer;
} srig;

static void srig_open(srig *s)
{
    mem_rig(&s->r);
    rig_open(&s->r, WAL_FSYNC_ALWAYS, 0, 0);
    s->srv = server_ctx_create(s->r.db, NULL);
    cr_assert(s->srv);
    s->srv->loop = ae_create(1024);
    cr_assert(s->srv->loop);
    persist_attach(s->srv, s->r.d);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    s->c = client_create(s->srv, sv[0], "test");
    cr_assert(s->c);
    s->peer = sv[1];
}

static void srig_close(srig *s)
{
    server_ctx_free(s->srv); /* frees the client, closes its end */
    close(s->peer);
    rig_close(&s->r);
    mem_rig_free(&s->r);
}

/* Feeds requests, runs before-sleep, returns what the client received. */
static char *roundtrip(srig *s, const char *req)
{
    server_process_input(s->c, req, strlen(req));
    server_before_sleep(s->srv);
    static char buf[65536];
    size_t n = 0;
    for (int tries = 0; tries < 200; tries++) {
        ssize_t k = recv(s->peer, buf + n, sizeof buf - 1 - n, MSG_DONTWAIT);
        if (k > 0) {
            n += (size_t)k;
            continue;
        }
        if (n)
            break;
        sleep_ms(1);
    }
    buf[n] = 0;
    return buf;
}

static int count_of(const char *hay, const char *needle)
{
    int k = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        k++;
    return k;
}

Test(durability, the_server_never_acknowledges_a_write_whose_flush_failed)
{
    srig s;
    srig_open(&s);
    cr_assert_str_eq(roundtrip(&s, "UPSERT 1 name An\r\n"), ":1\r\n");

    vfs_fault_plan p = {.write_fail_at = 1, .write_errno = ENOSPC};
    vfs_fault_arm(s.r.v, &p);
    /* two writes and a read in one iteration: the writes' flush fails */
    char *rep = roundtrip(&s, "UPSERT 2 name Binh\r\nGET 1 name\r\nUPSERT 3 name Cuong\r\n");
    cr_assert_eq(count_of(rep, "-READONLY "), 2, "%s", rep);
    cr_assert(strstr(rep, "No space left on device"), "%s", rep);
    cr_assert(strstr(rep, "NOT acknowledged"), "%s", rep);
    cr_assert_eq(count_of(rep, ":1\r\n"), 0, "no OK for an unflushed write: %s", rep);
    cr_assert(strstr(rep, "*2\r\n$4\r\nname\r\n$2\r\nAn\r\n"), "the read between them answers: %s", rep);
    cr_assert(strstr(rep, "-READONLY") == rep, "replies stay in order: %s", rep);

    /* read-only now: writes refused up front, reads go on */
    rep = roundtrip(&s, "UPSERT 4 name Dung\r\nCOUNT\r\n");
    cr_assert(!strncmp(rep, "-READONLY the write-ahead log failed", 36), "%s", rep);
    cr_assert(strstr(rep, ":3\r\n"), "2 and 3 are in memory: %s", rep);
    rep = roundtrip(&s, "INFO persistence\r\n");
    cr_assert(strstr(rep, "readonly:1"), "%s", rep);
    cr_assert(strstr(rep, "readonly_reason:the write-ahead log failed"), "%s", rep);
    cr_assert(strstr(rep, "appendfsync:always"), "%s", rep);

    /* the disk has room again: the next iteration's retry clears it */
    vfs_fault_disarm(s.r.v);
    sleep_ms(60);
    cr_assert_str_eq(roundtrip(&s, "PING\r\n"), "+PONG\r\n");
    cr_assert_null(s.srv->readonly_reason);
    cr_assert_str_eq(roundtrip(&s, "UPSERT 4 name Dung\r\n"), ":1\r\n");
    rep = roundtrip(&s, "INFO persistence\r\n");
    cr_assert(strstr(rep, "readonly:0"), "%s", rep);
    srig_close(&s);
}

Test(durability, a_failed_fsync_in_always_mode_fails_every_write_reply_of_the_iteration)
{
    srig s;
    srig_open(&s);
    vfs_fault_plan p = {.sync_fail_at = 1, .sync_errno = EIO};
    vfs_fault_arm(s.r.v, &p);
    char req[4096] = "";
    for (int i = 1; i <= 20; i++) {
        char one[64];
        snprintf(one, sizeof one, "UPSERT %d name x%d\r\nPING\r\n", i, i);
        strcat(req, one);
    }
    char *rep = roundtrip(&s, req);
    cr_assert_eq(count_of(rep, "-READONLY "), 20, "%s", rep);
    cr_assert_eq(count_of(rep, "+PONG"), 20, "%s", rep);
    srig_close(&s);
}

Test(durability, save_bgsave_and_lastsave_commands)
{
    srig s;
    srig_open(&s);
    roundtrip(&s, "UPSERT 1 name An\r\n");
    char *rep = roundtrip(&s, "LASTSAVE\r\n");
    cr_assert_eq(rep[0], ':', "%s", rep);
    cr_assert_str_eq(roundtrip(&s, "SAVE\r\n"), "+OK\r\n");
    rep = roundtrip(&s, "INFO persistence\r\n");
    cr_assert(strstr(rep, "last_save_seq:1"), "%s", rep);
    cr_assert(strstr(rep, "rdb_changes_since_last_save:0"), "%s", rep);
    srig_close(&s);
}

Test(durability, persistence_commands_without_a_data_directory_say_so)
{
    segdb_t *db = segdb_open(NULL);
    server_ctx *srv = server_ctx_create(db, NULL);
    client_ctx *c = client_create(srv, -1, "embedded");
    reply_buf out;
    reply_init(&out);
    const char *argv[] = {"SAVE"};
    size_t len[] = {4};
    cmd_dispatch(srv, c, 1, argv, len, &out);
    cr_assert(out.len && strstr(out.buf, "-ERR persistence is off"), "%.*s", (int)out.len, out.buf);
    reply_free(&out);
    client_free(c);
    server_ctx_free(srv);
    segdb_close(db);
}

/* ---- snapshots on a real directory -------------------------------------- */

static char *tmpdir(void)
{
    char *t = strdup("/tmp/segdb-dur-XXXXXX");
    cr_assert(t && mkdtemp(t));
    return t;
}

static void rm_tree(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (rmdir(p) != 0)
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    free(dir);
}

typedef struct names {
    int snaps, segs, tmps;
    uint64_t first_seg;
} names;

static names list(const char *dir)
{
    names n = {0, 0, 0, UINT64_MAX};
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        uint64_t s;
        if (snapshot_parse_name(de->d_name, NULL, &s))
            n.snaps++;
        else if (snapshot_parse_name(de->d_name, ".tmp", &s))
            n.tmps++;
        else if (wal_parse_segment_name(de->d_name, &s)) {
            n.segs++;
            if (s < n.first_seg)
                n.first_seg = s;
        }
    }
    if (d)
        closedir(d);
    return n;
}

static void disk_rig(rig *r, char *dir, uint64_t segment_bytes, uint64_t changes)
{
    memset(r, 0, sizeof *r);
    r->dir = dir;
    r->v = vfs_posix();
    rig_open(r, WAL_FSYNC_ALWAYS, segment_bytes, changes);
}

static void write_n(rig *r, uint64_t from, uint64_t to)
{
    segdb_err e = {0};
    for (uint64_t i = from; i <= to; i++) {
        cr_assert_eq(upsert(r->db, i, "Phạm Thị Lan", &e), 0, "%s", e.msg);
        cr_assert_eq(dur_flush(r->d, &e), 0, "%s", e.msg);
    }
}

Test(durability, bgsave_writes_a_snapshot_drops_the_log_it_covers_and_keeps_two)
{
    char *dir = tmpdir();
    rig r;
    disk_rig(&r, dir, 1024, 0);
    segdb_err e = {0};
    for (int round = 1; round <= 3; round++) {
        write_n(&r, (uint64_t)round * 100 - 99, (uint64_t)round * 100);
        cr_assert_eq(dur_bgsave(r.d, &e), 0, "%s", e.msg);
        dur_stats st;
        dur_get_stats(r.d, &st);
        cr_assert(st.bgsave_in_progress);
        cr_assert_eq(dur_bgsave(r.d, &e), SEGDB_EEXIST, "one at a time");
        cr_assert_eq(dur_save(r.d, NULL, &e), SEGDB_EEXIST, "SAVE waits for BGSAVE too");
        /* writes go on while the child writes */
        write_n(&r, 10000 + (uint64_t)round, 10000 + (uint64_t)round);
        cr_assert_eq(dur_bgsave_wait(r.d, &e), 0, "%s", e.msg);
        dur_get_stats(r.d, &st);
        cr_assert_not(st.bgsave_in_progress);
        cr_assert(st.last_bgsave_ok);
        cr_assert_eq(st.last_save_seq, (uint64_t)round * 101 - 1, "the seq at fork time");
        cr_assert_eq(st.changes_since_save, 1);
    }
    names n = list(dir);
    cr_assert_eq(n.snaps, 2, "the newest and one older");
    cr_assert_eq(n.tmps, 0);
    cr_assert_gt(n.first_seg, 200, "segments wholly before the last snapshot are gone (%" PRIu64 ")",
                 n.first_seg);
    rig_close(&r);
    /* the restart loads the newest snapshot and replays only the tail */
    segdb_options o;
    segdb_options_init(&o);
    recovery_options ro = {.dir = dir, .engine = &o, .say = quiet};
    recovery_result res;
    segdb_t *db = NULL;
    cr_assert_eq(recovery_run(&ro, &db, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.snapshot_seq, 302);
    cr_assert_eq(res.replayed, 1);
    segdb_stats st;
    segdb_get_stats(db, &st);
    cr_assert_eq(st.live, 303);
    segdb_close(db);
    rm_tree(dir);
}

Test(durability, an_automatic_bgsave_starts_after_snapshot_changes_records)
{
    char *dir = tmpdir();
    rig r;
    disk_rig(&r, dir, 0, 25);
    write_n(&r, 1, 24);
    dur_cron(r.d);
    dur_stats st;
    dur_get_stats(r.d, &st);
    cr_assert_not(st.bgsave_in_progress, "24 < 25");
    write_n(&r, 25, 25);
    dur_cron(r.d);
    dur_get_stats(r.d, &st);
    cr_assert(st.bgsave_in_progress);
    segdb_err e = {0};
    cr_assert_eq(dur_bgsave_wait(r.d, &e), 0, "%s", e.msg);
    dur_get_stats(r.d, &st);
    cr_assert_eq(st.last_save_seq, 25);
    cr_assert_eq(st.saves, 1);
    /* dur_cron reaps a child by itself too */
    write_n(&r, 26, 50);
    dur_cron(r.d);
    for (int i = 0; i < 500; i++) {
        dur_cron(r.d);
        dur_get_stats(r.d, &st);
        if (!st.bgsave_in_progress)
            break;
        sleep_ms(10);
    }
    cr_assert_eq(st.last_save_seq, 50);
    rig_close(&r);
    rm_tree(dir);
}

Test(durability, a_failed_bgsave_is_reported_and_keeps_the_log)
{
    char *dir = tmpdir();
    rig r;
    disk_rig(&r, dir, 512, 0);
    write_n(&r, 1, 30);
    /* a directory where the child wants to create its temporary file */
    char p[4096];
    char name[SNAPSHOT_NAME_BYTES];
    snapshot_name(30, name);
    snprintf(p, sizeof p, "%s/%s.tmp", dir, name);
    cr_assert_eq(mkdir(p, 0700), 0);
    names before = list(dir);
    segdb_err e = {0};
    cr_assert_eq(dur_bgsave(r.d, &e), 0, "%s", e.msg);
    int rc = dur_bgsave_wait(r.d, &e);
    cr_assert_neq(rc, 0);
    cr_assert(strstr(e.msg, "snapshot"), "%s", e.msg);
    dur_stats st;
    dur_get_stats(r.d, &st);
    cr_assert_not(st.last_bgsave_ok);
    cr_assert(strstr(st.last_bgsave_error, "cannot create"), "%s", st.last_bgsave_error);
    cr_assert_eq(st.last_save_seq, 0);
    names after = list(dir);
    cr_assert_eq(after.segs, before.segs, "no log dropped");
    cr_assert_eq(after.first_seg, 1);
    rmdir(p);
    rig_close(&r);
    rm_tree(dir);
}

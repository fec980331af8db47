/*
 * test_recovery.c — Criterion suite `recovery` for storage/recovery.c (with
 * storage/durability.c writing the files, as the server does): start from an
 * empty directory, the log alone, a snapshot plus the log; a torn tail is cut
 * and reported (file, offset, bytes); damage in the middle is refused unless
 * repair; a corrupt newest snapshot falls back to the previous one when the
 * log covers the gap and is refused (or, with repair, accepted with the loss
 * said) when it does not; a record the engine refuses stops the start unless
 * repair; and a crash at many byte counts of a workload with snapshots loses
 * no acknowledged write and half-applies none.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "durability.h"
#include "recovery.h"
#include "segdb.h"
#include "snapshot.h"
#include "vfs.h"
#include "wal.h"

#define DIR "/data"

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return 1764000000;
}

typedef struct sess {
    vfs *v;
    segdb_t *db;
    dur_t *d;
    recovery_result res;
    char said[32768];
} sess;

static void capture(void *ctx, const char *line)
{
    sess *s = ctx;
    size_t n = strlen(s->said);
    snprintf(s->said + n, sizeof s->said - n, "%s\n", line);
}

static segdb_options engine_opts(void)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_now;
    return o;
}

/* Recovery then the log, as the server starts. 0 or recovery's (or
 * dur_open's) error. */
static int start(sess *s, bool repair, uint64_t segment_bytes, segdb_err *e)
{
    s->said[0] = 0;
    segdb_options o = engine_opts();
    recovery_options ro = {.dir = DIR, .v = s->v, .engine = &o, .repair = repair, .say = capture,
                           .say_ctx = s};
    int rc = recovery_run(&ro, &s->db, &s->res, e);
    if (rc)
        return rc;
    dur_options d;
    dur_options_init(&d);
    d.dir = DIR;
    d.v = s->v;
    d.fsync_mode = WAL_FSYNC_ALWAYS;
    d.everysec_thread = false;
    d.segment_max_bytes = segment_bytes;
    d.snapshot_changes = 0;
    d.snapshot_log_bytes = 0;
    d.last_save_seq = s->res.snapshot_seq;
    d.recovered_truncated_bytes = s->res.truncated_bytes;
    d.say = capture;
    d.say_ctx = s;
    rc = dur_open(s->db, &d, &s->d, e);
    if (rc) {
        segdb_close(s->db);
        s->db = NULL;
    }
    return rc;
}

static void stop(sess *s)
{
    segdb_err e = {0};
    dur_close(s->d, &e);
    segdb_close(s->db);
    s->d = NULL;
    s->db = NULL;
}

static void up(sess *s, uint64_t id)
{
    char name[32], city[32];
    snprintf(name, sizeof name, "Trần %" PRIu64, id);
    snprintf(city, sizeof city, "city%" PRIu64, id % 7);
    segdb_kv kv[2] = {{"name", name, strlen(name)}, {"city", city, strlen(city)}};
    segdb_err e = {0};
    int c;
    cr_assert_eq(segdb_upsert(s->db, id, kv, 2, &c, &e), 0, "%s", e.msg);
    cr_assert_eq(dur_flush(s->d, &e), 0, "%s", e.msg);
}

static void save(sess *s)
{
    segdb_err e = {0};
    cr_assert_eq(dur_save(s->d, NULL, &e), 0, "%s", e.msg);
}

/* 1 when id is present with its full upsert, 0 when absent; fails on half. */
static int has(segdb_t *db, uint64_t id)
{
    const char *fields[] = {"name", "city"};
    segdb_strvec out = {0};
    segdb_err e = {0};
    int r = segdb_get(db, id, fields, 2, &out, &e);
    cr_assert_geq(r, 0, "%s", e.msg);
    if (r == 0) {
        segdb_strvec_free(&out);
        return 0;
    }
    char name[32], city[32];
    snprintf(name, sizeof name, "Trần %" PRIu64, id);
    snprintf(city, sizeof city, "city%" PRIu64, id % 7);
    cr_assert_eq(out.n, 4);
    cr_assert(out.v[1] && out.v[3], "id %" PRIu64 " half applied", id);
    cr_assert_str_eq(out.v[1], name);
    cr_assert_str_eq(out.v[3], city);
    segdb_strvec_free(&out);
    return 1;
}

static uint64_t live(segdb_t *db)
{
    segdb_stats st;
    segdb_get_stats(db, &st);
    return st.live;
}

static uint64_t seq_of(segdb_t *db)
{
    segdb_stats st;
    segdb_get_stats(db, &st);
    return st.seq;
}

static void check_verify(segdb_t *db)
{
    segdb_err e = {0};
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
}

static void seg_file(uint64_t first, char *out)
{
    char name[WAL_SEGMENT_NAME_BYTES];
    wal_segment_name(first, name);
    snprintf(out, WAL_PATH_BYTES, DIR "/%s", name);
}

static void snap_file(uint64_t seq, char *out)
{
    char name[SNAPSHOT_NAME_BYTES];
    snapshot_name(seq, name);
    snprintf(out, SNAPSHOT_PATH_BYTES, DIR "/%s", name);
}

static bool exists(vfs *v, const char *path)
{
    void *d = NULL;
    size_t n;
    int rc = vfs_mem_get(v, path, &d, &n);
    free(d);
    return rc == 0;
}

static void flip_byte(vfs *v, const char *path, size_t at)
{
    void *d = NULL;
    size_t n;
    cr_assert_eq(vfs_mem_get(v, path, &d, &n), 0, "%s", path);
    cr_assert_lt(at, n);
    ((unsigned char *)d)[at] ^= 0x5a;
    cr_assert_eq(vfs_mem_put(v, path, d, n), 0);
    free(d);
}

static size_t size_of(vfs *v, const char *path)
{
    void *d = NULL;
    size_t n = 0;
    cr_assert_eq(vfs_mem_get(v, path, &d, &n), 0, "%s", path);
    free(d);
    return n;
}

static void truncate_by(vfs *v, const char *path, size_t drop)
{
    void *d = NULL;
    size_t n;
    cr_assert_eq(vfs_mem_get(v, path, &d, &n), 0);
    cr_assert_geq(n, drop);
    cr_assert_eq(vfs_mem_put(v, path, d, n - drop), 0);
    free(d);
}

Test(recovery, an_empty_directory_starts_an_empty_database)
{
    sess s = {.v = vfs_mem_create()};
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(live(s.db), 0);
    cr_assert_not(s.res.from_snapshot);
    cr_assert_eq(s.res.seq, 0);
    up(&s, 1);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, the_log_alone_replays_every_acknowledged_write)
{
    sess s = {.v = vfs_mem_create()};
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    for (uint64_t i = 1; i <= 200; i++)
        up(&s, i);
    uint64_t ids[] = {5, 6};
    uint64_t gone;
    cr_assert_eq(segdb_del(s.db, ids, 2, &gone, &e), 0);
    cr_assert_eq(dur_flush(s.d, &e), 0);
    stop(&s);
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_not(s.res.from_snapshot);
    cr_assert_eq(s.res.replayed, 201);
    cr_assert_eq(s.res.seq, 201);
    cr_assert_eq(s.res.scan.status, WAL_SCAN_CLEAN);
    cr_assert_eq(live(s.db), 198);
    for (uint64_t i = 1; i <= 200; i++)
        cr_assert_eq(has(s.db, i), i != 5 && i != 6, "id %" PRIu64, i);
    check_verify(s.db);
    up(&s, 201); /* and the log takes new writes after it */
    stop(&s);
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.seq, 202);
    cr_assert_eq(has(s.db, 201), 1);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, a_snapshot_plus_the_later_log)
{
    sess s = {.v = vfs_mem_create()};
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 4096, &e), 0, "%s", e.msg);
    for (uint64_t i = 1; i <= 100; i++)
        up(&s, i);
    save(&s);
    for (uint64_t i = 101; i <= 130; i++)
        up(&s, i);
    stop(&s);
    cr_assert_eq(start(&s, false, 4096, &e), 0, "%s", e.msg);
    cr_assert(s.res.from_snapshot);
    cr_assert_eq(s.res.snapshot_seq, 100);
    cr_assert_eq(s.res.replayed, 30, "only the records after the snapshot are replayed");
    cr_assert_eq(live(s.db), 130);
    for (uint64_t i = 1; i <= 130; i++)
        cr_assert_eq(has(s.db, i), 1);
    check_verify(s.db);
    cr_assert(strstr(s.said, "loaded snapshot-00000000000000000100.sdb"), "%s", s.said);
    /* the log segments the snapshot covers were removed (4 KiB segments) */
    char p[WAL_PATH_BYTES];
    seg_file(1, p);
    cr_assert_not(exists(s.v, p));
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, a_snapshot_holding_everything_and_no_later_log)
{
    sess s = {.v = vfs_mem_create()};
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    for (uint64_t i = 1; i <= 10; i++)
        up(&s, i);
    save(&s);
    stop(&s);
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.replayed, 0);
    cr_assert_eq(s.res.seq, 10);
    up(&s, 11);
    stop(&s);
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.seq, 11);
    cr_assert_eq(has(s.db, 11), 1);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, a_torn_tail_is_cut_and_reported_with_file_offset_and_bytes)
{
    sess s = {.v = vfs_mem_create()};
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    for (uint64_t i = 1; i <= 20; i++)
        up(&s, i);
    stop(&s);
    char p[WAL_PATH_BYTES];
    seg_file(1, p);
    size_t before = size_of(s.v, p);
    truncate_by(s.v, p, 7); /* the last frame loses its last 7 bytes */
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.scan.status, WAL_SCAN_TAIL_CUT);
    cr_assert_eq(s.res.seq, 19);
    cr_assert_eq(has(s.db, 20), 0);
    cr_assert_eq(has(s.db, 19), 1);
    uint64_t frame = before - s.res.scan.offset;
    cr_assert_eq(s.res.truncated_bytes, frame - 7);
    char want[256];
    snprintf(want, sizeof want, "torn tail cut at offset %" PRIu64, s.res.scan.offset);
    cr_assert(strstr(s.said, want), "%s", s.said);
    cr_assert(strstr(s.said, "wal-00000000000000000001.log"), "%s", s.said);
    snprintf(want, sizeof want, "%" PRIu64 " bytes dropped", frame - 7);
    cr_assert(strstr(s.said, want), "%s", s.said);
    dur_stats st;
    dur_get_stats(s.d, &st);
    cr_assert_eq(st.wal.truncated_bytes, frame - 7, "INFO's wal_truncated_bytes");
    up(&s, 20);
    stop(&s);
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.scan.status, WAL_SCAN_CLEAN);
    cr_assert_eq(has(s.db, 20), 1);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, damage_in_the_middle_is_refused_unless_repair)
{
    sess s = {.v = vfs_mem_create()};
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    for (uint64_t i = 1; i <= 40; i++)
        up(&s, i);
    stop(&s);
    char p[WAL_PATH_BYTES];
    seg_file(1, p);
    size_t n = size_of(s.v, p);
    flip_byte(s.v, p, n / 2);
    void *orig;
    size_t olen;
    cr_assert_eq(vfs_mem_get(s.v, p, &orig, &olen), 0);
    int rc = start(&s, false, 0, &e);
    cr_assert_eq(rc, SEGDB_EINVAL);
    cr_assert_null(s.db);
    cr_assert(strstr(e.msg, "wal-00000000000000000001.log"), "%s", e.msg);
    cr_assert(strstr(e.msg, "corrupt log at offset"), "%s", e.msg);
    cr_assert(strstr(e.msg, "--repair"), "%s", e.msg);
    void *now;
    size_t nlen;
    cr_assert_eq(vfs_mem_get(s.v, p, &now, &nlen), 0);
    cr_assert(nlen == olen && !memcmp(orig, now, olen), "a refused start changes nothing");
    free(now);
    free(orig);
    rc = start(&s, true, 0, &e);
    cr_assert_eq(rc, 0, "%s", e.msg);
    cr_assert_eq(s.res.scan.status, WAL_SCAN_REPAIRED);
    cr_assert_gt(s.res.lost_records, 0);
    cr_assert_eq(s.res.seq + s.res.lost_records + 1, 40, "the damaged record and those after it");
    cr_assert(strstr(s.said, "--repair"), "%s", s.said);
    cr_assert(strstr(s.said, "valid record(s)"), "%s", s.said);
    for (uint64_t i = 1; i <= s.res.seq; i++)
        cr_assert_eq(has(s.db, i), 1);
    check_verify(s.db);
    stop(&s);
    cr_assert_eq(start(&s, false, 0, &e), 0, "after the repair a plain start works: %s", e.msg);
    stop(&s);
    vfs_mem_free(s.v);
}

/* Three snapshots' worth of history: A at 10, B at 20, log up to 25. */
static void history(sess *s, uint64_t segment_bytes)
{
    segdb_err e = {0};
    cr_assert_eq(start(s, false, segment_bytes, &e), 0, "%s", e.msg);
    for (uint64_t i = 1; i <= 10; i++)
        up(s, i);
    save(s);
    for (uint64_t i = 11; i <= 20; i++)
        up(s, i);
    save(s);
    for (uint64_t i = 21; i <= 25; i++)
        up(s, i);
    stop(s);
}

Test(recovery, a_corrupt_newest_snapshot_falls_back_to_the_previous_when_the_log_covers_it)
{
    sess s = {.v = vfs_mem_create()};
    history(&s, 0); /* one big segment: the log still holds 1..25 */
    char b[SNAPSHOT_PATH_BYTES];
    snap_file(20, b);
    flip_byte(s.v, b, size_of(s.v, b) / 2);
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.snapshot_seq, 10);
    cr_assert_eq(s.res.snapshots_skipped, 1);
    cr_assert_eq(s.res.replayed, 15);
    for (uint64_t i = 1; i <= 25; i++)
        cr_assert_eq(has(s.db, i), 1);
    check_verify(s.db);
    cr_assert(strstr(s.said, "checksum mismatch"), "%s", s.said);
    cr_assert(strstr(s.said, "falling back to snapshot-00000000000000000010.sdb"), "%s", s.said);
    cr_assert(strstr(s.said, "nothing is lost"), "%s", s.said);
    cr_assert_not(exists(s.v, b), "set aside");
    char c[SNAPSHOT_PATH_BYTES + 8];
    snprintf(c, sizeof c, "%s.corrupt", b);
    cr_assert(exists(s.v, c));
    up(&s, 26);
    save(&s);
    stop(&s);
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.snapshot_seq, 26);
    cr_assert_eq(s.res.snapshots_skipped, 0);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, a_truncated_newest_snapshot_falls_back_too)
{
    sess s = {.v = vfs_mem_create()};
    history(&s, 0);
    char b[SNAPSHOT_PATH_BYTES];
    snap_file(20, b);
    truncate_by(s.v, b, 100);
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.snapshot_seq, 10);
    cr_assert_eq(live(s.db), 25);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, a_corrupt_newest_snapshot_the_log_does_not_cover_is_refused_unless_repair)
{
    sess s = {.v = vfs_mem_create()};
    history(&s, 512); /* small segments: the records before seq 20 were dropped */
    char b[SNAPSHOT_PATH_BYTES];
    snap_file(20, b);
    flip_byte(s.v, b, 40);
    segdb_err e = {0};
    int rc = start(&s, false, 512, &e);
    cr_assert_eq(rc, SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "snapshot-00000000000000000020.sdb is unusable"), "%s", e.msg);
    cr_assert(strstr(e.msg, "does not cover records 11..20"), "%s", e.msg);
    cr_assert(strstr(e.msg, "Refusing to start"), "%s", e.msg);
    cr_assert(exists(s.v, b), "a refused start renames nothing");
    rc = start(&s, true, 512, &e);
    cr_assert_eq(rc, 0, "%s", e.msg);
    cr_assert_eq(s.res.snapshot_seq, 10);
    cr_assert(strstr(s.said, "--repair: starting from snapshot-00000000000000000010.sdb"), "%s", s.said);
    cr_assert(strstr(s.said, "are lost"), "%s", s.said);
    cr_assert_eq(s.res.seq, 10, "the log that no longer fits was dropped");
    for (uint64_t i = 1; i <= 10; i++)
        cr_assert_eq(has(s.db, i), 1);
    cr_assert_eq(has(s.db, 11), 0);
    check_verify(s.db);
    up(&s, 100);
    stop(&s);
    cr_assert_eq(start(&s, false, 512, &e), 0, "the repaired directory starts cleanly: %s", e.msg);
    cr_assert_eq(has(s.db, 100), 1);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, every_snapshot_corrupt_and_the_log_from_seq_1_replays_it_all)
{
    sess s = {.v = vfs_mem_create()};
    history(&s, 0);
    char a[SNAPSHOT_PATH_BYTES], b[SNAPSHOT_PATH_BYTES];
    snap_file(10, a);
    snap_file(20, b);
    flip_byte(s.v, a, 3);
    flip_byte(s.v, b, size_of(s.v, b) - 3);
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_not(s.res.from_snapshot);
    cr_assert_eq(s.res.snapshots_skipped, 2);
    cr_assert_eq(live(s.db), 25);
    cr_assert(strstr(s.said, "falling back to an empty database"), "%s", s.said);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, stale_tmp_snapshots_are_deleted)
{
    sess s = {.v = vfs_mem_create()};
    history(&s, 0);
    cr_assert_eq(vfs_mem_put(s.v, DIR "/snapshot-00000000000000000025.sdb.tmp", "partial", 7), 0);
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.tmp_removed, 1);
    cr_assert_not(exists(s.v, DIR "/snapshot-00000000000000000025.sdb.tmp"));
    cr_assert(strstr(s.said, "unfinished snapshot"), "%s", s.said);
    stop(&s);
    vfs_mem_free(s.v);
}

/* Captures the serialized record of one UPSERT (a body the engine applies). */
typedef struct grab {
    void *rec;
    size_t len;
} grab;

static int grab_hook(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    grab *g = ctx;
    free(g->rec);
    g->rec = malloc(len);
    memcpy(g->rec, rec, len);
    g->len = len;
    return 0;
}

/* After 10 good records: a record the engine refuses (seq 11), then a good one. */
static void poison(sess *s)
{
    segdb_err e = {0};
    cr_assert_eq(start(s, false, 0, &e), 0, "%s", e.msg);
    for (uint64_t i = 1; i <= 10; i++)
        up(s, i);
    stop(s);
    grab g = {0};
    segdb_options o = engine_opts();
    o.log_fn = grab_hook;
    o.log_ctx = &g;
    segdb_t *scratch = segdb_open(&o);
    segdb_kv kv[2] = {{"name", "Trần 12", 9}, {"city", "city5", 5}};
    int c;
    cr_assert_eq(segdb_upsert(scratch, 12, kv, 2, &c, &e), 0);
    segdb_close(scratch);
    wal_options wo;
    wal_options_init(&wo);
    wo.everysec_thread = false;
    wo.start_seq = 0;
    wal_t *w;
    cr_assert_eq(wal_open(DIR, s->v, &wo, &w, &e), 0, "%s", e.msg);
    const unsigned char bad[] = {0xee, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    cr_assert_eq(wal_append(w, 11, bad, sizeof bad, &e), 0, "%s", e.msg);
    cr_assert_eq(wal_append(w, 12, g.rec, g.len, &e), 0, "%s", e.msg);
    cr_assert_eq(wal_close(w, &e), 0);
    free(g.rec);
}

Test(recovery, a_record_that_fails_to_apply_is_refused_naming_its_seq)
{
    sess s = {.v = vfs_mem_create()};
    poison(&s);
    segdb_err e = {0};
    int rc = start(&s, false, 0, &e);
    cr_assert_eq(rc, SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "log record seq 11"), "%s", e.msg);
    cr_assert(strstr(e.msg, "wal-00000000000000000001.log, offset"), "%s", e.msg);
    cr_assert(strstr(e.msg, "cannot be applied"), "%s", e.msg);
    cr_assert(strstr(e.msg, "--repair"), "%s", e.msg);
    vfs_mem_free(s.v);
}

Test(recovery, with_repair_replay_stops_before_a_record_that_fails_and_the_log_is_cut)
{
    sess s = {.v = vfs_mem_create()};
    poison(&s);
    segdb_err e = {0};
    cr_assert_eq(start(&s, true, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.apply_failed_seq, 11);
    cr_assert_eq(s.res.seq, 10);
    cr_assert_eq(s.res.lost_records, 2);
    cr_assert_gt(s.res.truncated_bytes, 0);
    cr_assert(strstr(s.said, "replay stopped before it"), "%s", s.said);
    cr_assert_eq(has(s.db, 12), 0);
    for (uint64_t i = 1; i <= 10; i++)
        cr_assert_eq(has(s.db, i), 1);
    up(&s, 11); /* seq 11 again, a good one this time */
    stop(&s);
    cr_assert_eq(start(&s, false, 0, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.seq, 11);
    cr_assert_eq(has(s.db, 11), 1);
    stop(&s);
    vfs_mem_free(s.v);
}

Test(recovery, find_record_and_cut_log_at_walk_the_frames)
{
    sess s = {.v = vfs_mem_create()};
    segdb_err e = {0};
    cr_assert_eq(start(&s, false, 300, &e), 0, "%s", e.msg);
    for (uint64_t i = 1; i <= 30; i++)
        up(&s, i);
    stop(&s);
    char path[WAL_PATH_BYTES];
    uint64_t off = 0;
    cr_assert_eq(recovery_find_record(DIR, s.v, 1, path, &off, &e), 0, "%s", e.msg);
    cr_assert_eq(off, WAL_FILE_HEADER_BYTES);
    cr_assert_eq(recovery_find_record(DIR, s.v, 31, path, &off, &e), SEGDB_ENOTFOUND);
    cr_assert_eq(recovery_find_record(DIR, s.v, 17, path, &off, &e), 0, "%s", e.msg);
    uint64_t dropped = 0;
    cr_assert_eq(recovery_cut_log_at(DIR, s.v, 17, &dropped, &e), 0, "%s", e.msg);
    cr_assert_gt(dropped, 0);
    cr_assert_eq(start(&s, false, 300, &e), 0, "%s", e.msg);
    cr_assert_eq(s.res.seq, 16);
    cr_assert_eq(s.res.scan.status, WAL_SCAN_CLEAN);
    stop(&s);
    vfs_mem_free(s.v);
}

/* The crash workload: upserts acknowledged one flush at a time, a snapshot
 * every 15, a BGSAVE-free SAVE so it runs in this process. Returns the number
 * of acknowledged ids (1..acked). */
static uint64_t crash_workload(vfs *v, uint64_t n)
{
    sess s = {.v = v};
    segdb_err e = {0};
    if (start(&s, false, 700, &e))
        return 0;
    uint64_t acked = 0;
    for (uint64_t i = 1; i <= n; i++) {
        char name[32], city[32];
        snprintf(name, sizeof name, "Trần %" PRIu64, i);
        snprintf(city, sizeof city, "city%" PRIu64, i % 7);
        segdb_kv kv[2] = {{"name", name, strlen(name)}, {"city", city, strlen(city)}};
        int c;
        if (segdb_upsert(s.db, i, kv, 2, &c, &e) || dur_flush(s.d, &e))
            break;
        acked = i;
        if (i % 15 == 0 && dur_save(s.d, NULL, &e))
            break;
    }
    stop(&s);
    return acked;
}

Test(recovery, a_crash_at_many_byte_counts_loses_no_acknowledged_write)
{
    /* How many bytes the whole workload writes. */
    vfs *mem = vfs_mem_create();
    vfs *f = vfs_fault_create(mem);
    cr_assert_eq(crash_workload(f, 60), 60);
    vfs_fault_stats fs;
    vfs_fault_get_stats(f, &fs);
    uint64_t total = fs.bytes;
    vfs_fault_free(f);
    vfs_mem_free(mem);
    int runs = 0;
    for (uint64_t budget = 0; budget <= total; budget += 1 + budget / 23, runs++) {
        mem = vfs_mem_create();
        f = vfs_fault_create(mem);
        vfs_fault_plan p = {.crash = true, .crash_after_bytes = budget};
        vfs_fault_arm(f, &p);
        uint64_t acked = crash_workload(f, 60);
        vfs_fault_free(f);
        /* restart on what reached the disk */
        sess s = {.v = mem};
        segdb_err e = {0};
        int rc = start(&s, false, 700, &e);
        cr_assert_eq(rc, 0, "budget %" PRIu64 ": %s", budget, e.msg);
        for (uint64_t i = 1; i <= acked; i++)
            cr_assert_eq(has(s.db, i), 1, "budget %" PRIu64 ": acknowledged id %" PRIu64 " lost", budget, i);
        uint64_t extra = 0;
        for (uint64_t i = acked + 1; i <= 60; i++)
            extra += (uint64_t)has(s.db, i); /* all or nothing, checked in has() */
        cr_assert_leq(extra, 1, "budget %" PRIu64 ": at most the one unacknowledged write", budget);
        cr_assert_eq(seq_of(s.db), acked + extra);
        check_verify(s.db);
        stop(&s);
        vfs_mem_free(mem);
    }
    cr_assert_gt(runs, 50);
}

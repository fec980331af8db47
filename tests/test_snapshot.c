/*
 * test_snapshot.c — Criterion suite `snapshot` for storage/snapshot.c: the
 * file layout is the one documented at the top of snapshot.c; a snapshot
 * reloads into the same database; a file truncated at any offset, with any
 * byte flipped, with a wrong checksum or seq is refused (a damaged stream as
 * a checksum mismatch, found while loading reads it); write and fsync
 * failures and crashes never leave a file under a
 * final name; listing, pruning and .tmp cleanup.
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
#include <unistd.h>
#include <xxhash.h>

#include "segdb.h"
#include "snapshot.h"
#include "vfs.h"

#define DIR "/data"

static int64_t fixed_now(void *ctx)
{
    (void)ctx;
    return 1764000000;
}

static segdb_t *open_db(void)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_now;
    segdb_t *db = segdb_open(&o);
    cr_assert(db);
    return db;
}

static void put(segdb_t *db, uint64_t id, const char *name, const char *city, const char *tags)
{
    segdb_kv kv[3] = {{"name", name, strlen(name)}, {"city", city, strlen(city)},
                      {"tags", tags, strlen(tags)}};
    segdb_err e = {0};
    int c;
    cr_assert_eq(segdb_upsert(db, id, kv, 3, &c, &e), 0, "%s", e.msg);
}

/* A small database with a few kinds of state. */
static segdb_t *sample_db(int n)
{
    segdb_t *db = open_db();
    static const char *cities[] = {"Hà Nội", "Đà Nẵng", "Huế", "Sài Gòn"};
    for (int i = 1; i <= n; i++) {
        char name[32];
        snprintf(name, sizeof name, "Nguyễn Văn %d", i);
        put(db, (uint64_t)i, name, cities[i % 4], i % 3 ? "vip" : "new;vip");
    }
    segdb_err e = {0};
    cr_assert_eq(segdb_field_create(db, "score", "integer", &e), 0, "%s", e.msg);
    return db;
}

static uint64_t count(segdb_t *db, const char *filter)
{
    uint64_t n = 0;
    segdb_err e = {0};
    cr_assert_eq(segdb_count(db, filter, &n, &e), 0, "%s: %s", filter, e.msg);
    return n;
}

static uint64_t seq_of(segdb_t *db)
{
    segdb_stats st;
    segdb_get_stats(db, &st);
    return st.seq;
}

static void path_of(char *out, uint64_t seq, const char *suffix)
{
    char name[SNAPSHOT_NAME_BYTES];
    snapshot_name(seq, name);
    snprintf(out, SNAPSHOT_PATH_BYTES, DIR "/%s%s", name, suffix);
}

/* Writes db's snapshot to a fresh in-memory fs; returns the file's bytes. */
static unsigned char *snapshot_bytes(segdb_t *db, size_t *len, vfs **out_v)
{
    vfs *v = vfs_mem_create();
    cr_assert(v);
    segdb_err e = {0};
    snapshot_info si;
    cr_assert_eq(snapshot_write(DIR, v, db, &si, &e), 0, "%s", e.msg);
    char path[SNAPSHOT_PATH_BYTES];
    path_of(path, si.seq, "");
    void *data;
    cr_assert_eq(vfs_mem_get(v, path, &data, len), 0);
    cr_assert_eq(*len, si.file_bytes);
    if (out_v)
        *out_v = v;
    else
        vfs_mem_free(v);
    return data;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

Test(snapshot, names_are_20_digit_zero_padded_and_parse_back_strictly)
{
    char name[SNAPSHOT_NAME_BYTES];
    snapshot_name(42, name);
    cr_assert_str_eq(name, "snapshot-00000000000000000042.sdb");
    uint64_t s = 0;
    cr_assert(snapshot_parse_name(name, NULL, &s));
    cr_assert_eq(s, 42);
    cr_assert(snapshot_parse_name("snapshot-00000000000000000042.sdb.tmp", ".tmp", &s));
    cr_assert(snapshot_parse_name("snapshot-18446744073709551615.sdb", NULL, &s));
    cr_assert_eq(s, UINT64_MAX);
    cr_assert_not(snapshot_parse_name("snapshot-00000000000000000042.sdb.tmp", NULL, &s));
    cr_assert_not(snapshot_parse_name("snapshot-00000000000000000042.sdb", ".tmp", &s));
    cr_assert_not(snapshot_parse_name("snapshot-42.sdb", NULL, &s));
    cr_assert_not(snapshot_parse_name("snapshot-0000000000000000004x.sdb", NULL, &s));
    cr_assert_not(snapshot_parse_name("snapshot-99999999999999999999.sdb", NULL, &s), "overflow");
    cr_assert_not(snapshot_parse_name("wal-00000000000000000042.log", NULL, &s));
    cr_assert_not(snapshot_parse_name("", NULL, &s));
}

Test(snapshot, file_layout_matches_the_documented_format)
{
    segdb_t *db = sample_db(20);
    uint64_t seq = seq_of(db);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    cr_assert_geq(len, SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES + 16);
    /* header */
    cr_assert_eq(memcmp(b, "SEGDBSNP", 8), 0);
    cr_assert_eq(le32(b + 8), 2);
    cr_assert_eq(le32(b + 12), 0);
    cr_assert_eq(le64(b + 16), seq);
    cr_assert_eq(le64(b + 24), XXH64(b, 24, 0));
    /* stream = segdb_save's bytes */
    size_t n = len - 72;
    cr_assert_eq(memcmp(b + 32, "SEGDBST2", 8), 0);
    cr_assert_eq(le64(b + 40), seq, "the stream carries the seq too");
    cr_assert_eq(memcmp(b + 32 + n - 8, "SEGDBEND", 8), 0);
    /* trailer */
    const unsigned char *t = b + 32 + n;
    cr_assert_eq(memcmp(t, "SEGDBSNE", 8), 0);
    cr_assert_eq(le64(t + 8), n);
    cr_assert_eq(le64(t + 16), XXH64(b + 32, n, 0));
    cr_assert_eq(le64(t + 24), seq);
    cr_assert_eq(le64(t + 32), XXH64(t, 32, 0));
    free(b);
    segdb_close(db);
}

Test(snapshot, a_written_snapshot_loads_into_the_same_database)
{
    segdb_t *db = sample_db(300);
    segdb_err e = {0};
    uint64_t changed;
    segdb_target t = {.filter = "city:hue"};
    cr_assert_eq(segdb_tag(db, "hue-fans", &t, &changed, &e), 0, "%s", e.msg);
    uint64_t gone;
    uint64_t ids[] = {7, 8};
    cr_assert_eq(segdb_del(db, ids, 2, &gone, &e), 0);
    vfs *v;
    size_t len;
    free(snapshot_bytes(db, &len, &v));
    char path[SNAPSHOT_PATH_BYTES];
    path_of(path, seq_of(db), "");
    segdb_t *back = NULL;
    snapshot_info si;
    cr_assert_eq(snapshot_load(path, v, seq_of(db), NULL, &back, &si, &e), 0, "%s", e.msg);
    cr_assert_eq(si.seq, seq_of(db));
    cr_assert_eq(seq_of(back), seq_of(db));
    const char *filters[] = {"city:hanoi", "tag:vip", "tag:new AND NOT city:hue", "tag:hue-fans",
                             "q:nguyen", "has:score"};
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++)
        cr_assert_eq(count(back, filters[i]), count(db, filters[i]), "%s", filters[i]);
    cr_assert_eq(count(back, NULL), 298);
    cr_assert_eq(segdb_verify(back, &e), 0, "%s", e.msg);
    /* snapshot_verify agrees without parsing */
    cr_assert_eq(snapshot_verify(path, v, SNAPSHOT_ANY_SEQ, &si, &e), 0, "%s", e.msg);
    segdb_close(back);
    segdb_close(db);
    vfs_mem_free(v);
}

Test(snapshot, an_empty_database_round_trips_at_seq_0)
{
    segdb_t *db = open_db();
    vfs *v;
    size_t len;
    free(snapshot_bytes(db, &len, &v));
    char path[SNAPSHOT_PATH_BYTES];
    path_of(path, 0, "");
    segdb_t *back = NULL;
    segdb_err e = {0};
    cr_assert_eq(snapshot_load(path, v, 0, NULL, &back, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(count(back, NULL), 0);
    segdb_close(back);
    segdb_close(db);
    vfs_mem_free(v);
}

/* Loads bytes as a snapshot named for seq; returns the load's code. */
static int try_load(const unsigned char *b, size_t len, uint64_t seq, segdb_err *e)
{
    vfs *v = vfs_mem_create();
    char path[SNAPSHOT_PATH_BYTES];
    path_of(path, seq, "");
    cr_assert_eq(vfs_mem_put(v, path, b, len), 0);
    segdb_t *db = NULL;
    int vrc = snapshot_verify(path, v, seq, NULL, e);
    int rc = snapshot_load(path, v, seq, NULL, &db, NULL, e);
    cr_assert_eq(rc == 0, vrc == 0, "verify and load agree (verify %d, load %d: %s)", vrc, rc, e->msg);
    cr_assert_eq(rc == 0, db != NULL);
    segdb_close(db);
    vfs_mem_free(v);
    return rc;
}

Test(snapshot, truncation_at_every_offset_is_refused_with_the_offset)
{
    segdb_t *db = sample_db(30);
    uint64_t seq = seq_of(db);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    segdb_err e = {0};
    cr_assert_eq(try_load(b, len, seq, &e), 0, "%s", e.msg);
    for (size_t cut = 0; cut < len; cut++) {
        int rc = try_load(b, cut, seq, &e);
        cr_assert_eq(rc, SEGDB_EINVAL, "cut at %zu: %d %s", cut, rc, e.msg);
        cr_assert(strstr(e.msg, "snapshot-"), "names the file: %s", e.msg);
        if (cut < SNAPSHOT_HEADER_BYTES)
            cr_assert(strstr(e.msg, "truncated at offset"), "cut %zu: %s", cut, e.msg);
        else if (cut >= SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES)
            cr_assert(strstr(e.msg, "offset"), "cut %zu: %s", cut, e.msg);
    }
    free(b);
    segdb_close(db);
}

Test(snapshot, a_flipped_bit_in_any_byte_is_refused_as_damaged)
{
    segdb_t *db = sample_db(12);
    uint64_t seq = seq_of(db);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    segdb_err e = {0};
    for (size_t i = 0; i < len; i++) {
        b[i] ^= (unsigned char)(1u << (i % 8));
        int rc = try_load(b, len, seq, &e);
        cr_assert_eq(rc, SEGDB_EINVAL, "flip in byte %zu accepted", i);
        if (i >= SNAPSHOT_HEADER_BYTES && i < len - SNAPSHOT_TRAILER_BYTES)
            cr_assert(strstr(e.msg, "checksum mismatch"), "byte %zu: %s", i, e.msg);
        b[i] ^= (unsigned char)(1u << (i % 8));
    }
    cr_assert_eq(try_load(b, len, seq, &e), 0, "restored: %s", e.msg);
    free(b);
    segdb_close(db);
}

/* Rewrites the trailer's checksum after changing one of its fields. */
static void reseal_trailer(unsigned char *b, size_t len)
{
    unsigned char *t = b + len - SNAPSHOT_TRAILER_BYTES;
    put64(t + 32, XXH64(t, 32, 0));
}

/* After bytes of the header (0..23) changed: its checksum again. */
static void reseal_header(unsigned char *b) { put64(b + 24, XXH64(b, 24, 0)); }

Test(snapshot, a_wrong_stream_checksum_in_a_valid_trailer_is_refused)
{
    segdb_t *db = sample_db(5);
    uint64_t seq = seq_of(db);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    unsigned char *t = b + len - SNAPSHOT_TRAILER_BYTES;
    put64(t + 16, le64(t + 16) + 1);
    reseal_trailer(b, len);
    segdb_err e = {0};
    cr_assert_eq(try_load(b, len, seq, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "checksum mismatch over the stream"), "%s", e.msg);
    free(b);
    segdb_close(db);
}

Test(snapshot, a_trailer_length_or_seq_that_disagrees_is_refused)
{
    segdb_t *db = sample_db(5);
    uint64_t seq = seq_of(db);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    unsigned char *t = b + len - SNAPSHOT_TRAILER_BYTES;
    segdb_err e = {0};
    put64(t + 8, le64(t + 8) - 1);
    reseal_trailer(b, len);
    cr_assert_eq(try_load(b, len, seq, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "says the stream is"), "%s", e.msg);
    put64(t + 8, le64(t + 8) + 1);
    put64(t + 24, seq + 1);
    reseal_trailer(b, len);
    cr_assert_eq(try_load(b, len, seq, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "the trailer at offset"), "%s", e.msg);
    free(b);
    segdb_close(db);
}

Test(snapshot, a_header_seq_that_differs_from_the_file_name_is_refused)
{
    segdb_t *db = sample_db(5);
    uint64_t seq = seq_of(db);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    segdb_err e = {0};
    cr_assert_eq(try_load(b, len, seq + 1, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "the file name"), "%s", e.msg);
    free(b);
    segdb_close(db);
}

Test(snapshot, another_format_version_is_refused)
{
    segdb_t *db = sample_db(3);
    uint64_t seq = seq_of(db);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    b[8] = 3;
    reseal_header(b);
    segdb_err e = {0};
    cr_assert_eq(try_load(b, len, seq, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "format version 3.0, this build reads versions 1 to 2"), "%s", e.msg);
    free(b);
    segdb_close(db);
}

/* A version 1 file (header version 1, stream "SEGDBST1", as earlier builds
 * wrote them) still loads: the same answers. */
Test(snapshot, version_1_files_are_still_read)
{
    segdb_t *db = sample_db(30);
    uint64_t seq = seq_of(db);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    size_t n = len - SNAPSHOT_HEADER_BYTES - SNAPSHOT_TRAILER_BYTES;
    b[8] = 1;
    reseal_header(b);
    memcpy(b + 32, "SEGDBST1", 8);
    put64(b + 32 + n + 16, XXH64(b + 32, n, 0)); /* the trailer's stream checksum */
    reseal_trailer(b, len);
    segdb_err e = {0};
    cr_assert_eq(try_load(b, len, seq, &e), 0, "%s", e.msg);
    vfs *v = vfs_mem_create();
    char path[SNAPSHOT_PATH_BYTES];
    path_of(path, seq, "");
    cr_assert_eq(vfs_mem_put(v, path, b, len), 0);
    segdb_t *back = NULL;
    cr_assert_eq(snapshot_load(path, v, seq, NULL, &back, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(count(back, "city:hue"), count(db, "city:hue"));
    cr_assert_eq(count(back, "has:name OR missing:name"), count(db, "has:name OR missing:name"));
    cr_assert_eq(segdb_verify(back, &e), 0, "%s", e.msg);
    segdb_close(back);
    vfs_mem_free(v);
    free(b);
    segdb_close(db);
}

Test(snapshot, a_sealed_file_whose_stream_does_not_parse_is_refused_by_load_only)
{
    /* header + 100 garbage bytes + a trailer that checks out */
    unsigned char b[32 + 100 + 40];
    memcpy(b, "SEGDBSNP", 8);
    memset(b + 8, 0, 24);
    b[8] = 1;
    put64(b + 16, 9);
    reseal_header(b);
    for (int i = 0; i < 100; i++)
        b[32 + i] = (unsigned char)(i * 37 + 11);
    unsigned char *t = b + 132;
    memcpy(t, "SEGDBSNE", 8);
    put64(t + 8, 100);
    put64(t + 16, XXH64(b + 32, 100, 0));
    put64(t + 24, 9);
    put64(t + 32, XXH64(t, 32, 0));
    vfs *v = vfs_mem_create();
    char path[SNAPSHOT_PATH_BYTES];
    path_of(path, 9, "");
    cr_assert_eq(vfs_mem_put(v, path, b, sizeof b), 0);
    segdb_err e = {0};
    cr_assert_eq(snapshot_verify(path, v, 9, NULL, &e), 0, "%s", e.msg);
    segdb_t *db = NULL;
    cr_assert_eq(snapshot_load(path, v, 9, NULL, &db, NULL, &e), SEGDB_EINVAL);
    cr_assert_null(db);
    cr_assert(strstr(e.msg, "does not load"), "%s", e.msg);
    vfs_mem_free(v);
}

Test(snapshot, a_missing_file_is_refused)
{
    vfs *v = vfs_mem_create();
    segdb_err e = {0};
    segdb_t *db = NULL;
    cr_assert_eq(snapshot_load(DIR "/snapshot-00000000000000000001.sdb", v, 1, NULL, &db, NULL, &e),
                 SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "cannot open"), "%s", e.msg);
    vfs_mem_free(v);
}

/* Writes a snapshot through a fault plan; the previous one must survive. */
static void failing_write(const vfs_fault_plan *plan, const char *want)
{
    vfs *mem = vfs_mem_create();
    vfs *v = vfs_fault_create(mem);
    segdb_t *db = sample_db(50);
    segdb_err e = {0};
    snapshot_info old;
    cr_assert_eq(snapshot_write(DIR, v, db, &old, &e), 0, "%s", e.msg);
    put(db, 1000, "Lê Thị Mới", "Huế", "x");
    vfs_fault_arm(v, plan);
    int rc = snapshot_write(DIR, v, db, NULL, &e);
    cr_assert_eq(rc, SEGDB_EREADONLY, "rc %d: %s", rc, e.msg);
    cr_assert(strstr(e.msg, want), "%s", e.msg);
    vfs_fault_disarm(v);
    snapshot_list l;
    cr_assert_eq(snapshot_list_dir(DIR, mem, &l, &e), 0);
    cr_assert_eq(l.n, 1, "only the old snapshot has a final name");
    cr_assert_eq(l.seq[0], old.seq);
    if (!plan->crash)
        cr_assert_eq(l.ntmp, 0, "the temporary file is removed");
    snapshot_list_free(&l);
    uint64_t removed = 0;
    cr_assert_eq(snapshot_remove_tmp(DIR, mem, &removed, &e), 0);
    cr_assert_eq(snapshot_list_dir(DIR, mem, &l, &e), 0);
    cr_assert_eq(l.ntmp, 0);
    snapshot_list_free(&l);
    char path[SNAPSHOT_PATH_BYTES];
    path_of(path, old.seq, "");
    cr_assert_eq(snapshot_verify(path, mem, old.seq, NULL, &e), 0, "%s", e.msg);
    segdb_close(db);
    vfs_fault_free(v);
    vfs_mem_free(mem);
}

Test(snapshot, enospc_while_writing_leaves_the_previous_snapshot_alone)
{
    vfs_fault_plan p = {.write_fail_at = 2, .write_errno = ENOSPC, .write_short_bytes = 10};
    failing_write(&p, "No space left on device");
}

Test(snapshot, eio_on_fsync_leaves_the_previous_snapshot_alone)
{
    vfs_fault_plan p = {.sync_fail_at = 1, .sync_errno = EIO};
    failing_write(&p, "cannot fsync");
}

Test(snapshot, a_crash_at_many_byte_counts_never_leaves_a_partial_final_file)
{
    segdb_t *db = sample_db(40);
    size_t len;
    unsigned char *b = snapshot_bytes(db, &len, NULL);
    free(b);
    for (uint64_t budget = 0; budget < len + 8; budget += 1 + budget / 7) {
        vfs *mem = vfs_mem_create();
        vfs *v = vfs_fault_create(mem);
        vfs_fault_plan p = {.crash = true, .crash_after_bytes = budget};
        vfs_fault_arm(v, &p);
        segdb_err e = {0};
        int rc = snapshot_write(DIR, v, db, NULL, &e);
        snapshot_list l;
        cr_assert_eq(snapshot_list_dir(DIR, mem, &l, &e), 0);
        if (rc) {
            cr_assert_eq(l.n, 0, "budget %" PRIu64 ": a failed write left a final file", budget);
        } else {
            cr_assert_eq(l.n, 1);
            char path[SNAPSHOT_PATH_BYTES];
            path_of(path, l.seq[0], "");
            cr_assert_eq(snapshot_verify(path, mem, l.seq[0], NULL, &e), 0, "%s", e.msg);
        }
        snapshot_list_free(&l);
        vfs_fault_free(v);
        vfs_mem_free(mem);
    }
    segdb_close(db);
}

Test(snapshot, list_classifies_final_tmp_and_corrupt_files_and_prune_keeps_the_newest)
{
    vfs *v = vfs_mem_create();
    const char *names[] = {"snapshot-00000000000000000005.sdb", "snapshot-00000000000000000001.sdb",
                           "snapshot-00000000000000000009.sdb", "snapshot-00000000000000000007.sdb",
                           "snapshot-00000000000000000011.sdb.tmp",
                           "snapshot-00000000000000000003.sdb.corrupt", "wal-00000000000000000001.log",
                           "snapshot-1.sdb", "notes.txt"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char p[SNAPSHOT_PATH_BYTES];
        snprintf(p, sizeof p, DIR "/%s", names[i]);
        cr_assert_eq(vfs_mem_put(v, p, "x", 1), 0);
    }
    snapshot_list l;
    segdb_err e = {0};
    cr_assert_eq(snapshot_list_dir(DIR, v, &l, &e), 0);
    cr_assert_eq(l.n, 4);
    cr_assert_eq(l.seq[0], 1);
    cr_assert_eq(l.seq[1], 5);
    cr_assert_eq(l.seq[2], 7);
    cr_assert_eq(l.seq[3], 9);
    cr_assert_eq(l.ntmp, 1);
    cr_assert_eq(l.tmp[0], 11);
    cr_assert_eq(l.ncorrupt, 1);
    cr_assert_eq(l.corrupt[0], 3);
    snapshot_list_free(&l);
    uint64_t removed = 0;
    cr_assert_eq(snapshot_prune(DIR, v, 2, &removed, &e), 0, "%s", e.msg);
    cr_assert_eq(removed, 2);
    cr_assert_eq(snapshot_list_dir(DIR, v, &l, &e), 0);
    cr_assert_eq(l.n, 2);
    cr_assert_eq(l.seq[0], 7);
    cr_assert_eq(l.seq[1], 9);
    cr_assert_eq(l.ntmp, 1, "prune leaves .tmp files to snapshot_remove_tmp");
    cr_assert_eq(l.ncorrupt, 1, "and never touches .corrupt ones");
    snapshot_list_free(&l);
    cr_assert_eq(snapshot_remove_tmp(DIR, v, &removed, &e), 0);
    cr_assert_eq(removed, 1);
    void *d;
    size_t n;
    cr_assert_eq(vfs_mem_get(v, DIR "/notes.txt", &d, &n), 0, "other files are left alone");
    free(d);
    cr_assert_eq(snapshot_list_dir("/nowhere", v, &l, &e), 0, "a missing dir is empty");
    cr_assert_eq(l.n, 0);
    snapshot_list_free(&l);
    vfs_mem_free(v);
}

Test(snapshot, writing_again_at_the_same_seq_replaces_the_file_atomically)
{
    vfs *v = vfs_mem_create();
    segdb_t *db = sample_db(10);
    segdb_err e = {0};
    snapshot_info a, b;
    cr_assert_eq(snapshot_write(DIR, v, db, &a, &e), 0, "%s", e.msg);
    cr_assert_eq(snapshot_write(DIR, v, db, &b, &e), 0, "%s", e.msg);
    cr_assert_eq(a.seq, b.seq);
    snapshot_list l;
    cr_assert_eq(snapshot_list_dir(DIR, v, &l, &e), 0);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.ntmp, 0);
    snapshot_list_free(&l);
    segdb_close(db);
    vfs_mem_free(v);
}

Test(snapshot, a_real_directory_through_posix)
{
    char dir[] = "/tmp/segdb-snap-XXXXXX";
    cr_assert(mkdtemp(dir));
    segdb_t *db = sample_db(100);
    segdb_err e = {0};
    snapshot_info si;
    cr_assert_eq(snapshot_write(dir, NULL, db, &si, &e), 0, "%s", e.msg);
    char name[SNAPSHOT_NAME_BYTES], path[SNAPSHOT_PATH_BYTES];
    snapshot_name(si.seq, name);
    snapshot_path(dir, name, path);
    segdb_t *back = NULL;
    cr_assert_eq(snapshot_load(path, NULL, si.seq, NULL, &back, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(count(back, "tag:vip"), count(db, "tag:vip"));
    segdb_close(back);
    segdb_close(db);
    unlink(path);
    rmdir(dir);
}

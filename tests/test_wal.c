/*
 * test_wal.c — Criterion suite `wal` for storage/wal.c: the byte format as
 * documented, round trips, rotation, segment removal, every corruption class
 * (truncation at every offset of the last record, a bit flip in every byte, a
 * wrong length, a wrong sequence, zero and garbage tails, damage in a non-last
 * segment, foreign versions), injected write/fsync failures through the fault
 * vfs, and crashes at every byte count of a workload.
 *
 * Files live in mkdtemp() directories under /tmp, removed by each test; the
 * exhaustive crash loop runs on the in-memory vfs to stay fast.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "vfs.h"
#include "wal.h"

/* ---- helpers --------------------------------------------------------------- */

static char *mk_tmpdir(void)
{
    char *t = strdup("/tmp/segdb-wal-XXXXXX");
    cr_assert(t && mkdtemp(t), "mkdtemp failed");
    return t;
}

static void rm_tree(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s * 0x2545F4914F6CDD1Dull;
}

enum { BODY_RANDOM, BODY_TEXT };

/* A deterministic body: random bytes, or repetitive (compressible) text. */
static uint8_t *make_body(size_t n, int kind, uint64_t seed)
{
    uint8_t *b = malloc(n ? n : 1);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    static const char words[] = "Nguyen Van An|Ha Noi|tag:vip|0912345678|";
    for (size_t i = 0; i < n; i++)
        b[i] = kind == BODY_RANDOM ? (uint8_t)rng(&s) : (uint8_t)words[(i + seed) % (sizeof words - 1)];
    return b;
}

typedef struct rec {
    uint64_t seq;
    uint8_t *body;
    size_t len;
} rec;

typedef struct recs {
    rec *v;
    size_t n, cap;
} recs;

static void recs_push(recs *r, uint64_t seq, const void *body, size_t len)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
    }
    rec *x = &r->v[r->n++];
    x->seq = seq;
    x->len = len;
    x->body = malloc(len ? len : 1);
    if (len)
        memcpy(x->body, body, len);
}

static void recs_free(recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].body);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int collect(void *ctx, uint64_t seq, const void *body, size_t len, segdb_err *err)
{
    (void)err;
    recs_push(ctx, seq, body, len);
    return 0;
}

static void seg_file(char *out, const char *dir, uint64_t seq)
{
    char name[WAL_SEGMENT_NAME_BYTES];
    wal_segment_name(seq, name);
    snprintf(out, 4096, "%s/%s", dir, name);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n ? (size_t)n : 1);
    cr_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot create %s", path);
    cr_assert(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static void append_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "ab");
    cr_assert(f);
    cr_assert(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static int count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    uint64_t s;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += wal_parse_segment_name(de->d_name, &s);
    if (d)
        closedir(d);
    return n;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Frame start offsets of a segment image, read with the documented layout;
 * offs[n] is the end. Returns n. */
static size_t frame_offsets(const uint8_t *img, size_t len, uint64_t *offs, size_t max)
{
    size_t n = 0;
    uint64_t off = WAL_FILE_HEADER_BYTES;
    while (off + 4 <= len && n < max) {
        offs[n++] = off;
        off += le32(img + off);
    }
    offs[n] = off;
    return n;
}

/* Encoders written from the documentation, independent of wal.c. */
static size_t enc_header(uint8_t *out, uint64_t first_seq, uint32_t version)
{
    memcpy(out, "SEGDBWAL", 8);
    put32(out + 8, version);
    put32(out + 12, 0);
    put64(out + 16, first_seq);
    put64(out + 24, XXH64(out, 24, 0));
    return 32;
}

static size_t enc_frame(uint8_t *out, uint64_t seq, const void *body, uint32_t len, bool lz4)
{
    uint32_t stored = len;
    if (lz4) {
        int c = LZ4_compress_default(body, (char *)out + 25, (int)len, LZ4_compressBound((int)len));
        cr_assert(c > 0);
        stored = (uint32_t)c;
    } else if (len) {
        memcpy(out + 25, body, len);
    }
    put32(out, 25 + stored);
    put64(out + 4, seq);
    put32(out + 12, len);
    out[16] = lz4 ? 1 : 0;
    XXH64_state_t *xs = XXH64_createState();
    XXH64_reset(xs, 0);
    XXH64_update(xs, out, 17);
    XXH64_update(xs, out + 25, stored);
    put64(out + 17, XXH64_digest(xs));
    XXH64_freeState(xs);
    return 25 + stored;
}

static wal_t *open_log(const char *dir, vfs *v, wal_fsync_mode mode, uint64_t segmax,
                       uint64_t start_seq)
{
    wal_options o;
    wal_options_init(&o);
    o.fsync_mode = mode;
    o.segment_max_bytes = segmax;
    o.start_seq = start_seq;
    o.everysec_thread = false;
    wal_t *w = NULL;
    segdb_err e = {0};
    int rc = wal_open(dir, v, &o, &w, &e);
    cr_assert_eq(rc, 0, "wal_open: %s", e.msg);
    return w;
}

/* Appends records first..first+n-1 with small text bodies "record <seq>",
 * flushing every `batch`; closes the log. */
static void write_small(const char *dir, uint64_t first, size_t n, size_t batch, uint64_t segmax)
{
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, segmax, first);
    segdb_err e = {0};
    for (size_t i = 0; i < n; i++) {
        char b[64];
        int len = snprintf(b, sizeof b, "record %" PRIu64, first + i);
        cr_assert_eq(wal_append(w, first + i, b, (size_t)len, &e), 0, "%s", e.msg);
        if ((i + 1) % batch == 0)
            cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    }
    cr_assert_eq(wal_close(w, &e), 0, "%s", e.msg);
}

static void check_small(const recs *r, uint64_t first, size_t n)
{
    cr_assert_eq(r->n, n, "got %zu records, want %zu", r->n, n);
    for (size_t i = 0; i < n; i++) {
        char b[64];
        int len = snprintf(b, sizeof b, "record %" PRIu64, first + i);
        cr_assert_eq(r->v[i].seq, first + i);
        cr_assert_eq(r->v[i].len, (size_t)len);
        cr_assert(!memcmp(r->v[i].body, b, (size_t)len), "body of seq %" PRIu64, first + i);
    }
}

static int scan(const char *dir, vfs *v, uint64_t from, int flags, recs *out,
                wal_scan_result *res, segdb_err *e)
{
    memset(e, 0, sizeof *e);
    return wal_scan(dir, v, from, collect, out, flags, res, e);
}

/* ---- names and format ------------------------------------------------------ */

Test(wal, segment_names_are_20_digit_zero_padded_and_parse_back)
{
    char name[WAL_SEGMENT_NAME_BYTES];
    wal_segment_name(42, name);
    cr_assert_str_eq(name, "wal-00000000000000000042.log");
    uint64_t s = 0;
    cr_assert(wal_parse_segment_name(name, &s));
    cr_assert_eq(s, 42);
    wal_segment_name(UINT64_MAX - 1, name);
    cr_assert_str_eq(name, "wal-18446744073709551614.log");
    cr_assert(wal_parse_segment_name(name, &s));
    cr_assert_eq(s, UINT64_MAX - 1);
    cr_assert(!wal_parse_segment_name("wal-18446744073709551615.log", &s), "no seq 2^64-1");
    cr_assert(!wal_parse_segment_name("wal-00000000000000000000.log", &s), "no seq 0");
    cr_assert(!wal_parse_segment_name("wal-42.log", &s));
    cr_assert(!wal_parse_segment_name("wal-0000000000000000004x.log", &s));
    cr_assert(!wal_parse_segment_name("wal-99999999999999999999.log", &s), "overflow");
    cr_assert(!wal_parse_segment_name("wal-00000000000000000042.log.tmp", &s));
    cr_assert(!wal_parse_segment_name("snapshot-00000000000000000042.sdb", &s));
}

Test(wal, fsync_mode_names_parse_both_ways)
{
    cr_assert_eq(wal_fsync_mode_parse("always"), WAL_FSYNC_ALWAYS);
    cr_assert_eq(wal_fsync_mode_parse("everysec"), WAL_FSYNC_EVERYSEC);
    cr_assert_eq(wal_fsync_mode_parse("no"), WAL_FSYNC_NO);
    cr_assert_eq(wal_fsync_mode_parse("sometimes"), -1);
    cr_assert_str_eq(wal_fsync_mode_name(WAL_FSYNC_EVERYSEC), "everysec");
    wal_options o;
    wal_options_init(&o);
    cr_assert_eq(o.fsync_mode, WAL_FSYNC_EVERYSEC, "SPEC: default everysec");
}

Test(wal, bytes_on_disk_match_the_documented_layout)
{
    char *dir = mk_tmpdir();
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_ALWAYS, 0, 7);
    segdb_err e = {0};
    uint8_t *big = make_body(5000, BODY_TEXT, 1);
    cr_assert_eq(wal_append(w, 7, "hello", 5, &e), 0, "%s", e.msg);
    cr_assert_eq(wal_append(w, 8, big, 5000, &e), 0, "%s", e.msg);
    cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    cr_assert_eq(wal_close(w, &e), 0, "%s", e.msg);

    char path[4096];
    seg_file(path, dir, 7);
    size_t len;
    uint8_t *img = read_file(path, &len);
    cr_assert(!memcmp(img, "SEGDBWAL", 8));
    cr_assert_eq(le32(img + 8), 1, "version");
    cr_assert_eq(le32(img + 12), 0, "reserved");
    cr_assert_eq(le64(img + 16), 7, "first seq");
    cr_assert_eq(le64(img + 24), XXH64(img, 24, 0), "header checksum");

    const uint8_t *f = img + 32;
    cr_assert_eq(le32(f), 25 + 5, "frame length");
    cr_assert_eq(le64(f + 4), 7);
    cr_assert_eq(le32(f + 12), 5);
    cr_assert_eq(f[16], 0, "small bodies are stored raw");
    uint8_t expect[64];
    enc_frame(expect, 7, "hello", 5, false);
    cr_assert(!memcmp(f, expect, 30), "frame 1 differs from the documented encoding");

    f += 30;
    uint32_t flen = le32(f);
    cr_assert_eq(le64(f + 4), 8);
    cr_assert_eq(le32(f + 12), 5000);
    cr_assert_eq(f[16], 1, "compressible bodies are LZ4");
    cr_assert(flen < 25 + 5000 / 4, "LZ4 made it smaller: %u", flen);
    XXH64_state_t *xs = XXH64_createState();
    XXH64_reset(xs, 0);
    XXH64_update(xs, f, 17);
    XXH64_update(xs, f + 25, flen - 25);
    cr_assert_eq(le64(f + 17), XXH64_digest(xs), "checksum = XXH64(header fields, stored body)");
    XXH64_freeState(xs);
    uint8_t *out = malloc(5000);
    cr_assert_eq(LZ4_decompress_safe((const char *)f + 25, (char *)out, (int)flen - 25, 5000), 5000);
    cr_assert(!memcmp(out, big, 5000));
    cr_assert_eq(32 + 30 + flen, len, "nothing after the last frame");
    free(out);
    free(img);
    free(big);
    rm_tree(dir);
}

Test(wal, log_built_from_the_documentation_scans_back)
{
    char *dir = mk_tmpdir();
    uint8_t *img = malloc(100000);
    uint8_t *body = make_body(20000, BODY_TEXT, 3);
    size_t n = enc_header(img, 1, 1);
    n += enc_frame(img + n, 1, "a", 1, false);
    n += enc_frame(img + n, 2, body, 20000, true);
    n += enc_frame(img + n, 3, "", 0, false);
    char path[4096];
    seg_file(path, dir, 1);
    write_file(path, img, n);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.status, WAL_SCAN_CLEAN);
    cr_assert_eq(r.n, 3);
    cr_assert_eq(r.v[1].len, 20000);
    cr_assert(!memcmp(r.v[1].body, body, 20000));
    cr_assert_eq(r.v[2].len, 0);
    cr_assert_eq(res.last_seq, 3);
    cr_assert_eq(res.next_seq, 4);
    recs_free(&r);
    free(img);
    free(body);
    rm_tree(dir);
}

/* ---- round trips -------------------------------------------------------------- */

Test(wal, round_trip_of_bodies_from_0_bytes_to_1MB_random_and_compressible)
{
    char *dir = mk_tmpdir();
    static const size_t sizes[] = {0, 1, 2, 24, 25, 63, 64, 65, 100, 255, 256, 1000, 4095, 4096,
                                   65535, 65536, 100000, 1 << 20};
    size_t ns = sizeof sizes / sizeof *sizes, total = 2 * ns + 300;
    uint8_t **bodies = calloc(total, sizeof *bodies);
    size_t *lens = calloc(total, sizeof *lens);
    for (size_t i = 0; i < 2 * ns; i++) {
        lens[i] = sizes[i % ns];
        bodies[i] = make_body(lens[i], i < ns ? BODY_RANDOM : BODY_TEXT, i);
    }
    uint64_t s = 99;
    for (size_t i = 2 * ns; i < total; i++) {
        lens[i] = (size_t)(rng(&s) % 700);
        bodies[i] = make_body(lens[i], (int)(rng(&s) % 2), i);
    }
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 0, 1);
    segdb_err e = {0};
    for (size_t i = 0; i < total; i++) {
        cr_assert_eq(wal_append(w, i + 1, bodies[i], lens[i], &e), 0, "%s", e.msg);
        if (i % 7 == 6)
            cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    }
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert_eq(st.records, total);
    cr_assert_eq(st.last_seq, total);
    cr_assert_eq(wal_close(w, &e), 0, "%s", e.msg);

    recs r = {0};
    wal_scan_result res;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.status, WAL_SCAN_CLEAN);
    cr_assert_eq(r.n, total);
    cr_assert_eq(res.records, total);
    cr_assert_eq(res.first_seq, 1);
    cr_assert_eq(res.last_seq, total);
    for (size_t i = 0; i < total; i++) {
        cr_assert_eq(r.v[i].seq, i + 1);
        cr_assert_eq(r.v[i].len, lens[i], "record %zu length", i + 1);
        cr_assert(!lens[i] || !memcmp(r.v[i].body, bodies[i], lens[i]), "record %zu body", i + 1);
        free(bodies[i]);
    }
    recs_free(&r);
    free(bodies);
    free(lens);
    rm_tree(dir);
}

Test(wal, random_bodies_are_stored_raw_and_text_compressed)
{
    char *dir = mk_tmpdir();
    uint8_t *rnd = make_body(100000, BODY_RANDOM, 5), *txt = make_body(100000, BODY_TEXT, 5);
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 0, 1);
    segdb_err e = {0};
    cr_assert_eq(wal_append(w, 1, rnd, 100000, &e), 0);
    cr_assert_eq(wal_flush(w, &e), 0);
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert_eq(st.segment_bytes, 32 + 25 + 100000, "incompressible: raw, no LZ4 overhead");
    cr_assert_eq(wal_append(w, 2, txt, 100000, &e), 0);
    cr_assert_eq(wal_flush(w, &e), 0);
    wal_get_stats(w, &st);
    cr_assert_lt(st.segment_bytes, 32 + 25 + 100000 + 25 + 2000, "text: compressed");
    cr_assert_eq(wal_close(w, &e), 0);
    free(rnd);
    free(txt);
    rm_tree(dir);
}

Test(wal, scan_from_seq_delivers_only_later_records)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 50, 5, 0);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 30, 0, &r, &res, &e), 0, "%s", e.msg);
    check_small(&r, 31, 20);
    cr_assert_eq(res.records, 50);
    cr_assert_eq(res.delivered, 20);
    recs_free(&r);
    cr_assert_eq(scan(dir, NULL, 50, 0, &r, &res, &e), 0);
    cr_assert_eq(r.n, 0);
    cr_assert_eq(scan(dir, NULL, 90, 0, &r, &res, &e), 0, "a snapshot past the log is fine");
    cr_assert_eq(r.n, 0);
    cr_assert_eq(res.last_seq, 50);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, scan_of_missing_or_empty_dir_is_a_clean_empty_log)
{
    char *dir = mk_tmpdir();
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0);
    cr_assert_eq(res.segments, 0);
    cr_assert_eq(res.next_seq, 0);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/nope", dir);
    cr_assert_eq(scan(sub, NULL, 0, 0, &r, &res, &e), 0);
    cr_assert_eq(r.n, 0);
    rm_tree(dir);
}

static int stop_at_3(void *ctx, uint64_t seq, const void *b, size_t n, segdb_err *err)
{
    (void)b;
    (void)n;
    ++*(int *)ctx;
    if (seq == 3) {
        err->code = SEGDB_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "stop");
        return SEGDB_ENOMEM;
    }
    return 0;
}

Test(wal, callback_error_stops_the_scan_and_is_returned)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 10, 10, 0);
    int calls = 0;
    segdb_err e = {0};
    cr_assert_eq(wal_scan(dir, NULL, 0, stop_at_3, &calls, 0, NULL, &e), SEGDB_ENOMEM);
    cr_assert_eq(calls, 3);
    cr_assert_str_eq(e.msg, "stop");
    rm_tree(dir);
}

/* ---- opening, appending ----------------------------------------------------------- */

Test(wal, reopen_appends_after_the_last_record_in_the_same_segment)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 10, 3, 0);
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_ALWAYS, 0, 11);
    segdb_err e = {0};
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert_eq(st.segment_first_seq, 1);
    cr_assert_eq(st.durable_seq, 10);
    for (uint64_t s = 11; s <= 20; s++) {
        char b[64];
        int len = snprintf(b, sizeof b, "record %" PRIu64, s);
        cr_assert_eq(wal_append(w, s, b, (size_t)len, &e), 0, "%s", e.msg);
    }
    cr_assert_eq(wal_close(w, &e), 0, "%s", e.msg);
    cr_assert_eq(count_segments(dir), 1);
    recs r = {0};
    wal_scan_result res;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    check_small(&r, 1, 20);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, append_with_the_wrong_seq_or_over_the_limit_is_rejected)
{
    char *dir = mk_tmpdir();
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 0, 5);
    segdb_err e = {0};
    cr_assert_eq(wal_append(w, 4, "x", 1, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "expects 5"), "%s", e.msg);
    cr_assert_eq(wal_append(w, 6, "x", 1, &e), SEGDB_EINVAL);
    cr_assert_eq(wal_append(w, 5, "x", (size_t)WAL_MAX_RECORD_BYTES + 1, &e), SEGDB_ELIMIT);
    cr_assert_eq(wal_append(w, 5, "x", 1, &e), 0);
    cr_assert_eq(wal_close(w, &e), 0);
    rm_tree(dir);
}

Test(wal, open_with_start_seq_past_the_log_drops_segments_a_snapshot_covers)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 40, 4, 200);
    cr_assert_gt(count_segments(dir), 2);
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 200, 101);
    segdb_err e = {0};
    cr_assert_eq(count_segments(dir), 1);
    char path[4096];
    seg_file(path, dir, 101);
    cr_assert_eq(file_size(path), 32);
    cr_assert_eq(wal_append(w, 101, "x", 1, &e), 0);
    cr_assert_eq(wal_close(w, &e), 0);
    recs r = {0};
    cr_assert_eq(scan(dir, NULL, 100, 0, &r, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(r.n, 1);
    cr_assert_eq(r.v[0].seq, 101);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, open_with_start_seq_before_the_log_end_is_refused)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 10, 10, 0);
    wal_options o;
    wal_options_init(&o);
    o.start_seq = 5;
    o.everysec_thread = false;
    wal_t *w = NULL;
    segdb_err e = {0};
    cr_assert_eq(wal_open(dir, NULL, &o, &w, &e), SEGDB_EINVAL);
    cr_assert_null(w);
    cr_assert(strstr(e.msg, "up to seq 10"), "%s", e.msg);
    rm_tree(dir);
}

/* ---- rotation and removal ---------------------------------------------------- */

Test(wal, rotation_names_segments_by_their_first_seq_and_scan_crosses_them)
{
    char *dir = mk_tmpdir();
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 4096, 1);
    segdb_err e = {0};
    for (uint64_t s = 1; s <= 400; s++) {
        uint8_t *b = make_body(100, BODY_RANDOM, s);
        cr_assert_eq(wal_append(w, s, b, 100, &e), 0, "%s", e.msg);
        free(b);
        if (s % 10 == 0)
            cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    }
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert_eq(wal_close(w, &e), 0);
    int nseg = count_segments(dir);
    cr_assert_gt(nseg, 5);
    cr_assert_eq((uint64_t)nseg, st.segments);

    /* Every segment's first frame has the seq of the file name; every
     * segment but the last is at least segment_max_bytes and at most one
     * flush more. */
    DIR *d = opendir(dir);
    struct dirent *de;
    int checked = 0;
    while ((de = readdir(d))) {
        uint64_t s;
        if (!wal_parse_segment_name(de->d_name, &s))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        size_t len;
        uint8_t *img = read_file(p, &len);
        cr_assert_eq(le64(img + 16), s);
        if (len > 32)
            cr_assert_eq(le64(img + 32 + 4), s, "%s starts with seq %" PRIu64, de->d_name, s);
        if (s != st.segment_first_seq) {
            cr_assert_geq(len, 4096);
            cr_assert_lt(len, 4096 + 10 * 125);
        }
        free(img);
        checked++;
    }
    closedir(d);
    cr_assert_eq(checked, nseg);

    recs r = {0};
    wal_scan_result res;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(r.n, 400);
    cr_assert_eq(res.segments, (uint64_t)nseg);
    for (uint64_t s = 1; s <= 400; s++) {
        uint8_t *b = make_body(100, BODY_RANDOM, s);
        cr_assert_eq(r.v[s - 1].seq, s);
        cr_assert(!memcmp(r.v[s - 1].body, b, 100));
        free(b);
    }
    recs_free(&r);
    rm_tree(dir);
}

static int cmp_seq(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The segments' first seqs, ascending; returns how many. */
static size_t segment_seqs(const char *dir, uint64_t *out, size_t max)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) && n < max)
        n += wal_parse_segment_name(de->d_name, &out[n]);
    if (d)
        closedir(d);
    qsort(out, n, sizeof *out, cmp_seq);
    return n;
}

Test(wal, remove_before_deletes_only_segments_whose_records_are_all_covered)
{
    char *dir = mk_tmpdir();
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 300, 1);
    segdb_err e = {0};
    for (uint64_t s = 1; s <= 100; s++) {
        char b[40];
        int n = snprintf(b, sizeof b, "record %" PRIu64 " ..........", s);
        cr_assert_eq(wal_append(w, s, b, (size_t)n, &e), 0);
        if (s % 4 == 0)
            cr_assert_eq(wal_flush(w, &e), 0);
    }
    cr_assert_eq(wal_flush(w, &e), 0);
    uint64_t seqs[64];
    size_t before = segment_seqs(dir, seqs, 64);
    cr_assert_gt(before, 4);

    uint64_t removed = 99;
    cr_assert_eq(wal_remove_before(w, 0, &removed, &e), 0);
    cr_assert_eq(removed, 0);
    /* A snapshot at the last record of segment 2: segments 0..2 go, the
     * one starting right after the snapshot stays. */
    uint64_t snap = seqs[3] - 1;
    cr_assert_eq(wal_remove_before(w, snap, &removed, &e), 0, "%s", e.msg);
    cr_assert_eq(removed, 3);
    uint64_t after[64];
    size_t left = segment_seqs(dir, after, 64);
    cr_assert_eq(left, before - 3);
    cr_assert_eq(after[0], seqs[3], "the segment holding seq %" PRIu64 " is kept", snap + 1);
    /* Within a segment: only the whole segments before it. */
    cr_assert_eq(wal_remove_before(w, seqs[4] - 2, &removed, &e), 0);
    cr_assert_eq(removed, 0, "segment 3 still holds seq %" PRIu64, seqs[4] - 1);
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert_eq(st.segments, before - 3);
    cr_assert_eq(wal_close(w, &e), 0);

    recs r = {0};
    wal_scan_result res;
    cr_assert_eq(scan(dir, NULL, snap, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(r.n, 100 - snap);
    cr_assert_eq(r.v[0].seq, snap + 1);
    cr_assert_eq(res.first_seq, snap + 1);
    recs_free(&r);

    /* Replaying from before the first remaining record: records are missing. */
    cr_assert_eq(scan(dir, NULL, 0, WAL_SCAN_DRY_RUN, &r, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "missing"), "%s", e.msg);
    cr_assert_eq(res.status, WAL_SCAN_DAMAGED);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, remove_before_never_deletes_the_current_segment)
{
    char *dir = mk_tmpdir();
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 200, 1);
    segdb_err e = {0};
    for (uint64_t s = 1; s <= 30; s++) {
        cr_assert_eq(wal_append(w, s, "0123456789012345678901234567890", 31, &e), 0);
        cr_assert_eq(wal_flush(w, &e), 0);
    }
    uint64_t removed;
    cr_assert_eq(wal_remove_before(w, 1000, &removed, &e), 0);
    cr_assert_eq(count_segments(dir), 1);
    cr_assert_eq(wal_append(w, 31, "x", 1, &e), 0);
    cr_assert_eq(wal_close(w, &e), 0);
    recs r = {0};
    cr_assert_eq(scan(dir, NULL, 30, 0, &r, NULL, &e), 0, "%s", e.msg);
    cr_assert_eq(r.n, 1);
    recs_free(&r);
    rm_tree(dir);
}

/* ---- corruption: truncation ------------------------------------------------------- */

/* Writes five records (the last one `last_len` bytes of kind) and returns the
 * segment image and its frame offsets. */
static uint8_t *five_records(const char *dir, size_t last_len, int kind, size_t *len,
                             uint64_t offs[8])
{
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 0, 1);
    segdb_err e = {0};
    static const size_t sz[] = {10, 70, 0, 300};
    for (int i = 0; i < 4; i++) {
        uint8_t *b = make_body(sz[i], i % 2 ? BODY_TEXT : BODY_RANDOM, (uint64_t)i);
        cr_assert_eq(wal_append(w, (uint64_t)i + 1, b, sz[i], &e), 0);
        free(b);
    }
    uint8_t *b = make_body(last_len, kind, 77);
    cr_assert_eq(wal_append(w, 5, b, last_len, &e), 0);
    free(b);
    cr_assert_eq(wal_close(w, &e), 0);
    char path[4096];
    seg_file(path, dir, 1);
    uint8_t *img = read_file(path, len);
    cr_assert_eq(frame_offsets(img, *len, offs, 7), 5);
    cr_assert_eq(offs[5], *len);
    return img;
}

static void truncation_sweep(int kind)
{
    char *dir = mk_tmpdir();
    size_t len;
    uint64_t offs[8];
    uint8_t *img = five_records(dir, 400, kind, &len, offs);
    char path[4096];
    seg_file(path, dir, 1);
    for (uint64_t cut = offs[4]; cut < len; cut++) {
        write_file(path, img, (size_t)cut);
        recs r = {0};
        wal_scan_result res;
        segdb_err e;
        cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "cut %" PRIu64 ": %s", cut, e.msg);
        cr_assert_eq(r.n, 4, "cut at %" PRIu64, cut);
        cr_assert_eq(res.last_seq, 4);
        cr_assert_eq(res.next_seq, 5);
        if (cut == offs[4]) {
            cr_assert_eq(res.status, WAL_SCAN_CLEAN, "a cut at a frame boundary is a clean log");
        } else {
            cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT, "cut at %" PRIu64, cut);
            cr_assert_str_eq(res.file, path);
            cr_assert_eq(res.offset, offs[4], "cut at %" PRIu64, cut);
            cr_assert_eq(res.dropped_bytes, cut - offs[4], "cut at %" PRIu64, cut);
            cr_assert_eq(res.dropped_records, 0);
            cr_assert_eq(res.removed_segments, 0);
        }
        cr_assert_eq(file_size(path), (long)offs[4], "file truncated at the last good frame");
        recs_free(&r);
        cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0);
        cr_assert_eq(res.status, WAL_SCAN_CLEAN, "a second scan finds nothing to cut");
        recs_free(&r);
    }
    free(img);
    rm_tree(dir);
}

Test(wal, truncation_at_every_offset_of_a_raw_last_record_cuts_to_the_previous_record)
{
    truncation_sweep(BODY_RANDOM);
}

Test(wal, truncation_at_every_offset_of_a_compressed_last_record_cuts_to_the_previous_record)
{
    truncation_sweep(BODY_TEXT);
}

Test(wal, truncation_inside_the_segment_header_deletes_the_segment)
{
    char *dir = mk_tmpdir();
    size_t len;
    uint64_t offs[8];
    uint8_t *img = five_records(dir, 10, BODY_TEXT, &len, offs);
    char path[4096];
    seg_file(path, dir, 1);
    for (size_t cut = 0; cut < 32; cut++) {
        write_file(path, img, cut);
        recs r = {0};
        wal_scan_result res;
        segdb_err e;
        cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
        cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT);
        cr_assert_eq(res.dropped_bytes, cut);
        cr_assert_eq(res.removed_segments, 1);
        cr_assert_eq(file_size(path), -1, "deleted");
        cr_assert_eq(r.n, 0);
        cr_assert_eq(res.next_seq, 0);
        recs_free(&r);
    }
    /* A header-only file is a clean empty segment. */
    write_file(path, img, 32);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0);
    cr_assert_eq(res.status, WAL_SCAN_CLEAN);
    cr_assert_eq(res.next_seq, 1);
    free(img);
    rm_tree(dir);
}

/* ---- corruption: bit flips ------------------------------------------------------- */

Test(wal, a_bit_flip_in_any_byte_is_cut_at_the_tail_or_refused_in_the_middle_and_repaired)
{
    char *dir = mk_tmpdir();
    size_t len;
    uint64_t offs[8];
    uint8_t *img = five_records(dir, 90, BODY_TEXT, &len, offs);
    char path[4096];
    seg_file(path, dir, 1);
    uint8_t *bad = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, img, len);
        bad[i] ^= (uint8_t)(1u << (i % 8));
        int k = -1; /* frame holding byte i; -1 = segment header */
        for (int f = 0; f < 5; f++)
            if (i >= offs[f] && i < offs[f + 1])
                k = f;
        uint64_t at = k < 0 ? 0 : offs[k];

        write_file(path, bad, len);
        recs r = {0};
        wal_scan_result res;
        segdb_err e;
        int rc = scan(dir, NULL, 0, 0, &r, &res, &e);
        if (k == 4) {
            cr_assert_eq(rc, 0, "byte %zu: %s", i, e.msg);
            cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT, "byte %zu", i);
            cr_assert_eq(res.offset, at);
            cr_assert_eq(res.dropped_bytes, len - at);
            cr_assert_eq(r.n, 4);
            cr_assert_eq(file_size(path), (long)at);
            recs_free(&r);
            continue;
        }
        cr_assert_eq(rc, SEGDB_EINVAL, "byte %zu (frame %d) must be refused", i, k);
        cr_assert_eq(res.status, WAL_SCAN_DAMAGED);
        cr_assert_eq(res.offset, at, "byte %zu", i);
        cr_assert_eq(res.dropped_records, (uint64_t)(4 - k), "byte %zu", i);
        cr_assert_eq(res.dropped_bytes, len - at);
        char want[64];
        snprintf(want, sizeof want, "offset %" PRIu64 " ", at);
        cr_assert(strstr(e.msg, path) && strstr(e.msg, want), "byte %zu: %s", i, e.msg);
        cr_assert_eq(file_size(path), (long)len, "a refusal changes nothing");
        recs_free(&r);

        rc = scan(dir, NULL, 0, WAL_SCAN_REPAIR, &r, &res, &e);
        cr_assert_eq(rc, 0, "byte %zu: %s", i, e.msg);
        cr_assert_eq(res.status, WAL_SCAN_REPAIRED);
        cr_assert_eq(r.n, (size_t)(k < 0 ? 0 : k), "byte %zu: records before the damage", i);
        cr_assert_eq(res.dropped_records, (uint64_t)(4 - k));
        cr_assert_eq(file_size(path), k < 0 ? -1 : (long)at);
        recs_free(&r);
        cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0);
        cr_assert_eq(res.status, WAL_SCAN_CLEAN);
        recs_free(&r);
    }
    free(bad);
    free(img);
    rm_tree(dir);
}

Test(wal, damage_in_a_segment_that_is_not_the_last_is_always_middle_damage)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 30, 3, 150);
    int nseg = count_segments(dir);
    cr_assert_geq(nseg, 3);
    char path[4096];
    seg_file(path, dir, 1);
    size_t len;
    uint8_t *img = read_file(path, &len);
    uint64_t offs[64];
    size_t nf = frame_offsets(img, len, offs, 63);
    /* Tear the last frame of the first segment, as a crash would at a tail. */
    write_file(path, img, (size_t)offs[nf] - 3);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), SEGDB_EINVAL);
    cr_assert_eq(res.status, WAL_SCAN_DAMAGED);
    cr_assert_eq(res.offset, offs[nf - 1]);
    cr_assert_eq(res.dropped_records, 30 - nf, "the records of the later segments");
    cr_assert_eq(res.removed_segments, (uint64_t)nseg - 1);
    recs_free(&r);
    cr_assert_eq(scan(dir, NULL, 0, WAL_SCAN_REPAIR, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(r.n, nf - 1);
    cr_assert_eq(count_segments(dir), 1, "later segments deleted by the repair");
    recs_free(&r);
    /* The repaired log takes new records after its last good one. */
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 150, nf);
    cr_assert_eq(wal_append(w, nf, "again", 5, &e), 0, "%s", e.msg);
    cr_assert_eq(wal_close(w, &e), 0);
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(r.n, nf);
    recs_free(&r);
    free(img);
    rm_tree(dir);
}

/* ---- corruption: lengths, sequences, tails -------------------------------------- */

Test(wal, a_wrong_length_in_the_middle_is_refused_and_at_the_tail_cut)
{
    char *dir = mk_tmpdir();
    size_t len;
    uint64_t offs[8];
    uint8_t *img = five_records(dir, 50, BODY_RANDOM, &len, offs);
    char path[4096];
    seg_file(path, dir, 1);
    uint8_t *bad = malloc(len);

    static const int64_t deltas[] = {+1, -1, +25, 1000000, -(int64_t)24};
    for (size_t d = 0; d < sizeof deltas / sizeof *deltas; d++) {
        memcpy(bad, img, len);
        put32(bad + offs[2], (uint32_t)((int64_t)le32(img + offs[2]) + deltas[d]));
        write_file(path, bad, len);
        recs r = {0};
        wal_scan_result res;
        segdb_err e;
        cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), SEGDB_EINVAL, "delta %" PRId64,
                     deltas[d]);
        cr_assert_eq(res.offset, offs[2]);
        cr_assert_eq(res.dropped_records, 2);
        recs_free(&r);

        memcpy(bad, img, len);
        put32(bad + offs[4], (uint32_t)((int64_t)le32(img + offs[4]) + deltas[d]));
        write_file(path, bad, len);
        cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
        cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT);
        cr_assert_eq(res.offset, offs[4]);
        cr_assert_eq(r.n, 4);
        recs_free(&r);
    }
    free(bad);
    free(img);
    rm_tree(dir);
}

/* Writes frames with the given seqs into wal-<first>.log. */
static void write_seqs(const char *dir, uint64_t name_seq, const uint64_t *seqs, size_t n)
{
    uint8_t *img = malloc(32 + n * 64);
    size_t len = enc_header(img, name_seq, 1);
    for (size_t i = 0; i < n; i++) {
        char b[32];
        int bl = snprintf(b, sizeof b, "record %" PRIu64, seqs[i]);
        len += enc_frame(img + len, seqs[i], b, (uint32_t)bl, false);
    }
    char path[4096];
    seg_file(path, dir, name_seq);
    write_file(path, img, len);
    free(img);
}

Test(wal, a_sequence_gap_in_the_middle_is_refused_and_repaired_to_before_it)
{
    char *dir = mk_tmpdir();
    static const uint64_t seqs[] = {1, 2, 4, 5};
    write_seqs(dir, 1, seqs, 4);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "expected seq 3, found 4"), "%s", e.msg);
    cr_assert_eq(res.offset, 32 + 2 * (25 + 8));
    cr_assert_eq(res.dropped_records, 2);
    recs_free(&r);
    cr_assert_eq(scan(dir, NULL, 0, WAL_SCAN_REPAIR, &r, &res, &e), 0, "%s", e.msg);
    check_small(&r, 1, 2);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, a_repeated_sequence_at_the_tail_is_cut)
{
    char *dir = mk_tmpdir();
    static const uint64_t seqs[] = {1, 2, 3, 3};
    write_seqs(dir, 1, seqs, 4);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT);
    cr_assert(strstr(res.reason, "wrong sequence"), "%s", res.reason);
    check_small(&r, 1, 3);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, a_repeated_sequence_in_the_middle_is_refused)
{
    char *dir = mk_tmpdir();
    static const uint64_t seqs[] = {1, 2, 2, 3, 4};
    write_seqs(dir, 1, seqs, 5);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), SEGDB_EINVAL);
    cr_assert_eq(res.dropped_records, 2, "3 and 4 follow the repeat");
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, a_sequence_gap_between_segments_is_refused)
{
    char *dir = mk_tmpdir();
    static const uint64_t a[] = {1, 2, 3}, b[] = {5, 6};
    write_seqs(dir, 1, a, 3);
    write_seqs(dir, 5, b, 2);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "sequence gap"), "%s", e.msg);
    cr_assert_eq(res.offset, 0);
    cr_assert_eq(res.dropped_records, 2);
    recs_free(&r);
    cr_assert_eq(scan(dir, NULL, 0, WAL_SCAN_REPAIR, &r, &res, &e), 0, "%s", e.msg);
    check_small(&r, 1, 3);
    cr_assert_eq(count_segments(dir), 1);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, a_segment_whose_header_disagrees_with_its_name_is_damaged)
{
    char *dir = mk_tmpdir();
    static const uint64_t a[] = {1, 2, 3};
    write_seqs(dir, 1, a, 3);
    char p1[4096], p9[4096];
    seg_file(p1, dir, 1);
    seg_file(p9, dir, 9);
    cr_assert_eq(rename(p1, p9), 0);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 8, WAL_SCAN_DRY_RUN, &r, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "header says first seq 1"), "%s", e.msg);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, a_zero_filled_tail_is_cut)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 20, 20, 0);
    char path[4096];
    seg_file(path, dir, 1);
    long size = file_size(path);
    uint8_t zeros[4096] = {0};
    append_file(path, zeros, sizeof zeros);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT);
    cr_assert_eq(res.offset, (uint64_t)size);
    cr_assert_eq(res.dropped_bytes, 4096);
    cr_assert_eq(file_size(path), size);
    check_small(&r, 1, 20);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, a_garbage_tail_is_cut)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 20, 20, 0);
    char path[4096];
    seg_file(path, dir, 1);
    long size = file_size(path);
    uint8_t *junk = make_body(3000, BODY_RANDOM, 1234);
    append_file(path, junk, 3000);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT);
    cr_assert_eq(res.dropped_bytes, 3000);
    cr_assert_eq(file_size(path), size);
    check_small(&r, 1, 20);
    recs_free(&r);
    free(junk);
    rm_tree(dir);
}

Test(wal, records_missing_before_the_log_start_are_refused)
{
    char *dir = mk_tmpdir();
    write_small(dir, 50, 10, 10, 0);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 10, 0, &r, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "records 11..49 are missing"), "%s", e.msg);
    cr_assert_eq(res.dropped_records, 10);
    cr_assert_eq(r.n, 0);
    cr_assert_eq(scan(dir, NULL, 49, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(r.n, 10);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, a_segment_of_another_format_version_is_refused_and_never_cut)
{
    char *dir = mk_tmpdir();
    uint8_t img[200];
    size_t n = enc_header(img, 1, 2);
    n += enc_frame(img + n, 1, "abc", 3, false);
    char path[4096];
    seg_file(path, dir, 1);
    write_file(path, img, n);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, WAL_SCAN_REPAIR, &r, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "version 2"), "%s", e.msg);
    cr_assert_eq(file_size(path), (long)n);
    wal_t *w = NULL;
    wal_options o;
    wal_options_init(&o);
    o.everysec_thread = false;
    cr_assert_eq(wal_open(dir, NULL, &o, &w, &e), SEGDB_EINVAL);
    cr_assert_eq(file_size(path), (long)n);
    rm_tree(dir);
}

Test(wal, a_dry_run_reports_the_cut_and_changes_nothing)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 10, 10, 0);
    char path[4096];
    seg_file(path, dir, 1);
    append_file(path, "torn", 4);
    long size = file_size(path);
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, WAL_SCAN_DRY_RUN, &r, &res, &e), 0);
    cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT);
    cr_assert_eq(res.dropped_bytes, 4);
    cr_assert_eq(file_size(path), size);
    recs_free(&r);
    rm_tree(dir);
}

Test(wal, open_refuses_a_damaged_tail_until_recovery_cut_it)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 10, 10, 0);
    char path[4096];
    seg_file(path, dir, 1);
    append_file(path, "torn", 4);
    wal_options o;
    wal_options_init(&o);
    o.everysec_thread = false;
    wal_t *w = NULL;
    segdb_err e = {0};
    cr_assert_eq(wal_open(dir, NULL, &o, &w, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "wal_scan"), "%s", e.msg);
    cr_assert_eq(wal_scan(dir, NULL, 0, NULL, NULL, 0, NULL, &e), 0, "%s", e.msg);
    w = open_log(dir, NULL, WAL_FSYNC_NO, 0, 11);
    cr_assert_eq(wal_append(w, 11, "x", 1, &e), 0);
    cr_assert_eq(wal_close(w, &e), 0);
    rm_tree(dir);
}

Test(wal, a_torn_new_segment_header_is_deleted_and_open_recreates_it)
{
    char *dir = mk_tmpdir();
    write_small(dir, 1, 10, 10, 0);
    char path[4096];
    seg_file(path, dir, 11);
    uint8_t h[32];
    enc_header(h, 11, 1);
    write_file(path, h, 13); /* the crash hit while the rotation wrote the header */
    recs r = {0};
    wal_scan_result res;
    segdb_err e;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.status, WAL_SCAN_TAIL_CUT);
    cr_assert_eq(res.removed_segments, 1);
    cr_assert_eq(res.next_seq, 11);
    cr_assert_eq(file_size(path), -1);
    recs_free(&r);
    wal_t *w = open_log(dir, NULL, WAL_FSYNC_NO, 0, 11);
    cr_assert_eq(wal_append(w, 11, "x", 1, &e), 0);
    cr_assert_eq(wal_close(w, &e), 0);
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(r.n, 11);
    recs_free(&r);
    rm_tree(dir);
}

/* ---- fsync modes --------------------------------------------------------------------- */

static void append_n(wal_t *w, uint64_t from, size_t n)
{
    segdb_err e = {0};
    for (size_t i = 0; i < n; i++) {
        char b[64];
        int len = snprintf(b, sizeof b, "record %" PRIu64, from + i);
        cr_assert_eq(wal_append(w, from + i, b, (size_t)len, &e), 0, "%s", e.msg);
    }
}

Test(wal, always_mode_syncs_every_flush_and_no_mode_never_syncs)
{
    char *dir = mk_tmpdir();
    vfs *fv = vfs_fault_create(vfs_posix());
    wal_t *w = open_log(dir, fv, WAL_FSYNC_ALWAYS, 0, 1);
    segdb_err e = {0};
    vfs_fault_stats fs0, fs1;
    vfs_fault_get_stats(fv, &fs0);
    for (int i = 0; i < 10; i++) {
        append_n(w, (uint64_t)i * 5 + 1, 5);
        cr_assert_eq(wal_flush(w, &e), 0);
    }
    cr_assert_eq(wal_flush(w, &e), 0, "an empty flush");
    vfs_fault_get_stats(fv, &fs1);
    cr_assert_eq(fs1.syncs - fs0.syncs, 10, "one fdatasync per group of 5");
    cr_assert_eq(fs1.writes - fs0.writes, 10, "one write per flush");
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert_eq(st.fsyncs, 10);
    cr_assert_eq(st.durable_seq, 50);
    cr_assert_eq(wal_close(w, &e), 0);
    rm_tree(dir);

    dir = mk_tmpdir();
    vfs_fault_get_stats(fv, &fs0);
    w = open_log(dir, fv, WAL_FSYNC_NO, 300, 1);
    for (int i = 0; i < 10; i++) {
        append_n(w, (uint64_t)i * 5 + 1, 5);
        cr_assert_eq(wal_flush(w, &e), 0);
    }
    cr_assert_eq(wal_close(w, &e), 0);
    vfs_fault_get_stats(fv, &fs1);
    cr_assert_eq(fs1.syncs - fs0.syncs, 0, "no: never fsync, rotations included");
    cr_assert_eq(fs1.dir_syncs - fs0.dir_syncs, 0);
    cr_assert_gt(count_segments(dir), 1);
    vfs_fault_free(fv);
    rm_tree(dir);
}

Test(wal, everysec_tick_syncs_at_most_once_a_second_unless_forced)
{
    char *dir = mk_tmpdir();
    vfs *fv = vfs_fault_create(vfs_posix());
    wal_t *w = open_log(dir, fv, WAL_FSYNC_EVERYSEC, 0, 1);
    segdb_err e = {0};
    vfs_fault_stats fs0, fs1;
    vfs_fault_get_stats(fv, &fs0);
    append_n(w, 1, 5);
    cr_assert_eq(wal_flush(w, &e), 0);
    cr_assert_eq(wal_everysec_tick(w, false, &e), 0);
    vfs_fault_get_stats(fv, &fs1);
    cr_assert_eq(fs1.syncs, fs0.syncs, "flush wrote without syncing; under a second since open");
    cr_assert_eq(wal_everysec_tick(w, true, &e), 0);
    vfs_fault_get_stats(fv, &fs1);
    cr_assert_eq(fs1.syncs, fs0.syncs + 1);
    cr_assert_eq(wal_everysec_tick(w, true, &e), 0);
    vfs_fault_get_stats(fv, &fs1);
    cr_assert_eq(fs1.syncs, fs0.syncs + 1, "nothing new to sync");
    append_n(w, 6, 5);
    cr_assert_eq(wal_flush(w, &e), 0);
    cr_assert_eq(wal_everysec_tick(w, false, &e), 0);
    vfs_fault_get_stats(fv, &fs1);
    cr_assert_eq(fs1.syncs, fs0.syncs + 1, "less than a second since the last sync");
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert_eq(st.fsyncs, 1);
    cr_assert_eq(wal_close(w, &e), 0);
    vfs_fault_get_stats(fv, &fs1);
    cr_assert_eq(fs1.syncs, fs0.syncs + 2, "close syncs what is left");
    vfs_fault_free(fv);
    rm_tree(dir);
}

Test(wal, everysec_thread_syncs_written_records_within_about_a_second)
{
    char *dir = mk_tmpdir();
    wal_options o;
    wal_options_init(&o);
    wal_t *w = NULL;
    segdb_err e = {0};
    cr_assert_eq(wal_open(dir, NULL, &o, &w, &e), 0, "%s", e.msg);
    append_n(w, 1, 20);
    cr_assert_eq(wal_flush(w, &e), 0);
    wal_stats st;
    for (int i = 0; i < 100; i++) { /* up to 5 s on a loaded machine */
        wal_get_stats(w, &st);
        if (st.fsyncs)
            break;
        usleep(50000);
    }
    cr_assert_geq(st.fsyncs, 1);
    cr_assert_eq(wal_close(w, &e), 0);
    rm_tree(dir);
}

/* ---- injected failures ---------------------------------------------------------------- */

static void check_disk_failure_recovery(wal_fsync_mode mode, const vfs_fault_plan *plan,
                                        const char *want_msg, bool check_size)
{
    char *dir = mk_tmpdir();
    vfs *fv = vfs_fault_create(vfs_posix());
    wal_t *w = open_log(dir, fv, mode, 0, 1);
    segdb_err e = {0};
    append_n(w, 1, 5);
    cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg); /* 1..5 acknowledged */
    char path[4096];
    seg_file(path, dir, 1);
    long good = file_size(path);

    vfs_fault_arm(fv, plan);
    append_n(w, 6, 3);
    cr_assert_eq(wal_flush(w, &e), SEGDB_EREADONLY);
    cr_assert(strstr(e.msg, want_msg), "message names the reason: %s", e.msg);
    cr_assert(strstr(e.msg, "wal-00000000000000000001.log"), "and the file: %s", e.msg);
    if (check_size)
        cr_assert_eq(file_size(path), good, "nothing half-written stays in the file");
    cr_assert_eq(wal_append(w, 9, "x", 1, &e), SEGDB_EREADONLY, "writes are refused meanwhile");
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert(st.readonly);
    cr_assert(strstr(st.last_error, want_msg));
    cr_assert_eq(st.durable_seq, 5);
    if (plan->write_fail_count == 0 && plan->write_fail_at)
        cr_assert_eq(wal_flush(w, &e), SEGDB_EREADONLY, "still failing");

    vfs_fault_disarm(fv); /* the disk works again */
    cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    wal_get_stats(w, &st);
    cr_assert(!st.readonly);
    cr_assert_eq(st.durable_seq, 8);
    append_n(w, 9, 2);
    cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    cr_assert_eq(wal_close(w, &e), 0, "%s", e.msg);

    recs r = {0};
    wal_scan_result res;
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.status, WAL_SCAN_CLEAN);
    check_small(&r, 1, 10);
    recs_free(&r);
    vfs_fault_free(fv);
    rm_tree(dir);
}

Test(wal, enospc_on_write_returns_readonly_and_a_later_flush_keeps_every_record)
{
    vfs_fault_plan p = {.write_fail_at = 1, .write_fail_count = 0, .write_errno = ENOSPC};
    check_disk_failure_recovery(WAL_FSYNC_ALWAYS, &p, "No space left on device", true);
}

Test(wal, eio_on_write_in_no_mode_returns_readonly_and_retries)
{
    vfs_fault_plan p = {.write_fail_at = 1, .write_fail_count = 1, .write_errno = EIO};
    check_disk_failure_recovery(WAL_FSYNC_NO, &p, "Input/output error", true);
}

Test(wal, a_short_write_is_cut_back_and_rewritten)
{
    vfs_fault_plan p = {.write_fail_at = 1, .write_fail_count = 1, .write_errno = ENOSPC,
                        .write_short_bytes = 17};
    check_disk_failure_recovery(WAL_FSYNC_ALWAYS, &p, "No space left on device", true);
}

Test(wal, eio_on_fsync_in_always_mode_returns_readonly_and_a_retry_rewrites)
{
    vfs_fault_plan p = {.sync_fail_at = 1, .sync_fail_count = 1, .sync_errno = EIO};
    check_disk_failure_recovery(WAL_FSYNC_ALWAYS, &p, "Input/output error", false);
}

Test(wal, eio_on_everysec_tick_is_reported_and_the_next_flush_rewrites_and_syncs)
{
    char *dir = mk_tmpdir();
    vfs *fv = vfs_fault_create(vfs_posix());
    wal_t *w = open_log(dir, fv, WAL_FSYNC_EVERYSEC, 0, 1);
    segdb_err e = {0};
    append_n(w, 1, 5);
    cr_assert_eq(wal_flush(w, &e), 0);
    vfs_fault_plan p = {.sync_fail_at = 1, .sync_fail_count = 1};
    vfs_fault_arm(fv, &p);
    cr_assert_eq(wal_everysec_tick(w, true, &e), SEGDB_EREADONLY);
    cr_assert(strstr(e.msg, "fdatasync"), "%s", e.msg);
    cr_assert_eq(wal_append(w, 6, "x", 1, &e), SEGDB_EREADONLY);
    vfs_fault_stats fs0, fs1;
    vfs_fault_get_stats(fv, &fs0);
    cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    vfs_fault_get_stats(fv, &fs1);
    cr_assert_eq(fs1.writes, fs0.writes + 1, "the unsynced records are written again");
    cr_assert_eq(fs1.syncs, fs0.syncs + 1, "and synced before the flush returns");
    append_n(w, 6, 1);
    cr_assert_eq(wal_close(w, &e), 0);
    recs r = {0};
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, NULL, &e), 0, "%s", e.msg);
    check_small(&r, 1, 6);
    recs_free(&r);
    vfs_fault_free(fv);
    rm_tree(dir);
}

Test(wal, a_failed_background_fsync_surfaces_at_the_next_flush)
{
    char *dir = mk_tmpdir();
    vfs *fv = vfs_fault_create(vfs_posix());
    wal_options o;
    wal_options_init(&o);
    wal_t *w = NULL;
    segdb_err e = {0};
    cr_assert_eq(wal_open(dir, fv, &o, &w, &e), 0, "%s", e.msg);
    vfs_fault_plan p = {.sync_fail_at = 1, .sync_fail_count = 0, .sync_errno = EIO};
    vfs_fault_arm(fv, &p);
    append_n(w, 1, 5);
    cr_assert_eq(wal_flush(w, &e), 0);
    wal_stats st;
    for (int i = 0; i < 100; i++) {
        wal_get_stats(w, &st);
        if (st.fsync_errors)
            break;
        usleep(50000);
    }
    cr_assert_geq(st.fsync_errors, 1, "the thread tried");
    cr_assert_eq(wal_flush(w, &e), SEGDB_EREADONLY, "the retry fails too while the disk does");
    cr_assert(strstr(e.msg, "fdatasync"), "%s", e.msg);
    vfs_fault_disarm(fv);
    cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    cr_assert_eq(wal_close(w, &e), 0, "%s", e.msg);
    recs r = {0};
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, NULL, &e), 0, "%s", e.msg);
    check_small(&r, 1, 5);
    recs_free(&r);
    vfs_fault_free(fv);
    rm_tree(dir);
}

Test(wal, a_failed_rotation_is_retried_by_the_next_flush)
{
    char *dir = mk_tmpdir();
    vfs *fv = vfs_fault_create(vfs_posix());
    wal_t *w = open_log(dir, fv, WAL_FSYNC_ALWAYS, 100, 1);
    segdb_err e = {0};
    /* flush: write 1 (frames) ok, sync ok; rotation: header write 2 fails */
    vfs_fault_plan p = {.write_fail_at = 2, .write_fail_count = 1, .write_errno = ENOSPC};
    vfs_fault_arm(fv, &p);
    append_n(w, 1, 8);
    cr_assert_eq(wal_flush(w, &e), 0, "the records are durable: the flush succeeded");
    wal_stats st;
    wal_get_stats(w, &st);
    cr_assert_eq(st.durable_seq, 8);
    cr_assert(st.readonly);
    cr_assert(strstr(st.last_error, "header"), "%s", st.last_error);
    cr_assert_eq(count_segments(dir), 1, "the half-made segment is removed");
    cr_assert_eq(wal_append(w, 9, "x", 1, &e), SEGDB_EREADONLY);
    cr_assert(strstr(e.msg, "No space left on device"), "%s", e.msg);
    cr_assert_eq(wal_flush(w, &e), 0, "%s", e.msg);
    cr_assert_eq(count_segments(dir), 2);
    append_n(w, 9, 2);
    cr_assert_eq(wal_close(w, &e), 0, "%s", e.msg);
    recs r = {0};
    cr_assert_eq(scan(dir, NULL, 0, 0, &r, NULL, &e), 0, "%s", e.msg);
    check_small(&r, 1, 10);
    recs_free(&r);
    vfs_fault_free(fv);
    rm_tree(dir);
}

/* ---- crashes ----------------------------------------------------------------------------- */

/* A workload: 24 records in batches, rotating at 600 bytes, always mode.
 * Returns how many records were acknowledged (their flush returned 0); stops
 * at the first failure, as a process that lost its disk would. */
static const size_t crash_sizes[] = {10, 200, 0, 64, 1000, 30, 500, 5, 100, 70, 3, 400,
                                     1, 2, 300, 90, 65, 20, 800, 9, 11, 12, 150, 7};
static const int crash_batches[] = {1, 3, 2, 1, 4, 1, 2, 3, 1, 2, 3, 1};
#define CRASH_RECORDS (sizeof crash_sizes / sizeof *crash_sizes)

static uint8_t *crash_body(size_t i)
{
    return make_body(crash_sizes[i], i % 3 == 0 ? BODY_RANDOM : BODY_TEXT, i);
}

static size_t crash_workload(const char *dir, vfs *v)
{
    wal_options o;
    wal_options_init(&o);
    o.fsync_mode = WAL_FSYNC_ALWAYS;
    o.segment_max_bytes = 600;
    o.start_seq = 1;
    o.everysec_thread = false;
    wal_t *w = NULL;
    segdb_err e = {0};
    if (wal_open(dir, v, &o, &w, &e))
        return 0;
    size_t acked = 0, i = 0;
    bool dead = false;
    for (size_t b = 0; i < CRASH_RECORDS && !dead; b++) {
        int n = crash_batches[b % (sizeof crash_batches / sizeof *crash_batches)];
        for (int k = 0; k < n && i < CRASH_RECORDS; k++, i++) {
            uint8_t *body = crash_body(i);
            int rc = wal_append(w, i + 1, body, crash_sizes[i], &e);
            free(body);
            if (rc) { /* a failed rotation made the log read-only */
                cr_assert_eq(rc, SEGDB_EREADONLY, "%s", e.msg);
                dead = true;
                break;
            }
        }
        if (!dead && wal_flush(w, &e) == 0)
            acked = i;
        else
            dead = true;
    }
    wal_close(w, &e);
    return acked;
}

/* Ends of every frame (and of every segment header) in the order the
 * workload wrote them: segments in seq order, concatenated. */
static size_t stream_frame_ends(vfs *mem, const char *dir, uint64_t *ends, uint64_t *total)
{
    size_t n = 0;
    uint64_t base = 0, seq = 1;
    for (;;) {
        char path[4096];
        seg_file(path, dir, seq);
        void *data;
        size_t len;
        if (vfs_mem_get(mem, path, &data, &len))
            break;
        uint64_t offs[64];
        size_t nf = frame_offsets(data, len, offs, 63);
        for (size_t k = 0; k < nf; k++)
            ends[n++] = base + offs[k + 1];
        base += len;
        seq += nf;
        free(data);
        if (nf == 0)
            break;
    }
    *total = base;
    return n;
}

Test(wal, a_crash_at_every_byte_of_a_workload_recovers_exactly_the_fully_written_records)
{
    const char *dir = "d";
    vfs *ref = vfs_mem_create();
    vfs *rf = vfs_fault_create(ref);
    cr_assert_eq(crash_workload(dir, rf), CRASH_RECORDS);
    uint64_t ends[64], total;
    size_t nf = stream_frame_ends(ref, dir, ends, &total);
    cr_assert_eq(nf, CRASH_RECORDS);
    vfs_fault_stats fst;
    vfs_fault_get_stats(rf, &fst);
    cr_assert_eq(fst.bytes, total, "every byte written once, segments in order");
    vfs_fault_free(rf);
    vfs_mem_free(ref);

    for (uint64_t c = 0; c <= total; c++) {
        vfs *mem = vfs_mem_create();
        vfs *fv = vfs_fault_create(mem);
        vfs_fault_plan p = {.crash = true, .crash_after_bytes = c};
        vfs_fault_arm(fv, &p);
        size_t acked = crash_workload(dir, fv);
        size_t expect = 0;
        while (expect < nf && ends[expect] <= c)
            expect++;
        cr_assert_leq(acked, expect, "crash at %" PRIu64 ": acknowledged but not written?", c);

        recs r = {0};
        wal_scan_result res;
        segdb_err e;
        int rc = scan(dir, mem, 0, 0, &r, &res, &e);
        cr_assert_eq(rc, 0, "crash at %" PRIu64 ": a crash only tears the tail: %s", c, e.msg);
        cr_assert_eq(r.n, expect, "crash at %" PRIu64 ": recovered %zu, fully written %zu", c,
                     r.n, expect);
        for (size_t i = 0; i < r.n; i++) {
            uint8_t *body = crash_body(i);
            cr_assert_eq(r.v[i].seq, i + 1);
            cr_assert_eq(r.v[i].len, crash_sizes[i]);
            cr_assert(!crash_sizes[i] || !memcmp(r.v[i].body, body, crash_sizes[i]));
            free(body);
        }
        recs_free(&r);

        /* The recovered log takes the next record. */
        wal_options o;
        wal_options_init(&o);
        o.fsync_mode = WAL_FSYNC_NO;
        o.start_seq = expect + 1;
        o.everysec_thread = false;
        wal_t *w = NULL;
        cr_assert_eq(wal_open(dir, mem, &o, &w, &e), 0, "crash at %" PRIu64 ": %s", c, e.msg);
        cr_assert_eq(wal_append(w, expect + 1, "next", 4, &e), 0);
        cr_assert_eq(wal_close(w, &e), 0);
        cr_assert_eq(scan(dir, mem, 0, 0, &r, &res, &e), 0, "%s", e.msg);
        cr_assert_eq(res.status, WAL_SCAN_CLEAN);
        cr_assert_eq(r.n, expect + 1);
        recs_free(&r);
        vfs_fault_free(fv);
        vfs_mem_free(mem);
    }
}

Test(wal, a_crash_at_chosen_byte_counts_on_disk_loses_no_acknowledged_record)
{
    static const uint64_t at[] = {0, 31, 32, 33, 100, 777, 1500, 2222, 3000};
    for (size_t t = 0; t < sizeof at / sizeof *at; t++) {
        char *dir = mk_tmpdir();
        vfs *fv = vfs_fault_create(vfs_posix());
        vfs_fault_plan p = {.crash = true, .crash_after_bytes = at[t]};
        vfs_fault_arm(fv, &p);
        size_t acked = crash_workload(dir, fv);
        recs r = {0};
        wal_scan_result res;
        segdb_err e;
        cr_assert_eq(scan(dir, NULL, 0, 0, &r, &res, &e), 0, "crash at %" PRIu64 ": %s", at[t],
                     e.msg);
        cr_assert_geq(r.n, acked, "crash at %" PRIu64, at[t]);
        for (size_t i = 0; i < r.n; i++)
            cr_assert_eq(r.v[i].seq, i + 1);
        recs_free(&r);
        vfs_fault_free(fv);
        rm_tree(dir);
    }
}

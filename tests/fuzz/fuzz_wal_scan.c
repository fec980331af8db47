/*
 * fuzz_wal_scan.c — libFuzzer target for the log reader (storage/wal.c).
 *
 * Input layout:
 *   byte 0      control: bit 0 = WAL_SCAN_REPAIR, bit 1 = WAL_SCAN_DRY_RUN,
 *               bits 2-3 pick from_seq (0, first name - 1, first name + 2,
 *               2^64 - 1), bits 4-5 = number of extra segments (0-3),
 *               bit 6 = fix the checksums: the header's and every frame's
 *               (following the frame_len fields) are recomputed, so that the
 *               fuzzer reaches what lies behind them (odd seqs, flags,
 *               lengths, LZ4 blocks that do not decompress, versions)
 *   then        segment images separated by the 4 bytes "\xffSEG" (at most
 *               1 + extra segments); each one is written to the in-memory vfs
 *               as wal-<S>.log, S being the u64 at its bytes 16..23 (the
 *               header's first_seq) when that is a valid seq, else 1, 2...
 *
 * Properties checked (a violation traps):
 *   - no crash, leak or undefined behaviour on any input (sanitizers);
 *   - records reach the callback in order, seq = previous + 1, all > from_seq;
 *   - after a successful scan that may write, a second scan is clean, and
 *     wal_open succeeds, takes the next record, and a scan then sees it.
 *
 * Build and run (60 s):
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Iengine -Istorage \
 *     tests/fuzz/fuzz_wal_scan.c storage/wal.c storage/vfs.c -lxxhash -llz4 \
 *     -lpthread -o /tmp/fuzz_wal_scan
 *   /tmp/fuzz_wal_scan -max_total_time=60 -max_len=16384 CORPUS_DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "vfs.h"
#include "wal.h"

#define DIR_NAME "fz"
#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "fuzz_wal_scan: property failed at line %d: %s\n", __LINE__, #c); \
            __builtin_trap();                                                                 \
        }                                                                                     \
    } while (0)

typedef struct seen {
    uint64_t from_seq;
    uint64_t prev;
    uint64_t n;
} seen;

static int on_record(void *ctx, uint64_t seq, const void *body, size_t len, segdb_err *err)
{
    (void)err;
    seen *s = ctx;
    CHECK(seq > s->from_seq);
    CHECK(s->n == 0 || seq == s->prev + 1);
    CHECK(len == 0 || body != NULL);
    if (len) /* touch every byte so ASan checks the whole body */
        CHECK(((const volatile uint8_t *)body)[len - 1] == ((const uint8_t *)body)[len - 1]);
    s->prev = seq;
    s->n++;
    return 0;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the checksums of a segment image in place (see wal.c's format). */
static void fix_checksums(uint8_t *img, size_t n)
{
    if (n < WAL_FILE_HEADER_BYTES)
        return;
    put_u64(img + 24, XXH64(img, 24, 0));
    size_t off = WAL_FILE_HEADER_BYTES;
    while (n - off >= WAL_FRAME_HEADER_BYTES) {
        uint32_t len = (uint32_t)img[off] | (uint32_t)img[off + 1] << 8 |
                       (uint32_t)img[off + 2] << 16 | (uint32_t)img[off + 3] << 24;
        if (len < WAL_FRAME_HEADER_BYTES || len > n - off)
            break;
        XXH64_state_t *xs = XXH64_createState();
        if (!xs)
            return;
        XXH64_reset(xs, 0);
        XXH64_update(xs, img + off, 17);
        XXH64_update(xs, img + off + WAL_FRAME_HEADER_BYTES, len - WAL_FRAME_HEADER_BYTES);
        put_u64(img + off + 17, XXH64_digest(xs));
        XXH64_freeState(xs);
        off += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    data++;
    size--;
    int flags = ctl & 3;
    int extra = (ctl >> 4) & 3;

    vfs *v = vfs_mem_create();
    if (!v)
        return 0;
    uint64_t first_name = 0;
    for (int k = 0; k <= extra; k++) {
        const uint8_t *end = NULL;
        if (k < extra)
            end = memmem(data, size, "\xffSEG", 4);
        size_t n = end ? (size_t)(end - data) : size;
        uint64_t seq = (uint64_t)k + 1;
        if (n >= 24) {
            uint64_t h = le64(data + 16);
            if (h != 0 && h != UINT64_MAX)
                seq = h;
        }
        if (!first_name || seq < first_name)
            first_name = seq;
        char name[WAL_SEGMENT_NAME_BYTES], path[64];
        wal_segment_name(seq, name);
        snprintf(path, sizeof path, "%s/%s", DIR_NAME, name);
        if (ctl & 0x40) {
            uint8_t *img = malloc(n ? n : 1);
            if (img) {
                memcpy(img, data, n);
                fix_checksums(img, n);
                vfs_mem_put(v, path, img, n);
                free(img);
            }
        } else {
            vfs_mem_put(v, path, data, n);
        }
        if (!end)
            break;
        data += n + 4;
        size -= n + 4;
    }

    uint64_t from = 0;
    switch ((ctl >> 2) & 3) {
    case 1: from = first_name - 1; break;
    case 2: from = first_name + 2; break;
    case 3: from = UINT64_MAX; break;
    }

    seen s = {.from_seq = from};
    wal_scan_result res;
    segdb_err err;
    int rc = wal_scan(DIR_NAME, v, from, on_record, &s, flags, &res, &err);
    CHECK(rc <= 0);
    if (rc == 0) {
        CHECK(res.delivered == s.n);
        CHECK(res.status != WAL_SCAN_DAMAGED);
        CHECK(res.status != WAL_SCAN_REPAIRED || (flags & WAL_SCAN_REPAIR));
    } else {
        CHECK(err.msg[0] != 0);
    }

    if (rc == 0 && !(flags & WAL_SCAN_DRY_RUN)) {
        seen s2 = {.from_seq = from};
        wal_scan_result r2;
        CHECK(wal_scan(DIR_NAME, v, from, on_record, &s2, 0, &r2, &err) == 0);
        CHECK(r2.status == WAL_SCAN_CLEAN);
        CHECK(r2.records == res.records);
        CHECK(r2.last_seq == res.last_seq);

        wal_options o;
        wal_options_init(&o);
        o.fsync_mode = WAL_FSYNC_NO;
        o.everysec_thread = false;
        wal_t *w = NULL;
        CHECK(wal_open(DIR_NAME, v, &o, &w, &err) == 0);
        wal_stats st;
        wal_get_stats(w, &st);
        uint64_t next = st.durable_seq + 1;
        if (next != UINT64_MAX) {
            CHECK(wal_append(w, next, "fuzz", 4, &err) == 0);
            CHECK(wal_close(w, &err) == 0);
            seen s3 = {.from_seq = from};
            wal_scan_result r3;
            CHECK(wal_scan(DIR_NAME, v, from, on_record, &s3, 0, &r3, &err) == 0);
            CHECK(r3.status == WAL_SCAN_CLEAN);
            CHECK(r3.last_seq == next);
        } else {
            wal_close(w, &err);
        }
    }
    vfs_mem_free(v);
    return 0;
}

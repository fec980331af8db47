/*
 * fuzz_csv.c — libFuzzer target for the CSV reader and writer (engine/csv.c).
 *
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Iengine \
 *       tests/fuzz/fuzz_csv.c engine/csv.c -o /tmp/fuzz_csv
 *   /tmp/fuzz_csv -max_total_time=60
 *
 * For each input it checks, and traps on any difference:
 *   1. chunk invariance: the records (fields, line, error, reason, raw bytes)
 *      of the input fed in one chunk equal those of the input fed in two
 *      chunks cut at a position derived from the first byte, and in 1-byte
 *      chunks (with a small record limit from the second byte, so the
 *      too-long path is exercised);
 *   2. round trip: every well-formed record, written back with
 *      csv_write_record() and read again, gives the same fields on line 1.
 * Every chunk is copied into its own heap block freed after the feed, so
 * AddressSanitizer sees any pointer kept into an old chunk.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* Everything the callback saw in one parse, serialized into one byte string
 * that two parses can be compared by. */
typedef struct trace {
    csv_buf out;
    size_t nrec;
} trace;

static void put(csv_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + n)
            nc *= 2;
        char *q = realloc(b->p, nc);
        if (!q)
            __builtin_trap();
        b->p = q;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void put_u64(csv_buf *b, uint64_t v)
{
    put(b, &v, sizeof v);
}

static void put_bytes(csv_buf *b, const void *p, size_t n)
{
    put_u64(b, n);
    put(b, p, n);
}

static int on_record(void *ctx, const csv_record *rec, segdb_err *err)
{
    (void)err;
    trace *t = ctx;
    t->nrec++;
    if ((rec->error == CSV_REC_OK) != (rec->reason == NULL))
        __builtin_trap();
    if (rec->error == CSV_REC_OK && rec->nfields == 0)
        __builtin_trap();
    put_u64(&t->out, rec->line);
    put_u64(&t->out, (uint64_t)rec->error);
    put_u64(&t->out, rec->raw_truncated);
    put_bytes(&t->out, rec->raw, rec->raw_len);
    if (rec->reason)
        put_bytes(&t->out, rec->reason, strlen(rec->reason));
    put_u64(&t->out, rec->nfields);
    for (size_t i = 0; i < rec->nfields; i++)
        put_bytes(&t->out, rec->field[i], rec->len[i]);
    return 0;
}

/* Parse data[0..len) cut every `step` bytes (step 0: only at `cut`). */
static void parse(const uint8_t *data, size_t len, size_t cut, size_t step,
                  const csv_options *o, trace *t)
{
    csv_reader *r = csv_reader_create(o);
    if (!r)
        __builtin_trap();
    segdb_err err;
    size_t at = 0;
    while (at < len) {
        size_t to = step ? (len - at < step ? len : at + step) : (at < cut ? cut : len);
        size_t n = to - at;
        uint8_t *chunk = malloc(n ? n : 1);
        if (!chunk)
            __builtin_trap();
        memcpy(chunk, data + at, n);
        int rc = csv_reader_feed(r, chunk, n, on_record, t, &err);
        free(chunk);
        if (rc)
            __builtin_trap();
        at = to;
    }
    if (csv_reader_finish(r, on_record, t, &err))
        __builtin_trap();
    csv_reader_free(r);
}

/* Collects the fields of the single record a round trip must give back. */
typedef struct echo {
    const csv_record *want;
    bool escaped;   /* written with escape_formulas: a field may have gained "'" */
    size_t seen;
} echo;

static int on_echo(void *ctx, const csv_record *rec, segdb_err *err)
{
    (void)err;
    echo *e = ctx;
    const csv_record *w = e->want;
    e->seen++;
    if (rec->error != CSV_REC_OK || rec->line != 1 || rec->nfields != w->nfields)
        __builtin_trap();
    for (size_t i = 0; i < w->nfields; i++) {
        const char *got = rec->field[i];
        size_t n = rec->len[i];
        if (e->escaped && n == w->len[i] + 1 && got[0] == '\'' &&
            (w->field[i][0] == '=' || w->field[i][0] == '+' || w->field[i][0] == '-' ||
             w->field[i][0] == '@')) {
            got++;
            n--;
        }
        if (n != w->len[i] || (n && memcmp(got, w->field[i], n) != 0))
            __builtin_trap();
    }
    return 0;
}

static int on_record_round_trip(void *ctx, const csv_record *rec, segdb_err *err)
{
    (void)ctx;
    (void)err;
    if (rec->error != CSV_REC_OK)
        return 0;
    csv_buf b = {0};
    if (csv_write_record(&b, rec->field, rec->len, rec->nfields, false))
        __builtin_trap();
    /* the written record must read back alone and intact, whole or in two */
    for (int pass = 0; pass < 2; pass++) {
        echo e = {.want = rec};
        csv_reader *r = csv_reader_create(NULL);
        if (!r)
            __builtin_trap();
        segdb_err e2;
        size_t cut = pass ? b.len / 2 : b.len;
        if (csv_reader_feed(r, b.p, cut, on_echo, &e, &e2) ||
            csv_reader_feed(r, b.p + cut, b.len - cut, on_echo, &e, &e2) ||
            csv_reader_finish(r, on_echo, &e, &e2) || e.seen != 1)
            __builtin_trap();
        csv_reader_free(r);
    }
    /* formula escaping changes nothing but a leading "'" */
    csv_buf f = {0};
    if (csv_write_record(&f, rec->field, rec->len, rec->nfields, true))
        __builtin_trap();
    echo e = {.want = rec, .escaped = true};
    csv_reader *r = csv_reader_create(NULL);
    if (!r || csv_reader_feed(r, f.p, f.len, on_echo, &e, NULL) ||
        csv_reader_finish(r, on_echo, &e, NULL) || e.seen != 1)
        __builtin_trap();
    csv_reader_free(r);
    csv_buf_free(&f);
    csv_buf_free(&b);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    size_t cut = len ? (size_t)data[0] * (len + 1) / 256 : 0;
    csv_options small;
    csv_options_init(&small);
    small.max_record_bytes = len > 1 ? 1 + data[1] : 1;

    const csv_options *opts[2] = {NULL, &small};
    for (int k = 0; k < 2; k++) {
        trace whole = {0}, two = {0}, bytes = {0};
        parse(data, len, len, 0, opts[k], &whole);
        parse(data, len, cut, 0, opts[k], &two);
        parse(data, len, 0, 1, opts[k], &bytes);
        if (whole.nrec != two.nrec || whole.out.len != two.out.len ||
            (whole.out.len && memcmp(whole.out.p, two.out.p, whole.out.len) != 0))
            __builtin_trap();
        if (whole.nrec != bytes.nrec || whole.out.len != bytes.out.len ||
            (whole.out.len && memcmp(whole.out.p, bytes.out.p, whole.out.len) != 0))
            __builtin_trap();
        free(whole.out.p);
        free(two.out.p);
        free(bytes.out.p);
    }

    csv_reader *r = csv_reader_create(NULL);
    if (!r)
        __builtin_trap();
    if (csv_reader_feed(r, data, len, on_record_round_trip, NULL, NULL) ||
        csv_reader_finish(r, on_record_round_trip, NULL, NULL))
        __builtin_trap();
    csv_reader_free(r);
    return 0;
}

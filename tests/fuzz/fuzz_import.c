/*
 * fuzz_import.c — libFuzzer target for IMPORT (segdb_import, engine/import.c)
 * on a small database, and for the REC_IMPORT record it writes.
 *
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iengine \
 *       tests/fuzz/fuzz_import.c engine/[a-z]*.c -lroaring -lutf8proc -lm -o /tmp/fuzz_import
 *   /tmp/fuzz_import -max_total_time=60 -dict=tests/fuzz/fuzz_import.dict
 *
 * Input: byte 0 picks the MATCH key (none, id, identifier, email, phone, or an
 * invalid word), whether a valid header row is put in front of the rest, and
 * whether the rest is the CSV chunk as it is or a list of tokens (each byte
 * one of TOKENS: ids, keys of the seeded contacts, values of every kind,
 * separators, quotes, bad UTF-8), so that short inputs already make rows
 * that match, clash and fail in all the ways the row checks know. Each input
 * gets a fresh database holding a few contacts (one archived), a custom
 * field and a group, with every write captured by the log hook. Then, and it
 * traps on any difference:
 *   1. the result is consistent: on success rejected == n, lines ascending
 *      and within the chunk, created + updated + rejected <= rows; on a
 *      whole-chunk error nothing was written (no record, same seq);
 *   2. DEBUG VERIFY passes (every index agrees with the columns);
 *   3. replaying every logged record into a new database gives the same
 *      EXPORT of every contact (archived ones included), byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb.h"

typedef struct logcap {
    void *buf[16];
    size_t len[16];
    size_t n;
} logcap;

static int cap_log(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    logcap *lc = ctx;
    if (lc->n == 16) __builtin_trap();
    lc->buf[lc->n] = malloc(len ? len : 1);
    if (!lc->buf[lc->n]) __builtin_trap();
    memcpy(lc->buf[lc->n], rec, len);
    lc->len[lc->n++] = len;
    return 0;
}

static int64_t fixed_clock(void *ctx) { return 1764000000; }

static segdb_t *open_db(logcap *lc)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_clock;
    if (lc) {
        o.log_fn = cap_log;
        o.log_ctx = lc;
    }
    segdb_t *db = segdb_open(&o);
    if (!db) __builtin_trap();
    return db;
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "check failed: %s (line %d)\n", #x, __LINE__);                        \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

static void setup(segdb_t *db)
{
    segdb_err e;
    char *code = NULL;
    CHECK(segdb_field_create(db, "score", "integer", &e) == 0);
    CHECK(segdb_group_create(db, "VIP", NULL, &code, &e) == 0);
    free(code);
    segdb_import_res r;
    static const char seed[] = "id,identifier,name,email,phone,tags,groups\n"
                               "1,K1,An,a@x.vn,0912345678,vip,VIP\n"
                               "2,K2,Bình,b@x.vn,0912345679,,\n"
                               "3,,Chi,a@x.vn,,x;y,\n"
                               "4,K4,Dũng,,0933333333,,\n";
    CHECK(segdb_import(db, NULL, seed, sizeof seed - 1, &r, &e) == 0);
    CHECK(r.created == 4 && r.rejected == 0);
    segdb_import_res_free(&r);
    uint64_t ids[] = {4}, changed;
    segdb_target t = {.ids = ids, .nids = 1};
    CHECK(segdb_archive(db, &t, &changed, &e) == 0 && changed == 1);
}

/* Every contact, archived included, as CSV (all pages). malloc'd. */
static char *export_all(segdb_t *db, size_t *len)
{
    segdb_export_req q = {.filter = "archived:yes OR archived:no", .count = 7};
    char *all = NULL;
    size_t n = 0;
    do {
        segdb_export_res r;
        segdb_err e;
        CHECK(segdb_export(db, &q, &r, &e) == 0);
        char *p = realloc(all, n + r.len + 1);
        CHECK(p);
        all = p;
        memcpy(all + n, r.csv, r.len);
        n += r.len;
        q.cursor = r.next_cursor;
        segdb_export_res_free(&r);
    } while (q.cursor);
    *len = n;
    return all;
}

static const char HEADER[] = "id,identifier,name,email,phone,city,tags,groups,score,created_at,type\n";
static const char *const TOKENS[] = {
    ",", ",", ",", ",", "\n", "\n", "\r\n", "\r", "\"", "\"\"", ";", " ", "", "1", "2", "3", "4", "5", "9",
    "18446744073709551615", "18446744073709551614", "0", "-1", "0x1", "K1", "K2", "K4", "k1", "a@x.vn", "A@X.VN",
    "b@x.vn", "new@x.vn", "not-an-email", "0912345678", "+84912345678", "0912 345 679", "0933333333", "abc",
    "vip", "VIP", "x;y", "a,b", "Hà Nội", "ha noi", "Bình", "customer", "visitor", "bogus", "2019-11-01", "-30d",
    "now", "'=1+2", "'@x", "'-5", "\xff", "\xc3(", "\xed\xa0\x80", "\xef\xbb\xbf", "id", "email", "phone",
    "identifier", "name", "tags", "groups", "city", "score", "bucket", "archived", "colour", "42", "1e5",
};
#define NTOKENS (sizeof TOKENS / sizeof *TOKENS)
static const char *const MATCH[] = {NULL, "id", "identifier", "email", "phone", "colour", NULL, "EMAIL"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 16) return 0;
    const char *match = MATCH[data[0] & 7];
    bool header = data[0] & 8, tokens = data[0] & 16;
    size_t hl = header ? sizeof HEADER - 1 : 0;
    char *csv = malloc(hl + (tokens ? 24 * size : size));
    if (!csv) return 0;
    memcpy(csv, HEADER, hl);
    size_t len = hl;
    if (tokens) {
        for (size_t i = 1; i < size; i++) {
            const char *t = TOKENS[data[i] % NTOKENS];
            memcpy(csv + len, t, strlen(t));
            len += strlen(t);
        }
    } else {
        memcpy(csv + hl, data + 1, size - 1);
        len += size - 1;
    }

    logcap lc = {0};
    segdb_t *db = open_db(&lc);
    setup(db);
    size_t before = lc.n;
    segdb_stats s0, s1;
    segdb_get_stats(db, &s0);

    segdb_import_res r;
    segdb_err e;
    int rc = segdb_import(db, match, csv, len, &r, &e);
    segdb_get_stats(db, &s1);
    if (rc == 0) {
        CHECK(r.n == r.rejected);
        uint64_t lines = 1;
        for (size_t i = 0; i < len; i++) lines += csv[i] == '\n' || (csv[i] == '\r' && (i + 1 == len || csv[i + 1] != '\n'));
        for (size_t i = 0; i < r.n; i++) {
            CHECK(r.lines[i] >= 2 && r.lines[i] <= lines);
            CHECK(i == 0 || r.lines[i] >= r.lines[i - 1]);
            CHECK(r.reasons[i] && r.reasons[i][0]);
        }
        CHECK(r.created + r.updated + r.rejected <= lines);
        CHECK(lc.n == before + (r.created + r.updated > 0));
        CHECK(s1.live == s0.live + r.created);
        segdb_import_res_free(&r);
    } else {
        CHECK(r.n == 0 && r.lines == NULL);
        CHECK(rc == SEGDB_EINVAL || rc == SEGDB_ELIMIT);
        CHECK(e.msg[0]);
        CHECK(lc.n == before && s1.seq == s0.seq && s1.live == s0.live);
    }
    CHECK(segdb_verify(db, &e) == 0);

    /* replay equals the live apply */
    segdb_t *db2 = open_db(NULL);
    for (size_t i = 0; i < lc.n; i++) CHECK(segdb_apply_record(db2, i + 1, lc.buf[i], lc.len[i], &e) == 0);
    CHECK(segdb_verify(db2, &e) == 0);
    size_t la, lb;
    char *a = export_all(db, &la), *b = export_all(db2, &lb);
    CHECK(la == lb && memcmp(a, b, la) == 0);
    free(a);
    free(b);
    segdb_close(db2);
    segdb_close(db);
    for (size_t i = 0; i < lc.n; i++) free(lc.buf[i]);
    free(csv);
    return 0;
}

/*
 * test_persist.c — segdb_save / segdb_load: a saved and reloaded database
 * answers every filter as the original did and passes DEBUG VERIFY; a
 * damaged stream (truncated anywhere, bytes flipped) is refused with an
 * error and never crashes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb.h"

typedef struct mem {
    unsigned char *p;
    size_t len, cap, off;
} mem;

static int mem_write(void *ctx, const void *buf, size_t len)
{
    mem *m = ctx;
    if (m->len + len > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 4096;
        while (nc < m->len + len) nc *= 2;
        m->p = realloc(m->p, nc);
        m->cap = nc;
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return 0;
}

static int mem_read(void *ctx, void *buf, size_t len)
{
    mem *m = ctx;
    if (m->len - m->off < len) return -1;
    memcpy(buf, m->p + m->off, len);
    m->off += len;
    return 0;
}

static int64_t fixed_now(void *ctx) { (void)ctx; return 1764000000; }

static segdb_t *open_db(void)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_now;
    return segdb_open(&o);
}

static void put(segdb_t *db, uint64_t id, const char *k1, const char *v1, const char *k2, const char *v2)
{
    segdb_kv kv[2] = {{k1, v1, strlen(v1)}, {k2, v2, v2 ? strlen(v2) : 0}};
    segdb_err e;
    int c;
    cr_assert_eq(segdb_upsert(db, id, kv, k2 ? 2 : 1, &c, &e), 0, "%s", e.msg);
}

static const char *FILTERS[] = {
    "city:hanoi", "q:nguyen", "tag:vip", "created_at < 2024-01-01", "purchases > 2", "score >= 1.5",
    "has:email AND NOT tag:vip", "relationship:dont_forget", "phone~345", "shop:\"cua hang\"",
    "birthday_month:5", "bucket < 5000", "archived:yes", "email~example",
};

static segdb_t *sample(void)
{
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "score", "number", &e), 0);
    cr_assert_eq(segdb_field_create(db, "shop", "category", &e), 0);
    char id[32], t[32];
    for (int i = 1; i <= 3000; i++) {
        snprintf(t, sizeof t, "%d", 1500000000 + i * 40000);
        put(db, (uint64_t)i * 7, "city", i % 3 ? "Hà Nội" : "Huế", "created_at", t);
        if (i % 2) put(db, (uint64_t)i * 7, "name", i % 4 ? "Nguyễn Văn An" : "Lê Thị Bình", "tags", i % 5 ? "vip;mới" : "cũ");
        if (i % 3 == 0) put(db, (uint64_t)i * 7, "email", i % 6 ? "a@example.com" : "b@x.vn", "phone", "0912 345 678");
        snprintf(t, sizeof t, "%d.5", i % 4);
        put(db, (uint64_t)i * 7, "score", t, "shop", i % 7 ? "Cửa hàng" : "Chợ");
        snprintf(t, sizeof t, "%d", i % 9);
        put(db, (uint64_t)i * 7, "purchases", t, "birthday", "1990-05-17");
        if (i % 11 == 0) put(db, (uint64_t)i * 7, "last_contacted", "1700000000", NULL, NULL);
    }
    uint64_t del[] = {14, 21, 70};
    uint64_t n;
    cr_assert_eq(segdb_del(db, del, 3, &n, &e), 0);
    (void)id;
    return db;
}

Test(persist, save_load_round_trip_answers_the_same)
{
    segdb_t *db = sample();
    mem m = {0};
    segdb_err e;
    cr_assert_eq(segdb_save(db, mem_write, &m, &e), 0, "%s", e.msg);
    segdb_t *db2 = NULL;
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_now;
    cr_assert_eq(segdb_load(&db2, &o, mem_read, &m, m.len, &e), 0, "%s", e.msg);
    for (size_t i = 0; i < sizeof FILTERS / sizeof *FILTERS; i++) {
        uint64_t a = 0, b = 0;
        cr_assert_eq(segdb_count(db, FILTERS[i], &a, &e), 0, "%s: %s", FILTERS[i], e.msg);
        cr_assert_eq(segdb_count(db2, FILTERS[i], &b, &e), 0, "%s: %s", FILTERS[i], e.msg);
        cr_assert_eq(a, b, "%s: %llu before, %llu after", FILTERS[i], (unsigned long long)a, (unsigned long long)b);
    }
    cr_assert_eq(segdb_verify(db2, &e), 0, "%s", e.msg);
    segdb_stats s1, s2;
    segdb_get_stats(db, &s1);
    segdb_get_stats(db2, &s2);
    cr_assert_eq(s1.seq, s2.seq);
    cr_assert_eq(s1.live, s2.live);
    /* writes keep working on the loaded copy, ids included */
    put(db2, 7, "city", "Đà Nẵng", NULL, NULL);
    put(db2, 14, "city", "Đà Nẵng", NULL, NULL);
    uint64_t n;
    cr_assert_eq(segdb_count(db2, "city:danang", &n, &e), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(segdb_verify(db2, &e), 0, "%s", e.msg);
    segdb_close(db2);
    segdb_close(db);
    free(m.p);
}

Test(persist, damaged_streams_are_refused)
{
    segdb_t *db = open_db();
    put(db, 1, "city", "Huế", "tags", "a;b");
    put(db, 2, "name", "An", "created_at", "1600000000");
    mem m = {0};
    segdb_err e;
    cr_assert_eq(segdb_save(db, mem_write, &m, &e), 0);
    segdb_close(db);
    /* every truncation */
    for (size_t cut = 0; cut < m.len; cut += 1) {
        mem t = {.p = m.p, .len = cut};
        segdb_t *out = NULL;
        int rc = segdb_load(&out, NULL, mem_read, &t, t.len, &e);
        cr_assert_neq(rc, 0, "a stream cut at %zu of %zu loaded", cut, m.len);
        cr_assert_null(out);
    }
    /* flipped bytes: must not crash; either refused or loaded consistently */
    unsigned char *copy = malloc(m.len);
    for (size_t i = 0; i < m.len; i++) {
        memcpy(copy, m.p, m.len);
        copy[i] ^= 0x5a;
        mem t = {.p = copy, .len = m.len};
        segdb_t *out = NULL;
        if (segdb_load(&out, NULL, mem_read, &t, t.len, &e) == 0) {
            uint64_t n;
            segdb_count(out, "tag:a OR city:hue OR name:an", &n, &e);
            segdb_close(out);
        }
    }
    free(copy);
    free(m.p);
}

/* The stream's header: magic 8, seq 8, nrows 4, nfields 4, max_id 8, the
 * ids-ascending flag 1, the ids array's byte length 8, then the ids. */
enum { OFF_MAX_ID = 24, OFF_ASC = 32, OFF_IDS = 41 };

Test(persist, header_facts_are_recomputed_and_duplicate_ids_refused)
{
    segdb_t *db = open_db();
    put(db, 5, "city", "Huế", NULL, NULL);
    put(db, 3, "city", "Huế", NULL, NULL);
    mem m = {0};
    segdb_err e;
    cr_assert_eq(segdb_save(db, mem_write, &m, &e), 0);
    segdb_close(db);
    uint64_t five = 5, zero = 0;

    /* a second row claiming id 5: refused, not two contacts with one id */
    unsigned char *copy = malloc(m.len);
    memcpy(copy, m.p, m.len);
    memcpy(copy + OFF_IDS + 8, &five, 8);
    mem t = {.p = copy, .len = m.len};
    segdb_t *out = NULL;
    cr_assert_neq(segdb_load(&out, NULL, mem_read, &t, t.len, &e), 0);
    cr_assert_null(out);
    cr_assert(strstr(e.msg, "duplicate ids"), "%s", e.msg);

    /* a lying max_id and ascending flag: the loaded database still finds id 5
     * (an upsert updates it rather than adding a second contact) */
    memcpy(copy, m.p, m.len);
    memcpy(copy + OFF_MAX_ID, &zero, 8);
    copy[OFF_ASC] = 1;
    t = (mem){.p = copy, .len = m.len};
    cr_assert_eq(segdb_load(&out, NULL, mem_read, &t, t.len, &e), 0, "%s", e.msg);
    put(out, 5, "city", "Đà Nẵng", NULL, NULL);
    uint64_t n;
    cr_assert_eq(segdb_count(out, "city:hue OR city:danang", &n, &e), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(segdb_verify(out, &e), 0, "%s", e.msg);
    segdb_close(out);
    free(copy);
    free(m.p);
}

static uint64_t count_of(segdb_t *db, const char *filter)
{
    uint64_t n = 0;
    segdb_err e;
    cr_assert_eq(segdb_count(db, filter, &n, &e), 0, "%s: %s", filter, e.msg);
    return n;
}

/* Category codes are 8 bits up to 255 values and 32 bits after: a snapshot
 * of either width loads, and a loaded 8-bit column still widens when the
 * 256th value arrives. */
Test(persist, category_code_columns_of_both_widths_round_trip)
{
    char v[16];
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 500; i++) {
        snprintf(v, sizeof v, "s%03llu", (unsigned long long)(i % 250)); /* 250 values: 8 bits */
        put(db, i, "source", v, "channel", i % 2 ? "web" : "zalo");
    }
    for (int round = 0; round < 2; round++) {
        mem m = {0};
        segdb_err e;
        cr_assert_eq(segdb_save(db, mem_write, &m, &e), 0, "%s", e.msg);
        segdb_close(db);
        db = NULL;
        cr_assert_eq(segdb_load(&db, NULL, mem_read, &(mem){.p = m.p, .len = m.len}, m.len, &e), 0, "%s", e.msg);
        free(m.p);
        cr_assert_eq(count_of(db, "source:s007"), 2, "round %d", round);
        cr_assert_eq(count_of(db, "channel:zalo"), 250 + (uint64_t)round);
        cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
        if (round == 0) {
            /* past 255 values after the load: the column widens */
            for (uint64_t i = 501; i <= 520; i++) {
                snprintf(v, sizeof v, "new%02llu", (unsigned long long)i % 100);
                put(db, i, "source", v, "channel", i == 520 ? "zalo" : "web");
            }
            cr_assert_eq(count_of(db, "source:new19"), 1);
            cr_assert_eq(count_of(db, "has:source"), 520);
            cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
        }
    }
    cr_assert_eq(count_of(db, "source:new05 OR source:s249"), 3);
    segdb_close(db);
}

/* The stream of a database holding one contact with a city, and where in it
 * the city's 8-bit code column starts: the mask byte 1, then the column as an
 * array of one byte (u64 length 1, the code). The first such column after the
 * field's name is the city's own (presence and dictionary come between). */
static const unsigned char CITY_NAME[] = {4, 0, 0, 0, 'c', 'i', 't', 'y'};
static const unsigned char COL8[] = {1, 1, 0, 0, 0, 0, 0, 0, 0};
static const unsigned char COL32[] = {2, 4, 0, 0, 0, 0, 0, 0, 0};

static unsigned char *after_city(unsigned char *p, size_t len, const unsigned char *col, size_t col_len)
{
    unsigned char *at = memmem(p, len, CITY_NAME, sizeof CITY_NAME);
    cr_assert_not_null(at);
    return memmem(at, len - (size_t)(at - p), col, col_len);
}

static unsigned char *one_city_stream(mem *m)
{
    segdb_t *db = open_db();
    put(db, 1, "city", "Huế", NULL, NULL);
    segdb_err e;
    cr_assert_eq(segdb_save(db, mem_write, m, &e), 0, "%s", e.msg);
    segdb_close(db);
    unsigned char *col = after_city(m->p, m->len, COL8, sizeof COL8);
    cr_assert_not_null(col);
    return col;
}

/* A crafted stream whose category field has a value (its presence bitmap
 * holds the row) but no code column is refused: read as loaded, a later GET
 * or sort would have nothing to read the value from. */
Test(persist, values_without_a_code_column_are_refused)
{
    mem m = {0};
    segdb_err e;
    unsigned char *mask = one_city_stream(&m);
    /* drop the column: mask 0, and the 8 length bytes and the code byte gone */
    size_t cut = (size_t)(mask - m.p);
    unsigned char *b = malloc(m.len);
    memcpy(b, m.p, cut);
    b[cut] = 0;
    memcpy(b + cut + 1, mask + 10, m.len - cut - 10);
    mem t = {.p = b, .len = m.len - 9};
    segdb_t *out = NULL;
    cr_assert_neq(segdb_load(&out, NULL, mem_read, &t, t.len, &e), 0);
    cr_assert_null(out);
    cr_assert(strstr(e.msg, "has values but no value-code column"), "%s", e.msg);
    /* the unchanged stream loads */
    mem ok = {.p = m.p, .len = m.len};
    cr_assert_eq(segdb_load(&out, NULL, mem_read, &ok, ok.len, &e), 0, "%s", e.msg);
    segdb_close(out);
    free(b);
    free(m.p);
}

/* A version 1 stream keeps a category's codes in 32 bits; loading narrows a
 * category of fewer than 256 values to 8 bits, which the next save shows. */
Test(persist, version_1_category_codes_load_narrowed)
{
    mem m = {0};
    segdb_err e;
    unsigned char *mask = one_city_stream(&m);
    /* rewrite as version 1 wrote it: "SEGDBST1", mask 2, a 4-byte code */
    size_t cut = (size_t)(mask - m.p);
    unsigned char *b = malloc(m.len + 3);
    memcpy(b, m.p, cut);
    memcpy(b, "SEGDBST1", 8);
    memcpy(b + cut, COL32, sizeof COL32);
    uint32_t code = mask[9];
    memcpy(b + cut + 9, &code, 4);
    memcpy(b + cut + 13, mask + 10, m.len - cut - 10);
    mem v1 = {.p = b, .len = m.len + 3};
    segdb_t *out = NULL;
    cr_assert_eq(segdb_load(&out, NULL, mem_read, &v1, v1.len, &e), 0, "%s", e.msg);
    cr_assert_eq(count_of(out, "city:hue"), 1);
    cr_assert_eq(segdb_verify(out, &e), 0, "%s", e.msg);
    mem again = {0};
    cr_assert_eq(segdb_save(out, mem_write, &again, &e), 0, "%s", e.msg);
    cr_assert_eq(memcmp(again.p, "SEGDBST2", 8), 0);
    unsigned char *c8 = after_city(again.p, again.len, COL8, sizeof COL8);
    unsigned char *c32 = after_city(again.p, again.len, COL32, sizeof COL32);
    cr_assert(c8 && (!c32 || c8 < c32), "the city codes are 8-bit again");
    segdb_close(out);
    free(again.p);
    free(b);
    free(m.p);
}

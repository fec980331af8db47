/*
 * test_lanes.c — counts whose chunks are split over worker threads (exec.c's
 * lanes) equal the single-threaded counts, for every kind of plan node, on a
 * database of several 65536-row chunks; the same handle keeps answering
 * across many parallel queries and closes cleanly (workers joined). Counts
 * over chunks where every row is live (which skip the universe AND) equal
 * the arithmetic.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb.h"

#define ROWS 150000 /* three chunks */

static int64_t g_now = 1764000000; /* 2025-11-24 */
static int64_t fixed_clock(void *ctx) { return *(int64_t *)ctx; }

static uint64_t g_rng = 88172645463325252u;
static uint32_t rn(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

static segdb_t *open_db(uint32_t threads)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_clock;
    o.clock_ctx = &g_now;
    o.query_threads = threads;
    o.parallel_min_rows = 1; /* split even small universes */
    segdb_t *db = segdb_open(&o);
    cr_assert_not_null(db);
    return db;
}

static const char *const CITIES[] = {"Hà Nội", "Huế", "Đà Nẵng", "Cần Thơ", "Hồ Chí Minh"};
static const char *const TYPES[] = {"visitor", "lead", "customer"};

/* The same contacts into both handles: tags of several densities (bitset and
 * array containers), a category, an enum, times and numbers with range edges,
 * some deletes and archives. */
static void fill(segdb_t *a, segdb_t *b)
{
    segdb_t *dbs[2] = {a, b};
    char tags[128], created[32], purchases[16];
    for (uint32_t i = 0; i < ROWS; i++) {
        size_t tl = 0;
        tags[0] = 0;
        for (int t = 0; t < 12; t++) /* tag tK holds ~1/2^(K/2+1) of the rows */
            if (rn(1u << (t / 2 + 1)) == 0) tl += (size_t)snprintf(tags + tl, sizeof tags - tl, "%st%d", tl ? ";" : "", t);
        snprintf(created, sizeof created, "%lld", (long long)(1546300800 + (int64_t)rn(250000000)));
        snprintf(purchases, sizeof purchases, "%u", rn(40));
        segdb_kv kv[6] = {
            {"city", CITIES[rn(5)], 0}, {"type", TYPES[rn(3)], 0}, {"created_at", created, 0},
            {"purchases", purchases, 0}, {"tags", tags, 0}, {"phone", "0912345678", 0},
        };
        size_t n = rn(4) ? 5 : 6;
        if (!tl) { kv[4] = kv[5]; n--; } /* no tags at all for some */
        for (size_t k = 0; k < n; k++) kv[k].value_len = strlen(kv[k].value);
        for (int d = 0; d < 2; d++) {
            segdb_err e;
            int created_flag;
            cr_assert_eq(segdb_upsert(dbs[d], 1000 + i, kv, n, &created_flag, &e), 0, "%s", e.msg);
        }
    }
    for (int d = 0; d < 2; d++) {
        uint64_t ids[] = {1000, 1001, 70000, 149999 + 1000};
        uint64_t n;
        segdb_err e;
        cr_assert_eq(segdb_del(dbs[d], ids, 4, &n, &e), 0, "%s", e.msg);
        segdb_target t = {.filter = "city:hue AND tag:t1"};
        cr_assert_eq(segdb_archive(dbs[d], &t, &n, &e), 0, "%s", e.msg);
    }
}

static const char *const ATOMS[] = {
    "tag:t0", "tag:t3", "tag:t7", "tag:t11", "city:hanoi", "city:\"Hồ Chí Minh\"", "type:lead",
    "created_at < 2022-03-01", "created_at >= 2024-07-15", "purchases > 30", "purchases <= 3",
    "has:phone", "missing:tags", "created_at > -900d", "phone:0912345678", "archived:yes",
    "(tag:t1 OR tag:t2 OR tag:t4 OR tag:t5 OR tag:t6 OR tag:t8 OR tag:t9 OR tag:t10)",
};

static void random_filter(char *out, size_t cap, int depth)
{
    size_t n = sizeof ATOMS / sizeof *ATOMS;
    if (depth == 0 || rn(3) == 0) {
        snprintf(out, cap, "%s%s", rn(4) == 0 ? "NOT " : "", ATOMS[rn((uint32_t)n)]);
        return;
    }
    char l[1024], r[1024];
    random_filter(l, sizeof l, depth - 1);
    random_filter(r, sizeof r, depth - 1);
    snprintf(out, cap, "%s(%s %s %s)", rn(5) == 0 ? "NOT " : "", l, rn(2) ? "AND" : "OR", r);
}

Test(lanes, split_counts_equal_single_thread_counts, .timeout = 300)
{
    segdb_t *one = open_db(1), *four = open_db(4);
    fill(one, four);
    char f[4096];
    size_t nonzero = 0;
    for (int i = 0; i < 1500; i++) {
        if (i < (int)(sizeof ATOMS / sizeof *ATOMS)) snprintf(f, sizeof f, "%s", ATOMS[i]);
        else random_filter(f, sizeof f, 3);
        uint64_t a = 0, b = 0;
        segdb_err e;
        cr_assert_eq(segdb_count(one, f, &a, &e), 0, "%s: %s", f, e.msg);
        cr_assert_eq(segdb_count(four, f, &b, &e), 0, "%s: %s", f, e.msg);
        cr_assert_eq(a, b, "%s: %llu on one thread, %llu split", f, (unsigned long long)a, (unsigned long long)b);
        nonzero += a != 0;
    }
    cr_assert_gt(nonzero, 1000, "the filters should mostly match something (%zu)", nonzero);
    /* the whole universe and a many-way OR cross every chunk boundary */
    uint64_t a, b;
    segdb_err e;
    cr_assert_eq(segdb_count(four, "NOT tag:t0 OR tag:t0", &a, &e), 0);
    cr_assert_eq(segdb_count(one, "NOT tag:t0 OR tag:t0", &b, &e), 0);
    cr_assert_eq(a, b);
    cr_assert_gt(a, 2 * 65536);
    segdb_close(one);
    segdb_close(four);
}

static uint64_t count_of(segdb_t *db, const char *filter)
{
    uint64_t n = 0;
    segdb_err e;
    cr_assert_eq(segdb_count(db, filter, &n, &e), 0, "%s: %s", filter, e.msg);
    return n;
}

/* FIND ... SORT created_at DESC walks time buckets (evaluating a bucket's
 * rows alone, split over lanes, or the whole filter once): each page is
 * ordered, is exactly the offset..offset+limit ranks (checked with counts
 * around the page's last value) and is the same on one thread and split. */
Test(lanes, sorted_pages_by_time_are_the_right_ranks, .timeout = 300)
{
    segdb_t *one = open_db(1), *four = open_db(4);
    fill(one, four);
    const char *fl[] = {"created_at"};
    char f[4096], q[8192];
    for (int i = 0; i < 120; i++) {
        if (i < (int)(sizeof ATOMS / sizeof *ATOMS)) snprintf(f, sizeof f, "%s", ATOMS[i]);
        else random_filter(f, sizeof f, 2);
        uint64_t offset = (uint64_t)(i % 3) * 37, limit = 50;
        segdb_find_req rq = {.filter = f, .sort_field = "created_at", .desc = true, .offset = offset,
                             .limit = limit, .fields = fl, .nfields = 1};
        segdb_find_res a, b;
        segdb_err e;
        cr_assert_eq(segdb_find(one, &rq, &a, &e), 0, "%s: %s", f, e.msg);
        cr_assert_eq(segdb_find(four, &rq, &b, &e), 0, "%s: %s", f, e.msg);
        cr_assert_eq(a.n, b.n, "%s", f);
        cr_assert(a.n == 0 || memcmp(a.ids, b.ids, a.n * sizeof *a.ids) == 0, "%s: pages differ", f);
        snprintf(q, sizeof q, "(%s) AND has:created_at", f);
        uint64_t have = count_of(one, q);
        uint64_t want = have > offset ? (have - offset < limit ? have - offset : limit) : 0;
        cr_assert_eq(a.n, want, "%s: %zu ids, %llu expected", f, a.n, (unsigned long long)want);
        for (size_t k = 1; k < a.n; k++)
            cr_assert(strtoll(a.values[k - 1], NULL, 10) >= strtoll(a.values[k], NULL, 10), "%s: out of order", f);
        if (a.n) {
            long long last = strtoll(a.values[a.n - 1], NULL, 10);
            snprintf(q, sizeof q, "(%s) AND created_at > %lld", f, last);
            uint64_t above = count_of(one, q);
            snprintf(q, sizeof q, "(%s) AND created_at >= %lld", f, last);
            uint64_t at_or_above = count_of(one, q);
            cr_assert(above < offset + a.n && offset + a.n <= at_or_above, "%s: page ends at rank %llu, "
                      "but %llu rows are newer and %llu as new", f, (unsigned long long)(offset + a.n),
                      (unsigned long long)above, (unsigned long long)at_or_above);
        }
        segdb_find_res_free(&a);
        segdb_find_res_free(&b);
    }
    segdb_close(one);
    segdb_close(four);
}

/* Chunks where every row is live skip the AND with the universe: counts over
 * two full chunks and a partial one equal the arithmetic, before and after
 * archiving a row of the first chunk (then no longer full). */
Test(lanes, full_chunks_count_exactly, .timeout = 300)
{
    const uint64_t rows = 2 * 65536 + 1000;
    for (uint32_t threads = 1; threads <= 4; threads += 3) {
        segdb_t *db = open_db(threads);
        uint64_t want_or = 0, want_and = 0;
        for (uint64_t i = 0; i < rows; i++) {
            char tags[64];
            size_t tl = 0;
            tags[0] = 0;
            const uint64_t mods[] = {3, 5, 7, 11, 13};
            for (int t = 0; t < 5; t++)
                if (i % mods[t] == 0) tl += (size_t)snprintf(tags + tl, sizeof tags - tl, "%st%d", tl ? ";" : "", t);
            bool any4 = i % 3 == 0 || i % 5 == 0 || i % 7 == 0 || i % 11 == 0;
            want_or += any4;
            want_and += any4 && i % 13 != 0;
            segdb_kv kv[1] = {{"tags", tl ? tags : "", 0}};
            kv[0].value_len = strlen(kv[0].value);
            segdb_err e;
            int created;
            cr_assert_eq(segdb_upsert(db, 1 + i, kv, 1, &created, &e), 0, "%s", e.msg);
        }
        const char *or4 = "tag:t0 OR tag:t1 OR tag:t2 OR tag:t3";
        const char *and_not = "(tag:t0 OR tag:t1 OR tag:t2 OR tag:t3) AND NOT tag:t4";
        cr_assert_eq(count_of(db, or4), want_or, "%u threads", threads);
        cr_assert_eq(count_of(db, and_not), want_and, "%u threads", threads);
        /* row 30 (id 31) matches both: archiving it leaves chunk 0 one row short */
        segdb_target t = {.filter = "id:31"};
        uint64_t n;
        segdb_err e;
        cr_assert_eq(segdb_archive(db, &t, &n, &e), 0, "%s", e.msg);
        cr_assert_eq(n, 1);
        cr_assert_eq(count_of(db, or4), want_or - 1, "%u threads", threads);
        cr_assert_eq(count_of(db, and_not), want_and - 1, "%u threads", threads);
        segdb_close(db);
    }
}

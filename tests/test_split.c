/*
 * test_split.c — SPLIT (SPEC 7 "Splits") against a deliberately naive
 * reference written here: fetch every matching contact with FIND, sort them
 * in the test (by id, by the BY field's value with ties by id and missing
 * values last, or by the seeded hash), cut with the floor formula computed on
 * exact decimal integers, and compare each contact's part with the frozen
 * segments SPLIT ... SAVE stored. Also: the argument errors, exact PERCENT
 * arithmetic, RANDOM stability, and replay of a saved split.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "segdb.h"

static int64_t g_now = 1764000000;
static int64_t fixed_clock(void *ctx) { return *(int64_t *)ctx; }

static segdb_t *open_db(void)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_clock;
    o.clock_ctx = &g_now;
    segdb_t *db = segdb_open(&o);
    cr_assert_not_null(db);
    return db;
}

static void upsert(segdb_t *db, uint64_t id, const char *const *kv)
{
    segdb_kv a[32];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        a[n].name = kv[2 * n];
        a[n].value = kv[2 * n + 1];
        a[n].value_len = strlen(kv[2 * n + 1]);
    }
    int created;
    segdb_err e;
    cr_assert_eq(segdb_upsert(db, id, a, n, &created, &e), 0, "upsert %llu: %s", (unsigned long long)id, e.msg);
}

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The hash SPLIT RANDOM orders by (campaign.h): pinned here on purpose, since
 * "same data + same seed = same parts" must hold across versions. */
static uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}
static uint64_t seeded(uint64_t seed, uint64_t id) { return mix64(seed ^ mix64(id)); }

/* A mixed population: ids given in `ids`, values with many ties and gaps. */
static void load(segdb_t *db, const uint64_t *ids, size_t n)
{
    static const char *cities[] = {"Hà Nội", "Huế", "Đà Nẵng", "hanoi", "Cần Thơ", "Hải Phòng"};
    static const char *genders[] = {"male", "female", "other", "unknown"};
    static const char *names[] = {"Nguyễn An", "nguyen an", "Trần Bình", "Lê Chi", "Ánh", "Zô"};
    for (size_t i = 0; i < n; i++) {
        const char *kv[40];
        int k = 0;
        char created[32], purchases[32], revenue[32], seen[32];
        snprintf(created, sizeof created, "%lld", (long long)(1600000000 + (int64_t)(rnd() % 50) * 86400 * 7));
        kv[k++] = "created_at";
        kv[k++] = created;
        if (rnd() % 5) {
            snprintf(purchases, sizeof purchases, "%lld", (long long)(rnd() % 21) - 10);
            kv[k++] = "purchases";
            kv[k++] = purchases;
        }
        if (rnd() % 4) {
            snprintf(revenue, sizeof revenue, "%.2f", (double)(rnd() % 1000) / 7.0 - 50);
            kv[k++] = "revenue";
            kv[k++] = revenue;
        }
        if (rnd() % 3) {
            kv[k++] = "gender";
            kv[k++] = genders[rnd() % 4];
        }
        if (rnd() % 4) {
            kv[k++] = "city";
            kv[k++] = cities[rnd() % 6];
        }
        if (rnd() % 3) {
            kv[k++] = "name";
            kv[k++] = names[rnd() % 6];
        }
        if (rnd() % 2) {
            snprintf(seen, sizeof seen, "%lld", (long long)(1700000000 + (int64_t)(rnd() % 100000) * 1000));
            kv[k++] = "seen";
            kv[k++] = seen;
        }
        kv[k++] = "tags";
        kv[k++] = rnd() % 3 ? "in" : "out";
        if (rnd() % 4 == 0) {
            kv[k++] = "last_contacted";
            kv[k++] = rnd() % 2 ? "-60d" : "-5d";
        }
        kv[k] = NULL;
        upsert(db, ids[i], kv);
    }
}

/* Every id (and the field's formatted value) matching filter, by id. */
static size_t find_all(segdb_t *db, const char *filter, const char *field, uint64_t **ids_out, char ***vals_out)
{
    size_t cap = 1024, n = 0;
    uint64_t *ids = malloc(cap * sizeof *ids);
    char **vals = calloc(cap, sizeof *vals);
    for (uint64_t off = 0;; off += 10000) {
        const char *fl[1] = {field};
        segdb_find_req rq = {.filter = filter, .fields = field ? fl : NULL, .nfields = field ? 1 : 0,
                             .offset = off, .limit = 10000};
        segdb_find_res rs;
        segdb_err e;
        cr_assert_eq(segdb_find(db, &rq, &rs, &e), 0, "find %s: %s", filter ? filter : "(all)", e.msg);
        for (size_t i = 0; i < rs.n; i++) {
            if (n == cap) {
                cap *= 2;
                ids = realloc(ids, cap * sizeof *ids);
                vals = realloc(vals, cap * sizeof *vals);
            }
            ids[n] = rs.ids[i];
            vals[n] = field && rs.values[i] ? strdup(rs.values[i]) : NULL;
            n++;
        }
        size_t got = rs.n;
        segdb_find_res_free(&rs);
        if (got < 10000) break;
    }
    *ids_out = ids;
    *vals_out = vals;
    return n;
}

typedef enum { K_ID, K_INT, K_DOUBLE, K_FOLD, K_ENUM } keykind;

typedef struct item {
    uint64_t id;
    bool missing;
    long long i;
    double d;
    char *s;
    uint64_t tie;
    int part;
} item;

static keykind g_kind;

static int cmp_item(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->missing != y->missing) return x->missing ? 1 : -1;
    if (!x->missing) {
        int r = 0;
        switch (g_kind) {
        case K_INT: case K_ENUM: r = x->i < y->i ? -1 : x->i > y->i; break;
        case K_DOUBLE: r = x->d < y->d ? -1 : x->d > y->d; break;
        case K_FOLD: r = strcmp(x->s, y->s); break;
        default: break;
        }
        if (r) return r;
    }
    if (x->tie != y->tie) return x->tie < y->tie ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_id(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* p as 10^-12 percent; the test's own exact decimal reading. */
static unsigned __int128 ref_percent(const char *p)
{
    unsigned __int128 v = 0;
    int dec = -1;
    for (; *p && *p != '%'; p++) {
        if (*p == '.') { dec = 0; continue; }
        if (dec >= 12) continue;
        v = v * 10 + (unsigned)(*p - '0');
        if (dec >= 0) dec++;
    }
    for (int d = dec < 0 ? 0 : dec; d < 12; d++) v *= 10;
    return v;
}

static const char *const GENDERS[] = {"male", "female", "other", "unknown", NULL};
static const char *const RELS[] = {"new", "approached", "hot", "potential", "lost", "won", "dont_forget", NULL};

/* Run the split and check it against the reference. */
static void check_split(segdb_t *db, const segdb_split_req *rq, keykind kind, const char *const *members)
{
    segdb_split_res res;
    segdb_err e;
    cr_assert_eq(segdb_split(db, rq, &res, &e), 0, "split: %s", e.msg);
    uint64_t *ids;
    char **vals;
    size_t N = find_all(db, rq->filter, rq->by_field, &ids, &vals);
    item *it = calloc(N ? N : 1, sizeof *it);
    for (size_t i = 0; i < N; i++) {
        it[i].id = ids[i];
        it[i].tie = rq->has_seed ? seeded(rq->seed, ids[i]) : ids[i];
        it[i].part = -1;
        if (kind == K_ID) {
            if (rq->has_seed) { it[i].i = 0; it[i].tie = seeded(rq->seed, ids[i]); }
            continue;
        }
        if (!vals[i]) { it[i].missing = true; continue; }
        switch (kind) {
        case K_INT: it[i].i = strtoll(vals[i], NULL, 10); break;
        case K_DOUBLE: it[i].d = strtod(vals[i], NULL); break;
        case K_FOLD: it[i].s = fold_dup(vals[i], strlen(vals[i]), NULL); break;
        case K_ENUM:
            it[i].i = -1;
            for (int m = 0; members[m]; m++)
                if (strcmp(members[m], vals[i]) == 0) it[i].i = m;
            cr_assert(it[i].i >= 0, "%s", vals[i]);
            break;
        default: break;
        }
    }
    g_kind = kind;
    qsort(it, N, sizeof *it, cmp_item);
    size_t nparts = rq->npercents ? rq->npercents : rq->n;
    cr_assert_eq(res.n, nparts);
    uint64_t *cut = calloc(nparts + 1, sizeof *cut);
    unsigned __int128 cum = 0;
    for (size_t k = 1; k <= nparts; k++) {
        if (rq->npercents) {
            cum += ref_percent(rq->percents[k - 1]);
            cut[k] = (uint64_t)((unsigned __int128)N * cum / ((unsigned __int128)100 * 1000000000000ULL));
        } else {
            cut[k] = (uint64_t)((unsigned __int128)N * k / nparts);
        }
        cr_assert_eq(res.sizes[k - 1], cut[k] - cut[k - 1], "part %zu of %zu, N=%zu", k, nparts, N);
    }
    for (size_t k = 0; k < nparts; k++)
        for (uint64_t r = cut[k]; r < cut[k + 1]; r++) it[r].part = (int)k;
    if (rq->save_prefix) {
        qsort(it, N, sizeof *it, cmp_id);
        for (size_t k = 0; k < nparts; k++) {
            char f[128];
            snprintf(f, sizeof f, "segment:%s%zu", rq->save_prefix, k + 1);
            uint64_t *pids;
            char **pv;
            size_t pn = find_all(db, f, NULL, &pids, &pv);
            cr_assert_eq(pn, res.sizes[k], "%s holds %zu, size says %llu", f, pn, (unsigned long long)res.sizes[k]);
            for (size_t j = 0; j < pn; j++) {
                item key = {.id = pids[j]};
                item *x = bsearch(&key, it, N, sizeof *it, cmp_id);
                cr_assert_not_null(x, "%s holds %llu, which the filter doesn't match", f, (unsigned long long)pids[j]);
                cr_assert_eq(x->part, (int)k, "contact %llu is in part %zu; the reference says %d (%s)",
                             (unsigned long long)pids[j], k + 1, x->part + 1, rq->by_field ? rq->by_field : "id");
            }
            free(pids);
            free(pv);
        }
    }
    for (size_t i = 0; i < N; i++) {
        free(it[i].s);
        free(vals[i]);
    }
    free(it);
    free(ids);
    free(vals);
    free(cut);
    segdb_split_res_free(&res);
}

static segdb_t *populated(size_t n, bool shuffled)
{
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "seen", "time", &e), 0);
    uint64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = 1000 + i * 3;
    if (shuffled)
        for (size_t i = n; i > 1; i--) {
            size_t j = rnd() % i;
            uint64_t t = ids[i - 1];
            ids[i - 1] = ids[j];
            ids[j] = t;
        }
    load(db, ids, n);
    free(ids);
    return db;
}

/* ---- errors --------------------------------------------------------------------- */

Test(split, argument_errors_apply_nothing)
{
    segdb_t *db = populated(50, false);
    segdb_split_res res;
    segdb_err e;
    segdb_split_req rq = {.n = 0, .filter = "tag:in"};
    cr_assert_eq(segdb_split(db, &rq, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "SPLIT 0"), "%s", e.msg);
    rq.n = 1001;
    cr_assert_eq(segdb_split(db, &rq, &res, &e), SEGDB_ELIMIT);
    cr_assert(strstr(e.msg, "1000"), "%s", e.msg);
    rq.n = 1000;
    cr_assert_eq(segdb_split(db, &rq, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.n, 1000);
    segdb_split_res_free(&res);
    const char *neg[] = {"50", "-10"};
    segdb_split_req pr = {.percents = neg, .npercents = 2, .filter = "tag:in"};
    cr_assert_eq(segdb_split(db, &pr, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "negative"), "%s", e.msg);
    const char *over[] = {"60", "40.000000000001"};
    pr.percents = over;
    cr_assert_eq(segdb_split(db, &pr, &res, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "more than 100"), "%s", e.msg);
    const char *junk[] = {"abc"};
    pr.percents = junk;
    pr.npercents = 1;
    cr_assert_eq(segdb_split(db, &pr, &res, &e), SEGDB_EINVAL);
    const char *fine[] = {"0.0000000000010000"};
    pr.percents = fine;
    cr_assert_eq(segdb_split(db, &pr, &res, &e), 0, "trailing zeros past 12 decimals are fine: %s", e.msg);
    segdb_split_res_free(&res);
    const char *toofine[] = {"0.0000000000001"};
    pr.percents = toofine;
    cr_assert_eq(segdb_split(db, &pr, &res, &e), SEGDB_EINVAL);
    const char *many[1001];
    for (int i = 0; i < 1001; i++) many[i] = "0.01";
    pr.percents = many;
    pr.npercents = 1001;
    cr_assert_eq(segdb_split(db, &pr, &res, &e), SEGDB_ELIMIT);
    pr.npercents = 0;
    cr_assert_eq(segdb_split(db, &pr, &res, &e), SEGDB_EINVAL);
    segdb_split_req both = {.n = 2, .percents = fine, .npercents = 1};
    cr_assert_eq(segdb_split(db, &both, &res, &e), SEGDB_EINVAL);
    segdb_split_req by = {.n = 2, .by_field = "nope"};
    cr_assert_eq(segdb_split(db, &by, &res, &e), SEGDB_EINVAL);
    by.by_field = "tags";
    cr_assert_eq(segdb_split(db, &by, &res, &e), SEGDB_EINVAL);
    segdb_split_req bad = {.n = 2, .filter = "purchases:abc", .save_prefix = "x"};
    cr_assert_eq(segdb_split(db, &bad, &res, &e), SEGDB_EWRONGTYPE);
    /* SAVE: an existing name is an error, checked before anything is applied */
    uint64_t sz;
    cr_assert_eq(segdb_segment_freeze(db, "p3", "tag:in", &sz, &e), 0);
    segdb_split_req sv = {.n = 4, .save_prefix = "p", .filter = "tag:in"};
    cr_assert_eq(segdb_split(db, &sv, &res, &e), SEGDB_EEXIST);
    cr_assert(strstr(e.msg, "p3"), "%s", e.msg);
    segdb_segment_res sl;
    cr_assert_eq(segdb_segment_list(db, &sl, &e), 0);
    cr_assert_eq(sl.n, 1, "no part was saved");
    segdb_segment_res_free(&sl);
    sv.save_prefix = "bad prefix";
    cr_assert_eq(segdb_split(db, &sv, &res, &e), SEGDB_EINVAL);
    char longp[80];
    memset(longp, 'a', 63);
    longp[63] = 0;
    sv.save_prefix = longp;
    sv.n = 12;
    cr_assert_eq(segdb_split(db, &sv, &res, &e), SEGDB_EINVAL, "a12 would be 65 characters");
    segdb_close(db);
}

/* ---- sizes ----------------------------------------------------------------------- */

Test(split, sizes_follow_the_floor_formula)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 600; i++) {
        char b[8];
        snprintf(b, sizeof b, "%llu", (unsigned long long)(i % 97));
        const char *kv[] = {"web_sessions", b, NULL};
        upsert(db, i, kv);
    }
    for (int round = 0; round < 60; round++) {
        uint32_t n = 1 + (uint32_t)(rnd() % 40);
        char f[64];
        snprintf(f, sizeof f, "web_sessions < %llu", (unsigned long long)(rnd() % 98));
        uint64_t N;
        segdb_err e;
        cr_assert_eq(segdb_count(db, f, &N, &e), 0);
        segdb_split_req rq = {.n = n, .filter = f, .has_seed = round % 2, .seed = (uint64_t)round};
        segdb_split_res res;
        cr_assert_eq(segdb_split(db, &rq, &res, &e), 0, "%s", e.msg);
        uint64_t sum = 0;
        for (uint32_t k = 1; k <= n; k++) {
            cr_assert_eq(res.sizes[k - 1], N * k / n - N * (k - 1) / n);
            sum += res.sizes[k - 1];
        }
        cr_assert_eq(sum, N);
        segdb_split_res_free(&res);
    }
    segdb_close(db);
}

Test(split, percent_arithmetic_is_exact_decimal)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 1000; i++) {
        const char *kv[] = {"city", "Huế", NULL};
        upsert(db, i, kv);
    }
    /* 0.1 ten times is exactly 1%: in binary floating point the last cut would fall short */
    const char *tenth[10];
    for (int i = 0; i < 10; i++) tenth[i] = "0.1";
    segdb_split_req rq = {.percents = tenth, .npercents = 10, .filter = "city:hue"};
    segdb_split_res res;
    segdb_err e;
    cr_assert_eq(segdb_split(db, &rq, &res, &e), 0, "%s", e.msg);
    for (int i = 0; i < 10; i++) cr_assert_eq(res.sizes[i], 1, "part %d", i + 1);
    segdb_split_res_free(&res);
    const char *p[] = {"12.5%", ".5", "33.3", "53.7"};
    rq.percents = p;
    rq.npercents = 4;
    cr_assert_eq(segdb_split(db, &rq, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.sizes[0], 125);
    cr_assert_eq(res.sizes[1], 5);
    cr_assert_eq(res.sizes[2], 333);
    cr_assert_eq(res.sizes[3], 537);
    segdb_split_res_free(&res);
    /* cuts at floor(N * cumulative / 100), not a sum of floored parts */
    const char *thirds[] = {"33.333333333333", "33.333333333333", "33.333333333334"};
    rq.percents = thirds;
    rq.npercents = 3;
    rq.filter = "id:(1, 2, 3)";
    cr_assert_eq(segdb_split(db, &rq, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.sizes[0], 0);
    cr_assert_eq(res.sizes[1], 1);
    cr_assert_eq(res.sizes[2], 2);
    segdb_split_res_free(&res);
    segdb_close(db);
}

/* ---- parts against the reference ------------------------------------------------- */

Test(split, default_order_is_id_order)
{
    segdb_t *db = populated(3000, false);
    segdb_split_req rq = {.n = 7, .filter = "tag:in", .save_prefix = "a"};
    check_split(db, &rq, K_ID, NULL);
    segdb_split_req all = {.n = 3, .save_prefix = "all"};
    check_split(db, &all, K_ID, NULL);
    segdb_split_req more = {.n = 40, .filter = "id:(1000, 1003, 1006, 1009, 1012)", .save_prefix = "m"};
    check_split(db, &more, K_ID, NULL); /* more parts than contacts: empty parts */
    segdb_close(db);
}

Test(split, default_order_when_ids_arrive_unordered)
{
    segdb_t *db = populated(3000, true);
    segdb_split_req rq = {.n = 5, .filter = "tag:in", .save_prefix = "u"};
    check_split(db, &rq, K_ID, NULL);
    segdb_close(db);
}

Test(split, random_is_stable_per_seed_and_differs_across_seeds)
{
    segdb_t *db = populated(3000, false);
    segdb_split_req a = {.n = 4, .has_seed = true, .seed = 7, .filter = "tag:in", .save_prefix = "a"};
    check_split(db, &a, K_ID, NULL);
    segdb_split_req b = a;
    b.save_prefix = "b";
    check_split(db, &b, K_ID, NULL);
    segdb_split_req c = a;
    c.seed = 8;
    c.save_prefix = "c";
    check_split(db, &c, K_ID, NULL);
    const char *f[] = {"segment:a1", "segment:b1", "segment:c1", "segment:a2"};
    segdb_overlap_res o;
    segdb_err e;
    cr_assert_eq(segdb_overlap(db, f, 4, &o, &e), 0, "%s", e.msg);
    cr_assert_eq(o.m[0 * 4 + 1], o.m[0], "same seed: same part 1");
    cr_assert_lt(o.m[0 * 4 + 2], o.m[0], "another seed: another part 1");
    cr_assert_eq(o.m[0 * 4 + 3], 0, "parts are disjoint");
    segdb_overlap_res_free(&o);
    /* unordered ids give the same parts for the same ids */
    segdb_t *db2 = populated(3000, true);
    segdb_split_req d = {.n = 4, .has_seed = true, .seed = 7, .filter = "tag:in", .save_prefix = "d"};
    check_split(db2, &d, K_ID, NULL);
    segdb_close(db2);
    segdb_close(db);
}

Test(split, by_time_fields_walks_the_index_in_order)
{
    segdb_t *db = populated(4000, false);
    segdb_split_req rq = {.n = 9, .by_field = "created_at", .filter = "tag:in", .save_prefix = "t"};
    check_split(db, &rq, K_INT, NULL);
    segdb_split_req seen = {.n = 6, .by_field = "seen", .save_prefix = "s"}; /* half lack it: they come last */
    check_split(db, &seen, K_INT, NULL);
    segdb_split_req rnd_ties = {.n = 5, .by_field = "created_at", .has_seed = true, .seed = 3, .save_prefix = "r"};
    check_split(db, &rnd_ties, K_INT, NULL); /* ties broken by the seeded hash */
    const char *p[] = {"10", "20.5", "30"};
    segdb_split_req pct = {.percents = p, .npercents = 3, .by_field = "created_at", .save_prefix = "pc"};
    check_split(db, &pct, K_INT, NULL);
    segdb_close(db);
}

Test(split, by_numbers_enums_categories_and_text)
{
    segdb_t *db = populated(2500, true);
    segdb_split_req pur = {.n = 7, .by_field = "purchases", .filter = "tag:in", .save_prefix = "pu"};
    check_split(db, &pur, K_INT, NULL);
    segdb_split_req rev = {.n = 4, .by_field = "revenue", .save_prefix = "rv"};
    check_split(db, &rev, K_DOUBLE, NULL);
    segdb_split_req gen = {.n = 6, .by_field = "gender", .save_prefix = "g"};
    check_split(db, &gen, K_ENUM, GENDERS);
    segdb_split_req genr = {.n = 6, .by_field = "gender", .has_seed = true, .seed = 99, .save_prefix = "gr"};
    check_split(db, &genr, K_ENUM, GENDERS);
    segdb_split_req city = {.n = 5, .by_field = "city", .save_prefix = "ci"};
    check_split(db, &city, K_FOLD, NULL);
    segdb_split_req name = {.n = 8, .by_field = "name", .save_prefix = "na"};
    check_split(db, &name, K_FOLD, NULL);
    segdb_split_req rel = {.n = 3, .by_field = "relationship", .save_prefix = "re"};
    check_split(db, &rel, K_ENUM, RELS);
    segdb_close(db);
}

Test(split, ids_in_order_by_enum_and_missing_values)
{
    segdb_t *db = populated(2500, false);
    segdb_split_req gen = {.n = 11, .by_field = "gender", .filter = "tag:in", .save_prefix = "g"};
    check_split(db, &gen, K_ENUM, GENDERS);
    segdb_split_req city = {.n = 3, .by_field = "city", .filter = "tag:out", .save_prefix = "c"};
    check_split(db, &city, K_FOLD, NULL);
    segdb_split_req id = {.n = 3, .by_field = "id", .save_prefix = "i"};
    check_split(db, &id, K_ID, NULL);
    segdb_close(db);
}

Test(split, large_random_and_time_splits)
{
    segdb_t *db = populated(20000, false);
    segdb_split_req r = {.n = 4, .has_seed = true, .seed = 42, .save_prefix = "r"};
    check_split(db, &r, K_ID, NULL);
    segdb_split_req t = {.n = 13, .by_field = "seen", .save_prefix = "t"};
    check_split(db, &t, K_INT, NULL);
    segdb_close(db);
}

/* ---- durability -------------------------------------------------------------------- */

typedef struct logcap {
    void *buf[8];
    size_t len[8];
    size_t n;
} logcap;

static int capture(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    (void)seq;
    (void)err;
    logcap *lc = ctx;
    cr_assert_lt(lc->n, 8);
    lc->buf[lc->n] = malloc(len);
    memcpy(lc->buf[lc->n], rec, len);
    lc->len[lc->n++] = len;
    return 0;
}

Test(split, saved_split_is_one_record_and_replays)
{
    uint64_t ids[400];
    for (int i = 0; i < 400; i++) ids[i] = (uint64_t)(i + 1) * 11;
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "seen", "time", &e), 0);
    load(db, ids, 400);
    logcap lc = {0};
    segdb_set_log(db, capture, &lc);
    segdb_split_req rq = {.n = 3, .has_seed = true, .seed = 11, .by_field = "city", .save_prefix = "x"};
    segdb_split_res res;
    cr_assert_eq(segdb_split(db, &rq, &res, &e), 0, "%s", e.msg);
    segdb_split_res_free(&res);
    cr_assert_eq(lc.n, 1, "one record for the whole SAVE");
    segdb_set_log(db, NULL, NULL);
    /* db3 gets the same contacts in the same rows, then the logged record */
    segdb_t *db3 = open_db();
    cr_assert_eq(segdb_field_create(db3, "seen", "time", &e), 0);
    uint64_t *all;
    char **vals;
    size_t n = find_all(db, NULL, NULL, &all, &vals);
    cr_assert_eq(n, 400);
    /* copy contacts with GET -> UPSERT so db3 has the same rows in the same order */
    for (size_t i = 0; i < n; i++) {
        segdb_strvec sv;
        cr_assert_eq(segdb_get(db, all[i], NULL, 0, &sv, &e), 1);
        segdb_kv kv[64];
        size_t k = 0;
        for (size_t j = 0; j + 1 < sv.n; j += 2) {
            const char *f = sv.v[j];
            if (!strcmp(f, "id") || !strcmp(f, "bucket") || !strcmp(f, "archived") || !strcmp(f, "relationship"))
                continue;
            kv[k++] = (segdb_kv){f, sv.v[j + 1], sv.len[j + 1]};
        }
        int created;
        cr_assert_eq(segdb_upsert(db3, all[i], kv, k, &created, &e), 0, "%s", e.msg);
        segdb_strvec_free(&sv);
    }
    free(all);
    free(vals);
    cr_assert_eq(segdb_apply_record(db3, 1000, lc.buf[0], lc.len[0], &e), 0, "%s", e.msg);
    for (int k = 1; k <= 3; k++) {
        char f[32];
        snprintf(f, sizeof f, "segment:x%d", k);
        uint64_t a, b;
        cr_assert_eq(segdb_count(db, f, &a, &e), 0);
        cr_assert_eq(segdb_count(db3, f, &b, &e), 0);
        cr_assert_eq(a, b, "%s", f);
        char g[64];
        snprintf(g, sizeof g, "segment:x%d AND city:hanoi", k);
        cr_assert_eq(segdb_count(db, g, &a, &e), 0);
        cr_assert_eq(segdb_count(db3, g, &b, &e), 0);
        cr_assert_eq(a, b, "%s", g);
    }
    cr_assert_eq(segdb_verify(db3, &e), 0, "%s", e.msg);
    free(lc.buf[0]);
    segdb_close(db3);
    segdb_close(db);
}

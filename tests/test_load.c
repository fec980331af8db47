/*
 * test_load.c — Criterion suite `load`: segdb_upsert_batch and the bulk-load
 * path behind it (load.h).
 *
 * The bulk-load path applies a batch of new contacts column by column, over
 * the handle's threads, and must leave exactly the state that one
 * segdb_upsert per contact leaves. So every test here writes the same
 * contacts twice, into two handles (a batch into one, UPSERT by UPSERT into
 * the other), and compares the two stores structure by structure through the
 * engine's internal headers: rows and ids, every field's present bitmap,
 * dictionary codes in order with their spellings and bitmaps, text values with
 * their codes, originals and reference counts, every column value, and every
 * range-index bucket after filing. The contacts are the benchmark's generated
 * ones (bench/gen.c) mixed with hand-made rows that name a field twice, clear
 * fields, set type, created_at and groups themselves, and share names and
 * emails. Errors: the failing contact is named and nothing is applied.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "segdb.h"
#include "store.h"

#include "../bench/gen.c"

static int64_t g_now = 1764000000; /* 2025-11-24T16:00:00Z */
static int64_t fixed_clock(void *ctx) { return *(int64_t *)ctx; }

static char g_group[64]; /* the code of the group "Đại lý" */

static segdb_t *open_db(uint32_t threads)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_clock;
    o.clock_ctx = &g_now;
    o.query_threads = threads;
    segdb_t *db = segdb_open(&o);
    cr_assert_not_null(db);
    segdb_err err = {0};
    cr_assert_eq(segdb_field_create(db, "score", "number", &err), 0, "%s", err.msg);
    cr_assert_eq(segdb_field_create(db, "visits", "integer", &err), 0, "%s", err.msg);
    cr_assert_eq(segdb_field_create(db, "plan", "category", &err), 0, "%s", err.msg);
    cr_assert_eq(segdb_field_create(db, "vip", "bool", &err), 0, "%s", err.msg);
    cr_assert_eq(segdb_field_create(db, "renewal", "time", &err), 0, "%s", err.msg);
    cr_assert_eq(segdb_field_create(db, "note", "text", &err), 0, "%s", err.msg);
    char *code = NULL;
    cr_assert_eq(segdb_group_create(db, "Đại lý", "", &code, &err), 0, "%s", err.msg);
    snprintf(g_group, sizeof g_group, "%s", code);
    free(code);
    return db;
}

/* ---- contacts --------------------------------------------------------------- */

#define MAX_KV 40

typedef struct contact {
    uint64_t id;
    size_t n;
    segdb_kv kv[MAX_KV];
    char buf[1024];
    size_t used;
} contact;

static void put(contact *c, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(contact *c, const char *name, const char *fmt, ...)
{
    cr_assert_lt(c->n, MAX_KV);
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(c->buf + c->used, sizeof c->buf - c->used, fmt, ap);
    va_end(ap);
    cr_assert(len >= 0 && (size_t)len < sizeof c->buf - c->used);
    c->kv[c->n++] = (segdb_kv){.name = name, .value = c->buf + c->used, .value_len = (size_t)len};
    c->used += (size_t)len + 1;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const SPELLED_NAMES[] = {"Nguyễn Thị Linh", "Nguyen Thi Linh", "Trần Văn Anh", "Lê Hữu Đức",
                                    "Phạm Minh Châu", "Hoàng Ngọc Lan"};
static const char *const SPELLED_CITIES[] = {"Hồ Chí Minh", "Hà Nội", "Đà Nẵng", "Cần Thơ", "hà nội", "HO CHI MINH"};

/* Contact i of a set: the generator's contact, or (every third) a hand-made
 * one that repeats fields, clears some and sets the ones with defaults. */
static void make_contact(contact *c, uint64_t i, uint64_t id)
{
    memset(c, 0, sizeof *c);
    c->id = id;
    if (i % 3) {
        gen_contact_t g;
        gen_contact(7, i, &g);
        for (size_t k = 0; k < g.nkv; k++) put(c, g.kv[k].name, "%.*s", (int)g.kv[k].value_len, g.kv[k].value);
        if (i % 5 == 0) put(c, "score", "%u.%u", rnd(1000), rnd(100));
        if (i % 7 == 0) put(c, "plan", "%s", rnd(2) ? "Gói Vàng" : "goi vang");
        return;
    }
    put(c, "name", "%s", SPELLED_NAMES[rnd(6)]);
    if (rnd(4) == 0) put(c, "NAME", "%s", SPELLED_NAMES[rnd(6)]); /* the field twice: the last wins */
    if (rnd(2)) put(c, "email", "user%u@Example.com", rnd(40));
    if (rnd(3) == 0) put(c, "phone", "09%08u", rnd(50));
    put(c, "city", "%s", SPELLED_CITIES[rnd(6)]);
    if (rnd(3) == 0) put(c, "city", "%s", rnd(2) ? "" : SPELLED_CITIES[rnd(6)]);
    if (rnd(2)) put(c, "tags", "t%03u; vip ;t%03u", rnd(5), rnd(5));
    if (rnd(5) == 0) put(c, "tags", "%s", rnd(2) ? "" : "khách quen");
    /* labels that share their first bytes, long ones, repeated in other
     * spellings, between empty ones; and a new label for each such row */
    if (i % 6 == 0) /* (not from rnd: the other fields' draws stay the same) */
        put(c, "tags", "khach-hang-moi-%u;khach-hang-than-thiet-nam-%u; ;vip;VIP;;label-%llu", (unsigned)(i / 6 % 3),
            (unsigned)(i / 18 % 3), (unsigned long long)i);
    if (rnd(4) == 0) put(c, "type", "%s", rnd(2) ? "visitor" : "customer");
    if (rnd(4) == 0) put(c, "status", "subscribed");
    if (rnd(4) == 0) put(c, "relationship", "hot");
    if (rnd(4) == 0) put(c, "created_at", "%s", rnd(2) ? "" : "2021-03-04");
    if (rnd(3) == 0) put(c, "purchases", "%u", rnd(4));
    if (rnd(3) == 0) put(c, "birthday", "19%02u-0%u-1%u", 60 + rnd(40), 1 + rnd(9), rnd(10));
    if (rnd(4) == 0) put(c, "birthday", "%s", "");
    if (rnd(3) == 0) put(c, "groups", "%s", g_group);
    if (rnd(3) == 0) put(c, "visits", "%d", (int)rnd(70000) - 100);
    if (rnd(3) == 0) put(c, "vip", "%s", rnd(2) ? "yes" : "no");
    if (rnd(3) == 0) put(c, "renewal", "2026-0%u-01", 1 + rnd(9));
    if (rnd(3) == 0) put(c, "note", "%s", rnd(2) ? "gọi lại" : "");
    /* long enough that the bulk path folds it when its turn comes, not ahead */
    if (rnd(4) == 0) put(c, "address", "Số %u, ngõ %u, đường Nguyễn Thị Minh Khai, phường Đa Kao, quận 1, thành phố Hồ Chí Minh, Việt Nam", rnd(300), rnd(9));
    if (rnd(6) == 0) put(c, "identifier", "ext-%llu", (unsigned long long)id);
}

/* ---- comparing two stores --------------------------------------------------- */

static void same_bitmap(const roaring_bitmap_t *a, const roaring_bitmap_t *b, const char *what, const char *f)
{
    cr_assert(roaring_bitmap_equals(a, b), "%s of %s differ (%llu vs %llu rows)", what, f,
              (unsigned long long)roaring_bitmap_get_cardinality(a),
              (unsigned long long)roaring_bitmap_get_cardinality(b));
}

static bool collect(uint32_t row, void *ctx)
{
    roaring_bitmap_add(ctx, row);
    return true;
}

static roaring_bitmap_t *text_rows(const textdict *td, uint32_t c)
{
    roaring_bitmap_t *r = roaring_bitmap_create();
    if (td->multi[c]) tpost_each(&td->posts[td->multi[c] - 1], collect, r);
    else if (td->last_row[c] != UINT32_MAX) roaring_bitmap_add(r, td->last_row[c]);
    return r;
}

static void same_text(const field *fa, const field *fb)
{
    const textdict *a = fa->text, *b = fb->text;
    cr_assert_eq(a->n, b->n, "%s: %u vs %u distinct values", fa->name, a->n, b->n);
    for (uint32_t c = 1; c < a->n; c++) {
        cr_assert_str_eq(store_text_orig(a, c), store_text_orig(b, c), "%s code %u", fa->name, c);
        cr_assert_str_eq(a->fold + a->fold_off[c], b->fold + b->fold_off[c], "%s code %u", fa->name, c);
        cr_assert_eq(a->refs[c], b->refs[c], "%s code %u: refs", fa->name, c);
        cr_assert_eq(td_next(a, c), td_next(b, c), "%s code %u: chain", fa->name, c);
        roaring_bitmap_t *ra = text_rows(a, c), *rb = text_rows(b, c);
        same_bitmap(ra, rb, "rows of a value", fa->name);
        roaring_bitmap_free(ra);
        roaring_bitmap_free(rb);
    }
}

static void same_store(segdb_t *a, segdb_t *b)
{
    cr_assert_eq(segdb_flush_indexes(a), 0);
    cr_assert_eq(segdb_flush_indexes(b), 0);
    cr_assert_eq(a->nrows, b->nrows);
    cr_assert_eq(a->max_id, b->max_id);
    cr_assert_eq(a->ids_ascending, b->ids_ascending);
    cr_assert_eq(a->id_sorted, b->id_sorted, "the id map's sorted part: %u rows against %u", a->id_sorted,
                 b->id_sorted);
    cr_assert_eq(a->id_count, b->id_count);
    for (uint32_t r = 0; r < a->nrows; r++) {
        cr_assert_eq(a->ids[r], b->ids[r], "row %u", r);
        if (roaring_bitmap_contains(a->live, r))
            cr_assert_eq(store_row_of(a, a->ids[r]), r, "id map of row %u", r);
    }
    same_bitmap(a->live, b->live, "live", "the store");
    same_bitmap(a->universe, b->universe, "universe", "the store");
    cr_assert_eq(a->nfields, b->nfields);
    for (uint32_t k = 0; k < a->nfields; k++) {
        const field *fa = a->fields[k], *fb = b->fields[k];
        cr_assert_str_eq(fa->name, fb->name);
        same_bitmap(fa->present, fb->present, "present", fa->name);
        cr_assert_eq(fa->dict.n, fb->dict.n, "%s: %u vs %u codes", fa->name, fa->dict.n, fb->dict.n);
        for (uint32_t c = 1; c < fa->dict.n; c++) {
            cr_assert_str_eq(fa->dict.display[c], fb->dict.display[c], "%s code %u", fa->name, c);
            same_bitmap(fa->dict.bm[c], fb->dict.bm[c], fa->dict.display[c], fa->name);
        }
        if (fa->text) same_text(fa, fb);
        for (uint32_t r = 0; r < a->nrows; r++) {
            if (!roaring_bitmap_contains(fa->present, r)) continue;
            switch (fa->kind) {
            case SEGDB_KIND_TEXT:
                cr_assert_eq(fa->text->row_code[r], fb->text->row_code[r], "%s row %u", fa->name, r);
                break;
            case SEGDB_KIND_ENUM:
            case SEGDB_KIND_BOOL:
            case SEGDB_KIND_CATEGORY:
                cr_assert_eq(field_code(fa, r), field_code(fb, r), "%s row %u", fa->name, r);
                break;
            case SEGDB_KIND_NUMBER: cr_assert_eq(fa->f64[r], fb->f64[r], "%s row %u", fa->name, r); break;
            case SEGDB_KIND_TIME:
            case SEGDB_KIND_DATE:
            case SEGDB_KIND_INTEGER:
                cr_assert_eq(field_int(fa, r), field_int(fb, r), "%s row %u", fa->name, r);
                break;
            default: break;
            }
        }
        if (!fa->ridx) continue;
        for (uint32_t l = 0; l < fa->ridx->nlevels; l++) {
            const rlevel *la = &fa->ridx->lv[l], *lb = &fb->ridx->lv[l];
            cr_assert_eq(la->n, lb->n, "%s level %u: %u vs %u buckets", fa->name, l, la->n, lb->n);
            for (uint32_t i = 0; i < la->n; i++) {
                cr_assert_eq(la->keys[i], lb->keys[i]);
                same_bitmap(la->bms[i], lb->bms[i], "a range bucket", fa->name);
            }
        }
    }
    segdb_err err = {0};
    cr_assert_eq(segdb_verify(a, &err), 0, "DEBUG VERIFY of the batch-loaded store: %s", err.msg);
}

static void same_counts(segdb_t *a, segdb_t *b, const char *filter)
{
    uint64_t ca = 0, cb = 0;
    segdb_err err = {0};
    cr_assert_eq(segdb_count(a, filter, &ca, &err), 0, "%s: %s", filter, err.msg);
    cr_assert_eq(segdb_count(b, filter, &cb, &err), 0, "%s: %s", filter, err.msg);
    cr_assert_eq(ca, cb, "%s: %llu vs %llu", filter, (unsigned long long)ca, (unsigned long long)cb);
}

/* Writes contacts [0, n) with ids first_id + step * i: into `rows` one UPSERT
 * each, into `batch` through segdb_upsert_batch in batches of 1..max_batch. */
static void load_both(segdb_t *rows, segdb_t *batch, uint64_t from, uint64_t n, uint64_t first_id,
                      uint64_t step, uint32_t max_batch)
{
    contact *cs = calloc(n, sizeof *cs);
    segdb_contact *bc = calloc(n, sizeof *bc);
    cr_assert(cs && bc);
    for (uint64_t i = 0; i < n; i++) {
        make_contact(&cs[i], from + i, first_id + step * i);
        bc[i] = (segdb_contact){.id = cs[i].id, .kv = cs[i].kv, .n = cs[i].n};
        int created = 0;
        segdb_err err = {0};
        cr_assert_eq(segdb_upsert(rows, cs[i].id, cs[i].kv, cs[i].n, &created, &err), 0, "contact %llu: %s",
                     (unsigned long long)i, err.msg);
    }
    for (uint64_t i = 0; i < n;) {
        uint64_t m = 1 + rnd(max_batch);
        if (m > n - i) m = n - i;
        uint64_t created = 0;
        segdb_err err = {0};
        cr_assert_eq(segdb_upsert_batch(batch, bc + i, m, &created, &err), 0, "%s", err.msg);
        i += m;
    }
    free(bc);
    free(cs);
}

/* Writes the contacts cs[0, n) into `rows` one UPSERT each and into `batch`
 * with one segdb_upsert_batch. */
static void load_given(segdb_t *rows, segdb_t *batch, const contact *cs, size_t n)
{
    segdb_contact *bc = calloc(n, sizeof *bc);
    cr_assert(bc);
    for (size_t i = 0; i < n; i++) {
        bc[i] = (segdb_contact){.id = cs[i].id, .kv = cs[i].kv, .n = cs[i].n};
        int created = 0;
        segdb_err err = {0};
        cr_assert_eq(segdb_upsert(rows, cs[i].id, cs[i].kv, cs[i].n, &created, &err), 0, "%s", err.msg);
    }
    uint64_t made = 0;
    segdb_err err = {0};
    cr_assert_eq(segdb_upsert_batch(batch, bc, n, &made, &err), 0, "%s", err.msg);
    cr_assert_eq(made, n);
    free(bc);
}

Test(load, batch_of_new_contacts_leaves_what_upserts_leave)
{
    segdb_t *a = open_db(2), *b = open_db(2);
    load_both(b, a, 0, 6000, 1000, 3, 1500);
    same_store(a, b);
    /* more new contacts after the first ones, and counts agree */
    load_both(b, a, 6000, 3000, 100000, 1, 900);
    same_store(a, b);
    const char *filters[] = {"type:lead", "type:customer", "has:email", "city:\"Hà Nội\"", "tag:vip",
                             "name:\"nguyen thi linh\"", "created_at < 2022-01-01", "birthday_month:3",
                             "has:groups", "plan:\"goi vang\"", "score > 500", "visits < 0",
                             "vip:yes", "has:note", "relationship:hot", "status:subscribed", "q:linh"};
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++) same_counts(a, b, filters[i]);
    segdb_close(a);
    segdb_close(b);
}

Test(load, one_thread_leaves_the_same_state)
{
    segdb_t *a = open_db(1), *b = open_db(1);
    load_both(b, a, 0, 3000, 5, 1, 1200);
    same_store(a, b);
    segdb_close(a);
    segdb_close(b);
}

Test(load, batches_that_are_not_bulk_loads_apply_row_by_row)
{
    segdb_t *a = open_db(2), *b = open_db(2);
    load_both(b, a, 0, 2000, 1000, 2, 700);
    /* now ids in and between the existing ones, updates of existing contacts,
     * and a contact twice in one batch: the row-by-row path */
    load_both(b, a, 2000, 2000, 1001, 1, 800);
    load_both(b, a, 4000, 1000, 1000, 2, 800);
    load_both(b, a, 5000, 60, 1002, 0, 30); /* one contact, many times in a batch */
    same_store(a, b);
    segdb_close(a);
    segdb_close(b);
}

/* The log hook's records, copied. */
typedef struct logcap {
    void *rec[64];
    size_t len[64];
    uint64_t seq[64];
    int n;
} logcap;

static int cap_log(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    (void)err;
    logcap *lc = ctx;
    cr_assert_lt(lc->n, 64);
    lc->rec[lc->n] = malloc(len);
    memcpy(lc->rec[lc->n], rec, len);
    lc->len[lc->n] = len;
    lc->seq[lc->n++] = seq;
    return 0;
}

Test(load, replaying_a_logged_batch_rebuilds_the_store)
{
    segdb_t *a = open_db(2), *b = open_db(2), *rows = open_db(2);
    logcap lc = {0};
    segdb_set_log(a, cap_log, &lc);
    load_both(rows, a, 0, 4000, 77, 1, 1500);
    cr_assert_gt(lc.n, 2);
    for (int i = 0; i < lc.n; i++) {
        segdb_err err = {0};
        cr_assert_eq(segdb_apply_record(b, lc.seq[i], lc.rec[i], lc.len[i], &err), 0, "record %d: %s", i, err.msg);
        free(lc.rec[i]);
    }
    same_store(b, a);
    same_store(b, rows);
    segdb_close(a);
    segdb_close(b);
    segdb_close(rows);
}

/* The checking threads look field names up for their rows, and number the
 * names no column has yet after the checks, part by part: the record must be
 * the one a single thread writes (columns in the order rows first name
 * them). The second batch's second half names 40 new fields, more than a
 * thread keeps track of: every row is then looked up in order first. The
 * third batch's row 500 takes its part to exactly as many new names as a
 * thread keeps (email and 31 others): the last gets the last stand-in. */
Test(load, columns_are_numbered_in_row_order_whatever_the_threads)
{
    segdb_t *db[2] = {open_db(2), open_db(1)};
    logcap lc[2];
    memset(lc, 0, sizeof lc);
    static char names[40][16];
    for (int f = 0; f < 40; f++) snprintf(names[f], sizeof names[f], "c%02d", f);
    for (int h = 0; h < 2; h++) {
        segdb_set_log(db[h], cap_log, &lc[h]);
        for (int f = 0; f < 40; f++) {
            segdb_err err = {0};
            cr_assert_eq(segdb_field_create(db[h], names[f], "integer", &err), 0, "%s", err.msg);
        }
    }
    enum { N = 1000 };
    contact *cs = calloc(N, sizeof *cs);
    segdb_contact *bc = calloc(N, sizeof *bc);
    for (int batch = 0; batch < 3; batch++) {
        for (uint64_t i = 0; i < N; i++) {
            contact *c = &cs[i];
            memset(c, 0, sizeof *c);
            c->id = 1000 + batch * N + i;
            put(c, "city", "%s", SPELLED_CITIES[i % 6]);
            if (i >= 300) put(c, "email", "x%llu@example.com", (unsigned long long)i);          /* part 0 */
            if (i >= 700 && i % 3 == 0) put(c, names[i % 6], "%llu", (unsigned long long)i); /* part 1 */
            if (i == 400) put(c, "vip", "yes");
            if (batch == 1 && i == 900)
                for (int f = 39; f >= 20; f--) put(c, names[f], "%d", f);
            if (batch == 1 && i == 950)
                for (int f = 19; f >= 6; f--) put(c, names[f], "%d", f);
            if (batch == 2 && i == 500)
                for (int f = 0; f <= 30; f++) put(c, names[f], "%d", f);
            bc[i] = (segdb_contact){.id = c->id, .kv = c->kv, .n = c->n};
        }
        for (int h = 0; h < 2; h++) {
            uint64_t made = 0;
            segdb_err err = {0};
            cr_assert_eq(segdb_upsert_batch(db[h], bc, N, &made, &err), 0, "%s", err.msg);
            cr_assert_eq(made, N);
        }
    }
    cr_assert_eq(lc[0].n, lc[1].n);
    for (int i = 0; i < lc[0].n; i++) {
        cr_assert_eq(lc[0].len[i], lc[1].len[i], "record %d", i);
        cr_assert(memcmp(lc[0].rec[i], lc[1].rec[i], lc[0].len[i]) == 0, "record %d differs", i);
    }
    same_store(db[0], db[1]);
    uint64_t n03 = 0, n39 = 0, n30 = 0;
    segdb_err err = {0};
    cr_assert_eq(segdb_count(db[0], "c03 >= 0", &n03, &err), 0, "%s", err.msg);
    cr_assert_eq(segdb_count(db[0], "c39 = 39", &n39, &err), 0, "%s", err.msg);
    cr_assert_eq(segdb_count(db[0], "c30 = 30", &n30, &err), 0, "%s", err.msg);
    cr_assert_eq(n03, 3 * 50 + 1, "rows 705, 711, ... 999 of each batch, and the third's row 500");
    cr_assert_eq(n39, 1);
    cr_assert_eq(n30, 2, "the second batch's row 900 and the third's row 500");
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < lc[h].n; i++) free(lc[h].rec[i]);
        segdb_close(db[h]);
    }
    free(bc);
    free(cs);
}

/* ---- errors ----------------------------------------------------------------- */

static uint64_t count_all(segdb_t *db)
{
    uint64_t n = 0;
    segdb_err err = {0};
    cr_assert_eq(segdb_count(db, NULL, &n, &err), 0);
    return n;
}

Test(load, a_bad_contact_is_named_and_nothing_is_applied)
{
    segdb_t *db = open_db(2);
    /* 900 contacts: the checks run on both threads; the bad one is in the second half */
    contact *cs = calloc(900, sizeof *cs);
    segdb_contact *bc = calloc(900, sizeof *bc);
    for (uint64_t i = 0; i < 900; i++) {
        make_contact(&cs[i], i, 500 + i);
        bc[i] = (segdb_contact){.id = cs[i].id, .kv = cs[i].kv, .n = cs[i].n};
    }
    contact bad = {0};
    bad.id = 500 + 700;
    put(&bad, "name", "Lê Văn Tám");
    put(&bad, "email", "not-an-email");
    bc[700] = (segdb_contact){.id = bad.id, .kv = bad.kv, .n = bad.n};
    contact bad2 = {0};
    bad2.id = 500 + 800;
    put(&bad2, "gender", "maybe");
    bc[800] = (segdb_contact){.id = bad2.id, .kv = bad2.kv, .n = bad2.n};
    uint64_t created = 7;
    segdb_err err = {0};
    cr_assert_eq(segdb_upsert_batch(db, bc, 900, &created, &err), SEGDB_EINVAL);
    cr_assert_eq(created, 0);
    cr_assert(strstr(err.msg, "contact 700 (id 1200): invalid email 'not-an-email'") == err.msg, "%s", err.msg);
    cr_assert_eq(count_all(db), 0);

    /* an unknown field, a contact with no values, an identifier given twice */
    contact unk = {0};
    unk.id = 9;
    put(&unk, "colour", "red");
    segdb_contact one = {.id = unk.id, .kv = unk.kv, .n = unk.n};
    cr_assert_eq(segdb_upsert_batch(db, &one, 1, &created, &err), SEGDB_EINVAL);
    cr_assert(strstr(err.msg, "contact 0 (id 9): unknown field 'colour'") == err.msg, "%s", err.msg);
    segdb_contact empty[2] = {bc[0], {.id = 3, .kv = NULL, .n = 0}};
    cr_assert_eq(segdb_upsert_batch(db, empty, 2, &created, &err), SEGDB_EINVAL);
    cr_assert_str_eq(err.msg, "contact 1 (id 3): UPSERT needs at least one field and value");
    contact i1 = {0}, i2 = {0};
    i1.id = 1;
    put(&i1, "identifier", "zalo-1");
    i2.id = 2;
    put(&i2, "identifier", "zalo-1");
    segdb_contact two[2] = {{.id = 1, .kv = i1.kv, .n = i1.n}, {.id = 2, .kv = i2.kv, .n = i2.n}};
    cr_assert_eq(segdb_upsert_batch(db, two, 2, &created, &err), SEGDB_EINVAL);
    cr_assert(strstr(err.msg, "contact 1 (id 2): identifier 'zalo-1' is given to contact 1") == err.msg, "%s",
              err.msg);
    cr_assert_eq(count_all(db), 0);

    /* without the bad ones the batch goes in */
    bc[700] = (segdb_contact){.id = cs[700].id, .kv = cs[700].kv, .n = cs[700].n};
    bc[800] = (segdb_contact){.id = cs[800].id, .kv = cs[800].kv, .n = cs[800].n};
    cr_assert_eq(segdb_upsert_batch(db, bc, 900, &created, &err), 0, "%s", err.msg);
    cr_assert_eq(created, 900);
    cr_assert_eq(count_all(db), 900);
    cr_assert_eq(segdb_upsert_batch(db, bc, 0, &created, &err), 0);
    cr_assert_eq(created, 0);
    free(bc);
    free(cs);
    segdb_close(db);
}

/* ---- exec_run_tasks ------------------------------------------------------------ */

typedef struct task_arg {
    int *done;
    int i;
} task_arg;

static void mark(void *arg)
{
    task_arg *t = arg;
    __atomic_add_fetch(&t->done[t->i], 1, __ATOMIC_RELAXED);
}

Test(load, every_task_runs_once_whatever_the_threads)
{
    for (uint32_t threads = 1; threads <= 4; threads++) {
        segdb_options o;
        segdb_options_init(&o);
        o.query_threads = threads;
        segdb_t *db = segdb_open(&o);
        for (int n = 0; n <= 7; n++) {
            int done[7] = {0};
            task_arg args[7];
            void *ap[7];
            for (int i = 0; i < n; i++) {
                args[i] = (task_arg){.done = done, .i = i};
                ap[i] = &args[i];
            }
            exec_run_tasks(db, mark, ap, n);
            for (int i = 0; i < 7; i++) cr_assert_eq(done[i], i < n ? 1 : 0, "threads %u, %d tasks", threads, n);
        }
        segdb_close(db);
    }
}

/* ---- rows whose text values were filed later ---------------------------------- */

/* A batch load leaves the rows of its text values to be filed by value later
 * (store_text_settle). Each reader files them first: a text filter, an
 * UPSERT or DEL of such a contact, the identifier check, a snapshot. */

typedef struct membuf {
    char *p;
    size_t len, cap, off;
} membuf;

static int mem_write(void *ctx, const void *buf, size_t len)
{
    membuf *m = ctx;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return 0;
}

static int mem_read(void *ctx, void *buf, size_t len)
{
    membuf *m = ctx;
    if (m->off + len > m->len) return -1;
    memcpy(buf, m->p + m->off, len);
    m->off += len;
    return 0;
}


Test(load, deferred_text_rows_are_filed_by_whatever_reads_them)
{
    segdb_t *a = open_db(2), *b = open_db(2);
    load_both(b, a, 0, 3000, 1, 1, 1500);
    cr_assert(a->fields[F_NAME]->text->pending && !roaring_bitmap_is_empty(a->fields[F_NAME]->text->pending),
              "the batch deferred its names");
    /* long values wait too (folded late, but not filed one by one); each
     * value's first row is filed at once, the 9 others that share it wait */
    contact *lc = calloc(300, sizeof *lc);
    segdb_contact *lbc = calloc(300, sizeof *lbc);
    for (uint64_t i = 0; i < 300; i++) {
        lc[i].id = 100000 + i;
        put(&lc[i], "address", "%u %0200u", (unsigned)(i % 30), 7u);
        lbc[i] = (segdb_contact){.id = lc[i].id, .kv = lc[i].kv, .n = lc[i].n};
    }
    uint64_t lmade = 0;
    segdb_err lerr = {0};
    const roaring_bitmap_t *waiting = a->fields[F_ADDRESS]->text->pending;
    uint64_t before = waiting ? roaring_bitmap_get_cardinality(waiting) : 0;
    cr_assert_eq(segdb_upsert_batch(a, lbc, 300, &lmade, &lerr), 0, "%s", lerr.msg);
    cr_assert_eq(roaring_bitmap_get_cardinality(a->fields[F_ADDRESS]->text->pending), before + 270,
                 "every long value's row after its first waits to be filed");
    for (uint64_t i = 0; i < 300; i++) {
        int created = 0;
        cr_assert_eq(segdb_upsert(b, lbc[i].id, lbc[i].kv, lbc[i].n, &created, &lerr), 0, "%s", lerr.msg);
    }
    free(lbc);
    free(lc);
    /* a text filter, before anything else */
    same_counts(a, b, "name:\"Nguyễn Thị Linh\"");
    cr_assert(roaring_bitmap_is_empty(a->fields[F_NAME]->text->pending));
    same_counts(a, b, "email~example.com");

    /* another batch, then one UPSERT and one DEL of its contacts */
    load_both(b, a, 3000, 1000, 105000, 1, 999);
    cr_assert(!roaring_bitmap_is_empty(a->fields[F_EMAIL]->text->pending));
    segdb_kv kv[] = {{.name = "email", .value = "moved@example.com", .value_len = strlen("moved@example.com")},
                     {.name = "name", .value = "Lê Văn Tám", .value_len = strlen("Lê Văn Tám")}};
    for (int k = 0; k < 2; k++) {
        segdb_t *db = k ? b : a;
        int created = 0;
        segdb_err err = {0};
        cr_assert_eq(segdb_upsert(db, 105003, kv, 2, &created, &err), 0, "%s", err.msg);
        uint64_t id = 105007, deleted = 0;
        cr_assert_eq(segdb_del(db, &id, 1, &deleted, &err), 0);
        cr_assert_eq(deleted, 1);
    }
    same_store(a, b);

    /* the identifier check sees who holds a value given by a batch */
    contact *ic = calloc(300, sizeof *ic);
    segdb_contact *bc = calloc(300, sizeof *bc);
    for (uint64_t i = 0; i < 300; i++) {
        make_contact(&ic[i], 4000 + i, 109000 + i);
        if (i == 5) put(&ic[i], "identifier", "zalo-77");
        bc[i] = (segdb_contact){.id = ic[i].id, .kv = ic[i].kv, .n = ic[i].n};
    }
    uint64_t made = 0;
    segdb_err err = {0};
    cr_assert_eq(segdb_upsert_batch(a, bc, 300, &made, &err), 0, "%s", err.msg);
    /* a value's first row is filed at once: identifiers never wait */
    const textdict *itd = a->fields[F_IDENTIFIER]->text;
    uint32_t icode = textdict_find(itd, "zalo-77", 7); /* identifiers are kept as written */
    cr_assert(icode && itd->last_row[icode] == store_row_of(a, 109005));
    contact c = {0};
    put(&c, "identifier", "zalo-77");
    int created = 0;
    cr_assert_eq(segdb_upsert(a, 42, c.kv, c.n, &created, &err), SEGDB_EINVAL);
    cr_assert_str_eq(err.msg, "identifier 'zalo-77' already belongs to contact 109005");
    segdb_contact one = {.id = 43, .kv = c.kv, .n = c.n};
    cr_assert_eq(segdb_upsert_batch(a, &one, 1, &made, &err), SEGDB_EINVAL);
    cr_assert_str_eq(err.msg, "contact 0 (id 43): identifier 'zalo-77' already belongs to contact 109005");
    for (uint64_t i = 0; i < 300; i++)
        cr_assert_eq(segdb_upsert(b, bc[i].id, bc[i].kv, bc[i].n, &created, &err), 0, "%s", err.msg);
    free(bc);
    free(ic);

    /* a snapshot of a store with deferred rows loads to the same answers */
    load_both(b, a, 5000, 700, 120000, 1, 700);
    membuf m = {0};
    cr_assert(!roaring_bitmap_is_empty(a->fields[F_NAME]->text->pending));
    cr_assert_eq(segdb_save(a, mem_write, &m, &err), 0, "%s", err.msg);
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_clock;
    o.clock_ctx = &g_now;
    segdb_t *c2 = NULL;
    cr_assert_eq(segdb_load(&c2, &o, mem_read, &m, m.len, &err), 0, "%s", err.msg);
    same_store(c2, b);
    same_counts(c2, b, "name:\"Nguyen Thi Linh\"");
    free(m.p);
    segdb_close(c2);
    segdb_close(a);
    segdb_close(b);
}

/* Worker threads block every signal: segdb-server's SIGTERM, arriving while
 * a bulk load replayed at start-up had started them, once ended the process
 * through a worker instead of reaching the server's signalfd. */
static void blocked_sigterm(void *arg)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    *(int *)arg = sigismember(&cur, SIGTERM) == 1 && sigismember(&cur, SIGINT) == 1;
}

Test(load, worker_threads_take_no_signals)
{
    segdb_options o;
    segdb_options_init(&o);
    o.query_threads = 2;
    segdb_t *db = segdb_open(&o);
    int blocked[2] = {-1, -1};
    void *args[2] = {&blocked[0], &blocked[1]};
    exec_run_tasks(db, blocked_sigterm, args, 2);
    cr_assert_eq(blocked[1], 1, "the worker thread blocks SIGTERM and SIGINT");
    segdb_close(db);
}

/* ---- range-index filing ---------------------------------------------------------- */

/* A flush that at least doubles an index rebuilds its coarse levels as unions
 * of the finer ones (rindex_flush); small flushes sort rows into each level.
 * Both must give the same buckets. Flushes of more rows than a chunk (2^18)
 * are filed chunk by chunk: the first big one rebuilds, the second (the
 * index grows by less than double) sorts every chunk into every level. */
static void keys_of_array(const void *ctx, const uint32_t *rows, size_t n, uint64_t *keys)
{
    for (size_t i = 0; i < n; i++) keys[i] = rkey_int(((const int64_t *)ctx)[rows[i]]);
}

static void same_index(const range_index *a, const range_index *b)
{
    for (uint32_t l = 0; l < a->nlevels; l++) {
        cr_assert_eq(a->lv[l].n, b->lv[l].n, "level %u: %u vs %u buckets", l, a->lv[l].n, b->lv[l].n);
        for (uint32_t k = 0; k < a->lv[l].n; k++) {
            cr_assert_eq(a->lv[l].keys[k], b->lv[l].keys[k]);
            cr_assert(roaring_bitmap_equals(a->lv[l].bms[k], b->lv[l].bms[k]), "level %u bucket %u", l, k);
        }
    }
}

/* Rows [from, to) into ri in flushes of 1-300 rows for the first 3,000,
 * then of up to `most`. */
static void file_in_pieces(range_index *ri, uint32_t from, uint32_t to, uint32_t most)
{
    for (uint32_t r = from; r < to;) {
        uint32_t m = 1 + rnd(r < from + 3000 ? 300 : most);
        for (uint32_t k = 0; k < m && r < to; k++, r++) cr_assert_eq(rindex_add(ri, r), 0);
        cr_assert_eq(rindex_flush(ri), 0);
    }
}

Test(load, coarse_range_levels_rebuilt_from_finer_ones_match_sorted_filing)
{
    static const uint8_t shifts[] = {0, 5, 10, 20, 40};
    enum { ROWS = 600000, FIRST = 300000 };
    int64_t *v = calloc(ROWS, sizeof *v);
    for (uint32_t r = 0; r < ROWS; r++)
        v[r] = r % 7 == 0 ? -(int64_t)rnd(50000) : r % 5 == 0 ? (int64_t)rnd(40) : (int64_t)rnd(30000);
    range_index *big = rindex_create(shifts, 5, keys_of_array, v), *small = rindex_create(shifts, 5, keys_of_array, v);
    /* the first rows: one flush for big (rebuilt), small ones for small (sorted) */
    for (uint32_t r = 0; r < FIRST; r++) cr_assert_eq(rindex_add(big, r), 0);
    cr_assert_eq(rindex_flush(big), 0);
    file_in_pieces(small, 0, FIRST, 60000);
    same_index(big, small);
    /* some rows leave, then the rest arrive: fewer than big holds, so no rebuild */
    for (uint32_t r = 0; r < FIRST; r += 9) {
        rindex_remove(big, rkey_int(v[r]), r);
        rindex_remove(small, rkey_int(v[r]), r);
    }
    for (uint32_t r = FIRST; r < ROWS; r++) cr_assert_eq(rindex_add(big, r), 0);
    cr_assert_eq(rindex_flush(big), 0);
    file_in_pieces(small, FIRST, ROWS, 60000);
    same_index(big, small);
    rindex_free(big);
    rindex_free(small);
    free(v);
}

/* ---- the id map's two parts ---------------------------------------------------- */

/* Every live row is found by its id, and ids between or beyond are not. */
static void ids_found(segdb_t *db, const uint64_t *ids, size_t n)
{
    for (uint32_t r = 0; r < db->nrows; r++) {
        bool live = roaring_bitmap_contains(db->live, r);
        uint32_t got = store_row_of(db, db->ids[r]);
        if (live) cr_assert_eq(got, r, "id %llu: row %u, expected %u", (unsigned long long)db->ids[r], got, r);
        else cr_assert(got == UINT32_MAX || got > r, "deleted row %u still found by its id", r);
    }
    for (size_t k = 0; k < n; k++) {
        uint64_t gap = ids[k] + 1; /* ids are multiples of 4 (and one is 2 more): never written */
        cr_assert_eq(store_row_of(db, gap), UINT32_MAX, "id %llu found", (unsigned long long)gap);
    }
    cr_assert_eq(store_row_of(db, 0), UINT32_MAX);
    cr_assert_eq(store_row_of(db, UINT64_MAX), UINT32_MAX);
    segdb_err e;
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
}

/* Loads in id order keep the ids in the row order's own sorted column (no
 * hash entries); deletes, an id coming back, and ids out of order go to the
 * hash part; a snapshot rebuilds the same split. Ids are skewed (steps of 4
 * to 2^42) so the interpolating search also has to bisect. */
Test(load, id_map_sorted_part_and_hash_part)
{
    enum { N = 4000 };
    uint64_t *ids = malloc(N * sizeof *ids);
    uint64_t id = 12;
    for (size_t k = 0; k < N; k++) {
        ids[k] = id;
        id += k % 97 == 0 ? (UINT64_C(1) << (k % 41)) * 4 : 4 + 4 * rnd(5);
    }
    segdb_t *db = open_db(2);
    segdb_kv kv = {.name = "city", .value = "Huế", .value_len = strlen("Huế")};
    segdb_contact *cs = calloc(N, sizeof *cs);
    for (size_t k = 0; k < N; k++) cs[k] = (segdb_contact){.id = ids[k], .kv = &kv, .n = 1};
    segdb_err e;
    uint64_t created = 0;
    /* one by one, then batches (the bulk path), then one by one again */
    for (size_t k = 0; k < 300; k++) {
        int c;
        cr_assert_eq(segdb_upsert(db, ids[k], &kv, 1, &c, &e), 0, "%s", e.msg);
    }
    for (size_t k = 300; k < N - 300; k += 700) {
        size_t m = k + 700 < N - 300 ? 700 : N - 300 - k;
        cr_assert_eq(segdb_upsert_batch(db, cs + k, m, &created, &e), 0, "%s", e.msg);
    }
    for (size_t k = N - 300; k < N; k++) {
        int c;
        cr_assert_eq(segdb_upsert(db, ids[k], &kv, 1, &c, &e), 0, "%s", e.msg);
    }
    cr_assert_eq(db->id_sorted, N);
    cr_assert_eq(db->id_count, 0, "no hash entries for ids in row order");
    ids_found(db, ids, N);

    /* deletes leave the sorted part; an id that comes back is hashed */
    uint64_t del[] = {ids[0], ids[1], ids[1234], ids[N - 1]}, deleted = 0;
    cr_assert_eq(segdb_del(db, del, 4, &deleted, &e), 0, "%s", e.msg);
    cr_assert_eq(deleted, 4);
    for (size_t k = 0; k < 4; k++) cr_assert_eq(store_row_of(db, del[k]), UINT32_MAX);
    int c;
    cr_assert_eq(segdb_upsert(db, ids[1234], &kv, 1, &c, &e), 0, "%s", e.msg);
    cr_assert(c);
    cr_assert_eq(db->id_count, 1);
    cr_assert_eq(store_row_of(db, ids[1234]), db->nrows - 1);
    ids_found(db, ids, N);

    /* an id below the top (it was never written) ends the sorted part */
    uint32_t sorted = db->id_sorted;
    cr_assert_eq(segdb_upsert(db, ids[5] + 2, &kv, 1, &c, &e), 0, "%s", e.msg);
    cr_assert(c);
    /* then a bulk batch above every id: rows after the sorted part, hashed */
    uint64_t top = ids[N - 1] + 1000;
    for (size_t k = 0; k < 500; k++) cs[k].id = top + 2 * k;
    cr_assert_eq(segdb_upsert_batch(db, cs, 500, &created, &e), 0, "%s", e.msg);
    cr_assert_eq(created, 500);
    cr_assert_eq(db->id_sorted, sorted);
    cr_assert_eq(db->id_count, 502);
    cr_assert_eq(store_row_of(db, ids[5] + 2), sorted + 1);
    for (size_t k = 0; k < 500; k++) cr_assert_eq(store_row_of(db, top + 2 * k), sorted + 2 + k);
    ids_found(db, ids, N);

    /* a snapshot rebuilds both parts */
    membuf m = {0};
    cr_assert_eq(segdb_save(db, mem_write, &m, &e), 0, "%s", e.msg);
    segdb_t *back = NULL;
    cr_assert_eq(segdb_load(&back, NULL, mem_read, &m, m.len, &e), 0, "%s", e.msg);
    cr_assert_eq(back->id_sorted, sorted);
    cr_assert_eq(back->id_count, 502);
    ids_found(back, ids, N);
    cr_assert_eq(segdb_upsert(back, ids[5] + 2, &kv, 1, &c, &e), 0, "%s", e.msg);
    cr_assert_not(c, "found again after the snapshot");
    segdb_close(back);
    segdb_close(db);
    free(m.p);
    free(cs);
    free(ids);
}

/* Rows that name no field (an IMPORT with only an id column): the batch's
 * value arrays hold nothing, and nothing may point into arrays never made
 * (clang's UBSan flags NULL + 0, gcc's does not: fuzz_import found it). The
 * rows still create their contacts. */
Test(load, import_rows_without_values)
{
    segdb_t *db = open_db(2);
    const char csv[] = "id\n900001\n900002\n900003\n";
    segdb_import_res res;
    segdb_err err = {0};
    cr_assert_eq(segdb_import(db, NULL, csv, strlen(csv), &res, &err), 0, "%s", err.msg);
    cr_assert_eq(res.created, 3);
    segdb_import_res_free(&res);
    uint64_t n = 0;
    cr_assert_eq(segdb_count(db, "type:visitor", &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_eq(segdb_verify(db, &err), 0, "%s", err.msg);
    segdb_close(db);
}

/* A bulk load's tags against UPSERT's, in one batch over two chunks of
 * rows: 1,500 labels that share their first bytes and length, long ones, one
 * label in nearly every row (its bitmap's chunks become bitsets), repeats,
 * lists of no label. And fields that every row gives one value, a few of
 * them empty (a clear). */
Test(load, bulk_tags_and_clears_match_upserts)
{
    enum { N = 70000 }; /* two chunks of rows */
    segdb_t *a = open_db(2), *b = open_db(2);
    contact *cs = calloc(N, sizeof *cs);
    cr_assert(cs);
    for (uint32_t i = 0; i < N; i++) {
        cs[i].id = 1 + i;
        if (i % 13 == 0)
            put(&cs[i], "tags", "%s", " ; ;"); /* a list of no labels: the row has no tags */
        else
            put(&cs[i], "tags", "vip;nhom-khach-%04u; khach-hang-than-thiet-nam-%u ;VIP;%s", (i * 7919) % 1500,
                i % 3, i % 5 ? "" : "nhom-khach-0001");
        put(&cs[i], "city", "%s", i % 7 ? "Hà Nội" : "");
        put(&cs[i], "purchases", "%s", i % 11 ? "3" : "");
    }
    load_given(b, a, cs, N);
    same_store(a, b);
    same_counts(a, b, "tag:vip");
    same_counts(a, b, "tag:nhom-khach-0001");
    same_counts(a, b, "tag:khach-hang-than-thiet-nam-2");
    same_counts(a, b, "has:city");
    same_counts(a, b, "has:tags");
    same_counts(a, b, "purchases > 0");
    free(cs);
    segdb_close(a);
    segdb_close(b);
}

/* Counts of points filters against the values the test keeps (INT64_MIN:
 * none), and DEBUG VERIFY. */
static void points_agree(segdb_t *db, const int64_t *pts, uint32_t n)
{
    static const struct { int64_t lo, hi; } ranges[] = {
        {13 * 777, 13 * 777},   {1000, 4999}, {-50, 20}, {INT64_MIN + 1, -1}, {0, INT64_MAX},
        {13 * 1000 + 1, 13 * 1001 - 1}, {1950000, 1960000}, {12, 12}, {-7, -7}, {600000, 1300000},
    };
    for (size_t q = 0; q < sizeof ranges / sizeof *ranges; q++) {
        char filter[96];
        snprintf(filter, sizeof filter, "points >= %lld AND points <= %lld", (long long)ranges[q].lo,
                 (long long)ranges[q].hi);
        uint64_t want = 0, got = 0;
        for (uint32_t i = 0; i < n; i++) want += pts[i] != INT64_MIN && pts[i] >= ranges[q].lo && pts[i] <= ranges[q].hi;
        segdb_err err = {0};
        cr_assert_eq(segdb_count(db, filter, &got, &err), 0, "%s", err.msg);
        cr_assert_eq(got, want, "%s: %llu, want %llu", filter, (unsigned long long)got, (unsigned long long)want);
    }
    segdb_err err = {0};
    cr_assert_eq(segdb_verify(db, &err), 0, "%s", err.msg);
}

/* An integer field whose contacts nearly all hold different values drops
 * its finest range level (a bitmap per value) after a flush; ranges and
 * equalities then scan the edge buckets' rows. Bulk and row-by-row loads,
 * writes and deletes after it, FIND sorted by the field, and a snapshot. */
Test(load, sparse_integer_levels_are_dropped)
{
    enum { N = 150000 };
    segdb_t *a = open_db(2), *b = open_db(2);
    int64_t *pts = malloc(N * sizeof *pts);
    contact *cs = calloc(N, sizeof *cs);
    cr_assert(pts && cs);
    for (int h = 0; h < 2; h++) {
        segdb_err err = {0};
        cr_assert_eq(segdb_field_create(h ? b : a, "points", "integer", &err), 0, "%s", err.msg);
    }
    for (uint32_t i = 0; i < N; i++) {
        cs[i].id = 1 + i;
        pts[i] = i % 11 == 5 ? INT64_MIN : i % 17 == 3 ? -(int64_t)i : (int64_t)i * 13;
        put(&cs[i], "name", "%s", "Lan");
        if (pts[i] != INT64_MIN) put(&cs[i], "points", "%lld", (long long)pts[i]);
    }
    load_given(b, a, cs, N);
    segdb_err err = {0};
    same_store(a, b); /* flushes both: the same levels, bucket by bucket */
    field *fp = store_field(a, "points", 6);
    cr_assert(fp && fp->ridx);
    cr_assert_eq(fp->ridx->nlevels, 4, "the finest level (a bucket per value) dropped: %u levels",
                 fp->ridx->nlevels);
    cr_assert_eq(fp->ridx->shift[0], 5);
    points_agree(a, pts, N);
    points_agree(b, pts, N);

    /* the smallest values first, through the finest buckets and a sort inside them */
    segdb_find_req q = {.filter = "points >= 0", .sort_field = "points", .limit = 20};
    segdb_find_res fr;
    cr_assert_eq(segdb_find(a, &q, &fr, &err), 0, "%s", err.msg);
    int64_t prev = -1;
    for (size_t k = 0; k < fr.n; k++) {
        int64_t v = pts[fr.ids[k] - 1];
        cr_assert(v >= prev, "FIND by points: %lld after %lld", (long long)v, (long long)prev);
        prev = v;
    }
    cr_assert_eq(fr.n, 20);
    cr_assert_eq(pts[fr.ids[0] - 1], 0);
    segdb_find_res_free(&fr);

    /* writes and deletes after the drop */
    for (uint32_t i = 0; i < N; i += 97) {
        int64_t v = (i % 2 ? 12 : -7) + (int64_t)i * 1000;
        if (i % 3 == 0) v = 12;
        contact c = {0};
        put(&c, "points", "%lld", (long long)v);
        int created = 0;
        for (int h = 0; h < 2; h++)
            cr_assert_eq(segdb_upsert(h ? b : a, 1 + i, c.kv, c.n, &created, &err), 0, "%s", err.msg);
        pts[i] = v;
    }
    for (uint32_t i = 1; i < N; i += 89) {
        uint64_t id = 1 + i, deleted = 0;
        for (int h = 0; h < 2; h++) cr_assert_eq(segdb_del(h ? b : a, &id, 1, &deleted, &err), 0, "%s", err.msg);
        pts[i] = INT64_MIN;
    }
    points_agree(a, pts, N);
    same_store(a, b);

    /* a snapshot keeps the levels it had */
    membuf m = {0};
    cr_assert_eq(segdb_save(a, mem_write, &m, &err), 0, "%s", err.msg);
    segdb_t *back = NULL;
    cr_assert_eq(segdb_load(&back, NULL, mem_read, &m, m.len, &err), 0, "%s", err.msg);
    cr_assert_eq(store_field(back, "points", 6)->ridx->nlevels, fp->ridx->nlevels);
    cr_assert_eq(store_field(back, "points", 6)->ridx->shift[0], fp->ridx->shift[0]);
    points_agree(back, pts, N);
    segdb_close(back);
    free(m.p);
    free(cs);
    free(pts);
    segdb_close(a);
    segdb_close(b);
}

/* Deletes can leave the finest level sparse with nothing pending: the next
 * flush drops it too, so DEBUG VERIFY's rebuilt index (which drops it on its
 * first flush) has the same levels. */
Test(load, sparse_after_deletes_drops_on_the_next_flush)
{
    enum { VALUES = 66000, N = 4 * VALUES, STEP = 44000 };
    segdb_t *db = open_db(2);
    segdb_err err = {0};
    cr_assert_eq(segdb_field_create(db, "points", "integer", &err), 0, "%s", err.msg);
    static char vals[N][8];
    static segdb_kv kv[N];
    static segdb_contact bc[N];
    for (uint32_t i = 0; i < N; i++) {
        int len = snprintf(vals[i], sizeof vals[i], "%u", i % VALUES);
        kv[i] = (segdb_kv){"points", vals[i], (size_t)len};
        bc[i] = (segdb_contact){.id = 1 + i, .kv = &kv[i], .n = 1};
    }
    for (uint32_t i = 0; i < N; i += STEP) {
        uint64_t made = 0;
        cr_assert_eq(segdb_upsert_batch(db, bc + i, STEP, &made, &err), 0, "%s", err.msg);
    }
    cr_assert_eq(segdb_flush_indexes(db), 0);
    range_index *ri = store_field(db, "points", 6)->ridx;
    cr_assert_eq(ri->nlevels, 5, "four rows a value: the finest level stays");
    static uint64_t ids[VALUES];
    for (uint32_t i = 0; i < VALUES; i++) ids[i] = 1 + i;
    uint64_t deleted = 0;
    cr_assert_eq(segdb_del(db, ids, VALUES, &deleted, &err), 0, "%s", err.msg);
    cr_assert_eq(deleted, VALUES);
    cr_assert_eq(segdb_verify(db, &err), 0, "%s", err.msg);
    cr_assert_eq(ri->nlevels, 4, "three rows a value: the finest level dropped");
    uint64_t n = 0;
    cr_assert_eq(segdb_count(db, "points = 777", &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    segdb_close(db);
}

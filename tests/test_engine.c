/*
 * test_engine.c — end-to-end checks of the embedded API (segdb.h): writes,
 * reads, COUNT/FIND/EXPLAIN, classification rules, errors, replay of logged
 * records, DEBUG VERIFY. The planner's broad correctness is covered by
 * test_differential.c; these pin specific behaviours.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb.h"

static int64_t fixed_clock(void *ctx) { return *(int64_t *)ctx; }
static int64_t g_now = 1764000000; /* 2025-11-24 */

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

static int up(segdb_t *db, uint64_t id, const char *const *kv, segdb_err *err)
{
    segdb_kv a[32];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        a[n].name = kv[2 * n];
        a[n].value = kv[2 * n + 1];
        a[n].value_len = strlen(kv[2 * n + 1]);
    }
    int created;
    return segdb_upsert(db, id, a, n, &created, err);
}

#define UP(db, id, ...)                                                              \
    do {                                                                             \
        segdb_err e_;                                                                \
        const char *kv_[] = {__VA_ARGS__, NULL};                                     \
        int rc_ = up(db, id, kv_, &e_);                                              \
        cr_assert_eq(rc_, 0, "upsert %llu: %s", (unsigned long long)(id), e_.msg); \
    } while (0)

static uint64_t count(segdb_t *db, const char *f)
{
    segdb_err e;
    uint64_t n = 0;
    int rc = segdb_count(db, f, &n, &e);
    cr_assert_eq(rc, 0, "count '%s': %s", f, e.msg);
    return n;
}

static int count_err(segdb_t *db, const char *f, segdb_err *e)
{
    uint64_t n;
    return segdb_count(db, f, &n, e);
}

Test(engine, folding_matches_vietnamese_values)
{
    segdb_t *db = open_db();
    UP(db, 1, "name", "Nguyễn Văn An", "city", "Hà Nội", "tags", "VIP;Khách mới");
    UP(db, 2, "name", "Trần Thị Bình", "city", "ha noi", "phone", "0912 345 678");
    UP(db, 3, "city", "Đà Nẵng", "email", "Binh.Tran@Example.com");
    cr_assert_eq(count(db, "city:\"ha noi\""), 2);
    cr_assert_eq(count(db, "city:hanoi"), 2);
    cr_assert_eq(count(db, "city:'Hà Nội'"), 2);
    cr_assert_eq(count(db, "city:danang"), 1);
    cr_assert_eq(count(db, "q:nguyen"), 1);
    cr_assert_eq(count(db, "q:binh"), 2);
    cr_assert_eq(count(db, "phone:+84912345678"), 1);
    cr_assert_eq(count(db, "phone~345678"), 1);
    cr_assert_eq(count(db, "tag:vip"), 1);
    cr_assert_eq(count(db, "tag:\"khach moi\""), 1);
    cr_assert_eq(count(db, "email:binh.tran@example.com"), 1);
    cr_assert_eq(count(db, "city != hanoi"), 1);
    cr_assert_eq(count(db, "NOT city:hanoi"), 1);
    cr_assert_eq(count(db, "city:nowhere OR tag:nobody"), 0);
    segdb_close(db);
}

Test(engine, first_spelling_is_shown)
{
    segdb_t *db = open_db();
    UP(db, 1, "city", "Hà Nội");
    UP(db, 2, "city", "HA NOI");
    segdb_strvec sv;
    segdb_err e;
    const char *f[] = {"city"};
    cr_assert_eq(segdb_get(db, 2, f, 1, &sv, &e), 1);
    cr_assert_str_eq(sv.v[1], "Hà Nội");
    segdb_strvec_free(&sv);
    segdb_close(db);
}

Test(engine, type_auto_upgrade_and_explicit_type)
{
    segdb_t *db = open_db();
    UP(db, 1, "city", "Huế");
    cr_assert_eq(count(db, "type:visitor"), 1);
    UP(db, 1, "email", "a@b.vn");
    cr_assert_eq(count(db, "type:lead"), 1);
    UP(db, 1, "purchases", "3");
    cr_assert_eq(count(db, "type:customer"), 1);
    UP(db, 1, "purchases", "0");
    cr_assert_eq(count(db, "type:customer"), 1, "never moves down");
    UP(db, 1, "type", "visitor");
    cr_assert_eq(count(db, "type:visitor"), 1, "a write naming type is taken as written");
    UP(db, 1, "city", "Huế");
    cr_assert_eq(count(db, "type:visitor"), 1, "a write of other fields does not re-evaluate");
    segdb_close(db);
}

Test(engine, ranges_times_and_whole_days)
{
    segdb_t *db = open_db();
    UP(db, 1, "created_at", "2019-11-01T00:00:00+07:00", "purchases", "012");
    UP(db, 2, "created_at", "2019-11-01T23:59:59+07:00", "purchases", "5");
    UP(db, 3, "created_at", "2019-11-02T00:00:00+07:00");
    UP(db, 4, "last_contacted", "-40d");
    UP(db, 5, "last_contacted", "-10d");
    cr_assert_eq(count(db, "purchases:12"), 1);
    cr_assert_eq(count(db, "purchases >= 5"), 2);
    cr_assert_eq(count(db, "created_at > 2019-11-01"), 3, "4 and 5 were created now");
    cr_assert_eq(count(db, "created_at >= 2019-11-01 AND created_at <= 2019-11-01"), 2);
    cr_assert_eq(count(db, "created_at:2019-11-01"), 2);
    cr_assert_eq(count(db, "created_at < 2019-11-02"), 2);
    cr_assert_eq(count(db, "last_contacted < -30d"), 1);
    cr_assert_eq(count(db, "relationship:dont_forget"), 1);
    cr_assert_eq(count(db, "relationship:new"), 4);
    UP(db, 4, "relationship", "won");
    cr_assert_eq(count(db, "relationship:dont_forget"), 0);
    segdb_close(db);
}

Test(engine, errors_are_precise)
{
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(count_err(db, "colour:red", &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "FIELD.CREATE"), "%s", e.msg);
    cr_assert(strstr(e.msg, "city"), "%s", e.msg);
    cr_assert_eq(count_err(db, "gender:robot", &e), SEGDB_EWRONGTYPE);
    cr_assert(strstr(e.msg, "male, female, other, unknown"), "%s", e.msg);
    cr_assert_eq(count_err(db, "purchases:abc", &e), SEGDB_EWRONGTYPE);
    cr_assert_eq(count_err(db, "created_at > soon", &e), SEGDB_EWRONGTYPE);
    cr_assert_eq(count_err(db, "", &e), SEGDB_EINVAL);
    cr_assert_eq(count_err(db, "name < x", &e), SEGDB_EINVAL);
    const char *bad[] = {"email", "not-an-email", NULL};
    cr_assert_eq(up(db, 1, bad, &e), SEGDB_EINVAL);
    const char *unk[] = {"colour", "red", NULL};
    cr_assert_eq(up(db, 1, unk, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "FIELD.CREATE"), "%s", e.msg);
    const char *badutf[] = {"name", "\xff\xfe", NULL};
    cr_assert_eq(up(db, 1, badutf, &e), SEGDB_EINVAL);
    cr_assert_eq(count(db, NULL), 0, "nothing was applied");
    segdb_close(db);
}

/* Value errors as UPSERT and a parallel batch report them: text faults (a
 * NUL, bad UTF-8) come before the kind's own complaint, also for the kinds
 * whose values are checked as text only when they don't parse. */
Test(engine, value_errors_name_text_faults_first)
{
    static const struct {
        const char *field, *value;
        size_t len;
        const char *msg;
    } cases[] = {
        {"purchases", "12\0", 3, "value of 'purchases' contains a NUL byte"},
        {"purchases", "1\xff", 2, "value of 'purchases' is not valid UTF-8"},
        {"purchases", "12a", 3, "'12a' is not an integer for 'purchases'"},
        {"created_at", "2020-01-0\xc3", 10, "value of 'created_at' is not valid UTF-8"},
        {"created_at", "soon", 4, "'soon' is not a time for 'created_at'"},
        {"birthday", "1990\0-01-01", 11, "value of 'birthday' contains a NUL byte"},
        {"gender", "fe\xffmale", 7, "value of 'gender' is not valid UTF-8"},
        {"gender", "fe\0male", 7, "value of 'gender' contains a NUL byte"},
        {"gender", "robot", 5, "'robot' is not a valid gender value"},
        {"score", "1.5\0", 4, "value of 'score' contains a NUL byte"},
        {"score", "1.5x", 4, "'1.5x' is not a number for 'score'"},
        {"vip", "y\xe1", 2, "value of 'vip' is not valid UTF-8"},
        {"vip", "maybe", 5, "'maybe' is not a valid vip value; expected yes or no"},
        {"email", "lan@\0.vn", 8, "value of 'email' contains a NUL byte"},
        {"email", "l\xe1n@x.vn", 8, "value of 'email' is not valid UTF-8"},
        {"email", "lan@vn", 6, "invalid email 'lan@vn'"},
        {"phone", "không có số", 15, "invalid phone 'không có số': expected digits"},
        {"phone", "09\0", 3, "value of 'phone' contains a NUL byte"},
    };
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "score", "number", &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_field_create(db, "vip", "bool", &e), 0, "%s", e.msg);
    enum { ROWS = 600 }; /* enough for the batch to be checked over threads */
    static segdb_kv kv[ROWS][2];
    static segdb_contact c[ROWS];
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        segdb_kv bad = {cases[t].field, cases[t].value, cases[t].len};
        int created;
        cr_assert_neq(segdb_upsert(db, 1, &bad, 1, &created, &e), 0, "%s", cases[t].value);
        cr_expect(strstr(e.msg, cases[t].msg), "got '%s', want '%s'", e.msg, cases[t].msg);
        /* the same value in row 500 of a bulk load of new contacts */
        for (size_t i = 0; i < ROWS; i++) {
            kv[i][0] = (segdb_kv){"gender", "female", 6};
            kv[i][1] = i == 500 ? bad : (segdb_kv){"name", "Lan", 3};
            c[i] = (segdb_contact){.id = 1000 + i, .kv = kv[i], .n = 2};
        }
        uint64_t made = 0;
        cr_assert_neq(segdb_upsert_batch(db, c, ROWS, &made, &e), 0);
        cr_expect(strstr(e.msg, "contact 500 (id 1500)"), "%s", e.msg);
        cr_expect(strstr(e.msg, cases[t].msg), "got '%s', want '%s'", e.msg, cases[t].msg);
    }
    cr_assert_eq(count(db, NULL), 0, "nothing was applied");
    /* and values that parse go in, exactly spelt or folded */
    UP(db, 1, "gender", "Female", "purchases", "12", "vip", "Y", "score", "1.5", "created_at", "2020-01-02",
       "email", "ngọc@công.vn", "phone", "+84 (0) 912-345-678");
    cr_assert_eq(count(db, "gender:female AND purchases = 12 AND vip:yes AND score = 1.5 AND has:email"), 1);
    cr_assert_eq(count(db, "phone:0912345678"), 1);
    segdb_close(db);
}

Test(engine, delete_leaves_every_index_and_id_can_return)
{
    segdb_t *db = open_db();
    UP(db, 7, "tags", "a;b", "city", "Huế", "purchases", "3", "name", "X");
    uint64_t ids[] = {7, 8}, d = 0;
    segdb_err e;
    cr_assert_eq(segdb_del(db, ids, 2, &d, &e), 0);
    cr_assert_eq(d, 1);
    cr_assert_eq(count(db, "tag:a OR city:hue OR purchases > 0 OR q:x"), 0);
    UP(db, 7, "city", "Huế");
    cr_assert_eq(count(db, "tag:a"), 0);
    cr_assert_eq(count(db, "city:hue"), 1);
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
    segdb_close(db);
}

Test(engine, custom_fields)
{
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "score", "number", &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_field_create(db, "score", "number", &e), SEGDB_EEXIST);
    cr_assert_eq(segdb_field_create(db, "shop", "category", &e), 0);
    UP(db, 1, "score", "4.5", "shop", "Cửa hàng A");
    UP(db, 2, "score", "-1");
    cr_assert_eq(count(db, "score > 0"), 1);
    cr_assert_eq(count(db, "score < 0"), 1);
    cr_assert_eq(count(db, "shop:\"cua hang a\""), 1);
    cr_assert_eq(count(db, "has:score AND missing:shop"), 1);
    segdb_close(db);
}

Test(engine, find_pages_and_sorts)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 300; i++) {
        char t[32];
        snprintf(t, sizeof t, "%llu", (unsigned long long)(1600000000 + (i * 7919) % 1000 * 86400));
        UP(db, i, "created_at", t, "gender", i % 2 ? "male" : "female");
    }
    segdb_find_req rq = {.filter = "gender:male", .limit = 5, .offset = 2};
    segdb_find_res rs;
    segdb_err e;
    cr_assert_eq(segdb_find(db, &rq, &rs, &e), 0, "%s", e.msg);
    cr_assert_eq(rs.n, 5);
    cr_assert_eq(rs.ids[0], 5);
    cr_assert_eq(rs.ids[4], 13);
    segdb_find_res_free(&rs);
    const char *fl[] = {"created_at"};
    segdb_find_req rq2 = {.filter = "gender:male", .limit = 10, .sort_field = "created_at", .desc = true,
                          .fields = fl, .nfields = 1};
    cr_assert_eq(segdb_find(db, &rq2, &rs, &e), 0, "%s", e.msg);
    cr_assert_eq(rs.n, 10);
    for (size_t i = 1; i < rs.n; i++)
        cr_assert(strtoll(rs.values[i - 1], NULL, 10) >= strtoll(rs.values[i], NULL, 10));
    segdb_find_res_free(&rs);
    segdb_find_req rq3 = {.filter = "gender:male", .limit = 20000};
    cr_assert_eq(segdb_find(db, &rq3, &rs, &e), SEGDB_ELIMIT);
    segdb_close(db);
}

static int log_count;
static void *log_buf[64];
static size_t log_len[64];
static int capture(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    (void)ctx; (void)err; (void)seq;
    log_buf[log_count] = malloc(len);
    memcpy(log_buf[log_count], rec, len);
    log_len[log_count++] = len;
    return 0;
}

Test(engine, replayed_records_rebuild_the_same_state)
{
    segdb_t *db = open_db();
    segdb_set_log(db, capture, NULL);
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "shop", "category", &e), 0);
    UP(db, 1, "name", "Lê Văn C", "shop", "A", "tags", "x;y");
    UP(db, 2, "city", "Huế");
    uint64_t ids[] = {2}, d;
    cr_assert_eq(segdb_del(db, ids, 1, &d, &e), 0);
    segdb_t *db2 = open_db();
    for (int i = 0; i < log_count; i++) {
        cr_assert_eq(segdb_apply_record(db2, (uint64_t)i + 1, log_buf[i], log_len[i], &e), 0, "%s", e.msg);
        free(log_buf[i]);
    }
    cr_assert_eq(count(db2, "shop:a AND tag:y AND q:le"), 1);
    cr_assert_eq(count(db2, "city:hue"), 0);
    segdb_stats st;
    segdb_get_stats(db2, &st);
    cr_assert_eq(st.seq, 4);
    cr_assert_eq(segdb_verify(db2, &e), 0, "%s", e.msg);
    unsigned char junk[] = {1, 2, 3};
    cr_assert_eq(segdb_apply_record(db2, 5, junk, sizeof junk, &e), SEGDB_EINVAL);
    segdb_close(db);
    segdb_close(db2);
}

Test(engine, explain_shows_cardinalities)
{
    segdb_t *db = open_db();
    UP(db, 1, "tags", "a", "gender", "male");
    UP(db, 2, "tags", "a;b", "gender", "female");
    char *t = NULL;
    segdb_err e;
    cr_assert_eq(segdb_explain(db, "tag:a AND NOT gender:male", &t, &e), 0, "%s", e.msg);
    cr_assert(strstr(t, "rows=1"), "%s", t);
    cr_assert(strstr(t, "AND"), "%s", t);
    free(t);
    segdb_close(db);
}

Test(engine, integer_columns_widen_past_32_bits)
{
    segdb_t *db = open_db();
    UP(db, 1, "purchases", "5", "created_at", "1600000000");
    UP(db, 2, "purchases", "7");
    UP(db, 5, "purchases", "70000"); /* past 16 bits */
    cr_assert_eq(count(db, "purchases:70000"), 1);
    cr_assert_eq(count(db, "purchases:5"), 1);
    UP(db, 3, "purchases", "5000000000", "created_at", "4200000000"); /* year 2103 */
    UP(db, 4, "purchases", "-3000000000");
    cr_assert_eq(count(db, "purchases:5"), 1);
    cr_assert_eq(count(db, "purchases > 4000000000"), 1);
    cr_assert_eq(count(db, "purchases < 0"), 1);
    cr_assert_eq(count(db, "created_at > 2100-01-01"), 1);
    cr_assert_eq(count(db, "purchases >= 5 AND purchases <= 7"), 2);
    segdb_strvec sv;
    segdb_err e;
    const char *f[] = {"purchases", "created_at"};
    cr_assert_eq(segdb_get(db, 3, f, 2, &sv, &e), 1);
    cr_assert_str_eq(sv.v[1], "5000000000");
    cr_assert_str_eq(sv.v[3], "4200000000");
    segdb_strvec_free(&sv);
    cr_assert_eq(segdb_get(db, 1, f, 1, &sv, &e), 1);
    cr_assert_str_eq(sv.v[1], "5");
    segdb_strvec_free(&sv);
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
    segdb_close(db);
}

Test(engine, differently_written_phones_are_one_number)
{
    segdb_t *db = open_db();
    UP(db, 1, "phone", "0912 345 678");
    UP(db, 2, "phone", "+84912345678");
    UP(db, 3, "phone", "84912345678");
    UP(db, 4, "phone", "0912 345 679");
    cr_assert_eq(count(db, "phone:0912345678"), 3);
    cr_assert_eq(count(db, "phone:'+84 912 345 678'"), 3);
    cr_assert_eq(count(db, "phone~345678"), 3);
    UP(db, 2, "phone", "0912 345 679");
    cr_assert_eq(count(db, "phone:0912345678"), 2);
    cr_assert_eq(count(db, "phone:0912345679"), 2);
    segdb_strvec sv;
    segdb_err e;
    const char *f[] = {"phone"};
    cr_assert_eq(segdb_get(db, 3, f, 1, &sv, &e), 1);
    cr_assert_str_eq(sv.v[1], "84912345678", "shown as written");
    segdb_strvec_free(&sv);
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
    segdb_close(db);
}

Test(engine, sorted_pages_match_a_full_sort)
{
    segdb_t *db = open_db();
    char v[32], n[32];
    for (uint64_t i = 1; i <= 4000; i++) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)((i * 7919) % 613));
        snprintf(n, sizeof n, "Khách %llu", (unsigned long long)((i * 31) % 97));
        UP(db, i, "purchases", v, "name", n);
    }
    const char *sorts[] = {"purchases", "name"};
    for (int s = 0; s < 2; s++) {
        for (int desc = 0; desc < 2; desc++) {
            segdb_find_req all = {.sort_field = sorts[s], .desc = desc, .limit = 10000};
            segdb_find_res ra, rp;
            segdb_err e;
            cr_assert_eq(segdb_find(db, &all, &ra, &e), 0, "%s", e.msg);
            cr_assert_eq(ra.n, 4000);
            uint64_t offs[] = {0, 7, 333, 3990};
            for (int k = 0; k < 4; k++) {
                segdb_find_req pg = {.sort_field = sorts[s], .desc = desc, .offset = offs[k], .limit = 25};
                cr_assert_eq(segdb_find(db, &pg, &rp, &e), 0, "%s", e.msg);
                size_t want = offs[k] + 25 <= 4000 ? 25 : 4000 - offs[k];
                cr_assert_eq(rp.n, want);
                for (size_t j = 0; j < rp.n; j++)
                    cr_assert_eq(rp.ids[j], ra.ids[offs[k] + j], "%s %s offset %llu item %zu", sorts[s],
                                 desc ? "desc" : "asc", (unsigned long long)offs[k], j);
                segdb_find_res_free(&rp);
            }
            segdb_find_res_free(&ra);
        }
    }
    segdb_close(db);
}

Test(engine, sorted_pages_of_every_size_terminate_and_agree)
{
    segdb_t *db = open_db();
    char v[32];
    for (uint64_t i = 1; i <= 300; i++) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)((i * 37) % 11));
        UP(db, i, "purchases", v, "web_sessions", i % 2 ? "1" : "2");
        if (i < 5) continue;
        /* the top rows by purchases among the first i contacts, page by page */
        char filter[64];
        snprintf(filter, sizeof filter, "has:purchases");
        segdb_find_req all = {.filter = filter, .sort_field = "purchases", .desc = true, .limit = 10000};
        segdb_find_res ra, rp;
        segdb_err e;
        cr_assert_eq(segdb_find(db, &all, &ra, &e), 0, "%s", e.msg);
        for (uint64_t off = 0; off < 3 && off < i; off++) {
            segdb_find_req pg = {.filter = filter, .sort_field = "purchases", .desc = true, .offset = off, .limit = 1};
            cr_assert_eq(segdb_find(db, &pg, &rp, &e), 0, "%s", e.msg);
            cr_assert_eq(rp.n, 1);
            cr_assert_eq(rp.ids[0], ra.ids[off], "n=%llu offset %llu", (unsigned long long)i, (unsigned long long)off);
            segdb_find_res_free(&rp);
        }
        segdb_find_res_free(&ra);
    }
    segdb_close(db);
}

/* segdb_flush_indexes after a bulk load files the range indexes, shrinks and
 * run-optimizes bitmaps and re-lays every tag bitmap out afresh (an empty
 * groups field among them): the answers, DEBUG VERIFY and later writes to
 * the same tags are unchanged. */
Test(engine, flush_after_a_bulk_load_keeps_every_answer)
{
    segdb_t *db = open_db();
    char tags[64], cr[24];
    for (uint64_t i = 1; i <= 140000; i++) { /* three chunks of rows */
        snprintf(tags, sizeof tags, "t%llu;t%llu;u%llu", (unsigned long long)(i % 7), (unsigned long long)(i % 13),
                 (unsigned long long)(i % 1000));
        snprintf(cr, sizeof cr, "%llu", (unsigned long long)(1600000000 + i * 60));
        UP(db, i, "tags", i % 5 ? tags : "", "created_at", cr);
    }
    UP(db, 9, "groups", ""); /* no groups yet: an empty tag-kind field */
    const char *const filters[] = {
        "tag:t3", "tag:t3 OR tag:t5 OR tag:u17 OR tag:u999 OR tag:t12", "tag:t0 AND NOT tag:t1",
        "missing:tags", "tag:u5 AND created_at < 2020-09-14", "NOT (tag:t6 OR tag:t2)",
    };
    uint64_t before[sizeof filters / sizeof *filters];
    for (size_t k = 0; k < sizeof filters / sizeof *filters; k++) before[k] = count(db, filters[k]);
    cr_assert_eq(segdb_flush_indexes(db), 0);
    for (size_t k = 0; k < sizeof filters / sizeof *filters; k++)
        cr_assert_eq(count(db, filters[k]), before[k], "%s", filters[k]);
    segdb_err e;
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
    /* the new bitmaps take writes: add and drop tags, then check again */
    UP(db, 3, "tags", "t3;brand_new");
    UP(db, 10, "tags", "");
    UP(db, 200000, "tags", "t3");
    cr_assert_eq(count(db, "tag:brand_new"), 1);
    /* row 3 had t3 and keeps it, row 10 had no tags, row 200000 is new */
    cr_assert_eq(count(db, "tag:t3"), before[0] + 1, "%llu vs %llu", (unsigned long long)count(db, "tag:t3"), (unsigned long long)before[0]);
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_flush_indexes(db), 0); /* twice is fine */
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
    segdb_close(db);
}

/* A category holds its codes in 8 bits until its 256th value, then in 32:
 * values written before and after the widening still count, sort, export,
 * move by bulk SET and pass DEBUG VERIFY. */
Test(engine, category_codes_widen_past_255_values)
{
    segdb_t *db = open_db();
    char v[32];
    for (uint64_t i = 1; i <= 600; i++) {
        snprintf(v, sizeof v, "src%03llu", (unsigned long long)(i % 300)); /* 300 values */
        UP(db, i, "source", v, "purchases", "1");
        if (i == 200) { /* before the widening */
            cr_assert_eq(count(db, "source:src007"), 1);
            segdb_err e;
            cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
        }
    }
    cr_assert_eq(count(db, "source:src007"), 2);
    cr_assert_eq(count(db, "source:src299"), 2);
    cr_assert_eq(count(db, "source:src000"), 2);
    cr_assert_eq(count(db, "has:source"), 600);
    segdb_err e;
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
    /* the largest value sorts first, and GET shows the value */
    segdb_find_req req = {.filter = "has:source", .sort_field = "source", .desc = true, .limit = 2};
    segdb_find_res res;
    cr_assert_eq(segdb_find(db, &req, &res, &e), 0, "%s", e.msg);
    cr_assert_eq(res.n, 2);
    cr_assert(res.ids[0] == 299 || res.ids[0] == 599, "%llu", (unsigned long long)res.ids[0]);
    segdb_find_res_free(&res);
    /* a bulk SET moves a whole set to one value, old codes and new alike */
    segdb_target t = {.filter = "source:src001 OR source:src280"};
    uint64_t n, rejected;
    cr_assert_eq(segdb_set(db, "source", "src150", strlen("src150"), &t, &n, &rejected, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 4);
    cr_assert_eq(rejected, 0);
    cr_assert_eq(count(db, "source:src150"), 6);
    cr_assert_eq(count(db, "source:src001"), 0);
    cr_assert_eq(segdb_verify(db, &e), 0, "%s", e.msg);
    segdb_close(db);
}

/*
 * test_import.c — CSV IMPORT and EXPORT of the embedded API (segdb_import,
 * segdb_export; SPEC 7 "Import and export"): RFC 4180 edge cases through
 * IMPORT, Vietnamese UTF-8, rows rejected with their physical line numbers
 * (invalid UTF-8, wrong cell counts, UPSERT's checks), duplicate keys within
 * one chunk, MATCH on id, identifier, email and phone, whole-chunk errors
 * that apply nothing, new ids from max(id)+1 and their exhaustion, formula
 * escaping both ways, EXPORT paging (header once, cursors, stability while
 * writes happen), the REC_IMPORT record (one record per chunk, replay equal to
 * the live apply, refusal of a record that no longer applies), and an export
 * -> import round trip of 100,000 generated contacts compared field by field.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb.h"
#include "value.h"

/* the benchmark's generator, compiled into this test (tests are built alone) */
#include "../bench/gen.c"

static int64_t g_now = 1764000000; /* 2025-11-24T16:00:00Z */
static int64_t fixed_clock(void *ctx) { return *(int64_t *)ctx; }

/* Records handed to the log hook, for replay tests. */
typedef struct logcap {
    void *buf[64];
    size_t len[64];
    size_t n;
} logcap;

static int cap_log(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    logcap *lc = ctx;
    cr_assert_lt(lc->n, 64);
    lc->buf[lc->n] = malloc(len);
    cr_assert_not_null(lc->buf[lc->n]);
    memcpy(lc->buf[lc->n], rec, len);
    lc->len[lc->n++] = len;
    return 0;
}

static void logcap_free(logcap *lc)
{
    for (size_t i = 0; i < lc->n; i++) free(lc->buf[i]);
    lc->n = 0;
}

static segdb_t *open_db_log(logcap *lc)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_clock;
    o.clock_ctx = &g_now;
    if (lc) {
        o.log_fn = cap_log;
        o.log_ctx = lc;
    }
    segdb_t *db = segdb_open(&o);
    cr_assert_not_null(db);
    return db;
}

static segdb_t *open_db(void) { return open_db_log(NULL); }

/* IMPORT that must succeed as a whole. */
static segdb_import_res imp(segdb_t *db, const char *match, const char *csv)
{
    segdb_import_res r;
    segdb_err e;
    int rc = segdb_import(db, match, csv, strlen(csv), &r, &e);
    cr_assert_eq(rc, 0, "import failed: %s", e.msg);
    cr_assert_eq(r.n, r.rejected);
    return r;
}

/* IMPORT that must fail as a whole with code, the message holding want. */
static void imp_fails(segdb_t *db, const char *match, const char *csv, int code, const char *want)
{
    segdb_import_res r;
    segdb_err e;
    int rc = segdb_import(db, match, csv, strlen(csv), &r, &e);
    cr_assert_eq(rc, code, "import of %s: rc %d (%s)", csv, rc, rc ? e.msg : "ok");
    cr_assert(strstr(e.msg, want), "message '%s' lacks '%s'", e.msg, want);
    cr_assert_eq(r.n, 0);
    cr_assert_null(r.lines);
}

static void counts(const segdb_import_res *r, uint64_t created, uint64_t updated, uint64_t rejected)
{
    cr_assert_eq(r->created, created, "created %llu, want %llu", (unsigned long long)r->created,
                 (unsigned long long)created);
    cr_assert_eq(r->updated, updated, "updated %llu, want %llu", (unsigned long long)r->updated,
                 (unsigned long long)updated);
    cr_assert_eq(r->rejected, rejected, "rejected %llu, want %llu", (unsigned long long)r->rejected,
                 (unsigned long long)rejected);
}

/* Rejection i is at line with a reason holding want. */
static void rejected_at(const segdb_import_res *r, size_t i, uint64_t line, const char *want)
{
    cr_assert_lt(i, r->n);
    cr_assert_eq(r->lines[i], line, "rejection %zu at line %llu, want %llu (%s)", i,
                 (unsigned long long)r->lines[i], (unsigned long long)line, r->reasons[i]);
    cr_assert(strstr(r->reasons[i], want), "reason '%s' lacks '%s'", r->reasons[i], want);
}

/* One field of a contact, malloc'd; NULL when absent (or no contact). */
static char *get(segdb_t *db, uint64_t id, const char *field)
{
    segdb_strvec sv;
    segdb_err e;
    const char *f[] = {field};
    int rc = segdb_get(db, id, f, 1, &sv, &e);
    cr_assert_geq(rc, 0, "get: %s", e.msg);
    char *v = rc == 1 && sv.v[1] ? strdup(sv.v[1]) : NULL;
    segdb_strvec_free(&sv);
    return v;
}

#define EXPECT_FIELD(db, id, field, want)                                                           \
    do {                                                                                            \
        char *v_ = get(db, id, field);                                                              \
        const char *w_ = (want);                                                                    \
        if (!w_)                                                                                    \
            cr_assert_null(v_, "%s of %llu: '%s', want none", field, (unsigned long long)(id), v_); \
        else                                                                                        \
            cr_assert(v_ && strcmp(v_, w_) == 0, "%s of %llu: '%s', want '%s'", field,              \
                      (unsigned long long)(id), v_ ? v_ : "(none)", w_);                            \
        free(v_);                                                                                   \
    } while (0)

static uint64_t count(segdb_t *db, const char *f)
{
    segdb_err e;
    uint64_t n = 0;
    cr_assert_eq(segdb_count(db, f, &n, &e), 0, "count '%s': %s", f ? f : "(all)", e.msg);
    return n;
}

static void verify(segdb_t *db)
{
    segdb_err e;
    cr_assert_eq(segdb_verify(db, &e), 0, "verify: %s", e.msg);
}

/* A growable string. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->len + n + 1) nc *= 2;
        b->p = realloc(b->p, nc);
        cr_assert_not_null(b->p);
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* Every page of an export, concatenated; *pages = how many calls it took. */
static char *export_all(segdb_t *db, const char *const *fields, size_t nfields, const char *filter, uint64_t count,
                        size_t *pages)
{
    sbuf b = {0};
    sb_add(&b, "", 0);
    segdb_export_req q = {.fields = fields, .nfields = nfields, .filter = filter, .count = count};
    size_t np = 0;
    do {
        segdb_export_res r;
        segdb_err e;
        cr_assert_eq(segdb_export(db, &q, &r, &e), 0, "export: %s", e.msg);
        sb_add(&b, r.csv, r.len);
        q.cursor = r.next_cursor;
        segdb_export_res_free(&r);
        np++;
        cr_assert_lt(np, 1000000);
    } while (q.cursor);
    if (pages) *pages = np;
    return b.p;
}

/* ---- the format: RFC 4180 through IMPORT ------------------------------------ */

Test(import, creates_contacts_and_types_values_by_field)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL,
                             "id,name,email,purchases,created_at,whatsapp,tags\r\n"
                             "1,Ann,ann@example.com,012,2019-11-01,yes,vip;new\r\n"
                             "2,Bob,,0,1700000000,no,\r\n");
    counts(&r, 2, 0, 0);
    EXPECT_FIELD(db, 1, "name", "Ann");
    EXPECT_FIELD(db, 1, "purchases", "12");
    EXPECT_FIELD(db, 1, "created_at", "1572541200"); /* 2019-11-01 in +07:00 */
    EXPECT_FIELD(db, 1, "whatsapp", "yes");
    EXPECT_FIELD(db, 1, "tags", "vip;new");
    EXPECT_FIELD(db, 1, "type", "customer");
    EXPECT_FIELD(db, 2, "email", NULL);
    EXPECT_FIELD(db, 2, "tags", NULL);
    EXPECT_FIELD(db, 2, "type", "lead");
    cr_assert_eq(count(db, "tag:vip"), 1);
    segdb_import_res_free(&r);
    verify(db);
    segdb_close(db);
}

Test(import, rfc4180_quoting_newlines_and_line_endings)
{
    segdb_t *db = open_db();
    /* BOM; quoted commas, doubled quotes, CRLF and LF inside quotes; mixed
     * LF / CRLF / lone CR endings; a blank line; no final terminator */
    const char *csv = "\xEF\xBB\xBF"
                      "id,name,address\n"
                      "1,\"Nguyễn, Văn A\",\"12 \"\"Lê Lợi\"\" st\"\r\n"
                      "2,\"two\r\nlines\",\"a\nb\"\n"
                      "\n"
                      "3,  spaced  ,x\r"
                      "4,\"\",\"\"\n"
                      "5,last,no-eol";
    segdb_import_res r = imp(db, NULL, csv);
    counts(&r, 5, 0, 0);
    EXPECT_FIELD(db, 1, "name", "Nguyễn, Văn A");
    EXPECT_FIELD(db, 1, "address", "12 \"Lê Lợi\" st");
    EXPECT_FIELD(db, 2, "name", "two\r\nlines");
    EXPECT_FIELD(db, 2, "address", "a\nb");
    EXPECT_FIELD(db, 3, "name", "  spaced  ");
    EXPECT_FIELD(db, 4, "name", NULL); /* "" is an empty cell: unset */
    EXPECT_FIELD(db, 5, "address", "no-eol");
    segdb_import_res_free(&r);

    /* the lines of that file: 1 header, 2 row 1, 3-4 row 2, 5 blank, 6 row 3,
     * 7 row 4, 8 row 5: a bad row after them says its own line */
    r = imp(db, NULL,
            "id,name\n"
            "1,\"a\r\nb\nc\"\n" /* lines 2-4 */
            "\n"                /* line 5 */
            "x,bad id\n"        /* line 6 */
            "2,\"q\"\"\"\n"     /* line 7 */
            "3,\"unterminated\n");
    counts(&r, 0, 2, 2);
    rejected_at(&r, 0, 6, "invalid id 'x'");
    rejected_at(&r, 1, 8, "unterminated quoted field");
    EXPECT_FIELD(db, 2, "name", "q\"");
    segdb_import_res_free(&r);
    segdb_close(db);
}

Test(import, empty_cells_leave_fields_unset_not_cleared)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL, "id,name,city,tags\n7,An,Huế,a;b\n");
    segdb_import_res_free(&r);
    r = imp(db, NULL, "id,name,city,tags\n7,,,\n7,Bình,,\n");
    counts(&r, 0, 2, 0);
    EXPECT_FIELD(db, 7, "name", "Bình");
    EXPECT_FIELD(db, 7, "city", "Huế");
    EXPECT_FIELD(db, 7, "tags", "a;b");
    segdb_import_res_free(&r);
    segdb_close(db);
}

Test(import, header_names_are_case_insensitive_and_trimmed)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL, " ID , Name ,EMAIL\n9,X,x@y.vn\n");
    counts(&r, 1, 0, 0);
    EXPECT_FIELD(db, 9, "email", "x@y.vn");
    segdb_import_res_free(&r);
    segdb_close(db);
}

/* ---- Vietnamese data ----------------------------------------------------------- */

Test(import, vietnamese_utf8_kept_as_written_and_folded_for_filters)
{
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "nghe_nghiep", "category", &e), 0, "%s", e.msg);
    segdb_import_res r = imp(db, NULL,
                             "id,name,city,address,nghe_nghiep,tags\n"
                             "1,Nguyễn Thị Ánh,Hà Nội,\"Số 5, phố Hàng Đào\",Kỹ sư,Khách VIP\n"
                             "2,Trần Đức Mạnh,ha noi,Đà Nẵng,kỹ sư,khach vip\n"
                             "3,Lê Văn Tám,Hồ Chí Minh,,Giáo viên,\n");
    counts(&r, 3, 0, 0);
    EXPECT_FIELD(db, 1, "name", "Nguyễn Thị Ánh");
    EXPECT_FIELD(db, 1, "address", "Số 5, phố Hàng Đào");
    /* the first spelling seen is the one shown */
    EXPECT_FIELD(db, 2, "city", "Hà Nội");
    EXPECT_FIELD(db, 2, "tags", "Khách VIP");
    EXPECT_FIELD(db, 2, "nghe_nghiep", "Kỹ sư");
    cr_assert_eq(count(db, "city:\"ha noi\""), 2);
    cr_assert_eq(count(db, "q:nguyen"), 1);
    cr_assert_eq(count(db, "tag:\"khach vip\""), 2);
    cr_assert_eq(count(db, "nghe_nghiep:\"ky su\""), 2);
    segdb_import_res_free(&r);
    verify(db);
    segdb_close(db);
}

/* ---- row-level errors ------------------------------------------------------------ */

Test(import, invalid_utf8_rows_rejected_with_line_numbers_others_applied)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL,
                             "id,name,city\n"
                             "1,Good,Huế\n"
                             "2,Bad\xC3(,Huế\n"          /* line 3: truncated sequence */
                             "3,\"multi\nline\",Huế\n"  /* lines 4-5 */
                             "4,ok,\xED\xA0\x80\n"      /* line 6: a surrogate */
                             "5,Over\xC0\xAF,x\n"       /* line 7: overlong */
                             "6,fine,Vinh\n");
    counts(&r, 3, 0, 3);
    rejected_at(&r, 0, 3, "invalid UTF-8 in column 2 (name)");
    rejected_at(&r, 1, 6, "invalid UTF-8 in column 3 (city)");
    rejected_at(&r, 2, 7, "invalid UTF-8 in column 2 (name)");
    EXPECT_FIELD(db, 1, "name", "Good");
    EXPECT_FIELD(db, 2, "name", NULL);
    EXPECT_FIELD(db, 3, "name", "multi\nline");
    EXPECT_FIELD(db, 6, "city", "Vinh");
    segdb_import_res_free(&r);
    segdb_close(db);
}

Test(import, bad_rows_are_rejected_alone_with_upserts_reasons)
{
    segdb_t *db = open_db();
    segdb_err e;
    segdb_import_res r = imp(db, NULL, "id,name\n50,Archived one\n");
    segdb_import_res_free(&r);
    uint64_t ids[] = {50}, changed;
    segdb_target t = {.ids = ids, .nids = 1};
    cr_assert_eq(segdb_archive(db, &t, &changed, &e), 0, "%s", e.msg);
    r = imp(db, NULL,
            "id,name,email,purchases,gender,tags,groups,phone\n"
            "1,A,not-an-email,,,,,\n"          /* 2 */
            "2,B,,abc,,,,\n"                   /* 3 */
            "3,C,,,robot,,,\n"                 /* 4 */
            "4,D,,,,\"a,b\",,\n"               /* 5: tag name with ',' */
            "5,E,,,,,NO_SUCH,\n"               /* 6 */
            "6,F,\n"                           /* 7: 3 cells */
            ",,,,,,,\n"                        /* 8: nothing at all */
            "0,G,,,,,,\n"                      /* 9 */
            "-4,H,,,,,,\n"                     /* 10 */
            "18446744073709551616,I,,,,,,\n"   /* 11 */
            "50,J,,,,,,\n"                     /* 12: archived */
            "7,K,,,,,,no digits\n"             /* 13 */
            "8,L,l@x.vn,3,female,x;y,,0912345678\n");
    counts(&r, 1, 0, 12);
    rejected_at(&r, 0, 2, "invalid email 'not-an-email'");
    rejected_at(&r, 1, 3, "'abc' is not an integer for 'purchases'");
    rejected_at(&r, 2, 4, "'robot' is not a valid gender value; expected one of: male, female, other, unknown");
    rejected_at(&r, 3, 5, "tag name contains ','");
    rejected_at(&r, 4, 6, "unknown group 'NO_SUCH'");
    rejected_at(&r, 5, 7, "3 cells where the header row has 8 columns");
    rejected_at(&r, 6, 8, "every cell of the row is empty");
    rejected_at(&r, 7, 9, "ids start at 1");
    rejected_at(&r, 8, 10, "ids have no sign");
    rejected_at(&r, 9, 11, "larger than 18446744073709551615");
    rejected_at(&r, 10, 12, "contact 50 is archived; UNARCHIVE it");
    rejected_at(&r, 11, 13, "invalid phone 'no digits'");
    EXPECT_FIELD(db, 8, "tags", "x;y");
    EXPECT_FIELD(db, 50, "name", "Archived one");
    cr_assert_eq(count(db, "archived:yes OR NOT archived:yes"), 2);
    segdb_import_res_free(&r);
    verify(db);
    segdb_close(db);
}

Test(import, header_errors_fail_the_whole_chunk_and_apply_nothing)
{
    segdb_t *db = open_db();
    imp_fails(db, NULL, "id,name,colour,shoe\n1,a,red,42\n", SEGDB_EINVAL,
              "unknown columns 'colour', 'shoe' in the header row: create them with FIELD.CREATE");
    imp_fails(db, NULL, "id,name,colour\n1,a,red\n", SEGDB_EINVAL, "FIELD.CREATE colour <kind>");
    imp_fails(db, NULL, "id,name,NAME\n1,a,b\n", SEGDB_EINVAL, "column 'name' appears twice in the header row (columns 2 and 3)");
    imp_fails(db, NULL, "id,bucket\n1,5\n", SEGDB_EINVAL, "column 'bucket' can't be imported");
    imp_fails(db, NULL, "id,archived\n1,yes\n", SEGDB_EINVAL, "ARCHIVE and UNARCHIVE");
    imp_fails(db, NULL, "id,,name\n1,,a\n", SEGDB_EINVAL, "column 2 of the header row is empty");
    imp_fails(db, NULL, "", SEGDB_EINVAL, "empty CSV");
    imp_fails(db, NULL, "\xEF\xBB\xBF\r\n\n", SEGDB_EINVAL, "empty CSV");
    imp_fails(db, NULL, "id,na\xFFme\n1,a\n", SEGDB_EINVAL, "header row (line 1): invalid UTF-8 in column 2");
    imp_fails(db, "email", "id,name\n1,a\n", SEGDB_EINVAL, "MATCH email needs an email column");
    imp_fails(db, "id", "name\na\n", SEGDB_EINVAL, "MATCH id needs an id column");
    imp_fails(db, "phone", "id,name\n1,a\n", SEGDB_EINVAL, "MATCH phone needs a phone column");
    imp_fails(db, "colour", "id\n1\n", SEGDB_EINVAL, "MATCH takes id, identifier, email or phone, not 'colour'");
    cr_assert_eq(count(db, NULL), 0);
    segdb_stats st;
    segdb_get_stats(db, &st);
    cr_assert_eq(st.seq, 0, "nothing was written");
    segdb_close(db);
}

Test(import, too_many_rows_is_a_limit_and_applies_nothing)
{
    segdb_t *db = open_db();
    sbuf b = {0};
    sb_add(&b, "name\n", 5);
    for (unsigned i = 0; i <= SEGDB_MAX_IMPORT_ROWS; i++) sb_add(&b, "x\n", 2);
    segdb_import_res r;
    segdb_err e;
    cr_assert_eq(segdb_import(db, NULL, b.p, b.len, &r, &e), SEGDB_ELIMIT);
    cr_assert(strstr(e.msg, "more than 100000 rows in one IMPORT"), "%s", e.msg);
    cr_assert_eq(count(db, NULL), 0);
    /* exactly the limit is fine */
    b.len -= 2;
    cr_assert_eq(segdb_import(db, NULL, b.p, b.len, &r, &e), 0, "%s", e.msg);
    counts(&r, SEGDB_MAX_IMPORT_ROWS, 0, 0);
    segdb_import_res_free(&r);
    free(b.p);
    segdb_close(db);
}

/* ---- which contact a row writes -------------------------------------------------- */

Test(import, without_id_column_new_contacts_get_max_id_plus_one)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL, "id,name\n100,a\n");
    segdb_import_res_free(&r);
    r = imp(db, NULL, "name,city\nb,Huế\nc\n\"d\"\"\",Vinh\n");
    counts(&r, 2, 0, 1);
    rejected_at(&r, 0, 3, "1 cell where the header row has 2 columns");
    EXPECT_FIELD(db, 101, "name", "b");
    EXPECT_FIELD(db, 102, "name", "d\"");
    segdb_import_res_free(&r);
    /* an empty id cell also gets a new id; ids given in the chunk raise the next one */
    r = imp(db, NULL, "id,name\n,e\n500,f\n,g\n");
    counts(&r, 3, 0, 0);
    EXPECT_FIELD(db, 103, "name", "e");
    EXPECT_FIELD(db, 501, "name", "g");
    segdb_import_res_free(&r);
    segdb_close(db);
}

Test(import, rows_without_id_rejected_once_max_id_is_taken)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL, "id,name\n18446744073709551614,a\n");
    segdb_import_res_free(&r);
    r = imp(db, NULL, "name\nb\nc\n");
    counts(&r, 1, 0, 1);
    EXPECT_FIELD(db, UINT64_MAX, "name", "b");
    rejected_at(&r, 0, 3, "no id left for a new contact");
    segdb_import_res_free(&r);
    r = imp(db, NULL, "id,name\n5,explicit ids still work\n,but not a new one\n");
    counts(&r, 1, 0, 1);
    rejected_at(&r, 0, 3, "no id left");
    segdb_import_res_free(&r);
    segdb_close(db);
}

Test(import, duplicate_ids_in_one_chunk_apply_in_order_later_row_wins)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL,
                             "id,name,city,tags\n"
                             "1,First,Huế,a\n"
                             "1,Second,,b;c\n"
                             "2,Other,,\n"
                             "1,,Vinh,\n");
    counts(&r, 2, 2, 0);
    EXPECT_FIELD(db, 1, "name", "Second");
    EXPECT_FIELD(db, 1, "city", "Vinh");
    EXPECT_FIELD(db, 1, "tags", "b;c");
    cr_assert_eq(count(db, "tag:a"), 0);
    segdb_import_res_free(&r);
    verify(db);
    segdb_close(db);
}

Test(import, match_email_is_case_insensitive_and_dedups_within_the_chunk)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL, "id,email,name\n10,An@Example.com,An\n11,shared@x.vn,S1\n12,shared@x.vn,S2\n");
    segdb_import_res_free(&r);
    r = imp(db, "email",
            "email,city\n"
            "an@example.COM,Huế\n"   /* 2: updates 10 */
            "new@x.vn,Vinh\n"        /* 3: creates 13 */
            "NEW@x.vn,Hà Nội\n"      /* 4: updates 13 (an earlier row created it) */
            "shared@x.vn,Huế\n"      /* 5: two contacts: rejected */
            ",Sa Pa\n");             /* 6: no key: a new contact (14) */
    counts(&r, 2, 2, 1);
    rejected_at(&r, 0, 5, "email 'shared@x.vn' belongs to 2 contacts");
    EXPECT_FIELD(db, 10, "city", "Huế");
    EXPECT_FIELD(db, 10, "email", "an@example.COM");
    EXPECT_FIELD(db, 13, "email", "NEW@x.vn");
    EXPECT_FIELD(db, 13, "city", "Hà Nội");
    EXPECT_FIELD(db, 14, "city", "Sa Pa");
    cr_assert_eq(count(db, NULL), 5);
    segdb_import_res_free(&r);

    /* an id column must agree with the contact the key names */
    r = imp(db, "email",
            "id,email,name\n"
            "10,an@example.com,ok\n"   /* 2 */
            "99,an@example.com,no\n"   /* 3 */
            "11,nobody@x.vn,no\n"      /* 4: id 11 is someone else */
            "12,,no\n"                 /* 5 */
            "200,fresh@x.vn,yes\n"     /* 6: created with id 200 */
            "200,other@x.vn,no\n");    /* 7: 200 was created above */
    counts(&r, 1, 1, 4);
    rejected_at(&r, 0, 3, "email 'an@example.com' belongs to contact 10, but the row's id is 99");
    rejected_at(&r, 1, 4, "no contact has email 'nobody@x.vn', and id 11 already exists: with MATCH email the email picks");
    rejected_at(&r, 2, 5, "the row has no email, and id 12 already exists");
    rejected_at(&r, 3, 7, "no contact has email 'other@x.vn', and id 200 already exists");
    EXPECT_FIELD(db, 10, "name", "ok");
    EXPECT_FIELD(db, 200, "name", "yes");
    segdb_import_res_free(&r);
    verify(db);
    segdb_close(db);
}

Test(import, match_phone_compares_normalized_numbers)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL, "id,phone\n1,0912 345 678\n2,+84 98 765 4321\n");
    segdb_import_res_free(&r);
    r = imp(db, "phone",
            "phone,name\n"
            "+84912345678,Một\n"
            "84987654321,Hai\n"
            "0912.345.678,Một lần nữa\n"
            "0333 444 555,Ba\n"
            "0333444555,Ba bis\n");
    counts(&r, 1, 4, 0);
    EXPECT_FIELD(db, 1, "name", "Một lần nữa");
    EXPECT_FIELD(db, 1, "phone", "0912.345.678");
    EXPECT_FIELD(db, 2, "name", "Hai");
    EXPECT_FIELD(db, 3, "name", "Ba bis");
    cr_assert_eq(count(db, NULL), 3);
    segdb_import_res_free(&r);
    segdb_close(db);
}

Test(import, match_identifier_is_exact_and_unique_within_the_chunk)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL, "id,identifier,name\n1,KH-001,An\n2,KH-002,Bình\n");
    segdb_import_res_free(&r);
    r = imp(db, "identifier",
            "identifier,city\n"
            "KH-001,Huế\n"   /* 2: contact 1 */
            "kh-001,Vinh\n"  /* 3: exact match only: a new contact */
            "KH-003,Hội An\n"
            "KH-003,Đà Lạt\n");
    counts(&r, 2, 2, 0);
    EXPECT_FIELD(db, 1, "city", "Huế");
    EXPECT_FIELD(db, 3, "identifier", "kh-001");
    EXPECT_FIELD(db, 4, "city", "Đà Lạt");
    segdb_import_res_free(&r);

    /* MATCH id: two rows may not give one identifier to two contacts */
    r = imp(db, "id", "id,identifier\n10,KH-010\n11,KH-010\n10,KH-010\n12,KH-002\n");
    counts(&r, 1, 1, 2);
    rejected_at(&r, 0, 3, "identifier 'KH-010' is given to contact 10 by an earlier row");
    rejected_at(&r, 1, 5, "identifier 'KH-002' already belongs to contact 2");
    segdb_import_res_free(&r);
    verify(db);
    segdb_close(db);
}

Test(import, match_id_updates_existing_and_creates_the_rest)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, "id", "id,name\n1,a\n2,b\n");
    counts(&r, 2, 0, 0);
    segdb_import_res_free(&r);
    r = imp(db, "ID", "id,name\n2,B\n3,c\n");
    counts(&r, 1, 1, 0);
    EXPECT_FIELD(db, 2, "name", "B");
    segdb_import_res_free(&r);
    segdb_close(db);
}

Test(import, type_named_is_taken_as_written_otherwise_moves_up)
{
    segdb_t *db = open_db();
    segdb_import_res r = imp(db, NULL, "id,name,type,status\n1,a,visitor,subscribed\n2,b,,\n");
    counts(&r, 2, 0, 0);
    EXPECT_FIELD(db, 1, "type", "visitor");
    EXPECT_FIELD(db, 1, "status", "subscribed");
    EXPECT_FIELD(db, 2, "type", "lead");
    EXPECT_FIELD(db, 2, "status", "never_subscribed");
    segdb_import_res_free(&r);
    segdb_close(db);
}

/* ---- formula escaping ------------------------------------------------------------ */

Test(import, export_escapes_formulas_and_import_reads_them_back)
{
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "handle", "text", &e), 0);
    segdb_import_res r = imp(db, NULL,
                             "id,name,handle,phone,revenue\n"
                             "1,=HYPERLINK(\"http://x\"),@linh.nguyen,+84912345678,-12.5\n"
                             "2,-minus,+plus,0912345678,1e5\n"
                             "3,'=already quoted,'@x,,\n");
    counts(&r, 3, 0, 0);
    const char *fields[] = {"id", "name", "handle", "phone", "revenue"};
    char *csv = export_all(db, fields, 5, NULL, 0, NULL);
    cr_assert_str_eq(csv,
                     "id,name,handle,phone,revenue\r\n"
                     "1,\"'=HYPERLINK(\"\"http://x\"\")\",'@linh.nguyen,+84912345678,-12.5\r\n"
                     "2,'-minus,'+plus,0912345678,100000\r\n"
                     "3,'=already quoted,'@x,,\r\n");
    /* the escaped cells come back as they were */
    segdb_t *db2 = open_db();
    cr_assert_eq(segdb_field_create(db2, "handle", "text", &e), 0);
    r = imp(db2, NULL, csv);
    counts(&r, 3, 0, 0);
    EXPECT_FIELD(db2, 1, "name", "=HYPERLINK(\"http://x\")");
    EXPECT_FIELD(db2, 1, "handle", "@linh.nguyen");
    EXPECT_FIELD(db2, 1, "revenue", "-12.5");
    EXPECT_FIELD(db2, 2, "name", "-minus");
    EXPECT_FIELD(db2, 2, "handle", "+plus");
    /* a cell that is not in the escaped form keeps its quote */
    EXPECT_FIELD(db2, 3, "name", "=already quoted");
    segdb_import_res_free(&r);
    free(csv);
    segdb_close(db2);
    segdb_close(db);
}

/* ---- export ------------------------------------------------------------------------ */

Test(export, default_fields_header_once_tags_joined_first_spelling)
{
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "score", "number", &e), 0);
    segdb_import_res r = imp(db, NULL,
                             "id,name,city,tags,birthday,last_seen,score,relationship\n"
                             "1,Ánh,Hà Nội,vip;Khách mới,1990-02-03,2024-01-02T03:04:05Z,1.5,hot\n"
                             "2,Bảo,HA NOI,khach moi,,,,\n");
    segdb_import_res_free(&r);
    char *csv = export_all(db, NULL, 0, NULL, 1, NULL);
    const char *want =
        "id,identifier,name,email,phone,address,gender,birthday,language,timezone,country,city,channel,source,type,"
        "status,relationship,tags,groups,whatsapp,hmac_verified,created_at,first_seen,last_seen,first_contacted,"
        "last_contacted,web_sessions,purchases,revenue,score\r\n"
        "1,,Ánh,,,,,1990-02-03,,,,Hà Nội,,,lead,never_subscribed,hot,vip;Khách mới,,,,2025-11-24T23:00:00+07:00,,"
        "2024-01-02T10:04:05+07:00,,,,,,1.5\r\n"
        "2,,Bảo,,,,,,,,,Hà Nội,,,lead,never_subscribed,new,Khách mới,,,,2025-11-24T23:00:00+07:00,,,,,,,,\r\n";
    cr_assert_str_eq(csv, want);
    free(csv);
    segdb_close(db);
}

/* EXPORT writes numbers, times and dates itself (fast paths): the same text
 * value.c's formatters give (whole numbers in plain digits), in any zone. */
Test(export, times_dates_and_numbers_match_the_value_formatters)
{
    static const int zones[] = {7 * 3600, 0, -(5 * 3600 + 30 * 60), 14 * 3600};
    static const int64_t times[] = {0, 1, -1, -86400, 59, 86399, 951782400 /* 2000-02-29 */, 4102444800LL,
                                    -62135596800LL /* year 1 */, 253402300799LL /* 9999-12-31T23:59:59Z */,
                                    1700000000, -2208988800LL /* 1900 */};
    static const char *const days[] = {"1970-01-01", "1969-12-31", "2000-02-29", "0001-01-01", "9999-12-31", "1900-03-01"};
    static const double nums[] = {0.0, -0.0, 1.0, -1.0, 452000.0, 1e5, 0.1, 1234.5, -12.25, 1e15, 999999999999999.0,
                                  1e-7, 123456789012345678.0, 3.14159265358979};
    for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
        segdb_options o;
        segdb_options_init(&o);
        o.clock_fn = fixed_clock;
        o.clock_ctx = &g_now;
        o.tz_offset_seconds = zones[z];
        segdb_t *db = segdb_open(&o);
        segdb_err e;
        size_t nt = sizeof times / sizeof *times, nd = sizeof days / sizeof *days, nn = sizeof nums / sizeof *nums;
        for (size_t i = 0; i < nt + nd + nn; i++) {
            char v[64];
            const char *field = i < nt ? "last_seen" : i < nt + nd ? "birthday" : "revenue";
            if (i < nt) value_format_time(times[i], 0, v); /* negative seconds are written as a date */
            else if (i < nt + nd) snprintf(v, sizeof v, "%s", days[i - nt]);
            else snprintf(v, sizeof v, "%.17g", nums[i - nt - nd]);
            segdb_kv kv = {field, v, strlen(v)};
            int created;
            cr_assert_eq(segdb_upsert(db, i + 1, &kv, 1, &created, &e), 0, "%s %s: %s", field, v, e.msg);
        }
        const char *f[] = {"last_seen", "birthday", "revenue"};
        char *csv = export_all(db, f, 3, NULL, 0, NULL);
        char *line = strstr(csv, "\r\n") + 2;
        for (size_t i = 0; i < nt + nd + nn; i++) {
            char want[64], got[128];
            char *end = strstr(line, "\r\n");
            cr_assert_not_null(end);
            snprintf(got, sizeof got, "%.*s", (int)(end - line), line);
            if (i < nt) {
                value_format_time(times[i], zones[z], want);
                cr_assert_str_eq(got, strcat(want, ",,"), "zone %d time %lld", zones[z], (long long)times[i]);
            } else if (i < nt + nd) {
                snprintf(want, sizeof want, ",%s,", days[i - nt]);
                cr_assert_str_eq(got, want);
            } else {
                double d = nums[i - nt - nd];
                cr_assert_eq(strncmp(got, ",,", 2), 0);
                cr_assert(strtod(got + 2, NULL) == d && signbit(strtod(got + 2, NULL)) == signbit(d), "%s for %.17g",
                          got, d);
                if (d == (double)(int64_t)d && fabs(d) < 1e15)
                    cr_assert(strchr(got + 2, 'e') == NULL, "whole numbers in plain digits: %s", got);
            }
            line = end + 2;
        }
        free(csv);
        segdb_close(db);
    }
}

Test(export, fields_filter_and_paging)
{
    segdb_t *db = open_db();
    sbuf b = {0};
    sb_add(&b, "id,name,tags\n", 13);
    for (int i = 1; i <= 250; i++) {
        char line[80];
        int n = snprintf(line, sizeof line, "%d,n%d,%s\n", i, i, i % 3 == 0 ? "three" : i % 5 == 0 ? "five;x" : "");
        sb_add(&b, line, (size_t)n);
    }
    segdb_import_res r = imp(db, NULL, b.p);
    counts(&r, 250, 0, 0);
    segdb_import_res_free(&r);
    free(b.p);

    const char *f[] = {"name", "tags"};
    size_t pages;
    char *csv = export_all(db, f, 2, "tag:three", 7, &pages);
    cr_assert_eq(pages, 12, "83 rows in pages of 7: %zu pages", pages);
    cr_assert(strncmp(csv, "name,tags\r\nn3,three\r\nn6,three\r\n", 31) == 0, "%.60s", csv);
    size_t lines = 0;
    for (const char *p = csv; *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 84);
    cr_assert_eq(strstr(csv + 1, "name,tags"), NULL, "one header");
    free(csv);

    /* a page of exactly the rest says done at once */
    segdb_export_req q = {.filter = "tag:five", .count = 34};
    segdb_export_res er;
    segdb_err e;
    cr_assert_eq(segdb_export(db, &q, &er, &e), 0, "%s", e.msg);
    cr_assert_eq(er.rows, 34);
    cr_assert_eq(er.next_cursor, 0);
    segdb_export_res_free(&er);
    /* a later page has no header; a cursor past the end is an empty, final page */
    q.count = 10;
    q.cursor = 100;
    cr_assert_eq(segdb_export(db, &q, &er, &e), 0);
    cr_assert(strncmp(er.csv, "110,", 4) == 0, "%s", er.csv); /* row 100 is id 101; 105 is tagged three */
    segdb_export_res_free(&er);
    q.cursor = 1000000;
    cr_assert_eq(segdb_export(db, &q, &er, &e), 0);
    cr_assert_eq(er.len, 0);
    cr_assert_eq(er.next_cursor, 0);
    segdb_export_res_free(&er);

    /* errors */
    const char *bad[] = {"name", "colour"};
    q = (segdb_export_req){.fields = bad, .nfields = 2};
    cr_assert_eq(segdb_export(db, &q, &er, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "unknown field 'colour' in FIELDS"), "%s", e.msg);
    q = (segdb_export_req){.count = SEGDB_MAX_EXPORT_COUNT + 1};
    cr_assert_eq(segdb_export(db, &q, &er, &e), SEGDB_ELIMIT);
    q = (segdb_export_req){.filter = "tag:(three"};
    cr_assert_eq(segdb_export(db, &q, &er, &e), SEGDB_EINVAL);
    segdb_close(db);
}

Test(export, archived_excluded_unless_the_filter_names_it)
{
    segdb_t *db = open_db();
    segdb_err e;
    segdb_import_res r = imp(db, NULL, "id,name\n1,a\n2,b\n");
    segdb_import_res_free(&r);
    uint64_t ids[] = {2}, ch;
    segdb_target t = {.ids = ids, .nids = 1};
    cr_assert_eq(segdb_archive(db, &t, &ch, &e), 0);
    const char *f[] = {"id", "archived", "bucket"};
    char *b1 = get(db, 1, "bucket"), *b2 = get(db, 2, "bucket"), want[128];
    char *csv = export_all(db, f, 3, NULL, 0, NULL);
    snprintf(want, sizeof want, "id,archived,bucket\r\n1,no,%s\r\n", b1);
    cr_assert_str_eq(csv, want);
    free(csv);
    csv = export_all(db, f, 3, "archived:yes", 0, NULL);
    snprintf(want, sizeof want, "id,archived,bucket\r\n2,yes,%s\r\n", b2);
    cr_assert_str_eq(csv, want);
    free(csv);
    free(b1);
    free(b2);
    segdb_close(db);
}

Test(export, pages_stay_stable_while_writes_happen)
{
    segdb_t *db = open_db();
    sbuf b = {0};
    sb_add(&b, "id,name\n", 8);
    for (int i = 1; i <= 3000; i++) {
        char line[40];
        int n = snprintf(line, sizeof line, "%d,n%d\n", i * 2, i);
        sb_add(&b, line, (size_t)n);
    }
    segdb_import_res r = imp(db, NULL, b.p);
    segdb_import_res_free(&r);
    free(b.p);
    const char *f[] = {"id"};
    segdb_export_req q = {.fields = f, .nfields = 1, .count = 100};
    unsigned char *seen = calloc(20000, 1);
    uint64_t round = 0;
    segdb_err e;
    do {
        segdb_export_res er;
        cr_assert_eq(segdb_export(db, &q, &er, &e), 0, "%s", e.msg);
        for (char *p = er.csv; *p;) {
            char *nl = strchr(p, '\n');
            if (*p >= '0' && *p <= '9') {
                unsigned long id = strtoul(p, NULL, 10);
                cr_assert_lt(id, 20000);
                seen[id]++;
            }
            p = nl + 1;
        }
        q.cursor = er.next_cursor;
        segdb_export_res_free(&er);
        /* between pages: new contacts (odd ids), updates, deletes of not yet seen ones */
        round++;
        char line[64];
        snprintf(line, sizeof line, "id,name\n%llu,new\n%llu,upd\n", (unsigned long long)(round * 2 + 1),
                 (unsigned long long)(6000 - round * 2));
        r = imp(db, NULL, line);
        segdb_import_res_free(&r);
        uint64_t del = 5000 + round * 2;
        if (del % 4 == 0) {
            uint64_t d;
            cr_assert_eq(segdb_del(db, &del, 1, &d, &e), 0);
        }
    } while (q.cursor);
    for (uint64_t id = 2; id <= 6000; id += 2) {
        bool deleted = id >= 5002 && id % 4 == 0 && id <= 5000 + round * 2;
        if (!deleted) cr_assert_eq(seen[id], 1, "id %llu seen %u times", (unsigned long long)id, seen[id]);
        else cr_assert_leq(seen[id], 1);
    }
    for (uint64_t id = 1; id < 20000; id += 2) cr_assert_leq(seen[id], 1);
    free(seen);
    segdb_close(db);
}

/* ---- the record --------------------------------------------------------------------- */

Test(import, one_record_per_chunk_and_replay_equals_the_live_apply)
{
    logcap lc = {0};
    segdb_t *db = open_db_log(&lc);
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "diem", "integer", &e), 0);
    char *code = NULL;
    cr_assert_eq(segdb_group_create(db, "Khách VIP", NULL, &code, &e), 0, "%s", e.msg);
    free(code);
    size_t before = lc.n;
    segdb_import_res r = imp(db, NULL,
                             "id,identifier,name,email,city,tags,groups,diem,last_contacted,created_at\n"
                             "1,KH1,Nguyễn Văn A,a@x.vn,Hà Nội,vip;mới,KHACH_VIP,10,-3d,\n"
                             "2,KH2,Trần B,,ha noi,,,x,,\n"              /* rejected: diem */
                             "3,KH1,Lê C,,,,,,,\n"                         /* rejected: KH1 is 1's */
                             "1,,,,Huế,cũ,,11,,2020-01-01\n"
                             ",,Mới,new@x.vn,,,,,now,\n");
    counts(&r, 2, 1, 2);
    segdb_import_res_free(&r);
    cr_assert_eq(lc.n, before + 1, "one record for the chunk");
    cr_assert_eq(((unsigned char *)lc.buf[before])[0], 19, "REC_IMPORT");
    /* a chunk whose rows are all rejected writes nothing */
    r = imp(db, NULL, "id,diem\n5,x\n");
    counts(&r, 0, 0, 1);
    segdb_import_res_free(&r);
    cr_assert_eq(lc.n, before + 1);

    /* replay at another clock into a fresh database: equal, field by field */
    int64_t saved = g_now;
    g_now += 86400 * 10;
    segdb_t *db2 = open_db();
    for (size_t i = 0; i < lc.n; i++)
        cr_assert_eq(segdb_apply_record(db2, i + 1, lc.buf[i], lc.len[i], &e), 0, "record %zu: %s", i, e.msg);
    g_now = saved;
    char *a = export_all(db, NULL, 0, NULL, 0, NULL);
    char *b2 = export_all(db2, NULL, 0, NULL, 0, NULL);
    cr_assert_str_eq(a, b2);
    cr_assert(strstr(a, "1,KH1,Nguyễn Văn A,a@x.vn,,,,,,,,Huế,,,lead,never_subscribed,new,cũ,KHACH_VIP,,,"
                        "2020-01-01T00:00:00+07:00,,,,2025-11-21T23:00:00+07:00,,,,11\r\n"),
              "%s", a);
    /* rows 2 and 3 were rejected: the new contact gets max(id) + 1 = 2 */
    cr_assert(strstr(a, "\r\n2,,Mới,new@x.vn"), "%s", a);
    const char *fl[] = {"id", "groups"};
    free(a);
    free(b2);
    a = export_all(db, fl, 2, NULL, 0, NULL);
    b2 = export_all(db2, fl, 2, NULL, 0, NULL);
    cr_assert_str_eq(a, b2);
    free(a);
    free(b2);
    segdb_stats s1, s2;
    segdb_get_stats(db, &s1);
    segdb_get_stats(db2, &s2);
    cr_assert_eq(s1.seq, s2.seq);
    verify(db2);

    /* the record refuses to apply where a row no longer passes, and applies nothing */
    segdb_t *db3 = open_db();
    for (size_t i = 0; i < before; i++) cr_assert_eq(segdb_apply_record(db3, i + 1, lc.buf[i], lc.len[i], &e), 0);
    r = imp(db3, NULL, "id,name\n1,already here\n");
    segdb_import_res_free(&r);
    uint64_t ids[] = {1}, ch;
    segdb_target t = {.ids = ids, .nids = 1};
    cr_assert_eq(segdb_archive(db3, &t, &ch, &e), 0);
    uint64_t n3 = count(db3, "archived:yes OR NOT archived:yes");
    cr_assert_eq(segdb_apply_record(db3, 99, lc.buf[before], lc.len[before], &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "import record, row 1: contact 1 is archived"), "%s", e.msg);
    cr_assert_eq(count(db3, "archived:yes OR NOT archived:yes"), n3, "nothing applied");
    /* malformed bytes: cut anywhere, or one byte more */
    for (size_t cut = 0; cut < lc.len[before]; cut += 7)
        cr_assert_eq(segdb_apply_record(db3, 99, lc.buf[before], cut, &e), SEGDB_EINVAL, "cut at %zu", cut);
    unsigned char *longer = malloc(lc.len[before] + 1);
    memcpy(longer, lc.buf[before], lc.len[before]);
    longer[lc.len[before]] = 0;
    cr_assert_eq(segdb_apply_record(db3, 99, longer, lc.len[before] + 1, &e), SEGDB_EINVAL);
    free(longer);
    segdb_close(db3);
    segdb_close(db2);
    segdb_close(db);
    logcap_free(&lc);
}

/* ---- round trip -------------------------------------------------------------------- */

/* Values of every field of one contact as GET gives them, tags sorted. */
static char *fingerprint(segdb_t *db, uint64_t id)
{
    segdb_strvec sv;
    segdb_err e;
    cr_assert_eq(segdb_get(db, id, NULL, 0, &sv, &e), 1, "contact %llu", (unsigned long long)id);
    sbuf b = {0};
    for (size_t i = 0; i + 1 < sv.n; i += 2) {
        sb_add(&b, sv.v[i], sv.len[i]);
        sb_add(&b, "=", 1);
        if (strcmp(sv.v[i], "tags") == 0) {
            /* a set: compare sorted */
            char *parts[GEN_MAX_TAGS + 2];
            size_t np = 0;
            char *copy = strdup(sv.v[i + 1]);
            for (char *tok = strtok(copy, ";"); tok && np < GEN_MAX_TAGS + 2; tok = strtok(NULL, ";")) parts[np++] = tok;
            for (size_t x = 1; x < np; x++)
                for (size_t y = x; y > 0 && strcmp(parts[y - 1], parts[y]) > 0; y--) {
                    char *t = parts[y];
                    parts[y] = parts[y - 1];
                    parts[y - 1] = t;
                }
            for (size_t x = 0; x < np; x++) {
                if (x) sb_add(&b, ";", 1);
                sb_add(&b, parts[x], strlen(parts[x]));
            }
            free(copy);
        } else {
            sb_add(&b, sv.v[i + 1], sv.len[i + 1]);
        }
        sb_add(&b, "\n", 1);
    }
    segdb_strvec_free(&sv);
    return b.p;
}

/* Records of an export, split into chunks of up to rows rows, each with the header. */
static void import_in_chunks(segdb_t *db, const char *csv, size_t rows_per_chunk, uint64_t *created)
{
    const char *hdr_end = strstr(csv, "\r\n") + 2;
    size_t hl = (size_t)(hdr_end - csv);
    const char *p = hdr_end;
    sbuf chunk = {0};
    *created = 0;
    while (*p) {
        chunk.len = 0;
        sb_add(&chunk, csv, hl);
        size_t rows = 0;
        const char *q = p;
        while (*q && rows < rows_per_chunk) {
            bool inq = false;
            while (*q && (inq || *q != '\n')) {
                if (*q == '"') inq = !inq;
                q++;
            }
            if (*q) q++;
            rows++;
        }
        sb_add(&chunk, p, (size_t)(q - p));
        p = q;
        segdb_import_res r;
        segdb_err e;
        cr_assert_eq(segdb_import(db, NULL, chunk.p, chunk.len, &r, &e), 0, "%s", e.msg);
        cr_assert_eq(r.rejected, 0, "line %llu: %s", r.n ? (unsigned long long)r.lines[0] : 0ULL,
                     r.n ? r.reasons[0] : "");
        *created += r.created;
        segdb_import_res_free(&r);
    }
    free(chunk.p);
}

Test(import, export_import_round_trip_of_100k_generated_contacts, .timeout = 600)
{
    const uint64_t N = 100000;
    segdb_t *db = open_db();
    gen_contact_t g;
    segdb_err e;
    for (uint64_t i = 0; i < N; i++) {
        gen_contact(7, i, &g);
        int created;
        cr_assert_eq(segdb_upsert(db, g.id, g.kv, g.nkv, &created, &e), 0, "%s", e.msg);
    }
    /* a few values that exercise quoting and escaping */
    const char *oname = "=SUM(A1), \"the\" boss", *oaddr = "line 1\r\nline 2";
    segdb_kv odd[] = {{"name", oname, strlen(oname)}, {"address", oaddr, strlen(oaddr)}};
    int created;
    cr_assert_eq(segdb_upsert(db, GEN_FIRST_ID + 5, odd, 2, &created, &e), 0, "%s", e.msg);

    size_t pages;
    char *csv = export_all(db, NULL, 0, NULL, 7000, &pages);
    cr_assert_eq(pages, (N + 6999) / 7000);
    segdb_t *db2 = open_db();
    uint64_t made;
    import_in_chunks(db2, csv, 5000, &made);
    cr_assert_eq(made, N);
    cr_assert_eq(count(db2, NULL), N);
    for (uint64_t i = 0; i < N; i++) {
        char *a = fingerprint(db, GEN_FIRST_ID + i), *b = fingerprint(db2, GEN_FIRST_ID + i);
        cr_assert_str_eq(a, b, "contact %llu differs", (unsigned long long)(GEN_FIRST_ID + i));
        free(a);
        free(b);
    }
    /* and the second export is byte for byte the first */
    char *csv2 = export_all(db2, NULL, 0, NULL, 10000, NULL);
    cr_assert(strcmp(csv, csv2) == 0, "exports differ");
    free(csv);
    free(csv2);
    verify(db2);
    segdb_close(db2);
    segdb_close(db);
}

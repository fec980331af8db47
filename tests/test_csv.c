/*
 * test_csv.c — Criterion suite `csv`: the streaming CSV reader and the writer
 * of engine/csv.c.
 *
 * Every reader test goes through parse(), which copies each chunk into its
 * own exact-size heap block freed right after csv_reader_feed(), so
 * AddressSanitizer catches a reader that keeps pointers into old chunks or
 * reads past one. Chunk-split invariance is checked by re-parsing the same
 * input cut at every position, byte by byte, and at random sizes, and
 * comparing everything the callback saw (fields, line, error, reason, raw).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* ---- collecting records ---------------------------------------------------- */

typedef struct rec_copy {
    size_t n;
    char **f;
    size_t *len;
    uint64_t line;
    csv_rec_error error;
    char *reason;
    char *raw;
    size_t raw_len;
    bool raw_truncated;
} rec_copy;

typedef struct coll {
    rec_copy *v;
    size_t n, cap;
    size_t stop_at;     /* when > 0: return stop_code on the stop_at-th record */
    int stop_code;
} coll;

static char *dupmem(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    cr_assert_not_null(p);
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

static int collect(void *ctx, const csv_record *rec, segdb_err *err)
{
    coll *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        cr_assert_not_null(c->v);
    }
    rec_copy *o = &c->v[c->n++];
    memset(o, 0, sizeof *o);
    o->n = rec->nfields;
    o->line = rec->line;
    o->error = rec->error;
    o->reason = rec->reason ? dupmem(rec->reason, strlen(rec->reason)) : NULL;
    o->raw = dupmem(rec->raw, rec->raw_len);
    o->raw_len = rec->raw_len;
    o->raw_truncated = rec->raw_truncated;
    if (rec->error == CSV_REC_OK)
        cr_assert(rec->nfields >= 1 && rec->reason == NULL);
    else
        cr_assert(rec->nfields == 0 && rec->reason != NULL);
    o->f = calloc(o->n + 1, sizeof *o->f);
    o->len = calloc(o->n + 1, sizeof *o->len);
    for (size_t i = 0; i < o->n; i++) {
        o->f[i] = dupmem(rec->field[i], rec->len[i]);
        o->len[i] = rec->len[i];
    }
    if (c->stop_at && c->n == c->stop_at) {
        if (err) {
            err->code = c->stop_code;
            snprintf(err->msg, sizeof err->msg, "stopped by test");
        }
        return c->stop_code;
    }
    return 0;
}

static void coll_free(coll *c)
{
    for (size_t i = 0; i < c->n; i++) {
        rec_copy *o = &c->v[i];
        for (size_t k = 0; k < o->n; k++)
            free(o->f[k]);
        free(o->f);
        free(o->len);
        free(o->reason);
        free(o->raw);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Parse in[0..len) cut before each offset in cuts[] (ascending); returns the
 * records. opts may be NULL. */
static coll parse_cuts(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                       const csv_options *opts)
{
    coll c = {0};
    csv_reader *r = csv_reader_create(opts);
    cr_assert_not_null(r);
    segdb_err err = {0};
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        cr_assert(to >= at && to <= len);
        char *chunk = malloc(to - at + 1);
        cr_assert_not_null(chunk);
        memcpy(chunk, in + at, to - at);
        int rc = csv_reader_feed(r, chunk, to - at, collect, &c, &err);
        free(chunk);
        cr_assert_eq(rc, 0, "feed failed: %s", err.msg);
        at = to;
    }
    cr_assert_eq(csv_reader_finish(r, collect, &c, &err), 0, "finish failed: %s", err.msg);
    csv_reader_free(r);
    return c;
}

static coll parse(const char *in, size_t len)
{
    return parse_cuts(in, len, NULL, 0, NULL);
}

static coll parse_s(const char *in)
{
    return parse(in, strlen(in));
}

static coll parse_step(const char *in, size_t len, size_t step, const csv_options *opts)
{
    size_t n = len / step + 1, k = 0;
    size_t *cuts = malloc(n * sizeof *cuts);
    for (size_t at = step; at < len; at += step)
        cuts[k++] = at;
    coll c = parse_cuts(in, len, cuts, k, opts);
    free(cuts);
    return c;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    uint64_t x = rng_state; /* xorshift64*: deterministic across runs */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Fail with a description unless a and b hold the same records. */
static void assert_same(const coll *a, const coll *b, const char *what)
{
    cr_assert_eq(a->n, b->n, "%s: %zu records vs %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const rec_copy *x = &a->v[i], *y = &b->v[i];
        cr_assert_eq(x->line, y->line, "%s: record %zu line %llu vs %llu", what, i,
                     (unsigned long long)x->line, (unsigned long long)y->line);
        cr_assert_eq(x->error, y->error, "%s: record %zu error %d vs %d", what, i, x->error,
                     y->error);
        cr_assert_eq(!x->reason, !y->reason, "%s: record %zu reason presence", what, i);
        if (x->reason)
            cr_assert_str_eq(x->reason, y->reason, "%s: record %zu reason", what, i);
        cr_assert_eq(x->raw_len, y->raw_len, "%s: record %zu raw length", what, i);
        cr_assert(memcmp(x->raw, y->raw, x->raw_len) == 0, "%s: record %zu raw bytes", what, i);
        cr_assert_eq(x->raw_truncated, y->raw_truncated, "%s: record %zu truncation", what, i);
        cr_assert_eq(x->n, y->n, "%s: record %zu has %zu vs %zu fields", what, i, x->n, y->n);
        for (size_t k = 0; k < x->n; k++) {
            cr_assert_eq(x->len[k], y->len[k], "%s: record %zu field %zu length", what, i, k);
            cr_assert(memcmp(x->f[k], y->f[k], x->len[k]) == 0, "%s: record %zu field %zu", what,
                      i, k);
        }
    }
}

/* Record i is OK, starts on `line` and has exactly the n NUL-free fields given. */
static void expect_rec(const coll *c, size_t i, uint64_t line, size_t n, ...)
{
    cr_assert(i < c->n, "record %zu missing (only %zu)", i, c->n);
    const rec_copy *o = &c->v[i];
    cr_assert_eq(o->error, CSV_REC_OK, "record %zu: unexpected error '%s'", i,
                 o->reason ? o->reason : "");
    cr_assert_eq(o->line, line, "record %zu: line %llu, expected %llu", i,
                 (unsigned long long)o->line, (unsigned long long)line);
    cr_assert_eq(o->n, n, "record %zu: %zu fields, expected %zu", i, o->n, n);
    va_list ap;
    va_start(ap, n);
    for (size_t k = 0; k < n; k++) {
        const char *want = va_arg(ap, const char *);
        cr_assert_eq(o->len[k], strlen(want), "record %zu field %zu: length %zu, expected %zu",
                     i, k, o->len[k], strlen(want));
        cr_assert(memcmp(o->f[k], want, o->len[k]) == 0, "record %zu field %zu: '%s' != '%s'", i,
                  k, o->f[k], want);
    }
    va_end(ap);
}

static void expect_err(const coll *c, size_t i, uint64_t line, csv_rec_error e, const char *reason)
{
    cr_assert(i < c->n, "record %zu missing (only %zu)", i, c->n);
    const rec_copy *o = &c->v[i];
    cr_assert_eq(o->error, e, "record %zu: error %d, expected %d (%s)", i, o->error, e,
                 o->reason ? o->reason : "no reason");
    cr_assert_eq(o->line, line, "record %zu: line %llu, expected %llu", i,
                 (unsigned long long)o->line, (unsigned long long)line);
    cr_assert_str_eq(o->reason, reason);
}

/* Every way of cutting `in` gives the records of the one-shot parse. */
static void check_split_invariance(const char *in, size_t len, const csv_options *opts)
{
    coll whole = parse_cuts(in, len, NULL, 0, opts);
    char what[96];
    for (size_t cut = 0; cut <= len; cut++) {
        coll c = parse_cuts(in, len, &cut, 1, opts);
        snprintf(what, sizeof what, "cut at %zu", cut);
        assert_same(&whole, &c, what);
        coll_free(&c);
    }
    coll bytes = parse_step(in, len, 1, opts);
    assert_same(&whole, &bytes, "1-byte chunks");
    coll_free(&bytes);
    for (int round = 0; round < 200; round++) {
        size_t cuts[64], k = 0, at = 0;
        while (k < 64) {
            at += 1 + rng() % 17;
            if (at >= len)
                break;
            cuts[k++] = at;
        }
        coll c = parse_cuts(in, len, cuts, k, opts);
        snprintf(what, sizeof what, "random chunks, round %d", round);
        assert_same(&whole, &c, what);
        coll_free(&c);
    }
    coll_free(&whole);
}

/* ---- RFC 4180 ----------------------------------------------------------------- */

Test(csv, rfc4180_simple_records_with_crlf)
{
    coll c = parse_s("aaa,bbb,ccc\r\nzzz,yyy,xxx\r\n");
    cr_assert_eq(c.n, 2);
    expect_rec(&c, 0, 1, 3, "aaa", "bbb", "ccc");
    expect_rec(&c, 1, 2, 3, "zzz", "yyy", "xxx");
    coll_free(&c);
}

Test(csv, rfc4180_last_record_without_terminator_flushed_by_finish)
{
    coll c = parse_s("aaa,bbb,ccc\r\nzzz,yyy,xxx");
    cr_assert_eq(c.n, 2);
    expect_rec(&c, 1, 2, 3, "zzz", "yyy", "xxx");
    coll_free(&c);
}

Test(csv, rfc4180_quoted_fields_with_comma_newline_and_doubled_quote)
{
    coll c = parse_s("\"aaa\",\"b\r\nbb\",\"ccc\"\r\nzzz,yyy,xxx\r\n"
                     "\"aaa\",\"b\"\"bb\",\"ccc\"\r\n\"x,y\",\"\",z\r\n");
    cr_assert_eq(c.n, 4);
    expect_rec(&c, 0, 1, 3, "aaa", "b\r\nbb", "ccc");
    expect_rec(&c, 1, 3, 3, "zzz", "yyy", "xxx");
    expect_rec(&c, 2, 4, 3, "aaa", "b\"bb", "ccc");
    expect_rec(&c, 3, 5, 3, "x,y", "", "z");
    coll_free(&c);
}

Test(csv, lf_crlf_and_lone_cr_all_end_records)
{
    coll c = parse_s("a,b\nc,d\r\ne,f\rg,h");
    cr_assert_eq(c.n, 4);
    expect_rec(&c, 0, 1, 2, "a", "b");
    expect_rec(&c, 1, 2, 2, "c", "d");
    expect_rec(&c, 2, 3, 2, "e", "f");
    expect_rec(&c, 3, 4, 2, "g", "h");
    coll_free(&c);
}

Test(csv, embedded_lf_crlf_and_cr_kept_inside_quotes)
{
    coll c = parse_s("\"1\n2\",\"3\r\n4\",\"5\r6\"\nnext\n");
    cr_assert_eq(c.n, 2);
    expect_rec(&c, 0, 1, 3, "1\n2", "3\r\n4", "5\r6");
    expect_rec(&c, 1, 5, 1, "next");
    coll_free(&c);
}

Test(csv, only_doubled_quotes_and_quoted_empty_field)
{
    coll c = parse_s("\"\"\"\"\"\",\"\"\n\"\"\n");
    cr_assert_eq(c.n, 2);
    expect_rec(&c, 0, 1, 2, "\"\"", "");
    expect_rec(&c, 1, 2, 1, ""); /* "" alone is a record of one empty field, not a blank line */
    coll_free(&c);
}

/* ---- BOM, empty cells, blank lines ----------------------------------------------- */

Test(csv, bom_at_start_is_skipped)
{
    coll c = parse_s("\xEF\xBB\xBFid,name\n1,An\n");
    cr_assert_eq(c.n, 2);
    expect_rec(&c, 0, 1, 2, "id", "name");
    cr_assert_eq(c.v[0].raw_len, 7, "raw excludes the BOM");
    expect_rec(&c, 1, 2, 2, "1", "An");
    coll_free(&c);
}

Test(csv, bom_split_over_three_chunks_is_skipped)
{
    const char *in = "\xEF\xBB\xBFid\n";
    size_t cuts[] = {1, 2};
    coll c = parse_cuts(in, strlen(in), cuts, 2, NULL);
    cr_assert_eq(c.n, 1);
    expect_rec(&c, 0, 1, 1, "id");
    coll_free(&c);
}

Test(csv, bom_before_quoted_header_is_skipped)
{
    coll c = parse_s("\xEF\xBB\xBF\"id\",x\n");
    expect_rec(&c, 0, 1, 2, "id", "x");
    coll_free(&c);
}

Test(csv, bom_not_at_start_is_data)
{
    coll c = parse_s("a\n\xEF\xBB\xBF" "b\n");
    cr_assert_eq(c.n, 2);
    expect_rec(&c, 1, 2, 1, "\xEF\xBB\xBF" "b");
    coll_free(&c);
}

Test(csv, partial_bom_prefix_is_data_and_invalid_utf8)
{
    coll c = parse_s("\xEF\xBBx,y\nok\n");
    cr_assert_eq(c.n, 2);
    expect_err(&c, 0, 1, CSV_REC_BAD_UTF8, "invalid UTF-8 in column 1");
    expect_rec(&c, 1, 2, 1, "ok");
    coll_free(&c);

    coll d = parse("\xEF", 1); /* input ends inside a possible BOM */
    cr_assert_eq(d.n, 1);
    expect_err(&d, 0, 1, CSV_REC_BAD_UTF8, "invalid UTF-8 in column 1");
    coll_free(&d);
}

Test(csv, bom_alone_gives_no_records)
{
    coll c = parse_s("\xEF\xBB\xBF");
    cr_assert_eq(c.n, 0);
    coll_free(&c);
}

Test(csv, empty_cells_are_empty_fields)
{
    coll c = parse_s(",,\na,,b,\n,\n");
    cr_assert_eq(c.n, 3);
    expect_rec(&c, 0, 1, 3, "", "", "");
    expect_rec(&c, 1, 2, 4, "a", "", "b", "");
    expect_rec(&c, 2, 3, 2, "", "");
    coll_free(&c);
}

Test(csv, blank_lines_skipped_but_counted)
{
    coll c = parse_s("\nh1,h2\n\r\n\r\na,b\n\n\rc,d\n\n");
    cr_assert_eq(c.n, 3);
    expect_rec(&c, 0, 2, 2, "h1", "h2");
    expect_rec(&c, 1, 5, 2, "a", "b");
    expect_rec(&c, 2, 8, 2, "c", "d");
    coll_free(&c);
}

Test(csv, whitespace_only_line_is_a_record_not_blank)
{
    coll c = parse_s("a\n \nb\n");
    cr_assert_eq(c.n, 3);
    expect_rec(&c, 1, 2, 1, " ");
    coll_free(&c);
}

Test(csv, empty_input_gives_no_records)
{
    coll c = parse("", 0);
    cr_assert_eq(c.n, 0);
    coll_free(&c);
}

/* ---- leniency and record errors ---------------------------------------------------- */

Test(csv, quote_inside_unquoted_field_is_kept_literally)
{
    coll c = parse_s("ab\"c,12\" screen, \"x\"\nd\"\"e\n");
    cr_assert_eq(c.n, 2);
    expect_rec(&c, 0, 1, 3, "ab\"c", "12\" screen", " \"x\"");
    expect_rec(&c, 1, 2, 1, "d\"\"e");
    coll_free(&c);
}

Test(csv, text_after_closing_quote_rejects_record_with_line)
{
    coll c = parse_s("id,name\n1,\"abc\"def,x\n2,ok\n");
    cr_assert_eq(c.n, 3);
    expect_err(&c, 1, 2, CSV_REC_AFTER_QUOTE, "unexpected character after closing quote at line 2");
    cr_assert_eq(c.v[1].raw_len, strlen("1,\"abc\"def,x"));
    cr_assert(memcmp(c.v[1].raw, "1,\"abc\"def,x", c.v[1].raw_len) == 0);
    expect_rec(&c, 2, 3, 2, "2", "ok");
    coll_free(&c);
}

Test(csv, text_after_closing_quote_on_later_line_of_multiline_record)
{
    /* the bad character is on line 3; the record starts on line 2 and its
     * later quoted field still hides a newline, so the next record is on 5 */
    coll c = parse_s("h\n1,\"a\nb\"x,\"c\nd\"\n2\n");
    cr_assert_eq(c.n, 3);
    expect_err(&c, 1, 2, CSV_REC_AFTER_QUOTE, "unexpected character after closing quote at line 3");
    expect_rec(&c, 2, 5, 1, "2");
    coll_free(&c);
}

Test(csv, space_after_closing_quote_is_rejected)
{
    coll c = parse_s("\"a\" ,b\n");
    expect_err(&c, 0, 1, CSV_REC_AFTER_QUOTE, "unexpected character after closing quote at line 1");
    coll_free(&c);
}

Test(csv, unterminated_quote_at_eof_reports_start_line)
{
    coll c = parse_s("id,note\n1,ok\n2,\"never\nclosed,\n3,x\n");
    cr_assert_eq(c.n, 3);
    expect_rec(&c, 1, 2, 2, "1", "ok");
    expect_err(&c, 2, 3, CSV_REC_UNTERMINATED, "unterminated quoted field starting at line 3");
    const char *raw = "2,\"never\nclosed,\n3,x\n";
    cr_assert_eq(c.v[2].raw_len, strlen(raw));
    cr_assert(memcmp(c.v[2].raw, raw, strlen(raw)) == 0);
    coll_free(&c);
}

Test(csv, unterminated_quote_on_a_later_field_names_its_own_line)
{
    coll c = parse_s("a,\"b\nc\",\"d\n");
    cr_assert_eq(c.n, 1);
    expect_err(&c, 0, 1, CSV_REC_UNTERMINATED, "unterminated quoted field starting at line 2");
    coll_free(&c);
}

Test(csv, closing_quote_at_eof_ends_field)
{
    coll c = parse_s("a,\"b\"");
    expect_rec(&c, 0, 1, 2, "a", "b");
    coll_free(&c);
}

Test(csv, trailing_delimiter_at_eof_gives_empty_last_field)
{
    coll c = parse_s("a,");
    expect_rec(&c, 0, 1, 2, "a", "");
    coll_free(&c);
}

Test(csv, record_over_max_size_rejected_and_next_parsed)
{
    csv_options o;
    csv_options_init(&o);
    o.max_record_bytes = 10;
    const char *in = "0123456789\n0123456789A,b\n\"quoted, long\nover lines\",x\nok\n";
    coll c = parse_cuts(in, strlen(in), NULL, 0, &o);
    cr_assert_eq(c.n, 4);
    expect_rec(&c, 0, 1, 1, "0123456789"); /* exactly the limit is fine */
    expect_err(&c, 1, 2, CSV_REC_TOO_LONG, "record longer than the maximum of 10 bytes");
    cr_assert(c.v[1].raw_truncated);
    cr_assert_eq(c.v[1].raw_len, 10);
    cr_assert(memcmp(c.v[1].raw, "0123456789", 10) == 0);
    expect_err(&c, 2, 3, CSV_REC_TOO_LONG, "record longer than the maximum of 10 bytes");
    expect_rec(&c, 3, 5, 1, "ok");
    coll_free(&c);
    check_split_invariance(in, strlen(in), &o);
}

Test(csv, unterminated_quote_wins_over_record_too_long)
{
    csv_options o = {.max_record_bytes = 4};
    const char *in = "a\n\"bcdefgh\nij";
    coll c = parse_cuts(in, strlen(in), NULL, 0, &o);
    cr_assert_eq(c.n, 2);
    expect_err(&c, 1, 2, CSV_REC_UNTERMINATED, "unterminated quoted field starting at line 2");
    cr_assert(c.v[1].raw_truncated);
    cr_assert_eq(c.v[1].raw_len, 4);
    coll_free(&c);
}

Test(csv, many_fields_past_limit_are_not_kept)
{
    csv_options o = {.max_record_bytes = 1000};
    size_t n = 100000;
    char *in = malloc(n + 4);
    memset(in, ',', n);
    memcpy(in + n, "\nz\n", 3);
    coll c = parse_cuts(in, n + 3, NULL, 0, &o);
    cr_assert_eq(c.n, 2);
    expect_err(&c, 0, 1, CSV_REC_TOO_LONG, "record longer than the maximum of 1000 bytes");
    expect_rec(&c, 1, 2, 1, "z");
    coll_free(&c);
    free(in);
}

/* ---- line numbers ------------------------------------------------------------------- */

Test(csv, line_numbers_count_physical_lines_of_multiline_fields)
{
    const char *in = "id,note\n"                    /* 1 */
                     "1,\"line a\nline b\nline c\"\n" /* 2-4 */
                     "2,\"x\r\ny\"\r\n"              /* 5-6 */
                     "\n"                            /* 7 blank */
                     "3,\"p\rq\"\n"                  /* 8-9 (lone CR inside quotes) */
                     "4,plain\n";                    /* 10 */
    coll c = parse_s(in);
    cr_assert_eq(c.n, 5);
    expect_rec(&c, 0, 1, 2, "id", "note");
    expect_rec(&c, 1, 2, 2, "1", "line a\nline b\nline c");
    expect_rec(&c, 2, 5, 2, "2", "x\r\ny");
    expect_rec(&c, 3, 8, 2, "3", "p\rq");
    expect_rec(&c, 4, 10, 2, "4", "plain");
    coll_free(&c);
    check_split_invariance(in, strlen(in), NULL);
}

Test(csv, reader_line_reports_position)
{
    csv_reader *r = csv_reader_create(NULL);
    cr_assert_eq(csv_reader_line(r), 1);
    cr_assert_eq(csv_reader_feed(r, "a\n\"b\nc\"\r\n", 9, NULL, NULL, NULL), 0);
    cr_assert_eq(csv_reader_line(r), 4);
    csv_reader_free(r);
}

/* ---- UTF-8 and NUL ------------------------------------------------------------------- */

Test(csv, vietnamese_utf8_fields)
{
    coll c = parse_s("name,city,note\n"
                     "Nguyễn Văn Đức,Hà Nội,\"Khách VIP, đã mua 3 lần\"\n"
                     "Trần Thị Ánh,TP. Hồ Chí Minh,ưu đãi ở Đà Nẵng\n");
    cr_assert_eq(c.n, 3);
    expect_rec(&c, 1, 2, 3, "Nguyễn Văn Đức", "Hà Nội", "Khách VIP, đã mua 3 lần");
    expect_rec(&c, 2, 3, 3, "Trần Thị Ánh", "TP. Hồ Chí Minh", "ưu đãi ở Đà Nẵng");
    coll_free(&c);
}

Test(csv, vietnamese_character_split_across_chunks)
{
    const char *in = "Nguyễn,Đà Nẵng\n";
    check_split_invariance(in, strlen(in), NULL);
    coll c = parse_step(in, strlen(in), 1, NULL);
    expect_rec(&c, 0, 1, 2, "Nguyễn", "Đà Nẵng");
    coll_free(&c);
}

Test(csv, invalid_utf8_row_rejected_with_line_and_next_row_parsed)
{
    coll c = parse_s("id,name,city\n1,An,Huế\n2,B\xE1\xBB,Hà Nội\n3,Chi,Vinh\n");
    cr_assert_eq(c.n, 4);
    expect_rec(&c, 1, 2, 3, "1", "An", "Huế");
    expect_err(&c, 2, 3, CSV_REC_BAD_UTF8, "invalid UTF-8 in column 2");
    cr_assert(memcmp(c.v[2].raw, "2,B\xE1\xBB,Hà Nội", c.v[2].raw_len) == 0);
    expect_rec(&c, 3, 4, 3, "3", "Chi", "Vinh");
    coll_free(&c);
}

Test(csv, invalid_utf8_in_quoted_multiline_field_names_column_and_start_line)
{
    coll c = parse_s("h\nx,y,\"ok\n\xFF\"\nz\n");
    cr_assert_eq(c.n, 3);
    expect_err(&c, 1, 2, CSV_REC_BAD_UTF8, "invalid UTF-8 in column 3");
    expect_rec(&c, 2, 4, 1, "z");
    coll_free(&c);
}

Test(csv, strict_utf8_rejects_overlong_surrogate_and_out_of_range)
{
    static const char *bad[] = {
        "\xC0\xAF",         /* overlong '/' */
        "\xC1\xBF",         /* overlong */
        "\xE0\x80\xAF",     /* overlong 3-byte */
        "\xED\xA0\x80",     /* surrogate U+D800 */
        "\xF0\x80\x80\xAF", /* overlong 4-byte */
        "\xF4\x90\x80\x80", /* > U+10FFFF */
        "\xF5\x80\x80\x80", /* F5 lead */
        "\x80",             /* lone continuation */
        "\xC3",             /* truncated at end */
        "\xE1\xBB",         /* truncated 3-byte */
        "abcdefgh\xC3(",    /* bad continuation after an ASCII word */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char in[64];
        int n = snprintf(in, sizeof in, "ok,%s\n", bad[i]);
        coll c = parse(in, (size_t)n);
        cr_assert_eq(c.n, 1);
        cr_assert_eq(c.v[0].error, CSV_REC_BAD_UTF8, "case %zu not rejected", i);
        cr_assert_str_eq(c.v[0].reason, "invalid UTF-8 in column 2", "case %zu", i);
        coll_free(&c);
    }
    static const char *good[] = {"\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
                                 "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
                                 "\xF4\x8F\xBF\xBF", "😀 emoji"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char in[64];
        int n = snprintf(in, sizeof in, "ok,%s\n", good[i]);
        coll c = parse(in, (size_t)n);
        cr_assert_eq(c.n, 1);
        cr_assert_eq(c.v[0].error, CSV_REC_OK, "case %zu rejected", i);
        coll_free(&c);
    }
}

Test(csv, nul_byte_rejected_with_column_and_next_row_parsed)
{
    const char in[] = "a,b\nx,y,z\0w\nnext\n";
    coll c = parse(in, sizeof in - 1);
    cr_assert_eq(c.n, 3);
    expect_err(&c, 1, 2, CSV_REC_NUL, "NUL byte in column 3");
    cr_assert_eq(c.v[1].raw_len, 7);
    expect_rec(&c, 2, 3, 1, "next");
    coll_free(&c);
}

Test(csv, first_bad_column_is_named)
{
    const char in[] = "ok,\xFF,\0\n";
    coll c = parse(in, sizeof in - 1);
    expect_err(&c, 0, 1, CSV_REC_BAD_UTF8, "invalid UTF-8 in column 2");
    coll_free(&c);
}

/* ---- chunking ------------------------------------------------------------------------ */

static const char corpus[] =
    "\xEF\xBB\xBFid,name,email,phone,city,note\r\n"
    "1,Nguyễn Văn An,an@example.vn,0912345678,Hà Nội,\"says \"\"hi\"\", then\r\nleaves\"\r\n"
    "\r\n"
    "2,\"Trần, Thị\",,+84912345678,\"Đà Nẵng\",\n"
    "3,bad\"quote,x@y.z,,Huế,\"multi\rline\"\r"
    "4,\"abc\"def,,,,\n"
    "\n\n"
    "5,B\xE1\xBB,,,,\n"
    "6,\"ok\",\"\",,\"\"\"\",last\n"
    "7,nul\0here,,,,\n"
    "8,0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789,x\n"
    "9,\"long quoted 012345678901234567890123456789012345678901234567890123456789\n"
    "0123456789012345678901234567890123456789 line\",y\n"
    "10,end,,,,\r\n"
    "11,\"open quote\nnever closed,,";

Test(csv, corpus_records_lines_and_errors)
{
    csv_options o = {.max_record_bytes = 100};
    coll c = parse_cuts(corpus, sizeof corpus - 1, NULL, 0, &o);
    cr_assert_eq(c.n, 12);
    expect_rec(&c, 0, 1, 6, "id", "name", "email", "phone", "city", "note");
    expect_rec(&c, 1, 2, 6, "1", "Nguyễn Văn An", "an@example.vn", "0912345678", "Hà Nội",
               "says \"hi\", then\r\nleaves");
    expect_rec(&c, 2, 5, 6, "2", "Trần, Thị", "", "+84912345678", "Đà Nẵng", "");
    expect_rec(&c, 3, 6, 6, "3", "bad\"quote", "x@y.z", "", "Huế", "multi\rline");
    expect_err(&c, 4, 8, CSV_REC_AFTER_QUOTE, "unexpected character after closing quote at line 8");
    expect_err(&c, 5, 11, CSV_REC_BAD_UTF8, "invalid UTF-8 in column 2");
    expect_rec(&c, 6, 12, 6, "6", "ok", "", "", "\"", "last");
    expect_err(&c, 7, 13, CSV_REC_NUL, "NUL byte in column 2");
    expect_err(&c, 8, 14, CSV_REC_TOO_LONG, "record longer than the maximum of 100 bytes");
    expect_err(&c, 9, 15, CSV_REC_TOO_LONG, "record longer than the maximum of 100 bytes");
    expect_rec(&c, 10, 17, 6, "10", "end", "", "", "", "");
    expect_err(&c, 11, 18, CSV_REC_UNTERMINATED, "unterminated quoted field starting at line 18");
    coll_free(&c);
}

Test(csv, corpus_same_records_at_every_split_point_and_chunk_size)
{
    csv_options o = {.max_record_bytes = 100};
    check_split_invariance(corpus, sizeof corpus - 1, &o);
    check_split_invariance(corpus, sizeof corpus - 1, NULL);
}

Test(csv, crlf_split_between_cr_and_lf_is_one_terminator)
{
    const char *in = "a\r\nb\r\n\r\n\"c\r\nd\"\r\ne";
    check_split_invariance(in, strlen(in), NULL);
    coll c = parse_s(in);
    cr_assert_eq(c.n, 4);
    expect_rec(&c, 1, 2, 1, "b");
    expect_rec(&c, 2, 4, 1, "c\r\nd");
    expect_rec(&c, 3, 6, 1, "e");
    coll_free(&c);
}

Test(csv, random_inputs_same_records_at_random_chunk_sizes)
{
    static const char alphabet[] = {'a', 'b', ',', '"', '\r', '\n', ' ', '\xC3', '\xA9', '\0',
                                    '\xEF', '\xBB', '\xBF', 'x'};
    csv_options o = {.max_record_bytes = 24};
    char in[256];
    for (int round = 0; round < 300; round++) {
        size_t len = rng() % sizeof in;
        for (size_t i = 0; i < len; i++)
            in[i] = alphabet[rng() % sizeof alphabet];
        coll whole = parse_cuts(in, len, NULL, 0, &o);
        coll bytes = parse_step(in, len, 1, &o);
        assert_same(&whole, &bytes, "random input, 1-byte chunks");
        size_t cut = len ? rng() % len : 0;
        coll two = parse_cuts(in, len, &cut, 1, &o);
        assert_same(&whole, &two, "random input, two chunks");
        coll_free(&whole);
        coll_free(&bytes);
        coll_free(&two);
    }
}

/* ---- API contract -------------------------------------------------------------------- */

Test(csv, callback_stop_code_is_returned_and_reader_stays_stopped)
{
    coll c = {.stop_at = 2, .stop_code = SEGDB_ELIMIT};
    csv_reader *r = csv_reader_create(NULL);
    segdb_err err = {0};
    cr_assert_eq(csv_reader_feed(r, "a\nb\nc\n", 6, collect, &c, &err), SEGDB_ELIMIT);
    cr_assert_eq(c.n, 2, "no record after the stop");
    cr_assert_str_eq(err.msg, "stopped by test");
    cr_assert_eq(csv_reader_feed(r, "d\n", 2, collect, &c, &err), SEGDB_EINVAL);
    cr_assert_eq(csv_reader_finish(r, collect, &c, &err), SEGDB_EINVAL);
    cr_assert_eq(c.n, 2);
    csv_reader_free(r);
    coll_free(&c);
}

Test(csv, positive_callback_return_becomes_einval)
{
    coll c = {.stop_at = 1, .stop_code = 7};
    csv_reader *r = csv_reader_create(NULL);
    cr_assert_eq(csv_reader_feed(r, "a", 1, collect, &c, NULL), 0);
    cr_assert_eq(csv_reader_finish(r, collect, &c, NULL), SEGDB_EINVAL);
    csv_reader_free(r);
    coll_free(&c);
}

Test(csv, feed_after_finish_is_einval)
{
    csv_reader *r = csv_reader_create(NULL);
    segdb_err err = {0};
    cr_assert_eq(csv_reader_finish(r, NULL, NULL, &err), 0);
    cr_assert_eq(csv_reader_feed(r, "a\n", 2, NULL, NULL, &err), SEGDB_EINVAL);
    cr_assert_eq(err.code, SEGDB_EINVAL);
    cr_assert_str_eq(err.msg, "the CSV reader has already finished");
    csv_reader_free(r);
}

Test(csv, null_data_and_zero_length_chunks)
{
    csv_reader *r = csv_reader_create(NULL);
    coll c = {0};
    cr_assert_eq(csv_reader_feed(r, NULL, 0, collect, &c, NULL), 0);
    cr_assert_eq(csv_reader_feed(r, "a", 1, collect, &c, NULL), 0);
    cr_assert_eq(csv_reader_feed(r, "", 0, collect, &c, NULL), 0);
    cr_assert_eq(csv_reader_feed(r, NULL, 3, collect, &c, NULL), SEGDB_EINVAL);
    cr_assert_eq(csv_reader_feed(r, "b\n", 2, collect, &c, NULL), 0);
    cr_assert_eq(csv_reader_finish(r, collect, &c, NULL), 0);
    cr_assert_eq(c.n, 1);
    expect_rec(&c, 0, 1, 1, "ab");
    csv_reader_free(r);
    coll_free(&c);
}

Test(csv, semicolon_delimiter_option)
{
    csv_options o = {.delimiter = ';'};
    const char *in = "a;\"b;c\";d,e\n";
    coll c = parse_cuts(in, strlen(in), NULL, 0, &o);
    expect_rec(&c, 0, 1, 3, "a", "b;c", "d,e");
    coll_free(&c);
}

Test(csv, invalid_delimiters_are_refused)
{
    const char bad[] = {'"', '\r', '\n', (char)0xC3};
    for (size_t i = 0; i < sizeof bad; i++) {
        csv_options o = {.delimiter = bad[i]};
        cr_assert_null(csv_reader_create(&o), "delimiter %zu accepted", i);
    }
    csv_options o = {0}; /* zeros mean defaults */
    csv_reader *r = csv_reader_create(&o);
    cr_assert_not_null(r);
    csv_reader_free(r);
}

Test(csv, free_null_is_noop)
{
    csv_reader_free(NULL);
    csv_buf_free(NULL);
    csv_buf b = {0};
    csv_buf_free(&b);
}

/* ---- writer ---------------------------------------------------------------------------- */

static void expect_cell(const char *in, bool esc, const char *want)
{
    csv_buf b = {0};
    cr_assert_eq(csv_write_field(&b, in, strlen(in), esc), 0);
    cr_assert_eq(b.len, strlen(want), "cell '%s' -> '%.*s', expected '%s'", in, (int)b.len, b.p,
                 want);
    cr_assert(b.len == 0 || memcmp(b.p, want, b.len) == 0,
              "cell '%s' -> '%.*s', expected '%s'", in, (int)b.len, b.p, want);
    csv_buf_free(&b);
}

Test(csv, writer_quotes_only_when_needed)
{
    expect_cell("plain", false, "plain");
    expect_cell("", false, "");
    expect_cell("Hà Nội", false, "Hà Nội");
    expect_cell("a,b", false, "\"a,b\"");
    expect_cell("say \"hi\"", false, "\"say \"\"hi\"\"\"");
    expect_cell("\"", false, "\"\"\"\"");
    expect_cell("two\nlines", false, "\"two\nlines\"");
    expect_cell("cr\rhere", false, "\"cr\rhere\"");
    expect_cell("crlf\r\n", false, "\"crlf\r\n\"");
    expect_cell(" lead", false, "\" lead\"");
    expect_cell("trail ", false, "\"trail \"");
    expect_cell("\ttab", false, "\"\ttab\"");
    expect_cell("in side", false, "in side");
    expect_cell("semi;colon", false, "semi;colon");
    expect_cell("\xEF\xBB\xBF" "bom", false, "\"\xEF\xBB\xBF" "bom\"");
}

Test(csv, writer_formula_escaping_table)
{
    expect_cell("=SUM(A1)", true, "'=SUM(A1)");
    expect_cell("=SUM(A1,B1)", true, "\"'=SUM(A1,B1)\"");
    expect_cell("@home", true, "'@home");
    expect_cell("+cmd", true, "'+cmd");
    expect_cell("-x", true, "'-x");
    expect_cell("-", true, "'-");
    expect_cell("+", true, "'+");
    expect_cell("- 5", true, "'- 5");
    expect_cell("-5 ", true, "\"'-5 \"");
    expect_cell("=\"a\"", true, "\"'=\"\"a\"\"\"");
    expect_cell("-5", true, "-5");
    expect_cell("-12.5", true, "-12.5");
    expect_cell("+84912345678", true, "+84912345678");
    expect_cell("+1e5", true, "+1e5");
    expect_cell("-.5", true, "-.5");
    expect_cell("-5.", true, "-5.");
    expect_cell("-1E-3", true, "-1E-3");
    expect_cell("-1e", true, "'-1e");
    expect_cell("-1.2.3", true, "'-1.2.3");
    expect_cell("+84 912 345 678", true, "'+84 912 345 678");
    expect_cell("=1", true, "'=1");
    expect_cell("@1", true, "'@1");
    expect_cell("a=b", true, "a=b");
    expect_cell("12", true, "12");
    expect_cell("=SUM(A1)", false, "=SUM(A1)");
    expect_cell("@home", false, "@home");
}

Test(csv, writer_record_joins_with_comma_and_crlf)
{
    csv_buf b = {0};
    const char *f[] = {"1", "Nguyễn, An", "", "=cmd"};
    size_t l[] = {1, strlen(f[1]), 0, 4};
    cr_assert_eq(csv_write_record(&b, f, l, 4, true), 0);
    cr_assert_eq(csv_write_record(&b, f, l, 1, true), 0);
    const char *want = "1,\"Nguyễn, An\",,'=cmd\r\n1\r\n";
    cr_assert_eq(b.len, strlen(want));
    cr_assert(memcmp(b.p, want, b.len) == 0);
    csv_buf_free(&b);
}

Test(csv, writer_single_empty_field_record_is_quoted_and_reads_back)
{
    csv_buf b = {0};
    const char *f[] = {""};
    size_t l[] = {0};
    cr_assert_eq(csv_write_record(&b, f, l, 1, false), 0);
    cr_assert_eq(csv_write_record(&b, NULL, NULL, 0, false), 0); /* writes nothing */
    cr_assert_eq(b.len, 4);
    cr_assert(memcmp(b.p, "\"\"\r\n", 4) == 0);
    coll c = parse(b.p, b.len);
    cr_assert_eq(c.n, 1);
    expect_rec(&c, 0, 1, 1, "");
    coll_free(&c);
    csv_buf_free(&b);
}

Test(csv, writer_rejects_null_arguments_without_writing)
{
    csv_buf b = {0};
    cr_assert_eq(csv_write_field(NULL, "a", 1, false), SEGDB_EINVAL);
    cr_assert_eq(csv_write_field(&b, NULL, 1, false), SEGDB_EINVAL);
    cr_assert_eq(csv_write_field(&b, NULL, 0, false), 0);
    const char *f[] = {"ok", NULL};
    size_t l[] = {2, 3};
    cr_assert_eq(csv_write_record(&b, f, l, 2, false), SEGDB_EINVAL);
    cr_assert_eq(b.len, 0, "a failed record leaves the buffer as it was");
    csv_buf_free(&b);
}

/* ---- round trip ------------------------------------------------------------------------- */

static size_t random_field(char *out, size_t cap, bool utf8_only)
{
    static const char *pieces[] = {"a", "Z", "0", "9", ",", "\"", "\"\"", "\r", "\n", "\r\n",
                                   " ", "\t", "=", "+", "-", "@", ";", "'", "ễ", "Đ", "ư",
                                   "😀", "\xEF\xBB\xBF", ".", "e"};
    size_t n = rng() % 12, len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!utf8_only && rng() % 8 == 0) {
            if (len + 1 > cap)
                break;
            out[len++] = (char)(rng() % 256);
            continue;
        }
        const char *p = pieces[rng() % (sizeof pieces / sizeof *pieces)];
        size_t pl = strlen(p);
        if (len + pl > cap)
            break;
        memcpy(out + len, p, pl);
        len += pl;
    }
    return len;
}

Test(csv, round_trip_random_records_writer_to_reader)
{
    enum { NREC = 5000, MAXF = 8, FCAP = 64 };
    char (*cells)[FCAP] = malloc((size_t)NREC * MAXF * FCAP);
    size_t(*lens)[MAXF] = malloc(sizeof *lens * NREC);
    size_t *nf = malloc(sizeof *nf * NREC);
    cr_assert(cells && lens && nf);
    csv_buf b = {0};
    for (size_t i = 0; i < NREC; i++) {
        nf[i] = 1 + rng() % MAXF;
        const char *ptrs[MAXF];
        for (size_t k = 0; k < nf[i]; k++) {
            char *cell = cells[i * MAXF + k];
            lens[i][k] = random_field(cell, FCAP, true);
            ptrs[k] = cell;
        }
        cr_assert_eq(csv_write_record(&b, ptrs, lens[i], nf[i], false), 0);
    }
    coll whole = parse(b.p, b.len);
    cr_assert_eq(whole.n, NREC);
    for (size_t i = 0; i < NREC; i++) {
        const rec_copy *o = &whole.v[i];
        cr_assert_eq(o->error, CSV_REC_OK, "record %zu: %s", i, o->reason);
        cr_assert_eq(o->n, nf[i], "record %zu: %zu fields, wrote %zu", i, o->n, nf[i]);
        for (size_t k = 0; k < nf[i]; k++) {
            cr_assert_eq(o->len[k], lens[i][k], "record %zu field %zu length", i, k);
            cr_assert(memcmp(o->f[k], cells[i * MAXF + k], lens[i][k]) == 0,
                      "record %zu field %zu bytes", i, k);
        }
    }
    /* the same bytes fed in random chunk sizes give the same records */
    size_t ncuts = 0, *cuts = malloc(sizeof *cuts * (b.len / 1 + 1));
    for (size_t at = 1 + rng() % 200; at < b.len; at += 1 + rng() % 200)
        cuts[ncuts++] = at;
    coll chunked = parse_cuts(b.p, b.len, cuts, ncuts, NULL);
    assert_same(&whole, &chunked, "round trip in random chunks");
    coll_free(&chunked);
    coll_free(&whole);
    free(cuts);
    csv_buf_free(&b);
    free(cells);
    free(lens);
    free(nf);
}

Test(csv, round_trip_with_invalid_bytes_rejects_exactly_the_bad_rows)
{
    csv_buf b = {0};
    enum { NREC = 2000, FCAP = 64 };
    bool *bad = calloc(NREC, sizeof *bad);
    for (size_t i = 0; i < NREC; i++) {
        char cell[2][FCAP];
        const char *ptrs[2] = {cell[0], cell[1]};
        size_t l[2];
        l[0] = random_field(cell[0], FCAP, true);
        l[1] = random_field(cell[1], FCAP, false);
        /* the test's own strict UTF-8 decoder says whether the row is bad */
        bool ok = true;
        for (size_t k = 0; k < l[1];) {
            unsigned char c = (unsigned char)cell[1][k];
            size_t need;
            unsigned lo = 0x80, hi = 0xBF;
            if (c == 0) { ok = false; break; }
            if (c < 0x80) { k++; continue; }
            if (c >= 0xC2 && c <= 0xDF) need = 1;
            else if (c == 0xE0) { need = 2; lo = 0xA0; }
            else if (c == 0xED) { need = 2; hi = 0x9F; }
            else if (c >= 0xE1 && c <= 0xEF) need = 2;
            else if (c == 0xF0) { need = 3; lo = 0x90; }
            else if (c == 0xF4) { need = 3; hi = 0x8F; }
            else if (c >= 0xF1 && c <= 0xF3) need = 3;
            else { ok = false; break; }
            if (k + need >= l[1]) { ok = false; break; } /* truncated */
            unsigned char c1 = (unsigned char)cell[1][k + 1];
            if (c1 < lo || c1 > hi) { ok = false; break; }
            for (size_t j = 2; j <= need; j++)
                if (((unsigned char)cell[1][k + j] & 0xC0) != 0x80) ok = false;
            if (!ok) break;
            k += need + 1;
        }
        bad[i] = !ok;
        cr_assert_eq(csv_write_record(&b, ptrs, l, 2, false), 0);
    }
    coll c = parse(b.p, b.len);
    cr_assert_eq(c.n, NREC);
    size_t nbad = 0;
    for (size_t i = 0; i < NREC; i++) {
        nbad += bad[i];
        cr_assert_eq(c.v[i].error != CSV_REC_OK, bad[i], "record %zu: reader says %s", i,
                     c.v[i].reason ? c.v[i].reason : "ok");
        if (bad[i])
            cr_assert(c.v[i].error == CSV_REC_BAD_UTF8 || c.v[i].error == CSV_REC_NUL);
    }
    cr_assert(nbad > 100 && nbad < NREC, "the generator must make both kinds (%zu bad)", nbad);
    coll_free(&c);
    csv_buf_free(&b);
    free(bad);
}

Test(csv, round_trip_with_formula_escaping_adds_only_the_quote_prefix)
{
    csv_buf b = {0};
    enum { NREC = 2000, FCAP = 64 };
    char (*cells)[FCAP] = malloc((size_t)NREC * FCAP);
    size_t *lens = malloc(sizeof *lens * NREC);
    for (size_t i = 0; i < NREC; i++) {
        lens[i] = random_field(cells[i], FCAP, true);
        const char *p = cells[i];
        cr_assert_eq(csv_write_record(&b, &p, &lens[i], 1, true), 0);
    }
    coll c = parse(b.p, b.len);
    cr_assert_eq(c.n, NREC);
    size_t prefixed = 0;
    for (size_t i = 0; i < NREC; i++) {
        const rec_copy *o = &c.v[i];
        cr_assert_eq(o->n, 1);
        const char *in = cells[i];
        if (o->len[0] == lens[i] + 1) {
            prefixed++;
            cr_assert_eq(o->f[0][0], '\'', "record %zu", i);
            cr_assert(memchr("=+-@", in[0], 4) != NULL, "record %zu: prefix on '%.*s'", i,
                      (int)lens[i], in);
            cr_assert(memcmp(o->f[0] + 1, in, lens[i]) == 0);
        } else {
            cr_assert_eq(o->len[0], lens[i], "record %zu", i);
            cr_assert(memcmp(o->f[0], in, lens[i]) == 0);
            /* kept as is: not a formula start, or a plain number */
            if (lens[i] && memchr("=+-@", in[0], 4))
                cr_assert(in[0] == '+' || in[0] == '-', "record %zu: '%.*s' not escaped", i,
                          (int)lens[i], in);
        }
    }
    cr_assert(prefixed > 50, "the generator must make formula-like cells (%zu)", prefixed);
    coll_free(&c);
    csv_buf_free(&b);
    free(cells);
    free(lens);
}

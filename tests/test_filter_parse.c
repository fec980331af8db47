/*
 * test_filter_parse.c — Criterion suite `filter_parse`: the filter grammar of
 * SPEC sections 2 and 7 (every form, precedence, quoting, times as values),
 * every error class with its exact 1-based character position, the nesting /
 * term / size limits at and one past the limit, canonical printing round
 * trips, and a bounded random-garbage loop (never a crash, never a leak:
 * built with -fsanitize=address,undefined).
 *
 * Structure is mostly checked through fnode_to_string, whose canonical form is
 * fully parenthesized: "(a:1 OR (b:2 AND NOT c:3))".
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter_parse.h"

/* Criterion reports a test as passed before LeakSanitizer runs at the worker's exit, and
 * a failure in .fini is only a warning, so a leak would go unnoticed. Every test here is
 * therefore an FP_TEST: its body runs, then a leak check fails the test itself. */
#if defined(__SANITIZE_ADDRESS__)
#define FP_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FP_LEAK_CHECK 1
#endif
#endif
#ifdef FP_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
static void leak_check(void)
{
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked (report on stderr)");
}
#else
static void leak_check(void) {}
#endif

#define FP_TEST(name, ...)                                                                 \
    static void name##_body(void);                                                         \
    Test(filter_parse, name, ##__VA_ARGS__)                                                \
    {                                                                                      \
        name##_body();                                                                     \
        leak_check();                                                                      \
    }                                                                                      \
    static void name##_body(void)

/* ---- helpers ------------------------------------------------------------ */

static fnode *parse_ok_lim(const char *s, size_t len, const filter_limits *lim)
{
    fnode *n = NULL;
    segdb_err e = {0};
    int rc = filter_parse(s, len, lim, &n, &e);
    cr_assert_eq(rc, 0, "parse of <%.200s> failed (%d): %s", s, rc, e.msg);
    cr_assert_not_null(n);
    cr_assert_eq(e.code, 0);
    return n;
}

static fnode *parse_ok(const char *s)
{
    return parse_ok_lim(s, strlen(s), NULL);
}

/* Parses s, expects code and an error message containing frag. */
static void expect_err_lim(const char *s, size_t len, const filter_limits *lim, int code,
                           const char *frag)
{
    fnode *n = (fnode *)1;
    segdb_err e = {0};
    int rc = filter_parse(s, len, lim, &n, &e);
    cr_assert_eq(rc, code, "<%.200s>: rc %d, want %d (msg: %s)", s, rc, code, e.msg);
    cr_assert_eq(e.code, code);
    cr_assert_null(n, "<%.200s>: *out must be NULL on error", s);
    cr_assert_not_null(strstr(e.msg, frag), "<%.200s>: message \"%s\" lacks \"%s\"", s, e.msg,
                       frag);
}

static void expect_err(const char *s, int code, const char *frag)
{
    expect_err_lim(s, strlen(s), NULL, code, frag);
}

static void expect_canon(const char *s, const char *want)
{
    fnode *n = parse_ok(s);
    char *got = fnode_to_string(n);
    cr_assert_not_null(got);
    cr_assert_str_eq(got, want, "<%s> printed as <%s>, want <%s>", s, got, want);
    free(got);
    fnode_free(n);
}

/* s repeated k times, then tail; malloc'd */
static char *repeat(const char *head, const char *s, size_t k, const char *tail)
{
    size_t hl = strlen(head), sl = strlen(s), tl = strlen(tail);
    char *r = malloc(hl + sl * k + tl + 1);
    cr_assert_not_null(r);
    memcpy(r, head, hl);
    for (size_t i = 0; i < k; i++)
        memcpy(r + hl + i * sl, s, sl);
    memcpy(r + hl + sl * k, tail, tl + 1);
    return r;
}

/* ---- terms ------------------------------------------------------------------ */

FP_TEST(colon_term_fields_value_and_positions)
{
    fnode *n = parse_ok("  city:hanoi");
    cr_assert_eq(n->kind, FN_TERM);
    cr_assert_str_eq(n->field, "city");
    cr_assert_eq(n->op, FOP_COLON);
    cr_assert_eq(n->nvalues, 1);
    cr_assert_str_eq(n->values[0].text, "hanoi");
    cr_assert_eq(n->values[0].len, 5);
    cr_assert_eq(n->values[0].quoted, false);
    cr_assert_eq(n->pos, 3);
    cr_assert_eq(n->field_pos, 3);
    cr_assert_eq(n->values[0].pos, 8);
    cr_assert_eq(n->nkids, 0);
    fnode_free(n);
}

FP_TEST(field_name_case_is_kept)
{
    fnode *n = parse_ok("City_2:x");
    cr_assert_str_eq(n->field, "City_2");
    fnode_free(n);
    n = parse_ok("_custom:1");
    cr_assert_str_eq(n->field, "_custom");
    fnode_free(n);
}

FP_TEST(every_comparison_operator)
{
    static const struct {
        const char *text;
        fop op;
        const char *value;
    } cases[] = {
        {"purchases=3", FOP_EQ, "3"},        {"purchases != 3", FOP_NE, "3"},
        {"revenue<10.5", FOP_LT, "10.5"},    {"revenue <= 10", FOP_LE, "10"},
        {"bucket>1000", FOP_GT, "1000"},     {"bucket >= 1000", FOP_GE, "1000"},
        {"name~nguyen", FOP_CONTAINS, "nguyen"}, {"name ~ \"Ng\"", FOP_CONTAINS, "Ng"},
        {"city : hanoi", FOP_COLON, "hanoi"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fnode *n = parse_ok(cases[i].text);
        cr_assert_eq(n->kind, FN_TERM, "%s", cases[i].text);
        cr_assert_eq(n->op, cases[i].op, "%s: op %d", cases[i].text, n->op);
        cr_assert_eq(n->nvalues, 1);
        cr_assert_str_eq(n->values[0].text, cases[i].value, "%s", cases[i].text);
        fnode_free(n);
    }
}

FP_TEST(whitespace_around_operators_and_negative_times)
{
    fnode *n = parse_ok("last_contacted < -30d");
    cr_assert_eq(n->op, FOP_LT);
    cr_assert_str_eq(n->field, "last_contacted");
    cr_assert_str_eq(n->values[0].text, "-30d");
    cr_assert_eq(n->values[0].pos, 18);
    fnode_free(n);
    expect_canon("last_contacted<=-30d", "last_contacted<=-30d");
    expect_canon("age\t>=\n5", "age>=5");
    /* `<` then the value "=5" (space between): not `<=` */
    fnode *m = parse_ok("age< =5");
    cr_assert_eq(m->op, FOP_LT);
    cr_assert_str_eq(m->values[0].text, "=5");
    fnode_free(m);
}

FP_TEST(times_are_values_and_may_contain_colons)
{
    const char *vals[] = {"2019-11-01", "2019-11-01T18:00", "2019-11-01T18:00:00Z",
                          "2019-11-01T18:00:00+07:00", "now", "-12h", "-90m", "+7d"};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "created_at > %s", vals[i]);
        fnode *n = parse_ok(buf);
        cr_assert_eq(n->op, FOP_GT);
        cr_assert_str_eq(n->values[0].text, vals[i]);
        fnode_free(n);
        snprintf(buf, sizeof buf, "created_at:%s", vals[i]);
        n = parse_ok(buf);
        cr_assert_eq(n->op, FOP_COLON);
        cr_assert_str_eq(n->values[0].text, vals[i]);
        fnode_free(n);
    }
}

FP_TEST(special_fields_are_ordinary_colon_terms)
{
    const char *fs[] = {"tag:vip", "group:KHACH_VIP", "segment:hot_leads", "reachable:sms",
                        "q:nguyen", "phone:+84912345678", "archived:yes"};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        fnode *n = parse_ok(fs[i]);
        cr_assert_eq(n->kind, FN_TERM);
        cr_assert_eq(n->op, FOP_COLON, "%s", fs[i]);
        cr_assert_eq(n->nvalues, 1);
        fnode_free(n);
    }
}

FP_TEST(has_and_missing_name_a_field)
{
    fnode *n = parse_ok("has:phone");
    cr_assert_eq(n->op, FOP_HAS);
    cr_assert_str_eq(n->field, "phone");
    cr_assert_eq(n->nvalues, 0);
    cr_assert_null(n->values);
    cr_assert_eq(n->pos, 1);
    cr_assert_eq(n->field_pos, 5);
    fnode_free(n);
    n = parse_ok("MISSING : email");
    cr_assert_eq(n->op, FOP_MISSING);
    cr_assert_str_eq(n->field, "email");
    cr_assert_eq(n->field_pos, 11);
    fnode_free(n);
    expect_canon("Has:last_seen", "has:last_seen");
    /* with another operator, `has` is just a field name */
    n = parse_ok("has=phone");
    cr_assert_eq(n->op, FOP_EQ);
    cr_assert_str_eq(n->field, "has");
    fnode_free(n);
}

FP_TEST(value_list_is_in)
{
    fnode *n = parse_ok("city:( hanoi , \"Hà Nội\",'Huế' ,or)");
    cr_assert_eq(n->op, FOP_IN);
    cr_assert_eq(n->nvalues, 4);
    cr_assert_str_eq(n->values[0].text, "hanoi");
    cr_assert_eq(n->values[0].pos, 8);
    cr_assert_str_eq(n->values[1].text, "Hà Nội");
    cr_assert(n->values[1].quoted);
    cr_assert_eq(n->values[1].pos, 16);
    cr_assert_str_eq(n->values[2].text, "Huế");
    cr_assert_str_eq(n->values[3].text, "or");
    fnode_free(n);
    n = parse_ok("tag:(vip)");
    cr_assert_eq(n->op, FOP_IN);
    cr_assert_eq(n->nvalues, 1);
    fnode_free(n);
    expect_canon("city : ( a,b )", "city:(a,b)");
}

FP_TEST(non_ascii_bare_values)
{
    fnode *n = parse_ok("city:Huế name~Nguyễn");
    cr_assert_eq(n->kind, FN_AND);
    cr_assert_str_eq(n->kids[0]->values[0].text, "Huế");
    cr_assert_str_eq(n->kids[1]->values[0].text, "Nguyễn");
    /* positions count characters: "city:Huế " is 9 characters, 11 bytes */
    cr_assert_eq(n->kids[1]->pos, 10);
    cr_assert_eq(n->kids[1]->values[0].pos, 15);
    fnode_free(n);
}

FP_TEST(bare_value_may_contain_quotes_and_operators_inside)
{
    fnode *n = parse_ok("note:it's email:a=b@x.vn");
    cr_assert_str_eq(n->kids[0]->values[0].text, "it's");
    cr_assert_str_eq(n->kids[1]->values[0].text, "a=b@x.vn");
    fnode_free(n);
}

/* ---- quoting --------------------------------------------------------------- */

FP_TEST(double_and_single_quotes)
{
    fnode *n = parse_ok("city:\"Hà Nội\" name:'Trần (Văn), A'");
    cr_assert_eq(n->kind, FN_AND);
    cr_assert_str_eq(n->kids[0]->values[0].text, "Hà Nội");
    cr_assert(n->kids[0]->values[0].quoted);
    cr_assert_eq(n->kids[0]->values[0].pos, 6);
    cr_assert_str_eq(n->kids[1]->values[0].text, "Trần (Văn), A");
    fnode_free(n);
}

FP_TEST(backslash_escapes_quote_and_itself_only)
{
    /* name:"a\"b\\c\nd\'e" -> a"b\c\nd\'e (\n and \' kept as written inside "...") */
    fnode *n = parse_ok("name:\"a\\\"b\\\\c\\nd\\'e\"");
    cr_assert_str_eq(n->values[0].text, "a\"b\\c\\nd\\'e");
    cr_assert_eq(n->values[0].len, 11);
    fnode_free(n);
    n = parse_ok("name:'O\\'Brien'");
    cr_assert_str_eq(n->values[0].text, "O'Brien");
    fnode_free(n);
    n = parse_ok("name:'say \"hi\"'");
    cr_assert_str_eq(n->values[0].text, "say \"hi\"");
    fnode_free(n);
}

FP_TEST(empty_value_only_when_quoted)
{
    fnode *n = parse_ok("name:\"\"");
    cr_assert_eq(n->values[0].len, 0);
    cr_assert_str_eq(n->values[0].text, "");
    cr_assert(n->values[0].quoted);
    fnode_free(n);
    n = parse_ok("name:''");
    cr_assert_eq(n->values[0].len, 0);
    fnode_free(n);
    expect_err("name:", SEGDB_EINVAL, "missing value after 'name:' at position 6");
}

FP_TEST(quoted_keyword_is_a_value)
{
    fnode *n = parse_ok("city: \"AND\"");
    cr_assert_str_eq(n->values[0].text, "AND");
    fnode_free(n);
}

/* ---- boolean structure ---------------------------------------------------------- */

FP_TEST(precedence_not_over_and_over_or)
{
    fnode *n = parse_ok("a:1 OR b:2 AND NOT c:3");
    cr_assert_eq(n->kind, FN_OR);
    cr_assert_eq(n->nkids, 2);
    cr_assert_eq(n->kids[0]->kind, FN_TERM);
    fnode *and = n->kids[1];
    cr_assert_eq(and->kind, FN_AND);
    cr_assert_eq(and->nkids, 2);
    cr_assert_eq(and->kids[1]->kind, FN_NOT);
    cr_assert_eq(and->kids[1]->nkids, 1);
    cr_assert_eq(and->kids[1]->pos, 16);
    cr_assert_str_eq(and->kids[1]->kids[0]->field, "c");
    cr_assert_eq(and->pos, 8);
    cr_assert_eq(n->pos, 1);
    fnode_free(n);
    expect_canon("a:1 OR b:2 AND NOT c:3", "(a:1 OR (b:2 AND NOT c:3))");
    expect_canon("NOT a:1 AND b:2", "(NOT a:1 AND b:2)");
    expect_canon("(a:1 OR b:2) AND c:3", "((a:1 OR b:2) AND c:3)");
    expect_canon("NOT (a:1 OR b:2)", "NOT (a:1 OR b:2)");
}

FP_TEST(juxtaposition_is_and)
{
    expect_canon("tag:vip city:hanoi NOT status:unsubscribed",
                 "(tag:vip AND city:hanoi AND NOT status:unsubscribed)");
    expect_canon("a:1 b:2 OR c:3 d:4", "((a:1 AND b:2) OR (c:3 AND d:4))");
    expect_canon("a:1(b:2 OR c:3)", "(a:1 AND (b:2 OR c:3))");
}

FP_TEST(keywords_are_case_insensitive)
{
    expect_canon("a:1 and b:2 Or NoT c:3 AND d:4", "((a:1 AND b:2) OR (NOT c:3 AND d:4))");
    expect_canon("not(a:1)", "NOT a:1");
}

FP_TEST(keyword_looking_values_and_fields)
{
    fnode *n = parse_ok("city:or");
    cr_assert_eq(n->kind, FN_TERM);
    cr_assert_str_eq(n->values[0].text, "or");
    fnode_free(n);
    n = parse_ok("city:AND NOT:x");
    cr_assert_eq(n->kind, FN_AND);
    cr_assert_str_eq(n->kids[0]->values[0].text, "AND");
    cr_assert_str_eq(n->kids[1]->field, "NOT");
    fnode_free(n);
    /* a keyword-looking word at term position is a keyword */
    expect_err("a:1 OR", SEGDB_EINVAL, "dangling OR at position 5");
}

FP_TEST(and_or_runs_are_flattened_single_kids_unwrapped)
{
    fnode *n = parse_ok("a:1 AND b:2 AND c:3 d:4");
    cr_assert_eq(n->kind, FN_AND);
    cr_assert_eq(n->nkids, 4);
    fnode_free(n);
    n = parse_ok("a:1 OR b:2 OR c:3");
    cr_assert_eq(n->kind, FN_OR);
    cr_assert_eq(n->nkids, 3);
    fnode_free(n);
    n = parse_ok("(((a:1)))");
    cr_assert_eq(n->kind, FN_TERM);
    cr_assert_eq(n->pos, 4);
    fnode_free(n);
    /* explicit parentheses are kept */
    expect_canon("a:1 AND (b:2 AND c:3)", "(a:1 AND (b:2 AND c:3))");
    expect_canon("x:1 OR (y:2 OR z:3) OR w:4", "(x:1 OR (y:2 OR z:3) OR w:4)");
}

FP_TEST(not_chain_builds_nested_nots)
{
    fnode *root = parse_ok("NOT not NOT tag:x"), *n = root;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(n->kind, FN_NOT);
        cr_assert_eq(n->pos, (uint32_t)(1 + 4 * i));
        n = n->kids[0];
    }
    cr_assert_eq(n->kind, FN_TERM);
    fnode_free(root);
}

/* ---- errors with positions ---------------------------------------------------------- */

FP_TEST(unbalanced_paren_reports_where_it_opened)
{
    expect_err("city:hanoi AND (tag:vip OR tag:new", SEGDB_EINVAL,
               "syntax error at position 16: unbalanced '(' opened here has no matching ')'");
    /* characters, not bytes: "Hà Nội" before it */
    expect_err("city:\"Hà Nội\" (tag:vip", SEGDB_EINVAL,
               "syntax error at position 15: unbalanced '('");
    expect_err("((a:1) b:2", SEGDB_EINVAL, "syntax error at position 1: unbalanced '('");
    expect_err("(", SEGDB_EINVAL, "syntax error at position 1: unbalanced '('");
    expect_err("city:(a,b", SEGDB_EINVAL, "syntax error at position 6: unbalanced '('");
}

FP_TEST(stray_close_paren_reports_position)
{
    expect_err("a:1)", SEGDB_EINVAL,
               "syntax error at position 4: unexpected ')' with no matching '('");
    expect_err("(a:1) OR b:Hà)", SEGDB_EINVAL,
               "syntax error at position 14: unexpected ')' with no matching '('");
    expect_err(")", SEGDB_EINVAL, "syntax error at position 1: unexpected ')'");
}

FP_TEST(bare_word_after_bare_value_suggests_joining)
{
    expect_err("city:Hà Nội", SEGDB_EINVAL,
               "bare word \"Nội\" at position 9 has no field; quote values with spaces: "
               "city:\"Hà Nội\"");
    expect_err("tag:vip city:Hà Long Bay OR x:1", SEGDB_EINVAL,
               "bare word \"Long\" at position 17 has no field; quote values with spaces: "
               "city:\"Hà Long Bay\"");
    expect_err("name~Trần  Văn", SEGDB_EINVAL, "name~\"Trần Văn\"");
}

FP_TEST(bare_word_without_previous_value_suggests_field_or_q)
{
    expect_err("Nội", SEGDB_EINVAL,
               "bare word \"Nội\" at position 1 has no field; write it as field:\"Nội\", or "
               "q:\"Nội\"");
    expect_err("city:\"Hà\" Nội", SEGDB_EINVAL, "bare word \"Nội\" at position 11 has no field; write it as field:\"Nội\"");
    expect_err("tag:x AND 2019-11-01", SEGDB_EINVAL, "bare word \"2019-11-01\" at position 11");
    expect_err("city hanoi", SEGDB_EINVAL, "bare word \"city\" at position 1 has no field");
    expect_err("\"Hà Nội\"", SEGDB_EINVAL, "quoted value \"Hà Nội\" at position 1 has no field");
}

FP_TEST(bad_field_names_and_stray_operators)
{
    expect_err("tên:x", SEGDB_EINVAL, "invalid field name \"tên\" at position 1");
    expect_err("a:1 city.name:x", SEGDB_EINVAL, "invalid field name \"city.name\" at position 5");
    expect_err(":x", SEGDB_EINVAL, "syntax error at position 1: missing field name before ':'");
    expect_err("a:1 >= 3", SEGDB_EINVAL, "at position 5: missing field name before '>='");
    expect_err("a:1 && b:2", SEGDB_EINVAL, "at position 5: '&&' is not an operator; use AND");
    expect_err("a:1 || b:2", SEGDB_EINVAL, "at position 5: '||' is not an operator; use OR");
    expect_err("!tag:vip", SEGDB_EINVAL, "at position 1: use NOT");
    expect_err("age ! 3", SEGDB_EINVAL, "at position 5: '!' must be followed by '='");
}

FP_TEST(unterminated_quote_reports_start)
{
    expect_err("city:\"Hà Nội", SEGDB_EINVAL, "unterminated quote starting at position 6");
    expect_err("tag:x name:'abc\\'", SEGDB_EINVAL, "unterminated quote starting at position 12");
    expect_err("city:(a, \"b", SEGDB_EINVAL, "unterminated quote starting at position 10");
    expect_err("x:1 \"oops", SEGDB_EINVAL, "unterminated quote starting at position 5");
}

FP_TEST(missing_value_reports_position)
{
    expect_err("city:", SEGDB_EINVAL, "missing value after 'city:' at position 6");
    expect_err("Hà:x city:", SEGDB_EINVAL, "invalid field name");
    expect_err("tag:x city:)", SEGDB_EINVAL, "missing value after 'city:' at position 12");
    expect_err("(city: )", SEGDB_EINVAL, "missing value after 'city:' at position 7");
    expect_err("age >= ", SEGDB_EINVAL, "missing value after 'age>=' at position 7");
    expect_err("city: AND tag:x", SEGDB_EINVAL, "missing value after 'city:' at position 6");
    expect_err("age > (1)", SEGDB_EINVAL, "missing value after 'age>' at position 6");
    expect_err("has:", SEGDB_EINVAL, "missing field name after 'has:' at position 5");
    expect_err("missing:2x", SEGDB_EINVAL, "expected a field name after 'missing:' at position 9");
}

FP_TEST(empty_filter)
{
    expect_err("", SEGDB_EINVAL, "empty filter");
    expect_err(" \t\r\n ", SEGDB_EINVAL, "empty filter");
    expect_err_lim(NULL, 0, NULL, SEGDB_EINVAL, "empty filter");
}

FP_TEST(dangling_and_or)
{
    expect_err("a:1 AND", SEGDB_EINVAL, "dangling AND at position 5");
    expect_err("AND a:1", SEGDB_EINVAL, "dangling AND at position 1");
    expect_err("a:1 or  ", SEGDB_EINVAL, "dangling OR at position 5");
    expect_err("a:1 AND OR b:1", SEGDB_EINVAL, "dangling AND at position 5");
    expect_err("(a:1 AND) b:2", SEGDB_EINVAL, "dangling AND at position 6");
    expect_err("(OR a:1)", SEGDB_EINVAL, "dangling OR at position 2");
}

FP_TEST(not_without_term)
{
    expect_err("NOT", SEGDB_EINVAL, "expected a term after NOT at position 1");
    expect_err("a:1 AND NOT", SEGDB_EINVAL, "expected a term after NOT at position 9");
    expect_err("(NOT) a:1", SEGDB_EINVAL, "expected a term after NOT at position 2");
    expect_err("NOT NOT OR a:1", SEGDB_EINVAL, "expected a term after NOT at position 5");
}

FP_TEST(empty_value_list_and_list_errors)
{
    expect_err("city:()", SEGDB_EINVAL, "empty value list at position 6");
    expect_err("tag:x city:(  )", SEGDB_EINVAL, "empty value list at position 12");
    expect_err("city:(a,,b)", SEGDB_EINVAL, "missing value in the list of city: at position 9");
    expect_err("city:(a,)", SEGDB_EINVAL, "missing value in the list of city: at position 9");
    expect_err("city:(Hà Nội, Huế)", SEGDB_EINVAL,
               "expected ',' or ')' at position 10 in the list of city:");
    expect_err("city:(Hà Nội, Huế)", SEGDB_EINVAL, "\"Hà Nội\"");
}

FP_TEST(empty_parens_and_stray_comma)
{
    expect_err("()", SEGDB_EINVAL, "syntax error at position 1: empty parentheses");
    expect_err("a:1 ( )", SEGDB_EINVAL, "syntax error at position 5: empty parentheses");
    expect_err("a:1, b:2", SEGDB_EINVAL, "syntax error at position 4: unexpected ','");
}

FP_TEST(invalid_utf8_reports_byte)
{
    const char *bad[] = {"city:\xC3", "city:\xC0\x80", "x:\xED\xA0\x80", "x:\xF5\x80\x80\x80",
                         "x:\xE0\x80\xAF", "x:\xF4\x90\x80\x80", "x:\x80", "x:\xF0\x8F\xBF\xBF"};
    size_t at[] = {6, 6, 3, 3, 3, 3, 3, 3};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "invalid UTF-8 at byte %zu", at[i]);
        expect_err(bad[i], SEGDB_EINVAL, want);
    }
    /* the largest valid code point and a 4-byte emoji are fine */
    fnode *n = parse_ok("x:\xF4\x8F\xBF\xBF name:\xF0\x9F\x98\x80");
    fnode_free(n);
}

FP_TEST(nul_byte_reports_character_position)
{
    static const char t[] = "city:Hà\0Nội";
    expect_err_lim(t, sizeof t - 1, NULL, SEGDB_EINVAL, "NUL byte at position 8");
    expect_err_lim("\0", 1, NULL, SEGDB_EINVAL, "NUL byte at position 1");
}

FP_TEST(err_may_be_null)
{
    fnode *n = (fnode *)1;
    cr_assert_eq(filter_parse("(a:1", 4, NULL, &n, NULL), SEGDB_EINVAL);
    cr_assert_null(n);
    cr_assert_eq(filter_parse("a:1", 3, NULL, &n, NULL), 0);
    fnode_free(n);
    fnode_free(NULL);
}

/* ---- limits --------------------------------------------------------------------- */

FP_TEST(depth_64_parens_ok_65_is_limit)
{
    char *ok = repeat("", "(", 64, "");
    char *s = repeat(ok, "", 0, "a:1");
    char *full = repeat(s, ")", 64, "");
    fnode *n = parse_ok(full);
    cr_assert_eq(n->kind, FN_TERM);
    fnode_free(n);
    free(ok);
    free(s);
    free(full);

    char *open = repeat("", "(", 65, "a:1");
    char *over = repeat(open, ")", 65, "");
    expect_err(over, SEGDB_ELIMIT, "filter nests deeper than 64 levels at position 65");
    free(open);
    free(over);
}

FP_TEST(depth_64_nots_ok_65_is_limit)
{
    char *ok = repeat("", "NOT ", 64, "tag:x");
    fnode *n = parse_ok(ok);
    int depth = 0;
    for (fnode *k = n; k->kind == FN_NOT; k = k->kids[0])
        depth++;
    cr_assert_eq(depth, 64);
    fnode_free(n);
    free(ok);
    char *over = repeat("", "NOT ", 65, "tag:x");
    expect_err(over, SEGDB_ELIMIT, "filter nests deeper than 64 levels at position 257");
    free(over);
}

FP_TEST(depth_counts_parens_and_nots_together)
{
    /* 32 x "NOT (" = 64 levels */
    char *o = repeat("", "NOT (", 32, "a:1");
    char *s = repeat(o, ")", 32, "");
    fnode *n = parse_ok(s);
    fnode_free(n);
    free(o);
    free(s);
    o = repeat("", "NOT (", 32, "NOT a:1");
    s = repeat(o, ")", 32, "");
    expect_err(s, SEGDB_ELIMIT, "filter nests deeper than 64 levels at position 161");
    free(o);
    free(s);
    /* levels are current nesting, not a running total */
    char *flat = repeat("", "NOT a:1 (b:2) ", 200, "");
    n = parse_ok(flat);
    fnode_free(n);
    free(flat);
}

FP_TEST(value_list_paren_is_not_a_level)
{
    char *o = repeat("", "(", 64, "city:(a,b)");
    char *s = repeat(o, ")", 64, "");
    fnode *n = parse_ok(s);
    cr_assert_eq(n->op, FOP_IN);
    fnode_free(n);
    free(o);
    free(s);
}

FP_TEST(custom_limits_are_honoured)
{
    filter_limits lim = {100, 2, 3};
    fnode *n = parse_ok_lim("NOT (a:1)", 9, &lim);
    fnode_free(n);
    expect_err_lim("NOT (NOT a:1)", 13, &lim, SEGDB_ELIMIT,
                   "filter nests deeper than 2 levels at position 6");
    n = parse_ok_lim("a:1 b:2 c:3", 11, &lim);
    fnode_free(n);
    expect_err_lim("a:1 b:2 c:3 has:x", 17, &lim, SEGDB_ELIMIT, "filter has more than 3 terms");
    char big[101];
    memset(big, ' ', sizeof big);
    memcpy(big, "a:1", 3);
    expect_err_lim(big, 101, &lim, SEGDB_ELIMIT, "filter is 101 bytes; the limit is 100 bytes");
}

FP_TEST(huge_byte_limit_still_stops_deep_nesting)
{
    filter_limits lim = {UINT32_MAX, 64, 4096};
    size_t len = 1u << 20;
    char *s = malloc(len);
    cr_assert_not_null(s);
    memset(s, '(', len);
    expect_err_lim(s, len, &lim, SEGDB_ELIMIT, "filter nests deeper than 64 levels at position 65");
    for (size_t i = 0; i + 4 <= len; i += 4)
        memcpy(s + i, "NOT ", 4);
    expect_err_lim(s, len, &lim, SEGDB_ELIMIT, "filter nests deeper than 64 levels at position 257");
    /* even a caller asking for no depth limit gets a bounded parser, not a stack overflow */
    filter_limits nolim = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
    memset(s, '(', len);
    expect_err_lim(s, len, &nolim, SEGDB_ELIMIT, "filter nests deeper than");
    free(s);
}

FP_TEST(terms_4096_ok_4097_is_limit)
{
    char *ok = repeat("", "t:1 ", 4096, "");
    fnode *n = parse_ok(ok);
    cr_assert_eq(n->kind, FN_AND);
    cr_assert_eq(n->nkids, 4096);
    fnode_free(n);
    free(ok);
    char *over = repeat("", "t:1 ", 4096, "has:x");
    expect_err(over, SEGDB_ELIMIT, "filter has more than 4096 terms");
    expect_err(over, SEGDB_ELIMIT, "at position 16385");
    free(over);
    /* a long value list is one term */
    char *list = repeat("c:(0", ",1", 5000, ")");
    n = parse_ok(list);
    cr_assert_eq(n->nvalues, 5001);
    fnode_free(n);
    free(list);
}

FP_TEST(bytes_64k_ok_over_is_limit)
{
    size_t len = 65536;
    char *s = malloc(len + 2);
    cr_assert_not_null(s);
    memcpy(s, "name:", 5);
    memset(s + 5, 'a', len - 5);
    s[len] = 'a';
    s[len + 1] = '\0';
    fnode *n = parse_ok_lim(s, len, NULL);
    cr_assert_eq(n->values[0].len, len - 5);
    fnode_free(n);
    expect_err_lim(s, len + 1, NULL, SEGDB_ELIMIT, "filter is 65537 bytes; the limit is 65536 bytes");
    free(s);
}

FP_TEST(long_words_in_messages_are_cut)
{
    char *s = repeat("a:1 ", "ệ", 3000, "");
    fnode *n = (fnode *)1;
    segdb_err e = {0};
    cr_assert_eq(filter_parse(s, strlen(s), NULL, &n, &e), SEGDB_EINVAL);
    cr_assert_not_null(strstr(e.msg, "at position 5"), "%s", e.msg);
    cr_assert_not_null(strstr(e.msg, "..."), "%s", e.msg);
    cr_assert_lt(strlen(e.msg), 1000);
    free(s);
}

/* ---- printing ---------------------------------------------------------------------- */

FP_TEST(to_string_canonical_forms)
{
    expect_canon("city : hanoi", "city:hanoi");
    expect_canon("name:'a b'", "name:\"a b\"");
    expect_canon("name:\"a\\\"b\\\\c\"", "name:\"a\\\"b\\\\c\"");
    expect_canon("city:(a, 'b c')", "city:(a,\"b c\")");
    expect_canon("missing:phone has:email", "(missing:phone AND has:email)");
    expect_canon("age != 3", "age!=3");
    expect_canon("name~x", "name~x");
    /* a value starting with an operator character is quoted so it reads back the same */
    expect_canon("age< =5", "age<\"=5\"");
}

FP_TEST(to_string_round_trips)
{
    const char *fs[] = {
        "a:1 OR b:2 AND NOT c:3",
        "tag:vip city:\"Hà Nội\" NOT (status:unsubscribed OR relationship:(lost,won))",
        "created_at >= 2019-11-01T18:00:00+07:00 AND last_contacted < -30d",
        "name:'O\\'Brien' OR name:\"a\\\\b\" OR name:\"\" OR note:'x\\y'",
        "((a:1 OR b:2) (c:3 OR NOT NOT d:4)) OR e:(\"x,y\", '(', \")\")",
        "has:phone missing:email q:nguyễn bucket<1000",
        "city:or or:x NOT:y city:\"and\"",
        "x:\\ y:\"\\\\\" z:a\"b",
    };
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        fnode *n = parse_ok(fs[i]);
        char *s1 = fnode_to_string(n);
        fnode *m = parse_ok(s1);
        char *s2 = fnode_to_string(m);
        cr_assert_str_eq(s1, s2, "round trip of <%s>: <%s> then <%s>", fs[i], s1, s2);
        free(s1);
        free(s2);
        fnode_free(n);
        fnode_free(m);
    }
}

FP_TEST(to_string_of_null_is_empty)
{
    char *s = fnode_to_string(NULL);
    cr_assert_not_null(s);
    cr_assert_str_eq(s, "");
    free(s);
}

/* ---- robustness ---------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_message(const segdb_err *e, int rc)
{
    cr_assert(rc == SEGDB_EINVAL || rc == SEGDB_ELIMIT, "rc %d", rc);
    cr_assert_eq(e->code, rc);
    cr_assert_gt(strlen(e->msg), 0);
    for (const char *c = e->msg; *c; c++)
        cr_assert((unsigned char)*c >= 0x20 && *c != 0x7F, "control byte in message: %s", e->msg);
    cr_assert(strstr(e->msg, "position") || strstr(e->msg, "empty filter") ||
                  strstr(e->msg, "UTF-8 at byte") || strstr(e->msg, "more than") ||
                  strstr(e->msg, "bytes; the limit"),
              "message without a position: %s", e->msg);
}

FP_TEST(random_garbage_never_crashes_or_leaks, .timeout = 120)
{
    static const char *toks[] = {
        "city", "tag", "q", "has", "missing", ":", ":", "(", ")", ",", " ", " ", "\t",
        "AND", "or", "Not", "\"", "'", "\\", "has:", "missing:", "=", "!=", "!", "<", "<=",
        ">", ">=", "~", "Hà", "Nội", "-30d", "2019-11-01T18:00:00+07:00", "vip", "x", "1",
        "&&", "a:b", "\xC3", "\xE1\xBB", "\xFF", "\n", "NOT (", "(x:1", "\"a b\"", "'c'",
    };
    const size_t ntoks = sizeof toks / sizeof toks[0];
    filter_limits tight = {200, 3, 5};
    filter_limits roomy = {UINT32_MAX, 512, 1u << 20};
    char buf[512];
    size_t nok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0, ntok = rng() % 40;
        for (size_t t = 0; t < ntok; t++) {
            if (rng() % 8 == 0) {
                buf[len++] = (char)(rng() & 0xFF);
            } else {
                const char *k = toks[rng() % ntoks];
                size_t kl = strlen(k);
                if (len + kl >= sizeof buf)
                    break;
                memcpy(buf + len, k, kl);
                len += kl;
            }
            if (len + 1 >= sizeof buf)
                break;
        }
        const filter_limits *lim = iter % 5 == 0 ? &tight : NULL;
        fnode *n = (fnode *)1;
        segdb_err e = {0};
        int rc = filter_parse(buf, len, lim, &n, &e);
        if (rc) {
            cr_assert_null(n);
            check_message(&e, rc);
            continue;
        }
        nok++;
        char *s1 = fnode_to_string(n);
        cr_assert_not_null(s1);
        fnode *m = NULL;
        rc = filter_parse(s1, strlen(s1), &roomy, &m, &e);
        cr_assert_eq(rc, 0, "reparse of <%s> (from <%.*s>) failed: %s", s1, (int)len, buf, e.msg);
        char *s2 = fnode_to_string(m);
        cr_assert_str_eq(s1, s2);
        free(s1);
        free(s2);
        fnode_free(n);
        fnode_free(m);
    }
    /* the generator must reach the success path too, or the round trip above tests nothing */
    cr_assert_gt(nok, 100, "only %zu of 20000 random filters parsed", nok);
}

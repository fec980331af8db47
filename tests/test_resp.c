/*
 * test_resp.c — Criterion suite `resp`: the incremental RESP2 + inline
 * request parser (server/resp.c): commands split at every byte, pipelining,
 * the limits of SPEC section 6 (huge declared sizes refused before any
 * allocation, unauthenticated clients), malformed input, and inline quoting.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "segdb_limits.h"

/* Collected commands: each joined as "arg|arg|..." with NUL bytes shown as \0. */
typedef struct collected {
    char out[64][512];
    int n;
    int last;           /* last non-command result (RESP_MORE or an error) */
    char errmsg[RESP_ERRMSG_BYTES];
    int errors;
    int quotes;
} collected;

static void record(collected *col, const resp_parser *p)
{
    char *o = col->out[col->n++];
    size_t w = 0;
    for (int i = 0; i < p->argc; i++) {
        if (i)
            o[w++] = '|';
        for (size_t k = 0; k < p->argvlen[i] && w < 500; k++) {
            if (p->argv[i][k] == '\0') {
                o[w++] = '\\';
                o[w++] = '0';
            } else {
                o[w++] = p->argv[i][k];
            }
        }
        cr_assert_eq(p->argv[i][p->argvlen[i]], '\0', "argument %d is NUL-terminated", i);
    }
    o[w] = '\0';
}

/* Feed data in chunks of `step` bytes (0 = all at once); stop at a fatal error. */
static void feed_all(resp_parser *p, collected *col, const char *data, size_t len, size_t step)
{
    size_t pos = 0;
    col->last = RESP_MORE;
    while (pos < len) {
        size_t chunk = step ? step : len;
        if (chunk > len - pos)
            chunk = len - pos;
        size_t off = 0;
        while (off < chunk) {
            size_t used = 0;
            int r = resp_feed(p, data + pos + off, chunk - off, &used);
            cr_assert_leq(used, chunk - off);
            off += used;
            if (r == RESP_CMD) {
                record(col, p);
            } else if (r == RESP_EQUOTES) {
                col->quotes++;
                strcpy(col->errmsg, p->errmsg);
            } else if (r < 0) {
                col->last = r;
                col->errors++;
                strcpy(col->errmsg, p->errmsg);
                return;
            } else {
                cr_assert_eq(used, chunk - off + used, "RESP_MORE consumes everything");
            }
        }
        pos += chunk;
    }
}

static collected *parse(const char *data, size_t len, size_t step, bool unauth)
{
    static collected col;
    memset(&col, 0, sizeof(col));
    resp_parser p;
    resp_parser_init(&p);
    p.unauth = unauth;
    feed_all(&p, &col, data, len, step);
    resp_parser_free(&p);
    return &col;
}

#define PARSE(lit) parse(lit, sizeof(lit) - 1, 0, false)

Test(resp, multibulk_command_is_parsed)
{
    collected *c = PARSE("*3\r\n$6\r\nUPSERT\r\n$1\r\n5\r\n$4\r\ncity\r\n");
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "UPSERT|5|city");
    cr_assert_eq(c->errors, 0);
}

Test(resp, inline_command_is_split_on_whitespace)
{
    collected *c = PARSE("COUNT  WHERE\ttag:vip   AND city:hanoi\r\n");
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "COUNT|WHERE|tag:vip|AND|city:hanoi");
}

static const char PIPELINE[] =
    "*1\r\n$4\r\nPING\r\n"
    "PING hello\r\n"
    "\r\n"
    "*2\r\n$4\r\nECHO\r\n$7\r\na\r\nb\0c\r\r\n"
    "\n"
    "*0\r\n"
    "*-1\r\n"
    "UPSERT 5 city \"H\\xc3\\xa0 N\\xe1\\xbb\\x99i\"\n"
    "*2\r\n$3\r\nGET\r\n$20\r\n18446744073709551615\r\n"
    "COUNT WHERE city:\"ha noi\"\r\n";

static void check_pipeline(collected *c)
{
    cr_assert_eq(c->errors, 0, "no error: %s", c->errmsg);
    cr_assert_eq(c->n, 6);
    cr_assert_str_eq(c->out[0], "PING");
    cr_assert_str_eq(c->out[1], "PING|hello");
    cr_assert_str_eq(c->out[2], "ECHO|a\r\nb\\0c\r");
    cr_assert_str_eq(c->out[3], "UPSERT|5|city|Hà Nội");
    cr_assert_str_eq(c->out[4], "GET|18446744073709551615");
    cr_assert_str_eq(c->out[5], "COUNT|WHERE|city:\"ha noi\"");
}

Test(resp, pipelined_commands_in_one_feed)
{
    check_pipeline(parse(PIPELINE, sizeof(PIPELINE) - 1, 0, false));
}

Test(resp, commands_split_at_every_byte_give_the_same_result)
{
    for (size_t step = 1; step <= 7; step++)
        check_pipeline(parse(PIPELINE, sizeof(PIPELINE) - 1, step, false));
    /* and every single split point of the whole stream into two feeds */
    size_t len = sizeof(PIPELINE) - 1;
    for (size_t cut = 1; cut < len; cut++) {
        static collected col;
        memset(&col, 0, sizeof(col));
        resp_parser p;
        resp_parser_init(&p);
        feed_all(&p, &col, PIPELINE, cut, 0);
        feed_all(&p, &col, PIPELINE + cut, len - cut, 0);
        resp_parser_free(&p);
        check_pipeline(&col);
    }
}

Test(resp, binary_bulk_keeps_nul_and_crlf_bytes)
{
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$5\r\n\0\r\n\xff\x01\r\n";
    collected *c = parse(in, sizeof(in) - 1, 0, false);
    cr_assert_eq(c->n, 1);
    cr_assert_eq(memcmp(c->out[0], "ECHO|\\0\r\n\xff\x01", 11), 0);
}

Test(resp, huge_multibulk_count_is_refused_with_limit)
{
    collected *c = PARSE("*4294967295\r\n");
    cr_assert_eq(c->last, RESP_ELIMIT);
    cr_assert(strstr(c->errmsg, "4294967295"), "message names the count: %s", c->errmsg);
}

Test(resp, huge_bulk_length_is_refused_with_limit_before_allocating)
{
    resp_parser p;
    resp_parser_init(&p);
    size_t used;
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$9999999999\r\n";
    int r = resp_feed(&p, in, sizeof(in) - 1, &used);
    cr_assert_eq(r, RESP_ELIMIT);
    cr_assert(strstr(p.errmsg, "9999999999"), "%s", p.errmsg);
    cr_assert_lt(p.arena_cap, 4096, "nothing allocated for the declared size");
    resp_parser_free(&p);
}

Test(resp, declared_large_bulk_grows_only_with_received_bytes)
{
    resp_parser p;
    resp_parser_init(&p);
    size_t used;
    static const char in[] = "*2\r\n$4\r\nECHO\r\n$60000000\r\nabc";
    int r = resp_feed(&p, in, sizeof(in) - 1, &used);
    cr_assert_eq(r, RESP_MORE);
    cr_assert_lt(p.arena_cap, 128 * 1024, "arena is %zu bytes", p.arena_cap);
    resp_parser_free(&p);
}

Test(resp, bulk_length_with_twenty_digits_is_a_limit_not_a_crash)
{
    collected *c = PARSE("*1\r\n$99999999999999999999999999999\r\n");
    cr_assert_eq(c->last, RESP_ELIMIT);
    c = PARSE("*99999999999999999999999999999999999999999999\r\n");
    cr_assert_eq(c->last, RESP_ELIMIT);
}

Test(resp, too_many_arguments_is_refused)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "*%u\r\n", SEGDB_MAX_ARGS + 1);
    collected *c = parse(buf, strlen(buf), 0, false);
    cr_assert_eq(c->last, RESP_ELIMIT);
    snprintf(buf, sizeof(buf), "*%u\r\n", SEGDB_MAX_ARGS);
    c = parse(buf, strlen(buf), 0, false);
    cr_assert_eq(c->errors, 0, "exactly the limit is accepted");
}

Test(resp, bulk_over_configured_limit_is_refused)
{
    resp_parser p;
    resp_parser_init(&p);
    p.max_bulk_bytes = 10;
    size_t used;
    int r = resp_feed(&p, "*1\r\n$10\r\n0123456789\r\n", 22, &used);
    cr_assert_eq(r, RESP_CMD, "exactly the limit is fine");
    r = resp_feed(&p, "*1\r\n$11\r\n", 9, &used);
    cr_assert_eq(r, RESP_ELIMIT);
    resp_parser_free(&p);
}

Test(resp, inline_line_over_limit_is_refused)
{
    resp_parser p;
    resp_parser_init(&p);
    p.max_bulk_bytes = 16;
    size_t used;
    int r = resp_feed(&p, "PING 0123456789\n", 16, &used);
    cr_assert_eq(r, RESP_CMD);
    r = resp_feed(&p, "PING 0123456789ab", 17, &used);
    cr_assert_eq(r, RESP_ELIMIT);
    resp_parser_free(&p);
}

Test(resp, unauthenticated_multibulk_count_is_limited)
{
    collected *c = parse("*1000\r\n", 7, 0, true);
    cr_assert_eq(c->last, RESP_ELIMIT);
    cr_assert(strstr(c->errmsg, "AUTH"), "%s", c->errmsg);
    c = parse("*1000\r\n", 7, 0, false);
    cr_assert_eq(c->errors, 0, "the same header is fine after AUTH");
}

Test(resp, unauthenticated_bulk_length_is_limited)
{
    collected *c = PARSE("*2\r\n$4\r\nAUTH\r\n$100000\r\n");
    cr_assert_eq(c->errors, 0);
    static const char in[] = "*2\r\n$4\r\nAUTH\r\n$100000\r\n";
    c = parse(in, sizeof(in) - 1, 0, true);
    cr_assert_eq(c->last, RESP_ELIMIT);
    static const char ok[] = "*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n";
    c = parse(ok, sizeof(ok) - 1, 0, true);
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "AUTH|secret");
}

Test(resp, unauthenticated_inline_line_is_limited)
{
    size_t n = SEGDB_MAX_UNAUTH_BUFFER_BYTES + 10;
    char *line = malloc(n);
    memset(line, 'a', n);
    collected *c = parse(line, n, 1000, true);
    cr_assert_eq(c->last, RESP_ELIMIT);
    c = parse(line, n, 1000, false);
    cr_assert_eq(c->errors, 0);
    free(line);
}

Test(resp, negative_bulk_length_is_a_protocol_error)
{
    collected *c = PARSE("*1\r\n$-5\r\n");
    cr_assert_eq(c->last, RESP_EPROTO);
    cr_assert_str_eq(c->errmsg, "Protocol error: invalid bulk length");
}

Test(resp, malformed_multibulk_length_is_a_protocol_error)
{
    collected *c = PARSE("*abc\r\n");
    cr_assert_eq(c->last, RESP_EPROTO);
    cr_assert_str_eq(c->errmsg, "Protocol error: invalid multibulk length");
    c = PARSE("*\r\n");
    cr_assert_eq(c->last, RESP_EPROTO);
    c = PARSE("*+3\r\n");
    cr_assert_eq(c->last, RESP_EPROTO);
    c = PARSE("*3 \r\n");
    cr_assert_eq(c->last, RESP_EPROTO);
    c = PARSE("*1x1111111111111111111111111111111111111\r\n");
    cr_assert_eq(c->last, RESP_EPROTO);
}

Test(resp, missing_dollar_is_a_protocol_error)
{
    collected *c = PARSE("*2\r\n$4\r\nPING\r\n:12\r\n");
    cr_assert_eq(c->last, RESP_EPROTO);
    cr_assert_str_eq(c->errmsg, "Protocol error: expected '$', got ':'");
    c = parse("*1\r\n\x01", 5, 0, false);
    cr_assert_eq(c->last, RESP_EPROTO);
    cr_assert_str_eq(c->errmsg, "Protocol error: expected '$', got byte 0x01");
}

Test(resp, missing_crlf_after_bulk_is_a_protocol_error)
{
    collected *c = PARSE("*1\r\n$4\r\nPINGxx");
    cr_assert_eq(c->last, RESP_EPROTO);
    cr_assert(strstr(c->errmsg, "CRLF"), "%s", c->errmsg);
    c = PARSE("*1\r\n$4\r\nPING\rx");
    cr_assert_eq(c->last, RESP_EPROTO);
}

Test(resp, empty_inline_lines_and_empty_arrays_are_skipped)
{
    collected *c = PARSE("\r\n\n   \r\n*0\r\n\t\nPING\n");
    cr_assert_eq(c->errors, 0);
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "PING");
}

Test(resp, double_quotes_take_escapes)
{
    collected *c = PARSE("SET \"a\\\"b\\\\c\\nd\\te\\x41\\xc3\\xa0\\q\" x\n");
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "SET|a\"b\\c\nd\teAàq|x");
}

Test(resp, bad_hex_escape_is_the_letter_x)
{
    collected *c = PARSE("ECHO \"\\xZZ\"\n");
    cr_assert_str_eq(c->out[0], "ECHO|xZZ");
}

Test(resp, single_quotes_take_only_escaped_quote)
{
    collected *c = PARSE("ECHO 'it\\'s \\n raw'\n");
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "ECHO|it's \\n raw");
}

Test(resp, vietnamese_values_survive_inline_quoting)
{
    collected *c = PARSE("UPSERT 7 name \"Nguyễn Thị Ánh\" city 'Hà Nội' note Đà_Lạt\r\n");
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "UPSERT|7|name|Nguyễn Thị Ánh|city|Hà Nội|note|Đà_Lạt");
}

Test(resp, where_filter_in_one_quoted_argument)
{
    collected *c = PARSE("COUNT WHERE \"tag:vip AND city:'Hà Nội'\"\n");
    cr_assert_str_eq(c->out[0], "COUNT|WHERE|tag:vip AND city:'Hà Nội'");
}

Test(resp, quote_inside_a_word_is_kept_with_its_spaces)
{
    collected *c = PARSE("COUNT WHERE city:\"ha noi\" AND name:'a \\' b'x y\n");
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "COUNT|WHERE|city:\"ha noi\"|AND|name:'a \\' b'x|y");
}

Test(resp, empty_quoted_argument_is_an_empty_string)
{
    collected *c = PARSE("ECHO \"\" ''\n");
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "ECHO||");
}

Test(resp, unbalanced_quotes_are_reported_and_the_stream_goes_on)
{
    collected *c = PARSE("ECHO \"abc\nPING\nECHO 'x\nECHO \"a\"b\nECHO city:\"x\nPING 2\n");
    cr_assert_eq(c->errors, 0);
    cr_assert_eq(c->quotes, 4);
    cr_assert_str_eq(c->errmsg, "Protocol error: unbalanced quotes in request");
    cr_assert_eq(c->n, 2);
    cr_assert_str_eq(c->out[0], "PING");
    cr_assert_str_eq(c->out[1], "PING|2");
}

Test(resp, trailing_backslash_in_quotes_is_unbalanced)
{
    collected *c = PARSE("ECHO \"abc\\\n");
    cr_assert_eq(c->quotes, 1);
    cr_assert_eq(c->n, 0);
}

Test(resp, inline_line_with_nul_byte_keeps_it)
{
    static const char in[] = "ECHO a\0b\n";
    collected *c = parse(in, sizeof(in) - 1, 0, false);
    cr_assert_eq(c->n, 1);
    cr_assert_str_eq(c->out[0], "ECHO|a\\0b");
}

Test(resp, pending_bytes_report_a_partial_request)
{
    resp_parser p;
    resp_parser_init(&p);
    size_t used;
    cr_assert_eq(resp_feed(&p, "*2\r\n$4\r\nECHO\r\n$10\r\nabc", 22, &used), RESP_MORE);
    cr_assert_gt(resp_pending_bytes(&p), 0);
    cr_assert_eq(resp_feed(&p, "defghij\r\n", 9, &used), RESP_CMD);
    cr_assert_eq(p.argvlen[1], 10);
    cr_assert_eq(memcmp(p.argv[1], "abcdefghij", 10), 0);
    resp_parser_free(&p);
}

Test(resp, split_line_matches_the_inline_parser)
{
    char **argv;
    size_t *lens;
    int argc;
    int r = resp_split_line("set \"a b\" 'c d' e\\x41 \"\\x41\"", 28, 0, &argv, &lens, &argc);
    cr_assert_eq(r, 0);
    cr_assert_eq(argc, 5);
    cr_assert_str_eq(argv[0], "set");
    cr_assert_str_eq(argv[1], "a b");
    cr_assert_str_eq(argv[2], "c d");
    cr_assert_str_eq(argv[3], "e\\x41", "escapes only inside double quotes");
    cr_assert_str_eq(argv[4], "A");
    cr_assert_eq(lens[4], 1);
    resp_free_args(argv, lens, argc);
    cr_assert_eq(resp_split_line("a \"b", 4, 0, &argv, &lens, &argc), RESP_EQUOTES);
    cr_assert_null(argv);
    cr_assert_eq(resp_split_line("   ", 3, 0, &argv, &lens, &argc), 0);
    cr_assert_eq(argc, 0);
    resp_free_args(argv, lens, argc);
    cr_assert_eq(resp_split_line("a b c", 5, 2, &argv, &lens, &argc), RESP_ELIMIT);
}

Test(resp, random_garbage_never_crashes_and_ends_cleanly)
{
    unsigned seed = 12345;
    char buf[4096];
    for (int round = 0; round < 300; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned v = (seed >> 16) & 0xff;
            /* bias towards protocol characters so the parser goes deep */
            static const char pick[] = "*$\r\n0123456789-\"' \\x";
            buf[i] = (v & 1) ? pick[v % (sizeof(pick) - 1)] : (char)v;
        }
        static collected col;
        memset(&col, 0, sizeof(col));
        resp_parser p;
        resp_parser_init(&p);
        p.unauth = round & 1;
        resp_parser_shrink(&p);
        size_t pos = 0;
        while (pos < sizeof(buf) && col.n < 60) {
            size_t used = 0;
            int r = resp_feed(&p, buf + pos, sizeof(buf) - pos, &used);
            pos += used;
            if (r == RESP_CMD)
                record(&col, &p);
            else if (r != RESP_EQUOTES && r != RESP_MORE)
                break;
        }
        resp_parser_free(&p);
    }
}

Test(resp, large_request_buffers_are_released_afterwards)
{
    resp_parser p;
    resp_parser_init(&p);
    size_t n = 300000;
    char *req = malloc(n + 64);
    int h = snprintf(req, 64, "*2\r\n$4\r\nECHO\r\n$%zu\r\n", n);
    memset(req + h, 'q', n);
    memcpy(req + h + n, "\r\n", 2);
    size_t used;
    cr_assert_eq(resp_feed(&p, req, (size_t)h + n + 2, &used), RESP_CMD);
    cr_assert_eq(p.argvlen[1], n);
    cr_assert_geq(p.arena_cap, n);
    cr_assert_eq(resp_feed(&p, "PING\r\n", 6, &used), RESP_CMD);
    cr_assert_lt(p.arena_cap, 128 * 1024, "the 300 KB arena was released: %zu", p.arena_cap);
    free(req);
    resp_parser_free(&p);
}

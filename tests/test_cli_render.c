/*
 * test_cli_render.c — Criterion suites for segdb-cli's pure parts: the RESP
 * reply reader (every split of the input, nesting, nil, errors, integers,
 * malformed and oversized replies, random garbage), the command encoder
 * (checked against the server's own request parser), the redis-cli style
 * renderer (formatted and raw), UTF-8 display widths and the FIND FIELDS
 * table, TAB completion candidates, and the embedded backend end to end
 * (commands in process, persistence in its data directory, the lock).
 *
 * The tools' .c files are not linked into tests: the CLI sources are included here.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/cli_buf.c"
#include "../tools/cli_resp.c"
#include "../tools/cli_render.c"
#include "../tools/cli_complete.c"
#include "../tools/cli_backend.c"
#include "../tools/cli_embedded.c"

#include "resp.h"

/* ---- helpers --------------------------------------------------------------- */

/* Parse data fed in chunks of step bytes (0 = all at once); expect exactly one reply. */
static cli_value *parse_one(const char *data, size_t len, size_t step)
{
    cli_reader r;
    cli_reader_init(&r);
    cli_value *v = NULL;
    size_t pos = 0;
    while (pos < len) {
        size_t n = step ? step : len;
        if (n > len - pos)
            n = len - pos;
        cr_assert_eq(cli_reader_feed(&r, data + pos, n), 0, "feed at %zu: %s", pos, r.errmsg);
        pos += n;
        int g = cli_reader_get(&r, &v);
        cr_assert_geq(g, 0, "get at %zu: %s", pos, r.errmsg);
        if (g == CLI_RESP_REPLY) {
            cr_assert_eq(pos, len, "reply complete only at the end (at %zu of %zu)", pos, len);
            break;
        }
    }
    cr_assert_not_null(v, "a reply was produced");
    cr_assert_eq(cli_reader_pending(&r), 0);
    cli_reader_free(&r);
    return v;
}

/* Feed everything at once; the first error code (or CLI_RESP_MORE/REPLY). */
static int parse_status(const char *data, size_t len, size_t max, char *msg, size_t msgcap)
{
    cli_reader r;
    cli_reader_init(&r);
    if (max)
        r.max_reply_bytes = max;
    cli_value *v = NULL;
    int g = cli_reader_feed(&r, data, len);
    if (g == 0)
        g = cli_reader_get(&r, &v);
    if (msg)
        snprintf(msg, msgcap, "%s", r.errmsg);
    /* errors are sticky */
    if (g < 0) {
        cli_value *w = NULL;
        cr_assert_eq(cli_reader_get(&r, &w), g);
        cr_assert_eq(cli_reader_feed(&r, "+OK\r\n", 5), g);
        cr_assert_null(w);
    }
    cli_value_free(v);
    cli_reader_free(&r);
    return g;
}

/* Render formatted or raw into a static string. */
static const char *tty(const char *resp)
{
    static char out[8192];
    cli_value *v = parse_one(resp, strlen(resp), 0);
    cli_buf b;
    cli_buf_init(&b);
    cli_render_tty(&b, v);
    cr_assert(!b.oom);
    snprintf(out, sizeof out, "%s", b.p);
    cli_buf_free(&b);
    cli_value_free(v);
    return out;
}

static const char *raw(const char *resp)
{
    static char out[8192];
    cli_value *v = parse_one(resp, strlen(resp), 0);
    cli_buf b;
    cli_buf_init(&b);
    cli_render_raw(&b, v);
    snprintf(out, sizeof out, "%s", b.p);
    cli_buf_free(&b);
    cli_value_free(v);
    return out;
}

/* ---- reader ------------------------------------------------------------------ */

Test(cli_resp, scalar_types)
{
    cli_value *v = parse_one("+PONG\r\n", 7, 0);
    cr_assert_eq(v->type, CLI_V_STATUS);
    cr_assert_str_eq(v->str, "PONG");
    cli_value_free(v);

    v = parse_one("-ERR unknown field 'x'\r\n", 24, 0);
    cr_assert_eq(v->type, CLI_V_ERROR);
    cr_assert_str_eq(v->str, "ERR unknown field 'x'");
    cli_value_free(v);

    v = parse_one(":-42\r\n", 6, 0);
    cr_assert_eq(v->type, CLI_V_INT);
    cr_assert_eq(v->integer, -42);
    cli_value_free(v);

    v = parse_one("$-1\r\n", 5, 0);
    cr_assert_eq(v->type, CLI_V_NIL);
    cli_value_free(v);

    v = parse_one("*-1\r\n", 5, 0);
    cr_assert_eq(v->type, CLI_V_NIL);
    cli_value_free(v);

    v = parse_one("$0\r\n\r\n", 6, 0);
    cr_assert_eq(v->type, CLI_V_BULK);
    cr_assert_eq(v->len, 0);
    cli_value_free(v);

    v = parse_one("*0\r\n", 4, 0);
    cr_assert_eq(v->type, CLI_V_ARRAY);
    cr_assert_eq(v->n, 0);
    cli_value_free(v);
}

Test(cli_resp, integer_extremes)
{
    cli_value *v = parse_one(":9223372036854775807\r\n", 22, 0);
    cr_assert_eq(v->integer, LLONG_MAX);
    cli_value_free(v);
    v = parse_one(":-9223372036854775808\r\n", 23, 0);
    cr_assert_eq(v->integer, LLONG_MIN);
    cli_value_free(v);
    cr_assert_eq(parse_status(":9223372036854775808\r\n", 22, 0, NULL, 0), CLI_RESP_EPROTO);
    cr_assert_eq(parse_status(":-9223372036854775809\r\n", 23, 0, NULL, 0), CLI_RESP_EPROTO);
    cr_assert_eq(parse_status(":\r\n", 3, 0, NULL, 0), CLI_RESP_EPROTO);
    cr_assert_eq(parse_status(":-\r\n", 4, 0, NULL, 0), CLI_RESP_EPROTO);
    cr_assert_eq(parse_status(":+5\r\n", 5, 0, NULL, 0), CLI_RESP_EPROTO);
    cr_assert_eq(parse_status(":12a\r\n", 6, 0, NULL, 0), CLI_RESP_EPROTO);
    cr_assert_eq(parse_status(": 1\r\n", 5, 0, NULL, 0), CLI_RESP_EPROTO);
}

Test(cli_resp, binary_bulk_keeps_nul_and_crlf)
{
    static const char in[] = "$6\r\na\0b\r\nc\r\n";
    cli_value *v = parse_one(in, sizeof in - 1, 0);
    cr_assert_eq(v->type, CLI_V_BULK);
    cr_assert_eq(v->len, 6);
    cr_assert_eq(memcmp(v->str, "a\0b\r\nc", 6), 0);
    cr_assert_eq(v->str[6], '\0');
    cli_value_free(v);
}

static const char NESTED[] =
    "*4\r\n"
    "*3\r\n$2\r\n12\r\n$16\r\nNguy\xe1\xbb\x85n V\xc4\x83n An\r\n$-1\r\n"
    ":7\r\n"
    "*2\r\n*1\r\n+deep\r\n*0\r\n"
    "-ERR inside\r\n";

static void check_nested(const cli_value *v)
{
    cr_assert_eq(v->type, CLI_V_ARRAY);
    cr_assert_eq(v->n, 4);
    const cli_value *row = v->elem[0];
    cr_assert_eq(row->type, CLI_V_ARRAY);
    cr_assert_eq(row->n, 3);
    cr_assert_str_eq(row->elem[0]->str, "12");
    cr_assert_str_eq(row->elem[1]->str, "Nguy\xe1\xbb\x85n V\xc4\x83n An");
    cr_assert_eq(row->elem[2]->type, CLI_V_NIL);
    cr_assert_eq(v->elem[1]->integer, 7);
    cr_assert_eq(v->elem[2]->n, 2);
    cr_assert_str_eq(v->elem[2]->elem[0]->elem[0]->str, "deep");
    cr_assert_eq(v->elem[2]->elem[1]->n, 0);
    cr_assert_eq(v->elem[3]->type, CLI_V_ERROR);
}

Test(cli_resp, nested_arrays_in_every_split)
{
    size_t len = sizeof NESTED - 1;
    for (size_t step = 0; step <= len; step++) {
        cli_value *v = parse_one(NESTED, len, step);
        check_nested(v);
        cli_value_free(v);
    }
}

Test(cli_resp, two_replies_in_one_feed_come_out_in_order)
{
    cli_reader r;
    cli_reader_init(&r);
    cr_assert_eq(cli_reader_feed(&r, ":1\r\n$3\r\nabc\r\n*1\r\n", 17), 0);
    cli_value *v = NULL;
    cr_assert_eq(cli_reader_get(&r, &v), CLI_RESP_REPLY);
    cr_assert_eq(v->integer, 1);
    cli_value_free(v);
    cr_assert_eq(cli_reader_get(&r, &v), CLI_RESP_REPLY);
    cr_assert_str_eq(v->str, "abc");
    cli_value_free(v);
    cr_assert_eq(cli_reader_get(&r, &v), CLI_RESP_MORE);
    cr_assert_gt(cli_reader_pending(&r), 0);
    cr_assert_eq(cli_reader_feed(&r, ":2\r\n", 4), 0);
    cr_assert_eq(cli_reader_get(&r, &v), CLI_RESP_REPLY);
    cr_assert_eq(v->n, 1);
    cli_value_free(v);
    cli_reader_free(&r);
}

Test(cli_resp, malformed_replies_are_protocol_errors)
{
    static const char *const bad[] = {
        "?what\r\n",            /* unknown type byte */
        "OK\r\n",               /* no type byte */
        "+OK\rX\n",             /* CR not followed by LF */
        "$3\r\nabcd\r\n",       /* bulk longer than declared */
        "$3\r\nab\r\n\r\n",     /* shorter: CRLF not where it must be */
        "$-2\r\n",
        "$abc\r\n",
        "$\r\n",
        "*-2\r\n",
        "*x\r\n",
        "*1\r\n!\r\n",          /* bad element inside an array */
        "\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[CLI_RESP_ERRMSG_BYTES];
        int g = parse_status(bad[i], strlen(bad[i]), 0, msg, sizeof msg);
        cr_assert_eq(g, CLI_RESP_EPROTO, "case %zu (%s): %d", i, bad[i], g);
        cr_assert(strstr(msg, "Protocol error") != NULL, "case %zu: %s", i, msg);
    }
}

Test(cli_resp, incomplete_replies_wait)
{
    static const char *const partial[] = {"+OK", "+OK\r", "$5\r\nab", "*2\r\n:1\r\n", "$5", "*", ":12"};
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++)
        cr_assert_eq(parse_status(partial[i], strlen(partial[i]), 0, NULL, 0), CLI_RESP_MORE, "case %zu", i);
}

Test(cli_resp, declared_sizes_over_the_bound_fail_before_their_bytes_arrive)
{
    char msg[CLI_RESP_ERRMSG_BYTES];
    /* a 1 GB bulk is refused on its header alone */
    cr_assert_eq(parse_status("$1000000000\r\n", 13, 1024, msg, sizeof msg), CLI_RESP_ELIMIT);
    cr_assert(strstr(msg, "1000000000") != NULL, "%s", msg);
    cr_assert_eq(parse_status("$9223372036854775807\r\n", 22, 0, NULL, 0), CLI_RESP_ELIMIT);
    /* as is an array that could not fit */
    cr_assert_eq(parse_status("*1000000\r\n", 10, 1024, NULL, 0), CLI_RESP_ELIMIT);
    cr_assert_eq(parse_status("*9223372036854775807\r\n", 22, 0, NULL, 0), CLI_RESP_ELIMIT);
    /* the bound counts the whole reply, across elements */
    char big[2048];
    size_t n = 0;
    n += (size_t)sprintf(big + n, "*100\r\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(big + n, "+0123456789\r\n");
    cr_assert_eq(parse_status(big, n, 1024, NULL, 0), CLI_RESP_ELIMIT);
    cr_assert_eq(parse_status(big, n, 4096, NULL, 0), CLI_RESP_REPLY);
    /* a line that never ends is cut at the bound */
    char line[600];
    memset(line, 'x', sizeof line);
    line[0] = '+';
    cr_assert_eq(parse_status(line, sizeof line, 512, NULL, 0), CLI_RESP_ELIMIT);
}

Test(cli_resp, nesting_deeper_than_the_limit_fails)
{
    char buf[4 * (CLI_RESP_MAX_DEPTH + 2) + 8];
    size_t n = 0;
    for (int i = 0; i < CLI_RESP_MAX_DEPTH; i++)
        n += (size_t)sprintf(buf + n, "*1\r\n");
    n += (size_t)sprintf(buf + n, ":1\r\n");
    cr_assert_eq(parse_status(buf, n, 0, NULL, 0), CLI_RESP_REPLY, "%d levels are fine", CLI_RESP_MAX_DEPTH);
    n = 0;
    for (int i = 0; i < CLI_RESP_MAX_DEPTH + 1; i++)
        n += (size_t)sprintf(buf + n, "*1\r\n");
    n += (size_t)sprintf(buf + n, ":1\r\n");
    cr_assert_eq(parse_status(buf, n, 0, NULL, 0), CLI_RESP_ELIMIT);
}

Test(cli_resp, random_garbage_never_crashes)
{
    /* seeded: the same bytes every run */
    unsigned seed = 12345;
    static const char alphabet[] = "+-:$*\r\n0123456789-abc";
    for (int round = 0; round < 3000; round++) {
        char buf[64];
        size_t n = 1 + (size_t)(rand_r(&seed) % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (rand_r(&seed) & 1) ? alphabet[rand_r(&seed) % (int)(sizeof alphabet - 1)]
                                         : (char)rand_r(&seed);
        cli_reader r;
        cli_reader_init(&r);
        r.max_reply_bytes = 4096;
        size_t pos = 0;
        while (pos < n) {
            size_t k = 1 + (size_t)(rand_r(&seed) % 7);
            if (k > n - pos)
                k = n - pos;
            if (cli_reader_feed(&r, buf + pos, k) < 0)
                break;
            pos += k;
            cli_value *v = NULL;
            int g;
            while ((g = cli_reader_get(&r, &v)) == CLI_RESP_REPLY)
                cli_value_free(v);
            if (g < 0)
                break;
        }
        cli_reader_free(&r);
    }
}

/* ---- encoder ------------------------------------------------------------------- */

Test(cli_resp, encode_is_an_array_of_bulks_the_server_reads_back)
{
    const char *argv[] = {"COUNT", "WHERE", "city:\"H\xc3\xa0 N\xe1\xbb\x99i\"", "a\0b", ""};
    size_t lens[] = {5, 5, strlen(argv[2]), 3, 0};
    cli_buf b;
    cli_buf_init(&b);
    cr_assert_eq(cli_resp_encode(&b, 5, argv, lens), 0);
    cr_assert_eq(memcmp(b.p, "*5\r\n$5\r\nCOUNT\r\n$5\r\nWHERE\r\n", 26), 0);
    resp_parser p;
    resp_parser_init(&p);
    size_t used = 0;
    cr_assert_eq(resp_feed(&p, b.p, b.len, &used), RESP_CMD);
    cr_assert_eq(used, b.len);
    cr_assert_eq(p.argc, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(p.argvlen[i], lens[i], "argument %d", i);
        cr_assert_eq(memcmp(p.argv[i], argv[i], lens[i]), 0, "argument %d", i);
    }
    resp_parser_free(&p);
    cli_buf_free(&b);
}

/* ---- formatted rendering ---------------------------------------------------------- */

Test(cli_render, scalars_like_redis_cli)
{
    cr_assert_str_eq(tty(":5\r\n"), "(integer) 5\n");
    cr_assert_str_eq(tty("$-1\r\n"), "(nil)\n");
    cr_assert_str_eq(tty("-ERR unknown field 'x'\r\n"), "(error) ERR unknown field 'x'\n");
    cr_assert_str_eq(tty("+OK\r\n"), "OK\n");
    cr_assert_str_eq(tty("$5\r\nhello\r\n"), "\"hello\"\n");
    cr_assert_str_eq(tty("*0\r\n"), "(empty array)\n");
}

Test(cli_render, nested_arrays_indent_like_redis_cli)
{
    /* the same shape as redis-cli 7 shows for EVAL "return {1,{2,'a',{}},{},...}" */
    const char *in = "*4\r\n:1\r\n*3\r\n:2\r\n$1\r\na\r\n*0\r\n*0\r\n"
                     "*10\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n:9\r\n:10\r\n";
    cr_assert_str_eq(tty(in),
                     "1) (integer) 1\n"
                     "2) 1) (integer) 2\n"
                     "   2) \"a\"\n"
                     "   3) (empty array)\n"
                     "3) (empty array)\n"
                     "4)  1) (integer) 1\n"
                     "    2) (integer) 2\n"
                     "    3) (integer) 3\n"
                     "    4) (integer) 4\n"
                     "    5) (integer) 5\n"
                     "    6) (integer) 6\n"
                     "    7) (integer) 7\n"
                     "    8) (integer) 8\n"
                     "    9) (integer) 9\n"
                     "   10) (integer) 10\n");
}

Test(cli_render, bulk_text_keeps_utf8_and_escapes_the_rest)
{
    cr_assert_str_eq(tty("$11\r\nH\xc3\xa0 N\xe1\xbb\x99i\r\n\r\n"), "\"H\xc3\xa0 N\xe1\xbb\x99i\\r\\n\"\n");
    cr_assert_str_eq(tty("$7\r\na\"b\\c\td\r\n"), "\"a\\\"b\\\\c\\td\"\n");
    /* ESC (terminal commands), invalid UTF-8 and a C1 control are escaped */
    cr_assert_str_eq(tty("$8\r\n\x1b[2Jx\xff\xc2\x9b\r\n"), "\"\\x1b[2Jx\\xff\\xc2\\x9b\"\n");
    /* an overlong encoding of '/' is not valid UTF-8 */
    cr_assert_str_eq(tty("$2\r\n\xc0\xaf\r\n"), "\"\\xc0\\xaf\"\n");
    /* a status with an escape sequence can't reach the terminal either */
    cr_assert_str_eq(tty("+a\x1b]0;x\x07\r\n"), "a\\x1b]0;x\\a\n");
}

Test(cli_render, raw_form_like_redis_cli)
{
    cr_assert_str_eq(raw(":5\r\n"), "5\n");
    cr_assert_str_eq(raw("$-1\r\n"), "\n");
    cr_assert_str_eq(raw("$5\r\nhello\r\n"), "hello\n");
    cr_assert_str_eq(raw("+OK\r\n"), "OK\n");
    cr_assert_str_eq(raw("-ERR bad\r\n"), "ERR bad\n");
    /* redis-cli prints EVAL "return {1,{2,'a'},{}}" raw as 1 2 a and an empty line */
    cr_assert_str_eq(raw("*3\r\n:1\r\n*2\r\n:2\r\n$1\r\na\r\n*0\r\n"), "1\n2\na\n\n");
    cr_assert_str_eq(raw("*2\r\n$3\r\n12\n\r\n$-1\r\n"), "12\n\n\n");
}

Test(cli_render, multi_line_bulk_at_top_level_is_shown_as_text)
{
    const char *argv[] = {"EXPLAIN", "WHERE", "tag:vip"};
    size_t lens[] = {7, 5, 7};
    const char *in = "$33\r\nplan:\r\n  AND rows=1\n\tBITMAP \x1b[31m\r\n";
    cli_value *v = parse_one(in, strlen(in), 0);
    cli_buf b;
    cli_buf_init(&b);
    cli_render_reply(&b, v, 3, argv, lens, CLI_OUT_TTY);
    cr_assert_str_eq(b.p, "plan:\n  AND rows=1\n\tBITMAP \\x1b[31m\n");
    cli_buf_reset(&b);
    cli_render_reply(&b, v, 3, argv, lens, CLI_OUT_RAW);
    cr_assert_str_eq(b.p, "plan:\r\n  AND rows=1\n\tBITMAP \x1b[31m\n");
    cli_buf_free(&b);
    cli_value_free(v);
}

/* ---- widths and tables ------------------------------------------------------------- */

Test(cli_render, display_width_counts_columns_not_bytes)
{
    /* "Nguyễn" precomposed (NFC) and decomposed (NFD: e + U+0302 + U+0303) */
    const char *nfc = "Nguy\xe1\xbb\x85n";
    const char *nfd = "Nguye\xcc\x82\xcc\x83n";
    cr_assert_eq(cli_display_width(nfc, strlen(nfc)), 6);
    cr_assert_eq(cli_display_width(nfd, strlen(nfd)), 6);
    cr_assert_neq(strlen(nfc), strlen(nfd));
    cr_assert_eq(cli_display_width("\xc4\x91", 2), 1);          /* đ */
    cr_assert_eq(cli_display_width("\xe4\xb8\xad\xe6\x96\x87", 6), 4); /* 中文: wide */
    cr_assert_eq(cli_display_width("ab\xff", 3), 3);             /* an invalid byte counts 1 */
    cr_assert_eq(cli_display_width("", 0), 0);
}

/* The display column at which each '|' of a line sits. */
static size_t bar_columns(const char *line, size_t len, size_t *cols, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < max; i++)
        if (line[i] == '|' || line[i] == '+')
            cols[n++] = cli_display_width(line, i);
    return n;
}

/* Append a RESP bulk of the C string s to a cli_buf. */
static void bulk(cli_buf *b, const char *s)
{
    if (!s) {
        cli_buf_addstr(b, "$-1\r\n");
        return;
    }
    cli_buf_addf(b, "$%zu\r\n%s\r\n", strlen(s), s);
}

Test(cli_render, find_fields_table_aligns_by_display_width)
{
    const char *nfd = "Nguye\xcc\x82\xcc\x83n Va\xcc\x86n An";  /* NFD: 13 columns, more bytes */
    const char *rows[3][3] = {
        {"1", nfd, "H\xc3\xa0 N\xe1\xbb\x99i"},
        {"12345", "Tr\xe1\xba\xa7n B\xc3\xacnh", NULL},
        {"77", "a\nb\t", "Hu\xe1"},
    };
    cli_buf in;
    cli_buf_init(&in);
    cli_buf_addstr(&in, "*3\r\n");
    for (int r = 0; r < 3; r++) {
        cli_buf_addstr(&in, "*3\r\n");
        for (int k = 0; k < 3; k++)
            bulk(&in, rows[r][k]);
    }
    size_t n = in.len;
    /* the last cell is invalid UTF-8 ("Hu" + a lone byte): escaped, still aligned */
    cli_value *v = parse_one(in.p, n, 0);
    cli_buf_free(&in);
    const char *cols[] = {"name", "city"};
    cli_buf b;
    cli_buf_init(&b);
    cr_assert(cli_render_table(&b, v, cols, 2));
    /* every line's separators sit in the same display columns */
    size_t want[4], got[4];
    char *save = NULL;
    char *text = strdup(b.p);
    size_t nlines = 0, nw = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), nlines++) {
        if (line[0] == '(') {
            cr_assert_str_eq(line, "(3 rows)");
            continue;
        }
        size_t k = bar_columns(line, strlen(line), got, 4);
        if (nlines == 0) {
            memcpy(want, got, sizeof got);
            nw = k;
            cr_assert_eq(nw, 2);
        } else {
            cr_assert_eq(k, nw, "line %zu: %s", nlines, line);
            for (size_t i = 0; i < k; i++)
                cr_assert_eq(got[i], want[i], "line %zu separator %zu: %s", nlines, i, line);
        }
    }
    cr_assert_eq(nlines, 6, "header, rule, 3 rows, footer:\n%s", b.p);
    cr_assert(strstr(b.p, " id    | name          | city\n") != NULL, "%s", b.p);
    cr_assert(strstr(b.p, "a\\nb\\t") != NULL, "control characters escaped:\n%s", b.p);
    cr_assert(strstr(b.p, "Hu\\xe1") != NULL, "%s", b.p);
    free(text);
    cli_buf_free(&b);
    cli_value_free(v);
}

Test(cli_render, table_refuses_other_shapes)
{
    const char *cols[] = {"name"};
    const char *shapes[] = {
        "*1\r\n$1\r\n1\r\n",                         /* ids only */
        "*1\r\n*3\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\nb\r\n", /* one cell too many */
        "*1\r\n*2\r\n$1\r\n1\r\n:5\r\n",             /* an integer cell */
        ":3\r\n",
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        cli_value *v = parse_one(shapes[i], strlen(shapes[i]), 0);
        cli_buf b;
        cli_buf_init(&b);
        cr_assert_not(cli_render_table(&b, v, cols, 1), "shape %zu", i);
        cr_assert_eq(b.len, 0);
        cli_buf_free(&b);
        cli_value_free(v);
    }
}

Test(cli_render, empty_and_single_row_tables)
{
    const char *cols[] = {"name"};
    cli_value *v = parse_one("*0\r\n", 4, 0);
    cli_buf b;
    cli_buf_init(&b);
    cr_assert(cli_render_table(&b, v, cols, 1));
    cr_assert_str_eq(b.p, " id | name\n----+------\n(0 rows)\n");
    cli_value_free(v);
    cli_buf_reset(&b);
    v = parse_one("*1\r\n*2\r\n$3\r\n100\r\n$-1\r\n", 22, 0);
    cr_assert(cli_render_table(&b, v, cols, 1));
    cr_assert_str_eq(b.p, " id  | name\n-----+------\n 100 | \n(1 row)\n");
    cli_value_free(v);
    cli_buf_free(&b);
}

Test(cli_render, find_columns_walks_find_options)
{
    char **cols = NULL;
    const char *a1[] = {"find", "SORT", "created_at", "DESC", "LIMIT", "0", "5", "FIELDS", " name, city ,tags",
                        "WHERE", "tag:vip"};
    size_t l1[11];
    for (int i = 0; i < 11; i++)
        l1[i] = strlen(a1[i]);
    size_t n = cli_find_columns(11, a1, l1, &cols);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(cols[0], "name");
    cr_assert_str_eq(cols[1], "city");
    cr_assert_str_eq(cols[2], "tags");
    cli_free_columns(cols, n);

    const char *a2[] = {"FIND", "WHERE", "FIELDS", "x"};   /* FIELDS inside the filter */
    size_t l2[] = {4, 5, 6, 1};
    cr_assert_eq(cli_find_columns(4, a2, l2, &cols), 0);
    cr_assert_null(cols);
    const char *a3[] = {"COUNT", "FIELDS", "name"};
    size_t l3[] = {5, 6, 4};
    cr_assert_eq(cli_find_columns(3, a3, l3, &cols), 0);
}

Test(cli_render, reply_of_find_fields_is_a_table_only_when_formatted)
{
    const char *argv[] = {"FIND", "FIELDS", "name", "WHERE", "tag:vip"};
    size_t lens[] = {4, 6, 4, 5, 7};
    const char *in = "*1\r\n*2\r\n$1\r\n7\r\n$3\r\nAnh\r\n";
    cli_value *v = parse_one(in, strlen(in), 0);
    cli_buf b;
    cli_buf_init(&b);
    cli_render_reply(&b, v, 5, argv, lens, CLI_OUT_TTY);
    cr_assert_str_eq(b.p, " id | name\n----+------\n 7  | Anh\n(1 row)\n");
    cli_buf_reset(&b);
    cli_render_reply(&b, v, 5, argv, lens, CLI_OUT_RAW);
    cr_assert_str_eq(b.p, "7\nAnh\n");
    cli_buf_free(&b);
    cli_value_free(v);
}

/* ---- completion ------------------------------------------------------------------- */

static cli_words COMMANDS, FIELDS;

static void words_setup(void)
{
    cli_words_init(&COMMANDS);
    cli_words_init(&FIELDS);
    const char *c[] = {"count", "command", "config", "find", "field.create", "field.list", "get", "upsert",
                       "overlap", "tag", "facet", "split"};
    const char *f[] = {"id", "name", "city", "country", "created_at", "channel", "phone", "tags", "type"};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        cli_words_add(&COMMANDS, c[i], strlen(c[i]));
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        cli_words_add(&FIELDS, f[i], strlen(f[i]));
}

static void words_teardown(void)
{
    cli_words_free(&COMMANDS);
    cli_words_free(&FIELDS);
}

/* The matches for line (cursor at its end) joined by spaces, and the word start. */
static const char *complete(const char *line, size_t *start)
{
    static char out[1024];
    cli_completion c;
    cr_assert_eq(cli_complete(line, strlen(line), &COMMANDS, &FIELDS, &c), 0);
    out[0] = '\0';
    for (size_t i = 0; i < c.n; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, c.matches[i]);
    }
    if (start)
        *start = c.start;
    cli_completion_free(&c);
    return out;
}

TestSuite(cli_complete, .init = words_setup, .fini = words_teardown);

Test(cli_complete, field_name_inside_where)
{
    size_t start;
    cr_assert_str_eq(complete("COUNT WHERE cit", &start), "city");
    cr_assert_eq(start, 12);
    cr_assert_str_eq(complete("COUNT WHERE tag:vip AND (cit", &start), "city");
    cr_assert_eq(start, 25);
    cr_assert_str_eq(complete("count where NOT c", NULL),
                     "channel city country created_at");
    /* a filter given as one quoted argument reads the same */
    cr_assert_str_eq(complete("COUNT WHERE \"tag:vip AND cit", NULL), "city");
    /* keywords and term prefixes, cased like the typed word */
    cr_assert_str_eq(complete("COUNT WHERE city:hanoi a", NULL), "and");
    cr_assert_str_eq(complete("COUNT WHERE city:hanoi A", NULL), "AND");
    cr_assert_str_eq(complete("COUNT WHERE ha", NULL), "has:");
}

Test(cli_complete, values_are_not_completed)
{
    cr_assert_str_eq(complete("COUNT WHERE city:ha", NULL), "");
    cr_assert_str_eq(complete("COUNT WHERE purchases > c", NULL), "");
    cr_assert_str_eq(complete("COUNT WHERE city:(hue,c", NULL), "");
    cr_assert_str_eq(complete("COUNT WHERE city:\"ha no", NULL), "");
    cr_assert_str_eq(complete("COUNT WHERE \"city:'Ha c", NULL), "");
    /* but after has: and missing: comes a field, after reachable: a channel */
    cr_assert_str_eq(complete("COUNT WHERE has:ph", NULL), "phone");
    cr_assert_str_eq(complete("COUNT WHERE tag:x AND missing:cr", NULL), "created_at");
    cr_assert_str_eq(complete("COUNT WHERE reachable:w", NULL), "web whatsapp");
    /* a closed value quote is over */
    cr_assert_str_eq(complete("COUNT WHERE city:\"ha noi\" AND ty", NULL), "type");
}

Test(cli_complete, command_names_first)
{
    size_t start;
    cr_assert_str_eq(complete("co", &start), "command config count");
    cr_assert_eq(start, 0);
    cr_assert_str_eq(complete("CO", NULL), "COMMAND CONFIG COUNT");
    cr_assert_str_eq(complete("field.c", NULL), "field.create");
    cr_assert_str_eq(complete("he", NULL), "help");
    cr_assert_str_eq(complete("zz", NULL), "");
}

Test(cli_complete, option_positions)
{
    cr_assert_str_eq(complete("FIND FIELDS name,ci", NULL), "city");
    cr_assert_str_eq(complete("FIND FIELDS n", NULL), "name");
    cr_assert_str_eq(complete("FIND SORT cr", NULL), "created_at");
    cr_assert_str_eq(complete("FIND SORT created_at ", NULL), "ASC DESC FIELDS LIMIT SORT WHERE");
    cr_assert_str_eq(complete("find sort created_at d", NULL), "desc");
    cr_assert_str_eq(complete("COUNT W", NULL), "WHERE");
    cr_assert_str_eq(complete("count ", NULL), "where");
    cr_assert_str_eq(complete("FACET ci", NULL), "city");
    cr_assert_str_eq(complete("GET 12 na", NULL), "name");
    cr_assert_str_eq(complete("UPSERT 12 ph", NULL), "phone");
    cr_assert_str_eq(complete("UPSERT 12 phone 09", NULL), "");
    cr_assert_str_eq(complete("FIELD.CREATE score n", NULL), "number");
    cr_assert_str_eq(complete("SPLIT 4 B", NULL), "BY");
    cr_assert_str_eq(complete("SPLIT 4 BY cr", NULL), "created_at");
    cr_assert_str_eq(complete("OVERLAP tag:a | ci", NULL), "city");
    cr_assert_str_eq(complete("TAG vip I", NULL), "ID");
}

Test(cli_complete, common_prefix_and_space_flags)
{
    cli_completion c;
    cr_assert_eq(cli_complete("COUNT WHERE c", 13, &COMMANDS, &FIELDS, &c), 0);
    cr_assert_eq(c.n, 4);
    cr_assert_eq(cli_completion_common(&c), 1);
    for (size_t i = 0; i < c.n; i++)
        cr_assert_not(c.space[i], "a field in a filter is followed by ':' or an operator");
    cli_completion_free(&c);
    cr_assert_eq(cli_complete("COUNT WHERE co", 14, &COMMANDS, &FIELDS, &c), 0);
    cr_assert_eq(c.n, 1);
    cr_assert_str_eq(c.matches[0], "country");
    cli_completion_free(&c);
    cr_assert_eq(cli_complete("cou", 3, &COMMANDS, &FIELDS, &c), 0);
    cr_assert_eq(c.n, 1);
    cr_assert(c.space[0]);
    cli_completion_free(&c);
    /* the cursor in the middle of the line: only what is left of it counts */
    cr_assert_eq(cli_complete("COUNT WHERE cit AND tag:x", 15, &COMMANDS, &FIELDS, &c), 0);
    cr_assert_eq(c.n, 1);
    cr_assert_str_eq(c.matches[0], "city");
    cli_completion_free(&c);
}

/* ---- the embedded backend -------------------------------------------------------- */

static cli_value *call(cli_backend *b, const char *line)
{
    char **argv = NULL;
    size_t *lens = NULL;
    int argc = 0;
    cr_assert_eq(resp_split_line(line, strlen(line), 1000, &argv, &lens, &argc), 0, "%s", line);
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    int rc = b->call(b, argc, (const char *const *)argv, lens, &v, err, sizeof err);
    cr_assert_eq(rc, CLI_CALL_OK, "%s: %s", line, err);
    resp_free_args(argv, lens, argc);
    return v;
}

static long long call_int(cli_backend *b, const char *line)
{
    cli_value *v = call(b, line);
    cr_assert_eq(v->type, CLI_V_INT, "%s: type %d %s", line, v->type, v->str ? v->str : "");
    long long n = v->integer;
    cli_value_free(v);
    return n;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_rf(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static bool dir_has_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    for (struct dirent *de; (de = readdir(d));)
        found |= strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return found;
}

Test(cli_embedded, commands_run_in_process_and_persist_in_dir)
{
    char dir[] = "/tmp/segdb-cli-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char err[CLI_ERR_BYTES];
    cli_backend *b = cli_embedded_create(dir, true, err, sizeof err);
    cr_assert_not_null(b, "%s", err);
    cr_assert(b->connected);
    cr_assert(strstr(b->label, "embedded:") == b->label);

    cr_assert_eq(call_int(b, "UPSERT 1 name \"Nguy\xe1\xbb\x85n V\xc4\x83n An\" city \"H\xc3\xa0 N\xe1\xbb\x99i\" tags vip"), 1);
    cr_assert_eq(call_int(b, "UPSERT 2 name Binh city Hue"), 1);
    cr_assert_eq(call_int(b, "COUNT WHERE city:\"ha noi\""), 1);
    cli_value *v = call(b, "COUNT WHERE nosuchfield:1");
    cr_assert_eq(v->type, CLI_V_ERROR);
    cr_assert(strstr(v->str, "ERR") == v->str, "%s", v->str);
    cli_value_free(v);

    const char *argv[] = {"FIND", "FIELDS", "name,city", "WHERE", "has:name"};
    size_t lens[] = {4, 6, 9, 5, 8};
    cli_value *r = NULL;
    cr_assert_eq(b->call(b, 5, argv, lens, &r, err, sizeof err), CLI_CALL_OK);
    cli_buf out;
    cli_buf_init(&out);
    cli_render_reply(&out, r, 5, argv, lens, CLI_OUT_TTY);
    cr_assert(strstr(out.p, " 1  | Nguy\xe1\xbb\x85n V\xc4\x83n An | H\xc3\xa0 N\xe1\xbb\x99i\n") != NULL, "%s", out.p);
    cr_assert(strstr(out.p, "(2 rows)") != NULL, "%s", out.p);
    cli_buf_free(&out);
    cli_value_free(r);

    cli_words names;
    cli_words_init(&names);
    cr_assert_eq(b->command_names(b, &names), 0);
    cr_assert(cli_words_has(&names, "count"));
    cr_assert(cli_words_has(&names, "FIELD.LIST"));
    cli_words_free(&names);
    cr_assert_eq(cli_backend_field_names(b, &names), 0);
    cr_assert(cli_words_has(&names, "city"));
    cr_assert(cli_words_has(&names, "created_at"));
    cli_words_free(&names);

    /* QUIT replies and ends the session; nothing more is sent */
    v = call(b, "QUIT");
    cr_assert_eq(v->type, CLI_V_STATUS);
    cli_value_free(v);
    cr_assert(b->ended);
    const char *ping[] = {"PING"};
    size_t pl[] = {4};
    cr_assert_eq(b->call(b, 1, ping, pl, &r, err, sizeof err), CLI_CALL_EIO);
    cr_assert_eq(cli_backend_free(b, err, sizeof err), 0, "%s", err);
    cr_assert(dir_has_prefix(dir, "wal-"), "the write-ahead log is in the data directory");

    /* a second session finds the contacts in the log */
    b = cli_embedded_create(dir, true, err, sizeof err);
    cr_assert_not_null(b, "%s", err);
    cr_assert_eq(call_int(b, "COUNT"), 2);
    cr_assert_eq(call_int(b, "COUNT WHERE tag:vip AND city:hanoi"), 1);
    v = call(b, "SAVE");
    cr_assert_eq(v->type, CLI_V_STATUS, "%s", v->str);
    cli_value_free(v);
    cr_assert(dir_has_prefix(dir, "snapshot-"), "SAVE wrote a snapshot");
    cr_assert_eq(call_int(b, "DEL 2"), 1);
    cr_assert_eq(cli_backend_free(b, err, sizeof err), 0, "%s", err);

    /* snapshot + the log after it */
    b = cli_embedded_create(dir, true, err, sizeof err);
    cr_assert_not_null(b, "%s", err);
    cr_assert_eq(call_int(b, "COUNT"), 1);
    cr_assert_eq(cli_backend_free(b, err, sizeof err), 0, "%s", err);
    rm_rf(dir);
}

Test(cli_embedded, one_process_per_directory)
{
    char dir[] = "/tmp/segdb-cli-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char err[CLI_ERR_BYTES];
    cli_backend *a = cli_embedded_create(dir, true, err, sizeof err);
    cr_assert_not_null(a, "%s", err);
    cli_backend *b = cli_embedded_create(dir, true, err, sizeof err);
    cr_assert_null(b);
    cr_assert(strstr(err, "in use") != NULL, "%s", err);
    cr_assert_eq(cli_backend_free(a, err, sizeof err), 0, "%s", err);
    b = cli_embedded_create(dir, true, err, sizeof err);
    cr_assert_not_null(b, "free released the lock: %s", err);
    cr_assert_eq(cli_backend_free(b, err, sizeof err), 0, "%s", err);
    rm_rf(dir);
}

Test(cli_embedded, shutdown_ends_without_reply)
{
    char dir[] = "/tmp/segdb-cli-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char sub[64];
    snprintf(sub, sizeof sub, "%s/new", dir);
    char err[CLI_ERR_BYTES];
    cli_backend *b = cli_embedded_create(sub, true, err, sizeof err);
    cr_assert_not_null(b, "a missing directory is created: %s", err);
    const char *argv[] = {"SHUTDOWN"};
    size_t lens[] = {8};
    cli_value *v = NULL;
    cr_assert_eq(b->call(b, 1, argv, lens, &v, err, sizeof err), CLI_CALL_ENDED);
    cr_assert_null(v);
    cr_assert(b->ended);
    cr_assert_eq(cli_backend_free(b, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(sub, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);
    rm_rf(dir);
}

Test(cli_embedded, a_file_is_not_a_data_directory)
{
    char path[] = "/tmp/segdb-cli-test-file-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char err[CLI_ERR_BYTES] = "";
    cli_backend *b = cli_embedded_create(path, true, err, sizeof err);
    cr_assert_null(b);
    cr_assert(strstr(err, "not a directory") != NULL, "%s", err);
    unlink(path);
    cr_assert_null(cli_embedded_create("", true, err, sizeof err));
}

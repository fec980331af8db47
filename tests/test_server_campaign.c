/*
 * test_server_campaign.c — Criterion suite `server_campaign`: the campaign
 * commands (TAG, UNTAG, SET, ARCHIVE, UNARCHIVE, SPLIT, FACET, OVERLAP,
 * REACH, SEGMENT.*, GROUP.*, NOTE.*) through the command table and
 * cmd_dispatch() with no network, as segdb-cli --embedded drives them, over a
 * real engine with a fixed clock: the exact reply bytes of every success
 * shape, and every rejection (targets, ids, archived contacts, status moves,
 * unknown groups, segment cycles, SPLIT limits, note limits, bad names).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "resp.h"
#include "server.h"

#define NOW 1700000000 /* the engine's clock in this suite: 2023-11-14T22:13:20Z */

static segdb_t *db;
static server_ctx *srv;
static client_ctx *cl;
static reply_buf out;
static int64_t now_s = NOW;

static int64_t test_clock(void *ctx)
{
    (void)ctx;
    return now_s;
}

/* Open with one optional config setting (name, value). */
static void open_with(const char *opt, const char *val)
{
    server_config cfg;
    cr_assert_eq(config_init(&cfg), 0);
    segdb_err e;
    if (opt)
        cr_assert_eq(config_set(&cfg, opt, val, &e), 0, "%s", e.msg);
    segdb_options o;
    config_engine_options(&cfg, &o);
    o.clock_fn = test_clock;
    now_s = NOW;
    db = segdb_open(&o);
    cr_assert_not_null(db);
    srv = server_ctx_create(db, &cfg);
    cr_assert_not_null(srv);
    cl = client_create(srv, -1, "embedded");
    cr_assert_not_null(cl);
    reply_init(&out);
    config_free(&cfg);
}

static void setup(void) { open_with(NULL, NULL); }

static void teardown(void)
{
    reply_free(&out);
    client_free(cl);
    server_ctx_free(srv);
    segdb_close(db);
}

/* Dispatch argv as given (binary-safe); the reply bytes as a string. */
static const char *runv(int argc, const char **argv, const size_t *lens)
{
    reply_reset(&out);
    cmd_dispatch(srv, cl, argc, argv, lens, &out);
    cr_assert_eq(out.oom, 0);
    static char buf[1 << 16];
    size_t n = out.len < sizeof buf - 1 ? out.len : sizeof buf - 1;
    memcpy(buf, out.buf ? out.buf : "", n);
    buf[n] = '\0';
    return buf;
}

/* Split an inline line like redis-cli, dispatch it, return the reply. */
static const char *run(const char *line)
{
    char **argv;
    size_t *lens;
    int argc;
    cr_assert_eq(resp_split_line(line, strlen(line), 0, &argv, &lens, &argc), 0, "%s", line);
    const char *r = runv(argc, (const char **)argv, lens);
    resp_free_args(argv, lens, argc);
    return r;
}

/* A reply made readable in a failure message: CR LF shown as \r\n. */
static const char *visible(const char *s)
{
    static char buf[1 << 17];
    size_t w = 0;
    for (; *s && w + 3 < sizeof buf; s++) {
        if (*s == '\r' || *s == '\n') {
            buf[w++] = '\\';
            buf[w++] = *s == '\r' ? 'r' : 'n';
        } else {
            buf[w++] = *s;
        }
    }
    buf[w] = '\0';
    return buf;
}

/* run() and assert the exact reply. */
#define EXPECT(line, want)                                                                         \
    do {                                                                                           \
        const char *got_ = run(line);                                                              \
        cr_assert_str_eq(got_, want, "%s -> %s", line, visible(got_));                            \
    } while (0)

/* run() and assert the reply starts with prefix (errors: code word + start). */
#define EXPECT_PREFIX(line, prefix)                                                                \
    do {                                                                                           \
        const char *got_ = run(line);                                                              \
        cr_assert(strncmp(got_, prefix, strlen(prefix)) == 0, "%s -> %s", line, visible(got_));       \
    } while (0)

/* Ten contacts: ids 1..10, city Hà Nội for odd ids, Huế for even ones; 1-3
 * have an email, 2-5 a phone, 4 whatsapp, 5 hmac_verified. */
static void ten_contacts(void)
{
    char line[256];
    for (int id = 1; id <= 10; id++) {
        int w = snprintf(line, sizeof line, "UPSERT %d city \"%s\" created_at %d", id,
                         id % 2 ? "Hà Nội" : "Huế", 1600000000 + (11 - id) * 100);
        if (id <= 3)
            w += snprintf(line + w, sizeof line - (size_t)w, " email c%d@example.vn", id);
        if (id >= 2 && id <= 5)
            w += snprintf(line + w, sizeof line - (size_t)w, " phone 091234567%d", id);
        if (id == 4)
            w += snprintf(line + w, sizeof line - (size_t)w, " whatsapp yes");
        if (id == 5)
            snprintf(line + w, sizeof line - (size_t)w, " hmac_verified yes");
        EXPECT(line, ":1\r\n");
    }
}

TestSuite(server_campaign, .init = setup, .fini = teardown);

/* ---- targets and bulk writes --------------------------------------------- */

Test(server_campaign, tag_and_untag_count_changes_and_skip_archived)
{
    ten_contacts();
    EXPECT("ARCHIVE ID 3", ":1\r\n");
    EXPECT("TAG vip ID 1 2 3", ":2\r\n");
    EXPECT("TAG VIP ID 1 2", ":0\r\n");
    EXPECT("TAG vip WHERE city:hanoi", ":3\r\n");          /* 5, 7, 9; 3 is archived */
    EXPECT("COUNT WHERE tag:vip", ":5\r\n");
    EXPECT("TAG hn WHERE city:hanoi AND has:email", ":1\r\n"); /* words joined by spaces */
    EXPECT("TAG \"Khách quen\" WHERE \"city:'Hà Nội' AND tag:vip\"", ":4\r\n");
    EXPECT("COUNT WHERE tag:khachquen", ":4\r\n");
    EXPECT("UNTAG vip ID 1 999", ":1\r\n");                 /* unknown ids are skipped */
    EXPECT("UNTAG nobody WHERE city:hue", ":0\r\n");
    EXPECT("UNTAG vip WHERE tag:vip", ":4\r\n");
    EXPECT("untag vip id 2", ":0\r\n");                     /* words are case-insensitive */
    EXPECT("TAG x ID 18446744073709551615", ":0\r\n");
}

Test(server_campaign, tag_names_are_checked)
{
    ten_contacts();
    EXPECT_PREFIX("TAG \"a,b\" ID 1", "-ERR tag name contains ','");
    EXPECT_PREFIX("TAG \"a;b\" ID 1", "-ERR tag name contains ';'");
    EXPECT_PREFIX("TAG \"\" ID 1", "-ERR tag name is empty");
    EXPECT_PREFIX("TAG \"\\xff\\xfe\" ID 1", "-ERR tag name is not valid UTF-8");
    EXPECT_PREFIX("TAG \"a\\x00b\" ID 1", "-ERR tag name contains a NUL byte");
    EXPECT_PREFIX("TAG \"a\\tb\" ID 1", "-ERR tag name contains a control character");
    char line[128];
    snprintf(line, sizeof line, "TAG %065d ID 1", 0);
    EXPECT_PREFIX(line, "-ERR tag name is longer than 64 characters");
    snprintf(line, sizeof line, "TAG %064d ID 1", 0);
    EXPECT(line, ":1\r\n");
    EXPECT("COUNT WHERE has:tags", ":1\r\n");
}

Test(server_campaign, targets_and_ids_are_checked)
{
    ten_contacts();
    EXPECT("TAG vip 1 2", "-ERR syntax error: TAG needs a target, ID <id> [<id> ...] or WHERE <filter>; "
                          "got '1'\r\n");
    EXPECT("TAG vip ID", "-ERR wrong number of arguments for 'tag' command\r\n");
    EXPECT("TAG vip WHERE", "-ERR wrong number of arguments for 'tag' command\r\n");
    EXPECT("ARCHIVE ID", "-ERR wrong number of arguments for 'archive' command\r\n");
    EXPECT_PREFIX("ARCHIVE WHERE \"\"", "-ERR empty filter");
    EXPECT("TAG vip ID 1 0", "-ERR invalid id '0': ids start at 1\r\n");
    EXPECT_PREFIX("TAG vip ID -1", "-ERR invalid id '-1': ids have no sign");
    EXPECT_PREFIX("TAG vip ID +1", "-ERR invalid id '+1': ids have no sign");
    EXPECT("TAG vip ID 0x1F", "-ERR invalid id '0x1F': ids are decimal, not hexadecimal\r\n");
    EXPECT("TAG vip ID 18446744073709551616",
           "-ERR invalid id '18446744073709551616': larger than 18446744073709551615 (2^64-1)\r\n");
    EXPECT_PREFIX("TAG vip ID 1 abc", "-ERR invalid id 'abc'");
    EXPECT_PREFIX("SET city hue ID 1.5", "-ERR invalid id '1.5'");
    EXPECT_PREFIX("GROUP.ADD X ID 1 2 x", "-ERR invalid id 'x'");
    EXPECT_PREFIX("TAG vip WHERE city:(hue", "-ERR ");
    EXPECT_PREFIX("TAG vip WHERE purchases:abc", "-WRONGTYPE ");
    EXPECT_PREFIX("TAG vip WHERE \"Nội\"", "-ERR bare word");
    EXPECT_PREFIX("TAG vip WHERE \"tag:a\\x00\"", "-ERR filter contains a NUL byte");
    EXPECT("COUNT WHERE has:tags", ":0\r\n"); /* nothing was applied by the rejected commands */
}

Test(server_campaign, id_list_over_the_limit_is_limit)
{
    teardown();
    open_with("id-list-max", "3");
    ten_contacts();
    EXPECT("TAG vip ID 1 2 3", ":3\r\n");
    EXPECT("TAG x ID 1 2 3 4", "-LIMIT TAG of 4 ids is over the limit of 3 ids per command\r\n");
    EXPECT_PREFIX("SET city hue ID 1 2 3 4", "-LIMIT SET of 4 ids");
    EXPECT_PREFIX("ARCHIVE ID 1 2 3 4", "-LIMIT ARCHIVE of 4 ids");
    EXPECT_PREFIX("GROUP.ADD X ID 1 2 3 4", "-LIMIT GROUP.ADD of 4 ids");
    EXPECT("COUNT WHERE tag:x", ":0\r\n");
    EXPECT("COUNT WHERE archived:yes", ":0\r\n");
}

Test(server_campaign, set_replies_changed_and_rejected)
{
    ten_contacts();
    EXPECT("UPSERT 1 status subscribed", ":0\r\n");
    EXPECT("UPSERT 2 status unsubscribed", ":0\r\n");
    EXPECT("ARCHIVE ID 4", ":1\r\n");
    EXPECT("SET relationship hot ID 1 2 3 4", "*2\r\n:3\r\n:1\r\n");
    EXPECT("SET relationship hot ID 1 2 3", "*2\r\n:0\r\n:0\r\n");
    /* SPEC 4.2: subscribed <-> unsubscribed by hand; never_subscribed can't move */
    EXPECT("SET status unsubscribed ID 1 3 4", "*2\r\n:1\r\n:2\r\n");
    EXPECT("SET status subscribed ID 1 2", "*2\r\n:2\r\n:0\r\n");
    EXPECT("SET status subscribed WHERE city:hue", "*2\r\n:0\r\n:3\r\n"); /* 6, 8, 10 never subscribed */
    EXPECT("COUNT WHERE status:subscribed", ":2\r\n");
    EXPECT("SET city \"Đà Nẵng\" WHERE city:hue", "*2\r\n:4\r\n:0\r\n");
    EXPECT("FACET city", "*4\r\n$9\r\nHà Nội\r\n:5\r\n$11\r\nĐà Nẵng\r\n:4\r\n");
    EXPECT("SET city \"\" ID 1", "*2\r\n:1\r\n:0\r\n");          /* an empty value clears */
    EXPECT("COUNT WHERE missing:city", ":1\r\n");
    EXPECT_PREFIX("SET shoe_size 42 ID 1", "-ERR ");
    cr_assert(strstr(run("SET shoe_size 42 ID 1"), "FIELD.CREATE"));
    EXPECT_PREFIX("SET purchases abc ID 1", "-WRONGTYPE ");
    EXPECT_PREFIX("SET email not-an-email ID 1", "-ERR ");
    EXPECT_PREFIX("SET tags x ID 1", "-ERR ");
    EXPECT_PREFIX("SET name \"\\xff\" ID 1", "-ERR ");
    EXPECT_PREFIX("SET \"na\\x00me\" x ID 1", "-ERR field name contains a NUL byte");
    EXPECT("SET city hue", "-ERR wrong number of arguments for 'set' command\r\n");
}

Test(server_campaign, archive_and_unarchive)
{
    ten_contacts();
    EXPECT("TAG old ID 1 2", ":2\r\n");
    EXPECT("ARCHIVE WHERE tag:old", ":2\r\n");
    EXPECT("ARCHIVE WHERE tag:old", ":0\r\n"); /* gone from the universe */
    EXPECT("ARCHIVE ID 1 2", ":0\r\n");
    EXPECT("COUNT", ":8\r\n");
    EXPECT("COUNT WHERE archived:yes", ":2\r\n");
    EXPECT("TAG other ID 1", ":0\r\n");
    EXPECT_PREFIX("UPSERT 1 city hue", "-ERR ");
    EXPECT("UNARCHIVE WHERE tag:old", ":2\r\n"); /* reaches archived contacts */
    EXPECT("UNARCHIVE ID 1 2 3", ":0\r\n");
    EXPECT("COUNT", ":10\r\n");
    EXPECT("ARCHIVE ID 5 999", ":1\r\n");
}

/* ---- SPLIT ---------------------------------------------------------------- */

Test(server_campaign, split_replies_part_sizes)
{
    ten_contacts();
    EXPECT("SPLIT 3", "*3\r\n:3\r\n:3\r\n:4\r\n");
    EXPECT("SPLIT 1 WHERE city:hue", "*1\r\n:5\r\n");
    EXPECT("SPLIT 4 RANDOM 42 WHERE has:city", "*4\r\n:2\r\n:3\r\n:2\r\n:3\r\n");
    /* more parts than contacts: cuts at floor(10k/12) */
    EXPECT("split 12", "*12\r\n:0\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n:0\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n");
    EXPECT("SPLIT PERCENT 10 90", "*2\r\n:1\r\n:9\r\n");
    EXPECT("SPLIT PERCENT 33.3 33.3", "*2\r\n:3\r\n:3\r\n");
    EXPECT("SPLIT PERCENT 12.5% 50 RANDOM 7 BY created_at WHERE city:hanoi OR city:hue",
           "*2\r\n:1\r\n:5\r\n");
    EXPECT("SPLIT PERCENT 0 100", "*2\r\n:0\r\n:10\r\n");
    EXPECT("SPLIT 2 WHERE tag:nobody", "*2\r\n:0\r\n:0\r\n");
}

Test(server_campaign, split_save_stores_frozen_parts)
{
    ten_contacts();
    EXPECT("SPLIT 2 BY created_at SAVE old_ WHERE has:city", "*2\r\n:5\r\n:5\r\n");
    /* created_at falls as the id rises: the oldest half is ids 6..10 */
    EXPECT("FIND WHERE segment:old_1", "*5\r\n$1\r\n6\r\n$1\r\n7\r\n$1\r\n8\r\n$1\r\n9\r\n$2\r\n10\r\n");
    EXPECT_PREFIX("SPLIT 2 SAVE old_", "-ERR segment 'old_1' already exists");
    EXPECT("SPLIT 4 RANDOM 42 SAVE a_", "*4\r\n:2\r\n:3\r\n:2\r\n:3\r\n");
    EXPECT("SPLIT 4 RANDOM 42 SAVE b_", "*4\r\n:2\r\n:3\r\n:2\r\n:3\r\n");
    char first[4096];
    for (int k = 1; k <= 4; k++) {
        char q[64];
        snprintf(q, sizeof q, "FIND WHERE segment:a_%d", k);
        snprintf(first, sizeof first, "%s", run(q));
        snprintf(q, sizeof q, "FIND WHERE segment:b_%d", k);
        cr_assert_str_eq(run(q), first, "same data + same seed = same parts (part %d)", k);
    }
    EXPECT("COUNT WHERE segment:a_1 OR segment:a_2 OR segment:a_3 OR segment:a_4", ":10\r\n");
    EXPECT("SPLIT 4 RANDOM 43 SAVE c_", "*4\r\n:2\r\n:3\r\n:2\r\n:3\r\n");
    EXPECT_PREFIX("SEGMENT.GET a_1", "*12\r\n$4\r\nname\r\n$3\r\na_1\r\n$4\r\ntype\r\n$6\r\nfrozen\r\n");
    EXPECT_PREFIX("SPLIT 2 SAVE \"bad prefix\"", "-ERR invalid SAVE prefix");
}

Test(server_campaign, split_rejections)
{
    ten_contacts();
    EXPECT("SPLIT 0", "-ERR SPLIT needs at least 1 part (SPLIT 0 makes no parts)\r\n");
    cr_assert(strncmp(run("SPLIT 1000"), "*1000\r\n", 7) == 0);
    EXPECT("SPLIT 1001", "-LIMIT SPLIT into 1001 parts; the limit is 1000\r\n");
    EXPECT("SPLIT 4294967296", "-LIMIT SPLIT into 4294967296 parts; the limit is 1000\r\n");
    EXPECT("SPLIT 99999999999999999999999", "-LIMIT SPLIT into 99999999999999999999999 parts; the limit is 1000\r\n");
    EXPECT_PREFIX("SPLIT -2", "-ERR invalid number of parts '-2'");
    EXPECT_PREFIX("SPLIT abc", "-ERR invalid number of parts 'abc'");
    EXPECT_PREFIX("SPLIT 2.5", "-ERR invalid number of parts '2.5'");
    EXPECT("SPLIT PERCENT 50 51", "-ERR percentages sum to more than 100\r\n");
    EXPECT("SPLIT PERCENT 100.000000000001", "-ERR percentages sum to more than 100\r\n");
    EXPECT("SPLIT PERCENT 100 WHERE city:hue", "*1\r\n:5\r\n");
    EXPECT("SPLIT PERCENT 10 -5", "-ERR percentages can't be negative: '-5'\r\n");
    EXPECT_PREFIX("SPLIT PERCENT ten", "-ERR 'ten' is not a percentage");
    EXPECT("SPLIT PERCENT", "-ERR SPLIT PERCENT needs at least one percentage\r\n");
    EXPECT("SPLIT PERCENT WHERE city:hue", "-ERR SPLIT PERCENT needs at least one percentage\r\n");
    EXPECT("SPLIT", "-ERR wrong number of arguments for 'split' command\r\n");
    EXPECT_PREFIX("SPLIT 2 RANDOM", "-ERR syntax error: SPLIT RANDOM needs a value");
    EXPECT_PREFIX("SPLIT 2 RANDOM -1", "-ERR invalid RANDOM seed '-1'");
    EXPECT_PREFIX("SPLIT 2 RANDOM 18446744073709551616", "-ERR invalid RANDOM seed");
    EXPECT("SPLIT 2 RANDOM 18446744073709551615", "*2\r\n:5\r\n:5\r\n");
    EXPECT("SPLIT 2 RANDOM 1 RANDOM 2", "-ERR syntax error: RANDOM given twice\r\n");
    EXPECT("SPLIT 2 BY city BY id", "-ERR syntax error: BY given twice\r\n");
    EXPECT("SPLIT 2 SAVE a SAVE b", "-ERR syntax error: SAVE given twice\r\n");
    EXPECT_PREFIX("SPLIT 2 SAVE", "-ERR syntax error: SPLIT SAVE needs a value");
    EXPECT_PREFIX("SPLIT 2 FOO 1", "-ERR syntax error: unknown SPLIT option 'FOO'");
    EXPECT_PREFIX("SPLIT 2 PERCENT 50", "-ERR syntax error: unknown SPLIT option 'PERCENT'");
    EXPECT_PREFIX("SPLIT 2 BY nosuch", "-ERR unknown field 'nosuch' in BY");
    EXPECT_PREFIX("SPLIT 2 BY tags", "-ERR can't SPLIT BY 'tags'");
    EXPECT("SPLIT 2 WHERE", "-ERR empty filter after WHERE\r\n");
    EXPECT_PREFIX("SPLIT 2 WHERE city:(hue", "-ERR ");
    /* 1,001 percentages: past the parts limit before any is read */
    size_t cap = 16 + 1001 * 5 + 1;
    char *line = malloc(cap);
    cr_assert_not_null(line);
    size_t w = (size_t)snprintf(line, cap, "SPLIT PERCENT");
    for (int i = 0; i < 1001; i++)
        w += (size_t)snprintf(line + w, cap - w, " 0.05");
    EXPECT(line, "-LIMIT SPLIT into 1001 parts; the limit is 1000\r\n");
    free(line);
    EXPECT("SEGMENT.LIST", "*0\r\n"); /* no rejected SPLIT saved anything */
}

/* ---- FACET, OVERLAP, REACH ------------------------------------------------ */

Test(server_campaign, facet_values_and_counts)
{
    ten_contacts();
    EXPECT("UPSERT 11 city \"ha noi\"", ":1\r\n");
    EXPECT("FACET city", "*4\r\n$9\r\nHà Nội\r\n:6\r\n$5\r\nHuế\r\n:5\r\n");
    EXPECT("FACET city TOP 1", "*2\r\n$9\r\nHà Nội\r\n:6\r\n");
    EXPECT("FACET city TOP 18446744073709551615", "*4\r\n$9\r\nHà Nội\r\n:6\r\n$5\r\nHuế\r\n:5\r\n");
    EXPECT("FACET city WHERE has:phone", "*4\r\n$9\r\nHà Nội\r\n:2\r\n$5\r\nHuế\r\n:2\r\n");
    EXPECT("FACET city TOP 5 WHERE has:email AND city:hanoi", "*2\r\n$9\r\nHà Nội\r\n:2\r\n");
    EXPECT("FACET city WHERE tag:nobody", "*0\r\n");
    EXPECT("TAG a ID 1 2", ":2\r\n");
    EXPECT("FACET tags", "*2\r\n$1\r\na\r\n:2\r\n");
    EXPECT("FACET whatsapp", "*2\r\n$3\r\nyes\r\n:1\r\n");
    EXPECT_PREFIX("FACET name", "-ERR can't FACET 'name'");
    EXPECT_PREFIX("FACET nosuch", "-ERR unknown field 'nosuch'");
    EXPECT("FACET city TOP 0", "-ERR TOP needs a count of at least 1; got '0'\r\n");
    EXPECT("FACET city TOP", "-ERR TOP needs a count of at least 1; got ''\r\n");
    EXPECT("FACET city TOP x", "-ERR TOP needs a count of at least 1; got 'x'\r\n");
    EXPECT("FACET city TOP 1 TOP 2", "-ERR syntax error: TOP given twice\r\n");
    EXPECT_PREFIX("FACET city LIMIT 2", "-ERR syntax error: unknown FACET option 'LIMIT'");
    EXPECT("FACET city WHERE", "-ERR empty filter after WHERE\r\n");
    EXPECT("FACET", "-ERR wrong number of arguments for 'facet' command\r\n");
}

Test(server_campaign, overlap_matrix_and_separators)
{
    ten_contacts();
    EXPECT("TAG a ID 1 2 3 4", ":4\r\n");
    EXPECT("TAG b ID 3 4 5", ":3\r\n");
    const char *m2 = "*2\r\n*2\r\n:4\r\n:2\r\n*2\r\n:2\r\n:3\r\n";
    EXPECT("OVERLAP tag:a | tag:b", m2);
    EXPECT("OVERLAP \"tag:a\" \"|\" \"tag:b\"", m2);
    EXPECT("OVERLAP \"tag:a | tag:b\"", m2);
    EXPECT("OVERLAP \"tag:a\t|\ttag:b\"", m2);
    EXPECT("OVERLAP tag:a | tag:b | city:hue",
           "*3\r\n*3\r\n:4\r\n:2\r\n:2\r\n*3\r\n:2\r\n:3\r\n:1\r\n*3\r\n:2\r\n:1\r\n:5\r\n");
    EXPECT("OVERLAP (tag:a OR tag:b) AND has:email | NOT has:email",
           "*2\r\n*2\r\n:3\r\n:0\r\n*2\r\n:0\r\n:7\r\n");
    EXPECT("OVERLAP tag:a", "*1\r\n*1\r\n:4\r\n");
    /* a `|` inside a value is not a separator */
    EXPECT("UPSERT 20 name \"x | y\" address \"O'Brien | Co\"", ":1\r\n");
    EXPECT("OVERLAP \"name:'x | y'\"", "*1\r\n*1\r\n:1\r\n");
    EXPECT("OVERLAP 'name:\"x | y\"' | tag:a", "*2\r\n*2\r\n:1\r\n:0\r\n*2\r\n:0\r\n:4\r\n");
    /* inside quotes \" is a quote and \\ a backslash, as the filter parser reads them */
    EXPECT("OVERLAP 'name:\"x \\\" | y\"' | tag:a", "*2\r\n*2\r\n:0\r\n:0\r\n*2\r\n:0\r\n:4\r\n");
    EXPECT_PREFIX("OVERLAP 'name:\"x \\\\\" | y\"' | tag:a", "-ERR in filter 2: bare word");
    EXPECT("OVERLAP \"tag:a|tag:b\"", "*1\r\n*1\r\n:0\r\n");  /* one bare value 'a|tag:b' */
    /* an apostrophe inside a bare value opens no quote: the `|` after it still cuts */
    EXPECT("OVERLAP \"address~O'Brien | tag:a\"", "*2\r\n*2\r\n:1\r\n:0\r\n*2\r\n:0\r\n:4\r\n");
    EXPECT_PREFIX("OVERLAP tag:a |", "-ERR in filter 2: ");
    EXPECT_PREFIX("OVERLAP | tag:a", "-ERR in filter 1: ");
    EXPECT_PREFIX("OVERLAP tag:a | | tag:b", "-ERR in filter 2: ");
    EXPECT_PREFIX("OVERLAP tag:a | city:(hue", "-ERR in filter 2: ");
    EXPECT_PREFIX("OVERLAP tag:a | purchases:x", "-WRONGTYPE in filter 2: ");
    EXPECT_PREFIX("OVERLAP \"tag:a\\x00\"", "-ERR filter contains a NUL byte");
    EXPECT("OVERLAP", "-ERR wrong number of arguments for 'overlap' command\r\n");
    char line[512] = "OVERLAP tag:a";
    for (int i = 1; i < 33; i++)
        strcat(line, " | tag:a");
    EXPECT(line, "-LIMIT OVERLAP of 33 filters; the limit is 32\r\n");
    line[strlen(line) - strlen(" | tag:a")] = '\0';
    cr_assert(strncmp(run(line), "*32\r\n*32\r\n:4\r\n", 14) == 0);
}

Test(server_campaign, reach_counts_channels)
{
    ten_contacts();
    EXPECT("REACH", "*8\r\n$5\r\nemail\r\n:3\r\n$3\r\nsms\r\n:4\r\n$8\r\nwhatsapp\r\n:1\r\n$3\r\nweb\r\n:1\r\n");
    EXPECT("REACH WHERE city:hanoi",
           "*8\r\n$5\r\nemail\r\n:2\r\n$3\r\nsms\r\n:2\r\n$8\r\nwhatsapp\r\n:0\r\n$3\r\nweb\r\n:1\r\n");
    EXPECT("ARCHIVE ID 2", ":1\r\n");
    EXPECT("REACH WHERE has:email",
           "*8\r\n$5\r\nemail\r\n:2\r\n$3\r\nsms\r\n:1\r\n$8\r\nwhatsapp\r\n:0\r\n$3\r\nweb\r\n:0\r\n");
    EXPECT_PREFIX("REACH city:hue", "-ERR syntax error: REACH takes WHERE <filter>; got 'city:hue'");
    EXPECT("REACH WHERE", "-ERR empty filter after WHERE\r\n");
}

/* ---- SEGMENT.* ------------------------------------------------------------ */

Test(server_campaign, segments_save_freeze_list_get_del)
{
    ten_contacts();
    EXPECT("SEGMENT.SAVE hanoi WHERE city:hanoi", "+OK\r\n");
    EXPECT("SEGMENT.FREEZE hue_now WHERE city:\"Huế\" AND has:city", ":5\r\n");
    EXPECT("UPSERT 11 city hue", ":1\r\n");
    EXPECT("UPSERT 12 city hanoi", ":1\r\n");
    EXPECT("COUNT WHERE segment:hanoi", ":6\r\n");   /* live: follows writes */
    EXPECT("COUNT WHERE segment:hue_now", ":5\r\n"); /* frozen: stays */
    now_s = NOW + 60;
    EXPECT("SEGMENT.FREEZE Empty WHERE tag:none", ":0\r\n");
    EXPECT("SEGMENT.LIST",
           "*3\r\n"
           "*10\r\n$4\r\nname\r\n$5\r\nhanoi\r\n$4\r\ntype\r\n$4\r\nlive\r\n$10\r\ndefinition\r\n"
           "$10\r\ncity:hanoi\r\n$4\r\nsize\r\n$-1\r\n$7\r\ncreated\r\n:1700000000\r\n"
           "*10\r\n$4\r\nname\r\n$7\r\nhue_now\r\n$4\r\ntype\r\n$6\r\nfrozen\r\n$10\r\ndefinition\r\n"
           "$25\r\ncity:\"Huế\" AND has:city\r\n$4\r\nsize\r\n:5\r\n$7\r\ncreated\r\n:1700000000\r\n"
           "*10\r\n$4\r\nname\r\n$5\r\nEmpty\r\n$4\r\ntype\r\n$6\r\nfrozen\r\n$10\r\ndefinition\r\n"
           "$8\r\ntag:none\r\n$4\r\nsize\r\n:0\r\n$7\r\ncreated\r\n:1700000060\r\n");
    EXPECT("SEGMENT.GET HANOI",
           "*12\r\n$4\r\nname\r\n$5\r\nhanoi\r\n$4\r\ntype\r\n$4\r\nlive\r\n$10\r\ndefinition\r\n"
           "$10\r\ncity:hanoi\r\n$4\r\nsize\r\n$-1\r\n$7\r\ncreated\r\n:1700000000\r\n"
           "$5\r\ncount\r\n:6\r\n");
    EXPECT("ARCHIVE ID 2", ":1\r\n");
    /* frozen size keeps archived members; count is COUNT WHERE segment:name */
    EXPECT_PREFIX("SEGMENT.GET hue_now", "*12\r\n");
    cr_assert(strstr(run("SEGMENT.GET hue_now"), "$4\r\nsize\r\n:5\r\n$7\r\ncreated\r\n:1700000000\r\n"
                                                   "$5\r\ncount\r\n:4\r\n"));
    EXPECT("SEGMENT.DEL hue_now", "+OK\r\n");
    EXPECT("COUNT", ":11\r\n"); /* deleting a segment never deletes contacts */
    EXPECT_PREFIX("SEGMENT.DEL hue_now", "-ERR no segment named 'hue_now'");
    EXPECT_PREFIX("SEGMENT.GET nosuch", "-ERR no segment named 'nosuch'");
    EXPECT_PREFIX("SEGMENT.SAVE hanoi WHERE city:hue", "-ERR segment 'hanoi' already exists");
    EXPECT_PREFIX("SEGMENT.FREEZE HANOI WHERE city:hue", "-ERR segment 'HANOI' already exists");
}

Test(server_campaign, segment_rejections_and_cycles)
{
    ten_contacts();
    EXPECT_PREFIX("SEGMENT.SAVE \"bad name\" WHERE city:hue", "-ERR invalid segment name");
    EXPECT_PREFIX("SEGMENT.SAVE \"Khách\" WHERE city:hue", "-ERR invalid segment name");
    EXPECT_PREFIX("SEGMENT.SAVE \"a\\x00b\" WHERE city:hue", "-ERR segment name contains a NUL byte");
    EXPECT("SEGMENT.FREEZE \"\\xff\" WHERE city:hue", "-ERR segment name is not valid UTF-8\r\n");
    EXPECT("SEGMENT.SAVE x FROM city:hue", "-ERR syntax error: SEGMENT.SAVE takes WHERE <filter>; got 'FROM'\r\n");
    EXPECT("SEGMENT.SAVE x WHERE", "-ERR wrong number of arguments for 'segment.save' command\r\n");
    EXPECT_PREFIX("SEGMENT.SAVE x WHERE city:(hue", "-ERR ");
    EXPECT_PREFIX("SEGMENT.SAVE x WHERE segment:missing", "-ERR ");
    EXPECT_PREFIX("SEGMENT.SAVE self WHERE city:hue OR segment:self", "-ERR ");
    cr_assert(strstr(run("SEGMENT.SAVE self WHERE city:hue OR segment:self"), "refers back to itself"));
    EXPECT("SEGMENT.SAVE b WHERE city:hue", "+OK\r\n");
    EXPECT("SEGMENT.SAVE a WHERE segment:b", "+OK\r\n");
    EXPECT("SEGMENT.DEL b", "+OK\r\n");
    const char *r = run("SEGMENT.SAVE b WHERE segment:a");
    cr_assert(strncmp(r, "-ERR ", 5) == 0 && strstr(r, "b -> a -> b"), "%s", r);
    EXPECT_PREFIX("COUNT WHERE segment:a", "-ERR ");
    EXPECT("SEGMENT.SAVE b WHERE has:email", "+OK\r\n");
    EXPECT("COUNT WHERE segment:a", ":3\r\n");
    EXPECT("SEGMENT.GET", "-ERR wrong number of arguments for 'segment.get' command\r\n");
    EXPECT("SEGMENT.LIST x", "-ERR wrong number of arguments for 'segment.list' command\r\n");
}

/* ---- GROUP.* -------------------------------------------------------------- */

Test(server_campaign, groups_create_add_remove_list_del)
{
    ten_contacts();
    EXPECT("GROUP.CREATE \"Khách VIP\"", "$9\r\nKHACH_VIP\r\n");
    EXPECT("GROUP.CREATE \"khach-vip\"", "$11\r\nKHACH_VIP_2\r\n");
    EXPECT("GROUP.CREATE \"Hà Nội\" PARENT khach_vip", "$6\r\nHA_NOI\r\n");
    EXPECT("GROUP.CREATE \"Đống Đa\" parent HA_NOI", "$7\r\nDONG_DA\r\n");
    EXPECT("GROUP.ADD KHACH_VIP ID 1 2", ":2\r\n");
    EXPECT("GROUP.ADD DONG_DA WHERE city:hue", ":5\r\n");
    EXPECT("GROUP.ADD DONG_DA ID 2 4", ":0\r\n");
    EXPECT("ARCHIVE ID 3", ":1\r\n");
    EXPECT("GROUP.ADD ha_noi ID 3 5", ":1\r\n"); /* archived 3 skipped */
    EXPECT("COUNT WHERE group:KHACH_VIP", ":7\r\n"); /* the subtree */
    EXPECT("GROUP.LIST",
           "*4\r\n"
           "*8\r\n$4\r\ncode\r\n$9\r\nKHACH_VIP\r\n$4\r\nname\r\n$10\r\nKhách VIP\r\n$6\r\nparent\r\n$-1\r\n"
           "$7\r\nmembers\r\n:2\r\n"
           "*8\r\n$4\r\ncode\r\n$6\r\nHA_NOI\r\n$4\r\nname\r\n$9\r\nHà Nội\r\n$6\r\nparent\r\n$9\r\nKHACH_VIP\r\n"
           "$7\r\nmembers\r\n:1\r\n"
           "*8\r\n$4\r\ncode\r\n$7\r\nDONG_DA\r\n$4\r\nname\r\n$11\r\nĐống Đa\r\n$6\r\nparent\r\n$6\r\nHA_NOI\r\n"
           "$7\r\nmembers\r\n:5\r\n"
           "*8\r\n$4\r\ncode\r\n$11\r\nKHACH_VIP_2\r\n$4\r\nname\r\n$9\r\nkhach-vip\r\n$6\r\nparent\r\n$-1\r\n"
           "$7\r\nmembers\r\n:0\r\n");
    EXPECT("GROUP.REMOVE DONG_DA ID 2 4 5", ":2\r\n");
    EXPECT("GROUP.REMOVE DONG_DA WHERE group:DONG_DA", ":3\r\n");
    EXPECT("GROUP.REMOVE DONG_DA ID 2", ":0\r\n");
    EXPECT("GROUP.ADD DONG_DA ID 6", ":1\r\n");
    EXPECT("GROUP.DEL HA_NOI", "+OK\r\n"); /* DONG_DA moves up under KHACH_VIP */
    cr_assert(strstr(run("GROUP.LIST"), "$7\r\nDONG_DA\r\n$4\r\nname\r\n$11\r\nĐống Đa\r\n$6\r\nparent\r\n"
                                        "$9\r\nKHACH_VIP\r\n"));
    EXPECT("COUNT WHERE group:KHACH_VIP", ":3\r\n"); /* 1, 2 and 6 */
    EXPECT("GET 5 groups", "*2\r\n$6\r\ngroups\r\n$-1\r\n"); /* lost HA_NOI */
}

Test(server_campaign, group_rejections)
{
    ten_contacts();
    EXPECT_PREFIX("GROUP.ADD NOSUCH ID 1", "-ERR no group 'NOSUCH'");
    EXPECT_PREFIX("GROUP.REMOVE NOSUCH WHERE city:hue", "-ERR no group 'NOSUCH'");
    EXPECT_PREFIX("GROUP.DEL NOSUCH", "-ERR no group 'NOSUCH'");
    EXPECT_PREFIX("GROUP.CREATE kids PARENT NOSUCH", "-ERR no group 'NOSUCH' to be the parent");
    EXPECT_PREFIX("GROUP.CREATE \"\\xff\\xfe\"", "-ERR group name is not valid UTF-8");
    EXPECT_PREFIX("GROUP.CREATE \"a\\x00b\"", "-ERR group name contains a NUL byte");
    /* strict UTF-8: overlong, surrogate, past U+10FFFF, cut short */
    EXPECT("GROUP.ADD \"\\xc0\\xaf\" ID 1", "-ERR group code is not valid UTF-8\r\n");
    EXPECT("GROUP.DEL \"\\xed\\xa0\\x80\"", "-ERR group code is not valid UTF-8\r\n");
    EXPECT("SEGMENT.GET \"\\xf4\\x90\\x80\\x80\"", "-ERR segment name is not valid UTF-8\r\n");
    EXPECT("FACET \"city\\xe1\\xbb\"", "-ERR field name is not valid UTF-8\r\n");
    EXPECT_PREFIX("FACET \"\\xf0\\x9f\\x98\\x80\"", "-ERR unknown field"); /* valid 4-byte UTF-8 */
    EXPECT("SPLIT PERCENT \"\\xff\"", "-ERR percentage is not valid UTF-8\r\n");
    EXPECT("SPLIT 2 BY \"\\xff\"", "-ERR BY field is not valid UTF-8\r\n");
    EXPECT_PREFIX("GROUP.CREATE \"!!!\"", "-ERR ");
    EXPECT_PREFIX("GROUP.CREATE \"\"", "-ERR ");
    EXPECT_PREFIX("GROUP.CREATE a b", "-ERR syntax error: GROUP.CREATE takes <name> [PARENT <code>]");
    EXPECT_PREFIX("GROUP.CREATE a PARENT", "-ERR syntax error: GROUP.CREATE takes");
    EXPECT_PREFIX("GROUP.CREATE a PARENT b c", "-ERR syntax error: GROUP.CREATE takes");
    EXPECT("GROUP.CREATE", "-ERR wrong number of arguments for 'group.create' command\r\n");
    EXPECT("GROUP.ADD X ID", "-ERR wrong number of arguments for 'group.add' command\r\n");
    EXPECT_PREFIX("GROUP.ADD \"A\\x00\" ID 1", "-ERR group code contains a NUL byte");
    EXPECT("GROUP.LIST", "*0\r\n");
    EXPECT("COUNT WHERE has:groups", ":0\r\n");
}

/* ---- NOTE.* --------------------------------------------------------------- */

Test(server_campaign, notes_add_list_edit_delete)
{
    ten_contacts();
    EXPECT("NOTE.ADD 1 \"Gọi lại vào **thứ Hai**\"", ":1\r\n");
    now_s = NOW + 100;
    EXPECT("NOTE.ADD 2 other", ":2\r\n");
    EXPECT("NOTE.ADD 1 \"- [ ] gửi báo giá\\n- [x] demo\"", ":3\r\n");
    EXPECT("NOTE.LIST 1",
           "*2\r\n"
           "*8\r\n$2\r\nid\r\n:3\r\n$7\r\ncreated\r\n:1700000100\r\n$6\r\nedited\r\n$-1\r\n"
           "$4\r\ntext\r\n$32\r\n- [ ] gửi báo giá\n- [x] demo\r\n"
           "*8\r\n$2\r\nid\r\n:1\r\n$7\r\ncreated\r\n:1700000000\r\n$6\r\nedited\r\n$-1\r\n"
           "$4\r\ntext\r\n$30\r\nGọi lại vào **thứ Hai**\r\n");
    now_s = NOW + 200;
    EXPECT("NOTE.EDIT 1 1 \"Đã gọi\"", "+OK\r\n");
    EXPECT_PREFIX("NOTE.LIST 1", "*2\r\n*8\r\n$2\r\nid\r\n:3\r\n");
    cr_assert(strstr(run("NOTE.LIST 1"), ":1\r\n$7\r\ncreated\r\n:1700000000\r\n$6\r\nedited\r\n:1700000200\r\n"
                                         "$4\r\ntext\r\n$10\r\nĐã gọi\r\n"));
    EXPECT("NOTE.DEL 1 3", "+OK\r\n");
    EXPECT_PREFIX("NOTE.LIST 1", "*1\r\n*8\r\n$2\r\nid\r\n:1\r\n");
    EXPECT("NOTE.LIST 3", "*0\r\n");
    EXPECT_PREFIX("NOTE.DEL 1 3", "-ERR contact 1 has no note 3");
    EXPECT_PREFIX("NOTE.EDIT 1 2 x", "-ERR contact 1 has no note 2"); /* note 2 is contact 2's */
    EXPECT_PREFIX("NOTE.DEL 2 1", "-ERR contact 2 has no note 1");
    EXPECT("DEL 2", ":1\r\n");
    EXPECT_PREFIX("NOTE.LIST 2", "-ERR no contact with id 2");
    EXPECT("UPSERT 2 city hue", ":1\r\n");
    EXPECT("NOTE.LIST 2", "*0\r\n"); /* a DEL'd id written again has no old notes */
}

Test(server_campaign, note_limits_and_rejections)
{
    ten_contacts();
    /* 1,000 characters of 2-3 bytes each are fine; 1,001 are -LIMIT */
    size_t cap = 1001 * 3 + 64;
    char *line = malloc(cap);
    cr_assert_not_null(line);
    strcpy(line, "NOTE.ADD 1 \"");
    for (int i = 0; i < 1000; i++)
        strcat(line, i % 2 ? "ệ" : "đ");
    strcat(line, "\"");
    EXPECT(line, ":1\r\n");
    line[strlen(line) - 1] = '\0';
    strcat(line, "a\"");
    EXPECT(line, "-LIMIT note is 1001 characters; the limit is 1000\r\n");
    snprintf(line, cap, "NOTE.EDIT 1 1 \"%01001d\"", 0);
    EXPECT(line, "-LIMIT note is 1001 characters; the limit is 1000\r\n");
    free(line);
    EXPECT_PREFIX("NOTE.ADD 1 \"\"", "-ERR note text is empty");
    EXPECT_PREFIX("NOTE.ADD 1 \"\\xff\"", "-ERR note text is not valid UTF-8");
    EXPECT_PREFIX("NOTE.ADD 1 \"a\\x00b\"", "-ERR note text contains a NUL byte");
    EXPECT_PREFIX("NOTE.ADD 999 hello", "-ERR no contact with id 999");
    EXPECT("NOTE.ADD 0 hello", "-ERR invalid id '0': ids start at 1\r\n");
    EXPECT_PREFIX("NOTE.ADD -1 hello", "-ERR invalid id '-1': ids have no sign");
    EXPECT_PREFIX("NOTE.LIST 0x10", "-ERR invalid id '0x10': ids are decimal");
    EXPECT_PREFIX("NOTE.EDIT 1 0 x", "-ERR invalid id '0'");
    EXPECT_PREFIX("NOTE.DEL 1 18446744073709551616", "-ERR invalid id '18446744073709551616'");
    EXPECT("NOTE.ADD 1 two words", "-ERR wrong number of arguments for 'note.add' command\r\n");
    EXPECT("ARCHIVE ID 1", ":1\r\n");
    EXPECT_PREFIX("NOTE.ADD 1 more", "-ERR contact 1 is archived; UNARCHIVE it");
    EXPECT_PREFIX("NOTE.EDIT 1 1 more", "-ERR contact 1 is archived");
    EXPECT_PREFIX("NOTE.DEL 1 1", "-ERR contact 1 is archived");
    EXPECT_PREFIX("NOTE.LIST 1", "*1\r\n*8\r\n$2\r\nid\r\n:1\r\n"); /* listed while archived */
}

Test(server_campaign, note_limit_follows_the_config)
{
    teardown();
    open_with("note-max-chars", "5");
    ten_contacts();
    EXPECT("NOTE.ADD 1 \"Chào!\"", ":1\r\n");
    EXPECT("NOTE.ADD 1 \"Chào!!\"", "-LIMIT note is 6 characters; the limit is 5\r\n");
}

/* ---- the command table and read-only mode --------------------------------- */

Test(server_campaign, commands_are_in_the_table_with_their_flags)
{
    static const char *const writes[] = {"TAG", "UNTAG", "SET", "ARCHIVE", "UNARCHIVE", "SEGMENT.SAVE",
                                         "SEGMENT.FREEZE", "SEGMENT.DEL", "GROUP.CREATE", "GROUP.ADD",
                                         "GROUP.REMOVE", "GROUP.DEL", "NOTE.ADD", "NOTE.EDIT", "NOTE.DEL"};
    static const char *const reads[] = {"SPLIT", "FACET", "OVERLAP", "REACH", "SEGMENT.LIST", "SEGMENT.GET",
                                        "GROUP.LIST", "NOTE.LIST"};
    for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
        const cmd_def *d = cmd_lookup(writes[i], strlen(writes[i]));
        cr_assert_not_null(d, "%s", writes[i]);
        cr_assert(d->flags & CMD_F_WRITE, "%s is a write", writes[i]);
        cr_assert_str_eq(d->group, "campaigns");
    }
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        const cmd_def *d = cmd_lookup(reads[i], strlen(reads[i]));
        cr_assert_not_null(d, "%s", reads[i]);
        cr_assert(!(d->flags & CMD_F_WRITE) && (d->flags & CMD_F_READ), "%s is a read", reads[i]);
    }
    EXPECT("COMMAND INFO group.create",
           "*1\r\n*10\r\n$12\r\ngroup.create\r\n:-2\r\n*1\r\n+write\r\n:0\r\n:0\r\n:0\r\n"
           "*0\r\n*0\r\n*0\r\n*0\r\n");
}

Test(server_campaign, readonly_refuses_writes_but_not_reads)
{
    ten_contacts();
    EXPECT("SEGMENT.SAVE s WHERE city:hue", "+OK\r\n");
    const char *ro = "-READONLY the write-ahead log failed: No space left on device\r\n";
    srv->readonly_reason = "the write-ahead log failed: No space left on device";
    EXPECT("TAG vip ID 1", ro);
    EXPECT("SET city hue ID 1", ro);
    EXPECT("GROUP.CREATE x", ro);
    EXPECT("NOTE.ADD 1 x", ro);
    EXPECT("SEGMENT.DEL s", ro);
    EXPECT("SPLIT 2 SAVE p_", ro);
    EXPECT("SPLIT 2", "*2\r\n:5\r\n:5\r\n");
    EXPECT("FACET city TOP 1", "*2\r\n$9\r\nHà Nội\r\n:5\r\n");
    EXPECT("OVERLAP segment:s | city:hue", "*2\r\n*2\r\n:5\r\n:5\r\n*2\r\n:5\r\n:5\r\n");
    EXPECT_PREFIX("SEGMENT.LIST", "*1\r\n");
    EXPECT_PREFIX("REACH", "*8\r\n");
    srv->readonly_reason = NULL;
    EXPECT("SPLIT 2 SAVE p_", "*2\r\n:5\r\n:5\r\n");
}

/*
 * test_server_commands.c — Criterion suite `server_commands`: the command
 * table and cmd_dispatch() driven with no network, as the CLI's --embedded
 * mode uses them, over a real engine: reply bytes, argument checks (ids,
 * WHERE, FIND options), authentication, arity, SLOWLOG, INFO, COMMAND.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "resp.h"
#include "server.h"

static segdb_t *db;
static server_ctx *srv;
static client_ctx *cl;
static reply_buf out;
static int last_rc;

static void open_with(const char *pass, const char *slowlog)
{
    server_config cfg;
    cr_assert_eq(config_init(&cfg), 0);
    segdb_err e;
    if (pass)
        cr_assert_eq(config_set(&cfg, "requirepass", pass, &e), 0);
    if (slowlog)
        cr_assert_eq(config_set(&cfg, "slowlog-log-slower-than", slowlog, &e), 0);
    segdb_options o;
    config_engine_options(&cfg, &o);
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

/* Split an inline line, dispatch it, return the reply bytes as a string. */
static const char *run(const char *line)
{
    char **argv;
    size_t *lens;
    int argc;
    cr_assert_eq(resp_split_line(line, strlen(line), 0, &argv, &lens, &argc), 0, "%s", line);
    reply_reset(&out);
    last_rc = cmd_dispatch(srv, cl, argc, (const char **)argv, lens, &out);
    resp_free_args(argv, lens, argc);
    static char buf[65536];
    size_t n = out.len < sizeof buf - 1 ? out.len : sizeof buf - 1;
    memcpy(buf, out.buf ? out.buf : "", n);
    buf[n] = '\0';
    return buf;
}

TestSuite(server_commands, .init = setup, .fini = teardown);

Test(server_commands, ping_and_echo)
{
    cr_assert_str_eq(run("PING"), "+PONG\r\n");
    cr_assert_str_eq(run("ping \"xin chào\""), "$9\r\nxin chào\r\n");
    cr_assert_str_eq(run("PING a b"), "-ERR wrong number of arguments for 'ping' command\r\n");
    cr_assert_str_eq(run("ECHO \"\\x00\\xff\""), "$2\r\n");
    cr_assert_eq(out.len, 8);
    cr_assert_eq(memcmp(out.buf, "$2\r\n\0\xff\r\n", 8), 0, "ECHO is binary-safe");
}

Test(server_commands, unknown_command_reports_name_and_args)
{
    cr_assert_str_eq(run("FROB a 'b c'"),
                     "-ERR unknown command 'FROB', with args beginning with: 'a' 'b c' \r\n");
    cr_assert_str_eq(run("FROB"), "-ERR unknown command 'FROB', with args beginning with: \r\n");
}

Test(server_commands, wrong_arity_names_the_command_lower_case)
{
    cr_assert_str_eq(run("GET"), "-ERR wrong number of arguments for 'get' command\r\n");
    cr_assert_str_eq(run("UPSERT 1 city"), "-ERR wrong number of arguments for 'upsert' command\r\n");
    cr_assert_str_eq(run("UPSERT 1 city hue name"),
                     "-ERR wrong number of arguments for 'upsert' command\r\n");
    cr_assert_str_eq(run("FIELD.LIST x"), "-ERR wrong number of arguments for 'field.list' command\r\n");
}

Test(server_commands, upsert_get_count_round_trip)
{
    cr_assert_str_eq(run("UPSERT 5 city \"Hà Nội\" name 'Nguyễn Văn An'"), ":1\r\n");
    cr_assert_str_eq(run("UPSERT 5 email an@example.vn"), ":0\r\n");
    cr_assert_str_eq(run("GET 5 city name address"),
                     "*6\r\n$4\r\ncity\r\n$9\r\nHà Nội\r\n$4\r\nname\r\n$16\r\nNguyễn Văn An\r\n"
                     "$7\r\naddress\r\n$-1\r\n");
    cr_assert_str_eq(run("GET 6"), "$-1\r\n");
    cr_assert_str_eq(run("COUNT"), ":1\r\n");
    cr_assert_str_eq(run("COUNT WHERE city:hanoi AND has:email"), ":1\r\n");
    cr_assert_str_eq(run("COUNT WHERE \"city:'Hà Nội'\""), ":1\r\n");
    cr_assert_str_eq(run("COUNT WHERE city:\"ha noi\""), ":1\r\n");
    cr_assert_str_eq(run("count where city:hue"), ":0\r\n");
    cr_assert_str_eq(run("DBSIZE"), ":1\r\n");
}

Test(server_commands, ids_are_decimal_u64_from_one)
{
    cr_assert_str_eq(run("GET 0"), "-ERR invalid id '0': ids start at 1\r\n");
    cr_assert_str_eq(run("GET 000"), "-ERR invalid id '000': ids start at 1\r\n");
    cr_assert_str_eq(run("GET -3"),
                     "-ERR invalid id '-3': ids have no sign; ids are decimal integers from 1 to "
                     "18446744073709551615\r\n");
    cr_assert_str_eq(run("GET 0x1F"), "-ERR invalid id '0x1F': ids are decimal, not hexadecimal\r\n");
    cr_assert_str_eq(run("GET 18446744073709551616"),
                     "-ERR invalid id '18446744073709551616': larger than 18446744073709551615 "
                     "(2^64-1)\r\n");
    cr_assert_str_eq(run("GET 1.5"),
                     "-ERR invalid id '1.5': ids are decimal integers from 1 to 18446744073709551615\r\n");
    cr_assert_str_eq(run("GET ''"),
                     "-ERR invalid id '': ids are decimal integers from 1 to 18446744073709551615\r\n");
    cr_assert_str_eq(run("UPSERT 18446744073709551615 city hue"), ":1\r\n");
    cr_assert_str_eq(run("FIND WHERE city:hue"), "*1\r\n$20\r\n18446744073709551615\r\n",
                     "ids are bulk strings");
}

Test(server_commands, del_counts_and_checks_every_id_first)
{
    run("UPSERT 1 city hue");
    run("UPSERT 2 city hue");
    cr_assert_str_eq(run("DEL 1 x"), "-ERR invalid id 'x': ids are decimal integers from 1 to "
                                     "18446744073709551615\r\n");
    cr_assert_str_eq(run("COUNT"), ":2\r\n", "nothing deleted when one id is bad");
    cr_assert_str_eq(run("DEL 1 3"), ":1\r\n");
    cr_assert_str_eq(run("GET 1"), "$-1\r\n");
}

Test(server_commands, where_needs_a_filter)
{
    cr_assert_str_eq(run("COUNT WHERE"), "-ERR empty filter after WHERE\r\n");
    cr_assert_str_eq(run("FIND WHERE"), "-ERR empty filter after WHERE\r\n");
    cr_assert_str_eq(run("COUNT city:hue"),
                     "-ERR syntax error: COUNT takes WHERE <filter>, got 'city:hue'\r\n");
    cr_assert_str_eq(run("EXPLAIN city:hue x"),
                     "-ERR syntax error: EXPLAIN takes WHERE <filter>, got 'city:hue'\r\n");
    cr_assert_str_eq(run("COUNT WHERE \"city:a\\x00b\""), "-ERR filter contains a NUL byte\r\n");
    const char *r = run("COUNT WHERE city:Hà Nội");
    cr_assert_eq(r[0], '-', "a bare word is a filter error: %s", r);
}

Test(server_commands, find_options_in_any_order)
{
    run("UPSERT 1 city hue name An");
    run("UPSERT 2 city hue");
    run("UPSERT 3 city hanoi name Binh");
    cr_assert_str_eq(run("FIND WHERE city:hue"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    cr_assert_str_eq(run("FIND LIMIT 0 5 FIELDS name,city WHERE city:hue"),
                     "*2\r\n*3\r\n$1\r\n1\r\n$2\r\nAn\r\n$3\r\nhue\r\n*3\r\n$1\r\n2\r\n$-1\r\n$3\r\nhue\r\n");
    cr_assert_str_eq(run("FIND FIELDS name LIMIT 1 1"), "*1\r\n*2\r\n$1\r\n2\r\n$-1\r\n");
    cr_assert_str_eq(run("FIND LIMIT 0 0"), "*0\r\n");
    cr_assert_str_eq(run("FIND LIMIT 0 10001"),
                     "-LIMIT FIND LIMIT count 10001 is over the maximum of 10000 per FIND page\r\n");
    cr_assert_str_eq(run("FIND LIMIT -1 5"), "-ERR LIMIT offset '-1' is not a non-negative integer\r\n");
    cr_assert_str_eq(run("FIND LIMIT 0"), "-ERR syntax error: LIMIT needs an offset and a count\r\n");
    cr_assert_str_eq(run("FIND FIELDS a,,b"), "-ERR syntax error: empty field name in FIELDS 'a,,b'\r\n");
    cr_assert_str_eq(run("FIND SORT name SORT city"), "-ERR syntax error: SORT given twice\r\n");
    cr_assert_str_eq(run("FIND ORDER name"),
                     "-ERR syntax error: unknown FIND option 'ORDER' (expected FIELDS, SORT, LIMIT "
                     "or WHERE)\r\n");
}

Test(server_commands, engine_errors_keep_their_code_word)
{
    const char *r = run("UPSERT 9 shoe_size 42");
    cr_assert(strncmp(r, "-ERR ", 5) == 0 && strstr(r, "FIELD.CREATE"), "%s", r);
    cr_assert_str_eq(run("FIELD.CREATE shoe_size integer"), "+OK\r\n");
    cr_assert_str_eq(run("UPSERT 9 shoe_size 42"), ":1\r\n");
    r = run("COUNT WHERE shoe_size:abc");
    cr_assert(strncmp(r, "-WRONGTYPE ", 11) == 0, "%s", r);
    r = run("UPSERT 9 name \"\\xff\"");
    cr_assert(strncmp(r, "-ERR ", 5) == 0, "invalid UTF-8 refused: %s", r);
    r = run("UPSERT 9 \"na\\x00me\" x");
    cr_assert_str_eq(r, "-ERR field name contains a NUL byte\r\n");
}

Test(server_commands, quit_and_shutdown_tell_the_caller)
{
    cr_assert_str_eq(run("QUIT"), "+OK\r\n");
    cr_assert_eq(last_rc, CMD_CLOSE);
    cr_assert_str_eq(run("SHUTDOWN"), "");
    cr_assert_eq(last_rc, CMD_SHUTDOWN);
    cr_assert_str_eq(run("PING"), "+PONG\r\n");
    cr_assert_eq(last_rc, CMD_DONE);
}

Test(server_commands, connection_commands)
{
    cr_assert_str_eq(run("SELECT 0"), "+OK\r\n");
    cr_assert_str_eq(run("SELECT 1"), "-ERR DB index is out of range (segdb has database 0 only)\r\n");
    cr_assert_str_eq(run("HELLO 3"), "-NOPROTO unsupported protocol version\r\n");
    cr_assert(strstr(run("HELLO 2 SETNAME cli"), "$5\r\nsegdb\r\n"));
    cr_assert_str_eq(run("CLIENT GETNAME"), "$3\r\ncli\r\n");
    cr_assert_str_eq(run("CLIENT SETNAME 'a b'"),
                     "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    cr_assert(strstr(run("CLIENT LIST"), "addr=embedded fd=-1 name=cli"));
    cr_assert_str_eq(run("AUTH x"),
                     "-ERR AUTH <password> called without any password configured for the default "
                     "user. Are you sure your configuration is correct?\r\n");
}

Test(server_commands, auth_gates_every_command_but_a_few)
{
    teardown(); /* reopen with a password */
    open_with("s3cret", NULL);
    cr_assert_str_eq(run("PING"), "-NOAUTH Authentication required.\r\n");
    cr_assert_str_eq(run("COUNT"), "-NOAUTH Authentication required.\r\n");
    cr_assert_str_eq(run("NOPE"), "-ERR unknown command 'NOPE', with args beginning with: \r\n");
    cr_assert(strncmp(run("HELLO 2"), "-NOAUTH HELLO must be called", 28) == 0);
    cr_assert_str_eq(run("AUTH wrong"),
                     "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    cr_assert_str_eq(run("AUTH bob s3cret"),
                     "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    cr_assert_str_eq(run("AUTH s3cre"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    cr_assert_str_eq(run("AUTH s3cret"), "+OK\r\n");
    cr_assert_str_eq(run("PING"), "+PONG\r\n");
    cr_assert_str_eq(run("AUTH default s3cret"), "+OK\r\n");
}

Test(server_commands, slowlog_records_but_never_passwords)
{
    teardown(); /* reopen with a password */
    open_with("pw", "0");
    run("AUTH pw");
    run("PING");
    run("ECHO hello");
    cr_assert_str_eq(run("SLOWLOG LEN"), ":2\r\n", "PING and ECHO; AUTH is not logged");
    const char *r = run("SLOWLOG GET 2");
    /* newest first: the SLOWLOG LEN just run (id 2), then ECHO (id 1) */
    cr_assert(strncmp(r, "*2\r\n*6\r\n:2\r\n", strlen("*2\r\n*6\r\n:2\r\n")) == 0, "%s", r);
    cr_assert(strstr(r, "*6\r\n:1\r\n"), "%s", r);
    cr_assert(strstr(r, "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n$8\r\nembedded\r\n$0\r\n"), "%s", r);
    cr_assert_null(strstr(r, "pw"), "the password never appears");
    cr_assert_str_eq(run("SLOWLOG RESET"), "+OK\r\n");
    cr_assert_str_eq(run("SLOWLOG LEN"), ":1\r\n", "only the RESET itself, logged after it ran");
    cr_assert_str_eq(run("SLOWLOG GET -2"), "-ERR count should be greater than or equal to -1\r\n");
    cr_assert(strncmp(run("SLOWLOG NOPE"), "-ERR unknown subcommand 'NOPE' for 'slowlog'", 44) == 0);
}

Test(server_commands, info_sections_and_command_stats)
{
    run("UPSERT 1 city hue");
    run("PING");
    run("PING");
    const char *r = run("INFO");
    const char *want[] = {"# Server\r\n", "segdb_version:", "process_id:", "tcp_port:7311",
                          "uptime_in_seconds:", "executable:", "config_file:", "# Clients\r\n",
                          "maxclients:10000", "blocked_clients:0", "# Memory\r\n", "used_memory:",
                          "used_memory_engine:", "bytes_per_contact:", "# Persistence\r\n",
                          "aof_enabled:0", "# Stats\r\n", "total_commands_processed:3",
                          "instantaneous_ops_per_sec:", "rejected_connections:0",
                          "cmdstat_ping:calls=2,usec=", "cmdstat_upsert:calls=1,",
                          "# Keyspace\r\ncontacts:live=1,archived=0\r\n", NULL};
    for (int i = 0; want[i]; i++)
        cr_assert(strstr(r, want[i]), "INFO has %s", want[i]);
    r = run("INFO keyspace");
    cr_assert(strstr(r, "\r\n# Keyspace\r\ncontacts:live=1,archived=0\r\n\r\n") && !strstr(r, "# Server"),
              "%s", r);
    cr_assert_str_eq(run("INFO nosuchsection"), "$0\r\n\r\n");
}

Test(server_commands, command_table_is_well_formed)
{
    size_t n = cmd_table_size();
    cr_assert_geq(n, 20);
    for (size_t i = 0; i < n; i++) {
        const cmd_def *d = cmd_table_get(i);
        cr_assert_not_null(d->handler, "%s", d->name);
        cr_assert_neq(d->arity, 0, "%s", d->name);
        cr_assert(d->summary && *d->summary && d->group && d->args, "%s", d->name);
        for (const char *p = d->name; *p; p++)
            cr_assert(!(*p >= 'a' && *p <= 'z'), "upper-case name %s", d->name);
        cr_assert_eq(cmd_lookup(d->name, strlen(d->name)), d);
    }
    cr_assert_null(cmd_table_get(n));
    cr_assert_not_null(cmd_lookup("field.create", 12));
    char count[32];
    snprintf(count, sizeof count, ":%zu\r\n", n);
    cr_assert_str_eq(run("COMMAND COUNT"), count);
    const char *r = run("COMMAND INFO upsert nosuch");
    cr_assert_str_eq(r, "*2\r\n*10\r\n$6\r\nupsert\r\n:-4\r\n*1\r\n+write\r\n:0\r\n:0\r\n:0\r\n"
                        "*0\r\n*0\r\n*0\r\n*0\r\n$-1\r\n");
    r = run("COMMAND DOCS ping");
    const char *docs = "*2\r\n$4\r\nping\r\n*8\r\n$7\r\nsummary\r\n";
    cr_assert(strncmp(r, docs, strlen(docs)) == 0, "%s", r);
    r = run("CONFIG GET maxclients");
    cr_assert_str_eq(r, "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n");
    cr_assert_str_eq(run("DEBUG VERIFY"), "+OK\r\n");
}

Test(server_commands, readonly_refuses_writes_but_not_reads)
{
    run("UPSERT 1 city hue");
    srv->readonly_reason = "the write-ahead log failed: No space left on device";
    cr_assert_str_eq(run("UPSERT 2 city hue"),
                     "-READONLY the write-ahead log failed: No space left on device\r\n");
    cr_assert_str_eq(run("DEL 1"), "-READONLY the write-ahead log failed: No space left on device\r\n");
    cr_assert_str_eq(run("COUNT"), ":1\r\n");
    srv->readonly_reason = NULL;
    cr_assert_str_eq(run("UPSERT 2 city hue"), ":1\r\n");
}

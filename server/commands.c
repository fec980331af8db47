/*
 * commands.c — segdb-server's command table, the dispatcher and the command
 * handlers (see commands.h). Each handler checks its arguments (ids, WHERE,
 * FIND options), calls the engine API of segdb.h and appends the reply.
 *
 * Argument checks kept here, not in the engine: ids (decimal u64, 1..2^64-1,
 * no sign, no hex), NUL bytes in names and filters (the engine takes those
 * as C strings), WHERE syntax and FIND options. Values are handed to the
 * engine with their lengths; it checks UTF-8 and NUL bytes in values.
 */
#include "commands.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd_args.h"
#include "cmd_campaign.h"
#include "cmd_csv.h"
#include "cmd_persist.h"
#include "server.h"

#define ARGS int argc, const char **argv, const size_t *argvlen, reply_buf *out
#define HANDLER(fn) static int fn(server_ctx *srv, client_ctx *c, ARGS)

HANDLER(cmd_ping); HANDLER(cmd_echo); HANDLER(cmd_auth); HANDLER(cmd_hello);
HANDLER(cmd_quit); HANDLER(cmd_select); HANDLER(cmd_client);
HANDLER(cmd_upsert); HANDLER(cmd_get); HANDLER(cmd_del); HANDLER(cmd_count);
HANDLER(cmd_find); HANDLER(cmd_explain); HANDLER(cmd_dbsize);
HANDLER(cmd_field_create); HANDLER(cmd_field_list);
HANDLER(cmd_info); HANDLER(cmd_slowlog); HANDLER(cmd_command); HANDLER(cmd_config);
HANDLER(cmd_debug); HANDLER(cmd_shutdown);

enum { R = CMD_F_READ, W = CMD_F_WRITE, A = CMD_F_ADMIN, N = CMD_F_NOAUTH, NS = CMD_F_NOSLOWLOG };

/* One row per command: name, arity, flags, handler, arguments, summary, group. */
static const cmd_def TABLE[] = {
    {"PING", -1, 0, cmd_ping, "[message]", "Replies PONG, or the message", "connection"},
    {"ECHO", 2, 0, cmd_echo, "message", "Replies the message (binary-safe)", "connection"},
    {"AUTH", -2, N | NS, cmd_auth, "[username] password", "Authenticates the connection", "connection"},
    {"HELLO", -1, N | NS, cmd_hello, "[protover [AUTH username password] [SETNAME name]]",
     "Handshake: protocol 2 only (RESP3 gets -NOPROTO)", "connection"},
    {"QUIT", -1, N, cmd_quit, "", "Closes the connection", "connection"},
    {"SELECT", 2, 0, cmd_select, "0", "Accepted for client libraries: database 0 only", "connection"},
    {"CLIENT", -2, 0, cmd_client, "LIST|ID|GETNAME|SETNAME name", "Connection information",
     "connection"},
    {"UPSERT", -4, W, cmd_upsert, "id field value [field value ...]",
     "Creates or updates a contact; :1 created, :0 updated", "contacts"},
    {"GET", -2, R, cmd_get, "id [field ...]", "A contact's fields as field, value pairs; nil if absent",
     "contacts"},
    {"DEL", -2, W, cmd_del, "id [id ...]", "Deletes contacts; replies how many existed", "contacts"},
    {"COUNT", -1, R, cmd_count, "[WHERE filter]", "Counts the contacts matching a filter", "contacts"},
    {"FIND", -1, R, cmd_find,
     "[FIELDS f1,f2,...] [SORT field [ASC|DESC]] [LIMIT offset count] [WHERE filter]",
     "Ids (or rows of fields) of the contacts matching a filter", "contacts"},
    {"EXPLAIN", -3, R, cmd_explain, "WHERE filter", "The bitmap plan of a filter", "contacts"},
    {"DBSIZE", 1, R, cmd_dbsize, "", "Number of contacts, archived included", "contacts"},
    {"IMPORT", -2, W, cmd_import, "[MATCH id|identifier|email|phone] csv",
     "Creates or updates contacts from CSV text (header row first); replies created, updated, rejected and "
     "each rejected row's line and reason", "contacts"},
    {"EXPORT", -1, R, cmd_export, "[FIELDS f1,f2,...] [CURSOR c] [COUNT n] [WHERE filter]",
     "One page of contacts as CSV: [next cursor, csv]; cursor 0 starts, \"0\" back means done", "contacts"},
    {"FIELD.CREATE", 3, W, cmd_field_create, "name text|number|integer|time|bool|category",
     "Creates a custom field", "fields"},
    {"FIELD.LIST", 1, R, cmd_field_list, "", "Every field as name, kind pairs", "fields"},
    {"TAG", -4, W, cmd_tag, "tag ID id [id ...] | WHERE filter", "Tags contacts; replies how many changed",
     "campaigns"},
    {"UNTAG", -4, W, cmd_untag, "tag ID id [id ...] | WHERE filter",
     "Removes a tag; replies how many changed", "campaigns"},
    {"SET", -5, W, cmd_set, "field value ID id [id ...] | WHERE filter",
     "Sets a field on contacts; replies [changed, rejected]", "campaigns"},
    {"ARCHIVE", -3, W, cmd_archive, "ID id [id ...] | WHERE filter",
     "Archives contacts; replies how many changed", "campaigns"},
    {"UNARCHIVE", -3, W, cmd_unarchive, "ID id [id ...] | WHERE filter",
     "Brings archived contacts back; replies how many changed", "campaigns"},
    {"SPLIT", -2, R, cmd_split,
     "n|PERCENT p1 [p2 ...] [RANDOM seed] [BY field] [SAVE prefix] [WHERE filter]",
     "Splits contacts into parts; replies the part sizes", "campaigns"},
    {"FACET", -2, R, cmd_facet, "field [TOP k] [WHERE filter]",
     "Value counts of a field, by count descending", "campaigns"},
    {"OVERLAP", -2, R, cmd_overlap, "filter | filter [| filter ...]",
     "Matrix of pairwise intersection counts", "campaigns"},
    {"REACH", -1, R, cmd_reach, "[WHERE filter]", "Reachable contacts per channel", "campaigns"},
    {"SEGMENT.SAVE", -4, W, cmd_segment_save, "name WHERE filter",
     "Saves a live segment (re-evaluated on every use)", "campaigns"},
    {"SEGMENT.FREEZE", -4, W, cmd_segment_freeze, "name WHERE filter",
     "Saves the contacts matching now; replies the size", "campaigns"},
    {"SEGMENT.LIST", 1, R, cmd_segment_list, "", "Every segment", "campaigns"},
    {"SEGMENT.GET", 2, R, cmd_segment_get, "name", "One segment with its current count", "campaigns"},
    {"SEGMENT.DEL", 2, W, cmd_segment_del, "name", "Deletes a segment (never its contacts)",
     "campaigns"},
    {"GROUP.CREATE", -2, W, cmd_group_create, "name [PARENT code]",
     "Creates a group; replies its code", "campaigns"},
    {"GROUP.ADD", -4, W, cmd_group_add, "code ID id [id ...] | WHERE filter",
     "Adds contacts to a group; replies how many joined", "campaigns"},
    {"GROUP.REMOVE", -4, W, cmd_group_remove, "code ID id [id ...] | WHERE filter",
     "Removes contacts from a group; replies how many left", "campaigns"},
    {"GROUP.LIST", 1, R, cmd_group_list, "", "Every group, depth-first", "campaigns"},
    {"GROUP.DEL", 2, W, cmd_group_del, "code", "Deletes a group; its children move up",
     "campaigns"},
    {"NOTE.ADD", 3, W, cmd_note_add, "id text", "Adds a note to a contact; replies the note id",
     "campaigns"},
    {"NOTE.LIST", 2, R, cmd_note_list, "id", "A contact's notes, newest first", "campaigns"},
    {"NOTE.EDIT", 4, W, cmd_note_edit, "id note text", "Replaces a note's text", "campaigns"},
    {"NOTE.DEL", 3, W, cmd_note_del, "id note", "Deletes a note", "campaigns"},
    {"INFO", -1, 0, cmd_info, "[section ...]", "Server, clients, memory, stats and keyspace figures",
     "server"},
    {"SLOWLOG", -2, A, cmd_slowlog, "GET [count]|LEN|RESET", "The slow command log", "server"},
    {"COMMAND", -1, 0, cmd_command, "[COUNT|LIST|INFO name ...|DOCS [name ...]]",
     "The command table", "server"},
    {"CONFIG", -2, A, cmd_config, "GET pattern [pattern ...] | RESETSTAT",
     "Current configuration values; RESETSTAT zeroes INFO's stats and commandstats", "server"},
    {"DEBUG", -2, A, cmd_debug, "VERIFY | OPTIMIZE",
     "VERIFY rebuilds every index from the columns and compares; OPTIMIZE lays the indexes out "
     "afresh after a bulk load", "server"},
    {"SHUTDOWN", -1, A, cmd_shutdown, "[NOSAVE|SAVE]",
     "Flushes the log and stops the server (SAVE: writes a snapshot first)", "server"},
    {"SAVE", 1, A, cmd_save, "", "Writes a snapshot now (blocking)", "server"},
    {"BGSAVE", 1, A, cmd_bgsave, "", "Writes a snapshot from a forked child", "server"},
    {"LASTSAVE", 1, 0, cmd_lastsave, "", "Unix time of the last successful snapshot", "server"},
};
#define NCOMMANDS (sizeof(TABLE) / sizeof(TABLE[0]))

size_t cmd_table_size(void) { return NCOMMANDS; }

const cmd_def *cmd_table_get(size_t i) { return i < NCOMMANDS ? &TABLE[i] : NULL; }

const cmd_def *cmd_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strlen(TABLE[i].name) == len && strncasecmp(TABLE[i].name, name, len) == 0)
            return &TABLE[i];
    return NULL;
}

/* ---- argument helpers ---------------------------------------------------- */

static void lower_name(const char *name, char *buf, size_t cap)
{
    size_t i = 0;
    for (; name[i] && i + 1 < cap; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    buf[i] = '\0';
}

/* SPEC 7: ids are decimal u64 from 1 to 2^64-1; no sign, no hex. */
static int parse_id(const char *s, size_t len, uint64_t *id, reply_buf *out)
{
    char b[80];
    const char *range = "ids are decimal integers from 1 to 18446744073709551615";
    if (len == 0) {
        reply_errorf(out, "ERR", "invalid id '': %s", range);
        return -1;
    }
    if (s[0] == '-' || s[0] == '+') {
        reply_errorf(out, "ERR", "invalid id '%s': ids have no sign; %s", arg_shown(s, len, b, sizeof b),
                     range);
        return -1;
    }
    if (len > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        reply_errorf(out, "ERR", "invalid id '%s': ids are decimal, not hexadecimal",
                     arg_shown(s, len, b, sizeof b));
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            reply_errorf(out, "ERR", "invalid id '%s': %s", arg_shown(s, len, b, sizeof b), range);
            return -1;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            reply_errorf(out, "ERR", "invalid id '%s': larger than 18446744073709551615 (2^64-1)",
                         arg_shown(s, len, b, sizeof b));
            return -1;
        }
        v = v * 10 + d;
    }
    if (v == 0) {
        reply_errorf(out, "ERR", "invalid id '%s': ids start at 1", arg_shown(s, len, b, sizeof b));
        return -1;
    }
    *id = v;
    return 0;
}

/* The engine takes names and filters as C strings: refuse NUL bytes inside. */
static int no_nul(const char *s, size_t len, const char *what, reply_buf *out)
{
    if (memchr(s, '\0', len)) {
        reply_errorf(out, "ERR", "%s contains a NUL byte", what);
        return -1;
    }
    return 0;
}

/* WHERE <words...>: the words joined by single spaces (SPEC 3). NULL and an
 * error reply when there are none, a NUL byte, or no memory. */
static char *join_filter(int argc, const char **argv, const size_t *argvlen, int from,
                         reply_buf *out)
{
    if (from >= argc) {
        reply_error(out, "ERR", "empty filter after WHERE");
        return NULL;
    }
    size_t total = 0;
    for (int i = from; i < argc; i++) {
        if (no_nul(argv[i], argvlen[i], "filter", out) < 0)
            return NULL;
        total += argvlen[i] + 1;
    }
    char *f = malloc(total + 1);
    if (!f) {
        reply_error(out, "ERR", "out of memory");
        return NULL;
    }
    size_t w = 0;
    for (int i = from; i < argc; i++) {
        if (i > from)
            f[w++] = ' ';
        memcpy(f + w, argv[i], argvlen[i]);
        w += argvlen[i];
    }
    f[w] = '\0';
    return f;
}

/* The helpers above, for handlers in other files (declared in commands.h). */
int cmd_parse_id(const char *s, size_t len, uint64_t *id, reply_buf *out) { return parse_id(s, len, id, out); }
int cmd_no_nul(const char *s, size_t len, const char *what, reply_buf *out) { return no_nul(s, len, what, out); }
char *cmd_join_filter(int argc, const char **argv, const size_t *argvlen, int from, reply_buf *out)
{
    return join_filter(argc, argv, argvlen, from, out);
}
const char *cmd_shown(const char *s, size_t len, char *buf, size_t cap) { return arg_shown(s, len, buf, cap); }

static void reply_strvec(reply_buf *out, const segdb_strvec *sv)
{
    reply_array(out, sv->n);
    for (size_t i = 0; i < sv->n; i++) {
        if (sv->v[i])
            reply_bulk(out, sv->v[i], sv->len[i]);
        else
            reply_nil(out);
    }
}

static void reply_wrong_arity(reply_buf *out, const char *name)
{
    char low[64];
    lower_name(name, low, sizeof low);
    reply_errorf(out, "ERR", "wrong number of arguments for '%s' command", low);
}

static void reply_unknown_sub(reply_buf *out, const char *cmd, const char *sub, size_t sublen,
                              const char *valid)
{
    char b[80];
    reply_errorf(out, "ERR", "unknown subcommand '%s' for '%s'; valid: %s",
                 arg_shown(sub, sublen, b, sizeof b), cmd, valid);
}

/* ---- dispatch ------------------------------------------------------------ */

int cmd_dispatch(server_ctx *srv, client_ctx *c, int argc, const char **argv,
                 const size_t *argvlen, reply_buf *out)
{
    if (argc <= 0)
        return CMD_DONE;
    const cmd_def *d = cmd_lookup(argv[0], argvlen[0]);
    if (!d) {
        char name[160], args[160] = "", b[160];
        arg_shown(argv[0], argvlen[0] > 128 ? 128 : argvlen[0], name, sizeof name);
        for (int i = 1; i < argc && strlen(args) < 128; i++) {
            size_t room = 128 - strlen(args);
            size_t n = argvlen[i] < room ? argvlen[i] : room;
            char piece[160];
            snprintf(piece, sizeof piece, "'%s' ", arg_shown(argv[i], n, b, sizeof b));
            strncat(args, piece, sizeof(args) - strlen(args) - 1);
        }
        reply_errorf(out, "ERR", "unknown command '%s', with args beginning with: %s", name, args);
        return CMD_DONE;
    }
    if (!c->authed && !(d->flags & CMD_F_NOAUTH)) {
        reply_error(out, "NOAUTH", "Authentication required.");
        return CMD_DONE;
    }
    if ((d->arity > 0 && argc != d->arity) || (d->arity < 0 && argc < -d->arity)) {
        reply_wrong_arity(out, d->name);
        return CMD_DONE;
    }
    if ((d->flags & CMD_F_WRITE) && srv->readonly_reason) {
        reply_error(out, "READONLY", srv->readonly_reason);
        return CMD_DONE;
    }
    c->lastcmd = d->name;
    int64_t t0 = srv->chain_clock_us ? srv->chain_clock_us : ae_now_us();
    int r = d->handler(srv, c, argc, argv, argvlen, out);
    int64_t t1 = ae_now_us(), dt = t1 - t0;
    if (srv->in_input) srv->chain_clock_us = t1;
    c->last_ms = t0 / 1000;
    cmd_stat *st = &srv->cmdstats[d - TABLE];
    st->calls++;
    st->usec += (uint64_t)dt;
    srv->total_commands++;
    int64_t thr = srv->cfg.slowlog_log_slower_than;
    if (thr >= 0 && dt >= thr && !(d->flags & CMD_F_NOSLOWLOG))
        slowlog_push(&srv->slow, (size_t)srv->cfg.slowlog_max_len, argc, argv, argvlen, dt, c->addr,
                     c->name);
    return r;
}

/* ---- connection commands ------------------------------------------------- */

HANDLER(cmd_ping)
{
    if (argc > 2)
        reply_wrong_arity(out, "ping");
    else if (argc == 2)
        reply_bulk(out, argv[1], argvlen[1]);
    else
        reply_status(out, "PONG");
    return CMD_DONE;
}

HANDLER(cmd_echo)
{
    reply_bulk(out, argv[1], argvlen[1]);
    return CMD_DONE;
}

/* Constant-time comparison, so a wrong password's timing tells nothing. */
static bool password_ok(const server_ctx *srv, const char *p, size_t len)
{
    const char *want = srv->cfg.requirepass;
    size_t wl = strlen(want);
    unsigned char diff = (unsigned char)(wl != len);
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(p[i] ^ want[wl ? i % wl : 0]);
    return diff == 0 && wl > 0;
}

/* 0 when authenticated, -1 with the error replied. */
static int do_auth(server_ctx *srv, client_ctx *c, const char *user, size_t ulen,
                   const char *pass, size_t plen, reply_buf *out)
{
    if (!srv->cfg.requirepass[0]) {
        reply_error(out, "ERR",
                    "AUTH <password> called without any password configured for the default "
                    "user. Are you sure your configuration is correct?");
        return -1;
    }
    if ((user && !arg_is(user, ulen, "default")) || !password_ok(srv, pass, plen)) {
        reply_error(out, "WRONGPASS", "invalid username-password pair or user is disabled.");
        return -1;
    }
    c->authed = true;
    c->parser.unauth = false;
    return 0;
}

HANDLER(cmd_auth)
{
    if (argc > 3) {
        reply_error(out, "ERR", "syntax error");
        return CMD_DONE;
    }
    int r = argc == 2 ? do_auth(srv, c, NULL, 0, argv[1], argvlen[1], out)
                      : do_auth(srv, c, argv[1], argvlen[1], argv[2], argvlen[2], out);
    if (r == 0)
        reply_status(out, "OK");
    return CMD_DONE;
}

static int set_client_name(client_ctx *c, const char *name, size_t len, reply_buf *out)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] > '~') {
            reply_error(out, "ERR",
                        "Client names cannot contain spaces, newlines or special characters.");
            return -1;
        }
    char *n = NULL;
    if (len > 0) {
        n = malloc(len + 1);
        if (!n) {
            reply_error(out, "ERR", "out of memory");
            return -1;
        }
        memcpy(n, name, len);
        n[len] = '\0';
    }
    free(c->name);
    c->name = n;
    return 0;
}

HANDLER(cmd_hello)
{
    int i = 1;
    if (argc >= 2) {
        uint64_t ver;
        if (arg_u64(argv[1], argvlen[1], &ver) < 0) {
            reply_error(out, "ERR", "Protocol version is not an integer or out of range");
            return CMD_DONE;
        }
        if (ver != 2) {
            reply_error(out, "NOPROTO", "unsupported protocol version");
            return CMD_DONE;
        }
        i = 2;
    }
    const char *user = NULL, *pass = NULL, *name = NULL;
    size_t ulen = 0, plen = 0, nlen = 0;
    for (; i < argc; i++) {
        if (arg_is(argv[i], argvlen[i], "AUTH") && i + 2 < argc) {
            user = argv[i + 1];
            ulen = argvlen[i + 1];
            pass = argv[i + 2];
            plen = argvlen[i + 2];
            i += 2;
        } else if (arg_is(argv[i], argvlen[i], "SETNAME") && i + 1 < argc) {
            name = argv[i + 1];
            nlen = argvlen[i + 1];
            i++;
        } else {
            char b[80];
            reply_errorf(out, "ERR", "Syntax error in HELLO option '%s'",
                         arg_shown(argv[i], argvlen[i], b, sizeof b));
            return CMD_DONE;
        }
    }
    if (pass && do_auth(srv, c, user, ulen, pass, plen, out) < 0)
        return CMD_DONE;
    if (!c->authed) {
        reply_error(out, "NOAUTH",
                    "HELLO must be called with the client already authenticated, otherwise the "
                    "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
                    "client and select the RESP protocol version at the same time");
        return CMD_DONE;
    }
    if (name && set_client_name(c, name, nlen, out) < 0)
        return CMD_DONE;
    reply_array(out, 14);
    reply_bulk_cstr(out, "server");
    reply_bulk_cstr(out, "segdb");
    reply_bulk_cstr(out, "version");
    reply_bulk_cstr(out, SEGDB_VERSION);
    reply_bulk_cstr(out, "proto");
    reply_int(out, 2);
    reply_bulk_cstr(out, "id");
    reply_int(out, (long long)c->id);
    reply_bulk_cstr(out, "mode");
    reply_bulk_cstr(out, "standalone");
    reply_bulk_cstr(out, "role");
    reply_bulk_cstr(out, "master");
    reply_bulk_cstr(out, "modules");
    reply_array(out, 0);
    return CMD_DONE;
}

HANDLER(cmd_quit)
{
    reply_status(out, "OK");
    return CMD_CLOSE;
}

HANDLER(cmd_select)
{
    uint64_t v;
    if (arg_u64(argv[1], argvlen[1], &v) < 0)
        reply_error(out, "ERR", "value is not an integer or out of range");
    else if (v != 0)
        reply_error(out, "ERR", "DB index is out of range (segdb has database 0 only)");
    else
        reply_status(out, "OK");
    return CMD_DONE;
}

static void client_line(reply_buf *t, const client_ctx *x, int64_t now_ms)
{
    char cmd[64];
    lower_name(x->lastcmd ? x->lastcmd : "NULL", cmd, sizeof cmd);
    char line[512];
    int n = snprintf(line, sizeof line,
                     "id=%" PRIu64 " addr=%s fd=%d name=%s age=%lld idle=%lld flags=N db=0 "
                     "qbuf=%zu omem=%zu cmd=%s user=default\n",
                     x->id, x->addr, x->fd, x->name ? x->name : "",
                     (long long)((now_ms - x->ctime_ms) / 1000),
                     (long long)((now_ms - x->last_ms) / 1000), resp_pending_bytes(&x->parser),
                     x->out.len - x->out_pos, cmd);
    reply_raw(t, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

HANDLER(cmd_client)
{
    const char *sub = argv[1];
    size_t sl = argvlen[1];
    if (arg_is(sub, sl, "LIST")) {
        if (argc != 2) {
            reply_wrong_arity(out, "client|list");
            return CMD_DONE;
        }
        reply_buf t;
        reply_init(&t);
        int64_t now = ae_now_ms();
        if (srv->clients) {
            for (const client_ctx *x = srv->clients; x; x = x->next)
                client_line(&t, x, now);
        } else {
            client_line(&t, c, now); /* embedded: the only client */
        }
        reply_bulk(out, t.buf ? t.buf : "", t.len);
        reply_free(&t);
    } else if (arg_is(sub, sl, "ID") && argc == 2) {
        reply_int(out, (long long)c->id);
    } else if (arg_is(sub, sl, "GETNAME") && argc == 2) {
        reply_bulk_cstr(out, c->name);
    } else if (arg_is(sub, sl, "SETNAME") && argc == 3) {
        if (set_client_name(c, argv[2], argvlen[2], out) == 0)
            reply_status(out, "OK");
    } else if (arg_is(sub, sl, "ID") || arg_is(sub, sl, "GETNAME") || arg_is(sub, sl, "SETNAME")) {
        char low[32];
        snprintf(low, sizeof low, "client|%.*s", (int)sl, sub);
        reply_wrong_arity(out, low);
    } else {
        reply_unknown_sub(out, "client", sub, sl, "LIST, ID, GETNAME, SETNAME");
    }
    return CMD_DONE;
}

/* ---- contact commands ---------------------------------------------------- */

HANDLER(cmd_upsert)
{
    if (argc % 2 != 0) {
        reply_wrong_arity(out, "upsert");
        return CMD_DONE;
    }
    uint64_t id;
    if (parse_id(argv[1], argvlen[1], &id, out) < 0)
        return CMD_DONE;
    size_t n = (size_t)(argc - 2) / 2;
    segdb_kv *kv = malloc(n * sizeof(*kv));
    if (!kv) {
        reply_error(out, "ERR", "out of memory");
        return CMD_DONE;
    }
    for (size_t i = 0; i < n; i++) {
        int k = 2 + 2 * (int)i;
        if (no_nul(argv[k], argvlen[k], "field name", out) < 0)
            goto done;
        kv[i].name = argv[k];
        kv[i].value = argv[k + 1];
        kv[i].value_len = argvlen[k + 1];
    }
    segdb_err err = {0};
    int created = 0;
    int r = segdb_upsert(srv->db, id, kv, n, &created, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_int(out, created ? 1 : 0);
done:
    free(kv);
    return CMD_DONE;
}

HANDLER(cmd_get)
{
    uint64_t id;
    if (parse_id(argv[1], argvlen[1], &id, out) < 0)
        return CMD_DONE;
    for (int i = 2; i < argc; i++)
        if (no_nul(argv[i], argvlen[i], "field name", out) < 0)
            return CMD_DONE;
    segdb_strvec sv = {0};
    segdb_err err = {0};
    int r = segdb_get(srv->db, id, argc > 2 ? argv + 2 : NULL, (size_t)(argc - 2), &sv, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else if (r == 0)
        reply_nil(out);
    else
        reply_strvec(out, &sv);
    segdb_strvec_free(&sv);
    return CMD_DONE;
}

HANDLER(cmd_del)
{
    size_t n = (size_t)(argc - 1);
    if (n > srv->cfg.id_list_max) {
        reply_errorf(out, "LIMIT", "DEL of %zu ids is over the limit of %" PRIu64 " ids per command",
                     n, srv->cfg.id_list_max);
        return CMD_DONE;
    }
    uint64_t *ids = malloc(n * sizeof(*ids));
    if (!ids) {
        reply_error(out, "ERR", "out of memory");
        return CMD_DONE;
    }
    for (size_t i = 0; i < n; i++)
        if (parse_id(argv[1 + i], argvlen[1 + i], &ids[i], out) < 0)
            goto done;
    uint64_t deleted = 0;
    segdb_err err = {0};
    int r = segdb_del(srv->db, ids, n, &deleted, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_int(out, (long long)deleted);
done:
    free(ids);
    return CMD_DONE;
}

/* argv[at] must be WHERE; returns the joined filter or NULL (error replied). */
static char *expect_where(const char *cmd, int argc, const char **argv, const size_t *argvlen,
                          int at, reply_buf *out)
{
    if (at >= argc || !arg_is(argv[at], argvlen[at], "WHERE")) {
        char b[80];
        reply_errorf(out, "ERR", "syntax error: %s takes WHERE <filter>, got '%s'", cmd,
                     at < argc ? arg_shown(argv[at], argvlen[at], b, sizeof b) : "");
        return NULL;
    }
    return join_filter(argc, argv, argvlen, at + 1, out);
}

HANDLER(cmd_count)
{
    char *filter = NULL;
    if (argc > 1 && !(filter = expect_where("COUNT", argc, argv, argvlen, 1, out)))
        return CMD_DONE;
    uint64_t n = 0;
    segdb_err err = {0};
    int r = segdb_count(srv->db, filter, &n, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_int(out, (long long)n);
    free(filter);
    return CMD_DONE;
}

HANDLER(cmd_find)
{
    segdb_find_req req = {0};
    char *filter = NULL, *fieldbuf = NULL;
    const char **fields = NULL;
    bool have_fields = false, have_sort = false, have_limit = false;
    uint64_t count = 0;
    char b[80];
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        size_t al = argvlen[i];
        if (arg_is(a, al, "WHERE")) {
            if (!(filter = join_filter(argc, argv, argvlen, i + 1, out)))
                goto done;
            break;
        } else if (arg_is(a, al, "FIELDS")) {
            if (have_fields) {
                reply_error(out, "ERR", "syntax error: FIELDS given twice");
                goto done;
            }
            if (i + 1 >= argc) {
                reply_error(out, "ERR", "syntax error: FIELDS needs a comma-separated list of field names");
                goto done;
            }
            if (no_nul(argv[i + 1], argvlen[i + 1], "FIELDS list", out) < 0)
                goto done;
            fieldbuf = strdup(argv[i + 1]);
            fields = calloc(argvlen[i + 1] / 2 + 2, sizeof(*fields));
            if (!fieldbuf || !fields) {
                reply_error(out, "ERR", "out of memory");
                goto done;
            }
            size_t nf = 0;
            char *s = fieldbuf;
            for (;;) {
                char *comma = strchr(s, ',');
                if (comma)
                    *comma = '\0';
                while (*s == ' ')
                    s++;
                size_t l = strlen(s);
                while (l && s[l - 1] == ' ')
                    s[--l] = '\0';
                if (l == 0) {
                    reply_errorf(out, "ERR", "syntax error: empty field name in FIELDS '%s'",
                                 arg_shown(argv[i + 1], argvlen[i + 1], b, sizeof b));
                    goto done;
                }
                fields[nf++] = s;
                if (!comma)
                    break;
                s = comma + 1;
            }
            req.fields = fields;
            req.nfields = nf;
            have_fields = true;
            i += 2;
        } else if (arg_is(a, al, "SORT")) {
            if (have_sort) {
                reply_error(out, "ERR", "syntax error: SORT given twice");
                goto done;
            }
            if (i + 1 >= argc) {
                reply_error(out, "ERR", "syntax error: SORT needs a field name");
                goto done;
            }
            if (no_nul(argv[i + 1], argvlen[i + 1], "SORT field", out) < 0)
                goto done;
            req.sort_field = argv[i + 1];
            have_sort = true;
            i += 2;
            if (i < argc && (arg_is(argv[i], argvlen[i], "ASC") || arg_is(argv[i], argvlen[i], "DESC"))) {
                req.desc = arg_is(argv[i], argvlen[i], "DESC");
                i++;
            }
        } else if (arg_is(a, al, "LIMIT")) {
            if (have_limit) {
                reply_error(out, "ERR", "syntax error: LIMIT given twice");
                goto done;
            }
            if (i + 2 >= argc) {
                reply_error(out, "ERR", "syntax error: LIMIT needs an offset and a count");
                goto done;
            }
            if (arg_u64(argv[i + 1], argvlen[i + 1], &req.offset) < 0) {
                reply_errorf(out, "ERR", "LIMIT offset '%s' is not a non-negative integer",
                             arg_shown(argv[i + 1], argvlen[i + 1], b, sizeof b));
                goto done;
            }
            if (arg_u64(argv[i + 2], argvlen[i + 2], &count) < 0) {
                reply_errorf(out, "ERR", "LIMIT count '%s' is not a non-negative integer",
                             arg_shown(argv[i + 2], argvlen[i + 2], b, sizeof b));
                goto done;
            }
            if (count > srv->cfg.find_max_limit) {
                reply_errorf(out, "LIMIT", "FIND LIMIT count %" PRIu64 " is over the maximum of %" PRIu64
                             " per FIND page", count, srv->cfg.find_max_limit);
                goto done;
            }
            have_limit = true;
            i += 3;
        } else {
            reply_errorf(out, "ERR",
                         "syntax error: unknown FIND option '%s' (expected FIELDS, SORT, LIMIT or "
                         "WHERE)", arg_shown(a, al, b, sizeof b));
            goto done;
        }
    }
    req.filter = filter;
    /* The engine reads limit 0 as "a full page": LIMIT o 0 still runs the
     * query (so errors are reported) but replies an empty page. */
    req.limit = have_limit ? (count ? count : 1) : 0;
    segdb_find_res res = {0};
    segdb_err err = {0};
    int r = segdb_find(srv->db, &req, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        size_t n = (have_limit && count == 0) ? 0 : res.n;
        reply_array(out, n);
        for (size_t i = 0; i < n; i++) {
            if (req.nfields == 0) {
                reply_bulk_u64(out, res.ids[i]);
                continue;
            }
            reply_array(out, 1 + res.nfields);
            reply_bulk_u64(out, res.ids[i]);
            for (size_t k = 0; k < res.nfields; k++)
                reply_bulk_cstr(out, res.values ? res.values[i * res.nfields + k] : NULL);
        }
    }
    segdb_find_res_free(&res);
done:
    free(filter);
    free(fieldbuf);
    free(fields);
    return CMD_DONE;
}

HANDLER(cmd_explain)
{
    char *filter = expect_where("EXPLAIN", argc, argv, argvlen, 1, out);
    if (!filter)
        return CMD_DONE;
    char *text = NULL;
    segdb_err err = {0};
    int r = segdb_explain(srv->db, filter, &text, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_bulk_cstr(out, text ? text : "");
    free(text);
    free(filter);
    return CMD_DONE;
}

HANDLER(cmd_dbsize)
{
    segdb_stats st;
    segdb_get_stats(srv->db, &st);
    reply_int(out, (long long)st.live);
    return CMD_DONE;
}

HANDLER(cmd_field_create)
{
    if (no_nul(argv[1], argvlen[1], "field name", out) < 0 ||
        no_nul(argv[2], argvlen[2], "field kind", out) < 0)
        return CMD_DONE;
    segdb_err err = {0};
    int r = segdb_field_create(srv->db, argv[1], argv[2], &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_status(out, "OK");
    return CMD_DONE;
}

HANDLER(cmd_field_list)
{
    segdb_strvec sv = {0};
    segdb_err err = {0};
    int r = segdb_field_list(srv->db, &sv, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_strvec(out, &sv);
    segdb_strvec_free(&sv);
    return CMD_DONE;
}

/* ---- server commands ----------------------------------------------------- */

void info_line(reply_buf *t, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 3)
        n = (int)sizeof line - 3;
    line[n++] = '\r';
    line[n++] = '\n';
    reply_raw(t, line, (size_t)n);
}

static uint64_t ops_per_sec(const server_ctx *srv)
{
    uint64_t sum = 0;
    for (int i = 0; i < OPS_SAMPLES; i++)
        sum += srv->ops_samples[i];
    return sum / OPS_SAMPLES;
}

static void info_section(server_ctx *srv, const char *name, reply_buf *t)
{
    if (t->len)
        reply_raw(t, "\r\n", 2);
    if (!strcmp(name, "server")) {
        int64_t up = (ae_now_ms() - srv->start_ms) / 1000;
        info_line(t, "# Server");
        info_line(t, "segdb_version:%s", SEGDB_VERSION);
        info_line(t, "process_id:%ld", (long)getpid());
        info_line(t, "tcp_port:%d", srv->cfg.port);
        info_line(t, "uptime_in_seconds:%lld", (long long)up);
        info_line(t, "uptime_in_days:%lld", (long long)(up / 86400));
        info_line(t, "executable:%s", srv->executable);
        info_line(t, "config_file:%s", srv->cfg.config_file ? srv->cfg.config_file : "");
    } else if (!strcmp(name, "clients")) {
        info_line(t, "# Clients");
        info_line(t, "connected_clients:%zu", srv->nclients);
        info_line(t, "maxclients:%d", srv->cfg.maxclients);
        info_line(t, "blocked_clients:0");
    } else if (!strcmp(name, "memory")) {
        segdb_stats st;
        segdb_get_stats(srv->db, &st);
        info_line(t, "# Memory");
        info_line(t, "used_memory:%" PRIu64, server_rss_bytes());
        info_line(t, "used_memory_engine:%" PRIu64, st.mem_bytes);
        info_line(t, "bytes_per_contact:%" PRIu64, st.live ? st.mem_bytes / st.live : 0);
    } else if (!strcmp(name, "persistence")) {
        info_line(t, "# Persistence");
        if (srv->info_persistence)
            srv->info_persistence(srv, srv->durability_ctx, t);
        else
            info_line(t, "aof_enabled:0");
    } else if (!strcmp(name, "stats")) {
        info_line(t, "# Stats");
        info_line(t, "total_connections_received:%" PRIu64, srv->total_connections);
        info_line(t, "total_commands_processed:%" PRIu64, srv->total_commands);
        info_line(t, "instantaneous_ops_per_sec:%" PRIu64, ops_per_sec(srv));
        info_line(t, "rejected_connections:%" PRIu64, srv->rejected_connections);
    } else if (!strcmp(name, "commandstats")) {
        info_line(t, "# Commandstats");
        for (size_t i = 0; i < NCOMMANDS; i++) {
            const cmd_stat *s = &srv->cmdstats[i];
            if (!s->calls)
                continue;
            char low[64];
            lower_name(TABLE[i].name, low, sizeof low);
            info_line(t, "cmdstat_%s:calls=%" PRIu64 ",usec=%" PRIu64 ",usec_per_call=%.2f", low,
                      s->calls, s->usec, (double)s->usec / (double)s->calls);
        }
    } else if (!strcmp(name, "keyspace")) {
        segdb_stats st;
        segdb_get_stats(srv->db, &st);
        info_line(t, "# Keyspace");
        info_line(t, "contacts:live=%" PRIu64 ",archived=%" PRIu64, st.live, st.archived);
    }
}

static const char *const INFO_SECTIONS[] = {"server", "clients", "memory", "persistence",
                                            "stats", "commandstats", "keyspace", NULL};

HANDLER(cmd_info)
{
    reply_buf t;
    reply_init(&t);
    bool want[8] = {0};
    if (argc == 1) {
        for (int k = 0; INFO_SECTIONS[k]; k++)
            want[k] = true;
    }
    for (int i = 1; i < argc; i++) {
        if (arg_is(argv[i], argvlen[i], "all") || arg_is(argv[i], argvlen[i], "everything") ||
            arg_is(argv[i], argvlen[i], "default")) {
            for (int k = 0; INFO_SECTIONS[k]; k++)
                want[k] = true;
            continue;
        }
        for (int k = 0; INFO_SECTIONS[k]; k++)
            if (arg_is(argv[i], argvlen[i], INFO_SECTIONS[k]))
                want[k] = true;
    }
    for (int k = 0; INFO_SECTIONS[k]; k++)
        if (want[k])
            info_section(srv, INFO_SECTIONS[k], &t);
    reply_bulk(out, t.buf ? t.buf : "", t.len);
    reply_free(&t);
    return CMD_DONE;
}

HANDLER(cmd_slowlog)
{
    const char *sub = argv[1];
    size_t sl = argvlen[1];
    if (arg_is(sub, sl, "GET") && argc <= 3) {
        long long n = 10;
        if (argc == 3) {
            uint64_t v;
            if (arg_is(argv[2], argvlen[2], "-1")) {
                n = -1;
            } else if (arg_u64(argv[2], argvlen[2], &v) < 0 || v > (uint64_t)INT64_MAX) {
                reply_error(out, "ERR", "count should be greater than or equal to -1");
                return CMD_DONE;
            } else {
                n = (long long)v;
            }
        }
        slowlog_reply(&srv->slow, n, out);
    } else if (arg_is(sub, sl, "LEN") && argc == 2) {
        reply_int(out, (long long)srv->slow.len);
    } else if (arg_is(sub, sl, "RESET") && argc == 2) {
        slowlog_reset(&srv->slow);
        reply_status(out, "OK");
    } else if (arg_is(sub, sl, "GET") || arg_is(sub, sl, "LEN") || arg_is(sub, sl, "RESET")) {
        char low[32];
        snprintf(low, sizeof low, "slowlog|%.*s", (int)sl, sub);
        reply_wrong_arity(out, low);
    } else {
        reply_unknown_sub(out, "slowlog", sub, sl, "GET [count], LEN, RESET");
    }
    return CMD_DONE;
}

static void command_entry(reply_buf *out, const cmd_def *d)
{
    char low[64];
    lower_name(d->name, low, sizeof low);
    reply_array(out, 10);
    reply_bulk_cstr(out, low);
    reply_int(out, d->arity);
    size_t nf = !!(d->flags & CMD_F_WRITE) + !!(d->flags & CMD_F_READ) +
                !!(d->flags & CMD_F_ADMIN) + !!(d->flags & CMD_F_NOAUTH);
    reply_array(out, nf);
    if (d->flags & CMD_F_WRITE)
        reply_status(out, "write");
    if (d->flags & CMD_F_READ)
        reply_status(out, "readonly");
    if (d->flags & CMD_F_ADMIN)
        reply_status(out, "admin");
    if (d->flags & CMD_F_NOAUTH)
        reply_status(out, "no_auth");
    reply_int(out, 0); /* first key */
    reply_int(out, 0); /* last key */
    reply_int(out, 0); /* step */
    reply_array(out, 0); /* ACL categories */
    reply_array(out, 0); /* tips */
    reply_array(out, 0); /* key specs */
    reply_array(out, 0); /* subcommands */
}

/* COMMAND DOCS entry, as redis-cli 7 reads it for help and hints. */
static void command_docs(reply_buf *out, const cmd_def *d)
{
    char low[64];
    lower_name(d->name, low, sizeof low);
    reply_bulk_cstr(out, low);
    bool args = d->args && *d->args;
    reply_array(out, args ? 8 : 6);
    reply_bulk_cstr(out, "summary");
    reply_bulk_cstr(out, d->summary);
    reply_bulk_cstr(out, "since");
    reply_bulk_cstr(out, "0.1.0");
    reply_bulk_cstr(out, "group");
    reply_bulk_cstr(out, d->group);
    if (args) {
        /* one argument holding the whole synopsis: redis-cli shows it as the hint */
        reply_bulk_cstr(out, "arguments");
        reply_array(out, 1);
        reply_array(out, 4);
        reply_bulk_cstr(out, "name");
        reply_bulk_cstr(out, d->args);
        reply_bulk_cstr(out, "type");
        reply_bulk_cstr(out, "string");
    }
}

HANDLER(cmd_command)
{
    if (argc == 1) {
        reply_array(out, NCOMMANDS);
        for (size_t i = 0; i < NCOMMANDS; i++)
            command_entry(out, &TABLE[i]);
        return CMD_DONE;
    }
    const char *sub = argv[1];
    size_t sl = argvlen[1];
    if (arg_is(sub, sl, "COUNT") && argc == 2) {
        reply_int(out, (long long)NCOMMANDS);
    } else if (arg_is(sub, sl, "LIST") && argc == 2) {
        reply_array(out, NCOMMANDS);
        for (size_t i = 0; i < NCOMMANDS; i++) {
            char low[64];
            lower_name(TABLE[i].name, low, sizeof low);
            reply_bulk_cstr(out, low);
        }
    } else if (arg_is(sub, sl, "INFO")) {
        if (argc == 2) {
            reply_array(out, NCOMMANDS);
            for (size_t i = 0; i < NCOMMANDS; i++)
                command_entry(out, &TABLE[i]);
        } else {
            reply_array(out, (size_t)(argc - 2));
            for (int i = 2; i < argc; i++) {
                const cmd_def *d = cmd_lookup(argv[i], argvlen[i]);
                if (d)
                    command_entry(out, d);
                else
                    reply_nil(out);
            }
        }
    } else if (arg_is(sub, sl, "DOCS")) {
        if (argc == 2) {
            reply_array(out, 2 * NCOMMANDS);
            for (size_t i = 0; i < NCOMMANDS; i++)
                command_docs(out, &TABLE[i]);
        } else {
            size_t n = 0;
            for (int i = 2; i < argc; i++)
                n += cmd_lookup(argv[i], argvlen[i]) != NULL;
            reply_array(out, 2 * n);
            for (int i = 2; i < argc; i++) {
                const cmd_def *d = cmd_lookup(argv[i], argvlen[i]);
                if (d)
                    command_docs(out, d);
            }
        }
    } else if (arg_is(sub, sl, "COUNT") || arg_is(sub, sl, "LIST")) {
        char low[32];
        snprintf(low, sizeof low, "command|%.*s", (int)sl, sub);
        reply_wrong_arity(out, low);
    } else {
        reply_unknown_sub(out, "command", sub, sl, "COUNT, LIST, INFO [name ...], DOCS [name ...]");
    }
    return CMD_DONE;
}

typedef struct config_pairs {
    reply_buf *t;
    size_t n;
} config_pairs;

static void add_pair(void *ctx, const char *name, const char *value)
{
    config_pairs *cp = ctx;
    reply_bulk_cstr(cp->t, name);
    reply_bulk_cstr(cp->t, value);
    cp->n++;
}

HANDLER(cmd_config)
{
    if (arg_is(argv[1], argvlen[1], "RESETSTAT")) {
        if (argc != 2) {
            reply_wrong_arity(out, "config|resetstat");
            return CMD_DONE;
        }
        /* as Redis: INFO's counters and per-command figures (not the slowlog) */
        srv->total_connections = srv->total_commands = srv->rejected_connections = 0;
        memset(srv->ops_samples, 0, sizeof srv->ops_samples);
        srv->ops_last_commands = 0;
        memset(srv->cmdstats, 0, NCOMMANDS * sizeof *srv->cmdstats);
        reply_status(out, "OK");
        return CMD_DONE;
    }
    if (!arg_is(argv[1], argvlen[1], "GET")) {
        reply_unknown_sub(out, "config", argv[1], argvlen[1],
                          "GET, RESETSTAT (options are set on the command line or in the config file)");
        return CMD_DONE;
    }
    if (argc < 3) {
        reply_wrong_arity(out, "config|get");
        return CMD_DONE;
    }
    reply_buf t;
    reply_init(&t);
    config_pairs cp = {&t, 0};
    for (int i = 2; i < argc; i++) {
        if (no_nul(argv[i], argvlen[i], "pattern", out) < 0) {
            reply_free(&t);
            return CMD_DONE;
        }
        config_each(&srv->cfg, argv[i], add_pair, &cp);
    }
    reply_array(out, 2 * cp.n);
    reply_raw(out, t.buf, t.len);
    reply_free(&t);
    return CMD_DONE;
}

HANDLER(cmd_debug)
{
    if (arg_is(argv[1], argvlen[1], "OPTIMIZE")) {
        /* after a bulk load: segdb_flush_indexes (pending range-index rows
         * filed, tag bitmaps laid out afresh); the data does not change, so
         * nothing is logged. It blocks like SAVE: 2.2 s after importing 10M
         * contacts, mostly the range-index filing a first range query would do. */
        if (argc != 2) {
            reply_wrong_arity(out, "debug|optimize");
            return CMD_DONE;
        }
        int64_t t0 = ae_now_us();
        if (segdb_flush_indexes(srv->db) < 0) {
            reply_error(out, "OOM", "out of memory laying the indexes out; they stay as they were");
            return CMD_DONE;
        }
        server_log("DEBUG OPTIMIZE: indexes filed and tag bitmaps laid out in %" PRId64 " ms",
                   (ae_now_us() - t0) / 1000);
        reply_status(out, "OK");
        return CMD_DONE;
    }
    if (!arg_is(argv[1], argvlen[1], "VERIFY")) {
        reply_unknown_sub(out, "debug", argv[1], argvlen[1], "VERIFY, OPTIMIZE");
        return CMD_DONE;
    }
    if (argc != 2) {
        reply_wrong_arity(out, "debug|verify");
        return CMD_DONE;
    }
    segdb_err err = {0};
    int r = segdb_verify(srv->db, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_status(out, "OK");
    return CMD_DONE;
}

HANDLER(cmd_shutdown)
{
    /* No reply, as Redis: the connection closes once the server has flushed.
     * The log already holds every write, so NOSAVE (and no argument) lose
     * nothing; SAVE also writes a snapshot so the next start replays less. */
    bool save = false;
    if (argc > 2 || (argc == 2 && !arg_is(argv[1], argvlen[1], "NOSAVE") && !(save = arg_is(argv[1], argvlen[1], "SAVE")))) {
        reply_error(out, "ERR", "SHUTDOWN takes NOSAVE or SAVE, nothing else");
        return CMD_DONE;
    }
    dur_t *d = persist_of(srv);
    if (save && d) {
        segdb_err e = {0};
        int rc = dur_save(d, NULL, &e);
        if (rc) {
            reply_errorf(out, "ERR", "SHUTDOWN SAVE: the snapshot failed, the server keeps running: %s",
                         rc == SEGDB_EEXIST ? "a background save is in progress" : e.msg);
            return CMD_DONE;
        }
    }
    return CMD_SHUTDOWN;
}

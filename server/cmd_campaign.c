/*
 * cmd_campaign.c — the campaign commands of segdb-server (cmd_campaign.h):
 * argument parsing and reply shapes around the engine's campaign API.
 *
 * Kept here, not in the engine: the target syntax (`ID <id>...` with the
 * shared id parser of commands.c, or `WHERE <filter>` joined by spaces), the
 * option grammar of SPLIT and FACET, OVERLAP's `|` separators, NUL bytes and
 * invalid UTF-8 in names (the engine takes names as C strings and echoes
 * them in its messages, which must stay valid text) and the RESP shape of
 * every reply. Everything about values (UTF-8, tag and group names, percentages,
 * limits on notes and parts) is the engine's to decide; its codes map to
 * code words through reply_engine_error.
 *
 * OVERLAP's filters: the arguments are joined by single spaces (as WHERE
 * does) and cut at every `|` that stands alone (whitespace or the text's
 * ends on both sides) outside a quoted value, so `OVERLAP tag:a | tag:b`,
 * `OVERLAP "tag:a" "|" "tag:b"` and `OVERLAP "tag:a | tag:b"` are the same
 * request, and `name:"a | b"` or the bare value `a|b` stay whole. A quote
 * opens a quoted value only where the filter parser would open one (at a
 * value's start: after whitespace, `(`, `,` or an operator character), so
 * the apostrophe of a bare `O'Brien` is not a quote; inside quotes a
 * backslash escapes the quote and itself, as in docs/filters.md.
 */
#include "cmd_campaign.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd_args.h"
#include "server.h"

/* ---- argument helpers ---------------------------------------------------- */

static void reply_oom(reply_buf *out) { reply_error(out, "ERR", "out of memory"); }

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return false;
        }
        if (i + n >= len)
            return false; /* cut short */
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += n + 1;
    }
    return true;
}

/* A name handed to the engine as a C string and echoed in its messages:
 * no NUL byte, valid UTF-8. 0, or -1 with "-ERR <what> ..." replied. */
static int name_ok(const char *s, size_t len, const char *what, reply_buf *out)
{
    if (cmd_no_nul(s, len, what, out) < 0)
        return -1;
    if (!utf8_valid((const unsigned char *)s, len)) {
        reply_errorf(out, "ERR", "%s is not valid UTF-8", what);
        return -1;
    }
    return 0;
}

/* A target as parsed: the engine's view plus what we own. */
typedef struct target_arg {
    segdb_target t;
    uint64_t *ids;
    char *filter;
} target_arg;

static void target_free(target_arg *ta)
{
    free(ta->ids);
    free(ta->filter);
    memset(ta, 0, sizeof *ta);
}

/* `ID <id>...` or `WHERE <filter>` from argv[at] to the end. 0, or -1 with
 * the error replied (nothing to free then). */
static int parse_target(server_ctx *srv, const char *cmd, int argc, const char **argv,
                        const size_t *argvlen, int at, target_arg *ta, reply_buf *out)
{
    char b[80];
    memset(ta, 0, sizeof *ta);
    if (at < argc && arg_is(argv[at], argvlen[at], "WHERE")) {
        if (!(ta->filter = cmd_join_filter(argc, argv, argvlen, at + 1, out)))
            return -1;
        ta->t.filter = ta->filter;
        return 0;
    }
    if (at >= argc || !arg_is(argv[at], argvlen[at], "ID")) {
        reply_errorf(out, "ERR",
                     "syntax error: %s needs a target, ID <id> [<id> ...] or WHERE <filter>; got '%s'",
                     cmd, at < argc ? cmd_shown(argv[at], argvlen[at], b, sizeof b) : "");
        return -1;
    }
    size_t n = (size_t)(argc - at - 1);
    if (n == 0) {
        reply_errorf(out, "ERR", "syntax error: %s ID needs at least one id", cmd);
        return -1;
    }
    if (n > srv->cfg.id_list_max) {
        reply_errorf(out, "LIMIT", "%s of %zu ids is over the limit of %" PRIu64 " ids per command", cmd,
                     n, srv->cfg.id_list_max);
        return -1;
    }
    if (!(ta->ids = malloc(n * sizeof(*ta->ids)))) {
        reply_oom(out);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (cmd_parse_id(argv[at + 1 + i], argvlen[at + 1 + i], &ta->ids[i], out) < 0) {
            target_free(ta);
            return -1;
        }
    ta->t.ids = ta->ids;
    ta->t.nids = n;
    return 0;
}

/* argv[at] must be WHERE: the joined filter, or NULL with the error replied. */
static char *need_where(const char *cmd, int argc, const char **argv, const size_t *argvlen, int at,
                        reply_buf *out)
{
    if (at >= argc || !arg_is(argv[at], argvlen[at], "WHERE")) {
        char b[80];
        reply_errorf(out, "ERR", "syntax error: %s takes WHERE <filter>; got '%s'", cmd,
                     at < argc ? cmd_shown(argv[at], argvlen[at], b, sizeof b) : "");
        return NULL;
    }
    return cmd_join_filter(argc, argv, argvlen, at + 1, out);
}

static void wrong_syntax(reply_buf *out, const char *cmd, const char *usage)
{
    reply_errorf(out, "ERR", "syntax error: %s %s", cmd, usage);
}

/* ---- TAG, UNTAG, GROUP.ADD, GROUP.REMOVE: a name and a target ------------- */

typedef int (*named_target_fn)(segdb_t *db, const char *name, const segdb_target *t, uint64_t *changed,
                               segdb_err *err);

static int named_target(server_ctx *srv, const char *cmd, const char *what, named_target_fn fn, int argc,
                        const char **argv, const size_t *argvlen, reply_buf *out)
{
    if (name_ok(argv[1], argvlen[1], what, out) < 0)
        return CMD_DONE;
    target_arg ta;
    if (parse_target(srv, cmd, argc, argv, argvlen, 2, &ta, out) < 0)
        return CMD_DONE;
    uint64_t changed = 0;
    segdb_err err = {0};
    int r = fn(srv->db, argv[1], &ta.t, &changed, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_int(out, (long long)changed);
    target_free(&ta);
    return CMD_DONE;
}

int cmd_tag(CMD_CAMPAIGN_ARGS)
{
    return named_target(srv, "TAG", "tag name", segdb_tag, argc, argv, argvlen, out);
}

int cmd_untag(CMD_CAMPAIGN_ARGS)
{
    return named_target(srv, "UNTAG", "tag name", segdb_untag, argc, argv, argvlen, out);
}

int cmd_group_add(CMD_CAMPAIGN_ARGS)
{
    return named_target(srv, "GROUP.ADD", "group code", segdb_group_add, argc, argv, argvlen, out);
}

int cmd_group_remove(CMD_CAMPAIGN_ARGS)
{
    return named_target(srv, "GROUP.REMOVE", "group code", segdb_group_remove, argc, argv, argvlen, out);
}

/* ---- SET, ARCHIVE, UNARCHIVE --------------------------------------------- */

int cmd_set(CMD_CAMPAIGN_ARGS)
{
    if (name_ok(argv[1], argvlen[1], "field name", out) < 0)
        return CMD_DONE;
    target_arg ta;
    if (parse_target(srv, "SET", argc, argv, argvlen, 3, &ta, out) < 0)
        return CMD_DONE;
    uint64_t changed = 0, rejected = 0;
    segdb_err err = {0};
    int r = segdb_set(srv->db, argv[1], argv[2], argvlen[2], &ta.t, &changed, &rejected, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        reply_array(out, 2);
        reply_int(out, (long long)changed);
        reply_int(out, (long long)rejected);
    }
    target_free(&ta);
    return CMD_DONE;
}

static int archive_cmd(server_ctx *srv, const char *cmd, bool on, int argc, const char **argv,
                       const size_t *argvlen, reply_buf *out)
{
    target_arg ta;
    if (parse_target(srv, cmd, argc, argv, argvlen, 1, &ta, out) < 0)
        return CMD_DONE;
    uint64_t changed = 0;
    segdb_err err = {0};
    int r = on ? segdb_archive(srv->db, &ta.t, &changed, &err)
               : segdb_unarchive(srv->db, &ta.t, &changed, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_int(out, (long long)changed);
    target_free(&ta);
    return CMD_DONE;
}

int cmd_archive(CMD_CAMPAIGN_ARGS) { return archive_cmd(srv, "ARCHIVE", true, argc, argv, argvlen, out); }

int cmd_unarchive(CMD_CAMPAIGN_ARGS)
{
    return archive_cmd(srv, "UNARCHIVE", false, argc, argv, argvlen, out);
}

/* ---- SPLIT ---------------------------------------------------------------- */

static bool split_keyword(const char *a, size_t al)
{
    return arg_is(a, al, "RANDOM") || arg_is(a, al, "BY") || arg_is(a, al, "SAVE") || arg_is(a, al, "WHERE");
}

/* The number of parts: digits only. Too many for the engine's 32 bits is
 * -LIMIT here (with the number as typed); 0 and 1,001..2^32-1 are the
 * engine's to refuse. 0, or -1 with the error replied. */
static int parse_parts(const char *s, size_t len, uint32_t *n, reply_buf *out)
{
    char b[80];
    bool digits = len > 0;
    for (size_t i = 0; i < len; i++)
        digits = digits && s[i] >= '0' && s[i] <= '9';
    if (!digits) {
        reply_errorf(out, "ERR",
                     "invalid number of parts '%s': SPLIT takes a number of parts from 1 to %u, or "
                     "PERCENT p1 p2 ...", cmd_shown(s, len, b, sizeof b), SEGDB_MAX_SPLIT_PARTS);
        return -1;
    }
    uint64_t v;
    if (arg_u64(s, len, &v) < 0 || v > UINT32_MAX) {
        reply_errorf(out, "LIMIT", "SPLIT into %s parts; the limit is %u", cmd_shown(s, len, b, sizeof b),
                     SEGDB_MAX_SPLIT_PARTS);
        return -1;
    }
    *n = (uint32_t)v;
    return 0;
}

int cmd_split(CMD_CAMPAIGN_ARGS)
{
    segdb_split_req req = {0};
    char *filter = NULL;
    char b[80];
    int i;
    if (arg_is(argv[1], argvlen[1], "PERCENT")) {
        /* every argument up to the next option word is a percentage; the
         * engine checks them (negative, over 100 in sum, decimals) */
        for (i = 2; i < argc && !split_keyword(argv[i], argvlen[i]); i++)
            if (name_ok(argv[i], argvlen[i], "percentage", out) < 0)
                return CMD_DONE;
        req.percents = argv + 2;
        req.npercents = (size_t)(i - 2);
    } else {
        if (parse_parts(argv[1], argvlen[1], &req.n, out) < 0)
            return CMD_DONE;
        i = 2;
    }
    bool have_seed = false;
    while (i < argc) {
        const char *a = argv[i];
        size_t al = argvlen[i];
        if (arg_is(a, al, "WHERE")) {
            if (!(filter = cmd_join_filter(argc, argv, argvlen, i + 1, out)))
                goto done;
            break;
        }
        if (!split_keyword(a, al)) {
            reply_errorf(out, "ERR",
                         "syntax error: unknown SPLIT option '%s' (expected RANDOM <seed>, BY <field>, "
                         "SAVE <prefix> or WHERE <filter>)", cmd_shown(a, al, b, sizeof b));
            goto done;
        }
        if (i + 1 >= argc) {
            reply_errorf(out, "ERR", "syntax error: SPLIT %s needs a value",
                         arg_is(a, al, "RANDOM") ? "RANDOM" : arg_is(a, al, "BY") ? "BY" : "SAVE");
            goto done;
        }
        const char *v = argv[i + 1];
        size_t vl = argvlen[i + 1];
        if (arg_is(a, al, "RANDOM")) {
            if (have_seed) {
                reply_error(out, "ERR", "syntax error: RANDOM given twice");
                goto done;
            }
            if (arg_u64(v, vl, &req.seed) < 0) {
                reply_errorf(out, "ERR",
                             "invalid RANDOM seed '%s': a decimal integer from 0 to 18446744073709551615",
                             cmd_shown(v, vl, b, sizeof b));
                goto done;
            }
            req.has_seed = have_seed = true;
        } else if (arg_is(a, al, "BY")) {
            if (req.by_field) {
                reply_error(out, "ERR", "syntax error: BY given twice");
                goto done;
            }
            if (name_ok(v, vl, "BY field", out) < 0)
                goto done;
            req.by_field = v;
        } else {
            if (req.save_prefix) {
                reply_error(out, "ERR", "syntax error: SAVE given twice");
                goto done;
            }
            if (name_ok(v, vl, "SAVE prefix", out) < 0)
                goto done;
            req.save_prefix = v;
        }
        i += 2;
    }
    /* Without SAVE, SPLIT only reads (so it is not flagged a write command);
     * with SAVE it writes and obeys read-only mode like one. */
    if (req.save_prefix && srv->readonly_reason) {
        reply_error(out, "READONLY", srv->readonly_reason);
        goto done;
    }
    req.filter = filter;
    segdb_split_res res = {0};
    segdb_err err = {0};
    int r = segdb_split(srv->db, &req, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        reply_array(out, res.n);
        for (size_t k = 0; k < res.n; k++)
            reply_int(out, (long long)res.sizes[k]);
    }
    segdb_split_res_free(&res);
done:
    free(filter);
    return CMD_DONE;
}

/* ---- FACET, OVERLAP, REACH ------------------------------------------------ */

int cmd_facet(CMD_CAMPAIGN_ARGS)
{
    char *filter = NULL;
    char b[80];
    bool have_top = false;
    uint32_t top = 0;
    if (name_ok(argv[1], argvlen[1], "field name", out) < 0)
        return CMD_DONE;
    for (int i = 2; i < argc;) {
        const char *a = argv[i];
        size_t al = argvlen[i];
        if (arg_is(a, al, "WHERE")) {
            if (!(filter = cmd_join_filter(argc, argv, argvlen, i + 1, out)))
                goto done;
            break;
        }
        if (!arg_is(a, al, "TOP")) {
            reply_errorf(out, "ERR", "syntax error: unknown FACET option '%s' (expected TOP <k> or WHERE <filter>)",
                         cmd_shown(a, al, b, sizeof b));
            goto done;
        }
        if (have_top) {
            reply_error(out, "ERR", "syntax error: TOP given twice");
            goto done;
        }
        uint64_t k;
        if (i + 1 >= argc || arg_u64(argv[i + 1], argvlen[i + 1], &k) < 0 || k == 0) {
            reply_errorf(out, "ERR", "TOP needs a count of at least 1; got '%s'",
                         i + 1 < argc ? cmd_shown(argv[i + 1], argvlen[i + 1], b, sizeof b) : "");
            goto done;
        }
        /* more values than 2^32-1 can't exist: such a TOP means all of them */
        top = k > UINT32_MAX ? UINT32_MAX : (uint32_t)k;
        have_top = true;
        i += 2;
    }
    segdb_facet_res res = {0};
    segdb_err err = {0};
    int r = segdb_facet(srv->db, argv[1], top, filter, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        reply_array(out, 2 * res.n);
        for (size_t k = 0; k < res.n; k++) {
            reply_bulk_cstr(out, res.values[k] ? res.values[k] : "");
            reply_int(out, (long long)res.counts[k]);
        }
    }
    segdb_facet_res_free(&res);
done:
    free(filter);
    return CMD_DONE;
}

static bool filter_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Where the filter parser may open a quoted value: after whitespace, '(',
 * ',' or an operator character. */
static bool quote_may_open_after(char prev)
{
    return filter_ws(prev) || prev == '(' || prev == ',' || prev == ':' || prev == '=' || prev == '!' ||
           prev == '<' || prev == '>' || prev == '~';
}

/* Cut s[0..len) at every lone `|` outside quotes (see the file comment) by
 * writing a NUL there; returns the number of filters (separators + 1). */
static size_t cut_filters(char *s, size_t len)
{
    size_t n = 1;
    char q = 0, prev = ' ';
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (q) {
            if (ch == '\\' && i + 1 < len && (s[i + 1] == q || s[i + 1] == '\\'))
                i++;
            else if (ch == q)
                q = 0;
            prev = ch;
            continue;
        }
        if ((ch == '"' || ch == '\'') && quote_may_open_after(prev)) {
            q = ch;
        } else if (ch == '|' && filter_ws(prev) && (i + 1 == len || filter_ws(s[i + 1]))) {
            s[i] = '\0';
            n++;
            ch = ' ';
        }
        prev = ch;
    }
    return n;
}

int cmd_overlap(CMD_CAMPAIGN_ARGS)
{
    /* join every argument, as WHERE does, then cut at the separators */
    char *all = cmd_join_filter(argc, argv, argvlen, 1, out);
    if (!all)
        return CMD_DONE;
    size_t len = strlen(all);
    size_t n = cut_filters(all, len);
    const char **filters = malloc(n * sizeof(*filters));
    if (!filters) {
        reply_oom(out);
        free(all);
        return CMD_DONE;
    }
    const char *p = all;
    for (size_t k = 0; k < n; k++) {
        filters[k] = p;
        p += strlen(p) + 1;
    }
    segdb_overlap_res res = {0};
    segdb_err err = {0};
    int r = segdb_overlap(srv->db, filters, n, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        reply_array(out, res.n);
        for (size_t i = 0; i < res.n; i++) {
            reply_array(out, res.n);
            for (size_t j = 0; j < res.n; j++)
                reply_int(out, (long long)res.m[i * res.n + j]);
        }
    }
    segdb_overlap_res_free(&res);
    free(filters);
    free(all);
    return CMD_DONE;
}

int cmd_reach(CMD_CAMPAIGN_ARGS)
{
    char *filter = NULL;
    if (argc > 1 && !(filter = need_where("REACH", argc, argv, argvlen, 1, out)))
        return CMD_DONE;
    segdb_reach_res res;
    segdb_err err = {0};
    int r = segdb_reach(srv->db, filter, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        reply_array(out, 8);
        reply_bulk_cstr(out, "email");
        reply_int(out, (long long)res.email);
        reply_bulk_cstr(out, "sms");
        reply_int(out, (long long)res.sms);
        reply_bulk_cstr(out, "whatsapp");
        reply_int(out, (long long)res.whatsapp);
        reply_bulk_cstr(out, "web");
        reply_int(out, (long long)res.web);
    }
    free(filter);
    return CMD_DONE;
}

/* ---- SEGMENT.* ------------------------------------------------------------ */

int cmd_segment_save(CMD_CAMPAIGN_ARGS)
{
    if (name_ok(argv[1], argvlen[1], "segment name", out) < 0)
        return CMD_DONE;
    char *filter = need_where("SEGMENT.SAVE", argc, argv, argvlen, 2, out);
    if (!filter)
        return CMD_DONE;
    segdb_err err = {0};
    int r = segdb_segment_save(srv->db, argv[1], filter, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_status(out, "OK");
    free(filter);
    return CMD_DONE;
}

int cmd_segment_freeze(CMD_CAMPAIGN_ARGS)
{
    if (name_ok(argv[1], argvlen[1], "segment name", out) < 0)
        return CMD_DONE;
    char *filter = need_where("SEGMENT.FREEZE", argc, argv, argvlen, 2, out);
    if (!filter)
        return CMD_DONE;
    uint64_t size = 0;
    segdb_err err = {0};
    int r = segdb_segment_freeze(srv->db, argv[1], filter, &size, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_int(out, (long long)size);
    free(filter);
    return CMD_DONE;
}

/* One segment: name, type (live|frozen), definition, size (frozen: its
 * members; live: nil, it has no stored members), created, and with_count:
 * count (COUNT WHERE segment:name now). */
static void reply_segment(reply_buf *out, const segdb_segment_info *s, bool with_count)
{
    reply_array(out, with_count ? 12 : 10);
    reply_bulk_cstr(out, "name");
    reply_bulk_cstr(out, s->name ? s->name : "");
    reply_bulk_cstr(out, "type");
    reply_bulk_cstr(out, s->frozen ? "frozen" : "live");
    reply_bulk_cstr(out, "definition");
    reply_bulk_cstr(out, s->definition ? s->definition : "");
    reply_bulk_cstr(out, "size");
    if (s->frozen)
        reply_int(out, (long long)s->size);
    else
        reply_nil(out);
    reply_bulk_cstr(out, "created");
    reply_int(out, (long long)s->created);
    if (with_count) {
        reply_bulk_cstr(out, "count");
        reply_int(out, (long long)s->count);
    }
}

int cmd_segment_list(CMD_CAMPAIGN_ARGS)
{
    segdb_segment_res res = {0};
    segdb_err err = {0};
    int r = segdb_segment_list(srv->db, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        reply_array(out, res.n);
        for (size_t i = 0; i < res.n; i++)
            reply_segment(out, &res.v[i], false);
    }
    segdb_segment_res_free(&res);
    return CMD_DONE;
}

int cmd_segment_get(CMD_CAMPAIGN_ARGS)
{
    if (name_ok(argv[1], argvlen[1], "segment name", out) < 0)
        return CMD_DONE;
    segdb_segment_res res = {0};
    segdb_err err = {0};
    int r = segdb_segment_get(srv->db, argv[1], &res, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else if (res.n != 1)
        reply_error(out, "ERR", "SEGMENT.GET found no single segment");
    else
        reply_segment(out, &res.v[0], true);
    segdb_segment_res_free(&res);
    return CMD_DONE;
}

int cmd_segment_del(CMD_CAMPAIGN_ARGS)
{
    if (name_ok(argv[1], argvlen[1], "segment name", out) < 0)
        return CMD_DONE;
    segdb_err err = {0};
    int r = segdb_segment_del(srv->db, argv[1], &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_status(out, "OK");
    return CMD_DONE;
}

/* ---- GROUP.* -------------------------------------------------------------- */

int cmd_group_create(CMD_CAMPAIGN_ARGS)
{
    const char *parent = NULL;
    if (argc == 4 && arg_is(argv[2], argvlen[2], "PARENT")) {
        if (name_ok(argv[3], argvlen[3], "PARENT code", out) < 0)
            return CMD_DONE;
        parent = argv[3];
    } else if (argc != 2) {
        wrong_syntax(out, "GROUP.CREATE", "takes <name> [PARENT <code>] (quote a name with spaces)");
        return CMD_DONE;
    }
    if (name_ok(argv[1], argvlen[1], "group name", out) < 0)
        return CMD_DONE;
    char *code = NULL;
    segdb_err err = {0};
    int r = segdb_group_create(srv->db, argv[1], parent, &code, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_bulk_cstr(out, code ? code : "");
    free(code);
    return CMD_DONE;
}

int cmd_group_list(CMD_CAMPAIGN_ARGS)
{
    segdb_group_res res = {0};
    segdb_err err = {0};
    int r = segdb_group_list(srv->db, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        reply_array(out, res.n);
        for (size_t i = 0; i < res.n; i++) {
            const segdb_group_info *g = &res.v[i];
            reply_array(out, 8);
            reply_bulk_cstr(out, "code");
            reply_bulk_cstr(out, g->code ? g->code : "");
            reply_bulk_cstr(out, "name");
            reply_bulk_cstr(out, g->name ? g->name : "");
            reply_bulk_cstr(out, "parent");
            reply_bulk_cstr(out, g->parent); /* nil at the top level */
            reply_bulk_cstr(out, "members");
            reply_int(out, (long long)g->members);
        }
    }
    segdb_group_res_free(&res);
    return CMD_DONE;
}

int cmd_group_del(CMD_CAMPAIGN_ARGS)
{
    if (name_ok(argv[1], argvlen[1], "group code", out) < 0)
        return CMD_DONE;
    segdb_err err = {0};
    int r = segdb_group_del(srv->db, argv[1], &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_status(out, "OK");
    return CMD_DONE;
}

/* ---- NOTE.* --------------------------------------------------------------- */

int cmd_note_add(CMD_CAMPAIGN_ARGS)
{
    uint64_t id, note = 0;
    if (cmd_parse_id(argv[1], argvlen[1], &id, out) < 0)
        return CMD_DONE;
    segdb_err err = {0};
    int r = segdb_note_add(srv->db, id, argv[2], argvlen[2], &note, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_int(out, (long long)note);
    return CMD_DONE;
}

int cmd_note_list(CMD_CAMPAIGN_ARGS)
{
    uint64_t id;
    if (cmd_parse_id(argv[1], argvlen[1], &id, out) < 0)
        return CMD_DONE;
    segdb_note_res res = {0};
    segdb_err err = {0};
    int r = segdb_note_list(srv->db, id, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
    } else {
        reply_array(out, res.n);
        for (size_t i = 0; i < res.n; i++) {
            const segdb_note *n = &res.v[i];
            reply_array(out, 8);
            reply_bulk_cstr(out, "id");
            reply_int(out, (long long)n->id);
            reply_bulk_cstr(out, "created");
            reply_int(out, (long long)n->created);
            reply_bulk_cstr(out, "edited");
            if (n->edited)
                reply_int(out, (long long)n->edited);
            else
                reply_nil(out);
            reply_bulk_cstr(out, "text");
            reply_bulk(out, n->text ? n->text : "", n->text ? n->len : 0);
        }
    }
    segdb_note_res_free(&res);
    return CMD_DONE;
}

int cmd_note_edit(CMD_CAMPAIGN_ARGS)
{
    uint64_t id, note;
    if (cmd_parse_id(argv[1], argvlen[1], &id, out) < 0 || cmd_parse_id(argv[2], argvlen[2], &note, out) < 0)
        return CMD_DONE;
    segdb_err err = {0};
    int r = segdb_note_edit(srv->db, id, note, argv[3], argvlen[3], &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_status(out, "OK");
    return CMD_DONE;
}

int cmd_note_del(CMD_CAMPAIGN_ARGS)
{
    uint64_t id, note;
    if (cmd_parse_id(argv[1], argvlen[1], &id, out) < 0 || cmd_parse_id(argv[2], argvlen[2], &note, out) < 0)
        return CMD_DONE;
    segdb_err err = {0};
    int r = segdb_note_del(srv->db, id, note, &err);
    if (r < 0)
        reply_engine_error(out, r, err.msg);
    else
        reply_status(out, "OK");
    return CMD_DONE;
}

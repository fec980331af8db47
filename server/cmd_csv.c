/*
 * cmd_csv.c — IMPORT and EXPORT (see cmd_csv.h): argument checks and reply
 * shapes around segdb_import() and segdb_export() of segdb.h.
 */
#include "cmd_csv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd_args.h"
#include "server.h"

/* A decimal u64 (no sign); -1 when it is not one. */
int cmd_import(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
               reply_buf *out)
{
    const char *match = NULL;
    int data = 1;
    if (argc == 4 && arg_is(argv[1], argvlen[1], "MATCH")) {
        if (memchr(argv[2], '\0', argvlen[2])) {
            reply_error(out, "ERR", "MATCH key contains a NUL byte");
            return CMD_DONE;
        }
        match = argv[2];
        data = 3;
    } else if (argc != 2) {
        reply_error(out, "ERR", "syntax error: IMPORT [MATCH id|identifier|email|phone] <csv> (the CSV text, header "
                                "row first, as one argument)");
        return CMD_DONE;
    }
    segdb_import_res res;
    segdb_err err = {0};
    int r = segdb_import(srv->db, match, argv[data], argvlen[data], &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
        return CMD_DONE;
    }
    reply_array(out, 3 + 2 * res.n);
    reply_int(out, (long long)res.created);
    reply_int(out, (long long)res.updated);
    reply_int(out, (long long)res.rejected);
    for (size_t i = 0; i < res.n; i++) {
        reply_int(out, (long long)res.lines[i]);
        reply_bulk_cstr(out, res.reasons[i]);
    }
    segdb_import_res_free(&res);
    return CMD_DONE;
}

/* FIELDS f1,f2: the names split in place into buf; -1 after replying. */
static int split_fields(const char *arg, size_t len, char **buf, const char ***fields, size_t *n, reply_buf *out)
{
    char b[80];
    if (memchr(arg, '\0', len)) {
        reply_error(out, "ERR", "FIELDS list contains a NUL byte");
        return -1;
    }
    *buf = strdup(arg);
    *fields = calloc(len / 2 + 2, sizeof(**fields));
    if (!*buf || !*fields) {
        reply_error(out, "ERR", "out of memory");
        return -1;
    }
    size_t nf = 0;
    for (char *s = *buf;;) {
        char *comma = strchr(s, ',');
        if (comma)
            *comma = '\0';
        while (*s == ' ')
            s++;
        size_t l = strlen(s);
        while (l && s[l - 1] == ' ')
            s[--l] = '\0';
        if (l == 0) {
            reply_errorf(out, "ERR", "syntax error: empty field name in FIELDS '%s'", arg_shown(arg, len, b, sizeof b));
            return -1;
        }
        (*fields)[nf++] = s;
        if (!comma)
            break;
        s = comma + 1;
    }
    *n = nf;
    return 0;
}

int cmd_export(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
               reply_buf *out)
{
    segdb_export_req req = {0};
    char *fieldbuf = NULL, *filter = NULL;
    const char **fields = NULL;
    bool have_fields = false, have_cursor = false, have_count = false;
    char b[80];
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        size_t al = argvlen[i];
        if (arg_is(a, al, "WHERE")) {
            if (i + 1 >= argc) {
                reply_error(out, "ERR", "empty filter after WHERE");
                goto done;
            }
            size_t total = 0;
            for (int k = i + 1; k < argc; k++) {
                if (memchr(argv[k], '\0', argvlen[k])) {
                    reply_error(out, "ERR", "filter contains a NUL byte");
                    goto done;
                }
                total += argvlen[k] + 1;
            }
            filter = malloc(total + 1);
            if (!filter) {
                reply_error(out, "ERR", "out of memory");
                goto done;
            }
            size_t w = 0;
            for (int k = i + 1; k < argc; k++) {
                if (k > i + 1)
                    filter[w++] = ' ';
                memcpy(filter + w, argv[k], argvlen[k]);
                w += argvlen[k];
            }
            filter[w] = '\0';
            req.filter = filter;
            break;
        }
        bool is_fields = arg_is(a, al, "FIELDS"), is_cursor = arg_is(a, al, "CURSOR"), is_count = arg_is(a, al, "COUNT");
        if (!is_fields && !is_cursor && !is_count) {
            reply_errorf(out, "ERR", "syntax error at '%s': EXPORT [FIELDS f1,f2,...] [CURSOR c] [COUNT n] [WHERE filter]",
                         arg_shown(a, al, b, sizeof b));
            goto done;
        }
        const char *opt = is_fields ? "FIELDS" : is_cursor ? "CURSOR" : "COUNT";
        if ((is_fields && have_fields) || (is_cursor && have_cursor) || (is_count && have_count)) {
            reply_errorf(out, "ERR", "syntax error: %s given twice", opt);
            goto done;
        }
        if (i + 1 >= argc) {
            reply_errorf(out, "ERR", "syntax error: %s needs %s", opt,
                         is_fields ? "a comma-separated list of field names" : "a number");
            goto done;
        }
        const char *v = argv[i + 1];
        size_t vl = argvlen[i + 1];
        if (is_fields) {
            if (split_fields(v, vl, &fieldbuf, &fields, &req.nfields, out) < 0)
                goto done;
            req.fields = fields;
            have_fields = true;
        } else if (is_cursor) {
            if (arg_u64(v, vl, &req.cursor) < 0) {
                reply_errorf(out, "ERR", "invalid cursor '%s': use 0 to start, then the cursor EXPORT replied",
                             arg_shown(v, vl, b, sizeof b));
                goto done;
            }
            have_cursor = true;
        } else {
            if (arg_u64(v, vl, &req.count) < 0 || req.count == 0) {
                reply_errorf(out, "ERR", "invalid COUNT '%s': rows per page, from 1 to %u", arg_shown(v, vl, b, sizeof b),
                             SEGDB_MAX_EXPORT_COUNT);
                goto done;
            }
            have_count = true;
        }
        i += 2;
    }
    segdb_export_res res;
    segdb_err err = {0};
    int r = segdb_export(srv->db, &req, &res, &err);
    if (r < 0) {
        reply_engine_error(out, r, err.msg);
        goto done;
    }
    reply_array(out, 2);
    reply_bulk_u64(out, res.next_cursor);
    reply_bulk(out, res.csv, res.len);
    segdb_export_res_free(&res);
done:
    free(filter);
    free(fieldbuf);
    free(fields);
    return CMD_DONE;
}

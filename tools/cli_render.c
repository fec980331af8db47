/*
 * cli_render.c — reply rendering for segdb-cli (see cli_render.h). The
 * formatted form follows redis-cli's cliFormatReplyTTY: an array's items are
 * numbered with the numbers right-aligned to the widest, and a nested array
 * starts on its parent's line, its later lines indented by the parent's
 * number width + 2.
 */
#include "cli_render.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

/* Decode one UTF-8 sequence at s[0..len): its length, or 0 when invalid. */
static size_t utf8_next(const char *s, size_t len, int32_t *cp)
{
    utf8proc_int32_t c = -1;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &c);
    if (n <= 0 || c < 0)
        return 0;
    *cp = c;
    return (size_t)n;
}

static bool is_control(int32_t cp) { return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0); }

size_t cli_display_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t n = utf8_next(s + i, len - i, &cp);
        if (n == 0) {
            w++;
            i++;
            continue;
        }
        if (!is_control(cp)) {
            int cw = utf8proc_charwidth(cp);
            w += cw > 0 ? (size_t)cw : 0;
        }
        i += n;
    }
    return w;
}

static void escape_byte(cli_buf *out, unsigned char c)
{
    switch (c) {
    case '\n': cli_buf_add(out, "\\n", 2); break;
    case '\r': cli_buf_add(out, "\\r", 2); break;
    case '\t': cli_buf_add(out, "\\t", 2); break;
    case '\a': cli_buf_add(out, "\\a", 2); break;
    case '\b': cli_buf_add(out, "\\b", 2); break;
    default: cli_buf_addf(out, "\\x%02x", c); break;
    }
}

void cli_render_text(cli_buf *out, const char *s, size_t len, bool quoted)
{
    if (quoted)
        cli_buf_addc(out, '"');
    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t n = utf8_next(s + i, len - i, &cp);
        if (n == 0) {
            escape_byte(out, (unsigned char)s[i]);
            i++;
            continue;
        }
        if (is_control(cp)) {
            /* C1 controls are two bytes: escape each */
            for (size_t k = 0; k < n; k++)
                escape_byte(out, (unsigned char)s[i + k]);
        } else if (quoted && (cp == '"' || cp == '\\')) {
            cli_buf_addc(out, '\\');
            cli_buf_addc(out, (char)cp);
        } else {
            cli_buf_add(out, s + i, n);
        }
        i += n;
    }
    if (quoted)
        cli_buf_addc(out, '"');
}

static void tty_value(cli_buf *out, const cli_value *v, const char *prefix, size_t plen)
{
    switch (v->type) {
    case CLI_V_STATUS:
        cli_render_text(out, v->str, v->len, false);
        cli_buf_addc(out, '\n');
        break;
    case CLI_V_ERROR:
        cli_buf_addstr(out, "(error) ");
        cli_render_text(out, v->str, v->len, false);
        cli_buf_addc(out, '\n');
        break;
    case CLI_V_INT:
        cli_buf_addf(out, "(integer) %lld\n", v->integer);
        break;
    case CLI_V_BULK:
        cli_render_text(out, v->str, v->len, true);
        cli_buf_addc(out, '\n');
        break;
    case CLI_V_NIL:
        cli_buf_addstr(out, "(nil)\n");
        break;
    case CLI_V_ARRAY: {
        if (v->n == 0) {
            cli_buf_addstr(out, "(empty array)\n");
            break;
        }
        int idxlen = 0;
        for (size_t i = v->n; i; i /= 10)
            idxlen++;
        /* nested items line up under the first character after "N) " */
        cli_buf inner;
        cli_buf_init(&inner);
        cli_buf_add(&inner, prefix, plen);
        cli_buf_repeat(&inner, ' ', (size_t)idxlen + 2);
        if (inner.oom) {
            out->oom = true;
            cli_buf_free(&inner);
            break;
        }
        for (size_t i = 0; i < v->n; i++) {
            if (i > 0)
                cli_buf_add(out, prefix, plen);
            cli_buf_addf(out, "%*zu) ", idxlen, i + 1);
            tty_value(out, v->elem[i], inner.p, inner.len);
        }
        cli_buf_free(&inner);
        break;
    }
    }
}

void cli_render_tty(cli_buf *out, const cli_value *v) { tty_value(out, v, "", 0); }

static void raw_value(cli_buf *out, const cli_value *v)
{
    switch (v->type) {
    case CLI_V_STATUS:
    case CLI_V_ERROR:
    case CLI_V_BULK:
        cli_buf_add(out, v->str, v->len);
        break;
    case CLI_V_INT:
        cli_buf_addf(out, "%lld", v->integer);
        break;
    case CLI_V_NIL:
        break;
    case CLI_V_ARRAY:
        for (size_t i = 0; i < v->n; i++) {
            if (i > 0)
                cli_buf_addc(out, '\n');
            raw_value(out, v->elem[i]);
        }
        break;
    }
}

void cli_render_raw(cli_buf *out, const cli_value *v)
{
    raw_value(out, v);
    cli_buf_addc(out, '\n');
}

/* ---- FIND FIELDS tables ----------------------------------------------------- */

static bool table_shaped(const cli_value *v, size_t ncols)
{
    if (v->type != CLI_V_ARRAY || ncols == 0)
        return false;
    for (size_t i = 0; i < v->n; i++) {
        const cli_value *row = v->elem[i];
        if (row->type != CLI_V_ARRAY || row->n != ncols + 1)
            return false;
        for (size_t k = 0; k < row->n; k++)
            if (row->elem[k]->type != CLI_V_BULK && row->elem[k]->type != CLI_V_NIL)
                return false;
    }
    return true;
}

static void table_line(cli_buf *out, cli_buf *cells, const size_t *cellw, const size_t *width, size_t ncols)
{
    for (size_t k = 0; k < ncols; k++) {
        cli_buf_addstr(out, k ? " | " : " ");
        cli_buf_add(out, cells[k].p ? cells[k].p : "", cells[k].len);
        if (k + 1 < ncols)
            cli_buf_repeat(out, ' ', width[k] - cellw[k]);
    }
    cli_buf_addc(out, '\n');
}

bool cli_render_table(cli_buf *out, const cli_value *v, const char *const *cols, size_t ncols)
{
    if (!table_shaped(v, ncols))
        return false;
    size_t nc = ncols + 1;
    size_t nrows = v->n + 1;                /* the header, then the contacts */
    cli_buf *cells = calloc(nrows * nc, sizeof(*cells));
    size_t *cellw = calloc(nrows * nc, sizeof(*cellw));
    size_t *width = calloc(nc, sizeof(*width));
    if (!cells || !cellw || !width) {
        out->oom = true;
        goto done;
    }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t k = 0; k < nc; k++) {
            cli_buf *c = &cells[r * nc + k];
            if (r == 0) {
                const char *name = k == 0 ? "id" : cols[k - 1];
                cli_render_text(c, name, strlen(name), false);
            } else {
                const cli_value *e = v->elem[r - 1]->elem[k];
                if (e->type == CLI_V_BULK)
                    cli_render_text(c, e->str, e->len, false);
            }
            if (c->oom) {
                out->oom = true;
                goto done;
            }
            cellw[r * nc + k] = cli_display_width(c->p ? c->p : "", c->len);
            if (cellw[r * nc + k] > width[k])
                width[k] = cellw[r * nc + k];
        }
    }
    table_line(out, cells, cellw, width, nc);
    for (size_t k = 0; k < nc; k++) {
        if (k)
            cli_buf_addc(out, '+');
        cli_buf_repeat(out, '-', width[k] + 2);
    }
    cli_buf_addc(out, '\n');
    for (size_t r = 1; r < nrows; r++)
        table_line(out, &cells[r * nc], &cellw[r * nc], width, nc);
    cli_buf_addf(out, "(%zu row%s)\n", v->n, v->n == 1 ? "" : "s");
done:
    if (cells)
        for (size_t i = 0; i < nrows * nc; i++)
            cli_buf_free(&cells[i]);
    free(cells);
    free(cellw);
    free(width);
    return true;
}

static bool word_is(const char *a, size_t alen, const char *w)
{
    return strlen(w) == alen && strncasecmp(a, w, alen) == 0;
}

void cli_free_columns(char **cols, size_t n)
{
    if (!cols)
        return;
    for (size_t i = 0; i < n; i++)
        free(cols[i]);
    free(cols);
}

/* Split "a, b,c" as the server's FIND does: on commas, spaces trimmed. */
static size_t split_fields(const char *s, size_t len, char ***cols)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += s[i] == ',';
    char **v = calloc(n, sizeof(*v));
    if (!v)
        return 0;
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ',')
            continue;
        size_t a = start, b = i;
        while (a < b && s[a] == ' ')
            a++;
        while (b > a && s[b - 1] == ' ')
            b--;
        if (!(v[k] = strndup(s + a, b - a))) {
            cli_free_columns(v, k);
            return 0;
        }
        k++;
        start = i + 1;
    }
    *cols = v;
    return n;
}

size_t cli_find_columns(int argc, const char *const *argv, const size_t *argvlen, char ***cols)
{
    *cols = NULL;
    if (argc < 3 || !word_is(argv[0], argvlen[0], "FIND"))
        return 0;
    /* walk FIND's options as the server does; WHERE ends them */
    for (int i = 1; i < argc;) {
        const char *a = argv[i];
        size_t al = argvlen[i];
        if (word_is(a, al, "FIELDS") && i + 1 < argc) {
            return split_fields(argv[i + 1], argvlen[i + 1], cols);
        } else if (word_is(a, al, "SORT") && i + 1 < argc) {
            i += 2;
            if (i < argc && (word_is(argv[i], argvlen[i], "ASC") || word_is(argv[i], argvlen[i], "DESC")))
                i++;
        } else if (word_is(a, al, "LIMIT") && i + 2 < argc) {
            i += 3;
        } else {
            return 0;
        }
    }
    return 0;
}

/* A document (EXPLAIN's plan, INFO): its lines as they are, each made safe. */
static void text_document(cli_buf *out, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '\n' && s[i] != '\t')
            continue;
        size_t end = i;
        if (i < len && s[i] == '\n' && end > start && s[end - 1] == '\r')
            end--;   /* CRLF line ends (INFO) print as newlines */
        cli_render_text(out, s + start, end - start, false);
        if (i < len)
            cli_buf_addc(out, s[i]);
        start = i + 1;
    }
    if (len == 0 || s[len - 1] != '\n')
        cli_buf_addc(out, '\n');
}

void cli_render_reply(cli_buf *out, const cli_value *v, int argc, const char *const *argv,
                      const size_t *argvlen, cli_out_mode mode)
{
    if (mode == CLI_OUT_RAW) {
        cli_render_raw(out, v);
        return;
    }
    if (v->type == CLI_V_BULK && memchr(v->str, '\n', v->len)) {
        text_document(out, v->str, v->len);
        return;
    }
    if (v->type == CLI_V_ARRAY) {
        char **cols = NULL;
        size_t n = cli_find_columns(argc, argv, argvlen, &cols);
        bool done = n && cli_render_table(out, v, (const char *const *)cols, n);
        cli_free_columns(cols, n);
        if (done)
            return;
    }
    cli_render_tty(out, v);
}

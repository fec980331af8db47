/*
 * cli_resp.c — RESP2 command encoder and incremental reply reader (see
 * cli_resp.h).
 *
 * The reader parses whole elements only: a line (`+`, `-`, `:`, `$` and `*`
 * headers) once its CRLF has arrived, a bulk once its bytes and CRLF have.
 * An element not complete yet stays in the buffer and is parsed again when
 * more bytes come, which costs O(1) because the search for the line's CR
 * resumes where it stopped (`scan`). Arrays being filled wait on an explicit
 * stack, so nesting costs no C recursion.
 */
#include "cli_resp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keep at most this much buffer between replies (one big reply must not pin it). */
#define KEEP_BUFFER_BYTES (1024u * 1024)
/* Array slots are allocated as elements arrive, not as declared. */
#define FIRST_SLOTS 16u
/* The smallest element on the wire is "+\r\n": an array can't hold more
 * elements than its remaining byte budget divided by this. */
#define MIN_ELEMENT_BYTES 3u

void cli_value_free(cli_value *v)
{
    if (!v)
        return;
    if (v->type == CLI_V_ARRAY) {
        for (size_t i = 0; i < v->n; i++)
            cli_value_free(v->elem[i]);
        free(v->elem);
    }
    free(v->str);
    free(v);
}

void cli_reader_init(cli_reader *r)
{
    memset(r, 0, sizeof(*r));
    r->max_reply_bytes = CLI_RESP_DEFAULT_MAX_REPLY_BYTES;
}

static void drop_partial(cli_reader *r)
{
    for (int i = 0; i < r->depth; i++)
        cli_value_free(r->stack[i].arr);
    r->depth = 0;
}

void cli_reader_free(cli_reader *r)
{
    drop_partial(r);
    free(r->buf);
    r->buf = NULL;
    r->len = r->pos = r->cap = r->scan = r->used = 0;
}

static int fail(cli_reader *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(cli_reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
    r->failed = code;
    drop_partial(r);
    return code;
}

size_t cli_reader_pending(const cli_reader *r) { return r->used + (r->len - r->pos); }

int cli_reader_feed(cli_reader *r, const char *data, size_t len)
{
    if (r->failed)
        return r->failed;
    if (len == 0)
        return 0;
    size_t unparsed = r->len - r->pos;
    if (r->used > r->max_reply_bytes || unparsed > r->max_reply_bytes - r->used ||
        len > r->max_reply_bytes - r->used - unparsed)
        return fail(r, CLI_RESP_ELIMIT, "reply larger than the %zu bytes allowed", r->max_reply_bytes);
    if (r->pos > 0) {
        /* compact: parsed bytes are never looked at again */
        memmove(r->buf, r->buf + r->pos, unparsed);
        r->scan = r->scan > r->pos ? r->scan - r->pos : 0;
        r->len = unparsed;
        r->pos = 0;
    }
    if (r->len == 0 && r->cap > KEEP_BUFFER_BYTES && len < KEEP_BUFFER_BYTES) {
        free(r->buf);
        r->buf = NULL;
        r->cap = 0;
    }
    if (r->cap - r->len < len) {
        size_t need = r->len + len;
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *b = realloc(r->buf, cap);
        if (!b)
            return fail(r, CLI_RESP_ENOMEM, "out of memory reading a reply");
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, len);
    r->len += len;
    return 0;
}

/* A RESP integer: an optional '-' and 1-19 digits, no other bytes. */
static bool parse_ll(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n)
        return false;
    unsigned long long v = 0;
    unsigned long long lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    else
        *out = (long long)v;
    return true;
}

static cli_value *new_value(cli_vtype t)
{
    cli_value *v = calloc(1, sizeof(*v));
    if (v)
        v->type = t;
    return v;
}

static cli_value *new_str(cli_vtype t, const char *s, size_t n)
{
    cli_value *v = new_value(t);
    if (!v)
        return NULL;
    v->str = malloc(n + 1);
    if (!v->str) {
        free(v);
        return NULL;
    }
    memcpy(v->str, s, n);
    v->str[n] = '\0';
    v->len = n;
    return v;
}

/* Shown in messages: the byte as a character when printable. */
static void show_byte(unsigned char c, char out[8])
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(out, 8, "'%c'", c);
    else
        snprintf(out, 8, "0x%02x", c);
}

int cli_reader_get(cli_reader *r, cli_value **out)
{
    *out = NULL;
    if (r->failed)
        return r->failed;
    for (;;) {
        if (r->pos >= r->len)
            return CLI_RESP_MORE;
        size_t budget = r->max_reply_bytes > r->used ? r->max_reply_bytes - r->used : 0;
        char type = r->buf[r->pos];
        if (!strchr("+-:$*", type) || type == '\0') {
            /* refused at once: garbage never waits for a line end */
            char b[8];
            show_byte((unsigned char)type, b);
            return fail(r, CLI_RESP_EPROTO, "Protocol error: unexpected byte %s where a reply starts", b);
        }
        size_t from = r->scan > r->pos + 1 ? r->scan : r->pos + 1;
        const char *cr = from < r->len ? memchr(r->buf + from, '\r', r->len - from) : NULL;
        if (!cr || (size_t)(cr - r->buf) + 1 >= r->len) {
            /* the line's end has not arrived */
            r->scan = cr ? (size_t)(cr - r->buf) : (r->len > from ? r->len : from);
            if (r->len - r->pos > budget)
                return fail(r, CLI_RESP_ELIMIT, "reply larger than the %zu bytes allowed",
                            r->max_reply_bytes);
            return CLI_RESP_MORE;
        }
        size_t crpos = (size_t)(cr - r->buf);
        if (r->buf[crpos + 1] != '\n')
            return fail(r, CLI_RESP_EPROTO, "Protocol error: expected CRLF at the end of a reply line");
        size_t hdr = crpos + 2 - r->pos;   /* type byte, line, CRLF */
        if (hdr > budget)
            return fail(r, CLI_RESP_ELIMIT, "reply larger than the %zu bytes allowed", r->max_reply_bytes);
        const char *line = r->buf + r->pos + 1;
        size_t ll = crpos - r->pos - 1;
        size_t consumed = hdr;
        cli_value *v = NULL;
        long long x = 0;
        switch (type) {
        case '+':
        case '-':
            v = new_str(type == '+' ? CLI_V_STATUS : CLI_V_ERROR, line, ll);
            if (!v)
                return fail(r, CLI_RESP_ENOMEM, "out of memory reading a reply");
            break;
        case ':':
            if (!parse_ll(line, ll, &x))
                return fail(r, CLI_RESP_EPROTO, "Protocol error: invalid integer reply");
            if (!(v = new_value(CLI_V_INT)))
                return fail(r, CLI_RESP_ENOMEM, "out of memory reading a reply");
            v->integer = x;
            break;
        case '$': {
            if (!parse_ll(line, ll, &x) || x < -1)
                return fail(r, CLI_RESP_EPROTO, "Protocol error: invalid bulk length");
            if (x == -1) {
                if (!(v = new_value(CLI_V_NIL)))
                    return fail(r, CLI_RESP_ENOMEM, "out of memory reading a reply");
                break;
            }
            size_t left = budget - hdr;
            if (left < 2 || (unsigned long long)x > left - 2)
                return fail(r, CLI_RESP_ELIMIT, "bulk reply of %lld bytes: larger than the %zu bytes allowed",
                            x, r->max_reply_bytes);
            size_t bl = (size_t)x;
            size_t body = crpos + 2;
            if (r->len - body < bl + 2) {
                r->scan = crpos;   /* the header is re-read in O(1) when more arrives */
                return CLI_RESP_MORE;
            }
            if (r->buf[body + bl] != '\r' || r->buf[body + bl + 1] != '\n')
                return fail(r, CLI_RESP_EPROTO, "Protocol error: bulk reply not followed by CRLF");
            if (!(v = new_str(CLI_V_BULK, r->buf + body, bl)))
                return fail(r, CLI_RESP_ENOMEM, "out of memory reading a reply");
            consumed += bl + 2;
            break;
        }
        case '*': {
            if (!parse_ll(line, ll, &x) || x < -1)
                return fail(r, CLI_RESP_EPROTO, "Protocol error: invalid array length");
            if (x == -1) {
                if (!(v = new_value(CLI_V_NIL)))
                    return fail(r, CLI_RESP_ENOMEM, "out of memory reading a reply");
                break;
            }
            if ((unsigned long long)x > (budget - hdr) / MIN_ELEMENT_BYTES)
                return fail(r, CLI_RESP_ELIMIT, "array reply of %lld elements: larger than the %zu bytes allowed",
                            x, r->max_reply_bytes);
            if (x > 0 && r->depth >= CLI_RESP_MAX_DEPTH)
                return fail(r, CLI_RESP_ELIMIT, "reply nested deeper than %d arrays", CLI_RESP_MAX_DEPTH);
            if (!(v = new_value(CLI_V_ARRAY)))
                return fail(r, CLI_RESP_ENOMEM, "out of memory reading a reply");
            if (x > 0) {
                r->stack[r->depth].arr = v;
                r->stack[r->depth].want = (size_t)x;
                r->stack[r->depth].cap = 0;
                r->depth++;
                v = NULL;   /* complete once its elements are */
            }
            break;
        }
        default:
            return fail(r, CLI_RESP_EPROTO, "Protocol error: unexpected reply type");
        }
        r->pos += consumed;
        r->used += consumed;
        r->scan = r->pos;
        /* attach the finished value to the array waiting for it, and so on up */
        while (v) {
            if (r->depth == 0) {
                r->used = 0;
                *out = v;
                return CLI_RESP_REPLY;
            }
            cli_reader_frame *f = &r->stack[r->depth - 1];
            cli_value *a = f->arr;
            if (a->n == f->cap) {
                size_t cap = f->cap ? f->cap * 2 : FIRST_SLOTS;
                if (cap > f->want)
                    cap = f->want;
                cli_value **e = realloc(a->elem, cap * sizeof(*e));
                if (!e) {
                    cli_value_free(v);
                    return fail(r, CLI_RESP_ENOMEM, "out of memory reading a reply");
                }
                a->elem = e;
                f->cap = cap;
            }
            a->elem[a->n++] = v;
            if (a->n < f->want)
                break;
            v = a;
            r->depth--;
        }
    }
}

int cli_resp_encode(cli_buf *out, int argc, const char *const *argv, const size_t *argvlen)
{
    cli_buf_addf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        cli_buf_addf(out, "$%zu\r\n", argvlen[i]);
        cli_buf_add(out, argv[i], argvlen[i]);
        cli_buf_add(out, "\r\n", 2);
    }
    return out->oom ? -1 : 0;
}

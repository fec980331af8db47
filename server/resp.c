/*
 * resp.c — the incremental RESP2 + inline request parser of resp.h.
 *
 * A request is either a RESP multibulk ("*N\r\n" then N times "$L\r\n<L
 * bytes>\r\n") or an inline line ending in "\n" (an optional "\r" before it
 * is dropped). Bytes are copied into an arena as they arrive, so a request
 * may be split anywhere between feeds. Sizes a header declares are checked
 * against the limits before anything is allocated for them, and the arena
 * grows with the bytes actually received, never with a declared size alone
 * beyond SMALL_RESERVE_BYTES.
 */
#include "resp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb_limits.h"

enum {
    ST_IDLE = 0,     /* between requests */
    ST_MB_LINE,      /* reading the count after '*' */
    ST_BULK_START,   /* expecting '$' */
    ST_BULK_LINE,    /* reading the length after '$' */
    ST_BULK_DATA,    /* reading bulk bytes */
    ST_BULK_CR,      /* expecting '\r' after the bulk */
    ST_BULK_LF,      /* expecting '\n' after it */
    ST_INLINE,       /* reading an inline line */
};

#define HEADER_LINE_MAX 32             /* "*"/"$" numbers: 20 digits + sign + CR suffice */
#define SMALL_RESERVE_BYTES (64 * 1024) /* a declared bulk up to this is reserved at once */
#define SHRINK_ABOVE_BYTES (64 * 1024) /* idle buffers larger than this are released */
#define ARG_SLOT_BYTES (sizeof(char *) + 2 * sizeof(size_t)) /* argv + argvlen + off */
#define INITIAL_ARGS 16
#define MAX_PREALLOC_ARGS 1024

void resp_parser_init(resp_parser *p)
{
    memset(p, 0, sizeof(*p));
    p->max_bulk_bytes = SEGDB_MAX_REQUEST_BYTES;
    p->max_args = SEGDB_MAX_ARGS;
    p->unauth_bytes = SEGDB_MAX_UNAUTH_BUFFER_BYTES;
}

void resp_parser_free(resp_parser *p)
{
    free(p->arena);
    free(p->off);
    free(p->argv);
    free(p->argvlen);
    free(p->line);
    p->arena = p->line = NULL;
    p->off = p->argvlen = NULL;
    p->argv = NULL;
    p->arena_cap = p->line_cap = p->argcap = 0;
    p->arena_len = p->line_len = 0;
    p->argc = 0;
}

void resp_parser_shrink(resp_parser *p)
{
    if (p->state != ST_IDLE && !p->done_pending)
        return;
    if (p->arena_cap > SHRINK_ABOVE_BYTES) {
        free(p->arena);
        p->arena = NULL;
        p->arena_cap = p->arena_len = 0;
    }
    if (p->line_cap > SHRINK_ABOVE_BYTES) {
        free(p->line);
        p->line = NULL;
        p->line_cap = p->line_len = 0;
    }
    if (p->argcap > MAX_PREALLOC_ARGS) {
        free(p->off);
        free(p->argv);
        free(p->argvlen);
        p->off = p->argvlen = NULL;
        p->argv = NULL;
        p->argcap = 0;
    }
    if (p->done_pending)
        p->argc = 0;
}

size_t resp_pending_bytes(const resp_parser *p)
{
    if (p->done_pending || p->state == ST_IDLE)
        return 0;
    return p->arena_len + p->line_len + p->bulk_got;
}

static void reset_request(resp_parser *p)
{
    p->state = ST_IDLE;
    p->argc = 0;
    p->arena_len = 0;
    p->line_len = 0;
    p->mb_left = 0;
    p->bulk_len = 0;
    p->bulk_got = 0;
    p->req_bytes = 0;
    p->done_pending = false;
    resp_parser_shrink(p);
}

static int fail(resp_parser *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(resp_parser *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
    va_end(ap);
    return code;
}

/* Room for at least `need` arguments in off/argv/argvlen. */
static int reserve_args(resp_parser *p, size_t need)
{
    if (need <= p->argcap)
        return 0;
    size_t cap = p->argcap ? p->argcap : INITIAL_ARGS;
    while (cap < need)
        cap *= 2;
    size_t *off = realloc(p->off, cap * sizeof(*off));
    if (!off)
        return -1;
    p->off = off;
    size_t *lens = realloc(p->argvlen, cap * sizeof(*lens));
    if (!lens)
        return -1;
    p->argvlen = lens;
    char **argv = realloc(p->argv, cap * sizeof(*argv));
    if (!argv)
        return -1;
    p->argv = argv;
    p->argcap = cap;
    return 0;
}

/* Room for `extra` more arena bytes. */
static int reserve_arena(resp_parser *p, size_t extra)
{
    if (p->arena_cap - p->arena_len >= extra)
        return 0;
    size_t need = p->arena_len + extra;
    size_t cap = p->arena_cap ? p->arena_cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *a = realloc(p->arena, cap);
    if (!a)
        return -1;
    p->arena = a;
    p->arena_cap = cap;
    return 0;
}

static int reserve_line(resp_parser *p, size_t extra)
{
    if (p->line_cap - p->line_len >= extra)
        return 0;
    size_t need = p->line_len + extra;
    size_t cap = p->line_cap ? p->line_cap : 128;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *l = realloc(p->line, cap);
    if (!l)
        return -1;
    p->line = l;
    p->line_cap = cap;
    return 0;
}

/* Fill argv pointers for a finished command. */
static int finish_command(resp_parser *p)
{
    for (int i = 0; i < p->argc; i++)
        p->argv[i] = p->arena + p->off[i];
    p->done_pending = true;
    return RESP_CMD;
}

/* Parse a header number: optional '-', then 1..19 digits. Returns 0 and *v,
 * 1 when it is all digits but too large (a limit, not a syntax error), -1
 * when malformed. */
static int parse_header_number(const char *s, size_t len, long long *v)
{
    size_t i = 0;
    int neg = 0;
    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len)
        return -1;
    unsigned long long acc = 0;
    int big = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (acc > (unsigned long long)LLONG_MAX / 10)
            big = 1;
        else
            acc = acc * 10 + (unsigned long long)(s[i] - '0');
        if (acc > (unsigned long long)LLONG_MAX)
            big = 1;
    }
    if (big)
        return neg ? -1 : 1;
    *v = neg ? -(long long)acc : (long long)acc;
    return 0;
}

/* Accumulate a header line from data; returns 1 when the line is complete
 * (then *i is past the '\n'), 0 when more bytes are needed, <0 on error. */
static int take_header_line(resp_parser *p, const char *data, size_t len, size_t *i,
                            const char *what)
{
    const char *start = data + *i;
    const char *nl = memchr(start, '\n', len - *i);
    size_t n = nl ? (size_t)(nl - start) : len - *i;
    if (p->line_len + n > HEADER_LINE_MAX) {
        /* A long run of digits is a huge declared size: a limit. Anything
         * else this long is not a number at all. Only the first
         * HEADER_LINE_MAX bytes are looked at. */
        size_t k = 0, m = 0;
        for (; k < p->line_len && p->line[k] >= '0' && p->line[k] <= '9'; k++)
            ;
        if (k == p->line_len)
            for (; k + m < HEADER_LINE_MAX && m < n && start[m] >= '0' && start[m] <= '9'; m++)
                ;
        if (k + m >= HEADER_LINE_MAX)
            return fail(p, RESP_ELIMIT, "%s length is too large", what);
        return fail(p, RESP_EPROTO, "Protocol error: invalid %s length", what);
    }
    if (reserve_line(p, n + 1) < 0)
        return fail(p, RESP_ENOMEM, "out of memory");
    memcpy(p->line + p->line_len, start, n);
    p->line_len += n;
    if (!nl) {
        *i = len;
        return 0;
    }
    *i += n + 1;
    if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
        p->line_len--;
    return 1;
}

/* ---- inline splitting --------------------------------------------------- */

typedef struct sink {
    resp_parser *p;
    size_t max_args;
} sink;

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Split s[0..len) into the parser's arena/off/argvlen. The arena must have
 * room for len + number of words + 1 bytes (checked by the caller as 2*len+1). */
static int split_into(resp_parser *p, const char *s, size_t len, size_t max_args)
{
    size_t i = 0;
    p->argc = 0;
    for (;;) {
        while (i < len && is_ws((unsigned char)s[i]))
            i++;
        if (i >= len)
            return 0;
        if ((size_t)p->argc >= max_args)
            return fail(p, RESP_ELIMIT, "inline request has more than %zu arguments", max_args);
        if (reserve_args(p, (size_t)p->argc + 1) < 0)
            return fail(p, RESP_ENOMEM, "out of memory");
        char *out = p->arena + p->arena_len;
        size_t o = 0;
        unsigned char c = (unsigned char)s[i];
        if (c == '"') {
            i++;
            for (;;) {
                if (i >= len)
                    goto unbalanced;
                c = (unsigned char)s[i];
                if (c == '\\' && i + 1 < len) {
                    unsigned char e = (unsigned char)s[i + 1];
                    int h1, h2;
                    if (e == 'x' && i + 3 < len && (h1 = hexval((unsigned char)s[i + 2])) >= 0 &&
                        (h2 = hexval((unsigned char)s[i + 3])) >= 0) {
                        out[o++] = (char)(h1 * 16 + h2);
                        i += 4;
                        continue;
                    }
                    switch (e) {
                    case 'n': out[o++] = '\n'; break;
                    case 'r': out[o++] = '\r'; break;
                    case 't': out[o++] = '\t'; break;
                    case 'b': out[o++] = '\b'; break;
                    case 'a': out[o++] = '\a'; break;
                    default: out[o++] = (char)e; break;
                    }
                    i += 2;
                } else if (c == '"') {
                    i++;
                    if (i < len && !is_ws((unsigned char)s[i]))
                        goto unbalanced; /* "foo"bar is an error, as in redis-cli */
                    break;
                } else {
                    out[o++] = (char)c;
                    i++;
                }
            }
        } else if (c == '\'') {
            i++;
            for (;;) {
                if (i >= len)
                    goto unbalanced;
                c = (unsigned char)s[i];
                if (c == '\\' && i + 1 < len && s[i + 1] == '\'') {
                    out[o++] = '\'';
                    i += 2;
                } else if (c == '\'') {
                    i++;
                    if (i < len && !is_ws((unsigned char)s[i]))
                        goto unbalanced;
                    break;
                } else {
                    out[o++] = (char)c;
                    i++;
                }
            }
        } else {
            while (i < len && !is_ws((unsigned char)s[i])) {
                c = (unsigned char)s[i];
                if (c == '"' || c == '\'') {
                    /* A quote inside a word: keep it and everything up to
                     * its partner verbatim (backslash pairs included), so
                     * filters like city:"ha noi" reach the filter parser. */
                    unsigned char q = c;
                    out[o++] = (char)s[i++];
                    for (;;) {
                        if (i >= len)
                            goto unbalanced;
                        c = (unsigned char)s[i];
                        if (c == '\\' && i + 1 < len) {
                            out[o++] = (char)s[i++];
                            out[o++] = (char)s[i++];
                            continue;
                        }
                        out[o++] = (char)s[i++];
                        if (c == q)
                            break;
                    }
                } else {
                    out[o++] = (char)c;
                    i++;
                }
            }
        }
        out[o] = '\0';
        p->off[p->argc] = p->arena_len;
        p->argvlen[p->argc] = o;
        p->arena_len += o + 1;
        p->argc++;
    }
unbalanced:
    return fail(p, RESP_EQUOTES, "Protocol error: unbalanced quotes in request");
}

static int finish_inline(resp_parser *p)
{
    size_t len = p->line_len;
    /* Each word is at most as long as its source plus a NUL; words are
     * separated by at least one byte, so 2*len+1 always suffices. */
    if (reserve_arena(p, 2 * len + 1) < 0)
        return fail(p, RESP_ENOMEM, "out of memory");
    p->arena_len = 0;
    int r = split_into(p, p->line ? p->line : "", len, p->max_args);
    if (r < 0)
        return r;
    if (p->argc == 0)
        return RESP_MORE; /* empty line: skipped */
    return finish_command(p);
}

/* ---- the state machine -------------------------------------------------- */

int resp_feed(resp_parser *p, const char *data, size_t len, size_t *used)
{
    size_t i = 0;
    int r;
    if (p->done_pending)
        reset_request(p);
    while (i < len) {
        switch (p->state) {
        case ST_IDLE:
            p->line_len = 0;
            if (data[i] == '*') {
                p->state = ST_MB_LINE;
                i++;
            } else {
                p->state = ST_INLINE;
            }
            break;

        case ST_MB_LINE: {
            r = take_header_line(p, data, len, &i, "multibulk");
            if (r < 0)
                goto error;
            if (r == 0)
                break;
            long long n = 0;
            int pr = parse_header_number(p->line, p->line_len, &n);
            if (pr < 0) {
                r = fail(p, RESP_EPROTO, "Protocol error: invalid multibulk length");
                goto error;
            }
            if (pr == 0 && n <= 0) { /* "*0" and "*-1": an empty request, skipped */
                reset_request(p);
                break;
            }
            if (pr > 0 || (unsigned long long)n > p->max_args) {
                if (pr > 0)
                    r = fail(p, RESP_ELIMIT, "request declares too many arguments; the limit is %zu",
                             p->max_args);
                else
                    r = fail(p, RESP_ELIMIT, "request declares %lld arguments; the limit is %zu",
                             n, p->max_args);
                goto error;
            }
            if (p->unauth && (unsigned long long)n * ARG_SLOT_BYTES > p->unauth_bytes) {
                r = fail(p, RESP_ELIMIT,
                         "request declares %lld arguments before AUTH; at most %zu bytes are "
                         "accepted from an unauthenticated client",
                         n, p->unauth_bytes);
                goto error;
            }
            size_t pre = (size_t)n < MAX_PREALLOC_ARGS ? (size_t)n : MAX_PREALLOC_ARGS;
            if (reserve_args(p, pre) < 0) {
                r = fail(p, RESP_ENOMEM, "out of memory");
                goto error;
            }
            p->mb_left = n;
            p->req_bytes = (size_t)n * ARG_SLOT_BYTES;
            p->state = ST_BULK_START;
            break;
        }

        case ST_BULK_START:
            if (data[i] != '$') {
                unsigned char c = (unsigned char)data[i];
                if (c >= 0x20 && c < 0x7f)
                    r = fail(p, RESP_EPROTO, "Protocol error: expected '$', got '%c'", c);
                else
                    r = fail(p, RESP_EPROTO, "Protocol error: expected '$', got byte 0x%02x", c);
                goto error;
            }
            i++;
            p->line_len = 0;
            p->state = ST_BULK_LINE;
            break;

        case ST_BULK_LINE: {
            r = take_header_line(p, data, len, &i, "bulk");
            if (r < 0)
                goto error;
            if (r == 0)
                break;
            long long n = 0;
            int pr = parse_header_number(p->line, p->line_len, &n);
            if (pr < 0 || (pr == 0 && n < 0)) {
                r = fail(p, RESP_EPROTO, "Protocol error: invalid bulk length");
                goto error;
            }
            if (pr > 0 || (unsigned long long)n > p->max_bulk_bytes) {
                if (pr > 0)
                    r = fail(p, RESP_ELIMIT, "bulk length is over the limit of %zu bytes",
                             p->max_bulk_bytes);
                else
                    r = fail(p, RESP_ELIMIT, "bulk of %lld bytes is over the limit of %zu bytes",
                             n, p->max_bulk_bytes);
                goto error;
            }
            if (p->unauth && p->req_bytes + (size_t)n + 1 > p->unauth_bytes) {
                r = fail(p, RESP_ELIMIT,
                         "request over %zu bytes before AUTH; authenticate first",
                         p->unauth_bytes);
                goto error;
            }
            p->req_bytes += (size_t)n + 1;
            if (reserve_args(p, (size_t)p->argc + 1) < 0 ||
                reserve_arena(p, ((size_t)n < SMALL_RESERVE_BYTES ? (size_t)n : 0) + 1) < 0) {
                r = fail(p, RESP_ENOMEM, "out of memory");
                goto error;
            }
            p->bulk_len = n;
            p->bulk_got = 0;
            p->state = n == 0 ? ST_BULK_CR : ST_BULK_DATA;
            break;
        }

        case ST_BULK_DATA: {
            size_t want = (size_t)p->bulk_len - p->bulk_got;
            size_t n = len - i < want ? len - i : want;
            if (reserve_arena(p, p->bulk_got + n + 1) < 0) {
                r = fail(p, RESP_ENOMEM, "out of memory");
                goto error;
            }
            memcpy(p->arena + p->arena_len + p->bulk_got, data + i, n);
            p->bulk_got += n;
            i += n;
            if (p->bulk_got == (size_t)p->bulk_len)
                p->state = ST_BULK_CR;
            break;
        }

        case ST_BULK_CR:
        case ST_BULK_LF:
            if (data[i] != (p->state == ST_BULK_CR ? '\r' : '\n')) {
                r = fail(p, RESP_EPROTO,
                         "Protocol error: expected CRLF after a bulk of %lld bytes",
                         p->bulk_len);
                goto error;
            }
            i++;
            if (p->state == ST_BULK_CR) {
                p->state = ST_BULK_LF;
                break;
            }
            p->arena[p->arena_len + (size_t)p->bulk_len] = '\0';
            p->off[p->argc] = p->arena_len;
            p->argvlen[p->argc] = (size_t)p->bulk_len;
            p->arena_len += (size_t)p->bulk_len + 1;
            p->argc++;
            p->bulk_got = 0;
            if (--p->mb_left == 0) {
                *used = i;
                return finish_command(p);
            }
            p->state = ST_BULK_START;
            break;

        case ST_INLINE: {
            const char *start = data + i;
            const char *nl = memchr(start, '\n', len - i);
            size_t n = nl ? (size_t)(nl - start) : len - i;
            size_t limit = p->max_bulk_bytes;
            if (p->unauth && p->unauth_bytes < limit)
                limit = p->unauth_bytes;
            if (p->line_len + n > limit) {
                if (p->unauth && limit == p->unauth_bytes)
                    r = fail(p, RESP_ELIMIT,
                             "inline request over %zu bytes before AUTH; authenticate first",
                             limit);
                else
                    r = fail(p, RESP_ELIMIT, "inline request over the limit of %zu bytes",
                             limit);
                goto error;
            }
            if (reserve_line(p, n + 1) < 0) {
                r = fail(p, RESP_ENOMEM, "out of memory");
                goto error;
            }
            memcpy(p->line + p->line_len, start, n);
            p->line_len += n;
            if (!nl) {
                i = len;
                break;
            }
            i += n + 1;
            if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
                p->line_len--;
            r = finish_inline(p);
            if (r == RESP_CMD) {
                *used = i;
                return r;
            }
            if (r == RESP_EQUOTES) {
                reset_request(p);
                *used = i;
                return r;
            }
            if (r < 0)
                goto error;
            reset_request(p); /* blank line */
            break;
        }
        }
    }
    *used = len;
    return RESP_MORE;
error:
    *used = i;
    return r;
}

/* ---- the standalone splitter -------------------------------------------- */

void resp_free_args(char **argv, size_t *argvlen, int argc)
{
    if (argv)
        for (int i = 0; i < argc; i++)
            free(argv[i]);
    free(argv);
    free(argvlen);
}

int resp_split_line(const char *line, size_t len, size_t max_args, char ***argv_out,
                    size_t **argvlen_out, int *argc_out)
{
    resp_parser p;
    resp_parser_init(&p);
    *argv_out = NULL;
    *argvlen_out = NULL;
    *argc_out = 0;
    int r = 0;
    if (len > SIZE_MAX / 2 - 1 || reserve_arena(&p, 2 * len + 1) < 0) {
        r = RESP_ENOMEM;
        goto done;
    }
    r = split_into(&p, line, len, max_args ? max_args : SEGDB_MAX_ARGS);
    if (r < 0)
        goto done;
    char **argv = calloc((size_t)p.argc + 1, sizeof(*argv));
    size_t *lens = calloc((size_t)p.argc + 1, sizeof(*lens));
    if (!argv || !lens) {
        free(argv);
        free(lens);
        r = RESP_ENOMEM;
        goto done;
    }
    for (int i = 0; i < p.argc; i++) {
        argv[i] = malloc(p.argvlen[i] + 1);
        if (!argv[i]) {
            resp_free_args(argv, lens, i);
            r = RESP_ENOMEM;
            goto done;
        }
        memcpy(argv[i], p.arena + p.off[i], p.argvlen[i] + 1);
        lens[i] = p.argvlen[i];
    }
    *argv_out = argv;
    *argvlen_out = lens;
    *argc_out = p.argc;
done:
    resp_parser_free(&p);
    return r;
}

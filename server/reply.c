/*
 * reply.c — the RESP2 reply builder of reply.h.
 */
#include "reply.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb.h"

#define SHRINK_ABOVE_BYTES (1024 * 1024)

void reply_init(reply_buf *rb) { memset(rb, 0, sizeof(*rb)); }

void reply_free(reply_buf *rb)
{
    free(rb->buf);
    memset(rb, 0, sizeof(*rb));
}

void reply_reset(reply_buf *rb)
{
    rb->len = 0;
    rb->oom = 0;
    if (rb->cap > SHRINK_ABOVE_BYTES) {
        /* one huge reply must not pin its memory for the client's lifetime */
        free(rb->buf);
        rb->buf = NULL;
        rb->cap = 0;
    }
}

void reply_consume(reply_buf *rb, size_t n)
{
    if (n >= rb->len) {
        reply_reset(rb);
        return;
    }
    memmove(rb->buf, rb->buf + n, rb->len - n);
    rb->len -= n;
}

static int reserve(reply_buf *rb, size_t extra)
{
    if (rb->oom)
        return -1;
    if (rb->cap - rb->len >= extra)
        return 0;
    size_t need = rb->len + extra;
    if (need < rb->len) {
        rb->oom = 1;
        return -1;
    }
    size_t cap = rb->cap ? rb->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *b = realloc(rb->buf, cap);
    if (!b) {
        rb->oom = 1;
        return -1;
    }
    rb->buf = b;
    rb->cap = cap;
    return 0;
}

void reply_raw(reply_buf *rb, const void *p, size_t n)
{
    if (n == 0 || reserve(rb, n) < 0)
        return;
    memcpy(rb->buf + rb->len, p, n);
    rb->len += n;
}

/* Append s with CR and LF replaced by spaces (a status or error is one line). */
static void raw_line(reply_buf *rb, const char *s, size_t n)
{
    if (reserve(rb, n) < 0)
        return;
    char *d = rb->buf + rb->len;
    for (size_t i = 0; i < n; i++)
        d[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    rb->len += n;
}

void reply_status(reply_buf *rb, const char *s)
{
    reply_raw(rb, "+", 1);
    raw_line(rb, s, strlen(s));
    reply_raw(rb, "\r\n", 2);
}

void reply_error(reply_buf *rb, const char *word, const char *msg)
{
    reply_raw(rb, "-", 1);
    raw_line(rb, word, strlen(word));
    if (msg && *msg) {
        reply_raw(rb, " ", 1);
        raw_line(rb, msg, strlen(msg));
    }
    reply_raw(rb, "\r\n", 2);
}

void reply_errorf(reply_buf *rb, const char *word, const char *fmt, ...)
{
    char msg[SEGDB_ERR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_error(rb, word, msg);
}

void reply_engine_error(reply_buf *rb, int code, const char *msg)
{
    const char *word = segdb_err_word(code);
    reply_error(rb, word ? word : "ERR", msg && *msg ? msg : "internal error");
}

void reply_int(reply_buf *rb, long long v)
{
    char b[32];
    int n = snprintf(b, sizeof(b), ":%lld\r\n", v);
    reply_raw(rb, b, (size_t)n);
}

void reply_bulk(reply_buf *rb, const void *p, size_t n)
{
    char b[32];
    int h = snprintf(b, sizeof(b), "$%zu\r\n", n);
    if (reserve(rb, (size_t)h + n + 2) < 0)
        return;
    reply_raw(rb, b, (size_t)h);
    reply_raw(rb, p, n);
    reply_raw(rb, "\r\n", 2);
}

void reply_bulk_cstr(reply_buf *rb, const char *s)
{
    if (!s)
        reply_nil(rb);
    else
        reply_bulk(rb, s, strlen(s));
}

void reply_bulk_u64(reply_buf *rb, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%" PRIu64, v);
    reply_bulk(rb, b, (size_t)n);
}

void reply_bulk_fmt(reply_buf *rb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        reply_bulk(rb, "", 0);
        return;
    }
    if ((size_t)n < sizeof(small)) {
        reply_bulk(rb, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        rb->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    reply_bulk(rb, big, (size_t)n);
    free(big);
}

void reply_nil(reply_buf *rb) { reply_raw(rb, "$-1\r\n", 5); }

void reply_array(reply_buf *rb, size_t n)
{
    char b[32];
    int h = snprintf(b, sizeof(b), "*%zu\r\n", n);
    reply_raw(rb, b, (size_t)h);
}

/*
 * cli_buf.c — the growable byte buffer of cli_buf.h.
 */
#include "cli_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_buf_init(cli_buf *b) { memset(b, 0, sizeof(*b)); }

void cli_buf_free(cli_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void cli_buf_reset(cli_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->p)
        b->p[0] = '\0';
}

/* Room for extra bytes plus the trailing NUL. */
static int reserve(cli_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (extra > SIZE_MAX - b->len - 1) {
        b->oom = true;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int cli_buf_add(cli_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int cli_buf_addstr(cli_buf *b, const char *s) { return cli_buf_add(b, s, strlen(s)); }

int cli_buf_addc(cli_buf *b, char c) { return cli_buf_add(b, &c, 1); }

int cli_buf_addf(cli_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return -1;
    }
    if ((size_t)n < sizeof small)
        return cli_buf_add(b, small, (size_t)n);
    if (reserve(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int cli_buf_repeat(cli_buf *b, char c, size_t n)
{
    if (reserve(b, n) < 0)
        return -1;
    memset(b->p + b->len, c, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

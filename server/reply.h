/*
 * reply.h — RESP2 reply builder: a growable byte buffer that command handlers
 * append replies to (simple strings, errors, integers, bulks, nil, arrays).
 *
 * The server writes a client's reply_buf to its socket in the before-sleep
 * phase; the CLI's --embedded mode renders the same bytes as a remote reply
 * would be rendered. Handlers never write to sockets themselves.
 *
 * Out of memory never aborts: the buffer sets `oom` and drops further
 * appends; the owner then treats the client as broken (the server closes it).
 */
#ifndef SEGDB_REPLY_H
#define SEGDB_REPLY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct reply_buf {
    char *buf;   /* bytes [0, len) are RESP replies not yet consumed */
    size_t len;
    size_t cap;
    int oom;     /* set when an append could not allocate; the rest was dropped */
} reply_buf;

void reply_init(reply_buf *rb);          /* empty buffer, no allocation */
void reply_free(reply_buf *rb);          /* frees the bytes; rb may be reused after reply_init */
void reply_reset(reply_buf *rb);         /* len = 0, keeps the allocation */
/* Drop the first n bytes (already written to a socket). */
void reply_consume(reply_buf *rb, size_t n);

/* Raw RESP bytes (the caller guarantees they are well formed). */
void reply_raw(reply_buf *rb, const void *p, size_t n);
/* "+s\r\n"; CR and LF in s are replaced by spaces. */
void reply_status(reply_buf *rb, const char *s);
/* "-WORD msg\r\n"; word is "ERR", "LIMIT", "NOAUTH"...; CR/LF in msg become spaces. */
void reply_error(reply_buf *rb, const char *word, const char *msg);
void reply_errorf(reply_buf *rb, const char *word, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "-<segdb_err_word(code)> msg\r\n" for an engine error code. */
void reply_engine_error(reply_buf *rb, int code, const char *msg);
void reply_int(reply_buf *rb, long long v);            /* ":v\r\n" */
void reply_bulk(reply_buf *rb, const void *p, size_t n); /* "$n\r\n<bytes>\r\n" */
void reply_bulk_cstr(reply_buf *rb, const char *s);    /* nil when s is NULL */
void reply_bulk_u64(reply_buf *rb, uint64_t v);        /* ids: a decimal bulk */
void reply_bulk_fmt(reply_buf *rb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_nil(reply_buf *rb);                         /* "$-1\r\n" */
void reply_array(reply_buf *rb, size_t n);             /* "*n\r\n"; n elements must follow */

#endif /* SEGDB_REPLY_H */

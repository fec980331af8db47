/*
 * cli_buf.h — a growable byte buffer for segdb-cli: requests being encoded,
 * replies being rendered. Always NUL-terminated after its bytes once
 * anything was appended, so a rendered reply can be printed with fputs.
 *
 * Out of memory never aborts: the buffer sets `oom`, drops that append and
 * every later one, and the owner reports "out of memory" once.
 */
#ifndef SEGDB_CLI_BUF_H
#define SEGDB_CLI_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cli_buf {
    char *p;     /* bytes [0, len), then a NUL; NULL until the first append */
    size_t len;
    size_t cap;
    bool oom;    /* an append could not allocate: the contents are incomplete */
} cli_buf;

void cli_buf_init(cli_buf *b);              /* empty, no allocation */
void cli_buf_free(cli_buf *b);              /* frees the bytes; b may be reused after cli_buf_init */
void cli_buf_reset(cli_buf *b);             /* len = 0 and oom cleared; keeps the allocation */

/* Appends; each returns 0, or -1 (and sets oom) when memory runs out. */
int cli_buf_add(cli_buf *b, const void *p, size_t n);
int cli_buf_addstr(cli_buf *b, const char *s);
int cli_buf_addc(cli_buf *b, char c);
int cli_buf_addf(cli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_buf_repeat(cli_buf *b, char c, size_t n);   /* n copies of c (padding) */

#endif /* SEGDB_CLI_BUF_H */

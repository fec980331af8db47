/*
 * resp.h — incremental request parser for RESP2 multibulk (`*N` / `$L`
 * arrays) and the inline form (one text line split like redis-cli), plus the
 * inline splitter on its own for the CLI and the config file.
 *
 * The parser is fed bytes as they arrive (any split, one byte at a time is
 * fine) and copies arguments into its own arena, so the caller keeps no
 * query buffer. It stops after each complete command so replies go out in
 * request order (pipelining).
 *
 * Limits (SPEC section 6), all checked BEFORE allocating for a declared size:
 *   - one bulk or one inline line: max_bulk_bytes (SEGDB_MAX_REQUEST_BYTES)
 *   - arguments in one command: max_args (SEGDB_MAX_ARGS)
 *   - while `unauth` is set (a password is configured and the client has not
 *     authenticated), the whole request may not make the parser hold more
 *     than unauth_bytes (SEGDB_MAX_UNAUTH_BUFFER_BYTES): `*`/`$` headers that
 *     declare more are refused at once (Redis CVE-2021-32675).
 *
 * Errors and what the connection does after them:
 *   RESP_ELIMIT  "-LIMIT <msg>", then close (the stream can't be resynchronized)
 *   RESP_EPROTO  "-ERR Protocol error: <msg>", then close (as Redis does)
 *   RESP_EQUOTES "-ERR Protocol error: unbalanced quotes in request"; the bad
 *                inline line is consumed and the connection keeps working
 * Empty inline lines and `*0` / `*-1` arrays are skipped silently.
 *
 * Inline splitting (resp_split_line) follows redis-cli's sdssplitargs: words
 * split on whitespace; an argument that STARTS with a double quote takes the
 * escapes \" \\ \n \r \t \b \a \xHH; one that starts with a single quote takes
 * \'; a closing quote must be followed by whitespace or the end of the line.
 * One deliberate difference: a quote in the MIDDLE of a word (city:"ha noi")
 * is kept with its content, spaces included, as part of the word, so an
 * inline `COUNT WHERE city:"ha noi"` hands the filter the quotes it needs
 * (sdssplitargs would strip them and break the value in two).
 */
#ifndef SEGDB_RESP_H
#define SEGDB_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    RESP_MORE = 0,     /* every byte given was consumed; no complete command yet */
    RESP_CMD = 1,      /* a command is ready in argc/argv/argvlen */
    RESP_EPROTO = -1,  /* malformed stream; msg in errmsg; close after replying */
    RESP_ELIMIT = -2,  /* past a limit; msg in errmsg; close after replying */
    RESP_EQUOTES = -3, /* inline line with unbalanced quotes; keep going */
    RESP_ENOMEM = -4,  /* out of memory; close */
};

#define RESP_ERRMSG_BYTES 256

typedef struct resp_parser {
    /* limits; set by resp_parser_init, the owner may change them between feeds */
    size_t max_bulk_bytes;
    size_t max_args;
    size_t unauth_bytes;
    bool unauth;            /* apply unauth_bytes to the request being read */

    /* the command, valid after RESP_CMD until the next resp_feed/resp_parser_free */
    int argc;
    char **argv;            /* argv[i] is NUL-terminated (and may hold NULs within) */
    size_t *argvlen;

    char errmsg[RESP_ERRMSG_BYTES]; /* for RESP_E*: the text after the code word */

    /* internal state */
    int state;
    long long mb_left;      /* bulks still expected in the current array */
    long long bulk_len;     /* length of the bulk being read */
    size_t bulk_got;        /* bytes of it read so far (+ CRLF progress) */
    char *arena;            /* argument bytes, each followed by a NUL */
    size_t arena_len, arena_cap;
    size_t *off;            /* offsets of the arguments in the arena */
    size_t argcap;
    char *line;             /* header or inline line being accumulated */
    size_t line_len, line_cap;
    size_t req_bytes;       /* bytes held for the current request (unauth limit) */
    bool done_pending;      /* last feed returned RESP_CMD: reset before the next */
} resp_parser;

/* Zeroes p and sets the default limits from segdb_limits.h. */
void resp_parser_init(resp_parser *p);
void resp_parser_free(resp_parser *p);     /* frees buffers; p may be re-inited */

/* Consume bytes of data[0..len) up to the end of one command or an error;
 * *used = bytes consumed (on RESP_MORE always len). Returns RESP_MORE,
 * RESP_CMD or a RESP_E* code. After RESP_EPROTO/RESP_ELIMIT/RESP_ENOMEM the
 * parser must not be fed again (the connection is closed). */
int resp_feed(resp_parser *p, const char *data, size_t len, size_t *used);

/* Bytes the parser holds for a partial request (qbuf in CLIENT LIST). */
size_t resp_pending_bytes(const resp_parser *p);

/* Release buffers grown past small sizes by an earlier large request
 * (called when a client goes idle, so one 64 MiB request isn't kept). */
void resp_parser_shrink(resp_parser *p);

/* Split one inline line (no CR/LF needed; any trailing CR/LF is whitespace)
 * as described above. On success returns 0 and sets *argv_out (malloc'd
 * array of malloc'd NUL-terminated strings, free with resp_free_args),
 * *argvlen_out and *argc_out (0 for a blank line). Returns RESP_EQUOTES for
 * unbalanced quotes, RESP_ELIMIT when more than max_args words, RESP_ENOMEM. */
int resp_split_line(const char *line, size_t len, size_t max_args, char ***argv_out,
                    size_t **argvlen_out, int *argc_out);
void resp_free_args(char **argv, size_t *argvlen, int argc);

#endif /* SEGDB_RESP_H */

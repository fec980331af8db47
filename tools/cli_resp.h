/*
 * cli_resp.h — segdb-cli's side of RESP2: a command encoded as an array of
 * bulk strings, and an incremental reader of replies (simple strings,
 * errors, integers, bulk strings, nil, arrays nested to any depth up to
 * CLI_RESP_MAX_DEPTH) that a bad server can't crash or make it hoard memory.
 *
 * The reader is fed bytes as they arrive, split anywhere (one byte at a time
 * is fine), and hands out one whole reply at a time. It never allocates for a
 * size a server merely declares: a bulk is stored once its bytes are there
 * and array slots grow with the elements received, and every reply is
 * bounded by max_reply_bytes counted over the bytes it takes on the wire.
 * Past that bound, or on any malformed byte, the reader fails for good (the
 * stream can't be resynchronized) and the caller drops the connection.
 */
#ifndef SEGDB_CLI_RESP_H
#define SEGDB_CLI_RESP_H

#include <stdbool.h>
#include <stddef.h>

#include "cli_buf.h"

/* The server's output limit per client (SEGDB_MAX_OUTPUT_BUFFER_BYTES) makes
 * larger replies impossible from segdb-server: a default bound of the same. */
#define CLI_RESP_DEFAULT_MAX_REPLY_BYTES (256u * 1024 * 1024)
#define CLI_RESP_MAX_DEPTH 32       /* arrays inside arrays; segdb nests 3 at most */
#define CLI_RESP_ERRMSG_BYTES 160

typedef enum cli_vtype {
    CLI_V_STATUS = 1,   /* +text */
    CLI_V_ERROR,        /* -WORD text */
    CLI_V_INT,          /* :n */
    CLI_V_BULK,         /* $n bytes */
    CLI_V_NIL,          /* $-1 or *-1 */
    CLI_V_ARRAY,        /* *n elements */
} cli_vtype;

typedef struct cli_value {
    cli_vtype type;
    long long integer;          /* CLI_V_INT */
    char *str;                  /* STATUS, ERROR, BULK: len bytes then a NUL (bulks may hold NULs) */
    size_t len;
    struct cli_value **elem;    /* ARRAY: n elements */
    size_t n;
} cli_value;

/* Frees v and everything in it; cli_value_free(NULL) is a no-op. */
void cli_value_free(cli_value *v);

/* Reader results */
enum {
    CLI_RESP_MORE = 0,      /* no whole reply yet: feed more bytes */
    CLI_RESP_REPLY = 1,     /* *out holds a reply, owned by the caller */
    CLI_RESP_EPROTO = -1,   /* malformed reply; message in errmsg */
    CLI_RESP_ELIMIT = -2,   /* reply over max_reply_bytes or too deeply nested */
    CLI_RESP_ENOMEM = -3,
};

typedef struct cli_reader_frame {
    cli_value *arr;             /* the array being filled */
    size_t want;                /* elements it declared */
    size_t cap;                 /* slots allocated in arr->elem */
} cli_reader_frame;

typedef struct cli_reader {
    size_t max_reply_bytes;     /* set by cli_reader_init; may be changed between replies */
    char errmsg[CLI_RESP_ERRMSG_BYTES];

    /* internal state */
    char *buf;                  /* received bytes; [pos, len) not yet parsed */
    size_t len, pos, cap;
    size_t scan;                /* where the search for the current line's CR resumes */
    size_t used;                /* bytes of the current reply parsed so far */
    cli_reader_frame stack[CLI_RESP_MAX_DEPTH];
    int depth;
    int failed;                 /* the first error, returned again by every later call */
} cli_reader;

void cli_reader_init(cli_reader *r);
void cli_reader_free(cli_reader *r);   /* frees buffers and any partial reply; r may be re-inited */

/* Append received bytes. 0, or CLI_RESP_ELIMIT when the current reply would
 * go past max_reply_bytes, or CLI_RESP_ENOMEM; errors are sticky. */
int cli_reader_feed(cli_reader *r, const char *data, size_t len);

/* Parse what has been fed: CLI_RESP_REPLY with *out set (one reply; call
 * again for a following one), CLI_RESP_MORE, or a CLI_RESP_E* code with a
 * message in errmsg (sticky: the reader is then unusable). */
int cli_reader_get(cli_reader *r, cli_value **out);

/* Bytes fed but not yet handed out as replies (0 between whole replies). */
size_t cli_reader_pending(const cli_reader *r);

/* Append a command as a RESP2 array of bulk strings. 0, or -1 on ENOMEM. */
int cli_resp_encode(cli_buf *out, int argc, const char *const *argv, const size_t *argvlen);

#endif /* SEGDB_CLI_RESP_H */

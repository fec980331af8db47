/*
 * slowlog.h — the SLOWLOG of segdb-server: the most recent commands that ran
 * longer than a threshold, newest first, as Redis keeps them (id, unix time,
 * duration in microseconds, arguments, client address, client name).
 * Arguments are clipped like Redis: at most 32 kept (the last one says how
 * many more there were), each at most 128 bytes (then "... (N more bytes)").
 */
#ifndef SEGDB_SLOWLOG_H
#define SEGDB_SLOWLOG_H

#include <stddef.h>
#include <stdint.h>

#include "reply.h"

#define SLOWLOG_MAX_ARGS 32
#define SLOWLOG_MAX_ARG_BYTES 128

typedef struct slowlog_entry {
    uint64_t id;
    int64_t time;          /* unix seconds */
    int64_t duration_us;
    int argc;
    char **argv;
    size_t *argvlen;
    char *addr, *name;
    struct slowlog_entry *next;  /* older */
} slowlog_entry;

typedef struct slowlog {
    slowlog_entry *head;   /* newest */
    size_t len;
    uint64_t next_id;
} slowlog;

void slowlog_init(slowlog *sl);
void slowlog_free(slowlog *sl);          /* frees the entries */
void slowlog_reset(slowlog *sl);         /* drops the entries, keeps next_id */

/* Record one command (copies what it keeps) and trim to max_len entries.
 * Out of memory drops the entry silently: the log is best-effort. */
void slowlog_push(slowlog *sl, size_t max_len, int argc, const char **argv, const size_t *argvlen,
                  int64_t duration_us, const char *addr, const char *name);

/* SLOWLOG GET reply: the newest min(count, len) entries; count < 0 = all. */
void slowlog_reply(const slowlog *sl, long long count, reply_buf *out);

#endif /* SEGDB_SLOWLOG_H */

/*
 * commands.h — the command table and dispatcher of segdb-server, usable with
 * or without a network.
 *
 * The server's event loop calls cmd_dispatch() for each parsed request; the
 * CLI's --embedded mode does the same with no sockets at all:
 *
 *     server_config cfg; config_init(&cfg);
 *     segdb_options o; config_engine_options(&cfg, &o);
 *     segdb_t *db = segdb_open(&o);
 *     server_ctx *srv = server_ctx_create(db, &cfg);    // no sockets
 *     client_ctx *c = client_create(srv, -1, "embedded");
 *     reply_buf out; reply_init(&out);
 *     int r = cmd_dispatch(srv, c, argc, argv, argvlen, &out);
 *     ... render out.buf[0..out.len) like a remote reply; reply_reset(&out) ...
 *     if (r == CMD_CLOSE || r == CMD_SHUTDOWN) stop;
 *     reply_free(&out); client_free(c); server_ctx_free(srv); segdb_close(db);
 *
 * Handlers only append RESP replies to `out`; they never touch sockets. One
 * command = one row of the table in commands.c.
 */
#ifndef SEGDB_COMMANDS_H
#define SEGDB_COMMANDS_H

#include <stddef.h>

#include "config.h"
#include "reply.h"
#include "segdb.h"

typedef struct server_ctx server_ctx;   /* defined in server.h */
typedef struct client_ctx client_ctx;   /* defined in server.h */

/* flags of a command */
enum {
    CMD_F_READ = 1 << 0,    /* reads contacts */
    CMD_F_WRITE = 1 << 1,   /* changes contacts (refused with -READONLY while the log is failing) */
    CMD_F_ADMIN = 1 << 2,   /* server administration */
    CMD_F_NOAUTH = 1 << 3,  /* allowed before AUTH */
    CMD_F_NOSLOWLOG = 1 << 4, /* never recorded in SLOWLOG (carries a password) */
};

/* cmd_dispatch() results: what the connection does after the reply */
enum {
    CMD_DONE = 0,
    CMD_CLOSE = 1,     /* close after the reply is written (QUIT) */
    CMD_SHUTDOWN = 2,  /* the server shuts down (SHUTDOWN); no reply */
};

typedef int cmd_handler(server_ctx *srv, client_ctx *c, int argc, const char **argv,
                        const size_t *argvlen, reply_buf *out);

typedef struct cmd_def {
    const char *name;      /* upper case, as typed: "FIELD.CREATE" */
    int arity;             /* Redis convention: N = exactly N words incl. the name, -N = at least N */
    unsigned flags;        /* CMD_F_* */
    cmd_handler *handler;  /* returns CMD_DONE / CMD_CLOSE / CMD_SHUTDOWN */
    const char *args;      /* argument synopsis for help and hints, "" when none */
    const char *summary;   /* one line */
    const char *group;     /* help topic: "contacts", "fields", "connection", "server" */
} cmd_def;

/* Create the command context around an open engine. db is borrowed (not
 * closed by server_ctx_free); cfg is copied (NULL = defaults). No sockets are
 * opened. NULL on ENOMEM. */
server_ctx *server_ctx_create(segdb_t *db, const server_config *cfg);
void server_ctx_free(server_ctx *srv);    /* server_ctx_free(NULL) is a no-op */

/* A client of srv. fd = -1 for an embedded client (no socket); addr is shown
 * by CLIENT LIST ("embedded", "127.0.0.1:5000"). The client starts
 * authenticated when no password is configured. NULL on ENOMEM. */
client_ctx *client_create(server_ctx *srv, int fd, const char *addr);
/* Unlink from srv, close the socket if any, free. client_free(NULL) is a no-op. */
void client_free(client_ctx *c);

/* Run one command: argv[0] is the name (any case); argv[i] are argvlen[i]
 * bytes and NUL-terminated at argvlen[i]. The reply (or error) is appended to
 * out. Checks, in order: unknown command, authentication, arity, READONLY
 * (write commands while the server's readonly_reason is set); then counts
 * the call in INFO commandstats and SLOWLOG. Returns CMD_DONE, CMD_CLOSE or
 * CMD_SHUTDOWN. argc == 0 appends nothing. */
int cmd_dispatch(server_ctx *srv, client_ctx *c, int argc, const char **argv,
                 const size_t *argvlen, reply_buf *out);

/* The table, for help, completion and COMMAND. */
size_t cmd_table_size(void);
const cmd_def *cmd_table_get(size_t i);
const cmd_def *cmd_lookup(const char *name, size_t len);  /* case-insensitive; NULL if none */

/* Argument helpers for handlers outside commands.c (cmd_campaign.c...). Each
 * failing one has appended its -ERR reply to out. */
/* A contact id (SPEC 7): decimal 1..2^64-1, no sign, no hex. 0 or -1. */
int cmd_parse_id(const char *s, size_t len, uint64_t *id, reply_buf *out);
/* -1 when s holds a NUL byte ("<what> contains a NUL byte"), else 0. */
int cmd_no_nul(const char *s, size_t len, const char *what, reply_buf *out);
/* argv[from..argc) joined by single spaces (a WHERE filter), malloc'd; NULL
 * when there are none ("empty filter after WHERE"), on a NUL byte, or ENOMEM. */
char *cmd_join_filter(int argc, const char **argv, const size_t *argvlen, int from, reply_buf *out);
/* s for an error message: at most 64 bytes, control bytes as '?'; returns buf. */
const char *cmd_shown(const char *s, size_t len, char *buf, size_t cap);

#endif /* SEGDB_COMMANDS_H */

/*
 * server.h — segdb-server's state: the server context (engine handle,
 * configuration, statistics, slowlog, listener, clients) and the client
 * context, plus the network side (listen, accept, read, write).
 *
 * Design rule: command handlers only append replies to a client's output
 * buffer. Sockets are written in the event loop's before-sleep phase, right
 * AFTER the durability flush hook has run, so no reply leaves the process
 * before the log holds the writes it acknowledges. A client whose write
 * stays incomplete gets EPOLLOUT interest until its buffer drains.
 *
 * The durability layer plugs in through the hooks below (NULL = none).
 * A write whose log flush fails is not acknowledged: the server remembers
 * where each write command's reply starts and ends in the client's output
 * buffer (while the command appended to the log, durability_mark changed),
 * and when durability_flush fails it replaces those replies with
 * -READONLY errors before anything is written (see docs/storage.md).
 */
#ifndef SEGDB_SERVER_H
#define SEGDB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ae.h"
#include "commands.h"
#include "config.h"
#include "reply.h"
#include "resp.h"
#include "segdb.h"
#include "slowlog.h"

#define SEGDB_VERSION "0.1.0"

/* client flags */
enum {
    CLIENT_CLOSE_AFTER_REPLY = 1 << 0, /* QUIT, protocol error: close once the output is written */
    CLIENT_CLOSE_ASAP = 1 << 1,        /* broken or over its output limit: close now */
    CLIENT_PENDING_WRITE = 1 << 2,     /* on the server's pending-write list */
    CLIENT_EMBEDDED = 1 << 3,          /* no socket */
};

/* Replies of write commands awaiting the log flush: bytes [start, end) of the
 * client's output buffer hold `replies` consecutive replies. */
typedef struct write_span {
    size_t start, end;
    uint32_t replies;
} write_span;

struct client_ctx {
    uint64_t id;
    int fd;                      /* -1 for an embedded client */
    char addr[64];               /* "ip:port" */
    char *name;                  /* CLIENT SETNAME, NULL = none */
    bool authed;
    unsigned flags;
    int64_t ctime_ms, last_ms;   /* creation, last command (monotonic ms) */
    const char *lastcmd;         /* table name of the last command, lower case in CLIENT LIST */
    resp_parser parser;
    reply_buf out;               /* replies not yet written */
    size_t out_pos;              /* bytes of out already written */
    server_ctx *srv;
    client_ctx *prev, *next;     /* all clients */
    client_ctx *wprev, *wnext;   /* pending-write list */
    write_span *wspans;          /* write replies since the last durability flush */
    size_t nwspans, capwspans;
};

typedef struct cmd_stat {
    uint64_t calls;
    uint64_t usec;
} cmd_stat;

#define OPS_SAMPLES 16

struct server_ctx {
    segdb_t *db;                 /* borrowed */
    server_config cfg;
    int64_t start_ms;            /* monotonic */
    /* While server_process_input runs a client's pipelined commands, each
     * command's start time is the previous one's end time (one clock read per
     * command); 0 = read the clock. */
    int64_t chain_clock_us;
    bool in_input;
    int64_t start_unix;
    char executable[4096];

    /* network (unused by embedded contexts) */
    ae_loop *loop;
    int listen_fd;
    int signal_fd;
    bool shutdown_asap;
    client_ctx *clients;         /* all clients, newest first */
    size_t nclients;
    client_ctx *pending;         /* clients with replies to write */
    uint64_t next_client_id;

    /* statistics */
    uint64_t total_connections;
    uint64_t total_commands;
    uint64_t rejected_connections;
    uint64_t ops_samples[OPS_SAMPLES];
    int ops_idx;
    uint64_t ops_last_commands;
    int64_t ops_last_ms;
    cmd_stat *cmdstats;          /* one per command table row */
    slowlog slow;

    /* ---- hooks for the durability layer (NULL = none) ---- */

    /* Called in before-sleep, before any reply is written. Return 0 when
     * every write since the last call is as durable as appendfsync demands;
     * on failure (<0) the replies of those writes are replaced by
     * "-READONLY <readonly_reason>..." (they are not acknowledged) and the
     * layer sets readonly_reason; other replies are written either way. */
    int (*durability_flush)(server_ctx *srv, void *ctx);
    void *durability_ctx;
    /* Non-NULL: write commands (CMD_F_WRITE) are refused with "-READONLY
     * <this text>" before reaching the engine; reads go on. Owned by the
     * durability layer, which sets it when the log fails and clears it. */
    const char *readonly_reason;
    /* Adds "name:value\r\n" lines to INFO's # Persistence section. */
    void (*info_persistence)(server_ctx *srv, void *ctx, reply_buf *text);
    /* A counter of records appended to the log: a command during which it
     * changes wrote, and its reply waits for durability_flush's verdict. */
    uint64_t (*durability_mark)(server_ctx *srv, void *ctx);
    /* Called from the server's cron (every 100 ms): snapshots, retries. */
    void (*durability_cron)(server_ctx *srv, void *ctx);
};

/* Open the listener (refusing a non-loopback bind without a password
 * unless protected-mode is off), the event loop and the signal fd for
 * SIGTERM/SIGINT. 0, or a negative code with a message in err. */
int server_listen(server_ctx *srv, segdb_err *err);

/* Run the event loop until SHUTDOWN or a signal; then flush, close the
 * listener and every client. Returns 0. */
int server_run(server_ctx *srv);

/* The read path without the socket: parse buf and run every complete
 * request of c, appending replies (what the readable handler does). */
void server_process_input(client_ctx *c, const char *buf, size_t len);

/* The before-sleep phase: durability flush, settle write replies, write
 * pending replies to their sockets. Needs srv->loop. */
void server_before_sleep(server_ctx *srv);

/* One line on stderr in the server's log format ("pid:M date * msg"). */
void server_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Append "name:value\r\n" to an INFO text buffer. */
void info_line(reply_buf *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resident set size in bytes, from /proc/self/statm (0 when unreadable). */
uint64_t server_rss_bytes(void);

#endif /* SEGDB_SERVER_H */

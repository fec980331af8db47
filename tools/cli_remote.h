/*
 * cli_remote.h — segdb-cli's backend for a segdb-server over TCP: one
 * connection, one command at a time as a RESP2 array of bulk strings,
 * replies read with cli_resp's bounded reader.
 *
 * Robustness: SIGPIPE is never raised (MSG_NOSIGNAL); connect gives up after
 * connect_timeout_ms; with timeout_ms set, a reply that stalls (no byte for
 * that long) drops the connection; a malformed or oversized reply drops it
 * too (CLI_CALL_EPROTO). A dropped connection leaves `connected` false and
 * the next connect() starts afresh.
 */
#ifndef SEGDB_CLI_REMOTE_H
#define SEGDB_CLI_REMOTE_H

#include <stddef.h>

#include "cli_backend.h"

typedef struct cli_remote_opts {
    const char *host;          /* name or address (IPv4/IPv6) */
    int port;
    const char *password;      /* AUTH after each connect; NULL = none */
    int connect_timeout_ms;    /* 0 = the default (5 s) */
    int timeout_ms;            /* longest wait for a reply byte; 0 = forever */
    size_t max_reply_bytes;    /* 0 = CLI_RESP_DEFAULT_MAX_REPLY_BYTES */
} cli_remote_opts;

/* A backend for host:port, not connected yet (call ->connect). Strings are
 * copied. NULL on ENOMEM. Free with cli_backend_free. */
cli_backend *cli_remote_create(const cli_remote_opts *o);

#endif /* SEGDB_CLI_REMOTE_H */

/*
 * cli_backend.h — what segdb-cli talks to: a segdb-server over TCP
 * (cli_remote.c) or an engine in the same process (cli_embedded.c). Both
 * take a command as argv and give back the reply as a cli_value, so the
 * interactive loop, the one-shot and stdin modes, and later subcommands
 * (import/export) are written once against this interface.
 */
#ifndef SEGDB_CLI_BACKEND_H
#define SEGDB_CLI_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "cli_complete.h"
#include "cli_resp.h"

#define CLI_ERR_BYTES 512
#define CLI_LABEL_BYTES 1100

/* cli_backend call results */
enum {
    CLI_CALL_OK = 0,        /* *reply is set (it may be an error reply) */
    CLI_CALL_EIO = -1,      /* no reply: the connection failed or was lost; err says why */
    CLI_CALL_EPROTO = -2,   /* no reply: the server sent a malformed or oversized reply; dropped */
    CLI_CALL_ENDED = -3,    /* no reply, as expected: SHUTDOWN ended the session */
    CLI_CALL_ENOMEM = -4,
    CLI_CALL_EAUTH = -5,    /* connect: connected, but the server refused the password */
};

typedef struct cli_backend cli_backend;

struct cli_backend {
    /* "127.0.0.1:7311" or "embedded:DIR": the prompt and messages */
    char label[CLI_LABEL_BYTES];
    /* Remote: a connection is open. Embedded: always true. */
    bool connected;
    /* Set once QUIT or SHUTDOWN ended the session: no further calls. */
    bool ended;

    /* Send argv (argvlen[i] bytes each; NUL-terminated at argvlen[i]) and
     * wait for the reply. CLI_CALL_OK with *reply owned by the caller, or a
     * CLI_CALL_E* code with a message in err. */
    int (*call)(cli_backend *b, int argc, const char *const *argv, const size_t *argvlen,
                cli_value **reply, char *err, size_t errcap);
    /* (Re)open the connection, authenticating when a password was given;
     * a no-op for the embedded engine. 0, CLI_CALL_EIO (not connected) or
     * CLI_CALL_EAUTH (connected, AUTH refused), with a message in err. */
    int (*connect)(cli_backend *b, char *err, size_t errcap);
    /* Command names for completion (any case). 0 or -1. */
    int (*command_names)(cli_backend *b, cli_words *out);
    /* Close and free: 0, or -1 with a message in err when closing lost
     * something (the embedded log's last flush or sync failed). */
    int (*destroy)(cli_backend *b, char *err, size_t errcap);
};

/* Convenience: one call with C-string arguments (no NUL bytes inside). */
int cli_backend_callv(cli_backend *b, cli_value **reply, char *err, size_t errcap, int argc,
                      const char *const *argv);

/* The field names of FIELD.LIST (its name, kind pairs), appended to out.
 * 0, or -1 when the call failed or the reply is not such a list. */
int cli_backend_field_names(cli_backend *b, cli_words *out);

/* b->destroy; NULL is a no-op returning 0. */
int cli_backend_free(cli_backend *b, char *err, size_t errcap);

#endif /* SEGDB_CLI_BACKEND_H */

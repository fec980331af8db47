/*
 * cli_embedded.h — segdb-cli's backend for `--embedded DIR`: the engine in
 * this process, driven through the server's own command dispatcher
 * (server/commands.h) with no sockets, so every command and every reply is
 * exactly what segdb-server would give. Replies are read back from the
 * dispatcher's RESP bytes with cli_resp's reader and rendered like remote
 * ones.
 *
 * DIR is a data directory exactly as segdb-server --dir uses it, opened the
 * way server/main.c opens one: an exclusive lock on DIR/LOCK (so a server
 * and an embedded CLI never share a directory), recovery (newest valid
 * snapshot + log replay, storage/recovery.h; damage that would lose
 * acknowledged writes is refused, as by the server without --repair), the
 * write-ahead log opened for appending (storage/durability.h) and the
 * server's durability hooks attached (server/cmd_persist.h), so SAVE,
 * BGSAVE, LASTSAVE and INFO persistence work. After each command the log is
 * flushed before the reply is shown (the server's group commit, one command
 * per group); a write the log could not take is shown as -READONLY, as the
 * server would reply. Closing flushes and syncs the log.
 */
#ifndef SEGDB_CLI_EMBEDDED_H
#define SEGDB_CLI_EMBEDDED_H

#include <stdbool.h>

#include "cli_backend.h"

/* Open (creating it if missing, mode 0700) and recover DIR. What recovery
 * and the log have to say goes to stderr; quiet keeps only what recovery
 * cut, skipped or refused. NULL with a message in err on failure: DIR not a
 * directory or in use, recovery refused, I/O errors. Free with
 * cli_backend_free (flushes, syncs, unlocks). */
cli_backend *cli_embedded_create(const char *dir, bool quiet, char *err, size_t errcap);

#endif /* SEGDB_CLI_EMBEDDED_H */

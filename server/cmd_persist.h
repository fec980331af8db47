/*
 * cmd_persist.h — segdb-server's side of durability: plugs a dur_t
 * (storage/durability.h) into the server's hooks (group-commit flush before
 * replies, read-only mode, cron, INFO # Persistence) and implements SAVE,
 * BGSAVE and LASTSAVE. Without persist_attach (the CLI's --embedded mode)
 * those commands answer that persistence is off.
 */
#ifndef SEGDB_CMD_PERSIST_H
#define SEGDB_CMD_PERSIST_H

#include "commands.h"
#include "durability.h"

/* Install d's hooks on srv (d is borrowed and must outlive srv's loop). */
void persist_attach(server_ctx *srv, dur_t *d);

/* The dur_t attached to srv, or NULL. */
dur_t *persist_of(const server_ctx *srv);

/* SAVE: a snapshot now, blocking; +OK or -ERR with the reason. */
int cmd_save(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
             reply_buf *out);
/* BGSAVE: +Background saving started, or -ERR (one already runs, fork failed). */
int cmd_bgsave(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
               reply_buf *out);
/* LASTSAVE: unix time of the last successful snapshot (the start time before any). */
int cmd_lastsave(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
                 reply_buf *out);

#endif /* SEGDB_CMD_PERSIST_H */

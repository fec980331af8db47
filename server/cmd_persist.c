/*
 * cmd_persist.c — durability hooks of the server and the SAVE, BGSAVE and
 * LASTSAVE commands (cmd_persist.h).
 *
 * The flush hook runs dur_flush once per event-loop iteration, before any
 * reply is written (server.c's before-sleep); its result decides whether the
 * iteration's write replies go out or are replaced by -READONLY errors, and
 * it mirrors dur_readonly_reason into srv->readonly_reason, which makes
 * write commands answer -READONLY before reaching the engine.
 */
#include "cmd_persist.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

static int flush_hook(server_ctx *srv, void *ctx)
{
    segdb_err e = {0};
    int rc = dur_flush(ctx, &e);
    srv->readonly_reason = dur_readonly_reason(ctx);
    return rc;
}

static uint64_t mark_hook(server_ctx *srv, void *ctx)
{
    (void)srv;
    return dur_appended(ctx);
}

static void cron_hook(server_ctx *srv, void *ctx)
{
    dur_cron(ctx);
    srv->readonly_reason = dur_readonly_reason(ctx);
}

static void info_hook(server_ctx *srv, void *ctx, reply_buf *t)
{
    (void)srv;
    dur_stats st;
    dur_get_stats(ctx, &st);
    info_line(t, "appendfsync:%s", wal_fsync_mode_name(st.fsync_mode));
    info_line(t, "aof_enabled:1");
    info_line(t, "wal_bytes:%" PRIu64, st.wal.bytes_written);
    info_line(t, "wal_records:%" PRIu64, st.wal.records);
    info_line(t, "wal_flushes:%" PRIu64, st.wal.flushes);
    info_line(t, "wal_fsyncs:%" PRIu64, st.wal.fsyncs);
    info_line(t, "wal_write_errors:%" PRIu64, st.wal.write_errors);
    info_line(t, "wal_fsync_errors:%" PRIu64, st.wal.fsync_errors);
    info_line(t, "wal_truncated_bytes:%" PRIu64, st.wal.truncated_bytes);
    info_line(t, "wal_segments:%" PRIu64, st.wal.segments);
    info_line(t, "wal_last_seq:%" PRIu64, st.wal.last_seq);
    info_line(t, "wal_durable_seq:%" PRIu64, st.wal.durable_seq);
    info_line(t, "wal_pending_bytes:%" PRIu64, st.wal.pending_bytes);
    info_line(t, "last_save_seq:%" PRIu64, st.last_save_seq);
    info_line(t, "last_save_time:%" PRId64, st.last_save_time);
    info_line(t, "last_save_bytes:%" PRIu64, st.last_save_bytes);
    info_line(t, "last_save_ms:%" PRIu64, st.last_save_ms);
    info_line(t, "saves:%" PRIu64, st.saves);
    info_line(t, "bgsave_in_progress:%d", st.bgsave_in_progress ? 1 : 0);
    info_line(t, "last_bgsave_status:%s", st.last_bgsave_ok ? "ok" : "err");
    info_line(t, "latest_fork_usec:%" PRIu64, st.latest_fork_usec);
    info_line(t, "last_bgsave_error:%s", st.last_bgsave_error);
    info_line(t, "rdb_changes_since_last_save:%" PRIu64, st.changes_since_save);
    info_line(t, "log_bytes_since_last_save:%" PRIu64, st.log_bytes_since_save);
    info_line(t, "readonly:%d", st.readonly ? 1 : 0);
    info_line(t, "readonly_reason:%s", st.readonly_reason);
}

void persist_attach(server_ctx *srv, dur_t *d)
{
    srv->durability_flush = flush_hook;
    srv->durability_mark = mark_hook;
    srv->durability_cron = cron_hook;
    srv->info_persistence = info_hook;
    srv->durability_ctx = d;
    srv->readonly_reason = dur_readonly_reason(d);
}

dur_t *persist_of(const server_ctx *srv)
{
    return srv && srv->durability_flush == flush_hook ? srv->durability_ctx : NULL;
}

static const char *const NO_PERSISTENCE = "persistence is off: this server has no data directory";

int cmd_save(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
             reply_buf *out)
{
    dur_t *d = persist_of(srv);
    if (!d) {
        reply_error(out, "ERR", NO_PERSISTENCE);
        return CMD_DONE;
    }
    segdb_err e = {0};
    int rc = dur_save(d, NULL, &e);
    if (rc == SEGDB_EEXIST)
        reply_error(out, "ERR", "Background save already in progress");
    else if (rc)
        reply_errorf(out, "ERR", "SAVE failed: %s", e.msg);
    else
        reply_status(out, "OK");
    return CMD_DONE;
}

int cmd_bgsave(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
               reply_buf *out)
{
    dur_t *d = persist_of(srv);
    if (!d) {
        reply_error(out, "ERR", NO_PERSISTENCE);
        return CMD_DONE;
    }
    segdb_err e = {0};
    int rc = dur_bgsave(d, &e);
    if (rc == SEGDB_EEXIST)
        reply_error(out, "ERR", "Background save already in progress");
    else if (rc)
        reply_errorf(out, "ERR", "BGSAVE failed: %s", e.msg);
    else
        reply_status(out, "Background saving started");
    return CMD_DONE;
}

int cmd_lastsave(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
                 reply_buf *out)
{
    dur_t *d = persist_of(srv);
    if (!d) {
        reply_error(out, "ERR", NO_PERSISTENCE);
        return CMD_DONE;
    }
    dur_stats st;
    dur_get_stats(d, &st);
    reply_int(out, (long long)st.last_save_time);
    return CMD_DONE;
}

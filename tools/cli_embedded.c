/*
 * cli_embedded.c — the in-process backend of segdb-cli (see
 * cli_embedded.h): lock + recovery_run + dur_open + server_ctx_create +
 * persist_attach + client_create, then cmd_dispatch per command, as
 * server/main.c and the top comment of server/commands.h describe.
 */
#include "cli_embedded.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_persist.h"
#include "commands.h"
#include "config.h"
#include "durability.h"
#include "recovery.h"
#include "reply.h"
#include "segdb.h"
#include "server.h"

/* The server's cron runs every 100 ms; here it runs after a command when that
 * much time has passed (snapshots due, read-only retries). */
#define CRON_EVERY_MS 100

typedef struct embedded {
    cli_backend base;
    server_config cfg;
    bool cfg_ok;
    int lock_fd;
    segdb_t *db;
    dur_t *dur;
    server_ctx *srv;
    client_ctx *client;
    reply_buf out;
    cli_reader rd;
    int64_t last_cron_ms;
    bool quiet;
    cli_buf said;          /* what recovery said, shown once we know whether it matters */
} embedded;

static int64_t emb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Recovery's lines are kept until its result shows whether they matter. */
static void say_recovery(void *ctx, const char *line)
{
    embedded *e = ctx;
    cli_buf_addf(&e->said, "segdb-cli: recovery: %s\n", line);
}

/* The durability layer's lines (log failed, snapshot written...), unless quiet. */
static void say_durability(void *ctx, const char *line)
{
    embedded *e = ctx;
    if (!e->quiet)
        fprintf(stderr, "segdb-cli: %s\n", line);
}

static wal_fsync_mode fsync_mode(int appendfsync)
{
    switch (appendfsync) {
    case APPENDFSYNC_ALWAYS: return WAL_FSYNC_ALWAYS;
    case APPENDFSYNC_NO: return WAL_FSYNC_NO;
    default: return WAL_FSYNC_EVERYSEC;
    }
}

/* Run one command as the server's read path + before-sleep phase would:
 * dispatch, then the durability flush; a write the flush could not make
 * durable gets the server's -READONLY reply instead of its own. */
static int dispatch(embedded *e, int argc, const char *const *argv, const size_t *argvlen)
{
    server_ctx *srv = e->srv;
    uint64_t mark = srv->durability_mark ? srv->durability_mark(srv, srv->durability_ctx) : 0;
    int r = cmd_dispatch(srv, e->client, argc, (const char **)argv, argvlen, &e->out);
    int fr = srv->durability_flush ? srv->durability_flush(srv, srv->durability_ctx) : 0;
    if (fr < 0 && srv->durability_mark && srv->durability_mark(srv, srv->durability_ctx) != mark) {
        reply_reset(&e->out);
        reply_errorf(&e->out, "READONLY",
                     "%s. This write was applied in memory but is NOT acknowledged: it is logged when "
                     "the log works again, or lost if segdb-cli exits before",
                     srv->readonly_reason ? srv->readonly_reason : "the write-ahead log failed");
    }
    int64_t now = emb_now_ms();
    if (srv->durability_cron && now - e->last_cron_ms >= CRON_EVERY_MS) {
        srv->durability_cron(srv, srv->durability_ctx);
        e->last_cron_ms = now;
    }
    return r;
}

static int e_call(cli_backend *b, int argc, const char *const *argv, const size_t *argvlen,
                  cli_value **reply, char *err, size_t errcap)
{
    embedded *e = (embedded *)b;
    *reply = NULL;
    if (b->ended) {
        snprintf(err, errcap, "the session has ended");
        return CLI_CALL_EIO;
    }
    reply_reset(&e->out);
    int r = dispatch(e, argc, argv, argvlen);
    if (r == CMD_SHUTDOWN) {
        b->ended = true;
        return CLI_CALL_ENDED;
    }
    if (e->out.oom) {
        snprintf(err, errcap, "out of memory building the reply");
        return CLI_CALL_ENOMEM;
    }
    if (e->out.len == 0) {
        /* argc 0 is the only case with no reply */
        snprintf(err, errcap, "no reply");
        return CLI_CALL_EPROTO;
    }
    int rc = CLI_CALL_OK;
    if (cli_reader_feed(&e->rd, e->out.buf, e->out.len) < 0 || cli_reader_get(&e->rd, reply) != CLI_RESP_REPLY ||
        cli_reader_pending(&e->rd) != 0) {
        snprintf(err, errcap, "unreadable reply from the command: %s",
                 e->rd.errmsg[0] ? e->rd.errmsg : "incomplete or more than one reply");
        cli_value_free(*reply);
        *reply = NULL;
        rc = e->rd.failed == CLI_RESP_ENOMEM ? CLI_CALL_ENOMEM : CLI_CALL_EPROTO;
        /* a fresh reader for the next command */
        cli_reader_free(&e->rd);
        cli_reader_init(&e->rd);
        e->rd.max_reply_bytes = SIZE_MAX;
    }
    reply_reset(&e->out);
    if (rc == CLI_CALL_OK && r == CMD_CLOSE)
        b->ended = true;
    return rc;
}

static int e_connect(cli_backend *b, char *err, size_t errcap) { return 0; }

static int e_command_names(cli_backend *b, cli_words *out)
{
    for (size_t i = 0; i < cmd_table_size(); i++) {
        const cmd_def *d = cmd_table_get(i);
        if (d && cli_words_add(out, d->name, strlen(d->name)) < 0)
            return -1;
    }
    return 0;
}

static int e_destroy(cli_backend *b, char *err, size_t errcap)
{
    embedded *e = (embedded *)b;
    int rc = 0;
    client_free(e->client);
    server_ctx_free(e->srv);
    if (e->dur) {
        segdb_err serr = {0};
        if (dur_close(e->dur, &serr) < 0) {
            snprintf(err, errcap, "closing the write-ahead log: %s", serr.msg);
            rc = -1;
        }
    }
    segdb_close(e->db);
    if (e->cfg_ok)
        config_free(&e->cfg);
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    reply_free(&e->out);
    cli_reader_free(&e->rd);
    cli_buf_free(&e->said);
    free(e);
    return rc;
}

/* As segdb-server does: one process per data directory, by an exclusive
 * flock on DIR/LOCK held until the backend is freed. */
static int lock_dir(embedded *e, const char *dir, char *err, size_t errcap)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errcap, "--embedded '%s' is not a directory", dir);
            return -1;
        }
    } else if (errno != ENOENT || mkdir(dir, 0700) < 0) {
        snprintf(err, errcap, "can't use --embedded '%s': %s", dir, strerror(errno));
        return -1;
    }
    char path[4096];
    if (snprintf(path, sizeof path, "%s/LOCK", dir) >= (int)sizeof path) {
        snprintf(err, errcap, "--embedded '%.100s...' is too long", dir);
        return -1;
    }
    e->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (e->lock_fd < 0) {
        snprintf(err, errcap, "can't open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(e->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errcap, "%s: %s", path,
                 errno == EWOULDBLOCK ? "the directory is in use by a segdb-server or another segdb-cli "
                                        "--embedded (use segdb-cli -p PORT to talk to that server)"
                                      : strerror(errno));
        return -1;
    }
    return 0;
}

cli_backend *cli_embedded_create(const char *dir, bool quiet, char *err, size_t errcap)
{
    if (!dir || !*dir) {
        snprintf(err, errcap, "--embedded needs a data directory");
        return NULL;
    }
    embedded *e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    e->lock_fd = -1;
    e->quiet = quiet;
    cli_buf_init(&e->said);
    reply_init(&e->out);
    cli_reader_init(&e->rd);
    /* the dispatcher's replies are already in memory: no need to bound them again */
    e->rd.max_reply_bytes = SIZE_MAX;
    e->base.call = e_call;
    e->base.connect = e_connect;
    e->base.command_names = e_command_names;
    e->base.destroy = e_destroy;
    e->base.connected = true;
    e->last_cron_ms = emb_now_ms();
    snprintf(e->base.label, sizeof e->base.label, "embedded:%.1024s", dir);
    segdb_err serr = {0};
    if (config_init(&e->cfg) < 0) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    e->cfg_ok = true;
    if (config_set(&e->cfg, "dir", dir, &serr) < 0) {
        snprintf(err, errcap, "%s", serr.msg);
        goto fail;
    }
    if (lock_dir(e, dir, err, errcap) < 0)
        goto fail;

    segdb_options o;
    config_engine_options(&e->cfg, &o);
    recovery_options ro = {.dir = dir, .engine = &o, .repair = false, .say = say_recovery, .say_ctx = e};
    recovery_result res;
    memset(&res, 0, sizeof res);
    int rr = recovery_run(&ro, &e->db, &res, &serr);
    bool notable = rr < 0 || res.scan.status != WAL_SCAN_CLEAN || res.snapshots_skipped || res.tmp_removed ||
                   res.lost_records || res.truncated_bytes;
    if ((notable || !quiet) && e->said.len)
        fputs(e->said.p, stderr);
    cli_buf_free(&e->said);
    if (rr < 0) {
        snprintf(err, errcap, "can't open %s: %s", dir, serr.msg);
        goto fail;
    }
    dur_options dopt;
    dur_options_init(&dopt);
    dopt.dir = dir;
    dopt.fsync_mode = fsync_mode(e->cfg.appendfsync);
    dopt.segment_max_bytes = e->cfg.wal_segment_bytes;
    dopt.snapshot_log_bytes = e->cfg.snapshot_log_bytes;
    dopt.snapshot_changes = e->cfg.snapshot_changes;
    dopt.snapshot_keep = (unsigned)e->cfg.snapshot_keep;
    dopt.last_save_seq = res.snapshot_seq;
    dopt.recovered_truncated_bytes = res.truncated_bytes;
    dopt.say = say_durability;
    dopt.say_ctx = e;
    if (dur_open(e->db, &dopt, &e->dur, &serr) < 0) {
        snprintf(err, errcap, "can't open the write-ahead log of %s: %s", dir, serr.msg);
        goto fail;
    }
    e->srv = server_ctx_create(e->db, &e->cfg);
    e->client = e->srv ? client_create(e->srv, -1, "embedded") : NULL;
    if (!e->client) {
        snprintf(err, errcap, "out of memory opening the engine");
        goto fail;
    }
    persist_attach(e->srv, e->dur);
    return &e->base;
fail: {
    char ignored[CLI_ERR_BYTES];
    e_destroy(&e->base, ignored, sizeof ignored);
    return NULL;
}
}

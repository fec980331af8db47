/*
 * durability.h — the glue between a running database, its write-ahead log
 * and its snapshots: what the server calls, with no sockets in it.
 *
 *   - dur_open() opens the log after recovery (recovery.h) and installs the
 *     engine's log hook: every write the engine makes is appended to the log
 *     (wal_append) before it is applied; a write the log refuses is refused.
 *   - dur_flush() is the group commit: once per event-loop iteration, before
 *     any reply is sent, it writes (and in `always` mode fsyncs) what the
 *     iteration appended. When it fails the database turns read-only:
 *     dur_readonly_reason() says why; the log keeps the records of the failed
 *     flush queued and each later dur_flush (at most every retry_ms) retries;
 *     the first that succeeds makes them durable and writes resume.
 *   - dur_save() writes a snapshot in the calling thread (SAVE);
 *     dur_bgsave() forks and writes it from the child (BGSAVE), copy-on-write,
 *     and dur_cron() reaps the child, then drops the log segments the new
 *     snapshot covers and the snapshots past snapshot_keep; dur_cron() also
 *     starts a BGSAVE when the log grew past snapshot_log_bytes or
 *     snapshot_changes records since the last snapshot.
 *
 * Before a BGSAVE forks, the log is flushed, so the child's snapshot holds no
 * record the log has not been handed (a snapshot never gets ahead of the log
 * it replaces). The child dies with its parent (PR_SET_PDEATHSIG), so a
 * killed server leaves at most a .tmp file, which recovery deletes.
 *
 * Errors: 0 or a negative SEGDB_E* code with a message in err (may be NULL).
 * One thread uses a dur_t (the log's everysec thread is its own business).
 */
#ifndef SEGDB_DURABILITY_H
#define SEGDB_DURABILITY_H

#include <stdbool.h>
#include <stdint.h>

#include "segdb.h"
#include "snapshot.h"
#include "vfs.h"
#include "wal.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DUR_DEFAULT_SNAPSHOT_LOG_BYTES (256ull * 1024 * 1024)
#define DUR_DEFAULT_SNAPSHOT_CHANGES 1000000ull
#define DUR_DEFAULT_RETRY_MS 100u          /* read-only: retry the log this often */
#define DUR_BGSAVE_RETRY_MS 5000u          /* an automatic BGSAVE after a failed one waits this long */
#define DUR_REASON_BYTES 1200

/* Receives each line the layer has to say (log failed, recovered, BGSAVE done...). */
typedef void (*dur_say_fn)(void *ctx, const char *line);

typedef struct dur_options {
    const char *dir;                  /* data directory (recovery ran on it) */
    vfs *v;                           /* NULL = vfs_posix(); BGSAVE's child uses it after
                                         fork(), so it must not depend on other threads */
    wal_fsync_mode fsync_mode;
    uint64_t segment_max_bytes;       /* log segment size (0 = WAL_DEFAULT_SEGMENT_MAX_BYTES) */
    bool everysec_thread;             /* everysec: the log's own fsync thread (else dur_cron ticks) */
    uint64_t snapshot_log_bytes;      /* automatic BGSAVE past this much log (0 = never) */
    uint64_t snapshot_changes;        /* ... or past this many records (0 = never) */
    unsigned snapshot_keep;           /* snapshots kept (0 = SNAPSHOT_DEFAULT_KEEP) */
    unsigned retry_ms;                /* 0 = DUR_DEFAULT_RETRY_MS */
    uint64_t last_save_seq;           /* the snapshot recovery loaded (0: none) */
    uint64_t recovered_truncated_bytes; /* recovery_result.truncated_bytes, for INFO */
    dur_say_fn say;                   /* NULL = stderr */
    void *say_ctx;
} dur_options;

/* Defaults: everysec with its thread, DUR_DEFAULT_* thresholds, keep 2. */
void dur_options_init(dur_options *o);

typedef struct dur dur_t;

/* Opens the log of o->dir for appending after db's last record (wal_open
 * with start_seq = seq + 1) and sets db's log hook. db must outlive the
 * dur_t. *out owned by the caller (dur_close). */
int dur_open(segdb_t *db, const dur_options *o, dur_t **out, segdb_err *err);

/* Stops a running BGSAVE (its .tmp file is deleted), flushes and syncs the
 * log, removes the log hook and frees d. Returns the flush's error (records it
 * could not write were never acknowledged). NULL is a no-op. */
int dur_close(dur_t *d, segdb_err *err);

/* Group commit: write and (per mode) sync what was appended since the last
 * flush. 0: every appended record is as durable as the mode promises (and the
 * database is writable). SEGDB_EREADONLY: the log failed; the records appended
 * since the last good flush are not acknowledged (they stay queued and are
 * written by the first later flush that succeeds); the database is read-only
 * until then. While read-only a call retries at most every retry_ms (others
 * return SEGDB_EREADONLY at once: nothing new can have been appended). */
int dur_flush(dur_t *d, segdb_err *err);

/* NULL while writes are accepted, else why they are not (valid until the next
 * dur_* call). */
const char *dur_readonly_reason(const dur_t *d);

/* Records appended to the log since dur_open: a command that changed it wrote. */
uint64_t dur_appended(const dur_t *d);

/* SAVE: flush the log, write a snapshot now (blocking), then drop what it
 * replaces. SEGDB_EEXIST while a BGSAVE runs. info may be NULL. */
int dur_save(dur_t *d, snapshot_info *info, segdb_err *err);

/* BGSAVE: flush the log, fork, write the snapshot in the child. Returns at
 * once; dur_cron() (or dur_bgsave_wait) completes it. SEGDB_EEXIST while one
 * runs; SEGDB_ENOMEM when fork fails. */
int dur_bgsave(dur_t *d, segdb_err *err);

/* Periodic work (call it every ~100 ms): reap a finished BGSAVE and drop the
 * log and snapshots it replaced, start an automatic one when due, tick the
 * everysec sync when the log has no thread of its own. */
void dur_cron(dur_t *d);

/* Blocks until a running BGSAVE ends and completes it as dur_cron would.
 * 0 when it succeeded (or none ran), else its error. */
int dur_bgsave_wait(dur_t *d, segdb_err *err);

typedef struct dur_stats {
    wal_stats wal;
    wal_fsync_mode fsync_mode;
    uint64_t seq;                     /* last record appended (the engine's seq) */
    uint64_t last_save_seq;           /* newest complete snapshot (0: none) */
    int64_t last_save_time;           /* unix seconds of the last successful save (or of the start) */
    uint64_t last_save_bytes;         /* its file size (0: none this run) */
    uint64_t last_save_ms;            /* how long writing it took */
    uint64_t saves;                   /* snapshots written this run */
    bool bgsave_in_progress;
    uint64_t bgsave_seq;              /* the running one's seq */
    uint64_t latest_fork_usec;        /* how long the last BGSAVE's fork() blocked the caller */
    bool last_bgsave_ok;              /* true until a BGSAVE fails */
    char last_bgsave_error[SEGDB_ERR_MSG_BYTES];
    uint64_t changes_since_save;      /* records since the newest snapshot */
    uint64_t log_bytes_since_save;    /* log bytes since the newest snapshot (approximate) */
    bool readonly;
    char readonly_reason[DUR_REASON_BYTES];
} dur_stats;

void dur_get_stats(dur_t *d, dur_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* SEGDB_DURABILITY_H */

/*
 * recovery.h — start-up: rebuild the database from a data directory.
 *
 * recovery_run() = the newest valid snapshot (its checksum verified before
 * the stream is parsed) + every later log record replayed through
 * segdb_apply_record, the code that applied it the first time. Then the
 * caller opens the log for writing (wal_open with start_seq = res.seq + 1 and
 * recovered_truncated_bytes = res.truncated_bytes).
 *
 * What it does with damage (each case is said through opts.say, one line
 * each, naming files and offsets):
 *   - snapshot-*.sdb.tmp files (a snapshot a crash interrupted): deleted.
 *   - a torn or corrupt log tail: cut (file, offset, bytes dropped).
 *   - damage in the middle of the log (valid records follow it): refused,
 *     SEGDB_EINVAL naming file and offset; with opts.repair cut there, the
 *     records lost said.
 *   - a corrupt newest snapshot: the previous valid one is used when the log
 *     covers every record from it up to the corrupt one's seq (nothing is
 *     lost); otherwise refused, unless opts.repair (then the older state is
 *     used and the log that no longer fits is dropped, the loss said). A
 *     snapshot skipped this way is renamed snapshot-<seq>.sdb.corrupt (kept
 *     for inspection, never read again).
 *   - a log record the engine refuses to apply: refused naming its seq, file
 *     and offset; with opts.repair the replay stops there and the log is cut
 *     before that record.
 * Without repair nothing is changed on disk except a torn tail cut, .tmp
 * files deleted and skipped snapshots renamed (when the fallback loses nothing).
 *
 * Errors: SEGDB_EINVAL (damage refused, message fit for a user: what, where,
 * what --repair would do), SEGDB_EREADONLY (I/O failure), SEGDB_ENOMEM.
 */
#ifndef SEGDB_RECOVERY_H
#define SEGDB_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "segdb.h"
#include "snapshot.h"
#include "vfs.h"
#include "wal.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Receives each line recovery has to say (no trailing newline). */
typedef void (*recovery_say_fn)(void *ctx, const char *line);

typedef struct recovery_options {
    const char *dir;              /* the data directory (created when missing) */
    vfs *v;                       /* NULL = vfs_posix() */
    const segdb_options *engine;  /* options of the rebuilt database (NULL = defaults);
                                     its log hook is kept but never called by replay */
    bool repair;                  /* accept losing data to start (see above) */
    recovery_say_fn say;          /* NULL = print to stderr */
    void *say_ctx;
} recovery_options;

typedef struct recovery_result {
    uint64_t snapshot_seq;        /* seq of the snapshot loaded (0 with none) */
    bool from_snapshot;           /* false: started from an empty database */
    char snapshot_path[SNAPSHOT_PATH_BYTES];
    uint64_t snapshots_skipped;   /* corrupt snapshots passed over */
    uint64_t tmp_removed;         /* stale .tmp files deleted */
    uint64_t replayed;            /* log records applied */
    uint64_t seq;                 /* the database's seq after recovery */
    wal_scan_result scan;         /* the log scan (status, cut...) */
    uint64_t truncated_bytes;     /* log bytes cut, for wal_options.recovered_truncated_bytes */
    uint64_t lost_records;        /* valid records dropped by a repair (0 without) */
    uint64_t apply_failed_seq;    /* a record the engine refused (0: none) */
} recovery_result;

/* Rebuilds the database of opts->dir into *out (owned by the caller). res may
 * be NULL. On failure *out is NULL and err says why. */
int recovery_run(const recovery_options *opts, segdb_t **out, recovery_result *res,
                 segdb_err *err);

/* Where the log record seq is: the segment's path and the offset of its
 * frame. SEGDB_ENOTFOUND when no segment holds it. Walks
 * frame lengths only (no checksums): call it on a log wal_scan accepted up
 * to that record. */
int recovery_find_record(const char *dir, vfs *v, uint64_t seq, char path[WAL_PATH_BYTES],
                         uint64_t *offset, segdb_err *err);

/* Cuts the log so that its last record is seq - 1: truncates the segment
 * holding seq at that record's frame and deletes later segments. *dropped_bytes
 * (may be NULL) = bytes removed. */
int recovery_cut_log_at(const char *dir, vfs *v, uint64_t seq, uint64_t *dropped_bytes,
                        segdb_err *err);

#ifdef __cplusplus
}
#endif
#endif /* SEGDB_RECOVERY_H */

/*
 * wal.h — segdb's write-ahead log: framed, LZ4-compressed, XXH64-checksummed
 * records in numbered segment files. The byte format is at the top of wal.c
 * and, for users, in docs/storage.md.
 *
 * Records are opaque byte strings (the engine's serialized mutations, see
 * segdb_log_fn / segdb_apply_record in segdb.h) numbered by a sequence number
 * that increases by exactly 1 from record to record, within and across
 * segments. A data directory holds segments named wal-<seq>.log, <seq> being
 * the first record's seq in 20 zero-padded decimal digits, so names sort in
 * log order.
 *
 * Start-up, in this order:
 *   1. wal_scan(dir, from_seq = the snapshot's seq, apply...): replays records
 *      after from_seq, cuts a torn tail, refuses (or with WAL_SCAN_REPAIR cuts)
 *      damage that valid records follow;
 *   2. wal_open(dir, opts with start_seq = engine seq + 1): appends after the
 *      last record. wal_open never replays and refuses a log whose last segment
 *      does not end cleanly (step 1 was skipped).
 *
 * Writing (group commit): wal_append() each record of an event-loop iteration
 * (buffered, nothing written), then one wal_flush() (one write call; in
 * `always` mode an fdatasync too) before replying to any of those clients. A
 * record is acknowledged when the wal_flush after its wal_append returns 0.
 *
 * Errors: 0 or a negative SEGDB_E* code with a message in err (err may be NULL):
 *   SEGDB_EREADONLY  a write, fsync or other I/O failed (strerror in the
 *                    message). The log keeps every appended record in memory,
 *                    refuses new appends until a wal_flush succeeds, and a later
 *                    wal_flush retries (rewriting what the disk may have lost).
 *   SEGDB_EINVAL     corrupt or foreign files, wrong sequence, bad arguments.
 *   SEGDB_ELIMIT     a record over WAL_MAX_RECORD_BYTES.
 *   SEGDB_ENOMEM     out of memory.
 *
 * Threads: one thread calls the wal_* functions of a wal_t; in everysec mode a
 * background thread of its own fsyncs (see wal_options.everysec_thread).
 */
#ifndef SEGDB_WAL_H
#define SEGDB_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segdb.h"
#include "vfs.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WAL_FORMAT_VERSION 1u
#define WAL_FILE_HEADER_BYTES 32u
#define WAL_FRAME_HEADER_BYTES 25u
#define WAL_MAX_RECORD_BYTES (1u << 30)                       /* uncompressed body */
#define WAL_DEFAULT_SEGMENT_MAX_BYTES (64ull * 1024 * 1024)
#define WAL_PATH_BYTES 4096
#define WAL_SEGMENT_NAME_BYTES 29                             /* "wal-" 20 digits ".log" NUL */

/* "wal-00000000000000000042.log" for seq 42 into out[WAL_SEGMENT_NAME_BYTES]. */
void wal_segment_name(uint64_t first_seq, char out[WAL_SEGMENT_NAME_BYTES]);

/* True when name is exactly a segment name; *first_seq gets its seq.
 * Sequence numbers run from 1 to UINT64_MAX - 1: other names are not segments. */
bool wal_parse_segment_name(const char *name, uint64_t *first_seq);

/* ---- scanning (recovery) -------------------------------------------------- */

/* Called with each good record with seq > from_seq, in order. body is valid
 * only during the call. Return 0 to go on; a negative SEGDB_E* code (with err
 * filled) stops the scan, and wal_scan returns that code. */
typedef int (*wal_record_fn)(void *ctx, uint64_t seq, const void *body, size_t len,
                             segdb_err *err);

enum {
    WAL_SCAN_REPAIR = 1,  /* cut middle damage too, dropping the valid records after it */
    WAL_SCAN_DRY_RUN = 2, /* change no file; report what would be cut */
};

typedef enum wal_scan_status {
    WAL_SCAN_CLEAN = 0,   /* every segment ends on a whole good record */
    WAL_SCAN_TAIL_CUT,    /* a torn/corrupt tail was cut (or would be, in a dry run) */
    WAL_SCAN_DAMAGED,     /* damage followed by valid records: refused (SEGDB_EINVAL) */
    WAL_SCAN_REPAIRED,    /* such damage was cut because WAL_SCAN_REPAIR was given */
} wal_scan_status;

typedef struct wal_scan_result {
    wal_scan_status status;
    uint64_t segments;          /* segment files found */
    uint64_t records;           /* good records read, kept (whatever their seq) */
    uint64_t delivered;         /* of which passed to the callback (seq > from_seq) */
    uint64_t first_seq;         /* seq of the first good record (0: none) */
    uint64_t last_seq;          /* seq of the last good record kept (0: none) */
    uint64_t next_seq;          /* the seq the log expects next (0: no segment at all) */
    /* When status != CLEAN: where the damage starts, which is where the log is
     * (or would be) cut, and what the cut loses. */
    char file[WAL_PATH_BYTES];  /* the damaged segment's path */
    uint64_t offset;            /* byte offset of the damage in that file */
    char reason[128];           /* "bad checksum", "truncated frame", "sequence gap"... */
    uint64_t dropped_bytes;     /* bytes after the cut, later segments included */
    uint64_t dropped_records;   /* valid records among them (torn tails: 0) */
    uint64_t removed_segments;  /* whole segment files deleted by the cut */
} wal_scan_result;

/* Reads every segment of dir in seq order, verifies each record (framing,
 * checksum, seq = previous + 1) and calls fn(ctx, ...) for those with
 * seq > from_seq (fn may be NULL: verify only). Damage is
 *   - a torn/corrupt tail when nothing valid follows it in the last segment:
 *     the file is cut at the damage (a segment left without a whole header is
 *     deleted), status WAL_SCAN_TAIL_CUT, returns 0;
 *   - middle damage when a later valid record follows it, or it is in a
 *     segment that is not the last: without WAL_SCAN_REPAIR returns
 *     SEGDB_EINVAL naming the file and offset (status WAL_SCAN_DAMAGED, the
 *     result says what a repair would drop); with it the log is cut there,
 *     later segments are deleted, status WAL_SCAN_REPAIRED, returns 0.
 * A log that starts after from_seq + 1 (records missing) is SEGDB_EINVAL
 * (with WAL_SCAN_REPAIR: everything is dropped, as the cut is at the start).
 * A segment of another format version is SEGDB_EINVAL and never cut. fn may
 * already have seen the records before damage when wal_scan fails. res may
 * be NULL. An empty or missing dir is a clean, empty log. */
int wal_scan(const char *dir, vfs *v, uint64_t from_seq, wal_record_fn fn, void *ctx,
             int flags, wal_scan_result *res, segdb_err *err);

/* ---- writing -------------------------------------------------------------- */

typedef enum wal_fsync_mode {
    WAL_FSYNC_EVERYSEC = 0, /* write at each flush, fdatasync once a second (and in the
                               flush that leaves over 64 MiB unsynced) */
    WAL_FSYNC_ALWAYS,       /* fdatasync in every wal_flush before it returns */
    WAL_FSYNC_NO,           /* never fsync: the OS writes back when it likes */
} wal_fsync_mode;

/* "always", "everysec", "no" -> mode; -1 when s is none of them. */
int wal_fsync_mode_parse(const char *s);
const char *wal_fsync_mode_name(wal_fsync_mode m);

typedef struct wal_options {
    uint64_t segment_max_bytes;  /* rotate once a flush leaves the segment this big (0 = default) */
    wal_fsync_mode fsync_mode;
    /* The engine's seq + 1 after recovery: the seq of the next record. When
     * the log ends before it, its segments (all records before start_seq: a
     * snapshot covers them) are removed and a segment wal-<start_seq>.log is
     * started; when the log holds a record at or after it, wal_open fails with
     * SEGDB_EINVAL (replay first). 0: no expectation, continue after the log's
     * last record (an empty log starts at 1). */
    uint64_t start_seq;
    bool everysec_thread;        /* everysec: start the background fsync thread
                                    (else call wal_everysec_tick yourself) */
    uint64_t recovered_truncated_bytes; /* recovery's dropped_bytes, shown in stats */
} wal_options;

/* Defaults: 64 MiB segments, everysec with its thread, start_seq 1. */
void wal_options_init(wal_options *o);

typedef struct wal wal_t;

/* Opens the log in dir (created if missing) through v (NULL = vfs_posix()),
 * ready to append after its last record; v must outlive the log. *out is owned
 * by the caller, released by wal_close. Does not replay. */
int wal_open(const char *dir, vfs *v, const wal_options *opts, wal_t **out, segdb_err *err);

/* Queues one record; seq must be the log's next seq (SEGDB_EINVAL otherwise).
 * Nothing is written until wal_flush. SEGDB_EREADONLY while a failed flush has
 * not been retried successfully (the record is then not queued). */
int wal_append(wal_t *w, uint64_t seq, const void *body, size_t len, segdb_err *err);

/* Writes every queued record with one write call (fdatasync too in always
 * mode), then rotates when the segment reached segment_max_bytes. On 0 every
 * appended record is acknowledged. On SEGDB_EREADONLY nothing new is
 * acknowledged, the records stay queued and the next wal_flush retries; it
 * also reports (and retries) a failed background fsync. A rotation that fails
 * after the records were written does not fail the flush: the log turns
 * read-only (wal_append says why) until a later wal_flush creates the segment.
 * While the log is read-only, call wal_flush now and then to retry. */
int wal_flush(wal_t *w, segdb_err *err);

/* everysec without the thread: fdatasync if anything was written since the
 * last sync and a second has passed since the last one (force: now). The
 * thread calls the same code. */
int wal_everysec_tick(wal_t *w, bool force, segdb_err *err);

/* Deletes the segments whose records are all <= seq (after a snapshot at
 * seq). The current segment is never deleted. *removed may be NULL. */
int wal_remove_before(wal_t *w, uint64_t seq, uint64_t *removed, segdb_err *err);

typedef struct wal_stats {
    uint64_t bytes_written;      /* bytes written to segments since open */
    uint64_t records;            /* records appended since open */
    uint64_t flushes;            /* wal_flush calls that wrote */
    uint64_t fsyncs;             /* successful fdatasync/fsync of segments */
    uint64_t write_errors, fsync_errors;
    uint64_t segments;           /* segment files in the log */
    uint64_t segment_first_seq;  /* the current segment's name */
    uint64_t segment_bytes;      /* its size as written */
    uint64_t last_seq;           /* last appended record (0: none ever) */
    uint64_t durable_seq;        /* last record written by a successful flush */
    uint64_t pending_bytes;      /* appended, not yet written */
    uint64_t truncated_bytes;    /* wal_options.recovered_truncated_bytes */
    bool readonly;               /* a failure awaits a successful wal_flush */
    char last_error[1024];       /* its message ("" when none) */
} wal_stats;

void wal_get_stats(wal_t *w, wal_stats *st);

/* Flushes what is queued (with a final fdatasync unless mode no), stops the
 * thread and frees w, even when the flush fails (then returns its error: the
 * unflushed records are lost, none of them was acknowledged). NULL is a no-op. */
int wal_close(wal_t *w, segdb_err *err);

#ifdef __cplusplus
}
#endif
#endif /* SEGDB_WAL_H */

/*
 * snapshot.h — snapshot files: the whole engine state (segdb_save's stream)
 * wrapped in a header, a trailer with the stream's length and XXH64, written
 * to a temporary file, fsynced, renamed and the directory fsynced. The byte
 * format is at the top of snapshot.c and, for users, in docs/storage.md.
 *
 * A data directory holds snapshot-<seq>.sdb files, <seq> being the last log
 * record the snapshot contains, in 20 zero-padded decimal digits (names sort
 * in seq order, like the log's wal-<seq>.log). Only these exact names are
 * snapshots; snapshot-<seq>.sdb.tmp is one being written (or left by a crash)
 * and snapshot-<seq>.sdb.corrupt one that recovery set aside.
 *
 * Errors: 0 or a negative SEGDB_E* code with a message in err (may be NULL):
 *   SEGDB_EINVAL     a corrupt, truncated or foreign file (the message names
 *                    the file, the offset and what is wrong), bad arguments;
 *   SEGDB_EREADONLY  an I/O failure (open, read, write, fsync, rename...),
 *                    with strerror in the message;
 *   SEGDB_ENOMEM     out of memory.
 */
#ifndef SEGDB_SNAPSHOT_H
#define SEGDB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segdb.h"
#include "vfs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version 2 (stream "SEGDBST2") may hold 8-bit category codes; a build that
 * reads only version 1 would misread them, so it refuses the file instead.
 * This build writes 2 and reads 1 and 2. */
#define SNAPSHOT_FORMAT_VERSION 2u
#define SNAPSHOT_FORMAT_OLDEST 1u
#define SNAPSHOT_HEADER_BYTES 32u
#define SNAPSHOT_TRAILER_BYTES 40u
#define SNAPSHOT_NAME_BYTES 34        /* "snapshot-" 20 digits ".sdb" NUL */
#define SNAPSHOT_PATH_BYTES 4096
#define SNAPSHOT_DEFAULT_KEEP 2u      /* the newest and one older, for fallback */
#define SNAPSHOT_ANY_SEQ UINT64_MAX   /* snapshot_verify/load: no expected seq */

/* "snapshot-00000000000000000042.sdb" for seq 42. */
void snapshot_name(uint64_t seq, char out[SNAPSHOT_NAME_BYTES]);

/* True when name is exactly a snapshot name ("snapshot-" 20 digits ".sdb");
 * *seq gets its seq. suffix: also accept that suffix after ".sdb" instead
 * (".tmp", ".corrupt"); NULL = the plain name only. */
bool snapshot_parse_name(const char *name, const char *suffix, uint64_t *seq);

/* What a good snapshot holds. */
typedef struct snapshot_info {
    uint64_t seq;            /* last log record contained (header = trailer = stream) */
    uint64_t stream_bytes;   /* bytes of the engine stream */
    uint64_t file_bytes;     /* header + stream + trailer */
    uint64_t checksum;       /* XXH64 of the stream */
} snapshot_info;

/* Writes db's whole state to dir/snapshot-<seq>.sdb.tmp (seq = the engine's
 * last applied record), fsyncs it, renames it to snapshot-<seq>.sdb (replacing
 * a file of that name) and fsyncs dir. On failure the temporary file is
 * removed (best effort) and no snapshot file changed. Safe in a forked child.
 * v NULL = vfs_posix(). info may be NULL. */
int snapshot_write(const char *dir, vfs *v, segdb_t *db, snapshot_info *info, segdb_err *err);

/* Checks a snapshot file without parsing the stream: header (magic, version,
 * checksum), trailer (magic, checksum, length = file size, same seq) and the
 * XXH64 of the stream, read in full. The header must name want_seq (the
 * file name's seq), unless it is SNAPSHOT_ANY_SEQ. SEGDB_EINVAL names the offset. */
int snapshot_verify(const char *path, vfs *v, uint64_t want_seq, snapshot_info *info,
                    segdb_err *err);

/* Checks the header and trailer as snapshot_verify does, then builds a
 * database from the stream (segdb_load with opts, which may be NULL) in one
 * read of the file, hashing it on the way: a stream whose XXH64 differs is
 * refused as damaged (even if it parsed), and the stream must be consumed
 * exactly and its seq match the header. *out is owned by the caller
 * (segdb_close). */
int snapshot_load(const char *path, vfs *v, uint64_t want_seq, const segdb_options *opts,
                  segdb_t **out, snapshot_info *info, segdb_err *err);

/* The snapshot files of dir. seq[] ascending; tmp[] / corrupt[] are the seqs of
 * snapshot-<seq>.sdb.tmp / .sdb.corrupt files. A missing dir is empty. */
typedef struct snapshot_list {
    uint64_t *seq;
    size_t n;
    uint64_t *tmp;
    size_t ntmp;
    uint64_t *corrupt;
    size_t ncorrupt;
} snapshot_list;

int snapshot_list_dir(const char *dir, vfs *v, snapshot_list *out, segdb_err *err);
void snapshot_list_free(snapshot_list *l); /* frees the arrays, not l; NULL is a no-op */

/* Deletes all but the `keep` newest snapshots (keep >= 1; 0 counts as 1) and
 * fsyncs dir when it deleted any. *removed (may be NULL) = files deleted. */
int snapshot_prune(const char *dir, vfs *v, unsigned keep, uint64_t *removed, segdb_err *err);

/* Deletes every snapshot-<seq>.sdb.tmp of dir (left by a crash: never valid).
 * *removed may be NULL. */
int snapshot_remove_tmp(const char *dir, vfs *v, uint64_t *removed, segdb_err *err);

/* dir/name into out[SNAPSHOT_PATH_BYTES]; -1 when it does not fit. */
int snapshot_path(const char *dir, const char *name, char out[SNAPSHOT_PATH_BYTES]);

#ifdef __cplusplus
}
#endif
#endif /* SEGDB_SNAPSHOT_H */

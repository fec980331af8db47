/*
 * snapshot.c — snapshot files (snapshot.h): the engine's segdb_save stream
 * between a header and a trailer, written crash-safely, checked in full
 * before anything is parsed.
 *
 * FILES
 *
 * snapshot-<S>.sdb in the data directory, <S> = the seq of the last log record
 * the snapshot contains, as 20 zero-padded decimal digits. It is written as
 * snapshot-<S>.sdb.tmp (fdatasynced every 32 MiB on the way, so the disk
 * works while the state is serialized), fsynced, renamed, and the directory fsynced, so a
 * crash leaves either the old set of snapshots or the new one complete (plus
 * at most a .tmp file, which a start deletes). Recovery renames a snapshot
 * that fails its checks to snapshot-<S>.sdb.corrupt when it starts without it.
 *
 * All integers are little-endian. XXH64 is xxHash's 64-bit hash, seed 0.
 *
 * HEADER (32 bytes, at offset 0)
 *
 *   offset size  field
 *   0      8     magic       "SEGDBSNP" (ASCII, no NUL)
 *   8      4     version     u32, 2 (1 is still read: see snapshot.h)
 *   12     4     reserved    u32, 0
 *   16     8     seq         u64, <S>
 *   24     8     checksum    u64, XXH64 of bytes 0..23
 *
 * STREAM (n bytes, at offset 32): exactly what segdb_save() wrote (it starts
 * with "SEGDBST2", "SEGDBST1" in version 1, holds the seq again and ends with
 * "SEGDBEND"; its layout is at the top of engine/persist.h).
 *
 * TRAILER (40 bytes, at offset 32 + n, the last bytes of the file)
 *
 *   offset size  field
 *   0      8     magic       "SEGDBSNE"
 *   8      8     stream_len  u64, n
 *   16     8     stream_sum  u64, XXH64 of the n stream bytes (computed while
 *                            they were written, never re-read)
 *   24     8     seq         u64, <S> again
 *   32     8     checksum    u64, XXH64 of trailer bytes 0..31
 *
 * So a file is 72 + n bytes. A reader checks, before parsing anything: the
 * header, the trailer found at (file size - 40) with stream_len = file size -
 * 72 (a truncated or unfinished file has no trailer there), the same seq in
 * header, trailer and file name, then the XXH64 of the whole stream. Only then
 * does segdb_load parse the stream, which must end exactly at the trailer and
 * carry the same seq.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "snapshot.h"
#include "storage_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define SNAP_MAGIC "SEGDBSNP"
#define SNAP_END_MAGIC "SEGDBSNE"
#define SNAP_IO_BYTES (1u << 20)       /* read window; writes pass segdb_save's chunks through */
#define SNAP_SYNC_EVERY_BYTES (32u << 20) /* fdatasync while writing, as Redis's incremental fsync */
#define SNAP_MSG_PATH_CHARS 700        /* longest path quoted in a message */

void snapshot_name(uint64_t seq, char out[SNAPSHOT_NAME_BYTES])
{
    snprintf(out, SNAPSHOT_NAME_BYTES, "snapshot-%020" PRIu64 ".sdb", seq);
}

bool snapshot_parse_name(const char *name, const char *suffix, uint64_t *seq)
{
    size_t base = SNAPSHOT_NAME_BYTES - 1, sl = suffix ? strlen(suffix) : 0;
    if (strlen(name) != base + sl || memcmp(name, "snapshot-", 9) || memcmp(name + 29, ".sdb", 4))
        return false;
    if (sl && memcmp(name + base, suffix, sl))
        return false;
    uint64_t v = 0;
    for (int i = 9; i < 29; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *seq = v;
    return true;
}

int snapshot_path(const char *dir, const char *name, char out[SNAPSHOT_PATH_BYTES])
{
    int n = snprintf(out, SNAPSHOT_PATH_BYTES, "%s/%s", dir, name);
    return n > 0 && n < SNAPSHOT_PATH_BYTES ? 0 : -1;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct swriter {
    vfs *v;
    vfs_file *f;
    uint64_t off;         /* next file offset */
    uint64_t synced;      /* offset of the last incremental sync */
    XXH64_state_t *xs;    /* over the stream bytes */
    uint64_t n;           /* stream bytes so far */
    int io;               /* the first -errno of a failed write */
} swriter;

static int sw_write(void *ctx, const void *buf, size_t len)
{
    swriter *w = ctx;
    if (w->io)
        return SEGDB_EREADONLY;
    int rc = w->v->write(w->v, w->f, w->off, buf, len);
    if (rc) {
        w->io = rc;
        return SEGDB_EREADONLY;
    }
    XXH64_update(w->xs, buf, len);
    w->off += len;
    w->n += len;
    /* Sync as we go: the disk writes while the state is serialized, and no
     * gigabyte of dirty pages is left for the final fsync to flush at once
     * (which would also stall the log's fsyncs behind it). */
    if (w->off - w->synced >= SNAP_SYNC_EVERY_BYTES) {
        rc = w->v->fdatasync(w->v, w->f);
        if (rc) {
            w->io = rc;
            return SEGDB_EREADONLY;
        }
        w->synced = w->off;
    }
    return 0;
}

int snapshot_write(const char *dir, vfs *v, segdb_t *db, snapshot_info *info, segdb_err *err)
{
    if (!v)
        v = vfs_posix();
    if (!dir || !db)
        return set_err(err, SEGDB_EINVAL, "snapshot_write: no directory or database");
    segdb_stats st;
    segdb_get_stats(db, &st);
    char name[SNAPSHOT_NAME_BYTES], tmpname[SNAPSHOT_NAME_BYTES + 4];
    char path[SNAPSHOT_PATH_BYTES], tmp[SNAPSHOT_PATH_BYTES];
    snapshot_name(st.seq, name);
    snprintf(tmpname, sizeof tmpname, "%s.tmp", name);
    if (snapshot_path(dir, name, path) || snapshot_path(dir, tmpname, tmp))
        return set_err(err, SEGDB_EINVAL, "snapshot: directory path too long");

    swriter w = {.v = v};
    uint8_t h[SNAPSHOT_TRAILER_BYTES];
    const char *what = "write to";
    int rc = v->open(v, tmp, VFS_O_WRITE | VFS_O_CREATE | VFS_O_TRUNC, &w.f);
    if (rc) {
        w.f = NULL;
        what = "create";
        goto io;
    }
    w.xs = XXH64_createState();
    if (!w.xs) {
        rc = set_err(err, SEGDB_ENOMEM, "out of memory writing a snapshot");
        goto fail;
    }
    XXH64_reset(w.xs, 0);

    memcpy(h, SNAP_MAGIC, 8);
    put_u32(h + 8, SNAPSHOT_FORMAT_VERSION);
    put_u32(h + 12, 0);
    put_u64(h + 16, st.seq);
    put_u64(h + 24, XXH64(h, 24, 0));
    rc = v->write(v, w.f, 0, h, SNAPSHOT_HEADER_BYTES);
    if (rc)
        goto io;
    w.off = SNAPSHOT_HEADER_BYTES;

    segdb_err e = {0};
    rc = segdb_save(db, sw_write, &w, &e);
    if (w.io) {
        rc = w.io;
        goto io;
    }
    if (rc) {
        rc = set_err(err, rc, "snapshot %.*s: %s", SNAP_MSG_PATH_CHARS, tmp, e.msg);
        goto fail;
    }
    uint64_t sum = XXH64_digest(w.xs);
    memcpy(h, SNAP_END_MAGIC, 8);
    put_u64(h + 8, w.n);
    put_u64(h + 16, sum);
    put_u64(h + 24, st.seq);
    put_u64(h + 32, XXH64(h, 32, 0));
    rc = v->write(v, w.f, w.off, h, SNAPSHOT_TRAILER_BYTES);
    if (rc)
        goto io;
    rc = v->fsync(v, w.f);
    if (rc) {
        what = "fsync";
        goto io;
    }
    rc = v->close(v, w.f);
    w.f = NULL;
    if (rc) {
        what = "close";
        goto io;
    }
    rc = v->rename(v, tmp, path);
    if (rc) {
        what = "rename";
        goto io;
    }
    rc = v->fsync_dir(v, dir);
    if (rc) {
        /* The file is complete under its final name; only the rename's
         * durability is in doubt. Report it: the caller must not drop the
         * log this snapshot would replace. */
        XXH64_freeState(w.xs);
        return set_err(err, io_code(rc), "snapshot: fsync of directory %.*s failed: %s",
                       SNAP_MSG_PATH_CHARS, dir, strerror(-rc));
    }
    XXH64_freeState(w.xs);
    if (info) {
        info->seq = st.seq;
        info->stream_bytes = w.n;
        info->file_bytes = w.n + SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES;
        info->checksum = sum;
    }
    return 0;
io:
    rc = set_err(err, io_code(rc), "snapshot: cannot %s %.*s: %s", what, SNAP_MSG_PATH_CHARS, tmp,
                 strerror(-rc));
fail:
    if (w.f)
        v->close(v, w.f);
    v->unlink(v, tmp); /* best effort: a start deletes leftovers too */
    XXH64_freeState(w.xs);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

/* Opens path and checks header and trailer; *f stays open on success. */
static int check_frame(const char *path, vfs *v, uint64_t want_seq, vfs_file **f,
                       snapshot_info *si, segdb_err *err)
{
    *f = NULL;
    int rc = v->open(v, path, VFS_O_READ, f);
    if (rc) {
        *f = NULL;
        return set_err(err, rc == -ENOENT ? SEGDB_EINVAL : io_code(rc), "snapshot %.*s: cannot open: %s",
                       SNAP_MSG_PATH_CHARS, path, strerror(-rc));
    }
    uint64_t size = 0;
    uint8_t h[SNAPSHOT_HEADER_BYTES], t[SNAPSHOT_TRAILER_BYTES];
    size_t got = 0;
    rc = v->size(v, *f, &size);
    if (rc == 0)
        rc = v->read(v, *f, 0, h, sizeof h, &got);
    if (rc) {
        rc = set_err(err, io_code(rc), "snapshot %.*s: read failed: %s", SNAP_MSG_PATH_CHARS, path,
                     strerror(-rc));
        goto bad;
    }
    if (got < SNAPSHOT_HEADER_BYTES) {
        rc = set_err(err, SEGDB_EINVAL,
                     "snapshot %.*s: truncated at offset %zu (the header alone is %u bytes)",
                     SNAP_MSG_PATH_CHARS, path, got, SNAPSHOT_HEADER_BYTES);
        goto bad;
    }
    if (memcmp(h, SNAP_MAGIC, 8)) {
        rc = set_err(err, SEGDB_EINVAL, "snapshot %.*s: bad magic at offset 0 (not a segdb snapshot)",
                     SNAP_MSG_PATH_CHARS, path);
        goto bad;
    }
    if (get_u64(h + 24) != XXH64(h, 24, 0)) {
        rc = set_err(err, SEGDB_EINVAL, "snapshot %.*s: header checksum mismatch (bytes 0..23)",
                     SNAP_MSG_PATH_CHARS, path);
        goto bad;
    }
    if (get_u32(h + 8) < SNAPSHOT_FORMAT_OLDEST || get_u32(h + 8) > SNAPSHOT_FORMAT_VERSION ||
        get_u32(h + 12) != 0) {
        rc = set_err(err, SEGDB_EINVAL,
                     "snapshot %.*s: format version %" PRIu32 ".%" PRIu32
                     ", this build reads versions %u to %u",
                     SNAP_MSG_PATH_CHARS, path, get_u32(h + 8), get_u32(h + 12),
                     SNAPSHOT_FORMAT_OLDEST, SNAPSHOT_FORMAT_VERSION);
        goto bad;
    }
    uint64_t seq = get_u64(h + 16);
    if (want_seq != SNAPSHOT_ANY_SEQ && seq != want_seq) {
        rc = set_err(err, SEGDB_EINVAL,
                     "snapshot %.*s: the header says seq %" PRIu64 ", the file name %" PRIu64,
                     SNAP_MSG_PATH_CHARS, path, seq, want_seq);
        goto bad;
    }
    if (size < SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES) {
        rc = set_err(err, SEGDB_EINVAL,
                     "snapshot %.*s: truncated: %" PRIu64 " bytes, no room for the trailer "
                     "(unfinished or cut file)",
                     SNAP_MSG_PATH_CHARS, path, size);
        goto bad;
    }
    uint64_t toff = size - SNAPSHOT_TRAILER_BYTES;
    rc = v->read(v, *f, toff, t, sizeof t, &got);
    if (rc || got < sizeof t) {
        rc = set_err(err, rc ? io_code(rc) : SEGDB_EINVAL, "snapshot %.*s: read failed at offset %" PRIu64 ": %s",
                     SNAP_MSG_PATH_CHARS, path, toff, rc ? strerror(-rc) : "file shrank");
        goto bad;
    }
    if (memcmp(t, SNAP_END_MAGIC, 8) || get_u64(t + 32) != XXH64(t, 32, 0)) {
        rc = set_err(err, SEGDB_EINVAL,
                     "snapshot %.*s: no valid trailer at offset %" PRIu64
                     " (file of %" PRIu64 " bytes: truncated, unfinished or damaged at its end)",
                     SNAP_MSG_PATH_CHARS, path, toff, size);
        goto bad;
    }
    uint64_t n = get_u64(t + 8);
    if (n != size - SNAPSHOT_HEADER_BYTES - SNAPSHOT_TRAILER_BYTES) {
        rc = set_err(err, SEGDB_EINVAL,
                     "snapshot %.*s: the trailer at offset %" PRIu64 " says the stream is %" PRIu64
                     " bytes, the file holds %" PRIu64,
                     SNAP_MSG_PATH_CHARS, path, toff, n, size - SNAPSHOT_HEADER_BYTES - SNAPSHOT_TRAILER_BYTES);
        goto bad;
    }
    if (get_u64(t + 24) != seq) {
        rc = set_err(err, SEGDB_EINVAL,
                     "snapshot %.*s: the trailer at offset %" PRIu64 " says seq %" PRIu64
                     ", the header %" PRIu64,
                     SNAP_MSG_PATH_CHARS, path, toff, get_u64(t + 24), seq);
        goto bad;
    }
    si->seq = seq;
    si->stream_bytes = n;
    si->file_bytes = size;
    si->checksum = get_u64(t + 16);
    return 0;
bad:
    v->close(v, *f);
    *f = NULL;
    return rc;
}

/* Reads the stream front to back, hashing every byte as it comes off the
 * file (each byte is read once, in order): segdb_load parses through it, so
 * a start reads a snapshot once; snapshot_verify only hashes. */
typedef struct sreader {
    vfs *v;
    vfs_file *f;
    uint64_t off, end;
    uint8_t *buf;
    uint64_t boff;  /* file offset of buf[0] */
    size_t blen;
    int io;          /* a failed read: its -errno (-EIO for a short one) */
    bool shrank;     /* ... which was short: the file is shorter than it said */
    uint64_t io_at;  /* offset of the failed read */
    XXH64_state_t *xs;
} sreader;

/* Opens path, checks its frame (check_frame fills *si) and readies r over
 * the stream; r owns the file until sr_finish. doing: "checking", "loading"
 * (for the out-of-memory message). */
static int sr_open(sreader *r, const char *path, vfs *v, uint64_t want_seq, snapshot_info *si,
                   const char *doing, segdb_err *err)
{
    vfs_file *f;
    int rc = check_frame(path, v, want_seq, &f, si, err);
    if (rc)
        return rc;
    *r = (sreader){.v = v, .f = f, .off = SNAPSHOT_HEADER_BYTES, .end = SNAPSHOT_HEADER_BYTES + si->stream_bytes};
    r->buf = malloc(SNAP_IO_BYTES);
    r->xs = XXH64_createState();
    if (!r->buf || !r->xs) {
        free(r->buf);
        XXH64_freeState(r->xs);
        v->close(v, f);
        return set_err(err, SEGDB_ENOMEM, "out of memory %s a snapshot", doing);
    }
    XXH64_reset(r->xs, 0);
    return 0;
}

static int sr_read(void *ctx, void *dst, size_t len)
{
    sreader *r = ctx;
    if (r->io || len > r->end - r->off)
        return -1;
    uint8_t *out = dst;
    while (len) {
        if (r->off >= r->boff && r->off < r->boff + r->blen) {
            size_t have = (size_t)(r->boff + r->blen - r->off);
            size_t n = have < len ? have : len;
            memcpy(out, r->buf + (r->off - r->boff), n);
            out += n;
            len -= n;
            r->off += n;
            continue;
        }
        size_t got = 0;
        if (len >= SNAP_IO_BYTES) { /* big arrays: straight into the destination */
            int rc = r->v->read(r->v, r->f, r->off, out, len, &got);
            if (rc || got < len) {
                r->io = rc ? rc : -EIO;
                r->shrank = !rc;
                r->io_at = r->off + got;
                return -1;
            }
            XXH64_update(r->xs, out, len);
            r->off += len;
            return 0;
        }
        size_t want = r->end - r->off < SNAP_IO_BYTES ? (size_t)(r->end - r->off) : SNAP_IO_BYTES;
        int rc = r->v->read(r->v, r->f, r->off, r->buf, want, &got);
        if (rc || got < want) {
            r->io = rc ? rc : -EIO;
            r->shrank = !rc;
            r->io_at = r->off + got;
            return -1;
        }
        XXH64_update(r->xs, r->buf, got);
        r->boff = r->off;
        r->blen = got;
    }
    return 0;
}

/* Hashes the stream bytes not read yet (all of them for snapshot_verify;
 * the rest when segdb_load failed early, so a damaged file is reported as
 * damaged rather than by the parse error the damage caused), then closes r
 * and its file and says what was wrong with the file: 0, or an error naming it. */
static int sr_finish(sreader *r, const char *path, const snapshot_info *si, segdb_err *err)
{
    uint64_t pos = r->boff + r->blen > r->off ? r->boff + r->blen : r->off;
    while (!r->io && pos < r->end) {
        size_t want = r->end - pos < SNAP_IO_BYTES ? (size_t)(r->end - pos) : SNAP_IO_BYTES, got = 0;
        int rc = r->v->read(r->v, r->f, pos, r->buf, want, &got);
        if (rc || got < want) {
            r->io = rc ? rc : -EIO;
            r->shrank = !rc;
            r->io_at = pos + got;
            break;
        }
        XXH64_update(r->xs, r->buf, want);
        pos += want;
    }
    bool damaged = !r->io && XXH64_digest(r->xs) != si->checksum;
    r->v->close(r->v, r->f);
    r->f = NULL;
    free(r->buf);
    XXH64_freeState(r->xs);
    r->buf = NULL;
    r->xs = NULL;
    if (r->io)
        return set_err(err, r->shrank ? SEGDB_EINVAL : io_code(r->io),
                       "snapshot %.*s: read failed at offset %" PRIu64 ": %s", SNAP_MSG_PATH_CHARS, path,
                       r->io_at, r->shrank ? "file shrank" : strerror(-r->io));
    if (damaged)
        return set_err(err, SEGDB_EINVAL,
                       "snapshot %.*s: checksum mismatch over the stream (bytes %u..%" PRIu64
                       "): the file is damaged",
                       SNAP_MSG_PATH_CHARS, path, SNAPSHOT_HEADER_BYTES, r->end - 1);
    return 0;
}

int snapshot_verify(const char *path, vfs *v, uint64_t want_seq, snapshot_info *info,
                    segdb_err *err)
{
    if (!v)
        v = vfs_posix();
    snapshot_info si;
    sreader r;
    int rc = sr_open(&r, path, v, want_seq, &si, "checking", err);
    if (rc)
        return rc;
    rc = sr_finish(&r, path, &si, err);
    if (rc == 0 && info)
        *info = si;
    return rc;
}

/* Verifies the frame, then parses the stream through sr_read while it is hashed. */
int snapshot_load(const char *path, vfs *v, uint64_t want_seq, const segdb_options *opts,
                  segdb_t **out, snapshot_info *info, segdb_err *err)
{
    *out = NULL;
    if (!v)
        v = vfs_posix();
    snapshot_info si;
    sreader r;
    int rc = sr_open(&r, path, v, want_seq, &si, "loading", err);
    if (rc)
        return rc;
    segdb_t *db = NULL;
    segdb_err e = {0};
    rc = segdb_load(&db, opts, sr_read, &r, si.stream_bytes, &e);
    uint64_t at = r.off;
    /* the whole stream must hash to the header's checksum, loaded or not */
    int frc = sr_finish(&r, path, &si, err);
    if (frc) {
        segdb_close(db);
        return frc;
    }
    if (rc)
        return set_err(err, rc == SEGDB_ENOMEM ? SEGDB_ENOMEM : SEGDB_EINVAL,
                       "snapshot %.*s: the stream does not load (near offset %" PRIu64 "): %s",
                       SNAP_MSG_PATH_CHARS, path, at, e.msg);
    segdb_stats st;
    segdb_get_stats(db, &st);
    if (at != r.end || st.seq != si.seq) {
        segdb_close(db);
        if (at != r.end)
            return set_err(err, SEGDB_EINVAL,
                           "snapshot %.*s: the stream ends at offset %" PRIu64
                           ", before the trailer at %" PRIu64,
                           SNAP_MSG_PATH_CHARS, path, at, r.end);
        return set_err(err, SEGDB_EINVAL,
                       "snapshot %.*s: the stream holds seq %" PRIu64 ", the header %" PRIu64,
                       SNAP_MSG_PATH_CHARS, path, st.seq, si.seq);
    }
    *out = db;
    if (info)
        *info = si;
    return 0;
}

/* ---- directory ---------------------------------------------------------- */

typedef struct u64vec {
    uint64_t *v;
    size_t n, cap;
} u64vec;

static int vec_push(u64vec *a, uint64_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        uint64_t *p = realloc(a->v, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

typedef struct lister {
    u64vec snaps, tmp, corrupt;
    int err;
} lister;

static int list_cb(void *ctx, const char *name)
{
    lister *l = ctx;
    uint64_t s;
    int rc = 0;
    if (snapshot_parse_name(name, NULL, &s))
        rc = vec_push(&l->snaps, s);
    else if (snapshot_parse_name(name, ".tmp", &s))
        rc = vec_push(&l->tmp, s);
    else if (snapshot_parse_name(name, ".corrupt", &s))
        rc = vec_push(&l->corrupt, s);
    if (rc) {
        l->err = rc;
        return 1;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int snapshot_list_dir(const char *dir, vfs *v, snapshot_list *out, segdb_err *err)
{
    memset(out, 0, sizeof *out);
    if (!v)
        v = vfs_posix();
    lister l = {0};
    int rc = v->list(v, dir, list_cb, &l);
    if (l.err)
        rc = l.err;
    if (rc == -ENOENT)
        rc = 0;
    if (rc) {
        free(l.snaps.v);
        free(l.tmp.v);
        free(l.corrupt.v);
        return set_err(err, io_code(rc), "cannot list %.*s: %s", SNAP_MSG_PATH_CHARS, dir,
                       strerror(-rc));
    }
    if (l.snaps.n > 1)
        qsort(l.snaps.v, l.snaps.n, sizeof(uint64_t), cmp_u64);
    if (l.tmp.n > 1)
        qsort(l.tmp.v, l.tmp.n, sizeof(uint64_t), cmp_u64);
    if (l.corrupt.n > 1)
        qsort(l.corrupt.v, l.corrupt.n, sizeof(uint64_t), cmp_u64);
    out->seq = l.snaps.v;
    out->n = l.snaps.n;
    out->tmp = l.tmp.v;
    out->ntmp = l.tmp.n;
    out->corrupt = l.corrupt.v;
    out->ncorrupt = l.corrupt.n;
    return 0;
}

void snapshot_list_free(snapshot_list *l)
{
    if (!l)
        return;
    free(l->seq);
    free(l->tmp);
    free(l->corrupt);
    memset(l, 0, sizeof *l);
}

static int unlink_named(const char *dir, vfs *v, uint64_t seq, const char *suffix, segdb_err *err)
{
    char name[SNAPSHOT_NAME_BYTES + 16], path[SNAPSHOT_PATH_BYTES];
    snapshot_name(seq, name);
    strcat(name, suffix);
    if (snapshot_path(dir, name, path))
        return set_err(err, SEGDB_EINVAL, "snapshot: directory path too long");
    int rc = v->unlink(v, path);
    if (rc && rc != -ENOENT)
        return set_err(err, io_code(rc), "cannot delete %.*s: %s", SNAP_MSG_PATH_CHARS, path,
                       strerror(-rc));
    return 0;
}

int snapshot_prune(const char *dir, vfs *v, unsigned keep, uint64_t *removed, segdb_err *err)
{
    if (removed)
        *removed = 0;
    if (!v)
        v = vfs_posix();
    if (keep == 0)
        keep = 1;
    snapshot_list l;
    int rc = snapshot_list_dir(dir, v, &l, err);
    if (rc)
        return rc;
    uint64_t k = 0;
    for (size_t i = 0; i + keep < l.n && rc == 0; i++) {
        rc = unlink_named(dir, v, l.seq[i], "", err);
        if (rc == 0)
            k++;
    }
    snapshot_list_free(&l);
    if (k) {
        int r2 = v->fsync_dir(v, dir);
        if (r2 && rc == 0)
            rc = set_err(err, io_code(r2), "fsync of directory %.*s failed: %s",
                         SNAP_MSG_PATH_CHARS, dir, strerror(-r2));
    }
    if (removed)
        *removed = k;
    return rc;
}

int snapshot_remove_tmp(const char *dir, vfs *v, uint64_t *removed, segdb_err *err)
{
    if (removed)
        *removed = 0;
    if (!v)
        v = vfs_posix();
    snapshot_list l;
    int rc = snapshot_list_dir(dir, v, &l, err);
    if (rc)
        return rc;
    uint64_t k = 0;
    for (size_t i = 0; i < l.ntmp && rc == 0; i++) {
        rc = unlink_named(dir, v, l.tmp[i], ".tmp", err);
        if (rc == 0)
            k++;
    }
    snapshot_list_free(&l);
    if (removed)
        *removed = k;
    return rc;
}

/*
 * wal.c — segdb's write-ahead log: segment files of framed, checksummed,
 * LZ4-compressed records; group commit; the three appendfsync modes;
 * recovery that cuts torn tails and refuses (or repairs) damage in the middle.
 *
 * FILES
 *
 * A data directory holds segments named wal-<S>.log where <S> is the sequence
 * number of the segment's first record written as 20 zero-padded decimal
 * digits ("wal-00000000000000000001.log"), so a byte-wise sort of the names is
 * log order. Other names are ignored. Segment k+1 starts with the seq that
 * follows the last record of segment k; a segment may hold no record yet (it
 * then expects <S> next).
 *
 * All integers are little-endian. XXH64 is xxHash's 64-bit hash with seed 0.
 *
 * SEGMENT HEADER (32 bytes, at offset 0)
 *
 *   offset size  field
 *   0      8     magic       "SEGDBWAL" (ASCII, no NUL)
 *   8      4     version     u32, 1
 *   12     4     reserved    u32, 0
 *   16     8     first_seq   u64, equal to <S> in the file name
 *   24     8     checksum    u64, XXH64 of bytes 0..23
 *
 * FRAMES (from offset 32 to the end of the file, back to back, no padding)
 *
 *   offset size  field
 *   0      4     frame_len   u32, bytes of the whole frame, header included
 *                            (25 + stored body bytes)
 *   4      8     seq         u64, the record's sequence number
 *   12     4     body_len    u32, uncompressed body bytes (<= 2^30)
 *   16     1     flags       u8: bit 0 = body is an LZ4 block
 *                            (LZ4_compress_default); other bits 0
 *   17     8     checksum    u64, XXH64 over bytes 0..16 of the frame
 *                            followed by the stored body
 *   25     n     body        n = frame_len - 25 bytes: the record as given
 *                            (flags 0, n == body_len) or its LZ4 block
 *                            (flags 1, decompresses to exactly body_len bytes)
 *
 * The writer stores a body raw when it is under 64 bytes or LZ4 does not make
 * it smaller. Records' seqs increase by exactly 1 from frame to frame and
 * across segments.
 *
 * WRITING
 *
 * wal_append encodes a frame into an in-memory buffer; wal_flush writes all
 * queued frames with one pwrite at the segment's end and, in `always` mode,
 * fdatasyncs before returning (group commit: the event loop appends each
 * write of an iteration and flushes once before replying). `everysec` leaves
 * the fdatasync to a background thread that runs at most once a second (or to
 * wal_everysec_tick); `no` never syncs. After a flush that leaves the segment
 * at or past segment_max_bytes, the next segment is created: header written,
 * fsynced, directory fsynced (except in `no` mode), after the old one was
 * fdatasynced.
 *
 * The buffer keeps the bytes written since the last successful sync (in `no`
 * mode: none); in `everysec` mode a flush that would leave more than 64 MiB
 * unsynced syncs itself, which bounds that memory (only a bulk load writing
 * over 64 MB/s gets more than one sync a second). When a write or a sync fails, the log turns read-only: the
 * failure is returned as SEGDB_EREADONLY; the file is cut back to what is
 * known written (after a failed sync: known synced, since Linux may drop the
 * dirty pages of a failed fsync); the next wal_flush rewrites everything
 * after that point from the buffer, so a record acknowledged before the
 * failure or queued during it is never lost, only delayed.
 *
 * RECOVERY (wal_scan)
 *
 * Each segment in order: header (magic, checksum, version, first_seq = name,
 * name = previous segment's next seq), then frames (plausible header, whole
 * frame present, checksum, seq = previous + 1, body decompresses to
 * body_len). The first frame that fails any check is "damage" at its offset.
 * If it is in the last segment and no later offset in that file starts a frame
 * that checks out with a seq above the last good one, the damage is a torn
 * tail (a write cut by a crash, a zero-filled or garbage end): the file is
 * truncated at the damage, or deleted when not even its header is good.
 * Otherwise valid records follow the damage — middle damage, which a crash
 * cannot cause on a synced log — and the scan refuses, naming file and offset,
 * unless asked to repair (then it cuts there and reports the records lost).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wal.h"
#include "storage_util.h"

#include <errno.h>
#include <inttypes.h>
#include <lz4.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#define WAL_MAGIC "SEGDBWAL"
#define WAL_FLAG_LZ4 0x01u
#define WAL_COMPRESS_MIN_BYTES 64u          /* smaller bodies are stored raw */
#define WAL_READ_WINDOW_BYTES (1u << 20)     /* recovery reads this much at a time */
#define WAL_MAX_UNSYNCED_BYTES (64u << 20)   /* everysec: sync in flush past this */
#define WAL_MAX_LZ4_RATIO 256u               /* LZ4 cannot expand a block more than ~255x */
#define WAL_KEEP_BUFFER_BYTES (4u << 20)     /* an empty write buffer larger than this is freed */
#define WAL_MSG_PATH_CHARS 700               /* longest path quoted in a failure message */

/* ---- small helpers ------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void wal_segment_name(uint64_t first_seq, char out[WAL_SEGMENT_NAME_BYTES])
{
    snprintf(out, WAL_SEGMENT_NAME_BYTES, "wal-%020" PRIu64 ".log", first_seq);
}

bool wal_parse_segment_name(const char *name, uint64_t *first_seq)
{
    if (strlen(name) != WAL_SEGMENT_NAME_BYTES - 1 || memcmp(name, "wal-", 4) ||
        memcmp(name + 24, ".log", 4))
        return false;
    uint64_t v = 0;
    for (int i = 4; i < 24; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v == 0 || v == UINT64_MAX) /* seqs run from 1 to UINT64_MAX - 1 */
        return false;
    *first_seq = v;
    return true;
}

static int seg_path(const char *dir, uint64_t seq, char out[WAL_PATH_BYTES])
{
    char name[WAL_SEGMENT_NAME_BYTES];
    wal_segment_name(seq, name);
    int n = snprintf(out, WAL_PATH_BYTES, "%s/%s", dir, name);
    return n > 0 && n < WAL_PATH_BYTES ? 0 : -ENAMETOOLONG;
}

int wal_fsync_mode_parse(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "always"))
        return WAL_FSYNC_ALWAYS;
    if (!strcmp(s, "everysec"))
        return WAL_FSYNC_EVERYSEC;
    if (!strcmp(s, "no"))
        return WAL_FSYNC_NO;
    return -1;
}

const char *wal_fsync_mode_name(wal_fsync_mode m)
{
    switch (m) {
    case WAL_FSYNC_ALWAYS: return "always";
    case WAL_FSYNC_EVERYSEC: return "everysec";
    case WAL_FSYNC_NO: return "no";
    }
    return "?";
}

static void file_header_encode(uint8_t h[WAL_FILE_HEADER_BYTES], uint64_t first_seq)
{
    memcpy(h, WAL_MAGIC, 8);
    put_u32(h + 8, WAL_FORMAT_VERSION);
    put_u32(h + 12, 0);
    put_u64(h + 16, first_seq);
    put_u64(h + 24, XXH64(h, 24, 0));
}

/* XXH64 of frame bytes 0..16 then the stored body at p + 25. */
static uint64_t frame_checksum(XXH64_state_t *xs, const uint8_t *p, size_t stored)
{
    XXH64_reset(xs, 0);
    XXH64_update(xs, p, 17);
    if (stored)
        XXH64_update(xs, p + WAL_FRAME_HEADER_BYTES, stored);
    return XXH64_digest(xs);
}

/* Could a frame header with these fields have been written by wal_append? */
static bool frame_plausible(uint32_t len, uint32_t ulen, uint8_t flags)
{
    if (len < WAL_FRAME_HEADER_BYTES || (flags & ~WAL_FLAG_LZ4) || ulen > WAL_MAX_RECORD_BYTES)
        return false;
    uint64_t stored = len - WAL_FRAME_HEADER_BYTES;
    if (!(flags & WAL_FLAG_LZ4))
        return stored == ulen;
    return stored > 0 && stored <= (uint64_t)LZ4_COMPRESSBOUND(ulen) &&
           ulen <= stored * WAL_MAX_LZ4_RATIO;
}

/* ---- reading: a window over one segment ---------------------------------- */

typedef struct reader {
    vfs *v;
    vfs_file *f;
    uint64_t size;
    uint8_t *buf;
    size_t cap;
    uint64_t boff; /* file offset of buf[0] */
    size_t blen;   /* valid bytes in buf */
} reader;

/* Points *out at file bytes [off, off+len), which must lie inside the file.
 * The pointer is valid until the next call. 0 or -errno. */
static int rd_get(reader *r, uint64_t off, size_t len, const uint8_t **out)
{
    if (off >= r->boff && off - r->boff <= r->blen && len <= r->blen - (off - r->boff)) {
        *out = r->buf + (off - r->boff);
        return 0;
    }
    size_t want = len > WAL_READ_WINDOW_BYTES ? len : WAL_READ_WINDOW_BYTES;
    if (want > r->size - off)
        want = (size_t)(r->size - off);
    if (want > r->cap) {
        uint8_t *p = realloc(r->buf, want);
        if (!p)
            return -ENOMEM;
        r->buf = p;
        r->cap = want;
    }
    r->blen = 0;
    size_t got = 0;
    int rc = r->v->read(r->v, r->f, off, r->buf, want, &got);
    if (rc)
        return rc;
    r->boff = off;
    r->blen = got;
    if (got < len)
        return -EIO; /* the file shrank under us */
    *out = r->buf;
    return 0;
}

static void rd_close(reader *r)
{
    if (r->f)
        r->v->close(r->v, r->f);
    r->f = NULL;
    r->boff = 0;
    r->blen = 0;
    r->size = 0;
}

static int rd_open(reader *r, vfs *v, const char *path)
{
    rd_close(r);
    r->v = v;
    int rc = v->open(v, path, VFS_O_READ, &r->f);
    if (rc) {
        r->f = NULL;
        return rc;
    }
    rc = v->size(v, r->f, &r->size);
    if (rc)
        rd_close(r);
    return rc;
}

typedef struct frame {
    uint32_t len;
    uint64_t seq;
    uint32_t ulen;
    uint8_t flags;
    uint64_t sum;
} frame;

enum { FR_OK = 0, FR_TRUNC_HEADER, FR_BAD_HEADER, FR_TRUNC_BODY, FR_BAD_SUM };

static const char *frame_problem(int st)
{
    switch (st) {
    case FR_TRUNC_HEADER: return "truncated frame header";
    case FR_BAD_HEADER: return "impossible frame header (length, flags or body length)";
    case FR_TRUNC_BODY: return "frame runs past the end of the file";
    case FR_BAD_SUM: return "bad checksum";
    }
    return "ok";
}

/* Parses the frame header at off: FR_OK when plausible and wholly inside the
 * file, another FR_* otherwise, or -errno. */
static int frame_head(reader *r, uint64_t off, frame *fr)
{
    if (r->size - off < WAL_FRAME_HEADER_BYTES)
        return FR_TRUNC_HEADER;
    const uint8_t *h;
    int rc = rd_get(r, off, WAL_FRAME_HEADER_BYTES, &h);
    if (rc)
        return rc;
    fr->len = get_u32(h);
    fr->seq = get_u64(h + 4);
    fr->ulen = get_u32(h + 12);
    fr->flags = h[16];
    fr->sum = get_u64(h + 17);
    if (!frame_plausible(fr->len, fr->ulen, fr->flags))
        return FR_BAD_HEADER;
    if (fr->len > r->size - off)
        return FR_TRUNC_BODY;
    return FR_OK;
}

/* Checks the checksum of a frame whose head is FR_OK; *stored points at its
 * stored body on FR_OK (valid until the next rd_get). */
static int frame_verify(reader *r, XXH64_state_t *xs, uint64_t off, const frame *fr,
                        const uint8_t **stored)
{
    const uint8_t *p;
    int rc = rd_get(r, off, fr->len, &p);
    if (rc)
        return rc;
    if (frame_checksum(xs, p, fr->len - WAL_FRAME_HEADER_BYTES) != fr->sum)
        return FR_BAD_SUM;
    *stored = p + WAL_FRAME_HEADER_BYTES;
    return FR_OK;
}

/* ---- scanning ------------------------------------------------------------ */

typedef struct seg_list {
    uint64_t *seq;
    size_t n, cap;
    int err; /* -ENOMEM while listing */
} seg_list;

static int list_cb(void *ctx, const char *name)
{
    seg_list *l = ctx;
    uint64_t s;
    if (!wal_parse_segment_name(name, &s))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint64_t *p = realloc(l->seq, cap * sizeof *p);
        if (!p) {
            l->err = -ENOMEM;
            return 1;
        }
        l->seq = p;
        l->cap = cap;
    }
    l->seq[l->n++] = s;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists dir's segments in seq order. A missing dir is an empty list. */
static int list_segments(vfs *v, const char *dir, seg_list *l)
{
    memset(l, 0, sizeof *l);
    int rc = v->list(v, dir, list_cb, l);
    if (l->err)
        rc = l->err;
    if (rc == -ENOENT)
        rc = 0;
    if (rc == 0 && l->n > 1)
        qsort(l->seq, l->n, sizeof *l->seq, cmp_u64);
    if (rc) {
        free(l->seq);
        memset(l, 0, sizeof *l);
    }
    return rc;
}

typedef struct scanner {
    vfs *v;
    uint64_t from_seq;
    wal_record_fn fn;
    void *ctx;
    XXH64_state_t *xs;
    uint8_t *ubuf; /* decompressed bodies */
    size_t ucap;
    reader rd;
} scanner;

/* The outcome of reading one segment up to its end or its first damage. */
typedef struct walk {
    bool damaged;
    uint64_t end;       /* offset after the last good frame = the damage offset */
    char reason[128];
    uint64_t first_seq; /* first good record (0: none) */
    uint64_t last_seq;  /* last good record, or the segment's first seq - 1 */
    uint64_t records;
    uint64_t delivered;
} walk;

/* Reads the segment open in s->rd named for seq, expecting it to start at
 * expect_seq (0: whatever its name says). Calls s->fn for good records when
 * deliver. Returns 0 (damage is reported in w) or a negative SEGDB_E* code for
 * I/O failures, a foreign format version, or the callback's error. */
static int walk_segment(scanner *s, const char *path, uint64_t seq, uint64_t expect_seq,
                        bool deliver, walk *w, segdb_err *err)
{
    reader *r = &s->rd;
    memset(w, 0, sizeof *w);
    w->last_seq = seq - 1;
    int rc;
    if (r->size < WAL_FILE_HEADER_BYTES) {
        snprintf(w->reason, sizeof w->reason, "truncated segment header (%" PRIu64 " bytes)",
                 r->size);
        w->damaged = true;
        return 0;
    }
    const uint8_t *h;
    rc = rd_get(r, 0, WAL_FILE_HEADER_BYTES, &h);
    if (rc)
        goto io;
    if (memcmp(h, WAL_MAGIC, 8) || get_u64(h + 24) != XXH64(h, 24, 0)) {
        snprintf(w->reason, sizeof w->reason, "bad segment header (%s)",
                 memcmp(h, WAL_MAGIC, 8) ? "magic" : "checksum");
        w->damaged = true;
        return 0;
    }
    if (get_u32(h + 8) != WAL_FORMAT_VERSION || get_u32(h + 12) != 0)
        return set_err(err, SEGDB_EINVAL,
                       "%s: log format version %" PRIu32 ".%" PRIu32
                       ", this build reads version %u: not touching it",
                       path, get_u32(h + 8), get_u32(h + 12), WAL_FORMAT_VERSION);
    if (get_u64(h + 16) != seq) {
        snprintf(w->reason, sizeof w->reason,
                 "segment header says first seq %" PRIu64 ", its name %" PRIu64,
                 get_u64(h + 16), seq);
        w->damaged = true;
        return 0;
    }
    if (expect_seq && seq != expect_seq) {
        snprintf(w->reason, sizeof w->reason,
                 "sequence gap: the previous segment ends at seq %" PRIu64
                 ", this one starts at %" PRIu64,
                 expect_seq - 1, seq);
        w->damaged = true;
        return 0;
    }
    uint64_t off = WAL_FILE_HEADER_BYTES, expect = seq;
    while (off < r->size) {
        frame fr;
        const uint8_t *stored = NULL;
        int st = frame_head(r, off, &fr);
        if (st == FR_OK)
            st = frame_verify(r, s->xs, off, &fr, &stored);
        if (st < 0) {
            rc = st;
            goto io;
        }
        if (st != FR_OK) {
            snprintf(w->reason, sizeof w->reason, "%s", frame_problem(st));
            break;
        }
        if (fr.seq != expect || fr.seq == UINT64_MAX) {
            snprintf(w->reason, sizeof w->reason,
                     "wrong sequence: expected seq %" PRIu64 ", found %" PRIu64, expect, fr.seq);
            break;
        }
        if (deliver && fr.seq > s->from_seq && s->fn) {
            const uint8_t *body = stored;
            size_t n = fr.len - WAL_FRAME_HEADER_BYTES;
            if (fr.flags & WAL_FLAG_LZ4) {
                if (fr.ulen > s->ucap) {
                    uint8_t *p = realloc(s->ubuf, fr.ulen);
                    if (!p)
                        return set_err(err, SEGDB_ENOMEM, "out of memory reading %s", path);
                    s->ubuf = p;
                    s->ucap = fr.ulen;
                }
                int d = LZ4_decompress_safe((const char *)stored, (char *)s->ubuf, (int)n,
                                            (int)fr.ulen);
                if (d < 0 || (uint32_t)d != fr.ulen) {
                    snprintf(w->reason, sizeof w->reason,
                             "body does not decompress to its length");
                    break;
                }
                body = s->ubuf;
                n = fr.ulen;
            }
            rc = s->fn(s->ctx, fr.seq, body, n, err);
            if (rc)
                return rc < 0 ? rc : SEGDB_EINVAL;
            w->delivered++;
        }
        if (!w->records)
            w->first_seq = fr.seq;
        w->records++;
        w->last_seq = fr.seq;
        expect++;
        off += fr.len;
    }
    w->end = off;
    w->damaged = off < r->size;
    return 0;
io:
    return set_err(err, io_code(rc), "%s: read failed: %s", path, strerror(-rc));
}

/* Counts the frames in the open segment at or after offset from that check
 * out with increasing seqs in (*after, hi]; *after becomes the last one's seq.
 * *last_at (if not NULL) gets the last one's offset. 0 or -errno. */
static int count_valid(scanner *s, uint64_t from, uint64_t *after, uint64_t hi,
                       uint64_t *last_at, uint64_t *count)
{
    reader *r = &s->rd;
    uint64_t q = from;
    while (q < r->size && r->size - q >= WAL_FRAME_HEADER_BYTES) {
        frame fr;
        const uint8_t *stored;
        int st = frame_head(r, q, &fr);
        if (st == FR_OK && fr.seq > *after && fr.seq <= hi)
            st = frame_verify(r, s->xs, q, &fr, &stored);
        else if (st == FR_OK)
            st = FR_BAD_HEADER;
        if (st < 0)
            return st;
        if (st == FR_OK) {
            (*count)++;
            *after = fr.seq;
            if (last_at)
                *last_at = q;
            q += fr.len;
        } else {
            q++;
        }
    }
    return 0;
}

static int cut_segment(vfs *v, const char *path, uint64_t at, segdb_err *err)
{
    vfs_file *f = NULL;
    int rc;
    if (at < WAL_FILE_HEADER_BYTES) {
        rc = v->unlink(v, path);
        if (rc == -ENOENT)
            rc = 0;
        if (rc)
            return set_err(err, io_code(rc), "%s: cannot delete: %s", path, strerror(-rc));
        return 0;
    }
    rc = v->open(v, path, VFS_O_WRITE, &f);
    if (rc == 0)
        rc = v->truncate(v, f, at);
    if (rc == 0)
        rc = v->fdatasync(v, f);
    if (f)
        v->close(v, f);
    if (rc)
        return set_err(err, io_code(rc), "%s: cannot truncate at offset %" PRIu64 ": %s", path, at,
                       strerror(-rc));
    return 0;
}

int wal_scan(const char *dir, vfs *v, uint64_t from_seq, wal_record_fn fn, void *ctx, int flags,
             wal_scan_result *res, segdb_err *err)
{
    wal_scan_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (!v)
        v = vfs_posix();
    if (!dir)
        return set_err(err, SEGDB_EINVAL, "wal_scan: no directory");

    scanner s = {.v = v, .from_seq = from_seq, .fn = fn, .ctx = ctx};
    s.rd.v = v;
    seg_list segs;
    char path[WAL_PATH_BYTES];
    int rc = list_segments(v, dir, &segs);
    if (rc)
        return set_err(err, io_code(rc), "%s: cannot list the log directory: %s", dir,
                       strerror(-rc));
    res->segments = segs.n;
    s.xs = XXH64_createState();
    if (!s.xs) {
        rc = set_err(err, SEGDB_ENOMEM, "out of memory");
        goto done;
    }

    uint64_t next = 0; /* seq the log expects next, after the segments read so far */
    size_t i;
    walk w;
    for (i = 0; i < segs.n; i++) {
        if (seg_path(dir, segs.seq[i], path)) {
            rc = set_err(err, SEGDB_EINVAL, "%s: path too long", dir);
            goto done;
        }
        rc = rd_open(&s.rd, v, path);
        if (rc) {
            rc = set_err(err, io_code(rc), "%s: cannot open: %s", path, strerror(-rc));
            goto done;
        }
        bool start_gap = i == 0 && from_seq != UINT64_MAX && segs.seq[0] > from_seq + 1;
        if (start_gap) {
            /* The records between the snapshot and the log's start are gone. */
            memset(&w, 0, sizeof w);
            w.damaged = true;
            w.last_seq = segs.seq[0] - 1;
            snprintf(w.reason, sizeof w.reason,
                     "records %" PRIu64 "..%" PRIu64 " are missing: the log starts at seq %" PRIu64,
                     from_seq + 1, segs.seq[0] - 1, segs.seq[0]);
        } else {
            rc = walk_segment(&s, path, segs.seq[i], i ? next : 0, true, &w, err);
            if (rc)
                goto done;
        }
        res->records += w.records;
        res->delivered += w.delivered;
        if (w.records) {
            if (!res->first_seq)
                res->first_seq = w.first_seq;
            res->last_seq = w.last_seq;
        }
        if (!w.damaged) {
            next = w.last_seq + 1;
            rd_close(&s.rd);
            continue;
        }

        /* Damage at w.end of segment i: what follows it? */
        uint64_t d = w.end;
        uint64_t rest = s.rd.size - d;
        for (size_t j = i + 1; j < segs.n; j++) {
            uint64_t sz = 0;
            char p2[WAL_PATH_BYTES];
            vfs_file *f;
            if (seg_path(dir, segs.seq[j], p2) == 0 && v->open(v, p2, VFS_O_READ, &f) == 0) {
                v->size(v, f, &sz);
                v->close(v, f);
            }
            rest += sz;
        }
        /* Valid frames after the damage (the damaged frame itself counts when
         * only its seq is wrong) are records a cut loses. A segment whose
         * header is damaged was never completed by the writer (headers are
         * synced before any frame), so there any valid frame at all counts. */
        uint64_t after = w.last_seq, hi = w.last_seq + rest / WAL_FRAME_HEADER_BYTES + 1;
        if (hi < after)
            hi = UINT64_MAX;
        if (d < WAL_FILE_HEADER_BYTES && !start_gap) {
            after = 0;
            hi = UINT64_MAX;
        }
        uint64_t lost = 0, last_at = 0;
        rc = count_valid(&s, d, &after, hi, &last_at, &lost);
        for (size_t j = i + 1; rc == 0 && j < segs.n; j++) {
            char p2[WAL_PATH_BYTES];
            if (seg_path(dir, segs.seq[j], p2) == 0 && rd_open(&s.rd, v, p2) == 0)
                rc = count_valid(&s, 0, &after, hi, NULL, &lost);
        }
        rd_close(&s.rd);
        if (rc) {
            rc = set_err(err, io_code(rc), "%s: read failed: %s", path, strerror(-rc));
            goto done;
        }
        bool middle = last_at > d || i + 1 < segs.n || start_gap;
        snprintf(res->file, sizeof res->file, "%s", path);
        res->offset = d;
        snprintf(res->reason, sizeof res->reason, "%s", w.reason);
        res->dropped_bytes = rest;
        res->dropped_records = lost;
        res->removed_segments = (segs.n - 1 - i) + (d < WAL_FILE_HEADER_BYTES);
        next = d < WAL_FILE_HEADER_BYTES ? (i ? next : 0) : w.last_seq + 1;
        if (middle && !(flags & WAL_SCAN_REPAIR)) {
            res->status = WAL_SCAN_DAMAGED;
            res->next_seq = next;
            rc = set_err(err, SEGDB_EINVAL,
                         "%s: corrupt log at offset %" PRIu64 " (%s), followed by %" PRIu64
                         " valid records in %" PRIu64
                         " bytes; refusing to replay past it (a repair cuts the log there "
                         "and loses them)",
                         path, d, w.reason, lost, rest);
            goto done;
        }
        res->status = middle ? WAL_SCAN_REPAIRED : WAL_SCAN_TAIL_CUT;
        if (!(flags & WAL_SCAN_DRY_RUN)) {
            rc = cut_segment(v, path, d, err);
            for (size_t j = i + 1; rc == 0 && j < segs.n; j++) {
                char p2[WAL_PATH_BYTES];
                if (seg_path(dir, segs.seq[j], p2) == 0)
                    rc = cut_segment(v, p2, 0, err);
            }
            if (rc == 0 && res->removed_segments) {
                int r2 = v->fsync_dir(v, dir);
                if (r2)
                    rc = set_err(err, io_code(r2), "%s: cannot fsync the directory: %s", dir,
                                 strerror(-r2));
            }
            if (rc)
                goto done;
        }
        break;
    }
    res->next_seq = next;
    rc = 0;
done:
    rd_close(&s.rd);
    free(s.rd.buf);
    free(s.ubuf);
    XXH64_freeState(s.xs);
    free(segs.seq);
    return rc;
}

/* ---- writing --------------------------------------------------------------- */

/* An open segment, shared with the everysec thread while it syncs. */
typedef struct seg_file {
    vfs_file *f;
    int refs;
} seg_file;

struct wal {
    vfs *v;
    char *dir;
    wal_options opt;
    XXH64_state_t *xs;

    uint64_t *segs; /* first seqs of the segments, ascending; the last is current */
    size_t nsegs, segcap;

    /* Guarded by mu when the thread runs: cur, cur_size, synced_size,
     * sync_gen, bg_errno, last_sync_ms, st.fsyncs, st.fsync_errors. */
    seg_file *cur;
    uint64_t cur_seq;     /* the current segment's first seq (its name) */
    uint64_t cur_size;    /* bytes of it known written */
    uint64_t synced_size; /* bytes of it known synced */
    uint64_t sync_gen;    /* bumped when cur or cur_size moves back: stale syncs don't count */
    int bg_errno;         /* a background sync failed with this errno */
    uint64_t last_sync_ms;

    /* Bytes [buf_off, buf_off + buf_len) of the current segment: the
     * unsynced written ones (kept to rewrite after a failure), then the
     * queued ones at [cur_size, ...). */
    uint8_t *buf;
    size_t buf_len, buf_cap;
    uint64_t buf_off;

    uint64_t next_seq;
    bool failed;          /* a failure awaits a successful flush */
    char fail_msg[1024];

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool th_started, stop;

    wal_stats st;
};

void wal_options_init(wal_options *o)
{
    memset(o, 0, sizeof *o);
    o->segment_max_bytes = WAL_DEFAULT_SEGMENT_MAX_BYTES;
    o->fsync_mode = WAL_FSYNC_EVERYSEC;
    o->start_seq = 0;
    o->everysec_thread = true;
}

static void seg_release(wal_t *w, seg_file *sf)
{
    if (!sf)
        return;
    pthread_mutex_lock(&w->mu);
    bool last = --sf->refs == 0;
    pthread_mutex_unlock(&w->mu);
    if (last) {
        w->v->close(w->v, sf->f);
        free(sf);
    }
}

static void cur_path(wal_t *w, char out[WAL_PATH_BYTES])
{
    if (seg_path(w->dir, w->cur_seq, out))
        snprintf(out, WAL_PATH_BYTES, "%s/wal-%" PRIu64 ".log", w->dir, w->cur_seq);
}

/* Turns the log read-only with a message; returns SEGDB_EREADONLY. */
static int fail(wal_t *w, segdb_err *err, int e, const char *what)
{
    char path[WAL_PATH_BYTES];
    cur_path(w, path);
    snprintf(w->fail_msg, sizeof w->fail_msg, "%s %.*s failed: %s", what, WAL_MSG_PATH_CHARS,
             path, strerror(e));
    w->failed = true;
    return set_err(err, SEGDB_EREADONLY, "write-ahead log: %s", w->fail_msg);
}

/* After a failed sync the kernel may have dropped what it had not written:
 * count only the synced prefix as written, so the next flush rewrites the rest. */
static void rewind_to_synced(wal_t *w)
{
    pthread_mutex_lock(&w->mu);
    w->cur_size = w->synced_size;
    w->sync_gen++;
    pthread_mutex_unlock(&w->mu);
}

/* Drops buffered bytes nobody will need to rewrite. */
static void buf_compact(wal_t *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t keep = w->opt.fsync_mode == WAL_FSYNC_NO ? w->cur_size : w->synced_size;
    pthread_mutex_unlock(&w->mu);
    if (keep <= w->buf_off)
        return;
    size_t k = (size_t)(keep - w->buf_off);
    if (k > w->buf_len)
        k = w->buf_len;
    memmove(w->buf, w->buf + k, w->buf_len - k);
    w->buf_len -= k;
    w->buf_off += k;
    if (w->buf_len == 0 && w->buf_cap > WAL_KEEP_BUFFER_BYTES) {
        free(w->buf); /* one huge record must not pin its buffer forever */
        w->buf = NULL;
        w->buf_cap = 0;
    }
}

static int buf_reserve(wal_t *w, size_t more)
{
    if (w->buf_cap - w->buf_len >= more)
        return 0;
    size_t cap = w->buf_cap ? w->buf_cap : 64 * 1024;
    while (cap - w->buf_len < more) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    uint8_t *p = realloc(w->buf, cap);
    if (!p)
        return -ENOMEM;
    w->buf = p;
    w->buf_cap = cap;
    return 0;
}

/* Synchronous fdatasync of the current segment from the main thread. */
static int sync_now(wal_t *w, segdb_err *err)
{
    pthread_mutex_lock(&w->mu);
    uint64_t target = w->cur_size;
    uint64_t gen = ++w->sync_gen; /* a concurrent background result is now stale */
    pthread_mutex_unlock(&w->mu);
    int rc = w->v->fdatasync(w->v, w->cur->f);
    pthread_mutex_lock(&w->mu);
    w->last_sync_ms = now_ms();
    if (rc == 0) {
        w->st.fsyncs++;
        if (gen == w->sync_gen && target > w->synced_size)
            w->synced_size = target;
    } else {
        w->st.fsync_errors++;
    }
    pthread_mutex_unlock(&w->mu);
    if (rc) {
        rewind_to_synced(w);
        return fail(w, err, -rc, "fdatasync of");
    }
    return 0;
}

/* Creates segment wal-<seq>.log with its header, durable unless mode no.
 * On success it becomes the current segment. */
static int segment_create(wal_t *w, uint64_t seq, segdb_err *err)
{
    char path[WAL_PATH_BYTES];
    if (seg_path(w->dir, seq, path))
        return set_err(err, SEGDB_EINVAL, "%s: path too long", w->dir);
    if (w->nsegs == w->segcap) {
        size_t cap = w->segcap ? w->segcap * 2 : 16;
        uint64_t *p = realloc(w->segs, cap * sizeof *p);
        if (!p)
            return set_err(err, SEGDB_ENOMEM, "out of memory");
        w->segs = p;
        w->segcap = cap;
    }
    seg_file *sf = calloc(1, sizeof *sf);
    if (!sf)
        return set_err(err, SEGDB_ENOMEM, "out of memory");
    sf->refs = 1;
    const char *what = "creating";
    int rc = w->v->open(w->v, path, VFS_O_READ | VFS_O_WRITE | VFS_O_CREATE | VFS_O_TRUNC, &sf->f);
    if (rc) {
        sf->f = NULL;
        goto fail;
    }
    uint8_t h[WAL_FILE_HEADER_BYTES];
    file_header_encode(h, seq);
    what = "writing the header of";
    rc = w->v->write(w->v, sf->f, 0, h, sizeof h);
    if (rc == 0 && w->opt.fsync_mode != WAL_FSYNC_NO) {
        what = "fsync of";
        rc = w->v->fsync(w->v, sf->f);
        if (rc == 0) {
            what = "fsync of the directory of";
            rc = w->v->fsync_dir(w->v, w->dir);
        }
    }
    if (rc)
        goto fail;

    pthread_mutex_lock(&w->mu);
    seg_file *old = w->cur;
    w->cur = sf;
    w->cur_seq = seq;
    w->cur_size = w->synced_size = WAL_FILE_HEADER_BYTES;
    w->sync_gen++;
    pthread_mutex_unlock(&w->mu);
    seg_release(w, old);
    w->buf_off = WAL_FILE_HEADER_BYTES;
    w->buf_len = 0;
    w->segs[w->nsegs++] = seq;
    w->st.segments = w->nsegs;
    w->st.bytes_written += sizeof h;
    return 0;

fail:
    if (sf->f) {
        w->v->close(w->v, sf->f);
        w->v->unlink(w->v, path); /* best effort: a torn header is cut by recovery */
    }
    free(sf);
    snprintf(w->fail_msg, sizeof w->fail_msg, "%s %.*s failed: %s", what, WAL_MSG_PATH_CHARS,
             path, strerror(-rc));
    w->failed = true;
    return set_err(err, SEGDB_EREADONLY, "write-ahead log: %s", w->fail_msg);
}

/* Closes the current segment (synced unless mode no) and starts the next. */
static int rotate(wal_t *w, segdb_err *err)
{
    if (w->opt.fsync_mode != WAL_FSYNC_NO) {
        pthread_mutex_lock(&w->mu);
        bool dirty = w->synced_size < w->cur_size;
        pthread_mutex_unlock(&w->mu);
        if (dirty) {
            int rc = sync_now(w, err);
            if (rc)
                return rc;
        }
    }
    return segment_create(w, w->next_seq, err);
}

/* One everysec step: fdatasync when something is unsynced and (unless force)
 * a second has passed. from_thread: report a failure through bg_errno. */
static int everysec_step(wal_t *w, bool force, bool from_thread, segdb_err *err)
{
    pthread_mutex_lock(&w->mu);
    uint64_t now = now_ms();
    if (!w->cur || w->cur_size <= w->synced_size ||
        (!force && now - w->last_sync_ms < 1000)) {
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    seg_file *sf = w->cur;
    sf->refs++;
    uint64_t target = w->cur_size, gen = w->sync_gen;
    pthread_mutex_unlock(&w->mu);

    int rc = w->v->fdatasync(w->v, sf->f);

    pthread_mutex_lock(&w->mu);
    w->last_sync_ms = now_ms();
    bool current = gen == w->sync_gen;
    if (rc == 0) {
        w->st.fsyncs++;
        if (current && target > w->synced_size)
            w->synced_size = target;
    } else {
        w->st.fsync_errors++;
        if (current && from_thread)
            w->bg_errno = -rc;
    }
    pthread_mutex_unlock(&w->mu);
    seg_release(w, sf);
    if (rc && current && !from_thread) {
        rewind_to_synced(w);
        return fail(w, err, -rc, "fdatasync of");
    }
    return 0;
}

static void *everysec_main(void *arg)
{
    wal_t *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += 1;
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &dl) != ETIMEDOUT)
            ;
        if (w->stop)
            break;
        pthread_mutex_unlock(&w->mu);
        everysec_step(w, true, true, NULL);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int wal_everysec_tick(wal_t *w, bool force, segdb_err *err)
{
    if (!w)
        return set_err(err, SEGDB_EINVAL, "no log");
    if (w->failed || !w->cur)
        return 0; /* the next wal_flush retries and syncs */
    return everysec_step(w, force, false, err);
}

int wal_append(wal_t *w, uint64_t seq, const void *body, size_t len, segdb_err *err)
{
    if (!w)
        return set_err(err, SEGDB_EINVAL, "no log");
    if (w->failed)
        return set_err(err, SEGDB_EREADONLY, "write-ahead log: %s", w->fail_msg);
    if (seq == UINT64_MAX)
        return set_err(err, SEGDB_ELIMIT, "log sequence numbers are exhausted");
    if (seq != w->next_seq)
        return set_err(err, SEGDB_EINVAL, "log record seq %" PRIu64 ", the log expects %" PRIu64,
                       seq, w->next_seq);
    if (len > WAL_MAX_RECORD_BYTES)
        return set_err(err, SEGDB_ELIMIT, "log record of %zu bytes, over the %u-byte limit", len,
                       WAL_MAX_RECORD_BYTES);
    if (len && !body)
        return set_err(err, SEGDB_EINVAL, "log record without a body");
    size_t bound = (size_t)LZ4_COMPRESSBOUND((int)len);
    if (bound < len)
        bound = len;
    if (buf_reserve(w, WAL_FRAME_HEADER_BYTES + bound))
        return set_err(err, SEGDB_ENOMEM, "out of memory queueing a log record");
    uint8_t *fr = w->buf + w->buf_len;
    uint8_t flags = 0;
    size_t stored = len;
    if (len >= WAL_COMPRESS_MIN_BYTES) {
        int c = LZ4_compress_default(body, (char *)fr + WAL_FRAME_HEADER_BYTES, (int)len,
                                     (int)bound);
        if (c > 0 && (size_t)c < len) {
            flags = WAL_FLAG_LZ4;
            stored = (size_t)c;
        }
    }
    if (!flags && len)
        memcpy(fr + WAL_FRAME_HEADER_BYTES, body, len);
    put_u32(fr, (uint32_t)(WAL_FRAME_HEADER_BYTES + stored));
    put_u64(fr + 4, seq);
    put_u32(fr + 12, (uint32_t)len);
    fr[16] = flags;
    put_u64(fr + 17, frame_checksum(w->xs, fr, stored));
    w->buf_len += WAL_FRAME_HEADER_BYTES + stored;
    w->next_seq++;
    w->st.records++;
    w->st.last_seq = seq;
    return 0;
}

int wal_flush(wal_t *w, segdb_err *err)
{
    if (!w)
        return set_err(err, SEGDB_EINVAL, "no log");
    int rc;
    pthread_mutex_lock(&w->mu);
    int bg = w->bg_errno;
    w->bg_errno = 0;
    pthread_mutex_unlock(&w->mu);
    if (bg) {
        rewind_to_synced(w);
        fail(w, NULL, bg, "background fdatasync of");
    }
    /* A retry needs no cut first: whatever a failed write or a failed sync
     * left past cur_size is a prefix of the bytes written again below, from
     * the same offset (appends are refused while the log is failed). */
    bool retry = w->failed;
    uint64_t end = w->buf_off + w->buf_len;
    if (end > w->cur_size) {
        size_t from = (size_t)(w->cur_size - w->buf_off);
        rc = w->v->write(w->v, w->cur->f, w->cur_size, w->buf + from, w->buf_len - from);
        if (rc) {
            w->st.write_errors++;
            w->v->truncate(w->v, w->cur->f, w->cur_size); /* best effort; retried */
            return fail(w, err, -rc, "write to");
        }
        w->st.bytes_written += w->buf_len - from;
        w->st.flushes++;
        pthread_mutex_lock(&w->mu);
        w->cur_size = end;
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_lock(&w->mu);
    uint64_t unsynced = w->cur_size - w->synced_size;
    pthread_mutex_unlock(&w->mu);
    bool must_sync = false;
    if (w->opt.fsync_mode == WAL_FSYNC_ALWAYS)
        must_sync = unsynced > 0;
    else if (w->opt.fsync_mode == WAL_FSYNC_EVERYSEC)
        must_sync = unsynced > 0 && (retry || unsynced > WAL_MAX_UNSYNCED_BYTES);
    if (must_sync) {
        rc = sync_now(w, err);
        if (rc)
            return rc;
    }
    w->failed = false;
    w->fail_msg[0] = 0;
    w->st.durable_seq = w->next_seq - 1;
    buf_compact(w);
    /* The records above are written (and synced per the mode): this flush
     * succeeded whatever the rotation does. A failed rotation turns the log
     * read-only, so the next wal_append reports it and wal_flush retries it. */
    if (w->cur_size >= w->opt.segment_max_bytes)
        rotate(w, NULL);
    return 0;
}

int wal_remove_before(wal_t *w, uint64_t seq, uint64_t *removed, segdb_err *err)
{
    if (removed)
        *removed = 0;
    if (!w)
        return set_err(err, SEGDB_EINVAL, "no log");
    size_t k = 0; /* segments removed from the front */
    int rc = 0;
    while (k + 1 < w->nsegs && w->segs[k + 1] - 1 <= seq) {
        char path[WAL_PATH_BYTES];
        if (seg_path(w->dir, w->segs[k], path))
            break;
        rc = w->v->unlink(w->v, path);
        if (rc && rc != -ENOENT) {
            rc = set_err(err, io_code(rc), "write-ahead log: cannot delete %s: %s", path,
                         strerror(-rc));
            break;
        }
        rc = 0;
        k++;
    }
    if (k) {
        memmove(w->segs, w->segs + k, (w->nsegs - k) * sizeof *w->segs);
        w->nsegs -= k;
        w->st.segments = w->nsegs;
        int r2 = w->v->fsync_dir(w->v, w->dir);
        if (r2 && rc == 0)
            rc = set_err(err, io_code(r2), "write-ahead log: fsync of %s failed: %s", w->dir,
                         strerror(-r2));
    }
    if (removed)
        *removed = k;
    return rc;
}

void wal_get_stats(wal_t *w, wal_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    st->segment_first_seq = w->cur_seq;
    st->segment_bytes = w->cur_size;
    pthread_mutex_unlock(&w->mu);
    st->pending_bytes = w->buf_off + w->buf_len > w->cur_size ? w->buf_off + w->buf_len - w->cur_size
                                                              : 0;
    st->truncated_bytes = w->opt.recovered_truncated_bytes;
    st->readonly = w->failed;
    snprintf(st->last_error, sizeof st->last_error, "%s", w->failed ? w->fail_msg : "");
}

static void wal_free(wal_t *w)
{
    if (!w)
        return;
    if (w->th_started) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
        w->th_started = false;
    }
    seg_release(w, w->cur);
    w->cur = NULL;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    XXH64_freeState(w->xs);
    free(w->segs);
    free(w->buf);
    free(w->dir);
    free(w);
}

int wal_close(wal_t *w, segdb_err *err)
{
    if (!w)
        return 0;
    if (w->th_started) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->th, NULL);
        w->th_started = false;
    }
    int rc = wal_flush(w, err);
    if (rc == 0 && w->opt.fsync_mode == WAL_FSYNC_EVERYSEC && w->cur)
        rc = everysec_step(w, true, false, err);
    wal_free(w);
    return rc;
}

/* Verifies the last segment for wal_open: it must end on a whole good frame. */
static int open_check_last(wal_t *w, uint64_t seq, walk *wk, segdb_err *err)
{
    char path[WAL_PATH_BYTES];
    if (seg_path(w->dir, seq, path))
        return set_err(err, SEGDB_EINVAL, "%s: path too long", w->dir);
    scanner s = {.v = w->v, .xs = w->xs};
    int rc = rd_open(&s.rd, w->v, path);
    if (rc)
        return set_err(err, io_code(rc), "%s: cannot open: %s", path, strerror(-rc));
    rc = walk_segment(&s, path, seq, 0, false, wk, err);
    rd_close(&s.rd);
    free(s.rd.buf);
    if (rc == 0 && wk->damaged)
        rc = set_err(err, SEGDB_EINVAL,
                     "%s: damaged at offset %" PRIu64 " (%s); run recovery (wal_scan) before "
                     "opening the log for writing",
                     path, wk->end, wk->reason);
    return rc;
}

int wal_open(const char *dir, vfs *v, const wal_options *opts, wal_t **out, segdb_err *err)
{
    *out = NULL;
    if (!dir || !*dir)
        return set_err(err, SEGDB_EINVAL, "write-ahead log: no directory");
    wal_t *w = calloc(1, sizeof *w);
    if (!w)
        return set_err(err, SEGDB_ENOMEM, "out of memory");
    w->v = v ? v : vfs_posix();
    if (opts)
        w->opt = *opts;
    else
        wal_options_init(&w->opt);
    if (!w->opt.segment_max_bytes)
        w->opt.segment_max_bytes = WAL_DEFAULT_SEGMENT_MAX_BYTES;
    if (pthread_mutex_init(&w->mu, NULL)) {
        free(w);
        return set_err(err, SEGDB_ENOMEM, "out of memory");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int prc = pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (prc) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        return set_err(err, SEGDB_ENOMEM, "out of memory");
    }
    int rc;
    w->dir = strdup(dir);
    w->xs = XXH64_createState();
    if (!w->dir || !w->xs) {
        rc = set_err(err, SEGDB_ENOMEM, "out of memory");
        goto done;
    }
    rc = w->v->mkdir(w->v, dir);
    if (rc && rc != -EEXIST) {
        rc = set_err(err, io_code(rc), "%s: cannot create the log directory: %s", dir,
                     strerror(-rc));
        goto done;
    }
    seg_list l;
    rc = list_segments(w->v, dir, &l);
    if (rc) {
        rc = set_err(err, io_code(rc), "%s: cannot list the log directory: %s", dir,
                     strerror(-rc));
        goto done;
    }
    w->segs = l.seq;
    w->nsegs = l.n;
    w->segcap = l.cap;
    uint64_t next = w->opt.start_seq ? w->opt.start_seq : 1;
    if (w->nsegs) {
        uint64_t last = w->segs[w->nsegs - 1];
        walk wk;
        rc = open_check_last(w, last, &wk, err);
        if (rc)
            goto done;
        uint64_t lnext = wk.last_seq + 1;
        if (w->opt.start_seq && lnext > w->opt.start_seq) {
            rc = set_err(err, SEGDB_EINVAL,
                         "%s: the log holds records up to seq %" PRIu64
                         "; replay it before writing from seq %" PRIu64,
                         dir, wk.last_seq, w->opt.start_seq);
            goto done;
        }
        if (lnext < next) {
            /* Every record here precedes start_seq: a snapshot holds them. */
            for (size_t i = 0; i < w->nsegs; i++) {
                char path[WAL_PATH_BYTES];
                if (seg_path(dir, w->segs[i], path) == 0)
                    rc = w->v->unlink(w->v, path);
                if (rc && rc != -ENOENT) {
                    rc = set_err(err, io_code(rc), "%s: cannot delete: %s", path, strerror(-rc));
                    goto done;
                }
                rc = 0;
            }
            w->nsegs = 0;
        } else {
            char path[WAL_PATH_BYTES];
            seg_path(dir, last, path);
            seg_file *sf = calloc(1, sizeof *sf);
            if (!sf) {
                rc = set_err(err, SEGDB_ENOMEM, "out of memory");
                goto done;
            }
            sf->refs = 1;
            rc = w->v->open(w->v, path, VFS_O_READ | VFS_O_WRITE, &sf->f);
            if (rc == 0 && w->opt.fsync_mode != WAL_FSYNC_NO)
                rc = w->v->fdatasync(w->v, sf->f); /* replayed records are durable first */
            if (rc) {
                if (sf->f)
                    w->v->close(w->v, sf->f);
                free(sf);
                rc = set_err(err, io_code(rc), "%s: cannot open for writing: %s", path,
                             strerror(-rc));
                goto done;
            }
            w->cur = sf;
            w->cur_seq = last;
            w->cur_size = w->synced_size = wk.end;
            w->buf_off = wk.end;
            next = lnext;
        }
    }
    w->next_seq = next;
    w->st.durable_seq = next - 1;
    if (!w->nsegs) {
        rc = segment_create(w, next, err);
        if (rc)
            goto done;
    } else if (w->cur_size >= w->opt.segment_max_bytes) {
        rc = segment_create(w, next, err);
        if (rc)
            goto done;
    }
    w->st.segments = w->nsegs;
    w->last_sync_ms = now_ms();
    if (w->opt.fsync_mode == WAL_FSYNC_EVERYSEC && w->opt.everysec_thread) {
        if (pthread_create(&w->th, NULL, everysec_main, w)) {
            rc = set_err(err, SEGDB_ENOMEM, "write-ahead log: cannot start the fsync thread");
            goto done;
        }
        w->th_started = true;
    }
    rc = 0;
done:
    if (rc) {
        wal_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

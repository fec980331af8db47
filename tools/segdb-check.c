/*
 * segdb-check — inspect (and repair) a segdb data directory or one of its
 * files without starting a server.
 *
 *   segdb-check [--dump] [--repair] PATH
 *
 * PATH is a data directory, one log segment (wal-<seq>.log) or one snapshot
 * (snapshot-<seq>.sdb). For a directory it lists the snapshots (seq, size,
 * checksum verdict with the offset of what is wrong), the log segments (seq
 * range, record count, bytes, the first damage with its offset and how many
 * valid records follow it), then the verdict a server start would reach: the
 * snapshot it would load and the records it would replay, a torn tail it
 * would cut, or damage it would refuse. --dump prints every log record (seq,
 * stored and body length, LZ4 or raw, kind byte and name). --repair (a
 * directory only) cuts what a start would cut, and damage in the middle too,
 * after printing what that loses — the same cut as `segdb-server --repair`
 * makes in the log (the server's --repair also replays the records and
 * handles corrupt snapshots).
 *
 * Exit status: 0 = nothing damaged (or the repair succeeded), 1 = damage
 * found and left as it is, 2 = bad usage or an I/O error.
 *
 * The segment walk here re-reads the format documented at the top of
 * storage/wal.c itself (to report per segment); the directory verdict and
 * the repair use wal_scan, the server's own code.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include "ops.h"
#include "snapshot.h"
#include "vfs.h"
#include "wal.h"

#define FLAG_LZ4 1u

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static const char *kind_name(int k)
{
    switch (k) {
    case REC_UPSERT: return "upsert";
    case REC_DELETE: return "delete";
    case REC_FIELD_CREATE: return "field.create";
    case REC_TAG: return "tag";
    case REC_UNTAG: return "untag";
    case REC_SET: return "set";
    case REC_ARCHIVE: return "archive";
    case REC_UNARCHIVE: return "unarchive";
    case REC_SEGMENT_SAVE: return "segment.save";
    case REC_SEGMENT_FREEZE: return "segment.freeze";
    case REC_SEGMENT_DEL: return "segment.del";
    case REC_GROUP_CREATE: return "group.create";
    case REC_GROUP_ADD: return "group.add";
    case REC_GROUP_REMOVE: return "group.remove";
    case REC_GROUP_DEL: return "group.del";
    case REC_NOTE_ADD: return "note.add";
    case REC_NOTE_EDIT: return "note.edit";
    case REC_NOTE_DEL: return "note.del";
    case REC_IMPORT: return "import";
    }
    return "unknown";
}

/* The whole file in memory (segments are at most 64 MiB plus one flush). */
static int slurp(const char *path, uint8_t **data, uint64_t *len)
{
    vfs *v = vfs_posix();
    vfs_file *f;
    *data = NULL;
    *len = 0;
    int rc = v->open(v, path, VFS_O_READ, &f);
    if (rc)
        return rc;
    uint64_t size = 0;
    rc = v->size(v, f, &size);
    if (rc == 0 && size > SIZE_MAX / 2)
        rc = -EFBIG;
    uint8_t *buf = rc ? NULL : malloc(size ? (size_t)size : 1);
    if (rc == 0 && !buf)
        rc = -ENOMEM;
    size_t got = 0;
    if (rc == 0)
        rc = v->read(v, f, 0, buf, (size_t)size, &got);
    v->close(v, f);
    if (rc) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = got;
    return 0;
}

/* ---- one log segment ------------------------------------------------------ */

typedef struct seg_report {
    uint64_t first, last, records, bytes;
    bool damaged;
    uint64_t damage_at;
    char why[160];
    uint64_t valid_after;      /* frames after the damage that check out */
    bool io_error;
} seg_report;

/* Does a checked frame start at off? *len / *seq filled when it does. */
static bool frame_ok(const uint8_t *d, uint64_t size, uint64_t off, uint32_t *len, uint64_t *seq,
                     char *why, size_t whycap)
{
    if (size - off < WAL_FRAME_HEADER_BYTES) {
        snprintf(why, whycap, "truncated frame header (%" PRIu64 " bytes left)", size - off);
        return false;
    }
    const uint8_t *h = d + off;
    uint32_t flen = le32(h), ulen = le32(h + 12);
    uint8_t flags = h[16];
    uint64_t stored = flen >= WAL_FRAME_HEADER_BYTES ? flen - WAL_FRAME_HEADER_BYTES : 0;
    bool plausible = flen >= WAL_FRAME_HEADER_BYTES && !(flags & ~FLAG_LZ4) && ulen <= WAL_MAX_RECORD_BYTES &&
                     ((flags & FLAG_LZ4) ? stored > 0 && stored <= (uint64_t)LZ4_COMPRESSBOUND(ulen)
                                         : stored == ulen);
    if (!plausible) {
        snprintf(why, whycap, "impossible frame header (length %" PRIu32 ", body %" PRIu32 ", flags 0x%02x)",
                 flen, ulen, flags);
        return false;
    }
    if (flen > size - off) {
        snprintf(why, whycap, "frame of %" PRIu32 " bytes runs past the end of the file", flen);
        return false;
    }
    XXH64_state_t xs; /* on the stack: the state is a plain struct */
    XXH64_reset(&xs, 0);
    XXH64_update(&xs, h, 17);
    XXH64_update(&xs, h + WAL_FRAME_HEADER_BYTES, stored);
    bool sum = XXH64_digest(&xs) == le64(h + 17);
    if (!sum) {
        snprintf(why, whycap, "bad checksum");
        return false;
    }
    *len = flen;
    *seq = le64(h + 4);
    return true;
}

static void dump_record(const uint8_t *fr, uint64_t off)
{
    uint32_t flen = le32(fr), ulen = le32(fr + 12);
    uint8_t flags = fr[16];
    uint64_t seq = le64(fr + 4);
    int kind = -1;
    const uint8_t *body = fr + WAL_FRAME_HEADER_BYTES;
    size_t stored = flen - WAL_FRAME_HEADER_BYTES;
    if (!(flags & FLAG_LZ4)) {
        if (stored)
            kind = body[0];
    } else if (ulen) {
        /* The first byte only: a partial decode is enough. */
        char first[16];
        int n = LZ4_decompress_safe_partial((const char *)body, first, (int)stored, 1, (int)sizeof first);
        if (n >= 1)
            kind = (uint8_t)first[0];
    }
    printf("    seq %-10" PRIu64 " offset %-10" PRIu64 " stored %-8zu length %-8" PRIu32 " %-4s kind %3d %s\n",
           seq, off, stored, ulen, flags & FLAG_LZ4 ? "lz4" : "raw", kind,
           kind < 0 ? "(empty)" : kind_name(kind));
}

/* Walks one segment named for first_seq (0: take the header's). */
static int check_segment(const char *path, uint64_t first_seq, bool dump, seg_report *r)
{
    memset(r, 0, sizeof *r);
    uint8_t *d;
    uint64_t size;
    int rc = slurp(path, &d, &size);
    if (rc) {
        fprintf(stderr, "segdb-check: %s: %s\n", path, strerror(-rc));
        r->io_error = true;
        return 2;
    }
    r->bytes = size;
    r->first = first_seq;
    uint64_t off = WAL_FILE_HEADER_BYTES, expect = first_seq;
    if (size < WAL_FILE_HEADER_BYTES) {
        off = 0;
        r->damaged = true;
        snprintf(r->why, sizeof r->why, "truncated segment header (%" PRIu64 " bytes)", size);
        goto done;
    }
    if (memcmp(d, "SEGDBWAL", 8) || le64(d + 24) != XXH64(d, 24, 0)) {
        off = 0;
        r->damaged = true;
        snprintf(r->why, sizeof r->why, "bad segment header (%s)", memcmp(d, "SEGDBWAL", 8) ? "magic" : "checksum");
        goto done;
    }
    if (le32(d + 8) != WAL_FORMAT_VERSION || le32(d + 12) != 0) {
        off = 0;
        r->damaged = true;
        snprintf(r->why, sizeof r->why, "format version %" PRIu32 ".%" PRIu32 " (this build reads %u)",
                 le32(d + 8), le32(d + 12), WAL_FORMAT_VERSION);
        goto done;
    }
    if (!first_seq)
        expect = r->first = le64(d + 16);
    else if (le64(d + 16) != first_seq) {
        off = 0;
        r->damaged = true;
        snprintf(r->why, sizeof r->why, "header says first seq %" PRIu64 ", the name %" PRIu64,
                 le64(d + 16), first_seq);
        goto done;
    }
    r->last = expect - 1;
    while (off < size) {
        uint32_t len;
        uint64_t seq;
        if (!frame_ok(d, size, off, &len, &seq, r->why, sizeof r->why)) {
            r->damaged = true;
            break;
        }
        if (seq != expect) {
            snprintf(r->why, sizeof r->why, "wrong sequence: expected %" PRIu64 ", found %" PRIu64, expect, seq);
            r->damaged = true;
            break;
        }
        if (dump)
            dump_record(d + off, off);
        r->records++;
        r->last = seq;
        expect++;
        off += len;
    }
done:
    if (r->damaged) {
        r->damage_at = off;
        /* valid frames after the damage, with seqs after the last good one */
        uint64_t after = r->last, q = r->damage_at < WAL_FILE_HEADER_BYTES ? WAL_FILE_HEADER_BYTES : r->damage_at + 1;
        char ignore[160];
        while (size >= WAL_FRAME_HEADER_BYTES && q + WAL_FRAME_HEADER_BYTES <= size) {
            uint32_t len;
            uint64_t seq;
            if (frame_ok(d, size, q, &len, &seq, ignore, sizeof ignore) && seq > after) {
                r->valid_after++;
                after = seq;
                q += len;
            } else {
                q++;
            }
        }
    }
    free(d);
    return 0;
}

static void print_segment(const char *name, const seg_report *r)
{
    if (r->records)
        printf("  %s  records %" PRIu64 "..%" PRIu64 " (%" PRIu64 ")  %" PRIu64 " bytes", name, r->first,
               r->last, r->records, r->bytes);
    else
        printf("  %s  no record (expects seq %" PRIu64 ")  %" PRIu64 " bytes", name, r->first, r->bytes);
    if (!r->damaged)
        printf("  ok\n");
    else
        printf("  DAMAGED at offset %" PRIu64 ": %s; %" PRIu64 " valid record(s) follow in this file\n",
               r->damage_at, r->why, r->valid_after);
}

/* ---- snapshots ------------------------------------------------------------ */

static bool print_snapshot(const char *path, const char *name, uint64_t seq)
{
    snapshot_info si;
    segdb_err e = {0};
    int rc = snapshot_verify(path, NULL, seq, &si, &e);
    if (rc == 0) {
        printf("  %s  seq %" PRIu64 "  %" PRIu64 " bytes  ok (stream %" PRIu64 " bytes, xxh64 %016" PRIx64 ")\n",
               name, si.seq, si.file_bytes, si.stream_bytes, si.checksum);
        return true;
    }
    printf("  %s  seq %" PRIu64 "  CORRUPT: %s\n", name, seq, e.msg);
    return false;
}

/* ---- a directory ------------------------------------------------------------ */

typedef struct seglist {
    uint64_t *v;
    size_t n, cap;
    bool oom;
} seglist;

static int seg_cb(void *ctx, const char *name)
{
    seglist *s = ctx;
    uint64_t q;
    if (!wal_parse_segment_name(name, &q))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        uint64_t *p = realloc(s->v, cap * sizeof *p);
        if (!p) {
            s->oom = true;
            return 1;
        }
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = q;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int check_dir(const char *dir, bool dump, bool repair)
{
    int status = 0;
    segdb_err e = {0};
    snapshot_list sl;
    if (snapshot_list_dir(dir, NULL, &sl, &e)) {
        fprintf(stderr, "segdb-check: %s\n", e.msg);
        return 2;
    }
    printf("%s\nsnapshots:\n", dir);
    uint64_t base = 0, newest = 0;
    bool have_base = false;
    if (!sl.n && !sl.ntmp && !sl.ncorrupt)
        printf("  (none)\n");
    for (size_t i = sl.n; i-- > 0;) {
        char name[SNAPSHOT_NAME_BYTES], path[SNAPSHOT_PATH_BYTES];
        snapshot_name(sl.seq[i], name);
        snapshot_path(dir, name, path);
        if (sl.seq[i] > newest)
            newest = sl.seq[i];
        if (print_snapshot(path, name, sl.seq[i])) {
            if (!have_base) {
                have_base = true;
                base = sl.seq[i];
            }
        } else {
            status = 1;
        }
    }
    for (size_t i = 0; i < sl.ntmp; i++) {
        char name[SNAPSHOT_NAME_BYTES];
        snapshot_name(sl.tmp[i], name);
        printf("  %s.tmp  unfinished (a start deletes it)\n", name);
    }
    for (size_t i = 0; i < sl.ncorrupt; i++) {
        char name[SNAPSHOT_NAME_BYTES];
        snapshot_name(sl.corrupt[i], name);
        printf("  %s.corrupt  set aside by an earlier start (never read)\n", name);
    }
    snapshot_list_free(&sl);

    /* segments, in seq order */
    printf("log segments:\n");
    seglist s = {0};
    vfs *v = vfs_posix();
    int lrc = v->list(v, dir, seg_cb, &s);
    if (lrc || s.oom) {
        fprintf(stderr, "segdb-check: %s: %s\n", dir, s.oom ? "out of memory" : strerror(-lrc));
        free(s.v);
        return 2;
    }
    if (s.n > 1)
        qsort(s.v, s.n, sizeof *s.v, cmp_u64);
    if (!s.n)
        printf("  (none)\n");
    for (size_t i = 0; i < s.n; i++) {
        char name[WAL_SEGMENT_NAME_BYTES], path[WAL_PATH_BYTES];
        wal_segment_name(s.v[i], name);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        seg_report r;
        if (check_segment(path, s.v[i], dump, &r)) {
            free(s.v);
            return 2;
        }
        print_segment(name, &r);
    }
    free(s.v);

    /* what a start would do */
    wal_scan_result res;
    int rc = wal_scan(dir, NULL, base, NULL, NULL, WAL_SCAN_DRY_RUN, &res, &e);
    printf("verdict:\n");
    if (rc && res.status != WAL_SCAN_DAMAGED) {
        printf("  log: %s\n", e.msg);
        return 2;
    }
    if (res.records)
        printf("  log: records %" PRIu64 "..%" PRIu64 " in %" PRIu64 " segment(s)\n", res.first_seq, res.last_seq,
               res.segments);
    else
        printf("  log: no record in %" PRIu64 " segment(s)\n", res.segments);
    if (newest > base || (!have_base && newest))
        printf("  the newest snapshot is unusable: a start falls back to %s%s when the log covers seq %" PRIu64
               " (see recovery in docs/storage.md)\n",
               have_base ? "the snapshot at seq " : "an empty database", "", newest);
    if (have_base)
        printf("  a start loads the snapshot at seq %" PRIu64 "\n", base);
    switch (res.status) {
    case WAL_SCAN_CLEAN:
        if (res.last_seq > base)
            printf("  log is clean: a start replays records %" PRIu64 "..%" PRIu64 "\n", base + 1,
                   res.last_seq);
        else
            printf("  log is clean: nothing to replay after seq %" PRIu64 "\n", base);
        break;
    case WAL_SCAN_TAIL_CUT:
        status = 1;
        printf("  torn tail: %s at offset %" PRIu64 " (%s): a start cuts %" PRIu64 " bytes (no valid record)\n",
               res.file, res.offset, res.reason, res.dropped_bytes);
        break;
    case WAL_SCAN_DAMAGED:
    case WAL_SCAN_REPAIRED:
        status = 1;
        printf("  DAMAGE IN THE MIDDLE: %s at offset %" PRIu64 " (%s), followed by %" PRIu64
               " valid record(s) in %" PRIu64 " bytes: a start refuses; a repair cuts there and loses them\n",
               res.file, res.offset, res.reason, res.dropped_records, res.dropped_bytes);
        break;
    }
    if (repair && res.status != WAL_SCAN_CLEAN) {
        /* Never under a running server: take its lock (see server/main.c). */
        char lock[4096];
        snprintf(lock, sizeof lock, "%s/LOCK", dir);
        int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
            printf("repair refused: %s: %s\n", lock,
                   lfd >= 0 && errno == EWOULDBLOCK ? "a segdb-server uses this directory; stop it first"
                                                    : strerror(errno));
            if (lfd >= 0)
                close(lfd);
            return 2;
        }
        wal_scan_result done;
        rc = wal_scan(dir, NULL, base, NULL, NULL, WAL_SCAN_REPAIR, &done, &e);
        if (rc) {
            printf("repair failed: %s\n", e.msg);
            close(lfd);
            return 2;
        }
        printf("repaired: %s cut at offset %" PRIu64 "; lost %" PRIu64 " valid record(s), %" PRIu64
               " bytes, %" PRIu64 " segment file(s) deleted\n",
               done.file, done.offset, done.dropped_records, done.dropped_bytes, done.removed_segments);
        close(lfd);
        status = 0;
    }
    return status;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: segdb-check [--dump] [--repair] PATH\n"
            "  PATH      a data directory, a wal-<seq>.log segment or a snapshot-<seq>.sdb file\n"
            "  --dump    print every log record: seq, offset, stored and body length, lz4/raw, kind\n"
            "  --repair  (directory) cut a torn log tail, or damage in the middle after saying what\n"
            "            it loses, as a server start with --repair would\n"
            "exit: 0 nothing damaged (or repaired), 1 damage found, 2 usage or I/O error\n");
}

int main(int argc, char **argv)
{
    bool dump = false, repair = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dump"))
            dump = true;
        else if (!strcmp(argv[i], "--repair"))
            repair = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || path) {
            usage(stderr);
            return 2;
        } else
            path = argv[i];
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "segdb-check: %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (S_ISDIR(st.st_mode))
        return check_dir(path, dump, repair);
    if (repair) {
        fprintf(stderr, "segdb-check: --repair takes a data directory (the log's segments are cut together)\n");
        return 2;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    uint64_t seq;
    if (snapshot_parse_name(base, NULL, &seq) || snapshot_parse_name(base, ".corrupt", &seq) ||
        snapshot_parse_name(base, ".tmp", &seq))
        return print_snapshot(path, base, snapshot_parse_name(base, NULL, &seq) ? seq : SNAPSHOT_ANY_SEQ) ? 0 : 1;
    uint64_t first = 0;
    if (!wal_parse_segment_name(base, &first))
        first = 0; /* another name: trust the header */
    /* Neither name: sniff the magic. */
    FILE *f = fopen(path, "rb");
    char magic[8] = {0};
    size_t n = f ? fread(magic, 1, 8, f) : 0;
    if (f)
        fclose(f);
    if (n == 8 && !memcmp(magic, "SEGDBSNP", 8))
        return print_snapshot(path, base, SNAPSHOT_ANY_SEQ) ? 0 : 1;
    seg_report r;
    if (check_segment(path, first, dump, &r))
        return 2;
    print_segment(base, &r);
    return r.damaged ? 1 : 0;
}

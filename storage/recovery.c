/*
 * recovery.c — start-up (recovery.h): pick the newest snapshot that checks
 * out, fall back past corrupt ones only when the log proves nothing is lost
 * (or --repair accepts the loss), replay the log after it through
 * segdb_apply_record, and say every cut or refusal with file and offset.
 *
 * Reads the files described at the top of snapshot.c and wal.c; the only
 * format knowledge of its own is recovery_find_record's walk over frame
 * lengths (u32 frame_len at frame offset 0, u64 seq at 4, frames from offset
 * 32 of a segment), used after wal_scan has checked those frames.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "recovery.h"
#include "storage_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_PATH_CHARS 700

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void say(const recovery_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const recovery_options *o, const char *fmt, ...)
{
    char line[3 * 1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (o->say)
        o->say(o->say_ctx, line);
    else
        fprintf(stderr, "recovery: %s\n", line);
}

static uint64_t rd_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- the log's segments ----------------------------------------------- */

typedef struct segs {
    uint64_t *v;
    size_t n, cap;
    int err;
} segs;

static int segs_cb(void *ctx, const char *name)
{
    segs *s = ctx;
    uint64_t seq;
    if (!wal_parse_segment_name(name, &seq))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        uint64_t *p = realloc(s->v, cap * sizeof *p);
        if (!p) {
            s->err = -ENOMEM;
            return 1;
        }
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = seq;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_segs(const char *dir, vfs *v, segs *s, segdb_err *err)
{
    memset(s, 0, sizeof *s);
    int rc = v->list(v, dir, segs_cb, s);
    if (s->err)
        rc = s->err;
    if (rc == -ENOENT)
        rc = 0;
    if (rc) {
        free(s->v);
        memset(s, 0, sizeof *s);
        return set_err(err, io_code(rc), "cannot list %.*s: %s", MSG_PATH_CHARS, dir, strerror(-rc));
    }
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    return 0;
}

static int seg_path(const char *dir, uint64_t seq, char out[WAL_PATH_BYTES])
{
    char name[WAL_SEGMENT_NAME_BYTES];
    wal_segment_name(seq, name);
    int n = snprintf(out, WAL_PATH_BYTES, "%s/%s", dir, name);
    return n > 0 && n < WAL_PATH_BYTES ? 0 : -1;
}

static uint64_t file_size(vfs *v, const char *path)
{
    vfs_file *f;
    uint64_t sz = 0;
    if (v->open(v, path, VFS_O_READ, &f) == 0) {
        v->size(v, f, &sz);
        v->close(v, f);
    }
    return sz;
}

/* Finds seq in the segments s (index *si gets the segment). */
static int find_in(const char *dir, vfs *v, const segs *s, uint64_t seq, size_t *si,
                   char path[WAL_PATH_BYTES], uint64_t *offset, segdb_err *err)
{
    size_t k = s->n;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] <= seq)
            k = i;
    if (k == s->n)
        return set_err(err, SEGDB_ENOTFOUND, "no log segment holds seq %" PRIu64, seq);
    if (seg_path(dir, s->v[k], path))
        return set_err(err, SEGDB_EINVAL, "%s: path too long", dir);
    vfs_file *f;
    int rc = v->open(v, path, VFS_O_READ, &f);
    if (rc)
        return set_err(err, io_code(rc), "%.*s: cannot open: %s", MSG_PATH_CHARS, path, strerror(-rc));
    uint64_t size = 0, off = WAL_FILE_HEADER_BYTES;
    rc = v->size(v, f, &size);
    while (rc == 0 && size >= WAL_FRAME_HEADER_BYTES && off <= size - WAL_FRAME_HEADER_BYTES) {
        uint8_t h[WAL_FRAME_HEADER_BYTES];
        size_t got = 0;
        rc = v->read(v, f, off, h, sizeof h, &got);
        if (rc || got < sizeof h)
            break;
        uint32_t len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        uint64_t fseq = rd_u64(h + 4);
        if (fseq == seq) {
            v->close(v, f);
            *si = k;
            *offset = off;
            return 0;
        }
        if (len < WAL_FRAME_HEADER_BYTES || len > size - off)
            break;
        off += len;
    }
    v->close(v, f);
    if (rc)
        return set_err(err, io_code(rc), "%.*s: read failed: %s", MSG_PATH_CHARS, path, strerror(-rc));
    return set_err(err, SEGDB_ENOTFOUND, "%.*s does not hold seq %" PRIu64, MSG_PATH_CHARS, path, seq);
}

int recovery_find_record(const char *dir, vfs *v, uint64_t seq, char path[WAL_PATH_BYTES],
                         uint64_t *offset, segdb_err *err)
{
    if (!v)
        v = vfs_posix();
    segs s;
    int rc = list_segs(dir, v, &s, err);
    if (rc)
        return rc;
    size_t si;
    rc = find_in(dir, v, &s, seq, &si, path, offset, err);
    free(s.v);
    return rc;
}

int recovery_cut_log_at(const char *dir, vfs *v, uint64_t seq, uint64_t *dropped_bytes,
                        segdb_err *err)
{
    if (!v)
        v = vfs_posix();
    if (dropped_bytes)
        *dropped_bytes = 0;
    segs s;
    int rc = list_segs(dir, v, &s, err);
    if (rc)
        return rc;
    char path[WAL_PATH_BYTES];
    uint64_t off = 0, dropped = 0;
    size_t si = 0;
    rc = find_in(dir, v, &s, seq, &si, path, &off, err);
    if (rc)
        goto done;
    vfs_file *f;
    uint64_t size = 0;
    rc = v->open(v, path, VFS_O_READ | VFS_O_WRITE, &f);
    if (rc == 0) {
        rc = v->size(v, f, &size);
        if (rc == 0)
            rc = v->truncate(v, f, off);
        if (rc == 0)
            rc = v->fdatasync(v, f);
        v->close(v, f);
    }
    if (rc) {
        rc = set_err(err, io_code(rc), "%.*s: cannot truncate at offset %" PRIu64 ": %s",
                     MSG_PATH_CHARS, path, off, strerror(-rc));
        goto done;
    }
    dropped = size - off;
    for (size_t j = si + 1; j < s.n; j++) {
        char p2[WAL_PATH_BYTES];
        if (seg_path(dir, s.v[j], p2))
            continue;
        uint64_t sz = file_size(v, p2);
        rc = v->unlink(v, p2);
        if (rc && rc != -ENOENT) {
            rc = set_err(err, io_code(rc), "%.*s: cannot delete: %s", MSG_PATH_CHARS, p2, strerror(-rc));
            goto done;
        }
        rc = 0;
        dropped += sz;
    }
    if (si + 1 < s.n) {
        rc = v->fsync_dir(v, dir);
        if (rc)
            rc = set_err(err, io_code(rc), "%.*s: cannot fsync the directory: %s", MSG_PATH_CHARS, dir,
                         strerror(-rc));
    }
done:
    free(s.v);
    if (dropped_bytes)
        *dropped_bytes = dropped;
    return rc;
}

/* ---- replay ------------------------------------------------------------- */

typedef struct replay {
    segdb_t *db;
    uint64_t applied;
    uint64_t failed_seq;
    char failed_msg[SEGDB_ERR_MSG_BYTES];
} replay;

static int replay_cb(void *ctx, uint64_t seq, const void *body, size_t len, segdb_err *err)
{
    replay *r = ctx;
    segdb_err e = {0};
    int rc = segdb_apply_record(r->db, seq, body, len, &e);
    if (rc) {
        r->failed_seq = seq;
        snprintf(r->failed_msg, sizeof r->failed_msg, "%s", e.msg);
        return set_err(err, rc, "log record seq %" PRIu64 " cannot be applied: %s", seq, e.msg);
    }
    r->applied++;
    return 0;
}

static void describe_state(char *out, size_t cap, bool from_snapshot, uint64_t base)
{
    if (from_snapshot) {
        char name[SNAPSHOT_NAME_BYTES];
        snapshot_name(base, name);
        snprintf(out, cap, "%s (seq %" PRIu64 ")", name, base);
    } else {
        snprintf(out, cap, "an empty database (seq 0)");
    }
}

int recovery_run(const recovery_options *opts, segdb_t **out, recovery_result *res, segdb_err *err)
{
    *out = NULL;
    recovery_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (!opts || !opts->dir || !*opts->dir)
        return set_err(err, SEGDB_EINVAL, "recovery: no data directory");
    const char *dir = opts->dir;
    vfs *v = opts->v ? opts->v : vfs_posix();
    segdb_t *db = NULL;
    snapshot_list sl = {0};
    uint64_t *bad = NULL;
    size_t nbad = 0;
    segdb_err e = {0};
    int rc = v->mkdir(v, dir);
    if (rc && rc != -EEXIST)
        return set_err(err, io_code(rc), "cannot create the data directory %.*s: %s", MSG_PATH_CHARS,
                       dir, strerror(-rc));

    rc = snapshot_remove_tmp(dir, v, &res->tmp_removed, err);
    if (rc)
        return rc;
    if (res->tmp_removed)
        say(opts, "deleted %" PRIu64 " unfinished snapshot file(s) (*.sdb.tmp) left by an interrupted save",
            res->tmp_removed);

    uint64_t t_start = mono_ms(), t_loaded = 0, t_replayed = 0;

    /* 1. The newest snapshot that checks out and loads. */
    rc = snapshot_list_dir(dir, v, &sl, err);
    if (rc)
        return rc;
    bad = calloc(sl.n ? sl.n : 1, sizeof *bad);
    if (!bad) {
        rc = set_err(err, SEGDB_ENOMEM, "out of memory");
        goto done;
    }
    uint64_t bad_max = 0, base = 0;
    for (size_t i = sl.n; i-- > 0;) {
        char name[SNAPSHOT_NAME_BYTES], path[SNAPSHOT_PATH_BYTES];
        snapshot_name(sl.seq[i], name);
        if (snapshot_path(dir, name, path)) {
            rc = set_err(err, SEGDB_EINVAL, "%s: path too long", dir);
            goto done;
        }
        snapshot_info si;
        rc = snapshot_load(path, v, sl.seq[i], opts->engine, &db, &si, &e);
        if (rc == 0) {
            res->from_snapshot = true;
            res->snapshot_seq = base = si.seq;
            snprintf(res->snapshot_path, sizeof res->snapshot_path, "%s", path);
            break;
        }
        if (rc == SEGDB_ENOMEM) {
            rc = set_err(err, rc, "%s", e.msg);
            goto done;
        }
        say(opts, "%s", e.msg);
        bad[nbad++] = sl.seq[i];
        if (sl.seq[i] > bad_max)
            bad_max = sl.seq[i];
    }
    res->snapshots_skipped = nbad;

    /* 2. Past a corrupt snapshot: does the log cover what it held? */
    if (nbad) {
        wal_scan_result dry;
        rc = wal_scan(dir, v, UINT64_MAX, NULL, NULL, WAL_SCAN_DRY_RUN, &dry, &e);
        if (rc && rc != SEGDB_EINVAL) {
            rc = set_err(err, rc, "%s", e.msg);
            goto done;
        }
        char state[128];
        describe_state(state, sizeof state, res->from_snapshot, base);
        bool covered = dry.records > 0 && dry.first_seq <= base + 1 && dry.last_seq >= bad_max;
        char have[128];
        if (dry.records)
            snprintf(have, sizeof have, "records %" PRIu64 "..%" PRIu64, dry.first_seq, dry.last_seq);
        else
            snprintf(have, sizeof have, "no record");
        if (!covered && !opts->repair) {
            char bname[SNAPSHOT_NAME_BYTES];
            snapshot_name(bad_max, bname);
            rc = set_err(err, SEGDB_EINVAL,
                         "%s is unusable (see above) and the log (%s) does not cover records "
                         "%" PRIu64 "..%" PRIu64 " after the newest usable state, %s: starting would "
                         "lose writes. Refusing to start. Inspect the directory with segdb-check, "
                         "restore the snapshot from a backup, or start with --repair to accept the loss",
                         bname, have, base + 1, bad_max, state);
            goto done;
        }
        if (covered)
            say(opts, "falling back to %s + the log (%s), which covers the unusable snapshot(s) up to "
                      "seq %" PRIu64 ": nothing is lost",
                state, have, bad_max);
        else
            say(opts, "--repair: starting from %s; the log holds %s, so the writes between seq %" PRIu64
                      " and %" PRIu64 " that only the unusable snapshot(s) held are lost",
                state, have, base + 1, bad_max);
    }
    if (!db) {
        db = segdb_open(opts->engine);
        if (!db) {
            rc = set_err(err, SEGDB_ENOMEM, "out of memory opening the database");
            goto done;
        }
    }

    /* 3. Replay the log after the snapshot. */
    t_loaded = mono_ms();
    replay rp = {.db = db};
    int flags = opts->repair ? WAL_SCAN_REPAIR : 0;
    rc = wal_scan(dir, v, base, replay_cb, &rp, flags, &res->scan, &e);
    res->replayed = rp.applied;
    if (rc && rp.failed_seq) {
        res->apply_failed_seq = rp.failed_seq;
        char path[WAL_PATH_BYTES] = "?";
        uint64_t off = 0;
        segdb_err e2 = {0};
        int frc = recovery_find_record(dir, v, rp.failed_seq, path, &off, &e2);
        if (!opts->repair) {
            rc = set_err(err, SEGDB_EINVAL,
                         "log record seq %" PRIu64 " (%.*s, offset %" PRIu64 ") cannot be applied: %s. "
                         "Refusing to start; --repair stops the replay before it and cuts the log "
                         "there (record %" PRIu64 " and every later one are lost)",
                         rp.failed_seq, MSG_PATH_CHARS, frc ? "file not found" : path, off, rp.failed_msg,
                         rp.failed_seq);
            goto done;
        }
        wal_scan_result all;
        wal_scan(dir, v, UINT64_MAX, NULL, NULL, WAL_SCAN_DRY_RUN, &all, NULL);
        uint64_t dropped = 0;
        rc = recovery_cut_log_at(dir, v, rp.failed_seq, &dropped, err);
        if (rc)
            goto done;
        res->truncated_bytes = dropped;
        res->lost_records = all.last_seq >= rp.failed_seq ? all.last_seq - rp.failed_seq + 1 : 1;
        say(opts, "--repair: log record seq %" PRIu64 " (%.*s, offset %" PRIu64 ") cannot be applied (%s): "
                  "replay stopped before it and the log cut there; %" PRIu64 " record(s) (seq %" PRIu64
                  "..) and %" PRIu64 " bytes are lost",
            rp.failed_seq, MSG_PATH_CHARS, path, off, rp.failed_msg, res->lost_records, rp.failed_seq,
            dropped);
    } else if (rc) {
        if (res->scan.status == WAL_SCAN_DAMAGED)
            rc = set_err(err, rc, "%s. Refusing to start: inspect with segdb-check; start with --repair "
                                  "to cut the log there and lose what follows",
                         e.msg);
        else
            rc = set_err(err, rc, "%s", e.msg);
        goto done;
    } else if (res->scan.status == WAL_SCAN_TAIL_CUT) {
        res->truncated_bytes = res->scan.dropped_bytes;
        say(opts, "log %.*s: torn tail cut at offset %" PRIu64 " (%s): %" PRIu64 " bytes dropped",
            MSG_PATH_CHARS, res->scan.file, res->scan.offset, res->scan.reason, res->scan.dropped_bytes);
    } else if (res->scan.status == WAL_SCAN_REPAIRED) {
        res->truncated_bytes = res->scan.dropped_bytes;
        res->lost_records = res->scan.dropped_records;
        say(opts, "--repair: log %.*s cut at offset %" PRIu64 " (%s): %" PRIu64 " valid record(s) and %" PRIu64
                  " bytes after it are lost (%" PRIu64 " later segment file(s) deleted)",
            MSG_PATH_CHARS, res->scan.file, res->scan.offset, res->scan.reason, res->scan.dropped_records,
            res->scan.dropped_bytes, res->scan.removed_segments);
    }

    t_replayed = mono_ms();

    /* 4. Set the snapshots we passed over aside, so no later start reads them. */
    for (size_t i = 0; i < nbad; i++) {
        char name[SNAPSHOT_NAME_BYTES], from[SNAPSHOT_PATH_BYTES], to[SNAPSHOT_PATH_BYTES + 8];
        snapshot_name(bad[i], name);
        if (snapshot_path(dir, name, from))
            continue;
        snprintf(to, sizeof to, "%s.corrupt", from);
        int r2 = v->rename(v, from, to);
        if (r2)
            say(opts, "cannot rename %.*s aside: %s", MSG_PATH_CHARS, from, strerror(-r2));
        else
            say(opts, "renamed the unusable %s to %s.corrupt (kept for inspection)", name, name);
    }
    if (nbad)
        v->fsync_dir(v, dir);

    segdb_stats st;
    segdb_get_stats(db, &st);
    res->seq = st.seq;
    char state[128];
    describe_state(state, sizeof state, res->from_snapshot, base);
    say(opts, "loaded %s in %" PRIu64 " ms, replayed %" PRIu64 " log record(s) in %" PRIu64
              " ms: at seq %" PRIu64 ", %" PRIu64 " contacts",
        state, t_loaded - t_start, res->replayed, t_replayed - t_loaded, st.seq, st.live);
    rc = 0;
done:
    free(bad);
    snapshot_list_free(&sl);
    if (rc) {
        segdb_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

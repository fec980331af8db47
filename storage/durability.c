/*
 * durability.c — log hook, group commit with read-only mode, SAVE/BGSAVE and
 * automatic snapshots (durability.h).
 *
 * Read-only mode. A failed wal_flush leaves the log holding every record it
 * could not make durable; it refuses new appends until a flush succeeds. So
 * while read-only the engine's writes fail in the log hook (SEGDB_EREADONLY,
 * nothing applied) and the server refuses write commands up front. Each
 * dur_flush while read-only retries the flush (at most every retry_ms); the
 * first success writes the queued records and clears the mode.
 *
 * BGSAVE. fork(); the child closes every inherited descriptor but stdio and
 * its result pipe (client sockets and the listener must not outlive the
 * parent in it), asks for SIGKILL when the parent dies, writes the snapshot
 * with snapshot_write, deletes the log segments and old snapshots it
 * replaces (slow unlinks of big files, kept off the server's thread), reports
 * a fixed-size result struct through the pipe (one write, under PIPE_BUF, so
 * it is atomic), then _exit()s. The parent polls waitpid(WNOHANG) from
 * dur_cron and updates its view of the log (wal_remove_before finds the files
 * gone).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "durability.h"
#include "storage_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG_PATH_CHARS 700

struct dur {
    segdb_t *db;
    wal_t *wal;
    vfs *v;
    char *dir;
    dur_options opt;

    uint64_t seq;                 /* last record appended */
    uint64_t appended;            /* records appended since open */
    uint64_t flushed_appended;    /* `appended` at the last successful flush */

    bool readonly;
    char reason[DUR_REASON_BYTES];
    int64_t last_try_ms;

    uint64_t last_save_seq;
    int64_t last_save_time;
    uint64_t last_save_bytes, last_save_ms, saves;
    uint64_t log_bytes_pre;       /* log bytes on disk at open (until the first snapshot) */
    uint64_t log_bytes_base;      /* wal bytes_written when the newest snapshot started */

    pid_t child;                  /* running BGSAVE, 0 = none */
    int child_fd;                 /* read end of its result pipe */
    uint64_t child_seq;
    uint64_t child_bytes_base;
    int64_t child_start_ms;
    bool last_bgsave_ok;
    char last_bgsave_error[SEGDB_ERR_MSG_BYTES];
    int64_t last_bgsave_fail_ms;  /* 0 = none */
    uint64_t fork_usec;           /* how long the last fork() blocked the server */
};

/* What a BGSAVE child reports; fits one atomic pipe write. */
typedef struct child_result {
    int32_t rc;
    uint64_t seq, bytes;
    uint64_t segs, snaps;         /* log segments and old snapshots the child deleted */
    char msg[2048];
} child_result;

static void say(dur_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(dur_t *d, const char *fmt, ...)
{
    char line[3 * 1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (d->opt.say)
        d->opt.say(d->opt.say_ctx, line);
    else
        fprintf(stderr, "durability: %s\n", line);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dur_options_init(dur_options *o)
{
    memset(o, 0, sizeof *o);
    o->fsync_mode = WAL_FSYNC_EVERYSEC;
    o->everysec_thread = true;
    o->snapshot_log_bytes = DUR_DEFAULT_SNAPSHOT_LOG_BYTES;
    o->snapshot_changes = DUR_DEFAULT_SNAPSHOT_CHANGES;
    o->snapshot_keep = SNAPSHOT_DEFAULT_KEEP;
    o->retry_ms = DUR_DEFAULT_RETRY_MS;
}

/* The engine's log hook: queue the record; a failed log refuses the write. */
static int log_hook(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    dur_t *d = ctx;
    int rc = wal_append(d->wal, seq, rec, len, err);
    if (rc)
        return rc;
    d->seq = seq;
    d->appended++;
    return 0;
}

typedef struct sizer {
    vfs *v;
    const char *dir;
    uint64_t total;
} sizer;

static int size_cb(void *ctx, const char *name)
{
    sizer *s = ctx;
    uint64_t seq, sz = 0;
    char path[WAL_PATH_BYTES];
    vfs_file *f;
    if (!wal_parse_segment_name(name, &seq) ||
        snprintf(path, sizeof path, "%s/%s", s->dir, name) >= (int)sizeof path)
        return 0;
    if (s->v->open(s->v, path, VFS_O_READ, &f) == 0) {
        s->v->size(s->v, f, &sz);
        s->v->close(s->v, f);
    }
    s->total += sz;
    return 0;
}

int dur_open(segdb_t *db, const dur_options *o, dur_t **out, segdb_err *err)
{
    *out = NULL;
    if (!db || !o || !o->dir || !*o->dir)
        return set_err(err, SEGDB_EINVAL, "durability: no database or data directory");
    dur_t *d = calloc(1, sizeof *d);
    if (!d || !(d->dir = strdup(o->dir))) {
        free(d);
        return set_err(err, SEGDB_ENOMEM, "out of memory");
    }
    d->db = db;
    d->opt = *o;
    d->opt.dir = d->dir;
    d->v = o->v ? o->v : vfs_posix();
    if (!d->opt.snapshot_keep)
        d->opt.snapshot_keep = SNAPSHOT_DEFAULT_KEEP;
    if (!d->opt.retry_ms)
        d->opt.retry_ms = DUR_DEFAULT_RETRY_MS;
    d->child_fd = -1;
    d->last_bgsave_ok = true;
    segdb_stats st;
    segdb_get_stats(db, &st);
    d->seq = st.seq;
    d->last_save_seq = o->last_save_seq;
    d->last_save_time = (int64_t)time(NULL);

    wal_options wo;
    wal_options_init(&wo);
    wo.fsync_mode = o->fsync_mode;
    wo.segment_max_bytes = o->segment_max_bytes;
    wo.everysec_thread = o->everysec_thread;
    wo.start_seq = st.seq + 1;
    wo.recovered_truncated_bytes = o->recovered_truncated_bytes;
    int rc = wal_open(d->dir, d->v, &wo, &d->wal, err);
    if (rc) {
        free(d->dir);
        free(d);
        return rc;
    }
    sizer sz = {.v = d->v, .dir = d->dir};
    d->v->list(d->v, d->dir, size_cb, &sz);
    d->log_bytes_pre = sz.total;
    segdb_set_log(db, log_hook, d);
    *out = d;
    return 0;
}

const char *dur_readonly_reason(const dur_t *d)
{
    return d && d->readonly ? d->reason : NULL;
}

uint64_t dur_appended(const dur_t *d)
{
    return d ? d->appended : 0;
}

static void enter_readonly(dur_t *d, const char *why)
{
    if (!d->readonly)
        say(d, "the write-ahead log failed: %s; writes are refused (-READONLY) until it works again, "
               "reads go on",
            why);
    d->readonly = true;
    snprintf(d->reason, sizeof d->reason,
             "the write-ahead log failed (%.1000s); writes are refused until it works again", why);
}

int dur_flush(dur_t *d, segdb_err *err)
{
    if (!d)
        return set_err(err, SEGDB_EINVAL, "no durability layer");
    int64_t now = mono_ms();
    if (d->readonly && now - d->last_try_ms < (int64_t)d->opt.retry_ms)
        return set_err(err, SEGDB_EREADONLY, "%s", d->reason);
    segdb_err e = {0};
    int rc = wal_flush(d->wal, &e);
    d->last_try_ms = now;
    if (rc) {
        enter_readonly(d, e.msg);
        return set_err(err, rc == SEGDB_ENOMEM ? SEGDB_ENOMEM : SEGDB_EREADONLY, "%s", d->reason);
    }
    bool wrote = d->appended != d->flushed_appended;
    d->flushed_appended = d->appended;
    if (d->readonly || wrote) {
        /* A rotation (only after a flush that wrote) that failed after the
         * records were written leaves the log refusing appends: that is
         * read-only too (retried above). */
        wal_stats ws;
        wal_get_stats(d->wal, &ws);
        if (ws.readonly) {
            enter_readonly(d, ws.last_error);
            return 0;
        }
    }
    if (d->readonly) {
        d->readonly = false;
        d->reason[0] = 0;
        say(d, "the write-ahead log works again: writes are accepted");
    }
    return 0;
}

/* ---- snapshots ---------------------------------------------------------- */

/* A snapshot at seq is complete: drop the log and the snapshots it replaces. */
static void snapshot_done(dur_t *d, uint64_t seq, uint64_t bytes, uint64_t ms, uint64_t bytes_base,
                          const char *how, uint64_t child_segs, uint64_t child_snaps)
{
    d->last_save_seq = seq;
    d->last_save_time = (int64_t)time(NULL);
    d->last_save_bytes = bytes;
    d->last_save_ms = ms;
    d->saves++;
    d->log_bytes_pre = 0;
    d->log_bytes_base = bytes_base;
    uint64_t segs = 0, snaps = 0;
    segdb_err e = {0};
    int64_t t0 = mono_ms();
    if (wal_remove_before(d->wal, seq, &segs, &e))
        say(d, "after the snapshot: %s", e.msg);
    if (snapshot_prune(d->dir, d->v, d->opt.snapshot_keep, &snaps, &e))
        say(d, "after the snapshot: %s", e.msg);
    char name[SNAPSHOT_NAME_BYTES];
    snapshot_name(seq, name);
    if (child_segs > segs)
        segs = child_segs;
    say(d, "%s: %s written (%" PRIu64 " bytes, %" PRIu64 " ms); %" PRIu64
           " log segment(s) and %" PRIu64 " older snapshot(s) removed (%" PRId64 " ms in the server)",
        how, name, bytes, ms, segs, snaps + child_snaps, mono_ms() - t0);
}

int dur_save(dur_t *d, snapshot_info *info, segdb_err *err)
{
    if (!d)
        return set_err(err, SEGDB_EINVAL, "no durability layer");
    if (d->child)
        return set_err(err, SEGDB_EEXIST, "a background save is in progress");
    dur_flush(d, NULL); /* the snapshot holds no record the log was not handed */
    wal_stats ws;
    wal_get_stats(d->wal, &ws);
    int64_t t0 = mono_ms();
    snapshot_info si;
    int rc = snapshot_write(d->dir, d->v, d->db, &si, err);
    if (rc)
        return rc;
    snapshot_done(d, si.seq, si.file_bytes, (uint64_t)(mono_ms() - t0), ws.bytes_written, "SAVE", 0, 0);
    if (info)
        *info = si;
    return 0;
}

/* In the child: drop every descriptor but stdio and keep. */
static void close_inherited(int keep)
{
#ifdef SYS_close_range
    if (keep > 3 && syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0 &&
        syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
    if (keep == 3 && syscall(SYS_close_range, 4u, ~0u, 0u) == 0)
        return;
#endif
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20 ? (int)rl.rlim_cur : 65536;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

typedef struct seglist {
    uint64_t *v;
    size_t n, cap;
    bool oom;
} seglist;

static int seglist_cb(void *ctx, const char *name)
{
    seglist *l = ctx;
    uint64_t q;
    if (!wal_parse_segment_name(name, &q))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        uint64_t *p = realloc(l->v, cap * sizeof *p);
        if (!p) {
            l->oom = true;
            return 1;
        }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = q;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* In the BGSAVE child, once its snapshot at seq is durable: delete the log
 * segments whose records are all <= seq (segment k is, when segment k+1
 * starts at or before seq + 1; the server only appends to the last segment,
 * so a segment with a successor is complete). Deleting gigabytes of log can
 * take a second of unlink and journal work: done here, it does not stall the
 * server, whose wal_remove_before then only forgets them. Best effort. */
static uint64_t child_drop_log(dur_t *d, uint64_t seq)
{
    seglist l = {0};
    if (d->v->list(d->v, d->dir, seglist_cb, &l) || l.oom) {
        free(l.v);
        return 0;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_u64);
    size_t k = 0;
    for (; k + 1 < l.n && l.v[k + 1] - 1 <= seq; k++) {
        char name[WAL_SEGMENT_NAME_BYTES], path[WAL_PATH_BYTES];
        wal_segment_name(l.v[k], name);
        if (snprintf(path, sizeof path, "%s/%s", d->dir, name) >= (int)sizeof path ||
            d->v->unlink(d->v, path) < 0)
            break;
    }
    if (k)
        d->v->fsync_dir(d->v, d->dir);
    free(l.v);
    return k;
}

#define BGSAVE_NICE 10 /* the snapshot child's scheduling priority (nice) */

static void child_main(dur_t *d, int wfd, pid_t parent)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl */
        _exit(2);
    prctl(PR_SET_NAME, "segdb-bgsave");
    /* the server's loop and its clients come first: on a small machine a
     * CPU-bound child otherwise delays replies by whole scheduler slices */
    if (setpriority(PRIO_PROCESS, 0, BGSAVE_NICE) < 0) { /* best effort */ }
    close_inherited(wfd);
    child_result r;
    memset(&r, 0, sizeof r);
    segdb_err e = {0};
    snapshot_info si = {0};
    r.rc = snapshot_write(d->dir, d->v, d->db, &si, &e);
    if (r.rc == 0) {
        r.segs = child_drop_log(d, si.seq);
        snapshot_prune(d->dir, d->v, d->opt.snapshot_keep, &r.snaps, NULL);
    }
    r.seq = si.seq;
    r.bytes = si.file_bytes;
    snprintf(r.msg, sizeof r.msg, "%s", r.rc ? e.msg : "");
    ssize_t n = write(wfd, &r, sizeof r);
    _exit(r.rc == 0 && n == (ssize_t)sizeof r ? 0 : 1);
}

int dur_bgsave(dur_t *d, segdb_err *err)
{
    if (!d)
        return set_err(err, SEGDB_EINVAL, "no durability layer");
    if (d->child)
        return set_err(err, SEGDB_EEXIST, "a background save is already in progress");
    dur_flush(d, NULL); /* see durability.h: the snapshot never gets ahead of the log */
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return set_err(err, SEGDB_ENOMEM, "BGSAVE: cannot create a pipe: %s", strerror(errno));
    wal_stats ws;
    wal_get_stats(d->wal, &ws);
    pid_t parent = getpid();
    struct timespec f0, f1;
    clock_gettime(CLOCK_MONOTONIC, &f0);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return set_err(err, SEGDB_ENOMEM, "BGSAVE: fork failed: %s", strerror(e));
    }
    if (pid == 0) {
        close(p[0]);
        child_main(d, p[1], parent);
    }
    clock_gettime(CLOCK_MONOTONIC, &f1);
    d->fork_usec = (uint64_t)((f1.tv_sec - f0.tv_sec) * 1000000 + (f1.tv_nsec - f0.tv_nsec) / 1000);
    close(p[1]);
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    d->child = pid;
    d->child_fd = p[0];
    d->child_seq = d->seq;
    d->child_bytes_base = ws.bytes_written;
    d->child_start_ms = mono_ms();
    say(d, "background save started by pid %ld (seq %" PRIu64 ")", (long)pid, d->seq);
    return 0;
}

/* The child exited with status (or could not be waited for: status -1). */
static int child_finished(dur_t *d, int status, segdb_err *err)
{
    child_result r;
    memset(&r, 0, sizeof r);
    ssize_t n = read(d->child_fd, &r, sizeof r);
    close(d->child_fd);
    d->child_fd = -1;
    d->child = 0;
    uint64_t ms = (uint64_t)(mono_ms() - d->child_start_ms);
    r.msg[sizeof r.msg - 1] = 0;
    int rc = 0;
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == (ssize_t)sizeof r &&
        r.rc == 0) {
        d->last_bgsave_ok = true;
        d->last_bgsave_error[0] = 0;
        snapshot_done(d, r.seq, r.bytes, ms, d->child_bytes_base, "BGSAVE", r.segs, r.snaps);
        return 0;
    }
    char why[SEGDB_ERR_MSG_BYTES];
    if (n == (ssize_t)sizeof r && r.rc)
        snprintf(why, sizeof why, "%s", r.msg);
    else if (status != -1 && WIFSIGNALED(status))
        snprintf(why, sizeof why, "the background save process was killed by signal %d",
                 WTERMSIG(status));
    else
        snprintf(why, sizeof why, "the background save process failed (exit status %d)",
                 status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    rc = set_err(err, n == (ssize_t)sizeof r && r.rc ? r.rc : SEGDB_EINVAL, "%s", why);
    d->last_bgsave_ok = false;
    snprintf(d->last_bgsave_error, sizeof d->last_bgsave_error, "%s", why);
    d->last_bgsave_fail_ms = mono_ms();
    snapshot_remove_tmp(d->dir, d->v, NULL, NULL);
    say(d, "background save failed: %s", d->last_bgsave_error);
    return rc;
}

int dur_bgsave_wait(dur_t *d, segdb_err *err)
{
    if (!d || !d->child)
        return 0;
    int status;
    pid_t r;
    do {
        r = waitpid(d->child, &status, 0);
    } while (r < 0 && errno == EINTR);
    return child_finished(d, r == d->child ? status : -1, err);
}

void dur_cron(dur_t *d)
{
    if (!d)
        return;
    if (d->child) {
        int status;
        pid_t r = waitpid(d->child, &status, WNOHANG);
        if (r == d->child || (r < 0 && errno != EINTR))
            child_finished(d, r == d->child ? status : -1, NULL);
    }
    if (d->opt.fsync_mode == WAL_FSYNC_EVERYSEC && !d->opt.everysec_thread && !d->readonly)
        wal_everysec_tick(d->wal, false, NULL);
    if (d->child || d->readonly)
        return;
    if (d->last_bgsave_fail_ms && mono_ms() - d->last_bgsave_fail_ms < DUR_BGSAVE_RETRY_MS)
        return;
    dur_stats st;
    dur_get_stats(d, &st);
    const char *why = NULL;
    char buf[160];
    if (d->opt.snapshot_changes && st.changes_since_save >= d->opt.snapshot_changes) {
        snprintf(buf, sizeof buf, "%" PRIu64 " changes since the last snapshot", st.changes_since_save);
        why = buf;
    } else if (d->opt.snapshot_log_bytes && st.log_bytes_since_save >= d->opt.snapshot_log_bytes) {
        snprintf(buf, sizeof buf, "%" PRIu64 " log bytes since the last snapshot", st.log_bytes_since_save);
        why = buf;
    }
    if (why) {
        say(d, "%s: starting an automatic background save", why);
        segdb_err e = {0};
        if (dur_bgsave(d, &e)) {
            d->last_bgsave_ok = false;
            snprintf(d->last_bgsave_error, sizeof d->last_bgsave_error, "%s", e.msg);
            d->last_bgsave_fail_ms = mono_ms();
            say(d, "automatic background save failed to start: %s", e.msg);
        }
    }
}

void dur_get_stats(dur_t *d, dur_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!d)
        return;
    wal_get_stats(d->wal, &st->wal);
    st->fsync_mode = d->opt.fsync_mode;
    st->seq = d->seq;
    st->last_save_seq = d->last_save_seq;
    st->last_save_time = d->last_save_time;
    st->last_save_bytes = d->last_save_bytes;
    st->last_save_ms = d->last_save_ms;
    st->saves = d->saves;
    st->bgsave_in_progress = d->child != 0;
    st->bgsave_seq = d->child ? d->child_seq : 0;
    st->latest_fork_usec = d->fork_usec;
    st->last_bgsave_ok = d->last_bgsave_ok;
    snprintf(st->last_bgsave_error, sizeof st->last_bgsave_error, "%s", d->last_bgsave_error);
    st->changes_since_save = d->seq > d->last_save_seq ? d->seq - d->last_save_seq : 0;
    uint64_t w = st->wal.bytes_written + d->log_bytes_pre;
    st->log_bytes_since_save = w > d->log_bytes_base ? w - d->log_bytes_base : 0;
    st->readonly = d->readonly;
    snprintf(st->readonly_reason, sizeof st->readonly_reason, "%s", d->readonly ? d->reason : "");
}

int dur_close(dur_t *d, segdb_err *err)
{
    if (!d)
        return 0;
    if (d->child) {
        kill(d->child, SIGKILL);
        int status;
        while (waitpid(d->child, &status, 0) < 0 && errno == EINTR)
            ;
        close(d->child_fd);
        d->child = 0;
        snapshot_remove_tmp(d->dir, d->v, NULL, NULL);
        say(d, "background save stopped: the server is shutting down");
    }
    segdb_set_log(d->db, NULL, NULL);
    int rc = wal_close(d->wal, err);
    free(d->dir);
    free(d);
    return rc;
}

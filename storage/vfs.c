/*
 * vfs.c — the POSIX, in-memory and fault-injecting implementations of the
 * storage I/O seam declared in vfs.h.
 *
 * POSIX: every call retries EINTR; read and write loop until all bytes are
 * moved (a short pwrite is not an error, a zero-byte pwrite is -EIO so the loop
 * always ends); files are opened O_CLOEXEC with mode 0644.
 *
 * Memory: a flat table of { path, bytes } behind one mutex. An unlinked file
 * stays readable through open handles until the last close, as on POSIX.
 *
 * Fault: forwards to an inner vfs and consults a vfs_fault_plan, under one
 * mutex so the log's background fsync thread sees the same counts as the main
 * thread. A crash is sticky until the next arm/disarm: the write that crosses
 * the byte budget sends only the bytes that fit, then it and every later call
 * (except close) fail with -EIO, the way a process that lost power would never
 * get to run its error handling (truncate, unlink...) on the disk.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fdatasync, O_CLOEXEC, O_DIRECTORY */
#endif
#include "vfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ======================================================================== */
/* POSIX                                                                    */
/* ======================================================================== */

typedef struct posix_file {
    vfs_file base;
    int fd;
} posix_file;

static int px_open(vfs *v, const char *path, int flags, vfs_file **out)
{
    int oflags = O_CLOEXEC;
    if ((flags & VFS_O_READ) && (flags & VFS_O_WRITE))
        oflags |= O_RDWR;
    else if (flags & VFS_O_WRITE)
        oflags |= O_WRONLY;
    else
        oflags |= O_RDONLY;
    if (flags & VFS_O_CREATE)
        oflags |= O_CREAT;
    if (flags & VFS_O_TRUNC)
        oflags |= O_TRUNC;
    if (flags & VFS_O_EXCL)
        oflags |= O_EXCL;
    posix_file *pf = malloc(sizeof *pf);
    if (!pf)
        return -ENOMEM;
    int fd;
    do {
        fd = open(path, oflags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        free(pf);
        return -e;
    }
    /* files opened only to read (snapshots and logs at a start) are read
     * front to back: ask for aggressive readahead (advice only) */
    if (!(flags & VFS_O_WRITE))
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    pf->base.owner = v;
    pf->fd = fd;
    *out = &pf->base;
    return 0;
}

static int px_close(vfs *v, vfs_file *f)
{
    (void)v;
    if (!f)
        return 0;
    posix_file *pf = (posix_file *)f;
    /* No EINTR retry: on Linux the descriptor is gone even when close fails. */
    int rc = close(pf->fd) < 0 ? -errno : 0;
    free(pf);
    return rc;
}

static int px_read(vfs *v, vfs_file *f, uint64_t off, void *buf, size_t len, size_t *got)
{
    (void)v;
    posix_file *pf = (posix_file *)f;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(pf->fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *got = done;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return 0;
}

static int px_write(vfs *v, vfs_file *f, uint64_t off, const void *buf, size_t len)
{
    (void)v;
    posix_file *pf = (posix_file *)f;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(pf->fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

static int px_fsync(vfs *v, vfs_file *f)
{
    (void)v;
    posix_file *pf = (posix_file *)f;
    int rc;
    do {
        rc = fsync(pf->fd);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

static int px_fdatasync(vfs *v, vfs_file *f)
{
    (void)v;
    posix_file *pf = (posix_file *)f;
    int rc;
    do {
        rc = fdatasync(pf->fd);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

static int px_size(vfs *v, vfs_file *f, uint64_t *out)
{
    (void)v;
    posix_file *pf = (posix_file *)f;
    struct stat st;
    if (fstat(pf->fd, &st) < 0)
        return -errno;
    *out = (uint64_t)st.st_size;
    return 0;
}

static int px_truncate(vfs *v, vfs_file *f, uint64_t size)
{
    (void)v;
    posix_file *pf = (posix_file *)f;
    int rc;
    do {
        rc = ftruncate(pf->fd, (off_t)size);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

static int px_rename(vfs *v, const char *from, const char *to)
{
    (void)v;
    return rename(from, to) < 0 ? -errno : 0;
}

static int px_unlink(vfs *v, const char *path)
{
    (void)v;
    return unlink(path) < 0 ? -errno : 0;
}

static int px_mkdir(vfs *v, const char *path)
{
    (void)v;
    return mkdir(path, 0755) < 0 ? -errno : 0;
}

static int px_fsync_dir(vfs *v, const char *path)
{
    (void)v;
    int fd;
    do {
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    int rc;
    do {
        rc = fsync(fd);
    } while (rc < 0 && errno == EINTR);
    int e = rc < 0 ? -errno : 0;
    close(fd);
    return e;
}

static int px_list(vfs *v, const char *dir, vfs_list_fn fn, void *ctx)
{
    (void)v;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                rc = -errno;
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        rc = fn(ctx, de->d_name);
        if (rc)
            break;
    }
    closedir(d);
    return rc;
}

static vfs posix_vfs = {
    .name = "posix",
    .ctx = NULL,
    .open = px_open,
    .close = px_close,
    .read = px_read,
    .write = px_write,
    .fsync = px_fsync,
    .fdatasync = px_fdatasync,
    .size = px_size,
    .truncate = px_truncate,
    .rename = px_rename,
    .unlink = px_unlink,
    .mkdir = px_mkdir,
    .fsync_dir = px_fsync_dir,
    .list = px_list,
};

vfs *vfs_posix(void)
{
    return &posix_vfs;
}

/* ======================================================================== */
/* Memory                                                                   */
/* ======================================================================== */

typedef struct mem_node {
    char *path;      /* NULL once unlinked */
    uint8_t *data;
    size_t len, cap;
    int refs;        /* open handles */
} mem_node;

typedef struct mem_fs {
    pthread_mutex_t mu;
    mem_node **nodes; /* linked (path != NULL) nodes only */
    size_t n, cap;
} mem_fs;

typedef struct mem_file {
    vfs_file base;
    mem_node *node;
    int flags;
} mem_file;

static void mem_node_free(mem_node *nd)
{
    if (!nd)
        return;
    free(nd->path);
    free(nd->data);
    free(nd);
}

/* Index of path in the table, or -1. Caller holds mu. */
static ptrdiff_t mem_find(mem_fs *fs, const char *path)
{
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->nodes[i]->path, path))
            return (ptrdiff_t)i;
    return -1;
}

/* Drops node i from the table; frees it when no handle holds it. Caller holds mu. */
static void mem_detach(mem_fs *fs, size_t i)
{
    mem_node *nd = fs->nodes[i];
    fs->nodes[i] = fs->nodes[--fs->n];
    free(nd->path);
    nd->path = NULL;
    if (nd->refs == 0)
        mem_node_free(nd);
}

static int mem_reserve(mem_node *nd, uint64_t need)
{
    if (need > VFS_MEM_MAX_FILE_BYTES)
        return -EFBIG;
    if (need <= nd->cap)
        return 0;
    size_t cap = nd->cap ? nd->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(nd->data, cap);
    if (!p)
        return -ENOMEM;
    nd->data = p;
    nd->cap = cap;
    return 0;
}

/* Creates an empty linked node for path. Caller holds mu. */
static int mem_create_node(mem_fs *fs, const char *path, mem_node **out)
{
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 16;
        mem_node **p = realloc(fs->nodes, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        fs->nodes = p;
        fs->cap = cap;
    }
    mem_node *nd = calloc(1, sizeof *nd);
    if (!nd)
        return -ENOMEM;
    nd->path = strdup(path);
    if (!nd->path) {
        free(nd);
        return -ENOMEM;
    }
    fs->nodes[fs->n++] = nd;
    *out = nd;
    return 0;
}

static int mem_open(vfs *v, const char *path, int flags, vfs_file **out)
{
    mem_fs *fs = v->ctx;
    mem_file *mf = malloc(sizeof *mf);
    if (!mf)
        return -ENOMEM;
    int rc = 0;
    pthread_mutex_lock(&fs->mu);
    ptrdiff_t i = mem_find(fs, path);
    mem_node *nd = NULL;
    if (i >= 0) {
        if ((flags & VFS_O_CREATE) && (flags & VFS_O_EXCL)) {
            rc = -EEXIST;
            goto done;
        }
        nd = fs->nodes[i];
    } else {
        if (!(flags & VFS_O_CREATE)) {
            rc = -ENOENT;
            goto done;
        }
        rc = mem_create_node(fs, path, &nd);
        if (rc)
            goto done;
    }
    if ((flags & VFS_O_TRUNC) && (flags & VFS_O_WRITE))
        nd->len = 0;
    nd->refs++;
    mf->base.owner = v;
    mf->node = nd;
    mf->flags = flags;
    *out = &mf->base;
done:
    pthread_mutex_unlock(&fs->mu);
    if (rc)
        free(mf);
    return rc;
}

static int mem_close(vfs *v, vfs_file *f)
{
    if (!f)
        return 0;
    mem_fs *fs = v->ctx;
    mem_file *mf = (mem_file *)f;
    pthread_mutex_lock(&fs->mu);
    mem_node *nd = mf->node;
    if (--nd->refs == 0 && !nd->path)
        mem_node_free(nd);
    pthread_mutex_unlock(&fs->mu);
    free(mf);
    return 0;
}

static int mem_read(vfs *v, vfs_file *f, uint64_t off, void *buf, size_t len, size_t *got)
{
    mem_fs *fs = v->ctx;
    mem_file *mf = (mem_file *)f;
    *got = 0;
    if (!(mf->flags & VFS_O_READ))
        return -EBADF;
    pthread_mutex_lock(&fs->mu);
    mem_node *nd = mf->node;
    if (off < nd->len) {
        size_t n = nd->len - (size_t)off;
        if (n > len)
            n = len;
        memcpy(buf, nd->data + off, n);
        *got = n;
    }
    pthread_mutex_unlock(&fs->mu);
    return 0;
}

static int mem_write(vfs *v, vfs_file *f, uint64_t off, const void *buf, size_t len)
{
    mem_fs *fs = v->ctx;
    mem_file *mf = (mem_file *)f;
    if (!(mf->flags & VFS_O_WRITE))
        return -EBADF;
    if (len == 0)
        return 0;
    if (off > VFS_MEM_MAX_FILE_BYTES || len > VFS_MEM_MAX_FILE_BYTES - off)
        return -EFBIG;
    pthread_mutex_lock(&fs->mu);
    mem_node *nd = mf->node;
    int rc = mem_reserve(nd, off + len);
    if (rc == 0) {
        if (off > nd->len)
            memset(nd->data + nd->len, 0, (size_t)off - nd->len);
        memcpy(nd->data + off, buf, len);
        if (off + len > nd->len)
            nd->len = (size_t)(off + len);
    }
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

static int mem_sync(vfs *v, vfs_file *f)
{
    (void)v;
    mem_file *mf = (mem_file *)f;
    return (mf->flags & VFS_O_WRITE) ? 0 : -EBADF;
}

static int mem_size(vfs *v, vfs_file *f, uint64_t *out)
{
    mem_fs *fs = v->ctx;
    mem_file *mf = (mem_file *)f;
    pthread_mutex_lock(&fs->mu);
    *out = mf->node->len;
    pthread_mutex_unlock(&fs->mu);
    return 0;
}

static int mem_truncate(vfs *v, vfs_file *f, uint64_t size)
{
    mem_fs *fs = v->ctx;
    mem_file *mf = (mem_file *)f;
    if (!(mf->flags & VFS_O_WRITE))
        return -EBADF;
    pthread_mutex_lock(&fs->mu);
    mem_node *nd = mf->node;
    int rc = 0;
    if (size > nd->len) {
        rc = mem_reserve(nd, size);
        if (rc == 0)
            memset(nd->data + nd->len, 0, (size_t)size - nd->len);
    }
    if (rc == 0)
        nd->len = (size_t)size;
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

static int mem_rename(vfs *v, const char *from, const char *to)
{
    mem_fs *fs = v->ctx;
    int rc = 0;
    pthread_mutex_lock(&fs->mu);
    ptrdiff_t i = mem_find(fs, from);
    if (i < 0) {
        rc = -ENOENT;
        goto done;
    }
    if (!strcmp(from, to))
        goto done;
    char *np = strdup(to);
    if (!np) {
        rc = -ENOMEM;
        goto done;
    }
    mem_node *nd = fs->nodes[i];
    ptrdiff_t j = mem_find(fs, to);
    if (j >= 0)
        mem_detach(fs, (size_t)j); /* moves the last entry, maybe nd: keep the pointer */
    free(nd->path);
    nd->path = np;
done:
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

static int mem_unlink(vfs *v, const char *path)
{
    mem_fs *fs = v->ctx;
    pthread_mutex_lock(&fs->mu);
    ptrdiff_t i = mem_find(fs, path);
    if (i >= 0)
        mem_detach(fs, (size_t)i);
    pthread_mutex_unlock(&fs->mu);
    return i >= 0 ? 0 : -ENOENT;
}

static int mem_mkdir(vfs *v, const char *path)
{
    (void)v;
    (void)path;
    return 0;
}

static int mem_fsync_dir(vfs *v, const char *path)
{
    (void)v;
    (void)path;
    return 0;
}

static int mem_list(vfs *v, const char *dir, vfs_list_fn fn, void *ctx)
{
    mem_fs *fs = v->ctx;
    size_t dl = strlen(dir);
    /* Copy the matching names out first: fn may call back into this vfs. */
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    pthread_mutex_lock(&fs->mu);
    if (fs->n) {
        names = calloc(fs->n, sizeof *names);
        if (!names)
            rc = -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < fs->n; i++) {
        const char *p = fs->nodes[i]->path;
        if (strncmp(p, dir, dl) || p[dl] != '/' || !p[dl + 1] || strchr(p + dl + 1, '/'))
            continue;
        names[n] = strdup(p + dl + 1);
        if (!names[n])
            rc = -ENOMEM;
        else
            n++;
    }
    pthread_mutex_unlock(&fs->mu);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fn(ctx, names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

vfs *vfs_mem_create(void)
{
    vfs *v = calloc(1, sizeof *v);
    mem_fs *fs = calloc(1, sizeof *fs);
    if (!v || !fs || pthread_mutex_init(&fs->mu, NULL)) {
        free(v);
        free(fs);
        return NULL;
    }
    v->name = "mem";
    v->ctx = fs;
    v->open = mem_open;
    v->close = mem_close;
    v->read = mem_read;
    v->write = mem_write;
    v->fsync = mem_sync;
    v->fdatasync = mem_sync;
    v->size = mem_size;
    v->truncate = mem_truncate;
    v->rename = mem_rename;
    v->unlink = mem_unlink;
    v->mkdir = mem_mkdir;
    v->fsync_dir = mem_fsync_dir;
    v->list = mem_list;
    return v;
}

void vfs_mem_free(vfs *v)
{
    if (!v)
        return;
    mem_fs *fs = v->ctx;
    while (fs->n)
        mem_detach(fs, fs->n - 1);
    free(fs->nodes);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
    free(v);
}

int vfs_mem_put(vfs *v, const char *path, const void *data, size_t len)
{
    vfs_file *f;
    int rc = mem_open(v, path, VFS_O_WRITE | VFS_O_CREATE | VFS_O_TRUNC, &f);
    if (rc)
        return rc;
    rc = mem_write(v, f, 0, data, len);
    mem_close(v, f);
    return rc;
}

int vfs_mem_get(vfs *v, const char *path, void **data, size_t *len)
{
    mem_fs *fs = v->ctx;
    int rc = 0;
    *data = NULL;
    *len = 0;
    pthread_mutex_lock(&fs->mu);
    ptrdiff_t i = mem_find(fs, path);
    if (i < 0) {
        rc = -ENOENT;
    } else if (fs->nodes[i]->len) {
        mem_node *nd = fs->nodes[i];
        *data = malloc(nd->len);
        if (!*data) {
            rc = -ENOMEM;
        } else {
            memcpy(*data, nd->data, nd->len);
            *len = nd->len;
        }
    }
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

/* ======================================================================== */
/* Fault injection                                                          */
/* ======================================================================== */

typedef struct fault_ctx {
    vfs *inner;
    pthread_mutex_t mu;
    vfs_fault_plan plan;
    bool armed;
    uint64_t plan_writes, plan_syncs, plan_bytes; /* counts since arm */
    vfs_fault_stats st;
} fault_ctx;

typedef struct fault_file {
    vfs_file base;
    vfs_file *inner;
} fault_file;

/* -EIO when crashed, else 0. Caller holds mu. */
static int fault_dead(fault_ctx *fc)
{
    return fc->st.crashed ? -EIO : 0;
}

/* Does the Nth event (1-based) fall in [at, at+count) (count 0 = forever)? */
static bool fault_hit(uint64_t n, uint64_t at, uint64_t count)
{
    if (at == 0 || n < at)
        return false;
    return count == 0 || n - at < count;
}

static int ft_open(vfs *v, const char *path, int flags, vfs_file **out)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    if (rc)
        return rc;
    fault_file *ff = malloc(sizeof *ff);
    if (!ff)
        return -ENOMEM;
    rc = fc->inner->open(fc->inner, path, flags, &ff->inner);
    if (rc) {
        free(ff);
        return rc;
    }
    ff->base.owner = v;
    *out = &ff->base;
    return 0;
}

static int ft_close(vfs *v, vfs_file *f)
{
    if (!f)
        return 0;
    fault_ctx *fc = v->ctx;
    fault_file *ff = (fault_file *)f;
    int rc = fc->inner->close(fc->inner, ff->inner);
    free(ff);
    return rc;
}

static int ft_read(vfs *v, vfs_file *f, uint64_t off, void *buf, size_t len, size_t *got)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    if (rc) {
        *got = 0;
        return rc;
    }
    return fc->inner->read(fc->inner, ((fault_file *)f)->inner, off, buf, len, got);
}

static int ft_write(vfs *v, vfs_file *f, uint64_t off, const void *buf, size_t len)
{
    fault_ctx *fc = v->ctx;
    fault_file *ff = (fault_file *)f;
    size_t pass = len; /* bytes to hand to the inner vfs */
    int fail = 0;      /* errno to return after passing them */
    bool crash_now = false;

    pthread_mutex_lock(&fc->mu);
    fc->st.writes++;
    int rc = fault_dead(fc);
    if (rc) {
        fc->st.failed_writes++;
        pthread_mutex_unlock(&fc->mu);
        return rc;
    }
    if (fc->armed) {
        const vfs_fault_plan *p = &fc->plan;
        uint64_t n = ++fc->plan_writes;
        if (fault_hit(n, p->write_fail_at, p->write_fail_count)) {
            fail = p->write_errno ? p->write_errno : EIO;
            pass = p->write_short_bytes < len ? p->write_short_bytes : len;
        }
        if (p->crash) {
            uint64_t left = p->crash_after_bytes - fc->plan_bytes;
            if (pass > left) {
                pass = (size_t)left;
                fail = EIO;
                crash_now = true;
            }
        }
    }
    /* The inner write happens under the lock so the crash budget is exact
     * even with the everysec thread running. */
    if (pass) {
        rc = fc->inner->write(fc->inner, ff->inner, off, buf, pass);
        if (rc == 0) {
            fc->st.bytes += pass;
            fc->plan_bytes += pass;
        }
    }
    if (crash_now)
        fc->st.crashed = true;
    if (rc == 0 && fail)
        rc = -fail;
    if (rc)
        fc->st.failed_writes++;
    pthread_mutex_unlock(&fc->mu);
    return rc;
}

static int ft_sync(vfs *v, vfs_file *f, bool data_only)
{
    fault_ctx *fc = v->ctx;
    fault_file *ff = (fault_file *)f;
    pthread_mutex_lock(&fc->mu);
    fc->st.syncs++;
    int rc = fault_dead(fc);
    if (rc == 0 && fc->armed) {
        uint64_t n = ++fc->plan_syncs;
        if (fault_hit(n, fc->plan.sync_fail_at, fc->plan.sync_fail_count))
            rc = -(fc->plan.sync_errno ? fc->plan.sync_errno : EIO);
    }
    if (rc)
        fc->st.failed_syncs++;
    pthread_mutex_unlock(&fc->mu);
    if (rc)
        return rc;
    return data_only ? fc->inner->fdatasync(fc->inner, ff->inner)
                     : fc->inner->fsync(fc->inner, ff->inner);
}

static int ft_fsync(vfs *v, vfs_file *f)
{
    return ft_sync(v, f, false);
}

static int ft_fdatasync(vfs *v, vfs_file *f)
{
    return ft_sync(v, f, true);
}

static int ft_size(vfs *v, vfs_file *f, uint64_t *out)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    return rc ? rc : fc->inner->size(fc->inner, ((fault_file *)f)->inner, out);
}

static int ft_truncate(vfs *v, vfs_file *f, uint64_t size)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    return rc ? rc : fc->inner->truncate(fc->inner, ((fault_file *)f)->inner, size);
}

static int ft_rename(vfs *v, const char *from, const char *to)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    return rc ? rc : fc->inner->rename(fc->inner, from, to);
}

static int ft_unlink(vfs *v, const char *path)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    return rc ? rc : fc->inner->unlink(fc->inner, path);
}

static int ft_mkdir(vfs *v, const char *path)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    return rc ? rc : fc->inner->mkdir(fc->inner, path);
}

static int ft_fsync_dir(vfs *v, const char *path)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    fc->st.dir_syncs++;
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    return rc ? rc : fc->inner->fsync_dir(fc->inner, path);
}

static int ft_list(vfs *v, const char *dir, vfs_list_fn fn, void *ctx)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    int rc = fault_dead(fc);
    pthread_mutex_unlock(&fc->mu);
    return rc ? rc : fc->inner->list(fc->inner, dir, fn, ctx);
}

vfs *vfs_fault_create(vfs *inner)
{
    if (!inner)
        return NULL;
    vfs *v = calloc(1, sizeof *v);
    fault_ctx *fc = calloc(1, sizeof *fc);
    if (!v || !fc || pthread_mutex_init(&fc->mu, NULL)) {
        free(v);
        free(fc);
        return NULL;
    }
    fc->inner = inner;
    v->name = "fault";
    v->ctx = fc;
    v->open = ft_open;
    v->close = ft_close;
    v->read = ft_read;
    v->write = ft_write;
    v->fsync = ft_fsync;
    v->fdatasync = ft_fdatasync;
    v->size = ft_size;
    v->truncate = ft_truncate;
    v->rename = ft_rename;
    v->unlink = ft_unlink;
    v->mkdir = ft_mkdir;
    v->fsync_dir = ft_fsync_dir;
    v->list = ft_list;
    return v;
}

void vfs_fault_free(vfs *v)
{
    if (!v)
        return;
    fault_ctx *fc = v->ctx;
    pthread_mutex_destroy(&fc->mu);
    free(fc);
    free(v);
}

void vfs_fault_arm(vfs *v, const vfs_fault_plan *plan)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    fc->plan = *plan;
    fc->armed = true;
    fc->plan_writes = fc->plan_syncs = fc->plan_bytes = 0;
    fc->st.crashed = false;
    pthread_mutex_unlock(&fc->mu);
}

void vfs_fault_disarm(vfs *v)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    memset(&fc->plan, 0, sizeof fc->plan);
    fc->armed = false;
    fc->st.crashed = false;
    pthread_mutex_unlock(&fc->mu);
}

void vfs_fault_get_stats(vfs *v, vfs_fault_stats *st)
{
    fault_ctx *fc = v->ctx;
    pthread_mutex_lock(&fc->mu);
    *st = fc->st;
    pthread_mutex_unlock(&fc->mu);
}

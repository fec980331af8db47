/*
 * vfs.h — the I/O seam of the storage layer, in the spirit of SQLite's VFS.
 *
 * Everything storage/ does to files goes through a `vfs`: a struct of function
 * pointers plus a context. Three implementations live in vfs.c:
 *
 *   vfs_posix()        the real thing: open/pread/pwrite/fsync/fdatasync/...,
 *                      retrying EINTR and finishing short reads and writes.
 *   vfs_mem_create()   an in-memory file system (a flat table of paths), for
 *                      the fuzzers and for tests that should not touch a disk.
 *   vfs_fault_create() a wrapper over another vfs that injects failures on
 *                      command: fail the Nth write (ENOSPC, EIO...), make it
 *                      short (write k bytes, then fail), fail the Nth fsync,
 *                      or "crash": stop all I/O once a byte budget is spent,
 *                      the last write torn at exactly that byte (a power cut
 *                      or kill -9 in the middle of write(2)).
 *
 * Conventions
 *   - Every function returns 0 or a negative errno value (-ENOSPC, -EIO,
 *     -ENOENT...). Callers turn it into a segdb_err with strerror(-rc).
 *   - Writes and reads are positional (pwrite/pread style); write writes all
 *     len bytes or fails (after a failure the bytes at [off, off+len) are
 *     unspecified: some prefix may have reached the file).
 *   - A vfs_file belongs to the vfs that opened it and is released by that
 *     vfs's close (close never fails to release, even when it returns an error).
 *   - The function pointers may be called from several threads at once (the
 *     log's everysec thread fsyncs while the main thread writes); all three
 *     implementations are thread-safe for that use.
 */
#ifndef SEGDB_VFS_H
#define SEGDB_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfs vfs;

/* An open file. Implementations embed this as their first member. */
typedef struct vfs_file {
    const vfs *owner;
} vfs_file;

/* open() flags, combinable. */
enum {
    VFS_O_READ = 1,    /* readable */
    VFS_O_WRITE = 2,   /* writable (write, truncate, fsync) */
    VFS_O_CREATE = 4,  /* create when missing */
    VFS_O_TRUNC = 8,   /* empty it on open (needs VFS_O_WRITE) */
    VFS_O_EXCL = 16,   /* with VFS_O_CREATE: -EEXIST when it exists */
};

/* list() callback: called once per directory entry except "." and "..";
 * return 0 to go on, anything else to stop (list then returns that value). */
typedef int (*vfs_list_fn)(void *ctx, const char *name);

struct vfs {
    const char *name; /* "posix", "mem", "fault" */
    void *ctx;        /* implementation state */

    int (*open)(vfs *v, const char *path, int flags, vfs_file **out);
    int (*close)(vfs *v, vfs_file *f);
    /* Reads up to len bytes at off; *got < len only at end of file. */
    int (*read)(vfs *v, vfs_file *f, uint64_t off, void *buf, size_t len, size_t *got);
    /* Writes all len bytes at off (extending the file as needed). */
    int (*write)(vfs *v, vfs_file *f, uint64_t off, const void *buf, size_t len);
    int (*fsync)(vfs *v, vfs_file *f);
    int (*fdatasync)(vfs *v, vfs_file *f);
    int (*size)(vfs *v, vfs_file *f, uint64_t *out);
    int (*truncate)(vfs *v, vfs_file *f, uint64_t size);
    int (*rename)(vfs *v, const char *from, const char *to); /* replaces `to` */
    int (*unlink)(vfs *v, const char *path);
    int (*mkdir)(vfs *v, const char *path); /* -EEXIST when it exists */
    int (*fsync_dir)(vfs *v, const char *path);
    int (*list)(vfs *v, const char *dir, vfs_list_fn fn, void *ctx);
};

/* The process-wide POSIX implementation (static; never freed). */
vfs *vfs_posix(void);

/* ---- in-memory file system --------------------------------------------- */

/* A new, empty in-memory file system; NULL on ENOMEM. Directories are
 * implicit: mkdir always succeeds and list(dir) lists the files whose path is
 * "dir/<name>" with no further '/'. Files grow to at most VFS_MEM_MAX_FILE_BYTES
 * (-EFBIG past it). Free with vfs_mem_free (NULL is a no-op) once every file is
 * closed. */
#define VFS_MEM_MAX_FILE_BYTES (1ull << 30)
vfs *vfs_mem_create(void);
void vfs_mem_free(vfs *v);

/* Creates or replaces the file `path` with a copy of data[0..len). */
int vfs_mem_put(vfs *v, const char *path, const void *data, size_t len);

/* *data = malloc'd copy of the file (caller frees; NULL when empty), *len = its
 * size. -ENOENT when there is no such file. */
int vfs_mem_get(vfs *v, const char *path, void **data, size_t *len);

/* ---- fault injection --------------------------------------------------- */

/* What to break. Counters start at 0 when the plan is armed; "the Nth write"
 * counts calls to write() through this vfs (1 = the next one). */
typedef struct vfs_fault_plan {
    uint64_t write_fail_at;    /* the write that fails first (0 = no write fails) */
    uint64_t write_fail_count; /* writes failing from there on (0 = all of them) */
    int write_errno;           /* ENOSPC, EIO... (0 = EIO) */
    size_t write_short_bytes;  /* a failing write first writes this many bytes */
    uint64_t sync_fail_at;     /* the fsync/fdatasync that fails first (0 = none) */
    uint64_t sync_fail_count;  /* syncs failing from there on (0 = all) */
    int sync_errno;            /* 0 = EIO */
    bool crash;                /* stop all I/O once crash_after_bytes are written */
    uint64_t crash_after_bytes;/* bytes (over all files) still allowed to reach the inner vfs */
} vfs_fault_plan;

/* Totals since vfs_fault_create (arming does not reset them). */
typedef struct vfs_fault_stats {
    uint64_t writes;           /* write() calls, failed ones included */
    uint64_t bytes;            /* bytes that reached the inner vfs */
    uint64_t syncs;            /* fsync + fdatasync calls, failed ones included */
    uint64_t dir_syncs;
    uint64_t failed_writes, failed_syncs;
    bool crashed;              /* the crash budget ran out: every call now fails with EIO */
} vfs_fault_stats;

/* A fault-injecting wrapper over inner (which must outlive it); NULL on
 * ENOMEM. With no plan armed it passes everything through. Once crashed, every
 * call but close fails with -EIO (close still releases the inner file). */
vfs *vfs_fault_create(vfs *inner);
void vfs_fault_free(vfs *v);
void vfs_fault_arm(vfs *v, const vfs_fault_plan *plan); /* restarts the plan's counts; clears a crash */
void vfs_fault_disarm(vfs *v);                          /* the disk works again */
void vfs_fault_get_stats(vfs *v, vfs_fault_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* SEGDB_VFS_H */

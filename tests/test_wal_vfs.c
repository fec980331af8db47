/*
 * test_wal_vfs.c — Criterion suite `wal_vfs` for storage/vfs.c: the POSIX and
 * in-memory file systems behave alike (the same checks run on both), and the
 * fault-injecting wrapper fails exactly the writes, syncs and bytes it is told to.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfs.h"

static char *mk_tmpdir(void)
{
    char *t = strdup("/tmp/segdb-vfs-XXXXXX");
    cr_assert(t && mkdtemp(t));
    return t;
}

static void rm_tree(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    free(dir);
}

static void path_in(char *out, const char *dir, const char *name)
{
    snprintf(out, 4096, "%s/%s", dir, name);
}

typedef struct names {
    char v[16][64];
    int n;
} names;

static int add_name(void *ctx, const char *name)
{
    names *ns = ctx;
    if (ns->n < 16)
        snprintf(ns->v[ns->n++], 64, "%s", name);
    return 0;
}

static bool has_name(const names *ns, const char *name)
{
    for (int i = 0; i < ns->n; i++)
        if (!strcmp(ns->v[i], name))
            return true;
    return false;
}

/* The contract of vfs.h, run against any implementation. */
static void check_contract(vfs *v, const char *dir)
{
    char a[4096], b[4096];
    path_in(a, dir, "a");
    path_in(b, dir, "b");
    vfs_file *f = NULL;
    cr_assert_eq(v->open(v, a, VFS_O_READ, &f), -ENOENT, "%s: missing file", v->name);
    cr_assert_eq(v->open(v, a, VFS_O_READ | VFS_O_WRITE | VFS_O_CREATE, &f), 0);
    cr_assert_eq(v->write(v, f, 0, "hello world", 11), 0);
    cr_assert_eq(v->write(v, f, 6, "WORLD!", 6), 0, "overwrite and extend");
    uint64_t size = 0;
    cr_assert_eq(v->size(v, f, &size), 0);
    cr_assert_eq(size, 12);
    char buf[32] = {0};
    size_t got = 99;
    cr_assert_eq(v->read(v, f, 0, buf, sizeof buf, &got), 0);
    cr_assert_eq(got, 12, "%s: a read past the end is short, not an error", v->name);
    cr_assert(!memcmp(buf, "hello WORLD!", 12));
    cr_assert_eq(v->read(v, f, 100, buf, 4, &got), 0);
    cr_assert_eq(got, 0);
    cr_assert_eq(v->write(v, f, 20, "x", 1), 0, "a write past the end leaves a hole of zeros");
    cr_assert_eq(v->read(v, f, 12, buf, 9, &got), 0);
    cr_assert_eq(got, 9);
    cr_assert(!memcmp(buf, "\0\0\0\0\0\0\0\0x", 9));
    cr_assert_eq(v->truncate(v, f, 5), 0);
    cr_assert_eq(v->size(v, f, &size), 0);
    cr_assert_eq(size, 5);
    cr_assert_eq(v->fsync(v, f), 0);
    cr_assert_eq(v->fdatasync(v, f), 0);
    cr_assert_eq(v->close(v, f), 0);

    vfs_file *g = NULL;
    cr_assert_eq(v->open(v, a, VFS_O_WRITE | VFS_O_CREATE | VFS_O_EXCL, &g), -EEXIST);
    cr_assert_eq(v->open(v, b, VFS_O_WRITE | VFS_O_CREATE | VFS_O_EXCL, &g), 0);
    cr_assert_eq(v->write(v, g, 0, "bbb", 3), 0);
    cr_assert_eq(v->close(v, g), 0);

    names ns = {0};
    cr_assert_eq(v->list(v, dir, add_name, &ns), 0);
    cr_assert_eq(ns.n, 2, "%s: lists exactly the files, no . or ..", v->name);
    cr_assert(has_name(&ns, "a") && has_name(&ns, "b"));

    cr_assert_eq(v->rename(v, b, a), 0, "rename replaces the target");
    cr_assert_eq(v->open(v, a, VFS_O_READ, &f), 0);
    cr_assert_eq(v->read(v, f, 0, buf, sizeof buf, &got), 0);
    cr_assert_eq(got, 3);
    cr_assert_eq(v->unlink(v, a), 0, "unlink while open");
    cr_assert_eq(v->read(v, f, 0, buf, sizeof buf, &got), 0);
    cr_assert_eq(got, 3, "%s: an open file stays readable after unlink", v->name);
    cr_assert_eq(v->close(v, f), 0);
    cr_assert_eq(v->unlink(v, a), -ENOENT);
    cr_assert_eq(v->fsync_dir(v, dir), 0);

    ns.n = 0;
    cr_assert_eq(v->list(v, dir, add_name, &ns), 0);
    cr_assert_eq(ns.n, 0);

    cr_assert_eq(v->open(v, a, VFS_O_WRITE | VFS_O_CREATE, &f), 0);
    cr_assert_eq(v->write(v, f, 0, "0123456789", 10), 0);
    cr_assert_eq(v->close(v, f), 0);
    cr_assert_eq(v->open(v, a, VFS_O_WRITE | VFS_O_TRUNC, &f), 0);
    cr_assert_eq(v->size(v, f, &size), 0);
    cr_assert_eq(size, 0, "%s: VFS_O_TRUNC empties the file", v->name);
    cr_assert_eq(v->close(v, f), 0);
    cr_assert_eq(v->unlink(v, a), 0);
}

Test(wal_vfs, posix_implements_the_contract)
{
    char *dir = mk_tmpdir();
    check_contract(vfs_posix(), dir);
    cr_assert_eq(vfs_posix()->mkdir(vfs_posix(), dir), -EEXIST);
    names ns = {0};
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    cr_assert_eq(vfs_posix()->list(vfs_posix(), missing, add_name, &ns), -ENOENT);
    rm_tree(dir);
}

Test(wal_vfs, memory_implements_the_contract)
{
    vfs *v = vfs_mem_create();
    check_contract(v, "m");
    vfs_mem_free(v);
}

Test(wal_vfs, fault_wrapper_without_a_plan_implements_the_contract)
{
    vfs *m = vfs_mem_create();
    vfs *v = vfs_fault_create(m);
    check_contract(v, "m");
    vfs_fault_free(v);
    vfs_mem_free(m);
}

Test(wal_vfs, memory_lists_only_direct_children_and_puts_and_gets_copies)
{
    vfs *v = vfs_mem_create();
    cr_assert_eq(vfs_mem_put(v, "d/x", "12345", 5), 0);
    cr_assert_eq(vfs_mem_put(v, "d/sub/y", "1", 1), 0);
    cr_assert_eq(vfs_mem_put(v, "dd/z", "1", 1), 0);
    names ns = {0};
    cr_assert_eq(v->list(v, "d", add_name, &ns), 0);
    cr_assert_eq(ns.n, 1);
    cr_assert_str_eq(ns.v[0], "x");
    void *data;
    size_t len;
    cr_assert_eq(vfs_mem_get(v, "d/x", &data, &len), 0);
    cr_assert_eq(len, 5);
    cr_assert(!memcmp(data, "12345", 5));
    free(data);
    cr_assert_eq(vfs_mem_get(v, "d/none", &data, &len), -ENOENT);
    vfs_file *f;
    cr_assert_eq(v->open(v, "d/x", VFS_O_WRITE, &f), 0);
    char c;
    size_t got;
    cr_assert_eq(v->read(v, f, 0, &c, 1, &got), -EBADF, "not opened for reading");
    cr_assert_eq(v->write(v, f, VFS_MEM_MAX_FILE_BYTES, "x", 1), -EFBIG);
    cr_assert_eq(v->close(v, f), 0);
    vfs_mem_free(v);
}

Test(wal_vfs, fault_fails_the_nth_write_with_the_chosen_errno_for_count_writes)
{
    vfs *m = vfs_mem_create();
    vfs *v = vfs_fault_create(m);
    vfs_file *f;
    cr_assert_eq(v->open(v, "d/f", VFS_O_READ | VFS_O_WRITE | VFS_O_CREATE, &f), 0);
    vfs_fault_plan p = {.write_fail_at = 3, .write_fail_count = 2, .write_errno = ENOSPC};
    vfs_fault_arm(v, &p);
    cr_assert_eq(v->write(v, f, 0, "a", 1), 0);
    cr_assert_eq(v->write(v, f, 1, "b", 1), 0);
    cr_assert_eq(v->write(v, f, 2, "c", 1), -ENOSPC);
    cr_assert_eq(v->write(v, f, 2, "c", 1), -ENOSPC);
    cr_assert_eq(v->write(v, f, 2, "c", 1), 0, "only two writes fail");
    vfs_fault_stats st;
    vfs_fault_get_stats(v, &st);
    cr_assert_eq(st.writes, 5);
    cr_assert_eq(st.failed_writes, 2);
    cr_assert_eq(st.bytes, 3);
    cr_assert_eq(v->close(v, f), 0);
    vfs_fault_free(v);
    vfs_mem_free(m);
}

Test(wal_vfs, fault_short_write_writes_k_bytes_then_fails)
{
    vfs *m = vfs_mem_create();
    vfs *v = vfs_fault_create(m);
    vfs_file *f;
    cr_assert_eq(v->open(v, "d/f", VFS_O_WRITE | VFS_O_CREATE, &f), 0);
    vfs_fault_plan p = {.write_fail_at = 1, .write_fail_count = 1, .write_errno = EIO,
                        .write_short_bytes = 4};
    vfs_fault_arm(v, &p);
    cr_assert_eq(v->write(v, f, 0, "abcdefgh", 8), -EIO);
    cr_assert_eq(v->close(v, f), 0);
    void *data;
    size_t len;
    cr_assert_eq(vfs_mem_get(m, "d/f", &data, &len), 0);
    cr_assert_eq(len, 4);
    cr_assert(!memcmp(data, "abcd", 4));
    free(data);
    vfs_fault_free(v);
    vfs_mem_free(m);
}

Test(wal_vfs, fault_fails_the_nth_sync)
{
    vfs *m = vfs_mem_create();
    vfs *v = vfs_fault_create(m);
    vfs_file *f;
    cr_assert_eq(v->open(v, "d/f", VFS_O_WRITE | VFS_O_CREATE, &f), 0);
    vfs_fault_plan p = {.sync_fail_at = 2, .sync_fail_count = 1};
    vfs_fault_arm(v, &p);
    cr_assert_eq(v->fsync(v, f), 0);
    cr_assert_eq(v->fdatasync(v, f), -EIO, "fsync and fdatasync count together; EIO by default");
    cr_assert_eq(v->fdatasync(v, f), 0);
    vfs_fault_stats st;
    vfs_fault_get_stats(v, &st);
    cr_assert_eq(st.syncs, 3);
    cr_assert_eq(st.failed_syncs, 1);
    cr_assert_eq(v->close(v, f), 0);
    vfs_fault_free(v);
    vfs_mem_free(m);
}

Test(wal_vfs, fault_crash_tears_the_write_at_the_budget_and_stops_all_io)
{
    vfs *m = vfs_mem_create();
    vfs *v = vfs_fault_create(m);
    vfs_file *f, *g;
    cr_assert_eq(v->open(v, "d/f", VFS_O_READ | VFS_O_WRITE | VFS_O_CREATE, &f), 0);
    vfs_fault_plan p = {.crash = true, .crash_after_bytes = 10};
    vfs_fault_arm(v, &p);
    cr_assert_eq(v->write(v, f, 0, "0123456", 7), 0);
    cr_assert_eq(v->write(v, f, 7, "789abc", 6), -EIO, "the budget runs out mid-write");
    vfs_fault_stats st;
    vfs_fault_get_stats(v, &st);
    cr_assert(st.crashed);
    cr_assert_eq(st.bytes, 10);
    cr_assert_eq(v->write(v, f, 10, "z", 1), -EIO);
    cr_assert_eq(v->fdatasync(v, f), -EIO);
    cr_assert_eq(v->truncate(v, f, 0), -EIO, "no clean-up reaches the disk after a crash");
    cr_assert_eq(v->unlink(v, "d/f"), -EIO);
    cr_assert_eq(v->open(v, "d/g", VFS_O_WRITE | VFS_O_CREATE, &g), -EIO);
    cr_assert_eq(v->close(v, f), 0, "close still releases the file");
    void *data;
    size_t len;
    cr_assert_eq(vfs_mem_get(m, "d/f", &data, &len), 0);
    cr_assert_eq(len, 10);
    cr_assert(!memcmp(data, "0123456789", 10));
    free(data);
    vfs_fault_disarm(v);
    cr_assert_eq(v->open(v, "d/g", VFS_O_WRITE | VFS_O_CREATE, &g), 0, "disarm: the disk is back");
    cr_assert_eq(v->close(v, g), 0);
    vfs_fault_free(v);
    vfs_mem_free(m);
}

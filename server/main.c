/*
 * main.c — segdb-server's entry point: read the options (with --huge-pages
 * yes, execute itself once more with glibc's huge-page tunable), lock the data
 * directory, recover the database from it (newest valid snapshot + log
 * replay, storage/recovery.h), open the log for writing (storage/
 * durability.h), listen, run the event loop until SHUTDOWN/SIGTERM/SIGINT,
 * then flush and sync the log and exit 0. A start that recovery refuses
 * (damage that would lose acknowledged writes) exits 1 with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd_persist.h"
#include "config.h"
#include "durability.h"
#include "recovery.h"
#include "server.h"

static void say(void *ctx, const char *line)
{
    server_log("%s%s", (const char *)ctx, line);
}

static wal_fsync_mode fsync_mode(int appendfsync)
{
    switch (appendfsync) {
    case APPENDFSYNC_ALWAYS: return WAL_FSYNC_ALWAYS;
    case APPENDFSYNC_NO: return WAL_FSYNC_NO;
    default: return WAL_FSYNC_EVERYSEC;
    }
}

/* One server per data directory: an exclusive flock on <dir>/LOCK, held (and
 * inherited by a BGSAVE child) until the process ends. -1 on failure. */
static int lock_dir(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "segdb-server: can't create --dir '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    char path[4096];
    if (snprintf(path, sizeof path, "%s/LOCK", dir) >= (int)sizeof path) {
        fprintf(stderr, "segdb-server: --dir '%s' is too long\n", dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "segdb-server: can't open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "segdb-server: %s: %s\n", path,
                errno == EWOULDBLOCK ? "another segdb-server uses this --dir" : strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* huge-pages: glibc puts malloc's heap in transparent huge pages only when
 * GLIBC_TUNABLES says so at process start, so the server executes itself
 * again, once, with glibc.malloc.hugetlb=1 added (the engine's columns follow
 * the same variable, store.h). Nothing happens when the variable already
 * names hugetlb or the kernel has THP off; a failed exec goes on as is. */
static void exec_with_huge_pages(char **argv)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if (t && strstr(t, "glibc.malloc.hugetlb"))
        return;
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return;
    char line[128] = "";
    bool off = !fgets(line, sizeof line, f) || strstr(line, "[never]");
    fclose(f);
    if (off)
        return;
    char *old = t ? strdup(t) : NULL;
    char val[4096];
    if ((t && !old) || snprintf(val, sizeof val, "%s%sglibc.malloc.hugetlb=1", old ? old : "",
                                old && *old ? ":" : "") >= (int)sizeof val) {
        free(old);
        return;
    }
    if (setenv("GLIBC_TUNABLES", val, 1) == 0)
        execv("/proc/self/exe", argv);
    if (old)
        setenv("GLIBC_TUNABLES", old, 1);
    else
        unsetenv("GLIBC_TUNABLES");
    free(old);
}

int main(int argc, char **argv)
{
    server_config cfg;
    segdb_err err = {0};
    int rc = 1, lock_fd = -1;
    segdb_t *db = NULL;
    dur_t *dur = NULL;
    server_ctx *srv = NULL;
    if (config_init(&cfg) < 0) {
        fprintf(stderr, "segdb-server: out of memory\n");
        return 1;
    }
    bool help = false, version = false;
    if (config_parse_args(&cfg, argc, argv, &help, &version, &err) < 0) {
        fprintf(stderr, "segdb-server: %s\n", err.msg);
        goto done;
    }
    if (help) {
        config_print_help(stdout, "segdb-server");
        rc = 0;
        goto done;
    }
    if (version) {
        printf("segdb-server %s\n", SEGDB_VERSION);
        rc = 0;
        goto done;
    }
    if (cfg.huge_pages)
        exec_with_huge_pages(argv);
    lock_fd = lock_dir(cfg.dir);
    if (lock_fd < 0)
        goto done;

    segdb_options o;
    config_engine_options(&cfg, &o);
    recovery_options ro = {.dir = cfg.dir, .engine = &o, .repair = cfg.repair, .say = say,
                           .say_ctx = (void *)"recovery: "};
    recovery_result res;
    if (recovery_run(&ro, &db, &res, &err) < 0) {
        fprintf(stderr, "segdb-server: can't start: %s\n", err.msg);
        goto done;
    }
    dur_options dopt;
    dur_options_init(&dopt);
    dopt.dir = cfg.dir;
    dopt.fsync_mode = fsync_mode(cfg.appendfsync);
    dopt.segment_max_bytes = cfg.wal_segment_bytes;
    dopt.snapshot_log_bytes = cfg.snapshot_log_bytes;
    dopt.snapshot_changes = cfg.snapshot_changes;
    dopt.snapshot_keep = (unsigned)cfg.snapshot_keep;
    dopt.last_save_seq = res.snapshot_seq;
    dopt.recovered_truncated_bytes = res.truncated_bytes;
    dopt.say = say;
    dopt.say_ctx = (void *)"";
    /* The log's everysec thread must not receive SIGTERM/SIGINT (they would
     * kill the process there): it starts with them blocked; the main thread
     * blocks them too in server_listen and reads them from a signalfd. */
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    int drc = dur_open(db, &dopt, &dur, &err);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (drc < 0) {
        fprintf(stderr, "segdb-server: can't open the write-ahead log: %s\n", err.msg);
        goto done;
    }
    srv = server_ctx_create(db, &cfg);
    if (!srv) {
        fprintf(stderr, "segdb-server: out of memory opening the database\n");
        goto done;
    }
    persist_attach(srv, dur);
    if (server_listen(srv, &err) < 0) {
        fprintf(stderr, "segdb-server: %s\n", err.msg);
        goto done;
    }
    rc = server_run(srv);
done:
    server_ctx_free(srv);
    if (dur && dur_close(dur, &err) < 0) {
        fprintf(stderr, "segdb-server: closing the write-ahead log: %s\n", err.msg);
        rc = 1;
    }
    segdb_close(db);
    config_free(&cfg);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}

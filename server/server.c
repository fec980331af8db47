/*
 * server.c — segdb-server's network side (server.h): the listener, client
 * lifecycle, reading and parsing requests, and writing replies in the
 * before-sleep phase after the durability flush hook.
 *
 * A client's life: accept -> read (parse, dispatch, replies appended to its
 * output buffer; the client goes on the pending-write list) -> before-sleep
 * (flush hook, then write what the socket takes; EPOLLOUT only while a write
 * stays incomplete) -> closed on EOF, an error, QUIT/protocol errors once the
 * reply is out, or at once when its unread replies pass the output limit.
 */
#include "server.h"
#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define IOBUF_BYTES (16 * 1024)                 /* one read() per readable event */
#define MAX_WRITE_PER_PASS (1024 * 1024)        /* fairness between clients */
#define MAX_ACCEPTS_PER_CALL 1000
#define CRON_MS 100
#define EXTRA_FDS 1024                          /* listener, files of the storage layer... */

void server_log(const char *fmt, ...)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%d %b %Y %H:%M:%S", &tm);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%ld:M %s.%03d * %s\n", (long)getpid(), ts, (int)(tv.tv_usec / 1000), msg);
}

uint64_t server_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long long size = 0, rss = 0;
    int n = fscanf(f, "%llu %llu", &size, &rss);
    fclose(f);
    if (n != 2)
        return 0;
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* ---- contexts ------------------------------------------------------------ */

server_ctx *server_ctx_create(segdb_t *db, const server_config *cfg)
{
    server_ctx *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    int r = cfg ? config_copy(&srv->cfg, cfg) : config_init(&srv->cfg);
    if (r < 0) {
        free(srv);
        return NULL;
    }
    srv->cmdstats = calloc(cmd_table_size(), sizeof(*srv->cmdstats));
    if (!srv->cmdstats) {
        config_free(&srv->cfg);
        free(srv);
        return NULL;
    }
    srv->db = db;
    srv->listen_fd = -1;
    srv->signal_fd = -1;
    srv->start_ms = ae_now_ms();
    srv->start_unix = (int64_t)time(NULL);
    srv->ops_last_ms = srv->start_ms;
    slowlog_init(&srv->slow);
    ssize_t n = readlink("/proc/self/exe", srv->executable, sizeof(srv->executable) - 1);
    srv->executable[n > 0 ? n : 0] = '\0';
    return srv;
}

void server_ctx_free(server_ctx *srv)
{
    if (!srv)
        return;
    while (srv->clients)
        client_free(srv->clients);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->signal_fd >= 0)
        close(srv->signal_fd);
    ae_free(srv->loop);
    slowlog_free(&srv->slow);
    free(srv->cmdstats);
    config_free(&srv->cfg);
    free(srv);
}

client_ctx *client_create(server_ctx *srv, int fd, const char *addr)
{
    client_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->srv = srv;
    c->fd = fd;
    c->id = ++srv->next_client_id;
    snprintf(c->addr, sizeof c->addr, "%s", addr ? addr : "");
    resp_parser_init(&c->parser);
    c->parser.max_bulk_bytes = (size_t)srv->cfg.proto_max_bulk_len;
    c->parser.max_args = (size_t)srv->cfg.max_args;
    c->authed = srv->cfg.requirepass[0] == '\0';
    c->parser.unauth = !c->authed;
    reply_init(&c->out);
    c->ctime_ms = c->last_ms = ae_now_ms();
    if (fd < 0) {
        c->flags |= CLIENT_EMBEDDED;
        return c;
    }
    c->next = srv->clients;
    if (srv->clients)
        srv->clients->prev = c;
    srv->clients = c;
    srv->nclients++;
    return c;
}

static void unlink_pending(client_ctx *c)
{
    if (!(c->flags & CLIENT_PENDING_WRITE))
        return;
    server_ctx *srv = c->srv;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        srv->pending = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    c->flags &= ~(unsigned)CLIENT_PENDING_WRITE;
}

static void link_pending(client_ctx *c)
{
    if (c->flags & CLIENT_PENDING_WRITE)
        return;
    server_ctx *srv = c->srv;
    c->wprev = NULL;
    c->wnext = srv->pending;
    if (srv->pending)
        srv->pending->wprev = c;
    srv->pending = c;
    c->flags |= CLIENT_PENDING_WRITE;
}

void client_free(client_ctx *c)
{
    if (!c)
        return;
    server_ctx *srv = c->srv;
    if (!(c->flags & CLIENT_EMBEDDED)) {
        unlink_pending(c);
        if (c->prev)
            c->prev->next = c->next;
        else
            srv->clients = c->next;
        if (c->next)
            c->next->prev = c->prev;
        srv->nclients--;
        if (c->fd >= 0) {
            if (srv->loop)
                ae_del(srv->loop, c->fd, AE_READABLE | AE_WRITABLE);
            close(c->fd);
        }
    }
    resp_parser_free(&c->parser);
    reply_free(&c->out);
    free(c->wspans);
    free(c->name);
    free(c);
}

/* ---- writing ------------------------------------------------------------- */

static void on_writable(ae_loop *loop, int fd, void *data, int mask)
{
    /* Writes happen only in before-sleep, after the durability flush. */
    client_ctx *c = data;
    link_pending(c);
}

/* Write what the socket takes. Returns -1 when the client must be closed. */
static int write_client(client_ctx *c)
{
    server_ctx *srv = c->srv;
    size_t budget = MAX_WRITE_PER_PASS;
    while (c->out_pos < c->out.len && budget > 0) {
        size_t n = c->out.len - c->out_pos;
        if (n > budget)
            n = budget;
        ssize_t w = send(c->fd, c->out.buf + c->out_pos, n, MSG_NOSIGNAL);
        if (w > 0) {
            c->out_pos += (size_t)w;
            budget -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            return -1;
        }
    }
    if (c->out_pos == c->out.len) {
        reply_reset(&c->out);
        c->out_pos = 0;
        if (ae_mask(srv->loop, c->fd) & AE_WRITABLE)
            ae_del(srv->loop, c->fd, AE_WRITABLE);
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY)
            return -1;
        return 0;
    }
    if (c->out_pos >= c->out.len / 2) {
        reply_consume(&c->out, c->out_pos);
        c->out_pos = 0;
    }
    if (!(ae_mask(srv->loop, c->fd) & AE_WRITABLE) &&
        ae_add(srv->loop, c->fd, AE_WRITABLE, on_writable, c) < 0)
        return -1;
    return 0;
}

/* Remember that bytes [start, end) of c's output are one write command's
 * reply, which must wait for the durability flush. False on ENOMEM. */
static bool track_write_reply(client_ctx *c, size_t start, size_t end)
{
    if (c->nwspans && c->wspans[c->nwspans - 1].end == start &&
        c->wspans[c->nwspans - 1].replies < UINT32_MAX) {
        c->wspans[c->nwspans - 1].end = end;
        c->wspans[c->nwspans - 1].replies++;
        return true;
    }
    if (c->nwspans == c->capwspans) {
        size_t cap = c->capwspans ? 2 * c->capwspans : 4;
        write_span *p = realloc(c->wspans, cap * sizeof *p);
        if (!p)
            return false;
        c->wspans = p;
        c->capwspans = cap;
    }
    c->wspans[c->nwspans++] = (write_span){start, end, 1};
    return true;
}

/* The flush failed: replace each tracked write reply by a -READONLY error. */
static void fail_write_replies(client_ctx *c, const char *reason)
{
    char msg[1600];
    snprintf(msg, sizeof msg,
             "%s. This write was applied in memory but is NOT acknowledged: it is logged when "
             "the log works again, or lost if the server stops before",
             reason ? reason : "the write-ahead log failed");
    reply_buf nb;
    reply_init(&nb);
    size_t pos = 0;
    for (size_t i = 0; i < c->nwspans; i++) {
        const write_span *w = &c->wspans[i];
        reply_raw(&nb, c->out.buf + pos, w->start - pos);
        for (uint32_t k = 0; k < w->replies; k++)
            reply_error(&nb, "READONLY", msg);
        pos = w->end;
    }
    reply_raw(&nb, c->out.buf + pos, c->out.len - pos);
    if (nb.oom) {
        /* Can't say it; never say OK instead: drop the connection. */
        reply_free(&nb);
        c->flags |= CLIENT_CLOSE_ASAP;
        return;
    }
    reply_free(&c->out);
    c->out = nb;
}

/* After the durability flush: fail or release the write replies. Every
 * client with tracked replies has output, so it is on the pending list. */
static void settle_write_replies(server_ctx *srv, int flush_rc)
{
    for (client_ctx *c = srv->pending; c; c = c->wnext) {
        if (!c->nwspans)
            continue;
        if (flush_rc < 0)
            fail_write_replies(c, srv->readonly_reason);
        c->nwspans = 0;
    }
}

void server_before_sleep(server_ctx *srv)
{
    int r = 0;
    if (srv->durability_flush)
        r = srv->durability_flush(srv, srv->durability_ctx);
    settle_write_replies(srv, r);
    client_ctx *c = srv->pending;
    while (c) {
        client_ctx *next = c->wnext;
        unlink_pending(c);
        if ((c->flags & CLIENT_CLOSE_ASAP) || write_client(c) < 0)
            client_free(c);
        c = next;
    }
    if (srv->shutdown_asap && srv->loop)
        ae_stop(srv->loop);
}

static void before_sleep(ae_loop *loop, void *data)
{
    server_before_sleep(data);
}

/* ---- reading ------------------------------------------------------------- */

void server_process_input(client_ctx *c, const char *buf, size_t len)
{
    server_ctx *srv = c->srv;
    size_t pos = 0;
    srv->in_input = true;
    srv->chain_clock_us = 0;
    while (pos < len && !(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) &&
           !srv->shutdown_asap) {
        size_t used = 0;
        int r = resp_feed(&c->parser, buf + pos, len - pos, &used);
        pos += used;
        if (r == RESP_CMD) {
            uint64_t mark = srv->durability_mark ? srv->durability_mark(srv, srv->durability_ctx) : 0;
            size_t start = c->out.len;
            int d = cmd_dispatch(srv, c, c->parser.argc, (const char **)c->parser.argv,
                                 c->parser.argvlen, &c->out);
            if (srv->durability_mark && srv->durability_mark(srv, srv->durability_ctx) != mark &&
                !track_write_reply(c, start, c->out.len)) {
                /* Out of memory to hold the reply back: never send it. */
                c->flags |= CLIENT_CLOSE_ASAP;
            }
            c->parser.unauth = !c->authed;
            if (d == CMD_CLOSE)
                c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            else if (d == CMD_SHUTDOWN)
                srv->shutdown_asap = true;
        } else if (r == RESP_EQUOTES) {
            reply_error(&c->out, "ERR", c->parser.errmsg);
        } else if (r == RESP_EPROTO) {
            reply_error(&c->out, "ERR", c->parser.errmsg);
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        } else if (r == RESP_ELIMIT) {
            reply_error(&c->out, "LIMIT", c->parser.errmsg);
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        } else if (r == RESP_ENOMEM) {
            c->flags |= CLIENT_CLOSE_ASAP;
        }
        if (c->out.oom) {
            server_log("client id=%" PRIu64 " addr=%s closed: out of memory for its replies",
                       c->id, c->addr);
            c->flags |= CLIENT_CLOSE_ASAP;
        } else if (c->out.len - c->out_pos > srv->cfg.client_output_buffer_limit) {
            server_log("client id=%" PRIu64 " addr=%s closed for overcoming the output buffer "
                       "limit (%zu bytes of unread replies)",
                       c->id, c->addr, c->out.len - c->out_pos);
            c->flags |= CLIENT_CLOSE_ASAP;
        }
    }
    srv->in_input = false;
    srv->chain_clock_us = 0;
    if (c->out.len > c->out_pos || (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)))
        link_pending(c);
}

static void on_readable(ae_loop *loop, int fd, void *data, int mask)
{
    client_ctx *c = data;
    server_ctx *srv = c->srv;
    if (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) {
        /* Input after QUIT or a protocol error is ignored. */
        ae_del(loop, fd, AE_READABLE);
        link_pending(c);
        return;
    }
    static char buf[IOBUF_BYTES];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        client_free(c);
        return;
    }
    if (n < 0)
        return;
    server_process_input(c, buf, (size_t)n);
    if (c->flags & CLIENT_CLOSE_ASAP) {
        client_free(c);
        return;
    }
    if (!resp_pending_bytes(&c->parser))
        resp_parser_shrink(&c->parser);
    (void)srv;
}

/* ---- accepting ----------------------------------------------------------- */

static void on_accept(ae_loop *loop, int fd, void *data, int mask);

static long long cron(ae_loop *loop, long long id, void *data)
{
    server_ctx *srv = data;
    int64_t now = ae_now_ms();
    int64_t dt = now - srv->ops_last_ms;
    if (dt > 0) {
        uint64_t ops = srv->total_commands - srv->ops_last_commands;
        srv->ops_samples[srv->ops_idx] = ops * 1000 / (uint64_t)dt;
        srv->ops_idx = (srv->ops_idx + 1) % OPS_SAMPLES;
        srv->ops_last_commands = srv->total_commands;
        srv->ops_last_ms = now;
    }
    if (srv->durability_cron)
        srv->durability_cron(srv, srv->durability_ctx);
    /* Re-arm the listener if accept() ran out of file descriptors. */
    if (srv->listen_fd >= 0 && !(ae_mask(loop, srv->listen_fd) & AE_READABLE))
        ae_add(loop, srv->listen_fd, AE_READABLE, on_accept, srv);
    if (srv->shutdown_asap)
        ae_stop(loop);
    return CRON_MS;
}

static void reject(server_ctx *srv, int fd, const char *msg)
{
    /* Best effort: the socket is fresh, so the short error fits its buffer. */
    ssize_t w = send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    close(fd);
    srv->rejected_connections++;
}

static void on_accept(ae_loop *loop, int lfd, void *data, int mask)
{
    server_ctx *srv = data;
    for (int i = 0; i < MAX_ACCEPTS_PER_CALL; i++) {
        struct sockaddr_storage sa;
        socklen_t slen = sizeof sa;
        int fd = accept4(lfd, (struct sockaddr *)&sa, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: pause accepting until the next cron tick
                 * instead of spinning on a listener that stays readable. */
                server_log("accept: %s; pausing new connections", strerror(errno));
                ae_del(loop, lfd, AE_READABLE);
            }
            return;
        }
        srv->total_connections++;
        if (srv->nclients >= (size_t)srv->cfg.maxclients) {
            reject(srv, fd, "-ERR max number of clients reached\r\n");
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char host[INET6_ADDRSTRLEN] = "?", addr[64];
        int port = 0;
        if (sa.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
            port = ntohs(s4->sin_port);
            snprintf(addr, sizeof addr, "%s:%d", host, port);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            port = ntohs(s6->sin6_port);
            snprintf(addr, sizeof addr, "[%s]:%d", host, port);
        }
        client_ctx *c = client_create(srv, fd, addr);
        if (!c) {
            reject(srv, fd, "-ERR out of memory\r\n");
            continue;
        }
        if (ae_add(loop, fd, AE_READABLE, on_readable, c) < 0) {
            /* fd beyond the loop's table: treat like maxclients */
            c->fd = -1;
            client_free(c);
            reject(srv, fd, "-ERR max number of clients reached\r\n");
        }
    }
}

static void on_signal(ae_loop *loop, int fd, void *data, int mask)
{
    server_ctx *srv = data;
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof si);
    if (n == (ssize_t)sizeof si) {
        server_log("received %s, shutting down", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        srv->shutdown_asap = true;
        ae_stop(loop);
    }
}

/* ---- listening ----------------------------------------------------------- */

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
            return true;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
            return s6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static int prepare_dir(const char *dir, segdb_err *err)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno != ENOENT)
            return err_set(err, SEGDB_EINVAL, "can't use --dir '%s': %s", dir, strerror(errno));
        if (mkdir(dir, 0700) < 0)
            return err_set(err, SEGDB_EINVAL, "can't create --dir '%s': %s", dir, strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode))
        return err_set(err, SEGDB_EINVAL, "--dir '%s' is not a directory", dir);
    if (access(dir, W_OK | X_OK) < 0)
        return err_set(err, SEGDB_EINVAL, "--dir '%s' is not writable: %s", dir, strerror(errno));
    return 0;
}

static void raise_fd_limit(int maxclients)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)maxclients + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rlim_t target = want;
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max)
        target = rl.rlim_max;
    rl.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || target < want)
        server_log("maxclients %d needs %llu open files but the limit is %llu: connections past "
                   "it will be refused",
                   maxclients, (unsigned long long)want, (unsigned long long)target);
}

int server_listen(server_ctx *srv, segdb_err *err)
{
    const server_config *cfg = &srv->cfg;
    int r = prepare_dir(cfg->dir, err);
    if (r < 0)
        return r;

    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    int gr = getaddrinfo(cfg->bind, port, &hints, &res);
    if (gr != 0)
        return err_set(err, SEGDB_EINVAL, "can't resolve --bind '%s': %s", cfg->bind,
                       gai_strerror(gr));
    int fd = -1;
    r = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (cfg->protected_mode && !cfg->requirepass[0] && !is_loopback(ai->ai_addr)) {
            r = err_set(err, SEGDB_EINVAL,
                        "refusing to listen on non-loopback address '%s' without a password "
                        "(protected mode): set --requirepass, or --protected-mode no",
                        cfg->bind);
            goto done;
        }
    }
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
            r = err_set(err, SEGDB_EINVAL, "can't listen on %s:%d: %s", cfg->bind, cfg->port,
                        strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        if (r == 0)
            r = err_set(err, SEGDB_EINVAL, "can't listen on %s:%d: no usable address", cfg->bind,
                        cfg->port);
        goto done;
    }
    r = 0;
    srv->listen_fd = fd;

    raise_fd_limit(cfg->maxclients);
    srv->loop = ae_create(cfg->maxclients + EXTRA_FDS);
    if (!srv->loop) {
        r = err_set(err, SEGDB_ENOMEM, "can't create the event loop: %s", strerror(errno));
        goto done;
    }
    if (ae_add(srv->loop, fd, AE_READABLE, on_accept, srv) < 0) {
        r = err_set(err, SEGDB_EINVAL, "can't watch the listener: %s", strerror(errno));
        goto done;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
        (srv->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
        ae_add(srv->loop, srv->signal_fd, AE_READABLE, on_signal, srv) < 0) {
        r = err_set(err, SEGDB_EINVAL, "can't set up signal handling: %s", strerror(errno));
        goto done;
    }
    ae_set_before_sleep(srv->loop, before_sleep, srv);
    if (ae_add_timer(srv->loop, CRON_MS, cron, srv) < 0) {
        r = err_set(err, SEGDB_ENOMEM, "can't create the cron timer");
        goto done;
    }
done:
    freeaddrinfo(res);
    return r;
}

int server_run(server_ctx *srv)
{
    server_log("segdb-server %s ready to accept connections on %s:%d", SEGDB_VERSION,
               srv->cfg.bind, srv->cfg.port);
    ae_run(srv->loop);
    /* Shutting down: close the listener first so nobody new arrives, make
     * the log durable, send what replies we can, then drop every client. */
    if (srv->listen_fd >= 0) {
        ae_del(srv->loop, srv->listen_fd, AE_READABLE);
        close(srv->listen_fd);
        srv->listen_fd = -1;
    }
    int fr = srv->durability_flush ? srv->durability_flush(srv, srv->durability_ctx) : 0;
    settle_write_replies(srv, fr);
    for (client_ctx *c = srv->clients; c; c = c->next)
        if (c->out.len > c->out_pos)
            (void)write_client(c);
    while (srv->clients)
        client_free(srv->clients);
    server_log("segdb-server is now ready to exit, bye bye");
    return 0;
}

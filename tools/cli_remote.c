/*
 * cli_remote.c — the TCP backend of segdb-cli (see cli_remote.h). The
 * socket is non-blocking and every wait is a poll() with the configured
 * timeout, so neither a server that stops reading nor one that stops
 * writing can hang the CLI longer than the user asked.
 */
#include "cli_remote.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define READ_CHUNK_BYTES (64 * 1024)

typedef struct remote {
    cli_backend base;
    char *host;
    int port;
    char *password;
    int connect_timeout_ms;
    int timeout_ms;
    size_t max_reply_bytes;
    int fd;
    cli_reader rd;
    cli_buf wbuf;
} remote;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for ev on fd: 1 ready, 0 timed out, -1 error (errno). timeout_ms 0 = forever. */
static int wait_fd(int fd, short ev, int timeout_ms)
{
    int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
        int left = -1;
        if (timeout_ms > 0) {
            int64_t l = deadline - now_ms();
            left = l > 0 ? (int)l : 0;
        }
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static void drop(remote *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->base.connected = false;
    cli_reader_free(&r->rd);
    cli_reader_init(&r->rd);
    if (r->max_reply_bytes)
        r->rd.max_reply_bytes = r->max_reply_bytes;
}

/* One non-blocking connect to ai, bounded by the connect timeout. */
static int connect_one(remote *r, const struct addrinfo *ai, int *err_no)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *err_no = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            *err_no = errno;
            close(fd);
            return -1;
        }
        int w = wait_fd(fd, POLLOUT, r->connect_timeout_ms);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (w == 0) {
            *err_no = ETIMEDOUT;
            close(fd);
            return -1;
        }
        if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
            *err_no = w < 0 ? errno : soerr ? soerr : errno;
            close(fd);
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int send_all(remote *r, const char *p, size_t n, char *err, size_t errcap)
{
    while (n > 0) {
        ssize_t w = send(r->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int k = wait_fd(r->fd, POLLOUT, r->timeout_ms);
            if (k > 0)
                continue;
            snprintf(err, errcap, k == 0 ? "timed out sending to %s" : "error sending to %s: %s",
                     r->base.label, strerror(errno));
        } else {
            snprintf(err, errcap, "error sending to %s: %s", r->base.label, strerror(errno));
        }
        drop(r);
        return CLI_CALL_EIO;
    }
    return 0;
}

static int read_reply(remote *r, cli_value **out, bool eof_ends, char *err, size_t errcap)
{
    char chunk[READ_CHUNK_BYTES];
    for (;;) {
        int g = cli_reader_get(&r->rd, out);
        if (g == CLI_RESP_REPLY)
            return CLI_CALL_OK;
        if (g < 0) {
            snprintf(err, errcap, "bad reply from %s: %s", r->base.label, r->rd.errmsg);
            drop(r);
            return g == CLI_RESP_ENOMEM ? CLI_CALL_ENOMEM : CLI_CALL_EPROTO;
        }
        ssize_t n = recv(r->fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            if (cli_reader_feed(&r->rd, chunk, (size_t)n) < 0)
                continue;   /* the next get reports the error */
            continue;
        }
        if (n == 0) {
            bool clean = cli_reader_pending(&r->rd) == 0;
            drop(r);
            if (clean && eof_ends) {
                r->base.ended = true;
                return CLI_CALL_ENDED;
            }
            snprintf(err, errcap, clean ? "server closed the connection"
                                        : "server closed the connection in the middle of a reply");
            return CLI_CALL_EIO;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int k = wait_fd(r->fd, POLLIN, r->timeout_ms);
            if (k > 0)
                continue;
            if (k == 0)
                snprintf(err, errcap, "no reply from %s for %d ms: connection dropped", r->base.label,
                         r->timeout_ms);
            else
                snprintf(err, errcap, "error reading from %s: %s", r->base.label, strerror(errno));
            drop(r);
            return CLI_CALL_EIO;
        }
        snprintf(err, errcap, "error reading from %s: %s", r->base.label, strerror(errno));
        drop(r);
        return CLI_CALL_EIO;
    }
}

static bool is_word(const char *a, size_t alen, const char *w)
{
    return strlen(w) == alen && strncasecmp(a, w, alen) == 0;
}

static int r_call(cli_backend *b, int argc, const char *const *argv, const size_t *argvlen,
                  cli_value **reply, char *err, size_t errcap)
{
    remote *r = (remote *)b;
    *reply = NULL;
    if (b->ended) {
        snprintf(err, errcap, "the session has ended");
        return CLI_CALL_EIO;
    }
    if (!b->connected) {
        snprintf(err, errcap, "not connected to %s", b->label);
        return CLI_CALL_EIO;
    }
    cli_buf_reset(&r->wbuf);
    if (cli_resp_encode(&r->wbuf, argc, argv, argvlen) < 0) {
        snprintf(err, errcap, "out of memory encoding the command");
        return CLI_CALL_ENOMEM;
    }
    int rc = send_all(r, r->wbuf.p, r->wbuf.len, err, errcap);
    if (r->wbuf.cap > 1024 * 1024)
        cli_buf_free(&r->wbuf);   /* a huge request must not pin its memory */
    if (rc < 0)
        return rc;
    /* SHUTDOWN's success is the server closing without a reply */
    bool shutdown = argc >= 1 && is_word(argv[0], argvlen[0], "SHUTDOWN");
    rc = read_reply(r, reply, shutdown, err, errcap);
    if (rc != CLI_CALL_OK)
        return rc;
    if (argc >= 1 && is_word(argv[0], argvlen[0], "QUIT") && (*reply)->type != CLI_V_ERROR) {
        b->ended = true;
        drop(r);
    } else if (cli_reader_pending(&r->rd) > 0) {
        /* bytes nobody asked for: later replies could not be matched to commands */
        drop(r);
    }
    return CLI_CALL_OK;
}

static int r_connect(cli_backend *b, char *err, size_t errcap)
{
    remote *r = (remote *)b;
    drop(r);
    b->ended = false;
    char port[16];
    snprintf(port, sizeof port, "%d", r->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(r->host, port, &hints, &res);
    if (g != 0) {
        snprintf(err, errcap, "Could not connect to segdb at %s: %s", b->label, gai_strerror(g));
        return CLI_CALL_EIO;
    }
    int err_no = 0;
    for (struct addrinfo *ai = res; ai && r->fd < 0; ai = ai->ai_next)
        r->fd = connect_one(r, ai, &err_no);
    freeaddrinfo(res);
    if (r->fd < 0) {
        snprintf(err, errcap, "Could not connect to segdb at %s: %s", b->label, strerror(err_no));
        return CLI_CALL_EIO;
    }
    b->connected = true;
    if (!r->password)
        return 0;
    const char *argv[] = {"AUTH", r->password};
    cli_value *v = NULL;
    int rc = cli_backend_callv(b, &v, err, errcap, 2, argv);
    if (rc != CLI_CALL_OK)
        return rc == CLI_CALL_ENOMEM ? CLI_CALL_ENOMEM : CLI_CALL_EIO;
    if (v->type == CLI_V_ERROR) {
        snprintf(err, errcap, "AUTH failed: %.*s", (int)(v->len > 400 ? 400 : v->len), v->str);
        rc = CLI_CALL_EAUTH;
    }
    cli_value_free(v);
    return rc;
}

static int r_command_names(cli_backend *b, cli_words *out)
{
    static const char *const list[] = {"COMMAND", "LIST"};
    static const char *const all[] = {"COMMAND"};
    char err[CLI_ERR_BYTES];
    cli_value *v = NULL;
    if (!b->connected)
        return -1;
    if (cli_backend_callv(b, &v, err, sizeof err, 2, list) != CLI_CALL_OK)
        return -1;
    int rc = -1;
    if (v->type != CLI_V_ARRAY) {
        /* an older server: COMMAND's entries start with the name */
        cli_value_free(v);
        v = NULL;
        if (cli_backend_callv(b, &v, err, sizeof err, 1, all) != CLI_CALL_OK)
            return -1;
        if (v->type != CLI_V_ARRAY)
            goto done;
        for (size_t i = 0; i < v->n; i++) {
            const cli_value *e = v->elem[i];
            if (e->type == CLI_V_ARRAY && e->n > 0 && e->elem[0]->type == CLI_V_BULK &&
                cli_words_add(out, e->elem[0]->str, e->elem[0]->len) < 0)
                goto done;
        }
        rc = 0;
        goto done;
    }
    for (size_t i = 0; i < v->n; i++)
        if (v->elem[i]->type == CLI_V_BULK && cli_words_add(out, v->elem[i]->str, v->elem[i]->len) < 0)
            goto done;
    rc = 0;
done:
    cli_value_free(v);
    return rc;
}

static int r_destroy(cli_backend *b, char *err, size_t errcap)
{
    remote *r = (remote *)b;
    drop(r);
    cli_reader_free(&r->rd);
    cli_buf_free(&r->wbuf);
    if (r->password) {
        /* don't leave the password in freed memory */
        volatile char *p = r->password;
        while (*p)
            *p++ = '\0';
    }
    free(r->password);
    free(r->host);
    free(r);
    return 0;
}

cli_backend *cli_remote_create(const cli_remote_opts *o)
{
    remote *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->fd = -1;
    r->host = strdup(o->host ? o->host : "127.0.0.1");
    r->password = o->password ? strdup(o->password) : NULL;
    if (!r->host || (o->password && !r->password)) {
        free(r->host);
        free(r->password);
        free(r);
        return NULL;
    }
    r->port = o->port;
    r->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
    r->max_reply_bytes = o->max_reply_bytes;
    cli_reader_init(&r->rd);
    if (r->max_reply_bytes)
        r->rd.max_reply_bytes = r->max_reply_bytes;
    cli_buf_init(&r->wbuf);
    /* an IPv6 address is shown in brackets so the port stays readable */
    if (strchr(r->host, ':'))
        snprintf(r->base.label, sizeof r->base.label, "[%.1024s]:%d", r->host, r->port);
    else
        snprintf(r->base.label, sizeof r->base.label, "%.1024s:%d", r->host, r->port);
    r->base.call = r_call;
    r->base.connect = r_connect;
    r->base.command_names = r_command_names;
    r->base.destroy = r_destroy;
    return &r->base;
}

/*
 * write_load.c — segdb-bench --write-load (write_load.h): C blocking-style
 * clients multiplexed on one epoll loop. Each connection sends
 *   UPSERT <id> city Hue tags vip
 * as RESP, waits for its one-line reply (:1 / :0, or an -ERROR which is
 * counted), then sends the next, until `requests` replies have arrived.
 * Ids are handed out in order, so no two requests touch the same contact.
 */
#include "write_load.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WL_MAX_CLIENTS 10000u
#define WL_REPLY_BYTES 512   /* a one-line reply never gets near this */
#define WL_WAIT_MS 10000     /* no reply at all for this long: give up */

typedef struct wl_conn {
    int fd;
    char in[WL_REPLY_BYTES];
    size_t inlen;
} wl_conn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends the next UPSERT on c (a request is a few dozen bytes: one send). */
static int send_upsert(wl_conn *c, uint64_t id)
{
    char num[24], req[160];
    int nl = snprintf(num, sizeof num, "%llu", (unsigned long long)id);
    int n = snprintf(req, sizeof req,
                     "*6\r\n$6\r\nUPSERT\r\n$%d\r\n%s\r\n$4\r\ncity\r\n$3\r\nHue\r\n"
                     "$4\r\ntags\r\n$3\r\nvip\r\n",
                     nl, num);
    ssize_t w = send(c->fd, req, (size_t)n, MSG_NOSIGNAL);
    if (w != n) {
        fprintf(stderr, "write-load: send failed: %s\n", w < 0 ? strerror(errno) : "short write");
        return -1;
    }
    return 0;
}

static int connect_one(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int write_load_run(const write_load_opts *o, write_load_result *r)
{
    memset(r, 0, sizeof *r);
    if (o->clients == 0 || o->clients > WL_MAX_CLIENTS || o->requests == 0) {
        fprintf(stderr, "write-load: clients must be 1..%u and requests at least 1\n",
                WL_MAX_CLIENTS);
        return -1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    wl_conn *cs = calloc(o->clients, sizeof *cs);
    if (ep < 0 || !cs) {
        fprintf(stderr, "write-load: out of resources\n");
        free(cs);
        if (ep >= 0)
            close(ep);
        return -1;
    }
    int rc = -1;
    unsigned opened = 0;
    for (; opened < o->clients; opened++) {
        cs[opened].fd = connect_one(o->port);
        if (cs[opened].fd < 0) {
            fprintf(stderr, "write-load: cannot connect to 127.0.0.1:%d: %s\n", o->port,
                    strerror(errno));
            goto done;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[opened]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[opened].fd, &ev) < 0) {
            fprintf(stderr, "write-load: epoll_ctl: %s\n", strerror(errno));
            close(cs[opened].fd);
            goto done;
        }
    }
    uint64_t next_id = o->first_id, sent = 0;
    double t0 = now_s();
    for (unsigned i = 0; i < o->clients && sent < o->requests; i++, sent++)
        if (send_upsert(&cs[i], next_id++) < 0)
            goto done;
    struct epoll_event evs[256];
    while (r->done < o->requests) {
        int n = epoll_wait(ep, evs, 256, WL_WAIT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "write-load: no reply for %d ms (%llu of %llu done)\n", WL_WAIT_MS,
                    (unsigned long long)r->done, (unsigned long long)o->requests);
            goto done;
        }
        for (int k = 0; k < n; k++) {
            wl_conn *c = evs[k].data.ptr;
            ssize_t got = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, 0);
            if (got <= 0) {
                if (got < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                fprintf(stderr, "write-load: the server closed a connection\n");
                goto done;
            }
            c->inlen += (size_t)got;
            char *eol;
            while ((eol = memchr(c->in, '\n', c->inlen))) {
                size_t line = (size_t)(eol - c->in) + 1;
                if (line < 3 || (c->in[0] != ':' && c->in[0] != '+' && c->in[0] != '-')) {
                    fprintf(stderr, "write-load: unexpected reply %.*s\n", (int)line, c->in);
                    goto done;
                }
                if (c->in[0] == '-' && r->errors++ == 0)
                    fprintf(stderr, "write-load: error reply %.*s", (int)line, c->in);
                memmove(c->in, c->in + line, c->inlen - line);
                c->inlen -= line;
                r->done++;
                if (sent < o->requests) {
                    if (send_upsert(c, next_id++) < 0)
                        goto done;
                    sent++;
                }
            }
            if (c->inlen == sizeof c->in) {
                fprintf(stderr, "write-load: a reply line over %d bytes\n", WL_REPLY_BYTES);
                goto done;
            }
        }
    }
    r->seconds = now_s() - t0;
    rc = 0;
done:
    for (unsigned i = 0; i < opened; i++)
        close(cs[i].fd);
    free(cs);
    close(ep);
    return rc;
}

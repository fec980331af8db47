/*
 * ae.c — the epoll event loop declared in ae.h. Deliberately small: an
 * fd-indexed table of handlers, a short list of timers scanned linearly
 * (the server has one or two), and a before-sleep hook.
 */
#include "ae.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

typedef struct ae_file {
    int mask;
    ae_file_proc *rproc, *wproc;
    void *rdata, *wdata;
} ae_file;

typedef struct ae_timer {
    long long id;
    int64_t when_ms;
    ae_timer_proc *proc;
    void *data;
    struct ae_timer *next;
} ae_timer;

struct ae_loop {
    int epfd;
    int setsize;
    ae_file *files;
    struct epoll_event *events;
    ae_timer *timers;
    long long next_timer_id;
    ae_sleep_proc *before_sleep;
    void *before_sleep_data;
    int stop;
};

int64_t ae_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ae_now_ms(void) { return ae_now_us() / 1000; }

ae_loop *ae_create(int setsize)
{
    if (setsize <= 0)
        return NULL;
    ae_loop *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->setsize = setsize;
    l->files = calloc((size_t)setsize, sizeof(*l->files));
    l->events = calloc((size_t)setsize, sizeof(*l->events));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!l->files || !l->events || l->epfd < 0) {
        if (l->epfd >= 0)
            close(l->epfd);
        free(l->files);
        free(l->events);
        free(l);
        return NULL;
    }
    return l;
}

void ae_free(ae_loop *l)
{
    if (!l)
        return;
    close(l->epfd);
    ae_timer *t = l->timers;
    while (t) {
        ae_timer *n = t->next;
        free(t);
        t = n;
    }
    free(l->files);
    free(l->events);
    free(l);
}

static uint32_t epoll_bits(int mask)
{
    uint32_t ev = 0;
    if (mask & AE_READABLE)
        ev |= EPOLLIN;
    if (mask & AE_WRITABLE)
        ev |= EPOLLOUT;
    return ev;
}

int ae_add(ae_loop *l, int fd, int mask, ae_file_proc *proc, void *data)
{
    if (fd < 0 || fd >= l->setsize)
        return -1;
    ae_file *f = &l->files[fd];
    int newmask = f->mask | mask;
    struct epoll_event ee = {0};
    ee.events = epoll_bits(newmask);
    ee.data.fd = fd;
    int op = f->mask == AE_NONE ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(l->epfd, op, fd, &ee) == -1)
        return -1;
    f->mask = newmask;
    if (mask & AE_READABLE) {
        f->rproc = proc;
        f->rdata = data;
    }
    if (mask & AE_WRITABLE) {
        f->wproc = proc;
        f->wdata = data;
    }
    return 0;
}

void ae_del(ae_loop *l, int fd, int mask)
{
    if (fd < 0 || fd >= l->setsize)
        return;
    ae_file *f = &l->files[fd];
    if (f->mask == AE_NONE)
        return;
    int newmask = f->mask & ~mask;
    struct epoll_event ee = {0};
    ee.events = epoll_bits(newmask);
    ee.data.fd = fd;
    /* A failing epoll_ctl here means the fd is already gone: nothing to undo. */
    if (newmask == AE_NONE)
        (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, &ee);
    else
        (void)epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ee);
    f->mask = newmask;
    if (!(newmask & AE_READABLE))
        f->rproc = NULL;
    if (!(newmask & AE_WRITABLE))
        f->wproc = NULL;
}

int ae_mask(ae_loop *l, int fd)
{
    if (fd < 0 || fd >= l->setsize)
        return AE_NONE;
    return l->files[fd].mask;
}

long long ae_add_timer(ae_loop *l, long long ms, ae_timer_proc *proc, void *data)
{
    ae_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    t->id = l->next_timer_id++;
    t->when_ms = ae_now_ms() + ms;
    t->proc = proc;
    t->data = data;
    t->next = l->timers;
    l->timers = t;
    return t->id;
}

void ae_set_before_sleep(ae_loop *l, ae_sleep_proc *proc, void *data)
{
    l->before_sleep = proc;
    l->before_sleep_data = data;
}

void ae_stop(ae_loop *l) { l->stop = 1; }

static int wait_timeout_ms(ae_loop *l)
{
    if (!l->timers)
        return -1;
    int64_t now = ae_now_ms(), best = INT64_MAX;
    for (ae_timer *t = l->timers; t; t = t->next)
        if (t->when_ms < best)
            best = t->when_ms;
    int64_t d = best - now;
    if (d < 0)
        d = 0;
    if (d > 1000)
        d = 1000;
    return (int)d;
}

static void run_timers(ae_loop *l)
{
    int64_t now = ae_now_ms();
    ae_timer **pp = &l->timers;
    while (*pp) {
        ae_timer *t = *pp;
        if (t->when_ms <= now) {
            long long next = t->proc(l, t->id, t->data);
            if (next < 0) {
                *pp = t->next;
                free(t);
                continue;
            }
            t->when_ms = ae_now_ms() + next;
        }
        pp = &t->next;
    }
}

static void process_once(ae_loop *l)
{
    if (l->before_sleep)
        l->before_sleep(l, l->before_sleep_data);
    if (l->stop)
        return;
    int n = epoll_wait(l->epfd, l->events, l->setsize, wait_timeout_ms(l));
    if (n < 0 && errno != EINTR)
        n = 0;
    for (int i = 0; i < n; i++) {
        int fd = l->events[i].data.fd;
        uint32_t ev = l->events[i].events;
        ae_file *f = &l->files[fd];
        int fired = 0;
        /* Errors and hang-ups are delivered to whichever handler is set, so
         * the owner notices through a failing read or write. */
        if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (f->mask & AE_READABLE) && f->rproc) {
            f->rproc(l, fd, f->rdata, AE_READABLE);
            fired = 1;
        }
        /* The read handler may have closed fd (and a new client may even
         * reuse the number within this iteration): re-check the mask. */
        if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (f->mask & AE_WRITABLE) && f->wproc &&
            !(fired && f->wproc == f->rproc && f->wdata == f->rdata && !(ev & EPOLLOUT)))
            f->wproc(l, fd, f->wdata, AE_WRITABLE);
    }
    run_timers(l);
}

void ae_run(ae_loop *l)
{
    l->stop = 0;
    while (!l->stop)
        process_once(l);
}

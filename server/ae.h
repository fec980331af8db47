/*
 * ae.h — a small single-threaded epoll event loop (after Redis's ae.c):
 * file events per fd, periodic timers and a before-sleep hook.
 *
 * One iteration: run the before-sleep hook, wait in epoll_wait until an fd is
 * ready or the nearest timer is due, run the ready fds' handlers (readable
 * first, then writable), then the due timers. The server's before-sleep hook
 * is where the durability flush happens and replies are written, so nothing
 * reaches a socket before the log holds it.
 *
 * Level-triggered: a handler that leaves bytes unread is called again.
 */
#ifndef SEGDB_AE_H
#define SEGDB_AE_H

#include <stdint.h>

#define AE_NONE 0
#define AE_READABLE 1
#define AE_WRITABLE 2

typedef struct ae_loop ae_loop;

typedef void ae_file_proc(ae_loop *loop, int fd, void *data, int mask);
/* Returns the next delay in milliseconds, or -1 to delete the timer. */
typedef long long ae_timer_proc(ae_loop *loop, long long id, void *data);
typedef void ae_sleep_proc(ae_loop *loop, void *data);

/* setsize = the largest fd + 1 the loop will handle. NULL on failure. */
ae_loop *ae_create(int setsize);
void ae_free(ae_loop *loop);               /* ae_free(NULL) is a no-op; closes no fd */

/* Add mask (AE_READABLE and/or AE_WRITABLE) to fd's interest, with proc
 * called for those events. 0, or -1 when fd >= setsize or epoll_ctl fails. */
int ae_add(ae_loop *loop, int fd, int mask, ae_file_proc *proc, void *data);
void ae_del(ae_loop *loop, int fd, int mask); /* remove mask from fd's interest */
int ae_mask(ae_loop *loop, int fd);           /* current interest of fd */

/* A timer first due in ms milliseconds. Returns its id (>= 0) or -1. */
long long ae_add_timer(ae_loop *loop, long long ms, ae_timer_proc *proc, void *data);
void ae_set_before_sleep(ae_loop *loop, ae_sleep_proc *proc, void *data);

/* Run iterations until ae_stop(); the before-sleep hook runs before every wait. */
void ae_run(ae_loop *loop);
void ae_stop(ae_loop *loop);                 /* ae_run returns after this iteration */

int64_t ae_now_ms(void);                     /* monotonic milliseconds */
int64_t ae_now_us(void);                     /* monotonic microseconds */

#endif /* SEGDB_AE_H */

/*
 * slowlog.c — the SLOWLOG list of slowlog.h: a singly linked list, newest
 * first, trimmed from the tail.
 */
#include "slowlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void entry_free(slowlog_entry *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->argc; i++)
        free(e->argv[i]);
    free(e->argv);
    free(e->argvlen);
    free(e->addr);
    free(e->name);
    free(e);
}

void slowlog_init(slowlog *sl) { memset(sl, 0, sizeof(*sl)); }

void slowlog_reset(slowlog *sl)
{
    slowlog_entry *e = sl->head;
    while (e) {
        slowlog_entry *n = e->next;
        entry_free(e);
        e = n;
    }
    sl->head = NULL;
    sl->len = 0;
}

void slowlog_free(slowlog *sl) { slowlog_reset(sl); }

static char *dup_bytes(const char *s, size_t n, size_t *outlen)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    if (outlen)
        *outlen = n;
    return d;
}

void slowlog_push(slowlog *sl, size_t max_len, int argc, const char **argv, const size_t *argvlen,
                  int64_t duration_us, const char *addr, const char *name)
{
    if (max_len == 0)
        return;
    slowlog_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return;
    int keep = argc > SLOWLOG_MAX_ARGS ? SLOWLOG_MAX_ARGS : argc;
    e->argv = calloc((size_t)keep + 1, sizeof(*e->argv));
    e->argvlen = calloc((size_t)keep + 1, sizeof(*e->argvlen));
    e->addr = strdup(addr ? addr : "");
    e->name = strdup(name ? name : "");
    if (!e->argv || !e->argvlen || !e->addr || !e->name)
        goto fail;
    for (int i = 0; i < keep; i++) {
        char buf[96];
        if (keep < argc && i == keep - 1) {
            int n = snprintf(buf, sizeof(buf), "... (%d more arguments)", argc - keep + 1);
            e->argv[i] = dup_bytes(buf, (size_t)n, &e->argvlen[i]);
        } else if (argvlen[i] > SLOWLOG_MAX_ARG_BYTES) {
            int n = snprintf(buf, sizeof(buf), "... (%zu more bytes)",
                             argvlen[i] - SLOWLOG_MAX_ARG_BYTES);
            char *d = malloc(SLOWLOG_MAX_ARG_BYTES + (size_t)n + 1);
            if (d) {
                memcpy(d, argv[i], SLOWLOG_MAX_ARG_BYTES);
                memcpy(d + SLOWLOG_MAX_ARG_BYTES, buf, (size_t)n + 1);
                e->argvlen[i] = SLOWLOG_MAX_ARG_BYTES + (size_t)n;
            }
            e->argv[i] = d;
        } else {
            e->argv[i] = dup_bytes(argv[i], argvlen[i], &e->argvlen[i]);
        }
        e->argc = i + 1;
        if (!e->argv[i])
            goto fail;
    }
    e->id = sl->next_id++;
    e->time = (int64_t)time(NULL);
    e->duration_us = duration_us;
    e->next = sl->head;
    sl->head = e;
    sl->len++;
    if (sl->len > max_len) {
        slowlog_entry *p = sl->head;
        for (size_t i = 1; i < max_len; i++)
            p = p->next;
        slowlog_entry *drop = p->next;
        p->next = NULL;
        while (drop) {
            slowlog_entry *n = drop->next;
            entry_free(drop);
            sl->len--;
            drop = n;
        }
    }
    return;
fail:
    entry_free(e);
}

void slowlog_reply(const slowlog *sl, long long count, reply_buf *out)
{
    size_t n = sl->len;
    if (count >= 0 && (unsigned long long)count < n)
        n = (size_t)count;
    reply_array(out, n);
    const slowlog_entry *e = sl->head;
    for (size_t i = 0; i < n && e; i++, e = e->next) {
        reply_array(out, 6);
        reply_int(out, (long long)e->id);
        reply_int(out, e->time);
        reply_int(out, e->duration_us);
        reply_array(out, (size_t)e->argc);
        for (int k = 0; k < e->argc; k++)
            reply_bulk(out, e->argv[k], e->argvlen[k]);
        reply_bulk_cstr(out, e->addr);
        reply_bulk_cstr(out, e->name);
    }
}

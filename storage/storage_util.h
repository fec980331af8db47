/*
 * storage_util.h — the small helpers every storage file needs: little-endian
 * integer encoding of the on-disk formats, filling a segdb_err, and mapping
 * a VFS error (negative errno) to the engine's error codes. Header-only so
 * the log can be built alone (fuzz targets, segdb-check) without the engine.
 */
#ifndef STORAGE_UTIL_H
#define STORAGE_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "segdb.h"

static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Fill err (may be NULL) with code and a printf-style message; returns code. */
static inline int set_err(segdb_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int set_err(segdb_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A failed storage call: out of memory stays that; anything else makes writes read-only. */
static inline int io_code(int rc)
{
    return rc == -ENOMEM ? SEGDB_ENOMEM : SEGDB_EREADONLY;
}

#endif /* STORAGE_UTIL_H */

/*
 * err.h — filling a segdb_err: one helper so every module words errors the
 * same way (code + printf-style message). Implemented in segdb.c.
 */
#ifndef ERR_H
#define ERR_H

#include "segdb.h"

/* Fill err (may be NULL) and return code. */
int err_set(segdb_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* ERR_H */

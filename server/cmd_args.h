/*
 * cmd_args.h — small helpers every command module uses to read its
 * arguments (binary-safe: an argument is bytes and a length, no NUL).
 */
#ifndef SEGDB_CMD_ARGS_H
#define SEGDB_CMD_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the argument is `word`, ignoring ASCII case (option keywords). */
bool arg_is(const char *arg, size_t len, const char *word);

/* The argument as a message may show it: at most 64 bytes, control bytes as
 * '?', "..." when cut; written into buf (cap >= 8), which is returned. */
const char *arg_shown(const char *s, size_t len, char *buf, size_t cap);

/* A non-negative decimal integer (digits only, fits in u64) into *v: 0, or
 * -1 when the argument is not one (nothing written). */
int arg_u64(const char *s, size_t len, uint64_t *v);

#endif /* SEGDB_CMD_ARGS_H */

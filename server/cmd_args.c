/*
 * cmd_args.c — argument helpers shared by the command modules (cmd_args.h).
 */
#include "cmd_args.h"

#include <string.h>
#include <strings.h>

bool arg_is(const char *arg, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(arg, word, len) == 0;
}

const char *arg_shown(const char *s, size_t len, char *buf, size_t cap)
{
    size_t n = len < 64 ? len : 64;
    if (n > cap - 4)
        n = cap - 4;
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        buf[w++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (n < len) {
        memcpy(buf + w, "...", 3);
        w += 3;
    }
    buf[w] = '\0';
    return buf;
}

int arg_u64(const char *s, size_t len, uint64_t *v)
{
    if (len == 0)
        return -1;
    uint64_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    *v = acc;
    return 0;
}

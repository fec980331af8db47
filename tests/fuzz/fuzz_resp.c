/*
 * fuzz_resp.c — libFuzzer target for the request parser (server/resp.c).
 *
 * The first byte picks the feed chunk size and whether the client counts as
 * unauthenticated; the rest is the byte stream. Every complete command is
 * checked for well-formed arguments (NUL-terminated at their length), and
 * the same bytes go through resp_split_line. Build and run:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Iengine -Iserver \
 *       tests/fuzz/fuzz_resp.c server/resp.c -o /tmp/fuzz_resp
 *   /tmp/fuzz_resp -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (data[0] & 0x3f) + 1;
    bool unauth = data[0] & 0x40;
    bool small = data[0] & 0x80;
    data++;
    size--;

    resp_parser p;
    resp_parser_init(&p);
    p.unauth = unauth;
    if (small) {
        p.max_bulk_bytes = 64;
        p.max_args = 8;
    }
    size_t pos = 0;
    int dead = 0;
    while (pos < size && !dead) {
        size_t chunk = size - pos < step ? size - pos : step;
        size_t off = 0;
        while (off < chunk) {
            size_t used = 0;
            int r = resp_feed(&p, (const char *)data + pos + off, chunk - off, &used);
            if (used > chunk - off)
                abort();
            off += used;
            if (r == RESP_CMD) {
                if (p.argc <= 0)
                    abort();
                for (int i = 0; i < p.argc; i++)
                    if (p.argv[i][p.argvlen[i]] != '\0')
                        abort();
            } else if (r == RESP_MORE) {
                if (off != chunk)
                    abort();
            } else if (r != RESP_EQUOTES) {
                dead = 1; /* the server closes the connection here */
                break;
            }
        }
        pos += chunk;
    }
    resp_parser_free(&p);

    char **argv;
    size_t *lens;
    int argc;
    if (resp_split_line((const char *)data, size, small ? 8 : 0, &argv, &lens, &argc) == 0)
        resp_free_args(argv, lens, argc);
    return 0;
}

/*
 * fuzz_fold.c — libFuzzer target for engine/fold.c: every function of fold.h
 * on the fuzzer's bytes, through buffers of exactly the promised capacity so
 * AddressSanitizer catches any read past len or write past the bound, plus
 * the invariants that must hold on any input (output bounds, valid UTF-8 in
 * gives valid UTF-8 out, folding is idempotent, fold_memmem agrees with a
 * plain search).
 *
 * Build and run:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Iengine \
 *       tests/fuzz/fuzz_fold.c engine/fold.c -lutf8proc -o /tmp/fuzz_fold
 *   /tmp/fuzz_fold -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"

static const char *plain_memmem(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return h;
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, n, nl) == 0)
            return h + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t cap = fold_max_len(size) + 1;
    char *out = malloc(cap), *again = NULL, *code = malloc(cap), *ph = malloc(size + 2);
    char *lower = malloc(size + 1);
    if (!out || !code || !ph || !lower)
        goto done;

    size_t n = fold_text(s, size, out);
    if (n > fold_max_len(size) || out[n] != '\0')
        abort();
    bool valid = fold_utf8_valid(s, size);
    if (valid) {
        if (!fold_utf8_valid(out, n))
            abort();
        free(again);
        again = malloc(fold_max_len(n) + 1);
        if (!again)
            goto done;
        size_t m = fold_text(out, n, again);
        if (m != n || memcmp(out, again, n) != 0)
            abort();
        (void)fold_utf8_chars(s, size);
    }
    size_t dl;
    char *dup = fold_dup(s, size, &dl);
    if (dup && (dl != n || memcmp(dup, out, n) != 0))
        abort();
    free(dup);

    if (fold_lower_ascii(s, size, lower) != size)
        abort();
    if (fold_phone(s, size, ph) > size || fold_phone_query(s, size, ph) > size)
        abort();
    if (fold_email_valid(s, size) && (!valid || size > 254))
        abort();
    const char *problem = fold_tag_name_problem(s, size);
    if (!problem && (!valid || size == 0))
        abort();
    size_t cl = fold_group_code(s, size, code);
    if (cl > fold_max_len(size) || code[cl] != '\0')
        abort();
    for (size_t i = 0; i < cl; i++)
        if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9') || code[i] == '_'))
            abort();

    /* fold_memmem: the first byte picks the needle length, the rest is hay. */
    if (size > 0) {
        size_t nl = data[0] % 24;
        const char *hay = s + 1;
        size_t hl = size - 1;
        if (nl <= hl) {
            /* needle taken from the end of the hay: it must be found */
            const char *needle = hay + hl - nl;
            if (fold_memmem(hay, hl, needle, nl) != plain_memmem(hay, hl, needle, nl))
                abort();
        }
        char mixed[24];
        for (size_t i = 0; i < nl; i++)
            mixed[i] = (char)(data[(i * 7) % size] & 0x63); /* few distinct bytes: near misses */
        if (fold_memmem(hay, hl, mixed, nl) != plain_memmem(hay, hl, mixed, nl))
            abort();
    }
done:
    free(out);
    free(again);
    free(code);
    free(ph);
    free(lower);
    return 0;
}

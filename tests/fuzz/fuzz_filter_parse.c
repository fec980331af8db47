/*
 * fuzz_filter_parse.c — libFuzzer target for engine/filter_parse.c.
 *
 * Feeds arbitrary bytes to filter_parse under two sets of limits (the SPEC
 * defaults, and a byte limit of 4 GiB so large inputs reach the parser and only
 * the depth limit stops deep nesting) and checks, beyond "no crash, no leak":
 *   - an error is SEGDB_EINVAL or SEGDB_ELIMIT, *out is NULL, and the message
 *     is non-empty, valid UTF-8 and one line (it goes out as a RESP error);
 *   - a success prints (fnode_to_string) to text that parses again and prints
 *     the same, and every node position lies inside the text.
 * A broken check calls __builtin_trap() so libFuzzer saves the input.
 * Build and run: docs/fuzzing.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter_parse.h"

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond))                                                                       \
            __builtin_trap();                                                              \
    } while (0)

static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || k > n - i)
            return false;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
        i += k;
    }
    return true;
}

static void check_error(int rc, const fnode *out, const segdb_err *err)
{
    CHECK(rc == SEGDB_EINVAL || rc == SEGDB_ELIMIT || rc == SEGDB_ENOMEM);
    CHECK(out == NULL);
    CHECK(err->code == rc);
    size_t n = strnlen(err->msg, sizeof err->msg);
    CHECK(n > 0 && n < sizeof err->msg);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)err->msg[i] >= 0x20 && err->msg[i] != 0x7F);
    CHECK(utf8_ok((const unsigned char *)err->msg, n));
}

static void check_positions(const fnode *n, uint32_t max_pos)
{
    CHECK(n->pos >= 1 && n->pos <= max_pos);
    if (n->kind == FN_TERM) {
        CHECK(n->field != NULL && n->field_pos >= 1 && n->field_pos <= max_pos);
        for (size_t i = 0; i < n->nvalues; i++) {
            CHECK(n->values[i].pos >= 1 && n->values[i].pos <= max_pos);
            CHECK(strlen(n->values[i].text) == n->values[i].len);
        }
        return;
    }
    CHECK(n->nkids >= (n->kind == FN_NOT ? 1u : 2u));
    for (size_t i = 0; i < n->nkids; i++)
        check_positions(n->kids[i], max_pos);
}

static void one(const uint8_t *data, size_t size, const filter_limits *lim)
{
    fnode *n = (fnode *)1;
    segdb_err err;
    int rc = filter_parse((const char *)data, size, lim, &n, &err);
    if (rc) {
        check_error(rc, n, &err);
        return;
    }
    CHECK(n != NULL);
    check_positions(n, (uint32_t)size);

    char *s1 = fnode_to_string(n);
    if (s1) {
        /* printing adds parentheses (an AND under an OR), so allow more depth here */
        filter_limits roomy = {UINT32_MAX, 1024, UINT32_MAX};
        fnode *m = NULL;
        rc = filter_parse(s1, strlen(s1), &roomy, &m, &err);
        if (rc != SEGDB_ENOMEM) {
            CHECK(rc == 0);
            char *s2 = fnode_to_string(m);
            CHECK(s2 == NULL || strcmp(s1, s2) == 0);
            free(s2);
        }
        fnode_free(m);
        free(s1);
    }
    fnode_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const filter_limits defaults = {SEGDB_MAX_FILTER_BYTES, SEGDB_MAX_FILTER_DEPTH,
                                           SEGDB_MAX_FILTER_TERMS};
    static const filter_limits big = {UINT32_MAX, SEGDB_MAX_FILTER_DEPTH, UINT32_MAX};
    one(data, size, &defaults);
    if (size > SEGDB_MAX_FILTER_BYTES)
        one(data, size, &big);
    return 0;
}

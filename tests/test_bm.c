/*
 * test_bm.c — the chunk kernels of engine/bm.c against bit-by-bit references:
 * the many-array OR (bm_chunk_mark_bytes then bm_bytes_or_into, whose fold
 * has an AVX2 form picked at run time, and its portable form), bm_chunk_or of
 * each container kind and bm_chunk_full, on random containers of chunk 0.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <roaring/roaring.h>

#include "bm.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15u;
static uint32_t rn(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

static bool bit(const uint64_t *w, uint32_t v) { return w[v >> 6] >> (v & 63) & 1; }

/* A bitmap of chunk 0 with about n random values (array container below 4096,
 * bitset above), or runs when runs is set. */
static roaring_bitmap_t *random_chunk(uint32_t n, bool runs)
{
    roaring_bitmap_t *b = roaring_bitmap_create();
    cr_assert_not_null(b);
    if (runs) {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t s = rn(65000);
            roaring_bitmap_add_range(b, s, s + 1 + rn(300));
        }
        roaring_bitmap_run_optimize(b);
    } else {
        for (uint32_t i = 0; i < n; i++) roaring_bitmap_add(b, rn(65536));
    }
    return b;
}

Test(bm, many_array_or_equals_the_union_bit_by_bit)
{
    uint8_t *bytes = calloc(BM_CHUNK_BITS, 1);
    cr_assert_not_null(bytes);
    for (int round = 0; round < 80; round++) {
        /* odd rounds fold without SIMD, even ones as the CPU allows */
        void (*fold)(uint64_t *, uint8_t *) = round % 2 ? bm_bytes_or_into_portable : bm_bytes_or_into;
        roaring_bitmap_t *bms[6];
        uint64_t w[BM_WORDS];
        for (uint32_t k = 0; k < BM_WORDS; k++) w[k] = rn(4) ? 0 : ((uint64_t)rn(UINT32_MAX) << 32 | rn(UINT32_MAX));
        uint64_t before[BM_WORDS];
        memcpy(before, w, sizeof w);
        int nb = 1 + (int)rn(6);
        for (int i = 0; i < nb; i++) {
            /* mostly arrays; a run or bitset container now and then */
            bms[i] = random_chunk(rn(5) ? 1 + rn(4000) : 100, rn(5) == 0);
            cr_assert_eq(bm_find_chunk(bms[i], 0, NULL), 0);
            bm_chunk_mark_bytes(bms[i], 0, bytes);
        }
        fold(w, bytes);
        for (uint32_t v = 0; v < 65536; v++) {
            bool want = bit(before, v);
            for (int i = 0; i < nb && !want; i++) want = roaring_bitmap_contains(bms[i], v);
            cr_assert_eq(bit(w, v), want, "round %d value %u", round, v);
            cr_assert_eq(bytes[v], 0, "byte %u not cleared", v);
        }
        for (int i = 0; i < nb; i++) roaring_bitmap_free(bms[i]);
    }
    free(bytes);
}

Test(bm, chunk_or_of_each_container_kind)
{
    const uint32_t sizes[] = {1, 17, 4095, 4097, 30000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        for (int runs = 0; runs < 2; runs++) {
            roaring_bitmap_t *b = random_chunk(runs ? sizes[s] / 20 + 1 : sizes[s], runs);
            uint64_t w[BM_WORDS];
            bm_words_zero(w);
            w[7] = 0xf0f0; /* bits already set stay set */
            bm_chunk_or(b, 0, w);
            for (uint32_t v = 0; v < 65536; v++) {
                bool want = roaring_bitmap_contains(b, v) || (v >> 6 == 7 && (UINT64_C(0xf0f0) >> (v & 63) & 1));
                cr_assert_eq(bit(w, v), want, "size %u runs %d value %u", sizes[s], runs, v);
            }
            cr_assert_eq(bm_words_popcount(w) >= bm_chunk_card(b, 0), true);
            roaring_bitmap_free(b);
        }
    }
}

Test(bm, full_means_every_value_of_the_chunk)
{
    roaring_bitmap_t *b = roaring_bitmap_create();
    roaring_bitmap_add_range(b, 0, 65536); /* one run */
    roaring_bitmap_run_optimize(b);
    cr_assert(bm_chunk_full(b, 0));
    roaring_bitmap_remove(b, 777); /* two runs */
    cr_assert_not(bm_chunk_full(b, 0));
    roaring_bitmap_remove_run_compression(b); /* a bitset of 65535 */
    cr_assert_not(bm_chunk_full(b, 0));
    roaring_bitmap_add(b, 777); /* a full bitset */
    cr_assert(bm_chunk_full(b, 0));
    roaring_bitmap_free(b);
    b = random_chunk(3000, false); /* an array */
    cr_assert_not(bm_chunk_full(b, 0));
    roaring_bitmap_free(b);
    b = roaring_bitmap_create();
    roaring_bitmap_add_range(b, 1, 65536); /* one run, not from 0 */
    roaring_bitmap_run_optimize(b);
    cr_assert_not(bm_chunk_full(b, 0));
    roaring_bitmap_free(b);
}

/*
 * bm.h — chunk-at-a-time bitmap kernels over CRoaring containers.
 *
 * A Roaring bitmap splits the 32-bit row space into chunks of 65536 rows
 * (the high 16 bits are the chunk key). The executor evaluates a whole plan
 * one chunk at a time into plain 1024-word bitsets that stay in L1/L2, so an
 * AND/OR/NOT tree costs a few word loops per chunk instead of materializing
 * a Roaring bitmap per node. These kernels read CRoaring 0.2.x containers
 * (the layout in the installed roaring/containers headers) directly.
 *
 * Words arrays always hold BM_WORDS uint64_t (65536 bits).
 */
#ifndef BM_H
#define BM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#define BM_WORDS 1024u
#define BM_CHUNK_BITS 65536u

/* Index of the container with chunk key `key` in b, or -1. *cursor is a
 * forward hint (start at 0; keys asked in ascending order make this O(1)). */
int bm_find_chunk(const roaring_bitmap_t *b, uint16_t key, int *cursor);

/* Number of containers in b and the key of container i. */
int bm_chunk_count(const roaring_bitmap_t *b);
uint16_t bm_chunk_key(const roaring_bitmap_t *b, int i);

/* Cardinality of container i. */
uint32_t bm_chunk_card(const roaring_bitmap_t *b, int i);
/* True when container i of b holds all 65536 values (O(1), unlike the card). */
bool bm_chunk_full(const roaring_bitmap_t *b, int i);

/* w = container i (overwrite) / w |= container i / w &= container i / w &= ~container i. */
void bm_chunk_load(const roaring_bitmap_t *b, int i, uint64_t *w);
void bm_chunk_or(const roaring_bitmap_t *b, int i, uint64_t *w);
void bm_chunk_and(const roaring_bitmap_t *b, int i, uint64_t *w);
void bm_chunk_andnot(const roaring_bitmap_t *b, int i, uint64_t *w);

/* Container type of container i: 1 bitset, 2 array, 3 run (CRoaring's codes). */
int bm_chunk_type(const roaring_bitmap_t *b, int i);

/* OR of many array containers without a read-modify-write chain per value:
 * bm_chunk_mark_bytes sets bytes[v] = 1 for each value of (array) container
 * i; bm_bytes_or_into folds 65536 such bytes into w and clears them. */
void bm_chunk_mark_bytes(const roaring_bitmap_t *b, int i, uint8_t *bytes);
void bm_bytes_or_into(uint64_t *w, uint8_t *bytes);
/* The same fold without SIMD: what bm_bytes_or_into runs on a CPU without
 * AVX2 (exported so the tests check it on one that has it). */
void bm_bytes_or_into_portable(uint64_t *w, uint8_t *bytes);

/* Call fn(low16, ctx) for each value of container i, ascending. */
typedef void (*bm_value_fn)(uint32_t low, void *ctx);
void bm_chunk_each(const roaring_bitmap_t *b, int i, bm_value_fn fn, void *ctx);

/* Write container i's values (low 16 bits) into out (capacity 65536); returns count. */
uint32_t bm_chunk_values(const roaring_bitmap_t *b, int i, uint16_t *out);

/* Word kernels. */
void bm_words_zero(uint64_t *w);
void bm_words_fill(uint64_t *w);
bool bm_words_any(const uint64_t *w);
uint32_t bm_words_popcount(const uint64_t *w);
void bm_words_and(uint64_t *w, const uint64_t *x);
void bm_words_or(uint64_t *w, const uint64_t *x);
void bm_words_andnot(uint64_t *w, const uint64_t *x);
/* Write the set bits' positions (ascending) into out; returns how many. */
uint32_t bm_words_positions(const uint64_t *w, uint16_t *out);

/* Add x to b. Fast when x lands in b's last container above its current
 * maximum (rows are handed out in increasing order, so most index writes
 * are appends); otherwise it is roaring_bitmap_add. */
void bm_add(roaring_bitmap_t *b, uint32_t x);

/* roaring_bitmap_contains with an O(1) answer for x above b's maximum (the
 * common case for a row being written for the first time). */
bool bm_contains(const roaring_bitmap_t *b, uint32_t x);

/* True when b is internally consistent: chunk keys strictly increasing,
 * arrays sorted without repeats, bitset cardinalities right, runs ordered and
 * inside their chunk. A deserialized bitmap from an untrusted file is checked
 * with this before anyone iterates it. */
bool bm_valid(const roaring_bitmap_t *b);

/* |a AND b| and |a AND NOT b|, chunk by chunk: bitset pairs are one fused
 * AND+popcount loop (vectorized with -march=native, where Debian's CRoaring
 * counts bits with scalar code); other container pairs go through a chunk
 * bitset. */
uint64_t bm_and_card(const roaring_bitmap_t *a, const roaring_bitmap_t *b);
uint64_t bm_andnot_card(const roaring_bitmap_t *a, const roaring_bitmap_t *b);

/* Append chunk `key` with bits w (cardinality card > 0) to b; keys must be
 * appended in ascending order and above every key already in b. */
void bm_append_words(roaring_bitmap_t *b, uint16_t key, const uint64_t *w, uint32_t card);
/* Ask the CPU to bring container i of b toward the cache (no effect on b):
 * every other 64-byte line, the adjacent-line prefetcher fetching its pair. */
void bm_chunk_prefetch(const roaring_bitmap_t *b, int i);
/* Same, from n sorted distinct values of the chunk. */
void bm_append_values(roaring_bitmap_t *b, uint16_t key, const uint16_t *vals, uint32_t n);
/* The values of container i of b whose bit is set in w, ascending, into out
 * (room for 65536); returns how many. */
uint32_t bm_chunk_select(const roaring_bitmap_t *b, int i, const uint64_t *w, uint16_t *out);

#endif /* BM_H */

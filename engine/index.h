/*
 * index.h — range indexes for TIME, DATE, INTEGER and NUMBER fields.
 *
 * A value maps to an order-preserving 64-bit key (int64: flip the sign bit;
 * double: IEEE bits, flipped so negative numbers sort first). The index keeps,
 * at a few granularities ("levels", each a right-shift of the key), one Roaring
 * bitmap per non-empty bucket. A range [lo, hi] is covered by whole buckets,
 * coarse ones first, and at most two partial buckets at the finest level
 * whose rows are checked against the column ("edge scan"). So a range term
 * touches a handful of bitmaps and never scans all rows.
 */
#ifndef INDEX_H
#define INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#define RINDEX_MAX_LEVELS 8

typedef struct rlevel {
    uint64_t *keys;          /* sorted bucket keys (key >> shift) */
    roaring_bitmap_t **bms;
    uint32_t n, cap;
} rlevel;

typedef struct range_index {
    uint32_t nlevels;
    uint8_t shift[RINDEX_MAX_LEVELS];  /* finest first */
    rlevel lv[RINDEX_MAX_LEVELS];
} range_index;

/* Order-preserving keys. */
static inline uint64_t rkey_int(int64_t v) { return (uint64_t)v ^ (UINT64_C(1) << 63); }
static inline uint64_t rkey_double(double v)
{
    union { double d; uint64_t u; } x = {.d = v};
    if (v == 0) x.u = 0; /* -0.0 == 0.0 */
    return (x.u >> 63) ? ~x.u : x.u ^ (UINT64_C(1) << 63);
}

/* Levels by kind: shifts finest-first. NULL on ENOMEM. */
range_index *rindex_create(const uint8_t *shifts, uint32_t nlevels);
void rindex_free(range_index *ri);
int rindex_add(range_index *ri, uint64_t key, uint32_t row);     /* SEGDB_ENOMEM */
void rindex_remove(range_index *ri, uint64_t key, uint32_t row);

/* Cover of [lo, hi] (keys, inclusive): full buckets and partial (edge) ones. */
typedef struct rcover {
    const roaring_bitmap_t **full;
    uint32_t nfull, full_cap;
    const roaring_bitmap_t **edge;
    uint32_t nedge, edge_cap;
    uint64_t full_card;      /* sum of full bucket cardinalities (disjoint) */
    uint64_t edge_card;
} rcover;

int rindex_cover(const range_index *ri, uint64_t lo, uint64_t hi, rcover *out); /* SEGDB_ENOMEM */
void rcover_free(rcover *c);

/* Bucket bitmaps at the finest level in ascending key order, for ordered
 * walks (FIND ... SORT, SPLIT BY): calls fn for each until it returns false. */
typedef bool (*rindex_bucket_fn)(const roaring_bitmap_t *bm, void *ctx);
void rindex_walk(const range_index *ri, bool descending, rindex_bucket_fn fn, void *ctx);

uint64_t rindex_mem_bytes(const range_index *ri);

#endif /* INDEX_H */

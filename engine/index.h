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
 *
 * Writes are batched: rindex_add only records the row as pending (its value
 * is already in the column); the next read (cover, walk) or rindex_flush
 * files all pending rows into their buckets in one pass, grouped by bucket,
 * instead of one random bitmap insert per row and level.
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
    roaring_bitmap_t *pending;         /* rows in the column, not yet in buckets */
    /* keys[i] = the current key of rows[i], i < n */
    void (*keys_of)(const void *ctx, const uint32_t *rows, size_t n, uint64_t *keys);
    const void *key_ctx;
} range_index;

/* Order-preserving keys. */
static inline uint64_t rkey_int(int64_t v) { return (uint64_t)v ^ (UINT64_C(1) << 63); }
static inline uint64_t rkey_double(double v)
{
    union { double d; uint64_t u; } x = {.d = v};
    if (v == 0) x.u = 0; /* -0.0 == 0.0 */
    return (x.u >> 63) ? ~x.u : x.u ^ (UINT64_C(1) << 63);
}

/* Levels by kind: shifts finest-first; keys_of(key_ctx, rows, n, keys) reads
 * rows' current keys (when pending rows are filed: a chunk at a time, so the
 * column's kind is looked at once per chunk, not per row). NULL on ENOMEM. */
range_index *rindex_create(const uint8_t *shifts, uint32_t nlevels,
                           void (*keys_of)(const void *ctx, const uint32_t *rows, size_t n, uint64_t *keys),
                           const void *key_ctx);
void rindex_free(range_index *ri);
/* The row's value (already in the column) enters the index. */
int rindex_add(range_index *ri, uint32_t row);
/* The row's value `key` (still in the column) leaves the index. */
void rindex_remove(range_index *ri, uint64_t key, uint32_t row);
/* File every pending row into its buckets. Then, while the finest level
 * has more than RINDEX_SPARSE_BUCKETS buckets of fewer than
 * RINDEX_SPARSE_ROWS rows each on average (an integer field whose contacts
 * nearly all hold different values: a bitmap per value, ~1.3 KB a contact),
 * that level is dropped and the next one becomes the finest: ranges then
 * scan the rows of its edge buckets. The last level stays. SEGDB_ENOMEM. */
int rindex_flush(range_index *ri);
#define RINDEX_SPARSE_BUCKETS 65536u
#define RINDEX_SPARSE_ROWS 4u
/* Drops the finest level (not the last one): a snapshot's index that was
 * saved with fewer levels than its kind starts with. */
void rindex_drop_finest(range_index *ri);

/* Cover of [lo, hi] (keys, inclusive). Rows in range = (OR of full) minus
 * (OR of sub), then each edge bucket's rows decided one by one by value
 * (in range: set, else cleared). Sub buckets only lie inside full ones. */
typedef struct rcover {
    const roaring_bitmap_t **full;
    uint32_t nfull, full_cap;
    const roaring_bitmap_t **sub;
    uint32_t nsub, sub_cap;
    const roaring_bitmap_t **edge;
    uint32_t nedge, edge_cap;
    uint64_t full_card;      /* sum of full bucket cardinalities (disjoint; an upper bound) */
    uint64_t edge_card;
} rcover;

int rindex_cover(range_index *ri, uint64_t lo, uint64_t hi, rcover *out); /* flushes; SEGDB_ENOMEM */
void rcover_free(rcover *c);

/* Bucket bitmaps at the finest level in ascending key order, for ordered
 * walks (FIND ... SORT, SPLIT BY): calls fn for each until it returns false. */
typedef bool (*rindex_bucket_fn)(const roaring_bitmap_t *bm, void *ctx);
void rindex_walk(range_index *ri, bool descending, rindex_bucket_fn fn, void *ctx); /* flushes */

uint64_t rindex_mem_bytes(const range_index *ri);

#endif /* INDEX_H */

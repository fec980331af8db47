/*
 * index.c — bucketed multi-level range index (see index.h).
 */
#include "index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bm.h"
#include "segdb.h"

range_index *rindex_create(const uint8_t *shifts, uint32_t nlevels,
                           void (*keys_of)(const void *ctx, const uint32_t *rows, size_t n, uint64_t *keys),
                           const void *key_ctx)
{
    if (nlevels == 0 || nlevels > RINDEX_MAX_LEVELS) return NULL;
    range_index *ri = calloc(1, sizeof *ri);
    if (!ri) return NULL;
    ri->pending = roaring_bitmap_create();
    if (!ri->pending) { free(ri); return NULL; }
    ri->nlevels = nlevels;
    memcpy(ri->shift, shifts, nlevels);
    ri->keys_of = keys_of;
    ri->key_ctx = key_ctx;
    return ri;
}

void rindex_free(range_index *ri)
{
    if (!ri) return;
    for (uint32_t l = 0; l < ri->nlevels; l++) {
        for (uint32_t i = 0; i < ri->lv[l].n; i++) roaring_bitmap_free(ri->lv[l].bms[i]);
        free(ri->lv[l].keys);
        free(ri->lv[l].bms);
    }
    roaring_bitmap_free(ri->pending);
    free(ri);
}

/* Position of the first key >= k. */
static uint32_t lower_bound(const rlevel *lv, uint64_t k)
{
    uint32_t lo = 0, hi = lv->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (lv->keys[mid] < k) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int rindex_add(range_index *ri, uint32_t row)
{
    bm_add(ri->pending, row);
    return SEGDB_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Finest buckets spanning at most this many keys get a dense bucket -> slot
 * table (4 bytes each) instead of a binary search per row. */
#define DENSE_BUCKETS (1u << 22)

/* The distinct finest buckets (key >> s0) of n keys, ascending, into *out
 * (malloc'd); the count, or -1 on ENOMEM. *lo: the smallest; *span: how many
 * buckets from it to the largest, or UINT64_MAX beyond DENSE_BUCKETS. */
static int64_t distinct_buckets(const uint64_t *keys, uint64_t n, unsigned s0, uint64_t **out, uint64_t *lo,
                                uint64_t *span)
{
    uint64_t mn = UINT64_MAX, mx = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t b = keys[i] >> s0;
        if (b < mn) mn = b;
        if (b > mx) mx = b;
    }
    *lo = mn;
    /* mx - mn can't overflow; + 1 can (keys over all of uint64 with shift 0) */
    *span = mx - mn < DENSE_BUCKETS ? mx - mn + 1 : UINT64_MAX;
    uint64_t *d;
    uint64_t m = 0;
    if (*span <= DENSE_BUCKETS) {
        uint8_t *seen = calloc(*span, 1);
        if (!seen) return -1;
        for (uint64_t i = 0; i < n; i++) seen[(keys[i] >> s0) - mn] = 1;
        for (uint64_t k = 0; k < *span; k++) m += seen[k];
        d = malloc(m * sizeof *d);
        if (!d) { free(seen); return -1; }
        m = 0;
        for (uint64_t k = 0; k < *span; k++)
            if (seen[k]) d[m++] = mn + k;
        free(seen);
    } else {
        d = malloc(n * sizeof *d);
        if (!d) return -1;
        for (uint64_t i = 0; i < n; i++) d[i] = keys[i] >> s0;
        qsort(d, n, sizeof *d, cmp_u64);
        for (uint64_t i = 0; i < n; i++)
            if (!m || d[m - 1] != d[i]) d[m++] = d[i];
    }
    *out = d;
    return (int64_t)m;
}

/* Below this many buckets per row, a flush searches and sorts its rows by
 * bucket instead of walking and counting over every bucket (which costs the
 * level's size per flush: a write then a read of an integer field with a
 * million distinct values). */
#define SMALL_FLUSH_RATIO 16u

/* Gives level lv a bucket for each of keys[0..m) >> up (ascending, repeats
 * allowed) that it lacks, merging them in with one pass over its buckets
 * (one insert at a time would move half the level per new bucket). The count
 * of distinct keys >> up, or -1 on ENOMEM (the level unchanged but for
 * capacity). */
static int64_t ensure_buckets(rlevel *lv, const uint64_t *keys, uint64_t m, unsigned up)
{
    uint64_t distinct = 0, missing = 0;
    uint32_t i = 0;
    bool few = m * SMALL_FLUSH_RATIO < lv->n; /* search each key rather than walk the level */
    for (uint64_t k = 0; k < m; k++) {
        uint64_t b = keys[k] >> up;
        if (k && (keys[k - 1] >> up) == b) continue;
        distinct++;
        if (few) i = lower_bound(lv, b);
        else
            while (i < lv->n && lv->keys[i] < b) i++;
        if (i == lv->n || lv->keys[i] != b) missing++;
    }
    if (missing == 0) return (int64_t)distinct;
    if ((uint64_t)lv->n + missing > UINT32_MAX) return -1;
    if (lv->n + missing > lv->cap) {
        uint64_t nc = lv->cap ? lv->cap : 16;
        while (nc < lv->n + missing) nc *= 2;
        if (nc > UINT32_MAX) nc = UINT32_MAX;
        uint64_t *nk = realloc(lv->keys, nc * sizeof *nk);
        if (!nk) return -1;
        lv->keys = nk;
        roaring_bitmap_t **nbm = realloc(lv->bms, nc * sizeof *nbm);
        if (!nbm) return -1;
        lv->bms = nbm;
        lv->cap = (uint32_t)nc;
    }
    roaring_bitmap_t **made = malloc(missing * sizeof *made);
    uint64_t nmade = 0;
    for (; made && nmade < missing; nmade++)
        if (!(made[nmade] = roaring_bitmap_create())) break;
    if (!made || nmade < missing) {
        for (uint64_t k = 0; made && k < nmade; k++) roaring_bitmap_free(made[k]);
        free(made);
        return -1;
    }
    /* merge from the back: w is where the next largest key goes */
    uint64_t w = lv->n + missing, k = m;
    int64_t j = (int64_t)lv->n - 1;
    while (k > 0) {
        uint64_t b = keys[k - 1] >> up;
        k--;
        if (k > 0 && (keys[k - 1] >> up) == b) continue; /* take each key once, at its first */
        while (j >= 0 && lv->keys[j] > b) {
            w--;
            lv->keys[w] = lv->keys[j];
            lv->bms[w] = lv->bms[j];
            j--;
        }
        if (j >= 0 && lv->keys[j] == b) continue; /* has it: moved with the rest */
        w--;
        lv->keys[w] = b;
        lv->bms[w] = made[--nmade];
    }
    lv->n += (uint32_t)missing;
    free(made);
    return (int64_t)distinct;
}

/* Rebuild every bucket of level l (> 0) as the union of the buckets of level
 * l - 1 inside it: a bucket's rows are exactly its finer buckets' rows, and
 * when a flush files at least as many rows as the index held, a few
 * container-wise ORs cost less than sorting every row again. SEGDB_ENOMEM. */
static int rebuild_level(range_index *ri, uint32_t l)
{
    rlevel *lv = &ri->lv[l], *fine = &ri->lv[l - 1];
    unsigned up = ri->shift[l] - ri->shift[l - 1];
    uint32_t j = 0;
    for (uint32_t k = 0; k < lv->n; k++) {
        while (j < fine->n && (fine->keys[j] >> up) < lv->keys[k]) j++;
        uint32_t j0 = j;
        while (j < fine->n && (fine->keys[j] >> up) == lv->keys[k]) j++;
        roaring_bitmap_t *u = j > j0 ? roaring_bitmap_or_many(j - j0, (const roaring_bitmap_t **)fine->bms + j0)
                                     : roaring_bitmap_create();
        if (!u) return SEGDB_ENOMEM;
        roaring_bitmap_free(lv->bms[k]);
        lv->bms[k] = u;
    }
    return SEGDB_OK;
}

/* True when the finest level holds more than n rows (each row is in one of
 * its buckets); stops counting there, so a flush of a few rows doesn't visit
 * a million buckets. */
static bool filed_more_than(const range_index *ri, uint64_t n)
{
    uint64_t t = 0;
    for (uint32_t k = 0; k < ri->lv[0].n && t <= n; k++) t += roaring_bitmap_get_cardinality(ri->lv[0].bms[k]);
    return t > n;
}

/* rindex_flush files pending rows this many at a time: its scratch arrays
 * (20 bytes a row) stay a few MiB, reused chunk after chunk, instead of
 * hundreds of MiB of fresh pages per field after a 10M-contact load. */
#define FLUSH_CHUNK (1u << 18)

/* Scratch for one chunk of pending rows. */
typedef struct flush_chunk {
    uint32_t *rows;      /* the chunk's rows, ascending */
    uint64_t *keys;      /* their keys */
    uint32_t *slot;      /* a row's bucket at the level being filed */
    uint32_t *fine_slot; /* its bucket at level 0 */
    uint32_t *sorted;    /* rows grouped by bucket (ascending within each) */
} flush_chunk;

static int cmp_slot_row(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Rows fc->rows[0..n) into the buckets fc->slot[0..n) of lv, grouped by a
 * sort of (slot, row) pairs. SEGDB_ENOMEM. */
static int file_few(rlevel *lv, const flush_chunk *fc, uint64_t n)
{
    uint64_t *pair = malloc(n * sizeof *pair);
    if (!pair) return SEGDB_ENOMEM;
    for (uint64_t i = 0; i < n; i++) pair[i] = (uint64_t)fc->slot[i] << 32 | fc->rows[i];
    qsort(pair, n, sizeof *pair, cmp_slot_row);
    for (uint64_t i = 0; i < n;) {
        uint32_t slot = (uint32_t)(pair[i] >> 32);
        uint64_t j = i;
        for (; j < n && (uint32_t)(pair[j] >> 32) == slot; j++) fc->sorted[j] = (uint32_t)pair[j];
        roaring_bitmap_add_many(lv->bms[slot], j - i, fc->sorted + i);
        i = j;
    }
    free(pair);
    return SEGDB_OK;
}

/* Files rows fc->rows[0..n) (already keyed) into level 0 and, unless
 * `coarse_later` (the caller rebuilds the coarser levels), every coarser
 * level. SEGDB_ENOMEM. */
static int file_chunk(range_index *ri, flush_chunk *fc, uint64_t n, bool coarse_later)
{
    int rc = SEGDB_ENOMEM;
    uint32_t *count = NULL, *dense = NULL;
    uint64_t *distinct = NULL;
    /* Every row's bucket at level l is its finest bucket >> (shift[l] -
     * shift[0]), so the buckets to create come from the few distinct finest
     * ones, not from every row (a binary search per row and level took 65%
     * of filing 10M rows). */
    unsigned s0 = ri->shift[0];
    uint64_t lo, span;
    int64_t nd = distinct_buckets(fc->keys, n, s0, &distinct, &lo, &span);
    if (nd < 0) goto done;
    for (uint32_t l = 0; l < ri->nlevels; l++) {
        rlevel *lv = &ri->lv[l];
        unsigned s = ri->shift[l];
        /* make sure every bucket exists first (inserting shifts slots; the
         * rebuild of coarser levels needs them too) */
        int64_t nb = ensure_buckets(lv, distinct, (uint64_t)nd, s - s0);
        if (nb < 0) goto done;
        if (l > 0 && coarse_later) continue;
        if (nb == 1) {
            /* every row in one bucket (coarse levels of small counts, days,
             * months): no sort (and when that is level 0, every level is one
             * bucket: fine_slot goes unused) */
            roaring_bitmap_add_many(lv->bms[lower_bound(lv, distinct[0] >> (s - s0))], n, fc->rows);
            continue;
        }
        if (l == 0) {
            if (span <= DENSE_BUCKETS) {
                /* a table from bucket to slot: one lookup per row */
                free(dense);
                if (!(dense = malloc(span * sizeof *dense))) goto done;
                for (int64_t k = 0; k < nd; k++) dense[distinct[k] - lo] = lower_bound(lv, distinct[k]);
                for (uint64_t i = 0; i < n; i++) fc->slot[i] = dense[(fc->keys[i] >> s0) - lo];
            } else {
                for (uint64_t i = 0; i < n; i++) fc->slot[i] = lower_bound(lv, fc->keys[i] >> s);
            }
            memcpy(fc->fine_slot, fc->slot, n * sizeof *fc->slot);
        } else if (n < ri->lv[0].n) {
            /* fewer rows than finest buckets (a write or a few): search each */
            for (uint64_t i = 0; i < n; i++) fc->slot[i] = lower_bound(lv, fc->keys[i] >> s);
        } else {
            /* a finest bucket lies inside exactly one coarser bucket: map slots */
            rlevel *fine = &ri->lv[0];
            uint32_t *map = malloc(((size_t)fine->n + 1) * sizeof *map);
            if (!map) goto done;
            for (uint32_t k = 0; k < fine->n; k++)
                map[k] = lower_bound(lv, (fine->keys[k] << ri->shift[0]) >> s);
            for (uint64_t i = 0; i < n; i++) fc->slot[i] = map[fc->fine_slot[i]];
            free(map);
        }
        if (n * SMALL_FLUSH_RATIO < lv->n) {
            /* a few rows against many buckets (writes since the last read):
             * sort the rows by slot rather than count over every bucket */
            if (file_few(lv, fc, n)) goto done;
            continue;
        }
        /* counting sort by slot keeps rows ascending within each bucket */
        free(count);
        count = calloc((size_t)lv->n + 1, sizeof *count);
        if (!count) goto done;
        for (uint64_t i = 0; i < n; i++) count[fc->slot[i] + 1]++;
        for (uint32_t k = 0; k < lv->n; k++) count[k + 1] += count[k];
        for (uint64_t i = 0; i < n; i++) fc->sorted[count[fc->slot[i]]++] = fc->rows[i];
        uint32_t start = 0;
        for (uint32_t k = 0; k < lv->n; k++) {
            uint32_t end = count[k];
            if (end > start) roaring_bitmap_add_many(lv->bms[k], end - start, fc->sorted + start);
            start = end;
        }
    }
    rc = SEGDB_OK;
done:
    free(count);
    free(dense);
    free(distinct);
    return rc;
}

void rindex_drop_finest(range_index *ri)
{
    if (ri->nlevels < 2) return;
    rlevel *lv = &ri->lv[0];
    for (uint32_t i = 0; i < lv->n; i++) roaring_bitmap_free(lv->bms[i]);
    free(lv->keys);
    free(lv->bms);
    memmove(&ri->lv[0], &ri->lv[1], (ri->nlevels - 1) * sizeof ri->lv[0]);
    memmove(&ri->shift[0], &ri->shift[1], (ri->nlevels - 1) * sizeof ri->shift[0]);
    ri->nlevels--;
    memset(&ri->lv[ri->nlevels], 0, sizeof ri->lv[0]);
    ri->shift[ri->nlevels] = 0;
}

/* rindex_flush's last step: drop sparse finest levels (index.h). It runs
 * on every flush, so an index and one rebuilt from its rows (DEBUG VERIFY)
 * come to the same levels. */
static void drop_sparse_levels(range_index *ri)
{
    while (ri->nlevels > 1 && ri->lv[0].n > RINDEX_SPARSE_BUCKETS) {
        const rlevel *top = &ri->lv[ri->nlevels - 1]; /* a few buckets: the index's rows */
        uint64_t rows = 0;
        for (uint32_t i = 0; i < top->n; i++) rows += roaring_bitmap_get_cardinality(top->bms[i]);
        if (rows >= (uint64_t)ri->lv[0].n * RINDEX_SPARSE_ROWS) return;
        rindex_drop_finest(ri);
    }
}

int rindex_flush(range_index *ri)
{
    uint64_t n = roaring_bitmap_get_cardinality(ri->pending);
    if (n == 0) {
        drop_sparse_levels(ri);
        return SEGDB_OK;
    }
    /* a bulk load (the index at least doubles): coarser levels are rebuilt
     * from the finest once every chunk is filed */
    bool rebuild = ri->nlevels > 1 && !filed_more_than(ri, n);
    uint64_t cap = n < FLUSH_CHUNK ? n : FLUSH_CHUNK;
    flush_chunk fc = {.rows = malloc(cap * sizeof *fc.rows),
                      .keys = malloc(cap * sizeof *fc.keys),
                      .slot = malloc(cap * sizeof *fc.slot),
                      .fine_slot = malloc(cap * sizeof *fc.fine_slot),
                      .sorted = malloc(cap * sizeof *fc.sorted)};
    int rc = fc.rows && fc.keys && fc.slot && fc.fine_slot && fc.sorted ? SEGDB_OK : SEGDB_ENOMEM;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(ri->pending, &it);
    for (uint32_t m; !rc && (m = roaring_read_uint32_iterator(&it, fc.rows, (uint32_t)cap)) > 0;) {
        ri->keys_of(ri->key_ctx, fc.rows, m, fc.keys);
        rc = file_chunk(ri, &fc, m, rebuild);
    }
    for (uint32_t l = 1; !rc && rebuild && l < ri->nlevels; l++) rc = rebuild_level(ri, l);
    /* on ENOMEM the rows stay pending: filing them again adds nothing twice */
    if (!rc) roaring_bitmap_clear(ri->pending);
    if (!rc) drop_sparse_levels(ri);
    free(fc.rows);
    free(fc.keys);
    free(fc.slot);
    free(fc.fine_slot);
    free(fc.sorted);
    return rc;
}

void rindex_remove(range_index *ri, uint64_t key, uint32_t row)
{
    if (roaring_bitmap_remove_checked(ri->pending, row)) return; /* never filed */
    for (uint32_t l = 0; l < ri->nlevels; l++) {
        rlevel *lv = &ri->lv[l];
        uint64_t b = key >> ri->shift[l];
        uint32_t pos = lower_bound(lv, b);
        if (pos == lv->n || lv->keys[pos] != b) continue;
        roaring_bitmap_remove(lv->bms[pos], row);
        if (roaring_bitmap_is_empty(lv->bms[pos])) {
            roaring_bitmap_free(lv->bms[pos]);
            memmove(lv->keys + pos, lv->keys + pos + 1, (lv->n - pos - 1) * sizeof *lv->keys);
            memmove(lv->bms + pos, lv->bms + pos + 1, (lv->n - pos - 1) * sizeof *lv->bms);
            lv->n--;
        }
    }
}

static int push(const roaring_bitmap_t ***arr, uint32_t *n, uint32_t *cap, const roaring_bitmap_t *b)
{
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 16;
        const roaring_bitmap_t **na = realloc(*arr, nc * sizeof *na);
        if (!na) return SEGDB_ENOMEM;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = b;
    return SEGDB_OK;
}

static inline uint64_t bucket_end(uint64_t bstart, unsigned s)
{
    return s == 0 ? bstart : bstart + ((UINT64_C(1) << s) - 1);
}

/* Rows in level-l buckets overlapping [lo, hi]: what covering that span costs. */
static uint64_t span_card(const range_index *ri, int l, uint64_t lo, uint64_t hi)
{
    if (lo > hi) return 0;
    const rlevel *lv = &ri->lv[l];
    unsigned s = ri->shift[l];
    uint64_t n = 0;
    for (uint32_t i = lower_bound(lv, lo >> s); i < lv->n && lv->keys[i] <= (hi >> s); i++)
        n += roaring_bitmap_get_cardinality(lv->bms[i]);
    return n;
}

/* Inside a bucket that was added whole, take away the rows whose values lie
 * in [lo, hi] (outside the range): whole buckets go to `sub`, partial ones
 * at the finest level become edges (their rows are decided one by one). */
static int exclude_level(const range_index *ri, int l, uint64_t lo, uint64_t hi, rcover *out)
{
    if (lo > hi) return SEGDB_OK;
    const rlevel *lv = &ri->lv[l];
    unsigned s = ri->shift[l];
    for (uint32_t i = lower_bound(lv, lo >> s); i < lv->n && lv->keys[i] <= (hi >> s); i++) {
        uint64_t bstart = lv->keys[i] << s, bend = bucket_end(bstart, s);
        if (bstart >= lo && bend <= hi) {
            if (push(&out->sub, &out->nsub, &out->sub_cap, lv->bms[i])) return SEGDB_ENOMEM;
        } else if (l == 0) {
            if (push(&out->edge, &out->nedge, &out->edge_cap, lv->bms[i])) return SEGDB_ENOMEM;
            out->edge_card += roaring_bitmap_get_cardinality(lv->bms[i]);
        } else {
            int rc = exclude_level(ri, l - 1, bstart > lo ? bstart : lo, bend < hi ? bend : hi, out);
            if (rc) return rc;
        }
    }
    return SEGDB_OK;
}

/* Cover [lo, hi] with buckets of level l and finer. A partial bucket is
 * either covered from inside (finer buckets within the range) or added whole
 * minus the finer buckets outside the range, whichever touches fewer rows:
 * a range covering most of a coarse bucket costs one dense bitmap and a
 * small subtraction. */
static int cover_level(const range_index *ri, int l, uint64_t lo, uint64_t hi, rcover *out)
{
    const rlevel *lv = &ri->lv[l];
    unsigned s = ri->shift[l];
    for (uint32_t i = lower_bound(lv, lo >> s); i < lv->n && lv->keys[i] <= (hi >> s); i++) {
        uint64_t bstart = lv->keys[i] << s, bend = bucket_end(bstart, s);
        uint64_t card = roaring_bitmap_get_cardinality(lv->bms[i]);
        int rc;
        if (bstart >= lo && bend <= hi) {
            if (push(&out->full, &out->nfull, &out->full_cap, lv->bms[i])) return SEGDB_ENOMEM;
            out->full_card += card;
        } else if (l == 0) {
            if (push(&out->edge, &out->nedge, &out->edge_cap, lv->bms[i])) return SEGDB_ENOMEM;
            out->edge_card += card;
        } else {
            uint64_t a = bstart > lo ? bstart : lo, b = bend < hi ? bend : hi;
            uint64_t inside = span_card(ri, l - 1, a, b);
            uint64_t outside = (a > bstart ? span_card(ri, l - 1, bstart, a - 1) : 0) +
                               (b < bend ? span_card(ri, l - 1, b + 1, bend) : 0);
            if (outside + card / 8 < inside) {
                if (push(&out->full, &out->nfull, &out->full_cap, lv->bms[i])) return SEGDB_ENOMEM;
                out->full_card += card;
                if (a > bstart && (rc = exclude_level(ri, l - 1, bstart, a - 1, out))) return rc;
                if (b < bend && (rc = exclude_level(ri, l - 1, b + 1, bend, out))) return rc;
            } else if ((rc = cover_level(ri, l - 1, a, b, out))) {
                return rc;
            }
        }
    }
    return SEGDB_OK;
}

int rindex_cover(range_index *ri, uint64_t lo, uint64_t hi, rcover *out)
{
    memset(out, 0, sizeof *out);
    if (rindex_flush(ri)) return SEGDB_ENOMEM;
    if (lo > hi) return SEGDB_OK;
    int rc = cover_level(ri, (int)ri->nlevels - 1, lo, hi, out);
    if (rc) rcover_free(out);
    return rc;
}

void rcover_free(rcover *c)
{
    if (!c) return;
    free(c->full);
    free(c->sub);
    free(c->edge);
    memset(c, 0, sizeof *c);
}

void rindex_walk(range_index *ri, bool descending, rindex_bucket_fn fn, void *ctx)
{
    if (rindex_flush(ri)) return;
    const rlevel *lv = &ri->lv[0];
    if (descending) {
        for (uint32_t i = lv->n; i-- > 0;)
            if (!fn(lv->bms[i], ctx)) return;
    } else {
        for (uint32_t i = 0; i < lv->n; i++)
            if (!fn(lv->bms[i], ctx)) return;
    }
}

uint64_t rindex_mem_bytes(const range_index *ri)
{
    if (!ri) return 0;
    uint64_t n = sizeof *ri + roaring_bitmap_size_in_bytes(ri->pending);
    for (uint32_t l = 0; l < ri->nlevels; l++) {
        n += ri->lv[l].cap * (sizeof(uint64_t) + sizeof(void *));
        for (uint32_t i = 0; i < ri->lv[l].n; i++) n += roaring_bitmap_size_in_bytes(ri->lv[l].bms[i]);
    }
    return n;
}

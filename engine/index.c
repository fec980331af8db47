/*
 * index.c — bucketed multi-level range index (see index.h).
 */
#include "index.h"

#include <stdlib.h>
#include <string.h>

#include "segdb.h"

range_index *rindex_create(const uint8_t *shifts, uint32_t nlevels)
{
    if (nlevels == 0 || nlevels > RINDEX_MAX_LEVELS) return NULL;
    range_index *ri = calloc(1, sizeof *ri);
    if (!ri) return NULL;
    ri->nlevels = nlevels;
    memcpy(ri->shift, shifts, nlevels);
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

int rindex_add(range_index *ri, uint64_t key, uint32_t row)
{
    for (uint32_t l = 0; l < ri->nlevels; l++) {
        rlevel *lv = &ri->lv[l];
        uint64_t b = key >> ri->shift[l];
        uint32_t pos;
        /* fast path: appends mostly land in the last or the same bucket */
        if (lv->n && lv->keys[lv->n - 1] == b) pos = lv->n - 1;
        else pos = lower_bound(lv, b);
        if (pos == lv->n || lv->keys[pos] != b) {
            if (lv->n == lv->cap) {
                uint32_t nc = lv->cap ? lv->cap * 2 : 16;
                uint64_t *nk = realloc(lv->keys, nc * sizeof *nk);
                if (!nk) return SEGDB_ENOMEM;
                lv->keys = nk;
                roaring_bitmap_t **nb = realloc(lv->bms, nc * sizeof *nb);
                if (!nb) return SEGDB_ENOMEM;
                lv->bms = nb;
                lv->cap = nc;
            }
            roaring_bitmap_t *bm = roaring_bitmap_create();
            if (!bm) return SEGDB_ENOMEM;
            memmove(lv->keys + pos + 1, lv->keys + pos, (lv->n - pos) * sizeof *lv->keys);
            memmove(lv->bms + pos + 1, lv->bms + pos, (lv->n - pos) * sizeof *lv->bms);
            lv->keys[pos] = b;
            lv->bms[pos] = bm;
            lv->n++;
        }
        roaring_bitmap_add(lv->bms[pos], row);
    }
    return SEGDB_OK;
}

void rindex_remove(range_index *ri, uint64_t key, uint32_t row)
{
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

/* Cover [lo, hi] with buckets of level l and finer. */
static int cover_level(const range_index *ri, int l, uint64_t lo, uint64_t hi, rcover *out)
{
    const rlevel *lv = &ri->lv[l];
    unsigned s = ri->shift[l];
    for (uint32_t i = lower_bound(lv, lo >> s); i < lv->n && lv->keys[i] <= (hi >> s); i++) {
        uint64_t bstart = lv->keys[i] << s;
        uint64_t bend = s == 0 ? bstart : bstart + ((UINT64_C(1) << s) - 1);
        if (s >= 64) bend = UINT64_MAX;
        if (bstart >= lo && bend <= hi) {
            if (push(&out->full, &out->nfull, &out->full_cap, lv->bms[i])) return SEGDB_ENOMEM;
            out->full_card += roaring_bitmap_get_cardinality(lv->bms[i]);
        } else if (l == 0) {
            if (push(&out->edge, &out->nedge, &out->edge_cap, lv->bms[i])) return SEGDB_ENOMEM;
            out->edge_card += roaring_bitmap_get_cardinality(lv->bms[i]);
        } else {
            uint64_t a = bstart > lo ? bstart : lo, b = bend < hi ? bend : hi;
            int rc = cover_level(ri, l - 1, a, b, out);
            if (rc) return rc;
        }
    }
    return SEGDB_OK;
}

int rindex_cover(const range_index *ri, uint64_t lo, uint64_t hi, rcover *out)
{
    memset(out, 0, sizeof *out);
    if (lo > hi) return SEGDB_OK;
    int rc = cover_level(ri, (int)ri->nlevels - 1, lo, hi, out);
    if (rc) rcover_free(out);
    return rc;
}

void rcover_free(rcover *c)
{
    if (!c) return;
    free(c->full);
    free(c->edge);
    memset(c, 0, sizeof *c);
}

void rindex_walk(const range_index *ri, bool descending, rindex_bucket_fn fn, void *ctx)
{
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
    uint64_t n = sizeof *ri;
    for (uint32_t l = 0; l < ri->nlevels; l++) {
        n += ri->lv[l].cap * (sizeof(uint64_t) + sizeof(void *));
        for (uint32_t i = 0; i < ri->lv[l].n; i++) n += roaring_bitmap_size_in_bytes(ri->lv[l].bms[i]);
    }
    return n;
}

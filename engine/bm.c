/*
 * bm.c — chunk kernels over CRoaring 0.2.x containers (see bm.h).
 *
 * Why reach into containers: Debian's libroaring is built without
 * POPCNT/AVX, and a plan evaluated node-by-node with roaring_bitmap_* calls
 * materializes every intermediate. Reading the three container kinds (bitset,
 * sorted uint16 array, run list) into 8 KiB word buffers lets the executor fuse
 * a whole plan per chunk in code this project compiles (with -march=native in
 * the benchmark build). Only the layout of roaring_array_t and the container
 * structs is relied on; it is declared in the installed headers.
 */
#include "bm.h"

#include <pthread.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <roaring/containers/containers.h>
#include <roaring/roaring_array.h>

static inline const void *unwrap(const roaring_bitmap_t *b, int i, uint8_t *type)
{
    const roaring_array_t *ra = &b->high_low_container;
    const void *c = ra->containers[i];
    uint8_t t = ra->typecodes[i];
    if (t == SHARED_CONTAINER_TYPE_CODE) {
        const shared_container_t *s = (const shared_container_t *)c;
        t = s->typecode;
        c = s->container;
    }
    *type = t;
    return c;
}

int bm_chunk_count(const roaring_bitmap_t *b) { return b->high_low_container.size; }

uint16_t bm_chunk_key(const roaring_bitmap_t *b, int i) { return b->high_low_container.keys[i]; }

int bm_find_chunk(const roaring_bitmap_t *b, uint16_t key, int *cursor)
{
    const roaring_array_t *ra = &b->high_low_container;
    int n = ra->size;
    int i = cursor ? *cursor : 0;
    if (i < 0 || i > n) i = 0;
    if (i > 0 && ra->keys[i - 1] >= key) i = 0; /* the hint is past the key */
    /* gallop forward from the hint, then binary search */
    int lo = i, step = 1, hi = i;
    while (hi < n && ra->keys[hi] < key) {
        lo = hi + 1;
        hi += step;
        step <<= 1;
    }
    if (hi > n) hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (ra->keys[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    if (cursor) *cursor = lo;
    if (lo < n && ra->keys[lo] == key) return lo;
    return -1;
}

uint32_t bm_chunk_card(const roaring_bitmap_t *b, int i)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    switch (t) {
    case BITSET_CONTAINER_TYPE_CODE: return (uint32_t)((const bitset_container_t *)c)->cardinality;
    case ARRAY_CONTAINER_TYPE_CODE: return (uint32_t)((const array_container_t *)c)->cardinality;
    default: {
        const run_container_t *r = (const run_container_t *)c;
        uint32_t n = 0;
        for (int k = 0; k < r->n_runs; k++) n += (uint32_t)r->runs[k].length + 1;
        return n;
    }
    }
}

bool bm_chunk_full(const roaring_bitmap_t *b, int i)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    if (t == BITSET_CONTAINER_TYPE_CODE) return ((const bitset_container_t *)c)->cardinality == (int32_t)BM_CHUNK_BITS;
    if (t != RUN_CONTAINER_TYPE_CODE) return false; /* arrays hold at most 4096 values */
    const run_container_t *r = (const run_container_t *)c;
    return r->n_runs == 1 && r->runs[0].value == 0 && r->runs[0].length == 65535;
}

static inline void set_range(uint64_t *w, uint32_t start, uint32_t end_incl)
{
    uint32_t fw = start >> 6, lw = end_incl >> 6;
    uint64_t fm = ~UINT64_C(0) << (start & 63);
    uint64_t lm = ~UINT64_C(0) >> (63 - (end_incl & 63));
    if (fw == lw) {
        w[fw] |= fm & lm;
        return;
    }
    w[fw] |= fm;
    for (uint32_t k = fw + 1; k < lw; k++) w[k] = ~UINT64_C(0);
    w[lw] |= lm;
}

/* Set / clear the bits of values v[0..n). */
static inline void or_sorted(uint64_t *w, const uint16_t *v, int n)
{
    for (int k = 0; k < n; k++) w[v[k] >> 6] |= UINT64_C(1) << (v[k] & 63);
}

static inline void andnot_sorted(uint64_t *w, const uint16_t *v, int n)
{
    for (int k = 0; k < n; k++) w[v[k] >> 6] &= ~(UINT64_C(1) << (v[k] & 63));
}

void bm_chunk_or(const roaring_bitmap_t *b, int i, uint64_t *w)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    if (t == BITSET_CONTAINER_TYPE_CODE) {
        const uint64_t *x = ((const bitset_container_t *)c)->array;
        for (uint32_t k = 0; k < BM_WORDS; k++) w[k] |= x[k];
    } else if (t == ARRAY_CONTAINER_TYPE_CODE) {
        const array_container_t *a = (const array_container_t *)c;
        or_sorted(w, a->array, a->cardinality);
    } else {
        const run_container_t *r = (const run_container_t *)c;
        for (int k = 0; k < r->n_runs; k++)
            set_range(w, r->runs[k].value, (uint32_t)r->runs[k].value + r->runs[k].length);
    }
}

void bm_chunk_prefetch(const roaring_bitmap_t *b, int i)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    const char *p;
    size_t n;
    if (t == BITSET_CONTAINER_TYPE_CODE) {
        p = (const char *)((const bitset_container_t *)c)->array;
        n = BM_WORDS * sizeof(uint64_t);
    } else if (t == ARRAY_CONTAINER_TYPE_CODE) {
        p = (const char *)((const array_container_t *)c)->array;
        n = (size_t)((const array_container_t *)c)->cardinality * sizeof(uint16_t);
    } else {
        return;
    }
    for (size_t off = 0; off < n; off += 128) __builtin_prefetch(p + off, 0, 2);
}

void bm_chunk_load(const roaring_bitmap_t *b, int i, uint64_t *w)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    if (t == BITSET_CONTAINER_TYPE_CODE) {
        memcpy(w, ((const bitset_container_t *)c)->array, BM_WORDS * sizeof(uint64_t));
        return;
    }
    bm_words_zero(w);
    bm_chunk_or(b, i, w);
}

void bm_chunk_and(const roaring_bitmap_t *b, int i, uint64_t *w)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    if (t == BITSET_CONTAINER_TYPE_CODE) {
        const uint64_t *x = ((const bitset_container_t *)c)->array;
        for (uint32_t k = 0; k < BM_WORDS; k++) w[k] &= x[k];
        return;
    }
    uint64_t tmp[BM_WORDS];
    bm_words_zero(tmp);
    bm_chunk_or(b, i, tmp);
    bm_words_and(w, tmp);
}

void bm_chunk_andnot(const roaring_bitmap_t *b, int i, uint64_t *w)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    if (t == BITSET_CONTAINER_TYPE_CODE) {
        const uint64_t *x = ((const bitset_container_t *)c)->array;
        for (uint32_t k = 0; k < BM_WORDS; k++) w[k] &= ~x[k];
    } else if (t == ARRAY_CONTAINER_TYPE_CODE) {
        const array_container_t *a = (const array_container_t *)c;
        andnot_sorted(w, a->array, a->cardinality);
    } else {
        uint64_t tmp[BM_WORDS];
        bm_words_zero(tmp);
        bm_chunk_or(b, i, tmp);
        bm_words_andnot(w, tmp);
    }
}

int bm_chunk_type(const roaring_bitmap_t *b, int i)
{
    uint8_t t;
    (void)unwrap(b, i, &t);
    return t;
}

void bm_chunk_mark_bytes(const roaring_bitmap_t *b, int i, uint8_t *bytes)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    if (t == ARRAY_CONTAINER_TYPE_CODE) {
        /* locals: a byte store may alias anything, so fields read in the
         * loop condition would be reloaded after every store */
        const uint16_t *v = ((const array_container_t *)c)->array;
        int n = ((const array_container_t *)c)->cardinality, k = 0;
        for (; k + 4 <= n; k += 4) {
            bytes[v[k]] = 1;
            bytes[v[k + 1]] = 1;
            bytes[v[k + 2]] = 1;
            bytes[v[k + 3]] = 1;
        }
        for (; k < n; k++) bytes[v[k]] = 1;
    } else {
        uint16_t vals[1]; /* other kinds are rare here: go value by value */
        (void)vals;
        const run_container_t *r = (const run_container_t *)c;
        if (t == RUN_CONTAINER_TYPE_CODE) {
            for (int k = 0; k < r->n_runs; k++)
                memset(bytes + r->runs[k].value, 1, (size_t)r->runs[k].length + 1);
        } else {
            const uint64_t *x = ((const bitset_container_t *)c)->array;
            for (uint32_t k = 0; k < BM_WORDS; k++)
                for (uint64_t wd = x[k]; wd; wd &= wd - 1) bytes[k * 64 + (uint32_t)__builtin_ctzll(wd)] = 1;
        }
    }
}

/* The fold below, one pass: each 64-byte line becomes a word and is zeroed
 * while in cache. The AVX2 form (two compares and movemasks per word) is
 * chosen at run time, so every build, the tests' included, runs it on a CPU
 * that has it. */
void bm_bytes_or_into_portable(uint64_t *w, uint8_t *bytes)
{
    for (uint32_t k = 0; k < BM_WORDS; k++) {
        uint8_t *p = bytes + (size_t)k * 64;
        uint64_t word = 0;
        for (int j = 0; j < 8; j++) {
            uint64_t x;
            memcpy(&x, p + j * 8, 8);
            /* gather the low bit of each of the 8 bytes into one byte */
            uint64_t packed = ((x & UINT64_C(0x0101010101010101)) * UINT64_C(0x0102040810204080)) >> 56;
            word |= packed << (j * 8);
        }
        w[k] |= word;
        memset(p, 0, 64);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void bytes_or_into_avx2(uint64_t *w, uint8_t *bytes)
{
    const __m256i zero = _mm256_setzero_si256();
    for (uint32_t k = 0; k < BM_WORDS; k++) {
        __m256i *p = (__m256i *)(bytes + (size_t)k * 64);
        __m256i a = _mm256_loadu_si256(p), b = _mm256_loadu_si256(p + 1);
        uint64_t lo = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(a, zero));
        uint64_t hi = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(b, zero));
        w[k] |= hi << 32 | lo;
        _mm256_storeu_si256(p, zero);
        _mm256_storeu_si256(p + 1, zero);
    }
}
#endif

#if defined(__x86_64__)
/* A fact about the CPU, not a database's state, read once per process like
 * store.c's huge-page policy. */
static bool have_avx2;
static pthread_once_t have_avx2_once = PTHREAD_ONCE_INIT;
static void have_avx2_init(void) { have_avx2 = __builtin_cpu_supports("avx2"); }
#endif

void bm_bytes_or_into(uint64_t *w, uint8_t *bytes)
{
#if defined(__x86_64__)
    pthread_once(&have_avx2_once, have_avx2_init);
    if (have_avx2) {
        bytes_or_into_avx2(w, bytes);
        return;
    }
#endif
    bm_bytes_or_into_portable(w, bytes);
}

void bm_chunk_each(const roaring_bitmap_t *b, int i, bm_value_fn fn, void *ctx)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    if (t == BITSET_CONTAINER_TYPE_CODE) {
        const uint64_t *x = ((const bitset_container_t *)c)->array;
        for (uint32_t k = 0; k < BM_WORDS; k++) {
            uint64_t word = x[k];
            while (word) {
                fn(k * 64 + (uint32_t)__builtin_ctzll(word), ctx);
                word &= word - 1;
            }
        }
    } else if (t == ARRAY_CONTAINER_TYPE_CODE) {
        const array_container_t *a = (const array_container_t *)c;
        for (int k = 0; k < a->cardinality; k++) fn(a->array[k], ctx);
    } else {
        const run_container_t *r = (const run_container_t *)c;
        for (int k = 0; k < r->n_runs; k++) {
            uint32_t s = r->runs[k].value, e = s + r->runs[k].length;
            for (uint32_t v = s; v <= e; v++) fn(v, ctx);
        }
    }
}

uint32_t bm_chunk_values(const roaring_bitmap_t *b, int i, uint16_t *out)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    if (t == ARRAY_CONTAINER_TYPE_CODE) {
        const array_container_t *a = (const array_container_t *)c;
        memcpy(out, a->array, (size_t)a->cardinality * sizeof(uint16_t));
        return (uint32_t)a->cardinality;
    }
    if (t == BITSET_CONTAINER_TYPE_CODE)
        return bm_words_positions(((const bitset_container_t *)c)->array, out);
    const run_container_t *r = (const run_container_t *)c;
    uint32_t n = 0;
    for (int k = 0; k < r->n_runs; k++) {
        uint32_t s = r->runs[k].value, e = s + r->runs[k].length;
        for (uint32_t v = s; v <= e; v++) out[n++] = (uint16_t)v;
    }
    return n;
}

void bm_words_zero(uint64_t *w) { memset(w, 0, BM_WORDS * sizeof(uint64_t)); }
void bm_words_fill(uint64_t *w) { memset(w, 0xff, BM_WORDS * sizeof(uint64_t)); }

bool bm_words_any(const uint64_t *w)
{
    uint64_t acc = 0;
    for (uint32_t k = 0; k < BM_WORDS; k++) acc |= w[k];
    return acc != 0;
}

uint32_t bm_words_popcount(const uint64_t *w)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < BM_WORDS; k++) n += (uint32_t)__builtin_popcountll(w[k]);
    return n;
}

void bm_words_and(uint64_t *w, const uint64_t *x)
{
    for (uint32_t k = 0; k < BM_WORDS; k++) w[k] &= x[k];
}
void bm_words_or(uint64_t *w, const uint64_t *x)
{
    for (uint32_t k = 0; k < BM_WORDS; k++) w[k] |= x[k];
}
void bm_words_andnot(uint64_t *w, const uint64_t *x)
{
    for (uint32_t k = 0; k < BM_WORDS; k++) w[k] &= ~x[k];
}

uint32_t bm_words_positions(const uint64_t *w, uint16_t *out)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < BM_WORDS; k++) {
        uint64_t word = w[k];
        while (word) {
            out[n++] = (uint16_t)(k * 64 + (uint32_t)__builtin_ctzll(word));
            word &= word - 1;
        }
    }
    return n;
}

void bm_add(roaring_bitmap_t *b, uint32_t x)
{
    roaring_array_t *ra = &b->high_low_container;
    uint16_t hb = (uint16_t)(x >> 16), lb = (uint16_t)x;
    int n = ra->size;
    if (n > 0 && ra->keys[n - 1] == hb) {
        uint8_t t = ra->typecodes[n - 1];
        if (t == BITSET_CONTAINER_TYPE_CODE) {
            bitset_container_t *bc = (bitset_container_t *)ra->containers[n - 1];
            uint64_t m = UINT64_C(1) << (lb & 63), *wd = &bc->array[lb >> 6];
            if (!(*wd & m)) {
                *wd |= m;
                bc->cardinality++;
            }
            return;
        }
        if (t == ARRAY_CONTAINER_TYPE_CODE) {
            array_container_t *ac = (array_container_t *)ra->containers[n - 1];
            int32_t c = ac->cardinality;
            if (c > 0 && c < ac->capacity && c < DEFAULT_MAX_SIZE && ac->array[c - 1] < lb) {
                ac->array[c] = lb;
                ac->cardinality = c + 1;
                return;
            }
        }
    }
    roaring_bitmap_add(b, x);
}

bool bm_contains(const roaring_bitmap_t *b, uint32_t x)
{
    const roaring_array_t *ra = &b->high_low_container;
    int n = ra->size;
    if (n == 0) return false;
    uint16_t hb = (uint16_t)(x >> 16), lb = (uint16_t)x;
    uint16_t last = ra->keys[n - 1];
    if (hb > last) return false;
    if (hb == last) {
        uint8_t t = ra->typecodes[n - 1];
        if (t == BITSET_CONTAINER_TYPE_CODE)
            return ((const bitset_container_t *)ra->containers[n - 1])->array[lb >> 6] >> (lb & 63) & 1;
        if (t == ARRAY_CONTAINER_TYPE_CODE) {
            const array_container_t *ac = (const array_container_t *)ra->containers[n - 1];
            if (ac->cardinality == 0 || ac->array[ac->cardinality - 1] < lb) return false;
        }
    }
    return roaring_bitmap_contains(b, x);
}

bool bm_valid(const roaring_bitmap_t *b)
{
    const roaring_array_t *ra = &b->high_low_container;
    for (int i = 0; i < ra->size; i++) {
        if (i && ra->keys[i] <= ra->keys[i - 1]) return false;
        uint8_t t = ra->typecodes[i];
        const void *c = ra->containers[i];
        if (t == SHARED_CONTAINER_TYPE_CODE) return false; /* never serialized */
        if (t == ARRAY_CONTAINER_TYPE_CODE) {
            const array_container_t *a = (const array_container_t *)c;
            if (a->cardinality <= 0 || a->cardinality > DEFAULT_MAX_SIZE) return false;
            for (int k = 1; k < a->cardinality; k++)
                if (a->array[k] <= a->array[k - 1]) return false;
        } else if (t == BITSET_CONTAINER_TYPE_CODE) {
            const bitset_container_t *bc = (const bitset_container_t *)c;
            if ((uint32_t)bc->cardinality != bm_words_popcount(bc->array)) return false;
        } else if (t == RUN_CONTAINER_TYPE_CODE) {
            const run_container_t *r = (const run_container_t *)c;
            if (r->n_runs <= 0) return false;
            int64_t prev_end = -2;
            for (int k = 0; k < r->n_runs; k++) {
                int64_t s0 = r->runs[k].value, e0 = s0 + r->runs[k].length;
                if (e0 > 65535 || s0 <= prev_end + 1) return false;
                prev_end = e0;
            }
        } else {
            return false;
        }
    }
    return true;
}

static const uint64_t *bitset_words(const roaring_bitmap_t *b, int i)
{
    uint8_t t;
    const void *c = unwrap(b, i, &t);
    return t == BITSET_CONTAINER_TYPE_CODE ? ((const bitset_container_t *)c)->array : NULL;
}

uint64_t bm_and_card(const roaring_bitmap_t *a, const roaring_bitmap_t *b)
{
    const roaring_array_t *ra = &a->high_low_container, *rb = &b->high_low_container;
    int i = 0, j = 0;
    uint64_t total = 0;
    uint64_t tmp[BM_WORDS];
    while (i < ra->size && j < rb->size) {
        uint16_t ka = ra->keys[i], kb = rb->keys[j];
        if (ka < kb) { i++; continue; }
        if (kb < ka) { j++; continue; }
        const uint64_t *x = bitset_words(a, i), *y = bitset_words(b, j);
        if (x && y) {
            uint64_t n = 0;
            for (uint32_t k = 0; k < BM_WORDS; k++) n += (uint64_t)__builtin_popcountll(x[k] & y[k]);
            total += n;
        } else {
            bm_chunk_load(a, i, tmp);
            bm_chunk_and(b, j, tmp);
            total += bm_words_popcount(tmp);
        }
        i++;
        j++;
    }
    return total;
}

uint64_t bm_andnot_card(const roaring_bitmap_t *a, const roaring_bitmap_t *b)
{
    const roaring_array_t *ra = &a->high_low_container, *rb = &b->high_low_container;
    int j = 0;
    uint64_t total = 0;
    uint64_t tmp[BM_WORDS];
    for (int i = 0; i < ra->size; i++) {
        uint16_t ka = ra->keys[i];
        while (j < rb->size && rb->keys[j] < ka) j++;
        if (j >= rb->size || rb->keys[j] != ka) {
            total += bm_chunk_card(a, i);
            continue;
        }
        const uint64_t *x = bitset_words(a, i), *y = bitset_words(b, j);
        if (x && y) {
            uint64_t n = 0;
            for (uint32_t k = 0; k < BM_WORDS; k++) n += (uint64_t)__builtin_popcountll(x[k] & ~y[k]);
            total += n;
        } else {
            bm_chunk_load(a, i, tmp);
            bm_chunk_andnot(b, j, tmp);
            total += bm_words_popcount(tmp);
        }
    }
    return total;
}

void bm_append_words(roaring_bitmap_t *b, uint16_t key, const uint64_t *w, uint32_t card)
{
    if (card <= DEFAULT_MAX_SIZE) {
        /* positions straight from the words (this file's loop is compiled
         * for the CPU; the library's bitset-to-array is scalar) */
        array_container_t *ac = array_container_create_given_capacity((int32_t)card);
        if (!ac) return;
        ac->cardinality = (int32_t)bm_words_positions(w, ac->array);
        ra_append(&b->high_low_container, key, ac, ARRAY_CONTAINER_TYPE_CODE);
        return;
    }
    bitset_container_t *bc = bitset_container_create();
    if (!bc) return;
    memcpy(bc->array, w, BM_WORDS * sizeof(uint64_t));
    bc->cardinality = (int32_t)card;
    ra_append(&b->high_low_container, key, bc, BITSET_CONTAINER_TYPE_CODE);
}

void bm_append_values(roaring_bitmap_t *b, uint16_t key, const uint16_t *vals, uint32_t n)
{
    if (n <= DEFAULT_MAX_SIZE) {
        array_container_t *ac = array_container_create_given_capacity((int32_t)n);
        if (!ac) return;
        memcpy(ac->array, vals, n * sizeof *vals);
        ac->cardinality = (int32_t)n;
        ra_append(&b->high_low_container, key, ac, ARRAY_CONTAINER_TYPE_CODE);
        return;
    }
    bitset_container_t *bc = bitset_container_create();
    if (!bc) return;
    for (uint32_t k = 0; k < n; k++) bc->array[vals[k] >> 6] |= UINT64_C(1) << (vals[k] & 63);
    bc->cardinality = (int32_t)n;
    ra_append(&b->high_low_container, key, bc, BITSET_CONTAINER_TYPE_CODE);
}

uint32_t bm_chunk_select(const roaring_bitmap_t *b, int i, const uint64_t *w, uint16_t *out)
{
    uint32_t m = bm_chunk_values(b, i, out), n = 0;
    for (uint32_t k = 0; k < m; k++) {
        uint16_t v = out[k];
        out[n] = v;
        n += (uint32_t)(w[v >> 6] >> (v & 63) & 1);
    }
    return n;
}

/*
 * store.c — schema, rows, columns, dictionaries (see store.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mremap */
#endif
#include "store.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#define XXH_INLINE_ALL /* header-only: the engine library links no xxhash */
#include <xxhash.h>

#include "bm.h"
#include "fold.h"
#include "value.h"

/* ---- anonymous mappings --------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
/* Under AddressSanitizer columns come from its allocator, so every column
 * access is bounds-checked (and no raw mapping meets stale shadow memory). */
void *col_alloc(size_t bytes) { return calloc(1, bytes ? bytes : 1); }

void *col_grow(void *p, size_t old_bytes, size_t new_bytes)
{
    if (!p) return col_alloc(new_bytes);
    char *q = realloc(p, new_bytes ? new_bytes : 1);
    if (q && new_bytes > old_bytes) memset(q + old_bytes, 0, new_bytes - old_bytes);
    return q;
}

void col_free(void *p, size_t bytes)
{
    (void)bytes;
    free(p);
}

void *table_alloc(size_t bytes) { return col_alloc(bytes); }
void *table_grow(void *p, size_t old_bytes, size_t new_bytes) { return col_grow(p, old_bytes, new_bytes); }
#else
static bool huge_columns;
static pthread_once_t huge_columns_once = PTHREAD_ONCE_INIT;

static void huge_columns_init(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    huge_columns = t && strstr(t, "glibc.malloc.hugetlb=1") != NULL;
}

/* Columns follow glibc's huge-page policy for the heap (see store.h). */
static void col_advise(void *p, size_t bytes)
{
    pthread_once(&huge_columns_once, huge_columns_init);
    if (huge_columns && bytes >= COL_HUGE_MIN_BYTES) madvise(p, bytes, MADV_HUGEPAGE);
}

void *col_alloc(size_t bytes)
{
    if (bytes == 0) bytes = 1;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    col_advise(p, bytes);
    return p;
}

void *col_grow(void *p, size_t old_bytes, size_t new_bytes)
{
    if (!p) return col_alloc(new_bytes);
    if (old_bytes == 0) old_bytes = 1;
    void *q = mremap(p, old_bytes, new_bytes, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return NULL;
    col_advise(q, new_bytes);
    return q;
}

void col_free(void *p, size_t bytes)
{
    if (p) munmap(p, bytes ? bytes : 1);
}

void *table_alloc(size_t bytes)
{
    void *p = col_alloc(bytes);
    if (p && bytes >= TABLE_HUGE_MIN_BYTES) madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

void *table_grow(void *p, size_t old_bytes, size_t new_bytes)
{
    void *q = col_grow(p, old_bytes, new_bytes);
    if (q && new_bytes >= TABLE_HUGE_MIN_BYTES) madvise(q, new_bytes, MADV_HUGEPAGE);
    return q;
}
#endif

/* True when the NUL-terminated z is exactly the len bytes s (which may hold
 * NUL bytes: then never; z is read no further than its end or len + 1). */
static inline bool str_is(const char *z, const char *s, size_t len)
{
    return strnlen(z, len + 1) == len && memcmp(z, s, len) == 0;
}

/* ---- hashing -------------------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* Dictionary and text-dictionary keys: XXH3, ~5x faster than a byte-wise
 * FNV on the 10-30 byte values contacts hold (nothing stores these hashes:
 * tables are rebuilt on load). */
static uint64_t hash_bytes(const char *s, size_t n) { return XXH3_64bits(s, n); }

uint32_t store_bucket_of(uint64_t id) { return (uint32_t)(mix64(id + UINT64_C(0x9e3779b97f4a7c15)) % 10000); }

/* ---- dict ----------------------------------------------------------------- */

static int dict_rehash(dict *d, uint32_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s) return SEGDB_ENOMEM;
    for (uint32_t c = 1; c < d->n; c++) {
        uint64_t h = hash_bytes(d->folded[c], strlen(d->folded[c]));
        uint32_t i = (uint32_t)h & (nslots - 1);
        while (s[i]) i = (i + 1) & (nslots - 1);
        s[i] = c;
    }
    free(d->slots);
    d->slots = s;
    d->nslots = nslots;
    return SEGDB_OK;
}

uint32_t dict_find(const dict *d, const char *folded, size_t len)
{
    if (!d->nslots) return 0;
    uint32_t i = (uint32_t)hash_bytes(folded, len) & (d->nslots - 1);
    while (d->slots[i]) {
        uint32_t c = d->slots[i];
        if (strlen(d->folded[c]) == len && memcmp(d->folded[c], folded, len) == 0) return c;
        i = (i + 1) & (d->nslots - 1);
    }
    return 0;
}

static uint32_t dict_add_folded(dict *d, const char *display, size_t dlen, const char *folded, size_t flen)
{
    if (d->n == 0) d->n = 1;
    if (d->n + 1 > d->cap) {
        uint32_t nc = d->cap ? d->cap * 2 : 8;
        char **a = realloc(d->display, nc * sizeof *a);
        if (!a) return 0;
        d->display = a;
        char **b = realloc(d->folded, nc * sizeof *b);
        if (!b) return 0;
        d->folded = b;
        roaring_bitmap_t **m = realloc(d->bm, nc * sizeof *m);
        if (!m) return 0;
        d->bm = m;
        d->cap = nc;
    }
    if ((d->n + 1) * 2 > d->nslots && dict_rehash(d, d->nslots ? d->nslots * 2 : 16)) return 0;
    uint32_t c = d->n;
    d->display[c] = strndup(display, dlen);
    d->folded[c] = strndup(folded, flen);
    d->bm[c] = roaring_bitmap_create();
    if (!d->display[c] || !d->folded[c] || !d->bm[c]) {
        free(d->display[c]);
        free(d->folded[c]);
        if (d->bm[c]) roaring_bitmap_free(d->bm[c]);
        return 0;
    }
    d->n++;
    uint32_t i = (uint32_t)hash_bytes(folded, flen) & (d->nslots - 1);
    while (d->slots[i]) i = (i + 1) & (d->nslots - 1);
    d->slots[i] = c;
    return c;
}

static uint32_t dict_intern_folding(dict *d, const char *s, size_t len);

uint32_t dict_intern(dict *d, const char *s, size_t len)
{
    /* a spelling seen before maps straight to its code: no folding (the
     * entry is a guess from the hash, confirmed against the display text) */
    uint64_t hs = hash_bytes(s, len);
    spelling *e = d->spell ? &d->spell[hs & (DICT_SPELLINGS - 1)] : NULL;
    /* e->len is the display text's length: memcmp stays inside it */
    if (e && e->code && e->code < d->n && e->h == hs && e->len == len && memcmp(d->display[e->code], s, len) == 0)
        return e->code;
    uint32_t c = dict_intern_folding(d, s, len);
    if (c && !d->spell) d->spell = calloc(DICT_SPELLINGS, sizeof *d->spell);
    if (c && d->spell && len <= UINT32_MAX && str_is(d->display[c], s, len))
        d->spell[hs & (DICT_SPELLINGS - 1)] = (spelling){.h = hs, .code = c, .len = (uint32_t)len};
    return c;
}

static uint32_t dict_intern_folding(dict *d, const char *s, size_t len)
{
    char stackbuf[256];
    size_t cap = fold_max_len(len) + 1;
    char *f = cap <= sizeof stackbuf ? stackbuf : malloc(cap);
    if (!f) return 0;
    size_t flen = fold_text(s, len, f);
    uint32_t c = dict_find(d, f, flen);
    if (!c) c = dict_add_folded(d, s, len, f, flen);
    if (f != stackbuf) free(f);
    return c;
}

static void dict_free(dict *d)
{
    free(d->spell);
    for (uint32_t c = 1; c < d->n; c++) {
        free(d->display[c]);
        free(d->folded[c]);
        roaring_bitmap_free(d->bm[c]);
    }
    free(d->display);
    free(d->folded);
    free(d->bm);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

/* ---- textdict ------------------------------------------------------------- */

char *store_text_fold_into(const field *f, const char *s, size_t len, char *out, size_t *out_len)
{
    size_t n;
    switch (f->tmode) {
    case TEXT_EMAIL: n = fold_lower_ascii(s, len, out); break;
    case TEXT_PHONE: n = fold_phone(s, len, out); out[n] = 0; break;
    case TEXT_EXACT: memcpy(out, s, len); out[len] = 0; n = len; break;
    default: n = fold_text(s, len, out); break;
    }
    *out_len = n;
    return out;
}

char *store_text_fold(const field *f, const char *s, size_t len, size_t *out_len)
{
    char *out;
    size_t n;
    switch (f->tmode) {
    case TEXT_EMAIL:
        out = malloc(len + 1);
        if (!out) return NULL;
        n = fold_lower_ascii(s, len, out);
        break;
    case TEXT_PHONE:
        out = malloc(len + 3);
        if (!out) return NULL;
        n = fold_phone(s, len, out);
        out[n] = 0;
        break;
    case TEXT_EXACT:
        out = strndup(s, len);
        if (!out) return NULL;
        n = len;
        break;
    default:
        out = malloc(fold_max_len(len) + 1);
        if (!out) return NULL;
        n = fold_text(s, len, out);
        break;
    }
    if (out_len) *out_len = n;
    return out;
}

static int arena_put(char **arena, uint64_t *len, uint64_t *cap, const char *s, size_t n, uint32_t *off)
{
    if (*len + n + 1 > UINT32_MAX) return SEGDB_ENOMEM;
    if (*len + n + 1 > *cap) {
        uint64_t nc = *cap ? *cap : 4096;
        while (nc < *len + n + 1) nc *= 2;
        if (nc > (uint64_t)UINT32_MAX + 1) nc = (uint64_t)UINT32_MAX + 1;
        char *a = table_grow(*arena, *cap, nc);
        if (!a) return SEGDB_ENOMEM;
        *arena = a;
        *cap = nc;
    }
    memcpy(*arena + *len, s, n);
    (*arena)[*len + n] = 0;
    *off = (uint32_t)*len;
    *len += n + 1;
    return SEGDB_OK;
}

/* A text-dictionary slot holds the folded value's 32-bit hash tag next to
 * its code, so probing compares tags and touches a string only on a likely
 * match (new unique values, like emails, are inserted without reading any). */
#define TD_CODE_BITS 27u                          /* up to 134M distinct values per field */
#define TD_CODE_MASK ((UINT32_C(1) << TD_CODE_BITS) - 1)
#define TD_TAG(h) ((uint32_t)((h) >> 59) << TD_CODE_BITS) /* 5 hash bits above the code */
static inline uint32_t td_slot(uint64_t h, uint32_t code) { return TD_TAG(h) | code; }
/* The hash bits a code keeps (td->hkey): the tag over the low 27 bits, which
 * index any table of up to 2^27 slots. */
static inline uint32_t td_hkey(uint64_t h) { return TD_TAG(h) | ((uint32_t)h & TD_CODE_MASK); }
#define TD_HKEY_MAX_SLOTS (UINT32_C(1) << TD_CODE_BITS)

/* Rebuilds run over millions of values whose slots are random cache lines:
 * hash a batch first and prefetch its slots, then insert the batch. */
#define REHASH_BATCH 16

/* A new slot table of nslots for the codes. Each code's hash comes from
 * td->hkey when the table is small enough for its bits (no string is read:
 * a rehash of millions of values used to read every one, while the other
 * thread ran out of jobs), else from its folded string; with from_strings,
 * always from the string, and hkey is filled in (a snapshot's dictionary). */
static int td_rehash(textdict *td, uint32_t nslots, bool from_strings)
{
    uint32_t *s = table_alloc((size_t)nslots * sizeof *s);
    uint64_t *tail = calloc(((size_t)td->n + 64) / 64, sizeof *tail);
    if (!s || !tail) { col_free(s, (size_t)nslots * sizeof *s); free(tail); return SEGDB_ENOMEM; }
    /* re-insert the head of each folded chain (codes no chain points to) */
    for (uint32_t k = 0; k < td->chain_slots; k++) {
        uint32_t nx = td->chain_keys[k] ? td->chain_vals[k] : 0;
        if (nx) tail[nx >> 6] |= UINT64_C(1) << (nx & 63);
    }
    uint32_t mask = nslots - 1, codes[REHASH_BATCH];
    uint64_t hashes[REHASH_BATCH];
    bool keyed = !from_strings && nslots <= TD_HKEY_MAX_SLOTS;
    for (uint32_t c = 1; c < td->n;) {
        uint32_t nb = 0;
        for (; c < td->n && nb < REHASH_BATCH; c++) {
            if (tail[c >> 6] >> (c & 63) & 1) continue;
            codes[nb] = c;
            if (keyed) {
                /* td_slot and the index read only these bits of the hash */
                uint32_t k = td->hkey[c];
                hashes[nb] = (uint64_t)(k >> TD_CODE_BITS) << 59 | (k & TD_CODE_MASK);
            } else {
                const char *f = td->fold + td->fold_off[c];
                hashes[nb] = hash_bytes(f, strlen(f));
                if (from_strings) td->hkey[c] = td_hkey(hashes[nb]);
            }
            __builtin_prefetch(&s[(uint32_t)hashes[nb] & mask], 1);
            nb++;
        }
        for (uint32_t b = 0; b < nb; b++) {
            uint32_t i = (uint32_t)hashes[b] & mask;
            while (s[i]) i = (i + 1) & mask;
            s[i] = td_slot(hashes[b], codes[b]);
        }
    }
    free(tail);
    col_free(td->slots, (size_t)td->nslots * sizeof *td->slots);
    td->slots = s;
    td->nslots = nslots;
    return SEGDB_OK;
}

/* textdict_find with the folded value's hash_bytes already computed. */
static uint32_t textdict_find_h(const textdict *td, const char *folded, size_t len, uint64_t h)
{
    if (!td->nslots) return 0;
    uint32_t tag = TD_TAG(h);
    uint32_t i = (uint32_t)h & (td->nslots - 1);
    while (td->slots[i]) {
        uint32_t sl = td->slots[i];
        if ((sl & ~TD_CODE_MASK) == tag) {
            uint32_t c = sl & TD_CODE_MASK;
            const char *g = td->fold + td->fold_off[c];
            if (str_is(g, folded, len)) return c;
        }
        i = (i + 1) & (td->nslots - 1);
    }
    return 0;
}

uint32_t textdict_find(const textdict *td, const char *folded, size_t len)
{
    return td->nslots ? textdict_find_h(td, folded, len, hash_bytes(folded, len)) : 0;
}

uint32_t td_next(const textdict *td, uint32_t code)
{
    if (!td->chain_n) return 0;
    uint32_t mask = td->chain_slots - 1;
    for (uint32_t i = (uint32_t)mix64(code) & mask; td->chain_keys[i]; i = (i + 1) & mask)
        if (td->chain_keys[i] == code) return td->chain_vals[i];
    return 0;
}

int td_set_next(textdict *td, uint32_t code, uint32_t next)
{
    if ((td->chain_n + 1) * 2 > td->chain_slots) {
        uint32_t ns = td->chain_slots ? td->chain_slots * 2 : 64;
        uint32_t *k = calloc(ns, sizeof *k), *v = calloc(ns, sizeof *v);
        if (!k || !v) { free(k); free(v); return SEGDB_ENOMEM; }
        for (uint32_t j = 0; j < td->chain_slots; j++) {
            if (!td->chain_keys[j]) continue;
            uint32_t i = (uint32_t)mix64(td->chain_keys[j]) & (ns - 1);
            while (k[i]) i = (i + 1) & (ns - 1);
            k[i] = td->chain_keys[j];
            v[i] = td->chain_vals[j];
        }
        free(td->chain_keys);
        free(td->chain_vals);
        td->chain_keys = k;
        td->chain_vals = v;
        td->chain_slots = ns;
    }
    uint32_t mask = td->chain_slots - 1, i = (uint32_t)mix64(code) & mask;
    while (td->chain_keys[i] && td->chain_keys[i] != code) i = (i + 1) & mask;
    if (!td->chain_keys[i]) td->chain_n++;
    td->chain_keys[i] = code;
    td->chain_vals[i] = next;
    return SEGDB_OK;
}

static int td_grow_codes(textdict *td)
{
    uint32_t nc = td->cap ? td->cap * 2 : 64;
    uint32_t **arrs[] = {&td->orig_off, &td->fold_off, &td->refs, &td->last_row, &td->multi, &td->hkey};
    for (size_t k = 0; k < sizeof arrs / sizeof *arrs; k++) {
        uint32_t *a = table_grow(*arrs[k], (size_t)td->cap * 4, (size_t)nc * 4);
        if (!a) return SEGDB_ENOMEM;
        *arrs[k] = a;
    }
    td->cap = nc;
    return SEGDB_OK;
}

static const char *td_orig(const textdict *td, uint32_t c)
{
    return td->orig_off[c] == UINT32_MAX ? td->fold + td->fold_off[c] : td->orig + td->orig_off[c];
}

const char *store_text_orig(const textdict *td, uint32_t c) { return td_orig(td, c); }

/* Code for an original value (folded given, with its hash_bytes h), creating
 * it when new. 0 = ENOMEM. */
static uint32_t td_intern(textdict *td, const char *s, size_t len, const char *f, size_t flen, uint64_t h)
{
    if (td->n == 0) td->n = 1;
    uint32_t head = textdict_find_h(td, f, flen, h);
    for (uint32_t c = head; c; c = td_next(td, c)) {
        const char *o = td_orig(td, c);
        if (str_is(o, s, len)) return c;
    }
    if (td->n + 1 > TD_CODE_MASK) return 0; /* full: reported as out of memory */
    if (td->n + 1 > td->cap && td_grow_codes(td)) return 0;
    if ((td->n + 1) * 4 > td->nslots * 3 && td_rehash(td, td->nslots ? td->nslots * 2 : 64, false)) return 0;
    uint32_t c = td->n;
    if (arena_put(&td->fold, &td->fold_len, &td->fold_cap, f, flen, &td->fold_off[c])) return 0;
    if (len == flen && memcmp(s, f, len) == 0) {
        td->orig_off[c] = UINT32_MAX; /* same as folded */
    } else if (arena_put(&td->orig, &td->orig_len, &td->orig_cap, s, len, &td->orig_off[c])) {
        return 0;
    }
    td->refs[c] = 0;
    td->last_row[c] = UINT32_MAX;
    td->multi[c] = 0;
    td->hkey[c] = td_hkey(h);
    td->n++;
    if (head) {
        /* append to the chain of codes sharing this folded value */
        uint32_t t = head;
        for (uint32_t nx; (nx = td_next(td, t)) != 0;) t = nx;
        if (td_set_next(td, t, c)) return 0;
    } else {
        uint32_t i = (uint32_t)h & (td->nslots - 1);
        while (td->slots[i]) i = (i + 1) & (td->nslots - 1);
        td->slots[i] = td_slot(h, c);
    }
    return c;
}

/* ---- posting lists of shared text values ---- */

void tpost_each(const tpost *p, bool (*fn)(uint32_t row, void *ctx), void *ctx)
{
    if (p->bm) {
        roaring_iterate(p->bm, fn, ctx);
        return;
    }
    for (uint32_t i = 0; i < p->n; i++)
        if (!fn(p->rows[i], ctx)) return;
}

static uint32_t tpost_lower(const tpost *p, uint32_t row)
{
    uint32_t lo = 0, hi = p->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->rows[mid] < row) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Room for `more` rows in an array posting list that stays an array
 * (store_text_settle knows how many rows a value gains: one allocation, not
 * one per doubling). SEGDB_ENOMEM. */
static int tpost_reserve(tpost *p, uint32_t more)
{
    if (p->bm || (uint64_t)p->n + more > TPOST_MAX_ARRAY || p->n + more <= p->cap) return SEGDB_OK;
    uint32_t *a = realloc(p->rows, (p->n + more) * sizeof *a);
    if (!a) return SEGDB_ENOMEM;
    p->rows = a;
    p->cap = p->n + more;
    return SEGDB_OK;
}

static int tpost_add(tpost *p, uint32_t row)
{
    if (p->bm) {
        bm_add(p->bm, row);
        return SEGDB_OK;
    }
    if (p->n == TPOST_MAX_ARRAY) {
        roaring_bitmap_t *b = roaring_bitmap_of_ptr(p->n, p->rows);
        if (!b) return SEGDB_ENOMEM;
        roaring_bitmap_add(b, row);
        free(p->rows);
        p->rows = NULL;
        p->n = p->cap = 0;
        p->bm = b;
        return SEGDB_OK;
    }
    if (p->n == p->cap) {
        uint32_t nc = p->cap ? p->cap * 2 : 4;
        uint32_t *a = realloc(p->rows, nc * sizeof *a);
        if (!a) return SEGDB_ENOMEM;
        p->rows = a;
        p->cap = nc;
    }
    uint32_t pos = (p->n && p->rows[p->n - 1] < row) ? p->n : tpost_lower(p, row);
    if (pos < p->n && p->rows[pos] == row) return SEGDB_OK;
    memmove(p->rows + pos + 1, p->rows + pos, (p->n - pos) * sizeof *p->rows);
    p->rows[pos] = row;
    p->n++;
    return SEGDB_OK;
}

static void tpost_remove(tpost *p, uint32_t row)
{
    if (p->bm) {
        roaring_bitmap_remove(p->bm, row);
        return;
    }
    uint32_t pos = tpost_lower(p, row);
    if (pos < p->n && p->rows[pos] == row) {
        memmove(p->rows + pos, p->rows + pos + 1, (p->n - pos - 1) * sizeof *p->rows);
        p->n--;
    }
}

static void td_free(textdict *td, uint32_t rows_cap)
{
    if (!td) return;
    col_free(td->orig, td->orig_cap);
    col_free(td->fold, td->fold_cap);
    col_free(td->orig_off, (size_t)td->cap * 4);
    col_free(td->fold_off, (size_t)td->cap * 4);
    col_free(td->refs, (size_t)td->cap * 4);
    col_free(td->last_row, (size_t)td->cap * 4);
    free(td->chain_keys);
    free(td->chain_vals);
    col_free(td->multi, (size_t)td->cap * 4);
    col_free(td->hkey, (size_t)td->cap * 4);
    for (uint32_t i = 0; i < td->nposts; i++) {
        free(td->posts[i].rows);
        if (td->posts[i].bm) roaring_bitmap_free(td->posts[i].bm);
    }
    free(td->posts);
    col_free(td->row_code, (size_t)rows_cap * 4);
    col_free(td->slots, (size_t)td->nslots * sizeof *td->slots);
    free(td->spell);
    if (td->pending) roaring_bitmap_free(td->pending);
    free(td);
}

/* ---- schema --------------------------------------------------------------- */

static const char *const GENDER_MEMBERS[] = {"male", "female", "other", "unknown"};
static const char *const TYPE_MEMBERS[] = {"visitor", "lead", "customer"};
static const char *const STATUS_MEMBERS[] = {"never_subscribed", "subscribed", "unsubscribed"};
static const char *const REL_MEMBERS[] = {"new", "approached", "hot", "potential", "lost", "won", "dont_forget"};
static const char *const BOOL_MEMBERS[] = {"no", "yes"};

static const uint8_t SHIFTS_TIME[] = {20, 23, 26}; /* 12 days, 97 days, 2.1 years */
static const uint8_t SHIFTS_DATE[] = {5, 8, 11}; /* 32 days, 256 days, 5.6 years */
static const uint8_t SHIFTS_INT[] = {0, 5, 10, 20, 40};
static const uint8_t SHIFTS_NUMBER[] = {44, 50, 56};

/* The range index's keys of rows (rindex_create): one loop per column kind. */
static void field_keys_of(const void *ctx, const uint32_t *rows, size_t n, uint64_t *keys)
{
    const field *f = ctx;
    if (f->kind == SEGDB_KIND_NUMBER) {
        for (size_t i = 0; i < n; i++) keys[i] = rkey_double(f->f64[rows[i]]);
    } else if (f->ids_ref) {
        const uint64_t *ids = *f->ids_ref;
        for (size_t i = 0; i < n; i++) keys[i] = rkey_int(store_bucket_of(ids[rows[i]]));
    } else if (f->i8) {
        for (size_t i = 0; i < n; i++) keys[i] = rkey_int(f->i8[rows[i]]);
    } else if (f->i16) {
        for (size_t i = 0; i < n; i++) keys[i] = rkey_int(f->i16[rows[i]]);
    } else if (f->i32) {
        for (size_t i = 0; i < n; i++) keys[i] = rkey_int(f->i32[rows[i]]);
    } else {
        for (size_t i = 0; i < n; i++) keys[i] = rkey_int(f->i64[rows[i]]);
    }
}

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)tolower((unsigned char)s[i])) * UINT64_C(1099511628211);
    return mix64(h);
}

static int names_rehash(segdb_t *db, uint32_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s) return SEGDB_ENOMEM;
    for (uint32_t k = 0; k < db->nfields; k++) {
        const char *nm = db->fields[k]->name;
        uint32_t i = (uint32_t)name_hash(nm, strlen(nm)) & (nslots - 1);
        while (s[i]) i = (i + 1) & (nslots - 1);
        s[i] = k + 1;
    }
    free(db->name_slots);
    db->name_slots = s;
    db->name_nslots = nslots;
    return SEGDB_OK;
}

field *store_field(segdb_t *db, const char *name, size_t len)
{
    if (!db->name_nslots) return NULL;
    uint32_t i = (uint32_t)name_hash(name, len) & (db->name_nslots - 1);
    while (db->name_slots[i]) {
        field *f = db->fields[db->name_slots[i] - 1];
        if (strlen(f->name) == len && strncasecmp(f->name, name, len) == 0) return f;
        i = (i + 1) & (db->name_nslots - 1);
    }
    return NULL;
}

static int add_field_raw(segdb_t *db, const char *name, segdb_kind kind, field **out)
{
    if (db->nfields == db->fields_cap) {
        uint32_t nc = db->fields_cap ? db->fields_cap * 2 : 64;
        field **a = realloc(db->fields, nc * sizeof *a);
        if (!a) return SEGDB_ENOMEM;
        db->fields = a;
        db->fields_cap = nc;
    }
    if ((db->nfields + 1) * 2 > db->name_nslots && names_rehash(db, db->name_nslots ? db->name_nslots * 2 : 128))
        return SEGDB_ENOMEM;
    field *f = calloc(1, sizeof *f);
    if (!f) return SEGDB_ENOMEM;
    snprintf(f->name, sizeof f->name, "%s", name);
    for (char *p = f->name; *p; p++) *p = (char)tolower((unsigned char)*p);
    f->kind = kind;
    f->id = db->nfields;
    f->present = roaring_bitmap_create();
    if (!f->present) { free(f); return SEGDB_ENOMEM; }
    const uint8_t *shifts = NULL;
    uint32_t nl = 0;
    switch (kind) {
    case SEGDB_KIND_TIME: shifts = SHIFTS_TIME; nl = sizeof SHIFTS_TIME; break;
    case SEGDB_KIND_DATE: shifts = SHIFTS_DATE; nl = sizeof SHIFTS_DATE; break;
    case SEGDB_KIND_INTEGER: shifts = SHIFTS_INT; nl = sizeof SHIFTS_INT; break;
    case SEGDB_KIND_NUMBER: shifts = SHIFTS_NUMBER; nl = sizeof SHIFTS_NUMBER; break;
    case SEGDB_KIND_TEXT:
        f->text = calloc(1, sizeof *f->text);
        if (!f->text) { roaring_bitmap_free(f->present); free(f); return SEGDB_ENOMEM; }
        break;
    case SEGDB_KIND_BOOL:
        f->members = BOOL_MEMBERS;
        f->nmembers = 2;
        break;
    default: break;
    }
    if (shifts) {
        f->ridx = rindex_create(shifts, nl, field_keys_of, f);
        if (!f->ridx) { roaring_bitmap_free(f->present); free(f); return SEGDB_ENOMEM; }
    }
    db->fields[db->nfields++] = f;
    uint32_t i = (uint32_t)name_hash(f->name, strlen(f->name)) & (db->name_nslots - 1);
    while (db->name_slots[i]) i = (i + 1) & (db->name_nslots - 1);
    db->name_slots[i] = f->id + 1;
    if (out) *out = f;
    return SEGDB_OK;
}

int store_init(segdb_t *db)
{
    static const struct { const char *name; segdb_kind kind; } B[F_BUILTIN_COUNT] = {
        {"id", SEGDB_KIND_ID}, {"identifier", SEGDB_KIND_TEXT}, {"name", SEGDB_KIND_TEXT},
        {"email", SEGDB_KIND_TEXT}, {"phone", SEGDB_KIND_TEXT}, {"address", SEGDB_KIND_TEXT},
        {"gender", SEGDB_KIND_ENUM}, {"birthday", SEGDB_KIND_DATE},
        {"birthday_month", SEGDB_KIND_INTEGER}, {"birthday_day", SEGDB_KIND_INTEGER},
        {"bucket", SEGDB_KIND_INTEGER}, {"language", SEGDB_KIND_CATEGORY},
        {"timezone", SEGDB_KIND_CATEGORY}, {"country", SEGDB_KIND_CATEGORY},
        {"city", SEGDB_KIND_CATEGORY}, {"channel", SEGDB_KIND_CATEGORY},
        {"source", SEGDB_KIND_CATEGORY}, {"type", SEGDB_KIND_ENUM}, {"status", SEGDB_KIND_ENUM},
        {"relationship", SEGDB_KIND_ENUM}, {"tags", SEGDB_KIND_TAGS}, {"groups", SEGDB_KIND_TAGS},
        {"whatsapp", SEGDB_KIND_BOOL}, {"hmac_verified", SEGDB_KIND_BOOL},
        {"created_at", SEGDB_KIND_TIME}, {"first_seen", SEGDB_KIND_TIME},
        {"last_seen", SEGDB_KIND_TIME}, {"first_contacted", SEGDB_KIND_TIME},
        {"last_contacted", SEGDB_KIND_TIME}, {"web_sessions", SEGDB_KIND_INTEGER},
        {"purchases", SEGDB_KIND_INTEGER}, {"revenue", SEGDB_KIND_NUMBER},
        {"archived", SEGDB_KIND_BOOL},
    };
    for (int k = 0; k < F_BUILTIN_COUNT; k++) {
        field *f;
        int rc = add_field_raw(db, B[k].name, B[k].kind, &f);
        if (rc) return rc;
        f->builtin = true;
    }
    db->fields[F_IDENTIFIER]->tmode = TEXT_EXACT;
    db->fields[F_EMAIL]->tmode = TEXT_EMAIL;
    db->fields[F_PHONE]->tmode = TEXT_PHONE;
    db->fields[F_BIRTHDAY_MONTH]->derived = true;
    db->fields[F_BIRTHDAY_DAY]->derived = true;
    db->fields[F_BUCKET]->derived = true;
    db->fields[F_BUCKET]->ids_ref = &db->ids; /* computed from the id: no column */
    /* 10,000 exact buckets would cost a container per chunk each: start at 64-wide
     * buckets and decide the edges from the id's hash */
    static const uint8_t SHIFTS_BUCKET[] = {6, 10, 14};
    rindex_free(db->fields[F_BUCKET]->ridx);
    db->fields[F_BUCKET]->ridx = rindex_create(SHIFTS_BUCKET, 3, field_keys_of, db->fields[F_BUCKET]);
    if (!db->fields[F_BUCKET]->ridx) return SEGDB_ENOMEM;
    /* 1-12 and 1-31: a byte column and one exact bucket per value */
    static const uint8_t SHIFTS_SMALL[] = {0};
    for (int k = F_BIRTHDAY_MONTH; k <= F_BIRTHDAY_DAY; k++) {
        field *f = db->fields[k];
        rindex_free(f->ridx);
        f->ridx = rindex_create(SHIFTS_SMALL, 1, field_keys_of, f);
        if (!f->ridx) return SEGDB_ENOMEM;
        f->i8 = col_alloc(1); /* marks the byte column; sized by grow_rows */
        if (!f->i8) return SEGDB_ENOMEM;
    }
    db->fields[F_ID]->derived = true;
    struct { int f; const char *const *m; uint32_t n; } E[] = {
        {F_GENDER, GENDER_MEMBERS, 4}, {F_TYPE, TYPE_MEMBERS, 3},
        {F_STATUS, STATUS_MEMBERS, 3}, {F_RELATIONSHIP, REL_MEMBERS, 7},
    };
    for (size_t k = 0; k < sizeof E / sizeof *E; k++) {
        db->fields[E[k].f]->members = E[k].m;
        db->fields[E[k].f]->nmembers = E[k].n;
    }
    /* enum and bool dictionaries hold their members as codes 1..n in order */
    for (uint32_t k = 0; k < db->nfields; k++) {
        field *f = db->fields[k];
        if (f->kind != SEGDB_KIND_ENUM && f->kind != SEGDB_KIND_BOOL) continue;
        for (uint32_t m = 0; m < f->nmembers; m++)
            if (!dict_intern(&f->dict, f->members[m], strlen(f->members[m]))) return SEGDB_ENOMEM;
    }
    db->live = roaring_bitmap_create();
    db->archived = roaring_bitmap_create();
    db->universe = roaring_bitmap_create();
    if (!db->live || !db->archived || !db->universe) return SEGDB_ENOMEM;
    db->ids_ascending = true;
    return SEGDB_OK;
}

static bool valid_field_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SEGDB_MAX_FIELD_NAME_BYTES) return false;
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return false;
    return true;
}

int store_add_field(segdb_t *db, const char *name, segdb_kind kind, field **out, segdb_err *err)
{
    static const char *reserved[] = {"has", "missing", "tag", "group", "segment", "reachable", "q",
                                     "and", "or", "not", "where"};
    if (!valid_field_name(name)) {
        if (err) {
            err->code = SEGDB_EINVAL;
            snprintf(err->msg, sizeof err->msg,
                     "invalid field name '%.64s': use 1-64 letters, digits or '_', starting with a letter or '_'",
                     name);
        }
        return SEGDB_EINVAL;
    }
    for (size_t k = 0; k < sizeof reserved / sizeof *reserved; k++) {
        if (strcasecmp(name, reserved[k]) == 0) {
            if (err) {
                err->code = SEGDB_EINVAL;
                snprintf(err->msg, sizeof err->msg, "'%s' is a reserved word of the filter language", name);
            }
            return SEGDB_EINVAL;
        }
    }
    if (store_field(db, name, strlen(name))) {
        if (err) {
            err->code = SEGDB_EEXIST;
            snprintf(err->msg, sizeof err->msg, "field '%s' already exists", name);
        }
        return SEGDB_EEXIST;
    }
    if (db->nfields >= SEGDB_MAX_FIELDS) {
        if (err) {
            err->code = SEGDB_ELIMIT;
            snprintf(err->msg, sizeof err->msg, "too many fields (the limit is %u)", SEGDB_MAX_FIELDS);
        }
        return SEGDB_ELIMIT;
    }
    field *f;
    int rc = add_field_raw(db, name, kind, &f);
    if (rc) {
        if (err) {
            err->code = rc;
            snprintf(err->msg, sizeof err->msg, "out of memory");
        }
        return rc;
    }
    if (kind == SEGDB_KIND_BOOL)
        for (uint32_t m = 0; m < f->nmembers; m++)
            if (!dict_intern(&f->dict, f->members[m], strlen(f->members[m]))) return SEGDB_ENOMEM;
    if (out) *out = f;
    return SEGDB_OK;
}

char *store_field_names(segdb_t *db)
{
    size_t cap = 16;
    for (uint32_t k = 0; k < db->nfields; k++) cap += strlen(db->fields[k]->name) + 2;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t n = 0;
    for (uint32_t k = 0; k < db->nfields; k++)
        n += (size_t)snprintf(s + n, cap - n, "%s%s", k ? ", " : "", db->fields[k]->name);
    return s;
}

static void field_free(field *f, uint32_t rows_cap)
{
    col_free(f->i8, rows_cap ? rows_cap : 1);
    roaring_bitmap_free(f->present);
    dict_free(&f->dict);
    col_free(f->codes8, rows_cap);
    col_free(f->codes32, (size_t)rows_cap * 4);
    td_free(f->text, rows_cap);
    col_free(f->i64, (size_t)rows_cap * 8);
    col_free(f->i32, (size_t)rows_cap * 4);
    col_free(f->i16, (size_t)rows_cap * 2);
    col_free(f->f64, (size_t)rows_cap * 8);
    rindex_free(f->ridx);
    free(f);
}

void store_free(segdb_t *db)
{
    for (uint32_t k = 0; k < db->nfields; k++) field_free(db->fields[k], db->rows_cap);
    free(db->fields);
    free(db->name_slots);
    col_free(db->ids, (size_t)db->rows_cap * 8);
    col_free(db->id_slots, (size_t)db->id_nslots * 4);
    if (db->live) roaring_bitmap_free(db->live);
    if (db->archived) roaring_bitmap_free(db->archived);
    if (db->universe) roaring_bitmap_free(db->universe);
}

/* ---- rows ----------------------------------------------------------------- */

int64_t store_now(segdb_t *db)
{
    if (db->now_override) return db->now_override;
    if (db->opt.clock_fn) return db->opt.clock_fn(db->opt.clock_ctx);
    return (int64_t)time(NULL);
}

/* The row in [0, n) whose id (strictly ascending there) is id, or
 * UINT32_MAX. Interpolation first: ids handed out in order (1, 2, 3, ...,
 * with gaps) put the guess on or next to the row, one or two cache misses;
 * a few guesses, then bisection, bound skewed ids to ~log2(n) reads. */
static uint32_t sorted_find(const uint64_t *ids, uint32_t n, uint64_t id)
{
    if (n == 0 || id < ids[0] || id > ids[n - 1]) return UINT32_MAX;
    uint32_t lo = 0, hi = n - 1; /* ids[lo] <= id <= ids[hi] */
    for (int guess = 0; guess < 4 && hi - lo > 8; guess++) {
        uint64_t a = ids[lo], b = ids[hi];
        /* strictly ascending: b - a >= hi - lo, so m lies in [lo, hi] */
        uint32_t m = lo + (uint32_t)((unsigned __int128)(id - a) * (hi - lo) / (b - a));
        if (ids[m] == id) return m;
        if (ids[m] < id) lo = m + 1;
        else hi = m - 1;
        if (lo > hi || id < ids[lo] || id > ids[hi]) return UINT32_MAX;
    }
    while (lo < hi) {
        uint32_t m = lo + (hi - lo) / 2;
        if (ids[m] < id) lo = m + 1;
        else hi = m;
    }
    return ids[lo] == id ? lo : UINT32_MAX;
}

/* A new row `row` with this id extends the sorted part of the id map (every
 * row before it is in it, and its id is above theirs). */
static bool extends_sorted(const segdb_t *db, uint32_t row, uint64_t id)
{
    return row == db->id_sorted && (row == 0 || id > db->ids[row - 1]);
}

uint32_t store_row_of(segdb_t *db, uint64_t id)
{
    /* an id above every id ever written is new: no search (bulk loads of new contacts) */
    if (id > db->max_id) return UINT32_MAX;
    uint32_t r = sorted_find(db->ids, db->id_sorted, id);
    if (r != UINT32_MAX && bm_contains(db->live, r)) return r;
    if (!db->id_count) return UINT32_MAX;
    uint32_t mask = db->id_nslots - 1;
    uint32_t i = (uint32_t)mix64(id) & mask;
    while (db->id_slots[i]) {
        uint32_t row = db->id_slots[i] - 1;
        if (db->ids[row] == id) return row;
        i = (i + 1) & mask;
    }
    return UINT32_MAX;
}

static int id_rehash(segdb_t *db, uint32_t nslots)
{
    uint32_t *s = table_alloc((size_t)nslots * 4);
    if (!s) return SEGDB_ENOMEM;
    uint32_t mask = nslots - 1;
    /* a batch's new slots are prefetched before it is inserted (each row's
     * id is a random read too: ids are in row order, slots are not) */
    uint32_t vals[REHASH_BATCH], slot[REHASH_BATCH];
    for (uint32_t k = 0; k < db->id_nslots;) {
        uint32_t nb = 0;
        for (; k < db->id_nslots && nb < REHASH_BATCH; k++) {
            uint32_t v = db->id_slots[k];
            if (!v) continue;
            vals[nb] = v;
            slot[nb] = (uint32_t)mix64(db->ids[v - 1]) & mask;
            __builtin_prefetch(&s[slot[nb]], 1);
            nb++;
        }
        for (uint32_t b = 0; b < nb; b++) {
            uint32_t i = slot[b];
            while (s[i]) i = (i + 1) & mask;
            s[i] = vals[b];
        }
    }
    col_free(db->id_slots, (size_t)db->id_nslots * 4);
    db->id_slots = s;
    db->id_nslots = nslots;
    return SEGDB_OK;
}

/* Every per-row column of f with its element width. */
static size_t field_columns(field *f, void ***cols, size_t *widths)
{
    size_t n = 0;
    if (f->codes8) { cols[n] = (void **)&f->codes8; widths[n++] = 1; }
    if (f->codes32) { cols[n] = (void **)&f->codes32; widths[n++] = 4; }
    if (f->i64) { cols[n] = (void **)&f->i64; widths[n++] = 8; }
    if (f->i32) { cols[n] = (void **)&f->i32; widths[n++] = 4; }
    if (f->i16) { cols[n] = (void **)&f->i16; widths[n++] = 2; }
    if (f->i8) { cols[n] = (void **)&f->i8; widths[n++] = 1; }
    if (f->f64) { cols[n] = (void **)&f->f64; widths[n++] = 8; }
    if (f->text && f->text->row_code) { cols[n] = (void **)&f->text->row_code; widths[n++] = 4; }
    return n;
}

static int grow_rows(segdb_t *db, uint32_t need)
{
    if (need <= db->rows_cap) return SEGDB_OK;
    uint64_t nc = db->rows_cap ? (uint64_t)db->rows_cap * 2 : 1024;
    while (nc < need) nc *= 2;
    if (nc > UINT32_MAX) nc = UINT32_MAX;
    void *p = col_grow(db->ids, (size_t)db->rows_cap * 8, (size_t)nc * 8);
    if (!p) return SEGDB_ENOMEM;
    db->ids = p;
    for (uint32_t k = 0; k < db->nfields; k++) {
        void **cols[8];
        size_t widths[8];
        size_t m = field_columns(db->fields[k], cols, widths);
        for (size_t j = 0; j < m; j++) {
            size_t old = db->rows_cap ? (size_t)db->rows_cap * widths[j] : 1;
            void *q = col_grow(*cols[j], old, (size_t)nc * widths[j]);
            if (!q) return SEGDB_ENOMEM;
            *cols[j] = q;
        }
    }
    db->rows_cap = (uint32_t)nc;
    return SEGDB_OK;
}

int store_new_row(segdb_t *db, uint64_t id, uint32_t *row)
{
    if (db->nrows == UINT32_MAX - 1) return SEGDB_ENOMEM;
    int rc = grow_rows(db, db->nrows + 1);
    if (rc) return rc;
    bool sorted = extends_sorted(db, db->nrows, id);
    if (!sorted && (uint64_t)(db->id_count + 1) * 4 > (uint64_t)db->id_nslots * 3) {
        rc = id_rehash(db, db->id_nslots ? db->id_nslots * 2 : 1024);
        if (rc) return rc;
    }
    /* the ascending flag is about live rows: the first one is in order */
    bool alone = roaring_bitmap_is_empty(db->live);
    uint32_t r = db->nrows++;
    db->ids[r] = id;
    if (sorted) {
        db->id_sorted++;
    } else {
        uint32_t mask = db->id_nslots - 1;
        uint32_t i = (uint32_t)mix64(id) & mask;
        while (db->id_slots[i]) i = (i + 1) & mask;
        db->id_slots[i] = r + 1;
        db->id_count++;
    }
    if (!alone && id <= db->max_id) db->ids_ascending = false;
    if (id > db->max_id) db->max_id = id;
    bm_add(db->live, r);
    bm_add(db->universe, r);
    /* derived: bucket */
    store_set_int(db, db->fields[F_BUCKET], r, store_bucket_of(id));
    *row = r;
    return SEGDB_OK;
}

void store_touch_rows(segdb_t *db, field *f, uint32_t first, uint32_t n)
{
    if ((uint64_t)first + n > db->rows_cap) return;
    void **cols[8];
    size_t widths[8];
    size_t m = field_columns(f, cols, widths);
    for (size_t j = 0; j < m; j++) memset((char *)*cols[j] + (size_t)first * widths[j], 0, (size_t)n * widths[j]);
    if (f->id == F_BIRTHDAY) {
        store_touch_rows(db, db->fields[F_BIRTHDAY_MONTH], first, n);
        store_touch_rows(db, db->fields[F_BIRTHDAY_DAY], first, n);
    }
}

/* How many ids ahead store_map_rows prefetches the id map's slot. */
#define ID_AHEAD 16u

/* The id map's size once n more ids are in it: doubled from the current (or
 * 1024) until they fill at most 3/4 of it, as store_new_row grows it. */
static uint32_t id_map_size(const segdb_t *db, uint32_t n)
{
    uint64_t ns = db->id_nslots ? db->id_nslots : 1024;
    while (((uint64_t)db->id_count + n) * 4 > ns * 3) ns *= 2;
    return ns > UINT32_MAX ? UINT32_C(1) << 31 : (uint32_t)ns;
}

int store_add_rows(segdb_t *db, const uint64_t *ids, uint32_t n, uint32_t *first)
{
    *first = db->nrows;
    if (n == 0) return SEGDB_OK;
    if ((uint64_t)db->nrows + n > UINT32_MAX - 1) return SEGDB_ENOMEM;
    int rc = grow_rows(db, db->nrows + n);
    if (rc) return rc;
    /* store_map_rows grows the id map (a rehash of millions of slots is
     * worth doing on another thread), but must find room without it; ids
     * that extend its sorted part need none */
    if (!extends_sorted(db, db->nrows, ids[0])) {
        if ((uint64_t)db->id_count + n >= db->id_nslots && (rc = id_rehash(db, id_map_size(db, n)))) return rc;
        if ((uint64_t)db->id_count + n >= db->id_nslots) return SEGDB_ENOMEM; /* 2^31 slots, full */
    }
    uint32_t r0 = db->nrows;
    memcpy(db->ids + r0, ids, (size_t)n * sizeof *ids);
    db->nrows += n;
    db->max_id = ids[n - 1];
    roaring_bitmap_add_range(db->live, r0, (uint64_t)r0 + n);
    roaring_bitmap_add_range(db->universe, r0, (uint64_t)r0 + n);
    /* derived: bucket (computed from the ids; no column) */
    field *b = db->fields[F_BUCKET];
    roaring_bitmap_add_range(b->ridx->pending, r0, (uint64_t)r0 + n);
    roaring_bitmap_add_range(b->present, r0, (uint64_t)r0 + n);
    *first = r0;
    return SEGDB_OK;
}

uint64_t store_map_work(const segdb_t *db, uint32_t first, uint32_t n)
{
    if (first == db->id_sorted) return 1;
    return n + (id_map_size(db, n) != db->id_nslots ? db->id_count : 0);
}

void store_map_rows(segdb_t *db, uint32_t first, uint32_t n)
{
    /* store_add_rows only takes ids above every row's, so rows that follow
     * the sorted part extend it */
    if (first == db->id_sorted) {
        db->id_sorted += n;
        return;
    }
    /* the table store_new_row would have grown to; when there is no memory
     * for it the old one, fuller than 3/4, still has room (store_add_rows) */
    uint32_t ns = id_map_size(db, n);
    if (ns != db->id_nslots) id_rehash(db, ns);
    const uint64_t *ids = db->ids + first;
    uint32_t mask = db->id_nslots - 1;
    for (uint32_t k = 0; k < n; k++) {
        if (k + ID_AHEAD < n) __builtin_prefetch(&db->id_slots[(uint32_t)mix64(ids[k + ID_AHEAD]) & mask], 1);
        uint32_t i = (uint32_t)mix64(ids[k]) & mask;
        while (db->id_slots[i]) i = (i + 1) & mask;
        db->id_slots[i] = first + k + 1;
    }
    db->id_count += n;
}

static void id_map_remove(segdb_t *db, uint32_t row)
{
    if (row < db->id_sorted) return; /* found by search; leaving `live` unmaps it */
    uint32_t mask = db->id_nslots - 1;
    uint32_t i = (uint32_t)mix64(db->ids[row]) & mask;
    while (db->id_slots[i] && db->id_slots[i] != row + 1) i = (i + 1) & mask;
    if (!db->id_slots[i]) return;
    /* backward-shift deletion keeps probe chains intact without tombstones */
    uint32_t j = i;
    for (;;) {
        db->id_slots[i] = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (!db->id_slots[j]) { db->id_count--; return; }
            uint32_t k = (uint32_t)mix64(db->ids[db->id_slots[j] - 1]) & mask;
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
            break;
        }
        db->id_slots[i] = db->id_slots[j];
        i = j;
    }
}

void store_delete_row(segdb_t *db, uint32_t row)
{
    for (uint32_t k = 0; k < db->nfields; k++) {
        field *f = db->fields[k];
        if (f->kind == SEGDB_KIND_TAGS) store_tags_clear(db, f, row);
        else if (k != F_ARCHIVED && k != F_ID) store_clear(db, f, row);
    }
    id_map_remove(db, row);
    roaring_bitmap_remove(db->live, row);
    roaring_bitmap_remove(db->archived, row);
    roaring_bitmap_remove(db->universe, row);
}

bool store_row_live(segdb_t *db, uint32_t row) { return roaring_bitmap_contains(db->live, row); }

void store_set_archived(segdb_t *db, uint32_t row, bool archived)
{
    if (archived) {
        bm_add(db->archived, row);
        roaring_bitmap_remove(db->universe, row);
    } else {
        roaring_bitmap_remove(db->archived, row);
        bm_add(db->universe, row);
    }
}

/* ---- values --------------------------------------------------------------- */

bool store_has(const field *f, uint32_t row) { return bm_contains(f->present, row); }

static int ensure_col(segdb_t *db, void **col, size_t width)
{
    if (*col) return SEGDB_OK;
    size_t cap = db->rows_cap ? db->rows_cap : 1;
    *col = col_alloc(cap * width);
    return *col ? SEGDB_OK : SEGDB_ENOMEM;
}

static void derived_birthday(segdb_t *db, uint32_t row, bool set, int64_t days)
{
    field *m = db->fields[F_BIRTHDAY_MONTH], *d = db->fields[F_BIRTHDAY_DAY];
    if (!set) {
        store_clear(db, m, row);
        store_clear(db, d, row);
        return;
    }
    int64_t y;
    unsigned mm, dd;
    value_civil_from_days(days, &y, &mm, &dd);
    store_set_int(db, m, row, mm);
    store_set_int(db, d, row, dd);
}

void store_clear(segdb_t *db, field *f, uint32_t row)
{
    if (!bm_contains(f->present, row)) return;
    switch (f->kind) {
    case SEGDB_KIND_TEXT: {
        textdict *td = f->text;
        /* deferred rows join their values first; should that run out of
         * memory, this row at least leaves the deferred ones */
        if (store_text_settle(td) && roaring_bitmap_contains(td->pending, row)) roaring_bitmap_remove(td->pending, row);
        uint32_t c = td->row_code[row];
        if (c) {
            td->refs[c]--;
            if (td->multi[c]) tpost_remove(&td->posts[td->multi[c] - 1], row);
            else if (td->last_row[c] == row) td->last_row[c] = UINT32_MAX;
        }
        td->row_code[row] = 0;
        break;
    }
    case SEGDB_KIND_ENUM:
    case SEGDB_KIND_BOOL:
    case SEGDB_KIND_CATEGORY: {
        uint32_t c = field_code(f, row);
        if (c) roaring_bitmap_remove(f->dict.bm[c], row);
        if (f->codes8) f->codes8[row] = 0;
        else if (f->codes32) f->codes32[row] = 0;
        break;
    }
    case SEGDB_KIND_TIME:
    case SEGDB_KIND_DATE:
    case SEGDB_KIND_INTEGER:
    case SEGDB_KIND_NUMBER:
        rindex_remove(f->ridx, field_key(f, row), row);
        if (f->i64) f->i64[row] = 0;
        if (f->i32) f->i32[row] = 0;
        if (f->i16) f->i16[row] = 0;
        if (f->i8) f->i8[row] = 0;
        if (f->f64) f->f64[row] = 0;
        if (f->id == F_BIRTHDAY) derived_birthday(db, row, false, 0);
        break;
    default: break;
    }
    roaring_bitmap_remove(f->present, row);
}

static int text_attach(segdb_t *db, field *f, uint32_t row, uint32_t c);
static tpost *text_share(textdict *td, uint32_t c);

/* The code of text value s of f (folded here), created when new; 0 = ENOMEM. */
static uint32_t text_code(field *f, const char *s, size_t len)
{
    char stackbuf[512];
    size_t flen;
    char *fv = fold_max_len(len) + 3 <= sizeof stackbuf ? store_text_fold_into(f, s, len, stackbuf, &flen)
                                                       : store_text_fold(f, s, len, &flen);
    if (!fv) return 0;
    uint32_t c = td_intern(f->text, s, len, fv, flen, hash_bytes(fv, flen));
    if (fv != stackbuf) free(fv);
    return c;
}

int store_set_text(segdb_t *db, field *f, uint32_t row, const char *s, size_t len)
{
    if (ensure_col(db, (void **)&f->text->row_code, 4)) return SEGDB_ENOMEM;
    uint32_t c = text_code(f, s, len);
    return c ? text_attach(db, f, row, c) : SEGDB_ENOMEM;
}

/* Row takes text code c of f (whatever it held before leaves). */
static int text_attach(segdb_t *db, field *f, uint32_t row, uint32_t c)
{
    textdict *td = f->text;
    if (store_text_settle(td)) return SEGDB_ENOMEM;
    if (td->row_code[row] == c) return SEGDB_OK;
    store_clear(db, f, row);
    td->row_code[row] = c;
    td->refs[c]++;
    if (td->multi[c]) {
        if (tpost_add(&td->posts[td->multi[c] - 1], row)) return SEGDB_ENOMEM;
    } else if (td->refs[c] == 1) {
        td->last_row[c] = row;
    } else {
        /* a second row shares the value: keep its rows in a posting list from now on */
        tpost *p = text_share(td, c);
        if (!p || tpost_add(p, row)) return SEGDB_ENOMEM;
    }
    bm_add(f->present, row);
    return SEGDB_OK;
}

/* ---- deferred rows of text values (bulk loads) ---- */

/* A row that holds no value of f takes code c now (its code, the count, the
 * present bit) and joins c's rows (last_row or the posting list: a random
 * line per row, most of a bulk load's time for names) at the next
 * store_text_settle, which files all such rows grouped by value. */
static int text_defer(field *f, uint32_t row, uint32_t c)
{
    textdict *td = f->text;
    if (!td->pending && !(td->pending = roaring_bitmap_create())) return SEGDB_ENOMEM;
    td->row_code[row] = c;
    td->refs[c]++;
    bm_add(td->pending, row);
    bm_add(f->present, row);
    return SEGDB_OK;
}

/* store_set_text_rows' row takes code c: deferred when the row holds none
 * yet and c has rows already; the first row of a value (a new email, a new
 * phone: most of them) is its last_row at once, a line that interning c has
 * just touched. */
static int text_take(segdb_t *db, field *f, uint32_t row, uint32_t c)
{
    textdict *td = f->text;
    if (td->row_code[row]) return text_attach(db, f, row, c);
    if (td->refs[c] || td->multi[c]) return text_defer(f, row, c);
    td->row_code[row] = c;
    td->refs[c] = 1;
    td->last_row[c] = row;
    bm_add(f->present, row);
    return SEGDB_OK;
}

/* A new posting list for c holding its last_row (if any); NULL on ENOMEM. */
static tpost *text_share(textdict *td, uint32_t c)
{
    if (td->nposts == td->posts_cap) {
        uint32_t nc = td->posts_cap ? td->posts_cap * 2 : 64;
        tpost *a = realloc(td->posts, nc * sizeof *a);
        if (!a) return NULL;
        td->posts = a;
        td->posts_cap = nc;
    }
    tpost *p = &td->posts[td->nposts];
    memset(p, 0, sizeof *p);
    if (td->last_row[c] != UINT32_MAX && tpost_add(p, td->last_row[c])) return NULL;
    td->nposts++;
    td->multi[c] = td->nposts;
    td->last_row[c] = UINT32_MAX;
    return p;
}

int store_text_settle(textdict *td)
{
    if (!td || !td->pending || roaring_bitmap_is_empty(td->pending)) return SEGDB_OK;
    uint64_t n = roaring_bitmap_get_cardinality(td->pending);
    uint32_t *rows = malloc(n * sizeof *rows), *by = malloc(n * sizeof *by);
    uint32_t *start = calloc((size_t)td->n + 1, sizeof *start);
    int rc = rows && by && start ? SEGDB_OK : SEGDB_ENOMEM;
    if (!rc) {
        /* counting sort by code: each value's rows together, still ascending */
        roaring_bitmap_to_uint32_array(td->pending, rows);
        for (uint64_t i = 0; i < n; i++) start[td->row_code[rows[i]]]++;
        uint32_t sum = 0;
        for (uint32_t c = 0; c < td->n; c++) {
            uint32_t k = start[c];
            start[c] = sum;
            sum += k;
        }
        for (uint64_t i = 0; i < n; i++) by[start[td->row_code[rows[i]]]++] = rows[i];
        /* start[c] is now the end of c's rows, start[c - 1] their beginning */
        uint32_t b = start[0];
        for (uint32_t c = 1; c < td->n && !rc; c++) {
            uint32_t e = start[c];
            if (e == b) continue;
            if (!td->multi[c] && td->last_row[c] == UINT32_MAX && e - b == 1) {
                td->last_row[c] = by[b];
            } else {
                tpost *p = td->multi[c] ? &td->posts[td->multi[c] - 1] : text_share(td, c);
                rc = p ? tpost_reserve(p, e - b) : SEGDB_ENOMEM;
                for (uint32_t k = b; k < e && !rc; k++) rc = tpost_add(p, by[k]);
            }
            b = e;
        }
    }
    free(rows);
    free(by);
    free(start);
    if (!rc) roaring_bitmap_clear(td->pending);
    return rc;
}

/* store_set_text_rows works through its values as a pipeline: every value
 * passes TEXT_STAGES steps, TEXT_STEP values apart, each prefetching what the
 * next step will read, so a value's whole chain of dependent misses (slot ->
 * code -> its strings and posting list -> the list's tail) overlaps other
 * values' work instead of running one miss at a time:
 *   0  with a spelling cache: hash the value as written, prefetch its entry
 *   1  a spelling seen before: its code is the guess, prefetch the code's
 *      offsets and count; otherwise fold, hash, prefetch the slot
 *   2  probe the slot for a code with the hash's tag (a guess: the strings
 *      are not compared yet); prefetch the code's offsets and count (a
 *      spelled guess: its strings)
 *   3  prefetch the code's folded and original strings
 *   4  apply: the real lookup and intern, now mostly cache hits; a row that
 *      held no value joins its value's rows later (text_defer).
 * (The spelling cache's entry was the one miss left in front of a repeated
 * name: 40% of the name job's own time before stage 0 prefetched it.)
 * Names repeat (so their codes and strings are cold for the rare ones);
 * emails and phones are mostly new (one slot each). */
#define TEXT_STEP 4u
#define TEXT_STAGES 5u
#define TEXT_RING (TEXT_STEP * TEXT_STAGES)
#define TEXT_AHEAD_BYTES 256u /* longer values fold when their turn comes */

typedef struct text_ahead {
    char buf[TEXT_AHEAD_BYTES];
    size_t flen;
    uint64_t h;                 /* of the folded value */
    uint64_t hs;                /* of the value as written (with a spelling cache) */
    uint32_t guess;             /* a code whose slot tag matches, or the spelling's, or 0 */
    uint32_t len;               /* with spelled: the length of the guess's original */
    bool folded;                /* buf holds the folded value */
    bool spelled;               /* guess came from the spelling cache */
} text_ahead;

static void text_stage(const textdict *td, const field *f, text_ahead *t, unsigned stage, const char *val,
                       size_t len)
{
    switch (stage) {
    case 0:
        t->guess = 0;
        t->folded = t->spelled = false;
        if (td->spell) {
            t->hs = hash_bytes(val, len);
            __builtin_prefetch(&td->spell[t->hs & (TD_SPELLINGS - 1)]);
        }
        return;
    case 1:
        if (td->spell) {
            const spelling *e = &td->spell[t->hs & (TD_SPELLINGS - 1)];
            if (e->code && e->h == t->hs) {
                t->guess = e->code;
                t->len = e->len;
                t->spelled = true;
                __builtin_prefetch(&td->fold_off[t->guess]);
                __builtin_prefetch(&td->orig_off[t->guess]);
                __builtin_prefetch(&td->refs[t->guess], 1);
                return;
            }
        }
        t->folded = fold_max_len(len) + 3 <= TEXT_AHEAD_BYTES;
        if (!t->folded) return;
        store_text_fold_into(f, val, len, t->buf, &t->flen);
        t->h = hash_bytes(t->buf, t->flen);
        if (td->nslots) __builtin_prefetch(&td->slots[(uint32_t)t->h & (td->nslots - 1)], 1);
        return;
    case 2: {
        if (t->spelled) {
            /* the offsets came in at stage 1: on to the strings */
            uint32_t c = t->guess;
            __builtin_prefetch(td->fold + td->fold_off[c]);
            if (td->orig_off[c] != UINT32_MAX) __builtin_prefetch(td->orig + td->orig_off[c]);
            return;
        }
        if (t->folded && td->nslots) {
            uint32_t tag = TD_TAG(t->h), mask = td->nslots - 1;
            for (uint32_t i = (uint32_t)t->h & mask; td->slots[i]; i = (i + 1) & mask)
                if ((td->slots[i] & ~TD_CODE_MASK) == tag) {
                    t->guess = td->slots[i] & TD_CODE_MASK;
                    break;
                }
        }
        if (!t->guess) return;
        __builtin_prefetch(&td->fold_off[t->guess]);
        __builtin_prefetch(&td->orig_off[t->guess]);
        __builtin_prefetch(&td->refs[t->guess], 1);
        return;
    }
    case 3: {
        uint32_t c = t->guess;
        if (!c || t->spelled) return;
        __builtin_prefetch(td->fold + td->fold_off[c]);
        if (td->orig_off[c] != UINT32_MAX) __builtin_prefetch(td->orig + td->orig_off[c]);
        return;
    }
    default: return;
    }
}

int store_set_text_rows(segdb_t *db, field *f, const uint32_t *rows, const char *const *vals,
                        const size_t *lens, size_t n)
{
    textdict *td = f->text;
    if (ensure_col(db, (void **)&td->row_code, 4)) return SEGDB_ENOMEM;
    /* names and other folded text repeat: remember spellings (a miss costs
     * one hash); emails and phones are mostly new and fold cheaply */
    if (f->tmode == TEXT_FOLD && !td->spell && !(td->spell = calloc(TD_SPELLINGS, sizeof *td->spell)))
        return SEGDB_ENOMEM;
    text_ahead ring[TEXT_RING];
    /* step k: value k - TEXT_STEP * s is at stage s (the newest at stage 0) */
    for (size_t k = 0; k < n + TEXT_RING - TEXT_STEP; k++) {
        size_t v = k - (TEXT_STAGES - 1) * TEXT_STEP;
        if (k >= (TEXT_STAGES - 1) * TEXT_STEP) {
            text_ahead *t = &ring[v % TEXT_RING];
            /* t->guess < td->n: codes only grow; t->len is the original's length */
            const char *o = t->spelled && t->guess < td->n ? td_orig(td, t->guess) : NULL;
            int rc;
            if (o && t->len == lens[v] && memcmp(o, vals[v], lens[v]) == 0) {
                /* the code whose original is exactly this value: td_intern's answer */
                rc = text_take(db, f, rows[v], t->guess);
            } else if (t->folded) {
                uint32_t c = td_intern(td, vals[v], lens[v], t->buf, t->flen, t->h);
                if (c && td->spell && lens[v] <= UINT32_MAX)
                    td->spell[t->hs & (TD_SPELLINGS - 1)] = (spelling){.h = t->hs, .code = c, .len = (uint32_t)lens[v]};
                rc = c ? text_take(db, f, rows[v], c) : SEGDB_ENOMEM;
            } else {
                /* not folded ahead (a long value, or a spelling that proved
                 * another value's): fold it now; it still joins its value's
                 * rows later, like the others (an attach here would file
                 * every deferred row once per such value) */
                uint32_t c = text_code(f, vals[v], lens[v]);
                rc = c ? text_take(db, f, rows[v], c) : SEGDB_ENOMEM;
            }
            if (rc) return rc;
        }
        for (unsigned s = 0; s + 1 < TEXT_STAGES; s++) {
            if (k < (size_t)s * TEXT_STEP) break;
            size_t w = k - (size_t)s * TEXT_STEP;
            if (w < n) text_stage(td, f, &ring[w % TEXT_RING], s, vals[w], lens[w]);
        }
    }
    return SEGDB_OK;
}

/* A category's codes move from 8 to 32 bits when its 256th value arrives. */
static int widen_code_column(segdb_t *db, field *f)
{
    size_t cap = db->rows_cap ? db->rows_cap : 1;
    uint32_t *w = col_alloc(cap * 4);
    if (!w) return SEGDB_ENOMEM;
    if (f->codes8) {
        for (uint32_t r = 0; r < db->nrows; r++) w[r] = f->codes8[r];
        col_free(f->codes8, cap);
        f->codes8 = NULL;
    }
    f->codes32 = w;
    return SEGDB_OK;
}

int store_narrow_codes(segdb_t *db, field *f)
{
    size_t cap = db->rows_cap ? db->rows_cap : 1;
    uint8_t *n = col_alloc(cap);
    if (!n) return SEGDB_ENOMEM;
    for (uint32_t r = 0; r < db->nrows; r++) n[r] = (uint8_t)f->codes32[r];
    col_free(f->codes32, cap * 4);
    f->codes32 = NULL;
    f->codes8 = n;
    return SEGDB_OK;
}

int store_set_code(segdb_t *db, field *f, uint32_t row, uint32_t code)
{
    if (f->kind == SEGDB_KIND_CATEGORY && (f->codes32 || code > UINT8_MAX)) {
        /* most categories (cities, channels, sources) stay on 8-bit codes */
        if (!f->codes32 && widen_code_column(db, f)) return SEGDB_ENOMEM;
        if (f->codes32[row] == code && code) return SEGDB_OK;
        store_clear(db, f, row);
        f->codes32[row] = code;
    } else {
        if (ensure_col(db, (void **)&f->codes8, 1)) return SEGDB_ENOMEM;
        if (f->codes8[row] == code && code) return SEGDB_OK;
        store_clear(db, f, row);
        f->codes8[row] = (uint8_t)code;
    }
    bm_add(f->dict.bm[code], row);
    bm_add(f->present, row);
    return SEGDB_OK;
}

int store_set_code_fresh(segdb_t *db, field *f, uint32_t row, uint32_t code, bool mark)
{
    if (!f->codes8 || f->codes32 || code > UINT8_MAX) return store_set_code(db, f, row, code);
    f->codes8[row] = (uint8_t)code;
    bm_add(f->dict.bm[code], row);
    if (mark) bm_add(f->present, row);
    return SEGDB_OK;
}

void store_mark_fresh_rows(segdb_t *db, field *f, uint32_t first, uint32_t n)
{
    (void)db;
    /* (rows a fresh write sent the checked way are in them already: adding
     * a row twice, to present or to pending, leaves one) */
    roaring_bitmap_add_range(f->present, first, (uint64_t)first + n);
    if (f->ridx) roaring_bitmap_add_range(f->ridx->pending, first, (uint64_t)first + n);
}

/* Move a narrow column to the next width that holds v (16 -> 32 -> 64 bits). */
static int widen_int_column(segdb_t *db, field *f, int64_t v)
{
    size_t cap = db->rows_cap ? db->rows_cap : 1;
    if (f->i16 && v >= INT32_MIN && v <= INT32_MAX) {
        int32_t *w = col_alloc(cap * 4);
        if (!w) return SEGDB_ENOMEM;
        for (uint32_t r = 0; r < db->nrows; r++) w[r] = f->i16[r];
        col_free(f->i16, cap * 2);
        f->i16 = NULL;
        f->i32 = w;
        return SEGDB_OK;
    }
    int64_t *w = col_alloc(cap * 8);
    if (!w) return SEGDB_ENOMEM;
    for (uint32_t r = 0; r < db->nrows; r++) w[r] = f->i16 ? f->i16[r] : f->i32[r];
    if (f->i16) col_free(f->i16, cap * 2);
    if (f->i32) col_free(f->i32, cap * 4);
    f->i16 = NULL;
    f->i32 = NULL;
    f->i64 = w;
    return SEGDB_OK;
}

int store_set_int(segdb_t *db, field *f, uint32_t row, int64_t v)
{
    bool column = !f->ids_ref && !f->i8;
    bool fits16 = v >= INT16_MIN && v <= INT16_MAX, fits32 = v >= INT32_MIN && v <= INT32_MAX;
    if (column && !f->i64 && !f->i32 && !f->i16) {
        /* counts and days fit 16 bits, most times (1901-2038) 32: a fraction of the memory */
        int rc = fits16 ? ensure_col(db, (void **)&f->i16, 2)
               : fits32 ? ensure_col(db, (void **)&f->i32, 4) : ensure_col(db, (void **)&f->i64, 8);
        if (rc) return SEGDB_ENOMEM;
    }
    if (column && ((f->i16 && !fits16) || (f->i32 && !fits32)) && widen_int_column(db, f, v)) return SEGDB_ENOMEM;
    if (bm_contains(f->present, row)) {
        if (field_int(f, row) == v) return SEGDB_OK;
        store_clear(db, f, row);
    }
    if (column && f->i16) f->i16[row] = (int16_t)v;
    else if (column && f->i32) f->i32[row] = (int32_t)v;
    else if (column) f->i64[row] = v;
    else if (f->i8) f->i8[row] = (uint8_t)v;
    int rc = rindex_add(f->ridx, row);
    if (rc) return rc;
    bm_add(f->present, row);
    if (f->id == F_BIRTHDAY) derived_birthday(db, row, true, v);
    return SEGDB_OK;
}

int store_set_int_fresh(segdb_t *db, field *f, uint32_t row, int64_t v, bool mark)
{
    if (f->i16 && v >= INT16_MIN && v <= INT16_MAX) f->i16[row] = (int16_t)v;
    else if (f->i32 && v >= INT32_MIN && v <= INT32_MAX) f->i32[row] = (int32_t)v;
    else if (f->i64) f->i64[row] = v;
    else return store_set_int(db, f, row, v); /* no column yet, a wider one, or derived */
    if (mark) {
        bm_add(f->ridx->pending, row);
        bm_add(f->present, row);
    }
    if (f->id == F_BIRTHDAY) derived_birthday(db, row, true, v);
    return SEGDB_OK;
}

int store_set_number(segdb_t *db, field *f, uint32_t row, double v)
{
    if (ensure_col(db, (void **)&f->f64, 8)) return SEGDB_ENOMEM;
    if (bm_contains(f->present, row)) {
        if (f->f64[row] == v) return SEGDB_OK;
        store_clear(db, f, row);
    }
    f->f64[row] = v;
    int rc = rindex_add(f->ridx, row);
    if (rc) return rc;
    bm_add(f->present, row);
    return SEGDB_OK;
}

int store_tag_add(segdb_t *db, field *f, uint32_t row, uint32_t code)
{
    (void)db;
    bm_add(f->dict.bm[code], row);
    bm_add(f->present, row);
    return SEGDB_OK;
}

int store_tag_remove(segdb_t *db, field *f, uint32_t row, uint32_t code)
{
    (void)db;
    roaring_bitmap_remove(f->dict.bm[code], row);
    for (uint32_t c = 1; c < f->dict.n; c++)
        if (bm_contains(f->dict.bm[c], row)) return SEGDB_OK;
    roaring_bitmap_remove(f->present, row);
    return SEGDB_OK;
}

void store_tags_clear(segdb_t *db, field *f, uint32_t row)
{
    (void)db;
    if (!bm_contains(f->present, row)) return;
    for (uint32_t c = 1; c < f->dict.n; c++) roaring_bitmap_remove(f->dict.bm[c], row);
    roaring_bitmap_remove(f->present, row);
}

uint32_t store_enum_member(const field *f, const char *s, size_t len)
{
    for (uint32_t m = 0; m < f->nmembers; m++)
        if (len && f->members[m][0] == s[0] && str_is(f->members[m], s, len)) return m + 1;
    return 0;
}

uint32_t store_enum_code(const field *f, const char *s, size_t len)
{
    /* most writes spell a member exactly ("female", "lead"): no folding */
    uint32_t code = store_enum_member(f, s, len);
    if (code) return code;
    char buf[128];
    if (fold_max_len(len) + 1 > sizeof buf) return 0;
    size_t n = fold_text(s, len, buf);
    for (uint32_t m = 0; m < f->nmembers; m++) {
        /* members fold to themselves minus '_' ("dont_forget" -> "dontforget") */
        const char *fm = f->dict.folded[m + 1];
        if (strlen(fm) == n && memcmp(fm, buf, n) == 0) return m + 1;
    }
    return 0;
}

/* ---- formatting ----------------------------------------------------------- */

static bool dont_forget_due(segdb_t *db, uint32_t row)
{
    field *lc = db->fields[F_LAST_CONTACTED];
    if (!roaring_bitmap_contains(lc->present, row)) return false;
    uint8_t rel = db->fields[F_RELATIONSHIP]->codes8 ? db->fields[F_RELATIONSHIP]->codes8[row] : 0;
    if (rel == REL_WON || rel == REL_LOST) return false;
    int64_t cutoff = store_now(db) - (int64_t)db->opt.dont_forget_days * 86400;
    return field_int(lc, row) < cutoff;
}

char *store_format(segdb_t *db, const field *f, uint32_t row, size_t *len)
{
    char buf[64];
    const char *s = NULL;
    size_t n = 0;
    if (f->id == F_ID) {
        n = (size_t)snprintf(buf, sizeof buf, "%llu", (unsigned long long)db->ids[row]);
        s = buf;
    } else if (f->id == F_ARCHIVED) {
        s = roaring_bitmap_contains(db->archived, row) ? "yes" : "no";
        n = strlen(s);
    } else if (f->kind == SEGDB_KIND_TAGS) {
        if (!bm_contains(f->present, row)) return NULL;
        size_t cap = 64, used = 0;
        char *out = malloc(cap);
        if (!out) return NULL;
        for (uint32_t c = 1; c < f->dict.n; c++) {
            if (!bm_contains(f->dict.bm[c], row)) continue;
            size_t dl = strlen(f->dict.display[c]);
            if (used + dl + 2 > cap) {
                while (used + dl + 2 > cap) cap *= 2;
                char *o2 = realloc(out, cap);
                if (!o2) { free(out); return NULL; }
                out = o2;
            }
            if (used) out[used++] = ';';
            memcpy(out + used, f->dict.display[c], dl);
            used += dl;
        }
        out[used] = 0;
        if (len) *len = used;
        return out;
    } else {
        if (!bm_contains(f->present, row)) return NULL;
        switch (f->kind) {
        case SEGDB_KIND_TEXT:
            s = td_orig(f->text, f->text->row_code[row]);
            n = strlen(s);
            break;
        case SEGDB_KIND_ENUM:
        case SEGDB_KIND_BOOL: {
            uint32_t c = f->codes8[row];
            if (f->id == F_RELATIONSHIP && dont_forget_due(db, row)) c = REL_DONT_FORGET;
            s = f->members[c - 1];
            n = strlen(s);
            break;
        }
        case SEGDB_KIND_CATEGORY:
            s = f->dict.display[field_code(f, row)];
            n = strlen(s);
            break;
        case SEGDB_KIND_DATE:
            n = value_format_date(field_int(f, row), buf);
            s = buf;
            break;
        case SEGDB_KIND_TIME:
        case SEGDB_KIND_INTEGER:
            n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)field_int(f, row));
            s = buf;
            break;
        case SEGDB_KIND_NUMBER:
            n = value_format_number(f->f64[row], buf);
            s = buf;
            break;
        default: return NULL;
        }
    }
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, s, n);
    out[n] = 0;
    if (len) *len = n;
    return out;
}

/* ---- memory --------------------------------------------------------------- */

static uint64_t dict_mem(const dict *d)
{
    uint64_t n = (uint64_t)d->cap * (3 * sizeof(void *)) + (uint64_t)d->nslots * 4;
    for (uint32_t c = 1; c < d->n; c++)
        n += strlen(d->display[c]) + strlen(d->folded[c]) + 2 + roaring_bitmap_size_in_bytes(d->bm[c]);
    return n;
}

uint64_t store_mem_bytes(segdb_t *db)
{
    uint64_t n = (uint64_t)db->nrows * 8 + (uint64_t)db->id_nslots * 4;
    n += roaring_bitmap_size_in_bytes(db->live) + roaring_bitmap_size_in_bytes(db->archived) +
         roaring_bitmap_size_in_bytes(db->universe);
    for (uint32_t k = 0; k < db->nfields; k++) {
        const field *f = db->fields[k];
        n += roaring_bitmap_size_in_bytes(f->present) + dict_mem(&f->dict);
        if (f->codes8) n += db->nrows;
        if (f->codes32) n += (uint64_t)db->nrows * 4;
        if (f->i64 || f->f64) n += (uint64_t)db->nrows * 8;
        if (f->i32) n += (uint64_t)db->nrows * 4;
        if (f->i16) n += (uint64_t)db->nrows * 2;
        if (f->i8) n += db->nrows;
        if (f->text) {
            const textdict *td = f->text;
            n += td->orig_len + td->fold_len + (uint64_t)td->n * 24 + (uint64_t)td->nslots * 4 +
                 (uint64_t)td->chain_slots * 8;
            n += (uint64_t)td->posts_cap * sizeof(tpost);
            for (uint32_t i = 0; i < td->nposts; i++)
                n += td->posts[i].bm ? roaring_bitmap_size_in_bytes(td->posts[i].bm) : (uint64_t)td->posts[i].cap * 4;
            if (td->row_code) n += (uint64_t)db->nrows * 4;
        }
        n += rindex_mem_bytes(f->ridx);
    }
    return n;
}

/* ---- bulk restore (snapshot load) ---------------------------------------- */

int store_reserve_rows(segdb_t *db, uint32_t n) { return grow_rows(db, n); }

int store_text_reserve(textdict *td, uint32_t ncodes, uint64_t orig_bytes, uint64_t fold_bytes)
{
    while (td->cap < ncodes)
        if (td_grow_codes(td)) return SEGDB_ENOMEM;
    if (orig_bytes > td->orig_cap) {
        char *a = col_grow(td->orig, td->orig_cap, orig_bytes);
        if (!a) return SEGDB_ENOMEM;
        td->orig = a;
        td->orig_cap = orig_bytes;
    }
    if (fold_bytes > td->fold_cap) {
        char *a = col_grow(td->fold, td->fold_cap, fold_bytes);
        if (!a) return SEGDB_ENOMEM;
        td->fold = a;
        td->fold_cap = fold_bytes;
    }
    return SEGDB_OK;
}

int store_text_rehash(textdict *td)
{
    uint32_t nslots = 64;
    while ((uint64_t)(td->n + 1) * 4 > (uint64_t)nslots * 3) nslots *= 2;
    return td_rehash(td, nslots, true);
}

int store_rebuild_id_map(segdb_t *db)
{
    /* the sorted part: the longest run of strictly ascending ids from row 0
     * (all of them after bulk loads of new contacts in id order) */
    uint32_t k = 0;
    while (k < db->nrows && (k == 0 || db->ids[k] > db->ids[k - 1])) k++;
    db->id_sorted = k;
    /* The ascending flag is recomputed, not trusted (over every row, live or
     * not: stricter than it need be). */
    db->ids_ascending = k == db->nrows;
    for (uint32_t r = 0; r < db->nrows; r++)
        if (db->ids[r] > db->max_id) db->max_id = db->ids[r];
    /* the live rows after it go into the hash part */
    uint64_t rest = roaring_bitmap_get_cardinality(db->live) - roaring_bitmap_range_cardinality(db->live, 0, k);
    col_free(db->id_slots, (size_t)db->id_nslots * 4);
    db->id_slots = NULL;
    db->id_nslots = db->id_count = 0;
    if (rest == 0) return SEGDB_OK;
    uint32_t nslots = 1024;
    while ((rest + 1) * 4 > (uint64_t)nslots * 3) nslots *= 2;
    db->id_slots = table_alloc((size_t)nslots * 4);
    if (!db->id_slots) return SEGDB_ENOMEM;
    db->id_nslots = nslots;
    /* each probe checks for a duplicate, and so does the sorted part */
    uint32_t mask = nslots - 1, rows[REHASH_BATCH], homes[REHASH_BATCH];
    roaring_uint32_iterator_t it;
    roaring_init_iterator(db->live, &it);
    roaring_move_uint32_iterator_equalorlarger(&it, k);
    for (uint32_t nb; (nb = roaring_read_uint32_iterator(&it, rows, REHASH_BATCH)) > 0;) {
        for (uint32_t b = 0; b < nb; b++) {
            homes[b] = (uint32_t)mix64(db->ids[rows[b]]) & mask;
            __builtin_prefetch(&db->id_slots[homes[b]], 1);
        }
        for (uint32_t b = 0; b < nb; b++) {
            uint64_t id = db->ids[rows[b]];
            uint32_t i = homes[b];
            for (; db->id_slots[i]; i = (i + 1) & mask)
                if (db->ids[db->id_slots[i] - 1] == id) return SEGDB_EINVAL; /* duplicate id */
            uint32_t r = sorted_find(db->ids, k, id);
            if (r != UINT32_MAX && bm_contains(db->live, r)) return SEGDB_EINVAL;
            db->id_slots[i] = rows[b] + 1;
            db->id_count++;
        }
    }
    return SEGDB_OK;
}

int store_relayout_labels(field *f)
{
    /* serialize every bitmap into one mapping outside the heap, build all the
     * copies (fresh heap memory, in order), and only then free the originals:
     * freeing first would hand their scattered holes to the copies */
    if (f->kind != SEGDB_KIND_TAGS || f->dict.n < 2) return SEGDB_OK;
    size_t total = 0, nbms = f->dict.n - 1, made = 0;
    for (uint32_t c = 1; c < f->dict.n; c++) total += roaring_bitmap_portable_size_in_bytes(f->dict.bm[c]);
    int rc = SEGDB_ENOMEM;
    char *buf = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    roaring_bitmap_t **copies = calloc(nbms, sizeof *copies);
    if (buf == MAP_FAILED || !copies) goto done;
    size_t off = 0;
    for (uint32_t c = 1; c < f->dict.n; c++) off += roaring_bitmap_portable_serialize(f->dict.bm[c], buf + off);
    for (off = 0; made < nbms; made++) {
        if (!(copies[made] = roaring_bitmap_portable_deserialize(buf + off))) goto done;
        off += roaring_bitmap_portable_size_in_bytes(copies[made]);
    }
    for (uint32_t c = 1; c < f->dict.n; c++) {
        roaring_bitmap_free(f->dict.bm[c]); /* the copy takes its place */
        f->dict.bm[c] = copies[c - 1];
    }
    made = 0; /* every copy is in use */
    rc = SEGDB_OK;
done:
    while (made > 0) roaring_bitmap_free(copies[--made]);
    free(copies);
    if (buf != MAP_FAILED) munmap(buf, total);
    return rc;
}

void store_shrink(segdb_t *db)
{
    for (uint32_t k = 0; k < db->nfields; k++) {
        textdict *td = db->fields[k]->text;
        if (!td) continue;
        for (uint32_t i = 0; i < td->nposts; i++) {
            tpost *p = &td->posts[i];
            if (p->bm || p->cap == p->n || p->n == 0) continue;
            uint32_t *a = realloc(p->rows, p->n * sizeof *a);
            if (a) {
                p->rows = a;
                p->cap = p->n;
            }
        }
    }
}

/*
 * campaign.c — bulk campaign operations (see campaign.h): target resolution,
 * TAG/UNTAG, SET, ARCHIVE/UNARCHIVE, SPLIT, FACET, OVERLAP, REACH.
 */
#include "campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bm.h"
#include "err.h"
#include "exec.h"
#include "fold.h"
#include "group.h"
#include "note.h"
#include "ops.h"
#include "plan.h"
#include "segment.h"
#include "store.h"

void campaign_state_free(segdb_t *db)
{
    segment_state_free(db);
    group_state_free(db);
    note_state_free(db);
}

static int oom(segdb_err *err) { return err_set(err, SEGDB_ENOMEM, "out of memory"); }

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The rows a filter matches (NULL = the universe); with_archived widens the
 * universe to every live contact. */
static int filter_rows(segdb_t *db, const char *filter, bool with_archived, roaring_bitmap_t **rows, segdb_err *err)
{
    plan *p;
    int rc = plan_build(db, filter, &p, err);
    if (rc) return rc;
    if (with_archived) {
        p->with_archived = true;
        p->universe = db->live;
    }
    *rows = exec_rows(db, p, NULL);
    plan_free(p);
    return *rows ? SEGDB_OK : oom(err);
}

int campaign_target_rows(segdb_t *db, const segdb_target *t, bool with_archived, roaring_bitmap_t **rows,
                         segdb_err *err)
{
    *rows = NULL;
    bool by_ids = t && (t->ids || t->nids);
    if (!t || (by_ids && t->filter) || (!by_ids && !t->filter))
        return err_set(err, SEGDB_EINVAL, "a target is ID <id>... or WHERE <filter>");
    if (!by_ids) return filter_rows(db, t->filter, with_archived, rows, err);
    if (t->nids == 0 || !t->ids) return err_set(err, SEGDB_EINVAL, "ID needs at least one id");
    if (t->nids > db->opt.max_id_list)
        return err_set(err, SEGDB_ELIMIT, "%zu ids in one command; the limit is %u", t->nids, db->opt.max_id_list);
    uint32_t *r = malloc(t->nids * sizeof *r);
    if (!r) return oom(err);
    size_t n = 0;
    for (size_t i = 0; i < t->nids; i++) {
        if (t->ids[i] == 0) {
            free(r);
            return err_set(err, SEGDB_EINVAL, "id 0 is not allowed; ids are 1 to 18446744073709551615");
        }
        uint32_t row = store_row_of(db, t->ids[i]);
        if (row != UINT32_MAX) r[n++] = row;
    }
    qsort(r, n, sizeof *r, cmp_u32);
    *rows = roaring_bitmap_create();
    if (*rows && n) roaring_bitmap_add_many(*rows, n, r);
    free(r);
    return *rows ? SEGDB_OK : oom(err);
}

/* ---- TAG / UNTAG ---------------------------------------------------------- */

static int tag_untag(segdb_t *db, const char *tag, const segdb_target *t, bool add, uint64_t *changed,
                     segdb_err *err)
{
    *changed = 0;
    if (!tag) return err_set(err, SEGDB_EINVAL, "tag name is empty");
    const char *why = fold_tag_name_problem(tag, strlen(tag));
    if (why) return err_set(err, SEGDB_EINVAL, "%s: '%.80s'", why, tag);
    roaring_bitmap_t *rows;
    int rc = campaign_target_rows(db, t, false, &rows, err);
    if (rc) return rc;
    const field *f = db->fields[F_TAGS];
    char *fv = fold_dup(tag, strlen(tag), NULL);
    if (!fv) {
        roaring_bitmap_free(rows);
        return oom(err);
    }
    uint32_t code = dict_find(&f->dict, fv, strlen(fv));
    free(fv);
    /* the exact change: archived contacts are skipped, unchanged ones don't count */
    roaring_bitmap_andnot_inplace(rows, db->archived);
    if (add && code) roaring_bitmap_andnot_inplace(rows, f->dict.bm[code]);
    if (!add) {
        if (code) roaring_bitmap_and_inplace(rows, f->dict.bm[code]);
        else roaring_bitmap_clear(rows);
    }
    if (!roaring_bitmap_is_empty(rows)) {
        record r = {.kind = add ? REC_TAG : REC_UNTAG, .time = store_now(db)};
        r.u.rows.name = tag;
        r.u.rows.rows = rows;
        rc = ops_write(db, &r, changed, err);
    }
    roaring_bitmap_free(rows);
    return rc;
}

int segdb_tag(segdb_t *db, const char *tag, const segdb_target *t, uint64_t *changed, segdb_err *err)
{
    return tag_untag(db, tag, t, true, changed, err);
}

int segdb_untag(segdb_t *db, const char *tag, const segdb_target *t, uint64_t *changed, segdb_err *err)
{
    return tag_untag(db, tag, t, false, changed, err);
}

/* ---- SET ------------------------------------------------------------------ */

int segdb_set(segdb_t *db, const char *field_name, const char *value, size_t value_len, const segdb_target *t,
              uint64_t *changed, uint64_t *rejected, segdb_err *err)
{
    *changed = 0;
    *rejected = 0;
    if (!field_name) return err_set(err, SEGDB_EINVAL, "SET needs a field");
    if (!value) { value = ""; value_len = 0; }
    roaring_bitmap_t *rows, *ch = NULL;
    int rc = campaign_target_rows(db, t, false, &rows, err);
    if (rc) return rc;
    int64_t now = store_now(db);
    uint64_t rej = 0;
    rc = ops_set_resolve(db, now, field_name, value, value_len, rows, &ch, &rej, err);
    roaring_bitmap_free(rows);
    if (rc) return rc;
    if (!roaring_bitmap_is_empty(ch)) {
        record r = {.kind = REC_SET, .time = now};
        r.u.rows.name = field_name;
        r.u.rows.value = value;
        r.u.rows.value_len = value_len;
        r.u.rows.rows = ch;
        rc = ops_write(db, &r, changed, err);
    }
    roaring_bitmap_free(ch);
    if (rc == SEGDB_OK) *rejected = rej;
    return rc;
}

/* ---- ARCHIVE / UNARCHIVE -------------------------------------------------- */

static int archive(segdb_t *db, const segdb_target *t, bool on, uint64_t *changed, segdb_err *err)
{
    *changed = 0;
    roaring_bitmap_t *rows;
    int rc = campaign_target_rows(db, t, !on, &rows, err);
    if (rc) return rc;
    if (on) roaring_bitmap_andnot_inplace(rows, db->archived);
    else roaring_bitmap_and_inplace(rows, db->archived);
    if (!roaring_bitmap_is_empty(rows)) {
        record r = {.kind = on ? REC_ARCHIVE : REC_UNARCHIVE, .time = store_now(db)};
        r.u.rows.rows = rows;
        rc = ops_write(db, &r, changed, err);
    }
    roaring_bitmap_free(rows);
    return rc;
}

int segdb_archive(segdb_t *db, const segdb_target *t, uint64_t *changed, segdb_err *err)
{
    return archive(db, t, true, changed, err);
}

int segdb_unarchive(segdb_t *db, const segdb_target *t, uint64_t *changed, segdb_err *err)
{
    return archive(db, t, false, changed, err);
}

/* ---- SPLIT: cuts ---------------------------------------------------------- */

static const uint64_t PCT_ONE = UINT64_C(1000000000000); /* 1% at 12 decimals */

/* A percentage as an integer number of 10^-12 percent, exactly. */
static int parse_percent(const char *s, uint64_t *out, segdb_err *err)
{
    const char *p = s;
    if (*p == '-') return err_set(err, SEGDB_EINVAL, "percentages can't be negative: '%.40s'", s);
    uint64_t whole = 0, frac = 0;
    unsigned nfrac = 0, digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        whole = whole * 10 + (uint64_t)(*p - '0');
        if (whole > 1000) return err_set(err, SEGDB_EINVAL, "percentages sum to more than 100 ('%.40s')", s);
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (nfrac < SEGDB_MAX_PERCENT_DECIMALS) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                nfrac++;
            } else if (*p != '0') {
                return err_set(err, SEGDB_EINVAL, "percentage '%.40s' has more than %u decimals", s,
                               SEGDB_MAX_PERCENT_DECIMALS);
            }
        }
    }
    if (*p == '%') p++;
    if (!digits || *p)
        return err_set(err, SEGDB_EINVAL, "'%.40s' is not a percentage: use a decimal number such as 12.5", s);
    for (; nfrac < SEGDB_MAX_PERCENT_DECIMALS; nfrac++) frac *= 10;
    *out = whole * PCT_ONE + frac;
    return SEGDB_OK;
}

/* cut[0..nparts]: part k holds ranks cut[k] .. cut[k+1]-1 (SPEC 7). */
static int split_cuts(segdb_t *db, const segdb_split_req *req, uint64_t N, uint64_t **cut_out, uint32_t *nparts,
                      segdb_err *err)
{
    (void)db;
    bool pct = req->npercents > 0 || req->percents;
    if (pct && req->n)
        return err_set(err, SEGDB_EINVAL, "SPLIT takes a number of parts or PERCENT, not both");
    size_t n = pct ? req->npercents : req->n;
    if (n == 0)
        return err_set(err, SEGDB_EINVAL, pct ? "SPLIT PERCENT needs at least one percentage"
                                              : "SPLIT needs at least 1 part (SPLIT 0 makes no parts)");
    if (n > SEGDB_MAX_SPLIT_PARTS)
        return err_set(err, SEGDB_ELIMIT, "SPLIT into %zu parts; the limit is %u", n, SEGDB_MAX_SPLIT_PARTS);
    uint64_t *cut = malloc((n + 1) * sizeof *cut);
    if (!cut) return oom(err);
    cut[0] = 0;
    if (!pct) {
        for (size_t k = 1; k <= n; k++) cut[k] = N * k / n;
    } else {
        unsigned __int128 cum = 0;
        for (size_t k = 1; k <= n; k++) {
            uint64_t v = 0;
            int rc = parse_percent(req->percents[k - 1] ? req->percents[k - 1] : "", &v, err);
            if (rc) { free(cut); return rc; }
            cum += v;
            if (cum > (unsigned __int128)100 * PCT_ONE) {
                free(cut);
                return err_set(err, SEGDB_EINVAL, "percentages sum to more than 100");
            }
            cut[k] = (uint64_t)((unsigned __int128)N * cum / ((unsigned __int128)100 * PCT_ONE));
        }
    }
    *cut_out = cut;
    *nparts = (uint32_t)n;
    return SEGDB_OK;
}

/* ---- SPLIT: ordering ------------------------------------------------------ */

static inline uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* RANDOM <seed>: the order key of an id (fixed: same data + seed = same parts). */
static inline uint64_t seeded(uint64_t seed, uint64_t id) { return mix64(seed ^ mix64(id)); }

typedef enum { KEY_ID, KEY_HASH, KEY_FIELD, KEY_TEXT_RANK } key_kind;

typedef struct splitter {
    segdb_t *db;
    field *by;
    bool has_seed;
    uint64_t seed;
    uint32_t nparts;
    const uint64_t *cut;
    roaring_bitmap_t **parts;
    const roaring_bitmap_t *S;   /* the set being split */
    uint64_t pos;                /* rank of the next bucket's first row */
    const uint32_t *text_rank;   /* BY text: rank of each text code by folded value */
    /* whole index buckets waiting to join part pend_part: OR'd together and
     * ANDed with S once, instead of one AND and one OR per bucket */
    const roaring_bitmap_t **pend;
    uint32_t npend, pend_cap, pend_part;
    uint64_t *words;             /* BM_WORDS of scratch, kept zero between uses */
    int rc;
} splitter;

/* One element being ordered: its key at the current level and its index in
 * the bucket's ascending row array (so rank order maps back to rows). */
typedef struct okey {
    uint64_t key;
    uint32_t idx;
} okey;

static uint64_t tie_of(const splitter *sp, uint32_t row)
{
    uint64_t id = sp->db->ids[row];
    return sp->has_seed ? seeded(sp->seed, id) : id;
}

static uint64_t key_of(const splitter *sp, key_kind k, uint32_t row)
{
    switch (k) {
    case KEY_ID: return sp->db->ids[row];
    case KEY_HASH: return seeded(sp->seed, sp->db->ids[row]);
    case KEY_FIELD: return field_key(sp->by, row);
    default: return sp->by->text->row_code ? sp->text_rank[sp->by->text->row_code[row]] : 0;
    }
}

/* Sort a[0..n) by key, then tie (id, or the seeded hash under RANDOM), then
 * id. MSD radix on the key range with small buckets insertion-sorted; level 0
 * is the key; a run of equal keys moves to the next level with its keys
 * replaced: level 1 by ties, level 2 by ids (distinct), level 3 by idx. */
static void okey_sort(const splitter *sp, const uint32_t *rows, okey *a, okey *tmp, size_t n, int level)
{
    if (n < 2) return;
    bool strict = true;
    uint64_t mn = a[0].key, mx = a[0].key;
    for (size_t i = 1; i < n; i++) {
        if (a[i].key <= a[i - 1].key) strict = false;
        if (a[i].key < mn) mn = a[i].key;
        if (a[i].key > mx) mx = a[i].key;
    }
    if (strict) return;
    if (mn == mx) {
        if (level >= 3) return;
        for (size_t i = 0; i < n; i++)
            a[i].key = level == 0 ? tie_of(sp, rows[a[i].idx]) : level == 1 ? sp->db->ids[rows[a[i].idx]] : a[i].idx;
        okey_sort(sp, rows, a, tmp, n, level + 1);
        return;
    }
    if (n <= 24) {
        for (size_t i = 1; i < n; i++) {
            okey x = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1].key > x.key) { a[j] = a[j - 1]; j--; }
            a[j] = x;
        }
        /* runs of equal keys still need their ties */
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && a[j].key == a[i].key) j++;
            if (j - i > 1) okey_sort(sp, rows, a + i, tmp + i, j - i, level); /* all equal: next level */
            i = j;
        }
        return;
    }
    unsigned bits = 64 - (unsigned)__builtin_clzll(mx - mn);
    unsigned dbits = 4;
    while (dbits < 16 && ((size_t)1 << (dbits + 3)) < n) dbits++;
    unsigned shift = bits > dbits ? bits - dbits : 0;
    size_t nb = (size_t)((mx - mn) >> shift) + 1;
    size_t *cnt = calloc(nb + 1, sizeof *cnt);
    if (!cnt) {
        /* no memory for the counts: fall back to insertion sort (slow, correct) */
        for (size_t i = 1; i < n; i++) {
            okey x = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1].key > x.key) { a[j] = a[j - 1]; j--; }
            a[j] = x;
        }
        return;
    }
    for (size_t i = 0; i < n; i++) cnt[((a[i].key - mn) >> shift) + 1]++;
    for (size_t b = 0; b < nb; b++) cnt[b + 1] += cnt[b];
    for (size_t i = 0; i < n; i++) tmp[cnt[(a[i].key - mn) >> shift]++] = a[i];
    memcpy(a, tmp, n * sizeof *a);
    /* cnt[b] is now the end of bucket b */
    size_t start = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t end = cnt[b];
        if (end - start > 1) okey_sort(sp, rows, a + start, tmp + start, end - start, level);
        start = end;
    }
    free(cnt);
}

/* Part index holding rank r (nparts when r is past the last cut). */
static uint32_t part_of_rank(const splitter *sp, uint64_t r)
{
    uint32_t lo = 0, hi = sp->nparts;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (sp->cut[mid + 1] <= r) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* A bitmap of ascending rows v[0..n): chunks with many rows are built as
 * words and appended whole, others with add_many. w: zeroed scratch, left zeroed. */
static roaring_bitmap_t *from_sorted(const uint32_t *v, size_t n, uint64_t *w)
{
    roaring_bitmap_t *b = roaring_bitmap_create();
    if (!b) return NULL;
    for (size_t i = 0, j; i < n; i = j) {
        uint32_t key = v[i] >> 16;
        for (j = i; j < n && v[j] >> 16 == key; j++) {}
        if (j - i < 512) {
            roaring_bitmap_add_many(b, j - i, v + i);
            continue;
        }
        for (size_t k = i; k < j; k++) w[(v[k] & 0xFFFF) >> 6] |= UINT64_C(1) << (v[k] & 63);
        bm_append_words(b, (uint16_t)key, w, (uint32_t)(j - i));
        for (size_t k = i; k < j; k++) w[(v[k] & 0xFFFF) >> 6] = 0;
    }
    return b;
}

/* Give the rows of bucket B (ranks pos .. pos+|B|-1, all ordered after
 * everything before it) to their parts. in_row_order: B's rank order is its
 * ascending row order; otherwise rows are ordered by key k. */
static void split_bucket(splitter *sp, const roaring_bitmap_t *B, bool in_row_order, key_kind k)
{
    if (sp->rc) return;
    uint64_t m = roaring_bitmap_get_cardinality(B), base = sp->pos;
    sp->pos += m;
    if (m == 0 || base >= sp->cut[sp->nparts]) return;
    uint32_t first = part_of_rank(sp, base);
    if (base + m <= sp->cut[first + 1]) {
        roaring_bitmap_or_inplace(sp->parts[first], B); /* no cut inside: one part takes it whole */
        return;
    }
    if (in_row_order) {
        /* rank order is row order: each part is B within [select(lo), select(hi-1)] */
        for (uint32_t p = first; p < sp->nparts && sp->cut[p] < base + m; p++) {
            uint64_t lo = sp->cut[p] > base ? sp->cut[p] - base : 0;
            uint64_t hi = sp->cut[p + 1] < base + m ? sp->cut[p + 1] - base : m;
            if (lo >= hi) continue;
            uint32_t x, y;
            if (!roaring_bitmap_select(B, (uint32_t)lo, &x) || !roaring_bitmap_select(B, (uint32_t)(hi - 1), &y)) {
                sp->rc = SEGDB_ENOMEM;
                return;
            }
            roaring_bitmap_t *range = roaring_bitmap_from_range(x, (uint64_t)y + 1, 1);
            if (!range) { sp->rc = SEGDB_ENOMEM; return; }
            roaring_bitmap_and_inplace(range, B);
            roaring_bitmap_or_inplace(sp->parts[p], range);
            roaring_bitmap_free(range);
        }
        return;
    }
    /* Selection, not a full sort: bucket the keys by their top bits; a
     * bucket holding no cut joins one part whole, only the few buckets that
     * hold a cut are sorted (by key, tie, row). */
    uint32_t *rows = malloc(m * sizeof *rows);
    uint64_t *keys = malloc(m * sizeof *keys);
    uint16_t *partof = malloc(m * sizeof *partof);
    uint32_t *cnt = calloc((size_t)sp->nparts + 2, sizeof *cnt);
    uint32_t *out = malloc(m * sizeof *out);
    uint32_t *bstart = NULL;
    uint16_t *bpart = NULL;
    okey *a = NULL, *tmp = NULL;
    if (!rows || !keys || !partof || !cnt || !out) {
        sp->rc = SEGDB_ENOMEM;
        goto done;
    }
    roaring_bitmap_to_uint32_array(B, rows);
    uint64_t mn = UINT64_MAX, mx = 0;
    for (uint64_t i = 0; i < m; i++) {
        uint64_t kv = key_of(sp, k, rows[i]);
        keys[i] = kv;
        if (kv < mn) mn = kv;
        if (kv > mx) mx = kv;
    }
    unsigned bits = mx > mn ? 64 - (unsigned)__builtin_clzll(mx - mn) : 0, dbits = 1;
    while (dbits < 16 && (UINT64_C(1) << (dbits + 4)) < m) dbits++;
    unsigned shift = bits > dbits ? bits - dbits : 0;
    size_t nb = (size_t)((mx - mn) >> shift) + 1;
    bstart = calloc(nb + 1, sizeof *bstart);
    bpart = malloc(nb * sizeof *bpart);
    if (!bstart || !bpart) {
        sp->rc = SEGDB_ENOMEM;
        goto done;
    }
    for (uint64_t i = 0; i < m; i++) bstart[((keys[i] - mn) >> shift) + 1]++;
    for (size_t b = 0; b < nb; b++) bstart[b + 1] += bstart[b];
    const uint16_t CUT = UINT16_MAX;
    size_t ncut = 0;
    for (size_t b = 0; b < nb; b++) {
        if (bstart[b + 1] == bstart[b]) continue;
        uint32_t p0 = part_of_rank(sp, base + bstart[b]), p1 = part_of_rank(sp, base + bstart[b + 1] - 1);
        bpart[b] = p0 == p1 ? (uint16_t)p0 : CUT;
        if (p0 != p1) ncut += bstart[b + 1] - bstart[b];
    }
    a = malloc((ncut ? ncut : 1) * sizeof *a);
    tmp = malloc((ncut ? ncut : 1) * sizeof *tmp);
    if (!a || !tmp) {
        sp->rc = SEGDB_ENOMEM;
        goto done;
    }
    size_t na = 0;
    for (uint64_t i = 0; i < m; i++) {
        uint16_t bp = bpart[(keys[i] - mn) >> shift];
        if (bp != CUT) partof[i] = bp;
        else a[na++] = (okey){keys[i], (uint32_t)i};
    }
    okey_sort(sp, rows, a, tmp, na, 0);
    /* sorted cut buckets come in bucket order; a row's rank is its bucket's
     * start plus its place in the bucket (okey_sort may have replaced keys by
     * ties, so the bucket is read from keys[]) */
    for (size_t x = 0; x < na;) {
        size_t b = (keys[a[x].idx] - mn) >> shift, y = x;
        for (; y < na && ((keys[a[y].idx] - mn) >> shift) == b; y++)
            partof[a[y].idx] = (uint16_t)part_of_rank(sp, base + bstart[b] + (y - x));
        x = y;
    }
    for (uint64_t i = 0; i < m; i++) cnt[partof[i] + 1]++;
    for (uint32_t q = 0; q <= sp->nparts; q++) cnt[q + 1] += cnt[q];
    for (uint64_t i = 0; i < m; i++) out[cnt[partof[i]]++] = rows[i];
    uint32_t start = 0;
    for (uint32_t q = 0; q < sp->nparts && !sp->rc; q++) {
        uint32_t end = cnt[q];
        if (end > start) {
            roaring_bitmap_t *b = from_sorted(out + start, end - start, sp->words);
            if (!b) { sp->rc = SEGDB_ENOMEM; break; }
            roaring_bitmap_or_inplace(sp->parts[q], b);
            roaring_bitmap_free(b);
        }
        start = end;
    }
done:
    free(rows);
    free(keys);
    free(a);
    free(tmp);
    free(partof);
    free(cnt);
    free(out);
    free(bstart);
    free(bpart);
}

static void flush_pending(splitter *sp)
{
    if (sp->npend && !sp->rc) {
        roaring_bitmap_t *u = sp->npend == 1 ? roaring_bitmap_and(sp->pend[0], sp->S)
                                             : roaring_bitmap_or_many(sp->npend, sp->pend);
        if (!u) {
            sp->rc = SEGDB_ENOMEM;
        } else {
            if (sp->npend > 1) roaring_bitmap_and_inplace(u, sp->S);
            roaring_bitmap_or_inplace(sp->parts[sp->pend_part], u);
            roaring_bitmap_free(u);
        }
    }
    sp->npend = 0;
}

/* bucket (borrowed, valid until the split ends) joins part p whole. */
static void pend_add(splitter *sp, const roaring_bitmap_t *bucket, uint32_t p)
{
    if (sp->npend && sp->pend_part != p) flush_pending(sp);
    if (sp->npend == sp->pend_cap) {
        uint32_t nc = sp->pend_cap ? sp->pend_cap * 2 : 64;
        const roaring_bitmap_t **a = realloc(sp->pend, nc * sizeof *a);
        if (!a) { sp->rc = SEGDB_ENOMEM; return; }
        sp->pend = a;
        sp->pend_cap = nc;
    }
    sp->pend[sp->npend++] = bucket;
    sp->pend_part = p;
}

/* The next bucket of the order is `bucket` AND S, holding m rows: a bucket
 * with no cut inside joins its part whole, one holding a cut is materialized
 * and ordered. */
static void split_raw_m(splitter *sp, const roaring_bitmap_t *bucket, uint64_t m, bool in_row_order, key_kind k)
{
    uint64_t base = sp->pos;
    if (sp->rc || m == 0) return;
    if (base < sp->cut[sp->nparts]) {
        uint32_t first = part_of_rank(sp, base);
        if (base + m > sp->cut[first + 1]) {
            flush_pending(sp);
            roaring_bitmap_t *B = roaring_bitmap_and(bucket, sp->S);
            if (!B) { sp->rc = SEGDB_ENOMEM; return; }
            split_bucket(sp, B, in_row_order, k);
            roaring_bitmap_free(B);
            return;
        }
        pend_add(sp, bucket, first);
    }
    sp->pos += m;
}

static void split_raw(splitter *sp, const roaring_bitmap_t *bucket, bool in_row_order, key_kind k)
{
    if (!sp->rc) split_raw_m(sp, bucket, roaring_bitmap_and_cardinality(bucket, sp->S), in_row_order, k);
}

static uint32_t level_lower_bound(const rlevel *lv, uint64_t k)
{
    uint32_t lo = 0, hi = lv->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (lv->keys[mid] < k) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* BY a range-indexed field: the buckets of level l with keys klo..khi, in
 * order, holding `total` rows of S (UINT64_MAX: not known). A bucket with no
 * cut inside joins its part whole; one holding a cut is opened into the next
 * finer level, and only at the finest level are rows read from the column
 * (a coarse bucket's rows are scattered: reading their values would cost a
 * cache miss each, a finer bucket's cardinality costs a sequential test).
 * Once no cut is left in the range, the rest joins one part uncounted. */
static void walk_levels(splitter *sp, const range_index *ri, int l, uint64_t klo, uint64_t khi, uint64_t total)
{
    const rlevel *lv = &ri->lv[l];
    uint64_t end = total == UINT64_MAX ? UINT64_MAX : sp->pos + total;
    for (uint32_t i = level_lower_bound(lv, klo); i < lv->n && lv->keys[i] <= khi && !sp->rc; i++) {
        if (sp->pos >= sp->cut[sp->nparts]) return;
        uint32_t first = part_of_rank(sp, sp->pos);
        if (end != UINT64_MAX && end <= sp->cut[first + 1]) {
            for (; i < lv->n && lv->keys[i] <= khi && !sp->rc; i++) pend_add(sp, lv->bms[i], first);
            sp->pos = end;
            return;
        }
        const roaring_bitmap_t *bm = lv->bms[i];
        uint64_t m = roaring_bitmap_and_cardinality(bm, sp->S);
        if (l > 0 && sp->pos + m > sp->cut[first + 1]) {
            unsigned sh = ri->shift[l], fine = ri->shift[l - 1];
            uint64_t lo = lv->keys[i] << sh, hi = lo | ((UINT64_C(1) << sh) - 1);
            walk_levels(sp, ri, l - 1, lo >> fine, hi >> fine, m);
        } else {
            split_raw_m(sp, bm, m, false, KEY_FIELD);
        }
    }
}

typedef struct fold_code {
    const char *folded;
    uint32_t code;
} fold_code;

static int cmp_fold_code(const void *a, const void *b)
{
    const fold_code *x = a, *y = b;
    int r = strcmp(x->folded, y->folded);
    return r ? r : (x->code < y->code ? -1 : x->code > y->code);
}

/* Codes of f's dictionary (category) or text dictionary ordered by folded
 * value: order[] lists codes, rank[code] gives equal folded values one rank. */
static int folded_order(const field *f, uint32_t **order_out, uint32_t **rank_out, uint32_t *n_out)
{
    uint32_t n = f->kind == SEGDB_KIND_TEXT ? (f->text->n ? f->text->n - 1 : 0) : (f->dict.n ? f->dict.n - 1 : 0);
    fold_code *fc = malloc((n ? n : 1) * sizeof *fc);
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    uint32_t *rank = calloc((size_t)n + 1, sizeof *rank);
    if (!fc || !order || !rank) {
        free(fc);
        free(order);
        free(rank);
        return SEGDB_ENOMEM;
    }
    for (uint32_t c = 1; c <= n; c++) {
        fc[c - 1].code = c;
        fc[c - 1].folded = f->kind == SEGDB_KIND_TEXT ? f->text->fold + f->text->fold_off[c] : f->dict.folded[c];
    }
    qsort(fc, n, sizeof *fc, cmp_fold_code);
    uint32_t r = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i && strcmp(fc[i].folded, fc[i - 1].folded) != 0) r++;
        order[i] = fc[i].code;
        rank[fc[i].code] = r;
    }
    free(fc);
    *order_out = order;
    *rank_out = rank;
    *n_out = n;
    return SEGDB_OK;
}

/* Order S and fill sp->parts. */
static int split_order(splitter *sp, const roaring_bitmap_t *S)
{
    segdb_t *db = sp->db;
    field *f = sp->by;
    bool id_rows = !sp->has_seed && db->ids_ascending; /* ties by id are row order */
    if (!f) {
        if (id_rows) split_bucket(sp, S, true, KEY_ID);
        else split_bucket(sp, S, false, sp->has_seed ? KEY_HASH : KEY_ID);
        return sp->rc;
    }
    key_kind tie_key = sp->has_seed ? KEY_HASH : KEY_ID;
    if (f->ridx) {
        if (rindex_flush(f->ridx)) return SEGDB_ENOMEM;
        walk_levels(sp, f->ridx, (int)f->ridx->nlevels - 1, 0, UINT64_MAX, UINT64_MAX);
    } else if (f->id == F_RELATIONSHIP) {
        /* member order with dont_forget derived as filters see it */
        for (uint32_t m = 0; m < f->nmembers && !sp->rc; m++) {
            char term[64];
            snprintf(term, sizeof term, "relationship:%s", f->members[m]);
            plan *p;
            if (plan_build(db, term, &p, NULL)) { sp->rc = SEGDB_ENOMEM; break; }
            p->with_archived = true;
            p->universe = db->live;
            roaring_bitmap_t *B = exec_rows(db, p, S);
            plan_free(p);
            if (!B) { sp->rc = SEGDB_ENOMEM; break; }
            split_bucket(sp, B, id_rows, tie_key);
            roaring_bitmap_free(B);
        }
    } else if (f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL) {
        for (uint32_t c = 1; c < f->dict.n && !sp->rc; c++) split_raw(sp, f->dict.bm[c], id_rows, tie_key);
    } else if (f->kind == SEGDB_KIND_CATEGORY) {
        uint32_t *order, *rank, n;
        if (folded_order(f, &order, &rank, &n)) return SEGDB_ENOMEM;
        for (uint32_t i = 0; i < n && !sp->rc; i++) split_raw(sp, f->dict.bm[order[i]], id_rows, tie_key);
        free(order);
        free(rank);
    } else { /* TEXT */
        uint32_t *order, *rank, n;
        if (folded_order(f, &order, &rank, &n)) return SEGDB_ENOMEM;
        sp->text_rank = rank;
        split_raw(sp, f->present, false, KEY_TEXT_RANK);
        sp->text_rank = NULL;
        free(order);
        free(rank);
    }
    flush_pending(sp);
    if (sp->rc) return sp->rc;
    /* contacts lacking the field come last */
    roaring_bitmap_t *missing = roaring_bitmap_andnot(S, f->present);
    if (!missing) return SEGDB_ENOMEM;
    split_bucket(sp, missing, id_rows, tie_key);
    roaring_bitmap_free(missing);
    return sp->rc;
}

/* ---- SPLIT ---------------------------------------------------------------- */

int segdb_split(segdb_t *db, const segdb_split_req *req, segdb_split_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    field *by = NULL;
    if (req->by_field) {
        by = store_field(db, req->by_field, strlen(req->by_field));
        if (!by)
            return err_set(err, SEGDB_EINVAL, "unknown field '%.64s' in BY; FIELD.LIST shows the fields", req->by_field);
        if (by->kind == SEGDB_KIND_TAGS)
            return err_set(err, SEGDB_EINVAL, "can't SPLIT BY '%s': it holds a set of values", by->name);
        if (by->id == F_ARCHIVED)
            return err_set(err, SEGDB_EINVAL, "can't SPLIT BY archived; filter with archived:yes or archived:no instead");
        if (by->id == F_ID) by = NULL;
    }
    size_t plen = req->save_prefix ? strlen(req->save_prefix) : 0;
    if (req->save_prefix && (plen == 0 || !segment_name_valid(req->save_prefix, plen)))
        return err_set(err, SEGDB_EINVAL, "invalid SAVE prefix '%.80s': use letters, digits, '_' or '-'",
                       req->save_prefix);
    /* the parts' count and prefix are checked before the filter runs */
    uint64_t *cut = NULL;
    uint32_t n;
    int rc = split_cuts(db, req, 0, &cut, &n, err);
    if (rc) return rc;
    free(cut);
    cut = NULL;
    char (*names)[SEGDB_MAX_SEGMENT_NAME_BYTES + 1] = NULL;
    if (req->save_prefix) {
        names = calloc(n, sizeof *names);
        if (!names) return oom(err);
        for (uint32_t k = 0; k < n; k++) {
            int w = snprintf(names[k], sizeof names[k], "%s%u", req->save_prefix, k + 1);
            if (w < 0 || (size_t)w >= sizeof names[k]) {
                free(names);
                return err_set(err, SEGDB_EINVAL, "segment name '%s%u' is longer than %u characters",
                               req->save_prefix, k + 1, SEGDB_MAX_SEGMENT_NAME_BYTES);
            }
            if (segment_find(db, names[k], strlen(names[k]))) {
                rc = err_set(err, SEGDB_EEXIST, "segment '%s' already exists; SEGMENT.DEL it or SAVE with another prefix",
                             names[k]);
                free(names);
                return rc;
            }
        }
    }
    roaring_bitmap_t *S = NULL;
    roaring_bitmap_t **parts = NULL;
    char **descs = NULL;
    rc = filter_rows(db, req->filter, false, &S, err);
    if (rc) goto done;
    uint64_t N = roaring_bitmap_get_cardinality(S);
    rc = split_cuts(db, req, N, &cut, &n, err);
    if (rc) goto done;
    res->sizes = malloc(n * sizeof *res->sizes);
    if (!res->sizes) { rc = oom(err); goto done; }
    for (uint32_t k = 0; k < n; k++) res->sizes[k] = cut[k + 1] - cut[k];
    res->n = n;
    if (!req->save_prefix) goto done;

    parts = calloc(n, sizeof *parts);
    descs = calloc(n, sizeof *descs);
    if (!parts || !descs) { rc = oom(err); goto done; }
    for (uint32_t k = 0; k < n; k++) {
        parts[k] = roaring_bitmap_create();
        if (asprintf(&descs[k], "part %u of %u of SPLIT%s%s%s WHERE %s", k + 1, n, by ? " BY " : "",
                     by ? by->name : "", req->has_seed ? " RANDOM" : "", req->filter ? req->filter : "(all)") < 0)
            descs[k] = NULL;
        if (!parts[k] || !descs[k]) { rc = oom(err); goto done; }
    }
    splitter sp = {.db = db, .by = by, .has_seed = req->has_seed, .seed = req->seed, .nparts = n, .cut = cut,
                   .parts = parts, .S = S, .words = calloc(BM_WORDS, sizeof(uint64_t))};
    int orc = sp.words ? split_order(&sp, S) : SEGDB_ENOMEM;
    free(sp.words);
    free(sp.pend);
    if (orc) { rc = oom(err); goto done; }
    const char **np = malloc(n * sizeof *np);
    if (!np) { rc = oom(err); goto done; }
    for (uint32_t k = 0; k < n; k++) np[k] = names[k];
    record r = {.kind = REC_SEGMENT_FREEZE, .time = store_now(db)};
    r.u.freeze.n = n;
    r.u.freeze.names = np;
    r.u.freeze.descs = (const char *const *)descs;
    r.u.freeze.members = (const roaring_bitmap_t *const *)parts;
    rc = ops_write(db, &r, NULL, err);
    free(np);
done:
    if (rc) segdb_split_res_free(res);
    if (parts)
        for (uint32_t k = 0; k < n; k++)
            if (parts[k]) roaring_bitmap_free(parts[k]);
    if (descs)
        for (uint32_t k = 0; k < n; k++) free(descs[k]);
    free(parts);
    free(descs);
    free(names);
    free(cut);
    if (S) roaring_bitmap_free(S);
    return rc;
}

void segdb_split_res_free(segdb_split_res *res)
{
    if (!res) return;
    free(res->sizes);
    memset(res, 0, sizeof *res);
}

/* ---- chunk counting ------------------------------------------------------- */

/* Reads answered as counts (FACET of tags, OVERLAP, REACH) go chunk by chunk:
 * the 65536-row chunk of the result set is loaded into words once and each
 * other bitmap's container is counted against it with word AND + popcount
 * (compiled here, with -march=native in the benchmark build) or, for small
 * containers, one bit test per value. */

static uint64_t and_popcount(const uint64_t *a, const uint64_t *b)
{
    uint64_t n = 0;
    for (uint32_t k = 0; k < BM_WORDS; k++) n += (uint64_t)__builtin_popcountll(a[k] & b[k]);
    return n;
}

typedef struct chunk_scratch {
    uint64_t *w, *t;
    uint16_t *vals;
    int *cur;
} chunk_scratch;

static int scratch_init(chunk_scratch *cs, size_t ncur)
{
    cs->w = malloc(BM_WORDS * sizeof *cs->w);
    cs->t = malloc(BM_WORDS * sizeof *cs->t);
    cs->vals = malloc(65536 * sizeof *cs->vals);
    cs->cur = calloc(ncur ? ncur : 1, sizeof *cs->cur);
    return cs->w && cs->t && cs->vals && cs->cur ? SEGDB_OK : SEGDB_ENOMEM;
}

static void scratch_free(chunk_scratch *cs)
{
    free(cs->w);
    free(cs->t);
    free(cs->vals);
    free(cs->cur);
}

/* |words w AND container idx of b| */
static uint64_t count_in_words(chunk_scratch *cs, const uint64_t *w, const roaring_bitmap_t *b, int idx)
{
    if (bm_chunk_card(b, idx) > 2048) {
        bm_chunk_load(b, idx, cs->t);
        return and_popcount(w, cs->t);
    }
    uint32_t m = bm_chunk_values(b, idx, cs->vals);
    uint64_t n = 0;
    for (uint32_t k = 0; k < m; k++) n += (w[cs->vals[k] >> 6] >> (cs->vals[k] & 63)) & 1;
    return n;
}

/* counts[i] += |S AND bms[i]| for i < nb. */
static int and_counts(const roaring_bitmap_t *S, const roaring_bitmap_t *const *bms, size_t nb, uint64_t *counts)
{
    chunk_scratch cs;
    if (scratch_init(&cs, nb)) {
        scratch_free(&cs);
        return SEGDB_ENOMEM;
    }
    int nc = bm_chunk_count(S);
    for (int i = 0; i < nc; i++) {
        uint16_t key = bm_chunk_key(S, i);
        bm_chunk_load(S, i, cs.w);
        for (size_t b = 0; b < nb; b++) {
            int idx = bm_find_chunk(bms[b], key, &cs.cur[b]);
            if (idx >= 0) counts[b] += count_in_words(&cs, cs.w, bms[b], idx);
        }
    }
    scratch_free(&cs);
    return SEGDB_OK;
}

/* ---- FACET ---------------------------------------------------------------- */

typedef struct facet_ent {
    uint32_t code;
    uint64_t count;
    const char *folded;
} facet_ent;

static int cmp_facet(const void *a, const void *b)
{
    const facet_ent *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->folded, y->folded);
}

/* counts[code] += rows of S holding code, from the per-row code column: one
 * sequential pass over S's chunks (as words) reading the column in row order. */
static int histogram(const field *f, const roaring_bitmap_t *S, uint64_t *counts)
{
    if (!f->codes8 && !f->codes32) return SEGDB_OK;
    uint64_t *w = malloc(BM_WORDS * sizeof *w);
    if (!w) return SEGDB_ENOMEM;
    int nc = bm_chunk_count(S);
    for (int i = 0; i < nc; i++) {
        uint32_t base = (uint32_t)bm_chunk_key(S, i) << 16;
        bm_chunk_load(S, i, w);
        for (uint32_t k = 0; k < BM_WORDS; k++) {
            uint64_t x = w[k];
            uint32_t row0 = base + k * 64;
            if (f->codes8)
                for (; x; x &= x - 1) counts[f->codes8[row0 + (uint32_t)__builtin_ctzll(x)]]++;
            else
                for (; x; x &= x - 1) counts[f->codes32[row0 + (uint32_t)__builtin_ctzll(x)]]++;
        }
    }
    free(w);
    return SEGDB_OK;
}

int segdb_facet(segdb_t *db, const char *fname, uint32_t top, const char *filter, segdb_facet_res *res,
                segdb_err *err)
{
    memset(res, 0, sizeof *res);
    const field *f = fname ? store_field(db, fname, strlen(fname)) : NULL;
    if (!f) return err_set(err, SEGDB_EINVAL, "unknown field '%.64s'; FIELD.LIST shows the fields", fname ? fname : "");
    if (f->id == F_ARCHIVED)
        return err_set(err, SEGDB_EINVAL, "can't FACET archived: COUNT WHERE archived:yes counts the archived contacts");
    if (!(f->kind == SEGDB_KIND_CATEGORY || f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL ||
          f->kind == SEGDB_KIND_TAGS))
        return err_set(err, SEGDB_EINVAL, "can't FACET '%s' (a %s field): FACET takes category, enum, bool, tags or groups fields",
                       f->name, segdb_kind_name(f->kind));
    roaring_bitmap_t *S;
    int rc = filter_rows(db, filter, false, &S, err);
    if (rc) return rc;
    uint32_t nc = f->dict.n ? f->dict.n : 1;
    uint64_t *counts = calloc(nc + 1, sizeof *counts);
    facet_ent *ents = malloc(nc * sizeof *ents);
    if (!counts || !ents) { rc = oom(err); goto done; }
    if (f->kind == SEGDB_KIND_TAGS) {
        if (f->dict.n > 1 && and_counts(S, (const roaring_bitmap_t *const *)f->dict.bm + 1, f->dict.n - 1, counts + 1)) {
            rc = oom(err);
            goto done;
        }
    } else if (histogram(f, S, counts)) {
        rc = oom(err);
        goto done;
    }
    if (f->id == F_RELATIONSHIP && f->codes8) {
        /* dont_forget is derived at read time: move the overdue rows to it */
        plan *p;
        rc = plan_build(db, "relationship:dont_forget", &p, err);
        if (rc) goto done;
        p->with_archived = true;
        p->universe = db->live;
        roaring_bitmap_t *D = exec_rows(db, p, S);
        plan_free(p);
        if (!D) { rc = oom(err); goto done; }
        roaring_uint32_iterator_t it;
        uint32_t buf[1024], m;
        roaring_init_iterator(D, &it);
        while ((m = roaring_read_uint32_iterator(&it, buf, 1024)) > 0)
            for (uint32_t i = 0; i < m; i++) {
                counts[f->codes8[buf[i]]]--;
                counts[REL_DONT_FORGET]++;
            }
        roaring_bitmap_free(D);
    }
    size_t n = 0;
    for (uint32_t c = 1; c < f->dict.n; c++)
        if (counts[c]) ents[n++] = (facet_ent){c, counts[c], f->dict.folded[c]};
    qsort(ents, n, sizeof *ents, cmp_facet);
    if (top && n > top) n = top;
    if (n) {
        res->values = calloc(n, sizeof *res->values);
        res->counts = malloc(n * sizeof *res->counts);
        if (!res->values || !res->counts) { rc = oom(err); goto done; }
        for (size_t i = 0; i < n; i++) {
            res->values[i] = strdup(f->dict.display[ents[i].code]);
            res->counts[i] = ents[i].count;
            res->n++;
            if (!res->values[i]) { rc = oom(err); goto done; }
        }
    }
done:
    if (rc) segdb_facet_res_free(res);
    free(counts);
    free(ents);
    roaring_bitmap_free(S);
    return rc;
}

void segdb_facet_res_free(segdb_facet_res *res)
{
    if (!res) return;
    if (res->values)
        for (size_t i = 0; i < res->n; i++) free(res->values[i]);
    free(res->values);
    free(res->counts);
    memset(res, 0, sizeof *res);
}

/* ---- OVERLAP -------------------------------------------------------------- */

/* m[i*n+j] = |sets[i] AND sets[j]|: per chunk key, every set's chunk is
 * loaded into words once, then each pair is one AND + popcount. */
static int overlap_counts(roaring_bitmap_t *const *sets, size_t n, uint64_t *m)
{
    uint64_t *w = malloc(n * BM_WORDS * sizeof *w);
    int *cur = calloc(n, sizeof *cur), *idx = malloc(n * sizeof *idx);
    if (!w || !cur || !idx) {
        free(w);
        free(cur);
        free(idx);
        return SEGDB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) m[i * n + i] = roaring_bitmap_get_cardinality(sets[i]);
    /* chunk keys in ascending order over the union of the sets */
    uint32_t key = UINT16_MAX + 1;
    for (size_t i = 0; i < n; i++)
        if (bm_chunk_count(sets[i]) && bm_chunk_key(sets[i], 0) < key) key = bm_chunk_key(sets[i], 0);
    while (key <= UINT16_MAX) {
        uint32_t next = UINT16_MAX + 1;
        for (size_t i = 0; i < n; i++) {
            int nc = bm_chunk_count(sets[i]), c = cur[i];
            while (c < nc && bm_chunk_key(sets[i], c) < key) c++;
            cur[i] = c;
            idx[i] = c < nc && bm_chunk_key(sets[i], c) == key ? c : -1;
            int after = idx[i] >= 0 ? c + 1 : c;
            if (after < nc && bm_chunk_key(sets[i], after) < next) next = bm_chunk_key(sets[i], after);
            if (idx[i] >= 0) bm_chunk_load(sets[i], idx[i], w + i * BM_WORDS);
        }
        for (size_t i = 0; i < n; i++) {
            if (idx[i] < 0) continue;
            for (size_t j = i + 1; j < n; j++)
                if (idx[j] >= 0) m[i * n + j] += and_popcount(w + i * BM_WORDS, w + j * BM_WORDS);
        }
        key = next;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) m[j * n + i] = m[i * n + j];
    free(w);
    free(cur);
    free(idx);
    return SEGDB_OK;
}

int segdb_overlap(segdb_t *db, const char *const *filters, size_t n, segdb_overlap_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    if (n == 0) return err_set(err, SEGDB_EINVAL, "OVERLAP needs at least one filter");
    if (n > SEGDB_MAX_OVERLAP_FILTERS)
        return err_set(err, SEGDB_ELIMIT, "OVERLAP of %zu filters; the limit is %u", n, SEGDB_MAX_OVERLAP_FILTERS);
    roaring_bitmap_t **sets = calloc(n, sizeof *sets);
    uint64_t *m = calloc(n * n, sizeof *m);
    int rc = sets && m ? SEGDB_OK : oom(err);
    for (size_t i = 0; i < n && !rc; i++) {
        if (!filters[i]) {
            rc = err_set(err, SEGDB_EINVAL, "filter %zu of OVERLAP is empty", i + 1);
            break;
        }
        rc = filter_rows(db, filters[i], false, &sets[i], err);
        if (rc && n > 1 && err) {
            char prefix[48];
            size_t pl = (size_t)snprintf(prefix, sizeof prefix, "in filter %zu: ", i + 1);
            size_t ml = strnlen(err->msg, sizeof err->msg - 1);
            if (pl + ml >= sizeof err->msg) ml = sizeof err->msg - 1 - pl; /* the message's end gives way */
            memmove(err->msg + pl, err->msg, ml);
            memcpy(err->msg, prefix, pl);
            err->msg[pl + ml] = 0;
        }
    }
    if (!rc) rc = overlap_counts(sets, n, m) ? oom(err) : SEGDB_OK;
    if (sets)
        for (size_t i = 0; i < n; i++)
            if (sets[i]) roaring_bitmap_free(sets[i]);
    free(sets);
    if (rc) {
        free(m);
        return rc;
    }
    res->m = m;
    res->n = n;
    return SEGDB_OK;
}

void segdb_overlap_res_free(segdb_overlap_res *res)
{
    if (!res) return;
    free(res->m);
    memset(res, 0, sizeof *res);
}

/* ---- REACH ---------------------------------------------------------------- */

int segdb_reach(segdb_t *db, const char *filter, segdb_reach_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    roaring_bitmap_t *S;
    int rc = filter_rows(db, filter, false, &S, err);
    if (rc) return rc;
    /* SPEC 4.5, as reachable:<channel> binds in plan.c: email, sms (phone),
     * web (hmac_verified yes), then whatsapp within the rows with a phone */
    const roaring_bitmap_t *ch[3] = {db->fields[F_EMAIL]->present, db->fields[F_PHONE]->present,
                                     db->fields[F_HMAC_VERIFIED]->dict.bm[BOOL_YES]};
    uint64_t c[3] = {0, 0, 0};
    rc = and_counts(S, ch, 3, c);
    if (!rc) {
        roaring_bitmap_and_inplace(S, ch[1]);
        const roaring_bitmap_t *wa[1] = {db->fields[F_WHATSAPP]->dict.bm[BOOL_YES]};
        rc = and_counts(S, wa, 1, &res->whatsapp);
    }
    roaring_bitmap_free(S);
    if (rc) return oom(err);
    res->email = c[0];
    res->sms = c[1];
    res->web = c[2];
    return SEGDB_OK;
}

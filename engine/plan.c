/*
 * plan.c — bind a filter AST to the store's indexes and optimize the tree
 * (see plan.h for the node kinds and rules).
 */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bm.h"
#include "err.h"
#include "fold.h"
#include "group.h"
#include "segment.h"
#include "value.h"

typedef struct binder {
    segdb_t *db;
    plan *p;
    segdb_err *err;
    /* live segments being inlined, outermost first (stack[0] may be the
     * segment being saved): a name met again is a cycle */
    const char *stack[SEGDB_MAX_SEGMENT_DEPTH + 1];
    uint32_t depth;
    uint64_t inlined_terms;         /* terms brought in by inlined segments */
} binder;

/* ---- node constructors ---------------------------------------------------- */

static pnode *node_new(pkind k)
{
    pnode *n = calloc(1, sizeof *n);
    if (n) n->kind = k;
    return n;
}

static void node_free(pnode *n)
{
    if (!n) return;
    for (uint32_t i = 0; i < n->nkids; i++) node_free(n->kids[i]);
    free(n->kids);
    free(n->bms);
    for (int l = 0; l < EXEC_MAX_LANES; l++) {
        free(n->cursors[l]);
        free(n->edge_cursors[l]);
    }
    if (n->owned) roaring_bitmap_free(n->owned);
    rcover_free(&n->cover);
    free(n->label);
    free(n);
}

void plan_free(plan *p)
{
    if (!p) return;
    node_free(p->root);
    free(p);
}

static int add_kid(pnode *n, pnode *k)
{
    pnode **a = realloc(n->kids, (n->nkids + 1) * sizeof *a);
    if (!a) return SEGDB_ENOMEM;
    n->kids = a;
    n->kids[n->nkids++] = k;
    return SEGDB_OK;
}

static int add_bm(pnode *n, const roaring_bitmap_t *b)
{
    const roaring_bitmap_t **a = realloc(n->bms, (n->nbms + 1) * sizeof *a);
    if (!a) return SEGDB_ENOMEM;
    n->bms = a;
    n->bms[n->nbms++] = b;
    return SEGDB_OK;
}

static void set_label(pnode *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_label(pnode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    free(n->label);
    n->label = s;
}

static pnode *leaf_bitmap(const roaring_bitmap_t *b)
{
    pnode *n = node_new(P_BITMAP);
    if (!n) return NULL;
    if (add_bm(n, b)) { node_free(n); return NULL; }
    n->est = roaring_bitmap_get_cardinality(b);
    return n;
}

static pnode *leaf_owned(roaring_bitmap_t *b)
{
    pnode *n = node_new(P_OWNED);
    if (!n) { roaring_bitmap_free(b); return NULL; }
    n->owned = b;
    if (add_bm(n, b)) { node_free(n); return NULL; }
    n->est = roaring_bitmap_get_cardinality(b);
    return n;
}

static pnode *node_not(pnode *k)
{
    pnode *n = node_new(P_NOT);
    if (!n || add_kid(n, k)) { node_free(n); node_free(k); return NULL; }
    return n;
}

/* field present AND NOT x: the != rule of SPEC 7 */
static pnode *node_present_andnot(const field *f, pnode *x)
{
    pnode *a = node_new(P_AND);
    pnode *h = leaf_bitmap(f->present);
    pnode *nx = node_not(x);
    if (!a || !h || !nx || add_kid(a, h) || add_kid(a, nx)) {
        node_free(a); node_free(h); node_free(nx);
        return NULL;
    }
    return a;
}

static pnode *node_range(const field *f, uint64_t lo, uint64_t hi)
{
    pnode *n = node_new(P_RANGE);
    if (!n) return NULL;
    n->f = f;
    n->lo = lo;
    n->hi = hi;
    if (lo > hi) {
        n->kind = P_EMPTY;
        return n;
    }
    if (rindex_cover(f->ridx, lo, hi, &n->cover)) { node_free(n); return NULL; }
    n->est = n->cover.full_card + n->cover.edge_card;
    return n;
}

/* ---- errors --------------------------------------------------------------- */

static int oom(binder *b) { return err_set(b->err, SEGDB_ENOMEM, "out of memory"); }

static const char *op_name(fop op)
{
    switch (op) {
    case FOP_COLON: return ":";
    case FOP_IN: return ":(...)";
    case FOP_EQ: return "=";
    case FOP_NE: return "!=";
    case FOP_LT: return "<";
    case FOP_LE: return "<=";
    case FOP_GT: return ">";
    case FOP_GE: return ">=";
    case FOP_CONTAINS: return "~";
    case FOP_HAS: return "has:";
    case FOP_MISSING: return "missing:";
    }
    return "?";
}

static int unknown_field(binder *b, const fnode *t)
{
    char *names = store_field_names(b->db);
    int rc = err_set(b->err, SEGDB_EINVAL,
                     "unknown field '%.64s' at position %u; valid fields: %s (plus has, missing, tag, group, segment, reachable, q); create new ones with FIELD.CREATE",
                     t->field, t->field_pos, names ? names : "");
    free(names);
    return rc;
}

static int bad_op(binder *b, const fnode *t, const field *f, const char *allowed)
{
    return err_set(b->err, SEGDB_EINVAL, "operator %s at position %u can't be used on %s field '%s'; use %s",
                   op_name(t->op), t->field_pos, segdb_kind_name(f->kind), f->name, allowed);
}

static int wrongtype(binder *b, const fvalue *v, const field *f, const char *expect)
{
    return err_set(b->err, SEGDB_EWRONGTYPE, "'%.*s' at position %u is not a valid %s value: expected %s",
                   (int)(v->len > 100 ? 100 : v->len), v->text, v->pos, f->name, expect);
}

/* ---- text terms ----------------------------------------------------------- */



static bool set_bit_cb(uint32_t v, void *ctx)
{
    uint64_t *bits = ctx;
    bits[v >> 6] |= UINT64_C(1) << (v & 63);
    return true;
}

/* Rows holding any of the codes in cs. Two ways, costed per query:
 *   gather: the rows of shared values (their bitmaps) and the single rows of
 *           values only one contact has, set in a plain bitset over all rows;
 *           each shared value costs a few cache misses (its bitmap's parts);
 *   scan:   one sequential pass over the row -> code column testing a bitset
 *           of matched codes (about a nanosecond a row).
 * Either way the bitset becomes a Roaring bitmap chunk by chunk. */
static roaring_bitmap_t *rows_of_codes(segdb_t *db, const textdict *td, const uint64_t *codebits,
                                       const uint32_t *list, uint32_t nlist)
{
    roaring_bitmap_t *r = roaring_bitmap_create();
    if (!r || nlist == 0 || !td->row_code) return r;
    size_t nchunks = ((size_t)db->nrows + BM_CHUNK_BITS - 1) / BM_CHUNK_BITS;
    uint64_t *bits = calloc(nchunks * BM_WORDS + 1, sizeof *bits);
    if (!bits) { roaring_bitmap_free(r); return NULL; }
    uint64_t cost = 0; /* gathering: a few cache misses per value, one per row */
    for (uint32_t i = 0; i < nlist; i++)
        cost += td->multi[list[i]] ? 200 + 2 * (uint64_t)td->refs[list[i]] : 20;
    if (cost < (uint64_t)db->nrows) {
        for (uint32_t i = 0; i < nlist; i++) {
            uint32_t c = list[i];
            if (td->multi[c]) tpost_each(&td->posts[td->multi[c] - 1], set_bit_cb, bits);
            else if (td->refs[c] == 1 && td->last_row[c] != UINT32_MAX) set_bit_cb(td->last_row[c], bits);
        }
    } else {
        const uint32_t *rc = td->row_code;
        for (uint32_t row = 0; row < db->nrows; row += 64) {
            uint32_t end = row + 64 < db->nrows ? row + 64 : db->nrows;
            uint64_t w = 0;
            for (uint32_t j = row; j < end; j++) {
                uint32_t c = rc[j];
                w |= (uint64_t)((codebits[c >> 6] >> (c & 63)) & 1) << (j - row);
            }
            bits[row >> 6] = w;
        }
        /* code 0 (no value) is never in codebits, so absent rows stay clear */
    }
    for (size_t k = 0; k < nchunks; k++) {
        uint32_t card = bm_words_popcount(bits + k * BM_WORDS);
        if (card) bm_append_words(r, (uint16_t)k, bits + k * BM_WORDS, card);
    }
    free(bits);
    return r;
}

typedef struct codeset {
    uint64_t *bits;
    uint32_t *list;
    uint32_t n, cap;
} codeset;

static int codeset_add(codeset *cs, uint32_t c)
{
    if (cs->bits[c >> 6] >> (c & 63) & 1) return SEGDB_OK;
    cs->bits[c >> 6] |= UINT64_C(1) << (c & 63);
    if (cs->n == cs->cap) {
        uint32_t nc = cs->cap ? cs->cap * 2 : 64;
        uint32_t *a = realloc(cs->list, nc * sizeof *a);
        if (!a) return SEGDB_ENOMEM;
        cs->list = a;
        cs->cap = nc;
    }
    cs->list[cs->n++] = c;
    return SEGDB_OK;
}

/* Codes of text field f matching folded needle q: whole value (eq) or substring. */
static int text_codes(const textdict *td, const char *q, size_t qlen, bool substring, codeset *cs)
{
    if (td->n <= 1) return SEGDB_OK;
    if (!substring) {
        for (uint32_t c = textdict_find(td, q, qlen); c; c = td_next(td, c))
            if (codeset_add(cs, c)) return SEGDB_ENOMEM;
        return SEGDB_OK;
    }
    const char *base = td->fold, *p = base, *end = base + td->fold_len;
    uint32_t prev = 1;
    while (p < end) {
        const char *hit = fold_memmem(p, (size_t)(end - p), q, qlen);
        if (!hit) break;
        /* the code whose folded value contains hit: last fold_off <= offset */
        uint32_t off = (uint32_t)(hit - base);
        /* hits come in arena order: gallop forward from the previous code */
        uint32_t lo = prev, step = 1, hi;
        while (lo + step < td->n && td->fold_off[lo + step] <= off) {
            lo += step;
            step <<= 1;
        }
        hi = lo + step < td->n ? lo + step : td->n - 1;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo + 1) / 2;
            if (td->fold_off[mid] <= off) lo = mid;
            else hi = mid - 1;
        }
        if (codeset_add(cs, lo)) return SEGDB_ENOMEM;
        prev = lo;
        p = lo + 1 < td->n ? base + td->fold_off[lo + 1] : end;
    }
    return SEGDB_OK;
}

/* name~v, email~v, phone~v (substring) or field:v (whole value). v is raw. */
static roaring_bitmap_t *text_match(segdb_t *db, const field *f, const char *v, size_t vlen, bool substring)
{
    const textdict *td = f->text;
    size_t qlen;
    char *q;
    if (f->tmode == TEXT_PHONE && substring) {
        q = malloc(vlen + 3);
        if (!q) return NULL;
        qlen = fold_phone_query(v, vlen, q);
        q[qlen] = 0;
        if (qlen == 0) { free(q); return roaring_bitmap_create(); }
    } else {
        q = store_text_fold(f, v, vlen, &qlen);
        if (!q) return NULL;
    }
    if (substring && qlen == 0) {
        free(q);
        return roaring_bitmap_copy(f->present);
    }
    codeset cs = {0};
    cs.bits = calloc(((size_t)td->n + 64) / 64 + 1, sizeof(uint64_t));
    roaring_bitmap_t *r = NULL;
    /* rows a bulk load deferred join their values' rows first */
    if (cs.bits && store_text_settle(f->text) == SEGDB_OK && text_codes(td, q, qlen, substring, &cs) == SEGDB_OK)
        r = rows_of_codes(db, td, cs.bits, cs.list, cs.n);
    free(cs.bits);
    free(cs.list);
    free(q);
    return r;
}

/* ---- term binding --------------------------------------------------------- */

static int bind_node(binder *b, const fnode *n, pnode **out);

static int dict_value_leaf(binder *b, const field *f, const fvalue *v, pnode **out)
{
    uint32_t code = 0;
    if (f->kind == SEGDB_KIND_ENUM) {
        code = store_enum_code(f, v->text, v->len);
        if (!code) {
            char list[512];
            size_t k = 0;
            list[0] = 0;
            for (uint32_t m = 0; m < f->nmembers; m++)
                k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", m ? ", " : "", f->members[m]);
            return wrongtype(b, v, f, list);
        }
    } else if (f->kind == SEGDB_KIND_BOOL) {
        bool yes;
        if (value_parse_bool(v->text, v->len, &yes)) return wrongtype(b, v, f, "yes or no");
        code = yes ? BOOL_YES : BOOL_NO;
    } else {
        char *fv = fold_dup(v->text, v->len, NULL);
        if (!fv) return oom(b);
        code = dict_find(&f->dict, fv, strlen(fv));
        free(fv);
    }
    pnode *n;
    if (!code) n = node_new(P_EMPTY);
    else n = leaf_bitmap(f->dict.bm[code]);
    if (!n) return oom(b);
    *out = n;
    return SEGDB_OK;
}

/* relationship:X with dont_forget derived at evaluation time (SPEC 4.3). */
static int relationship_leaf(binder *b, const field *f, const fvalue *v, pnode **out)
{
    segdb_t *db = b->db;
    uint32_t code = store_enum_code(f, v->text, v->len);
    if (!code) return dict_value_leaf(b, f, v, out);
    if (code == REL_WON || code == REL_LOST) return dict_value_leaf(b, f, v, out);
    const field *lc = db->fields[F_LAST_CONTACTED];
    int64_t cutoff = b->p->now - (int64_t)db->opt.dont_forget_days * 86400;
    pnode *due = node_range(lc, 0, rkey_int(cutoff) - 1);
    if (!due) return oom(b);
    if (code == REL_DONT_FORGET) {
        /* overdue AND NOT (won OR lost) */
        pnode *a = node_new(P_AND), *o = node_new(P_OR);
        pnode *w = leaf_bitmap(f->dict.bm[REL_WON]), *l = leaf_bitmap(f->dict.bm[REL_LOST]);
        if (!a || !o || !w || !l || add_kid(o, w) || add_kid(o, l)) {
            node_free(a); node_free(o); node_free(w); node_free(l); node_free(due);
            return oom(b);
        }
        pnode *no = node_not(o);
        if (!no || add_kid(a, due) || add_kid(a, no)) { node_free(a); return oom(b); }
        *out = a;
        return SEGDB_OK;
    }
    /* stored X AND NOT overdue */
    pnode *x = leaf_bitmap(f->dict.bm[code]);
    pnode *a = node_new(P_AND);
    pnode *nd = node_not(due);
    if (!x || !a || !nd || add_kid(a, x) || add_kid(a, nd)) {
        node_free(x); node_free(a); node_free(nd);
        return oom(b);
    }
    *out = a;
    return SEGDB_OK;
}

/* [lo, hi] keys for a comparison on an ordered field. */
static int ordered_bounds(binder *b, const field *f, fop op, const fvalue *v, uint64_t *lo, uint64_t *hi)
{
    uint64_t vlo, vhi;
    switch (f->kind) {
    case SEGDB_KIND_TIME: {
        value_time vt;
        if (value_parse_time(v->text, v->len, b->p->now, b->db->opt.tz_offset_seconds, &vt))
            return wrongtype(b, v, f, "a time: 2019-11-01, 2019-11-01T18:00[:00][Z|+07:00], unix seconds, now, -30d, -12h, -90m or +7d");
        vlo = rkey_int(vt.lo);
        vhi = rkey_int(vt.hi);
        break;
    }
    case SEGDB_KIND_DATE: {
        int64_t d;
        if (value_parse_date(v->text, v->len, &d)) return wrongtype(b, v, f, "a date YYYY-MM-DD");
        vlo = vhi = rkey_int(d);
        break;
    }
    case SEGDB_KIND_INTEGER: {
        int64_t i;
        if (value_parse_int(v->text, v->len, &i)) return wrongtype(b, v, f, "an integer");
        vlo = vhi = rkey_int(i);
        break;
    }
    default: {
        double d;
        if (value_parse_number(v->text, v->len, &d)) return wrongtype(b, v, f, "a number");
        vlo = vhi = rkey_double(d);
        break;
    }
    }
    switch (op) {
    case FOP_LT:
        if (vlo == 0) { *lo = 1; *hi = 0; } else { *lo = 0; *hi = vlo - 1; }
        break;
    case FOP_LE: *lo = 0; *hi = vhi; break;
    case FOP_GT:
        if (vhi == UINT64_MAX) { *lo = 1; *hi = 0; } else { *lo = vhi + 1; *hi = UINT64_MAX; }
        break;
    case FOP_GE: *lo = vlo; *hi = UINT64_MAX; break;
    default: *lo = vlo; *hi = vhi; break;
    }
    return SEGDB_OK;
}

/* group:CODE (SPEC 4.4): members of CODE and of every group below it, one
 * OR over the subtree's bitmaps. */
static int group_leaf(binder *b, const field *f, const fvalue *v, pnode **out)
{
    char *fv = fold_dup(v->text, v->len, NULL);
    if (!fv) return oom(b);
    uint32_t code = dict_find(&f->dict, fv, strlen(fv));
    free(fv);
    if (!code) {
        *out = node_new(P_EMPTY);
        return *out ? SEGDB_OK : oom(b);
    }
    uint32_t *codes, n;
    if (group_subtree(b->db, code, &codes, &n)) return oom(b);
    pnode *node = n == 1 ? leaf_bitmap(f->dict.bm[codes[0]]) : node_new(P_BITMAPS);
    for (uint32_t i = 0; node && n > 1 && i < n; i++) {
        if (add_bm(node, f->dict.bm[codes[i]])) { node_free(node); node = NULL; break; }
        node->est += roaring_bitmap_get_cardinality(f->dict.bm[codes[i]]);
    }
    free(codes);
    if (!node) return oom(b);
    *out = node;
    return SEGDB_OK;
}

/* One value of field f under an equality-like op (':', '=', IN member). */
static int eq_leaf(binder *b, const field *f, const fvalue *v, pnode **out)
{
    segdb_t *db = b->db;
    switch (f->kind) {
    case SEGDB_KIND_ID: {
        int64_t tmp;
        (void)tmp;
        uint64_t id = 0;
        bool ok = v->len > 0 && v->len <= 20;
        for (size_t i = 0; ok && i < v->len; i++) {
            if (v->text[i] < '0' || v->text[i] > '9') { ok = false; break; }
            uint64_t d = (uint64_t)(v->text[i] - '0');
            if (id > (UINT64_MAX - d) / 10) ok = false;
            else id = id * 10 + d;
        }
        if (!ok) return wrongtype(b, v, f, "an unsigned 64-bit id");
        roaring_bitmap_t *r = roaring_bitmap_create();
        if (!r) return oom(b);
        uint32_t row = store_row_of(db, id);
        if (row != UINT32_MAX) roaring_bitmap_add(r, row);
        *out = leaf_owned(r);
        return *out ? SEGDB_OK : oom(b);
    }
    case SEGDB_KIND_TEXT: {
        roaring_bitmap_t *r = text_match(db, f, v->text, v->len, false);
        if (!r) return oom(b);
        *out = leaf_owned(r);
        return *out ? SEGDB_OK : oom(b);
    }
    case SEGDB_KIND_ENUM:
        if (f->id == F_RELATIONSHIP) return relationship_leaf(b, f, v, out);
        return dict_value_leaf(b, f, v, out);
    case SEGDB_KIND_BOOL:
        if (f->id == F_ARCHIVED) {
            bool yes;
            if (value_parse_bool(v->text, v->len, &yes)) return wrongtype(b, v, f, "yes or no");
            if (yes) {
                *out = leaf_bitmap(db->archived);
            } else {
                pnode *a = node_new(P_AND);
                pnode *l = leaf_bitmap(db->live), *n = node_not(leaf_bitmap(db->archived));
                if (!a || !l || !n || add_kid(a, l) || add_kid(a, n)) {
                    node_free(a); node_free(l); node_free(n);
                    return oom(b);
                }
                *out = a;
            }
            return *out ? SEGDB_OK : oom(b);
        }
        return dict_value_leaf(b, f, v, out);
    case SEGDB_KIND_CATEGORY:
    case SEGDB_KIND_TAGS:
        if (f->id == F_GROUPS) return group_leaf(b, f, v, out);
        return dict_value_leaf(b, f, v, out);
    default: {
        uint64_t lo, hi;
        int rc = ordered_bounds(b, f, FOP_EQ, v, &lo, &hi);
        if (rc) return rc;
        *out = node_range(f, lo, hi);
        return *out ? SEGDB_OK : oom(b);
    }
    }
}

/* `~` on dictionary fields: OR of the values whose folded form contains v. */
static int dict_contains_leaf(binder *b, const field *f, const fvalue *v, pnode **out)
{
    char *q = fold_dup(v->text, v->len, NULL);
    if (!q) return oom(b);
    pnode *n = node_new(P_BITMAPS);
    if (!n) { free(q); return oom(b); }
    for (uint32_t c = 1; c < f->dict.n; c++) {
        if (!strstr(f->dict.folded[c], q)) continue;
        if (add_bm(n, f->dict.bm[c])) { free(q); node_free(n); return oom(b); }
        n->est += roaring_bitmap_get_cardinality(f->dict.bm[c]);
    }
    free(q);
    if (n->nbms == 0) n->kind = P_EMPTY;
    *out = n;
    return SEGDB_OK;
}

static bool has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9') return true;
    return false;
}

/* Prefix err's message with the segment it came from. */
static void err_in_segment(segdb_err *err, const char *name)
{
    if (!err) return;
    char prefix[SEGDB_MAX_SEGMENT_NAME_BYTES + 32];
    size_t pl = (size_t)snprintf(prefix, sizeof prefix, "in segment '%s': ", name);
    size_t ml = strnlen(err->msg, sizeof err->msg - 1);
    if (pl + ml >= sizeof err->msg) ml = sizeof err->msg - 1 - pl; /* the message's end gives way */
    memmove(err->msg + pl, err->msg, ml);
    memcpy(err->msg, prefix, pl);
    err->msg[pl + ml] = 0;
}

static uint64_t count_terms(const fnode *n)
{
    if (n->kind == FN_TERM) return 1;
    uint64_t k = 0;
    for (size_t i = 0; i < n->nkids; i++) k += count_terms(n->kids[i]);
    return k;
}

/* segment:name (SPEC 7): a frozen segment's members, or a live segment's
 * filter parsed and bound in place (so its relative times are taken now). */
static int segment_leaf(binder *b, const fvalue *v, pnode **out)
{
    segdb_t *db = b->db;
    for (uint32_t i = 0; i < b->depth; i++) {
        if (strlen(b->stack[i]) != v->len || strncasecmp(b->stack[i], v->text, v->len) != 0) continue;
        char path[1024];
        size_t k = 0;
        for (uint32_t j = i; j < b->depth && k < sizeof path; j++)
            k += (size_t)snprintf(path + k, sizeof path - k, "%s -> ", b->stack[j]);
        if (k < sizeof path) snprintf(path + k, sizeof path - k, "%s", b->stack[i]);
        return err_set(b->err, SEGDB_EINVAL, "segment '%s' refers back to itself (%s)", b->stack[i], path);
    }
    const segment *s = segment_find(db, v->text, v->len);
    if (!s)
        return err_set(b->err, SEGDB_EINVAL, "no segment named '%.64s' (at position %u); SEGMENT.LIST shows them",
                       v->text, v->pos);
    pnode *n;
    if (s->frozen) {
        n = leaf_bitmap(s->members);
        if (!n) return oom(b);
        set_label(n, "segment:%s (frozen)", s->name);
        *out = n;
        return SEGDB_OK;
    }
    if (b->depth >= SEGDB_MAX_SEGMENT_DEPTH)
        return err_set(b->err, SEGDB_ELIMIT, "segments are inlined more than %u deep (at segment '%s')",
                       SEGDB_MAX_SEGMENT_DEPTH, s->name);
    filter_limits lim = {db->opt.max_filter_bytes, db->opt.max_filter_depth, db->opt.max_filter_terms};
    fnode *ast = NULL;
    int rc = filter_parse(s->text, strlen(s->text), &lim, &ast, b->err);
    if (rc) {
        err_in_segment(b->err, s->name);
        return rc;
    }
    b->inlined_terms += count_terms(ast);
    if (b->inlined_terms > db->opt.max_filter_terms) {
        fnode_free(ast);
        return err_set(b->err, SEGDB_ELIMIT, "the filter with its segments inlined has more than %u terms",
                       db->opt.max_filter_terms);
    }
    b->stack[b->depth++] = s->name;
    rc = bind_node(b, ast, &n);
    b->depth--;
    fnode_free(ast);
    if (rc) {
        err_in_segment(b->err, s->name);
        return rc;
    }
    set_label(n, "segment:%s", s->name);
    *out = n;
    return SEGDB_OK;
}

static int bind_term(binder *b, const fnode *t, pnode **out)
{
    segdb_t *db = b->db;
    const char *fname = t->field;
    size_t flen = strlen(fname);
    const fvalue *v = t->nvalues ? &t->values[0] : NULL;
    int rc;

    if (t->op == FOP_HAS || t->op == FOP_MISSING) {
        const field *f = store_field(db, fname, flen);
        if (!f && strcasecmp(fname, "tag") == 0) f = db->fields[F_TAGS];
        if (!f && strcasecmp(fname, "group") == 0) f = db->fields[F_GROUPS];
        if (!f) return unknown_field(b, t);
        if (f->id == F_ARCHIVED) b->p->with_archived = true;
        pnode *h = (f->id == F_ID || f->id == F_ARCHIVED) ? node_new(P_ALL) : leaf_bitmap(f->present);
        if (!h) return oom(b);
        set_label(h, "has:%s", f->name);
        if (t->op == FOP_MISSING) {
            h = node_not(h);
            if (!h) return oom(b);
        }
        *out = h;
        return SEGDB_OK;
    }

    /* keyword fields */
    if (strcasecmp(fname, "q") == 0) {
        if (t->op != FOP_COLON)
            return err_set(b->err, SEGDB_EINVAL, "q: at position %u takes one value: q:word", t->field_pos);
        roaring_bitmap_t *r = text_match(db, db->fields[F_NAME], v->text, v->len, true);
        if (!r) return oom(b);
        char *lower = malloc(v->len + 1);
        if (!lower) { roaring_bitmap_free(r); return oom(b); }
        fold_lower_ascii(v->text, v->len, lower);
        roaring_bitmap_t *e = text_match(db, db->fields[F_EMAIL], lower, v->len, true);
        free(lower);
        if (!e) { roaring_bitmap_free(r); return oom(b); }
        roaring_bitmap_or_inplace(r, e);
        roaring_bitmap_free(e);
        if (has_digit(v->text, v->len)) {
            roaring_bitmap_t *p = text_match(db, db->fields[F_PHONE], v->text, v->len, true);
            if (!p) { roaring_bitmap_free(r); return oom(b); }
            roaring_bitmap_or_inplace(r, p);
            roaring_bitmap_free(p);
        }
        *out = leaf_owned(r);
        if (!*out) return oom(b);
        set_label(*out, "q:%s", v->text);
        return SEGDB_OK;
    }
    if (strcasecmp(fname, "reachable") == 0) {
        if (t->op != FOP_COLON)
            return err_set(b->err, SEGDB_EINVAL, "reachable: at position %u takes one channel: email, sms, whatsapp or web", t->field_pos);
        char ch[16];
        size_t cl = v->len < sizeof ch - 1 ? v->len : sizeof ch - 1;
        for (size_t i = 0; i < cl; i++) ch[i] = (char)((v->text[i] >= 'A' && v->text[i] <= 'Z') ? v->text[i] + 32 : v->text[i]);
        ch[cl] = 0;
        pnode *n = NULL;
        if (strcmp(ch, "email") == 0) n = leaf_bitmap(db->fields[F_EMAIL]->present);
        else if (strcmp(ch, "sms") == 0) n = leaf_bitmap(db->fields[F_PHONE]->present);
        else if (strcmp(ch, "web") == 0) n = leaf_bitmap(db->fields[F_HMAC_VERIFIED]->dict.bm[BOOL_YES]);
        else if (strcmp(ch, "whatsapp") == 0) {
            n = node_new(P_AND);
            pnode *p = leaf_bitmap(db->fields[F_PHONE]->present);
            pnode *w = leaf_bitmap(db->fields[F_WHATSAPP]->dict.bm[BOOL_YES]);
            if (!n || !p || !w || add_kid(n, p) || add_kid(n, w)) {
                node_free(n); node_free(p); node_free(w);
                return oom(b);
            }
        } else {
            return err_set(b->err, SEGDB_EINVAL, "unknown channel '%.40s' at position %u; reachable: takes email, sms, whatsapp or web", v->text, v->pos);
        }
        if (!n) return oom(b);
        set_label(n, "reachable:%s", ch);
        *out = n;
        return SEGDB_OK;
    }
    if (strcasecmp(fname, "segment") == 0) {
        if (t->op != FOP_COLON && t->op != FOP_IN)
            return err_set(b->err, SEGDB_EINVAL, "segment at position %u takes a name: segment:name", t->field_pos);
        pnode *n = t->nvalues == 1 ? NULL : node_new(P_OR);
        if (t->nvalues != 1 && !n) return oom(b);
        for (size_t i = 0; i < t->nvalues; i++) {
            pnode *k;
            rc = segment_leaf(b, &t->values[i], &k);
            if (rc) { node_free(n); return rc; }
            if (!n) { n = k; break; }
            if (add_kid(n, k)) { node_free(k); node_free(n); return oom(b); }
        }
        *out = n;
        return SEGDB_OK;
    }

    const field *f = store_field(db, fname, flen);
    if (!f && strcasecmp(fname, "tag") == 0) f = db->fields[F_TAGS];
    if (!f && strcasecmp(fname, "group") == 0) f = db->fields[F_GROUPS];
    if (!f) return unknown_field(b, t);
    if (f->id == F_ARCHIVED) b->p->with_archived = true;

    bool ordered = f->kind == SEGDB_KIND_TIME || f->kind == SEGDB_KIND_DATE ||
                   f->kind == SEGDB_KIND_INTEGER || f->kind == SEGDB_KIND_NUMBER;
    pnode *n = NULL;
    switch (t->op) {
    case FOP_COLON:
    case FOP_EQ:
        rc = eq_leaf(b, f, v, &n);
        if (rc) return rc;
        break;
    case FOP_IN: {
        n = node_new(P_OR);
        if (!n) return oom(b);
        for (size_t i = 0; i < t->nvalues; i++) {
            pnode *k;
            rc = eq_leaf(b, f, &t->values[i], &k);
            if (rc) { node_free(n); return rc; }
            if (add_kid(n, k)) { node_free(k); node_free(n); return oom(b); }
        }
        break;
    }
    case FOP_NE: {
        pnode *x;
        rc = eq_leaf(b, f, v, &x);
        if (rc) return rc;
        if (f->id == F_ARCHIVED) {
            n = node_not(x);
        } else if (f->id == F_RELATIONSHIP) {
            n = node_not(x); /* relationship is always present (default new) */
        } else {
            n = node_present_andnot(f, x);
        }
        if (!n) return oom(b);
        break;
    }
    case FOP_LT: case FOP_LE: case FOP_GT: case FOP_GE: {
        if (!ordered)
            return bad_op(b, t, f, f->kind == SEGDB_KIND_TEXT ? ": = != or ~" : ": = != or :(a,b)");
        uint64_t lo, hi;
        rc = ordered_bounds(b, f, t->op, v, &lo, &hi);
        if (rc) return rc;
        n = node_range(f, lo, hi);
        if (!n) return oom(b);
        break;
    }
    case FOP_CONTAINS:
        if (f->kind == SEGDB_KIND_TEXT) {
            roaring_bitmap_t *r = text_match(db, f, v->text, v->len, true);
            if (!r) return oom(b);
            n = leaf_owned(r);
            if (!n) return oom(b);
        } else if (f->kind == SEGDB_KIND_CATEGORY || f->kind == SEGDB_KIND_TAGS || f->kind == SEGDB_KIND_ENUM) {
            rc = dict_contains_leaf(b, f, v, &n);
            if (rc) return rc;
        } else {
            return bad_op(b, t, f, ordered ? ": = != < <= > >=" : ": = !=");
        }
        break;
    default:
        return err_set(b->err, SEGDB_EINVAL, "unsupported operator at position %u", t->field_pos);
    }
    /* label: the term as written */
    if (t->op == FOP_IN) {
        size_t cap = 64;
        for (size_t i = 0; i < t->nvalues; i++) cap += t->values[i].len + 3;
        char *s = malloc(cap);
        if (s) {
            size_t k = (size_t)snprintf(s, cap, "%s:(", f->name);
            for (size_t i = 0; i < t->nvalues; i++)
                k += (size_t)snprintf(s + k, cap - k, "%s%s", i ? "," : "", t->values[i].text);
            snprintf(s + k, cap - k, ")");
            free(n->label);
            n->label = s;
        }
    } else {
        set_label(n, "%s%s%s%s", f->name, op_name(t->op),
                  (t->op == FOP_COLON || t->op == FOP_CONTAINS) ? "" : " ", v ? v->text : "");
    }
    *out = n;
    return SEGDB_OK;
}

static int bind_node(binder *b, const fnode *n, pnode **out)
{
    int rc;
    switch (n->kind) {
    case FN_TERM:
        return bind_term(b, n, out);
    case FN_NOT: {
        pnode *k;
        rc = bind_node(b, n->kids[0], &k);
        if (rc) return rc;
        *out = node_not(k);
        return *out ? SEGDB_OK : oom(b);
    }
    default: {
        pnode *p = node_new(n->kind == FN_AND ? P_AND : P_OR);
        if (!p) return oom(b);
        for (size_t i = 0; i < n->nkids; i++) {
            pnode *k;
            rc = bind_node(b, n->kids[i], &k);
            if (rc) { node_free(p); return rc; }
            if (add_kid(p, k)) { node_free(k); node_free(p); return oom(b); }
        }
        *out = p;
        return SEGDB_OK;
    }
    }
}

/* ---- optimization --------------------------------------------------------- */

static int cmp_est(const void *a, const void *b)
{
    const pnode *x = *(const pnode *const *)a, *y = *(const pnode *const *)b;
    /* bitmaps first (smallest first), then ranges (their edge rows are then
     * only checked inside what the bitmaps left), then NOT children */
    int nx = x->kind == P_NOT ? 2 : x->kind == P_RANGE ? 1 : 0;
    int ny = y->kind == P_NOT ? 2 : y->kind == P_RANGE ? 1 : 0;
    if (nx != ny) return nx - ny;
    return x->est < y->est ? -1 : x->est > y->est;
}

static pnode *optimize(pnode *n, uint64_t universe_card)
{
    for (uint32_t i = 0; i < n->nkids; i++) n->kids[i] = optimize(n->kids[i], universe_card);
    switch (n->kind) {
    case P_NOT: {
        pnode *k = n->kids[0];
        if (k->kind == P_NOT) {            /* NOT NOT x = x (within the universe) */
            pnode *x = k->kids[0];
            k->nkids = 0;
            n->nkids = 0;
            node_free(k);
            node_free(n);
            return x;
        }
        if (k->kind == P_EMPTY || k->kind == P_ALL) {
            pkind nk = k->kind == P_EMPTY ? P_ALL : P_EMPTY;
            node_free(n);
            pnode *c = node_new(nk);
            if (c) c->est = nk == P_ALL ? universe_card : 0;
            return c ? c : node_new(P_EMPTY);
        }
        n->est = universe_card > k->est ? universe_card - k->est : universe_card;
        if (k->est < universe_card) n->est = universe_card; /* upper bound */
        return n;
    }
    case P_AND:
    case P_OR: {
        bool is_and = n->kind == P_AND;
        /* flatten same-kind children, drop neutral ones, short-circuit */
        pnode **kids = NULL;
        uint32_t nk = 0;
        pnode *shortc = NULL;
        for (uint32_t i = 0; i < n->nkids; i++) {
            pnode *k = n->kids[i];
            if (!k) continue;
            if (k->kind == n->kind) {
                pnode **a = realloc(kids, (nk + k->nkids) * sizeof *a);
                if (!a) break;
                kids = a;
                for (uint32_t j = 0; j < k->nkids; j++) kids[nk++] = k->kids[j];
                k->nkids = 0;
                node_free(k);
                continue;
            }
            if ((is_and && k->kind == P_ALL) || (!is_and && k->kind == P_EMPTY)) { node_free(k); continue; }
            if ((is_and && k->kind == P_EMPTY) || (!is_and && k->kind == P_ALL)) {
                if (!shortc) shortc = k;
                else node_free(k);
                continue;
            }
            pnode **a = realloc(kids, (nk + 1) * sizeof *a);
            if (!a) { node_free(k); continue; }
            kids = a;
            kids[nk++] = k;
        }
        free(n->kids);
        n->kids = kids;
        n->nkids = nk;
        if (shortc) {
            char *label = n->label;
            n->label = NULL;
            node_free(n);
            free(shortc->label);
            shortc->label = label;
            shortc->est = shortc->kind == P_ALL ? universe_card : 0;
            return shortc;
        }
        if (nk == 0) {
            node_free(n);
            pnode *c = node_new(is_and ? P_ALL : P_EMPTY);
            if (c) c->est = is_and ? universe_card : 0;
            return c;
        }
        if (nk == 1) {
            pnode *k = kids[0];
            n->nkids = 0;
            node_free(n);
            return k;
        }
        if (is_and) {
            qsort(n->kids, n->nkids, sizeof *n->kids, cmp_est);
            if (n->kids[0]->kind == P_NOT) {
                /* all children negative: start from the universe */
                pnode *all = node_new(P_ALL);
                if (all && add_kid(n, all) == SEGDB_OK) {
                    all->est = universe_card;
                    memmove(n->kids + 1, n->kids, (n->nkids - 1) * sizeof *n->kids);
                    n->kids[0] = all;
                } else {
                    node_free(all);
                }
            }
            n->est = n->kids[0]->est;
        } else {
            /* many-way OR of plain bitmaps: one P_BITMAPS leaf */
            pnode *merged = NULL;
            uint32_t w = 0;
            uint64_t est = 0;
            for (uint32_t i = 0; i < n->nkids; i++) {
                pnode *k = n->kids[i];
                if (k->kind == P_BITMAP || k->kind == P_BITMAPS) {
                    if (!merged) {
                        merged = node_new(P_BITMAPS);
                        if (!merged) { n->kids[w++] = k; continue; }
                    }
                    bool ok = true;
                    for (uint32_t j = 0; j < k->nbms; j++)
                        if (add_bm(merged, k->bms[j])) ok = false;
                    if (ok) {
                        merged->est += k->est;
                        node_free(k);
                        continue;
                    }
                }
                n->kids[w++] = k;
            }
            n->nkids = w;
            if (merged) {
                if (merged->est > universe_card) merged->est = universe_card;
                if (add_kid(n, merged)) node_free(merged);
            }
            for (uint32_t i = 0; i < n->nkids; i++) est += n->kids[i]->est;
            n->est = est > universe_card ? universe_card : est;
            if (n->nkids == 1) {
                pnode *k = n->kids[0];
                n->nkids = 0;
                char *label = n->label;
                n->label = NULL;
                node_free(n);
                if (!k->label) k->label = label;
                else free(label);
                return k;
            }
        }
        return n;
    }
    default:
        return n;
    }
}

/* saving: the live segment this filter is about to be saved as, or NULL. */
static int build(segdb_t *db, const char *filter, const char *saving, plan **out, segdb_err *err)
{
    plan *p = calloc(1, sizeof *p);
    if (!p) return err_set(err, SEGDB_ENOMEM, "out of memory");
    p->now = store_now(db);
    int rc = SEGDB_OK;
    fnode *ast = NULL;
    if (!filter) {
        p->root = node_new(P_ALL);
        if (!p->root) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
    } else {
        size_t len = strlen(filter);
        bool blank = true;
        for (size_t i = 0; i < len; i++)
            if (filter[i] != ' ' && filter[i] != '\t' && filter[i] != '\n' && filter[i] != '\r') blank = false;
        if (blank) { rc = err_set(err, SEGDB_EINVAL, "empty filter: write a filter after WHERE, e.g. WHERE tag:vip"); goto done; }
        filter_limits lim = {db->opt.max_filter_bytes, db->opt.max_filter_depth, db->opt.max_filter_terms};
        rc = filter_parse(filter, len, &lim, &ast, err);
        if (rc) goto done;
        binder b = {db, p, err, {NULL}, 0, 0};
        if (saving) b.stack[b.depth++] = saving;
        rc = bind_node(&b, ast, &p->root);
        if (rc) goto done;
    }
    p->universe = p->with_archived ? db->live : db->universe;
    p->root = optimize(p->root, roaring_bitmap_get_cardinality(p->universe));
    if (!p->root) rc = err_set(err, SEGDB_ENOMEM, "out of memory");
done:
    fnode_free(ast);
    if (rc) {
        plan_free(p);
        return rc;
    }
    *out = p;
    return SEGDB_OK;
}

int plan_build(segdb_t *db, const char *filter, plan **out, segdb_err *err)
{
    return build(db, filter, NULL, out, err);
}

int plan_check_segment(segdb_t *db, const char *name, const char *filter, segdb_err *err)
{
    plan *p;
    int rc = build(db, filter, name, &p, err);
    if (rc == SEGDB_OK) plan_free(p);
    return rc;
}

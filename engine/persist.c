/*
 * persist.c — segdb_save / segdb_load: the engine state as a byte stream
 * (layout in persist.h). Columns and bitmaps are written as they are in
 * memory so a restart is mostly sequential reads; hash tables are rebuilt.
 * The reader checks every length it is given: a damaged stream is an error
 * with a reason, never a crash (storage also checksums the whole file).
 */
#include "persist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm.h"
#include "err.h"
#include "group.h"
#include "note.h"
#include "segment.h"
#include "store.h"

#define MAGIC_HEAD "SEGDBST2"    /* written; "SEGDBST1" (32-bit category codes only) is read too */
#define MAGIC_HEAD_V1 "SEGDBST1"
#define MAGIC_END "SEGDBEND"
#define PW_BUF (1u << 20)
#define MAX_STR_BYTES (64u << 20)

/* ---- writer ---------------------------------------------------------------- */

static void pw_flush(pwriter *w)
{
    if (w->rc || w->len == 0) return;
    int rc = w->fn(w->ctx, w->buf, w->len);
    if (rc) w->rc = rc < 0 ? rc : SEGDB_EINVAL;
    w->len = 0;
}

void pw_bytes(pwriter *w, const void *p, size_t n)
{
    if (w->rc) return;
    if (n >= PW_BUF) {
        pw_flush(w);
        if (w->rc) return;
        int rc = w->fn(w->ctx, p, n);
        if (rc) w->rc = rc < 0 ? rc : SEGDB_EINVAL;
        return;
    }
    if (w->len + n > w->cap) pw_flush(w);
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void pw_u8(pwriter *w, uint8_t v) { pw_bytes(w, &v, 1); }
void pw_u32(pwriter *w, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
    pw_bytes(w, b, 4);
}
void pw_u64(pwriter *w, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    pw_bytes(w, b, 8);
}
void pw_str(pwriter *w, const char *s, size_t n)
{
    pw_u32(w, (uint32_t)n);
    pw_bytes(w, s, n);
}
void pw_array(pwriter *w, const void *p, uint64_t nbytes)
{
    pw_u64(w, nbytes);
    if (nbytes) pw_bytes(w, p, (size_t)nbytes);
}
void pw_bitmap(pwriter *w, const roaring_bitmap_t *b)
{
    if (w->rc) return;
    size_t n = roaring_bitmap_portable_size_in_bytes(b);
    char stackbuf[4096];
    char *buf = n <= sizeof stackbuf ? stackbuf : malloc(n);
    if (!buf) { w->rc = SEGDB_ENOMEM; return; }
    roaring_bitmap_portable_serialize(b, buf);
    pw_u32(w, (uint32_t)n);
    pw_bytes(w, buf, n);
    if (buf != stackbuf) free(buf);
}

/* ---- reader ---------------------------------------------------------------- */

void pr_fail(preader *r, const char *why)
{
    if (r->bad) return;
    r->bad = true;
    snprintf(r->why, sizeof r->why, "%s", why);
}

bool pr_room(preader *r, uint64_t count, uint64_t unit)
{
    if (r->bad) return false;
    if (unit && count > r->left / unit) {
        pr_fail(r, "a length points past the end of the snapshot");
        return false;
    }
    return true;
}

void pr_bytes(preader *r, void *p, size_t n)
{
    if (r->bad) { memset(p, 0, n); return; }
    if (n > r->left) {
        memset(p, 0, n);
        pr_fail(r, "the snapshot ends early");
        return;
    }
    r->left -= n;
    if (n && r->fn(r->ctx, p, n)) {
        memset(p, 0, n);
        pr_fail(r, "the snapshot ends early");
    }
}
uint8_t pr_u8(preader *r) { uint8_t v; pr_bytes(r, &v, 1); return v; }
uint32_t pr_u32(preader *r)
{
    unsigned char b[4];
    pr_bytes(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
uint64_t pr_u64(preader *r)
{
    unsigned char b[8];
    pr_bytes(r, b, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}
char *pr_str(preader *r, size_t max, size_t *len)
{
    uint32_t n = pr_u32(r);
    if (r->bad) return NULL;
    if (n > max) { pr_fail(r, "a string is longer than allowed"); return NULL; }
    if (!pr_room(r, n, 1)) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) { pr_fail(r, "out of memory"); return NULL; }
    pr_bytes(r, s, n);
    s[n] = 0;
    if (len) *len = n;
    if (r->bad) { free(s); return NULL; }
    return s;
}
void pr_array_into(preader *r, void *dst, uint64_t want)
{
    uint64_t n = pr_u64(r);
    if (r->bad) return;
    if (n != want) { pr_fail(r, "an array has the wrong length"); return; }
    if (!pr_room(r, n, 1)) return;
    pr_bytes(r, dst, (size_t)n);
}
roaring_bitmap_t *pr_bitmap(preader *r)
{
    uint32_t n = pr_u32(r);
    if (r->bad) return NULL;
    if (n > (1u << 30)) { pr_fail(r, "a bitmap is implausibly large"); return NULL; }
    if (!pr_room(r, n, 1)) return NULL;
    if (n > r->scratch_cap || !r->scratch) { /* never a NULL buffer, even for n = 0 */
        size_t cap = r->scratch_cap ? r->scratch_cap : 4096;
        while (cap < n) cap *= 2;
        char *p = realloc(r->scratch, cap);
        if (!p) { pr_fail(r, "out of memory"); return NULL; }
        r->scratch = p;
        r->scratch_cap = cap;
    }
    char *buf = r->scratch;
    pr_bytes(r, buf, n);
    roaring_bitmap_t *b = NULL;
    if (!r->bad) {
        b = roaring_bitmap_portable_deserialize_safe(buf, n);
        if (!b || roaring_bitmap_portable_size_in_bytes(b) != n) {
            if (b) roaring_bitmap_free(b);
            b = NULL;
            pr_fail(r, "a bitmap is malformed");
        }
    }
    return b;
}

/* A bitmap of row positions: every row must exist (< nrows), since readers
 * index columns with them. */
static roaring_bitmap_t *pr_rows(preader *r, uint32_t nrows)
{
    roaring_bitmap_t *b = pr_bitmap(r);
    if (b && !bm_valid(b)) {
        roaring_bitmap_free(b);
        pr_fail(r, "a bitmap is malformed");
        return NULL;
    }
    if (b && !roaring_bitmap_is_empty(b) && (nrows == 0 || roaring_bitmap_maximum(b) >= nrows)) {
        roaring_bitmap_free(b);
        pr_fail(r, "a bitmap holds rows past the row count");
        return NULL;
    }
    return b;
}

/* ---- campaign state: segments, groups, notes ------------------------------ */

static void campaign_write(segdb_t *db, pwriter *w)
{
    const segment_set *ss = db->segments;
    uint32_t ns = ss ? ss->n : 0;
    pw_u32(w, ns);
    for (uint32_t i = 0; i < ns; i++) {
        const segment *sg = &ss->v[i];
        pw_str(w, sg->name, strlen(sg->name));
        pw_u8(w, sg->frozen ? 1 : 0);
        pw_str(w, sg->text ? sg->text : "", sg->text ? strlen(sg->text) : 0);
        pw_u64(w, (uint64_t)sg->created);
        if (sg->frozen) pw_bitmap(w, sg->members);
    }
    const group_tree *gt = db->groups;
    uint32_t ng = gt ? gt->n : 0;
    pw_u32(w, ng);
    for (uint32_t c = 1; c < ng; c++) {
        const group *g = &gt->v[c];
        pw_u8(w, g->name ? 1 : 0);
        pw_str(w, g->name ? g->name : "", g->name ? strlen(g->name) : 0);
        pw_u32(w, g->parent);
        pw_u64(w, (uint64_t)g->created);
    }
    const note_book *nb = db->notes;
    pw_u64(w, nb ? nb->next_id : 1);
    uint32_t nn = nb ? nb->n : 0;
    pw_u32(w, nn);
    for (uint32_t i = 0; i < nn; i++) {
        const note *t = &nb->v[i];
        pw_u64(w, t->id);
        pw_u32(w, t->row);
        pw_u64(w, (uint64_t)t->created);
        pw_u64(w, (uint64_t)t->edited);
        pw_u8(w, t->text ? 1 : 0);
        pw_str(w, t->text ? t->text : "", t->text ? t->len : 0);
    }
}

static void campaign_read(segdb_t *db, preader *r)
{
    uint32_t ns = pr_u32(r);
    if (r->bad) return;
    if (ns > (1u << 24)) { pr_fail(r, "implausible segment count"); return; }
    if (!pr_room(r, ns, 17)) return;
    if (ns) {
        segment_set *ss = calloc(1, sizeof *ss);
        if (!ss) { pr_fail(r, "out of memory"); return; }
        db->segments = ss;
        ss->v = calloc(ns, sizeof *ss->v);
        if (!ss->v) { pr_fail(r, "out of memory"); return; }
        ss->cap = ns;
        for (uint32_t i = 0; i < ns && !r->bad; i++) {
            segment *sg = &ss->v[i];
            size_t nl;
            char *name = pr_str(r, SEGDB_MAX_SEGMENT_NAME_BYTES, &nl);
            if (!name) return;
            memcpy(sg->name, name, nl + 1);
            free(name);
            ss->n++; /* counted now so a failure below still frees its parts */
            sg->frozen = pr_u8(r) != 0;
            sg->text = pr_str(r, SEGDB_MAX_FILTER_BYTES * 16u, NULL);
            sg->created = (int64_t)pr_u64(r);
            if (sg->frozen) sg->members = pr_rows(r, db->nrows);
        }
    }
    uint32_t ng = pr_u32(r);
    if (r->bad) return;
    field *gf = db->fields[F_GROUPS];
    if (ng > (gf->dict.n ? gf->dict.n : 1)) { pr_fail(r, "groups name codes that do not exist"); return; }
    if (!pr_room(r, ng, 17)) return;
    if (ng) {
        group_tree *gt = calloc(1, sizeof *gt);
        if (!gt) { pr_fail(r, "out of memory"); return; }
        db->groups = gt;
        gt->v = calloc(ng, sizeof *gt->v);
        if (!gt->v) { pr_fail(r, "out of memory"); return; }
        gt->cap = gt->n = ng;
        for (uint32_t c = 1; c < ng && !r->bad; c++) {
            group *g = &gt->v[c];
            uint8_t has = pr_u8(r);
            char *name = pr_str(r, 1u << 16, NULL);
            g->parent = pr_u32(r);
            g->created = (int64_t)pr_u64(r);
            if (has) g->name = name;
            else free(name);
            if (!r->bad && g->parent >= ng) pr_fail(r, "a group's parent does not exist");
        }
    }
    uint64_t next_id = pr_u64(r);
    uint32_t nn = pr_u32(r);
    if (r->bad) return;
    if (nn > (1u << 28)) { pr_fail(r, "implausible note count"); return; }
    if (!pr_room(r, nn, 33)) return;
    if (nn || next_id > 1) {
        note_book *nb = calloc(1, sizeof *nb);
        if (!nb) { pr_fail(r, "out of memory"); return; }
        db->notes = nb;
        nb->next_id = next_id ? next_id : 1;
        nb->v = calloc(nn ? nn : 1, sizeof *nb->v);
        if (!nb->v) { pr_fail(r, "out of memory"); return; }
        nb->cap = nn ? nn : 1;
        for (uint32_t i = 0; i < nn && !r->bad; i++) {
            note *t = &nb->v[i];
            t->id = pr_u64(r);
            t->row = pr_u32(r);
            t->created = (int64_t)pr_u64(r);
            t->edited = (int64_t)pr_u64(r);
            uint8_t has = pr_u8(r);
            size_t tl = 0;
            char *text = pr_str(r, 64u * 1024, &tl);
            if (r->bad) { free(text); return; }
            if (t->row >= db->nrows) { free(text); pr_fail(r, "a note belongs to a row that does not exist"); return; }
            if (has) { t->text = text; t->len = (uint32_t)tl; }
            else free(text);
            t->older = NOTE_NONE;
            nb->n++;
        }
        if (!r->bad && note_reindex(db)) pr_fail(r, "out of memory");
    }
}

/* ---- save ------------------------------------------------------------------ */

static void save_field(pwriter *w, segdb_t *db, field *f)
{
    uint32_t nrows = db->nrows;
    pw_str(w, f->name, strlen(f->name));
    pw_u8(w, (uint8_t)f->kind);
    pw_u8(w, (uint8_t)((f->builtin ? 1 : 0) | (f->derived ? 2 : 0)));
    pw_u8(w, (uint8_t)f->tmode);
    pw_bitmap(w, f->present);
    uint32_t n = f->dict.n ? f->dict.n : 1;
    pw_u32(w, n);
    for (uint32_t c = 1; c < n; c++) {
        pw_str(w, f->dict.display[c], strlen(f->dict.display[c]));
        pw_str(w, f->dict.folded[c], strlen(f->dict.folded[c]));
        pw_bitmap(w, f->dict.bm[c]);
    }
    uint8_t mask = (f->codes8 ? 1 : 0) | (f->codes32 ? 2 : 0) | (f->i64 ? 4 : 0) | (f->i8 ? 8 : 0) |
                   (f->f64 ? 16 : 0) | (f->i32 ? 32 : 0) | (f->i16 ? 64 : 0);
    pw_u8(w, mask);
    if (f->codes8) pw_array(w, f->codes8, nrows);
    if (f->codes32) pw_array(w, f->codes32, (uint64_t)nrows * 4);
    if (f->i64) pw_array(w, f->i64, (uint64_t)nrows * 8);
    if (f->i32) pw_array(w, f->i32, (uint64_t)nrows * 4);
    if (f->i16) pw_array(w, f->i16, (uint64_t)nrows * 2);
    if (f->i8) pw_array(w, f->i8, nrows);
    if (f->f64) pw_array(w, f->f64, (uint64_t)nrows * 8);
    textdict *td = f->text;
    pw_u8(w, td ? 1 : 0);
    if (td) {
        uint32_t tn = td->n ? td->n : 1;
        pw_u32(w, tn);
        pw_array(w, td->orig, td->orig_len);
        pw_array(w, td->fold, td->fold_len);
        uint32_t *arrs[] = {td->orig_off, td->fold_off, td->refs, td->last_row, td->multi};
        for (size_t k = 0; k < 5; k++) {
            if (td->n) pw_array(w, arrs[k], (uint64_t)tn * 4);
            else pw_array(w, NULL, 0);
        }
        pw_u32(w, td->chain_n);
        for (uint32_t k = 0; k < td->chain_slots; k++) {
            if (!td->chain_keys[k]) continue;
            pw_u32(w, td->chain_keys[k]);
            pw_u32(w, td->chain_vals[k]);
        }
        pw_u32(w, td->nposts);
        for (uint32_t i = 0; i < td->nposts && !w->rc; i++) {
            const tpost *p = &td->posts[i];
            if (p->bm) {
                pw_bitmap(w, p->bm);
                continue;
            }
            roaring_bitmap_t *b = roaring_bitmap_of_ptr(p->n, p->rows);
            if (!b) { w->rc = SEGDB_ENOMEM; return; }
            pw_bitmap(w, b);
            roaring_bitmap_free(b);
        }
        pw_u8(w, td->row_code ? 1 : 0);
        if (td->row_code) pw_array(w, td->row_code, (uint64_t)nrows * 4);
    }
    range_index *ri = f->ridx;
    pw_u8(w, ri ? (uint8_t)ri->nlevels : 0);
    if (ri) {
        if (rindex_flush(ri)) { w->rc = SEGDB_ENOMEM; return; }
        for (uint32_t l = 0; l < ri->nlevels; l++) {
            pw_u32(w, ri->lv[l].n);
            pw_array(w, ri->lv[l].keys, (uint64_t)ri->lv[l].n * 8);
            for (uint32_t i = 0; i < ri->lv[l].n; i++) pw_bitmap(w, ri->lv[l].bms[i]);
        }
    }
}

int segdb_save(segdb_t *db, segdb_write_fn fn, void *ctx, segdb_err *err)
{
    pwriter w = {.fn = fn, .ctx = ctx, .cap = PW_BUF};
    w.buf = malloc(PW_BUF);
    if (!w.buf) return err_set(err, SEGDB_ENOMEM, "out of memory");
    /* text rows a bulk load deferred join their values' rows, which are saved */
    for (uint32_t k = 0; k < db->nfields; k++)
        if (store_text_settle(db->fields[k]->text)) {
            free(w.buf);
            return err_set(err, SEGDB_ENOMEM, "out of memory");
        }
    pw_bytes(&w, MAGIC_HEAD, 8);
    pw_u64(&w, db->seq);
    pw_u32(&w, db->nrows);
    pw_u32(&w, db->nfields);
    pw_u64(&w, db->max_id);
    pw_u8(&w, db->ids_ascending ? 1 : 0);
    pw_array(&w, db->ids, (uint64_t)db->nrows * 8);
    pw_bitmap(&w, db->live);
    pw_bitmap(&w, db->archived);
    for (uint32_t k = 0; k < db->nfields && !w.rc; k++) save_field(&w, db, db->fields[k]);
    if (!w.rc) campaign_write(db, &w);
    pw_bytes(&w, MAGIC_END, 8);
    pw_flush(&w);
    free(w.buf);
    if (w.rc) return err_set(err, w.rc, "writing the snapshot failed");
    return SEGDB_OK;
}

/* ---- load ------------------------------------------------------------------ */

/* Largest element of a loaded column (0 for none): one branch-free pass
 * the compiler vectorizes, to check every row's code at once. */
static uint32_t max_u8(const uint8_t *a, uint32_t n)
{
    uint8_t m = 0;
    for (uint32_t i = 0; i < n; i++) m = a[i] > m ? a[i] : m;
    return m;
}

static uint32_t max_u32(const uint32_t *a, uint32_t n)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) m = a[i] > m ? a[i] : m;
    return m;
}

static void load_dict(preader *r, field *f, uint32_t nrows)
{
    uint32_t n = pr_u32(r);
    if (r->bad) return;
    if (n > (1u << 28)) { pr_fail(r, "a dictionary is implausibly large"); return; }
    if (!pr_room(r, n, 12)) return;
    bool preset = f->dict.n > 1; /* enum and bool members are interned at open */
    if (preset && n != f->dict.n) { pr_fail(r, "an enum field has the wrong number of members"); return; }
    for (uint32_t c = 1; c < n && !r->bad; c++) {
        size_t dl, fl;
        char *disp = pr_str(r, 1u << 20, &dl);
        char *fold = pr_str(r, 1u << 20, &fl);
        roaring_bitmap_t *bm = pr_rows(r, nrows);
        if (r->bad) { free(disp); free(fold); if (bm) roaring_bitmap_free(bm); return; }
        if (preset) {
            roaring_bitmap_free(f->dict.bm[c]);
            f->dict.bm[c] = bm;
            free(disp);
            free(fold);
            continue;
        }
        uint32_t code = dict_intern(&f->dict, disp, dl);
        free(disp);
        free(fold);
        if (code != c) {
            roaring_bitmap_free(bm);
            pr_fail(r, code ? "a dictionary repeats a value" : "out of memory");
            return;
        }
        roaring_bitmap_free(f->dict.bm[c]);
        f->dict.bm[c] = bm;
    }
}

static void load_column(preader *r, segdb_t *db, void **col, size_t width)
{
    if (!*col) {
        *col = col_alloc((size_t)(db->rows_cap ? db->rows_cap : 1) * width);
        if (!*col) { pr_fail(r, "out of memory"); return; }
    }
    pr_array_into(r, *col, (uint64_t)db->nrows * width);
}

static void load_text(preader *r, segdb_t *db, field *f)
{
    textdict *td = f->text;
    uint32_t tn = pr_u32(r);
    if (r->bad) return;
    if (tn == 0 || tn > (1u << 31)) { pr_fail(r, "a text dictionary is implausibly large"); return; }
    if (!pr_room(r, tn, 24)) return;
    uint64_t ol = pr_u64(r);
    if (r->bad || ol > UINT32_MAX) { pr_fail(r, "a text arena is implausibly large"); return; }
    if (!pr_room(r, ol, 1)) return;
    if (store_text_reserve(td, tn, ol, 0)) { pr_fail(r, "out of memory"); return; }
    pr_bytes(r, td->orig, (size_t)ol);
    td->orig_len = ol;
    uint64_t fl = pr_u64(r);
    if (r->bad || fl > UINT32_MAX) { pr_fail(r, "a text arena is implausibly large"); return; }
    if (!pr_room(r, fl, 1)) return;
    if (store_text_reserve(td, tn, ol, fl)) { pr_fail(r, "out of memory"); return; }
    pr_bytes(r, td->fold, (size_t)fl);
    td->fold_len = fl;
    uint32_t *arrs[] = {td->orig_off, td->fold_off, td->refs, td->last_row, td->multi};
    for (size_t k = 0; k < 5; k++) pr_array_into(r, arrs[k], tn > 1 ? (uint64_t)tn * 4 : 0);
    uint32_t nchain = pr_u32(r);
    if (r->bad || !pr_room(r, nchain, 8)) return;
    for (uint32_t k = 0; k < nchain && !r->bad; k++) {
        uint32_t from = pr_u32(r), to = pr_u32(r);
        if (r->bad) return;
        if (from == 0 || from >= tn || to == 0 || to >= tn || to <= from) { pr_fail(r, "a text value chain is out of range"); return; }
        if (td_set_next(td, from, to)) { pr_fail(r, "out of memory"); return; }
    }
    if (r->bad) return;
    td->n = tn > 1 ? tn : 0;
    /* offsets must point inside the arenas, NUL-terminated */
    for (uint32_t c = 1; c < tn; c++) {
        if (td->fold_off[c] >= fl || (td->orig_off[c] != UINT32_MAX && td->orig_off[c] >= ol)) {
            pr_fail(r, "a text dictionary offset is out of range");
            return;
        }
    }
    if ((fl && td->fold[fl - 1]) || (ol && td->orig[ol - 1])) { pr_fail(r, "a text arena is not terminated"); return; }
    uint32_t nm = pr_u32(r);
    if (r->bad || nm >= tn + 1) { pr_fail(r, "a text dictionary has too many shared values"); return; }
    td->posts = calloc(nm ? nm : 1, sizeof *td->posts);
    if (!td->posts) { pr_fail(r, "out of memory"); return; }
    td->posts_cap = nm ? nm : 1;
    for (uint32_t i = 0; i < nm && !r->bad; i++) {
        roaring_bitmap_t *b = pr_rows(r, db->nrows);
        if (!b) break;
        tpost *p = &td->posts[td->nposts++];
        uint64_t card = roaring_bitmap_get_cardinality(b);
        if (card > TPOST_MAX_ARRAY) {
            p->bm = b;
            continue;
        }
        p->rows = malloc((card ? card : 1) * sizeof *p->rows);
        if (!p->rows) { roaring_bitmap_free(b); pr_fail(r, "out of memory"); break; }
        roaring_bitmap_to_uint32_array(b, p->rows);
        p->n = p->cap = (uint32_t)card;
        roaring_bitmap_free(b);
    }
    for (uint32_t c = 1; c < tn && !r->bad; c++) {
        if (td->multi[c] > td->nposts) pr_fail(r, "a text value names a missing posting list");
        if (td->last_row[c] != UINT32_MAX && td->last_row[c] >= db->nrows) pr_fail(r, "a text value names a missing row");
    }
    if (pr_u8(r)) load_column(r, db, (void **)&td->row_code, 4);
    if (r->bad) return;
    if (td->row_code && max_u32(td->row_code, db->nrows) >= tn) {
        pr_fail(r, "a row holds a text code that does not exist");
        return;
    }
    if (store_text_rehash(td)) pr_fail(r, "out of memory");
}

static void load_range(preader *r, field *f, uint32_t nrows)
{
    range_index *ri = f->ridx;
    uint8_t nl = pr_u8(r);
    if (r->bad || (nl == 0 && !ri)) return;
    if (!ri || nl == 0 || nl > ri->nlevels) { pr_fail(r, "a range index has the wrong levels"); return; }
    /* sparse finest levels were dropped before the save (rindex_flush) */
    while (ri->nlevels > nl) rindex_drop_finest(ri);
    for (uint32_t l = 0; l < nl && !r->bad; l++) {
        rlevel *lv = &ri->lv[l];
        uint32_t n = pr_u32(r);
        if (r->bad || n > (1u << 28)) { pr_fail(r, "a range index level is implausibly large"); return; }
        if (!pr_room(r, n, 12)) return;
        lv->keys = calloc(n ? n : 1, sizeof *lv->keys);
        lv->bms = calloc(n ? n : 1, sizeof *lv->bms);
        if (!lv->keys || !lv->bms) { pr_fail(r, "out of memory"); return; }
        lv->cap = n ? n : 1;
        pr_array_into(r, lv->keys, (uint64_t)n * 8);
        for (uint32_t i = 0; i < n && !r->bad; i++) {
            if (i && lv->keys[i] <= lv->keys[i - 1]) { pr_fail(r, "range index buckets are out of order"); return; }
            lv->bms[i] = pr_rows(r, nrows);
            if (lv->bms[i]) lv->n++;
        }
    }
}

static void load_field(preader *r, segdb_t *db, uint32_t k)
{
    size_t nl;
    char *name = pr_str(r, SEGDB_MAX_FIELD_NAME_BYTES, &nl);
    uint8_t kind = pr_u8(r);
    uint8_t flags = pr_u8(r);
    uint8_t tmode = pr_u8(r);
    if (r->bad) { free(name); return; }
    field *f;
    if (k < F_BUILTIN_COUNT) {
        f = db->fields[k];
        if (strcmp(f->name, name) != 0 || f->kind != kind || !(flags & 1)) {
            free(name);
            pr_fail(r, "a built-in field does not match this version");
            return;
        }
    } else {
        segdb_err e;
        if (kind > SEGDB_KIND_NUMBER || store_add_field(db, name, (segdb_kind)kind, &f, &e)) {
            free(name);
            pr_fail(r, "a custom field can't be recreated");
            return;
        }
        f->tmode = (text_mode)(tmode <= TEXT_EXACT ? tmode : TEXT_FOLD);
    }
    free(name);
    roaring_bitmap_t *pres = pr_rows(r, db->nrows);
    if (!pres) return;
    roaring_bitmap_free(f->present);
    f->present = pres;
    load_dict(r, f, db->nrows);
    uint8_t mask = pr_u8(r);
    if (mask & 1) load_column(r, db, (void **)&f->codes8, 1);
    if (mask & 2) load_column(r, db, (void **)&f->codes32, 4);
    if (mask & 4) load_column(r, db, (void **)&f->i64, 8);
    if (mask & 32) load_column(r, db, (void **)&f->i32, 4);
    if (mask & 64) load_column(r, db, (void **)&f->i16, 2);
    if (__builtin_popcount(mask & (4 | 32 | 64)) > 1) { pr_fail(r, "a field has two integer columns"); return; }
    /* value codes: 8 bits for enums and bools, 8 or 32 bits (never both) for categories */
    bool coded8 = f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL || f->kind == SEGDB_KIND_CATEGORY;
    if (((mask & 1) && !coded8) || ((mask & 2) && f->kind != SEGDB_KIND_CATEGORY) || (mask & 3) == 3) {
        pr_fail(r, "a field has a value-code column its kind does not use");
        return;
    }
    if (coded8 && !(mask & 3) && !roaring_bitmap_is_empty(f->present)) {
        pr_fail(r, "a field has values but no value-code column");
        return;
    }
    if (mask & 8) load_column(r, db, (void **)&f->i8, 1);
    if (mask & 16) load_column(r, db, (void **)&f->f64, 8);
    if (r->bad) return;
    uint32_t ncodes = f->dict.n ? f->dict.n : 1;
    if ((f->codes8 && max_u8(f->codes8, db->nrows) >= ncodes) || (f->codes32 && max_u32(f->codes32, db->nrows) >= ncodes)) {
        pr_fail(r, "a row holds a value code that does not exist");
        return;
    }
    /* a version 1 stream holds every category in 32 bits: fewer than 256 values fit in 8 */
    if (f->codes32 && ncodes <= UINT8_MAX + 1u && store_narrow_codes(db, f)) {
        pr_fail(r, "out of memory");
        return;
    }
    uint8_t has_text = pr_u8(r);
    if (has_text && !f->text) { pr_fail(r, "a non-text field has text"); return; }
    if (has_text) load_text(r, db, f);
    load_range(r, f, db->nrows);
}

int segdb_load(segdb_t **out, const segdb_options *o, segdb_read_fn fn, void *ctx, uint64_t stream_len,
               segdb_err *err)
{
    *out = NULL;
    segdb_t *db = segdb_open(o);
    if (!db) return err_set(err, SEGDB_ENOMEM, "out of memory");
    preader r = {.fn = fn, .ctx = ctx, .left = stream_len};
    char magic[8];
    pr_bytes(&r, magic, 8);
    if (!r.bad && memcmp(magic, MAGIC_HEAD, 8) != 0 && memcmp(magic, MAGIC_HEAD_V1, 8) != 0)
        pr_fail(&r, "not a segdb snapshot stream (bad magic)");
    uint64_t seq = pr_u64(&r);
    uint32_t nrows = pr_u32(&r);
    uint32_t nfields = pr_u32(&r);
    uint64_t max_id = pr_u64(&r);
    uint8_t asc = pr_u8(&r);
    if (!r.bad && (nfields < F_BUILTIN_COUNT || nfields > SEGDB_MAX_FIELDS)) pr_fail(&r, "the field count is wrong");
    if (!r.bad && nrows && pr_room(&r, nrows, 8) && store_reserve_rows(db, nrows)) pr_fail(&r, "out of memory");
    if (!r.bad) {
        db->nrows = nrows;
        pr_array_into(&r, db->ids, (uint64_t)nrows * 8);
    }
    roaring_bitmap_t *live = pr_rows(&r, db->nrows), *archived = pr_rows(&r, db->nrows);
    if (live) { roaring_bitmap_free(db->live); db->live = live; }
    if (archived) { roaring_bitmap_free(db->archived); db->archived = archived; }
    if (!r.bad && !roaring_bitmap_is_subset(db->archived, db->live)) pr_fail(&r, "archived rows are not live");
    for (uint32_t k = 0; k < nfields && !r.bad; k++) load_field(&r, db, k);
    if (!r.bad) campaign_read(db, &r);
    char end[8];
    pr_bytes(&r, end, 8);
    if (!r.bad && memcmp(end, MAGIC_END, 8) != 0) pr_fail(&r, "the snapshot's end marker is missing");
    if (!r.bad) {
        db->seq = seq;
        db->max_id = max_id;
        (void)asc; /* store_rebuild_id_map recomputes it from the ids */
        roaring_bitmap_t *u = roaring_bitmap_andnot(db->live, db->archived);
        if (!u || store_rebuild_id_map(db)) pr_fail(&r, "out of memory or duplicate ids");
        if (u) { roaring_bitmap_free(db->universe); db->universe = u; }
    }
    free(r.scratch);
    if (r.bad) {
        segdb_close(db);
        return err_set(err, SEGDB_EINVAL, "corrupt snapshot: %s", r.why);
    }
    *out = db;
    return SEGDB_OK;
}

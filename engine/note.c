/*
 * note.c — notes on contacts (see note.h): NOTE.ADD/LIST/EDIT/DEL and their
 * records.
 */
#include "note.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fold.h"
#include "store.h"

static note_book *book(segdb_t *db, bool create)
{
    if (!db->notes && create) {
        db->notes = calloc(1, sizeof *db->notes);
        if (db->notes) db->notes->next_id = 1;
    }
    return db->notes;
}

static inline uint32_t row_hash(uint32_t row, uint32_t mask)
{
    uint64_t x = (uint64_t)row * UINT64_C(0x9e3779b97f4a7c15);
    return (uint32_t)(x >> 32) & mask;
}

/* Slot of row in the map, or the empty slot where it would go. */
static uint32_t slot_of(const note_book *nb, uint32_t row)
{
    uint32_t mask = nb->nslots - 1, i = row_hash(row, mask);
    while (nb->slot_row[i] && nb->slot_row[i] != row + 1) i = (i + 1) & mask;
    return i;
}

static uint32_t head_of(const note_book *nb, uint32_t row)
{
    if (!nb || !nb->nslots) return NOTE_NONE;
    uint32_t i = slot_of(nb, row);
    return nb->slot_row[i] ? nb->slot_head[i] : NOTE_NONE;
}

static int map_resize(note_book *nb, uint32_t nslots)
{
    uint32_t *rows = calloc(nslots, sizeof *rows), *heads = malloc(nslots * sizeof *heads);
    if (!rows || !heads) {
        free(rows);
        free(heads);
        return SEGDB_ENOMEM;
    }
    note_book old = *nb;
    nb->slot_row = rows;
    nb->slot_head = heads;
    nb->nslots = nslots;
    for (uint32_t i = 0; i < old.nslots; i++) {
        if (!old.slot_row[i]) continue;
        uint32_t j = slot_of(nb, old.slot_row[i] - 1);
        rows[j] = old.slot_row[i];
        heads[j] = old.slot_head[i];
    }
    free(old.slot_row);
    free(old.slot_head);
    return SEGDB_OK;
}

static int set_head(note_book *nb, uint32_t row, uint32_t head)
{
    if ((nb->used + 1) * 2 > nb->nslots && map_resize(nb, nb->nslots ? nb->nslots * 2 : 64)) return SEGDB_ENOMEM;
    uint32_t i = slot_of(nb, row);
    if (!nb->slot_row[i]) {
        nb->slot_row[i] = row + 1;
        nb->used++;
    }
    nb->slot_head[i] = head;
    return SEGDB_OK;
}

/* Index of note id in v (ids increase along v), or NOTE_NONE. */
static uint32_t find_note(const note_book *nb, uint64_t id)
{
    if (!nb) return NOTE_NONE;
    uint32_t lo = 0, hi = nb->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (nb->v[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < nb->n && nb->v[lo].id == id && nb->v[lo].text ? lo : NOTE_NONE;
}

/* Unlink note k from its row's chain and free its text. */
static void drop_note(note_book *nb, uint32_t k)
{
    note *x = &nb->v[k];
    uint32_t i = slot_of(nb, x->row);
    if (nb->slot_row[i]) {
        if (nb->slot_head[i] == k) {
            nb->slot_head[i] = x->older;
        } else {
            for (uint32_t c = nb->slot_head[i]; c != NOTE_NONE; c = nb->v[c].older)
                if (nb->v[c].older == k) {
                    nb->v[c].older = x->older;
                    break;
                }
        }
    }
    free(x->text);
    x->text = NULL;
    x->older = NOTE_NONE;
}

/* ---- records -------------------------------------------------------------- */

static int check_text(segdb_t *db, const char *text, size_t len, segdb_err *err)
{
    if (len == 0) return err_set(err, SEGDB_EINVAL, "note text is empty");
    if (memchr(text, 0, len)) return err_set(err, SEGDB_EINVAL, "note text contains a NUL byte");
    if (!fold_utf8_valid(text, len)) return err_set(err, SEGDB_EINVAL, "note text is not valid UTF-8");
    size_t chars = fold_utf8_chars(text, len);
    if (chars > db->opt.max_note_chars)
        return err_set(err, SEGDB_ELIMIT, "note is %zu characters; the limit is %u", chars, db->opt.max_note_chars);
    if (len > UINT32_MAX) return err_set(err, SEGDB_ELIMIT, "note is too long");
    return SEGDB_OK;
}

/* The contact must exist and not be archived (notes are written like any field). */
static int check_contact(segdb_t *db, uint64_t id, uint32_t *row, segdb_err *err)
{
    *row = store_row_of(db, id);
    if (*row == UINT32_MAX) return err_set(err, SEGDB_ENOTFOUND, "no contact with id %llu", (unsigned long long)id);
    if (roaring_bitmap_contains(db->archived, *row))
        return err_set(err, SEGDB_EINVAL, "contact %llu is archived; UNARCHIVE it before writing its notes",
                       (unsigned long long)id);
    return SEGDB_OK;
}

int note_prepare(segdb_t *db, const record *r, segdb_err *err)
{
    const rec_note *n = &r->u.note;
    uint32_t row;
    int rc = check_contact(db, n->id, &row, err);
    if (rc) return rc;
    if (r->kind != REC_NOTE_DEL) {
        rc = check_text(db, n->text, n->len, err);
        if (rc) return rc;
    }
    note_book *nb = book(db, false);
    if (r->kind == REC_NOTE_ADD) {
        uint64_t next = nb ? nb->next_id : 1;
        if (n->note < next || n->note == UINT64_MAX)
            return err_set(err, SEGDB_EINVAL, "note id %llu is not above the last one given (%llu)",
                           (unsigned long long)n->note, (unsigned long long)(next - 1));
        if (nb && nb->n == UINT32_MAX - 1) return err_set(err, SEGDB_ELIMIT, "too many notes");
        return SEGDB_OK;
    }
    uint32_t k = find_note(nb, n->note);
    if (k == NOTE_NONE || nb->v[k].row != row)
        return err_set(err, SEGDB_ENOTFOUND, "contact %llu has no note %llu; NOTE.LIST %llu shows them",
                       (unsigned long long)n->id, (unsigned long long)n->note, (unsigned long long)n->id);
    return SEGDB_OK;
}

int note_apply(segdb_t *db, const record *r, uint64_t *out)
{
    const rec_note *n = &r->u.note;
    uint32_t row = store_row_of(db, n->id);
    note_book *nb = book(db, true);
    if (!nb) return SEGDB_ENOMEM;
    if (r->kind == REC_NOTE_ADD) {
        if (nb->n == nb->cap) {
            uint32_t nc = nb->cap ? nb->cap * 2 : 64;
            note *v = realloc(nb->v, (size_t)nc * sizeof *v);
            if (!v) return SEGDB_ENOMEM;
            nb->v = v;
            nb->cap = nc;
        }
        char *text = malloc(n->len + 1);
        if (!text) return SEGDB_ENOMEM;
        memcpy(text, n->text, n->len);
        text[n->len] = 0;
        uint32_t k = nb->n, older = head_of(nb, row);
        if (set_head(nb, row, k)) {
            free(text);
            return SEGDB_ENOMEM;
        }
        note *x = &nb->v[k];
        x->id = n->note;
        x->row = row;
        x->older = older;
        x->created = r->time;
        x->edited = 0;
        x->text = text;
        x->len = (uint32_t)n->len;
        nb->n++;
        nb->next_id = n->note + 1;
        *out = n->note;
        return SEGDB_OK;
    }
    uint32_t k = find_note(nb, n->note);
    if (k == NOTE_NONE) return SEGDB_OK;
    if (r->kind == REC_NOTE_DEL) {
        drop_note(nb, k);
        return SEGDB_OK;
    }
    char *text = malloc(n->len + 1);
    if (!text) return SEGDB_ENOMEM;
    memcpy(text, n->text, n->len);
    text[n->len] = 0;
    free(nb->v[k].text);
    nb->v[k].text = text;
    nb->v[k].len = (uint32_t)n->len;
    nb->v[k].edited = r->time;
    return SEGDB_OK;
}

int note_reindex(segdb_t *db)
{
    note_book *nb = book(db, false);
    if (!nb) return SEGDB_OK;
    free(nb->slot_row);
    free(nb->slot_head);
    nb->slot_row = nb->slot_head = NULL;
    nb->nslots = nb->used = 0;
    for (uint32_t k = 0; k < nb->n; k++) {
        if (!nb->v[k].text) continue;
        nb->v[k].older = head_of(nb, nb->v[k].row);
        if (set_head(nb, nb->v[k].row, k)) return SEGDB_ENOMEM;
    }
    return SEGDB_OK;
}

void note_forget_row(segdb_t *db, uint32_t row)
{
    note_book *nb = book(db, false);
    if (!nb) return;
    for (uint32_t k = head_of(nb, row); k != NOTE_NONE;) {
        uint32_t older = nb->v[k].older;
        drop_note(nb, k);
        k = older;
    }
}

void note_state_free(segdb_t *db)
{
    note_book *nb = db->notes;
    if (!nb) return;
    for (uint32_t k = 0; k < nb->n; k++) free(nb->v[k].text);
    free(nb->v);
    free(nb->slot_row);
    free(nb->slot_head);
    free(nb);
    db->notes = NULL;
}

/* ---- public API ----------------------------------------------------------- */

int segdb_note_add(segdb_t *db, uint64_t id, const char *text, size_t len, uint64_t *note_id, segdb_err *err)
{
    note_book *nb = book(db, false);
    record r = {.kind = REC_NOTE_ADD, .time = store_now(db)};
    r.u.note.id = id;
    r.u.note.note = nb ? nb->next_id : 1;
    r.u.note.text = text ? text : "";
    r.u.note.len = text ? len : 0;
    uint64_t got = 0;
    int rc = ops_write(db, &r, &got, err);
    if (rc == SEGDB_OK && note_id) *note_id = got;
    return rc;
}

int segdb_note_edit(segdb_t *db, uint64_t id, uint64_t note_id, const char *text, size_t len, segdb_err *err)
{
    record r = {.kind = REC_NOTE_EDIT, .time = store_now(db)};
    r.u.note.id = id;
    r.u.note.note = note_id;
    r.u.note.text = text ? text : "";
    r.u.note.len = text ? len : 0;
    return ops_write(db, &r, NULL, err);
}

int segdb_note_del(segdb_t *db, uint64_t id, uint64_t note_id, segdb_err *err)
{
    record r = {.kind = REC_NOTE_DEL, .time = store_now(db)};
    r.u.note.id = id;
    r.u.note.note = note_id;
    return ops_write(db, &r, NULL, err);
}

int segdb_note_list(segdb_t *db, uint64_t id, segdb_note_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    uint32_t row = store_row_of(db, id);
    if (row == UINT32_MAX) return err_set(err, SEGDB_ENOTFOUND, "no contact with id %llu", (unsigned long long)id);
    const note_book *nb = book(db, false);
    size_t n = 0;
    for (uint32_t k = head_of(nb, row); k != NOTE_NONE; k = nb->v[k].older) n++;
    if (!n) return SEGDB_OK;
    res->v = calloc(n, sizeof *res->v);
    if (!res->v) return err_set(err, SEGDB_ENOMEM, "out of memory");
    /* the chain runs newest first: each note links to the one added before it */
    for (uint32_t k = head_of(nb, row); k != NOTE_NONE; k = nb->v[k].older) {
        const note *x = &nb->v[k];
        segdb_note *o = &res->v[res->n++];
        o->id = x->id;
        o->created = x->created;
        o->edited = x->edited;
        o->len = x->len;
        o->text = malloc(x->len + 1);
        if (!o->text) {
            segdb_note_res_free(res);
            return err_set(err, SEGDB_ENOMEM, "out of memory");
        }
        memcpy(o->text, x->text, x->len + 1);
    }
    return SEGDB_OK;
}

void segdb_note_res_free(segdb_note_res *res)
{
    if (!res) return;
    for (size_t i = 0; i < res->n; i++) free(res->v[i].text);
    free(res->v);
    memset(res, 0, sizeof *res);
}

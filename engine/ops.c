/*
 * ops.c — mutation records: validate (prepare), serialize, log, apply; and the
 * replay path (see ops.h for the byte format). Classification rules of SPEC 4
 * (type auto-upgrade, default status and relationship, status moves by hand,
 * archived contacts) are applied here so the live path and recovery behave
 * identically. Bulk records (TAG, SET, ARCHIVE, GROUP.ADD...) carry the exact
 * rows they change and apply as bitmap operations; segment, group and note
 * records are checked and applied by segment.c, group.c and note.c.
 */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bm.h"
#include "exec.h"
#include "err.h"
#include "fold.h"
#include "group.h"
#include "load.h"
#include "note.h"
#include "segment.h"
#include "store.h"
#include "value.h"

/* ---- encoding ------------------------------------------------------------- */

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    bool oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n)
{
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + n) nc *= 2;
        unsigned char *q = realloc(b->p, nc);
        if (!q) { b->oom = true; return; }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
/* Room for n more bytes at b->p + b->len; false on ENOMEM (b->oom set). */
static bool reserve(wbuf *b, size_t n)
{
    if (b->oom) return false;
    if (b->len + n <= b->cap) return true;
    size_t nc = b->cap ? b->cap * 2 : 256;
    while (nc < b->len + n) nc *= 2;
    unsigned char *q = realloc(b->p, nc);
    if (!q) { b->oom = true; return false; }
    b->p = q;
    b->cap = nc;
    return true;
}
static void put_u8(wbuf *b, uint8_t v) { put(b, &v, 1); }
static void put_u16(wbuf *b, uint16_t v) { unsigned char x[2] = {v, v >> 8}; put(b, x, 2); }
static void put_u32(wbuf *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++) x[i] = (unsigned char)(v >> (8 * i));
    put(b, x, 4);
}
static void put_u64(wbuf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
    put(b, x, 8);
}

static void put_str16(wbuf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > UINT16_MAX) { b->oom = true; return; } /* names are checked far below this */
    put_u16(b, (uint16_t)n);
    put(b, s, n);
}
static void put_str32(wbuf *b, const char *s, size_t n)
{
    if (n > UINT32_MAX) { b->oom = true; return; }
    put_u32(b, (uint32_t)n);
    put(b, s, n);
}
static void put_bitmap(wbuf *b, const roaring_bitmap_t *bm)
{
    size_t n = roaring_bitmap_portable_size_in_bytes(bm);
    if (n > UINT32_MAX) { b->oom = true; return; }
    put_u32(b, (uint32_t)n);
    if (!reserve(b, n)) return;
    roaring_bitmap_portable_serialize(bm, (char *)b->p + b->len);
    b->len += n;
}

static void batch_encode(wbuf *b, const ops_batch *ib);

void *ops_encode(const record *r, size_t *len)
{
    wbuf b = {0};
    put_u8(&b, (uint8_t)r->kind);
    put_u64(&b, (uint64_t)r->time);
    switch (r->kind) {
    case REC_UPSERT:
        put_u64(&b, r->u.upsert.id);
        put_u32(&b, (uint32_t)r->u.upsert.n);
        for (size_t i = 0; i < r->u.upsert.n; i++) {
            const segdb_kv *kv = &r->u.upsert.kv[i];
            size_t nl = strlen(kv->name);
            put_u16(&b, (uint16_t)nl);
            put(&b, kv->name, nl);
            put_u32(&b, (uint32_t)kv->value_len);
            put(&b, kv->value, kv->value_len);
        }
        break;
    case REC_DELETE:
        put_u32(&b, (uint32_t)r->u.del.n);
        for (size_t i = 0; i < r->u.del.n; i++) put_u64(&b, r->u.del.ids[i]);
        break;
    case REC_FIELD_CREATE: {
        size_t nl = strlen(r->u.field_create.name);
        put_u8(&b, (uint8_t)r->u.field_create.kind);
        put_u16(&b, (uint16_t)nl);
        put(&b, r->u.field_create.name, nl);
        break;
    }
    case REC_TAG:
    case REC_UNTAG:
    case REC_GROUP_ADD:
    case REC_GROUP_REMOVE:
        put_str16(&b, r->u.rows.name);
        put_bitmap(&b, r->u.rows.rows);
        break;
    case REC_SET:
        put_str16(&b, r->u.rows.name);
        put_str32(&b, r->u.rows.value, r->u.rows.value_len);
        put_bitmap(&b, r->u.rows.rows);
        break;
    case REC_ARCHIVE:
    case REC_UNARCHIVE:
        put_bitmap(&b, r->u.rows.rows);
        break;
    case REC_SEGMENT_SAVE:
        put_str16(&b, r->u.segment.name);
        put_str32(&b, r->u.segment.filter, strlen(r->u.segment.filter));
        break;
    case REC_SEGMENT_DEL:
        put_str16(&b, r->u.segment.name);
        break;
    case REC_SEGMENT_FREEZE:
        put_u32(&b, (uint32_t)r->u.freeze.n);
        for (size_t i = 0; i < r->u.freeze.n; i++) {
            put_str16(&b, r->u.freeze.names[i]);
            put_str32(&b, r->u.freeze.descs[i], strlen(r->u.freeze.descs[i]));
            put_bitmap(&b, r->u.freeze.members[i]);
        }
        break;
    case REC_GROUP_CREATE:
        put_str16(&b, r->u.group.code);
        put_str32(&b, r->u.group.name, strlen(r->u.group.name));
        put_str16(&b, r->u.group.parent ? r->u.group.parent : "");
        break;
    case REC_GROUP_DEL:
        put_str16(&b, r->u.group.code);
        break;
    case REC_NOTE_ADD:
    case REC_NOTE_EDIT:
        put_u64(&b, r->u.note.id);
        put_u64(&b, r->u.note.note);
        put_str32(&b, r->u.note.text, r->u.note.len);
        break;
    case REC_NOTE_DEL:
        put_u64(&b, r->u.note.id);
        put_u64(&b, r->u.note.note);
        break;
    case REC_IMPORT:
        batch_encode(&b, r->u.import.batch);
        break;
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

typedef struct rbuf {
    const unsigned char *p;
    size_t len, off;
    bool bad;
} rbuf;

static const void *take(rbuf *b, size_t n)
{
    if (b->bad || b->len - b->off < n) { b->bad = true; return NULL; }
    const void *q = b->p + b->off;
    b->off += n;
    return q;
}
static uint64_t get_le(rbuf *b, int n)
{
    const unsigned char *q = take(b, (size_t)n);
    uint64_t v = 0;
    if (!q) return 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)q[i] << (8 * i);
    return v;
}

/* An unsigned LEB128 of at most 10 bytes (REC_IMPORT). */
static uint64_t get_var(rbuf *b)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        const unsigned char *q = take(b, 1);
        if (!q) return 0;
        if (shift == 63 && *q > 1) break;
        v |= (uint64_t)(*q & 0x7F) << shift;
        if (!(*q & 0x80)) return v;
    }
    b->bad = true;
    return 0;
}

/* ---- upsert --------------------------------------------------------------- */

static int check_text(const char *fname, const char *s, size_t len, segdb_err *err)
{
    if (fold_text_clean(s, len)) return SEGDB_OK;
    if (memchr(s, 0, len))
        return err_set(err, SEGDB_EINVAL, "value of '%s' contains a NUL byte", fname);
    if (!fold_utf8_valid(s, len))
        return err_set(err, SEGDB_EINVAL, "value of '%s' is not valid UTF-8", fname);
    return SEGDB_OK;
}

/* A value its kind refused: the fault in its text (a NUL, bad UTF-8) when it
 * has one, which is the error to give; else 0, and the kind's own error is.
 * text_ok: the caller checked the text (prepare_value). */
static int text_fault(const field *f, const char *s, size_t len, bool text_ok, segdb_err *err)
{
    return text_ok ? SEGDB_OK : check_text(f->name, s, len, err);
}

static int members_error(segdb_err *err, const field *f, const char *s, size_t len)
{
    char list[512];
    size_t n = 0;
    list[0] = 0;
    for (uint32_t m = 0; m < f->nmembers; m++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", m ? ", " : "", f->members[m]);
    return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not a valid %s value; expected one of: %s",
                   (int)(len > 100 ? 100 : len), s, f->name, list);
}

/* f: kv's field when the caller looked it up already (IMPORT: once per column), or NULL;
 * text_ok: the caller checked the value is valid UTF-8 without NUL (IMPORT's CSV reader). */
static int prepare_value(segdb_t *db, int64_t now, const segdb_kv *kv, field *f, bool text_ok, pval *pv,
                         bool *names_type, segdb_err *err)
{
    if (!f) f = store_field(db, kv->name, strlen(kv->name));
    if (!f) {
        char *names = store_field_names(db);
        int rc = err_set(err, SEGDB_EINVAL,
                         "unknown field '%.64s'; create it with FIELD.CREATE %.64s <kind>, or use one of: %s",
                         kv->name, kv->name, names ? names : "");
        free(names);
        return rc;
    }
    if (f->id == F_ID) return err_set(err, SEGDB_EINVAL, "'id' is the contact's key and can't be set");
    if (f->derived)
        return err_set(err, SEGDB_EINVAL, "'%s' is derived and can't be set", f->name);
    if (f->id == F_ARCHIVED)
        return err_set(err, SEGDB_EINVAL, "'archived' is set with ARCHIVE and UNARCHIVE, not UPSERT");
    /* A value of a kind that parses (bool, time, date, integer, number) is
     * clean text once it parses: the parsers take only ASCII letters, digits
     * and punctuation; so is an enum member spelled exactly (members are
     * clean), and a valid email (fold_email_valid decodes UTF-8 and refuses
     * bytes up to 0x20). Its text is checked when that fails, so a NUL or bad
     * UTF-8 is still the error given. */
    bool parses = f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL || f->kind == SEGDB_KIND_TIME ||
                  f->kind == SEGDB_KIND_DATE || f->kind == SEGDB_KIND_INTEGER || f->kind == SEGDB_KIND_NUMBER ||
                  f->id == F_EMAIL;
    text_ok = text_ok || kv->value_len == 0;
    int rc = parses ? SEGDB_OK : text_fault(f, kv->value, kv->value_len, text_ok, err);
    if (rc) return rc;
    *pv = (pval){.f = f, .op = PV_SET, .s = kv->value, .len = kv->value_len};
    if (f->id == F_TYPE) *names_type = true;
    if (kv->value_len == 0) {
        pv->op = PV_CLEAR;
        if (f->id == F_TYPE || f->id == F_STATUS || f->id == F_RELATIONSHIP)
            return err_set(err, SEGDB_EINVAL, "'%s' can't be empty", f->name);
        return SEGDB_OK;
    }
    const char *s = kv->value;
    size_t len = kv->value_len;
    switch (f->kind) {
    case SEGDB_KIND_TEXT:
        if (f->id == F_EMAIL && !fold_email_valid(s, len)) {
            if ((rc = text_fault(f, s, len, text_ok, err))) return rc;
            return err_set(err, SEGDB_EINVAL, "invalid email '%.*s': expected one '@' and a domain with a dot",
                           (int)(len > 200 ? 200 : len), s);
        }
        if (f->id == F_PHONE && (len > 40 || !fold_phone_valid(s, len)))
            return err_set(err, SEGDB_EINVAL, "invalid phone '%.*s': expected digits", (int)(len > 60 ? 60 : len), s);
        break;
    case SEGDB_KIND_ENUM:
    case SEGDB_KIND_BOOL:
        if (f->kind == SEGDB_KIND_BOOL) {
            bool b;
            if (value_parse_bool(s, len, &b)) {
                if ((rc = text_fault(f, s, len, text_ok, err))) return rc;
                return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not a valid %s value; expected yes or no",
                               (int)(len > 100 ? 100 : len), s, f->name);
            }
            pv->code = b ? BOOL_YES : BOOL_NO;
        } else {
            pv->code = store_enum_member(f, s, len);
            if (!pv->code) {
                if ((rc = text_fault(f, s, len, text_ok, err))) return rc;
                pv->code = store_enum_code(f, s, len);
            }
            if (!pv->code) return members_error(err, f, s, len);
            if (f->id == F_RELATIONSHIP && pv->code == REL_DONT_FORGET)
                return err_set(err, SEGDB_EINVAL,
                               "relationship dont_forget is automatic (last_contacted older than the dont-forget days); set one of new, approached, hot, potential, lost, won");
        }
        break;
    case SEGDB_KIND_CATEGORY:
        if (len > 1024) return err_set(err, SEGDB_EINVAL, "value of '%s' is longer than 1024 bytes", f->name);
        break;
    case SEGDB_KIND_TAGS: {
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && s[i] != ';') continue;
            const char *t = s + start;
            size_t tl = i - start;
            while (tl && (*t == ' ')) { t++; tl--; }
            while (tl && t[tl - 1] == ' ') tl--;
            if (tl) {
                const char *why = fold_tag_name_problem(t, tl);
                if (why) return err_set(err, SEGDB_EINVAL, "%s: '%.*s'", why, (int)(tl > 80 ? 80 : tl), t);
                if (f->id == F_GROUPS && !group_lookup(db, t, tl))
                    return err_set(err, SEGDB_EINVAL,
                                   "unknown group '%.*s': create it first with GROUP.CREATE <name> (GROUP.LIST shows the groups)",
                                   (int)(tl > 80 ? 80 : tl), t);
            }
            start = i + 1;
        }
        break;
    }
    case SEGDB_KIND_TIME: {
        value_time vt;
        if (value_parse_time(s, len, now, db->opt.tz_offset_seconds, &vt)) {
            if ((rc = text_fault(f, s, len, text_ok, err))) return rc;
            return err_set(err, SEGDB_EWRONGTYPE,
                           "'%.*s' is not a time for '%s'; use unix seconds, 2019-11-01, 2019-11-01T18:00[:00][Z|+07:00], now or -30d",
                           (int)(len > 100 ? 100 : len), s, f->name);
        }
        pv->i = vt.lo;
        break;
    }
    case SEGDB_KIND_DATE:
        if (value_parse_date(s, len, &pv->i)) {
            if ((rc = text_fault(f, s, len, text_ok, err))) return rc;
            return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not a date for '%s'; use YYYY-MM-DD",
                           (int)(len > 100 ? 100 : len), s, f->name);
        }
        break;
    case SEGDB_KIND_INTEGER:
        if (value_parse_int(s, len, &pv->i)) {
            if ((rc = text_fault(f, s, len, text_ok, err))) return rc;
            return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not an integer for '%s'",
                           (int)(len > 100 ? 100 : len), s, f->name);
        }
        break;
    case SEGDB_KIND_NUMBER:
        if (value_parse_number(s, len, &pv->d)) {
            if ((rc = text_fault(f, s, len, text_ok, err))) return rc;
            return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not a number for '%s'",
                           (int)(len > 100 ? 100 : len), s, f->name);
        }
        break;
    default:
        return err_set(err, SEGDB_EINVAL, "'%s' can't be set", f->name);
    }
    return SEGDB_OK;
}

/* fs[i]: the field of kv[i] when known (IMPORT), or fs NULL; text_ok as for prepare_value. */
static int prepare_upsert(segdb_t *db, const record *r, field *const *fs, bool text_ok, pval *pv,
                          bool *names_type, segdb_err *err)
{
    const rec_upsert *u = &r->u.upsert;
    if (u->id == 0) return err_set(err, SEGDB_EINVAL, "id 0 is not allowed; ids are 1 to 18446744073709551615");
    uint32_t row = store_row_of(db, u->id);
    if (row != UINT32_MAX && roaring_bitmap_contains(db->archived, row))
        return err_set(err, SEGDB_EINVAL, "contact %llu is archived; UNARCHIVE it before writing",
                       (unsigned long long)u->id);
    *names_type = false;
    for (size_t i = 0; i < u->n; i++) {
        int rc = prepare_value(db, r->time, &u->kv[i], fs ? fs[i] : NULL, text_ok, &pv[i], names_type, err);
        if (rc) return rc;
        /* (fs[i], when given, is pv[i].f: read where prepare_value did not
         * just write it, which stalled this loop) */
        const field *fi = fs ? fs[i] : pv[i].f;
        if (fi->id == F_IDENTIFIER && pv[i].op == PV_SET) {
            const textdict *td = pv[i].f->text;
            uint32_t c = textdict_find(td, pv[i].s, pv[i].len);
            if (c && td->refs[c] > 0 && td->last_row[c] != row)
                return err_set(err, SEGDB_EINVAL, "identifier '%.*s' already belongs to contact %llu",
                               (int)(pv[i].len > 100 ? 100 : pv[i].len), pv[i].s,
                               (unsigned long long)db->ids[td->last_row[c]]);
        }
    }
    return SEGDB_OK;
}

static int set_tags(segdb_t *db, field *f, uint32_t row, const char *s, size_t len)
{
    store_tags_clear(db, f, row);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ';') continue;
        const char *t = s + start;
        size_t tl = i - start;
        while (tl && *t == ' ') { t++; tl--; }
        while (tl && t[tl - 1] == ' ') tl--;
        if (tl) {
            uint32_t c = dict_intern(&f->dict, t, tl);
            if (!c) return SEGDB_ENOMEM;
            store_tag_add(db, f, row, c);
        }
        start = i + 1;
    }
    return SEGDB_OK;
}

int ops_apply_value(segdb_t *db, uint32_t row, const pval *pv)
{
    field *f = pv->f;
    if (pv->op == PV_CLEAR) {
        if (f->kind == SEGDB_KIND_TAGS) store_tags_clear(db, f, row);
        else store_clear(db, f, row);
        return SEGDB_OK;
    }
    switch (f->kind) {
    case SEGDB_KIND_TEXT: return store_set_text(db, f, row, pv->s, pv->len);
    case SEGDB_KIND_ENUM:
    case SEGDB_KIND_BOOL: return store_set_code(db, f, row, pv->code);
    case SEGDB_KIND_CATEGORY: {
        uint32_t c = dict_intern(&f->dict, pv->s, pv->len);
        if (!c) return SEGDB_ENOMEM;
        return store_set_code(db, f, row, c);
    }
    case SEGDB_KIND_TAGS: return set_tags(db, f, row, pv->s, pv->len);
    case SEGDB_KIND_TIME:
    case SEGDB_KIND_DATE:
    case SEGDB_KIND_INTEGER: return store_set_int(db, f, row, pv->i);
    case SEGDB_KIND_NUMBER: return store_set_number(db, f, row, pv->d);
    default: return SEGDB_OK;
    }
}

/* SPEC 4.1: the level a contact's data earns; writes move type up, never down. */
static uint32_t earned_type(segdb_t *db, uint32_t row)
{
    field *p = db->fields[F_PURCHASES];
    if (store_has(p, row) && field_int(p, row) > 0) return TYPE_CUSTOMER;
    if (store_has(db->fields[F_NAME], row) || store_has(db->fields[F_EMAIL], row) ||
        store_has(db->fields[F_PHONE], row))
        return TYPE_LEAD;
    return TYPE_VISITOR;
}

static int apply_upsert(segdb_t *db, const record *r, const pval *pv, bool names_type, uint64_t *created)
{
    const rec_upsert *u = &r->u.upsert;
    uint32_t row = store_row_of(db, u->id);
    bool is_new = row == UINT32_MAX;
    int rc;
    if (is_new) {
        rc = store_new_row(db, u->id, &row);
        if (rc) return rc;
        if ((rc = store_set_code(db, db->fields[F_TYPE], row, TYPE_VISITOR)) ||
            (rc = store_set_code(db, db->fields[F_STATUS], row, STATUS_NEVER)) ||
            (rc = store_set_code(db, db->fields[F_RELATIONSHIP], row, REL_NEW)) ||
            (rc = store_set_int(db, db->fields[F_CREATED_AT], row, r->time)))
            return rc;
    }
    for (size_t i = 0; i < u->n; i++) {
        rc = ops_apply_value(db, row, &pv[i]);
        if (rc) return rc;
    }
    rc = ops_type_rule(db, row, pv, u->n, names_type);
    if (created) *created = is_new ? 1 : 0;
    return rc;
}

int ops_type_rule(segdb_t *db, uint32_t row, const pval *pv, size_t n, bool names_type)
{
    if (names_type) return SEGDB_OK;
    bool touches_level = false;
    for (size_t i = 0; i < n && !touches_level; i++) {
        uint32_t id = pv[i].f->id;
        touches_level = id == F_NAME || id == F_EMAIL || id == F_PHONE || id == F_PURCHASES;
    }
    if (!touches_level) return SEGDB_OK;
    field *t = db->fields[F_TYPE];
    uint32_t earned = earned_type(db, row);
    return earned > t->codes8[row] ? store_set_code(db, t, row, earned) : SEGDB_OK;
}

/* ---- bulk writes ---------------------------------------------------------- */

#define ROWS_BATCH 1024u

/* The original spelling of text code c (store.c keeps originals equal to
 * their folded form only once, in the folded arena). */
static const char *text_orig(const textdict *td, uint32_t c)
{
    return td->orig_off[c] == UINT32_MAX ? td->fold + td->fold_off[c] : td->orig + td->orig_off[c];
}

/* *code = the text code holding exactly s[0..len) in f, 0 when none does. */
static int text_code_exact(const field *f, const char *s, size_t len, uint32_t *code)
{
    const textdict *td = f->text;
    size_t flen;
    char *fv = store_text_fold(f, s, len, &flen);
    if (!fv) return SEGDB_ENOMEM;
    *code = 0;
    for (uint32_t c = textdict_find(td, fv, flen); c; c = td_next(td, c)) {
        const char *o = text_orig(td, c);
        if (strncmp(o, s, len) == 0 && o[len] == 0) { *code = c; break; }
    }
    free(fv);
    return SEGDB_OK;
}

/* SET's field rules on top of UPSERT's value checks. */
static int set_check(segdb_t *db, int64_t now, const char *fname, const char *value, size_t len, pval *pv,
                     segdb_err *err)
{
    const field *f = store_field(db, fname, strlen(fname));
    if (f && f->id == F_TAGS)
        return err_set(err, SEGDB_EINVAL, "tags are written with TAG and UNTAG, not SET");
    if (f && f->id == F_GROUPS)
        return err_set(err, SEGDB_EINVAL, "groups are written with GROUP.ADD and GROUP.REMOVE, not SET");
    if (f && f->id == F_ARCHIVED)
        return err_set(err, SEGDB_EINVAL, "'archived' is set with ARCHIVE and UNARCHIVE, not SET");
    segdb_kv kv = {fname, value, len};
    bool names_type = false;
    memset(pv, 0, sizeof *pv);
    return prepare_value(db, now, &kv, NULL, false, pv, &names_type, err);
}

/* identifier is unique: one contact at most, and not one another contact holds. */
static int set_identifier_check(segdb_t *db, const pval *pv, const roaring_bitmap_t *rows, segdb_err *err)
{
    if (pv->f->id != F_IDENTIFIER || pv->op != PV_SET) return SEGDB_OK;
    uint64_t n = roaring_bitmap_get_cardinality(rows);
    if (n > 1)
        return err_set(err, SEGDB_EINVAL,
                       "identifier is unique: SET identifier takes a target of one contact, not %llu",
                       (unsigned long long)n);
    if (n == 0) return SEGDB_OK;
    uint32_t row = roaring_bitmap_minimum(rows);
    const textdict *td = pv->f->text;
    if (store_text_settle(pv->f->text)) return err_set(err, SEGDB_ENOMEM, "out of memory");
    uint32_t c = textdict_find(td, pv->s, pv->len);
    if (c && td->refs[c] > 0 && td->last_row[c] != row)
        return err_set(err, SEGDB_EINVAL, "identifier '%.*s' already belongs to contact %llu",
                       (int)(pv->len > 100 ? 100 : pv->len), pv->s,
                       td->last_row[c] == UINT32_MAX ? 0ULL : (unsigned long long)db->ids[td->last_row[c]]);
    return SEGDB_OK;
}

/* Rows of t for which keep(row) is true, as a new bitmap (NULL on ENOMEM). */
typedef bool (*row_pred)(const field *f, const pval *pv, uint32_t row);

static roaring_bitmap_t *rows_where(const roaring_bitmap_t *t, const field *f, const pval *pv, row_pred keep)
{
    roaring_bitmap_t *out = roaring_bitmap_create();
    if (!out) return NULL;
    uint32_t in[ROWS_BATCH], kept[ROWS_BATCH], m;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(t, &it);
    while ((m = roaring_read_uint32_iterator(&it, in, ROWS_BATCH)) > 0) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < m; i++)
            if (keep(f, pv, in[i])) kept[k++] = in[i];
        if (k) roaring_bitmap_add_many(out, k, kept);
    }
    return out;
}

static bool text_differs(const field *f, const pval *pv, uint32_t row)
{
    uint32_t have = f->text->row_code ? f->text->row_code[row] : 0;
    return have != pv->code || have == 0;
}
static bool int_differs(const field *f, const pval *pv, uint32_t row)
{
    return !store_has(f, row) || field_int(f, row) != pv->i;
}
static bool number_differs(const field *f, const pval *pv, uint32_t row)
{
    return !store_has(f, row) || f->f64[row] != pv->d;
}

int ops_set_resolve(segdb_t *db, int64_t now, const char *fname, const char *value, size_t value_len,
                    const roaring_bitmap_t *target, roaring_bitmap_t **changed, uint64_t *rejected,
                    segdb_err *err)
{
    pval pv;
    int rc = set_check(db, now, fname, value, value_len, &pv, err);
    if (rc) return rc;
    const field *f = pv.f;
    roaring_bitmap_t *t = roaring_bitmap_and(target, db->live), *ch = NULL;
    if (!t) return err_set(err, SEGDB_ENOMEM, "out of memory");
    uint64_t rej = roaring_bitmap_and_cardinality(t, db->archived);
    roaring_bitmap_andnot_inplace(t, db->archived);
    if (pv.op == PV_CLEAR) {
        ch = roaring_bitmap_and(t, f->present);
    } else {
        switch (f->kind) {
        case SEGDB_KIND_ENUM:
        case SEGDB_KIND_BOOL:
        case SEGDB_KIND_CATEGORY: {
            uint32_t code = pv.code;
            if (f->kind == SEGDB_KIND_CATEGORY) {
                char *fv = fold_dup(pv.s, pv.len, NULL);
                if (!fv) break;
                code = dict_find(&f->dict, fv, strlen(fv));
                free(fv);
            }
            if (f->id == F_STATUS) {
                /* SPEC 4.2: only subscribed <-> unsubscribed by hand */
                roaring_bitmap_t *const *bm = f->dict.bm;
                if (code == STATUS_NEVER) {
                    ch = roaring_bitmap_create();
                    rej += roaring_bitmap_and_cardinality(t, bm[STATUS_SUBSCRIBED]) +
                           roaring_bitmap_and_cardinality(t, bm[STATUS_UNSUBSCRIBED]);
                } else {
                    ch = roaring_bitmap_and(t, bm[code == STATUS_SUBSCRIBED ? STATUS_UNSUBSCRIBED : STATUS_SUBSCRIBED]);
                    rej += roaring_bitmap_and_cardinality(t, bm[STATUS_NEVER]);
                }
            } else {
                ch = code ? roaring_bitmap_andnot(t, f->dict.bm[code]) : roaring_bitmap_copy(t);
            }
            break;
        }
        case SEGDB_KIND_TEXT: {
            uint32_t code;
            if (text_code_exact(f, pv.s, pv.len, &code)) break;
            pv.code = code;
            ch = code ? rows_where(t, f, &pv, text_differs) : roaring_bitmap_copy(t);
            break;
        }
        case SEGDB_KIND_NUMBER:
            ch = rows_where(t, f, &pv, number_differs);
            break;
        default: /* TIME, DATE, INTEGER */
            ch = rows_where(t, f, &pv, int_differs);
            break;
        }
    }
    if (ch && pv.op == PV_SET &&
        (f->id == F_NAME || f->id == F_EMAIL || f->id == F_PHONE || f->id == F_PURCHASES)) {
        /* SPEC 7: such a write re-evaluates the type move even where the value
         * is already the one written (as UPSERT does): those rows change too */
        field *tf = db->fields[F_TYPE];
        roaring_bitmap_t *same = roaring_bitmap_andnot(t, ch);
        if (same) {
            roaring_uint32_iterator_t it;
            roaring_init_iterator(same, &it);
            for (; it.has_value; roaring_advance_uint32_iterator(&it))
                if (earned_type(db, it.current_value) > tf->codes8[it.current_value])
                    roaring_bitmap_add(ch, it.current_value);
            roaring_bitmap_free(same);
        }
    }
    roaring_bitmap_free(t);
    if (!ch) return err_set(err, SEGDB_ENOMEM, "out of memory");
    rc = set_identifier_check(db, &pv, ch, err);
    if (rc) {
        roaring_bitmap_free(ch);
        return rc;
    }
    *changed = ch;
    *rejected = rej;
    return SEGDB_OK;
}

/* Bulk records name rows of live, non-archived contacts (UNARCHIVE: archived ones). */
static int rows_check(segdb_t *db, const roaring_bitmap_t *rows, bool archived, segdb_err *err)
{
    if (roaring_bitmap_is_subset(rows, archived ? db->archived : db->universe)) return SEGDB_OK;
    return err_set(err, SEGDB_EINVAL, "record names rows that are not %s contacts",
                   archived ? "archived" : "live, non-archived");
}

/* Chunk by chunk: the rows that lost a label, minus every other label's
 * container, are the rows left with none. Word kernels keep this at a few
 * operations per label element instead of a bitmap call per label and row. */
int ops_tags_settle(struct field *f, const roaring_bitmap_t *rows)
{
    int rc = SEGDB_OK;
    roaring_bitmap_t *gone = roaring_bitmap_and(rows, f->present), *drop = roaring_bitmap_create();
    uint64_t *w = malloc(BM_WORDS * sizeof *w);
    int *cur = calloc(f->dict.n ? f->dict.n : 1, sizeof *cur);
    if (!gone || !drop || !w || !cur) {
        rc = SEGDB_ENOMEM;
        goto done;
    }
    int nc = bm_chunk_count(gone);
    for (int i = 0; i < nc; i++) {
        uint16_t key = bm_chunk_key(gone, i);
        bm_chunk_load(gone, i, w);
        for (uint32_t c = 1; c < f->dict.n; c++) {
            int idx = bm_find_chunk(f->dict.bm[c], key, &cur[c]);
            if (idx < 0) continue;
            bm_chunk_andnot(f->dict.bm[c], idx, w);
            if ((c & 7) == 0 && !bm_words_any(w)) break;
        }
        uint32_t card = bm_words_popcount(w);
        if (card) bm_append_words(drop, key, w, card);
    }
    roaring_bitmap_andnot_inplace(f->present, drop);
done:
    if (gone) roaring_bitmap_free(gone);
    if (drop) roaring_bitmap_free(drop);
    free(w);
    free(cur);
    return rc;
}

/* TAG/UNTAG/GROUP.ADD/GROUP.REMOVE: one label's bitmap gains or loses rows. */
static int apply_label(field *f, const char *name, const roaring_bitmap_t *rows, bool add)
{
    if (add) {
        uint32_t code = dict_intern(&f->dict, name, strlen(name));
        if (!code) return SEGDB_ENOMEM;
        roaring_bitmap_or_inplace(f->dict.bm[code], rows);
        roaring_bitmap_or_inplace(f->present, rows);
        return SEGDB_OK;
    }
    char *fv = fold_dup(name, strlen(name), NULL);
    if (!fv) return SEGDB_ENOMEM;
    uint32_t code = dict_find(&f->dict, fv, strlen(fv));
    free(fv);
    if (!code) return SEGDB_OK;
    roaring_bitmap_andnot_inplace(f->dict.bm[code], rows);
    return ops_tags_settle(f, rows);
}

/* SET over an enum/bool/category field: the value bitmaps move as a whole,
 * only the per-row code column is written row by row. */
static int set_coded_bulk(segdb_t *db, field *f, const pval *pv, const roaring_bitmap_t *rows)
{
    uint32_t code = 0;
    if (pv->op == PV_SET) {
        code = f->kind == SEGDB_KIND_CATEGORY ? dict_intern(&f->dict, pv->s, pv->len) : pv->code;
        if (!code) return SEGDB_ENOMEM;
        /* the column may not exist yet (nobody had the field): this allocates it */
        int rc = store_set_code(db, f, roaring_bitmap_minimum(rows), code);
        if (rc) return rc;
    }
    for (uint32_t c = 1; c < f->dict.n; c++)
        if (c != code && roaring_bitmap_intersect(f->dict.bm[c], rows)) roaring_bitmap_andnot_inplace(f->dict.bm[c], rows);
    if (code) {
        roaring_bitmap_or_inplace(f->dict.bm[code], rows);
        roaring_bitmap_or_inplace(f->present, rows);
    } else {
        roaring_bitmap_andnot_inplace(f->present, rows);
    }
    if (!f->codes8 && !f->codes32) return SEGDB_OK;
    uint32_t buf[ROWS_BATCH], m;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(rows, &it);
    while ((m = roaring_read_uint32_iterator(&it, buf, ROWS_BATCH)) > 0) {
        if (f->codes8)
            for (uint32_t i = 0; i < m; i++) f->codes8[buf[i]] = (uint8_t)code;
        else
            for (uint32_t i = 0; i < m; i++) f->codes32[buf[i]] = code;
    }
    return SEGDB_OK;
}

static int apply_set(segdb_t *db, const pval *pv, const roaring_bitmap_t *rows)
{
    field *f = pv->f;
    int rc = SEGDB_OK;
    if (roaring_bitmap_is_empty(rows)) return SEGDB_OK;
    uint32_t buf[ROWS_BATCH], m;
    roaring_uint32_iterator_t it;
    if (f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL || f->kind == SEGDB_KIND_CATEGORY) {
        rc = set_coded_bulk(db, f, pv, rows);
    } else {
        roaring_init_iterator(rows, &it);
        while (!rc && (m = roaring_read_uint32_iterator(&it, buf, ROWS_BATCH)) > 0)
            for (uint32_t i = 0; i < m && !rc; i++) rc = ops_apply_value(db, buf[i], pv);
    }
    if (rc) return rc;
    /* SPEC 7: setting name, email, phone or purchases re-evaluates the type move (up only) */
    if (f->id == F_NAME || f->id == F_EMAIL || f->id == F_PHONE || f->id == F_PURCHASES) {
        field *t = db->fields[F_TYPE];
        roaring_init_iterator(rows, &it);
        while (!rc && (m = roaring_read_uint32_iterator(&it, buf, ROWS_BATCH)) > 0)
            for (uint32_t i = 0; i < m && !rc; i++) {
                uint32_t earned = earned_type(db, buf[i]);
                if (earned > t->codes8[buf[i]]) rc = store_set_code(db, t, buf[i], earned);
            }
    }
    return rc;
}

/* ---- import batches (REC_IMPORT) ------------------------------------------- */

#define BATCH_COL_MEMO 64u

struct ops_batch {
    segdb_t *db;
    int64_t time;
    bool committed;
    bool text_ok;               /* values are known valid UTF-8 without NUL */
    uint32_t col_hint;          /* the column after the last one found */
    const char *memo_name[BATCH_COL_MEMO]; /* batch_col: a name pointer of this batch ... */
    uint16_t memo_col[BATCH_COL_MEMO];     /* ... and its column (cleared with the batch) */
    const char **cols;          /* distinct field names, by pointer (kv[].name) */
    field **colf;               /* each column's field (NULL: unknown, UPSERT's check words it) */
    uint32_t ncols, capcols;
    uint64_t *ids;
    size_t *koff;               /* row i's cells: [koff[i], koff[i + 1]) */
    bool *names_type;
    size_t nrows, caprows;
    segdb_kv *kv;
    pval *pv;
    uint16_t *kcol;             /* column of each cell */
    uint32_t *standin;          /* per check part, from its first cell: its cells with stand-in columns */
    field **cellf;              /* field of each cell (its column's) */
    size_t nkv, capkv;
    /* identifiers the rows so far write: open addressing, slot = cell + 1 */
    size_t *idslots;
    size_t nidslots, nids;
    /* a bulk load's values filed by field as they were checked (load.h) */
    load_cells *grid;           /* grid_np * grid_nf, kept from batch to batch */
    struct check_part *parts;   /* ops_batch_add_many's chunks of rows, kept too */
    size_t parts_cap;
    int grid_np;
    uint32_t grid_nf, grid_first;
    bool gathered;              /* grid holds this batch's rows */
    pval defs[LOAD_NDEFAULTS];
};

ops_batch *ops_batch_create(segdb_t *db, int64_t time)
{
    ops_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->db = db;
    b->time = time;
    b->koff = calloc(1, sizeof *b->koff);
    if (!b->koff) { free(b); return NULL; }
    return b;
}

void ops_batch_reset(ops_batch *b, int64_t time)
{
    b->time = time;
    b->committed = b->text_ok = false;
    b->col_hint = 0;
    b->ncols = 0;
    memset(b->memo_name, 0, sizeof b->memo_name);
    b->nrows = b->nkv = 0;
    b->koff[0] = 0;
    if (b->nids) memset(b->idslots, 0, b->nidslots * sizeof *b->idslots);
    b->nids = 0;
    b->gathered = false;
}

static void grid_free(ops_batch *b)
{
    for (size_t g = 0; b->grid && g < (size_t)b->grid_np * b->grid_nf; g++) {
        free(b->grid[g].c);
    }
    free(b->grid);
    b->grid = NULL;
    b->grid_np = 0;
    b->grid_nf = 0;
}

/* Empties (or makes) a grid of np * nf value lists for the batch's checks to
 * file into. SEGDB_ENOMEM. */
static int grid_ready(ops_batch *b, int np, uint32_t nf)
{
    if (b->grid && (b->grid_np != np || b->grid_nf != nf)) grid_free(b);
    if (!b->grid) {
        if (!(b->grid = calloc((size_t)np * nf, sizeof *b->grid))) return SEGDB_ENOMEM;
        b->grid_np = np;
        b->grid_nf = nf;
    }
    for (size_t g = 0; g < (size_t)np * nf; g++) b->grid[g].n = 0;
    return SEGDB_OK;
}

void ops_batch_free(ops_batch *b)
{
    if (!b) return;
    free(b->cols);
    free(b->colf);
    free(b->cellf);
    free(b->ids);
    free(b->koff);
    free(b->names_type);
    free(b->kv);
    free(b->pv);
    free(b->kcol);
    free(b->standin);
    free(b->parts);
    free(b->idslots);
    grid_free(b);
    free(b);
}

size_t ops_batch_rows(const ops_batch *b) { return b->nrows; }

void ops_batch_text_checked(ops_batch *b) { b->text_ok = true; }

static uint64_t batch_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The cell (index + 1) that first wrote identifier s in this batch, 0 if none;
 * *slot is where it is or would go. */
static size_t ident_find(const ops_batch *b, const char *s, size_t n, size_t *slot)
{
    size_t mask = b->nidslots - 1, i = (size_t)batch_hash(s, n) & mask;
    for (; b->idslots[i]; i = (i + 1) & mask) {
        const segdb_kv *kv = &b->kv[b->idslots[i] - 1];
        if (kv->value_len == n && memcmp(kv->value, s, n) == 0) break;
    }
    *slot = i;
    return b->idslots[i];
}

static int ident_grow(ops_batch *b)
{
    size_t ns = b->nidslots ? b->nidslots * 2 : 64;
    size_t *old = b->idslots, oldn = b->nidslots;
    b->idslots = calloc(ns, sizeof *b->idslots);
    if (!b->idslots) { b->idslots = old; return SEGDB_ENOMEM; }
    b->nidslots = ns;
    for (size_t i = 0; i < oldn; i++) {
        if (!old[i]) continue;
        const segdb_kv *kv = &b->kv[old[i] - 1];
        size_t slot;
        ident_find(b, kv->value, kv->value_len, &slot);
        b->idslots[slot] = old[i];
    }
    free(old);
    return SEGDB_OK;
}

/* Room for rows more rows and n more cells. */
static int batch_grow(ops_batch *b, size_t rows, size_t n)
{
    if (b->nrows + rows >= b->caprows) {
        size_t nc = b->caprows ? b->caprows * 2 : 64;
        while (nc <= b->nrows + rows) nc *= 2;
        uint64_t *ids = realloc(b->ids, nc * sizeof *ids);
        if (ids) b->ids = ids;
        size_t *ko = realloc(b->koff, (nc + 1) * sizeof *ko);
        if (ko) b->koff = ko;
        bool *nt = realloc(b->names_type, nc * sizeof *nt);
        if (nt) b->names_type = nt;
        if (!ids || !ko || !nt) return SEGDB_ENOMEM;
        b->caprows = nc;
    }
    /* the value arrays exist even before any cell: rows without values
     * point into them too */
    if (b->nkv + n > b->capkv || !b->capkv) {
        size_t nc = b->capkv ? b->capkv * 2 : 256;
        while (nc < b->nkv + n) nc *= 2;
        segdb_kv *kv = realloc(b->kv, nc * sizeof *kv);
        if (kv) b->kv = kv;
        pval *pv = realloc(b->pv, nc * sizeof *pv);
        if (pv) b->pv = pv;
        uint16_t *kc = realloc(b->kcol, nc * sizeof *kc);
        if (kc) b->kcol = kc;
        uint32_t *si = realloc(b->standin, nc * sizeof *si);
        if (si) b->standin = si;
        field **cf = realloc(b->cellf, nc * sizeof *cf);
        if (cf) b->cellf = cf;
        if (!kv || !pv || !kc || !si || !cf) return SEGDB_ENOMEM;
        b->capkv = nc;
    }
    return SEGDB_OK;
}

int ops_batch_reserve(ops_batch *b, size_t rows, size_t cells) { return batch_grow(b, rows, cells); }

static int batch_col_find(ops_batch *b, const char *name, uint16_t *col);

/* The column of a field name (by pointer, then by text), added when new.
 * SEGDB_ELIMIT (too many names) or SEGDB_ENOMEM, worded in err. */
static int batch_col(ops_batch *b, const char *name, uint16_t *col, segdb_err *err)
{
    /* callers pass the same few name strings row after row: remember where
     * each pointer went (rows name their fields in varying orders) */
    size_t slot = ((uintptr_t)name >> 3) & (BATCH_COL_MEMO - 1);
    if (b->memo_name[slot] == name) {
        *col = b->memo_col[slot];
        return SEGDB_OK;
    }
    int rc = batch_col_find(b, name, col);
    if (rc == SEGDB_ELIMIT) return err_set(err, rc, "more than %u distinct field names in one import", UINT16_MAX);
    if (rc) return err_set(err, rc, "out of memory");
    b->memo_name[slot] = name;
    b->memo_col[slot] = *col;
    return SEGDB_OK;
}

/* The column already named `name` (by pointer, else by text), searched from
 * *hint on (rows name their columns in the same order: the one after the
 * last first). False when there is none yet. Only reads b. */
static bool batch_col_known(const ops_batch *b, const char *name, uint32_t *hint, uint16_t *col)
{
    uint32_t h = *hint < b->ncols ? *hint : 0;
    for (uint32_t k = 0; k < b->ncols; k++) {
        uint32_t c = h + k < b->ncols ? h + k : h + k - b->ncols;
        if (b->cols[c] == name) {
            *col = (uint16_t)c;
            *hint = c + 1;
            return true;
        }
    }
    for (uint32_t c = 0; c < b->ncols; c++)
        if (strcmp(b->cols[c], name) == 0) { *col = (uint16_t)c; return true; }
    return false;
}

static int batch_col_find(ops_batch *b, const char *name, uint16_t *col)
{
    if (batch_col_known(b, name, &b->col_hint, col)) return SEGDB_OK;
    if (b->ncols == UINT16_MAX) return SEGDB_ELIMIT;
    if (b->ncols == b->capcols) {
        uint32_t nc = b->capcols ? b->capcols * 2 : 32;
        const char **a = realloc(b->cols, nc * sizeof *a);
        if (a) b->cols = a;
        field **fa = realloc(b->colf, nc * sizeof *fa);
        if (fa) b->colf = fa;
        if (!a || !fa) return SEGDB_ENOMEM;
        b->capcols = nc;
    }
    b->cols[b->ncols] = name;
    b->colf[b->ncols] = store_field(b->db, name, strlen(name));
    *col = (uint16_t)b->ncols++;
    return SEGDB_OK;
}

/* Identifier uniqueness within the batch for the next row (at b->nrows;
 * idents: some column of the batch may be the identifier), then the row
 * joins the batch. */
static int batch_finish_row(ops_batch *b, uint64_t id, bool names_type, bool idents, segdb_err *err)
{
    size_t k0 = b->koff[b->nrows], k1 = b->koff[b->nrows + 1];
    size_t ident = 0;
    for (size_t k = k0; idents && k < k1; k++) {
        const pval *pv = &b->pv[k];
        if (pv->f->id != F_IDENTIFIER || pv->op != PV_SET) continue;
        if (b->nidslots == 0 || (b->nids + 1) * 2 > b->nidslots) {
            if (ident_grow(b)) return err_set(err, SEGDB_ENOMEM, "out of memory");
        }
        size_t slot, cell = ident_find(b, pv->s, pv->len, &slot);
        if (cell) {
            /* the row holding cell - 1: the first with koff[row + 1] >= cell */
            size_t lo = 0, hi = b->nrows - 1;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (b->koff[mid + 1] >= cell) hi = mid;
                else lo = mid + 1;
            }
            size_t row = lo;
            if (b->ids[row] != id)
                return err_set(err, SEGDB_EINVAL, "identifier '%.*s' is given to contact %llu by an earlier row",
                               (int)(pv->len > 100 ? 100 : pv->len), pv->s, (unsigned long long)b->ids[row]);
        } else {
            ident = k + 1;
        }
    }
    if (ident) {
        size_t slot;
        ident_find(b, b->kv[ident - 1].value, b->kv[ident - 1].value_len, &slot);
        b->idslots[slot] = ident;
        b->nids++;
    }
    b->ids[b->nrows] = id;
    b->names_type[b->nrows] = names_type;
    b->nkv = k1;
    b->nrows++;
    return SEGDB_OK;
}

/* New field names a checking thread keeps track of (more: the batch's names
 * are looked up serially). */
#define CHECK_NEW_NAMES 32u

/* Rows [from, to) of an ops_batch_add_many call (a chunk of CHECK_CHUNK):
 * their UPSERT checks, by whichever thread takes the chunk. */
typedef struct check_part {
    ops_batch *b;
    const segdb_contact *c;
    size_t from, to;
    size_t failed;               /* the first row that failed (lane's err), or to */
    int lane;                    /* the thread that took it */
    load_cells *grid;            /* NULL, or where to file the checked values by field */
    int grid_rc;                 /* ENOMEM filing them (the batch then files them itself) */
    bool lookup;                 /* look the rows' field names up first (else done already) */
    bool unknown;                /* more new names than new_name holds: nothing checked */
    /* names without a column yet, in the order the part's rows first name
     * them: their cells hold column NEW_COL(j) until the caller numbers them */
    const char *new_name[CHECK_NEW_NAMES];
    size_t new_row[CHECK_NEW_NAMES];  /* the row that first names it */
    uint32_t nnew;
    uint32_t nstandin;           /* cells holding a stand-in (their offsets: b->standin) */
} check_part;

/* Rows per chunk: threads take chunks until none is left, so one that
 * starts late (a worker waking) or reads rows from another core's cache
 * (the caller wrote them) takes fewer. */
#define CHECK_CHUNK 64u
#define CHECK_MAX_CHUNKS 65536u /* batches of more rows file their values in load_apply */

/* One thread's share of a check round. */
typedef struct check_lane {
    check_part *parts;
    size_t nparts;
    size_t *next;                /* the next chunk to take (atomic) */
    bool *stop;                  /* a chunk failed: take no more (atomic) */
    int lane;
    segdb_err err;               /* its chunk's failure */
} check_lane;

/* A stand-in column for a part's j-th new name (batches whose columns could
 * reach these look their names up serially). */
#define NEW_COL(j) ((uint16_t)(UINT16_MAX - (j)))
#define NEW_COL_MIN NEW_COL(CHECK_NEW_NAMES - 1)

/* Rows ahead whose values (and, looking names up, whose name/value pairs)
 * are prefetched. */
#define CHECK_AHEAD 4u

static inline void prefetch_bytes(const void *p, size_t n)
{
    for (size_t o = 0; o < n; o += 64) __builtin_prefetch((const char *)p + o);
}

/* Cell k of part cp (whose first cell is base) has column col, of field f;
 * a stand-in is noted for number_new_cols. */
static inline void set_cell_col(ops_batch *b, check_part *cp, size_t base, size_t k, uint16_t col, field *f)
{
    b->kcol[k] = col;
    b->cellf[k] = f;
    if (col >= NEW_COL_MIN) b->standin[base + cp->nstandin++] = (uint32_t)(k - base);
}

/* The columns (kcol) and fields (cellf) of rows [cp->from, cp->to). A name
 * with no column yet gets a stand-in (columns are numbered in the order rows
 * first name them, which only the caller, seeing every part, knows). False
 * when there are more such names than a part holds. */
static bool lookup_rows(check_part *cp)
{
    ops_batch *b = cp->b;
    const char *memo_name[BATCH_COL_MEMO] = {0};
    uint16_t memo_col[BATCH_COL_MEMO];
    field *memo_f[BATCH_COL_MEMO];
    uint32_t hint = 0;
    size_t base = b->koff[b->nrows + cp->from];
    for (size_t i = cp->from; i < cp->to; i++) {
        size_t k = b->koff[b->nrows + i];
        /* rows from one source name their fields in the same order, often
         * from the same strings: the previous row's j-th name first */
        const segdb_kv *prev = i > cp->from ? cp->c[i - 1].kv : NULL;
        size_t prev_n = prev ? cp->c[i - 1].n : 0, prev_k = prev ? b->koff[b->nrows + i - 1] : 0;
        /* the caller's rows are read here first, often from another core's cache */
        if (i + CHECK_AHEAD < cp->to)
            prefetch_bytes(cp->c[i + CHECK_AHEAD].kv, cp->c[i + CHECK_AHEAD].n * sizeof(segdb_kv));
        for (size_t j = 0; j < cp->c[i].n; j++, k++) {
            const char *name = cp->c[i].kv[j].name;
            if (j < prev_n && prev[j].name == name) {
                set_cell_col(b, cp, base, k, b->kcol[prev_k + j], b->cellf[prev_k + j]);
                continue;
            }
            size_t slot = ((uintptr_t)name >> 3) & (BATCH_COL_MEMO - 1);
            if (memo_name[slot] == name) {
                set_cell_col(b, cp, base, k, memo_col[slot], memo_f[slot]);
                continue;
            }
            uint16_t col;
            field *f;
            if (batch_col_known(b, name, &hint, &col)) {
                f = b->colf[col];
            } else {
                uint32_t q = 0;
                while (q < cp->nnew && strcmp(cp->new_name[q], name) != 0) q++;
                if (q == cp->nnew) {
                    if (cp->nnew == CHECK_NEW_NAMES) return false;
                    cp->new_name[q] = name;
                    cp->new_row[q] = i;
                    cp->nnew++;
                }
                col = NEW_COL(q);
                f = store_field(b->db, name, strlen(name));
            }
            set_cell_col(b, cp, base, k, col, f);
            memo_name[slot] = name;
            memo_col[slot] = col;
            memo_f[slot] = f;
        }
    }
    return true;
}

/* Numbers a part's new names as columns (in row order, after every earlier
 * part's) and puts them in place of the stand-ins. On error *failed is the
 * row that first named the name. */
static int number_new_cols(ops_batch *b, const check_part *cp, size_t *failed, segdb_err *err)
{
    uint16_t col[CHECK_NEW_NAMES];
    for (uint32_t q = 0; q < cp->nnew; q++) {
        int rc = batch_col(b, cp->new_name[q], &col[q], err);
        if (rc) {
            *failed = cp->new_row[q];
            return rc;
        }
    }
    /* only the cells lookup_rows noted (scanning every cell of every part
     * that met a name was serial work over the whole batch) */
    size_t base = b->koff[b->nrows + cp->from];
    for (uint32_t j = 0; j < cp->nstandin; j++) {
        size_t k = base + b->standin[base + j];
        b->kcol[k] = col[UINT16_MAX - b->kcol[k]];
    }
    return SEGDB_OK;
}

/* One chunk; false when it failed (a row's check, or unknown names). */
static bool check_part_rows(check_part *cp, segdb_err *err)
{
    ops_batch *b = cp->b;
    cp->failed = cp->to;
    if (cp->lookup && !lookup_rows(cp)) {
        cp->unknown = true;
        return false;
    }
    for (size_t i = cp->from; i < cp->to; i++) {
        size_t k0 = b->koff[b->nrows + i];
        const segdb_contact *ci = &cp->c[i];
        if (i + CHECK_AHEAD < cp->to) {
            const segdb_contact *ca = &cp->c[i + CHECK_AHEAD];
            for (size_t j = 0; j < ca->n; j++) __builtin_prefetch(ca->kv[j].value);
        }
        if (ci->n) memcpy(b->kv + k0, ci->kv, ci->n * sizeof *ci->kv);
        if (!cp->lookup)
            for (size_t j = 0; j < ci->n; j++) b->cellf[k0 + j] = b->colf[b->kcol[k0 + j]];
        record r = {.kind = REC_UPSERT, .time = b->time};
        r.u.upsert.id = cp->c[i].id;
        r.u.upsert.kv = b->kv + k0;
        r.u.upsert.n = cp->c[i].n;
        bool names_type = false;
        if (prepare_upsert(b->db, &r, b->cellf + k0, b->text_ok, b->pv + k0, &names_type, err)) {
            cp->failed = i;
            return false;
        }
        b->names_type[b->nrows + i] = names_type;
        /* a bulk load: file the row's values by field now, while they are
         * in this core's first-level cache (load_apply would take another
         * pass over them, from farther) */
        if (cp->grid && !cp->grid_rc)
            cp->grid_rc = load_gather(b->defs, b->koff, b->pv, i, i + 1, b->grid_first, cp->grid);
    }
    return true;
}

/* A thread of a check round: chunks in turn until none is left or one
 * failed. Chunks are taken in order, so every chunk before a failed one is
 * checked whole, whichever thread took it. */
static void check_rows(void *arg)
{
    check_lane *ln = arg;
    for (;;) {
        if (__atomic_load_n(ln->stop, __ATOMIC_RELAXED)) return;
        size_t i = __atomic_fetch_add(ln->next, 1, __ATOMIC_RELAXED);
        if (i >= ln->nparts) return;
        check_part *cp = &ln->parts[i];
        cp->lane = ln->lane;
        if (!check_part_rows(cp, &ln->err)) {
            __atomic_store_n(ln->stop, true, __ATOMIC_RELAXED);
            return;
        }
    }
}

/* The columns of rows [from, to) of an ops_batch_add_many call, creating
 * them as the rows first name them. On error *failed is the row. */
static int lookup_serial(ops_batch *b, const segdb_contact *c, size_t from, size_t to, size_t *failed,
                         segdb_err *err)
{
    for (size_t i = from; i < to; i++) {
        size_t k = b->koff[b->nrows + i];
        for (size_t j = 0; j < c[i].n; j++, k++) {
            int rc = batch_col(b, c[i].kv[j].name, &b->kcol[k], err);
            if (rc) {
                *failed = i;
                return rc;
            }
        }
    }
    return SEGDB_OK;
}

/* Batches from this many rows check them over the handle's threads. */
#define CHECK_PARALLEL_MIN_ROWS 256u

int ops_batch_add_many(ops_batch *b, const segdb_contact *c, size_t n, size_t *failed, segdb_err *err)
{
    *failed = 0;
    if (b->committed) return err_set(err, SEGDB_EINVAL, "the import batch was already written");
    size_t cells = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].n > UINT16_MAX) {
            *failed = i;
            return err_set(err, SEGDB_ELIMIT, "a row has more than %u values", UINT16_MAX);
        }
        cells += c[i].n;
    }
    if (batch_grow(b, n, cells)) return err_set(err, SEGDB_ENOMEM, "out of memory");
    size_t k = b->nkv;
    for (size_t i = 0; i < n; i++) {
        k += c[i].n;
        b->koff[b->nrows + i + 1] = k;
    }
    /* Columns are numbered in the order rows first name them (so a batch's
     * record is the same every time). The first row's names are looked up
     * here; the checking threads look up the others', giving names without
     * a column a stand-in that is numbered after the checks, part by part.
     * Should a part meet more new names than it holds (or the stand-ins
     * could meet real columns), every row is looked up here in order and
     * the checks run again. The values are copied by the threads that check
     * them. */
    int rc = n ? lookup_serial(b, c, 0, 1, failed, err) : SEGDB_OK;
    if (rc) return rc;
    bool lookup = b->ncols < NEW_COL_MIN;
    if (!lookup && (rc = lookup_serial(b, c, 1, n, failed, err))) return rc;
    /* the identifier check reads who holds a value (see store_text_settle) */
    if (store_text_settle(b->db->fields[F_IDENTIFIER]->text)) return err_set(err, SEGDB_ENOMEM, "out of memory");
    /* the checks only read the store: chunks of rows over the threads */
    int nl = n < CHECK_PARALLEL_MIN_ROWS ? 1 : exec_threads(b->db);
    size_t np = nl > 1 ? (n + CHECK_CHUNK - 1) / CHECK_CHUNK : 1;
    if (np > b->parts_cap) {
        check_part *a = realloc(b->parts, np * sizeof *a);
        if (!a) return err_set(err, SEGDB_ENOMEM, "out of memory");
        b->parts = a;
        b->parts_cap = np;
    }
    check_part *parts = b->parts;
    /* the whole batch at once, of new contacts with ascending ids: the
     * column path will apply it (load.h), and the checks file its values,
     * chunk by chunk */
    bool gather = b->nrows == 0 && nl > 1;
    for (size_t i = 0; gather && i < n; i++)
        gather = c[i].id > (i ? c[i - 1].id : b->db->max_id);
    b->gathered = false;
    if (gather && (np > CHECK_MAX_CHUNKS || grid_ready(b, (int)np, b->db->nfields))) gather = false;
    if (gather) {
        load_defaults(b->db, b->time, b->defs);
        b->grid_first = b->db->nrows;
    }
    check_lane lanes[EXEC_MAX_LANES];
    void *args[EXEC_MAX_LANES];
    for (;; lookup = false) {
        for (size_t p = 0; p < np; p++) {
            size_t from = p * CHECK_CHUNK, to = np == 1 ? n : from + CHECK_CHUNK < n ? from + CHECK_CHUNK : n;
            parts[p] = (check_part){.b = b, .c = c, .from = from, .to = to, .failed = to,
                                    .grid = gather ? b->grid + p * b->grid_nf : NULL, .lookup = lookup};
        }
        size_t next = 0;
        bool stop = false;
        for (int l = 0; l < nl; l++) {
            lanes[l] = (check_lane){.parts = parts, .nparts = np, .next = &next, .stop = &stop, .lane = l};
            lanes[l].err.code = 0;
            lanes[l].err.msg[0] = '\0';
            args[l] = &lanes[l];
        }
        if (nl > 1) exec_run_tasks(b->db, check_rows, args, nl);
        else check_rows(args[0]);
        bool unknown = false;
        for (size_t p = 0; p < np && !unknown; p++) unknown = parts[p].unknown;
        if (!unknown) {
            /* (a chunk no thread took, after a failed one, has none) */
            for (size_t p = 0; p < np; p++)
                if (parts[p].nnew && (rc = number_new_cols(b, &parts[p], failed, err))) return rc;
            break;
        }
        /* a row names a new field: every row in order, then the checks again */
        if ((rc = lookup_serial(b, c, 1, n, failed, err))) return rc;
        if (gather && grid_ready(b, (int)np, b->db->nfields)) return err_set(err, SEGDB_ENOMEM, "out of memory");
    }
    /* in row order: the first row that failed a check, or identifier uniqueness */
    size_t upto = n;
    const segdb_err *perr = NULL;
    for (size_t p = 0; p < np; p++)
        if (parts[p].failed < parts[p].to) {
            upto = parts[p].failed;
            perr = &lanes[parts[p].lane].err;
            break;
        }
    bool idents = false; /* most batches don't write identifiers: skip their values */
    for (uint32_t col = 0; col < b->ncols && !idents; col++) idents = !b->colf[col] || b->colf[col]->id == F_IDENTIFIER;
    for (size_t i = 0; i < upto; i++) {
        int rc = batch_finish_row(b, c[i].id, b->names_type[b->nrows], idents, err);
        if (rc) {
            *failed = i;
            return rc;
        }
    }
    if (perr) {
        *failed = upto;
        if (err) *err = *perr;
        return perr->code;
    }
    b->gathered = gather;
    for (size_t p = 0; p < np; p++) b->gathered = b->gathered && parts[p].grid_rc == SEGDB_OK;
    return SEGDB_OK;
}

int ops_batch_add(ops_batch *b, uint64_t id, const segdb_kv *kv, size_t n, segdb_err *err)
{
    segdb_contact c = {.id = id, .kv = kv, .n = n};
    size_t failed;
    return ops_batch_add_many(b, &c, 1, &failed, err);
}

/* Unsigned LEB128: 7 bits a byte, low bits first. */
static size_t var_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

static unsigned char *var_put(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static void batch_encode(wbuf *w, const ops_batch *b)
{
    put_u16(w, (uint16_t)b->ncols);
    for (uint32_t c = 0; c < b->ncols; c++) put_str16(w, b->cols[c]);
    if (b->nrows > UINT32_MAX) { w->oom = true; return; }
    put_u32(w, (uint32_t)b->nrows);
    /* the rows are most of the record: size them once, then write in place */
    size_t need = 0;
    for (size_t i = 0; i < b->nrows; i++) {
        need += 8 + var_len(b->koff[i + 1] - b->koff[i]);
        for (size_t k = b->koff[i]; k < b->koff[i + 1]; k++)
            need += var_len(b->kcol[k]) + var_len(b->kv[k].value_len) + b->kv[k].value_len;
    }
    if (!reserve(w, need)) return;
    unsigned char *p = w->p + w->len;
    for (size_t i = 0; i < b->nrows; i++) {
        uint64_t id = b->ids[i];
        for (int k = 0; k < 8; k++) *p++ = (unsigned char)(id >> (8 * k));
        p = var_put(p, b->koff[i + 1] - b->koff[i]);
        for (size_t k = b->koff[i]; k < b->koff[i + 1]; k++) {
            p = var_put(p, b->kcol[k]);
            p = var_put(p, b->kv[k].value_len);
            memcpy(p, b->kv[k].value, b->kv[k].value_len);
            p += b->kv[k].value_len;
        }
    }
    w->len += need;
}

/* Each row through UPSERT's apply, in order; a batch of only new contacts
 * with ascending ids (a bulk load) column by column instead (load.h), to the
 * same state. */
static int batch_apply(segdb_t *db, const ops_batch *b, uint64_t *created)
{
    load_batch lb = {.time = b->time, .n = b->nrows, .ids = b->ids, .koff = b->koff, .pv = b->pv,
                     .names_type = b->names_type, .grid = b->gathered ? b->grid : NULL, .np = b->grid_np,
                     .nf = b->grid_nf, .grid_first = b->grid_first};
    if (load_applies(db, &lb)) {
        int rc = load_apply(db, &lb);
        *created = rc ? 0 : b->nrows;
        return rc;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < b->nrows; i++) {
        record r = {.kind = REC_UPSERT, .time = b->time};
        r.u.upsert.id = b->ids[i];
        r.u.upsert.kv = b->kv + b->koff[i];
        r.u.upsert.n = b->koff[i + 1] - b->koff[i];
        uint64_t c = 0;
        int rc = apply_upsert(db, &r, b->pv + b->koff[i], b->names_type[i], &c);
        if (rc) return rc;
        n += c;
    }
    *created = n;
    return SEGDB_OK;
}

int ops_batch_commit(ops_batch *b, uint64_t *created, segdb_err *err)
{
    *created = 0;
    if (b->committed) return err_set(err, SEGDB_EINVAL, "the import batch was already written");
    if (b->nrows == 0) return SEGDB_OK;
    b->committed = true;
    record r = {.kind = REC_IMPORT, .time = b->time};
    r.u.import.batch = b;
    return ops_write(b->db, &r, created, err);
}

/* ---- dispatch ------------------------------------------------------------- */

static int prepare_and_apply(segdb_t *db, const record *r, bool log, uint64_t *out, segdb_err *err)
{
    int rc = SEGDB_OK;
    pval *pv = NULL, spv;
    bool names_type = false;
    segdb_kind kind_ok = SEGDB_KIND_TEXT;
    uint64_t scratch = 0;
    if (!out) out = &scratch;

    /* prepare: every check that can fail on user input */
    switch (r->kind) {
    case REC_UPSERT:
        if (r->u.upsert.n == 0) return err_set(err, SEGDB_EINVAL, "UPSERT needs at least one field and value");
        /* the identifier check reads who holds a value (see store_text_settle) */
        if (store_text_settle(db->fields[F_IDENTIFIER]->text)) return err_set(err, SEGDB_ENOMEM, "out of memory");
        pv = calloc(r->u.upsert.n, sizeof *pv);
        if (!pv) return err_set(err, SEGDB_ENOMEM, "out of memory");
        rc = prepare_upsert(db, r, NULL, false, pv, &names_type, err);
        if (rc) goto done;
        break;
    case REC_DELETE:
        for (size_t i = 0; i < r->u.del.n; i++)
            if (r->u.del.ids[i] == 0) {
                rc = err_set(err, SEGDB_EINVAL, "id 0 is not allowed");
                goto done;
            }
        break;
    case REC_FIELD_CREATE: {
        const char *k = NULL;
        kind_ok = r->u.field_create.kind;
        switch (kind_ok) {
        case SEGDB_KIND_TEXT: case SEGDB_KIND_NUMBER: case SEGDB_KIND_INTEGER:
        case SEGDB_KIND_TIME: case SEGDB_KIND_BOOL: case SEGDB_KIND_CATEGORY: break;
        default: k = "bad";
        }
        if (k) {
            rc = err_set(err, SEGDB_EINVAL, "unknown field kind; use text, number, integer, time, bool or category");
            goto done;
        }
        if (store_field(db, r->u.field_create.name, strlen(r->u.field_create.name))) {
            rc = err_set(err, SEGDB_EEXIST, "field '%s' already exists", r->u.field_create.name);
            goto done;
        }
        break;
    }
    case REC_TAG:
    case REC_UNTAG: {
        const char *name = r->u.rows.name;
        const char *why = fold_tag_name_problem(name, strlen(name));
        if (why) {
            rc = err_set(err, SEGDB_EINVAL, "%s: '%.80s'", why, name);
            goto done;
        }
        rc = rows_check(db, r->u.rows.rows, false, err);
        if (rc) goto done;
        break;
    }
    case REC_GROUP_ADD:
    case REC_GROUP_REMOVE:
        if (!group_lookup(db, r->u.rows.name, strlen(r->u.rows.name))) {
            rc = err_set(err, SEGDB_EINVAL, "no group '%.80s'; GROUP.LIST shows the groups, GROUP.CREATE makes one",
                         r->u.rows.name);
            goto done;
        }
        rc = rows_check(db, r->u.rows.rows, false, err);
        if (rc) goto done;
        break;
    case REC_SET:
        rc = set_check(db, r->time, r->u.rows.name, r->u.rows.value, r->u.rows.value_len, &spv, err);
        if (!rc) rc = rows_check(db, r->u.rows.rows, false, err);
        if (!rc) rc = set_identifier_check(db, &spv, r->u.rows.rows, err);
        if (rc) goto done;
        break;
    case REC_ARCHIVE:
    case REC_UNARCHIVE:
        rc = rows_check(db, r->u.rows.rows, r->kind == REC_UNARCHIVE, err);
        if (rc) goto done;
        break;
    case REC_SEGMENT_SAVE:
    case REC_SEGMENT_FREEZE:
    case REC_SEGMENT_DEL:
        rc = segment_prepare(db, r, err);
        if (rc) goto done;
        break;
    case REC_GROUP_CREATE:
    case REC_GROUP_DEL:
        rc = group_prepare(db, r, err);
        if (rc) goto done;
        break;
    case REC_NOTE_ADD:
    case REC_NOTE_EDIT:
    case REC_NOTE_DEL:
        rc = note_prepare(db, r, err);
        if (rc) goto done;
        break;
    case REC_IMPORT:
        /* every row was checked by ops_batch_add against this very state */
        if (!r->u.import.batch) {
            rc = err_set(err, SEGDB_EINVAL, "import record without rows");
            goto done;
        }
        break;
    default:
        rc = err_set(err, SEGDB_EINVAL, "unknown record kind %d", (int)r->kind);
        goto done;
    }

    /* log */
    if (log && db->opt.log_fn) {
        size_t len;
        void *bytes = ops_encode(r, &len);
        if (!bytes) {
            rc = err_set(err, SEGDB_ENOMEM, "out of memory");
            goto done;
        }
        rc = db->opt.log_fn(db->opt.log_ctx, db->seq + 1, bytes, len, err);
        free(bytes);
        if (rc) goto done;
    }
    db->seq++;

    /* apply */
    db->now_override = r->time;
    *out = 0;
    switch (r->kind) {
    case REC_UPSERT:
        rc = apply_upsert(db, r, pv, names_type, out);
        break;
    case REC_DELETE: {
        uint64_t n = 0;
        for (size_t i = 0; i < r->u.del.n; i++) {
            uint32_t row = store_row_of(db, r->u.del.ids[i]);
            if (row == UINT32_MAX) continue;
            store_delete_row(db, row);
            segment_forget_row(db, row);
            note_forget_row(db, row);
            n++;
        }
        *out = n;
        break;
    }
    case REC_FIELD_CREATE:
        rc = store_add_field(db, r->u.field_create.name, kind_ok, NULL, err);
        break;
    case REC_TAG:
    case REC_UNTAG:
        rc = apply_label(db->fields[F_TAGS], r->u.rows.name, r->u.rows.rows, r->kind == REC_TAG);
        *out = roaring_bitmap_get_cardinality(r->u.rows.rows);
        break;
    case REC_GROUP_ADD:
    case REC_GROUP_REMOVE:
        rc = apply_label(db->fields[F_GROUPS], r->u.rows.name, r->u.rows.rows, r->kind == REC_GROUP_ADD);
        *out = roaring_bitmap_get_cardinality(r->u.rows.rows);
        break;
    case REC_SET:
        rc = apply_set(db, &spv, r->u.rows.rows);
        *out = roaring_bitmap_get_cardinality(r->u.rows.rows);
        break;
    case REC_ARCHIVE:
        roaring_bitmap_or_inplace(db->archived, r->u.rows.rows);
        roaring_bitmap_andnot_inplace(db->universe, r->u.rows.rows);
        *out = roaring_bitmap_get_cardinality(r->u.rows.rows);
        break;
    case REC_UNARCHIVE:
        roaring_bitmap_andnot_inplace(db->archived, r->u.rows.rows);
        roaring_bitmap_or_inplace(db->universe, r->u.rows.rows);
        *out = roaring_bitmap_get_cardinality(r->u.rows.rows);
        break;
    case REC_SEGMENT_SAVE:
    case REC_SEGMENT_FREEZE:
    case REC_SEGMENT_DEL:
        rc = segment_apply(db, r);
        break;
    case REC_GROUP_CREATE:
    case REC_GROUP_DEL:
        rc = group_apply(db, r);
        break;
    case REC_NOTE_ADD:
    case REC_NOTE_EDIT:
    case REC_NOTE_DEL:
        rc = note_apply(db, r, out);
        break;
    case REC_IMPORT:
        rc = batch_apply(db, r->u.import.batch, out);
        break;
    }
    db->now_override = 0;
    if (rc == SEGDB_ENOMEM) err_set(err, rc, "out of memory while applying a write");
done:
    free(pv);
    return rc;
}

int ops_write(segdb_t *db, const record *r, uint64_t *out, segdb_err *err)
{
    return prepare_and_apply(db, r, true, out, err);
}

/* ---- decoding ------------------------------------------------------------- */

/* What a decoded record points at that must be freed after it is applied. */
typedef struct decoded {
    void **mem;
    size_t nmem, capmem;
    roaring_bitmap_t **bms;
    size_t nbms, capbms;
    bool oom;
} decoded;

static void *keep_mem(decoded *d, void *p)
{
    if (!p) { d->oom = true; return NULL; }
    if (d->nmem == d->capmem) {
        size_t nc = d->capmem ? d->capmem * 2 : 8;
        void **a = realloc(d->mem, nc * sizeof *a);
        if (!a) { free(p); d->oom = true; return NULL; }
        d->mem = a;
        d->capmem = nc;
    }
    d->mem[d->nmem++] = p;
    return p;
}

/* A str16/str32 as a NUL-terminated copy (names, filters: no NUL inside). */
static const char *get_str(rbuf *b, decoded *d, int lenbytes)
{
    size_t n = (size_t)get_le(b, lenbytes);
    const char *q = take(b, n);
    if (!q) return NULL;
    if (memchr(q, 0, n)) { b->bad = true; return NULL; }
    return keep_mem(d, strndup(q, n));
}

/* A str32 in place (values, note texts: explicit length). */
static const char *get_bytes(rbuf *b, size_t *n)
{
    *n = (size_t)get_le(b, 4);
    return take(b, *n);
}

static const roaring_bitmap_t *get_bitmap(rbuf *b, decoded *d)
{
    size_t n = (size_t)get_le(b, 4);
    const char *q = take(b, n);
    if (!q) return NULL;
    if (roaring_bitmap_portable_deserialize_size(q, n) != n) { b->bad = true; return NULL; }
    roaring_bitmap_t *bm = roaring_bitmap_portable_deserialize_safe(q, n);
    if (!bm) { b->bad = true; return NULL; }
    if (!bm_valid(bm)) { roaring_bitmap_free(bm); b->bad = true; return NULL; }
    if (d->nbms == d->capbms) {
        size_t nc = d->capbms ? d->capbms * 2 : 4;
        roaring_bitmap_t **a = realloc(d->bms, nc * sizeof *a);
        if (!a) { roaring_bitmap_free(bm); d->oom = true; return NULL; }
        d->bms = a;
        d->capbms = nc;
    }
    d->bms[d->nbms++] = bm;
    return bm;
}

static void decoded_free(decoded *d)
{
    for (size_t i = 0; i < d->nmem; i++) free(d->mem[i]);
    free(d->mem);
    for (size_t i = 0; i < d->nbms; i++) roaring_bitmap_free(d->bms[i]);
    free(d->bms);
}

int ops_apply_bytes(segdb_t *db, uint64_t seq, const void *bytes, size_t len, segdb_err *err)
{
    rbuf b = {.p = bytes, .len = len};
    record r;
    memset(&r, 0, sizeof r);
    r.kind = (rec_kind)get_le(&b, 1);
    r.time = (int64_t)get_le(&b, 8);
    segdb_kv *kv = NULL;
    uint64_t *ids = NULL;
    char **names = NULL;
    uint32_t nnames = 0;
    char namebuf[SEGDB_MAX_FIELD_NAME_BYTES + 1];
    decoded d = {0};
    ops_batch *batch = NULL;
    segdb_kv *rowkv = NULL;
    int rc;
    switch (r.kind) {
    case REC_UPSERT: {
        r.u.upsert.id = get_le(&b, 8);
        uint32_t n = (uint32_t)get_le(&b, 4);
        if (b.bad || n > len) goto bad;
        kv = calloc(n ? n : 1, sizeof *kv);
        names = calloc(n ? n : 1, sizeof *names);
        if (!kv || !names) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto out; }
        for (uint32_t i = 0; i < n; i++) {
            uint16_t nl = (uint16_t)get_le(&b, 2);
            const char *nm = take(&b, nl);
            uint32_t vl = (uint32_t)get_le(&b, 4);
            const char *v = take(&b, vl);
            if (b.bad) goto bad;
            names[i] = strndup(nm, nl);
            if (!names[i]) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto out; }
            nnames++;
            kv[i].name = names[i];
            kv[i].value = v;
            kv[i].value_len = vl;
        }
        r.u.upsert.kv = kv;
        r.u.upsert.n = n;
        break;
    }
    case REC_DELETE: {
        uint32_t n = (uint32_t)get_le(&b, 4);
        if (b.bad || (uint64_t)n * 8 > len) goto bad;
        ids = calloc(n ? n : 1, sizeof *ids);
        if (!ids) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto out; }
        for (uint32_t i = 0; i < n; i++) ids[i] = get_le(&b, 8);
        r.u.del.ids = ids;
        r.u.del.n = n;
        break;
    }
    case REC_FIELD_CREATE: {
        r.u.field_create.kind = (segdb_kind)get_le(&b, 1);
        uint16_t nl = (uint16_t)get_le(&b, 2);
        const char *nm = take(&b, nl);
        if (b.bad || nl > SEGDB_MAX_FIELD_NAME_BYTES) goto bad;
        memcpy(namebuf, nm, nl);
        namebuf[nl] = 0;
        r.u.field_create.name = namebuf;
        break;
    }
    case REC_TAG:
    case REC_UNTAG:
    case REC_GROUP_ADD:
    case REC_GROUP_REMOVE:
        r.u.rows.name = get_str(&b, &d, 2);
        r.u.rows.rows = get_bitmap(&b, &d);
        break;
    case REC_SET:
        r.u.rows.name = get_str(&b, &d, 2);
        r.u.rows.value = get_bytes(&b, &r.u.rows.value_len);
        r.u.rows.rows = get_bitmap(&b, &d);
        break;
    case REC_ARCHIVE:
    case REC_UNARCHIVE:
        r.u.rows.rows = get_bitmap(&b, &d);
        break;
    case REC_SEGMENT_SAVE:
        r.u.segment.name = get_str(&b, &d, 2);
        r.u.segment.filter = get_str(&b, &d, 4);
        break;
    case REC_SEGMENT_DEL:
        r.u.segment.name = get_str(&b, &d, 2);
        break;
    case REC_SEGMENT_FREEZE: {
        uint32_t n = (uint32_t)get_le(&b, 4);
        if (b.bad || (uint64_t)n * 14 > len) goto bad; /* each entry takes at least 14 bytes */
        const char **nm = keep_mem(&d, calloc(n ? n : 1, sizeof *nm));
        const char **ds = keep_mem(&d, calloc(n ? n : 1, sizeof *ds));
        const roaring_bitmap_t **ms = keep_mem(&d, calloc(n ? n : 1, sizeof *ms));
        if (d.oom) break;
        for (uint32_t i = 0; i < n && !b.bad && !d.oom; i++) {
            nm[i] = get_str(&b, &d, 2);
            ds[i] = get_str(&b, &d, 4);
            ms[i] = get_bitmap(&b, &d);
        }
        r.u.freeze.n = n;
        r.u.freeze.names = nm;
        r.u.freeze.descs = ds;
        r.u.freeze.members = ms;
        break;
    }
    case REC_GROUP_CREATE:
        r.u.group.code = get_str(&b, &d, 2);
        r.u.group.name = get_str(&b, &d, 4);
        r.u.group.parent = get_str(&b, &d, 2);
        break;
    case REC_GROUP_DEL:
        r.u.group.code = get_str(&b, &d, 2);
        break;
    case REC_NOTE_ADD:
    case REC_NOTE_EDIT:
        r.u.note.id = get_le(&b, 8);
        r.u.note.note = get_le(&b, 8);
        r.u.note.text = get_bytes(&b, &r.u.note.len);
        break;
    case REC_NOTE_DEL:
        r.u.note.id = get_le(&b, 8);
        r.u.note.note = get_le(&b, 8);
        break;
    case REC_IMPORT: {
        uint16_t nc = (uint16_t)get_le(&b, 2);
        const char **cols = keep_mem(&d, calloc(nc ? nc : 1, sizeof *cols));
        if (d.oom) break;
        for (uint32_t c = 0; c < nc && !b.bad && !d.oom; c++) cols[c] = get_str(&b, &d, 2);
        uint32_t nr = (uint32_t)get_le(&b, 4);
        if (b.bad || (uint64_t)nr * 9 > len) goto bad; /* each row takes at least 9 bytes */
        if (d.oom) break;
        rowkv = malloc(UINT16_MAX * sizeof *rowkv);
        batch = ops_batch_create(db, r.time);
        if (!rowkv || !batch) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto out; }
        for (uint32_t i = 0; i < nr; i++) {
            uint64_t id = get_le(&b, 8);
            uint64_t n = get_var(&b);
            if (n > UINT16_MAX) b.bad = true;
            for (uint64_t k = 0; k < n && !b.bad; k++) {
                uint64_t col = get_var(&b), vl = get_var(&b);
                rowkv[k].value = vl <= UINT32_MAX ? take(&b, (size_t)vl) : NULL;
                rowkv[k].value_len = (size_t)vl;
                if (col >= nc || vl > UINT32_MAX) b.bad = true;
                else rowkv[k].name = cols[col];
            }
            if (b.bad) goto bad;
            segdb_err rerr;
            rc = ops_batch_add(batch, id, rowkv, (size_t)n, &rerr);
            if (rc) {
                rc = err_set(err, rc, "import record, row %u: %s", i + 1, rerr.msg);
                goto out;
            }
        }
        r.u.import.batch = batch;
        break;
    }
    default:
        goto bad;
    }
    if (d.oom) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto out; }
    if (b.bad || b.off != len) goto bad;
    rc = prepare_and_apply(db, &r, false, NULL, err);
    if (rc == SEGDB_OK) db->seq = seq;
    goto out;
bad:
    rc = err_set(err, SEGDB_EINVAL, "malformed record (kind %d, %zu bytes)", (int)r.kind, len);
out:
    for (uint32_t i = 0; i < nnames; i++) free(names[i]);
    free(names);
    free(kv);
    free(ids);
    ops_batch_free(batch);
    free(rowkv);
    decoded_free(&d);
    return rc;
}

/*
 * ops.c — mutation records: validate (prepare), serialize, log, apply; and the
 * replay path (see ops.h for the byte format). Classification rules of SPEC 4
 * (type auto-upgrade, default status and relationship) are applied here so the
 * live path and recovery behave identically.
 */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "fold.h"
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

/* ---- upsert --------------------------------------------------------------- */

typedef enum { PV_SET, PV_CLEAR } pv_op;

typedef struct pval {
    field *f;
    pv_op op;
    const char *s;     /* text, category, tags list */
    size_t len;
    int64_t i;         /* time, date, integer */
    double d;          /* number */
    uint32_t code;     /* enum, bool */
} pval;

static int check_text(const char *fname, const char *s, size_t len, segdb_err *err)
{
    if (memchr(s, 0, len))
        return err_set(err, SEGDB_EINVAL, "value of '%s' contains a NUL byte", fname);
    if (!fold_utf8_valid(s, len))
        return err_set(err, SEGDB_EINVAL, "value of '%s' is not valid UTF-8", fname);
    return SEGDB_OK;
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

static int prepare_value(segdb_t *db, int64_t now, const segdb_kv *kv, pval *pv, bool *names_type,
                         segdb_err *err)
{
    size_t nl = strlen(kv->name);
    field *f = store_field(db, kv->name, nl);
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
    int rc = check_text(f->name, kv->value, kv->value_len, err);
    if (rc) return rc;
    pv->f = f;
    pv->s = kv->value;
    pv->len = kv->value_len;
    pv->op = PV_SET;
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
        if (f->id == F_EMAIL && !fold_email_valid(s, len))
            return err_set(err, SEGDB_EINVAL,
                           "invalid email '%.*s': expected one '@' and a domain with a dot",
                           (int)(len > 200 ? 200 : len), s);
        if (f->id == F_PHONE) {
            char tmp[64];
            if (len > 40 || fold_phone(s, len, tmp) == 0)
                return err_set(err, SEGDB_EINVAL, "invalid phone '%.*s': expected digits",
                               (int)(len > 60 ? 60 : len), s);
        }
        break;
    case SEGDB_KIND_ENUM:
    case SEGDB_KIND_BOOL:
        if (f->kind == SEGDB_KIND_BOOL) {
            bool b;
            if (value_parse_bool(s, len, &b))
                return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not a valid %s value; expected yes or no",
                               (int)(len > 100 ? 100 : len), s, f->name);
            pv->code = b ? BOOL_YES : BOOL_NO;
        } else {
            pv->code = store_enum_code(f, s, len);
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
            }
            start = i + 1;
        }
        break;
    }
    case SEGDB_KIND_TIME: {
        value_time vt;
        if (value_parse_time(s, len, now, db->opt.tz_offset_seconds, &vt))
            return err_set(err, SEGDB_EWRONGTYPE,
                           "'%.*s' is not a time for '%s'; use unix seconds, 2019-11-01, 2019-11-01T18:00[:00][Z|+07:00], now or -30d",
                           (int)(len > 100 ? 100 : len), s, f->name);
        pv->i = vt.lo;
        break;
    }
    case SEGDB_KIND_DATE:
        if (value_parse_date(s, len, &pv->i))
            return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not a date for '%s'; use YYYY-MM-DD",
                           (int)(len > 100 ? 100 : len), s, f->name);
        break;
    case SEGDB_KIND_INTEGER:
        if (value_parse_int(s, len, &pv->i))
            return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not an integer for '%s'",
                           (int)(len > 100 ? 100 : len), s, f->name);
        break;
    case SEGDB_KIND_NUMBER:
        if (value_parse_number(s, len, &pv->d))
            return err_set(err, SEGDB_EWRONGTYPE, "'%.*s' is not a number for '%s'",
                           (int)(len > 100 ? 100 : len), s, f->name);
        break;
    default:
        return err_set(err, SEGDB_EINVAL, "'%s' can't be set", f->name);
    }
    return SEGDB_OK;
}

static int prepare_upsert(segdb_t *db, const record *r, pval *pv, bool *names_type, segdb_err *err)
{
    const rec_upsert *u = &r->u.upsert;
    if (u->id == 0) return err_set(err, SEGDB_EINVAL, "id 0 is not allowed; ids are 1 to 18446744073709551615");
    uint32_t row = store_row_of(db, u->id);
    if (row != UINT32_MAX && roaring_bitmap_contains(db->archived, row))
        return err_set(err, SEGDB_EINVAL, "contact %llu is archived; UNARCHIVE it before writing",
                       (unsigned long long)u->id);
    *names_type = false;
    for (size_t i = 0; i < u->n; i++) {
        int rc = prepare_value(db, r->time, &u->kv[i], &pv[i], names_type, err);
        if (rc) return rc;
        if (pv[i].f->id == F_IDENTIFIER && pv[i].op == PV_SET) {
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

static int apply_value(segdb_t *db, uint32_t row, const pval *pv)
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
    if (store_has(p, row) && p->i64[row] > 0) return TYPE_CUSTOMER;
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
    bool touches_level = false;
    for (size_t i = 0; i < u->n; i++) {
        rc = apply_value(db, row, &pv[i]);
        if (rc) return rc;
        uint32_t id = pv[i].f->id;
        if (id == F_NAME || id == F_EMAIL || id == F_PHONE || id == F_PURCHASES) touches_level = true;
    }
    if (!names_type && touches_level) {
        field *t = db->fields[F_TYPE];
        uint32_t earned = earned_type(db, row);
        if (earned > t->codes8[row]) store_set_code(db, t, row, earned);
    }
    if (created) *created = is_new ? 1 : 0;
    return SEGDB_OK;
}

/* ---- dispatch ------------------------------------------------------------- */

static int prepare_and_apply(segdb_t *db, const record *r, bool log, uint64_t *out, segdb_err *err)
{
    int rc = SEGDB_OK;
    pval *pv = NULL;
    bool names_type = false;
    segdb_kind kind_ok = SEGDB_KIND_TEXT;

    /* prepare: every check that can fail on user input */
    switch (r->kind) {
    case REC_UPSERT:
        if (r->u.upsert.n == 0) return err_set(err, SEGDB_EINVAL, "UPSERT needs at least one field and value");
        pv = calloc(r->u.upsert.n, sizeof *pv);
        if (!pv) return err_set(err, SEGDB_ENOMEM, "out of memory");
        rc = prepare_upsert(db, r, pv, &names_type, err);
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
            n++;
        }
        if (out) *out = n;
        break;
    }
    case REC_FIELD_CREATE:
        rc = store_add_field(db, r->u.field_create.name, kind_ok, NULL, err);
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
    default:
        goto bad;
    }
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
    return rc;
}

/*
 * import.c — IMPORT of one CSV chunk (see import.h for the rules, segdb.h
 * for the contract): header -> columns, each row -> its contact and an
 * UPSERT checked by ops_batch_add, the accepted rows -> one REC_IMPORT.
 */
#include "import.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "err.h"
#include "fold.h"
#include "ops.h"
#include "store.h"

#define ID_RANGE "ids are decimal integers from 1 to 18446744073709551615"

int import_match_parse(const char *s, import_match *m, segdb_err *err)
{
    static const struct { const char *word; import_match m; } W[] = {
        {"id", IMPORT_MATCH_ID},
        {"identifier", IMPORT_MATCH_IDENTIFIER},
        {"email", IMPORT_MATCH_EMAIL},
        {"phone", IMPORT_MATCH_PHONE},
    };
    *m = IMPORT_MATCH_AUTO;
    if (!s) return SEGDB_OK;
    for (size_t i = 0; i < sizeof W / sizeof *W; i++)
        if (strcasecmp(s, W[i].word) == 0) {
            *m = W[i].m;
            return SEGDB_OK;
        }
    char shown[72];
    size_t n = 0;
    for (; s[n] && n < 64; n++) shown[n] = ((unsigned char)s[n] < 0x20 || s[n] == 0x7f) ? '?' : s[n];
    shown[n] = 0;
    return err_set(err, SEGDB_EINVAL, "MATCH takes id, identifier, email or phone, not '%s'", shown);
}

/* ---- small containers ------------------------------------------------------ */

/* Copies of cells the reader unescaped (they live in its buffers only during
 * the callback); blocks are never moved, so pointers stay valid. */
typedef struct blk {
    struct blk *next;
    size_t used, cap;
    char data[];
} blk;

/* Folded match key -> id of the contact an earlier row of the chunk created. */
typedef struct keymap {
    const char **key;
    size_t *klen;
    uint64_t *id;
    size_t n, cap;
    uint32_t *slots;   /* entry + 1, 0 = empty */
    size_t nslots;
} keymap;

/* Ids of the contacts the chunk creates (MATCH on a non-id key). */
typedef struct idset {
    uint64_t *slots;   /* 0 = empty (ids start at 1) */
    size_t n, nslots;
} idset;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static size_t keymap_slot(const keymap *m, const char *k, size_t len)
{
    size_t mask = m->nslots - 1, i = (size_t)hash_bytes(k, len) & mask;
    for (; m->slots[i]; i = (i + 1) & mask) {
        size_t e = m->slots[i] - 1;
        if (m->klen[e] == len && memcmp(m->key[e], k, len) == 0) break;
    }
    return i;
}

static bool keymap_get(const keymap *m, const char *k, size_t len, uint64_t *id)
{
    if (!m->nslots) return false;
    size_t i = keymap_slot(m, k, len);
    if (!m->slots[i]) return false;
    *id = m->id[m->slots[i] - 1];
    return true;
}

/* k must stay valid (an arena copy). SEGDB_ENOMEM. */
static int keymap_put(keymap *m, const char *k, size_t len, uint64_t id)
{
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        const char **a = realloc(m->key, nc * sizeof *a);
        if (a) m->key = a;
        size_t *l = realloc(m->klen, nc * sizeof *l);
        if (l) m->klen = l;
        uint64_t *d = realloc(m->id, nc * sizeof *d);
        if (d) m->id = d;
        if (!a || !l || !d) return SEGDB_ENOMEM;
        m->cap = nc;
    }
    if ((m->n + 1) * 2 > m->nslots) {
        size_t ns = m->nslots ? m->nslots * 2 : 128;
        uint32_t *s = calloc(ns, sizeof *s);
        if (!s) return SEGDB_ENOMEM;
        free(m->slots);
        m->slots = s;
        m->nslots = ns;
        for (size_t e = 0; e < m->n; e++) m->slots[keymap_slot(m, m->key[e], m->klen[e])] = (uint32_t)(e + 1);
    }
    size_t i = keymap_slot(m, k, len);
    if (m->slots[i]) {
        m->id[m->slots[i] - 1] = id;
        return SEGDB_OK;
    }
    m->key[m->n] = k;
    m->klen[m->n] = len;
    m->id[m->n] = id;
    m->slots[i] = (uint32_t)(++m->n);
    return SEGDB_OK;
}

static void keymap_free(keymap *m)
{
    free(m->key);
    free(m->klen);
    free(m->id);
    free(m->slots);
}

static size_t idset_slot(const idset *s, uint64_t id)
{
    size_t mask = s->nslots - 1, i = (size_t)hash_u64(id) & mask;
    while (s->slots[i] && s->slots[i] != id) i = (i + 1) & mask;
    return i;
}

static bool idset_has(const idset *s, uint64_t id)
{
    return s->nslots && s->slots[idset_slot(s, id)] == id;
}

static int idset_add(idset *s, uint64_t id)
{
    if ((s->n + 1) * 2 > s->nslots) {
        size_t ns = s->nslots ? s->nslots * 2 : 128;
        uint64_t *old = s->slots;
        size_t oldn = s->nslots;
        s->slots = calloc(ns, sizeof *s->slots);
        if (!s->slots) {
            s->slots = old;
            return SEGDB_ENOMEM;
        }
        s->nslots = ns;
        for (size_t i = 0; i < oldn; i++)
            if (old[i]) s->slots[idset_slot(s, old[i])] = old[i];
        free(old);
    }
    size_t i = idset_slot(s, id);
    if (!s->slots[i]) {
        s->slots[i] = id;
        s->n++;
    }
    return SEGDB_OK;
}

/* ---- the import ------------------------------------------------------------ */

typedef struct imp {
    segdb_t *db;
    const char *in;              /* the chunk: cells inside it need no copy */
    size_t in_len;
    import_match match;
    bool have_header;
    size_t ncols;
    field **cols;                /* per column; NULL for the id column */
    int id_col;                  /* -1 = none */
    int key_col;                 /* the MATCH identifier/email/phone column, -1 = none */
    field *key_f;
    segdb_kv *kv;                /* one row's pairs (ncols) */
    ops_batch *batch;
    uint64_t max_id;             /* largest id of the accepted rows so far */
    uint64_t rows;               /* data rows seen */
    keymap newkeys;
    idset newids;
    blk *arena;
    segdb_import_res *res;
    size_t rcap;
    char *fold;                  /* scratch for folding a key */
    size_t fold_cap;
} imp;

static const char *arena_copy(imp *im, const char *p, size_t n)
{
    if (n == 0) return "";
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)im->in;
    if (im->in && a >= lo && a - lo <= im->in_len && n <= im->in_len - (a - lo)) return p;
    blk *b = im->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = im->arena;
        b->used = 0;
        b->cap = cap;
        im->arena = b;
    }
    char *q = b->data + b->used;
    memcpy(q, p, n);
    b->used += n;
    return q;
}

static int reject(imp *im, uint64_t line, const char *reason)
{
    segdb_import_res *r = im->res;
    if (r->n == im->rcap) {
        size_t nc = im->rcap ? im->rcap * 2 : 16;
        uint64_t *l = realloc(r->lines, nc * sizeof *l);
        if (l) r->lines = l;
        char **s = realloc(r->reasons, nc * sizeof *s);
        if (s) r->reasons = s;
        if (!l || !s) return SEGDB_ENOMEM;
        im->rcap = nc;
    }
    char *d = strdup(reason);
    if (!d) return SEGDB_ENOMEM;
    r->lines[r->n] = line;
    r->reasons[r->n] = d;
    r->n++;
    r->rejected++;
    return SEGDB_OK;
}

static int rejectf(imp *im, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rejectf(imp *im, uint64_t line, const char *fmt, ...)
{
    char msg[SEGDB_ERR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return reject(im, line, msg);
}

/* A cell for a message: at most 64 bytes, control bytes as '?'. */
static const char *shown(const char *s, size_t len, char *buf, size_t cap)
{
    size_t n = len < 64 ? len : 64;
    if (n > cap - 4) n = cap - 4;
    /* don't cut a UTF-8 character in two */
    while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) buf[w++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (n < len) {
        memcpy(buf + w, "...", 3);
        w += 3;
    }
    buf[w] = 0;
    return buf;
}

/* A decimal number: csv_write_field's test (csv.c) for "needs no formula escape". */
static bool is_number(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, ed++;
        if (ed == 0) return false;
    }
    return i == n;
}

/* EXPORT writes '=x for =x (SPEC 7): read it back as =x. Exactly the cells
 * csv_write_field escapes, so export -> import gives the value back. */
static void unescape_formula(const char **s, size_t *n)
{
    const char *p = *s;
    if (*n >= 2 && p[0] == '\'' && (p[1] == '=' || p[1] == '+' || p[1] == '-' || p[1] == '@') &&
        !is_number(p + 1, *n - 1)) {
        (*s)++;
        (*n)--;
    }
}

/* SPEC 7 ids: decimal, 1..2^64-1, no sign, no hex. 0 or a message in why. */
static int parse_id(const char *s, size_t len, uint64_t *id, char *why, size_t cap)
{
    char b[80];
    if (s[0] == '-' || s[0] == '+') {
        snprintf(why, cap, "invalid id '%s': ids have no sign; " ID_RANGE, shown(s, len, b, sizeof b));
        return -1;
    }
    if (len > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        snprintf(why, cap, "invalid id '%s': ids are decimal, not hexadecimal", shown(s, len, b, sizeof b));
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            snprintf(why, cap, "invalid id '%s': " ID_RANGE, shown(s, len, b, sizeof b));
            return -1;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            snprintf(why, cap, "invalid id '%s': larger than 18446744073709551615 (2^64-1)",
                     shown(s, len, b, sizeof b));
            return -1;
        }
        v = v * 10 + d;
    }
    if (v == 0) {
        snprintf(why, cap, "invalid id '%s': ids start at 1", shown(s, len, b, sizeof b));
        return -1;
    }
    *id = v;
    return 0;
}

static const char *match_word(import_match m)
{
    switch (m) {
    case IMPORT_MATCH_IDENTIFIER: return "identifier";
    case IMPORT_MATCH_EMAIL: return "email";
    case IMPORT_MATCH_PHONE: return "phone";
    default: return "id";
    }
}

/* "id, identifier, name, ...": the fields a column may name; malloc'd. */
static char *importable_names(segdb_t *db)
{
    size_t cap = 64;
    for (uint32_t k = 0; k < db->nfields; k++) cap += strlen(db->fields[k]->name) + 2;
    char *s = malloc(cap), *w = s;
    if (!s) return NULL;
    *w = 0;
    for (uint32_t k = 0; k < db->nfields; k++) {
        const field *f = db->fields[k];
        if (f->derived || k == F_ARCHIVED) continue;
        w += sprintf(w, "%s%s", w == s ? "" : ", ", f->name);
    }
    return s;
}

static int header(imp *im, const csv_record *rec, segdb_err *err)
{
    char b[80], b2[80];
    im->have_header = true;
    if (rec->error)
        return err_set(err, SEGDB_EINVAL, "header row (line %llu): %s", (unsigned long long)rec->line, rec->reason);
    size_t n = rec->nfields;
    im->ncols = n;
    im->cols = calloc(n, sizeof *im->cols);
    im->kv = calloc(n, sizeof *im->kv);
    if (!im->cols || !im->kv) return err_set(err, SEGDB_ENOMEM, "out of memory");
    char unknown[1024];
    size_t nunknown = 0, ulen = 0;
    const char *first_unknown = NULL;
    size_t first_unknown_len = 0;
    unknown[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = rec->field[i];
        size_t len = rec->len[i];
        while (len && (*s == ' ' || *s == '\t')) s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        if (len == 0)
            return err_set(err, SEGDB_EINVAL, "column %zu of the header row is empty: each column must name a field",
                           i + 1);
        field *f = len <= SEGDB_MAX_FIELD_NAME_BYTES && !memchr(s, 0, len) ? store_field(im->db, s, len) : NULL;
        if (!f) {
            if (nunknown++ == 0) {
                first_unknown = s;
                first_unknown_len = len;
            }
            if (ulen < sizeof unknown - 100)
                ulen += (size_t)snprintf(unknown + ulen, sizeof unknown - ulen, "%s'%s'", nunknown > 1 ? ", " : "",
                                         shown(s, len, b, sizeof b));
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if ((im->cols[j] == f) || (f->id == F_ID && (int)j == im->id_col))
                return err_set(err, SEGDB_EINVAL, "column '%s' appears twice in the header row (columns %zu and %zu)",
                               f->name, j + 1, i + 1);
        if (f->id == F_ID) {
            im->id_col = (int)i;
            continue;
        }
        if (f->derived)
            return err_set(err, SEGDB_EINVAL,
                           "column '%s' can't be imported: segdb derives it (drop the column from the file)", f->name);
        if (f->id == F_ARCHIVED)
            return err_set(err, SEGDB_EINVAL,
                           "column 'archived' can't be imported: ARCHIVE and UNARCHIVE set it (drop the column from the file)");
        im->cols[i] = f;
    }
    if (nunknown) {
        char *names = importable_names(im->db);
        int rc = err_set(err, SEGDB_EINVAL,
                         "unknown column%s %s in the header row: create %s with FIELD.CREATE %s <kind> (segdb-cli import "
                         "--create-fields creates unknown columns as text fields), or use one of: %s",
                         nunknown > 1 ? "s" : "", unknown, nunknown > 1 ? "them" : "it",
                         nunknown > 1 ? "<name>" : shown(first_unknown, first_unknown_len, b2, sizeof b2),
                         names ? names : "");
        free(names);
        return rc;
    }
    if (im->match == IMPORT_MATCH_AUTO) {
        im->match = im->id_col >= 0 ? IMPORT_MATCH_ID : IMPORT_MATCH_AUTO;
    } else if (im->match == IMPORT_MATCH_ID) {
        if (im->id_col < 0) return err_set(err, SEGDB_EINVAL, "MATCH id needs an id column in the header row");
    } else {
        uint32_t want = im->match == IMPORT_MATCH_IDENTIFIER ? F_IDENTIFIER
                        : im->match == IMPORT_MATCH_EMAIL    ? F_EMAIL
                                                             : F_PHONE;
        for (size_t i = 0; i < n; i++)
            if (im->cols[i] && im->cols[i]->id == want) im->key_col = (int)i;
        if (im->key_col < 0)
            return err_set(err, SEGDB_EINVAL, "MATCH %s needs %s %s column in the header row", match_word(im->match),
                           im->match == IMPORT_MATCH_PHONE ? "a" : "an", match_word(im->match));
        im->key_f = im->cols[im->key_col];
        /* store_key reads the key's rows: rows a bulk load deferred join them first */
        if (im->key_f && store_text_settle(im->key_f->text)) return err_set(err, SEGDB_ENOMEM, "out of memory");
    }
    /* size the batch once: about one row per line, a value per column (a hint, capped) */
    size_t lines = 1;
    for (const char *p = im->in, *end = im->in + im->in_len; p && p < end && lines <= SEGDB_MAX_IMPORT_ROWS; p++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p) break;
        lines++;
    }
    size_t cells = lines * n;
    if (cells > im->in_len / 2 + lines) cells = im->in_len / 2 + lines;
    if (cells > (1u << 20)) cells = 1u << 20;
    if (ops_batch_reserve(im->batch, lines, cells)) return err_set(err, SEGDB_ENOMEM, "out of memory");
    return SEGDB_OK;
}

static bool first_row(uint32_t row, void *ctx)
{
    *(uint32_t *)ctx = row;
    return false;
}

/* The contact holding the (folded) key in the store: 1 with *id, 0 none,
 * 2 when *shared > 1 contacts hold it. */
static int store_key(imp *im, const char *fk, size_t flen, uint64_t *id, uint64_t *shared)
{
    const textdict *td = im->key_f->text;
    if (!td) return 0;
    uint64_t total = 0;
    uint32_t row = UINT32_MAX;
    for (uint32_t c = textdict_find(td, fk, flen); c; c = td_next(td, c)) {
        if (!td->refs[c]) continue;
        total += td->refs[c];
        if (td->refs[c] == 1) {
            row = td->last_row[c];
            if (td->multi[c]) tpost_each(&td->posts[td->multi[c] - 1], first_row, &row);
        }
    }
    if (total == 0) return 0;
    if (total > 1 || row == UINT32_MAX) {
        *shared = total;
        return 2;
    }
    *id = im->db->ids[row];
    return 1;
}

/* Fold a key cell for the key field into im->fold; NULL on ENOMEM. */
static const char *fold_key(imp *im, const char *s, size_t len, size_t *flen)
{
    size_t need = fold_max_len(len) + 3;
    if (need > im->fold_cap) {
        char *p = realloc(im->fold, need);
        if (!p) return NULL;
        im->fold = p;
        im->fold_cap = need;
    }
    return store_text_fold_into(im->key_f, s, len, im->fold, flen);
}

/* A reader reason naming "column K": add the column's name. */
static int reject_csv(imp *im, const csv_record *rec, segdb_err *err)
{
    const char *r = rec->reason ? rec->reason : "malformed row";
    const char *c = strstr(r, "in column ");
    char msg[512];
    if (c && (rec->error == CSV_REC_BAD_UTF8 || rec->error == CSV_REC_NUL)) {
        unsigned long k = strtoul(c + 10, NULL, 10);
        if (k >= 1 && k <= im->ncols) {
            const char *name = (int)(k - 1) == im->id_col ? "id" : im->cols[k - 1] ? im->cols[k - 1]->name : "?";
            snprintf(msg, sizeof msg, "%s (%s)", r, name);
            r = msg;
        }
    }
    return reject(im, rec->line, r) ? err_set(err, SEGDB_ENOMEM, "out of memory") : SEGDB_OK;
}

static int row(imp *im, const csv_record *rec, segdb_err *err)
{
    char why[SEGDB_ERR_MSG_BYTES], b[80];
    uint64_t line = rec->line;
    int rc = SEGDB_OK;
    if (rec->error) return reject_csv(im, rec, err);
    if (rec->nfields != im->ncols) {
        rc = rejectf(im, line, "%zu cell%s where the header row has %zu column%s", rec->nfields,
                     rec->nfields == 1 ? "" : "s", im->ncols, im->ncols == 1 ? "" : "s");
        goto done;
    }
    bool any = false;
    for (size_t i = 0; i < rec->nfields && !any; i++) any = rec->len[i] > 0;
    if (!any) {
        rc = reject(im, line, "every cell of the row is empty");
        goto done;
    }

    /* which contact */
    uint64_t id = 0;
    bool have_id = false, matched = false;
    if (im->id_col >= 0 && rec->len[im->id_col] > 0) {
        if (parse_id(rec->field[im->id_col], rec->len[im->id_col], &id, why, sizeof why) < 0) {
            rc = reject(im, line, why);
            goto done;
        }
        have_id = true;
    }
    const char *fk = NULL;
    size_t flen = 0;
    if (im->key_col >= 0 && rec->len[im->key_col] > 0) {
        const char *ks = rec->field[im->key_col];
        size_t kl = rec->len[im->key_col];
        unescape_formula(&ks, &kl);
        fk = fold_key(im, ks, kl, &flen);
        if (!fk) return err_set(err, SEGDB_ENOMEM, "out of memory");
        if (flen == 0) fk = NULL; /* e.g. a phone without digits: UPSERT's check words it */
        uint64_t cid = 0, shared = 0;
        int found = fk ? store_key(im, fk, flen, &cid, &shared) : 0;
        if (found == 0 && fk) found = keymap_get(&im->newkeys, fk, flen, &cid) ? 1 : 0;
        const char *kw = match_word(im->match);
        if (found == 2) {
            rc = rejectf(im, line, "%s '%s' belongs to %llu contacts; MATCH %s updates only a contact it names alone "
                         "(use MATCH id or identifier)", kw, shown(ks, kl, b, sizeof b), (unsigned long long)shared, kw);
            goto done;
        }
        if (found == 1) {
            if (have_id && id != cid) {
                rc = rejectf(im, line, "%s '%s' belongs to contact %llu, but the row's id is %llu", kw,
                             shown(ks, kl, b, sizeof b), (unsigned long long)cid, (unsigned long long)id);
                goto done;
            }
            id = cid;
            have_id = matched = true;
        }
    }
    if (im->key_col >= 0 && !matched && have_id &&
        (store_row_of(im->db, id) != UINT32_MAX || idset_has(&im->newids, id))) {
        const char *kw = match_word(im->match);
        if (fk)
            rc = rejectf(im, line, "no contact has %s '%s', and id %llu already exists: with MATCH %s the %s picks "
                         "the contact to update", kw, shown(rec->field[im->key_col], rec->len[im->key_col], b,
                         sizeof b), (unsigned long long)id, kw, kw);
        else
            rc = rejectf(im, line, "the row has no %s, and id %llu already exists: with MATCH %s the %s picks the "
                         "contact to update", kw, (unsigned long long)id, kw, kw);
        goto done;
    }
    if (!have_id) {
        uint64_t top = im->db->max_id > im->max_id ? im->db->max_id : im->max_id;
        if (top == UINT64_MAX) {
            rc = reject(im, line, "no id left for a new contact: id 18446744073709551615 (2^64-1) is taken, so "
                                  "new contacts need an id column");
            goto done;
        }
        id = top + 1;
    }

    /* the UPSERT of the row */
    size_t n = 0;
    for (size_t i = 0; i < im->ncols; i++) {
        if (!im->cols[i] || rec->len[i] == 0) continue;
        const char *v = arena_copy(im, rec->field[i], rec->len[i]);
        if (!v) return err_set(err, SEGDB_ENOMEM, "out of memory");
        size_t vl = rec->len[i];
        unescape_formula(&v, &vl);
        im->kv[n].name = im->cols[i]->name;
        im->kv[n].value = v;
        im->kv[n].value_len = vl;
        n++;
    }
    segdb_err rerr;
    int arc = ops_batch_add(im->batch, id, im->kv, n, &rerr);
    if (arc == SEGDB_ENOMEM) return err_set(err, arc, "%s", rerr.msg);
    if (arc) {
        rc = reject(im, line, rerr.msg);
        goto done;
    }
    if (id > im->max_id) im->max_id = id;
    if (im->key_col >= 0 && !matched) {
        if (idset_add(&im->newids, id)) return err_set(err, SEGDB_ENOMEM, "out of memory");
        if (fk) {
            const char *k = arena_copy(im, fk, flen);
            /* fk is in im->fold, never inside the chunk: arena_copy copied it */
            if (!k || keymap_put(&im->newkeys, k, flen, id)) return err_set(err, SEGDB_ENOMEM, "out of memory");
        }
    }
done:
    return rc ? err_set(err, rc, "out of memory") : SEGDB_OK;
}

static int on_record(void *ctx, const csv_record *rec, segdb_err *err)
{
    imp *im = ctx;
    if (!im->have_header) return header(im, rec, err);
    if (++im->rows > SEGDB_MAX_IMPORT_ROWS)
        return err_set(err, SEGDB_ELIMIT,
                       "more than %u rows in one IMPORT: send the file in chunks, each with the header row "
                       "(segdb-cli import does)", SEGDB_MAX_IMPORT_ROWS);
    return row(im, rec, err);
}

void segdb_import_res_free(segdb_import_res *res)
{
    if (!res) return;
    for (size_t i = 0; i < res->n; i++) free(res->reasons[i]);
    free(res->reasons);
    free(res->lines);
    memset(res, 0, sizeof *res);
}

int segdb_import(segdb_t *db, const char *match, const char *csv, size_t len, segdb_import_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    imp im;
    memset(&im, 0, sizeof im);
    im.db = db;
    im.in = csv;
    im.in_len = len;
    im.id_col = im.key_col = -1;
    im.res = res;
    int rc = import_match_parse(match, &im.match, err);
    if (rc) return rc;
    if (!csv && len) return err_set(err, SEGDB_EINVAL, "no CSV bytes");
    csv_reader *rd = csv_reader_create(NULL);
    im.batch = ops_batch_create(db, store_now(db));
    if (!rd || !im.batch) {
        rc = err_set(err, SEGDB_ENOMEM, "out of memory");
        goto done;
    }
    ops_batch_text_checked(im.batch); /* rows with invalid UTF-8 or NUL bytes never reach it */
    rc = csv_reader_feed(rd, csv, len, on_record, &im, err);
    if (!rc) rc = csv_reader_finish(rd, on_record, &im, err);
    if (rc) goto done;
    if (!im.have_header) {
        rc = err_set(err, SEGDB_EINVAL, "empty CSV: the first row must name the fields (e.g. id,name,email)");
        goto done;
    }
    uint64_t created = 0, accepted = ops_batch_rows(im.batch);
    rc = ops_batch_commit(im.batch, &created, err);
    if (rc) goto done;
    res->created = created;
    res->updated = accepted - created;
done:
    if (rc) segdb_import_res_free(res);
    csv_reader_free(rd);
    ops_batch_free(im.batch);
    free(im.cols);
    free(im.kv);
    free(im.fold);
    keymap_free(&im.newkeys);
    free(im.newids.slots);
    while (im.arena) {
        blk *nx = im.arena->next;
        free(im.arena);
        im.arena = nx;
    }
    return rc;
}

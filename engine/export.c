/*
 * export.c — EXPORT pages (see export.h for the paging rules, segdb.h for
 * the contract): filter rows chunk by chunk from the cursor, then format the
 * page's cells into CSV.
 */
#include "export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roaring/roaring.h>

#include "bm.h"
#include "csv.h"
#include "err.h"
#include "exec.h"
#include "plan.h"
#include "store.h"
#include "value.h"

#define CHUNK_ROWS 65536u

/* The labels of one tags/groups field for the page's rows, CSR style: row i
 * holds codes[start[i] .. start[i + 1]), ascending. */
typedef struct page_labels {
    uint32_t *start;
    uint32_t *codes;
} page_labels;

typedef struct pair {
    uint32_t idx, code;
} pair;

static void page_labels_free(page_labels *pl)
{
    free(pl->start);
    free(pl->codes);
}

/* Index of row in the sorted rows[0..n), or -1. */
static long find_row(const uint32_t *rows, size_t n, uint32_t row)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows[mid] < row) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && rows[lo] == row ? (long)lo : -1;
}

static int gather_labels(const field *f, const uint32_t *rows, size_t n, page_labels *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->start = calloc(n + 1, sizeof *pl->start);
    if (!pl->start) return SEGDB_ENOMEM;
    if (n == 0) return SEGDB_OK;
    uint32_t lo = rows[0], hi = rows[n - 1];
    /* a dense page maps row -> index directly; a sparse one searches */
    uint64_t span = (uint64_t)hi - lo + 1;
    uint32_t *direct = NULL;
    if (span <= 4 * (uint64_t)n) {
        direct = malloc(span * sizeof *direct);
        if (!direct) return SEGDB_ENOMEM;
        memset(direct, 0xFF, span * sizeof *direct);
        for (size_t i = 0; i < n; i++) direct[rows[i] - lo] = (uint32_t)i;
    }
    pair *pairs = NULL;
    size_t np = 0, cap = 0;
    int rc = SEGDB_OK;
    uint32_t buf[256];
    for (uint32_t c = 1; c < f->dict.n && !rc; c++) {
        const roaring_bitmap_t *bm = f->dict.bm[c];
        if (!bm || roaring_bitmap_is_empty(bm) || roaring_bitmap_maximum(bm) < lo || roaring_bitmap_minimum(bm) > hi)
            continue;
        roaring_uint32_iterator_t it;
        roaring_init_iterator(bm, &it);
        if (!roaring_move_uint32_iterator_equalorlarger(&it, lo)) continue;
        bool past = false;
        uint32_t m;
        while (!past && !rc && (m = roaring_read_uint32_iterator(&it, buf, 256)) > 0) {
            for (uint32_t k = 0; k < m; k++) {
                uint32_t v = buf[k];
                if (v > hi) { past = true; break; }
                long idx = direct ? (direct[v - lo] == UINT32_MAX ? -1 : (long)direct[v - lo]) : find_row(rows, n, v);
                if (idx < 0) continue;
                if (np == cap) {
                    size_t nc = cap ? cap * 2 : 4 * n + 16;
                    pair *q = realloc(pairs, nc * sizeof *q);
                    if (!q) { rc = SEGDB_ENOMEM; break; }
                    pairs = q;
                    cap = nc;
                }
                pairs[np].idx = (uint32_t)idx;
                pairs[np].code = c;
                np++;
            }
        }
    }
    free(direct);
    if (rc) {
        free(pairs);
        return rc;
    }
    /* counting sort by row index; codes stay ascending within a row */
    pl->codes = malloc((np ? np : 1) * sizeof *pl->codes);
    if (!pl->codes) {
        free(pairs);
        return SEGDB_ENOMEM;
    }
    for (size_t i = 0; i < np; i++) pl->start[pairs[i].idx + 1]++;
    for (size_t i = 0; i < n; i++) pl->start[i + 1] += pl->start[i];
    uint32_t *fill = malloc((n ? n : 1) * sizeof *fill);
    if (!fill) {
        free(pairs);
        return SEGDB_ENOMEM;
    }
    memcpy(fill, pl->start, n * sizeof *fill);
    for (size_t i = 0; i < np; i++) pl->codes[fill[pairs[i].idx]++] = pairs[i].code;
    free(fill);
    free(pairs);
    return SEGDB_OK;
}

/* ---- cells ------------------------------------------------------------------
 * Pages are mostly numbers and times: they are written digit by digit here
 * (snprintf was most of a page's time). Each fast path gives exactly what
 * value.c's formatter gives, and falls back to it outside its range. */

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static char *put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

static char *put_2(char *p, unsigned v)
{
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

/* YYYY-MM-DD for years 0..9999, as value_format_date writes them. */
static char *put_date(char *p, int64_t y, unsigned m, unsigned d)
{
    p = put_2(p, (unsigned)(y / 100));
    p = put_2(p, (unsigned)(y % 100));
    *p++ = '-';
    p = put_2(p, m);
    *p++ = '-';
    return put_2(p, d);
}

static size_t fmt_date(int64_t days, char *buf)
{
    int64_t y;
    unsigned m, d;
    value_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) return value_format_date(days, buf);
    return (size_t)(put_date(buf, y, m, d) - buf);
}

/* value_format_time's 2019-11-01T18:00:00+07:00 (Z in UTC). */
static size_t fmt_time(int64_t t, int tz, char *buf)
{
    if (t < -62135596800LL + 86400 * 2 || t > 253402214400LL - 86400 * 2) return value_format_time(t, tz, buf);
    int64_t local = t + tz;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t secs = local - days * 86400;
    int64_t y;
    unsigned m, d;
    value_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) return value_format_time(t, tz, buf);
    char *p = put_date(buf, y, m, d);
    *p++ = 'T';
    p = put_2(p, (unsigned)(secs / 3600));
    *p++ = ':';
    p = put_2(p, (unsigned)(secs % 3600 / 60));
    *p++ = ':';
    p = put_2(p, (unsigned)(secs % 60));
    if (tz == 0) {
        *p++ = 'Z';
    } else {
        int a = tz < 0 ? -tz : tz;
        *p++ = tz < 0 ? '-' : '+';
        p = put_2(p, (unsigned)(a / 3600));
        *p++ = ':';
        p = put_2(p, (unsigned)(a % 3600 / 60));
    }
    return (size_t)(p - buf);
}

/* Whole numbers below 10^15 in plain digits (452000, not 4.52e+05: a CSV is
 * read by people and spreadsheets); anything else as value.c writes it
 * (the shortest form that reads back the same). Both read back exactly. */
static size_t fmt_number(double v, char *buf)
{
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15 && !(v == 0 && signbit(v)))
        return (size_t)(put_i64(buf, (int64_t)v) - buf);
    return value_format_number(v, buf);
}

/* Byte lengths of a dictionary's display strings, computed once per page. */
typedef struct dlens {
    uint32_t *len;              /* per code; UINT32_MAX = not yet */
    uint32_t n;
} dlens;

/* strlen(s), s being the string of code c. */
static size_t dict_len(dlens *dl, const char *s, uint32_t c)
{
    if (c < dl->n) {
        if (dl->len[c] == UINT32_MAX) dl->len[c] = (uint32_t)strlen(s);
        return dl->len[c];
    }
    return strlen(s);
}

/* The cell of field f at row into buf (64 bytes) or a string the store owns;
 * NULL when the row has no value. */
static const char *cell(segdb_t *db, const field *f, dlens *dl, uint32_t row, char *buf, size_t *len)
{
    const char *s;
    if (f->id == F_ID) {
        *len = (size_t)(put_u64(buf, db->ids[row]) - buf);
        return buf;
    }
    if (f->id == F_ARCHIVED) {
        bool a = roaring_bitmap_contains(db->archived, row);
        *len = a ? 3 : 2;
        return a ? "yes" : "no";
    }
    switch (f->kind) {
    case SEGDB_KIND_TEXT: {
        uint32_t c = f->text && f->text->row_code ? f->text->row_code[row] : 0;
        if (!c) return NULL;
        s = store_text_orig(f->text, c);
        *len = strlen(s);
        return s;
    }
    case SEGDB_KIND_ENUM:
    case SEGDB_KIND_BOOL: {
        /* relationship as stored: the derived dont_forget is not a value a row can be written with */
        uint32_t c = f->codes8 ? f->codes8[row] : 0;
        if (!c) return NULL;
        s = f->members[c - 1];
        *len = dict_len(dl, s, c);
        return s;
    }
    case SEGDB_KIND_CATEGORY: {
        uint32_t c = field_code(f, row);
        if (!c) return NULL;
        s = f->dict.display[c];
        *len = dict_len(dl, s, c);
        return s;
    }
    case SEGDB_KIND_DATE:
        if (!bm_contains(f->present, row)) return NULL;
        *len = fmt_date(field_int(f, row), buf);
        return buf;
    case SEGDB_KIND_TIME:
        if (!bm_contains(f->present, row)) return NULL;
        *len = fmt_time(field_int(f, row), db->opt.tz_offset_seconds, buf);
        return buf;
    case SEGDB_KIND_INTEGER:
        if (!bm_contains(f->present, row)) return NULL;
        *len = (size_t)(put_i64(buf, field_int(f, row)) - buf);
        return buf;
    case SEGDB_KIND_NUMBER:
        if (!bm_contains(f->present, row)) return NULL;
        *len = fmt_number(f->f64[row], buf);
        return buf;
    default:
        return NULL;
    }
}

void segdb_export_res_free(segdb_export_res *res)
{
    if (!res) return;
    free(res->csv);
    memset(res, 0, sizeof *res);
}

/* Up to count matching rows at or after cursor into rows; *next = the cursor
 * after them (0 when no matching row is left). */
static int page_rows(segdb_t *db, plan *p, uint64_t cursor, uint64_t count, uint32_t *rows, size_t *n,
                     uint64_t *next)
{
    size_t got = 0;
    uint64_t start = cursor, nrows = db->nrows;
    bool more = false;
    *next = 0;
    while (got < count && start < nrows) {
        uint64_t end = (start | (CHUNK_ROWS - 1)) + 1;
        if (end > nrows) end = nrows;
        roaring_bitmap_t *mask = roaring_bitmap_from_range(start, end, 1);
        if (!mask) return SEGDB_ENOMEM;
        roaring_bitmap_t *r = exec_rows(db, p, mask);
        roaring_bitmap_free(mask);
        if (!r) return SEGDB_ENOMEM;
        uint64_t card = roaring_bitmap_get_cardinality(r);
        uint64_t want = count - got;
        if (card > want) {
            more = true;
            card = want;
        }
        roaring_uint32_iterator_t it;
        roaring_init_iterator(r, &it);
        uint32_t m = roaring_read_uint32_iterator(&it, rows + got, (uint32_t)card);
        got += m;
        roaring_bitmap_free(r);
        start = end;
    }
    *n = got;
    if (got == count && got > 0 && (more || start < nrows)) *next = (uint64_t)rows[got - 1] + 1;
    return SEGDB_OK;
}

int segdb_export(segdb_t *db, const segdb_export_req *req, segdb_export_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    uint64_t count = req->count ? req->count : SEGDB_DEFAULT_EXPORT_COUNT;
    if (count > SEGDB_MAX_EXPORT_COUNT)
        return err_set(err, SEGDB_ELIMIT, "EXPORT COUNT %llu is over the page limit of %u rows; page with CURSOR",
                       (unsigned long long)count, SEGDB_MAX_EXPORT_COUNT);
    int rc = SEGDB_OK;
    const field **cols = NULL;
    size_t ncols = 0;
    plan *p = NULL;
    uint32_t *rows = NULL;
    page_labels *labels = NULL;
    const char **cells = NULL;
    size_t *lens = NULL;
    char (*nums)[64] = NULL;
    dlens *dls = NULL;
    csv_buf *joined = NULL;
    csv_buf out = {0};

    cols = calloc(req->nfields ? req->nfields : db->nfields, sizeof *cols);
    if (!cols) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
    if (req->nfields) {
        for (size_t i = 0; i < req->nfields; i++) {
            cols[i] = store_field(db, req->fields[i], strlen(req->fields[i]));
            if (!cols[i]) {
                rc = err_set(err, SEGDB_EINVAL, "unknown field '%.64s' in FIELDS; FIELD.LIST shows them",
                             req->fields[i]);
                goto done;
            }
        }
        ncols = req->nfields;
    } else {
        for (uint32_t k = 0; k < db->nfields; k++) {
            const field *f = db->fields[k];
            if (k == F_ID || (!f->derived && k != F_ARCHIVED)) cols[ncols++] = f;
        }
    }
    rc = plan_build(db, req->filter, &p, err);
    if (rc) goto done;

    if (req->cursor == 0) {
        /* the header row: the fields' own names */
        cells = calloc(ncols, sizeof *cells);
        lens = calloc(ncols, sizeof *lens);
        if (!cells || !lens) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
        for (size_t i = 0; i < ncols; i++) {
            cells[i] = cols[i]->name;
            lens[i] = strlen(cols[i]->name);
        }
        if (csv_write_record(&out, cells, lens, ncols, true)) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
    }

    size_t n = 0;
    rows = malloc(count * sizeof *rows);
    if (!rows) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
    if (req->cursor < db->nrows) {
        rc = page_rows(db, p, req->cursor, count, rows, &n, &res->next_cursor);
        if (rc) { rc = err_set(err, rc, "out of memory"); goto done; }
    }

    labels = calloc(ncols, sizeof *labels);
    joined = calloc(ncols, sizeof *joined);
    if (!cells) cells = calloc(ncols, sizeof *cells);
    if (!lens) lens = calloc(ncols, sizeof *lens);
    nums = calloc(ncols, sizeof *nums);
    dls = calloc(ncols, sizeof *dls);
    if (!labels || !joined || !cells || !lens || !nums || !dls) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
    for (size_t j = 0; j < ncols; j++) {
        const field *f = cols[j];
        uint32_t nd = f->kind == SEGDB_KIND_CATEGORY ? f->dict.n : f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL ? f->nmembers + 1 : 0;
        if (!nd || f->id == F_ID || f->id == F_ARCHIVED) continue;
        dls[j].len = malloc(nd * sizeof *dls[j].len);
        if (!dls[j].len) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
        memset(dls[j].len, 0xFF, nd * sizeof *dls[j].len);
        dls[j].n = nd;
    }
    for (size_t j = 0; j < ncols; j++)
        if (cols[j]->kind == SEGDB_KIND_TAGS && gather_labels(cols[j], rows, n, &labels[j])) {
            rc = err_set(err, SEGDB_ENOMEM, "out of memory");
            goto done;
        }
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t row = rows[i];
        for (size_t j = 0; j < ncols; j++) {
            const field *f = cols[j];
            if (f->kind == SEGDB_KIND_TAGS) {
                csv_buf *jb = &joined[j];
                jb->len = 0;
                for (uint32_t k = labels[j].start[i]; k < labels[j].start[i + 1]; k++) {
                    const char *d = f->dict.display[labels[j].codes[k]];
                    size_t dl = strlen(d);
                    if (jb->cap - jb->len < dl + 1) {
                        size_t nc = jb->cap ? jb->cap * 2 : 256;
                        while (nc - jb->len < dl + 1) nc *= 2;
                        char *q = realloc(jb->p, nc);
                        if (!q) { rc = SEGDB_ENOMEM; break; }
                        jb->p = q;
                        jb->cap = nc;
                    }
                    if (jb->len) jb->p[jb->len++] = ';';
                    memcpy(jb->p + jb->len, d, dl);
                    jb->len += dl;
                }
                cells[j] = jb->p;
                lens[j] = jb->len;
            } else {
                size_t len = 0;
                cells[j] = cell(db, f, &dls[j], row, nums[j], &len);
                lens[j] = cells[j] ? len : 0;
            }
        }
        if (!rc) rc = csv_write_record(&out, cells, lens, ncols, true);
    }
    if (rc) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
    /* NUL-terminated too, for callers that want a C string */
    char *q = realloc(out.p, out.len + 1);
    if (!q) { rc = err_set(err, SEGDB_ENOMEM, "out of memory"); goto done; }
    out.p = q;
    out.p[out.len] = 0;
    res->csv = out.p;
    res->len = out.len;
    res->rows = n;
    out.p = NULL;
done:
    if (rc) res->next_cursor = 0;
    csv_buf_free(&out);
    if (labels)
        for (size_t j = 0; j < ncols; j++) page_labels_free(&labels[j]);
    if (joined)
        for (size_t j = 0; j < ncols; j++) csv_buf_free(&joined[j]);
    free(labels);
    free(joined);
    free(cells);
    free(lens);
    free(nums);
    if (dls)
        for (size_t j = 0; j < ncols; j++) free(dls[j].len);
    free(dls);
    free(rows);
    plan_free(p);
    free(cols);
    return rc;
}

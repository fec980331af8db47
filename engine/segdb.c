/*
 * segdb.c — the public embedded API (segdb.h): argument checks, then the
 * planner/executor for reads and mutation records (ops.c) for writes.
 */
#include "segdb.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "campaign.h"
#include "err.h"
#include "exec.h"
#include "fold.h"
#include "ops.h"
#include "plan.h"
#include "store.h"

int err_set(segdb_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *segdb_err_word(int code)
{
    switch (code) {
    case SEGDB_EWRONGTYPE: return "WRONGTYPE";
    case SEGDB_ELIMIT: return "LIMIT";
    case SEGDB_EREADONLY: return "READONLY";
    default: return "ERR";
    }
}

const char *segdb_kind_name(segdb_kind k)
{
    switch (k) {
    case SEGDB_KIND_ID: return "id";
    case SEGDB_KIND_TEXT: return "text";
    case SEGDB_KIND_ENUM: return "enum";
    case SEGDB_KIND_CATEGORY: return "category";
    case SEGDB_KIND_TAGS: return "tags";
    case SEGDB_KIND_BOOL: return "bool";
    case SEGDB_KIND_TIME: return "time";
    case SEGDB_KIND_DATE: return "date";
    case SEGDB_KIND_INTEGER: return "integer";
    case SEGDB_KIND_NUMBER: return "number";
    }
    return "?";
}

void segdb_strvec_free(segdb_strvec *sv)
{
    if (!sv) return;
    for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
    free(sv->v);
    free(sv->len);
    memset(sv, 0, sizeof *sv);
}

/* Append s (owned) to sv; NULL s = nil. */
static int sv_push_owned(segdb_strvec *sv, char *s, size_t len)
{
    if (sv->n == sv->cap) {
        size_t nc = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, nc * sizeof *v);
        if (!v) { free(s); return SEGDB_ENOMEM; }
        sv->v = v;
        size_t *l = realloc(sv->len, nc * sizeof *l);
        if (!l) { free(s); return SEGDB_ENOMEM; }
        sv->len = l;
        sv->cap = nc;
    }
    sv->v[sv->n] = s;
    sv->len[sv->n] = s ? len : 0;
    sv->n++;
    return SEGDB_OK;
}

static int sv_push(segdb_strvec *sv, const char *s)
{
    char *d = strdup(s);
    if (!d) return SEGDB_ENOMEM;
    return sv_push_owned(sv, d, strlen(s));
}

void segdb_options_init(segdb_options *o)
{
    memset(o, 0, sizeof *o);
    o->dont_forget_days = SEGDB_DEFAULT_DONT_FORGET_DAYS;
    o->tz_offset_seconds = SEGDB_DEFAULT_TZ_OFFSET_SECONDS;
}

segdb_t *segdb_open(const segdb_options *o)
{
    segdb_t *db = calloc(1, sizeof *db);
    if (!db) return NULL;
    if (o) db->opt = *o;
    else segdb_options_init(&db->opt);
    if (!db->opt.max_filter_bytes) db->opt.max_filter_bytes = SEGDB_MAX_FILTER_BYTES;
    if (!db->opt.max_filter_depth) db->opt.max_filter_depth = SEGDB_MAX_FILTER_DEPTH;
    if (!db->opt.max_filter_terms) db->opt.max_filter_terms = SEGDB_MAX_FILTER_TERMS;
    if (!db->opt.max_find_limit) db->opt.max_find_limit = SEGDB_MAX_FIND_LIMIT;
    if (!db->opt.max_id_list) db->opt.max_id_list = SEGDB_MAX_ID_LIST;
    if (!db->opt.max_note_chars) db->opt.max_note_chars = SEGDB_MAX_NOTE_CHARS;
    if (!db->opt.query_threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        db->opt.query_threads = cpus < 1 ? 1 : cpus > 4 ? 4 : (uint32_t)cpus;
    }
    if (!db->opt.parallel_min_rows) db->opt.parallel_min_rows = UINT64_C(1) << 21;
    if (db->opt.dont_forget_days <= 0) db->opt.dont_forget_days = SEGDB_DEFAULT_DONT_FORGET_DAYS;
    if (store_init(db)) {
        segdb_close(db);
        return NULL;
    }
    return db;
}

void segdb_close(segdb_t *db)
{
    if (!db) return;
    ops_batch_free(db->bulk);
    exec_pool_free(db);
    campaign_state_free(db);
    store_free(db);
    free(db);
}

void segdb_set_log(segdb_t *db, segdb_log_fn fn, void *ctx)
{
    db->opt.log_fn = fn;
    db->opt.log_ctx = ctx;
}

/* ---- fields ---------------------------------------------------------------- */

int segdb_field_create(segdb_t *db, const char *name, const char *kind, segdb_err *err)
{
    static const struct { const char *name; segdb_kind kind; } K[] = {
        {"text", SEGDB_KIND_TEXT}, {"number", SEGDB_KIND_NUMBER}, {"integer", SEGDB_KIND_INTEGER},
        {"time", SEGDB_KIND_TIME}, {"bool", SEGDB_KIND_BOOL}, {"category", SEGDB_KIND_CATEGORY},
    };
    int k = -1;
    for (size_t i = 0; i < sizeof K / sizeof *K; i++)
        if (strcasecmp(kind, K[i].name) == 0) k = (int)i;
    if (k < 0)
        return err_set(err, SEGDB_EINVAL, "unknown field kind '%.32s'; use text, number, integer, time, bool or category", kind);
    /* validate the name exactly as apply will, before logging */
    size_t n = strlen(name);
    bool ok = n > 0 && n <= SEGDB_MAX_FIELD_NAME_BYTES && ((name[0] >= 'a' && name[0] <= 'z') ||
              (name[0] >= 'A' && name[0] <= 'Z') || name[0] == '_');
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }
    if (!ok)
        return err_set(err, SEGDB_EINVAL, "invalid field name '%.64s': use 1-64 letters, digits or '_', starting with a letter or '_'", name);
    static const char *reserved[] = {"has", "missing", "tag", "group", "segment", "reachable", "q", "and", "or", "not", "where"};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return err_set(err, SEGDB_EINVAL, "'%s' is a reserved word of the filter language", name);
    if (db->nfields >= SEGDB_MAX_FIELDS)
        return err_set(err, SEGDB_ELIMIT, "too many fields (the limit is %u)", SEGDB_MAX_FIELDS);
    record r = {.kind = REC_FIELD_CREATE, .time = store_now(db)};
    r.u.field_create.name = name;
    r.u.field_create.kind = K[k].kind;
    return ops_write(db, &r, NULL, err);
}

int segdb_field_list(segdb_t *db, segdb_strvec *out, segdb_err *err)
{
    memset(out, 0, sizeof *out);
    for (uint32_t k = 0; k < db->nfields; k++) {
        const field *f = db->fields[k];
        if (sv_push(out, f->name) || sv_push(out, segdb_kind_name(f->kind))) {
            segdb_strvec_free(out);
            return err_set(err, SEGDB_ENOMEM, "out of memory");
        }
    }
    return SEGDB_OK;
}

/* ---- single contacts -------------------------------------------------------- */

int segdb_upsert(segdb_t *db, uint64_t id, const segdb_kv *kv, size_t n, int *created, segdb_err *err)
{
    record r = {.kind = REC_UPSERT, .time = store_now(db)};
    r.u.upsert.id = id;
    r.u.upsert.kv = kv;
    r.u.upsert.n = n;
    uint64_t c = 0;
    int rc = ops_write(db, &r, &c, err);
    if (rc == SEGDB_OK && created) *created = (int)c;
    return rc;
}

/* segdb_upsert_batch wakes the worker threads for batches from this size
 * (ops_batch_add_many checks them over the threads from 256 rows). */
#define BULK_WARM_CONTACTS 256u

/* segdb_upsert_batch keeps the memory of batches up to this size. */
#define BULK_KEEP_CONTACTS 16384u

int segdb_upsert_batch(segdb_t *db, const segdb_contact *c, size_t n, uint64_t *created, segdb_err *err)
{
    *created = 0;
    if (n == 0) return SEGDB_OK;
    for (size_t i = 0; i < n; i++)
        if (c[i].n == 0)
            return err_set(err, SEGDB_EINVAL, "contact %zu (id %llu): UPSERT needs at least one field and value", i,
                           (unsigned long long)c[i].id);
    if (n >= BULK_WARM_CONTACTS) exec_warm(db); /* the checks run on the workers shortly */
    /* the last call's batch is reused: its arrays are already the size of a
     * batch (allocating ~1 MB per 1,000 contacts each time cost page faults) */
    ops_batch *b = db->bulk;
    db->bulk = NULL;
    if (b) ops_batch_reset(b, store_now(db));
    else if (!(b = ops_batch_create(db, store_now(db)))) return err_set(err, SEGDB_ENOMEM, "out of memory");
    segdb_err e;
    e.code = 0;
    e.msg[0] = 0;
    size_t failed;
    int rc = ops_batch_add_many(b, c, n, &failed, &e);
    if (rc == SEGDB_ENOMEM) err_set(err, rc, "out of memory");
    else if (rc) err_set(err, rc, "contact %zu (id %llu): %s", failed, (unsigned long long)c[failed].id, e.msg);
    else rc = ops_batch_commit(b, created, err);
    if (n <= BULK_KEEP_CONTACTS) db->bulk = b;
    else ops_batch_free(b);
    return rc;
}

int segdb_get(segdb_t *db, uint64_t id, const char *const *fields, size_t nfields, segdb_strvec *out,
              segdb_err *err)
{
    memset(out, 0, sizeof *out);
    uint32_t row = store_row_of(db, id);
    const field **fs = NULL;
    if (nfields) {
        fs = calloc(nfields, sizeof *fs);
        if (!fs) return err_set(err, SEGDB_ENOMEM, "out of memory");
        for (size_t i = 0; i < nfields; i++) {
            fs[i] = store_field(db, fields[i], strlen(fields[i]));
            if (!fs[i]) {
                free(fs);
                return err_set(err, SEGDB_EINVAL, "unknown field '%.64s'; FIELD.LIST shows them, FIELD.CREATE adds one", fields[i]);
            }
        }
    }
    if (row == UINT32_MAX) { free(fs); return 0; }
    size_t total = nfields ? nfields : db->nfields;
    for (size_t i = 0; i < total; i++) {
        const field *f = nfields ? fs[i] : db->fields[i];
        size_t len = 0;
        char *v = store_format(db, f, row, &len);
        if (!v && !nfields) continue; /* all fields: only those the contact has */
        if (sv_push(out, f->name) || sv_push_owned(out, v, len)) {
            free(fs);
            segdb_strvec_free(out);
            return err_set(err, SEGDB_ENOMEM, "out of memory");
        }
    }
    free(fs);
    return 1;
}

int segdb_del(segdb_t *db, const uint64_t *ids, size_t n, uint64_t *deleted, segdb_err *err)
{
    if (n > db->opt.max_id_list)
        return err_set(err, SEGDB_ELIMIT, "%zu ids in one command; the limit is %u", n, db->opt.max_id_list);
    record r = {.kind = REC_DELETE, .time = store_now(db)};
    r.u.del.ids = ids;
    r.u.del.n = n;
    uint64_t d = 0;
    int rc = ops_write(db, &r, &d, err);
    if (rc == SEGDB_OK && deleted) *deleted = d;
    return rc;
}

/* ---- queries ---------------------------------------------------------------- */

int segdb_count(segdb_t *db, const char *filter, uint64_t *out, segdb_err *err)
{
    plan *p;
    int rc = plan_build(db, filter, &p, err);
    if (rc) return rc;
    *out = exec_count(db, p);
    plan_free(p);
    return SEGDB_OK;
}

int segdb_find(segdb_t *db, const segdb_find_req *req, segdb_find_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    uint64_t limit = req->limit ? req->limit : SEGDB_DEFAULT_FIND_LIMIT;
    if (limit > db->opt.max_find_limit)
        return err_set(err, SEGDB_ELIMIT, "LIMIT count %llu is over the page limit of %u; page with LIMIT <offset> <count>",
                       (unsigned long long)limit, db->opt.max_find_limit);
    const field **fs = NULL;
    if (req->nfields) {
        fs = calloc(req->nfields, sizeof *fs);
        if (!fs) return err_set(err, SEGDB_ENOMEM, "out of memory");
        for (size_t i = 0; i < req->nfields; i++) {
            fs[i] = store_field(db, req->fields[i], strlen(req->fields[i]));
            if (!fs[i]) {
                free(fs);
                return err_set(err, SEGDB_EINVAL, "unknown field '%.64s' in FIELDS; FIELD.LIST shows them", req->fields[i]);
            }
        }
    }
    plan *p;
    int rc = plan_build(db, req->filter, &p, err);
    if (rc) { free(fs); return rc; }
    uint32_t *rows = NULL;
    size_t n = 0;
    rc = exec_find(db, p, req->sort_field, req->desc, req->offset, limit, &rows, &n, err);
    plan_free(p);
    if (rc) { free(fs); return rc; }
    res->ids = malloc((n ? n : 1) * sizeof *res->ids);
    res->nfields = req->nfields;
    if (req->nfields) res->values = calloc(n * req->nfields + 1, sizeof *res->values);
    if (!res->ids || (req->nfields && !res->values)) {
        free(rows);
        free(fs);
        segdb_find_res_free(res);
        return err_set(err, SEGDB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        res->ids[i] = db->ids[rows[i]];
        for (size_t j = 0; j < req->nfields; j++)
            res->values[i * req->nfields + j] = store_format(db, fs[j], rows[i], NULL);
    }
    res->n = n;
    free(rows);
    free(fs);
    return SEGDB_OK;
}

void segdb_find_res_free(segdb_find_res *res)
{
    if (!res) return;
    if (res->values)
        for (size_t i = 0; i < res->n * res->nfields; i++) free(res->values[i]);
    free(res->values);
    free(res->ids);
    memset(res, 0, sizeof *res);
}

int segdb_explain(segdb_t *db, const char *filter, char **text, segdb_err *err)
{
    plan *p;
    int rc = plan_build(db, filter, &p, err);
    if (rc) return rc;
    *text = exec_explain(db, p);
    plan_free(p);
    if (!*text) return err_set(err, SEGDB_ENOMEM, "out of memory");
    return SEGDB_OK;
}

/* segdb_flush_indexes' per-field work; the threads take the next field. */
typedef struct flush_queue {
    segdb_t *db;
    uint32_t next;      /* atomic */
    int rc;             /* atomic: SEGDB_ENOMEM once a field ran out */
} flush_queue;

static void flush_fields(void *arg)
{
    flush_queue *q = arg;
    for (;;) {
        uint32_t k = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED);
        if (k >= q->db->nfields) return;
        field *f = q->db->fields[k];
        if ((f->ridx && rindex_flush(f->ridx)) || store_text_settle(f->text)) {
            __atomic_store_n(&q->rc, SEGDB_ENOMEM, __ATOMIC_RELAXED);
            continue;
        }
        /* give back the slack of containers that grew one insert at a time;
         * fields everyone has become one run per chunk */
        roaring_bitmap_run_optimize(f->present);
        roaring_bitmap_shrink_to_fit(f->present);
        if (f->kind == SEGDB_KIND_TAGS) {
            /* fresh copies, laid out one after another (and fitted) */
            if (store_relayout_labels(f)) __atomic_store_n(&q->rc, SEGDB_ENOMEM, __ATOMIC_RELAXED);
        } else {
            for (uint32_t c = 1; c < f->dict.n; c++) roaring_bitmap_shrink_to_fit(f->dict.bm[c]);
        }
        if (f->ridx)
            for (uint32_t l = 0; l < f->ridx->nlevels; l++)
                for (uint32_t i = 0; i < f->ridx->lv[l].n; i++) roaring_bitmap_shrink_to_fit(f->ridx->lv[l].bms[i]);
    }
}

int segdb_flush_indexes(segdb_t *db)
{
    /* fields are independent: filing the range indexes (most of the time
     * after a bulk load) runs on every query thread */
    flush_queue q = {.db = db};
    void *args[EXEC_MAX_LANES];
    for (int l = 0; l < EXEC_MAX_LANES; l++) args[l] = &q;
    exec_run_tasks(db, flush_fields, args, exec_threads(db));
    if (q.rc) return q.rc;
    roaring_bitmap_run_optimize(db->live);
    roaring_bitmap_run_optimize(db->universe);
    roaring_bitmap_shrink_to_fit(db->live);
    roaring_bitmap_shrink_to_fit(db->universe);
    store_shrink(db);
    /* containers grown one insert at a time leave freed chunks behind: hand
     * whole free pages back to the system */
    malloc_trim(0);
    return SEGDB_OK;
}

/* ---- stats, verify ------------------------------------------------------------ */

void segdb_get_stats(segdb_t *db, segdb_stats *st)
{
    memset(st, 0, sizeof *st);
    st->live = roaring_bitmap_get_cardinality(db->live);
    st->archived = roaring_bitmap_get_cardinality(db->archived);
    st->rows = db->nrows;
    st->fields = db->nfields;
    st->mem_bytes = store_mem_bytes(db);
    st->seq = db->seq;
}

static int verify_bitmap(segdb_err *err, const char *what, const char *field, const roaring_bitmap_t *want,
                         const roaring_bitmap_t *have)
{
    if (roaring_bitmap_equals(want, have)) return SEGDB_OK;
    return err_set(err, SEGDB_EINVAL, "index %s of field '%s' disagrees with the columns (%llu rows expected, %llu indexed)",
                   what, field, (unsigned long long)roaring_bitmap_get_cardinality(want),
                   (unsigned long long)roaring_bitmap_get_cardinality(have));
}

int segdb_verify(segdb_t *db, segdb_err *err)
{
    int rc = SEGDB_OK;
    roaring_bitmap_t *u = roaring_bitmap_andnot(db->live, db->archived);
    if (!u) return err_set(err, SEGDB_ENOMEM, "out of memory");
    rc = verify_bitmap(err, "universe", "archived", u, db->universe);
    roaring_bitmap_free(u);
    if (rc) return rc;
    if (!roaring_bitmap_is_subset(db->archived, db->live))
        return err_set(err, SEGDB_EINVAL, "index archived holds rows that are not live");
    /* id map */
    roaring_uint32_iterator_t it;
    roaring_init_iterator(db->live, &it);
    for (; it.has_value; roaring_advance_uint32_iterator(&it)) {
        if (store_row_of(db, db->ids[it.current_value]) != it.current_value)
            return err_set(err, SEGDB_EINVAL, "index id map disagrees with the id column at row %u", it.current_value);
    }
    uint64_t mapped = db->id_count + roaring_bitmap_range_cardinality(db->live, 0, db->id_sorted);
    if (mapped != roaring_bitmap_get_cardinality(db->live))
        return err_set(err, SEGDB_EINVAL, "index id map holds %llu ids for %llu live rows", (unsigned long long)mapped,
                       (unsigned long long)roaring_bitmap_get_cardinality(db->live));
    for (uint32_t r = 1; r < db->id_sorted; r++)
        if (db->ids[r] <= db->ids[r - 1])
            return err_set(err, SEGDB_EINVAL, "index id map's sorted part is out of order at row %u", r);
    for (uint32_t k = 0; k < db->nfields && !rc; k++) {
        field *f = db->fields[k];
        if (k == F_ID || k == F_ARCHIVED) continue;
        if (!roaring_bitmap_is_subset(f->present, db->live))
            return err_set(err, SEGDB_EINVAL, "index present of field '%s' holds rows that are not live", f->name);
        if (f->kind == SEGDB_KIND_TAGS) {
            roaring_bitmap_t *all = roaring_bitmap_create();
            for (uint32_t c = 1; c < f->dict.n; c++) roaring_bitmap_or_inplace(all, f->dict.bm[c]);
            rc = verify_bitmap(err, "present", f->name, all, f->present);
            roaring_bitmap_free(all);
            continue;
        }
        if (f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL || f->kind == SEGDB_KIND_CATEGORY) {
            uint32_t nc = f->dict.n ? f->dict.n : 1;
            roaring_bitmap_t **want = calloc(nc, sizeof *want);
            roaring_bitmap_t *pres = roaring_bitmap_create();
            if (!want || !pres) { free(want); return err_set(err, SEGDB_ENOMEM, "out of memory"); }
            for (uint32_t c = 0; c < nc; c++) want[c] = roaring_bitmap_create();
            roaring_init_iterator(db->live, &it);
            for (; it.has_value; roaring_advance_uint32_iterator(&it)) {
                uint32_t row = it.current_value;
                uint32_t c = field_code(f, row);
                if (c && c < nc) { roaring_bitmap_add(want[c], row); roaring_bitmap_add(pres, row); }
            }
            rc = verify_bitmap(err, "present", f->name, pres, f->present);
            for (uint32_t c = 1; c < nc && !rc; c++) {
                char what[96];
                snprintf(what, sizeof what, "value '%s'", f->dict.display[c]);
                rc = verify_bitmap(err, what, f->name, want[c], f->dict.bm[c]);
            }
            for (uint32_t c = 0; c < nc; c++) roaring_bitmap_free(want[c]);
            free(want);
            roaring_bitmap_free(pres);
            continue;
        }
        if (f->kind == SEGDB_KIND_TEXT) {
            roaring_bitmap_t *pres = roaring_bitmap_create();
            roaring_init_iterator(db->live, &it);
            for (; it.has_value; roaring_advance_uint32_iterator(&it))
                if (f->text->row_code && f->text->row_code[it.current_value]) roaring_bitmap_add(pres, it.current_value);
            rc = verify_bitmap(err, "present", f->name, pres, f->present);
            roaring_bitmap_free(pres);
            continue;
        }
        if (f->ridx) {
            /* rebuild the range index from the column and compare level by level */
            if (rindex_flush(f->ridx)) return err_set(err, SEGDB_ENOMEM, "out of memory");
            range_index *ri = rindex_create(f->ridx->shift, f->ridx->nlevels, f->ridx->keys_of, f->ridx->key_ctx);
            if (!ri) return err_set(err, SEGDB_ENOMEM, "out of memory");
            roaring_init_iterator(f->present, &it);
            for (; it.has_value; roaring_advance_uint32_iterator(&it)) rindex_add(ri, it.current_value);
            if (rindex_flush(ri)) { rindex_free(ri); return err_set(err, SEGDB_ENOMEM, "out of memory"); }
            for (uint32_t l = 0; l < ri->nlevels && !rc; l++) {
                if (ri->lv[l].n != f->ridx->lv[l].n) {
                    rc = err_set(err, SEGDB_EINVAL, "index range level %u of field '%s' has %u buckets; the column gives %u",
                                 l, f->name, f->ridx->lv[l].n, ri->lv[l].n);
                    break;
                }
                for (uint32_t i = 0; i < ri->lv[l].n && !rc; i++) {
                    if (ri->lv[l].keys[i] != f->ridx->lv[l].keys[i]) {
                        rc = err_set(err, SEGDB_EINVAL, "index range level %u of field '%s' has a wrong bucket key", l, f->name);
                        break;
                    }
                    rc = verify_bitmap(err, "range bucket", f->name, ri->lv[l].bms[i], f->ridx->lv[l].bms[i]);
                }
            }
            rindex_free(ri);
        }
    }
    return rc;
}

int segdb_apply_record(segdb_t *db, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    return ops_apply_bytes(db, seq, rec, len, err);
}

const void *segdb_value_bitmap(segdb_t *db, const char *fname, const char *value)
{
    const field *f = store_field(db, fname, strlen(fname));
    if (!f || !(f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL || f->kind == SEGDB_KIND_CATEGORY ||
                f->kind == SEGDB_KIND_TAGS))
        return NULL;
    char *fv = fold_dup(value, strlen(value), NULL);
    if (!fv) return NULL;
    uint32_t c = dict_find(&f->dict, fv, strlen(fv));
    free(fv);
    return c ? f->dict.bm[c] : NULL;
}

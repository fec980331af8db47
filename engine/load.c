/*
 * load.c — bulk loads: a batch of new contacts applied column by column
 * (see load.h). The steps:
 *   1. rows: store_add_rows hands the contacts their rows and marks them
 *      live in one range;
 *   2. values by field (load_gather): the values of each range of rows,
 *      filed by field in row order, each row's defaults (type visitor,
 *      status never_subscribed, relationship new, created_at = the write's
 *      time) first where the row doesn't set the field itself. The threads
 *      that checked a batch (ops_batch_add_many) did this right after their
 *      checks, while the values were in their caches; otherwise (a replay, a
 *      batch added row by row) each thread takes a range here;
 *   3. jobs, one per field with values and one for the id map's entries
 *      (store_map_rows: a prefetched insert per row, a rehash now and then):
 *      the threads take them, the costliest first; a field's values are its
 *      ranges' in order; a text field's go through store_set_text_rows; a
 *      row's first value of an enum, bool, category, time, date or integer
 *      field through the store's fresh-row writes; any other value through
 *      UPSERT's own ops_apply_value;
 *   4. the type rule of SPEC 4.1, row by row, once every field is written.
 */
#include "load.h"

#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "store.h"

bool load_applies(const segdb_t *db, const load_batch *lb)
{
    if (lb->n == 0 || lb->ids[0] <= db->max_id) return false;
    for (size_t i = 1; i < lb->n; i++)
        if (lb->ids[i] <= lb->ids[i - 1]) return false;
    return true;
}

/* The fields a new contact gets a default for, unless it sets them. */
enum { DEF_TYPE, DEF_STATUS, DEF_RELATIONSHIP, DEF_CREATED_AT, NDEFAULTS };
_Static_assert(NDEFAULTS == LOAD_NDEFAULTS, "load.h counts the defaults");
_Static_assert(F_TYPE < 64 && F_STATUS < 64 && F_RELATIONSHIP < 64 && F_CREATED_AT < 64,
               "load_gather keeps the defaulted fields in a 64-bit mask");

void load_defaults(segdb_t *db, int64_t time, pval out[LOAD_NDEFAULTS])
{
    out[DEF_TYPE] = (pval){.f = db->fields[F_TYPE], .op = PV_SET, .code = TYPE_VISITOR};
    out[DEF_STATUS] = (pval){.f = db->fields[F_STATUS], .op = PV_SET, .code = STATUS_NEVER};
    out[DEF_RELATIONSHIP] = (pval){.f = db->fields[F_RELATIONSHIP], .op = PV_SET, .code = REL_NEW};
    out[DEF_CREATED_AT] = (pval){.f = db->fields[F_CREATED_AT], .op = PV_SET, .i = time};
}

/* One field's values (f), or the id map's entries (f NULL). */
typedef struct field_job {
    field *f;
    uint64_t cost;          /* estimate, for the order the threads take jobs in */
    bool done;
} field_job;

/* A batch on its way: the rows split into np consecutive ranges, each
 * gathered into grid[p * nf + field id] (by the checking threads, a chunk
 * each; else here, one range per thread); then the jobs, costliest first,
 * each thread taking the next one. */
typedef struct load_run {
    segdb_t *db;
    const load_batch *lb;
    uint32_t first;         /* the batch's first row */
    const pval *defs;       /* NDEFAULTS defaults */
    uint32_t nf;
    int np;
    load_cells *grid;
    field_job **jobs;
    size_t njobs;
    size_t next;            /* atomic */
} load_run;

/* One thread: its range of rows, its error. */
typedef struct part {
    load_run *run;
    int p;
    int rc;
} part;

/* Relative time per value by kind, measured in a 10M load (one unit is
 * about 20 ns): a text value folds, hashes and probes a dictionary (~200 ns);
 * a tag list parses and interns 0-8 tags (~200 ns); a category interns one
 * value (~50 ns); the rest write a column and a bitmap or two (~20 ns). */
static uint64_t cell_cost(const field *f)
{
    switch (f->kind) {
    case SEGDB_KIND_TEXT: return 10;
    case SEGDB_KIND_TAGS: return 10;
    case SEGDB_KIND_CATEGORY: return 2;
    default: return 1;
    }
}

/* An id-map entry's cost in cell_cost's units: a prefetched random slot
 * (or, when the map grows, a re-inserted one), ~80 ns. */
#define ID_MAP_COST 4

/* Text, category and tags values are applied from their text. */
static bool kind_is_text(segdb_kind k)
{
    return k == SEGDB_KIND_TEXT || k == SEGDB_KIND_CATEGORY || k == SEGDB_KIND_TAGS;
}

pval load_cell_pval(field *f, const load_cell *c)
{
    pval pv = {.f = f, .op = (pv_op)c->op, .s = c->s};
    if (kind_is_text(f->kind)) pv.len = (size_t)c->x;
    else if (f->kind == SEGDB_KIND_NUMBER) memcpy(&pv.d, &c->x, sizeof pv.d);
    else if (f->kind == SEGDB_KIND_ENUM || f->kind == SEGDB_KIND_BOOL) pv.code = (uint32_t)c->x;
    else pv.i = (int64_t)c->x;
    return pv;
}

/* Room for one more value in c (SEGDB_ENOMEM); the first array holds hint. */
static int __attribute__((noinline)) cells_grow(load_cells *c, size_t hint)
{
    size_t nc = c->cap ? c->cap * 2 : hint > 64 ? hint : 64;
    load_cell *a = realloc(c->c, nc * sizeof *a);
    if (!a) return SEGDB_ENOMEM;
    c->c = a;
    c->cap = nc;
    return SEGDB_OK;
}

/* Appends row's value pv. */
static inline int cells_add(load_cells *c, size_t hint, uint32_t row, const pval *pv)
{
    if (c->n == c->cap && cells_grow(c, hint)) return SEGDB_ENOMEM;
    /* the members the kind doesn't use are 0: one of len, i, code and d's
     * bits is the value (no branch on the kind, which changes every value) */
    uint64_t dbits;
    memcpy(&dbits, &pv->d, sizeof dbits);
    uint64_t x = (uint64_t)pv->i | pv->code | dbits;
    c->c[c->n++] = (load_cell){.s = pv->s, .x = kind_is_text(pv->f->kind) ? pv->len : x, .row = row,
                               .op = (uint8_t)pv->op};
    return SEGDB_OK;
}

int load_gather(const pval *defs, const size_t *koff, const pval *pv, size_t from, size_t to, uint32_t first,
                load_cells *grid)
{
    /* the defaulted fields are built-in ones, with small ids */
    uint64_t defaulted = 0;
    for (int d = 0; d < NDEFAULTS; d++) defaulted |= UINT64_C(1) << defs[d].f->id;
    size_t hint = to - from;
    for (size_t i = from; i < to; i++) {
        uint32_t row = first + (uint32_t)i;
        uint64_t sets = 0; /* the defaulted fields the row sets itself */
        for (size_t k = koff[i]; k < koff[i + 1]; k++)
            if (pv[k].f->id < 64 && pv[k].op == PV_SET) sets |= UINT64_C(1) << pv[k].f->id;
        /* a default goes first: a row's own clear of the field comes after it */
        for (int d = 0; d < NDEFAULTS && (sets & defaulted) != defaulted; d++)
            if (!(sets >> defs[d].f->id & 1) && cells_add(&grid[defs[d].f->id], hint, row, &defs[d]))
                return SEGDB_ENOMEM;
        for (size_t k = koff[i]; k < koff[i + 1]; k++)
            if (cells_add(&grid[pv[k].f->id], hint, row, &pv[k])) return SEGDB_ENOMEM;
    }
    return SEGDB_OK;
}

/* Round 1, thread p: the values of rows [from, to) by field, when the
 * checks did not (a replayed batch, one added row by row). */
static void gather_part(void *arg)
{
    part *pt = arg;
    load_run *run = pt->run;
    const load_batch *lb = run->lb;
    size_t from = lb->n * (size_t)pt->p / (size_t)run->np, to = lb->n * (size_t)(pt->p + 1) / (size_t)run->np;
    pt->rc = load_gather(run->defs, lb->koff, lb->pv, from, to, run->first, run->grid + (size_t)pt->p * run->nf);
}

/* A text field's values: runs of values to set go through
 * store_set_text_rows, clears through ops_apply_value. */
static int apply_text(load_run *run, field *f)
{
    size_t total = 0;
    for (int p = 0; p < run->np; p++) total += run->grid[(size_t)p * run->nf + f->id].n;
    const char **vals = malloc((total ? total : 1) * sizeof *vals);
    size_t *lens = malloc((total ? total : 1) * sizeof *lens);
    uint32_t *rows = malloc((total ? total : 1) * sizeof *rows);
    int rc = vals && lens && rows ? SEGDB_OK : SEGDB_ENOMEM;
    size_t m = 0;
    for (int p = 0; p < run->np && !rc; p++) {
        const load_cells *c = &run->grid[(size_t)p * run->nf + f->id];
        for (size_t k = 0; k < c->n && !rc; k++) {
            const load_cell *cell = &c->c[k];
            if (cell->op == PV_SET) {
                rows[m] = cell->row;
                vals[m] = cell->s;
                lens[m++] = (size_t)cell->x;
                continue;
            }
            if (m) rc = store_set_text_rows(run->db, f, rows, vals, lens, m);
            m = 0;
            pval pv = load_cell_pval(f, cell);
            if (!rc) rc = ops_apply_value(run->db, cell->row, &pv);
        }
    }
    if (!rc && m) rc = store_set_text_rows(run->db, f, rows, vals, lens, m);
    free(vals);
    free(lens);
    free(rows);
    return rc;
}

/* The kinds apply_fresh writes through the store's fresh-row writes; each of
 * their values to set makes a row present (a tags list may hold no label). */
static bool has_fresh_write(segdb_kind k)
{
    return k == SEGDB_KIND_ENUM || k == SEGDB_KIND_BOOL || k == SEGDB_KIND_CATEGORY || k == SEGDB_KIND_TIME ||
           k == SEGDB_KIND_DATE || k == SEGDB_KIND_INTEGER;
}

/* A row's first value of the field (it holds none: the row is new): for the
 * kinds most fields are (has_fresh_write), the store's fresh-row writes skip
 * UPSERT's checks for an old value. */
static int apply_fresh(segdb_t *db, field *f, const load_cell *c, bool mark)
{
    switch (f->kind) {
    case SEGDB_KIND_ENUM:
    case SEGDB_KIND_BOOL: return store_set_code_fresh(db, f, c->row, (uint32_t)c->x, mark);
    case SEGDB_KIND_CATEGORY: {
        uint32_t code = dict_intern(&f->dict, c->s, (size_t)c->x);
        return code ? store_set_code_fresh(db, f, c->row, code, mark) : SEGDB_ENOMEM;
    }
    case SEGDB_KIND_TIME:
    case SEGDB_KIND_DATE:
    case SEGDB_KIND_INTEGER: return store_set_int_fresh(db, f, c->row, (int64_t)c->x, mark);
    default: {
        pval pv = load_cell_pval(f, c);
        return ops_apply_value(db, c->row, &pv);
    }
    }
}

static int run_job(load_run *run, field_job *j)
{
    if (!j->f) {
        store_map_rows(run->db, run->first, (uint32_t)run->lb->n);
        j->done = true;
        return SEGDB_OK;
    }
    field *f = j->f;
    store_touch_rows(run->db, f, run->first, (uint32_t)run->lb->n);
    if (f->kind == SEGDB_KIND_TEXT) return apply_text(run, f);
    /* Every row setting the field once (a type, a created_at): the rows
     * enter its present bitmap (and range index) as one range, after. */
    bool each_once = has_fresh_write(f->kind);
    uint32_t next = run->first;
    for (int p = 0; p < run->np && each_once; p++) {
        const load_cells *c = &run->grid[(size_t)p * run->nf + f->id];
        for (size_t k = 0; k < c->n && each_once; k++) each_once = c->c[k].row == next++ && c->c[k].op == PV_SET;
    }
    each_once = each_once && next == run->first + run->lb->n;
    int rc = SEGDB_OK;
    uint32_t prev = UINT32_MAX; /* a row's second value of the field goes the checked way */
    uint32_t written = 0;       /* with each_once: rows [first, first + written) hold their value */
    for (int p = 0; p < run->np && !rc; p++) {
        const load_cells *c = &run->grid[(size_t)p * run->nf + f->id];
        for (size_t k = 0; k < c->n && !rc; k++) {
            const load_cell *cell = &c->c[k];
            if (cell->row != prev && cell->op == PV_SET) {
                rc = apply_fresh(run->db, f, cell, !each_once);
            } else {
                pval pv = load_cell_pval(f, cell);
                rc = ops_apply_value(run->db, cell->row, &pv);
            }
            prev = cell->row;
            written += !rc;
        }
    }
    /* (out of memory part way, the rows written so far are marked too) */
    if (each_once) store_mark_fresh_rows(run->db, f, run->first, written);
    return rc;
}

/* Round 2: jobs until none is left (or one failed). */
static void run_jobs(void *arg)
{
    part *pt = arg;
    load_run *run = pt->run;
    for (;;) {
        size_t i = __atomic_fetch_add(&run->next, 1, __ATOMIC_RELAXED);
        if (i >= run->njobs) return;
        pt->rc = run_job(run, run->jobs[i]);
        if (pt->rc) {
            __atomic_store_n(&run->next, run->njobs, __ATOMIC_RELAXED); /* the others stop too */
            return;
        }
    }
}

static int cmp_cost_desc(const void *a, const void *b)
{
    const field_job *x = *(const field_job *const *)a, *y = *(const field_job *const *)b;
    if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
    uint32_t xi = x->f ? x->f->id : UINT32_MAX, yi = y->f ? y->f->id : UINT32_MAX;
    return xi < yi ? -1 : xi > yi; /* deterministic */
}

/* Contacts below this are not worth waking a worker for (ops.c checks them
 * over the threads from the same number, so both split rows alike). */
#define LOAD_PARALLEL_MIN_ROWS 256u

int load_apply(segdb_t *db, const load_batch *lb)
{
    size_t n = lb->n;
    if (n > UINT32_MAX) return SEGDB_ENOMEM;
    uint32_t r0;
    int rc = store_add_rows(db, lb->ids, (uint32_t)n, &r0); /* the id map fills in a job */
    if (rc) return rc;

    pval defs[NDEFAULTS];
    load_defaults(db, lb->time, defs);
    /* the checking threads filed the values already, for these very rows */
    bool given = lb->grid && lb->grid_first == r0 && lb->nf == db->nfields;
    /* threads, and ranges of rows in the grid (the checks' chunks, or one per thread) */
    int nt = n < LOAD_PARALLEL_MIN_ROWS ? 1 : exec_threads(db);
    int np = given ? lb->np : nt;
    load_run run = {.db = db, .lb = lb, .first = r0, .defs = defs, .nf = db->nfields, .np = np};
    uint32_t nf = run.nf;
    run.grid = given ? lb->grid : calloc((size_t)np * nf, sizeof *run.grid);
    field_job *jobs = calloc(nf + 1, sizeof *jobs);
    run.jobs = calloc(nf + 1, sizeof *run.jobs);
    part parts[EXEC_MAX_LANES];
    void *args[EXEC_MAX_LANES];
    for (int p = 0; p < nt; p++) {
        parts[p] = (part){.run = &run, .p = p};
        args[p] = &parts[p];
    }
    if (!run.grid || !jobs || !run.jobs) {
        rc = SEGDB_ENOMEM;
        goto done;
    }

    if (!given) {
        exec_run_tasks(db, gather_part, args, np);
        for (int p = 0; p < np && !rc; p++) rc = parts[p].rc;
        if (rc) goto done;
    }

    /* a job per field with values, and the id map's */
    for (uint32_t id = 0; id < nf; id++) {
        size_t m = 0;
        for (int p = 0; p < np; p++) m += run.grid[(size_t)p * nf + id].n;
        if (!m) continue;
        jobs[id] = (field_job){.f = db->fields[id], .cost = m * cell_cost(db->fields[id])};
        run.jobs[run.njobs++] = &jobs[id];
    }
    jobs[nf] = (field_job){.f = NULL, .cost = store_map_work(db, r0, (uint32_t)n) * ID_MAP_COST};
    run.jobs[run.njobs++] = &jobs[nf];
    qsort(run.jobs, run.njobs, sizeof *run.jobs, cmp_cost_desc);
    exec_run_tasks(db, run_jobs, args, nt);
    for (int p = 0; p < nt && !rc; p++) rc = parts[p].rc;

    /* SPEC 4.1's type rule looks at the whole contact: after every field */
    for (size_t i = 0; i < n && !rc; i++) {
        size_t k0 = lb->koff[i];
        rc = ops_type_rule(db, r0 + (uint32_t)i, lb->pv + k0, lb->koff[i + 1] - k0, lb->names_type[i]);
    }
done:
    /* the rows exist: whatever failed, keep them findable */
    if (!jobs || !jobs[nf].done) store_map_rows(db, r0, (uint32_t)n);
    for (size_t g = 0; !given && run.grid && g < (size_t)np * nf; g++) {
        free(run.grid[g].c);
    }
    if (!given) free(run.grid);
    free(jobs);
    free(run.jobs);
    return rc;
}

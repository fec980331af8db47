/*
 * load.c — bulk loads: a batch of new contacts applied column by column
 * (see load.h). The steps:
 *   1. rows: store_new_rows hands out the rows, fills the id map (slots
 *      prefetched) and marks them live in one range;
 *   2. cells by field: every field's values in row order, with each row's
 *      defaults (type visitor, status never_subscribed, relationship new,
 *      created_at = the write's time) first where the row doesn't set them;
 *   3. fields: split into parts of about equal cost, one part per thread;
 *      a text field's values go through store_set_text_rows, every other
 *      value through UPSERT's own ops_apply_value;
 *   4. the type rule of SPEC 4.1, row by row, once every field is written.
 */
#include "load.h"

#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "store.h"

bool load_applies(const segdb_t *db, const uint64_t *ids, size_t n)
{
    if (n == 0 || ids[0] <= db->max_id) return false;
    for (size_t i = 1; i < n; i++)
        if (ids[i] <= ids[i - 1]) return false;
    return true;
}

/* The fields a new contact gets a default for, unless it sets them. */
enum { DEF_TYPE, DEF_STATUS, DEF_RELATIONSHIP, DEF_CREATED_AT, NDEFAULTS };

/* One field's cells of the batch, in row order. */
typedef struct field_cells {
    field *f;
    uint32_t *rows;
    const pval **pv;
    size_t n;
    uint64_t cost;      /* the split's estimate of the time to apply them */
} field_cells;

/* The fields to apply, costliest first; each thread takes the next one. */
typedef struct field_queue {
    segdb_t *db;
    uint32_t first, nrows;  /* the batch's rows */
    field_cells **fields;
    size_t nfields;
    size_t next;            /* atomic */
} field_queue;

/* One thread's share. */
typedef struct part {
    field_queue *q;
    int rc;
} part;

/* Rough relative time per cell by kind, from profiles of a 10M load: a text
 * value folds, hashes and probes a dictionary; a tag list parses and interns
 * each tag; the rest write a column and a bitmap or two. */
static uint64_t cell_cost(const field *f)
{
    switch (f->kind) {
    case SEGDB_KIND_TEXT: return 6;
    case SEGDB_KIND_TAGS: return 4;
    case SEGDB_KIND_CATEGORY: return 2;
    default: return 1;
    }
}

/* A text field's cells: runs of values to set go through
 * store_set_text_rows, clears through ops_apply_value. */
static int apply_text(segdb_t *db, field_cells *fc)
{
    const char **vals = malloc((fc->n ? fc->n : 1) * sizeof *vals);
    size_t *lens = malloc((fc->n ? fc->n : 1) * sizeof *lens);
    uint32_t *rows = malloc((fc->n ? fc->n : 1) * sizeof *rows);
    int rc = vals && lens && rows ? SEGDB_OK : SEGDB_ENOMEM;
    size_t k = 0;
    while (!rc && k < fc->n) {
        /* a run of values to set */
        size_t m = 0;
        for (; k < fc->n; k++) {
            const pval *pv = fc->pv[k];
            if (pv->op != PV_SET) break;
            rows[m] = fc->rows[k];
            vals[m] = pv->s;
            lens[m++] = pv->len;
        }
        if (m) rc = store_set_text_rows(db, fc->f, rows, vals, lens, m);
        if (!rc && k < fc->n) rc = ops_apply_value(db, fc->rows[k], fc->pv[k]), k++;
    }
    free(vals);
    free(lens);
    free(rows);
    return rc;
}

static void apply_part(void *arg)
{
    part *p = arg;
    field_queue *q = p->q;
    for (;;) {
        size_t i = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED);
        if (i >= q->nfields) break;
        field_cells *fc = q->fields[i];
        store_touch_rows(q->db, fc->f, q->first, q->nrows);
        if (fc->f->kind == SEGDB_KIND_TEXT)
            p->rc = apply_text(q->db, fc);
        else
            for (size_t k = 0; k < fc->n && !p->rc; k++) p->rc = ops_apply_value(q->db, fc->rows[k], fc->pv[k]);
        if (p->rc) {
            __atomic_store_n(&q->next, q->nfields, __ATOMIC_RELAXED); /* the others stop too */
            break;
        }
    }
}

static int cmp_cost_desc(const void *a, const void *b)
{
    const field_cells *x = *(const field_cells *const *)a, *y = *(const field_cells *const *)b;
    if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
    return x->f->id < y->f->id ? -1 : x->f->id > y->f->id; /* deterministic */
}

/* Contacts below this are not worth waking a worker for. */
#define LOAD_PARALLEL_MIN_ROWS 256u

int load_apply(segdb_t *db, int64_t time, const uint64_t *ids, size_t n, const size_t *koff,
               const pval *pv, const bool *names_type)
{
    if (n > UINT32_MAX) return SEGDB_ENOMEM;
    uint32_t r0;
    int rc = store_new_rows(db, ids, (uint32_t)n, &r0);
    if (rc) return rc;

    pval defs[NDEFAULTS] = {
        [DEF_TYPE] = {.f = db->fields[F_TYPE], .op = PV_SET, .code = TYPE_VISITOR},
        [DEF_STATUS] = {.f = db->fields[F_STATUS], .op = PV_SET, .code = STATUS_NEVER},
        [DEF_RELATIONSHIP] = {.f = db->fields[F_RELATIONSHIP], .op = PV_SET, .code = REL_NEW},
        [DEF_CREATED_AT] = {.f = db->fields[F_CREATED_AT], .op = PV_SET, .i = time},
    };
    uint32_t nf = db->nfields;
    size_t ncells = koff[n] + (size_t)n * NDEFAULTS;
    field_cells *fcs = calloc(nf, sizeof *fcs);
    size_t *fill = calloc(nf, sizeof *fill);
    uint8_t *sets = malloc(n);             /* per row: which defaults it sets itself */
    uint32_t *rows = malloc(ncells * sizeof *rows);
    const pval **pvs = malloc(ncells * sizeof *pvs);
    field_cells **order = calloc(nf, sizeof *order);
    if (!fcs || !fill || !sets || !rows || !pvs || !order) {
        rc = SEGDB_ENOMEM;
        goto done;
    }

    /* count each field's cells, defaults included */
    for (size_t i = 0; i < n; i++) {
        uint8_t m = 0;
        for (size_t k = koff[i]; k < koff[i + 1]; k++) {
            const field *f = pv[k].f;
            fcs[f->id].n++;
            if (pv[k].op != PV_SET) continue;
            for (int d = 0; d < NDEFAULTS; d++)
                if (f == defs[d].f) m |= (uint8_t)(1u << d);
        }
        sets[i] = m;
        for (int d = 0; d < NDEFAULTS; d++)
            if (!(m >> d & 1)) fcs[defs[d].f->id].n++;
    }
    size_t off = 0;
    for (uint32_t id = 0; id < nf; id++) {
        fcs[id].f = db->fields[id];
        fcs[id].rows = rows + off;
        fcs[id].pv = pvs + off;
        fcs[id].cost = fcs[id].n * cell_cost(db->fields[id]);
        off += fcs[id].n;
    }
    /* fill them in row order, a row's defaults before its own values */
    for (size_t i = 0; i < n; i++) {
        uint32_t row = r0 + (uint32_t)i;
        for (int d = 0; d < NDEFAULTS; d++) {
            if (sets[i] >> d & 1) continue;
            field_cells *fc = &fcs[defs[d].f->id];
            fc->rows[fill[fc->f->id]] = row;
            fc->pv[fill[fc->f->id]++] = &defs[d];
        }
        for (size_t k = koff[i]; k < koff[i + 1]; k++) {
            field_cells *fc = &fcs[pv[k].f->id];
            fc->rows[fill[fc->f->id]] = row;
            fc->pv[fill[fc->f->id]++] = &pv[k];
        }
    }

    /* the threads take whole fields, the costliest first (longest-first
     * keeps the last field to finish short) */
    field_queue q = {.db = db, .first = r0, .nrows = (uint32_t)n, .fields = order};
    for (uint32_t id = 0; id < nf; id++)
        if (fcs[id].n) order[q.nfields++] = &fcs[id];
    qsort(order, q.nfields, sizeof *order, cmp_cost_desc);
    part parts[EXEC_MAX_LANES];
    void *args[EXEC_MAX_LANES];
    int np = n < LOAD_PARALLEL_MIN_ROWS ? 1 : exec_threads(db);
    for (int p = 0; p < np; p++) {
        parts[p] = (part){.q = &q};
        args[p] = &parts[p];
    }
    exec_run_tasks(db, apply_part, args, np);
    for (int p = 0; p < np && !rc; p++) rc = parts[p].rc;

    /* SPEC 4.1's type rule looks at the whole contact: after every field */
    for (size_t i = 0; i < n && !rc; i++)
        rc = ops_type_rule(db, r0 + (uint32_t)i, pv + koff[i], koff[i + 1] - koff[i], names_type[i]);
done:
    free(fcs);
    free(fill);
    free(sets);
    free(rows);
    free(pvs);
    free(order);
    return rc;
}

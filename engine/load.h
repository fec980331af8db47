/*
 * load.h — bulk loads: a batch of new contacts applied column by column.
 *
 * Row by row, each contact's dozen values go to a dozen structures, and with
 * millions of contacts several of them are a cache miss each (the id map's
 * slot, the email and phone dictionaries' slots, a shared name's posting
 * list). Column by column, one field's values for the whole batch go into
 * that field's structures in one loop: the id map and the text dictionaries
 * prefetch their slots a few values ahead, and, fields being independent of
 * each other, the fields split over the handle's worker threads
 * (exec_run_tasks).
 *
 * The result is the state UPSERT's row-by-row apply leaves, value for value:
 * the same rows, dictionary codes, bitmap contents and range-index rows (a
 * bitmap may hold a run container where row-by-row inserts built bits). The
 * load and differential tests compare the two.
 */
#ifndef LOAD_H
#define LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "segdb.h"

/* The defaults a new contact gets for the fields it doesn't set: type
 * visitor, status never_subscribed, relationship new, created_at = time. */
#define LOAD_NDEFAULTS 4
void load_defaults(segdb_t *db, int64_t time, pval out[LOAD_NDEFAULTS]);

/* One value of one field for a row, copied out of its pval when the values
 * are filed by field: a field's job then reads its values in one stream
 * (through a pointer to each pval, every value was a cache miss: a batch's
 * pvals outgrow the caches, and the other core wrote half of them). */
typedef struct load_cell {
    const char *s;      /* the value as given (text, category and tags use it) */
    uint64_t x;         /* text, category, tags: its length; else i, code or d's bits */
    uint32_t row;
    uint8_t op;         /* pv_op */
} load_cell;

/* Some of one field's values, in row order. */
typedef struct load_cells {
    load_cell *c;
    size_t n, cap;
} load_cells;

/* The pval cell c of field f stands for. */
pval load_cell_pval(struct field *f, const load_cell *c);

/* Files the values of contacts [from, to) by field into grid[field id], in
 * row order, with each contact's defaults (defs, of fields with ids below
 * 64) for the fields it doesn't set itself; contact i is row first + i. The
 * pvals hold 0 in the members their field's kind doesn't use (as prepare
 * leaves them). SEGDB_ENOMEM. */
int load_gather(const pval *defs, const size_t *koff, const pval *pv, size_t from, size_t to, uint32_t first,
                load_cells *grid);

/* A checked batch of UPSERTs, as ops_batch holds it: contact i is ids[i]
 * with the values pv[koff[i] .. koff[i + 1]) and names_type[i] as prepare
 * reported it; time is the write's time (created_at's default). grid, when
 * not NULL, is the values already filed by field (load_gather) in np
 * consecutive ranges of contacts, in order, grid[p * nf + field id], for rows
 * from grid_first, with the defaults defs: the threads that checked the
 * contacts did it, a chunk of rows at a time. */
typedef struct load_batch {
    int64_t time;
    size_t n;
    const uint64_t *ids;
    const size_t *koff;
    const pval *pv;
    const bool *names_type;
    load_cells *grid;
    int np;
    uint32_t nf, grid_first;
} load_batch;

/* True when load_apply can take the batch: n > 0, ids strictly ascending, and
 * the first above every id the store has held (so every one is new). */
bool load_applies(const segdb_t *db, const load_batch *lb);

/* Apply the batch as lb->n UPSERTs would, in order. Only when
 * load_applies(db, lb). SEGDB_ENOMEM (then partly applied, as an apply that
 * runs out of memory row by row would be). */
int load_apply(segdb_t *db, const load_batch *lb);

#endif /* LOAD_H */

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

/* A checked batch of UPSERTs, as ops_batch holds it: contact i is ids[i]
 * with the values pv[koff[i] .. koff[i + 1]) and names_type[i] as prepare
 * reported it; time is the write's time (created_at's default). */
typedef struct load_batch {
    int64_t time;
    size_t n;
    const uint64_t *ids;
    const size_t *koff;
    const pval *pv;
    const bool *names_type;
} load_batch;

/* True when load_apply can take the batch: n > 0, ids strictly ascending, and
 * the first above every id the store has held (so every one is new). */
bool load_applies(const segdb_t *db, const load_batch *lb);

/* Apply the batch as lb->n UPSERTs would, in order. Only when
 * load_applies(db, lb). SEGDB_ENOMEM (then partly applied, as an apply that
 * runs out of memory row by row would be). */
int load_apply(segdb_t *db, const load_batch *lb);

#endif /* LOAD_H */

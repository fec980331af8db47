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
 * differential and batch tests compare the two.
 */
#ifndef LOAD_H
#define LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "segdb.h"

/* True when load_apply can take these n ids: n > 0, strictly ascending, and
 * the first above every id the store has held (so every one is new). */
bool load_applies(const segdb_t *db, const uint64_t *ids, size_t n);

/* Apply n new contacts as n UPSERTs would, in order: contact i is ids[i] with
 * the checked values pv[koff[i] .. koff[i + 1]), names_type[i] as prepare
 * reported it; time is the write's time (created_at's default). Only when
 * load_applies(db, ids, n). SEGDB_ENOMEM (then partly applied, as an apply
 * that runs out of memory row by row would be). */
int load_apply(segdb_t *db, int64_t time, const uint64_t *ids, size_t n, const size_t *koff,
               const pval *pv, const bool *names_type);

#endif /* LOAD_H */

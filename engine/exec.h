/*
 * exec.h — plan -> rows. Evaluates a plan one 65536-row chunk at a time into
 * plain bitsets (bm.h), so a whole AND/OR/NOT tree is fused per chunk; then
 * counts, materializes, pages (FIND) or explains.
 */
#ifndef EXEC_H
#define EXEC_H

#include <stdint.h>

#include <roaring/roaring.h>

#include "plan.h"
#include "segdb.h"

/* Stops and joins db's query worker threads, if any were started. */
void exec_pool_free(segdb_t *db);

/* Work for the worker threads is coming soon (a bulk write about to check
 * its rows): sleeping workers wake now and spin a while, so the work does
 * not wait the tens of microseconds a wake-up takes on a VM. No-op when
 * none sleeps or no pool was started. */
void exec_warm(segdb_t *db);

/* The threads a query or a bulk task may use: query_threads, 1 to EXEC_MAX_LANES. */
int exec_threads(const segdb_t *db);

/* Runs fn(args[i]) for i = 0..n-1 and returns when all are done: args[0] on
 * the calling thread, up to exec_threads(db) - 1 others on the handle's
 * worker threads at the same time (started on first use); tasks beyond
 * exec_threads(db), and any no worker could take, run on the calling thread
 * afterwards. Concurrent tasks must touch disjoint state. */
void exec_run_tasks(segdb_t *db, void (*fn)(void *), void *const *args, int n);

/* Number of rows matching the plan. */
uint64_t exec_count(segdb_t *db, plan *p);

/* Rows matching the plan as a new bitmap (caller frees); restricted to
 * `mask` when mask is non-NULL. NULL on ENOMEM. */
roaring_bitmap_t *exec_rows(segdb_t *db, plan *p, const roaring_bitmap_t *mask);

/* FIND: the ids of one page of matching rows, ordered by sort_field (NULL =
 * id), desc, skipping offset. *rows (malloc'd, n entries) are row positions. */
int exec_find(segdb_t *db, plan *p, const char *sort_field, bool desc, uint64_t offset,
              uint64_t limit, uint32_t **rows, size_t *n, segdb_err *err);

/* EXPLAIN text: the optimized tree, each node with its estimate, actual
 * cardinality and time. malloc'd; NULL on ENOMEM. */
char *exec_explain(segdb_t *db, plan *p);

#endif /* EXEC_H */

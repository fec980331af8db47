/*
 * plan.h — filter AST -> optimized bitmap plan.
 *
 * Binding resolves field names and types every value by its field (SPEC 7),
 * turning each term into a leaf over the store's indexes:
 *   P_BITMAP    one index bitmap (borrowed): tag:vip, city:hanoi, has:phone
 *   P_BITMAPS   many bitmaps OR'd in one pass: city:(a,b), tag~vi, OR of tags
 *   P_OWNED     a bitmap computed at bind time: text equality/contains, q:
 *   P_RANGE     a range-index cover: full buckets + edge buckets checked
 *               against the column (times, integers, numbers, dates)
 * and inner nodes P_AND / P_OR / P_NOT. Optimization: AND/OR flattened,
 * constant leaves folded, AND children ordered by estimated cardinality
 * (bitmaps smallest first, then range terms, NOT children last as and-not), many-way OR of plain
 * bitmaps merged into one P_BITMAPS leaf.
 *
 * Relative times are resolved at bind time, which is evaluation time: a plan
 * is built for one evaluation and freed after it.
 *
 * `segment:name` binds a frozen segment as a P_BITMAP over its members and a
 * live one by parsing and binding its filter in place (recursively; a name
 * met again on the way is a cycle error, and inlined terms count against the
 * term limit). `group:CODE` (and `groups:CODE`) binds to the OR of the
 * bitmaps of CODE and every group below it.
 */
#ifndef PLAN_H
#define PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "filter_parse.h"
#include "index.h"
#include "segdb.h"
#include "store.h"

typedef enum pkind {
    P_EMPTY, P_ALL, P_BITMAP, P_BITMAPS, P_OWNED, P_RANGE, P_AND, P_OR, P_NOT
} pkind;

/* A query's chunks may be split over up to this many threads (exec.c). */
#define EXEC_MAX_LANES 4

typedef struct pnode {
    pkind kind;
    char *label;                    /* the term as EXPLAIN shows it */
    uint64_t est;                   /* estimated cardinality (an upper bound) */
    /* P_BITMAP, P_BITMAPS, P_OWNED */
    const roaring_bitmap_t **bms;
    uint32_t nbms;
    roaring_bitmap_t *owned;
    int *cursors[EXEC_MAX_LANES];   /* per lane, per-bitmap chunk cursor (exec scratch) */
    /* P_RANGE */
    const field *f;
    uint64_t lo, hi;                /* order-preserving keys, inclusive */
    rcover cover;
    int *edge_cursors[EXEC_MAX_LANES];
    /* P_AND, P_OR, P_NOT */
    struct pnode **kids;
    uint32_t nkids;
} pnode;

typedef struct plan {
    pnode *root;
    bool with_archived;             /* the filter names `archived`: universe = live */
    const roaring_bitmap_t *universe;
    int64_t now;
} plan;

/* Parse + bind + optimize. filter NULL = the whole universe. On error returns
 * SEGDB_EINVAL/EWRONGTYPE/ELIMIT/ENOMEM with err filled; *out untouched. */
int plan_build(segdb_t *db, const char *filter, plan **out, segdb_err *err);
void plan_free(plan *p);

/* Check that filter can be saved as the live segment `name`: it parses and
 * binds, every segment it names exists, and none of them leads back to
 * `name` (a cycle). SEGDB_EINVAL/EWRONGTYPE/ELIMIT/ENOMEM with err filled. */
int plan_check_segment(segdb_t *db, const char *name, const char *filter, segdb_err *err);

#endif /* PLAN_H */

/*
 * campaign.h — bulk campaign operations over sets of contacts: TAG/UNTAG,
 * SET, ARCHIVE/UNARCHIVE, SPLIT, FACET, OVERLAP, REACH (their public API is
 * in segdb.h). Writes resolve their target to the exact rows they change and
 * go through one compact record each (ops.h); reads materialize the filter's
 * rows once and answer with bitmap cardinalities.
 *
 * Splits (SPEC 7): the matching set S (N rows) is put in order and cut into
 * contiguous parts; part k of n holds ranks floor(N(k-1)/n)..floor(Nk/n)-1,
 * PERCENT cuts at floor(N * cumulative / 100) computed exactly on decimal
 * integers (12 decimals, 128-bit products). Sizes depend on N only, so a
 * split without SAVE orders nothing. With SAVE the parts are built as the
 * order is walked bucket by bucket; a bucket with no cut inside joins its
 * part whole (bitmap OR), only a bucket holding a cut is looked into:
 *   - by id while rows are in id order (ids_ascending): rank -> row with
 *     roaring_bitmap_select, each part one range intersection;
 *   - BY a time/date/integer/number field: the range index from its coarsest
 *     level down, a bucket holding a cut opened into the next finer level;
 *   - BY an enum or bool (member order, relationship with dont_forget derived),
 *     a category (folded value order): each value's bitmap is a bucket;
 *   - a bucket that must be ordered row by row (the finest index bucket, all
 *     of S under RANDOM, BY text, ids not in row order): keys are bucketed by
 *     their top bits in one counting pass and only the few key buckets that
 *     hold a cut are sorted (selection, not a full sort).
 * The order is (key, tie, id): key = the BY field's value (missing values
 * last), tie = id, or under RANDOM <seed> the hash
 *   seeded(seed, id) = mix64(seed ^ mix64(id)),
 *   mix64(x) = splitmix64's finalizer of x + 0x9e3779b97f4a7c15
 * (without BY, RANDOM orders by that hash). The hash is fixed: the same data
 * and seed give the same parts on every machine and version.
 */
#ifndef CAMPAIGN_H
#define CAMPAIGN_H

#include <stdbool.h>

#include <roaring/roaring.h>

#include "segdb.h"

/* The rows of target t as a new bitmap (caller frees): existing contacts of
 * an id list (archived included), or the filter's rows. with_archived: the
 * filter is evaluated over every live contact, as if it named `archived`.
 * SEGDB_EINVAL for a malformed target, SEGDB_ELIMIT for too many ids. */
int campaign_target_rows(segdb_t *db, const segdb_target *t, bool with_archived, roaring_bitmap_t **rows,
                         segdb_err *err);

/* Free the segments, groups and notes hanging off db (segdb_close). */
void campaign_state_free(segdb_t *db);

#endif /* CAMPAIGN_H */

/*
 * group.h — the group tree of SPEC 4.4 over the built-in `groups` field.
 *
 * Membership lives in the `groups` field (a SEGDB_KIND_TAGS dictionary: one
 * Roaring bitmap per group code, folded for lookup); this module adds the
 * tree: for each dictionary code that is a group, its name and its parent.
 * A code is derived from the name with fold_group_code (`Khách VIP` ->
 * `KHACH_VIP`, cut to 56 characters); when its folded form is taken by a
 * group, _2, _3... is appended until it is free. Only existing groups may be
 * written (GROUP.ADD, UPSERT groups). Deleting a group moves its children up
 * to its parent and empties its bitmap; its dictionary entry stays (dicts
 * never shrink) and a later GROUP.CREATE of the same code reuses it.
 *
 * State (struct segdb.groups) is a plain array indexed by dictionary code, so
 * a snapshot writes, per code: name (or none), parent code, created time;
 * the member bitmaps are the groups field's and are persisted with it.
 */
#ifndef GROUP_H
#define GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"
#include "segdb.h"

#define GROUP_CODE_CUT_BYTES 56u     /* derived codes are cut here, leaving room for _N */

typedef struct group {
    char *name;          /* as given to GROUP.CREATE; NULL: no group holds this code */
    uint32_t parent;     /* dictionary code of the parent group, 0 = top level */
    int64_t created;     /* record time */
} group;

typedef struct group_tree {
    group *v;            /* v[code], code < n; v[0] unused */
    uint32_t n, cap;
} group_tree;

/* Dictionary code of the existing group whose code folds like s[0..len), or 0. */
uint32_t group_lookup(segdb_t *db, const char *s, size_t len);

/* code and every group below it, as a malloc'd array (*n entries, caller
 * frees). SEGDB_ENOMEM. A code that is not a group gives just itself. */
int group_subtree(segdb_t *db, uint32_t code, uint32_t **codes, uint32_t *n);

/* REC_GROUP_CREATE / REC_GROUP_DEL. */
int group_prepare(segdb_t *db, const record *r, segdb_err *err);
int group_apply(segdb_t *db, const record *r);

void group_state_free(segdb_t *db);

#endif /* GROUP_H */

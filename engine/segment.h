/*
 * segment.h — saved segments (SPEC 3: SEGMENT.*; SPEC 7: `segment:name`).
 *
 * A live segment keeps its filter text and is re-evaluated on every use (the
 * planner parses and binds it in place of `segment:name`, so relative times
 * are taken when it is used). A frozen segment keeps a Roaring bitmap of the
 * rows that matched when it was frozen (SEGMENT.FREEZE, SPLIT ... SAVE);
 * deleting a contact removes its row from every frozen segment. Names are
 * 1-64 of A-Z a-z 0-9 _ -, compared case-insensitively (first spelling kept).
 *
 * State (struct segdb.segments) is a plain array in creation order, so a
 * snapshot writes, per segment: name, frozen flag, text, created time and,
 * for frozen ones, the members bitmap.
 */
#ifndef SEGMENT_H
#define SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "ops.h"
#include "segdb.h"

typedef struct segment {
    char name[SEGDB_MAX_SEGMENT_NAME_BYTES + 1];
    bool frozen;
    char *text;                 /* live: the filter; frozen: where the members came from */
    roaring_bitmap_t *members;  /* frozen: member rows; NULL for live */
    int64_t created;            /* record time */
} segment;

typedef struct segment_set {
    segment *v;                 /* creation order */
    uint32_t n, cap;
} segment_set;

/* 1-64 bytes of A-Z a-z 0-9 _ -. */
bool segment_name_valid(const char *s, size_t len);

/* The segment named s[0..len) (case-insensitive), or NULL. Borrowed: valid
 * until the next write. */
const segment *segment_find(segdb_t *db, const char *s, size_t len);

/* REC_SEGMENT_SAVE / FREEZE / DEL: prepare checks names (valid, free or
 * existing) and that members are live rows; apply can only fail on ENOMEM. */
int segment_prepare(segdb_t *db, const record *r, segdb_err *err);
int segment_apply(segdb_t *db, const record *r);

/* A deleted contact leaves every frozen segment. */
void segment_forget_row(segdb_t *db, uint32_t row);

void segment_state_free(segdb_t *db);

#endif /* SEGMENT_H */

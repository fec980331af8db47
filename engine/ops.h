/*
 * ops.h — every write to the store, as mutation records applied by one apply().
 *
 * A write command builds a record (one struct per kind of change), checks it
 * against the current state (prepare: all validation happens here, so apply
 * can't fail half-way on user input), serializes it, hands the bytes to the
 * write-log hook, then applies it. Recovery decodes logged bytes and runs the
 * very same prepare + apply (ops_apply_bytes). Nothing else mutates the store.
 *
 * Bulk writes (TAG ... WHERE, SET, ARCHIVE, GROUP.ADD, SEGMENT.FREEZE, SPLIT
 * ... SAVE) are logged compactly: the command resolves its target to the exact
 * set of rows it changes (target rows minus archived ones, minus rows that
 * already hold the value...) before the record is built, and the record holds
 * that set as one serialized Roaring bitmap of row positions. Rows are never
 * reused and snapshots keep them, so a logged row means the same contact on
 * replay; apply is then a few bitmap operations, deterministic, and the reply
 * counts are the bitmap's cardinality.
 *
 * Record byte format (little-endian), the body the log stores:
 *   u8 kind | i64 time (the write's "now": created_at defaults, relative times,
 *   segment, group and note times)
 * and then, by kind (str16 = u16 len + bytes, str32 = u32 len + bytes,
 * bitmap = u32 len + a Roaring bitmap in the portable format of
 * roaring_bitmap_portable_serialize, exactly len bytes):
 *   REC_UPSERT  1:        u64 id | u32 n | n x (u16 name_len, name, u32 value_len, value)
 *   REC_DELETE  2:        u32 n | n x u64 id
 *   REC_FIELD_CREATE 3:   u8 segdb_kind | u16 name_len | name
 *   REC_TAG     4:        str16 tag | bitmap rows gaining the tag
 *   REC_UNTAG   5:        str16 tag | bitmap rows losing it
 *   REC_SET     6:        str16 field | str32 value | bitmap rows whose value changes
 *   REC_ARCHIVE 7:        bitmap rows archived
 *   REC_UNARCHIVE 8:      bitmap rows unarchived
 *   REC_SEGMENT_SAVE 9:   str16 name | str32 filter (a live segment)
 *   REC_SEGMENT_FREEZE 10: u32 n | n x (str16 name | str32 description | bitmap members)
 *   REC_SEGMENT_DEL 11:   str16 name
 *   REC_GROUP_CREATE 12:  str16 code | str32 name | str16 parent code ("" = top level)
 *   REC_GROUP_ADD 13:     str16 code | bitmap rows joining the group
 *   REC_GROUP_REMOVE 14:  str16 code | bitmap rows leaving it
 *   REC_GROUP_DEL 15:     str16 code
 *   REC_NOTE_ADD 16:      u64 contact id | u64 note id | str32 text
 *   REC_NOTE_EDIT 17:     u64 contact id | u64 note id | str32 text
 *   REC_NOTE_DEL 18:      u64 contact id | u64 note id
 *   REC_IMPORT 19:        u16 ncols | ncols x str16 field name |
 *                         u32 nrows | nrows x (u64 id | var n | n x (var column | var len | value))
 *                         (var = unsigned LEB128: 7 bits a byte, low bits first, at most 10 bytes)
 *                         the rows of one IMPORT chunk that passed UPSERT's checks, with
 *                         their ids resolved (match keys looked up, new ids handed out)
 *                         when the record was built; applied in order, each as an UPSERT
 * A record whose bytes don't parse exactly (short, trailing bytes, a bitmap
 * whose portable size is not its length) or whose rows are not live contacts
 * in the state the record expects is refused with SEGDB_EINVAL.
 */
#ifndef OPS_H
#define OPS_H

#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "segdb.h"

typedef enum rec_kind {
    REC_UPSERT = 1,
    REC_DELETE = 2,
    REC_FIELD_CREATE = 3,
    REC_TAG = 4,
    REC_UNTAG = 5,
    REC_SET = 6,
    REC_ARCHIVE = 7,
    REC_UNARCHIVE = 8,
    REC_SEGMENT_SAVE = 9,
    REC_SEGMENT_FREEZE = 10,
    REC_SEGMENT_DEL = 11,
    REC_GROUP_CREATE = 12,
    REC_GROUP_ADD = 13,
    REC_GROUP_REMOVE = 14,
    REC_GROUP_DEL = 15,
    REC_NOTE_ADD = 16,
    REC_NOTE_EDIT = 17,
    REC_NOTE_DEL = 18,
    REC_IMPORT = 19,
} rec_kind;

typedef struct rec_upsert {
    uint64_t id;
    const segdb_kv *kv;
    size_t n;
} rec_upsert;

typedef struct rec_delete {
    const uint64_t *ids;
    size_t n;
} rec_delete;

typedef struct rec_field_create {
    const char *name;
    segdb_kind kind;
} rec_field_create;

/* REC_TAG, REC_UNTAG, REC_SET, REC_ARCHIVE, REC_UNARCHIVE, REC_GROUP_ADD,
 * REC_GROUP_REMOVE: a bulk write over the exact rows it changes. */
typedef struct rec_rows {
    const char *name;               /* tag, group code or (REC_SET) field; NULL for (un)archive */
    const char *value;              /* REC_SET: the value bytes ("" clears the field) */
    size_t value_len;
    const roaring_bitmap_t *rows;
} rec_rows;

/* REC_SEGMENT_SAVE (name, filter), REC_SEGMENT_DEL (name). */
typedef struct rec_segment {
    const char *name;
    const char *filter;
} rec_segment;

/* REC_SEGMENT_FREEZE: n frozen segments at once (SEGMENT.FREEZE: 1; SPLIT SAVE: n). */
typedef struct rec_freeze {
    size_t n;
    const char *const *names;
    const char *const *descs;       /* where the members came from, for SEGMENT.GET */
    const roaring_bitmap_t *const *members;
} rec_freeze;

/* REC_GROUP_CREATE (code, name, parent), REC_GROUP_DEL (code). */
typedef struct rec_group {
    const char *code;
    const char *name;
    const char *parent;             /* "" = top level */
} rec_group;

/* REC_NOTE_ADD, REC_NOTE_EDIT (id, note, text), REC_NOTE_DEL (id, note). */
typedef struct rec_note {
    uint64_t id;                    /* the contact */
    uint64_t note;                  /* note id (ADD: the id the note gets) */
    const char *text;
    size_t len;
} rec_note;

/* REC_IMPORT: a batch of upserts built with ops_batch_add (below). */
struct ops_batch;
typedef struct rec_import {
    struct ops_batch *batch;
} rec_import;

typedef struct record {
    rec_kind kind;
    int64_t time;
    union {
        rec_upsert upsert;
        rec_delete del;
        rec_field_create field_create;
        rec_rows rows;
        rec_segment segment;
        rec_freeze freeze;
        rec_group group;
        rec_note note;
        rec_import import;
    } u;
} record;

/* Validate r against the store, log it through the hook, apply it.
 * out: REC_UPSERT -> 1 created / 0 updated; REC_IMPORT -> contacts created;
 * REC_DELETE -> contacts deleted;
 * bulk kinds -> rows changed; REC_NOTE_ADD -> the note id; others -> 0. */
int ops_write(segdb_t *db, const record *r, uint64_t *out, segdb_err *err);

/* Replay path: decode bytes and apply without logging (seq becomes db->seq). */
int ops_apply_bytes(segdb_t *db, uint64_t seq, const void *bytes, size_t len, segdb_err *err);

/* Serialize r into a malloc'd buffer; NULL on ENOMEM. */
void *ops_encode(const record *r, size_t *len);

/* SET field value over target rows (SPEC 4, 7): validates field and value as
 * UPSERT does (plus SET's own rules: no tags/groups/archived/derived fields,
 * identifier only on one contact), then splits target into *changed (a new
 * bitmap: rows whose stored value differs and may move) and *rejected
 * (archived rows and forbidden status moves). Rows already holding the value
 * are in neither. now types relative times. On error nothing is allocated. */
int ops_set_resolve(segdb_t *db, int64_t now, const char *field, const char *value, size_t value_len,
                    const roaring_bitmap_t *target, roaring_bitmap_t **changed, uint64_t *rejected,
                    segdb_err *err);

/* ---- import batches (REC_IMPORT) -------------------------------------------
 * IMPORT writes a whole CSV chunk as one record: create a batch, add the rows
 * one by one (each is checked exactly as an UPSERT of (id, kv) would be, in
 * the state the store will be in when the rows before it are applied), then
 * commit: one logged record, applied row by row by UPSERT's apply. A row that
 * fails its check is not added and leaves the batch as it was, so the caller
 * can reject that row alone. Replay decodes the record and adds its rows to a
 * new batch the same way (a row that fails there refuses the whole record).
 *
 * The only check that depends on earlier rows of the batch is identifier
 * uniqueness: a row may not give an identifier to a contact other than the
 * one an earlier row gave it to. An identifier a contact holds before the
 * batch stays its own until the batch is applied (giving it to another
 * contact in the same batch is refused even when an earlier row moved it).
 *
 * The store must not change between ops_batch_create and the commit. */
typedef struct ops_batch ops_batch;

/* A batch for db with the records' time (created_at defaults, relative
 * times). NULL on ENOMEM. Free with ops_batch_free. */
ops_batch *ops_batch_create(segdb_t *db, int64_t time);

/* The caller vouches that every value it will add is valid UTF-8 without a
 * NUL byte (IMPORT: the CSV reader rejected the rows that are not), so the
 * rows skip that check. Never for bytes that come from a log. */
void ops_batch_text_checked(ops_batch *b);

/* Room for rows more rows of cells values in all, so adding them doesn't
 * reallocate (a hint: adding more still works). SEGDB_ENOMEM. */
int ops_batch_reserve(ops_batch *b, size_t rows, size_t cells);

/* Check one upsert (id, kv[0..n)) and add it. kv names and values are
 * borrowed until the batch is freed; n may be 0 (a contact with defaults
 * only). 0, or UPSERT's error for this row (nothing added). */
int ops_batch_add(ops_batch *b, uint64_t id, const segdb_kv *kv, size_t n, segdb_err *err);

/* ops_batch_add for c[0..n) in order, their checks spread over the handle's
 * threads (they only read the store). On the first row that fails, *failed
 * is its index and err its error; when that is UPSERT's check (or identifier
 * uniqueness) the rows before it stay added, and it and the rows after it
 * are not; a batch over the column limit, or out of memory, adds none of the
 * n. 0 when all were added. */
int ops_batch_add_many(ops_batch *b, const segdb_contact *c, size_t n, size_t *failed, segdb_err *err);

/* Rows added so far. */
size_t ops_batch_rows(const ops_batch *b);

/* Log and apply the batch as one REC_IMPORT record (nothing when it has no
 * rows); *created = rows that created a contact. At most once per batch. */
int ops_batch_commit(ops_batch *b, uint64_t *created, segdb_err *err);

void ops_batch_free(ops_batch *b); /* NULL is a no-op */

/* Empty b for a new batch with the given time, keeping its memory (a bulk
 * load's next batch then allocates nothing). */
void ops_batch_reset(ops_batch *b, int64_t time);

struct field;

/* One checked value of an UPSERT, ready to apply (prepare parsed it). The
 * members its field's kind doesn't use are 0. */
typedef enum { PV_SET, PV_CLEAR } pv_op;
typedef struct pval {
    struct field *f;
    pv_op op;
    const char *s;     /* text, category, tags list */
    size_t len;
    int64_t i;         /* time, date, integer */
    double d;          /* number */
    uint32_t code;     /* enum, bool */
} pval;

/* Apply one value to a row, as UPSERT does (without the type rule, which
 * looks at the whole contact). SEGDB_ENOMEM. */
int ops_apply_value(segdb_t *db, uint32_t row, const pval *pv);

/* SPEC 4.1 after an UPSERT wrote pv[0..n) to row: unless the UPSERT named
 * type itself (names_type), a name, email, phone or purchases moves type up
 * to the level the contact's data earns, never down. SEGDB_ENOMEM. */
int ops_type_rule(segdb_t *db, uint32_t row, const pval *pv, size_t n, bool names_type);

/* After rows lost a label of the tags or groups field f: those holding no
 * other label leave f's present bitmap. SEGDB_ENOMEM. */
int ops_tags_settle(struct field *f, const roaring_bitmap_t *rows);

#endif /* OPS_H */

/*
 * ops.h — every write to the store, as mutation records applied by one apply().
 *
 * A write command builds a record (one struct per kind of change), checks it
 * against the current state (prepare: all validation happens here, so apply
 * can't fail half-way on user input), serializes it, hands the bytes to the
 * write-log hook, then applies it. Recovery decodes logged bytes and runs the
 * very same prepare + apply (ops_apply_bytes). Nothing else mutates the store.
 *
 * Record byte format (little-endian), the body the log stores:
 *   u8 kind | i64 time (the write's "now": created_at defaults, relative times)
 *   REC_UPSERT:       u64 id | u32 n | n x (u16 name_len, name, u32 value_len, value)
 *   REC_DELETE:       u32 n | n x u64 id
 *   REC_FIELD_CREATE: u8 segdb_kind | u16 name_len | name
 */
#ifndef OPS_H
#define OPS_H

#include <stddef.h>
#include <stdint.h>

#include "segdb.h"

typedef enum rec_kind {
    REC_UPSERT = 1,
    REC_DELETE = 2,
    REC_FIELD_CREATE = 3,
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

typedef struct record {
    rec_kind kind;
    int64_t time;
    union {
        rec_upsert upsert;
        rec_delete del;
        rec_field_create field_create;
    } u;
} record;

/* Validate r against the store, log it through the hook, apply it.
 * out: REC_UPSERT -> 1 created / 0 updated; REC_DELETE -> contacts deleted. */
int ops_write(segdb_t *db, const record *r, uint64_t *out, segdb_err *err);

/* Replay path: decode bytes and apply without logging (seq becomes db->seq). */
int ops_apply_bytes(segdb_t *db, uint64_t seq, const void *bytes, size_t len, segdb_err *err);

/* Serialize r into a malloc'd buffer; NULL on ENOMEM. */
void *ops_encode(const record *r, size_t *len);

#endif /* OPS_H */

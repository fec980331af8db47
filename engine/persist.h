/*
 * persist.h — the whole engine state as a byte stream and back: what a
 * snapshot holds. The engine knows no files; storage/snapshot.c wraps this
 * stream in a file with a header, a checksum, fsync and rename.
 *
 * Stream layout (little-endian; "bitmap" = u32 length + CRoaring portable
 * serialization; "str" = u32 length + bytes; "array" = u64 byte length + bytes):
 *   "SEGDBST2" | u64 seq | u32 nrows | u32 nfields | u64 max_id | u8 ids_ascending
 *   array ids (nrows x u64) | bitmap live | bitmap archived
 *   per field: str name | u8 kind | u8 flags (builtin, derived) | u8 text mode
 *     bitmap present
 *     u32 dict codes n | (n-1) x (str display, str folded, bitmap rows)
 *     u8 column mask (1 codes8, 2 codes32, 4 i64, 8 i8, 16 f64, 32 i32, 64 i16) | each present column as array
 *       (value codes: codes8 for enums and bools; codes8 or codes32 for categories, which
 *       "SEGDBST1" streams, written before 8-bit category codes, always hold as codes32)
 *     u8 has text | text: u32 n, array orig arena, array fold arena, arrays
 *       orig_off, fold_off, refs, last_row, multi (n x u32), u32 chain links +
 *       (u32 code, u32 next code) each,
 *       u32 nmbms + bitmaps, u8 has row codes + array row_code
 *     u8 range levels | per level: u32 buckets, array keys, bitmaps
 *   campaign section: u32 segments x (str name, u8 frozen, str text, u64 created,
 *     [bitmap members]) | u32 group codes, per code >= 1 (u8 is group, str name,
 *     u32 parent, u64 created) | u64 next note id | u32 notes x (u64 id, u32 row,
 *     u64 created, u64 edited, u8 has text, str text)
 *   "SEGDBEND"
 * Hash tables (id map, dictionaries, field names) are rebuilt on load.
 */
#ifndef PERSIST_H
#define PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "segdb.h"

/* Buffered writer over a segdb_write_fn. Functions record the first error in rc. */
typedef struct pwriter {
    segdb_write_fn fn;
    void *ctx;
    int rc;
    unsigned char *buf;
    size_t len, cap;
} pwriter;

void pw_bytes(pwriter *w, const void *p, size_t n);
void pw_u8(pwriter *w, uint8_t v);
void pw_u32(pwriter *w, uint32_t v);
void pw_u64(pwriter *w, uint64_t v);
void pw_str(pwriter *w, const char *s, size_t n);
void pw_array(pwriter *w, const void *p, uint64_t nbytes);
void pw_bitmap(pwriter *w, const roaring_bitmap_t *b);

/* Reader over a segdb_read_fn. After any short read or implausible length,
 * bad is set and every later read returns zeros. */
typedef struct preader {
    segdb_read_fn fn;
    void *ctx;
    uint64_t left;      /* bytes the stream still holds (bounds every allocation) */
    bool bad;
    char why[160];
    char *scratch;      /* reused by pr_bitmap (one buffer, not a malloc per bitmap); */
    size_t scratch_cap; /* whoever sets up the reader frees it */
} preader;

/* True when count items of unit bytes can still be in the stream; else fails r. */
bool pr_room(preader *r, uint64_t count, uint64_t unit);

void pr_bytes(preader *r, void *p, size_t n);
uint8_t pr_u8(preader *r);
uint32_t pr_u32(preader *r);
uint64_t pr_u64(preader *r);
char *pr_str(preader *r, size_t max, size_t *len);        /* malloc'd, NUL-terminated */
/* Read an array of exactly want bytes into dst (the stored length must match). */
void pr_array_into(preader *r, void *dst, uint64_t want);
roaring_bitmap_t *pr_bitmap(preader *r);                   /* NULL when bad */
void pr_fail(preader *r, const char *why);

#endif /* PERSIST_H */

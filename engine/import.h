/*
 * import.h — IMPORT: one chunk of CSV text -> one REC_IMPORT record (SPEC 7,
 * "Import and export"; the public entry point is segdb_import() in segdb.h,
 * the user's guide docs/import-export.md).
 *
 * One pass over the chunk with the streaming reader of csv.h:
 *   1. The header row names the columns. Every name must be a field a row can
 *      be written with (built-in or custom, case-insensitive, surrounding
 *      blanks ignored) or `id`; an unknown, duplicate, derived or `archived`
 *      column fails the whole chunk before any row is looked at, naming it
 *      (and FIELD.CREATE for an unknown one).
 *   2. Each data row, in file order: CSV-level problems (invalid UTF-8, a NUL
 *      byte, a quote out of place, a wrong number of cells, all cells empty)
 *      reject it; then its contact is resolved:
 *        - MATCH id (or no MATCH with an id column): the id cell; an empty id
 *          cell creates a contact with a new id;
 *        - MATCH identifier|email|phone: the one contact whose value matches
 *          the row's (identifier exactly, email lower-cased, phone as
 *          normalized digits), an earlier row of the chunk that created one
 *          included. Several contacts sharing an email or phone reject the row
 *          (the message says how many). An id cell must then be empty or that
 *          contact's id. No match (or an empty key cell) creates a contact,
 *          with the id cell's id when given (an id that already exists is
 *          rejected) or a new id;
 *        - neither: every row creates a contact with a new id.
 *      New ids run from max(largest id ever written, largest id of the chunk
 *      so far) + 1; once that is 2^64-1, rows needing one are rejected.
 *   3. The row's non-empty cells (id aside) become the (field, value) pairs
 *      of an UPSERT, checked by ops_batch_add exactly as UPSERT checks them
 *      (types, email, phone, tags, groups, archived contacts, identifier
 *      uniqueness), so a row is rejected for the same reasons and with the
 *      same words as an UPSERT of it would be.
 *   4. The accepted rows are committed as one record: logged once, applied in
 *      order. A contact named by several rows gets them applied one after the
 *      other: the later row wins for each field both set (what importing the
 *      rows one at a time would give, and what the CLI's chunking can't
 *      change).
 *
 * Memory: the chunk is parsed in place; only cells the reader had to unescape
 * are copied (into blocks freed at the end). At most SEGDB_MAX_IMPORT_ROWS
 * data rows per chunk (SEGDB_ELIMIT past that, nothing applied).
 */
#ifndef IMPORT_H
#define IMPORT_H

#include "segdb.h"

/* The match keys of IMPORT MATCH. */
typedef enum import_match {
    IMPORT_MATCH_AUTO = 0, /* no MATCH: id when there is an id column */
    IMPORT_MATCH_ID,
    IMPORT_MATCH_IDENTIFIER,
    IMPORT_MATCH_EMAIL,
    IMPORT_MATCH_PHONE,
} import_match;

/* "id", "identifier", "email", "phone" (any case) -> *m; NULL -> AUTO.
 * SEGDB_EINVAL (with the valid words) for anything else. */
int import_match_parse(const char *s, import_match *m, segdb_err *err);

#endif /* IMPORT_H */

/*
 * note.h — notes on contacts (NOTE.ADD/LIST/EDIT/DEL).
 *
 * Notes are kept in one array in note-id order (ids are unique per database
 * and increase; a deleted note keeps its slot with text NULL). Each note
 * links to the previous note of the same contact, and a small open-address
 * map from row to the contact's newest note makes NOTE.LIST walk only that
 * contact's notes, newest first. Times come from the write's record time, so
 * replay gives the same times. Notes hang off the row: a deleted contact's
 * notes are dropped, and an id written again gets a new row without them.
 *
 * State (struct segdb.notes): v[0..n) and next_id are the whole state; the
 * row map and the links are derived (note_reindex rebuilds them), so a
 * snapshot writes, per live note: id, row, created, edited, text.
 */
#ifndef NOTE_H
#define NOTE_H

#include <stdint.h>

#include "ops.h"
#include "segdb.h"

#define NOTE_NONE UINT32_MAX

typedef struct note {
    uint64_t id;
    uint32_t row;
    uint32_t older;             /* index of the contact's previous note, NOTE_NONE */
    int64_t created, edited;    /* record times; edited 0 = never */
    char *text;                 /* NUL-terminated; NULL once deleted */
    uint32_t len;
} note;

typedef struct note_book {
    note *v;                    /* by increasing id */
    uint32_t n, cap;
    uint64_t next_id;           /* the id the next note gets (>= 1) */
    uint32_t *slot_row;         /* row + 1, 0 = empty */
    uint32_t *slot_head;        /* index of the row's newest note, NOTE_NONE */
    uint32_t nslots, used;
} note_book;

/* REC_NOTE_ADD / EDIT / DEL. apply's *out: ADD -> the note id. */
int note_prepare(segdb_t *db, const record *r, segdb_err *err);
int note_apply(segdb_t *db, const record *r, uint64_t *out);

/* Rebuild the row map and links from v (after a snapshot load). SEGDB_ENOMEM. */
int note_reindex(segdb_t *db);

/* A deleted contact's notes are dropped. */
void note_forget_row(segdb_t *db, uint32_t row);

void note_state_free(segdb_t *db);

#endif /* NOTE_H */

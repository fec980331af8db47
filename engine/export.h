/*
 * export.h — EXPORT: contacts as CSV, one page at a time (SPEC 7, "Import and
 * export"; the public entry point is segdb_export() in segdb.h, the user's
 * guide docs/import-export.md).
 *
 * Paging is by row position, like Redis SCAN: the cursor is the row to start
 * from. Rows are handed out in write order and never reused, so a page is
 * "the first COUNT matching rows at or after the cursor", and the next cursor
 * is the row after the last one written. Writes between pages don't disturb
 * the walk: a contact that exists and matches for the whole export is written
 * exactly once (new contacts get later rows and may appear; deleted ones
 * vanish; an updated one is written as it is when its page is made). No page
 * holds more than COUNT rows, so exporting 10M contacts never builds more than
 * one page of text at a time, on either side of the socket.
 *
 * A page evaluates the filter again (relative times such as -30d are taken
 * when the page is made) one 65,536-row chunk at a time from the cursor, and
 * formats the matching rows column by column into a CSV buffer: tags and
 * groups are gathered for the page's rows from each label's bitmap (not
 * looked up label by label per row), cells go through csv_write_field with
 * formula escaping on.
 */
#ifndef EXPORT_H
#define EXPORT_H

#include "segdb.h"

#endif /* EXPORT_H */

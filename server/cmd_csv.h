/*
 * cmd_csv.h — segdb-server's CSV commands (SPEC 3 and 7, "Import and
 * export"): IMPORT takes one chunk of CSV text as a single bulk argument,
 * EXPORT hands contacts out as CSV one page at a time with a SCAN-like cursor.
 * Both are rows of the command table in commands.c; the reply shapes are in
 * docs/protocol.md ("CSV import and export"), the file formats in
 * docs/import-export.md. segdb-cli's `import` and `export` subcommands
 * stream whole files through them.
 */
#ifndef SEGDB_CMD_CSV_H
#define SEGDB_CMD_CSV_H

#include "commands.h"

/* IMPORT [MATCH id|identifier|email|phone] <csv>: flat array
 * [:created, :updated, :rejected, then :line, $reason for each rejected row]
 * (line = physical line in the chunk, the header row being line 1). A chunk
 * whose header is wrong (unknown or duplicate column: the message names
 * FIELD.CREATE) is -ERR and nothing is applied; more than
 * SEGDB_MAX_IMPORT_ROWS rows is -LIMIT. A write: -READONLY while the log fails. */
int cmd_import(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
               reply_buf *out);

/* EXPORT [FIELDS f1,f2,...] [CURSOR c] [COUNT n] [WHERE filter]: array
 * [$next-cursor, $csv]; next-cursor "0" = done; the page of CURSOR 0 starts
 * with the header row. COUNT defaults to SEGDB_DEFAULT_EXPORT_COUNT rows,
 * over SEGDB_MAX_EXPORT_COUNT is -LIMIT. */
int cmd_export(server_ctx *srv, client_ctx *c, int argc, const char **argv, const size_t *argvlen,
               reply_buf *out);

#endif /* SEGDB_CMD_CSV_H */

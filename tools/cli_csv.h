/*
 * cli_csv.h — segdb-cli's `import` and `export` subcommands: whole CSV files
 * streamed through the server's IMPORT and EXPORT commands (or the embedded
 * engine's: they only talk to a cli_backend), with a progress bar and an
 * error report. The formats are in docs/import-export.md.
 *
 *   segdb-cli import FILE [--match id|identifier|email|phone] [--create-fields]
 *                         [--errors REPORT.csv] [--chunk-rows N] [--chunk-bytes N]
 *   segdb-cli export [--fields f1,f2,...] [--where FILTER] [--excel]
 *                    [--page-rows N] [-o OUT.csv]         (default: stdout)
 *
 * import reads FILE (or stdin for "-") with the CSV reader of engine/csv.h and
 * cuts it at record boundaries into chunks of --chunk-rows rows (default
 * 5,000) or --chunk-bytes bytes (default 4 MiB), each sent as one IMPORT with
 * the file's header row in front; a reader thread prepares the next chunk
 * while the current one is imported. Lines the server reports (chunk lines)
 * are mapped back to lines of FILE. A record longer than the reader's limit
 * (1 MiB) is rejected by the CLI itself. --create-fields first creates every
 * header column the server doesn't know as a text field (FIELD.CREATE name
 * text). A chunk the server refuses as a whole (a bad header, -READONLY,
 * a lost connection) stops the import: the chunks before it stay imported and
 * the message says how many rows that was.
 *
 * The error report (--errors) is CSV: line,reason,row — the line in FILE, the
 * reason, and the row's original text. Without --errors the first 10
 * rejections are printed on stderr.
 *
 * export pages with EXPORT ... CURSOR c COUNT n until the cursor comes back
 * "0", writing each page as it arrives (memory stays one page on each side).
 * --excel starts the output with a UTF-8 BOM so spreadsheet programs read it
 * as UTF-8.
 *
 * Both draw a progress bar on stderr (rows, rows/s, ETA) only when stderr is
 * a terminal, and end with one summary line on stderr. Exit status: 0 when
 * everything went (import: every row imported), 1 when a row was rejected or
 * something failed, 2 for bad arguments.
 */
#ifndef SEGDB_CLI_CSV_H
#define SEGDB_CLI_CSV_H

#include "cli_backend.h"

/* argv: the arguments after `import` / `export`. Return the exit status. */
int cli_csv_import(cli_backend *b, int argc, char **argv);
int cli_csv_export(cli_backend *b, int argc, char **argv);

#endif /* SEGDB_CLI_CSV_H */

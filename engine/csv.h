/*
 * csv.h — streaming CSV reader and writer (RFC 4180 plus what real exports
 * from Excel, Google Sheets and CRMs contain), used by IMPORT and EXPORT
 * (SPEC section 7, "Import and export").
 *
 * Pure byte processing: no files, no engine state. Errors use segdb_err and
 * the SEGDB_E* codes of segdb.h.
 *
 * Reader
 *   Bytes arrive in chunks of any size (a record, a quoted field, a CRLF or a
 *   UTF-8 character may be split anywhere); csv_reader_feed() calls back once
 *   per complete record, csv_reader_finish() flushes a last record that has
 *   no terminator. The records and line numbers do not depend on how the
 *   input was cut into chunks.
 *
 *   - Records end at LF, CRLF or a lone CR. A blank line (nothing before its
 *     terminator) is skipped, but still counted in line numbers.
 *   - A UTF-8 BOM (EF BB BF) at the very start of the stream is skipped.
 *   - A field that starts with '"' is quoted: inside it, "" is one quote and
 *     delimiters, LF, CR and CRLF are data (kept as written).
 *   - Lenient: a '"' inside an unquoted field (a"b, or a leading space then
 *     '"') is kept as a literal character, like Excel does.
 *   - Line numbers count physical lines (LF, CRLF or lone CR, inside quotes
 *     too), starting at 1 with the first line (the header). A record's line is
 *     the line its first byte is on.
 *   - Empty cells (",,", a trailing ",") are empty fields.
 *
 *   Record errors do not stop the reader: the record is passed to the
 *   callback with error != CSV_REC_OK, a reason, its line and raw bytes, and
 *   parsing goes on with the next record. One reason per record, the first
 *   that applies in this order:
 *     CSV_REC_UNTERMINATED  "unterminated quoted field starting at line N"
 *                           (end of input inside quotes)
 *     CSV_REC_TOO_LONG      "record longer than the maximum of N bytes"
 *                           (raw bytes without terminator > max_record_bytes)
 *     CSV_REC_AFTER_QUOTE   "unexpected character after closing quote at line N"
 *                           ("abc"def; N = the line of that character)
 *     CSV_REC_BAD_UTF8      "invalid UTF-8 in column K"   (K 1-based, first bad column)
 *     CSV_REC_NUL           "NUL byte in column K"
 *   UTF-8 is checked strictly (no overlongs, no surrogates, <= U+10FFFF).
 *
 *   Memory: one record's raw bytes are kept only while it spans chunks, in a
 *   buffer bounded by max_record_bytes; a record complete within a chunk is
 *   parsed in place (fields point into the chunk, or into an internal buffer
 *   when "" had to be unescaped). No allocation per field or per record once
 *   the internal buffers have grown.
 *
 * Writer
 *   csv_write_field() appends one cell to a growable buffer, quoting it when
 *   it contains ',', '"', CR or LF, starts or ends with a space or tab, or
 *   starts with a UTF-8 BOM (so a reader can't take it for the file's BOM);
 *   quotes inside are doubled. With escape_formulas, a cell starting with
 *   '=', '+', '-' or '@' that is not a decimal number (optional sign, digits,
 *   optional fraction, optional exponent: "-12.5", "+84912345678", "1e5")
 *   gets a leading "'" (SPEC 7: spreadsheet formula injection).
 */
#ifndef CSV_H
#define CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segdb.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CSV_DEFAULT_MAX_RECORD_BYTES (1u << 20) /* 1 MiB of raw bytes per record */

typedef struct csv_options {
    char delimiter;          /* 0 = ','; any ASCII byte 0x01-0x7F except '"', CR, LF */
    size_t max_record_bytes; /* 0 = CSV_DEFAULT_MAX_RECORD_BYTES */
} csv_options;

/* Fills the defaults (',' and 1 MiB). */
void csv_options_init(csv_options *o);

typedef enum csv_rec_error {
    CSV_REC_OK = 0,
    CSV_REC_UNTERMINATED,
    CSV_REC_TOO_LONG,
    CSV_REC_AFTER_QUOTE,
    CSV_REC_BAD_UTF8,
    CSV_REC_NUL,
} csv_rec_error;

/* One record as the callback sees it. Every pointer is valid only during the
 * callback; field bytes are not NUL-terminated. */
typedef struct csv_record {
    size_t nfields;             /* >= 1 when error == CSV_REC_OK, 0 otherwise */
    const char *const *field;   /* field[i]: unescaped bytes of column i+1 */
    const size_t *len;          /* len[i]: byte length of field[i] */
    uint64_t line;              /* 1-based physical line the record starts on */
    const char *raw;            /* the record's original bytes, without terminator */
    size_t raw_len;             /* at most max_record_bytes */
    bool raw_truncated;         /* raw holds only the first raw_len bytes (TOO_LONG) */
    csv_rec_error error;        /* CSV_REC_OK, or why the record is rejected */
    const char *reason;         /* NUL-terminated reason text; NULL when CSV_REC_OK */
} csv_record;

/* Called once per record. Return 0 to go on, or a negative SEGDB_E* code
 * (after filling err, which is the err given to feed/finish and may be NULL)
 * to stop: feed/finish then return that code (a positive value is returned
 * as SEGDB_EINVAL) and the reader is stopped for good. */
typedef int (*csv_record_fn)(void *ctx, const csv_record *rec, segdb_err *err);

typedef struct csv_reader csv_reader;

/* New reader (owned by the caller, csv_reader_free()). opts may be NULL for
 * the defaults. NULL on ENOMEM or when opts->delimiter is not allowed. */
csv_reader *csv_reader_create(const csv_options *opts);

/* Parse the next len bytes of the stream (data may be NULL when len is 0),
 * calling cb (may be NULL: records are dropped) for each record completed.
 * Returns 0; SEGDB_ENOMEM (err filled; the reader is stopped); the callback's
 * stop code; or SEGDB_EINVAL when the reader is stopped or already finished.
 * Record errors are not failures: they go to the callback. */
int csv_reader_feed(csv_reader *r, const void *data, size_t len, csv_record_fn cb,
                    void *ctx, segdb_err *err);

/* End of input: pass the last record if it had no terminator (or the
 * unterminated-quote error). Same returns as csv_reader_feed(). Afterwards
 * the reader accepts no more input (feed/finish return SEGDB_EINVAL). */
int csv_reader_finish(csv_reader *r, csv_record_fn cb, void *ctx, segdb_err *err);

/* The physical line the reader is at (1 + line terminators seen so far). */
uint64_t csv_reader_line(const csv_reader *r);

void csv_reader_free(csv_reader *r); /* NULL is a no-op */

/* ---- writer ------------------------------------------------------------- */

/* A growable byte buffer; start it zeroed ({0}). p is not NUL-terminated. */
typedef struct csv_buf {
    char *p;
    size_t len, cap;
} csv_buf;

/* Append one cell (field[0..len), any bytes; field may be NULL when len is 0),
 * quoted and escaped as described above. Returns 0, SEGDB_ENOMEM (b keeps
 * its previous content), or SEGDB_EINVAL when b is NULL or field is NULL with len > 0. */
int csv_write_field(csv_buf *b, const char *field, size_t len, bool escape_formulas);

/* Append a record: the n cells separated by ',' and ended by CRLF. A record of
 * one empty cell is written as "" (a bare empty line would be read as a
 * blank line). n == 0 writes nothing (a record needs at least one field).
 * Returns 0, SEGDB_ENOMEM (b keeps its previous content), or SEGDB_EINVAL
 * when b is NULL, fields/lens are NULL with n > 0, or a field is NULL with
 * a length > 0 (b keeps its previous content). */
int csv_write_record(csv_buf *b, const char *const *fields, const size_t *lens, size_t n,
                     bool escape_formulas);

/* Frees b->p and zeroes *b (b itself is the caller's); NULL is a no-op. */
void csv_buf_free(csv_buf *b);

#ifdef __cplusplus
}
#endif

#endif /* CSV_H */

/*
 * cli_render.h — how segdb-cli shows replies.
 *
 * Two forms, as redis-cli has them:
 *   - formatted (stdout is a terminal): `(integer) 5`, `(nil)`, `(error) ERR
 *     ...`, bulks in double quotes, arrays numbered `1) ...` with nested
 *     arrays indented under their number, `(empty array)`;
 *   - raw (stdout is a pipe or file): integers as plain numbers, bulks and
 *     statuses as their bytes, nil as an empty line, array items one per
 *     line (nested arrays flattened).
 * Deliberate differences from redis-cli's formatted form: valid UTF-8 is
 * shown as text, not as \xHH escapes (Vietnamese names stay readable); a
 * top-level bulk that spans lines (EXPLAIN, INFO) is shown as its text; and
 * FIND ... FIELDS replies become an aligned table whose column widths are
 * the terminal display widths of the cells (code points by
 * utf8proc_charwidth: combining marks of NFD text count 0, wide characters
 * 2). In every formatted form control characters and invalid UTF-8 are
 * escaped, so no reply can move the cursor or send terminal commands.
 */
#ifndef SEGDB_CLI_RENDER_H
#define SEGDB_CLI_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "cli_buf.h"
#include "cli_resp.h"

typedef enum cli_out_mode {
    CLI_OUT_TTY = 0,    /* formatted, for a terminal */
    CLI_OUT_RAW = 1,    /* raw, for pipes and files */
} cli_out_mode;

/* Terminal columns taken by s[0..len), UTF-8 (an invalid byte counts 1, a
 * control character 0: callers escape those first with cli_render_text). */
size_t cli_display_width(const char *s, size_t len);

/* Append s[0..len) made safe for one terminal line: printable UTF-8 as is;
 * \n \r \t \a \b as those escapes; other control bytes and bytes that are
 * not valid UTF-8 as \xHH. quoted = redis-cli's bulk form: inside double
 * quotes, with " and \ escaped too. */
void cli_render_text(cli_buf *out, const char *s, size_t len, bool quoted);

/* Append v in the formatted form, ending with a newline. */
void cli_render_tty(cli_buf *out, const cli_value *v);

/* Append v in the raw form, ending with a newline. */
void cli_render_raw(cli_buf *out, const cli_value *v);

/* Append a FIND ... FIELDS reply as a table: a header row (id, then cols),
 * a rule, one row per contact (nil cells empty), then "(n rows)". Returns
 * false, appending nothing, when v is not an array of arrays of 1 + ncols
 * bulk-or-nil items. */
bool cli_render_table(cli_buf *out, const cli_value *v, const char *const *cols, size_t ncols);

/* The FIELDS list of a FIND command (argv as sent), split on commas and
 * trimmed as the server does. Returns the number of names, 0 when argv is
 * not FIND with FIELDS (or on ENOMEM); *cols is then a malloc'd array of
 * malloc'd names, freed with cli_free_columns. */
size_t cli_find_columns(int argc, const char *const *argv, const size_t *argvlen, char ***cols);
void cli_free_columns(char **cols, size_t n);

/* Append the reply of the command argv in the given mode: formatted mode
 * shows FIND FIELDS as a table and a top-level multi-line bulk as its text
 * (control characters other than newline and tab escaped); otherwise
 * cli_render_tty / cli_render_raw. */
void cli_render_reply(cli_buf *out, const cli_value *v, int argc, const char *const *argv,
                      const size_t *argvlen, cli_out_mode mode);

#endif /* SEGDB_CLI_RENDER_H */

/*
 * cli_edit.h — segdb-cli's interactive line editor on libedit (histedit.h):
 * emacs key bindings (or whatever ~/.editrc says), a history kept in a file,
 * and TAB completion through a callback that returns cli_completion
 * candidates. UTF-8 input (Vietnamese) works when the locale is UTF-8; the
 * caller sets it with setlocale(LC_ALL, "").
 *
 * TAB with one candidate replaces the word by it (plus a space when the
 * candidate is a whole argument); with several, it extends the word to
 * their longest common prefix, or when there is none to add, lists them
 * under the line.
 */
#ifndef SEGDB_CLI_EDIT_H
#define SEGDB_CLI_EDIT_H

#include <stdio.h>

#include "cli_complete.h"

typedef struct cli_editor cli_editor;

/* Fill out with the candidates for line[0..cursor) (see cli_complete). */
typedef void cli_complete_fn(void *ctx, const char *line, size_t cursor, cli_completion *out);

/* An editor reading the terminal on stdin/stdout. histfile NULL = no
 * history file; it is read now and rewritten (mode 0600) after each entry.
 * NULL on failure (not a terminal, ENOMEM). */
cli_editor *cli_editor_create(const char *prog, const char *histfile, cli_complete_fn *fn, void *ctx);
void cli_editor_free(cli_editor *e);               /* NULL is a no-op */

/* The prompt of the following reads (copied). */
void cli_editor_set_prompt(cli_editor *e, const char *prompt);

/* One line, without its newline: malloc'd, owned by the caller. NULL at end
 * of input (Ctrl-D on an empty line) or on a read error. */
char *cli_editor_read(cli_editor *e);

/* Add line to the history and save the file. */
void cli_editor_remember(cli_editor *e, const char *line);

#endif /* SEGDB_CLI_EDIT_H */

/*
 * cli_complete.h — what TAB offers in segdb-cli: the candidates for the word
 * before the cursor, from the line typed so far. Pure text in, names out:
 * the line editor (cli_edit.c) inserts them, tests call it directly.
 *
 * Contexts, in the order they are tried:
 *   - the first word: command names (and the CLI's own help/exit/clear);
 *   - inside a quoted value (city:"Hà N|): nothing;
 *   - inside a filter (after WHERE, or any argument of OVERLAP): after
 *     has: / missing: a field name; after reachable: a channel; after any
 *     other `:`, an operator or a `,` (a value): nothing; otherwise a field
 *     name, AND/OR/NOT, or a term prefix (has: missing: tag: group:
 *     segment: reachable: q:). Quotes around the whole filter argument
 *     (`WHERE "tag:vip AND cit|`) don't hide it;
 *   - after FIELDS (each comma-separated item), SORT, BY, FACET, GET's and
 *     UPSERT's field positions, SET: a field name; after FIELD.CREATE name:
 *     a kind; after SORT field: ASC/DESC;
 *   - elsewhere after the command: the command's option words (WHERE, and
 *     FIND's FIELDS/SORT/LIMIT, SPLIT's RANDOM/BY/SAVE/PERCENT, FACET's TOP).
 * Matching ignores case. Command names and keywords are offered in the case
 * of the typed word's first letter (lower when it is lower, else upper);
 * field names as the server lists them.
 */
#ifndef SEGDB_CLI_COMPLETE_H
#define SEGDB_CLI_COMPLETE_H

#include <stdbool.h>
#include <stddef.h>

/* A list of names (command names, field names). */
typedef struct cli_words {
    char **v;
    size_t n, cap;
} cli_words;

void cli_words_init(cli_words *w);
void cli_words_free(cli_words *w);                        /* frees the names; w may be reused */
int cli_words_add(cli_words *w, const char *s, size_t n);  /* copies s; 0 or -1 on ENOMEM */
bool cli_words_has(const cli_words *w, const char *s);     /* case-insensitive */

typedef struct cli_completion {
    size_t start;       /* byte offset in the line of the word being completed */
    char **matches;     /* full replacement words for line[start..cursor), sorted, unique */
    bool *space;        /* space[i]: matches[i] is a whole argument, a space may follow it */
    size_t n, cap;
} cli_completion;

/* Candidates for the word that ends at line[cursor] (line[0..cursor) is
 * what is left of the cursor). commands and fields may be empty. 0, or -1
 * on ENOMEM (out is then empty). Free with cli_completion_free. */
int cli_complete(const char *line, size_t cursor, const cli_words *commands, const cli_words *fields,
                 cli_completion *out);
void cli_completion_free(cli_completion *c);

/* Length of the longest prefix, compared case-insensitively, shared by
 * every match (0 when there are none). */
size_t cli_completion_common(const cli_completion *c);

#endif /* SEGDB_CLI_COMPLETE_H */

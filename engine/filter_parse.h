/*
 * filter_parse.h — filter text -> syntax tree (AST), with precise errors.
 *
 * The grammar is SPEC section 2:
 *   filter := or ; or := and {OR and} ; and := unary {[AND] unary}
 *   unary  := NOT unary | '(' filter ')' | term
 *   term   := field ':' value | field ':' '(' value {',' value} ')'
 *           | field op value (op: = != < <= > >=) | field '~' value
 *           | has ':' field | missing ':' field
 * This module knows syntax only: it does not know which fields exist or what
 * type a value must have (plan.c binds names and types). Keywords AND/OR/NOT
 * are case-insensitive. Whitespace may surround operators. A bare value runs
 * to the next whitespace, '(' ')' or ','; it may contain ':' (times).
 * Quoted values use ' or "; inside, a backslash escapes the quote and itself.
 *
 * Errors (segdb_err, code SEGDB_EINVAL unless noted) always carry a 1-based
 * character position: "at position 12: ...":
 *   - unbalanced parentheses (where the unmatched '(' opened, or the stray ')')
 *   - a bare word with no field (e.g. the `Nội` of `city:Hà Nội`): suggests
 *     quoting, e.g. `city:"Hà Nội"`
 *   - unterminated quote, missing value after an operator, empty filter,
 *     dangling AND/OR/NOT, empty value list
 *   - invalid UTF-8 ("at byte N", counted from 1) or a NUL byte in the text
 *   - SEGDB_ELIMIT: more than max_bytes of text, more than max_depth levels
 *     (each '(' and each NOT is a level: max_depth levels are fine, one more
 *     is not), more than max_terms terms. max_depth is capped at 1024 whatever
 *     lim says, so no input can exhaust the C stack.
 */
#ifndef FILTER_PARSE_H
#define FILTER_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "segdb.h"

typedef enum fnode_kind { FN_AND, FN_OR, FN_NOT, FN_TERM } fnode_kind;

typedef enum fop {
    FOP_COLON,    /* field:value        (equality; for tags/groups "has") */
    FOP_IN,       /* field:(a,b,c)      (any of) */
    FOP_EQ,       /* field = value */
    FOP_NE,       /* field != value */
    FOP_LT, FOP_LE, FOP_GT, FOP_GE,
    FOP_CONTAINS, /* field ~ value */
    FOP_HAS,      /* has:field      (field holds the named field) */
    FOP_MISSING,  /* missing:field */
} fop;

typedef struct fvalue {
    char *text;      /* NUL-terminated, quotes removed and escapes resolved */
    size_t len;
    bool quoted;
    uint32_t pos;    /* 1-based character position of the value in the filter */
} fvalue;

typedef struct fnode {
    fnode_kind kind;
    uint32_t pos;            /* 1-based character position where the node starts */
    /* FN_AND / FN_OR: kids[0..nkids); FN_NOT: kids[0] */
    struct fnode **kids;
    size_t nkids;
    /* FN_TERM */
    char *field;             /* as written (case kept); for has:/missing: the named field */
    uint32_t field_pos;
    fop op;
    fvalue *values;          /* 1 value, or n for FOP_IN, 0 for HAS/MISSING */
    size_t nvalues;
} fnode;

typedef struct filter_limits {
    uint32_t max_bytes;   /* SEGDB_MAX_FILTER_BYTES */
    uint32_t max_depth;   /* SEGDB_MAX_FILTER_DEPTH */
    uint32_t max_terms;   /* SEGDB_MAX_FILTER_TERMS */
} filter_limits;

/* Parse text[0..len). lim may be NULL for the defaults. On success *out is a
 * tree owned by the caller (free with fnode_free) and 0 is returned; on error
 * *out is NULL, err is filled and SEGDB_EINVAL or SEGDB_ELIMIT returned.
 * AND and OR nodes are flattened (a AND (b AND c) without parens stays one
 * AND node with 3 kids); a single-child AND/OR is replaced by its child. */
int filter_parse(const char *text, size_t len, const filter_limits *lim, fnode **out,
                 segdb_err *err);

void fnode_free(fnode *n);

/* Print the tree back as filter text (fully parenthesized, values quoted when
 * needed) into a malloc'd string: for debugging and tests. */
char *fnode_to_string(const fnode *n);

#endif /* FILTER_PARSE_H */

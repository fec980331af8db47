/*
 * filter_parse.c — filter text -> syntax tree, with errors that say where.
 *
 * A hand-written recursive-descent parser over UTF-8 text (grammar and error
 * classes in filter_parse.h, SPEC sections 2 and 7). There is no separate
 * token stream: what a character means depends on where it is (after `city:`
 * a ':' is part of a time value; at term position it is an operator), so the
 * parser reads characters directly through a cursor that tracks both the byte
 * offset and the 1-based character position every error message reports.
 *
 * Before parsing, the whole text is checked once: byte limit, NUL bytes and
 * strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). After
 * that, every token boundary the parser stops at is an ASCII byte, so
 * snippets of user text quoted in messages are always whole characters.
 *
 * Recursion happens only for '(' groups (parse_unary -> parse_or -> parse_and
 * -> parse_unary); chains of NOT are built in a loop. The depth limit is
 * checked before going one level deeper, and it is capped at
 * FP_DEPTH_CEILING whatever the caller's limits say, so no input can exhaust
 * the C stack (the tree's depth, which fnode_free and fnode_to_string walk
 * recursively, is bounded by the same number).
 *
 * Choices the SPEC leaves open, made here:
 *   - A keyword is a bare run that is exactly AND/OR/NOT (any case). `or:x`
 *     is a term on a field named "or"; `city:or` has the value "or". Right
 *     after an operator *and whitespace*, a keyword is not taken as a value
 *     (`city: AND tag:x` reports the missing value; `city:"and"` is fine).
 *   - The '(' of a value list (`city:(a,b)`) is not a nesting level.
 *   - An IN list is one term, however many values it has.
 *   - Explicit parentheses are kept: `a AND (b AND c)` is AND[a, AND[b, c]];
 *     only a run of operands at one level is flattened into one node.
 *   - "invalid UTF-8 at byte N" counts bytes from 1, like positions.
 */
#include "filter_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb_limits.h"

/* Nesting levels allowed whatever filter_limits says: three C frames per '(' keeps
 * the worst case far below any thread's stack. */
#define FP_DEPTH_CEILING 1024u
/* Characters of user text quoted in one error message snippet. */
#define FP_SNIP_CHARS 48u
#define FP_SNIP_BYTES 256u

/* ---- cursor and parser state ------------------------------------------- */

typedef struct cur {
    size_t b;   /* byte offset into the text */
    uint32_t c; /* 1-based character position of the character starting at b */
} cur;

typedef struct parser {
    const char *s;
    size_t len;
    cur at;
    uint32_t depth, max_depth;
    uint32_t nterms, max_terms;
    const fnode *last_term; /* the term just parsed, for the bare-word hint */
    segdb_err *err;
    int rc;                 /* first error code; 0 while fine */
} parser;

typedef enum kw { KW_NONE, KW_AND, KW_OR, KW_NOT } kw;

/* Where parse_unary was asked for an operand: decides the error when none is there. */
typedef enum ctxkind { AT_TOP, AT_PAREN, AFTER_AND, AFTER_OR, JUXT } ctxkind;
typedef struct ctx {
    ctxkind kind;
    uint32_t pos; /* the '(' for AT_PAREN, the keyword for AFTER_AND/AFTER_OR */
} ctx;

static fnode *parse_or(parser *p, ctx cx);

static void set_err(segdb_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(segdb_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* Records the first error only: later failures on the way out are consequences. */
static void fail(parser *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(parser *p, int code, const char *fmt, ...)
{
    if (p->rc)
        return;
    p->rc = code;
    if (!p->err)
        return;
    p->err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
}

static void fail_oom(parser *p)
{
    fail(p, SEGDB_ENOMEM, "out of memory while parsing the filter");
}

static bool is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A bare value (and a bare word) ends at whitespace, '(', ')' or ','. */
static bool is_stop(int c)
{
    return is_ws(c) || c == '(' || c == ')' || c == ',';
}

static bool is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_op_char(int c)
{
    return c == ':' || c == '=' || c == '!' || c == '<' || c == '>' || c == '~';
}

static int peek_at(const parser *p, size_t b)
{
    return b < p->len ? (unsigned char)p->s[b] : -1;
}

static int peekc(const parser *p)
{
    return peek_at(p, p->at.b);
}

static void adv(parser *p)
{
    if (p->at.b >= p->len)
        return;
    if (((unsigned char)p->s[p->at.b] & 0xC0) != 0x80)
        p->at.c++;
    p->at.b++;
}

static void adv_to(parser *p, size_t b)
{
    while (p->at.b < b)
        adv(p);
}

static void skip_ws(parser *p)
{
    while (is_ws(peekc(p)))
        adv(p);
}

static size_t bare_end(const parser *p, size_t b)
{
    while (b < p->len && !is_stop((unsigned char)p->s[b]))
        b++;
    return b;
}

/* ASCII case-insensitive: does s[0..n) spell lit? */
static bool ieq(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++) {
        int a = (unsigned char)s[i], b = (unsigned char)lit[i];
        if (a >= 'A' && a <= 'Z')
            a += 'a' - 'A';
        if (a != b)
            return false;
    }
    return i == n && lit[i] == '\0';
}

/* The keyword whose bare run starts at the cursor, if any. */
static kw peek_kw(const parser *p)
{
    size_t b = p->at.b, n = bare_end(p, b) - b;
    if (ieq(p->s + b, n, "and"))
        return KW_AND;
    if (ieq(p->s + b, n, "or"))
        return KW_OR;
    if (ieq(p->s + b, n, "not"))
        return KW_NOT;
    return KW_NONE;
}

static const char *kw_name(kw k)
{
    return k == KW_AND ? "AND" : k == KW_OR ? "OR" : "NOT";
}

#define SN_ESC 1u /* put a backslash before '"' and '\\' (text for inside "...") */
#define SN_WS 2u  /* show each run of whitespace as one space (else as '?') */

/* Copies at most FP_SNIP_CHARS characters of s[0..len) into dst (cap bytes), made safe
 * for a one-line error message: control characters become '?' (see the flags). A cut
 * snippet ends in "...". s is valid UTF-8, so whole characters are copied. */
static void snip(char *dst, size_t cap, const char *s, size_t len, unsigned flags)
{
    size_t o = 0, chars = 0, i = 0;
    while (i < len && chars < FP_SNIP_CHARS) {
        unsigned char ch = (unsigned char)s[i];
        size_t n = 1;
        if (ch >= 0xF0)
            n = 4;
        else if (ch >= 0xE0)
            n = 3;
        else if (ch >= 0xC0)
            n = 2;
        if (n > len - i)
            n = len - i;
        if (o + n + 2 + 4 >= cap)
            break;
        if (n == 1 && (flags & SN_WS) && is_ws(ch)) {
            if (o == 0 || dst[o - 1] != ' ')
                dst[o++] = ' ';
        } else if (n == 1 && (ch < 0x20 || ch == 0x7F)) {
            dst[o++] = '?';
        } else if (n == 1 && (flags & SN_ESC) && (ch == '"' || ch == '\\')) {
            dst[o++] = '\\';
            dst[o++] = (char)ch;
        } else {
            memcpy(dst + o, s + i, n);
            o += n;
        }
        i += n;
        chars++;
    }
    if (i < len && o + 4 <= cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o < cap ? o : cap - 1] = '\0';
}

static const char *op_str(fop op)
{
    switch (op) {
    case FOP_COLON: return ":";
    case FOP_IN: return ":";
    case FOP_EQ: return "=";
    case FOP_NE: return "!=";
    case FOP_LT: return "<";
    case FOP_LE: return "<=";
    case FOP_GT: return ">";
    case FOP_GE: return ">=";
    case FOP_CONTAINS: return "~";
    case FOP_HAS: return "has:";
    case FOP_MISSING: return "missing:";
    }
    return "?";
}

/* ---- up-front checks ------------------------------------------------------ */

/* Strict UTF-8 and no NUL. Returns 0, or fills err and returns SEGDB_EINVAL. */
static int check_text(const char *s, size_t len, segdb_err *err)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    uint32_t chars = 0;
    while (i < len) {
        unsigned char c = u[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c == 0) {
            set_err(err, SEGDB_EINVAL, "NUL byte at position %u", chars + 1);
            return SEGDB_EINVAL;
        }
        if (c < 0x80) {
            n = 1;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* past U+10FFFF */
        } else {
            goto bad;
        }
        if (n > len - i)
            goto bad;
        for (size_t k = 1; k < n; k++) {
            unsigned char lo_k = k == 1 ? lo : 0x80, hi_k = k == 1 ? hi : 0xBF;
            if (u[i + k] < lo_k || u[i + k] > hi_k)
                goto bad;
        }
        i += n;
        chars++;
        continue;
    bad:
        set_err(err, SEGDB_EINVAL, "invalid UTF-8 at byte %zu", i + 1);
        return SEGDB_EINVAL;
    }
    return 0;
}

/* ---- nodes --------------------------------------------------------------- */

void fnode_free(fnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        fnode_free(n->kids[i]);
    free(n->kids);
    free(n->field);
    for (size_t i = 0; i < n->nvalues; i++)
        free(n->values[i].text);
    free(n->values);
    free(n);
}

static char *memdup0(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

typedef struct kidvec {
    fnode **v;
    size_t n, cap;
} kidvec;

static bool kid_push(parser *p, kidvec *kv, fnode *k)
{
    if (kv->n == kv->cap) {
        size_t cap = kv->cap ? kv->cap * 2 : 4;
        fnode **v = realloc(kv->v, cap * sizeof *v);
        if (!v) {
            fail_oom(p);
            return false;
        }
        kv->v = v;
        kv->cap = cap;
    }
    kv->v[kv->n++] = k;
    return true;
}

static void kid_drop(kidvec *kv)
{
    for (size_t i = 0; i < kv->n; i++)
        fnode_free(kv->v[i]);
    free(kv->v);
    kv->v = NULL;
    kv->n = kv->cap = 0;
}

/* An AND/OR node owning kv's kids, or the only kid itself. NULL (kids freed) on ENOMEM. */
static fnode *kid_join(parser *p, kidvec *kv, fnode_kind kind)
{
    if (kv->n == 1) {
        fnode *only = kv->v[0];
        free(kv->v);
        return only;
    }
    fnode *n = calloc(1, sizeof *n);
    if (!n) {
        fail_oom(p);
        kid_drop(kv);
        return NULL;
    }
    n->kind = kind;
    n->pos = kv->v[0]->pos;
    n->kids = kv->v;
    n->nkids = kv->n;
    return n;
}

/* ---- errors that need some composing -------------------------------------- */

/* True when the bare run starting at b is a plain word that could continue a value
 * with spaces (`Hà Long Bay`): not a keyword, no operator, no quote. */
static bool plain_word(const parser *p, size_t b, size_t e)
{
    if (e == b)
        return false;
    if (ieq(p->s + b, e - b, "and") || ieq(p->s + b, e - b, "or") ||
        ieq(p->s + b, e - b, "not"))
        return false;
    for (size_t i = b; i < e; i++) {
        int c = (unsigned char)p->s[i];
        if (is_op_char(c) || c == '"' || c == '\'')
            return false;
    }
    return true;
}

/* `bare word "Nội" at position 9 has no field; ...`, with a suggestion: when the term just
 * before had a bare value, join them (and any plain words after) into one quoted value. */
static void fail_bare_word(parser *p, cur start, size_t end)
{
    char word[FP_SNIP_BYTES];
    snip(word, sizeof word, p->s + start.b, end - start.b, SN_ESC);
    const fnode *t = p->last_term;
    if (t && t->kind == FN_TERM && t->nvalues == 1 && !t->values[0].quoted &&
        t->op != FOP_IN) {
        /* the words the user most likely meant as one value */
        size_t e = end;
        for (;;) {
            size_t b = e;
            while (b < p->len && is_ws((unsigned char)p->s[b]))
                b++;
            size_t we = bare_end(p, b);
            if (!plain_word(p, b, we))
                break;
            e = we;
        }
        char field[FP_SNIP_BYTES], prev[FP_SNIP_BYTES], rest[FP_SNIP_BYTES];
        snip(field, sizeof field, t->field, strlen(t->field), 0);
        snip(prev, sizeof prev, t->values[0].text, t->values[0].len, SN_ESC);
        snip(rest, sizeof rest, p->s + start.b, e - start.b, SN_ESC | SN_WS);
        fail(p, SEGDB_EINVAL,
             "bare word \"%s\" at position %u has no field; quote values with spaces: "
             "%s%s\"%s %s\"",
             word, start.c, field, op_str(t->op), prev, rest);
        return;
    }
    fail(p, SEGDB_EINVAL,
         "bare word \"%s\" at position %u has no field; write it as field:\"%s\", or "
         "q:\"%s\" to search names, emails and phones",
         word, start.c, word, word);
}

/* ---- values ---------------------------------------------------------------- */

/* A quoted or bare value at the cursor (the caller saw that one starts here). */
static bool parse_value(parser *p, fvalue *out)
{
    cur start = p->at;
    int q = peekc(p);
    memset(out, 0, sizeof *out);
    out->pos = start.c;
    if (q == '"' || q == '\'') {
        size_t b = start.b + 1, n = 0;
        for (;;) {
            if (b >= p->len) {
                fail(p, SEGDB_EINVAL, "unterminated quote starting at position %u", start.c);
                return false;
            }
            int c = (unsigned char)p->s[b];
            if (c == '\\' && b + 1 < p->len &&
                ((unsigned char)p->s[b + 1] == q || p->s[b + 1] == '\\')) {
                b += 2;
                n++;
                continue;
            }
            if (c == q)
                break;
            b++;
            n++;
        }
        char *t = malloc(n + 1);
        if (!t) {
            fail_oom(p);
            return false;
        }
        size_t o = 0;
        for (size_t i = start.b + 1; i < b;) {
            if (p->s[i] == '\\' && i + 1 < b &&
                ((unsigned char)p->s[i + 1] == q || p->s[i + 1] == '\\')) {
                t[o++] = p->s[i + 1];
                i += 2;
            } else {
                t[o++] = p->s[i++];
            }
        }
        t[o] = '\0';
        out->text = t;
        out->len = o;
        out->quoted = true;
        adv_to(p, b + 1);
        return true;
    }
    size_t e = bare_end(p, start.b);
    out->text = memdup0(p->s + start.b, e - start.b);
    if (!out->text) {
        fail_oom(p);
        return false;
    }
    out->len = e - start.b;
    adv_to(p, e);
    return true;
}

static void values_free(fvalue *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
}

/* field ':' '(' v {',' v} ')' with the cursor on '('. */
static bool parse_value_list(parser *p, const char *field, fvalue **out, size_t *nout)
{
    cur lp = p->at;
    fvalue *v = NULL;
    size_t n = 0, cap = 0;
    adv(p);
    skip_ws(p);
    if (peekc(p) == ')') {
        fail(p, SEGDB_EINVAL, "empty value list at position %u (in %.64s:())", lp.c, field);
        return false;
    }
    for (;;) {
        skip_ws(p);
        int c = peekc(p);
        if (c < 0) {
            fail(p, SEGDB_EINVAL,
                 "syntax error at position %u: unbalanced '(' opened here has no matching ')'",
                 lp.c);
            goto fail;
        }
        if (c == ',' || c == ')' || c == '(') {
            fail(p, SEGDB_EINVAL, "missing value in the list of %.64s: at position %u", field,
                 p->at.c);
            goto fail;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            fvalue *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                fail_oom(p);
                goto fail;
            }
            v = nv;
            cap = ncap;
        }
        if (!parse_value(p, &v[n]))
            goto fail;
        n++;
        cur after = p->at;
        skip_ws(p);
        c = peekc(p);
        if (c == ',') {
            adv(p);
            continue;
        }
        if (c == ')') {
            adv(p);
            break;
        }
        if (c < 0) {
            fail(p, SEGDB_EINVAL,
                 "syntax error at position %u: unbalanced '(' opened here has no matching ')'",
                 lp.c);
            goto fail;
        }
        if (after.b != p->at.b && !v[n - 1].quoted && c != '"' && c != '\'' && c != '(') {
            /* `city:(Hà Nội, Huế)`: a value with spaces */
            char prev[FP_SNIP_BYTES], word[FP_SNIP_BYTES];
            size_t e = bare_end(p, p->at.b);
            snip(prev, sizeof prev, v[n - 1].text, v[n - 1].len, SN_ESC);
            snip(word, sizeof word, p->s + p->at.b, e - p->at.b, SN_ESC);
            fail(p, SEGDB_EINVAL,
                 "expected ',' or ')' at position %u in the list of %.64s:; separate values "
                 "with ',' and quote values with spaces: \"%s %s\"",
                 p->at.c, field, prev, word);
            goto fail;
        }
        fail(p, SEGDB_EINVAL, "expected ',' or ')' at position %u in the list of %.64s:",
             p->at.c, field);
        goto fail;
    }
    *out = v;
    *nout = n;
    return true;
fail:
    values_free(v, n);
    return false;
}

/* ---- terms ------------------------------------------------------------------ */

static fnode *new_term(parser *p, const char *field, size_t field_len, uint32_t pos,
                       uint32_t field_pos, fop op)
{
    fnode *n = calloc(1, sizeof *n);
    if (!n) {
        fail_oom(p);
        return NULL;
    }
    n->kind = FN_TERM;
    n->pos = pos;
    n->field_pos = field_pos;
    n->op = op;
    n->field = memdup0(field, field_len);
    if (!n->field) {
        free(n);
        fail_oom(p);
        return NULL;
    }
    return n;
}

/* What to say when a term starts with something that is not a field name. */
static void fail_no_field(parser *p, cur start)
{
    int c = peekc(p);
    size_t e = bare_end(p, start.b);
    const char *w = p->s + start.b;
    size_t wn = e - start.b;
    if (c == '"' || c == '\'') {
        fvalue v;
        if (!parse_value(p, &v))
            return; /* unterminated quote, already said */
        char t[FP_SNIP_BYTES];
        snip(t, sizeof t, v.text, v.len, SN_ESC);
        free(v.text);
        fail(p, SEGDB_EINVAL,
             "quoted value \"%s\" at position %u has no field; write it as field:\"%s\", or "
             "q:\"%s\" to search names, emails and phones",
             t, start.c, t, t);
        return;
    }
    if ((wn == 2 && memcmp(w, "&&", 2) == 0) || (wn == 1 && w[0] == '&')) {
        fail(p, SEGDB_EINVAL, "syntax error at position %u: '%.*s' is not an operator; use AND",
             start.c, (int)wn, w);
        return;
    }
    if ((wn == 2 && memcmp(w, "||", 2) == 0) || (wn == 1 && w[0] == '|')) {
        fail(p, SEGDB_EINVAL, "syntax error at position %u: '%.*s' is not an operator; use OR",
             start.c, (int)wn, w);
        return;
    }
    if (c == '!' && peek_at(p, start.b + 1) != '=') {
        fail(p, SEGDB_EINVAL, "syntax error at position %u: use NOT instead of '!'", start.c);
        return;
    }
    if (is_op_char(c)) {
        int c2 = peek_at(p, start.b + 1);
        int two = c2 == '=' && (c == '!' || c == '<' || c == '>');
        fail(p, SEGDB_EINVAL, "syntax error at position %u: missing field name before '%.*s'",
             start.c, two ? 2 : 1, w);
        return;
    }
    /* `tên:x`, `city.name:x`: looks like a field, isn't a valid name */
    if (!(c >= '0' && c <= '9') && c != '-' && c != '+' && c != '.') {
        for (size_t i = 1; i < wn; i++) {
            if (is_op_char((unsigned char)w[i])) {
                char name[FP_SNIP_BYTES];
                snip(name, sizeof name, w, i, SN_ESC);
                fail(p, SEGDB_EINVAL,
                     "invalid field name \"%s\" at position %u: field names are ASCII "
                     "letters, digits and '_', starting with a letter or '_'",
                     name, start.c);
                return;
            }
        }
    }
    fail_bare_word(p, start, e);
}

/* has:field / missing:field, the cursor after the ':'. */
static fnode *parse_presence(parser *p, cur start, fop op)
{
    const char *what = op == FOP_HAS ? "has:" : "missing:";
    cur after_op = p->at;
    skip_ws(p);
    cur f = p->at;
    size_t e = bare_end(p, f.b);
    if (e == f.b) {
        fail(p, SEGDB_EINVAL, "missing field name after '%s' at position %u", what,
             after_op.c);
        return NULL;
    }
    bool ok = is_ident_start((unsigned char)p->s[f.b]);
    for (size_t i = f.b; ok && i < e; i++)
        ok = is_ident((unsigned char)p->s[i]);
    if (!ok) {
        char t[FP_SNIP_BYTES];
        snip(t, sizeof t, p->s + f.b, e - f.b, SN_ESC);
        fail(p, SEGDB_EINVAL,
             "expected a field name after '%s' at position %u, not \"%s\" (e.g. %sphone)", what,
             f.c, t, what);
        return NULL;
    }
    fnode *n = new_term(p, p->s + f.b, e - f.b, start.c, f.c, op);
    if (!n)
        return NULL;
    adv_to(p, e);
    return n;
}

static fnode *parse_term(parser *p)
{
    cur start = p->at;
    if (p->nterms >= p->max_terms) {
        fail(p, SEGDB_ELIMIT, "filter has more than %u terms (term %u is at position %u)",
             p->max_terms, p->nterms + 1, start.c);
        return NULL;
    }
    p->nterms++;

    size_t b = start.b;
    if (is_ident_start(peek_at(p, b))) {
        while (is_ident(peek_at(p, b)))
            b++;
    }
    if (b == start.b) {
        fail_no_field(p, start);
        return NULL;
    }
    const char *field = p->s + start.b;
    size_t field_len = b - start.b;
    adv_to(p, b);
    skip_ws(p);
    int c = peekc(p), c2 = peek_at(p, p->at.b + 1);
    fop op;
    size_t oplen = 1;
    switch (c) {
    case ':': op = FOP_COLON; break;
    case '=': op = FOP_EQ; break;
    case '~': op = FOP_CONTAINS; break;
    case '<': op = c2 == '=' ? FOP_LE : FOP_LT; oplen = c2 == '=' ? 2 : 1; break;
    case '>': op = c2 == '=' ? FOP_GE : FOP_GT; oplen = c2 == '=' ? 2 : 1; break;
    case '!':
        if (c2 == '=') {
            op = FOP_NE;
            oplen = 2;
            break;
        }
        fail(p, SEGDB_EINVAL,
             "syntax error at position %u: '!' must be followed by '=' (%.*s != value)",
             p->at.c, (int)(field_len > 64 ? 64 : field_len), field);
        return NULL;
    default:
        p->at = start;
        fail_no_field(p, start);
        return NULL;
    }
    adv_to(p, p->at.b + oplen);

    if (op == FOP_COLON && ieq(field, field_len, "has"))
        return parse_presence(p, start, FOP_HAS);
    if (op == FOP_COLON && ieq(field, field_len, "missing"))
        return parse_presence(p, start, FOP_MISSING);

    cur op_end = p->at;
    skip_ws(p);
    c = peekc(p);
    if (c < 0 || c == ')' || c == ',' || (c == '(' && op != FOP_COLON) ||
        (p->at.b != op_end.b && peek_kw(p) != KW_NONE)) {
        fail(p, SEGDB_EINVAL, "missing value after '%.*s%s' at position %u",
             (int)(field_len > 64 ? 64 : field_len), field, op_str(op), op_end.c);
        return NULL;
    }
    fnode *n = new_term(p, field, field_len, start.c, start.c, op);
    if (!n)
        return NULL;
    if (c == '(') {
        n->op = FOP_IN;
        if (!parse_value_list(p, n->field, &n->values, &n->nvalues)) {
            fnode_free(n);
            return NULL;
        }
    } else {
        n->values = calloc(1, sizeof *n->values);
        if (!n->values) {
            fail_oom(p);
            fnode_free(n);
            return NULL;
        }
        if (!parse_value(p, &n->values[0])) {
            fnode_free(n);
            return NULL;
        }
        n->nvalues = 1;
    }
    return n;
}

/* ---- NOT, parentheses, AND, OR -------------------------------------------------- */

/* Is there an operand at the cursor? If not, say why, given where we are. */
static bool operand_here(parser *p, ctx cx)
{
    int c = peekc(p);
    kw k = c >= 0 ? peek_kw(p) : KW_NONE;
    bool none = c < 0 || c == ')' || c == ',' || k == KW_AND || k == KW_OR;
    if (!none)
        return true;
    switch (cx.kind) {
    case AFTER_AND:
    case AFTER_OR:
        fail(p, SEGDB_EINVAL, "dangling %s at position %u: no term follows it",
             cx.kind == AFTER_AND ? "AND" : "OR", cx.pos);
        return false;
    case AT_PAREN:
        if (c < 0)
            fail(p, SEGDB_EINVAL,
                 "syntax error at position %u: unbalanced '(' opened here has no matching ')'",
                 cx.pos);
        else if (c == ')')
            fail(p, SEGDB_EINVAL, "syntax error at position %u: empty parentheses", cx.pos);
        break;
    case AT_TOP:
        if (c < 0)
            fail(p, SEGDB_EINVAL, "empty filter");
        else if (c == ')')
            fail(p, SEGDB_EINVAL,
                 "syntax error at position %u: unexpected ')' with no matching '('", p->at.c);
        break;
    case JUXT:
        break;
    }
    if (k == KW_AND || k == KW_OR)
        fail(p, SEGDB_EINVAL, "dangling %s at position %u: no term comes before it",
             kw_name(k), p->at.c);
    else if (c == ',')
        fail(p, SEGDB_EINVAL,
             "syntax error at position %u: unexpected ',' (',' separates values in "
             "field:(a,b))",
             p->at.c);
    else
        fail(p, SEGDB_EINVAL, "syntax error at position %u: expected a term", p->at.c);
    return false;
}

static bool enter_level(parser *p, uint32_t pos)
{
    if (p->depth >= p->max_depth) {
        fail(p, SEGDB_ELIMIT, "filter nests deeper than %u levels at position %u",
             p->max_depth, pos);
        return false;
    }
    p->depth++;
    return true;
}

/* '(' filter ')' with the cursor on '('. */
static fnode *parse_group(parser *p)
{
    cur lp = p->at;
    if (!enter_level(p, lp.c))
        return NULL;
    adv(p);
    p->last_term = NULL;
    fnode *inner = parse_or(p, (ctx){AT_PAREN, lp.c});
    p->depth--;
    if (!inner)
        return NULL;
    skip_ws(p);
    int c = peekc(p);
    if (c == ')') {
        adv(p);
        p->last_term = NULL;
        return inner;
    }
    /* parse_or stops only at the end or at ')'; anything else would be a parser bug */
    if (c < 0)
        fail(p, SEGDB_EINVAL,
             "syntax error at position %u: unbalanced '(' opened here has no matching ')'",
             lp.c);
    else
        fail(p, SEGDB_EINVAL, "syntax error at position %u: expected ')'", p->at.c);
    fnode_free(inner);
    return NULL;
}

static fnode *parse_unary(parser *p, ctx cx)
{
    skip_ws(p);
    if (!operand_here(p, cx))
        return NULL;
    /* NOT NOT ... as a loop: each NOT node's only kid slot is filled by the next */
    fnode *root = NULL, **slot = &root;
    uint32_t levels = 0;
    while (peek_kw(p) == KW_NOT) {
        cur at = p->at;
        if (!enter_level(p, at.c))
            goto fail;
        levels++;
        fnode *n = calloc(1, sizeof *n);
        if (n)
            n->kids = calloc(1, sizeof *n->kids);
        if (!n || !n->kids) {
            free(n);
            fail_oom(p);
            goto fail;
        }
        n->kind = FN_NOT;
        n->pos = at.c;
        n->nkids = 1;
        *slot = n;
        slot = &n->kids[0];
        adv_to(p, at.b + 3);
        p->last_term = NULL;
        skip_ws(p);
        int c = peekc(p);
        kw k = c >= 0 ? peek_kw(p) : KW_NONE;
        if (c < 0 || c == ')' || c == ',' || k == KW_AND || k == KW_OR) {
            fail(p, SEGDB_EINVAL, "expected a term after NOT at position %u", at.c);
            goto fail;
        }
    }
    fnode *operand = peekc(p) == '(' ? parse_group(p) : parse_term(p);
    if (!operand)
        goto fail;
    if (operand->kind == FN_TERM)
        p->last_term = operand;
    *slot = operand;
    p->depth -= levels;
    return root;
fail:
    p->depth -= levels;
    fnode_free(root);
    return NULL;
}

static fnode *parse_and(parser *p, ctx cx)
{
    kidvec kv = {0};
    fnode *k = parse_unary(p, cx);
    if (!k)
        return NULL;
    if (!kid_push(p, &kv, k)) {
        fnode_free(k);
        return NULL;
    }
    for (;;) {
        skip_ws(p);
        int c = peekc(p);
        if (c < 0 || c == ')')
            break;
        kw w = peek_kw(p);
        if (w == KW_OR)
            break;
        if (w == KW_AND) {
            uint32_t pos = p->at.c;
            adv_to(p, p->at.b + 3);
            p->last_term = NULL;
            k = parse_unary(p, (ctx){AFTER_AND, pos});
        } else {
            k = parse_unary(p, (ctx){JUXT, 0});
        }
        if (!k || !kid_push(p, &kv, k)) {
            fnode_free(k);
            kid_drop(&kv);
            return NULL;
        }
    }
    return kid_join(p, &kv, FN_AND);
}

static fnode *parse_or(parser *p, ctx cx)
{
    kidvec kv = {0};
    fnode *k = parse_and(p, cx);
    if (!k)
        return NULL;
    if (!kid_push(p, &kv, k)) {
        fnode_free(k);
        return NULL;
    }
    for (;;) {
        skip_ws(p);
        if (peekc(p) < 0 || peek_kw(p) != KW_OR)
            break;
        uint32_t pos = p->at.c;
        adv_to(p, p->at.b + 2);
        p->last_term = NULL;
        k = parse_and(p, (ctx){AFTER_OR, pos});
        if (!k || !kid_push(p, &kv, k)) {
            fnode_free(k);
            kid_drop(&kv);
            return NULL;
        }
    }
    return kid_join(p, &kv, FN_OR);
}

int filter_parse(const char *text, size_t len, const filter_limits *lim, fnode **out,
                 segdb_err *err)
{
    filter_limits def = {SEGDB_MAX_FILTER_BYTES, SEGDB_MAX_FILTER_DEPTH,
                         SEGDB_MAX_FILTER_TERMS};
    if (!lim)
        lim = &def;
    if (out)
        *out = NULL;
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
    if (!out || (!text && len)) {
        set_err(err, SEGDB_EINVAL, "no filter text");
        return SEGDB_EINVAL;
    }
    if (len > lim->max_bytes) {
        set_err(err, SEGDB_ELIMIT, "filter is %zu bytes; the limit is %u bytes", len,
                lim->max_bytes);
        return SEGDB_ELIMIT;
    }
    int rc = check_text(text, len, err);
    if (rc)
        return rc;

    parser p = {
        .s = text ? text : "",
        .len = len,
        .at = {0, 1},
        .max_depth = lim->max_depth < FP_DEPTH_CEILING ? lim->max_depth : FP_DEPTH_CEILING,
        .max_terms = lim->max_terms,
        .err = err,
    };
    skip_ws(&p);
    if (peekc(&p) < 0) {
        set_err(err, SEGDB_EINVAL, "empty filter");
        return SEGDB_EINVAL;
    }
    fnode *root = parse_or(&p, (ctx){AT_TOP, 0});
    if (root) {
        skip_ws(&p);
        int c = peekc(&p);
        if (c == ')')
            fail(&p, SEGDB_EINVAL,
                 "syntax error at position %u: unexpected ')' with no matching '('", p.at.c);
        else if (c >= 0) /* parse_or stops only at the end or at ')' */
            fail(&p, SEGDB_EINVAL, "syntax error at position %u: unexpected text", p.at.c);
    }
    if (p.rc) {
        fnode_free(root);
        return p.rc;
    }
    *out = root;
    return 0;
}

/* ---- printing ---------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *sb, const char *s, size_t n)
{
    if (sb->oom)
        return;
    if (sb->n + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 64;
        while (cap < sb->n + n + 1)
            cap *= 2;
        char *q = realloc(sb->p, cap);
        if (!q) {
            sb->oom = true;
            return;
        }
        sb->p = q;
        sb->cap = cap;
    }
    memcpy(sb->p + sb->n, s, n);
    sb->n += n;
    sb->p[sb->n] = '\0';
}

static void sb_str(sbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

/* Quote when the value was quoted, or when it would not read back as the same bare value. */
static void print_value(sbuf *sb, const fvalue *v)
{
    bool quote = v->quoted || v->len == 0 || v->text[0] == '"' || v->text[0] == '\'' ||
                 is_op_char((unsigned char)v->text[0]);
    for (size_t i = 0; !quote && i < v->len; i++)
        quote = is_stop((unsigned char)v->text[i]);
    if (!quote) {
        sb_add(sb, v->text, v->len);
        return;
    }
    sb_add(sb, "\"", 1);
    size_t from = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->text[i] == '"' || v->text[i] == '\\') {
            sb_add(sb, v->text + from, i - from);
            sb_add(sb, "\\", 1);
            from = i;
        }
    }
    sb_add(sb, v->text + from, v->len - from);
    sb_add(sb, "\"", 1);
}

static void print_node(sbuf *sb, const fnode *n)
{
    if (!n) {
        sb_str(sb, "?");
        return;
    }
    switch (n->kind) {
    case FN_AND:
    case FN_OR:
        sb_str(sb, "(");
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                sb_str(sb, n->kind == FN_AND ? " AND " : " OR ");
            print_node(sb, n->kids[i]);
        }
        sb_str(sb, ")");
        return;
    case FN_NOT:
        sb_str(sb, "NOT ");
        print_node(sb, n->nkids ? n->kids[0] : NULL);
        return;
    case FN_TERM:
        break;
    }
    if (n->op == FOP_HAS || n->op == FOP_MISSING) {
        sb_str(sb, op_str(n->op));
        sb_str(sb, n->field ? n->field : "");
        return;
    }
    sb_str(sb, n->field ? n->field : "");
    sb_str(sb, op_str(n->op));
    if (n->op == FOP_IN) {
        sb_str(sb, "(");
        for (size_t i = 0; i < n->nvalues; i++) {
            if (i)
                sb_str(sb, ",");
            print_value(sb, &n->values[i]);
        }
        sb_str(sb, ")");
        return;
    }
    if (n->nvalues)
        print_value(sb, &n->values[0]);
}

char *fnode_to_string(const fnode *n)
{
    sbuf sb = {0};
    if (n)
        print_node(&sb, n);
    else
        sb_add(&sb, "", 0);
    if (sb.oom) {
        free(sb.p);
        return NULL;
    }
    return sb.p;
}

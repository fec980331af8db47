/*
 * cli_complete.c — TAB completion candidates for segdb-cli (see
 * cli_complete.h).
 *
 * The line left of the cursor is read as a list of words: split on
 * whitespace, with the quotes of a quoted argument dropped (so a filter
 * typed as one quoted argument reads like one typed as several words) and
 * quoted values (after `:`, an operator, `(` or `,`, or inside a word) kept
 * whole. The word being completed is the run of name characters (letters,
 * digits, `_`, `.`) that ends at the cursor; the character before it, in
 * its argument, tells a field name position from a value position.
 */
#include "cli_complete.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_buf.h"

void cli_words_init(cli_words *w) { memset(w, 0, sizeof(*w)); }

void cli_words_free(cli_words *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    memset(w, 0, sizeof(*w));
}

int cli_words_add(cli_words *w, const char *s, size_t n)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 32;
        char **v = realloc(w->v, cap * sizeof(*v));
        if (!v)
            return -1;
        w->v = v;
        w->cap = cap;
    }
    char *c = strndup(s, n);
    if (!c)
        return -1;
    w->v[w->n++] = c;
    return 0;
}

bool cli_words_has(const cli_words *w, const char *s)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcasecmp(w->v[i], s) == 0)
            return true;
    return false;
}

void cli_completion_free(cli_completion *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->matches[i]);
    free(c->matches);
    free(c->space);
    memset(c, 0, sizeof(*c));
}

size_t cli_completion_common(const cli_completion *c)
{
    if (c->n == 0)
        return 0;
    size_t l = strlen(c->matches[0]);
    for (size_t i = 1; i < c->n; i++) {
        size_t k = 0;
        while (k < l && c->matches[i][k] &&
               tolower((unsigned char)c->matches[i][k]) == tolower((unsigned char)c->matches[0][k]))
            k++;
        l = k;
    }
    return l;
}

static bool name_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.';
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

/* The line left of the cursor as words (see the file comment). */
typedef struct scan {
    cli_words words;     /* complete words before the current one */
    cli_buf cur;         /* the current, unfinished word */
    bool in_value_quote; /* the cursor is inside a quoted value */
    bool oom;
} scan;

static void scan_line(scan *sc, const char *line, size_t cursor)
{
    char arg_quote = 0, val_quote = 0;
    for (size_t i = 0; i < cursor; i++) {
        char ch = line[i];
        if (val_quote) {
            if (ch == '\\' && i + 1 < cursor) {
                cli_buf_addc(&sc->cur, ch);
                cli_buf_addc(&sc->cur, line[++i]);
                continue;
            }
            cli_buf_addc(&sc->cur, ch);
            if (ch == val_quote)
                val_quote = 0;
            continue;
        }
        /* inside a double-quoted argument, \" is a quote of the filter text */
        if (arg_quote == '"' && ch == '\\' && i + 1 < cursor) {
            ch = line[++i];
            if (ch != '"' && ch != '\\') {
                cli_buf_addc(&sc->cur, '\\');
                cli_buf_addc(&sc->cur, ch);
                continue;
            }
            if (ch == '\\') {
                cli_buf_addc(&sc->cur, ch);
                continue;
            }
            /* an escaped quote starts a value quote below */
        } else if (arg_quote && ch == arg_quote) {
            arg_quote = 0;
            continue;
        }
        if (ch == '"' || ch == '\'') {
            bool at_word_start = sc->cur.len == 0;
            if (at_word_start && !arg_quote && (i == 0 || is_space(line[i - 1]))) {
                arg_quote = ch;
                continue;
            }
            val_quote = ch;
            cli_buf_addc(&sc->cur, ch);
            continue;
        }
        if (is_space(ch)) {
            if (sc->cur.len) {
                if (cli_words_add(&sc->words, sc->cur.p, sc->cur.len) < 0)
                    sc->oom = true;
                cli_buf_reset(&sc->cur);
            }
            continue;
        }
        cli_buf_addc(&sc->cur, ch);
    }
    sc->in_value_quote = val_quote != 0;
    if (sc->cur.oom)
        sc->oom = true;
}

static bool word_eq(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

static bool starts_with_ci(const char *s, const char *prefix, size_t plen)
{
    return strlen(s) >= plen && strncasecmp(s, prefix, plen) == 0;
}

typedef struct builder {
    cli_completion *c;
    const char *word;       /* what is typed */
    size_t wlen;
    bool upper;             /* keywords in upper case */
    bool oom;
} builder;

/* Offer s (a keyword when kw: cased by the typed word) if it extends the word. */
static void offer(builder *b, const char *s, bool kw, bool space)
{
    if (!starts_with_ci(s, b->word, b->wlen))
        return;
    for (size_t i = 0; i < b->c->n; i++)
        if (strcasecmp(b->c->matches[i], s) == 0)
            return;
    if (b->c->n == b->c->cap) {
        size_t cap = b->c->cap ? b->c->cap * 2 : 16;
        char **m = realloc(b->c->matches, cap * sizeof(*m));
        if (!m) {
            b->oom = true;
            return;
        }
        b->c->matches = m;
        bool *sp = realloc(b->c->space, cap * sizeof(*sp));
        if (!sp) {
            b->oom = true;
            return;
        }
        b->c->space = sp;
        b->c->cap = cap;
    }
    char *d = strdup(s);
    if (!d) {
        b->oom = true;
        return;
    }
    if (kw)
        for (char *p = d; *p; p++)
            *p = (char)(b->upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    b->c->matches[b->c->n] = d;
    b->c->space[b->c->n] = space;
    b->c->n++;
}

static void offer_list(builder *b, const char *const *list, bool kw, bool space)
{
    for (size_t i = 0; list[i]; i++)
        offer(b, list[i], kw, space);
}

static void offer_words(builder *b, const cli_words *w, bool kw, bool space)
{
    for (size_t i = 0; w && i < w->n; i++)
        offer(b, w->v[i], kw, space);
}

static const char *const FILTER_WORDS[] = {"AND", "OR", "NOT", NULL};
static const char *const TERM_PREFIXES[] = {"has:", "missing:", "tag:", "group:", "segment:", "reachable:",
                                            "q:", NULL};
static const char *const CHANNELS[] = {"email", "sms", "whatsapp", "web", NULL};
static const char *const KINDS[] = {"text", "number", "integer", "time", "bool", "category", NULL};
static const char *const SORT_ORDER[] = {"ASC", "DESC", NULL};
static const char *const LOCAL_COMMANDS[] = {"help", "exit", "clear", NULL};

/* Commands that take a WHERE, and those whose target may also be ID <ids>. */
static const char *const WHERE_COMMANDS[] = {
    "COUNT", "FIND", "EXPLAIN", "TAG", "UNTAG", "SET", "ARCHIVE", "UNARCHIVE", "SPLIT", "FACET", "REACH",
    "SEGMENT.SAVE", "SEGMENT.FREEZE", "GROUP.ADD", "GROUP.REMOVE", "EXPORT", NULL};
static const char *const TARGET_COMMANDS[] = {"TAG", "UNTAG", "SET", "ARCHIVE", "UNARCHIVE",
                                              "GROUP.ADD", "GROUP.REMOVE", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (word_eq(list[i], s))
            return true;
    return false;
}

static int cmp_ci(const void *a, const void *b)
{
    return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* Sort matches (and their space flags) case-insensitively. */
static void sort_matches(cli_completion *c)
{
    /* few matches: insertion sort keeps the two arrays in step */
    for (size_t i = 1; i < c->n; i++) {
        char *m = c->matches[i];
        bool s = c->space[i];
        size_t j = i;
        while (j > 0 && cmp_ci(&c->matches[j - 1], &m) > 0) {
            c->matches[j] = c->matches[j - 1];
            c->space[j] = c->space[j - 1];
            j--;
        }
        c->matches[j] = m;
        c->space[j] = s;
    }
}

/* The name just before a ':' that ends at cur[end): "has" in "(has:". */
static void name_before(const cli_buf *cur, size_t end, char *out, size_t cap)
{
    size_t a = end;
    while (a > 0 && name_char(cur->p[a - 1]))
        a--;
    size_t n = end - a < cap - 1 ? end - a : cap - 1;
    memcpy(out, cur->p + a, n);
    out[n] = '\0';
}

static void filter_candidates(builder *b, const scan *sc, char delim, size_t delim_at,
                              const cli_words *fields)
{
    cli_buf prevword = {0};
    const cli_buf *src = &sc->cur;
    if (delim == 0 && sc->words.n > 0) {
        /* `purchases > 5`, `city: hue`: a word ending in an operator makes this a value */
        const char *pw = sc->words.v[sc->words.n - 1];
        size_t pl = strlen(pw);
        if (pl > 0 && strchr(":=<>~,", pw[pl - 1])) {
            delim = pw[pl - 1];
            prevword.p = (char *)pw;
            prevword.len = pl;
            src = &prevword;
            delim_at = pl;
        }
    }
    if (delim == ':') {
        char name[32];
        name_before(src, delim_at - 1, name, sizeof name);
        if (word_eq(name, "has") || word_eq(name, "missing"))
            offer_words(b, fields, false, true);
        else if (word_eq(name, "reachable"))
            offer_list(b, CHANNELS, false, true);
        return;   /* any other ':' is followed by a value */
    }
    if (delim != 0 && delim != '(')
        return;   /* after an operator or ',' comes a value */
    offer_words(b, fields, false, false);
    offer_list(b, FILTER_WORDS, true, true);
    offer_list(b, TERM_PREFIXES, false, false);
}

int cli_complete(const char *line, size_t cursor, const cli_words *commands, const cli_words *fields,
                 cli_completion *out)
{
    memset(out, 0, sizeof(*out));
    size_t len = strnlen(line, cursor);
    cursor = len;
    size_t start = cursor;
    while (start > 0 && name_char(line[start - 1]))
        start--;
    out->start = start;

    scan sc;
    memset(&sc, 0, sizeof sc);
    cli_words_init(&sc.words);
    cli_buf_init(&sc.cur);
    scan_line(&sc, line, cursor);
    int rc = 0;
    if (sc.oom) {
        rc = -1;
        goto done;
    }
    if (sc.in_value_quote)
        goto done;

    size_t wlen = cursor - start;
    /* the word is the end of the current argument; what precedes it there */
    size_t curlen = sc.cur.len;
    if (wlen > curlen)
        goto done;   /* can't happen: name characters are kept in the word */
    size_t delim_at = curlen - wlen;
    char delim = delim_at ? sc.cur.p[delim_at - 1] : 0;

    builder b = {out, line + start, wlen, true, false};
    if (wlen > 0)
        b.upper = !islower((unsigned char)line[start]);
    else if (sc.words.n > 0)
        b.upper = !islower((unsigned char)sc.words.v[0][0]);

    size_t nw = sc.words.n;
    char **w = sc.words.v;
    if (nw == 0) {
        if (delim == 0) {
            offer_words(&b, commands, true, true);
            offer_list(&b, LOCAL_COMMANDS, true, true);
        }
        goto sorted;
    }
    const char *cmd = w[0];
    bool in_filter = word_eq(cmd, "OVERLAP");
    for (size_t i = 1; i < nw && !in_filter; i++)
        in_filter = word_eq(w[i], "WHERE");
    if (in_filter) {
        filter_candidates(&b, &sc, delim, delim_at, fields);
        goto sorted;
    }
    const char *prev = w[nw - 1];
    if (word_eq(prev, "FIELDS")) {
        if (delim == 0 || delim == ',')
            offer_words(&b, fields, false, false);
        goto sorted;
    }
    if (delim != 0)
        goto sorted;
    if (word_eq(prev, "SORT") || word_eq(prev, "BY") || (word_eq(cmd, "FACET") && nw == 1) ||
        (word_eq(cmd, "GET") && nw >= 2) || (word_eq(cmd, "UPSERT") && nw >= 2 && nw % 2 == 0) ||
        (word_eq(cmd, "SET") && nw == 1)) {
        offer_words(&b, fields, false, true);
        goto sorted;
    }
    if (word_eq(cmd, "FIELD.CREATE")) {
        if (nw == 2)
            offer_list(&b, KINDS, false, true);
        goto sorted;
    }
    if (nw >= 2 && word_eq(w[nw - 2], "SORT"))
        offer_list(&b, SORT_ORDER, true, true);
    if (in_list(WHERE_COMMANDS, cmd))
        offer(&b, "WHERE", true, true);
    if (in_list(TARGET_COMMANDS, cmd))
        offer(&b, "ID", true, true);
    if (word_eq(cmd, "FIND")) {
        static const char *const FIND_OPTS[] = {"FIELDS", "SORT", "LIMIT", NULL};
        offer_list(&b, FIND_OPTS, true, true);
    } else if (word_eq(cmd, "SPLIT")) {
        static const char *const SPLIT_OPTS[] = {"RANDOM", "BY", "SAVE", "PERCENT", NULL};
        offer_list(&b, SPLIT_OPTS, true, true);
    } else if (word_eq(cmd, "FACET") && nw >= 2) {
        offer(&b, "TOP", true, true);
    }
sorted:
    if (b.oom) {
        rc = -1;
        cli_completion_free(out);
        out->start = start;
        goto done;
    }
    sort_matches(out);
done:
    cli_words_free(&sc.words);
    cli_buf_free(&sc.cur);
    return rc;
}

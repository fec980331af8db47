/*
 * csv.c — the streaming CSV reader and the CSV writer declared in csv.h.
 *
 * Reader design
 *   One state machine (REC_START, FIELD_START, UNQUOTED, QUOTED, QUOTED_QUOTE,
 *   AFTER_QUOTE) runs over each chunk and survives between chunks, together
 *   with two one-bit memories for terminators cut in two: skip_lf (the last
 *   record ended at a CR: an LF right after it belongs to that CRLF) and
 *   prev_cr (the chunk's last byte was a CR: an LF inside quotes at the start
 *   of the next chunk is the second half of a CRLF, not a new line).
 *
 *   Positions are absolute stream offsets (bytes fed since the start, BOM not
 *   counted). The current record remembers where it starts and the span
 *   [start, end) of each field, start including an opening quote. When the
 *   record ends in the chunk it started in, its raw bytes are the chunk itself
 *   and fields point into it (no copy); when it runs past a chunk's end, its
 *   bytes so far are appended to `carry` (at most max_record_bytes of them)
 *   and the record is completed from there. Quoted fields with "" are
 *   unescaped into `fbuf`, sized once per record to the raw length so the
 *   pointers handed out stay put.
 *
 *   The hot loops look for the next special byte (delimiter, CR, LF outside
 *   quotes; '"', CR, LF inside) 16 bytes at a time with SSE2 where available,
 *   else with a 256-entry class table. UTF-8 and NUL checks run once over the
 *   record's raw bytes (8 ASCII bytes per step); the delimiter and quotes are
 *   ASCII, so the raw bytes are valid exactly when every field is, and only a
 *   failing record is checked field by field to name the column.
 */
#include "csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum {
    ST_REC_START = 0, /* between records: nothing of the next one seen */
    ST_FIELD_START,   /* after a delimiter (or the record's first byte is next) */
    ST_UNQUOTED,      /* inside an unquoted field */
    ST_QUOTED,        /* inside a quoted field */
    ST_QUOTED_QUOTE,  /* inside a quoted field, just after a '"': "" or the end */
    ST_AFTER_QUOTE,   /* after a closing quote: delimiter or terminator expected */
};

enum { F_QUOTED = 1, F_ESCAPED = 2 };

enum { CLS_UNQUOTED = 1, CLS_QUOTED = 2 };

enum { BOM_PENDING = 0, BOM_DONE };

typedef struct field_span {
    uint64_t start, end; /* absolute offsets; start includes an opening quote */
    unsigned flags;      /* F_QUOTED, F_ESCAPED */
} field_span;

struct csv_reader {
    unsigned char delim;
    size_t max_rec;
    unsigned char cls[256];

    int state;
    bool skip_lf, prev_cr, finished;
    int stopped;            /* 0, or the code every later call returns */

    int bom_state;
    unsigned char bom_hold[3];
    size_t bom_n;

    uint64_t abs;           /* absolute offset of the next byte scanned */
    uint64_t line;          /* physical line of the next byte scanned */

    /* the record in progress */
    uint64_t rec_abs, rec_line;
    uint64_t field_abs;
    unsigned field_flags;
    uint64_t quote_line;    /* line of the current field's opening quote */
    csv_rec_error rec_err;  /* CSV_REC_AFTER_QUOTE or OK */
    uint64_t err_line;
    bool too_long, any_escaped;

    field_span *spans;
    size_t nspans, spans_cap;
    char *carry;
    size_t carry_len, carry_cap;
    char *fbuf;
    size_t fbuf_cap;
    const char **fptr;
    size_t *flen;
    size_t fcap;
    char reason[128];
};

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

/* ---- UTF-8 -------------------------------------------------------------- */

static inline bool word_has_zero(uint64_t w)
{
    return ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull) != 0;
}

/* Offset of the first NUL byte or first byte of an invalid UTF-8 sequence in
 * s[0..n), or n when there is none; *nul says which. */
static size_t utf8_check(const unsigned char *s, size_t n, bool *nul)
{
    size_t i = 0;
    *nul = false;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ull) && !word_has_zero(w)) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        if (c < 0x80) {
            if (c == 0) {
                *nul = true;
                return i;
            }
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c == 0xE0) {
            need = 2;
            lo = 0xA0;              /* no overlongs */
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            need = 2;
        } else if (c == 0xED) {
            need = 2;
            hi = 0x9F;              /* no surrogates */
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90;              /* no overlongs */
        } else if (c >= 0xF1 && c <= 0xF3) {
            need = 3;
        } else if (c == 0xF4) {
            need = 3;
            hi = 0x8F;              /* <= U+10FFFF */
        } else {
            return i;               /* continuation byte, C0/C1, F5-FF */
        }
        if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return n;
}

/* ---- options and lifetime ------------------------------------------------ */

void csv_options_init(csv_options *o)
{
    if (!o)
        return;
    o->delimiter = ',';
    o->max_record_bytes = CSV_DEFAULT_MAX_RECORD_BYTES;
}

csv_reader *csv_reader_create(const csv_options *opts)
{
    csv_options o;
    csv_options_init(&o);
    if (opts) {
        if (opts->delimiter)
            o.delimiter = opts->delimiter;
        if (opts->max_record_bytes)
            o.max_record_bytes = opts->max_record_bytes;
    }
    unsigned char d = (unsigned char)o.delimiter;
    if (d == 0 || d >= 0x80 || d == '"' || d == '\r' || d == '\n')
        return NULL;

    csv_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->delim = d;
    r->max_rec = o.max_record_bytes;
    r->cls[d] |= CLS_UNQUOTED;
    r->cls['\r'] |= CLS_UNQUOTED | CLS_QUOTED;
    r->cls['\n'] |= CLS_UNQUOTED | CLS_QUOTED;
    r->cls['"'] |= CLS_QUOTED;
    r->state = ST_REC_START;
    r->bom_state = BOM_PENDING;
    r->line = 1;
    return r;
}

void csv_reader_free(csv_reader *r)
{
    if (!r)
        return;
    free(r->spans);
    free(r->carry);
    free(r->fbuf);
    free(r->fptr);
    free(r->flen);
    free(r);
}

uint64_t csv_reader_line(const csv_reader *r)
{
    return r ? r->line : 0;
}

/* ---- buffers --------------------------------------------------------------- */

/* Grow *p (elements of size `elem`) to hold at least `need`; false on ENOMEM. */
static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2)
            return false;
        nc *= 2;
    }
    if (nc > SIZE_MAX / elem)
        return false;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

/* Keep up to max_rec bytes of the record in progress. */
static int carry_append(csv_reader *r, const unsigned char *s, size_t n, segdb_err *err)
{
    if (r->carry_len >= r->max_rec)
        return 0;
    size_t room = r->max_rec - r->carry_len;
    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    if (!grow((void **)&r->carry, &r->carry_cap, r->carry_len + n, 1)) {
        set_err(err, SEGDB_ENOMEM, "out of memory buffering a CSV record at line %llu",
                (unsigned long long)r->rec_line);
        return SEGDB_ENOMEM;
    }
    memcpy(r->carry + r->carry_len, s, n);
    r->carry_len += n;
    return 0;
}

/* ---- the record in progress ------------------------------------------------ */

static void begin_record(csv_reader *r, uint64_t at)
{
    r->rec_abs = at;
    r->rec_line = r->line;
    r->nspans = 0;
    r->rec_err = CSV_REC_OK;
    r->too_long = false;
    r->any_escaped = false;
    r->carry_len = 0;
}

/* The current field ends at absolute offset `end` (its delimiter/terminator). */
static int add_field(csv_reader *r, uint64_t end, segdb_err *err)
{
    if (end - r->rec_abs > r->max_rec)
        r->too_long = true;
    if (r->too_long || r->rec_err != CSV_REC_OK)
        return 0; /* the record is rejected: its fields are not needed */
    if (!grow((void **)&r->spans, &r->spans_cap, r->nspans + 1, sizeof *r->spans)) {
        set_err(err, SEGDB_ENOMEM, "out of memory parsing the CSV record at line %llu",
                (unsigned long long)r->rec_line);
        return SEGDB_ENOMEM;
    }
    field_span *f = &r->spans[r->nspans++];
    f->start = r->field_abs;
    f->end = end;
    f->flags = r->field_flags;
    if (r->field_flags & F_ESCAPED)
        r->any_escaped = true;
    return 0;
}

static void after_quote_error(csv_reader *r)
{
    if (r->rec_err == CSV_REC_OK) {
        r->rec_err = CSV_REC_AFTER_QUOTE;
        r->err_line = r->line;
    }
}

/* Resolve the fields of a well-formed record whose raw bytes are raw[0..n). */
static int build_fields(csv_reader *r, const char *raw, size_t n, segdb_err *err)
{
    if (r->nspans > r->fcap) {
        /* fptr and flen share one capacity; fcap moves only when both grew */
        size_t nc = r->fcap ? r->fcap : 16;
        while (nc < r->nspans)
            nc *= 2; /* nspans <= max_rec + 2 spans of 24 bytes were allocated: no overflow */
        void *a = realloc(r->fptr, nc * sizeof *r->fptr);
        if (!a)
            goto nomem;
        r->fptr = a;
        void *b = realloc(r->flen, nc * sizeof *r->flen);
        if (!b)
            goto nomem;
        r->flen = b;
        r->fcap = nc;
    }
    if (r->any_escaped && !grow((void **)&r->fbuf, &r->fbuf_cap, n, 1))
        goto nomem;

    size_t fpos = 0;
    for (size_t i = 0; i < r->nspans; i++) {
        const field_span *f = &r->spans[i];
        size_t off = (size_t)(f->start - r->rec_abs);
        size_t len = (size_t)(f->end - f->start);
        if (f->flags & F_QUOTED) {
            off++;
            len -= 2;
        }
        const char *s = raw + off;
        if (f->flags & F_ESCAPED) {
            char *o = r->fbuf + fpos;
            size_t k = 0;
            for (size_t j = 0; j < len; j++) {
                o[k++] = s[j];
                if (s[j] == '"')
                    j++; /* "" -> " */
            }
            r->fptr[i] = o;
            r->flen[i] = k;
            fpos += k;
        } else {
            r->fptr[i] = s;
            r->flen[i] = len;
        }
    }
    return 0;
nomem:
    set_err(err, SEGDB_ENOMEM, "out of memory parsing the CSV record at line %llu",
            (unsigned long long)r->rec_line);
    return SEGDB_ENOMEM;
}

/* Hand the finished record to the callback. raw[0..stored) are its first bytes
 * out of `total`. */
static int emit(csv_reader *r, const char *raw, size_t stored, uint64_t total, bool unterminated,
                csv_record_fn cb, void *ctx, segdb_err *err)
{
    csv_record rec;
    memset(&rec, 0, sizeof rec);
    rec.line = r->rec_line;
    rec.raw = raw ? raw : "";
    rec.raw_len = stored;
    rec.raw_truncated = stored < total;

    if (unterminated) {
        rec.error = CSV_REC_UNTERMINATED;
        snprintf(r->reason, sizeof r->reason, "unterminated quoted field starting at line %llu",
                 (unsigned long long)r->quote_line);
    } else if (r->too_long || total > r->max_rec) {
        rec.error = CSV_REC_TOO_LONG;
        snprintf(r->reason, sizeof r->reason, "record longer than the maximum of %zu bytes",
                 r->max_rec);
    } else if (r->rec_err == CSV_REC_AFTER_QUOTE) {
        rec.error = CSV_REC_AFTER_QUOTE;
        snprintf(r->reason, sizeof r->reason,
                 "unexpected character after closing quote at line %llu",
                 (unsigned long long)r->err_line);
    } else {
        int rc = build_fields(r, raw, stored, err);
        if (rc)
            return rc;
        bool nul;
        if (utf8_check((const unsigned char *)raw, stored, &nul) < stored) {
            for (size_t i = 0; i < r->nspans; i++) {
                if (utf8_check((const unsigned char *)r->fptr[i], r->flen[i], &nul) <
                    r->flen[i]) {
                    rec.error = nul ? CSV_REC_NUL : CSV_REC_BAD_UTF8;
                    snprintf(r->reason, sizeof r->reason, "%s in column %zu",
                             nul ? "NUL byte" : "invalid UTF-8", i + 1);
                    break;
                }
            }
        }
        if (rec.error == CSV_REC_OK) {
            rec.nfields = r->nspans;
            rec.field = r->fptr;
            rec.len = r->flen;
        }
    }
    if (rec.error != CSV_REC_OK)
        rec.reason = r->reason;
    if (!cb)
        return 0;
    int rc = cb(ctx, &rec, err);
    if (rc > 0)
        rc = SEGDB_EINVAL;
    return rc;
}

/* The record ends at p (a CR or LF of the chunk buf, whose first byte is at
 * absolute offset chunk_abs). */
static int end_record(csv_reader *r, const unsigned char *buf, uint64_t chunk_abs,
                      const unsigned char *p, csv_record_fn cb, void *ctx, segdb_err *err)
{
    uint64_t end_abs = chunk_abs + (uint64_t)(p - buf);
    int rc = add_field(r, end_abs, err);
    if (rc)
        return rc;
    uint64_t total = end_abs - r->rec_abs;
    const char *raw;
    size_t stored;
    if (r->rec_abs >= chunk_abs) {
        raw = (const char *)buf + (r->rec_abs - chunk_abs);
        stored = total > r->max_rec ? r->max_rec : (size_t)total;
    } else {
        rc = carry_append(r, buf, (size_t)(p - buf), err);
        if (rc)
            return rc;
        raw = r->carry;
        stored = r->carry_len;
    }
    rc = emit(r, raw, stored, total, false, cb, ctx, err);
    r->line++;
    r->skip_lf = (*p == '\r');
    r->state = ST_REC_START;
    return rc;
}

/* ---- scanning ---------------------------------------------------------------- */

/* First byte in [p, end) that is a delimiter, CR or LF (or end). */
static inline const unsigned char *find_unquoted(const csv_reader *r, const unsigned char *p,
                                                 const unsigned char *end)
{
#if defined(__SSE2__)
    const __m128i vd = _mm_set1_epi8((char)r->delim);
    const __m128i vr = _mm_set1_epi8('\r');
    const __m128i vn = _mm_set1_epi8('\n');
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, vd),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, vr), _mm_cmpeq_epi8(x, vn)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (p < end && !(r->cls[*p] & CLS_UNQUOTED))
        p++;
    return p;
}

/* First byte in [p, end) that is '"', CR or LF (or end). */
static inline const unsigned char *find_quoted(const csv_reader *r, const unsigned char *p,
                                               const unsigned char *end)
{
#if defined(__SSE2__)
    const __m128i vq = _mm_set1_epi8('"');
    const __m128i vr = _mm_set1_epi8('\r');
    const __m128i vn = _mm_set1_epi8('\n');
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, vq),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, vr), _mm_cmpeq_epi8(x, vn)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (p < end && !(r->cls[*p] & CLS_QUOTED))
        p++;
    return p;
}

/* Run the state machine over one chunk (BOM already handled). */
static int scan(csv_reader *r, const unsigned char *buf, size_t len, csv_record_fn cb, void *ctx,
                segdb_err *err)
{
    const unsigned char *p = buf, *end = buf + len;
    const uint64_t chunk_abs = r->abs;
    const unsigned char delim = r->delim;
    int rc = 0;

#define ABS(q) (chunk_abs + (uint64_t)((q) - buf))
    while (p < end) {
        switch (r->state) {
        case ST_REC_START:
            if (r->skip_lf) {
                r->skip_lf = false;
                if (*p == '\n') { /* second half of a CRLF */
                    p++;
                    continue;
                }
            }
            if (*p == '\n' || *p == '\r') { /* blank line: skipped, counted */
                r->line++;
                r->skip_lf = (*p == '\r');
                p++;
                continue;
            }
            begin_record(r, ABS(p));
            /* fall through */
        case ST_FIELD_START:
            r->field_abs = ABS(p);
            if (*p == '"') {
                r->field_flags = F_QUOTED;
                r->quote_line = r->line;
                r->state = ST_QUOTED;
                p++;
                continue;
            }
            r->field_flags = 0;
            r->state = ST_UNQUOTED;
            /* fall through */
        case ST_UNQUOTED:
            p = find_unquoted(r, p, end);
            if (p == end)
                continue;
            if (*p == delim) {
                if ((rc = add_field(r, ABS(p), err)))
                    goto done;
                r->state = ST_FIELD_START;
                p++;
                continue;
            }
            if ((rc = end_record(r, buf, chunk_abs, p, cb, ctx, err)))
                goto done;
            p++;
            continue;
        case ST_QUOTED:
            p = find_quoted(r, p, end);
            if (p == end)
                continue;
            if (*p == '"') {
                r->state = ST_QUOTED_QUOTE;
            } else if (*p == '\r' || !(p > buf ? p[-1] == '\r' : r->prev_cr)) {
                r->line++; /* a CR, an LF, or a CRLF counted at its CR */
            }
            p++;
            continue;
        case ST_QUOTED_QUOTE:
            if (*p == '"') { /* "" is one quote */
                r->field_flags |= F_ESCAPED;
                r->state = ST_QUOTED;
                p++;
                continue;
            }
            r->state = ST_AFTER_QUOTE;
            /* fall through */
        case ST_AFTER_QUOTE:
            if (*p == delim) {
                if ((rc = add_field(r, ABS(p), err)))
                    goto done;
                r->state = ST_FIELD_START;
            } else if (*p == '\n' || *p == '\r') {
                if ((rc = end_record(r, buf, chunk_abs, p, cb, ctx, err)))
                    goto done;
            } else {
                /* "abc"def: reject the record, read on to its real end with
                 * the rest of the field taken literally */
                after_quote_error(r);
                r->field_flags = 0;
                r->state = ST_UNQUOTED;
            }
            p++;
            continue;
        default:
            /* unreachable: state is always one of the above */
            r->state = ST_REC_START;
            continue;
        }
    }
#undef ABS

    if (r->state != ST_REC_START) { /* keep the unfinished record's bytes */
        uint64_t from = r->rec_abs > chunk_abs ? r->rec_abs : chunk_abs;
        const unsigned char *s = buf + (from - chunk_abs);
        rc = carry_append(r, s, (size_t)(end - s), err);
    }
done:
    if (len)
        r->prev_cr = (buf[len - 1] == '\r');
    r->abs += len;
    if (rc)
        r->stopped = rc;
    return rc;
}

/* ---- public entry points ----------------------------------------------------- */

static int check_usable(csv_reader *r, segdb_err *err)
{
    if (!r) {
        set_err(err, SEGDB_EINVAL, "no CSV reader");
        return SEGDB_EINVAL;
    }
    if (r->stopped) {
        set_err(err, SEGDB_EINVAL, "the CSV reader was stopped by an earlier error");
        return SEGDB_EINVAL;
    }
    if (r->finished) {
        set_err(err, SEGDB_EINVAL, "the CSV reader has already finished");
        return SEGDB_EINVAL;
    }
    return 0;
}

int csv_reader_feed(csv_reader *r, const void *data, size_t len, csv_record_fn cb, void *ctx,
                    segdb_err *err)
{
    int rc = check_usable(r, err);
    if (rc)
        return rc;
    const unsigned char *s = data;
    if (len == 0)
        return 0;
    if (!s) {
        set_err(err, SEGDB_EINVAL, "no CSV data");
        return SEGDB_EINVAL;
    }
    if (r->bom_state == BOM_PENDING) {
        static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
        while (len && r->bom_n < 3 && *s == bom[r->bom_n]) {
            r->bom_hold[r->bom_n++] = *s++;
            len--;
        }
        if (r->bom_n == 3) {
            r->bom_state = BOM_DONE; /* dropped */
        } else if (len == 0) {
            return 0;                /* still a possible BOM prefix */
        } else {
            r->bom_state = BOM_DONE; /* not a BOM: the held bytes are data */
            if (r->bom_n && (rc = scan(r, r->bom_hold, r->bom_n, cb, ctx, err)))
                return rc;
        }
    }
    if (len == 0)
        return 0;
    return scan(r, s, len, cb, ctx, err);
}

int csv_reader_finish(csv_reader *r, csv_record_fn cb, void *ctx, segdb_err *err)
{
    int rc = check_usable(r, err);
    if (rc)
        return rc;
    if (r->bom_state == BOM_PENDING) {
        r->bom_state = BOM_DONE;
        if (r->bom_n && (rc = scan(r, r->bom_hold, r->bom_n, cb, ctx, err)))
            return rc;
    }
    r->finished = true;
    if (r->state == ST_REC_START)
        return 0;
    bool unterminated = (r->state == ST_QUOTED);
    if (r->state == ST_FIELD_START) { /* input ends right after a delimiter */
        r->field_abs = r->abs;
        r->field_flags = 0;
    }
    if (!unterminated && (rc = add_field(r, r->abs, err)))
        goto done;
    rc = emit(r, r->carry, r->carry_len, r->abs - r->rec_abs, unterminated, cb, ctx, err);
done:
    r->state = ST_REC_START;
    if (rc)
        r->stopped = rc;
    return rc;
}

/* ---- writer ---------------------------------------------------------------------- */

/* A decimal number: [+-] (digits [. digits*] | . digits) [(e|E) [+-] digits]. */
static bool is_number(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (ed == 0)
            return false;
    }
    return i == n;
}

static int buf_reserve(csv_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return SEGDB_ENOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) {
            nc = need;
            break;
        }
        nc *= 2;
    }
    char *q = realloc(b->p, nc);
    if (!q)
        return SEGDB_ENOMEM;
    b->p = q;
    b->cap = nc;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int csv_write_field(csv_buf *b, const char *field, size_t len, bool escape_formulas)
{
    if (!b || (!field && len))
        return SEGDB_EINVAL;
    bool prefix = escape_formulas && len > 0 &&
                  (field[0] == '=' || field[0] == '+' || field[0] == '-' || field[0] == '@') &&
                  !is_number(field, len);
    bool quote = len > 0 && ((!prefix && is_blank(field[0])) || is_blank(field[len - 1]));
    if (!prefix && len >= 3 && (unsigned char)field[0] == 0xEF &&
        (unsigned char)field[1] == 0xBB && (unsigned char)field[2] == 0xBF)
        quote = true;
    size_t quotes = 0;
    for (size_t i = 0; i < len; i++) {
        char c = field[i];
        if (c == '"')
            quotes++, quote = true;
        else if (c == ',' || c == '\r' || c == '\n')
            quote = true;
    }
    size_t extra = len;
    if (prefix)
        extra++;
    if (quote) {
        if (quotes > SIZE_MAX - extra - 2)
            return SEGDB_ENOMEM;
        extra += 2 + quotes;
    }
    if (buf_reserve(b, extra))
        return SEGDB_ENOMEM;
    char *o = b->p + b->len;
    if (quote)
        *o++ = '"';
    if (prefix)
        *o++ = '\'';
    if (quote && quotes) {
        for (size_t i = 0; i < len; i++) {
            *o++ = field[i];
            if (field[i] == '"')
                *o++ = '"';
        }
    } else if (len) {
        memcpy(o, field, len);
        o += len;
    }
    if (quote)
        *o++ = '"';
    b->len = (size_t)(o - b->p);
    return 0;
}

int csv_write_record(csv_buf *b, const char *const *fields, const size_t *lens, size_t n,
                     bool escape_formulas)
{
    if (!b || (n && (!fields || !lens)))
        return SEGDB_EINVAL;
    if (n == 0)
        return 0;
    size_t saved = b->len;
    int rc = 0;
    if (n == 1 && lens[0] == 0) {
        if ((rc = buf_reserve(b, 2)))
            goto done;
        b->p[b->len++] = '"';
        b->p[b->len++] = '"';
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i) {
                if ((rc = buf_reserve(b, 1)))
                    goto done;
                b->p[b->len++] = ',';
            }
            if ((rc = csv_write_field(b, fields[i], lens[i], escape_formulas)))
                goto done;
        }
    }
    if ((rc = buf_reserve(b, 2)))
        goto done;
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
done:
    if (rc)
        b->len = saved;
    return rc;
}

void csv_buf_free(csv_buf *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/*
 * test_differential.c — Criterion suite `differential`: the test that keeps the
 * planner honest.
 *
 * Random Vietnamese CRM contacts are written through the public API
 * (segdb_upsert / segdb_del, custom fields with segdb_field_create) and a copy
 * of what was written is kept here in plain structs, with the rules of SPEC
 * sections 1, 4 and 7 applied by hand: folding, phone normalization, email
 * lower-casing, the automatic type move of 4.1, `relationship` starting as
 * `new` and turning `dont_forget` at read time (4.3), created_at defaulting to
 * the clock, tags replaced by a `;`-joined list. Random filters are then
 * counted by the engine (segdb_count; every ~100th also compared id by id with
 * segdb_find) and by a deliberately naive evaluator written here from the SPEC
 * text: every term is evaluated row by row over every contact, and AND / OR /
 * NOT combine those per-row answers (NOT is the complement within the
 * universe). Nothing here reads the engine's code or calls its helpers (not
 * fold.h either): the folding table, phone rules and time parsing are this
 * file's own.
 *
 * The one thing taken from the engine is `bucket` ("a fixed hash of id"; the
 * function is not exported): it is read back with segdb_get after each write,
 * checked to be in 0..9999 and stable for an id across updates, deletes and
 * re-creation, and the naive evaluator uses the value read.
 *
 * A run: 5,000 contacts, then 10 phases. Each phase moves the fixed clock
 * forward, applies updates / deletes / re-creations / new contacts / ARCHIVE /
 * UNARCHIVE / TAG / UNTAG / SET (an empty value clears) / GROUP.ADD / REMOVE
 * (a group tree; one GROUP.DEL in phase 5), builds a pool of random terms (each also checked alone: those
 * are the minimal repros), then checks random filters built from the pool
 * (AND, juxtaposition, OR, NOT, parentheses, depth up to 6) with a write every
 * 40 filters (indexes that batch updates until the next query must agree as
 * well). A mismatch prints the filter, both
 * counts and a few differing contacts, and composite mismatches whose terms
 * all agree alone are shrunk to a smaller filter that still disagrees.
 *
 * Environment: SEGDB_DIFF_SEED (the seed, printed every run), SEGDB_DIFF_FILTERS
 * (filters checked per run, single terms included, default 100000: about 40 s
 * of CPU under ASan+UBSan), SEGDB_DIFF_CONTACTS (initial contacts, default
 * 5000), SEGDB_DIFF_TRACE (an id: print every write that touches it).
 *
 * The known_answers_* tests pin the SPEC's own examples and error classes.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "segdb.h"



/* ======================================================================== */
/* small utilities                                                           */
/* ======================================================================== */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "differential: out of memory\n");
        abort();
    }
    return p;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        fprintf(stderr, "differential: out of memory\n");
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "differential: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 64;
        while (c < b->n + n + 1)
            c *= 2;
        b->p = xrealloc(b->p, c);
        b->cap = c;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_putc(sbuf *b, char c) { sb_putn(b, &c, 1); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if ((size_t)k < sizeof tmp) {
        sb_putn(b, tmp, (size_t)k);
        return;
    }
    char *big = xmalloc((size_t)k + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)k);
    free(big);
}

/* The buffer's string (malloc'd, never NULL); the buffer is left empty. */
static char *sb_take(sbuf *b)
{
    char *p = b->p ? b->p : xstrdup("");
    b->p = NULL;
    b->n = b->cap = 0;
    return p;
}

/* ---- seeded PRNG (splitmix64): reproducible from the printed seed -------- */

static uint64_t g_rng;

static uint64_t rnd(void)
{
    uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rn(uint32_t n) { return n ? (uint32_t)(rnd() % n) : 0; }
static bool coin(int pct) { return rn(100) < (uint32_t)pct; }
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(a) ((a)[rn((uint32_t)NELEM(a))])

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ======================================================================== */
/* UTF-8 and Vietnamese folding: this file's own table, from SPEC section 7   */
/* ======================================================================== */

/* Decode one code point of NUL-terminated s at *i (our data is valid UTF-8). */
static uint32_t u8_dec(const char *s, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s + *i;
    if (u[0] < 0x80) {
        (*i)++;
        return u[0];
    }
    if ((u[0] & 0xE0) == 0xC0 && u[1]) {
        *i += 2;
        return ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
    }
    if ((u[0] & 0xF0) == 0xE0 && u[1] && u[2]) {
        *i += 3;
        return ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
    }
    if ((u[0] & 0xF8) == 0xF0 && u[1] && u[2] && u[3]) {
        *i += 4;
        return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
               ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    }
    (*i)++;
    return 0xFFFD;
}

static void u8_put(sbuf *b, uint32_t cp)
{
    char t[4];
    if (cp < 0x80) {
        t[0] = (char)cp;
        sb_putn(b, t, 1);
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        sb_putn(b, t, 2);
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        sb_putn(b, t, 3);
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        sb_putn(b, t, 4);
    }
}

/* Each Vietnamese vowel (base letter + optional modifier) with its six tones
 * (none, grave, acute, hook above, tilde, dot below), lower and upper case. */
typedef struct vrow {
    char base;
    uint32_t mod; /* 0, U+0306 breve, U+0302 circumflex, U+031B horn */
    const char *lower, *upper;
} vrow;

static const vrow VN_ROWS[] = {
    {'a', 0, "aàáảãạ", "AÀÁẢÃẠ"},      {'a', 0x306, "ăằắẳẵặ", "ĂẰẮẲẴẶ"},
    {'a', 0x302, "âầấẩẫậ", "ÂẦẤẨẪẬ"},  {'e', 0, "eèéẻẽẹ", "EÈÉẺẼẸ"},
    {'e', 0x302, "êềếểễệ", "ÊỀẾỂỄỆ"},  {'i', 0, "iìíỉĩị", "IÌÍỈĨỊ"},
    {'o', 0, "oòóỏõọ", "OÒÓỎÕỌ"},      {'o', 0x302, "ôồốổỗộ", "ÔỒỐỔỖỘ"},
    {'o', 0x31B, "ơờớởỡợ", "ƠỜỚỞỠỢ"},  {'u', 0, "uùúủũụ", "UÙÚỦŨỤ"},
    {'u', 0x31B, "ưừứửữự", "ƯỪỨỬỮỰ"},  {'y', 0, "yỳýỷỹỵ", "YỲÝỶỸỴ"},
};
static const uint32_t VN_TONE[6] = {0, 0x300, 0x301, 0x309, 0x303, 0x323};
#define VN_NO_DECOMP 0xFFFFFFFFu /* đ / Đ: a letter of its own, folds to d */

typedef struct vlet {
    uint32_t cp;
    char base;      /* ASCII base letter in this letter's case */
    bool upper;
    uint32_t mod;   /* modifier mark, 0, or VN_NO_DECOMP */
    int tone;
    uint32_t other; /* the same letter in the other case */
} vlet;

static vlet VL[160];
static int NVL;

static void vn_init(void)
{
    if (NVL)
        return;
    for (size_t r = 0; r < NELEM(VN_ROWS); r++) {
        size_t il = 0, iu = 0;
        for (int t = 0; t < 6; t++) {
            uint32_t lo = u8_dec(VN_ROWS[r].lower, &il), up = u8_dec(VN_ROWS[r].upper, &iu);
            if (lo >= 0x80)
                VL[NVL++] = (vlet){lo, VN_ROWS[r].base, false, VN_ROWS[r].mod, t, up};
            if (up >= 0x80)
                VL[NVL++] = (vlet){up, (char)toupper((unsigned char)VN_ROWS[r].base), true,
                                   VN_ROWS[r].mod, t, lo};
        }
    }
    VL[NVL++] = (vlet){0x111, 'd', false, VN_NO_DECOMP, 0, 0x110};
    VL[NVL++] = (vlet){0x110, 'D', true, VN_NO_DECOMP, 0, 0x111};
}

static const vlet *vn_find(uint32_t cp)
{
    for (int i = 0; i < NVL; i++)
        if (VL[i].cp == cp)
            return &VL[i];
    return NULL;
}

static bool is_combining(uint32_t cp) { return cp >= 0x300 && cp <= 0x36F; }

/* SPEC 7 folding: lower case, diacritics removed (đ -> d), and space, '-', '_'
 * and '.' dropped. Only what this test's data can contain is handled. */
static char *nv_fold(const char *s)
{
    sbuf b = {0};
    size_t i = 0;
    while (s[i]) {
        uint32_t cp = u8_dec(s, &i);
        if (cp < 0x80) {
            if (cp == ' ' || cp == '-' || cp == '_' || cp == '.')
                continue;
            sb_putc(&b, (char)tolower((int)cp));
        } else if (is_combining(cp)) {
            continue;
        } else {
            const vlet *v = vn_find(cp);
            if (v)
                sb_putc(&b, (char)tolower((unsigned char)v->base));
            else
                u8_put(&b, cp);
        }
    }
    return sb_take(&b);
}

/* How email compares: ASCII lower case. */
static char *nv_lower_ascii(const char *s)
{
    char *p = xstrdup(s);
    for (char *q = p; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return p;
}

static char *digits_of(const char *s)
{
    sbuf b = {0};
    for (; *s; s++)
        if (*s >= '0' && *s <= '9')
            sb_putc(&b, *s);
    return sb_take(&b);
}

/* SPEC 1: "0912 345 678", "+84912345678" and "84912345678" are one number:
 * the digits, with a leading 84 (followed by a 9-10 digit national number)
 * read as 0. */
static char *nv_phone(const char *s)
{
    char *d = digits_of(s);
    size_t n = strlen(d);
    if (n >= 2 && d[0] == '8' && d[1] == '4' && (n - 2 == 9 || n - 2 == 10)) {
        d[1] = '0';
        memmove(d, d + 1, n);
    }
    return d;
}

/* SPEC 7: `phone~v` uses the digits of v, a leading 84/+84 read as 0. */
static char *nv_phone_query(const char *s)
{
    char *d = digits_of(s);
    size_t n = strlen(d);
    if (n >= 2 && d[0] == '8' && d[1] == '4') {
        d[1] = '0';
        memmove(d, d + 1, n);
    }
    return d;
}

static bool has_digit(const char *s)
{
    for (; *s; s++)
        if (*s >= '0' && *s <= '9')
            return true;
    return false;
}

/* ---- spelling variants of a value (what users type) -------------------- */

enum { V_SAME, V_UPPER, V_LOWER, V_STRIP, V_NFD, V_DASH, V_UNDERSCORE, V_SQUASH, V_RANDCASE, V_N };

static char *var_apply(const char *s, int kind)
{
    sbuf b = {0};
    size_t i = 0;
    while (s[i]) {
        uint32_t cp = u8_dec(s, &i);
        const vlet *v = cp >= 0x80 ? vn_find(cp) : NULL;
        switch (kind) {
        case V_UPPER:
        case V_LOWER:
        case V_RANDCASE: {
            bool up = kind == V_UPPER || (kind == V_RANDCASE && coin(50));
            if (cp < 0x80)
                u8_put(&b, (uint32_t)(up ? toupper((int)cp) : tolower((int)cp)));
            else if (v)
                u8_put(&b, v->upper == up ? v->cp : v->other);
            else
                u8_put(&b, cp);
            break;
        }
        case V_STRIP:
        case V_SQUASH:
            if (kind == V_SQUASH && cp == ' ')
                break;
            if (v)
                sb_putc(&b, kind == V_SQUASH ? (char)tolower((unsigned char)v->base) : v->base);
            else if (is_combining(cp))
                break;
            else
                u8_put(&b, kind == V_SQUASH && cp < 0x80 ? (uint32_t)tolower((int)cp) : cp);
            break;
        case V_NFD:
            if (v && v->mod != VN_NO_DECOMP) {
                /* canonical order: horn (ccc 216), dot below (220), then
                 * circumflex/breve and the other tones (230) as written */
                sb_putc(&b, v->base);
                if (v->mod == 0x31B)
                    u8_put(&b, 0x31B);
                if (v->tone == 5)
                    u8_put(&b, 0x323);
                if (v->mod == 0x302 || v->mod == 0x306)
                    u8_put(&b, v->mod);
                if (v->tone >= 1 && v->tone <= 4)
                    u8_put(&b, VN_TONE[v->tone]);
            } else {
                u8_put(&b, cp);
            }
            break;
        case V_DASH:
        case V_UNDERSCORE:
            u8_put(&b, cp == ' ' ? (uint32_t)(kind == V_DASH ? '-' : '_') : cp);
            break;
        default:
            u8_put(&b, cp);
        }
    }
    return sb_take(&b);
}

/* A random folding-equivalent spelling of s (sometimes s itself). */
static char *var_random(const char *s)
{
    char *a = var_apply(s, (int)rn(V_N));
    if (coin(25)) {
        char *b = var_apply(a, (int)rn(V_N));
        free(a);
        a = b;
    }
    return a;
}

/* A random substring of 2..6 code points of s whose folded form is not empty. */
static char *u8_substr(const char *s)
{
    size_t offs[512];
    size_t n = 0, i = 0;
    while (s[i] && n < NELEM(offs) - 1) {
        offs[n++] = i;
        u8_dec(s, &i);
    }
    offs[n] = i;
    for (int tries = 0; tries < 20 && n > 0; tries++) {
        size_t len = 2 + rn(5);
        if (len > n)
            len = n;
        size_t st = rn((uint32_t)(n - len + 1));
        sbuf b = {0};
        sb_putn(&b, s + offs[st], offs[st + len] - offs[st]);
        char *sub = sb_take(&b);
        char *f = nv_fold(sub);
        bool ok = f[0] != 0;
        free(f);
        if (ok)
            return sub;
        free(sub);
    }
    return xstrdup(s);
}

/* ======================================================================== */
/* times: SPEC 2 grammar, zone +07:00 by default, whole-day dates             */
/* ======================================================================== */

static int64_t g_now;               /* the fixed clock handed to the engine */
static int64_t g_tz = 7 * 3600;     /* Asia/Ho_Chi_Minh */
static int g_dont_forget_days = 30; /* SPEC 4.3 default */

static int64_t engine_clock(void *ctx) { return *(const int64_t *)ctx; }

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num2(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* A filter/write time value as the closed interval [lo, hi] of instants it
 * stands for: an instant for a datetime or a relative time, the whole local
 * day for a date (SPEC 7). False when s is not a time. */
static bool parse_time(const char *s, int64_t *lo, int64_t *hi)
{
    size_t n = strlen(s);
    if (!strcasecmp(s, "now")) {
        *lo = *hi = g_now;
        return true;
    }
    if ((s[0] == '-' || s[0] == '+') && n >= 3 && all_digits(s + 1, n - 2)) {
        int64_t unit = s[n - 1] == 'd' ? 86400 : s[n - 1] == 'h' ? 3600 : s[n - 1] == 'm' ? 60 : 0;
        if (!unit)
            return false;
        int64_t k = strtoll(s + 1, NULL, 10);
        *lo = *hi = g_now + (s[0] == '-' ? -1 : 1) * k * unit;
        return true;
    }
    if (n < 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
        !all_digits(s + 8, 2))
        return false;
    int y = (int)strtol(s, NULL, 10), mo = num2(s + 5), d = num2(s + 8);
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    int64_t day = days_from_civil(y, mo, d);
    if (n == 10) {
        *lo = day * 86400 - g_tz;
        *hi = *lo + 86399;
        return true;
    }
    const char *p = s + 10;
    if (*p != 'T' || strlen(p) < 6 || !all_digits(p + 1, 2) || p[3] != ':' || !all_digits(p + 4, 2))
        return false;
    int h = num2(p + 1), mi = num2(p + 4), se = 0;
    p += 6;
    if (*p == ':') {
        if (!all_digits(p + 1, 2))
            return false;
        se = num2(p + 1);
        p += 3;
    }
    int64_t off = g_tz;
    if (*p == 'Z') {
        off = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        if (strlen(p) < 6 || !all_digits(p + 1, 2) || p[3] != ':' || !all_digits(p + 4, 2))
            return false;
        off = (int64_t)(num2(p + 1) * 3600 + num2(p + 4) * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    }
    if (*p || h > 23 || mi > 59 || se > 59)
        return false;
    *lo = *hi = day * 86400 + h * 3600 + mi * 60 + se - off;
    return true;
}

enum { TS_DATE, TS_LOCAL_MIN, TS_LOCAL_SEC, TS_Z, TS_Z_MIN, TS_P7, TS_P9, TS_M5, TS_N };

static void fmt_time(sbuf *b, int64_t t, int style)
{
    int64_t off = style == TS_Z || style == TS_Z_MIN ? 0
                  : style == TS_P9                   ? 9 * 3600
                  : style == TS_M5                   ? -5 * 3600
                                                     : g_tz;
    int64_t lt = t + off;
    int64_t day = floor_div(lt, 86400), sod = lt - day * 86400;
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), se = (int)(sod % 60);
    switch (style) {
    case TS_DATE:
        sb_printf(b, "%04d-%02d-%02d", y, m, d);
        break;
    case TS_LOCAL_MIN:
        sb_printf(b, "%04d-%02d-%02dT%02d:%02d", y, m, d, h, mi);
        break;
    case TS_Z_MIN:
        sb_printf(b, "%04d-%02d-%02dT%02d:%02dZ", y, m, d, h, mi);
        break;
    default:
        sb_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d%s", y, m, d, h, mi, se,
                  style == TS_Z    ? "Z"
                  : style == TS_P7 ? "+07:00"
                  : style == TS_P9 ? "+09:00"
                  : style == TS_M5 ? "-05:00"
                                   : "");
    }
}

/* ======================================================================== */
/* the naive model: what was written, with the SPEC's rules applied           */
/* ======================================================================== */

enum { K_TEXT, K_EMAIL, K_PHONE, K_ENUM, K_CAT, K_TAGS, K_GROUPS, K_TIME, K_DATE, K_INT, K_NUM, K_BOOL };

enum {
    F_NAME, F_EMAIL, F_PHONE, F_ADDRESS, F_GENDER, F_CITY, F_CHANNEL, F_SOURCE, F_TYPE,
    F_STATUS, F_REL, F_TAGS, F_CREATED, F_LASTC, F_BDAY, F_WEB, F_PUR, F_REV, F_WA, F_HMAC,
    F_CTEXT, F_CNUM, F_CINT, F_CTIME, F_CBOOL, F_CCAT, F_GROUPS,
    /* derived: never written by UPSERT */
    F_BMONTH, F_BDAYD, F_BUCKET, F_ARCH,
    F_N
};
#define F_WRITABLE F_BMONTH

typedef struct fdef {
    const char *name;
    int kind;
} fdef;

static const fdef FD[F_N] = {
    [F_NAME] = {"name", K_TEXT},          [F_EMAIL] = {"email", K_EMAIL},
    [F_PHONE] = {"phone", K_PHONE},       [F_ADDRESS] = {"address", K_TEXT},
    [F_GENDER] = {"gender", K_ENUM},      [F_CITY] = {"city", K_CAT},
    [F_CHANNEL] = {"channel", K_CAT},     [F_SOURCE] = {"source", K_CAT},
    [F_TYPE] = {"type", K_ENUM},          [F_STATUS] = {"status", K_ENUM},
    [F_REL] = {"relationship", K_ENUM},   [F_TAGS] = {"tags", K_TAGS},
    [F_CREATED] = {"created_at", K_TIME}, [F_LASTC] = {"last_contacted", K_TIME},
    [F_BDAY] = {"birthday", K_DATE},      [F_WEB] = {"web_sessions", K_INT},
    [F_PUR] = {"purchases", K_INT},       [F_REV] = {"revenue", K_NUM},
    [F_WA] = {"whatsapp", K_BOOL},        [F_HMAC] = {"hmac_verified", K_BOOL},
    [F_CTEXT] = {"ghi_chu", K_TEXT},      [F_CNUM] = {"diem", K_NUM},
    [F_CINT] = {"so_lan_goi", K_INT},     [F_CTIME] = {"ngay_mua", K_TIME},
    [F_CBOOL] = {"da_xac_minh", K_BOOL},  [F_CCAT] = {"hang", K_CAT},
    [F_GROUPS] = {"groups", K_GROUPS},
    [F_BMONTH] = {"birthday_month", K_INT}, [F_BDAYD] = {"birthday_day", K_INT},
    [F_BUCKET] = {"bucket", K_INT},       [F_ARCH] = {"archived", K_BOOL},
};

/* FIELD.CREATE for the custom ones */
static const struct {
    int f;
    const char *kind;
} CUSTOM[] = {{F_CTEXT, "text"}, {F_CNUM, "number"},  {F_CINT, "integer"},
              {F_CTIME, "time"}, {F_CBOOL, "bool"},   {F_CCAT, "category"}};

static const char *const GENDERS[] = {"male", "female", "other", "unknown"};
static const char *const TYPES[] = {"visitor", "lead", "customer"};
static const char *const STATUSES[] = {"never_subscribed", "subscribed", "unsubscribed"};
static const char *const RELS[] = {"new",  "approached", "hot",        "potential",
                                   "lost", "won",        "dont_forget"};
enum { T_VISITOR, T_LEAD, T_CUSTOMER };
enum { R_NEW, R_APPROACHED, R_HOT, R_POTENTIAL, R_LOST, R_WON, R_DONT_FORGET };

static size_t enum_members(int f, const char *const **m)
{
    switch (f) {
    case F_GENDER: *m = GENDERS; return NELEM(GENDERS);
    case F_TYPE: *m = TYPES; return NELEM(TYPES);
    case F_STATUS: *m = STATUSES; return NELEM(STATUSES);
    default: *m = RELS; return NELEM(RELS);
    }
}

/* Member index of a written or filter enum value, compared folded; -1 if none. */
static int enum_index(int f, const char *v)
{
    const char *const *m;
    size_t n = enum_members(f, &m);
    char *fv = nv_fold(v);
    int r = -1;
    for (size_t i = 0; i < n && r < 0; i++) {
        char *fm = nv_fold(m[i]);
        if (!strcmp(fm, fv))
            r = (int)i;
        free(fm);
    }
    free(fv);
    return r;
}

#define MAXTAGS 16

typedef struct nc {
    uint64_t id;
    bool live, archived;
    int64_t bucket;       /* read back from the engine, -1 when unknown */
    bool has[F_N];
    char *raw[F_N];       /* text-like values as written */
    char *key[F_N];       /* their matching form: folded / lower-cased / phone digits */
    int64_t iv[F_N];      /* integer, time, day number, enum index, bool */
    double dv[F_N];       /* number */
    int ntags;
    char *tag_key[MAXTAGS], *tag_raw[MAXTAGS];
    uint32_t groups; /* direct memberships, bit g = G[g] */
} nc;

/* Groups (SPEC 4.4): a tree; `group:CODE` matches members of CODE and of every
 * group below it; deleting a group moves its children up to its parent. */
#define MAXGROUPS 16
typedef struct ngroup {
    char *code, *key; /* as the engine made it, folded */
    int parent;       /* index in G, -1 at the top */
    bool alive;
} ngroup;
static ngroup G[MAXGROUPS];
static int NG;

static int group_by_key(const char *key)
{
    for (int g = 0; g < NG; g++)
        if (G[g].alive && !strcmp(G[g].key, key))
            return g;
    return -1;
}

/* Is c a member of the group whose folded code is key, or of one below it? */
static bool in_group(const nc *c, const char *key)
{
    for (int g = 0; g < NG; g++) {
        if (!(c->groups & (1u << g)))
            continue;
        for (int a = g; a >= 0; a = G[a].parent)
            if (G[a].alive && !strcmp(G[a].key, key))
                return true;
    }
    return false;
}

static nc *C;       /* every slot ever used; a slot keeps its id for life */
static size_t NC;
static size_t CAPC;

static void nc_clear(nc *c)
{
    for (int f = 0; f < F_N; f++) {
        free(c->raw[f]);
        free(c->key[f]);
        c->raw[f] = c->key[f] = NULL;
        c->has[f] = false;
    }
    for (int i = 0; i < c->ntags; i++) {
        free(c->tag_key[i]);
        free(c->tag_raw[i]);
    }
    c->ntags = 0;
    c->groups = 0;
}

static int64_t rel_effective(const nc *c)
{
    int64_t r = c->iv[F_REL];
    if (c->has[F_LASTC] && r != R_LOST && r != R_WON &&
        c->iv[F_LASTC] < g_now - (int64_t)g_dont_forget_days * 86400)
        return R_DONT_FORGET;
    return r;
}

static bool nc_present(const nc *c, int f)
{
    switch (f) {
    case F_BMONTH:
    case F_BDAYD: return c->has[F_BDAY];
    case F_BUCKET: return c->bucket >= 0;
    case F_ARCH: return true;
    case F_TAGS: return c->ntags > 0;
    case F_GROUPS: return c->groups != 0;
    default: return c->has[f];
    }
}

static int64_t nc_int(const nc *c, int f)
{
    int y, m, d;
    switch (f) {
    case F_BMONTH:
        civil_from_days(c->iv[F_BDAY], &y, &m, &d);
        return m;
    case F_BDAYD:
        civil_from_days(c->iv[F_BDAY], &y, &m, &d);
        return d;
    case F_BUCKET: return c->bucket;
    case F_ARCH: return c->archived;
    case F_REL: return rel_effective(c);
    default: return c->iv[f];
    }
}

/* ---- writes: a list of field/value pairs, applied to the engine and here -- */

typedef struct wlist {
    int n;
    int f[32];
    char *v[32];
    bool bad; /* contains a value the engine must refuse (all-or-nothing check) */
} wlist;

static void wl_add(wlist *w, int f, char *v)
{
    w->f[w->n] = f;
    w->v[w->n] = v;
    w->n++;
}

static bool wl_has(const wlist *w, int f)
{
    for (int i = 0; i < w->n; i++)
        if (w->f[i] == f)
            return true;
    return false;
}

static void wl_free(wlist *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->v[i]);
    w->n = 0;
}

static void set_text(nc *c, int f, const char *v)
{
    free(c->raw[f]);
    free(c->key[f]);
    c->raw[f] = xstrdup(v);
    c->key[f] = FD[f].kind == K_EMAIL ? nv_lower_ascii(v) : FD[f].kind == K_PHONE ? nv_phone(v)
                                                                                  : nv_fold(v);
    c->has[f] = true;
}

/* Apply a successful UPSERT to the model: SPEC 1, 4.1, 4.3 and 7. */
static void naive_apply(nc *c, const wlist *w, bool created)
{
    if (created) {
        nc_clear(c);
        c->live = true;
        c->archived = false;
    }
    bool touches_type = false;
    for (int i = 0; i < w->n; i++) {
        int f = w->f[i];
        const char *v = w->v[i];
        int64_t lo, hi;
        if (f == F_NAME || f == F_EMAIL || f == F_PHONE || f == F_PUR)
            touches_type = true;
        if (FD[f].kind != K_TAGS && FD[f].kind != K_GROUPS) { /* as written, for repro dumps and number values */
            free(c->raw[f]);
            c->raw[f] = xstrdup(v);
        }
        switch (FD[f].kind) {
        case K_TEXT:
        case K_EMAIL:
        case K_PHONE:
        case K_CAT:
            set_text(c, f, v);
            break;
        case K_ENUM:
            c->iv[f] = enum_index(f, v);
            c->has[f] = true;
            break;
        case K_TAGS: {
            for (int t = 0; t < c->ntags; t++) {
                free(c->tag_key[t]);
                free(c->tag_raw[t]);
            }
            c->ntags = 0;
            char *dup = xstrdup(v);
            for (char *save = NULL, *tok = strtok_r(dup, ";", &save); tok;
                 tok = strtok_r(NULL, ";", &save)) {
                char *k = nv_fold(tok);
                bool seen = false;
                for (int t = 0; t < c->ntags; t++)
                    if (!strcmp(c->tag_key[t], k))
                        seen = true;
                if (seen || c->ntags == MAXTAGS) {
                    free(k);
                    continue;
                }
                c->tag_key[c->ntags] = k;
                c->tag_raw[c->ntags] = xstrdup(tok);
                c->ntags++;
            }
            free(dup);
            break;
        }
        case K_GROUPS: { /* a ;-joined list of codes replaces the set */
            c->groups = 0;
            char *dup = xstrdup(v);
            for (char *save = NULL, *tok = strtok_r(dup, ";", &save); tok;
                 tok = strtok_r(NULL, ";", &save)) {
                char *k = nv_fold(tok);
                int g = group_by_key(k);
                if (g >= 0)
                    c->groups |= 1u << g;
                free(k);
            }
            free(dup);
            break;
        }
        case K_TIME:
            parse_time(v, &lo, &hi);
            c->iv[f] = lo;
            c->has[f] = true;
            break;
        case K_DATE:
            c->iv[f] = days_from_civil(strtol(v, NULL, 10), num2(v + 5), num2(v + 8));
            c->has[f] = true;
            break;
        case K_INT:
            c->iv[f] = strtoll(v, NULL, 10);
            c->has[f] = true;
            break;
        case K_NUM:
            c->dv[f] = strtod(v, NULL);
            c->has[f] = true;
            break;
        case K_BOOL:
            c->iv[f] = !strcmp(v, "yes");
            c->has[f] = true;
            break;
        }
    }
    /* created_at is set on first write if not given */
    if (created && !c->has[F_CREATED]) {
        c->has[F_CREATED] = true;
        c->iv[F_CREATED] = g_now;
    }
    /* a new contact starts as `new` (4.3) ... */
    if (created && !c->has[F_REL]) {
        c->has[F_REL] = true;
        c->iv[F_REL] = R_NEW;
    }
    /* ... and as never_subscribed: 4.2 makes never_subscribed the state a
     * contact is in until an opt-in write (the SPEC names no other start) */
    if (created && !c->has[F_STATUS]) {
        c->has[F_STATUS] = true;
        c->iv[F_STATUS] = 0;
    }
    /* 4.1: a write that names type is taken as written; one that sets name,
     * email, phone or purchases without naming it moves the type up only */
    if (!wl_has(w, F_TYPE) && (created || touches_type)) {
        int comp = (c->has[F_PUR] && c->iv[F_PUR] > 0)                       ? T_CUSTOMER
                   : (c->has[F_NAME] || c->has[F_EMAIL] || c->has[F_PHONE]) ? T_LEAD
                                                                            : T_VISITOR;
        if (created || !c->has[F_TYPE] || comp > c->iv[F_TYPE])
            c->iv[F_TYPE] = comp;
        c->has[F_TYPE] = true;
    }
}

/* ---- id -> slot map (ids are unique for the life of a run) --------------- */

static uint64_t *g_map_id;
static uint32_t *g_map_slot; /* slot + 1; 0 = empty */
static size_t g_map_cap;

static size_t map_pos(uint64_t id)
{
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & (g_map_cap - 1);
    while (g_map_slot[i] && g_map_id[i] != id)
        i = (i + 1) & (g_map_cap - 1);
    return i;
}

static long map_get(uint64_t id)
{
    size_t i = map_pos(id);
    return g_map_slot[i] ? (long)g_map_slot[i] - 1 : -1;
}

static void map_put(uint64_t id, size_t slot)
{
    size_t i = map_pos(id);
    g_map_id[i] = id;
    g_map_slot[i] = (uint32_t)slot + 1;
}

/* ======================================================================== */
/* random data: Vietnamese CRM contacts                                      */
/* ======================================================================== */

static const char *const SURNAMES[] = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh",
                                       "Phan",   "Vũ",   "Võ", "Đặng", "Bùi",   "Đỗ",
                                       "Hồ",     "Ngô",  "Dương", "Lý"};
static const char *const MIDDLES[] = {"Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc",
                                      "Thanh", "Quốc", "Xuân", "Thuỳ", "Thùy"};
static const char *const GIVENS[] = {
    "An",   "Bình", "Cường", "Dũng",  "Đạt",   "Hà",    "Hải",  "Hạnh", "Hiếu", "Hoa",
    "Hùng", "Hương", "Khánh", "Lan",  "Linh",  "Long",  "Mai",  "Nam",  "Nga",  "Ngân",
    "Phúc", "Phương", "Quân", "Quang", "Sơn",  "Tâm",   "Thảo", "Thắng", "Trang", "Trung",
    "Tuấn", "Vy",   "Yến",   "Đông",  "Ánh",   "Ưng",   "Ơn"};
static const char *const DOMAINS[] = {"gmail.com", "yahoo.com.vn", "fpt.vn", "outlook.com",
                                      "vnpt.vn",   "congty.vn",    "hotmail.com"};
static const char *const STREETS[] = {"Lê Lợi",         "Nguyễn Huệ",     "Trần Hưng Đạo",
                                      "Hai Bà Trưng",   "Điện Biên Phủ",  "Lý Thường Kiệt",
                                      "Phan Đình Phùng", "Đường Láng",    "Cách Mạng Tháng 8"};
static const char *const DISTRICTS[] = {"Quận 1",  "Ba Đình",  "Hoàn Kiếm", "Cầu Giấy",
                                        "Hải Châu", "Ninh Kiều", "Thủ Đức",  "Đống Đa"};
static const char *const NOTES[] = {"Gọi lại sau",      "Hỏi giá sỉ",   "Đã gửi báo giá",
                                    "Khách nói \"để suy nghĩ\"", "Hẹn gặp thứ Hai",
                                    "không nghe máy",   "KHÔNG NGHE MÁY", "quan tâm (gói B)",
                                    "it's ok"};
static const char *const PHONE_PREFIX[] = {"090", "091", "093", "094", "096", "097", "098",
                                           "032", "033", "035", "038", "070", "077", "081",
                                           "085", "088", "084"};

/* Category values: each row is one folded value in several spellings. */
static const char *const CITY_ROWS[][6] = {
    {"Hà Nội", "ha noi", "HA-NOI", "Hanoi", "hà nội", "Ha Noi"},
    {"Hồ Chí Minh", "Ho Chi Minh", "HO-CHI-MINH", "hochiminh", NULL},
    {"TP. Hồ Chí Minh", "tp ho chi minh", NULL},
    {"Đà Nẵng", "da nang", "Da-Nang", "ĐÀ NẴNG", NULL},
    {"Hải Phòng", "hai phong", NULL},
    {"Cần Thơ", "can tho", NULL},
    {"Huế", "HUẾ", "hue", NULL},
    {"Nha Trang", NULL},
    {"Đà Lạt", "da lat", NULL},
    {"Biên Hòa", "Biên Hoà", "bien hoa", NULL},
    {"Vũng Tàu", NULL},
    {"Quy Nhơn", NULL},
    {"Buôn Ma Thuột", NULL},
};
static const char *const CHANNEL_ROWS[][6] = {
    {"Facebook", "facebook", "FACEBOOK", NULL},
    {"Zalo", "zalo", NULL},
    {"Zalo OA", "zalo_oa", "ZALO-OA", NULL},
    {"Website", "web site", NULL},
    {"Instagram", NULL},
    {"TikTok", "tiktok", NULL},
    {"Shopee", NULL},
    {"Hotline", "hot-line", NULL},
};
static const char *const SOURCE_ROWS[][6] = {
    {"Quảng cáo Facebook", "quang cao facebook", NULL},
    {"Giới thiệu", "gioi thieu", "GIỚI THIỆU", NULL},
    {"Sự kiện", "su kien", NULL},
    {"Tự nhiên", NULL},
    {"Đối tác", "doi tac", NULL},
    {"Hội chợ", NULL},
};
static const char *const HANG_ROWS[][6] = {
    {"Vàng", "vang", NULL},
    {"Bạc", "BAC", NULL},
    {"Đồng", "dong", NULL},
    {"Kim cương", "kim-cuong", "KIM CƯƠNG", NULL},
};
static const char *const TAG_ROWS[][6] = {
    {"VIP", "vip", "Vip", NULL},
    {"Khách hàng mới", "khach_hang_moi", "KHÁCH-HÀNG-MỚI", "khach hang moi", NULL},
    {"Đã mua", "da mua", "DA_MUA", NULL},
    {"Tiềm năng", "tiem-nang", NULL},
    {"Black Friday 2023", "black_friday_2023", NULL},
    {"Quan tâm", "quan tam", NULL},
    {"Sinh nhật tháng 12", NULL},
    {"khach_vip", "Khách VIP", NULL},
    {"Đại lý", "dai ly", NULL},
    {"Hoàn tiền", NULL},
    {"zalo", NULL},
};

static const char *pick_row(const char *const rows[][6], size_t nrows, int skew)
{
    size_t r = coin(skew) ? rn(2) : rn((uint32_t)nrows);
    size_t n = 0;
    while (n < 6 && rows[r][n])
        n++;
    return rows[r][rn((uint32_t)n)];
}
#define PICK_ROW(rows, skew) pick_row(rows, NELEM(rows), skew)

/* Values that exist nowhere in the data (and some that exist only among the
 * deleted contacts, since deleted slots keep their raw values). */
static const char *nowhere_value(int f)
{
    static const char *const names[] = {"Lưu Bị", "Tào Tháo", "Nguyễn Văn Zzz"};
    static const char *const cities[] = {"Hà Giang", "Sa Pa", "Atlantis"};
    static const char *const channels[] = {"Telegram", "Viber"};
    static const char *const tags[] = {"khong_ton_tai", "Khách cũ", "VIP2"};
    switch (f) {
    case F_NAME: return PICK(names);
    case F_EMAIL: return "khong.co@example.com";
    case F_PHONE: return "0999 999 999";
    case F_ADDRESS: return "999 Đường Không Tên";
    case F_CTEXT: return "chưa có ghi chú này";
    case F_CITY: return PICK(cities);
    case F_CHANNEL: return PICK(channels);
    case F_SOURCE: return "Radio";
    case F_CCAT: return "Bạch kim";
    default: return PICK(tags);
    }
}

static char *gen_name(void)
{
    sbuf b = {0};
    if (coin(8)) {
        sb_puts(&b, PICK(GIVENS));
        sb_putc(&b, ' ');
        sb_puts(&b, PICK(SURNAMES));
    } else {
        sb_puts(&b, PICK(SURNAMES));
        sb_putc(&b, ' ');
        sb_puts(&b, PICK(MIDDLES));
        if (coin(25)) {
            sb_putc(&b, ' ');
            sb_puts(&b, PICK(MIDDLES));
        }
        sb_putc(&b, ' ');
        sb_puts(&b, PICK(GIVENS));
    }
    char *s = sb_take(&b);
    int r = (int)rn(100), k = r < 6 ? V_UPPER : r < 12 ? V_STRIP : r < 20 ? V_NFD : r < 24 ? V_LOWER : V_SAME;
    char *v = var_apply(s, k);
    free(s);
    return v;
}

static char *ascii_word(const char *s)
{
    char *st = var_apply(s, V_STRIP);
    char *lo = nv_lower_ascii(st);
    free(st);
    return lo;
}

static char *gen_email(void)
{
    char *g = ascii_word(PICK(GIVENS)), *s = ascii_word(PICK(SURNAMES));
    sbuf b = {0};
    switch (rn(4)) {
    case 0: sb_printf(&b, "%s.%s%u", g, s, rn(100)); break;
    case 1: sb_printf(&b, "%s%s%u", s, g, 1970 + rn(40)); break;
    case 2: sb_printf(&b, "%s_%s", g, s); break;
    default: sb_printf(&b, "%s.%s", s, g); break;
    }
    sb_printf(&b, "@%s", PICK(DOMAINS));
    free(g);
    free(s);
    char *e = sb_take(&b);
    int r = (int)rn(100);
    if (r < 50)
        return e;
    if (r < 70) {
        e[0] = (char)toupper((unsigned char)e[0]);
        char *at = strchr(e, '@');
        at[1] = (char)toupper((unsigned char)at[1]);
        return e;
    }
    char *v = var_apply(e, r < 80 ? V_UPPER : V_RANDCASE);
    free(e);
    return v;
}

/* digits: a national number 0xxxxxxxxx (or an 11-digit landline) */
static char *phone_format(const char *digits, int style)
{
    size_t n = strlen(digits);
    sbuf b = {0};
    if (digits[0] != '0')
        style = 0;
    switch (style) {
    case 1: /* 0912 345 678 */
        if (n == 10)
            sb_printf(&b, "%.4s %.3s %.3s", digits, digits + 4, digits + 7);
        else
            sb_printf(&b, "%.3s %.4s %s", digits, digits + 3, digits + 7);
        break;
    case 2: sb_printf(&b, "+84%s", digits + 1); break;
    case 3: sb_printf(&b, "84%s", digits + 1); break;
    case 4: sb_printf(&b, "+84 %.3s %.3s %s", digits + 1, digits + 4, digits + 7); break;
    case 5:
        if (n == 10)
            sb_printf(&b, "%.4s.%.3s.%.3s", digits, digits + 4, digits + 7);
        else
            sb_puts(&b, digits);
        break;
    case 6:
        if (n == 10)
            sb_printf(&b, "%.4s-%.3s-%.3s", digits, digits + 4, digits + 7);
        else
            sb_puts(&b, digits);
        break;
    default: sb_puts(&b, digits);
    }
    return sb_take(&b);
}

static char *gen_phone(void)
{
    sbuf b = {0};
    if (coin(8)) {
        sb_puts(&b, "024");
        for (int i = 0; i < 8; i++)
            sb_putc(&b, (char)('0' + rn(10)));
    } else {
        sb_puts(&b, PICK(PHONE_PREFIX));
        for (int i = 0; i < 7; i++)
            sb_putc(&b, (char)('0' + rn(10)));
    }
    char *d = sb_take(&b);
    char *p = phone_format(d, (int)rn(7));
    free(d);
    return p;
}

static char *gen_address(void)
{
    sbuf b = {0};
    if (coin(30))
        sb_printf(&b, "Số %u ngõ %u %s, %s", 1 + rn(200), 1 + rn(99), PICK(STREETS),
                  PICK(DISTRICTS));
    else
        sb_printf(&b, "%u %s, %s", 1 + rn(300), PICK(STREETS), PICK(DISTRICTS));
    return sb_take(&b);
}

static char *gen_enum(int f)
{
    const char *const *m;
    size_t n = enum_members(f, &m);
    if (f == F_REL)
        n = R_WON + 1; /* dont_forget is automatic, never written */
    const char *v = m[rn((uint32_t)n)];
    if (coin(85))
        return xstrdup(v);
    return var_apply(v, coin(50) ? V_UPPER : V_RANDCASE);
}

/* A time for a write, near `center`-`spread`..`center`; sometimes exactly on a
 * local day boundary, in one of the written formats. */
static char *gen_time_write(int64_t from, int64_t to)
{
    int64_t t = from + (int64_t)(rnd() % (uint64_t)(to - from + 1));
    if (coin(20)) {
        int64_t day = floor_div(t + g_tz, 86400);
        static const int64_t sods[] = {0, 86399, 43200, 1, 86398};
        t = day * 86400 - g_tz + PICK(sods);
    }
    sbuf b = {0};
    int r = (int)rn(100);
    int style = r < 40 ? TS_P7 : r < 65 ? TS_Z : r < 85 ? TS_LOCAL_SEC : r < 95 ? TS_P9 : TS_DATE;
    fmt_time(&b, t, style);
    return sb_take(&b);
}

static const int64_t T2018 = 1514739600; /* 2018-01-01T00:00:00+07:00 */

static char *gen_value(int f)
{
    sbuf b = {0};
    switch (f) {
    case F_NAME: return gen_name();
    case F_EMAIL: return gen_email();
    case F_PHONE: return gen_phone();
    case F_ADDRESS: return gen_address();
    case F_GENDER:
    case F_TYPE:
    case F_STATUS:
    case F_REL: return gen_enum(f);
    case F_CITY: return xstrdup(PICK_ROW(CITY_ROWS, 45));
    case F_CHANNEL: return xstrdup(PICK_ROW(CHANNEL_ROWS, 40));
    case F_SOURCE: return xstrdup(PICK_ROW(SOURCE_ROWS, 30));
    case F_CCAT: {
        const char *v = PICK_ROW(HANG_ROWS, 20);
        return coin(10) ? var_apply(v, V_NFD) : xstrdup(v);
    }
    case F_TAGS: {
        int n = 1 + (int)rn(4);
        for (int i = 0; i < n; i++) {
            if (i)
                sb_putc(&b, ';');
            const char *t = PICK_ROW(TAG_ROWS, 35);
            char *v = coin(10) ? var_apply(t, V_NFD) : xstrdup(t);
            sb_puts(&b, v);
            free(v);
        }
        return sb_take(&b);
    }
    case F_CREATED: return gen_time_write(T2018, g_now);
    case F_LASTC: return gen_time_write(g_now - 200 * 86400, g_now);
    case F_CTIME: return gen_time_write(g_now - 500 * 86400, g_now + 10 * 86400);
    case F_BDAY: {
        int y = 1960 + (int)rn(51), m = 1 + (int)rn(12), d = 1 + (int)rn((uint32_t)days_in_month(y, m));
        sb_printf(&b, "%04d-%02d-%02d", y, m, d);
        return sb_take(&b);
    }
    case F_WEB: sb_printf(&b, "%u", rn(300)); return sb_take(&b);
    case F_PUR: sb_printf(&b, "%u", coin(40) ? 0 : rn(21)); return sb_take(&b);
    case F_CINT: sb_printf(&b, "%u", rn(51)); return sb_take(&b);
    case F_REV: {
        unsigned base = rn(50000) * 1000;
        int r = (int)rn(3);
        if (r == 0)
            sb_printf(&b, "%u", base);
        else if (r == 1)
            sb_printf(&b, "%u.5", base);
        else
            sb_printf(&b, "%u.%02u", base, rn(100));
        return sb_take(&b);
    }
    case F_CNUM: sb_printf(&b, "%u.%u", rn(1001), rn(10)); return sb_take(&b);
    case F_WA:
    case F_HMAC:
    case F_CBOOL: return xstrdup(coin(50) ? "yes" : "no");
    case F_CTEXT: return xstrdup(PICK(NOTES));
    case F_GROUPS: {
        int k = 1 + (int)rn(2);
        for (int i = 0, tries = 0; i < k && tries < 20; tries++) {
            int g = (int)rn((uint32_t)NG);
            if (!G[g].alive)
                continue;
            if (i++)
                sb_putc(&b, ';');
            sb_puts(&b, G[g].code);
        }
        return sb_take(&b);
    }
    }
    return xstrdup("?");
}

/* Presence rates of a new contact's fields: each is absent for a good share. */
static const int PRESENT_PCT[F_WRITABLE] = {
    [F_NAME] = 75,   [F_EMAIL] = 55, [F_PHONE] = 60,   [F_ADDRESS] = 35, [F_GENDER] = 60,
    [F_CITY] = 70,   [F_CHANNEL] = 60, [F_SOURCE] = 45, [F_TYPE] = 12,   [F_STATUS] = 55,
    [F_REL] = 45,    [F_TAGS] = 55,  [F_CREATED] = 50, [F_LASTC] = 60,   [F_BDAY] = 45,
    [F_WEB] = 50,    [F_PUR] = 45,   [F_REV] = 40,     [F_WA] = 40,      [F_HMAC] = 35,
    [F_CTEXT] = 35,  [F_CNUM] = 40,  [F_CINT] = 40,    [F_CTIME] = 40,   [F_CBOOL] = 40,
    [F_CCAT] = 45,   [F_GROUPS] = 20,
};

static void gen_new_contact(wlist *w)
{
    w->n = 0;
    w->bad = false;
    for (int f = 0; f < F_WRITABLE; f++)
        if (coin(PRESENT_PCT[f]))
            wl_add(w, f, gen_value(f));
    if (w->n == 0)
        wl_add(w, F_CITY, gen_value(F_CITY));
    /* shuffle so type is not always named after name/email/phone */
    for (int i = w->n - 1; i > 0; i--) {
        int j = (int)rn((uint32_t)i + 1);
        int tf = w->f[i];
        char *tv = w->v[i];
        w->f[i] = w->f[j];
        w->v[i] = w->v[j];
        w->f[j] = tf;
        w->v[j] = tv;
    }
}

static void gen_update(wlist *w)
{
    w->n = 0;
    w->bad = false;
    int k = 1 + (int)rn(4);
    for (int i = 0; i < k; i++) {
        int f = (int)rn(F_WRITABLE);
        if (f == F_TYPE && coin(60))
            continue;
        if (!wl_has(w, f))
            wl_add(w, f, gen_value(f));
    }
    if (w->n == 0)
        wl_add(w, F_CHANNEL, gen_value(F_CHANNEL));
    if (coin(2)) {
        /* all-or-nothing: an invalid email spoils the whole write */
        w->bad = true;
        if (!wl_has(w, F_EMAIL))
            wl_add(w, F_EMAIL, xstrdup(coin(50) ? "khong-hop-le" : "an@@gmail"));
        else
            for (int i = 0; i < w->n; i++)
                if (w->f[i] == F_EMAIL) {
                    free(w->v[i]);
                    w->v[i] = xstrdup("khong-hop-le");
                }
    }
}

/* ======================================================================== */
/* the run: engine handle, counters, writes                                   */
/* ======================================================================== */

typedef struct run {
    segdb_t *db;
    size_t words;          /* bitset words for CAPC slots */
    uint64_t *live_bits;   /* live and not archived */
    uint64_t *all_bits;    /* live, archived or not */
    int phase;
    /* counters */
    uint64_t filters, leaf_filters, full_checks, mismatches, leaf_mismatches;
    uint64_t combo_mismatches, combo_unexplained, write_errors, bucket_errors, other_errors;
    uint64_t n_upsert, n_del, n_archive, n_tag, n_set, n_group;
    int detailed;
    int leaf_report[F_N + 4][16]; /* detailed reports per (field, op) */
    int leaf_count[F_N + 4][16];  /* term mismatches per (field, op) */
} run;

/* SEGDB_DIFF_TRACE=<id>: print every write that touches that contact (repros). */
static uint64_t g_trace_id;

static bool traced(const uint64_t *ids, size_t n)
{
    for (size_t i = 0; g_trace_id && i < n; i++)
        if (ids[i] == g_trace_id)
            return true;
    return false;
}

static void fail_note(run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_note(run *R, const char *fmt, ...)
{
    R->other_errors++;
    if (R->other_errors > 40)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "differential: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static uint64_t gen_id(void)
{
    for (;;) {
        uint64_t id;
        int r = (int)rn(10);
        if (r < 3)
            id = 1 + rn(2000000);
        else if (r < 5)
            id = 0x8000000000000000ull | rnd(); /* does not fit a signed 64-bit integer */
        else if (r < 6)
            id = UINT64_MAX - rn(1000);
        else
            id = rnd() >> rn(40);
        if (id && map_get(id) < 0)
            return id;
    }
}

static void read_bucket(run *R, nc *c)
{
    const char *fields[] = {"bucket"};
    segdb_strvec sv = {0};
    segdb_err err = {0};
    int rc = segdb_get(R->db, c->id, fields, 1, &sv, &err);
    int64_t b = -1;
    if (rc == 1 && sv.n >= 2 && sv.v[1]) {
        char *end;
        long long v = strtoll(sv.v[1], &end, 10);
        if (*end == 0 && v >= 0 && v <= 9999)
            b = v;
    }
    if (b < 0) {
        R->bucket_errors++;
        if (R->bucket_errors <= 10)
            fprintf(stderr, "differential: GET %" PRIu64 " bucket: rc %d, %zu items, value %s (%s)\n",
                    c->id, rc, sv.n, sv.n >= 2 && sv.v[1] ? sv.v[1] : "(nil)", err.msg);
    } else if (c->bucket >= 0 && b != c->bucket) {
        R->bucket_errors++;
        if (R->bucket_errors <= 10)
            fprintf(stderr, "differential: bucket of id %" PRIu64 " changed from %" PRId64 " to %" PRId64 "\n",
                    c->id, c->bucket, b);
    }
    if (b >= 0)
        c->bucket = b;
    segdb_strvec_free(&sv);
}

static void bits_set(uint64_t *b, size_t i, bool v)
{
    if (v)
        b[i >> 6] |= 1ull << (i & 63);
    else
        b[i >> 6] &= ~(1ull << (i & 63));
}

static bool bits_get(const uint64_t *b, size_t i) { return (b[i >> 6] >> (i & 63)) & 1; }

/* Slots changed by the last write(s): the term pool's answers for them are
 * recomputed when writes are interleaved with queries. */
static size_t g_touched[64];
static size_t g_ntouched;

static void refresh_universe(run *R, size_t slot)
{
    bits_set(R->all_bits, slot, C[slot].live);
    bits_set(R->live_bits, slot, C[slot].live && !C[slot].archived);
    if (g_ntouched < NELEM(g_touched))
        g_touched[g_ntouched++] = slot;
}

/* UPSERT on slot (new contact when it is not live). */
static void do_upsert(run *R, size_t slot, wlist *w)
{
    nc *c = &C[slot];
    segdb_kv kv[32];
    for (int i = 0; i < w->n; i++) {
        kv[i].name = FD[w->f[i]].name;
        kv[i].value = w->v[i];
        kv[i].value_len = strlen(w->v[i]);
    }
    /* field names are case-insensitive: now and then write one upper-cased */
    char upname[32][40];
    for (int i = 0; i < w->n; i++)
        if (coin(4)) {
            snprintf(upname[i], sizeof upname[i], "%s", kv[i].name);
            for (char *p = upname[i]; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            kv[i].name = upname[i];
        }
    int created = -1;
    segdb_err err = {0};
    R->n_upsert++;
    int rc = segdb_upsert(R->db, c->id, kv, (size_t)w->n, &created, &err);
    bool expect_created = !c->live;
    if (traced(&c->id, 1)) {
        fprintf(stderr, "trace: phase %d now %" PRId64 ": UPSERT %" PRIu64, R->phase, g_now, c->id);
        for (int i = 0; i < w->n; i++)
            fprintf(stderr, " %s <%s>", kv[i].name, w->v[i]);
        fprintf(stderr, " -> rc %d created %d %s\n", rc, created, err.msg);
    }
    if (w->bad) {
        if (rc >= 0) {
            R->write_errors++;
            fprintf(stderr, "differential: UPSERT %" PRIu64 " with an invalid email was accepted\n", c->id);
            /* the engine applied it: mirror so later checks stay meaningful */
            wlist ok = *w;
            ok.n = 0;
            for (int i = 0; i < w->n; i++)
                if (w->f[i] != F_EMAIL) {
                    ok.f[ok.n] = w->f[i];
                    ok.v[ok.n++] = w->v[i];
                }
            naive_apply(c, &ok, expect_created);
        }
    } else if (rc != 0) {
        R->write_errors++;
        if (R->write_errors <= 20) {
            fprintf(stderr, "differential: UPSERT %" PRIu64 " failed (%d): %s\n  fields:", c->id, rc, err.msg);
            for (int i = 0; i < w->n; i++)
                fprintf(stderr, " %s=<%s>", FD[w->f[i]].name, w->v[i]);
            fprintf(stderr, "\n");
        }
        return;
    } else {
        if (created != (int)expect_created) {
            R->write_errors++;
            fprintf(stderr, "differential: UPSERT %" PRIu64 " reported created=%d, expected %d\n", c->id,
                    created, (int)expect_created);
        }
        naive_apply(c, w, expect_created);
    }
    refresh_universe(R, slot);
    if (c->live)
        read_bucket(R, c);
}

static size_t new_slot(void);

static int cmp_slot_by_id(const void *a, const void *b);

/* New contacts through segdb_upsert_batch: slots[0..n) are fresh slots with
 * ascending ids above every id written so far, so the engine applies the batch
 * column by column (its bulk-load path), which must leave what n UPSERTs
 * would. Field names are upper-cased now and then, as in do_upsert. */
static void do_upsert_batch(run *R, const size_t *slots, wlist *ws, size_t n)
{
    segdb_contact *cs = xcalloc(n, sizeof *cs);
    segdb_kv *kvs = xcalloc(n * 32, sizeof *kvs);
    char (*upname)[40] = xcalloc(n * 32, 40);
    for (size_t k = 0; k < n; k++) {
        wlist *w = &ws[k];
        segdb_kv *kv = kvs + k * 32;
        for (int i = 0; i < w->n; i++) {
            kv[i].name = FD[w->f[i]].name;
            kv[i].value = w->v[i];
            kv[i].value_len = strlen(w->v[i]);
            if (coin(4)) {
                char *u = upname[k * 32 + (size_t)i];
                snprintf(u, 40, "%s", kv[i].name);
                for (char *q = u; *q; q++)
                    *q = (char)toupper((unsigned char)*q);
                kv[i].name = u;
            }
        }
        cs[k] = (segdb_contact){.id = C[slots[k]].id, .kv = kv, .n = (size_t)w->n};
    }
    uint64_t created = 0;
    segdb_err err = {0};
    R->n_upsert += n;
    int rc = segdb_upsert_batch(R->db, cs, n, &created, &err);
    if (rc != 0 || created != n) {
        R->write_errors++;
        fprintf(stderr, "differential: a batch of %zu new contacts: rc %d, created %" PRIu64 ": %s\n", n, rc,
                created, err.msg);
    }
    if (rc == 0)
        for (size_t k = 0; k < n; k++) {
            naive_apply(&C[slots[k]], &ws[k], true);
            refresh_universe(R, slots[k]);
            read_bucket(R, &C[slots[k]]);
        }
    free(upname);
    free(kvs);
    free(cs);
}

static size_t new_slot(void)
{
    if (NC == CAPC) {
        fprintf(stderr, "differential: slot capacity exceeded\n");
        abort();
    }
    nc *c = &C[NC];
    memset(c, 0, sizeof *c);
    c->id = gen_id();
    c->bucket = -1;
    map_put(c->id, NC);
    return NC++;
}

static int cmp_slot_by_id(const void *a, const void *b)
{
    uint64_t x = C[*(const size_t *)a].id, y = C[*(const size_t *)b].id;
    return (x > y) - (x < y);
}

/* A random slot: live and not archived (live), or deleted (!live). */
static long pick_slot(bool live)
{
    for (int tries = 0; tries < 200; tries++) {
        size_t s = rn((uint32_t)NC);
        if (C[s].live == live && !(live && C[s].archived))
            return (long)s;
    }
    return -1;
}

static long pick_archived(void)
{
    for (int tries = 0; tries < 400; tries++) {
        size_t s = rn((uint32_t)NC);
        if (C[s].live && C[s].archived)
            return (long)s;
    }
    return -1;
}

/* ARCHIVE (or UNARCHIVE) ID ...: SPEC 4.6 */
static void do_archive(run *R, bool archive)
{
    uint64_t ids[6];
    size_t slots[6], n = 0;
    uint64_t want = 0;
    int k = 1 + (int)rn(5);
    for (int i = 0; i < k; i++) {
        long s = archive ? (coin(85) ? pick_slot(true) : pick_archived()) : (coin(85) ? pick_archived() : pick_slot(true));
        if (s < 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            if (slots[j] == (size_t)s)
                dup = true;
        if (dup)
            continue;
        slots[n] = (size_t)s;
        ids[n++] = C[s].id;
        if (C[s].archived != archive)
            want++;
    }
    if (!n)
        return;
    segdb_target t;
    memset(&t, 0, sizeof t);
    t.ids = ids;
    t.nids = n;
    uint64_t changed = 0;
    segdb_err err = {0};
    R->n_archive++;
    int rc = archive ? segdb_archive(R->db, &t, &changed, &err) : segdb_unarchive(R->db, &t, &changed, &err);
    if (traced(ids, n))
        fprintf(stderr, "trace: phase %d: %s (%zu ids) -> rc %d\n", R->phase, archive ? "ARCHIVE" : "UNARCHIVE", n, rc);
    if (rc != 0 || changed != want) {
        R->write_errors++;
        fprintf(stderr, "differential: %s of %zu ids: rc %d (%s), changed %" PRIu64 ", expected %" PRIu64 "\n",
                archive ? "ARCHIVE" : "UNARCHIVE", n, rc, err.msg, changed, want);
        if (rc != 0)
            return;
    }
    for (size_t i = 0; i < n; i++) {
        C[slots[i]].archived = archive;
        refresh_universe(R, slots[i]);
    }
}

/* 1-4 target slots for TAG/UNTAG/SET: mostly live ones, now and then an
 * archived one (skipped / rejected) or a deleted id (unknown: skipped). */
static size_t pick_targets(size_t *slots, uint64_t *ids, size_t max)
{
    size_t n = 0;
    int k = 1 + (int)rn((uint32_t)max);
    for (int i = 0; i < k; i++) {
        int r = (int)rn(100);
        long s = r < 85 ? pick_slot(true) : r < 95 ? pick_archived() : pick_slot(false);
        if (s < 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            if (slots[j] == (size_t)s)
                dup = true;
        if (dup)
            continue;
        slots[n] = (size_t)s;
        ids[n++] = C[s].id;
    }
    return n;
}

static int tag_index(const nc *c, const char *key)
{
    for (int t = 0; t < c->ntags; t++)
        if (!strcmp(c->tag_key[t], key))
            return t;
    return -1;
}

/* TAG / UNTAG tag ID ...: one label added / removed, the rest of the set kept;
 * archived contacts skipped and not counted. */
static void do_tag(run *R, bool add)
{
    size_t slots[4];
    uint64_t ids[4];
    size_t n = pick_targets(slots, ids, 4);
    if (!n)
        return;
    const char *raw = coin(90) ? PICK_ROW(TAG_ROWS, 30) : "Khách cũ";
    char *key = nv_fold(raw);
    uint64_t want = 0;
    for (size_t i = 0; i < n; i++) {
        const nc *c = &C[slots[i]];
        if (c->live && !c->archived && (tag_index(c, key) >= 0) != add)
            want++;
    }
    segdb_target t;
    memset(&t, 0, sizeof t);
    t.ids = ids;
    t.nids = n;
    uint64_t changed = 0;
    segdb_err err = {0};
    R->n_tag++;
    int rc = add ? segdb_tag(R->db, raw, &t, &changed, &err) : segdb_untag(R->db, raw, &t, &changed, &err);
    if (traced(ids, n))
        fprintf(stderr, "trace: phase %d: %s <%s> (%zu ids) -> rc %d\n", R->phase, add ? "TAG" : "UNTAG", raw, n, rc);
    if (rc != 0 || changed != want) {
        R->write_errors++;
        fprintf(stderr, "differential: %s <%s> on %zu ids: rc %d (%s), changed %" PRIu64 ", expected %" PRIu64 "\n",
                add ? "TAG" : "UNTAG", raw, n, rc, err.msg, changed, want);
    }
    if (rc == 0)
        for (size_t i = 0; i < n; i++) {
            nc *c = &C[slots[i]];
            if (!c->live || c->archived)
                continue;
            int at = tag_index(c, key);
            if (add && at < 0 && c->ntags < MAXTAGS) {
                c->tag_key[c->ntags] = xstrdup(key);
                c->tag_raw[c->ntags] = xstrdup(raw);
                c->ntags++;
            } else if (!add && at >= 0) {
                free(c->tag_key[at]);
                free(c->tag_raw[at]);
                c->tag_key[at] = c->tag_key[c->ntags - 1];
                c->tag_raw[at] = c->tag_raw[c->ntags - 1];
                c->ntags--;
            }
            refresh_universe(R, slots[i]);
        }
    free(key);
}

/* SET field value ID ...: like a one-field UPSERT on each target (type moves
 * up on name/email/phone/purchases, is taken as written for type), an empty
 * value clears the field; archived targets and forbidden status moves (4.2:
 * only subscribed <-> unsubscribed by hand) are rejected and counted. */
static void do_set(run *R)
{
    static const int clearable[] = {F_ADDRESS, F_GENDER, F_CITY,  F_CHANNEL, F_SOURCE, F_LASTC,
                                    F_BDAY,    F_WEB,    F_REV,   F_WA,      F_HMAC,   F_CTEXT,
                                    F_CNUM,    F_CINT,   F_CTIME, F_CBOOL,   F_CCAT};
    size_t slots[4];
    uint64_t ids[4];
    int f;
    char *v;
    size_t n;
    uint64_t want_rejected = 0;
    if (coin(15)) {
        /* a status move on one live contact, allowed or not */
        long s = pick_slot(true);
        if (s < 0)
            return;
        slots[0] = (size_t)s;
        ids[0] = C[s].id;
        n = 1;
        f = F_STATUS;
        int64_t cur = C[s].iv[F_STATUS];
        int64_t to = cur == 1 ? (coin(70) ? 2 : 0) : cur == 2 ? (coin(70) ? 1 : 0) : 1 + (int64_t)rn(2);
        v = xstrdup(STATUSES[to]);
        bool allowed = (cur == 1 && to == 2) || (cur == 2 && to == 1);
        if (!allowed)
            want_rejected++;
    } else {
        n = pick_targets(slots, ids, 4);
        if (!n)
            return;
        if (coin(20)) {
            f = PICK(clearable);
            v = xstrdup("");
        } else {
            do
                f = (int)rn(F_WRITABLE);
            while (f == F_TAGS || f == F_STATUS || f == F_GROUPS);
            v = gen_value(f);
        }
        for (size_t i = 0; i < n; i++)
            if (C[slots[i]].live && C[slots[i]].archived)
                want_rejected++;
    }
    segdb_target t;
    memset(&t, 0, sizeof t);
    t.ids = ids;
    t.nids = n;
    uint64_t changed = 0, rejected = 0;
    segdb_err err = {0};
    R->n_set++;
    int rc = segdb_set(R->db, FD[f].name, v, strlen(v), &t, &changed, &rejected, &err);
    if (traced(ids, n))
        fprintf(stderr, "trace: phase %d: SET %s <%s> (%zu ids) -> rc %d changed %" PRIu64 " rejected %" PRIu64 "\n",
                R->phase, FD[f].name, v, n, rc, changed, rejected);
    if (rc != 0 || rejected != want_rejected || changed + rejected > n) {
        R->write_errors++;
        fprintf(stderr, "differential: SET %s <%s> on %zu ids: rc %d (%s), changed %" PRIu64 " rejected %" PRIu64
                        ", expected rejected %" PRIu64 "\n", FD[f].name, v, n, rc, err.msg, changed, rejected, want_rejected);
    }
    if (rc == 0)
        for (size_t i = 0; i < n; i++) {
            nc *c = &C[slots[i]];
            if (!c->live || c->archived || (f == F_STATUS && want_rejected))
                continue;
            if (!*v) {
                free(c->raw[f]);
                free(c->key[f]);
                c->raw[f] = c->key[f] = NULL;
                c->has[f] = false;
            } else {
                wlist w = {0};
                wl_add(&w, f, v);
                naive_apply(c, &w, false);
            }
            refresh_universe(R, slots[i]);
        }
    free(v);
}

/* GROUP.CREATE the test's tree: two top groups with children and a
 * grandchild, and a second "Khách VIP" (its code gets a suffix). */
static void create_groups(run *R)
{
    static const struct {
        const char *name;
        int parent;
    } tree[] = {{"Khách VIP", -1},   {"VIP Hà Nội", 0},    {"VIP Sài Gòn", 0},
                {"Đại lý", -1},      {"Đại lý cấp 1", 3},  {"Đại lý cấp 2", 4},
                {"Nhân viên", -1},   {"Khách VIP", -1},    {"Cộng tác viên", 6}};
    NG = 0;
    for (size_t i = 0; i < NELEM(tree); i++) {
        char *code = NULL;
        segdb_err err = {0};
        int rc = segdb_group_create(R->db, tree[i].name, tree[i].parent >= 0 ? G[tree[i].parent].code : NULL,
                                    &code, &err);
        if (rc != 0 || !code) {
            fail_note(R, "GROUP.CREATE %s failed (%d): %s", tree[i].name, rc, err.msg);
            free(code);
            continue;
        }
        G[NG].code = code;
        G[NG].key = nv_fold(code);
        G[NG].parent = tree[i].parent;
        G[NG].alive = true;
        NG++;
    }
}

/* GROUP.ADD / GROUP.REMOVE code ID ...: archived contacts skipped. */
static void do_group(run *R, bool add)
{
    if (!NG)
        return;
    int g = (int)rn((uint32_t)NG);
    if (!G[g].alive)
        return;
    size_t slots[4];
    uint64_t ids[4];
    size_t n = pick_targets(slots, ids, 4);
    if (!n)
        return;
    uint64_t want = 0;
    for (size_t i = 0; i < n; i++) {
        const nc *c = &C[slots[i]];
        if (c->live && !c->archived && ((c->groups >> g) & 1) != add)
            want++;
    }
    segdb_target t;
    memset(&t, 0, sizeof t);
    t.ids = ids;
    t.nids = n;
    uint64_t changed = 0;
    segdb_err err = {0};
    R->n_group++;
    int rc = add ? segdb_group_add(R->db, G[g].code, &t, &changed, &err)
                 : segdb_group_remove(R->db, G[g].code, &t, &changed, &err);
    if (traced(ids, n))
        fprintf(stderr, "trace: phase %d: GROUP.%s %s (%zu ids) -> rc %d\n", R->phase, add ? "ADD" : "REMOVE",
                G[g].code, n, rc);
    if (rc != 0 || changed != want) {
        R->write_errors++;
        fprintf(stderr, "differential: GROUP.%s %s on %zu ids: rc %d (%s), changed %" PRIu64 ", expected %" PRIu64 "\n",
                add ? "ADD" : "REMOVE", G[g].code, n, rc, err.msg, changed, want);
    }
    if (rc == 0)
        for (size_t i = 0; i < n; i++) {
            nc *c = &C[slots[i]];
            if (!c->live || c->archived)
                continue;
            if (add)
                c->groups |= 1u << g;
            else
                c->groups &= ~(1u << g);
            refresh_universe(R, slots[i]);
        }
}

/* GROUP.DEL: children move up to the parent, members lose the group. */
static void do_group_del(run *R, int g)
{
    if (g >= NG || !G[g].alive)
        return;
    segdb_err err = {0};
    R->n_group++;
    int rc = segdb_group_del(R->db, G[g].code, &err);
    if (rc != 0) {
        R->write_errors++;
        fprintf(stderr, "differential: GROUP.DEL %s failed (%d): %s\n", G[g].code, rc, err.msg);
        return;
    }
    for (int k = 0; k < NG; k++)
        if (G[k].parent == g)
            G[k].parent = G[g].parent;
    G[g].alive = false;
    for (size_t s = 0; s < NC; s++)
        C[s].groups &= ~(1u << g);
}

/* UPSERT of an archived contact is -ERR naming UNARCHIVE, and changes nothing. */
static void try_upsert_archived(run *R)
{
    long s = pick_archived();
    if (s < 0)
        return;
    segdb_kv kv[1] = {{"city", "Hà Nội", strlen("Hà Nội")}};
    int created = -1;
    segdb_err err = {0};
    int rc = segdb_upsert(R->db, C[s].id, kv, 1, &created, &err);
    if (rc >= 0 || !strstr(err.msg, "UNARCHIVE")) {
        R->write_errors++;
        fprintf(stderr, "differential: UPSERT of archived %" PRIu64 ": rc %d, message <%s> (SPEC: -ERR naming UNARCHIVE)\n",
                C[s].id, rc, err.msg);
        if (rc == 0)
            set_text(&C[s], F_CITY, "Hà Nội");
    }
}

static void do_delete(run *R)
{
    uint64_t ids[4];
    size_t slots[4];
    size_t n = 0, want = 0;
    int k = 1 + (int)rn(3);
    for (int i = 0; i < k; i++) {
        long s = coin(10) ? pick_archived() : pick_slot(true); /* DEL takes archived ones too */
        if (s < 0)
            continue;
        bool dup = false;
        for (size_t j = 0; j < n; j++)
            if (slots[j] == (size_t)s)
                dup = true;
        if (dup)
            continue;
        slots[n] = (size_t)s;
        ids[n++] = C[s].id;
        want++;
    }
    if (coin(15)) {
        long s = pick_slot(false); /* already deleted: not counted */
        if (s >= 0) {
            slots[n] = (size_t)s;
            ids[n++] = C[s].id;
        }
    }
    if (!n)
        return;
    uint64_t deleted = 0;
    segdb_err err = {0};
    R->n_del++;
    int rc = segdb_del(R->db, ids, n, &deleted, &err);
    if (traced(ids, n))
        fprintf(stderr, "trace: phase %d: DEL (%zu ids) -> rc %d\n", R->phase, n, rc);
    if (rc != 0 || deleted != want) {
        R->write_errors++;
        fprintf(stderr, "differential: DEL of %zu ids: rc %d (%s), deleted %" PRIu64 ", expected %zu\n", n,
                rc, err.msg, deleted, want);
        if (rc != 0)
            return;
    }
    for (size_t i = 0; i < n; i++) {
        C[slots[i]].live = false;
        C[slots[i]].archived = false;
        refresh_universe(R, slots[i]);
    }
}

/* ======================================================================== */
/* filter terms (leaves) and their naive evaluation                           */
/* ======================================================================== */

enum {
    OP_COLON, OP_IN, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_CONTAINS,
    OP_HAS, OP_MISSING, OP_Q, OP_REACH, OP_N
};
static const char *const OP_NAME[OP_N] = {":",  ":(..)", "=",   "!=",      "<",  "<=", ">",
                                          ">=", "~",     "has", "missing", "q:", "reachable"};
enum { RCH_EMAIL, RCH_SMS, RCH_WHATSAPP, RCH_WEB };
static const char *const REACH_NAME[] = {"email", "sms", "whatsapp", "web"};

#define MAXV 5

typedef struct leaf {
    char *text;
    int f, op, nv;
    char *key[MAXV];           /* string keys; for q: folded, lower-cased, phone digits */
    int64_t lo[MAXV], hi[MAXV];/* integer / time / day / enum / bool values as intervals */
    double d[MAXV];            /* number values */
    int reach;
    bool names_archived;
    bool bad;                  /* disagreed when checked alone */
    uint64_t *bits;            /* the naive answer over all slots (live ones) */
} leaf;

static bool leaf_match(const leaf *L, const nc *c)
{
    int f = L->f;
    switch (L->op) {
    case OP_HAS: return nc_present(c, f);
    case OP_MISSING: return !nc_present(c, f);
    case OP_Q:
        /* SPEC 7: q:v is name~v OR email~v OR phone~v (phone only when v has digits) */
        if (c->has[F_NAME] && strstr(c->key[F_NAME], L->key[0]))
            return true;
        if (c->has[F_EMAIL] && strstr(c->key[F_EMAIL], L->key[1]))
            return true;
        if (L->key[2] && c->has[F_PHONE] && strstr(c->key[F_PHONE], L->key[2]))
            return true;
        return false;
    case OP_REACH:
        switch (L->reach) {
        case RCH_EMAIL: return c->has[F_EMAIL];
        case RCH_SMS: return c->has[F_PHONE];
        case RCH_WHATSAPP: return c->has[F_PHONE] && c->has[F_WA] && c->iv[F_WA];
        default: return c->has[F_HMAC] && c->iv[F_HMAC];
        }
    }
    /* a contact without the field matches no comparison on it */
    if (!nc_present(c, f))
        return false;
    switch (FD[f].kind) {
    case K_GROUPS: {
        bool any = false;
        for (int v = 0; v < L->nv && !any; v++)
            any = in_group(c, L->key[v]);
        return L->op == OP_NE ? !any : any;
    }
    case K_TAGS: {
        bool any = false;
        for (int t = 0; t < c->ntags && !any; t++)
            for (int v = 0; v < L->nv; v++)
                if (!strcmp(c->tag_key[t], L->key[v]))
                    any = true;
        return L->op == OP_NE ? !any : any;
    }
    case K_TEXT:
    case K_EMAIL:
    case K_PHONE:
    case K_CAT: {
        const char *k = c->key[f];
        if (L->op == OP_CONTAINS)
            return strstr(k, L->key[0]) != NULL;
        bool eq = false;
        for (int v = 0; v < L->nv; v++)
            if (!strcmp(k, L->key[v]))
                eq = true;
        return L->op == OP_NE ? !eq : eq;
    }
    case K_NUM: {
        double x = c->dv[f];
        switch (L->op) {
        case OP_NE: return x != L->d[0];
        case OP_LT: return x < L->d[0];
        case OP_LE: return x <= L->d[0];
        case OP_GT: return x > L->d[0];
        case OP_GE: return x >= L->d[0];
        default:
            for (int v = 0; v < L->nv; v++)
                if (x == L->d[v])
                    return true;
            return false;
        }
    }
    default: {
        /* integers, enums, bools, days, times: a value is [lo, hi]; a date
         * without a time is its whole day: < and >= cut at its start, <= and >
         * at its end (SPEC 7) */
        int64_t x = nc_int(c, f);
        switch (L->op) {
        case OP_NE: return !(x >= L->lo[0] && x <= L->hi[0]);
        case OP_LT: return x < L->lo[0];
        case OP_LE: return x <= L->hi[0];
        case OP_GT: return x > L->hi[0];
        case OP_GE: return x >= L->lo[0];
        default:
            for (int v = 0; v < L->nv; v++)
                if (x >= L->lo[v] && x <= L->hi[v])
                    return true;
            return false;
        }
    }
    }
}

static void leaf_free(leaf *L)
{
    free(L->text);
    for (int v = 0; v < MAXV; v++)
        free(L->key[v]);
    free(L->bits);
    memset(L, 0, sizeof *L);
}

/* ---- printing a term ----------------------------------------------------- */

static bool is_keyword(const char *v)
{
    return !strcasecmp(v, "and") || !strcasecmp(v, "or") || !strcasecmp(v, "not");
}

static bool needs_quote(const char *v)
{
    if (!*v || is_keyword(v) || strchr(":~<>=!", v[0]))
        return true;
    for (const char *p = v; *p; p++)
        if (strchr(" \t\r\n(),'\"\\", *p))
            return true;
    return false;
}

/* A value as a user would type it: bare when it can be, else quoted with ' or
 * " (a backslash escapes the quote and itself); quoted now and then anyway. */
static void put_value(sbuf *b, const char *v)
{
    if (!needs_quote(v) && !coin(12)) {
        sb_puts(b, v);
        return;
    }
    char q = coin(50) ? '"' : '\'';
    sb_putc(b, q);
    for (const char *p = v; *p; p++) {
        if (*p == q || *p == '\\')
            sb_putc(b, '\\');
        sb_putc(b, *p);
    }
    sb_putc(b, q);
}

/* Field names and keywords are case-insensitive. */
static void put_word(sbuf *b, const char *w)
{
    int r = (int)rn(12);
    for (size_t i = 0; w[i]; i++) {
        char ch = w[i];
        if (r == 0 || (r == 1 && i == 0))
            ch = (char)toupper((unsigned char)ch);
        sb_putc(b, ch);
    }
}

static void put_op(sbuf *b, int op)
{
    static const char *const s[] = {[OP_EQ] = "=", [OP_NE] = "!=", [OP_LT] = "<",  [OP_LE] = "<=",
                                    [OP_GT] = ">", [OP_GE] = ">=", [OP_CONTAINS] = "~"};
    if (op == OP_COLON || op == OP_IN) {
        sb_putc(b, ':');
        return;
    }
    if (coin(55))
        sb_putc(b, ' ');
    sb_puts(b, s[op]);
    if (coin(55))
        sb_putc(b, ' ');
}

/* ---- choosing values ------------------------------------------------------ */

/* A random slot (live or deleted) that has field f, or -1. */
static long slot_with(int f)
{
    for (int tries = 0; tries < 40; tries++) {
        size_t s = rn((uint32_t)NC);
        if (f == F_TAGS ? C[s].ntags > 0 : nc_present(&C[s], f))
            return (long)s;
    }
    return -1;
}

static const char *const (*cat_rows(int f, size_t *n))[6]
{
    switch (f) {
    case F_CITY: *n = NELEM(CITY_ROWS); return CITY_ROWS;
    case F_CHANNEL: *n = NELEM(CHANNEL_ROWS); return CHANNEL_ROWS;
    case F_SOURCE: *n = NELEM(SOURCE_ROWS); return SOURCE_ROWS;
    case F_CCAT: *n = NELEM(HANG_ROWS); return HANG_ROWS;
    default: *n = NELEM(TAG_ROWS); return TAG_ROWS;
    }
}

/* A value for an equality-like term on a text, email, phone, category or tag
 * field: usually one that exists (any spelling), sometimes one that exists
 * nowhere. Returns the value as typed; *key gets its matching form. */
static char *str_value(int f, char **key)
{
    int kind = FD[f].kind;
    char *v;
    long s = slot_with(f);
    if (s >= 0 && coin(85)) {
        const nc *c = &C[s];
        if (f == F_TAGS)
            v = xstrdup(c->tag_raw[rn((uint32_t)c->ntags)]);
        else if (kind == K_PHONE)
            v = phone_format(c->key[F_PHONE], (int)rn(7));
        else
            v = xstrdup(c->raw[f]);
    } else if ((kind == K_CAT || kind == K_TAGS) && coin(50)) {
        size_t n;
        const char *const(*rows)[6] = cat_rows(f, &n);
        v = xstrdup(rows[rn((uint32_t)n)][0]);
    } else {
        v = xstrdup(nowhere_value(f));
    }
    if (kind == K_EMAIL) {
        if (coin(40)) {
            char *x = var_apply(v, coin(50) ? V_UPPER : V_RANDCASE);
            free(v);
            v = x;
        }
        *key = nv_lower_ascii(v);
    } else if (kind == K_PHONE) {
        *key = nv_phone(v);
    } else {
        if (coin(60)) {
            char *x = var_random(v);
            free(v);
            v = x;
        }
        *key = nv_fold(v);
    }
    return v;
}

/* A value for `field ~ v`. */
static char *contains_value(int f, char **key)
{
    int kind = FD[f].kind;
    long s = slot_with(f);
    const char *src = s >= 0 && coin(90) ? C[s].raw[f] : nowhere_value(f);
    char *v;
    if (kind == K_PHONE) {
        char *d = s >= 0 ? xstrdup(C[s].key[F_PHONE]) : digits_of(src);
        size_t n = strlen(d), len = 3 + rn(6);
        if (len > n)
            len = n;
        size_t st = coin(30) ? 0 : rn((uint32_t)(n - len + 1));
        sbuf b = {0};
        if (st == 0 && d[0] == '0' && coin(50)) {
            sb_puts(&b, coin(50) ? "+84" : "84");
            sb_putn(&b, d + 1, len - 1);
        } else {
            sb_putn(&b, d + st, len);
        }
        free(d);
        v = sb_take(&b);
        if (coin(15) && strlen(v) >= 4) { /* "345 678": quoted, digits only count */
            sbuf b2 = {0};
            size_t h = strlen(v) / 2;
            sb_putn(&b2, v, h);
            sb_putc(&b2, ' ');
            sb_puts(&b2, v + h);
            free(v);
            v = sb_take(&b2);
        }
        *key = nv_phone_query(v);
        return v;
    }
    if (kind == K_EMAIL) {
        char *lo = nv_lower_ascii(src);
        size_t n = strlen(lo), len = 2 + rn(9);
        if (len > n)
            len = n;
        size_t st = rn((uint32_t)(n - len + 1));
        sbuf b = {0};
        sb_putn(&b, src + st, len);
        free(lo);
        v = sb_take(&b);
        if (coin(40)) {
            char *x = var_apply(v, V_RANDCASE);
            free(v);
            v = x;
        }
        *key = nv_lower_ascii(v);
        return v;
    }
    v = u8_substr(src);
    if (coin(50)) {
        char *x = var_random(v);
        free(v);
        v = x;
    }
    *key = nv_fold(v);
    if (!**key) { /* folded to nothing: use the whole value */
        free(v);
        free(*key);
        v = xstrdup(src);
        *key = nv_fold(v);
    }
    return v;
}

static char *enum_value(int f, int64_t *idx)
{
    const char *const *m;
    size_t n = enum_members(f, &m);
    size_t i = f == F_REL && coin(30) ? R_DONT_FORGET : rn((uint32_t)n);
    *idx = (int64_t)i;
    const char *v = m[i];
    switch (rn(9)) {
    case 0: return var_apply(v, V_UPPER);
    case 1: { /* "Never Subscribed" */
        char *x = xstrdup(v);
        bool start = true;
        for (char *p = x; *p; p++) {
            if (*p == '_') {
                *p = ' ';
                start = true;
            } else if (start) {
                *p = (char)toupper((unsigned char)*p);
                start = false;
            }
        }
        return x;
    }
    case 2: {
        char *x = xstrdup(v);
        for (char *p = x; *p; p++)
            if (*p == '_')
                *p = '-';
        return x;
    }
    case 3: {
        char *x = nv_fold(v);
        return x;
    }
    case 4: return var_apply(v, V_RANDCASE);
    default: return xstrdup(v);
    }
}

static void int_range(int f, int64_t *lo, int64_t *hi)
{
    switch (f) {
    case F_WEB: *lo = 0; *hi = 300; break;
    case F_PUR: *lo = 0; *hi = 21; break;
    case F_CINT: *lo = 0; *hi = 51; break;
    case F_BMONTH: *lo = 1; *hi = 12; break;
    case F_BDAYD: *lo = 1; *hi = 31; break;
    default: *lo = 0; *hi = 9999; break;
    }
}

/* An integer value; printed with leading zeros now and then (`purchases:012`). */
static void int_value(int f, sbuf *b, int64_t *val)
{
    int64_t lo, hi, v;
    int_range(f, &lo, &hi);
    long s = slot_with(f);
    if (s >= 0 && coin(60))
        v = nc_int(&C[s], f);
    else
        v = lo + (int64_t)rn((uint32_t)(hi - lo + 1));
    if (f != F_BMONTH && f != F_BDAYD && coin(3))
        v = -1;
    *val = v;
    if (v >= 0 && coin(12))
        sb_printf(b, "%03" PRId64, v);
    else
        sb_printf(b, "%" PRId64, v);
}

static void num_value(int f, sbuf *b, double *val)
{
    long s = slot_with(f);
    size_t start = b->n;
    if (s >= 0 && coin(60)) {
        if (coin(50))
            sb_puts(b, C[s].raw[f]);
        else
            sb_printf(b, "%.2f", C[s].dv[f]);
    } else if (f == F_REV) {
        sb_printf(b, "%u%s", rn(50000) * 1000, coin(30) ? ".5" : "");
    } else {
        sb_printf(b, "%u.%u", rn(1001), rn(10));
    }
    *val = strtod(b->p + start, NULL);
}

/* A time value as typed, with its interval: relative, a whole day, an exact
 * instant from the data, or a random instant, in every written form. */
static void time_value(int f, int op, sbuf *out, int64_t *lo, int64_t *hi)
{
    static const char *const rel[] = {"now", "-30d", "-7d", "-1d", "-12h", "-90m",
                                      "+7d", "-365d", "-60d", "+1h", "-31d", "-29d"};
    sbuf b = {0};
    int r = (int)rn(100);
    long s = slot_with(f);
    bool eq = op == OP_COLON || op == OP_EQ || op == OP_NE || op == OP_IN;
    if (r < 25 && !(eq && coin(70))) {
        if (coin(50))
            sb_puts(&b, PICK(rel));
        else {
            static const char units[] = {'d', 'h', 'm'};
            char u = units[rn(3)];
            uint32_t k = u == 'd' ? 1 + rn(400) : u == 'h' ? 1 + rn(72) : 1 + rn(600);
            sb_printf(&b, "%s%u%c", coin(85) ? "-" : "+", k, u);
        }
    } else if (r < 60) {
        int64_t t = s >= 0 && coin(70) ? C[s].iv[f] : g_now - (int64_t)rn(400) * 86400;
        fmt_time(&b, t, TS_DATE);
    } else if (r < 85 && s >= 0) {
        static const int st[] = {TS_LOCAL_SEC, TS_Z, TS_P7, TS_P9, TS_M5};
        fmt_time(&b, C[s].iv[f], PICK(st));
    } else {
        int64_t t = g_now - (int64_t)(rnd() % (400ull * 86400)) + (coin(10) ? 30 * 86400 : 0);
        fmt_time(&b, t, (int)rn(TS_N));
    }
    if (f == F_CREATED && eq && coin(5)) {
        b.n = 0;
        sb_puts(&b, "now"); /* created_at defaults to the clock: exact hits */
    }
    if (!parse_time(b.p, lo, hi)) {
        fprintf(stderr, "differential: internal: unparsable time %s\n", b.p);
        abort();
    }
    put_value(out, b.p);
    free(b.p);
}

static void date_value(int f, sbuf *out, int64_t *day)
{
    long s = slot_with(f);
    int64_t d = s >= 0 && coin(60) ? C[s].iv[f]
                                   : days_from_civil(1960, 1, 1) + (int64_t)rn(51 * 366);
    int y, m, dd;
    civil_from_days(d, &y, &m, &dd);
    *day = d;
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, m, dd);
    put_value(out, tmp);
}

static int pick_op(const int *w, int n)
{
    int tot = 0;
    for (int i = 0; i < n; i++)
        tot += w[2 * i + 1];
    int r = (int)rn((uint32_t)tot);
    for (int i = 0; i < n; i++) {
        if (r < w[2 * i + 1])
            return w[2 * i];
        r -= w[2 * i + 1];
    }
    return w[0];
}

/* One value of field f for op into b; fills slot v of L. */
static void leaf_value(leaf *L, int f, int op, int v, sbuf *b)
{
    int kind = FD[f].kind;
    switch (kind) {
    case K_TEXT:
    case K_EMAIL:
    case K_PHONE:
    case K_CAT:
    case K_TAGS: {
        char *x = op == OP_CONTAINS ? contains_value(f, &L->key[v]) : str_value(f, &L->key[v]);
        put_value(b, x);
        free(x);
        break;
    }
    case K_ENUM: {
        char *x = enum_value(f, &L->lo[v]);
        L->hi[v] = L->lo[v];
        put_value(b, x);
        free(x);
        break;
    }
    case K_TIME: time_value(f, op, b, &L->lo[v], &L->hi[v]); break;
    case K_DATE:
        date_value(f, b, &L->lo[v]);
        L->hi[v] = L->lo[v];
        break;
    case K_INT: {
        sbuf t = {0};
        int_value(f, &t, &L->lo[v]);
        L->hi[v] = L->lo[v];
        put_value(b, t.p);
        free(t.p);
        break;
    }
    case K_NUM: {
        sbuf t = {0};
        num_value(f, &t, &L->d[v]);
        put_value(b, t.p);
        free(t.p);
        break;
    }
    case K_BOOL: {
        bool yes = coin(50);
        L->lo[v] = L->hi[v] = yes;
        sb_puts(b, yes ? "yes" : "no");
        break;
    }
    }
}

static const int TEXT_OPS[] = {OP_COLON, 25, OP_EQ, 10, OP_NE, 15, OP_CONTAINS, 35, OP_IN, 15};
static const int CAT_OPS[] = {OP_COLON, 35, OP_EQ, 5, OP_NE, 20, OP_IN, 25, OP_CONTAINS, 15};
static const int ENUM_OPS[] = {OP_COLON, 45, OP_EQ, 10, OP_NE, 20, OP_IN, 25};
static const int ORD_OPS[] = {OP_COLON, 15, OP_EQ, 8,  OP_NE, 10, OP_LT, 13,
                              OP_LE,    13, OP_GT, 13, OP_GE, 13, OP_IN, 15};
static const int BOOL_OPS[] = {OP_COLON, 60, OP_EQ, 15, OP_NE, 25};

/* Fields has:/missing: are tried on. */
static const int HAS_FIELDS[] = {F_NAME,  F_EMAIL, F_PHONE,  F_ADDRESS, F_GENDER, F_CITY,
                                 F_CHANNEL, F_SOURCE, F_TYPE, F_STATUS, F_REL,   F_TAGS,
                                 F_CREATED, F_LASTC, F_BDAY, F_WEB,   F_PUR,    F_REV,
                                 F_WA,    F_HMAC,  F_CTEXT,  F_CNUM,    F_CINT,   F_CTIME,
                                 F_CBOOL, F_CCAT,  F_BMONTH, F_BUCKET, F_GROUPS};

static void gen_leaf(leaf *L)
{
    static const int text_f[] = {F_NAME, F_ADDRESS, F_CTEXT};
    static const int enum_f[] = {F_GENDER, F_TYPE, F_STATUS, F_REL, F_REL};
    static const int cat_f[] = {F_CITY, F_CITY, F_CHANNEL, F_SOURCE, F_CCAT};
    static const int time_f[] = {F_CREATED, F_LASTC, F_LASTC, F_CTIME};
    static const int int_f[] = {F_WEB, F_PUR, F_PUR, F_CINT, F_BMONTH, F_BDAYD, F_BUCKET};
    static const int num_f[] = {F_REV, F_CNUM};
    static const int bool_f[] = {F_WA, F_HMAC, F_CBOOL};
    memset(L, 0, sizeof *L);
    sbuf b = {0};
    int r = (int)rn(137);
    int f, op;
    if (r >= 131) { /* groups: the tree */
        f = F_GROUPS;
        int k = (int)rn(100);
        op = k < 60 ? OP_COLON : k < 85 ? OP_IN : OP_NE;
        put_word(&b, op == OP_NE || coin(25) ? "groups" : "group");
        put_op(&b, op);
        L->nv = op == OP_IN ? 2 + (int)rn(2) : 1;
        if (op == OP_IN)
            sb_putc(&b, '(');
        for (int v = 0; v < L->nv; v++) {
            if (v)
                sb_puts(&b, coin(50) ? ", " : ",");
            const char *code = NG && coin(85) ? G[rn((uint32_t)NG)].code : "NHOM_KHONG_CO";
            char *x = coin(30) ? var_apply(code, coin(50) ? V_LOWER : V_RANDCASE) : xstrdup(code);
            L->key[v] = nv_fold(x);
            put_value(&b, x);
            free(x);
        }
        if (op == OP_IN)
            sb_putc(&b, ')');
    } else if (r < 8) { /* has: / missing: */
        f = PICK(HAS_FIELDS);
        op = coin(50) ? OP_HAS : OP_MISSING;
        put_word(&b, op == OP_HAS ? "has" : "missing");
        sb_putc(&b, ':');
        put_word(&b, FD[f].name);
    } else if (r < 17) { /* q: keyword */
        f = F_NAME;
        op = OP_Q;
        char *v = NULL;
        for (int tries = 0; tries < 10; tries++) {
            free(v);
            int k = (int)rn(10);
            long s;
            if (k < 4 && (s = slot_with(F_NAME)) >= 0) {
                /* a word of a name, or a piece of it, any spelling */
                char *w = coin(50) ? u8_substr(C[s].raw[F_NAME]) : xstrdup(C[s].raw[F_NAME]);
                char *sp = strchr(w, ' ');
                if (sp && coin(70))
                    *sp = 0;
                v = var_random(w);
                free(w);
            } else if (k < 6 && (s = slot_with(F_EMAIL)) >= 0) {
                char *lo = NULL;
                v = contains_value(F_EMAIL, &lo);
                free(lo);
            } else if (k < 8 && (s = slot_with(F_PHONE)) >= 0) {
                char *lo = NULL;
                v = contains_value(F_PHONE, &lo);
                free(lo);
            } else {
                v = xstrdup(coin(50) ? "nguyen" : coin(50) ? "xyzkhong" : "Trần");
            }
            char *fk = nv_fold(v);
            bool ok = fk[0] != 0;
            free(fk);
            if (ok)
                break;
        }
        L->key[0] = nv_fold(v);
        L->key[1] = nv_lower_ascii(v);
        L->key[2] = has_digit(v) ? nv_phone_query(v) : NULL;
        put_word(&b, "q");
        sb_putc(&b, ':');
        put_value(&b, v);
        free(v);
    } else if (r < 19) {
        op = OP_REACH;
        f = F_EMAIL;
        L->reach = (int)rn(4);
        put_word(&b, "reachable");
        sb_putc(&b, ':');
        sb_puts(&b, REACH_NAME[L->reach]);
    } else if (r < 22) { /* naming archived opts into archived contacts */
        f = F_ARCH;
        op = coin(70) ? OP_COLON : OP_NE;
        L->names_archived = true;
        bool yes = coin(50);
        L->nv = 1;
        L->lo[0] = L->hi[0] = yes;
        put_word(&b, "archived");
        put_op(&b, op);
        sb_puts(&b, yes ? "yes" : "no");
    } else if (r < 33) { /* tags */
        f = F_TAGS;
        int k = (int)rn(100);
        const char *fname = coin(70) ? "tag" : "tags";
        op = k < 60 ? OP_COLON : k < 85 ? OP_IN : OP_NE;
        if (op == OP_NE)
            fname = "tags";
        put_word(&b, fname);
        put_op(&b, op);
        L->nv = op == OP_IN ? 2 + (int)rn(3) : 1;
        if (op == OP_IN)
            sb_putc(&b, '(');
        for (int v = 0; v < L->nv; v++) {
            if (v)
                sb_puts(&b, coin(50) ? ", " : ",");
            leaf_value(L, f, op, v, &b);
        }
        if (op == OP_IN)
            sb_putc(&b, ')');
    } else {
        const int *ops;
        int nops;
        if (r < 46) {
            f = PICK(text_f);
            ops = TEXT_OPS;
            nops = (int)NELEM(TEXT_OPS) / 2;
        } else if (r < 53) {
            f = F_EMAIL;
            ops = TEXT_OPS;
            nops = (int)NELEM(TEXT_OPS) / 2;
        } else if (r < 61) {
            f = F_PHONE;
            ops = TEXT_OPS;
            nops = (int)NELEM(TEXT_OPS) / 2;
        } else if (r < 75) {
            f = PICK(enum_f);
            ops = ENUM_OPS;
            nops = (int)NELEM(ENUM_OPS) / 2;
        } else if (r < 88) {
            f = PICK(cat_f);
            ops = CAT_OPS;
            nops = (int)NELEM(CAT_OPS) / 2;
        } else if (r < 104) {
            f = PICK(time_f);
            ops = ORD_OPS;
            nops = (int)NELEM(ORD_OPS) / 2;
        } else if (r < 108) {
            f = F_BDAY;
            ops = ORD_OPS;
            nops = (int)NELEM(ORD_OPS) / 2;
        } else if (r < 119) {
            f = PICK(int_f);
            ops = ORD_OPS;
            nops = (int)NELEM(ORD_OPS) / 2;
        } else if (r < 125) {
            f = PICK(num_f);
            ops = ORD_OPS;
            nops = (int)NELEM(ORD_OPS) / 2;
        } else {
            f = PICK(bool_f);
            ops = BOOL_OPS;
            nops = (int)NELEM(BOOL_OPS) / 2;
        }
        op = pick_op(ops, nops);
        put_word(&b, FD[f].name);
        put_op(&b, op);
        L->nv = op == OP_IN ? 2 + (int)rn(3) : 1;
        if (op == OP_IN)
            sb_putc(&b, '(');
        for (int v = 0; v < L->nv; v++) {
            if (v)
                sb_puts(&b, coin(50) ? ", " : ",");
            leaf_value(L, f, op, v, &b);
        }
        if (op == OP_IN)
            sb_putc(&b, ')');
    }
    L->f = f;
    L->op = op;
    L->text = sb_take(&b);
}

/* ======================================================================== */
/* composite filters                                                          */
/* ======================================================================== */

enum { T_LEAF, T_AND, T_OR, T_NOT };

typedef struct tnode {
    int kind, leaf, nk;
    struct tnode *k[3];
} tnode;

static tnode *tn_new(int kind)
{
    tnode *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->leaf = -1;
    return n;
}

static void tn_free(tnode *n)
{
    if (!n)
        return;
    for (int i = 0; i < n->nk; i++)
        tn_free(n->k[i]);
    free(n);
}

static tnode *tn_gen(int depth, int maxd, int npool, int *budget)
{
    if (depth >= maxd || *budget <= 1 || (depth > 0 && coin(30))) {
        tnode *n = tn_new(T_LEAF);
        n->leaf = (int)rn((uint32_t)npool);
        (*budget)--;
        return n;
    }
    int r = (int)rn(100);
    tnode *n = tn_new(r < 40 ? T_AND : r < 75 ? T_OR : T_NOT);
    n->nk = n->kind == T_NOT ? 1 : 2 + (int)rn(2);
    for (int i = 0; i < n->nk; i++)
        n->k[i] = tn_gen(depth + 1, maxd, npool, budget);
    return n;
}

static bool g_plain; /* print without random decoration (shrinking, repros) */

static void tn_print(sbuf *b, const tnode *n, const leaf *pool);

static void tn_print_kid(sbuf *b, const tnode *kid, bool need_paren, const leaf *pool)
{
    bool paren = need_paren || (!g_plain && coin(6));
    if (paren) {
        sb_putc(b, '(');
        if (!g_plain && coin(10))
            sb_putc(b, ' ');
    }
    tn_print(b, kid, pool);
    if (paren) {
        if (!g_plain && coin(10))
            sb_putc(b, ' ');
        sb_putc(b, ')');
    }
}

static void tn_print(sbuf *b, const tnode *n, const leaf *pool)
{
    static const char *const and_j[] = {" AND ", " and ", " ", " ", " And "};
    static const char *const or_j[] = {" OR ", " or ", " Or "};
    static const char *const not_k[] = {"NOT", "not", "Not"};
    switch (n->kind) {
    case T_LEAF: sb_puts(b, pool[n->leaf].text); break;
    case T_NOT: {
        const tnode *kid = n->k[0];
        bool need = kid->kind == T_AND || kid->kind == T_OR;
        sb_puts(b, g_plain ? "NOT" : PICK(not_k));
        if (!need || g_plain || coin(70))
            sb_putc(b, ' ');
        tn_print_kid(b, kid, need, pool);
        break;
    }
    case T_AND:
        for (int i = 0; i < n->nk; i++) {
            if (i)
                sb_puts(b, g_plain ? " AND " : PICK(and_j));
            tn_print_kid(b, n->k[i], n->k[i]->kind == T_OR, pool);
        }
        break;
    case T_OR:
        for (int i = 0; i < n->nk; i++) {
            if (i)
                sb_puts(b, g_plain ? " OR " : PICK(or_j));
            tn_print_kid(b, n->k[i], false, pool);
        }
        break;
    }
}

static char *tn_text(const tnode *n, const leaf *pool)
{
    sbuf b = {0};
    if (!g_plain && coin(4)) {
        sb_putc(&b, '(');
        tn_print(&b, n, pool);
        sb_putc(&b, ')');
    } else {
        tn_print(&b, n, pool);
    }
    return sb_take(&b);
}

static bool tn_names_archived(const tnode *n, const leaf *pool)
{
    if (n->kind == T_LEAF)
        return pool[n->leaf].names_archived;
    for (int i = 0; i < n->nk; i++)
        if (tn_names_archived(n->k[i], pool))
            return true;
    return false;
}

/* The naive answer: per-row booleans combined; NOT is the complement within
 * the universe U. */
static void tn_eval(const tnode *n, const leaf *pool, const uint64_t *U, size_t W, uint64_t *out)
{
    switch (n->kind) {
    case T_LEAF:
        for (size_t w = 0; w < W; w++)
            out[w] = pool[n->leaf].bits[w] & U[w];
        return;
    case T_NOT: {
        uint64_t *t = xmalloc(W * sizeof *t);
        tn_eval(n->k[0], pool, U, W, t);
        for (size_t w = 0; w < W; w++)
            out[w] = U[w] & ~t[w];
        free(t);
        return;
    }
    default: {
        uint64_t *t = xmalloc(W * sizeof *t);
        tn_eval(n->k[0], pool, U, W, out);
        for (int i = 1; i < n->nk; i++) {
            tn_eval(n->k[i], pool, U, W, t);
            for (size_t w = 0; w < W; w++)
                out[w] = n->kind == T_AND ? out[w] & t[w] : out[w] | t[w];
        }
        free(t);
    }
    }
}

static uint64_t bits_count(const uint64_t *b, size_t W)
{
    uint64_t n = 0;
    for (size_t w = 0; w < W; w++)
        n += (uint64_t)__builtin_popcountll(b[w]);
    return n;
}

/* ======================================================================== */
/* comparing with the engine                                                  */
/* ======================================================================== */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* All ids of FIND WHERE filter, page by page (by id, the default order). */
static int engine_ids(segdb_t *db, const char *filter, uint64_t **out, size_t *n, segdb_err *err)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    for (uint64_t off = 0;;) {
        segdb_find_req rq;
        memset(&rq, 0, sizeof rq);
        rq.filter = filter;
        rq.offset = off;
        rq.limit = SEGDB_MAX_FIND_LIMIT;
        segdb_find_res rs;
        memset(&rs, 0, sizeof rs);
        int rc = segdb_find(db, &rq, &rs, err);
        if (rc != 0)
            return rc;
        if (*n + rs.n > cap) {
            cap = (*n + rs.n) * 2 + 16;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        if (rs.n)
            memcpy(*out + *n, rs.ids, rs.n * sizeof *rs.ids);
        *n += rs.n;
        size_t got = rs.n;
        segdb_find_res_free(&rs);
        if (got < SEGDB_MAX_FIND_LIMIT)
            break;
        off += got;
    }
    return 0;
}

static void dump_contact(const nc *c)
{
    fprintf(stderr, "      id %" PRIu64 "%s bucket=%" PRId64, c->id, c->live ? "" : " (deleted)", c->bucket);
    for (int f = 0; f < F_WRITABLE; f++) {
        if (!c->has[f] && !(f == F_TAGS && c->ntags))
            continue;
        if (f == F_GROUPS)
            continue;
        int64_t lo = c->iv[f];
        int y, m, d;
        switch (FD[f].kind) {
        case K_TEXT:
        case K_EMAIL:
        case K_PHONE:
        case K_CAT: fprintf(stderr, " %s=<%s>", FD[f].name, c->raw[f]); break;
        case K_ENUM:
            fprintf(stderr, " %s=%s", FD[f].name,
                    f == F_REL ? RELS[lo] : f == F_TYPE ? TYPES[lo] : f == F_STATUS ? STATUSES[lo] : GENDERS[lo]);
            if (f == F_REL && rel_effective(c) != lo)
                fprintf(stderr, "(now dont_forget)");
            break;
        case K_GROUPS: break;
        case K_TAGS:
            fprintf(stderr, " tags=<");
            for (int t = 0; t < c->ntags; t++)
                fprintf(stderr, "%s%s", t ? ";" : "", c->tag_raw[t]);
            fprintf(stderr, ">");
            break;
        case K_TIME: {
            sbuf b = {0};
            fmt_time(&b, lo, TS_P7);
            fprintf(stderr, " %s=%s(%" PRId64 ")", FD[f].name, b.p, lo);
            free(b.p);
            break;
        }
        case K_DATE:
            civil_from_days(lo, &y, &m, &d);
            fprintf(stderr, " %s=%04d-%02d-%02d", FD[f].name, y, m, d);
            break;
        case K_INT: fprintf(stderr, " %s=%" PRId64, FD[f].name, lo); break;
        case K_NUM: fprintf(stderr, " %s=%s", FD[f].name, c->raw[f] ? c->raw[f] : "?"); break;
        case K_BOOL: fprintf(stderr, " %s=%s", FD[f].name, lo ? "yes" : "no"); break;
        }
    }
    if (c->groups) {
        fprintf(stderr, " groups=<");
        for (int g = 0, first = 1; g < NG; g++)
            if (c->groups & (1u << g)) {
                fprintf(stderr, "%s%s", first ? "" : ";", G[g].code);
                first = 0;
            }
        fprintf(stderr, ">");
    }
    fprintf(stderr, "\n");
}

/* Engine vs naive for one filter. full: compare the id sets too. report:
 * print the details of a disagreement. Returns true when they agree. */
static bool check_filter(run *R, const char *text, const uint64_t *want, bool full, bool report,
                         const char *what)
{
    size_t W = R->words;
    segdb_err err = {0};
    uint64_t cnt = 0;
    int rc = segdb_count(R->db, text, &cnt, &err);
    uint64_t exp = bits_count(want, W);
    bool ok = rc == 0 && cnt == exp;
    uint64_t *ids = NULL;
    size_t nids = 0;
    int frc = 0;
    segdb_err ferr = {0};
    if ((ok && full) || (!ok && report && rc == 0)) {
        frc = engine_ids(R->db, text, &ids, &nids, &ferr);
        if (full)
            R->full_checks++;
        if (frc != 0) {
            ok = false;
        } else {
            bool sorted = true;
            for (size_t i = 1; i < nids; i++)
                if (ids[i - 1] >= ids[i])
                    sorted = false;
            if (!sorted) {
                ok = false;
                if (report)
                    fprintf(stderr, "differential: FIND ids not in ascending id order for %s\n", text);
            }
            if (nids != exp)
                ok = false;
            else
                for (size_t i = 0; i < nids && ok; i++) {
                    long s = map_get(ids[i]);
                    if (s < 0 || !bits_get(want, (size_t)s))
                        ok = false;
                }
        }
    }
    if (!ok && report) {
        fprintf(stderr, "\nMISMATCH [phase %d, %s] filter: %s\n", R->phase, what, text);
        if (rc != 0)
            fprintf(stderr, "  engine: error %d (%s): %s   naive: %" PRIu64 "\n", rc,
                    segdb_err_word(rc), err.msg, exp);
        else
            fprintf(stderr, "  engine COUNT: %" PRIu64 "   naive: %" PRIu64 "%s\n", cnt, exp,
                    ids && nids != cnt ? "   (engine FIND returned a different number!)" : "");
        if (frc != 0)
            fprintf(stderr, "  engine FIND failed: %d %s\n", frc, ferr.msg);
        if (ids) {
            qsort(ids, nids, sizeof *ids, cmp_u64);
            int shown = 0;
            /* in the engine's answer but not the naive one */
            for (size_t i = 0; i < nids && shown < 4; i++) {
                long s = map_get(ids[i]);
                if (s < 0 || !bits_get(want, (size_t)s)) {
                    if (!shown)
                        fprintf(stderr, "    engine only:\n");
                    if (s >= 0)
                        dump_contact(&C[s]);
                    else
                        fprintf(stderr, "      id %" PRIu64 " (never written!)\n", ids[i]);
                    shown++;
                }
            }
            shown = 0;
            for (size_t s = 0; s < NC && shown < 4; s++) {
                if (!bits_get(want, s))
                    continue;
                if (!bsearch(&C[s].id, ids, nids, sizeof *ids, cmp_u64)) {
                    if (!shown)
                        fprintf(stderr, "    naive only:\n");
                    dump_contact(&C[s]);
                    shown++;
                }
            }
        }
    }
    free(ids);
    return ok;
}

/* ---- shrinking a disagreeing composite ----------------------------------- */

static int tn_size(const tnode *n)
{
    int s = 1;
    for (int i = 0; i < n->nk; i++)
        s += tn_size(n->k[i]);
    return s;
}

static tnode **tn_slot(tnode **root, int *idx)
{
    if ((*idx)-- == 0)
        return root;
    for (int i = 0; i < (*root)->nk; i++) {
        tnode **r = tn_slot(&(*root)->k[i], idx);
        if (r)
            return r;
    }
    return NULL;
}

static bool tn_disagrees(run *R, const tnode *t, const leaf *pool)
{
    size_t W = R->words;
    const uint64_t *U = tn_names_archived(t, pool) ? R->all_bits : R->live_bits;
    uint64_t *want = xmalloc(W * sizeof *want);
    tn_eval(t, pool, U, W, want);
    char *text = tn_text(t, pool);
    bool ok = check_filter(R, text, want, true, false, "shrink");
    free(text);
    free(want);
    return !ok;
}

static tnode *shrink(run *R, tnode *root, const leaf *pool)
{
    g_plain = true;
    bool progress = true;
    while (progress) {
        progress = false;
        int sz = tn_size(root);
        for (int i = 0; i < sz && !progress; i++) {
            int idx = i;
            tnode **s = tn_slot(&root, &idx);
            tnode *n = *s;
            for (int j = 0; !progress && j < n->nk; j++) { /* n may be freed */
                *s = n->k[j];
                if (tn_disagrees(R, root, pool)) {
                    n->k[j] = NULL;
                    tn_free(n);
                    progress = true;
                } else {
                    *s = n;
                }
            }
            if (!progress && n->kind != T_NOT && n->nk > 2) {
                for (int j = 0; !progress && j < n->nk; j++) {
                    tnode *kid = n->k[j];
                    for (int m = j; m < n->nk - 1; m++)
                        n->k[m] = n->k[m + 1];
                    n->nk--;
                    if (tn_disagrees(R, root, pool)) {
                        tn_free(kid);
                        progress = true;
                    } else {
                        for (int m = n->nk; m > j; m--)
                            n->k[m] = n->k[m - 1];
                        n->k[j] = kid;
                        n->nk++;
                    }
                }
            }
        }
    }
    g_plain = false;
    return root;
}

/* ======================================================================== */
/* one phase                                                                  */
/* ======================================================================== */

static void one_write(run *R);

static void check_phase(run *R, int nleaves, int ncomposite)
{
    size_t W = R->words;
    /* COUNT with no WHERE: every non-archived live contact */
    {
        uint64_t cnt = 0;
        segdb_err err = {0};
        int rc = segdb_count(R->db, NULL, &cnt, &err);
        uint64_t exp = bits_count(R->live_bits, W);
        if (rc != 0 || cnt != exp)
            fail_note(R, "phase %d: COUNT without WHERE = %" PRIu64 " (rc %d %s), expected %" PRIu64,
                      R->phase, cnt, rc, err.msg, exp);
    }
    /* the pool of terms, each evaluated row by row over every slot */
    leaf *pool = xcalloc((size_t)nleaves, sizeof *pool);
    for (int i = 0; i < nleaves; i++) {
        leaf *L = &pool[i];
        gen_leaf(L);
        L->bits = xcalloc(W, sizeof *L->bits);
        for (size_t s = 0; s < NC; s++)
            if (C[s].live && leaf_match(L, &C[s]))
                bits_set(L->bits, s, true);
    }
    /* each term alone: a disagreement here is a minimal repro */
    uint64_t *want = xmalloc(W * sizeof *want);
    for (int i = 0; i < nleaves; i++) {
        leaf *L = &pool[i];
        const uint64_t *U = L->names_archived ? R->all_bits : R->live_bits;
        for (size_t w = 0; w < W; w++)
            want[w] = L->bits[w] & U[w];
        int fk = L->op == OP_Q ? F_N : L->op == OP_REACH ? F_N + 1 : L->op == OP_HAS || L->op == OP_MISSING ? F_N + 2 : L->f;
        int *seen = &R->leaf_report[fk][L->op];
        bool report = *seen < 3 && R->detailed < 80;
        R->filters++;
        R->leaf_filters++;
        if (!check_filter(R, L->text, want, i % 50 == 0, report, "term")) {
            L->bad = true;
            R->mismatches++;
            R->leaf_mismatches++;
            (*seen)++;
            R->leaf_count[fk][L->op]++;
            if (report)
                R->detailed++;
        }
    }
    /* composites, with a write now and then between them (indexes may batch
     * their updates until the next query: that path must agree too) */
    for (int i = 0; i < ncomposite; i++) {
        if (i % 40 == 39) {
            g_ntouched = 0;
            one_write(R);
            for (size_t t = 0; t < g_ntouched; t++) {
                size_t s = g_touched[t];
                for (int j = 0; j < nleaves; j++)
                    bits_set(pool[j].bits, s, C[s].live && leaf_match(&pool[j], &C[s]));
            }
            g_ntouched = 0;
        }
        int budget = 4 + (int)rn(9); /* 4..12 terms: depth, not width, is what planners get wrong */
        tnode *t = tn_gen(0, 1 + (int)rn(6), nleaves, &budget);
        const uint64_t *U = tn_names_archived(t, pool) ? R->all_bits : R->live_bits;
        tn_eval(t, pool, U, W, want);
        char *text = tn_text(t, pool);
        bool any_bad_leaf = false;
        for (int j = 0, sz = tn_size(t); j < sz; j++) {
            int idx = j;
            tnode **s = tn_slot(&t, &idx);
            if ((*s)->kind == T_LEAF && pool[(*s)->leaf].bad)
                any_bad_leaf = true;
        }
        bool report = !any_bad_leaf && R->combo_unexplained < 10;
        R->filters++;
        if (!check_filter(R, text, want, i % 100 == 0, report, "filter")) {
            R->mismatches++;
            R->combo_mismatches++;
            if (!any_bad_leaf) {
                R->combo_unexplained++;
                if (R->combo_unexplained <= 10) {
                    t = shrink(R, t, pool);
                    char *small = tn_text(t, pool);
                    fprintf(stderr, "  shrunk to: %s\n", small);
                    const uint64_t *U2 = tn_names_archived(t, pool) ? R->all_bits : R->live_bits;
                    tn_eval(t, pool, U2, W, want);
                    check_filter(R, small, want, true, true, "shrunk");
                    free(small);
                }
            }
        }
        free(text);
        tn_free(t);
    }
    free(want);
    for (int i = 0; i < nleaves; i++)
        leaf_free(&pool[i]);
    free(pool);
}

/* One random write of any kind (weights: update, delete, re-create, new, archive). */
static void one_write(run *R)
{
    wlist w = {0};
    int r = (int)rn(100);
    if (r < 50) {
        long s = pick_slot(true);
        if (s >= 0) {
            gen_update(&w);
            do_upsert(R, (size_t)s, &w);
        }
    } else if (r < 62) {
        do_delete(R);
    } else if (r < 72) {
        long s = pick_slot(false);
        if (s >= 0) {
            gen_new_contact(&w);
            do_upsert(R, (size_t)s, &w);
        }
    } else if (r < 82) {
        if (NC < CAPC) {
            gen_new_contact(&w);
            do_upsert(R, new_slot(), &w);
        }
    } else if (r < 90) {
        if (r < 84)
            do_tag(R, true);
        else if (r < 86)
            do_tag(R, false);
        else if (r < 88)
            do_set(R);
        else
            do_group(R, r < 89);
    } else {
        if (r < 95)
            do_archive(R, true);
        else if (r < 98)
            do_archive(R, false);
        else
            try_upsert_archived(R);
    }
    wl_free(&w);
}

static void write_phase(run *R, int nupd, int ndel, int nrecreate, int nnew, int narch)
{
    int total = nupd + ndel + nrecreate + nnew + narch;
    for (int a = 0; a < total; a++) {
        int r = (int)rn((uint32_t)(nupd + ndel + nrecreate + nnew + narch));
        wlist w = {0};
        if (r >= nupd + ndel + nrecreate + nnew) {
            narch--;
            int k = (int)rn(26);
            if (k >= 20) {
                do_group(R, k < 24);
            } else if (k < 10) {
                if (k < 3)
                    do_tag(R, true);
                else if (k < 5)
                    do_tag(R, false);
                else
                    do_set(R);
            } else {
                if (k < 15)
                    do_archive(R, true);
                else if (k < 19)
                    do_archive(R, false);
                else
                    try_upsert_archived(R);
            }
        } else if (r < nupd) {
            nupd--;
            long s = pick_slot(true);
            if (s < 0)
                continue;
            gen_update(&w);
            do_upsert(R, (size_t)s, &w);
        } else if (r < nupd + ndel) {
            ndel--;
            do_delete(R);
        } else if (r < nupd + ndel + nrecreate) {
            nrecreate--;
            long s = pick_slot(false);
            if (s < 0)
                continue;
            gen_new_contact(&w);
            do_upsert(R, (size_t)s, &w);
        } else {
            nnew--;
            gen_new_contact(&w);
            do_upsert(R, new_slot(), &w);
        }
        wl_free(&w);
    }
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    return strtoull(v, NULL, 0);
}

Test(differential, random_filters_agree_with_naive_evaluator, .timeout = 0)
{
    double t0 = now_seconds();
    uint64_t seed = env_u64("SEGDB_DIFF_SEED", 20240615);
    uint64_t total_filters = env_u64("SEGDB_DIFF_FILTERS", 100000);
    uint64_t ncontacts = env_u64("SEGDB_DIFF_CONTACTS", 5000);
    g_trace_id = env_u64("SEGDB_DIFF_TRACE", 0);
    const int phases = 10, nleaves = 1000, nnew = 150;
    fprintf(stderr,
            "differential: seed %" PRIu64 " (SEGDB_DIFF_SEED=%" PRIu64 " to repeat), %" PRIu64
            " contacts, %" PRIu64 " filters (%d of them single terms) over %d phases\n",
            seed, seed, ncontacts, total_filters, nleaves * phases, phases);
    g_rng = seed;
    vn_init();

    CAPC = (size_t)ncontacts + (size_t)phases * nnew + (size_t)(total_filters / 40) + 64; /* + interleaved new */
    C = xcalloc(CAPC, sizeof *C);
    NC = 0;
    g_map_cap = 1;
    while (g_map_cap < CAPC * 2)
        g_map_cap <<= 1;
    g_map_id = xcalloc(g_map_cap, sizeof *g_map_id);
    g_map_slot = xcalloc(g_map_cap, sizeof *g_map_slot);

    run R;
    memset(&R, 0, sizeof R);
    R.words = (CAPC + 63) / 64;
    R.live_bits = xcalloc(R.words, sizeof *R.live_bits);
    R.all_bits = xcalloc(R.words, sizeof *R.all_bits);

    g_now = 1718420400; /* 2024-06-15T10:00:00+07:00 */
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = engine_clock;
    o.clock_ctx = &g_now;
    o.dont_forget_days = g_dont_forget_days;
    o.tz_offset_seconds = (int)g_tz;
    R.db = segdb_open(&o);
    cr_assert_not_null(R.db, "segdb_open failed");
    for (size_t i = 0; i < NELEM(CUSTOM); i++) {
        segdb_err err = {0};
        int rc = segdb_field_create(R.db, FD[CUSTOM[i].f].name, CUSTOM[i].kind, &err);
        cr_assert_eq(rc, 0, "FIELD.CREATE %s %s failed (%d): %s", FD[CUSTOM[i].f].name,
                     CUSTOM[i].kind, rc, err.msg);
    }

    create_groups(&R);
    /* the first contacts arrive as a bulk load: batches of 1-700 in id order */
    size_t nbulk = (size_t)(ncontacts * 4 / 5);
    size_t *bulk = xcalloc(nbulk, sizeof *bulk);
    wlist *bw = xcalloc(nbulk, sizeof *bw);
    for (size_t i = 0; i < nbulk; i++)
        bulk[i] = new_slot();
    qsort(bulk, nbulk, sizeof *bulk, cmp_slot_by_id);
    for (size_t i = 0; i < nbulk; i++)
        gen_new_contact(&bw[i]);
    for (size_t i = 0; i < nbulk;) {
        size_t m = 1 + rn(700);
        if (m > nbulk - i)
            m = nbulk - i;
        do_upsert_batch(&R, bulk + i, bw + i, m);
        i += m;
    }
    for (size_t i = 0; i < nbulk; i++)
        wl_free(&bw[i]);
    free(bw);
    free(bulk);
    for (uint64_t i = nbulk; i < ncontacts; i++) {
        wlist w = {0};
        gen_new_contact(&w);
        do_upsert(&R, new_slot(), &w);
        wl_free(&w);
    }
    for (int p = 0; p < phases; p++) {
        R.phase = p;
        if (p > 0) {
            g_now += (int64_t)rn(20) * 86400 + (int64_t)rn(86400);
            if (p == 5)
                do_group_del(&R, 4); /* "Đại lý cấp 1": "Đại lý cấp 2" moves up to "Đại lý" */
            write_phase(&R, 300, 80, 40, nnew, 130);
        }
        uint64_t before = R.mismatches;
        double tp = now_seconds();
        /* SEGDB_DIFF_FILTERS counts every filter checked, single terms included */
        uint64_t per_phase = total_filters / (uint64_t)phases;
        int ncomp = per_phase > (uint64_t)nleaves ? (int)(per_phase - (uint64_t)nleaves) : 0;
        check_phase(&R, nleaves, ncomp);
        uint64_t nlive = bits_count(R.all_bits, R.words);
        fprintf(stderr, "differential: phase %d: %zu slots, %" PRIu64 " live (%" PRIu64 " archived), now %" PRId64
                        ", %d terms + %d filters, %" PRIu64 " mismatches, %.1f s\n",
                p, NC, nlive, nlive - bits_count(R.live_bits, R.words), g_now, nleaves, ncomp,
                R.mismatches - before, now_seconds() - tp);
        segdb_err err = {0};
        int vrc = segdb_verify(R.db, &err);
        if (vrc != 0)
            fail_note(&R, "phase %d: DEBUG VERIFY failed (%d): %s", p, vrc, err.msg);
    }

    if (R.leaf_mismatches) {
        fprintf(stderr, "differential: term mismatches by field and operator:\n");
        for (int f = 0; f < F_N + 3; f++)
            for (int op = 0; op < OP_N; op++)
                if (R.leaf_count[f][op])
                    fprintf(stderr, "  %-16s %-9s %d\n",
                            f == F_N ? "q" : f == F_N + 1 ? "reachable" : f == F_N + 2 ? "has/missing" : FD[f].name,
                            OP_NAME[op], R.leaf_count[f][op]);
    }
    fprintf(stderr,
            "differential: seed %" PRIu64 ": %" PRIu64 " filters (%" PRIu64 " single terms), %" PRIu64
            " full id-set checks, %zu contacts written (%" PRIu64 " live); mismatches %" PRIu64
            " (terms %" PRIu64 ", filters %" PRIu64 " of which %" PRIu64 " with every term agreeing alone); "
            "write errors %" PRIu64 ", bucket errors %" PRIu64 ", other %" PRIu64 "; %.1f s\n"
            "differential: writes: %" PRIu64 " UPSERT, %" PRIu64 " DEL, %" PRIu64 " (UN)ARCHIVE, %" PRIu64
            " (UN)TAG, %" PRIu64 " SET, %" PRIu64 " GROUP.*\n",
            seed, R.filters, R.leaf_filters, R.full_checks, NC, bits_count(R.all_bits, R.words),
            R.mismatches, R.leaf_mismatches, R.combo_mismatches, R.combo_unexplained, R.write_errors,
            R.bucket_errors, R.other_errors, now_seconds() - t0, R.n_upsert, R.n_del, R.n_archive, R.n_tag,
            R.n_set, R.n_group);

    segdb_close(R.db);
    for (size_t i = 0; i < NC; i++)
        nc_clear(&C[i]);
    free(C);
    free(g_map_id);
    free(g_map_slot);
    for (int g = 0; g < NG; g++) {
        free(G[g].code);
        free(G[g].key);
    }
    NG = 0;
    free(R.live_bits);
    free(R.all_bits);
    C = NULL;
    NC = CAPC = 0;

    cr_expect_eq(R.write_errors, 0, "%" PRIu64 " writes disagreed (see stderr)", R.write_errors);
    cr_expect_eq(R.bucket_errors, 0, "%" PRIu64 " bucket reads disagreed (see stderr)", R.bucket_errors);
    cr_expect_eq(R.other_errors, 0, "%" PRIu64 " other checks failed (see stderr)", R.other_errors);
    cr_assert_eq(R.mismatches, 0, "%" PRIu64 " of %" PRIu64 " filters disagree with the naive evaluator (seed %" PRIu64 ")",
                 R.mismatches, R.filters, seed);
}

/* ======================================================================== */
/* known answers: the SPEC's own examples, pinned                             */
/* ======================================================================== */

/* Criterion reports a test as passed before LeakSanitizer runs at the worker's
 * exit, so each known-answer test checks for leaks itself at its end. */
#if defined(__SANITIZE_ADDRESS__)
#define KA_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KA_LEAK_CHECK 1
#endif
#endif
#ifdef KA_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
static void ka_leak_check(void)
{
    cr_expect_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked (report on stderr)");
}
#else
static void ka_leak_check(void) {}
#endif

static int64_t ka_now = 1718420400; /* 2024-06-15T10:00:00+07:00 */

static segdb_t *ka_open(void)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = engine_clock;
    o.clock_ctx = &ka_now;
    segdb_t *db = segdb_open(&o);
    cr_assert_not_null(db, "segdb_open failed");
    return db;
}

static void ka_close(segdb_t *db)
{
    segdb_close(db);
    ka_leak_check();
}

/* UPSERT id name value ... NULL; returns `created`. */
static int ka_put(segdb_t *db, uint64_t id, ...)
{
    segdb_kv kv[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, id);
    for (const char *name; n < 32 && (name = va_arg(ap, const char *));) {
        kv[n].name = name;
        kv[n].value = va_arg(ap, const char *);
        kv[n].value_len = strlen(kv[n].value);
        n++;
    }
    va_end(ap);
    int created = -1;
    segdb_err err = {0};
    int rc = segdb_upsert(db, id, kv, n, &created, &err);
    cr_assert_eq(rc, 0, "UPSERT %" PRIu64 " %s ... failed (%d): %s", id, n ? kv[0].name : "", rc, err.msg);
    return created;
}

static uint64_t ka_count(segdb_t *db, const char *filter)
{
    uint64_t n = 0;
    segdb_err err = {0};
    int rc = segdb_count(db, filter, &n, &err);
    cr_assert_eq(rc, 0, "COUNT WHERE %s failed (%d %s): %s", filter, rc, segdb_err_word(rc), err.msg);
    return n;
}

/* FIND WHERE filter must return exactly the ids listed (ascending), 0-terminated. */
static void ka_ids(segdb_t *db, const char *filter, ...)
{
    uint64_t want[64];
    size_t nw = 0;
    va_list ap;
    va_start(ap, filter);
    for (uint64_t id; nw < 64 && (id = va_arg(ap, uint64_t));)
        want[nw++] = id;
    va_end(ap);
    qsort(want, nw, sizeof *want, cmp_u64);
    uint64_t *got = NULL;
    size_t ng = 0;
    segdb_err err = {0};
    int rc = engine_ids(db, filter, &got, &ng, &err);
    cr_assert_eq(rc, 0, "FIND WHERE %s failed (%d): %s", filter, rc, err.msg);
    char gs[512] = "", ws[512] = "";
    for (size_t i = 0; i < ng && strlen(gs) < 400; i++)
        snprintf(gs + strlen(gs), sizeof gs - strlen(gs), " %" PRIu64, got[i]);
    for (size_t i = 0; i < nw; i++)
        snprintf(ws + strlen(ws), sizeof ws - strlen(ws), " %" PRIu64, want[i]);
    bool same = ng == nw;
    for (size_t i = 0; same && i < nw; i++)
        same = got[i] == want[i];
    free(got);
    cr_expect(same, "WHERE %s: engine found {%s }, SPEC says {%s }", filter, gs, ws);
    uint64_t cnt = ka_count(db, filter);
    cr_expect_eq(cnt, (uint64_t)nw, "COUNT WHERE %s = %" PRIu64 ", SPEC says %zu", filter, cnt, nw);
}
#define KA_IDS(db, filter, ...) ka_ids(db, filter, ##__VA_ARGS__, (uint64_t)0)

/* The filter must fail; returns the code, fills e. */
static int ka_fail(segdb_t *db, const char *filter, segdb_err *e)
{
    uint64_t n = 12345;
    memset(e, 0, sizeof *e);
    int rc = segdb_count(db, filter, &n, e);
    cr_assert(rc < 0, "COUNT WHERE %.120s should fail, returned %d (count %" PRIu64 ")", filter, rc, n);
    cr_expect_eq(e->code, rc, "err.code %d differs from the returned %d", e->code, rc);
    cr_expect(e->msg[0] != 0, "error %d without a message for %.120s", rc, filter);
    return rc;
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

Test(differential, known_answers_defaults_match_spec)
{
    segdb_options o;
    segdb_options_init(&o);
    cr_expect_eq(o.dont_forget_days, 30, "dont-forget-days default is 30 (SPEC 4.3)");
    cr_expect_eq(o.tz_offset_seconds, 7 * 3600, "default zone is Asia/Ho_Chi_Minh, +07:00");
}

Test(differential, known_answers_city_folding)
{
    vn_init();
    segdb_t *db = ka_open();
    ka_put(db, 1, "city", "Hà Nội", NULL);
    ka_put(db, 2, "city", "Đà Nẵng", NULL);
    ka_put(db, 3, "name", "Lê Văn Tám", NULL);
    ka_put(db, 4, "city", "HA-NOI", NULL);
    char *nfd = var_apply("Hà Nội", V_NFD);
    char filter[128];
    snprintf(filter, sizeof filter, "city:\"%s\"", nfd);
    free(nfd);
    KA_IDS(db, "city:\"ha noi\"", 1, 4);
    KA_IDS(db, "city:hanoi", 1, 4);
    KA_IDS(db, "city:HA-NOI", 1, 4);
    KA_IDS(db, "city:'Hà Nội'", 1, 4);
    KA_IDS(db, "city:\"HÀ NỘI\"", 1, 4);
    KA_IDS(db, filter, 1, 4);
    KA_IDS(db, "city:\"da nang\"", 2);
    KA_IDS(db, "city:dang");
    KA_IDS(db, "CITY:(hanoi, \"đà nẵng\")", 1, 2, 4);
    KA_IDS(db, "city~NỘI", 1, 4);
    KA_IDS(db, "city:\"Sa Pa\"");
    ka_close(db);
}

Test(differential, known_answers_q_finds_nguyen)
{
    vn_init();
    segdb_t *db = ka_open();
    char *nfd = var_apply("Nguyễn Thị Lan", V_NFD);
    ka_put(db, 1, "name", "Nguyễn Văn An", NULL);
    ka_put(db, 2, "name", "Trần Thị Bình", "email", "binh.tran@gmail.com", NULL);
    ka_put(db, 3, "name", nfd, NULL);
    ka_put(db, 4, "email", "Nguyen.Hoa@Gmail.com", NULL);
    ka_put(db, 5, "name", "NGUYỄN ĐỨC", NULL);
    free(nfd);
    KA_IDS(db, "q:nguyen", 1, 3, 4, 5);
    KA_IDS(db, "q:Nguyễn", 1, 3, 5);      /* the email part compares lower-cased only */
    KA_IDS(db, "q:\"van an\"", 1);
    KA_IDS(db, "q:duc", 5);               /* đ folds to d */
    KA_IDS(db, "q:GMAIL", 2, 4);
    KA_IDS(db, "name:\"nguyen thi lan\"", 3);
    KA_IDS(db, "name~thi", 2, 3);
    ka_close(db);
}

Test(differential, known_answers_phone_normalization)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "phone", "0912 345 678", NULL);
    ka_put(db, 2, "phone", "+84 987 654 321", NULL);
    ka_put(db, 3, "phone", "84912000111", NULL);
    ka_put(db, 4, "name", "Phạm Thu", NULL);
    KA_IDS(db, "phone:+84912345678", 1);
    KA_IDS(db, "phone:0912345678", 1);
    KA_IDS(db, "phone:84912345678", 1);
    KA_IDS(db, "phone:\"0912 345 678\"", 1);
    KA_IDS(db, "phone:0987654321", 2);
    KA_IDS(db, "phone:0912000111", 3);
    KA_IDS(db, "phone~345678", 1);
    KA_IDS(db, "phone~\"345 678\"", 1);
    KA_IDS(db, "phone~+84912", 1, 3);
    KA_IDS(db, "phone~0912", 1, 3);
    KA_IDS(db, "q:345678", 1);
    KA_IDS(db, "phone != 0912345678", 2, 3);
    ka_close(db);
}

Test(differential, known_answers_email_lower_case)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "email", "Nguyen.An@Gmail.COM", NULL);
    ka_put(db, 2, "email", "tran.binh@fpt.vn", NULL);
    KA_IDS(db, "email:nguyen.an@gmail.com", 1);
    KA_IDS(db, "email:\"NGUYEN.AN@GMAIL.COM\"", 1);
    KA_IDS(db, "email~GMAIL", 1);
    KA_IDS(db, "email~\"n.an@\"", 1);
    KA_IDS(db, "email:nguyenan@gmail.com"); /* email is not folded: the dot counts */
    ka_close(db);
}

Test(differential, known_answers_missing_values_and_not)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "city", "Hà Nội", "email", "a@b.vn", NULL);
    ka_put(db, 2, "city", "Đà Nẵng", "phone", "0912345678", NULL);
    ka_put(db, 3, "name", "Võ Thị Sáu", "email", "c@d.vn", NULL);
    KA_IDS(db, "city != hanoi", 2);
    KA_IDS(db, "NOT city:hanoi", 2, 3);
    KA_IDS(db, "NOT city != hanoi", 1, 3);
    KA_IDS(db, "missing:city", 3);
    KA_IDS(db, "has:city", 1, 2);
    KA_IDS(db, "has:email AND missing:phone", 1, 3);
    KA_IDS(db, "purchases < 5");
    KA_IDS(db, "NOT purchases < 5", 1, 2, 3);
    KA_IDS(db, "tag:nobody");
    ka_close(db);
}

Test(differential, known_answers_values_are_typed_by_field)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "purchases", "12", NULL);
    ka_put(db, 2, "purchases", "2", NULL);
    ka_put(db, 3, "phone", "012", NULL);
    KA_IDS(db, "purchases:012", 1);
    KA_IDS(db, "purchases:12", 1);
    KA_IDS(db, "purchases > 2", 1);
    KA_IDS(db, "purchases >= 02", 1, 2);
    KA_IDS(db, "phone:012", 3); /* text: not the number 12 */
    KA_IDS(db, "purchases:(2, 012)", 1, 2);
    ka_close(db);
}

Test(differential, known_answers_date_means_whole_day)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "created_at", "2019-11-01T18:00:00+07:00", NULL);
    ka_put(db, 2, "created_at", "2019-11-02T00:00:00+07:00", NULL);
    ka_put(db, 3, "created_at", "2019-10-31T23:59:59+07:00", NULL);
    ka_put(db, 4, "created_at", "2019-11-01T23:59:59+07:00", NULL);
    ka_put(db, 5, "created_at", "2019-11-01T00:00:00+07:00", NULL);
    ka_put(db, 6, "created_at", "2019-10-31T17:00:00Z", NULL);   /* 2019-11-01 00:00 in +07:00 */
    ka_put(db, 7, "created_at", "2019-10-31T16:59:59Z", NULL);   /* still 31 October there */
    KA_IDS(db, "created_at > 2019-11-01", 2);
    KA_IDS(db, "created_at >= 2019-11-01", 1, 2, 4, 5, 6);
    KA_IDS(db, "created_at < 2019-11-01", 3, 7);
    KA_IDS(db, "created_at <= 2019-11-01", 1, 3, 4, 5, 6, 7);
    KA_IDS(db, "created_at:2019-11-01", 1, 4, 5, 6);
    KA_IDS(db, "created_at != 2019-11-01", 2, 3, 7);
    KA_IDS(db, "created_at > 2019-11-01T18:00", 2, 4);
    KA_IDS(db, "created_at >= 2019-11-01T11:00:00Z", 1, 2, 4);
    ka_close(db);
}

Test(differential, known_answers_relative_times_use_the_clock)
{
    segdb_t *db = ka_open();
    int64_t saved = ka_now;
    char t31[40], t29[40];
    sbuf b = {0};
    fmt_time(&b, ka_now - 31 * 86400, TS_P7);
    snprintf(t31, sizeof t31, "%s", b.p);
    b.n = 0;
    fmt_time(&b, ka_now - 29 * 86400, TS_Z);
    snprintf(t29, sizeof t29, "%s", b.p);
    free(b.p);
    ka_put(db, 1, "last_contacted", t31, NULL);
    ka_put(db, 2, "last_contacted", t29, "status", "unsubscribed", NULL);
    ka_put(db, 3, "name", "Đỗ Mười", NULL);
    ka_put(db, 4, "last_contacted", t31, "status", "unsubscribed", NULL);
    KA_IDS(db, "last_contacted < -30d", 1, 4);
    KA_IDS(db, "last_contacted >= -30d", 2);
    KA_IDS(db, "NOT last_contacted < -30d", 2, 3);
    KA_IDS(db, "last_contacted < -30d AND NOT status:unsubscribed", 1);
    KA_IDS(db, "last_contacted > now");
    KA_IDS(db, "last_contacted <= now", 1, 2, 4);
    KA_IDS(db, "last_contacted < +7d", 1, 2, 4);
    KA_IDS(db, "last_contacted < -720h", 1, 4);
    ka_now += 2 * 86400; /* relative times are taken when the filter runs */
    KA_IDS(db, "last_contacted < -30d", 1, 2, 4);
    ka_now = saved;
    ka_close(db);
}

Test(differential, known_answers_relationship_dont_forget)
{
    segdb_t *db = ka_open();
    int64_t saved = ka_now;
    char t40[40], t10[40];
    sbuf b = {0};
    fmt_time(&b, ka_now - 40 * 86400, TS_P7);
    snprintf(t40, sizeof t40, "%s", b.p);
    b.n = 0;
    fmt_time(&b, ka_now - 10 * 86400, TS_P7);
    snprintf(t10, sizeof t10, "%s", b.p);
    free(b.p);
    ka_put(db, 1, "last_contacted", t40, NULL);
    ka_put(db, 2, "last_contacted", t40, "relationship", "won", NULL);
    ka_put(db, 3, "last_contacted", t40, "relationship", "lost", NULL);
    ka_put(db, 4, "name", "Mai Anh", NULL);
    ka_put(db, 5, "last_contacted", t10, "relationship", "hot", NULL);
    ka_put(db, 6, "last_contacted", t40, "relationship", "hot", NULL);
    KA_IDS(db, "relationship:dont_forget", 1, 6);
    KA_IDS(db, "relationship:\"Dont Forget\"", 1, 6);
    KA_IDS(db, "relationship:new", 4);
    KA_IDS(db, "relationship:hot", 5);
    KA_IDS(db, "relationship:won", 2);
    KA_IDS(db, "relationship:(lost, won)", 2, 3);
    KA_IDS(db, "relationship != dont_forget", 2, 3, 4, 5);
    ka_now += 25 * 86400;
    KA_IDS(db, "relationship:dont_forget", 1, 5, 6);
    KA_IDS(db, "relationship:hot");
    ka_now = saved;
    ka_close(db);
}

Test(differential, known_answers_type_moves_up_automatically)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "city", "Huế", NULL);
    ka_put(db, 2, "name", "Hồ Xuân Hương", NULL);
    ka_put(db, 3, "name", "Lý Công Uẩn", "purchases", "2", NULL);
    ka_put(db, 4, "purchases", "0", "email", "x@y.vn", NULL);
    ka_put(db, 5, "name", "Ngô Quyền", "type", "visitor", NULL);
    ka_put(db, 6, "name", "Lê Lai", "type", "customer", NULL);
    ka_put(db, 7, "purchases", "3", NULL);
    KA_IDS(db, "type:visitor", 1, 5);
    KA_IDS(db, "type:lead", 2, 4);
    KA_IDS(db, "type:customer", 3, 6, 7);
    ka_put(db, 5, "city", "Huế", NULL); /* not name/email/phone/purchases: no move */
    KA_IDS(db, "type:visitor", 1, 5);
    ka_put(db, 5, "phone", "0912345678", NULL);
    ka_put(db, 6, "email", "lai@le.vn", NULL);      /* never down */
    ka_put(db, 7, "type", "lead", NULL);            /* named: taken as written */
    ka_put(db, 1, "email", "hue@city.vn", NULL);
    KA_IDS(db, "type:visitor");
    KA_IDS(db, "type:lead", 1, 2, 4, 5, 7);
    KA_IDS(db, "type:customer", 3, 6);
    ka_put(db, 2, "purchases", "1", NULL);
    KA_IDS(db, "type:customer", 2, 3, 6);
    ka_close(db);
}

Test(differential, known_answers_tags)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "tags", "Khách VIP", NULL);
    ka_put(db, 2, "tags", "khach hang moi;VIP", NULL);
    ka_put(db, 3, "tags", "Đã mua", NULL);
    ka_put(db, 4, "name", "Trịnh Công Sơn", NULL);
    KA_IDS(db, "tag:(khach_vip, \"Khách hàng mới\")", 1, 2);
    KA_IDS(db, "tag:vip", 2);
    KA_IDS(db, "TAG:Vip", 2);
    KA_IDS(db, "tags:\"khách vip\"", 1);
    KA_IDS(db, "missing:tags", 4);
    KA_IDS(db, "has:tags", 1, 2, 3);
    KA_IDS(db, "city:\"Hà Nội\" AND tag:vip");
    ka_put(db, 2, "tags", "da_mua", NULL); /* a list in UPSERT replaces the set */
    KA_IDS(db, "tag:vip");
    KA_IDS(db, "tag:\"đã mua\"", 2, 3);
    ka_close(db);
}

Test(differential, known_answers_birthday_parts)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "birthday", "1990-12-25", NULL);
    ka_put(db, 2, "birthday", "1985-11-05", NULL);
    ka_put(db, 3, "name", "Phan Bội Châu", NULL);
    KA_IDS(db, "birthday_month:12", 1);
    KA_IDS(db, "birthday_day:25", 1);
    KA_IDS(db, "birthday_month:(11, 12)", 1, 2);
    KA_IDS(db, "NOT birthday_month:12", 2, 3);
    KA_IDS(db, "birthday < 1990-01-01", 2);
    KA_IDS(db, "birthday:1990-12-25", 1);
    ka_close(db);
}

Test(differential, known_answers_precedence_and_juxtaposition)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "city", "Hà Nội", "tags", "vip", NULL);
    ka_put(db, 2, "city", "Hà Nội", NULL);
    ka_put(db, 3, "tags", "moi", NULL);
    ka_put(db, 4, "city", "Đà Nẵng", "tags", "VIP", NULL);
    KA_IDS(db, "city:hanoi tag:vip OR tag:moi", 1, 3);
    KA_IDS(db, "city:hanoi AND (tag:vip OR tag:moi)", 1);
    KA_IDS(db, "NOT city:hanoi AND tag:vip", 4);
    KA_IDS(db, "not city:hanoi or tag:vip", 1, 3, 4);
    KA_IDS(db, "NOT (city:hanoi OR tag:moi)", 4);
    KA_IDS(db, "NOT NOT tag:vip", 1, 4);
    ka_close(db);
}

Test(differential, known_answers_deleted_contacts_are_gone)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "tags", "vip", "city", "Huế", NULL);
    uint64_t id = 1, deleted = 0;
    segdb_err err = {0};
    cr_assert_eq(segdb_del(db, &id, 1, &deleted, &err), 0, "DEL failed: %s", err.msg);
    cr_expect_eq(deleted, 1);
    KA_IDS(db, "tag:vip");
    KA_IDS(db, "city:hue");
    cr_expect_eq(ka_put(db, 1, "name", "Lại Văn Sâm", NULL), 1, "a DEL'd id written again is new");
    KA_IDS(db, "tag:vip");
    KA_IDS(db, "relationship:new", 1);
    ka_close(db);
}

Test(differential, known_answers_bucket_is_a_stable_hash_of_id)
{
    segdb_t *db = ka_open();
    const char *fields[] = {"bucket"};
    uint64_t ids[] = {1, 2, 3, 42, 1000000, UINT64_MAX, 0x8000000000000000ull};
    int64_t first[NELEM(ids)];
    for (size_t i = 0; i < NELEM(ids); i++) {
        ka_put(db, ids[i], "city", "Huế", NULL);
        segdb_strvec sv = {0};
        segdb_err err = {0};
        int rc = segdb_get(db, ids[i], fields, 1, &sv, &err);
        cr_assert_eq(rc, 1, "GET %" PRIu64 " bucket: %d %s", ids[i], rc, err.msg);
        cr_assert(sv.n >= 2 && sv.v[1], "GET bucket returned no value");
        first[i] = strtoll(sv.v[1], NULL, 10);
        cr_expect(first[i] >= 0 && first[i] <= 9999, "bucket %s out of 0..9999", sv.v[1]);
        segdb_strvec_free(&sv);
    }
    for (size_t i = 0; i < NELEM(ids); i++) {
        ka_put(db, ids[i], "city", "Vinh", "name", "An", NULL);
        segdb_strvec sv = {0};
        segdb_err err = {0};
        cr_assert_eq(segdb_get(db, ids[i], fields, 1, &sv, &err), 1);
        cr_expect_eq(strtoll(sv.v[1], NULL, 10), first[i], "bucket of %" PRIu64 " changed on update", ids[i]);
        segdb_strvec_free(&sv);
    }
    for (uint64_t id = 100; id < 2100; id++)
        ka_put(db, id, "channel", "Zalo", NULL);
    uint64_t ten = ka_count(db, "channel:zalo AND bucket < 1000");
    cr_expect(ten >= 100 && ten <= 300, "bucket < 1000 holds %" PRIu64 " of 2000 sequential ids, not ~10%%", ten);
    cr_expect_eq(ka_count(db, "bucket >= 0 AND bucket <= 9999"), 2000 + NELEM(ids));
    ka_close(db);
}

Test(differential, known_answers_errors)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "city", "Hà Nội", NULL);
    segdb_err e;
    int rc;

    rc = ka_fail(db, "foo:bar", &e);
    cr_expect_eq(rc, SEGDB_EINVAL, "unknown field: %d %s", rc, e.msg);
    cr_expect(strstr(e.msg, "FIELD.CREATE"), "unknown field message should name FIELD.CREATE: %s", e.msg);
    cr_expect(strstr(e.msg, "city") && strstr(e.msg, "email") && strstr(e.msg, "purchases"),
              "unknown field message should list the valid fields: %s", e.msg);

    rc = ka_fail(db, "gender:robot", &e);
    cr_expect(rc == SEGDB_EINVAL || rc == SEGDB_EWRONGTYPE, "bad enum member: %d %s", rc, e.msg);
    cr_expect(strstr(e.msg, "female") && strstr(e.msg, "other") && strstr(e.msg, "unknown"),
              "bad member message should list the members: %s", e.msg);
    rc = ka_fail(db, "status:maybe", &e);
    cr_expect(strstr(e.msg, "never_subscribed") && strstr(e.msg, "unsubscribed"),
              "bad member message should list the members: %s", e.msg);

    rc = ka_fail(db, "purchases:abc", &e);
    cr_expect_eq(rc, SEGDB_EWRONGTYPE, "purchases:abc: %d %s", rc, e.msg);
    rc = ka_fail(db, "created_at > soon", &e);
    cr_expect_eq(rc, SEGDB_EWRONGTYPE, "created_at > soon: %d %s", rc, e.msg);
    rc = ka_fail(db, "revenue >= nhieu", &e);
    cr_expect_eq(rc, SEGDB_EWRONGTYPE, "revenue >= nhieu: %d %s", rc, e.msg);

    rc = ka_fail(db, "city:Hà Nội", &e);
    cr_expect_eq(rc, SEGDB_EINVAL, "bare word: %d %s", rc, e.msg);
    cr_expect(contains_ci(e.msg, "quot") || strstr(e.msg, "\"Hà Nội\""),
              "bare word message should suggest quoting: %s", e.msg);

    rc = ka_fail(db, "city:hanoi AND (tag:vip OR tag:moi", &e);
    cr_expect_eq(rc, SEGDB_EINVAL, "unbalanced: %d %s", rc, e.msg);
    cr_expect(strstr(e.msg, "16"), "unmatched '(' is at position 16: %s", e.msg);
    rc = ka_fail(db, "city:hanoi) AND tag:vip", &e);
    cr_expect_eq(rc, SEGDB_EINVAL, "stray ): %d %s", rc, e.msg);
    cr_expect(strstr(e.msg, "11"), "stray ')' is at position 11: %s", e.msg);

    rc = ka_fail(db, "", &e);
    cr_expect_eq(rc, SEGDB_EINVAL, "empty filter: %d %s", rc, e.msg);
    rc = ka_fail(db, "   ", &e);
    cr_expect_eq(rc, SEGDB_EINVAL, "blank filter: %d %s", rc, e.msg);
    ka_close(db);
}

static char *nested(int levels, bool use_not)
{
    sbuf b = {0};
    for (int i = 0; i < levels; i++)
        sb_puts(&b, use_not ? "NOT " : "(");
    sb_puts(&b, "city:hanoi");
    if (!use_not)
        for (int i = 0; i < levels; i++)
            sb_putc(&b, ')');
    return sb_take(&b);
}

Test(differential, known_answers_limits)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "city", "Hà Nội", NULL);
    segdb_err e;
    int rc;

    char *f = nested(64, false);
    cr_expect_eq(ka_count(db, f), 1, "64 levels of parentheses are fine");
    free(f);
    f = nested(65, false);
    rc = ka_fail(db, f, &e);
    cr_expect_eq(rc, SEGDB_ELIMIT, "65 levels: %d %s", rc, e.msg);
    free(f);
    f = nested(64, true);
    cr_expect_eq(ka_count(db, f), 1, "64 NOTs are fine (an even number: the term itself)");
    free(f);
    f = nested(65, true);
    rc = ka_fail(db, f, &e);
    cr_expect_eq(rc, SEGDB_ELIMIT, "65 NOTs: %d %s", rc, e.msg);
    free(f);

    sbuf b = {0};
    for (int i = 0; i < 4096; i++)
        sb_puts(&b, i ? " tag:a" : "tag:a");
    cr_expect_eq(ka_count(db, b.p), 0, "4096 terms are fine");
    sb_puts(&b, " tag:a");
    rc = ka_fail(db, b.p, &e);
    cr_expect_eq(rc, SEGDB_ELIMIT, "4097 terms: %d %s", rc, e.msg);
    free(b.p);

    b = (sbuf){0};
    sb_puts(&b, "name:\"");
    while (b.n < 65535)
        sb_putc(&b, 'a');
    sb_putc(&b, '"');
    cr_assert_eq(b.n, 65536);
    cr_expect_eq(ka_count(db, b.p), 0, "64 KiB of filter text is fine");
    b.p[b.n - 1] = 'a';
    sb_putc(&b, '"');
    rc = ka_fail(db, b.p, &e);
    cr_expect_eq(rc, SEGDB_ELIMIT, "64 KiB + 1: %d %s", rc, e.msg);
    free(b.p);
    ka_close(db);
}

Test(differential, known_answers_archived_leave_the_universe)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "city", "Hà Nội", NULL);
    ka_put(db, 2, "city", "Hà Nội", NULL);
    ka_put(db, 3, "name", "Bà Triệu", NULL);
    uint64_t ids[] = {2}, changed = 0;
    segdb_target t;
    memset(&t, 0, sizeof t);
    t.ids = ids;
    t.nids = 1;
    segdb_err err = {0};
    cr_assert_eq(segdb_archive(db, &t, &changed, &err), 0, "ARCHIVE failed: %s", err.msg);
    cr_expect_eq(changed, 1);
    uint64_t all = 0;
    cr_assert_eq(segdb_count(db, NULL, &all, &err), 0);
    cr_expect_eq(all, 2, "COUNT without WHERE counts the non-archived");
    KA_IDS(db, "city:hanoi", 1);
    KA_IDS(db, "NOT city:hanoi", 3);
    KA_IDS(db, "archived:yes", 2);
    KA_IDS(db, "city:hanoi AND archived:yes", 2);
    KA_IDS(db, "city:hanoi AND NOT archived:yes", 1);
    KA_IDS(db, "NOT archived:yes", 1, 3);
    KA_IDS(db, "city:hanoi OR archived:no", 1, 2, 3);
    segdb_kv kv[1] = {{"city", "Huế", strlen("Huế")}};
    int created = -1;
    segdb_err uerr = {0};
    int rc = segdb_upsert(db, 2, kv, 1, &created, &uerr);
    cr_expect(rc < 0 && strstr(uerr.msg, "UNARCHIVE"), "UPSERT of an archived contact: %d %s", rc, uerr.msg);
    cr_assert_eq(segdb_unarchive(db, &t, &changed, &err), 0, "UNARCHIVE failed: %s", err.msg);
    KA_IDS(db, "city:hanoi", 1, 2);
    ka_close(db);
}

Test(differential, known_answers_groups_are_a_tree)
{
    segdb_t *db = ka_open();
    char *vip = NULL, *hn = NULL, *vip2 = NULL;
    segdb_err err = {0};
    cr_assert_eq(segdb_group_create(db, "Khách VIP", NULL, &vip, &err), 0, "%s", err.msg);
    cr_expect_str_eq(vip, "KHACH_VIP", "the code comes from the name (SPEC 3)");
    cr_assert_eq(segdb_group_create(db, "VIP Hà Nội", vip, &hn, &err), 0, "%s", err.msg);
    cr_assert_eq(segdb_group_create(db, "Khách VIP", NULL, &vip2, &err), 0, "%s", err.msg);
    cr_expect_str_neq(vip2, vip, "group codes are unique");
    ka_put(db, 1, "name", "Tôn Đức Thắng", NULL);
    ka_put(db, 2, "name", "Võ Văn Kiệt", NULL);
    ka_put(db, 3, "name", "Lê Duẩn", NULL);
    uint64_t ids1[] = {1}, ids2[] = {2}, changed = 0;
    segdb_target t;
    memset(&t, 0, sizeof t);
    t.nids = 1;
    t.ids = ids1;
    cr_assert_eq(segdb_group_add(db, vip, &t, &changed, &err), 0, "%s", err.msg);
    t.ids = ids2;
    cr_assert_eq(segdb_group_add(db, hn, &t, &changed, &err), 0, "%s", err.msg);
    char f[128];
    snprintf(f, sizeof f, "group:%s", vip);
    KA_IDS(db, f, 1, 2); /* members of KHACH_VIP and of the groups below it */
    snprintf(f, sizeof f, "group:%s", hn);
    KA_IDS(db, f, 2);
    KA_IDS(db, "group:khach_vip", 1, 2);
    KA_IDS(db, "missing:groups", 3);
    snprintf(f, sizeof f, "group:%s", vip2);
    KA_IDS(db, f);
    cr_assert_eq(segdb_group_del(db, vip, &err), 0, "%s", err.msg);
    snprintf(f, sizeof f, "group:%s", hn); /* moved up to the top, members kept */
    KA_IDS(db, f, 2);
    KA_IDS(db, "has:groups", 2);
    free(vip);
    free(hn);
    free(vip2);
    ka_close(db);
}

/* SPEC 7: "`phone~v`: the digits of v, a leading 84/+84 read as 0, are a
 * substring of the number in its 0xxxxxxxxx form". So `phone~8409` looks for
 * 009, not for 09 (the leading 84 becomes 0; it is not dropped when a 0
 * follows it). */
Test(differential, known_answers_phone_query_leading_84_reads_as_0)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "phone", "0966853559", NULL);
    ka_put(db, 2, "phone", "0912009000", NULL);
    ka_put(db, 3, "phone", "0384081658", NULL);
    KA_IDS(db, "phone~8409", 2);
    KA_IDS(db, "phone~+8409", 2);
    KA_IDS(db, "q:8409", 2);
    KA_IDS(db, "phone~84081658"); /* 0081658: not a substring of 0384081658 */
    KA_IDS(db, "phone~84912", 2);
    KA_IDS(db, "phone~84966", 1);
    ka_close(db);
}

/* SPEC 7: "Only a write that sets name, email, phone or purchases without
 * naming type re-evaluates the automatic type move" - SET is such a write
 * even when the value it sets is the one already there (UPSERT re-evaluates
 * in that case; SET must agree). */
Test(differential, known_answers_set_of_an_unchanged_value_moves_type_like_upsert)
{
    segdb_t *db = ka_open();
    ka_put(db, 1, "name", "An", "type", "visitor", "purchases", "0", NULL);
    ka_put(db, 2, "name", "Bình", "type", "visitor", "purchases", "0", NULL);
    ka_put(db, 1, "purchases", "0", NULL); /* UPSERT: re-evaluated, has a name: lead */
    uint64_t id = 2, changed = 0, rejected = 0;
    segdb_target t;
    memset(&t, 0, sizeof t);
    t.ids = &id;
    t.nids = 1;
    segdb_err err = {0};
    cr_assert_eq(segdb_set(db, "purchases", "0", 1, &t, &changed, &rejected, &err), 0, "%s", err.msg);
    KA_IDS(db, "type:lead", 1, 2);
    KA_IDS(db, "type:visitor");
    ka_close(db);
}

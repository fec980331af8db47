/*
 * gen.c — the deterministic contact generator of segdb-bench (the data it
 * makes and its distributions are described in gen.h).
 *
 * Each contact draws from its own xoshiro256** stream seeded from (seed, i),
 * in a fixed order of draws: changing that order or any table below changes
 * every data set, so benchmark figures of different versions of this file are
 * not comparable (docs/benchmarks.md names the seed and N of each figure).
 * Zipf draws go through cumulative tables scaled to 2^32 and a binary search;
 * small categorical draws through integer weights and a linear scan.
 */
#include "gen.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

/* ---- randomness --------------------------------------------------------- */

static uint64_t mix64(uint64_t z) /* the splitmix64 finalizer: a bijection */
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s[4];
} rng_t;

static void rng_seed(rng_t *r, uint64_t seed, uint64_t i)
{
    uint64_t x = mix64(seed ^ 0x243F6A8885A308D3ull) ^ mix64(i + 0x13198A2E03707344ull);
    for (int k = 0; k < 4; k++) {
        x += 0x9E3779B97F4A7C15ull; /* splitmix64 stream from the (seed, i) hash */
        r->s[k] = mix64(x);
    }
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r) /* xoshiro256** */
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n): multiply-shift; the bias (< n / 2^32) is irrelevant here. */
static uint32_t rng_below(rng_t *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static double rng_unit(rng_t *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* ---- tables -------------------------------------------------------------- */

typedef struct witem {
    const char *s;
    uint32_t w;
} witem;

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Family names, per mille of the population (Nguyễn 38.4%, Trần 12.1%, ...). */
static const witem FAMILY[] = {
    {"Nguyễn", 384}, {"Trần", 121}, {"Lê", 95},    {"Phạm", 70},  {"Hoàng", 31}, {"Huỳnh", 20},
    {"Phan", 45},    {"Vũ", 20},    {"Võ", 19},    {"Đặng", 21},  {"Bùi", 20},   {"Đỗ", 14},
    {"Hồ", 13},      {"Ngô", 13},   {"Dương", 10}, {"Lý", 5},     {"Đinh", 8},   {"Trương", 8},
    {"Lâm", 6},      {"Mai", 6},    {"Trịnh", 6},  {"Đoàn", 6},   {"Lương", 5},  {"Cao", 5},
    {"Đào", 5},      {"Hà", 4},     {"Tạ", 4},     {"Châu", 3},   {"Quách", 3},  {"Thái", 3},
    {"Kiều", 3},     {"Lưu", 3},    {"Triệu", 3},  {"Phùng", 3},  {"Tăng", 2},   {"La", 2},
    {"Vương", 2},    {"Từ", 2},     {"Chu", 2},    {"Khúc", 1},   {"Mạc", 1},    {"Tống", 1},
    {"Lã", 1},       {"Hứa", 1},
};

static const witem MIDDLE_M[] = {
    {"Văn", 30}, {"Minh", 12}, {"Đức", 10}, {"Hữu", 8},   {"Quang", 8}, {"Công", 6},
    {"Thành", 6}, {"Xuân", 5}, {"Đình", 5}, {"Quốc", 5},  {"Hoàng", 4}, {"Anh", 4},
    {"Gia", 4},   {"Thanh", 4}, {"Trọng", 3}, {"Ngọc", 3}, {"Tuấn", 3}, {"Bảo", 3},
};

static const witem MIDDLE_F[] = {
    {"Thị", 40},  {"Ngọc", 10}, {"Thanh", 7}, {"Thu", 6},  {"Phương", 5}, {"Kim", 5},
    {"Minh", 5},  {"Thùy", 5},  {"Mỹ", 4},    {"Bảo", 4},  {"Khánh", 4},  {"Hồng", 4},
    {"Diệu", 3},  {"Bích", 3},  {"Hoài", 3},  {"Quỳnh", 3},
};

/* Given names in rank order; drawn Zipf (s = 0.8) within each list. */
static const char *const GIVEN_M[] = {
    "Anh",   "Huy",   "Dũng",  "Tuấn",  "Nam",   "Hải",   "Long",  "Minh",  "Hùng",  "Đức",
    "Khoa",  "Phong", "Quang", "Sơn",   "Thắng", "Trung", "Tùng",  "Vinh",  "Việt",  "Hiếu",
    "Hoàng", "Khánh", "Kiên",  "Lâm",   "Lộc",   "Mạnh",  "Nghĩa", "Nhân",  "Phúc",  "Quân",
    "Tài",   "Tâm",   "Thành", "Thịnh", "Tiến",  "Toàn",  "Trí",   "Tú",    "Bảo",   "Bình",
    "Cường", "Đạt",   "Duy",   "Giang", "Hưng",  "Khang", "Khải",  "Lợi",   "Nhật",  "Phát",
    "Quý",   "Sang",  "Tân",   "Thái",  "Thiện", "Thông", "Thuận", "Tín",   "Trọng", "Vũ",
    "Vương", "An",    "Công",  "Định",  "Hậu",   "Hiển",  "Hiệp",  "Hòa",   "Kha",   "Luân",
    "Danh",  "Đông",  "Quốc",  "Vĩnh",  "Hào",
};

static const char *const GIVEN_F[] = {
    "Linh",  "Trang", "Hương", "Hà",    "Phương", "Thảo",  "Anh",   "Ngọc",  "Lan",   "Mai",
    "Nhung", "Hằng",  "Hạnh",  "Hoa",   "Huyền",  "Hiền",  "Hồng",  "Loan",  "Ly",    "My",
    "Nga",   "Ngân",  "Nhi",   "Oanh",  "Quyên",  "Quỳnh", "Thanh", "Thu",   "Thủy",  "Thư",
    "Trâm",  "Trinh", "Tuyết", "Uyên",  "Vân",    "Vy",    "Yến",   "Xuân",  "Châu",  "Diệp",
    "Dung",  "Duyên", "Giang", "Hân",   "Kim",    "Lệ",    "Liên",  "Nguyệt", "Nhàn", "Phượng",
    "Tiên",  "Trúc",  "Tuyền", "Vi",    "Diễm",   "Ánh",   "Bích",  "Cúc",   "Hảo",   "Thoa",
    "Thơ",   "Thắm",  "Hoài",  "Kiều",  "Khánh",  "Tâm",   "An",    "Đào",   "Hậu",   "Lụa",
    "Mơ",    "Nhiên", "Diệu",  "Mỹ",    "Tú",
};

/* The 63 provinces in Zipf rank order (roughly by population and commerce). */
static const char *const CITIES[GEN_NCITIES] = {
    "Hồ Chí Minh", "Hà Nội",      "Đà Nẵng",    "Hải Phòng",  "Cần Thơ",
    "Bình Dương",  "Đồng Nai",    "Khánh Hòa",  "Bà Rịa - Vũng Tàu", "Thanh Hóa",
    "Nghệ An",     "Long An",     "Quảng Ninh", "Lâm Đồng",   "Thừa Thiên Huế",
    "Bắc Ninh",    "An Giang",    "Kiên Giang", "Đắk Lắk",    "Tiền Giang",
    "Bình Định",   "Quảng Nam",   "Hải Dương",  "Thái Nguyên", "Nam Định",
    "Bình Thuận",  "Đồng Tháp",   "Vĩnh Phúc",  "Bắc Giang",  "Thái Bình",
    "Hưng Yên",    "Tây Ninh",    "Bến Tre",    "Cà Mau",     "Gia Lai",
    "Quảng Ngãi",  "Sóc Trăng",   "Vĩnh Long",  "Trà Vinh",   "Bạc Liêu",
    "Hậu Giang",   "Bình Phước",  "Phú Yên",    "Ninh Thuận", "Quảng Bình",
    "Quảng Trị",   "Hà Tĩnh",     "Ninh Bình",  "Hà Nam",     "Phú Thọ",
    "Hòa Bình",    "Sơn La",      "Lào Cai",    "Yên Bái",    "Tuyên Quang",
    "Lạng Sơn",    "Hà Giang",    "Cao Bằng",   "Bắc Kạn",    "Điện Biên",
    "Lai Châu",    "Kon Tum",     "Đắk Nông",
};

static const witem CHANNELS[] = {
    {"facebook", 42}, {"zalo", 25}, {"web", 12}, {"instagram", 7}, {"tiktok", 5},
    {"telegram", 3},  {"email", 3}, {"sms", 2},  {"whatsapp", 1},
};

static const witem SOURCES[] = {
    {"facebook_ads", 25}, {"organic", 20},     {"zalo_oa", 15}, {"google_ads", 10},
    {"referral", 8},      {"website_form", 8}, {"import", 6},   {"shopee", 4},
    {"event", 2},         {"tiktok_ads", 2},
};

/* Mobile prefixes (0 + two digits) weighted by carrier share: Viettel, Vinaphone,
 * Mobifone, Vietnamobile, Gmobile. */
static const witem PHONE_PREFIX[] = {
    {"096", 6}, {"097", 6}, {"098", 6}, {"086", 4}, {"032", 3}, {"033", 3}, {"034", 3},
    {"035", 3}, {"036", 3}, {"037", 3}, {"038", 3}, {"039", 3}, {"091", 5}, {"094", 5},
    {"088", 3}, {"081", 2}, {"082", 2}, {"083", 2}, {"084", 2}, {"085", 2}, {"090", 5},
    {"093", 5}, {"089", 3}, {"070", 2}, {"076", 1}, {"077", 2}, {"078", 1}, {"079", 2},
    {"092", 3}, {"099", 2},
};

static const witem EMAIL_DOMAINS[] = {
    {"gmail.com", 72},  {"yahoo.com", 8},  {"yahoo.com.vn", 5}, {"hotmail.com", 4},
    {"outlook.com", 4}, {"icloud.com", 3}, {"fpt.com.vn", 1},   {"vnpt.vn", 1},
    {"hust.edu.vn", 1}, {"viettel.com.vn", 1},
};

static const char *const GENDER_NAMES[] = {"male", "female", "other", "unknown"};
static const char *const TYPE_NAMES[] = {"visitor", "lead", "customer"};
static const char *const STATUS_NAMES[] = {"never_subscribed", "subscribed", "unsubscribed"};

/* Vietnamese letters by their ASCII fold (lower and upper case). */
static const struct {
    char base;
    const char *letters;
} FOLD_SETS[] = {
    {'a', "àáảãạăằắẳẵặâầấẩẫậÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"},
    {'e', "èéẻẽẹêềếểễệÈÉẺẼẸÊỀẾỂỄỆ"},
    {'i', "ìíỉĩịÌÍỈĨỊ"},
    {'o', "òóỏõọôồốổỗộơờớởỡợÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ"},
    {'u', "ùúủũụưừứửữựÙÚỦŨỤƯỪỨỬỮỰ"},
    {'y', "ỳýỷỹỵỲÝỶỸỴ"},
    {'d', "đĐ"},
};

/* ---- tables built once ----------------------------------------------------- */

#define FOLD_MAP_CPS 0x1F00u /* every Vietnamese letter is below U+1F00 */

static uint64_t tag_cdf[GEN_NTAGS];
static uint64_t city_cdf[GEN_NCITIES];
static uint64_t given_m_cdf[NELEM(GIVEN_M)];
static uint64_t given_f_cdf[NELEM(GIVEN_F)];
static char fold_map[FOLD_MAP_CPS]; /* code point -> ASCII letter, 0 = none */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Decode one UTF-8 sequence at s (valid input assumed: these are our own
 * tables); *cp gets the code point; returns its byte length. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && s[1]) {
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && s[1] && s[2]) {
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    if ((s[0] & 0xF8) == 0xF0 && s[1] && s[2] && s[3]) {
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return 4;
    }
    *cp = 0xFFFD; /* a stray byte: skip it alone */
    return 1;
}

/* cdf[k] = 2^32 * P(rank <= k) for weights 1/(k+1)^s; the last entry is 2^32
 * exactly so every 32-bit draw lands somewhere. */
static void build_zipf(uint64_t *cdf, size_t n, double s)
{
    double total = 0;
    for (size_t k = 0; k < n; k++)
        total += 1.0 / pow((double)(k + 1), s);
    double cum = 0;
    for (size_t k = 0; k < n; k++) {
        cum += 1.0 / pow((double)(k + 1), s);
        cdf[k] = (uint64_t)(cum / total * 4294967296.0);
    }
    cdf[n - 1] = 4294967296ull;
}

static void gen_init(void)
{
    build_zipf(tag_cdf, GEN_NTAGS, 1.0);
    build_zipf(city_cdf, GEN_NCITIES, 1.0);
    build_zipf(given_m_cdf, NELEM(GIVEN_M), 0.8);
    build_zipf(given_f_cdf, NELEM(GIVEN_F), 0.8);
    for (size_t k = 0; k < NELEM(FOLD_SETS); k++) {
        const unsigned char *p = (const unsigned char *)FOLD_SETS[k].letters;
        while (*p) {
            uint32_t cp;
            p += utf8_decode(p, &cp);
            if (cp < FOLD_MAP_CPS)
                fold_map[cp] = FOLD_SETS[k].base;
        }
    }
}

static unsigned zipf_draw(rng_t *r, const uint64_t *cdf, size_t n)
{
    uint64_t u = rng_next(r) >> 32;
    size_t lo = 0, hi = n - 1; /* first k with u < cdf[k] */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (u < cdf[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return (unsigned)lo;
}

static const char *weighted(rng_t *r, const witem *t, size_t n)
{
    uint32_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += t[k].w;
    uint32_t x = rng_below(r, total);
    for (size_t k = 0; k < n; k++) {
        if (x < t[k].w)
            return t[k].s;
        x -= t[k].w;
    }
    return t[n - 1].s;
}

/* ---- folding ---------------------------------------------------------------- */

size_t gen_fold_ascii(const char *s, char *out, size_t cap)
{
    pthread_once(&init_once, gen_init);
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    if (cap == 0)
        return 0;
    while (*p) {
        uint32_t cp;
        size_t len = utf8_decode(p, &cp);
        if (cp < 0x80) {
            if (n + 1 >= cap)
                break;
            out[n++] = (char)((cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp);
        } else if (cp < FOLD_MAP_CPS && fold_map[cp]) {
            if (n + 1 >= cap)
                break;
            out[n++] = fold_map[cp];
        } else { /* not a Vietnamese letter: copied through */
            if (n + len >= cap)
                break;
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
    }
    out[n] = '\0';
    return n;
}

/* ---- writing values into the contact's buffer ------------------------------------ */

typedef struct cursor {
    char *p, *end;
} cursor;

static void put_mem(cursor *c, const char *s, size_t n)
{
    assert((size_t)(c->end - c->p) > n); /* GEN_BUF_BYTES covers the longest contact */
    memcpy(c->p, s, n);
    c->p += n;
}

static void put_str(cursor *c, const char *s) { put_mem(c, s, strlen(s)); }
static void put_char(cursor *c, char ch) { put_mem(c, &ch, 1); }

/* Decimal, left-padded with zeros to at least width digits. */
static void put_u64(cursor *c, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    char rev[24];
    for (int k = 0; k < n; k++)
        rev[k] = tmp[n - 1 - k];
    put_mem(c, rev, (size_t)n);
}

/* Start a value: returns where it begins. */
static char *val_begin(cursor *c) { return c->p; }

/* End the value begun at v, NUL-terminate it and append it as field name. */
static void val_end(gen_contact_t *g, cursor *c, const char *name, char *v)
{
    size_t len = (size_t)(c->p - v);
    put_char(c, '\0');
    assert(g->nkv < GEN_MAX_FIELDS);
    g->kv[g->nkv].name = name;
    g->kv[g->nkv].value = v;
    g->kv[g->nkv].value_len = len;
    g->nkv++;
}

static void put_field_str(gen_contact_t *g, cursor *c, const char *name, const char *s)
{
    char *v = val_begin(c);
    put_str(c, s);
    val_end(g, c, name, v);
}

static void put_field_u64(gen_contact_t *g, cursor *c, const char *name, uint64_t x)
{
    char *v = val_begin(c);
    put_u64(c, x, 1);
    val_end(g, c, name, v);
}

/* ASCII fold of one name word with its first letter upper-cased ("Nguyễn" -> "Nguyen"). */
static void put_folded_word(cursor *c, const char *word, bool capital)
{
    char tmp[64];
    size_t n = gen_fold_ascii(word, tmp, sizeof tmp);
    if (capital && n && tmp[0] >= 'a' && tmp[0] <= 'z')
        tmp[0] = (char)(tmp[0] - ('a' - 'A'));
    put_mem(c, tmp, n);
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* ---- one contact ----------------------------------------------------------------- */

void gen_contact(uint64_t seed, uint64_t i, gen_contact_t *g)
{
    pthread_once(&init_once, gen_init);
    rng_t r;
    rng_seed(&r, seed, i);
    cursor c = {g->buf, g->buf + sizeof g->buf};

    g->id = GEN_FIRST_ID + i;
    g->nkv = 0;
    g->email = NULL;
    g->has_phone = g->has_email = g->has_last_contacted = g->has_birthday = false;
    g->last_contacted = 0;

    /* gender, then a name that fits it */
    uint32_t x = rng_below(&r, 100);
    g->gender = x < 45 ? GEN_MALE : x < 90 ? GEN_FEMALE : x < 92 ? GEN_OTHER : GEN_UNKNOWN;
    bool fem = g->gender == GEN_FEMALE || (g->gender >= GEN_OTHER && rng_below(&r, 2));
    const char *family = weighted(&r, FAMILY, NELEM(FAMILY));
    const char *middle = NULL;
    if (rng_below(&r, 100) < 95)
        middle = fem ? weighted(&r, MIDDLE_F, NELEM(MIDDLE_F)) : weighted(&r, MIDDLE_M, NELEM(MIDDLE_M));
    const char *given = fem ? GIVEN_F[zipf_draw(&r, given_f_cdf, NELEM(GIVEN_F))]
                            : GIVEN_M[zipf_draw(&r, given_m_cdf, NELEM(GIVEN_M))];
    uint32_t style = rng_below(&r, 100);
    char *v = val_begin(&c);
    if (style < 85) { /* Nguyễn Thị Linh */
        put_str(&c, family);
        put_char(&c, ' ');
        if (middle) {
            put_str(&c, middle);
            put_char(&c, ' ');
        }
        put_str(&c, given);
    } else if (style < 93) { /* Nguyen Thi Linh: typed without diacritics */
        put_folded_word(&c, family, true);
        put_char(&c, ' ');
        if (middle) {
            put_folded_word(&c, middle, true);
            put_char(&c, ' ');
        }
        put_folded_word(&c, given, true);
    } else { /* Linh Nguyễn: a Facebook profile name */
        put_str(&c, given);
        put_char(&c, ' ');
        put_str(&c, family);
    }
    g->name = v;
    val_end(g, &c, "name", v);
    put_field_str(g, &c, "gender", GENDER_NAMES[g->gender]);

    /* city (92%), Zipf over the provinces */
    g->city = GEN_NO_CITY;
    if (rng_below(&r, 100) < 92) {
        g->city = (uint16_t)zipf_draw(&r, city_cdf, GEN_NCITIES);
        put_field_str(g, &c, "city", CITIES[g->city]);
    }
    put_field_str(g, &c, "channel", weighted(&r, CHANNELS, NELEM(CHANNELS)));
    put_field_str(g, &c, "source", weighted(&r, SOURCES, NELEM(SOURCES)));

    x = rng_below(&r, 100);
    g->type = x < 30 ? GEN_VISITOR : x < 80 ? GEN_LEAD : GEN_CUSTOMER;
    put_field_str(g, &c, "type", TYPE_NAMES[g->type]);
    x = rng_below(&r, 100);
    g->status = x < 35 ? GEN_NEVER_SUBSCRIBED : x < 90 ? GEN_SUBSCRIBED : GEN_UNSUBSCRIBED;
    put_field_str(g, &c, "status", STATUS_NAMES[g->status]);

    /* tags: a uniform count 0-8 of distinct Zipf-drawn tags, ascending */
    unsigned want = rng_below(&r, GEN_MAX_TAGS + 1);
    g->ntags = 0;
    for (unsigned tries = 0; g->ntags < want && tries < 256; tries++) {
        unsigned t = zipf_draw(&r, tag_cdf, GEN_NTAGS);
        unsigned k = 0;
        while (k < g->ntags && g->tags[k] < t)
            k++;
        if (k < g->ntags && g->tags[k] == t)
            continue; /* already has it: draw again */
        memmove(g->tags + k + 1, g->tags + k, g->ntags - k);
        g->tags[k] = (uint8_t)t;
        g->ntags++;
    }
    if (g->ntags) {
        v = val_begin(&c);
        for (unsigned k = 0; k < g->ntags; k++) {
            if (k)
                put_char(&c, ';');
            put_char(&c, 't');
            put_u64(&c, g->tags[k], 3);
        }
        val_end(g, &c, "tags", v);
    }

    /* created_at: density 0.5 -> 1.5 over the span (inverse of F(x) = x/2 + x^2/2) */
    const int64_t span = (int64_t)GEN_TIME_END - GEN_TIME_START;
    double fx = (-1.0 + sqrt(1.0 + 8.0 * rng_unit(&r))) / 2.0;
    g->created_at = GEN_TIME_START + (int64_t)(fx * (double)span);
    if (g->created_at >= GEN_TIME_END)
        g->created_at = GEN_TIME_END - 1;
    put_field_u64(g, &c, "created_at", (uint64_t)g->created_at);
    if (rng_below(&r, 100) < 80) {
        g->has_last_contacted = true;
        g->last_contacted =
            g->created_at + (int64_t)(rng_unit(&r) * (double)(GEN_TIME_END - g->created_at));
        put_field_u64(g, &c, "last_contacted", (uint64_t)g->last_contacted);
    }

    /* phone (60%) in one of the formats people type */
    if (rng_below(&r, 100) < 60) {
        g->has_phone = true;
        const char *pre = weighted(&r, PHONE_PREFIX, NELEM(PHONE_PREFIX)); /* "0xy" */
        uint32_t rest = rng_below(&r, 10000000);                          /* 7 digits */
        char d[11];                                                        /* 0xy + 7 */
        memcpy(d, pre, 3);
        for (int k = 9; k >= 3; k--) {
            d[k] = (char)('0' + rest % 10);
            rest /= 10;
        }
        d[10] = '\0';
        v = val_begin(&c);
        x = rng_below(&r, 100);
        if (x < 40) { /* 0912345678 */
            put_mem(&c, d, 10);
        } else if (x < 65 || x >= 95) { /* 0912 345 678 or 0912.345.678 */
            char sep = x < 65 ? ' ' : '.';
            put_mem(&c, d, 4);
            put_char(&c, sep);
            put_mem(&c, d + 4, 3);
            put_char(&c, sep);
            put_mem(&c, d + 7, 3);
        } else { /* +84912345678 or 84912345678 */
            if (x < 85)
                put_char(&c, '+');
            put_str(&c, "84");
            put_mem(&c, d + 1, 9);
        }
        val_end(g, &c, "phone", v);
    }

    /* email (50%): folded name parts + digits */
    if (rng_below(&r, 100) < 50) {
        char f[32], m[32], gv[32];
        gen_fold_ascii(family, f, sizeof f);
        gen_fold_ascii(middle ? middle : "", m, sizeof m);
        gen_fold_ascii(given, gv, sizeof gv);
        g->has_email = true;
        v = val_begin(&c);
        switch (rng_below(&r, 5)) {
        case 0: /* linh.nguyen */
            put_str(&c, gv);
            put_char(&c, '.');
            put_str(&c, f);
            break;
        case 1: /* nguyenthilinh */
            put_str(&c, f);
            put_str(&c, m);
            put_str(&c, gv);
            break;
        case 2: /* linhnt */
            put_str(&c, gv);
            put_char(&c, f[0]);
            if (m[0])
                put_char(&c, m[0]);
            break;
        case 3: /* linh_nguyen */
            put_str(&c, gv);
            put_char(&c, '_');
            put_str(&c, f);
            break;
        default: /* nguyen.linh */
            put_str(&c, f);
            put_char(&c, '.');
            put_str(&c, gv);
            break;
        }
        x = rng_below(&r, 100);
        if (x < 45)
            put_u64(&c, (1970 + rng_below(&r, 38)) % 100, 2); /* birth year: 93 */
        else if (x < 65)
            put_u64(&c, 1970 + rng_below(&r, 38), 4);         /* 1993 */
        else if (x < 80)
            put_u64(&c, 1 + rng_below(&r, 999), 1);           /* 7, 123 */
        put_char(&c, '@');
        put_str(&c, weighted(&r, EMAIL_DOMAINS, NELEM(EMAIL_DOMAINS)));
        g->email = v;
        val_end(g, &c, "email", v);
    }

    /* purchases for customers (1-20, geometric), revenue = purchases x order value */
    g->purchases = 0;
    if (g->type == GEN_CUSTOMER) {
        g->purchases = 1;
        while (g->purchases < 20 && rng_below(&r, 100) < 55)
            g->purchases++;
    }
    put_field_u64(g, &c, "purchases", g->purchases);
    if (g->type == GEN_CUSTOMER) {
        double u = rng_unit(&r);
        uint64_t order = 99000 + 1000 * (uint64_t)(2900.0 * u * u); /* VND, skewed low */
        put_field_u64(g, &c, "revenue", order * g->purchases);
    }

    /* birthday (40%) */
    if (rng_below(&r, 100) < 40) {
        int y = 1965 + (int)rng_below(&r, 43);
        int mo = 1 + (int)rng_below(&r, 12);
        int d = 1 + (int)rng_below(&r, (uint32_t)days_in_month(y, mo));
        g->has_birthday = true;
        v = val_begin(&c);
        put_u64(&c, (uint64_t)y, 4);
        put_char(&c, '-');
        put_u64(&c, (uint64_t)mo, 2);
        put_char(&c, '-');
        put_u64(&c, (uint64_t)d, 2);
        val_end(g, &c, "birthday", v);
    }
}

const char *gen_city_name(unsigned k) { return k < GEN_NCITIES ? CITIES[k] : NULL; }

/* ---- files ------------------------------------------------------------------------ */

static int put_resp_bulk(FILE *f, const char *s, size_t n)
{
    char hdr[32];
    cursor c = {hdr, hdr + sizeof hdr};
    put_char(&c, '$');
    put_u64(&c, n, 1);
    put_str(&c, "\r\n");
    if (fwrite(hdr, 1, (size_t)(c.p - hdr), f) != (size_t)(c.p - hdr) ||
        fwrite(s, 1, n, f) != n || fwrite("\r\n", 1, 2, f) != 2)
        return -1;
    return 0;
}

int gen_write_resp(FILE *f, uint64_t seed, uint64_t n)
{
    gen_contact_t g;
    for (uint64_t i = 0; i < n; i++) {
        gen_contact(seed, i, &g);
        char num[32];
        cursor c = {num, num + sizeof num};
        put_char(&c, '*');
        put_u64(&c, 2 + 2 * g.nkv, 1);
        put_str(&c, "\r\n");
        if (fwrite(num, 1, (size_t)(c.p - num), f) != (size_t)(c.p - num) ||
            put_resp_bulk(f, "UPSERT", 6) < 0)
            return -1;
        c.p = num;
        put_u64(&c, g.id, 1);
        if (put_resp_bulk(f, num, (size_t)(c.p - num)) < 0)
            return -1;
        for (size_t k = 0; k < g.nkv; k++)
            if (put_resp_bulk(f, g.kv[k].name, strlen(g.kv[k].name)) < 0 ||
                put_resp_bulk(f, g.kv[k].value, g.kv[k].value_len) < 0)
                return -1;
    }
    return fflush(f) == 0 ? 0 : -1;
}

static const char *const CSV_COLUMNS[] = {
    "id",     "name",    "email",  "phone", "gender", "birthday",       "city",      "channel",
    "source", "type",    "status", "tags",  "created_at", "last_contacted", "purchases", "revenue",
};

/* One CSV cell, quoted only when it holds a comma, a quote or a line break. */
static int put_csv_cell(FILE *f, const char *s, size_t n)
{
    if (strcspn(s, ",\"\r\n") >= n)
        return fwrite(s, 1, n, f) == n ? 0 : -1;
    if (fputc('"', f) == EOF)
        return -1;
    for (size_t k = 0; k < n; k++)
        if ((s[k] == '"' && fputc('"', f) == EOF) || fputc(s[k], f) == EOF)
            return -1;
    return fputc('"', f) == EOF ? -1 : 0;
}

int gen_write_csv(FILE *f, uint64_t seed, uint64_t n)
{
    for (size_t col = 0; col < NELEM(CSV_COLUMNS); col++)
        if (fputs(CSV_COLUMNS[col], f) == EOF || fputs(col + 1 < NELEM(CSV_COLUMNS) ? "," : "\r\n", f) == EOF)
            return -1;
    gen_contact_t g;
    for (uint64_t i = 0; i < n; i++) {
        gen_contact(seed, i, &g);
        char num[32];
        cursor c = {num, num + sizeof num};
        put_u64(&c, g.id, 1);
        if (fwrite(num, 1, (size_t)(c.p - num), f) != (size_t)(c.p - num))
            return -1;
        for (size_t col = 1; col < NELEM(CSV_COLUMNS); col++) {
            if (fputc(',', f) == EOF)
                return -1;
            for (size_t k = 0; k < g.nkv; k++)
                if (strcmp(g.kv[k].name, CSV_COLUMNS[col]) == 0) {
                    if (put_csv_cell(f, g.kv[k].value, g.kv[k].value_len) < 0)
                        return -1;
                    break;
                }
        }
        if (fputs("\r\n", f) == EOF)
            return -1;
    }
    return fflush(f) == 0 ? 0 : -1;
}

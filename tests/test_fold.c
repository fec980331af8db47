/*
 * test_fold.c — Criterion suite for engine/fold.c (SPEC section 7 folding,
 * phone normalization, email and tag-name checks, UTF-8 validation, the
 * group-code rule and fold_memmem).
 *
 * Every input is copied into a heap buffer of exactly its length, and every
 * output buffer is allocated at exactly the capacity the header promises, so
 * AddressSanitizer reports any read past len or write past the bound.
 * Random tests use a fixed-seed generator: a failure reproduces.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "fold.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static char *exact_copy(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    cr_assert_not_null(p);
    if (len)
        memcpy(p, s, len);
    return p;
}

/* Folds s[0..len) through exact-size buffers; returns a malloc'd result. */
static char *folded_n(const char *s, size_t len, size_t *out_len)
{
    char *in = exact_copy(s, len);
    size_t cap = fold_max_len(len) + 1;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    size_t n = fold_text(in, len, out);
    cr_assert_leq(n, fold_max_len(len), "fold_text wrote %zu bytes, bound %zu", n, fold_max_len(len));
    cr_assert_eq(out[n], '\0', "fold_text must NUL-terminate");
    free(in);
    if (out_len)
        *out_len = n;
    return out;
}

static void check_fold(const char *in, const char *want)
{
    size_t n;
    char *got = folded_n(in, strlen(in), &n);
    cr_expect_eq(n, strlen(want), "fold(\"%s\"): length %zu, want %zu (\"%s\")", in, n, strlen(want), want);
    cr_expect_str_eq(got, want, "fold(\"%s\")", in);
    free(got);
}

/* NFD (or NFC) of s through utf8proc, malloc'd. */
static char *normalize(const char *s, bool decompose)
{
    char *r = (char *)(decompose ? utf8proc_NFD((const utf8proc_uint8_t *)s)
                                 : utf8proc_NFC((const utf8proc_uint8_t *)s));
    cr_assert_not_null(r, "utf8proc could not normalize \"%s\"", s);
    return r;
}

/* Upper case of valid UTF-8 s, code point by code point, malloc'd. */
static char *upper(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len * 4 + 1);
    cr_assert_not_null(out);
    size_t o = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    while (*p) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
        cr_assert_gt(n, 0);
        o += (size_t)utf8proc_encode_char(utf8proc_toupper(cp), (utf8proc_uint8_t *)out + o);
        p += n;
    }
    out[o] = '\0';
    return out;
}

static size_t encode_cp(uint32_t cp, char *out)
{
    return (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)out);
}

/* A deliberately naive validator for differential testing: decode by the lead
 * byte's announced length, then require the shortest form and a legal value. */
static bool naive_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n;
    }
    return true;
}

static const char *naive_memmem(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return h;
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, n, nl) == 0)
            return h + i;
    return NULL;
}

/* ---- folding: Vietnamese ------------------------------------------------- */

static const char *const provinces[][2] = {
    {"An Giang", "angiang"},          {"Bà Rịa - Vũng Tàu", "bariavungtau"},
    {"Bắc Giang", "bacgiang"},        {"Bắc Kạn", "backan"},
    {"Bạc Liêu", "baclieu"},          {"Bắc Ninh", "bacninh"},
    {"Bến Tre", "bentre"},            {"Bình Định", "binhdinh"},
    {"Bình Dương", "binhduong"},      {"Bình Phước", "binhphuoc"},
    {"Bình Thuận", "binhthuan"},      {"Cà Mau", "camau"},
    {"Cần Thơ", "cantho"},            {"Cao Bằng", "caobang"},
    {"Đà Nẵng", "danang"},            {"Đắk Lắk", "daklak"},
    {"Đắk Nông", "daknong"},          {"Điện Biên", "dienbien"},
    {"Đồng Nai", "dongnai"},          {"Đồng Tháp", "dongthap"},
    {"Gia Lai", "gialai"},            {"Hà Giang", "hagiang"},
    {"Hà Nam", "hanam"},              {"Hà Nội", "hanoi"},
    {"Hà Tĩnh", "hatinh"},            {"Hải Dương", "haiduong"},
    {"Hải Phòng", "haiphong"},        {"Hậu Giang", "haugiang"},
    {"Hòa Bình", "hoabinh"},          {"Hưng Yên", "hungyen"},
    {"Khánh Hòa", "khanhhoa"},        {"Kiên Giang", "kiengiang"},
    {"Kon Tum", "kontum"},            {"Lai Châu", "laichau"},
    {"Lâm Đồng", "lamdong"},          {"Lạng Sơn", "langson"},
    {"Lào Cai", "laocai"},            {"Long An", "longan"},
    {"Nam Định", "namdinh"},          {"Nghệ An", "nghean"},
    {"Ninh Bình", "ninhbinh"},        {"Ninh Thuận", "ninhthuan"},
    {"Phú Thọ", "phutho"},            {"Phú Yên", "phuyen"},
    {"Quảng Bình", "quangbinh"},      {"Quảng Nam", "quangnam"},
    {"Quảng Ngãi", "quangngai"},      {"Quảng Ninh", "quangninh"},
    {"Quảng Trị", "quangtri"},        {"Sóc Trăng", "soctrang"},
    {"Sơn La", "sonla"},              {"Tây Ninh", "tayninh"},
    {"Thái Bình", "thaibinh"},        {"Thái Nguyên", "thainguyen"},
    {"Thanh Hóa", "thanhhoa"},        {"Thừa Thiên Huế", "thuathienhue"},
    {"Tiền Giang", "tiengiang"},      {"Hồ Chí Minh", "hochiminh"},
    {"Trà Vinh", "travinh"},          {"Tuyên Quang", "tuyenquang"},
    {"Vĩnh Long", "vinhlong"},        {"Vĩnh Phúc", "vinhphuc"},
    {"Yên Bái", "yenbai"},
};

Test(fold, all_63_provinces_fold_to_plain_ascii_in_nfc_nfd_and_upper_case)
{
    size_t count = sizeof provinces / sizeof provinces[0];
    cr_assert_eq(count, 63);
    for (size_t k = 0; k < count; k++) {
        char *nfc = normalize(provinces[k][0], false);
        char *nfd = normalize(provinces[k][0], true);
        char *up = upper(nfc);
        char *up_nfd = normalize(up, true);
        bool has_marks = false;
        for (const char *c = provinces[k][0]; *c; c++)
            has_marks = has_marks || (unsigned char)*c >= 0x80;
        if (has_marks)
            cr_expect_neq(strcmp(nfc, nfd), 0, "NFD of \"%s\" should differ from NFC", nfc);
        check_fold(nfc, provinces[k][1]);
        check_fold(nfd, provinces[k][1]);
        check_fold(up, provinces[k][1]);
        check_fold(up_nfd, provinces[k][1]);
        free(nfc);
        free(nfd);
        free(up);
        free(up_nfd);
    }
}

Test(fold, every_vietnamese_vowel_with_every_tone_folds_to_its_base_letter)
{
    /* base letter, its modifier mark (breve, circumflex, horn) or 0 */
    static const struct { char base; uint32_t mod; } vowels[] = {
        {'a', 0}, {'a', 0x0306}, {'a', 0x0302}, {'e', 0}, {'e', 0x0302}, {'i', 0},
        {'o', 0}, {'o', 0x0302}, {'o', 0x031B}, {'u', 0}, {'u', 0x031B}, {'y', 0},
    };
    /* no tone, huyền, sắc, hỏi, ngã, nặng */
    static const uint32_t tones[] = {0, 0x0300, 0x0301, 0x0309, 0x0303, 0x0323};
    size_t tested = 0;
    for (size_t v = 0; v < sizeof vowels / sizeof vowels[0]; v++) {
        for (size_t t = 0; t < sizeof tones / sizeof tones[0]; t++) {
            for (int up = 0; up < 2; up++) {
                char nfd[16], want[2] = {vowels[v].base, 0};
                size_t n = 0;
                nfd[n++] = up ? (char)(vowels[v].base - 'a' + 'A') : vowels[v].base;
                if (vowels[v].mod)
                    n += encode_cp(vowels[v].mod, nfd + n);
                if (tones[t])
                    n += encode_cp(tones[t], nfd + n);
                nfd[n] = '\0';
                char *nfc = normalize(nfd, false);
                if (vowels[v].mod || tones[t])
                    cr_assert_eq(utf8proc_iterate((const utf8proc_uint8_t *)nfc, -1,
                                                  &(utf8proc_int32_t){0}),
                                 (utf8proc_ssize_t)strlen(nfc),
                                 "NFC of a Vietnamese letter should be one code point");
                check_fold(nfd, want);
                check_fold(nfc, want);
                free(nfc);
                tested++;
            }
        }
    }
    cr_assert_eq(tested, 144);
    check_fold("đĐ", "dd");
    check_fold("ƯƠ", "uo");
    check_fold("ưƯơƠ", "uuoo");
    check_fold("ắằẳẵặẮẰẲẴẶ", "aaaaaaaaaa");
    check_fold("ấầẩẫậ ếềểễệ ốồổỗộ ớờởỡợ ứừửữự ỳýỷỹỵ", "aaaaaeeeeeoooooooooouuuuuyyyyy");
}

Test(fold, vietnamese_names_in_nfc_and_nfd_fold_alike)
{
    check_fold("Nguyễn", "nguyen");
    check_fold("Nguye\xcc\x82\xcc\x83n", "nguyen"); /* NFD: e + U+0302 + U+0303 */
    check_fold("NGUYỄN", "nguyen");
    check_fold("Đặng Thị Thu Hà", "dangthithuha");
    check_fold("Trần Văn Ơn", "tranvanon");
    check_fold("Lê Thị Hương", "lethihuong");
    check_fold("Phạm Ngọc Quỳnh", "phamngocquynh");
    check_fold("U\xcc\x9bO\xcc\x9b", "uo"); /* NFD Ư Ơ: U/O + horn U+031B */
    check_fold("Ho\xcc\x9b\xcc\x80", "ho"); /* NFD of "Hờ" */
}

Test(fold, spelling_variants_of_one_city_are_one_value)
{
    const char *variants[] = {"Hà Nội", "ha noi", "HA-NOI", "hanoi", "Ha_Noi", "Ha.Noi",
                              "  Hà   Nội  ", "Hà\xc2\xa0Nội", "HÀ NỘI"};
    for (size_t k = 0; k < sizeof variants / sizeof variants[0]; k++)
        check_fold(variants[k], "hanoi");
}

Test(fold, only_space_hyphen_underscore_dot_are_dropped_en_dash_is_kept)
{
    check_fold("Bà Rịa–Vũng Tàu", "baria–vungtau"); /* U+2013 stays */
    check_fold("a-b_c.d e", "abcde");
    check_fold("a,b;c/d(e)f'g\"h", "a,b;c/d(e)f'g\"h");
    check_fold("a\tb\nc", "a\tb\nc");
    check_fold("Q1 - TP.HCM", "q1tphcm");
    check_fold("", "");
    check_fold("   ---...___", "");
}

Test(fold, unicode_spaces_and_invisible_characters_are_dropped)
{
    check_fold("Hà\xe2\x80\xafNội", "hanoi");      /* U+202F narrow no-break space */
    check_fold("Hà\xe3\x80\x80Nội", "hanoi");      /* U+3000 ideographic space */
    check_fold("\xef\xbb\xbfHanoi", "hanoi");      /* BOM */
    check_fold("Ha\xe2\x80\x8bnoi", "hanoi");      /* zero width space */
    check_fold("Ha\xc2\xadnoi", "hanoi");          /* soft hyphen */
    check_fold("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", /* ZWJ in emoji stays */
               "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9");
}

Test(fold, other_latin_letters_lose_diacritics)
{
    check_fold("Crème Brûlée", "cremebrulee");
    check_fold("Señor Müller", "senormuller");
    check_fold("Ça Façade", "cafacade");
    check_fold("Straße", "strasse");
    check_fold("STRAẞE", "strasse");
    check_fold("Ærø", "aero");
    check_fold("Łódź", "lodz");
    check_fold("Œuvre", "oeuvre");
    check_fold("Þór", "thor");
    check_fold("İstanbul ılık", "istanbulilik");
    check_fold("Ǆemal", "dzemal");
    check_fold("ﬁnance", "finance"); /* U+FB01 ligature */
    check_fold("Åland \xe2\x84\xab", "alanda"); /* U+212B ANGSTROM SIGN */
}

Test(fold, other_cased_alphabets_lower_case_and_lose_accents)
{
    check_fold("МОСКВА", "москва");
    check_fold("Ёлка", "елка");
    check_fold("ΑΘΉΝΑ", "αθηνα");
    check_fold("Ａｂｃ", "ａｂｃ"); /* fullwidth: case folded, width kept */
}

Test(fold, cjk_emoji_symbols_and_other_scripts_are_kept_as_is)
{
    check_fold("東京", "東京");
    check_fold("서울", "서울");
    check_fold("กรุงเทพฯ", "กรุงเทพฯ");
    check_fold("🔥 Hot", "🔥hot");
    check_fold("€100 × 2 ÷ 3", "€100×2÷3");
    check_fold("नमस्ते", "नमस्ते");
}

Test(fold, invalid_utf8_bytes_are_copied_through_and_ascii_lower_cased)
{
    size_t n;
    struct { const char *in; size_t len; const char *want; size_t want_len; } cases[] = {
        {"\xff", 1, "\xff", 1},
        {"A\x80" "B", 3, "a\x80" "b", 3},
        {"Nguy\xe1\xbb", 6, "nguy\xe1\xbb", 6},        /* ễ cut short at the end */
        {"\xe1\xbb", 2, "\xe1\xbb", 2},
        {"\xc3", 1, "\xc3", 1},                         /* truncated Latin-1 lead */
        {"\xcc", 1, "\xcc", 1},                         /* truncated combining mark */
        {"\xcd\xb0X", 3, "\xcd\xb1x", 3},               /* U+0370 (not a mark) -> U+0371 */
        {"\xc0\xaf", 2, "\xc0\xaf", 2},                 /* overlong '/' */
        {"\xed\xa0\x80Z", 4, "\xed\xa0\x80z", 4},       /* surrogate */
        {"\xf4\x90\x80\x80", 4, "\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
        {"A\0B", 3, "a\0b", 3},                         /* NUL is an ordinary byte here */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *got = folded_n(cases[k].in, cases[k].len, &n);
        cr_expect_eq(n, cases[k].want_len, "case %zu: length %zu", k, n);
        cr_expect_eq(memcmp(got, cases[k].want, cases[k].want_len), 0, "case %zu", k);
        free(got);
    }
}

Test(fold, latin_tables_agree_with_utf8proc_where_it_gives_plain_ascii)
{
    const uint32_t ranges[][2] = {{0xC0, 0x24F}, {0x1E00, 0x1EFF}};
    size_t compared = 0;
    for (size_t r = 0; r < 2; r++) {
        for (uint32_t cp = ranges[r][0]; cp <= ranges[r][1]; cp++) {
            char in[5];
            size_t len = encode_cp(cp, in);
            in[len] = '\0';
            size_t n;
            char *got = folded_n(in, len, &n);
            cr_expect_leq(n, len, "U+%04X grows: %zu > %zu", cp, n, len);
            cr_expect_geq(n, 1, "U+%04X vanished", cp);
            for (size_t i = 0; i < n; i++)
                cr_expect(!(got[i] >= 'A' && got[i] <= 'Z'), "U+%04X kept an upper-case letter", cp);
            utf8proc_uint8_t *ref = NULL;
            utf8proc_ssize_t rl = utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)len, &ref,
                                               UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                                   UTF8PROC_STRIPMARK | UTF8PROC_STABLE);
            cr_assert_geq(rl, 0);
            bool ascii_letters = rl > 0;
            for (utf8proc_ssize_t i = 0; i < rl; i++)
                ascii_letters = ascii_letters && ref[i] >= 'a' && ref[i] <= 'z';
            if (ascii_letters) {
                cr_expect_str_eq(got, (const char *)ref, "U+%04X", cp);
                compared++;
            }
            free(ref);
            free(got);
        }
    }
    cr_expect_gt(compared, 500, "the cross-check compared only %zu code points", compared);
}

Test(fold, every_code_point_folds_within_bound_to_valid_utf8_and_is_idempotent)
{
    char in[5], once[16], twice[32];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        size_t len = encode_cp(cp, in);
        size_t n = fold_text(in, len, once);
        if (n > fold_max_len(len) || !fold_utf8_valid(once, n))
            cr_assert_fail("U+%04X: %zu bytes (bound %zu), valid %d", cp, n, fold_max_len(len),
                           fold_utf8_valid(once, n));
        for (size_t i = 0; i < n; i++)
            if (once[i] >= 'A' && once[i] <= 'Z')
                cr_assert_fail("U+%04X keeps an upper-case ASCII letter", cp);
        size_t m = fold_text(once, n, twice);
        if (m != n || memcmp(once, twice, n) != 0)
            cr_assert_fail("U+%04X: folding is not idempotent", cp);
    }
}

Test(fold, random_bytes_never_overflow_the_bound)
{
    static const char *const pieces[] = {
        "a", "Z", " ", "-", ".", "_", "\xc3", "\xa0", "\xcc", "\x80", "\xe1", "\xbb", "\x85",
        "\xf0", "\x9f", "\xed", "\xff", "ễ", "Ư", "ß", "և", "ᾳ", "ﬃ", "\xcd", "\xc2\xa0", "\0",
    };
    for (int iter = 0; iter < 20000; iter++) {
        char buf[96];
        size_t len = 0, want = (size_t)(rng() % 64);
        while (len < want) {
            if (rng() & 1) {
                buf[len++] = (char)rng();
            } else {
                const char *pc = pieces[rng() % (sizeof pieces / sizeof pieces[0])];
                size_t pl = pc[0] ? strlen(pc) : 1;
                memcpy(buf + len, pc, pl);
                len += pl;
            }
        }
        char *in = exact_copy(buf, len);
        size_t cap = fold_max_len(len) + 1;
        char *out = malloc(cap);
        cr_assert_not_null(out);
        size_t n = fold_text(in, len, out);
        cr_assert_leq(n, fold_max_len(len));
        cr_assert_eq(fold_utf8_valid(in, len), naive_utf8_valid((unsigned char *)in, len),
                     "fold_utf8_valid disagrees with the naive validator (iteration %d)", iter);
        cr_assert_eq(fold_text_clean(in, len), naive_utf8_valid((unsigned char *)in, len) && !memchr(in, 0, len),
                     "fold_text_clean disagrees with the naive validator and memchr (iteration %d)", iter);
        if (fold_utf8_valid(in, len))
            cr_assert(fold_utf8_valid(out, n), "valid input folded to invalid UTF-8 (iteration %d)", iter);
        fold_utf8_chars(in, len);
        fold_email_valid(in, len);
        fold_tag_name_problem(in, len);
        char *code = malloc(cap);
        cr_assert_not_null(code);
        size_t cl = fold_group_code(in, len, code);
        cr_assert_leq(cl, fold_max_len(len));
        char *ph = malloc(len + 2);
        cr_assert_not_null(ph);
        cr_assert_leq(fold_phone(in, len, ph), len);
        cr_assert_leq(fold_phone_query(in, len, ph), len);
        free(ph);
        free(code);
        free(out);
        free(in);
    }
}

Test(fold, folding_valid_text_is_per_character_so_concatenation_commutes)
{
    static const char *const words[] = {"Nguyễn", "Văn", " ", "-", "ĐÀ", "Nẵng", "e\xcc\x81", "Σ",
                                        "東", "🔥", "ß", "Ⅻ", "ﬀ", "Ω", "x"};
    size_t nw = sizeof words / sizeof words[0];
    for (int iter = 0; iter < 2000; iter++) {
        char a[128], b[128], ab[256];
        size_t al = 0, bl = 0;
        for (int k = (int)(rng() % 6); k > 0; k--) {
            const char *w = words[rng() % nw];
            memcpy(a + al, w, strlen(w));
            al += strlen(w);
        }
        for (int k = (int)(rng() % 6); k > 0; k--) {
            const char *w = words[rng() % nw];
            memcpy(b + bl, w, strlen(w));
            bl += strlen(w);
        }
        memcpy(ab, a, al);
        memcpy(ab + al, b, bl);
        size_t fa, fb, fab;
        char *xa = folded_n(a, al, &fa), *xb = folded_n(b, bl, &fb), *xab = folded_n(ab, al + bl, &fab);
        cr_assert_eq(fab, fa + fb);
        cr_assert_eq(memcmp(xab, xa, fa), 0);
        cr_assert_eq(memcmp(xab + fa, xb, fb), 0);
        free(xa);
        free(xb);
        free(xab);
    }
}

Test(fold, fold_dup_returns_the_folded_string_and_its_length)
{
    size_t n = 99;
    char *d = fold_dup("Thừa Thiên Huế", strlen("Thừa Thiên Huế"), &n);
    cr_assert_not_null(d);
    cr_expect_str_eq(d, "thuathienhue");
    cr_expect_eq(n, 12);
    free(d);
    d = fold_dup("", 0, NULL);
    cr_assert_not_null(d);
    cr_expect_str_eq(d, "");
    free(d);
}

Test(fold, max_len_is_twice_the_input_and_never_wraps)
{
    cr_expect_eq(fold_max_len(0), 0);
    cr_expect_eq(fold_max_len(10), 20);
    cr_expect_lt(fold_max_len(SIZE_MAX), SIZE_MAX);
    cr_expect_lt(fold_max_len(SIZE_MAX / 2 + 1), SIZE_MAX);
}

Test(fold, lower_ascii_changes_only_ascii_letters)
{
    char out[32];
    const char in[] = "Nguyen.VAN@Gmail.COM\xc3\x80";
    size_t n = fold_lower_ascii(in, sizeof in - 1, out);
    cr_expect_eq(n, sizeof in - 1);
    cr_expect_str_eq(out, "nguyen.van@gmail.com\xc3\x80");
}

/* ---- UTF-8 ---------------------------------------------------------------- */

Test(fold, utf8_valid_accepts_well_formed_text)
{
    const char *ok[] = {"", "hello world, a long ascii run of text", "Nguyễn Văn Đức",
                        "\xf0\x9f\x94\xa5", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf",
                        "\xee\x80\x80", "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80"};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        char *in = exact_copy(ok[k], strlen(ok[k]));
        cr_expect(fold_utf8_valid(in, strlen(ok[k])), "should be valid: case %zu", k);
        free(in);
    }
}

Test(fold, utf8_valid_rejects_overlongs_surrogates_big_values_and_truncation)
{
    const char *bad[] = {
        "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80",
        "\xfe", "\xff", "\xc3", "\xe1\xbb", "\xf0\x9f\x94", "\xc3\x28", "\xe1\x28\xa1",
        "abcdefgh\xff", "abcdefghijklmno\xc3", "Nguy\xe1\xbb", "\xe1\xbb\x85\x85",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        size_t len = strlen(bad[k]);
        char *in = exact_copy(bad[k], len);
        cr_expect(!fold_utf8_valid(in, len), "should be invalid: case %zu", k);
        free(in);
    }
}

Test(fold, utf8_chars_counts_code_points_not_bytes)
{
    cr_expect_eq(fold_utf8_chars("", 0), 0);
    cr_expect_eq(fold_utf8_chars("abc", 3), 3);
    cr_expect_eq(fold_utf8_chars("Nguyễn", strlen("Nguyễn")), 6);
    cr_expect_eq(fold_utf8_chars("🔥東a", strlen("🔥東a")), 3);
}

/* ---- phones --------------------------------------------------------------- */

static void check_phone(size_t (*f)(const char *, size_t, char *), const char *in, const char *want)
{
    size_t len = strlen(in);
    char *src = exact_copy(in, len);
    char *out = malloc(len + 2);
    cr_assert_not_null(out);
    size_t n = f(src, len, out);
    cr_expect_eq(n, strlen(want), "\"%s\": length %zu, want \"%s\"", in, n, want);
    if (n == strlen(want))
        cr_expect_eq(memcmp(out, want, n), 0, "\"%s\": got \"%.*s\", want \"%s\"", in, (int)n, out, want);
    free(out);
    free(src);
}

Test(fold, phone_vietnamese_forms_are_one_number)
{
    static const char *const table[][2] = {
        {"0912 345 678", "0912345678"},        {"+84912345678", "0912345678"},
        {"84912345678", "0912345678"},         {"+84 91 234 5678", "0912345678"},
        {"(+84) 912-345-678", "0912345678"},   {"0084912345678", "0912345678"},
        {"+84 (0) 912 345 678", "0912345678"}, {"0912.345.678", "0912345678"},
        {"tel: 0912-345-678 (nhà)", "0912345678"},
        {"+84 28 3822 1234", "02838221234"},   /* landline: 10 national digits */
        {"842838221234", "02838221234"},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        check_phone(fold_phone, table[k][0], table[k][1]);
}

Test(fold, phone_other_numbers_keep_their_digits)
{
    static const char *const table[][2] = {
        {"8412", "8412"},                        /* too short for a country code */
        {"84 123", "84123"},
        {"+1 650 555 0100", "16505550100"},
        {"+84 912 345 678 9012", "849123456789012"}, /* too long for a Vietnamese number */
        {"0084 12", "008412"},
        {"84012345678", "84012345678"},
        {"912345678", "912345678"},
        {"", ""}, {"abc", ""}, {"+", ""}, {"()- ", ""},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        check_phone(fold_phone, table[k][0], table[k][1]);
}

/* fold_phone_valid, UPSERT's phone check, says what fold_phone would. */
Test(fold, phone_valid_is_fold_phone_writing_something)
{
    static const char *const cases[] = {"0912 345 678", "+84 (0) 912-345-678", "84", "0", "abc", "", "- ( ) +",
                                        "không có số", "số 9", "\xff" "1"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[64];
        size_t len = strlen(cases[i]);
        cr_expect_eq(fold_phone_valid(cases[i], len), fold_phone(cases[i], len, out) > 0, "'%s'", cases[i]);
    }
}

Test(fold, phone_query_reads_a_leading_84_as_0)
{
    static const char *const table[][2] = {
        {"84912", "0912"},   {"+84912", "0912"}, {"+84 0912", "00912"}, {"0084 912", "0912"},
        {"345 678", "345678"}, {"84", "0"},      {"912", "912"},       {"0912", "0912"},
        {"8", "8"},          {"abc", ""},        {"", ""},             {"+84912345678", "0912345678"},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        check_phone(fold_phone_query, table[k][0], table[k][1]);
}

/* ---- emails --------------------------------------------------------------- */

static bool email_ok(const char *s, size_t len)
{
    char *in = exact_copy(s, len);
    bool r = fold_email_valid(in, len);
    free(in);
    return r;
}

Test(fold, email_accepts_ordinary_addresses)
{
    const char *ok[] = {"a@b.co", "Nguyen.Van.A@Gmail.com", "an+tag@mail.example.vn", "a@b.c",
                        "ngọc@ví-dụ.vn", "user_1@sub.domain.com.vn", "a.@b.co"};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
        cr_expect(email_ok(ok[k], strlen(ok[k])), "should be valid: %s", ok[k]);
}

Test(fold, email_rejects_bad_addresses)
{
    const char *bad[] = {"", "@b.co", "a@", "a@b", "a@.bco", "a@bco.", "a@@b.co", "a@b@c.co",
                         "a b@c.co", "a@b .co", "a\t@b.co", "a@b.co\n", "a\x7f@b.co",
                         "a@b\xc2\xa0.co", "\xff@b.co", "a@b.c\xc3", "a\xc2\x85@b.co", "abc",
                         "a@.", "a@b.", "a\xe2\x80\xa8@b.co"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        cr_expect(!email_ok(bad[k], strlen(bad[k])), "should be invalid: case %zu \"%s\"", k, bad[k]);
    cr_expect(!email_ok("a\0@b.co", 7), "NUL inside an email must be rejected");
}

Test(fold, email_length_limit_is_254_bytes)
{
    char buf[300];
    memset(buf, 'a', sizeof buf);
    memcpy(buf + 254 - 6, "@b.com", 6); /* 254 bytes in all */
    cr_expect(email_ok(buf, 254));
    memcpy(buf + 255 - 6, "@b.com", 6);
    cr_expect(!email_ok(buf, 255));
}

/* ---- tag names ------------------------------------------------------------ */

static const char *tag_problem(const char *s, size_t len)
{
    char *in = exact_copy(s, len);
    const char *r = fold_tag_name_problem(in, len);
    free(in);
    return r;
}

Test(fold, tag_names_that_are_fine)
{
    const char *ok[] = {"vip", "Khách VIP", "🔥hot", "a", "khách-hàng_2024.q1"};
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++)
        cr_expect_null(tag_problem(ok[k], strlen(ok[k])), "\"%s\" should be fine", ok[k]);
    char buf[64 * 3 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(buf, "ữ"); /* 64 characters, 192 bytes */
    cr_expect_null(tag_problem(buf, strlen(buf)));
}

Test(fold, tag_name_problems_are_named)
{
    cr_expect_str_eq(tag_problem("", 0), "tag name is empty");
    cr_expect_str_eq(tag_problem("a,b", 3), "tag name contains ','");
    cr_expect_str_eq(tag_problem("a;b", 3), "tag name contains ';'");
    cr_expect_str_eq(tag_problem("a\tb", 3), "tag name contains a control character");
    cr_expect_str_eq(tag_problem("a\x7f" "b", 3), "tag name contains a control character");
    cr_expect_str_eq(tag_problem("a\0b", 3), "tag name contains a control character");
    cr_expect_str_eq(tag_problem("a\xc2\x85" "b", 4), "tag name contains a control character");
    cr_expect_str_eq(tag_problem("\xff", 1), "tag name is not valid UTF-8");
    cr_expect_str_eq(tag_problem("vip\xe1\xbb", 5), "tag name is not valid UTF-8");
    char buf[65 * 3 + 1] = "";
    for (int i = 0; i < 65; i++)
        strcat(buf, "ữ");
    cr_expect_str_eq(tag_problem(buf, strlen(buf)), "tag name is longer than 64 characters");
    memset(buf, 'a', 65);
    cr_expect_str_eq(tag_problem(buf, 65), "tag name is longer than 64 characters");
    cr_expect_null(tag_problem(buf, 64));
}

/* ---- group codes ---------------------------------------------------------- */

static void check_code(const char *in, const char *want)
{
    size_t len = strlen(in);
    char *src = exact_copy(in, len);
    char *out = malloc(fold_max_len(len) + 1);
    cr_assert_not_null(out);
    size_t n = fold_group_code(src, len, out);
    cr_expect_eq(n, strlen(want), "code(\"%s\"): length %zu, want \"%s\"", in, n, want);
    cr_expect_str_eq(out, want, "code(\"%s\")", in);
    free(out);
    free(src);
}

Test(fold, group_codes_from_vietnamese_names)
{
    check_code("Khách VIP", "KHACH_VIP");
    check_code("  nhóm  mới!! ", "NHOM_MOI");
    check_code("Đại lý", "DAI_LY");
    check_code("Khách-hàng_thân.thiết", "KHACH_HANG_THAN_THIET");
    check_code("VIP 2024", "VIP_2024");
    check_code("Nhóm\xc2\xa0" "A", "NHOM_A");
    check_code("Kha\xcc\x81" "ch", "KHACH"); /* NFD */
    check_code("Khách 中文 VIP", "KHACH_VIP");
    check_code("Straße", "STRASSE");
}

Test(fold, group_code_is_empty_when_no_letter_or_digit_is_left)
{
    check_code("", "");
    check_code("!!!", "");
    check_code(" - _ . ", "");
    check_code("中文", "");
}

/* ---- fold_memmem ---------------------------------------------------------- */

static void check_memmem(const char *hay, size_t hl, const char *needle, size_t nl)
{
    char *h = exact_copy(hay, hl), *n = exact_copy(needle, nl);
    const char *got = fold_memmem(h, hl, n, nl);
    const char *want = naive_memmem(h, hl, n, nl);
    cr_assert_eq(got, want, "hay %zu bytes, needle %zu bytes: got offset %td, want %td", hl, nl,
                 got ? got - h : (ptrdiff_t)-1, want ? want - h : (ptrdiff_t)-1);
    free(h);
    free(n);
}

Test(fold, memmem_edge_cases)
{
    check_memmem("hanoi", 5, "", 0);
    check_memmem("", 0, "", 0);
    check_memmem("", 0, "a", 1);
    check_memmem("ab", 2, "abc", 3);            /* hay shorter than needle */
    check_memmem("abc", 3, "abc", 3);           /* needle is the hay */
    check_memmem("aaaab", 5, "aab", 3);         /* overlapping prefixes */
    check_memmem("abababac", 8, "ababac", 6);
    check_memmem("xyz", 3, "z", 1);
    check_memmem("xyz", 3, "q", 1);
    const char *city = "thanhphohochiminh|hanoi|danang|haiphong|cantho|bariavungtau";
    check_memmem(city, strlen(city), "bariavungtau", 12); /* at the very end */
    check_memmem(city, strlen(city), "vungtauu", 8);
    check_memmem(city, strlen(city), "ha", 2);
}

Test(fold, memmem_matches_naive_search_on_random_inputs)
{
    char hay[700], needle[40];
    for (int iter = 0; iter < 20000; iter++) {
        size_t hl = (size_t)(rng() % 600);
        int alpha = 2 + (int)(rng() % 3); /* tiny alphabets: many partial matches */
        for (size_t i = 0; i < hl; i++)
            hay[i] = (char)('a' + rng() % (uint64_t)alpha);
        size_t nl = (size_t)(rng() % 34);
        int how = (int)(rng() % 3);
        if (how == 0 && hl >= nl) { /* a needle cut from the hay, often at its end */
            size_t at = (rng() & 1) ? hl - nl : (size_t)(rng() % (hl - nl + 1));
            memcpy(needle, hay + at, nl);
        } else {
            for (size_t i = 0; i < nl; i++)
                needle[i] = (char)('a' + rng() % (uint64_t)alpha);
        }
        if (how == 2 && nl > 1)
            needle[nl - 1] = 'z'; /* first byte matches everywhere, last nowhere */
        check_memmem(hay, hl, needle, nl);
    }
}

Test(fold, memmem_finds_a_needle_at_the_end_of_a_large_haystack)
{
    size_t hl = 1 << 20;
    char *hay = malloc(hl);
    cr_assert_not_null(hay);
    for (size_t i = 0; i < hl; i++)
        hay[i] = "nguyenvanan"[i % 11];
    memcpy(hay + hl - 9, "thuhuong", 8);
    hay[hl - 1] = 'x';
    cr_expect_eq(fold_memmem(hay, hl, "thuhuongx", 9), hay + hl - 9);
    cr_expect_eq(fold_memmem(hay, hl, "vanana", 6), NULL);
    cr_expect_eq(fold_memmem(hay, hl, "vanan", 5), hay + 6);
    free(hay);
}

/* UPSERT's one-pass check: eight bytes at a time while they are ASCII, so a
 * NUL or a bad byte at any position of a word must still be caught. */
Test(fold, text_clean_finds_a_nul_or_a_bad_byte_anywhere)
{
    char buf[40];
    for (size_t len = 1; len <= sizeof buf; len++)
        for (size_t at = 0; at < len; at++) {
            memset(buf, 'a', len);
            cr_assert(fold_text_clean(buf, len));
            buf[at] = 0;
            cr_assert_not(fold_text_clean(buf, len), "a NUL at %zu of %zu", at, len);
            buf[at] = (char)0xFF;
            cr_assert_not(fold_text_clean(buf, len), "0xFF at %zu of %zu", at, len);
            buf[at] = (char)0x80;
            cr_assert_not(fold_text_clean(buf, len), "a lone continuation byte at %zu of %zu", at, len);
            buf[at] = 0x7F;
            cr_assert(fold_text_clean(buf, len), "DEL is ASCII, at %zu of %zu", at, len);
        }
    cr_assert(fold_text_clean("Nguyễn Thị Linh, Hồ Chí Minh", strlen("Nguyễn Thị Linh, Hồ Chí Minh")));
    cr_assert(fold_text_clean("", 0));
}

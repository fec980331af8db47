/*
 * fold.h — value normalization of SPEC section 7: Vietnamese-aware folding,
 * phone normalization, email checks, UTF-8 and tag-name validation.
 *
 * Folding (category, enum, tag and group values, `~` and `q:`): lower case,
 * diacritics removed (all Vietnamese letters: ắ ằ ẳ ẵ ặ ... -> a, ư -> u,
 * ơ -> o, đ/Đ -> d; other Latin letters via Unicode decomposition, æ -> ae,
 * ß -> ss), and the characters space, '-', '_' and '.' dropped. Precomposed
 * (NFC) and decomposed (NFD) input fold alike: combining marks are dropped.
 * Also dropped: the other Unicode spaces (no-break space U+00A0, U+202F,
 * U+3000...) and the invisible U+00AD, U+200B, U+FEFF that copy and paste
 * brings. Greek, Cyrillic, Armenian and Georgian letters are case-folded and
 * lose accents too. Everything else (other punctuation such as the en dash,
 * CJK, emoji, symbols, other scripts) is kept as it is, and so are bytes that
 * are not valid UTF-8. "Hà Nội", "ha noi", "HA-NOI", "hanoi" all fold to
 * "hanoi". Folding is idempotent; the output is at most fold_max_len() bytes.
 *
 * All functions take (bytes, len) and never read past len. None allocates
 * unless its comment says so. None aborts on any input.
 */
#ifndef FOLD_H
#define FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool fold_utf8_valid(const char *s, size_t len);
/* fold_utf8_valid and no NUL byte, in one pass (UPSERT's check of every value). */
bool fold_text_clean(const char *s, size_t len);

/* Number of Unicode code points in valid UTF-8 s[0..len). */
size_t fold_utf8_chars(const char *s, size_t len);

/* Upper bound of fold_text's output bytes for an input of len bytes (2 * len). */
size_t fold_max_len(size_t len);

/* Fold s[0..len) into out (capacity >= fold_max_len(len) + 1), NUL-terminate,
 * return the folded length. Invalid UTF-8 bytes are copied through lower-cased. */
size_t fold_text(const char *s, size_t len, char *out);

/* Fold into a malloc'd NUL-terminated string (NULL on ENOMEM); *out_len if non-NULL. */
char *fold_dup(const char *s, size_t len, size_t *out_len);

/* Lower-case ASCII letters of s into out (capacity len+1, NUL-terminated):
 * how email compares. Non-ASCII bytes are copied unchanged. Returns len. */
size_t fold_lower_ascii(const char *s, size_t len, char *out);

/* Phone normalization for matching. Keeps the digits of s; a leading "+84",
 * "84" or "0084" (when the rest is 9-10 digits, after an optional national "0"
 * as in "+84 (0)912...") becomes "0"; so "0912 345 678", "+84912345678" and
 * "84912345678" all give "0912345678". Other numbers keep their digits as
 * written ("+1 650 555 0100" -> "16505550100", "8412" -> "8412").
 * out capacity >= len + 2, NUL-terminated. Returns the length written (0 when
 * s has no digit). */
size_t fold_phone(const char *s, size_t len, char *out);
/* True when fold_phone(s, len) would write something (s has a digit): the
 * check for a phone value, without the fold. */
bool fold_phone_valid(const char *s, size_t len);

/* The digits of a `phone~v` search value, with a leading 84/+84/0084 (and a
 * "0" right after it) read as 0 whatever the length ("84912" -> "0912",
 * "345 678" -> "345678"). out capacity >= len + 2, NUL-terminated. */
size_t fold_phone_query(const char *s, size_t len, char *out);

/* SPEC: one '@', non-empty local part, a '.' inside the domain (not first or
 * last), no whitespace (ASCII or Unicode spaces) or control characters (C0,
 * DEL, C1), at most 254 bytes, valid UTF-8. */
bool fold_email_valid(const char *s, size_t len);

/* Tag names (and group codes): 1-64 characters (code points), no ',' ';' or
 * control character (C0, DEL, C1 U+0080-U+009F), valid UTF-8. Returns NULL
 * when fine, else a static message: "tag name is empty", "tag name is not
 * valid UTF-8", "tag name is longer than 64 characters", "tag name contains
 * ','", "tag name contains ';'", "tag name contains a control character". */
const char *fold_tag_name_problem(const char *s, size_t len);

/* A group code from a group name: fold diacritics (đ -> D), upper-case, runs of
 * characters that are not A-Z/0-9 become one '_', trimmed: "Khách VIP" ->
 * "KHACH_VIP". Non-Latin letters (CJK...) count as separators. out capacity
 * >= fold_max_len(len) + 1, NUL-terminated. Returns the length (0 when
 * nothing is left: the caller must refuse such a name). */
size_t fold_group_code(const char *s, size_t len, char *out);

/* Fast substring search: the first occurrence of needle in hay, or NULL.
 * Used over large folded arenas (q: and ~); an empty needle matches at hay. */
const char *fold_memmem(const char *hay, size_t hay_len, const char *needle, size_t needle_len);

#endif /* FOLD_H */

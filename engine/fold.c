/*
 * fold.c — value normalization of SPEC section 7 (contract in fold.h):
 * accent- and case-insensitive folding, phone digits, email and tag-name
 * checks, strict UTF-8 validation and the substring search used by `~`/`q:`.
 *
 * fold_text runs on every value written, so it is built for speed:
 *   1. ASCII goes through a branch-free byte loop (lower-case, drop " -_.").
 *   2. The Latin letters that matter (U+00C0-U+024F: Latin-1, Latin
 *      Extended-A/B, which hold ă â đ ê ô ơ ư; U+1E00-U+1EFF: Latin Extended
 *      Additional, which holds every Vietnamese letter with a tone mark) are
 *      one lookup in the tables below.
 *   3. Combining marks U+0300-U+036F (decomposed/NFD input) are dropped inline.
 *   4. Everything else goes to fold_rare(): other combining-mark blocks are
 *      dropped, Unicode space separators are dropped, letters of the cased
 *      alphabets (Greek, Cyrillic, Armenian, Georgian, more Latin...) are run
 *      through utf8proc (canonical decomposition + case folding + mark
 *      stripping), one code point at a time so nothing is allocated; all other
 *      characters (CJK, emoji, symbols, other scripts) are copied unchanged.
 *   Invalid UTF-8 bytes are copied through one at a time.
 *
 * Output bound: ASCII and the tables never produce more bytes than they
 * consume; the utf8proc path can expand (U+0587 "և" -> "եւ", 2 -> 4 bytes) and
 * is capped at twice the bytes of the code point it consumed, so the output
 * is at most 2 * len bytes (fold_max_len). No real character reaches the cap.
 *
 * The two tables were generated with Python's unicodedata (Unicode 14): for
 * each code point, NFKD(casefold(NFKD(c))) with marks removed when that is
 * plain ASCII; else the base letter named in "LATIN ... LETTER X WITH ..."
 * (stroke and hook letters: ł -> l, đ -> d, ƀ -> b); else the lower-case form.
 * By hand: æ -> ae, œ -> oe, ß/ẞ -> ss, þ -> th, ð -> d, ı -> i, ŋ -> n,
 * ĸ -> q, ŉ -> n, ȷ -> j, ẚ -> a, ỻ -> ll, ẜ ẝ -> s. Non-letters (× ÷) are
 * kept. A result that is itself in a table is folded again (Ɋ -> ɋ -> q), so
 * folding is idempotent. Each entry is {bytes..., length}; no entry is longer
 * than its input. tests/test_fold.c cross-checks the tables against utf8proc
 * and checks every code point for the bound and for idempotence.
 */
#include "fold.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "segdb_limits.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- tables -------------------------------------------------------------- */

static const unsigned char fold_tab_latin[0x190][4] = {
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+00C0 */
    {'a',0,0,1}, {'a',0,0,1}, {'a','e',0,2}, {'c',0,0,1}, /* U+00C4 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+00C8 */
    {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, /* U+00CC */
    {'d',0,0,1}, {'n',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+00D0 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {0xC3,0x97,0,2}, /* U+00D4 */
    {'o',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+00D8 */
    {'u',0,0,1}, {'y',0,0,1}, {'t','h',0,2}, {'s','s',0,2}, /* U+00DC */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+00E0 */
    {'a',0,0,1}, {'a',0,0,1}, {'a','e',0,2}, {'c',0,0,1}, /* U+00E4 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+00E8 */
    {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, /* U+00EC */
    {'d',0,0,1}, {'n',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+00F0 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {0xC3,0xB7,0,2}, /* U+00F4 */
    {'o',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+00F8 */
    {'u',0,0,1}, {'y',0,0,1}, {'t','h',0,2}, {'y',0,0,1}, /* U+00FC */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+0100 */
    {'a',0,0,1}, {'a',0,0,1}, {'c',0,0,1}, {'c',0,0,1}, /* U+0104 */
    {'c',0,0,1}, {'c',0,0,1}, {'c',0,0,1}, {'c',0,0,1}, /* U+0108 */
    {'c',0,0,1}, {'c',0,0,1}, {'d',0,0,1}, {'d',0,0,1}, /* U+010C */
    {'d',0,0,1}, {'d',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+0110 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+0114 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+0118 */
    {'g',0,0,1}, {'g',0,0,1}, {'g',0,0,1}, {'g',0,0,1}, /* U+011C */
    {'g',0,0,1}, {'g',0,0,1}, {'g',0,0,1}, {'g',0,0,1}, /* U+0120 */
    {'h',0,0,1}, {'h',0,0,1}, {'h',0,0,1}, {'h',0,0,1}, /* U+0124 */
    {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, /* U+0128 */
    {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, /* U+012C */
    {'i',0,0,1}, {'i',0,0,1}, {'i','j',0,2}, {'i','j',0,2}, /* U+0130 */
    {'j',0,0,1}, {'j',0,0,1}, {'k',0,0,1}, {'k',0,0,1}, /* U+0134 */
    {'q',0,0,1}, {'l',0,0,1}, {'l',0,0,1}, {'l',0,0,1}, /* U+0138 */
    {'l',0,0,1}, {'l',0,0,1}, {'l',0,0,1}, {'l',0,0,1}, /* U+013C */
    {'l',0,0,1}, {'l',0,0,1}, {'l',0,0,1}, {'n',0,0,1}, /* U+0140 */
    {'n',0,0,1}, {'n',0,0,1}, {'n',0,0,1}, {'n',0,0,1}, /* U+0144 */
    {'n',0,0,1}, {'n',0,0,1}, {'n',0,0,1}, {'n',0,0,1}, /* U+0148 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+014C */
    {'o',0,0,1}, {'o',0,0,1}, {'o','e',0,2}, {'o','e',0,2}, /* U+0150 */
    {'r',0,0,1}, {'r',0,0,1}, {'r',0,0,1}, {'r',0,0,1}, /* U+0154 */
    {'r',0,0,1}, {'r',0,0,1}, {'s',0,0,1}, {'s',0,0,1}, /* U+0158 */
    {'s',0,0,1}, {'s',0,0,1}, {'s',0,0,1}, {'s',0,0,1}, /* U+015C */
    {'s',0,0,1}, {'s',0,0,1}, {'t',0,0,1}, {'t',0,0,1}, /* U+0160 */
    {'t',0,0,1}, {'t',0,0,1}, {'t',0,0,1}, {'t',0,0,1}, /* U+0164 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+0168 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+016C */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+0170 */
    {'w',0,0,1}, {'w',0,0,1}, {'y',0,0,1}, {'y',0,0,1}, /* U+0174 */
    {'y',0,0,1}, {'z',0,0,1}, {'z',0,0,1}, {'z',0,0,1}, /* U+0178 */
    {'z',0,0,1}, {'z',0,0,1}, {'z',0,0,1}, {'s',0,0,1}, /* U+017C */
    {'b',0,0,1}, {'b',0,0,1}, {'b',0,0,1}, {'b',0,0,1}, /* U+0180 */
    {0xC6,0x85,0,2}, {0xC6,0x85,0,2}, {0xC9,0x94,0,2}, {'c',0,0,1}, /* U+0184 */
    {'c',0,0,1}, {0xC9,0x96,0,2}, {'d',0,0,1}, {'d',0,0,1}, /* U+0188 */
    {'d',0,0,1}, {0xC6,0x8D,0,2}, {0xC7,0x9D,0,2}, {0xC9,0x99,0,2}, /* U+018C */
    {0xC9,0x9B,0,2}, {'f',0,0,1}, {'f',0,0,1}, {'g',0,0,1}, /* U+0190 */
    {0xC9,0xA3,0,2}, {0xC6,0x95,0,2}, {0xC9,0xA9,0,2}, {'i',0,0,1}, /* U+0194 */
    {'k',0,0,1}, {'k',0,0,1}, {'l',0,0,1}, {0xC6,0x9B,0,2}, /* U+0198 */
    {0xC9,0xAF,0,2}, {'n',0,0,1}, {'n',0,0,1}, {'o',0,0,1}, /* U+019C */
    {'o',0,0,1}, {'o',0,0,1}, {0xC6,0xA3,0,2}, {0xC6,0xA3,0,2}, /* U+01A0 */
    {'p',0,0,1}, {'p',0,0,1}, {0xCA,0x80,0,2}, {0xC6,0xA8,0,2}, /* U+01A4 */
    {0xC6,0xA8,0,2}, {0xCA,0x83,0,2}, {0xC6,0xAA,0,2}, {'t',0,0,1}, /* U+01A8 */
    {'t',0,0,1}, {'t',0,0,1}, {'t',0,0,1}, {'u',0,0,1}, /* U+01AC */
    {'u',0,0,1}, {0xCA,0x8A,0,2}, {'v',0,0,1}, {'y',0,0,1}, /* U+01B0 */
    {'y',0,0,1}, {'z',0,0,1}, {'z',0,0,1}, {0xCA,0x92,0,2}, /* U+01B4 */
    {0xC6,0xB9,0,2}, {0xC6,0xB9,0,2}, {0xC6,0xBA,0,2}, {0xC6,0xBB,0,2}, /* U+01B8 */
    {0xC6,0xBD,0,2}, {0xC6,0xBD,0,2}, {0xC6,0xBE,0,2}, {0xC6,0xBF,0,2}, /* U+01BC */
    {0xC7,0x80,0,2}, {0xC7,0x81,0,2}, {0xC7,0x82,0,2}, {0xC7,0x83,0,2}, /* U+01C0 */
    {'d','z',0,2}, {'d','z',0,2}, {'d','z',0,2}, {'l','j',0,2}, /* U+01C4 */
    {'l','j',0,2}, {'l','j',0,2}, {'n','j',0,2}, {'n','j',0,2}, /* U+01C8 */
    {'n','j',0,2}, {'a',0,0,1}, {'a',0,0,1}, {'i',0,0,1}, /* U+01CC */
    {'i',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'u',0,0,1}, /* U+01D0 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+01D4 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+01D8 */
    {'u',0,0,1}, {0xC7,0x9D,0,2}, {'a',0,0,1}, {'a',0,0,1}, /* U+01DC */
    {'a',0,0,1}, {'a',0,0,1}, {'a','e',0,2}, {'a','e',0,2}, /* U+01E0 */
    {'g',0,0,1}, {'g',0,0,1}, {'g',0,0,1}, {'g',0,0,1}, /* U+01E4 */
    {'k',0,0,1}, {'k',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+01E8 */
    {'o',0,0,1}, {'o',0,0,1}, {0xCA,0x92,0,2}, {0xCA,0x92,0,2}, /* U+01EC */
    {'j',0,0,1}, {'d','z',0,2}, {'d','z',0,2}, {'d','z',0,2}, /* U+01F0 */
    {'g',0,0,1}, {'g',0,0,1}, {0xC6,0x95,0,2}, {0xC6,0xBF,0,2}, /* U+01F4 */
    {'n',0,0,1}, {'n',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+01F8 */
    {'a','e',0,2}, {'a','e',0,2}, {'o',0,0,1}, {'o',0,0,1}, /* U+01FC */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+0200 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+0204 */
    {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, /* U+0208 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+020C */
    {'r',0,0,1}, {'r',0,0,1}, {'r',0,0,1}, {'r',0,0,1}, /* U+0210 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+0214 */
    {'s',0,0,1}, {'s',0,0,1}, {'t',0,0,1}, {'t',0,0,1}, /* U+0218 */
    {0xC8,0x9D,0,2}, {0xC8,0x9D,0,2}, {'h',0,0,1}, {'h',0,0,1}, /* U+021C */
    {'n',0,0,1}, {'d',0,0,1}, {0xC8,0xA3,0,2}, {0xC8,0xA3,0,2}, /* U+0220 */
    {'z',0,0,1}, {'z',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+0224 */
    {'e',0,0,1}, {'e',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+0228 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+022C */
    {'o',0,0,1}, {'o',0,0,1}, {'y',0,0,1}, {'y',0,0,1}, /* U+0230 */
    {'l',0,0,1}, {'n',0,0,1}, {'t',0,0,1}, {'j',0,0,1}, /* U+0234 */
    {0xC8,0xB8,0,2}, {0xC8,0xB9,0,2}, {'a',0,0,1}, {'c',0,0,1}, /* U+0238 */
    {'c',0,0,1}, {'l',0,0,1}, {'t',0,0,1}, {'s',0,0,1}, /* U+023C */
    {'z',0,0,1}, {0xC9,0x82,0,2}, {0xC9,0x82,0,2}, {'b',0,0,1}, /* U+0240 */
    {0xCA,0x89,0,2}, {0xCA,0x8C,0,2}, {'e',0,0,1}, {'e',0,0,1}, /* U+0244 */
    {'j',0,0,1}, {'j',0,0,1}, {'q',0,0,1}, {'q',0,0,1}, /* U+0248 */
    {'r',0,0,1}, {'r',0,0,1}, {'y',0,0,1}, {'y',0,0,1}, /* U+024C */
};

static const unsigned char fold_tab_latin_ext[0x100][4] = {
    {'a',0,0,1}, {'a',0,0,1}, {'b',0,0,1}, {'b',0,0,1}, /* U+1E00 */
    {'b',0,0,1}, {'b',0,0,1}, {'b',0,0,1}, {'b',0,0,1}, /* U+1E04 */
    {'c',0,0,1}, {'c',0,0,1}, {'d',0,0,1}, {'d',0,0,1}, /* U+1E08 */
    {'d',0,0,1}, {'d',0,0,1}, {'d',0,0,1}, {'d',0,0,1}, /* U+1E0C */
    {'d',0,0,1}, {'d',0,0,1}, {'d',0,0,1}, {'d',0,0,1}, /* U+1E10 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+1E14 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+1E18 */
    {'e',0,0,1}, {'e',0,0,1}, {'f',0,0,1}, {'f',0,0,1}, /* U+1E1C */
    {'g',0,0,1}, {'g',0,0,1}, {'h',0,0,1}, {'h',0,0,1}, /* U+1E20 */
    {'h',0,0,1}, {'h',0,0,1}, {'h',0,0,1}, {'h',0,0,1}, /* U+1E24 */
    {'h',0,0,1}, {'h',0,0,1}, {'h',0,0,1}, {'h',0,0,1}, /* U+1E28 */
    {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, /* U+1E2C */
    {'k',0,0,1}, {'k',0,0,1}, {'k',0,0,1}, {'k',0,0,1}, /* U+1E30 */
    {'k',0,0,1}, {'k',0,0,1}, {'l',0,0,1}, {'l',0,0,1}, /* U+1E34 */
    {'l',0,0,1}, {'l',0,0,1}, {'l',0,0,1}, {'l',0,0,1}, /* U+1E38 */
    {'l',0,0,1}, {'l',0,0,1}, {'m',0,0,1}, {'m',0,0,1}, /* U+1E3C */
    {'m',0,0,1}, {'m',0,0,1}, {'m',0,0,1}, {'m',0,0,1}, /* U+1E40 */
    {'n',0,0,1}, {'n',0,0,1}, {'n',0,0,1}, {'n',0,0,1}, /* U+1E44 */
    {'n',0,0,1}, {'n',0,0,1}, {'n',0,0,1}, {'n',0,0,1}, /* U+1E48 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+1E4C */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+1E50 */
    {'p',0,0,1}, {'p',0,0,1}, {'p',0,0,1}, {'p',0,0,1}, /* U+1E54 */
    {'r',0,0,1}, {'r',0,0,1}, {'r',0,0,1}, {'r',0,0,1}, /* U+1E58 */
    {'r',0,0,1}, {'r',0,0,1}, {'r',0,0,1}, {'r',0,0,1}, /* U+1E5C */
    {'s',0,0,1}, {'s',0,0,1}, {'s',0,0,1}, {'s',0,0,1}, /* U+1E60 */
    {'s',0,0,1}, {'s',0,0,1}, {'s',0,0,1}, {'s',0,0,1}, /* U+1E64 */
    {'s',0,0,1}, {'s',0,0,1}, {'t',0,0,1}, {'t',0,0,1}, /* U+1E68 */
    {'t',0,0,1}, {'t',0,0,1}, {'t',0,0,1}, {'t',0,0,1}, /* U+1E6C */
    {'t',0,0,1}, {'t',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+1E70 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+1E74 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+1E78 */
    {'v',0,0,1}, {'v',0,0,1}, {'v',0,0,1}, {'v',0,0,1}, /* U+1E7C */
    {'w',0,0,1}, {'w',0,0,1}, {'w',0,0,1}, {'w',0,0,1}, /* U+1E80 */
    {'w',0,0,1}, {'w',0,0,1}, {'w',0,0,1}, {'w',0,0,1}, /* U+1E84 */
    {'w',0,0,1}, {'w',0,0,1}, {'x',0,0,1}, {'x',0,0,1}, /* U+1E88 */
    {'x',0,0,1}, {'x',0,0,1}, {'y',0,0,1}, {'y',0,0,1}, /* U+1E8C */
    {'z',0,0,1}, {'z',0,0,1}, {'z',0,0,1}, {'z',0,0,1}, /* U+1E90 */
    {'z',0,0,1}, {'z',0,0,1}, {'h',0,0,1}, {'t',0,0,1}, /* U+1E94 */
    {'w',0,0,1}, {'y',0,0,1}, {'a',0,0,1}, {'s',0,0,1}, /* U+1E98 */
    {'s',0,0,1}, {'s',0,0,1}, {'s','s',0,2}, {0xE1,0xBA,0x9F,3}, /* U+1E9C */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+1EA0 */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+1EA4 */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+1EA8 */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+1EAC */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+1EB0 */
    {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, {'a',0,0,1}, /* U+1EB4 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+1EB8 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+1EBC */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+1EC0 */
    {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, {'e',0,0,1}, /* U+1EC4 */
    {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, {'i',0,0,1}, /* U+1EC8 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+1ECC */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+1ED0 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+1ED4 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+1ED8 */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+1EDC */
    {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, {'o',0,0,1}, /* U+1EE0 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+1EE4 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+1EE8 */
    {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, {'u',0,0,1}, /* U+1EEC */
    {'u',0,0,1}, {'u',0,0,1}, {'y',0,0,1}, {'y',0,0,1}, /* U+1EF0 */
    {'y',0,0,1}, {'y',0,0,1}, {'y',0,0,1}, {'y',0,0,1}, /* U+1EF4 */
    {'y',0,0,1}, {'y',0,0,1}, {'l','l',0,2}, {'l','l',0,2}, /* U+1EF8 */
    {0xE1,0xBB,0xBD,3}, {0xE1,0xBB,0xBD,3}, {'y',0,0,1}, {'y',0,0,1}, /* U+1EFC */
};

/* The ASCII bytes folding drops. */
static const unsigned char fold_ascii_drop[128] = {
    [' '] = 1, ['-'] = 1, ['.'] = 1, ['_'] = 1,
};

/* Code point ranges whose letters go through utf8proc: the alphabets with
 * upper and lower case (plus ligatures and letter-like symbols that fold to
 * them). Scripts not listed keep their characters exactly: stripping marks
 * would change Thai, Devanagari or Hangul text, and CJK has no case. */
static const struct { uint32_t lo, hi; } fold_cased_ranges[] = {
    {0x0250, 0x02AF},   /* IPA extensions (ʀ... casefold targets) */
    {0x0370, 0x058F},   /* Greek, Coptic, Cyrillic, Cyrillic Supplement, Armenian */
    {0x10A0, 0x10FF},   /* Georgian */
    {0x13A0, 0x13FF},   /* Cherokee */
    {0x1C80, 0x1CBF},   /* Cyrillic Extended-C, Georgian Extended */
    {0x1D00, 0x1DBF},   /* phonetic extensions (ᴀ, ᵃ...) */
    {0x1F00, 0x1FFF},   /* Greek Extended (polytonic) */
    {0x2100, 0x218F},   /* letterlike symbols (K Kelvin, Å Angstrom), Roman numerals */
    {0x24B6, 0x24E9},   /* circled Latin letters */
    {0x2C00, 0x2CFF},   /* Glagolitic, Latin Extended-C, Coptic */
    {0x2D00, 0x2D2F},   /* Georgian Supplement */
    {0xA640, 0xA69F},   /* Cyrillic Extended-B */
    {0xA720, 0xA7FF},   /* Latin Extended-D */
    {0xAB30, 0xABBF},   /* Latin Extended-E, Cherokee Supplement */
    {0xFB00, 0xFB17},   /* Latin and Armenian ligatures (ﬁ -> fi) */
    {0xFF21, 0xFF5A},   /* fullwidth Latin letters */
    {0x10400, 0x104FF}, /* Deseret, Osage */
    {0x10C80, 0x10CFF}, /* Old Hungarian */
    {0x118A0, 0x118FF}, /* Warang Citi */
    {0x16E40, 0x16E9F}, /* Medefaidrin */
    {0x1E900, 0x1E95F}, /* Adlam */
};

/* ---- UTF-8 --------------------------------------------------------------- */

/* Decodes one strict UTF-8 sequence at p (n >= 1 bytes available) into *cp.
 * Returns its length 1-4, or 0 when the bytes are not valid UTF-8 there
 * (overlong, surrogate, above U+10FFFF, bad or missing continuation). */
static inline size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xC2)
        return 0; /* continuation byte, or overlong 2-byte lead */
    if (c < 0xE0) {
        if (n < 2 || (p[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (p[1] & 0x3F);
        return 2;
    }
    if (c < 0xF0) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80; /* E0 80..9F would be overlong */
        unsigned hi = c == 0xED ? 0x9F : 0xBF; /* ED A0..BF would be surrogates */
        if (n < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        return 3;
    }
    if (c < 0xF5) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80; /* F0 80..8F would be overlong */
        unsigned hi = c == 0xF4 ? 0x8F : 0xBF; /* F4 90.. would pass U+10FFFF */
        if (n < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
              ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
        return 4;
    }
    return 0;
}

/* Writes code point cp (<= U+10FFFF, not a surrogate) as UTF-8; returns its length. */
static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static inline size_t utf8_len_of(uint32_t cp)
{
    return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

#define ASCII_MASK8 0x8080808080808080ull

/* Valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF), and with no_nul
 * no 0 byte either: eight ASCII bytes at a time while they last. */
static inline bool utf8_scan(const char *s, size_t len, bool no_nul)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            /* high bits: a non-ASCII byte; with no_nul, also a 0 byte */
            uint64_t zero = no_nul ? (w - 0x0101010101010101ull) & ~w : 0;
            if (((w | zero) & ASCII_MASK8) == 0) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            if (no_nul && p[i] == 0)
                return false;
            i++;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_decode(p + i, len - i, &cp);
        if (n == 0)
            return false; /* (a multi-byte sequence never decodes to 0) */
        i += n;
    }
    return true;
}

bool fold_text_clean(const char *s, size_t len) { return utf8_scan(s, len, true); }

bool fold_utf8_valid(const char *s, size_t len) { return utf8_scan(s, len, false); }

size_t fold_utf8_chars(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (p[i] & 0xC0) != 0x80; /* every byte but a continuation starts a character */
    return n;
}

/* ---- character classes --------------------------------------------------- */

/* Unicode space separators (category Zs) other than U+0020. */
static bool is_space_sep(uint32_t cp)
{
    return cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Invisible characters that only sneak in by copy and paste: soft hyphen,
 * zero width space, zero width no-break space (BOM). Joiners (U+200C/D) stay:
 * emoji sequences need them. */
static bool is_invisible(uint32_t cp)
{
    return cp == 0x00AD || cp == 0x200B || cp == 0xFEFF;
}

/* The blocks made only of combining diacritical marks. */
static bool is_combining_mark(uint32_t cp)
{
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
           (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
           (cp >= 0xFE20 && cp <= 0xFE2F);
}

static bool is_cased_script(uint32_t cp)
{
    for (size_t k = 0; k < sizeof fold_cased_ranges / sizeof fold_cased_ranges[0]; k++)
        if (cp >= fold_cased_ranges[k].lo && cp <= fold_cased_ranges[k].hi)
            return true;
    return false;
}

/* C0 controls, DEL and C1 controls. */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* ---- folding ------------------------------------------------------------- */

size_t fold_max_len(size_t len)
{
    if (len > (SIZE_MAX - 1) / 2)
        return SIZE_MAX - 1; /* no such buffer exists; keeps "+ 1" from wrapping */
    return 2 * len;
}

/* Room for utf8proc's per-character output: case folding gives at most 3 code
 * points and each decomposes to a handful; more than this is kept unfolded. */
#define FOLD_DECOMP_MAX 16

/* Folds the non-ASCII character at p (avail bytes) that the inline paths of
 * fold_core did not take. Writes at most 2 * (bytes consumed) bytes to out,
 * sets *used to the bytes consumed and returns the bytes written. With seps,
 * space separators become ' ' instead of being dropped. */
static __attribute__((noinline)) size_t fold_rare(const unsigned char *p, size_t avail, char *out,
                                                  size_t *used, bool seps)
{
    uint32_t cp;
    size_t n = utf8_decode(p, avail, &cp);
    if (n == 0) {
        out[0] = (char)p[0]; /* invalid byte: copied through, alone */
        *used = 1;
        return 1;
    }
    *used = n;
    if (is_space_sep(cp)) {
        if (!seps)
            return 0;
        out[0] = ' ';
        return 1;
    }
    if (is_combining_mark(cp) || is_invisible(cp))
        return 0;
    if (is_cased_script(cp)) {
        utf8proc_int32_t buf[FOLD_DECOMP_MAX];
        utf8proc_int32_t boundclass = 0;
        utf8proc_ssize_t k = utf8proc_decompose_char(
            (utf8proc_int32_t)cp, buf, FOLD_DECOMP_MAX,
            UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK, &boundclass);
        if (k >= 0 && k <= FOLD_DECOMP_MAX) {
            size_t o = 0, cap = 2 * n;
            for (utf8proc_ssize_t j = 0; j < k; j++) {
                uint32_t c = (uint32_t)buf[j];
                if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                    continue; /* cannot come from utf8proc's tables; never write it */
                /* Case folding can land in the Latin tables (U+2C7E -> U+023F);
                 * finish there so folding stays idempotent. */
                const unsigned char *t = NULL;
                if (c >= 0xC0 && c <= 0x24F)
                    t = fold_tab_latin[c - 0xC0];
                else if (c >= 0x1E00 && c <= 0x1EFF)
                    t = fold_tab_latin_ext[c - 0x1E00];
                size_t need = t ? t[3] : utf8_len_of(c);
                if (o + need > cap)
                    break; /* the output bound of fold_max_len wins over completeness */
                if (t)
                    memcpy(out + o, t, need);
                else
                    utf8_encode(c, out + o);
                o += need;
            }
            return o;
        }
    }
    memcpy(out, p, n);
    return n;
}

/* The folding loop. seps = false: fold_text. seps = true: the first step of a
 * group code, where separators (" -_." and Unicode spaces) must survive as
 * themselves (Unicode spaces as ' ') to become '_' later. Always inlined so
 * each caller gets a copy with seps a constant. */
static inline __attribute__((always_inline)) size_t fold_core(const char *s, size_t len, char *out,
                                                              bool seps)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            /* Branch-free: always store, advance only when kept. */
            out[o] = (char)(c | (((c - 'A') < 26u) << 5));
            o += seps ? 1 : !fold_ascii_drop[c];
            i++;
            continue;
        }
        if (c >= 0xC3 && c <= 0xC9 && i + 1 < len && (p[i + 1] & 0xC0) == 0x80) {
            uint32_t cp = ((uint32_t)(c & 0x1F) << 6) | (p[i + 1] & 0x3F);
            if (cp <= 0x24F) { /* U+00C0-U+024F */
                const unsigned char *t = fold_tab_latin[cp - 0xC0];
                out[o] = (char)t[0];
                out[o + 1] = (char)t[1];
                o += t[3];
                i += 2;
                continue;
            }
        } else if (c == 0xE1 && i + 2 < len && p[i + 1] >= 0xB8 && p[i + 1] <= 0xBB &&
                   (p[i + 2] & 0xC0) == 0x80) { /* U+1E00-U+1EFF */
            const unsigned char *t = fold_tab_latin_ext[((p[i + 1] & 0x03u) << 6) | (p[i + 2] & 0x3F)];
            out[o] = (char)t[0];
            out[o + 1] = (char)t[1];
            out[o + 2] = (char)t[2];
            o += t[3];
            i += 3;
            continue;
        } else if ((c == 0xCC || (c == 0xCD && i + 1 < len && p[i + 1] <= 0xAF)) && i + 1 < len &&
                   (p[i + 1] & 0xC0) == 0x80) { /* U+0300-U+036F: decomposed diacritics */
            i += 2;
            continue;
        }
        size_t used;
        o += fold_rare(p + i, len - i, out + o, &used, seps);
        i += used;
    }
    out[o] = '\0';
    return o;
}

size_t fold_text(const char *s, size_t len, char *out)
{
    return fold_core(s, len, out, false);
}

char *fold_dup(const char *s, size_t len, size_t *out_len)
{
    size_t cap = fold_max_len(len) + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = fold_text(s, len, out);
    if (n + 1 < cap) {
        char *shrunk = realloc(out, n + 1);
        if (shrunk)
            out = shrunk;
    }
    if (out_len)
        *out_len = n;
    return out;
}

size_t fold_lower_ascii(const char *s, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned c = (unsigned char)s[i];
        out[i] = (char)(c | (((c - 'A') < 26u) << 5));
    }
    out[len] = '\0';
    return len;
}

/* ---- phones -------------------------------------------------------------- */

/* Copies the ASCII digits of s to out; returns how many. */
static size_t phone_digits(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] >= '0' && s[i] <= '9')
            out[n++] = s[i];
    return n;
}

/* Length of a Vietnamese country prefix at the start of digits d[0..n): 4 for
 * "0084" (the international call prefix 00), 2 for "84", else 0. */
static size_t vn_country_prefix(const char *d, size_t n)
{
    if (n >= 4 && memcmp(d, "0084", 4) == 0)
        return 4;
    if (n >= 2 && memcmp(d, "84", 2) == 0)
        return 2;
    return 0;
}

/* Rewrites d[0..n) as "0" + d[from..n); returns the new length. */
static size_t phone_national(char *d, size_t n, size_t from)
{
    size_t rest = n - from;
    memmove(d + 1, d + from, rest);
    d[0] = '0';
    return rest + 1;
}

size_t fold_phone(const char *s, size_t len, char *out)
{
    size_t n = phone_digits(s, len, out);
    size_t p = vn_country_prefix(out, n);
    if (p) {
        size_t from = p;
        if (from < n && out[from] == '0')
            from++; /* "+84 (0)912 345 678": the national 0 written after the country code */
        if (n - from >= 9 && n - from <= 10) /* a Vietnamese national number is 9-10 digits */
            n = phone_national(out, n, from);
    }
    out[n] = '\0';
    return n;
}

bool fold_phone_valid(const char *s, size_t len)
{
    /* fold_phone keeps every digit and folds none away */
    for (size_t i = 0; i < len; i++)
        if (s[i] >= '0' && s[i] <= '9') return true;
    return false;
}

size_t fold_phone_query(const char *s, size_t len, char *out)
{
    size_t n = phone_digits(s, len, out);
    size_t p = vn_country_prefix(out, n);
    /* SPEC 7: the digits of v with a leading 84 read as 0, nothing more (a
     * query is a fragment: "8409" means "009", not a trunk 0 to absorb) */
    if (p) n = phone_national(out, n, p);
    out[n] = '\0';
    return n;
}

/* ---- emails and tag names ------------------------------------------------ */

#define EMAIL_MAX_BYTES 254 /* RFC 5321 path limit minus the angle brackets */

bool fold_email_valid(const char *s, size_t len)
{
    if (len == 0 || len > EMAIL_MAX_BYTES)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t at = len, ats = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(p + i, len - i, &cp);
        if (n == 0)
            return false;
        if (cp <= 0x20 || is_control(cp) || is_space_sep(cp) || cp == 0x2028 || cp == 0x2029)
            return false;
        if (cp == '@') {
            ats++;
            at = i;
        }
        i += n;
    }
    if (ats != 1 || at == 0)
        return false;
    const char *dom = s + at + 1;
    size_t dlen = len - at - 1;
    return dlen >= 3 && dom[0] != '.' && dom[dlen - 1] != '.' && memchr(dom, '.', dlen) != NULL;
}

_Static_assert(SEGDB_MAX_TAG_BYTES == 64, "the tag-name messages say 64 characters");

const char *fold_tag_name_problem(const char *s, size_t len)
{
    if (len == 0)
        return "tag name is empty";
    if (len <= SEGDB_MAX_TAG_BYTES) {
        /* the usual tag: short printable ASCII without ',' or ';' passes
         * every check below */
        const unsigned char *q = (const unsigned char *)s;
        size_t i = 0;
        while (i < len && q[i] >= 0x20 && q[i] < 0x7F && q[i] != ',' && q[i] != ';') i++;
        if (i == len)
            return NULL;
    }
    if (!fold_utf8_valid(s, len))
        return "tag name is not valid UTF-8";
    if (fold_utf8_chars(s, len) > SEGDB_MAX_TAG_BYTES)
        return "tag name is longer than 64 characters";
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == ',')
            return "tag name contains ','";
        if (p[i] == ';')
            return "tag name contains ';'";
        if (p[i] < 0x20 || p[i] == 0x7F || (p[i] == 0xC2 && i + 1 < len && p[i + 1] <= 0x9F))
            return "tag name contains a control character"; /* C2 80..9F: C1 controls */
    }
    return NULL;
}

/* ---- group codes --------------------------------------------------------- */

size_t fold_group_code(const char *s, size_t len, char *out)
{
    size_t n = fold_core(s, len, out, true);
    size_t w = 0;
    bool gap = false;
    for (size_t r = 0; r < n; r++) {
        unsigned c = (unsigned char)out[r];
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) {
            gap = w > 0; /* leading separators are trimmed, inner runs become one '_' */
            continue;
        }
        if (gap)
            out[w++] = '_';
        gap = false;
        out[w++] = (char)c;
    }
    out[w] = '\0';
    return w;
}

/* ---- substring search ---------------------------------------------------- */

/* Plain search from hay[0]: memchr for the first byte, memcmp the rest. */
static const char *memmem_plain(const char *hay, size_t hay_len, const char *needle,
                                size_t needle_len)
{
    if (hay_len < needle_len)
        return NULL;
    const char *p = hay, *end = hay + hay_len - needle_len; /* last possible start */
    while (p <= end) {
        p = memchr(p, needle[0], (size_t)(end - p) + 1);
        if (!p)
            return NULL;
        if (memcmp(p + 1, needle + 1, needle_len - 1) == 0)
            return p;
        p++;
    }
    return NULL;
}

const char *fold_memmem(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
    if (needle_len == 0)
        return hay;
    if (needle_len > hay_len)
        return NULL;
    if (needle_len == 1)
        return memchr(hay, needle[0], hay_len);
    size_t i = 0;
#if defined(__SSE2__)
    /* Wojciech Muła's "SIMD-friendly generic" search: a position can only
     * match where both the needle's first byte and, needle_len - 1 bytes
     * later, its last byte match; test 16 positions at once, memcmp the rest. */
    const __m128i first = _mm_set1_epi8(needle[0]);
    const __m128i last = _mm_set1_epi8(needle[needle_len - 1]);
    const size_t k = needle_len - 1;
    for (; i + k + 16 <= hay_len; i += 16) {
        __m128i bf = _mm_loadu_si128((const __m128i *)(const void *)(hay + i));
        __m128i bl = _mm_loadu_si128((const __m128i *)(const void *)(hay + i + k));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(bf, first), _mm_cmpeq_epi8(bl, last)));
        while (mask) {
            unsigned bit = (unsigned)__builtin_ctz(mask);
            if (memcmp(hay + i + bit + 1, needle + 1, k - 1) == 0)
                return hay + i + bit;
            mask &= mask - 1;
        }
    }
#endif
    return memmem_plain(hay + i, hay_len - i, needle, needle_len);
}

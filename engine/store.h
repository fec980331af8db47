/*
 * store.h — the columnar contact store: schema, row positions, the id -> row
 * map, per-field columns, value dictionaries and the indexes that hang off
 * them. Internal to the engine (the public API is segdb.h).
 *
 * Rows are dense uint32 positions, handed out in write order and never
 * reused (so a row position logged by a bulk write means the same contact
 * after replay). A deleted row leaves every index and the `live` bitmap.
 *
 * Per field kind:
 *   TEXT      textdict: distinct values (original + folded) with a per-row
 *             code column; folded values sit in one arena so `~`/q: scan the
 *             distinct values once, not every row.
 *   ENUM, CATEGORY, BOOL   dict: folded value -> code, one Roaring bitmap per
 *             code, plus a per-row code column (uint8 for enum/bool).
 *   TAGS      dict with a bitmap per tag; no per-row column.
 *   TIME, DATE, INTEGER, NUMBER   int64/double column + range_index (bucketed
 *             bitmaps at several granularities; see index.h).
 * Every field has a `present` bitmap (has:/missing:).
 *
 * Large per-row arrays are anonymous mappings (col_alloc): zero-filled, grown
 * with mremap, so untouched capacity costs no memory. They follow glibc's
 * huge-page policy for malloc: in a process started with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (segdb-server's huge-pages option),
 * mappings of COL_HUGE_MIN_BYTES or more are madvise(MADV_HUGEPAGE)d too,
 * so that (with the heap) nearly all the data sits in 2 MiB pages and fork()
 * copies few page-table entries. The policy is read once per process.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "index.h"
#include "segdb.h"

/* How a TEXT field folds for matching. */
typedef enum text_mode {
    TEXT_FOLD,   /* name, address, custom text: fold_text */
    TEXT_EMAIL,  /* lower-case ASCII */
    TEXT_PHONE,  /* normalized digits */
    TEXT_EXACT,  /* identifier: as written */
} text_mode;

/* Built-in fields that the engine's rules refer to by position. */
typedef enum builtin_field {
    F_ID = 0, F_IDENTIFIER, F_NAME, F_EMAIL, F_PHONE, F_ADDRESS, F_GENDER, F_BIRTHDAY,
    F_BIRTHDAY_MONTH, F_BIRTHDAY_DAY, F_BUCKET, F_LANGUAGE, F_TIMEZONE, F_COUNTRY, F_CITY,
    F_CHANNEL, F_SOURCE, F_TYPE, F_STATUS, F_RELATIONSHIP, F_TAGS, F_GROUPS, F_WHATSAPP,
    F_HMAC_VERIFIED, F_CREATED_AT, F_FIRST_SEEN, F_LAST_SEEN, F_FIRST_CONTACTED,
    F_LAST_CONTACTED, F_WEB_SESSIONS, F_PURCHASES, F_REVENUE, F_ARCHIVED,
    F_BUILTIN_COUNT
} builtin_field;

/* Enum member codes (code 0 = missing; members are 1-based in SPEC order). */
enum { TYPE_VISITOR = 1, TYPE_LEAD, TYPE_CUSTOMER };
enum { STATUS_NEVER = 1, STATUS_SUBSCRIBED, STATUS_UNSUBSCRIBED };
enum { REL_NEW = 1, REL_APPROACHED, REL_HOT, REL_POTENTIAL, REL_LOST, REL_WON, REL_DONT_FORGET };
enum { BOOL_NO = 1, BOOL_YES = 2 };

/* A value as written, remembered with its code so that writing it again
 * skips folding: a hash of its bytes, the code, its length. A guess from
 * the hash, always confirmed against the code's own spelling (a dict's
 * display text, a textdict's original), which is the remembered one. */
typedef struct spelling {
    uint64_t h;
    uint32_t code;
    uint32_t len;
} spelling;

/* dict_intern's spellings, direct-mapped by hash (96 KiB, made on a
 * dictionary's first intern). Room for some thousands of values: at 256, the
 * bench's 200 tags evicted each other in a fifth of their lookups. */
#define DICT_SPELLINGS 4096u

/* A dictionary of folded values -> codes 1..n-1 (code 0 unused). */
typedef struct dict {
    char **display;             /* first spelling seen */
    char **folded;
    roaring_bitmap_t **bm;      /* rows holding the value */
    uint32_t n, cap;            /* n includes the unused code 0 */
    uint32_t *slots;            /* open addressing: code or 0 */
    uint32_t nslots;
    spelling *spell;            /* DICT_SPELLINGS entries, direct-mapped, or NULL */
} dict;

/* The rows of a text value that several contacts share: a sorted array while
 * small (a Roaring bitmap of a few rows spread over many chunks would cost a
 * container, ~50 bytes, per row), a Roaring bitmap from TPOST_MAX_ARRAY rows. */
#define TPOST_MAX_ARRAY 4096u
typedef struct tpost {
    uint32_t *rows;             /* sorted, while bm is NULL */
    uint32_t n, cap;
    roaring_bitmap_t *bm;
} tpost;

/* Call fn(row, ctx) for every row of p (ascending); stops when fn returns false. */
void tpost_each(const tpost *p, bool (*fn)(uint32_t row, void *ctx), void *ctx);

/* Distinct text values with a per-row code column. The rows of a value are
 * last_row[code] while one row holds it, and a posting list (tpost) once
 * several rows share it (names do, emails rarely): text matches need no scan
 * of the rows. */
typedef struct textdict {
    char *orig;                 /* arena of NUL-terminated originals */
    char *fold;                 /* arena of NUL-terminated folded values, code order */
    uint64_t orig_len, orig_cap, fold_len, fold_cap;
    uint32_t *orig_off, *fold_off, *refs, *last_row;
    /* codes whose folded value equals an earlier code's (rare: "0912 345 678"
     * and "+84912345678") chain to it through a small map code -> next code */
    uint32_t *chain_keys, *chain_vals, chain_n, chain_slots;
    uint32_t *multi;            /* per code: 1 + index into posts once 2+ rows share it, else 0 */
    uint32_t *hkey;             /* per code: bits of its folded value's hash (store.c, td_hkey) */
    tpost *posts;               /* rows of each shared value */
    uint32_t nposts, posts_cap;
    uint32_t n, cap;            /* codes 1..n-1 */
    uint32_t *slots;            /* folded hash: 5 hash-tag bits | 27-bit first code with that value */
    uint32_t nslots;
    uint32_t *row_code;         /* per row, 0 = missing (col_alloc) */
    spelling *spell;            /* store_set_text_rows' spellings (TEXT_FOLD fields), or NULL */
    roaring_bitmap_t *pending;  /* rows whose code and count are set but which are not yet
                                 * in their value's rows (last_row / posts): bulk loads file
                                 * them by value later (store_text_settle); NULL = none */
} textdict;

/* store_set_text_rows' spellings of a textdict (bulk loads of names),
 * direct-mapped by hash (1.5 MiB, made on a folded text field's first bulk
 * write). 10M generated names hit 46% of the time at 8192 entries, 80% at
 * 65536 (the name job: 2.42 -> 1.96 s of CPU). */
#define TD_SPELLINGS 65536u

typedef struct field {
    char name[SEGDB_MAX_FIELD_NAME_BYTES + 1];
    segdb_kind kind;
    uint32_t id;                /* index in db->fields */
    bool builtin, derived;      /* derived: computed, not writable */
    text_mode tmode;
    const char *const *members; /* ENUM */
    uint32_t nmembers;
    roaring_bitmap_t *present;
    dict dict;                  /* ENUM, CATEGORY, BOOL, TAGS */
    uint8_t *codes8;            /* ENUM, BOOL per-row code; CATEGORY's while every code < 256 ... */
    uint32_t *codes32;          /* ... then CATEGORY's (a larger code widens the column once) */
    textdict *text;             /* TEXT */
    int64_t *i64;               /* TIME (seconds), DATE (days), INTEGER */
    int16_t *i16;               /* the same while every value fits 16 bits (counts, days) ... */
    int32_t *i32;               /* ... or 32 bits (times until 2038); at most one of i16, i32,
                                 * i64 exists: a value that doesn't fit widens the column */
    uint8_t *i8;                /* small derived integers (birthday_month, birthday_day) */
    double *f64;                /* NUMBER */
    uint64_t *const *ids_ref;   /* bucket: no column, computed from &db->ids */
    range_index *ridx;               /* TIME, DATE, INTEGER, NUMBER */
} field;

/* Row's value code of an ENUM, BOOL or CATEGORY field (0 = missing). */
static inline uint32_t field_code(const field *f, uint32_t row)
{
    return f->codes8 ? f->codes8[row] : f->codes32 ? f->codes32[row] : 0;
}

struct exec_pool;

struct segdb {
    segdb_options opt;
    struct exec_pool *pool;     /* query worker threads (exec.c), started on first use */
    struct ops_batch *bulk;     /* segdb_upsert_batch's last batch, kept for its memory (or NULL) */
    field **fields;
    uint32_t nfields, fields_cap;
    uint32_t *name_slots, name_nslots;   /* lower-case name -> field id + 1 */

    uint64_t *ids;              /* row -> id (col_alloc) */
    uint32_t nrows, rows_cap;
    /* id -> row, in two parts. Rows [0, id_sorted) hold strictly ascending
     * ids (what loads of new contacts in id order give): an id among them is
     * found by searching `ids` itself, and a deleted one by its leaving
     * `live`. Every later live row is in id_slots (row + 1, linear probing,
     * col_alloc), id_count of them. */
    uint32_t id_sorted;
    uint32_t *id_slots;
    uint32_t id_nslots, id_count;
    bool ids_ascending;         /* rows are in id order (every new id > all before) */
    uint64_t max_id;

    roaring_bitmap_t *live;     /* rows not deleted */
    roaring_bitmap_t *archived; /* archived rows (subset of live) */
    roaring_bitmap_t *universe; /* live AND NOT archived */

    uint64_t seq;               /* last applied record */
    int64_t now_override;       /* record time while applying (0 = use clock) */

    /* campaign state, each NULL until first used and freed by segdb_close:
     * saved segments (segment.h), the group tree over the `groups` field
     * (group.h), notes per contact (note.h) */
    struct segment_set *segments;
    struct group_tree *groups;
    struct note_book *notes;
};

/* The bucket of an id: a fixed hash (splitmix64 finalizer) mod 10000. */
uint32_t store_bucket_of(uint64_t id);

/* Integer value of a TIME/DATE/INTEGER field at row (the row must have one). */
static inline int64_t field_int(const field *f, uint32_t row)
{
    if (f->ids_ref) return store_bucket_of((*f->ids_ref)[row]);
    if (f->i8) return f->i8[row];
    if (f->i16) return f->i16[row];
    if (f->i32) return f->i32[row];
    return f->i64[row];
}

/* Order-preserving range-index key of the row's value. */
static inline uint64_t field_key(const field *f, uint32_t row)
{
    return f->kind == SEGDB_KIND_NUMBER ? rkey_double(f->f64[row]) : rkey_int(field_int(f, row));
}

/* ---- anonymous-mapping arrays ---- */
#define COL_HUGE_MIN_BYTES (4u << 20) /* smaller mappings never get huge pages */
/* Hash-table slots (the id map, text dictionaries) and the text
 * dictionaries' per-value arrays and string arenas: zero-filled mappings like
 * col_alloc / col_grow (free with col_free), always madvise(MADV_HUGEPAGE)d
 * from TABLE_HUGE_MIN_BYTES. They are read at random (a probe, a shared
 * name's code) and filled densely, so 2 MiB pages cost little memory and
 * save a page walk per access: a 10M bulk load stalled on those walks. */
#define TABLE_HUGE_MIN_BYTES (2u << 20)
void *table_alloc(size_t bytes);
void *table_grow(void *p, size_t old_bytes, size_t new_bytes);
void *col_alloc(size_t bytes);
void *col_grow(void *p, size_t old_bytes, size_t new_bytes); /* NULL on failure (p kept) */
void col_free(void *p, size_t bytes);

/* ---- schema ---- */
int store_init(segdb_t *db);               /* built-in fields; SEGDB_ENOMEM */
void store_free(segdb_t *db);
field *store_field(segdb_t *db, const char *name, size_t len); /* case-insensitive; NULL if none */
int store_add_field(segdb_t *db, const char *name, segdb_kind kind, field **out, segdb_err *err);
/* Comma-separated list of every field name (for "unknown field" errors); malloc'd. */
char *store_field_names(segdb_t *db);

/* ---- rows ---- */
int64_t store_now(segdb_t *db);            /* clock (or the record time during apply) */
uint32_t store_row_of(segdb_t *db, uint64_t id);   /* UINT32_MAX when absent */
int store_new_row(segdb_t *db, uint64_t id, uint32_t *row); /* SEGDB_ENOMEM */
/* Rows for n new contacts at once (bulk loads), in two steps so that the id
 * map fills on one thread while the rows' values are written on others.
 * ids[0..n) strictly ascending and above every id the store has held, so
 * none exists. store_add_rows gives them rows *first .. *first + n - 1, live,
 * with their bucket, and makes room for them in the id map (SEGDB_ENOMEM,
 * with nothing changed but reserved capacity); store_map_rows then enters
 * them (growing the map first when it would pass 3/4 full). Together: the
 * state n store_new_row calls leave (bitmaps may hold runs where those hold
 * bits). In between, store_row_of doesn't find the new ids and nothing may
 * delete or add rows. */
int store_add_rows(segdb_t *db, const uint64_t *ids, uint32_t n, uint32_t *first);
void store_map_rows(segdb_t *db, uint32_t first, uint32_t n);
/* The entries store_map_rows(db, first, n) will write: none when the rows
 * extend the map's sorted part, else n, plus every id in the map when it
 * must grow first (a rehash of millions of ids takes longer than a whole
 * batch's other work, so it is worth starting first). */
uint64_t store_map_work(const segdb_t *db, uint32_t first, uint32_t n);
/* Rows first .. first + n - 1 (new, so zero) are about to be written in f's
 * columns (and, for birthday, its derived ones): write their zeros now. A
 * column page is first read by the write path (is the value already there?):
 * untouched, that read maps the shared zero page and the write then copies
 * it, a second fault whose TLB shootdown interrupts every thread of the
 * process. Writing first takes one fault and no shootdown. */
void store_touch_rows(segdb_t *db, field *f, uint32_t first, uint32_t n);
void store_delete_row(segdb_t *db, uint32_t row);  /* leaves every index */
bool store_row_live(segdb_t *db, uint32_t row);
void store_set_archived(segdb_t *db, uint32_t row, bool archived);

/* ---- values per field (all keep present + indexes in step) ---- */
bool store_has(const field *f, uint32_t row);
void store_clear(segdb_t *db, field *f, uint32_t row);            /* unset the value */
int store_set_text(segdb_t *db, field *f, uint32_t row, const char *s, size_t len);
/* store_set_code / store_set_int for a row that holds no value of f (a new
 * row's first value in a bulk load): what they do without the checks for an
 * old value; whatever needs more (a column to create or widen) goes through
 * them. With mark false, row is not entered in f's present bitmap nor in its
 * range index's pending rows: the caller does it for a range of rows at
 * once with store_mark_fresh_rows. */
int store_set_code_fresh(segdb_t *db, field *f, uint32_t row, uint32_t code, bool mark);
int store_set_int_fresh(segdb_t *db, field *f, uint32_t row, int64_t v, bool mark);
/* Rows [first, first + n), each given its first value of f by the calls
 * above with mark false, enter f's present bitmap (and the range index's
 * pending rows) in one range. */
void store_mark_fresh_rows(segdb_t *db, field *f, uint32_t first, uint32_t n);
/* store_set_text(db, f, rows[k], vals[k], lens[k]) for k = 0..n-1 in order,
 * folding and hashing a few values ahead and prefetching their dictionary
 * slots, so n random slots cost about one miss's time, not n. A row that held
 * no value of f joins its value's rows later (textdict.pending,
 * store_text_settle). Values must be valid for f (UPSERT's checks passed).
 * SEGDB_ENOMEM (rows before k applied). */
int store_set_text_rows(segdb_t *db, field *f, const uint32_t *rows, const char *const *vals,
                        const size_t *lens, size_t n);
int store_set_code(segdb_t *db, field *f, uint32_t row, uint32_t code); /* ENUM/BOOL/CATEGORY */
int store_set_int(segdb_t *db, field *f, uint32_t row, int64_t v);      /* TIME/DATE/INTEGER */
int store_set_number(segdb_t *db, field *f, uint32_t row, double v);
int store_tag_add(segdb_t *db, field *f, uint32_t row, uint32_t code);  /* TAGS */
int store_tag_remove(segdb_t *db, field *f, uint32_t row, uint32_t code);
void store_tags_clear(segdb_t *db, field *f, uint32_t row);

/* Code of a folded value in f's dict, 0 when absent. */
uint32_t dict_find(const dict *d, const char *folded, size_t len);
/* Code for value s (folded for lookup; display = s when new); 0 on ENOMEM. */
uint32_t dict_intern(dict *d, const char *s, size_t len);

/* Enum member code from a (folded) value, 0 when not a member. */
uint32_t store_enum_code(const field *f, const char *s, size_t len);
/* The same for a member spelled exactly ("female", "lead"), without folding. */
uint32_t store_enum_member(const field *f, const char *s, size_t len);

/* The original spelling of text code c (NUL-terminated, owned by td). */
const char *store_text_orig(const textdict *td, uint32_t c);

/* Text dict: first code whose folded value equals folded[0..len), 0 if none;
 * walk further codes with td_next(td, code) (0 ends the chain). */
uint32_t textdict_find(const textdict *td, const char *folded, size_t len);
uint32_t td_next(const textdict *td, uint32_t code);
/* Set the chain link code -> next (snapshot load). SEGDB_ENOMEM. */
int td_set_next(textdict *td, uint32_t code, uint32_t next);
/* Fold a value for text field f into out (capacity >= fold_max_len(len) + 3). */
char *store_text_fold_into(const field *f, const char *s, size_t len, char *out, size_t *out_len);
/* Fold a value for text field f into a malloc'd string (NULL on ENOMEM). */
char *store_text_fold(const field *f, const char *s, size_t len, size_t *out_len);

/* Value of f at row formatted for replies (GET, FIND FIELDS); malloc'd, NULL
 * when the row has no value. Relationship shows dont_forget when due. */
char *store_format(segdb_t *db, const field *f, uint32_t row, size_t *len);

/* Snapshot load: make room for n rows / a text dictionary's codes and
 * arenas; rebuild hash tables after raw arrays were read in. */
int store_reserve_rows(segdb_t *db, uint32_t n);
/* Files the rows a bulk load deferred (textdict.pending) into their values'
 * last_row or posting lists, grouped by value. Whatever reads last_row,
 * multi or posts calls it first (writes through store_set_text and
 * store_clear do). td may be NULL. SEGDB_ENOMEM (then nothing is lost: the
 * rows stay deferred). */
int store_text_settle(textdict *td);
int store_text_reserve(textdict *td, uint32_t ncodes, uint64_t orig_bytes, uint64_t fold_bytes);
/* (also computes the codes' hkey from their strings) */
int store_text_rehash(textdict *td);
/* Rebuilds the id map from ids[] and live after a load; also recomputes
 * ids_ascending and raises max_id to the largest id. SEGDB_EINVAL on a
 * duplicate live id. */
int store_rebuild_id_map(segdb_t *db);

/* A category's 32-bit code column becomes 8-bit (every code must be below
 * 256): what a snapshot written before 8-bit codes loads into. SEGDB_ENOMEM
 * leaves the column as it was. */
int store_narrow_codes(segdb_t *db, field *f);

/* Give back spare capacity of growable per-value lists (after a bulk load). */
void store_shrink(segdb_t *db);

/* Re-allocate the label bitmaps of a tag-kind field f (tags, groups, custom
 * tag fields; any other field: nothing to do) afresh, one bitmap after
 * another, so each bitmap's containers lie together as after a snapshot
 * load; after a load they lie wherever each grew, and a many-tag OR jumps
 * through memory instead of streaming it (q_or20 at 10M: 3.10 -> 2.28 ms;
 * ~90 ms to run, about 4 bytes per contact of freed space left between other
 * allocations). segdb_flush_indexes runs it per field on its threads. While
 * it runs the originals, their serialized form and the copies coexist: about
 * three times the bitmaps' memory. SEGDB_ENOMEM leaves them as they were. */
int store_relayout_labels(field *f);

/* Estimated heap bytes of columns, dictionaries and indexes. */
uint64_t store_mem_bytes(segdb_t *db);

#endif /* STORE_H */

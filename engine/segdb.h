/*
 * segdb.h — the public embedded API of the segdb engine (libsegdb).
 *
 * The engine keeps contacts in columnar in-memory arrays with a Roaring bitmap
 * per indexed value, and answers filters (see docs/filters.md) with bitmap
 * plans. It owns no sockets and no files: the server (server/) and the CLI's
 * --embedded mode call these functions; durability (storage/) plugs in through
 * the write-log hook of segdb_options and replays records with
 * segdb_apply_record().
 *
 * Conventions
 *   - Functions return 0 (SEGDB_OK) or a negative SEGDB_E* code and, on error,
 *     fill the caller's segdb_err with a message fit to show a user after the
 *     error code word (e.g. "-ERR <msg>"). err may be NULL.
 *   - Strings in are UTF-8 with explicit lengths where NUL bytes matter.
 *   - Everything a function returns through an out-pointer is owned by the
 *     caller and freed with the matching *_free() (x_free(NULL) is a no-op).
 *   - A segdb_t is single-threaded: one caller at a time.
 */
#ifndef SEGDB_H
#define SEGDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segdb_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

enum {
    SEGDB_OK = 0,
    SEGDB_EINVAL = -1,    /* malformed input                  -> -ERR       */
    SEGDB_EWRONGTYPE = -2,/* a value that can't be the field's type -> -WRONGTYPE */
    SEGDB_ELIMIT = -3,    /* past a limit of SPEC section 6  -> -LIMIT     */
    SEGDB_EREADONLY = -4, /* the write log failed: writes refused -> -READONLY */
    SEGDB_ENOMEM = -5,    /* out of memory                    -> -ERR       */
    SEGDB_ENOTFOUND = -6, /* no such contact/segment/group... -> -ERR       */
    SEGDB_EEXIST = -7,    /* name already taken               -> -ERR       */
};

#define SEGDB_ERR_MSG_BYTES 2048
typedef struct segdb_err {
    int code;                       /* one of SEGDB_E* (0 when no error) */
    char msg[SEGDB_ERR_MSG_BYTES];  /* what the user sees after the code word */
} segdb_err;

/* The RESP error code word for an error code: "ERR", "WRONGTYPE", "LIMIT", "READONLY". */
const char *segdb_err_word(int code);

/* ---- string vectors (replies made of several strings) ------------------ */

typedef struct segdb_strvec {
    char **v;     /* v[i] is NUL-terminated, or NULL for "nil" */
    size_t *len;  /* byte length of v[i] (0 for NULL) */
    size_t n, cap;
} segdb_strvec;

void segdb_strvec_free(segdb_strvec *sv); /* frees the items, not sv itself */

/* ---- opening ----------------------------------------------------------- */

typedef struct segdb segdb_t;

/* Called with each serialized mutation record before it is applied; seq is
 * the record's sequence number (the engine's last seq + 1). Return 0 when the
 * record is queued in the log (the caller then applies it), or a negative code
 * (SEGDB_EREADONLY with a reason in err) to refuse the write. */
typedef int (*segdb_log_fn)(void *ctx, uint64_t seq, const void *rec, size_t len,
                            segdb_err *err);

/* Clock in unix seconds; tests pass their own to control "now". */
typedef int64_t (*segdb_clock_fn)(void *ctx);

typedef struct segdb_options {
    int dont_forget_days;       /* SPEC 4.3; default SEGDB_DEFAULT_DONT_FORGET_DAYS */
    int tz_offset_seconds;      /* zone for times written without one; default +7h (Asia/Ho_Chi_Minh) */
    segdb_log_fn log_fn;        /* NULL: writes are applied without logging */
    void *log_ctx;
    segdb_clock_fn clock_fn;    /* NULL: time(NULL) */
    void *clock_ctx;
    /* limits (0 = default from segdb_limits.h) */
    uint32_t max_filter_bytes, max_filter_depth, max_filter_terms;
    uint32_t max_find_limit, max_id_list, max_note_chars;
    /* Queries over at least parallel_min_rows rows (0 = 2,097,152) split their
     * chunks over up to query_threads threads (0 = the online CPUs, at most 4;
     * 1 = never). Only the calling thread's query uses them; the handle is
     * still single-threaded for its callers. */
    uint32_t query_threads;
    uint64_t parallel_min_rows;
} segdb_options;

void segdb_options_init(segdb_options *o); /* fills defaults */

segdb_t *segdb_open(const segdb_options *o); /* o may be NULL; NULL on ENOMEM */
void segdb_close(segdb_t *db);

/* Change the log hook after open (the server sets it once recovery is done). */
void segdb_set_log(segdb_t *db, segdb_log_fn fn, void *ctx);

/* ---- fields ------------------------------------------------------------ */

typedef enum segdb_kind {
    SEGDB_KIND_ID = 0,     /* the u64 key */
    SEGDB_KIND_TEXT,       /* name, email, phone, address, identifier, custom text */
    SEGDB_KIND_ENUM,       /* fixed members */
    SEGDB_KIND_CATEGORY,   /* open-ended dictionary-coded values */
    SEGDB_KIND_TAGS,       /* set of labels (tags, groups) */
    SEGDB_KIND_BOOL,
    SEGDB_KIND_TIME,       /* unix seconds */
    SEGDB_KIND_DATE,       /* a day (birthday) */
    SEGDB_KIND_INTEGER,
    SEGDB_KIND_NUMBER,     /* double */
} segdb_kind;

/* "text", "enum", ... as FIELD.LIST prints them. */
const char *segdb_kind_name(segdb_kind k);

/* FIELD.CREATE name kind; kind is text|number|integer|time|bool|category.
 * SEGDB_EEXIST when the name is taken, SEGDB_EINVAL for a bad name/kind. */
int segdb_field_create(segdb_t *db, const char *name, const char *kind, segdb_err *err);

/* FIELD.LIST: pairs name, kind for every field (built-in then custom). */
int segdb_field_list(segdb_t *db, segdb_strvec *out, segdb_err *err);

/* ---- single-contact writes and reads ----------------------------------- */

typedef struct segdb_kv {
    const char *name;   /* field name, NUL-terminated, case-insensitive */
    const char *value;  /* value bytes (need not be NUL-terminated) */
    size_t value_len;
} segdb_kv;

/* UPSERT id field value ...: *created = 1 when the contact is new, 0 when it
 * was updated. All-or-nothing: on any error nothing is applied. */
int segdb_upsert(segdb_t *db, uint64_t id, const segdb_kv *kv, size_t n, int *created,
                 segdb_err *err);

/* One contact of segdb_upsert_batch: UPSERT id kv[0] ... kv[n - 1]. */
typedef struct segdb_contact {
    uint64_t id;
    const segdb_kv *kv;
    size_t n;
} segdb_contact;

/* n UPSERTs as one write: each contact is checked as segdb_upsert checks it
 * (in order, as if the ones before it were applied); at the first that fails,
 * nothing is applied and err says which ("contact 12 (id 1000011): ...").
 * Otherwise all are applied and logged as one record; *created = the new
 * ones. A batch of only new contacts with ascending ids (a bulk load) is
 * applied column by column, over up to query_threads threads, to the same
 * state as n segdb_upsert calls. */
int segdb_upsert_batch(segdb_t *db, const segdb_contact *c, size_t n, uint64_t *created,
                       segdb_err *err);

/* GET id [field...]: on success fills out with field, value pairs (only the
 * fields the contact has, or exactly the asked fields with NULL for absent).
 * Returns 1 when found, 0 when no such contact, <0 on error. */
int segdb_get(segdb_t *db, uint64_t id, const char *const *fields, size_t nfields,
              segdb_strvec *out, segdb_err *err);

/* DEL id...: *deleted = how many existed. */
int segdb_del(segdb_t *db, const uint64_t *ids, size_t n, uint64_t *deleted, segdb_err *err);

/* ---- queries ----------------------------------------------------------- */

/* COUNT [WHERE filter]: filter NULL = every non-archived contact. An empty or
 * all-blank filter string is SEGDB_EINVAL ("empty filter"). */
int segdb_count(segdb_t *db, const char *filter, uint64_t *out, segdb_err *err);

typedef struct segdb_find_req {
    const char *filter;             /* NULL = no WHERE */
    const char *const *fields;      /* FIELDS f1,f2 (already split), may be NULL */
    size_t nfields;
    const char *sort_field;         /* NULL = by id */
    bool desc;
    uint64_t offset;
    uint64_t limit;                 /* 0 = default page (SEGDB_DEFAULT_FIND_LIMIT) */
} segdb_find_req;

typedef struct segdb_find_res {
    uint64_t *ids;
    size_t n;
    size_t nfields;
    char **values;                  /* n * nfields, row-major; NULL = missing */
} segdb_find_res;

int segdb_find(segdb_t *db, const segdb_find_req *req, segdb_find_res *res, segdb_err *err);
void segdb_find_res_free(segdb_find_res *res);

/* EXPLAIN WHERE filter: *text is a malloc'd plan tree, one node a line with
 * its cardinality and time. */
int segdb_explain(segdb_t *db, const char *filter, char **text, segdb_err *err);

/* Finish a bulk load: file every pending index write now (range indexes
 * batch their inserts; otherwise the first query that needs one does it),
 * give back the slack of containers that grew one insert at a time, and lay
 * each tag's bitmap out in one run of memory again, as a snapshot load does
 * (many-tag ORs then stream memory: 20 tags at 10M contacts 3.1 -> 2.3 ms).
 * Takes ~125 ms at 10M contacts and, while it runs, about three times the
 * tag bitmaps' memory (originals, their serialized form, the copies).
 * SEGDB_ENOMEM (nothing is lost: what could not be redone stays as it was). */
int segdb_flush_indexes(segdb_t *db);

/* ---- statistics and checks ---------------------------------------------- */

typedef struct segdb_stats {
    uint64_t live;          /* contacts not deleted */
    uint64_t archived;      /* of which archived */
    uint64_t rows;          /* row positions ever used */
    uint64_t fields;        /* built-in + custom */
    uint64_t mem_bytes;     /* engine-estimated heap bytes (columns, indexes, dictionaries) */
    uint64_t seq;           /* sequence number of the last applied record */
} segdb_stats;

void segdb_get_stats(segdb_t *db, segdb_stats *st);

/* DEBUG VERIFY: rebuild every index from the columns and compare; SEGDB_OK or
 * SEGDB_EINVAL naming the first index that disagrees. */
int segdb_verify(segdb_t *db, segdb_err *err);

/* The index bitmap of one value (a roaring_bitmap_t *, borrowed, valid until
 * the next write or segdb_flush_indexes), or NULL when no contact has it: for benchmarks that compare
 * plans with raw CRoaring calls on the same bitmaps. field is a category,
 * enum, bool, tags or groups field; value is folded like a filter value. */
const void *segdb_value_bitmap(segdb_t *db, const char *field, const char *value);

/* ---- the write log seam (durability) ------------------------------------ */

/* Apply one serialized mutation record (as handed to segdb_log_fn) without
 * logging it again: recovery's replay path. seq is the record's sequence
 * number in the log. */
int segdb_apply_record(segdb_t *db, uint64_t seq, const void *rec, size_t len, segdb_err *err);

/* ---- campaign operations (SPEC 3, 4, 7) --------------------------------- */

/* A target: `ID <id>...` (ids, nids; unknown ids are skipped) or
 * `WHERE <filter>` (filter); exactly one of the two. More than max_id_list
 * ids is SEGDB_ELIMIT. */
typedef struct segdb_target {
    const uint64_t *ids;
    size_t nids;
    const char *filter;
} segdb_target;

/* TAG / UNTAG tag target: *changed = contacts that gained / lost the tag.
 * Archived contacts are skipped and not counted. Logged as one record. */
int segdb_tag(segdb_t *db, const char *tag, const segdb_target *t, uint64_t *changed, segdb_err *err);
int segdb_untag(segdb_t *db, const char *tag, const segdb_target *t, uint64_t *changed, segdb_err *err);

/* SET field value target: *changed = contacts whose value changed, *rejected =
 * archived contacts and forbidden status moves (SPEC 4.2). Values are checked
 * as in UPSERT (an invalid one is an error and nothing is applied); an empty
 * value clears the field. tags, groups, archived, id and derived fields can't
 * be SET. SET name/email/phone/purchases moves type up (SPEC 4.1). */
int segdb_set(segdb_t *db, const char *field, const char *value, size_t value_len, const segdb_target *t,
              uint64_t *changed, uint64_t *rejected, segdb_err *err);

/* ARCHIVE / UNARCHIVE target: *changed = contacts archived / brought back.
 * UNARCHIVE WHERE evaluates its filter over every contact, archived included
 * (as if it named `archived`), so `UNARCHIVE WHERE tag:x` reaches them. */
int segdb_archive(segdb_t *db, const segdb_target *t, uint64_t *changed, segdb_err *err);
int segdb_unarchive(segdb_t *db, const segdb_target *t, uint64_t *changed, segdb_err *err);

/* SPLIT (SPEC 7 "Splits"): n equal parts, or npercents parts of percents[i]
 * percent (decimal strings, at most SEGDB_MAX_PERCENT_DECIMALS decimals,
 * exact arithmetic). Order by id, by by_field ascending (ties by id, contacts
 * lacking the field last; enums in member order, text and categories by
 * folded value), or by a hash of (seed, id) when has_seed (with by_field too:
 * the seeded hash breaks the field's ties instead of id). save_prefix stores
 * the parts as frozen segments <prefix>1..<prefix>n (one log record). */
typedef struct segdb_split_req {
    uint32_t n;                     /* parts; 0 when percents are given */
    const char *const *percents;
    size_t npercents;
    bool has_seed;
    uint64_t seed;
    const char *by_field;           /* NULL = by id */
    const char *save_prefix;        /* NULL = don't save */
    const char *filter;             /* NULL = every non-archived contact */
} segdb_split_req;

typedef struct segdb_split_res {
    uint64_t *sizes;                /* n part sizes */
    size_t n;
} segdb_split_res;

/* res->sizes (n entries) is malloc'd: segdb_split_res_free. SEGDB_EINVAL for
 * 0 parts, negative percentages or a sum over 100, a bad BY field or SAVE
 * prefix; SEGDB_EEXIST when a <prefix>k segment exists (checked before
 * anything is applied); SEGDB_ELIMIT for more than SEGDB_MAX_SPLIT_PARTS parts. */
int segdb_split(segdb_t *db, const segdb_split_req *req, segdb_split_res *res, segdb_err *err);
void segdb_split_res_free(segdb_split_res *res);

/* Segments. Names are 1-64 of A-Z a-z 0-9 _ -, matched case-insensitively.
 * SAVE stores a live segment (its filter, validated now and re-evaluated on
 * every use); FREEZE stores the contacts matching now (*size). A taken name
 * is SEGDB_EEXIST; a filter naming a missing segment or a segment cycle is
 * SEGDB_EINVAL. DEL never deletes contacts (SEGDB_ENOTFOUND if no such). */
int segdb_segment_save(segdb_t *db, const char *name, const char *filter, segdb_err *err);
int segdb_segment_freeze(segdb_t *db, const char *name, const char *filter, uint64_t *size, segdb_err *err);
int segdb_segment_del(segdb_t *db, const char *name, segdb_err *err);

typedef struct segdb_segment_info {
    char *name;
    bool frozen;
    char *definition;               /* live: the filter; frozen: where its members came from */
    uint64_t size;                  /* frozen: members still live (archived included); live: 0 */
    uint64_t count;                 /* SEGMENT.GET: COUNT WHERE segment:name now; LIST: 0 */
    int64_t created;                /* unix seconds */
} segdb_segment_info;

typedef struct segdb_segment_res {
    segdb_segment_info *v;
    size_t n;
} segdb_segment_res;

/* SEGMENT.LIST: every segment in creation order. SEGMENT.GET: one (n = 1),
 * with its current count; SEGDB_ENOTFOUND if no such segment. */
int segdb_segment_list(segdb_t *db, segdb_segment_res *res, segdb_err *err);
int segdb_segment_get(segdb_t *db, const char *name, segdb_segment_res *res, segdb_err *err);
void segdb_segment_res_free(segdb_segment_res *res);

/* Groups (SPEC 4.4). CREATE derives the code from the name (`Khách VIP` ->
 * `KHACH_VIP`, at most 56 characters); a code already taken gets _2, _3...
 * (*code is malloc'd, free() it). parent NULL = top level. A name giving an
 * empty code, or an unknown parent, is SEGDB_EINVAL. ADD/REMOVE: *changed =
 * contacts that joined / left (archived ones skipped, not counted). DEL:
 * children move up to its parent, members lose it. Unknown codes are
 * SEGDB_EINVAL (ADD/REMOVE) or SEGDB_ENOTFOUND (DEL). `group:CODE` matches
 * CODE's members and those of every group below it. */
int segdb_group_create(segdb_t *db, const char *name, const char *parent, char **code, segdb_err *err);
int segdb_group_add(segdb_t *db, const char *code, const segdb_target *t, uint64_t *changed, segdb_err *err);
int segdb_group_remove(segdb_t *db, const char *code, const segdb_target *t, uint64_t *changed, segdb_err *err);
int segdb_group_del(segdb_t *db, const char *code, segdb_err *err);

typedef struct segdb_group_info {
    char *code;
    char *name;
    char *parent;                   /* parent code, NULL at top level */
    uint64_t members;               /* direct members, not archived */
} segdb_group_info;

typedef struct segdb_group_res {
    segdb_group_info *v;
    size_t n;
} segdb_group_res;

/* GROUP.LIST: every group depth-first (each followed by its subtree). */
int segdb_group_list(segdb_t *db, segdb_group_res *res, segdb_err *err);
void segdb_group_res_free(segdb_group_res *res);

/* FACET field [TOP top] [WHERE filter]: values with a count > 0 among the
 * matching contacts, by count descending then folded value; top 0 = all.
 * Category, enum, bool, tags and groups fields (relationship shows the
 * derived dont_forget); others are SEGDB_EINVAL. */
typedef struct segdb_facet_res {
    char **values;
    uint64_t *counts;
    size_t n;
} segdb_facet_res;

int segdb_facet(segdb_t *db, const char *field, uint32_t top, const char *filter, segdb_facet_res *res,
                segdb_err *err);
void segdb_facet_res_free(segdb_facet_res *res);

/* OVERLAP f1 | f2 ...: m[i * n + j] = contacts matching filters i and j
 * (m[i * n + i] = filter i's count); 1..SEGDB_MAX_OVERLAP_FILTERS filters. */
typedef struct segdb_overlap_res {
    uint64_t *m;
    size_t n;
} segdb_overlap_res;

int segdb_overlap(segdb_t *db, const char *const *filters, size_t n, segdb_overlap_res *res, segdb_err *err);
void segdb_overlap_res_free(segdb_overlap_res *res);

/* REACH [WHERE filter]: matching contacts reachable per channel (SPEC 4.5). */
typedef struct segdb_reach_res {
    uint64_t email, sms, whatsapp, web;
} segdb_reach_res;

int segdb_reach(segdb_t *db, const char *filter, segdb_reach_res *res, segdb_err *err);

/* Notes. ADD: *note = the new note's id (unique per database, increasing).
 * Text: 1..max_note_chars Unicode characters (more is SEGDB_ELIMIT), valid
 * UTF-8, no NUL; kept as written. An unknown contact or note is
 * SEGDB_ENOTFOUND; an archived contact's notes can be listed, not written. */
int segdb_note_add(segdb_t *db, uint64_t id, const char *text, size_t len, uint64_t *note, segdb_err *err);
int segdb_note_edit(segdb_t *db, uint64_t id, uint64_t note, const char *text, size_t len, segdb_err *err);
int segdb_note_del(segdb_t *db, uint64_t id, uint64_t note, segdb_err *err);

typedef struct segdb_note {
    uint64_t id;
    int64_t created;                /* unix seconds */
    int64_t edited;                 /* 0 = never edited */
    char *text;                     /* NUL-terminated, len bytes */
    size_t len;
} segdb_note;

typedef struct segdb_note_res {
    segdb_note *v;
    size_t n;
} segdb_note_res;

/* NOTE.LIST id: the contact's notes, newest first. */
int segdb_note_list(segdb_t *db, uint64_t id, segdb_note_res *res, segdb_err *err);
void segdb_note_res_free(segdb_note_res *res);

/* ---- snapshots (the byte stream; storage/snapshot.c makes it a file) ---- */

/* Write len bytes / read exactly len bytes; 0 on success, <0 on failure. */
typedef int (*segdb_write_fn)(void *ctx, const void *buf, size_t len);
typedef int (*segdb_read_fn)(void *ctx, void *buf, size_t len);

/* Serialize the whole state (contacts, indexes, fields, campaign state, seq).
 * Safe to call in a forked child (BGSAVE). SEGDB_ENOMEM or the writer's code. */
int segdb_save(segdb_t *db, segdb_write_fn fn, void *ctx, segdb_err *err);

/* Build a database from a stream of stream_len bytes written by segdb_save;
 * *out owned by the caller. Lengths inside the stream are checked against
 * stream_len before anything is allocated. SEGDB_EINVAL (with what is wrong)
 * for a malformed stream. */
int segdb_load(segdb_t **out, const segdb_options *o, segdb_read_fn fn, void *ctx, uint64_t stream_len,
               segdb_err *err);

/* ---- CSV import and export (SPEC 7, docs/import-export.md) -------------- */

/* IMPORT [MATCH key] csv: csv[0..len) is one chunk of CSV text (RFC 4180,
 * UTF-8, an optional BOM) whose first row names fields (built-in or custom,
 * case-insensitive; `id` is the key). match is "id", "identifier", "email",
 * "phone" or NULL (= id when there is an id column, else every row creates).
 * A row whose match key belongs to a contact updates it; others create one,
 * with the row's id or, without one, max(id)+1 onward. Values are typed and
 * checked as UPSERT checks them; an empty cell leaves the field as it is;
 * tags and groups take ';'-joined lists; a cell in EXPORT's formula-escaped
 * form ('=..., '+..., '-..., '@... that is not a number) loses the "'".
 * Rows of the same contact apply in file order (the later row wins field by
 * field). A bad row is rejected alone (res->lines / res->reasons, line =
 * physical line in the chunk, header = 1); the accepted rows are one logged
 * record (all or nothing). Whole-chunk errors, nothing applied: SEGDB_EINVAL
 * for no header, an unknown, duplicate or unwritable column (the message
 * names it and FIELD.CREATE), a bad MATCH or a MATCH key without its column;
 * SEGDB_ELIMIT for more than SEGDB_MAX_IMPORT_ROWS data rows. res is filled
 * on success (free with segdb_import_res_free) and zeroed on error. */
typedef struct segdb_import_res {
    uint64_t created, updated, rejected;
    uint64_t *lines;                /* rejected rows: line in the chunk, ascending */
    char **reasons;                 /* why each was rejected (NUL-terminated) */
    size_t n;                       /* entries of lines and reasons (= rejected) */
} segdb_import_res;

int segdb_import(segdb_t *db, const char *match, const char *csv, size_t len, segdb_import_res *res,
                 segdb_err *err);
void segdb_import_res_free(segdb_import_res *res);

/* EXPORT [FIELDS f,...] [CURSOR c] [COUNT n] [WHERE filter]: one page of CSV.
 * Rows go in row order (write order, stable while writes happen: a contact
 * present and matching for the whole export comes exactly once); the cursor
 * is the row position to start from (0 = the first page, which alone starts
 * with the header row) and next_cursor = 0 when the export is done. Fields:
 * NULL = id then every field a row can be imported with (built-in then
 * custom; derived fields and archived only when asked). Cells: tags and
 * groups ';'-joined, categories in their first spelling, times as
 * 2019-11-01T18:00:00+07:00 (the configured zone), dates YYYY-MM-DD,
 * relationship as stored (the derived dont_forget is a filter value), and a
 * cell starting with = + - @ that is not a number gets a leading "'".
 * SEGDB_EINVAL for an unknown field or a bad filter, SEGDB_ELIMIT for a
 * count over SEGDB_MAX_EXPORT_COUNT. */
typedef struct segdb_export_req {
    const char *const *fields;      /* NULL (nfields 0) = the default list */
    size_t nfields;
    const char *filter;             /* NULL = every non-archived contact */
    uint64_t cursor;
    uint64_t count;                 /* rows per page; 0 = SEGDB_DEFAULT_EXPORT_COUNT */
} segdb_export_req;

typedef struct segdb_export_res {
    char *csv;                      /* malloc'd, len bytes (also NUL-terminated) */
    size_t len;
    uint64_t rows;                  /* data rows in csv */
    uint64_t next_cursor;           /* 0 = done */
} segdb_export_res;

int segdb_export(segdb_t *db, const segdb_export_req *req, segdb_export_res *res, segdb_err *err);
void segdb_export_res_free(segdb_export_res *res);

#ifdef __cplusplus
}
#endif
#endif /* SEGDB_H */

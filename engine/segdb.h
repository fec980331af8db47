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
 * the next write), or NULL when no contact has it: for benchmarks that compare
 * plans with raw CRoaring calls on the same bitmaps. field is a category,
 * enum, bool, tags or groups field; value is folded like a filter value. */
const void *segdb_value_bitmap(segdb_t *db, const char *field, const char *value);

/* ---- the write log seam (durability) ------------------------------------ */

/* Apply one serialized mutation record (as handed to segdb_log_fn) without
 * logging it again: recovery's replay path. seq is the record's sequence
 * number in the log. */
int segdb_apply_record(segdb_t *db, uint64_t seq, const void *rec, size_t len, segdb_err *err);

#ifdef __cplusplus
}
#endif
#endif /* SEGDB_H */

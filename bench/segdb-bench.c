/*
 * segdb-bench.c — the segdb benchmark: loads N generated contacts (gen.h) into
 * an in-process engine, times the load and a fixed set of queries, and prints
 * a table (operation, N, p50 ms, p99 ms, ops/s, value); --tsv writes the same
 * rows as `name<TAB>n<TAB>p50_ms<TAB>p99_ms<TAB>value` for docs/benchmarks.md.
 *
 *   segdb-bench --n N [--seed S] [--runs R] [--tsv FILE] [--explain] [--row-load] [--load-only]
 *   segdb-bench --n N [--seed S] --gen-resp FILE | --gen-csv FILE
 *   segdb-bench --n N --write-load PORT [--clients C] [--first-id ID]
 *                      N UPSERTs to a running server over C connections, one
 *                      request in flight on each (write_load.h); prints the rate
 *
 * Rows (their names are a contract with the Makefile and the docs):
 *   load               value = contacts/s over segdb_upsert_batch calls of 1,000
 *                      contacts each (--row-load: one segdb_upsert per contact)
 *                      plus filing the batched range-index inserts
 *                      (segdb_flush_indexes); generation is outside the clock;
 *                      p50/p99 are of the batches, so "ms" reads as us per contact
 *   q_and2 q_enum3 q_range q_mixed q_or20 q_keyword
 *                      segdb_count of the filters in QUERIES; value = the count
 *   find_page          segdb_find: the first 50 ids of q_enum3 by created_at
 *                      descending; value = ids returned
 *   raw_and2           roaring_bitmap_and_cardinality on the engine's own
 *                      tag:t000 and tag:t001 bitmaps (segdb_value_bitmap), timed
 *                      interleaved with q_and2 so their ratio comes from one run
 *   bytes_per_contact  value = growth of the process RSS (/proc/self/statm)
 *                      over the load / N; p50/p99 are "-"
 * Each query runs once untimed (its answer must match every timed run), then R
 * timed runs (default 9, at least 7); p50 and p99 are nearest-rank over the
 * sorted samples, ops/s = 1000 / p50.
 *
 * Checks: a count that differs between runs stops the program (exit 1). Every
 * count is also compared with what the generator says it must be (computed
 * from the generated facts while loading, outside the clock), and each id of
 * the find page is regenerated and checked; a disagreement is reported after
 * the table and TSV are written and the exit status is 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <roaring/roaring.h>

#include "gen.h"
#include "write_load.h"
#include "segdb.h"

#define BENCH_BATCH_CONTACTS 1000u /* contacts per timed load batch */
#define BENCH_DEFAULT_RUNS 9
#define BENCH_MIN_RUNS 7
#define BENCH_MAX_RUNS 10000 /* samples live on the stack */
#define BENCH_PAGE_IDS 50u

/* Cut-offs of the range queries: local midnights in the engine's default zone
 * (+07:00), which is how the engine reads a date without a time. */
#define BENCH_RANGE_CUT 1685552400 /* 2023-06-01T00:00+07:00 */
#define BENCH_MIXED_CUT 1735664400 /* 2025-01-01T00:00+07:00 */
#define BENCH_KEYWORD "linh"

enum { Q_AND2, Q_ENUM3, Q_RANGE, Q_MIXED, Q_OR20, Q_KEYWORD, Q_COUNT };

static const struct {
    const char *name;
    const char *filter;
} QUERIES[Q_COUNT] = {
    [Q_AND2] = {"q_and2", "tag:t000 AND tag:t001"},
    [Q_ENUM3] = {"q_enum3",
                 "(city:\"Hồ Chí Minh\" OR city:\"Hà Nội\") AND gender:female AND NOT status:unsubscribed"},
    [Q_RANGE] = {"q_range", "tag:t002 AND created_at < 2023-06-01"},
    [Q_MIXED] = {"q_mixed",
                 "type:lead AND has:phone AND last_contacted < 2025-01-01 AND NOT tag:t003"},
    [Q_OR20] = {"q_or20",
                "tag:t000 OR tag:t001 OR tag:t002 OR tag:t003 OR tag:t004 OR tag:t005 OR tag:t006 OR "
                "tag:t007 OR tag:t008 OR tag:t009 OR tag:t010 OR tag:t011 OR tag:t012 OR tag:t013 OR "
                "tag:t014 OR tag:t015 OR tag:t016 OR tag:t017 OR tag:t018 OR tag:t019"},
    [Q_KEYWORD] = {"q_keyword", "q:" BENCH_KEYWORD},
};

typedef struct opts {
    uint64_t n, seed;
    int runs;
    const char *tsv, *gen_resp, *gen_csv;
    int explain;
    int write_load_port;      /* 0: no --write-load */
    bool row_load;            /* --row-load: one segdb_upsert per contact */
    bool load_only;           /* --load-only: no queries */
    unsigned clients;
    uint64_t first_id;
} opts;

/* One output row; value_text is what the value column shows. */
typedef struct row {
    const char *name;
    int has_times;
    double p50_ms, p99_ms, ops;
    char value_text[32];
} row;

#define BENCH_MAX_ROWS 32

typedef struct bench {
    opts o;
    segdb_t *db;
    row rows[BENCH_MAX_ROWS];
    int nrows;
    int failed; /* a count disagreed with the generator */
    uint64_t expect[Q_COUNT];
    int64_t enum3_max_created; /* newest created_at among q_enum3's contacts */
    uint64_t counts[Q_COUNT];
    uint64_t raw_and2;
    char bytes_per_contact[32]; /* the last row's value, measured by the load */
} bench;

/* ---- small helpers ----------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Resident set size of this process in bytes (0 when /proc is unreadable). */
static uint64_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p (0 < p <= 100) of n samples; sorts them. */
static double percentile(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static row *add_row(bench *b, const char *name)
{
    if (b->nrows >= BENCH_MAX_ROWS) {
        fprintf(stderr, "segdb-bench: too many rows\n");
        exit(1);
    }
    row *r = &b->rows[b->nrows++];
    memset(r, 0, sizeof *r);
    r->name = name;
    return r;
}

static void set_times(row *r, double *samples, size_t n)
{
    r->has_times = 1;
    r->p99_ms = percentile(samples, n, 99);
    r->p50_ms = percentile(samples, n, 50);
    r->ops = r->p50_ms > 0 ? 1000.0 / r->p50_ms : 0;
}

static void die_engine(const char *what, const segdb_err *err)
{
    fprintf(stderr, "segdb-bench: %s: %s %s\n", what, segdb_err_word(err->code), err->msg);
    exit(1);
}

/* ---- what the generator says each query must answer -------------------------- */

static int has_tag(const gen_contact_t *g, unsigned t)
{
    for (unsigned k = 0; k < g->ntags; k++)
        if (g->tags[k] == t)
            return 1;
    return 0;
}

static int matches_enum3(const gen_contact_t *g)
{
    return (g->city == 0 || g->city == 1) && g->gender == GEN_FEMALE &&
           g->status != GEN_UNSUBSCRIBED;
}

/* q:linh is name~linh OR email~linh: the folded name without its spaces, or
 * the lower-cased email, contains the keyword. */
static int matches_keyword(const gen_contact_t *g)
{
    char folded[256], packed[256];
    gen_fold_ascii(g->name, folded, sizeof folded);
    size_t n = 0;
    for (const char *p = folded; *p; p++)
        if (*p != ' ' && *p != '-' && *p != '_' && *p != '.')
            packed[n++] = *p;
    packed[n] = '\0';
    if (strstr(packed, BENCH_KEYWORD))
        return 1;
    if (g->email) {
        char low[256];
        size_t k = 0;
        for (; g->email[k] && k + 1 < sizeof low; k++)
            low[k] = (char)((g->email[k] >= 'A' && g->email[k] <= 'Z') ? g->email[k] + 32 : g->email[k]);
        low[k] = '\0';
        if (strstr(low, BENCH_KEYWORD))
            return 1;
    }
    return 0;
}

static void expect_add(bench *b, const gen_contact_t *g)
{
    int t0 = has_tag(g, 0), t1 = has_tag(g, 1), any20 = 0;
    for (unsigned k = 0; k < g->ntags; k++)
        any20 |= g->tags[k] < 20;
    b->expect[Q_AND2] += t0 && t1;
    if (matches_enum3(g)) {
        b->expect[Q_ENUM3]++;
        if (g->created_at > b->enum3_max_created)
            b->enum3_max_created = g->created_at;
    }
    b->expect[Q_RANGE] += has_tag(g, 2) && g->created_at < BENCH_RANGE_CUT;
    b->expect[Q_MIXED] += g->type == GEN_LEAD && g->has_phone && g->has_last_contacted &&
                          g->last_contacted < BENCH_MIXED_CUT && !has_tag(g, 3);
    b->expect[Q_OR20] += any20;
    b->expect[Q_KEYWORD] += matches_keyword(g);
}

/* ---- the load ------------------------------------------------------------------ */

static void run_load(bench *b)
{
    uint64_t n = b->o.n;
    size_t nbatches = (size_t)((n + BENCH_BATCH_CONTACTS - 1) / BENCH_BATCH_CONTACTS);
    gen_contact_t *batch = calloc(BENCH_BATCH_CONTACTS, sizeof *batch);
    segdb_contact *contacts = calloc(BENCH_BATCH_CONTACTS, sizeof *contacts);
    double *samples = calloc(nbatches ? nbatches : 1, sizeof *samples);
    if (!batch || !contacts || !samples) {
        fprintf(stderr, "segdb-bench: out of memory\n");
        exit(1);
    }
    /* calloc'd pages may be untouched yet: touch them so they count before the
     * baseline, not as engine memory. */
    memset(batch, 0, BENCH_BATCH_CONTACTS * sizeof *batch);
    memset(samples, 0, (nbatches ? nbatches : 1) * sizeof *samples);

    segdb_options o;
    segdb_options_init(&o);
    uint64_t rss0 = rss_bytes();
    b->db = segdb_open(&o);
    if (!b->db) {
        fprintf(stderr, "segdb-bench: segdb_open: out of memory\n");
        exit(1);
    }

    segdb_err err;
    double total_ms = 0;
    for (size_t bi = 0; bi < nbatches; bi++) {
        uint64_t first = (uint64_t)bi * BENCH_BATCH_CONTACTS;
        size_t m = (size_t)(n - first < BENCH_BATCH_CONTACTS ? n - first : BENCH_BATCH_CONTACTS);
        for (size_t k = 0; k < m; k++) {
            gen_contact(b->o.seed, first + k, &batch[k]);
            expect_add(b, &batch[k]);
        }
        for (size_t k = 0; k < m; k++)
            contacts[k] = (segdb_contact){.id = batch[k].id, .kv = batch[k].kv, .n = batch[k].nkv};
        err.code = 0; /* not a 2 KiB memset inside the clock */
        err.msg[0] = '\0';
        double t0 = now_ms();
        if (b->o.row_load) {
            for (size_t k = 0; k < m; k++) {
                int created = 0;
                if (segdb_upsert(b->db, batch[k].id, batch[k].kv, batch[k].nkv, &created, &err) < 0)
                    die_engine("segdb_upsert", &err);
                if (!created) {
                    fprintf(stderr, "segdb-bench: id %" PRIu64 " was not created as new\n", batch[k].id);
                    exit(1);
                }
            }
        } else {
            uint64_t created = 0;
            if (segdb_upsert_batch(b->db, contacts, m, &created, &err) < 0)
                die_engine("segdb_upsert_batch", &err);
            if (created != m) {
                fprintf(stderr, "segdb-bench: %" PRIu64 " of a batch of %zu contacts were created as new\n",
                        created, m);
                exit(1);
            }
        }
        double dt = now_ms() - t0;
        /* a short last batch is scaled so every sample means 1,000 contacts */
        samples[bi] = dt * (double)BENCH_BATCH_CONTACTS / (double)m;
        total_ms += dt;
    }
    /* range indexes batch their inserts: filing them is part of loading */
    double tf = now_ms();
    if (segdb_flush_indexes(b->db) < 0) {
        fprintf(stderr, "segdb-bench: segdb_flush_indexes: out of memory\n");
        exit(1);
    }
    total_ms += now_ms() - tf;
    uint64_t rss1 = rss_bytes();

    segdb_stats st;
    segdb_get_stats(b->db, &st);
    if (st.live != n) {
        fprintf(stderr, "segdb-bench: engine holds %" PRIu64 " contacts after loading %" PRIu64 "\n",
                st.live, n);
        exit(1);
    }

    double per_s = total_ms > 0 ? (double)n / (total_ms / 1e3) : 0;
    row *r = add_row(b, "load");
    set_times(r, samples, nbatches);
    r->ops = per_s;
    snprintf(r->value_text, sizeof r->value_text, "%.0f", per_s);

    double bpc = n ? (double)(rss1 > rss0 ? rss1 - rss0 : 0) / (double)n : 0;
    snprintf(b->bytes_per_contact, sizeof b->bytes_per_contact, "%.1f", bpc);
    printf("loaded %" PRIu64 " contacts in %.2f s of %s and filing (%.0f contacts/s)\n", n, total_ms / 1e3,
           b->o.row_load ? "segdb_upsert" : "segdb_upsert_batch", per_s);
    printf("RSS %.1f MiB -> %.1f MiB: %.1f bytes/contact (engine's own estimate: %.1f)\n",
           (double)rss0 / 1048576.0, (double)rss1 / 1048576.0, bpc,
           n ? (double)st.mem_bytes / (double)n : 0.0);
    free(samples);
    free(contacts);
    free(batch);
}

/* ---- queries --------------------------------------------------------------------- */

static uint64_t count_once(bench *b, int q)
{
    segdb_err err;
    uint64_t c = 0;
    memset(&err, 0, sizeof err);
    if (segdb_count(b->db, QUERIES[q].filter, &c, &err) < 0)
        die_engine(QUERIES[q].name, &err);
    return c;
}

static void check_stable(const char *name, uint64_t first, uint64_t now)
{
    if (first != now) {
        fprintf(stderr, "segdb-bench: %s answered %" PRIu64 " then %" PRIu64 " on the same data\n",
                name, first, now);
        exit(1);
    }
}

static void add_count_row(bench *b, int q, double *samples, int runs)
{
    row *r = add_row(b, QUERIES[q].name);
    set_times(r, samples, (size_t)runs);
    snprintf(r->value_text, sizeof r->value_text, "%" PRIu64, b->counts[q]);
}

/* q_and2 and raw_and2, interleaved run by run. */
static void run_and2(bench *b)
{
    int runs = b->o.runs;
    const roaring_bitmap_t *t0 = segdb_value_bitmap(b->db, "tags", "t000");
    const roaring_bitmap_t *t1 = segdb_value_bitmap(b->db, "tags", "t001");
    if (!t0 || !t1) {
        fprintf(stderr, "segdb-bench: segdb_value_bitmap gave no bitmap for tag t000 or t001\n");
        exit(1);
    }
    double qs[runs], rs[runs];
    b->counts[Q_AND2] = count_once(b, Q_AND2);
    b->raw_and2 = roaring_bitmap_and_cardinality(t0, t1);
    for (int k = 0; k < runs; k++) {
        double s = now_ms();
        uint64_t c = count_once(b, Q_AND2);
        qs[k] = now_ms() - s;
        check_stable(QUERIES[Q_AND2].name, b->counts[Q_AND2], c);
        s = now_ms();
        uint64_t raw = roaring_bitmap_and_cardinality(t0, t1);
        rs[k] = now_ms() - s;
        check_stable("raw_and2", b->raw_and2, raw);
    }
    add_count_row(b, Q_AND2, qs, runs);
    row *r = add_row(b, "raw_and2");
    set_times(r, rs, (size_t)runs);
    snprintf(r->value_text, sizeof r->value_text, "%" PRIu64, b->raw_and2);
}

static void run_count(bench *b, int q)
{
    int runs = b->o.runs;
    double s[runs];
    b->counts[q] = count_once(b, q);
    for (int k = 0; k < runs; k++) {
        double t = now_ms();
        uint64_t c = count_once(b, q);
        s[k] = now_ms() - t;
        check_stable(QUERIES[q].name, b->counts[q], c);
    }
    add_count_row(b, q, s, runs);
}

static void find_once(bench *b, segdb_find_res *res)
{
    segdb_find_req req;
    memset(&req, 0, sizeof req);
    req.filter = QUERIES[Q_ENUM3].filter;
    req.sort_field = "created_at";
    req.desc = true;
    req.offset = 0;
    req.limit = BENCH_PAGE_IDS;
    segdb_err err;
    memset(&err, 0, sizeof err);
    memset(res, 0, sizeof *res);
    if (segdb_find(b->db, &req, res, &err) < 0)
        die_engine("find_page", &err);
}

/* The page must hold min(50, q_enum3) ids, each a contact matching q_enum3,
 * in non-increasing created_at order starting at the newest such contact;
 * contacts are regenerated from their ids to check. Returns 0 when it does. */
static int check_page(bench *b, const segdb_find_res *res)
{
    uint64_t want = b->expect[Q_ENUM3] < BENCH_PAGE_IDS ? b->expect[Q_ENUM3] : BENCH_PAGE_IDS;
    if (res->n != want) {
        fprintf(stderr, "segdb-bench: find_page returned %zu ids, expected %" PRIu64 "\n", res->n, want);
        return -1;
    }
    gen_contact_t *g = malloc(sizeof *g);
    if (!g)
        return -1;
    int rc = 0;
    int64_t prev = INT64_MAX;
    for (size_t k = 0; k < res->n && rc == 0; k++) {
        uint64_t id = res->ids[k];
        if (id < GEN_FIRST_ID || id - GEN_FIRST_ID >= b->o.n) {
            fprintf(stderr, "segdb-bench: find_page returned unknown id %" PRIu64 "\n", id);
            rc = -1;
            break;
        }
        gen_contact(b->o.seed, id - GEN_FIRST_ID, g);
        if (!matches_enum3(g) || g->created_at > prev ||
            (k == 0 && g->created_at != b->enum3_max_created)) {
            fprintf(stderr, "segdb-bench: find_page id %" PRIu64 " (position %zu) does not match "
                    "q_enum3 or is out of created_at order\n", id, k);
            rc = -1;
        }
        prev = g->created_at;
    }
    free(g);
    return rc;
}

static void run_find(bench *b)
{
    int runs = b->o.runs;
    double s[runs];
    segdb_find_res first, res;
    find_once(b, &first);
    for (int k = 0; k < runs; k++) {
        double t = now_ms();
        find_once(b, &res);
        s[k] = now_ms() - t;
        if (res.n != first.n || memcmp(res.ids, first.ids, res.n * sizeof *res.ids) != 0) {
            fprintf(stderr, "segdb-bench: find_page returned a different page on the same data\n");
            exit(1);
        }
        segdb_find_res_free(&res);
    }
    if (check_page(b, &first) < 0)
        b->failed = 1;
    row *r = add_row(b, "find_page");
    set_times(r, s, (size_t)runs);
    snprintf(r->value_text, sizeof r->value_text, "%zu", first.n);
    if (first.n)
        printf("find_page: first id %" PRIu64 ", last id %" PRIu64 "\n", first.ids[0],
               first.ids[first.n - 1]);
    segdb_find_res_free(&first);
}

/* Campaign operations of issue 5 over the q_enum3 set (timed after every
 * count, since they write): bulk TAG (a new tag each run, so every run tags
 * the whole set), TAG of ~5M contacts, SPLIT 4 by id / RANDOM / BY created_at,
 * FACET city TOP 10 and OVERLAP of 5 filters. value = contacts changed, the
 * first part's size, the number of facet values or the matrix' first cell. */
static void run_campaign(bench *b)
{
    int runs = b->o.runs;
    double s[runs];
    segdb_err err;
    const char *enum3 = QUERIES[Q_ENUM3].filter;
    enum { C_TAG, C_TAG5M, C_SPLIT, C_SPLIT_RANDOM, C_SPLIT_BY, C_FACET, C_OVERLAP, C_N };
    static const char *names[C_N] = {"tag_bulk", "tag_5m", "split4", "split4_random", "split4_by_created",
                                     "facet_city", "overlap5"};
    static const char *ovl[5] = {"tag:t000", "tag:t001", "city:\"Hồ Chí Minh\"", "gender:female",
                                 "created_at < 2023-06-01"};
    for (int op = 0; op < C_N; op++) {
        uint64_t value = 0;
        for (int k = 0; k < runs; k++) {
            char tag[48];
            uint64_t changed = 0;
            memset(&err, 0, sizeof err);
            double t = now_ms();
            int rc = 0;
            if (op == C_TAG || op == C_TAG5M) {
                snprintf(tag, sizeof tag, "bench_%s_%d", names[op], k);
                segdb_target tg = {.filter = op == C_TAG ? enum3 : "NOT tag:t000"};
                rc = segdb_tag(b->db, tag, &tg, &changed, &err);
                value = changed;
            } else if (op <= C_SPLIT_BY) {
                segdb_split_req rq = {.n = 4, .filter = enum3};
                if (op == C_SPLIT_RANDOM) { rq.has_seed = true; rq.seed = 42; }
                if (op == C_SPLIT_BY) rq.by_field = "created_at";
                segdb_split_res rs;
                rc = segdb_split(b->db, &rq, &rs, &err);
                if (!rc) { value = rs.n ? rs.sizes[0] : 0; segdb_split_res_free(&rs); }
            } else if (op == C_FACET) {
                segdb_facet_res fr;
                rc = segdb_facet(b->db, "city", 10, enum3, &fr, &err);
                if (!rc) { value = fr.n; segdb_facet_res_free(&fr); }
            } else {
                segdb_overlap_res orr;
                rc = segdb_overlap(b->db, ovl, 5, &orr, &err);
                if (!rc) { value = orr.n ? orr.m[0] : 0; segdb_overlap_res_free(&orr); }
            }
            s[k] = now_ms() - t;
            if (rc < 0) die_engine(names[op], &err);
        }
        row *r = add_row(b, names[op]);
        set_times(r, s, (size_t)runs);
        snprintf(r->value_text, sizeof r->value_text, "%" PRIu64, value);
    }
}

static void print_explain(bench *b)
{
    for (int q = 0; q < Q_COUNT; q++) {
        char *text = NULL;
        segdb_err err;
        memset(&err, 0, sizeof err);
        if (segdb_explain(b->db, QUERIES[q].filter, &text, &err) < 0) {
            fprintf(stderr, "segdb-bench: EXPLAIN %s: %s\n", QUERIES[q].name, err.msg);
            continue;
        }
        printf("EXPLAIN %s: %s\n%s\n", QUERIES[q].name, QUERIES[q].filter, text ? text : "");
        free(text);
    }
}

/* ---- output ------------------------------------------------------------------------ */

static void print_table(const bench *b)
{
    printf("\n%-18s %11s %10s %10s %12s  %s\n", "operation", "N", "p50 ms", "p99 ms", "ops/s", "value");
    for (int k = 0; k < b->nrows; k++) {
        const row *r = &b->rows[k];
        if (r->has_times)
            printf("%-18s %11" PRIu64 " %10.4f %10.4f %12.0f  %s\n", r->name, b->o.n, r->p50_ms,
                   r->p99_ms, r->ops, r->value_text);
        else
            printf("%-18s %11" PRIu64 " %10s %10s %12s  %s\n", r->name, b->o.n, "-", "-", "-",
                   r->value_text);
    }
    printf("(load: p50/p99 are ms per 1,000 contacts; ops/s = contacts/s)\n");
}

static void write_tsv(const bench *b)
{
    FILE *f = fopen(b->o.tsv, "w");
    if (!f) {
        fprintf(stderr, "segdb-bench: %s: %s\n", b->o.tsv, strerror(errno));
        exit(1);
    }
    for (int k = 0; k < b->nrows; k++) {
        const row *r = &b->rows[k];
        if (r->has_times)
            fprintf(f, "%s\t%" PRIu64 "\t%.4f\t%.4f\t%s\n", r->name, b->o.n, r->p50_ms, r->p99_ms,
                    r->value_text);
        else
            fprintf(f, "%s\t%" PRIu64 "\t-\t-\t%s\n", r->name, b->o.n, r->value_text);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "segdb-bench: %s: %s\n", b->o.tsv, strerror(errno));
        exit(1);
    }
}

static const row *find_row(const bench *b, const char *name)
{
    for (int k = 0; k < b->nrows; k++)
        if (strcmp(b->rows[k].name, name) == 0)
            return &b->rows[k];
    return NULL;
}

static void print_checks(bench *b)
{
    printf("\n%-10s %12s %12s  %s\n", "query", "count", "expected", "filter");
    for (int q = 0; q < Q_COUNT; q++) {
        int ok = b->counts[q] == b->expect[q];
        printf("%-10s %12" PRIu64 " %12" PRIu64 "  %s%s\n", QUERIES[q].name, b->counts[q],
               b->expect[q], QUERIES[q].filter, ok ? "" : "   <-- MISMATCH");
        if (!ok)
            b->failed = 1;
    }
    if (b->raw_and2 != b->counts[Q_AND2]) {
        printf("raw_and2 %" PRIu64 " != q_and2 %" PRIu64 "   <-- MISMATCH\n", b->raw_and2,
               b->counts[Q_AND2]);
        b->failed = 1;
    }
    const row *q = find_row(b, "q_and2"), *raw = find_row(b, "raw_and2");
    if (q && raw && raw->p50_ms > 0)
        printf("q_and2 / raw_and2 (p50): %.2fx\n", q->p50_ms / raw->p50_ms);
}

/* ---- main ----------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: segdb-bench --n N [--seed S] [--runs R] [--tsv FILE] [--explain] [--row-load] [--load-only]\n"
            "       segdb-bench --n N [--seed S] [--gen-resp FILE] [--gen-csv FILE]\n"
            "  --n N          contacts to generate (ids %u .. %u+N-1)\n"
            "  --seed S       generator seed (default 1)\n"
            "  --runs R       timed runs per query (default %d, at least %d)\n"
            "  --tsv FILE     also write the rows as name, n, p50_ms, p99_ms, value (TSV)\n"
            "  --explain      print EXPLAIN of each query after loading\n"
            "  --row-load     load with one segdb_upsert per contact, not batches of 1,000\n"
            "  --load-only    time the load (and its memory) only, no queries\n"
            "  --gen-resp F   write the contacts as RESP UPSERT commands (redis-cli --pipe) and exit\n"
            "  --gen-csv F    write the contacts as CSV with a header row and exit\n"
            "  --write-load P send N UPSERTs to the server on 127.0.0.1:P and print the rate\n"
            "  --clients C    ... over C connections, one request in flight each (default 50)\n"
            "  --first-id ID  ... for ids ID, ID+1, ... (default %u)\n",
            GEN_FIRST_ID, GEN_FIRST_ID, BENCH_DEFAULT_RUNS, BENCH_MIN_RUNS, GEN_FIRST_ID);
    exit(1);
}

static uint64_t parse_u64(const char *flag, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') {
        fprintf(stderr, "segdb-bench: %s wants a non-negative integer, got '%s'\n", flag, s);
        exit(1);
    }
    return (uint64_t)v;
}

/* parse_u64, and the value must be in lo..hi. */
static uint64_t parse_u64_in(const char *flag, const char *s, uint64_t lo, uint64_t hi)
{
    uint64_t v = parse_u64(flag, s);
    if (v < lo || v > hi) {
        fprintf(stderr, "segdb-bench: %s must be %" PRIu64 "..%" PRIu64 "\n", flag, lo, hi);
        exit(1);
    }
    return v;
}

static void parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->runs = BENCH_DEFAULT_RUNS;
    o->clients = 50;
    o->first_id = GEN_FIRST_ID;
    int have_n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (strcmp(a, "--row-load") == 0) {
            o->row_load = true;
        } else if (strcmp(a, "--load-only") == 0) {
            o->load_only = true;
        } else if (strcmp(a, "--explain") == 0) {
            o->explain = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
        } else if (!has_val) {
            usage();
        } else if (strcmp(a, "--n") == 0) {
            o->n = parse_u64(a, argv[++i]);
            have_n = 1;
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = parse_u64(a, argv[++i]);
        } else if (strcmp(a, "--runs") == 0) {
            o->runs = (int)parse_u64_in(a, argv[++i], BENCH_MIN_RUNS, BENCH_MAX_RUNS);
        } else if (strcmp(a, "--tsv") == 0) {
            o->tsv = argv[++i];
        } else if (strcmp(a, "--gen-resp") == 0) {
            o->gen_resp = argv[++i];
        } else if (strcmp(a, "--gen-csv") == 0) {
            o->gen_csv = argv[++i];
        } else if (strcmp(a, "--write-load") == 0) {
            o->write_load_port = (int)parse_u64_in(a, argv[++i], 1, 65535);
        } else if (strcmp(a, "--clients") == 0) {
            o->clients = (unsigned)parse_u64_in(a, argv[++i], 1, 10000);
        } else if (strcmp(a, "--first-id") == 0) {
            o->first_id = parse_u64(a, argv[++i]);
        } else {
            usage();
        }
    }
    if (!have_n || o->n == 0 || o->n > UINT32_MAX)
        usage();
}

static void gen_file(const char *path, const opts *o,
                     int (*write)(FILE *, uint64_t, uint64_t))
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "segdb-bench: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    if (write(f, o->seed, o->n) < 0 || fclose(f) != 0) {
        fprintf(stderr, "segdb-bench: writing %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static bench b; /* large-ish, zeroed */
    parse_args(argc, argv, &b.o);

    if (b.o.write_load_port) {
        write_load_opts wo = {.port = b.o.write_load_port, .clients = b.o.clients,
                              .requests = b.o.n, .first_id = b.o.first_id};
        write_load_result wr;
        if (write_load_run(&wo, &wr) < 0)
            return 1;
        printf("write_load clients=%u requests=%" PRIu64 " errors=%" PRIu64
               " seconds=%.3f rate=%.0f/s\n",
               wo.clients, wr.done, wr.errors, wr.seconds, (double)wr.done / wr.seconds);
        return wr.errors ? 1 : 0;
    }

    if (b.o.gen_resp || b.o.gen_csv) {
        if (b.o.gen_resp)
            gen_file(b.o.gen_resp, &b.o, gen_write_resp);
        if (b.o.gen_csv)
            gen_file(b.o.gen_csv, &b.o, gen_write_csv);
        return 0;
    }

    printf("segdb-bench: N=%" PRIu64 " seed=%" PRIu64 " runs=%d\n", b.o.n, b.o.seed, b.o.runs);
    b.enum3_max_created = INT64_MIN;
    run_load(&b);
    if (b.o.explain)
        print_explain(&b);
    if (!b.o.load_only) {
        run_and2(&b);
        run_count(&b, Q_ENUM3);
        run_count(&b, Q_RANGE);
        run_count(&b, Q_MIXED);
        run_count(&b, Q_OR20);
        run_find(&b);
        run_count(&b, Q_KEYWORD);
        run_campaign(&b);
    }
    snprintf(add_row(&b, "bytes_per_contact")->value_text, sizeof b.rows[0].value_text, "%s",
             b.bytes_per_contact);

    print_table(&b);
    if (!b.o.load_only)
        print_checks(&b);
    if (b.o.tsv)
        write_tsv(&b);
    segdb_close(b.db);
    if (b.failed) {
        fprintf(stderr, "segdb-bench: the engine disagreed with the generated data (see above)\n");
        return 1;
    }
    return 0;
}

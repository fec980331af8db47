/*
 * cli_csv.c — segdb-cli import / export (see cli_csv.h): a reader thread cuts
 * the file into IMPORT chunks while the main thread sends them and maps the
 * rejected rows' lines back to the file; export pages EXPORT to a file.
 */
#include "cli_csv.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_buf.h"
#include "cli_resp.h"
#include "csv.h"

#define PROG "segdb-cli"
#define DEFAULT_CHUNK_ROWS 5000u
/* Imports of at least this many rows end with DEBUG OPTIMIZE (unless
 * --no-optimize): the server lays its tag indexes out afresh, which a
 * restart from a snapshot would otherwise do (many-tag ORs ~35% faster). */
#define OPTIMIZE_MIN_ROWS 100000u
#define DEFAULT_CHUNK_BYTES (4u << 20)
#define DEFAULT_PAGE_ROWS 20000u
#define MAX_PAGE_ROWS 100000u
#define READ_BYTES (1u << 20)
#define QUEUE_CHUNKS 2
#define SHOWN_REJECTIONS 10
#define PROGRESS_EVERY_MS 200

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "1,234,567" */
static const char *grouped(uint64_t v, char *buf, size_t cap)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t w = 0;
    for (int i = 0; i < n && w + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0) buf[w++] = ',';
        buf[w++] = tmp[i];
    }
    buf[w] = 0;
    return buf;
}

static void fmt_duration(double s, char *buf, size_t cap)
{
    if (s < 0 || s > 360000) {
        snprintf(buf, cap, "--:--");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
}

/* ---- progress ------------------------------------------------------------ */

typedef struct progress {
    bool on;                    /* stderr is a terminal */
    const char *verb;           /* "imported", "exported" */
    double start, last;
    uint64_t total_bytes;       /* 0 = unknown */
    uint64_t total_rows;        /* 0 = unknown */
    bool drawn;
} progress;

static void progress_init(progress *p, const char *verb)
{
    memset(p, 0, sizeof *p);
    p->on = isatty(STDERR_FILENO);
    p->verb = verb;
    p->start = p->last = now_s();
}

/* Redraw (at most every PROGRESS_EVERY_MS unless force): fraction done from
 * bytes or rows, whichever total is known. */
static void progress_draw(progress *p, uint64_t rows, uint64_t bytes, bool force)
{
    if (!p->on) return;
    double t = now_s();
    if (!force && (t - p->last) * 1000 < PROGRESS_EVERY_MS) return;
    p->last = t;
    double el = t - p->start, rate = el > 0 ? (double)rows / el : 0;
    double frac = -1;
    if (p->total_bytes) frac = (double)bytes / (double)p->total_bytes;
    else if (p->total_rows) frac = (double)rows / (double)p->total_rows;
    if (frac > 1) frac = 1;
    char line[256], r1[32], r2[32], eta[32];
    int n = 0;
    if (frac >= 0) {
        int width = 24, fill = (int)(frac * width);
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
        bar[width] = 0;
        fmt_duration(frac > 0 ? el * (1 - frac) / frac : -1, eta, sizeof eta);
        n = snprintf(line, sizeof line, "\r%3d%% [%s] %s rows  %s rows/s  ETA %s", (int)(frac * 100), bar,
                     grouped(rows, r1, sizeof r1), grouped((uint64_t)rate, r2, sizeof r2), eta);
    } else {
        n = snprintf(line, sizeof line, "\r%s %s rows  %s rows/s", p->verb, grouped(rows, r1, sizeof r1),
                     grouped((uint64_t)rate, r2, sizeof r2));
    }
    fputs(line, stderr);
    fputs("\033[K", stderr);
    fflush(stderr);
    p->drawn = n > 0;
}

static void progress_clear(progress *p)
{
    if (p->on && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = false;
}

/* ---- import: chunks ------------------------------------------------------ */

typedef struct rec_meta {
    uint64_t chunk_line;        /* where the server sees it */
    uint64_t file_line;         /* where it is in FILE */
    size_t off, len;            /* its raw bytes in the chunk */
} rec_meta;

typedef struct rejection {
    uint64_t line;              /* in FILE */
    char *reason;
    char *raw;                  /* the row as written (may be cut: TOO_LONG) */
    size_t rawlen;
} rejection;

typedef struct chunk {
    cli_buf data;               /* header row, then the rows, each + "\n" */
    rec_meta *recs;
    size_t nrecs, caprecs;
    rejection *local;           /* rows the CLI rejected itself */
    size_t nlocal, caplocal;
    uint64_t first_line, last_line;
    uint64_t file_pos;          /* bytes of FILE read when the chunk was cut */
    struct chunk *next;
} chunk;

static void rejection_free(rejection *r)
{
    free(r->reason);
    free(r->raw);
}

static void chunk_free(chunk *c)
{
    if (!c) return;
    cli_buf_free(&c->data);
    free(c->recs);
    for (size_t i = 0; i < c->nlocal; i++) rejection_free(&c->local[i]);
    free(c->local);
    free(c);
}

typedef struct producer {
    FILE *f;
    const char *path;
    size_t chunk_rows, chunk_bytes;
    /* header */
    bool have_header;
    cli_buf header;             /* raw bytes + "\n" */
    uint64_t header_lines;
    char **names;
    size_t nnames;
    /* the chunk being filled */
    chunk *cur;
    uint64_t cur_line;
    uint64_t bytes_read;
    /* the queue to the sender */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk *head, *tail;
    size_t queued;
    bool done, stop, any_chunk;
    char err[600];              /* set when the reader failed */
} producer;

/* Physical lines in raw bytes that hold no terminator of their own: LF,
 * CRLF and lone CR inside quoted fields count, as the reader counts them. */
static uint64_t inner_lines(const char *s, size_t n)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') k++;
        else if (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n')) k++;
    }
    return k;
}

static chunk *chunk_new(producer *p)
{
    chunk *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    cli_buf_init(&c->data);
    if (cli_buf_add(&c->data, p->header.p, p->header.len) < 0) {
        chunk_free(c);
        return NULL;
    }
    p->cur_line = p->header_lines + 1;
    return c;
}

/* Hand the current chunk to the sender, waiting while QUEUE_CHUNKS wait. */
static int push_chunk(producer *p)
{
    chunk *c = p->cur;
    p->cur = NULL;
    if (!c) return 0;
    c->file_pos = p->bytes_read;
    pthread_mutex_lock(&p->mu);
    while (p->queued >= QUEUE_CHUNKS && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
    bool stop = p->stop;
    if (!stop) {
        if (p->tail) p->tail->next = c;
        else p->head = c;
        p->tail = c;
        p->queued++;
        p->any_chunk = true;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (stop) {
        chunk_free(c);
        return -1;
    }
    return 0;
}

static int on_header(producer *p, const csv_record *rec, segdb_err *err)
{
    p->have_header = true;
    if (rec->error) {
        snprintf(p->err, sizeof p->err, "%s line %llu: the header row: %s", p->path, (unsigned long long)rec->line,
                 rec->reason);
        return SEGDB_EINVAL;
    }
    cli_buf_add(&p->header, rec->raw, rec->raw_len);
    cli_buf_addc(&p->header, '\n');
    p->header_lines = 1 + inner_lines(rec->raw, rec->raw_len);
    p->names = calloc(rec->nfields, sizeof *p->names);
    if (!p->names || p->header.oom) return SEGDB_ENOMEM;
    for (size_t i = 0; i < rec->nfields; i++) {
        const char *s = rec->field[i];
        size_t n = rec->len[i];
        while (n && (*s == ' ' || *s == '\t')) s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
        p->names[i] = strndup(s, n);
        if (!p->names[i]) return SEGDB_ENOMEM;
        p->nnames++;
    }
    return 0;
}

static int on_record(void *ctx, const csv_record *rec, segdb_err *err)
{
    producer *p = ctx;
    if (!p->have_header) return on_header(p, rec, err);
    if (!p->cur && !(p->cur = chunk_new(p))) return SEGDB_ENOMEM;
    chunk *c = p->cur;
    if (!c->first_line) c->first_line = rec->line;
    c->last_line = rec->line + inner_lines(rec->raw, rec->raw_len);
    if (rec->error == CSV_REC_TOO_LONG) {
        /* its raw bytes are cut: the server can't be shown the row */
        if (c->nlocal == c->caplocal) {
            size_t nc = c->caplocal ? c->caplocal * 2 : 8;
            rejection *a = realloc(c->local, nc * sizeof *a);
            if (!a) return SEGDB_ENOMEM;
            c->local = a;
            c->caplocal = nc;
        }
        rejection *r = &c->local[c->nlocal];
        r->line = rec->line;
        r->reason = strdup(rec->reason);
        r->raw = malloc(rec->raw_len + 1);
        if (!r->reason || !r->raw) {
            free(r->reason);
            free(r->raw);
            return SEGDB_ENOMEM;
        }
        memcpy(r->raw, rec->raw, rec->raw_len);
        r->rawlen = rec->raw_len;
        c->nlocal++;
    } else {
        if (c->nrecs == c->caprecs) {
            size_t nc = c->caprecs ? c->caprecs * 2 : 1024;
            rec_meta *a = realloc(c->recs, nc * sizeof *a);
            if (!a) return SEGDB_ENOMEM;
            c->recs = a;
            c->caprecs = nc;
        }
        rec_meta *m = &c->recs[c->nrecs++];
        m->chunk_line = p->cur_line;
        m->file_line = rec->line;
        m->off = c->data.len;
        m->len = rec->raw_len;
        cli_buf_add(&c->data, rec->raw, rec->raw_len);
        cli_buf_addc(&c->data, '\n');
        if (c->data.oom) return SEGDB_ENOMEM;
        p->cur_line += 1 + inner_lines(rec->raw, rec->raw_len);
    }
    if (c->nrecs + c->nlocal >= p->chunk_rows || c->data.len >= p->chunk_bytes)
        if (push_chunk(p) < 0) return SEGDB_EINVAL; /* the sender stopped */
    return 0;
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    segdb_err e = {0};
    csv_reader *rd = csv_reader_create(NULL);
    char *buf = malloc(READ_BYTES);
    int rc = 0;
    if (!rd || !buf) {
        snprintf(p->err, sizeof p->err, "out of memory");
        goto done;
    }
    for (;;) {
        size_t n = fread(buf, 1, READ_BYTES, p->f);
        if (n == 0) {
            if (ferror(p->f)) snprintf(p->err, sizeof p->err, "error reading %s: %s", p->path, strerror(errno));
            break;
        }
        p->bytes_read += n;
        rc = csv_reader_feed(rd, buf, n, on_record, p, &e);
        if (rc) break;
    }
    if (!rc && !p->err[0]) rc = csv_reader_finish(rd, on_record, p, &e);
    if (rc == SEGDB_ENOMEM && !p->err[0]) snprintf(p->err, sizeof p->err, "out of memory reading %s", p->path);
    if (!p->err[0] && !rc) {
        if (!p->have_header) {
            snprintf(p->err, sizeof p->err, "%s is empty: the first row must name the fields", p->path);
        } else {
            /* the last rows; a file of only a header still goes once, so its header is checked */
            if (!p->cur && !p->any_chunk) p->cur = chunk_new(p);
            push_chunk(p);
        }
    }
done:
    chunk_free(p->cur);
    p->cur = NULL;
    csv_reader_free(rd);
    free(buf);
    pthread_mutex_lock(&p->mu);
    p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The next chunk, or NULL when the reader is done. */
static chunk *next_chunk(producer *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->head && !p->done) pthread_cond_wait(&p->cv, &p->mu);
    chunk *c = p->head;
    if (c) {
        p->head = c->next;
        if (!p->head) p->tail = NULL;
        p->queued--;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return c;
}

static void stop_producer(producer *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- import: the sender -------------------------------------------------- */

typedef struct importer {
    cli_backend *b;
    const char *path;
    const char *match;
    FILE *report;               /* --errors, or NULL */
    const char *report_path;
    uint64_t created, updated, rejected, rows;
    size_t shown;
    bool report_failed;
} importer;

static int by_line(const void *a, const void *b)
{
    const rejection *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

static void report_rejection(importer *im, const rejection *r)
{
    im->rejected++;
    if (im->report) {
        char num[32];
        snprintf(num, sizeof num, "%llu", (unsigned long long)r->line);
        csv_buf cb = {0};
        const char *cells[] = {num, r->reason, r->raw ? r->raw : ""};
        size_t lens[] = {strlen(num), strlen(r->reason), r->raw ? r->rawlen : 0};
        if (csv_write_record(&cb, cells, lens, 3, true) != 0 || fwrite(cb.p, 1, cb.len, im->report) != cb.len)
            im->report_failed = true;
        csv_buf_free(&cb);
    } else if (im->shown < SHOWN_REJECTIONS) {
        fprintf(stderr, "%s line %llu: %s\n", im->path, (unsigned long long)r->line, r->reason);
        im->shown++;
    }
}

/* The record at chunk line `line`, or NULL. */
static const rec_meta *find_rec(const chunk *c, uint64_t line)
{
    size_t lo = 0, hi = c->nrecs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->recs[mid].chunk_line < line) lo = mid + 1;
        else hi = mid;
    }
    return lo < c->nrecs && c->recs[lo].chunk_line == line ? &c->recs[lo] : NULL;
}

/* DEBUG OPTIMIZE after a bulk import, saying how long it took or why it did
 * not happen (the import stands either way). */
static void optimize_after(cli_backend *b)
{
    const char *argv[2] = {"DEBUG", "OPTIMIZE"};
    size_t lens[2] = {5, 8};
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    double t0 = now_s();
    int rc = b->call(b, 2, argv, lens, &v, err, sizeof err);
    if (rc != CLI_CALL_OK)
        fprintf(stderr, "%s: DEBUG OPTIMIZE after the import failed: %s\n", PROG, err);
    else if (v->type == CLI_V_ERROR)
        fprintf(stderr, "%s: DEBUG OPTIMIZE after the import failed: %s (queries stay right, some a little slower)\n",
                PROG, v->str);
    else
        fprintf(stderr, "%s: laid the indexes out for queries (DEBUG OPTIMIZE) in %.2f s\n", PROG, now_s() - t0);
    cli_value_free(v);
}

/* Send one chunk. 0, or -1 after saying why the import stops. */
static int send_chunk(importer *im, chunk *c)
{
    const char *argv[4];
    size_t lens[4];
    int argc = 0;
    argv[argc] = "IMPORT";
    lens[argc++] = 6;
    if (im->match) {
        argv[argc] = "MATCH";
        lens[argc++] = 5;
        argv[argc] = im->match;
        lens[argc++] = strlen(im->match);
    }
    argv[argc] = c->data.p;
    lens[argc++] = c->data.len;
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    int rc = im->b->call(im->b, argc, argv, lens, &v, err, sizeof err);
    if (rc != CLI_CALL_OK) {
        fprintf(stderr, "%s: IMPORT of %s lines %llu-%llu failed: %s\n", PROG, im->path,
                (unsigned long long)c->first_line, (unsigned long long)c->last_line, err);
        return -1;
    }
    int status = 0;
    if (v->type == CLI_V_ERROR) {
        if (c->first_line)
            fprintf(stderr, "%s: IMPORT of %s lines %llu-%llu failed: %s\n", PROG, im->path,
                    (unsigned long long)c->first_line, (unsigned long long)c->last_line, v->str);
        else
            fprintf(stderr, "%s: IMPORT of %s failed: %s\n", PROG, im->path, v->str);
        status = -1;
        goto done;
    }
    bool ok = v->type == CLI_V_ARRAY && v->n >= 3 && (v->n - 3) % 2 == 0;
    for (size_t i = 0; ok && i < 3; i++) ok = v->elem[i]->type == CLI_V_INT && v->elem[i]->integer >= 0;
    for (size_t i = 3; ok && i < v->n; i += 2)
        ok = v->elem[i]->type == CLI_V_INT && v->elem[i + 1]->type == CLI_V_BULK;
    if (!ok) {
        fprintf(stderr, "%s: unexpected reply to IMPORT (not [created, updated, rejected, line, reason...])\n", PROG);
        status = -1;
        goto done;
    }
    im->created += (uint64_t)v->elem[0]->integer;
    im->updated += (uint64_t)v->elem[1]->integer;
    im->rows += c->nrecs + c->nlocal;
    /* the chunk's rejections, in file order */
    size_t nr = (v->n - 3) / 2 + c->nlocal;
    rejection *all = calloc(nr ? nr : 1, sizeof *all);
    if (!all) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        status = -1;
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < c->nlocal; i++) all[k++] = c->local[i]; /* borrowed */
    for (size_t i = 3; i < v->n; i += 2, k++) {
        uint64_t line = (uint64_t)v->elem[i]->integer;
        const rec_meta *m = find_rec(c, line);
        all[k].reason = v->elem[i + 1]->str;
        if (m) {
            all[k].line = m->file_line;
            all[k].raw = c->data.p + m->off;
            all[k].rawlen = m->len;
        } else {
            all[k].line = line; /* not a row start: the server's own line, as told */
        }
    }
    qsort(all, nr, sizeof *all, by_line);
    for (size_t i = 0; i < nr; i++) report_rejection(im, &all[i]);
    free(all);
done:
    cli_value_free(v);
    return status;
}

/* --create-fields: FIELD.CREATE name text for each header column the server lacks. */
static int create_fields(importer *im, producer *p)
{
    cli_words have;
    cli_words_init(&have);
    if (cli_backend_field_names(im->b, &have) < 0) {
        fprintf(stderr, "%s: --create-fields: can't read FIELD.LIST\n", PROG);
        cli_words_free(&have);
        return -1;
    }
    int status = 0;
    for (size_t i = 0; i < p->nnames && status == 0; i++) {
        const char *name = p->names[i];
        bool known = strcasecmp(name, "id") == 0;
        for (size_t k = 0; k < have.n && !known; k++) known = strcasecmp(have.v[k], name) == 0;
        for (size_t k = 0; k < i && !known; k++) known = strcasecmp(p->names[k], name) == 0;
        if (known || !*name) continue;
        const char *argv[] = {"FIELD.CREATE", name, "text"};
        cli_value *v = NULL;
        char err[CLI_ERR_BYTES];
        if (cli_backend_callv(im->b, &v, err, sizeof err, 3, argv) != CLI_CALL_OK) {
            fprintf(stderr, "%s: FIELD.CREATE %s: %s\n", PROG, name, err);
            status = -1;
        } else if (v->type == CLI_V_ERROR) {
            fprintf(stderr, "%s: --create-fields: can't create column '%s' as a field: %s\n", PROG, name, v->str);
            status = -1;
        } else {
            fprintf(stderr, "%s: created field '%s' (text)\n", PROG, name);
        }
        cli_value_free(v);
    }
    cli_words_free(&have);
    return status;
}

static int usage_import(void)
{
    fprintf(stderr, "usage: " PROG " import FILE|- [--match id|identifier|email|phone] [--create-fields]\n"
                    "                         [--errors REPORT.csv] [--chunk-rows N] [--chunk-bytes N]\n"
                    "                         [--no-optimize]\n");
    return 2;
}

/* --name VALUE or --name=VALUE at argv[*i]: the value (advancing *i), or NULL. */
static const char *opt_val(int argc, char **argv, int *i, const char *name, bool *bad)
{
    size_t nl = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, nl) != 0) return NULL;
    if (a[nl] == '=') return a + nl + 1;
    if (a[nl] != 0) return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, PROG ": %s needs a value\n", name);
        *bad = true;
        return NULL;
    }
    return argv[++*i];
}

static bool parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end || end == s || *s == '-' || x < lo || x > hi) return false;
    *v = x;
    return true;
}

int cli_csv_import(cli_backend *b, int argc, char **argv)
{
    const char *path = NULL, *match = NULL, *report_path = NULL;
    bool create = false, bad = false, optimize = true;
    uint64_t chunk_rows = DEFAULT_CHUNK_ROWS, chunk_bytes = DEFAULT_CHUNK_BYTES;
    for (int i = 0; i < argc && !bad; i++) {
        const char *v;
        if ((v = opt_val(argc, argv, &i, "--match", &bad))) {
            match = v;
        } else if ((v = opt_val(argc, argv, &i, "--errors", &bad))) {
            report_path = v;
        } else if ((v = opt_val(argc, argv, &i, "--chunk-rows", &bad))) {
            if (!parse_count(v, 1, 100000, &chunk_rows)) {
                fprintf(stderr, PROG ": --chunk-rows takes 1 to 100000, not '%s'\n", v);
                bad = true;
            }
        } else if ((v = opt_val(argc, argv, &i, "--chunk-bytes", &bad))) {
            if (!parse_count(v, 1024, 60u << 20, &chunk_bytes)) {
                fprintf(stderr, PROG ": --chunk-bytes takes 1024 to %u, not '%s'\n", 60u << 20, v);
                bad = true;
            }
        } else if (bad) {
            break;
        } else if (strcmp(argv[i], "--create-fields") == 0) {
            create = true;
        } else if (strcmp(argv[i], "--no-optimize") == 0) {
            optimize = false;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            fprintf(stderr, PROG ": unknown import option '%s'\n", argv[i]);
            bad = true;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, PROG ": import takes one FILE\n");
            bad = true;
        }
    }
    if (bad || !path) return usage_import();
    if (match && strcasecmp(match, "id") && strcasecmp(match, "identifier") && strcasecmp(match, "email") &&
        strcasecmp(match, "phone")) {
        fprintf(stderr, PROG ": --match takes id, identifier, email or phone, not '%s'\n", match);
        return 2;
    }
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, PROG ": can't open %s: %s\n", path, strerror(errno));
        return 1;
    }
    importer im = {.b = b, .path = is_stdin ? "stdin" : path, .match = match, .report_path = report_path};
    if (report_path) {
        im.report = fopen(report_path, "wb");
        if (!im.report) {
            fprintf(stderr, PROG ": can't write %s: %s\n", report_path, strerror(errno));
            if (!is_stdin) fclose(f);
            return 1;
        }
        fputs("line,reason,row\r\n", im.report);
    }
    progress pg;
    progress_init(&pg, "imported");
    struct stat st;
    if (!is_stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) pg.total_bytes = (uint64_t)st.st_size;

    producer p;
    memset(&p, 0, sizeof p);
    p.f = f;
    p.path = im.path;
    p.chunk_rows = chunk_rows;
    p.chunk_bytes = chunk_bytes;
    cli_buf_init(&p.header);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t th;
    int status = 0;
    bool started = pthread_create(&th, NULL, producer_main, &p) == 0;
    if (!started) {
        fprintf(stderr, PROG ": can't start the reader thread\n");
        status = 1;
    }
    bool first = true;
    uint64_t done_bytes = 0;
    chunk *c;
    while (started && (c = next_chunk(&p)) != NULL) {
        if (first && create && create_fields(&im, &p) < 0) {
            chunk_free(c);
            status = 1;
            break;
        }
        first = false;
        int r = send_chunk(&im, c);
        done_bytes = c->file_pos;
        chunk_free(c);
        if (r < 0) {
            status = 1;
            break;
        }
        progress_draw(&pg, im.rows, done_bytes, false);
    }
    if (started) {
        stop_producer(&p);
        while ((c = next_chunk(&p)) != NULL) chunk_free(c);
        pthread_join(th, NULL);
    }
    progress_clear(&pg);
    if (p.err[0]) {
        fprintf(stderr, PROG ": %s\n", p.err);
        status = 1;
    }
    double el = now_s() - pg.start;
    char a[32], bb[32], cc[32], dd[32], ee[32];
    fprintf(stderr, "%s: %s %s: %s rows in %.1f s (%s rows/s): %s created, %s updated, %s rejected%s\n", PROG,
            status ? "stopped importing" : "imported", im.path, grouped(im.rows, a, sizeof a), el,
            grouped(el > 0 ? (uint64_t)((double)im.rows / el) : 0, bb, sizeof bb), grouped(im.created, cc, sizeof cc),
            grouped(im.updated, dd, sizeof dd), grouped(im.rejected, ee, sizeof ee),
            status && im.rows ? " (those rows stay imported)" : "");
    if (optimize && im.created + im.updated >= OPTIMIZE_MIN_ROWS) optimize_after(b);
    if (im.rejected > im.shown && !im.report)
        fprintf(stderr, "%s: %llu more rejected rows not shown: --errors FILE writes them all\n", PROG,
                (unsigned long long)(im.rejected - im.shown));
    if (im.report) {
        if (fclose(im.report) != 0 || im.report_failed) {
            fprintf(stderr, PROG ": writing %s failed: %s\n", report_path, strerror(errno));
            status = 1;
        } else if (im.rejected) {
            fprintf(stderr, "%s: rejected rows are in %s\n", PROG, report_path);
        }
    }
    if (im.rejected) status = 1;
    for (size_t i = 0; i < p.nnames; i++) free(p.names[i]);
    free(p.names);
    cli_buf_free(&p.header);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    if (!is_stdin) fclose(f);
    return status;
}

/* ---- export ---------------------------------------------------------------- */

/* CSV records in text written by EXPORT (quotes balanced per record). */
static uint64_t count_records(const char *s, size_t n, bool *inq)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') *inq = !*inq;
        else if (s[i] == '\n' && !*inq) k++;
    }
    return k;
}

static int usage_export(void)
{
    fprintf(stderr, "usage: " PROG " export [--fields f1,f2,...] [--where FILTER] [--excel] [--page-rows N] "
                    "[-o FILE]\n");
    return 2;
}

int cli_csv_export(cli_backend *b, int argc, char **argv)
{
    const char *fields = NULL, *where = NULL, *outpath = NULL;
    bool excel = false, bad = false;
    uint64_t page = DEFAULT_PAGE_ROWS;
    for (int i = 0; i < argc && !bad; i++) {
        const char *v;
        if ((v = opt_val(argc, argv, &i, "--fields", &bad))) {
            fields = v;
        } else if ((v = opt_val(argc, argv, &i, "--where", &bad))) {
            where = v;
        } else if ((v = opt_val(argc, argv, &i, "--page-rows", &bad))) {
            if (!parse_count(v, 1, MAX_PAGE_ROWS, &page)) {
                fprintf(stderr, PROG ": --page-rows takes 1 to %u, not '%s'\n", MAX_PAGE_ROWS, v);
                bad = true;
            }
        } else if ((v = opt_val(argc, argv, &i, "-o", &bad)) || (v = opt_val(argc, argv, &i, "--output", &bad))) {
            outpath = v;
        } else if (bad) {
            break;
        } else if (strcmp(argv[i], "--excel") == 0) {
            excel = true;
        } else {
            fprintf(stderr, PROG ": unknown export argument '%s'\n", argv[i]);
            bad = true;
        }
    }
    if (bad) return usage_export();
    if (where && !*where) {
        fprintf(stderr, PROG ": --where needs a filter\n");
        return 2;
    }
    progress pg;
    progress_init(&pg, "exported");
    char err[CLI_ERR_BYTES];
    if (pg.on) {
        /* the total, for the ETA */
        const char *cargv[] = {"COUNT", "WHERE", where};
        cli_value *v = NULL;
        if (cli_backend_callv(b, &v, err, sizeof err, where ? 3 : 1, cargv) == CLI_CALL_OK && v->type == CLI_V_INT)
            pg.total_rows = (uint64_t)v->integer;
        cli_value_free(v);
    }
    FILE *out = outpath ? fopen(outpath, "wb") : stdout;
    if (!out) {
        fprintf(stderr, PROG ": can't write %s: %s\n", outpath, strerror(errno));
        return 1;
    }
    int status = 0;
    if (excel && fwrite("\xEF\xBB\xBF", 1, 3, out) != 3) status = 1;
    char cursor[32] = "0", pagebuf[32];
    snprintf(pagebuf, sizeof pagebuf, "%llu", (unsigned long long)page);
    uint64_t rows = 0;
    bool first = true;
    while (status == 0) {
        const char *av[10];
        int ac = 0;
        av[ac++] = "EXPORT";
        if (fields) {
            av[ac++] = "FIELDS";
            av[ac++] = fields;
        }
        av[ac++] = "CURSOR";
        av[ac++] = cursor;
        av[ac++] = "COUNT";
        av[ac++] = pagebuf;
        if (where) {
            av[ac++] = "WHERE";
            av[ac++] = where;
        }
        cli_value *v = NULL;
        int rc = cli_backend_callv(b, &v, err, sizeof err, ac, av);
        if (rc != CLI_CALL_OK) {
            progress_clear(&pg);
            fprintf(stderr, PROG ": EXPORT failed: %s\n", err);
            status = 1;
            break;
        }
        if (v->type == CLI_V_ERROR) {
            progress_clear(&pg);
            fprintf(stderr, PROG ": EXPORT failed: %s\n", v->str);
            cli_value_free(v);
            status = 1;
            break;
        }
        if (v->type != CLI_V_ARRAY || v->n != 2 || v->elem[0]->type != CLI_V_BULK || v->elem[1]->type != CLI_V_BULK ||
            v->elem[0]->len == 0 || v->elem[0]->len >= sizeof cursor) {
            progress_clear(&pg);
            fprintf(stderr, PROG ": unexpected reply to EXPORT (not [cursor, csv])\n");
            cli_value_free(v);
            status = 1;
            break;
        }
        const cli_value *csv = v->elem[1];
        if (csv->len && fwrite(csv->str, 1, csv->len, out) != csv->len) {
            progress_clear(&pg);
            fprintf(stderr, PROG ": writing %s failed: %s\n", outpath ? outpath : "stdout", strerror(errno));
            cli_value_free(v);
            status = 1;
            break;
        }
        bool inq = false;
        uint64_t recs = count_records(csv->str, csv->len, &inq);
        if (first && recs) recs--; /* the header row */
        first = false;
        rows += recs;
        memcpy(cursor, v->elem[0]->str, v->elem[0]->len);
        cursor[v->elem[0]->len] = 0;
        cli_value_free(v);
        progress_draw(&pg, rows, 0, false);
        if (strcmp(cursor, "0") == 0) break;
    }
    progress_clear(&pg);
    if (fflush(out) != 0 && status == 0) {
        fprintf(stderr, PROG ": writing %s failed: %s\n", outpath ? outpath : "stdout", strerror(errno));
        status = 1;
    }
    if (outpath && fclose(out) != 0 && status == 0) {
        fprintf(stderr, PROG ": writing %s failed: %s\n", outpath, strerror(errno));
        status = 1;
    }
    double el = now_s() - pg.start;
    char a[32], bb[32];
    fprintf(stderr, "%s: %s %s rows in %.1f s (%s rows/s)%s%s\n", PROG, status ? "stopped after" : "exported",
            grouped(rows, a, sizeof a), el, grouped(el > 0 ? (uint64_t)((double)rows / el) : 0, bb, sizeof bb),
            outpath ? " to " : "", outpath ? outpath : "");
    return status;
}

/*
 * exec.c — chunk-at-a-time plan evaluation (see exec.h).
 *
 * For each 65536-row chunk present in the universe, eval() writes the node's
 * rows into a 1024-word bitset: leaves copy or OR containers, AND/OR/NOT are
 * word loops over scratch buffers (one per tree depth). Results are ANDed with
 * the universe chunk, then popcounted (COUNT), appended to a Roaring bitmap
 * (exec_rows) or turned into row positions (FIND). Counts that one CRoaring
 * call answers exactly (a single bitmap, a AND b, a AND NOT b) skip the loop.
 * Large counts and FIND's masked evaluations split the chunks into "lanes"
 * run by the handle's worker threads (see the lanes section below).
 */
#include "exec.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bm.h"
#include "err.h"
#include "store.h"

/* Per-lane scratch the handle keeps between queries (in its exec_pool), so a
 * query allocates nothing large: freeing and re-faulting ~300 KB per query
 * and lane cost more than evaluating a small plan. Bitsets are 64-byte
 * aligned: the word loops then never split a cache line. */
typedef struct lane_scratch {
    uint64_t (*bufs)[BM_WORDS];
    uint32_t nbufs;
    uint64_t (*w)[BM_WORDS];
    uint16_t *vals;
    uint8_t *bytes;              /* all zero between uses */
    bool busy;
} lane_scratch;

typedef struct ectx {
    segdb_t *db;
    plan *p;
    const roaring_bitmap_t *U;
    int uidx;                    /* universe container of the current chunk, or -1 */
    uint16_t key;
    uint64_t (*bufs)[BM_WORDS];  /* scratch, one per depth */
    uint32_t nbufs;
    uint64_t *w;                 /* one more bitset: the chunk's result */
    uint16_t *vals;              /* 65536 scratch values for edge scans */
    uint8_t *bytes;              /* 65536 zeroed bytes for many-array ORs (lazy when owned) */
    lane_scratch *scr;           /* borrowed from the handle, or NULL (buffers owned) */
    int lane;                    /* which of the plan nodes' cursor sets this context uses */
    bool oom;
} ectx;

typedef struct rowvec {
    uint32_t *v;
    size_t n, cap;
} rowvec;

static int rv_push(rowvec *rv, uint32_t row)
{
    if (rv->n == rv->cap) {
        size_t nc = rv->cap ? rv->cap * 2 : 256;
        uint32_t *a = realloc(rv->v, nc * sizeof *a);
        if (!a) return SEGDB_ENOMEM;
        rv->v = a;
        rv->cap = nc;
    }
    rv->v[rv->n++] = row;
    return SEGDB_OK;
}

/* Room for n more rows. */
static int rv_reserve(rowvec *rv, size_t n)
{
    if (rv->n + n <= rv->cap) return SEGDB_OK;
    size_t nc = rv->cap ? rv->cap : 256;
    while (nc < rv->n + n) nc *= 2;
    uint32_t *a = realloc(rv->v, nc * sizeof *a);
    if (!a) return SEGDB_ENOMEM;
    rv->v = a;
    rv->cap = nc;
    return SEGDB_OK;
}

/* Appends n (> 0) rows. */
static int rv_append(rowvec *rv, const uint32_t *rows, size_t n)
{
    if (rv_reserve(rv, n)) return SEGDB_ENOMEM;
    memcpy(rv->v + rv->n, rows, n * sizeof *rows);
    rv->n += n;
    return SEGDB_OK;
}

/* Scratch buffers are allocated up front (never moved while eval holds
 * pointers into them): a node at depth d uses buffers d+1 .. d+2. */
static uint64_t *scratch(ectx *c, uint32_t depth)
{
    if (depth >= c->nbufs) { c->oom = true; return NULL; }
    return c->bufs[depth];
}

static uint32_t tree_depth(const pnode *n)
{
    uint32_t d = 0;
    for (uint32_t i = 0; i < n->nkids; i++) {
        uint32_t k = tree_depth(n->kids[i]);
        if (k > d) d = k;
    }
    return d + 1;
}

/* A context without buffers: enough for count_node's single-call answers,
 * lane planning and EXPLAIN (which evaluate through lanes). */
static void ectx_plain(ectx *c, segdb_t *db, plan *p)
{
    memset(c, 0, sizeof *c);
    c->db = db;
    c->p = p;
    c->U = p->universe;
}

static lane_scratch *lane_scratch_of(segdb_t *db, int lane);

/* A context that can evaluate chunks, on lane `lane`: borrows the lane's
 * scratch when it is free, else owns its buffers. */
static int ectx_init(ectx *c, segdb_t *db, plan *p, int lane)
{
    ectx_plain(c, db, p);
    c->lane = lane;
    uint32_t need = 2 * tree_depth(p->root) + 6;
    lane_scratch *s = lane_scratch_of(db, lane);
    if (s && !s->busy) {
        if (s->nbufs < need) {
            free(s->bufs);
            s->bufs = aligned_alloc(64, (size_t)need * sizeof *s->bufs);
            s->nbufs = s->bufs ? need : 0;
        }
        if (!s->w) s->w = aligned_alloc(64, sizeof *s->w);
        if (!s->vals) s->vals = aligned_alloc(64, 65536 * sizeof *s->vals);
        if (!s->bytes && (s->bytes = aligned_alloc(64, BM_CHUNK_BITS))) memset(s->bytes, 0, BM_CHUNK_BITS);
        if (s->nbufs >= need && s->w && s->vals && s->bytes) {
            s->busy = true;
            c->scr = s;
            c->bufs = s->bufs;
            c->nbufs = s->nbufs;
            c->w = *s->w;
            c->vals = s->vals;
            c->bytes = s->bytes;
            return SEGDB_OK;
        }
    }
    c->nbufs = need;
    c->bufs = aligned_alloc(64, (size_t)c->nbufs * sizeof *c->bufs);
    c->w = aligned_alloc(64, BM_WORDS * sizeof *c->w);
    c->vals = aligned_alloc(64, 65536 * sizeof *c->vals);
    if (!c->vals || !c->bufs || !c->w) {
        free(c->vals);
        free(c->bufs);
        free(c->w);
        return SEGDB_ENOMEM;
    }
    return SEGDB_OK;
}

static void ectx_free(ectx *c)
{
    if (c->scr) {
        c->scr->busy = false;
        return;
    }
    free(c->bufs);
    free(c->w);
    free(c->vals);
    free(c->bytes);
}

static int *cursors_of(ectx *c, uint32_t count, int **lanes)
{
    int **slot = &lanes[c->lane];
    if (!*slot) *slot = calloc(count ? count : 1, sizeof **slot);
    return *slot;
}

static bool eval(ectx *c, pnode *n, uint32_t depth, uint64_t *w);

/* Rows of a range term in this chunk. With a mask (the running result of an
 * AND), edge rows outside the mask are not looked up: their bits don't
 * matter, and each lookup is a likely cache miss in the value column. */
static bool eval_range(ectx *c, pnode *n, uint64_t *w, const uint64_t *mask)
{
    rcover *cv = &n->cover;
    int *cur = cursors_of(c, cv->nfull + cv->nsub + cv->nedge, n->edge_cursors);
    if (!cur) { c->oom = true; bm_words_zero(w); return false; }
    bm_words_zero(w);
    bool any = false;
    for (uint32_t i = 0; i < cv->nfull; i++) {
        int idx = bm_find_chunk(cv->full[i], c->key, &cur[i]);
        if (idx < 0) continue;
        bm_chunk_or(cv->full[i], idx, w);
        any = true;
    }
    for (uint32_t i = 0; any && i < cv->nsub; i++) {
        int idx = bm_find_chunk(cv->sub[i], c->key, &cur[cv->nfull + i]);
        if (idx >= 0) bm_chunk_andnot(cv->sub[i], idx, w);
    }
    const field *f = n->f;
    uint32_t base = (uint32_t)c->key << 16;
    int *ecur = cur + cv->nfull + cv->nsub;
    /* integer bounds of the range, for the column loops below */
    int64_t lov = (int64_t)(n->lo ^ (UINT64_C(1) << 63)), hiv = (int64_t)(n->hi ^ (UINT64_C(1) << 63));
    for (uint32_t i = 0; i < cv->nedge; i++) {
        int idx = bm_find_chunk(cv->edge[i], c->key, &ecur[i]);
        if (idx < 0) continue;
        uint32_t m = bm_chunk_values(cv->edge[i], idx, c->vals);
        if (mask) {
            uint32_t kept = 0;
            for (uint32_t k = 0; k < m; k++) {
                uint16_t x = c->vals[k];
                c->vals[kept] = x;
                kept += (uint32_t)(mask[x >> 6] >> (x & 63) & 1);
            }
            m = kept;
        }
        const uint16_t *v = c->vals;
        uint64_t hit = 0;
        /* each edge row's bit becomes exactly "value in range" (set or cleared) */
#define EDGE_LOOP(EXPR)                                                                     \
        for (uint32_t k = 0; k < m; k++) {                                                  \
            uint32_t row = base | v[k];                                                     \
            uint64_t in = (EXPR);                                                           \
            uint64_t bit = UINT64_C(1) << (v[k] & 63), *wd = &w[v[k] >> 6];                 \
            *wd = (*wd & ~bit) | (bit & (0 - in));                                          \
            hit |= in;                                                                      \
        }
        if (f->i32) {
            const int32_t *col = f->i32;
            EDGE_LOOP((uint64_t)(col[row] >= lov && col[row] <= hiv))
        } else if (f->i16) {
            const int16_t *col = f->i16;
            EDGE_LOOP((uint64_t)(col[row] >= lov && col[row] <= hiv))
        } else if (f->i64 && !f->ids_ref) {
            const int64_t *col = f->i64;
            EDGE_LOOP((uint64_t)(col[row] >= lov && col[row] <= hiv))
        } else {
            EDGE_LOOP((uint64_t)(field_key(f, row) >= n->lo && field_key(f, row) <= n->hi))
        }
#undef EDGE_LOOP
        if (hit) any = true;
    }
    return any;
}

static bool load_universe(ectx *c, uint64_t *w)
{
    if (c->uidx < 0) { bm_words_zero(w); return false; }
    bm_chunk_load(c->U, c->uidx, w);
    return true;
}

static bool eval(ectx *c, pnode *n, uint32_t depth, uint64_t *w)
{
    switch (n->kind) {
    case P_EMPTY:
        bm_words_zero(w);
        return false;
    case P_ALL:
        return load_universe(c, w);
    case P_BITMAP:
    case P_OWNED: {
        int *cur = cursors_of(c, n->nbms, n->cursors);
        int idx = cur ? bm_find_chunk(n->bms[0], c->key, cur) : bm_find_chunk(n->bms[0], c->key, NULL);
        if (idx < 0) { bm_words_zero(w); return false; }
        bm_chunk_load(n->bms[0], idx, w);
        return true;
    }
    case P_BITMAPS: {
        int *cur = cursors_of(c, n->nbms, n->cursors);
        /* Many streams at once (containers are separate 8 KB blocks the
         * hardware prefetcher keeps losing): each bitmap's container of the
         * next chunk is asked for as this chunk's is combined (every other
         * line; the adjacent-line prefetcher brings its pair). Measured in one
         * bulk-loaded 10M process: q_or20 3.44 ms without, 3.15 with; two
         * chunks ahead was slower (3.57 against 3.42). Asking the same for
         * every leaf of every plan slowed the small ANDs. */
        bool ahead = n->nbms >= 4 && cur;
        bm_words_zero(w);
        bool any = false;
        uint32_t arrays = 0;
        for (uint32_t i = 0; i < n->nbms; i++) {
            if (ahead) {
                int nc = cur[i];
                int nidx = bm_find_chunk(n->bms[i], (uint16_t)(c->key + 1), &nc);
                if (nidx >= 0) bm_chunk_prefetch(n->bms[i], nidx);
            }
            int idx = bm_find_chunk(n->bms[i], c->key, cur ? &cur[i] : NULL);
            if (idx < 0) continue;
            any = true;
            if (n->nbms >= 4 && bm_chunk_type(n->bms[i], idx) == 2) {
                arrays++;
                continue; /* second pass */
            }
            bm_chunk_or(n->bms[i], idx, w);
        }
        if (arrays) {
            /* many array containers: mark bytes (independent stores), then fold */
            if (!c->bytes && !(c->bytes = calloc(BM_CHUNK_BITS, 1))) { c->oom = true; return any; }
            for (uint32_t i = 0; i < n->nbms; i++) {
                int idx = bm_find_chunk(n->bms[i], c->key, cur ? &cur[i] : NULL);
                if (idx >= 0 && bm_chunk_type(n->bms[i], idx) == 2) {
                    if (arrays == 1) bm_chunk_or(n->bms[i], idx, w);
                    else bm_chunk_mark_bytes(n->bms[i], idx, c->bytes);
                }
            }
            if (arrays > 1) bm_bytes_or_into(w, c->bytes);
        }
        return any;
    }
    case P_RANGE:
        return eval_range(c, n, w, NULL);
    case P_NOT: {
        if (!load_universe(c, w)) return false;
        uint64_t *t = scratch(c, depth + 1);
        if (!t) return false;
        if (eval(c, n->kids[0], depth + 1, t)) bm_words_andnot(w, t);
        return bm_words_any(w);
    }
    case P_AND: {
        if (!eval(c, n->kids[0], depth + 1, w)) return false;
        for (uint32_t i = 1; i < n->nkids; i++) {
            pnode *k = n->kids[i];
            if (k->kind == P_BITMAP || k->kind == P_OWNED) {
                int *cur = cursors_of(c, k->nbms, k->cursors);
                int idx = bm_find_chunk(k->bms[0], c->key, cur);
                if (idx < 0) { bm_words_zero(w); return false; }
                bm_chunk_and(k->bms[0], idx, w);
            } else if (k->kind == P_NOT && (k->kids[0]->kind == P_BITMAP || k->kids[0]->kind == P_OWNED)) {
                pnode *x = k->kids[0];
                int *cur = cursors_of(c, x->nbms, x->cursors);
                int idx = bm_find_chunk(x->bms[0], c->key, cur);
                if (idx >= 0) bm_chunk_andnot(x->bms[0], idx, w);
            } else if (k->kind == P_RANGE) {
                uint64_t *t = scratch(c, depth + 1);
                if (!t) return false;
                if (!eval_range(c, k, t, w)) { bm_words_zero(w); return false; }
                bm_words_and(w, t);
            } else {
                uint64_t *t = scratch(c, depth + 1);
                if (!t) return false;
                if (k->kind == P_NOT) {
                    if (eval(c, k->kids[0], depth + 2, t)) bm_words_andnot(w, t);
                } else {
                    if (!eval(c, k, depth + 2, t)) { bm_words_zero(w); return false; }
                    bm_words_and(w, t);
                }
            }
            if (!bm_words_any(w)) return false;
        }
        return true;
    }
    case P_OR: {
        bm_words_zero(w);
        bool any = false;
        uint64_t *t = NULL;
        for (uint32_t i = 0; i < n->nkids; i++) {
            pnode *k = n->kids[i];
            if (k->kind == P_BITMAP || k->kind == P_OWNED) {
                int *cur = cursors_of(c, k->nbms, k->cursors);
                int idx = bm_find_chunk(k->bms[0], c->key, cur);
                if (idx < 0) continue;
                bm_chunk_or(k->bms[0], idx, w);
                any = true;
                continue;
            }
            if (!t) t = scratch(c, depth + 1);
            if (!t) return false;
            if (eval(c, k, depth + 2, t)) {
                bm_words_or(w, t);
                any = true;
            }
        }
        return any;
    }
    }
    return false;
}

/* Evaluate n for chunk i of the universe into w, ANDed with the universe. */
static uint32_t eval_chunk(ectx *c, pnode *n, int uidx, uint64_t *w)
{
    c->uidx = uidx;
    c->key = bm_chunk_key(c->U, uidx);
    if (!eval(c, n, 1, w)) return 0;
    /* a chunk with every row live (one full run) leaves w as it is */
    if (!bm_chunk_full(c->U, uidx)) bm_chunk_and(c->U, uidx, w);
    return bm_words_popcount(w);
}

/* ---- lanes: a query's chunks split over threads ---------------------------
 *
 * A count over many chunks reads tens of MB of containers;
 * one core's memory bandwidth is the limit, so the chunks are evaluated by up
 * to EXEC_MAX_LANES threads (the calling thread runs lane 0, the handle's
 * worker threads the others), each with its own context and the plan nodes'
 * cursor set of its lane. A count's lanes claim a few chunks at a time from a
 * shared counter; row jobs get contiguous ranges, so their results concatenate
 * in order. Plans and indexes are only read while lanes run; the caller waits
 * for all lanes. */

typedef struct lane_job {
    segdb_t *db;
    plan *p;
    pnode *n;
    const roaring_bitmap_t *mask; /* exec_rows: restrict to these rows (may be NULL) */
    bool rows;                    /* build a bitmap (out) rather than count */
    bool list;                    /* with rows: append row positions to vec instead */
    rowvec vec;
    int lane, from, to;           /* universe chunks [from, to) */
    int *claim;                   /* counts only: lanes share [from, to) and claim
                                   * claim_n chunks at a time from *claim */
    int claim_n;
    uint64_t count;
    roaring_bitmap_t *out;
    bool oom;
    void (*task)(void *);         /* exec_run_tasks: run task(task_arg) instead of a lane */
    void *task_arg;
} lane_job;

/* Chunks a counting lane claims at once, at most: lanes run at different
 * speeds (a worker waking up, a busy core), so a fixed half each left the
 * caller waiting up to a sixth of a 20-tag OR at 10M; a few chunks per claim
 * keep the atomic rare and each lane's streams long. Small universes claim
 * fewer, so that every lane gets some (count_node). */
#define LANE_CLAIM_CHUNKS 4

static void run_lane_job(lane_job *j);

static void run_lane(lane_job *j)
{
    if (j->task) {
        j->task(j->task_arg);
        return;
    }
    run_lane_job(j);
}

static void run_lane_job(lane_job *j)
{
    ectx c;
    if (ectx_init(&c, j->db, j->p, j->lane)) { j->oom = true; return; }
    uint64_t *w = c.w;
    if (j->claim) {
        /* claimed blocks ascend, so the lane's cursors only move forward */
        for (;;) {
            int i = __atomic_fetch_add(j->claim, j->claim_n, __ATOMIC_RELAXED);
            if (i >= j->to || c.oom) break;
            int end = i + j->claim_n < j->to ? i + j->claim_n : j->to;
            for (; i < end; i++) j->count += eval_chunk(&c, j->n, i, w);
        }
        if (c.oom) j->oom = true;
        ectx_free(&c);
        return;
    }
    if (j->rows && !j->list && !(j->out = roaring_bitmap_create())) c.oom = true;
    int mcur = 0;
    for (int i = j->from; i < j->to && !c.oom; i++) {
        if (!j->rows) {
            j->count += eval_chunk(&c, j->n, i, w);
            continue;
        }
        int midx = -1;
        if (j->mask && (midx = bm_find_chunk(j->mask, bm_chunk_key(c.U, i), &mcur)) < 0) continue;
        if (!eval_chunk(&c, j->n, i, w)) continue;
        uint16_t key = bm_chunk_key(c.U, i);
        uint32_t m;
        if (j->mask && bm_chunk_card(j->mask, midx) <= 4096) {
            /* a sparse mask (a time bucket's rows): test just its rows */
            m = bm_chunk_select(j->mask, midx, w, c.vals);
            if (!m) continue;
            if (!j->list) { bm_append_values(j->out, key, c.vals, m); continue; }
        } else {
            if (j->mask) bm_chunk_and(j->mask, midx, w);
            uint32_t card = bm_words_popcount(w);
            if (!card) continue;
            if (!j->list) { bm_append_words(j->out, key, w, card); continue; }
            m = bm_words_positions(w, c.vals);
        }
        uint32_t base = (uint32_t)key << 16, *rows = (uint32_t *)c.bufs[0];
        for (uint32_t k = 0; k < m && !c.oom; k += 2048) { /* a scratch bitset holds 2048 rows */
            uint32_t nb = m - k < 2048 ? m - k : 2048;
            for (uint32_t x = 0; x < nb; x++) rows[x] = base | c.vals[k + x];
            if (rv_append(&j->vec, rows, nb)) c.oom = true;
        }
    }
    if (c.oom) j->oom = true;
    ectx_free(&c);
}

/* Fills count jobs for n over c's universe (exec_rows turns them into row
 * jobs) and returns how many lanes to use: one
 * unless the universe spans at least parallel_min_rows rows and the options
 * allow more threads; each lane gets at least one chunk. */
static int split_lanes(ectx *c, pnode *n, lane_job *jobs)
{
    int nu = bm_chunk_count(c->U);
    int nl = (int)c->db->opt.query_threads;
    if (nl > EXEC_MAX_LANES) nl = EXEC_MAX_LANES;
    if (nl > nu) nl = nu;
    if (nl < 1 || (uint64_t)nu * BM_CHUNK_BITS < c->db->opt.parallel_min_rows) nl = 1;
    for (int l = 0; l < nl; l++)
        jobs[l] = (lane_job){.db = c->db, .p = c->p, .n = n, .lane = l, .from = (int)((int64_t)nu * l / nl),
                             .to = (int)((int64_t)nu * (l + 1) / nl)};
    return nl;
}

/* Worker threads live as long as the handle: lane l > 0 of every parallel
 * count runs on worker l - 1, woken by a generation counter (written under
 * mu, also read without it while polling). */
typedef struct exec_pool {
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    pthread_t th[EXEC_MAX_LANES - 1];
    int nthreads;
    lane_job *jobs[EXEC_MAX_LANES - 1]; /* this generation's job per worker, or NULL */
    uint64_t gen;
    uint64_t warm;               /* exec_warm's calls: wakes sleepers to spin */
    int sleeping;                /* workers waiting on go */
    int pending;
    bool stop;
    lane_scratch scr[EXEC_MAX_LANES];
} exec_pool;

typedef struct worker_arg {
    exec_pool *pool;
    int k;
} worker_arg;

/* Waking a sleeping thread costs tens of microseconds (on a VM, an idle
 * vCPU), as much as a small query's whole lane: a worker polls for the next
 * job a little before it sleeps (queries come in bursts), and the caller
 * polls for its workers to finish before it sleeps. */
#define WORKER_IDLE_SPINS 5000u    /* ~100 us of pause instructions */
#define CALLER_WAIT_SPINS 100000u  /* ~2 ms */

static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg)
{
    exec_pool *pool = ((worker_arg *)arg)->pool;
    int k = ((worker_arg *)arg)->k;
    free(arg);
    uint64_t seen = 0;
    for (;;) {
        for (uint32_t i = 0; i < WORKER_IDLE_SPINS && __atomic_load_n(&pool->gen, __ATOMIC_ACQUIRE) == seen &&
                             !__atomic_load_n(&pool->stop, __ATOMIC_ACQUIRE); i++)
            spin_pause();
        pthread_mutex_lock(&pool->mu);
        uint64_t warm = pool->warm;
        pool->sleeping++;
        while (!pool->stop && pool->gen == seen && pool->warm == warm) pthread_cond_wait(&pool->go, &pool->mu);
        pool->sleeping--;
        if (pool->stop) break;
        if (pool->gen == seen) {
            /* exec_warm: spin again, work is on its way */
            pthread_mutex_unlock(&pool->mu);
            continue;
        }
        seen = pool->gen;
        lane_job *j = pool->jobs[k];
        pool->jobs[k] = NULL;
        pthread_mutex_unlock(&pool->mu);
        if (!j) continue;
        run_lane(j);
        pthread_mutex_lock(&pool->mu);
        if (__atomic_sub_fetch(&pool->pending, 1, __ATOMIC_RELEASE) == 0) pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->mu);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

/* The handle's pool, created on first use, with at least want workers when
 * they can be started (callers check nthreads); NULL on ENOMEM. Only the
 * handle's calling thread creates it or starts workers. */
static exec_pool *pool_get(segdb_t *db, int want)
{
    exec_pool *pool = db->pool;
    if (!pool) {
        if (!(pool = calloc(1, sizeof *pool))) return NULL;
        pthread_mutex_init(&pool->mu, NULL);
        pthread_cond_init(&pool->go, NULL);
        pthread_cond_init(&pool->done, NULL);
        db->pool = pool;
    }
    while (pool->nthreads < want) {
        worker_arg *a = malloc(sizeof *a);
        if (!a) break;
        *a = (worker_arg){pool, pool->nthreads};
        /* workers take no signals: a process's SIGTERM must reach the thread
         * that waits for it (segdb-server's signalfd), not a worker, whose
         * default action would end the process; the mask is inherited */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int prc = pthread_create(&pool->th[pool->nthreads], NULL, worker_main, a);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (prc != 0) {
            free(a);
            break;
        }
        pool->nthreads++;
    }
    return pool;
}

/* Lane 0 runs on the calling thread, which may create the pool; other lanes
 * run on workers of an existing pool. */
static lane_scratch *lane_scratch_of(segdb_t *db, int lane)
{
    exec_pool *pool = lane == 0 ? pool_get(db, 0) : db->pool;
    return pool ? &pool->scr[lane] : NULL;
}

void exec_pool_free(segdb_t *db)
{
    exec_pool *pool = db->pool;
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    __atomic_store_n(&pool->stop, true, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&pool->go);
    pthread_mutex_unlock(&pool->mu);
    for (int k = 0; k < pool->nthreads; k++) pthread_join(pool->th[k], NULL);
    for (int l = 0; l < EXEC_MAX_LANES; l++) {
        free(pool->scr[l].bufs);
        free(pool->scr[l].w);
        free(pool->scr[l].vals);
        free(pool->scr[l].bytes);
    }
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->go);
    pthread_cond_destroy(&pool->done);
    free(pool);
    db->pool = NULL;
}

/* Runs jobs[0] here and the others on the pool's workers (jobs no worker
 * takes run here too); returns when all are done. */
static void run_lanes(segdb_t *db, lane_job *jobs, int nl)
{
    exec_pool *pool = nl > 1 ? pool_get(db, nl - 1) : NULL;
    int given = 0;
    if (pool && pool->nthreads) {
        pthread_mutex_lock(&pool->mu);
        for (int l = 1; l < nl && l - 1 < pool->nthreads; l++) {
            pool->jobs[l - 1] = &jobs[l];
            given++;
        }
        __atomic_store_n(&pool->pending, given, __ATOMIC_RELEASE);
        __atomic_store_n(&pool->gen, pool->gen + 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&pool->go);
        pthread_mutex_unlock(&pool->mu);
    }
    run_lane(&jobs[0]);
    for (int l = 1 + given; l < nl; l++) run_lane(&jobs[l]);
    if (given) {
        for (uint32_t i = 0; i < CALLER_WAIT_SPINS && __atomic_load_n(&pool->pending, __ATOMIC_ACQUIRE); i++)
            spin_pause();
        pthread_mutex_lock(&pool->mu);
        while (pool->pending) pthread_cond_wait(&pool->done, &pool->mu);
        pthread_mutex_unlock(&pool->mu);
    }
}

void exec_warm(segdb_t *db)
{
    exec_pool *pool = db->pool;
    if (!pool || !pool->nthreads || !__atomic_load_n(&pool->sleeping, __ATOMIC_RELAXED)) return;
    pthread_mutex_lock(&pool->mu);
    pool->warm++;
    pthread_cond_broadcast(&pool->go);
    pthread_mutex_unlock(&pool->mu);
}

int exec_threads(const segdb_t *db)
{
    int t = (int)db->opt.query_threads;
    return t < 1 ? 1 : t > EXEC_MAX_LANES ? EXEC_MAX_LANES : t;
}

void exec_run_tasks(segdb_t *db, void (*fn)(void *), void *const *args, int n)
{
    if (n <= 0) return;
    lane_job jobs[EXEC_MAX_LANES];
    int nl = n < exec_threads(db) ? n : exec_threads(db);
    for (int l = 0; l < nl; l++) jobs[l] = (lane_job){.db = db, .task = fn, .task_arg = args[l]};
    run_lanes(db, jobs, nl);
    for (int i = nl; i < n; i++) fn(args[i]); /* beyond the threads: here, after */
}

/* True when every index bitmap is inside the universe (no archived rows to
 * exclude), so one CRoaring call can answer a count exactly. */
static bool indexes_in_universe(segdb_t *db, plan *p)
{
    return p->with_archived || roaring_bitmap_is_empty(db->archived);
}

static bool plain(const pnode *n) { return n->kind == P_BITMAP || n->kind == P_OWNED; }

static uint64_t count_node(ectx *c, pnode *n)
{
    segdb_t *db = c->db;
    plan *p = c->p;
    if (n->kind == P_EMPTY) return 0;
    if (n->kind == P_ALL) return roaring_bitmap_get_cardinality(c->U);
    if (indexes_in_universe(db, p)) {
        if (plain(n)) return roaring_bitmap_get_cardinality(n->bms[0]);
        if (n->kind == P_AND && n->nkids == 2 && plain(n->kids[0])) {
            pnode *b = n->kids[1];
            if (plain(b)) return bm_and_card(n->kids[0]->bms[0], b->bms[0]);
            if (b->kind == P_NOT && plain(b->kids[0]))
                return bm_andnot_card(n->kids[0]->bms[0], b->kids[0]->bms[0]);
        }
        if (n->kind == P_NOT && plain(n->kids[0]))
            return roaring_bitmap_get_cardinality(c->U) - roaring_bitmap_get_cardinality(n->kids[0]->bms[0]);
        if (n->kind == P_RANGE && n->cover.nedge == 0 && n->cover.nsub == 0) return n->cover.full_card;
    }
    lane_job jobs[EXEC_MAX_LANES];
    int nl = split_lanes(c, n, jobs);
    int claim = 0;
    if (nl > 1) {
        int nu = bm_chunk_count(c->U), per = nu / (nl * 8);
        if (per < 1) per = 1;
        if (per > LANE_CLAIM_CHUNKS) per = LANE_CLAIM_CHUNKS;
        for (int l = 0; l < nl; l++) {
            jobs[l].from = 0;
            jobs[l].to = nu;
            jobs[l].claim = &claim;
            jobs[l].claim_n = per;
        }
    }
    run_lanes(c->db, jobs, nl);
    uint64_t total = 0;
    for (int l = 0; l < nl; l++) {
        total += jobs[l].count;
        if (jobs[l].oom) c->oom = true;
    }
    return total;
}

uint64_t exec_count(segdb_t *db, plan *p)
{
    ectx c;
    ectx_plain(&c, db, p);
    return count_node(&c, p->root);
}

/* Jobs that build the rows of p (under mask): split over lanes only under a
 * small mask. Building a large bitmap allocates (and page-faults) its
 * containers and merging lanes copies them, which cost more than a second
 * core saves (FIND's page 0.64 -> 0.99 ms at 10M when its whole result was
 * built split). */
static int row_jobs(segdb_t *db, plan *p, const roaring_bitmap_t *mask, bool list, lane_job *jobs)
{
    int nl = 1;
    if (mask && roaring_bitmap_get_cardinality(mask) * 16 < roaring_bitmap_get_cardinality(p->universe)) {
        ectx c;
        ectx_plain(&c, db, p);
        nl = split_lanes(&c, p->root, jobs);
    } else {
        jobs[0] = (lane_job){.db = db, .p = p, .n = p->root, .to = bm_chunk_count(p->universe)};
    }
    for (int l = 0; l < nl; l++) {
        jobs[l].mask = mask;
        jobs[l].rows = true;
        jobs[l].list = list;
    }
    run_lanes(db, jobs, nl);
    return nl;
}

roaring_bitmap_t *exec_rows(segdb_t *db, plan *p, const roaring_bitmap_t *mask)
{
    lane_job jobs[EXEC_MAX_LANES];
    int nl = row_jobs(db, p, mask, false, jobs);
    bool oom = false;
    for (int l = 0; l < nl; l++) oom |= jobs[l].oom;
    /* lanes hold increasing chunk ranges: each OR appends containers at the end */
    roaring_bitmap_t *r = jobs[0].out;
    for (int l = 1; l < nl && !oom && r; l++) roaring_bitmap_or_inplace(r, jobs[l].out);
    for (int l = 1; l < nl; l++)
        if (jobs[l].out) roaring_bitmap_free(jobs[l].out);
    if (oom && r) {
        roaring_bitmap_free(r);
        r = NULL;
    }
    return r;
}

/* The rows of p under mask appended to out (ascending within this call):
 * FIND's candidates, without building a bitmap. */
static int exec_rows_into(segdb_t *db, plan *p, const roaring_bitmap_t *mask, rowvec *out)
{
    lane_job jobs[EXEC_MAX_LANES];
    int nl = row_jobs(db, p, mask, true, jobs);
    int rc = SEGDB_OK;
    for (int l = 0; l < nl; l++) {
        if (jobs[l].oom) rc = SEGDB_ENOMEM;
        if (!rc && jobs[l].vec.n) rc = rv_append(out, jobs[l].vec.v, jobs[l].vec.n);
        free(jobs[l].vec.v);
    }
    return rc;
}

/* ---- FIND ----------------------------------------------------------------- */

typedef struct cand {
    uint32_t row;
    uint64_t key;       /* numeric sort key (order-preserving) */
    const char *skey;   /* string sort key (folded), or NULL */
    bool missing;
    uint64_t id;
} cand;

static int cmp_cand(const void *a, const void *b, void *ctx)
{
    const cand *x = a, *y = b;
    bool g_desc = *(const bool *)ctx;
    if (x->missing != y->missing) return x->missing ? 1 : -1; /* lacking the field: last */
    int r = 0;
    if (x->skey || y->skey) r = strcmp(x->skey ? x->skey : "", y->skey ? y->skey : "");
    else r = x->key < y->key ? -1 : x->key > y->key;
    if (g_desc) r = -r;
    if (r) return r;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Move the k smallest candidates (by cmp_cand) to cs[0..k), in any order:
 * quickselect, so a page of 50 out of thousands costs linear time. */
static bool select_first(cand *cs, uint64_t n, uint64_t k, void *ctx)
{
    uint64_t lo = 0, hi = n;
    while (hi - lo > 1 && k > lo && k < hi) {
        /* the lower middle: with Hoare's scheme j then stays below hi - 1 */
        cand pivot = cs[lo + (hi - 1 - lo) / 2];
        uint64_t i = lo, j = hi - 1;
        for (;;) {
            while (cmp_cand(&cs[i], &pivot, ctx) < 0) i++;
            while (cmp_cand(&cs[j], &pivot, ctx) > 0) j--;
            if (i >= j) break;
            cand t = cs[i];
            cs[i] = cs[j];
            cs[j] = t;
            i++;
            j--;
        }
        /* cs[lo..j] <= pivot <= cs[j+1..hi) */
        if (j + 1 >= hi) return false; /* no progress: the caller sorts everything */
        if (k <= j + 1) hi = j + 1;
        else lo = j + 1;
    }
    return true;
}

static void fill_key(segdb_t *db, const field *f, bool present, cand *cd)
{
    uint32_t row = cd->row;
    /* ties go by id; when ids ascend with rows the row is that order, and
     * reading it costs no cache miss */
    cd->id = db->ids_ascending ? row : db->ids[row];
    if (!f || f->id == F_ID) { cd->key = cd->id; return; }
    if (!present && !store_has(f, row)) { cd->missing = true; return; }
    switch (f->kind) {
    case SEGDB_KIND_TEXT: cd->skey = f->text->fold + f->text->fold_off[f->text->row_code[row]]; break;
    case SEGDB_KIND_CATEGORY: cd->skey = f->dict.folded[field_code(f, row)]; break;
    case SEGDB_KIND_ENUM:
    case SEGDB_KIND_BOOL: cd->key = f->codes8[row]; break;
    default: cd->key = field_key(f, row); break;
    }
}

/* Candidates are rows scattered over columns of tens of MB: each key costs
 * cache misses, so a block's id and value addresses are prefetched before its
 * keys are read (the misses then overlap). */
#define KEY_BLOCK 64

static void prefetch_keys(segdb_t *db, const field *f, const uint32_t *rows, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint32_t row = rows[i];
        if (!db->ids_ascending || !f || f->id == F_ID) __builtin_prefetch(&db->ids[row]);
        if (!f) continue;
        if (f->i32) __builtin_prefetch(&f->i32[row]);
        else if (f->i16) __builtin_prefetch(&f->i16[row]);
        else if (f->i64) __builtin_prefetch(&f->i64[row]);
        else if (f->f64) __builtin_prefetch(&f->f64[row]);
        else if (f->codes32) __builtin_prefetch(&f->codes32[row]);
        else if (f->codes8) __builtin_prefetch(&f->codes8[row]);
    }
}

/* Sort the n candidate rows by field f and append [skip, skip+take) to out.
 * present: every row is known to have f (rows of its range index). */
static int sort_rows(segdb_t *db, const uint32_t *rows, uint64_t n, const field *f, bool present, bool desc,
                     uint64_t skip, uint64_t take, rowvec *out)
{
    if (skip >= n || take == 0) return SEGDB_OK;
    cand *cs = malloc((n ? n : 1) * sizeof *cs);
    if (!cs) return SEGDB_ENOMEM;
    prefetch_keys(db, f, rows, n < KEY_BLOCK ? n : KEY_BLOCK);
    for (uint64_t b = 0; b < n; b += KEY_BLOCK) {
        if (b + KEY_BLOCK < n) prefetch_keys(db, f, rows + b + KEY_BLOCK, n - b - KEY_BLOCK < KEY_BLOCK ? n - b - KEY_BLOCK : KEY_BLOCK);
        for (uint64_t i = b; i < n && i < b + KEY_BLOCK; i++) {
            memset(&cs[i], 0, sizeof cs[i]);
            cs[i].row = rows[i];
            fill_key(db, f, present, &cs[i]);
        }
    }
    uint64_t need = skip + take < n ? skip + take : n;
    /* only the page's ranks need order: select them, then sort just those */
    bool partial = need < n / 4 && select_first(cs, n, need, &desc);
    qsort_r(cs, partial ? need : n, sizeof *cs, cmp_cand, &desc);
    int rc = SEGDB_OK;
    for (uint64_t i = skip; i < n && i < skip + take && !rc; i++) rc = rv_push(out, cs[i].row);
    free(cs);
    return rc;
}

/* sort_rows over the rows of bitmap r. */
static int sort_slice(segdb_t *db, const roaring_bitmap_t *r, const field *f, bool present, bool desc,
                      uint64_t skip, uint64_t take, rowvec *out)
{
    uint64_t n = roaring_bitmap_get_cardinality(r);
    if (skip >= n || take == 0) return SEGDB_OK;
    uint32_t *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) return SEGDB_ENOMEM;
    roaring_bitmap_to_uint32_array(r, rows);
    int rc = sort_rows(db, rows, n, f, present, desc, skip, take, out);
    free(rows);
    return rc;
}

typedef struct walk_ctx {
    segdb_t *db;
    plan *p;
    rowvec acc;              /* matching rows of the buckets evaluated so far */
    roaring_bitmap_t *all;   /* every matching row, once evaluated (NULL before) */
    const roaring_bitmap_t **pending; /* walked buckets not evaluated yet */
    uint32_t npending, pending_cap;
    uint64_t pending_card;
    double pending_expect;   /* the plan's estimate of their matches */
    uint32_t spread_evals;   /* pending groups evaluated alone that spanned most chunks */
    uint64_t ucard;
    uint64_t need;
    bool oom;
} walk_ctx;

/* Evaluates the pending buckets: as ANDs with every matching row once those
 * are known, else alone (the filter restricted to their rows, in lanes). */
static void walk_flush(walk_ctx *w)
{
    if (!w->npending) return;
    roaring_bitmap_t *part;
    if (w->all) {
        for (uint32_t i = 0; i < w->npending && !w->oom; i++) {
            if (!(part = roaring_bitmap_and(w->all, w->pending[i]))) { w->oom = true; break; }
            uint64_t n = roaring_bitmap_get_cardinality(part);
            if (rv_reserve(&w->acc, n)) w->oom = true;
            else {
                roaring_bitmap_to_uint32_array(part, w->acc.v + w->acc.n);
                w->acc.n += n;
            }
            roaring_bitmap_free(part);
        }
    } else {
        roaring_bitmap_t *mask = roaring_bitmap_or_many(w->npending, w->pending);
        if (mask && bm_chunk_count(mask) * 8 >= bm_chunk_count(w->p->universe)) w->spread_evals++;
        if (!mask || exec_rows_into(w->db, w->p, mask, &w->acc)) w->oom = true;
        if (mask) roaring_bitmap_free(mask);
    }
    w->npending = 0;
    w->pending_card = 0;
    w->pending_expect = 0;
}

/* Buckets (newest first for DESC) gather until the plan's estimate says they
 * hold the rows still needed (4x margin), or their rows sit in few chunks;
 * then they are evaluated alone, which costs about one pass over the
 * filter's containers when they are spread. If one such pass did not fill
 * the page (the estimate was high), or the plan's estimate or the gathered
 * buckets pass 1/16 of the rows (a selective filter), the filter is
 * evaluated once over everything and the rest of the walk is ANDs with
 * that. */
static bool walk_bucket(const roaring_bitmap_t *bm, void *ctx)
{
    walk_ctx *w = ctx;
    if (w->npending == w->pending_cap) {
        uint32_t nc = w->pending_cap ? w->pending_cap * 2 : 16;
        const roaring_bitmap_t **np = realloc(w->pending, nc * sizeof *np);
        if (!np) { w->oom = true; return false; }
        w->pending = np;
        w->pending_cap = nc;
    }
    w->pending[w->npending++] = bm;
    uint64_t bcard = roaring_bitmap_get_cardinality(bm);
    w->pending_card += bcard;
    if (w->ucard) w->pending_expect += (double)w->p->root->est * (double)bcard / (double)w->ucard;
    uint64_t have = w->acc.n;
    if (!w->all) {
        bool enough = w->pending_expect >= 4.0 * (double)(w->need - have);
        bool clustered = bm_chunk_count(bm) * 8 < bm_chunk_count(w->p->universe);
        if ((enough || clustered) && (clustered || w->spread_evals == 0)) {
            walk_flush(w);
            return !w->oom && w->acc.n < w->need;
        }
        bool selective = w->p->root->est * 16 < w->ucard; /* few matches: all of them are cheap */
        if (!selective && w->spread_evals == 0 && w->pending_card * 16 < w->ucard) return true;
        if (!(w->all = exec_rows(w->db, w->p, NULL))) { w->oom = true; return false; }
    }
    walk_flush(w);
    have = w->acc.n;
    return !w->oom && have < w->need && have < roaring_bitmap_get_cardinality(w->all); /* else: all found */
}

int exec_find(segdb_t *db, plan *p, const char *sort_field, bool desc, uint64_t offset,
              uint64_t limit, uint32_t **rows_out, size_t *n_out, segdb_err *err)
{
    const field *f = NULL;
    rowvec out = {0};
    int rc = SEGDB_OK;
    if (sort_field) {
        f = store_field(db, sort_field, strlen(sort_field));
        if (!f) return err_set(err, SEGDB_EINVAL, "unknown SORT field '%.64s'", sort_field);
        if (f->kind == SEGDB_KIND_TAGS)
            return err_set(err, SEGDB_EINVAL, "can't SORT by '%s': it holds a set of values", f->name);
        if (f->id == F_ARCHIVED || f->id == F_RELATIONSHIP) {
            /* fine: code order */
        }
    }
    *rows_out = NULL;
    *n_out = 0;
    if (limit == 0) return SEGDB_OK;

    if ((!f || f->id == F_ID) && db->ids_ascending) {
        /* row order is id order: evaluate chunks in order until the page is full */
        ectx c;
        if (ectx_init(&c, db, p, 0)) return err_set(err, SEGDB_ENOMEM, "out of memory");
        uint64_t *w = c.w;
        uint16_t *pos = c.vals; /* free again once a chunk's positions are read */
        int nu = bm_chunk_count(c.U);
        uint64_t skip = offset;
        for (int k = 0; k < nu && out.n < limit && !rc; k++) {
            int i = desc ? nu - 1 - k : k;
            uint32_t card = eval_chunk(&c, p->root, i, w);
            if (!card) continue;
            if (skip >= card) { skip -= card; continue; }
            uint32_t m = bm_words_positions(w, pos);
            uint32_t base = (uint32_t)bm_chunk_key(c.U, i) << 16;
            for (uint32_t j = 0; j < m && out.n < limit && !rc; j++) {
                uint32_t jj = desc ? m - 1 - j : j;
                if (skip) { skip--; continue; }
                rc = rv_push(&out, base | pos[jj]);
            }
        }
        ectx_free(&c);
    } else if (f && f->ridx) {
        /* walk value buckets in order until they hold offset + limit matches */
        walk_ctx wc = {.db = db, .p = p, .ucard = roaring_bitmap_get_cardinality(p->universe),
                       .need = offset + limit};
        rindex_walk(f->ridx, desc, walk_bucket, &wc);
        if (!wc.oom) walk_flush(&wc); /* the last buckets, if the walk ran out */
        free(wc.pending);
        if (wc.oom) rc = SEGDB_ENOMEM;
        uint64_t have = wc.acc.n;
        if (!rc) rc = sort_rows(db, wc.acc.v, wc.acc.n, f, true, desc, offset, limit, &out);
        free(wc.acc.v);
        if (!rc && have < offset + limit) {
            /* then the matching rows that lack the field, by id */
            roaring_bitmap_t *all = wc.all ? wc.all : exec_rows(db, p, NULL);
            wc.all = NULL;
            if (!all) rc = SEGDB_ENOMEM;
            else {
                roaring_bitmap_andnot_inplace(all, f->present);
                uint64_t skip = offset > have ? offset - have : 0;
                rc = sort_slice(db, all, NULL, false, false, skip, limit - out.n, &out);
                roaring_bitmap_free(all);
            }
        }
        if (wc.all) roaring_bitmap_free(wc.all);
    } else {
        roaring_bitmap_t *all = exec_rows(db, p, NULL);
        if (!all) rc = SEGDB_ENOMEM;
        else {
            rc = sort_slice(db, all, f, false, desc, offset, limit, &out);
            roaring_bitmap_free(all);
        }
    }
    if (rc) {
        free(out.v);
        return err_set(err, rc, "out of memory");
    }
    *rows_out = out.v;
    *n_out = out.n;
    return SEGDB_OK;
}

/* ---- EXPLAIN -------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_printf(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *s, const char *fmt, ...)
{
    if (s->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { s->oom = true; return; }
        if (s->p && s->len + (size_t)n < s->cap) { s->len += (size_t)n; return; }
        size_t nc = s->cap ? s->cap * 2 : 1024;
        while (nc < s->len + (size_t)n + 1) nc *= 2;
        char *q = realloc(s->p, nc);
        if (!q) { s->oom = true; return; }
        s->p = q;
        s->cap = nc;
    }
}

static const char *kind_word(const pnode *n)
{
    switch (n->kind) {
    case P_EMPTY: return "EMPTY";
    case P_ALL: return "UNIVERSE";
    case P_BITMAP: return "BITMAP";
    case P_BITMAPS: return "OR-BITMAPS";
    case P_OWNED: return "MATCHED";
    case P_RANGE: return "RANGE";
    case P_AND: return "AND";
    case P_OR: return "OR";
    case P_NOT: return "NOT";
    }
    return "?";
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void explain_node(ectx *c, pnode *n, int depth, sbuf *s)
{
    double t0 = now_ms();
    uint64_t card = count_node(c, n);
    double ms = now_ms() - t0;
    sb_printf(s, "%*s%s", depth * 2, "", kind_word(n));
    if (n->label) sb_printf(s, " %s", n->label);
    if (n->kind == P_BITMAPS) sb_printf(s, " (%u bitmaps)", n->nbms);
    if (n->kind == P_RANGE)
        sb_printf(s, " (%u full buckets, %u subtracted, %u edge buckets)", n->cover.nfull, n->cover.nsub,
                  n->cover.nedge);
    sb_printf(s, "  est=%llu rows=%llu time=%.3fms\n", (unsigned long long)n->est,
              (unsigned long long)card, ms);
    for (uint32_t i = 0; i < n->nkids; i++) explain_node(c, n->kids[i], depth + 1, s);
}

char *exec_explain(segdb_t *db, plan *p)
{
    ectx c;
    ectx_plain(&c, db, p);
    sbuf s = {0};
    sb_printf(&s, "universe: %s, %llu rows\n", p->with_archived ? "all live contacts (filter names archived)"
                                                                 : "live, non-archived contacts",
              (unsigned long long)roaring_bitmap_get_cardinality(p->universe));
    double t0 = now_ms();
    uint64_t total = count_node(&c, p->root);
    double ms = now_ms() - t0;
    sb_printf(&s, "result: %llu rows in %.3fms\nplan:\n", (unsigned long long)total, ms);
    explain_node(&c, p->root, 1, &s);
    if (s.oom) { free(s.p); return NULL; }
    return s.p;
}

/*
 * segment.c — saved segments (see segment.h): SEGMENT.SAVE/FREEZE/LIST/GET/DEL
 * and their records.
 */
#include "segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "exec.h"
#include "plan.h"
#include "store.h"

static segment_set *segs(segdb_t *db, bool create)
{
    if (!db->segments && create) db->segments = calloc(1, sizeof *db->segments);
    return db->segments;
}

bool segment_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > SEGDB_MAX_SEGMENT_NAME_BYTES) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int find_index(segdb_t *db, const char *s, size_t len)
{
    const segment_set *ss = segs(db, false);
    if (!ss) return -1;
    for (uint32_t i = 0; i < ss->n; i++)
        if (strlen(ss->v[i].name) == len && strncasecmp(ss->v[i].name, s, len) == 0) return (int)i;
    return -1;
}

const segment *segment_find(segdb_t *db, const char *s, size_t len)
{
    int i = find_index(db, s, len);
    return i < 0 ? NULL : &db->segments->v[i];
}

static int bad_name(segdb_err *err, const char *name)
{
    return err_set(err, SEGDB_EINVAL, "invalid segment name '%.80s': use 1-%u letters, digits, '_' or '-'", name,
                   SEGDB_MAX_SEGMENT_NAME_BYTES);
}

static int name_taken(segdb_err *err, const char *name)
{
    return err_set(err, SEGDB_EEXIST, "segment '%s' already exists; SEGMENT.DEL it first", name);
}

/* ---- records -------------------------------------------------------------- */

int segment_prepare(segdb_t *db, const record *r, segdb_err *err)
{
    switch (r->kind) {
    case REC_SEGMENT_SAVE: {
        const char *name = r->u.segment.name;
        if (!segment_name_valid(name, strlen(name))) return bad_name(err, name);
        if (segment_find(db, name, strlen(name))) return name_taken(err, name);
        if (!r->u.segment.filter || !r->u.segment.filter[0])
            return err_set(err, SEGDB_EINVAL, "a live segment needs a filter");
        return SEGDB_OK;
    }
    case REC_SEGMENT_FREEZE:
        for (size_t i = 0; i < r->u.freeze.n; i++) {
            const char *name = r->u.freeze.names[i];
            size_t nl = strlen(name);
            if (!segment_name_valid(name, nl)) return bad_name(err, name);
            if (segment_find(db, name, nl)) return name_taken(err, name);
            for (size_t j = 0; j < i; j++)
                if (strcasecmp(r->u.freeze.names[j], name) == 0)
                    return err_set(err, SEGDB_EINVAL, "segment name '%s' is given twice", name);
            if (!roaring_bitmap_is_subset(r->u.freeze.members[i], db->live))
                return err_set(err, SEGDB_EINVAL, "record names rows that are not live contacts");
        }
        return SEGDB_OK;
    case REC_SEGMENT_DEL:
        if (!segment_find(db, r->u.segment.name, strlen(r->u.segment.name)))
            return err_set(err, SEGDB_ENOTFOUND, "no segment named '%.80s'; SEGMENT.LIST shows them",
                           r->u.segment.name);
        return SEGDB_OK;
    default:
        return err_set(err, SEGDB_EINVAL, "not a segment record");
    }
}

static int push(segdb_t *db, const char *name, bool frozen, const char *text, const roaring_bitmap_t *members,
                int64_t time)
{
    segment_set *ss = segs(db, true);
    if (!ss) return SEGDB_ENOMEM;
    if (ss->n == ss->cap) {
        uint32_t nc = ss->cap ? ss->cap * 2 : 8;
        segment *v = realloc(ss->v, nc * sizeof *v);
        if (!v) return SEGDB_ENOMEM;
        ss->v = v;
        ss->cap = nc;
    }
    segment *s = &ss->v[ss->n];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->frozen = frozen;
    s->created = time;
    s->text = strdup(text ? text : "");
    if (frozen) s->members = roaring_bitmap_copy(members);
    if (!s->text || (frozen && !s->members)) {
        free(s->text);
        if (s->members) roaring_bitmap_free(s->members);
        return SEGDB_ENOMEM;
    }
    ss->n++;
    return SEGDB_OK;
}

int segment_apply(segdb_t *db, const record *r)
{
    int rc = SEGDB_OK;
    switch (r->kind) {
    case REC_SEGMENT_SAVE:
        return push(db, r->u.segment.name, false, r->u.segment.filter, NULL, r->time);
    case REC_SEGMENT_FREEZE:
        for (size_t i = 0; i < r->u.freeze.n && !rc; i++)
            rc = push(db, r->u.freeze.names[i], true, r->u.freeze.descs[i], r->u.freeze.members[i], r->time);
        return rc;
    case REC_SEGMENT_DEL: {
        int i = find_index(db, r->u.segment.name, strlen(r->u.segment.name));
        if (i < 0) return SEGDB_OK;
        segment_set *ss = db->segments;
        free(ss->v[i].text);
        if (ss->v[i].members) roaring_bitmap_free(ss->v[i].members);
        memmove(ss->v + i, ss->v + i + 1, (ss->n - (uint32_t)i - 1) * sizeof *ss->v);
        ss->n--;
        return SEGDB_OK;
    }
    default:
        return SEGDB_OK;
    }
}

void segment_forget_row(segdb_t *db, uint32_t row)
{
    segment_set *ss = segs(db, false);
    if (!ss) return;
    for (uint32_t i = 0; i < ss->n; i++)
        if (ss->v[i].members) roaring_bitmap_remove(ss->v[i].members, row);
}

void segment_state_free(segdb_t *db)
{
    segment_set *ss = db->segments;
    if (!ss) return;
    for (uint32_t i = 0; i < ss->n; i++) {
        free(ss->v[i].text);
        if (ss->v[i].members) roaring_bitmap_free(ss->v[i].members);
    }
    free(ss->v);
    free(ss);
    db->segments = NULL;
}

/* ---- public API ----------------------------------------------------------- */

/* A new segment's name: valid and free. */
static int check_new_name(segdb_t *db, const char *name, segdb_err *err)
{
    if (!name || !segment_name_valid(name, strlen(name))) return bad_name(err, name ? name : "");
    if (segment_find(db, name, strlen(name))) return name_taken(err, name);
    return SEGDB_OK;
}

int segdb_segment_save(segdb_t *db, const char *name, const char *filter, segdb_err *err)
{
    int rc = check_new_name(db, name, err);
    if (rc) return rc;
    if (!filter) return err_set(err, SEGDB_EINVAL, "SEGMENT.SAVE needs WHERE <filter>");
    rc = plan_check_segment(db, name, filter, err);
    if (rc) return rc;
    record r = {.kind = REC_SEGMENT_SAVE, .time = store_now(db)};
    r.u.segment.name = name;
    r.u.segment.filter = filter;
    return ops_write(db, &r, NULL, err);
}

int segdb_segment_freeze(segdb_t *db, const char *name, const char *filter, uint64_t *size, segdb_err *err)
{
    int rc = check_new_name(db, name, err);
    if (rc) return rc;
    if (!filter) return err_set(err, SEGDB_EINVAL, "SEGMENT.FREEZE needs WHERE <filter>");
    plan *p;
    rc = plan_build(db, filter, &p, err);
    if (rc) return rc;
    roaring_bitmap_t *rows = exec_rows(db, p, NULL);
    plan_free(p);
    if (!rows) return err_set(err, SEGDB_ENOMEM, "out of memory");
    const roaring_bitmap_t *members[1] = {rows};
    const char *names[1] = {name}, *descs[1] = {filter};
    record r = {.kind = REC_SEGMENT_FREEZE, .time = store_now(db)};
    r.u.freeze.n = 1;
    r.u.freeze.names = names;
    r.u.freeze.descs = descs;
    r.u.freeze.members = members;
    rc = ops_write(db, &r, NULL, err);
    if (rc == SEGDB_OK && size) *size = roaring_bitmap_get_cardinality(rows);
    roaring_bitmap_free(rows);
    return rc;
}

int segdb_segment_del(segdb_t *db, const char *name, segdb_err *err)
{
    if (!name || !segment_find(db, name, strlen(name)))
        return err_set(err, SEGDB_ENOTFOUND, "no segment named '%.80s'; SEGMENT.LIST shows them", name ? name : "");
    record r = {.kind = REC_SEGMENT_DEL, .time = store_now(db)};
    r.u.segment.name = name;
    return ops_write(db, &r, NULL, err);
}

static int info_of(const segment *s, segdb_segment_info *o)
{
    memset(o, 0, sizeof *o);
    o->name = strdup(s->name);
    o->definition = strdup(s->text);
    o->frozen = s->frozen;
    o->size = s->frozen ? roaring_bitmap_get_cardinality(s->members) : 0;
    o->created = s->created;
    return o->name && o->definition ? SEGDB_OK : SEGDB_ENOMEM;
}

int segdb_segment_list(segdb_t *db, segdb_segment_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    const segment_set *ss = segs(db, false);
    if (!ss || !ss->n) return SEGDB_OK;
    res->v = calloc(ss->n, sizeof *res->v);
    if (!res->v) return err_set(err, SEGDB_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < ss->n; i++) {
        res->n++;
        if (info_of(&ss->v[i], &res->v[i])) {
            segdb_segment_res_free(res);
            return err_set(err, SEGDB_ENOMEM, "out of memory");
        }
    }
    return SEGDB_OK;
}

int segdb_segment_get(segdb_t *db, const char *name, segdb_segment_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    const segment *s = name ? segment_find(db, name, strlen(name)) : NULL;
    if (!s) return err_set(err, SEGDB_ENOTFOUND, "no segment named '%.80s'; SEGMENT.LIST shows them", name ? name : "");
    char filter[SEGDB_MAX_SEGMENT_NAME_BYTES + 16];
    snprintf(filter, sizeof filter, "segment:%s", s->name);
    plan *p;
    int rc = plan_build(db, filter, &p, err);
    if (rc) return rc;
    uint64_t count = exec_count(db, p);
    plan_free(p);
    res->v = calloc(1, sizeof *res->v);
    if (!res->v) return err_set(err, SEGDB_ENOMEM, "out of memory");
    res->n = 1;
    if (info_of(s, &res->v[0])) {
        segdb_segment_res_free(res);
        return err_set(err, SEGDB_ENOMEM, "out of memory");
    }
    res->v[0].count = count;
    return SEGDB_OK;
}

void segdb_segment_res_free(segdb_segment_res *res)
{
    if (!res) return;
    for (size_t i = 0; i < res->n; i++) {
        free(res->v[i].name);
        free(res->v[i].definition);
    }
    free(res->v);
    memset(res, 0, sizeof *res);
}

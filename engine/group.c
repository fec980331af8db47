/*
 * group.c — the group tree (see group.h) and GROUP.CREATE/ADD/REMOVE/LIST/DEL.
 */
#include "group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "err.h"
#include "fold.h"
#include "store.h"

static group_tree *tree(segdb_t *db) { return db->groups; }

static field *groups_field(segdb_t *db) { return db->fields[F_GROUPS]; }

/* Grow the tree to cover every code of the groups dictionary. */
static int tree_fit(segdb_t *db)
{
    if (!db->groups) {
        db->groups = calloc(1, sizeof *db->groups);
        if (!db->groups) return SEGDB_ENOMEM;
    }
    group_tree *t = db->groups;
    uint32_t need = groups_field(db)->dict.n;
    if (need <= t->n) return SEGDB_OK;
    if (need > t->cap) {
        uint32_t nc = t->cap ? t->cap : 16;
        while (nc < need) nc *= 2;
        group *v = realloc(t->v, nc * sizeof *v);
        if (!v) return SEGDB_ENOMEM;
        t->v = v;
        t->cap = nc;
    }
    memset(t->v + t->n, 0, (need - t->n) * sizeof *t->v);
    t->n = need;
    return SEGDB_OK;
}

static bool is_group(segdb_t *db, uint32_t code)
{
    const group_tree *t = tree(db);
    return t && code > 0 && code < t->n && t->v[code].name != NULL;
}

/* The dictionary code whose folded value equals s folded (group or not), 0 if none. */
static uint32_t dict_code_of(segdb_t *db, const char *s, size_t len)
{
    char stackbuf[512];
    size_t cap = fold_max_len(len) + 1;
    char *f = cap <= sizeof stackbuf ? stackbuf : malloc(cap);
    if (!f) return 0;
    size_t fl = fold_text(s, len, f);
    uint32_t c = dict_find(&groups_field(db)->dict, f, fl);
    if (f != stackbuf) free(f);
    return c;
}

uint32_t group_lookup(segdb_t *db, const char *s, size_t len)
{
    uint32_t c = dict_code_of(db, s, len);
    return is_group(db, c) ? c : 0;
}

/* 1 when code lies in the subtree of root (memo: 0 unknown, 1 yes, 2 no). */
static uint8_t in_subtree(const group_tree *t, uint32_t code, uint32_t root, uint8_t *memo)
{
    uint32_t path[64], n = 0, c = code;
    uint8_t verdict = 2;
    /* walk up until root, a known answer or the top; parents never form cycles */
    for (;;) {
        if (c == root) { verdict = 1; break; }
        if (c == 0 || c >= t->n || !t->v[c].name) { verdict = 2; break; }
        if (memo[c]) { verdict = memo[c]; break; }
        if (n < sizeof path / sizeof *path) path[n++] = c;
        c = t->v[c].parent;
    }
    for (uint32_t i = 0; i < n; i++) memo[path[i]] = verdict;
    return verdict;
}

int group_subtree(segdb_t *db, uint32_t code, uint32_t **codes, uint32_t *n)
{
    const group_tree *t = tree(db);
    uint32_t total = t ? t->n : 0;
    uint32_t *out = malloc((total + 1) * sizeof *out);
    if (!out) return SEGDB_ENOMEM;
    uint32_t k = 0;
    out[k++] = code;
    if (is_group(db, code)) {
        uint8_t *memo = calloc(total, 1);
        if (!memo) { free(out); return SEGDB_ENOMEM; }
        memo[code] = 1;
        for (uint32_t c = 1; c < total; c++)
            if (c != code && t->v[c].name && in_subtree(t, c, code, memo) == 1) out[k++] = c;
        free(memo);
    }
    *codes = out;
    *n = k;
    return SEGDB_OK;
}

/* ---- records -------------------------------------------------------------- */

int group_prepare(segdb_t *db, const record *r, segdb_err *err)
{
    const rec_group *g = &r->u.group;
    if (r->kind == REC_GROUP_DEL) {
        if (!group_lookup(db, g->code, strlen(g->code)))
            return err_set(err, SEGDB_ENOTFOUND, "no group '%.80s'; GROUP.LIST shows the groups", g->code);
        return SEGDB_OK;
    }
    size_t cl = strlen(g->code);
    if (cl == 0 || cl > SEGDB_MAX_GROUP_CODE_BYTES || fold_tag_name_problem(g->code, cl))
        return err_set(err, SEGDB_EINVAL, "invalid group code '%.80s'", g->code);
    if (group_lookup(db, g->code, cl))
        return err_set(err, SEGDB_EEXIST, "group '%.80s' already exists", g->code);
    size_t nl = strlen(g->name);
    if (nl == 0 || !fold_utf8_valid(g->name, nl) || fold_utf8_chars(g->name, nl) > SEGDB_MAX_GROUP_NAME_CHARS)
        return err_set(err, SEGDB_EINVAL, "invalid group name");
    if (g->parent && g->parent[0] && !group_lookup(db, g->parent, strlen(g->parent)))
        return err_set(err, SEGDB_EINVAL, "no group '%.80s' to be the parent; GROUP.LIST shows the groups",
                       g->parent);
    return SEGDB_OK;
}

int group_apply(segdb_t *db, const record *r)
{
    const rec_group *g = &r->u.group;
    field *f = groups_field(db);
    if (r->kind == REC_GROUP_CREATE) {
        uint32_t parent = g->parent && g->parent[0] ? group_lookup(db, g->parent, strlen(g->parent)) : 0;
        uint32_t code = dict_intern(&f->dict, g->code, strlen(g->code));
        if (!code || tree_fit(db)) return SEGDB_ENOMEM;
        char *name = strdup(g->name);
        if (!name) return SEGDB_ENOMEM;
        group *e = &db->groups->v[code];
        free(e->name);
        e->name = name;
        e->parent = parent;
        e->created = r->time;
        return SEGDB_OK;
    }
    /* REC_GROUP_DEL: children move up, members lose the group */
    uint32_t code = group_lookup(db, g->code, strlen(g->code));
    if (!code) return SEGDB_OK;
    group_tree *t = db->groups;
    for (uint32_t c = 1; c < t->n; c++)
        if (t->v[c].name && t->v[c].parent == code) t->v[c].parent = t->v[code].parent;
    roaring_bitmap_t *members = f->dict.bm[code];
    f->dict.bm[code] = roaring_bitmap_create();
    if (!f->dict.bm[code]) {
        f->dict.bm[code] = members;
        return SEGDB_ENOMEM;
    }
    int rc = ops_tags_settle(f, members);
    roaring_bitmap_free(members);
    free(t->v[code].name);
    memset(&t->v[code], 0, sizeof t->v[code]);
    return rc;
}

void group_state_free(segdb_t *db)
{
    group_tree *t = db->groups;
    if (!t) return;
    for (uint32_t c = 0; c < t->n; c++) free(t->v[c].name);
    free(t->v);
    free(t);
    db->groups = NULL;
}

/* ---- public API ----------------------------------------------------------- */

int segdb_group_create(segdb_t *db, const char *name, const char *parent, char **code_out, segdb_err *err)
{
    *code_out = NULL;
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0) return err_set(err, SEGDB_EINVAL, "GROUP.CREATE needs a group name");
    if (!fold_utf8_valid(name, nl)) return err_set(err, SEGDB_EINVAL, "group name is not valid UTF-8");
    if (fold_utf8_chars(name, nl) > SEGDB_MAX_GROUP_NAME_CHARS)
        return err_set(err, SEGDB_EINVAL, "group name is longer than %u characters", SEGDB_MAX_GROUP_NAME_CHARS);
    for (size_t i = 0; i < nl; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7F)
            return err_set(err, SEGDB_EINVAL, "group name contains a control character");
    }
    char *base = malloc(fold_max_len(nl) + 1);
    if (!base) return err_set(err, SEGDB_ENOMEM, "out of memory");
    size_t bl = fold_group_code(name, nl, base);
    if (bl > GROUP_CODE_CUT_BYTES) {
        bl = GROUP_CODE_CUT_BYTES;
        while (bl && base[bl - 1] == '_') bl--;
        base[bl] = 0;
    }
    if (bl == 0) {
        free(base);
        return err_set(err, SEGDB_EINVAL,
                       "group name '%.80s' gives an empty code: use some letters (A-Z, with or without accents) or digits",
                       name);
    }
    char code[SEGDB_MAX_GROUP_CODE_BYTES + 1];
    snprintf(code, sizeof code, "%s", base);
    free(base);
    /* unique: append _2, _3... while the folded code belongs to a group */
    for (uint32_t k = 2; group_lookup(db, code, strlen(code)); k++) {
        char suffixed[SEGDB_MAX_GROUP_CODE_BYTES + 16];
        snprintf(suffixed, sizeof suffixed, "%.*s_%u", (int)bl, code, k);
        size_t sl = strlen(suffixed);
        if (sl > SEGDB_MAX_GROUP_CODE_BYTES)
            return err_set(err, SEGDB_EINVAL, "no free code for group name '%.80s'", name);
        memcpy(code, suffixed, sl + 1);
    }
    /* a deleted group's code is reused with the spelling the dictionary shows */
    uint32_t old = dict_code_of(db, code, strlen(code));
    if (old) snprintf(code, sizeof code, "%s", groups_field(db)->dict.display[old]);
    const char *pcode = "";
    if (parent && parent[0]) {
        uint32_t p = group_lookup(db, parent, strlen(parent));
        if (!p)
            return err_set(err, SEGDB_EINVAL, "no group '%.80s' to be the parent; GROUP.LIST shows the groups", parent);
        pcode = groups_field(db)->dict.display[p];
    }
    record r = {.kind = REC_GROUP_CREATE, .time = store_now(db)};
    r.u.group.code = code;
    r.u.group.name = name;
    r.u.group.parent = pcode;
    int rc = ops_write(db, &r, NULL, err);
    if (rc) return rc;
    *code_out = strdup(code);
    if (!*code_out) return err_set(err, SEGDB_ENOMEM, "out of memory");
    return SEGDB_OK;
}

/* GROUP.ADD / GROUP.REMOVE: the exact rows that join or leave. */
static int add_remove(segdb_t *db, const char *code, const segdb_target *tg, bool add, uint64_t *changed,
                      segdb_err *err)
{
    *changed = 0;
    uint32_t c = code ? group_lookup(db, code, strlen(code)) : 0;
    if (!c)
        return err_set(err, SEGDB_EINVAL, "no group '%.80s'; GROUP.CREATE makes one, GROUP.LIST shows them",
                       code ? code : "");
    roaring_bitmap_t *rows;
    int rc = campaign_target_rows(db, tg, false, &rows, err);
    if (rc) return rc;
    field *f = groups_field(db);
    roaring_bitmap_andnot_inplace(rows, db->archived);
    if (add) roaring_bitmap_andnot_inplace(rows, f->dict.bm[c]);
    else roaring_bitmap_and_inplace(rows, f->dict.bm[c]);
    if (!roaring_bitmap_is_empty(rows)) {
        record r = {.kind = add ? REC_GROUP_ADD : REC_GROUP_REMOVE, .time = store_now(db)};
        r.u.rows.name = f->dict.display[c];
        r.u.rows.rows = rows;
        rc = ops_write(db, &r, changed, err);
    }
    roaring_bitmap_free(rows);
    return rc;
}

int segdb_group_add(segdb_t *db, const char *code, const segdb_target *t, uint64_t *changed, segdb_err *err)
{
    return add_remove(db, code, t, true, changed, err);
}

int segdb_group_remove(segdb_t *db, const char *code, const segdb_target *t, uint64_t *changed, segdb_err *err)
{
    return add_remove(db, code, t, false, changed, err);
}

int segdb_group_del(segdb_t *db, const char *code, segdb_err *err)
{
    uint32_t c = code ? group_lookup(db, code, strlen(code)) : 0;
    if (!c) return err_set(err, SEGDB_ENOTFOUND, "no group '%.80s'; GROUP.LIST shows the groups", code ? code : "");
    record r = {.kind = REC_GROUP_DEL, .time = store_now(db)};
    r.u.group.code = groups_field(db)->dict.display[c];
    return ops_write(db, &r, NULL, err);
}

static int list_push(segdb_t *db, segdb_group_res *res, uint32_t c)
{
    const field *f = groups_field(db);
    const group *g = &db->groups->v[c];
    segdb_group_info *gi = &res->v[res->n];
    memset(gi, 0, sizeof *gi);
    gi->code = strdup(f->dict.display[c]);
    gi->name = strdup(g->name);
    gi->parent = g->parent ? strdup(f->dict.display[g->parent]) : NULL;
    gi->members = roaring_bitmap_and_cardinality(f->dict.bm[c], db->universe);
    res->n++;
    if (!gi->code || !gi->name || (g->parent && !gi->parent)) return SEGDB_ENOMEM;
    return SEGDB_OK;
}

int segdb_group_list(segdb_t *db, segdb_group_res *res, segdb_err *err)
{
    memset(res, 0, sizeof *res);
    const group_tree *t = tree(db);
    if (!t) return SEGDB_OK;
    uint32_t total = 0;
    for (uint32_t c = 1; c < t->n; c++) total += t->v[c].name != NULL;
    if (!total) return SEGDB_OK;
    res->v = calloc(total, sizeof *res->v);
    uint32_t *stack = malloc(total * sizeof *stack);
    int rc = res->v && stack ? SEGDB_OK : SEGDB_ENOMEM;
    /* depth-first from each top-level group; children in code order */
    for (uint32_t root = 1; root < t->n && !rc; root++) {
        if (!t->v[root].name || t->v[root].parent) continue;
        uint32_t sp = 0;
        stack[sp++] = root;
        while (sp && !rc) {
            uint32_t c = stack[--sp];
            rc = list_push(db, res, c);
            /* push children in reverse so the lowest code comes out first */
            for (uint32_t k = t->n; k-- > 1 && !rc;)
                if (t->v[k].name && t->v[k].parent == c && sp < total) stack[sp++] = k;
        }
    }
    free(stack);
    if (rc) {
        segdb_group_res_free(res);
        return err_set(err, SEGDB_ENOMEM, "out of memory");
    }
    return SEGDB_OK;
}

void segdb_group_res_free(segdb_group_res *res)
{
    if (!res) return;
    for (size_t i = 0; i < res->n; i++) {
        free(res->v[i].code);
        free(res->v[i].name);
        free(res->v[i].parent);
    }
    free(res->v);
    memset(res, 0, sizeof *res);
}

/*
 * test_campaign.c — the campaign operations of the embedded API (segdb.h):
 * TAG/UNTAG, SET and its classification rules (SPEC 4), ARCHIVE/UNARCHIVE,
 * groups and `group:` subtrees, segments (live, frozen, cycles), FACET,
 * OVERLAP, REACH, notes, DEL's reach into segments/groups/notes, the compact
 * bulk records and replay of every record kind into an equal database.
 * Splits have their own suite (test_split.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roaring/roaring.h>

#include "segdb.h"

static int64_t g_now = 1764000000; /* 2025-11-24 */
static int64_t fixed_clock(void *ctx) { return *(int64_t *)ctx; }

static segdb_t *open_db(void)
{
    segdb_options o;
    segdb_options_init(&o);
    o.clock_fn = fixed_clock;
    o.clock_ctx = &g_now;
    segdb_t *db = segdb_open(&o);
    cr_assert_not_null(db);
    return db;
}

static int up(segdb_t *db, uint64_t id, const char *const *kv, segdb_err *err)
{
    segdb_kv a[32];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        a[n].name = kv[2 * n];
        a[n].value = kv[2 * n + 1];
        a[n].value_len = strlen(kv[2 * n + 1]);
    }
    int created;
    return segdb_upsert(db, id, a, n, &created, err);
}

#define UP(db, id, ...)                                                              \
    do {                                                                             \
        segdb_err e_;                                                                \
        const char *kv_[] = {__VA_ARGS__, NULL};                                     \
        int rc_ = up(db, id, kv_, &e_);                                              \
        cr_assert_eq(rc_, 0, "upsert %llu: %s", (unsigned long long)(id), e_.msg); \
    } while (0)

static uint64_t count(segdb_t *db, const char *f)
{
    segdb_err e;
    uint64_t n = 0;
    int rc = segdb_count(db, f, &n, &e);
    cr_assert_eq(rc, 0, "count '%s': %s", f ? f : "(all)", e.msg);
    return n;
}

static void verify(segdb_t *db)
{
    segdb_err e;
    cr_assert_eq(segdb_verify(db, &e), 0, "verify: %s", e.msg);
}

static segdb_target where(const char *f) { return (segdb_target){.filter = f}; }

static uint64_t tag(segdb_t *db, const char *t, const char *filter)
{
    segdb_target tg = where(filter);
    uint64_t n = 0;
    segdb_err e;
    cr_assert_eq(segdb_tag(db, t, &tg, &n, &e), 0, "tag %s: %s", t, e.msg);
    return n;
}

static void set_ok(segdb_t *db, const char *field, const char *value, segdb_target tg, uint64_t want_changed,
                   uint64_t want_rejected)
{
    uint64_t ch = 99, rej = 99;
    segdb_err e;
    int rc = segdb_set(db, field, value, strlen(value), &tg, &ch, &rej, &e);
    cr_assert_eq(rc, 0, "SET %s %s: %s", field, value, e.msg);
    cr_assert_eq(ch, want_changed, "SET %s %s: changed %llu, want %llu", field, value, (unsigned long long)ch,
                 (unsigned long long)want_changed);
    cr_assert_eq(rej, want_rejected, "SET %s %s: rejected %llu, want %llu", field, value, (unsigned long long)rej,
                 (unsigned long long)want_rejected);
}

static int set_rc(segdb_t *db, const char *field, const char *value, segdb_target tg, segdb_err *e)
{
    uint64_t ch, rej;
    return segdb_set(db, field, value, strlen(value), &tg, &ch, &rej, e);
}

static char *create_group(segdb_t *db, const char *name, const char *parent)
{
    char *code = NULL;
    segdb_err e;
    cr_assert_eq(segdb_group_create(db, name, parent, &code, &e), 0, "GROUP.CREATE %s: %s", name, e.msg);
    return code;
}

static uint64_t group_add(segdb_t *db, const char *code, const char *filter)
{
    segdb_target tg = where(filter);
    uint64_t n = 0;
    segdb_err e;
    cr_assert_eq(segdb_group_add(db, code, &tg, &n, &e), 0, "GROUP.ADD %s: %s", code, e.msg);
    return n;
}

/* ---- TAG / UNTAG ------------------------------------------------------------ */

Test(campaign, tag_counts_exact_changes_and_skips_archived)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 100; i++) UP(db, i, "city", i % 2 ? "Hà Nội" : "Huế");
    cr_assert_eq(tag(db, "VIP", "city:hanoi"), 50);
    cr_assert_eq(count(db, "tag:vip"), 50);
    cr_assert_eq(tag(db, "vip", "city:hanoi"), 0, "already tagged: no change");
    cr_assert_eq(tag(db, "vip", "city:hanoi OR city:hue"), 50);
    segdb_target ids = {.ids = (uint64_t[]){1, 2, 1000}, .nids = 3};
    uint64_t n;
    segdb_err e;
    cr_assert_eq(segdb_untag(db, "VIP", &ids, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 2, "unknown ids are skipped");
    cr_assert_eq(count(db, "tag:vip"), 98);
    /* archived contacts are skipped and not counted */
    segdb_target a = {.ids = (uint64_t[]){3, 4}, .nids = 2};
    cr_assert_eq(segdb_archive(db, &a, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 2);
    cr_assert_eq(tag(db, "new", "has:city OR archived:yes"), 98);
    cr_assert_eq(count(db, "tag:new AND archived:yes"), 0);
    cr_assert_eq(segdb_untag(db, "vip", &a, &n, &e), 0);
    cr_assert_eq(n, 0, "archived contacts keep their tags");
    cr_assert_eq(count(db, "tag:vip AND archived:yes"), 2);
    /* the first spelling is kept */
    segdb_strvec sv;
    const char *f[] = {"tags"};
    cr_assert_eq(segdb_get(db, 5, f, 1, &sv, &e), 1);
    cr_assert_str_eq(sv.v[1], "VIP;new");
    segdb_strvec_free(&sv);
    verify(db);
    segdb_close(db);
}

Test(campaign, untag_last_tag_leaves_has_tags)
{
    segdb_t *db = open_db();
    UP(db, 1, "tags", "a");
    UP(db, 2, "tags", "a;b");
    segdb_target t = where("tag:a");
    uint64_t n;
    segdb_err e;
    cr_assert_eq(segdb_untag(db, "A", &t, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 2);
    cr_assert_eq(count(db, "has:tags"), 1);
    cr_assert_eq(count(db, "missing:tags"), 1);
    cr_assert_eq(segdb_untag(db, "nobody-has-this", &t, &n, &e), 0);
    cr_assert_eq(n, 0);
    verify(db);
    segdb_close(db);
}

Test(campaign, tag_rejects_bad_names_and_targets)
{
    segdb_t *db = open_db();
    UP(db, 1, "city", "Huế");
    segdb_target t = where("has:city");
    uint64_t n;
    segdb_err e;
    cr_assert_eq(segdb_tag(db, "", &t, &n, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "empty"), "%s", e.msg);
    cr_assert_eq(segdb_tag(db, "a,b", &t, &n, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_tag(db, "a;b", &t, &n, &e), SEGDB_EINVAL);
    char longname[80];
    memset(longname, 'x', 65);
    longname[65] = 0;
    cr_assert_eq(segdb_tag(db, longname, &t, &n, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "64"), "%s", e.msg);
    segdb_target both = {.ids = (uint64_t[]){1}, .nids = 1, .filter = "has:city"};
    cr_assert_eq(segdb_tag(db, "x", &both, &n, &e), SEGDB_EINVAL);
    segdb_target none = {0};
    cr_assert_eq(segdb_tag(db, "x", &none, &n, &e), SEGDB_EINVAL);
    segdb_target zero = {.ids = (uint64_t[]){0}, .nids = 1};
    cr_assert_eq(segdb_tag(db, "x", &zero, &n, &e), SEGDB_EINVAL);
    segdb_target empty = where("  ");
    cr_assert_eq(segdb_tag(db, "x", &empty, &n, &e), SEGDB_EINVAL);
    segdb_target unk = where("colour:red");
    cr_assert_eq(segdb_tag(db, "x", &unk, &n, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "FIELD.CREATE"), "%s", e.msg);
    cr_assert_eq(count(db, "has:tags"), 0, "nothing was applied");
    segdb_close(db);
}

Test(campaign, id_list_over_the_limit_is_limit)
{
    segdb_options o;
    segdb_options_init(&o);
    o.max_id_list = 3;
    segdb_t *db = segdb_open(&o);
    uint64_t ids[4] = {1, 2, 3, 4}, n;
    segdb_target t = {.ids = ids, .nids = 4};
    segdb_err e;
    cr_assert_eq(segdb_tag(db, "x", &t, &n, &e), SEGDB_ELIMIT);
    cr_assert_eq(segdb_archive(db, &t, &n, &e), SEGDB_ELIMIT);
    segdb_close(db);
}

/* ---- SET -------------------------------------------------------------------- */

Test(campaign, set_status_follows_the_hand_moves)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 9; i++)
        UP(db, i, "status", i <= 3 ? "never_subscribed" : i <= 6 ? "subscribed" : "unsubscribed");
    segdb_target all = where("has:status");
    set_ok(db, "status", "unsubscribed", all, 3, 3); /* 4-6 move; 1-3 never_subscribed rejected */
    cr_assert_eq(count(db, "status:unsubscribed"), 6);
    set_ok(db, "status", "subscribed", all, 6, 3);
    cr_assert_eq(count(db, "status:subscribed"), 6);
    set_ok(db, "status", "never_subscribed", all, 0, 6);
    cr_assert_eq(count(db, "status:never_subscribed"), 3);
    /* UPSERT may set any status (the owning system's opt-in write) */
    UP(db, 1, "status", "subscribed");
    cr_assert_eq(count(db, "status:subscribed"), 7);
    /* archived contacts are rejected, counted */
    segdb_target a = {.ids = (uint64_t[]){7, 8}, .nids = 2};
    uint64_t n;
    segdb_err e;
    cr_assert_eq(segdb_archive(db, &a, &n, &e), 0);
    set_ok(db, "status", "unsubscribed", (segdb_target){.ids = (uint64_t[]){7, 8, 9}, .nids = 3}, 1, 2);
    verify(db);
    segdb_close(db);
}

Test(campaign, set_counts_only_real_changes)
{
    segdb_t *db = open_db();
    segdb_err e;
    cr_assert_eq(segdb_field_create(db, "score", "number", &e), 0);
    cr_assert_eq(segdb_field_create(db, "shop", "category", &e), 0);
    for (uint64_t i = 1; i <= 20; i++) UP(db, i, "city", i <= 5 ? "Hà Nội" : "Huế", "purchases", i <= 10 ? "1" : "2");
    segdb_target all = where("has:city");
    set_ok(db, "city", "ha noi", all, 15, 0); /* Hà Nội rows hold the value (folded) already */
    cr_assert_eq(count(db, "city:hanoi"), 20);
    cr_assert_eq(count(db, "city:hue"), 0);
    set_ok(db, "purchases", "2", all, 10, 0);
    cr_assert_eq(count(db, "purchases:2"), 20);
    set_ok(db, "score", "1.5", all, 20, 0);
    set_ok(db, "score", "1.5", all, 0, 0);
    cr_assert_eq(count(db, "score > 1"), 20);
    set_ok(db, "shop", "Cửa hàng A", where("purchases:2 AND city:hanoi"), 20, 0);
    cr_assert_eq(count(db, "shop:\"cua hang a\""), 20);
    set_ok(db, "address", "1 Lê Lợi", all, 20, 0);
    set_ok(db, "address", "1 Lê Lợi", all, 0, 0);
    set_ok(db, "address", "1 LE LOI", all, 20, 0); /* another spelling is a change */
    set_ok(db, "last_contacted", "-40d", all, 20, 0);
    cr_assert_eq(count(db, "last_contacted < -30d"), 20);
    cr_assert_eq(count(db, "relationship:dont_forget"), 20);
    set_ok(db, "birthday", "1990-05-17", where("purchases:2 AND score > 1 AND city:hanoi"), 20, 0);
    cr_assert_eq(count(db, "birthday_month:5 AND birthday_day:17"), 20);
    /* an empty value clears */
    set_ok(db, "shop", "", where("has:shop"), 20, 0);
    cr_assert_eq(count(db, "has:shop"), 0);
    set_ok(db, "shop", "", all, 0, 0);
    verify(db);
    segdb_close(db);
}

Test(campaign, set_validates_like_upsert_and_applies_nothing_on_error)
{
    segdb_t *db = open_db();
    UP(db, 1, "email", "a@b.vn");
    UP(db, 2, "email", "c@d.vn");
    segdb_target all = where("has:email");
    segdb_err e;
    cr_assert_eq(set_rc(db, "email", "not-an-email", all, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "invalid email"), "%s", e.msg);
    cr_assert_eq(count(db, "email:a@b.vn"), 1, "nothing applied");
    cr_assert_eq(set_rc(db, "purchases", "abc", all, &e), SEGDB_EWRONGTYPE);
    cr_assert_eq(set_rc(db, "gender", "robot", all, &e), SEGDB_EWRONGTYPE);
    cr_assert(strstr(e.msg, "male, female"), "%s", e.msg);
    cr_assert_eq(set_rc(db, "relationship", "dont_forget", all, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "automatic"), "%s", e.msg);
    cr_assert_eq(set_rc(db, "colour", "red", all, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "FIELD.CREATE"), "%s", e.msg);
    cr_assert_eq(set_rc(db, "tags", "a", all, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "TAG"), "%s", e.msg);
    cr_assert_eq(set_rc(db, "groups", "a", all, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "GROUP.ADD"), "%s", e.msg);
    cr_assert_eq(set_rc(db, "archived", "yes", all, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "ARCHIVE"), "%s", e.msg);
    cr_assert_eq(set_rc(db, "id", "5", all, &e), SEGDB_EINVAL);
    cr_assert_eq(set_rc(db, "bucket", "5", all, &e), SEGDB_EINVAL);
    cr_assert_eq(set_rc(db, "type", "", all, &e), SEGDB_EINVAL);
    cr_assert_eq(set_rc(db, "name", "\xff", all, &e), SEGDB_EINVAL);
    /* identifier is unique */
    cr_assert_eq(set_rc(db, "identifier", "C-1", all, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "unique"), "%s", e.msg);
    set_ok(db, "identifier", "C-1", (segdb_target){.ids = (uint64_t[]){1}, .nids = 1}, 1, 0);
    cr_assert_eq(set_rc(db, "identifier", "C-1", (segdb_target){.ids = (uint64_t[]){2}, .nids = 1}, &e),
                 SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "belongs to contact 1"), "%s", e.msg);
    verify(db);
    segdb_close(db);
}

Test(campaign, set_type_rules)
{
    segdb_t *db = open_db();
    UP(db, 1, "city", "Huế");
    UP(db, 2, "city", "Huế");
    segdb_target one = {.ids = (uint64_t[]){1}, .nids = 1};
    segdb_target two = {.ids = (uint64_t[]){2}, .nids = 1};
    cr_assert_eq(count(db, "type:visitor"), 2);
    set_ok(db, "city", "Huế", one, 0, 0);
    set_ok(db, "source", "facebook", one, 1, 0);
    cr_assert_eq(count(db, "type:visitor"), 2, "SET of other fields does not re-evaluate type");
    set_ok(db, "name", "An", one, 1, 0);
    cr_assert_eq(count(db, "type:lead AND id:1"), 1, "SET name moves type up");
    set_ok(db, "purchases", "2", one, 1, 0);
    cr_assert_eq(count(db, "type:customer AND id:1"), 1);
    set_ok(db, "type", "visitor", one, 1, 0);
    cr_assert_eq(count(db, "type:visitor AND id:1"), 1, "SET type is taken as written");
    set_ok(db, "city", "Đà Nẵng", one, 1, 0);
    cr_assert_eq(count(db, "type:visitor AND id:1"), 1);
    set_ok(db, "purchases", "0", one, 1, 0);
    cr_assert_eq(count(db, "type:lead AND id:1"), 1, "moves up to what the data earns");
    set_ok(db, "name", "", one, 1, 0);
    cr_assert_eq(count(db, "type:lead AND id:1"), 1, "never down");
    set_ok(db, "type", "customer", two, 1, 0);
    set_ok(db, "email", "x@y.vn", two, 1, 0);
    cr_assert_eq(count(db, "type:customer AND id:2"), 1);
    verify(db);
    segdb_close(db);
}

/* ---- ARCHIVE ------------------------------------------------------------------ */

Test(campaign, archive_and_unarchive)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 10; i++) UP(db, i, "tags", i <= 4 ? "old" : "new");
    segdb_target old = where("tag:old");
    uint64_t n;
    segdb_err e;
    cr_assert_eq(segdb_archive(db, &old, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 4);
    cr_assert_eq(count(db, NULL), 6);
    cr_assert_eq(count(db, "tag:old"), 0);
    cr_assert_eq(count(db, "archived:yes"), 4);
    cr_assert_eq(count(db, "tag:old AND archived:yes"), 4);
    cr_assert_eq(segdb_archive(db, &(segdb_target){.ids = (uint64_t[]){1, 5}, .nids = 2}, &n, &e), 0);
    cr_assert_eq(n, 1, "already archived: not counted");
    /* archived contacts keep their data and can't be written */
    const char *kv[] = {"city", "Huế", NULL};
    cr_assert_eq(up(db, 1, kv, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "UNARCHIVE"), "%s", e.msg);
    segdb_strvec sv;
    cr_assert_eq(segdb_get(db, 1, NULL, 0, &sv, &e), 1);
    segdb_strvec_free(&sv);
    /* UNARCHIVE WHERE reaches archived contacts without naming archived */
    segdb_target back = where("tag:old");
    cr_assert_eq(segdb_unarchive(db, &back, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 4);
    cr_assert_eq(count(db, NULL), 9);
    cr_assert_eq(segdb_unarchive(db, &back, &n, &e), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(up(db, 1, kv, &e), 0, "%s", e.msg);
    verify(db);
    segdb_close(db);
}

/* ---- groups ------------------------------------------------------------------- */

Test(campaign, group_codes_are_derived_and_unique)
{
    segdb_t *db = open_db();
    char *a = create_group(db, "Khách VIP", NULL);
    cr_assert_str_eq(a, "KHACH_VIP");
    char *b = create_group(db, "khach-vip", NULL);
    cr_assert_str_eq(b, "KHACH_VIP_2");
    char *c = create_group(db, "KhachVIP!!", NULL);
    cr_assert_str_eq(c, "KHACHVIP_3", "KHACHVIP and KHACHVIP_2 fold like KHACH_VIP and KHACH_VIP_2");
    char *d = create_group(db, "Đội bán hàng", "khach_vip");
    cr_assert_str_eq(d, "DOI_BAN_HANG");
    char *code = NULL;
    segdb_err e;
    cr_assert_eq(segdb_group_create(db, "!!! ---", NULL, &code, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "empty code"), "%s", e.msg);
    cr_assert_eq(segdb_group_create(db, "", NULL, &code, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_group_create(db, "X", "NO_SUCH", &code, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "NO_SUCH"), "%s", e.msg);
    cr_assert_eq(segdb_group_create(db, "\xff", NULL, &code, &e), SEGDB_EINVAL);
    char longname[300];
    memset(longname, 'a', 299);
    longname[299] = 0;
    cr_assert_eq(segdb_group_create(db, longname, NULL, &code, &e), SEGDB_EINVAL);
    longname[150] = 0;
    char *cut = create_group(db, longname, NULL);
    cr_assert_eq(strlen(cut), 56);
    segdb_group_res gl;
    cr_assert_eq(segdb_group_list(db, &gl, &e), 0);
    cr_assert_eq(gl.n, 5);
    cr_assert_str_eq(gl.v[0].code, "KHACH_VIP");
    cr_assert_str_eq(gl.v[0].name, "Khách VIP");
    cr_assert_null(gl.v[0].parent);
    cr_assert_str_eq(gl.v[1].code, "DOI_BAN_HANG", "children follow their parent");
    cr_assert_str_eq(gl.v[1].parent, "KHACH_VIP");
    segdb_group_res_free(&gl);
    free(a);
    free(b);
    free(c);
    free(d);
    free(cut);
    segdb_close(db);
}

Test(campaign, group_subtree_matching_and_delete_moves_children_up)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 12; i++) UP(db, i, "purchases", i <= 4 ? "1" : i <= 8 ? "2" : "3");
    char *root = create_group(db, "Miền Bắc", NULL);
    char *mid = create_group(db, "Hà Nội", root);
    char *leaf = create_group(db, "Cầu Giấy", mid);
    char *other = create_group(db, "Miền Nam", NULL);
    cr_assert_eq(group_add(db, root, "purchases:1"), 4);
    cr_assert_eq(group_add(db, mid, "purchases:2"), 4);
    cr_assert_eq(group_add(db, leaf, "purchases:3"), 4);
    cr_assert_eq(group_add(db, leaf, "purchases:3"), 0, "already members");
    cr_assert_eq(group_add(db, other, "id:1"), 1);
    cr_assert_eq(count(db, "group:MIEN_BAC"), 12);
    cr_assert_eq(count(db, "group:ha_noi"), 8);
    cr_assert_eq(count(db, "group:\"cau giay\""), 4);
    cr_assert_eq(count(db, "groups:MIEN_BAC"), 12);
    cr_assert_eq(count(db, "group:(MIEN_NAM, CAU_GIAY)"), 5);
    cr_assert_eq(count(db, "group != HA_NOI"), 4, "has a group, none in HA_NOI's subtree");
    cr_assert_eq(count(db, "NOT group:MIEN_BAC"), 0);
    /* GROUP.DEL: children move up, members lose the group */
    segdb_err e;
    cr_assert_eq(segdb_group_del(db, "ha_noi", &e), 0, "%s", e.msg);
    cr_assert_eq(count(db, "group:HA_NOI"), 0);
    cr_assert_eq(count(db, "group:MIEN_BAC"), 8, "CAU_GIAY now hangs off MIEN_BAC");
    cr_assert_eq(count(db, "has:groups"), 8);
    segdb_group_res gl;
    cr_assert_eq(segdb_group_list(db, &gl, &e), 0);
    cr_assert_eq(gl.n, 3);
    cr_assert_str_eq(gl.v[1].code, "CAU_GIAY");
    cr_assert_str_eq(gl.v[1].parent, "MIEN_BAC");
    cr_assert_eq(gl.v[0].members, 4);
    segdb_group_res_free(&gl);
    cr_assert_eq(segdb_group_del(db, "ha_noi", &e), SEGDB_ENOTFOUND);
    /* the code can be created again, empty */
    char *again = create_group(db, "Hà Nội", NULL);
    cr_assert_str_eq(again, "HA_NOI");
    cr_assert_eq(count(db, "group:HA_NOI"), 0);
    verify(db);
    free(root);
    free(mid);
    free(leaf);
    free(other);
    free(again);
    segdb_close(db);
}

Test(campaign, group_writes_need_existing_groups_and_skip_archived)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 6; i++) UP(db, i, "city", "Huế");
    segdb_err e;
    uint64_t n;
    segdb_target all = where("has:city");
    cr_assert_eq(segdb_group_add(db, "GHOST", &all, &n, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "GROUP.CREATE"), "%s", e.msg);
    const char *kv[] = {"groups", "GHOST", NULL};
    cr_assert_eq(up(db, 1, kv, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "GROUP.CREATE"), "%s", e.msg);
    char *a = create_group(db, "A", NULL), *b = create_group(db, "B", NULL);
    UP(db, 1, "groups", "a;B");
    cr_assert_eq(count(db, "group:A AND group:B"), 1);
    UP(db, 1, "groups", "b");
    cr_assert_eq(count(db, "group:A"), 0, "UPSERT groups replaces the set");
    cr_assert_eq(segdb_archive(db, &(segdb_target){.ids = (uint64_t[]){2, 3}, .nids = 2}, &n, &e), 0);
    segdb_target everyone = where("has:city OR archived:yes");
    cr_assert_eq(segdb_group_add(db, "A", &everyone, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 4, "archived contacts are skipped and not counted");
    cr_assert_eq(segdb_group_remove(db, "b", &everyone, &n, &e), 0, "%s", e.msg);
    cr_assert_eq(n, 1);
    cr_assert_eq(count(db, "has:groups"), 4);
    cr_assert_eq(segdb_group_remove(db, "nope", &everyone, &n, &e), SEGDB_EINVAL);
    verify(db);
    free(a);
    free(b);
    segdb_close(db);
}

/* ---- segments ----------------------------------------------------------------- */

Test(campaign, live_segments_follow_writes_frozen_ones_stay)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 10; i++) UP(db, i, "city", i <= 6 ? "Hà Nội" : "Huế");
    segdb_err e;
    uint64_t size = 0;
    cr_assert_eq(segdb_segment_save(db, "hn", "city:hanoi", &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_segment_freeze(db, "hn-now", "city:hanoi", &size, &e), 0, "%s", e.msg);
    cr_assert_eq(size, 6);
    cr_assert_eq(count(db, "segment:hn"), 6);
    cr_assert_eq(count(db, "segment:HN-NOW"), 6, "names match case-insensitively");
    UP(db, 11, "city", "Hà Nội");
    UP(db, 1, "city", "Huế");
    cr_assert_eq(count(db, "segment:hn"), 6, "live: re-evaluated (11 in, 1 out)");
    cr_assert_eq(count(db, "segment:hn AND id:11"), 1);
    cr_assert_eq(count(db, "segment:hn-now"), 6, "frozen: the same contacts");
    cr_assert_eq(count(db, "segment:hn-now AND id:1"), 1);
    cr_assert_eq(count(db, "segment:hn-now AND NOT segment:hn"), 1);
    /* a live segment inside another, and relative times evaluated on use */
    cr_assert_eq(segdb_segment_save(db, "hn-recent", "segment:hn AND last_seen > -1d", &e), 0, "%s", e.msg);
    UP(db, 2, "last_seen", "now");
    cr_assert_eq(count(db, "segment:hn-recent"), 1);
    g_now += 3 * 86400;
    cr_assert_eq(count(db, "segment:hn-recent"), 0, "-1d is taken when the segment is used");
    g_now -= 3 * 86400;
    segdb_segment_res sl;
    cr_assert_eq(segdb_segment_list(db, &sl, &e), 0);
    cr_assert_eq(sl.n, 3);
    cr_assert_str_eq(sl.v[0].name, "hn");
    cr_assert(!sl.v[0].frozen);
    cr_assert_str_eq(sl.v[0].definition, "city:hanoi");
    cr_assert(sl.v[1].frozen);
    cr_assert_eq(sl.v[1].size, 6);
    segdb_segment_res_free(&sl);
    cr_assert_eq(segdb_segment_get(db, "HN", &sl, &e), 0, "%s", e.msg);
    cr_assert_eq(sl.n, 1);
    cr_assert_eq(sl.v[0].count, 6);
    cr_assert_eq(sl.v[0].created, g_now);
    segdb_segment_res_free(&sl);
    cr_assert_eq(segdb_segment_get(db, "nope", &sl, &e), SEGDB_ENOTFOUND);
    /* deleting a segment never deletes contacts */
    cr_assert_eq(segdb_segment_del(db, "hn-now", &e), 0);
    cr_assert_eq(count(db, NULL), 11);
    cr_assert_eq(segdb_segment_del(db, "hn-now", &e), SEGDB_ENOTFOUND);
    uint64_t c;
    cr_assert_eq(segdb_count(db, "segment:hn-now", &c, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "no segment named 'hn-now'"), "%s", e.msg);
    segdb_close(db);
}

Test(campaign, segment_names_cycles_and_missing_segments)
{
    segdb_t *db = open_db();
    UP(db, 1, "tags", "x");
    segdb_err e;
    uint64_t n;
    cr_assert_eq(segdb_segment_save(db, "bad name", "tag:x", &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_segment_save(db, "", "tag:x", &e), SEGDB_EINVAL);
    char longname[70];
    memset(longname, 'a', 65);
    longname[65] = 0;
    cr_assert_eq(segdb_segment_save(db, longname, "tag:x", &e), SEGDB_EINVAL);
    longname[64] = 0;
    cr_assert_eq(segdb_segment_save(db, longname, "tag:x", &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_segment_save(db, "s", "tag:x AND", &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_segment_save(db, "s", "purchases:abc", &e), SEGDB_EWRONGTYPE);
    cr_assert_eq(segdb_segment_save(db, "s", "segment:missing", &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "missing"), "%s", e.msg);
    cr_assert_eq(segdb_segment_save(db, "self", "tag:x OR segment:SELF", &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "refers back to itself"), "%s", e.msg);
    cr_assert_eq(segdb_segment_save(db, "b", "tag:x", &e), 0);
    cr_assert_eq(segdb_segment_save(db, "a", "segment:b", &e), 0);
    cr_assert_eq(segdb_segment_save(db, "a", "tag:x", &e), SEGDB_EEXIST);
    cr_assert_eq(segdb_segment_freeze(db, "a", "tag:x", &n, &e), SEGDB_EEXIST);
    /* an indirect cycle: b is re-created to point at a, which points at b */
    cr_assert_eq(segdb_segment_del(db, "b", &e), 0);
    cr_assert_eq(segdb_count(db, "segment:a", &n, &e), SEGDB_EINVAL, "a dangling reference is an error on use");
    cr_assert(strstr(e.msg, "in segment 'a'"), "%s", e.msg);
    cr_assert_eq(segdb_segment_save(db, "b", "segment:a", &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "b -> a -> b"), "%s", e.msg);
    cr_assert_eq(segdb_segment_save(db, "b", "tag:x AND NOT segment:a", &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_segment_save(db, "b", "tag:y", &e), 0, "%s", e.msg);
    cr_assert_eq(count(db, "segment:a"), 0);
    /* frozen segments may be named anywhere: they hold rows, not filters */
    cr_assert_eq(segdb_segment_freeze(db, "fx", "tag:x", &n, &e), 0);
    cr_assert_eq(segdb_segment_save(db, "c", "segment:fx OR segment:(a, b)", &e), 0, "%s", e.msg);
    cr_assert_eq(count(db, "segment:c"), 1);
    segdb_close(db);
}

Test(campaign, deep_and_wide_segment_inlining_is_bounded)
{
    segdb_t *db = open_db();
    UP(db, 1, "tags", "x");
    segdb_err e;
    char name[16], prev[16], filter[64];
    cr_assert_eq(segdb_segment_save(db, "s0", "tag:x", &e), 0);
    int i;
    int rc = 0;
    for (i = 1; i < 40 && rc == 0; i++) {
        snprintf(name, sizeof name, "s%d", i);
        snprintf(prev, sizeof prev, "s%d", i - 1);
        snprintf(filter, sizeof filter, "segment:%s OR segment:%s", prev, prev);
        rc = segdb_segment_save(db, name, filter, &e);
    }
    cr_assert_eq(rc, SEGDB_ELIMIT, "doubling at each level must hit the term limit: %s", e.msg);
    cr_assert(i < 20);
    segdb_close(db);
}

/* ---- FACET, OVERLAP, REACH ----------------------------------------------------- */

Test(campaign, facet_counts_by_count_then_value)
{
    segdb_t *db = open_db();
    const char *cities[] = {"Hà Nội", "Huế", "Đà Nẵng", "Huế", "Hà Nội", "Hà Nội", "Cần Thơ", "Đà Nẵng"};
    for (uint64_t i = 0; i < 8; i++) UP(db, i + 1, "city", cities[i], "tags", i % 2 ? "a;b" : "b", "gender", "male");
    UP(db, 9, "gender", "female");
    segdb_facet_res fr;
    segdb_err e;
    cr_assert_eq(segdb_facet(db, "city", 0, NULL, &fr, &e), 0, "%s", e.msg);
    cr_assert_eq(fr.n, 4);
    cr_assert_str_eq(fr.values[0], "Hà Nội");
    cr_assert_eq(fr.counts[0], 3);
    cr_assert_str_eq(fr.values[1], "Đà Nẵng", "ties by folded value: danang < hue");
    cr_assert_str_eq(fr.values[2], "Huế");
    cr_assert_str_eq(fr.values[3], "Cần Thơ");
    segdb_facet_res_free(&fr);
    cr_assert_eq(segdb_facet(db, "city", 2, "NOT city:hanoi", &fr, &e), 0, "%s", e.msg);
    cr_assert_eq(fr.n, 2);
    cr_assert_str_eq(fr.values[0], "Đà Nẵng");
    cr_assert_eq(fr.counts[1], 2);
    segdb_facet_res_free(&fr);
    cr_assert_eq(segdb_facet(db, "tags", 0, NULL, &fr, &e), 0);
    cr_assert_eq(fr.n, 2);
    cr_assert_str_eq(fr.values[0], "b");
    cr_assert_eq(fr.counts[0], 8);
    cr_assert_eq(fr.counts[1], 4);
    segdb_facet_res_free(&fr);
    cr_assert_eq(segdb_facet(db, "gender", 0, NULL, &fr, &e), 0);
    cr_assert_eq(fr.n, 2);
    cr_assert_str_eq(fr.values[0], "male");
    segdb_facet_res_free(&fr);
    cr_assert_eq(segdb_facet(db, "purchases", 0, NULL, &fr, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_facet(db, "name", 0, NULL, &fr, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_facet(db, "nope", 0, NULL, &fr, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_facet(db, "city", 0, "tag:", &fr, &e), SEGDB_EINVAL);
    segdb_close(db);
}

Test(campaign, facet_relationship_shows_derived_dont_forget)
{
    segdb_t *db = open_db();
    UP(db, 1, "last_contacted", "-40d");
    UP(db, 2, "last_contacted", "-40d", "relationship", "won");
    UP(db, 3, "last_contacted", "-10d", "relationship", "hot");
    UP(db, 4, "relationship", "hot");
    UP(db, 5, "last_contacted", "-50d", "relationship", "hot");
    segdb_facet_res fr;
    segdb_err e;
    cr_assert_eq(segdb_facet(db, "relationship", 0, NULL, &fr, &e), 0, "%s", e.msg);
    cr_assert_eq(fr.n, 3);
    cr_assert_str_eq(fr.values[0], "dont_forget");
    cr_assert_eq(fr.counts[0], 2);
    cr_assert_str_eq(fr.values[1], "hot");
    cr_assert_eq(fr.counts[1], 2);
    cr_assert_str_eq(fr.values[2], "won");
    segdb_facet_res_free(&fr);
    cr_assert_eq(count(db, "relationship:dont_forget"), 2);
    segdb_close(db);
}

Test(campaign, overlap_matrix)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 60; i++) {
        char t[32];
        snprintf(t, sizeof t, "%s%s%s", i % 2 ? "two;" : "", i % 3 ? "three;" : "", i % 5 ? "five" : "");
        UP(db, i, "tags", t[0] ? t : "none");
    }
    const char *f[] = {"tag:two", "tag:three", "tag:five"};
    segdb_overlap_res o;
    segdb_err e;
    cr_assert_eq(segdb_overlap(db, f, 3, &o, &e), 0, "%s", e.msg);
    cr_assert_eq(o.n, 3);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            char both[64];
            snprintf(both, sizeof both, "%s AND %s", f[i], f[j]);
            cr_assert_eq(o.m[i * 3 + j], count(db, both), "%d,%d", i, j);
        }
    cr_assert_eq(o.m[0], 30);
    segdb_overlap_res_free(&o);
    cr_assert_eq(segdb_overlap(db, f, 0, &o, &e), SEGDB_EINVAL);
    const char *bad[] = {"tag:two", "purchases:x"};
    cr_assert_eq(segdb_overlap(db, bad, 2, &o, &e), SEGDB_EWRONGTYPE);
    cr_assert(strstr(e.msg, "in filter 2"), "%s", e.msg);
    const char *many[40];
    for (int i = 0; i < 40; i++) many[i] = "tag:two";
    cr_assert_eq(segdb_overlap(db, many, 40, &o, &e), SEGDB_ELIMIT);
    segdb_close(db);
}

Test(campaign, reach_counts_each_channel)
{
    segdb_t *db = open_db();
    UP(db, 1, "email", "a@b.vn", "phone", "0912345678", "whatsapp", "yes");
    UP(db, 2, "phone", "0912345679", "whatsapp", "no", "hmac_verified", "yes");
    UP(db, 3, "whatsapp", "yes", "city", "Huế");
    UP(db, 4, "email", "c@d.vn", "hmac_verified", "yes", "city", "Huế");
    segdb_reach_res r;
    segdb_err e;
    cr_assert_eq(segdb_reach(db, NULL, &r, &e), 0, "%s", e.msg);
    cr_assert_eq(r.email, 2);
    cr_assert_eq(r.sms, 2);
    cr_assert_eq(r.whatsapp, 1);
    cr_assert_eq(r.web, 2);
    cr_assert_eq(r.email, count(db, "reachable:email"));
    cr_assert_eq(r.whatsapp, count(db, "reachable:whatsapp"));
    cr_assert_eq(segdb_reach(db, "city:hue", &r, &e), 0);
    cr_assert_eq(r.email, 1);
    cr_assert_eq(r.sms, 0);
    cr_assert_eq(r.whatsapp, 0);
    cr_assert_eq(r.web, 1);
    segdb_close(db);
}

Test(campaign, counts_across_many_chunks_match_count)
{
    segdb_t *db = open_db();
    /* 140,000 rows: three 65,536-row chunks, sparse and dense parts */
    for (uint64_t i = 1; i <= 140000; i++) {
        const char *kv[16];
        int k = 0;
        kv[k++] = "tags";
        kv[k++] = i % 3 == 0 ? "a;b" : i % 7 == 0 ? "c" : i > 70000 && i < 75000 ? "d" : "b";
        if (i % 2) { kv[k++] = "phone"; kv[k++] = "0912345678"; }
        if (i % 5 == 0) { kv[k++] = "email"; kv[k++] = "x@y.vn"; }
        if (i % 4 == 0) { kv[k++] = "whatsapp"; kv[k++] = i % 8 ? "yes" : "no"; }
        if (i > 130000) { kv[k++] = "hmac_verified"; kv[k++] = "yes"; }
        kv[k] = NULL;
        segdb_err e;
        cr_assert_eq(up(db, i, kv, &e), 0, "%s", e.msg);
    }
    const char *f[] = {"tag:a", "tag:b", "tag:c OR tag:d", "tag:d", "has:email AND NOT tag:b"};
    segdb_overlap_res o;
    segdb_err e;
    cr_assert_eq(segdb_overlap(db, f, 5, &o, &e), 0, "%s", e.msg);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            char both[128];
            snprintf(both, sizeof both, "(%s) AND (%s)", f[i], f[j]);
            cr_assert_eq(o.m[i * 5 + j], count(db, both), "%s", both);
        }
    segdb_overlap_res_free(&o);
    const char *w[] = {NULL, "tag:b", "tag:d OR tag:c"};
    for (int i = 0; i < 3; i++) {
        segdb_reach_res r;
        cr_assert_eq(segdb_reach(db, w[i], &r, &e), 0, "%s", e.msg);
        char q[128];
        snprintf(q, sizeof q, "(%s)%sreachable:email", w[i] ? w[i] : "has:tags", " AND ");
        cr_assert_eq(r.email, count(db, q), "%s", q);
        snprintf(q, sizeof q, "(%s)%sreachable:sms", w[i] ? w[i] : "has:tags", " AND ");
        cr_assert_eq(r.sms, count(db, q), "%s", q);
        snprintf(q, sizeof q, "(%s)%sreachable:whatsapp", w[i] ? w[i] : "has:tags", " AND ");
        cr_assert_eq(r.whatsapp, count(db, q), "%s", q);
        snprintf(q, sizeof q, "(%s)%sreachable:web", w[i] ? w[i] : "has:tags", " AND ");
        cr_assert_eq(r.web, count(db, q), "%s", q);
    }
    segdb_facet_res fr;
    cr_assert_eq(segdb_facet(db, "tags", 0, "has:phone", &fr, &e), 0, "%s", e.msg);
    for (size_t i = 0; i < fr.n; i++) {
        char q[64];
        snprintf(q, sizeof q, "has:phone AND tag:%s", fr.values[i]);
        cr_assert_eq(fr.counts[i], count(db, q), "%s", q);
    }
    cr_assert_eq(fr.n, 4);
    segdb_facet_res_free(&fr);
    segdb_close(db);
}

/* ---- notes ---------------------------------------------------------------------- */

static uint64_t note_add(segdb_t *db, uint64_t id, const char *text)
{
    uint64_t note = 0;
    segdb_err e;
    cr_assert_eq(segdb_note_add(db, id, text, strlen(text), &note, &e), 0, "NOTE.ADD %llu: %s",
                 (unsigned long long)id, e.msg);
    return note;
}

Test(campaign, notes_add_list_edit_delete)
{
    segdb_t *db = open_db();
    UP(db, 1, "name", "An");
    UP(db, 2, "name", "Bình");
    int64_t t0 = g_now;
    uint64_t n1 = note_add(db, 1, "Gọi lại **thứ Hai**");
    g_now += 60;
    uint64_t n2 = note_add(db, 2, "other contact");
    g_now += 60;
    uint64_t n3 = note_add(db, 1, "- item\n- item 2");
    cr_assert(n1 < n2 && n2 < n3, "ids increase across contacts");
    segdb_note_res nl;
    segdb_err e;
    cr_assert_eq(segdb_note_list(db, 1, &nl, &e), 0, "%s", e.msg);
    cr_assert_eq(nl.n, 2);
    cr_assert_eq(nl.v[0].id, n3, "newest first");
    cr_assert_str_eq(nl.v[0].text, "- item\n- item 2");
    cr_assert_eq(nl.v[1].created, t0);
    cr_assert_str_eq(nl.v[1].text, "Gọi lại **thứ Hai**", "markdown kept as written");
    cr_assert_eq(nl.v[1].edited, 0);
    segdb_note_res_free(&nl);
    g_now += 60;
    cr_assert_eq(segdb_note_edit(db, 1, n1, "sửa", strlen("sửa"), &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_note_edit(db, 2, n1, "x", 1, &e), SEGDB_ENOTFOUND, "the note is contact 1's");
    cr_assert_eq(segdb_note_edit(db, 1, 999, "x", 1, &e), SEGDB_ENOTFOUND);
    cr_assert_eq(segdb_note_list(db, 1, &nl, &e), 0);
    cr_assert_str_eq(nl.v[1].text, "sửa");
    cr_assert_eq(nl.v[1].edited, g_now);
    cr_assert_eq(nl.v[1].created, t0);
    segdb_note_res_free(&nl);
    cr_assert_eq(segdb_note_del(db, 1, n3, &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_note_del(db, 1, n3, &e), SEGDB_ENOTFOUND);
    cr_assert_eq(segdb_note_list(db, 1, &nl, &e), 0);
    cr_assert_eq(nl.n, 1);
    cr_assert_eq(nl.v[0].id, n1);
    segdb_note_res_free(&nl);
    uint64_t n4 = note_add(db, 1, "after a delete");
    cr_assert(n4 > n3, "ids are never reused");
    cr_assert_eq(segdb_note_list(db, 3, &nl, &e), SEGDB_ENOTFOUND);
    segdb_close(db);
}

Test(campaign, note_limits_and_rejections)
{
    segdb_t *db = open_db();
    UP(db, 1, "name", "An");
    segdb_err e;
    uint64_t n;
    /* 1,000 characters fine (2-byte each), 1,001 is LIMIT */
    char text[2100];
    size_t len = 0;
    for (int i = 0; i < 1000; i++) { text[len++] = (char)0xC3; text[len++] = (char)0xA0; } /* à */
    cr_assert_eq(segdb_note_add(db, 1, text, len, &n, &e), 0, "%s", e.msg);
    text[len++] = 'x';
    cr_assert_eq(segdb_note_add(db, 1, text, len, &n, &e), SEGDB_ELIMIT);
    cr_assert(strstr(e.msg, "1000"), "%s", e.msg);
    cr_assert_eq(segdb_note_edit(db, 1, 1, text, len, &e), SEGDB_ELIMIT);
    cr_assert_eq(segdb_note_add(db, 1, "", 0, &n, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_note_add(db, 1, "\xc3", 1, &n, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_note_add(db, 1, "a\0b", 3, &n, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_note_add(db, 42, "x", 1, &n, &e), SEGDB_ENOTFOUND);
    /* archived: notes are listed, not written */
    cr_assert_eq(segdb_archive(db, &(segdb_target){.ids = (uint64_t[]){1}, .nids = 1}, &n, &e), 0);
    cr_assert_eq(segdb_note_add(db, 1, "x", 1, &n, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "UNARCHIVE"), "%s", e.msg);
    cr_assert_eq(segdb_note_edit(db, 1, 1, "x", 1, &e), SEGDB_EINVAL);
    cr_assert_eq(segdb_note_del(db, 1, 1, &e), SEGDB_EINVAL);
    segdb_note_res nl;
    cr_assert_eq(segdb_note_list(db, 1, &nl, &e), 0);
    cr_assert_eq(nl.n, 1);
    cr_assert_eq(nl.v[0].len, 2000);
    segdb_note_res_free(&nl);
    segdb_close(db);
}

/* ---- DEL reaches segments, groups and notes -------------------------------------- */

Test(campaign, del_removes_contact_from_frozen_segments_groups_and_notes)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 5; i++) UP(db, i, "city", "Huế");
    char *g = create_group(db, "VIP", NULL);
    cr_assert_eq(group_add(db, g, "has:city"), 5);
    segdb_err e;
    uint64_t n;
    cr_assert_eq(segdb_segment_freeze(db, "f", "has:city", &n, &e), 0);
    note_add(db, 3, "hello");
    uint64_t ids[] = {3};
    cr_assert_eq(segdb_del(db, ids, 1, &n, &e), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(count(db, "segment:f"), 4);
    cr_assert_eq(count(db, "group:VIP"), 4);
    segdb_segment_res sl;
    cr_assert_eq(segdb_segment_list(db, &sl, &e), 0);
    cr_assert_eq(sl.v[0].size, 4, "the row left the frozen segment");
    segdb_segment_res_free(&sl);
    segdb_note_res nl;
    cr_assert_eq(segdb_note_list(db, 3, &nl, &e), SEGDB_ENOTFOUND);
    /* the id comes back as a new contact: no old segments, groups or notes */
    UP(db, 3, "city", "Huế");
    cr_assert_eq(count(db, "segment:f AND id:3"), 0);
    cr_assert_eq(count(db, "group:VIP AND id:3"), 0);
    cr_assert_eq(segdb_note_list(db, 3, &nl, &e), 0);
    cr_assert_eq(nl.n, 0);
    segdb_note_res_free(&nl);
    verify(db);
    free(g);
    segdb_close(db);
}

/* ---- records: compact, replayable ------------------------------------------------- */

typedef struct logcap {
    void **buf;
    size_t *len;
    size_t n, cap;
} logcap;

static int capture(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    (void)seq;
    (void)err;
    logcap *lc = ctx;
    if (lc->n == lc->cap) {
        lc->cap = lc->cap ? lc->cap * 2 : 64;
        lc->buf = realloc(lc->buf, lc->cap * sizeof *lc->buf);
        lc->len = realloc(lc->len, lc->cap * sizeof *lc->len);
    }
    lc->buf[lc->n] = malloc(len);
    memcpy(lc->buf[lc->n], rec, len);
    lc->len[lc->n++] = len;
    return 0;
}

static void logcap_free(logcap *lc)
{
    for (size_t i = 0; i < lc->n; i++) free(lc->buf[i]);
    free(lc->buf);
    free(lc->len);
}

static int refuse(void *ctx, uint64_t seq, const void *rec, size_t len, segdb_err *err)
{
    (void)ctx; (void)seq; (void)rec; (void)len;
    if (err) {
        err->code = SEGDB_EREADONLY;
        snprintf(err->msg, sizeof err->msg, "disk full");
    }
    return SEGDB_EREADONLY;
}

Test(campaign, bulk_writes_are_one_compact_record)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 5000; i++) UP(db, i, "gender", i % 3 ? "male" : "female");
    logcap lc = {0};
    segdb_set_log(db, capture, &lc);
    cr_assert_eq(tag(db, "bulk", "gender:male"), 3334);
    cr_assert_eq(lc.n, 1);
    /* kind | time | str16 tag | bitmap: one record holding the rows, not one per contact */
    const unsigned char *r = lc.buf[0];
    cr_assert_eq(r[0], 4, "REC_TAG");
    cr_assert_eq(r[9] | r[10] << 8, 4);
    cr_assert_eq(memcmp(r + 11, "bulk", 4), 0);
    uint32_t bl = (uint32_t)r[15] | (uint32_t)r[16] << 8 | (uint32_t)r[17] << 16 | (uint32_t)r[18] << 24;
    cr_assert_eq(lc.len[0], 19 + (size_t)bl);
    cr_assert_lt(lc.len[0], 8000, "%zu bytes", lc.len[0]);
    roaring_bitmap_t *bm = roaring_bitmap_portable_deserialize_safe((const char *)r + 19, bl);
    cr_assert_not_null(bm);
    cr_assert_eq(roaring_bitmap_get_cardinality(bm), 3334);
    roaring_bitmap_free(bm);
    /* no change: nothing logged */
    cr_assert_eq(tag(db, "bulk", "gender:male"), 0);
    cr_assert_eq(lc.n, 1);
    /* a refused log write applies nothing */
    segdb_set_log(db, refuse, NULL);
    segdb_target t = where("gender:female");
    uint64_t n;
    segdb_err e;
    cr_assert_eq(segdb_tag(db, "x", &t, &n, &e), SEGDB_EREADONLY);
    cr_assert_eq(segdb_archive(db, &t, &n, &e), SEGDB_EREADONLY);
    cr_assert_eq(count(db, "tag:x"), 0);
    cr_assert_eq(count(db, NULL), 5000);
    segdb_set_log(db, NULL, NULL);
    logcap_free(&lc);
    segdb_close(db);
}

static const char *const REPLAY_FILTERS[] = {
    NULL, "tag:vip", "tag:new", "archived:yes", "group:ROOT", "group:CHILD", "segment:live1", "segment:frz",
    "status:subscribed", "status:unsubscribed", "type:lead", "type:customer", "city:hanoi", "has:email",
    "relationship:hot", "purchases > 1", "segment:live1 AND NOT tag:vip", "has:groups", "missing:tags",
};

/* Every record kind, logged, then replayed into a fresh database. */
Test(campaign, replay_of_every_record_kind_gives_an_equal_database)
{
    segdb_t *db = open_db();
    logcap lc = {0};
    segdb_set_log(db, capture, &lc);
    segdb_err e;
    uint64_t n, rej;
    for (uint64_t i = 1; i <= 300; i++) {
        char p[8];
        snprintf(p, sizeof p, "%llu", (unsigned long long)(i % 4));
        UP(db, i * 7, "city", i % 3 ? "Hà Nội" : "Huế", "status", i % 2 ? "subscribed" : "never_subscribed",
           "purchases", p);
    }
    cr_assert_eq(segdb_field_create(db, "shop", "category", &e), 0);
    tag(db, "VIP", "city:hanoi AND purchases >= 2");
    tag(db, "new", "purchases:0");
    segdb_target t = where("tag:new AND city:hue");
    cr_assert_eq(segdb_untag(db, "NEW", &t, &n, &e), 0);
    t = where("purchases:3");
    cr_assert_eq(segdb_set(db, "status", "unsubscribed", 12, &t, &n, &rej, &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_set(db, "name", "Khách", strlen("Khách"), &t, &n, &rej, &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_set(db, "shop", "Cửa hàng", strlen("Cửa hàng"), &t, &n, &rej, &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_set(db, "relationship", "hot", 3, &t, &n, &rej, &e), 0, "%s", e.msg);
    t = where("purchases:1 AND city:hue");
    cr_assert_eq(segdb_archive(db, &t, &n, &e), 0);
    t = (segdb_target){.ids = (uint64_t[]){63}, .nids = 1};
    cr_assert_eq(segdb_unarchive(db, &t, &n, &e), 0);
    cr_assert_eq(n, 1);
    char *root = create_group(db, "Root", NULL), *child = create_group(db, "Child", root),
         *gone = create_group(db, "Gone", child);
    group_add(db, child, "purchases:2");
    group_add(db, gone, "purchases:1");
    t = where("id:14");
    cr_assert_eq(segdb_group_remove(db, child, &t, &n, &e), 0);
    cr_assert_eq(segdb_group_del(db, gone, &e), 0);
    UP(db, 7, "groups", "ROOT;child");
    cr_assert_eq(segdb_segment_save(db, "live1", "tag:vip OR group:root", &e), 0, "%s", e.msg);
    cr_assert_eq(segdb_segment_freeze(db, "frz", "status:subscribed", &n, &e), 0);
    cr_assert_eq(segdb_segment_save(db, "tmp", "tag:new", &e), 0);
    cr_assert_eq(segdb_segment_del(db, "tmp", &e), 0);
    uint64_t n1, n2;
    cr_assert_eq(segdb_note_add(db, 7, "một", strlen("một"), &n1, &e), 0, "%s", e.msg);
    g_now += 100;
    cr_assert_eq(segdb_note_add(db, 7, "hai", 3, &n2, &e), 0);
    cr_assert_eq(segdb_note_edit(db, 7, n1, "một!", strlen("một!"), &e), 0);
    cr_assert_eq(segdb_note_add(db, 14, "x", 1, &n, &e), 0);
    cr_assert_eq(segdb_note_del(db, 14, n, &e), 0);
    uint64_t dels[] = {28, 35};
    cr_assert_eq(segdb_del(db, dels, 2, &n, &e), 0);
    segdb_split_req sr = {.n = 3, .has_seed = true, .seed = 5, .save_prefix = "part", .filter = "has:city"};
    segdb_split_res sres;
    cr_assert_eq(segdb_split(db, &sr, &sres, &e), 0, "%s", e.msg);
    segdb_split_res_free(&sres);
    g_now -= 100;

    /* replay at a different clock: record times must drive everything */
    int64_t saved_now = g_now;
    g_now += 12345;
    segdb_t *db2 = open_db();
    for (size_t i = 0; i < lc.n; i++)
        cr_assert_eq(segdb_apply_record(db2, i + 1, lc.buf[i], lc.len[i], &e), 0, "record %zu: %s", i, e.msg);
    g_now = saved_now;
    for (size_t i = 0; i < sizeof REPLAY_FILTERS / sizeof *REPLAY_FILTERS; i++)
        cr_assert_eq(count(db2, REPLAY_FILTERS[i]), count(db, REPLAY_FILTERS[i]), "%s",
                     REPLAY_FILTERS[i] ? REPLAY_FILTERS[i] : "(all)");
    for (int k = 1; k <= 3; k++) {
        char f[64];
        snprintf(f, sizeof f, "segment:part%d", k);
        cr_assert_eq(count(db2, f), count(db, f), "%s", f);
        snprintf(f, sizeof f, "segment:part%d AND id:7", k);
        cr_assert_eq(count(db2, f), count(db, f), "%s", f);
    }
    verify(db2);
    segdb_group_res g1, g2;
    cr_assert_eq(segdb_group_list(db, &g1, &e), 0);
    cr_assert_eq(segdb_group_list(db2, &g2, &e), 0);
    cr_assert_eq(g1.n, g2.n);
    for (size_t i = 0; i < g1.n; i++) {
        cr_assert_str_eq(g1.v[i].code, g2.v[i].code);
        cr_assert_eq(g1.v[i].members, g2.v[i].members);
    }
    segdb_group_res_free(&g1);
    segdb_group_res_free(&g2);
    segdb_segment_res s1, s2;
    cr_assert_eq(segdb_segment_list(db, &s1, &e), 0);
    cr_assert_eq(segdb_segment_list(db2, &s2, &e), 0);
    cr_assert_eq(s1.n, s2.n);
    for (size_t i = 0; i < s1.n; i++) {
        cr_assert_str_eq(s1.v[i].name, s2.v[i].name);
        cr_assert_eq(s1.v[i].size, s2.v[i].size);
        cr_assert_eq(s1.v[i].created, s2.v[i].created);
    }
    segdb_segment_res_free(&s1);
    segdb_segment_res_free(&s2);
    segdb_note_res a1, a2;
    cr_assert_eq(segdb_note_list(db, 7, &a1, &e), 0);
    cr_assert_eq(segdb_note_list(db2, 7, &a2, &e), 0);
    cr_assert_eq(a1.n, 2);
    cr_assert_eq(a2.n, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(a1.v[i].id, a2.v[i].id);
        cr_assert_eq(a1.v[i].created, a2.v[i].created);
        cr_assert_eq(a1.v[i].edited, a2.v[i].edited);
        cr_assert_str_eq(a1.v[i].text, a2.v[i].text);
    }
    segdb_note_res_free(&a1);
    segdb_note_res_free(&a2);
    segdb_stats st1, st2;
    segdb_get_stats(db, &st1);
    segdb_get_stats(db2, &st2);
    cr_assert_eq(st1.seq, st2.seq);
    cr_assert_eq(st1.archived, st2.archived);
    /* a new note after replay continues the id sequence */
    cr_assert_eq(segdb_note_add(db2, 7, "tiếp", strlen("tiếp"), &n, &e), 0);
    cr_assert(n > n2);
    free(root);
    free(child);
    free(gone);
    segdb_set_log(db, NULL, NULL);
    logcap_free(&lc);
    segdb_close(db);
    segdb_close(db2);
}

Test(campaign, malformed_bulk_records_are_refused)
{
    segdb_t *db = open_db();
    for (uint64_t i = 1; i <= 10; i++) UP(db, i, "city", "Huế");
    logcap lc = {0};
    segdb_set_log(db, capture, &lc);
    tag(db, "t", "has:city");
    segdb_set_log(db, NULL, NULL);
    cr_assert_eq(lc.n, 1);
    segdb_err e;
    segdb_t *fresh = open_db();
    for (uint64_t i = 1; i <= 5; i++) UP(fresh, i, "city", "Huế");
    cr_assert_eq(segdb_apply_record(fresh, 1, lc.buf[0], lc.len[0], &e), SEGDB_EINVAL,
                 "rows 5..9 don't exist there");
    cr_assert_eq(count(fresh, "tag:t"), 0);
    /* truncated, extended, length fields lying */
    unsigned char *r = lc.buf[0];
    for (size_t cut = 0; cut < lc.len[0]; cut++)
        cr_assert_eq(segdb_apply_record(db, 2, r, cut, &e), SEGDB_EINVAL, "cut at %zu", cut);
    unsigned char *longer = malloc(lc.len[0] + 1);
    memcpy(longer, r, lc.len[0]);
    longer[lc.len[0]] = 0;
    cr_assert_eq(segdb_apply_record(db, 2, longer, lc.len[0] + 1, &e), SEGDB_EINVAL);
    memcpy(longer, r, lc.len[0]);
    longer[15]++; /* bitmap length one more than the bytes it has */
    cr_assert_eq(segdb_apply_record(db, 2, longer, lc.len[0], &e), SEGDB_EINVAL);
    memcpy(longer, r, lc.len[0]);
    longer[11] = ','; /* a tag name the live path would refuse */
    cr_assert_eq(segdb_apply_record(db, 2, longer, lc.len[0], &e), SEGDB_EINVAL);
    memcpy(longer, r, lc.len[0]);
    longer[0] = 99;
    cr_assert_eq(segdb_apply_record(db, 2, longer, lc.len[0], &e), SEGDB_EINVAL);
    free(longer);
    verify(db);
    logcap_free(&lc);
    segdb_close(fresh);
    segdb_close(db);
}

/*
 * gen.h — the deterministic contact generator of segdb-bench.
 *
 * Contact i of seed s is a pure function of (s, i): its fields come from a
 * xoshiro256** stream seeded by splitmix64 from a hash of (s, i), so any
 * contact can be regenerated alone (the benchmark does, to check FIND pages),
 * and the same (s, N) always gives the same data set on every machine.
 *
 * Ids are sequential: contact i has id GEN_FIRST_ID + i (1000000, 1000001...).
 * The data imitates a Vietnamese CRM / chat-marketing contact base:
 *   name      "Family Middle Given" with diacritics (Nguyễn ~38%, Trần ~12%,
 *             Lê ~9.5%...; middle Văn/Thị/Hữu/Đức/Minh/Ngọc/Thanh...; ~140
 *             given names, Zipf within each gender); 8% typed without
 *             diacritics, 7% in Facebook order "Given Family"
 *   gender    male 45%, female 45%, other 2%, unknown 8% (sent as "unknown")
 *   city      92% have one of the 63 provinces, Zipf (s=1): Hồ Chí Minh ~19%
 *             of all contacts, Hà Nội ~10%, Đà Nẵng ~6.5%...
 *   tags      0-8 per contact (uniform count), distinct, drawn Zipf (s=1) over
 *             t000..t199: t000 is held by ~48% of contacts
 *   type      visitor 30%, lead 50%, customer 20% (always sent explicitly)
 *   status    never_subscribed 35%, subscribed 55%, unsubscribed 10%
 *   channel   facebook, zalo, web, instagram, tiktok, telegram, email, sms,
 *             whatsapp; source: facebook_ads, organic, zalo_oa, google_ads...
 *   created_at  2019-01-01..2026-11-01 (+07:00), density rising linearly
 *             from 0.5x to 1.5x of uniform (a growing business)
 *   last_contacted  80%: uniform between created_at and 2026-11-01
 *   phone     60%: Vietnamese mobile 03x/07x/08x/09x in mixed formats
 *             ("0912345678", "0912 345 678", "+84912345678", "84912345678",
 *             "0912.345.678")
 *   email     50%: ASCII-folded name parts + digits @ gmail.com (72%),
 *             yahoo.com, yahoo.com.vn, hotmail.com, outlook.com, icloud.com...
 *   purchases 0 for visitors and leads; customers 1-20 (geometric, mean ~2.2)
 *   revenue   customers only: purchases x an order value of 99,000-2,999,000 VND
 *   birthday  40%: a date 1965-01-01..2007-12-31
 *
 * Thread-safe: the constant tables (cumulative weights, the folding map) are
 * built once through pthread_once and only read afterwards.
 */
#ifndef SEGDB_BENCH_GEN_H
#define SEGDB_BENCH_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "segdb.h"

#define GEN_FIRST_ID 1000000u      /* contact i has id GEN_FIRST_ID + i */
#define GEN_MAX_FIELDS 16u         /* segdb_kv entries of one contact */
#define GEN_MAX_TAGS 8u            /* tags of one contact */
#define GEN_NTAGS 200u             /* t000 .. t199 */
#define GEN_NCITIES 63u            /* provinces */
#define GEN_NO_CITY 0xFFFFu        /* gen_contact_t.city when it has none */
#define GEN_BUF_BYTES 640u         /* value bytes of one contact */

/* Unix seconds (+07:00 midnights) bounding created_at and last_contacted. */
#define GEN_TIME_START 1546275600  /* 2019-01-01T00:00+07:00 */
#define GEN_TIME_END 1793466000    /* 2026-11-01T00:00+07:00 */

enum { GEN_MALE = 0, GEN_FEMALE, GEN_OTHER, GEN_UNKNOWN };
enum { GEN_VISITOR = 0, GEN_LEAD, GEN_CUSTOMER };
enum { GEN_NEVER_SUBSCRIBED = 0, GEN_SUBSCRIBED, GEN_UNSUBSCRIBED };

typedef struct gen_contact {
    uint64_t id;
    /* The generated facts, so a caller can compute what a filter must match
     * without asking the engine. */
    uint8_t gender, type, status;
    uint8_t ntags;
    uint8_t tags[GEN_MAX_TAGS];     /* tag indexes, ascending (tag k is "t%03u") */
    uint16_t city;                  /* index for gen_city_name(), or GEN_NO_CITY */
    bool has_phone, has_email, has_last_contacted, has_birthday;
    int64_t created_at, last_contacted; /* unix seconds */
    uint32_t purchases;
    const char *name, *email;       /* NUL-terminated, inside buf (email NULL if none) */
    /* The UPSERT fields, ready for segdb_upsert(db, id, kv, nkv, ...): names
     * are static strings, values point into buf and are NUL-terminated. */
    size_t nkv;
    segdb_kv kv[GEN_MAX_FIELDS];
    char buf[GEN_BUF_BYTES];
} gen_contact_t;

/* Fill *out with contact i of seed. No allocation; everything lives in *out
 * (so copying the struct invalidates the kv value pointers). */
void gen_contact(uint64_t seed, uint64_t i, gen_contact_t *out);

/* The province with index k < GEN_NCITIES ("Hồ Chí Minh" is 0, "Hà Nội" 1),
 * Zipf rank order. */
const char *gen_city_name(unsigned k);

/* ASCII-fold Vietnamese UTF-8 text the way SPEC section 7 folds values, minus
 * dropping separators: lower case, diacritics removed, đ -> d. Writes at most
 * cap-1 bytes plus a NUL into out; returns the length written. */
size_t gen_fold_ascii(const char *s, char *out, size_t cap);

/* Write contacts 0..n-1 of seed to f as RESP2 arrays `UPSERT <id> <field>
 * <value>...` (what `redis-cli --pipe` sends). 0, or -1 with errno set. */
int gen_write_resp(FILE *f, uint64_t seed, uint64_t n);

/* Write contacts 0..n-1 of seed to f as RFC 4180 CSV (UTF-8, CRLF rows) with
 * a header row: id,name,email,phone,gender,birthday,city,channel,source,type,
 * status,tags,created_at,last_contacted,purchases,revenue; an absent value is
 * an empty cell; tags are ';'-joined. 0, or -1 with errno set. */
int gen_write_csv(FILE *f, uint64_t seed, uint64_t n);

#endif /* SEGDB_BENCH_GEN_H */

/*
 * fuzz_snapshot_load.c — libFuzzer target for segdb_load: any byte string as
 * a snapshot stream must be refused with an error or load into a database
 * that answers queries and passes no-crash checks. Seeds: run once with
 * SEGDB_FUZZ_SEED_OUT=DIR to write a valid stream to DIR/seed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segdb.h"

typedef struct mem {
    const uint8_t *p;
    size_t len, off;
} mem;

static int mem_read(void *ctx, void *buf, size_t len)
{
    mem *m = ctx;
    if (m->len - m->off < len) return -1;
    memcpy(buf, m->p + m->off, len);
    m->off += len;
    return 0;
}

static int file_write(void *ctx, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, (FILE *)ctx) == len ? 0 : -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *dir = getenv("SEGDB_FUZZ_SEED_OUT");
    if (!dir) return 0;
    segdb_t *db = segdb_open(NULL);
    segdb_kv kv[] = {{"city", "Hà Nội", 8}, {"tags", "a;b", 3}, {"created_at", "1600000000", 10},
                     {"name", "An", 2}, {"email", "a@b.vn", 6}};
    int c;
    segdb_err e;
    segdb_upsert(db, 1, kv, 5, &c, &e);
    segdb_upsert(db, 2, kv, 2, &c, &e);
    char path[4096];
    snprintf(path, sizeof path, "%s/seed", dir);
    FILE *f = fopen(path, "wb");
    if (f) {
        segdb_save(db, file_write, f, &e);
        fclose(f);
    }
    segdb_close(db);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mem m = {data, size, 0};
    segdb_t *db = NULL;
    segdb_err e;
    if (segdb_load(&db, NULL, mem_read, &m, size, &e) == 0) {
        uint64_t n;
        segdb_count(db, "city:hanoi OR tag:a OR created_at > 2020-01-01 OR q:an", &n, &e);
        segdb_verify(db, &e);
        segdb_close(db);
    }
    return 0;
}

/*
 * fuzz_snapshot_file.c — libFuzzer target for storage/snapshot.c's reader:
 * any byte string as a snapshot-<seq>.sdb file (through the in-memory VFS)
 * must be refused with an error or load into a database that answers a query
 * and passes DEBUG VERIFY; snapshot_verify and snapshot_load must agree on
 * files whose stream parses. Inputs whose header and trailer check out reach
 * the stream parser only when their checksum matches, so the target also
 * re-seals each input (header, trailer and stream checksum recomputed) to let
 * the fuzzer explore the parser behind the checks.
 * Seeds: run once with SEGDB_FUZZ_SEED_OUT=DIR to write a valid file to DIR/seed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "segdb.h"
#include "snapshot.h"
#include "vfs.h"

#define PATH "/d/snapshot-00000000000000000002.sdb"

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void try_file(const uint8_t *data, size_t size)
{
    vfs *v = vfs_mem_create();
    if (!v)
        return;
    if (vfs_mem_put(v, PATH, data, size) == 0) {
        segdb_err e;
        segdb_t *db = NULL;
        snapshot_info si;
        int vr = snapshot_verify(PATH, v, 2, &si, &e);
        int lr = snapshot_load(PATH, v, 2, NULL, &db, &si, &e);
        if (lr == 0 && vr != 0)
            abort(); /* a file that loads must verify */
        if (db) {
            uint64_t n;
            segdb_count(db, "city:hanoi OR tag:a OR q:an", &n, &e);
            segdb_verify(db, &e);
            segdb_close(db);
        }
    }
    vfs_mem_free(v);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("SEGDB_FUZZ_SEED_OUT");
    if (!dir)
        return 0;
    segdb_t *db = segdb_open(NULL);
    segdb_kv kv[] = {{"city", "Hà Nội", 8}, {"tags", "a;b", 3}, {"name", "An", 2}};
    int c;
    segdb_err e;
    segdb_upsert(db, 1, kv, 3, &c, &e);
    segdb_upsert(db, 2, kv, 1, &c, &e);
    vfs *v = vfs_mem_create();
    if (snapshot_write("/d", v, db, NULL, &e) == 0) {
        void *bytes;
        size_t len;
        if (vfs_mem_get(v, PATH, &bytes, &len) == 0) {
            char path[4096];
            snprintf(path, sizeof path, "%s/seed", dir);
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(bytes, 1, len, f);
                fclose(f);
            }
            free(bytes);
        }
    }
    vfs_mem_free(v);
    segdb_close(db);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_file(data, size);
    /* the same bytes, re-sealed: seq 2, valid header, trailer and checksum */
    if (size < SNAPSHOT_HEADER_BYTES + SNAPSHOT_TRAILER_BYTES || size > (64u << 20))
        return 0;
    uint8_t *b = malloc(size);
    if (!b)
        return 0;
    memcpy(b, data, size);
    size_t n = size - SNAPSHOT_HEADER_BYTES - SNAPSHOT_TRAILER_BYTES;
    memcpy(b, "SEGDBSNP\1\0\0\0\0\0\0\0", 16);
    put64(b + 16, 2);
    put64(b + 24, XXH64(b, 24, 0));
    uint8_t *t = b + SNAPSHOT_HEADER_BYTES + n;
    memcpy(t, "SEGDBSNE", 8);
    put64(t + 8, n);
    put64(t + 16, XXH64(b + SNAPSHOT_HEADER_BYTES, n, 0));
    put64(t + 24, 2);
    put64(t + 32, XXH64(t, 32, 0));
    try_file(b, size);
    free(b);
    return 0;
}

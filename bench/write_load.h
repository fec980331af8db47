/*
 * write_load.h — segdb-bench's server write load: many connections to a
 * running segdb-server, each sending one UPSERT and waiting for its reply
 * before the next (what a fleet of single-request clients does), to measure
 * group commit under `appendfsync always` with a client lighter than
 * redis-benchmark (which tops out near 65k requests/s on this 2-core VM).
 */
#ifndef SEGDB_BENCH_WRITE_LOAD_H
#define SEGDB_BENCH_WRITE_LOAD_H

#include <stdint.h>

typedef struct write_load_opts {
    int port;               /* 127.0.0.1:port */
    unsigned clients;       /* connections, 1..10000 */
    uint64_t requests;      /* UPSERTs in all */
    uint64_t first_id;      /* ids first_id, first_id + 1, ... (each id once) */
} write_load_opts;

typedef struct write_load_result {
    uint64_t done;          /* replies received */
    uint64_t errors;        /* of which error replies */
    double seconds;         /* from the first request to the last reply */
} write_load_result;

/* Runs the load. 0, or -1 with a message on stderr (cannot connect, a
 * connection closed, a reply that is not RESP). */
int write_load_run(const write_load_opts *o, write_load_result *r);

#endif /* SEGDB_BENCH_WRITE_LOAD_H */

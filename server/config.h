/*
 * config.h — segdb-server options: one table row per option, read from a
 * redis.conf-style file ("name value" lines, '#' comments, values quoted like
 * inline requests) and from the command line (--name value, --name=value,
 * or --name alone for flags). Command-line options win over the file.
 *
 * Adding an option = one row in config.c's table (name, type, field of
 * server_config, default, bounds or members, help) plus the field below.
 */
#ifndef SEGDB_CONFIG_H
#define SEGDB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "segdb.h"

typedef enum appendfsync_mode {
    APPENDFSYNC_ALWAYS = 0,
    APPENDFSYNC_EVERYSEC = 1,
    APPENDFSYNC_NO = 2,
} appendfsync_mode;

typedef struct server_config {
    char *config_file;          /* absolute path, or NULL */
    char *bind;                 /* one address (IPv4, IPv6 or a host name) */
    int port;
    char *dir;                  /* data directory (created when missing) */
    char *requirepass;          /* "" = no password */
    int maxclients;
    int appendfsync;            /* appendfsync_mode */
    int dont_forget_days;
    int query_threads;          /* segdb_options.query_threads (0: per CPU) */
    int tz_offset_seconds;      /* zone of times written without one */
    bool protected_mode;
    bool huge_pages;            /* transparent huge pages for the data (see main.c) */
    bool repair;                /* recovery may cut damaged log tails */
    uint64_t snapshot_log_bytes;       /* automatic BGSAVE past this much log since the last (0: off) */
    uint64_t snapshot_changes;         /* ... or past this many changes (0: off) */
    int snapshot_keep;                 /* snapshots kept (the newest and older ones for fallback) */
    uint64_t wal_segment_bytes;        /* log segment size before rotating */
    uint64_t proto_max_bulk_len;       /* one bulk or inline line, bytes */
    uint64_t max_args;                 /* arguments in one request */
    uint64_t client_output_buffer_limit; /* unread reply bytes per client */
    int64_t slowlog_log_slower_than;   /* microseconds; <0 disables, 0 logs all */
    int64_t slowlog_max_len;
    uint64_t filter_max_bytes, filter_max_depth, filter_max_terms;
    uint64_t find_max_limit, id_list_max, note_max_chars;
} server_config;

/* Fill every field with its default (strings are malloc'd). */
int config_init(server_config *cfg);
void config_free(server_config *cfg);    /* frees strings; cfg itself is not freed */
/* Deep copy (dst is overwritten, not freed first). 0 or SEGDB_ENOMEM. */
int config_copy(server_config *dst, const server_config *src);

/* Set one option by name (no leading dashes) from its text value.
 * 0, or SEGDB_EINVAL with a message naming the option and what it takes. */
int config_set(server_config *cfg, const char *name, const char *value, segdb_err *err);

/* Read a config file; errors name the file and line. */
int config_load_file(server_config *cfg, const char *path, segdb_err *err);

/* Parse argv[1..argc): a --config FILE is loaded first, then every other
 * option in order. *help / *version are set for --help / --version.
 * A lone first argument without dashes is taken as the config file (as
 * redis-server does). */
int config_parse_args(server_config *cfg, int argc, char **argv, bool *help, bool *version,
                      segdb_err *err);

/* --help text: every option with its value syntax, default and meaning. */
void config_print_help(FILE *f, const char *prog);

/* CONFIG GET: call fn(name, value) for each option whose name matches the
 * glob pattern (case-insensitive, * ? [..]), in table order. */
void config_each(const server_config *cfg, const char *pattern,
                 void (*fn)(void *ctx, const char *name, const char *value), void *ctx);

/* segdb_options for the engine from the config. */
void config_engine_options(const server_config *cfg, segdb_options *o);

/* Case-insensitive glob match (Redis stringmatch subset: * ? [abc] [a-z] \x). */
bool config_glob_match(const char *pattern, const char *s);

#endif /* SEGDB_CONFIG_H */

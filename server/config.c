/*
 * config.c — the option table of segdb-server and its readers (config file,
 * command line, CONFIG GET, --help). See config.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "durability.h"
#include "err.h"
#include "resp.h"
#include "segdb_limits.h"

typedef enum opt_type {
    OPT_STRING,  /* char * */
    OPT_INT,     /* int within [min, max] */
    OPT_I64,     /* int64_t within [min, max] */
    OPT_SIZE,    /* uint64_t bytes or count, with k/kb/m/mb/g/gb suffixes, within [min, max] */
    OPT_BOOL,    /* bool: yes|no */
    OPT_FLAG,    /* bool; "--name" alone on the command line means yes */
    OPT_ENUM,    /* int index into members */
    OPT_TZ,      /* int seconds east of UTC, written +HH:MM */
} opt_type;

typedef struct opt_def {
    const char *name;
    opt_type type;
    size_t offset;          /* of the field in server_config */
    const char *def;        /* default as text, or NULL: then dnum */
    long long dnum;         /* default of numeric options */
    long long min, max;
    const char *const *members;
    const char *help;
} opt_def;

static const char *const FSYNC_MEMBERS[] = {"always", "everysec", "no", NULL};

#define F(x) offsetof(server_config, x)
static const opt_def OPTIONS[] = {
    {"bind", OPT_STRING, F(bind), SEGDB_DEFAULT_BIND, 0, 0, 0, NULL,
     "address to listen on; a non-loopback one needs requirepass or protected-mode no"},
    {"port", OPT_INT, F(port), NULL, SEGDB_DEFAULT_PORT, 1, 65535, NULL, "TCP port"},
    {"dir", OPT_STRING, F(dir), ".", 0, 0, 0, NULL, "data directory (log and snapshots); created when missing"},
    {"requirepass", OPT_STRING, F(requirepass), "", 0, 0, 0, NULL,
     "password clients must send with AUTH before other commands (empty: none)"},
    {"maxclients", OPT_INT, F(maxclients), NULL, SEGDB_DEFAULT_MAX_CLIENTS, 1, 1000000, NULL,
     "most simultaneous clients; more get '-ERR max number of clients reached'"},
    {"appendfsync", OPT_ENUM, F(appendfsync), "everysec", 0, 0, 0, FSYNC_MEMBERS,
     "when the write-ahead log is fsynced: always, everysec or no"},
    {"dont-forget-days", OPT_INT, F(dont_forget_days), NULL, SEGDB_DEFAULT_DONT_FORGET_DAYS, 1,
     36500, NULL, "days without contact after which a relationship becomes dont_forget"},
    {"query-threads", OPT_INT, F(query_threads), NULL, 0, 0, 64, NULL,
     "threads a large count splits its chunks over (0: one per CPU, at most 4; 1: never split)"},
    {"tz-offset", OPT_TZ, F(tz_offset_seconds), "+07:00", 0, -14 * 3600, 14 * 3600, NULL,
     "zone of times written without one, as +HH:MM (Asia/Ho_Chi_Minh is +07:00)"},
    {"protected-mode", OPT_BOOL, F(protected_mode), "yes", 0, 0, 0, NULL,
     "refuse to start on a non-loopback bind without requirepass"},
    {"huge-pages", OPT_BOOL, F(huge_pages), "no", 0, 0, 0, NULL,
     "keep the data in transparent huge pages (THP in madvise mode): BGSAVE's fork blocks ~3 ms "
     "instead of ~25 ms at 10M contacts, for ~2% more memory and a slower start (loading 10M "
     "took 3.5-4.6 s instead of 2.0-2.2 s here)"},
    {"repair", OPT_FLAG, F(repair), "no", 0, 0, 0, NULL,
     "let recovery cut damage in the middle of the log, skip a record that fails to apply, or fall "
     "back to an older snapshot the log does not cover, losing data (said on stderr), instead of "
     "refusing to start"},
    {"snapshot-log-bytes", OPT_SIZE, F(snapshot_log_bytes), NULL, DUR_DEFAULT_SNAPSHOT_LOG_BYTES, 0,
     INT64_MAX, NULL, "start a background snapshot once the log grew this much since the last one (0: never)"},
    {"snapshot-changes", OPT_SIZE, F(snapshot_changes), NULL, DUR_DEFAULT_SNAPSHOT_CHANGES, 0, INT64_MAX,
     NULL, "start a background snapshot after this many changes since the last one (0: never)"},
    {"snapshot-keep", OPT_INT, F(snapshot_keep), NULL, SNAPSHOT_DEFAULT_KEEP, 1, 1000, NULL,
     "snapshots kept: the newest plus older ones a start falls back to if it is corrupt"},
    {"wal-segment-bytes", OPT_SIZE, F(wal_segment_bytes), NULL, WAL_DEFAULT_SEGMENT_MAX_BYTES, 4096,
     INT64_MAX, NULL, "log segment size: a new wal-<seq>.log file is started past it"},
    {"proto-max-bulk-len", OPT_SIZE, F(proto_max_bulk_len), NULL, SEGDB_MAX_REQUEST_BYTES, 1024, SEGDB_MAX_REQUEST_BYTES,
     NULL, "largest request argument or inline line, bytes"},
    {"max-args", OPT_SIZE, F(max_args), NULL, SEGDB_MAX_ARGS, 1, SEGDB_MAX_ARGS, NULL,
     "most arguments in one request"},
    {"client-output-buffer-limit", OPT_SIZE, F(client_output_buffer_limit), NULL,
     SEGDB_MAX_OUTPUT_BUFFER_BYTES, 1024,
     INT64_MAX, NULL, "unread reply bytes after which a client is disconnected"},
    {"slowlog-log-slower-than", OPT_I64, F(slowlog_log_slower_than), "10000", 0, -1, INT64_MAX, NULL,
     "commands slower than this many microseconds go to SLOWLOG (-1: none, 0: all)"},
    {"slowlog-max-len", OPT_I64, F(slowlog_max_len), "128", 0, 0, 1000000, NULL,
     "entries SLOWLOG keeps"},
    {"filter-max-bytes", OPT_SIZE, F(filter_max_bytes), NULL, SEGDB_MAX_FILTER_BYTES, 1, SEGDB_MAX_REQUEST_BYTES, NULL,
     "longest filter text"},
    {"filter-max-depth", OPT_SIZE, F(filter_max_depth), NULL, SEGDB_MAX_FILTER_DEPTH, 1,
     100000, NULL, "deepest filter nesting (each '(' and NOT is a level)"},
    {"filter-max-terms", OPT_SIZE, F(filter_max_terms), NULL, SEGDB_MAX_FILTER_TERMS, 1,
     10000000, NULL, "most terms in one filter"},
    {"find-max-limit", OPT_SIZE, F(find_max_limit), NULL, SEGDB_MAX_FIND_LIMIT, 1, 100000000, NULL,
     "largest LIMIT count of one FIND page"},
    {"id-list-max", OPT_SIZE, F(id_list_max), NULL, SEGDB_MAX_ID_LIST, 1, 100000000, NULL,
     "most ids in one command"},
    {"note-max-chars", OPT_SIZE, F(note_max_chars), NULL, SEGDB_MAX_NOTE_CHARS, 1, 10000000, NULL,
     "longest note, in Unicode characters"},
};
#define NOPTIONS (sizeof(OPTIONS) / sizeof(OPTIONS[0]))

static const opt_def *find_opt(const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcasecmp(OPTIONS[i].name, name) == 0)
            return &OPTIONS[i];
    return NULL;
}

/* Redis memtoll: 1k = 1000, 1kb = 1024, likewise m/mb and g/gb. */
static int parse_size(const char *s, uint64_t *out)
{
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return -1;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    uint64_t mul = 1;
    if (*p) {
        if (!strcasecmp(p, "b")) mul = 1;
        else if (!strcasecmp(p, "k")) mul = 1000;
        else if (!strcasecmp(p, "kb")) mul = 1024;
        else if (!strcasecmp(p, "m")) mul = 1000 * 1000;
        else if (!strcasecmp(p, "mb")) mul = 1024 * 1024;
        else if (!strcasecmp(p, "g")) mul = 1000ull * 1000 * 1000;
        else if (!strcasecmp(p, "gb")) mul = 1024ull * 1024 * 1024;
        else return -1;
    }
    if (v && mul > UINT64_MAX / v)
        return -1;
    *out = v * mul;
    return 0;
}

static int parse_ll(const char *s, long long *out)
{
    if (!*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || isspace((unsigned char)*s))
        return -1;
    *out = v;
    return 0;
}

/* +HH:MM, -HH:MM, +HH, HH:MM, Z, UTC, 0 */
static int parse_tz(const char *s, long long *out)
{
    if (!strcasecmp(s, "z") || !strcasecmp(s, "utc") || !strcmp(s, "0")) {
        *out = 0;
        return 0;
    }
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)s[0]))
        return -1;
    int h = 0, m = 0, i = 0;
    while (isdigit((unsigned char)s[i]) && i < 2)
        h = h * 10 + (s[i++] - '0');
    if (s[i] == ':') {
        i++;
        if (!isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1]))
            return -1;
        m = (s[i] - '0') * 10 + (s[i + 1] - '0');
        i += 2;
    }
    if (s[i] || m >= 60)
        return -1;
    *out = sign * (h * 3600 + m * 60);
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "yes")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "no")) {
        *out = false;
        return 0;
    }
    return -1;
}

static int apply(server_config *cfg, const opt_def *o, const char *value, segdb_err *err)
{
    char *base = (char *)cfg + o->offset;
    switch (o->type) {
    case OPT_STRING: {
        if (!strcmp(o->name, "bind") || !strcmp(o->name, "dir")) {
            if (!*value)
                return err_set(err, SEGDB_EINVAL, "option '%s' can't be empty", o->name);
        }
        char *dup = strdup(value);
        if (!dup)
            return err_set(err, SEGDB_ENOMEM, "out of memory");
        free(*(char **)base);
        *(char **)base = dup;
        return 0;
    }
    case OPT_INT:
    case OPT_I64: {
        long long v;
        if (parse_ll(value, &v) < 0 || v < o->min || v > o->max)
            return err_set(err, SEGDB_EINVAL,
                           "option '%s' takes an integer from %lld to %lld, not '%s'", o->name,
                           o->min, o->max, value);
        if (o->type == OPT_INT)
            *(int *)base = (int)v;
        else
            *(int64_t *)base = v;
        return 0;
    }
    case OPT_SIZE: {
        uint64_t v;
        if (parse_size(value, &v) < 0 || v < (uint64_t)o->min || v > (uint64_t)o->max)
            return err_set(err, SEGDB_EINVAL,
                           "option '%s' takes a size from %lld to %lld (suffixes k kb m mb g gb), "
                           "not '%s'",
                           o->name, o->min, o->max, value);
        *(uint64_t *)base = v;
        return 0;
    }
    case OPT_BOOL:
    case OPT_FLAG:
        if (parse_bool(value, (bool *)base) < 0)
            return err_set(err, SEGDB_EINVAL, "option '%s' takes yes or no, not '%s'", o->name,
                           value);
        return 0;
    case OPT_ENUM:
        for (int i = 0; o->members[i]; i++)
            if (!strcasecmp(o->members[i], value)) {
                *(int *)base = i;
                return 0;
            }
        {
            char list[256] = "";
            for (int i = 0; o->members[i]; i++) {
                strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
                strncat(list, o->members[i], sizeof(list) - strlen(list) - 1);
            }
            return err_set(err, SEGDB_EINVAL, "option '%s' takes one of %s, not '%s'", o->name,
                           list, value);
        }
    case OPT_TZ: {
        long long v;
        if (parse_tz(value, &v) < 0 || v < o->min || v > o->max)
            return err_set(err, SEGDB_EINVAL,
                           "option '%s' takes a UTC offset like +07:00 (from -14:00 to +14:00), "
                           "not '%s'",
                           o->name, value);
        *(int *)base = (int)v;
        return 0;
    }
    }
    return err_set(err, SEGDB_EINVAL, "option '%s' has an unknown type", o->name);
}

int config_set(server_config *cfg, const char *name, const char *value, segdb_err *err)
{
    const opt_def *o = find_opt(name);
    if (!o)
        return err_set(err, SEGDB_EINVAL, "unknown option '%s' (segdb-server --help lists them)",
                       name);
    return apply(cfg, o, value, err);
}

int config_init(server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NOPTIONS; i++) {
        segdb_err e;
        char num[32];
        const char *def = OPTIONS[i].def;
        if (!def) {
            snprintf(num, sizeof num, "%lld", OPTIONS[i].dnum);
            def = num;
        }
        int r = apply(cfg, &OPTIONS[i], def, &e);
        if (r < 0) {
            config_free(cfg);
            return r;
        }
    }
    return 0;
}

void config_free(server_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->config_file);
    cfg->config_file = NULL;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (OPTIONS[i].type == OPT_STRING) {
            char **s = (char **)((char *)cfg + OPTIONS[i].offset);
            free(*s);
            *s = NULL;
        }
}

int config_copy(server_config *dst, const server_config *src)
{
    *dst = *src;
    dst->config_file = NULL;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (OPTIONS[i].type == OPT_STRING)
            *(char **)((char *)dst + OPTIONS[i].offset) = NULL;
    int bad = 0;
    if (src->config_file && !(dst->config_file = strdup(src->config_file)))
        bad = 1;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (OPTIONS[i].type == OPT_STRING) {
            const char *s = *(char *const *)((const char *)src + OPTIONS[i].offset);
            char **d = (char **)((char *)dst + OPTIONS[i].offset);
            if (s && !(*d = strdup(s)))
                bad = 1;
        }
    if (bad) {
        config_free(dst);
        return SEGDB_ENOMEM;
    }
    return 0;
}

int config_load_file(server_config *cfg, const char *path, segdb_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(err, SEGDB_EINVAL, "can't open config file '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, r = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char **argv = NULL;
        size_t *lens = NULL;
        int argc = 0;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\0' || *p == '\n' || *p == '\r')
            continue;
        int sr = resp_split_line(line, (size_t)n, 64, &argv, &lens, &argc);
        if (sr < 0) {
            r = err_set(err, SEGDB_EINVAL, "%s:%d: %s", path, lineno,
                        sr == RESP_EQUOTES ? "unbalanced quotes" : "line can't be read");
            goto done;
        }
        if (argc == 0) {
            resp_free_args(argv, lens, argc);
            continue;
        }
        segdb_err e;
        if (argc != 2) {
            r = err_set(err, SEGDB_EINVAL, "%s:%d: '%s' takes exactly one value (quote values "
                        "that contain spaces)", path, lineno, argv[0]);
        } else if (!strcasecmp(argv[0], "config")) {
            r = err_set(err, SEGDB_EINVAL, "%s:%d: 'config' is a command-line option only", path,
                        lineno);
        } else if ((r = config_set(cfg, argv[0], argv[1], &e)) < 0) {
            r = err_set(err, r, "%s:%d: %s", path, lineno, e.msg);
        }
        resp_free_args(argv, lens, argc);
        if (r < 0)
            goto done;
    }
    {
        char *abs = realpath(path, NULL);
        free(cfg->config_file);
        cfg->config_file = abs ? abs : strdup(path);
    }
done:
    free(line);
    fclose(f);
    return r;
}

int config_parse_args(server_config *cfg, int argc, char **argv, bool *help, bool *version,
                      segdb_err *err)
{
    *help = *version = false;
    int first = 1;
    /* The config file first, so the command line overrides it. */
    const char *file = NULL;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0 && strcmp(argv[1], "-h") != 0 &&
        strcmp(argv[1], "-v") != 0) {
        file = argv[1];
        first = 2;
    }
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc)
                return err_set(err, SEGDB_EINVAL, "option --config needs a file name");
            file = argv[i + 1];
            i++;
        } else if (!strncmp(argv[i], "--config=", 9)) {
            file = argv[i] + 9;
        }
    }
    if (file) {
        int r = config_load_file(cfg, file, err);
        if (r < 0)
            return r;
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = true;
            continue;
        }
        if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
            *version = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return err_set(err, SEGDB_EINVAL, "unexpected argument '%s' (options start with --; "
                           "see --help)", a);
        char name[128];
        const char *value = NULL;
        const char *eq = strchr(a + 2, '=');
        size_t nl = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (nl == 0 || nl >= sizeof(name))
            return err_set(err, SEGDB_EINVAL, "malformed option '%s'", a);
        memcpy(name, a + 2, nl);
        name[nl] = '\0';
        if (!strcmp(name, "config")) {
            if (!eq)
                i++;
            continue;
        }
        const opt_def *o = find_opt(name);
        if (!o)
            return err_set(err, SEGDB_EINVAL, "unknown option --%s (see --help)", name);
        if (eq) {
            value = eq + 1;
        } else if (o->type == OPT_FLAG) {
            bool b;
            if (i + 1 < argc && parse_bool(argv[i + 1], &b) == 0)
                value = argv[++i];
            else
                value = "yes";
        } else {
            if (i + 1 >= argc)
                return err_set(err, SEGDB_EINVAL, "option --%s needs a value", name);
            value = argv[++i];
        }
        int r = apply(cfg, o, value, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static void value_text(const server_config *cfg, const opt_def *o, char *buf, size_t cap)
{
    const char *base = (const char *)cfg + o->offset;
    switch (o->type) {
    case OPT_STRING: {
        const char *s = *(char *const *)base;
        snprintf(buf, cap, "%s", s ? s : "");
        break;
    }
    case OPT_INT:
        snprintf(buf, cap, "%d", *(const int *)base);
        break;
    case OPT_I64:
        snprintf(buf, cap, "%" PRId64, *(const int64_t *)base);
        break;
    case OPT_SIZE:
        snprintf(buf, cap, "%" PRIu64, *(const uint64_t *)base);
        break;
    case OPT_BOOL:
    case OPT_FLAG:
        snprintf(buf, cap, "%s", *(const bool *)base ? "yes" : "no");
        break;
    case OPT_ENUM:
        snprintf(buf, cap, "%s", o->members[*(const int *)base]);
        break;
    case OPT_TZ: {
        int v = *(const int *)base;
        int a = v < 0 ? -v : v;
        snprintf(buf, cap, "%c%02d:%02d", v < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
        break;
    }
    }
}

void config_each(const server_config *cfg, const char *pattern,
                 void (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
    char buf[4096];
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (!config_glob_match(pattern, OPTIONS[i].name))
            continue;
        value_text(cfg, &OPTIONS[i], buf, sizeof(buf));
        fn(ctx, OPTIONS[i].name, buf);
    }
}

void config_print_help(FILE *f, const char *prog)
{
    fprintf(f,
            "Usage: %s [CONFIG_FILE] [--config FILE] [--option value ...]\n"
            "       %s --help | --version\n\n"
            "segdb-server serves a segdb contact database over RESP2 (redis-cli, Redis client\n"
            "libraries, nc). Every option below can also be a line \"option value\" in the\n"
            "config file; command-line options win over the file.\n\nOptions:\n",
            prog, prog);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const opt_def *o = &OPTIONS[i];
        const char *arg = "<value>";
        char members[128];
        switch (o->type) {
        case OPT_STRING: arg = !strcmp(o->name, "dir") ? "<dir>" : !strcmp(o->name, "bind") ? "<address>" : "<string>"; break;
        case OPT_INT:
        case OPT_I64: arg = "<n>"; break;
        case OPT_SIZE: arg = "<size>"; break;
        case OPT_BOOL: arg = "yes|no"; break;
        case OPT_FLAG: arg = ""; break;
        case OPT_TZ: arg = "<+HH:MM>"; break;
        case OPT_ENUM:
            members[0] = '\0';
            for (int k = 0; o->members[k]; k++) {
                strncat(members, k ? "|" : "", sizeof(members) - strlen(members) - 1);
                strncat(members, o->members[k], sizeof(members) - strlen(members) - 1);
            }
            arg = members;
            break;
        }
        char head[256];
        snprintf(head, sizeof(head), "--%s %s", o->name, arg);
        fprintf(f, "  %-40s %s", head, o->help);
        if (o->type != OPT_FLAG && o->def)
            fprintf(f, " (default: %s)", *o->def ? o->def : "none");
        else if (o->type != OPT_FLAG)
            fprintf(f, " (default: %lld)", o->dnum);
        fputc('\n', f);
    }
    fprintf(f, "  %-40s %s\n", "--config <file>", "read options from this file first");
    fprintf(f, "  %-40s %s\n", "--help", "print this help");
    fprintf(f, "  %-40s %s\n", "--version", "print the version");
}

void config_engine_options(const server_config *cfg, segdb_options *o)
{
    segdb_options_init(o);
    o->dont_forget_days = cfg->dont_forget_days;
    o->tz_offset_seconds = cfg->tz_offset_seconds;
    o->query_threads = (uint32_t)cfg->query_threads;
    o->max_filter_bytes = (uint32_t)(cfg->filter_max_bytes > UINT32_MAX ? UINT32_MAX : cfg->filter_max_bytes);
    o->max_filter_depth = (uint32_t)cfg->filter_max_depth;
    o->max_filter_terms = (uint32_t)cfg->filter_max_terms;
    o->max_find_limit = (uint32_t)cfg->find_max_limit;
    o->max_id_list = (uint32_t)cfg->id_list_max;
    o->max_note_chars = (uint32_t)cfg->note_max_chars;
}

static int lower(int c) { return tolower((unsigned char)c); }

bool config_glob_match(const char *p, const char *s)
{
    while (*p) {
        switch (*p) {
        case '*':
            while (p[1] == '*')
                p++;
            if (!p[1])
                return true;
            for (; *s; s++)
                if (config_glob_match(p + 1, s))
                    return true;
            return false;
        case '?':
            if (!*s)
                return false;
            s++;
            break;
        case '[': {
            if (!*s)
                return false;
            p++;
            bool neg = *p == '^';
            if (neg)
                p++;
            bool match = false;
            while (*p && *p != ']') {
                if (*p == '\\' && p[1]) {
                    p++;
                    if (lower(*p) == lower(*s))
                        match = true;
                } else if (p[1] == '-' && p[2] && p[2] != ']') {
                    int a = lower(p[0]), b = lower(p[2]), c = lower(*s);
                    if (a > b) {
                        int t = a;
                        a = b;
                        b = t;
                    }
                    if (c >= a && c <= b)
                        match = true;
                    p += 2;
                } else if (lower(*p) == lower(*s)) {
                    match = true;
                }
                p++;
            }
            if (!*p)
                return false; /* unterminated class matches nothing */
            if (match == neg)
                return false;
            s++;
            break;
        }
        case '\\':
            if (p[1])
                p++;
            /* fall through */
        default:
            if (lower(*p) != lower(*s))
                return false;
            s++;
            break;
        }
        p++;
    }
    return *s == '\0';
}

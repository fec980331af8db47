/*
 * segdb-cli.c — the command-line client of segdb.
 *
 *   segdb-cli [-h host] [-p port] [-a password] [options] [command [arg ...]]
 *   segdb-cli --embedded DIR [options] [command [arg ...]]
 *
 * Modes, chosen once from the arguments and stdin:
 *   - a subcommand (SUBCOMMANDS below: `segdb-cli help COUNT`) runs a
 *     function of the CLI itself;
 *   - a command after the options is sent once, its reply printed
 *     (run_args);
 *   - no command, stdin a terminal: the interactive prompt with line
 *     editing, history, TAB completion, formatted replies and a timing line
 *     (run_interactive);
 *   - no command, stdin not a terminal: one command per line (run_stdin).
 * Replies are formatted like redis-cli's when stdout is a terminal and raw
 * otherwise (--raw / --no-raw force one form); see cli_render.h. The exit
 * status is 0 when every command succeeded, 1 when one got an error reply or
 * the connection failed, 2 for a usage error.
 *
 * Each mode and subcommand is one function taking the session, which holds
 * the backend (a server over TCP, or the engine in process: cli_backend.h),
 * so new subcommands (`import FILE`, `export` streaming CSV through the
 * server's IMPORT/EXPORT) are one function and one table row each.
 */
#include <errno.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli_backend.h"
#include "cli_buf.h"
#include "cli_complete.h"
#include "cli_csv.h"
#include "cli_edit.h"
#include "cli_embedded.h"
#include "cli_remote.h"
#include "cli_render.h"
#include "cli_resp.h"
#include "resp.h"
#include "segdb_limits.h"
#include "server.h"

#define PROG "segdb-cli"

typedef struct cli_options {
    const char *host;
    int port;
    const char *password;
    const char *embedded_dir;   /* NULL = remote */
    int timeout_ms;             /* -t: longest wait for a reply byte; 0 = forever */
    int raw;                    /* -1 auto (by stdout), 0 formatted, 1 raw */
    bool help, version;
    int cmd_argc;               /* the command after the options */
    char **cmd_argv;
} cli_options;

typedef struct cli_session {
    cli_backend *b;
    cli_out_mode mode;
    bool interactive;           /* the prompt: messages say "Error:", timing lines shown */
    cli_words commands, fields; /* for completion, loaded on first TAB */
    bool names_loaded;
    const char *input_name;     /* run_stdin: shown with line numbers in messages */
    unsigned long lineno;       /* run_stdin: the line being run; 0 otherwise */
} cli_session;

/* ---- subcommands ------------------------------------------------------------ */

/* A subcommand: `segdb-cli NAME args...` runs fn instead of sending a
 * command. Names are matched exactly, in lower case, so the server's own
 * commands typed in upper case (IMPORT, EXPORT) are still sent as they are.
 * fn gets the arguments after NAME and returns the exit status. */
typedef int cli_subcommand_fn(cli_session *s, int argc, char **argv);

typedef struct cli_subcommand {
    const char *name;
    cli_subcommand_fn *fn;
    const char *usage;
} cli_subcommand;

static int cmd_help(cli_session *s, int argc, char **argv);
static int cmd_import(cli_session *s, int argc, char **argv) { return cli_csv_import(s->b, argc, argv); }
static int cmd_export(cli_session *s, int argc, char **argv) { return cli_csv_export(s->b, argc, argv); }

static const cli_subcommand SUBCOMMANDS[] = {
    {"help", cmd_help, "help [COMMAND | @GROUP]   syntax and summary of server commands"},
    {"import", cmd_import,
     "import FILE [--match id|identifier|email|phone] [--create-fields] [--errors REPORT.csv]\n"
     "                     load a CSV file through IMPORT (see docs/import-export.md)"},
    {"export", cmd_export,
     "export [--fields f1,f2,...] [--where FILTER] [--excel] [-o FILE]\n"
     "                     contacts as CSV through EXPORT, to stdout or FILE"},
};
#define NSUBCOMMANDS (sizeof(SUBCOMMANDS) / sizeof(SUBCOMMANDS[0]))

static const cli_subcommand *find_subcommand(const char *name)
{
    for (size_t i = 0; i < NSUBCOMMANDS; i++)
        if (strcmp(SUBCOMMANDS[i].name, name) == 0)
            return &SUBCOMMANDS[i];
    return NULL;
}

/* ---- messages ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " [-h HOST] [-p PORT] [-a PASSWORD] [OPTIONS] [COMMAND [ARG ...]]\n"
            "       " PROG " --embedded DIR [OPTIONS] [COMMAND [ARG ...]]\n"
            "\n"
            "  -h HOST          server host name or address (default %s)\n"
            "  -p PORT          server port (default %d)\n"
            "  -a PASSWORD      AUTH with this password on connecting (or set SEGDB_CLI_AUTH,\n"
            "                   which keeps it out of the process list)\n"
            "  --embedded DIR   run the engine inside the CLI instead of connecting; DIR is its\n"
            "                   data directory\n"
            "  -t SECONDS       drop the connection when a reply stalls this long (default: wait)\n"
            "  --raw            print replies raw (the default when stdout is not a terminal)\n"
            "  --no-raw         print replies formatted (the default on a terminal)\n"
            "  --help           this help;  -v, --version  the version\n"
            "\n"
            "With a COMMAND, sends it and prints the reply. Without one, reads commands from\n"
            "the terminal (line editing, history in ~/.segdb_history or $SEGDB_HISTFILE, TAB\n"
            "completion) or, when stdin is not a terminal, one command per line from stdin.\n"
            "Lines are split like redis-cli's: \"double\" and 'single' quotes group words.\n"
            "Subcommands:\n",
            SEGDB_DEFAULT_BIND, SEGDB_DEFAULT_PORT);
    for (size_t i = 0; i < NSUBCOMMANDS; i++)
        fprintf(f, "  " PROG " %s\n", SUBCOMMANDS[i].usage);
    fprintf(f,
            "Examples:\n"
            "  " PROG " COUNT WHERE tag:vip AND city:hanoi\n"
            "  " PROG " FIND FIELDS name,city LIMIT 0 10 WHERE 'q:nguyen AND city:\"Hà Nội\"'\n"
            "  " PROG " --embedded ./data < commands.txt\n"
            "Exit status: 0 when every command succeeded, 1 when one got an error or the\n"
            "connection failed, 2 for bad options.\n");
}

/* A problem that is not a reply: "Error: ..." at the prompt, "segdb-cli: ..." otherwise. */
static void complain(const cli_session *s, const char *msg)
{
    if (s->interactive)
        printf("Error: %s\n", msg);
    else if (s->lineno)
        fprintf(stderr, PROG ": %s line %lu: %s\n", s->input_name, s->lineno, msg);
    else
        fprintf(stderr, PROG ": %s\n", msg);
    fflush(stdout);
}

/* An error reply in raw mode: on stderr (stdout carries only data), with
 * the line number when commands come from stdin. */
static void error_to_stderr(const cli_session *s, const char *text)
{
    fflush(stdout);
    if (s->lineno)
        fprintf(stderr, "%s line %lu: %s\n", s->input_name, s->lineno, text);
    else
        fprintf(stderr, "%s\n", text);
}

/* ---- running one command -------------------------------------------------- */

enum { RUN_OK = 0, RUN_ERROR_REPLY = 1, RUN_FAILED = 2, RUN_ENDED = 3 };

static double elapsed_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static bool word_is(const char *a, const char *w) { return strcasecmp(a, w) == 0; }

/* Send one command, print its reply. RUN_OK, RUN_ERROR_REPLY (an error
 * reply was printed), RUN_FAILED (no reply: connection or protocol
 * problem, or stdout can't be written) or RUN_ENDED (QUIT / SHUTDOWN). */
static int run_command(cli_session *s, int argc, const char *const *argv, const size_t *argvlen)
{
    if (argc == 0)
        return RUN_OK;
    char err[CLI_ERR_BYTES];
    cli_value *v = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = s->b->call(s->b, argc, argv, argvlen, &v, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == CLI_CALL_ENDED)
        return RUN_ENDED;
    if (rc != CLI_CALL_OK) {
        complain(s, err);
        return RUN_FAILED;
    }
    cli_buf out;
    cli_buf_init(&out);
    int result = RUN_OK;
    bool is_error = v->type == CLI_V_ERROR;
    if (is_error && s->mode == CLI_OUT_RAW) {
        /* raw output is data: an error goes to stderr, where it is seen */
        cli_buf_addstr(&out, "(error) ");
        cli_render_text(&out, v->str, v->len, false);
        if (out.oom)
            complain(s, "out of memory rendering the reply");
        else
            error_to_stderr(s, out.p);
        result = RUN_ERROR_REPLY;
    } else {
        cli_render_reply(&out, v, argc, argv, argvlen, s->mode);
        if (s->interactive && s->mode == CLI_OUT_TTY)
            cli_buf_addf(&out, "(%.2f ms)\n", elapsed_ms(&t0, &t1));
        if (out.oom) {
            complain(s, "out of memory rendering the reply");
            result = RUN_FAILED;
        } else if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
            result = RUN_FAILED;   /* stdout closed (a pipe's reader went away): stop */
        } else if (is_error) {
            result = RUN_ERROR_REPLY;
        }
    }
    /* what completion knows may have changed */
    if (!is_error && (word_is(argv[0], "FIELD.CREATE") || word_is(argv[0], "AUTH") ||
                      word_is(argv[0], "HELLO")))
        s->names_loaded = false;
    cli_buf_free(&out);
    cli_value_free(v);
    if (result == RUN_OK && s->b->ended)
        return RUN_ENDED;
    return result;
}

/* ---- help (a subcommand, and `help` at the prompt) --------------------------- */

/* The value after key in a flat name, value... array, or NULL. */
static const cli_value *map_get(const cli_value *m, const char *key)
{
    if (!m || m->type != CLI_V_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const cli_value *k = m->elem[i];
        if ((k->type == CLI_V_BULK || k->type == CLI_V_STATUS) && strcasecmp(k->str, key) == 0)
            return m->elem[i + 1];
    }
    return NULL;
}

static const char *str_of(const cli_value *v)
{
    return v && (v->type == CLI_V_BULK || v->type == CLI_V_STATUS) ? v->str : "";
}

/* One COMMAND DOCS entry: "NAME args" and its summary. */
static void print_doc(const char *name, const cli_value *doc, bool with_group)
{
    const cli_value *args = map_get(doc, "arguments");
    const char *synopsis = "";
    if (args && args->type == CLI_V_ARRAY && args->n > 0)
        synopsis = str_of(map_get(args->elem[0], "name"));
    printf("\n  ");
    for (const char *p = name; *p; p++)
        putchar(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    printf(" %s\n  summary: %s\n", synopsis, str_of(map_get(doc, "summary")));
    if (with_group)
        printf("  group: %s\n", str_of(map_get(doc, "group")));
}

static int cmd_help(cli_session *s, int argc, char **argv)
{
    if (argc == 0) {
        printf(PROG " %s, %s %s\n"
               "Type a command, e.g. COUNT WHERE city:\"Hà Nội\" AND tag:vip\n"
               "  \"help COMMAND\"  one command's syntax, e.g. help FIND\n"
               "  \"help @GROUP\"   the commands of a group: @contacts @fields @connection @server\n"
               "  TAB completes command, keyword and field names; \"exit\" or Ctrl-D quits.\n",
               SEGDB_VERSION, s->b->connected ? "talking to" : "not connected to", s->b->label);
        return 0;
    }
    const char *want = argv[0];
    bool group = want[0] == '@';
    char err[CLI_ERR_BYTES];
    cli_value *v = NULL;
    const char *docs_all[] = {"COMMAND", "DOCS"};
    const char *docs_one[] = {"COMMAND", "DOCS", want};
    if (!s->b->connected) {
        complain(s, "help needs the server's command table: not connected");
        return 1;
    }
    int rc = cli_backend_callv(s->b, &v, err, sizeof err, group ? 2 : 3, group ? docs_all : docs_one);
    if (rc != CLI_CALL_OK) {
        complain(s, err);
        return 1;
    }
    int status = 0;
    size_t shown = 0;
    if (v->type == CLI_V_ARRAY) {
        for (size_t i = 0; i + 1 < v->n; i += 2) {
            const char *name = str_of(v->elem[i]);
            const cli_value *doc = v->elem[i + 1];
            if (group && strcasecmp(str_of(map_get(doc, "group")), want + 1) != 0)
                continue;
            print_doc(name, doc, !group);
            shown++;
        }
    }
    if (v->type == CLI_V_ERROR) {
        char msg[CLI_ERR_BYTES + 32];
        snprintf(msg, sizeof msg, "help is not available: %s", v->str);
        complain(s, msg);
        status = 1;
    } else if (shown == 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "no %s '%.100s' (try \"help\")", group ? "group" : "command", group ? want + 1 : want);
        complain(s, msg);
        status = 1;
    } else {
        putchar('\n');
    }
    fflush(stdout);
    cli_value_free(v);
    return status;
}

/* ---- modes ------------------------------------------------------------------- */

/* segdb-cli COMMAND ARG...: the arguments are sent as they are. */
static int run_args(cli_session *s, int argc, char **argv)
{
    size_t *lens = malloc((size_t)argc * sizeof(*lens));
    if (!lens) {
        complain(s, "out of memory");
        return 1;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    int r = run_command(s, argc, (const char *const *)argv, lens);
    free(lens);
    return r == RUN_OK || r == RUN_ENDED ? 0 : 1;
}

/* Split a typed line like redis-cli. 0 (argc may be 0 for a blank line), or -1 after saying why. */
static int split_line(cli_session *s, const char *line, char ***argv, size_t **lens, int *argc)
{
    int r = resp_split_line(line, strlen(line), SEGDB_MAX_ARGS, argv, lens, argc);
    if (r == 0)
        return 0;
    complain(s, r == RESP_EQUOTES ? "Invalid argument(s): unbalanced quotes"
                : r == RESP_ELIMIT ? "Invalid argument(s): too many words"
                                   : "out of memory");
    return -1;
}

/* Commands from stdin, one a line; blank lines and lines starting with # are skipped. */
static int run_stdin(cli_session *s)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    s->input_name = "stdin";
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        s->lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if ((size_t)n != strlen(line)) {
            complain(s, "a NUL byte in the line: not sent");
            status = 1;
            continue;
        }
        char **argv = NULL;
        size_t *lens = NULL;
        int argc = 0;
        if (split_line(s, line, &argv, &lens, &argc) < 0) {
            status = 1;
            continue;
        }
        int r = run_command(s, argc, (const char *const *)argv, lens);
        resp_free_args(argv, lens, argc);
        if (r == RUN_ERROR_REPLY)
            status = 1;
        if (r == RUN_FAILED) {
            status = 1;
            break;
        }
        if (r == RUN_ENDED)
            break;
    }
    if (ferror(stdin)) {
        char msg[160];
        snprintf(msg, sizeof msg, "error reading stdin: %s", strerror(errno));
        complain(s, msg);
        status = 1;
    }
    free(line);
    return status;
}

static void load_names(cli_session *s)
{
    if (s->names_loaded || !s->b->connected)
        return;
    cli_words_free(&s->commands);
    cli_words_free(&s->fields);
    bool ok = s->b->command_names(s->b, &s->commands) == 0;
    cli_backend_field_names(s->b, &s->fields);
    /* without the command table (NOAUTH...) try again on the next TAB */
    s->names_loaded = ok && s->commands.n > 0;
}

static void complete_cb(void *ctx, const char *line, size_t cursor, cli_completion *out)
{
    cli_session *s = ctx;
    load_names(s);
    if (cli_complete(line, cursor, &s->commands, &s->fields, out) < 0)
        memset(out, 0, sizeof(*out));
}

/* The history file: $SEGDB_HISTFILE ("" = none), else ~/.segdb_history. malloc'd or NULL. */
static char *history_path(void)
{
    const char *env = getenv("SEGDB_HISTFILE");
    if (env)
        return *env ? strdup(env) : NULL;
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return NULL;
    size_t n = strlen(home) + sizeof "/.segdb_history";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.segdb_history", home);
    return p;
}

/* Lines that carry a password are not written to the history file. */
static bool secret_line(int argc, char **argv)
{
    if (argc > 0 && word_is(argv[0], "AUTH"))
        return true;
    for (int i = 1; argc > 0 && word_is(argv[0], "HELLO") && i < argc; i++)
        if (word_is(argv[i], "AUTH"))
            return true;
    return false;
}

static void try_connect(cli_session *s)
{
    char err[CLI_ERR_BYTES];
    int r = s->b->connect(s->b, err, sizeof err);
    if (r != 0)
        complain(s, err);
    s->names_loaded = false;
}

static int run_interactive(cli_session *s)
{
    char *hist = history_path();
    cli_editor *ed = cli_editor_create(PROG, hist, complete_cb, s);
    free(hist);
    if (!ed) {
        complain(s, "can't set up line editing on this terminal");
        return 1;
    }
    for (;;) {
        char prompt[CLI_LABEL_BYTES + 32];
        snprintf(prompt, sizeof prompt, "%s> ", s->b->connected ? s->b->label : "not connected");
        cli_editor_set_prompt(ed, prompt);
        char *line = cli_editor_read(ed);
        if (!line) {
            putchar('\n');
            break;
        }
        char **argv = NULL;
        size_t *lens = NULL;
        int argc = 0;
        if (split_line(s, line, &argv, &lens, &argc) < 0 || argc == 0) {
            free(line);
            continue;
        }
        if (!secret_line(argc, argv))
            cli_editor_remember(ed, line);
        free(line);
        bool stop = false;
        if (word_is(argv[0], "exit") || (argc == 1 && word_is(argv[0], "quit"))) {
            stop = true;
        } else if (argc == 1 && word_is(argv[0], "clear")) {
            fputs("\033[H\033[2J", stdout);
            fflush(stdout);
        } else if (word_is(argv[0], "help")) {
            if (!s->b->connected && argc > 1)
                try_connect(s);
            cmd_help(s, argc - 1, argv + 1);
        } else {
            if (!s->b->connected)
                try_connect(s);
            if (s->b->connected) {
                int r = run_command(s, argc, (const char *const *)argv, lens);
                if (r == RUN_ENDED)
                    stop = true;
                else if (r == RUN_FAILED && !s->b->connected)
                    s->names_loaded = false;   /* reconnects before the next command */
            }
        }
        resp_free_args(argv, lens, argc);
        if (stop)
            break;
    }
    cli_editor_free(ed);
    return 0;
}

/* ---- options ------------------------------------------------------------------ */

/* "--name=value" or "--name value" / "-x value": the value, advancing *i; NULL if missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t nl = strlen(name);
    if (strncmp(a, name, nl) == 0 && a[nl] == '=' && name[1] == '-')
        return a + nl + 1;
    if (strcmp(a, name) != 0)
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, PROG ": %s needs a value\n", name);
        return NULL;
    }
    return argv[++*i];
}

static bool opt_is(const char *a, const char *name)
{
    size_t nl = strlen(name);
    return strcmp(a, name) == 0 || (name[1] == '-' && strncmp(a, name, nl) == 0 && a[nl] == '=');
}

/* 0, or -1 after printing what is wrong. */
static int parse_options(int argc, char **argv, cli_options *o)
{
    memset(o, 0, sizeof(*o));
    o->port = SEGDB_DEFAULT_PORT;
    o->raw = -1;
    bool host_given = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (strcmp(a, "--help") == 0) {
            o->help = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            o->version = true;
        } else if (strcmp(a, "--raw") == 0) {
            o->raw = 1;
        } else if (strcmp(a, "--no-raw") == 0) {
            o->raw = 0;
        } else if (opt_is(a, "-h")) {
            if (!(v = opt_value(argc, argv, &i, "-h")))
                return -1;
            o->host = v;
            host_given = true;
        } else if (opt_is(a, "-p")) {
            if (!(v = opt_value(argc, argv, &i, "-p")))
                return -1;
            char *end;
            errno = 0;
            long p = strtol(v, &end, 10);
            if (errno || *end || end == v || p < 1 || p > 65535) {
                fprintf(stderr, PROG ": -p takes a port from 1 to 65535, not '%s'\n", v);
                return -1;
            }
            o->port = (int)p;
            host_given = true;
        } else if (opt_is(a, "-a")) {
            if (!(v = opt_value(argc, argv, &i, "-a")))
                return -1;
            o->password = v;
        } else if (opt_is(a, "-t")) {
            if (!(v = opt_value(argc, argv, &i, "-t")))
                return -1;
            char *end;
            errno = 0;
            double t = strtod(v, &end);
            if (errno || *end || end == v || !(t >= 0) || t > 86400) {
                fprintf(stderr, PROG ": -t takes seconds from 0 to 86400, not '%s'\n", v);
                return -1;
            }
            o->timeout_ms = t > 0 && t < 0.001 ? 1 : (int)(t * 1000);
        } else if (opt_is(a, "--embedded")) {
            if (!(v = opt_value(argc, argv, &i, "--embedded")))
                return -1;
            if (!*v) {
                fprintf(stderr, PROG ": --embedded needs a data directory\n");
                return -1;
            }
            o->embedded_dir = v;
        } else {
            fprintf(stderr, PROG ": unknown option '%s' (see " PROG " --help)\n", a);
            return -1;
        }
    }
    if (o->embedded_dir && (host_given || o->password)) {
        fprintf(stderr, PROG ": --embedded runs the engine in process: -h, -p and -a don't apply\n");
        return -1;
    }
    if (!o->host)
        o->host = SEGDB_DEFAULT_BIND;
    if (!o->password) {
        const char *env = getenv("SEGDB_CLI_AUTH");
        if (env && *env)
            o->password = env;
    }
    o->cmd_argc = argc - i;
    o->cmd_argv = argv + i;
    return 0;
}

int main(int argc, char **argv)
{
    /* LC_CTYPE only: UTF-8 line editing, while numbers keep their C format */
    setlocale(LC_CTYPE, "");
    signal(SIGPIPE, SIG_IGN);
    cli_options o;
    if (parse_options(argc, argv, &o) < 0)
        return 2;
    if (o.help) {
        usage(stdout);
        return 0;
    }
    if (o.version) {
        printf(PROG " %s\n", SEGDB_VERSION);
        return 0;
    }
    cli_session s;
    memset(&s, 0, sizeof s);
    cli_words_init(&s.commands);
    cli_words_init(&s.fields);
    bool stdin_tty = isatty(STDIN_FILENO);
    bool interactive = o.cmd_argc == 0 && stdin_tty;
    s.mode = o.raw == 1 ? CLI_OUT_RAW : o.raw == 0 ? CLI_OUT_TTY : isatty(STDOUT_FILENO) ? CLI_OUT_TTY : CLI_OUT_RAW;
    s.interactive = interactive;
    char err[CLI_ERR_BYTES];
    int status = 1;
    if (o.embedded_dir) {
        s.b = cli_embedded_create(o.embedded_dir, !interactive, err, sizeof err);
        if (!s.b) {
            fprintf(stderr, PROG ": %s\n", err);
            goto done;
        }
    } else {
        cli_remote_opts ro = {.host = o.host, .port = o.port, .password = o.password, .timeout_ms = o.timeout_ms};
        s.b = cli_remote_create(&ro);
        if (!s.b) {
            fprintf(stderr, PROG ": out of memory\n");
            goto done;
        }
        if (interactive && o.password && getenv("SEGDB_CLI_AUTH") != o.password)
            fprintf(stderr, "Warning: a password given with -a is visible to other users in the "
                            "process list; SEGDB_CLI_AUTH is safer.\n");
        int r = s.b->connect(s.b, err, sizeof err);
        if (r != 0) {
            if (!interactive) {
                fprintf(stderr, PROG ": %s\n", err);
                goto done;
            }
            complain(&s, err);
        }
    }
    if (o.cmd_argc > 0) {
        const cli_subcommand *sub = find_subcommand(o.cmd_argv[0]);
        status = sub ? sub->fn(&s, o.cmd_argc - 1, o.cmd_argv + 1) : run_args(&s, o.cmd_argc, o.cmd_argv);
    } else if (interactive) {
        status = run_interactive(&s);
    } else {
        status = run_stdin(&s);
    }
done:
    if (cli_backend_free(s.b, err, sizeof err) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        status = 1;
    }
    cli_words_free(&s.commands);
    cli_words_free(&s.fields);
    return status;
}

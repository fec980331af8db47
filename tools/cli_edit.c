/*
 * cli_edit.c — the libedit line editor of segdb-cli (see cli_edit.h). Uses
 * libedit's own API (histedit.h) rather than its readline emulation: the
 * completion key is bound to a function of ours that edits the line itself,
 * so there is no fallback to file-name completion and a completion may
 * change the case of what was typed.
 */
#include "cli_edit.h"

#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#define HISTORY_ENTRIES 1000

struct cli_editor {
    EditLine *el;
    History *hist;
    char *histfile;
    bool hist_created;   /* the file exists with mode 0600 */
    char *prompt;
    cli_complete_fn *fn;
    void *ctx;
};

static char *prompt_fn(EditLine *el)
{
    cli_editor *e = NULL;
    el_get(el, EL_CLIENTDATA, &e);
    return e && e->prompt ? e->prompt : (char *)"> ";
}

static size_t terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Several candidates and nothing in common to add: show them under the line. */
static void list_matches(const cli_completion *c)
{
    size_t width = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t l = strlen(c->matches[i]);
        if (l > width)
            width = l;
    }
    width += 2;
    size_t per_line = terminal_columns() / width;
    if (per_line == 0)
        per_line = 1;
    fputc('\n', stdout);
    for (size_t i = 0; i < c->n; i++) {
        bool last = (i + 1) % per_line == 0 || i + 1 == c->n;
        if (last)
            printf("%s\n", c->matches[i]);
        else
            printf("%-*s", (int)width, c->matches[i]);
    }
    fflush(stdout);
}

static unsigned char complete_key(EditLine *el, int ch)
{
    cli_editor *e = NULL;
    el_get(el, EL_CLIENTDATA, &e);
    const LineInfo *li = el_line(el);
    if (!e || !e->fn || !li)
        return CC_ERROR;
    size_t cursor = (size_t)(li->cursor - li->buffer);
    char *line = strndup(li->buffer, cursor);
    if (!line)
        return CC_ERROR;
    cli_completion c;
    e->fn(e->ctx, line, cursor, &c);
    free(line);
    unsigned char ret = CC_ERROR;   /* no candidate: beep */
    size_t typed = cursor >= c.start ? cursor - c.start : 0;
    if (c.n == 1) {
        el_deletestr(el, (int)typed);
        el_insertstr(el, c.matches[0]);
        if (c.space[0])
            el_insertstr(el, " ");
        ret = CC_REFRESH;
    } else if (c.n > 1) {
        size_t common = cli_completion_common(&c);
        if (common > typed) {
            char *pre = strndup(c.matches[0], common);
            if (pre) {
                el_deletestr(el, (int)typed);
                el_insertstr(el, pre);
                free(pre);
            }
            ret = CC_REFRESH;
        } else {
            list_matches(&c);
            ret = CC_REDISPLAY;
        }
    }
    cli_completion_free(&c);
    return ret;
}

cli_editor *cli_editor_create(const char *prog, const char *histfile, cli_complete_fn *fn, void *ctx)
{
    cli_editor *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->fn = fn;
    e->ctx = ctx;
    if (histfile && !(e->histfile = strdup(histfile)))
        goto fail;
    e->el = el_init(prog, stdin, stdout, stderr);
    e->hist = history_init();
    if (!e->el || !e->hist)
        goto fail;
    HistEvent ev;
    history(e->hist, &ev, H_SETSIZE, HISTORY_ENTRIES);
    history(e->hist, &ev, H_SETUNIQUE, 1);
    el_set(e->el, EL_CLIENTDATA, e);
    el_set(e->el, EL_PROMPT, prompt_fn);
    el_set(e->el, EL_EDITOR, "emacs");
    el_set(e->el, EL_SIGNAL, 1);
    el_set(e->el, EL_HIST, history, e->hist);
    /* the wide-character call: libedit's narrow EL_ADDFN leaks copies of both strings */
    el_wset(e->el, EL_ADDFN, L"segdb-complete", L"Complete a command, keyword or field name", complete_key);
    el_set(e->el, EL_BIND, "^I", "segdb-complete", NULL);
    el_source(e->el, NULL);   /* ~/.editrc, e.g. "bind -v" for vi keys */
    if (e->histfile) {
        struct stat st;
        e->hist_created = stat(e->histfile, &st) == 0;
        history(e->hist, &ev, H_LOAD, e->histfile);   /* a missing file is an empty history */
    }
    return e;
fail:
    cli_editor_free(e);
    return NULL;
}

void cli_editor_free(cli_editor *e)
{
    if (!e)
        return;
    if (e->el)
        el_end(e->el);
    if (e->hist)
        history_end(e->hist);
    free(e->histfile);
    free(e->prompt);
    free(e);
}

void cli_editor_set_prompt(cli_editor *e, const char *prompt)
{
    char *p = strdup(prompt);
    if (!p)
        return;   /* keep the old prompt */
    free(e->prompt);
    e->prompt = p;
}

char *cli_editor_read(cli_editor *e)
{
    for (;;) {
        int count = 0;
        errno = 0;
        const char *s = el_gets(e->el, &count);
        if (!s || count <= 0) {
            if (count < 0 && errno == EINTR)
                continue;
            return NULL;
        }
        size_t n = (size_t)count;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
            n--;
        return strndup(s, n);
    }
}

void cli_editor_remember(cli_editor *e, const char *line)
{
    HistEvent ev;
    history(e->hist, &ev, H_ENTER, line);
    if (!e->histfile)
        return;
    if (!e->hist_created) {
        /* created private before anything is written to it: lines may hold secrets */
        int fd = open(e->histfile, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
        e->hist_created = true;
    }
    history(e->hist, &ev, H_SAVE, e->histfile);
}

/*
 * test_cli_remote.c — Criterion suite `cli_remote`: segdb-cli's TCP backend
 * against a scripted fake server (a forked child on a loopback port) that
 * misbehaves on purpose: replies dribbled one byte at a time, garbage, a
 * connection closed in the middle of a reply, a stalled reply, a declared
 * bulk far over the reply bound, unsolicited extra replies, a refused AUTH,
 * SHUTDOWN's silent close. The CLI must report each as an error, drop the
 * connection and never hang (a stall is cut by the reply timeout) or crash.
 *
 * The fake server reads requests with the server's own RESP parser, so the
 * test also checks that what the CLI sends is a well-formed RESP array.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tools/cli_buf.c"
#include "../tools/cli_resp.c"
#include "../tools/cli_complete.c"
#include "../tools/cli_backend.c"
#include "../tools/cli_remote.c"

#include "resp.h"

static pid_t CHILD = -1;
static int PORT = 0;

static void send_str(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The script: what the fake server does for each command name. Returns
 * false when the connection is to be closed. */
static bool act(int fd, const resp_parser *p)
{
    const char *cmd = p->argv[0];
    if (!strcmp(cmd, "SLOW")) {
        const char *r = "*2\r\n$5\r\nhello\r\n:42\r\n";
        for (size_t i = 0; r[i]; i++) {
            send_str(fd, r + i, 1);
            pause_ms(2);
        }
    } else if (!strcmp(cmd, "GARBAGE")) {
        send_str(fd, "?x\r\n", 4);
    } else if (!strcmp(cmd, "HALF")) {
        send_str(fd, "$10\r\nabc", 8);
        return false;
    } else if (!strcmp(cmd, "STALL")) {
        send_str(fd, "$5\r\nab", 6);
        pause_ms(20000);
    } else if (!strcmp(cmd, "HUGE")) {
        send_str(fd, "$2000000000\r\n", 13);
        pause_ms(20000);
    } else if (!strcmp(cmd, "EXTRA")) {
        send_str(fd, "+a\r\n+b\r\n", 8);
    } else if (!strcmp(cmd, "AUTH")) {
        send_str(fd, "-WRONGPASS invalid username-password pair\r\n", 43);
    } else if (!strcmp(cmd, "SHUTDOWN")) {
        return false;
    } else if (!strcmp(cmd, "QUIT")) {
        send_str(fd, "+OK\r\n", 5);
        return false;
    } else {
        /* echo the arguments back as an array of bulks */
        char hdr[64];
        snprintf(hdr, sizeof hdr, "*%d\r\n", p->argc);
        send_str(fd, hdr, strlen(hdr));
        for (int i = 0; i < p->argc; i++) {
            snprintf(hdr, sizeof hdr, "$%zu\r\n", p->argvlen[i]);
            send_str(fd, hdr, strlen(hdr));
            send_str(fd, p->argv[i], p->argvlen[i]);
            send_str(fd, "\r\n", 2);
        }
    }
    return true;
}

static void serve(int lfd)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        resp_parser p;
        resp_parser_init(&p);
        char buf[4096];
        bool open = true;
        while (open) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            size_t off = 0;
            while (open && off < (size_t)n) {
                size_t used = 0;
                int r = resp_feed(&p, buf + off, (size_t)n - off, &used);
                off += used;
                if (r == RESP_CMD)
                    open = act(fd, &p);
                else if (r < 0)
                    open = false;
            }
        }
        resp_parser_free(&p);
        close(fd);
    }
}

static void start_fake(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(lfd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(lfd, 8), 0);
    socklen_t l = sizeof a;
    cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &l), 0);
    PORT = ntohs(a.sin_port);
    CHILD = fork();
    cr_assert_geq(CHILD, 0);
    if (CHILD == 0) {
        serve(lfd);
        _exit(0);
    }
    close(lfd);
}

static void stop_fake(void)
{
    if (CHILD > 0) {
        kill(CHILD, SIGKILL);
        waitpid(CHILD, NULL, 0);
    }
    CHILD = -1;
}

TestSuite(cli_remote, .init = start_fake, .fini = stop_fake, .timeout = 30);

static cli_backend *connected(const char *password, int timeout_ms, size_t max_reply)
{
    cli_remote_opts o = {.host = "127.0.0.1", .port = PORT, .password = password, .timeout_ms = timeout_ms,
                         .max_reply_bytes = max_reply};
    cli_backend *b = cli_remote_create(&o);
    cr_assert_not_null(b);
    char err[CLI_ERR_BYTES];
    int r = b->connect(b, err, sizeof err);
    if (!password)
        cr_assert_eq(r, 0, "%s", err);
    return b;
}

static int call1(cli_backend *b, const char *cmd, cli_value **v, char *err)
{
    const char *argv[] = {cmd};
    size_t lens[] = {strlen(cmd)};
    return b->call(b, 1, argv, lens, v, err, CLI_ERR_BYTES);
}

Test(cli_remote, arguments_arrive_intact_and_replies_come_back)
{
    cli_backend *b = connected(NULL, 0, 0);
    char label[64];
    snprintf(label, sizeof label, "127.0.0.1:%d", PORT);
    cr_assert_str_eq(b->label, label);
    const char *argv[] = {"COUNT", "WHERE", "city:\"H\xc3\xa0 N\xe1\xbb\x99i\"", "a\0b", ""};
    size_t lens[] = {5, 5, strlen(argv[2]), 3, 0};
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    cr_assert_eq(b->call(b, 5, argv, lens, &v, err, sizeof err), CLI_CALL_OK, "%s", err);
    cr_assert_eq(v->type, CLI_V_ARRAY);
    cr_assert_eq(v->n, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(v->elem[i]->len, lens[i]);
        cr_assert_eq(memcmp(v->elem[i]->str, argv[i], lens[i]), 0, "argument %d", i);
    }
    cli_value_free(v);
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, a_reply_dribbled_byte_by_byte_is_read_whole)
{
    cli_backend *b = connected(NULL, 5000, 0);
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    cr_assert_eq(call1(b, "SLOW", &v, err), CLI_CALL_OK, "%s", err);
    cr_assert_eq(v->n, 2);
    cr_assert_str_eq(v->elem[0]->str, "hello");
    cr_assert_eq(v->elem[1]->integer, 42);
    cli_value_free(v);
    /* and the connection goes on */
    cr_assert_eq(call1(b, "PING", &v, err), CLI_CALL_OK, "%s", err);
    cli_value_free(v);
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, garbage_drops_the_connection)
{
    cli_backend *b = connected(NULL, 0, 0);
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    cr_assert_eq(call1(b, "GARBAGE", &v, err), CLI_CALL_EPROTO);
    cr_assert_null(v);
    cr_assert(strstr(err, "Protocol error") != NULL, "%s", err);
    cr_assert_not(b->connected);
    cr_assert_eq(call1(b, "PING", &v, err), CLI_CALL_EIO);
    cr_assert(strstr(err, "not connected") != NULL, "%s", err);
    /* a reconnect works again */
    cr_assert_eq(b->connect(b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(call1(b, "PING", &v, err), CLI_CALL_OK, "%s", err);
    cli_value_free(v);
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, close_in_the_middle_of_a_reply_is_an_error)
{
    cli_backend *b = connected(NULL, 0, 0);
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    cr_assert_eq(call1(b, "HALF", &v, err), CLI_CALL_EIO);
    cr_assert(strstr(err, "middle of a reply") != NULL, "%s", err);
    cr_assert_not(b->connected);
    cr_assert_not(b->ended);
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, a_stalled_reply_is_cut_by_the_timeout)
{
    cli_backend *b = connected(NULL, 300, 0);
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    cr_assert_eq(call1(b, "STALL", &v, err), CLI_CALL_EIO);
    cr_assert(strstr(err, "no reply") != NULL, "%s", err);
    cr_assert_not(b->connected);
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, a_bulk_over_the_bound_is_refused_on_its_header)
{
    /* no timeout: the refusal must not wait for the 2 GB that never come */
    cli_backend *b = connected(NULL, 0, 1024 * 1024);
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    cr_assert_eq(call1(b, "HUGE", &v, err), CLI_CALL_EPROTO);
    cr_assert(strstr(err, "2000000000") != NULL, "%s", err);
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, unsolicited_bytes_drop_the_connection_after_the_reply)
{
    cli_backend *b = connected(NULL, 0, 0);
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    cr_assert_eq(call1(b, "EXTRA", &v, err), CLI_CALL_OK, "%s", err);
    cr_assert_str_eq(v->str, "a");
    cli_value_free(v);
    cr_assert_not(b->connected, "later replies could not be matched to their commands");
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, refused_auth_is_reported_and_the_connection_stays)
{
    cli_remote_opts o = {.host = "127.0.0.1", .port = PORT, .password = "secret"};
    cli_backend *b = cli_remote_create(&o);
    char err[CLI_ERR_BYTES];
    cr_assert_eq(b->connect(b, err, sizeof err), CLI_CALL_EAUTH);
    cr_assert(strstr(err, "AUTH failed: WRONGPASS") != NULL, "%s", err);
    cr_assert(b->connected);
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, shutdown_and_quit_end_the_session)
{
    cli_backend *b = connected(NULL, 0, 0);
    cli_value *v = NULL;
    char err[CLI_ERR_BYTES];
    cr_assert_eq(call1(b, "SHUTDOWN", &v, err), CLI_CALL_ENDED);
    cr_assert(b->ended);
    cr_assert_not(b->connected);
    cli_backend_free(b, NULL, 0);

    b = connected(NULL, 0, 0);
    cr_assert_eq(call1(b, "QUIT", &v, err), CLI_CALL_OK, "%s", err);
    cr_assert_str_eq(v->str, "OK");
    cli_value_free(v);
    cr_assert(b->ended);
    cr_assert_eq(call1(b, "PING", &v, err), CLI_CALL_EIO);
    cli_backend_free(b, NULL, 0);
}

Test(cli_remote, connection_refused_is_an_error_not_a_crash)
{
    stop_fake();   /* nobody listens on PORT now */
    cli_remote_opts o = {.host = "127.0.0.1", .port = PORT};
    cli_backend *b = cli_remote_create(&o);
    char err[CLI_ERR_BYTES];
    cr_assert_eq(b->connect(b, err, sizeof err), CLI_CALL_EIO);
    cr_assert(strstr(err, "Could not connect") != NULL, "%s", err);
    cr_assert_not(b->connected);
    cli_value *v = NULL;
    cr_assert_eq(call1(b, "PING", &v, err), CLI_CALL_EIO);
    cli_backend_free(b, NULL, 0);
}

/*
 * test_server_config.c — Criterion suite `server_config`: segdb-server's
 * option table (server/config.c): defaults, value parsing and its errors,
 * config files, command-line precedence, CONFIG GET globbing and --help.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "segdb_limits.h"

Test(server_config, defaults_follow_segdb_limits)
{
    server_config c;
    cr_assert_eq(config_init(&c), 0);
    cr_assert_str_eq(c.bind, SEGDB_DEFAULT_BIND);
    cr_assert_eq(c.port, SEGDB_DEFAULT_PORT);
    cr_assert_eq(c.maxclients, SEGDB_DEFAULT_MAX_CLIENTS);
    cr_assert_eq(c.proto_max_bulk_len, SEGDB_MAX_REQUEST_BYTES);
    cr_assert_eq(c.max_args, SEGDB_MAX_ARGS);
    cr_assert_eq(c.client_output_buffer_limit, SEGDB_MAX_OUTPUT_BUFFER_BYTES);
    cr_assert_eq(c.find_max_limit, SEGDB_MAX_FIND_LIMIT);
    cr_assert_eq(c.dont_forget_days, SEGDB_DEFAULT_DONT_FORGET_DAYS);
    cr_assert_eq(c.tz_offset_seconds, SEGDB_DEFAULT_TZ_OFFSET_SECONDS);
    cr_assert_eq(c.appendfsync, APPENDFSYNC_EVERYSEC);
    cr_assert(c.protected_mode);
    cr_assert_not(c.repair);
    cr_assert_str_eq(c.requirepass, "");
    cr_assert_eq(c.slowlog_log_slower_than, 10000);
    cr_assert_eq(c.slowlog_max_len, 128);
    config_free(&c);
}

Test(server_config, out_of_range_integer_names_the_range)
{
    server_config c;
    config_init(&c);
    segdb_err e = {0};
    cr_assert_eq(config_set(&c, "port", "70000", &e), SEGDB_EINVAL);
    cr_assert_str_eq(e.msg, "option 'port' takes an integer from 1 to 65535, not '70000'");
    cr_assert_eq(config_set(&c, "port", "12x", &e), SEGDB_EINVAL);
    cr_assert_eq(config_set(&c, "PORT", "6380", &e), 0, "names are case-insensitive");
    cr_assert_eq(c.port, 6380);
    config_free(&c);
}

Test(server_config, sizes_take_redis_suffixes)
{
    server_config c;
    config_init(&c);
    segdb_err e;
    cr_assert_eq(config_set(&c, "client-output-buffer-limit", "1kb", &e), 0);
    cr_assert_eq(c.client_output_buffer_limit, 1024);
    cr_assert_eq(config_set(&c, "client-output-buffer-limit", "2k", &e), 0);
    cr_assert_eq(c.client_output_buffer_limit, 2000);
    cr_assert_eq(config_set(&c, "client-output-buffer-limit", "3MB", &e), 0);
    cr_assert_eq(c.client_output_buffer_limit, 3u * 1024 * 1024);
    cr_assert_eq(config_set(&c, "proto-max-bulk-len", "65mb", &e), SEGDB_EINVAL,
                 "over SEGDB_MAX_REQUEST_BYTES");
    cr_assert_eq(config_set(&c, "proto-max-bulk-len", "10xb", &e), SEGDB_EINVAL);
    cr_assert_eq(config_set(&c, "proto-max-bulk-len", "99999999999999999999999", &e), SEGDB_EINVAL);
    config_free(&c);
}

Test(server_config, enum_and_bool_errors_list_the_choices)
{
    server_config c;
    config_init(&c);
    segdb_err e;
    cr_assert_eq(config_set(&c, "appendfsync", "sometimes", &e), SEGDB_EINVAL);
    cr_assert_str_eq(e.msg, "option 'appendfsync' takes one of always, everysec, no, not 'sometimes'");
    cr_assert_eq(config_set(&c, "appendfsync", "ALWAYS", &e), 0);
    cr_assert_eq(c.appendfsync, APPENDFSYNC_ALWAYS);
    cr_assert_eq(config_set(&c, "protected-mode", "maybe", &e), SEGDB_EINVAL);
    cr_assert_str_eq(e.msg, "option 'protected-mode' takes yes or no, not 'maybe'");
    cr_assert_eq(config_set(&c, "nosuch", "1", &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "unknown option 'nosuch'"));
    config_free(&c);
}

Test(server_config, tz_offset_forms)
{
    server_config c;
    config_init(&c);
    segdb_err e;
    cr_assert_eq(config_set(&c, "tz-offset", "-05:30", &e), 0);
    cr_assert_eq(c.tz_offset_seconds, -(5 * 3600 + 30 * 60));
    cr_assert_eq(config_set(&c, "tz-offset", "UTC", &e), 0);
    cr_assert_eq(c.tz_offset_seconds, 0);
    cr_assert_eq(config_set(&c, "tz-offset", "+7", &e), 0);
    cr_assert_eq(c.tz_offset_seconds, 7 * 3600);
    cr_assert_eq(config_set(&c, "tz-offset", "+15:00", &e), SEGDB_EINVAL);
    cr_assert_eq(config_set(&c, "tz-offset", "+07:99", &e), SEGDB_EINVAL);
    config_free(&c);
}

static char *write_temp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/segdb-conf-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(server_config, file_lines_comments_and_quotes)
{
    char *path = write_temp("# segdb\n\n  port 7400\r\nrequirepass \"bí mật 1\"\n"
                            "appendfsync always\n   # indented comment\nrepair yes\n");
    server_config c;
    config_init(&c);
    segdb_err e = {0};
    cr_assert_eq(config_load_file(&c, path, &e), 0, "%s", e.msg);
    cr_assert_eq(c.port, 7400);
    cr_assert_str_eq(c.requirepass, "bí mật 1");
    cr_assert_eq(c.appendfsync, APPENDFSYNC_ALWAYS);
    cr_assert(c.repair);
    cr_assert_not_null(c.config_file);
    cr_assert_eq(c.config_file[0], '/', "absolute path for INFO");
    config_free(&c);
    unlink(path);
}

Test(server_config, file_errors_name_file_and_line)
{
    char *path = write_temp("port 7400\nmaxclients lots\n");
    server_config c;
    config_init(&c);
    segdb_err e = {0};
    cr_assert_eq(config_load_file(&c, path, &e), SEGDB_EINVAL);
    char want[256];
    snprintf(want, sizeof want, "%s:2: option 'maxclients' takes an integer", path);
    cr_assert(strncmp(e.msg, want, strlen(want)) == 0, "%s", e.msg);
    unlink(path);
    path = write_temp("bind 127.0.0.1 ::1\n");
    cr_assert_eq(config_load_file(&c, path, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, ":1: 'bind' takes exactly one value"), "%s", e.msg);
    unlink(path);
    path = write_temp("requirepass \"abc\n");
    cr_assert_eq(config_load_file(&c, path, &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "unbalanced quotes"), "%s", e.msg);
    unlink(path);
    cr_assert_eq(config_load_file(&c, "/nonexistent/segdb.conf", &e), SEGDB_EINVAL);
    cr_assert(strstr(e.msg, "can't open config file"), "%s", e.msg);
    config_free(&c);
}

Test(server_config, command_line_overrides_the_file_in_any_order)
{
    char *path = write_temp("port 7400\nmaxclients 50\n");
    char *argv[] = {"segdb-server", "--port", "7500", "--config", path, "--repair", "--maxclients=60",
                    NULL};
    server_config c;
    config_init(&c);
    bool help, version;
    segdb_err e = {0};
    cr_assert_eq(config_parse_args(&c, 7, argv, &help, &version, &e), 0, "%s", e.msg);
    cr_assert_eq(c.port, 7500);
    cr_assert_eq(c.maxclients, 60);
    cr_assert(c.repair, "--repair alone means yes");
    cr_assert_not(help);
    config_free(&c);
    unlink(path);
}

Test(server_config, positional_config_file_and_flag_values)
{
    char *path = write_temp("port 7401\n");
    char *argv[] = {"segdb-server", path, "--repair", "no", "--help", NULL};
    server_config c;
    config_init(&c);
    bool help, version;
    segdb_err e = {0};
    cr_assert_eq(config_parse_args(&c, 5, argv, &help, &version, &e), 0, "%s", e.msg);
    cr_assert_eq(c.port, 7401);
    cr_assert_not(c.repair);
    cr_assert(help);
    config_free(&c);
    unlink(path);
}

Test(server_config, command_line_errors)
{
    server_config c;
    config_init(&c);
    bool help, version;
    segdb_err e = {0};
    char *a1[] = {"segdb-server", "--port", NULL};
    cr_assert_eq(config_parse_args(&c, 2, a1, &help, &version, &e), SEGDB_EINVAL);
    cr_assert_str_eq(e.msg, "option --port needs a value");
    char *a2[] = {"segdb-server", "--frobnicate", "1", NULL};
    cr_assert_eq(config_parse_args(&c, 3, a2, &help, &version, &e), SEGDB_EINVAL);
    cr_assert_str_eq(e.msg, "unknown option --frobnicate (see --help)");
    char *a3[] = {"segdb-server", "--port", "1", "stray", NULL};
    cr_assert_eq(config_parse_args(&c, 4, a3, &help, &version, &e), SEGDB_EINVAL);
    config_free(&c);
}

static void collect(void *ctx, const char *name, const char *value)
{
    char *buf = ctx;
    strcat(buf, name);
    strcat(buf, "=");
    strcat(buf, value);
    strcat(buf, ";");
}

Test(server_config, config_get_globs_in_table_order)
{
    server_config c;
    config_init(&c);
    char buf[4096] = "";
    config_each(&c, "*port*", collect, buf);
    cr_assert_str_eq(buf, "port=7311;");
    buf[0] = '\0';
    config_each(&c, "slowlog-*", collect, buf);
    cr_assert_str_eq(buf, "slowlog-log-slower-than=10000;slowlog-max-len=128;");
    buf[0] = '\0';
    config_each(&c, "TZ-OFFSET", collect, buf);
    cr_assert_str_eq(buf, "tz-offset=+07:00;");
    buf[0] = '\0';
    config_each(&c, "appendfsync", collect, buf);
    cr_assert_str_eq(buf, "appendfsync=everysec;");
    config_free(&c);
}

Test(server_config, glob_matching)
{
    cr_assert(config_glob_match("*", ""));
    cr_assert(config_glob_match("p?rt", "port"));
    cr_assert(config_glob_match("[a-p]ort", "port"));
    cr_assert_not(config_glob_match("[^p]ort", "port"));
    cr_assert(config_glob_match("max*", "maxclients"));
    cr_assert_not(config_glob_match("max", "maxclients"));
    cr_assert_not(config_glob_match("[abc", "a"));
    cr_assert(config_glob_match("a\\*", "a*"));
}

Test(server_config, help_lists_every_option)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print_help(f, "segdb-server");
    fclose(f);
    const char *names[] = {"--bind", "--port", "--dir", "--requirepass", "--maxclients",
                           "--appendfsync always|everysec|no", "--dont-forget-days",
                           "--protected-mode", "--repair", "--config", "--help",
                           "--client-output-buffer-limit", "--slowlog-log-slower-than", NULL};
    for (int i = 0; names[i]; i++)
        cr_assert(strstr(text, names[i]), "help mentions %s", names[i]);
    free(text);
}

Test(server_config, copy_is_deep)
{
    server_config a, b;
    config_init(&a);
    segdb_err e;
    config_set(&a, "requirepass", "x", &e);
    cr_assert_eq(config_copy(&b, &a), 0);
    config_set(&a, "requirepass", "y", &e);
    cr_assert_str_eq(b.requirepass, "x");
    config_free(&a);
    config_free(&b);
}

Test(server_config, engine_options_carry_the_limits)
{
    server_config c;
    config_init(&c);
    segdb_err e;
    config_set(&c, "dont-forget-days", "45", &e);
    config_set(&c, "find-max-limit", "500", &e);
    segdb_options o;
    config_engine_options(&c, &o);
    cr_assert_eq(o.dont_forget_days, 45);
    cr_assert_eq(o.max_find_limit, 500);
    cr_assert_eq(o.max_filter_depth, SEGDB_MAX_FILTER_DEPTH);
    cr_assert_eq(o.tz_offset_seconds, 7 * 3600);
    config_free(&c);
}

/*
 * cli_backend.c — helpers shared by segdb-cli's two backends (see
 * cli_backend.h).
 */
#include "cli_backend.h"

#include <stdlib.h>
#include <string.h>

int cli_backend_callv(cli_backend *b, cli_value **reply, char *err, size_t errcap, int argc,
                      const char *const *argv)
{
    size_t lens[16];
    if (argc <= 0 || argc > 16) {
        *reply = NULL;
        return CLI_CALL_ENOMEM;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return b->call(b, argc, argv, lens, reply, err, errcap);
}

int cli_backend_field_names(cli_backend *b, cli_words *out)
{
    static const char *const argv[] = {"FIELD.LIST"};
    cli_value *r = NULL;
    char err[CLI_ERR_BYTES];
    if (!b->connected || b->ended || cli_backend_callv(b, &r, err, sizeof err, 1, argv) != CLI_CALL_OK)
        return -1;
    int rc = -1;
    if (r->type != CLI_V_ARRAY || r->n % 2 != 0)
        goto done;
    for (size_t i = 0; i < r->n; i += 2) {
        const cli_value *name = r->elem[i];
        if (name->type != CLI_V_BULK && name->type != CLI_V_STATUS)
            goto done;
        if (cli_words_add(out, name->str, name->len) < 0)
            goto done;
    }
    rc = 0;
done:
    cli_value_free(r);
    return rc;
}

int cli_backend_free(cli_backend *b, char *err, size_t errcap)
{
    return b ? b->destroy(b, err, errcap) : 0;
}

/* A temporary directory per test group, for the configuration tests:
 * made by a cmocka group setup, removed with all it holds by the teardown,
 * and a way to write files into it. It doubles as $CREDENTIALS_DIRECTORY.
 * Included by the test files that need it (static functions). */
#ifndef UPMON_TEST_TMPDIR_H
#define UPMON_TEST_TMPDIR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

struct tmp {
    char dir[64];
    struct config_env env; /* $CREDENTIALS_DIRECTORY is the directory */
};

static int make_tmp(void **state)
{
    struct tmp *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
    snprintf(s->dir, sizeof(s->dir), "/tmp/upmon-test.XXXXXX");
    if (mkdtemp(s->dir) == NULL) {
        free(s);
        return -1;
    }
    s->env.credentials_dir = s->dir;
    *state = s;
    return 0;
}

static int remove_tmp(void **state)
{
    struct tmp *s = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    int rc = system(cmd);
    free(s);
    return rc == 0 ? 0 : -1;
}

/* Writes len bytes of text (NULs allowed) to dir/name; returns the path. */
static const char *write_bytes(const char *dir, const char *name, const char *text, size_t len)
{
    static char path[256];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    write_bytes(dir, name, text, strlen(text));
}

#endif

/* unit-tmp.h — a scratch directory per test and small files in it, for the cmocka tests of modules that
 * work on files (agent, sessions, workspace). Include after <cmocka.h>. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* tmp := a new /tmp/coi-test-NAME-XXXXXX. */
static inline void unit_tmpdir(char *tmp, size_t size, const char *name)
{
        snprintf(tmp, size, "/tmp/coi-test-%s-XXXXXX", name);
        assert_non_null(mkdtemp(tmp));
}

/* rm -rf of a directory unit_tmpdir() made: 0, or -1 for cmocka's teardown. */
static inline int unit_rmrf(const char *tmp)
{
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        return system(cmd) == 0 ? 0 : -1;
}

/* path := content (created or truncated). */
static inline void unit_put(const char *path, const char *content)
{
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

/* Shared by the sender-authentication tests (tests/test_spf.c,
 * tests/test_auth_results.c, ...): finding a python3 that can import the
 * Debian modules an interoperability test needs. Header-only (static
 * inline) so each test program stays one file. */
#pragma once

#include "testlib.h"

/* A python3 that can import `modules` ("spf, yaml"): Debian's
 * /usr/bin/python3 first (python3-* packages install for it), then the
 * PATH's python3. NULL when neither can; caller frees. */
static inline char *
tk_auth_find_python(const char *modules)
{
    g_autofree char *on_path = g_find_program_in_path("python3");
    const char *candidates[] = { "/usr/bin/python3", on_path };
    for (guint i = 0; i < G_N_ELEMENTS(candidates); i++) {
        if (!candidates[i] || !g_file_test(candidates[i], G_FILE_TEST_IS_EXECUTABLE))
            continue;
        g_autofree char *code = g_strdup_printf("import %s", modules);
        const char *argv[] = { candidates[i], "-c", code, NULL };
        g_autofree char *out = NULL, *err = NULL;
        if (ms_test_spawn(argv, &out, &err) == 0)
            return g_strdup(candidates[i]);
    }
    return NULL;
}

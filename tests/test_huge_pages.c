/* Huge pages for long runs (sim/cli/cli_huge_pages.c), end to end through the
 * binary: `mailsim bench world` says how much of its memory is in huge
 * pages; MAILSIM_HUGE_PAGES=0 turns them off; the run's fingerprint is the
 * same either way. */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Runs `mailsim bench world` on a slice of the medium world (big enough for
 * malloc to ask for huge pages) with MAILSIM_HUGE_PAGES set to `setting`;
 * returns its output line (caller frees), NULL on failure. */
static char *
bench_line(const char *setting)
{
    const char *argv[] = {
        ms_test_mailsim_path(), "bench", "world", "scenarios/bench/medium.xml", "--until", "30s",
        "--fidelity",           "flow",  NULL
    };
    g_auto(GStrv) env = g_get_environ();
    env = g_environ_setenv(env, "MAILSIM_HUGE_PAGES", setting, TRUE);
    env = g_environ_unsetenv(env, "GLIBC_TUNABLES");
    g_autofree char *out = NULL, *err = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                      NULL) ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench world failed: %s\n", err ? err : "");
        return NULL;
    }
    return g_steal_pointer(&out);
}

static long
field_long(const char *line, const char *name)
{
    g_autofree char *v = ms_test_field(line, name);
    return v ? strtol(v, NULL, 10) : -2;
}

static gboolean
kernel_gives_on_request(void)
{
    g_autofree char *mode = NULL;
    return g_file_get_contents("/sys/kernel/mm/transparent_hugepage/enabled", &mode, NULL, NULL) &&
           strstr(mode, "[madvise]") != NULL;
}

static void
test_off_on_same_run(void)
{
    g_autofree char *off = bench_line("0");
    g_autofree char *on = bench_line("1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(off);
    CU_ASSERT_PTR_NOT_NULL_FATAL(on);
    /* Turned off, malloc asks for none (the kernel gives them only on request). */
    if (kernel_gives_on_request())
        CU_ASSERT_EQUAL(field_long(off, "huge_pages_kb"), 0);
#ifndef __SANITIZE_ADDRESS__
    /* glibc's own allocator (AddressSanitizer replaces it) asks for them. */
    if (kernel_gives_on_request())
        CU_ASSERT(field_long(on, "huge_pages_kb") > 0);
#endif
    g_autofree char *f_off = ms_test_field(off, "fingerprint");
    g_autofree char *f_on = ms_test_field(on, "fingerprint");
    CU_ASSERT_PTR_NOT_NULL(f_off);
    CU_ASSERT_STRING_EQUAL(f_off, f_on);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "bench world: huge pages on request, off with MAILSIM_HUGE_PAGES=0, same run",
          test_off_on_same_run },
        { NULL, NULL },
    };
    return ms_test_main("huge_pages", cases);
}

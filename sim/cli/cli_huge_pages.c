/* Huge pages for long runs: the first thing the mailsim binary does before a
 * command that runs a world (sim/cli/cli_main.c), and the figure `mailsim bench`
 * prints about it.
 *
 * A world of a hundred thousand hosts touches hundreds of megabytes at
 * random; with 4 KiB pages most of those touches also miss the TLB. glibc's
 * malloc (2.35 and later) backs its heap with transparent huge pages when
 * its tunable glibc.malloc.hugetlb is 1, but it reads tunables only when a
 * process starts. So the binary executes itself once more with the tunable
 * added to its environment. Nothing the simulation computes depends on where
 * memory lies, so traces and fingerprints are the same either way.
 *
 * Skipped when MAILSIM_HUGE_PAGES=0, when the kernel has transparent huge
 * pages off (or always on: then malloc gets them anyway), when the tunable is
 * already set, and under valgrind (whose allocator replaces glibc's, and
 * whose run an exec would leave). */
#include "mailsim/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUNABLE       "glibc.malloc.hugetlb"
#define THP_MODE_FILE "/sys/kernel/mm/transparent_hugepage/enabled"

static gboolean
thp_on_request(void)
{
    g_autofree char *mode = NULL;
    if (!g_file_get_contents(THP_MODE_FILE, &mode, NULL, NULL))
        return FALSE;
    return strstr(mode, "[madvise]") != NULL;
}

void
ms_cli_prefer_huge_pages(char **argv)
{
    if (g_strcmp0(g_getenv("MAILSIM_HUGE_PAGES"), "0") == 0)
        return;
    const char *tunables = g_getenv("GLIBC_TUNABLES");
    if (tunables && strstr(tunables, TUNABLE))
        return;
    const char *preload = g_getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload"))
        return;
    if (!thp_on_request())
        return;
    g_autofree char *value = tunables && *tunables ? g_strconcat(tunables, ":" TUNABLE "=1", NULL)
                                                   : g_strdup(TUNABLE "=1");
    g_autofree char *saved = g_strdup(tunables);
    if (!g_setenv("GLIBC_TUNABLES", value, TRUE))
        return;
    /* The binary's own path rather than /proc/self/exe, which would show
     * the process as "exe" in ps and top. */
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    if (self)
        execv(self, argv);
    /* Still here: no /proc, say. Run as we are. */
    if (saved)
        g_setenv("GLIBC_TUNABLES", saved, TRUE);
    else
        g_unsetenv("GLIBC_TUNABLES");
}

long
ms_cli_huge_pages_kb(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/self/smaps_rollup", &text, NULL, NULL))
        return -1;
    const char *p = strstr(text, "\nAnonHugePages:");
    return p ? strtol(p + strlen("\nAnonHugePages:"), NULL, 10) : -1;
}

/* Test runner shared by every CUnit program (see testlib.h). */
#include "testlib.h"

#include "mailsim/scenario.h"
#include "mailsim/stats.h"

#include <glib/gstdio.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Names and reasons of the tests that called ms_test_skip() in this run,
 * in order, one entry per test. State of the test process, not of the
 * library. */
static GPtrArray *skipped_tests; /* "test\twhy" */

void
ms_test_skip(const char *why)
{
    CU_pTest t = CU_get_current_test();
    const char *name = t && t->pName ? t->pName : "?";
    printf("\n  SKIPPED: %s\n", why);
    fflush(stdout);
    g_autofree char *prefix = g_strdup_printf("%s\t", name);
    for (guint i = 0; i < skipped_tests->len; i++)
        if (g_str_has_prefix(g_ptr_array_index(skipped_tests, i), prefix))
            return;
    g_ptr_array_add(skipped_tests, g_strconcat(prefix, why, NULL));
}

/* Whether the test named `name` has a failure record. */
static gboolean
test_failed(const char *name)
{
    for (CU_pFailureRecord f = CU_get_failure_list(); f; f = f->pNext)
        if (f->pTest && f->pTest->pName && strcmp(f->pTest->pName, name) == 0)
            return TRUE;
    return FALSE;
}

int
ms_test_main(const char *suite, const MsTestCase *cases)
{
    return ms_test_main_full(suite, cases, NULL);
}

int
ms_test_main_full(const char *suite, const MsTestCase *cases, void (*cleanup)(void))
{
    /* Warnings and criticals from GLib are bugs in a test run. */
    g_log_set_always_fatal(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    for (const MsTestCase *c = cases; c->name; c++)
        CU_add_test(s, c->name, c->func);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    skipped_tests = g_ptr_array_new_with_free_func(g_free);
    CU_basic_run_tests();
    if (cleanup)
        cleanup();
    unsigned ran = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned skipped = 0;
    for (guint i = 0; i < skipped_tests->len; i++) {
        const char *entry = g_ptr_array_index(skipped_tests, i);
        g_autofree char *name = g_strndup(entry, strcspn(entry, "\t"));
        if (test_failed(name))
            continue; /* a failure is reported as one, not as a skip */
        printf("suite-skipped: %s/%s: %s\n", suite, name, entry + strlen(name) + 1);
        skipped++;
    }
    printf("suite-result: %s passed=%u failed=%u skipped=%u\n", suite, ran - failed - skipped,
           failed, skipped);
    g_clear_pointer(&skipped_tests, g_ptr_array_unref);
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}

const char *
ms_test_mailsim_path(void)
{
    const char *p = g_getenv("MAILSIM");
    return p ? p : "./mailsim";
}

gpointer
ms_test_load_scenario(const char *path)
{
    g_autoptr(GError) error = NULL;
    MsScenario *sc = ms_scenario_load_file(path, &error);
    if (!sc)
        g_printerr("%s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sc);
    return sc;
}

char *
ms_test_stats_text(gconstpointer table)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("mailsim-test-stats-XXXXXX.csv", &path, &error);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_FATAL(ms_stats_table_write(table, path, &error));
    char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(path, &text, NULL, NULL));
    g_unlink(path);
    char *ev = strstr(text, "run,events,");
    if (ev) {
        char *nl = strchr(ev, '\n');
        memmove(ev, nl + 1, strlen(nl + 1) + 1);
    }
    return text;
}

char *
ms_test_write_profile_world(const char *dir)
{
    static const char xml[] = "<?xml version=\"1.0\"?>\n<scenario version=\"1\" "
                              "name=\"gen-prof\" seed=\"5\" until=\"2h\">\n"
                              "  <generate topology=\"transit-stub\" domains=\"8\" "
                              "routers=\"60\" users=\"80\" messages=\"200\" "
                              "duration=\"1h\" seed=\"5\"/>\n</scenario>\n";
    char *path = g_build_filename(dir, "gen.xml", NULL);
    CU_ASSERT_FATAL(g_file_set_contents(path, xml, -1, NULL));
    return path;
}

char *
ms_test_field(const char *line, const char *name)
{
    g_autofree char *key = g_strdup_printf(" %s=", name);
    const char *p = line ? strstr(line, key) : NULL;
    if (!p)
        return NULL;
    p += strlen(key);
    return g_strndup(p, strcspn(p, " \n"));
}

void
ms_test_bridge_script(const char *name)
{
    g_autofree char *py = g_find_program_in_path("python3");
    if (!py) {
        g_autofree char *why = g_strdup_printf("%s: no python3 on the PATH", name);
        ms_test_skip(why);
        return;
    }
    g_autofree char *script = g_build_filename("tests", "bridge", name, NULL);
    const char *argv[] = { py, script, ms_test_mailsim_path(), NULL };
    g_autofree char *out = NULL, *err = NULL;
    int rc = ms_test_spawn(argv, &out, &err);
    if (rc != 0)
        fprintf(stderr, "%s exited %d\n%s%s", name, rc, out ? out : "", err ? err : "");
    CU_ASSERT_EQUAL(rc, 0);
    /* A script that could not run part of its checks says "SKIPPED: why". */
    g_auto(GStrv) lines = g_strsplit(out ? out : "", "\n", -1);
    for (guint i = 0; lines[i]; i++)
        if (g_str_has_prefix(lines[i], "SKIPPED: "))
            ms_test_skip(lines[i] + strlen("SKIPPED: "));
}

int
ms_test_spawn(const char *const *argv, char **out, char **err)
{
    int status = 0;
    GError *error = NULL;
    if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status,
                      &error)) {
        fprintf(stderr, "spawn %s: %s\n", argv[0], error->message);
        g_error_free(error);
        return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

guint
ms_test_xpath_count(struct _xmlDoc *doc, const char *expr)
{
    xmlXPathContext *ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
    xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    guint n = (o && o->nodesetval) ? (guint) o->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
    return n;
}

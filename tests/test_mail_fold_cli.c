/* `mailsim run` folds finished messages' records by default (tests of the
 * folding itself: tests/test_mail_fold.c) and says when its latency
 * quantiles come from the sketch, which takes more than
 * MS_MAIL_FOLD_EXACT_LIMIT latencies: two runs of a 70,000-message world,
 * a program of their own so that tests/run-all.sh can run them beside the
 * rest. */
#include "testlib.h"
#include "fold_world.h"

#include <glib/gstdio.h>
#include <string.h>

/* `mailsim run` folds by default and says so when the quantiles come from
 * the sketch (past MS_MAIL_FOLD_EXACT_LIMIT latencies); --keep-records
 * gives the exact run; every other line of the two summaries is the same.
 * Both runs resume TLS sessions without a new key exchange (--tls-resumption
 * psk_ke): the world must deliver more than MS_MAIL_FOLD_EXACT_LIMIT
 * messages for the sketch to take over, and with the default (psk_dhe_ke)
 * each of the 70,000 handshakes computes an X25519 exchange, two thirds of
 * the processor time of the run. How records are folded and what the
 * summary says of the sketch do not depend on the key exchange (the
 * deliveries, times and latencies are the same in either mode; only the
 * key material differs), so the cheaper handshakes prove the same. */
static void
test_cli(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-fold-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "w.xml", NULL);
    g_autofree char *xml = fold_world_xml(12, 70000, "1h", 11);
    CU_ASSERT_TRUE_FATAL(g_file_set_contents(file, xml, -1, NULL));
    g_autofree char *stats = g_build_filename(dir, "s.json", NULL);
    const char *fold_argv[] = { ms_test_mailsim_path(), "run",    "-q", file, "--stats", stats,
                                "--tls-resumption",     "psk_ke", NULL };
    const char *keep_argv[] = { ms_test_mailsim_path(), "run",    "-q", file, "--keep-records",
                                "--tls-resumption",     "psk_ke", NULL };
    g_autofree char *fo = NULL, *fe = NULL, *ko = NULL, *ke = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(fold_argv, &fo, &fe), 0);
    CU_ASSERT_EQUAL(ms_test_spawn(keep_argv, &ko, &ke), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(fo, "(p50, p95, p99 from a sketch, within 0.0488 %)"));
    CU_ASSERT_PTR_NULL(strstr(ko, "sketch"));
    g_autofree char *json = NULL;
    CU_ASSERT_TRUE(g_file_get_contents(stats, &json, NULL, NULL));
    CU_ASSERT_PTR_NOT_NULL(json && strstr(json, "\"quantiles_relative_error\": 0.00048828125"));
    g_auto(GStrv) a = g_strsplit(fo, "\n", -1);
    g_auto(GStrv) b = g_strsplit(ko, "\n", -1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(a), g_strv_length(b));
    for (guint i = 0; a[i]; i++)
        if (!strstr(a[i], "delivery latency"))
            CU_ASSERT_STRING_EQUAL(a[i], b[i]);
    g_unlink(stats);
    g_unlink(file);
    g_rmdir(dir);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "mailsim run folds and says so", test_cli },
        { NULL, NULL },
    };
    return ms_test_main("mail_fold_cli", cases);
}

/* The teaching library end to end: every lesson in scenarios/teaching/ is run by
 * the built mailsim binary (ms_test_mailsim_path(), so `make asan` runs the
 * sanitised one) and must pass all its <expect> checks, deterministically;
 * every lesson's narration is compared with its golden file; lesson 1's capture must
 * decode cleanly in tshark; lesson 3's trace must show the resolver cache at
 * work; broken files must exit 2 naming file and line.
 *
 * Golden files: tests/golden/<lesson>.txt hold the exact stdout of
 * `mailsim run scenarios/teaching/<lesson>.xml --no-colour`. After a change
 * that alters the narration on purpose, regenerate them from the repo root:
 *     UPDATE_GOLDEN=1 build/tests/test_teaching
 * and review the diff before committing.
 *
 * Tests run from the repository root (as `make run-tests` does). */
#include "testlib.h"

#include <glib/gstdio.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TEACHING_DIR "scenarios/teaching"
#define GOLDEN_DIR   "tests/golden"
/* Scenarios that pin down a fixed bug: each must pass all its checks. */
#define REGRESSION_DIR "tests/scenarios/run"
#define TSHARK         "/usr/bin/tshark"

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

/* The scenario files of `dir`, sorted by name (GDir order is not). Caller
 * frees. */
static GPtrArray *
scenarios_in(const char *dirname)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) dir = g_dir_open(dirname, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (const char *name; (name = g_dir_read_name(dir));)
        if (g_str_has_suffix(name, ".xml"))
            g_ptr_array_add(a, g_build_filename(dirname, name, NULL));
    g_ptr_array_sort(a, cmp_str);
    return a;
}

/* Runs mailsim with the given arguments (NULL-terminated, after the
 * program name); returns the exit status, stdout and stderr. */
static int
run_mailsim(char **out, char **err, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer) ms_test_mailsim_path());
    va_list ap;
    va_start(ap, err);
    for (const char *a; (a = va_arg(ap, const char *));)
        g_ptr_array_add(argv, (gpointer) a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    return ms_test_spawn((const char *const *) argv->pdata, out, err);
}

static guint
count_lines_with_prefix(const char *text, const char *prefix)
{
    guint n = 0;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++)
        if (g_str_has_prefix(*l, prefix))
            n++;
    return n;
}

/* Every file exits 0 with at least two PASS lines and no FAIL, and says
 * nothing on stderr (a sanitizer report would land there): `out` and `err`
 * of a run that exited `rc`. */
static void
check_passes(const char *f, int rc, const char *out, const char *err)
{
    guint pass = count_lines_with_prefix(out, "PASS ");
    guint fail = count_lines_with_prefix(out, "FAIL ");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(pass >= 2);
    CU_ASSERT_EQUAL(fail, 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    if (rc != 0 || fail || pass < 2 || err[0])
        fprintf(stderr, "\n%s: rc=%d\n%s%s", f, rc, out, err);
}

static void
check_all_pass(GPtrArray *files)
{
    for (guint i = 0; i < files->len; i++) {
        const char *f = files->pdata[i];
        g_autofree char *out = NULL, *err = NULL;
        int rc = run_mailsim(&out, &err, "run", f, "-q", NULL);
        check_passes(f, rc, out, err);
    }
}

/* Every lesson's full narration (`mailsim run LESSON --no-colour`), run
 * twice: made on first use and shared by the tests of the lessons' checks,
 * determinism and golden narrations, which each ran every lesson
 * themselves before (four runs a lesson, now two; the checks' PASS and
 * FAIL lines are in the narration as in -q's summary). Freed by
 * free_lesson_runs() after the last test. */
typedef struct {
    char *file;
    int rc[2];
    char *out[2], *err[2];
} LessonRun;

static GPtrArray *lesson_runs; /* of LessonRun, in the order of the files */

static void
lesson_run_free(gpointer p)
{
    LessonRun *r = p;
    g_free(r->file);
    for (guint k = 0; k < 2; k++) {
        g_free(r->out[k]);
        g_free(r->err[k]);
    }
    g_free(r);
}

static GPtrArray *
lesson_narrations(void)
{
    if (lesson_runs)
        return lesson_runs;
    g_autoptr(GPtrArray) files = scenarios_in(TEACHING_DIR);
    lesson_runs = g_ptr_array_new_with_free_func(lesson_run_free);
    for (guint i = 0; i < files->len; i++) {
        LessonRun *r = g_new0(LessonRun, 1);
        r->file = g_strdup(files->pdata[i]);
        for (guint k = 0; k < 2; k++)
            r->rc[k] = run_mailsim(&r->out[k], &r->err[k], "run", r->file, "--no-colour", NULL);
        g_ptr_array_add(lesson_runs, r);
    }
    return lesson_runs;
}

static void
free_lesson_runs(void)
{
    g_clear_pointer(&lesson_runs, g_ptr_array_unref);
}

static void
test_lessons_pass(void)
{
    GPtrArray *runs = lesson_narrations();
    CU_ASSERT(runs->len >= 8);
    for (guint i = 0; i < runs->len; i++) {
        const LessonRun *r = runs->pdata[i];
        for (guint k = 0; k < 2; k++)
            check_passes(r->file, r->rc[k], r->out[k], r->err[k]);
    }
}

static void
test_regressions_pass(void)
{
    g_autoptr(GPtrArray) files = scenarios_in(REGRESSION_DIR);
    CU_ASSERT(files->len >= 1);
    check_all_pass(files);
}

/* One scenario, one seed, one output: twice, byte for byte, with the full
 * narration (which prints every protocol line and time). */
static void
test_lessons_deterministic(void)
{
    GPtrArray *runs = lesson_narrations();
    for (guint i = 0; i < runs->len; i++) {
        const LessonRun *r = runs->pdata[i];
        CU_ASSERT_EQUAL(r->rc[0], r->rc[1]);
        CU_ASSERT_STRING_EQUAL(r->out[0], r->out[1]);
        CU_ASSERT(strstr(r->out[0], "run fingerprint: ") != NULL);
        if (strcmp(r->out[0], r->out[1]) != 0)
            fprintf(stderr, "\n%s: two runs differ\n", r->file);
    }
}

/* The lesson's narration (from r) against its golden file. */
static void
check_golden(const LessonRun *r, const char *lesson)
{
    const char *xml = r->file;
    g_autofree char *golden = g_strdup_printf(GOLDEN_DIR "/%s.txt", lesson);
    const char *out = r->out[0];
    CU_ASSERT_EQUAL(r->rc[0], 0);
    if (g_getenv("UPDATE_GOLDEN")) {
        CU_ASSERT(g_file_set_contents(golden, out, -1, NULL));
        fprintf(stderr, "\nwrote %s\n", golden);
        return;
    }
    g_autofree char *want = NULL;
    gboolean have = g_file_get_contents(golden, &want, NULL, NULL);
    CU_ASSERT(have);
    if (!have) {
        fprintf(stderr,
                "\n%s has no golden narration %s (write it with UPDATE_GOLDEN=1 "
                "build/tests/test_teaching "
                "and review it)\n",
                xml, golden);
        return;
    }
    CU_ASSERT_STRING_EQUAL(out, want);
    if (strcmp(out, want) != 0) {
        /* Show where they part, to make the failure readable. */
        gsize k = 0;
        while (out[k] && out[k] == want[k])
            k++;
        gsize from = k > 200 ? k - 200 : 0;
        fprintf(stderr,
                "\n%s differs from %s at byte %" G_GSIZE_FORMAT "; got:\n%.400s\n(regenerate with "
                "UPDATE_GOLDEN=1 build/tests/test_teaching if the change is intended)\n",
                xml, golden, k, out + from);
    }
}

/* Every lesson has a golden narration (a new lesson without one fails
 * here until UPDATE_GOLDEN=1 writes it), and every golden file has its
 * lesson. */
static void
test_golden_narrations(void)
{
    GPtrArray *runs = lesson_narrations();
    CU_ASSERT(runs->len >= 8);
    g_autoptr(GHashTable) lessons = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < runs->len; i++) {
        const LessonRun *r = runs->pdata[i];
        g_autofree char *base = g_path_get_basename(r->file);
        char *lesson = g_strndup(base, strlen(base) - strlen(".xml"));
        check_golden(r, lesson);
        g_hash_table_add(lessons, lesson);
    }
    g_autoptr(GDir) dir = g_dir_open(GOLDEN_DIR, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (const char *name; (name = g_dir_read_name(dir));) {
        if (!g_str_has_suffix(name, ".txt"))
            continue;
        g_autofree char *lesson = g_strndup(name, strlen(name) - strlen(".txt"));
        gboolean known = g_hash_table_contains(lessons, lesson);
        CU_ASSERT(known);
        if (!known)
            fprintf(stderr, "\n" GOLDEN_DIR "/%s has no lesson " TEACHING_DIR "/%s.xml\n", name,
                    lesson);
    }
}

typedef struct {
    const char *filter;
    gboolean want_some;
} CaptureCase;

/* How many frames of `pcap` each display filter of `cases` matches, from
 * one tshark run: its io,stat tap with one column per filter (a single
 * interval over the whole capture), instead of one `tshark -Y FILTER` per
 * filter. The same dissection and filter engine decide; tshark's start-up
 * (about a second of processor time, most of what this suite cost) is paid
 * once per capture. The tap's argument separates filters with commas, so
 * a filter may not hold one. Returns FALSE (after failing the test) when
 * tshark did not run or its table could not be read. */
static gboolean
tshark_frame_counts(const char *pcap, const char *keyopt, const CaptureCase *cases, guint n,
                    guint64 *frames)
{
    g_autoptr(GString) tap = g_string_new("io,stat,0");
    for (guint i = 0; i < n; i++) {
        CU_ASSERT_PTR_NULL_FATAL(strchr(cases[i].filter, ','));
        g_string_append_printf(tap, ",%s", cases[i].filter);
    }
    const char *argv[] = { TSHARK,
                           "-n",
                           "-q",
                           "-r",
                           pcap,
                           "-z",
                           tap->str,
                           "-o",
                           "tcp.check_checksum:TRUE",
                           "-o",
                           "ip.check_checksum:TRUE",
                           "-o",
                           "udp.check_checksum:TRUE",
                           keyopt ? "-o" : NULL,
                           keyopt,
                           NULL };
    g_autofree char *tout = NULL, *terr = NULL;
    int trc = ms_test_spawn(argv, &tout, &terr);
    CU_ASSERT_EQUAL(trc, 0);
    /* The one row of figures: "| 0.0 <> 59.0 | F1 | B1 | F2 | B2 | ... |". */
    const char *row = NULL;
    g_auto(GStrv) lines = g_strsplit(tout ? tout : "", "\n", -1);
    for (guint i = 0; lines[i]; i++)
        if (strstr(lines[i], " <> "))
            row = lines[i];
    g_auto(GStrv) cells = g_strsplit(row ? row : "", "|", -1);
    gboolean ok = trc == 0 && row && g_strv_length(cells) >= 3 + 2 * n;
    CU_ASSERT(ok);
    if (!ok) {
        fprintf(stderr, "\ntshark -z '%s' on %s: exit %d\n%s%s\n", tap->str, pcap, trc,
                tout ? tout : "", terr ? terr : "");
        return FALSE;
    }
    for (guint i = 0; i < n; i++)
        frames[i] = g_ascii_strtoull(g_strstrip(cells[2 + 2 * i]), NULL, 10);
    return TRUE;
}

/* Runs a lesson with --pcap (and, with `keylog`, --tls-keylog, handed to
 * tshark as tls.keylog_file so that it decrypts the TLS sessions) and
 * checks tshark's view of the capture: each display filter matches some
 * packets, or none, as the table says. */
static void
check_capture_keys(const char *lesson, const CaptureCase *cases, guint n, gboolean keylog)
{
    if (!g_file_test(TSHARK, G_FILE_TEST_IS_EXECUTABLE)) {
        ms_test_skip(TSHARK " is not installed");
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-teaching-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *pcap = g_build_filename(dir, "run.pcapng", NULL);
    g_autofree char *keys = g_build_filename(dir, "run.keys", NULL);
    g_autofree char *keyopt = g_strdup_printf("tls.keylog_file:%s", keys);
    /* a lesson's name, or a path (a regression scenario) */
    g_autofree char *file =
        strchr(lesson, '/') ? g_strdup(lesson) : g_strdup_printf(TEACHING_DIR "/%s.xml", lesson);
    g_autofree char *out = NULL, *err = NULL;
    int rc = keylog ? run_mailsim(&out, &err, "run", file, "-q", "--pcap", pcap, "--tls-keylog",
                                  keys, NULL)
                    : run_mailsim(&out, &err, "run", file, "-q", "--pcap", pcap, NULL);
    CU_ASSERT_EQUAL(rc, 0);
    g_autofree guint64 *frames = g_new0(guint64, n);
    if (tshark_frame_counts(pcap, keylog ? keyopt : NULL, cases, n, frames))
        for (guint i = 0; i < n; i++) {
            gboolean some = frames[i] > 0;
            CU_ASSERT_EQUAL(some, cases[i].want_some);
            if (some != cases[i].want_some)
                fprintf(stderr, "\n%s: tshark filter '%s': %s (%" G_GUINT64_FORMAT " frames)\n",
                        lesson, cases[i].filter,
                        cases[i].want_some ? "no packets" : "unexpected packets", frames[i]);
        }
    g_unlink(pcap);
    g_unlink(keys);
    g_rmdir(dir);
}

static void
check_capture(const char *lesson, const CaptureCase *cases, guint n)
{
    check_capture_keys(lesson, cases, n, FALSE);
}

/* Lesson 1's capture opens in Wireshark as SMTP, POP3 and DNS, with
 * correct checksums and nothing malformed. */
static void
test_pcap_decodes(void)
{
    static const CaptureCase cases[] = {
        { "smtp", TRUE },
        { "pop", TRUE },
        { "dns", TRUE },
        { "tcp.flags.syn == 1 && tcp.flags.ack == 0", TRUE },
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
        { "tcp.analysis.retransmission || tcp.analysis.duplicate_ack", FALSE },
    };
    check_capture("01-first-email", cases, G_N_ELEMENTS(cases));
}

/* Lesson 1 speaks TLS: without the keys an eavesdropper sees the
 * STARTTLS exchange, ClientHellos and encrypted records, and never a login
 * or a MAIL command; with the key log mailsim wrote (SSLKEYLOGFILE)
 * tshark decrypts every session and finds the SMTP and POP3 inside. */
static void
test_pcap_tls(void)
{
    static const CaptureCase outside[] = {
        { "tls.handshake.type == 1", TRUE }, /* ClientHello */
        { "tls.handshake.type == 2", TRUE }, /* ServerHello */
        { "tls.app_data", TRUE },
        { "smtp.req && frame contains \"STARTTLS\"", TRUE },
        { "smtp.response.code == 220 && frame contains \"Ready to start TLS\"", TRUE },
        { "pop.request.command == \"STLS\"", TRUE },
        { "smtp.req.command == \"AUTH\" || smtp.req.command == \"MAIL\"", FALSE },
        { "pop.request.command == \"USER\" || pop.request.command == \"PASS\"", FALSE },
        { "frame contains \"Price list\"", FALSE },
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
    };
    check_capture("01-first-email", outside, G_N_ELEMENTS(outside));
    static const CaptureCase inside[] = {
        { "smtp.req.command == \"AUTH\"", TRUE },
        { "smtp.req.command == \"MAIL\"", TRUE },
        { "smtp.req.command == \"RCPT\"", TRUE },
        { "pop.request.command == \"PASS\"", TRUE },
        { "pop.request.command == \"RETR\"", TRUE },
        { "tls.handshake.type == 1", TRUE },
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
    };
    check_capture_keys("01-first-email", inside, G_N_ELEMENTS(inside), TRUE);
}

/* Lesson 11: the old program's login and message cross in the clear
 * (from 192.0.2.10), the modern one's only as TLS (from 192.0.2.20). */
static void
test_pcap_password_on_the_wire(void)
{
    static const CaptureCase cases[] = {
        { "ip.src == 192.0.2.10 && smtp.req.command == \"AUTH\"", TRUE },
        { "ip.src == 192.0.2.10 && pop.request.command == \"PASS\"", TRUE },
        { "ip.src == 192.0.2.10 && frame contains \"wonderland\"", TRUE },
        { "ip.src == 192.0.2.20 && smtp.req.command == \"AUTH\"", FALSE },
        { "ip.src == 192.0.2.20 && pop.request.command == \"PASS\"", FALSE },
        { "ip.src == 192.0.2.20 && tls.handshake.type == 1", TRUE },
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
    };
    check_capture("11-password-on-the-wire", cases, G_N_ELEMENTS(cases));
}

/* Lessons 20 and 21: the IMAP sessions on port 143 decode as IMAP in
 * tshark (its own dissector, not ours): the LOGIN with its password in the
 * clear, SELECT, UID FETCH with the message inside (read as IMF), STORE,
 * the APPEND of a sent copy, and the IDLE cycle: the server's untagged
 * EXISTS while idling, the client's bare DONE, the fetch that follows. */
static void
test_pcap_imap(void)
{
    static const CaptureCase two_devices[] = {
        { "imap", TRUE },
        { "pop", TRUE },
        { "imap.request.command == \"LOGIN\" && imap.request.password == \"have-you-tried\"",
          TRUE },
        { "imap.request.command == \"SELECT\"", TRUE },
        { "imap.request.command == \"FETCH\"", TRUE },
        { "imap.request.command == \"STORE\"", TRUE },
        { "imap.request.command == \"APPEND\"", TRUE },
        { "imf.subject == \"DC-200 will not start\" && tcp.srcport == 143", TRUE },
        { "imap.request.command == \"IDLE\"", FALSE },
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
    };
    check_capture("18-pop3-or-imap", two_devices, G_N_ELEMENTS(two_devices));
    static const CaptureCase push[] = {
        { "imap.request.command == \"IDLE\"", TRUE },
        { "imap.line contains \"EXISTS\" && ip.dst == 203.0.113.51", TRUE },
        { "imap.request == \"DONE\"", TRUE },
        { "imf.subject == \"Order 4711: make it three\" && ip.dst == 203.0.113.51", TRUE },
        { "imf.subject == \"Order 4711: make it three\" && ip.dst == 203.0.113.50", TRUE },
        { "imap.request == \"DONE\" && ip.src == 203.0.113.50", FALSE }, /* polls, never idles */
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
    };
    check_capture("19-push", push, G_N_ELEMENTS(push));
}

/* IMAP inside TLS: without the keys only STARTTLS and the handshakes show
 * (no LOGIN, no message); with the key log tshark finds the LOGIN, IDLE,
 * the pushed EXISTS and the FETCH inside, on 143 and on 993 alike. */
static void
test_pcap_imap_tls(void)
{
    static const CaptureCase outside[] = {
        { "imap.request.command == \"STARTTLS\"", TRUE },
        { "tls.handshake.type == 1 && tcp.dstport == 993", TRUE },
        { "tls.handshake.type == 1 && tcp.dstport == 143", TRUE },
        { "imap.request.command == \"LOGIN\"", FALSE },
        { "imf", FALSE },
        { "frame contains \"quarterly-numbers\"", FALSE },
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
    };
    check_capture(REGRESSION_DIR "/imap-tls.xml", outside, G_N_ELEMENTS(outside));
    static const CaptureCase inside[] = {
        { "imap.request.command == \"LOGIN\" && tcp.dstport == 143", TRUE },
        { "imap.request.command == \"LOGIN\" && tcp.dstport == 993", TRUE },
        { "imap.request.command == \"IDLE\"", TRUE },
        { "imap.line contains \"EXISTS\"", TRUE },
        { "imf.subject == \"Order 4711\"", TRUE },
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
    };
    check_capture_keys(REGRESSION_DIR "/imap-tls.xml", inside, G_N_ELEMENTS(inside), TRUE);
}

/* Lesson 2's lossy line: Wireshark's own TCP analysis sees the
 * retransmissions, and the capture is still well formed. */
static void
test_pcap_retransmissions(void)
{
    static const CaptureCase cases[] = {
        { "tcp.analysis.retransmission", TRUE },
        { "tcp.options.sack_perm", TRUE }, /* SACK offered on the SYNs (RFC 2018 2) */
        { "tcp.options.sack_le", TRUE },   /* and blocks on the duplicate ACKs */
        { "smtp", TRUE },
        { "_ws.malformed || _ws.expert.severity >= error", FALSE },
    };
    check_capture("02-packets", cases, G_N_ELEMENTS(cases));
}

/* Lesson 3: the first MX lookup walks root, TLD and the company's server
 * (three queries); the second, ten seconds later, is answered from the
 * resolver's cache and sends no query at all; the third, for another domain
 * under .com, starts at the cached .com servers (RFC 1034 5.3.3): two
 * queries, none to the root. Read from the JSON Lines trace: proto-line
 * records of proto "dns", direction "out". */
static void
test_dns_cache_in_trace(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-teaching-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *trace = g_build_filename(dir, "03.jsonl", NULL);
    g_autofree char *out = NULL, *err = NULL;
    int rc =
        run_mailsim(&out, &err, "run", TEACHING_DIR "/03-dns.xml", "-q", "--trace", trace, NULL);
    CU_ASSERT_EQUAL(rc, 0);
    g_autofree char *text = NULL;
    CU_ASSERT_FATAL(g_file_get_contents(trace, &text, NULL, NULL));
    guint queries[4] = { 0, 0, 0, 0 }; /* by message id 1, 2, 3; [0] = other */
    guint cached2 = 0, root3 = 0;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (!strstr(*l, "\"proto\":\"dns\""))
            continue;
        guint msg = strstr(*l, "\"message\":1,")   ? 1
                    : strstr(*l, "\"message\":2,") ? 2
                    : strstr(*l, "\"message\":3,") ? 3
                                                   : 0;
        if (strstr(*l, "\"dir\":\"out\"")) {
            queries[msg]++;
            if (msg == 3 && strstr(*l, "\"peer\":\"a.root-servers.net\""))
                root3++;
        } else if (msg == 2 && strstr(*l, "cache"))
            cached2++;
    }
    CU_ASSERT_EQUAL(queries[1], 3); /* root, com, diversicomcorp.com */
    CU_ASSERT_EQUAL(queries[2], 0);
    CU_ASSERT_EQUAL(queries[3], 2); /* com, then the domain's server */
    CU_ASSERT_EQUAL(root3, 0);
    CU_ASSERT_EQUAL(queries[0], 0);
    CU_ASSERT(cached2 >= 1);
    g_unlink(trace);
    g_rmdir(dir);
}

/* Regression (lesson 5): when every address of a delivery attempt failed,
 * defer() freed the error text it had been handed and printed freed memory
 * in "keeps the message ... in its queue (...)". */
static void
test_deferral_reason_intact(void)
{
    g_autofree char *out = NULL, *err = NULL;
    int rc = run_mailsim(&out, &err, "run", TEACHING_DIR "/05-server-down.xml", "--level", "mail",
                         "--no-colour", NULL);
    CU_ASSERT_EQUAL(rc, 0);
    const char *want = "keeps the message for diversicomcorp.com in its queue "
                       "(connection to mx.diversicomcorp.com: timed out) and will try again in ";
    guint n = 0;
    for (const char *p = out; (p = strstr(p, want)); p++)
        n++;
    CU_ASSERT_EQUAL(n, 2); /* two failed attempts before the third gets through */
}

/* Lesson 7: the wrong password is refused and sees nothing; the right one
 * downloads and deletes, so the next check finds the box empty. */
static void
test_pop3_lesson_story(void)
{
    g_autofree char *out = NULL, *err = NULL;
    int rc = run_mailsim(&out, &err, "run", TEACHING_DIR "/07-checking-mail.xml", "--level", "mail",
                         "--no-colour", NULL);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(
        strstr(out,
               "laptop.diversicomcorp.com could not check the mailbox of sales@diversicomcorp.com: "
               "auth-failed") != NULL);
    CU_ASSERT(strstr(out, "mx.diversicomcorp.com deletes 1 message of sales") != NULL);
    CU_ASSERT(strstr(out, "has checked the mailbox of sales@diversicomcorp.com: 0 new messages") !=
              NULL);
}

/* Bad input: exit 2, and stderr names the file and the line. */
static void
test_broken_files_exit_2(void)
{
    static const struct {
        const char *body;
        guint line;
    } cases[] = {
        /* not well-formed: the tag is never closed */
        { "<?xml version=\"1.0\"?>\n<scenario version=\"1\" name=\"x\">\n  <host id=\"a\"\n", 4 },
        /* well-formed, but a link names a host that does not exist */
        { "<?xml version=\"1.0\"?>\n<scenario version=\"1\" name=\"x\">\n"
          "  <host id=\"a\" role=\"router\" address=\"10.0.0.1\"/>\n"
          "  <link a=\"a\" b=\"nowhere\"/>\n</scenario>\n",
          4 },
        /* an element the format does not have */
        { "<?xml version=\"1.0\"?>\n<scenario version=\"1\" name=\"x\">\n\n  "
          "<teleport/>\n</scenario>\n",
          4 },
    };
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-teaching-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("broken-%u.xml", i);
        g_autofree char *path = g_build_filename(dir, name, NULL);
        CU_ASSERT_FATAL(g_file_set_contents(path, cases[i].body, -1, NULL));
        g_autofree char *out = NULL, *err = NULL;
        int rc = run_mailsim(&out, &err, "run", path, "-q", NULL);
        CU_ASSERT_EQUAL(rc, 2);
        g_autofree char *want = g_strdup_printf("%s:%u:", path, cases[i].line);
        CU_ASSERT(strstr(err, want) != NULL);
        if (!strstr(err, want))
            fprintf(stderr, "\ncase %u: want '%s' in stderr, got:\n%s\n", i, want, err);
        CU_ASSERT_EQUAL(count_lines_with_prefix(out, "PASS "), 0);
        g_unlink(path);
    }
    /* A file that is not there: bad input too. */
    g_autofree char *missing = g_build_filename(dir, "no-such-file.xml", NULL);
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run_mailsim(&out, &err, "run", missing, "-q", NULL), 2);
    CU_ASSERT(strstr(err, "no-such-file.xml") != NULL);
    g_rmdir(dir);
    /* --until 0 would run the whole scenario (0 is "its end" inside):
     * refused, naming the option and what does check a file. */
    g_autofree char *out0 = NULL, *err0 = NULL;
    CU_ASSERT_EQUAL(run_mailsim(&out0, &err0, "run", "-q", "--until", "0", NULL), 2);
    CU_ASSERT(err0 && strstr(err0, "--until: '0': expected a time above 0") != NULL);
    CU_ASSERT(out0 && count_lines_with_prefix(out0, "PASS ") == 0);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "every lesson passes its checks", test_lessons_pass },
        { "every regression scenario passes", test_regressions_pass },
        { "every lesson is deterministic", test_lessons_deterministic },
        { "golden narration of every lesson", test_golden_narrations },
        { "lesson 1 capture decodes in tshark", test_pcap_decodes },
        { "lessons 18 and 19: IMAP in tshark", test_pcap_imap },
        { "IMAP inside TLS in tshark, decrypted with the key log", test_pcap_imap_tls },
        { "lesson 1: TLS in the capture, decrypted with the key log", test_pcap_tls },
        { "lesson 11: the password on the wire", test_pcap_password_on_the_wire },
        { "lesson 2 capture shows retransmissions", test_pcap_retransmissions },
        { "lesson 3: second lookup from the cache", test_dns_cache_in_trace },
        { "lesson 5: deferral reason not freed", test_deferral_reason_intact },
        { "lesson 7: wrong password, download, delete", test_pop3_lesson_story },
        { "broken files exit 2 with file:line", test_broken_files_exit_2 },
        { NULL, NULL },
    };
    return ms_test_main_full("teaching", cases, free_lesson_runs);
}

/* Tests of the bridge: the endpoint syntax and the pacing formula (both
 * sides of each boundary), the mail layer's injection and its accounting,
 * building a bridge in process (bad hosts, port 0), the Maildirs read
 * back at start, and the integration scripts in tests/bridge/ that drive
 * `mailsim bridge` with real clients (smtplib, poplib, swaks, msmtp,
 * fetchmail), hostile ones, a relay sink, the spool, simulated mail
 * leaving the world through --relay-out, and TLS (STARTTLS, STLS, SMTPS,
 * POP3S) with real clients and bad input. The mailbox side (IMAP, the
 * durable spool and Maildirs under kill -9, a full disk) is
 * tests/test_bridge_mailbox.c: two programs, so that the runner can run
 * them side by side (tests/run-all.sh). */
#include "testlib.h"
#include "mailsim/bridge.h"
#include "mailsim/embedded.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
    const char *text;
    gboolean ok;
    const char *addr;
    guint16 port;
    const char *host;
} EndpointCase;

static void
test_parse_endpoint(void)
{
    static const EndpointCase cases[] = {
        { "2525", TRUE, NULL, 2525, NULL },
        { "0", TRUE, NULL, 0, NULL },
        { "65535", TRUE, NULL, 65535, NULL },
        { "65536", FALSE, NULL, 0, NULL },
        { "127.0.0.1:25=smtp-isp", TRUE, "127.0.0.1", 25, "smtp-isp" },
        { "0.0.0.0:110", TRUE, "0.0.0.0", 110, NULL },
        { "[::1]:2525=mx-corp", TRUE, "::1", 2525, "mx-corp" },
        { "[::1]2525", FALSE, NULL, 0, NULL },
        { "25=", FALSE, NULL, 0, NULL },
        { ":25", FALSE, NULL, 0, NULL },
        { "localhost:25", FALSE, NULL, 0, NULL },
        { "127.0.0.1:", FALSE, NULL, 0, NULL },
        { "-1", FALSE, NULL, 0, NULL },
        { "", FALSE, NULL, 0, NULL },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const EndpointCase *c = &cases[i];
        g_autofree char *addr = NULL, *host = NULL;
        guint16 port = 0;
        g_autoptr(GError) err = NULL;
        gboolean ok = ms_bridge_parse_endpoint(c->text, &addr, &port, &host, &err);
        CU_ASSERT_EQUAL(ok, c->ok);
        if (ok != c->ok)
            fprintf(stderr, "endpoint '%s': expected %s\n", c->text, c->ok ? "ok" : "an error");
        if (!ok) {
            CU_ASSERT_PTR_NOT_NULL(err);
            continue;
        }
        CU_ASSERT_EQUAL(port, c->port);
        CU_ASSERT_STRING_EQUAL(addr ? addr : "(null)", c->addr ? c->addr : "(null)");
        CU_ASSERT_STRING_EQUAL(host ? host : "(null)", c->host ? c->host : "(null)");
    }
}

static void
test_pace(void)
{
    /* speed 1: one wall second is one simulated second */
    CU_ASSERT_EQUAL(ms_bridge_pace(0, 1000, 1000 + 1000000, 1.0), MS_TIME_S);
    /* speed 60: a simulated minute per second */
    CU_ASSERT_EQUAL(ms_bridge_pace(5 * MS_TIME_S, 0, 1000000, 60.0), 65 * MS_TIME_S);
    /* the wall clock at or before the base: no movement */
    CU_ASSERT_EQUAL(ms_bridge_pace(7, 1000, 1000, 1.0), 7);
    CU_ASSERT_EQUAL(ms_bridge_pace(7, 1000, 999, 1.0), 7);
    /* huge speeds saturate below MS_TIME_INFINITE */
    CU_ASSERT_EQUAL(ms_bridge_pace(0, 0, G_MAXINT64 / 2, 1e9), MS_TIME_INFINITE - 1);
}

static MsScenario *
lesson1(void)
{
    gsize len = 0;
    const guint8 *data = ms_embedded_get("scenarios/teaching/01-first-email.xml", &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(data);
    return ms_scenario_load_memory((const char *) data, len, "01-first-email.xml", NULL);
}

static void
test_inject_accounting(void)
{
    g_autoptr(MsScenario) sc = lesson1();
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    MsMail *m = ms_world_mail(w);
    guint isp = ms_mail_server_for_domain(m, "ISP-A.net");
    CU_ASSERT_NOT_EQUAL_FATAL(isp, G_MAXUINT);
    CU_ASSERT_EQUAL(ms_mail_server_for_domain(m, "elsewhere.example"), G_MAXUINT);
    CU_ASSERT_STRING_EQUAL(ms_mail_server_hostname(m, isp), "smtp.isp-a.net");
    CU_ASSERT_TRUE(ms_mail_server_is_local(m, isp, "isp-a.net"));
    CU_ASSERT_FALSE(ms_mail_server_is_local(m, isp, "diversicomcorp.com"));
    /* no Message-ID: the mail layer adds one so the next hop finds the record */
    const char *rcpts[] = { "alice@isp-a.net", "feedback@diversicomcorp.com", NULL };
    g_autoptr(GBytes) data = g_bytes_new_static("Subject: hi\r\n\r\nbody\r\n", 21);
    MsMailInjectInfo info = { "client.example", "127.0.0.1", TRUE, FALSE, NULL, FALSE };
    g_autofree char *qid = NULL;
    guint32 id = ms_mail_inject(m, isp, "x@example.org", rcpts, data, &info, &qid);
    CU_ASSERT(id >= 1);
    CU_ASSERT_PTR_NOT_NULL(qid);
    CU_ASSERT_STRING_EQUAL(ms_mail_message(m, id)->subject, "hi");
    CU_ASSERT_FALSE(ms_mail_message_settled(m, id)); /* the remote one is queued */
    ms_world_run(w, 30 * MS_TIME_S);
    CU_ASSERT_TRUE(ms_mail_message_settled(m, id));
    const MsMessageRecord *r = ms_mail_message(m, id);
    CU_ASSERT_EQUAL(g_array_index(r->rcpts, MsRcptRecord, 1).state, MS_RCPT_DELIVERED);
    CU_ASSERT_EQUAL(g_array_index(r->rcpts, MsRcptRecord, 1).hops, 2);
    g_autoptr(GString) rep = g_string_new(NULL);
    CU_ASSERT_TRUE(ms_mail_check_balance(m, rep));
    GPtrArray *fb = ms_mail_store_messages(
        ms_mail_server_store(m, ms_mail_server_for_domain(m, "diversicomcorp.com")), "feedback");
    CU_ASSERT_EQUAL_FATAL(fb->len, 1);
    gsize n;
    const char *d = g_bytes_get_data(((MsStoredMessage *) g_ptr_array_index(fb, 0))->data, &n);
    CU_ASSERT_PTR_NOT_NULL(g_strstr_len(d, (gssize) n, "Message-ID: <bridge-2."));
    CU_ASSERT(n > 21 && memcmp(d + n - 21, "Subject: hi\r\n\r\nbody\r\n", 21) == 0);
}

static void
test_new_errors(void)
{
    g_autoptr(MsScenario) sc = lesson1();
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
    static const char *const bad[] = { "no-such-host", "r-isp" };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        MsBridgeConfig cfg;
        ms_bridge_config_init(&cfg);
        cfg.smtp = TRUE;
        cfg.smtp_host = g_strdup(bad[i]);
        g_autoptr(GError) err = NULL;
        MsBridge *b = ms_bridge_new(w, &cfg, &err);
        CU_ASSERT_PTR_NULL(b);
        CU_ASSERT_PTR_NOT_NULL(err);
        ms_bridge_config_clear(&cfg);
    }
    MsBridgeConfig cfg;
    ms_bridge_config_init(&cfg);
    cfg.smtp = cfg.pop3 = TRUE;
    cfg.pop3_host = g_strdup("mx-corp");
    g_autoptr(GError) err = NULL;
    g_autoptr(MsBridge) b = ms_bridge_new(w, &cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(ms_bridge_smtp_port(b) > 0 && ms_bridge_pop3_port(b) > 0);
    CU_ASSERT_NOT_EQUAL(ms_bridge_smtp_port(b), ms_bridge_pop3_port(b));
    CU_ASSERT_STRING_EQUAL(ms_bridge_smtp_address(b), "127.0.0.1");
    /* the same port again is in use: a clear error */
    MsBridgeConfig cfg2;
    ms_bridge_config_init(&cfg2);
    cfg2.smtp = TRUE;
    cfg2.smtp_port = ms_bridge_smtp_port(b);
    g_autoptr(GError) err2 = NULL;
    MsBridge *b2 = ms_bridge_new(w, &cfg2, &err2);
    CU_ASSERT_PTR_NULL(b2);
    CU_ASSERT_PTR_NOT_NULL(err2);
    ms_bridge_config_clear(&cfg2);
    ms_bridge_config_clear(&cfg);
    /* Run the lesson out: a world freed before its submissions ran leaks them. */
    ms_world_run(w, ms_world_default_until(w));
}

/* Removes a directory and everything in it. */
static void
rm_tree(const char *path)
{
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(path, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
            rm_tree(p);
        else
            g_unlink(p);
    }
    g_rmdir(path);
}

/* The TLS credentials: a missing --tls-cert is a clear error naming the
 * file; a generated certificate is a real X.509 one (OpenSSL parses it,
 * with its names), lives in a temporary directory removed at free, and in
 * a spool directory is kept and reused by the next bridge. */
static void
test_tls_certificate(void)
{
    g_autoptr(MsScenario) sc = lesson1();
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
    MsBridgeConfig cfg;
    ms_bridge_config_init(&cfg);
    cfg.smtps = TRUE;
    cfg.tls_cert = g_strdup("no-such-cert.pem");
    g_autoptr(GError) err = NULL;
    MsBridge *bad = ms_bridge_new(w, &cfg, &err);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT(err && strstr(err->message, "no-such-cert.pem") != NULL);
    g_clear_pointer(&cfg.tls_cert, g_free);

    g_autofree char *tmpdir = NULL;
    {
        g_autoptr(MsBridge) b = ms_bridge_new(w, &cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT(ms_bridge_smtps_port(b) > 0);
        gboolean gen = FALSE;
        const char *path = ms_bridge_tls_cert_path(b, &gen);
        CU_ASSERT_TRUE(gen);
        CU_ASSERT_TRUE(g_file_test(path, G_FILE_TEST_EXISTS));
        tmpdir = g_path_get_dirname(path);
        CU_ASSERT_EQUAL(strlen(ms_bridge_tls_fingerprint(b)), 32 * 3 - 1);
        g_autofree char *openssl = g_find_program_in_path("openssl");
        if (openssl) {
            const char *argv[] = { openssl, "x509", "-in", path, "-noout", "-text", NULL };
            g_autofree char *out = NULL, *e = NULL;
            CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &e), 0);
            CU_ASSERT(out &&
                      strstr(out, "DNS:smtp.isp-a.net, DNS:localhost, IP Address:127.0.0.1") &&
                      strstr(out, "prime256v1") && strstr(out, "TLS Web Server Authentication"));
        } else {
            ms_test_skip("openssl not installed (tools/deps.sh installs it)");
        }
        /* the key is readable by its owner only */
        g_autofree char *key = g_build_filename(tmpdir, "tls-key.pem", NULL);
        GStatBuf st;
        CU_ASSERT(g_stat(key, &st) == 0 && (st.st_mode & 0077) == 0);
    }
    CU_ASSERT_FALSE(g_file_test(tmpdir, G_FILE_TEST_EXISTS));

    g_autofree char *spool = g_dir_make_tmp("mailsim-test-spool-XXXXXX", NULL);
    cfg.spool_dir = g_strdup(spool);
    g_autofree char *fp1 = NULL;
    {
        g_autoptr(MsBridge) b = ms_bridge_new(w, &cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        fp1 = g_strdup(ms_bridge_tls_fingerprint(b));
    }
    {
        g_autoptr(MsBridge) b = ms_bridge_new(w, &cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        gboolean gen = TRUE;
        g_autofree char *dir = g_path_get_dirname(ms_bridge_tls_cert_path(b, &gen));
        CU_ASSERT_FALSE(gen);
        CU_ASSERT_STRING_EQUAL(dir, spool);
        CU_ASSERT_STRING_EQUAL(ms_bridge_tls_fingerprint(b), fp1);
    }
    static const char *const files[] = { "tls-cert.pem", "tls-key.pem" };
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *f = g_build_filename(spool, files[i], NULL);
        CU_ASSERT_TRUE(g_file_test(f, G_FILE_TEST_EXISTS));
    }
    rm_tree(spool);
    ms_bridge_config_clear(&cfg);
    ms_world_run(w, ms_world_default_until(w));
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    g_autofree char *p = g_build_filename(dir, name, NULL);
    CU_ASSERT_TRUE(g_file_set_contents(p, text, -1, NULL));
}

static gint
cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Names in a directory, sorted, joined by spaces. */
static char *
names_in(const char *dir)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d)))
        g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, cmp_names);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **) names->pdata);
}

/* A bridge with --spool reads the Maildirs back into the stores: in uid
 * order (",U="), a file another program put there (no U=) after them with
 * a new uid written into its name (so POP3 UIDLs stay), flags from the ":2," info; a file left in tmp/ by a crash is
 * removed. A change of flags renames the file into cur/ with the letters
 * sorted; a deletion unlinks it; a second bridge on the same directory
 * sees both. */
static void
test_maildir_reload(void)
{
    g_autofree char *spool = g_dir_make_tmp("mailsim-test-maildir-XXXXXX", NULL);
    g_autofree char *box =
        g_build_filename(spool, "mail", "mx.diversicomcorp.com", "feedback", NULL);
    g_autofree char *newd = g_build_filename(box, "new", NULL);
    g_autofree char *curd = g_build_filename(box, "cur", NULL);
    g_autofree char *tmpd = g_build_filename(box, "tmp", NULL);
    CU_ASSERT_EQUAL(g_mkdir_with_parents(newd, 0700), 0);
    CU_ASSERT_EQUAL(g_mkdir_with_parents(curd, 0700), 0);
    CU_ASSERT_EQUAL(g_mkdir_with_parents(tmpd, 0700), 0);
    static const char foreign[] = "Subject: foreign\r\n\r\nput there by an MDA\r\n";
    write_file(newd, "100.M1P1Q1.elsewhere", foreign);
    write_file(curd, "90.M1P1Q9.here,S=31,U=7:2,SF", "Subject: seven\r\n\r\nread, flagged\r\n");
    write_file(tmpd, "95.M1P1Q5.here", "Subject: half-wr");
    MsBridgeConfig cfg;
    ms_bridge_config_init(&cfg);
    cfg.smtp = TRUE;
    cfg.spool_dir = g_strdup(spool);
    g_autoptr(MsScenario) sc = lesson1();
    {
        g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
        g_autoptr(MsBridge) b = ms_bridge_new(w, &cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        MsMail *m = ms_world_mail(w);
        MsMailStore *st =
            ms_mail_server_store(m, ms_mail_server_for_domain(m, "diversicomcorp.com"));
        GPtrArray *msgs = ms_mail_store_messages(st, "feedback");
        CU_ASSERT_EQUAL_FATAL(msgs->len, 2);
        MsStoredMessage *a = g_ptr_array_index(msgs, 0), *c = g_ptr_array_index(msgs, 1);
        CU_ASSERT_STRING_EQUAL(a->uid, "feedback.7");
        CU_ASSERT_EQUAL(a->flags, MS_STORE_FLAG_SEEN | MS_STORE_FLAG_FLAGGED);
        CU_ASSERT_STRING_EQUAL(c->uid, "feedback.8");
        CU_ASSERT_EQUAL(c->flags, 0);
        CU_ASSERT_EQUAL(c->size, strlen(foreign));
        CU_ASSERT_PTR_NULL(c->data); /* read from its file on demand */
        g_autofree char *t = names_in(tmpd);
        CU_ASSERT_STRING_EQUAL(t, "");
        CU_ASSERT_TRUE(ms_mail_store_set_flags(st, "feedback", "feedback.8",
                                               MS_STORE_FLAG_SEEN | MS_STORE_FLAG_ANSWERED |
                                                   MS_STORE_FLAG_DRAFT | MS_STORE_FLAG_DELETED));
        CU_ASSERT_TRUE(ms_mail_store_delete(st, "feedback", "feedback.7"));
        g_autofree char *n = names_in(newd), *cu = names_in(curd);
        CU_ASSERT_STRING_EQUAL(n, "");
        CU_ASSERT_STRING_EQUAL(cu, "100.M1P1Q1.elsewhere,U=8:2,DRST");
        ms_world_run(w, ms_world_default_until(w));
    }
    {
        g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
        g_autoptr(MsBridge) b = ms_bridge_new(w, &cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        MsBridgeStats bs;
        ms_bridge_get_stats(b, &bs);
        CU_ASSERT_EQUAL(bs.maildir_loaded, 1);
        MsMail *m = ms_world_mail(w);
        MsMailStore *st =
            ms_mail_server_store(m, ms_mail_server_for_domain(m, "diversicomcorp.com"));
        GPtrArray *msgs = ms_mail_store_messages(st, "feedback");
        CU_ASSERT_EQUAL_FATAL(msgs->len, 1);
        MsStoredMessage *c = g_ptr_array_index(msgs, 0);
        CU_ASSERT_EQUAL(c->flags, MS_STORE_FLAG_SEEN | MS_STORE_FLAG_ANSWERED |
                                      MS_STORE_FLAG_DRAFT | MS_STORE_FLAG_DELETED);
        /* the uid given to the file with no U= was written into its name */
        CU_ASSERT_STRING_EQUAL(c->uid, "feedback.8");
        ms_world_run(w, ms_world_default_until(w));
    }
    ms_bridge_config_clear(&cfg);
    rm_tree(spool);
}

/* The store's Junk flag (a DMARC quarantine) is the keyword $Junk in the
 * Maildir, as Dovecot keeps keywords: a letter after the flags in the file
 * name, named in the box's dovecot-keywords. A file with $Junk's letter is
 * read back as a quarantined message; other keyword letters (IMAP
 * keywords) stay in the name when the flags change; a new name gets the
 * next free letter and a line in dovecot-keywords. */
static void
test_maildir_junk(void)
{
    g_autofree char *spool = g_dir_make_tmp("mailsim-test-maildir-XXXXXX", NULL);
    g_autofree char *box =
        g_build_filename(spool, "mail", "mx.diversicomcorp.com", "feedback", NULL);
    g_autofree char *newd = g_build_filename(box, "new", NULL);
    g_autofree char *curd = g_build_filename(box, "cur", NULL);
    g_autofree char *tmpd = g_build_filename(box, "tmp", NULL);
    CU_ASSERT_EQUAL(g_mkdir_with_parents(newd, 0700), 0);
    CU_ASSERT_EQUAL(g_mkdir_with_parents(curd, 0700), 0);
    CU_ASSERT_EQUAL(g_mkdir_with_parents(tmpd, 0700), 0);
    write_file(box, "dovecot-keywords", "0 todo\n2 $Junk\n");
    write_file(curd, "90.M1P1Q1.here,S=24,U=1:2,Sc", "Subject: spoofed\r\n\r\nspam\r\n");
    write_file(curd, "91.M1P1Q2.here,S=22,U=2:2,a", "Subject: fine\r\n\r\nham\r\n");
    MsBridgeConfig cfg;
    ms_bridge_config_init(&cfg);
    cfg.smtp = TRUE;
    cfg.spool_dir = g_strdup(spool);
    g_autoptr(MsScenario) sc = lesson1();
    {
        g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
        g_autoptr(MsBridge) b = ms_bridge_new(w, &cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        MsMail *m = ms_world_mail(w);
        MsMailStore *st =
            ms_mail_server_store(m, ms_mail_server_for_domain(m, "diversicomcorp.com"));
        GPtrArray *msgs = ms_mail_store_messages(st, "feedback");
        CU_ASSERT_EQUAL_FATAL(msgs->len, 2);
        MsStoredMessage *spam = g_ptr_array_index(msgs, 0), *ham = g_ptr_array_index(msgs, 1);
        CU_ASSERT_EQUAL(spam->flags, MS_STORE_FLAG_SEEN | MS_STORE_FLAG_JUNK);
        CU_ASSERT_EQUAL(ham->flags, 0);
        /* Out of Junk: $Junk's letter goes, the flags are written. */
        CU_ASSERT_TRUE(ms_mail_store_set_flags(st, "feedback", "feedback.1", MS_STORE_FLAG_SEEN));
        /* Into Junk: $Junk's letter comes, the keyword "todo" (a) stays. */
        CU_ASSERT_TRUE(ms_mail_store_set_flags(st, "feedback", "feedback.2",
                                               MS_STORE_FLAG_FLAGGED | MS_STORE_FLAG_JUNK));
        g_autofree char *cu = names_in(curd);
        CU_ASSERT_STRING_EQUAL(cu, "90.M1P1Q1.here,S=24,U=1:2,S 91.M1P1Q2.here,S=22,U=2:2,Fac");
        ms_world_run(w, ms_world_default_until(w));
    }
    /* A dovecot-keywords without $Junk: it gets the first free letter. */
    g_autofree char *kw = g_build_filename(box, "dovecot-keywords", NULL);
    write_file(box, "dovecot-keywords", "0 todo\n");
    g_autofree char *old = g_build_filename(curd, "91.M1P1Q2.here,S=22,U=2:2,Fac", NULL);
    g_autofree char *renamed = g_build_filename(curd, "91.M1P1Q2.here,S=22,U=2:2,Fa", NULL);
    CU_ASSERT_EQUAL(g_rename(old, renamed), 0);
    {
        g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
        g_autoptr(MsBridge) b = ms_bridge_new(w, &cfg, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        MsMail *m = ms_world_mail(w);
        MsMailStore *st =
            ms_mail_server_store(m, ms_mail_server_for_domain(m, "diversicomcorp.com"));
        GPtrArray *msgs = ms_mail_store_messages(st, "feedback");
        CU_ASSERT_EQUAL_FATAL(msgs->len, 2);
        CU_ASSERT_EQUAL(((MsStoredMessage *) g_ptr_array_index(msgs, 0))->flags, MS_STORE_FLAG_SEEN);
        CU_ASSERT_EQUAL(((MsStoredMessage *) g_ptr_array_index(msgs, 1))->flags,
                        MS_STORE_FLAG_FLAGGED);
        CU_ASSERT_TRUE(ms_mail_store_set_flags(st, "feedback", "feedback.1",
                                               MS_STORE_FLAG_SEEN | MS_STORE_FLAG_JUNK));
        g_autofree char *cu = names_in(curd);
        CU_ASSERT_STRING_EQUAL(cu, "90.M1P1Q1.here,S=24,U=1:2,Sb 91.M1P1Q2.here,S=22,U=2:2,Fa");
        g_autofree char *text = NULL;
        CU_ASSERT_TRUE(g_file_get_contents(kw, &text, NULL, NULL));
        CU_ASSERT_STRING_EQUAL(text, "0 todo\n1 $Junk\n");
        ms_world_run(w, ms_world_default_until(w));
    }
    ms_bridge_config_clear(&cfg);
    rm_tree(spool);
}

typedef struct {
    guint server;
    guint attempt;
    char *qid;
    GStrv rcpts;
} Handoff;

static void
handoff_free(gpointer p)
{
    Handoff *h = p;
    g_free(h->qid);
    g_strfreev(h->rcpts);
    g_free(h);
}

static void
capture_outbound(const MsMailOutbound *job, gpointer ud)
{
    Handoff *h = g_new0(Handoff, 1);
    h->server = job->server;
    h->attempt = job->attempt;
    h->qid = g_strdup(job->queue_id);
    h->rcpts = g_strdupv((char **) job->rcpts);
    g_ptr_array_add(ud, h);
}

/* The mail layer's way out, without sockets: a handoff per attempt, the
 * outcome per recipient or for the rest, the server's own retry schedule,
 * a bounce for a 5xx; unknown or settled entries refused. */
static void
test_outbound_api(void)
{
    g_autoptr(MsScenario) sc = lesson1();
    g_autoptr(MsWorld) w = ms_world_new(sc, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    MsMail *m = ms_world_mail(w);
    g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func(handoff_free);
    ms_mail_set_outbound(m, capture_outbound, jobs);
    guint isp = ms_mail_server_for_domain(m, "isp-a.net");
    const char *rcpts[] = { "a@out.example", "b@out.example", NULL };
    g_autoptr(GBytes) data = g_bytes_new_static("Subject: out\r\n\r\nbody\r\n", 23);
    guint32 id = ms_mail_inject(m, isp, "alice@isp-a.net", rcpts, data, NULL, NULL);
    ms_world_run(w, 2 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(jobs->len, 1);
    Handoff *h = g_ptr_array_index(jobs, 0);
    CU_ASSERT_EQUAL(h->server, isp);
    CU_ASSERT_EQUAL(h->attempt, 1);
    CU_ASSERT_EQUAL(g_strv_length(h->rcpts), 2);
    /* unknown entry, unknown recipient */
    CU_ASSERT_FALSE(ms_mail_outbound_result(m, isp, "NOPE", NULL, 250, NULL, "ok"));
    CU_ASSERT_FALSE(ms_mail_outbound_result(m, isp, h->qid, "c@out.example", 250, NULL, "ok"));
    /* a delivered, b's 4xx waits for the entry's outcome, which defers */
    CU_ASSERT_TRUE(ms_mail_outbound_result(m, isp, h->qid, "a@out.example", 250, "2.0.0", "ok"));
    CU_ASSERT_TRUE(ms_mail_outbound_result(m, isp, h->qid, "b@out.example", 451, "4.3.0", "later"));
    CU_ASSERT_FALSE(ms_mail_message_settled(m, id));
    CU_ASSERT_TRUE(ms_mail_outbound_result(m, isp, h->qid, NULL, 451, "4.3.0", "later"));
    g_autoptr(GString) rep = g_string_new(NULL);
    CU_ASSERT_TRUE(ms_mail_check_balance(m, rep)); /* b still held by the server */
    /* not before the profile's retry (Postfix: 300 s, taken up by the
     * queue manager's scan at 600 s) */
    ms_world_run(w, 590 * MS_TIME_S);
    CU_ASSERT_EQUAL(jobs->len, 1);
    ms_world_run(w, 610 * MS_TIME_S);
    CU_ASSERT_EQUAL_FATAL(jobs->len, 2);
    h = g_ptr_array_index(jobs, 1);
    CU_ASSERT_EQUAL(h->attempt, 2);
    CU_ASSERT_EQUAL(g_strv_length(h->rcpts), 1);
    CU_ASSERT_STRING_EQUAL(h->rcpts[0], "b@out.example");
    /* a 5xx for the rest bounces it to the sender */
    CU_ASSERT_TRUE(ms_mail_outbound_result(m, isp, h->qid, NULL, 550, "5.1.1", "no such user"));
    CU_ASSERT_TRUE(ms_mail_message_settled(m, id));
    CU_ASSERT_FALSE(ms_mail_outbound_result(m, isp, h->qid, NULL, 250, NULL, "late"));
    const MsMessageRecord *r = ms_mail_message(m, id);
    CU_ASSERT_EQUAL(g_array_index(r->rcpts, MsRcptRecord, 0).state, MS_RCPT_DELIVERED);
    CU_ASSERT_EQUAL(g_array_index(r->rcpts, MsRcptRecord, 1).state, MS_RCPT_BOUNCED);
    CU_ASSERT_STRING_EQUAL(g_array_index(r->rcpts, MsRcptRecord, 1).status, "5.1.1");
    ms_world_run(w, 700 * MS_TIME_S);
    MsMailStats st;
    ms_mail_get_stats(m, &st);
    CU_ASSERT_EQUAL(st.dsns, 1);
    /* an external bounce: a DSN for a sender, none for the null sender */
    CU_ASSERT(ms_mail_bounce_external(m, isp, "alice@isp-a.net", "x@out.example", "5.0.0",
                                      "refused", data) > id);
    CU_ASSERT_EQUAL(ms_mail_bounce_external(m, isp, "", "x@out.example", "5.0.0", "refused", data),
                    0);
    ms_world_run(w, ms_world_default_until(w) + 600 * MS_TIME_S);
    g_string_truncate(rep, 0);
    CU_ASSERT_TRUE(ms_mail_check_balance(m, rep));
    GPtrArray *box = ms_mail_store_messages(ms_mail_server_store(m, isp), "alice");
    CU_ASSERT_EQUAL(box->len, 2); /* both DSNs */
    ms_mail_set_outbound(m, NULL, NULL);
}

static void
test_clients(void)
{
    ms_test_bridge_script("clients.py");
}
static void
test_hostile(void)
{
    ms_test_bridge_script("hostile.py");
}
static void
test_relay_spool(void)
{
    ms_test_bridge_script("relay_spool.py");
}
static void
test_outbound(void)
{
    ms_test_bridge_script("outbound.py");
}
static void
test_programs(void)
{
    ms_test_bridge_script("programs.py");
}
static void
test_tls(void)
{
    ms_test_bridge_script("tls.py");
}
int
main(void)
{
    static const MsTestCase cases[] = {
        { "parse_endpoint", test_parse_endpoint },
        { "pace", test_pace },
        { "inject_accounting", test_inject_accounting },
        { "new_errors", test_new_errors },
        { "tls_certificate", test_tls_certificate },
        { "outbound_api", test_outbound_api },
        { "clients", test_clients },
        { "hostile", test_hostile },
        { "relay_spool", test_relay_spool },
        { "outbound", test_outbound },
        { "programs", test_programs },
        { "tls", test_tls },
        { "maildir_reload", test_maildir_reload },
        { "maildir_junk", test_maildir_junk },
        { NULL, NULL },
    };
    return ms_test_main("bridge", cases);
}

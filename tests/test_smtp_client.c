/* Tests of the SMTP client core: full conversations with the server core
 * wired in memory (byte-exact round trips, refused recipients, a 3 MB body,
 * AUTH, faults), the exact pipelined and non-pipelined bytes against a
 * scripted server, HELO fallback, and hostile servers. */
#include "testlib.h"
#include "smtp_testkit.h"

typedef struct {
    GString *log;
    GString *trace;
    GString *why; /* the session result's text */
    guint sessions;
    MsSmtpSessionStatus status;
} Rec;

static void
on_rcpt(guint txn, guint rcpt, const MsSmtpReply *r, gpointer ud)
{
    Rec *rec = ud;
    g_string_append_printf(rec->log, "rcpt %u.%u %u %s\n", txn, rcpt, r->code, r->enhanced);
}

static void
on_txn(guint txn, MsSmtpTxnStatus st, const MsSmtpReply *r, gpointer ud)
{
    Rec *rec = ud;
    g_string_append_printf(rec->log, "txn %u %s %u\n", txn, ms_smtp_txn_status_to_string(st),
                           r ? r->code : 999);
}

static void
on_session(MsSmtpSessionStatus st, const MsSmtpReply *r, gpointer ud)
{
    Rec *rec = ud;
    rec->sessions++;
    rec->status = st;
    g_string_assign(rec->why, r && r->text ? r->text : "");
    g_string_append_printf(rec->log, "session %s %u\n", ms_smtp_session_status_to_string(st),
                           r ? r->code : 999);
}

static void
on_trace(MsSmtpTraceDir dir, const char *line, gpointer ud)
{
    Rec *rec = ud;
    g_string_append_printf(rec->trace, "%s %s\n", dir == MS_SMTP_TRACE_IN ? ">" : "<", line);
}

static void
rec_init(Rec *r)
{
    memset(r, 0, sizeof *r);
    r->log = g_string_new(NULL);
    r->trace = g_string_new(NULL);
    r->why = g_string_new(NULL);
}

static void
rec_clear(Rec *r)
{
    g_string_free(r->log, TRUE);
    g_string_free(r->trace, TRUE);
    g_string_free(r->why, TRUE);
}

static MsSmtpClient *
new_client(const MsSmtpClientConfig *cfg, Rec *rec)
{
    MsSmtpClientHooks h = { on_rcpt, on_txn, on_session, on_trace };
    return ms_smtp_client_new(cfg, &h, rec);
}

static MsSmtpServer *
new_server(const MsSmtpServerConfig *cfg, TkPolicy *pol)
{
    MsSmtpServerHooks h = tk_server_hooks();
    MsSmtpServer *s = ms_smtp_server_new(cfg, &h, pol);
    ms_smtp_server_start(s);
    return s;
}

static GBytes *
bytes(const char *s)
{
    return g_bytes_new(s, strlen(s));
}

static GBytes *
big_body(gsize target)
{
    GString *b = g_string_new("Subject: big\r\n\r\n");
    for (guint i = 0; b->len < target; i++)
        g_string_append_printf(b, "%s%u \xe2\x82\xac line of the large body\r\n",
                               i % 5 == 0 ? "." : "", i);
    gsize n = b->len;
    return g_bytes_new_take(g_string_free(b, FALSE), n);
}

static gboolean
same_bytes(GBytes *a, GBytes *b)
{
    return g_bytes_equal(a, b);
}

/* Four transactions through the real server: leading dots and UTF-8 with a
 * refused recipient; 3 MB; all recipients refused; the null reverse path
 * with an empty body. Run pipelined and not, whole and octet by octet: the
 * outcomes and the delivered bytes are identical. */
static void
test_round_trip(void)
{
    g_autoptr(GBytes) m0 =
        bytes("From: a@b.test\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n\r\n"
              ".leading dot\r\n..two dots\r\n.\r\n\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\r\n"
              "last\r\n");
    g_autoptr(GBytes) m1 = big_body(3 * 1024 * 1024);
    g_autoptr(GBytes) m2 = bytes("never sent\r\n");
    g_autoptr(GBytes) m3 = bytes("");
    static const char *const r0[] = { "x@mx.test", "unknown@mx.test", "y@mx.test", NULL };
    static const char *const r1[] = { "big@mx.test", NULL };
    static const char *const r2[] = { "unknown@mx.test", "z@elsewhere.test", NULL };
    static const char *const r3[] = { "postmaster@mx.test", NULL };
    const char *want_log =
        "rcpt 0.0 250 2.1.5\nrcpt 0.1 550 5.1.1\nrcpt 0.2 250 2.1.5\ntxn 0 accepted 250\n"
        "rcpt 1.0 250 2.1.5\ntxn 1 accepted 250\n"
        "rcpt 2.0 550 5.1.1\nrcpt 2.1 554 5.7.1\ntxn 2 permfail 554\n"
        "rcpt 3.0 250 2.1.5\ntxn 3 accepted 250\n"
        "session ok 221\n";
    for (int mode = 0; mode < 4; mode++) {
        gboolean nopipe = mode & 1, bytewise = (mode & 2) != 0;
        MsSmtpServerConfig scfg = tk_server_config();
        TkPolicy pol;
        tk_policy_init(&pol);
        g_autoptr(MsSmtpServer) srv = new_server(&scfg, &pol);
        Rec rec;
        rec_init(&rec);
        MsSmtpClientConfig ccfg = { .helo_name = "client.test", .no_pipelining = nopipe };
        g_autoptr(MsSmtpClient) cli = new_client(&ccfg, &rec);
        CU_ASSERT_EQUAL(ms_smtp_client_add_message(cli, "a@b.test", r0, m0), 0);
        ms_smtp_client_add_message(cli, "a@b.test", r1, m1);
        ms_smtp_client_add_message(cli, "a@b.test", r2, m2);
        ms_smtp_client_add_message(cli, "", r3, m3);
        ms_smtp_client_finish(cli);
        tk_pump(srv, cli, bytewise);
        CU_ASSERT_STRING_EQUAL(rec.log->str, want_log);
        if (strcmp(rec.log->str, want_log) != 0)
            printf("\nmode %d:\n%s\n", mode, rec.log->str);
        CU_ASSERT(ms_smtp_client_is_closed(cli));
        CU_ASSERT(ms_smtp_server_is_closed(srv));
        CU_ASSERT_EQUAL(pol.msgs->len, 3);
        if (pol.msgs->len == 3) {
            CU_ASSERT(same_bytes(g_ptr_array_index(pol.msgs, 0), m0));
            CU_ASSERT(same_bytes(g_ptr_array_index(pol.msgs, 1), m1));
            CU_ASSERT(same_bytes(g_ptr_array_index(pol.msgs, 2), m3));
            g_autofree char *env0 = g_strdup_printf(
                "a@b.test|x@mx.test,y@mx.test|%" G_GSIZE_FORMAT "|1", g_bytes_get_size(m0));
            CU_ASSERT_STRING_EQUAL(g_ptr_array_index(pol.envs, 0), env0);
            CU_ASSERT_STRING_EQUAL(g_ptr_array_index(pol.envs, 2), "|postmaster@mx.test|0|0");
        }
        /* Without PIPELINING the all-refused transaction never says DATA. */
        gsize datas = 0;
        for (const char *s = rec.trace->str; (s = strstr(s, "< DATA\n")); s++)
            datas++;
        CU_ASSERT_EQUAL(datas, nopipe ? 3 : 4);
        rec_clear(&rec);
        tk_policy_clear(&pol);
    }
}

/* Feeds a scripted server reply and returns what the client sent after it
 * (caller frees). */
static char *
step(MsSmtpClient *c, const char *server)
{
    if (server)
        ms_smtp_client_feed(c, (const guint8 *) server, strlen(server));
    g_autoptr(GBytes) out = ms_smtp_client_take_output(c);
    return out ? g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out)) : g_strdup("");
}

typedef struct {
    const char *server; /* scripted reply */
    const char *client; /* exact bytes the client must send next */
} Step;

static void
run_script(const MsSmtpClientConfig *cfg, const Step *steps, const char *want_log)
{
    Rec rec;
    rec_init(&rec);
    g_autoptr(MsSmtpClient) c = new_client(cfg, &rec);
    static const char *const rcpts[] = { "x@y.test", "z@y.test", NULL };
    g_autoptr(GBytes) m = bytes("hi\r\n.x\r\n");
    ms_smtp_client_add_message(c, "a@b.test", rcpts, m);
    ms_smtp_client_finish(c);
    for (const Step *s = steps; s->server; s++) {
        g_autofree char *got = step(c, s->server);
        if (strcmp(got, s->client) != 0)
            printf("\nafter %s got: %s\nwant: %s\n", s->server, got, s->client);
        CU_ASSERT_STRING_EQUAL(got, s->client);
    }
    CU_ASSERT(ms_smtp_client_is_closed(c));
    CU_ASSERT_STRING_EQUAL(rec.log->str, want_log);
    if (strcmp(rec.log->str, want_log) != 0)
        printf("\nlog: %s\n", rec.log->str);
    rec_clear(&rec);
}

/* RFC 2920 3.1: MAIL, both RCPTs and DATA leave in one go. */
static void
test_pipelined_bytes(void)
{
    static const Step steps[] = {
        { "220 mx ESMTP\r\n", "EHLO localhost\r\n" },
        { "250-mx\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n",
          "MAIL FROM:<a@b.test> SIZE=8\r\nRCPT TO:<x@y.test>\r\nRCPT TO:<z@y.test>\r\nDATA\r\n" },
        { "250 2.1.0 ok\r\n250 2.1.5 ok\r\n", "" },
        { "550 5.1.1 no\r\n354 go\r\n", "hi\r\n..x\r\n.\r\n" },
        { "250 2.0.0 queued\r\n", "QUIT\r\n" },
        { "221 bye\r\n", "" },
        { NULL, NULL },
    };
    MsSmtpClientConfig cfg = { 0 };
    run_script(&cfg, steps,
               "rcpt 0.0 250 2.1.5\nrcpt 0.1 550 5.1.1\ntxn 0 accepted 250\nsession ok 221\n");
}

/* RFC 6152: MAIL says BODY=8BITMIME exactly when the message has an octet
 * above 127, wherever it lies (the scan goes 64 and 8 octets at a time). */
static void
test_8bitmime_scan(void)
{
    static const gsize lengths[] = { 1, 7, 8, 63, 64, 65, 130, 200 };
    static const char *const rcpts[] = { "x@y.test", NULL };
    for (gsize li = 0; li < G_N_ELEMENTS(lengths); li++) {
        gsize n = lengths[li];
        for (gssize at = -1; at < (gssize) n; at++) { /* -1: plain ASCII */
            g_autofree char *body = g_strnfill(n, 'a');
            if (at >= 0)
                body[at] = (char) 0xC3;
            Rec rec;
            rec_init(&rec);
            MsSmtpClientConfig cfg = { 0 };
            g_autoptr(MsSmtpClient) c = new_client(&cfg, &rec);
            g_autoptr(GBytes) m = bytes(body);
            ms_smtp_client_add_message(c, "a@b.test", rcpts, m);
            ms_smtp_client_finish(c);
            g_autofree char *ehlo = step(c, "220 mx ESMTP\r\n");
            g_autofree char *mail = step(c, "250-mx\r\n250 8BITMIME\r\n");
            gboolean says = strstr(mail, " BODY=8BITMIME\r\n") != NULL;
            if (says != (at >= 0))
                printf("\nlength %" G_GSIZE_FORMAT ", high octet at %" G_GSSIZE_FORMAT ": %s", n,
                       at, mail);
            CU_ASSERT_EQUAL(says, at >= 0);
            CU_ASSERT(g_str_has_prefix(mail, "MAIL FROM:<a@b.test>"));
            rec_clear(&rec);
        }
    }
}

/* Without PIPELINING (not offered, or refused by config) one command at a
 * time, in lock step. */
static void
test_lockstep_bytes(void)
{
    static const Step not_offered[] = {
        { "220 mx ESMTP\r\n", "EHLO localhost\r\n" },
        { "250-mx\r\n250 SIZE\r\n", "MAIL FROM:<a@b.test> SIZE=8\r\n" },
        { "250 ok\r\n", "RCPT TO:<x@y.test>\r\n" },
        { "250 ok\r\n", "RCPT TO:<z@y.test>\r\n" },
        { "451 4.3.0 later\r\n", "DATA\r\n" },
        { "354 go\r\n", "hi\r\n..x\r\n.\r\n" },
        { "250 ok\r\n", "QUIT\r\n" },
        { "221 bye\r\n", "" },
        { NULL, NULL },
    };
    MsSmtpClientConfig cfg = { 0 };
    run_script(&cfg, not_offered,
               "rcpt 0.0 250 \nrcpt 0.1 451 4.3.0\ntxn 0 accepted 250\nsession ok 221\n");
    static const Step refused[] = {
        { "220 mx ESMTP\r\n", "EHLO localhost\r\n" },
        { "250-mx\r\n250 PIPELINING\r\n", "MAIL FROM:<a@b.test>\r\n" },
        { "250 ok\r\n", "RCPT TO:<x@y.test>\r\n" },
        { "550 no\r\n", "RCPT TO:<z@y.test>\r\n" },
        { "450 busy\r\n", "QUIT\r\n" }, /* all refused: no DATA */
        { "221 bye\r\n", "" },
        { NULL, NULL },
    };
    /* Bare codes without text (RFC 5321 4.2 allows them), found by the
     * fuzzer: an empty EHLO reply once crashed the keyword parser. */
    static const Step bare[] = {
        { "220\r\n", "EHLO localhost\r\n" },
        { "250\r\n", "MAIL FROM:<a@b.test>\r\n" },
        { "250\r\n", "RCPT TO:<x@y.test>\r\n" },
        { "250\r\n", "RCPT TO:<z@y.test>\r\n" },
        { "250\r\n", "DATA\r\n" },
        { "354\r\n", "hi\r\n..x\r\n.\r\n" },
        { "250\r\n", "QUIT\r\n" },
        { "221\r\n", "" },
        { NULL, NULL },
    };
    run_script(&cfg, bare, "rcpt 0.0 250 \nrcpt 0.1 250 \ntxn 0 accepted 250\nsession ok 221\n");
    cfg.no_pipelining = TRUE;
    run_script(&cfg, refused, "rcpt 0.0 550 \nrcpt 0.1 450 \ntxn 0 tempfail 450\nsession ok 221\n");
}

/* RFC 5321 4.1.4: EHLO refused with 5xx, HELO instead; no ESMTP
 * parameters after HELO. */
static void
test_helo_fallback(void)
{
    static const Step steps[] = {
        { "220 old mx\r\n", "EHLO localhost\r\n" },
        { "502 what\r\n", "HELO localhost\r\n" },
        { "250 old\r\n", "MAIL FROM:<a@b.test>\r\n" },
        { "250 ok\r\n", "RCPT TO:<x@y.test>\r\n" },
        { "250 ok\r\n", "RCPT TO:<z@y.test>\r\n" },
        { "250 ok\r\n", "DATA\r\n" },
        { "354 go\r\n", "hi\r\n..x\r\n.\r\n" },
        { "554 no thanks\r\n", "QUIT\r\n" },
        { "221 bye\r\n", "" },
        { NULL, NULL },
    };
    MsSmtpClientConfig cfg = { 0 };
    run_script(&cfg, steps, "rcpt 0.0 250 \nrcpt 0.1 250 \ntxn 0 permfail 554\nsession ok 221\n");
    static const Step both_refused[] = {
        { "220 old mx\r\n", "EHLO localhost\r\n" },
        { "500 what\r\n", "HELO localhost\r\n" },
        { "550 go away\r\n", "QUIT\r\n" },
        { "221 bye\r\n", "" },
        { NULL, NULL },
    };
    run_script(&cfg, both_refused, "txn 0 permfail 550\nsession helo-refused 550\n");
}

static void
test_auth_login_script(void)
{
    static const Step steps[] = {
        { "220 mx\r\n", "EHLO localhost\r\n" },
        { "250-mx\r\n250 AUTH LOGIN CRAM-MD5\r\n", "AUTH LOGIN\r\n" },
        { "334 VXNlcm5hbWU6\r\n", "YWxpY2U=\r\n" },
        { "334 UGFzc3dvcmQ6\r\n", "c2VjcmV0\r\n" },
        { "235 2.7.0 ok\r\n", "MAIL FROM:<a@b.test>\r\n" },
        { "421 4.3.2 shutting down\r\n", "" },
        { NULL, NULL },
    };
    MsSmtpClientConfig cfg = { .auth_user = "alice", .auth_password = "secret" };
    run_script(&cfg, steps, "txn 0 tempfail 421\nsession server-closed 421\n");
}

/* AUTH through the real server: PLAIN right, PLAIN wrong (535), and AUTH
 * wanted where none is offered. */
static void
test_auth_wired(void)
{
    static const struct {
        const char *user, *pw;
        gboolean offered;
        const char *log;
        guint delivered;
    } t[] = {
        { "alice", "secret", TRUE, "rcpt 0.0 250 2.1.5\ntxn 0 accepted 250\nsession ok 221\n", 1 },
        { "alice", "wrong", TRUE, "txn 0 permfail 535\nsession auth-failed 535\n", 0 },
        { "alice", "secret", FALSE, "txn 0 permfail 530\nsession auth-unavailable 530\n", 0 },
        { NULL, NULL, FALSE, "rcpt 0.0 250 2.1.5\ntxn 0 accepted 250\nsession ok 221\n", 1 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(t); i++) {
        MsSmtpServerConfig scfg = tk_server_config();
        scfg.offer_auth = t[i].offered;
        TkPolicy pol;
        tk_policy_init(&pol);
        g_autoptr(MsSmtpServer) srv = new_server(&scfg, &pol);
        Rec rec;
        rec_init(&rec);
        MsSmtpClientConfig ccfg = { .helo_name = "c.test",
                                    .auth_user = t[i].user,
                                    .auth_password = t[i].pw };
        g_autoptr(MsSmtpClient) cli = new_client(&ccfg, &rec);
        static const char *const rcpts[] = { "x@mx.test", NULL };
        g_autoptr(GBytes) m = bytes("Subject: s\r\n\r\nx\r\n");
        ms_smtp_client_add_message(cli, "alice@mx.test", rcpts, m);
        ms_smtp_client_finish(cli);
        tk_pump(srv, cli, FALSE);
        CU_ASSERT_STRING_EQUAL(rec.log->str, t[i].log);
        CU_ASSERT_EQUAL(pol.msgs->len, t[i].delivered);
        CU_ASSERT(ms_smtp_client_is_closed(cli));
        CU_ASSERT(ms_smtp_server_is_closed(srv));
        /* Credentials are not traced. */
        CU_ASSERT(strstr(rec.trace->str, "AGFsaWNl") == NULL);
        if (t[i].user && t[i].offered)
            CU_ASSERT(strstr(rec.trace->str, "< AUTH PLAIN <initial response>\n") != NULL);
        rec_clear(&rec);
        tk_policy_clear(&pol);
    }
}

/* Faults from the server's greeting config and override hook, as the
 * client reports them. */
static void
test_faults_wired(void)
{
    static const struct {
        guint greeting;
        const char *verb;
        guint code;
        guint skip;
        const char *log;
        guint delivered;
    } t[] = {
        { 421, NULL, 0, 0, "txn 0 tempfail 421\ntxn 1 tempfail 421\nsession greeting-refused 421\n",
          0 },
        { 554, NULL, 0, 0, "txn 0 permfail 554\ntxn 1 permfail 554\nsession greeting-refused 554\n",
          0 },
        { 0, ".", 451, 0,
          "rcpt 0.0 250 2.1.5\ntxn 0 tempfail 451\nrcpt 1.0 250 2.1.5\ntxn 1 tempfail 451\nsession "
          "ok 221\n",
          0 },
        { 0, "MAIL", 550, 1,
          "rcpt 0.0 250 2.1.5\ntxn 0 accepted 250\nrcpt 1.0 503 5.5.1\ntxn 1 permfail 550\nsession "
          "ok 221\n",
          1 },
        { 0, "RCPT", 421, 1,
          "rcpt 0.0 250 2.1.5\ntxn 0 accepted 250\ntxn 1 tempfail 421\nsession server-closed 421\n",
          1 },
        { 0, "RCPT", 452, 0,
          "rcpt 0.0 452 4.0.0\ntxn 0 tempfail 452\nrcpt 1.0 452 4.0.0\ntxn 1 tempfail 452\nsession "
          "ok 221\n",
          0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(t); i++) {
        for (int nopipe = 0; nopipe < 2; nopipe++) {
            MsSmtpServerConfig scfg = tk_server_config();
            scfg.greeting_code = t[i].greeting;
            TkPolicy pol;
            tk_policy_init(&pol);
            pol.ov_verb = t[i].verb;
            pol.ov_code = t[i].code;
            pol.ov_skip = t[i].skip;
            g_autoptr(MsSmtpServer) srv = new_server(&scfg, &pol);
            Rec rec;
            rec_init(&rec);
            MsSmtpClientConfig ccfg = { .helo_name = "c.test", .no_pipelining = nopipe };
            g_autoptr(MsSmtpClient) cli = new_client(&ccfg, &rec);
            static const char *const rcpts[] = { "x@mx.test", NULL };
            g_autoptr(GBytes) m = bytes("x\r\n");
            ms_smtp_client_add_message(cli, "a@b.test", rcpts, m);
            ms_smtp_client_add_message(cli, "a@b.test", rcpts, m);
            ms_smtp_client_finish(cli);
            tk_pump(srv, cli, FALSE);
            /* Lock step: a refused MAIL is not followed by RCPT. */
            const char *want = t[i].log;
            g_autofree char *alt = NULL;
            if (nopipe && t[i].code == 550) {
                alt = g_strdup(
                    "rcpt 0.0 250 2.1.5\ntxn 0 accepted 250\ntxn 1 permfail 550\nsession ok 221\n");
                want = alt;
            }
            if (strcmp(rec.log->str, want) != 0)
                printf("\ncase %zu nopipe %d:\n%s", i, nopipe, rec.log->str);
            CU_ASSERT_STRING_EQUAL(rec.log->str, want);
            CU_ASSERT_EQUAL(pol.msgs->len, t[i].delivered);
            CU_ASSERT(ms_smtp_client_is_closed(cli));
            CU_ASSERT_EQUAL(rec.sessions, 1);
            rec_clear(&rec);
            tk_policy_clear(&pol);
        }
    }
}

/* The client does not send a message larger than the server's SIZE; the
 * next one still goes. Messages added after the greeting work too. */
static void
test_size_and_late_add(void)
{
    MsSmtpServerConfig scfg = tk_server_config();
    scfg.max_size = 1000;
    TkPolicy pol;
    tk_policy_init(&pol);
    g_autoptr(MsSmtpServer) srv = new_server(&scfg, &pol);
    Rec rec;
    rec_init(&rec);
    g_autoptr(MsSmtpClient) cli = new_client(NULL, &rec);
    tk_pump(srv, cli, FALSE); /* greeting and EHLO, nothing queued yet */
    CU_ASSERT(!ms_smtp_client_is_closed(cli));
    static const char *const rcpts[] = { "x@mx.test", NULL };
    g_autoptr(GBytes) big = big_body(1001);
    g_autoptr(GBytes) small = bytes("small\r\n");
    ms_smtp_client_add_message(cli, "a@b.test", rcpts, big);
    ms_smtp_client_add_message(cli, "a@b.test", rcpts, small);
    tk_pump(srv, cli, FALSE);
    ms_smtp_client_finish(cli);
    tk_pump(srv, cli, FALSE);
    CU_ASSERT_STRING_EQUAL(
        rec.log->str,
        "txn 0 permfail 552\nrcpt 1.0 250 2.1.5\ntxn 1 accepted 250\nsession ok 221\n");
    CU_ASSERT_EQUAL(pol.msgs->len, 1);
    CU_ASSERT(strstr(pol.trace->str, "SIZE=7") != NULL);
    rec_clear(&rec);
    tk_policy_clear(&pol);
}

typedef struct {
    const char *name;
    const char *server;
} Hostile;

static const Hostile hostile[] = {
    { "not a reply", "hello there\r\n" },
    { "four digits", "2200 x\r\n" },
    { "first digit 1", "199 x\r\n" },
    { "first digit 6", "699 x\r\n" },
    { "code changes in multi-line", "220-a\r\n250 b\r\n" },
    { "NUL in reply", "220 mx\r\n250 a\0b\r\n" },
    { "354 to EHLO", "220 mx\r\n354 what\r\n" },
    { "354 to MAIL", "220 mx\r\n250 mx\r\n354 what\r\n" },
    { "250 to DATA", "220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n250 ok\r\n" },
    { "greeting 250", "250 hi\r\n" },
    { NULL, NULL },
};

static void
hostile_run(const char *data, gsize len, gboolean bytewise, const char *name)
{
    Rec rec;
    rec_init(&rec);
    g_autoptr(MsSmtpClient) c = new_client(NULL, &rec);
    static const char *const rcpts[] = { "x@y.test", NULL };
    g_autoptr(GBytes) m = bytes("x\r\n");
    ms_smtp_client_add_message(c, "a@b.test", rcpts, m);
    for (gsize i = 0; i < len; i += bytewise ? 1 : len)
        ms_smtp_client_feed(c, (const guint8 *) data + i, bytewise ? 1 : len);
    g_autoptr(GBytes) out = ms_smtp_client_take_output(c);
    CU_ASSERT(ms_smtp_client_is_closed(c));
    CU_ASSERT_EQUAL(rec.sessions, 1);
    CU_ASSERT_EQUAL(rec.status, MS_SMTP_SESSION_PROTOCOL_ERROR);
    CU_ASSERT(strstr(rec.log->str, "txn 0 tempfail 0\n") != NULL);
    if (!strstr(rec.log->str, "txn 0 tempfail 0\n"))
        printf("\nhostile '%s': %s\n", name, rec.log->str);
    rec_clear(&rec);
}

static void
test_hostile_server(void)
{
    for (const Hostile *h = hostile; h->name; h++) {
        gsize len = strlen(h->server);
        if (strcmp(h->name, "NUL in reply") == 0)
            len = 17;
        hostile_run(h->server, len, FALSE, h->name);
        hostile_run(h->server, len, TRUE, h->name);
    }
    /* An overlong line, and a reply of 101 lines. */
    GString *s = g_string_new("220 mx\r\n250 ");
    for (int i = 0; i < 3000; i++)
        g_string_append_c(s, 'A');
    hostile_run(s->str, s->len, FALSE, "overlong");
    hostile_run(s->str, s->len, TRUE, "overlong");
    g_string_assign(s, "220 mx\r\n");
    for (int i = 0; i < 101; i++)
        g_string_append(s, "250-x\r\n");
    hostile_run(s->str, s->len, FALSE, "101 lines");
    /* Unsolicited reply: nothing was asked. */
    Rec rec;
    rec_init(&rec);
    g_autoptr(MsSmtpClient) c = new_client(NULL, &rec);
    g_autofree char *o = step(c, "220 mx\r\n250 mx\r\n250 surprise\r\n");
    CU_ASSERT_EQUAL(rec.status, MS_SMTP_SESSION_PROTOCOL_ERROR);
    CU_ASSERT(ms_smtp_client_is_closed(c));
    rec_clear(&rec);
    g_string_free(s, TRUE);
    /* Random octets from a fixed seed: never a crash; exactly one session
     * result or none yet. */
    GRand *rnd = g_rand_new_with_seed(5321);
    for (int round = 0; round < 300; round++) {
        Rec r2;
        rec_init(&r2);
        g_autoptr(MsSmtpClient) c2 = new_client(NULL, &r2);
        static const char *const rcpts[] = { "x@y.test", NULL };
        g_autoptr(GBytes) m = bytes("x\r\n");
        ms_smtp_client_add_message(c2, "a@b.test", rcpts, m);
        guint8 buf[64];
        for (int k = 0; k < 20; k++) {
            for (gsize i = 0; i < sizeof buf; i++) {
                guint32 v = g_rand_int(rnd);
                buf[i] = (v & 3) == 0 ? (guint8) "0123456789 -\r\n"[v % 14] : (guint8) (v >> 8);
            }
            ms_smtp_client_feed(c2, buf, sizeof buf);
            g_autoptr(GBytes) junk = ms_smtp_client_take_output(c2);
        }
        CU_ASSERT(r2.sessions <= 1);
        rec_clear(&r2);
    }
    g_rand_free(rnd);
}

static void
test_connection_lost(void)
{
    Rec rec;
    rec_init(&rec);
    g_autoptr(MsSmtpClient) c = new_client(NULL, &rec);
    static const char *const rcpts[] = { "x@y.test", NULL };
    g_autoptr(GBytes) m = bytes("x\r\n");
    ms_smtp_client_add_message(c, "a@b.test", rcpts, m);
    g_autofree char *o = step(c, "220 mx\r\n250 mx\r\n");
    CU_ASSERT_STRING_EQUAL(o, "EHLO localhost\r\nMAIL FROM:<a@b.test>\r\n");
    ms_smtp_client_connection_lost(c);
    ms_smtp_client_connection_lost(c);
    CU_ASSERT(ms_smtp_client_is_closed(c));
    ms_smtp_client_add_message(c, "a@b.test", rcpts, m);
    CU_ASSERT_STRING_EQUAL(rec.log->str,
                           "txn 0 tempfail 0\nsession connection-lost 0\ntxn 1 tempfail 0\n");
    rec_clear(&rec);
}

/* STARTTLS (RFC 3207) with a scripted server: the client asks after the
 * first EHLO, reads nothing that follows the 220 in the clear, says EHLO
 * again once the caller has run the handshake (4.2) and authenticates only
 * then; the capabilities of the first EHLO are forgotten. */
static void
test_starttls_order(void)
{
    Rec rec;
    rec_init(&rec);
    MsSmtpClientConfig cfg = { 0 };
    cfg.auth_user = "alice";
    cfg.auth_password = "secret";
    cfg.tls_level = MS_SMTP_TLS_ENCRYPT;
    g_autoptr(MsSmtpClient) c = new_client(&cfg, &rec);
    static const char *const rcpts[] = { "x@y.test", NULL };
    g_autoptr(GBytes) m = bytes("hi\r\n");
    ms_smtp_client_add_message(c, "a@b.test", rcpts, m);
    ms_smtp_client_finish(c);
    g_autofree char *o1 = step(c, "220 mx ESMTP\r\n");
    CU_ASSERT_STRING_EQUAL(o1, "EHLO localhost\r\n");
    /* AUTH and PIPELINING offered in the clear: STARTTLS comes first anyway. */
    g_autofree char *o2 = step(c, "250-mx\r\n250-PIPELINING\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n");
    CU_ASSERT_STRING_EQUAL(o2, "STARTTLS\r\n");
    CU_ASSERT(!ms_smtp_client_wants_tls(c));
    CU_ASSERT(!ms_smtp_client_tls_active(c));
    CU_ASSERT(!ms_smtp_client_auth_sent(c, NULL));
    /* An injected reply after the 220, in the same segment: dropped. */
    g_autofree char *o3 = step(c, "220 2.0.0 Ready to start TLS\r\n250 2.1.0 injected\r\n");
    CU_ASSERT_STRING_EQUAL(o3, "");
    CU_ASSERT(ms_smtp_client_wants_tls(c));
    g_autofree char *o4 = step(c, "250 2.1.0 more clear text\r\n");
    CU_ASSERT_STRING_EQUAL(o4, "");
    ms_smtp_client_tls_started(c);
    CU_ASSERT(!ms_smtp_client_wants_tls(c));
    CU_ASSERT(ms_smtp_client_tls_active(c));
    g_autofree char *o5 = step(c, "");
    CU_ASSERT_STRING_EQUAL(o5, "EHLO localhost\r\n");
    /* No PIPELINING now: the first EHLO's is forgotten, commands go one by one. */
    g_autofree char *o6 = step(c, "250-mx\r\n250 AUTH PLAIN\r\n");
    CU_ASSERT_STRING_EQUAL(o6, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
    gboolean inside = FALSE;
    CU_ASSERT(ms_smtp_client_auth_sent(c, &inside));
    CU_ASSERT(inside);
    g_autofree char *o7 = step(c, "235 2.7.0 ok\r\n");
    CU_ASSERT_STRING_EQUAL(o7, "MAIL FROM:<a@b.test>\r\n");
    CU_ASSERT_STRING_EQUAL(rec.log->str, "");
    CU_ASSERT(strstr(rec.trace->str, "< STARTTLS\n") != NULL);
    rec_clear(&rec);
}

/* The three levels against a server without STARTTLS, and one that refuses
 * it with 454: ENCRYPT defers in Postfix's words before any MAIL (and
 * before AUTH: no password in the clear); MAY and NONE go on in the clear. */
static void
test_starttls_levels(void)
{
    static const Step none_offered[] = {
        { "220 mx\r\n", "EHLO localhost\r\n" },
        { "250-mx\r\n250 AUTH PLAIN\r\n", "QUIT\r\n" },
        { "221 bye\r\n", "" },
        { NULL, NULL },
    };
    MsSmtpClientConfig cfg = { 0 };
    cfg.tls_level = MS_SMTP_TLS_ENCRYPT;
    cfg.peer_name = "mx.y.test[192.0.2.25]";
    cfg.auth_user = "alice";
    cfg.auth_password = "secret";
    run_script(&cfg, none_offered, "txn 0 tempfail 0\nsession tls-unavailable 0\n");
    static const Step refused[] = {
        { "220 mx\r\n", "EHLO localhost\r\n" },
        { "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n" },
        { "454 4.7.0 TLS not available due to local problem\r\n", "QUIT\r\n" },
        { "221 bye\r\n", "" },
        { NULL, NULL },
    };
    run_script(&cfg, refused, "txn 0 tempfail 0\nsession tls-unavailable 0\n");
    static const Step may_clear[] = {
        { "220 mx\r\n", "EHLO localhost\r\n" },
        { "250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n" },
        { "454 4.7.0 TLS not available\r\n", "MAIL FROM:<a@b.test>\r\n" },
        { "250 ok\r\n", "RCPT TO:<x@y.test>\r\n" },
        { "250 ok\r\n", "RCPT TO:<z@y.test>\r\n" },
        { "250 ok\r\n", "DATA\r\n" },
        { "354 go\r\n", "hi\r\n..x\r\n.\r\n" },
        { "250 ok\r\n", "QUIT\r\n" },
        { "221 bye\r\n", "" },
        { NULL, NULL },
    };
    MsSmtpClientConfig may = { 0 };
    may.tls_level = MS_SMTP_TLS_MAY;
    run_script(&may, may_clear,
               "rcpt 0.0 250 \nrcpt 0.1 250 \ntxn 0 accepted 250\nsession ok 221\n");
    static const Step may_none[] = {
        { "220 mx\r\n", "EHLO localhost\r\n" },
        { "250 mx\r\n", "MAIL FROM:<a@b.test>\r\n" },
        { "421 4.3.2 bye\r\n", "" },
        { NULL, NULL },
    };
    run_script(&may, may_none, "txn 0 tempfail 421\nsession server-closed 421\n");
    /* NONE ignores the offer; implicit TLS never sends STARTTLS either. */
    static const Step ignore[] = {
        { "220 mx\r\n", "EHLO localhost\r\n" },
        { "250-mx\r\n250 STARTTLS\r\n", "MAIL FROM:<a@b.test>\r\n" },
        { "421 4.3.2 bye\r\n", "" },
        { NULL, NULL },
    };
    MsSmtpClientConfig none = { 0 };
    run_script(&none, ignore, "txn 0 tempfail 421\nsession server-closed 421\n");
    MsSmtpClientConfig implicit = { 0 };
    implicit.tls_level = MS_SMTP_TLS_ENCRYPT;
    implicit.tls_active = TRUE;
    run_script(&implicit, ignore, "txn 0 tempfail 421\nsession server-closed 421\n");
}

/* The deferral text and a failed handshake. */
static void
test_starttls_texts(void)
{
    Rec rec;
    rec_init(&rec);
    MsSmtpClientConfig cfg = { 0 };
    cfg.tls_level = MS_SMTP_TLS_ENCRYPT;
    cfg.peer_name = "mx.y.test[192.0.2.25]";
    g_autoptr(MsSmtpClient) c = new_client(&cfg, &rec);
    static const char *const rcpts[] = { "x@y.test", NULL };
    g_autoptr(GBytes) m = bytes("hi\r\n");
    ms_smtp_client_add_message(c, "a@b.test", rcpts, m);
    g_autofree char *o = step(c, "220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n");
    CU_ASSERT_STRING_EQUAL(o, "EHLO localhost\r\nSTARTTLS\r\n");
    CU_ASSERT(ms_smtp_client_wants_tls(c));
    ms_smtp_client_tls_failed(c, "certificate verification failed");
    CU_ASSERT(ms_smtp_client_is_closed(c));
    CU_ASSERT(!ms_smtp_client_wants_tls(c));
    g_autofree char *o2 = step(c, "");
    CU_ASSERT_STRING_EQUAL(o2, "");
    CU_ASSERT_STRING_EQUAL(rec.log->str, "txn 0 tempfail 0\nsession tls-failed 0\n");
    CU_ASSERT_STRING_EQUAL(rec.why->str, "certificate verification failed");
    rec_clear(&rec);
    /* Postfix's words when nothing is offered (smtp_proto.c). */
    rec_init(&rec);
    g_autoptr(MsSmtpClient) c2 = new_client(&cfg, &rec);
    ms_smtp_client_add_message(c2, "a@b.test", rcpts, m);
    g_autofree char *o3 = step(c2, "220 mx\r\n250 mx\r\n");
    CU_ASSERT_STRING_EQUAL(o3, "EHLO localhost\r\nQUIT\r\n");
    CU_ASSERT_STRING_EQUAL(rec.why->str,
                           "TLS is required, but was not offered by host mx.y.test[192.0.2.25]");
    rec_clear(&rec);
}

/* Against the server core with STARTTLS and smtpd_tls_auth_only: AUTH is
 * only offered inside TLS, the client logs in only there; with the server
 * not offering STARTTLS an ENCRYPT client never logs in. (The records
 * between are the TLS endpoint's business: here both cores are told the
 * handshake is done, as sim/mail/mail_tls.c tells them.) */
static void
test_starttls_wired(void)
{
    for (int offer = 0; offer < 2; offer++) {
        MsSmtpServerConfig scfg = tk_server_config();
        scfg.offer_auth = TRUE;
        scfg.offer_starttls = offer;
        scfg.auth_requires_tls = TRUE;
        TkPolicy pol;
        tk_policy_init(&pol);
        g_autoptr(MsSmtpServer) srv = new_server(&scfg, &pol);
        Rec rec;
        rec_init(&rec);
        MsSmtpClientConfig ccfg = { .helo_name = "c.test",
                                    .auth_user = "alice",
                                    .auth_password = "secret",
                                    .tls_level = MS_SMTP_TLS_ENCRYPT,
                                    .peer_name = "mx.test[192.0.2.1]" };
        g_autoptr(MsSmtpClient) cli = new_client(&ccfg, &rec);
        static const char *const rcpts[] = { "x@mx.test", NULL };
        g_autoptr(GBytes) m = bytes("Subject: s\r\n\r\nx\r\n");
        ms_smtp_client_add_message(cli, "alice@mx.test", rcpts, m);
        ms_smtp_client_finish(cli);
        tk_pump(srv, cli, FALSE);
        if (offer) {
            CU_ASSERT(ms_smtp_server_wants_tls(srv));
            CU_ASSERT(ms_smtp_client_wants_tls(cli));
            CU_ASSERT(!ms_smtp_client_auth_sent(cli, NULL));
            ms_smtp_server_tls_started(srv);
            ms_smtp_client_tls_started(cli);
            tk_pump(srv, cli, TRUE);
            CU_ASSERT_STRING_EQUAL(rec.log->str,
                                   "rcpt 0.0 250 2.1.5\ntxn 0 accepted 250\nsession ok 221\n");
            CU_ASSERT_EQUAL(pol.msgs->len, 1);
            gboolean inside = FALSE;
            CU_ASSERT(ms_smtp_client_auth_sent(cli, &inside));
            CU_ASSERT(inside);
            /* EHLO twice; the STARTTLS line before any AUTH. */
            const char *st = strstr(rec.trace->str, "< STARTTLS\n");
            const char *au = strstr(rec.trace->str, "< AUTH PLAIN");
            CU_ASSERT(st != NULL && au != NULL && st < au);
        } else {
            CU_ASSERT_STRING_EQUAL(rec.log->str,
                                   "txn 0 tempfail 0\nsession tls-unavailable 0\n");
            CU_ASSERT_STRING_EQUAL(rec.why->str,
                                   "TLS is required, but was not offered by host mx.test[192.0.2.1]");
            CU_ASSERT(!ms_smtp_client_auth_sent(cli, NULL));
            CU_ASSERT_EQUAL(pol.msgs->len, 0);
        }
        CU_ASSERT(ms_smtp_client_is_closed(cli));
        CU_ASSERT(strstr(rec.trace->str, "AUTH PLAIN") == NULL || offer);
        rec_clear(&rec);
        tk_policy_clear(&pol);
    }
}

int
main(void)
{
    static const MsTestCase tests[] = {
        { "round trip through the server", test_round_trip },
        { "pipelined bytes", test_pipelined_bytes },
        { "BODY=8BITMIME wherever the 8-bit octet is", test_8bitmime_scan },
        { "lock-step bytes", test_lockstep_bytes },
        { "HELO fallback", test_helo_fallback },
        { "AUTH LOGIN script", test_auth_login_script },
        { "AUTH wired", test_auth_wired },
        { "faults wired", test_faults_wired },
        { "SIZE and late add", test_size_and_late_add },
        { "hostile server", test_hostile_server },
        { "connection lost", test_connection_lost },
        { "STARTTLS order and injection", test_starttls_order },
        { "STARTTLS levels", test_starttls_levels },
        { "STARTTLS failure", test_starttls_texts },
        { "STARTTLS wired to the server core", test_starttls_wired },
        { NULL, NULL },
    };
    return ms_test_main("smtp_client", tests);
}

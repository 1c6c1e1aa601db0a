/* Tests of the POP3 server core, speaking raw protocol lines to it: the
 * RFC 1939 commands in each state, APOP with the RFC's own example, the
 * authentication delay, [AUTH]/[IN-USE]/[SYS/TEMP] response codes, the
 * 255/256-octet line boundary, NUL and binary garbage, UPDATE semantics,
 * and that any split of the same input gives the same output. */
#include "testlib.h"
#include "pop3_testkit.h"

#include <stdio.h>
#include <string.h>

/* ---- the maildrop: three small messages, one with dotted lines -------- */

static const char *const box_texts[] = {
    "Subject: one\r\n\r\nhello\r\n",
    "Subject: two\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n",
    "Subject: three\r\n\r\nl1\r\nl2\r\nl3\r\n",
    NULL,
};

static TkMaildrop *
box_new(void)
{
    return tk_maildrop_new("secret pw", box_texts);
}

/* ---- driving the server ---------------------------------------------- */

typedef struct {
    guint64 delays; /* sum of the delays asked for */
    guint holds;    /* how many times a delay was asked */
} Run;

static void
drain(MsPop3Server *srv, GString *out, Run *run)
{
    for (;;) {
        tk_pop3_server_output(srv, out);
        guint64 d = ms_pop3_server_take_delay_ms(srv);
        if (d == 0 && !ms_pop3_server_is_held(srv))
            break;
        run->delays += d;
        run->holds++;
        ms_pop3_server_resume(srv); /* the test's "time" passes at once */
    }
}

/* Feeds `input` in pieces of `chunk` octets (0: all at once) and returns
 * everything the server said, greeting included. */
static GString *
session(TkMaildrop *box, const char *input, gsize len, gsize chunk, Run *run, gboolean *closed)
{
    g_autoptr(MsPop3Server) srv = tk_pop3_server_new(box, 1000);
    GString *out = g_string_new(NULL);
    ms_pop3_server_start(srv);
    drain(srv, out, run);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (gsize i = 0; i < len; i += chunk) {
        ms_pop3_server_feed(srv, (const guint8 *) input + i, MIN(chunk, len - i));
        drain(srv, out, run);
    }
    if (closed)
        *closed = ms_pop3_server_is_closed(srv);
    return out;
}

/* The reply lines after the greeting, as a vector. */
static GStrv
replies(TkMaildrop *box, const char *input, Run *run)
{
    Run dummy = { 0 };
    g_autoptr(GString) out = session(box, input, strlen(input), 0, run ? run : &dummy, NULL);
    const char *body = strstr(out->str, "\r\n") + 2;
    GStrv v = g_strsplit(body, "\r\n", -1);
    return v;
}

#define LOGIN "USER mrose\r\nPASS secret pw\r\n"

/* ---- tests ------------------------------------------------------------ */

static void
test_greeting_and_apop_rfc_example(void)
{
    /* RFC 1939 7: the example timestamp and secret "tanstaaf" give this. */
    g_autofree char *d = g_compute_checksum_for_string(
        G_CHECKSUM_MD5, "<1896.697170952@dbc.mtview.ca.us>tanstaaf", -1);
    CU_ASSERT_STRING_EQUAL(d, "c4c9334bac560ecc979e58001b3e22fb");

    TkMaildrop *box = box_new();
    Run run = { 0 };
    const char *in = "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\n";
    g_autoptr(GString) out = session(box, in, strlen(in), 0, &run, NULL);
    CU_ASSERT(g_str_has_prefix(out->str, "+OK dbc.mtview.ca.us POP3 server ready "
                                         "<1896.697170952@dbc.mtview.ca.us>\r\n"));
    CU_ASSERT(strstr(out->str, "\r\n+OK maildrop has 3 messages") != NULL);
    CU_ASSERT_EQUAL(run.holds, 0);
    CU_ASSERT_EQUAL(box->locks, 1);
    CU_ASSERT_EQUAL(box->unlocks, 1); /* session freed */
    tk_maildrop_free(box);
}

static void
test_apop_wrong(void)
{
    static const struct {
        const char *line;
        const char *reply;
        guint holds;
    } cases[] = {
        { "APOP mrose c4c9334bac560ecc979e58001b3e22fc", "-ERR [AUTH] invalid credentials", 1 },
        { "APOP mrose C4C9334BAC560ECC979E58001B3E22FB", "+OK maildrop has 3", 0 },
        { "APOP nobody c4c9334bac560ecc979e58001b3e22fb", "-ERR [AUTH] invalid credentials", 1 },
        { "APOP mrose c4c9334bac560ecc979e58001b3e22f", "-ERR invalid digest", 0 },
        { "APOP mrose", "-ERR syntax error in APOP", 0 },
        { "APOP mrose zzc9334bac560ecc979e58001b3e22fb", "-ERR invalid digest", 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TkMaildrop *box = box_new();
        Run run = { 0 };
        g_autofree char *in = g_strconcat(cases[i].line, "\r\n", NULL);
        g_auto(GStrv) r = replies(box, in, &run);
        CU_ASSERT(g_str_has_prefix(r[0], cases[i].reply));
        CU_ASSERT_EQUAL(run.holds, cases[i].holds);
        if (!g_str_has_prefix(r[0], cases[i].reply))
            fprintf(stderr, "apop case %zu: got '%s'\n", i, r[0]);
        tk_maildrop_free(box);
    }
}

static void
test_user_pass(void)
{
    static const struct {
        const char *input;
        const char *last; /* reply to the last line */
        guint64 delays;
    } cases[] = {
        { LOGIN, "+OK maildrop has 3 messages (", 0 },
        { "USER mrose\r\nPASS wrong\r\n", "-ERR [AUTH] invalid credentials", 1000 },
        { "USER mrose\r\nPASS secret pw \r\n", "-ERR [AUTH] invalid credentials", 1000 },
        { "USER other\r\nPASS secret pw\r\n", "-ERR [AUTH] invalid credentials", 1000 },
        { "PASS secret pw\r\n", "-ERR send USER first", 0 },
        { "USER mrose\r\nPASS wrong\r\nPASS secret pw\r\n", "-ERR send USER first", 1000 },
        { "USER mrose\r\nCAPA\r\nPASS secret pw\r\n", "-ERR send USER first", 0 },
        { "USER mrose\r\nXXXX\r\nPASS secret pw\r\n", "-ERR send USER first", 0 },
        { "USER a\r\nUSER mrose\r\nPASS secret pw\r\n", "+OK maildrop has 3 messages (", 0 },
        { "USER mrose\r\nPASS\r\n", "-ERR syntax error in PASS", 0 },
        { "USER\r\n", "-ERR syntax error in USER", 0 },
        { "user mrose\r\npass secret pw\r\n", "+OK maildrop has 3 messages (", 0 },
        { "USER mrose\r\nPASS a\r\nUSER mrose\r\nPASS b\r\n", "-ERR [AUTH] invalid credentials",
          2000 },
        { "USER mrose\r\nPASS a\r\nUSER mrose\r\nPASS b\r\nUSER mrose\r\nPASS c\r\nNOOP\r\n",
          "-ERR [AUTH] invalid credentials, too many failures, closing", 3000 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TkMaildrop *box = box_new();
        Run run = { 0 };
        g_auto(GStrv) r = replies(box, cases[i].input, &run);
        guint n = g_strv_length(r);
        CU_ASSERT(n >= 2 && g_str_has_prefix(r[n - 2], cases[i].last));
        CU_ASSERT_EQUAL(run.delays, cases[i].delays);
        if (n < 2 || !g_str_has_prefix(r[n - 2], cases[i].last))
            fprintf(stderr, "user case %zu: got '%s'\n", i, n >= 2 ? r[n - 2] : "");
        tk_maildrop_free(box);
    }
}

static void
test_delay_holds_reply_and_input(void)
{
    TkMaildrop *box = box_new();
    g_autoptr(MsPop3Server) srv = tk_pop3_server_new(box, 1500);
    ms_pop3_server_start(srv);
    g_autoptr(GBytes) greet = ms_pop3_server_take_output(srv);
    const char *in = "USER mrose\r\nPASS nope\r\nUSER mrose\r\nPASS secret pw\r\nSTAT\r\n";
    ms_pop3_server_feed(srv, (const guint8 *) in, strlen(in));
    g_autoptr(GBytes) before = ms_pop3_server_take_output(srv);
    CU_ASSERT(g_bytes_get_size(before) == strlen("+OK send PASS\r\n"));
    CU_ASSERT(ms_pop3_server_take_output(srv) == NULL);
    CU_ASSERT(ms_pop3_server_is_held(srv));
    CU_ASSERT_EQUAL(ms_pop3_server_take_delay_ms(srv), 1500);
    CU_ASSERT_EQUAL(ms_pop3_server_take_delay_ms(srv), 0); /* asked once */
    CU_ASSERT_EQUAL(box->locks, 0);                        /* the second try waits for the delay */
    ms_pop3_server_resume(srv);
    g_autoptr(GBytes) after = ms_pop3_server_take_output(srv);
    gsize n;
    const char *p = g_bytes_get_data(after, &n);
    g_autofree char *s = g_strndup(p, n);
    CU_ASSERT_STRING_EQUAL(s, "-ERR [AUTH] invalid credentials\r\n+OK send PASS\r\n"
                              "+OK maildrop has 3 messages (103 octets)\r\n+OK 3 103\r\n");
    CU_ASSERT_EQUAL(box->locks, 1);
    ms_pop3_server_free(g_steal_pointer(&srv));
    CU_ASSERT_EQUAL(box->unlocks, 1);
    tk_maildrop_free(box);
}

static void
test_in_use_and_sys_temp(void)
{
    static const struct {
        gboolean held, list_fails;
        const char *input;
        const char *reply;
        guint unlocks;
    } cases[] = {
        { TRUE, FALSE, LOGIN, "-ERR [IN-USE] ", 0 },
        { TRUE, FALSE, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", "-ERR [IN-USE] ", 0 },
        { FALSE, TRUE, LOGIN, "-ERR [SYS/TEMP] ", 1 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TkMaildrop *box = box_new();
        box->held_elsewhere = cases[i].held;
        box->list_fails = cases[i].list_fails;
        Run run = { 0 };
        g_autofree char *in = g_strconcat(cases[i].input, "STAT\r\n", NULL);
        g_auto(GStrv) r = replies(box, in, &run);
        guint n = g_strv_length(r);
        CU_ASSERT(g_str_has_prefix(r[n - 3], cases[i].reply));
        /* Still in AUTHORIZATION: STAT is refused. */
        CU_ASSERT_STRING_EQUAL(r[n - 2], "-ERR STAT not valid in this state");
        CU_ASSERT_EQUAL(run.holds, 0); /* not a credential failure: no delay */
        CU_ASSERT_EQUAL(box->unlocks, cases[i].unlocks);
        tk_maildrop_free(box);
    }
}

/* Each line is sent after a login; its reply (up to the first CRLF, or the
 * whole multi-line reply when `multi`) is compared. */
static void
test_transaction_commands(void)
{
    static const struct {
        const char *line;
        const char *reply;
    } cases[] = {
        { "STAT", "+OK 3 103" },
        { "stat", "+OK 3 103" },
        { "LIST", "+OK 3 messages (103 octets)\r\n1 23\r\n2 50\r\n3 30\r\n.\r\n" },
        { "LIST 2", "+OK 2 50" },
        { "LIST 3", "+OK 3 30" },
        { "LIST 4", "-ERR no such message" },
        { "LIST 0", "-ERR no such message" },
        { "LIST -1", "-ERR invalid message number" },
        { "LIST 1x", "-ERR invalid message number" },
        { "LIST 4294967295", "-ERR no such message" },
        { "LIST 4294967296", "-ERR invalid message number" },
        { "LIST 99999999999999999999", "-ERR invalid message number" },
        { "LIST 1 2", "-ERR syntax error in LIST" },
        { "LIST  2", "+OK 2 50" },
        { "UIDL", "+OK unique-id listing follows\r\n1 uid-1\r\n2 uid-2\r\n3 uid-3\r\n.\r\n" },
        { "UIDL 3", "+OK 3 uid-3" },
        { "RETR 1", "+OK 23 octets\r\nSubject: one\r\n\r\nhello\r\n.\r\n" },
        { "RETR 2", "+OK 50 octets\r\nSubject: two\r\n\r\n..leading dot\r\n...two dots\r\n"
                    "..\r\nend\r\n.\r\n" },
        { "RETR", "-ERR syntax error in RETR" },
        { "RETR 9", "-ERR no such message" },
        { "TOP 3 0", "+OK top of message follows\r\nSubject: three\r\n\r\n.\r\n" },
        { "TOP 3 2", "+OK top of message follows\r\nSubject: three\r\n\r\nl1\r\nl2\r\n.\r\n" },
        { "TOP 3 99",
          "+OK top of message follows\r\nSubject: three\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n" },
        { "TOP 2 1", "+OK top of message follows\r\nSubject: two\r\n\r\n..leading dot\r\n.\r\n" },
        { "TOP 3", "-ERR syntax error in TOP" },
        { "TOP 3 x", "-ERR invalid number of lines" },
        { "NOOP", "+OK" },
        { "NOOP x", "-ERR syntax error in NOOP" },
        { "DELE 2", "+OK message 2 deleted" },
        { "USER mrose", "-ERR USER not valid in this state" },
        { "PASS secret pw", "-ERR PASS not valid in this state" },
        { "APOP mrose c4c9334bac560ecc979e58001b3e22fb", "-ERR APOP not valid in this state" },
        { "XYZZY", "-ERR unknown command" },
        { "STA", "-ERR unknown command" },
        { "", "-ERR unknown command" },
        { " STAT", "-ERR unknown command" },
        { "\xff\xfe\x01\x7f", "-ERR unknown command" },
        { "STLS", "-ERR STLS not valid in this state" },
        { "CAPA", "+OK capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
                  "PIPELINING\r\nIMPLEMENTATION mailsim\r\n.\r\n" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TkMaildrop *box = box_new();
        Run run = { 0 };
        g_autofree char *in = g_strconcat(LOGIN, cases[i].line, "\r\n", NULL);
        g_autoptr(GString) out = session(box, in, strlen(in), 0, &run, NULL);
        /* Skip greeting, USER reply and PASS reply. */
        const char *p = out->str;
        for (int k = 0; k < 3; k++)
            p = strstr(p, "\r\n") + 2;
        gboolean ok =
            g_str_has_prefix(p, cases[i].reply) &&
            (strstr(cases[i].reply, "\r\n") ? strcmp(p, cases[i].reply) == 0
                                            : strcmp(p + strlen(cases[i].reply), "\r\n") == 0 ||
                                                  g_str_has_prefix(cases[i].reply, "-ERR"));
        CU_ASSERT(ok);
        if (!ok)
            fprintf(stderr, "transaction case %zu '%s': got '%s'\n", i, cases[i].line, p);
        tk_maildrop_free(box);
    }
}

static void
test_authorization_state_refusals(void)
{
    static const char *const lines[] = {
        "STAT", "LIST", "LIST 1", "UIDL", "RETR 1", "TOP 1 1", "DELE 1", "NOOP", "RSET",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
        TkMaildrop *box = box_new();
        g_autofree char *in = g_strconcat(lines[i], "\r\n", NULL);
        g_auto(GStrv) r = replies(box, in, NULL);
        CU_ASSERT(g_str_has_prefix(r[0], "-ERR ") && strstr(r[0], "not valid in this state"));
        tk_maildrop_free(box);
    }
    /* CAPA in AUTHORIZATION also lists USER (RFC 2449 6.1). */
    TkMaildrop *box = box_new();
    g_auto(GStrv) r = replies(box, "CAPA\r\nQUIT\r\n", NULL);
    CU_ASSERT_STRING_EQUAL(r[3], "USER");
    CU_ASSERT_STRING_EQUAL(r[9], "+OK bye");
    tk_maildrop_free(box);
}

static void
test_dele_rset_quit(void)
{
    static const struct {
        const char *cmds;
        const char *expect_tail; /* last reply */
        guint commits;
        guint committed[3];
        guint ncommitted;
    } cases[] = {
        /* Deletions are committed only by QUIT from TRANSACTION (RFC 1939 6). */
        { "DELE 1\r\nDELE 3\r\nQUIT\r\n", "+OK bye, 2 messages deleted", 1, { 0, 2 }, 2 },
        { "DELE 1\r\nDELE 1\r\nQUIT\r\n", "+OK bye, 1 message deleted", 1, { 0 }, 1 },
        { "DELE 1\r\nRSET\r\nQUIT\r\n", "+OK bye, 0 messages deleted", 0, { 0 }, 0 },
        { "DELE 2\r\nRETR 2\r\n", "-ERR message 2 already deleted", 0, { 0 }, 0 },
        { "DELE 2\r\nLIST 2\r\n", "-ERR message 2 already deleted", 0, { 0 }, 0 },
        { "DELE 2\r\nSTAT\r\n", "+OK 2 53", 0, { 0 }, 0 },
        { "DELE 2\r\nLIST\r\n", ".", 0, { 0 }, 0 },
        { "DELE 2\r\nRSET\r\n", "+OK maildrop has 3 messages (103 octets)", 0, { 0 }, 0 },
        { "DELE 1\r\nDELE 2\r\n", "+OK message 2 deleted", 0, { 0 }, 0 }, /* dropped */
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TkMaildrop *box = box_new();
        g_autofree char *in = g_strconcat(LOGIN, cases[i].cmds, NULL);
        g_auto(GStrv) r = replies(box, in, NULL);
        guint n = g_strv_length(r);
        CU_ASSERT_STRING_EQUAL(r[n - 2], cases[i].expect_tail);
        CU_ASSERT_EQUAL(box->commits, cases[i].commits);
        CU_ASSERT_EQUAL(box->committed->len, cases[i].ncommitted);
        for (guint k = 0; k < box->committed->len && k < cases[i].ncommitted; k++)
            CU_ASSERT_EQUAL(g_array_index(box->committed, guint, k), cases[i].committed[k]);
        CU_ASSERT_EQUAL(box->locks, 1);
        CU_ASSERT_EQUAL(box->unlocks, 1);
        tk_maildrop_free(box);
    }
    /* DELE after LIST: LIST without the deleted one. */
    TkMaildrop *box = box_new();
    g_auto(GStrv) r = replies(box, LOGIN "DELE 2\r\nLIST\r\n", NULL);
    CU_ASSERT_STRING_EQUAL(r[3], "+OK 2 messages (53 octets)");
    CU_ASSERT_STRING_EQUAL(r[4], "1 23");
    CU_ASSERT_STRING_EQUAL(r[5], "3 30");
    tk_maildrop_free(box);
}

static void
test_line_length_boundary(void)
{
    /* RFC 2449 4: 255 octets including CRLF is allowed, 256 is not. A
     * password line of exactly 255 octets reaches the credential check. */
    static const struct {
        gsize octets;
        const char *eol;
        const char *reply;
    } cases[] = {
        { 255, "\r\n", "-ERR [AUTH] invalid credentials" },
        { 256, "\r\n", "-ERR line too long" },
        { 255, "\n", "-ERR [AUTH] invalid credentials" },
        { 256, "\n", "-ERR line too long" },
        { 10000, "\r\n", "-ERR line too long" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        for (gsize chunk = 0; chunk <= 300; chunk += 100) {
            TkMaildrop *box = box_new();
            gsize eol = strlen(cases[i].eol);
            GString *in = g_string_new("USER mrose\r\nPASS ");
            gsize start = in->len;
            while (in->len - start + 5 + eol < cases[i].octets)
                g_string_append_c(in, 'p');
            g_string_append(in, cases[i].eol);
            g_string_append(in, "NOOP\r\n");
            Run run = { 0 };
            g_autoptr(GString) out = session(box, in->str, in->len, chunk ? chunk : 0, &run, NULL);
            g_auto(GStrv) r = g_strsplit(out->str, "\r\n", -1);
            CU_ASSERT_STRING_EQUAL(r[2], cases[i].reply);
            /* No desync: the next command is answered on its own. */
            CU_ASSERT_STRING_EQUAL(r[3], "-ERR NOOP not valid in this state");
            CU_ASSERT_STRING_EQUAL(r[4], "");
            g_string_free(in, TRUE);
            tk_maildrop_free(box);
        }
    }
}

static void
test_nul_and_garbage(void)
{
    static const struct {
        const char *bytes;
        gsize len;
        const char *reply;
    } cases[] = {
        { "STAT\0\r\n", 7, "-ERR NUL byte in command" },
        { "\0\r\n", 3, "-ERR NUL byte in command" },
        { "RETR 1\0 2\r\n", 11, "-ERR NUL byte in command" },
        { "\x80\x81\r\n", 4, "-ERR unknown command" },
        { "\r\n", 2, "-ERR unknown command" },
        { "\r\r\n", 3, "-ERR unknown command" },
        { "\n", 1, "-ERR unknown command" },
        { "RETR \xff\r\n", 8, "-ERR invalid message number" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TkMaildrop *box = box_new();
        GString *in = g_string_new(LOGIN);
        g_string_append_len(in, cases[i].bytes, (gssize) cases[i].len);
        g_string_append(in, "STAT\r\n");
        Run run = { 0 };
        g_autoptr(GString) out = session(box, in->str, in->len, 0, &run, NULL);
        g_auto(GStrv) r = g_strsplit(out->str, "\r\n", -1);
        CU_ASSERT_STRING_EQUAL(r[3], cases[i].reply);
        CU_ASSERT_STRING_EQUAL(r[4], "+OK 3 103");
        if (strcmp(r[3], cases[i].reply) != 0)
            fprintf(stderr, "garbage case %zu: got '%s'\n", i, r[3]);
        g_string_free(in, TRUE);
        tk_maildrop_free(box);
    }
    /* 64 KiB of every byte value, then a valid command: still in sync. */
    TkMaildrop *box = box_new();
    GString *in = g_string_new(LOGIN);
    for (guint k = 0; k < 65536; k++)
        g_string_append_c(in, (char) ((k * 7 + 3) & 0xff));
    g_string_append(in, "\r\nSTAT\r\n");
    Run run = { 0 };
    g_autoptr(GString) out = session(box, in->str, in->len, 0, &run, NULL);
    CU_ASSERT(g_str_has_suffix(out->str, "\r\n+OK 3 103\r\n"));
    g_string_free(in, TRUE);
    tk_maildrop_free(box);
}

static void
test_split_invariance(void)
{
    GString *in = g_string_new("CAPA\r\nUSER mrose\r\nPASS bad\r\n");
    g_string_append(in, "USER mrose\r\nPASS secret pw\r\nSTAT\r\nLIST\r\nUIDL\r\n");
    for (int k = 0; k < 300; k++)
        g_string_append_c(in, 'x');
    static const char mid[] = "\r\nRETR 2\r\nTOP 1 1\r\nDELE 3\r\nstat\0\r\n\xfe\r\nRSET\r\n";
    g_string_append_len(in, mid, sizeof mid - 1);
    g_string_append(in, "DELE 1\nQUIT\r\nSTAT\r\n");
    TkMaildrop *box = box_new();
    Run r0 = { 0 };
    g_autoptr(GString) whole = session(box, in->str, in->len, 0, &r0, NULL);
    tk_maildrop_free(box);
    static const gsize chunks[] = { 1, 2, 3, 7, 64, 255, 256 };
    for (gsize i = 0; i < G_N_ELEMENTS(chunks); i++) {
        box = box_new();
        Run r1 = { 0 };
        gboolean closed = FALSE;
        g_autoptr(GString) split = session(box, in->str, in->len, chunks[i], &r1, &closed);
        CU_ASSERT(g_string_equal(whole, split));
        CU_ASSERT_EQUAL(r0.delays, r1.delays);
        CU_ASSERT(closed);
        CU_ASSERT_EQUAL(box->commits, 1);
        CU_ASSERT_EQUAL(box->committed->len, 1);
        tk_maildrop_free(box);
    }
    CU_ASSERT(g_str_has_suffix(whole->str, "+OK bye, 1 message deleted\r\n"));
    CU_ASSERT(strstr(whole->str, "\r\n-ERR NUL byte in command\r\n-ERR unknown command\r\n"
                                 "+OK maildrop has 3 messages") != NULL);
    g_string_free(in, TRUE);
}

static void
test_retrieve_size_mismatch(void)
{
    TkMaildrop *box = box_new();
    box->wrong_size = TRUE;
    g_auto(GStrv) r = replies(box, LOGIN "RETR 1\r\nTOP 1 0\r\n", NULL);
    CU_ASSERT_STRING_EQUAL(r[2], "-ERR [SYS/TEMP] message 1 unavailable");
    CU_ASSERT_STRING_EQUAL(r[3], "-ERR [SYS/TEMP] message 1 unavailable");
    tk_maildrop_free(box);
}

static void
test_trace(void)
{
    TkMaildrop *box = box_new();
    g_auto(GStrv) r = replies(box, LOGIN "RETR 2\r\nAPOP a b\r\nST\x01T\r\nQUIT\r\n", NULL);
    const char *t = box->trace->str;
    CU_ASSERT(strstr(t, "C: PASS ****\n") != NULL);
    CU_ASSERT(strstr(t, "secret pw") == NULL);
    CU_ASSERT(strstr(t, "S: +OK 50 octets\nS: [50 octets of message 2]\nS: .\n") != NULL);
    CU_ASSERT(strstr(t, "C: APOP a ****\n") != NULL);
    CU_ASSERT(strstr(t, "C: ST\\x01T\n") != NULL);
    CU_ASSERT(strstr(t, "leading dot") == NULL);
    tk_maildrop_free(box);
}

/* A client that pipelines many RETRs of a large message: the server builds
 * replies as output is taken, and the bytes are the same as one by one. */
static void
test_pipelined_high_water(void)
{
    TkMaildrop *box = box_new();
    GString *big = g_string_new("Subject: big\r\n\r\n");
    while (big->len < 600000)
        g_string_append(big, ".dotted line of text\r\n");
    gsize big_len = big->len;
    g_ptr_array_add(box->msgs, g_string_free_to_bytes(big));
    g_ptr_array_add(box->uids, g_strdup("uid-big"));
    GString *in = g_string_new(LOGIN);
    for (int k = 0; k < 8; k++)
        g_string_append(in, "RETR 4\r\n");
    g_string_append(in, "QUIT\r\n");
    g_autoptr(MsPop3Server) srv = tk_pop3_server_new(box, 0);
    ms_pop3_server_start(srv);
    ms_pop3_server_feed(srv, (const guint8 *) in->str, in->len);
    gsize largest = 0, total = 0;
    guint takes = 0;
    GBytes *b;
    while ((b = ms_pop3_server_take_output(srv))) {
        largest = MAX(largest, g_bytes_get_size(b));
        total += g_bytes_get_size(b);
        takes++;
        g_bytes_unref(b);
    }
    /* At most one reply is built past the 1 MiB high-water mark. */
    CU_ASSERT(takes >= 4);
    CU_ASSERT(largest < (1u << 20) + 700000);
    /* Stuffing adds one '.' per dotted line. */
    gsize lines = (big_len - strlen("Subject: big\r\n\r\n")) / strlen(".dotted line of text\r\n");
    gsize retr = strlen("+OK  octets\r\n") + 6 + big_len + lines + 3;
    CU_ASSERT(total > 8 * retr);
    CU_ASSERT(ms_pop3_server_is_closed(srv));
    g_string_free(in, TRUE);
    ms_pop3_server_free(g_steal_pointer(&srv));
    tk_maildrop_free(box);
}

static void
test_no_apop_without_token(void)
{
    TkMaildrop *box = box_new();
    MsPop3ServerConfig cfg;
    ms_pop3_server_config_init(&cfg);
    CU_ASSERT_EQUAL(cfg.auth_fail_delay_ms, 2000);
    g_autoptr(MsPop3Server) srv = ms_pop3_server_new(&cfg, &tk_maildrop_hooks, box);
    ms_pop3_server_start(srv);
    const char *in = "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n";
    ms_pop3_server_feed(srv, (const guint8 *) in, strlen(in));
    g_autoptr(GBytes) b = ms_pop3_server_take_output(srv);
    gsize n;
    g_autofree char *s = g_strndup(g_bytes_get_data(b, &n), g_bytes_get_size(b));
    CU_ASSERT_STRING_EQUAL(s, "+OK localhost POP3 server ready\r\n-ERR APOP not available\r\n");
    ms_pop3_server_free(g_steal_pointer(&srv));
    tk_maildrop_free(box);
}

/* ---- STLS (RFC 2595 4) ------------------------------------------------- */

typedef struct {
    gboolean offer_stls, tls_active, auth_requires_tls;
} TlsCfg;

/* Feeds `before`, then `gap` (sent while the server waits for the
 * handshake), in pieces of `chunk` octets (0: whole); if the server asked
 * for TLS the handshake "succeeds"; then `after`. Returns the replies after
 * the greeting, with "|TLS|" or "|NO TLS|" where the handshake would be;
 * the trace goes to `trace`. */
static char *
stls_run(TlsCfg t, const char *before, const char *gap, const char *after, gsize chunk,
         GString *trace)
{
    TkMaildrop *box = box_new();
    MsPop3ServerConfig cfg;
    ms_pop3_server_config_init(&cfg);
    cfg.hostname = "pop.test";
    cfg.apop_token = "1.2";
    cfg.auth_fail_delay_ms = 0;
    cfg.offer_stls = t.offer_stls;
    cfg.tls_active = t.tls_active;
    cfg.auth_requires_tls = t.auth_requires_tls;
    g_autoptr(MsPop3Server) srv = ms_pop3_server_new(&cfg, &tk_maildrop_hooks, box);
    GString *out = g_string_new(NULL);
    ms_pop3_server_start(srv);
    tk_pop3_server_output(srv, out);
    g_string_truncate(out, 0); /* the greeting */
    const char *parts[] = { before, gap, after };
    for (int k = 0; k < 3; k++) {
        if (k == 2) {
            gboolean wants = ms_pop3_server_wants_tls(srv);
            g_string_append(out, wants ? "|TLS|" : "|NO TLS|");
            if (wants) {
                CU_ASSERT_FALSE(ms_pop3_server_is_tls(srv));
                ms_pop3_server_tls_started(srv);
                CU_ASSERT_TRUE(ms_pop3_server_is_tls(srv));
            }
        }
        gsize len = strlen(parts[k]);
        gsize step = chunk ? chunk : MAX(len, 1);
        for (gsize i = 0; i < len; i += step) {
            ms_pop3_server_feed(srv, (const guint8 *) parts[k] + i, MIN(step, len - i));
            tk_pop3_server_output(srv, out);
        }
    }
    g_clear_pointer(&srv, ms_pop3_server_free);
    if (trace)
        g_string_append(trace, box->trace->str);
    tk_maildrop_free(box);
    return g_string_free(out, FALSE);
}

static void
stls_expect(TlsCfg t, const char *before, const char *gap, const char *after, const char *want)
{
    g_autoptr(GString) ta = g_string_new(NULL);
    g_autoptr(GString) tb = g_string_new(NULL);
    g_autofree char *a = stls_run(t, before, gap, after, 0, ta);
    g_autofree char *b = stls_run(t, before, gap, after, 1, tb);
    g_autofree char *c = stls_run(t, before, gap, after, 5, NULL);
    CU_ASSERT_STRING_EQUAL(ta->str, tb->str);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_EQUAL(a, c);
    if (strcmp(a, want) != 0)
        printf("\n got: %s\nwant: %s\n", a, want);
    CU_ASSERT_STRING_EQUAL(a, want);
}

#define CAPA_HEAD "+OK capability list follows\r\nTOP\r\nUIDL\r\n"
#define CAPA_TAIL "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
#define CAPA_END  "IMPLEMENTATION mailsim\r\n.\r\n"
#define GOTLS     "+OK Begin TLS negotiation now.\r\n"
#define REFUSED                                                                                    \
    "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"

/* CAPA lists STLS before TLS only, and USER only when login is allowed. */
static void
test_stls_capa(void)
{
    TlsCfg t = { TRUE, FALSE, TRUE };
    stls_expect(t, "CAPA\r\nSTLS\r\n", "", "CAPA\r\n",
                CAPA_HEAD CAPA_TAIL "STLS\r\n" CAPA_END GOTLS "|TLS|" CAPA_HEAD
                                    "USER\r\n" CAPA_TAIL CAPA_END);
    t.auth_requires_tls = FALSE;
    stls_expect(t, "CAPA\r\n", "", "",
                CAPA_HEAD "USER\r\n" CAPA_TAIL "STLS\r\n" CAPA_END "|NO TLS|");
    /* Not in TRANSACTION (RFC 2595 4). */
    stls_expect(
        t, LOGIN "CAPA\r\nSTLS\r\n", "", "",
        "+OK send PASS\r\n+OK maildrop has 3 messages (103 octets)\r\n" CAPA_HEAD CAPA_TAIL CAPA_END
        "-ERR STLS not valid in this state\r\n|NO TLS|");
}

/* Logins wait for TLS with auth_requires_tls; a USER given in clear is
 * forgotten by the handshake. */
static void
test_stls_login_policy(void)
{
    TlsCfg t = { TRUE, FALSE, TRUE };
    stls_expect(t,
                "USER mrose\r\nPASS secret pw\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"
                "STLS\r\n",
                "", LOGIN "STAT\r\n",
                REFUSED REFUSED REFUSED GOTLS
                "|TLS|+OK send PASS\r\n+OK maildrop has 3 messages (103 octets)\r\n+OK 3 103\r\n");
    t.auth_requires_tls = FALSE;
    stls_expect(t, "USER mrose\r\nSTLS\r\n", "", "PASS secret pw\r\n",
                "+OK send PASS\r\n" GOTLS "|TLS|-ERR send USER first\r\n");
    /* POP3S: inside TLS from the start. */
    TlsCfg s = { TRUE, TRUE, TRUE };
    stls_expect(s, "STLS\r\n" LOGIN, "", "",
                "-ERR TLS is already active.\r\n+OK send PASS\r\n"
                "+OK maildrop has 3 messages (103 octets)\r\n|NO TLS|");
    TlsCfg off = { FALSE, FALSE, FALSE };
    stls_expect(off, "STLS\r\nSTLS x\r\nCAPA\r\n", "", "",
                "-ERR TLS support isn't enabled.\r\n-ERR syntax error in STLS\r\n" CAPA_HEAD
                "USER\r\n" CAPA_TAIL CAPA_END "|NO TLS|");
}

/* Commands pipelined after STLS, or sent before the handshake, are never
 * read (CVE-2011-0411). */
static void
test_stls_discards_injection(void)
{
    TlsCfg t = { TRUE, FALSE, FALSE };
    stls_expect(t, "STLS\r\n" LOGIN "DELE 1\r\n", "DELE 2\r\nQU", "STAT\r\nUSER mrose\r\nQUIT\r\n",
                GOTLS "|TLS|-ERR STAT not valid in this state\r\n+OK send PASS\r\n+OK bye\r\n");
}

static void
test_stls_failed_and_trace(void)
{
    TkMaildrop *box = box_new();
    MsPop3ServerConfig cfg;
    ms_pop3_server_config_init(&cfg);
    cfg.offer_stls = TRUE;
    g_autoptr(MsPop3Server) srv = ms_pop3_server_new(&cfg, &tk_maildrop_hooks, box);
    ms_pop3_server_start(srv);
    const char *in = "STLS\r\nUSER evil\r\n";
    ms_pop3_server_feed(srv, (const guint8 *) in, strlen(in));
    CU_ASSERT_TRUE(ms_pop3_server_wants_tls(srv));
    ms_pop3_server_feed(srv, (const guint8 *) "PASS x\r\n", 8);
    ms_pop3_server_tls_failed(srv);
    CU_ASSERT_TRUE(ms_pop3_server_is_closed(srv));
    CU_ASSERT_FALSE(ms_pop3_server_wants_tls(srv));
    ms_pop3_server_feed(srv, (const guint8 *) "CAPA\r\n", 6);
    g_autoptr(GString) out = g_string_new(NULL);
    tk_pop3_server_output(srv, out);
    CU_ASSERT_PTR_NULL(strstr(out->str, "capability"));
    const char *tr = box->trace->str;
    CU_ASSERT_PTR_NULL(strstr(tr, "evil"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tr, "C: [clear-text input after STLS discarded]\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tr, "C: [TLS handshake failed]\n"));
    g_clear_pointer(&srv, ms_pop3_server_free);
    tk_maildrop_free(box);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "greeting and APOP (RFC 1939 example)", test_greeting_and_apop_rfc_example },
        { "APOP refusals", test_apop_wrong },
        { "USER/PASS table", test_user_pass },
        { "auth delay holds reply and input", test_delay_holds_reply_and_input },
        { "[IN-USE] and [SYS/TEMP]", test_in_use_and_sys_temp },
        { "TRANSACTION commands", test_transaction_commands },
        { "AUTHORIZATION state refusals", test_authorization_state_refusals },
        { "DELE, RSET, QUIT and drops", test_dele_rset_quit },
        { "255/256-octet lines", test_line_length_boundary },
        { "NUL bytes and garbage", test_nul_and_garbage },
        { "any split, same output", test_split_invariance },
        { "retrieve size mismatch", test_retrieve_size_mismatch },
        { "trace", test_trace },
        { "pipelined RETRs, output high-water", test_pipelined_high_water },
        { "no APOP without token", test_no_apop_without_token },
        { "STLS: CAPA", test_stls_capa },
        { "STLS: logins wait for TLS", test_stls_login_policy },
        { "STLS: injected commands discarded", test_stls_discards_injection },
        { "STLS: failed handshake, trace", test_stls_failed_and_trace },
        { NULL, NULL },
    };
    return ms_test_main("pop3_server", cases);
}

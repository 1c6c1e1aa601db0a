/* Tests of the SMTP server core: every command's replies and bad sequences
 * (a table, each case fed whole and one octet at a time), line-length
 * boundaries, smuggling probes, NUL and binary garbage, pipelined floods,
 * AUTH, SIZE, the recipient limit, the override hook, greetings. */
#include "testlib.h"
#include "smtp_testkit.h"

#define G "220 mx.test ESMTP mailsim\r\n"
#define E                                                                                          \
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"                       \
    "250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"
#define EH  "EHLO client.test\r\n"
#define M   "MAIL FROM:<a@b.test>\r\n"
#define R   "RCPT TO:<x@mx.test>\r\n"
#define OKM "250 2.1.0 Ok\r\n"
#define OKR "250 2.1.5 Ok\r\n"
#define GO  "354 End data with <CR><LF>.<CR><LF>\r\n"

/* Runs one session on `input` (fed whole or octet by octet) and returns
 * everything the server sent (caller frees). */
static char *
run(const MsSmtpServerConfig *cfg, TkPolicy *pol, const char *input, gsize len, gboolean bytewise)
{
    MsSmtpServerHooks h = tk_server_hooks();
    g_autoptr(MsSmtpServer) s = ms_smtp_server_new(cfg, &h, pol);
    ms_smtp_server_start(s);
    if (bytewise) {
        for (gsize i = 0; i < len; i++)
            ms_smtp_server_feed(s, (const guint8 *) input + i, 1);
    } else {
        ms_smtp_server_feed(s, (const guint8 *) input, len);
    }
    g_autoptr(GBytes) out = ms_smtp_server_take_output(s);
    gsize n = 0;
    const char *d = out ? g_bytes_get_data(out, &n) : "";
    return g_strndup(d, n);
}

/* Runs both ways, checks both give the same output, returns it. */
static char *
run_both(const MsSmtpServerConfig *cfg, const char *input, gsize len)
{
    TkPolicy p1, p2;
    tk_policy_init(&p1);
    tk_policy_init(&p2);
    char *a = run(cfg, &p1, input, len, FALSE);
    g_autofree char *b = run(cfg, &p2, input, len, TRUE);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_EQUAL(p1.trace->str, p2.trace->str);
    CU_ASSERT_EQUAL(p1.msgs->len, p2.msgs->len);
    tk_policy_clear(&p1);
    tk_policy_clear(&p2);
    return a;
}

typedef struct {
    const char *name;
    const char *input;
    const char *expect; /* after the greeting */
} Case;

static const Case cases[] = {
    { "ehlo quit", EH "QUIT\r\n", E "221 2.0.0 mx.test closing connection\r\n" },
    { "helo: no enhanced codes", "HELO c\r\n" M "NOOP\r\n", "250 mx.test\r\n250 Ok\r\n250 Ok\r\n" },
    { "ehlo without argument", "EHLO\r\n", "501 Syntax: EHLO hostname\r\n" },
    { "mail before helo", M, "503 Send HELO/EHLO first\r\n" },
    { "rcpt before mail", EH R, E "503 5.5.1 Need MAIL command\r\n" },
    { "data before mail", EH "DATA\r\n", E "503 5.5.1 Need MAIL command\r\n" },
    { "nested mail", EH M M, E OKM "503 5.5.1 Nested MAIL command\r\n" },
    { "data without recipients", EH M "DATA\r\n", E OKM "554 5.5.1 No valid recipients\r\n" },
    { "data with argument", EH M R "DATA x\r\n", E OKM OKR "501 5.5.4 Syntax: DATA\r\n" },
    { "unknown command", EH "FOO bar\r\n", E "500 5.5.2 Command unrecognized\r\n" },
    { "verb case-insensitive", "ehlo c\r\nmail from:<a@b.test>\r\nnoop\r\n",
      E OKM "250 2.0.0 Ok\r\n" },
    { "mail without brackets", EH "MAIL FROM:a@b.test\r\n",
      E "501 5.5.4 Syntax: MAIL FROM:<address>\r\n" },
    { "mail empty domain", EH "MAIL FROM:<a@>\r\n", E "501 5.5.4 Syntax: MAIL FROM:<address>\r\n" },
    { "mail no at", EH "MAIL FROM:<ab.test>\r\n", E "501 5.5.4 Syntax: MAIL FROM:<address>\r\n" },
    { "mail bad domain", EH "MAIL FROM:<a@-b.test>\r\n",
      E "501 5.5.4 Syntax: MAIL FROM:<address>\r\n" },
    { "mail null path", EH "MAIL FROM:<>\r\n", E OKM },
    { "mail space after colon", EH "MAIL FROM: <a@b.test>\r\n", E OKM },
    { "quoted local part", EH "MAIL FROM:<\"john q\\\"doe\"@b.test>\r\n", E OKM },
    { "address literal", EH "MAIL FROM:<a@[192.0.2.1]>\r\n", E OKM },
    { "local part 64",
      EH "MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.test>\r\n",
      E OKM },
    { "local part 65",
      EH "MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.test>\r\n",
      E "501 5.5.4 Syntax: MAIL FROM:<address>\r\n" },
    { "unknown mail parameter", EH "MAIL FROM:<a@b.test> FOO=1\r\n",
      E "555 5.5.4 Unsupported parameter\r\n" },
    { "bad size parameter", EH "MAIL FROM:<a@b.test> SIZE=12x\r\n",
      E "501 5.5.4 Bad SIZE parameter\r\n" },
    { "body 8bitmime and size", EH "MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME\r\n", E OKM },
    { "bad body", EH "MAIL FROM:<a@b.test> BODY=9BIT\r\n", E "501 5.5.4 Bad BODY parameter\r\n" },
    { "parameters after helo", "HELO c\r\nMAIL FROM:<a@b.test> SIZE=1\r\n",
      "250 mx.test\r\n555 Parameters need EHLO\r\n" },
    { "rcpt null path refused", EH M "RCPT TO:<>\r\n",
      E OKM "501 5.5.4 Syntax: RCPT TO:<address>\r\n" },
    { "rcpt postmaster", EH M "RCPT TO:<Postmaster>\r\n", E OKM OKR },
    { "rcpt source route", EH M "RCPT TO:<@r1.test,@r2.test:x@mx.test>\r\n", E OKM OKR },
    { "rcpt parameter", EH M "RCPT TO:<x@mx.test> NOTIFY=NEVER\r\n",
      E OKM "555 5.5.4 Unsupported parameter\r\n" },
    { "rcpt unknown user", EH M "RCPT TO:<unknown@mx.test>\r\n",
      E OKM "550 5.1.1 User unknown\r\n" },
    { "rcpt relay denied", EH M "RCPT TO:<x@elsewhere.test>\r\n",
      E OKM "554 5.7.1 Relay access denied\r\n" },
    { "rcpt refused then data", EH M "RCPT TO:<full@mx.test>\r\nDATA\r\n",
      E OKM "452 4.2.2 Mailbox full\r\n554 5.5.1 No valid recipients\r\n" },
    { "rset clears the transaction", EH M R "RSET\r\nDATA\r\n",
      E OKM OKR "250 2.0.0 Ok\r\n503 5.5.1 Need MAIL command\r\n" },
    { "rset with argument", EH "RSET x\r\n", E "501 5.5.4 Syntax: RSET\r\n" },
    { "ehlo resets the transaction", EH M EH R, E OKM E "503 5.5.1 Need MAIL command\r\n" },
    { "noop with argument", EH "NOOP hello\r\n", E "250 2.0.0 Ok\r\n" },
    { "vrfy", EH "VRFY bob\r\n",
      E "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n" },
    { "vrfy without argument", EH "VRFY\r\n", E "501 5.5.4 Syntax: VRFY address\r\n" },
    { "expn", EH "EXPN list\r\n", E "502 5.5.1 EXPN not implemented\r\n" },
    { "help", EH "HELP\r\n",
      E "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT AUTH\r\n" },
    { "trailing space tolerated", EH "NOOP   \r\n", E "250 2.0.0 Ok\r\n" },
    { "bare LF command", EH "NOOP\nNOOP\r\n",
      E "500 5.5.2 Line must end with CRLF\r\n250 2.0.0 Ok\r\n" },
    { "bare CR inside command", EH "NO\rOP\r\n", E "500 5.5.2 Invalid character in command\r\n" },
    { "8-bit in command", EH "NOOP \xc3\xa9\r\n", E "500 5.5.2 Invalid character in command\r\n" },
    { "input after quit ignored", EH "QUIT\r\nNOOP\r\n",
      E "221 2.0.0 mx.test closing connection\r\n" },
    { "empty line", EH "\r\n", E "500 5.5.2 Command unrecognized\r\n" },
    { "a message", EH M R "DATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n",
      E OKM OKR GO "250 2.0.0 Ok: queued as Q1\r\n" },
    { "empty message", EH M R "DATA\r\n.\r\n", E OKM OKR GO "250 2.0.0 Ok: queued as Q1\r\n" },
    { "dot line inside data", EH M R "DATA\r\n..\r\n.x\r\n.\r\n",
      E OKM OKR GO "250 2.0.0 Ok: queued as Q1\r\n" },
    { "auth before ehlo", "HELO c\r\nAUTH PLAIN\r\n", "250 mx.test\r\n503 Send EHLO first\r\n" },
    { "auth unknown mechanism", EH "AUTH CRAM-MD5\r\n",
      E "504 5.5.4 Unrecognized authentication type\r\n" },
    { "auth inside transaction", EH M "AUTH PLAIN\r\n",
      E OKM "503 5.5.1 AUTH not permitted during a mail transaction\r\n" },
    { NULL, NULL, NULL },
};

static void
test_command_table(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    for (const Case *c = cases; c->name; c++) {
        g_autofree char *out = run_both(&cfg, c->input, strlen(c->input));
        g_autofree char *want = g_strconcat(G, c->expect, NULL);
        if (strcmp(out, want) != 0)
            printf("\ncase '%s':\n got: %s\nwant: %s\n", c->name, out, want);
        CU_ASSERT_STRING_EQUAL(out, want);
    }
}

/* Runs input and checks the output after greeting (and EHLO when given). */
static void
expect(const MsSmtpServerConfig *cfg, const char *input, gsize len, const char *want_after_greeting)
{
    g_autofree char *out = run_both(cfg, input, len);
    g_autofree char *want = g_strconcat(G, want_after_greeting, NULL);
    if (strcmp(out, want) != 0)
        printf("\n got: %.300s\nwant: %.300s\n", out, want);
    CU_ASSERT_STRING_EQUAL(out, want);
}

/* RFC 5321 4.5.3.1.4: 512 octets with CRLF is the limit. The overlong line
 * costs one reply and the next command is in step. */
static void
test_command_line_512_513(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    static const struct {
        gsize total;
        const char *reply;
    } t[] = {
        { 511, "250 2.0.0 Ok\r\n" },
        { 512, "250 2.0.0 Ok\r\n" },
        { 513, "500 5.5.6 Line too long\r\n" },
        { 514, "500 5.5.6 Line too long\r\n" },
        { 10000, "500 5.5.6 Line too long\r\n" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(t); i++) {
        GString *in = g_string_new(EH "NOOP ");
        gsize start = strlen(EH);
        while (in->len - start < t[i].total - 2)
            g_string_append_c(in, 'x');
        g_string_append(in, "\r\nNOOP\r\n");
        g_autofree char *want = g_strconcat(E, t[i].reply, "250 2.0.0 Ok\r\n", NULL);
        expect(&cfg, in->str, in->len, want);
        g_string_free(in, TRUE);
    }
}

static GString *
message_with_line(gsize text_octets)
{
    GString *in = g_string_new(EH M R "DATA\r\nSubject: t\r\n\r\n");
    for (gsize i = 0; i < text_octets; i++)
        g_string_append_c(in, 'a');
    g_string_append(in, "\r\nend\r\n.\r\n");
    return in;
}

/* RFC 5321 4.5.3.1.6: 1000 octets with CRLF; a longer line refuses the
 * message after its end. A stuffed line is measured un-stuffed. */
static void
test_text_line_1000_1001(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    g_autoptr(GString) ok = message_with_line(998);
    expect(&cfg, ok->str, ok->len, E OKM OKR GO "250 2.0.0 Ok: queued as Q1\r\n");
    g_autoptr(GString) bad = message_with_line(999);
    expect(&cfg, bad->str, bad->len,
           E OKM OKR GO "554 5.6.0 Message has a line longer than 998 octets\r\n");
    /* ".aaa..." of 999 octets on the wire is 998 after un-stuffing. */
    g_autoptr(GString) stuffed = g_string_new(EH M R "DATA\r\n.");
    for (int i = 0; i < 998; i++)
        g_string_append_c(stuffed, 'a');
    g_string_append(stuffed, "\r\n.\r\n");
    expect(&cfg, stuffed->str, stuffed->len, E OKM OKR GO "250 2.0.0 Ok: queued as Q1\r\n");
}

/* SMTP smuggling: bare LF / bare CR end-of-data look-alikes must neither end
 * the content nor let the rest run as commands. One reply follows the 354:
 * the refusal after the real end. */
static void
test_smuggling_probes(void)
{
    static const char *const probes[] = {
        "\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r", "\n..\n", "\r\n.\r\r\n",
    };
    MsSmtpServerConfig cfg = tk_server_config();
    for (gsize i = 0; i < G_N_ELEMENTS(probes); i++) {
        g_autofree char *in =
            g_strconcat(EH M R "DATA\r\nSubject: a\r\n\r\nbody", probes[i],
                        "MAIL FROM:<evil@x.test>\r\nRCPT TO:<v@mx.test>\r\nDATA\r\n"
                        "Subject: smuggled\r\n\r\nx\r\n.\r\n",
                        NULL);
        TkPolicy p;
        tk_policy_init(&p);
        g_autofree char *out = run(&cfg, &p, in, strlen(in), FALSE);
        g_autofree char *want =
            g_strconcat(G E OKM OKR GO, "554 5.6.0 Message contains bare CR or LF\r\n", NULL);
        if (strcmp(out, want) != 0)
            printf("\nprobe %zu:\n got: %s\n", i, out);
        CU_ASSERT_STRING_EQUAL(out, want);
        CU_ASSERT_EQUAL(p.msgs->len, 0);
        tk_policy_clear(&p);
        g_autofree char *again = run_both(&cfg, in, strlen(in));
        CU_ASSERT_STRING_EQUAL(again, want);
    }
}

static void
test_nul_and_garbage(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    static const char nul_cmd[] = EH "NO\0OP\r\nNOOP\r\n";
    expect(&cfg, nul_cmd, sizeof nul_cmd - 1,
           E "500 5.5.2 Invalid character in command\r\n250 2.0.0 Ok\r\n");
    static const char nul_data[] = EH M R "DATA\r\nab\0c\r\n.\r\n";
    expect(&cfg, nul_data, sizeof nul_data - 1,
           E OKM OKR GO "554 5.6.0 Message contains NUL octets\r\n");
    /* Every octet value, many times: no crash, only error replies, and the
     * session ends after the error limit. */
    GString *g = g_string_new(NULL);
    for (int r = 0; r < 40; r++) {
        for (int c = 0; c < 256; c++)
            g_string_append_c(g, (char) ((c * 7 + r) & 0xff));
        g_string_append(g, "\r\n");
    }
    g_autofree char *out = run_both(&cfg, g->str, g->len);
    if (!g_str_has_suffix(out, "421 Too many errors, closing connection\r\n"))
        printf("\n%s\n", out);
    CU_ASSERT(g_str_has_suffix(out, "421 Too many errors, closing connection\r\n"));
    CU_ASSERT(strstr(out, "\r\n250") == NULL);
    g_string_free(g, TRUE);
}

/* RFC 2920: a flood of pipelined transactions in one buffer and one octet at
 * a time gives the same replies (run_both compares) and delivers all. */
static void
test_pipelined_flood(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    GString *in = g_string_new(EH);
    GString *want = g_string_new(G E);
    for (int i = 0; i < 60; i++) {
        g_string_append_printf(in,
                               "MAIL FROM:<s%d@b.test>\r\nRCPT TO:<r%d@mx.test>\r\n"
                               "RCPT TO:<unknown@mx.test>\r\nDATA\r\n.line %d\r\n.\r\n",
                               i, i, i);
        g_string_append_printf(
            want, OKM OKR "550 5.1.1 User unknown\r\n" GO "250 2.0.0 Ok: queued as Q%d\r\n", i + 1);
    }
    g_string_append(in, "QUIT\r\n");
    g_string_append(want, "221 2.0.0 mx.test closing connection\r\n");
    g_autofree char *out = run_both(&cfg, in->str, in->len);
    CU_ASSERT_STRING_EQUAL(out, want->str);
    TkPolicy p;
    tk_policy_init(&p);
    g_autofree char *o2 = run(&cfg, &p, in->str, in->len, FALSE);
    CU_ASSERT_EQUAL(p.msgs->len, 60);
    gsize n = 0;
    const char *d = g_bytes_get_data(g_ptr_array_index(p.msgs, 59), &n);
    CU_ASSERT_EQUAL(n, strlen("line 59\r\n"));
    CU_ASSERT(memcmp(d, "line 59\r\n", n) == 0);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(p.envs, 0), "s0@b.test|r0@mx.test|0|0");
    tk_policy_clear(&p);
    g_string_free(in, TRUE);
    g_string_free(want, TRUE);
}

typedef struct {
    const char *name;
    const char *input;
    const char *expect;
} AuthCase;

/* base64: "\0alice\0secret" = AGFsaWNlAHNlY3JldA==, "\0alice\0wrong" =
 * AGFsaWNlAHdyb25n, alice = YWxpY2U=, secret = c2VjcmV0, wrong = d3Jvbmc= */
static const AuthCase auth_cases[] = {
    { "plain initial response", "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
      "235 2.7.0 Authentication successful\r\n" },
    { "plain continuation", "AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n",
      "334 \r\n235 2.7.0 Authentication successful\r\n" },
    { "plain wrong password", "AUTH PLAIN AGFsaWNlAHdyb25n\r\n",
      "535 5.7.8 Authentication credentials invalid\r\n" },
    { "plain bad base64", "AUTH PLAIN AGFsaWNl*HNl\r\n", "501 5.5.2 Cannot decode response\r\n" },
    { "plain one NUL", "AUTH PLAIN YWxpY2UAc2VjcmV0\r\n",
      "501 5.5.2 Malformed PLAIN response\r\n" },
    { "plain empty", "AUTH PLAIN =\r\n", "501 5.5.2 Malformed PLAIN response\r\n" },
    { "plain other authzid", "AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n",
      "535 5.7.8 Authentication credentials invalid\r\n" },
    { "login", "AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n",
      "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n" },
    { "login initial response", "AUTH LOGIN YWxpY2U=\r\nc2VjcmV0\r\n",
      "334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n" },
    { "login wrong", "AUTH LOGIN\r\nYWxpY2U=\r\nd3Jvbmc=\r\n",
      "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n535 5.7.8 Authentication credentials invalid\r\n" },
    { "cancel", "AUTH LOGIN\r\n*\r\nNOOP\r\n",
      "334 VXNlcm5hbWU6\r\n501 5.7.0 Authentication cancelled\r\n250 2.0.0 Ok\r\n" },
    { "twice", "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
      "235 2.7.0 Authentication successful\r\n503 5.5.1 Already authenticated\r\n" },
    { NULL, NULL, NULL },
};

static void
test_auth(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    for (const AuthCase *c = auth_cases; c->name; c++) {
        g_autofree char *in = g_strconcat(EH, c->input, NULL);
        g_autofree char *want = g_strconcat(E, c->expect, NULL);
        expect(&cfg, in, strlen(in), want);
    }
    /* Credentials are not traced. */
    TkPolicy p;
    tk_policy_init(&p);
    const char *login = EH "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n";
    g_autofree char *o1 = run(&cfg, &p, login, strlen(login), FALSE);
    CU_ASSERT(strstr(p.trace->str, "> AUTH PLAIN <initial response>\n< 235 2.7.0") != NULL);
    CU_ASSERT(strstr(p.trace->str, "AGFsaWNl") == NULL);
    tk_policy_clear(&p);
    /* Not offered: no AUTH keyword, command refused. */
    cfg.offer_auth = FALSE;
    g_autofree char *out = run_both(&cfg, EH "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n",
                                    strlen(EH "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"));
    CU_ASSERT(strstr(out, "AUTH PLAIN LOGIN") == NULL);
    CU_ASSERT(g_str_has_suffix(out, "502 5.5.1 AUTH not available\r\n"));
    /* An AUTH continuation of 12288 octets is a line; 12289 is too long. */
    cfg.offer_auth = TRUE;
    for (gsize total = 12288; total <= 12289; total++) {
        GString *in = g_string_new(EH "AUTH PLAIN\r\n");
        for (gsize i = 0; i < total - 2; i++)
            g_string_append_c(in, 'A');
        g_string_append(in, "\r\nNOOP\r\n");
        g_autofree char *o = run_both(&cfg, in->str, in->len);
        CU_ASSERT(strstr(o, total == 12288
                                ? "501 5.5.2 Cannot decode"
                                : "500 5.5.6 Authentication exchange line is too long") != NULL);
        CU_ASSERT(g_str_has_suffix(o, "250 2.0.0 Ok\r\n"));
        g_string_free(in, TRUE);
    }
}

static void
test_size_limit(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    cfg.max_size = 1000;
    g_autofree char *kw = run_both(&cfg, EH, strlen(EH));
    CU_ASSERT(strstr(kw, "250-SIZE 1000\r\n") != NULL);
    expect(&cfg, EH "MAIL FROM:<a@b.test> SIZE=1000\r\n",
           strlen(EH "MAIL FROM:<a@b.test> SIZE=1000\r\n"),
           "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
           "250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n" OKM);
    g_autofree char *o = run_both(&cfg, EH "MAIL FROM:<a@b.test> SIZE=1001\r\n",
                                  strlen(EH "MAIL FROM:<a@b.test> SIZE=1001\r\n"));
    CU_ASSERT(g_str_has_suffix(o, "552 5.3.4 Message size exceeds fixed maximum message size\r\n"));
    /* Content: exactly 1000 octets accepted, 1001 refused at the end. */
    for (gsize n = 1000; n <= 1001; n++) {
        GString *in = g_string_new(EH M R "DATA\r\n");
        gsize left = n;
        while (left > 0) {
            gsize line = MIN(left, 80);
            for (gsize i = 0; i + 2 < line; i++)
                g_string_append_c(in, 'a');
            g_string_append(in, "\r\n"); /* lines of 80 octets; the last 40 or 41 */
            left -= line;
        }
        g_string_append(in, ".\r\n");
        g_autofree char *out = run_both(&cfg, in->str, in->len);
        CU_ASSERT(g_str_has_suffix(
            out, n == 1000 ? "250 2.0.0 Ok: queued as Q1\r\n"
                           : "552 5.3.4 Message size exceeds fixed maximum message size\r\n"));
        g_string_free(in, TRUE);
    }
}

/* RFC 5321 4.5.3.1.8/4.5.3.1.10: 100 recipients accepted, the 101st gets
 * 452 4.5.3, and the message still goes to the 100. */
static void
test_recipient_limit(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    GString *in = g_string_new(EH M);
    for (int i = 0; i < 101; i++)
        g_string_append_printf(in, "RCPT TO:<u%d@mx.test>\r\n", i);
    g_string_append(in, "DATA\r\nhi\r\n.\r\n");
    TkPolicy p;
    tk_policy_init(&p);
    g_autofree char *out = run(&cfg, &p, in->str, in->len, FALSE);
    gsize ok = 0;
    for (const char *s = out; (s = strstr(s, OKR)); s++)
        ok++;
    CU_ASSERT_EQUAL(ok, 100);
    CU_ASSERT(strstr(out, OKR "452 4.5.3 Too many recipients\r\n" GO) != NULL);
    CU_ASSERT_EQUAL(p.msgs->len, 1);
    CU_ASSERT(g_str_has_suffix(g_ptr_array_index(p.envs, 0), ",u99@mx.test|0|0"));
    tk_policy_clear(&p);
    g_string_free(in, TRUE);
}

typedef struct {
    const char *verb;
    guint code;
    const char *enh;
    const char *input;
    const char *expect;
    gboolean closed;
} OverrideCase;

static const OverrideCase ov_cases[] = {
    { "MAIL", 421, "4.3.0", EH M R, E "421 4.3.0 Scripted fault\r\n", TRUE },
    { "RCPT", 451, "4.3.0", EH M R "DATA\r\n",
      E OKM "451 4.3.0 Scripted fault\r\n554 5.5.1 No valid recipients\r\n", FALSE },
    { "MAIL", 550, "5.7.1", EH M R, E "550 5.7.1 Scripted fault\r\n503 5.5.1 Need MAIL command\r\n",
      FALSE },
    { "DATA", 452, "4.3.1", EH M R "DATA\r\n", E OKM OKR "452 4.3.1 Scripted fault\r\n", FALSE },
    { ".", 552, "5.3.4", EH M R "DATA\r\nx\r\n.\r\nNOOP\r\n",
      E OKM OKR GO "552 5.3.4 Scripted fault\r\n250 2.0.0 Ok\r\n", FALSE },
    { ".", 421, "4.4.2", EH M R "DATA\r\nx\r\n.\r\nNOOP\r\n",
      E OKM OKR GO "421 4.4.2 Scripted fault\r\n", TRUE },
    { "EHLO", 554, "5.7.1", EH, "554 Scripted fault\r\n", FALSE },
    { NULL, 0, NULL, NULL, NULL, FALSE },
};

static void
test_override_hook(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    for (const OverrideCase *c = ov_cases; c->verb; c++) {
        TkPolicy p;
        tk_policy_init(&p);
        p.ov_verb = c->verb;
        p.ov_code = c->code;
        p.ov_enh = c->enh;
        MsSmtpServerHooks h = tk_server_hooks();
        g_autoptr(MsSmtpServer) s = ms_smtp_server_new(&cfg, &h, &p);
        ms_smtp_server_start(s);
        ms_smtp_server_feed(s, (const guint8 *) c->input, strlen(c->input));
        g_autoptr(GBytes) out = ms_smtp_server_take_output(s);
        g_autofree char *got = g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
        g_autofree char *want = g_strconcat(G, c->expect, NULL);
        CU_ASSERT_STRING_EQUAL(got, want);
        CU_ASSERT_EQUAL(ms_smtp_server_is_closed(s), c->closed);
        CU_ASSERT_EQUAL(p.msgs->len, 0);
        tk_policy_clear(&p);
    }
}

static void
test_greetings(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    cfg.greeting_code = 554;
    cfg.greeting_text = "No service for you";
    TkPolicy p;
    tk_policy_init(&p);
    g_autofree char *o = run(&cfg, &p, EH M "QUIT\r\n", strlen(EH M "QUIT\r\n"), FALSE);
    CU_ASSERT_STRING_EQUAL(o,
                           "554 No service for you\r\n503 Service refused, send QUIT\r\n"
                           "503 Service refused, send QUIT\r\n221 mx.test closing connection\r\n");
    cfg.greeting_code = 421;
    cfg.greeting_text = "Busy";
    MsSmtpServerHooks h = tk_server_hooks();
    g_autoptr(MsSmtpServer) s = ms_smtp_server_new(&cfg, &h, &p);
    ms_smtp_server_start(s);
    CU_ASSERT(ms_smtp_server_is_closed(s));
    ms_smtp_server_feed(s, (const guint8 *) EH, strlen(EH));
    g_autoptr(GBytes) out = ms_smtp_server_take_output(s);
    CU_ASSERT_EQUAL(g_bytes_get_size(out), 10);
    CU_ASSERT(memcmp(g_bytes_get_data(out, NULL), "421 Busy\r\n", 10) == 0);
    CU_ASSERT_PTR_NULL(ms_smtp_server_take_output(s));
    tk_policy_clear(&p);
}

/* The data hook gets the envelope and the content un-stuffed with CRLF;
 * the trace has the command lines, the reply lines and one content line. */
static void
test_data_hook_and_trace(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    TkPolicy p;
    tk_policy_init(&p);
    const char *in =
        EH "MAIL FROM:<> BODY=8BITMIME SIZE=40\r\nRCPT TO:<x@mx.test>\r\nRCPT TO:<y@mx.test>\r\n"
           "DATA\r\n..a\r\n\r\n...\r\n\xc3\xa9t\xc3\xa9\r\n.\r\nQUIT\r\n";
    g_autofree char *out = run(&cfg, &p, in, strlen(in), FALSE);
    CU_ASSERT_EQUAL(p.msgs->len, 1);
    gsize n = 0;
    const char *d = g_bytes_get_data(g_ptr_array_index(p.msgs, 0), &n);
    const char body[] = ".a\r\n\r\n..\r\n\xc3\xa9t\xc3\xa9\r\n";
    CU_ASSERT_EQUAL(n, sizeof body - 1);
    CU_ASSERT(memcmp(d, body, n) == 0);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(p.envs, 0), "|x@mx.test,y@mx.test|40|1");
    CU_ASSERT(strstr(p.trace->str, "> RCPT TO:<y@mx.test>\n< 250 2.1.5 Ok\n") != NULL);
    CU_ASSERT(strstr(p.trace->str,
                     "> <message content: 17 octets>\n> .\n< 250 2.0.0 Ok: queued as Q1\n") !=
              NULL);
    CU_ASSERT(strstr(p.trace->str, "< 250-PIPELINING\n") != NULL);
    CU_ASSERT(strstr(p.trace->str, "\xc3") == NULL);
    CU_ASSERT(g_str_has_suffix(p.trace->str, "> QUIT\n< 221 2.0.0 mx.test closing connection\n"));
    tk_policy_clear(&p);
}

/* Three megabytes in one feed, in odd-sized chunks, and a byte at a time
 * through a window: the same message arrives. */
static void
test_large_message_chunks(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    GString *body = g_string_new(NULL);
    for (int i = 0; body->len < 3 * 1024 * 1024; i++)
        g_string_append_printf(body, "%sline %d of the big message\r\n", i % 7 == 0 ? "." : "", i);
    GString *in = g_string_new(EH M R "DATA\r\n");
    for (gsize i = 0; i < body->len; i++) {
        if (body->str[i] == '.' && (i == 0 || body->str[i - 1] == '\n'))
            g_string_append_c(in, '.');
        g_string_append_c(in, body->str[i]);
    }
    g_string_append(in, ".\r\n");
    static const gsize chunks[] = { 0, 1, 7, 1460, 65536 };
    for (gsize k = 0; k < G_N_ELEMENTS(chunks); k++) {
        TkPolicy p;
        tk_policy_init(&p);
        MsSmtpServerHooks h = tk_server_hooks();
        g_autoptr(MsSmtpServer) s = ms_smtp_server_new(&cfg, &h, &p);
        ms_smtp_server_start(s);
        gsize step = chunks[k] ? chunks[k] : in->len;
        for (gsize off = 0; off < in->len; off += step)
            ms_smtp_server_feed(s, (const guint8 *) in->str + off, MIN(step, in->len - off));
        CU_ASSERT_EQUAL(p.msgs->len, 1);
        if (p.msgs->len == 1) {
            GBytes *m = g_ptr_array_index(p.msgs, 0);
            CU_ASSERT_EQUAL(g_bytes_get_size(m), body->len);
            CU_ASSERT(memcmp(g_bytes_get_data(m, NULL), body->str, body->len) == 0);
        }
        tk_policy_clear(&p);
    }
    g_string_free(body, TRUE);
    g_string_free(in, TRUE);
}

/* What a server makes of `in` fed in pieces of `step` octets (0: whole;
 * G_MAXSIZE: random sizes from r): its trace, then each message's bytes. */
static char *
feed_outcome(const GString *in, gsize step, GRand *r)
{
    MsSmtpServerConfig cfg = tk_server_config();
    TkPolicy p;
    tk_policy_init(&p);
    MsSmtpServerHooks h = tk_server_hooks();
    g_autoptr(MsSmtpServer) s = ms_smtp_server_new(&cfg, &h, &p);
    ms_smtp_server_start(s);
    for (gsize off = 0, k; off < in->len; off += k) {
        k = step == 0 ? in->len : step == G_MAXSIZE ? (gsize) g_rand_int_range(r, 1, 40) : step;
        k = MIN(k, in->len - off);
        ms_smtp_server_feed(s, (const guint8 *) in->str + off, k);
    }
    GString *out = g_string_new(p.trace->str);
    for (guint i = 0; i < p.msgs->len; i++) {
        gsize n;
        const char *d = g_bytes_get_data(g_ptr_array_index(p.msgs, i), &n);
        g_string_append_printf(out, "\n[message %u: %zu octets]\n", i, n);
        for (gsize k = 0; k < n; k++) { /* NULs shown, so that strings compare whole */
            if (d[k])
                g_string_append_c(out, d[k]);
            else
                g_string_append(out, "\\0");
        }
    }
    tk_policy_clear(&p);
    return g_string_free(out, FALSE);
}

/* Content made of the octets that matter to un-stuffing (dots, CR, LF, NUL,
 * text, now and then a line over 1000 octets): fed whole, an octet at a
 * time and in random pieces, the server stores and answers the same. */
static void
test_random_content_splits(void)
{
    static const char alphabet[] = { 'a', 'b', '.', '.', '\r', '\n', '\r', '\n', '\0', ' ' };
    GRand *r = g_rand_new_with_seed(20261129);
    for (int round = 0; round < 400; round++) {
        GString *in = g_string_new(EH M R "DATA\r\n");
        int len = g_rand_int_range(r, 0, 300);
        for (int i = 0; i < len; i++) {
            if (g_rand_int_range(r, 0, 200) == 0) {
                for (int k = 0; k < 1000; k++)
                    g_string_append_c(in, 'x');
            }
            g_string_append_c(in, alphabet[g_rand_int_range(r, 0, sizeof alphabet)]);
        }
        g_string_append(in, "\r\n.\r\n"
                            "QUIT\r\n");
        g_autofree char *whole = feed_outcome(in, 0, r);
        g_autofree char *bytewise = feed_outcome(in, 1, r);
        g_autofree char *pieces = feed_outcome(in, G_MAXSIZE, r);
        CU_ASSERT_STRING_EQUAL(whole, bytewise);
        CU_ASSERT_STRING_EQUAL(whole, pieces);
        g_string_free(in, TRUE);
    }
    g_rand_free(r);
}

static void
test_reply_format(void)
{
    MsSmtpReply r = MS_SMTP_REPLY_INIT;
    ms_smtp_reply_set(&r, 250, NULL, "one\ntwo\r\nthree\x01");
    g_autoptr(GString) s = g_string_new(NULL);
    ms_smtp_reply_format(&r, TRUE, s);
    CU_ASSERT_STRING_EQUAL(s->str, "250-2.0.0 one\r\n250-2.0.0 two\r\n250 2.0.0 three \r\n");
    g_string_truncate(s, 0);
    ms_smtp_reply_set(&r, 550, "4.1.1", NULL); /* wrong class: replaced */
    ms_smtp_reply_format(&r, TRUE, s);
    CU_ASSERT_STRING_EQUAL(s->str, "550 5.0.0\r\n");
    g_string_truncate(s, 0);
    g_autofree char *longtext = g_strnfill(600, 'x');
    ms_smtp_reply_set(&r, 554, "5.7.1", longtext);
    ms_smtp_reply_format(&r, TRUE, s);
    CU_ASSERT_EQUAL(s->len, 512);
    ms_smtp_reply_clear(&r);
    static const struct {
        const char *s;
        gboolean ok;
    } enh[] = {
        { "2.0.0", TRUE }, { "5.123.456", TRUE }, { "5.1234.1", FALSE }, { "3.0.0", FALSE },
        { "5..1", FALSE }, { "5.1.", FALSE },     { "5.1", FALSE },      { "x.1.1", FALSE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(enh); i++)
        CU_ASSERT_EQUAL(ms_smtp_enhanced_valid(enh[i].s, strlen(enh[i].s), 0), enh[i].ok);
    static const struct {
        const char *s;
        gboolean ok;
    } b64[] = {
        { "", TRUE },          { "YQ==", TRUE },    { "YWI=", TRUE },
        { "YWJj", TRUE },      { "YQ=", FALSE },    { "Y===", FALSE },
        { "YQ==YWJj", FALSE }, { "YW\nJj", FALSE }, { "YW Jj", FALSE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(b64); i++) {
        gsize n = 0;
        g_autofree guint8 *d = ms_smtp_base64_decode_strict(b64[i].s, &n);
        CU_ASSERT_EQUAL(d != NULL, b64[i].ok);
    }
}

/* ---- STARTTLS (RFC 3207) ---------------------------------------------- */

/* A session with a TLS handshake in the middle: `before` is fed (whole or
 * octet by octet), then `gap` (what a client sends while the server waits
 * for its handshake), then the caller's handshake "succeeds" and `after` is
 * fed. Returns the output before the handshake and after it, joined by
 * "|TLS|" (or "|NO TLS|" when the server did not ask for it). */
static char *
tls_run(const MsSmtpServerConfig *cfg, const char *before, const char *gap, const char *after,
        gboolean bytewise, GString *trace)
{
    TkPolicy p;
    tk_policy_init(&p);
    MsSmtpServerHooks h = tk_server_hooks();
    g_autoptr(MsSmtpServer) s = ms_smtp_server_new(cfg, &h, &p);
    ms_smtp_server_start(s);
    const char *parts[] = { before, gap };
    for (int k = 0; k < 2; k++) {
        gsize len = strlen(parts[k]);
        if (bytewise)
            for (gsize i = 0; i < len; i++)
                ms_smtp_server_feed(s, (const guint8 *) parts[k] + i, 1);
        else
            ms_smtp_server_feed(s, (const guint8 *) parts[k], len);
    }
    GString *out = g_string_new(NULL);
    g_autoptr(GBytes) o1 = ms_smtp_server_take_output(s);
    if (o1)
        g_string_append_len(out, g_bytes_get_data(o1, NULL), (gssize) g_bytes_get_size(o1));
    gboolean wants = ms_smtp_server_wants_tls(s);
    g_string_append(out, wants ? "|TLS|" : "|NO TLS|");
    if (wants) {
        CU_ASSERT_FALSE(ms_smtp_server_is_tls(s));
        ms_smtp_server_tls_started(s);
        CU_ASSERT_TRUE(ms_smtp_server_is_tls(s));
        CU_ASSERT_FALSE(ms_smtp_server_wants_tls(s));
    }
    gsize len = strlen(after);
    if (bytewise)
        for (gsize i = 0; i < len; i++)
            ms_smtp_server_feed(s, (const guint8 *) after + i, 1);
    else
        ms_smtp_server_feed(s, (const guint8 *) after, len);
    g_autoptr(GBytes) o2 = ms_smtp_server_take_output(s);
    if (o2)
        g_string_append_len(out, g_bytes_get_data(o2, NULL), (gssize) g_bytes_get_size(o2));
    if (trace)
        g_string_append(trace, p.trace->str);
    tk_policy_clear(&p);
    return g_string_free(out, FALSE);
}

/* Both ways, same output and trace; checks it against greeting + want. */
static void
tls_expect(const MsSmtpServerConfig *cfg, const char *before, const char *gap, const char *after,
           const char *want)
{
    g_autoptr(GString) t1 = g_string_new(NULL);
    g_autoptr(GString) t2 = g_string_new(NULL);
    g_autofree char *a = tls_run(cfg, before, gap, after, FALSE, t1);
    g_autofree char *b = tls_run(cfg, before, gap, after, TRUE, t2);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_EQUAL(t1->str, t2->str);
    g_autofree char *w = g_strconcat(cfg->greeting_text ? "" : G, want, NULL);
    if (strcmp(a, w) != 0)
        printf("\n got: %s\nwant: %s\n", a, w);
    CU_ASSERT_STRING_EQUAL(a, w);
}

#define ETLS_BEFORE                                                                                \
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"                       \
    "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250 HELP\r\n"
#define ETLS_AUTH                                                                                  \
    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"                       \
    "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"
#define GOTLS "220 2.0.0 Ready to start TLS\r\n"

/* EHLO before TLS offers STARTTLS and, with auth_requires_tls, no AUTH;
 * after the handshake the reverse (RFC 3207 4.2). */
static void
test_starttls_ehlo_and_reset(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    cfg.offer_starttls = TRUE;
    cfg.auth_requires_tls = TRUE;
    tls_expect(&cfg, EH "STARTTLS\r\n", "", EH, ETLS_BEFORE GOTLS "|TLS|" E);
    /* Without auth_requires_tls AUTH is offered beside STARTTLS, which
     * comes first. */
    cfg.auth_requires_tls = FALSE;
    tls_expect(&cfg, EH, "", "",
               "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
               "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"
               "|NO TLS|");
    /* Everything learnt before TLS is forgotten: the EHLO (MAIL needs a new
     * one, and without EHLO no enhanced codes), the login (AUTH is accepted
     * again), the transaction (RCPT needs a new MAIL). */
    tls_expect(&cfg, EH "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n" M "STARTTLS\r\n", "",
               M EH "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n" R,
               ETLS_AUTH "235 2.7.0 Authentication successful\r\n" OKM GOTLS
                         "|TLS|503 Send HELO/EHLO first\r\n" E
                         "235 2.7.0 Authentication successful\r\n503 5.5.1 Need MAIL command\r\n");
    /* STARTTLS needs no EHLO first (Postfix neither). */
    tls_expect(&cfg, "STARTTLS\r\n", "", "NOOP\r\n", "220 Ready to start TLS\r\n|TLS|250 Ok\r\n");
}

/* CVE-2011-0411: commands pipelined after STARTTLS in the same packet, and
 * anything sent before the handshake, are never executed. */
static void
test_starttls_discards_injection(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    cfg.offer_starttls = TRUE;
    tls_expect(&cfg, EH "STARTTLS\r\nMAIL FROM:<x@evil.test>\r\n", "", EH M R,
               ETLS_AUTH GOTLS "|TLS|" E OKM OKR);
    /* The injected MAIL would make this MAIL "nested"; and input fed while
     * the server waits is dropped too (a partial line included). */
    tls_expect(&cfg, EH "STARTTLS\r\nMAIL FROM:<x@evil.test>\r\n", "RCPT TO:<x@mx.test>\r\nNO",
               EH M "QUIT\r\n",
               ETLS_AUTH GOTLS "|TLS|" E OKM "221 2.0.0 mx.test closing connection\r\n");
    g_autoptr(GString) t = g_string_new(NULL);
    g_autofree char *out =
        tls_run(&cfg, EH "STARTTLS\r\nMAIL FROM:<x@evil.test>\r\n", "", "", FALSE, t);
    CU_ASSERT_PTR_NULL(strstr(t->str, "evil"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t->str, "> <clear-text input after STARTTLS discarded>\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t->str, "> <TLS established>\n"));
}

/* Syntax, not offered, already active; each dialect's texts and places. */
static void
test_starttls_errors_and_dialects(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    cfg.offer_starttls = TRUE;
    tls_expect(&cfg, EH "STARTTLS now\r\n", "", "",
               ETLS_AUTH "501 5.5.4 Syntax: STARTTLS\r\n|NO TLS|");
    tls_expect(&cfg, "STARTTLS\r\n", "", "STARTTLS\r\n",
               "220 Ready to start TLS\r\n|TLS|503 TLS already active\r\n");
    cfg.offer_starttls = FALSE;
    tls_expect(&cfg, EH "STARTTLS\r\n", "", "", E "502 5.5.1 STARTTLS not available\r\n|NO TLS|");
    /* Implicit TLS (RFC 8314 3.3): inside TLS from the start. */
    cfg.tls_active = TRUE;
    cfg.offer_starttls = TRUE;
    cfg.auth_requires_tls = TRUE;
    tls_expect(&cfg, EH "STARTTLS\r\n", "", "", E "503 5.5.1 TLS already active\r\n|NO TLS|");

    static const struct {
        MsSmtpDialect d;
        const char *ehlo, *go, *again, *off;
    } dl[] = {
        { MS_SMTP_DIALECT_POSTFIX,
          "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
          "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
          "250 DSN\r\n",
          "220 2.0.0 Ready to start TLS\r\n", "554 5.5.1 Error: TLS already active\r\n",
          "502 5.5.1 Error: command not implemented\r\n" },
        { MS_SMTP_DIALECT_EXIM,
          "250-mx.test Hello c.test\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
          "250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n250 HELP\r\n",
          "220 TLS go ahead\r\n", "503 TLS already active\r\n", "502 STARTTLS not available\r\n" },
        { MS_SMTP_DIALECT_OPENSMTPD,
          "250-mx.test Hello c.test, pleased to meet you\r\n250-8BITMIME\r\n"
          "250-ENHANCEDSTATUSCODES\r\n250-SIZE 10240000\r\n250-DSN\r\n250-STARTTLS\r\n"
          "250-AUTH PLAIN LOGIN\r\n250 HELP\r\n",
          "220 2.0.0 Ready to start TLS\r\n", "503 5.5.1 TLS already active\r\n",
          "502 5.5.1 STARTTLS not available\r\n" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(dl); i++) {
        MsSmtpServerConfig c = tk_server_config();
        c.dialect = dl[i].d;
        c.greeting_text = "mx.test ESMTP";
        c.offer_starttls = TRUE;
        g_autofree char *w1 =
            g_strconcat("220 mx.test ESMTP\r\n", dl[i].ehlo, dl[i].go, "|TLS|", dl[i].again, NULL);
        tls_expect(&c, "EHLO c.test\r\nSTARTTLS\r\n", "", "STARTTLS\r\n", w1);
        c.offer_starttls = FALSE;
        g_autofree char *w2 = g_strconcat("220 mx.test ESMTP\r\n", dl[i].off, "|NO TLS|", NULL);
        tls_expect(&c, "STARTTLS\r\n", "", "", w2);
    }
}

/* auth_requires_tls (smtpd_tls_auth_only) and tls_required
 * (smtpd_tls_security_level=encrypt): refusals before TLS, service after. */
static void
test_starttls_policies(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    cfg.offer_starttls = TRUE;
    cfg.auth_requires_tls = TRUE;
    const char *auth = "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n";
    g_autofree char *b1 = g_strconcat(EH, auth, M "STARTTLS\r\n", NULL);
    g_autofree char *a1 = g_strconcat(EH, auth, NULL);
    tls_expect(&cfg, b1, "", a1,
               ETLS_BEFORE "530 5.7.0 Must issue a STARTTLS command first\r\n" OKM GOTLS "|TLS|" E
                           "235 2.7.0 Authentication successful\r\n");
    /* Postfix words it as RFC 4954 4 does (smtpd_sasl_proto.c). */
    MsSmtpServerConfig pf = cfg;
    pf.dialect = MS_SMTP_DIALECT_POSTFIX;
    pf.greeting_text = "mx.test ESMTP Postfix";
    g_autofree char *b2 = g_strconcat(EH, auth, NULL);
    g_autofree char *out = tls_run(&pf, b2, "", "", FALSE, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(
        out, "\r\n504 5.5.4 Encryption required for requested authentication mechanism\r\n"));
    CU_ASSERT_PTR_NULL(strstr(out, "AUTH PLAIN LOGIN"));

    /* tls_required: the transaction and AUTH wait for TLS; NOOP, EHLO,
     * RSET and QUIT do not (RFC 3207 4). */
    cfg.auth_requires_tls = FALSE;
    cfg.tls_required = TRUE;
    g_autofree char *b3 =
        g_strconcat(EH, M R "DATA\r\n", auth, "NOOP\r\nRSET\r\nSTARTTLS\r\n", NULL);
    tls_expect(&cfg, b3, "", EH M R "DATA\r\nhi\r\n.\r\n",
               ETLS_BEFORE "530 5.7.0 Must issue a STARTTLS command first\r\n"
                           "530 5.7.0 Must issue a STARTTLS command first\r\n"
                           "530 5.7.0 Must issue a STARTTLS command first\r\n"
                           "530 5.7.0 Must issue a STARTTLS command first\r\n"
                           "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n" GOTLS "|TLS|" E OKM OKR GO
                           "250 2.0.0 Ok: queued as Q1\r\n");
    /* Under encrypt, Postfix lets only its pre-TLS commands through
     * (smtpd.c, SMTPD_CMD_FLAG_PRE_TLS): AUTH and VRFY get 530, not the
     * 504 of smtpd_tls_auth_only alone. */
    MsSmtpServerConfig pfe = cfg;
    pfe.dialect = MS_SMTP_DIALECT_POSTFIX;
    pfe.greeting_text = "mx.test ESMTP Postfix";
    pfe.offer_auth = TRUE;
    g_autofree char *b4 = g_strconcat(EH, auth, "VRFY alice\r\n", NULL);
    g_autofree char *out4 = tls_run(&pfe, b4, "", "", FALSE, NULL);
    CU_ASSERT_PTR_NULL(strstr(out4, "504 5.5.4"));
    const char *p530 = strstr(out4, "530 5.7.0 Must issue a STARTTLS command first\r\n");
    CU_ASSERT_PTR_NOT_NULL(p530);
    CU_ASSERT_PTR_NOT_NULL(p530 && strstr(p530 + 1, "530 5.7.0 Must issue a STARTTLS command first\r\n"));
    /* The refusals count as errors: a client that keeps trying is cut off. */
    cfg.max_errors = 3;
    tls_expect(&cfg, EH M M M M, "", "",
               ETLS_BEFORE "530 5.7.0 Must issue a STARTTLS command first\r\n"
                           "530 5.7.0 Must issue a STARTTLS command first\r\n"
                           "530 5.7.0 Must issue a STARTTLS command first\r\n"
                           "421 4.7.0 Too many errors, closing connection\r\n|NO TLS|");
}

/* A failed handshake ends the session: nothing more is read or sent. */
static void
test_starttls_failed(void)
{
    MsSmtpServerConfig cfg = tk_server_config();
    cfg.offer_starttls = TRUE;
    TkPolicy p;
    tk_policy_init(&p);
    MsSmtpServerHooks h = tk_server_hooks();
    g_autoptr(MsSmtpServer) s = ms_smtp_server_new(&cfg, &h, &p);
    ms_smtp_server_start(s);
    ms_smtp_server_feed(s, (const guint8 *) "STARTTLS\r\n", 10);
    g_autoptr(GBytes) o = ms_smtp_server_take_output(s);
    CU_ASSERT_TRUE(ms_smtp_server_wants_tls(s));
    ms_smtp_server_tls_failed(s);
    CU_ASSERT_TRUE(ms_smtp_server_is_closed(s));
    CU_ASSERT_FALSE(ms_smtp_server_wants_tls(s));
    CU_ASSERT_FALSE(ms_smtp_server_is_tls(s));
    ms_smtp_server_feed(s, (const guint8 *) "NOOP\r\n", 6);
    CU_ASSERT_PTR_NULL(ms_smtp_server_take_output(s));
    tk_policy_clear(&p);
}

/* A data hook that defers its reply: nothing is sent and no pipelined
 * command is read until the resume; then the reply and the held commands'
 * replies follow in order, whether the input came whole or octet by
 * octet. */
static void
defer_data(const MsSmtpSession *s, const MsSmtpEnvelope *env, GBytes *msg, MsSmtpReply *r,
           gpointer ud)
{
    (void) s;
    (void) env;
    (void) msg;
    (void) r;
    ms_smtp_server_defer(*(MsSmtpServer **) ud);
}

static char *
take_all(MsSmtpServer *s)
{
    g_autoptr(GBytes) out = ms_smtp_server_take_output(s);
    gsize n = 0;
    const char *d = out ? g_bytes_get_data(out, &n) : "";
    return g_strndup(d, n);
}

static void
test_deferred_data_reply(void)
{
    const char *in = EH M R "DATA\r\nhello\r\n.\r\n" M R "DATA\r\nagain\r\n.\r\nQUIT\r\n";
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        MsSmtpServerConfig cfg = tk_server_config();
        MsSmtpServerHooks h = { 0 };
        h.data = defer_data;
        MsSmtpServer *srv = NULL;
        srv = ms_smtp_server_new(&cfg, &h, &srv);
        ms_smtp_server_start(srv);
        g_free(take_all(srv));
        gsize len = strlen(in);
        for (gsize i = 0; i < len; i += bytewise ? 1 : len)
            ms_smtp_server_feed(srv, (const guint8 *) in + i, bytewise ? 1 : len);
        g_autofree char *before = take_all(srv);
        CU_ASSERT_STRING_EQUAL(before, E OKM OKR GO);
        CU_ASSERT(ms_smtp_server_is_deferred(srv));
        MsSmtpReply r = MS_SMTP_REPLY_INIT;
        ms_smtp_reply_set(&r, 550, "5.7.1", "Rejected by DMARC policy");
        ms_smtp_server_resume(srv, &r);
        ms_smtp_reply_clear(&r);
        /* the second transaction was read only now, and defers again */
        g_autofree char *mid = take_all(srv);
        CU_ASSERT_STRING_EQUAL(mid, "550 5.7.1 Rejected by DMARC policy\r\n" OKM OKR GO);
        CU_ASSERT(ms_smtp_server_is_deferred(srv));
        CU_ASSERT_EQUAL(ms_smtp_server_messages_accepted(srv), 0);
        ms_smtp_reply_set(&r, 250, "2.0.0", "Ok: queued as Q2");
        ms_smtp_server_resume(srv, &r);
        ms_smtp_reply_clear(&r);
        g_autofree char *after = take_all(srv);
        CU_ASSERT_STRING_EQUAL(
            after, "250 2.0.0 Ok: queued as Q2\r\n221 2.0.0 mx.test closing connection\r\n");
        CU_ASSERT_EQUAL(ms_smtp_server_messages_accepted(srv), 1);
        CU_ASSERT(ms_smtp_server_is_closed(srv));
        ms_smtp_server_free(srv);
    }
}

/* An RCPT hook that defers the first recipient's reply (a blocklist
 * asked at RCPT time): nothing more is read until the resume; a 2xx (here
 * the hook's own, resumed with code 0) then takes the recipient, anything
 * else leaves it out of the envelope, and
 * the pipelined commands follow, whole input or octet by octet. */
typedef struct {
    MsSmtpServer *srv;
    guint rcpts_seen;
    guint envelope_rcpts;
} DeferRcpt;

static void
defer_first_rcpt(const MsSmtpSession *s, const char *rcpt, MsSmtpReply *r, gpointer ud)
{
    (void) s;
    (void) rcpt;
    (void) r;
    DeferRcpt *d = ud;
    if (d->rcpts_seen++ == 0)
        ms_smtp_server_defer(d->srv);
}

static void
count_envelope(const MsSmtpSession *s, const MsSmtpEnvelope *env, GBytes *msg, MsSmtpReply *r,
               gpointer ud)
{
    (void) s;
    (void) msg;
    (void) r;
    ((DeferRcpt *) ud)->envelope_rcpts = env->n_rcpts;
}

static void
test_deferred_rcpt_reply(void)
{
    const char *in =
        EH M "RCPT TO:<a@mx.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n";
    for (int take = 0; take < 2; take++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            MsSmtpServerConfig cfg = tk_server_config();
            MsSmtpServerHooks h = { 0 };
            h.rcpt = defer_first_rcpt;
            h.data = count_envelope;
            DeferRcpt d = { 0 };
            d.srv = ms_smtp_server_new(&cfg, &h, &d);
            ms_smtp_server_start(d.srv);
            g_free(take_all(d.srv));
            gsize len = strlen(in);
            for (gsize i = 0; i < len; i += bytewise ? 1 : len)
                ms_smtp_server_feed(d.srv, (const guint8 *) in + i, bytewise ? 1 : len);
            g_autofree char *before = take_all(d.srv);
            CU_ASSERT_STRING_EQUAL(before, E OKM);
            CU_ASSERT(ms_smtp_server_is_deferred(d.srv));
            CU_ASSERT_EQUAL(d.rcpts_seen, 1);
            MsSmtpReply r = MS_SMTP_REPLY_INIT;
            if (!take) /* take: code 0, the reply the hook was given */
                ms_smtp_reply_set(&r, 554, "5.7.1",
                                  "Service unavailable; Client host [192.0.2.1] blocked using "
                                  "bl.test");
            ms_smtp_server_resume(d.srv, &r);
            ms_smtp_reply_clear(&r);
            g_autofree char *after = take_all(d.srv);
            g_autofree char *want = g_strdup_printf(
                "%s" OKR GO "250 2.0.0 Ok: queued\r\n221 2.0.0 mx.test closing connection\r\n",
                take ? OKR
                     : "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using "
                       "bl.test\r\n");
            CU_ASSERT_STRING_EQUAL(after, want);
            CU_ASSERT_EQUAL(d.rcpts_seen, 2);
            CU_ASSERT_EQUAL(d.envelope_rcpts, take ? 2 : 1);
            ms_smtp_server_free(d.srv);
        }
    }
}

int
main(void)
{
    static const MsTestCase tests[] = {
        { "command table (whole and bytewise)", test_command_table },
        { "command line 512/513", test_command_line_512_513 },
        { "text line 1000/1001", test_text_line_1000_1001 },
        { "smuggling probes", test_smuggling_probes },
        { "NUL and garbage", test_nul_and_garbage },
        { "pipelined flood", test_pipelined_flood },
        { "auth plain/login", test_auth },
        { "size limit", test_size_limit },
        { "recipient limit 100/101", test_recipient_limit },
        { "override hook", test_override_hook },
        { "greetings 554/421", test_greetings },
        { "deferred RCPT reply", test_deferred_rcpt_reply },
        { "data hook and trace", test_data_hook_and_trace },
        { "3 MB message in chunks", test_large_message_chunks },
        { "random content: whole, bytewise, in pieces", test_random_content_splits },
        { "reply format and helpers", test_reply_format },
        { "STARTTLS: EHLO and the reset", test_starttls_ehlo_and_reset },
        { "STARTTLS: injected commands discarded", test_starttls_discards_injection },
        { "STARTTLS: errors and dialects", test_starttls_errors_and_dialects },
        { "STARTTLS: auth_requires_tls, tls_required", test_starttls_policies },
        { "STARTTLS: failed handshake", test_starttls_failed },
        { "a deferred end-of-data reply holds pipelined input", test_deferred_data_reply },
        { NULL, NULL },
    };
    return ms_test_main("smtp_server", tests);
}

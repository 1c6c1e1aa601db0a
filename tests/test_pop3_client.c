/* Tests of the POP3 client core: wired to the server core in memory (the
 * whole session with any split of the bytes, byte-exact retrieval of dotted,
 * 8-bit and 2 MB messages, deletion only at QUIT, a dropped session, wrong
 * passwords, APOP, a locked maildrop, leave-on-server mode), and against
 * scripted hostile servers (bad, overlong and NUL lines, missing
 * terminators, malformed listings). */
#include "testlib.h"
#include "mailsim/pop3_client.h"
#include "pop3_testkit.h"

#include <stdio.h>
#include <string.h>

/* ---- the server side: an in-memory maildrop -------------------------- */

static GBytes *
big_message(gsize target)
{
    GString *s = g_string_new("From: a@example.org\r\nSubject: big\r\n\r\n");
    for (guint k = 0; s->len < target; k++) {
        if (k % 17 == 0)
            g_string_append(s, ".");
        if (k % 101 == 0)
            g_string_append(s, ".\r\n");
        g_string_append_printf(s, "line %u \xc3\xa9t\xc3\xa9 with some words\r\n", k);
    }
    return g_string_free_to_bytes(s);
}

/* The maildrop of these tests: dotted lines, 8-bit text and 2 MiB. */
static TkMaildrop *
box_new(void)
{
    static const char *const texts[] = {
        /* Lines that start with '.', one that is only ".", one ". ". */
        "From: a@example.org\r\nSubject: dots\r\n\r\n.\r\n..\r\n.hidden\r\nnormal\r\n. \r\n",
        /* 8-bit UTF-8 body. */
        "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9f"
        "e aus K\xc3\xb6ln \xe2\x80\x94 "
        "\xe2\x9c\x93\r\n\xff\xfe raw octets\r\n",
        NULL,
    };
    TkMaildrop *b = tk_maildrop_new("tanstaaf", texts);
    tk_maildrop_add(b, big_message(2u << 20)); /* 2 MiB */
    return b;
}

/* ---- the client side ------------------------------------------------- */

typedef struct {
    TkMaildrop *box;
    GPtrArray *got;       /* GBytes, in order */
    GPtrArray *got_uids;  /* char * or NULL */
    GArray *got_nos;      /* guint */
    guint commits_before; /* box commits seen when any message arrived */
    guint boxlen_min;     /* smallest box size seen when a message arrived */
    guint done_calls;
    MsPop3ClientResult result;
    char *text;
    guint drop_after; /* drop the connection at this many messages */
    gboolean dropped;
    GString *trace;
} Fix;

static void
on_message(gpointer ud, guint msgno, const char *uid, GBytes *message)
{
    Fix *f = ud;
    g_ptr_array_add(f->got, g_bytes_ref(message));
    g_ptr_array_add(f->got_uids, g_strdup(uid));
    g_array_append_val(f->got_nos, msgno);
    if (f->box) {
        f->commits_before += f->box->commits;
        f->boxlen_min = MIN(f->boxlen_min, f->box->msgs->len);
    }
    if (f->drop_after && f->got->len == f->drop_after)
        f->dropped = TRUE;
}

static void
on_done(gpointer ud, MsPop3ClientResult result, const char *text)
{
    Fix *f = ud;
    f->done_calls++;
    f->result = result;
    g_free(f->text);
    f->text = g_strdup(text);
}

static void
on_trace(gpointer ud, gboolean from_client, const char *line)
{
    Fix *f = ud;
    g_string_append_printf(f->trace, "%s %s\n", from_client ? "C:" : "S:", line);
}

static const MsPop3ClientHooks fix_hooks = {
    .message = on_message,
    .done = on_done,
    .trace = on_trace,
};

static Fix *
fix_new(TkMaildrop *box)
{
    Fix *f = g_new0(Fix, 1);
    f->box = box;
    f->got = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    f->got_uids = g_ptr_array_new_with_free_func(g_free);
    f->got_nos = g_array_new(FALSE, FALSE, sizeof(guint));
    f->boxlen_min = G_MAXUINT;
    f->trace = g_string_new(NULL);
    return f;
}

static void
fix_free(Fix *f)
{
    g_ptr_array_unref(f->got);
    g_ptr_array_unref(f->got_uids);
    g_array_unref(f->got_nos);
    g_free(f->text);
    g_string_free(f->trace, TRUE);
    g_free(f);
}

typedef void (*FeedFunc)(gpointer obj, const guint8 *data, gsize len);

static void
feed_client(gpointer obj, const guint8 *d, gsize n)
{
    ms_pop3_client_feed(obj, d, n);
}

static void
feed_server(gpointer obj, const guint8 *d, gsize n)
{
    ms_pop3_server_feed(obj, d, n);
}

static void
feed_chunks(FeedFunc feed, gpointer obj, GBytes *b, gsize chunk)
{
    gsize n;
    const guint8 *p = g_bytes_get_data(b, &n);
    if (chunk == 0)
        chunk = n;
    for (gsize i = 0; i < n; i += chunk)
        feed(obj, p + i, MIN(chunk, n - i));
}

/* Moves bytes both ways until the session ends, stalls, or the fixture
 * asks to drop the connection. Returns the sum of the delays asked for. */
static guint64
pump(MsPop3Client *cl, MsPop3Server *srv, Fix *f, gsize chunk)
{
    guint64 delays = 0;
    ms_pop3_server_start(srv);
    for (;;) {
        gboolean progress = FALSE;
        GBytes *b;
        while ((b = ms_pop3_server_take_output(srv))) {
            feed_chunks(feed_client, cl, b, chunk);
            g_bytes_unref(b);
            progress = TRUE;
        }
        if (ms_pop3_server_is_held(srv)) {
            delays += ms_pop3_server_take_delay_ms(srv);
            ms_pop3_server_resume(srv);
            progress = TRUE;
        }
        if (f->dropped)
            break;
        while ((b = ms_pop3_client_take_output(cl))) {
            feed_chunks(feed_server, srv, b, chunk);
            g_bytes_unref(b);
            progress = TRUE;
        }
        if (ms_pop3_client_is_closed(cl))
            break;
        if (ms_pop3_server_is_closed(srv) && !progress) {
            ms_pop3_client_eof(cl);
            break;
        }
        if (!progress)
            break;
    }
    return delays;
}

/* A client configuration with the defaults but for the login. */
static MsPop3ClientConfig
client_config(const char *user, const char *password)
{
    MsPop3ClientConfig cfg;
    ms_pop3_client_config_init(&cfg);
    cfg.user = user;
    cfg.password = password;
    return cfg;
}

/* ---- wired tests ------------------------------------------------------ */

static void
test_retrieve_all(void)
{
    static const struct {
        gsize chunk;
        gboolean apop, dele;
    } cases[] = {
        { 0, FALSE, TRUE },    { 1, FALSE, TRUE },      { 3, TRUE, TRUE },
        { 1460, TRUE, FALSE }, { 65536, FALSE, FALSE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TkMaildrop *box = box_new();
        Fix *f = fix_new(box);
        MsPop3ClientConfig cfg = client_config("mrose", "tanstaaf");
        cfg.use_apop = cases[i].apop;
        cfg.delete_after_retrieve = cases[i].dele;
        cfg.trace_secrets = TRUE;
        g_autoptr(MsPop3Client) cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
        g_autoptr(MsPop3Server) srv = tk_pop3_server_new(box, -1);
        guint64 delays = pump(cl, srv, f, cases[i].chunk);
        CU_ASSERT_EQUAL(delays, 0);
        CU_ASSERT_EQUAL(f->done_calls, 1);
        CU_ASSERT_EQUAL(f->result, MS_POP3_CLIENT_OK);
        CU_ASSERT(ms_pop3_client_is_closed(cl) && ms_pop3_server_is_closed(srv));
        CU_ASSERT_EQUAL(ms_pop3_client_retrieved(cl), 3);
        CU_ASSERT_EQUAL(f->got->len, 3);
        /* Byte-exact, with the ids and numbers the server gave. */
        TkMaildrop *orig = box_new();
        for (guint k = 0; k < f->got->len && k < 3; k++) {
            CU_ASSERT(g_bytes_equal(f->got->pdata[k], orig->msgs->pdata[k]));
            CU_ASSERT_STRING_EQUAL(f->got_uids->pdata[k], orig->uids->pdata[k]);
            CU_ASSERT_EQUAL(g_array_index(f->got_nos, guint, k), k + 1);
        }
        tk_maildrop_free(orig);
        /* Nothing was removed before QUIT; all of it after, when asked. */
        CU_ASSERT_EQUAL(f->commits_before, 0);
        CU_ASSERT_EQUAL(f->boxlen_min, 3);
        CU_ASSERT_EQUAL(box->msgs->len, cases[i].dele ? 0 : 3);
        CU_ASSERT_EQUAL(box->commits, cases[i].dele ? 1 : 0);
        CU_ASSERT_EQUAL(box->locks, 1);
        CU_ASSERT_EQUAL(box->unlocks, 1);
        const char *login = cases[i].apop ? "C: APOP mrose c4c9334bac560ecc979e58001b3e22fb\n"
                                          : "C: PASS tanstaaf\n";
        CU_ASSERT(strstr(f->trace->str, login) != NULL);
        CU_ASSERT(strstr(f->trace->str, "S: [2097") != NULL); /* the big one, summarised */
        fix_free(f);
        tk_maildrop_free(box);
    }
}

/* STAT and LIST sizes are the octets RETR carries before byte-stuffing. */
static void
test_sizes_match_retr(void)
{
    TkMaildrop *box = box_new();
    Fix *f = fix_new(box);
    MsPop3ClientConfig cfg = client_config("mrose", "tanstaaf");
    g_autoptr(MsPop3Client) cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
    g_autoptr(MsPop3Server) srv = tk_pop3_server_new(box, -1);
    pump(cl, srv, f, 4096);
    CU_ASSERT_EQUAL(f->got->len, 3);

    g_autoptr(MsPop3Server) raw = tk_pop3_server_new(box, -1);
    ms_pop3_server_start(raw);
    const char *in = "USER mrose\r\nPASS tanstaaf\r\nSTAT\r\nLIST\r\nQUIT\r\n";
    ms_pop3_server_feed(raw, (const guint8 *) in, strlen(in));
    GString *out = g_string_new(NULL);
    tk_pop3_server_output(raw, out);
    g_auto(GStrv) lines = g_strsplit(out->str, "\r\n", -1);
    guint64 total = 0;
    for (guint k = 0; k < 3; k++)
        total += g_bytes_get_size(f->got->pdata[k]);
    g_autofree char *stat = g_strdup_printf("+OK 3 %" G_GUINT64_FORMAT, total);
    CU_ASSERT_STRING_EQUAL(lines[3], stat);
    for (guint k = 0; k < 3; k++) {
        g_autofree char *want =
            g_strdup_printf("%u %" G_GSIZE_FORMAT, k + 1, g_bytes_get_size(f->got->pdata[k]));
        CU_ASSERT_STRING_EQUAL(lines[5 + k], want);
    }
    g_string_free(out, TRUE);
    fix_free(f);
    tk_maildrop_free(box);
}

static void
test_login_failures(void)
{
    static const struct {
        const char *password;
        gboolean apop, locked;
        MsPop3ClientResult result;
        const char *text;
        guint64 delay;
    } cases[] = {
        { "wrong", FALSE, FALSE, MS_POP3_CLIENT_AUTH_FAILED, "[AUTH] invalid credentials", 2000 },
        { "wrong", TRUE, FALSE, MS_POP3_CLIENT_AUTH_FAILED, "[AUTH] invalid credentials", 2000 },
        { "tanstaaf", FALSE, TRUE, MS_POP3_CLIENT_LOCKED, "[IN-USE] ", 0 },
        { "tanstaaf", TRUE, TRUE, MS_POP3_CLIENT_LOCKED, "[IN-USE] ", 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        TkMaildrop *box = box_new();
        box->held_elsewhere = cases[i].locked;
        Fix *f = fix_new(box);
        MsPop3ClientConfig cfg = client_config("mrose", cases[i].password);
        cfg.use_apop = cases[i].apop;
        g_autoptr(MsPop3Client) cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
        g_autoptr(MsPop3Server) srv = tk_pop3_server_new(box, -1);
        guint64 delays = pump(cl, srv, f, 0);
        CU_ASSERT_EQUAL(delays, cases[i].delay);
        CU_ASSERT_EQUAL(f->done_calls, 1);
        CU_ASSERT_EQUAL(f->result, cases[i].result);
        CU_ASSERT(f->text && g_str_has_prefix(f->text, cases[i].text));
        CU_ASSERT_EQUAL(f->got->len, 0);
        CU_ASSERT(ms_pop3_server_is_closed(srv)); /* the client said QUIT */
        CU_ASSERT_EQUAL(box->locks, 0);
        CU_ASSERT(strstr(f->trace->str, "wrong") == NULL); /* secrets hidden */
        fix_free(f);
        tk_maildrop_free(box);
    }
}

static void
test_leave_on_server(void)
{
    static const char *const seen[] = { "uid-2", "uid-9", NULL };
    TkMaildrop *box = box_new();
    Fix *f = fix_new(box);
    MsPop3ClientConfig cfg = client_config("mrose", "tanstaaf");
    cfg.delete_after_retrieve = TRUE;
    cfg.skip_uids = seen;
    g_autoptr(MsPop3Client) cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
    g_autoptr(MsPop3Server) srv = tk_pop3_server_new(box, -1);
    pump(cl, srv, f, 512);
    CU_ASSERT_EQUAL(f->result, MS_POP3_CLIENT_OK);
    CU_ASSERT_EQUAL(f->got->len, 2);
    CU_ASSERT_EQUAL(g_array_index(f->got_nos, guint, 0), 1);
    CU_ASSERT_EQUAL(g_array_index(f->got_nos, guint, 1), 3);
    CU_ASSERT_EQUAL(box->msgs->len, 1);
    CU_ASSERT_STRING_EQUAL(box->uids->pdata[0], "uid-2");
    fix_free(f);
    tk_maildrop_free(box);
}

/* A connection dropped after DELE 1 was acknowledged commits nothing. */
static void
test_dropped_session(void)
{
    TkMaildrop *box = box_new();
    Fix *f = fix_new(box);
    f->drop_after = 2;
    MsPop3ClientConfig cfg = client_config("mrose", "tanstaaf");
    cfg.delete_after_retrieve = TRUE;
    MsPop3Client *cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
    MsPop3Server *srv = tk_pop3_server_new(box, -1);
    pump(cl, srv, f, 0);
    CU_ASSERT(f->dropped);
    CU_ASSERT(strstr(f->trace->str, "C: DELE 1\nS: +OK message 1 deleted\n") != NULL);
    ms_pop3_server_free(srv); /* the connection is gone */
    ms_pop3_client_eof(cl);
    CU_ASSERT_EQUAL(f->result, MS_POP3_CLIENT_DISCONNECTED);
    CU_ASSERT_EQUAL(f->done_calls, 1);
    ms_pop3_client_free(cl);
    CU_ASSERT_EQUAL(box->commits, 0);
    CU_ASSERT_EQUAL(box->msgs->len, 3);
    CU_ASSERT_EQUAL(box->unlocks, 1);
    fix_free(f);
    tk_maildrop_free(box);
}

/* ---- scripted hostile servers ----------------------------------------- */

#define LOGGED_IN "+OK hi\r\n+OK\r\n+OK\r\n"

static void
test_scripted_servers(void)
{
    g_autofree char *a506 = g_strnfill(506, 'a'), *a507 = g_strnfill(507, 'a');
    g_autofree char *u70 = g_strnfill(70, 'u'), *u71 = g_strnfill(71, 'u');
    g_autofree char *d1022 = g_strnfill(1022, 'd'), *d1023 = g_strnfill(1023, 'd');
    g_autofree char *status512 = g_strdup_printf("+OK %s\r\n", a506);
    g_autofree char *status513 = g_strdup_printf("+OK %s\r\n", a507);
    g_autofree char *x100 = g_strnfill(100, 'x');
    g_autofree char *toobig = g_strdup_printf(LOGGED_IN "+OK 1 5\r\n+OK\r\n1 a\r\n.\r\n"
                                                        "+OK\r\n%s\r\n%s\r\n.\r\n",
                                              d1022, x100);
    g_autofree char *nolf600 = g_strnfill(600, 'A');
    g_autofree char *uid71 = g_strdup_printf(LOGGED_IN "+OK 1 5\r\n+OK\r\n1 %s\r\n.\r\n", u71);
    g_autofree char *uid70 = g_strdup_printf(LOGGED_IN "+OK 1 5\r\n+OK\r\n1 %s\r\n.\r\n", u70);
    g_autofree char *longdata = g_strdup_printf(LOGGED_IN "+OK 1 5\r\n+OK\r\n1 a\r\n.\r\n"
                                                          "+OK\r\n%s\r\n",
                                                d1023);
    g_autofree char *okdata = g_strdup_printf(LOGGED_IN "+OK 1 5\r\n+OK\r\n1 a\r\n.\r\n"
                                                        "+OK\r\n%s\r\n.\r\n+OK\r\n",
                                              d1022);
    const struct {
        const char *script;
        gsize len;    /* 0: strlen */
        gboolean eof; /* the server closes after the script */
        MsPop3ClientResult result;
        gboolean closed;
        const char *sent; /* everything the client said */
        guint messages;
    } cases[] = {
        { LOGGED_IN "+OK 1 5\r\n-ERR no UIDL\r\n+OK\r\n1 5\r\n.\r\n+OK 5 octets\r\nab\r\n..c\r\n"
                    ".\r\n+OK bye\r\n",
          0, FALSE, MS_POP3_CLIENT_OK, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\nLIST\r\nRETR 1\r\nQUIT\r\n", 1 },
        { LOGGED_IN "+OK 0 0\r\n+OK\r\n", 0, FALSE, MS_POP3_CLIENT_OK, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nQUIT\r\n", 0 },
        { "-ERR busy\r\n+OK\r\n", 0, FALSE, MS_POP3_CLIENT_SERVER_ERROR, TRUE, "QUIT\r\n", 0 },
        { "+OK\r\n-ERR [IN-USE] locked\r\n+OK\r\n", 0, FALSE, MS_POP3_CLIENT_LOCKED, TRUE,
          "USER u\r\nQUIT\r\n", 0 },
        { "+OK\r\n+OK\r\n-ERR [AUTH] no\r\n", 0, TRUE, MS_POP3_CLIENT_AUTH_FAILED, TRUE,
          "USER u\r\nPASS p w\r\nQUIT\r\n", 0 },
        { "HELLO\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE, "", 0 },
        { "+OKAY\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE, "", 0 },
        { "+ok\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE, "", 0 },
        { "+OK\0\r\n", 6, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE, "", 0 },
        { status512, 0, FALSE, MS_POP3_CLIENT_OK, FALSE, "USER u\r\n", 0 },
        { status513, 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE, "", 0 },
        { nolf600, 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE, "", 0 },
        { LOGGED_IN "+OK x y\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\n", 0 },
        { LOGGED_IN "+OK 9999999 1\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\n", 0 },
        { LOGGED_IN "+OK 2 10\r\n+OK\r\nx y\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\n", 0 },
        { LOGGED_IN "+OK 1 10\r\n+OK\r\n2 abc\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\n", 0 },
        { LOGGED_IN "+OK 2 10\r\n+OK\r\n1 a\r\n1 b\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR,
          TRUE, "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\n", 0 },
        { LOGGED_IN "+OK 1 10\r\n+OK\r\n1 a b\r\n", 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\n", 0 },
        { uid71, 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\n", 0 },
        { uid70, 0, FALSE, MS_POP3_CLIENT_OK, FALSE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\nRETR 1\r\n", 0 },
        /* A missing terminator: the session waits, then the server leaves. */
        { LOGGED_IN "+OK 1 5\r\n+OK\r\n1 a\r\n.\r\n+OK\r\nabc\r\n", 0, TRUE,
          MS_POP3_CLIENT_DISCONNECTED, TRUE, "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\nRETR 1\r\n",
          0 },
        { LOGGED_IN "+OK 1 5\r\n+OK\r\n1 a\r\n.\r\n-ERR gone\r\n+OK\r\n", 0, FALSE,
          MS_POP3_CLIENT_SERVER_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\nRETR 1\r\nQUIT\r\n", 0 },
        /* max_message is 1100 here: 1024 octets are fine (okdata), 1126 are not. */
        { toobig, 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\nRETR 1\r\n", 0 },
        /* max_line is 1024 here: 1023 octets + CRLF is one too many. */
        { longdata, 0, FALSE, MS_POP3_CLIENT_PROTOCOL_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\nRETR 1\r\n", 0 },
        { okdata, 0, FALSE, MS_POP3_CLIENT_OK, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\nRETR 1\r\nQUIT\r\n", 1 },
        { LOGGED_IN "+OK 1 5\r\n+OK\r\n1 a\r\n.\r\n+OK\r\n.\r\n-ERR cannot\r\n", 0, FALSE,
          MS_POP3_CLIENT_SERVER_ERROR, TRUE,
          "USER u\r\nPASS p w\r\nSTAT\r\nUIDL\r\nRETR 1\r\nQUIT\r\n", 1 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        static const gsize chunks[] = { 0, 1, 5 };
        for (gsize c = 0; c < G_N_ELEMENTS(chunks); c++) {
            Fix *f = fix_new(NULL);
            MsPop3ClientConfig cfg = client_config("u", "p w");
            cfg.max_message = 1100;
            cfg.max_line = 1024;
            g_autoptr(MsPop3Client) cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
            gsize len = cases[i].len ? cases[i].len : strlen(cases[i].script);
            g_autoptr(GBytes) script = g_bytes_new(cases[i].script, len);
            feed_chunks(feed_client, cl, script, chunks[c]);
            if (cases[i].eof)
                ms_pop3_client_eof(cl);
            g_autoptr(GBytes) sent = ms_pop3_client_take_output(cl);
            g_autofree char *s =
                sent ? g_strndup(g_bytes_get_data(sent, NULL), g_bytes_get_size(sent))
                     : g_strdup("");
            gboolean ok = ms_pop3_client_result(cl) == cases[i].result &&
                          ms_pop3_client_is_closed(cl) == cases[i].closed &&
                          strcmp(s, cases[i].sent) == 0 && f->got->len == cases[i].messages &&
                          f->done_calls == (cases[i].closed ? 1u : 0u);
            CU_ASSERT(ok);
            if (!ok)
                fprintf(stderr, "script %zu chunk %zu: result %s sent '%s' got %u\n", i, chunks[c],
                        ms_pop3_client_result_to_string(ms_pop3_client_result(cl)), s, f->got->len);
            fix_free(f);
        }
    }
}

static void
test_scripted_uid_null_message(void)
{
    Fix *f = fix_new(NULL);
    MsPop3ClientConfig cfg = client_config("u", "p");
    g_autoptr(MsPop3Client) cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
    const char *s =
        LOGGED_IN "+OK 1 5\r\n-ERR\r\n+OK\r\n1 9\r\n.\r\n+OK\r\nab\r\n..c\n.\r\n+OK\r\n";
    ms_pop3_client_feed(cl, (const guint8 *) s, strlen(s));
    CU_ASSERT_EQUAL(f->got->len, 1);
    CU_ASSERT(f->got_uids->pdata[0] == NULL);
    gsize n;
    const char *m = g_bytes_get_data(f->got->pdata[0], &n);
    CU_ASSERT(n == 8 && memcmp(m, "ab\r\n.c\r\n", 8) == 0);
    CU_ASSERT_EQUAL(f->result, MS_POP3_CLIENT_OK);
    fix_free(f);
}

/* Feeds `script` to the client and returns what it said (all of it). */
static char *
say(MsPop3Client *cl, const char *script)
{
    if (script)
        ms_pop3_client_feed(cl, (const guint8 *) script, strlen(script));
    g_autoptr(GBytes) out = ms_pop3_client_take_output(cl);
    return out ? g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out)) : g_strdup("");
}

/* STLS (RFC 2595 4) against a scripted server: CAPA, STLS, clear text
 * after the +OK dropped, CAPA again inside TLS, then the login; ENCRYPT
 * without STLS or with it refused leaves before USER; MAY logs in in the
 * clear; implicit TLS sends neither CAPA nor STLS. */
static void
test_stls(void)
{
    Fix *f = fix_new(NULL);
    MsPop3ClientConfig cfg = client_config("u", "p w");
    cfg.tls_level = MS_POP3_TLS_ENCRYPT;
    MsPop3Client *cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
    g_autofree char *o1 = say(cl, "+OK ready <1.2@x>\r\n");
    CU_ASSERT_STRING_EQUAL(o1, "CAPA\r\n");
    g_autofree char *o2 = say(cl, "+OK\r\nUIDL\r\nSTLS\r\nUSER\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(o2, "STLS\r\n");
    g_autofree char *o3 = say(cl, "+OK begin TLS\r\n+OK injected\r\n");
    CU_ASSERT_STRING_EQUAL(o3, "");
    CU_ASSERT(ms_pop3_client_wants_tls(cl));
    CU_ASSERT(!ms_pop3_client_tls_active(cl));
    g_autofree char *o4 = say(cl, "+OK still clear\r\n");
    CU_ASSERT_STRING_EQUAL(o4, "");
    ms_pop3_client_tls_started(cl);
    CU_ASSERT(ms_pop3_client_tls_active(cl));
    CU_ASSERT(!ms_pop3_client_wants_tls(cl));
    g_autofree char *o5 = say(cl, NULL);
    CU_ASSERT_STRING_EQUAL(o5, "CAPA\r\n");
    g_autofree char *o6 = say(cl, "+OK\r\nUIDL\r\nUSER\r\n.\r\n");
    CU_ASSERT_STRING_EQUAL(o6, "USER u\r\n");
    CU_ASSERT(!ms_pop3_client_login_sent(cl, NULL));
    g_autofree char *o7 = say(cl, "+OK\r\n");
    CU_ASSERT_STRING_EQUAL(o7, "PASS p w\r\n");
    gboolean inside = FALSE;
    CU_ASSERT(ms_pop3_client_login_sent(cl, &inside));
    CU_ASSERT(inside);
    CU_ASSERT(f->done_calls == 0);
    ms_pop3_client_free(cl);
    fix_free(f);

    const struct {
        MsPop3TlsLevel level;
        gboolean implicit;
        const char *script;
        const char *sent;
        MsPop3ClientResult result;
        const char *text;
    } cases[] = {
        { MS_POP3_TLS_ENCRYPT, FALSE, "+OK hi\r\n+OK\r\nUSER\r\n.\r\n+OK bye\r\n",
          "CAPA\r\nQUIT\r\n", MS_POP3_CLIENT_TLS_UNAVAILABLE,
          "TLS is required, but the server does not offer STLS" },
        { MS_POP3_TLS_ENCRYPT, FALSE, "+OK hi\r\n-ERR no CAPA\r\n+OK bye\r\n", "CAPA\r\nQUIT\r\n",
          MS_POP3_CLIENT_TLS_UNAVAILABLE, "TLS is required, but the server does not offer STLS" },
        { MS_POP3_TLS_ENCRYPT, FALSE,
          "+OK hi\r\n+OK\r\nSTLS\r\n.\r\n-ERR [SYS/TEMP] no TLS today\r\n+OK bye\r\n",
          "CAPA\r\nSTLS\r\nQUIT\r\n", MS_POP3_CLIENT_TLS_UNAVAILABLE,
          "TLS is required, but STLS was refused: [SYS/TEMP] no TLS today" },
        { MS_POP3_TLS_MAY, FALSE,
          "+OK hi\r\n+OK\r\nSTLS\r\n.\r\n-ERR no TLS today\r\n-ERR [AUTH] no\r\n+OK\r\n",
          "CAPA\r\nSTLS\r\nUSER u\r\nQUIT\r\n", MS_POP3_CLIENT_AUTH_FAILED, "[AUTH] no" },
        { MS_POP3_TLS_MAY, FALSE, "+OK hi\r\n+OK\r\n.\r\n-ERR [AUTH] no\r\n+OK\r\n",
          "CAPA\r\nUSER u\r\nQUIT\r\n", MS_POP3_CLIENT_AUTH_FAILED, "[AUTH] no" },
        { MS_POP3_TLS_ENCRYPT, TRUE, "+OK hi\r\n-ERR [AUTH] no\r\n+OK\r\n", "USER u\r\nQUIT\r\n",
          MS_POP3_CLIENT_AUTH_FAILED, "[AUTH] no" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fix *g = fix_new(NULL);
        MsPop3ClientConfig c2 = client_config("u", "p w");
        c2.tls_level = cases[i].level;
        c2.tls_active = cases[i].implicit;
        MsPop3Client *k = ms_pop3_client_new(&c2, &fix_hooks, g);
        GString *sent = g_string_new(NULL);
        /* One line at a time, as a server answers one command at a time. */
        g_auto(GStrv) lines = g_strsplit(cases[i].script, "\r\n", -1);
        for (guint j = 0; lines[j] && lines[j][0]; j++) {
            g_autofree char *line = g_strconcat(lines[j], "\r\n", NULL);
            g_autofree char *o = say(k, line);
            g_string_append(sent, o);
        }
        if (strcmp(sent->str, cases[i].sent) != 0)
            printf("\ncase %u sent %s\n", i, sent->str);
        CU_ASSERT_STRING_EQUAL(sent->str, cases[i].sent);
        CU_ASSERT_EQUAL(g->result, cases[i].result);
        CU_ASSERT_STRING_EQUAL(g->text ? g->text : "", cases[i].text);
        CU_ASSERT(ms_pop3_client_is_closed(k));
        gboolean in_tls = TRUE;
        /* USER alone is no login; none of these cases got to PASS. */
        CU_ASSERT(!ms_pop3_client_login_sent(k, &in_tls));
        CU_ASSERT(!in_tls);
        g_string_free(sent, TRUE);
        ms_pop3_client_free(k);
        fix_free(g);
    }

    /* A failed handshake ends the session at once, nothing more said. */
    Fix *h = fix_new(NULL);
    MsPop3Client *k = ms_pop3_client_new(&cfg, &fix_hooks, h);
    g_autofree char *o8 = say(k, "+OK hi\r\n+OK\r\nSTLS\r\n.\r\n+OK go\r\n");
    CU_ASSERT_STRING_EQUAL(o8, "CAPA\r\nSTLS\r\n");
    ms_pop3_client_tls_failed(k, "certificate has expired");
    CU_ASSERT(ms_pop3_client_is_closed(k));
    CU_ASSERT_EQUAL(h->result, MS_POP3_CLIENT_TLS_FAILED);
    CU_ASSERT_STRING_EQUAL(h->text, "certificate has expired");
    g_autofree char *o9 = say(k, NULL);
    CU_ASSERT_STRING_EQUAL(o9, "");
    ms_pop3_client_free(k);
    fix_free(h);
}

/* STLS against the server core (offer_stls, auth_requires_tls, as
 * sim/mail/mail_pop3.c sets them): the client logs in only after both
 * cores were told the handshake is done, and retrieves everything; a
 * server that offers no STLS gets no USER from an ENCRYPT client. */
static void
test_stls_wired(void)
{
    for (int offer = 0; offer < 2; offer++) {
        TkMaildrop *box = box_new();
        Fix *f = fix_new(box);
        MsPop3ClientConfig cfg = client_config("mrose", "tanstaaf");
        cfg.tls_level = MS_POP3_TLS_ENCRYPT;
        cfg.trace_secrets = TRUE;
        g_autoptr(MsPop3Client) cl = ms_pop3_client_new(&cfg, &fix_hooks, f);
        MsPop3ServerConfig scfg;
        ms_pop3_server_config_init(&scfg);
        scfg.hostname = "dbc.mtview.ca.us";
        scfg.apop_token = "1896.697170952";
        scfg.offer_stls = offer;
        scfg.auth_requires_tls = TRUE;
        g_autoptr(MsPop3Server) srv = ms_pop3_server_new(&scfg, &tk_maildrop_hooks, box);
        pump(cl, srv, f, 0);
        if (offer) {
            CU_ASSERT(ms_pop3_client_wants_tls(cl));
            CU_ASSERT(ms_pop3_server_wants_tls(srv));
            CU_ASSERT(!ms_pop3_client_login_sent(cl, NULL));
            ms_pop3_server_tls_started(srv);
            ms_pop3_client_tls_started(cl);
            /* pump() starts the server again: go on by hand. */
            for (int k = 0; k < 1000 && !ms_pop3_client_is_closed(cl); k++) {
                GBytes *b;
                gboolean moved = FALSE;
                while ((b = ms_pop3_client_take_output(cl))) {
                    feed_chunks(feed_server, srv, b, 7);
                    g_bytes_unref(b);
                    moved = TRUE;
                }
                while ((b = ms_pop3_server_take_output(srv))) {
                    feed_chunks(feed_client, cl, b, 7);
                    g_bytes_unref(b);
                    moved = TRUE;
                }
                if (!moved)
                    break;
            }
            CU_ASSERT_EQUAL(f->result, MS_POP3_CLIENT_OK);
            CU_ASSERT_EQUAL(f->got->len, 3);
            gboolean inside = FALSE;
            CU_ASSERT(ms_pop3_client_login_sent(cl, &inside));
            CU_ASSERT(inside);
            const char *stls = strstr(f->trace->str, "C: STLS\n");
            const char *pass = strstr(f->trace->str, "C: PASS tanstaaf\n");
            CU_ASSERT(stls && pass && stls < pass);
        } else {
            CU_ASSERT_EQUAL(f->result, MS_POP3_CLIENT_TLS_UNAVAILABLE);
            CU_ASSERT(strstr(f->trace->str, "C: USER") == NULL);
            CU_ASSERT(!ms_pop3_client_login_sent(cl, NULL));
        }
        fix_free(f);
        tk_maildrop_free(box);
    }
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "retrieve all, byte-exact, any split", test_retrieve_all },
        { "STAT/LIST sizes equal RETR octets", test_sizes_match_retr },
        { "wrong password, APOP, locked", test_login_failures },
        { "leave on server", test_leave_on_server },
        { "dropped session commits nothing", test_dropped_session },
        { "scripted hostile servers", test_scripted_servers },
        { "LIST fallback, bare LF", test_scripted_uid_null_message },
        { "STLS", test_stls },
        { "STLS wired to the server core", test_stls_wired },
        { NULL, NULL },
    };
    return ms_test_main("pop3_client", cases);
}

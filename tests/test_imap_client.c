/* Tests of the IMAP client core: wired in memory to our server core over a
 * real mail store (sim/mail/mail_imap.c): new messages fetched byte-exact
 * with any split of the bytes, two devices on one account (each sees every
 * message, flags shared), APPEND to a Sent folder made on TRYCREATE, IDLE
 * woken by a delivery, wrong passwords, AUTHENTICATE PLAIN, STARTTLS and
 * LOGINDISABLED; and, for independence from our own server, against canned
 * transcripts in the shapes a real server answers (Dovecot's greeting and
 * capabilities; SELECT, SEARCH and FETCH responses as RFC 9051 and RFC 3501
 * show them), including hostile ones: overlong lines, NUL octets, foreign
 * tags, unasked continuations, oversized literals, malformed FETCH. */
#include "testlib.h"
#include "mailsim/imap_client.h"
#include "mailsim/imap_server.h"
#include "mailsim/mail_imap.h"

#include <stdio.h>
#include <string.h>

/* ---- a mailbox behind our server core -------------------------------- */

typedef struct {
    MsMailStore *store;
    MsMailImap *imap;
} Box;

static GBytes *
big_message(gsize target)
{
    GString *s = g_string_new("From: a@example.org\r\nSubject: big\r\n\r\n");
    for (guint k = 0; s->len < target; k++)
        g_string_append_printf(s, "line %u \xc3\xa9t\xc3\xa9 {12}\r\n", k);
    return g_string_free_to_bytes(s);
}

static void
deliver(Box *b, const char *text)
{
    g_autoptr(GBytes) d = g_bytes_new(text, strlen(text));
    ms_mail_store_deliver(b->store, "alice", d, 0, MS_TIME_S);
}

static Box *
box_new(void)
{
    Box *b = g_new0(Box, 1);
    b->store = ms_mail_store_new();
    ms_mail_store_add_user(b->store, "alice", "pw \"q\"", 0);
    deliver(b, "From: bob@example.org\r\nSubject: one\r\n\r\nHi\r\n");
    /* a line that looks like a literal announcement, inside a literal */
    deliver(b, "From: carol@example.net\r\nSubject: two {5}\r\n\r\n* 3 EXISTS\r\na1 OK x\r\n");
    g_autoptr(GBytes) big = big_message(300000);
    ms_mail_store_deliver(b->store, "alice", big, 0, 2 * MS_TIME_S);
    b->imap = ms_mail_imap_new(b->store, 777, 1796601600);
    return b;
}

static void
box_free(Box *b)
{
    ms_mail_imap_free(b->imap);
    ms_mail_store_free(b->store);
    g_free(b);
}

/* ---- the client's side ------------------------------------------------ */

typedef struct {
    GPtrArray *got; /* GBytes */
    GArray *uids, *flags;
    guint done_calls, idling_calls;
    MsImapClientResult result;
    char *text;
    GString *trace;
    GPtrArray *appended; /* "folder uid" */
    gboolean deliver_on_idle;
    Box *box;
} Fix;

static void
on_message(gpointer ud, guint32 uid, guint flags, GBytes *message)
{
    Fix *f = ud;
    g_ptr_array_add(f->got, g_bytes_ref(message));
    g_array_append_val(f->uids, uid);
    g_array_append_val(f->flags, flags);
}

static void
on_appended(gpointer ud, const char *folder, guint32 uid)
{
    Fix *f = ud;
    g_ptr_array_add(f->appended, g_strdup_printf("%s %u", folder, uid));
}

static void
on_idling(gpointer ud)
{
    Fix *f = ud;
    f->idling_calls++;
}

static void
on_done(gpointer ud, MsImapClientResult result, const char *text)
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

static const MsImapClientHooks hooks = { on_message, on_appended, on_idling, on_done, on_trace };

static void
fix_init(Fix *f)
{
    memset(f, 0, sizeof *f);
    f->got = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    f->uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    f->flags = g_array_new(FALSE, FALSE, sizeof(guint));
    f->trace = g_string_new(NULL);
    f->appended = g_ptr_array_new_with_free_func(g_free);
}

static void
fix_clear(Fix *f)
{
    g_ptr_array_unref(f->got);
    g_array_unref(f->uids);
    g_array_unref(f->flags);
    g_string_free(f->trace, TRUE);
    g_ptr_array_unref(f->appended);
    g_free(f->text);
}

static void
config(MsImapClientConfig *cfg)
{
    ms_imap_client_config_init(cfg);
    cfg->user = "alice";
    cfg->password = "pw \"q\"";
}

/* Moves bytes between the two cores until neither has anything to say,
 * `chunk` octets at a time (0: all at once). */
static void
pump(MsImapClient *c, MsImapServer *s, gsize chunk)
{
    gboolean moved = TRUE;
    while (moved) {
        moved = FALSE;
        GBytes *o;
        while ((o = ms_imap_client_take_output(c))) {
            gsize n;
            const guint8 *p = g_bytes_get_data(o, &n);
            for (gsize i = 0; i < n; i += chunk ? chunk : n)
                ms_imap_server_feed(s, p + i, chunk ? MIN(chunk, n - i) : n);
            g_bytes_unref(o);
            moved = TRUE;
        }
        while ((o = ms_imap_server_take_output(s))) {
            gsize n;
            const guint8 *p = g_bytes_get_data(o, &n);
            for (gsize i = 0; i < n; i += chunk ? chunk : n)
                ms_imap_client_feed(c, p + i, chunk ? MIN(chunk, n - i) : n);
            g_bytes_unref(o);
            moved = TRUE;
        }
        if (ms_imap_server_wants_tls(s) && ms_imap_client_wants_tls(c)) {
            /* the handshake itself is test_tls's business */
            ms_imap_server_tls_started(s);
            ms_imap_client_tls_started(c);
            moved = TRUE;
        }
    }
}

static MsImapServer *
server_new(Box *b, gboolean tls, gboolean tls_only)
{
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    cfg.hostname = "mx.example.com";
    cfg.offer_starttls = tls;
    cfg.auth_requires_tls = tls_only;
    return ms_imap_server_new(&cfg, ms_mail_imap_hooks(), b->imap);
}

/* One whole session against our server; returns the client (caller frees). */
static MsImapClient *
session(Box *b, const MsImapClientConfig *cfg, Fix *f, gsize chunk)
{
    g_autoptr(MsImapServer) s = server_new(b, FALSE, FALSE);
    MsImapClient *c = ms_imap_client_new(cfg, &hooks, f);
    ms_imap_server_start(s);
    pump(c, s, chunk);
    return c;
}

/* ---- tests: wired to our server -------------------------------------- */

static void
test_fetch_any_split(void)
{
    g_autofree char *first_trace = NULL;
    static const gsize chunks[] = { 0, 1, 7, 4096 };
    for (guint k = 0; k < G_N_ELEMENTS(chunks); k++) {
        Box *b = box_new();
        Fix f;
        fix_init(&f);
        MsImapClientConfig cfg;
        config(&cfg);
        g_autoptr(MsImapClient) c = session(b, &cfg, &f, chunks[k]);
        CU_ASSERT_EQUAL(f.done_calls, 1);
        CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_OK);
        CU_ASSERT_EQUAL(f.got->len, 3);
        GPtrArray *msgs = ms_mail_store_messages(b->store, "alice");
        for (guint i = 0; i < 3 && i < f.got->len; i++) {
            const MsStoredMessage *m = g_ptr_array_index(msgs, i);
            CU_ASSERT(g_bytes_equal(m->data, g_ptr_array_index(f.got, i)));
            CU_ASSERT_EQUAL(g_array_index(f.uids, guint32, i), i + 1);
            CU_ASSERT_EQUAL(g_array_index(f.flags, guint, i), 0);
        }
        CU_ASSERT_EQUAL(ms_imap_client_uidvalidity(c), 777);
        CU_ASSERT_EQUAL(ms_imap_client_uidnext(c), 4);
        CU_ASSERT(strstr(f.trace->str, "C: a1 LOGIN \"alice\" ****\n") != NULL);
        CU_ASSERT(strstr(f.trace->str, "C: a3 UID SEARCH UID 1:*\n") != NULL);
        CU_ASSERT(strstr(f.trace->str, "C: a4 UID FETCH 1:3 (UID FLAGS RFC822.SIZE BODY.PEEK[])") !=
                  NULL);
        CU_ASSERT(strstr(f.trace->str, "C: a5 UID STORE 1:3 +FLAGS (\\Seen)\n") != NULL);
        CU_ASSERT(strstr(f.trace->str, "pw") == NULL); /* the password stays out */
        /* the server kept the \Seen flag: a listing shows it */
        g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(MsImapMessageInfo));
        MsImapMailboxInfo info;
        ms_mail_imap_hooks()->list(b->imap, "alice", "INBOX", list, &info, NULL);
        CU_ASSERT_EQUAL(list->len, 3);
        for (guint i = 0; i < list->len; i++)
            CU_ASSERT_EQUAL(g_array_index(list, MsImapMessageInfo, i).flags, MS_IMAP_FLAG_SEEN);
        /* every split gives the same trace */
        if (k == 0)
            first_trace = g_strdup(f.trace->str);
        else
            CU_ASSERT_STRING_EQUAL(first_trace, f.trace->str);
        fix_clear(&f);
        box_free(b);
    }
}

static void
test_two_devices(void)
{
    Box *b = box_new();
    Fix laptop, phone, again;
    fix_init(&laptop);
    fix_init(&phone);
    fix_init(&again);
    MsImapClientConfig cfg;
    config(&cfg);
    g_autoptr(MsImapClient) c1 = session(b, &cfg, &laptop, 0);
    CU_ASSERT_EQUAL(laptop.got->len, 3);
    /* the phone has never looked: it sees all three, already \Seen */
    cfg.mark_seen = FALSE;
    g_autoptr(MsImapClient) c2 = session(b, &cfg, &phone, 0);
    CU_ASSERT_EQUAL(phone.result, MS_IMAP_CLIENT_OK);
    CU_ASSERT_EQUAL(phone.got->len, 3);
    for (guint i = 0; i < phone.flags->len; i++)
        CU_ASSERT_EQUAL(g_array_index(phone.flags, guint, i), MS_IMAP_FLAG_SEEN);
    CU_ASSERT(strstr(phone.trace->str, "UID STORE") == NULL);
    /* the mail is still on the server: POP3 would see it as well */
    CU_ASSERT_EQUAL(ms_mail_store_messages(b->store, "alice")->len, 3);
    /* the laptop again, knowing what it saw: one new message only */
    deliver(b, "Subject: four\r\n\r\nx\r\n");
    cfg.uidvalidity = ms_imap_client_uidvalidity(c1);
    cfg.uidnext = ms_imap_client_uidnext(c1);
    g_autoptr(MsImapClient) c3 = session(b, &cfg, &again, 0);
    CU_ASSERT_EQUAL(again.got->len, 1);
    CU_ASSERT_EQUAL(again.got->len ? g_array_index(again.uids, guint32, 0) : 0, 4);
    CU_ASSERT(strstr(again.trace->str, "UID SEARCH UID 4:*") != NULL);
    CU_ASSERT_EQUAL(ms_imap_client_uidnext(c3), 5);
    fix_clear(&again);
    /* nothing new: "5:*" names UID 4 (the largest), which is not fetched */
    fix_init(&again);
    cfg.uidnext = 5;
    g_autoptr(MsImapClient) c4 = session(b, &cfg, &again, 0);
    CU_ASSERT_EQUAL(again.result, MS_IMAP_CLIENT_OK);
    CU_ASSERT_EQUAL(again.got->len, 0);
    CU_ASSERT(strstr(again.trace->str, "UID FETCH") == NULL);
    fix_clear(&again);
    /* a different UIDVALIDITY: everything is new again */
    fix_init(&again);
    cfg.uidvalidity = 776;
    g_autoptr(MsImapClient) c5 = session(b, &cfg, &again, 0);
    CU_ASSERT_EQUAL(again.got->len, 4);
    fix_clear(&again);
    fix_clear(&laptop);
    fix_clear(&phone);
    box_free(b);
}

static void
test_append_sent(void)
{
    Box *b = box_new();
    Fix f;
    fix_init(&f);
    MsImapClientConfig cfg;
    config(&cfg);
    cfg.fetch = FALSE;
    g_autoptr(MsImapServer) s = server_new(b, FALSE, FALSE);
    g_autoptr(MsImapClient) c = ms_imap_client_new(&cfg, &hooks, &f);
    g_autoptr(GBytes) m1 = g_bytes_new_static("Subject: sent 1\r\n\r\nbody\r\n", 25);
    g_autoptr(GBytes) m2 = big_message(70000);
    ms_imap_client_append(c, "Sent", m1, MS_IMAP_FLAG_SEEN);
    ms_imap_client_append(c, "Sent", m2, MS_IMAP_FLAG_SEEN | MS_IMAP_FLAG_FLAGGED);
    ms_imap_server_start(s);
    pump(c, s, 3);
    CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_OK);
    CU_ASSERT_EQUAL(ms_imap_client_appended(c), 2);
    CU_ASSERT(strstr(f.trace->str, "C: a2 APPEND Sent (\\Seen) {25}\n") != NULL);
    CU_ASSERT(strstr(f.trace->str, "TRYCREATE") != NULL);
    CU_ASSERT(strstr(f.trace->str, "C: a3 CREATE Sent\n") != NULL);
    CU_ASSERT(strstr(f.trace->str, "C: [25 octets]\n") != NULL);
    CU_ASSERT(strstr(f.trace->str, "SELECT INBOX") == NULL);
    CU_ASSERT_EQUAL(f.appended->len, 2);
    if (f.appended->len == 2) {
        CU_ASSERT_STRING_EQUAL(g_ptr_array_index(f.appended, 0), "Sent 1");
        CU_ASSERT_STRING_EQUAL(g_ptr_array_index(f.appended, 1), "Sent 2");
    }
    const MsImapServerHooks *h = ms_mail_imap_hooks();
    g_autoptr(GArray) list = g_array_new(FALSE, FALSE, sizeof(MsImapMessageInfo));
    MsImapMailboxInfo info;
    CU_ASSERT_EQUAL(h->list(b->imap, "alice", "Sent", list, &info, NULL), MS_IMAP_HOOK_OK);
    CU_ASSERT_EQUAL(list->len, 2);
    g_autoptr(GBytes) back = h->read(b->imap, "alice", "Sent", 2);
    CU_ASSERT(back && g_bytes_equal(back, m2));
    CU_ASSERT_EQUAL(list->len == 2 ? g_array_index(list, MsImapMessageInfo, 1).flags : 0,
                    MS_IMAP_FLAG_SEEN | MS_IMAP_FLAG_FLAGGED);
    fix_clear(&f);
    box_free(b);
}

static void
test_idle_push(void)
{
    Box *b = box_new();
    Fix f;
    fix_init(&f);
    MsImapClientConfig cfg;
    config(&cfg);
    cfg.idle = TRUE;
    g_autoptr(MsImapServer) s = server_new(b, FALSE, FALSE);
    g_autoptr(MsImapClient) c = ms_imap_client_new(&cfg, &hooks, &f);
    ms_imap_server_start(s);
    pump(c, s, 0);
    CU_ASSERT_EQUAL(f.got->len, 3);
    CU_ASSERT(ms_imap_client_is_idling(c));
    CU_ASSERT(ms_imap_server_is_idling(s));
    CU_ASSERT_EQUAL(f.idling_calls, 1);
    CU_ASSERT_EQUAL(f.done_calls, 0);
    /* nothing new: a refresh pushes nothing */
    ms_imap_server_refresh(s);
    pump(c, s, 0);
    CU_ASSERT(ms_imap_client_is_idling(c));
    /* a delivery: the server pushes EXISTS, the client fetches at once */
    deliver(b, "Subject: pushed\r\n\r\nnow\r\n");
    ms_imap_server_refresh(s);
    pump(c, s, 1);
    CU_ASSERT_EQUAL(f.got->len, 4);
    CU_ASSERT_EQUAL(f.got->len == 4 ? g_array_index(f.uids, guint32, 3) : 0, 4);
    CU_ASSERT(strstr(f.trace->str, "S: * 4 EXISTS\nC: DONE\n") != NULL);
    CU_ASSERT(strstr(f.trace->str, "UID SEARCH UID 4:*") != NULL);
    CU_ASSERT(ms_imap_client_is_idling(c));
    CU_ASSERT_EQUAL(f.idling_calls, 2);
    /* stop: DONE, LOGOUT */
    ms_imap_client_stop(c);
    pump(c, s, 0);
    CU_ASSERT_EQUAL(f.done_calls, 1);
    CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_OK);
    CU_ASSERT(ms_imap_server_is_closed(s));
    fix_clear(&f);
    box_free(b);
}

/* Renewing IDLE (RFC 2177 3): DONE, the server's OK, IDLE again, and the
 * client idles as before; asked when not idling, nothing happens. */
static void
test_idle_renew(void)
{
    Box *b = box_new();
    Fix f;
    fix_init(&f);
    MsImapClientConfig cfg;
    config(&cfg);
    cfg.idle = TRUE;
    g_autoptr(MsImapServer) s = server_new(b, FALSE, FALSE);
    g_autoptr(MsImapClient) c = ms_imap_client_new(&cfg, &hooks, &f);
    ms_imap_client_renew_idle(c); /* before the greeting: nothing to renew */
    CU_ASSERT_PTR_NULL(ms_imap_client_take_output(c));
    ms_imap_server_start(s);
    pump(c, s, 0);
    CU_ASSERT(ms_imap_client_is_idling(c));
    g_string_truncate(f.trace, 0);
    ms_imap_client_renew_idle(c);
    pump(c, s, 0);
    CU_ASSERT(strstr(f.trace->str,
                     "C: DONE\nS: a6 OK Idle completed.\nC: a7 IDLE\nS: + idling\n") != NULL);
    CU_ASSERT(ms_imap_client_is_idling(c));
    CU_ASSERT(ms_imap_server_is_idling(s));
    CU_ASSERT_EQUAL(f.idling_calls, 2);
    CU_ASSERT_EQUAL(f.got->len, 3); /* nothing fetched again */
    fix_clear(&f);
    box_free(b);
}

/* The simulated phone of lesson 19 keeps its IDLE session past the
 * lesson's end: it renews IDLE 28 minutes after each IDLE began (the last
 * at 390.73 s, after the second message), before a server may log it out
 * at 30, and says so once. */
static void
test_idle_renew_world(void)
{
    const char *argv[] = { ms_test_mailsim_path(), "run",         "scenarios/teaching/19-push.xml",
                           "--until=65min",        "--no-colour", NULL };
    g_autofree char *out = NULL, *err = NULL;
    int rc = ms_test_spawn(argv, &out, &err);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT(strstr(out, "t=2070.730 s  phone.sales.diversicomcorp.com has idled 28 minutes: it "
                          "ends IDLE and starts it again") != NULL);
    CU_ASSERT(strstr(out, "t=2070.730 s    imap  phone.sales.diversicomcorp.com -> "
                          "mx.diversicomcorp.com: DONE\n") != NULL);
    CU_ASSERT(strstr(out, "t=3750.892 s    imap  phone.sales.diversicomcorp.com -> "
                          "mx.diversicomcorp.com: DONE\n") != NULL);
    CU_ASSERT(strstr(out, "mx.diversicomcorp.com: a13 IDLE\n") != NULL);
    CU_ASSERT(g_strstr_len(out, -1, "has idled 28 minutes") ==
              g_strrstr(out, "has idled 28 minutes")); /* told once */
}

static void
test_login_variants(void)
{
    Box *b = box_new();
    MsImapClientConfig cfg;
    /* a wrong password */
    Fix f;
    fix_init(&f);
    config(&cfg);
    cfg.password = "wrong";
    g_autoptr(MsImapClient) c1 = session(b, &cfg, &f, 0);
    CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_AUTH_FAILED);
    CU_ASSERT_EQUAL(f.got->len, 0);
    CU_ASSERT(strstr(f.trace->str, "LOGOUT") != NULL);
    fix_clear(&f);
    /* AUTHENTICATE PLAIN (our server lists SASL-IR) */
    fix_init(&f);
    config(&cfg);
    cfg.auth_plain = TRUE;
    g_autoptr(MsImapClient) c2 = session(b, &cfg, &f, 0);
    CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_OK);
    CU_ASSERT_EQUAL(f.got->len, 3);
    CU_ASSERT(strstr(f.trace->str, "C: a1 AUTHENTICATE PLAIN ****\n") != NULL);
    fix_clear(&f);
    /* STARTTLS with logins only inside TLS */
    fix_init(&f);
    config(&cfg);
    cfg.tls_level = MS_IMAP_TLS_ENCRYPT;
    {
        g_autoptr(MsImapServer) s = server_new(b, TRUE, TRUE);
        g_autoptr(MsImapClient) c = ms_imap_client_new(&cfg, &hooks, &f);
        ms_imap_server_start(s);
        pump(c, s, 0);
        gboolean inside = FALSE;
        CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_OK);
        CU_ASSERT(ms_imap_client_tls_active(c));
        CU_ASSERT(ms_imap_client_login_sent(c, &inside) && inside);
        CU_ASSERT(strstr(f.trace->str, "C: a1 STARTTLS\n") != NULL);
        CU_ASSERT(strstr(f.trace->str, "C: a2 CAPABILITY\n") != NULL); /* again, inside */
    }
    fix_clear(&f);
    /* no TLS wanted, but the server says LOGINDISABLED: no password leaves */
    fix_init(&f);
    config(&cfg);
    {
        g_autoptr(MsImapServer) s = server_new(b, TRUE, TRUE);
        g_autoptr(MsImapClient) c = ms_imap_client_new(&cfg, &hooks, &f);
        ms_imap_server_start(s);
        pump(c, s, 0);
        CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_TLS_UNAVAILABLE);
        CU_ASSERT(!ms_imap_client_login_sent(c, NULL));
        CU_ASSERT(strstr(f.trace->str, "LOGIN") == NULL || strstr(f.trace->str, "LOGINDISABLED"));
        CU_ASSERT(strstr(f.trace->str, "LOGIN \"") == NULL);
    }
    fix_clear(&f);
    box_free(b);
}

/* ---- tests: canned transcripts --------------------------------------- */

/* A scripted server: for each command the client sends (the text after
 * its tag must start with `expect`), the reply is sent with every "%T"
 * replaced by the tag. A NULL expect sends `reply` unasked. */
typedef struct {
    const char *expect;
    const char *reply;
} Step;

static char *
with_tag(const char *reply, const char *tag)
{
    g_auto(GStrv) parts = g_strsplit(reply, "%T", -1);
    return g_strjoinv(tag, parts);
}

/* Runs the client against `greeting` and `steps`; returns the client's
 * output, all of it. `fix` gets the hooks' calls. */
static GString *
scripted(const MsImapClientConfig *cfg, const char *greeting, const Step *steps, Fix *f,
         void (*prepare)(MsImapClient *c), MsImapClient **out_client)
{
    MsImapClient *c = ms_imap_client_new(cfg, &hooks, f);
    if (prepare)
        prepare(c);
    GString *sent = g_string_new(NULL);
    ms_imap_client_feed(c, (const guint8 *) greeting, strlen(greeting));
    g_autofree char *tag = g_strdup(""); /* of the last command: unasked replies use it */
    for (const Step *st = steps; st->reply; st++) {
        GBytes *o = ms_imap_client_take_output(c);
        if (st->expect) {
            if (!o) {
                fprintf(stderr, "\n--- the client sent nothing; expected %s\n", st->expect);
                CU_FAIL("client sent nothing");
                break;
            }
            gsize n;
            const char *p = g_bytes_get_data(o, &n);
            g_string_append_len(sent, p, (gssize) n);
            if (strcmp(st->expect, "DONE") == 0) { /* untagged: IDLE's tag answers it */
                CU_ASSERT(n == 6 && memcmp(p, "DONE\r\n", 6) == 0);
                g_bytes_unref(o);
                g_autofree char *r = with_tag(st->reply, tag);
                for (gsize i = 0; r[i]; i++)
                    ms_imap_client_feed(c, (const guint8 *) r + i, 1);
                continue;
            }
            const char *sp = memchr(p, ' ', n);
            g_free(tag);
            tag = sp ? g_strndup(p, (gsize) (sp - p)) : g_strdup("");
            gsize rest = sp ? n - (gsize) (sp + 1 - p) : 0;
            if (!sp || rest < strlen(st->expect) ||
                memcmp(sp + 1, st->expect, strlen(st->expect))) {
                fprintf(stderr, "\n--- expected %s, got %.*s\n", st->expect, (int) n, p);
                CU_FAIL("unexpected command");
            }
            g_bytes_unref(o);
        } else if (o) {
            g_string_append_len(sent, g_bytes_get_data(o, NULL), (gssize) g_bytes_get_size(o));
            g_bytes_unref(o);
        }
        g_autofree char *r = with_tag(st->reply, tag);
        /* octet by octet: the framing must not depend on the split */
        for (gsize i = 0; r[i]; i++)
            ms_imap_client_feed(c, (const guint8 *) r + i, 1);
    }
    GBytes *o;
    while ((o = ms_imap_client_take_output(c))) {
        g_string_append_len(sent, g_bytes_get_data(o, NULL), (gssize) g_bytes_get_size(o));
        g_bytes_unref(o);
    }
    *out_client = c;
    return sent;
}

/* Dovecot 2.3's greeting and post-login capabilities (as Debian's
 * dovecot-imapd sends them), then SELECT as RFC 9051 6.3.2 shows it. */
#define DOVECOT_GREETING                                                                           \
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "         \
    "AUTH=PLAIN] Dovecot (Debian) ready.\r\n"
#define DOVECOT_LOGGED_IN                                                                          \
    "%T OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "        \
    "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE "        \
    "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH "     \
    "ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY "   \
    "PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE] Logged in\r\n"
#define RFC_SELECT                                                                                 \
    "* 172 EXISTS\r\n* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"                                 \
    "* OK [UIDNEXT 4392] Predicted next UID\r\n"                                                   \
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"                                  \
    "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n* LIST () \"/\" INBOX\r\n"            \
    "%T OK [READ-WRITE] SELECT completed\r\n"

static void
test_canned_dovecot(void)
{
    Fix f;
    fix_init(&f);
    MsImapClientConfig cfg;
    config(&cfg);
    cfg.uidvalidity = 3857529045u;
    cfg.uidnext = 4390;
    cfg.auth_plain = TRUE;
    /* FETCH shaped as RFC 3501 7.4.2 shows it (INTERNALDATE, an ENVELOPE
     * with nested lists, a quoted string with an escaped quote), items in
     * another order than asked, and an unsolicited FLAGS update. */
    static const Step steps[] = {
        { "AUTHENTICATE PLAIN AGFsaWNlAHB3ICJxIg==", DOVECOT_LOGGED_IN },
        { "SELECT INBOX", RFC_SELECT },
        { "UID SEARCH UID 4390:*",
          "* SEARCH 4390 4391\r\n%T OK Search completed (0.001 + 0.000 secs).\r\n" },
        { "UID FETCH 4390:4391 (UID FLAGS RFC822.SIZE BODY.PEEK[])",
          "* 171 FETCH (UID 4390 RFC822.SIZE 42 FLAGS (\\Seen $Forwarded) INTERNALDATE "
          "\"17-Jul-1996 02:44:25 -0700\" ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
          "\"IMAP4rev1 WG \\\"mtg\\\"\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL "
          "NIL "
          "NIL NIL NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY[] {42}\r\n"
          "Subject: first\r\n\r\n* 9 EXISTS\r\na4 OK fake\r\n)\r\n"
          "* 12 FETCH (FLAGS (\\Deleted))\r\n"
          "* 172 FETCH (UID 4391 FLAGS () RFC822.SIZE 20 BODY[] {20}\r\nSubject: "
          "2nd\r\n\r\nok\r\n)\r\n"
          "%T OK Fetch completed (0.002 + 0.000 secs).\r\n" },
        { "UID STORE 4390:4391 +FLAGS (\\Seen)",
          "* 171 FETCH (UID 4390 FLAGS (\\Seen $Forwarded))\r\n* 172 FETCH (UID 4391 FLAGS "
          "(\\Seen))\r\n"
          "%T OK Store completed (0.001 + 0.000 secs).\r\n" },
        { "LOGOUT", "* BYE Logging out\r\n%T OK Logout completed (0.001 + 0.000 secs).\r\n" },
        { NULL, NULL },
    };
    MsImapClient *c = NULL;
    g_autoptr(GString) sent = scripted(&cfg, DOVECOT_GREETING, steps, &f, NULL, &c);
    CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_OK);
    CU_ASSERT_EQUAL(f.done_calls, 1);
    CU_ASSERT_EQUAL(f.got->len, 2);
    if (f.got->len == 2) {
        CU_ASSERT_EQUAL(g_bytes_get_size(g_ptr_array_index(f.got, 0)), 42);
        CU_ASSERT_EQUAL(g_array_index(f.flags, guint, 0), MS_IMAP_FLAG_SEEN);
        CU_ASSERT_EQUAL(g_array_index(f.flags, guint, 1), 0);
        CU_ASSERT_EQUAL(g_array_index(f.uids, guint32, 1), 4391);
    }
    CU_ASSERT_EQUAL(ms_imap_client_uidnext(c), 4392);
    /* no STARTTLS asked: the greeting's list was enough, no CAPABILITY sent */
    CU_ASSERT(strstr(sent->str, "CAPABILITY") == NULL);
    ms_imap_client_free(c);
    fix_clear(&f);
}

/* A copy of a sent message, queued before the greeting arrives. */
static void
queue_sent(MsImapClient *c)
{
    g_autoptr(GBytes) m = g_bytes_new_static("Subject: sent\r\n\r\nx\r\n", 18);
    ms_imap_client_append(c, "Sent", m, MS_IMAP_FLAG_SEEN);
}

static void
test_canned_idle_and_append(void)
{
    Fix f;
    fix_init(&f);
    MsImapClientConfig cfg;
    config(&cfg);
    cfg.idle = TRUE;
    cfg.uidvalidity = 3857529045u;
    cfg.uidnext = 4392;
    /* A greeting without capabilities: the client asks. No SASL-IR. */
    static const Step steps[] = {
        { "CAPABILITY", "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%T OK done\r\n" },
        { "LOGIN \"alice\" \"pw \\\"q\\\"\"", "%T OK LOGIN completed\r\n" },
        { "APPEND Sent (\\Seen) {18}", "%T NO [TRYCREATE] Mailbox doesn't exist: Sent\r\n" },
        { "CREATE Sent", "%T OK Create completed\r\n" },
        { "APPEND Sent (\\Seen) {18}", "+ OK\r\n" },
        { NULL, "%T OK [APPENDUID 38505 3955] APPEND completed\r\n" },
        /* IDLE is not in the pre-login list: the client asks again */
        { "CAPABILITY", "* CAPABILITY IMAP4rev1 IDLE UIDPLUS\r\n%T OK done\r\n" },
        { "SELECT INBOX", RFC_SELECT },
        { "UID SEARCH UID 4392:*", "* SEARCH 4391\r\n%T OK Search completed\r\n" },
        { "IDLE", "+ idling\r\n* 173 EXISTS\r\n* 1 RECENT\r\n" },
        { "DONE", "%T OK Idle completed (0.001 + 30.002 secs).\r\n" },
        { "UID SEARCH UID 4392:*", "* SEARCH 4392\r\n%T OK Search completed\r\n" },
        { "UID FETCH 4392 (UID FLAGS RFC822.SIZE BODY.PEEK[])",
          "* 173 FETCH (UID 4392 FLAGS (\\Recent) BODY[] {2}\r\nhi RFC822.SIZE 2)\r\n"
          "%T OK Fetch completed.\r\n" },
        { "UID STORE 4392 +FLAGS (\\Seen)", "%T OK Store completed.\r\n" },
        { "IDLE", "+ idling\r\n* 3 EXPUNGE\r\n* 172 EXISTS\r\n" },
        { NULL, NULL },
    };
    MsImapClient *c = NULL;
    g_autoptr(GString) sent =
        scripted(&cfg, "* OK IMAP4rev1 Service Ready\r\n", steps, &f, queue_sent, &c);
    CU_ASSERT_EQUAL(f.done_calls, 0);
    CU_ASSERT_EQUAL(f.appended->len, 1);
    CU_ASSERT_STRING_EQUAL(f.appended->len ? (char *) g_ptr_array_index(f.appended, 0) : "",
                           "Sent 3955");
    CU_ASSERT_EQUAL(f.got->len, 1);
    CU_ASSERT_EQUAL(f.idling_calls, 2);
    /* an EXPUNGE then an EXISTS back to the same count: nothing new */
    CU_ASSERT(ms_imap_client_is_idling(c));
    CU_ASSERT(strstr(sent->str, "Subject: sent\r\n\r\nx\r\n") != NULL);
    ms_imap_client_stop(c);
    g_autoptr(GBytes) o = ms_imap_client_take_output(c);
    CU_ASSERT(o && g_bytes_get_size(o) == 6 &&
              memcmp(g_bytes_get_data(o, NULL), "DONE\r\n", 6) == 0);
    const char *end = "a13 OK Idle completed.\r\n";
    ms_imap_client_feed(c, (const guint8 *) end, strlen(end));
    g_autoptr(GBytes) o2 = ms_imap_client_take_output(c);
    g_autofree char *o2s = o2 ? g_strndup(g_bytes_get_data(o2, NULL), g_bytes_get_size(o2)) : NULL;
    CU_ASSERT(o2s && strcmp(o2s, "a14 LOGOUT\r\n") == 0);
    ms_imap_client_eof(c);
    CU_ASSERT_EQUAL(f.result, MS_IMAP_CLIENT_DISCONNECTED);
    ms_imap_client_free(c);
    fix_clear(&f);
}

typedef struct {
    const char *name;
    const char *greeting;
    Step steps[3];
    MsImapClientResult want;
    const char *text; /* part of the done text */
} Hostile;

static void
test_canned_hostile(void)
{
    static const Hostile cases[] = {
        { "BYE greeting",
          "* BYE Too many connections\r\n",
          { { NULL, NULL } },
          MS_IMAP_CLIENT_SERVER_ERROR,
          "Too many" },
        { "tagged greeting",
          "a1 OK hello\r\n",
          { { NULL, NULL } },
          MS_IMAP_CLIENT_PROTOCOL_ERROR,
          "greeting" },
        { "NUL",
          "* OK [CAPABILITY IMAP4rev1] hi\r\n",
          { { "LOGIN", "%T OK\0 yes\r\n" }, { NULL, NULL } },
          MS_IMAP_CLIENT_PROTOCOL_ERROR,
          "NUL" },
        { "foreign tag",
          "* OK [CAPABILITY IMAP4rev1] hi\r\n",
          { { "LOGIN", "zz9 OK Logged in\r\n" }, { NULL, NULL } },
          MS_IMAP_CLIENT_PROTOCOL_ERROR,
          "tagged" },
        { "unasked continuation",
          "* OK [CAPABILITY IMAP4rev1] hi\r\n",
          { { "LOGIN", "+ go on\r\n" }, { NULL, NULL } },
          MS_IMAP_CLIENT_PROTOCOL_ERROR,
          "continuation" },
        { "huge literal",
          "* OK [CAPABILITY IMAP4rev1] hi\r\n",
          { { "LOGIN", "%T OK yes\r\n" },
            { "SELECT", "* 1 EXISTS\r\n* 1 FETCH (BODY[] {99999999999}\r\n" },
            { NULL, NULL } },
          MS_IMAP_CLIENT_PROTOCOL_ERROR,
          "literal" },
        { "malformed FETCH",
          "* OK [CAPABILITY IMAP4rev1] hi\r\n",
          { { "LOGIN", "%T OK yes\r\n" }, { "SELECT", "* 1 FETCH (UID (((\r\n" }, { NULL, NULL } },
          MS_IMAP_CLIENT_PROTOCOL_ERROR,
          "FETCH" },
        { "login refused",
          "* OK [CAPABILITY IMAP4rev1] hi\r\n",
          { { "LOGIN", "%T NO [AUTHENTICATIONFAILED] Authentication failed.\r\n" },
            { "LOGOUT", "* BYE bye\r\n%T OK bye\r\n" },
            { NULL, NULL } },
          MS_IMAP_CLIENT_AUTH_FAILED,
          "Authentication failed." },
        { "BYE midway",
          "* OK [CAPABILITY IMAP4rev1] hi\r\n",
          { { "LOGIN", "%T OK yes\r\n" },
            { "SELECT", "* BYE Server shutting down.\r\n" },
            { NULL, NULL } },
          MS_IMAP_CLIENT_SERVER_ERROR,
          "shutting down" },
        { "STARTTLS missing",
          "* OK [CAPABILITY IMAP4rev1] hi\r\n",
          { { "LOGOUT", "* BYE\r\n%T OK\r\n" }, { NULL, NULL } },
          MS_IMAP_CLIENT_TLS_UNAVAILABLE,
          "STARTTLS" },
        { "SELECT refused",
          "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n",
          { { "SELECT INBOX", "%T NO [NONEXISTENT] no\r\n" },
            { "LOGOUT", "* BYE\r\n%T OK\r\n" },
            { NULL, NULL } },
          MS_IMAP_CLIENT_SERVER_ERROR,
          "no" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const Hostile *h = &cases[i];
        Fix f;
        fix_init(&f);
        MsImapClientConfig cfg;
        config(&cfg);
        if (g_str_has_prefix(h->name, "STARTTLS"))
            cfg.tls_level = MS_IMAP_TLS_ENCRYPT;
        /* The NUL case's reply holds a NUL: feed it by length. */
        MsImapClient *c = NULL;
        if (strcmp(h->name, "NUL") == 0) {
            c = ms_imap_client_new(&cfg, &hooks, &f);
            ms_imap_client_feed(c, (const guint8 *) h->greeting, strlen(h->greeting));
            g_autoptr(GBytes) o = ms_imap_client_take_output(c);
            static const char reply[] = "a1 OK\0 yes\r\n";
            ms_imap_client_feed(c, (const guint8 *) reply, sizeof reply - 1);
        } else {
            g_autoptr(GString) sent = scripted(&cfg, h->greeting, h->steps, &f, NULL, &c);
        }
        if (f.result != h->want || !f.text || !strstr(f.text, h->text))
            fprintf(stderr, "\n--- %s: %s (%s)\n", h->name,
                    ms_imap_client_result_to_string(f.result), f.text ? f.text : "");
        CU_ASSERT_EQUAL(f.done_calls, 1);
        CU_ASSERT_EQUAL(f.result, h->want);
        CU_ASSERT(f.text && strstr(f.text, h->text));
        CU_ASSERT(ms_imap_client_is_closed(c));
        if (h->want == MS_IMAP_CLIENT_TLS_UNAVAILABLE)
            CU_ASSERT(!ms_imap_client_login_sent(c, NULL));
        ms_imap_client_free(c);
        fix_clear(&f);
    }
    /* an overlong line, whole or cut */
    for (guint k = 0; k < 2; k++) {
        Fix f;
        fix_init(&f);
        MsImapClientConfig cfg;
        config(&cfg);
        cfg.max_line = 2000;
        g_autoptr(MsImapClient) c = ms_imap_client_new(&cfg, &hooks, &f);
        g_autofree char *line = g_strnfill(2000, 'x');
        ms_imap_client_feed(c, (const guint8 *) "* OK ", 5);
        ms_imap_client_feed(c, (const guint8 *) line, k ? 1995 : 2000);
        CU_ASSERT_EQUAL(f.result, k ? MS_IMAP_CLIENT_OK : MS_IMAP_CLIENT_PROTOCOL_ERROR);
        CU_ASSERT_EQUAL(f.done_calls, k ? 0 : 1);
        fix_clear(&f);
    }
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "fetch new, byte-exact, any split", test_fetch_any_split },
        { "two devices, flags shared, UIDs remembered", test_two_devices },
        { "APPEND to Sent, CREATE on TRYCREATE", test_append_sent },
        { "IDLE woken by a delivery", test_idle_push },
        { "IDLE renewed (RFC 2177 3)", test_idle_renew },
        { "IDLE renewed every 28 minutes in lesson 19", test_idle_renew_world },
        { "wrong password, AUTHENTICATE PLAIN, STARTTLS, LOGINDISABLED", test_login_variants },
        { "canned Dovecot session", test_canned_dovecot },
        { "canned IDLE and APPEND", test_canned_idle_and_append },
        { "canned hostile servers", test_canned_hostile },
        { NULL, NULL },
    };
    return ms_test_main("imap_client", cases);
}

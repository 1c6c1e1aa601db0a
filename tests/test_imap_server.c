/* Tests of the IMAP server core with its mailboxes over a real mail store
 * (sim/mail/mail_imap.c): each command's replies, literals synchronising
 * and LITERAL+, FETCH of every supported item, STORE, SEARCH, EXPUNGE seen
 * by the store (so by POP3), folders, IDLE waking on delivery, STARTTLS
 * and LOGINDISABLED, and hostile input: huge and unterminated literals,
 * deep nesting, overlong lines, bad sequence sets, invalid modified UTF-7.
 * Every session is also fed octet by octet and must answer the same. */
#include "imap_testkit.h"
#include "mailsim/imap_server.h"
#include "mailsim/mail_imap.h"

#include <string.h>

static const char *const texts[] = {
    "Return-Path: <bob@example.org>\r\nFrom: Bob <bob@example.org>\r\nTo: alice@example.com\r\n"
    "Subject: hello\r\nMessage-ID: <1@example.org>\r\n\r\nHi Alice\r\n",
    "From: carol@example.net\r\nSubject: meeting\r\n\r\nline1\r\nline2\r\n",
    "From: \"Dave, D.\" <dave@example.com>\r\nSubject: lunch\r\nContent-Type: text/plain; "
    "charset=utf-8\r\n\r\nsoon\r\n",
};

typedef ImapBox Box;

static Box *
box_new(void)
{
    return imap_box_new(texts, G_N_ELEMENTS(texts));
}

static void
config(MsImapServerConfig *cfg, gboolean plaintext_ok)
{
    ms_imap_server_config_init(cfg);
    cfg->hostname = "mx.example.com";
    cfg->offer_starttls = TRUE;
    cfg->auth_requires_tls = !plaintext_ok;
    cfg->max_literal = 4096;
}

static MsImapServer *
server_new(Box *b, gboolean plaintext_ok)
{
    MsImapServerConfig cfg;
    config(&cfg, plaintext_ok);
    return ms_imap_server_new(&cfg, ms_mail_imap_hooks(), b->imap);
}

/* Runs `input` on a fresh server over `b`, fed in pieces of `chunk` octets
 * (0: whole); returns everything after the greeting. */
static GString *
run_on(Box *b, const char *input, gsize chunk, gboolean plaintext_ok, gboolean *closed)
{
    MsImapServerConfig cfg;
    config(&cfg, plaintext_ok);
    return imap_run_on(b, &cfg, input, chunk, closed);
}

/* run_on() whole and octet by octet, checking both answer the same. */
static GString *
run(const char *input)
{
    MsImapServerConfig cfg;
    config(&cfg, TRUE);
    return imap_run_both(texts, G_N_ELEMENTS(texts), &cfg, input);
}

/* What CAPABILITY lists in every state, before the state's own items. */
#define CAPS                                                                                       \
    "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ENABLE IDLE NAMESPACE UNSELECT MOVE UIDPLUS ESEARCH "    \
    "SEARCHRES "                                                                                   \
    "LIST-EXTENDED LIST-STATUS SPECIAL-USE BINARY"

/* ---- tests ------------------------------------------------------------ */

static void
test_greeting_capability(void)
{
    Box *b = box_new();
    g_autoptr(MsImapServer) srv = server_new(b, FALSE);
    g_autoptr(GString) out = g_string_new(NULL);
    ms_imap_server_start(srv);
    imap_drain(srv, out);
    CU_ASSERT_STRING_EQUAL(out->str,
                           "* OK [CAPABILITY " CAPS " STARTTLS LOGINDISABLED] mx.example.com IMAP "
                           "server ready.\r\n");
    imap_box_free(b);

    g_autoptr(GString) o2 = run("a CAPABILITY\r\nb NOOP\r\nc LOGOUT\r\nd NOOP\r\n");
    CU_ASSERT_STRING_EQUAL(o2->str, "* CAPABILITY " CAPS " STARTTLS AUTH=PLAIN\r\n"
                                    "a OK Capability completed.\r\n"
                                    "b OK NOOP completed.\r\n"
                                    "* BYE Logging out\r\n"
                                    "c OK Logout completed.\r\n");
}

static void
test_login_and_authenticate(void)
{
    g_autoptr(GString) o = run("a LOGIN alice wrong\r\nb LOGIN \"alice\" {2+}\r\npw\r\n"
                               "c LOGIN alice pw\r\n");
    CU_ASSERT(imap_has(o, "a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"));
    CU_ASSERT(imap_has(o, "b OK [CAPABILITY " CAPS "] Logged in\r\n"));
    CU_ASSERT(imap_has(o, "c BAD LOGIN not valid in this state.\r\n"));

    /* AUTHENTICATE PLAIN: initial response (RFC 4959), continuation, cancel. */
    g_autofree char *ok = g_base64_encode((const guchar *) "\0alice\0pw", 9);
    g_autofree char *other = g_base64_encode((const guchar *) "bob\0alice\0pw", 12);
    g_autofree char *in = g_strdup_printf("a AUTHENTICATE PLAIN\r\n*\r\n"
                                          "b AUTHENTICATE PLAIN %s\r\n"
                                          "c AUTHENTICATE PLAIN\r\n%s\r\n"
                                          "d AUTHENTICATE CRAM-MD5\r\n"
                                          "e AUTHENTICATE PLAIN\r\n%s\r\n",
                                          other, ok, ok);
    g_autoptr(GString) o2 = run(in);
    CU_ASSERT(g_str_has_prefix(o2->str, "+ \r\na BAD Authentication aborted by client.\r\n"));
    CU_ASSERT(imap_has(o2, "b NO [AUTHORIZATIONFAILED]"));
    CU_ASSERT(imap_has(o2, "+ \r\nc OK [CAPABILITY"));
    CU_ASSERT(imap_has(o2, "d BAD AUTHENTICATE not valid in this state."));

    /* Three failures end the session. */
    gboolean closed = FALSE;
    Box *b = box_new();
    g_autoptr(GString) o3 =
        run_on(b, "a LOGIN alice x\r\nb LOGIN alice y\r\nc LOGIN alice z\r\nd LOGIN alice pw\r\n",
               0, TRUE, &closed);
    CU_ASSERT(closed);
    CU_ASSERT(imap_has(o3, "c NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
                      "* BYE Too many failed logins.\r\n"));
    CU_ASSERT(strstr(o3->str, "\r\nd ") == NULL);
    imap_box_free(b);
}

static void
test_select_examine(void)
{
    g_autoptr(GString) o = run(SELECT "c EXAMINE INBOX\r\nd SELECT Nope\r\ne NOOP\r\n");
    CU_ASSERT(imap_has(o,
                       "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                       "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
                       "Flags permitted.\r\n"
                       "* 3 EXISTS\r\n"
                       "* 0 RECENT\r\n"
                       "* OK [UNSEEN 1] First unseen.\r\n"
                       "* OK [UIDVALIDITY 1000] UIDs valid\r\n"
                       "* OK [UIDNEXT 4] Predicted next UID\r\n"
                       "b OK [READ-WRITE] SELECT completed.\r\n"));
    CU_ASSERT(imap_has(o, "* OK [CLOSED] Previous mailbox closed.\r\n"));
    CU_ASSERT(imap_has(o, "* OK [PERMANENTFLAGS ()] Flags permitted.\r\n"));
    CU_ASSERT(imap_has(o, "c OK [READ-ONLY] EXAMINE completed.\r\n"));
    CU_ASSERT(imap_has(o, "d NO [NONEXISTENT] Mailbox doesn't exist.\r\n"));
    /* A failed SELECT leaves no mailbox selected (RFC 9051 6.3.2). */
    CU_ASSERT(imap_has(o, "e OK NOOP completed.\r\n"));
    g_autoptr(GString) o2 = run(LOGIN "b FETCH 1 FLAGS\r\nc select inbox\r\n");
    CU_ASSERT(imap_has(o2, "b BAD FETCH not valid in this state.\r\n"));
    CU_ASSERT(imap_has(o2, "c OK [READ-WRITE] SELECT completed."));
}

static void
test_fetch_items(void)
{
    g_autoptr(GString) o = run(SELECT "c FETCH 1 (FLAGS UID RFC822.SIZE INTERNALDATE)\r\n"
                                      "d FETCH 2 BODY.PEEK[HEADER]\r\n"
                                      "e FETCH 2 BODY.PEEK[TEXT]<2.3>\r\n"
                                      "f FETCH 1 ENVELOPE\r\n"
                                      "g FETCH 3 BODYSTRUCTURE\r\n"
                                      "h FETCH 2 BODY[]\r\n"
                                      "i FETCH 2 FLAGS\r\n"
                                      "j UID FETCH 3 BODY.PEEK[HEADER.FIELDS (subject)]\r\n"
                                      "k FETCH 1:* FAST\r\n"
                                      "l FETCH 2 RFC822.HEADER\r\n"
                                      "m FETCH 1 BODY.PEEK[]<200.10>\r\n");
    CU_ASSERT(imap_has(o, "* 1 FETCH (FLAGS () UID 1 RFC822.SIZE 141 INTERNALDATE \"07-Dec-2026 "
                     "00:00:01 +0000\")\r\nc OK Fetch completed.\r\n"));
    CU_ASSERT(imap_has(o, "* 2 FETCH (BODY[HEADER] {45}\r\nFrom: carol@example.net\r\nSubject: "
                     "meeting\r\n\r\n)\r\nd OK"));
    CU_ASSERT(imap_has(o, "* 2 FETCH (BODY[TEXT]<2> {3}\r\nne1)\r\ne OK"));
    CU_ASSERT(imap_has(o, "* 1 FETCH (ENVELOPE (NIL \"hello\" ((\"Bob\" NIL \"bob\" \"example.org\")) "
                     "((\"Bob\" NIL \"bob\" \"example.org\")) ((\"Bob\" NIL \"bob\" "
                     "\"example.org\")) ((NIL NIL \"alice\" \"example.com\")) NIL NIL NIL "
                     "\"<1@example.org>\"))\r\nf OK"));
    CU_ASSERT(imap_has(o, "* 3 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL "
                     "NIL \"7BIT\" 6 1 NIL NIL NIL NIL))\r\ng OK"));
    /* BODY[] sets \Seen and says so (RFC 9051 6.4.5). */
    CU_ASSERT(imap_has(o, "* 2 FETCH (BODY[] {59}\r\nFrom: carol@example.net\r\nSubject: "
                     "meeting\r\n\r\nline1\r\nline2\r\n FLAGS (\\Seen))\r\nh OK"));
    CU_ASSERT(imap_has(o, "* 2 FETCH (FLAGS (\\Seen))\r\ni OK"));
    CU_ASSERT(imap_has(o, "* 3 FETCH (UID 3 BODY[HEADER.FIELDS (subject)] {18}\r\nSubject: "
                     "lunch\r\n\r\n)\r\nj OK"));
    CU_ASSERT(imap_has(o, "* 3 FETCH (FLAGS () INTERNALDATE \"07-Dec-2026 00:00:03 +0000\" "
                     "RFC822.SIZE 102)\r\nk OK"));
    CU_ASSERT(imap_has(o, "* 2 FETCH (RFC822.HEADER {45}\r\n"));
    CU_ASSERT(imap_has(o, "* 1 FETCH (BODY[]<200> {0}\r\n)\r\nm OK"));
    /* The sizes are the store's, which POP3 reports too. */
    Box *b = box_new();
    GPtrArray *msgs = ms_mail_store_messages(b->store, "alice");
    CU_ASSERT_EQUAL(g_bytes_get_size(((MsStoredMessage *) g_ptr_array_index(msgs, 0))->data), 141);
    imap_box_free(b);
}

static void
test_bodystructure_multipart(void)
{
    const char *msg = "From: a@b.c\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
                      "preamble\r\n--xx\r\nContent-Type: text/plain\r\n\r\nhi\r\n--xx\r\n"
                      "Content-Type: application/pdf; name=a.pdf\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--xx--\r\n";
    g_autofree char *in =
        g_strdup_printf(LOGIN "b APPEND INBOX {%zu+}\r\n%s\r\n"
                              "c SELECT INBOX\r\nd FETCH 4 (BODY BODYSTRUCTURE)\r\n",
                        strlen(msg), msg);
    g_autoptr(GString) o = run(in);
    /* The CRLF before a boundary belongs to it (RFC 2046 5.1.1): "hi" is 2
     * octets and 0 lines. */
    CU_ASSERT(imap_has(o, "* 4 FETCH (BODY ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 2 0)"
                     "(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 4) "
                     "\"MIXED\") BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 2 0 NIL "
                     "NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL "
                     "\"BASE64\" 4 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"xx\") NIL NIL "
                     "NIL))\r\n"));
}

static void
test_store_search_expunge(void)
{
    Box *b = box_new();
    g_autoptr(GString) o = run_on(b,
                                  SELECT "c STORE 1 +FLAGS (\\Seen \\Flagged)\r\n"
                                         "d STORE 2 +FLAGS.SILENT \\Deleted\r\n"
                                         "e UID STORE 1 -FLAGS (\\Flagged)\r\n"
                                         "f SEARCH UNSEEN\r\n"
                                         "g SEARCH SEEN\r\n"
                                         "h UID SEARCH FROM carol\r\n"
                                         "i SEARCH SUBJECT LUNCH NOT DELETED\r\n"
                                         "j SEARCH UID 2:3 OR SEEN DELETED\r\n"
                                         "k SEARCH CHARSET UTF-8 ALL\r\n"
                                         "l SEARCH BEFORE 1-Jan-2020\r\nl2 SEARCH NEW\r\n"
                                         "m STORE 1 FLAGS (\\Recent)\r\n"
                                         "n EXPUNGE\r\n"
                                         "o FETCH 1:* UID\r\n",
                                  0, TRUE, NULL);
    CU_ASSERT(imap_has(o, "* 1 FETCH (FLAGS (\\Seen \\Flagged))\r\nc OK Store completed.\r\n"
                     "d OK Store completed.\r\n"
                     "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\ne OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 2 3\r\nf OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1\r\ng OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 2\r\nh OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 3\r\ni OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 2\r\nj OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 2 3\r\nk OK"));
    CU_ASSERT(imap_has(o, "* SEARCH\r\nl OK"));
    CU_ASSERT(imap_has(o, "l2 BAD Error in IMAP command SEARCH: unsupported or invalid search key."));
    CU_ASSERT(imap_has(o, "m BAD Invalid flags in STORE."));
    CU_ASSERT(imap_has(o, "* 2 EXPUNGE\r\nn OK Expunge completed.\r\n"));
    CU_ASSERT(imap_has(o, "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 3)\r\no OK"));
    /* EXPUNGE removed it from the store: POP3 no longer lists it. */
    CU_ASSERT_EQUAL(ms_mail_store_messages(b->store, "alice")->len, 2);
    imap_box_free(b);
}

static void
test_close_unselect_readonly(void)
{
    Box *b = box_new();
    g_autoptr(GString) o = run_on(b,
                                  SELECT "c STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n"
                                         "d UNSELECT\r\ne EXAMINE INBOX\r\n"
                                         "f STORE 1 +FLAGS (\\Seen)\r\ng EXPUNGE\r\n"
                                         "h FETCH 3 BODY[]\r\ni CLOSE\r\nj SELECT INBOX\r\n"
                                         "k CLOSE\r\nl SELECT INBOX\r\n",
                                  0, TRUE, NULL);
    CU_ASSERT(imap_has(o, "d OK Unselect completed.\r\n"));
    CU_ASSERT(imap_has(o, "f NO [READ-ONLY] Mailbox is read-only.\r\n"));
    CU_ASSERT(imap_has(o, "g NO [READ-ONLY] Mailbox is read-only.\r\n"));
    /* No implicit \Seen in a read-only mailbox. */
    CU_ASSERT(imap_has(o, "utf-8\r\n\r\nsoon\r\n)\r\nh OK"));
    CU_ASSERT(imap_has(o, "i OK Close completed.\r\n"));
    /* CLOSE expunged silently: one message left. */
    CU_ASSERT(imap_has(o, "k OK Close completed.\r\n* FLAGS"));
    CU_ASSERT(imap_has(o, "* 1 EXISTS\r\n"));
    CU_ASSERT(strstr(o->str, "EXPUNGE\r\n") == NULL);
    CU_ASSERT_EQUAL(ms_mail_store_messages(b->store, "alice")->len, 1);
    imap_box_free(b);
}

static void
test_folders_append_copy(void)
{
    const char *in = LOGIN "b CREATE Archive\r\nc CREATE Archive/2026\r\nd CREATE Archive\r\n"
                           "e LIST \"\" *\r\nf LIST \"\" %\r\ng LIST \"\" \"\"\r\n"
                           "h APPEND Archive (\\Seen) \"07-Dec-2026 10:00:00 +0100\" {6}\r\n"
                           "hello\n\r\n"
                           "i STATUS Archive (MESSAGES UIDNEXT UNSEEN SIZE)\r\n"
                           "j SELECT INBOX\r\nk COPY 1:2 Archive\r\nl MOVE 3 Archive/2026\r\n"
                           "m RENAME Archive/2026 Old\r\nn DELETE Archive\r\nn2 DELETE INBOX\r\n"
                           "n3 SUBSCRIBE Old\r\no LSUB \"\" *\r\np STATUS Archive (MESSAGES)\r\n"
                           "q APPEND Nope {1+}\r\nx\r\nr NAMESPACE\r\ns ENABLE IMAP4rev2\r\n"
                           "t EXAMINE Old\r\nu FETCH 1 (UID INTERNALDATE FLAGS)\r\n";
    g_autoptr(GString) o = run(in);
    CU_ASSERT(imap_has(o, "b OK Create completed.\r\nc OK Create completed.\r\n"
                     "d NO [ALREADYEXISTS] Mailbox already exists.\r\n"
                     "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
                     "* LIST (\\HasChildren) \"/\" \"Archive\"\r\n"
                     "* LIST (\\HasNoChildren) \"/\" \"Archive/2026\"\r\ne OK LIST completed.\r\n"
                     "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
                     "* LIST (\\HasChildren) \"/\" \"Archive\"\r\nf OK LIST completed.\r\n"
                     "* LIST (\\Noselect) \"/\" \"\"\r\ng OK LIST completed.\r\n"
                     "+ Ready for literal data\r\n"
                     "h OK [APPENDUID 1001 1] Append completed.\r\n"
                     "* STATUS \"Archive\" (MESSAGES 1 UIDNEXT 2 UNSEEN 0 SIZE 6)\r\n"));
    CU_ASSERT(imap_has(o, "k OK [COPYUID 1001 1:2 2:3] Copy completed.\r\n"));
    CU_ASSERT(imap_has(o, "* OK [COPYUID 1002 3 1] Moved UIDs.\r\n* 3 EXPUNGE\r\nl OK Move "
                     "completed.\r\n"));
    CU_ASSERT(imap_has(o, "m OK Rename completed.\r\nn OK Delete completed.\r\n"
                     "n2 NO [CANNOT] INBOX can't be deleted.\r\n"));
    CU_ASSERT(imap_has(o, "n3 OK Subscribe completed.\r\n"
                          "* LSUB () \"/\" \"Old\"\r\no OK LSUB completed.\r\n"));
    CU_ASSERT(imap_has(o, "p NO [NONEXISTENT] Mailbox doesn't exist.\r\n"));
    CU_ASSERT(imap_has(o, "q NO [TRYCREATE] Mailbox doesn't exist.\r\n"));
    CU_ASSERT(imap_has(o, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nr OK"));
    CU_ASSERT(imap_has(o, "* ENABLED IMAP4rev2\r\ns OK Enabled.\r\n"));
    CU_ASSERT(imap_has(o, "* 1 FETCH (UID 1 INTERNALDATE \"07-Dec-2026 00:00:03 +0000\" FLAGS "
                     "())\r\nu OK"));
}

static void
test_idle_and_noop_see_delivery(void)
{
    Box *b = box_new();
    g_autoptr(MsImapServer) srv = server_new(b, TRUE);
    g_autoptr(GString) out = g_string_new(NULL);
    ms_imap_server_start(srv);
    imap_send(srv, out, SELECT "c IDLE\r\n");
    CU_ASSERT(g_str_has_suffix(out->str, "b OK [READ-WRITE] SELECT completed.\r\n+ idling\r\n"));
    CU_ASSERT(ms_imap_server_is_idling(srv));
    guint64 stamp = ms_mail_imap_stamp(b->imap, "alice");
    g_autoptr(GBytes) d = g_bytes_new_static("Subject: new\r\n\r\nx\r\n", 19);
    ms_mail_store_deliver(b->store, "alice", d, 0, 9 * MS_TIME_S);
    CU_ASSERT(ms_mail_imap_stamp(b->imap, "alice") != stamp);
    g_string_truncate(out, 0);
    ms_imap_server_refresh(srv);
    imap_drain(srv, out);
    CU_ASSERT_STRING_EQUAL(out->str, "* 4 EXISTS\r\n");
    /* Deleted through POP3 meanwhile: told as EXPUNGE. */
    ms_mail_store_delete(b->store, "alice", "alice.1");
    g_string_truncate(out, 0);
    ms_imap_server_refresh(srv);
    imap_drain(srv, out);
    CU_ASSERT_STRING_EQUAL(out->str, "* 1 EXPUNGE\r\n* 3 EXISTS\r\n");
    g_string_truncate(out, 0);
    imap_send(srv, out, "DONE\r\nd NOOP\r\ne IDLE\r\nnope\r\n");
    CU_ASSERT_STRING_EQUAL(out->str, "c OK Idle completed.\r\nd OK NOOP completed.\r\n"
                                     "+ idling\r\ne BAD Expected DONE.\r\n");
    /* Outside IDLE a refresh waits for NOOP. */
    ms_mail_store_deliver(b->store, "alice", d, 0, 10 * MS_TIME_S);
    ms_imap_server_refresh(srv);
    g_string_truncate(out, 0);
    imap_drain(srv, out);
    CU_ASSERT_STRING_EQUAL(out->str, "");
    imap_send(srv, out, "f NOOP\r\n");
    CU_ASSERT_STRING_EQUAL(out->str, "* 4 EXISTS\r\nf OK NOOP completed.\r\n");
    g_clear_pointer(&srv, ms_imap_server_free);
    imap_box_free(b);
}

static void
test_literals(void)
{
    /* Synchronising literal: "+" first, then the octets; LITERAL+ without. */
    g_autoptr(GString) o = run("a LOGIN {5}\r\nalice {2}\r\npw\r\n"
                               "b SELECT {5+}\r\nINBOX\r\n");
    CU_ASSERT(g_str_has_prefix(o->str, "+ Ready for literal data\r\n+ Ready for literal "
                                       "data\r\na OK [CAPABILITY"));
    CU_ASSERT(imap_has(o, "b OK [READ-WRITE]"));
    /* A literal holding CRLF and parentheses is data, not syntax. */
    g_autoptr(GString) o2 = run(LOGIN "b CREATE {6+}\r\n(()\r\n)\r\n");
    CU_ASSERT(imap_has(o2, "b NO [CANNOT] Invalid mailbox name.\r\n"));
}

static void
test_huge_and_unterminated_literals(void)
{
    /* Too big, synchronising: NO before a single octet is read, no "+". */
    gboolean closed = TRUE;
    Box *b = box_new();
    g_autoptr(GString) o =
        run_on(b, LOGIN "b APPEND INBOX {999999999}\r\nc NOOP\r\n", 0, TRUE, &closed);
    CU_ASSERT(imap_has(o, "b NO [TOOBIG] Literal too large.\r\nc OK NOOP completed.\r\n"));
    CU_ASSERT(strstr(o->str, "+ Ready") == NULL);
    CU_ASSERT(!closed);
    /* Bigger than a line in a command other than APPEND. */
    g_autoptr(GString) o1 = run_on(b, "a LOGIN alice {70000}\r\nb NOOP\r\n", 0, TRUE, &closed);
    CU_ASSERT(imap_has(o1, "a NO [TOOBIG] Literal too large.\r\nb OK"));
    /* Too big, LITERAL+: the octets are coming, so the session ends. */
    g_autoptr(GString) o2 =
        run_on(b, LOGIN "b APPEND INBOX {5000+}\r\nxxxx\r\nc NOOP\r\n", 0, TRUE, &closed);
    CU_ASSERT(imap_has(o2, "* BYE [TOOBIG] Literal too large.\r\n"));
    CU_ASSERT(strstr(o2->str, "c OK") == NULL);
    CU_ASSERT(closed);
    /* Unterminated: the server waits for the rest, answering nothing. */
    g_autoptr(GString) o3 =
        run_on(b, LOGIN "b APPEND INBOX {100+}\r\nonly a little", 0, TRUE, &closed);
    CU_ASSERT(g_str_has_suffix(o3->str, "Logged in\r\n"));
    CU_ASSERT(!closed);
    /* An 18446744073709551615-octet literal is refused, not overflowed. */
    g_autoptr(GString) o4 =
        run_on(b, LOGIN "b APPEND INBOX {99999999999999999999999}\r\n", 0, TRUE, &closed);
    CU_ASSERT(imap_has(o4, "b NO [TOOBIG]"));
    imap_box_free(b);
}

static void
test_bad_input(void)
{
    GString *deep = g_string_new(SELECT "c SEARCH ");
    for (int i = 0; i < 40; i++)
        g_string_append_c(deep, '(');
    g_string_append(deep, "ALL");
    for (int i = 0; i < 40; i++)
        g_string_append_c(deep, ')');
    g_string_append(deep, "\r\nd SEARCH ((((ALL))))\r\n");
    g_autoptr(GString) o = run(deep->str);
    g_string_free(deep, TRUE);
    CU_ASSERT(imap_has(o, "c BAD Error in IMAP command: too deeply nested.\r\n"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 2 3\r\nd OK"));

    /* Overlong line: BAD [TOOBIG], then the session goes on. */
    GString *lng = g_string_new("a NOOP ");
    for (int i = 0; i < MS_IMAP_SERVER_LINE_MAX + 10; i++)
        g_string_append_c(lng, 'x');
    g_string_append(lng, "\r\nb NOOP\r\n");
    g_autoptr(GString) o2 = run(lng->str);
    g_string_free(lng, TRUE);
    CU_ASSERT_STRING_EQUAL(o2->str, "* BAD [TOOBIG] Line too long.\r\nb OK NOOP completed.\r\n");

    /* A line of exactly the limit is no overlong line, whether its CR and
     * LF arrive with it or one octet at a time (run() checks both). */
    GString *edge = g_string_new("a NOOP");
    while (edge->len < MS_IMAP_SERVER_LINE_MAX)
        g_string_append_c(edge, ' ');
    g_string_append(edge, "\r\nb NOOP\r\n");
    g_autoptr(GString) o2b = run(edge->str);
    g_string_free(edge, TRUE);
    CU_ASSERT(!imap_has(o2b, "TOOBIG"));
    CU_ASSERT(imap_has(o2b, "b OK NOOP completed.\r\n"));

    /* Sequence sets: past the end, zero, "*" in an empty box, garbage;
     * UIDs past the end are no error (RFC 9051 6.4.9). */
    g_autoptr(GString) o3 = run(SELECT "c FETCH 4 FLAGS\r\nd FETCH 0 FLAGS\r\ne FETCH 1:x FLAGS\r\n"
                                       "f UID FETCH 99 FLAGS\r\ng FETCH 2:* UID\r\n"
                                       "h FETCH 1,,2 UID\r\ni STORE 5 +FLAGS \\Seen\r\n"
                                       "j UID FETCH 3:* UID\r\nk FETCH 1 (UID\r\n"
                                       "l FETCH 1 BODY[1.]\r\nm FETCH 1 BODY[0]\r\n"
                                       "n FETCH 1 BINARY[1.TEXT]\r\n");
    CU_ASSERT(imap_has(o3, "c BAD Error in IMAP command: Invalid messageset"));
    CU_ASSERT(imap_has(o3, "d BAD Invalid sequence set.\r\n"));
    CU_ASSERT(imap_has(o3, "e BAD Invalid sequence set.\r\n"));
    CU_ASSERT(imap_has(o3, "f OK Fetch completed.\r\n"));
    CU_ASSERT(imap_has(o3, "* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\ng OK"));
    CU_ASSERT(imap_has(o3, "h BAD Invalid sequence set.\r\n"));
    CU_ASSERT(imap_has(o3, "i BAD Error in IMAP command: Invalid messageset"));
    CU_ASSERT(imap_has(o3, "* 3 FETCH (UID 3)\r\nj OK"));
    CU_ASSERT(imap_has(o3, "k BAD Error in IMAP command FETCH: syntax error.\r\n"));
    CU_ASSERT(imap_has(o3, "l BAD Error in IMAP command FETCH: syntax error.\r\n"));
    CU_ASSERT(imap_has(o3, "m BAD Error in IMAP command FETCH: syntax error.\r\n"));
    CU_ASSERT(imap_has(o3, "n BAD Error in IMAP command FETCH: syntax error.\r\n"));

    /* Modified UTF-7 names (RFC 3501 5.1.3). */
    g_autoptr(GString) o4 = run(LOGIN "b CREATE &AOk-t&AOk-\r\nc CREATE &AOk\r\n"
                                      "d CREATE &AGE-\r\ne CREATE &Jjo!\r\nf CREATE caf\xc3\xa9\r\n"
                                      "g CREATE a&-b\r\nh CREATE a//b\r\ni CREATE &2D3cAA-\r\n"
                                      "j CREATE &2D3-\r\nk CREATE &AOQ-&APY-\r\n"
                                      "l CREATE &AAE-\r\nm CREATE &AOR-\r\nn CREATE &AOQ\r\n");
    CU_ASSERT(imap_has(o4, "b OK Create completed.\r\n"));
    CU_ASSERT(imap_has(o4, "c NO [CANNOT] Invalid mailbox name.\r\n"));
    CU_ASSERT(imap_has(o4, "d NO [CANNOT] Invalid mailbox name.\r\n")); /* encodes "a" */
    CU_ASSERT(imap_has(o4, "e NO [CANNOT] Invalid mailbox name.\r\n"));
    CU_ASSERT(imap_has(o4, "f BAD"));
    CU_ASSERT(imap_has(o4, "g OK Create completed.\r\n"));
    CU_ASSERT(imap_has(o4, "h NO [CANNOT] Invalid mailbox name.\r\n"));
    CU_ASSERT(imap_has(o4, "i OK Create completed.\r\n"));              /* a surrogate pair */
    CU_ASSERT(imap_has(o4, "j NO [CANNOT] Invalid mailbox name.\r\n")); /* a lone surrogate */
    /* One spelling per name: adjacent base64 runs, padding bits not zero
     * and a run without its "-" are refused; so is an encoded control. */
    CU_ASSERT(imap_has(o4, "k NO [CANNOT] Invalid mailbox name.\r\n"));
    CU_ASSERT(imap_has(o4, "l NO [CANNOT] Mailbox name holds a control character.\r\n"));
    CU_ASSERT(imap_has(o4, "m NO [CANNOT] Invalid mailbox name.\r\n"));
    CU_ASSERT(imap_has(o4, "n NO [CANNOT] Invalid mailbox name.\r\n"));

    /* Unknown commands, no tag, NUL, UID with a non-UID command. */
    g_autoptr(GString) o5 = run("a FROB\r\n\r\n+x NOOP\r\nb NO\x01OP\r\nc UID NOOP\r\n");
    CU_ASSERT_STRING_EQUAL(o5->str, "a BAD Unknown command .\r\n"
                                    "* BAD Error in IMAP command received by server.\r\n"
                                    "b BAD Unknown command .\r\n"
                                    "c BAD Unknown command UID NOOP.\r\n");
    /* Ten BADs in a row end the session. */
    gboolean closed = FALSE;
    Box *b = box_new();
    GString *many = g_string_new(NULL);
    for (int i = 0; i < 12; i++)
        g_string_append_printf(many, "t%d FROB\r\n", i);
    g_autoptr(GString) o6 = run_on(b, many->str, 0, TRUE, &closed);
    g_string_free(many, TRUE);
    CU_ASSERT(closed);
    CU_ASSERT(imap_has(o6, "t9 BAD Unknown command .\r\n* BYE Too many invalid IMAP commands.\r\n"));
    CU_ASSERT(strstr(o6->str, "t10") == NULL);
    imap_box_free(b);
}

static void
test_starttls(void)
{
    Box *b = box_new();
    g_autoptr(MsImapServer) srv = server_new(b, FALSE);
    g_autoptr(GString) out = g_string_new(NULL);
    imap_open(srv, out);
    const char *in = "a LOGIN alice pw\r\nb AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n"
                     "c STARTTLS\r\nd LOGIN alice pw\r\n";
    ms_imap_server_feed(srv, (const guint8 *) in, strlen(in));
    ms_imap_server_feed(srv, (const guint8 *) "e LOGIN alice pw\r\n", 18);
    imap_drain(srv, out);
    CU_ASSERT_STRING_EQUAL(out->str, "a NO [PRIVACYREQUIRED] Plaintext authentication "
                                     "disallowed on non-secure (SSL/TLS) connections.\r\n"
                                     "b NO [PRIVACYREQUIRED] Plaintext authentication "
                                     "disallowed on non-secure (SSL/TLS) connections.\r\n"
                                     "c OK Begin TLS negotiation now.\r\n");
    CU_ASSERT(ms_imap_server_wants_tls(srv));
    ms_imap_server_tls_started(srv);
    CU_ASSERT(ms_imap_server_is_tls(srv));
    g_string_truncate(out, 0);
    /* The injected d and e were dropped: nothing answers them. */
    imap_send(srv, out, "f CAPABILITY\r\ng STARTTLS\r\nh LOGIN alice pw\r\n");
    CU_ASSERT_STRING_EQUAL(out->str, "* CAPABILITY " CAPS " AUTH=PLAIN\r\n"
                                     "f OK Capability completed.\r\n"
                                     "g BAD TLS is already active.\r\n"
                                     "h OK [CAPABILITY " CAPS "] Logged in\r\n");
    g_clear_pointer(&srv, ms_imap_server_free);

    /* A failed handshake closes the session. */
    srv = server_new(b, FALSE);
    ms_imap_server_start(srv);
    imap_send(srv, out, "a STARTTLS\r\n");
    ms_imap_server_tls_failed(srv);
    CU_ASSERT(ms_imap_server_is_closed(srv));
    g_clear_pointer(&srv, ms_imap_server_free);
    imap_box_free(b);
}

static void
test_split_invariance(void)
{
    const char *in = SELECT "c FETCH 1:* (UID FLAGS BODY.PEEK[] ENVELOPE BODYSTRUCTURE)\r\n"
                            "d APPEND INBOX {5}\r\nabcde\r\ne STORE 1:2 +FLAGS (\\Deleted)\r\n"
                            "f SEARCH DELETED\r\ng EXPUNGE\r\nh LOGOUT\r\n";
    Box *b0 = box_new();
    g_autoptr(GString) whole = run_on(b0, in, 0, TRUE, NULL);
    imap_box_free(b0);
    guint64 seed = 12345;
    for (int round = 0; round < 20; round++) {
        Box *b = box_new();
        g_autoptr(MsImapServer) srv = server_new(b, TRUE);
        g_autoptr(GString) out = g_string_new(NULL);
        imap_open(srv, out);
        gsize len = strlen(in);
        for (gsize i = 0; i < len;) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            gsize n = MIN(len - i, 1 + (gsize) ((seed >> 33) % 23));
            ms_imap_server_feed(srv, (const guint8 *) in + i, n);
            imap_drain(srv, out);
            i += n;
        }
        CU_ASSERT_STRING_EQUAL(out->str, whole->str);
        g_clear_pointer(&srv, ms_imap_server_free);
        imap_box_free(b);
    }
    CU_ASSERT(imap_has(whole, "* SEARCH 1 2\r\nf OK"));
    CU_ASSERT(imap_has(whole, "* 2 EXPUNGE\r\n* 1 EXPUNGE\r\ng OK"));
}

static void
trace_cb(gpointer ud, gboolean from_client, const char *line)
{
    GPtrArray *t = ud;
    g_ptr_array_add(t, g_strdup_printf("%s %s", from_client ? "C:" : "S:", line));
}

static void
test_trace(void)
{
    Box *b = box_new();
    g_autoptr(GPtrArray) t = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(MsImapServer) srv = server_new(b, TRUE);
    ms_imap_server_set_trace(srv, trace_cb, t);
    g_autoptr(GString) out = g_string_new(NULL);
    ms_imap_server_start(srv);
    const char *in = "a LOGIN alice pw\r\nb SELECT INBOX\r\nc FETCH 2 BODY.PEEK[TEXT]\r\n"
                     "d APPEND INBOX {3}\r\nxyz\r\n";
    ms_imap_server_feed(srv, (const guint8 *) in, strlen(in));
    imap_drain(srv, out);
    g_autofree char *all = NULL;
    g_ptr_array_add(t, NULL);
    all = g_strjoinv("\n", (char **) t->pdata);
    CU_ASSERT(strstr(all, "C: a LOGIN ****\n") != NULL);
    CU_ASSERT(strstr(all, "pw") == NULL);
    CU_ASSERT(strstr(all, "S: * 2 FETCH (BODY[TEXT] {14}[14 octets])\n") != NULL);
    CU_ASSERT(strstr(all, "C: d APPEND INBOX {3}[3 octets]\n") != NULL);
    CU_ASSERT(strstr(all, "S: + Ready for literal data\n") != NULL);
    g_clear_pointer(&srv, ms_imap_server_free);

    /* A missing required hook is a programmer error. */
    MsImapServerHooks hooks = *ms_mail_imap_hooks();
    hooks.list = NULL;
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*hooks->list*");
    MsImapServer *none = ms_imap_server_new(&cfg, &hooks, NULL);
    g_test_assert_expected_messages();
    CU_ASSERT_PTR_NULL(none);
    imap_box_free(b);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "greeting, CAPABILITY, NOOP, LOGOUT", test_greeting_capability },
        { "LOGIN and AUTHENTICATE PLAIN", test_login_and_authenticate },
        { "SELECT and EXAMINE", test_select_examine },
        { "FETCH items", test_fetch_items },
        { "BODYSTRUCTURE of a multipart", test_bodystructure_multipart },
        { "STORE, SEARCH, EXPUNGE", test_store_search_expunge },
        { "CLOSE, UNSELECT, read-only", test_close_unselect_readonly },
        { "folders, APPEND, COPY, MOVE", test_folders_append_copy },
        { "IDLE and NOOP see delivery", test_idle_and_noop_see_delivery },
        { "literals", test_literals },
        { "huge and unterminated literals", test_huge_and_unterminated_literals },
        { "bad input", test_bad_input },
        { "STARTTLS and LOGINDISABLED", test_starttls },
        { "any split, same output", test_split_invariance },
        { "trace, required hooks", test_trace },
        { NULL, NULL },
    };
    return ms_test_main("imap_server", cases);
}

/* Tests of the IMAP4rev2 pieces of the IMAP server core over a real mail
 * store (sim/mail/mail_imap.c): ESEARCH (RFC 4731) and the saved result
 * "$" (RFC 5182), extended LIST with STATUS (RFC 5258, 5819) and
 * special-use (RFC 6154), numbered sections and BINARY (RFC 3516), UTF-8
 * mailbox names beside modified UTF-7 (RFC 9051 5.1); then the
 * same commands against Dovecot 2.3 through the bridge, compared item by
 * item (tests/bridge/imap_rev2.py). Every session is also fed
 * octet by octet and must answer the same. */
#include "imap_testkit.h"
#include "mailsim/imap_server.h"
#include "mailsim/mail_imap.h"

#include <string.h>

static const char *const texts[] = {
    "From: Bob <bob@example.org>\r\nTo: alice@example.com\r\nSubject: hello\r\n"
    "Date: Mon, 7 Dec 2026 09:00:00 +0000\r\n\r\nHi Alice\r\n",
    "From: carol@example.net\r\nSubject: meeting\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\n"
    "\r\nline1\r\nline2\r\n",
    "From: dave@example.com\r\nSubject: lunch\r\n\r\nsoon\r\n",
    "From: erin@example.com\r\nSubject: lunch again\r\n\r\nlater\r\n",
};

/* Runs `input` whole and octet by octet on fresh boxes; both must answer
 * the same. Returns the answer. */
static GString *
run(const char *input)
{
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    cfg.hostname = "mx.example.com";
    return imap_run_both(texts, G_N_ELEMENTS(texts), &cfg, input);
}

/* RFC 4731 3.1 and its examples: MIN, MAX, COUNT, ALL in that order, MIN
 * MAX ALL left out when nothing matches, UID after the tag. */
static void
test_esearch(void)
{
    g_autoptr(GString) o = run(SELECT "c STORE 2 +FLAGS.SILENT (\\Seen)\r\n"
                                      "d SEARCH RETURN (MIN COUNT) UNSEEN\r\n"
                                      "e SEARCH RETURN () SUBJECT lunch\r\n"
                                      "f UID SEARCH RETURN (MIN MAX COUNT ALL) ALL\r\n"
                                      "g SEARCH RETURN (MIN MAX ALL COUNT) DELETED\r\n"
                                      "h SEARCH RETURN (ALL) CHARSET UTF-8 NOT 2\r\n"
                                      "i SEARCH RETURN (MIN BOGUS) ALL\r\n"
                                      "j SEARCH RETURN MIN ALL\r\n"
                                      "k SEARCH ALL\r\n");
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"d\") MIN 1 COUNT 3\r\nd OK Search completed.\r\n"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"e\") ALL 3:4\r\ne OK"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"f\") UID MIN 1 MAX 4 COUNT 4 ALL 1:4\r\nf OK"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"g\") COUNT 0\r\ng OK"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"h\") ALL 1,3:4\r\nh OK"));
    CU_ASSERT(imap_has(o, "i BAD Error in IMAP command SEARCH: syntax error.\r\n"));
    CU_ASSERT(imap_has(o, "j BAD Error in IMAP command SEARCH: syntax error.\r\n"));
    /* Without RETURN and without ENABLE IMAP4rev2: the RFC 3501 answer. */
    CU_ASSERT(imap_has(o, "* SEARCH 1 2 3 4\r\nk OK"));
}

/* RFC 5182: SAVE keeps the result as "$" for later commands, by UID, so
 * expunged messages drop out; SAVE alone gives no ESEARCH; SAVE with MIN
 * or MAX saves just those; a failed SEARCH ... SAVE empties "$"; a new
 * SELECT empties it. */
static void
test_searchres(void)
{
    g_autoptr(GString) o = run(SELECT "c SEARCH RETURN (SAVE) SUBJECT lunch\r\n"
                                      "d FETCH $ (UID)\r\n"
                                      "e STORE 3 +FLAGS.SILENT (\\Deleted)\r\n"
                                      "f EXPUNGE\r\n"
                                      "g UID FETCH $ (FLAGS)\r\n"
                                      "h SEARCH RETURN (SAVE MIN MAX) ALL\r\n"
                                      "i SEARCH $\r\n"
                                      "j SEARCH RETURN (SAVE COUNT MIN) SEEN\r\n"
                                      "k UID SEARCH UID $\r\n"
                                      "l SEARCH RETURN (SAVE) OR ALL\r\n"
                                      "m SEARCH $\r\n"
                                      "n SEARCH RETURN (SAVE) ALL\r\n"
                                      "o SELECT INBOX\r\n"
                                      "p FETCH $ (UID)\r\n"
                                      "q FETCH $,1 (UID)\r\n");
    CU_ASSERT(imap_has(o, "b OK [READ-WRITE] SELECT completed.\r\nc OK Search completed.\r\n"));
    CU_ASSERT(imap_has(o, "* 3 FETCH (UID 3)\r\n* 4 FETCH (UID 4)\r\nd OK"));
    CU_ASSERT(imap_has(o, "* 3 EXPUNGE\r\nf OK"));
    CU_ASSERT(imap_has(o, "* 3 FETCH (UID 4 FLAGS ())\r\ng OK"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"h\") MIN 1 MAX 3\r\nh OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 3\r\ni OK"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"j\") COUNT 0\r\nj OK"));
    CU_ASSERT(imap_has(o, "* SEARCH\r\nk OK"));
    CU_ASSERT(imap_has(o, "l BAD"));
    CU_ASSERT(imap_has(o, "* SEARCH\r\nm OK"));
    CU_ASSERT(imap_has(o, "o OK [READ-WRITE] SELECT completed.\r\np OK Fetch completed.\r\n"));
    CU_ASSERT(imap_has(o, "q BAD"));
}

/* Extended LIST (RFC 5258), LIST-STATUS (RFC 5819) and special-use
 * attributes (RFC 6154): selection and return options, several patterns,
 * STATUS after each LIST line, BAD for unknown options and for
 * RECURSIVEMATCH alone. */
static void
test_list_extended(void)
{
    g_autoptr(GString) o =
        run(LOGIN "b CREATE Sent\r\nc CREATE Archive\r\nd CREATE Archive/2026\r\ne CREATE Trash\r\n"
                  "e1 SUBSCRIBE INBOX\r\ne2 SUBSCRIBE Archive\r\ne3 SUBSCRIBE Archive/2026\r\n"
                  "f APPEND Sent (\\Seen) ~{6+}\r\nhello\n\r\n"
                  "g LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))\r\n"
                  "h LIST (SUBSCRIBED) \"\" (INBOX Arch*) RETURN (CHILDREN)\r\n"
                  "i LIST (SPECIAL-USE) \"\" *\r\n"
                  "j LIST () \"\" \"Archive/%\" RETURN (SUBSCRIBED SPECIAL-USE)\r\n"
                  "k LIST (RECURSIVEMATCH) \"\" *\r\n"
                  "l LIST (BOGUS) \"\" *\r\n"
                  "m LIST \"\" * RETURN (STATUS (NOTANITEM))\r\n"
                  "n LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %\r\n"
                  "o LIST \"\" nothing RETURN (STATUS (MESSAGES))\r\n"
                  "p LIST \"\" \"\"\r\n");
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
                     "* STATUS \"INBOX\" (MESSAGES 4 UNSEEN 4 UIDNEXT 5)\r\n"
                     "* LIST (\\HasChildren) \"/\" \"Archive\"\r\n"
                     "* STATUS \"Archive\" (MESSAGES 0 UNSEEN 0 UIDNEXT 1)\r\n"
                     "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
                     "* STATUS \"Sent\" (MESSAGES 1 UNSEEN 0 UIDNEXT 2)\r\n"
                     "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n"
                     "* STATUS \"Trash\" (MESSAGES 0 UNSEEN 0 UIDNEXT 1)\r\n"
                     "g OK LIST completed.\r\n"));
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
                     "* LIST (\\HasChildren \\Subscribed) \"/\" \"Archive\"\r\n"
                     "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Archive/2026\"\r\n"
                     "h OK LIST completed.\r\n"));
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
                     "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"\r\n"
                     "i OK LIST completed.\r\n"));
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Archive/2026\"\r\n"
                     "j OK LIST completed.\r\n"));
    CU_ASSERT(imap_has(o, "k BAD Error in IMAP command LIST: syntax error.\r\n"));
    CU_ASSERT(imap_has(o, "l BAD Error in IMAP command LIST: unknown option BOGUS.\r\n"));
    CU_ASSERT(imap_has(o, "m BAD Error in IMAP command LIST: unknown option NOTANITEM.\r\n"));
    CU_ASSERT(imap_has(o, "* LIST (\\HasChildren \\Subscribed) \"/\" \"Archive\" "
                     "(\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"));
    CU_ASSERT(imap_has(o, "n OK LIST completed.\r\no OK LIST completed.\r\n"
                     "* LIST (\\Noselect) \"/\" \"\"\r\np OK"));
}

/* SEARCH by date (RFC 9051 6.4.4: the internal date or the Date: field,
 * by day), by body text, by any header field, by keyword (none is set
 * here; test_keywords sets some). The box's messages arrived on 7-Dec-2026 (UTC); the first two say
 * they were sent on 7-Dec and 1-Dec, the others have no Date:. */
static void
test_search_keys(void)
{
    g_autoptr(GString) o = run(SELECT "c SEARCH ON 7-Dec-2026\r\n"
                                      "d SEARCH BEFORE 7-Dec-2026\r\n"
                                      "e SEARCH SINCE \"8-Dec-2026\"\r\n"
                                      "f SEARCH SINCE 6-Dec-2026 SENTBEFORE 2-Dec-2026\r\n"
                                      "g SEARCH SENTON 7-Dec-2026\r\n"
                                      "h SEARCH SENTSINCE 01-Dec-2026\r\n"
                                      "i SEARCH BODY alice\r\n"
                                      "j SEARCH TEXT carol\r\n"
                                      "k SEARCH BODY carol\r\n"
                                      "l SEARCH HEADER Date \"\"\r\n"
                                      "m SEARCH HEADER subject LUNCH\r\n"
                                      "n SEARCH KEYWORD $Junk\r\n"
                                      "o SEARCH UNKEYWORD $Junk\r\n"
                                      "p SEARCH ON 31-Feb-2026\r\n"
                                      "q SEARCH SENTON 7-Dec\r\n");
    CU_ASSERT(imap_has(o, "* SEARCH 1 2 3 4\r\nc OK"));
    CU_ASSERT(imap_has(o, "* SEARCH\r\nd OK"));
    CU_ASSERT(imap_has(o, "* SEARCH\r\ne OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 2\r\nf OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1\r\ng OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 2\r\nh OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1\r\ni OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 2\r\nj OK"));
    CU_ASSERT(imap_has(o, "* SEARCH\r\nk OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 2\r\nl OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 3 4\r\nm OK"));
    CU_ASSERT(imap_has(o, "* SEARCH\r\nn OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 2 3 4\r\no OK"));
    CU_ASSERT(imap_has(o, "p BAD"));
    CU_ASSERT(imap_has(o, "q BAD"));
}

/* ENABLE IMAP4rev2 (RFC 9051 6.3.1, Appendix E): before it the IMAP4rev1
 * forms, after it SELECT without RECENT and UNSEEN but with the mailbox's
 * LIST response, SEARCH answered by ESEARCH, and LSUB, CHECK and STATUS
 * RECENT refused; ENABLED names only what this command enabled. */
static void
test_enable_rev2(void)
{
    g_autoptr(GString) o = run(LOGIN "b SELECT INBOX\r\nc SEARCH UNSEEN\r\nd ENABLE FOO\r\n"
                                     "e ENABLE foo imap4REV2\r\nf ENABLE IMAP4rev2\r\n"
                                     "g SELECT INBOX\r\nh SEARCH UNSEEN\r\ni UID SEARCH DELETED\r\n"
                                     "j SEARCH RETURN (COUNT) ALL\r\nk LSUB \"\" *\r\nl CHECK\r\n"
                                     "m STATUS INBOX (RECENT)\r\nn STATUS INBOX (MESSAGES)\r\n"
                                     "o NOOP\r\n");
    CU_ASSERT(imap_has(o, "* 4 EXISTS\r\n* 0 RECENT\r\n* OK [UNSEEN 1] First unseen.\r\n"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 2 3 4\r\nc OK"));
    CU_ASSERT(imap_has(o, "* ENABLED\r\nd OK Enabled.\r\n"));
    CU_ASSERT(imap_has(o, "* ENABLED IMAP4rev2\r\ne OK Enabled.\r\n"));
    CU_ASSERT(imap_has(o, "* ENABLED\r\nf OK Enabled.\r\n"));
    CU_ASSERT(imap_has(o,
                       "* OK [CLOSED] Previous mailbox closed.\r\n"
                       "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                       "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
                       "Flags permitted.\r\n"
                       "* 4 EXISTS\r\n"
                       "* OK [UIDVALIDITY 1000] UIDs valid\r\n"
                       "* OK [UIDNEXT 5] Predicted next UID\r\n"
                       "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
                       "g OK [READ-WRITE] SELECT completed.\r\n"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"h\") ALL 1:4\r\nh OK"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"i\") UID\r\ni OK"));
    CU_ASSERT(imap_has(o, "* ESEARCH (TAG \"j\") COUNT 4\r\nj OK"));
    CU_ASSERT(imap_has(o, "k BAD LSUB is not part of IMAP4rev2: use LIST (SUBSCRIBED).\r\n"));
    CU_ASSERT(imap_has(o, "l BAD CHECK is not part of IMAP4rev2: use NOOP.\r\n"));
    CU_ASSERT(imap_has(o, "m BAD Unknown STATUS item RECENT.\r\n"));
    CU_ASSERT(imap_has(o, "* STATUS \"INBOX\" (MESSAGES 4)\r\nn OK"));
    /* RECENT only in the first SELECT's answer. */
    CU_ASSERT(strstr(strstr(o->str, "b OK"), "* 0 RECENT") == NULL);
}

/* Mailbox names after ENABLE IMAP4rev2 are UTF-8 (RFC 9051 5.1), while
 * the store and IMAP4rev1 sessions keep modified UTF-7 (RFC 3501 5.1.3):
 * every command that names a mailbox takes the UTF-8 spelling, LIST and
 * STATUS answer in it, quoted (RFC 9051 9 lets quoted strings carry
 * UTF-8), and LIST wildcards stand for characters, not octets of the
 * encoding. A rev1 session on the same store sees the same folders in
 * modified UTF-7 and what it creates is seen by a rev2 session in UTF-8.
 * Invalid UTF-8 is BAD in a quoted string (a syntax error in rev2) and NO
 * in a literal; controls, C1 controls and U+2028 are refused. */
#define MSG18 "Subject: x\r\n\r\nhi\r\n"
static void
test_utf8_names(void)
{
    static const char rev2[] =
        LOGIN "b ENABLE IMAP4rev2\r\n"
              "c CREATE \"Entw\xc3\xbcrfe\"\r\n"
              "d CREATE \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"\r\n"
              "e CREATE \"a&b\"\r\n"
              "f CREATE {4+}\r\n\xf0\x9f\x98\x80\r\n"
              "g CREATE \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe5\xad\x90\"\r\n"
              "h LIST \"\" *\r\n"
              "i SELECT INBOX\r\n"
              "j COPY 1:2 \"Entw\xc3\xbcrfe\"\r\n"
              "k MOVE 3 \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"\r\n"
              "l APPEND \"\xf0\x9f\x98\x80\" {18+}\r\n" MSG18 "\r\n"
              "m STATUS \"Entw\xc3\xbcrfe\" (MESSAGES)\r\n"
              "n EXAMINE \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"\r\n"
              "o RENAME \"a&b\" \"a&b\xc3\xa9\"\r\n"
              "p SUBSCRIBE \"\xf0\x9f\x98\x80\"\r\n"
              "q LIST (SUBSCRIBED) \"\" \"*\"\r\n"
              "r LIST \"\xe6\x97\xa5\xe6\x9c\xac\" \"%\"\r\n"
              "s LIST \"\" \"%\xe8\xaa\x9e\"\r\n"
              "t LIST \"\" \"*\xe5\xad\x90\" RETURN (STATUS (MESSAGES))\r\n"
              "u CREATE \"bad\xff\"\r\n"
              "v CREATE {4+}\r\nbad\xff\r\n"
              "w CREATE \"tab\x01x\"\r\n"
              "x CREATE \"c1\xc2\x85x\"\r\n"
              "y CREATE \"ls\xe2\x80\xa8x\"\r\n"
              "z CREATE \"x&AOk-\"\r\n"
              "z2 CREATE \"\xcf\xbf\"\r\n";
    static const char rev1[] = LOGIN "b LIST \"\" *\r\n"
                                     "c STATUS Entw&APw-rfe (MESSAGES)\r\n"
                                     "d SELECT &ZeVnLIqe-\r\n"
                                     "e CREATE \"Entw\xc3\xbcrfe\"\r\n"
                                     "f CREATE &AMk-t&AOk-\r\n"
                                     "g STATUS &2D3eAA- (MESSAGES)\r\n"
                                     "h LIST \"\" &ZeVnLIqe-/%\r\n";
    static const char rev2_again[] = LOGIN "b ENABLE IMAP4rev2\r\n"
                                           "c LIST \"\" \"\xc3\x89*\"\r\n"
                                           "d DELETE \"\xc3\x89t\xc3\xa9\"\r\n"
                                           "e SELECT \"&AMk-t&AOk-\"\r\n";
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    cfg.hostname = "mx.example.com";
    ImapBox *b = imap_box_new(texts, G_N_ELEMENTS(texts));
    /* The rev2 session whole and octet by octet must agree (fresh boxes). */
    g_autoptr(GString) o = imap_run_both(texts, G_N_ELEMENTS(texts), &cfg, rev2);
    g_autoptr(GString) o1 = imap_run_on(b, &cfg, rev2, 0, NULL);
    CU_ASSERT_STRING_EQUAL(o->str, o1->str);
    g_autoptr(GString) o2 = imap_run_on(b, &cfg, rev1, 1, NULL);
    g_autoptr(GString) o3 = imap_run_on(b, &cfg, rev2_again, 0, NULL);
    imap_box_free(b);
    /* rev2: UTF-8 in, UTF-8 out, quoted; wildcards over characters. */
    CU_ASSERT(imap_has(o,
                       "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
                       "* LIST (\\HasNoChildren) \"/\" \"\xf0\x9f\x98\x80\"\r\n"
                       "* LIST (\\HasChildren) \"/\" \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"\r\n"
                       "* LIST (\\HasNoChildren) \"/\" "
                       "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe5\xad\x90\"\r\n"
                       "* LIST (\\HasNoChildren) \"/\" \"Entw\xc3\xbcrfe\"\r\n"
                       "* LIST (\\HasNoChildren) \"/\" \"a&b\"\r\nh OK"));
    CU_ASSERT(imap_has(o, "z2 OK Create completed.\r\n")); /* "," for "/" in base64 */
    CU_ASSERT(imap_has(o, "j OK [COPYUID 1001 1:2 1:2] Copy completed.\r\n"));
    CU_ASSERT(imap_has(o, "k OK Move completed.\r\n"));
    CU_ASSERT(imap_has(o, "l OK [APPENDUID 1004 1] Append completed.\r\n"));
    CU_ASSERT(imap_has(o, "* STATUS \"Entw\xc3\xbcrfe\" (MESSAGES 2)\r\nm OK"));
    CU_ASSERT(imap_has(o, "* 1 EXISTS\r\n"));
    CU_ASSERT(imap_has(o,
                       "* LIST (\\HasChildren) \"/\" \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"\r\n"
                       "n OK [READ-ONLY] EXAMINE completed.\r\n"));
    CU_ASSERT(imap_has(o, "o OK Rename completed.\r\np OK Subscribe completed.\r\n"
                          "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"\xf0\x9f\x98\x80\"\r\n"
                          "q OK"));
    CU_ASSERT(imap_has(o,
                       "* LIST (\\HasChildren) \"/\" \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"\r\n"
                       "r OK"));
    CU_ASSERT(imap_has(o,
                       "* LIST (\\HasChildren) \"/\" \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"\r\n"
                       "s OK"));
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren) \"/\" "
                          "\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe5\xad\x90\"\r\n"
                          "* STATUS \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe5\xad\x90\" "
                          "(MESSAGES 0)\r\nt OK"));
    CU_ASSERT(imap_has(o, "u BAD Error in IMAP command CREATE: syntax error.\r\n"));
    CU_ASSERT(imap_has(o, "v NO [CANNOT] Mailbox name is not valid UTF-8.\r\n"));
    CU_ASSERT(imap_has(o, "w NO [CANNOT] Mailbox name holds a control character.\r\n"));
    CU_ASSERT(imap_has(o, "x NO [CANNOT] Mailbox name holds a control character.\r\n"));
    CU_ASSERT(imap_has(o, "y NO [CANNOT] Mailbox name holds a control character.\r\n"));
    CU_ASSERT(imap_has(o, "z OK Create completed.\r\n"));
    /* rev1 on the same store: the same folders in modified UTF-7 (the
     * spellings of RFC 3501 5.1.3, e.g. its "&ZeVnLIqe-"), "&" as "&-". */
    CU_ASSERT(imap_has(o2, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
                           "* LIST (\\HasNoChildren) \"/\" \"&2D3eAA-\"\r\n"
                           "* LIST (\\HasNoChildren) \"/\" \"&A,8-\"\r\n"
                           "* LIST (\\HasChildren) \"/\" \"&ZeVnLIqe-\"\r\n"
                           "* LIST (\\HasNoChildren) \"/\" \"&ZeVnLIqe-/&W1A-\"\r\n"
                           "* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\n"
                           "* LIST (\\HasNoChildren) \"/\" \"a&-b&AOk-\"\r\n"
                           "* LIST (\\HasNoChildren) \"/\" \"x&-AOk-\"\r\nb OK"));
    CU_ASSERT(imap_has(o2, "* STATUS \"Entw&APw-rfe\" (MESSAGES 2)\r\nc OK"));
    CU_ASSERT(imap_has(o2, "* 1 EXISTS\r\n* 0 RECENT\r\n"));
    CU_ASSERT(imap_has(o2, "d OK [READ-WRITE] SELECT completed.\r\n"));
    CU_ASSERT(imap_has(o2, "e NO [CANNOT] Invalid mailbox name.\r\n"));
    CU_ASSERT(imap_has(o2, "f OK Create completed.\r\n"));
    CU_ASSERT(imap_has(o2, "* STATUS \"&2D3eAA-\" (MESSAGES 1)\r\ng OK"));
    CU_ASSERT(imap_has(o2, "* LIST (\\HasNoChildren) \"/\" \"&ZeVnLIqe-/&W1A-\"\r\nh OK"));
    /* rev2 again: what rev1 created, in UTF-8; its modified UTF-7 spelling
     * is now an ASCII name of its own. */
    CU_ASSERT(imap_has(o3, "* LIST (\\HasNoChildren) \"/\" \"\xc3\x89t\xc3\xa9\"\r\nc OK"));
    CU_ASSERT(imap_has(o3, "d OK Delete completed.\r\n"));
    CU_ASSERT(imap_has(o3, "e NO [NONEXISTENT]"));
}

/* Real subscriptions (RFC 9051 6.3.7, 6.3.8): a name is subscribed whether
 * its mailbox exists or not, and stays so after DELETE; LIST (SUBSCRIBED)
 * says \Subscribed, and \NonExistent for the deleted one; RETURN
 * (SUBSCRIBED) marks the subscribed among all; LSUB (RFC 3501 6.3.9)
 * answers a "%" with a \Noselect parent; RECURSIVEMATCH gives CHILDINFO
 * (RFC 5258 3.5). Subscriptions outlive the session. */
static void
test_subscriptions(void)
{
    const char *in = LOGIN "b CREATE Archive\r\nc CREATE Archive/2026\r\nd CREATE Gone\r\n"
                           "e SUBSCRIBE inbox\r\nf SUBSCRIBE Archive/2026\r\ng SUBSCRIBE Gone\r\n"
                           "h SUBSCRIBE Nowhere\r\ni DELETE Gone\r\nj UNSUBSCRIBE Nowhere\r\n"
                           "k UNSUBSCRIBE Nowhere\r\nl SUBSCRIBE Gone\r\n"
                           "m LIST (SUBSCRIBED) \"\" *\r\n"
                           "n LIST \"\" * RETURN (SUBSCRIBED)\r\n"
                           "o LSUB \"\" %\r\n"
                           "p LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %\r\n"
                           "q LIST (SUBSCRIBED) \"\" % RETURN (STATUS (MESSAGES))\r\n"
                           "r SUBSCRIBE \"bad*name\"\r\n";
    g_autoptr(GString) o = run(in);
    CU_ASSERT(imap_has(o, "e OK Subscribe completed.\r\nf OK Subscribe completed.\r\n"
                          "g OK Subscribe completed.\r\nh OK Subscribe completed.\r\n"
                          "i OK Delete completed.\r\nj OK Unsubscribe completed.\r\n"
                          "k OK Unsubscribe completed.\r\nl OK Subscribe completed.\r\n"));
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
                          "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Archive/2026\"\r\n"
                          "* LIST (\\NonExistent \\Subscribed) \"/\" \"Gone\"\r\nm OK"));
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
                          "* LIST (\\HasChildren) \"/\" \"Archive\"\r\n"
                          "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Archive/2026\"\r\nn OK"));
    CU_ASSERT(imap_has(o, "* LSUB () \"/\" \"INBOX\"\r\n"
                          "* LSUB (\\Noselect) \"/\" \"Archive\"\r\n"
                          "* LSUB () \"/\" \"Gone\"\r\no OK"));
    CU_ASSERT(
        imap_has(o, "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
                    "* LIST (\\HasChildren) \"/\" \"Archive\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
                    "* LIST (\\NonExistent \\Subscribed) \"/\" \"Gone\"\r\np OK"));
    /* RFC 5819 4: no STATUS for a mailbox that does not exist. */
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
                          "* STATUS \"INBOX\" (MESSAGES 4)\r\n"
                          "* LIST (\\NonExistent \\Subscribed) \"/\" \"Gone\"\r\nq OK"));
    CU_ASSERT(imap_has(o, "r NO [CANNOT] Invalid mailbox name.\r\n"));

    /* A later session on the same box sees them. */
    ImapBox *b = imap_box_new(texts, G_N_ELEMENTS(texts));
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    GString *first = imap_run_on(b, &cfg, LOGIN "b SUBSCRIBE Sent\r\n", 0, NULL);
    GString *second = imap_run_on(b, &cfg, LOGIN "c LIST (SUBSCRIBED) \"\" *\r\n", 0, NULL);
    CU_ASSERT(imap_has(second, "* LIST (\\NonExistent \\Subscribed) \"/\" \"Sent\"\r\nc OK"));
    g_string_free(first, TRUE);
    g_string_free(second, TRUE);
    imap_box_free(b);
}

/* Keywords as flags (RFC 9051 2.3.2): PERMANENTFLAGS has "\*"; STORE makes
 * a new keyword, FLAGS and PERMANENTFLAGS then list it (7.3.5) before the
 * FETCH that names it; keywords match case-insensitively and keep their
 * first spelling; SEARCH KEYWORD/UNKEYWORD; APPEND and COPY carry them;
 * the 27th keyword of a mailbox is NO [LIMIT] and at 26 "\*" goes; a
 * later session sees them. */
static void
test_keywords(void)
{
    GString *kw23 = g_string_new(NULL);
    for (int i = 1; i <= 23; i++)
        g_string_append_printf(kw23, "%sk%d", i > 1 ? " " : "", i);
    g_autofree char *in = g_strdup_printf(
        SELECT "c STORE 1 +FLAGS ($Junk Work)\r\nd STORE 2 +FLAGS.SILENT (work)\r\n"
               "e FETCH 1:2 FLAGS\r\nf SEARCH KEYWORD WORK\r\ng SEARCH UNKEYWORD $Junk\r\n"
               "h SEARCH KEYWORD nothere\r\ni STORE 1 -FLAGS ($junk)\r\n"
               "j STORE 2 FLAGS (\\Seen)\r\nk STORE 1 +FLAGS (\\Recent)\r\n"
               "l STORE 1 +FLAGS (a\\b)\r\nm APPEND INBOX (\\Flagged Todo) {3}\r\nhi\n\r\n"
               "n FETCH 5 (FLAGS)\r\no CREATE Archive\r\np COPY 1 Archive\r\n"
               "q STORE 3 +FLAGS.SILENT (%s)\r\nr STORE 3 +FLAGS (one-more)\r\n"
               "s EXAMINE Archive\r\nt FETCH 1 FLAGS\r\n",
        kw23->str);
    g_string_free(kw23, TRUE);
    g_autoptr(GString) o = run(in);
    CU_ASSERT(imap_has(o,
                       "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk Work)\r\n"
                       "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk "
                       "Work \\*)] Flags permitted.\r\n"
                       "* 1 FETCH (FLAGS ($Junk Work))\r\nc OK Store completed.\r\n"
                       "d OK Store completed.\r\n"
                       "* 1 FETCH (FLAGS ($Junk Work))\r\n* 2 FETCH (FLAGS (Work))\r\ne OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 2\r\nf OK"));
    CU_ASSERT(imap_has(o, "* SEARCH 2 3 4\r\ng OK"));
    CU_ASSERT(imap_has(o, "* SEARCH\r\nh OK"));
    CU_ASSERT(imap_has(o, "* 1 FETCH (FLAGS (Work))\r\ni OK"));
    CU_ASSERT(imap_has(o, "* 2 FETCH (FLAGS (\\Seen))\r\nj OK"));
    CU_ASSERT(imap_has(o, "k BAD Invalid flags in STORE.\r\nl BAD Invalid flags in STORE.\r\n"));
    CU_ASSERT(imap_has(o, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk Work "
                          "Todo)\r\n"));
    CU_ASSERT(imap_has(o, "* 5 FETCH (FLAGS (\\Flagged Todo))\r\nn OK"));
    CU_ASSERT(imap_has(o, "k23)] Flags permitted.\r\nq OK Store completed.\r\n"));
    CU_ASSERT(imap_has(o, "r NO [LIMIT] Too many keywords in the mailbox.\r\n"));
    CU_ASSERT(imap_has(o, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft Work)\r\n"
                          "* OK [PERMANENTFLAGS ()] Flags permitted.\r\n"));
    CU_ASSERT(imap_has(o, "* 1 FETCH (FLAGS (Work))\r\nt OK"));

    /* Kept by the mailbox between sessions. */
    ImapBox *b = imap_box_new(texts, G_N_ELEMENTS(texts));
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    GString *first = imap_run_on(b, &cfg, SELECT "c STORE 4 +FLAGS ($Forwarded)\r\n", 0, NULL);
    GString *second = imap_run_on(b, &cfg, SELECT "c FETCH 4 FLAGS\r\n", 0, NULL);
    CU_ASSERT(
        imap_has(second, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)"));
    CU_ASSERT(imap_has(second, "* 4 FETCH (FLAGS ($Forwarded))\r\nc OK"));
    g_string_free(first, TRUE);
    g_string_free(second, TRUE);
    imap_box_free(b);
}

/* DMARC quarantine into Junk (issue 19): a message the store flags
 * MS_STORE_FLAG_JUNK shows in IMAP's Junk (\Junk, RFC 6154), not in
 * INBOX, while the store (POP3's view) still holds it. Junk exists once
 * such a message arrived; STORE there keeps the mark; MOVE to INBOX takes
 * it out of quarantine; APPEND into Junk quarantines; RENAME is refused;
 * DELETE removes its messages. */
static void
test_junk_folder(void)
{
    ImapBox *b = imap_box_new(texts, G_N_ELEMENTS(texts));
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    GString *before = imap_run_on(b, &cfg, LOGIN "b LIST \"\" *\r\nc SELECT Junk\r\n", 0, NULL);
    CU_ASSERT(imap_has(before, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\nb OK"));
    CU_ASSERT(imap_has(before, "c NO [NONEXISTENT] Mailbox doesn't exist.\r\n"));
    /* Quarantine the second message, as mail_accept.c does. */
    GPtrArray *box = ms_mail_store_messages(b->store, "alice");
    const MsStoredMessage *second = g_ptr_array_index(box, 1);
    ms_mail_store_set_flags(b->store, "alice", second->uid, second->flags | MS_STORE_FLAG_JUNK);
    GString *o = imap_run_on(
        b, &cfg,
        LOGIN "b LIST \"\" *\r\nc SELECT INBOX\r\nd UID SEARCH ALL\r\ne SELECT Junk\r\n"
              "f FETCH 1 (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n"
              "g STORE 1 +FLAGS (\\Seen)\r\nh RENAME Junk Spam\r\ni CREATE Junk\r\n"
              "j APPEND Junk {23}\r\nSubject: more spam\r\n\r\nx\r\n"
              "k MOVE 1 INBOX\r\nl STATUS INBOX (MESSAGES)\r\nm STATUS Junk (MESSAGES)\r\n"
              "n UNSELECT\r\no DELETE Junk\r\np LIST \"\" *\r\n",
        0, NULL);
    CU_ASSERT(imap_has(o, "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
                          "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"\r\nb OK"));
    CU_ASSERT(imap_has(o, "* 3 EXISTS\r\n"));
    CU_ASSERT(imap_has(o, "* SEARCH 1 3 4\r\nd OK"));
    CU_ASSERT(imap_has(o, "* 1 EXISTS\r\n"));
    CU_ASSERT(imap_has(o, "* 1 FETCH (UID 2 FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {20}\r\n"
                          "Subject: meeting\r\n\r\n)\r\nf OK"));
    CU_ASSERT(imap_has(o, "* 1 FETCH (FLAGS (\\Seen))\r\ng OK"));
    CU_ASSERT(imap_has(o, "h NO [CANNOT] Not allowed on this mailbox.\r\n"
                          "i NO [ALREADYEXISTS] Mailbox already exists.\r\n"));
    CU_ASSERT(imap_has(o, "j OK [APPENDUID 1000 5] Append completed.\r\n"));
    CU_ASSERT(imap_has(o, "* STATUS \"INBOX\" (MESSAGES 4)\r\nl OK"));
    CU_ASSERT(imap_has(o, "* STATUS \"Junk\" (MESSAGES 1)\r\nm OK"));
    CU_ASSERT(
        imap_has(o, "o OK Delete completed.\r\n* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\np OK"));
    /* The store: 3 kept + the one moved out of Junk; the appended one is
     * gone with Junk. None is left marked. */
    box = ms_mail_store_messages(b->store, "alice");
    CU_ASSERT_EQUAL(box->len, 4);
    for (guint i = 0; i < box->len; i++)
        CU_ASSERT_FALSE(((MsStoredMessage *) g_ptr_array_index(box, i))->flags &
                        MS_STORE_FLAG_JUNK);
    g_string_free(before, TRUE);
    g_string_free(o, TRUE);
    imap_box_free(b);
}

/* A multipart message with a quoted-printable text, a base64 attachment
 * holding NUL octets, a message/rfc822 part and a part in an encoding
 * nobody can undo. */
static const char parts_msg[] =
    "From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n"
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "caf=C3=A9 =3D ok   \r\nsoft=\r\n break=\r\n"
    "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: BASE64\r\n\r\n"
    "AAEC\r\nAw==\r\n"
    "--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n"
    "--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
    "begin 644 x\r\n"
    "--b1--\r\n";

/* `what` followed by a literal of `body` (its length in braces). */
static gboolean
has_literal(const GString *out, const char *what, const char *body)
{
    g_autofree char *s = g_strdup_printf("%s {%zu}\r\n%s", what, strlen(body), body);
    return imap_has(out, s);
}

/* Numbered sections (RFC 9051 6.4.5) and BINARY (RFC 3516). */
static void
test_body_parts_binary(void)
{
    g_autofree char *in = g_strdup_printf(
        SELECT "c APPEND INBOX {%zu+}\r\n%s\r\nd NOOP\r\n"
               "e FETCH 5 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[3.MIME])\r\n"
               "f FETCH 5 (BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] BODY.PEEK[3.1] "
               "BODY.PEEK[3.HEADER.FIELDS (SUBJECT)])\r\n"
               "g FETCH 5 (BODY.PEEK[9] BODY.PEEK[2.1] BODY.PEEK[1]<0.3> BINARY.SIZE[9])\r\n"
               "h FETCH 5 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.SIZE[2])\r\n"
               "i FETCH 5 (BINARY.PEEK[2])\r\n"
               "j FETCH 5 (BINARY.PEEK[4])\r\n"
               "k FETCH 5 FLAGS\r\n"
               "l UID FETCH 1 (BODY.PEEK[1] BINARY[1])\r\n"
               "m FETCH 5 BINARY[1]<5.4>\r\n",
        strlen(parts_msg), parts_msg);
    g_autoptr(GString) o = run(in);
    CU_ASSERT(has_literal(o, "* 5 FETCH (BODY[1]", "caf=C3=A9 =3D ok   \r\nsoft=\r\n break="));
    CU_ASSERT(has_literal(o, " BODY[1.MIME]",
                          "Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: quoted-printable\r\n\r\n"));
    CU_ASSERT(has_literal(o, " BODY[2]", "AAEC\r\nAw=="));
    CU_ASSERT(has_literal(o, " BODY[3.MIME]", "Content-Type: message/rfc822\r\n\r\n"));
    CU_ASSERT(imap_has(o, "message/rfc822\r\n\r\n)\r\ne OK"));
    CU_ASSERT(has_literal(o, "* 5 FETCH (BODY[3.HEADER]", "Subject: inner\r\n\r\n"));
    CU_ASSERT(has_literal(o, " BODY[3.TEXT]", "inner body"));
    CU_ASSERT(has_literal(o, " BODY[3.1]", "inner body"));
    CU_ASSERT(has_literal(o, " BODY[3.HEADER.FIELDS (SUBJECT)]", "Subject: inner\r\n\r\n"));
    CU_ASSERT(imap_has(o, "* 5 FETCH (BODY[9] NIL BODY[2.1] NIL BODY[1]<0> {3}\r\ncaf "
                     "BINARY.SIZE[9] NIL)\r\ng OK"));
    /* Quoted-printable undone: escapes, blanks at the line end, soft breaks. */
    CU_ASSERT(imap_has(o, "* 5 FETCH (BINARY[1] {22}\r\ncaf\xc3\xa9 = ok\r\nsoft break "
                     "BINARY.SIZE[1] 22 BINARY.SIZE[2] 4)\r\nh OK"));
    /* Base64 undone; NUL octets go as a literal8 (RFC 3516 4.3). */
    static const char want[] = "* 5 FETCH (BINARY[2] ~{4}\r\n\0\1\2\3)\r\ni OK";
    gboolean found = FALSE;
    for (gsize k = 0; k + sizeof want - 1 <= o->len && !found; k++)
        found = memcmp(o->str + k, want, sizeof want - 1) == 0;
    CU_ASSERT(found);
    for (gsize k = 0; k < o->len; k++) /* so that imap_has() reads past them */
        if (!o->str[k])
            o->str[k] = '@';
    CU_ASSERT(imap_has(o, "j NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding.\r\n"));
    CU_ASSERT(imap_has(o, "* 5 FETCH (FLAGS ())\r\nk OK"));
    /* A single-part message: its body is part 1; BINARY sets \Seen. */
    CU_ASSERT(imap_has(o, "* 1 FETCH (UID 1 BODY[1] {10}\r\nHi Alice\r\n BINARY[1] {10}\r\nHi Alice\r\n"
                     " FLAGS (\\Seen))\r\nl OK"));
    CU_ASSERT(imap_has(o, "* 5 FETCH (BINARY[1]<5> {4}\r\n = o FLAGS (\\Seen))\r\nm OK"));
}

/* The same commands against the bridge and against Dovecot 2.3 serving a
 * copy of its Maildir (tests/bridge/imap_rev2.py): ESEARCH, SAVE,
 * LIST-STATUS, special-use, numbered sections and BINARY must agree. */
static void
test_against_dovecot(void)
{
    g_autofree char *py = g_find_program_in_path("python3");
    if (!py) {
        ms_test_skip("imap_rev2.py: no python3 on the PATH");
        return;
    }
    g_autofree char *script = g_build_filename("tests", "bridge", "imap_rev2.py", NULL);
    const char *argv[] = { py, script, ms_test_mailsim_path(), NULL };
    g_autofree char *out = NULL, *err = NULL;
    int rc = ms_test_spawn(argv, &out, &err);
    if (rc != 0)
        fprintf(stderr, "imap_rev2.py exited %d\n%s%s", rc, out ? out : "", err ? err : "");
    CU_ASSERT_EQUAL(rc, 0);
    g_auto(GStrv) lines = g_strsplit(out ? out : "", "\n", -1);
    for (guint i = 0; lines[i]; i++)
        if (g_str_has_prefix(lines[i], "SKIPPED: "))
            ms_test_skip(lines[i] + strlen("SKIPPED: "));
}

/* UTF-8 mailbox names through the bridge with Python's imaplib as the
 * client (tests/bridge/imap_utf8.py): rev2 and rev1 sessions on the same
 * bridge, the modified UTF-7 spellings checked against Python's codecs, the
 * Maildir++ folders on disk unchanged in meaning. */
static void
test_utf8_names_imaplib(void)
{
    g_autofree char *py = g_file_test("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)
                              ? g_strdup("/usr/bin/python3")
                              : g_find_program_in_path("python3");
    if (!py) {
        ms_test_skip("imap_utf8.py: no python3");
        return;
    }
    g_autofree char *script = g_build_filename("tests", "bridge", "imap_utf8.py", NULL);
    const char *argv[] = { py, script, ms_test_mailsim_path(), NULL };
    g_autofree char *out = NULL, *err = NULL;
    int rc = ms_test_spawn(argv, &out, &err);
    if (rc != 0)
        fprintf(stderr, "imap_utf8.py exited %d\n%s%s", rc, out ? out : "", err ? err : "");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(out && strstr(out, "imap_utf8.py: ok"));
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "ESEARCH", test_esearch },
        { "SEARCHRES", test_searchres },
        { "SEARCH by date, text, header, keyword", test_search_keys },
        { "LIST-EXTENDED, LIST-STATUS, SPECIAL-USE", test_list_extended },
        { "BODY[1.2], BINARY", test_body_parts_binary },
        { "ENABLE IMAP4rev2", test_enable_rev2 },
        { "UTF-8 mailbox names after ENABLE IMAP4rev2", test_utf8_names },
        { "SUBSCRIBE, LIST (SUBSCRIBED), LSUB", test_subscriptions },
        { "keywords", test_keywords },
        { "DMARC quarantine: the Junk folder", test_junk_folder },
        { "against Dovecot", test_against_dovecot },
        { "UTF-8 mailbox names through imaplib", test_utf8_names_imaplib },
        { NULL, NULL },
    };
    return ms_test_main("imap_rev2", cases);
}

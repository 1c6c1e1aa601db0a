/* Integration tests of the bridge's mailbox side, each a script in
 * tests/bridge/ driving `mailsim bridge` with real clients: IMAP (imaplib,
 * mbsync, idle timeouts), the durable spool and Maildirs under kill -9 with
 * concurrent senders, IMAP state across a restart, bodies read from the
 * Maildir on demand, and a full spool disk. The rest of the bridge's tests
 * are tests/test_bridge.c (a separate program, so that tests/run-all.sh
 * can run the two side by side). */
#include "testlib.h"

static void
test_imap(void)
{
    ms_test_bridge_script("imap.py");
}
/* IMAP UIDVALIDITY, UIDs and flags survive kill -9 and a restart on the
 * same --spool; UIDs are never given twice. */
static void
test_imap_restart(void)
{
    ms_test_bridge_script("imap_restart.py");
}

static void
test_crash(void)
{
    ms_test_bridge_script("crash.py");
}

/* Bodies read from the Maildir on demand: listings read none, a changed
 * file is served as it is now, a vanished one gives NO / -ERR. */
static void
test_ondemand(void)
{
    ms_test_bridge_script("ondemand.py");
}

/* A full spool disk (a small tmpfs in a private mount namespace, as root):
 * 452 4.3.1, never a 250 for mail not on disk, 250s in group commits, and
 * everything acknowledged delivered once after space comes back. */
static void
test_fulldisk(void)
{
    ms_test_bridge_script("fulldisk.py");
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "imap", test_imap },
        { "crash", test_crash },
        { "imap_restart", test_imap_restart },
        { "ondemand", test_ondemand },
        { "fulldisk", test_fulldisk },
        { NULL, NULL },
    };
    return ms_test_main("bridge_mailbox", cases);
}

"""IMAP state that survives a restart of `mailsim bridge --spool DIR`: a
message sent over SMTP is read with Python's imaplib, flagged and marked
seen; after kill -9 and a restart on the same directory the same message
has the same UID under the same UIDVALIDITY (RFC 9051 2.3.1.1: a client's
cache stays valid) and keeps its flags, which the Maildir holds in its file
name. A message that arrives after the restart gets a higher UID, and an
EXPUNGE before a restart stays done. Without --spool nothing is kept, and
the UIDVALIDITY says so by changing."""
import imaplib
import os
import re
import shutil
import signal
import smtplib
import tempfile
import time

from bridgelib import Bridge, arm, check, wait_for, TIMEOUT

arm(180)
HOST = "127.0.0.1"
USER, PASSWORD = "feedback", "suggestion-box"
RCPT = "feedback@diversicomcorp.com"
spool = tempfile.mkdtemp(prefix="mailsim-imap-restart-")


def start(*extra):
    return Bridge("--speed", "max", "--imap", "0=mx-corp", *extra, pop3="0=mx-corp")


def send(b, subject):
    body = ("From: alice@isp-a.net\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@isp-a.net>\r\n\r\n"
            "kept across restarts\r\n" % (RCPT, subject, subject)).encode()
    with smtplib.SMTP(HOST, b.smtp_port, timeout=TIMEOUT) as s:
        s.sendmail("alice@isp-a.net", [RCPT], body)


def session(b):
    m = imaplib.IMAP4(HOST, b.imap_port, timeout=TIMEOUT)
    m.login(USER, PASSWORD)
    return m


def state(m):
    """UIDVALIDITY and {subject: (uid, flags)} of INBOX."""
    typ, _ = m.select("INBOX")
    check(typ == "OK", "SELECT INBOX")
    uv = int(m.response("UIDVALIDITY")[1][0])
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split())
        subject = item[1].decode().strip().split(":", 1)[1].strip()
        out[subject] = (uid, flags)
    return uv, out


def arrived(b, subject):
    def look():
        m = session(b)
        try:
            return subject in state(m)[1]
        finally:
            m.logout()
    return wait_for(look)


# First run: two messages, one flagged and read, one expunged.
b = start("--spool", spool)
send(b, "restart-one")
send(b, "restart-two")
check(arrived(b, "restart-one") and arrived(b, "restart-two"), "both messages reach INBOX")
m = session(b)
uv1, before = state(m)
uid1 = before["restart-one"][0]
m.uid("STORE", str(uid1), "+FLAGS", r"(\Seen \Flagged)")
m.uid("STORE", str(before["restart-two"][0]), "+FLAGS", r"(\Deleted)")
m.expunge()
m.logout()
b.stop(signal.SIGKILL)

# Second run on the same directory.
b = start("--spool", spool)
m = session(b)
uv2, after = state(m)
check(uv2 == uv1, "UIDVALIDITY is the same after kill -9 and a restart (%d, %d)" % (uv1, uv2))
check("restart-one" in after and after["restart-one"][0] == uid1,
      "the message has the same UID after the restart (%d, %r)" % (uid1, after.get("restart-one")))
check(after.get("restart-one", (0, set()))[1] >= {r"\Seen", r"\Flagged"},
      "its flags survive the restart (%r)" % (after.get("restart-one"),))
check("restart-two" not in after, "the expunged message stays expunged")
m.logout()
send(b, "restart-three")
check(arrived(b, "restart-three"), "a new message arrives after the restart")
m = session(b)
_, later = state(m)
m.logout()
check(later["restart-three"][0] > max(u for u, _ in before.values()),
      "a message after the restart gets a UID above every earlier one (%r)" % (later,))
with open(os.path.join(spool, "mail", "mx.diversicomcorp.com", "imap-uidvalidity")) as f:
    check(int(f.read()) == uv1, "the UIDVALIDITY is kept beside the Maildirs")
b.stop()

# Without --spool: the UIDs start again, and so the UIDVALIDITY changes.
b = start()
m = session(b)
uv3, _ = state(m)
m.logout()
b.stop()
time.sleep(1.1)
b = start()
m = session(b)
uv4, _ = state(m)
m.logout()
b.stop()
check(uv3 != uv4, "without --spool a restart changes the UIDVALIDITY (%d, %d)" % (uv3, uv4))
shutil.rmtree(spool, ignore_errors=True)
print("imap_restart.py: ok")

"""IMAP state that survives a restart of `mailsim bridge --spool DIR`: a
message sent over SMTP is read with Python's imaplib, flagged and marked
seen; after kill -9 and a restart on the same directory the same message
has the same UID under the same UIDVALIDITY (RFC 9051 2.3.1.1: a client's
cache stays valid) and keeps its flags, which the Maildir holds in its file
name. A message that arrives after the restart gets a higher UID, and an
EXPUNGE before a restart stays done. Without --spool nothing is kept, and
the UIDVALIDITY says so by changing."""
import imaplib
import mailbox
import os
import re
import shutil
import signal
import smtplib
import tempfile
import time

import bridgelib
from bridgelib import Bridge, arm, check, free_port, wait_for, TIMEOUT

arm(240)
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
# Keywords (PERMANENTFLAGS \*) are kept as Dovecot keeps them: a letter
# a..z after the flags in the file name, named in dovecot-keywords.
m.uid("STORE", str(uid1), "+FLAGS", "(todo $Label1)")
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
check(after.get("restart-one", (0, set()))[1] >= {"todo", "$Label1"},
      "its keywords survive the restart (%r)" % (after.get("restart-one"),))
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

# Folders other than INBOX (Sent, made by APPEND as real clients do) are
# Maildir++ subfolders: after kill -9 the message is there with its UID,
# flags, INTERNALDATE and the folder's UIDVALIDITY; an expunge and a
# deleted folder stay done; Python's mailbox.Maildir reads the same
# folder, as Dovecot would.
SENT = ("From: feedback@diversicomcorp.com\r\nTo: alice@isp-a.net\r\nSubject: kept-in-sent\r\n"
        "Message-ID: <kept-in-sent@diversicomcorp.com>\r\n\r\na copy of what I sent\r\n").encode()
m = session(b)
check(m.create("Sent")[0] == "OK" and m.create("Old")[0] == "OK" and m.create("Work/Done")[0] == "OK",
      "CREATE Sent, Old, Work/Done")
typ, data = m.append("Sent", r"(\Seen \Answered)", imaplib.Time2Internaldate(1700000000), SENT)
check(typ == "OK", "APPEND to Sent (%r)" % data)
m.append("Sent", None, None, SENT.replace(b"kept-in-sent", b"expunged-from-sent"))
m.select("Sent")
m.uid("STORE", "1", "+FLAGS", "(sent-by-me)")
m.close()
m.append("Work/Done", r"(\Flagged)", None, SENT.replace(b"kept-in-sent", b"in-a-subfolder"))
m.append("Old", None, None, SENT)
m.select("Sent")
typ, data = m.uid("SEARCH", "SUBJECT", "expunged-from-sent")
m.uid("STORE", data[0].decode(), "+FLAGS", r"(\Deleted)")
m.expunge()
typ, data = m.status("Sent", "(UIDVALIDITY UIDNEXT MESSAGES)")
sent_before = data[0]
typ, data = m.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE)")
sent_fetch = [x for x in data if x]
m.close()
check(m.delete("Old")[0] == "OK", "DELETE Old")
m.logout()
box = os.path.join(spool, "mail", "mx.diversicomcorp.com", "feedback")
check(os.path.isdir(os.path.join(box, ".Sent", "cur")) and os.path.isdir(os.path.join(box, ".Work.Done")),
      "Maildir++ subfolders .Sent and .Work.Done (%r)" % sorted(os.listdir(box)))
check(not os.path.exists(os.path.join(box, ".Old")), "the deleted folder is gone from disk")
md = mailbox.Maildir(box, factory=None, create=False)
sent = md.get_folder("Sent")
check([msg["Subject"] for msg in sent] == ["kept-in-sent"] and
      sent.values()[0].get_flags() == "RSa",
      "mailbox.Maildir reads Sent: one message, flags RS and keyword a (%r)"
      % [(x["Subject"], x.get_flags()) for x in sent])
with open(os.path.join(box, ".Sent", "dovecot-keywords")) as f:
    check(f.read() == "0 sent-by-me\n", "Sent's dovecot-keywords names letter a")
inbox_kw = {}
with open(os.path.join(box, "dovecot-keywords")) as f:
    for line in f:
        n, name = line.split()
        inbox_kw[chr(ord("a") + int(n))] = name
one = [x for x in md.values() if x["Subject"] == "restart-one"]
check(len(one) == 1 and {inbox_kw.get(c) for c in one[0].get_flags() if c.islower()} == {"todo", "$Label1"},
      "mailbox.Maildir and INBOX's dovecot-keywords show the keywords (%r, %r)"
      % ([x.get_flags() for x in one], inbox_kw))
b.stop(signal.SIGKILL)

b = start("--spool", spool)
m = session(b)
typ, data = m.status("Sent", "(UIDVALIDITY UIDNEXT MESSAGES)")
check(typ == "OK" and data[0] == sent_before,
      "Sent keeps its UIDVALIDITY, UIDNEXT and count after kill -9 (%r, %r)" % (data, sent_before))
m.select("Sent")
typ, data = m.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE)")
check([x for x in data if x] == sent_fetch, "same UID, flags and INTERNALDATE (%r, %r)" % (data, sent_fetch))
typ, data = m.fetch("1", "(BODY.PEEK[])")
check(typ == "OK" and data[0][1] == SENT, "the same bytes")
typ, data = m.list()
names = sorted(x.decode().rsplit(" ", 1)[1].strip('"') for x in data)
check("Work/Done" in names and "Old" not in names, "LIST: Work/Done kept, Old stays deleted (%r)" % names)
m.select("Work/Done")
typ, data = m.fetch("1", "(FLAGS)")
check(b"\\Flagged" in data[0], "a subfolder's flags too (%r)" % data)
m.select("Sent")
typ, data = m.fetch("1", "(FLAGS)")
check(b"sent-by-me" in data[0], "a Sent message's keyword survives kill -9 (%r)" % data)
m.logout()
b.stop()

# Dovecot reading a copy of the same Maildir (Maildir++ layout, its
# keywords from dovecot-keywords) lists the same keywords.
if os.geteuid() != 0 or not os.access(bridgelib.DOVECOT, os.X_OK):
    print("SKIPPED: imap_restart.py: the Dovecot check needs root and dovecot-imapd")
else:
    dtmp = tempfile.mkdtemp(prefix="mailsim-imap-restart-dovecot-")
    os.chmod(dtmp, 0o711)
    copy = os.path.join(dtmp, "maildir")
    shutil.copytree(box, copy)
    dport = free_port()
    dproc = bridgelib.start_dovecot(dtmp, "maildir:%s" % copy, copy, dport, PASSWORD)
    try:
        d = imaplib.IMAP4(HOST, dport, timeout=TIMEOUT)
        d.login(USER, PASSWORD)
        _, theirs = state(d)
        check(theirs.get("restart-one", (0, set()))[1] >= {"todo", "$Label1"},
              "Dovecot lists INBOX's keywords (%r)" % (theirs.get("restart-one"),))
        d.select("Sent")
        typ, data = d.fetch("1", "(FLAGS)")
        check(typ == "OK" and b"sent-by-me" in data[0], "Dovecot lists Sent's keyword (%r)" % data)
        d.logout()
    finally:
        dproc.kill()
        dproc.wait()
        shutil.rmtree(dtmp, ignore_errors=True)

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

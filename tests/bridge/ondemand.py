"""Bodies on demand: a bridge with --spool keeps its mailboxes as Maildir
and holds only sizes, flags and UIDs in memory; a body is read from its
file each time a reader needs it. Checked with real clients (imaplib,
poplib) on loopback:
- listings (IMAP SELECT, FETCH of FLAGS/RFC822.SIZE/UID; POP3 STAT, LIST,
  UIDL) read no body (the bridge's maildir_read count stays 0);
- a body changed on disk (same size) is served with the new bytes, so it
  came from the file and not from a copy in memory;
- a file that vanished under the bridge gives IMAP a tagged NO and POP3
  -ERR, and the bridge goes on serving the other messages."""
import glob
import imaplib
import os
import poplib
import shutil
import signal
import smtplib
import tempfile

from bridgelib import Bridge, arm, check, wait_for, TIMEOUT

arm(180)
HOST = "127.0.0.1"
USER, PASSWORD = "feedback", "suggestion-box"
RCPT = "feedback@diversicomcorp.com"
spool = tempfile.mkdtemp(prefix="mailsim-ondemand-")
box = os.path.join(spool, "mail", "mx.diversicomcorp.com", "feedback")


def start():
    return Bridge("--speed", "max", "--imap", "0=mx-corp", "--spool", spool, pop3="0=mx-corp")


def session(b):
    m = imaplib.IMAP4(HOST, b.imap_port, timeout=TIMEOUT)
    m.login(USER, PASSWORD)
    return m


def files():
    return sorted(glob.glob(os.path.join(box, "new", "*")) + glob.glob(os.path.join(box, "cur", "*")))


b = start()
with smtplib.SMTP(HOST, b.smtp_port, timeout=TIMEOUT) as s:
    for i in range(3):
        s.sendmail("alice@isp-a.net", [RCPT],
                   ("From: alice@isp-a.net\r\nTo: %s\r\nSubject: ondemand-%d\r\n\r\n"
                    "original text %d\r\n" % (RCPT, i, i)).encode())
check(wait_for(lambda: len(files()) == 3), "three messages in the Maildir")
_, _, stats = b.stop()
check(stats.get("bridge-spool.maildir_written") == "3", "written to the Maildir (%r)" % stats)

# Listings read no body.
b = start()
m = session(b)
typ, data = m.select("INBOX")
check(typ == "OK" and int(data[0]) == 3, "SELECT INBOX sees 3 messages (%r)" % data)
typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
sizes = [int(x.split(b"RFC822.SIZE ")[1].split(b")")[0].split()[0]) for x in data]
check(typ == "OK" and sizes == [os.path.getsize(f) for f in sorted(files(), key=lambda p: p.split(",U=")[1])],
      "RFC822.SIZE is each file's size (%r)" % sizes)
m.logout()
p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT)
p.user(USER)
p.pass_(PASSWORD)
count, total = p.stat()
check(count == 3 and total == sum(sizes), "POP3 STAT agrees (%d, %d)" % (count, total))
check(len(p.list()[1]) == 3 and len(p.uidl()[1]) == 3, "POP3 LIST and UIDL")
p.quit()
_, _, stats = b.stop()
check(stats.get("bridge-spool.maildir_loaded") == "3", "three messages loaded (%r)" % stats)
check(stats.get("bridge-spool.maildir_read") == "0",
      "listings read no body (maildir_read=%s)" % stats.get("bridge-spool.maildir_read"))

# A body changed on disk, same size: the new bytes are served.
b = start()
first = [f for f in files() if b"ondemand-0" in open(f, "rb").read()][0]
data = open(first, "rb").read()
with open(first, "wb") as f:
    f.write(data.replace(b"original text 0", b"ORIGINAL TEXT 0"))
m = session(b)
m.select("INBOX")
typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
check(typ == "OK" and b"ORIGINAL TEXT 0" in data[0][1], "IMAP serves the bytes now in the file (%r)" % data)
p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT)
p.user(USER)
p.pass_(PASSWORD)
_, lines, _ = p.retr(1)
check(b"ORIGINAL TEXT 0" in lines, "POP3 RETR too (%r)" % lines)
p.quit()

# A file that vanished: a clean NO / -ERR, and the others are still served.
second = [f for f in files() if b"ondemand-1" in open(f, "rb").read()][0]
os.unlink(second)
typ, data = m.fetch("2", "(BODY.PEEK[])")
check(typ == "NO", "IMAP FETCH of a vanished file: NO (%r %r)" % (typ, data))
typ, data = m.fetch("3", "(BODY.PEEK[TEXT])")
check(typ == "OK" and b"original text 2" in data[0][1], "the next message is still served")
typ, data = m.fetch("2", "(FLAGS RFC822.SIZE)")
check(typ == "OK", "listing the vanished one still works (%r)" % data)
m.logout()
p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT)
p.user(USER)
p.pass_(PASSWORD)
try:
    p.retr(2)
    check(False, "POP3 RETR of a vanished file answers -ERR")
except poplib.error_proto as e:
    check(str(e).startswith("b'-ERR"), "POP3 RETR of a vanished file: %s" % e)
_, lines, _ = p.top(3, 0)
check(any(b"ondemand-2" in l for l in lines), "POP3 TOP of the next one works")
p.quit()
code, _, stats = b.stop(signal.SIGTERM)
check(code == 0, "the bridge exits cleanly (%r)" % code)
check(int(stats.get("bridge-spool.maildir_read", 0)) >= 4, "bodies were read from the files (%r)" % stats)
shutil.rmtree(spool, ignore_errors=True)
print("ondemand.py: ok")

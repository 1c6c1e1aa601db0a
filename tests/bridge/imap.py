"""IMAP on `mailsim bridge`, with real clients on loopback: Python's imaplib
(STARTTLS, LOGIN, SELECT, FETCH, STORE, SEARCH, EXPUNGE, IDLE by raw
commands, over STARTTLS and IMAPS), curl (imaps:// and imap:// --ssl-reqd:
LIST and FETCH by UID), fetchmail --protocol IMAP and getmail6
(SimpleIMAPSSLRetriever), and mbsync (isync) syncing to a local Maildir
when installed. Every message is sent over SMTPS into the simulated world
and comes out of a mailbox the simulation delivered it to; POP3 sees the
same mailbox with the same sizes. Every client verifies the bridge's
self-signed certificate through the file the bridge printed."""
import glob
import imaplib
import os
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

from bridgelib import Bridge, arm, check, fetchmail_poll, wait_for, TIMEOUT

arm(300)
need = ["curl", "fetchmail", "getmail"]
missing = [n for n in need if not shutil.which(n)]
if missing:
    print("SKIPPED: imap.py: %s not installed (tools/deps.sh installs them)" % ", ".join(missing))
    raise SystemExit(0)

tmp = tempfile.mkdtemp(prefix="mailsim-imap-")
b = Bridge("--speed", "max", "--smtps", "0", "--imap", "0=mx-corp", "--imaps", "0",
           pop3="0=mx-corp", plaintext_auth=False)
CERT = b.cert
ctx = ssl.create_default_context(cafile=CERT)
HOST = "127.0.0.1"
check(b.imap_port and b.imaps_port, "the bridge prints its IMAP and IMAPS ports")


def send(subject, to="sales@diversicomcorp.com"):
    body = ("From: alice@isp-a.net\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@isp-a.net>\r\n\r\n"
            "sent to be read over IMAP\r\n.leading dot\r\n" % (to, subject, subject)).encode()
    with smtplib.SMTP_SSL(HOST, b.smtps_port, context=ctx, timeout=TIMEOUT) as s:
        s.login("alice", "wonderland")
        s.sendmail("alice@isp-a.net", [to], body)
    return body


def run(cmd, what, env=None, timeout=TIMEOUT):
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(cmd, -1, e.stdout or b"", e.stderr or b"")
    if r.returncode != 0:
        print("  %s exited %d:\n%s\n%s" % (what, r.returncode, r.stdout[-1500:].decode("latin-1"),
                                           r.stderr[-1500:].decode("latin-1")))
    return r


sent = [send("imap-%d" % i) for i in range(3)]

# --- imaplib over STARTTLS ------------------------------------------------------
m = imaplib.IMAP4(HOST, b.imap_port, timeout=TIMEOUT)
check("STARTTLS" in m.capabilities and "LOGINDISABLED" in m.capabilities,
      "imaplib: before TLS, CAPABILITY offers STARTTLS and says LOGINDISABLED")
try:
    m.login("sales", "quarterly-numbers")
    check(False, "LOGIN in clear text is refused")
except imaplib.IMAP4.error as e:
    check("PRIVACYREQUIRED" in str(e), "LOGIN in clear text: NO [PRIVACYREQUIRED]")
m.starttls(ssl_context=ctx)
check("AUTH=PLAIN" in m.capabilities and "STARTTLS" not in m.capabilities,
      "imaplib starttls(): certificate verified; AUTH=PLAIN now, STARTTLS no longer")
m.login("sales", "quarterly-numbers")


def count():
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT)")
    return typ == "OK" and b"MESSAGES 3 " in data[0]


wait_for(count)
typ, data = m.select("INBOX")
n = int(data[0])
check(typ == "OK" and n == 3, "imaplib SELECT INBOX: the 3 messages the simulation delivered")
typ, data = m.fetch("1:*", "(UID RFC822.SIZE FLAGS BODY.PEEK[])")
msgs = [d for d in data if isinstance(d, tuple)]
bodies = [d[1] for d in msgs]
check(typ == "OK" and len(bodies) == 3 and all(x.endswith(y) for x, y in zip(bodies, sent)),
      "imaplib FETCH BODY.PEEK[]: each message ends with the bytes sent, exactly")
check(all(x.startswith(b"Return-Path: <alice@isp-a.net>\r\n") for x in bodies),
      "the stored copies carry the simulation's Return-Path:")
sizes = [int(re.search(rb"RFC822.SIZE (\d+)", d[0]).group(1)) for d in msgs]
check(sizes == [len(x) for x in bodies], "RFC822.SIZE is the size of BODY[]")
p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT)
p.stls(context=ctx)
p.user("sales")
p.pass_("quarterly-numbers")
pop_sizes = [int(x.split()[1]) for x in p.list()[1]]
p.quit()  # no DELE: nothing removed
check(pop_sizes == sizes, "POP3 LIST gives the same sizes as IMAP RFC822.SIZE: %s" % sizes)

typ, data = m.search(None, "UNSEEN")
check(data[0].split() == [b"1", b"2", b"3"], "SEARCH UNSEEN: all three")
m.store("2", "+FLAGS", "(\\Seen \\Flagged)")
typ, data = m.search(None, "SEEN")
check(data[0].split() == [b"2"], "STORE +FLAGS \\Seen, then SEARCH SEEN finds it")
typ, data = m.search(None, 'SUBJECT', '"imap-2"')
check(data[0].split() == [b"3"], "SEARCH SUBJECT")
typ, data = m.uid("SEARCH", None, "FROM", "alice")
uids = data[0].split()
check(len(uids) == 3, "UID SEARCH FROM alice: three UIDs")
typ, data = m.uid("FETCH", uids[0].decode(), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
check(b"Subject: imap-0" in data[0][1], "UID FETCH BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
try:
    m.fetch("9", "FLAGS")
    check(False, "a sequence number past the end is refused")
except imaplib.IMAP4.error as e:
    check("BAD" in str(e), "FETCH 9 of 3 messages: BAD (RFC 3501 9)")
typ, data = m.list()
check(typ == "OK" and any(b'"INBOX"' in x for x in data), "LIST shows INBOX")

# --- IDLE over IMAPS: a second client is woken by new mail --------------------------
raw = ctx.wrap_socket(socket.create_connection((HOST, b.imaps_port), timeout=TIMEOUT),
                      server_hostname=HOST)
f = raw.makefile("rb")


def line():
    return f.readline()


check(line().startswith(b"* OK [CAPABILITY"), "IMAPS: the greeting comes inside TLS")
raw.sendall(b"a LOGIN sales quarterly-numbers\r\nb SELECT INBOX\r\nc IDLE\r\n")
x = b"-"
while x and not x.startswith((b"+ ", b"c ")):  # b"": closed on us
    x = line()
t0 = time.time()
sent.append(send("imap-idle"))
woke = b"-"
while woke and b"EXISTS" not in woke:  # b"": closed on us
    woke = line()
check(woke == b"* 4 EXISTS\r\n", "IDLE (RFC 2177): '* 4 EXISTS' arrives unasked when the simulation "
      "delivers (%.2f s after the SMTP send)" % (time.time() - t0))
raw.sendall(b"DONE\r\nd LOGOUT\r\n")
check(line().startswith(b"c OK"), "DONE ends the IDLE")
raw.close()

# EXPUNGE through IMAP is seen by POP3.
m.noop()
m.store("1", "+FLAGS", "\\Deleted")
typ, data = m.expunge()
check(typ == "OK" and data == [b"1"], "STORE \\Deleted, EXPUNGE: '* 1 EXPUNGE'")
p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT)
p.stls(context=ctx)
p.user("sales")
p.pass_("quarterly-numbers")
check(p.stat()[0] == 3, "POP3 STAT after the IMAP EXPUNGE: 3 messages left")
p.quit()
m.logout()

# --- curl ------------------------------------------------------------------------
r = run(["curl", "-sS", "--cacert", CERT, "--user", "sales:quarterly-numbers",
         "imaps://%s:%d/" % (HOST, b.imaps_port)], "curl imaps LIST")
check(r.returncode == 0 and b'"INBOX"' in r.stdout, "curl imaps://: LIST")
typ_uid = uids[-1].decode()
r = run(["curl", "-sS", "--cacert", CERT, "--user", "sales:quarterly-numbers",
         "imaps://%s:%d/INBOX;UID=%s" % (HOST, b.imaps_port, typ_uid)], "curl imaps FETCH")
check(r.returncode == 0 and r.stdout.endswith(sent[2]), "curl imaps://.../INBOX;UID=%s: the message" % typ_uid)
r = run(["curl", "-sS", "--ssl-reqd", "--cacert", CERT, "--user", "sales:quarterly-numbers",
         "imap://%s:%d/INBOX;UID=%s" % (HOST, b.imap_port, typ_uid)], "curl imap --ssl-reqd")
check(r.returncode == 0 and r.stdout.endswith(sent[2]), "curl imap:// --ssl-reqd (STARTTLS): FETCH by UID")

# --- fetchmail --protocol IMAP, over IMAPS, then STARTTLS ---------------------------
fhome = os.path.join(tmp, "fetchmail")
os.makedirs(fhome)
for i, (port, opts) in enumerate(((b.imaps_port, ["--ssl"]), (b.imap_port, ["--sslproto", "tls1.2+"]))):
    subj = "imap-fetchmail-%d" % i
    send(subj, "feedback@diversicomcorp.com")
    got = fetchmail_poll(fhome, port, "IMAP", "feedback", "suggestion-box", i, CERT, opts)
    check(len(got) == 1 and ("Subject: %s" % subj).encode() in got[0],
          "fetchmail --protocol IMAP %s: certificate checked, the message retrieved (and expunged)"
          % " ".join(opts))

# --- getmail6 SimpleIMAPSSLRetriever ---------------------------------------------------
send("imap-getmail", "feedback@diversicomcorp.com")
gdir = os.path.join(tmp, "getmail")
gout = os.path.join(tmp, "getmail-out")
os.makedirs(gdir)
os.makedirs(gout)
with open(os.path.join(gdir, "getmailrc"), "w") as fh:
    fh.write("[retriever]\ntype = SimpleIMAPSSLRetriever\nserver = %s\nport = %d\nusername = feedback\n"
             "password = suggestion-box\nca_certs = %s\nmailboxes = (\"INBOX\",)\n\n"
             "[destination]\ntype = MDA_external\npath = /bin/sh\n"
             "arguments = (\"-c\", \"cat > %s/msg.$$\")\nallow_root_commands = true\n\n"
             "[options]\ndelete = false\nread_all = true\nverbose = 2\n" % (HOST, b.imaps_port, CERT, gout))
# delete = false, so a run may be repeated: the first may come before the
# simulation delivered, and on a loaded machine getmail once stalled while
# piping a message to its MDA (an empty msg.* file, no "delivered" line).
files = []
for _ in range(6):
    for x in glob.glob(gout + "/msg.*"):
        os.unlink(x)
    r = run(["getmail", "--getmaildir", gdir, "--rcfile", "getmailrc"], "getmail", timeout=60)
    files = glob.glob(gout + "/msg.*")
    if r.returncode == 0 and files:
        break
    time.sleep(0.3)
check(r.returncode == 0 and len(files) == 1 and b"Subject: imap-getmail" in open(files[0], "rb").read(),
      "getmail6 SimpleIMAPSSLRetriever: the message, certificate verified")

# --- mbsync (isync) into a local Maildir --------------------------------------------------
if shutil.which("mbsync"):
    mdir = os.path.join(tmp, "maildir")
    os.makedirs(mdir)
    rcfile = os.path.join(tmp, "mbsyncrc")
    with open(rcfile, "w") as fh:
        fh.write("IMAPAccount sim\nHost localhost\nPort %d\nUser sales\nPass quarterly-numbers\nSSLType IMAPS\n"
                 "CertificateFile %s\n\nIMAPStore sim-remote\nAccount sim\n\n"
                 "MaildirStore sim-local\nPath %s/\nInbox %s/INBOX\n\n"
                 "Channel sim\nFar :sim-remote:\nNear :sim-local:\nPatterns INBOX\nCreate Near\n"
                 "Sync Pull\nSyncState *\n" % (b.imaps_port, CERT, mdir, mdir))
    r = run(["mbsync", "-c", rcfile, "sim"], "mbsync")
    got = sorted(glob.glob(os.path.join(mdir, "INBOX", "*", "*")))
    texts = [open(x, "rb").read() for x in got]
    check(r.returncode == 0 and len(texts) == 3 and all(b"Subject: imap-" in t for t in texts),
          "mbsync: the 3 messages of sales@ synced into a local Maildir")
else:
    print("SKIPPED: mbsync not installed (tools/deps.sh installs the Debian package isync)")

rc, text, st = b.stop()
check(rc == 0, "the bridge exits 0 on SIGTERM")
check("accounting: balanced" in text, "the accounting balances")
check(int(st.get("bridge-stats.imap_sessions", 0)) >= 8, "IMAP sessions counted")

# --- IDLE outlives --idle-timeout; a silent session does not --------------------------
b2 = Bridge("--speed", "max", "--imap", "0=mx-corp", "--idle-timeout", "1s", pop3="0=mx-corp")
idler = socket.create_connection((HOST, b2.imap_port), timeout=TIMEOUT)
quiet = socket.create_connection((HOST, b2.imap_port), timeout=TIMEOUT)
fi, fq = idler.makefile("rb"), quiet.makefile("rb")
fi.readline()
fq.readline()
idler.sendall(b"a LOGIN sales quarterly-numbers\r\nb SELECT INBOX\r\nc IDLE\r\n")
quiet.sendall(b"a LOGIN sales quarterly-numbers\r\n")
x = b"-"
while x and not x.startswith((b"+ ", b"c ")):
    x = fi.readline()
fq.readline()
time.sleep(3)  # three idle timeouts
check(fq.readline() == b"* BYE Autologout; idle for too long\r\n" and fq.readline() == b"",
      "a silent IMAP session gets '* BYE Autologout' at --idle-timeout and is closed")
with smtplib.SMTP(HOST, b2.smtp_port, timeout=TIMEOUT) as s:
    s.sendmail("someone@example.org", ["sales@diversicomcorp.com"], b"Subject: late\r\n\r\nx\r\n")
woke = b"-"
while woke and b"EXISTS" not in woke:  # b"": closed on us
    woke = fi.readline()
check(woke.endswith(b" EXISTS\r\n"), "a session in IDLE outlives --idle-timeout (RFC 2177: up to 29 "
      "minutes) and is woken by the delivery")
idler.sendall(b"DONE\r\n")
check(fi.readline() == b"c OK Idle completed.\r\n", "DONE after a long IDLE")
idler.close()
quiet.close()
rc, text, st = b2.stop()
check(rc == 0 and "accounting: balanced" in text, "the second bridge exits 0, balanced")
shutil.rmtree(tmp, ignore_errors=True)

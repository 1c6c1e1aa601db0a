"""A full disk under `mailsim bridge --spool`: the spool is a small tmpfs
(256 KiB) mounted in a private mount namespace (unshare -m, as root; a
holder process keeps the namespace, and each bridge enters it with
nsenter), so writes really fail with ENOSPC. Six smtplib threads send
until each has been refused a few times. Checked:
- every refusal is 452 4.3.1 (RFC 5321 4.2.3 "insufficient system
  storage", RFC 3463 X.3.1 "mail system full"), never another code;
- no 250 for mail that is not on disk: right after each 250 the message is
  in a spool file or in the Maildir;
- the 250s were given in batches (group commit: fewer commits than
  messages spooled);
- after the tmpfs is made larger, new mail is taken again, and after a
  restart on the same directory (which delivers what a failed Maildir
  write left in the spool) every acknowledged message is in the Maildir
  exactly once and no refused one is.
Without root this cannot mount anything: it says SKIPPED (CI runs as
root)."""
import atexit
import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import threading
import time

import bridgelib
from bridgelib import Bridge, arm, check, wait_for, TIMEOUT

# nsenter -m starts the bridge at the namespace's root directory.
bridgelib.MAILSIM = os.path.abspath(bridgelib.MAILSIM)

arm(170)
if os.geteuid() != 0:
    print("SKIPPED: fulldisk.py: mounting a small tmpfs needs root")
    raise SystemExit(0)
for tool in ("unshare", "nsenter", "mount"):
    if not shutil.which(tool):
        print("SKIPPED: fulldisk.py: no %s (util-linux)" % tool)
        raise SystemExit(0)

THREADS = 6
RCPT = "feedback@diversicomcorp.com"
mnt = tempfile.mkdtemp(prefix="mailsim-fulldisk-")
holder = subprocess.Popen(
    ["unshare", "-m", "--propagation", "private", "sh", "-c",
     'mount -t tmpfs -o size=256k,mode=0700 mailsim-fulldisk "$0" && echo ready && exec sleep 600', mnt],
    stdout=subprocess.PIPE)


def cleanup():
    if holder.poll() is None:
        holder.kill()
        holder.wait()
    shutil.rmtree(mnt, ignore_errors=True)  # empty outside the namespace


atexit.register(cleanup)  # a failed check exits: the namespace goes with its holder
check(holder.stdout.readline().strip() == b"ready", "a 256 KiB tmpfs in a private mount namespace")
# The tmpfs as seen from outside the namespace.
view = "/proc/%d/root%s" % (holder.pid, mnt)
box = os.path.join(view, "mail", "mx.diversicomcorp.com", "feedback")


def in_ns(*cmd):
    return subprocess.run(["nsenter", "-t", str(holder.pid), "-m", "--"] + list(cmd),
                          capture_output=True, timeout=TIMEOUT)


def start():
    return Bridge("--speed", "max", "--spool", mnt, pop3="0=mx-corp",
                  wrap=["nsenter", "-t", str(holder.pid), "-m", "--"], wrap_execs=True)


def subjects_on_disk():
    """Subject -> number of copies, in spool files and in the Maildir."""
    spool, maildir = {}, {}
    for d, out in ((view, spool), (os.path.join(box, "new"), maildir), (os.path.join(box, "cur"), maildir)):
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for n in names:
            if d == view and not re.match(r"w\d{12}\.msg$", n):
                continue
            try:
                with open(os.path.join(d, n), "rb") as f:
                    m = re.search(rb"^Subject: (full-\S+)", f.read(), re.M)
            except (FileNotFoundError, IsADirectoryError):
                continue
            if m:
                out[m.group(1).decode()] = out.get(m.group(1).decode(), 0) + 1
    return spool, maildir


acked, refused, bad = [], [], []
lock = threading.Lock()


def sender(port, t, stop):
    n = 0
    padding = ("x" * 76 + "\r\n") * 25  # about 2 KiB a message: the tmpfs fills after some dozens
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as c:
        while not stop.is_set() and n < 200:  # bounded: a bridge that never refuses fails below
            tok = "full-t%d-n%d" % (t, n)
            n += 1
            msg = ("From: sender@example.org\r\nSubject: %s\r\n\r\n%s\r\n" % (tok, padding)).encode()
            try:
                c.sendmail("sender@example.org", [RCPT], msg)
            except smtplib.SMTPDataError as e:
                with lock:
                    text = e.smtp_error.decode(errors="replace")
                    if e.smtp_code == 452 and text.startswith("4.3.1"):
                        refused.append(tok)
                        if sum(1 for r in refused if r.startswith("full-t%d-" % t)) >= 3:
                            return
                    else:
                        bad.append("%s: %d %s" % (tok, e.smtp_code, text))
                        return
                c.rset()
                time.sleep(0.05)
                continue
            spool, maildir = subjects_on_disk()
            with lock:
                acked.append(tok)
                if tok not in spool and tok not in maildir:
                    bad.append("%s: 250 but on disk neither in the spool nor in the Maildir" % tok)


b = start()
stop = threading.Event()
threads = [threading.Thread(target=sender, args=(b.smtp_port, t, stop)) for t in range(THREADS)]
for th in threads:
    th.start()
for th in threads:
    th.join(timeout=120)
stop.set()
check(not bad, "no other reply, and no 250 for mail not on disk (%r)" % bad[:5])
check(len(refused) >= THREADS * 3, "the full disk refused %d messages with 452 4.3.1" % len(refused))
check(len(acked) >= 10, "%d messages were acknowledged before the disk filled" % len(acked))

# More room: mail is taken again.
r = in_ns("mount", "-o", "remount,size=8m", mnt)
check(r.returncode == 0, "the tmpfs grows to 8 MiB (%r)" % r.stderr)
with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
    for i in range(3):
        tok = "full-after-%d" % i
        c.sendmail("sender@example.org", [RCPT], ("Subject: %s\r\n\r\nroom again\r\n" % tok).encode())
        acked.append(tok)
code, _, stats = b.stop(signal.SIGTERM)
spooled = int(stats.get("bridge-spool.spooled", 0))
commits = int(stats.get("bridge-spool.spool_commits", 0))
check(0 < commits < spooled, "250s given in batches: %d commits for %d spool files" % (commits, spooled))

# A restart delivers what a failed Maildir write left in the spool.
b = start()
check(wait_for(lambda: not subjects_on_disk()[0]), "the spool empties after the restart")
b.stop(signal.SIGTERM)
spool, maildir = subjects_on_disk()
missing = [t for t in acked if maildir.get(t, 0) == 0]
twice = [t for t in acked if maildir.get(t, 0) > 1]
check(not missing, "every acknowledged message is in the Maildir (%d; missing %r)" % (len(acked), missing[:5]))
check(not twice, "none twice (%r)" % twice[:5])
check(not [t for t in refused if t in maildir], "no refused message was delivered")
print("fulldisk.py: ok")

#!/usr/bin/env python3
"""The big-mailbox line of `make bench-bridge`: memory and response times of
`mailsim bridge --spool DIR` started on a spool whose Maildir holds N
messages of 1 KiB in one mailbox (feedback@diversicomcorp.com, lesson 1).

The Maildir is written directly (new/, names with ",S=" and ",U=" as the
bridge writes them), so the set-up costs no SMTP. The bridge runs under
/usr/bin/time -v; a Python imaplib client logs in, SELECTs INBOX, fetches
FLAGS and RFC822.SIZE of all N messages (a listing, as a client
synchronising its cache does), and the whole bodies of the first and last
five (UID FETCH BODY.PEEK[]). Printed: the bridge's peak RSS, the time from
start to its first prompt (reading the Maildir back) and the time of each
client step. With bodies read on demand the RSS does not grow with the
bodies' bytes (before, every body was read at start).

Usage: bench_bridge_bigbox.py MAILSIM [N]"""
import imaplib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "bridge"))
from bridgelib import Bridge, TIMEOUT  # noqa: E402

MAILSIM = sys.argv[1] if len(sys.argv) > 1 else "./mailsim"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
USER, PASSWORD = "feedback", "suggestion-box"
SIZE = 1024
TIME = "/usr/bin/time"
if not os.access(TIME, os.X_OK):
    print("SKIPPED: bench-bridge big mailbox: no /usr/bin/time (package time)")
    raise SystemExit(0)


def message(i):
    head = ("Return-Path: <alice@isp-a.net>\r\nFrom: alice@isp-a.net\r\n"
            "To: feedback@diversicomcorp.com\r\nSubject: big box %d\r\n"
            "Message-ID: <big-%d@isp-a.net>\r\n\r\n" % (i, i)).encode()
    line = b"x" * 62 + b"\r\n"
    body = (line * (SIZE // len(line) + 1))[:SIZE - len(head) - 2] + b"\r\n"
    return head + body


spool = tempfile.mkdtemp(prefix="mailsim-bigbox-")
box = os.path.join(spool, "mail", "mx.diversicomcorp.com", USER)
for sub in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(box, sub))
for i in range(1, N + 1):
    data = message(i)
    name = "1700000000.M%06dP1Q%d.bench,S=%d,U=%d" % (i % 1000000, i, len(data), i)
    with open(os.path.join(box, "new", name), "wb") as f:
        f.write(data)

t0 = time.time()
b = Bridge("--speed", "max", "--imap", "0=mx-corp", "--spool", spool, pop3="0=mx-corp",
           wrap=[TIME, "-v"])
t_start = time.time() - t0
m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=600)
m.login(USER, PASSWORD)
t = time.time()
typ, data = m.select("INBOX")
t_select = time.time() - t
assert typ == "OK" and int(data[0]) >= N, data
t = time.time()
typ, data = m.fetch("1:*", "(FLAGS RFC822.SIZE)")
t_list = time.time() - t
assert typ == "OK" and len(data) >= N, len(data)
t = time.time()
got = 0
for uids in ("1:5", "%d:%d" % (N - 4, N)):
    typ, data = m.uid("FETCH", uids, "(BODY.PEEK[])")
    got += sum(1 for x in data if isinstance(x, tuple) and b"big box" in x[1])
t_fetch = time.time() - t
assert got == 10, got
m.logout()
quiet, sys.stderr = sys.stderr, io.StringIO()  # time -v's report: parsed below
try:
    code, text, stats = b.stop(signal.SIGTERM)
finally:
    sys.stderr = quiet
err = b.stderr_text
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
rss_mb = int(rss.group(1)) / 1024 if rss else float("nan")
print("bridge IMAP big mailbox: %d x %d B in one Maildir: peak RSS %.0f MB, start %.2f s, "
      "SELECT %.2f s, FETCH 1:* (FLAGS RFC822.SIZE) %.2f s, 10 bodies %.0f ms "
      "(maildir_loaded=%s maildir_read=%s)"
      % (N, SIZE, rss_mb, t_start, t_select, t_list, t_fetch * 1000,
         stats.get("bridge-spool.maildir_loaded"), stats.get("bridge-spool.maildir_read")))
shutil.rmtree(spool, ignore_errors=True)

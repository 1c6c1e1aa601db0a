#!/usr/bin/env python3
"""IMAP lines of `make bench-bridge`: messages fetched per second by
concurrent IMAP sessions from `mailsim bridge --imap`, next to Dovecot's
imapd serving a copy of the same Maildir in the same run, as a ratio.

Set-up: a bridge on the lesson-1 world with --spool (so the mailbox is a
Maildir on disk, sim/bridge/bridge_maildir.c) takes N messages of 1 KiB for
sales@diversicomcorp.com over SMTP; once the simulation has stored them
all, the Maildir is copied for Dovecot, which runs from a throwaway
configuration on a free loopback port (no TLS, a static password, its
indexes in the copy; its mail processes run as nobody, which owns the
copy) and is stopped at the end.

Each run: SESSIONS clients at once, each logs in, EXAMINEs INBOX and sends
`UID FETCH 1:* (BODY.PEEK[])`, reading the answer to its tagged OK and
checking that it holds N literals; the rate is SESSIONS * N over the time
from the first connect to the last OK. The client is the same raw-socket
loop for both servers (threads; the reads release Python's lock), so the
ratio compares the servers even where the client is the limit. One warm-up
run each (Dovecot builds its index then), then REPS runs, alternating;
medians printed.

Usage: bench_bridge_imap.py MAILSIM [N] [SESSIONS] [REPS]
Prints 'SKIPPED: ...' and exits 0 when dovecot is not installed."""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "bridge"))
import bridgelib  # noqa: E402
from bridgelib import Bridge, TIMEOUT  # noqa: E402

MAILSIM = sys.argv[1] if len(sys.argv) > 1 else "./mailsim"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
SESSIONS = int(sys.argv[3]) if len(sys.argv) > 3 else 10
REPS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
USER, PASSWORD = "sales", "quarterly-numbers"
SIZE = 1024

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
if not os.access(DOVECOT, os.X_OK):
    print("SKIPPED: bench-bridge IMAP: dovecot not installed (dovecot-imapd)")
    raise SystemExit(0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message(i):
    head = ("From: alice@isp-a.net\r\nTo: sales@diversicomcorp.com\r\nSubject: bench %d\r\n"
            "Message-ID: <bench-%d@isp-a.net>\r\n\r\n" % (i, i))
    line = "imap bench body text, the same on every line of every message..\r\n"
    body = (line * (SIZE // len(line) + 1))[: SIZE - len(head) - 2] + "\r\n"
    return (head + body).encode()


def fill(bridge):
    import smtplib
    with smtplib.SMTP("127.0.0.1", bridge.smtp_port, timeout=TIMEOUT) as s:
        s.login("alice", "wonderland")
        for i in range(N):
            s.sendmail("alice@isp-a.net", ["sales@diversicomcorp.com"], message(i))


def maildir_of(spool):
    for root, dirs, _ in os.walk(os.path.join(spool, "mail")):
        if os.path.basename(root) == USER and "new" in dirs:
            return root
    return None


def count_files(md):
    return sum(len(os.listdir(os.path.join(md, d))) for d in ("new", "cur"))


def session(port, out, idx, barrier):
    barrier.wait()
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    f = s.makefile("rb", buffering=1 << 16)
    f.readline()
    s.sendall(b"a LOGIN %s %s\r\nb EXAMINE INBOX\r\nc UID FETCH 1:* (BODY.PEEK[])\r\n"
              % (USER.encode(), PASSWORD.encode()))
    literals = 0
    while True:
        line = f.readline()
        if not line:
            break
        m = re.search(rb"\{(\d+)\}\r\n$", line)
        if m:
            f.read(int(m.group(1)))
            literals += 1
            continue
        if line.startswith((b"a ", b"b ")) and not line[2:].startswith(b"OK"):
            sys.stderr.write("imap bench: %r\n" % line)
            break
        if line.startswith(b"c "):
            if literals == 0:
                sys.stderr.write("imap bench: %r\n" % line)
            break
    s.sendall(b"z LOGOUT\r\n")
    s.close()
    out[idx] = (literals, time.monotonic())


def run(port):
    out = [None] * SESSIONS
    barrier = threading.Barrier(SESSIONS + 1)
    threads = [threading.Thread(target=session, args=(port, out, i, barrier))
               for i in range(SESSIONS)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    if any(o is None or o[0] != N for o in out):
        if LOG and os.path.exists(LOG):
            sys.stderr.write(open(LOG).read()[-3000:])
        raise SystemExit("bench-bridge IMAP: a session fetched %r messages, not %d"
                         % ([o and o[0] for o in out], N))
    return SESSIONS * N / (max(o[1] for o in out) - t0)


LOG = None


def start_dovecot(tmp, maildir, port):
    global LOG
    LOG = os.path.join(tmp, "dovecot.log")
    return bridgelib.start_dovecot(tmp, "maildir:%s:INBOX=%s" % (maildir, maildir), maildir, port,
                                   PASSWORD, process_limit=64)


def main():
    tmp = tempfile.mkdtemp(prefix="mailsim-bench-imap-")
    os.chmod(tmp, 0o711)  # Dovecot's mail processes (nobody) pass through it
    spool = os.path.join(tmp, "spool")
    dproc = None
    b = Bridge("--speed", "max", "--imap", "0=mx-corp", "--spool", spool, "--max-connections",
               str(SESSIONS + 8))
    try:
        fill(b)
        md = None
        deadline = time.time() + 120
        while time.time() < deadline:
            md = maildir_of(spool)
            if md and count_files(md) >= N:
                break
            time.sleep(0.2)
        if not md or count_files(md) != N:
            raise SystemExit("bench-bridge IMAP: the Maildir holds %s of %d messages"
                             % (md and count_files(md), N))
        copy = os.path.join(tmp, "dovecot-maildir")
        shutil.copytree(md, copy)
        dport = free_port()
        dproc = start_dovecot(tmp, copy, dport)
        run(b.imap_port)
        run(dport)
        ours, theirs = [], []
        for _ in range(REPS):
            ours.append(run(b.imap_port))
            theirs.append(run(dport))
        o, t = statistics.median(ours), statistics.median(theirs)
        print("imap fetch: %d sessions x %d messages of %d B (UID FETCH 1:* BODY.PEEK[]): "
              "mailsim bridge %.0f msg/s, dovecot imapd %.0f msg/s, ratio %.2f (median of %d)"
              % (SESSIONS, N, SIZE, o, t, o / t, REPS))
    finally:
        if dproc:
            dproc.send_signal(signal.SIGTERM)
            try:
                dproc.wait(10)
            except subprocess.TimeoutExpired:
                dproc.kill()
        b._reap()
        shutil.rmtree(tmp, ignore_errors=True)


main()

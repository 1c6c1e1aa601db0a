"""--spool under kill -9: concurrent senders (smtplib threads) send to two
mailboxes on two simulated servers while a POP3 client deletes some of
what arrived in the first (often before the copy for the second, one
simulated SMTP hop away, is stored); the bridge is killed with SIGKILL at a random moment,
restarted on the same directory, and so on for several rounds. At the
end every message that got a 250 is in each of its two mailboxes exactly
once (through POP3 and in the Maildir files), what POP3 deleted stays
deleted, and messages whose 250 never came are there at most once.
Python's mailbox.Maildir, an independent implementation, reads the same
messages, and one it adds is served after a restart. Then
a failed write: a spool that cannot be written answers 451 4.3.0, never
250; a Maildir that cannot be written keeps the spool file, and a
restart delivers the message once.

The seed of the random moments is printed; CRASH_SEED=N repeats a run."""
import glob
import mailbox
import os
import poplib
import random
import re
import shutil
import signal
import smtplib
import tempfile
import threading
import time

from bridgelib import Bridge, arm, check, wait_for, TIMEOUT

arm(100)

ROUNDS = 6
THREADS = 8
RCPTS = ["feedback@diversicomcorp.com", "alice@isp-a.net"]
BOXES = {"feedback": ("mx.diversicomcorp.com", "suggestion-box", "0=mx-corp"),
         "alice": ("smtp.isp-a.net", "wonderland", "0=smtp-isp")}
seed = int(os.environ.get("CRASH_SEED") or time.time_ns() % 1000000)
print("crash.py: seed %d" % seed)
rng = random.Random(seed)

acked, tried, deleted, unsure = set(), set(), set(), set()
lock = threading.Lock()


def token_of(data):
    m = re.search(rb"^Subject: (crash-\S+)", data, re.M)
    return m.group(1).decode() if m else None


def sender(port, rnd, t, stop):
    n = 0
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as c:
            while not stop.is_set():
                tok = "crash-r%d-t%d-n%d" % (rnd, t, n)
                n += 1
                msg = ("From: sender@example.org\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n"
                       "\r\nbody of %s\r\n" % (tok, tok, tok)).encode()
                with lock:
                    tried.add(tok)
                refused = c.sendmail("sender@example.org", RCPTS, msg)
                if not refused:
                    with lock:
                        acked.add(tok)
    except (OSError, smtplib.SMTPException):
        return  # the bridge died under us: the last message's fate is unknown


def pop3(port, user, delete_some=0):
    """Tokens of the maildrop's messages; or reads and deletes only the
    newest `delete_some` (their copies for the other box are likely still
    on their way), counted deleted once QUIT is answered (unsure before)."""
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    p.user(user)
    p.pass_(BOXES[user][1])
    count, _ = p.stat()
    toks, gone = [], []
    for i in range(max(1, count - delete_some + 1) if delete_some else 1, count + 1):
        _, lines, _ = p.retr(i)
        tok = token_of(b"\r\n".join(lines))
        toks.append(tok)
        if delete_some:
            p.dele(i)
            gone.append(tok)
    with lock:
        unsure.update(gone)
    p.quit()
    with lock:
        deleted.update(gone)
        unsure.difference_update(gone)
    return toks


def deleter(port, stop):
    """POP3 sessions on alice's box while the senders run."""
    try:
        while not stop.is_set():
            pop3(port, "alice", delete_some=2)
            time.sleep(0.1)
    except (OSError, poplib.error_proto, EOFError) as e:
        return


def maildir_tokens(spool, server, user):
    toks = []
    for sub in ("new", "cur"):
        for path in glob.glob(os.path.join(spool, "mail", server, user, sub, "*")):
            with open(path, "rb") as f:
                toks.append(token_of(f.read()))
    return toks


spool = tempfile.mkdtemp(prefix="mailsim-crash-")
try:
    t0 = time.time()
    for rnd in range(ROUNDS):
        # Speed 0.2: the simulated hop to mx.diversicomcorp.com takes wall
        # time, so kills and deletions land while copies are on their way.
        b = Bridge("--speed", "0.2", "--spool", spool, pop3="0=smtp-isp")
        stop = threading.Event()
        threads = [threading.Thread(target=sender, args=(b.smtp_port, rnd, t, stop), daemon=True)
                   for t in range(THREADS)]
        threads.append(threading.Thread(target=deleter, args=(b.pop3_port, stop), daemon=True))
        for th in threads:
            th.start()
        time.sleep(rng.uniform(0.3, 2.5))
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait(timeout=TIMEOUT)
        stop.set()
        for th in threads:
            th.join(timeout=TIMEOUT)
    check(len(acked) >= 20, "%d rounds of SIGKILL at random moments; %d messages got a 250, %d did not"
          % (ROUNDS, len(acked), len(tried - acked)))

    check(glob.glob(spool + "/gone/*"), "some deletions hit a copy whose spool file was still waiting (%d tombstones, %d spool files)"
          % (len(glob.glob(spool + "/gone/*")), len(glob.glob(spool + "/w*.msg"))))
    # The last start recovers the spool; then nothing may be waiting.
    boxes = {}
    for user, (server, _, listen) in sorted(BOXES.items()):
        b = Bridge("--speed", "max", "--spool", spool, pop3=listen)
        check(wait_for(lambda: not glob.glob(spool + "/w*.msg")), "%s: the spool empties after a restart" % user)
        toks = pop3(b.pop3_port, user)
        rc, text, st = b.stop()
        check(rc == 0 and "accounting: balanced" in text, "  clean stop, balanced")
        boxes[user] = toks
        on_disk = maildir_tokens(spool, server, user)
        check(sorted(on_disk) == sorted(toks), "  %s: POP3 lists exactly the Maildir's %d files" % (user, len(on_disk)))
    for user, toks in sorted(boxes.items()):
        counts = {}
        for tok in toks:
            counts[tok] = counts.get(tok, 0) + 1
        expect = acked - deleted - unsure if user == "alice" else acked
        missing = sorted(expect - set(counts))
        twice = sorted(t for t, n in counts.items() if n > 1)
        stray = sorted(t for t in counts if t not in tried)
        check(not missing, "%s: every message acknowledged with 250 is there (missing: %s)" % (user, missing[:5]))
        check(not twice, "%s: none is there twice (%s)" % (user, twice[:5]))
        check(not stray, "%s: nothing unknown (%s)" % (user, stray[:5]))
        if user == "alice":
            back = sorted(deleted & set(counts))
            check(deleted and not back, "alice: the %d messages POP3 deleted (QUIT answered) stay deleted (back: %s)"
                  % (len(deleted), back[:5]))
    print("crash.py: rounds took %.1f s" % (time.time() - t0))

    # An independent Maildir implementation (Python's mailbox) reads the
    # same messages; one it adds, as another delivery agent would, is
    # served after a restart, with the same UIDL after the next one.
    md = mailbox.Maildir(os.path.join(spool, "mail", "mx.diversicomcorp.com", "feedback"), factory=None, create=False)
    check(sorted(token_of(m.as_bytes()) for m in md) == sorted(boxes["feedback"]),
          "Python's mailbox.Maildir reads the same %d messages" % len(boxes["feedback"]))
    md.add(b"Subject: crash-foreign\r\n\r\nadded by another program\r\n")
    uidls = []
    for _ in range(2):
        b = Bridge("--speed", "max", "--spool", spool, pop3="0=mx-corp")
        p = poplib.POP3("127.0.0.1", b.pop3_port, timeout=TIMEOUT)
        p.user("feedback")
        p.pass_(BOXES["feedback"][1])
        uidls.append(p.uidl()[1])
        n = len(uidls[-1])
        last = token_of(b"\r\n".join(p.retr(n)[1]))
        p.quit()
        b.stop()
    check(last == "crash-foreign" and uidls[0] == uidls[1],
          "a message added with mailbox.Maildir is served, and every UIDL is the same after a restart")

    # A spool that cannot be written: 451 4.3.0, and the message is not taken.
    b = Bridge("--speed", "max", "--spool", spool, pop3="0=mx-corp")
    moved = spool + ".moved"
    os.rename(spool, moved)
    with open(spool, "w") as f:
        f.write("a file where the spool directory was\n")
    try:
        with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
            c.sendmail("sender@example.org", RCPTS, b"Subject: crash-unwritable\r\n\r\nno\r\n")
        check(False, "a spool that cannot be written refuses the message")
    except smtplib.SMTPDataError as e:
        check(e.smtp_code == 451 and e.smtp_error.startswith(b"4.3.0"),
              "a spool that cannot be written refuses the message with 451 4.3.0 (%d %r)" % (e.smtp_code, e.smtp_error))
    os.unlink(spool)
    os.rename(moved, spool)
    rc, text, st = b.stop()
    check(st["bridge-spool.spooled"] == "0" and st["bridge-mail.accepted"] == "0", "  nothing spooled, nothing accepted")

    # A Maildir that cannot be written: the spool keeps the message.
    tmp = os.path.join(spool, "mail", "mx.diversicomcorp.com", "feedback", "tmp")
    b = Bridge("--speed", "max", "--spool", spool, pop3="0=mx-corp")
    os.rmdir(tmp)
    with open(tmp, "w") as f:
        f.write("a file where tmp/ was\n")
    with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
        c.sendmail("sender@example.org", RCPTS, b"Subject: crash-maildir-failed\r\n\r\nkept\r\n")
    time.sleep(1)
    check(len(glob.glob(spool + "/w*.msg")) == 1, "a Maildir write that fails leaves the spool file in place")
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(timeout=TIMEOUT)
    os.unlink(tmp)
    b = Bridge("--speed", "max", "--spool", spool, pop3="0=mx-corp")
    check(wait_for(lambda: not glob.glob(spool + "/w*.msg")), "after a restart it is delivered and the spool file goes")
    toks = pop3(b.pop3_port, "feedback")
    check(toks.count("crash-maildir-failed") == 1, "  once to the mailbox whose write had failed")
    rc, text, st = b.stop()
    check(st["bridge-spool.recovered_dup"] == "1", "  and not again to the one that had it (recovered_dup=1)")
    check(maildir_tokens(spool, "smtp.isp-a.net", "alice").count("crash-maildir-failed") == 1, "  alice has it once")
finally:
    shutil.rmtree(spool, ignore_errors=True)
    shutil.rmtree(spool + ".moved", ignore_errors=True)
    if os.path.isfile(spool):
        os.unlink(spool)

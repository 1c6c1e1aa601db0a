"""--relay-out and --spool: mail for outside the world goes to a real SMTP
server (a small sink on loopback, in this script) with retries after a
4xx; mail acknowledged with 250 survives a SIGKILL of the bridge in the
spool and is delivered after a restart, then removed from the spool."""
import glob
import shutil
import signal
import smtplib
import tempfile

from bridgelib import Bridge, Sink, arm, check, free_port, pop3_fetch_all, wait_for, TIMEOUT

arm(150)


OUT = b"From: alice@isp-a.net\r\nTo: friend@elsewhere.example\r\nSubject: out\r\nMessage-ID: <out-1@isp-a.net>\r\n\r\nto the real world\r\n.dot line\r\n"

# A. Relay out, with one 451 before success.
sink = Sink(fail_first=1)
b = Bridge("--speed", "max", "--relay-out", "127.0.0.1:%d" % sink.server_address[1], "--relay-retry", "300ms")
with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
    c.ehlo("client.example")
    try:
        c.sendmail("someone@example.org", ["friend@elsewhere.example"], OUT)
        check(False, "without AUTH, outside mail is refused even with --relay-out")
    except smtplib.SMTPRecipientsRefused:
        check(True, "without AUTH, outside mail is refused even with --relay-out")
    c.login("alice", "wonderland")
    c.sendmail("alice@isp-a.net", ["friend@elsewhere.example", "sales@diversicomcorp.com"], OUT)
check(wait_for(lambda: sink.got), "the relay hands the message to the real server (after a 451 and a retry)")
frm, rcpts, data = sink.got[0]
check(frm == "alice@isp-a.net" and rcpts == ["friend@elsewhere.example"], "  with the outside recipient only")
check(data == OUT, "  byte-exact")
rc, text, st = b.stop()
check(rc == 0 and "accounting: balanced" in text, "clean stop, balanced")
check(st["bridge-mail.relay_sent"] == "1" and st["bridge-mail.relay_attempts"] == "2" and st["bridge-mail.relay_queued"] == "0",
      "relay statistics: 1 sent in 2 attempts, none queued")
check(st["sim-mail.delivered"] == "2", "the in-world recipient was delivered by the simulation (plus lesson 1's own)")

# B. World mail in the spool survives SIGKILL.
spool = tempfile.mkdtemp(prefix="mailsim-spool-")
try:
    b = Bridge("--speed", "0.0001", "--spool", spool)
    with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
        c.sendmail("someone@example.org", ["feedback@diversicomcorp.com"],
                   b"Subject: spooled\r\nMessage-ID: <spool-1@example.org>\r\n\r\nkept on disk\r\n")
    files = glob.glob(spool + "/w*.msg")
    check(len(files) == 1, "a 250 means the message is in the spool")
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(timeout=TIMEOUT)
    b = Bridge("--speed", "max", "--spool", spool, pop3="0=mx-corp")
    # (feedback@: lesson 1's own client fetches, and deletes, sales@ mail)
    got = wait_for(lambda: pop3_fetch_all(b.pop3_port, "feedback", "suggestion-box"))
    check(len(got) == 1 and got[0].endswith(b"\r\n\r\nkept on disk\r\n"), "after SIGKILL and a restart, the spooled mail is delivered")
    check(wait_for(lambda: not glob.glob(spool + "/*.msg")), "and its spool file is removed once delivered")
    rc, text, st = b.stop()
    check(st["bridge-spool.recovered"] == "1" and "accounting: balanced" in text, "recovered=1, balanced")

    # C. Relay mail in the spool survives SIGKILL while the real server is down.
    b = Bridge("--speed", "max", "--spool", spool, "--relay-out", "127.0.0.1:%d" % free_port(), "--relay-retry", "10s")
    with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
        c.login("alice", "wonderland")
        c.sendmail("alice@isp-a.net", ["friend@elsewhere.example"], OUT)
    check(len(glob.glob(spool + "/r*.msg")) == 1, "relay mail waits in the spool while the real server is down")
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(timeout=TIMEOUT)
    sink2 = Sink()
    b = Bridge("--speed", "max", "--spool", spool, "--relay-out", "127.0.0.1:%d" % sink2.server_address[1])
    check(wait_for(lambda: sink2.got) and sink2.got[0][2] == OUT, "after a restart it reaches the real server, byte-exact")
    check(wait_for(lambda: not glob.glob(spool + "/*.msg")), "and leaves the spool")
    rc, text, st = b.stop()
    check(rc == 0 and st["bridge-spool.recovered"] == "1" and st["bridge-mail.relay_sent"] == "1", "recovered and sent")
finally:
    shutil.rmtree(spool, ignore_errors=True)

"""Real clients against `mailsim bridge`: Python's smtplib and poplib, and
swaks. Mail sent over the bridge is delivered by the simulation (to a
mailbox of the same server, and across the simulated Internet to another
one) and retrieved byte-exact over POP3; AUTH and the relay rules hold;
the statistics printed at SIGTERM balance."""
import base64
import os
import shutil
import smtplib
import subprocess
import sys

from bridgelib import Bridge, arm, check, pop3_fetch_all, wait_for, TIMEOUT

arm(150)
# POP3 on the company's server: mail sent to the ISP's server over the bridge
# crosses the simulated Internet to get there.
b = Bridge("--speed", "max", pop3="0=mx-corp", quiet=False)

# A message with leading-dot lines, 8-bit UTF-8 text and a 3 MiB attachment.
blob = base64.encodebytes(os.urandom(3 * 1024 * 1024)).replace(b"\n", b"\r\n")
msg = (b"From: Outside <someone@example.org>\r\n"
       b"To: sales@diversicomcorp.com, alice@isp-a.net\r\n"
       b"Subject: bridge test\r\n"
       b"Message-ID: <bridge-test-1@example.org>\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
       b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
       b".a line that starts with a dot\r\n..two dots\r\n.\r\n"
       + "Grüße aus Köln, ünïcödé ✓\r\n".encode("utf-8") +
       b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
       + blob + b"--b1--\r\n")
with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as s:
    s.ehlo("client.example.org")
    refused = s.sendmail("someone@example.org", ["sales@diversicomcorp.com", "alice@isp-a.net"], msg,
                         mail_options=["BODY=8BITMIME"])
    check(refused == {}, "smtplib: a 3 MiB 8-bit message to two recipients in the world is accepted without AUTH")

got = wait_for(lambda: pop3_fetch_all(b.pop3_port, "sales", "quarterly-numbers"))
check(len(got) == 1, "poplib: sales@diversicomcorp.com has the message, delivered by the simulation")
check(got[0].endswith(msg), "poplib: the retrieved message ends with the bytes sent, exactly")
check(got[0].startswith(b"Return-Path: <someone@example.org>\r\nReceived: from smtp.isp-a.net"),
      "the stored copy carries Return-Path: and the simulated hop's Received: header")
check(b"by smtp.isp-a.net (mailsim bridge) with ESMTP" in got[0], "and the bridge's own Received: header")

# AUTH and relay rules.
with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as s:
    s.ehlo("client.example.org")
    code, _ = s.docmd("MAIL FROM:<someone@example.org>")
    check(code == 250, "MAIL FROM without AUTH")
    code, text = s.docmd("RCPT TO:<friend@elsewhere.example>")
    check(code == 554 and b"5.7.1" in text, "no AUTH: mail for outside the world is refused (554 5.7.1, no open relay)")
    code, text = s.docmd("RCPT TO:<nobody@diversicomcorp.com>")
    check(code == 550 and b"5.1.1" in text, "an unknown user in a simulated domain: 550 5.1.1")
    s.docmd("RSET")
    try:
        s.login("alice", "wrong")
        check(False, "a wrong password is refused")
    except smtplib.SMTPAuthenticationError as e:
        check(e.smtp_code == 535, "a wrong password is refused (535)")
with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as s:
    s.ehlo("client.example.org")
    s.login("alice@isp-a.net", "wonderland")
    s.docmd("MAIL FROM:<alice@isp-a.net>")
    code, text = s.docmd("RCPT TO:<friend@elsewhere.example>")
    check(code == 554, "AUTH but no --relay-out: outside mail still refused")
    s.docmd("RSET")
    s.sendmail("alice@isp-a.net", ["sales@diversicomcorp.com"],
               b"From: alice@isp-a.net\r\nTo: sales@diversicomcorp.com\r\nSubject: second\r\n\r\nvia AUTH PLAIN\r\n")
    check(True, "AUTH PLAIN as alice, then a message into the world")

# swaks, when installed (tools/deps.sh installs it).
swaks = shutil.which("swaks")
if swaks:
    r = subprocess.run([swaks, "--server", "127.0.0.1", "--port", str(b.smtp_port), "--from", "swaks@example.org",
                        "--to", "feedback@diversicomcorp.com", "--header", "Subject: from swaks",
                        "--body", "hello from swaks", "--timeout", "10", "--auth", "LOGIN",
                        "--auth-user", "alice", "--auth-password", "wonderland"],
                       capture_output=True, timeout=TIMEOUT)
    check(r.returncode == 0 and b"250 2.0.0 Ok: queued" in r.stdout, "swaks: AUTH LOGIN and a message accepted")
else:
    print("SKIPPED: swaks not installed (tools/deps.sh installs the Debian package swaks)")

if swaks:
    fb = wait_for(lambda: pop3_fetch_all(b.pop3_port, "feedback", "suggestion-box"))
    check(len(fb) == 1 and b"hello from swaks" in fb[0], "the swaks message reached feedback@ through the simulation")

rc, text, st = b.stop()
check(rc == 0, "the bridge exits 0 on SIGTERM")
check("accounting: balanced" in text, "the accounting balances")
n = 3 if swaks else 2
check(st.get("bridge-mail.accepted") == str(n), "%d messages acknowledged" % n)
check(st.get("sim-mail.queued") == "0", "the simulation delivered everything (nothing queued)")
check(int(st.get("sim-mail.delivered", 0)) == 1 + n + 1, "deliveries counted in the simulation's statistics")
check("accepts a message from a real client at 127.0.0.1, over the bridge" in text, "the narration tells the bridged mail's story")
check("mx.diversicomcorp.com deletes 1 message of sales" in text, "POP3 deletions over the bridge show in the narration")

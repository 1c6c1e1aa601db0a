"""Hostile clients against `mailsim bridge`: overlong lines, SMTP smuggling
probes, NUL and garbage, a pipelined command flood, 200 concurrent
connections over the limit, a slow sender, a silent client, a disconnect
mid-DATA, size and recipient limits, POP3 abuse. Afterwards the bridge
still serves a normal session, only the legitimate mail was delivered, and
the accounting balances."""
import os
import smtplib
import socket
import time

from bridgelib import Bridge, arm, check, pop3_fetch_all, recv_reply, recv_until_closed, TIMEOUT

arm(150)
b = Bridge("--speed", "max", "--idle-timeout", "2s", "--command-timeout", "3s", "--max-connections", "100",
           "--max-recipients", "5", "--max-size", "200000")
ENVELOPE = b"EHLO probe.example\r\nMAIL FROM:<probe@example.org>\r\nRCPT TO:<alice@isp-a.net>\r\nDATA\r\n"


def session():
    s = b.connect()
    g = recv_reply(s)
    assert g.startswith("220"), g
    return s


def transact(s, data):
    s.sendall(data)
    return recv_reply(s)


def start_data(s):
    out = ""
    s.sendall(ENVELOPE)
    while "354" not in out:
        out += recv_reply(s)
    return out


# 1. An overlong command line is answered once and the stream stays in step.
s = session()
r = transact(s, b"EHLO " + b"a" * 600 + b"\r\n")
check(r.startswith("500") and "too long" in r, "overlong command line: 500 Line too long")
check(transact(s, b"NOOP\r\n").startswith("250"), "the session stays in step after it")
s.close()

# 2. An overlong text line makes the message refused (not split).
s = session()
start_data(s)
r = transact(s, b"Subject: long\r\n\r\n" + b"x" * 1200 + b"\r\n.\r\n")
check(r.startswith("554 5.6.0"), "text line over 1000 octets: 554 5.6.0, message refused")
s.close()

# 3. Smuggling probes: <LF>.<LF> and <CR>.<CR> do not end the data.
for probe in (b"\n.\n", b"\r.\r"):
    s = session()
    start_data(s)
    s.sendall(b"Subject: probe\r\n\r\nhello" + probe + b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@isp-a.net>\r\n"
              b"DATA\r\nsmuggled\r\n.\r\n")
    r = recv_reply(s)
    check(r.startswith("554 5.6.0") and r.count("\r\n") == 1, "smuggling probe %r: one reply, 554 5.6.0" % probe)
    check(transact(s, b"QUIT\r\n").startswith("221"), "  and the next command is the client's QUIT")
    s.close()

# 4. NUL and garbage: errors, then 421 after the error limit; the bridge survives.
s = session()
r = transact(s, b"NOOP\x00\r\n")
check(r.startswith("500"), "NUL in a command: 500")
s.sendall(b"".join(os.urandom(60).replace(b"\n", b"") + b"\r\n" for _ in range(40)))
out = recv_until_closed(s)
check("\r\n421 " in out and "Too many errors" in out, "garbage: the session ends with 421 after too many errors")
s.close()

# 5. A pipelined flood of commands without reading replies.
s = session()
s.sendall(b"EHLO flood.example\r\n" + b"NOOP\r\n" * 5000 + b"QUIT\r\n")
out = recv_until_closed(s, timeout=30)
check(out.count("\r\n250 2.0.0") + out.startswith("250 2.0.0") >= 5000 and out.rstrip().split("\r\n")[-1].startswith("221"),
      "pipelined flood of 5000 NOOPs: every one answered in order, then 221")
s.close()

# 6. 200 concurrent connections against a limit of 100.
socks = [b.connect() for _ in range(200)]
greet = [recv_reply(x) for x in socks]
ok = sum(1 for g in greet if g.startswith("220"))
busy = sum(1 for g in greet if g.startswith("421 4.7.0"))
check(ok == 100 and busy == 100, "200 concurrent connections: 100 served, 100 told 421 4.7.0 (got %d/%d)" % (ok, busy))
for x in socks:
    x.close()
time.sleep(0.5)

# 7. A slow sender (one octet every 0.4 s) and a silent client: 421 4.4.2.
s = session()
t0 = time.time()
out = ""
try:
    for ch in b"EHLO slowly.example\r\n":
        s.sendall(bytes([ch]))
        time.sleep(0.4)
except (BrokenPipeError, ConnectionResetError):
    pass
out = recv_until_closed(s)
check("421 4.4.2" in out and time.time() - t0 < 8, "slow sender: 421 4.4.2 after the command timeout")
s.close()
s = session()
t0 = time.time()
out = recv_until_closed(s, timeout=10)
check(out.startswith("421 4.4.2") and 1.5 < time.time() - t0 < 6, "silent client: 421 4.4.2 after the idle timeout")
s.close()

# 8. A disconnect in the middle of DATA: the half message is never delivered.
s = session()
start_data(s)
s.sendall(b"Subject: half\r\n\r\n" + b"half a message\r\n" * 1000)
s.close()

# 9. Size and recipient limits.
s = session()
s.sendall(b"EHLO limits.example\r\n")
recv_reply(s)
check(transact(s, b"MAIL FROM:<a@example.org> SIZE=300000\r\n").startswith("552"), "SIZE= over --max-size: 552")
check(transact(s, b"MAIL FROM:<a@example.org>\r\n").startswith("250"), "MAIL FROM")
codes = [transact(s, b"RCPT TO:<alice@isp-a.net>\r\n")[:3] for _ in range(6)]
check(codes[:5] == ["250"] * 5 and codes[5] == "452", "recipients over --max-recipients: 452 (got %s)" % codes)
check(transact(s, b"DATA\r\n").startswith("354"), "DATA")
r = transact(s, b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 250 + b".\r\n")
check(r.startswith("552 5.3.4"), "content over --max-size: 552 5.3.4")
s.close()

# 10. POP3 abuse: a command before login, an overlong line, a wrong password (delayed).
p = b.connect(b.pop3_port)
pf = p.makefile("rb")   # one reply line at a time, whatever the segment boundaries
recv_reply_pop = lambda: pf.readline().decode("latin-1")
check(recv_reply_pop().startswith("+OK"), "POP3 greeting")
p.sendall(b"RETR 1\r\n")
check(recv_reply_pop().startswith("-ERR"), "POP3 RETR before login: -ERR")
p.sendall(b"USER " + b"u" * 400 + b"\r\n")
check(recv_reply_pop().startswith("-ERR"), "POP3 overlong line: -ERR")
p.sendall(b"USER alice\r\nPASS nope\r\n")
check(recv_reply_pop().startswith("+OK"), "USER alice")
t0 = time.time()
r = recv_reply_pop()
check(r.startswith("-ERR") and time.time() - t0 >= 1.5, "wrong password: -ERR after the failed-login delay (%.1f s): %r" % (time.time() - t0, r[:60]))
pf.close()
p.close()

# 11. After all that, a normal session works and only it delivered mail.
with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
    c.sendmail("friend@example.org", ["alice@isp-a.net"], b"Subject: normal\r\nMessage-ID: <normal@example.org>\r\n\r\nstill here\r\n")
got = pop3_fetch_all(b.pop3_port, "alice", "wonderland")
check(len(got) == 1 and got[0].endswith(b"\r\n\r\nstill here\r\n"), "a normal session afterwards: exactly one message delivered")

rc, text, st = b.stop()
check(rc == 0 and "accounting: balanced" in text, "SIGTERM: clean exit, accounting balanced")
check(st["bridge-mail.accepted"] == "1", "only the normal message was acknowledged")
check(st["bridge-stats.refused"] == "100", "refused connections counted")
check(int(st["bridge-stats.timeouts"]) >= 2, "timeouts counted")
check(int(st["bridge-stats.aborted"]) >= 1, "the mid-DATA disconnect counted as aborted")
check(st["sim-mail.queued"] == "0", "nothing left queued in the simulation")

"""Mail leaving the simulated world through --relay-out, and the bridge's
protocol lines in the narration.

A. Simulated mail (tests/bridge/outbound.xml: Alice's simulated mail
   program writes to three domains outside the world) goes out through the
   bridge to a real SMTP server on loopback: the accepted one arrives with
   its body intact and the simulated hops' Received: headers; the one the
   real server refuses (550) comes back to Alice as a DSN; the one it always
   defers (451) is retried on the simulated server's own schedule and given
   up after the Postfix profile's 5 simulated days with a DSN carrying the
   last deferral's status (4.3.0), as Postfix's bounce does. The
   narration at --level protocol shows the bridge's SMTP and POP3 lines and
   the relay's lines next to the simulated ones.
B. A real client's relay mail: a 5xx from the real server bounces to the
   sender (a DSN in Alice's simulated mailbox), and a real server that
   never answers makes it give up after --relay-give-up (wall clock)."""
import os
import smtplib

from bridgelib import Bridge, Sink, arm, check, free_port, pop3_fetch_all, wait_for, TIMEOUT

arm(120)
HERE = os.path.dirname(os.path.abspath(__file__))

# A. Simulated mail out.
sink = Sink(rcpt_replies={"refused.example": "550 5.1.1 <nobody@refused.example>: no such user here",
                          "tempfail.example": "451 4.3.0 try again later"})
b = Bridge("--speed", "max", "--relay-out", "127.0.0.1:%d" % sink.server_address[1], "--level", "protocol",
           scenario=os.path.join(HERE, "outbound.xml"), quiet=False)
check(wait_for(lambda: sink.got), "simulated mail for elsewhere.example reaches the real server")
frm, rcpts, data = sink.got[0]
check(frm == "alice@isp-a.net" and rcpts == ["friend@elsewhere.example"], "  from Alice, to the outside recipient")
check(data.endswith(b"\r\nLeaving the simulation.\r\n.a line with a leading dot\r\n"), "  the body intact (a leading dot too)")
check(data.startswith(b"Received: from smtp.isp-a.net") or b"by smtp.isp-a.net" in data.split(b"\r\n\r\n")[0],
      "  with the simulated server's Received: header")


def dsns():
    return [m for m in pop3_fetch_all(b.pop3_port, "alice", "wonderland", delete=False) if b"Undelivered Mail" in m]


got = wait_for(lambda: len(dsns()) >= 2 and dsns(), timeout=60)
check(got and len(got) == 2, "Alice gets two bounces")
check(any(b"Final-Recipient: rfc822; nobody@refused.example" in m and b"Status: 5.1.1" in m for m in got),
      "  the real server's 550 5.1.1 to nobody@refused.example, as an RFC 3464 DSN")
check(any(b"Final-Recipient: rfc822; someone@tempfail.example" in m and b"Status: 4.3.0" in m
          and b"Action: failed" in m for m in got),
      "  someone@tempfail.example given up (4.3.0, the last deferral's) after the simulated retry schedule")
rc, text, st = b.stop()
check(rc == 0 and "accounting: balanced" in text, "clean stop, balanced")
check(st["sim-mail.queued"] == "0" and st["sim-mail.bounced"] == "2", "nothing queued; 2 recipients bounced")
check("hands the message for elsewhere.example to the real Internet" in text, "the narration tells the handoff")
check("the real server takes the message for friend@elsewhere.example" in text, "  and its outcome")
attempts = text.count("hands the message for tempfail.example")
check(attempts > 10, "the 451 destination was tried on the simulated schedule (%d tries)" % attempts)
check("smtp  smtp.isp-a.net -> real-peer: MAIL FROM:<alice@isp-a.net>" in text, "protocol level: the relay's lines")
check("smtp  real-peer -> smtp.isp-a.net: 250" in text, "  and the real server's replies")
check("pop3  real-peer -> smtp.isp-a.net: USER alice" in text and "pop3  smtp.isp-a.net -> real-peer: +OK" in text,
      "  the bridge's POP3 lines")

# B. A real client's relay mail: refused, then never answered.
sink = Sink(rcpt_replies={"refused.example": "550 5.1.1 no such user"})
b = Bridge("--speed", "max", "--relay-out", "127.0.0.1:%d" % sink.server_address[1], "--level", "protocol", quiet=False)
with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
    c.ehlo("client.example")
    c.login("alice", "wonderland")
    c.sendmail("alice@isp-a.net", ["nobody@refused.example"],
               b"From: alice@isp-a.net\r\nTo: nobody@refused.example\r\nSubject: refused\r\n\r\nno one there\r\n")
got = wait_for(lambda: [m for m in pop3_fetch_all(b.pop3_port, "alice", "wonderland") if b"Undelivered" in m])
check(got and b"Status: 5.1.1" in got[0] and b"Subject: refused" in got[0],
      "a real client's message refused by the real server comes back to the sender as a DSN")
rc, text, st = b.stop()
check(rc == 0 and "accounting: balanced" in text and st["bridge-mail.relay_failed"] == "1", "balanced, relay_failed=1")
check("smtp  real-peer -> smtp.isp-a.net: ehlo client.example" in text and
      "smtp  smtp.isp-a.net -> real-peer: 250 2.0.0 Ok: queued as relay" in text,
      "protocol level: the real client's SMTP session")

b = Bridge("--speed", "max", "--relay-out", "127.0.0.1:%d" % free_port(), "--relay-retry", "100ms",
           "--relay-give-up", "600ms")
with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as c:
    c.login("alice", "wonderland")
    c.sendmail("alice@isp-a.net", ["friend@elsewhere.example"], b"Subject: nowhere\r\n\r\nthe real server is down\r\n")
got = wait_for(lambda: [m for m in pop3_fetch_all(b.pop3_port, "alice", "wonderland") if b"Undelivered" in m])
check(got and b"Status: 4.4.7" in got[0], "a real server that never answers: bounced (4.4.7) after --relay-give-up")
rc, text, st = b.stop()
check(rc == 0 and st["bridge-mail.relay_queued"] == "0" and int(st["bridge-mail.relay_attempts"]) >= 2,
      "nothing left queued, after %s tries" % st["bridge-mail.relay_attempts"])

"""Load figures for the bridge (not part of make check): N client threads
each send M small messages over one SMTP session (RSET-free, one
transaction after another) to a user inside the world, with the
simulation at --speed max; prints messages per second acknowledged and the
statistics the bridge printed at SIGTERM.
    python3 tests/bridge/load.py ./mailsim [threads] [messages-per-thread] [size]"""
import smtplib
import sys
import threading
import time

from bridgelib import Bridge, arm

arm(600)
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
per = int(sys.argv[3]) if len(sys.argv) > 3 else 250
size = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
b = Bridge("--speed", "max", "--max-connections", str(threads + 4))
body = b"Subject: load\r\n\r\n" + (b"x" * 76 + b"\r\n") * max(1, size // 78)
errors = []


def worker(k):
    try:
        with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=60) as c:
            for i in range(per):
                c.sendmail("load@example.org", ["alice@isp-a.net"],
                           b"Message-ID: <load-%d-%d@example.org>\r\n" % (k, i) + body)
    except Exception as e:  # noqa: BLE001 - report any failure
        errors.append(repr(e))


t0 = time.time()
ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
dt = time.time() - t0
n = threads * per
rc, text, st = b.stop()
print("load: %d messages of %d octets over %d sessions in %.2f s: %.0f msg/s, %.1f MB/s; errors %d"
      % (n, len(body), threads, dt, n / dt, n * len(body) / dt / 1e6, len(errors)))
print("\n".join(l for l in text.splitlines() if l.startswith(("bridge-", "sim-mail", "accounting"))))

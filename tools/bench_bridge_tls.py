"""Load generator for `make bench-bridge`'s TLS line (smtp-source has no
TLS): SESSIONS processes, each one SMTP session that sends COUNT/SESSIONS
messages of SIZE octets (MAIL, RCPT, DATA one after the other, as
smtp-source -d does), in clear or after STARTTLS (TLS 1.3, the bridge's
certificate not checked: this measures, it does not test).

Usage: bench_bridge_tls.py PORT plain|starttls COUNT SESSIONS SIZE BRIDGE_PID
Prints: messages per second, then the bridge process's CPU time (user +
system, from /proc) per message in microseconds, so the cost of TLS in the
bridge is measured apart from the client's own."""
import multiprocessing
import os
import smtplib
import ssl
import sys
import time

port, mode, count, sessions, size, pid = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                                          int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
body = (b"From: bench@example.org\r\nTo: alice@isp-a.net\r\nSubject: bench\r\n\r\n"
        + b"x" * 70 + b"\r\n") * 1
body += (b"y" * 78 + b"\r\n") * max(0, (size - len(body)) // 80)


def cpu_us(p):
    with open("/proc/%d/stat" % p) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e6 / os.sysconf("SC_CLK_TCK")


def session(n):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    if mode == "starttls":
        s.starttls(context=ssl._create_unverified_context())
    s.ehlo("bench.example")
    for _ in range(n):
        s.sendmail("bench@example.org", ["alice@isp-a.net"], body)
    s.quit()
    return n


if __name__ == "__main__":
    per = [count // sessions + (1 if i < count % sessions else 0) for i in range(sessions)]
    with multiprocessing.Pool(sessions) as pool:
        c0, t0 = cpu_us(pid), time.time()
        done = sum(pool.map(session, per))
        t1, c1 = time.time(), cpu_us(pid)
    print("%.0f %.1f" % (done / (t1 - t0), (c1 - c0) / done))

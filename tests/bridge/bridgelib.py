"""Helpers for the bridge's integration tests: start `mailsim bridge` on
free loopback ports, read the ports it prints, stop it with SIGTERM and
parse the statistics it prints. Every socket has a timeout and every
script arms an alarm, so no test can hang make check."""
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

MAILSIM = (sys.argv[1] if len(sys.argv) > 1 else None) or os.environ.get("MAILSIM") or "./mailsim"
TIMEOUT = 20


def arm(seconds=120):
    """Kill the whole script if it runs longer than `seconds`."""
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(SystemExit("test timed out")))
    signal.alarm(seconds)


class Bridge:
    def __init__(self, *args, scenario=None, pop3="0", quiet=True):
        cmd = [MAILSIM, "bridge", "--smtp", "0", "--pop3", pop3] + (["-q"] if quiet else []) + list(args)
        if scenario:
            cmd.append(scenario)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.head = b""
        deadline = time.time() + TIMEOUT
        while b"\n" not in self.head:
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit("bridge did not start: %r %r" % (self.head, self.proc.stderr.read()))
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                self.head += os.read(self.proc.stdout.fileno(), 4096)
        m = re.search(rb"smtp [\d.]+:(\d+) pop3 [\d.]+:(\d+)", self.head)
        if not m:
            raise SystemExit("no ports in %r" % self.head)
        self.smtp_port, self.pop3_port = int(m.group(1)), int(m.group(2))

    def connect(self, port=None, timeout=10):
        s = socket.create_connection(("127.0.0.1", port or self.smtp_port), timeout=timeout)
        return s

    def stop(self, sig=signal.SIGTERM):
        """Stops the bridge; returns (exit status, stdout text, stats dict)."""
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=TIMEOUT)
        text = (self.head + out).decode("utf-8", "replace")
        stats = {}
        for line in text.splitlines():
            m = re.match(r"(bridge-\w+|sim-mail): (.*)", line)
            if m:
                for k, v in re.findall(r"(\w+)=(\S+)", m.group(2)):
                    stats[m.group(1) + "." + k] = v
        if err:
            sys.stderr.write(err.decode("utf-8", "replace"))
        return self.proc.returncode, text, stats


def recv_reply(sock, timeout=10):
    """Reads one complete SMTP reply (all its lines); returns it as text."""
    sock.settimeout(timeout)
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return buf.decode("latin-1")
        buf += chunk
        lines = buf.split(b"\r\n")
        for line in lines[:-1]:
            if len(line) >= 4 and line[3:4] == b" ":
                return buf.decode("latin-1")


def recv_until_closed(sock, timeout=10):
    sock.settimeout(timeout)
    buf = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return buf.decode("latin-1")


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)
    print("ok   " + what)


def pop3_fetch_all(port, user, password, delete=True):
    """All messages of a maildrop, as raw bytes (CRLF), deleted after."""
    import poplib
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    p.user(user)
    p.pass_(password)
    count, _ = p.stat()
    msgs = []
    for i in range(1, count + 1):
        _, lines, _ = p.retr(i)
        msgs.append(b"\r\n".join(lines) + b"\r\n")
        if delete:
            p.dele(i)
    p.quit()
    return msgs


def wait_for(fn, timeout=TIMEOUT, every=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    return fn()

"""Helpers for the bridge's integration tests: start `mailsim bridge` on
free loopback ports, read the ports it prints, stop it with SIGTERM and
parse the statistics it prints. Every socket has a timeout and every
script arms an alarm, so no test can hang make check."""
import atexit
import glob
import os
import re
import select
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time

MAILSIM = (sys.argv[1] if len(sys.argv) > 1 else None) or os.environ.get("MAILSIM") or "./mailsim"
TIMEOUT = 20


def arm(seconds=120):
    """Kill the whole script if it runs longer than `seconds`."""
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(SystemExit("test timed out")))
    signal.alarm(seconds)


class Bridge:
    """plaintext_auth: pass --allow-plaintext-auth, as the scripts written
    before TLS need (their clients log in without it); tls.py does not."""

    def __init__(self, *args, scenario=None, pop3="0", quiet=True, plaintext_auth=True, wrap=(),
                 wrap_execs=False):
        """wrap: a command the bridge runs under (e.g. /usr/bin/time -v);
        signals then go to the bridge itself, its child, unless wrap_execs
        (the wrapper becomes the bridge, as nsenter does)."""
        self.wrapped = bool(wrap) and not wrap_execs
        cmd = (list(wrap) + [MAILSIM, "bridge", "--smtp", "0", "--pop3", pop3] + (["-q"] if quiet else [])
               + (["--allow-plaintext-auth"] if plaintext_auth else []) + list(args))
        if scenario:
            cmd.append(scenario)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # A failed check exits the script (SystemExit): never leave the bridge behind.
        atexit.register(self._reap)
        self.head = b""
        deadline = time.time() + TIMEOUT
        # "bridge: tls-cert FILE ...", then "bridge: smtp ... speed X".
        while not re.search(rb"^bridge: .* speed \S+\n", self.head, re.M):
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit("bridge did not start: %r %r" % (self.head, self.proc.stderr.read()))
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                self.head += os.read(self.proc.stdout.fileno(), 4096)
        m = re.search(rb"smtp [\d.]+:(\d+) pop3 [\d.]+:(\d+)", self.head)
        if not m:
            raise SystemExit("no ports in %r" % self.head)
        self.smtp_port, self.pop3_port = int(m.group(1)), int(m.group(2))
        m = re.search(rb"smtps [\d.]+:(\d+)", self.head)
        self.smtps_port = int(m.group(1)) if m else None
        m = re.search(rb"pop3s [\d.]+:(\d+)", self.head)
        self.pop3s_port = int(m.group(1)) if m else None
        m = re.search(rb" imap [\d.]+:(\d+)", self.head)
        self.imap_port = int(m.group(1)) if m else None
        m = re.search(rb" imaps [\d.]+:(\d+)", self.head)
        self.imaps_port = int(m.group(1)) if m else None
        m = re.search(rb"^bridge: tls-cert (\S+) ", self.head, re.M)
        self.cert = m.group(1).decode() if m else None
        # Drain the narration as it comes: a full pipe would block the bridge.
        self.chunks = []
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _reap(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _drain(self):
        while True:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return
            self.chunks.append(chunk)

    def output(self):
        """The narration printed so far."""
        return (self.head + b"".join(self.chunks)).decode("utf-8", "replace")

    def connect(self, port=None, timeout=10):
        s = socket.create_connection(("127.0.0.1", port or self.smtp_port), timeout=timeout)
        return s

    def stop(self, sig=signal.SIGTERM):
        """Stops the bridge; returns (exit status, stdout text, stats dict)."""
        if self.wrapped:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                os.kill(int(f.read().split()[0]), sig)
        else:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=TIMEOUT)
        self.reader.join(timeout=TIMEOUT)
        err = self.proc.stderr.read()
        self.stderr_text = err.decode("utf-8", "replace")
        text = self.output()
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


def pop3_fetch_all(port, user, password, delete=True, cafile=None):
    """All messages of a maildrop, as raw bytes (CRLF), deleted after.
    Logs in after STLS (verifying the bridge's certificate when `cafile` is
    given), which works whether or not the bridge requires it."""
    import poplib
    import ssl
    p = poplib.POP3("127.0.0.1", port, timeout=TIMEOUT)
    p.stls(ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context())
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


class Sink(socketserver.ThreadingTCPServer):
    """A small real SMTP server on loopback: takes what it is sent and keeps
    it; fail_first answers the first N transactions with 451; rcpt_replies
    maps a recipient domain to the reply its RCPT gets."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, fail_first=0, rcpt_replies=None):
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.fail_left = fail_first
        self.rcpt_replies = rcpt_replies or {}
        self.got = []   # (from, [rcpts], data)
        self.sessions = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()


class SinkHandler(socketserver.StreamRequestHandler):
    timeout = 10

    def handle(self):
        srv = self.server
        srv.sessions += 1
        w = lambda s: self.wfile.write(s.encode() + b"\r\n")
        w("220 sink.example ESMTP")
        frm, rcpts = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").strip()
            up = cmd.upper()
            if up.startswith("EHLO"):
                w("250-sink.example\r\n250 PIPELINING")
            elif up.startswith("HELO"):
                w("250 sink.example")
            elif up.startswith("MAIL"):
                frm, rcpts = cmd[10:].strip("<>"), []
                w("250 ok")
            elif up.startswith("RCPT"):
                rcpt = cmd[8:].strip("<>")
                reply = srv.rcpt_replies.get(rcpt.rsplit("@", 1)[-1].lower())
                if reply:
                    w(reply)
                else:
                    rcpts.append(rcpt)
                    w("250 ok")
            elif up == "DATA" and not rcpts:
                w("554 5.5.1 no valid recipients")
            elif up == "DATA":
                w("354 go on")
                data = b""
                while True:
                    l = self.rfile.readline()
                    if l == b".\r\n" or not l:
                        break
                    data += l[1:] if l.startswith(b"..") else l
                if srv.fail_left > 0:
                    srv.fail_left -= 1
                    w("451 4.3.0 try again later")
                else:
                    srv.got.append((frm, rcpts, data))
                    w("250 2.0.0 accepted")
            elif up == "QUIT":
                w("221 bye")
                return
            else:
                w("250 ok")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fetchmail_poll(home, port, protocol, user, password, tag, cert, opts, tries=20):
    """Runs fetchmail against the bridge until it delivers something (the
    simulation may not have delivered yet), each message into
    HOME/msg.TAG.<pid> through an MDA; returns their contents. The host is
    "localhost": fetchmail checks DNS names, not IP addresses."""
    pattern = "%s/msg.%s.*" % (home, tag)
    for _ in range(tries):
        rc = os.path.join(home, "rc")
        with open(rc, "w") as f:
            f.write('set no syslog\npoll localhost service %d protocol %s auth password timeout 15\n'
                    '  user "%s" there with password "%s" is "root" here\n'
                    '  mda "cat > %s/msg.%s.$$" fetchall\n' % (port, protocol, user, password, home, tag))
        os.chmod(rc, 0o600)
        try:
            # --pidfile: as root fetchmail locks /var/run/fetchmail.pid
            # whatever FETCHMAILHOME says, so runs elsewhere would collide
            # ("client-side exclusion", exit 8)
            r = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "--pidfile", os.path.join(home, "pid"),
                                "--sslcertck", "--sslcertfile", cert]
                               + opts, capture_output=True, timeout=TIMEOUT,
                               env=dict(os.environ, FETCHMAILHOME=home))
            if r.returncode not in (0, 1):  # 1: no mail yet
                print("  fetchmail %s exited %d:\n%s" % (" ".join(opts), r.returncode,
                                                         r.stderr[-1500:].decode("latin-1")))
        except subprocess.TimeoutExpired:
            print("  fetchmail %s timed out" % " ".join(opts))
        if glob.glob(pattern):
            break
        time.sleep(0.2)
    return [open(x, "rb").read() for x in glob.glob(pattern)]


DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def start_dovecot(tmp, location, maildir, port, password, process_limit=None):
    """A throwaway Dovecot imapd (Debian's dovecot-imapd; needs root: its
    mail processes run as nobody) on 127.0.0.1:port, serving the Maildir
    `maildir` through the mail_location `location` to any user with
    `password`, at most `process_limit` imap processes when given; its
    files under tmp (log: tmp/dovecot.log). Returns the process."""
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as c:
        c.write("""base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = {location}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
}}
passdb {{
  driver = static
  args = password={pw}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={tmp}/home
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""".format(tmp=tmp, location=location, pw=password, port=port))
        if process_limit:
            c.write("service imap {\n  process_limit = %d\n}\n" % process_limit)
    for d in ("run", "state", "home"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    for top in (maildir, os.path.join(tmp, "home")):
        for root, dirs, files in os.walk(top):
            for name in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.chown(name, 65534, 65534)
    proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("dovecot did not start: %s" % proc.stderr.read().decode())
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("dovecot did not listen on %d" % port)

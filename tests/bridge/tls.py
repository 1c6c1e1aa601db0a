"""TLS on `mailsim bridge`, with real clients on loopback: STARTTLS and SMTPS
from Python's smtplib, swaks (--tls, --tlsc), msmtp (tls_starttls on and
off), curl (smtps://, smtp:// --ssl-reqd) and openssl s_client -starttls
smtp; STLS and POP3S from poplib, curl (pop3s://, pop3:// --ssl-reqd),
openssl s_client -starttls pop3, fetchmail (--ssl, and STLS with --sslproto
tls1.2+) and getmail6 (SimplePOP3SSLRetriever). Every client verifies the
bridge's self-signed certificate through the file the bridge printed, and
every message sent comes out of the simulated world again over POP3.
Then the policies (no login before TLS, nothing older than TLS 1.2),
commands injected behind STARTTLS/STLS (CVE-2011-0411), and bad input:
garbage instead of a ClientHello, clear text after STARTTLS, a client that
stops mid-handshake, a renegotiation request (refused). SNI: a client
naming one of the fronted servers gets that name's certificate. Nothing may
hang; the bridge keeps serving and its accounting balances."""
import glob
import os
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import warnings

from bridgelib import Bridge, arm, check, fetchmail_poll, recv_reply, recv_until_closed, wait_for, TIMEOUT

arm(300)
need = ["swaks", "msmtp", "curl", "openssl", "fetchmail", "getmail"]
missing = [n for n in need if not shutil.which(n)]
if missing:
    # tools/deps.sh installs every one of them.
    print("SKIPPED: tls.py: %s not installed (tools/deps.sh installs them)" % ", ".join(missing))
    raise SystemExit(0)

tmp = tempfile.mkdtemp(prefix="mailsim-tls-")
b = Bridge("--speed", "max", "--smtps", "0", "--pop3s", "0=mx-corp", pop3="0=mx-corp",
           plaintext_auth=False)
CERT = b.cert
check(CERT and os.path.exists(CERT), "the bridge printed the path of its generated certificate")
ctx = ssl.create_default_context(cafile=CERT)  # verifies chain and the name 127.0.0.1
HOST = "127.0.0.1"
SALES = "sales@diversicomcorp.com"


def msg(subject, to=SALES):
    return ("From: alice@isp-a.net\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@isp-a.net>\r\n\r\n"
            "sent by %s over TLS\r\n.leading dot\r\n" % (to, subject, subject, subject)).encode()


def run(cmd, what, data=None, env=None, timeout=TIMEOUT):
    try:
        r = subprocess.run(cmd, input=data if data is not None else b"", capture_output=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(cmd, -1, e.stdout or b"", e.stderr or b"")
    if r.returncode != 0:
        print("  %s exited %d:\n%s\n%s" % (what, r.returncode, r.stdout[-1500:].decode("latin-1"),
                                           r.stderr[-1500:].decode("latin-1")))
    return r


sent = []

# --- the policies, before TLS ------------------------------------------------
with smtplib.SMTP(HOST, b.smtp_port, timeout=TIMEOUT) as s:
    s.ehlo("client.example")
    check(s.has_extn("starttls") and not s.has_extn("auth"),
          "SMTP before TLS: EHLO offers STARTTLS and no AUTH")
    code, text = s.docmd("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
    check(code == 530 and b"5.7.0 Must issue a STARTTLS command first" in b"%d %s" % (code, text),
          "AUTH in clear text: 530 5.7.0, the credentials not even checked")
    s.starttls(context=ctx)
    s.ehlo("client.example")
    check(s.has_extn("auth") and not s.has_extn("starttls"),
          "after STARTTLS: AUTH offered, STARTTLS no longer")
    check(s.sock.version() in ("TLSv1.3", "TLSv1.2"), "smtplib: %s, certificate verified" % s.sock.version())
    s.login("alice", "wonderland")
    s.sendmail("alice@isp-a.net", [SALES], msg("tls-smtplib-starttls"))
    sent.append("tls-smtplib-starttls")
check(True, "smtplib: starttls(), login, a message")

with smtplib.SMTP_SSL(HOST, b.smtps_port, context=ctx, timeout=TIMEOUT) as s:
    s.ehlo("client.example")
    check(s.has_extn("auth") and not s.has_extn("starttls"), "SMTPS: AUTH offered at once, no STARTTLS")
    s.login("alice@isp-a.net", "wonderland")
    s.sendmail("alice@isp-a.net", [SALES], msg("tls-smtplib-ssl"))
    sent.append("tls-smtplib-ssl")
check(True, "smtplib: SMTP_SSL, login, a message")

p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT)
caps = p.capa()
check("STLS" in caps and "USER" not in caps, "POP3 before TLS: CAPA lists STLS and not USER")
try:
    p.user("sales")
    check(False, "USER in clear text is refused")
except poplib.error_proto as e:
    check(b"[AUTH] Plaintext authentication disallowed" in e.args[0], "USER in clear text: -ERR [AUTH] ...")
p.stls(ctx)
check("USER" in p.capa() and "STLS" not in p.capa(), "after STLS: USER listed, STLS no longer")
p.quit()

# --- senders -------------------------------------------------------------------
swaks = ["swaks", "--server", HOST, "--from", "alice@isp-a.net", "--to", SALES, "--auth", "PLAIN",
         "--auth-user", "alice", "--auth-password", "wonderland", "--timeout", "15",
         "--tls-verify", "--tls-ca-path", CERT]
for flag, port, subj in (("--tls", b.smtp_port, "tls-swaks-starttls"), ("--tlsc", b.smtps_port, "tls-swaks-tlsc")):
    r = run(swaks + [flag, "--port", str(port), "--header", "Subject: " + subj, "--body", "swaks " + flag],
            "swaks " + flag)
    check(r.returncode == 0 and b"250 2.0.0 Ok: queued" in r.stdout and b"TLS started" in r.stdout,
          "swaks %s: TLS, AUTH PLAIN, a message accepted" % flag)
    sent.append(subj)

for starttls, port, subj in (("on", b.smtp_port, "tls-msmtp-starttls"), ("off", b.smtps_port, "tls-msmtp-smtps")):
    r = run(["msmtp", "--host=" + HOST, "--port=%d" % port, "--tls=on", "--tls-starttls=" + starttls,
             "--tls-trust-file=" + CERT, "--auth=plain", "--user=alice", "--passwordeval=echo wonderland",
             "--from=alice@isp-a.net", "--domain=client.example", "--", SALES],
            "msmtp tls_starttls " + starttls, data=msg(subj))
    check(r.returncode == 0, "msmtp tls on, tls_starttls %s: a message accepted" % starttls)
    sent.append(subj)

mail_file = os.path.join(tmp, "curl.eml")
for url, extra, subj in (("smtps://%s:%d" % (HOST, b.smtps_port), [], "tls-curl-smtps"),
                         ("smtp://%s:%d" % (HOST, b.smtp_port), ["--ssl-reqd"], "tls-curl-starttls")):
    with open(mail_file, "wb") as f:
        f.write(msg(subj))
    r = run(["curl", "-sS", "--max-time", "15", "--cacert", CERT, url] + extra +
            ["--mail-from", "alice@isp-a.net", "--mail-rcpt", SALES, "--user", "alice:wonderland",
             "--upload-file", mail_file], "curl " + url)
    check(r.returncode == 0, "curl %s %s: a message accepted" % (url.split(":")[0] + "://", " ".join(extra)))
    sent.append(subj)

# openssl s_client speaks the protocol itself: EHLO, AUTH, a pipelined transaction.
body = msg("tls-openssl-starttls").replace(b"\r\n.", b"\r\n..")
script = (b"EHLO client.example\r\n"
          b"AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=\r\n"
          b"MAIL FROM:<alice@isp-a.net>\r\nRCPT TO:<" + SALES.encode() + b">\r\nDATA\r\n"
          + body + b".\r\nQUIT\r\n")
r = run(["openssl", "s_client", "-starttls", "smtp", "-connect", "%s:%d" % (HOST, b.smtp_port),
         "-CAfile", CERT, "-verify_return_error", "-quiet", "-ign_eof"], "openssl s_client -starttls smtp",
        data=script)
out = r.stdout.decode("latin-1")
check(r.returncode == 0 and "235 2.7.0" in out and "250 2.0.0 Ok: queued" in out and "221 2.0.0" in out,
      "openssl s_client -starttls smtp: verified, AUTH PLAIN, a message, QUIT")
sent.append("tls-openssl-starttls")

# --- the simulated world delivers; retrievers --------------------------------------


def subjects(msgs):
    return sorted(re.search(rb"Subject: (\S+)", m).group(1).decode() for m in msgs)


def listing():
    p = poplib.POP3(HOST, b.pop3_port, timeout=TIMEOUT)
    p.stls(ctx)
    p.user("sales")
    p.pass_("quarterly-numbers")
    n, _ = p.stat()
    got = [b"\r\n".join(p.retr(i)[1]) for i in range(1, n + 1)]
    p.quit()
    return got if len(got) >= len(sent) else None


got = wait_for(listing)
check(got is not None and subjects(got) == sorted(sent),
      "poplib stls(): all %d messages reached sales@ through the simulation" % len(sent))
check(got is not None and all(b"(mailsim bridge) with ESMTPSA" in m for m in got),
      "  each with the bridge's Received: header 'with ESMTPSA' (RFC 3848: inside TLS, authenticated)")

p = poplib.POP3_SSL(HOST, b.pop3s_port, context=ctx, timeout=TIMEOUT)
p.user("sales")
p.pass_("quarterly-numbers")
check(p.stat()[0] == len(sent), "poplib POP3_SSL: login and STAT inside TLS from the start")
p.quit()

r = run(["curl", "-sS", "--max-time", "15", "--cacert", CERT, "-u", "sales:quarterly-numbers",
         "pop3s://%s:%d/1" % (HOST, b.pop3s_port)], "curl pop3s://")
check(r.returncode == 0 and b"Subject: tls-" in r.stdout and b"over TLS" in r.stdout,
      "curl pop3s://: message 1 retrieved")
r = run(["curl", "-sS", "--max-time", "15", "--cacert", CERT, "--ssl-reqd", "-u", "sales:quarterly-numbers",
         "pop3://%s:%d/" % (HOST, b.pop3_port)], "curl pop3:// --ssl-reqd")
check(r.returncode == 0 and len(r.stdout.splitlines()) == len(sent), "curl pop3:// --ssl-reqd: STLS, LIST")

r = run(["openssl", "s_client", "-starttls", "pop3", "-connect", "%s:%d" % (HOST, b.pop3_port),
         "-CAfile", CERT, "-verify_return_error", "-quiet", "-ign_eof"], "openssl s_client -starttls pop3",
        data=b"CAPA\r\nUSER sales\r\nPASS quarterly-numbers\r\nSTAT\r\nQUIT\r\n")
out = r.stdout.decode("latin-1")
check(r.returncode == 0 and "\r\nUSER\r\n" in out and "+OK %d " % len(sent) in out,
      "openssl s_client -starttls pop3: CAPA inside TLS lists USER; login; STAT")

# getmail6 takes every message of sales@ over POP3S and deletes them.
gdir = os.path.join(tmp, "getmail")
gout = os.path.join(tmp, "getmail-out")
os.makedirs(gdir)
os.makedirs(gout)
with open(os.path.join(gdir, "getmailrc"), "w") as f:
    # An external MDA: getmail's Maildir refuses to deliver as root (CI runs as root).
    f.write("[retriever]\ntype = SimplePOP3SSLRetriever\nserver = %s\nport = %d\nusername = sales\n"
            "password = quarterly-numbers\nca_certs = %s\n\n[destination]\ntype = MDA_external\n"
            "path = /bin/sh\narguments = (\"-c\", \"cat > %s/msg.$$\")\nallow_root_commands = true\n\n"
            "[options]\ndelete = true\nread_all = true\nverbose = 2\n" % (HOST, b.pop3s_port, CERT, gout))
# getmail forks a shell per message: on a loaded machine that alone takes
# seconds, hence the longer limit.
r = run(["getmail", "--getmaildir", gdir, "--rcfile", "getmailrc"], "getmail", timeout=90)
files = glob.glob(gout + "/msg.*")
check(r.returncode == 0 and subjects([open(x, "rb").read() for x in files]) == sorted(sent),
      "getmail6 SimplePOP3SSLRetriever: all %d messages, certificate verified" % len(sent))

# fetchmail: --ssl on the POP3S port, then STLS on the POP3 port (--sslproto tls1.2+).
fhome = os.path.join(tmp, "fetchmail")
os.makedirs(fhome)
for i, (port, opts) in enumerate(((b.pop3s_port, ["--ssl"]), (b.pop3_port, ["--sslproto", "tls1.2+"]))):
    subj = "tls-fetchmail-%d" % i
    with smtplib.SMTP_SSL(HOST, b.smtps_port, context=ctx, timeout=TIMEOUT) as s:
        s.login("alice", "wonderland")
        s.sendmail("alice@isp-a.net", ["feedback@diversicomcorp.com"], msg(subj, "feedback@diversicomcorp.com"))
    sent.append(subj)
    time.sleep(0.3)  # the simulation delivers at once at --speed max; fetchmail retries below anyway
    got = fetchmail_poll(fhome, port, "pop3", "feedback", "suggestion-box", i, CERT, opts)
    check(len(got) == 1 and ("Subject: %s" % subj).encode() in got[0],
          "fetchmail %s: certificate checked, the message retrieved" % " ".join(opts))

# --- injection behind STARTTLS and STLS (CVE-2011-0411) ------------------------------


def tls_wrap(sock):
    return ctx.wrap_socket(sock, server_hostname=HOST)


s = b.connect()
recv_reply(s)
s.sendall(b"EHLO client.example\r\nSTARTTLS\r\nMAIL FROM:<evil@example.org>\r\n")
buf = b""
while b"Ready to start TLS\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
t = tls_wrap(s)
t.sendall(b"MAIL FROM:<alice@isp-a.net>\r\n")
r = recv_reply(t)
check(r.startswith("503"), "SMTP: a MAIL pipelined behind STARTTLS is discarded, the EHLO forgotten (%r)" % r.strip())
t.sendall(b"EHLO client.example\r\nMAIL FROM:<alice@isp-a.net>\r\n")
r = recv_reply(t)
r = r if "\r\n250 2.1.0" in r else r + recv_reply(t)
check("250 2.1.0" in r, "  and after a new EHLO a MAIL is taken (it is not 'nested')")
t.close()

s = b.connect(b.pop3_port)
s.recv(4096)
s.sendall(b"STLS\r\nUSER sales\r\n")
buf = s.recv(4096)
check(buf.startswith(b"+OK Begin TLS"), "POP3: STLS answered")
t = tls_wrap(s)
t.sendall(b"PASS quarterly-numbers\r\n")
r = t.recv(4096)
check(r.startswith(b"-ERR send USER first"), "POP3: a USER pipelined behind STLS is discarded (%r)" % r.strip())
t.close()

# --- bad input ------------------------------------------------------------------------


def closed_soon(sock, within):
    """True when the bridge closes the connection within `within` seconds
    (whatever it sends first: an alert is fine)."""
    t0 = time.time()
    sock.settimeout(within + 1)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout, ssl.SSLError):
        pass
    return time.time() - t0 <= within


s = b.connect(b.smtps_port)
s.sendall(b"EHLO this is not a ClientHello\r\n" * 20)
check(closed_soon(s, 5), "garbage instead of a ClientHello on SMTPS: closed at once")
s = b.connect(b.pop3s_port)
s.sendall(b"\x16\x03\x01\xff\xff" + b"\x00" * 300)
check(closed_soon(s, 5), "a malformed record on POP3S (length 65535, bad contents): closed")

s = b.connect()
recv_reply(s)
s.sendall(b"STARTTLS\r\n")
check(recv_reply(s).startswith("220"), "STARTTLS: 220")
s.sendall(b"EHLO plain.text\r\nAUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=\r\n")
r = recv_until_closed(s)
check("250" not in r and "235" not in r, "clear text after STARTTLS's 220: no reply, the connection closed")

# A TLS 1.1 ClientHello is refused (the floor is TLS 1.2).
warnings.simplefilter("ignore", DeprecationWarning)
old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
old.check_hostname = False
old.verify_mode = ssl.CERT_NONE
old.minimum_version = ssl.TLSVersion.TLSv1
old.maximum_version = ssl.TLSVersion.TLSv1_1
old.set_ciphers("DEFAULT:@SECLEVEL=0")
try:
    with old.wrap_socket(b.connect(b.smtps_port)) as t:
        check(False, "a TLS 1.1 client is refused (it got %s)" % t.version())
except (ssl.SSLError, ConnectionResetError, OSError) as e:
    check(True, "a TLS 1.1-only client is refused (%s)" % str(e)[:60])

# Renegotiation asked for by the client inside TLS 1.2 (openssl s_client's
# "R" command; TLS 1.3 has none): refused. The bridge ends the session
# rather than run a second handshake (bridge_tls_guard.c): s_client sees
# the connection close, never a second certificate check, and does not
# hang. Twice: after STARTTLS and on the implicit-TLS port.
for what, cmd in (("STARTTLS", ["-starttls", "smtp", "-connect", "%s:%d" % (HOST, b.smtp_port)]),
                  ("SMTPS", ["-connect", "%s:%d" % (HOST, b.smtps_port)])):
    proc = subprocess.Popen(["openssl", "s_client", "-tls1_2", "-CAfile", CERT] + cmd,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    started = time.time()
    try:
        for line, pause in ((b"R\n", 1.0), (b"NOOP\r\n", 1.0), (b"QUIT\r\n", 1.0)):
            time.sleep(pause)
            proc.stdin.write(line)
            proc.stdin.flush()
    except (BrokenPipeError, ConnectionResetError):
        pass  # s_client already gone: the bridge closed the connection
    try:
        out = proc.communicate(timeout=TIMEOUT)[0].decode("latin-1")
        hung = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0].decode("latin-1")
        hung = True
    after = out.split("RENEGOTIATING")[-1]
    check("RENEGOTIATING" in out and not hung and time.time() - started < TIMEOUT,
          "openssl s_client -tls1_2 over %s asks for a renegotiation: no hang" % what)
    check(out.count("verify return:1") == 1 and "250" not in after,
          "  refused: no second handshake, nothing answered after it, the connection closed")

# SNI (RFC 6066 3): a client naming one of the servers the bridge fronts
# gets that name's certificate (issued by the self-signed one it trusts);
# any other name, or none, the self-signed certificate of every name.
for port in (b.smtps_port, b.pop3s_port):
    for name in ("smtp.isp-a.net", "mx.diversicomcorp.com"):
        with ctx.wrap_socket(b.connect(port), server_hostname=name) as t:
            subject = dict(x[0] for x in t.getpeercert()["subject"])
            issuer = dict(x[0] for x in t.getpeercert()["issuer"])
        check(subject.get("commonName") == name and "self-signed" not in subject.get("organizationName", "")
              and "self-signed" in issuer.get("organizationName", ""),
              "Python ssl, server_hostname=%s on port %d: that name's certificate, verified" % (name, port))
    with ctx.wrap_socket(b.connect(port), server_hostname="localhost") as t:
        subject = dict(x[0] for x in t.getpeercert()["subject"])
    check("self-signed" in subject.get("organizationName", ""),
          "  server_hostname=localhost: the self-signed certificate")
for name, want in (("mx.diversicomcorp.com", "CN = mx.diversicomcorp.com"), ("other.example", "self-signed")):
    r = run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, b.smtps_port), "-servername", name,
             "-CAfile", CERT, "-verify_return_error"], "openssl s_client -servername %s" % name,
            data=b"QUIT\r\n")
    first = [l for l in r.stdout.decode("latin-1").splitlines() if l.startswith("subject=")]
    check(r.returncode == 0 and first and want in first[0],
          "openssl s_client -servername %s: %s" % (name, first[0] if first else "no certificate"))
r = run(["openssl", "s_client", "-starttls", "smtp", "-connect", "%s:%d" % (HOST, b.smtp_port),
         "-servername", "smtp.isp-a.net", "-CAfile", CERT, "-verify_return_error"],
        "openssl s_client -starttls smtp -servername", data=b"QUIT\r\n")
first = [l for l in r.stdout.decode("latin-1").splitlines() if l.startswith("subject=")]
check(r.returncode == 0 and first and "CN = smtp.isp-a.net" in first[0] and "self-signed" not in first[0],
      "  and after STARTTLS: %s" % (first[0] if first else "no certificate"))

rc, text, st = b.stop()
check(rc == 0 and "accounting: balanced" in text, "the first bridge stops cleanly, balanced")
check(not os.path.exists(CERT), "its generated certificate (in a temporary directory) is removed")

# A client that stops in the middle of a handshake, with a 1 s idle timeout.
b = Bridge("--speed", "max", "--smtps", "0", "--idle-timeout", "1s", plaintext_auth=False)
s1 = b.connect(b.smtps_port)  # sends nothing at all
inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
hello = ssl._create_unverified_context().wrap_bio(inc, outb)
try:
    hello.do_handshake()
except ssl.SSLWantReadError:
    pass
ch = outb.read()
s2 = b.connect()
recv_reply(s2)
s2.sendall(b"STARTTLS\r\n")
recv_reply(s2)
s2.sendall(ch[:len(ch) // 2])  # half a ClientHello, then silence
check(closed_soon(s1, 4), "a client silent after connecting to SMTPS: cut off by the idle timeout")
check(closed_soon(s2, 4), "half a ClientHello after STARTTLS, then silence: cut off too")
with smtplib.SMTP(HOST, b.smtp_port, timeout=TIMEOUT) as s:
    s.starttls(context=ssl.create_default_context(cafile=b.cert))
    s.ehlo("client.example")
    check(s.noop()[0] == 250, "the bridge still serves a new TLS client")
rc, text, st = b.stop()
check(rc == 0 and int(st["bridge-stats.tls_failed"]) >= 2 and int(st["bridge-stats.timeouts"]) >= 2,
      "stopped cleanly; the stalled handshakes counted as failed and timed out (%s, %s)"
      % (st["bridge-stats.tls_failed"], st["bridge-stats.timeouts"]))
shutil.rmtree(tmp, ignore_errors=True)

# The floor holds even when the GnuTLS priority string is widened from
# outside (G_TLS_GNUTLS_PRIORITY is the user's to set): the bridge checks
# each session's version after its handshake and drops a TLS 1.1 one before
# its greeting.
os.environ["G_TLS_GNUTLS_PRIORITY"] = "NORMAL:+VERS-TLS1.1:+VERS-TLS1.0:+SIGN-ALL:%COMPAT"
b = Bridge("--speed", "max", "--smtps", "0", plaintext_auth=False)
del os.environ["G_TLS_GNUTLS_PRIORITY"]
version, data = None, b"?"
try:
    with old.wrap_socket(b.connect(b.smtps_port)) as t:
        version = t.version()
        data = t.recv(100)
except (ssl.SSLError, ConnectionResetError, OSError):
    data = b""
check(data == b"", "widened priority, a %s handshake: dropped before the greeting" % version)
rc, text, st = b.stop()
check(rc == 0 and st["bridge-stats.tls_failed"] == "1" and st["bridge-stats.tls_sessions"] == "0",
      "  counted as a failed TLS session")

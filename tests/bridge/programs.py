"""Two more real client programs against `mailsim bridge`, from Debian's
packages (tools/deps.sh installs them): msmtp sends, after AUTH PLAIN, a
message with leading-dot lines, 8-bit UTF-8 text and a 2 MiB attachment to
two recipients; the simulation carries it across its Internet; fetchmail
retrieves one copy over POP3 and hands it to an MDA, poplib the other.
Bodies arrive byte-exact: poplib sees the very octets sent (CRLF), the
fetchmail MDA the same octets with CRLF turned into the local LF, as every
Unix MDA receives mail. Prints a 'SKIPPED: ...' line and passes when a
program is missing (tools/deps.sh could not install it)."""
import base64
import glob
import os
import shutil
import subprocess
import tempfile

from bridgelib import Bridge, arm, check, pop3_fetch_all, wait_for, TIMEOUT

arm(100)
msmtp, fetchmail = shutil.which("msmtp"), shutil.which("fetchmail")
if not msmtp or not fetchmail:
    print("SKIPPED: programs.py: %s not installed (tools/deps.sh installs the Debian packages msmtp and fetchmail)"
          % " and ".join(n for n, p in (("msmtp", msmtp), ("fetchmail", fetchmail)) if not p))
    raise SystemExit(0)

blob = base64.encodebytes(os.urandom(2 * 1024 * 1024)).replace(b"\n", b"\r\n")
MSG = (b"From: Alice <alice@isp-a.net>\r\n"
       b"To: sales@diversicomcorp.com, feedback@diversicomcorp.com\r\n"
       b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
       b"Message-ID: <programs-1@isp-a.net>\r\n"
       b"Subject: from msmtp\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"p1\"\r\n\r\n"
       b"--p1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
       b".one dot\r\n..two dots\r\n.\r\n" + "Grüße, ½ € ✓\r\n".encode("utf-8") +
       b"--p1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
       + blob + b"--p1--\r\n")

tmp = tempfile.mkdtemp(prefix="mailsim-programs-")
try:
    b = Bridge("--speed", "max", pop3="0=mx-corp")
    r = subprocess.run([msmtp, "--host=127.0.0.1", "--port=%d" % b.smtp_port, "--tls=off", "--auth=plain",
                        "--user=alice", "--passwordeval=echo wonderland", "--from=alice@isp-a.net",
                        "--domain=client.example", "--", "sales@diversicomcorp.com", "feedback@diversicomcorp.com"],
                       input=MSG, capture_output=True, timeout=TIMEOUT)
    check(r.returncode == 0, "msmtp: AUTH PLAIN and a 2 MiB 8-bit message to two recipients accepted (%r)" % r.stderr[-200:])

    got = wait_for(lambda: pop3_fetch_all(b.pop3_port, "feedback", "suggestion-box"))
    check(len(got) == 1 and got[0].endswith(MSG), "poplib: feedback@ has the msmtp message, byte-exact")

    rc_path = os.path.join(tmp, "fetchmailrc")
    with open(rc_path, "w") as f:
        f.write('set no syslog\n'
                'poll 127.0.0.1 service %d protocol pop3 auth password timeout 20\n'
                '  user "sales" there with password "quarterly-numbers" is "root" here\n'
                '  mda "cat > %s/msg.$$" sslproto \'\' fetchall\n' % (b.pop3_port, tmp))
    os.chmod(rc_path, 0o600)
    env = dict(os.environ, FETCHMAILHOME=tmp)
    # --pidfile: as root fetchmail would lock /var/run/fetchmail.pid, shared
    # with every other fetchmail on the machine
    r = subprocess.run([fetchmail, "-f", rc_path, "--invisible", "--nodetach", "--pidfile",
                        os.path.join(tmp, "fetchmail.pid")], capture_output=True, timeout=TIMEOUT, env=env)
    files = glob.glob(tmp + "/msg.*")
    check(r.returncode == 0 and len(files) == 1, "fetchmail: one message retrieved for sales@ (exit %d)" % r.returncode)
    data = open(files[0], "rb").read()
    check(data.endswith(MSG.replace(b"\r\n", b"\n")), "  byte-exact (CRLF as the local LF), dot lines, UTF-8 and attachment")
    check(b"Received: from client.example ([127.0.0.1])\n\tby smtp.isp-a.net (mailsim bridge) with ESMTPA" in data,
          "  with the bridge's Received: header (ESMTPA: the client authenticated)")
    check(pop3_fetch_all(b.pop3_port, "sales", "quarterly-numbers") == [], "  and deleted from the maildrop")

    rc, text, st = b.stop()
    check(rc == 0 and "accounting: balanced" in text, "clean stop, balanced")
    check(st["bridge-mail.accepted"] == "1", "one message accepted")
    check("sim-store: mx.diversicomcorp.com stored=3 deleted=3" in text,
          "the simulation's store counts both copies (and lesson 1's own) stored and deleted over POP3")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

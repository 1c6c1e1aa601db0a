"""The IMAP4rev2 pieces of `mailsim bridge --imap` next to Dovecot's imapd
(Debian's dovecot-imapd, a throwaway configuration on loopback) serving a
copy of the same Maildir: the same commands go to both, and what each
answers is compared item by item where the RFCs leave no room: ESEARCH
(RFC 4731), SEARCHRES (RFC 5182), LIST-STATUS (RFC 5819), special-use
attributes (RFC 6154), numbered BODY sections (RFC 9051 6.4.5) and BINARY
(RFC 3516), and, after that, subscriptions (SUBSCRIBE, UNSUBSCRIBE, LSUB,
LIST (SUBSCRIBED) with \\NonExistent) and keywords (STORE of new keywords,
the FLAGS and PERMANENTFLAGS that follow, SEARCH KEYWORD, COPY). Dovecot
2.3 does not speak IMAP4rev2, so ENABLE IMAP4rev2 and what changes after it
are checked through Python's imaplib against mailsim alone, Dovecot's
answer to ENABLE printed beside it. Prints 'SKIPPED: ...' when dovecot is
not installed."""
import imaplib
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

import bridgelib
from bridgelib import Bridge, arm, check, free_port, TIMEOUT

arm(180)
DOVECOT = bridgelib.DOVECOT
if not os.access(DOVECOT, os.X_OK):
    print("SKIPPED: imap_rev2.py: dovecot not installed (dovecot-imapd)")
    raise SystemExit(0)
if os.geteuid() != 0:
    print("SKIPPED: imap_rev2.py: Dovecot's mail processes need root to start as nobody")
    raise SystemExit(0)
USER, PASSWORD = "sales", "quarterly-numbers"

PARTS = (
    "From: a@isp-a.net\r\nTo: sales@diversicomcorp.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n"
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "caf=C3=A9 =3D ok   \r\nsoft=\r\n break\r\n"
    "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "AAECAw==\r\n"
    "--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n"
    "--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
    "begin 644 x\r\n--b1--\r\n")
# The same without the part nobody can decode: Dovecot computes BINARY.SIZE
# over every part of a message, so one unknown encoding fails them all.
PARTS2 = PARTS.replace("Subject: parts", "Subject: decodable").split("--b1\r\nContent-Type: text/plain\r\nContent-Transfer")[0] + "--b1--\r\n"
PLAIN = ("From: a@isp-a.net\r\nTo: sales@diversicomcorp.com\r\nSubject: plain %d\r\n\r\n"
         "just text %d\r\n")


def start_dovecot(tmp, maildir, port):
    return bridgelib.start_dovecot(tmp, "maildir:%s:INBOX=%s:LAYOUT=fs" % (maildir, maildir), maildir,
                                   port, PASSWORD)


class Session:
    """A raw IMAP session: each command's untagged lines (literals inline)
    and its tagged line."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0

    def cmd(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise SystemExit("connection closed after %r" % text)
            m = re.search(rb"~?\{(\d+)\}\r\n$", line)
            while m:
                line += self.f.read(int(m.group(1)))
                more = self.f.readline()
                line += more
                m = re.search(rb"~?\{(\d+)\}\r\n$", more)
            if line.startswith(tag + b" "):
                return lines, line[len(tag) + 1:].rstrip(b"\r\n")
            lines.append(line.rstrip(b"\r\n").replace(b'"' + tag + b'"', b'"TAG"'))


def items(fetch_line):
    """The data items of a FETCH response as {name: value} (literals by
    their bytes)."""
    body = fetch_line[fetch_line.index(b"(") + 1:-1]
    out, i = {}, 0
    while i < len(body):
        m = re.compile(rb" ?([A-Z0-9.]+(\[[^\]]*\](<\d+>)?)?) ").match(body, i)
        if not m:
            break
        name, i = m.group(1), m.end()
        lit = re.compile(rb"~?\{(\d+)\}\r\n").match(body, i)
        if lit:
            n = int(lit.group(1))
            out[name] = body[lit.end():lit.end() + n]
            i = lit.end() + n
        elif body[i:i + 1] == b"(":
            depth, j = 0, i
            while True:
                depth += {b"(": 1, b")": -1}.get(body[j:j + 1], 0)
                j += 1
                if depth == 0:
                    break
            out[name], i = body[i:j], j
        else:
            j = body.find(b" ", i)
            j = len(body) if j < 0 else j
            out[name], i = body[i:j], j
    return out


def script(port):
    s = Session(port)
    r = {}
    check(s.cmd("LOGIN %s %s" % (USER, PASSWORD))[1].startswith(b"OK"), "login")
    for box in ("Sent", "Trash", "Archive", "Archive/2026"):
        s.cmd("CREATE " + box)
    s.cmd("SELECT INBOX")
    seq = int(s.cmd("SEARCH SUBJECT parts")[0][0].split()[2])
    r["esearch all"] = s.cmd("SEARCH RETURN (MIN MAX COUNT ALL) ALL")
    r["esearch uid count"] = s.cmd("UID SEARCH RETURN (COUNT) ALL")
    r["esearch empty"] = s.cmd("SEARCH RETURN (MIN MAX COUNT) DELETED")
    r["esearch ()"] = s.cmd("SEARCH RETURN () SUBJECT plain")
    r["save"] = s.cmd("SEARCH RETURN (SAVE) SUBJECT parts")
    r["fetch $"] = s.cmd("FETCH $ (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    r["list-status"] = s.cmd('LIST "" % RETURN (STATUS (MESSAGES UNSEEN))')
    r["list special-use"] = s.cmd('LIST (SPECIAL-USE) "" *')
    r["list children"] = s.cmd('LIST "" "Archive*" RETURN (CHILDREN)')
    r["parts"] = s.cmd("FETCH %d (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[3.MIME] "
                       "BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] BODY.PEEK[3.1])" % seq)
    r["binary"] = s.cmd("FETCH %d (BINARY.PEEK[1] BINARY.PEEK[2])" % seq)
    seq2 = int(s.cmd("SEARCH SUBJECT decodable")[0][0].split()[2])
    r["binary.size"] = s.cmd("FETCH %d (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[3])" % seq2)
    r["binary partial"] = s.cmd("FETCH %d (BINARY.PEEK[1]<5.4>)" % seq)
    r["unknown cte"] = s.cmd("FETCH %d (BINARY.PEEK[4])" % seq)
    r["single part"] = s.cmd("FETCH 1 (BODY.PEEK[1] BINARY.PEEK[1] BINARY.SIZE[1])")
    s.cmd("LOGOUT")
    return r


def script_more(port):
    """Subscriptions and keywords, on the mailbox script() left."""
    s = Session(port)
    r = {}
    s.cmd("LOGIN %s %s" % (USER, PASSWORD))
    for box in ("Projects", "Projects/2026", "Gone"):
        s.cmd("CREATE " + box)
    r["subscribe"] = s.cmd("SUBSCRIBE Projects/2026")
    s.cmd("SUBSCRIBE INBOX")
    s.cmd("SUBSCRIBE Gone")
    r["delete subscribed"] = s.cmd("DELETE Gone")
    r["unsubscribe unknown"] = s.cmd("UNSUBSCRIBE Nowhere")
    r["sub list subscribed"] = s.cmd('LIST (SUBSCRIBED) "" *')
    r["sub list return"] = s.cmd('LIST "" "Pro*" RETURN (SUBSCRIBED)')
    r["sub lsub %"] = s.cmd('LSUB "" %')
    r["sub lsub *"] = s.cmd('LSUB "" *')
    r["sub recursivematch"] = s.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" %')
    s.cmd("UNSUBSCRIBE Gone")
    r["sub after unsubscribe"] = s.cmd('LIST (SUBSCRIBED) "" *')
    r["kw select"] = s.cmd("SELECT INBOX")
    r["kw store new"] = s.cmd("STORE 1 +FLAGS ($Junk Work)")
    r["kw store again"] = s.cmd("STORE 2 +FLAGS (Work)")
    r["kw fetch"] = s.cmd("FETCH 1:2 (FLAGS)")
    r["kw search"] = s.cmd("SEARCH KEYWORD Work")
    r["kw search unkeyword"] = s.cmd("SEARCH UNKEYWORD $Junk")
    r["kw search none"] = s.cmd("SEARCH KEYWORD NoSuchKeyword")
    r["kw store minus"] = s.cmd("STORE 1 -FLAGS ($Junk)")
    r["kw store replace"] = s.cmd("STORE 2 FLAGS (\\Seen Other)")
    r["kw copy"] = s.cmd("COPY 1:2 Projects")[1].split(b" ")[0]
    r["kw examine copy"] = s.cmd("EXAMINE Projects")
    r["kw fetch copy"] = s.cmd("FETCH 1:2 (FLAGS)")
    s.cmd("LOGOUT")
    s2 = Session(port)
    s2.cmd("LOGIN %s %s" % (USER, PASSWORD))
    r["kw next session"] = s2.cmd("EXAMINE INBOX")
    r["kw next fetch"] = s2.cmd("FETCH 1:2 (FLAGS)")
    s2.cmd("LOGOUT")
    return r


def no_recent(lines):
    """Dovecot shows \\Recent to the first session: IMAP4rev2 has none."""
    return [re.sub(rb"\(\\Recent ?", b"(", re.sub(rb" \\Recent", b"", l)) for l in lines]


def select_norm(lines):
    """A SELECT's FLAGS and PERMANENTFLAGS, as sets, the rest left out (the
    counts and UNSEEN differ by the mailbox's history)."""
    out = []
    for l in no_recent(lines):
        m = re.match(rb"\* (FLAGS|OK \[PERMANENTFLAGS) \(([^)]*)\)", l)
        if m:
            out.append((m.group(1), tuple(sorted(m.group(2).split()))))
    return out


SPECIAL = {b"\\Sent", b"\\Trash", b"\\Junk", b"\\Drafts", b"\\Archive"}
CHILDREN = {b"\\HasChildren", b"\\HasNoChildren"}


def list_norm(lines, keep):
    """LIST and STATUS responses in a comparable form: order-free, names
    unquoted, attributes restricted to `keep`."""
    out = []
    for l in lines:
        m = re.match(rb'\* L(?:IST|SUB) \(([^)]*)\) "/" ("[^"]*"|\S+)( \(.*\))?$', l)
        if m:
            # Extended data (CHILDINFO) as an astring, quoted or not.
            ext = (m.group(3) or b"").replace(b'"', b"")
            out.append((b"LIST", m.group(2).strip(b'"'),
                        tuple(sorted(set(m.group(1).split()) & keep)), ext))
            continue
        m = re.match(rb'\* STATUS "?([^"(]*?)"? \((.*)\)$', l)
        out.append((b"STATUS", m.group(1), m.group(2)) if m else (b"?", l, ()))
    return sorted(out)


def esearch_norm(lines):
    """ESEARCH responses with their return data as a set of pairs (RFC 4731
    leaves their order open: Dovecot puts COUNT last)."""
    out = []
    for l in lines:
        m = re.match(rb'(\* ESEARCH \(TAG "TAG"\)(?: UID)?)((?: \S+ \S+)*)$', l)
        if not m:
            out.append((l, ()))
            continue
        w = m.group(2).split()
        out.append((m.group(1), tuple(sorted(zip(w[::2], w[1::2])))))
    return out


SUBSCRIPTION = {b"\\Subscribed", b"\\NonExistent", b"\\Noselect"}


def compare(ours, theirs):
    bad = 0
    for k in ours:
        if isinstance(ours[k], bytes):
            same = ours[k] == theirs[k]
            print("  %-22s %s" % (k, "same" if same else "DIFFERENT"))
            if not same:
                bad += 1
                print("    mailsim: %r\n    dovecot: %r" % (ours[k], theirs[k]))
            continue
        (ol, ot), (tl, tt) = ours[k], theirs[k]
        tl = no_recent(tl)
        same = ot.split(b" ")[0] == tt.split(b" ")[0]
        if k == "unknown cte":
            same = same and b"[UNKNOWN-CTE]" in ot and b"[UNKNOWN-CTE]" in tt
        elif k == "kw search none":
            # Dovecot makes the keyword a SEARCH names (a FLAGS response
            # follows); nothing asks a server to: only the answer counts.
            same = same and [l for l in ol if l.startswith(b"* SEARCH")] == \
                [l for l in tl if l.startswith(b"* SEARCH")]
        elif k.startswith("sub "):
            same = same and list_norm(ol, SUBSCRIPTION) == list_norm(tl, SUBSCRIPTION)
        elif k in ("kw select", "kw examine copy", "kw next session", "kw store new"):
            fo = [items(l) for l in ol if b" FETCH " in l]
            ft = [items(l) for l in tl if b" FETCH " in l]
            same = same and select_norm(ol) == select_norm(tl) and fo == ft
        elif k.startswith("list"):
            # Dovecot tells \HasChildren only when asked (RETURN (CHILDREN))
            # and special-use only in a SPECIAL-USE LIST: both are allowed.
            keep = {"list-status": set(), "list special-use": SPECIAL,
                    "list children": CHILDREN}[k]
            same = same and list_norm(ol, keep) == list_norm(tl, keep)
        elif k.startswith("esearch"):
            same = same and esearch_norm(ol) == esearch_norm(tl)
        elif any(l.startswith(b"* ") and b" FETCH " in l for l in ol + tl):
            fo = [items(l) for l in ol if b" FETCH " in l]
            ft = [items(l) for l in tl if b" FETCH " in l]
            same = same and fo == ft
        else:
            same = same and ol == tl
        print("  %-22s %s" % (k, "same" if same else "DIFFERENT"))
        if not same:
            bad += 1
            print("    mailsim: %r %r\n    dovecot: %r %r" % (ol, ot, tl, tt))
    return bad


def with_imaplib(port):
    """The same through Python's imaplib, which has no ESEARCH or BINARY
    parser of its own but must frame the answers (literal8 included) and
    sort the untagged responses by name."""
    m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    try:
        m.login(USER, PASSWORD)
        m.select("INBOX")
        typ, dat = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT)", "ALL")
        esearch = m._untagged_response(typ, dat, "ESEARCH")[1][0]
        pairs = dict(zip(*[iter(esearch.split()[2:])] * 2))
        typ, dat = m._simple_command("LIST", '""', "%", "RETURN", "(STATUS (MESSAGES))")
        status = sorted(x.replace(b'"', b"") for x in m._untagged_response(typ, dat, "STATUS")[1])
        seq = m.search(None, "SUBJECT", "parts")[1][0]
        typ, dat = m.fetch(seq.decode(), "(BINARY.PEEK[2] BINARY.PEEK[1])")
        return typ, pairs, status, dat[0][1], dat[1][1]
    finally:
        m.logout()


def rev2_imaplib(port):
    """IMAP4rev2 through Python's imaplib: the capability, ENABLE, then
    SEARCH answered by ESEARCH, SELECT without RECENT, LSUB refused and
    LIST (SUBSCRIBED) in its place, keywords in STORE."""
    m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    out = {}
    try:
        m.login(USER, PASSWORD)
        out["caps"] = "IMAP4REV2" in m.capabilities and "IMAP4REV1" in m.capabilities
        typ, dat = m.enable("IMAP4rev2")
        out["enabled"] = (typ, m.untagged_responses.pop("ENABLED", [None]))
        typ, dat = m.select("INBOX")
        out["recent"] = m.untagged_responses.get("RECENT")
        # RFC 9051 6.3.2: SELECT tells the mailbox's LIST response.
        out["select list"] = m.untagged_responses.pop("LIST", None)
        typ, dat = m._simple_command("SEARCH", "ALL")
        out["esearch"] = m._untagged_response(typ, dat, "ESEARCH")[1][0]
        typ, dat = m._simple_command("SEARCH", "KEYWORD", "Work")
        out["esearch keyword"] = m._untagged_response(typ, dat, "ESEARCH")[1][0]
        try:
            m.lsub()
            out["lsub"] = "answered"
        except imaplib.IMAP4.error as e:
            out["lsub"] = "refused"
        typ, dat = m._simple_command("LIST", "(SUBSCRIBED)", '""', "*")
        out["list subscribed"] = sorted(m._untagged_response(typ, dat, "LIST")[1])
        typ, dat = m.store("1", "+FLAGS", "(Work $Label1)")
        out["store"] = (typ, dat)
    finally:
        m.logout()
    return out


def maildir_of(spool):
    for root, dirs, _ in os.walk(os.path.join(spool, "mail")):
        if os.path.basename(root) == USER and "new" in dirs:
            return root
    return None


def main():
    tmp = tempfile.mkdtemp(prefix="mailsim-imap-rev2-")
    os.chmod(tmp, 0o711)
    spool = os.path.join(tmp, "spool")
    dproc = None
    b = Bridge("--speed", "max", "--imap", "0=mx-corp", "--spool", spool)
    try:
        with smtplib.SMTP("127.0.0.1", b.smtp_port, timeout=TIMEOUT) as s:
            s.login("alice", "wonderland")
            for i in range(3):
                s.sendmail("a@isp-a.net", ["sales@diversicomcorp.com"], (PLAIN % (i, i)).encode())
            s.sendmail("a@isp-a.net", ["sales@diversicomcorp.com"], PARTS.encode())
            s.sendmail("a@isp-a.net", ["sales@diversicomcorp.com"], PARTS2.encode())
        md = None
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            md = maildir_of(spool)
            if md and sum(len(os.listdir(os.path.join(md, d))) for d in ("new", "cur")) >= 5:
                break
            time.sleep(0.1)
        check(md is not None, "the bridge wrote the Maildir")
        copy = os.path.join(tmp, "dovecot-maildir")
        shutil.copytree(md, copy)
        dport = free_port()
        dproc = start_dovecot(tmp, copy, dport)
        ours, theirs = script(b.imap_port), script(dport)
        bad = compare(ours, theirs)
        more_ours, more_theirs = script_more(b.imap_port), script_more(dport)
        bad += compare(more_ours, more_theirs)
        rev2 = rev2_imaplib(b.imap_port)
        print("  imaplib IMAP4rev2 (mailsim): %r" % rev2)
        try:
            print("  dovecot to ENABLE IMAP4rev2: %r" % (rev2_imaplib(dport)["enabled"],))
        except Exception as e:  # Dovecot 2.3 has no IMAP4rev2 to enable
            print("  dovecot to IMAP4rev2: %s" % e)
        check(rev2["caps"] and rev2["enabled"] == ("OK", [b"IMAP4rev2"]),
              "imaplib sees IMAP4rev2 advertised and enabled")
        check(rev2["recent"] is None, "no RECENT after ENABLE IMAP4rev2")
        check(rev2["select list"] == [b'(\\HasNoChildren) "/" "INBOX"'],
              "SELECT tells the LIST response of INBOX after ENABLE IMAP4rev2")
        check(rev2["esearch"] == b'(TAG "%s") ALL 1:5' % rev2["esearch"].split(b'"')[1],
              "SEARCH answered by ESEARCH after ENABLE IMAP4rev2")
        check(rev2["esearch keyword"].endswith(b" ALL 1"), "ESEARCH for a keyword")
        check(rev2["lsub"] == "refused", "LSUB refused after ENABLE IMAP4rev2")
        check(rev2["list subscribed"] == [b'(\\HasNoChildren \\Subscribed) "/" "INBOX"',
                                          b'(\\HasNoChildren \\Subscribed) "/" "Projects/2026"'],
              "LIST (SUBSCRIBED) through imaplib")
        check(rev2["store"][0] == "OK" and b"$Label1" in rev2["store"][1][-1],
              "STORE of a new keyword through imaplib")
        lib_ours, lib_theirs = with_imaplib(b.imap_port), with_imaplib(dport)
        print("  imaplib: mailsim %r\n           dovecot %r" % (lib_ours, lib_theirs))
        check(lib_ours[0] == "OK" and lib_ours[1] == {b"MIN": b"1", b"MAX": b"5", b"COUNT": b"5"}
              and lib_ours[3] == b"\0\1\2\3" and lib_ours[4] == "café = ok\r\nsoft break".encode(),
              "imaplib reads ESEARCH, LIST-STATUS and BINARY (literal8) from mailsim")
        check(lib_ours == lib_theirs, "imaplib reads the same from mailsim and Dovecot")
        if bad:
            log = os.path.join(tmp, "dovecot.log")
            if os.path.exists(log):
                sys.stderr.write(open(log).read()[-2000:])
        check(bad == 0, "mailsim and Dovecot answer the same")
    finally:
        if dproc:
            dproc.send_signal(signal.SIGTERM)
            try:
                dproc.wait(10)
            except subprocess.TimeoutExpired:
                dproc.kill()
        b._reap()
        if os.environ.get("IMAP_REV2_LOG") and os.path.exists(os.path.join(tmp, "dovecot.log")):
            sys.stderr.write(open(os.path.join(tmp, "dovecot.log")).read()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)


main()

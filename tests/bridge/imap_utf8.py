"""UTF-8 mailbox names (RFC 9051 5.1) through `mailsim bridge --imap`,
with Python's imaplib as the client: a session that has enabled IMAP4rev2
creates, selects, appends to and lists folders by their UTF-8 names; a
plain IMAP4rev1 session on the same bridge sees them in modified UTF-7
(RFC 3501 5.1.3), checked against an encoder built here on Python's own
UTF-16 and base64 codecs, and what the rev1 session creates comes back to a
rev2 session in UTF-8. With --spool the Maildir++ folders on disk keep the
modified UTF-7 names, as before this change. Invalid UTF-8 is refused."""
import base64
import imaplib
import os
import shutil
import tempfile
import time

from bridgelib import Bridge, arm, check, TIMEOUT

arm(120)
USER, PASSWORD = "sales", "quarterly-numbers"
NAMES = ["Entwürfe", "日本語", "日本語/子", "a&b", "😀"]
MSG = b"From: a@isp-a.net\r\nSubject: utf8 folders\r\n\r\nhi\r\n"


def mutf7(name):
    """Modified UTF-7 by Python's codecs: printable ASCII as itself, "&" as
    "&-", other runs as base64 of UTF-16BE with "," for "/", unpadded."""
    out, run = "", ""
    for ch in name + "\0":
        if ch != "\0" and not 0x20 <= ord(ch) <= 0x7E:
            run += ch
            continue
        if run:
            b64 = base64.b64encode(run.encode("utf-16-be")).decode().rstrip("=")
            out += "&" + b64.replace("/", ",") + "-"
            run = ""
        if ch != "\0":
            out += "&-" if ch == "&" else ch
    return out


def quote(s):
    return b'"' + s.encode("utf-8").replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def names_of(listing):
    out = []
    for line in listing:
        if isinstance(line, tuple):  # a literal: imaplib splits it off
            out.append(line[1].decode("utf-8"))
        elif line:
            out.append(line.split(b' "/" ', 1)[1].strip(b'"').decode("utf-8"))
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="mailsim-imap-utf8-")
    spool = os.path.join(tmp, "spool")
    b = Bridge("--speed", "max", "--imap", "0=mx-corp", "--spool", spool)
    try:
        m = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=TIMEOUT)
        m.login(USER, PASSWORD)
        typ, _ = m._simple_command("ENABLE", "IMAP4rev2")
        check(typ == "OK" and m.untagged_responses.pop("ENABLED", [None]) == [b"IMAP4rev2"],
              "ENABLE IMAP4rev2")
        for n in NAMES:
            typ, dat = m._simple_command("CREATE", quote(n))
            check(typ == "OK", "rev2 CREATE %r: %r" % (n, dat))
        typ, dat = m.append(quote("Entwürfe"), None, None, MSG)
        check(typ == "OK", "rev2 APPEND to Entwürfe: %r" % dat)
        typ, dat = m.select(quote("Entwürfe"))
        check(typ == "OK" and dat == [b"1"], "rev2 SELECT Entwürfe: %r" % dat)
        sel_list = m.untagged_responses.pop("LIST", [])  # RFC 9051 6.3.2
        check(names_of(sel_list) == ["Entwürfe"], "rev2 SELECT tells its LIST in UTF-8: %r" % sel_list)
        typ, dat = m._simple_command("COPY", "1", quote("日本語/子"))
        check(typ == "OK", "rev2 COPY to 日本語/子: %r" % dat)
        typ, dat = m.list('""', "*")
        got = names_of(dat)
        print("  rev2 LIST: %r" % got)
        check(sorted(got) == sorted(["INBOX"] + NAMES), "rev2 LIST shows the UTF-8 names")
        typ, dat = m._simple_command("STATUS", quote("日本語/子"), "(MESSAGES)")
        st = m.untagged_responses.pop("STATUS", [b""])[0]
        check(typ == "OK" and st.startswith(quote("日本語/子")) and st.endswith(b"(MESSAGES 1)"),
              "rev2 STATUS in UTF-8: %r" % st)
        typ, dat = m._simple_command("CREATE", b'{4+}\r\nbad\xff')
        check(typ == "NO", "invalid UTF-8 refused: %r %r" % (typ, dat))
        m.logout()

        m1 = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=TIMEOUT)
        m1.login(USER, PASSWORD)
        typ, dat = m1.list('""', "*")
        got1 = names_of(dat)
        print("  rev1 LIST: %r" % got1)
        check(sorted(got1) == sorted(["INBOX"] + [mutf7(n) for n in NAMES]),
              "rev1 LIST shows the same folders in modified UTF-7 (Python's encoding)")
        typ, dat = m1.select(mutf7("日本語/子"))
        check(typ == "OK" and dat == [b"1"], "rev1 SELECT %s: %r" % (mutf7("日本語/子"), dat))
        typ, dat = m1.create(mutf7("Été"))
        check(typ == "OK", "rev1 CREATE %s" % mutf7("Été"))
        m1.logout()

        m2 = imaplib.IMAP4("127.0.0.1", b.imap_port, timeout=TIMEOUT)
        m2.login(USER, PASSWORD)
        m2._simple_command("ENABLE", "IMAP4rev2")
        typ, dat = m2.list('""', quote("É%"))
        check(names_of(dat) == ["Été"], "rev2 sees what rev1 created in UTF-8: %r" % dat)
        m2.logout()

        # The Maildir++ folders keep the modified UTF-7 names (the bridge
        # escapes "&" as %26 on disk).
        deadline = time.time() + TIMEOUT
        want = ".Entw%26APw-rfe"
        found = []
        while time.time() < deadline and want not in found:
            found = [d for root, dirs, _ in os.walk(os.path.join(spool, "mail"))
                     for d in dirs if d.startswith(".")]
            time.sleep(0.1)
        print("  Maildir++ folders: %r" % sorted(found))
        check(want in found, "the Maildir++ folder keeps the modified UTF-7 name")
    finally:
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("imap_utf8.py: ok")


main()

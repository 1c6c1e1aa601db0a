"""Evaluates SPF cases with pyspf (Debian's python3-spf), an independent
implementation of RFC 7208, for tests/test_spf.c: the cases and their DNS
data come from a JSON file (tests/spf/interop.json's format), pyspf's DNS
lookups are answered from that data, and one line per case is printed:
"<id> <result> <explanation>".

DNS rules, the same as the C side's: names absent from the zone do not
exist; a "TIMEOUT" item makes every type not listed before it fail
temporarily; records are returned in zone order.

usage: pyspf_eval.py CASES.json    (exit 3 when pyspf is missing)"""
import json
import socket
import sys

try:
    import spf
except ImportError:
    print("pyspf_eval: python3-spf is missing", file=sys.stderr)
    sys.exit(3)

ZONE = {}


def lookup(name, qtype, strict=True, timeout=None, level=0):
    """pyspf's DNSLookup hook: yields ((name, type), value) pairs."""
    name = name.lower().rstrip(".")
    items = ZONE.get(name)
    if items is None:
        return
    seen = False
    for item in items:
        if item == "TIMEOUT":
            if not seen:
                raise spf.TempError("DNS timeout")
            return
        t, v = item
        if t != qtype:
            continue
        seen = True
        if t == "TXT":
            v = (v.encode("utf-8"),)
        elif t == "AAAA":
            v = socket.inet_pton(socket.AF_INET6, v)
        elif t == "MX":
            pref, host = v.split(" ", 1)
            v = (int(pref), host)
        yield ((name, t), v)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    spf.DNSLookup = lookup
    for scenario in data["scenarios"]:
        ZONE.clear()
        ZONE.update(scenario["zone"])
        for case in scenario["tests"]:
            q = spf.query(i=case["host"], s=case["mailfrom"], h=case["helo"], querytime=20)
            result, _code, explanation = q.check()
            print(case["id"], result, explanation.replace("\n", " "))
    return 0


if __name__ == "__main__":
    sys.exit(main())

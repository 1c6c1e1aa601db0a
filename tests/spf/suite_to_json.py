"""Turns the openspf.org SPF test suite (RFC 7208 edition, YAML, shipped by
Debian's python3-spf as rfc7208-tests.yml.gz) into one JSON document that
tests/test_spf.c reads with json-glib:

  {"scenarios": [{"description": ..., "zone": {name: [item, ...]},
                  "tests": [{"id", "spec", "helo", "host", "mailfrom",
                             "result": [...]}]}]}

Each zone item is "TIMEOUT" or [type, value]; TXT and SPF values are the
record's strings joined; type SPF (99) records stand in for TXT records
when a name has no TXT entry of its own (the suite's convention for
drivers), and "TXT: NONE" means no TXT record. The suite's semantics of
TIMEOUT (a temporary failure for a type not listed before it) and of
CNAME are the C driver's to apply.

usage: suite_to_json.py [SUITE.yml[.gz]]   (JSON on stdout; exit 3 when
PyYAML or the suite is missing)"""
import gzip
import json
import sys

SUITE = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"


def value_text(t, v):
    if t in ("TXT", "SPF"):
        if isinstance(v, str):
            v = [v]
        # The suite writes bytes as \xNN escapes: keep them as octets
        # (latin-1 code points), the way a DNS answer would carry them.
        # Records reach the evaluator as C strings: a NUL octet is passed as
        # 0x01, which spf.h asks callers to do (both are syntax errors).
        return "".join(v).replace("\0", "\x01") if v is not None else None
    if t == "MX":
        return "%d %s" % (v[0], v[1])
    return str(v)


def zone_items(records):
    items, generated, has_txt = [], [], False
    for r in records:
        if r == "TIMEOUT":
            items.append("TIMEOUT")
            continue
        for t, v in r.items():
            if t == "TXT":
                has_txt = True
            if v == "TIMEOUT":
                items.append([t, "TIMEOUT"])
                continue
            if t in ("TXT", "SPF") and v in ("NONE", ["NONE"]):
                continue
            text = value_text(t, v)
            if t == "SPF":
                generated.append(["TXT", text])
            items.append([t, text])
    if not has_txt:
        items.extend(generated)
    return items


def main():
    try:
        import yaml
    except ImportError:
        print("suite_to_json: PyYAML is missing", file=sys.stderr)
        return 3
    path = sys.argv[1] if len(sys.argv) > 1 else SUITE
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            docs = list(yaml.safe_load_all(f))
    except OSError as e:
        print("suite_to_json: %s" % e, file=sys.stderr)
        return 3
    out = []
    for doc in docs:
        if not doc:
            continue
        zone = {name.lower(): zone_items(recs or []) for name, recs in doc.get("zonedata", {}).items()}
        tests = []
        for tid, t in sorted(doc.get("tests", {}).items()):
            res = t["result"]
            tests.append({
                "id": tid,
                "spec": str(t.get("spec", "")),
                "helo": t.get("helo", ""),
                "host": t["host"],
                "mailfrom": t.get("mailfrom", ""),
                "result": res if isinstance(res, list) else [res],
            })
        out.append({"description": doc.get("description", ""), "zone": zone, "tests": tests})
    json.dump({"scenarios": out}, sys.stdout, ensure_ascii=True, indent=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Parses Authentication-Results header fields with python3-authres (an
independent RFC 8601 parser) for tests/test_auth_results.c: each argument
is one whole field as mailsim wrote it, folded, "Authentication-Results:"
included; it is unfolded first (RFC 5322 2.2.3), as a mail reader does
before it parses a field. authres returns a quoted-string's content with
its quoted-pairs as written (\" stays two characters); the script takes
their backslashes away, as a reader does when it uses the value.

Prints one JSON object per field, one per line: {"id": authserv-id,
"results": [{"method", "result", "reason", "props": [[ptype, property,
value], ...]}]}; exits 3 when authres is missing, 1 when a field does not
parse."""
import json
import re
import sys

try:
    import authres
except ImportError:
    print("authres_parse: python3-authres is missing", file=sys.stderr)
    sys.exit(3)

for field in sys.argv[1:]:
    field = re.sub(r"\r\n(?=[ \t])", "", field)
    try:
        h = authres.AuthenticationResultsHeader.parse(field)
    except Exception as e:  # any refusal is a test failure, with the reason
        print("authres_parse: %r: %s: %s" % (field, type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
    def value(v):
        return re.sub(r"\\(.)", r"\1", v) if v is not None else None

    print(json.dumps({
        "id": h.authserv_id,
        "results": [{
            "method": r.method,
            "result": r.result,
            "reason": value(r.reason),
            "props": [[p.type, p.name, value(p.value)] for p in r.properties],
        } for r in h.results],
    }))

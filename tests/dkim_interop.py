#!/usr/bin/env python3
"""DKIM interoperability with an independent implementation: Debian's
python3-dkim (dkimpy), with PyNaCl for Ed25519 and the openssl program for
RSA keys. Driven by tests/test_dkim.c, which signs with mailsim and asks
this script to verify, and asks it to sign for mailsim to verify. Key
queries never reach the network: dnsfunc answers from a file the caller
gives, and only for the name the caller expects.

  dkim_interop.py verify MESSAGE QNAME RECORD
      verifies the topmost signature of MESSAGE (a file) with dkimpy, the
      TXT query for QNAME answered with the contents of the file RECORD;
      prints "pass", or "fail: why", and exits 0 or 1.
  dkim_interop.py sign ALG HCANON/BCANON MESSAGE OUTDIR [KEYFILE]
      signs MESSAGE with dkimpy as d=example.org, s=py, with a key of type
      ALG (rsa or ed25519) made here (openssl genpkey for RSA-2048, PyNaCl
      for Ed25519) or read from KEYFILE (an RSA PEM); HCANON/BCANON+l also
      writes l= (the body length, RFC 6376 3.5); writes
      OUTDIR/signed.eml (the message with its DKIM-Signature on top) and
      OUTDIR/record.txt (the key record to publish at py._domainkey.example.org).
"""
import base64
import os
import subprocess
import sys

import dkim


def verify(message_path, qname, record_path):
    with open(message_path, "rb") as f:
        message = f.read()
    with open(record_path, "rb") as f:
        record = f.read().strip()
    want = qname.rstrip(".").lower().encode()

    def dnsfunc(name, timeout=5):
        if name.rstrip(b".").lower() != want:
            print("unexpected key query:", name, file=sys.stderr)
            return None
        return record

    d = dkim.DKIM(message, minkey=1024)
    try:
        ok = d.verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        print("fail:", e)
        return 1
    print("pass" if ok else "fail: signature did not verify")
    return 0 if ok else 1


def rsa_key(outdir, keyfile):
    if keyfile is None:
        keyfile = os.path.join(outdir, "py.key")
        subprocess.check_call(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                               "rsa_keygen_bits:2048", "-out", keyfile],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    der = subprocess.check_output(["openssl", "pkey", "-in", keyfile, "-pubout", "-outform", "DER"],
                                  stderr=subprocess.DEVNULL)
    with open(keyfile, "rb") as f:
        private = f.read()
    return private, "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def ed25519_key():
    import nacl.signing
    sk = nacl.signing.SigningKey.generate()
    private = base64.b64encode(bytes(sk))  # dkimpy takes the 32-octet seed in base64
    public = base64.b64encode(bytes(sk.verify_key)).decode()
    return private, "v=DKIM1; k=ed25519; p=" + public


def sign(alg, canon, message_path, outdir, keyfile=None):
    with open(message_path, "rb") as f:
        message = f.read()
    length = canon.endswith("+l")
    hc, bc = canon[:-2 if length else None].split("/")
    if alg == "rsa":
        private, record = rsa_key(outdir, keyfile)
        algorithm = b"rsa-sha256"
    elif alg == "ed25519":
        private, record = ed25519_key()
        algorithm = b"ed25519-sha256"
    else:
        print("unknown algorithm", alg, file=sys.stderr)
        return 2
    field = dkim.sign(message, b"py", b"example.org", private,
                      canonicalize=(hc.encode(), bc.encode()), signature_algorithm=algorithm,
                      include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                      length=length)
    with open(os.path.join(outdir, "signed.eml"), "wb") as f:
        f.write(field + message)
    with open(os.path.join(outdir, "record.txt"), "w") as f:
        f.write(record)
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == "verify":
        return verify(argv[2], argv[3], argv[4])
    if len(argv) in (6, 7) and argv[1] == "sign":
        return sign(argv[2], argv[3], argv[4], argv[5], argv[6] if len(argv) == 7 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

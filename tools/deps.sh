#!/bin/sh
# Dependency step shared by `make demo`, `make check` and CI: checks for the
# libraries and tools mailsim's build and tests use, and installs the Debian
# packages that are missing. On a machine that has them all it only runs a few
# pkg-config and command -v probes.
#
# Everything the tests use is required, not optional: a test that cannot
# run what it checks reports itself skipped, and CI (MAILSIM_NO_SKIP=1)
# fails on any skip. `sh tools/deps.sh PKG...` installs the named packages
# too, when missing.
set -eu

missing=""
need_pkg() { # $1 = pkg-config module, $2 = Debian package
    pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"
}
need_cmd() { # $1 = command, $2 = Debian package
    command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}

command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v cc >/dev/null 2>&1 || missing="$missing build-essential"
need_pkg glib-2.0 libglib2.0-dev
need_pkg gio-2.0 libglib2.0-dev
need_pkg libxml-2.0 libxml2-dev
need_pkg cairo libcairo2-dev
need_pkg cunit libcunit1-dev
need_pkg pangocairo libpango1.0-dev
# Sweep summaries read back for `mailsim render --kind sweep` (sim/run/sweep_results.c).
need_pkg json-glib-1.0 libjson-glib-dev
# TLS (issue 17): the simulated hosts' TLS 1.3 takes its primitives from
# nettle/hogweed; the simulated PKI's X.509 is GnuTLS's; the interoperability
# tests run our endpoint against GnuTLS and OpenSSL (libssl) in memory; the
# bridge's TLS is GIO's GTlsConnection, provided by glib-networking.
need_pkg nettle nettle-dev
need_pkg hogweed nettle-dev
need_pkg gnutls libgnutls28-dev
need_pkg openssl libssl-dev
need_cmd openssl openssl
# DKIM (issue 19): RSA signatures are hogweed's, whose API takes GMP
# numbers; the interoperability test verifies and signs with Debian's
# python3-dkim (and PyNaCl for Ed25519) in Debian's own python3.
need_pkg gmp libgmp-dev
/usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null || missing="$missing python3-dkim python3-nacl"
[ -n "$(find /usr/lib -name 'libgiognutls.so' 2>/dev/null | head -1)" ] ||
    missing="$missing glib-networking"
# Embedded files (scenario schema, first lesson) are compiled in as a GResource.
need_cmd glib-compile-resources libglib2.0-dev-bin
# Tests: tshark decodes our captures (test_pcap_writer, test_teaching);
# mergecap merges per-part captures (test_partition); python3 drives the
# bridge's client scripts (test_bridge), with swaks, msmtp and fetchmail as
# real client programs (tests/bridge/clients.py, programs.py).
need_cmd tshark tshark
need_cmd mergecap wireshark-common
need_cmd python3 python3
need_cmd swaks swaks
need_cmd msmtp msmtp
need_cmd fetchmail fetchmail
# TLS clients for the bridge's STARTTLS and implicit-TLS listeners.
need_cmd curl curl
need_cmd getmail getmail6
# IMAP clients for the bridge's IMAP listener (tests/bridge/imap.py).
need_cmd mbsync isync
# IMAP4rev2 pieces compared with Dovecot's imapd (tests/bridge/imap_rev2.py)
need_cmd dovecot dovecot-imapd
# swaks speaks TLS (--tls, --tlsc) only with Perl's Net::SSLeay and IO::Socket::SSL.
perl -MNet::SSLeay -MIO::Socket::SSL -e 1 2>/dev/null || missing="$missing libnet-ssleay-perl libio-socket-ssl-perl"
# Sender authentication (issue 19): pyspf (python3-spf) is the independent
# SPF implementation test_spf runs beside ours, and ships the openspf.org
# RFC 7208 test suite it reads with PyYAML; python3-authres parses our
# Authentication-Results headers; publicsuffix is the full public suffix
# list (test_dmarc reads it as well as the built-in one), and psl (libpsl's
# program) answers the same questions from it independently. Debian's
# modules live with Debian's python3, which the tests prefer.
need_py() { # $1 = Python module, $2 = Debian package
    py=/usr/bin/python3
    [ -x "$py" ] || py=python3
    "$py" -c "import $1" 2>/dev/null || missing="$missing $2"
}
need_py spf python3-spf
need_py yaml python3-yaml
need_py authres python3-authres
[ -f /usr/share/doc/python3-spf/rfc7208-tests.yml.gz ] || missing="$missing python3-spf"
[ -f /usr/share/publicsuffix/public_suffix_list.dat ] || missing="$missing publicsuffix"
need_cmd psl psl
# Open MPI: distributed runs (issue 9) and their 2- and 4-rank tests
# (test_mpi); without mpicc mailsim builds with --mpi reported unavailable.
need_cmd mpirun openmpi-bin
need_cmd mpicc libopenmpi-dev
# make fuzz: clang with libFuzzer and the
# sanitizer runtimes; .clang-format's formatter.
need_cmd clang clang
[ -n "$(find /usr/lib/llvm-*/lib/clang/*/lib/linux -name 'libclang_rt.fuzzer-*.a' 2>/dev/null | head -1)" ] ||
    missing="$missing libclang-rt-14-dev"
need_cmd clang-format clang-format
# Pictures need a font with real glyphs (pango falls back to boxes without).
if ! fc-list 2>/dev/null | grep -qi dejavu; then missing="$missing fonts-dejavu-core"; fi
# Packages asked for by name (e.g. `make bench-tcp`'s libns3-dev, too big for
# everyone's list), installed only when dpkg does not have them yet.
for p in "$@"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$missing $p"
done

if [ -z "$missing" ]; then
    exit 0
fi

missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
echo "deps: installing missing Debian packages: $missing" >&2
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: not root and no sudo; please install: $missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq || true
# Packages with daemons (dovecot-imapd for the IMAP comparison tests) must
# not start them: a policy-rc.d that forbids service starts is in place for
# the install when the machine has none, and removed after.
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# mailsim deps: no service starts during the install\nexit 101\n' |
        $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod 755 /usr/sbin/policy-rc.d && made_policy=1
fi
status=0
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing || status=$?
[ -n "$made_policy" ] && $SUDO rm -f /usr/sbin/policy-rc.d
[ "$status" = 0 ] || exit "$status"
echo "deps: done" >&2

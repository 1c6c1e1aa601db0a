#!/bin/sh
# Dependency step shared by `make demo`, `make check` and CI: checks for the
# libraries and tools mailsim's build and tests use, and installs the Debian
# packages that are missing. On a machine that has them all it only runs a few
# pkg-config and command -v probes.
#
# Client programs that only the bridge's tests use (swaks, msmtp, fetchmail)
# are installed on a best-effort basis: when apt cannot get them, the step
# still succeeds and those tests print a 'SKIPPED: ...' line.
# `sh tools/deps.sh PKG...` installs the named packages too (make fuzz: clang).
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
need_cmd tshark tshark
need_cmd python3 python3
# Pictures need a font with real glyphs (pango falls back to boxes without).
if ! fc-list 2>/dev/null | grep -qi dejavu; then missing="$missing fonts-dejavu-core"; fi
for p in "$@"; do missing="$missing $p"; done

optional=""
need_opt() { # $1 = command, $2 = Debian package
    command -v "$1" >/dev/null 2>&1 || optional="$optional $2"
}
need_opt swaks swaks
need_opt msmtp msmtp
need_opt fetchmail fetchmail
# Open MPI, for distributed runs (issue 9) and their 2- and 4-rank tests;
# without it mailsim builds with --mpi reported as unavailable.
need_opt mpirun openmpi-bin
need_opt mpicc libopenmpi-dev

if [ -z "$missing" ] && [ -z "$optional" ]; then
    exit 0
fi

missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
if [ -n "$missing" ]; then echo "deps: installing missing Debian packages: $missing" >&2; fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    if [ -n "$missing" ]; then
        echo "deps: not root and no sudo; please install: $missing" >&2
        exit 1
    fi
    echo "deps: not root and no sudo; tests that need$optional will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, non-interactively.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq || true
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
if [ -n "$optional" ]; then
    echo "deps: installing test client programs:$optional" >&2
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $optional >&2 ||
        echo "deps: could not install$optional; their tests will print SKIPPED" >&2
fi
echo "deps: done" >&2

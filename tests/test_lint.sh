#!/bin/sh
# tools/lint.sh on the fixture tree tests/lint/ (a copy, with its objects
# built by cc) must fail naming each planted violation by file and line, and
# nothing else; on the real tree (objects in $BUILD, default build/) it must
# pass. Prints a "suite-result:" line for tests/run-all.sh.
#   BUILD=dir   the real tree's build directory (make run-tests sets it)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CC=${CC:-cc}
pass=0
fail=0
check() { # $1 = what, $2 = shell test
    if eval "$2"; then
        pass=$((pass + 1))
        echo "  ok    $1"
    else
        fail=$((fail + 1))
        echo "  FAIL  $1"
    fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cp -R tests/lint "$tmp/tree"
for c in sim/core/clock.c sim/mail/mail.c; do
    mkdir -p "$tmp/tree/build/${c%/*}"
    "$CC" -std=c11 -Wall -Werror -I"$tmp/tree/include" -c "$tmp/tree/$c" -o "$tmp/tree/build/${c%.c}.o" ||
        fail=$((fail + 1))
done
at() { # $1 = fixed string in sim/core/clock.c: "sim/core/clock.c:LINE"
    echo "sim/core/clock.c:$(grep -nF "$1" tests/lint/sim/core/clock.c | head -1 | cut -d: -f1)"
}

echo "Suite: lint"
sh tools/lint.sh "$tmp/tree" >"$tmp/out" 2>&1
rc=$?
sed 's/^/    /' "$tmp/out"
check "lint fails on the fixture" '[ $rc -ne 0 ]'
check "an upward include, by file and line" \
    'grep -qF "lint: $(at "mailsim/mail.h"): core includes \"mailsim/mail.h\" (mail)" "$tmp/out"'
check "an upward call, found by nm, at its first use" \
    'grep -qF "lint: $(at "ms_mail_send(\"x\")"): core calls ms_mail_send (mail)" "$tmp/out"'
check "a file-scope static with ( in its initialiser" \
    'grep -qF "lint: $(at "ticks = "): mutable static" "$tmp/out"'
check "a static inside a function" \
    'grep -qF "lint: $(at "static int calls"): mutable static" "$tmp/out"'
check "a static declared over several lines" \
    'grep -qF "lint: $(at "static struct {"): mutable static" "$tmp/out"'
check "nothing else: comments, strings, const, functions and attributes are fine" \
    '[ "$(grep -c "^lint: " "$tmp/out")" -eq 5 ]'

# A public header that no folder owns is itself an error.
echo '#pragma once' >"$tmp/tree/include/mailsim/orphan.h"
sh tools/lint.sh "$tmp/tree" >"$tmp/out2" 2>&1
check "a header without an owner folder is named" \
    'grep -qF "lint: include/mailsim/orphan.h:1: no owner folder" "$tmp/out2"'

sh tools/lint.sh . "$BUILD" >"$tmp/real" 2>&1
rc=$?
sed 's/^/    /' "$tmp/real"
check "the real tree passes" '[ $rc -eq 0 ]'

echo "suite-result: lint passed=$pass failed=$fail skipped=0"
[ "$fail" -eq 0 ]

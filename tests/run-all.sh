#!/bin/sh
# Runs each CUnit test program (or test script, *.sh) given as an argument,
# keeps going after a failure, and closes with one line
# "tests: N passed, M failed, K skipped" counting the tests of all suites
# (from their "suite-result:" lines), after the list of skipped tests (their
# "suite-skipped:" lines). Exit status 1 when any test or program failed, or
# when anything skipped under MAILSIM_NO_SKIP=1 (CI: every test must run).
passed=0; failed=0; skipped=0; broken=""
tmp=$(mktemp)
skips=$(mktemp)
trap 'rm -f "$tmp" "$skips"' EXIT
for t in "$@"; do
    case "$t" in
        *.sh) sh "$t" >"$tmp" 2>&1 ;;
        *) "$t" >"$tmp" 2>&1 ;;
    esac
    rc=$?
    cat "$tmp"
    line=$(grep '^suite-result:' "$tmp" | tail -1)
    if [ -z "$line" ]; then
        broken="$broken $t(rc=$rc)"
        continue
    fi
    grep '^suite-skipped:' "$tmp" | sed 's/^suite-skipped: /  /' >>"$skips"
    p=$(echo "$line" | sed 's/.* passed=\([0-9]*\).*/\1/')
    f=$(echo "$line" | sed 's/.* failed=\([0-9]*\).*/\1/')
    s=0
    case "$line" in *" skipped="*) s=$(echo "$line" | sed 's/.* skipped=\([0-9]*\).*/\1/') ;; esac
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && broken="$broken $t(rc=$rc)"
done
if [ -n "$broken" ]; then
    echo "test programs that crashed or exited badly:$broken"
    failed=$((failed + 1))
fi
if [ -s "$skips" ]; then
    echo "skipped tests (not passed: they did not check what they are for):"
    cat "$skips"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "${MAILSIM_NO_SKIP:-0}" = 1 ] && [ "$skipped" -gt 0 ]; then
    echo "tests: MAILSIM_NO_SKIP=1 and $skipped skipped: install what they need (tools/deps.sh)"
    exit 1
fi
[ "$failed" -eq 0 ]

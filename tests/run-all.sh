#!/bin/sh
# Runs each CUnit test program (or test script, *.sh) given as an argument, keeps going after a
# failure, and closes with one line "tests: N passed, M failed" counting the
# tests of all suites. Exit status 1 when any test or program failed.
passed=0; failed=0; broken=""
tmp=$(mktemp)
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
    p=$(echo "$line" | sed 's/.*passed=\([0-9]*\).*/\1/')
    f=$(echo "$line" | sed 's/.*failed=\([0-9]*\).*/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && broken="$broken $t(rc=$rc)"
done
rm -f "$tmp"
if [ -n "$broken" ]; then
    echo "test programs that crashed or exited badly:$broken"
    failed=$((failed + 1))
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# Runs each CUnit test program (or test script, *.sh) given as an argument,
# TEST_JOBS at a time (default: the number of processors), prints each one's
# output whole and in the order given as soon as it and those before it have
# finished, keeps going after a failure, and closes with one line
# "tests: N passed, M failed, K skipped" counting the tests of all suites
# (from their "suite-result:" lines), after the list of skipped tests (their
# "suite-skipped:" lines). Exit status 1 when any test or program failed, or
# when anything skipped under MAILSIM_NO_SKIP=1 (CI: every test must run).
# The suites share nothing but loopback (each bridge test asks the kernel
# for free ports) and their own temporary files.
passed=0; failed=0; skipped=0; broken=""
jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
dir=$(mktemp -d)
skips="$dir/skips"
: >"$skips"
trap 'kill $runner 2>/dev/null; rm -rf "$dir"' EXIT
i=0
for t in "$@"; do
    i=$((i + 1))
    printf '%s %s\n' "$i" "$t"
done >"$dir/list"
xargs -P "$jobs" -L 1 sh -c '
    case "$2" in
        *.sh) sh "$2" ;;
        *) "$2" ;;
    esac >"$0/$1.out" 2>&1
    echo $? >"$0/$1.rc.tmp" && mv "$0/$1.rc.tmp" "$0/$1.rc"' "$dir" <"$dir/list" &
runner=$!
i=0
for t in "$@"; do
    i=$((i + 1))
    while [ ! -f "$dir/$i.rc" ] && kill -0 $runner 2>/dev/null; do sleep 0.2; done
    rc=$(cat "$dir/$i.rc" 2>/dev/null || echo 255)
    touch "$dir/$i.out"
    tmp="$dir/$i.out"
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
wait $runner
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

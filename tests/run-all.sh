#!/bin/sh
# Runs each CUnit test program (or test script, *.sh) given as an argument,
# TEST_JOBS at a time (default: the number of processors), prints each one's
# output whole and in the order given as soon as it and those before it have
# finished, each followed by "suite-time: NAME WALL s (cpu CPU s)" (its wall
# time, and the processor time of it and its children), keeps going after a
# failure, and closes with one line "tests: N passed, M failed, K skipped"
# counting the tests of all suites (from their "suite-result:" lines), after
# the list of skipped tests (their "suite-skipped:" lines). Exit status 1
# when any test or program failed, or when anything skipped under
# MAILSIM_NO_SKIP=1 (CI: every test must run).
# The suites share nothing but loopback (each bridge test asks the kernel
# for free ports) and their own temporary files.
#
# Order of starting: longest first, so that no long suite starts last and
# runs alone at the end. A suite's weight is its time in seconds in
# tests/suite-weights (SUITE_WEIGHTS=file for another), the check column,
# or the asan one when BUILD names an ASan build; a suite not listed there
# counts as the longest. A suite marked "wait" there spends its time mostly
# waiting (real clients, timeouts, sockets), not computing: those run in a
# pool of their own, TEST_JOBS at a time, beside the TEST_JOBS others,
# instead of holding one of their processors idle. TEST_JOBS=1: one suite
# at a time, whatever its kind.
passed=0; failed=0; skipped=0; broken=""
jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
dir=$(mktemp -d)
skips="$dir/skips"
: >"$skips"
runners=""
trap 'kill $runners 2>/dev/null; rm -rf "$dir"' EXIT
weights=${SUITE_WEIGHTS:-$(dirname "$0")/suite-weights}
[ -f "$weights" ] || weights=/dev/null
case "${BUILD:-build}" in *asan*) col=3 ;; *) col=2 ;; esac
i=0
for t in "$@"; do
    i=$((i + 1))
    printf '%s %s\n' "$i" "$t"
done >"$dir/given"
# "weight pool i path", longest first; pool "wait" or "cpu".
awk -v c="$col" -v one="$([ "$jobs" -le 1 ] && echo 1)" 'FILENAME == ARGV[1] {
        if ($1 !~ /^#/ && NF >= 3) { w[$1] = $c; p[$1] = ($4 == "wait" && !one) ? "wait" : "cpu" }
        next
    }
    { n = $2; sub(/.*\//, "", n); print ((n in w) ? w[n] : 999999), ((n in p) ? p[n] : "cpu"), $0 }' \
    "$weights" "$dir/given" | sort -s -k1,1nr >"$dir/order"
awk '$2 == "cpu" { print $3, $4 }' "$dir/order" >"$dir/list.cpu"
awk '$2 == "wait" { print $3, $4 }' "$dir/order" >"$dir/list.wait"
run_pool() { # $1 = list file, $2 = jobs
    exec xargs -r -P "$2" -L 1 sh -c '
        t0=$(date +%s%N)
        case "$2" in
            *.sh) sh "$2" ;;
            *) "$2" ;;
        esac >"$0/$1.out" 2>&1
        rc=$?
        times >"$0/$1.times"
        cpu=$(awk "END { split(\$1 \" \" \$2, a, /[ms]/); printf \"%.1f\", a[1] * 60 + a[2] + a[3] * 60 + a[4] }" "$0/$1.times")
        echo $((($(date +%s%N) - t0) / 1000000)) "$cpu" >"$0/$1.ms"
        echo $rc >"$0/$1.rc.tmp" && mv "$0/$1.rc.tmp" "$0/$1.rc"' "$dir" <"$1"
}
run_pool "$dir/list.wait" "$jobs" &
runners="$runners $!"
run_pool "$dir/list.cpu" "$jobs" &
runners="$runners $!"
alive() { # whether a runner is still going
    for r in $runners; do kill -0 "$r" 2>/dev/null && return 0; done
    return 1
}
i=0
for t in "$@"; do
    i=$((i + 1))
    while [ ! -f "$dir/$i.rc" ] && alive; do sleep 0.2; done
    rc=$(cat "$dir/$i.rc" 2>/dev/null || echo 255)
    touch "$dir/$i.out"
    tmp="$dir/$i.out"
    cat "$tmp"
    read -r ms cpu <"$dir/$i.ms" 2>/dev/null || ms=0
    printf 'suite-time: %s %d.%01d s (cpu %s s)\n' "${t##*/}" $((ms / 1000)) $((ms % 1000 / 100)) "${cpu:-0}"
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
wait
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

#!/bin/sh
# A sweep with a results folder, killed with SIGKILL midway and resumed,
# gives byte for byte the outputs of an uninterrupted run, whatever --jobs;
# a rerun with everything stored runs nothing and says so; runs stored by
# another mailsim version are refused, or run again when asked. Prints a
# "suite-result:" line for tests/run-all.sh.
#   MAILSIM=path   the binary (make run-tests sets it; default ./mailsim)
set -u
cd "$(dirname "$0")/.."
MAILSIM=${MAILSIM:-./mailsim}
export MAILSIM_HUGE_PAGES=0
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
[ -n "${KEEP:-}" ] && echo "tmp: $tmp"
trap 'rm -rf "$tmp"' EXIT INT TERM
[ -n "${KEEP:-}" ] && trap - EXIT
cat >"$tmp/world.xml" <<'XML'
<?xml version="1.0"?>
<scenario version="1" name="resume" seed="3" until="2h" keep-bodies="false">
  <generate topology="transit-stub" domains="8" routers="60" users="80" messages="400"
            duration="1h" seed="3" outages="1"/>
</scenario>
XML
sweep() { # $1 = results folder, $2 = output prefix, then more options (the
    # same settings as the killed run below)
    r=$1
    o=$2
    shift 2
    "$MAILSIM" sweep "$tmp/world.xml" --seeds 1..6 --set fidelity=packet,flow \
        --set '//generate/@messages=200,400' --results "$r" \
        --tidy "$o.csv" --csv "$o-summary.csv" --json "$o.json" -q "$@"
}
same() { # $1, $2 = output prefixes
    cmp -s "$1.csv" "$2.csv" && cmp -s "$1-summary.csv" "$2-summary.csv" && cmp -s "$1.json" "$2.json"
}
runs() { ls "$1/runs" 2>/dev/null | grep -c '\.run$'; }

# the reference: one thread, never interrupted
sweep "$tmp/ref" "$tmp/ref" -j 1 2>"$tmp/ref.err"
check "an uninterrupted sweep runs its 24 runs" '[ "$(runs "$tmp/ref")" -eq 24 ]'
check "its tidy CSV has a row per run and statistic" \
    '[ "$(wc -l <"$tmp/ref.csv")" -eq $((1 + 24 * 18)) ]'

# killed midway: SIGKILL once a few runs are stored, then resumed
# (exec: $! must be mailsim itself, not a shell around it)
(exec "$MAILSIM" sweep "$tmp/world.xml" --seeds 1..6 --set fidelity=packet,flow \
    --set '//generate/@messages=200,400' --results "$tmp/int" -q -j 2 2>/dev/null) &
pid=$!
i=0
while [ "$(runs "$tmp/int")" -lt 3 ] && [ $i -lt 600 ]; do
    sleep 0.05
    i=$((i + 1))
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
left=$(runs "$tmp/int")
check "the kill came midway ($left of 24 runs stored)" '[ "$left" -ge 3 ] && [ "$left" -lt 24 ]'
check "at most the temporary file of one interrupted write besides the runs" \
    '[ "$(ls "$tmp/int/runs" | grep -cv "\.run$")" -le 2 ]'
sweep "$tmp/int" "$tmp/int" -j 3 2>"$tmp/resume.err"
check "the resumed sweep says what it had and runs only the rest" \
    'grep -q "$left of 24 runs are stored; running the $((24 - left)) missing" "$tmp/resume.err"'
check "and the resumed sweep removed it" '[ -z "$(ls "$tmp/int/runs" | grep -v "\.run$")" ]'
check "killed and resumed (-j 2, then -j 3) = uninterrupted (-j 1), byte for byte" \
    'same "$tmp/int" "$tmp/ref"'

# once more: nothing to run, the same bytes
sweep "$tmp/int" "$tmp/again" -j 2 2>"$tmp/again.err"
check "a rerun with every run stored runs nothing and says so" \
    'grep -q "all 24 runs are stored; nothing to run" "$tmp/again.err"'
check "and gives the same bytes" 'same "$tmp/again" "$tmp/ref"'

# a run stored by another version: refused, never mixed; or run again
f=$(ls "$tmp/int/runs" | head -1)
sed 's/^version .*/version 0.0-old/' "$tmp/int/runs/$f" >"$tmp/x" && mv "$tmp/x" "$tmp/int/runs/$f"
sweep "$tmp/int" "$tmp/old" -j 2 2>"$tmp/old.err"
rc=$?
check "runs of another version are refused (exit 2)" '[ $rc -eq 2 ]'
check "naming both versions" \
    'grep -q "holds 1 of this sweep.s 24 runs written by mailsim 0.0-old (this is mailsim" "$tmp/old.err"'
check "and nothing is written" '[ ! -e "$tmp/old.csv" ]'
sweep "$tmp/int" "$tmp/old" -j 2 --rerun-other-versions 2>"$tmp/old.err"
check "--rerun-other-versions runs it again, saying so" \
    'grep -q "running again 1 run stored by mailsim 0.0-old" "$tmp/old.err"'
check "and the results are the uninterrupted ones" 'same "$tmp/old" "$tmp/ref"'
check "the file is replaced by this version's" \
    '! grep -q "0.0-old" "$tmp/int/runs/$f"'

# under mpirun the ranks share the runs through the folder (rank r runs the
# missing runs r, r + K, ...); rank 0 writes the outputs, the same bytes
if command -v mpirun >/dev/null 2>&1; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ASAN_OPTIONS=detect_leaks=0
    t=""
    command -v timeout >/dev/null 2>&1 && t="timeout 120"
    $t mpirun --allow-run-as-root --oversubscribe -np 2 "$MAILSIM" sweep "$tmp/world.xml" \
        --seeds 1..6 --set fidelity=packet,flow --set '//generate/@messages=200,400' \
        --results "$tmp/mpi" --tidy "$tmp/mpi.csv" --csv "$tmp/mpi-summary.csv" \
        --json "$tmp/mpi.json" -q --mpi >"$tmp/mpi.out" 2>&1
    rc=$?
    if grep -q "unavailable" "$tmp/mpi.out"; then
        check "--mpi in a build without Open MPI is refused" '[ $rc -eq 2 ]'
    else
        check "mpirun -np 2: both ranks ran their share" \
            'grep -q "rank 0/2: 12/12 runs done" "$tmp/mpi.out" && grep -q "rank 1/2: 12/12 runs done" "$tmp/mpi.out"'
        check "mpirun -np 2 = one process, byte for byte" 'same "$tmp/mpi" "$tmp/ref"'
    fi
fi

echo "suite-result: sweep_resume passed=$pass failed=$fail"
[ "$fail" -eq 0 ]

#!/bin/sh
# `make bench`: runs each benchmark case REPS times (default 5) and prints
# the median line of each, plus engine/bare ratios. Machines here are shared
# and noisy: read medians and ratios, not single runs.
set -eu
REPS=${REPS:-5}
M=./mailsim

# median_of CMD...: runs CMD REPS times, prints the line whose events_per_s
# is the median.
median_of() {
    for _ in $(seq "$REPS"); do "$@"; done |
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^events_per_s=/) { split($i, a, "="); print a[2], $0 } }' |
        sort -n | awk -v n="$REPS" 'NR == int((n + 1) / 2) { $1 = ""; sub(/^ /, ""); print }'
}
rate() { echo "$1" | sed 's/.*events_per_s=\([0-9]*\).*/\1/'; }

echo "== engine: PHOLD (R=0.9, L=1ms, M=1ms), median of $REPS runs"
for c in "1000 1 10s" "100000 10 20ms"; do
    set -- $c
    e=$(median_of $M bench phold --nodes "$1" --pop "$2" --remote 0.9 --lookahead 1ms --mean 1ms --end "$3")
    b=$(median_of $M bench phold --nodes "$1" --pop "$2" --remote 0.9 --lookahead 1ms --mean 1ms --end "$3" --bare)
    echo "$e"
    echo "$b"
    echo "ratio engine/bare nodes=$1 pop=$2: $(awk -v a="$(rate "$e")" -v b="$(rate "$b")" 'BEGIN { printf "%.2f", a / b }')"
done

echo
echo "== network: packets forwarded on a random graph (10,000 routers, 100,000 packets in flight, 1,000 destinations), median of $REPS runs"
median_of $M bench net --routers 10000 --flows 100000 --dests 1000 --end 200ms

# Distributed PHOLD (issue 9): 1 and 2 ranks with mpirun on this machine,
# when mailsim was built with Open MPI. Same events and digest as above.
if command -v mpirun >/dev/null 2>&1 && $M bench phold --nodes 2 --end 1ms --mpi >/dev/null 2>&1; then
    echo
    echo "== distributed: PHOLD N=10000 P=10 R=0.9 L=1ms M=1ms T=200ms under mpirun, median of $REPS runs"
    MPIRUN="mpirun --allow-run-as-root --oversubscribe"
    A="--nodes 10000 --pop 10 --remote 0.9 --lookahead 1ms --mean 1ms --end 200ms"
    s=$(median_of $M bench phold $A)
    echo "$s"
    for k in 1 2; do
        r=$(median_of $MPIRUN -np $k $M bench phold $A --mpi)
        echo "$r"
        echo "speed-up of $k rank(s) over the sequential run: $(awk -v a="$(rate "$r")" -v b="$(rate "$s")" 'BEGIN { printf "%.2f", a / b }')"
    done
fi

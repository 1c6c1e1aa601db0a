#!/bin/sh
# `make bench-tcp`: the same TCP transfers in mailsim (`mailsim bench
# transfer`) and in ns-3 (tools/ns3/transfer.cc, NewReno with SACK), side by
# side: transfer time, data segments, retransmissions, drops, and the ratio of
# the transfer times (mailsim / ns-3). A benchmark, not a test: it prints
# figures and fails only when a program does.
#
#   sh tools/ns3/bench_tcp.sh [BUILD [MAILSIM]]    defaults: build, ./mailsim
#
# Needs libns3-dev (`make bench-tcp` installs it on demand); builds
# BUILD/ns3-transfer from tools/ns3/transfer.cc when that is newer.
# CASES=quick runs the first four cases only. NS3_GROWTH=bytes (default)
# makes ns-3's congestion avoidance count the segments each ACK covers
# (RFC 3465, as Linux and mailsim); NS3_GROWTH=ack keeps ns-3 3.37's NewReno
# as it is (one share per ACK: half a segment per round trip with delayed
# ACKs). NS3_SSTHRESH=cwnd (default) sets ssthresh to cwnd / 2 at a loss,
# as Linux and mailsim (FlightSize / 2 with a full window); NS3_SSTHRESH=pipe
# keeps ns-3 3.37's BytesInFlight / 2, which leaves out the SACKed and lost
# segments and so cuts deeper the more segments a window loses.
set -eu
BUILD=${1:-build}
MAILSIM=${2:-./mailsim}
NS3=$BUILD/ns3-transfer
GROWTH=${NS3_GROWTH:-bytes}
SSTHRESH=${NS3_SSTHRESH:-cwnd}
SRC=tools/ns3/transfer.cc
NS3_LIBS="-lns3-core -lns3-network -lns3-internet -lns3-point-to-point -lns3-applications -lns3-traffic-control"

if [ ! -f /usr/include/ns3/core-module.h ]; then
    echo "bench-tcp: ns-3 headers not found (install libns3-dev: sh tools/deps.sh libns3-dev)" >&2
    exit 2
fi
if [ ! -x "$NS3" ] || [ "$SRC" -nt "$NS3" ]; then
    mkdir -p "$BUILD"
    echo "  CXX     $SRC (ns-3 $(pkg-config --modversion ns3-core 2>/dev/null || echo '?'))" >&2
    # shellcheck disable=SC2086
    g++ -std=c++17 -O2 -Wall -Wextra -Werror "$SRC" -o "$NS3" $NS3_LIBS
fi

LINK="--bytes=1000000 --bandwidth=10Mbps --delay=20ms --mss=1460"
# 1 % of the 685 data segments, drawn once (awk's generator, fixed seed) and
# given to both as a drop list: the same segments lost on both sides.
RANDOM_DROPS=$(awk 'BEGIN { srand(16); s = ""; for (k = 1; k <= 685; k++) if (rand() < 0.01) s = s (s == "" ? "" : ",") k; print s }')

field() { # $1 = line, $2 = key
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

printf '%-26s | %-30s | %-30s | %s\n' "" "mailsim" "ns-3 (growth=$GROWTH, ssthresh=$SSTHRESH)" "time"
printf '%-26s | %10s %7s %5s %5s | %10s %7s %5s %5s | %s\n' \
    case time_s data retx drop time_s data retx drop "ms/ns3"
row() { # $1 = label, rest = options (--key=value) for both programs
    label=$1
    shift
    m=$("$MAILSIM" bench transfer $LINK "$@") || { echo "bench-tcp: mailsim failed: $m" >&2; exit 1; }
    n=$("$NS3" $LINK --growth="$GROWTH" --ssthresh="$SSTHRESH" "$@") || { echo "bench-tcp: ns-3 failed: $n" >&2; exit 1; }
    mt=$(field "$m" transfer_time_s)
    nt=$(field "$n" transfer_time_s)
    printf '%-26s | %10.3f %7s %5s %5s | %10.3f %7s %5s %5s | %.2f\n' "$label" \
        "$mt" "$(field "$m" data_segments)" "$(field "$m" retransmitted_segments)" \
        "$(field "$m" dropped_segments)" \
        "$nt" "$(field "$n" data_segments)" "$(field "$n" retransmitted_segments)" \
        "$(field "$n" dropped_segments)" \
        "$(awk -v a="$mt" -v b="$nt" 'BEGIN { print (b > 0 ? a / b : 0) }')"
}

echo "1 MB over 10 Mbit/s, 20 ms one way, MSS 1460:"
row "no loss"
row "1 drop (segment 40)" --drop=40
row "3 drops in one window" --drop=40,45,50
row "10 drops in one window" --drop=40,41,42,43,44,45,46,47,48,49
[ "${CASES:-all}" = quick ] && exit 0
row "1 % as a list (${RANDOM_DROPS%%,*},...)" --drop="$RANDOM_DROPS"
for s in 1 2 3; do
    row "1 % random, seed $s" --loss=0.01 --seed=$s
done
row "no loss, 100 Mbit/s 5 ms" --bandwidth=100Mbps --delay=5ms
row "no loss, SACK off" --sack=no

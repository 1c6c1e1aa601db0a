#!/bin/sh
# `make bench`: runs each benchmark case REPS times (default 5) and prints
# the median line of each, plus engine/bare ratios. Machines here are shared
# and noisy: read medians and ratios, not single runs.
set -eu
REPS=${REPS:-5}
M=${MAILSIM:-./mailsim}

# median_of CMD...: runs CMD REPS times, prints the line whose events_per_s
# is the median.
median_of() {
    for _ in $(seq "$REPS"); do "$@"; done | median_lines
}
# median_lines: of the REPS lines on standard input, the median by events_per_s.
median_lines() {
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^events_per_s=/) { split($i, a, "="); print a[2], $0 } }' |
        sort -n | awk -v n="$REPS" 'NR == int((n + 1) / 2) { $1 = ""; sub(/^ /, ""); print }'
}
rate() { echo "$1" | sed 's/.*events_per_s=\([0-9]*\).*/\1/'; }

BENCH=${BENCH:-}

# BENCH=instructions: the work per message, free of the machine's memory
# hierarchy. Time per message grows from medium to large mostly because the
# large world's data no longer fits in the caches (the same instructions wait
# longer on memory); callgrind counts the instructions the run executes, which
# is what n log n bounds. One slice of simulated time per world, chosen for a
# few tens of thousands of messages or more (minutes each under valgrind): the
# run only (ms_engine_run), without the one-off builds of the core route
# tables (build_core_routes: each root's table is built once per run, about
# 0.4 % of a whole large run's instructions). One run each: counts do not
# vary between runs. About 15 minutes in all, most of it the large world
# (I_SMALL, I_MEDIUM, I_LARGE set other slices).
# CACHE_SIM=1 also simulates the caches (last level 32 MiB, 16-way, as on
# the machines here; about twice as slow) and prints the data reads and
# writes per message that miss it: what makes large slower per message.
instructions() {
    command -v valgrind >/dev/null 2>&1 || sh tools/deps.sh valgrind
    sim=""
    [ "${CACHE_SIM:-0}" = 1 ] && sim="--cache-sim=yes --LL=33554432,16,64"
    echo
    echo "== worlds: instructions per message at flow level (callgrind; the run, without core route table builds)"
    # irun WORLD UNTIL: one slice under callgrind; prints its line.
    irun() {
        d=$(mktemp -d)
        MAILSIM_HUGE_PAGES=0 valgrind --tool=callgrind $sim --toggle-collect=ms_engine_run \
            --toggle-collect=build_core_routes --callgrind-out-file="$d/cg" \
            $M bench world "scenarios/bench/$1.xml" --fidelity flow --until "$2" > "$d/log" 2>&1 ||
            { cat "$d/log" >&2; rm -rf "$d"; exit 1; }
        awk -v w="$1" -v u="$2" '
            /^world=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
            /Collected :/ { ir = $4; llr = $11; llw = $12 }
            END { printf "world=%s until=%s hosts=%s messages=%s instructions=%s instructions_per_message=%.0f",
                         w, u, v["hosts"], v["messages"], ir, ir / v["messages"]
                  if (llr != "") printf " ll_read_misses_per_message=%.1f ll_write_misses_per_message=%.1f",
                                        llr / v["messages"], llw / v["messages"]
                  printf "\n" }' "$d/log"
        rm -rf "$d"
    }
    ipm() { echo "$1" | sed 's/.*instructions_per_message=\([0-9]*\).*/\1/'; }
    is=$(irun small "${I_SMALL:-6h}")
    echo "$is"
    im=$(irun medium "${I_MEDIUM:-2h}")
    echo "$im"
    il=$(irun large "${I_LARGE:-20min}")
    echo "$il"
    echo "ratio medium/small instructions per message: $(awk -v a="$(ipm "$im")" -v b="$(ipm "$is")" 'BEGIN { printf "%.3f", a / b }') (n log n allows 1.20 in messages, 1.33 in hosts)"
    echo "ratio large/medium instructions per message: $(awk -v a="$(ipm "$il")" -v b="$(ipm "$im")" 'BEGIN { printf "%.3f", a / b }') (n log n allows 1.17 in messages, 1.25 in hosts)"
}
# BENCH=instructions alone runs only that; with other words, last.
if [ "$BENCH" = instructions ]; then instructions; exit 0; fi

# The engine against the bare heap (issue 20 asks at least 1.0 for the small
# case): both variants of one case run alternately, so that a change in the
# machine's load falls on both medians alike.
engine() {
echo "== engine: PHOLD (R=0.9, L=1ms, M=1ms), median of $REPS runs"
for c in "1000 1 10s" "100000 10 20ms"; do
    set -- $c
    A="--nodes $1 --pop $2 --remote 0.9 --lookahead 1ms --mean 1ms --end $3"
    runs=$(for _ in $(seq "$REPS"); do
        $M bench phold $A
        $M bench phold $A --bare
    done)
    e=$(echo "$runs" | grep '^phold ' | median_lines)
    b=$(echo "$runs" | grep '^phold-bare ' | median_lines)
    echo "$e"
    echo "$b"
    echo "ratio engine/bare nodes=$1 pop=$2: $(awk -v a="$(rate "$e")" -v b="$(rate "$b")" 'BEGIN { printf "%.2f", a / b }')"
done
}
# BENCH=engine: only the engine's figures.
if [ "$BENCH" = engine ]; then engine; exit 0; fi

# BENCH=worlds: only the whole-world figures below.
if [ "$BENCH" != worlds ]; then
engine

echo
echo "== network: packets forwarded on a random graph (10,000 routers, 100,000 packets in flight, 1,000 destinations), median of $REPS runs"
median_of $M bench net --routers 10000 --flows 100000 --dests 1000 --end 200ms

# The simulated TLS 1.3 endpoint (issue 17): CPU per handshake, client and
# server together (each run already the median of its rounds), and the
# sealing and opening rates of application data. The run with the median
# handshake cost is printed.
echo
echo "== tls: CPU per simulated TLS 1.3 handshake (client + server) and protected data rates, median of $REPS runs"
for _ in $(seq "$REPS"); do $M bench tls; done |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^handshake_cpu_us=/) { split($i, a, "="); print a[2], $0 } }' |
    sort -n | awk -v n="$REPS" 'NR == int((n + 1) / 2) { $1 = ""; sub(/^ /, ""); print }'

# DKIM (issue 19): CPU per signed and per verified message of about 2 KiB,
# RSA-2048 and Ed25519 (each run already the median of its rounds; a
# verification with the key cached). The run with the median RSA signing
# cost is printed.
echo
echo "== dkim: CPU per signed and per verified message (RSA-2048, Ed25519), median of $REPS runs"
for _ in $(seq "$REPS"); do $M bench dkim; done |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^rsa_sign_us=/) { split($i, a, "="); print a[2], $0 } }' |
    sort -n | awk -v n="$REPS" 'NR == int((n + 1) / 2) { $1 = ""; sub(/^ /, ""); print }'

# TLS on every hop of a generated world (issue 17 asks for at most 1.5x the
# CPU without TLS): user CPU s at flow level, median of 3 each, without
# TLS and with TLS under each --tls-resumption mode. About 15 s.
if [ -x /usr/bin/time ]; then
echo
echo "== tls world: 20 domains, 100 routers, 5,000 messages, flow level, user CPU s, median of 3"
TW=$(mktemp -d)
# A generated world speaks TLS (the default of every world); the same world
# with tls="false" is the one without.
$M gen --domains 20 --routers 100 --messages 5000 --duration 1h -o "$TW/t.xml" >/dev/null
sed 's/<scenario /<scenario tls="false" /' "$TW/t.xml" > "$TW/g.xml"
ucpu() { for _ in 1 2 3; do /usr/bin/time -f "%U" "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 2p; }
plain=$(ucpu $M run -q --fidelity flow "$TW/g.xml")
for mode in off psk_dhe_ke psk_ke; do
    t=$(ucpu $M run -q --fidelity flow --tls-resumption=$mode "$TW/t.xml")
    echo "tls resumption=$mode: ${t} s against ${plain} s without TLS, ratio $(awk -v a="$t" -v b="$plain" 'BEGIN { printf "%.1f", a / b }') (issue 17 asks 1.5)"
done
# Sender authentication on every domain (issue 19 asks for at most 1.3x
# the time without): a generated world whose every domain publishes SPF
# and DMARC p=reject and whose every MX signs with DKIM (Ed25519) and
# checks SPF, DKIM and DMARC, against the same world without; user CPU s
# at flow level, median of 3 each, alternating. About 20 s. What is left is
# mostly nettle's Ed25519 signing and verifying (one each per message),
# SHA-256 of each body twice and the checks' DNS queries (README, issue 19).
echo
echo "== auth world: 20 domains, 100 routers, 5,000 messages, flow level, user CPU s, median of 3"
for a in none ed25519; do
    cat > "$TW/auth-$a.xml" <<EOW
<?xml version="1.0" encoding="UTF-8"?>
<scenario version="1" name="bench-auth" seed="1" until="3h" keep-bodies="false">
  <generate topology="transit-stub" domains="20" routers="100" users="2000" messages="5000" duration="1h" seed="1" auth="$a"/>
</scenario>
EOW
done
aruns=$(for _ in 1 2 3; do
    echo "off $(/usr/bin/time -f %U $M run -q --fidelity flow "$TW/auth-none.xml" 2>&1 >/dev/null | tail -1)"
    echo "on $(/usr/bin/time -f %U $M run -q --fidelity flow "$TW/auth-ed25519.xml" 2>&1 >/dev/null | tail -1)"
done)
aoff=$(echo "$aruns" | awk '$1 == "off" { print $2 }' | sort -n | sed -n 2p)
aon=$(echo "$aruns" | awk '$1 == "on" { print $2 }' | sort -n | sed -n 2p)
echo "auth=ed25519: ${aon} s against ${aoff} s without, ratio $(awk -v a="$aon" -v b="$aoff" 'BEGIN { printf "%.1f", a / b }') (issue 19 asks 1.3)"
rm -rf "$TW"
# The medium benchmark world's first hour with TLS on every hop (issue 17
# compares the medium world): time per message from `bench world`, one run
# each (about 30 s with TLS). BENCH=tls-medium.
case " $BENCH " in
*tls-medium*)
    sed 's/ tls="false"/ tls="true"/' scenarios/bench/medium.xml > "$TW.medium-tls.xml"
    mp=$($M bench world scenarios/bench/medium.xml --fidelity flow --until 1h)
    mt=$($M bench world "$TW.medium-tls.xml" --fidelity flow --until 1h)
    echo "medium, first hour, flow: $mp"
    echo "medium, first hour, flow, tls=true: $mt"
    u() { echo "$1" | sed 's/.*us_per_message=\([0-9.]*\).*/\1/'; }
    echo "tls medium ratio us_per_message: $(awk -v a="$(u "$mt")" -v b="$(u "$mp")" 'BEGIN { printf "%.1f", a / b }') (issue 17 asks 1.5)"
    rm -f "$TW.medium-tls.xml"
    ;;
esac
else
    echo "(tls world skipped: /usr/bin/time is missing, Debian package time)"
fi
fi

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

# --- whole worlds ------------------------------------------------------------
# `mailsim bench world` runs a benchmark world and prints time per message
# (CPU seconds of the run divided by messages: steadier than wall time on a
# shared machine), events/s, messages/s, peak RSS, RSS per message and the
# bytes a queued message holds. Small at both fidelities and medium at flow
# level always; BENCH=medium-packet adds medium at packet level (minutes),
# BENCH=large adds large at flow level (about 12 minutes; 1.14 GB, 9.3 GB with --keep-records);
# several may be given ("BENCH='medium-packet large'").
# WREPS (default 3) sets the repetitions of the world runs.
WREPS=${WREPS:-3}

# wmedian CMD...: runs CMD WREPS times, prints the line whose us_per_message
# is the median.
wmedian() {
    for _ in $(seq "$WREPS"); do "$@"; done |
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^us_per_message=/) { split($i, a, "="); print a[2], $0 } }' |
        sort -n | awk -v n="$WREPS" 'NR == int((n + 1) / 2) { $1 = ""; sub(/^ /, ""); print }'
}
upm() { echo "$1" | sed 's/.*us_per_message=\([0-9.]*\).*/\1/'; }
fld() { echo "$2" | sed "s/.* $1=\([0-9.]*\).*/\1/"; }
# nlogn A B: the growth of time per message n log n allows from world line A
# to world line B: log(n_B)/log(n_A), with n counted in messages and in hosts.
nlogn() {
    awk -v m1="$(fld messages "$1")" -v m2="$(fld messages "$2")" -v h1="$(fld hosts "$1")" -v h2="$(fld hosts "$2")" \
        'BEGIN { printf "%.2f in messages, %.2f in hosts", log(m2) / log(m1), log(h2) / log(h1) }'
}

# Every world's median line is also a row of $WORLDS_CSV (default
# build/bench-worlds.csv, written anew), which `make bench-plot` draws:
# time per message against messages, log-log, with n log n beside it.
WORLDS_CSV=${WORLDS_CSV:-build/bench-worlds.csv}
mkdir -p "$(dirname "$WORLDS_CSV")"
echo "world,fidelity,messages,us_per_message,events_per_s,peak_rss_kb" > "$WORLDS_CSV"
# csv_row LINE: appends LINE's figures to $WORLDS_CSV.
csv_row() {
    echo "$1" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["world"] "," v["fidelity"] "," v["messages"] "," v["us_per_message"] "," v["events_per_s"] "," v["peak_rss_kb"] }' >> "$WORLDS_CSV"
}

echo
echo "== worlds: whole runs (time per message = CPU s / messages), median of $WREPS runs"
sp=$(wmedian $M bench world scenarios/bench/small.xml --fidelity packet)
echo "$sp"
csv_row "$sp"
sf=$(wmedian $M bench world scenarios/bench/small.xml --fidelity flow)
echo "$sf"
csv_row "$sf"
mf=$(wmedian $M bench world scenarios/bench/medium.xml --fidelity flow)
echo "$mf"
csv_row "$mf"
echo "ratio small packet/flow us_per_message: $(awk -v a="$(upm "$sp")" -v b="$(upm "$sf")" 'BEGIN { printf "%.1f", a / b }')"
# n log n allows time per message to grow as log n: log(1e6)/log(1e5) = 1.20
# for medium/small counting messages, log(11206)/log(1128) = 1.33 counting
# hosts (paths, and so work per message, lengthen with the graph); linear
# cost would give 1.00.
echo "ratio medium/small flow us_per_message: $(awk -v a="$(upm "$mf")" -v b="$(upm "$sf")" 'BEGIN { printf "%.2f", a / b }') (n log n allows $(nlogn "$sf" "$mf"))"
case " $BENCH " in
*medium-packet*)
    mp=$(WREPS=1 wmedian $M bench world scenarios/bench/medium.xml --fidelity packet)
    echo "$mp"
    csv_row "$mp"
    echo "ratio medium/small packet us_per_message: $(awk -v a="$(upm "$mp")" -v b="$(upm "$sp")" 'BEGIN { printf "%.2f", a / b }') (n log n allows $(nlogn "$sp" "$mp"))"
    ;;
esac
case " $BENCH " in
*large*)
    lf=$(WREPS=1 wmedian $M bench world scenarios/bench/large.xml --fidelity flow --sample 1h)
    echo "$lf"
    csv_row "$lf"
    echo "ratio large/medium flow us_per_message: $(awk -v a="$(upm "$lf")" -v b="$(upm "$mf")" 'BEGIN { printf "%.2f", a / b }') (n log n allows $(nlogn "$mf" "$lf"))"
    ;;
esac
echo "worlds: $WORLDS_CSV (make bench-plot draws it)"
case " $BENCH " in *instructions*) instructions ;; esac

# Real topologies (issue 21): a synthetic 75,000-AS relationship file with
# CAIDA-like statistics (tools/gen_asrel.py, seeded; generated here, never
# committed), imported, then next-hop tables to 100 destination ASes under
# each metric: seconds per table and the bytes the tables hold (policy:
# a byte per host per destination plus the AS graph).
ASREL=${BUILD:-build}/bench-75k.as-rel.txt
if [ ! -s "$ASREL" ]; then
    mkdir -p "$(dirname "$ASREL")"
    python3 tools/gen_asrel.py 75000 1 > "$ASREL"
fi
echo
echo "== topologies: import of a generated 75,000-AS relationship file, routing tables to 100 destinations"
$M import "$ASREL" --bench-routing 100 2>/dev/null

# A 1,000-node operator network in the Topology Zoo's GraphML dialect
# (tools/gen_graphml.py, seeded; a few nodes without coordinates and edges
# without speeds, as in real files, so the fallbacks run too).
ZOO=${BUILD:-build}/bench-1k.graphml
if [ ! -s "$ZOO" ]; then
    mkdir -p "$(dirname "$ZOO")"
    python3 tools/gen_graphml.py 1000 1 > "$ZOO"
fi
echo
echo "== topologies: import of a generated 1,000-node GraphML network, routing tables to 100 destinations"
$M import "$ZOO" --bench-routing 100 2>/dev/null


# BENCH=mpi-world: a whole world run sequentially, over 2 MPI ranks and as
# 2 parts on 2 threads of one process (mailsim run --partition auto, and
# --parts 2, with windows and with --async; packet level), alternately, MPI_REPS times
# each (default 3: minutes per run on the medium world; MPI_WORLD picks the
# world, MPI_UNTIL=TIME runs a slice). Prints the median walls and the
# speed-up, the sequential run's CPU s, and from the 2-rank run with the
# median wall its Distribution: line (windows, collectives per window, wait
# share, CPU s per rank): on a shared 2-core machine the CPU per rank and
# the wait share say more than the wall. Then the split's ceiling: one
# `--critical-path` run (README, "The ceiling").
case " $BENCH " in
*mpi-world*)
    W=${MPI_WORLD:-scenarios/bench/medium.xml}
    R=${MPI_REPS:-3}
    U=${MPI_UNTIL:+--until $MPI_UNTIL}
    MPIRUN="mpirun --allow-run-as-root --oversubscribe"
    D=$(mktemp -d)
    # timed TAG CMD...: runs CMD, appends "TAG WALL CPU OUTFILE" to $D/runs.
    timed() {
        tag=$1; shift
        n=$(wc -l < "$D/runs" 2>/dev/null || echo 0)
        s=$(date +%s.%N)
        /usr/bin/time -f "%U %S" -o "$D/t$n" "$@" > "$D/o$n" 2>/dev/null || true
        e=$(date +%s.%N)
        awk -v t="$tag" -v a="$s" -v b="$e" -v f="$D/o$n" '{ printf "%s %.2f %.2f %s\n", t, b - a, $1 + $2, f }' "$D/t$n" >> "$D/runs"
    }
    : > "$D/runs"
    for _ in $(seq "$R"); do
        timed seq $M run "$W" -q $U
        timed mpi $MPIRUN -np 2 $M run "$W" -q --partition auto $U
        timed thr $M run "$W" -q --partition auto --parts 2 --threads 2 $U
        timed asy $M run "$W" -q --partition auto --parts 2 --threads 2 --async $U
    done
    # med TAG: the run with the median wall among TAG's.
    med() { grep "^$1 " "$D/runs" | sort -k2 -n | awk -v n="$R" 'NR == int((n + 1) / 2)'; }
    sq=$(med seq); mp=$(med mpi); th=$(med thr); as=$(med asy)
    echo
    echo "== distributed world: $W${MPI_UNTIL:+ (until $MPI_UNTIL)} at packet level, sequential vs 2 ranks vs 2 threads, wall s, median of $R"
    grep -E '^(Partitioned run|Pilot|Distribution):' "$(echo "$mp" | cut -d' ' -f4)"
    echo "sequential $(echo "$sq" | cut -d' ' -f2) s (CPU $(echo "$sq" | cut -d' ' -f3) s), 2 ranks $(echo "$mp" | cut -d' ' -f2) s (CPU of both $(echo "$mp" | cut -d' ' -f3) s), speed-up $(awk -v a="$(echo "$sq" | cut -d' ' -f2)" -v b="$(echo "$mp" | cut -d' ' -f2)" 'BEGIN { printf "%.2f", a / b }') (issue 20 asks 1.5)"
    echo "2 parts on 2 threads $(echo "$th" | cut -d' ' -f2) s (CPU $(echo "$th" | cut -d' ' -f3) s), speed-up $(awk -v a="$(echo "$sq" | cut -d' ' -f2)" -v b="$(echo "$th" | cut -d' ' -f2)" 'BEGIN { printf "%.2f", a / b }')"
    echo "the same without windows (--async) $(echo "$as" | cut -d' ' -f2) s (CPU $(echo "$as" | cut -d' ' -f3) s), speed-up $(awk -v a="$(echo "$sq" | cut -d' ' -f2)" -v b="$(echo "$as" | cut -d' ' -f2)" 'BEGIN { printf "%.2f", a / b }')"
    # The same results: the summary and checks without what differs by
    # design (the fingerprint and events lines are per part).
    same() { grep -vE '^(  run fingerprint:|  events:|Partitioned run:|Pilot:|Distribution:|$)' "$1"; }
    if [ "$(same "$(echo "$sq" | cut -d' ' -f4)")" = "$(same "$(echo "$mp" | cut -d' ' -f4)")" ] &&
        [ "$(same "$(echo "$sq" | cut -d' ' -f4)")" = "$(same "$(echo "$th" | cut -d' ' -f4)")" ] &&
        [ "$(same "$(echo "$sq" | cut -d' ' -f4)")" = "$(same "$(echo "$as" | cut -d' ' -f4)")" ]; then
        echo "results: identical (summary, per-message outcomes and checks)"
    else
        echo "results: DIFFERENT from the sequential run"
    fi
    # The ceiling: what any conservative driver could get on this split
    # with free synchronisation (one run: the counts are deterministic).
    echo "ceiling of the same split (--critical-path, one run):"
    $M run "$W" -q --partition auto --parts 2 --critical-path $U | grep -A1 '^Critical path:'
    rm -rf "$D"
    ;;
esac

# BENCH=rank-memory: what a rank holds against the sequential run (issue
# 20, item 2; README, "Memory per rank"): each world's peak resident memory
# sequentially and the largest rank's over 2 and 4 MPI ranks (while running
# and over the whole run, from the Distribution: line), with the ratios.
# Memory, not time: one run each. RANK_WORLDS: "FILE:FIDELITY:UNTIL ...";
# by default the medium world's 20 packet-level minutes and the large
# world's first flow-level second (about a minute in all).
case " $BENCH " in
*rank-memory*)
    MPIRUN="mpirun --allow-run-as-root --oversubscribe"
    echo
    echo "== memory per rank (MiB; MAILSIM_HUGE_PAGES=0; the largest rank, ratio to the sequential peak)"
    for spec in ${RANK_WORLDS:-scenarios/bench/medium.xml:packet:20min scenarios/bench/large.xml:flow:1s}; do
        w=${spec%%:*}; rest=${spec#*:}; fid=${rest%%:*}; until=${rest#*:}
        seq_kb=$(MAILSIM_HUGE_PAGES=0 /usr/bin/time -f %M $M run -q "$w" --fidelity "$fid" --until "$until" 2>&1 >/dev/null | tail -1)
        line="$w ($fid, $until): sequential $(awk -v k="$seq_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
        for k in 2 4; do
            d=$(MAILSIM_HUGE_PAGES=0 $MPIRUN -np $k $M run -q "$w" --fidelity "$fid" --until "$until" \
                --partition auto --pilot 0 2>/dev/null | grep '^Distribution:')
            run=$(echo "$d" | sed -n 's/.*peak memory of a rank while running \([0-9]*\) MB.*/\1/p')
            whole=$(echo "$d" | sed -n 's/.*over the whole run: \([0-9, ]*\) MB.*/\1/p' | tr ',' '\n' | sort -n | tail -1 | tr -d ' ')
            line="$line; $k ranks $run ($(awk -v a="$run" -v k="$seq_kb" 'BEGIN { printf "%.2f", a * 1024 / k }')x) while running, $whole ($(awk -v a="$whole" -v k="$seq_kb" 'BEGIN { printf "%.2f", a * 1024 / k }')x) whole run"
        done
        echo "$line"
    done
    echo "(issue 20 asks at most 0.6x with 2 ranks and 0.35x with 4 on the medium world)"
    ;;
esac

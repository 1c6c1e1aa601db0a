#!/bin/sh
# `make bench-bridge`: messages per second accepted by `mailsim bridge`'s
# SMTP listener from Postfix's load generator smtp-source, next to Postfix's
# smtp-sink (which only discards) in the same run, as a ratio. 20 parallel
# sessions, 1 KiB messages; two modes: sessions reused (smtp-source -d, many
# messages per connection) and one connection per message. Each figure is
# the median of REPS runs (default 3). Loopback only, bounded counts:
# REUSED messages per run (default 20000) and PERCONN (default 5000).
#
# The bridge runs the lesson-1 world at --speed max, so the simulation's own
# work runs beside the listener: every message is injected (ms_mail_inject),
# carried and stored in alice@isp-a.net's simulated mailbox. At the end the
# script checks that the bridge acknowledged exactly what smtp-source sent,
# that the simulated store holds every one of them and that the accounting
# balances.
#
# A third line measures SMTP intake over STARTTLS, sessions reused (smtp-source
# has no TLS): tools/bench_bridge_tls.py, a Python load generator, runs the
# same sessions in clear and after STARTTLS against the same bridge; the
# line gives both rates and the bridge's own CPU time per message in each
# mode (from /proc), whose difference is the share of the bridge's time
# that goes to TLS (TLSN messages per run, default 5000).
#
# A fourth line measures SMTP intake with --spool: a second bridge keeps
# every message in its spool and in alice's Maildir (the spool file and the
# spool directory fsync'd before the 250, shared by the messages of a group
# commit, then the Maildir file and new/ per pacer tick, bridge_smtp.c and
# bridge_maildir.c), next to the first bridge (no spool) in the
# same runs, sessions reused, SPOOLN messages per run (default 1000). Its
# check: the spool empties and the Maildir holds every message.
#
# A fifth line measures IMAP: concurrent sessions fetching a mailbox of
# IMAPN 1 KiB messages (default 2000) with UID FETCH 1:* BODY.PEEK[], the
# bridge against Dovecot's imapd on a copy of the same Maildir
# (tools/bench_bridge_imap.py; IMAPSESSIONS sessions, default 10).
#
# A sixth line measures a big mailbox: a bridge started on a Maildir of
# BIGN 1 KiB messages (default 100000): its peak RSS, its start, and an
# imaplib client's SELECT, listing and ten fetches
# (tools/bench_bridge_bigbox.py; bodies are read from the files on demand).
#
# smtp-source and smtp-sink come from Debian's postfix package; when they
# are missing it is installed without configuring or starting its daemon
# (a policy-rc.d that forbids service starts is put in place for the
# install when none exists, and removed after). If that fails the script
# prints 'SKIPPED: ...' and exits 0.
set -eu
REPS=${REPS:-3}
REUSED=${REUSED:-20000}
PERCONN=${PERCONN:-5000}
TLSN=${TLSN:-5000}
SPOOLN=${SPOOLN:-1000}
SESSIONS=20
SIZE=1024
M=${MAILSIM:-./mailsim}

install_postfix() {
    [ "$(id -u)" = 0 ] || return 1
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# mailsim bench-bridge: no service starts during the install\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    ok=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null 2>&1; } ||
        ok=1
    [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
    return $ok
}

if ! command -v smtp-source >/dev/null 2>&1 || ! command -v smtp-sink >/dev/null 2>&1; then
    echo "bench-bridge: installing Debian's postfix for smtp-source and smtp-sink (its daemon is not started)" >&2
    if ! install_postfix; then
        echo "SKIPPED: bench-bridge: smtp-source/smtp-sink not available (the postfix package could not be installed)"
        exit 0
    fi
fi

tmp=$(mktemp -d)
bridge_pid=""
sink_pid=""
spool_pid=""
cleanup() {
    [ -n "$bridge_pid" ] && kill "$bridge_pid" 2>/dev/null || true
    [ -n "$spool_pid" ] && kill "$spool_pid" 2>/dev/null || true
    [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# smtp-sink: discards; -u nobody because it refuses to run as root.
sink_port=$(free_port)
sink_user=""
[ "$(id -u)" = 0 ] && sink_user="-u nobody"
# shellcheck disable=SC2086
smtp-sink $sink_user "127.0.0.1:$sink_port" 1000 2>"$tmp/sink.err" &
sink_pid=$!

"$M" bridge -q --smtp 0 --speed max --max-connections 1000 >"$tmp/bridge.out" 2>"$tmp/bridge.err" &
bridge_pid=$!
i=0
while ! grep -q "^bridge: smtp" "$tmp/bridge.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "bench-bridge: the bridge did not start" >&2; cat "$tmp/bridge.err" >&2; exit 1; fi
    sleep 0.1
done
bridge_port=$(sed -n 's/^bridge: smtp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/bridge.out")
sleep 0.2

# rate PORT MODE COUNT: messages per second of one smtp-source run.
rate() {
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    smtp-source $2 -s $SESSIONS -m "$3" -l $SIZE -f bench@example.org -t alice@isp-a.net "127.0.0.1:$1" \
        >"$tmp/source.out" 2>&1 || { echo "bench-bridge: smtp-source failed:" >&2; cat "$tmp/source.out" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v n="$3" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", n / (b - a) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

sent=0
echo "== bridge: SMTP messages accepted per second from smtp-source ($SESSIONS sessions, $SIZE-byte messages), median of $REPS runs"
for mode in reused perconn; do
    if [ $mode = reused ]; then flag="-d"; n=$REUSED; what="sessions reused"; else flag=""; n=$PERCONN; what="one connection per message"; fi
    : >"$tmp/b" ; : >"$tmp/s"
    for _ in $(seq "$REPS"); do
        rate "$bridge_port" "$flag" "$n" >>"$tmp/b"
        rate "$sink_port" "$flag" "$n" >>"$tmp/s"
        sent=$((sent + n))
    done
    b=$(median <"$tmp/b"); s=$(median <"$tmp/s")
    printf '%-28s bridge %7s msg/s   smtp-sink %7s msg/s   ratio %s   (runs: bridge %s; sink %s)\n' "$what:" "$b" "$s" \
        "$(awk -v a="$b" -v b="$s" 'BEGIN { printf "%.2f", a / b }')" "$(tr '\n' ' ' <"$tmp/b" | sed 's/ $//')" \
        "$(tr '\n' ' ' <"$tmp/s" | sed 's/ $//')"
done

# tls_rate MODE: "msg/s cpu-us-per-message" of one generator run.
tls_rate() {
    python3 "$(dirname "$0")/bench_bridge_tls.py" "$bridge_port" "$1" "$TLSN" $SESSIONS $SIZE "$bridge_pid" \
        2>"$tmp/tls.err" || { echo "bench-bridge: the TLS load generator failed:" >&2; cat "$tmp/tls.err" >&2; exit 1; }
}
: >"$tmp/plain"; : >"$tmp/tls"
for _ in $(seq "$REPS"); do
    tls_rate plain >>"$tmp/plain"
    tls_rate starttls >>"$tmp/tls"
    sent=$((sent + 2 * TLSN))
done
pr=$(cut -d' ' -f1 <"$tmp/plain" | median); pc=$(cut -d' ' -f2 <"$tmp/plain" | median)
tr_=$(cut -d' ' -f1 <"$tmp/tls" | median); tc=$(cut -d' ' -f2 <"$tmp/tls" | median)
printf '%-28s bridge %7s msg/s   same client in clear %7s msg/s   bridge CPU/msg: TLS %s us, clear %s us; TLS share of the bridge'"'"'s time %s%%   (runs: %s| %s)\n' \
    "STARTTLS, sessions reused:" "$tr_" "$pr" "$tc" "$pc" \
    "$(awk -v a="$tc" -v b="$pc" 'BEGIN { printf "%.0f", 100 * (a - b) / a }')" \
    "$(cut -d' ' -f1 <"$tmp/tls" | tr '\n' ' ')" "$(cut -d' ' -f1 <"$tmp/plain" | tr '\n' ' ' | sed 's/ $//')"

# The same intake with --spool: a second bridge, fsync per message.
"$M" bridge -q --smtp 0 --speed max --max-connections 1000 --spool "$tmp/spool" >"$tmp/spool.out" 2>"$tmp/spool.err" &
spool_pid=$!
i=0
while ! grep -q "^bridge: smtp" "$tmp/spool.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "bench-bridge: the spool bridge did not start" >&2; cat "$tmp/spool.err" >&2; exit 1; fi
    sleep 0.1
done
spool_port=$(sed -n 's/^bridge: smtp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/spool.out")
: >"$tmp/sp"; : >"$tmp/np"
for _ in $(seq "$REPS"); do
    rate "$spool_port" -d "$SPOOLN" >>"$tmp/sp"
    rate "$bridge_port" -d "$SPOOLN" >>"$tmp/np"
    sent=$((sent + SPOOLN))
done
sp=$(median <"$tmp/sp"); np=$(median <"$tmp/np")
printf '%-28s bridge %7s msg/s   same without --spool %7s msg/s   ratio %s; %s us more per message   (runs: %s| %s)\n' \
    "--spool, sessions reused:" "$sp" "$np" "$(awk -v a="$sp" -v b="$np" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$sp" -v b="$np" 'BEGIN { printf "%.0f", 1e6 / a - 1e6 / b }')" \
    "$(tr '\n' ' ' <"$tmp/sp")" "$(tr '\n' ' ' <"$tmp/np" | sed 's/ $//')"
i=0
while ls "$tmp/spool" | grep -q '^w.*\.msg$'; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then echo "bench-bridge: FAILED: the spool did not empty" >&2; exit 1; fi
    sleep 0.1
done
kill -TERM "$spool_pid"
wait "$spool_pid" || true
spool_pid=""
spool_acc=$(sed -n 's/^bridge-mail: accepted=\([0-9]*\).*/\1/p' "$tmp/spool.out")
in_maildir=$(find "$tmp/spool/mail/smtp.isp-a.net/alice/new" -type f | wc -l)
echo "check: the --spool bridge acknowledged $spool_acc of $((REPS * SPOOLN)); alice's Maildir holds $in_maildir; the spool is empty"
if [ "$spool_acc" != $((REPS * SPOOLN)) ] || [ "$in_maildir" != "$spool_acc" ]; then
    echo "bench-bridge: FAILED: not every message reached the Maildir" >&2
    exit 1
fi

# IMAP: concurrent UID FETCH of a 1 KiB-message mailbox from the bridge's
# Maildir-backed store, next to Dovecot's imapd on a copy of the same
# Maildir (tools/bench_bridge_imap.py; dovecot-imapd installed on demand
# with no service started, like postfix above).
if ! command -v dovecot >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    made_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# mailsim bench-bridge: no service starts during the install\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null 2>&1 || true
    [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
fi
python3 tools/bench_bridge_imap.py "$M" "${IMAPN:-2000}" "${IMAPSESSIONS:-10}" "$REPS"
python3 tools/bench_bridge_bigbox.py "$M" "${BIGN:-100000}"

kill -TERM "$bridge_pid"
wait "$bridge_pid" || true
bridge_pid=""
accepted=$(sed -n 's/^bridge-mail: accepted=\([0-9]*\).*/\1/p' "$tmp/bridge.out")
stored=$(sed -n 's/^sim-store: smtp\.isp-a\.net stored=\([0-9]*\).*/\1/p' "$tmp/bridge.out")
balanced=$(grep -c "^accounting: balanced" "$tmp/bridge.out" || true)
echo "check: smtp-source sent $sent to the bridge; the bridge acknowledged $accepted; the simulation stored $stored in alice@isp-a.net's mailbox; accounting $( [ "$balanced" = 1 ] && echo balanced || echo NOT balanced)"
if [ "$accepted" != "$sent" ] || [ "$stored" != "$sent" ] || [ "$balanced" != 1 ]; then
    echo "bench-bridge: FAILED: not every message entered the simulation" >&2
    exit 1
fi

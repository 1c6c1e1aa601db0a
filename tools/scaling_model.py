#!/usr/bin/python3
"""Scaling model of mailsim's partitioned runs (issue 20, item 6).

Reads one or more profiles written by
    mpirun -np K mailsim run WORLD --partition auto --dist-profile P.json
    mailsim run WORLD --partition auto --parts K --dist-profile P.json
(over MPI, "transport": "mpi", or K parts on threads of one process,
"threads") and predicts, for K = 1, 2, 4, ... 1024, the wall time, speed-up
and memory per rank of the profiled world, of a world scaled up from it
(the huge benchmark world by default), and how many machines an "Internet
day" of mail needs at flow level. Deterministic: the same profiles and
options give the same text, byte for byte (no clock, no randomness, fixed
formats).

The model (README, "Scaling beyond one machine"). Every part must finish a
window before the next starts, so a run of W windows costs

    wall(K) = sum over windows of crit + W(K) * s(K)
    crit    = max(busiest, all / P)      P: cores the parts share (P = K on
                                         a cluster); all: every part's work
    busiest = a + c * M + j              a: a part's fixed cost per window,
                                         c: CPU per event, j: the jitter of
                                         the slowest of K parts
    M       = lam * K * m(K) + psi * sqrt(2 lam ln K)
                                         the busiest part's events in a
                                         window: lam events per part per
                                         window, m(K) the heaviest part's
                                         share, psi the burstiness
    W(K)    = T / max(L(K), phi * R(K))  windows end at the reach of the
                                         pending events: R(K) the events'
                                         mean reach (the survey), phi fitted

All of it per bucket of simulated time (100 buckets). From a profile of K0
parts: psi per bucket from the recorded busiest part's events (Poisson
arrivals give psi = 1; bursts that land in one part, an SMTP transfer's
packets, give more: the profile's spread of events per window says how
much, and the fit uses the recorded busiest part itself); c from the
sequential run's CPU per event (--seq-cpu) and a from what the parts
computed beyond that; j from the recorded busiest part's computing, grown
as sqrt(ln K); phi from the recorded windows; s(K0), the transport's cost
of a window, is the loop's wall not explained by crit. When one of K0 and K
has more parts than cores and the other not, parts that share a core
compute slower (each finds its caches cold after another part's window):
a and j then change by what they changed by between the other transport's
profiles of the same two K, when given. Across K, s follows the transport:
threads, (K / P) tasks per thread and stage; MPI, s(K) = ell + sigma * r(K)
with r(K) = (K - cores) / cores the further ranks per core (0 with a core
per rank; cores: the profile's "processors" for the profile, --cores for
the prediction): ell what a window costs with a core per rank, observable
only in a profile with no more ranks than cores, sigma what each further
rank per core adds (the driver's spin: a waiting rank holds its core for
WAIT_SPIN_US before it sleeps), observed where profiles on both sides are
given, else the driver's 100 us (mpi_sync()); on a cluster
2 * hop * ceil(log2 K).
Memory per rank: M(K) = S + D * m(K), S the part every rank holds whole
(today each rank builds the whole world) and D what moves with the rank's
share of the events, fitted over the peaks the profiles record per rank
and the sequential run's (--seq-rss-mb); with rank-local worlds (issue 20,
item 2) S shrinks to S * h(K), h the share of hosts.

Usage:
  scaling_model.py P.json [P.json ...] [--seq-cpu S] [--seq-rss-mb M]
                   [--cores N] [--measured [T:]K=WALL ...] [--hop-us U] [--gbps G]
"""
import argparse
import json
import math
import sys

KS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
# sim/dist/mpi_run.c: WAIT_SPIN_US, how long a waiting rank spins before
# it sleeps, holding its core.
MPI_SPIN_S = 100e-6


def load(path):
    with open(path, encoding="utf-8") as f:
        p = json.load(f)
    if p.get("format") != "mailsim-dist-profile":
        raise SystemExit("%s: not a mailsim distribution profile" % path)
    if p.get("version", 1) < 2:
        raise SystemExit("%s: a version %s profile: the model needs version 2 (the busiest "
                         "part per window); record it again" % (path, p.get("version", 1)))
    return p


def workers(transport, k, cores, threads):
    """Parts that run at once on this machine."""
    if transport == "threads":
        return max(1, min(k, cores, threads or k))
    return max(1, min(k, cores))


class Bucket:
    __slots__ = ("windows", "events", "busiest", "busiest_s", "compute_s", "psi", "disp")


class Calibration:
    """The figures one profile gives."""

    def __init__(self, p, c_seq):
        ranks = p["per_rank"]
        self.transport = p.get("transport", "mpi")
        self.k = p["ranks"]
        self.threads = p.get("threads", 0)
        self.cores = p.get("processors", 2)
        self.sim_s = p["sim_seconds"]
        self.hosts = p["hosts"]
        self.events = sum(r["events"] for r in ranks)
        self.windows = max(r["windows"] for r in ranks)
        self.compute = sum(r["compute_s"] for r in ranks)
        self.wall = max(r["wall_s"] for r in ranks)
        self.cpu = [r["cpu_s"] for r in ranks]
        self.share0 = max(r["events"] for r in ranks) / self.events if self.events else 1.0
        self.busiest_events = p["busiest_events"]
        self.busiest_s = p["busiest_compute_s"]
        self.p0 = workers(self.transport, self.k, self.cores, self.threads)
        # Per bucket: windows, events of all parts, the busiest part's.
        self.buckets = []
        nb = len(ranks[0]["buckets"])
        for b in range(nb):
            x = Bucket()
            rows = [r["buckets"][b] for r in ranks]
            x.windows = max(r["windows"] for r in rows)
            x.events = sum(r["events"] for r in rows)
            x.busiest = rows[0]["busiest_events"]
            x.busiest_s = rows[0]["busiest_compute_s"]
            x.compute_s = sum(r["compute_s"] for r in rows)
            x.psi = 0.0
            x.disp = 0.0
            if x.windows and x.events:
                lam = x.events / (self.k * x.windows)
                excess = x.busiest / x.windows - lam * self.k * self.share0
                x.psi = max(excess, 0.0) / math.sqrt(2 * lam * math.log(self.k)) \
                    if self.k > 1 else 0.0
                # Index of dispersion (variance / mean) of a part's events per
                # window, for the text: Poisson 1, bursts of size b about b.
                v = sum(r["events_sd"] ** 2 * r["windows"] for r in rows)
                m = sum(r["events"] for r in rows)
                x.disp = v / m if m else 0.0
            self.buckets.append(x)
        wsum = sum(x.windows for x in self.buckets) or 1
        self.psi = sum(x.psi * x.windows for x in self.buckets) / wsum
        self.disp = sum(x.disp * x.windows for x in self.buckets) / wsum
        # CPU per event and per part-window: the sequential run's per event
        # when given, the rest of what the parts computed per window.
        self.c = c_seq if c_seq else self.compute / self.events
        self.a = max(self.compute - self.c * self.events, 0.0) / (self.k * self.windows)
        self.j = max(self.busiest_s - self.a * self.windows - self.c * self.busiest_events,
                     0.0) / self.windows
        # What the windows cost beyond their critical computing.
        crit = sum(max(x.busiest_s, x.compute_s / self.p0) for x in self.buckets)
        self.crit = crit
        self.s = max(self.wall - crit, 0.0) / self.windows
        # The machine the profile ran on (members of later version 2
        # profiles; None in earlier ones): the processors the writer was
        # allowed (Open MPI pins each of 2 ranks to a core of its own here)
        # and the load average when the run ended.
        self.cpus_allowed = p.get("cpus_allowed")
        self.load = p.get("load_average")
        self.r0 = further_ranks(self.transport, self.k, self.cores)
        # A window's synchronisation over MPI, split (mpi_sync()): ell with a
        # core per rank, sigma per further rank per core, from this profile
        # alone (predict() takes them from several profiles when given).
        self.ell, self.sigma, self.sync_note = mpi_sync([self]) if self.transport == "mpi" \
            else (self.s, 0.0, "")
        self.wait_share = sum(r["wait_s"] for r in ranks) / max(sum(r["wall_s"] for r in ranks),
                                                                1e-12)
        self.cross = sum(sum(r["events_to"]) for r in ranks)
        sent_bytes = sum(sum(r["bytes_to"]) for r in ranks)
        self.bytes_per_event = sent_bytes / self.cross if self.cross else 48.0
        if ranks[0].get("peak_rss_kb") is not None:
            self.rss_mb = [r["peak_rss_kb"] / 1024.0 for r in ranks]
            self.rss_per_rank = True
            # Each rank's share of the events, against which its peak is fitted.
            self.rss_share = [r["events"] / self.events if self.events else 1.0 / self.k
                              for r in ranks]
        else:  # one process holds every part: an equal share each
            self.rss_mb = [p["process_peak_rss_kb"] / 1024.0 / self.k] * self.k
            self.rss_per_rank = False
            self.rss_share = []
        self.survey = {s["parts"]: s for s in p["survey"]}
        self.survey[1] = {"parts": 1, "lookahead_s": None, "cut_links": 0, "max_share": 1.0,
                          "cut_share": 0.0, "reach_mean_s": None}
        own = self.survey.get(self.k)
        if own is None and self.k > 1 and len(self.survey) > 1:
            own = survey_at(self, self.k)  # a split the survey lacks: the nearest
        self.la0 = own["lookahead_s"] if own and own["lookahead_s"] else min(
            x for row in p["pair_lookahead_s"] for x in row if x is not None)
        self.cut0 = own["cut_share"] if own else 0.0
        self.m_plan0 = own["max_share"] if own else self.share0
        length = self.sim_s / self.windows if self.windows else self.la0
        reach0 = own.get("reach_mean_s") if own else None
        # Windows run past the lookahead to phi times the events' mean reach.
        self.phi = length / reach0 if reach0 else None
        self.length0 = length

    def label(self):
        return "%s K=%d" % (self.transport, self.k)


def further_ranks(transport, k, cores):
    """MPI with more ranks than cores: the further ranks per core, (k -
    cores) / cores. Every window, a rank that has sent its slot spins
    (holding its core) for the driver's WAIT_SPIN_US before it sleeps; a
    rank without a core runs only then, so each further rank on a core
    costs a window about one spin. With 3 ranks on 2 cores (Open MPI pins
    none of them here) one core holds the third rank in some windows and
    none in others (a rank asleep from its last wait frees its core): the
    measured windows of 3 ranks cost between those of 2 and of 4, half a
    further rank per core on average (README, "Scaling beyond one
    machine")."""
    if transport != "mpi" or k <= cores:
        return 0.0
    return (k - cores) / cores


def mpi_sync(cals):
    """A window's synchronisation over MPI, from the profiles `cals` (one
    transport): s(K) = ell + sigma * r(K), r = further_ranks(). ell, what a
    window costs
    beyond computing when every rank has a core (the collective, the
    exchange, waking, the machine's other load), is observable only in a
    profile with no more ranks than cores: there the spin never keeps a
    rank from its core. sigma, what each further rank per core costs, is
    observable where such a profile and one with more ranks than
    cores are both given: sigma = (s(K1) - ell) / r(K1). Without the
    latter, sigma is the driver's spin (WAIT_SPIN_US, the least a waiting
    rank holds its core for). Without the former, ell is what the
    profile's windows cost less the driver's spin times r, a difference
    of two nearly equal figures when the spin dominates (4 ranks on 2
    cores): the note says so. Returns (ell, sigma, note)."""
    own = [c for c in cals if c.r0 == 0]
    shared = [c for c in cals if c.r0 > 0]
    if own:
        ell = sum(c.s for c in own) / len(own)
        if shared:
            sigma = max(sum((c.s - ell) / c.r0 for c in shared) / len(shared), 0.0)
            return ell, sigma, ""
        return ell, MPI_SPIN_S, "sigma: the driver's spin"
    sigma = MPI_SPIN_S
    ell = sum(max(c.s - sigma * c.r0, 0.0) for c in shared) / len(shared)
    return ell, sigma, "ell not observable: every profile had more ranks than cores"


def survey_at(cal, k, host_ratio=1.0):
    """The split of a world host_ratio times the profiled one into k parts:
    that of k / host_ratio parts of the profiled world (a larger world of the
    same generator keeps its lookahead and reach up to proportionally more
    parts), and at least 2. A count the survey lacks (3 in profiles written
    before it had 3; past the survey's end) takes the nearest entry (in log
    K, the larger on a tie; past the end, the last) with the share of each
    part scaled as 1/k and the cut share as sqrt(k)."""
    if k == 1:
        return cal.survey[1]
    keq = max(2, int(round(k / host_ratio)))
    avail = sorted(x for x in cal.survey if x >= 2)
    kk = min(avail, key=lambda x: (abs(math.log(x / keq)), -x))
    s = dict(cal.survey[kk])
    if keq != kk:
        s["max_share"] = min(1.0, s["max_share"] * kk / keq)
        s["cut_share"] = min(1.0, s["cut_share"] * math.sqrt(keq / kk))
    if host_ratio > 1:
        s["max_share"] = max(1.0 / k, s["max_share"] * keq / k) if keq >= 2 else 1.0 / k
    return s


def window_length(cal, s):
    la = s["lookahead_s"] or cal.la0
    if cal.phi and s.get("reach_mean_s"):
        return max(la, cal.phi * s["reach_mean_s"])
    return cal.length0 * la / cal.la0


def sync_cost(cal, k, transport, cores, threads, local, hop_us, ell_sigma=None):
    """One window's synchronisation with k parts; ell_sigma: MPI's (ell,
    sigma) when not the profile's own."""
    if not local:
        return 2 * hop_us * 1e-6 * math.ceil(math.log2(k))
    if transport == "threads":
        per = (k / workers("threads", k, cores, threads)) / (cal.k / cal.p0)
        return cal.s * per
    ell, sigma = ell_sigma or (cal.ell, cal.sigma)
    return ell + sigma * further_ranks("mpi", k, cores)


def predict(cal, k, events, sim_s, host_ratio, cores, hop_us, gbps, local, transport=None,
            threads=0, sharing=None, ell_sigma=None):
    """Wall time with k parts; events and sim_s of the world predicted for,
    host_ratio its size against the profiled world's. sharing: (fa, fj), what
    going from cal.k to k parts multiplies a part's fixed cost per window
    and the jitter by, when one of them shares cores and the other does not
    (from the other transport's runs); None: a stays, j grows as
    sqrt(ln K)."""
    transport = transport or cal.transport
    c = cal.c if local else cal.c_cpu
    ratio = events / cal.events
    if k == 1:
        return {"wall": c * events, "compute": c * events, "sync": 0.0, "exchange": 0.0,
                "windows": 0, "la": None, "share": 1.0}
    s = survey_at(cal, k, host_ratio)
    la = s["lookahead_s"] or cal.la0
    windows = sim_s / window_length(cal, s)
    share = s["max_share"] * (cal.share0 / cal.m_plan0 if cal.m_plan0 else 1.0)
    share = min(max(share, 1.0 / k), 1.0)
    p = workers(transport, k, cores, threads) if local else k
    jit = cal.j * math.sqrt(math.log(k) / math.log(cal.k)) if cal.k > 1 else cal.j
    fixed = cal.a
    if sharing:
        fixed, jit = cal.a * sharing[0], cal.j * sharing[1]
    compute = 0.0
    wsum = sum(x.windows for x in cal.buckets) or 1
    for x in cal.buckets:
        if not x.windows:
            continue
        wb = windows * x.windows / wsum  # this bucket's share of the windows
        lam = x.events * ratio / (k * wb) if wb else 0.0
        m = lam * k * share + x.psi * math.sqrt(2 * lam * math.log(k))
        busiest = fixed + c * m + jit
        everyone = k * fixed + c * lam * k
        compute += wb * max(busiest, everyone / p)
    sync = windows * sync_cost(cal, k, transport, cores, threads, local, hop_us, ell_sigma)
    cross = cal.cross / cal.events * events * (s["cut_share"] / cal.cut0 if cal.cut0 else 1.0)
    exchange = 0.0 if local else cross * cal.bytes_per_event / (gbps * 1e9) / k * 2
    return {"wall": compute + sync + exchange, "compute": compute, "sync": sync,
            "exchange": exchange, "windows": windows, "la": la, "share": share}


def memory_fit(cals, seq_rss_mb):
    """Peak memory of a rank, S + D * share: S what every rank holds whole
    (today each builds the whole world), D what moves with its share of
    the events. Least squares over every rank of every profile that records
    a peak per rank (MPI: the `Distribution:` line's "while running"), and
    the sequential run's peak at share 1 when given (--seq-rss-mb). With one
    share only (one rank count, no sequential peak), S is the largest peak
    and D 0. Returns (S, D, points)."""
    pts = [(x, y) for c in cals if c.rss_per_rank for x, y in zip(c.rss_share, c.rss_mb)]
    if not pts:  # threads: the process's peak, an equal share per part
        pts = [(1.0 / c.k, y) for c in cals for y in c.rss_mb]
    if seq_rss_mb:
        pts.append((1.0, seq_rss_mb))
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx < 1e-12:
        return max(y for _, y in pts), 0.0, n
    d = max(sum((x - mx) * (y - my) for x, y in pts) / sxx, 0.0)
    return max(my - d * mx, 0.0), d, n


def memory(fit, k, share, host_share, scale=1.0):
    """(today, rank-local) peak MB per rank: S + D * share, and with
    rank-local worlds (issue 20, item 2) S * host_share + D * share."""
    st, d = fit[0] * scale, fit[1] * scale
    return st + d * share, st * host_share + d * share


def bottleneck(pr):
    parts = {"compute": pr["compute"], "sync": pr["sync"], "exchange": pr["exchange"]}
    return max(sorted(parts), key=lambda x: parts[x])


def fmt_t(s):
    if s is None:
        return "-"
    if s >= 86400:
        return "%.1f d" % (s / 86400)
    if s >= 3600:
        return "%.1f h" % (s / 3600)
    if s >= 60:
        return "%.1f min" % (s / 60)
    return "%.2f s" % s


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profiles", nargs="+")
    ap.add_argument("--seq-wall", type=float,
                    help="sequential run's wall s, same slice: the speed-ups on this machine")
    ap.add_argument("--seq-cpu", type=float,
                    help="sequential run's CPU s in its event loop, same slice: the CPU per "
                         "event (default: the parts' computing per event, which then includes "
                         "their fixed cost per window)")
    ap.add_argument("--seq-rss-mb", type=float, help="sequential run's peak RSS, MB")
    ap.add_argument("--cores", type=int, default=2, help="cores of this machine (default 2)")
    ap.add_argument("--measured", action="append", default=[], metavar="[T:]K=WALL",
                    help="a measured wall time with K parts (T: mpi or threads, default mpi), "
                         "to check the prediction against")
    ap.add_argument("--hop-us", type=float, default=5.0,
                    help="cluster: one message hop between machines, µs (default 5)")
    ap.add_argument("--gbps", type=float, default=10.0,
                    help="cluster: bytes per second per machine, GB/s (default 10)")
    ap.add_argument("--scale", type=float, default=100.0,
                    help="scaled world: events, hosts and memory times this (default 100: "
                         "medium -> huge)")
    ap.add_argument("--flow-us-per-message", type=float, default=71.0,
                    help="Internet day: CPU µs per message at flow level (default 71, the "
                         "large world's)")
    ap.add_argument("--flow-events-per-message", type=float, default=20.0)
    ap.add_argument("--flow-kb-per-user", type=float, default=1.14e6 / 1e6,
                    help="Internet day: memory per mail user, KB (default: the large world's "
                         "1.14 GB over 1 M users)")
    ap.add_argument("--machine-gb", type=float, default=24.0)
    a = ap.parse_args(argv)

    c_seq = None
    cals = []
    for path in a.profiles:
        p = load(path)
        events = sum(r["events"] for r in p["per_rank"])
        c_seq = a.seq_cpu / events if a.seq_cpu else None
        cals.append(Calibration(p, c_seq))
    cals.sort(key=lambda c: (c.transport, c.k))
    for c in cals:
        c.c_cpu = c.c
    # The tables for other machines start from the smallest MPI profile
    # (threads share one process: its memory is not a rank's), else the
    # smallest profile.
    mpi = [c for c in cals if c.transport == "mpi"]
    cal = (mpi or cals)[0]
    out = []
    w = out.append
    w("Calibration (from %d profile%s of %d host%s, %s simulated):" % (
        len(cals), "" if len(cals) == 1 else "s", cal.hosts, "" if cal.hosts == 1 else "s",
        fmt_t(cal.sim_s)))
    for c in cals:
        w("  %s: %d events, %d windows (%.1f per simulated s, %.2f ms each: %.2f of the "
          "events' mean reach), lookahead %.3f ms; busiest part %.1f %% of the events (even: "
          "%.1f %%), burstiness psi %.2f (dispersion of a part's events per window %.1f); "
          "%.3f µs per event and %.2f µs per part and window computing, jitter %.2f µs; "
          "critical computing %.2f s of %.2f s wall; %.2f µs per window synchronising; waiting "
          "%.0f %%; %.0f bytes per crossing event; peak MB per %s %s; %d processors%s, "
          "%s; load average %s" % (
              c.label(), c.events, c.windows, c.windows / c.sim_s, c.length0 * 1e3,
              c.phi or 0.0, c.la0 * 1e3, 100.0 * c.busiest_events / c.events, 100.0 / c.k,
              c.psi, c.disp, c.c * 1e6, c.a * 1e6, c.j * 1e6, c.crit, c.wall, c.s * 1e6,
              100 * c.wait_share, c.bytes_per_event,
              "rank" if c.rss_per_rank else "part (the process's / K)",
              " ".join("%.0f" % x for x in c.rss_mb), c.cores,
              "" if c.cpus_allowed is None else " (the writer allowed %d)" % c.cpus_allowed,
              ("a core per part" if c.transport == "mpi" else "on %d threads" % c.threads)
              if c.r0 == 0 else "%.2f further ranks per core" % c.r0,
              "unknown" if not c.load else "%.2f" % c.load[0]))
    seq = a.seq_wall if a.seq_wall else cal.c * cal.events

    # Check against measurement on this machine: each profile predicted
    # from the other profiles of its transport (from itself when there is
    # none).
    meas = {}
    for m in a.measured:
        key, _, v = m.partition("=")
        t, _, k = key.rpartition(":")
        meas[(t or "mpi", int(k))] = float(v)
    for c in cals:
        meas.setdefault((c.transport, c.k), c.wall)
    w("")
    w("This machine (%d cores), the profiled world: predicted against measured wall of the "
      "windowed loop" % a.cores)
    w("  %-8s %-4s %-10s %-10s %-8s %-9s %-8s %-10s %-10s %s" % (
        "via", "K", "predicted", "measured", "error", "speed-up", "windows", "computing",
        "sync", "calibrated on"))
    for (t, k) in sorted(meas):
        same = [c for c in cals if c.transport == t]
        others = [c for c in same if c.k != k] or same or cals
        preds = []
        used = set(o.label() for o in others)
        ell = sigma = None
        note = ""
        if t == "mpi":
            # The window's synchronisation from all the other profiles
            # together: ell where a rank had a core, sigma where not.
            ell, sigma, note = mpi_sync(others)
        for base in others:
            thr = base.threads if t == "threads" else 0
            sharing = None
            if (k > a.cores) != (base.k > a.cores):
                # What sharing cores costs the computing: from the other
                # transport's runs with base.k and k parts, when given.
                lo = [c for c in cals if c.transport != t and c.k == base.k]
                hi = [c for c in cals if c.transport != t and c.k == k and c.transport ==
                      (lo[0].transport if lo else None)]
                if lo and hi and lo[0].a > 0 and lo[0].j > 0:
                    sharing = (hi[0].a / lo[0].a, hi[0].j / lo[0].j)
                    used.update((lo[0].label(), hi[0].label()))
            preds.append(predict(base, k, base.events, base.sim_s, 1.0, a.cores, a.hop_us,
                                 a.gbps, True, t, thr or k, sharing,
                                 (ell, sigma) if t == "mpi" else None))
        n = len(preds)
        pw = sum(x["wall"] for x in preds) / n
        err = (pw - meas[(t, k)]) / meas[(t, k)] * 100
        w("  %-8s %-4d %-10s %-10s %+6.0f %%  %-9s %-8.0f %-10.4f %-10.4f %s" % (
            t, k, fmt_t(pw), fmt_t(meas[(t, k)]), err, "%.2f" % (seq / pw),
            sum(x["windows"] for x in preds) / n, sum(x["compute"] for x in preds) / n,
            sum(x["sync"] for x in preds) / n, ", ".join(sorted(used))
            + ("; ell %.1f µs, sigma %.1f µs per further rank per core%s" % (ell * 1e6, sigma * 1e6,
                                                          "; " + note if note else "")
               if t == "mpi" else "")))

    mem = memory_fit(mpi or cals, a.seq_rss_mb)
    w("")
    w("Memory per rank: %.1f MB held whole + %.1f MB times the rank's share of the events "
      "(least squares over %d recorded peaks%s)" % (
          mem[0], mem[1], mem[2], ", the sequential run's among them" if a.seq_rss_mb else ""))
    for title, ratio, local in (
            ("the profiled world on a cluster (one core per rank)", 1.0, False),
            ("a world %g times larger (the huge world from medium) on a cluster" % a.scale,
             a.scale, False)):
        events = cal.events * ratio
        w("")
        w("Predicted: %s, %s simulated, from the %s profile" % (title, fmt_t(cal.sim_s),
                                                              cal.label()))
        w("  %-5s %-11s %-9s %-9s %-10s %-9s %-13s %-13s %s" % (
            "K", "lookahead", "windows", "share", "wall", "speed-up", "MB/rank now",
            "MB/rank local", "bottleneck"))
        base_wall = predict(cal, 1, events, cal.sim_s, ratio, a.cores, a.hop_us, a.gbps,
                            local)["wall"]
        for k in KS:
            pr = predict(cal, k, events, cal.sim_s, ratio, a.cores, a.hop_us, a.gbps, local)
            if k == 1:
                pr["wall"] = base_wall
            mem_now, mem_local = memory(mem, k, pr["share"], 1.0 / k, ratio)
            bn = "compute" if k == 1 else bottleneck(pr)
            if mem_now > a.machine_gb * 1024:
                bn += ", memory (whole world per rank)"
            w("  %-5d %-11s %-9.0f %-9.4f %-10s %-9.2f %-13.0f %-13.0f %s" % (
                k, "-" if pr["la"] is None else "%.1f ms" % (pr["la"] * 1e3), pr["windows"],
                pr["share"], fmt_t(pr["wall"]), base_wall / pr["wall"], mem_now, mem_local, bn))

    # An Internet day at flow level.
    msgs = 350e9
    users = 4.5e9
    cpu = msgs * a.flow_us_per_message * 1e-6
    mem_gb = users * a.flow_kb_per_user / 1e6
    w("")
    w("An Internet day at flow level: %.0f G messages, %.1f G mail users; %.0f CPU days of "
      "events (%.0f µs per message), %.0f GB of state (%.2f KB per user)" % (
          msgs / 1e9, users / 1e9, cpu / 86400, a.flow_us_per_message, mem_gb,
          a.flow_kb_per_user))
    w("  %-16s %-9s %-11s %-11s %-11s %s" % ("simulate it in", "machines", "compute", "sync",
                                              "exchange", "bottleneck"))
    k_mem = math.ceil(mem_gb / (a.machine_gb * 0.8))
    scale_c = (a.flow_us_per_message * 1e-6 / a.flow_events_per_message) / cal.c_cpu

    def day(k):
        pr = predict(cal, k, msgs * a.flow_events_per_message, 86400.0, users / 1e5,
                     a.cores, a.hop_us, a.gbps, False)
        # Flow level: CPU per event from the per-message figure.
        return pr["compute"] * scale_c, pr["sync"], pr["exchange"]

    for target_s, label in ((7 * 86400, "a week"), (86400, "a day"), (3600, "an hour")):
        found = None
        k = k_mem
        while k <= 1 << 22:
            comp, sy, ex = day(k)
            if comp + sy + ex <= target_s:
                found = (k, comp, sy, ex)
                break
            k = max(k + 1, int(math.ceil(k * 1.05)))
        if found:
            k, comp, sy, ex = found
            parts = {"compute": comp, "sync": sy, "exchange": ex}
            bn = max(sorted(parts), key=lambda x: parts[x])
            if k == k_mem:
                bn = "memory: %d machines of %g GB hold the state; %s" % (k_mem, a.machine_gb, bn)
            w("  %-16s %-9d %-11s %-11s %-11s %s" % (label, k, fmt_t(comp), fmt_t(sy),
                                                     fmt_t(ex), bn))
        else:
            w("  %-16s %-9s (not reached with up to 4 M machines: synchronisation bounds it)"
              % (label, "-"))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

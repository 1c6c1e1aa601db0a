#!/usr/bin/python3
"""Scaling model of mailsim's distributed runs (issue 20, item 6).

Reads one or more profiles written by
    mpirun -np K mailsim run WORLD --partition auto --dist-profile P.json
and predicts, for K = 1, 2, 4, ... 1024 ranks, the wall time, speed-up and
memory per rank of the profiled world, of a world scaled up from it (the
huge benchmark world by default), and how many machines an "Internet day"
of mail needs at flow level. Deterministic: the same profiles and options
give the same text, byte for byte (no clock, no randomness, fixed formats).

The model (README, "Scaling beyond one machine"):
  A run of E events over T simulated seconds in W windows costs, on the
  rank that holds the largest share m(K) of the events,
      wall(K) = c * W * busiest(K)     computing (c: CPU per event; busiest:
                                       the most events a rank runs in one
                                       window, lam + sqrt(2 lam ln K) +
                                       ln(K)/3 with lam = E m(K) / W)
              + W(K) * s(K)            synchronising (s: cost of one window)
              + X(K) * b / B           exchanging (X events of b bytes over B)
  W(K) = W0 * L0 / L(K): windows follow the lookahead L (the shortest cut
  link of the split into K parts, from the profile's survey);
  m(K) and the cut share of the traffic come from the survey too (the
  partitioner's measured split for each K); X(K) = X0 * cut(K) / cut(K0).
  On this machine s is measured (the wait and exchange time per window not
  explained by imbalance between ranks), and with fewer cores than ranks
  the computing term is at least c * E / cores. On a cluster s(K) is
  2 * hop latency * ceil(log2 K) (a dissemination barrier with the data).
  Memory per rank: M(K) = S + D * m(K), with S the part every rank holds
  whole (today each rank builds the whole world) and D what moves with the
  traffic, from the sequential peak and the ranks' peaks; with rank-local
  worlds (issue 20, item 2) S shrinks to S * h(K), h the share of hosts.

Usage:
  scaling_model.py P2.json [P4.json ...] [--seq-wall S] [--seq-rss-mb M]
                   [--cores N] [--measured K=WALL ...] [--hop-us U] [--gbps G]
"""
import argparse
import json
import math
import sys

KS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


def load(path):
    with open(path, encoding="utf-8") as f:
        p = json.load(f)
    if p.get("format") != "mailsim-dist-profile":
        raise SystemExit("%s: not a mailsim distribution profile" % path)
    return p


class Calibration:
    """The figures one profile gives."""

    def __init__(self, p):
        ranks = p["per_rank"]
        self.k = p["ranks"]
        self.sim_s = p["sim_seconds"]
        self.hosts = p["hosts"]
        self.events = sum(r["events"] for r in ranks)
        self.windows = max(r["windows"] for r in ranks)
        compute = sum(r["compute_s"] for r in ranks)
        self.c = compute / self.events if self.events else 0.0
        self.wall = max(r["wall_s"] for r in ranks)
        self.cpu = [r["cpu_s"] for r in ranks]
        # Imbalance: per bucket, the slowest rank's computing minus each
        # rank's; what is left of waiting and exchanging is the windows' own.
        nb = len(ranks[0]["buckets"])
        imb = 0.0
        for b in range(nb):
            cs = [r["buckets"][b]["compute_s"] for r in ranks]
            imb += sum(max(cs) - x for x in cs)
        overhead = sum(r["wait_s"] + r["exchange_s"] for r in ranks)
        self.s = max(overhead - imb, 0.0) / self.k / self.windows if self.windows else 0.0
        self.wait_share = sum(r["wait_s"] for r in ranks) / max(sum(r["wall_s"] for r in ranks), 1e-12)
        self.cross = sum(sum(r["events_to"]) for r in ranks)
        sent_bytes = sum(sum(r["bytes_to"]) for r in ranks)
        self.bytes_per_event = sent_bytes / self.cross if self.cross else 48.0
        self.rss_mb = [r["peak_rss_kb"] / 1024.0 for r in ranks]
        self.survey = {s["parts"]: s for s in p["survey"]}
        self.survey[1] = {"parts": 1, "lookahead_s": None, "cut_links": 0, "max_share": 1.0,
                          "cut_share": 0.0}
        own = self.survey.get(self.k)
        self.la0 = own["lookahead_s"] if own and own["lookahead_s"] else min(
            x for row in p["pair_lookahead_s"] for x in row if x is not None)
        self.cut0 = own["cut_share"] if own else 0.0
        self.share0 = max(r["events"] for r in ranks) / self.events if self.events else 1.0
        self.hosts_share0 = max(r["hosts"] for r in ranks) / self.hosts


def survey_at(cal, k, host_ratio=1.0):
    """The split of a world host_ratio times the profiled one into k parts:
    that of k / host_ratio parts of the profiled world (a larger world of the
    same generator keeps its lookahead up to proportionally more parts),
    and at least 2; past the survey's end, the last entry with the share of
    each part falling as 1/k."""
    if k == 1:
        return cal.survey[1]
    keq = max(2, int(round(k / host_ratio)))
    avail = sorted(x for x in cal.survey if x >= 2)
    kk = max([x for x in avail if x <= keq] or [avail[0]])
    s = dict(cal.survey[kk])
    if keq > kk:  # beyond the survey: balance and cut as the last split, scaled
        s["max_share"] = s["max_share"] * kk / keq
        s["cut_share"] = min(1.0, s["cut_share"] * math.sqrt(keq / kk))
    if host_ratio > 1:
        s["max_share"] = max(1.0 / k, s["max_share"] * keq / k) if keq >= 2 else 1.0 / k
    return s


def sync_local(cal_list, k, cores):
    """Cost of one window on this machine with k ranks each on a core of its
    own: a + b * log2(k) fitted to the profiles, whose costs with more ranks
    than cores are first divided by ranks / cores (each rank waited for a
    core that long); one profile: b = a / 2, a guess stated in the README."""
    pts = sorted((c.k, c.s / max(1.0, c.k / cores)) for c in cal_list)
    if len(pts) >= 2:
        (k1, s1), (k2, s2) = pts[0], pts[-1]
        b = (s2 - s1) / (math.log2(k2) - math.log2(k1)) if k2 != k1 else 0.0
        a = s1 - b * math.log2(k1)
    else:
        k1, s1 = pts[0]
        a = s1 / (1 + 0.5 * math.log2(k1))
        b = a / 2
    return max(a + b * math.log2(max(k, 1)), 0.0)


def predict(cal, cals, k, events, sim_s, host_ratio, cores, hop_us, gbps, local):
    c = cal.c if local else cal.c_cpu
    if k == 1:
        return {"wall": c * events, "compute": c * events, "sync": 0.0, "exchange": 0.0,
                "windows": 0, "la": None, "share": 1.0}
    s = survey_at(cal, k, host_ratio)
    la = s["lookahead_s"] or cal.la0
    windows = cal.windows / cal.sim_s * sim_s * cal.la0 / la
    share = s["max_share"]
    # Windows end together: each costs its busiest rank's events, and with
    # lam events per rank per window the busiest of k has about
    # lam + sqrt(2 lam ln k) + ln(k) / 3 (Poisson arrivals, a Bernstein bound).
    lam = events * share / windows if windows else 0.0
    busiest = lam + math.sqrt(2 * lam * math.log(k)) + math.log(k) / 3 if lam > 0 else 0.0
    compute = c * windows * busiest if windows else c * events * share
    if local and cores < k:
        compute = max(compute, c * events / cores)
    if local:
        per_window = sync_local(cals, k, cores) * (k / cores if cores < k else 1.0)
    else:
        per_window = 2 * hop_us * 1e-6 * math.ceil(math.log2(k))
    sync = windows * per_window
    cross = cal.cross / cal.events * events * (s["cut_share"] / cal.cut0 if cal.cut0 else 1.0)
    exchange = cross * cal.bytes_per_event / (gbps * 1e9) / k * 2  # each byte leaves and arrives
    return {"wall": compute + sync + exchange, "compute": compute, "sync": sync,
            "exchange": exchange, "windows": windows, "la": la, "share": share}


def memory(cal, seq_rss_mb, k, share, host_share, scale=1.0):
    """(today, rank-local) peak MB per rank."""
    m0 = max(cal.rss_mb)
    if seq_rss_mb and seq_rss_mb > m0 and cal.share0 < 1:
        d = (seq_rss_mb - m0) / (1 - cal.share0)
        st = seq_rss_mb - d
    else:
        st, d = m0, 0.0
    st, d = st * scale, d * scale
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
    ap.add_argument("--seq-wall", type=float, help="sequential run's wall (or CPU) s, same slice")
    ap.add_argument("--seq-cpu", type=float,
                    help="sequential run's CPU s, same slice: the CPU per event of the cluster "
                         "predictions (default: the profile's computing time per event, which on "
                         "a loaded machine includes time spent waiting for a core)")
    ap.add_argument("--seq-rss-mb", type=float, help="sequential run's peak RSS, MB")
    ap.add_argument("--cores", type=int, default=2, help="cores of this machine (default 2)")
    ap.add_argument("--measured", action="append", default=[], metavar="K=WALL",
                    help="a measured wall time with K ranks, to check the prediction against")
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

    cals = sorted((Calibration(load(p)) for p in a.profiles), key=lambda c: c.k)
    cal = cals[0]
    for c in cals:
        c.c_cpu = a.seq_cpu / c.events if a.seq_cpu else c.c
    out = []
    w = out.append
    w("Calibration (from %d profile%s of %d host%s, %s simulated):" % (
        len(cals), "" if len(cals) == 1 else "s", cal.hosts, "" if cal.hosts == 1 else "s",
        fmt_t(cal.sim_s)))
    for c in cals:
        w("  K=%d: %d events, %.3f µs per event computing, %d windows (%.1f per simulated s), "
          "lookahead %.3f ms, %.2f µs per window synchronising, waiting %.0f %%, "
          "%.0f bytes per crossing event, CPU s per rank %s, peak MB per rank %s" % (
              c.k, c.events, c.c * 1e6, c.windows, c.windows / c.sim_s, c.la0 * 1e3, c.s * 1e6,
              100 * c.wait_share, c.bytes_per_event, " ".join("%.1f" % x for x in c.cpu),
              " ".join("%.0f" % x for x in c.rss_mb)))
    seq = a.seq_wall if a.seq_wall else cal.c * cal.events
    if a.seq_cpu:
        w("  sequential: %.3f µs of CPU per event (the cluster's figure)" % (cal.c_cpu * 1e6))

    # Check against measurement on this machine: each profile predicted
    # from the others (from itself when it is the only one).
    meas = {}
    for m in a.measured:
        k, _, v = m.partition("=")
        meas[int(k)] = float(v)
    for c in cals:
        meas.setdefault(c.k, c.wall)
    w("")
    w("This machine (%d cores), the profiled world: predicted against measured wall" % a.cores)
    w("  %-4s %-10s %-10s %-8s %-9s %s" % ("K", "predicted", "measured", "error", "speed-up",
                                            "calibrated on"))
    for k in sorted(meas):
        others = [c for c in cals if c.k != k] or cals
        base = others[0]
        pr = predict(base, others, k, base.events, base.sim_s, 1.0, a.cores, a.hop_us, a.gbps,
                     True)
        err = (pr["wall"] - meas[k]) / meas[k] * 100
        w("  %-4d %-10s %-10s %+6.0f %%  %-9s K=%s" % (
            k, fmt_t(pr["wall"]), fmt_t(meas[k]), err, "%.2f" % (seq / pr["wall"]),
            ",".join(str(o.k) for o in others)))

    for title, ratio, local in (
            ("the profiled world on a cluster (one core per rank)", 1.0, False),
            ("a world %g times larger (the huge world from medium) on a cluster" % a.scale,
             a.scale, False)):
        events = cal.events * ratio
        w("")
        w("Predicted: %s, %s simulated" % (title, fmt_t(cal.sim_s)))
        w("  %-5s %-11s %-9s %-9s %-10s %-9s %-13s %-13s %s" % (
            "K", "lookahead", "windows", "share", "wall", "speed-up", "MB/rank now",
            "MB/rank local", "bottleneck"))
        base_wall = predict(cal, cals, 1, events, cal.sim_s, ratio, a.cores, a.hop_us, a.gbps,
                            local)["wall"]
        for k in KS:
            pr = predict(cal, cals, k, events, cal.sim_s, ratio, a.cores, a.hop_us, a.gbps, local)
            if k == 1:
                pr["wall"] = base_wall
            mem_now, mem_local = memory(cal, a.seq_rss_mb, k, pr["share"], 1.0 / k, ratio)
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
        pr = predict(cal, cals, k, msgs * a.flow_events_per_message, 86400.0, users / 1e5,
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

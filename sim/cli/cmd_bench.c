/* `mailsim bench`: benchmark workloads that print one line of figures each:
 * the engine's PHOLD, packet forwarding, whole worlds (a scenario run at
 * either fidelity, with time per message and memory figures), and one TCP
 * transfer to compare with ns-3's. `make bench` (tools/bench.sh) runs the
 * cases, repeats them and prints medians and ratios; `make bench-tcp`
 * (tools/ns3/bench_tcp.sh) sets the transfers beside ns-3's. Wall-clock and rusage readings are the benchmark's business only;
 * the model never sees them. */
#include "mailsim/cli.h"
#include "mailsim/scenario.h"
#include "mailsim/world.h"
#include "mailsim/phold.h"
#include "mailsim/bench_net.h"
#include "mailsim/bench_transfer.h"
#include "mailsim/bench_tls.h"
#include "mailsim/bench_dkim.h"
#include "mailsim/units.h"
#include "mailsim/mpi_run.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* PHOLD split over the ranks of `mpirun -np K`: rank r runs the hosts the
 * partition gives part r. Rank 0 prints the sequential line's fields (events,
 * digest and wall_s over all ranks) plus the distributed figures. */
static int
bench_phold_mpi(const MsPholdParams *p, MsPartitionScheme scheme)
{
    const char *cmd = "bench phold";
    g_autoptr(GError) error = NULL;
    g_autoptr(MsMpi) mpi = ms_mpi_new(&error);
    if (!mpi) {
        fprintf(stderr, "mailsim %s: distributed mode (--mpi) unavailable: %s\n", cmd,
                error->message);
        return MS_EXIT_USAGE;
    }
    guint32 ranks = ms_mpi_size(mpi), rank = ms_mpi_rank(mpi);
    g_autoptr(MsPartition) part = ms_partition_new(p->nodes, ranks, scheme);
    g_autoptr(MsEngine) engine = ms_engine_new(p->seed);
    g_autoptr(MsShard) shard = ms_shard_new(engine, part, rank, p->lookahead);
    g_autoptr(MsPhold) ph = ms_phold_new(p, engine, shard);
    MsMpiStats st;
    gboolean ok = ms_mpi_run(mpi, shard, p->end, &st, &error);
    MsEngineStats es;
    ms_engine_get_stats(engine, &es);
    guint64 events = ms_mpi_sum_u64(mpi, es.processed);
    guint64 digest = ms_mpi_sum_u64(mpi, ms_phold_digest(ph));
    guint64 bytes = ms_mpi_sum_u64(mpi, st.bytes_sent);
    double wall = ms_mpi_max_double(mpi, st.wall_s);
    double wall_sum = ms_mpi_sum_double(mpi, st.wall_s);
    double wait = ms_mpi_sum_double(mpi, st.wait_s);
    double exch = ms_mpi_sum_double(mpi, st.exchange_s);
    double rss = ms_mpi_max_double(mpi, (double) ms_cli_peak_rss_kb());
    if (!ok) {
        fprintf(stderr, "mailsim %s: %s\n", cmd, error->message);
        return MS_EXIT_FAILED;
    }
    if (rank == 0) {
        double sim_s = ms_time_to_seconds(p->end);
        printf("phold nodes=%u pop=%u events=%" G_GUINT64_FORMAT " wall_s=%.3f events_per_s=%.0f"
               " peak_rss_kb=%.0f digest=%016" G_GINT64_MODIFIER
               "x ranks=%u partition=%s windows=%" G_GUINT64_FORMAT
               " wait_share=%.3f exchange_share=%.3f bytes_per_sim_s=%.0f\n",
               p->nodes, p->pop, events, wall, wall > 0 ? (double) events / wall : 0.0, rss, digest,
               ranks, ms_partition_scheme_to_string(scheme), st.windows,
               wall_sum > 0 ? wait / wall_sum : 0.0, wall_sum > 0 ? exch / wall_sum : 0.0,
               sim_s > 0 ? (double) bytes / sim_s : 0.0);
    }
    return MS_EXIT_OK;
}

static int
bench_phold(int argc, char **argv)
{
    const char *cmd = "bench phold";
    g_autofree char *nodes_s = NULL, *pop_s = NULL, *remote_s = NULL, *la_s = NULL, *mean_s = NULL,
                    *end_s = NULL, *seed_s = NULL;
    g_autofree char *partition_s = NULL;
    gboolean bare = FALSE, mpi = FALSE;
    GOptionEntry entries[] = {
        { "nodes", 0, 0, G_OPTION_ARG_STRING, &nodes_s, "number of hosts N (default 1000)", "N" },
        { "pop", 0, 0, G_OPTION_ARG_STRING, &pop_s, "initial events per host P (default 1)", "P" },
        { "remote", 0, 0, G_OPTION_ARG_STRING, &remote_s,
          "probability R of a remote event (default 0.9)", "R" },
        { "lookahead", 0, 0, G_OPTION_ARG_STRING, &la_s, "minimum delay L (default 1ms)", "TIME" },
        { "mean", 0, 0, G_OPTION_ARG_STRING, &mean_s,
          "mean M of the exponential delay (default 1ms)", "TIME" },
        { "end", 0, 0, G_OPTION_ARG_STRING, &end_s, "simulated end time T (default 10s)", "TIME" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed (default 1)", "S" },
        { "bare", 0, 0, G_OPTION_ARG_NONE, &bare, "run on a bare 4-ary heap instead of the engine",
          NULL },
        { "mpi", 0, 0, G_OPTION_ARG_NONE, &mpi, "run split over the ranks of mpirun (needs L > 0)",
          NULL },
        { "partition", 0, 0, G_OPTION_ARG_STRING, &partition_s,
          "with --mpi: hosts i mod K ('mod', default) or contiguous blocks ('block')", "SCHEME" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- the PHOLD benchmark");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Prints: phold nodes=N pop=P events=E wall_s=W events_per_s=X peak_rss_kb=K digest=D\n"
             "D does not depend on how hosts are split. With --mpi (under mpirun -np K) rank 0\n"
             "prints the same fields over all ranks, then ranks=K partition=SCHEME windows=W\n"
             "wait_share=S exchange_share=X bytes_per_sim_s=B.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 1)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[1]);

    MsPholdParams p = { 1000, 1, 0.9, MS_TIME_MS, MS_TIME_MS, 10 * MS_TIME_S, 1 };
    guint64 v;
    if (nodes_s) {
        if (!ms_cli_arg_count(cmd, "--nodes", nodes_s, &v))
            return MS_EXIT_USAGE;
        if (v < 1 || v > G_MAXUINT32 / 2)
            return ms_cli_usage(cmd, "--nodes: '%s' out of range: expected 1 to %u", nodes_s,
                                G_MAXUINT32 / 2);
        p.nodes = (guint32) v;
    }
    if (pop_s) {
        if (!ms_cli_arg_count(cmd, "--pop", pop_s, &v))
            return MS_EXIT_USAGE;
        if (v < 1 || v * p.nodes > G_MAXUINT32 / 4)
            return ms_cli_usage(
                cmd, "--pop: '%s' out of range: expected at least 1, and nodes*pop below %u", pop_s,
                G_MAXUINT32 / 4);
        p.pop = (guint32) v;
    }
    if (remote_s && !ms_cli_arg_fraction(cmd, "--remote", remote_s, &p.remote))
        return MS_EXIT_USAGE;
    if (la_s && !ms_cli_arg_time(cmd, "--lookahead", la_s, &p.lookahead))
        return MS_EXIT_USAGE;
    if (mean_s) {
        if (!ms_cli_arg_time(cmd, "--mean", mean_s, &p.mean))
            return MS_EXIT_USAGE;
        if (p.mean <= 0)
            return ms_cli_usage(cmd, "--mean: must be greater than zero");
    }
    if (end_s && !ms_cli_arg_time(cmd, "--end", end_s, &p.end))
        return MS_EXIT_USAGE;
    if (seed_s && !ms_cli_arg_count(cmd, "--seed", seed_s, &p.seed))
        return MS_EXIT_USAGE;

    MsPartitionScheme scheme = MS_PARTITION_MODULO;
    if (partition_s && !ms_partition_scheme_from_string(partition_s, &scheme))
        return ms_cli_usage(cmd, "--partition: '%s' is not a scheme: expected 'mod' or 'block'",
                            partition_s);
    if (mpi) {
        if (bare)
            return ms_cli_usage(cmd, "--mpi and --bare do not go together");
        if (p.lookahead <= 0)
            return ms_cli_usage(cmd, "--mpi needs a lookahead --lookahead greater than zero");
        return bench_phold_mpi(&p, scheme);
    }

    MsPholdResult r;
    if (bare)
        ms_phold_run_bare(&p, &r);
    else
        ms_phold_run_engine(&p, &r);
    printf("%s nodes=%u pop=%u events=%" G_GUINT64_FORMAT
           " wall_s=%.3f events_per_s=%.0f peak_rss_kb=%ld"
           " digest=%016" G_GINT64_MODIFIER "x\n",
           bare ? "phold-bare" : "phold", p.nodes, p.pop, r.events, r.wall_s,
           r.wall_s > 0 ? (double) r.events / r.wall_s : 0.0, ms_cli_peak_rss_kb(), r.digest);
    return MS_EXIT_OK;
}

static int
bench_net(int argc, char **argv)
{
    const char *cmd = "bench net";
    g_autofree char *routers_s = NULL, *flows_s = NULL, *dests_s = NULL, *end_s = NULL,
                    *seed_s = NULL;
    GOptionEntry entries[] = {
        { "routers", 0, 0, G_OPTION_ARG_STRING, &routers_s,
          "routers in the random topology (default 10000)", "N" },
        { "flows", 0, 0, G_OPTION_ARG_STRING, &flows_s, "packets kept in flight (default 100000)",
          "F" },
        { "dests", 0, 0, G_OPTION_ARG_STRING, &dests_s, "destination routers (default 1000)", "D" },
        { "end", 0, 0, G_OPTION_ARG_STRING, &end_s, "simulated end time (default 1s)", "TIME" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed (default 1)", "S" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- packets forwarded per second on a random router graph");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 1)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[1]);
    MsBenchNetParams p = { 10000, 100000, 1000, MS_TIME_S, 1 };
    guint64 v;
    if (routers_s) {
        if (!ms_cli_arg_count(cmd, "--routers", routers_s, &v))
            return MS_EXIT_USAGE;
        if (v < 2 || v > 10000000)
            return ms_cli_usage(cmd, "--routers: '%s' out of range: expected 2 to 10000000",
                                routers_s);
        p.routers = (guint32) v;
    }
    if (flows_s) {
        if (!ms_cli_arg_count(cmd, "--flows", flows_s, &v))
            return MS_EXIT_USAGE;
        if (v > 100000000)
            return ms_cli_usage(cmd, "--flows: '%s' out of range: expected at most 100000000",
                                flows_s);
        p.flows = (guint32) v;
    }
    if (dests_s) {
        if (!ms_cli_arg_count(cmd, "--dests", dests_s, &v))
            return MS_EXIT_USAGE;
        if (v < 2 || v > p.routers)
            return ms_cli_usage(
                cmd, "--dests: '%s' out of range: expected 2 to the number of routers", dests_s);
        p.dests = (guint32) v;
    }
    if (end_s && !ms_cli_arg_time(cmd, "--end", end_s, &p.end))
        return MS_EXIT_USAGE;
    if (seed_s && !ms_cli_arg_count(cmd, "--seed", seed_s, &p.seed))
        return MS_EXIT_USAGE;
    MsBenchNetResult r;
    ms_bench_net_run(&p, &r);
    long rss = ms_cli_peak_rss_kb();
    printf("net routers=%u flows=%u dests=%u events=%" G_GUINT64_FORMAT
           " forwarded=%" G_GUINT64_FORMAT
           " setup_s=%.3f wall_s=%.3f forwarded_per_s=%.0f events_per_s=%.0f peak_rss_kb=%ld "
           "bytes_per_inflight=%.0f\n",
           p.routers, p.flows, p.dests, r.events, r.forwarded, r.setup_s, r.wall_s,
           r.wall_s > 0 ? (double) r.forwarded / r.wall_s : 0.0,
           r.wall_s > 0 ? (double) r.events / r.wall_s : 0.0, rss,
           p.flows ? (double) rss * 1024.0 / p.flows : 0.0);
    return MS_EXIT_OK;
}

/* One TCP transfer over one link, the line tools/ns3/transfer.cc prints
 * for ns-3 (the same keys, sim=ns3). */
static int
bench_transfer(int argc, char **argv)
{
    const char *cmd = "bench transfer";
    g_autofree char *bytes_s = NULL, *bw_s = NULL, *delay_s = NULL, *loss_s = NULL, *drop_s = NULL,
                    *mss_s = NULL, *seed_s = NULL, *sack_s = NULL, *end_s = NULL;
    GOptionEntry entries[] = {
        { "bytes", 0, 0, G_OPTION_ARG_STRING, &bytes_s, "bytes to send (default 1MB)", "SIZE" },
        { "bandwidth", 0, 0, G_OPTION_ARG_STRING, &bw_s, "the link's rate (default 10Mbps)",
          "RATE" },
        { "delay", 0, 0, G_OPTION_ARG_STRING, &delay_s, "the link's one-way delay (default 20ms)",
          "TIME" },
        { "loss", 0, 0, G_OPTION_ARG_STRING, &loss_s,
          "each packet from sender to receiver lost with probability P (default 0)", "P" },
        { "drop", 0, 0, G_OPTION_ARG_STRING, &drop_s,
          "drop these data segments, numbered from 1 in the order of first transmission", "LIST" },
        { "mss", 0, 0, G_OPTION_ARG_STRING, &mss_s,
          "payload bytes per segment; the link's MTU is MSS + 40 (default 1460)", "N" },
        { "sack", 0, 0, G_OPTION_ARG_STRING, &sack_s,
          "both ends offer SACK (default yes); no: NewReno recovery (RFC 6582)", "yes|no" },
        { "end", 0, 0, G_OPTION_ARG_STRING, &end_s, "give up at this simulated time (default 1h)",
          "TIME" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed (default 1)", "S" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- one TCP transfer over one link, to compare with ns-3");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Prints: transfer sim=mailsim bytes=N bandwidth_bps=B delay_s=D mss=M loss=P\n"
             "drop=LIST sack=yes|no seed=S completed=yes|no transfer_time_s=T data_segments=K\n"
             "retransmitted_segments=R dropped_segments=X\n"
             "Counted on the link from sender to receiver: data segments (retransmissions\n"
             "included), those that resent bytes sent before, those the link lost. ACKs are\n"
             "never lost. `make bench-tcp` runs the same transfers in ns-3 beside these.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 1)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[1]);
    MsBenchTransferParams p = { .bytes = 1000000,
                                .bandwidth_bps = 10000000,
                                .delay = 20 * MS_TIME_MS,
                                .mss = 1460,
                                .sack = TRUE,
                                .end = MS_TIME_H,
                                .seed = 1 };
    guint64 v;
    if (bytes_s) {
        if (!ms_cli_arg_size(cmd, "--bytes", bytes_s, &p.bytes))
            return MS_EXIT_USAGE;
        if (p.bytes < 1 || p.bytes > (1u << 30))
            return ms_cli_usage(cmd, "--bytes: '%s' out of range: expected 1 byte to 1GiB",
                                bytes_s);
    }
    if (bw_s) {
        g_autoptr(GError) error = NULL;
        if (!ms_units_parse_rate(bw_s, &p.bandwidth_bps, &error))
            return ms_cli_usage(cmd, "--bandwidth: %s", error->message);
    }
    if (delay_s && !ms_cli_arg_time(cmd, "--delay", delay_s, &p.delay))
        return MS_EXIT_USAGE;
    if (loss_s && !ms_cli_arg_fraction(cmd, "--loss", loss_s, &p.loss))
        return MS_EXIT_USAGE;
    if (loss_s && p.loss >= 1.0)
        return ms_cli_usage(cmd, "--loss: must be below 1 (nothing would arrive)");
    g_autoptr(GArray) drops = NULL;
    if (drop_s) {
        g_autoptr(GError) error = NULL;
        drops = ms_bench_transfer_parse_drops(drop_s, &error);
        if (!drops)
            return ms_cli_usage(cmd, "--drop: %s", error->message);
        p.drops = (const guint64 *) (gpointer) drops->data;
        p.n_drops = drops->len;
    }
    if (mss_s) {
        if (!ms_cli_arg_count(cmd, "--mss", mss_s, &v))
            return MS_EXIT_USAGE;
        if (v < 28 || v > 65495)
            return ms_cli_usage(cmd, "--mss: '%s' out of range: expected 28 to 65495", mss_s);
        p.mss = (guint32) v;
    }
    gint sack = 1;
    if (sack_s && !ms_cli_arg_yes_no(cmd, "--sack", sack_s, &sack))
        return MS_EXIT_USAGE;
    p.sack = sack != 0;
    if (end_s && !ms_cli_arg_time(cmd, "--end", end_s, &p.end))
        return MS_EXIT_USAGE;
    if (seed_s && !ms_cli_arg_count(cmd, "--seed", seed_s, &p.seed))
        return MS_EXIT_USAGE;
    MsBenchTransferResult r;
    ms_bench_transfer_run(&p, &r);
    g_autoptr(GString) list = g_string_new(NULL);
    for (guint i = 0; i < p.n_drops; i++)
        g_string_append_printf(list, "%s%" G_GUINT64_FORMAT, i ? "," : "", p.drops[i]);
    printf("transfer sim=mailsim bytes=%" G_GUINT64_FORMAT " bandwidth_bps=%" G_GUINT64_FORMAT
           " delay_s=%.6f mss=%u loss=%g drop=%s sack=%s seed=%" G_GUINT64_FORMAT
           " completed=%s transfer_time_s=%.6f data_segments=%" G_GUINT64_FORMAT
           " retransmitted_segments=%" G_GUINT64_FORMAT " dropped_segments=%" G_GUINT64_FORMAT "\n",
           p.bytes, p.bandwidth_bps, ms_time_to_seconds(p.delay), p.mss, p.loss,
           list->len ? list->str : "none", p.sack ? "yes" : "no", p.seed,
           r.completed ? "yes" : "no", ms_time_to_seconds(r.transfer_time), r.data_segments,
           r.retransmitted, r.dropped);
    ms_bench_transfer_result_clear(&r);
    return r.completed ? MS_EXIT_OK : MS_EXIT_FAILED;
}

static double
cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Resident set size now, from /proc (0 when unavailable). */
static long
rss_now_kb(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/self/statm", &text, NULL, NULL))
        return 0;
    long pages = 0, resident = 0;
    if (sscanf(text, "%ld %ld", &pages, &resident) != 2)
        return 0;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int
bench_world(int argc, char **argv)
{
    const char *cmd = "bench world";
    g_autofree char *fidelity_s = NULL, *until_s = NULL, *sample_s = NULL, *keep_s = NULL;
    gboolean keep_records = FALSE;
    GOptionEntry entries[] = {
        { "fidelity", 0, 0, G_OPTION_ARG_STRING, &fidelity_s,
          "packet or flow (default: the scenario's)", "LEVEL" },
        { "keep-bodies", 0, 0, G_OPTION_ARG_STRING, &keep_s, "yes or no (default: the scenario's)",
          "yes|no" },
        { "until", 0, 0, G_OPTION_ARG_STRING, &until_s,
          "stop at this simulated time (default: the scenario's)", "TIME" },
        { "sample", 0, 0, G_OPTION_ARG_STRING, &sample_s,
          "sample the queues every TIME of simulated time (default 10min)", "TIME" },
        { "keep-records", 0, 0, G_OPTION_ARG_NONE, &keep_records,
          "keep every message's record to the end (by default finished messages are folded into "
          "the statistics and freed)",
          NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("FILE - run a scenario's world and print its costs");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc != 2)
        return ms_cli_usage(cmd, argc < 2 ? "missing FILE" : "unexpected argument '%s'",
                            argc < 2 ? "" : argv[2]);
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.fold_records = !keep_records; /* a benchmark reads no single record */
    if (fidelity_s && !ms_cli_arg_fidelity(cmd, "--fidelity", fidelity_s, &o.fidelity))
        return MS_EXIT_USAGE;
    if (keep_s && !ms_cli_arg_yes_no(cmd, "--keep-bodies", keep_s, &o.keep_bodies))
        return MS_EXIT_USAGE;
    MsTime until = 0, sample = 10 * MS_TIME_MIN;
    if (until_s && !ms_cli_arg_time(cmd, "--until", until_s, &until))
        return MS_EXIT_USAGE;
    if (sample_s && (!ms_cli_arg_time(cmd, "--sample", sample_s, &sample) || sample <= 0))
        return sample_s && sample <= 0 ? ms_cli_usage(cmd, "--sample: expected a time > 0")
                                       : MS_EXIT_USAGE;
    gint64 t0 = g_get_monotonic_time();
    double c0 = cpu_seconds();
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file(argv[1], &error);
    if (!sc) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    o.release_users = sc; /* the bench's world is the scenario's only reader */
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
    if (!w) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    double build_s = (double) (g_get_monotonic_time() - t0) / 1e6;
    long base_kb = rss_now_kb();
    gint64 t1 = g_get_monotonic_time();
    double c1 = cpu_seconds();
    if (!until)
        until = ms_world_default_until(w);
    /* Run in slices to sample the queues; slicing does not change the run
     * (the clock only moves on to each slice's end). */
    guint q_peak = 0;
    guint64 q_bytes_at_peak = 0;
    MsEngine *e = ms_world_engine(w);
    for (MsTime t = 0; t < until && ms_engine_next_time(e) != MS_TIME_INFINITE;) {
        t = until == MS_TIME_INFINITE ? ms_time_add(ms_engine_now(e), sample)
                                      : MIN(until, ms_time_add(t, sample));
        ms_world_run(w, t);
        guint queued;
        guint64 bytes;
        ms_mail_queue_footprint(ms_world_mail(w), &queued, &bytes);
        if (queued > q_peak) {
            q_peak = queued;
            q_bytes_at_peak = bytes;
        }
    }
    double run_s = (double) (g_get_monotonic_time() - t1) / 1e6;
    double cpu_s = cpu_seconds() - c1;
    (void) c0;
    MsEngineStats es;
    ms_engine_get_stats(e, &es);
    MsMailStats ms;
    ms_mail_get_stats(ms_world_mail(w), &ms);
    guint n = ms.messages + ms.dsns;
    long peak = ms_cli_peak_rss_kb();
    g_autofree char *base = g_path_get_basename(argv[1]);
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    printf("world=%s fidelity=%s hosts=%u messages=%u events=%" G_GUINT64_FORMAT
           " build_s=%.2f wall_s=%.2f cpu_s=%.2f "
           "us_per_message=%.1f events_per_s=%.0f messages_per_s=%.0f peak_rss_kb=%ld "
           "huge_pages_kb=%ld rss_per_message=%.0f "
           "queued_peak=%u bytes_per_queued=%.0f fingerprint=%016" G_GINT64_MODIFIER "x\n",
           base, ms_world_fidelity(w) == MS_FIDELITY_FLOW ? "flow" : "packet",
           ms_net_n_hosts(ms_world_net(w)), n, es.processed, build_s, run_s, cpu_s,
           n ? cpu_s * 1e6 / n : 0.0, cpu_s > 0 ? es.processed / cpu_s : 0.0,
           cpu_s > 0 ? n / cpu_s : 0.0, peak, ms_cli_huge_pages_kb(),
           n ? (double) (peak - base_kb) * 1024.0 / n : 0.0, q_peak,
           q_peak ? (double) q_bytes_at_peak / q_peak : 0.0, ms_engine_fingerprint(e));
    return MS_EXIT_OK;
}

/* The simulated TLS endpoint's CPU cost: per handshake (client and server
 * together) and per octet of protected data (see bench_tls.h). */
static int
bench_tls(int argc, char **argv)
{
    const char *cmd = "bench tls";
    g_autofree char *rounds_s = NULL, *hs_s = NULL, *bytes_s = NULL, *seed_s = NULL;
    GOptionEntry entries[] = {
        { "rounds", 0, 0, G_OPTION_ARG_STRING, &rounds_s,
          "rounds of each measurement, the median is printed (default 7)", "R" },
        { "handshakes", 0, 0, G_OPTION_ARG_STRING, &hs_s, "handshakes per round (default 200)",
          "H" },
        { "bytes", 0, 0, G_OPTION_ARG_STRING, &bytes_s,
          "application data sealed and opened per round (default 16MiB)", "SIZE" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed (default 1)", "S" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- CPU per TLS 1.3 handshake and per octet of protected data");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Prints: tls rounds=R handshakes=H handshake_cpu_us=U handshake_octets=O\n"
             "resumed_dhe_cpu_us=D resumed_ke_cpu_us=K bytes=B seal_mb_s=S open_mb_s=P\n"
             "(U: client + server CPU per full handshake, median of the rounds; D and K:\n"
             "the same resuming a session with psk_dhe_ke and psk_ke; S and P: 10^6 octets\n"
             "of application data per CPU second).\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 1)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[1]);
    MsBenchTlsParams p = { 7, 200, 16u << 20, 1 };
    guint64 v;
    if (rounds_s) {
        if (!ms_cli_arg_count(cmd, "--rounds", rounds_s, &v))
            return MS_EXIT_USAGE;
        if (v < 1 || v > 1000)
            return ms_cli_usage(cmd, "--rounds: '%s' out of range: expected 1 to 1000", rounds_s);
        p.rounds = (guint) v;
    }
    if (hs_s) {
        if (!ms_cli_arg_count(cmd, "--handshakes", hs_s, &v))
            return MS_EXIT_USAGE;
        if (v < 1 || v > 1000000)
            return ms_cli_usage(cmd, "--handshakes: '%s' out of range: expected 1 to 1000000",
                                hs_s);
        p.handshakes = (guint) v;
    }
    if (bytes_s && !ms_cli_arg_size(cmd, "--bytes", bytes_s, &p.bytes))
        return MS_EXIT_USAGE;
    if (seed_s && !ms_cli_arg_count(cmd, "--seed", seed_s, &p.seed))
        return MS_EXIT_USAGE;
    MsBenchTlsResult r;
    ms_bench_tls_run(&p, &r);
    if (!r.ok) {
        fprintf(stderr, "mailsim %s: a handshake or a transfer did not complete\n", cmd);
        return MS_EXIT_FAILED;
    }
    printf("tls rounds=%u handshakes=%u handshake_cpu_us=%.1f handshake_octets=%" G_GUINT64_FORMAT
           " resumed_dhe_cpu_us=%.1f resumed_ke_cpu_us=%.1f bytes=%" G_GUINT64_FORMAT
           " seal_mb_s=%.1f open_mb_s=%.1f\n",
           p.rounds, p.handshakes, r.handshake_cpu_us, r.handshake_octets, r.resumed_dhe_cpu_us,
           r.resumed_ke_cpu_us, p.bytes, r.seal_mb_s, r.open_mb_s);
    return MS_EXIT_OK;
}

/* DKIM's CPU cost: per signed and per verified message, RSA-2048 and
 * Ed25519 (see bench_dkim.h). */
static int
bench_dkim(int argc, char **argv)
{
    const char *cmd = "bench dkim";
    g_autofree char *rounds_s = NULL, *ops_s = NULL, *seed_s = NULL;
    GOptionEntry entries[] = {
        { "rounds", 0, 0, G_OPTION_ARG_STRING, &rounds_s,
          "rounds of each measurement, the median is printed (default 7)", "R" },
        { "ops", 0, 0, G_OPTION_ARG_STRING, &ops_s,
          "signatures and verifications per round and algorithm (default 100)", "N" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed for the keys (default 1)", "S" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- CPU per DKIM-signed and per DKIM-verified message");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Prints: dkim rounds=R ops=N message_octets=M rsa_bits=2048 rsa_sign_us=..\n"
             "rsa_verify_us=.. ed25519_sign_us=.. ed25519_verify_us=.. rsa_key_parse_us=..\n"
             "rsa_keygen_ms=.. (CPU microseconds per message, median of the rounds; a\n"
             "verification with the key cached, the key record's import apart).\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 1)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[1]);
    MsBenchDkimParams p = { 7, 100, 1 };
    guint64 v;
    if (rounds_s) {
        if (!ms_cli_arg_count(cmd, "--rounds", rounds_s, &v))
            return MS_EXIT_USAGE;
        if (v < 1 || v > 1000)
            return ms_cli_usage(cmd, "--rounds: '%s' out of range: expected 1 to 1000", rounds_s);
        p.rounds = (guint) v;
    }
    if (ops_s) {
        if (!ms_cli_arg_count(cmd, "--ops", ops_s, &v))
            return MS_EXIT_USAGE;
        if (v < 1 || v > 1000000)
            return ms_cli_usage(cmd, "--ops: '%s' out of range: expected 1 to 1000000", ops_s);
        p.ops = (guint) v;
    }
    if (seed_s && !ms_cli_arg_count(cmd, "--seed", seed_s, &p.seed))
        return MS_EXIT_USAGE;
    MsBenchDkimResult r;
    ms_bench_dkim_run(&p, &r);
    if (!r.ok) {
        fprintf(stderr, "mailsim %s: a signature was not made or did not verify\n", cmd);
        return MS_EXIT_FAILED;
    }
    printf("dkim rounds=%u ops=%u message_octets=%u rsa_bits=2048 rsa_sign_us=%.1f "
           "rsa_verify_us=%.1f ed25519_sign_us=%.1f ed25519_verify_us=%.1f "
           "rsa_key_parse_us=%.1f rsa_keygen_ms=%.0f\n",
           p.rounds, p.ops, r.message_octets, r.rsa_sign_us, r.rsa_verify_us, r.ed25519_sign_us,
           r.ed25519_verify_us, r.rsa_key_parse_us, r.rsa_keygen_ms);
    return MS_EXIT_OK;
}

int
ms_cmd_bench(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            printf("Usage: mailsim bench WORKLOAD [OPTIONS]\n\nWorkloads:\n"
                   "  phold      the PHOLD engine benchmark (mailsim bench phold --help)\n"
                   "  net        packets forwarded per second on a random router graph (mailsim "
                   "bench net --help)\n"
                   "  world      a scenario's whole run: time per message, events/s, memory "
                   "(mailsim bench world --help)\n"
                   "  transfer   one TCP transfer over one link, to compare with ns-3 (mailsim "
                   "bench transfer --help)\n"
                   "  tls        CPU per TLS 1.3 handshake and per octet of protected data "
                   "(mailsim bench tls --help)\n"
                   "  dkim       CPU per DKIM-signed and per DKIM-verified message "
                   "(mailsim bench dkim --help)\n");
            return MS_EXIT_OK;
        }
        return ms_cli_usage(
            "bench",
            "missing workload: expected 'phold', 'net', 'world', 'transfer', 'tls' or 'dkim'");
    }
    if (strcmp(argv[1], "phold") == 0)
        return bench_phold(argc - 1, argv + 1);
    if (strcmp(argv[1], "net") == 0)
        return bench_net(argc - 1, argv + 1);
    if (strcmp(argv[1], "world") == 0)
        return bench_world(argc - 1, argv + 1);
    if (strcmp(argv[1], "transfer") == 0)
        return bench_transfer(argc - 1, argv + 1);
    if (strcmp(argv[1], "tls") == 0)
        return bench_tls(argc - 1, argv + 1);
    if (strcmp(argv[1], "dkim") == 0)
        return bench_dkim(argc - 1, argv + 1);
    return ms_cli_usage(
        "bench",
        "unknown workload '%s': expected 'phold', 'net', 'world', 'transfer', 'tls' or 'dkim'",
        argv[1]);
}

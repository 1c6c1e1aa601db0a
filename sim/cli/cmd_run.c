/* `mailsim run [FILE]`: loads a scenario (the built-in first lesson when no
 * file is given), builds its world, runs it with the outputs asked for,
 * prints the narration and a summary, and checks the scenario's
 * expectations. Exit 0 when all pass, 1 when one fails or mail is
 * unaccounted for, 2 for bad usage or a bad scenario. */
#include "mailsim/cli.h"
#include "mailsim/scenario.h"
#include "mailsim/sinks.h"
#include "mailsim/stats.h"
#include "mailsim/units.h"
#include "mailsim/world.h"
#include "mailsim/mpi_run.h"
#include "mailsim/dist_profile.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One SSLKEYLOGFILE line (NSS's format: label, client random, secret). */
static void
keylog_line(const char *line, gpointer user_data)
{
    fprintf(user_data, "%s\n", line);
}

/* The summary reads the statistics table, so a partitioned run (whose
 * counters are added over the parts) prints the same as a sequential one. */
static void
print_summary(MsWorld *w, const MsStatsTable *tab, const MsPcapSink *pcap, const char *limit_s,
              FILE *out)
{
    MsMail *m = ms_world_mail(w);
    MsMailStats st;
    ms_mail_get_stats(m, &st);
    g_autofree char *now = ms_time_to_string(ms_engine_now(ms_world_engine(w)));
#define V(sec, name) ((guint64) ms_stats_table_get(tab, sec, name))
    fprintf(out, "\nSummary at t=%s\n", now);
    fprintf(out, "  messages: %u submitted, %u bounce%s (DSN)\n", st.messages, st.dsns,
            st.dsns == 1 ? "" : "s");
    /* The messages' own recipients, then the bounces: a DSN delivered to
     * the sender is no recipient of the mail that was sent. */
    guint delivered = st.delivered - st.dsn_delivered, bounced = st.bounced - st.dsn_bounced,
          queued = st.queued - st.dsn_queued;
    guint rcpts = delivered + bounced + queued + st.refused + st.with_client;
    fprintf(out,
            "  %u recipient%s: %u delivered, %u bounced, %u still queued, %u refused at "
            "submission",
            rcpts, rcpts == 1 ? "" : "s", delivered, bounced, queued, st.refused);
    if (st.with_client)
        fprintf(out, ", %u not yet submitted", st.with_client);
    fprintf(out, "\n");
    if (st.dsns) {
        fprintf(out, "  %u DSN%s: %u delivered to the sender", st.dsns, st.dsns == 1 ? "" : "s",
                st.dsn_delivered);
        if (st.dsn_queued)
            fprintf(out, ", %u still queued", st.dsn_queued);
        if (st.dsn_bounced)
            fprintf(out, ", %u undeliverable (a bounce is never bounced)", st.dsn_bounced);
        fprintf(out, "\n");
    }
    fprintf(out, "  retrieved by POP3%s: %u; delivery attempts (all servers): %u; deferrals: %u\n",
            ms_mail_uses_imap(m) ? " or IMAP" : "", st.retrieved, st.attempts, st.deferrals);
    fprintf(out,
            "  sessions: %" G_GUINT64_FORMAT " SMTP, %" G_GUINT64_FORMAT
            " POP3; TCP: %" G_GUINT64_FORMAT " connections, %" G_GUINT64_FORMAT
            " segments, %" G_GUINT64_FORMAT " retransmitted\n",
            st.smtp_sessions, st.pop3_sessions, V("tcp", "connections"), V("tcp", "segments"),
            V("tcp", "retransmits"));
    if (ms_mail_uses_imap(m)) {
        /* push (IDLE) or poll (check-every): the wait a reader sees */
        guint64 seen = V("imap", "seen");
        fprintf(out, "  IMAP: %" G_GUINT64_FORMAT " session%s", V("imap", "sessions"),
                V("imap", "sessions") == 1 ? "" : "s");
        if (seen)
            fprintf(out,
                    "; from delivery to the first device showing it (POP3 or IMAP): mean %.3f s, "
                    "max %.3f s "
                    "(%" G_GUINT64_FORMAT " recipient%s)",
                    ms_stats_table_get(tab, "imap", "seen_mean_s"),
                    ms_stats_table_get(tab, "imap", "seen_max_s"), seen, seen == 1 ? "" : "s");
        fprintf(out, "\n");
        /* Each reading device: the wait its user saw (a partitioned run's
         * merge brought every part's devices' lists, sim/mail/mail_merge.c). */
        for (guint i = 0; i < ms_mail_n_clients(m); i++) {
            guint n;
            MsTime total, max;
            const char *how = ms_mail_client_reads(m, i);
            ms_mail_client_seen_delays(m, i, &n, &total, &max);
            if (!how || !n)
                continue;
            fprintf(out,
                    "    %s (%s) showed %u message%s: mean %.3f s, max %.3f s after delivery\n",
                    ms_net_host_name(ms_world_net(w), ms_mail_client_host(m, i)), how, n,
                    n == 1 ? "" : "s", ms_time_to_seconds(total) / n, ms_time_to_seconds(max));
        }
    }
    if (ms_mail_tls_enabled(m))
        fprintf(out,
                "  TLS: %" G_GUINT64_FORMAT " handshake%s, %" G_GUINT64_FORMAT
                " failed; hops: %" G_GUINT64_FORMAT " encrypted, %" G_GUINT64_FORMAT
                " in the clear; logins: %" G_GUINT64_FORMAT " inside TLS, %" G_GUINT64_FORMAT
                " in the clear\n",
                V("tls", "handshakes"), V("tls", "handshakes") == 1 ? "" : "s",
                V("tls", "failures"), V("tls", "hops_encrypted"), V("tls", "hops_clear"),
                V("tls", "logins_encrypted"), V("tls", "logins_clear"));
    MsLatencyStats lat;
    ms_stats_latency(w, &lat);
    if (lat.n) {
        fprintf(out,
                "  delivery latency over %u recipient%s: mean %.3f s, p50 %.3f s, p95 %.3f s, p99 "
                "%.3f s, max %.3f s",
                lat.n, lat.n == 1 ? "" : "s", lat.mean, lat.p50, lat.p95, lat.p99, lat.max);
        /* A run that folded its records summed latencies in a sketch. */
        if (lat.quantile_error > 0)
            fprintf(out, " (p50, p95, p99 from a sketch, within %.3g %%)",
                    100 * lat.quantile_error);
        fprintf(out, "\n");
    }
    fprintf(out,
            "  packets: %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT
            " forwarded by routers, %" G_GUINT64_FORMAT " delivered, %" G_GUINT64_FORMAT
            " dropped\n",
            V("net", "packets_sent"), V("net", "packets_forwarded"), V("net", "packets_delivered"),
            V("net", "packets_dropped"));
    if (pcap) {
        MsPcapCounts pc;
        ms_pcap_sink_get_counts(pcap, &pc);
        fprintf(out, "  capture: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " B",
                pc.written, pc.bytes);
        if (pc.left_out) {
            char t[32];
            ms_time_format_seconds(pc.first_left_out, t, sizeof t);
            fprintf(out,
                    "; %" G_GUINT64_FORMAT " left out from t=%s s on (--pcap-limit %s reached)",
                    pc.left_out, t, limit_s);
        }
        fprintf(out, "\n");
    }
    guint shown = 0, limit = MS_WORLD_SUMMARY_MESSAGES;
    for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
        if (shown == limit) {
            fprintf(out, "  ... and %u more message%s (--stats FILE for all figures)\n",
                    ms_mail_n_messages(m) - limit, ms_mail_n_messages(m) - limit == 1 ? "" : "s");
            break;
        }
        const MsMessageRecord *r = ms_mail_message(m, id);
        if (!r)
            continue; /* folded: a run that folds keeps the first `limit` */
        shown++;
        for (guint k = 0; k < r->rcpts->len; k++) {
            const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
            g_autofree char *took =
                rr->done_at ? ms_time_to_string(rr->done_at - r->created_at) : g_strdup("-");
            fprintf(out, "  %-8s -> %-28s %-9s after %-10s hops %u, attempts %u%s%s\n", r->label,
                    rr->address, ms_rcpt_state_to_string(rr->state), took, rr->hops, rr->attempts,
                    rr->state == MS_RCPT_BOUNCED ? ", status " : "",
                    rr->state == MS_RCPT_BOUNCED ? rr->status : "");
        }
    }
    if (ms_world_shard(w))
        fprintf(out, "  events: %" G_GUINT64_FORMAT " over all parts (fault events run on each)\n",
                V("run", "events"));
    else
        fprintf(out,
                "  run fingerprint: %016" G_GINT64_MODIFIER "x (%" G_GUINT64_FORMAT " events)\n",
                ms_engine_fingerprint(ms_world_engine(w)), V("run", "events"));
#undef V
}

/* Runs the world to `until`, in slices of simulated time so that a long run
 * can show a progress line on a terminal (the slicing does not change the
 * order of events). */
static void
run_with_progress(MsWorld *w, MsTime until, gboolean progress)
{
    MsEngine *e = ms_world_engine(w);
    if (!progress) {
        ms_world_run(w, until);
        return;
    }
    gint64 start = g_get_monotonic_time(), last = start;
    gboolean shown = FALSE;
    for (;;) {
        MsTime next = ms_engine_next_time(e);
        if (next == MS_TIME_INFINITE || next > until)
            break;
        MsTime slice = ms_time_add(next, 10 * MS_TIME_S);
        ms_engine_run(e, MIN(slice, until));
        gint64 now = g_get_monotonic_time();
        if (now - last >= G_USEC_PER_SEC) {
            last = now;
            shown = TRUE;
            MsEngineStats st;
            ms_engine_get_stats(e, &st);
            MsMailStats ms;
            ms_mail_get_stats(ms_world_mail(w), &ms);
            g_autofree char *t = ms_time_to_string(ms_engine_now(e));
            fprintf(stderr, "\r  t=%s  %.0f events/s  %u delivered, %u bounced, %u queued   ", t,
                    (double) st.processed / ((double) (now - start) / 1e6), ms.delivered,
                    ms.bounced, ms.queued);
        }
    }
    if (shown)
        fprintf(stderr, "\n");
    ms_world_run(w, until);
}

/* A host by scenario id or by hostname, or G_MAXUINT32. */
static MsHostId
find_host(const MsScenario *sc, MsNet *net, const char *name)
{
    gint i = ms_scenario_find_host(sc, name);
    return i >= 0 ? (MsHostId) i : ms_net_host_by_name(net, name);
}

static guint32
find_link(const MsScenario *sc, MsNet *net, const char *spec)
{
    g_auto(GStrv) ends = g_strsplit(spec, "~", 2);
    if (!ends[0] || !ends[1])
        return G_MAXUINT32;
    MsHostId a = find_host(sc, net, ends[0]), b = find_host(sc, net, ends[1]);
    for (guint32 l = 0; l < ms_net_n_links(net); l++) {
        MsHostId x, y;
        ms_net_link_ends(net, l, &x, &y);
        if ((x == a && y == b) || (x == b && y == a))
            return l;
    }
    return G_MAXUINT32;
}

/* What the command line asks a run to write. */
typedef struct {
    const char *trace_path, *pcap_path, *pcap_host, *pcap_limit_s;
    char **pcap_links;
    guint64 pcap_limit;
    gboolean narrate, colour;
    MsNarrateLevel level;
    const char *dmarc_dir; /* --dmarc-reports, or NULL */
} Outputs;

/* "out/trace.jsonl" for part 2 -> "out/trace.part2.jsonl". */
static char *
part_path(const char *path, gint part)
{
    if (part < 0)
        return g_strdup(path);
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base : path, '.');
    if (!dot || dot == (base ? base + 1 : path))
        return g_strdup_printf("%s.part%d", path, part);
    return g_strdup_printf("%.*s.part%d%s", (int) (dot - path), path, part, dot);
}

/* Attaches the narration, trace and capture sinks to w (part >= 0: one part
 * of a partitioned run, whose files get ".partN"). Returns an exit status. */
typedef struct {
    MsPcapSink *pcap; /* owned by the trace */
    MsJsonSink *json;
} Sinks;

static int
attach_outputs(MsWorld *w, const MsScenario *sc, const Outputs *o, gint part, Sinks *sinks)
{
    const char *cmd = "run";
    g_autoptr(GError) error = NULL;
    MsNet *net = ms_world_net(w);
    MsTrace *trace = ms_net_trace(net);
    memset(sinks, 0, sizeof *sinks);
    if (o->narrate)
        ms_trace_add_sink(trace, ms_narrator_record,
                          ms_narrator_new(net, stdout, o->level, o->colour), ms_narrator_free);
    if (o->trace_path) {
        g_autofree char *path = part_path(o->trace_path, part);
        MsJsonSink *js = ms_json_sink_new(net, path, &error);
        if (!js) {
            fprintf(stderr, "mailsim run: --trace: %s\n", error->message);
            return MS_EXIT_USAGE;
        }
        ms_trace_add_sink(trace, ms_json_sink_record, js, ms_json_sink_free);
        if (part >= 0)
            ms_json_sink_set_part(js);
        sinks->json = js;
    }
    if (!o->pcap_path) {
        if (o->pcap_host || o->pcap_links || o->pcap_limit_s)
            return ms_cli_usage(cmd, "--pcap-host, --pcap-link and --pcap-limit need --pcap FILE");
        return MS_EXIT_OK;
    }
    g_autofree char *path = part_path(o->pcap_path, part);
    MsPcapSink *pcap = ms_pcap_sink_new(net, path, &error);
    if (!pcap) {
        fprintf(stderr, "mailsim run: --pcap: %s\n", error->message);
        return MS_EXIT_USAGE;
    }
    ms_trace_add_sink(trace, ms_pcap_sink_record, pcap, ms_pcap_sink_free);
    sinks->pcap = pcap;
    if (o->pcap_limit && !ms_pcap_sink_set_limit(pcap, o->pcap_limit, &error))
        return ms_cli_usage(cmd, "--pcap-limit: '%s': %s", o->pcap_limit_s, error->message);
    if (o->pcap_host) {
        MsHostId h = find_host(sc, net, o->pcap_host);
        if (h == G_MAXUINT32)
            return ms_cli_usage(cmd, "--pcap-host: no host '%s' in %s", o->pcap_host, sc->path);
        ms_pcap_sink_set_host(pcap, h);
    }
    for (char **l = o->pcap_links; l && *l; l++) {
        guint32 link = find_link(sc, net, *l);
        if (link == G_MAXUINT32)
            return ms_cli_usage(
                cmd, "--pcap-link: no link '%s' in %s: expected A~B with two host ids or names", *l,
                sc->path);
        ms_pcap_sink_add_link(pcap, link);
    }
    return MS_EXIT_OK;
}

/* Closes the capture and says what --pcap-limit left out. */
static int
close_pcap(MsPcapSink *pcap, const Outputs *o)
{
    if (!pcap)
        return MS_EXIT_OK;
    g_autoptr(GError) error = NULL;
    if (!ms_pcap_sink_close(pcap, &error)) {
        fprintf(stderr, "mailsim run: --pcap: %s\n", error->message);
        return MS_EXIT_FAILED;
    }
    MsPcapCounts pc;
    ms_pcap_sink_get_counts(pcap, &pc);
    if (pc.left_out) {
        char t[32];
        ms_time_format_seconds(pc.first_left_out, t, sizeof t);
        fprintf(
            stderr,
            "mailsim run: --pcap: the capture reached --pcap-limit %s at t=%s s: %" G_GUINT64_FORMAT
            " packet%s from then on left out of %s (%" G_GUINT64_FORMAT " written)\n",
            o->pcap_limit_s, t, pc.left_out, pc.left_out == 1 ? "" : "s", o->pcap_path, pc.written);
    }
    return MS_EXIT_OK;
}

/* Statistics, summary and checks of a finished run: w holds the (merged)
 * records, t the statistics. Returns the exit status. */
static int
report(MsWorld *w, const MsStatsTable *t, const MsPcapSink *pcap, const Outputs *o,
       const char *stats_path, int rc)
{
    g_autoptr(GError) error = NULL;
    if (o->dmarc_dir) {
        /* The merged rows of a partitioned run are the sequential run's
         * (sim/mail/mail_merge.c), so are the files. */
        guint files = 0;
        if (g_mkdir_with_parents(o->dmarc_dir, 0755) != 0 ||
            !ms_world_write_dmarc_reports(w, o->dmarc_dir, &files, &error)) {
            fprintf(stderr, "mailsim run: --dmarc-reports: %s\n",
                    error ? error->message : g_strerror(errno));
            rc = MAX(rc, MS_EXIT_FAILED);
            g_clear_error(&error);
        } else {
            fprintf(stderr, "mailsim run: %u DMARC aggregate report%s written to %s\n", files,
                    files == 1 ? "" : "s", o->dmarc_dir);
        }
    }
    if (stats_path && !ms_stats_table_write(t, stats_path, &error)) {
        fprintf(stderr, "mailsim run: --stats: %s\n", error->message);
        rc = MS_EXIT_FAILED;
    }
    print_summary(w, t, pcap, o->pcap_limit_s, stdout);
    g_autoptr(GString) checks = g_string_new(NULL);
    gboolean ok = ms_world_check(w, checks);
    if (checks->len)
        printf("\nChecks\n%s", checks->str);
    fflush(stdout);
    return ok ? rc : MS_EXIT_FAILED;
}

static void
print_title(const MsScenario *sc, gboolean partitioned)
{
    printf("%s\n", sc->title[0] ? sc->title : sc->name);
    if (sc->description[0]) {
        g_autofree char *d = g_strstrip(g_strdup(sc->description));
        printf("%s\n", d);
    }
    printf("\n");
    if (partitioned)
        printf("(A partitioned run tells no story: each part sees only its own hosts. The trace, "
               "written per part\n"
               "with --trace and joined by mailsim merge, holds every step.)\n\n");
}

/* How --partition auto measures the world: a pilot run of `pilot`
 * simulated time (0: none, the roles' guess), by default a hundredth of
 * the run (a minute when the run has no end). */
typedef struct {
    MsTime pilot;
    gboolean pilot_set;
    MsWorldRates *rates; /* measured, or NULL */
    MsWorldPartitionPlan plan;
    const char *profile_path; /* --dist-profile */
    gboolean critical;        /* --critical-path */
} DistOptions;

static MsTime
pilot_slice(const MsScenario *sc, const DistOptions *d, MsTime until)
{
    if (d->pilot_set)
        return d->pilot;
    MsTime end = until ? until : sc->until;
    if (end == MS_TIME_INFINITE)
        return 60 * MS_TIME_S;
    return MAX(end / 100, (MsTime) 1);
}

/* Runs the pilot when --partition auto or --dist-profile wants its rates:
 * over MPI (mpi given) each rank runs its part of a first split, so that no
 * rank builds the whole world (sim/run/world_partition.c). */
static gboolean
measure(const MsScenario *sc, const MsWorldOptions *wo, const char *spec, DistOptions *d,
        MsTime until, MsMpi *mpi, GError **error)
{
    if (strcmp(spec, "auto") != 0 && !d->profile_path)
        return TRUE;
    MsTime slice = pilot_slice(sc, d, until);
    if (slice <= 0)
        return TRUE;
    d->rates =
        mpi ? ms_world_pilot_mpi(sc, wo, mpi, slice, error) : ms_world_pilot(sc, wo, slice, error);
    return d->rates != NULL;
}

/* The split --partition asks for, into `parts` parts. */
static MsPartition *
make_partition(const MsScenario *sc, const char *spec, guint32 parts, DistOptions *d,
               GError **error)
{
    MsPartitionScheme scheme;
    if (strcmp(spec, "auto") == 0 && d->rates)
        return ms_world_partition_auto_rates(sc, parts, d->rates, &d->plan);
    if (strcmp(spec, "auto") == 0)
        return ms_world_partition_auto(sc, parts);
    if (ms_partition_scheme_from_string(spec, &scheme))
        return ms_partition_new(sc->hosts->len, parts, scheme);
    return ms_world_partition_load(sc, spec, parts, error);
}

static void
say_partition(const MsScenario *sc, const MsPartition *p, MsTime lookahead, guint cuts,
              const char *how)
{
    g_autofree char *la =
        cuts == 0 ? g_strdup("none (no link is cut)") : ms_time_to_string(lookahead);
    printf("Partitioned run: %u parts %s, %u of %u links cut, lookahead %s; hosts per part:",
           ms_partition_parts(p), how, cuts, sc->links->len, la);
    for (guint32 i = 0; i < ms_partition_parts(p); i++)
        printf(" %u", ms_partition_count(p, i));
    printf("\n");
}

/* Builds part `part` of the partitioned world with its outputs. */
static MsWorld *
build_part(const MsScenario *sc, MsWorldOptions wo, const MsPartition *p, guint32 part,
           const Outputs *o, Sinks *sinks, int *rc)
{
    g_autoptr(GError) error = NULL;
    wo.partition = p;
    wo.part = part;
    MsWorld *w = ms_world_new_full(sc, &wo, &error);
    if (!w) {
        fprintf(stderr, "%s\n", error->message);
        *rc = MS_EXIT_USAGE;
        return NULL;
    }
    Outputs quiet = *o;
    quiet.narrate = FALSE; /* each part would tell only its own hosts' side */
    *rc = attach_outputs(w, sc, &quiet, (gint) part, sinks);
    if (*rc != MS_EXIT_OK)
        g_clear_pointer(&w, ms_world_free);
    return w;
}

/* Parts 1..K-1 built on threads (part 0 first, in the caller's thread:
 * what is wrong with the options is said once, by part 0). */
typedef struct {
    const MsScenario *sc;
    const MsWorldOptions *wo;
    const MsPartition *p;
    const Outputs *o;
    MsWorld **worlds;
    Sinks *sinks;
    int *rcs;
    atomic_uint next;
} PartBuilds;

static gpointer
build_parts(gpointer data)
{
    PartBuilds *b = data;
    for (;;) {
        guint32 i = atomic_fetch_add(&b->next, 1);
        if (i >= ms_partition_parts(b->p))
            return NULL;
        b->worlds[i] = build_part(b->sc, *b->wo, b->p, i, b->o, &b->sinks[i], &b->rcs[i]);
    }
}

/* The Distribution: line of a run in this process: windows (or, without
 * windows, steps and jumps) per simulated second and the share of the
 * parts' (threads') time spent waiting. */
static void
say_parts_distribution(MsWorld *w0, guint32 k, guint threads, const MsShardAsyncStats *as,
                       const MsMpiStats *sts)
{
    MsTime now = ms_engine_now(ms_world_engine(w0));
    double sim_s = now > 0 ? ms_time_to_seconds(now) : 0.0;
    printf("\nDistribution: %u parts on %u thread%s", k, threads, threads == 1 ? "" : "s");
    if (as) {
        double all = as->busy_s + as->wait_s;
        printf(" without windows, %" G_GUINT64_FORMAT " steps (%.3g per simulated second), %"
               G_GUINT64_FORMAT " jumps, threads waiting %.0f %% of their time\n",
               as->steps, sim_s > 0 ? (double) as->steps / sim_s : 0.0, as->jumps,
               all > 0 ? 100.0 * as->wait_s / all : 0.0);
        return;
    }
    double wait = 0, all = 0;
    for (guint32 i = 0; i < k; i++) {
        wait += sts[i].wait_s;
        all += sts[i].wait_s + sts[i].compute_s + sts[i].exchange_s;
    }
    guint64 windows = sts[0].windows;
    printf(", %" G_GUINT64_FORMAT " windows (%.3g per simulated second), waiting at window ends "
           "%.0f %% of part time\n",
           windows, sim_s > 0 ? (double) windows / sim_s : 0.0, all > 0 ? 100.0 * wait / all : 0.0);
}

/* The Critical path: lines of `--critical-path` (sim/dist/shard_critical.c):
 * what the split could gain at best, measured and counting events alike. */
static void
say_critical_path(guint32 k, const MsShardCriticalStats *c)
{
    printf("Critical path: %" G_GUINT64_FORMAT " events (%" G_GUINT64_FORMAT
           " sent between parts), %.3g s of CPU in all, the busiest part %.3g s\n",
           c->events, c->crossings, c->work_s, c->busiest_s);
    printf("  at best, on %u processors with free synchronisation, against one processor "
           "running the same events: balance alone %.2fx, an oracle %.2fx, waiting for the "
           "lookahead %.2fx (counting events alike: %.2fx, %.2fx, %.2fx)\n",
           k, c->busiest_s > 0 ? c->work_s / c->busiest_s : 1.0,
           c->oracle_s > 0 ? c->work_s / c->oracle_s : 1.0,
           c->lookahead_s > 0 ? c->work_s / c->lookahead_s : 1.0,
           c->busiest_events ? (double) c->events / (double) c->busiest_events : 1.0,
           c->oracle_events ? (double) c->events / (double) c->oracle_events : 1.0,
           c->lookahead_events ? (double) c->events / (double) c->lookahead_events : 1.0);
}

/* `--partition` with `--parts K`: the K parts run in this process, window
 * by window (what MPI ranks do, without MPI), on `threads` threads. */
static int
run_parts_here(const MsScenario *sc, const MsWorldOptions *wo, const MsPartition *p, guint cuts,
               guint threads, gboolean async, gboolean quiet, const Outputs *o, MsTime until,
               const char *stats_path, const DistOptions *d)
{
    guint32 k = ms_partition_parts(p);
    threads = MIN(threads, k);
    /* The parts build each core route table once between them (the
     * caller's share, which outlives the worlds, or one of their own,
     * declared before them). */
    g_autoptr(MsNetRouteShare) routes = wo->route_share ? NULL : ms_net_route_share_new();
    MsWorldOptions shared = *wo;
    if (routes)
        shared.route_share = routes;
    wo = &shared;
    g_autoptr(GPtrArray) worlds = g_ptr_array_new_with_free_func((GDestroyNotify) ms_world_free);
    g_ptr_array_set_size(worlds, k);
    g_autofree Sinks *sinks = g_new0(Sinks, k);
    g_autofree int *rcs = g_new0(int, k);
    int rc = MS_EXIT_OK;
    PartBuilds b = { sc, wo, p, o, (MsWorld **) worlds->pdata, sinks, rcs, 1 };
    worlds->pdata[0] = build_part(sc, *wo, p, 0, o, &sinks[0], &rcs[0]);
    if (worlds->pdata[0]) {
        g_autofree GThread **helpers = g_new0(GThread *, threads);
        for (guint i = 1; i < threads; i++)
            helpers[i] = g_thread_new("mailsim-build", build_parts, &b);
        build_parts(&b);
        for (guint i = 1; i < threads; i++)
            g_thread_join(helpers[i]);
    }
    for (guint32 i = 0; i < k; i++)
        if (!worlds->pdata[i])
            return rcs[i] != MS_EXIT_OK ? rcs[i] : MS_EXIT_FAILED;
    g_autoptr(GError) error = NULL;
    MsWorld *w0 = g_ptr_array_index(worlds, 0);
    /* The lookahead the parts run with, as the MPI path says it (at flow
     * level the connection ends', not the shortest cut link's). */
    if (!quiet) {
        g_autofree char *how =
            g_strdup_printf("in this process on %u thread%s%s", threads, threads == 1 ? "" : "s",
                            async && k > 1 ? " without windows" : "");
        say_partition(sc, p, ms_shard_lookahead(ms_world_shard(w0)), cuts, how);
    }
    MsTime end = until ? until : ms_world_default_until(w0);
    g_autofree MsMpiStats *sts = g_new0(MsMpiStats, k);
    MsShardAsyncStats as = { 0 };
    MsShardCriticalStats cs = { 0 };
    if (d->profile_path) {
        gboolean flow = ms_world_fidelity(w0) == MS_FIDELITY_FLOW;
        MsDistProfileInput in = {
            .scenario = sc, .partition = p, .rates = d->rates, .fidelity = flow ? "flow" : "packet"
        };
        if (!ms_dist_profile_run_parts((MsWorld *const *) worlds->pdata, k, threads, end, &in,
                                       d->profile_path, &error)) {
            fprintf(stderr, "mailsim run: --dist-profile: %s\n", error->message);
            rc = MS_EXIT_FAILED;
            g_clear_error(&error);
        }
    } else if (async) {
        ms_world_run_parts_async((MsWorld *const *) worlds->pdata, k, threads, end, &as);
    } else if (d->critical) {
        g_autofree MsShard **shards = g_new(MsShard *, k);
        for (guint32 i = 0; i < k; i++)
            shards[i] = ms_world_shard(g_ptr_array_index(worlds, i));
        ms_shard_run_critical(shards, k, end, &cs);
    } else {
        g_autofree MsShard **shards = g_new(MsShard *, k);
        for (guint32 i = 0; i < k; i++)
            shards[i] = ms_world_shard(g_ptr_array_index(worlds, i));
        ms_shard_run_threads_profiled(shards, k, threads, end, sts, NULL);
    }
    for (guint32 i = 0; i < k; i++) {
        if (sinks[i].json)
            ms_json_sink_write_ids(sinks[i].json, ms_world_mail(g_ptr_array_index(worlds, i)), i,
                                   k);
        int prc = close_pcap(sinks[i].pcap, o); /* once: MAX() evaluates twice */
        rc = MAX(rc, prc);
    }
    if (!ms_world_merge_parts((MsWorld *const *) worlds->pdata, k, &error)) {
        fprintf(stderr, "mailsim run: %s\n", error->message);
        return MS_EXIT_FAILED;
    }
    g_autoptr(MsStatsTable) t = ms_stats_collect(w0);
    for (guint32 i = 1; i < k; i++) {
        g_autoptr(MsStatsTable) ti = ms_stats_collect_part(g_ptr_array_index(worlds, i));
        g_autoptr(GBytes) v = ms_stats_table_part_values(ti);
        ms_stats_table_add_part(t, v, NULL);
    }
    rc = report(w0, t, NULL, o, stats_path, rc);
    if (d->critical)
        say_critical_path(k, &cs);
    else if (!d->profile_path)
        say_parts_distribution(w0, k, threads, async ? &as : NULL, sts);
    return rc;
}

/* What each rank tells rank 0 after the run. */
typedef struct {
    MsMpiStats st;
    double rss_kb;       /* peak while running */
    double rss_whole_kb; /* peak over the whole run so far */
} RankTotals;

/* The Distribution line's per-rank peaks (MB: while running, whole run),
 * rank 0 first; rank 0's whole-run peak is read now, after the merge and
 * the report. */
static void
say_rank_rss(const RankTotals *rt, guint32 k)
{
    g_autoptr(GString) run = g_string_new(NULL), whole = g_string_new(NULL);
    for (guint32 i = 0; i < k; i++) {
        double w = i == 0 ? (double) ms_cli_peak_rss_kb() : rt[i].rss_whole_kb;
        g_string_append_printf(run, "%s%.0f", i ? ", " : "", rt[i].rss_kb / 1024.0);
        g_string_append_printf(whole, "%s%.0f", i ? ", " : "", w / 1024.0);
    }
    printf(" (per rank, rank 0 first: %s MB; over the whole run: %s MB)", run->str, whole->str);
}

/* ms_mpi_gather_stream()'s ends for the mail records: a rank's export
 * chunks, and rank 0's merge of each. */
static GBytes *
next_chunk(gpointer export)
{
    return ms_mail_export_next(export);
}

static gboolean
take_chunk(guint32 rank, GBytes *chunk, gpointer merge, GError **error)
{
    return ms_mail_merge_add(merge, rank, chunk, error);
}

/* `mpirun -np K mailsim run FILE --partition ...`: this rank runs its part;
 * rank 0 gathers the records and counters and reports. */
static int
run_part_mpi(MsScenario *sc, const MsWorldOptions *wo, const char *spec, const Outputs *o,
             MsTime until, const char *stats_path, DistOptions *d)
{
    g_autoptr(GError) error = NULL;
    MsMpi *mpi = ms_mpi_new(&error);
    if (!mpi)
        return ms_cli_usage("run", "--partition: %s", error->message);
    guint32 rank = ms_mpi_rank(mpi), k = ms_mpi_size(mpi);
    int rc = MS_EXIT_OK;
    /* Every rank measures alike (the pilot is deterministic) and so splits
     * alike, without a word between them. */
    g_autoptr(MsPartition) p = measure(sc, wo, spec, d, until, mpi, &error)
                                   ? make_partition(sc, spec, k, d, &error)
                                   : NULL;
    MsTime lookahead = 0;
    guint cuts = 0;
    if (!p || !ms_world_partition_lookahead(sc, p, &lookahead, &cuts, &error)) {
        if (rank == 0)
            fprintf(stderr, "mailsim run: --partition: %s\n", error->message);
        ms_mpi_free(mpi);
        return MS_EXIT_USAGE;
    }
    Sinks sinks;
    /* This rank's scenario is its own: the build frees the users once its
     * mail stores (or, for the other parts' servers, the lists of names)
     * have them (sim/run/world_partition.c). */
    MsWorldOptions own = *wo;
    own.release_users = sc;
    MsWorld *w = build_part(sc, own, p, rank, o, &sinks, &rc);
    if (!w) {
        /* Every rank builds the same world from the same file: all fail alike. */
        ms_mpi_free(mpi);
        return rc;
    }
    if (rank == 0 && o->narrate)
        print_title(sc, TRUE);
    if (rank == 0) /* the world's own: longer at flow level (include/mailsim/tcp.h) */
        say_partition(sc, p, ms_shard_lookahead(ms_world_shard(w)), cuts,
                      strcmp(spec, "auto") != 0 ? ""
                      : d->rates              ? "(automatic split, weighed by a pilot run)"
                                              : "(automatic split)");
    if (rank == 0 && d->rates && strcmp(spec, "auto") == 0)
        printf("Pilot: %.3g events per simulated second; the split expects the busiest part to "
               "run %.0f %% of them, %.2g %% of the packets to cross parts\n",
               d->rates->events_per_s, 100.0 * d->plan.max_share, 100.0 * d->plan.cut_share);
    MsMpiStats ms;
    MsTime end = until ? until : ms_world_default_until(w);
    g_autoptr(MsMpiProfile) prof = NULL;
    if (d->profile_path)
        prof = ms_mpi_profile_new(rank, k, end == MS_TIME_INFINITE ? 86400 * MS_TIME_S : end, 100);
    gboolean ok = ms_mpi_run_profiled(mpi, ms_world_shard(w), end, &ms, prof, &error);
    long rss_run = ms_cli_peak_rss_kb(); /* before the records are gathered and merged */
    if (!ok)
        fprintf(stderr, "mailsim run: rank %u: %s\n", rank, error->message);
    int prc = close_pcap(sinks.pcap, o); /* once: MAX() evaluates twice */
    rc = MAX(rc, prc);
    if (sinks.json)
        ms_json_sink_write_ids(sinks.json, ms_world_mail(w), rank, k);
    /* The records to rank 0 a chunk at a time, merged as they come: rank 0
     * its own first (freed once exported: the merge replaces them), then
     * each rank's in turn, so that no rank holds a whole export, nor rank 0
     * every rank's (README "Memory per rank"). */
    g_autoptr(GError) merge_error = NULL;
    g_autoptr(MsMailMerge) merge = rank == 0 ? ms_mail_merge_new(ms_world_mail(w), k) : NULL;
    g_autoptr(MsMailExport) export =
        ms_mail_export_new(ms_world_mail(w), MS_MAIL_EXPORT_CHUNK, rank == 0);
    gboolean records_merged =
        ms_mpi_gather_stream(mpi, next_chunk, export, take_chunk, merge, &merge_error) &&
        (rank != 0 || ms_mail_merge_finish(merge, &merge_error));
    g_clear_pointer(&export, ms_mail_export_free);
    g_clear_pointer(&merge, ms_mail_merge_free);
    /* The other ranks' counters, for rank 0's merged statistics. */
    g_autoptr(GBytes) values = NULL;
    if (rank == 0) {
        values = g_bytes_new(NULL, 0);
    } else {
        g_autoptr(MsStatsTable) t = ms_stats_collect_part(w);
        values = ms_stats_table_part_values(t);
    }
    GBytes **all_values = ms_mpi_gather_bytes(mpi, values);
    double wait = ms_mpi_sum_double(mpi, ms.wait_s), wall = ms_mpi_sum_double(mpi, ms.wall_s);
    double rss = ms_mpi_max_double(mpi, (double) rss_run);
    guint64 bytes = ms_mpi_sum_u64(mpi, ms.bytes_sent);
    /* Each rank's totals (and profile) to rank 0, as bytes; its peaks
     * while running and over its whole run (the other ranks have done their
     * largest work by now; rank 0 measures its own after merging). */
    RankTotals mine = { ms, (double) rss_run, (double) ms_cli_peak_rss_kb() };
    g_autoptr(GBytes) mine_b = g_bytes_new(&mine, sizeof mine);
    GBytes **all_stats = ms_mpi_gather_bytes(mpi, mine_b);
    g_autoptr(GBytes) prof_b = prof ? ms_mpi_profile_to_bytes(prof) : g_bytes_new(NULL, 0);
    GBytes **all_prof = ms_mpi_gather_bytes(mpi, prof_b);
    if (rank == 0) {
        if (!records_merged) {
            fprintf(stderr, "mailsim run: %s\n", merge_error->message);
            rc = MS_EXIT_FAILED;
        } else {
            g_autoptr(MsStatsTable) merged = ms_stats_collect(w);
            for (guint32 i = 1; i < k; i++)
                ms_stats_table_add_part(merged, all_values[i], NULL);
            MsTime now = ms_engine_now(ms_world_engine(w));
            rc = report(w, merged, NULL, o, stats_path, rc);
            double sim_s = now > 0 ? ms_time_to_seconds(now) : 0.0;
            printf("\nDistribution: %u ranks, %" G_GUINT64_FORMAT
                   " windows (%.3g per simulated second, %.2f collectives each), waiting at "
                   "window ends %.0f %% of rank "
                   "time, %.3g MB exchanged (%.3g MB per simulated second), peak memory of a rank "
                   "while running %.0f MB",
                   k, ms.windows, sim_s > 0 ? (double) ms.windows / sim_s : 0.0,
                   ms.windows ? (double) ms.collectives / (double) ms.windows : 0.0,
                   wall > 0 ? 100.0 * wait / wall : 0.0, (double) bytes / 1e6,
                   sim_s > 0 ? (double) bytes / 1e6 / sim_s : 0.0, rss / 1024.0);
            g_autofree MsMpiStats *sts = g_new0(MsMpiStats, k);
            g_autofree double *rss_kb = g_new0(double, k);
            g_autofree RankTotals *rts = g_new0(RankTotals, k);
            g_autofree MsMpiProfile **profs = g_new0(MsMpiProfile *, k);
            gboolean have_prof = d->profile_path != NULL;
            for (guint32 i = 0; i < k; i++) {
                gsize n = 0;
                const guint8 *b = g_bytes_get_data(all_stats[i], &n);
                g_assert(n == sizeof mine);
                memcpy(&rts[i], b, sizeof rts[i]);
                sts[i] = rts[i].st;
                rss_kb[i] = rts[i].rss_kb;
                if (have_prof && !(profs[i] = ms_mpi_profile_from_bytes(all_prof[i])))
                    have_prof = FALSE;
            }
            say_rank_rss(rts, k);
            printf("; CPU s per rank:");
            for (guint32 i = 0; i < k; i++)
                printf(" %.1f", sts[i].cpu_s);
            printf("\n");
            if (d->profile_path) {
                gboolean flow = ms_world_fidelity(w) == MS_FIDELITY_FLOW;
                MsDistProfileInput in = { .scenario = sc,
                                          .partition = p,
                                          .rates = d->rates,
                                          .fidelity = flow ? "flow" : "packet",
                                          .end = now,
                                          .ranks = k,
                                          .profiles = profs,
                                          .stats = sts,
                                          .peak_rss_kb = rss_kb,
                                          .transport = "mpi" };
                g_autoptr(GError) perr = NULL;
                if (!have_prof || !ms_dist_profile_write(&in, d->profile_path, &perr)) {
                    fprintf(stderr, "mailsim run: --dist-profile: %s\n",
                            perr ? perr->message : "a rank's profile did not arrive whole");
                    rc = MAX(rc, MS_EXIT_FAILED);
                }
            }
            for (guint32 i = 0; i < k; i++)
                ms_mpi_profile_free(profs[i]);
        }
        for (guint32 i = 0; i < k; i++) {
            g_bytes_unref(all_values[i]);
            g_bytes_unref(all_stats[i]);
            g_bytes_unref(all_prof[i]);
        }
    }
    g_free(all_values);
    g_free(all_stats);
    g_free(all_prof);
    ms_world_free(w);
    ms_mpi_free(mpi);
    return ok ? rc : MS_EXIT_FAILED;
}

int
ms_cmd_run(int argc, char **argv)
{
    const char *cmd = "run";
    g_autofree char *seed_s = NULL, *until_s = NULL, *trace_path = NULL, *pcap_path = NULL,
                    *level_s = NULL, *stats_path = NULL, *partition_s = NULL, *parts_s = NULL,
                    *threads_s = NULL;
    g_autofree char *pilot_s = NULL, *dist_profile = NULL;
    gboolean quiet = FALSE, no_colour = FALSE, keep_records = FALSE, async = FALSE;
    gboolean critical = FALSE;
    g_autofree char *pcap_host = NULL, *fidelity_s = NULL, *keep_s = NULL, *pcap_limit_s = NULL;
    g_autofree char *keylog_path = NULL;
    g_autofree char *resumption_s = NULL;
    g_autofree char *dmarc_dir = NULL;
    g_auto(GStrv) pcap_links = NULL;
    GOptionEntry entries[] = {
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed (default: the scenario's)",
          "N" },
        { "until", 0, 0, G_OPTION_ARG_STRING, &until_s,
          "stop at this simulated time (default: the scenario's)", "TIME" },
        { "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace_path,
          "write every trace record as JSON Lines", "FILE.jsonl" },
        { "pcap", 0, 0, G_OPTION_ARG_FILENAME, &pcap_path, "write a pcapng capture of every packet",
          "FILE.pcapng" },
        { "pcap-host", 0, 0, G_OPTION_ARG_STRING, &pcap_host,
          "capture on one host (id or hostname) instead", "HOST" },
        { "pcap-link", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pcap_links,
          "tap a link instead (repeatable: one interface each)", "A~B" },
        { "pcap-links", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pcap_links, "the same as --pcap-link",
          "A~B" },
        { "pcap-limit", 0, 0, G_OPTION_ARG_STRING, &pcap_limit_s,
          "stop capturing before the file passes this size (e.g. 100MB); the summary says what was "
          "left out",
          "SIZE" },
        { "tls-keylog", 0, 0, G_OPTION_ARG_FILENAME, &keylog_path,
          "write the secrets of every TLS session (SSLKEYLOGFILE format: tshark -o "
          "tls.keylog_file:FILE decrypts the capture)",
          "FILE" },
        { "tls-resumption", 0, 0, G_OPTION_ARG_STRING, &resumption_s,
          "how clients resume TLS sessions with the ticket of the last one (RFC 8446 2.2): "
          "psk_dhe_ke (default, as OpenSSL and GnuTLS clients), psk_ke (no key exchange) or off",
          "MODE" },
        { "stats", 0, 0, G_OPTION_ARG_FILENAME, &stats_path,
          "write the run's statistics (.json or .csv)", "FILE" },
        { "dmarc-reports", 0, 0, G_OPTION_ARG_FILENAME, &dmarc_dir,
          "write the receivers' DMARC aggregate reports (RFC 7489 7.2) into this folder, one XML "
          "file per receiver and domain that asks for them (rua=)",
          "DIR" },
        { "level", 'l', 0, G_OPTION_ARG_STRING, &level_s,
          "narration detail: mail, protocol (default) or packets", "LEVEL" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no narration, only the summary and checks",
          NULL },
        { "no-colour", 0, 0, G_OPTION_ARG_NONE, &no_colour, "plain text even on a terminal", NULL },
        { "fidelity", 0, 0, G_OPTION_ARG_STRING, &fidelity_s,
          "packet (every segment) or flow (computed transfer times); default: the scenario's",
          "LEVEL" },
        { "keep-bodies", 0, 0, G_OPTION_ARG_STRING, &keep_s,
          "yes: keep delivered messages; no: only where a client reads them (default: the "
          "scenario's)",
          "yes|no" },
        { "keep-records", 0, 0, G_OPTION_ARG_NONE, &keep_records,
          "keep every message's record to the end (exact latency quantiles; memory grows with all "
          "mail sent; the default folds finished messages into the statistics unless --trace or "
          "an <expect> about one message needs them)",
          NULL },
        { "partition", 0, 0, G_OPTION_ARG_STRING, &partition_s,
          "split the world into parts (one per MPI rank): auto, mod, block or a partition file",
          "HOW" },
        { "parts", 0, 0, G_OPTION_ARG_STRING, &parts_s,
          "with --partition: run K parts in this process instead of over MPI", "K" },
        { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_s,
          "with --parts: run the parts on N threads (default: one per part, at most one per "
          "processor; the results are the same for every N)",
          "N" },
        { "async", 0, 0, G_OPTION_ARG_NONE, &async,
          "with --parts: one thread per part, each running as far as the others' promises allow "
          "instead of in windows (faster on cores of its own, much slower on a busy machine)",
          NULL },
        { "critical-path", 0, 0, G_OPTION_ARG_NONE, &critical,
          "with --parts: run the parts one event at a time in one thread, timing each, and say "
          "how much faster than one processor the split could run at best (one processor per "
          "part, free synchronisation)",
          NULL },
        { "pilot", 0, 0, G_OPTION_ARG_STRING, &pilot_s,
          "with --partition auto: measure each host's events in a pilot run this long first "
          "(default: a hundredth of the run; 0: guess from the hosts' roles)",
          "TIME" },
        { "dist-profile", 0, 0, G_OPTION_ARG_FILENAME, &dist_profile,
          "with --partition (over MPI or --parts): write a profile of the run's windows as JSON "
          "(for tools/scaling_model.py)",
          "FILE" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("[FILE] - run a scenario and tell what happens");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Without FILE, runs the built-in first lesson (" MS_CLI_DEFAULT_SCENARIO ").\n"
             "Exit status: 0 all expectations pass, 1 one fails, 2 bad usage or input.\n"
             "Distributed: mpirun -np K mailsim run FILE --partition auto|mod|block|FILE\n"
             "runs each part on its own rank (packet or flow level); trace and capture files\n"
             "get .partN per part (mailsim merge joins the traces).\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 2)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[2]);
    guint64 seed = 0;
    if (seed_s && !ms_cli_arg_count(cmd, "--seed", seed_s, &seed))
        return MS_EXIT_USAGE;
    MsTime until = 0;
    if (until_s && !ms_cli_arg_time(cmd, "--until", until_s, &until))
        return MS_EXIT_USAGE;
    /* 0 means "the scenario's end" inside; said on the command line it
     * would run the whole scenario, the opposite of what it says. */
    if (until_s && until == 0)
        return ms_cli_usage(cmd,
                            "--until: '%s': expected a time above 0 (`mailsim validate FILE` "
                            "checks a scenario without running it)",
                            until_s);
    guint64 pcap_limit = 0;
    if (pcap_limit_s && !ms_cli_arg_size(cmd, "--pcap-limit", pcap_limit_s, &pcap_limit))
        return MS_EXIT_USAGE;
    if (pcap_limit_s && pcap_limit == 0)
        return ms_cli_usage(cmd, "--pcap-limit: '%s': expected a size above 0", pcap_limit_s);
    MsNarrateLevel level = MS_NARRATE_PROTOCOL;
    if (level_s && !ms_cli_arg_level(cmd, level_s, &level))
        return MS_EXIT_USAGE;

    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_cli_load_scenario(argc == 2 ? argv[1] : NULL, &error);
    if (!sc) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    /* The authoring warnings of `mailsim validate`, once, on stderr (the
     * narration on stdout stays the run's own), so that a failed <expect>
     * comes with its reason; -q asks for the summary and checks only. */
    g_autoptr(GPtrArray) warnings = quiet ? NULL : ms_scenario_warnings(sc);
    for (guint k = 0; warnings && k < warnings->len; k++)
        fprintf(stderr, "%s\n", (const char *) warnings->pdata[k]);
    MsWorldOptions wo = MS_WORLD_OPTIONS_INIT;
    wo.seed = seed;
    if (fidelity_s && !ms_cli_arg_fidelity(cmd, "--fidelity", fidelity_s, &wo.fidelity))
        return MS_EXIT_USAGE;
    if (keep_s && !ms_cli_arg_yes_no(cmd, "--keep-bodies", keep_s, &wo.keep_bodies))
        return MS_EXIT_USAGE;
    guint64 parts = 0;
    if (parts_s &&
        (!ms_cli_arg_count(cmd, "--parts", parts_s, &parts) || parts == 0 || parts > 4096))
        return parts_s && parts == 0
                   ? ms_cli_usage(cmd, "--parts: '%s': expected 1 to 4096", parts_s)
                   : MS_EXIT_USAGE;
    if (parts_s && !partition_s)
        return ms_cli_usage(cmd, "--parts needs --partition");
    guint64 threads = g_get_num_processors();
    if (threads_s && (!ms_cli_arg_count(cmd, "--threads", threads_s, &threads) || threads == 0 ||
                      threads > 4096))
        return threads_s && threads == 0
                   ? ms_cli_usage(cmd, "--threads: '%s': expected 1 to 4096", threads_s)
                   : MS_EXIT_USAGE;
    if ((threads_s || async) && !parts_s)
        return ms_cli_usage(cmd, "%s needs --parts", async ? "--async" : "--threads");
    if (async && dist_profile)
        return ms_cli_usage(cmd, "--dist-profile records windows: not with --async");
    if (critical && !parts_s)
        return ms_cli_usage(cmd, "--critical-path needs --parts");
    if (critical && (async || dist_profile))
        return ms_cli_usage(cmd, "--critical-path runs the parts its own way: not with %s",
                            async ? "--async" : "--dist-profile");
    /* Outputs named in the file apply when the command line names none. */
    const MsScenarioOutput *so =
        sc->outputs->len ? &g_array_index(sc->outputs, MsScenarioOutput, 0) : NULL;
    if (!trace_path && so && so->trace)
        trace_path = g_strdup(so->trace);
    if (!pcap_path && so && so->pcap)
        pcap_path = g_strdup(so->pcap);
    if (!stats_path && so && so->stats)
        stats_path = g_strdup(so->stats);
    if (stats_path && !g_str_has_suffix(stats_path, ".json") &&
        !g_str_has_suffix(stats_path, ".csv"))
        return ms_cli_usage(cmd, "--stats: '%s': expected a file name ending in .json or .csv",
                            stats_path);
    /* Finished messages are folded into the statistics unless an output
     * reads their records afterwards: the trace (for mailsim render and
     * merge). The world itself says no for expectations about single
     * messages and for partitioned runs. */
    wo.fold_records = !keep_records && !trace_path;
    Outputs o = { trace_path, pcap_path,  pcap_host, pcap_limit_s,
                  pcap_links, pcap_limit, !quiet,    !no_colour && isatty(STDOUT_FILENO),
                  level,      dmarc_dir };
    if (!quiet && !(partition_s && !parts_s))
        print_title(sc, partition_s != NULL);
    if (keylog_path && partition_s)
        return ms_cli_usage(cmd, "--tls-keylog is for a run in one piece (no --partition)");
    if (resumption_s && partition_s)
        return ms_cli_usage(cmd, "--tls-resumption is for a run in one piece (no --partition)");
    if (resumption_s && strcmp(resumption_s, "psk_dhe_ke") != 0 &&
        strcmp(resumption_s, "psk_ke") != 0 && strcmp(resumption_s, "off") != 0)
        return ms_cli_usage(cmd, "--tls-resumption: '%s' is not psk_dhe_ke, psk_ke or off",
                            resumption_s);
    DistOptions dist = { 0 };
    dist.profile_path = dist_profile;
    dist.critical = critical;
    if (pilot_s) {
        if (!ms_cli_arg_time(cmd, "--pilot", pilot_s, &dist.pilot))
            return MS_EXIT_USAGE;
        dist.pilot_set = TRUE;
    }
    if ((pilot_s || dist_profile) && !partition_s)
        return ms_cli_usage(cmd, "%s needs --partition", pilot_s ? "--pilot" : "--dist-profile");
    if (partition_s && !parts_s) {
        int mrc = run_part_mpi(sc, &wo, partition_s, &o, until, stats_path, &dist);
        ms_world_rates_free(dist.rates);
        return mrc;
    }
    if (partition_s) {
        /* The pilot's world and the parts build each core route table once
         * between them (a table depends on the topology alone); freed
         * after every world (declared before them). */
        g_autoptr(MsNetRouteShare) routes = ms_net_route_share_new();
        wo.route_share = routes;
        g_autoptr(MsWorldRates) rates = NULL;
        if (!measure(sc, &wo, partition_s, &dist, until, NULL, &error))
            return ms_cli_usage(cmd, "--pilot: %s", error->message);
        rates = dist.rates;
        g_autoptr(MsPartition) p =
            make_partition(sc, partition_s, (guint32) parts, &dist, &error);
        MsTime lookahead;
        guint cuts;
        if (!p || !ms_world_partition_lookahead(sc, p, &lookahead, &cuts, &error))
            return ms_cli_usage(cmd, "--partition: %s", error->message);
        return run_parts_here(sc, &wo, p, cuts, (guint) threads, async, quiet, &o, until,
                              stats_path, &dist);
    }
    wo.release_users = sc; /* this run is the scenario's only reader */
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &wo, &error);
    if (!w) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    Sinks sinks;
    int rc = attach_outputs(w, sc, &o, -1, &sinks);
    if (rc != MS_EXIT_OK)
        return rc;
    if (resumption_s)
        ms_mail_set_tls_resumption(ms_world_mail(w), strcmp(resumption_s, "off") != 0,
                                   strcmp(resumption_s, "psk_ke") == 0 ? MS_TLS_PSK_KE
                                                                       : MS_TLS_PSK_DHE_KE);
    FILE *keylog = NULL;
    if (keylog_path) {
        keylog = fopen(keylog_path, "w");
        if (!keylog) {
            fprintf(stderr, "mailsim run: --tls-keylog: cannot write '%s': %s\n", keylog_path,
                    g_strerror(errno));
            return MS_EXIT_USAGE;
        }
        ms_mail_set_tls_keylog(ms_world_mail(w), keylog_line, keylog);
    }
    run_with_progress(w, until ? until : ms_world_default_until(w), isatty(STDERR_FILENO));
    if (keylog && fclose(keylog) != 0) {
        fprintf(stderr, "mailsim run: --tls-keylog: '%s': %s\n", keylog_path, g_strerror(errno));
        rc = MS_EXIT_FAILED;
    }
    int prc = close_pcap(sinks.pcap, &o); /* once: MAX() evaluates twice */
    rc = MAX(rc, prc);
    g_autoptr(MsStatsTable) t = ms_stats_collect(w);
    return report(w, t, sinks.pcap, &o, stats_path, rc);
}

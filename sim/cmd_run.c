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

#include <stdio.h>
#include <string.h>
#include <unistd.h>


static void
print_summary(MsWorld *w, const MsPcapSink *pcap, const char *limit_s, FILE *out)
{
    MsMail *m = ms_world_mail(w);
    MsMailStats st;
    ms_mail_get_stats(m, &st);
    MsEngineStats es;
    ms_engine_get_stats(ms_world_engine(w), &es);
    MsNetStats ns;
    ms_net_get_stats(ms_world_net(w), &ns);
    MsTcpStats ts;
    ms_tcp_get_stats(ms_world_tcp(w), &ts);
    g_autofree char *now = ms_time_to_string(ms_engine_now(ms_world_engine(w)));
    fprintf(out, "\nSummary at t=%s\n", now);
    fprintf(out, "  messages: %u submitted, %u bounce%s (DSN)\n", st.messages, st.dsns, st.dsns == 1 ? "" : "s");
    fprintf(out, "  recipients: %u delivered, %u bounced, %u still queued, %u refused at submission\n",
            st.delivered, st.bounced, st.queued, st.refused);
    fprintf(out, "  retrieved by POP3: %u; delivery attempts (all servers): %u; deferrals: %u\n", st.retrieved, st.attempts, st.deferrals);
    fprintf(out, "  sessions: %" G_GUINT64_FORMAT " SMTP, %" G_GUINT64_FORMAT " POP3; TCP: %" G_GUINT64_FORMAT
                 " connections, %" G_GUINT64_FORMAT " segments, %" G_GUINT64_FORMAT " retransmitted\n",
            st.smtp_sessions, st.pop3_sessions, ts.connections, ts.segments, ts.retransmits);
    MsLatencyStats lat;
    ms_stats_latency(w, &lat);
    if (lat.n)
        fprintf(out, "  delivery latency over %u recipient%s: mean %.3f s, p50 %.3f s, p95 %.3f s, p99 %.3f s, max %.3f s\n",
                lat.n, lat.n == 1 ? "" : "s", lat.mean, lat.p50, lat.p95, lat.p99, lat.max);
    fprintf(out, "  packets: %" G_GUINT64_FORMAT " sent, %" G_GUINT64_FORMAT " forwarded by routers, %" G_GUINT64_FORMAT
                 " delivered, %" G_GUINT64_FORMAT " dropped\n", ns.sent, ns.forwarded, ns.delivered, ns.dropped);
    if (pcap) {
        MsPcapCounts pc;
        ms_pcap_sink_get_counts(pcap, &pc);
        fprintf(out, "  capture: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " B", pc.written, pc.bytes);
        if (pc.left_out) {
            char t[32];
            ms_time_format_seconds(pc.first_left_out, t, sizeof t);
            fprintf(out, "; %" G_GUINT64_FORMAT " left out from t=%s s on (--pcap-limit %s reached)", pc.left_out, t,
                    limit_s);
        }
        fprintf(out, "\n");
    }
    guint shown = 0, limit = 20;
    for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
        const MsMessageRecord *r = ms_mail_message(m, id);
        if (++shown > limit) {
            fprintf(out, "  ... and %u more message%s (--stats FILE for all figures)\n", ms_mail_n_messages(m) - limit,
                    ms_mail_n_messages(m) - limit == 1 ? "" : "s");
            break;
        }
        for (guint k = 0; k < r->rcpts->len; k++) {
            const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
            g_autofree char *took = rr->done_at ? ms_time_to_string(rr->done_at - r->created_at) : g_strdup("-");
            fprintf(out, "  %-8s -> %-28s %-9s after %-10s hops %u, attempts %u%s%s\n", r->label, rr->address,
                    ms_rcpt_state_to_string(rr->state), took, rr->hops, rr->attempts,
                    rr->state == MS_RCPT_BOUNCED ? ", status " : "", rr->state == MS_RCPT_BOUNCED ? rr->status : "");
        }
    }
    fprintf(out, "  run fingerprint: %016" G_GINT64_MODIFIER "x (%" G_GUINT64_FORMAT " events)\n",
            ms_engine_fingerprint(ms_world_engine(w)), es.processed);
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
                    (double) st.processed / ((double) (now - start) / 1e6), ms.delivered, ms.bounced, ms.queued);
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

int
ms_cmd_run(int argc, char **argv)
{
    const char *cmd = "run";
    g_autofree char *seed_s = NULL, *until_s = NULL, *trace_path = NULL, *pcap_path = NULL, *level_s = NULL,
                    *stats_path = NULL;
    gboolean quiet = FALSE, no_colour = FALSE;
    g_autofree char *pcap_host = NULL, *fidelity_s = NULL, *keep_s = NULL, *pcap_limit_s = NULL;
    g_auto(GStrv) pcap_links = NULL;
    GOptionEntry entries[] = {
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed (default: the scenario's)", "N" },
        { "until", 0, 0, G_OPTION_ARG_STRING, &until_s, "stop at this simulated time (default: the scenario's)", "TIME" },
        { "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace_path, "write every trace record as JSON Lines", "FILE.jsonl" },
        { "pcap", 0, 0, G_OPTION_ARG_FILENAME, &pcap_path, "write a pcapng capture of every packet", "FILE.pcapng" },
        { "pcap-host", 0, 0, G_OPTION_ARG_STRING, &pcap_host, "capture on one host (id or hostname) instead", "HOST" },
        { "pcap-link", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pcap_links, "tap a link instead (repeatable: one interface each)", "A~B" },
        { "pcap-links", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pcap_links, "the same as --pcap-link", "A~B" },
        { "pcap-limit", 0, 0, G_OPTION_ARG_STRING, &pcap_limit_s, "stop capturing before the file passes this size (e.g. 100MB); the summary says what was left out", "SIZE" },
        { "stats", 0, 0, G_OPTION_ARG_FILENAME, &stats_path, "write the run's statistics (.json or .csv)", "FILE" },
        { "level", 'l', 0, G_OPTION_ARG_STRING, &level_s, "narration detail: mail, protocol (default) or packets", "LEVEL" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no narration, only the summary and checks", NULL },
        { "no-colour", 0, 0, G_OPTION_ARG_NONE, &no_colour, "plain text even on a terminal", NULL },
        { "fidelity", 0, 0, G_OPTION_ARG_STRING, &fidelity_s, "packet (every segment) or flow (computed transfer times); default: the scenario's", "LEVEL" },
        { "keep-bodies", 0, 0, G_OPTION_ARG_STRING, &keep_s, "yes: keep delivered messages; no: only where a client reads them (default: the scenario's)", "yes|no" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("[FILE] - run a scenario and tell what happens");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx, "Without FILE, runs the built-in first lesson (" MS_CLI_DEFAULT_SCENARIO ").\n"
                                           "Exit status: 0 all expectations pass, 1 one fails, 2 bad usage or input.\n");
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
    MsWorldOptions wo = MS_WORLD_OPTIONS_INIT;
    wo.seed = seed;
    if (fidelity_s && !ms_cli_arg_fidelity(cmd, "--fidelity", fidelity_s, &wo.fidelity))
        return MS_EXIT_USAGE;
    if (keep_s && !ms_cli_arg_yes_no(cmd, "--keep-bodies", keep_s, &wo.keep_bodies))
        return MS_EXIT_USAGE;
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &wo, &error);
    if (!w) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    MsNet *net = ms_world_net(w);
    MsTrace *trace = ms_net_trace(net);
    if (!quiet) {
        gboolean colour = !no_colour && isatty(STDOUT_FILENO);
        ms_trace_add_sink(trace, ms_narrator_record, ms_narrator_new(net, stdout, level, colour), ms_narrator_free);
    }
    /* Outputs named in the file apply when the command line names none. */
    const MsScenarioOutput *o = sc->outputs->len ? &g_array_index(sc->outputs, MsScenarioOutput, 0) : NULL;
    if (!trace_path && o && o->trace)
        trace_path = g_strdup(o->trace);
    if (!pcap_path && o && o->pcap)
        pcap_path = g_strdup(o->pcap);
    if (!stats_path && o && o->stats)
        stats_path = g_strdup(o->stats);
    if (stats_path && !g_str_has_suffix(stats_path, ".json") && !g_str_has_suffix(stats_path, ".csv"))
        return ms_cli_usage(cmd, "--stats: '%s': expected a file name ending in .json or .csv", stats_path);
    if (trace_path) {
        MsJsonSink *js = ms_json_sink_new(net, trace_path, &error);
        if (!js) {
            fprintf(stderr, "mailsim run: --trace: %s\n", error->message);
            return MS_EXIT_USAGE;
        }
        ms_trace_add_sink(trace, ms_json_sink_record, js, ms_json_sink_free);
    }
    MsPcapSink *pcap = NULL;
    if (pcap_path) {
        pcap = ms_pcap_sink_new(net, pcap_path, &error);
        if (!pcap) {
            fprintf(stderr, "mailsim run: --pcap: %s\n", error->message);
            return MS_EXIT_USAGE;
        }
        ms_trace_add_sink(trace, ms_pcap_sink_record, pcap, ms_pcap_sink_free);
        if (pcap_limit && !ms_pcap_sink_set_limit(pcap, pcap_limit, &error))
            return ms_cli_usage(cmd, "--pcap-limit: '%s': %s", pcap_limit_s, error->message);
        if (pcap_host) {
            MsHostId h = find_host(sc, net, pcap_host);
            if (h == G_MAXUINT32)
                return ms_cli_usage(cmd, "--pcap-host: no host '%s' in %s", pcap_host, sc->path);
            ms_pcap_sink_set_host(pcap, h);
        }
        for (char **l = pcap_links; l && *l; l++) {
            guint32 link = find_link(sc, net, *l);
            if (link == G_MAXUINT32)
                return ms_cli_usage(cmd, "--pcap-link: no link '%s' in %s: expected A~B with two host ids or names",
                                    *l, sc->path);
            ms_pcap_sink_add_link(pcap, link);
        }
    } else if (pcap_host || pcap_links || pcap_limit_s) {
        return ms_cli_usage(cmd, "--pcap-host, --pcap-link and --pcap-limit need --pcap FILE");
    }
    if (!quiet) {
        printf("%s\n", sc->title[0] ? sc->title : sc->name);
        if (sc->description[0]) {
            g_autofree char *d = g_strstrip(g_strdup(sc->description));
            printf("%s\n", d);
        }
        printf("\n");
    }
    run_with_progress(w, until ? until : ms_world_default_until(w), isatty(STDERR_FILENO));
    int rc = MS_EXIT_OK;
    if (pcap && !ms_pcap_sink_close(pcap, &error)) {
        fprintf(stderr, "mailsim run: --pcap: %s\n", error->message);
        rc = MS_EXIT_FAILED;
        g_clear_error(&error);
    }
    if (pcap) {
        MsPcapCounts pc;
        ms_pcap_sink_get_counts(pcap, &pc);
        if (pc.left_out) {
            char t[32];
            ms_time_format_seconds(pc.first_left_out, t, sizeof t);
            fprintf(stderr, "mailsim run: --pcap: the capture reached --pcap-limit %s at t=%s s: %" G_GUINT64_FORMAT
                            " packet%s from then on left out of %s (%" G_GUINT64_FORMAT " written)\n",
                    pcap_limit_s, t, pc.left_out, pc.left_out == 1 ? "" : "s", pcap_path, pc.written);
        }
    }
    if (stats_path && !ms_stats_write(w, stats_path, &error)) {
        fprintf(stderr, "mailsim run: --stats: %s\n", error->message);
        rc = MS_EXIT_FAILED;
        g_clear_error(&error);
    }
    print_summary(w, pcap, pcap_limit_s, stdout);
    g_autoptr(GString) checks = g_string_new(NULL);
    gboolean ok = ms_world_check(w, checks);
    if (checks->len)
        printf("\nChecks\n%s", checks->str);
    fflush(stdout);
    return ok ? rc : MS_EXIT_FAILED;
}

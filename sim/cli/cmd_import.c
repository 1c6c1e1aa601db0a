/* `mailsim import FILE`: reads a real network or AS graph (GraphML, GML,
 * CAIDA AS relationships, BRITE; include/mailsim/topology.h) and writes it
 * as a plain scenario file: routers and links, and with --domains the mail
 * of a generated world placed on them, so the result can be read, edited,
 * diffed and run without the original file. Warnings of the importer go to
 * stderr as "FILE:LINE: warning: ..."; a bad file gives its errors and exit
 * status 2. */
#include "mailsim/cli.h"
#include "mailsim/engine.h"
#include "mailsim/net.h"
#include "mailsim/topology.h"

#include <stdio.h>
#include <string.h>

/* --bench-routing N: the imported routers and links as a bare network
 * (no mail), next-hop tables built for N destinations spread evenly over
 * the routers, under each metric (policy only for AS graphs); one line per
 * metric with the time per table and the bytes the tables hold. */
static void
bench_routing(const MsTopology *t, guint tables, double import_s)
{
    printf("import: format=%s nodes=%u links=%u warnings=%u seconds=%.3f\n",
           ms_topology_format_to_string(t->format), t->nodes->len, t->edges->len, t->warnings->len,
           import_s);
    MsRouteMetric metrics[] = { MS_ROUTE_BY_LATENCY, MS_ROUTE_BY_HOPS, MS_ROUTE_BY_POLICY };
    const char *names[] = { "latency", "hops", "policy" };
    for (guint m = 0; m < G_N_ELEMENTS(metrics); m++) {
        if (metrics[m] == MS_ROUTE_BY_POLICY && !t->is_as_graph)
            continue;
        MsEngine *e = ms_engine_new(1);
        MsNet *net = ms_net_new(e);
        for (guint i = 0; i < t->nodes->len; i++) {
            const MsTopologyNode *n = &g_array_index(t->nodes, MsTopologyNode, i);
            char name[32];
            g_snprintf(name, sizeof name, "r%u", i);
            MsHostId h = ms_net_add_host(net, name, 0x0A000001u + i, MS_ROLE_ROUTER, NULL);
            if (n->asn)
                ms_net_set_host_as(net, h, n->asn);
        }
        for (guint i = 0; i < t->edges->len; i++) {
            const MsTopologyEdge *ed = &g_array_index(t->edges, MsTopologyEdge, i);
            MsLinkParams lp = { ed->latency, ed->speed_bps, 1500, 0.0, 65536 };
            guint32 l = ms_net_add_link(net, ed->a, ed->b, &lp, NULL);
            if (ed->rel != MS_TOPOLOGY_REL_NONE)
                ms_net_set_link_relation(net, l,
                                         ed->rel == MS_TOPOLOGY_REL_PEER
                                             ? MS_NET_REL_PEER
                                             : MS_NET_REL_PROVIDER_CUSTOMER);
        }
        ms_net_set_metric(net, metrics[m]);
        guint nn = t->nodes->len, k = MIN(tables, nn);
        guint64 hops = 0, reached = 0;
        gint64 t0 = g_get_monotonic_time();
        for (guint i = 0; i < k; i++) {
            MsHostId dst = (MsHostId) ((guint64) i * nn / k);
            g_autoptr(GArray) path = ms_net_route_path(net, 0, dst);
            if (path->len) {
                reached++;
                hops += path->len - 1;
            }
        }
        double s = (double) (g_get_monotonic_time() - t0) / 1e6;
        gsize bytes = ms_net_routing_bytes(net);
        printf("routing: metric=%s hosts=%u tables=%u reached=%" G_GUINT64_FORMAT
               " mean_hops=%.2f ms_per_table=%.2f bytes=%" G_GSIZE_FORMAT
               " bytes_per_table=%" G_GSIZE_FORMAT "\n",
               names[m], nn, k, reached, reached ? (double) hops / reached : 0.0,
               k ? s * 1e3 / k : 0.0, bytes, k ? bytes / k : 0);
        ms_net_free(net);
        ms_engine_free(e);
    }
}

int
ms_cmd_import(int argc, char **argv)
{
    const char *cmd = "import";
    g_autofree char *format = NULL, *out = NULL, *name = NULL, *pops = NULL, *domains = NULL,
                    *users = NULL, *messages = NULL, *duration = NULL, *seed = NULL,
                    *placement = NULL, *bench = NULL;
    GOptionEntry entries[] = {
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
          "graphml, gml, caida-asrel or brite (default: from the file name)", "F" },
        { "pops", 0, 0, G_OPTION_ARG_STRING, &pops,
          "AS graphs: routers per AS, joined in a ring (default 1)", "N" },
        { "domains", 0, 0, G_OPTION_ARG_STRING, &domains,
          "place this many mail domains on the routers (default: routers only)", "D" },
        { "users", 0, 0, G_OPTION_ARG_STRING, &users,
          "users over all domains (default 100 per domain)", "U" },
        { "messages", 0, 0, G_OPTION_ARG_STRING, &messages,
          "messages expected over the duration (default 10 per user)", "M" },
        { "duration", 0, 0, G_OPTION_ARG_STRING, &duration, "how long traffic lasts (default 1d)",
          "TIME" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "placement seed (default 1)", "S" },
        { "placement", 0, 0, G_OPTION_ARG_STRING, &placement,
          "population (default: by node population, else degree) or even", "HOW" },
        { "bench-routing", 0, 0, G_OPTION_ARG_STRING, &bench,
          "instead of writing: time the import and build routing tables to N destinations, "
          "under each metric",
          "N" },
        { "name", 0, 0, G_OPTION_ARG_STRING, &name, "scenario name (default: the file's)", "NAME" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "write to FILE instead of standard output",
          "FILE" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("FILE - write a real network or AS graph as a scenario");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Formats: GraphML and GML as the Internet Topology Zoo publishes them, CAIDA\n"
             "AS relationships (serial-1 and serial-2), BRITE's text output. Missing\n"
             "coordinates, speeds, parallel edges, self-loops and disconnected parts are\n"
             "handled by the rules of the README's 'Real topologies' section, each with a\n"
             "'FILE:LINE: warning:' on stderr. AS graphs get routing=\"policy\".\n"
             "Exit status: 0 on success, 2 for a bad file or bad arguments.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc < 2)
        return ms_cli_usage(cmd, "missing FILE: expected a topology file");
    if (argc > 2)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[2]);
    const char *file = argv[1];
    MsTopologyFormat f;
    if (format ? !ms_topology_format_from_string(format, &f) : !ms_topology_format_guess(file, &f))
        return ms_cli_usage(cmd,
                            format ? "--format: '%s' is not a format: expected graphml, gml, "
                                     "caida-asrel or brite"
                                   : "%s: the file name does not say its format: give --format "
                                     "graphml, gml, caida-asrel or brite",
                            format ? format : file);
    struct {
        const char *opt, *val;
        guint64 lo, max;
    } counts[] = {
        { "--domains", domains, 1, 1000000 },
        { "--users", users, 0, 100000000 },
        { "--messages", messages, 0, 1000000000 },
        { "--seed", seed, 0, G_MAXUINT64 },
        { "--pops", pops, 1, 64 },
        { "--bench-routing", bench, 1, 1000000 },
    };
    guint64 vals[G_N_ELEMENTS(counts)] = { 0 };
    for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
        if (!counts[i].val)
            continue;
        if (!ms_cli_arg_count(cmd, counts[i].opt, counts[i].val, &vals[i]))
            return MS_EXIT_USAGE;
        if (vals[i] < counts[i].lo || vals[i] > counts[i].max)
            return ms_cli_usage(
                cmd, "%s: '%s' out of range: expected %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                counts[i].opt, counts[i].val, counts[i].lo, counts[i].max);
    }
    MsGenParams p = { 0 };
    p.domains = (guint32) vals[0];
    p.users = vals[1];
    p.messages = vals[2];
    p.seed = seed ? vals[3] : 1;
    if (duration && (!ms_cli_arg_time(cmd, "--duration", duration, &p.duration) || p.duration <= 0))
        return p.duration <= 0 && duration
                   ? ms_cli_usage(cmd, "--duration: must be greater than zero")
                   : MS_EXIT_USAGE;
    if (placement && strcmp(placement, "even") != 0 && strcmp(placement, "population") != 0)
        return ms_cli_usage(cmd, "--placement: '%s': expected population or even", placement);
    g_autoptr(GError) error = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_autoptr(MsTopology) t = ms_topology_load_file(file, f, &error);
    if (!t) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    if (bench) {
        bench_routing(t, (guint) vals[5], (double) (g_get_monotonic_time() - t0) / 1e6);
        return MS_EXIT_OK;
    }
    for (guint i = 0; i < t->warnings->len; i++)
        fprintf(stderr, "%s\n", (const char *) t->warnings->pdata[i]);
    g_autofree char *base = g_path_get_basename(file);
    char *dot = strchr(base, '.');
    if (dot && dot != base)
        *dot = '\0';
    g_autofree char *scname = g_strdup(name ? name : base);
    g_strcanon(scname, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", '-');
    ms_gen_params_defaults(&p);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<scenario version=\"1\" name=\"%s\"",
                           scname);
    if (domains)
        g_string_append_printf(s, " seed=\"%" G_GUINT64_FORMAT "\" until=\"%" G_GINT64_FORMAT "s\"",
                               p.seed, (p.duration + 2 * MS_TIME_H) / MS_TIME_S);
    if (t->is_as_graph)
        g_string_append(s, " routing=\"policy\"");
    g_string_append_printf(s, ">\n  <title>%s imported from %s: %u %s, %u links</title>\n", scname,
                           ms_topology_format_to_string(f), t->nodes->len,
                           t->is_as_graph ? "ASes" : "routers", t->edges->len);
    ms_topology_append_world(t, (guint32) MAX(vals[4], 1u), domains ? &p : NULL,
                             placement && strcmp(placement, "even") == 0, 0, s);
    g_string_append(s, "</scenario>\n");
    g_autofree char *doc = g_string_free(s, FALSE);
    if (out) {
        if (!g_file_set_contents(out, doc, -1, &error)) {
            fprintf(stderr, "mailsim import: %s\n", error->message);
            return MS_EXIT_USAGE;
        }
        return MS_EXIT_OK;
    }
    fputs(doc, stdout);
    return MS_EXIT_OK;
}

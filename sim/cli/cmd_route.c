/* `mailsim route FILE FROM TO`: which path packets from one host to another
 * take in a scenario's world, hop by hop, and why: under routing="policy"
 * the AS path, the class of route and the shorter routes the Gao-Rexford
 * preferences overrode (ms_net_route_explain, sim/net/routing_policy.c);
 * under the other metrics the shortest path. --routing compares metrics on
 * the same world. Exit status 0 when a route exists, 1 when none does, 2
 * for bad usage or a bad file. */
#include "mailsim/cli.h"
#include "mailsim/net.h"
#include "mailsim/world.h"

#include <stdio.h>
#include <string.h>

int
ms_cmd_route(int argc, char **argv)
{
    const char *cmd = "route";
    g_autofree char *routing = NULL;
    GOptionEntry entries[] = {
        { "routing", 0, 0, G_OPTION_ARG_STRING, &routing,
          "latency, hops or policy (default: the scenario's)", "METRIC" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("FILE FROM TO - show the route between two hosts and why");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc != 4)
        return ms_cli_usage(cmd, "expected FILE FROM TO (host ids of the scenario)");
    MsRouteMetric metric = MS_ROUTE_BY_LATENCY;
    if (routing) {
        if (!strcmp(routing, "hops"))
            metric = MS_ROUTE_BY_HOPS;
        else if (!strcmp(routing, "policy"))
            metric = MS_ROUTE_BY_POLICY;
        else if (strcmp(routing, "latency") != 0)
            return ms_cli_usage(cmd, "--routing: '%s': expected latency, hops or policy", routing);
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(MsScenario) sc = ms_scenario_load_file(argv[1], &error);
    if (!sc) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    gint from = ms_scenario_find_host(sc, argv[2]), to = ms_scenario_find_host(sc, argv[3]);
    if (from < 0 || to < 0)
        return ms_cli_usage(cmd, "no host '%s' in %s", from < 0 ? argv[2] : argv[3], argv[1]);
    MsWorld *w = ms_world_new(sc, 0, &error);
    if (!w) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    MsNet *net = ms_world_net(w);
    if (routing)
        ms_net_set_metric(net, metric);
    /* Hosts are added to the network in scenario order: the ids agree. */
    g_autoptr(GArray) path = ms_net_route_path(net, (MsHostId) from, (MsHostId) to);
    for (guint i = 0; i < path->len; i++) {
        MsHostId h = g_array_index(path, MsHostId, i);
        const MsScenarioHost *sh = &g_array_index(sc->hosts, MsScenarioHost, h);
        guint32 asn = ms_net_host_as(net, h);
        g_autofree char *as_label = g_strdup_printf("AS%u", asn);
        printf("%2u  %-16s %s", i, sh->id, sh->label ? sh->label : "");
        if (asn && g_strcmp0(sh->label, as_label) != 0)
            printf("  AS %u", asn);
        printf("\n");
    }
    g_autofree char *why = ms_net_route_explain(net, (MsHostId) from, (MsHostId) to);
    printf("%s\n", why);
    int rc = path->len > 0 ? MS_EXIT_OK : MS_EXIT_FAILED;
    ms_world_free(w);
    return rc;
}

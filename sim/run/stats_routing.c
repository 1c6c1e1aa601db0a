/* Routing studies for run statistics (include/mailsim/stats.h): how the
 * routes the run's metric chose compare with the shortest-latency routes,
 * over the paths delivered mail took. (Which links carried the most is
 * ranked where the table is written, sim/run/stats.c, from the link rows
 * after a partitioned run's parts are added up.)
 *
 * Design. A delivered recipient's path is taken as the route from the
 * message's origin (the sending client, or the bouncing server for a DSN)
 * to the server that stored it, as the network routes it at the end of the
 * run (after the faults that ended; the relays and MX hops between are on
 * that route or near it, so this is the end-to-end view a researcher
 * compares routings by). Its hop count and latency (the sum of its links'
 * latencies) come from the run's own tables; the shortest possible latency
 * over the links that are up from ms_net_latency_distance() (a search of
 * the core per destination's root while tree routing is in use, of the
 * whole graph per destination otherwise); the stretch is their ratio (1 when the metric is
 * latency, above 1 where policy or hop count cost latency).
 *
 * Costs: one search per distinct destination (of the core hosts only in
 * a world of trees, else O(E log V) each), for at most
 * MS_STATS_ROUTING_MAX_DESTINATIONS destinations (the lowest host ids; the
 * figure `destinations_left_out` says how many were not measured), plus
 * one route walk per distinct (origin, destination) path. Deterministic:
 * paths in (destination, origin) order, each counted as often as
 * recipients took it. With folded records (a run that frees finished
 * messages, include/mailsim/mail.h) the paths come as counts; the figures
 * are the same. */
#include "mailsim/stats.h"
#include "mailsim/mail.h"
#include "mailsim/net.h"

#include <string.h>

static gint
host_cmp(gconstpointer a, gconstpointer b)
{
    MsHostId x = *(const MsHostId *) a, y = *(const MsHostId *) b;
    return x < y ? -1 : x > y;
}

/* By storing server, then origin (the count plays no part). */
static gint
pair_cmp(gconstpointer a, gconstpointer b)
{
    const MsMailPathCount *x = a, *y = b;
    if (x->where != y->where)
        return x->where < y->where ? -1 : 1;
    return x->origin < y->origin ? -1 : (x->origin > y->origin);
}

static void
summarise(GArray *v, double *mean, double *p50, double *p95, double *max)
{
    double sum = 0;
    for (guint i = 0; i < v->len; i++)
        sum += g_array_index(v, double, i);
    double *d = (double *) v->data;
    *mean = v->len ? sum / v->len : 0;
    *p50 = ms_stats_percentile(d, v->len, 0.50);
    *p95 = ms_stats_percentile(d, v->len, 0.95);
    *max = v->len ? d[v->len - 1] : 0;
}

/* Adds n copies of v. */
static void
append_n(GArray *a, double v, guint32 n)
{
    for (guint32 i = 0; i < n; i++)
        g_array_append_val(a, v);
}

void
ms_stats_routing(MsWorld *w, MsRoutingStats *out)
{
    ms_stats_routing_paths(w, out, NULL, NULL, NULL);
}

void
ms_stats_routing_paths(MsWorld *w, MsRoutingStats *out, GArray *stretch_out, GArray *hops_out,
                       GArray *latency_out)
{
    memset(out, 0, sizeof *out);
    MsMail *m = ms_world_mail(w);
    MsNet *net = ms_world_net(w);
    /* The delivered paths: those of the live records, then the counts the
     * folded ones left (a run that folds records, mail.h), which keep the
     * lowest MS_MAIL_PATH_DESTINATIONS storing servers: all that is
     * measured here. */
    g_autoptr(GArray) paths = g_array_new(FALSE, FALSE, sizeof(MsMailPathCount));
    g_autoptr(GArray) wheres = g_array_new(FALSE, FALSE, sizeof(MsHostId));
    for (guint id = 1; id <= ms_mail_n_messages(m); id++) {
        const MsMessageRecord *r = ms_mail_message(m, id);
        for (guint k = 0; r && k < r->rcpts->len; k++) {
            const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
            if (rr->state == MS_RCPT_DELIVERED && rr->where != r->origin) {
                g_array_append_val(paths, ((MsMailPathCount){ rr->where, r->origin, 1 }));
                g_array_append_val(wheres, rr->where);
            }
        }
    }
    ms_mail_folded_paths(m, wheres, paths);
    g_array_sort(paths, pair_cmp);
    g_array_sort(wheres, host_cmp);
    /* Destinations in host order: the first MS_STATS_ROUTING_MAX_DESTINATIONS
     * are measured, the others counted. */
    guint dests = 0;
    MsHostId last_measured = 0;
    for (guint i = 0; i < wheres->len; i++) {
        if (i > 0 && g_array_index(wheres, MsHostId, i) == g_array_index(wheres, MsHostId, i - 1))
            continue;
        if (dests++ < MS_STATS_ROUTING_MAX_DESTINATIONS)
            last_measured = g_array_index(wheres, MsHostId, i);
        else
            out->destinations_left_out++;
    }
    g_autoptr(MsNetDistances) dist = ms_net_distances_new(net);
    g_autoptr(GArray) stretch = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) hops = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) lat = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) links = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint i = 0; i < paths->len;) {
        const MsMailPathCount *p = &g_array_index(paths, MsMailPathCount, i);
        if (dests == 0 || p->where > last_measured)
            break;
        /* One route walk per distinct path; its recipients all count. */
        guint32 n = 0;
        guint j = i;
        for (; j < paths->len && pair_cmp(p, &g_array_index(paths, MsMailPathCount, j)) == 0; j++)
            n += g_array_index(paths, MsMailPathCount, j).count;
        gint64 shortest = ms_net_latency_distance(dist, p->origin, p->where);
        i = j;
        if (!ms_net_route_links(net, p->origin, p->where, links) || links->len == 0 ||
            shortest == G_MAXINT64) {
            out->unreachable += n;
            continue;
        }
        gint64 sum = 0;
        for (guint k = 0; k < links->len; k++)
            sum += MAX(ms_net_link_params(net, g_array_index(links, guint32, k))->latency, 1);
        double s = shortest > 0 ? (double) sum / (double) shortest : 1.0;
        append_n(stretch, s, n);
        append_n(hops, links->len, n);
        append_n(lat, ms_time_to_seconds(sum), n);
    }
    out->paths = stretch->len;
    if (stretch_out)
        g_array_append_vals(stretch_out, stretch->data, stretch->len);
    if (hops_out)
        g_array_append_vals(hops_out, hops->data, hops->len);
    if (latency_out)
        g_array_append_vals(latency_out, lat->data, lat->len);
    double p50;
    summarise(stretch, &out->stretch_mean, &p50, &out->stretch_p95, &out->stretch_max);
    summarise(hops, &out->hops_mean, &out->hops_p50, &out->hops_p95, &out->hops_max);
    summarise(lat, &out->latency_mean, &out->latency_p50, &out->latency_p95, &out->latency_max);
}

/* Shortest one-way latencies over a scenario's links (see
 * ms_scenario_latencies() in include/mailsim/scenario.h). Role: plain
 * graph arithmetic on the loaded MsScenario, for the authoring warnings
 * (the fastest a delivery could be: scenario_warn.c) and for partitioned
 * runs (how soon an event at a host can reach another part:
 * sim/run/world_partition.c).
 *
 * Dijkstra from every seeded host at once over a binary heap of
 * (distance, host) with lazy deletion: O((V + E) log V). Latencies are
 * propagation delays only, so the results are lower bounds on any packet's
 * travel (transmission and queueing only add). */
#include "mailsim/scenario.h"

typedef struct {
    MsTime d;
    guint host;
} Item;

static void
heap_push(GArray *h, Item it)
{
    g_array_append_val(h, it);
    Item *a = (Item *) (gpointer) h->data;
    for (guint i = h->len - 1; i > 0;) {
        guint p = (i - 1) / 2;
        if (a[p].d <= a[i].d)
            break;
        Item t = a[p];
        a[p] = a[i];
        a[i] = t;
        i = p;
    }
}

static Item
heap_pop(GArray *h)
{
    Item *a = (Item *) (gpointer) h->data;
    Item top = a[0];
    a[0] = a[h->len - 1];
    g_array_set_size(h, h->len - 1);
    for (guint i = 0;;) {
        guint l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->len && a[l].d < a[m].d)
            m = l;
        if (r < h->len && a[r].d < a[m].d)
            m = r;
        if (m == i)
            break;
        Item t = a[i];
        a[i] = a[m];
        a[m] = t;
        i = m;
    }
    return top;
}

MsTime *
ms_scenario_latencies(const MsScenario *sc, const MsTime *seed, MsScenarioLinkFilter follow,
                      gconstpointer data)
{
    guint n = sc->hosts->len;
    /* Adjacency as one array of link indices per host, offsets in `first`. */
    g_autofree guint *first = g_new0(guint, n + 1);
    g_autofree guint *adj = g_new(guint, 2 * (gsize) sc->links->len + 1);
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        first[l->a + 1]++;
        first[l->b + 1]++;
    }
    for (guint h = 0; h < n; h++)
        first[h + 1] += first[h];
    g_autofree guint *fill = g_memdup2(first, sizeof(guint) * n);
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        adj[fill[l->a]++] = i;
        adj[fill[l->b]++] = i;
    }
    MsTime *d = g_new(MsTime, n);
    g_autoptr(GArray) heap = g_array_new(FALSE, FALSE, sizeof(Item));
    for (guint h = 0; h < n; h++) {
        d[h] = seed[h];
        if (d[h] != MS_TIME_INFINITE)
            heap_push(heap, (Item){ d[h], h });
    }
    while (heap->len) {
        Item it = heap_pop(heap);
        if (it.d > d[it.host])
            continue;
        for (guint k = first[it.host]; k < first[it.host + 1]; k++) {
            const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, adj[k]);
            if (follow && !follow(sc, adj[k], data))
                continue;
            guint other = l->a == it.host ? l->b : l->a;
            MsTime nd = ms_time_add(it.d, l->latency);
            if (nd < d[other]) {
                d[other] = nd;
                heap_push(heap, (Item){ nd, other });
            }
        }
    }
    return d;
}

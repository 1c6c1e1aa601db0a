/* Splitting a world's hosts into the parts of a partitioned run (see
 * include/mailsim/world.h): the automatic split, partition files and the
 * lookahead a split gives. Role: `mailsim run --partition` asks it for the
 * MsPartition every rank builds its part of the world with.
 *
 * Automatic split. Hosts that hang off the rest in trees (stub routers with
 * their servers and clients, found by peeling hosts of degree one) stay with
 * the core host they hang off: a tree link is short and carries all of its
 * tree's traffic, the worst link to cut. Hosts are laid out depth-first,
 * each core host followed by its trees, and the order is cut, at core hosts
 * only, into K runs of about equal expected load. A host's load is a guess
 * from its role: a mail server handles every message of its domain (8), a
 * DNS server or relay serves many (4), a client sends and reads (2), a
 * router forwards (1).
 *
 * Lookahead first. The lookahead is the shortest cut link, and the number
 * of windows a run takes falls as it grows, so the split tried first is the
 * one with the longest lookahead that stays balanced: for each latency x of
 * the core links, longest first, contract the links shorter than x (and the
 * trees), pack the groups into parts (heaviest first, into the lightest
 * part) and accept when no part carries more than 10 % over its share. Only
 * when no x works does the depth-first split above decide. Cost: one
 * union-find pass per distinct core latency, O((hosts + links) * distinct).
 *
 * Pilots (--partition auto). ms_world_pilot() runs the whole world for a
 * slice and counts each link's packets and the events run at each host
 * (the engine counts them: ms_engine_count_host_events()); ms_world_pilot_mpi()
 * gets the same counts without the whole world in any rank: each rank
 * runs its part of the roles' split and the counts are added over the ranks.
 *
 * Partition files: one "HOST PART" pair per line (HOST the scenario's host
 * id or hostname, PART from 0), '#' starts a comment; every host exactly once.
 * Costs: O(hosts + links) time and memory. */
#include "mailsim/world.h"
#include "mailsim/mpi_run.h"
#include "mailsim/partition.h"
#include "mailsim/net.h"

#include <string.h>

static guint32
host_load(const MsScenarioHost *h)
{
    switch (h->role) {
    case MS_HOST_MAILSERVER:
        return 8;
    case MS_HOST_DNS:
    case MS_HOST_RELAY:
        return 4;
    case MS_HOST_CLIENT:
        return 2;
    case MS_HOST_ROUTER:
    default:
        return 1;
    }
}

/* Compressed adjacency of the scenario's graph: the neighbours of h are
 * adj[off[h] .. off[h + 1]). */
static void
adjacency(const MsScenario *sc, guint32 **off_out, guint32 **adj_out)
{
    guint n = sc->hosts->len;
    guint32 *off = g_new0(guint32, n + 1);
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        off[l->a + 1]++;
        off[l->b + 1]++;
    }
    for (guint h = 0; h < n; h++)
        off[h + 1] += off[h];
    guint32 *adj = g_new(guint32, MAX(off[n], 1u));
    g_autofree guint32 *fill = g_memdup2(off, sizeof(guint32) * n);
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        adj[fill[l->a]++] = l->b;
        adj[fill[l->b]++] = l->a;
    }
    *off_out = off;
    *adj_out = adj;
}

/* Marks the hosts that hang off the rest in trees: peeled by removing hosts
 * of degree one until none is left (a tree graph keeps its last host). */
static gboolean *
peel(guint n, const guint32 *off, const guint32 *adj)
{
    gboolean *peeled = g_new0(gboolean, n);
    g_autofree guint32 *deg = g_new(guint32, n);
    g_autoptr(GArray) queue = g_array_new(FALSE, FALSE, sizeof(guint32));
    guint left = n;
    for (guint32 h = 0; h < n; h++) {
        deg[h] = off[h + 1] - off[h];
        if (deg[h] == 1)
            g_array_append_val(queue, h);
    }
    for (guint q = 0; q < queue->len && left > 1; q++) {
        guint32 h = g_array_index(queue, guint32, q);
        if (peeled[h] || deg[h] != 1)
            continue;
        peeled[h] = TRUE;
        left--;
        for (guint32 e = off[h]; e < off[h + 1]; e++) {
            guint32 o = adj[e];
            if (!peeled[o] && --deg[o] == 1)
                g_array_append_val(queue, o);
        }
    }
    return peeled;
}

/* Depth-first preorder over the whole graph, entering a host's trees before
 * its other neighbours: each core host is followed by everything that hangs
 * off it, so a cut between two core hosts splits no tree. */
static guint32 *
dfs_order(guint n, const guint32 *off, const guint32 *adj, const gboolean *peeled)
{
    guint32 *order = g_new(guint32, n);
    g_autofree gboolean *seen = g_new0(gboolean, n);
    g_autoptr(GArray) stack = g_array_new(FALSE, FALSE, sizeof(guint32));
    guint k = 0;
    for (guint root = 0; root < n; root++) {
        if (seen[root])
            continue;
        g_array_append_val(stack, root);
        while (stack->len > 0) {
            guint32 h = g_array_index(stack, guint32, stack->len - 1);
            g_array_set_size(stack, stack->len - 1);
            if (seen[h])
                continue;
            seen[h] = TRUE;
            order[k++] = h;
            /* Last pushed, first visited: core neighbours go in first (in
             * reverse, so the first listed is visited first among them). */
            for (int pass = 0; pass < 2; pass++)
                for (guint32 e = off[h + 1]; e > off[h]; e--) {
                    guint32 o = adj[e - 1];
                    if (!seen[o] && peeled[o] == (pass == 1))
                        g_array_append_val(stack, o);
                }
        }
    }
    return order;
}

static guint32
uf_find(guint32 *parent, guint32 x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

typedef struct {
    double load;
    guint32 first; /* smallest host id: ties break by it, deterministically */
    guint32 root;
} Group;

static gint
group_heavier(gconstpointer a, gconstpointer b)
{
    const Group *x = a, *y = b;
    if (x->load != y->load)
        return x->load > y->load ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* A split in which every cut link is at least `x` long: tree links and
 * links shorter than x are contracted into groups, and groups go to parts
 * by load, heaviest first into the lightest part. Returns the owners, or
 * NULL when the heaviest part would carry more than 10 % over its share. */
static guint32 *
split_at(const MsScenario *sc, const gboolean *peeled, MsTime x, guint32 parts,
         const double *weight, double *max_load)
{
    guint n = sc->hosts->len;
    g_autofree guint32 *parent = g_new(guint32, n);
    for (guint32 h = 0; h < n; h++)
        parent[h] = h;
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        if (l->latency < x || peeled[l->a] || peeled[l->b]) {
            guint32 ra = uf_find(parent, l->a), rb = uf_find(parent, l->b);
            if (ra != rb)
                parent[MAX(ra, rb)] = MIN(ra, rb);
        }
    }
    g_autofree gint32 *gidx = g_new(gint32, n);
    g_autoptr(GArray) groups = g_array_new(FALSE, FALSE, sizeof(Group));
    double total = 0;
    for (guint32 h = 0; h < n; h++) {
        guint32 r = uf_find(parent, h);
        if (r == h) {
            gidx[h] = (gint32) groups->len;
            Group g = { 0, h, h };
            g_array_append_val(groups, g);
        }
        double w = weight ? weight[h] : host_load(&g_array_index(sc->hosts, MsScenarioHost, h));
        g_array_index(groups, Group, gidx[r]).load += w;
        total += w;
    }
    if (groups->len < parts)
        return NULL;
    g_array_sort(groups, group_heavier);
    g_autofree double *load = g_new0(double, parts);
    g_autofree guint32 *part_of_root = g_new(guint32, n);
    for (guint i = 0; i < groups->len; i++) {
        Group *g = &g_array_index(groups, Group, i);
        guint32 best = 0;
        for (guint32 p = 1; p < parts; p++)
            if (load[p] < load[best])
                best = p;
        load[best] += g->load;
        part_of_root[g->root] = best;
    }
    double most = 0;
    for (guint32 p = 0; p < parts; p++)
        most = MAX(most, load[p]);
    if (max_load)
        *max_load = most;
    else if (most > 1.10 * total / parts)
        return NULL;
    guint32 *owner = g_new(guint32, n);
    for (guint32 h = 0; h < n; h++)
        owner[h] = part_of_root[uf_find(parent, h)];
    return owner;
}

/* Contiguous runs of the depth-first order, cut at core hosts, of about
 * equal load (weight per host, or the role's guess when NULL). Returns the
 * owners (caller frees). */
static guint32 *
split_dfs(const MsScenario *sc, const guint32 *off, const guint32 *adj, const gboolean *peeled,
          guint32 parts, const double *weight)
{
    guint n = sc->hosts->len;
    g_autofree guint32 *order = dfs_order(n, off, adj, peeled);
    g_autofree guint64 *prefix = g_new0(guint64, n + 1);
    for (guint i = 0; i < n; i++)
        prefix[i + 1] =
            prefix[i] + (weight ? (guint64) (weight[order[i]] * 1000.0 + 0.5)
                                : host_load(&g_array_index(sc->hosts, MsScenarioHost, order[i])));
    /* Where a part may begin: at a core host (its trees follow it), unless
     * too few core hosts are left to cut at (a tree-shaped world). */
    guint cores = 0;
    for (guint h = 0; h < n; h++)
        cores += !peeled[h];
    gboolean any = cores < parts * 2;
    g_autofree guint32 *owner = g_new(guint32, n);
    guint64 total = prefix[n];
    guint start = 0;
    for (guint32 p = 0; p < parts; p++) {
        guint end = n;
        if (p + 1 < parts) {
            guint64 ideal = total * (p + 1) / parts;
            end = start;
            gint64 best = G_MAXINT64;
            for (guint i = start; i <= n; i++) {
                if (i < n && !any && peeled[order[i]])
                    continue;
                gint64 d = ABS((gint64) prefix[i] - (gint64) ideal);
                if (d < best) {
                    best = d;
                    end = i;
                }
                if (prefix[i] > ideal)
                    break;
            }
        }
        for (guint i = start; i < end; i++)
            owner[order[i]] = p;
        start = end;
    }
    return g_steal_pointer(&owner);
}


static gint
time_desc(gconstpointer a, gconstpointer b)
{
    MsTime x = *(const MsTime *) a, y = *(const MsTime *) b;
    return x > y ? -1 : x < y;
}

MsPartition *
ms_world_partition_auto(const MsScenario *sc, guint32 parts)
{
    guint n = sc->hosts->len;
    g_return_val_if_fail(n >= 1 && parts >= 1, NULL);
    g_autofree guint32 *off = NULL, *adj = NULL;
    adjacency(sc, &off, &adj);
    g_autofree gboolean *peeled = peel(n, off, adj);
    /* First choice: the longest lookahead a balanced split allows. */
    g_autoptr(GArray) lat = g_array_new(FALSE, FALSE, sizeof(MsTime));
    for (guint i = 0; i < sc->links->len && parts > 1; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        if (!peeled[l->a] && !peeled[l->b] && l->latency > 0)
            g_array_append_val(lat, l->latency);
    }
    g_array_sort(lat, time_desc);
    for (guint i = 0; i < lat->len; i++) {
        if (i > 0 && g_array_index(lat, MsTime, i) == g_array_index(lat, MsTime, i - 1))
            continue;
        g_autofree guint32 *owner =
            split_at(sc, peeled, g_array_index(lat, MsTime, i), parts, NULL, NULL);
        if (owner)
            return ms_partition_new_map(n, parts, owner);
    }
    /* Otherwise: contiguous runs of the depth-first order, cut at core hosts. */
    g_autofree guint32 *owner = split_dfs(sc, off, adj, peeled, parts, NULL);
    return ms_partition_new_map(n, parts, owner);
}

/* The smallest latency of a link the split `owner` cuts, and how many it
 * cuts and what share of the measured link traffic crosses them. */
static MsTime
cut_of(const MsScenario *sc, const guint32 *owner, const MsWorldRates *rates, guint *cuts,
       double *cut_share)
{
    MsTime la = MS_TIME_INFINITE;
    double cut = 0, all = 0;
    *cuts = 0;
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        double r = rates ? rates->link[i] : 0;
        all += r;
        if (owner[l->a] == owner[l->b])
            continue;
        (*cuts)++;
        cut += r;
        la = MIN(la, l->latency);
    }
    *cut_share = all > 0 ? cut / all : 0;
    return la;
}

MsPartition *
ms_world_partition_auto_rates(const MsScenario *sc, guint32 parts, const MsWorldRates *rates,
                              MsWorldPartitionPlan *plan)
{
    guint n = sc->hosts->len;
    g_return_val_if_fail(n >= 1 && parts >= 1 && rates != NULL, NULL);
    g_autofree guint32 *off = NULL, *adj = NULL;
    adjacency(sc, &off, &adj);
    g_autofree gboolean *peeled = peel(n, off, adj);
    double total = 0;
    for (guint h = 0; h < n; h++)
        total += rates->host[h];
    if (!(total > 0) || parts == 1)
        return ms_world_partition_auto(sc, parts); /* nothing measured: the roles' guess */
    /* Every candidate: one split per core latency x (links shorter than x
     * kept whole) and the depth-first split; each costs, per simulated
     * second, the heaviest part's events plus the windows its lookahead
     * gives (about one per lookahead). The cheapest wins; ties go to the
     * one found first, the longer lookahead. */
    g_autoptr(GArray) lat = g_array_new(FALSE, FALSE, sizeof(MsTime));
    for (guint i = 0; i < sc->links->len && parts > 1; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        if (!peeled[l->a] && !peeled[l->b] && l->latency > 0)
            g_array_append_val(lat, l->latency);
    }
    g_array_sort(lat, time_desc);
    g_autofree guint32 *best = NULL;
    double best_cost = G_MAXDOUBLE;
    MsWorldPartitionPlan best_plan = { 0 };
    for (guint i = 0; i <= lat->len; i++) {
        if (i > 0 && i < lat->len &&
            g_array_index(lat, MsTime, i) == g_array_index(lat, MsTime, i - 1))
            continue;
        double most = 0;
        g_autofree guint32 *owner = NULL;
        if (i < lat->len) {
            owner = split_at(sc, peeled, g_array_index(lat, MsTime, i), parts, rates->host, &most);
        } else {
            owner = split_dfs(sc, off, adj, peeled, parts, rates->host);
            g_autofree double *load = g_new0(double, parts);
            for (guint h = 0; h < n; h++)
                load[owner[h]] += rates->host[h];
            for (guint32 p = 0; p < parts; p++)
                most = MAX(most, load[p]);
        }
        if (!owner)
            continue;
        MsWorldPartitionPlan pl = { 0 };
        pl.lookahead = cut_of(sc, owner, rates, &pl.cut_links, &pl.cut_share);
        if (pl.lookahead <= 0)
            continue; /* a zero-latency cut: no lookahead at all */
        pl.max_share = total > 0 ? most / total : 1.0 / parts;
        pl.compute_s = most * MS_WORLD_PARTITION_EVENT_S;
        pl.sync_s = pl.lookahead == MS_TIME_INFINITE
                        ? 0
                        : MS_WORLD_PARTITION_WINDOW_S / ms_time_to_seconds(pl.lookahead);
        double cost = pl.compute_s + pl.sync_s;
        if (cost < best_cost) {
            best_cost = cost;
            best_plan = pl;
            g_free(best);
            best = g_steal_pointer(&owner);
        }
    }
    if (!best)
        return ms_world_partition_auto(sc, parts);
    if (plan)
        *plan = best_plan;
    return ms_partition_new_map(n, parts, best);
}

void
ms_world_rates_free(MsWorldRates *r)
{
    if (!r)
        return;
    g_free(r->host);
    g_free(r->link);
    g_free(r);
}

/* What a pilot counts: each link's packets per direction (packets[2 *
 * link + dir]), then each host's events, then all events processed. */
static gsize
pilot_words(const MsScenario *sc)
{
    return 2 * (gsize) sc->links->len + sc->hosts->len + 1;
}

/* The rates of a pilot of `slice` from what it counted (pilot_words()).
 * A host weighs the events run at it, plus one so that an idle host still
 * weighs something. */
static MsWorldRates *
rates_from_counts(const MsScenario *sc, const guint64 *c, MsTime slice)
{
    guint n = sc->hosts->len, nl = sc->links->len;
    MsWorldRates *r = g_new0(MsWorldRates, 1);
    r->host = g_new0(double, n);
    r->link = g_new0(double, MAX(nl, 1u));
    double secs = ms_time_to_seconds(slice);
    for (guint i = 0; i < nl; i++)
        r->link[i] = (double) (c[2 * i] + c[2 * i + 1]) / secs;
    for (guint h = 0; h < n; h++)
        r->host[h] = ((double) c[2 * nl + h] + 1.0) / secs;
    r->events_per_s = (double) c[2 * nl + n] / secs;
    return r;
}

/* Starts counting a pilot world's events per host into the host part of
 * c (pilot_words() zeroed words). */
static void
pilot_start(const MsScenario *sc, MsWorld *w, guint64 *c)
{
    ms_engine_count_host_events(ms_world_engine(w), c + 2 * (gsize) sc->links->len,
                                sc->hosts->len);
}

/* Fills in what a pilot world counted besides its hosts' events: its
 * links' packets and all events processed; stops the counting. */
static void
pilot_finish(const MsScenario *sc, MsWorld *w, guint64 *c)
{
    guint nl = sc->links->len;
    for (guint i = 0; i < nl; i++) {
        MsLinkStats ls;
        ms_net_link_stats(ms_world_net(w), i, &ls);
        c[2 * i] = ls.packets[0];
        c[2 * i + 1] = ls.packets[1];
    }
    MsEngineStats es;
    ms_engine_get_stats(ms_world_engine(w), &es);
    c[2 * nl + sc->hosts->len] = es.processed;
    ms_engine_count_host_events(ms_world_engine(w), NULL, 0);
}

MsWorldRates *
ms_world_pilot(const MsScenario *sc, const MsWorldOptions *opts, MsTime slice, GError **error)
{
    g_return_val_if_fail(slice > 0, NULL);
    MsWorldOptions wo = MS_WORLD_OPTIONS_INIT;
    if (opts)
        wo = *opts;
    wo.partition = NULL;
    wo.part = 0;
    wo.fold_records = 1;
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &wo, error);
    if (!w)
        return NULL;
    g_autofree guint64 *c = g_new0(guint64, pilot_words(sc));
    pilot_start(sc, w, c);
    ms_world_run(w, slice);
    pilot_finish(sc, w, c);
    return rates_from_counts(sc, c, slice);
}

/* Each rank runs its part of the roles' split; rank 0 adds the counts up
 * in rank order (integers: no rounding) and every rank gets the sum. A
 * link direction's packets are counted once, by the rank that sends them,
 * and a host's events by the rank that runs it, so the sums are the whole
 * world's counts (the events processed include what the parts do twice:
 * the faults, and sent events' imports). */
MsWorldRates *
ms_world_pilot_mpi(const MsScenario *sc, const MsWorldOptions *opts, MsMpi *mpi, MsTime slice,
                   GError **error)
{
    g_return_val_if_fail(slice > 0 && mpi != NULL, NULL);
    guint32 rank = ms_mpi_rank(mpi), k = ms_mpi_size(mpi);
    g_autoptr(MsPartition) first = ms_world_partition_auto(sc, k);
    MsWorldOptions wo = MS_WORLD_OPTIONS_INIT;
    if (opts)
        wo = *opts;
    wo.partition = first;
    wo.part = rank;
    wo.fold_records = 1;
    g_autoptr(MsWorld) w = ms_world_new_full(sc, &wo, error);
    if (!w) /* every rank builds the same world: all fail alike */
        return NULL;
    gsize words = pilot_words(sc);
    g_autofree guint64 *mine = g_new0(guint64, words);
    pilot_start(sc, w, mine);
    MsMpiStats st;
    if (!ms_mpi_run(mpi, ms_world_shard(w), slice, &st, error))
        return NULL;
    pilot_finish(sc, w, mine);
    g_clear_pointer(&w, ms_world_free); /* before the run's own part is built */
    g_autoptr(GBytes) mine_b = g_bytes_new(mine, words * sizeof(guint64));
    GBytes **all = ms_mpi_gather_bytes(mpi, mine_b);
    g_autoptr(GBytes) sum_b = NULL;
    if (all) {
        guint64 *sum = g_new0(guint64, words);
        for (guint32 i = 0; i < k && all[i]; i++) {
            gsize len = 0;
            const guint64 *c = g_bytes_get_data(all[i], &len);
            for (gsize j = 0; j < words && j < len / sizeof(guint64); j++)
                sum[j] += c[j];
            g_bytes_unref(all[i]);
        }
        g_free(all);
        sum_b = g_bytes_new_take(sum, words * sizeof(guint64));
    }
    g_autoptr(GBytes) got = ms_mpi_bcast_bytes(mpi, sum_b);
    gsize len = 0;
    const guint64 *c = g_bytes_get_data(got, &len);
    if (len != words * sizeof(guint64)) {
        g_set_error(error, MS_WORLD_ERROR, 0, "the pilot's counts did not reach every rank");
        return NULL;
    }
    return rates_from_counts(sc, c, slice);
}

MsPartition *
ms_world_partition_load(const MsScenario *sc, const char *path, guint32 parts, GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, error))
        return NULL;
    guint n = sc->hosts->len;
    g_autoptr(GHashTable) by_id = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < n; i++) {
        const MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, i);
        g_hash_table_insert(by_id, h->name, GUINT_TO_POINTER(i + 1));
        g_hash_table_insert(by_id, h->id,
                            GUINT_TO_POINTER(i + 1)); /* ids first: they win a clash */
    }
    g_autofree guint32 *owner = g_new(guint32, n);
    g_autofree guint *line_of = g_new0(guint, n);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint ln = 0; lines[ln]; ln++) {
        char *hash = strchr(lines[ln], '#');
        if (hash)
            *hash = '\0';
        g_auto(GStrv) f = g_strsplit_set(g_strstrip(lines[ln]), " \t", -1);
        guint nf = 0;
        for (guint k = 0; f[k]; k++)
            if (*f[k])
                f[nf++] = f[k];
        if (nf == 0)
            continue;
        guint64 part = 0;
        if (nf != 2 || !g_ascii_string_to_unsigned(f[1], 10, 0, G_MAXUINT32, &part, NULL)) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%u: expected \"HOST PART\"",
                        path, ln + 1);
            return NULL;
        }
        gpointer v = g_hash_table_lookup(by_id, f[0]);
        if (!v) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%u: unknown host '%s'", path,
                        ln + 1, f[0]);
            return NULL;
        }
        if (part >= parts) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%u: part %" G_GUINT64_FORMAT
                        " of host '%s': the run has %u part%s (0 to %u)",
                        path, ln + 1, part, f[0], parts, parts == 1 ? "" : "s", parts - 1);
            return NULL;
        }
        guint h = GPOINTER_TO_UINT(v) - 1;
        if (line_of[h]) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%u: host '%s' already placed on line %u", path, ln + 1, f[0],
                        line_of[h]);
            return NULL;
        }
        line_of[h] = ln + 1;
        owner[h] = (guint32) part;
    }
    for (guint h = 0; h < n; h++)
        if (!line_of[h]) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: host '%s' is in no part",
                        path, g_array_index(sc->hosts, MsScenarioHost, h).id);
            return NULL;
        }
    return ms_partition_new_map(n, parts, owner);
}

gboolean
ms_world_partition_lookahead(const MsScenario *sc, const MsPartition *p, MsTime *lookahead,
                             guint *cut_links, GError **error)
{
    if (ms_partition_hosts(p) != sc->hosts->len) {
        g_set_error(error, MS_WORLD_ERROR, 0, "the partition covers %u hosts, the scenario has %u",
                    ms_partition_hosts(p), sc->hosts->len);
        return FALSE;
    }
    MsTime la = MS_TIME_INFINITE;
    guint cuts = 0;
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        if (ms_partition_owner(p, l->a) == ms_partition_owner(p, l->b))
            continue;
        cuts++;
        if (l->latency <= 0) {
            g_set_error(error, MS_WORLD_ERROR, 0,
                        "%s:%u: the partition cuts link %s~%s, whose latency is zero: no lookahead "
                        "(keep its "
                        "ends in one part)",
                        sc->path, l->line, g_array_index(sc->hosts, MsScenarioHost, l->a).id,
                        g_array_index(sc->hosts, MsScenarioHost, l->b).id);
            return FALSE;
        }
        la = MIN(la, l->latency);
    }
    *lookahead = la;
    if (cut_links)
        *cut_links = cuts;
    return TRUE;
}

MsTime *
ms_world_partition_pair_lookahead(const MsScenario *sc, const MsPartition *p)
{
    guint32 k = ms_partition_parts(p);
    g_return_val_if_fail(ms_partition_hosts(p) == sc->hosts->len, NULL);
    MsTime *la = g_new(MsTime, (gsize) k * k);
    for (guint32 i = 0; i < k * k; i++)
        la[i] = MS_TIME_INFINITE;
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        guint32 a = ms_partition_owner(p, l->a), b = ms_partition_owner(p, l->b);
        if (a == b)
            continue;
        /* Links carry both ways: the pair's lookahead is symmetric. */
        la[a * k + b] = MIN(la[a * k + b], l->latency);
        la[b * k + a] = MIN(la[b * k + a], l->latency);
    }
    return la;
}

static gboolean
inside_one_part(const MsScenario *sc, guint link, gconstpointer data)
{
    const MsPartition *p = data;
    const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, link);
    return ms_partition_owner(p, l->a) == ms_partition_owner(p, l->b);
}

MsTime *
ms_world_partition_reach(const MsScenario *sc, const MsPartition *p)
{
    g_return_val_if_fail(ms_partition_hosts(p) == sc->hosts->len, NULL);
    /* Seeds: each end of a cut link is that link's latency from the other
     * part; from there, inward over the part's own links. */
    g_autofree MsTime *seed = g_new(MsTime, sc->hosts->len);
    for (guint h = 0; h < sc->hosts->len; h++)
        seed[h] = MS_TIME_INFINITE;
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        if (ms_partition_owner(p, l->a) == ms_partition_owner(p, l->b))
            continue;
        seed[l->a] = MIN(seed[l->a], l->latency);
        seed[l->b] = MIN(seed[l->b], l->latency);
    }
    return ms_scenario_latencies(sc, seed, inside_one_part, p);
}

/* A generated world's users are most of its scenario (the medium world's
 * 100,000 users are about 10 MB of its 15), and every rank loads the whole
 * scenario: this gives back the other parts' share before the run, and its
 * own part's too (copied into its mail stores by now), but for the servers
 * whose users a mailbox-full fault reads (on_fault() in world.c). */
guint
ms_world_partition_release(MsScenario *sc, const MsPartition *p, guint32 part)
{
    g_return_val_if_fail(sc != NULL && p != NULL, 0);
    g_autofree gboolean *faulted = ms_scenario_mailbox_fault_servers(sc);
    guint dropped = 0;
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *ms = &g_array_index(sc->mailservers, MsScenarioMailserver, i);
        if (ms_partition_owner(p, ms->host) != part || !faulted[i])
            dropped += ms_scenario_drop_users(sc, i);
    }
    return dropped;
}

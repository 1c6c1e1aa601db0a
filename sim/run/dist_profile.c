/* The profile of a distributed run as JSON (include/mailsim/dist_profile.h).
 * Role: rank 0 of `mailsim run --partition ... --dist-profile FILE` hands it
 * every rank's window profile and totals after the run; with `--parts K`
 * (the parts on threads of one process) ms_dist_profile_run_parts() runs
 * the parts profiled and writes the same schema, one entry per part, with
 * "transport": "threads" instead of "mpi". The scaling model
 * (tools/scaling_model.py) reads the file.
 *
 * Design. Windows are far too many to list one by one (millions on the
 * medium world), so the profile keeps, per rank, the windows grouped by
 * the simulated time they start in (MsMpiProfile's buckets: counts, events
 * with their largest and their spread, seconds computing, waiting and
 * exchanging, events and bytes sent) and a histogram of events per
 * window; per bucket, the busiest part's events and computing summed over
 * the windows (what a window costs when every part must finish it); per
 * pair of ranks, the events and bytes moved. The survey splits
 * the same world, with the pilot's measured rates, into 2, 3, 4, 8, ...
 * 1024 parts (ms_world_partition_auto_rates()) and records each split's
 * lookahead, cut links, heaviest share, cut traffic and the events' mean
 * reach (how far past the lookahead windows run): what the model
 * needs to say how the run would go on more machines than this one.
 *
 * The machine the run had: its processors, the processors the writing
 * process (rank 0, or the one process of --parts) was allowed to run on
 * (Open MPI pins each of 2 ranks to a core of its own, and 3 or more
 * ranks to none, on this 2-core machine) and the load average when the
 * run ended. The model needs them to tell a window's synchronisation with
 * a core per rank from the same with ranks that wait for a core (more
 * ranks than cores, or other people's processes on the cores). Members
 * added to version 2 (a reader takes their absence as unknown).
 *
 * Costs: the survey is one measured split per K (each O((hosts + links) *
 * distinct core latencies)); the JSON is O(ranks * (buckets + ranks)). */
#define _GNU_SOURCE /* sched_getaffinity(), CPU_COUNT() */
#include "mailsim/dist_profile.h"
#include "mailsim/engine.h"
#include "mailsim/output_file.h"
#include "mailsim/scenario.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void
add_time(JsonBuilder *b, const char *key, MsTime t)
{
    json_builder_set_member_name(b, key);
    if (t == MS_TIME_INFINITE)
        json_builder_add_null_value(b);
    else
        json_builder_add_double_value(b, ms_time_to_seconds(t));
}

static void
add_int(JsonBuilder *b, const char *key, guint64 v)
{
    json_builder_set_member_name(b, key);
    json_builder_add_int_value(b, (gint64) v);
}

static void
add_double(JsonBuilder *b, const char *key, double v)
{
    json_builder_set_member_name(b, key);
    json_builder_add_double_value(b, v);
}

static void
add_u64_array(JsonBuilder *b, const char *key, const guint64 *v, guint n)
{
    json_builder_set_member_name(b, key);
    json_builder_begin_array(b);
    for (guint i = 0; i < n; i++)
        json_builder_add_int_value(b, (gint64) v[i]);
    json_builder_end_array(b);
}

/* How far, on average over the events (the pilot's rates), an event is
 * from any other part (ms_world_partition_reach(); hosts of parts with no
 * cut link left out): windows that end at the reach of the pending events
 * (ms_shard_reach_bound()) run past the lookahead by about this much. */
static double
mean_reach(const MsScenario *sc, const MsPartition *p, const MsWorldRates *rates)
{
    g_autofree MsTime *reach = ms_world_partition_reach(sc, p);
    double sum = 0, weight = 0;
    for (guint h = 0; h < sc->hosts->len; h++) {
        if (reach[h] == MS_TIME_INFINITE)
            continue;
        sum += rates->host[h] * ms_time_to_seconds(reach[h]);
        weight += rates->host[h];
    }
    return weight > 0 ? sum / weight : 0.0;
}

/* The processors this process may run on (its affinity mask), 0 when
 * the system does not say. */
static int
cpus_allowed(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    return CPU_COUNT(&set);
}

/* The machine: processors online, the writer's affinity, ranks per core,
 * the load average over 1, 5 and 15 minutes when the run ended (null
 * where /proc/loadavg cannot be read). */
static void
add_machine(JsonBuilder *b, guint32 ranks)
{
    guint processors = g_get_num_processors();
    add_int(b, "processors", processors);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    add_int(b, "processors_online", online > 0 ? (guint64) online : processors);
    add_int(b, "cpus_allowed", (guint64) cpus_allowed());
    add_double(b, "ranks_per_core", (double) ranks / (double) MAX(processors, 1u));
    json_builder_set_member_name(b, "load_average");
    double l[3];
    FILE *f = fopen("/proc/loadavg", "r");
    gboolean ok = f && fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) == 3;
    if (f)
        fclose(f);
    if (!ok) {
        json_builder_add_null_value(b);
        return;
    }
    json_builder_begin_array(b);
    for (guint i = 0; i < 3; i++)
        json_builder_add_double_value(b, l[i]);
    json_builder_end_array(b);
}

static void
add_survey(JsonBuilder *b, const MsDistProfileInput *in)
{
    const MsScenario *sc = in->scenario;
    json_builder_set_member_name(b, "survey");
    json_builder_begin_array(b);
    /* 2, 3, 4, 8, ... 1024: 3 as well, the one count between 2 and 4 ranks
     * this machine runs, so that a profile of 3 ranks finds its own split. */
    for (guint32 k = 2; in->rates && k <= MS_DIST_PROFILE_SURVEY_MAX && k <= sc->hosts->len / 2;
         k = k < 4 ? k + 1 : k * 2) {
        MsWorldPartitionPlan plan = { 0 };
        /* Only the plan and the reach are reported; the split is not kept. */
        g_autoptr(MsPartition) p = ms_world_partition_auto_rates(sc, k, in->rates, &plan);
        json_builder_begin_object(b);
        add_int(b, "parts", k);
        add_time(b, "lookahead_s", plan.lookahead);
        add_int(b, "cut_links", plan.cut_links);
        add_double(b, "max_share", plan.max_share);
        add_double(b, "cut_share", plan.cut_share);
        add_double(b, "reach_mean_s", mean_reach(sc, p, in->rates));
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static void
add_rank(JsonBuilder *b, const MsDistProfileInput *in, guint32 r)
{
    const MsMpiStats *st = &in->stats[r];
    const MsMpiProfile *p = in->profiles[r];
    json_builder_begin_object(b);
    add_int(b, "rank", r);
    add_int(b, "hosts", ms_partition_count(in->partition, r));
    add_int(b, "windows", st->windows);
    add_int(b, "events", st->events);
    add_double(b, "compute_s", st->compute_s);
    add_double(b, "wait_s", st->wait_s);
    add_double(b, "exchange_s", st->exchange_s);
    add_double(b, "wall_s", st->wall_s);
    add_double(b, "cpu_s", st->cpu_s);
    add_int(b, "collectives", st->collectives);
    add_int(b, "exchanges", st->exchanges);
    add_int(b, "bytes_sent", st->bytes_sent);
    json_builder_set_member_name(b, "peak_rss_kb");
    if (in->peak_rss_kb)
        json_builder_add_double_value(b, in->peak_rss_kb[r]);
    else
        json_builder_add_null_value(b);
    add_u64_array(b, "events_to", p->events_to, p->ranks);
    add_u64_array(b, "bytes_to", p->bytes_to, p->ranks);
    add_u64_array(b, "events_per_window_log2_hist", p->hist, MS_MPI_PROFILE_HIST);
    json_builder_set_member_name(b, "buckets");
    json_builder_begin_array(b);
    for (guint i = 0; i < p->n_buckets; i++) {
        const MsMpiBucket *k = &p->buckets[i];
        json_builder_begin_object(b);
        add_int(b, "windows", k->windows);
        add_int(b, "events", k->events);
        add_int(b, "max_events", k->max_events);
        double mean = k->windows ? (double) k->events / (double) k->windows : 0;
        double var = k->windows ? k->events_sq / (double) k->windows - mean * mean : 0;
        add_double(b, "events_sd", var > 0 ? sqrt(var) : 0);
        add_double(b, "compute_s", k->compute_s);
        add_double(b, "wait_s", k->wait_s);
        add_double(b, "exchange_s", k->exchange_s);
        add_int(b, "sent_events", k->sent_events);
        add_int(b, "sent_bytes", k->sent_bytes);
        add_int(b, "collectives", k->collectives);
        add_int(b, "busiest_events", k->busiest_events);
        add_double(b, "busiest_compute_s", k->busiest_compute_s);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

char *
ms_dist_profile_to_json(const MsDistProfileInput *in)
{
    const MsScenario *sc = in->scenario;
    guint32 k = in->ranks;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, "mailsim-dist-profile");
    add_int(b, "version", 2);
    json_builder_set_member_name(b, "transport");
    json_builder_add_string_value(b, in->transport ? in->transport : "mpi");
    add_int(b, "threads", in->threads);
    add_machine(b, k);
    json_builder_set_member_name(b, "process_peak_rss_kb");
    if (in->peak_rss_kb)
        json_builder_add_null_value(b);
    else
        json_builder_add_double_value(b, in->process_peak_rss_kb);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, sc->name ? sc->name : "");
    json_builder_set_member_name(b, "fidelity");
    json_builder_add_string_value(b, in->fidelity);
    add_int(b, "hosts", sc->hosts->len);
    add_int(b, "links", sc->links->len);
    add_time(b, "sim_seconds", in->end);
    add_int(b, "ranks", k);
    json_builder_set_member_name(b, "partition");
    json_builder_add_string_value(b, ms_partition_scheme_to_string(ms_partition_scheme(in->partition)));
    g_autofree MsTime *la = ms_world_partition_pair_lookahead(sc, in->partition);
    json_builder_set_member_name(b, "pair_lookahead_s");
    json_builder_begin_array(b);
    for (guint32 p = 0; p < k; p++) {
        json_builder_begin_array(b);
        for (guint32 q = 0; q < k; q++) {
            if (p == q || la[p * k + q] == MS_TIME_INFINITE)
                json_builder_add_null_value(b);
            else
                json_builder_add_double_value(b, ms_time_to_seconds(la[p * k + q]));
        }
        json_builder_end_array(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "pilot_events_per_s");
    if (in->rates)
        json_builder_add_double_value(b, in->rates->events_per_s);
    else
        json_builder_add_null_value(b);
    add_survey(b, in);
    add_time(b, "bucket_s", in->profiles[0]->end / in->profiles[0]->n_buckets);
    /* Every part's buckets hold the same busiest sums: part 0's, in all. */
    guint64 busiest = 0;
    double busiest_s = 0;
    for (guint i = 0; i < in->profiles[0]->n_buckets; i++) {
        busiest += in->profiles[0]->buckets[i].busiest_events;
        busiest_s += in->profiles[0]->buckets[i].busiest_compute_s;
    }
    add_int(b, "busiest_events", busiest);
    add_double(b, "busiest_compute_s", busiest_s);
    json_builder_set_member_name(b, "per_rank");
    json_builder_begin_array(b);
    for (guint32 r = 0; r < k; r++)
        add_rank(b, in, r);
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    char *text = json_generator_to_data(gen, NULL);
    char *out = g_strconcat(text, "\n", NULL);
    g_free(text);
    return out;
}

gboolean
ms_dist_profile_write(const MsDistProfileInput *in, const char *path, GError **error)
{
    g_autofree char *text = ms_dist_profile_to_json(in);
    return ms_output_file_write(path, text, strlen(text), error);
}

gboolean
ms_dist_profile_run_parts(MsWorld *const *parts, guint n, guint threads, MsTime until,
                          const MsDistProfileInput *in, const char *path, GError **error)
{
    g_autofree MsShard **shards = g_new(MsShard *, n);
    g_autofree MsMpiStats *stats = g_new0(MsMpiStats, n);
    g_autofree MsMpiProfile **profs = g_new0(MsMpiProfile *, n);
    MsTime span = until == MS_TIME_INFINITE ? 86400 * MS_TIME_S : MAX(until, (MsTime) 1);
    for (guint i = 0; i < n; i++) {
        shards[i] = ms_world_shard(parts[i]);
        profs[i] = ms_mpi_profile_new(i, n, span, 100);
    }
    ms_shard_run_threads_profiled(shards, n, threads, until, stats, profs);
    struct rusage ru;
    double rss_kb = getrusage(RUSAGE_SELF, &ru) == 0 ? (double) ru.ru_maxrss : 0.0;
    MsDistProfileInput full = *in;
    full.end = ms_engine_now(ms_world_engine(parts[0]));
    full.ranks = n;
    full.profiles = profs;
    full.stats = stats;
    full.peak_rss_kb = NULL;
    full.transport = "threads";
    full.threads = MIN(MAX(threads, 1u), n);
    full.process_peak_rss_kb = rss_kb;
    gboolean ok = ms_dist_profile_write(&full, path, error);
    for (guint i = 0; i < n; i++)
        ms_mpi_profile_free(profs[i]);
    return ok;
}

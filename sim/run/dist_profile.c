/* The profile of a distributed run as JSON (include/mailsim/dist_profile.h).
 * Role: rank 0 of `mailsim run --partition ... --dist-profile FILE` hands it
 * every rank's window profile and totals after the run; the scaling model
 * (tools/scaling_model.py) reads the file.
 *
 * Design. Windows are far too many to list one by one (millions on the
 * medium world), so the profile keeps, per rank, the windows grouped by
 * the simulated time they start in (MsMpiProfile's buckets: counts, events
 * with their largest and their spread, seconds computing, waiting and
 * exchanging, events and bytes sent) and a histogram of events per
 * window; per pair of ranks, the events and bytes moved. The survey splits
 * the same world, with the pilot's measured rates, into 2, 4, ... 1024
 * parts (ms_world_partition_auto_rates()) and records each split's
 * lookahead, cut links, heaviest share and cut traffic: what the model
 * needs to say how the run would go on more machines than this one.
 *
 * Costs: the survey is one measured split per K (each O((hosts + links) *
 * distinct core latencies)); the JSON is O(ranks * (buckets + ranks)). */
#include "mailsim/dist_profile.h"
#include "mailsim/output_file.h"
#include "mailsim/scenario.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

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

static void
add_survey(JsonBuilder *b, const MsDistProfileInput *in)
{
    const MsScenario *sc = in->scenario;
    json_builder_set_member_name(b, "survey");
    json_builder_begin_array(b);
    for (guint32 k = 2; in->rates && k <= MS_DIST_PROFILE_SURVEY_MAX && k <= sc->hosts->len / 2;
         k *= 2) {
        MsWorldPartitionPlan plan = { 0 };
        /* Only the plan is reported; the split itself is not kept. */
        ms_partition_free(ms_world_partition_auto_rates(sc, k, in->rates, &plan));
        json_builder_begin_object(b);
        add_int(b, "parts", k);
        add_time(b, "lookahead_s", plan.lookahead);
        add_int(b, "cut_links", plan.cut_links);
        add_double(b, "max_share", plan.max_share);
        add_double(b, "cut_share", plan.cut_share);
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
    add_double(b, "peak_rss_kb", in->peak_rss_kb[r]);
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
    add_int(b, "version", 1);
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

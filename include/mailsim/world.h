/* A runnable world built from a scenario description: the engine, the
 * network with its TCP-lite, the DNS registries and resolvers, the mail
 * servers and clients, the scheduled messages, checks and faults. After a
 * run it checks the scenario's <expect> elements and the accounting. */
#pragma once

#include <glib.h>
#include "mailsim/scenario.h"
#include "mailsim/partition.h"
#include "mailsim/shard.h"
#include "mailsim/mpi_run.h"
#include "mailsim/engine.h"
#include "mailsim/net.h"
#include "mailsim/tcp.h"
#include "mailsim/mail.h"

G_BEGIN_DECLS

typedef struct _MsWorld MsWorld;

#define MS_WORLD_ERROR (ms_world_error_quark())
GQuark ms_world_error_quark(void);

/* Builds the world of `scenario` (borrowed; must outlive the world) with
 * `seed` (the scenario's own when 0). Returns a new world (caller frees), or
 * NULL with `error` set for a scenario the simulation cannot build. */
MsWorld *ms_world_new(const MsScenario *scenario, guint64 seed, GError **error);

/* What a run may change without touching the (read-only, shareable)
 * scenario: the command line of `mailsim run` and each job of a sweep. */
typedef struct {
    guint64 seed;     /* 0: the scenario's */
    gint fidelity;    /* -1: the scenario's; else an MsFidelity */
    gint keep_bodies; /* -1: the scenario's; 0 or 1 (ms_mail_set_keep_bodies) */
    /* Policy fields to impose (those in policy->set), on every mail server
     * or, when policy_host >= 0, on the one on that scenario host. */
    const MsScenarioPolicy *policy;
    gint policy_host;
    /* Partitioned runs: build part `part` of `partition` (borrowed; must
     * outlive the world), or the whole world when NULL. Packet level only. */
    const MsPartition *partition;
    guint32 part;
    /* 1: fold each finished message's record into the statistics and free
     * it (ms_mail_set_fold_records: memory grows with the mail in flight),
     * when nothing needs records after the run: not for a partitioned run,
     * nor a scenario with an <expect> about single messages (all but
     * no-loss, login-encrypted and no-clear-password). Stores nobody reads
     * then keep counts only, unless keep_bodies is 1. The caller says
     * whether its own outputs (traces, pictures) read records. 0: keep
     * every record (the default). */
    gint fold_records;
    /* Latencies kept exactly up to this many, then sketched; -1:
     * MS_MAIL_FOLD_EXACT_LIMIT. */
    gint fold_exact_limit;
    /* Records never folded: 1..this; -1: MS_WORLD_SUMMARY_MESSAGES. */
    gint fold_keep_first;
    /* Route tables shared with the other worlds of one topology built in
     * this process (the parts, and the pilot before them;
     * ms_net_route_share_new(); borrowed, freed after every world using
     * it), or NULL. */
    MsNetRouteShare *route_share;
    /* The scenario being built (the same one, writable) when this world is
     * its only reader, as in a sequential run or an MPI rank: the build
     * then frees each mail server's users once its mail store has them,
     * as ms_world_partition_release() would after the build, so that the
     * two copies never live at once (the large world's million users: 53 MB
     * of its scenario). NULL: the scenario is left as it is (sweeps, parts
     * run in one process, the bridge, which reads the users). */
    MsScenario *release_users;
} MsWorldOptions;
#define MS_WORLD_OPTIONS_INIT                                                                      \
    {                                                                                              \
        0, -1, -1, NULL, -1, NULL, 0, 0, -1, -1, NULL, NULL                                        \
    }
/* Messages the run summary lists one by one; a world that folds records
 * keeps these. */
#define MS_WORLD_SUMMARY_MESSAGES 20

/* ms_world_new() with options (NULL: all defaults). The scenario is only
 * read, never written, so threads may build worlds from one scenario at
 * once. Returns a new world (caller frees) or NULL with `error` set. */
MsWorld *ms_world_new_full(const MsScenario *scenario, const MsWorldOptions *options,
                           GError **error);

/* The transport fidelity the world was built with. */
MsFidelity ms_world_fidelity(const MsWorld *world);
void ms_world_free(MsWorld *world);

MsEngine *ms_world_engine(MsWorld *world);
MsNet *ms_world_net(MsWorld *world);
MsTcp *ms_world_tcp(MsWorld *world);
MsMail *ms_world_mail(MsWorld *world);
const MsScenario *ms_world_scenario(MsWorld *world);

/* Runs until `until` (the scenario's when MS_TIME_INFINITE is not wanted:
 * pass ms_world_default_until()). */
MsEngineResult ms_world_run(MsWorld *world, MsTime until);
MsTime ms_world_default_until(const MsWorld *world);

/* How many delivery latencies the statistics keep exactly before they
 * sketch them (MS_SKETCH_ALWAYS_EXACT: all): the folding limit when the
 * options asked for folding, also in a partitioned run, which keeps its
 * records for the merge, so that it states the sequential run's quantiles. */
guint ms_world_latency_exact_limit(const MsWorld *world);

/* Checks every <expect> and the accounting balance; appends one
 * "PASS ..." or "FAIL ..." line each to `out`. Returns TRUE when all pass. */
gboolean ms_world_check(MsWorld *world, GString *out);

/* --- partitioned runs (sim/run/world_partition.c; design atop sim/dist/shard.c) --- */

/* An automatic split into `parts` parts, balanced by expected load, cutting
 * slow links where it can. Returns a new partition (caller frees). */
MsPartition *ms_world_partition_auto(const MsScenario *scenario, guint32 parts);
/* A split read from a partition file ("HOST PART" lines). Returns a new
 * partition or NULL with `error` set (naming the file and line). */
MsPartition *ms_world_partition_load(const MsScenario *scenario, const char *path, guint32 parts,
                                     GError **error);
/* The lookahead of a split: the smallest latency of a link it cuts
 * (MS_TIME_INFINITE when it cuts none), and how many it cuts. FALSE with
 * `error` set when it cuts a link of zero latency. */
gboolean ms_world_partition_lookahead(const MsScenario *scenario, const MsPartition *partition,
                                      MsTime *lookahead, guint *cut_links, GError **error);

/* Measured load of a world (ms_world_pilot()): events per simulated second
 * of each host and packets per simulated second over each link (both
 * directions), in scenario order. */
typedef struct {
    double *host;
    double *link;
    double events_per_s; /* all hosts */
} MsWorldRates;
void ms_world_rates_free(MsWorldRates *rates);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsWorldRates, ms_world_rates_free)

/* Runs the whole world (options as for the run, partition ignored) to
 * `slice` and measures its rates: the events run at each host (counted
 * by the engine) and each link's packets. Deterministic (the same seed gives the same
 * rates). Returns new rates (caller frees) or NULL with `error` set. */
MsWorldRates *ms_world_pilot(const MsScenario *scenario, const MsWorldOptions *options,
                             MsTime slice, GError **error);

/* The same measure for a rank of an MPI run, without the whole world in
 * any rank: every rank builds its part of the roles' split
 * (ms_world_partition_auto()) and runs it to `slice` with the others; the
 * links' packets and the events are added over the ranks (in rank order,
 * as integers), so every rank gets the same rates. A collective: every
 * rank calls it. The links' counts are the whole world's, as
 * ms_world_pilot() measures them; the events also count what the parts do
 * twice, which scales every host's rate alike. Returns new rates or NULL
 * with `error` set. */
MsWorldRates *ms_world_pilot_mpi(const MsScenario *scenario, const MsWorldOptions *options,
                                 MsMpi *mpi, MsTime slice, GError **error);

/* What the measured split expects: its shortest cut link, cut links, the
 * heaviest part's share of the events, the share of link traffic that
 * crosses parts, and its cost per simulated second in events of the
 * heaviest part and in windows (constants below). */
typedef struct {
    MsTime lookahead;
    guint cut_links;
    double max_share, cut_share;
    double compute_s, sync_s;
} MsWorldPartitionPlan;
/* CPU per event at packet level and cost of one window's synchronisation
 * on the machines the README measures (medium world, 2 ranks): what the
 * measured split trades against each other. */
#define MS_WORLD_PARTITION_EVENT_S 0.45e-6
#define MS_WORLD_PARTITION_WINDOW_S 10e-6

/* The automatic split weighed by measured rates: of the splits that keep
 * links shorter than x whole (one per core latency x) and the depth-first
 * split, the one whose heaviest part's events plus windows cost least per
 * simulated second. Fills `plan` (may be NULL). Returns a new partition
 * (caller frees). */
MsPartition *ms_world_partition_auto_rates(const MsScenario *scenario, guint32 parts,
                                           const MsWorldRates *rates, MsWorldPartitionPlan *plan);

/* The lookahead of each pair of parts: la[p * K + q] is the smallest
 * latency of a link the split cuts between parts p and q
 * (MS_TIME_INFINITE: none). Check the split first with
 * ms_world_partition_lookahead(). Returns a new K x K array (caller frees). */
MsTime *ms_world_partition_pair_lookahead(const MsScenario *scenario,
                                          const MsPartition *partition);

/* How soon an event at each host can reach another part, at packet level:
 * reach[h] is the shortest latency from h over links inside h's part and
 * then across a cut link (MS_TIME_INFINITE: h's part has no cut link).
 * Packets are the only way hosts affect each other at packet level, and
 * they take at least their path's latency, so this bounds every cause and
 * effect between parts (ms_shard_set_reach()). Returns a new array, one
 * entry per host (caller frees). */
MsTime *ms_world_partition_reach(const MsScenario *scenario, const MsPartition *partition);

/* Frees what part `part` never reads of its scenario once its world is
 * built: the users (names, passwords, quotas, forwards) of the other parts'
 * mail servers, whose mailboxes live there (the part keeps their names in
 * its world, for the workloads), and those of its own servers, whose
 * mailboxes its world holds now, except on servers a mailbox-full fault
 * names (the fault reads the user's name and quota when it fires). Only for
 * a scenario this part holds alone, as an MPI rank does; parts run in one
 * process share theirs. Returns how many users were dropped. */
guint ms_world_partition_release(MsScenario *scenario, const MsPartition *partition, guint32 part);

/* This part's shard (NULL for a whole world). */
MsShard *ms_world_shard(MsWorld *world);

/* Runs the parts of one partitioned world (parts[i] built as part i)
 * window by window to `until`, on `threads` threads (this one among them;
 * 1: all in this thread): the same results whatever the number. */
gboolean ms_world_run_parts(MsWorld *const *parts, guint n, guint threads, MsTime until);
/* The same without windows (ms_shard_run_async(); `stats` may be NULL). */
gboolean ms_world_run_parts_async(MsWorld *const *parts, guint n, guint threads, MsTime until,
                                  MsShardAsyncStats *stats);
/* Then merges every part's mail records into parts[0], a chunk of one
 * part's export at a time (ms_mail_merge_add()).
 * Returns FALSE with `error` set if the merge fails. */
gboolean ms_world_merge_parts(MsWorld *const *parts, guint n, GError **error);

/* DMARC aggregate reports (RFC 7489 7.2; sim/run/world_dmarc.c): after a
 * run, one XML file per receiver and domain whose DMARC record has rua=,
 * written into the existing folder `dir`; *n_files (may be NULL) gets how
 * many. FALSE with the writer's error when a file cannot be written. */
gboolean ms_world_write_dmarc_reports(MsWorld *world, const char *dir, guint *n_files,
                                      GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsWorld, ms_world_free)

G_END_DECLS

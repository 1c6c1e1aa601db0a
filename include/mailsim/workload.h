/* Stochastic workloads: Poisson arrivals of messages from the users of one
 * domain to the users of another, with message sizes drawn from a
 * distribution. A workload is described by an MsWorkloadSpec (a scenario's
 * <workload> element reads into one; the scenario layer sits above this one
 * and includes this header, never the other way round). Each workload
 * draws from its own random stream (seed, "workload-<index>"), so adding a
 * workload leaves the others' messages unchanged.
 *
 * A workload message enters the world at the sender's server as if its user
 * had just submitted it (the record, its Message-ID and the server's
 * Received: header are the same as for a submitted one); the submission
 * over SMTP from a client host is not simulated, which keeps large
 * benchmark worlds free of one client host per user. */
#pragma once

#include <glib.h>
#include "mailsim/mail.h"
#include "mailsim/rng.h"
#include "mailsim/time.h"

G_BEGIN_DECLS

/* How message sizes are drawn. */
typedef enum {
    MS_WORKLOAD_SIZE_FIXED,       /* always size_a bytes */
    MS_WORKLOAD_SIZE_LOGNORMAL,   /* ln(bytes) ~ N(size_a, size_b) */
    MS_WORKLOAD_SIZE_EXPONENTIAL, /* mean size_a bytes */
} MsWorkloadSizeDist;

/* One workload. Strings are owned by whoever made the spec (the scenario). */
typedef struct {
    guint line; /* line of the element that described it, 0 if none */
    char *from; /* sender domain, served by from_server */
    char *to;   /* recipient domain; "*": any other domain of the world */
    gint
        from_server; /* sending server, in the caller's numbering (see server_of); < 0: none, skipped */
    gint to_server;    /* server serving `to`, or -1 (mail leaves the world or bounces) */
    MsTime start, end; /* arrivals in [start, end); end > start */
    double rate_per_s; /* messages per second (> 0) */
    MsWorkloadSizeDist size_dist;
    double size_a, size_b; /* FIXED: bytes; LOGNORMAL: mu, sigma (of ln bytes);
                            * EXPONENTIAL: mean bytes */
} MsWorkloadSpec;

typedef struct _MsWorkloads MsWorkloads;

/* Schedules every workload of `specs` (a GArray of MsWorkloadSpec,
 * borrowed: it must outlive the result) on `mail`; server_of maps the
 * specs' server numbers to mail server indices. Returns a new object
 * (caller frees after the run). */
MsWorkloads *ms_workloads_start(MsMail *mail, const GArray *specs, const guint *server_of,
                                guint64 seed);
void ms_workloads_free(MsWorkloads *workloads);

/* Messages generated so far. */
guint64 ms_workloads_generated(const MsWorkloads *workloads);

/* Draws one message size from a workload's distribution (bytes, >= 1). */
guint64 ms_workload_draw_size(const MsWorkloadSpec *workload, MsRng *rng);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsWorkloads, ms_workloads_free)

G_END_DECLS

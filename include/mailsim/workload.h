/* Stochastic workloads: Poisson arrivals of messages from the users of one
 * domain to the users of another, with message sizes drawn from a
 * distribution, as a scenario's <workload> elements describe. Each workload
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
#include "mailsim/scenario.h"

G_BEGIN_DECLS

typedef struct _MsWorkloads MsWorkloads;

/* Schedules every workload of `scenario` (borrowed, must outlive the
 * result) on `mail`; server_of maps scenario mailserver indices to mail
 * server indices. Returns a new object (caller frees after the run). */
MsWorkloads *ms_workloads_start(MsMail *mail, const MsScenario *scenario, const guint *server_of, guint64 seed);
void ms_workloads_free(MsWorkloads *workloads);

/* Messages generated so far. */
guint64 ms_workloads_generated(const MsWorkloads *workloads);

/* Draws one message size from a workload's distribution (bytes, >= 1). */
guint64 ms_workload_draw_size(const MsScenarioWorkload *workload, MsRng *rng);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsWorkloads, ms_workloads_free)

G_END_DECLS

/* Pieces of the flow model (sim/net/flow.c) kept in files of their own:
 * the link shares as senders learn them (sim/net/flow_share.c). Not
 * public. */
#pragma once

#include "mailsim/tcp.h"
#include "mailsim/time.h"

#include <glib.h>

/* The longest a change of a link's load takes to reach a sender, and a
 * sender's transfer to reach a link (the latency of the path between
 * them, capped here). A distributed run's lookahead must not exceed it
 * (include/mailsim/tcp.h, MS_TCP_FLOW_SIGNAL_MAX). */
#define MS__FLOW_SIGNAL_MAX MS_TCP_FLOW_SIGNAL_MAX

/* What every link direction carries, as the senders see it: per link
 * direction (2 * link + dir), the intervals [join, end) during which
 * transfers cross it. */
typedef struct _MsFlowShare MsFlowShare;

MsFlowShare *ms__flow_share_new(void);
void ms__flow_share_free(MsFlowShare *share);

/* A transfer crosses link direction `ld` from `join` (when its first bits
 * reach the link) until `end` (when its last bits leave it). Any order of
 * calls gives the same counts. */
void ms__flow_share_add(MsFlowShare *share, guint ld, MsTime join, MsTime end);

/* The transfers crossing `ld` at time `at`, for a reader whose clock says
 * `now` (at >= now - MS__FLOW_SIGNAL_MAX; `now` never goes backwards
 * between calls). O(log n) in the transfers of the last
 * MS__FLOW_SIGNAL_MAX, plus what the call prunes. */
guint ms__flow_share_count(MsFlowShare *share, guint ld, MsTime at, MsTime now);

/* Times held (both ends of every interval not yet pruned), for
 * MS_FLOW_DEBUG. */
guint64 ms__flow_share_held(const MsFlowShare *share);

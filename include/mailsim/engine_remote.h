/* What a partitioned run needs from the engine: inserting an event that was
 * scheduled in another rank's engine with the order key it had there.
 *
 * The engine orders equal times by (scheduling host, that host's counter).
 * In a partitioned run the counter of host `src` lives in the engine of
 * src's rank; an event src schedules for a host of another rank carries
 * that counter value, and the receiving engine orders it by it. So every
 * event runs with the key it has in a sequential run, whatever the split
 * (tests/test_shard.c checks it on runs full of equal times). Used by
 * sim/dist/shard.c; implemented in sim/core/engine.c. */
#pragma once

#include "mailsim/engine.h"

G_BEGIN_DECLS

/* Takes the next value of `src`'s scheduling counter, as a schedule by src
 * would, without scheduling anything: for an event that src sends to a host
 * of another rank. */
guint64 ms_engine_take_seq(MsEngine *engine, MsHostId src);

/* Schedules an event of `type` for `host` at `at` (>= now) with the order
 * key (src, seq) given by the caller, leaving src's counter here alone.
 * Returns its handle. */
MsEventId ms_engine_schedule_remote(MsEngine *engine, MsHostId src, guint64 seq, MsTime at,
                                    MsHostId host, guint16 type, MsEventData data);

/* How soon the pending events could reach another part: the least over
 * pending events of (time + the delay of its host), delay[h] for hosts
 * h < n_delay and `other` for every other host (MS_HOST_WORLD included);
 * MS_TIME_INFINITE when nothing is pending. Visits only events earlier
 * than the result (the tiers' order prunes the rest), so a call costs
 * about the events of the window it bounds. */
MsTime ms_engine_next_reach(MsEngine *engine, const MsTime *delay, guint32 n_delay, MsTime other);

G_END_DECLS

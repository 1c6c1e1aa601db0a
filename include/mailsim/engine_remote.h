/* What a partitioned run needs from the engine: inserting an event that was
 * scheduled in another rank's engine with the order key it had there.
 *
 * The engine orders equal times by (scheduling host, that host's counter).
 * In a partitioned run the counter of host `src` lives in the engine of
 * src's rank; an event src schedules for a host of another rank must carry
 * that counter value, and the receiving engine must order it by it.
 *
 * The two functions below are implemented in sim/engine.c;
 * MS_ENGINE_REMOTE_NATIVE says so to sim/shard.c.
 *
 * Without them, sim/shard.c falls back on ms_engine_schedule_from(), and the
 * run order is still exactly the sequential one, because ties only ever
 * compare counters of the same `src`, and every event a given `src`
 * schedules reaches a given engine by one path, in src's scheduling order:
 * through the local engine when src is local, or through the exchange
 * (which keeps each sender's order) when it is not. The receiving engine's
 * own counter for a remote src therefore rises in the same order as src's
 * real counter. What differs is only the number in MsEvent.seq (and so the
 * engine's own fingerprint); models that need a split-independent
 * fingerprint hash per-host histories instead (see ms_phold_digest()).
 * tests/test_shard.c checks the fallback on runs full of equal times. */
#pragma once

#include "mailsim/engine.h"

G_BEGIN_DECLS

/* 1: sim/engine.c defines the two functions below. */
#define MS_ENGINE_REMOTE_NATIVE 1

#if MS_ENGINE_REMOTE_NATIVE
/* Takes the next value of `src`'s scheduling counter, as a schedule by src
 * would, without scheduling anything: for an event that src sends to a host
 * of another rank. */
guint64 ms_engine_take_seq(MsEngine *engine, MsHostId src);

/* Schedules an event of `type` for `host` at `at` (>= now) with the order
 * key (src, seq) given by the caller, leaving src's counter here alone.
 * Returns its handle. */
MsEventId ms_engine_schedule_remote(MsEngine *engine, MsHostId src, guint64 seq, MsTime at,
                                    MsHostId host, guint16 type, MsEventData data);
#endif

G_END_DECLS

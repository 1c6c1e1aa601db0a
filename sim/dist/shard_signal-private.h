/* A counter threads wait on (private to sim/dist: the in-process drivers
 * shard_team.c and shard_async.c). A waiter spins a while, then sleeps on
 * a condition so that on a shared machine it leaves the core to the
 * thread it waits for; bumping the counter wakes sleepers. Its atomic
 * operations are full barriers: whoever sees a count sees every write made
 * before it was bumped. */
#ifndef MAILSIM_SHARD_SIGNAL_PRIVATE_H
#define MAILSIM_SHARD_SIGNAL_PRIVATE_H

#include <glib.h>
#include <stdatomic.h>

typedef struct {
    atomic_llong count;
    atomic_int sleepers;
    GMutex lock;
    GCond wake;
} MsShardSignal;

void ms__shard_signal_init(MsShardSignal *s);
void ms__shard_signal_clear(MsShardSignal *s);
/* Adds one to the count and wakes the sleepers. */
void ms__shard_signal_bump(MsShardSignal *s);
/* Returns once the count is at least `target`: spins 50 us, then sleeps;
 * with `max_sleep` > 0 returns after sleeping that long in any case. */
void ms__shard_signal_wait(MsShardSignal *s, long long target, gint64 max_sleep);

#endif

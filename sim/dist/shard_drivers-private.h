/* What the in-process drivers of a partitioned run share (shard_team.c,
 * shard_async.c, shard_critical.c): taking the K parts over. */
#pragma once

#include "mailsim/shard.h"

/* Checks that shards[0..n-1] are the parts 0..n-1 of one partition and
 * switches them to in-process crossing (packets by reference: every driver
 * here delivers what is sent within the run). Returns the threads to use,
 * `threads` clamped to 1..n, or 0 (with a critical) when the shards are not
 * one partition's parts in order. */
guint ms__shard_drivers_begin(MsShard *const *shards, guint32 n, guint threads);

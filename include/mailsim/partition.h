/* A partition of a world's hosts into K parts, one per MPI rank (or per
 * in-process shard): which part owns each host. A host's events run only in
 * its owner's engine, so the map must be the same on every rank.
 *
 * Three schemes: MODULO puts host i in part i mod K (good balance for
 * uniform workloads such as PHOLD), BLOCKS puts contiguous runs of about N/K
 * hosts in each part (neighbours in id stay together, as generated worlds
 * number hosts of one domain consecutively); both are computed (O(1), no
 * memory per host). MAP stores an owner per host: the automatic split of a
 * world and partition files (include/mailsim/world.h). */
#pragma once

#include <glib.h>
#include "mailsim/engine.h"

G_BEGIN_DECLS

typedef enum {
    MS_PARTITION_MODULO,
    MS_PARTITION_BLOCKS,
    MS_PARTITION_MAP, /* an owner per host, given (ms_partition_new_map) */
} MsPartitionScheme;

typedef struct _MsPartition MsPartition;

/* A partition of hosts 0 .. n_hosts-1 into n_parts parts (both >= 1).
 * Returns a new partition (caller frees with ms_partition_free). */
MsPartition *ms_partition_new(guint32 n_hosts, guint32 n_parts, MsPartitionScheme scheme);
/* A partition with the owner of each host given (owners[h] < n_parts; copied). */
MsPartition *ms_partition_new_map(guint32 n_hosts, guint32 n_parts, const guint32 *owners);
void ms_partition_free(MsPartition *partition);

guint32 ms_partition_hosts(const MsPartition *partition);
guint32 ms_partition_parts(const MsPartition *partition);
MsPartitionScheme ms_partition_scheme(const MsPartition *partition);

/* The part that owns `host` (< n_hosts). */
guint32 ms_partition_owner(const MsPartition *partition, MsHostId host);

/* How many hosts `part` owns. */
guint32 ms_partition_count(const MsPartition *partition, guint32 part);

/* "mod" or "block" to a scheme; FALSE for anything else. */
gboolean ms_partition_scheme_from_string(const char *s, MsPartitionScheme *out);
/* The scheme's name, as ms_partition_scheme_from_string() reads it. */
const char *ms_partition_scheme_to_string(MsPartitionScheme scheme);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsPartition, ms_partition_free)

G_END_DECLS

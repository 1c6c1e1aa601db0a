/* Host-to-part maps for partitioned runs (see include/mailsim/partition.h).
 * Role: the distributed drivers (sim/dist/shard.c, sim/dist/mpi_run.c) ask it which
 * rank owns the target of each event.
 *
 * BLOCKS uses blocks of ceil(N/K) hosts, so the first parts are full and the
 * last may be short (or empty when N < K): host h belongs to h / ceil(N/K).
 * MAP holds an owner per host (4 bytes each): automatic splits and
 * partition files (sim/run/world_partition.c).
 * Invariants: every host has exactly one owner < K; the counts of all parts
 * add up to N. Costs: O(1) per lookup, no per-host memory. */
#include "mailsim/partition.h"

struct _MsPartition {
    guint32 hosts;
    guint32 parts;
    guint32 block; /* BLOCKS: hosts per part, ceil(hosts / parts) */
    MsPartitionScheme scheme;
    guint32 *owner; /* MAP: per host */
};

MsPartition *
ms_partition_new(guint32 n_hosts, guint32 n_parts, MsPartitionScheme scheme)
{
    g_return_val_if_fail(n_hosts >= 1 && n_parts >= 1, NULL);
    g_return_val_if_fail(scheme == MS_PARTITION_MODULO || scheme == MS_PARTITION_BLOCKS, NULL);
    MsPartition *p = g_new0(MsPartition, 1);
    p->hosts = n_hosts;
    p->parts = n_parts;
    p->scheme = scheme;
    p->block = (guint32) (((guint64) n_hosts + n_parts - 1) / n_parts);
    return p;
}

MsPartition *
ms_partition_new_map(guint32 n_hosts, guint32 n_parts, const guint32 *owners)
{
    g_return_val_if_fail(n_hosts >= 1 && n_parts >= 1 && owners != NULL, NULL);
    for (guint32 h = 0; h < n_hosts; h++)
        g_return_val_if_fail(owners[h] < n_parts, NULL);
    MsPartition *p = g_new0(MsPartition, 1);
    p->hosts = n_hosts;
    p->parts = n_parts;
    p->scheme = MS_PARTITION_MAP;
    p->owner = g_memdup2(owners, sizeof(guint32) * n_hosts);
    return p;
}

void
ms_partition_free(MsPartition *p)
{
    if (!p)
        return;
    g_free(p->owner);
    g_free(p);
}

guint32
ms_partition_hosts(const MsPartition *p)
{
    return p->hosts;
}
guint32
ms_partition_parts(const MsPartition *p)
{
    return p->parts;
}
MsPartitionScheme
ms_partition_scheme(const MsPartition *p)
{
    return p->scheme;
}

guint32
ms_partition_owner(const MsPartition *p, MsHostId host)
{
    g_return_val_if_fail(host < p->hosts, 0);
    switch (p->scheme) {
    case MS_PARTITION_MODULO:
        return host % p->parts;
    case MS_PARTITION_BLOCKS:
        return host / p->block;
    case MS_PARTITION_MAP:
    default:
        return p->owner[host];
    }
}

guint32
ms_partition_count(const MsPartition *p, guint32 part)
{
    g_return_val_if_fail(part < p->parts, 0);
    if (p->scheme == MS_PARTITION_MAP) {
        guint32 n = 0;
        for (guint32 h = 0; h < p->hosts; h++)
            n += p->owner[h] == part;
        return n;
    }
    if (p->scheme == MS_PARTITION_MODULO)
        return p->hosts / p->parts + (part < p->hosts % p->parts ? 1 : 0);
    guint64 first = (guint64) part * p->block;
    if (first >= p->hosts)
        return 0;
    return (guint32) MIN((guint64) p->block, p->hosts - first);
}

gboolean
ms_partition_scheme_from_string(const char *s, MsPartitionScheme *out)
{
    if (g_strcmp0(s, "mod") == 0) {
        *out = MS_PARTITION_MODULO;
        return TRUE;
    }
    if (g_strcmp0(s, "block") == 0) {
        *out = MS_PARTITION_BLOCKS;
        return TRUE;
    }
    return FALSE;
}

const char *
ms_partition_scheme_to_string(MsPartitionScheme scheme)
{
    return scheme == MS_PARTITION_BLOCKS ? "block" : scheme == MS_PARTITION_MAP ? "map" : "mod";
}

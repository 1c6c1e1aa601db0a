/* The stub/iterative resolver of a simulated host (an ISP's mail server asks
 * it for MX and A records). Iterative mode follows referrals (root, then the
 * TLD's servers, then the domain's own authoritative servers) and caches
 * them, so it starts at the closest zone whose servers it knows (RFC 1034
 * 5.3.3): the root only for a TLD it has not met or whose delegation
 * expired. Recursive mode sends one query with RD set to a configured
 * server (a flat registry in teaching worlds). Answers and negative answers
 * are cached for their TTL (RFC 2308 for NXDOMAIN and NODATA); lost queries
 * are retried, and a server that never answers gives a timeout. Every query
 * has a random id and a random source port (RFC 5452). Results are
 * delivered through a callback, never synchronously. */
#pragma once

#include <glib.h>
#include "mailsim/net.h"
#include "mailsim/dns_codec.h"

G_BEGIN_DECLS

typedef enum {
    MS_RESOLVE_OK,
    MS_RESOLVE_NXDOMAIN, /* the name does not exist */
    MS_RESOLVE_NODATA,   /* the name exists, no record of that type */
    MS_RESOLVE_TIMEOUT,  /* no server answered */
    MS_RESOLVE_SERVFAIL, /* a server failed, refused, or the referral chain broke */
} MsResolveStatus;

typedef struct _MsResolver MsResolver;

/* `records`: the answer's records of the asked type (borrowed, valid during
 * the call); `additional`: A records the servers gave along (e.g. for MX
 * exchanges), also borrowed. from_cache tells whether any query was sent. */
typedef void (*MsResolveFunc)(MsResolver *resolver, MsResolveStatus status, GPtrArray *records,
                              GPtrArray *additional, gboolean from_cache, gpointer user_data);

typedef struct {
    guint64 lookups, cache_hits, queries_sent, timeouts;
    guint64 delegation_hits; /* iterative lookups that started below the root */
    guint64 cache_entries;   /* held now (expired ones not yet swept away included) */
} MsResolverStats;

/* A resolver on `host` asking `server_addr`: iteratively (a root server)
 * or with recursion desired (a recursive server or a flat registry).
 * Returns a new resolver (caller frees). */
MsResolver *ms_resolver_new(MsNet *net, MsHostId host, guint32 server_addr, gboolean iterative);
void ms_resolver_free(MsResolver *resolver);

/* Looks up (name, type); `message` tags the trace records (0: none).
 * user_data must stay valid until the callback. */
void ms_resolver_lookup(MsResolver *resolver, const char *name, guint16 type, guint32 message,
                        MsResolveFunc func, gpointer user_data);

/* Until when the cache holds (name, type) (answers, negative answers, and
 * the NS sets and glue of referrals alike); 0 when it does not. */
MsTime ms_resolver_cached_until(MsResolver *resolver, const char *name, guint16 type);

void ms_resolver_get_stats(const MsResolver *resolver, MsResolverStats *stats);

const char *ms_resolve_status_to_string(MsResolveStatus status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsResolver, ms_resolver_free)

G_END_DECLS

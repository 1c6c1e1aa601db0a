/* DNS registries on simulated hosts: authoritative servers answering over
 * UDP port 53 with the DNS wire codec (include/mailsim/dns_codec.h). A
 * server holds zones; for a name below a delegation it holds (NS records
 * for a child zone) it answers with a referral, as root and TLD servers do;
 * otherwise it answers with authority: the records, NODATA or NXDOMAIN with
 * the zone's SOA (RFC 2308). It never recurses. A "flat" teaching world uses
 * one such server holding every zone. */
#pragma once

#include <glib.h>
#include "mailsim/net.h"
#include "mailsim/dns_codec.h"

G_BEGIN_DECLS

#define MS_DNS_PORT 53

typedef struct _MsDnsServer MsDnsServer;

/* A server on `host`, bound to UDP port 53. Returns a new server (caller
 * frees; the net must outlive it). */
MsDnsServer *ms_dns_server_new(MsNet *net, MsHostId host);
void ms_dns_server_free(MsDnsServer *server);

/* Adds a zone with an SOA (minimum = negative TTL = `ttl`). The root zone
 * is "". Adding an existing zone does nothing. */
void ms_dns_server_add_zone(MsDnsServer *server, const char *zone, guint32 ttl);

/* Adds a record (owned) to the zone that holds its owner name: the longest
 * zone of this server that the name is in. FALSE (record freed) if none. */
gboolean ms_dns_server_add_record(MsDnsServer *server, MsDnsRecord *record);

/* Does this server hold `zone` itself? */
gboolean ms_dns_server_has_zone(const MsDnsServer *server, const char *zone);

guint64 ms_dns_server_queries(const MsDnsServer *server);

/* Is `name` equal to or below `zone` (label-wise, case-insensitive)? */
gboolean ms_dns_name_in_zone(const char *name, const char *zone);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDnsServer, ms_dns_server_free)

G_END_DECLS

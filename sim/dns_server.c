/* DNS registries (see include/mailsim/dns_server.h): zones as arrays of
 * records, answered by scanning the zone that holds the query name. Zones
 * in a teaching or benchmark world have a handful of records each, so a scan
 * beats an index; a root or TLD server of a large generated world holds one
 * NS set per child, and wants a hash by owner name (noted, not yet needed).
 *
 * Answering a query for (name, type) at a server, following RFC 1034 4.3.2:
 *   1. pick the longest zone held that contains `name`; none: REFUSED;
 *   2. if a delegation (NS records at an owner below the apex) covers
 *      `name`: a referral: no answer, the NS set in authority, their
 *      addresses (glue) in additional, AA clear;
 *   3. else records of `type` at `name`: the answer, AA set; for MX also the
 *      exchanges' A records in additional;
 *   4. else if `name` owns other records: NODATA (NOERROR, SOA in authority);
 *   5. else NXDOMAIN with the SOA. */
#include "mailsim/dns_server.h"

#include <string.h>

typedef struct {
    char        *name;
    MsDnsRecord *soa;
    GPtrArray   *records;   /* MsDnsRecord*, owned */
} Zone;

struct _MsDnsServer {
    MsNet     *net;
    MsHostId   host;
    GPtrArray *zones;       /* Zone* */
    guint64    queries;
};

static void
zone_free(gpointer p)
{
    Zone *z = p;
    g_free(z->name);
    ms_dns_record_free(z->soa);
    g_ptr_array_unref(z->records);
    g_free(z);
}

gboolean
ms_dns_name_in_zone(const char *name, const char *zone)
{
    gsize n = strlen(name), z = strlen(zone);
    if (z == 0)
        return TRUE;
    if (n < z || g_ascii_strcasecmp(name + n - z, zone) != 0)
        return FALSE;
    return n == z || name[n - z - 1] == '.';
}

static Zone *
zone_for(const MsDnsServer *s, const char *name)
{
    Zone *best = NULL;
    for (guint i = 0; i < s->zones->len; i++) {
        Zone *z = g_ptr_array_index(s->zones, i);
        if (ms_dns_name_in_zone(name, z->name) && (!best || strlen(z->name) > strlen(best->name)))
            best = z;
    }
    return best;
}

static void on_query(MsNet *net, MsHostId host, guint16 port, guint32 src_addr, guint16 src_port,
                     GBytes *payload, gpointer user_data);

MsDnsServer *
ms_dns_server_new(MsNet *net, MsHostId host)
{
    MsDnsServer *s = g_new0(MsDnsServer, 1);
    s->net = net;
    s->host = host;
    s->zones = g_ptr_array_new_with_free_func(zone_free);
    ms_udp_bind(net, host, MS_DNS_PORT, on_query, s);
    return s;
}

void
ms_dns_server_free(MsDnsServer *s)
{
    if (!s)
        return;
    g_ptr_array_unref(s->zones);
    g_free(s);
}

guint64 ms_dns_server_queries(const MsDnsServer *s) { return s->queries; }

gboolean
ms_dns_server_has_zone(const MsDnsServer *s, const char *zone)
{
    for (guint i = 0; i < s->zones->len; i++)
        if (ms_dns_name_equal(((Zone *) g_ptr_array_index(s->zones, i))->name, zone))
            return TRUE;
    return FALSE;
}

void
ms_dns_server_add_zone(MsDnsServer *s, const char *zone, guint32 ttl)
{
    if (ms_dns_server_has_zone(s, zone))
        return;
    Zone *z = g_new0(Zone, 1);
    z->name = g_strdup(zone);
    const char *me = ms_net_host_name(s->net, s->host);
    g_autofree char *rname = g_strdup_printf("hostmaster%s%s", *zone ? "." : "", zone);
    /* Serial, refresh, retry, expire: common registry values (RFC 1912 2.2). */
    z->soa = ms_dns_record_new_soa(zone, ttl, me, rname, 2026112901, 7200, 3600, 1209600, ttl);
    z->records = g_ptr_array_new_with_free_func((GDestroyNotify) ms_dns_record_free);
    g_ptr_array_add(s->zones, z);
}

gboolean
ms_dns_server_add_record(MsDnsServer *s, MsDnsRecord *rec)
{
    Zone *z = zone_for(s, rec->name);
    if (!z) {
        ms_dns_record_free(rec);
        return FALSE;
    }
    g_ptr_array_add(z->records, rec);
    return TRUE;
}

/* Adds copies of the A records of `name` found in any zone of s. */
static void
add_glue(const MsDnsServer *s, const char *name, GPtrArray *section)
{
    for (guint i = 0; i < s->zones->len; i++) {
        Zone *z = g_ptr_array_index(s->zones, i);
        for (guint k = 0; k < z->records->len; k++) {
            MsDnsRecord *r = g_ptr_array_index(z->records, k);
            if (r->type == MS_DNS_TYPE_A && ms_dns_name_equal(r->name, name))
                g_ptr_array_add(section, ms_dns_record_copy(r));
        }
    }
}

static MsDnsMessage *
answer(MsDnsServer *s, const MsDnsMessage *q)
{
    Zone *z = q->has_question ? zone_for(s, q->qname) : NULL;
    if (!q->has_question || q->opcode != MS_DNS_OPCODE_QUERY)
        return ms_dns_message_new_response(q, q->has_question ? MS_DNS_RCODE_NOTIMP : MS_DNS_RCODE_FORMERR, FALSE);
    if (!z)
        return ms_dns_message_new_response(q, MS_DNS_RCODE_REFUSED, FALSE);
    /* A delegation below the apex that covers the name: refer. */
    const char *cut = NULL;
    for (guint k = 0; k < z->records->len; k++) {
        MsDnsRecord *r = g_ptr_array_index(z->records, k);
        if (r->type == MS_DNS_TYPE_NS && !ms_dns_name_equal(r->name, z->name) &&
            ms_dns_name_in_zone(q->qname, r->name) && (!cut || strlen(r->name) > strlen(cut)))
            cut = r->name;
    }
    if (cut) {
        MsDnsMessage *m = ms_dns_message_new_response(q, MS_DNS_RCODE_NOERROR, FALSE);
        for (guint k = 0; k < z->records->len; k++) {
            MsDnsRecord *r = g_ptr_array_index(z->records, k);
            if (r->type == MS_DNS_TYPE_NS && ms_dns_name_equal(r->name, cut)) {
                g_ptr_array_add(m->authority, ms_dns_record_copy(r));
                add_glue(s, r->rdata.target, m->additional);
            }
        }
        return m;
    }
    MsDnsMessage *m = ms_dns_message_new_response(q, MS_DNS_RCODE_NOERROR, TRUE);
    gboolean name_exists = ms_dns_name_equal(q->qname, z->name);
    for (guint k = 0; k < z->records->len; k++) {
        MsDnsRecord *r = g_ptr_array_index(z->records, k);
        if (!ms_dns_name_equal(r->name, q->qname))
            continue;
        name_exists = TRUE;
        if (r->type == q->qtype || (q->qtype != MS_DNS_TYPE_CNAME && r->type == MS_DNS_TYPE_CNAME)) {
            g_ptr_array_add(m->answer, ms_dns_record_copy(r));
            if (r->type == MS_DNS_TYPE_MX && r->rdata.mx.exchange[0])
                add_glue(s, r->rdata.mx.exchange, m->additional);
        }
    }
    if (q->qtype == MS_DNS_TYPE_SOA && ms_dns_name_equal(q->qname, z->name) && m->answer->len == 0)
        g_ptr_array_add(m->answer, ms_dns_record_copy(z->soa));
    if (m->answer->len == 0) {
        m->rcode = name_exists ? MS_DNS_RCODE_NOERROR : MS_DNS_RCODE_NXDOMAIN;
        g_ptr_array_add(m->authority, ms_dns_record_copy(z->soa));
    }
    return m;
}

static void
on_query(MsNet *net, MsHostId host, guint16 port, guint32 src_addr, guint16 src_port,
         GBytes *payload, gpointer user_data)
{
    MsDnsServer *s = user_data;
    (void) port;
    gsize len;
    const guint8 *data = g_bytes_get_data(payload, &len);
    g_autoptr(MsDnsMessage) q = ms_dns_message_decode(data, len, NULL);
    if (!q || q->qr)
        return;   /* garbage or a response: ignore, as servers do */
    s->queries++;
    g_autoptr(MsDnsMessage) r = answer(s, q);
    g_autoptr(GBytes) out = ms_dns_message_encode(r);
    if (out)
        ms_udp_send(net, host, MS_DNS_PORT, src_addr, src_port, out);
}

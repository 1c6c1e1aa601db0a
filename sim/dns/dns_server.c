/* DNS registries (see include/mailsim/dns_server.h): zones as arrays of
 * records, answered by scanning the zone that holds the query name. Zones
 * in a teaching or benchmark world have a handful of records each, so a scan
 * within a zone beats an index; but a flat registry of a generated world
 * holds thousands of zones, so finding the zone and the glue (A records of
 * any zone) goes through two hashes keyed by the lower-cased name without
 * its trailing dot: zones by name (the longest enclosing zone is the first
 * suffix of the query name found), A records by owner, each list in (zone,
 * record) order as a scan would find them. Names with backslash escapes
 * take the scans, which handle them exactly. A root or TLD server of a
 * hierarchy holds one NS set per child and still scans its zone for cuts.
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
    char *name;
    MsDnsRecord *soa;
    GPtrArray *records; /* MsDnsRecord*, owned */
} Zone;

typedef struct {
    guint zone, seq;
    MsDnsRecord *rec;
} GlueRef;

struct _MsDnsServer {
    MsNet *net;
    MsHostId host;
    GPtrArray *zones; /* Zone* */
    guint64 queries;
    GHashTable *zone_index; /* key(zone name) -> zone index + 1 */
    GHashTable *a_index;    /* key(owner) -> GArray of GlueRef */
    gboolean escaped;       /* some name has a backslash: use the scans */
    guint next_seq;
};

/* The index key of a name: lower case, no trailing dot; NULL (scan) for
 * names with escapes. */
static char *
index_key(const char *name)
{
    if (strchr(name, '\\'))
        return NULL;
    gsize n = strlen(name);
    if (n > 0 && name[n - 1] == '.')
        n--;
    char *k = g_ascii_strdown(name, (gssize) n);
    return k;
}

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
    g_autofree char *key = s->escaped ? NULL : index_key(name);
    if (key) {
        /* ms_dns_name_in_zone() is a textual suffix at a label boundary:
         * try the name, then each suffix after a dot, then the root. */
        for (const char *p = key;;) {
            gpointer v = g_hash_table_lookup(s->zone_index, p);
            if (v)
                return g_ptr_array_index(s->zones, GPOINTER_TO_UINT(v) - 1);
            if (*p == '\0')
                return NULL;
            const char *dot = strchr(p, '.');
            p = dot ? dot + 1 : p + strlen(p);
        }
    }
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
    s->zone_index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->a_index =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
    ms_udp_bind(net, host, MS_DNS_PORT, on_query, s);
    return s;
}

void
ms_dns_server_free(MsDnsServer *s)
{
    if (!s)
        return;
    g_ptr_array_unref(s->zones);
    g_hash_table_destroy(s->zone_index);
    g_hash_table_destroy(s->a_index);
    g_free(s);
}

guint64
ms_dns_server_queries(const MsDnsServer *s)
{
    return s->queries;
}

gboolean
ms_dns_server_has_zone(const MsDnsServer *s, const char *zone)
{
    g_autofree char *key = s->escaped ? NULL : index_key(zone);
    if (key)
        return g_hash_table_contains(s->zone_index, key);
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
    char *key = index_key(zone);
    if (key)
        g_hash_table_insert(s->zone_index, key, GUINT_TO_POINTER(s->zones->len));
    else
        s->escaped = TRUE;
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
    if (rec->type == MS_DNS_TYPE_A) {
        char *key = index_key(rec->name);
        if (!key) {
            s->escaped = TRUE;
            return TRUE;
        }
        guint zi = 0;
        while (g_ptr_array_index(s->zones, zi) != z)
            zi++;
        GArray *list = g_hash_table_lookup(s->a_index, key);
        if (!list) {
            list = g_array_new(FALSE, FALSE, sizeof(GlueRef));
            g_hash_table_insert(s->a_index, key, list);
        } else {
            g_free(key);
        }
        GlueRef ref = { zi, s->next_seq++, rec };
        guint at = list->len;
        while (at > 0 && g_array_index(list, GlueRef, at - 1).zone > zi)
            at--; /* keep (zone, record) order, as the scan finds them */
        g_array_insert_val(list, at, ref);
    }
    return TRUE;
}

/* Adds copies of the A records of `name` found in any zone of s. */
static void
add_glue(const MsDnsServer *s, const char *name, GPtrArray *section)
{
    g_autofree char *key = s->escaped ? NULL : index_key(name);
    if (key) {
        GArray *list = g_hash_table_lookup(s->a_index, key);
        for (guint i = 0; list && i < list->len; i++) {
            MsDnsRecord *r = g_array_index(list, GlueRef, i).rec;
            if (ms_dns_name_equal(r->name, name))
                g_ptr_array_add(section, ms_dns_record_copy(r));
        }
        return;
    }
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
        return ms_dns_message_new_response(
            q, q->has_question ? MS_DNS_RCODE_NOTIMP : MS_DNS_RCODE_FORMERR, FALSE);
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
        if (r->type == q->qtype ||
            (q->qtype != MS_DNS_TYPE_CNAME && r->type == MS_DNS_TYPE_CNAME)) {
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
        return; /* garbage or a response: ignore, as servers do */
    s->queries++;
    g_autoptr(MsDnsMessage) r = answer(s, q);
    g_autoptr(GBytes) out = ms_dns_message_encode(r);
    if (out)
        ms_udp_send(net, host, MS_DNS_PORT, src_addr, src_port, out);
}

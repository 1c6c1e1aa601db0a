/* The scenario reader: a parsed libxml2 tree -> MsScenario, with every
 * meaning check (see include/mailsim/scenario.h for the result and
 * sim/scenario/scenario.c for the parsing and the schema that run first).
 *
 * Design. The reader never trusts the schema: each value it uses is checked
 * again here, with a message that names the element, the attribute, what was
 * wrong and what was expected, and it keeps going after an error so that one
 * run reports every problem. Elements may come in any order in the file, so
 * the root's children are walked in phases, each kind after the kinds it
 * refers to: hosts; links, routing, dns, zones; mail servers; clients;
 * messages; then checks, workloads, faults, expectations and outputs. Every
 * reference is resolved to an array index during its phase, so the result
 * holds no names to look up.
 *
 * Each phase walks the root with an MsScenarioWalk (scenario_stream.c), which
 * makes a generated world's elements from the generator's records in place
 * of its <generate/> placeholder, one element at a time.
 *
 * Ownership: the reader allocates the MsScenario and every string in it;
 * attribute strings fetched from libxml2 live in Reader.temps until the
 * walk moves to the next element (until the end for the root's own).
 * The reader consumes the tree: each phase frees the elements it has read
 * once no later phase refers to them (drop_read()), so that the tree and the
 * scenario built from it never coexist whole. On the generated medium world
 * the tree would be about 30 MB and the scenario is 22 MB; streaming keeps
 * the tree out of every process (loading peaks at 31 MiB resident instead of
 * 54 MiB).
 * Costs: linear in the file, with hash tables (load time only, never
 * iterated) for host ids, addresses, domains and message ids. */
#include "scenario-private.h"
#include "mailsim/units.h"

#include <math.h>
#include <string.h>

/* ---- phases --------------------------------------------------------------- */

static void
read_root(MsScenarioReader *R, xmlNode *root)
{
    MsScenario *sc = R->sc;
    sc->version = MS_SCENARIO_VERSION; /* others are refused before the reader runs */
    const char *name = ms__reader_need(R, root, "name", "a short name for the scenario");
    sc->name = g_strdup(name ? name : "");
    sc->seed = ms__reader_get_count(R, root, "seed", 0, G_MAXUINT64, 1);
    sc->until = ms__reader_get_time(R, root, "until", MS_TIME_INFINITE);
    if (sc->until == 0) {
        ms__reader_err(R, root, "until",
                       "0 would end the run before it starts: expected a time > 0 "
                       "(or no until= to run until idle)");
        sc->until = MS_TIME_INFINITE;
    }
    static const char *const fidelities[] = { "packet", "flow", NULL };
    sc->fidelity =
        (MsFidelity) ms__reader_get_enum(R, root, "fidelity", fidelities, MS_FIDELITY_PACKET);
    sc->keep_bodies = ms__reader_get_bool(R, root, "keep-bodies", TRUE, NULL);
    /* TLS is the default, as at a modern provider (RFC 8314, RFC 3207):
     * only tls="false" makes a world in clear, e.g. a lesson whose capture
     * shows the protocol in readable lines. */
    sc->tls = ms__reader_get_bool(R, root, "tls", TRUE, NULL);
    static const char *const metrics[] = { "latency", "hops", "policy", NULL };
    sc->routing =
        (MsRoutingMetric) ms__reader_get_enum(R, root, "routing", metrics, MS_ROUTING_LATENCY);
    guint ntitle = 0, ndesc = 0;
    for (xmlNode *n = root->children; n; n = n->next) {
        if (ms__reader_is(n, "title") || ms__reader_is(n, "description")) {
            gboolean t = ms__reader_is(n, "title");
            if ((t ? ntitle++ : ndesc++) > 0) {
                ms__reader_err(R, n, NULL, "given twice: expected at most one <%s>",
                               (const char *) n->name);
                continue;
            }
            xmlChar *text = xmlNodeGetContent(n);
            char *s = g_strstrip(g_strdup(text ? (const char *) text : ""));
            xmlFree(text);
            if (t)
                sc->title = s;
            else
                sc->description = s;
        }
    }
    if (!sc->title)
        sc->title = g_strdup("");
    if (!sc->description)
        sc->description = g_strdup("");
}

static const char *const role_names[] = { "client", "mailserver", "dns", "relay", "router", NULL };

static void
read_host(MsScenarioReader *R, xmlNode *n, GHashTable *addresses, GHashTable *names)
{
    MsScenarioHost h = { .line = ms__reader_line_of(n), .mailserver = -1, .client = -1 };
    const char *why;
    const char *id = ms__reader_need(R, n, "id", "a unique id, e.g. pc-alice");
    if (!id)
        return;
    if (!ms__scenario_check_id(id, &why)) {
        ms__reader_err(R, n, "id", "'%s' is not a valid id: %s", id, why);
        return;
    }
    if (ms__reader_find_host(R, id) >= 0) {
        ms__reader_err(R, n, "id", "duplicate id '%s': first defined on line %u", id,
                       ms__reader_host_at(R, ms__reader_find_host(R, id))->line);
        return;
    }
    const char *name = ms__reader_attr(R, n, "name");
    h.name = ms__reader_get_hostname(R, n, "name", name ? name : id);
    if (!h.name)
        h.name = g_ascii_strdown(id, -1);
    gpointer prev = g_hash_table_lookup(names, h.name);
    if (prev)
        ms__reader_err(R, n, "name", "duplicate host name '%s': also host '%s'", h.name,
                       ms__reader_host_at(R, GPOINTER_TO_INT(prev) - 1)->id);
    h.role = (MsScenarioRole) ms__reader_get_enum(R, n, "role", role_names, MS_HOST_ROUTER);
    if (!ms__reader_attr(R, n, "role"))
        ms__reader_err(R, n, "role",
                       "missing: expected one of client, mailserver, dns, relay, router");
    const char *addr = ms__reader_need(R, n, "address", "an IPv4 address, e.g. 192.0.2.10");
    if (addr) {
        if (!ms__scenario_parse_ipv4(addr, &h.address, &why)) {
            ms__reader_err(R, n, "address", "'%s' is not valid: %s", addr, why);
        } else {
            gpointer other = g_hash_table_lookup(addresses, GUINT_TO_POINTER(h.address));
            if (other)
                ms__reader_err(R, n, "address", "duplicate address %s: already host '%s'", addr,
                               ms__reader_host_at(R, GPOINTER_TO_INT(other) - 1)->id);
        }
    }
    const char *x = ms__reader_attr(R, n, "x"), *y = ms__reader_attr(R, n, "y");
    if (x || y) {
        if (!x || !y || !ms__reader_parse_number(x, &h.x) || !ms__reader_parse_number(y, &h.y))
            ms__reader_err(R, n, x ? "y" : "x",
                           "bad diagram position: expected both x and y as numbers");
        else
            h.has_position = TRUE;
    }
    const char *label = ms__reader_attr(R, n, "label");
    if (label)
        h.label = g_strdup(label);
    const char *lat = ms__reader_attr(R, n, "lat"), *lon = ms__reader_attr(R, n, "lon");
    if (lat || lon) {
        if (!lat || !lon || !ms__reader_parse_number(lat, &h.lat) ||
            !ms__reader_parse_number(lon, &h.lon))
            ms__reader_err(R, n, lat ? "lon" : "lat",
                           "bad coordinates: expected both lat and lon as numbers (degrees)");
        else if (h.lat < -90 || h.lat > 90 || h.lon < -180 || h.lon > 180)
            ms__reader_err(R, n, "lat",
                           "(%g, %g) is not a place: expected lat -90 to 90 and lon -180 to 180",
                           h.lat, h.lon);
        else
            h.has_geo = TRUE;
    }
    h.asn = (guint32) ms__reader_get_count(R, n, "as", 1, G_MAXUINT32, 0);
    h.id = g_strdup(id);
    g_array_append_val(R->sc->hosts, h);
    gint idx = (gint) R->sc->hosts->len;
    g_hash_table_insert(R->host_ids, h.id, GINT_TO_POINTER(idx));
    if (!prev)
        g_hash_table_insert(names, h.name, GINT_TO_POINTER(idx));
    if (h.address && !g_hash_table_contains(addresses, GUINT_TO_POINTER(h.address)))
        g_hash_table_insert(addresses, GUINT_TO_POINTER(h.address), GINT_TO_POINTER(idx));
}

/* A generated host record straight into the scenario: what read_host()
 * makes of its element, when no check there could fail; FALSE (nothing
 * done) otherwise, and the caller reads the record's element instead, for
 * read_host()'s errors. Generated names are lower case already. */
static gboolean
read_gen_host(MsScenarioReader *R, const MsGenElement *e, guint line, GHashTable *addresses,
              GHashTable *names)
{
    const char *id = e->s[0], *name = e->s[1], *why;
    gint role = -1;
    for (gint i = 0; role_names[i]; i++)
        if (strcmp(role_names[i], e->s[2]) == 0)
            role = i;
    if (role < 0 || e->num == 0 || !ms__scenario_check_id(id, &why) ||
        !ms__scenario_check_hostname(name, &why) || ms__reader_find_host(R, id) >= 0 ||
        g_hash_table_contains(addresses, GUINT_TO_POINTER(e->num)))
        return FALSE;
    for (const char *c = name; *c; c++)
        if (g_ascii_isupper(*c))
            return FALSE;
    if (g_hash_table_contains(names, name))
        return FALSE;
    MsScenarioHost h = { .line = line,
                         .id = g_strdup(id),
                         .name = g_strdup(name),
                         .role = (MsScenarioRole) role,
                         .address = e->num,
                         .mailserver = -1,
                         .client = -1 };
    g_array_append_val(R->sc->hosts, h);
    gint idx = (gint) R->sc->hosts->len;
    g_hash_table_insert(R->host_ids, h.id, GINT_TO_POINTER(idx));
    g_hash_table_insert(names, h.name, GINT_TO_POINTER(idx));
    g_hash_table_insert(addresses, GUINT_TO_POINTER(h.address), GINT_TO_POINTER(idx));
    return TRUE;
}

/* A generated link record straight into the scenario, as read_gen_host()
 * does for hosts (read_link()'s defaults for what the record leaves out). */
static gboolean
read_gen_link(MsScenarioReader *R, const MsGenElement *e, guint line, GHashTable *pairs)
{
    gint a = ms__reader_find_host(R, e->s[0]), b = ms__reader_find_host(R, e->s[1]);
    MsScenarioLink l = { .line = line,
                         .latency = (MsTime) e->num * MS_TIME_MS,
                         .mtu = 1500,
                         .queue_bytes = 64 * 1024,
                         .relation = MS_RELATION_NONE };
    if (a < 0 || b < 0 || a == b || e->num == 0 ||
        !ms_units_parse_rate(e->s[2], &l.bandwidth_bps, NULL))
        return FALSE;
    guint64 key = ((guint64) MIN(a, b) << 32) | (guint64) MAX(a, b);
    if (g_hash_table_contains(pairs, &key))
        return FALSE;
    l.a = (guint) a;
    l.b = (guint) b;
    g_array_append_val(R->sc->links, l);
    g_hash_table_insert(pairs, g_memdup2(&key, sizeof key),
                        GINT_TO_POINTER((gint) R->sc->links->len));
    return TRUE;
}

static void
read_link(MsScenarioReader *R, xmlNode *n, GHashTable *pairs)
{
    MsScenarioLink l = { .line = ms__reader_line_of(n) };
    gint a = ms__reader_get_host(R, n, "a", TRUE), b = ms__reader_get_host(R, n, "b", TRUE);
    l.latency = ms__reader_get_time(R, n, "latency", MS_TIME_MS);
    if (l.latency == 0 && ms__reader_attr(R, n, "latency"))
        ms__reader_err(R, n, "latency",
                       "0 is not allowed: expected a time > 0 (links need a positive "
                       "latency, the engine's lookahead)");
    const char *bw = ms__reader_attr(R, n, "bandwidth");
    l.bandwidth_bps = 100000000;
    if (bw) {
        g_autoptr(GError) e = NULL;
        if (!ms_units_parse_rate(bw, &l.bandwidth_bps, &e))
            ms__reader_err(R, n, "bandwidth", "%s", e->message);
    }
    guint64 mtu = ms__reader_get_size(R, n, "mtu", 1500);
    if (mtu < 68 || mtu > 65535) /* RFC 791: every host must take 68-octet datagrams */
        ms__reader_err(R, n, "mtu",
                       "%" G_GUINT64_FORMAT " bytes is out of range: expected 68B to 65535B "
                       "(RFC 791 minimum 68)",
                       mtu);
    l.mtu = (guint32) CLAMP(mtu, 68, 65535);
    l.loss = ms__reader_get_fraction(R, n, "loss", 0.0);
    if (ms__reader_attr(R, n, "queue-packets")) {
        if (ms__reader_attr(R, n, "queue"))
            ms__reader_err(R, n, "queue-packets",
                           "both queue and queue-packets given: expected one of them");
        l.queue_packets = (guint32) ms__reader_get_count(R, n, "queue-packets", 1, 1000000, 64);
    } else {
        l.queue_bytes = ms__reader_get_size(R, n, "queue", 64 * 1024);
        if (l.queue_bytes < l.mtu)
            ms__reader_err(R, n, "queue",
                           "%" G_GUINT64_FORMAT " bytes cannot hold one packet of the MTU "
                           "(%u bytes): expected at least the MTU",
                           l.queue_bytes, l.mtu);
    }
    static const char *const relations[] = { "none", "provider-customer", "peer", NULL };
    l.relation =
        (MsScenarioRelation) ms__reader_get_enum(R, n, "relation", relations, MS_RELATION_NONE);
    if (a < 0 || b < 0)
        return;
    if (a == b) {
        ms__reader_err(R, n, "b", "a link from host '%s' to itself: expected two different hosts",
                       ms__reader_host_at(R, a)->id);
        return;
    }
    guint64 key = ((guint64) MIN(a, b) << 32) | (guint64) MAX(a, b);
    guint64 *k = g_new(guint64, 1);
    *k = key;
    gpointer prev = g_hash_table_lookup(pairs, k);
    if (prev) {
        ms__reader_err(R, n, NULL, "a second link between '%s' and '%s': the first is on line %u",
                       ms__reader_host_at(R, a)->id, ms__reader_host_at(R, b)->id,
                       g_array_index(R->sc->links, MsScenarioLink, GPOINTER_TO_INT(prev) - 1).line);
        g_free(k);
        return;
    }
    l.a = (guint) a;
    l.b = (guint) b;
    g_array_append_val(R->sc->links, l);
    g_hash_table_insert(pairs, k, GINT_TO_POINTER((gint) R->sc->links->len));
}

static void
read_dns(MsScenarioReader *R, xmlNode *n)
{
    static const char *const modes[] = { "flat", "hierarchy", NULL };
    MsScenario *sc = R->sc;
    sc->dns_mode =
        ms__reader_get_enum(R, n, "mode", modes, 0) == 0 ? MS_DNS_FLAT : MS_DNS_HIERARCHY;
    if (sc->dns_mode == MS_DNS_FLAT) {
        sc->dns_server =
            ms__reader_get_host_role(R, n, "server", TRUE, ROLE(MS_HOST_DNS), "a dns host");
        if (ms__reader_attr(R, n, "root"))
            ms__reader_err(R, n, "root", "only mode=\"hierarchy\" takes a root: expected server=");
    } else {
        sc->dns_root =
            ms__reader_get_host_role(R, n, "root", TRUE, ROLE(MS_HOST_DNS), "a dns host");
        if (ms__reader_attr(R, n, "server"))
            ms__reader_err(R, n, "server", "mode=\"hierarchy\" takes root=, not server=");
    }
}

/* TRUE when name is the zone apex or below it. */
static gboolean
in_zone(const char *name, const char *zone)
{
    gsize ln = strlen(name), lz = strlen(zone);
    if (ln == lz)
        return strcmp(name, zone) == 0;
    return ln > lz && name[ln - lz - 1] == '.' && strcmp(name + ln - lz, zone) == 0;
}

static void
read_zone(MsScenarioReader *R, xmlNode *n, GHashTable *zone_names)
{
    MsScenarioZone z = { .line = ms__reader_line_of(n) };
    const char *name = ms__reader_need(R, n, "name", "a domain, e.g. example.com");
    gint server = ms__reader_get_host_role(R, n, "server", TRUE, ROLE(MS_HOST_DNS), "a dns host");
    z.ttl = ms__reader_get_time(R, n, "ttl", MS_TIME_H);
    z.dnssec = ms__reader_get_bool(R, n, "dnssec", FALSE, NULL);
    if (!name)
        return;
    /* "." or "com" are valid zones (a hierarchy has a root and TLDs). */
    char *zname =
        strcmp(name, ".") == 0 ? g_strdup(".") : ms__reader_get_hostname(R, n, "name", name);
    if (!zname)
        return;
    if (g_hash_table_contains(zone_names, zname)) {
        ms__reader_err(R, n, "name", "duplicate zone '%s': expected each zone once", zname);
        g_free(zname);
        return;
    }
    z.name = zname;
    z.server = server >= 0 ? (guint) server : 0;
    z.records = g_array_new(FALSE, TRUE, sizeof(MsScenarioRecord));
    gboolean root = strcmp(zname, ".") == 0;
    guint nmx = 0, nnull = 0;
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        MsScenarioRecord r = { .line = ms__reader_line_of(c), .host = -1, .ttl = z.ttl };
        if (ms__reader_is(c, "mx")) {
            r.type = MS_RECORD_MX;
            r.preference = (guint16) ms__reader_get_count(R, c, "preference", 0, 65535, 10);
            if (!ms__reader_attr(R, c, "preference"))
                ms__reader_err(R, c, "preference",
                               "missing: expected a number 0 to 65535 (RFC 5321 5.1)");
            const char *ex = ms__reader_need(R, c, "exchange", "the host name of a mail exchanger");
            r.target = ex ? ms__reader_get_hostname(R, c, "exchange", ex) : NULL;
            if (!r.target)
                continue;
            r.name = g_strdup(zname);
            nmx++;
        } else if (ms__reader_is(c, "nullmx")) {
            r.type = MS_RECORD_NULLMX;
            r.name = g_strdup(zname);
            r.target = g_strdup(".");
            nnull++;
        } else if (ms__reader_is(c, "mta-sts")) {
            ms__reader_read_mta_sts(R, c, &z);
            continue;
        } else if (ms__reader_is(c, "tlsa")) {
            ms__reader_read_tlsa(R, c, &z);
            continue;
        } else if (ms__reader_read_zone_auth(R, c, &z)) {
            continue;
        } else if (ms__reader_is(c, "a") || ms__reader_is(c, "ns")) {
            gboolean a = ms__reader_is(c, "a");
            r.type = a ? MS_RECORD_A : MS_RECORD_NS;
            const char *rn = ms__reader_need(R, c, "name", "a host name");
            char *hn = rn ? ms__reader_get_hostname(R, c, "name", rn) : NULL;
            if (!hn)
                continue;
            if (a && !root && !in_zone(hn, zname)) {
                ms__reader_err(R, c, "name",
                               "'%s' is outside zone '%s': expected a name in the zone", hn, zname);
                g_free(hn);
                continue;
            }
            const char *addr = ms__reader_attr(R, c, "address");
            r.host = ms__reader_get_host(R, c, "host", FALSE);
            if (r.host >= 0 && addr)
                ms__reader_err(R, c, "address",
                               "both host and address given: expected one of them");
            if (r.host >= 0) {
                r.address = ms__reader_host_at(R, r.host)->address;
                if (!a && ms__reader_host_at(R, r.host)->role != MS_HOST_DNS)
                    ms__reader_err(R, c, "host", "host '%s' has role %s: expected a dns host",
                                   ms__reader_host_at(R, r.host)->id,
                                   ms_host_role_to_string(ms__reader_host_at(R, r.host)->role));
            } else if (addr) {
                const char *why;
                if (!a)
                    ms__reader_err(R, c, "address", "an <ns> takes host=, not address=");
                else if (!ms__scenario_parse_ipv4(addr, &r.address, &why))
                    ms__reader_err(R, c, "address", "'%s' is not valid: %s", addr, why);
            } else if (a && !ms__reader_attr(R, c, "host")) {
                ms__reader_err(R, c, NULL,
                               "missing host= or address=: expected the host the name points to");
            }
            if (a) {
                r.name = hn;
                r.ttl = ms__reader_get_time(R, c, "ttl", z.ttl);
            } else {
                r.name = g_strdup(zname);
                r.target = hn;
            }
        } else {
            continue; /* the schema reports unknown elements */
        }
        g_array_append_val(z.records, r);
    }
    if (nnull && (nmx || nnull > 1)) /* RFC 7505 3: a null MX is the only MX */
        ms__reader_err(R, n, NULL,
                       "a <nullmx/> must be the only MX record of the zone (RFC 7505 3)");
    g_array_append_val(R->sc->zones, z);
    g_hash_table_add(zone_names, z.name);
}

static const char *const profile_names[] = { "postfix", "exim", "opensmtpd", NULL };
static const char *const command_names[] = { "CONNECT", "HELO", "EHLO", "MAIL",
                                             "RCPT",    "DATA", "EOD",  NULL };

static void
read_policy(MsScenarioReader *R, xmlNode *n, MsScenarioPolicy *p)
{
    if (p->line) {
        ms__reader_err(R, n, NULL,
                       "given twice: expected at most one <policy> (the first is on line %u)",
                       p->line);
        return;
    }
    p->line = ms__reader_line_of(n);
    static const struct {
        const char *name;
        MsPolicyField f;
    } times[] = {
        { "retry-first", MS_POLICY_RETRY_FIRST },
        { "retry-max", MS_POLICY_RETRY_MAX },
        { "give-up", MS_POLICY_GIVE_UP },
        { "command-delay", MS_POLICY_COMMAND_DELAY },
        { "greylist-delay", MS_POLICY_GREYLIST_DELAY },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(times); i++) {
        const char *v = ms__reader_attr(R, n, times[i].name);
        if (!v)
            continue;
        MsTime t;
        g_autoptr(GError) e = NULL;
        if (!ms_units_parse_time(v, &t, &e)) {
            ms__reader_err(R, n, times[i].name, "%s", e->message);
            continue;
        }
        if (t == 0 && times[i].f != MS_POLICY_COMMAND_DELAY) {
            ms__reader_err(R, n, times[i].name, "0 is not allowed: expected a time > 0");
            continue;
        }
        p->set |= times[i].f;
        switch (times[i].f) {
        case MS_POLICY_RETRY_FIRST:
            p->retry_first = t;
            break;
        case MS_POLICY_GREYLIST_DELAY:
            p->greylist_delay = t;
            break;
        case MS_POLICY_RETRY_MAX:
            p->retry_max = t;
            break;
        case MS_POLICY_GIVE_UP:
            p->give_up = t;
            break;
        default:
            p->command_delay = t;
            break;
        }
    }
    if ((p->set & MS_POLICY_RETRY_FIRST) && (p->set & MS_POLICY_RETRY_MAX) &&
        p->retry_max < p->retry_first)
        ms__reader_err(R, n, "retry-max",
                       "shorter than retry-first: expected retry-max >= retry-first");
    if (ms__reader_attr(R, n, "max-size")) {
        guint64 s = ms__reader_get_size(R, n, "max-size", 0);
        if (s == 0)
            ms__reader_err(R, n, "max-size", "expected a size > 0");
        else {
            p->max_size = s;
            p->set |= MS_POLICY_MAX_SIZE;
        }
    }
    if (ms__reader_attr(R, n, "max-recipients")) {
        /* RFC 5321 4.5.3.1.8: a server must take at least 100 recipients;
         * smaller limits are allowed here to show the 452 reply. */
        guint64 c = ms__reader_get_count(R, n, "max-recipients", 1, G_MAXUINT32, 0);
        if (c) {
            p->max_recipients = (guint32) c;
            p->set |= MS_POLICY_MAX_RECIPIENTS;
        }
    }
    gboolean given = FALSE;
    p->greylist = ms__reader_get_bool(R, n, "greylist", FALSE, &given);
    if (given)
        p->set |= MS_POLICY_GREYLIST;
}

static const char *const tls_levels[] = { "none", "may", "encrypt", "verify", "dane", NULL };
static const char *const cert_names[] = { "good",    "wrong-name", "self-signed",
                                          "expired", "none",       NULL };

/* <tls> in <mailserver>: Postfix's TLS settings, each with a modern
 * provider's default. */
static void
read_tls(MsScenarioReader *R, xmlNode *n, MsScenarioTls *t)
{
    if (t->line) {
        ms__reader_err(R, n, NULL,
                       "given twice: expected at most one <tls> (the first is on line %u)",
                       t->line);
        return;
    }
    t->line = ms__reader_line_of(n);
    t->smtpd_level = (MsMtaTlsLevel) ms__reader_get_enum(R, n, "smtpd-security-level", tls_levels,
                                                         MS_MTA_TLS_MAY);
    if (t->smtpd_level == MS_MTA_TLS_VERIFY || t->smtpd_level == MS_MTA_TLS_DANE) {
        /* Postfix's smtpd_tls_security_level has none, may and encrypt:
         * a server does not verify the clients that send it mail. */
        ms__reader_err(R, n, "smtpd-security-level",
                       "'%s' is a client level: expected none, may or encrypt",
                       ms_mta_tls_level_to_string(t->smtpd_level));
        t->smtpd_level = MS_MTA_TLS_ENCRYPT;
    }
    t->auth_only = ms__reader_get_bool(R, n, "auth-only", TRUE, NULL);
    t->smtp_level = (MsMtaTlsLevel) ms__reader_get_enum(R, n, "smtp-security-level", tls_levels,
                                                        MS_MTA_TLS_MAY);
    gint cert = ms__reader_get_enum(R, n, "certificate", cert_names, 0);
    t->certificate = cert != 4;
    t->cert_fault = cert == 4 ? MS_TLS_CERT_GOOD : (MsTlsCertFault) cert;
    t->mta_sts = ms__reader_get_bool(R, n, "mta-sts", FALSE, NULL);
}

static void
read_reply(MsScenarioReader *R, xmlNode *n, GArray *replies)
{
    MsScenarioReply r = { .line = ms__reader_line_of(n) };
    if (!ms__reader_attr(R, n, "command"))
        ms__reader_err(R, n, "command",
                       "missing: expected CONNECT, HELO, EHLO, MAIL, RCPT, DATA or EOD");
    r.command = (MsReplyCommand) ms__reader_get_enum(R, n, "command", command_names, MS_REPLY_RCPT);
    if (!ms__reader_attr(R, n, "code"))
        ms__reader_err(R, n, "code", "missing: expected a reply code 200 to 599 (RFC 5321 4.2)");
    r.code = (guint16) ms__reader_get_count(R, n, "code", 200, 599, 451);
    const char *enh = ms__reader_attr(R, n, "enhanced");
    if (enh) {
        const char *why;
        if (!ms__scenario_check_status(enh, &why))
            ms__reader_err(R, n, "enhanced", "'%s' is not valid: %s", enh, why);
        else if (enh[0] != '0' + r.code / 100)
            ms__reader_err(R, n, "enhanced",
                           "class %c does not match reply code %u: expected %u.x.x "
                           "(RFC 3463 2)",
                           enh[0], r.code, r.code / 100);
        else
            r.enhanced = g_strdup(enh);
    }
    const char *text = ms__reader_attr(R, n, "text"), *from = ms__reader_attr(R, n, "from"),
               *to = ms__reader_attr(R, n, "to");
    r.text = g_strdup(text ? text : "");
    r.from = g_strdup(from && *from ? from : "*");
    r.to = g_strdup(to && *to ? to : "*");
    r.start = ms__reader_get_time(R, n, "start", 0);
    r.end = ms__reader_get_time(R, n, "end", MS_TIME_INFINITE);
    if (r.end <= r.start)
        ms__reader_err(R, n, "end", "not after start: expected end > start");
    r.rate = ms__reader_get_fraction(R, n, "rate", 1.0);
    g_array_append_val(replies, r);
}

/* Appends users u1..u<count> with password "pw" to m, their strings in one
 * block (m->generated_names: "pw", then each name, NUL-terminated): about
 * 7 bytes a user instead of two allocations of 32 (the medium world's
 * 100,000 users: 0.7 MB instead of 6.4 MB). */
static void
add_generated_users(MsScenarioMailserver *m, guint count, guint line)
{
    gsize size = 3; /* "pw" */
    for (guint64 k = 1, digits = 1, next = 10; k <= count; k++) {
        if (k == next) {
            digits++;
            next *= 10;
        }
        size += 2 + digits; /* "u", the digits, NUL */
    }
    char *block = g_malloc(size), *p = block;
    memcpy(p, "pw", 3);
    p += 3;
    m->generated_from = m->users->len;
    m->generated_names = block;
    g_array_set_size(m->users, m->users->len + count);
    for (guint k = 1; k <= count; k++) {
        MsScenarioUser *u = &g_array_index(m->users, MsScenarioUser, m->generated_from + k - 1);
        *u = (MsScenarioUser){ .line = line, .name = p, .password = block };
        *p = 'u';
        p = ms__scenario_put_uint(p + 1, k) + 1;
    }
    g_assert((gsize) (p - block) == size);
}

static void
read_mailserver(MsScenarioReader *R, xmlNode *n)
{
    MsScenarioMailserver m = { .line = ms__reader_line_of(n), .resolver = -1, .smarthost = -1 };
    m.tls =
        (MsScenarioTls){ 0, MS_MTA_TLS_MAY, TRUE, MS_MTA_TLS_MAY, TRUE, MS_TLS_CERT_GOOD, FALSE };
    gint host =
        ms__reader_get_host_role(R, n, "host", TRUE, ROLE(MS_HOST_MAILSERVER) | ROLE(MS_HOST_RELAY),
                                 "a mailserver or relay host");
    if (host >= 0 && ms__reader_host_at(R, host)->mailserver >= 0) {
        ms__reader_err(R, n, "host",
                       "host '%s' already has a <mailserver> on line %u: expected one per host",
                       ms__reader_host_at(R, host)->id,
                       ms__reader_server_at(R, ms__reader_host_at(R, host)->mailserver)->line);
        host = -1;
    }
    m.profile = (MsMtaProfile) ms__reader_get_enum(R, n, "profile", profile_names, MS_MTA_POSTFIX);
    m.resolver = ms__reader_get_host_role(R, n, "resolver", FALSE, ROLE(MS_HOST_DNS), "a dns host");
    m.domains = g_ptr_array_new_with_free_func(g_free);
    m.users = g_array_new(FALSE, TRUE, sizeof(MsScenarioUser));
    m.replies = g_array_new(FALSE, TRUE, sizeof(MsScenarioReply));
    m.dkim = g_array_new(FALSE, TRUE, sizeof(MsScenarioDkim));
    m.lists = g_array_new(FALSE, TRUE, sizeof(MsScenarioList));
    m.auth.dnsbl = g_ptr_array_new_with_free_func(g_free);
    gint self = (gint) R->sc->mailservers->len;
    const char *doms = ms__reader_attr(R, n, "domains");
    if (doms) {
        g_auto(GStrv) parts = g_strsplit_set(doms, ", \t\r\n", -1);
        for (char **p = parts; *p; p++) {
            if (**p == '\0')
                continue;
            char *d = ms__reader_get_hostname(R, n, "domains", *p);
            if (!d)
                continue;
            gint other = ms__reader_domain_server(R, d);
            if (other == self) {
                ms__reader_err(R, n, "domains",
                               "domain '%s' is listed twice: expected each domain once", d);
                g_free(d);
                continue;
            }
            if (other >= 0) {
                ms__reader_err(R, n, "domains",
                               "domain '%s' is already served by mailserver '%s' (line %u): "
                               "expected each domain on one mailserver",
                               d, ms__reader_server_host_id(R, other),
                               ms__reader_server_at(R, other)->line);
                g_free(d);
                continue;
            }
            g_ptr_array_add(m.domains, d);
            g_hash_table_insert(R->domains, d, GINT_TO_POINTER(self + 1));
        }
    }
    /* backup-for: domains whose mail this server takes in when their
     * primary MX cannot, and relays on (Postfix's relay_domains). Not one
     * of its own domains: those it delivers to mailboxes. */
    m.backup_for = g_ptr_array_new_with_free_func(g_free);
    const char *backups = ms__reader_attr(R, n, "backup-for");
    if (backups) {
        g_auto(GStrv) parts = g_strsplit_set(backups, ", \t\r\n", -1);
        for (char **p = parts; *p; p++) {
            if (**p == '\0')
                continue;
            char *d = ms__reader_get_hostname(R, n, "backup-for", *p);
            if (!d)
                continue;
            gboolean dup = FALSE;
            for (guint k = 0; k < m.backup_for->len && !dup; k++)
                dup = strcmp(g_ptr_array_index(m.backup_for, k), d) == 0;
            if (dup || ms__reader_domain_server(R, d) == self) {
                ms__reader_err(R, n, "backup-for",
                               dup ? "domain '%s' is listed twice: expected each domain once"
                                   : "domain '%s' is one of this server's own domains: expected a "
                                     "domain served by another mail server",
                               d);
                g_free(d);
                continue;
            }
            g_ptr_array_add(m.backup_for, d);
        }
    }
    if (host >= 0 && ms__reader_host_at(R, host)->role == MS_HOST_RELAY && m.domains->len > 0)
        ms__reader_err(R, n, "domains",
                       "host '%s' is a relay: a relay serves no domains (give it role "
                       "mailserver to accept mail for domains)",
                       ms__reader_host_at(R, host)->id);
    for (xmlNode *c = n->children; c; c = c->next) {
        if (ms__reader_is(c, "user")) {
            MsScenarioUser u = { .line = ms__reader_line_of(c) };
            const char *name = ms__reader_need(R, c, "name", "a local part, e.g. alice");
            if (!name)
                continue;
            g_autofree char *probe = g_strdup_printf("%s@example.com", name);
            const char *why;
            if (!ms__scenario_check_email(probe, &why)) {
                ms__reader_err(R, c, "name",
                               "'%s' is not a valid local part: expected letters, digits and "
                               "!#$%%&'*+-/=?^_`{|}~ with single dots inside (RFC 5322 3.2.3)",
                               name);
                continue;
            }
            if (ms__reader_find_user(&m, name) >= 0) {
                ms__reader_err(R, c, "name",
                               "duplicate user '%s': expected each user once per mailserver", name);
                continue;
            }
            const char *pw = ms__reader_attr(R, c, "password");
            u.password = g_strdup(pw ? pw : "");
            u.quota = ms__reader_get_size(R, c, "quota", 0);
            const char *fwd = ms__reader_attr(R, c, "forward");
            if (fwd)
                u.forward = ms__reader_email_norm(R, c, "forward", fwd);
            u.name = g_strdup(name);
            g_array_append_val(m.users, u);
        } else if (ms__reader_is(c, "policy")) {
            read_policy(R, c, &m.policy);
        } else if (ms__reader_is(c, "tls")) {
            if (!R->sc->tls)
                ms__reader_err(R, c, NULL,
                               "TLS settings in a world without TLS (tls=\"false\" on "
                               "<scenario>): expected no <tls>, or no tls=\"false\"");
            read_tls(R, c, &m.tls);
        } else if (ms__reader_is(c, "reply")) {
            read_reply(R, c, m.replies);
        }
    }
    /* After the users: a <list> may not take a user's name. */
    for (xmlNode *c = n->children; c; c = c->next)
        ms__reader_read_server_auth(R, c, &m);
    /* generated-users="N": users u1..uN with password "pw", for generated
     * worlds (no duplicate check: the names are distinct by construction). */
    const char *gen = ms__reader_attr(R, n, "generated-users");
    if (gen) {
        guint64 count = 0;
        if (!ms_units_parse_count(gen, &count, NULL) || count > 10000000)
            ms__reader_err(R, n, "generated-users",
                           "'%s' is not a user count: expected 0 to 10000000", gen);
        else if (count > 0)
            add_generated_users(&m, (guint) count, ms__reader_line_of(n));
    }
    if (m.users->len > 0 && m.domains->len == 0)
        ms__reader_err(R, n, NULL,
                       "has users but no domains: expected domains= for the users' mailboxes");
    m.host = host >= 0 ? (guint) host : G_MAXUINT; /* only in a scenario with errors */
    g_array_append_val(R->sc->mailservers, m);
    if (host >= 0)
        ms__reader_host_at(R, host)->mailserver = self;
}

/* Smarthosts point to other mail servers, possibly later in the file. */
static void
resolve_smarthosts(MsScenarioReader *R, xmlNode *root)
{
    static const char *const k_server[] = { "mailserver", NULL };
    MsScenarioWalk w;
    ms__scenario_walk_init(&w, R, root, k_server);
    gint i = 0;
    for (xmlNode *n; (n = ms__scenario_walk_next(&w)); i++) {
        gint h = ms__reader_get_host(R, n, "smarthost", FALSE);
        if (h < 0)
            continue;
        MsScenarioMailserver *m = ms__reader_server_at(R, i);
        if (ms__reader_host_at(R, h)->mailserver < 0)
            ms__reader_err(R, n, "smarthost",
                           "host '%s' has no <mailserver>: expected a mail server or relay",
                           ms__reader_host_at(R, h)->id);
        else if ((guint) h == m->host)
            ms__reader_err(R, n, "smarthost", "a mail server cannot be its own smarthost");
        else
            m->smarthost = h;
    }
}

static void
read_client(MsScenarioReader *R, xmlNode *n)
{
    MsScenarioClient c = { .line = ms__reader_line_of(n),
                           .smtp = -1,
                           .pop3 = -1,
                           .imap = -1,
                           .imap_tls = -1,
                           .mailbox_server = -1,
                           .mailbox_user = -1 };
    gint host = ms__reader_get_host_role(R, n, "host", TRUE, ROLE(MS_HOST_CLIENT), "a client host");
    if (host >= 0 && ms__reader_host_at(R, host)->client >= 0) {
        ms__reader_err(R, n, "host", "host '%s' already has a <client>: expected one per host",
                       ms__reader_host_at(R, host)->id);
        host = -1;
    }
    const char *user =
        ms__reader_need(R, n, "user", "the user's e-mail address, e.g. alice@isp-a.net");
    c.user = user ? ms__reader_email_norm(R, n, "user", user) : NULL;
    const char *pw = ms__reader_attr(R, n, "password");
    c.password = g_strdup(pw ? pw : "");
    c.check_every = ms__reader_get_time(R, n, "check-every", 0);
    c.keep = ms__reader_get_bool(R, n, "keep", FALSE, NULL);
    /* Order of the values: MsMailClientTls (none, STARTTLS/STLS, implicit). */
    static const char *const smtp_tls[] = { "none", "starttls", "implicit", NULL };
    static const char *const pop3_tls[] = { "none", "stls", "implicit", NULL };
    c.smtp_tls =
        ms__reader_attr(R, n, "smtp-tls") ? ms__reader_get_enum(R, n, "smtp-tls", smtp_tls, 1) : -1;
    c.pop3_tls =
        ms__reader_attr(R, n, "pop3-tls") ? ms__reader_get_enum(R, n, "pop3-tls", pop3_tls, 1) : -1;
    static const char *const imap_tls[] = { "none", "starttls", "implicit", NULL };
    c.imap_tls =
        ms__reader_attr(R, n, "imap-tls") ? ms__reader_get_enum(R, n, "imap-tls", imap_tls, 1) : -1;
    c.idle = ms__reader_get_bool(R, n, "idle", FALSE, NULL);
    if (!R->sc->tls && (c.smtp_tls > 0 || c.pop3_tls > 0 || c.imap_tls > 0))
        ms__reader_err(R, n,
                       c.smtp_tls > 0   ? "smtp-tls"
                       : c.pop3_tls > 0 ? "pop3-tls"
                                        : "imap-tls",
                       "asks for TLS in a world without TLS (tls=\"false\" on <scenario>): "
                       "expected none, or no tls=\"false\"");
    static const char *const servers[] = { "smtp", "pop3", "imap" };
    for (gsize i = 0; i < 3; i++) {
        gint s = ms__reader_get_host(R, n, servers[i], FALSE);
        if (s >= 0 && ms__reader_host_at(R, s)->mailserver < 0) {
            ms__reader_err(R, n, servers[i],
                           "host '%s' has no <mailserver>: expected a mail server",
                           ms__reader_host_at(R, s)->id);
            s = -1;
        }
        if (i == 0)
            c.smtp = s;
        else if (i == 1)
            c.pop3 = s;
        else
            c.imap = s;
    }
    /* One mail program reads one way: a device that wants both is two
     * <client>s on two hosts. */
    if (c.pop3 >= 0 && c.imap >= 0)
        ms__reader_err(R, n, "imap",
                       "a client reads its mail over one protocol: expected pop3= or imap=, not "
                       "both");
    if (c.idle && c.imap < 0)
        ms__reader_err(R, n, "idle", "IDLE is an IMAP command: expected imap= as well");
    if (c.keep && c.imap >= 0)
        ms__reader_err(R, n, "keep",
                       "an IMAP client always leaves mail on the server: keep= is for POP3");
    if (c.user) {
        gint server = -1, u = -1;
        const char *dom = strrchr(c.user, '@') + 1;
        if (!ms__reader_find_mailbox(R, c.user, &server, &u)) {
            if (server < 0)
                ms__reader_err(R, n, "user",
                               "no mailserver serves domain '%s': expected a domain listed in a "
                               "<mailserver domains=...>",
                               dom);
            else
                ms__reader_err(R, n, "user",
                               "unknown user '%s' on mailserver '%s': expected a <user> there",
                               c.user, ms__reader_server_host_id(R, server));
        } else {
            c.mailbox_server = server;
            c.mailbox_user = u;
            gint mh = (gint) ms__reader_server_at(R, server)->host;
            if (c.pop3 >= 0 && c.pop3 != mh)
                ms__reader_err(R, n, "pop3",
                               "host '%s' does not hold the mailbox of %s: expected '%s'",
                               ms__reader_host_at(R, c.pop3)->id, c.user,
                               ms__reader_server_host_id(R, server));
            if (c.imap >= 0 && c.imap != mh)
                ms__reader_err(R, n, "imap",
                               "host '%s' does not hold the mailbox of %s: expected '%s'",
                               ms__reader_host_at(R, c.imap)->id, c.user,
                               ms__reader_server_host_id(R, server));
        }
    }
    if (host < 0 || !c.user) {
        g_free(c.user);
        g_free(c.password);
        return;
    }
    c.host = (guint) host;
    g_array_append_val(R->sc->clients, c);
    ms__reader_host_at(R, host)->client = (gint) R->sc->clients->len - 1;
}

/* A host with a single link and no as= belongs to its neighbour's AS (mail
 * hosts hang off a router of their network); then, for policy routing,
 * every link between two ASes needs relation= and no link inside one AS
 * may have one. */
static void
inherit_as(MsScenarioReader *R, xmlNode *root, GArray *link_added)
{
    MsScenario *sc = R->sc;
    g_autofree guint32 *degree = g_new0(guint32, MAX(sc->hosts->len, 1u));
    g_autofree gint32 *neighbour = g_new(gint32, MAX(sc->hosts->len, 1u));
    gboolean checks = sc->routing == MS_ROUTING_POLICY;
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        degree[l->a]++;
        degree[l->b]++;
        neighbour[l->a] = (gint32) l->b;
        neighbour[l->b] = (gint32) l->a;
        checks |= l->relation != MS_RELATION_NONE;
    }
    for (guint i = 0; i < sc->hosts->len; i++) {
        MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, i);
        if (h->asn == 0 && degree[i] == 1)
            h->asn = g_array_index(sc->hosts, MsScenarioHost, neighbour[i]).asn;
    }
    if (!checks) /* nothing below can fail: spare a walk over the links */
        return;
    /* The links' elements again, for errors that name them. */
    static const char *const k_link[] = { "link", NULL };
    MsScenarioWalk w;
    ms__scenario_walk_init(&w, R, root, k_link);
    guint i = 0, e = 0;
    for (xmlNode *n; (n = ms__scenario_walk_next(&w)); e++) {
        if (e >= link_added->len || !g_array_index(link_added, gboolean, e) || i >= sc->links->len)
            continue;
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i++);
        guint32 x = g_array_index(sc->hosts, MsScenarioHost, l->a).asn;
        guint32 y = g_array_index(sc->hosts, MsScenarioHost, l->b).asn;
        if (l->relation != MS_RELATION_NONE && x == y)
            ms__reader_err(R, n, "relation",
                           "both ends are in AS %u: relation= is for links between two ASes "
                           "(give each end's as=)",
                           x);
        else if (sc->routing == MS_ROUTING_POLICY && l->relation == MS_RELATION_NONE && x != y)
            ms__reader_err(R, n, "relation",
                           "missing: policy routing needs how AS %u and AS %u relate: expected "
                           "provider-customer (a's AS is b's provider) or peer",
                           x, y);
    }
}

static MsScenario *
scenario_new(void)
{
    MsScenario *sc = g_new0(MsScenario, 1);
    sc->dns_server = -1;
    sc->dns_root = -1;
    sc->until = MS_TIME_INFINITE;
    sc->hosts = g_array_new(FALSE, TRUE, sizeof(MsScenarioHost));
    sc->links = g_array_new(FALSE, TRUE, sizeof(MsScenarioLink));
    sc->zones = g_array_new(FALSE, TRUE, sizeof(MsScenarioZone));
    sc->mailservers = g_array_new(FALSE, TRUE, sizeof(MsScenarioMailserver));
    sc->clients = g_array_new(FALSE, TRUE, sizeof(MsScenarioClient));
    sc->messages = g_array_new(FALSE, TRUE, sizeof(MsScenarioMessage));
    sc->checks = g_array_new(FALSE, TRUE, sizeof(MsScenarioCheck));
    sc->workloads = g_array_new(FALSE, TRUE, sizeof(MsWorkloadSpec));
    sc->faults = g_array_new(FALSE, TRUE, sizeof(MsScenarioFault));
    sc->expects = g_array_new(FALSE, TRUE, sizeof(MsScenarioExpect));
    sc->outputs = g_array_new(FALSE, TRUE, sizeof(MsScenarioOutput));
    sc->import_warnings = g_ptr_array_new_with_free_func(g_free);
    return sc;
}

/* `*a` with no room to spare: GArray doubles as it grows, and the hosts and
 * links of a generated world are read once and held for the whole run by
 * every process (the large world's 110,000 hosts took 18 MB for 11 of
 * use). Briefly holds both copies, while nothing else of the world is built. */
static void
trim_array(GArray **a)
{
    guint size = g_array_get_element_size(*a);
    GArray *t = g_array_sized_new(FALSE, TRUE, size, (*a)->len);
    g_array_append_vals(t, (*a)->data, (*a)->len);
    g_array_unref(*a);
    *a = t;
}

/* Frees the root's children called `name`: a phase has read them and no
 * later phase looks at them again (errors keep line numbers, not nodes). */
static void
drop_read(xmlNode *root, const char *name)
{
    for (xmlNode *n = root->children; n;) {
        xmlNode *next = n->next;
        if (ms__reader_is(n, name)) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
        n = next;
    }
}

MsScenario *
ms__scenario_read(MsScenarioDiag *d, xmlDoc *doc, GPtrArray *generated)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    g_return_val_if_fail(root != NULL, NULL);
    g_autoptr(GPtrArray) temps = g_ptr_array_new_with_free_func(xmlFree);
    g_autoptr(GHashTable) host_ids = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) domains = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) message_ids = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) addresses = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) pairs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    g_autoptr(GHashTable) zone_names = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GArray) link_added = g_array_new(FALSE, FALSE, sizeof(gboolean));
    MsScenarioReader R = { d, scenario_new(), temps, host_ids, domains, message_ids, generated };
    static const char *const k_host[] = { "host", NULL };
    static const char *const k_link[] = { "link", "routing", "dns", NULL };
    static const char *const k_zone[] = { "zone", NULL };
    static const char *const k_server[] = { "mailserver", NULL };
    static const char *const k_client[] = { "client", NULL };
    static const char *const k_message[] = { "message", NULL };
    static const char *const k_events[] = {
        "check", "workload", "fault", "expect", "output", NULL
    };
    MsScenarioWalk w;

    read_root(&R, root);
    ms__scenario_walk_init(&w, &R, root, k_host);
    w.direct = MS__WALK_HOST;
    xmlNode *el;
    const MsGenElement *rec;
    while (ms__scenario_walk_step(&w, &el, &rec)) {
        if (rec && read_gen_host(&R, rec, w.gen->line, addresses, names))
            continue;
        read_host(&R, el ? el : ms__scenario_walk_make(&w), addresses, names);
    }
    drop_read(root, "host");
    trim_array(&R.sc->hosts);
    guint nrouting = 0, ndns = 0;
    ms__scenario_walk_init(&w, &R, root, k_link);
    w.direct = MS__WALK_LINK;
    while (ms__scenario_walk_step(&w, &el, &rec)) {
        if (rec && read_gen_link(&R, rec, w.gen->line, pairs)) {
            gboolean added = TRUE;
            g_array_append_val(link_added, added);
            continue;
        }
        xmlNode *n = el ? el : ms__scenario_walk_make(&w);
        if (ms__reader_is(n, "link")) {
            guint before = R.sc->links->len;
            read_link(&R, n, pairs);
            gboolean added = R.sc->links->len > before;
            g_array_append_val(link_added, added);
        } else {
            gboolean routing = ms__reader_is(n, "routing");
            if ((routing ? nrouting++ : ndns++) > 0) {
                ms__reader_err(&R, n, NULL, "given twice: expected at most one <%s>",
                               (const char *) n->name);
            } else if (routing) {
                /* routing= on <scenario> wins, so that a sweep may set it on
                 * any file. */
                static const char *const metrics[] = { "latency", "hops", "policy", NULL };
                MsRoutingMetric m =
                    (MsRoutingMetric) ms__reader_get_enum(&R, n, "metric", metrics, 0);
                if (!ms__reader_attr(&R, root, "routing"))
                    R.sc->routing = m;
            } else {
                read_dns(&R, n);
            }
        }
    }
    inherit_as(&R, root, link_added);
    drop_read(root, "link");
    trim_array(&R.sc->links);
    ms__scenario_walk_init(&w, &R, root, k_zone);
    for (xmlNode *n; (n = ms__scenario_walk_next(&w));)
        read_zone(&R, n, zone_names);
    drop_read(root, "zone");
    if (R.sc->zones->len > 0 && R.sc->dns_mode == MS_DNS_NONE)
        ms__reader_err(&R, root, NULL,
                       "zones are given but no <dns>: expected <dns mode=\"flat\" server=...> "
                       "or <dns mode=\"hierarchy\" root=...>");
    gboolean smarthosts = FALSE;
    ms__scenario_walk_init(&w, &R, root, k_server);
    for (xmlNode *n; (n = ms__scenario_walk_next(&w));) {
        read_mailserver(&R, n);
        smarthosts |= ms__reader_attr(&R, n, "smarthost") != NULL;
    }
    if (smarthosts)
        resolve_smarthosts(&R, root);
    drop_read(root, "mailserver");
    ms__scenario_walk_init(&w, &R, root, k_client);
    for (xmlNode *n; (n = ms__scenario_walk_next(&w));)
        read_client(&R, n);
    drop_read(root, "client");
    ms__scenario_walk_init(&w, &R, root, k_message);
    for (xmlNode *n; (n = ms__scenario_walk_next(&w));)
        ms__reader_read_message(&R, n);
    drop_read(root, "message");
    ms__scenario_walk_init(&w, &R, root, k_events);
    for (xmlNode *n; (n = ms__scenario_walk_next(&w));) {
        if (ms__reader_is(n, "check"))
            ms__reader_read_check(&R, n);
        else if (ms__reader_is(n, "workload"))
            ms__reader_read_workload(&R, n);
        else if (ms__reader_is(n, "fault"))
            ms__reader_read_fault(&R, n);
        else if (ms__reader_is(n, "expect"))
            ms__reader_read_expect(&R, n);
        else
            ms__reader_read_output(&R, n);
    }
    return R.sc;
}

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
 * Ownership: the reader allocates the MsScenario and every string in it;
 * attribute strings fetched from libxml2 live in Reader.temps until the end.
 * Costs: linear in the file, with hash tables (load time only, never
 * iterated) for host ids, addresses, domains and message ids. */
#include "scenario-private.h"
#include "mailsim/units.h"

#include <math.h>
#include <string.h>

typedef struct {
    MsScenarioDiag *d;
    MsScenario *sc;
    GPtrArray *temps;        /* xmlChar* from libxml2, xmlFree'd at the end */
    GHashTable *host_ids;    /* id -> index + 1 */
    GHashTable *domains;     /* domain -> mailserver index + 1 */
    GHashTable *message_ids; /* id -> index + 1 */
} Reader;

static gboolean
is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0;
}

static guint
line_of(const xmlNode *n)
{
    long l = xmlGetLineNo((xmlNode *) n);
    return l > 0 ? (guint) l : 0;
}

/* The attribute's value (entities already decoded), or NULL when absent.
 * Owned by the reader. */
static const char *
attr(Reader *R, xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *) name);
    if (v)
        g_ptr_array_add(R->temps, v);
    return (const char *) v;
}

/* How errors name an element: by its id or key when it has one. */
static char *
describe(Reader *R, xmlNode *n)
{
    const char *name = (const char *) n->name;
    const char *key = NULL;
    if (is(n, "host") || is(n, "message"))
        key = attr(R, n, "id");
    else if (is(n, "zone"))
        key = attr(R, n, "name");
    else if (is(n, "mailserver") || is(n, "client"))
        key = attr(R, n, "host");
    if (is(n, "link")) {
        const char *a = attr(R, n, "a"), *b = attr(R, n, "b");
        return g_strdup_printf("link '%s'~'%s'", a ? a : "", b ? b : "");
    }
    if (key)
        return g_strdup_printf("%s '%s'", name, key);
    return g_strdup_printf("element '%s'", name);
}

static void err(Reader *R, xmlNode *n, const char *attr_name, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static void
err(Reader *R, xmlNode *n, const char *attr_name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *what = describe(R, n);
    if (attr_name)
        ms__scenario_diag_add(R->d, MS__SCENARIO_FROM_MEANING, line_of(n), "%s attribute '%s': %s",
                              what, attr_name, msg);
    else
        ms__scenario_diag_add(R->d, MS__SCENARIO_FROM_MEANING, line_of(n), "%s: %s", what, msg);
}

static const char *
need(Reader *R, xmlNode *n, const char *name, const char *expect)
{
    const char *v = attr(R, n, name);
    if (!v)
        err(R, n, name, "missing: expected %s", expect);
    return v;
}

/* ---- typed attributes: absent -> default, bad -> error + default -------- */

/* ok as a units parser returned it; on failure reports the parser's error
 * (*e: read only here, after the parser has run, since the order in which
 * arguments are evaluated is unspecified) on the attribute. */
static gboolean
parsed(Reader *R, xmlNode *n, const char *name, gboolean ok, GError *const *e)
{
    if (!ok)
        err(R, n, name, "%s", (*e)->message);
    return ok;
}

static MsTime
get_time(Reader *R, xmlNode *n, const char *name, MsTime dflt)
{
    const char *v = attr(R, n, name);
    g_autoptr(GError) e = NULL;
    MsTime t = 0;
    return v && parsed(R, n, name, ms_units_parse_time(v, &t, &e), &e) ? t : dflt;
}

static guint64
get_size(Reader *R, xmlNode *n, const char *name, guint64 dflt)
{
    const char *v = attr(R, n, name);
    g_autoptr(GError) e = NULL;
    guint64 s = 0;
    return v && parsed(R, n, name, ms_units_parse_size(v, &s, &e), &e) ? s : dflt;
}

static guint64
get_count(Reader *R, xmlNode *n, const char *name, guint64 lo, guint64 hi, guint64 dflt)
{
    const char *v = attr(R, n, name);
    g_autoptr(GError) e = NULL;
    guint64 c = 0;
    if (!v || !parsed(R, n, name, ms_units_parse_count(v, &c, &e), &e))
        return dflt;
    if (c < lo || c > hi) {
        err(R, n, name, "%s is out of range: expected %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
            v, lo, hi);
        return dflt;
    }
    return c;
}

static gboolean
parse_number(const char *v, double *out)
{
    char *end = NULL;
    double x = g_ascii_strtod(v, &end);
    if (end == v || *end != '\0' || !isfinite(x))
        return FALSE;
    *out = x;
    return TRUE;
}

static double
get_fraction(Reader *R, xmlNode *n, const char *name, double dflt)
{
    const char *v = attr(R, n, name);
    if (!v)
        return dflt;
    double x;
    if (!parse_number(v, &x) || x < 0.0 || x > 1.0) {
        err(R, n, name, "'%s' is not a probability: expected a number from 0 to 1", v);
        return dflt;
    }
    return x;
}

static gboolean
get_bool(Reader *R, xmlNode *n, const char *name, gboolean dflt, gboolean *given)
{
    const char *v = attr(R, n, name);
    if (given)
        *given = v != NULL;
    if (!v)
        return dflt;
    if (strcmp(v, "true") == 0)
        return TRUE;
    if (strcmp(v, "false") == 0)
        return FALSE;
    err(R, n, name, "'%s' is not a boolean: expected true or false", v);
    if (given)
        *given = FALSE;
    return dflt;
}

/* " (did you mean 'x'?)" for a suggestion, "" for none (caller frees). */
static char *
hint(const char *suggestion)
{
    return suggestion ? g_strdup_printf(" (did you mean '%s'?)", suggestion) : g_strdup("");
}

/* Looks an enumeration value up in a NULL-terminated table of names. */
static gint
get_enum(Reader *R, xmlNode *n, const char *name, const char *const *names, gint dflt)
{
    const char *v = attr(R, n, name);
    if (!v)
        return dflt;
    for (gint i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    g_autofree char *list = g_strjoinv(", ", (char **) names);
    g_autofree char *h = hint(ms__scenario_closest(names, g_strv_length((char **) names), v));
    err(R, n, name, "'%s' is not known: expected one of %s%s", v, list, h);
    return dflt;
}

static gint
find_host(Reader *R, const char *id)
{
    gpointer p = g_hash_table_lookup(R->host_ids, id);
    return p ? GPOINTER_TO_INT(p) - 1 : -1;
}

static MsScenarioHost *
host_at(Reader *R, gint i)
{
    return &g_array_index(R->sc->hosts, MsScenarioHost, i);
}

/* The hint for an unknown host id: the closest id, in file order. */
static char *
host_hint(Reader *R, const char *id)
{
    g_autoptr(GPtrArray) ids = g_ptr_array_new();
    for (guint i = 0; i < R->sc->hosts->len; i++)
        g_ptr_array_add(ids, host_at(R, (gint) i)->id);
    return hint(ms__scenario_closest((const char *const *) ids->pdata, ids->len, id));
}

/* A host reference; -1 (with an error when required or unknown). */
static gint
get_host(Reader *R, xmlNode *n, const char *name, gboolean required)
{
    const char *v = required ? need(R, n, name, "the id of a <host>") : attr(R, n, name);
    if (!v)
        return -1;
    gint h = find_host(R, v);
    if (h < 0) {
        g_autofree char *hh = host_hint(R, v);
        err(R, n, name, "unknown host '%s': expected the id of a <host>%s", v, hh);
    }
    return h;
}

/* A host reference that must have one of the roles in the mask. */
static gint
get_host_role(Reader *R, xmlNode *n, const char *name, gboolean required, guint role_mask,
              const char *expect)
{
    gint h = get_host(R, n, name, required);
    if (h >= 0 && !(role_mask & (1u << host_at(R, h)->role))) {
        err(R, n, name, "host '%s' has role %s: expected %s", host_at(R, h)->id,
            ms_host_role_to_string(host_at(R, h)->role), expect);
        return -1;
    }
    return h;
}

#define ROLE(r) (1u << (r))

static char *
get_hostname(Reader *R, xmlNode *n, const char *name, const char *v)
{
    const char *why;
    if (!ms__scenario_check_hostname(v, &why)) {
        err(R, n, name, "'%s' is not a valid host name: %s", v, why);
        return NULL;
    }
    return g_ascii_strdown(v, -1);
}

/* An e-mail address, its domain lowered (local parts are case-sensitive,
 * RFC 5321 2.4); NULL with an error when bad. */
static char *
email_norm(Reader *R, xmlNode *n, const char *name, const char *v)
{
    const char *why;
    if (!ms__scenario_check_email(v, &why)) {
        err(R, n, name, "'%s' is not a valid e-mail address: %s", v, why);
        return NULL;
    }
    const char *at = strrchr(v, '@');
    g_autofree char *dom = g_ascii_strdown(at + 1, -1);
    return g_strdup_printf("%.*s@%s", (int) (at - v), v, dom);
}

/* Splits "a@x, b@y c@z" into checked addresses. */
static GPtrArray *
get_address_list(Reader *R, xmlNode *n, const char *name, const char *v)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    if (!v)
        return out;
    g_auto(GStrv) parts = g_strsplit_set(v, ", \t\r\n", -1);
    for (char **p = parts; *p; p++) {
        if (**p == '\0')
            continue;
        char *e = email_norm(R, n, name, *p);
        if (e)
            g_ptr_array_add(out, e);
    }
    return out;
}

static gint
domain_server(Reader *R, const char *domain)
{
    gpointer p = g_hash_table_lookup(R->domains, domain);
    return p ? GPOINTER_TO_INT(p) - 1 : -1;
}

static MsScenarioMailserver *
server_at(Reader *R, gint i)
{
    return &g_array_index(R->sc->mailservers, MsScenarioMailserver, i);
}

/* The id of a mail server's host, for errors; "?" when it had none. */
static const char *
server_host_id(Reader *R, gint server)
{
    guint h = server_at(R, server)->host;
    return h < R->sc->hosts->len ? host_at(R, (gint) h)->id : "?";
}

static gint
find_user(MsScenarioMailserver *m, const char *local)
{
    for (guint i = 0; i < m->users->len; i++)
        if (strcmp(g_array_index(m->users, MsScenarioUser, i).name, local) == 0)
            return (gint) i;
    return -1;
}

/* Resolves user@domain to (mailserver, user); FALSE with *why when not. */
static gboolean
find_mailbox(Reader *R, const char *email, gint *server, gint *user)
{
    const char *at = strrchr(email, '@');
    if (!at)
        return FALSE;
    *server = domain_server(R, at + 1);
    if (*server < 0)
        return FALSE;
    g_autofree char *local = g_strndup(email, (gsize) (at - email));
    *user = find_user(server_at(R, *server), local);
    return *user >= 0;
}

static void
check_time_in_run(Reader *R, xmlNode *n, const char *name, MsTime t)
{
    if (R->sc->until != MS_TIME_INFINITE && t > R->sc->until) {
        g_autofree char *ts = ms_time_to_string(t);
        g_autofree char *us = ms_time_to_string(R->sc->until);
        err(R, n, name, "%s is after the end of the run (until=%s): expected a time within the run",
            ts, us);
    }
}

/* ---- phases --------------------------------------------------------------- */

static void
read_root(Reader *R, xmlNode *root)
{
    MsScenario *sc = R->sc;
    sc->version = MS_SCENARIO_VERSION; /* others are refused before the reader runs */
    const char *name = need(R, root, "name", "a short name for the scenario");
    sc->name = g_strdup(name ? name : "");
    sc->seed = get_count(R, root, "seed", 0, G_MAXUINT64, 1);
    sc->until = get_time(R, root, "until", MS_TIME_INFINITE);
    if (sc->until == 0) {
        err(R, root, "until",
            "0 would end the run before it starts: expected a time > 0 "
            "(or no until= to run until idle)");
        sc->until = MS_TIME_INFINITE;
    }
    static const char *const fidelities[] = { "packet", "flow", NULL };
    sc->fidelity = (MsFidelity) get_enum(R, root, "fidelity", fidelities, MS_FIDELITY_PACKET);
    sc->keep_bodies = get_bool(R, root, "keep-bodies", TRUE, NULL);
    guint ntitle = 0, ndesc = 0;
    for (xmlNode *n = root->children; n; n = n->next) {
        if (is(n, "title") || is(n, "description")) {
            gboolean t = is(n, "title");
            if ((t ? ntitle++ : ndesc++) > 0) {
                err(R, n, NULL, "given twice: expected at most one <%s>", (const char *) n->name);
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
read_host(Reader *R, xmlNode *n, GHashTable *addresses, GHashTable *names)
{
    MsScenarioHost h = { .line = line_of(n), .mailserver = -1, .client = -1 };
    const char *why;
    const char *id = need(R, n, "id", "a unique id, e.g. pc-alice");
    if (!id)
        return;
    if (!ms__scenario_check_id(id, &why)) {
        err(R, n, "id", "'%s' is not a valid id: %s", id, why);
        return;
    }
    if (find_host(R, id) >= 0) {
        err(R, n, "id", "duplicate id '%s': first defined on line %u", id,
            host_at(R, find_host(R, id))->line);
        return;
    }
    const char *name = attr(R, n, "name");
    h.name = get_hostname(R, n, "name", name ? name : id);
    if (!h.name)
        h.name = g_ascii_strdown(id, -1);
    gpointer prev = g_hash_table_lookup(names, h.name);
    if (prev)
        err(R, n, "name", "duplicate host name '%s': also host '%s'", h.name,
            host_at(R, GPOINTER_TO_INT(prev) - 1)->id);
    h.role = (MsScenarioRole) get_enum(R, n, "role", role_names, MS_HOST_ROUTER);
    if (!attr(R, n, "role"))
        err(R, n, "role", "missing: expected one of client, mailserver, dns, relay, router");
    const char *addr = need(R, n, "address", "an IPv4 address, e.g. 192.0.2.10");
    if (addr) {
        if (!ms__scenario_parse_ipv4(addr, &h.address, &why)) {
            err(R, n, "address", "'%s' is not valid: %s", addr, why);
        } else {
            gpointer other = g_hash_table_lookup(addresses, GUINT_TO_POINTER(h.address));
            if (other)
                err(R, n, "address", "duplicate address %s: already host '%s'", addr,
                    host_at(R, GPOINTER_TO_INT(other) - 1)->id);
        }
    }
    const char *x = attr(R, n, "x"), *y = attr(R, n, "y");
    if (x || y) {
        if (!x || !y || !parse_number(x, &h.x) || !parse_number(y, &h.y))
            err(R, n, x ? "y" : "x", "bad diagram position: expected both x and y as numbers");
        else
            h.has_position = TRUE;
    }
    h.id = g_strdup(id);
    g_array_append_val(R->sc->hosts, h);
    gint idx = (gint) R->sc->hosts->len;
    g_hash_table_insert(R->host_ids, h.id, GINT_TO_POINTER(idx));
    if (!prev)
        g_hash_table_insert(names, h.name, GINT_TO_POINTER(idx));
    if (h.address && !g_hash_table_contains(addresses, GUINT_TO_POINTER(h.address)))
        g_hash_table_insert(addresses, GUINT_TO_POINTER(h.address), GINT_TO_POINTER(idx));
}

static void
read_link(Reader *R, xmlNode *n, GHashTable *pairs)
{
    MsScenarioLink l = { .line = line_of(n) };
    gint a = get_host(R, n, "a", TRUE), b = get_host(R, n, "b", TRUE);
    l.latency = get_time(R, n, "latency", MS_TIME_MS);
    if (l.latency == 0 && attr(R, n, "latency"))
        err(R, n, "latency",
            "0 is not allowed: expected a time > 0 (links need a positive "
            "latency, the engine's lookahead)");
    const char *bw = attr(R, n, "bandwidth");
    l.bandwidth_bps = 100000000;
    if (bw) {
        g_autoptr(GError) e = NULL;
        if (!ms_units_parse_rate(bw, &l.bandwidth_bps, &e))
            err(R, n, "bandwidth", "%s", e->message);
    }
    guint64 mtu = get_size(R, n, "mtu", 1500);
    if (mtu < 68 || mtu > 65535) /* RFC 791: every host must take 68-octet datagrams */
        err(R, n, "mtu",
            "%" G_GUINT64_FORMAT " bytes is out of range: expected 68B to 65535B "
            "(RFC 791 minimum 68)",
            mtu);
    l.mtu = (guint32) CLAMP(mtu, 68, 65535);
    l.loss = get_fraction(R, n, "loss", 0.0);
    if (attr(R, n, "queue-packets")) {
        if (attr(R, n, "queue"))
            err(R, n, "queue-packets", "both queue and queue-packets given: expected one of them");
        l.queue_packets = (guint32) get_count(R, n, "queue-packets", 1, 1000000, 64);
    } else {
        l.queue_bytes = get_size(R, n, "queue", 64 * 1024);
        if (l.queue_bytes < l.mtu)
            err(R, n, "queue",
                "%" G_GUINT64_FORMAT " bytes cannot hold one packet of the MTU "
                "(%u bytes): expected at least the MTU",
                l.queue_bytes, l.mtu);
    }
    if (a < 0 || b < 0)
        return;
    if (a == b) {
        err(R, n, "b", "a link from host '%s' to itself: expected two different hosts",
            host_at(R, a)->id);
        return;
    }
    guint64 key = ((guint64) MIN(a, b) << 32) | (guint64) MAX(a, b);
    guint64 *k = g_new(guint64, 1);
    *k = key;
    gpointer prev = g_hash_table_lookup(pairs, k);
    if (prev) {
        err(R, n, NULL, "a second link between '%s' and '%s': the first is on line %u",
            host_at(R, a)->id, host_at(R, b)->id,
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
read_dns(Reader *R, xmlNode *n)
{
    static const char *const modes[] = { "flat", "hierarchy", NULL };
    MsScenario *sc = R->sc;
    sc->dns_mode = get_enum(R, n, "mode", modes, 0) == 0 ? MS_DNS_FLAT : MS_DNS_HIERARCHY;
    if (sc->dns_mode == MS_DNS_FLAT) {
        sc->dns_server = get_host_role(R, n, "server", TRUE, ROLE(MS_HOST_DNS), "a dns host");
        if (attr(R, n, "root"))
            err(R, n, "root", "only mode=\"hierarchy\" takes a root: expected server=");
    } else {
        sc->dns_root = get_host_role(R, n, "root", TRUE, ROLE(MS_HOST_DNS), "a dns host");
        if (attr(R, n, "server"))
            err(R, n, "server", "mode=\"hierarchy\" takes root=, not server=");
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
read_zone(Reader *R, xmlNode *n, GHashTable *zone_names)
{
    MsScenarioZone z = { .line = line_of(n) };
    const char *name = need(R, n, "name", "a domain, e.g. example.com");
    gint server = get_host_role(R, n, "server", TRUE, ROLE(MS_HOST_DNS), "a dns host");
    z.ttl = get_time(R, n, "ttl", MS_TIME_H);
    if (!name)
        return;
    /* "." or "com" are valid zones (a hierarchy has a root and TLDs). */
    char *zname = strcmp(name, ".") == 0 ? g_strdup(".") : get_hostname(R, n, "name", name);
    if (!zname)
        return;
    if (g_hash_table_contains(zone_names, zname)) {
        err(R, n, "name", "duplicate zone '%s': expected each zone once", zname);
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
        MsScenarioRecord r = { .line = line_of(c), .host = -1, .ttl = z.ttl };
        if (is(c, "mx")) {
            r.type = MS_RECORD_MX;
            r.preference = (guint16) get_count(R, c, "preference", 0, 65535, 10);
            if (!attr(R, c, "preference"))
                err(R, c, "preference", "missing: expected a number 0 to 65535 (RFC 5321 5.1)");
            const char *ex = need(R, c, "exchange", "the host name of a mail exchanger");
            r.target = ex ? get_hostname(R, c, "exchange", ex) : NULL;
            if (!r.target)
                continue;
            r.name = g_strdup(zname);
            nmx++;
        } else if (is(c, "nullmx")) {
            r.type = MS_RECORD_NULLMX;
            r.name = g_strdup(zname);
            r.target = g_strdup(".");
            nnull++;
        } else if (is(c, "a") || is(c, "ns")) {
            gboolean a = is(c, "a");
            r.type = a ? MS_RECORD_A : MS_RECORD_NS;
            const char *rn = need(R, c, "name", "a host name");
            char *hn = rn ? get_hostname(R, c, "name", rn) : NULL;
            if (!hn)
                continue;
            if (a && !root && !in_zone(hn, zname)) {
                err(R, c, "name", "'%s' is outside zone '%s': expected a name in the zone", hn,
                    zname);
                g_free(hn);
                continue;
            }
            const char *addr = attr(R, c, "address");
            r.host = get_host(R, c, "host", FALSE);
            if (r.host >= 0 && addr)
                err(R, c, "address", "both host and address given: expected one of them");
            if (r.host >= 0) {
                r.address = host_at(R, r.host)->address;
                if (!a && host_at(R, r.host)->role != MS_HOST_DNS)
                    err(R, c, "host", "host '%s' has role %s: expected a dns host",
                        host_at(R, r.host)->id, ms_host_role_to_string(host_at(R, r.host)->role));
            } else if (addr) {
                const char *why;
                if (!a)
                    err(R, c, "address", "an <ns> takes host=, not address=");
                else if (!ms__scenario_parse_ipv4(addr, &r.address, &why))
                    err(R, c, "address", "'%s' is not valid: %s", addr, why);
            } else if (a && !attr(R, c, "host")) {
                err(R, c, NULL, "missing host= or address=: expected the host the name points to");
            }
            if (a) {
                r.name = hn;
                r.ttl = get_time(R, c, "ttl", z.ttl);
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
        err(R, n, NULL, "a <nullmx/> must be the only MX record of the zone (RFC 7505 3)");
    g_array_append_val(R->sc->zones, z);
    g_hash_table_add(zone_names, z.name);
}

static const char *const profile_names[] = { "postfix", "exim", "opensmtpd", NULL };
static const char *const command_names[] = { "CONNECT", "HELO", "EHLO", "MAIL",
                                             "RCPT",    "DATA", "EOD",  NULL };

static void
read_policy(Reader *R, xmlNode *n, MsScenarioPolicy *p)
{
    if (p->line) {
        err(R, n, NULL, "given twice: expected at most one <policy> (the first is on line %u)",
            p->line);
        return;
    }
    p->line = line_of(n);
    static const struct {
        const char *name;
        MsPolicyField f;
    } times[] = {
        { "retry-first", MS_POLICY_RETRY_FIRST },
        { "retry-max", MS_POLICY_RETRY_MAX },
        { "give-up", MS_POLICY_GIVE_UP },
        { "command-delay", MS_POLICY_COMMAND_DELAY },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(times); i++) {
        const char *v = attr(R, n, times[i].name);
        if (!v)
            continue;
        MsTime t;
        g_autoptr(GError) e = NULL;
        if (!ms_units_parse_time(v, &t, &e)) {
            err(R, n, times[i].name, "%s", e->message);
            continue;
        }
        if (t == 0 && times[i].f != MS_POLICY_COMMAND_DELAY) {
            err(R, n, times[i].name, "0 is not allowed: expected a time > 0");
            continue;
        }
        p->set |= times[i].f;
        switch (times[i].f) {
        case MS_POLICY_RETRY_FIRST:
            p->retry_first = t;
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
        err(R, n, "retry-max", "shorter than retry-first: expected retry-max >= retry-first");
    if (attr(R, n, "max-size")) {
        guint64 s = get_size(R, n, "max-size", 0);
        if (s == 0)
            err(R, n, "max-size", "expected a size > 0");
        else {
            p->max_size = s;
            p->set |= MS_POLICY_MAX_SIZE;
        }
    }
    if (attr(R, n, "max-recipients")) {
        /* RFC 5321 4.5.3.1.8: a server must take at least 100 recipients;
         * smaller limits are allowed here to show the 452 reply. */
        guint64 c = get_count(R, n, "max-recipients", 1, G_MAXUINT32, 0);
        if (c) {
            p->max_recipients = (guint32) c;
            p->set |= MS_POLICY_MAX_RECIPIENTS;
        }
    }
    gboolean given = FALSE;
    p->greylist = get_bool(R, n, "greylist", FALSE, &given);
    if (given)
        p->set |= MS_POLICY_GREYLIST;
}

static void
read_reply(Reader *R, xmlNode *n, GArray *replies)
{
    MsScenarioReply r = { .line = line_of(n) };
    if (!attr(R, n, "command"))
        err(R, n, "command", "missing: expected CONNECT, HELO, EHLO, MAIL, RCPT, DATA or EOD");
    r.command = (MsReplyCommand) get_enum(R, n, "command", command_names, MS_REPLY_RCPT);
    if (!attr(R, n, "code"))
        err(R, n, "code", "missing: expected a reply code 200 to 599 (RFC 5321 4.2)");
    r.code = (guint16) get_count(R, n, "code", 200, 599, 451);
    const char *enh = attr(R, n, "enhanced");
    if (enh) {
        const char *why;
        if (!ms__scenario_check_status(enh, &why))
            err(R, n, "enhanced", "'%s' is not valid: %s", enh, why);
        else if (enh[0] != '0' + r.code / 100)
            err(R, n, "enhanced",
                "class %c does not match reply code %u: expected %u.x.x "
                "(RFC 3463 2)",
                enh[0], r.code, r.code / 100);
        else
            r.enhanced = g_strdup(enh);
    }
    const char *text = attr(R, n, "text"), *from = attr(R, n, "from"), *to = attr(R, n, "to");
    r.text = g_strdup(text ? text : "");
    r.from = g_strdup(from && *from ? from : "*");
    r.to = g_strdup(to && *to ? to : "*");
    r.start = get_time(R, n, "start", 0);
    r.end = get_time(R, n, "end", MS_TIME_INFINITE);
    if (r.end <= r.start)
        err(R, n, "end", "not after start: expected end > start");
    r.rate = get_fraction(R, n, "rate", 1.0);
    g_array_append_val(replies, r);
}

static void
read_mailserver(Reader *R, xmlNode *n)
{
    MsScenarioMailserver m = { .line = line_of(n), .resolver = -1, .smarthost = -1 };
    gint host = get_host_role(R, n, "host", TRUE, ROLE(MS_HOST_MAILSERVER) | ROLE(MS_HOST_RELAY),
                              "a mailserver or relay host");
    if (host >= 0 && host_at(R, host)->mailserver >= 0) {
        err(R, n, "host", "host '%s' already has a <mailserver> on line %u: expected one per host",
            host_at(R, host)->id, server_at(R, host_at(R, host)->mailserver)->line);
        host = -1;
    }
    m.profile = (MsMtaProfile) get_enum(R, n, "profile", profile_names, MS_MTA_POSTFIX);
    m.resolver = get_host_role(R, n, "resolver", FALSE, ROLE(MS_HOST_DNS), "a dns host");
    m.domains = g_ptr_array_new_with_free_func(g_free);
    m.users = g_array_new(FALSE, TRUE, sizeof(MsScenarioUser));
    m.replies = g_array_new(FALSE, TRUE, sizeof(MsScenarioReply));
    gint self = (gint) R->sc->mailservers->len;
    const char *doms = attr(R, n, "domains");
    if (doms) {
        g_auto(GStrv) parts = g_strsplit_set(doms, ", \t\r\n", -1);
        for (char **p = parts; *p; p++) {
            if (**p == '\0')
                continue;
            char *d = get_hostname(R, n, "domains", *p);
            if (!d)
                continue;
            gint other = domain_server(R, d);
            if (other == self) {
                err(R, n, "domains", "domain '%s' is listed twice: expected each domain once", d);
                g_free(d);
                continue;
            }
            if (other >= 0) {
                err(R, n, "domains",
                    "domain '%s' is already served by mailserver '%s' (line %u): "
                    "expected each domain on one mailserver",
                    d, server_host_id(R, other), server_at(R, other)->line);
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
    const char *backups = attr(R, n, "backup-for");
    if (backups) {
        g_auto(GStrv) parts = g_strsplit_set(backups, ", \t\r\n", -1);
        for (char **p = parts; *p; p++) {
            if (**p == '\0')
                continue;
            char *d = get_hostname(R, n, "backup-for", *p);
            if (!d)
                continue;
            gboolean dup = FALSE;
            for (guint k = 0; k < m.backup_for->len && !dup; k++)
                dup = strcmp(g_ptr_array_index(m.backup_for, k), d) == 0;
            if (dup || domain_server(R, d) == self) {
                err(R, n, "backup-for",
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
    if (host >= 0 && host_at(R, host)->role == MS_HOST_RELAY && m.domains->len > 0)
        err(R, n, "domains",
            "host '%s' is a relay: a relay serves no domains (give it role "
            "mailserver to accept mail for domains)",
            host_at(R, host)->id);
    for (xmlNode *c = n->children; c; c = c->next) {
        if (is(c, "user")) {
            MsScenarioUser u = { .line = line_of(c) };
            const char *name = need(R, c, "name", "a local part, e.g. alice");
            if (!name)
                continue;
            g_autofree char *probe = g_strdup_printf("%s@example.com", name);
            const char *why;
            if (!ms__scenario_check_email(probe, &why)) {
                err(R, c, "name",
                    "'%s' is not a valid local part: expected letters, digits and "
                    "!#$%%&'*+-/=?^_`{|}~ with single dots inside (RFC 5322 3.2.3)",
                    name);
                continue;
            }
            if (find_user(&m, name) >= 0) {
                err(R, c, "name", "duplicate user '%s': expected each user once per mailserver",
                    name);
                continue;
            }
            const char *pw = attr(R, c, "password");
            u.password = g_strdup(pw ? pw : "");
            u.quota = get_size(R, c, "quota", 0);
            u.name = g_strdup(name);
            g_array_append_val(m.users, u);
        } else if (is(c, "policy")) {
            read_policy(R, c, &m.policy);
        } else if (is(c, "reply")) {
            read_reply(R, c, m.replies);
        }
    }
    /* generated-users="N": users u1..uN with password "pw", for generated
     * worlds (no duplicate check: the names are distinct by construction). */
    const char *gen = attr(R, n, "generated-users");
    if (gen) {
        guint64 count = 0;
        if (!ms_units_parse_count(gen, &count, NULL) || count > 10000000)
            err(R, n, "generated-users", "'%s' is not a user count: expected 0 to 10000000", gen);
        else
            for (guint64 k = 1; k <= count; k++) {
                MsScenarioUser gu = { .line = line_of(n) };
                gu.name = g_strdup_printf("u%" G_GUINT64_FORMAT, k);
                gu.password = g_strdup("pw");
                g_array_append_val(m.users, gu);
            }
    }
    if (m.users->len > 0 && m.domains->len == 0)
        err(R, n, NULL, "has users but no domains: expected domains= for the users' mailboxes");
    m.host = host >= 0 ? (guint) host : G_MAXUINT; /* only in a scenario with errors */
    g_array_append_val(R->sc->mailservers, m);
    if (host >= 0)
        host_at(R, host)->mailserver = self;
}

/* Smarthosts point to other mail servers, possibly later in the file. */
static void
resolve_smarthosts(Reader *R, GPtrArray *nodes)
{
    for (guint i = 0; i < nodes->len; i++) {
        xmlNode *n = nodes->pdata[i];
        gint h = get_host(R, n, "smarthost", FALSE);
        if (h < 0)
            continue;
        MsScenarioMailserver *m = server_at(R, (gint) i);
        if (host_at(R, h)->mailserver < 0)
            err(R, n, "smarthost", "host '%s' has no <mailserver>: expected a mail server or relay",
                host_at(R, h)->id);
        else if ((guint) h == m->host)
            err(R, n, "smarthost", "a mail server cannot be its own smarthost");
        else
            m->smarthost = h;
    }
}

static void
read_client(Reader *R, xmlNode *n)
{
    MsScenarioClient c = {
        .line = line_of(n), .smtp = -1, .pop3 = -1, .mailbox_server = -1, .mailbox_user = -1
    };
    gint host = get_host_role(R, n, "host", TRUE, ROLE(MS_HOST_CLIENT), "a client host");
    if (host >= 0 && host_at(R, host)->client >= 0) {
        err(R, n, "host", "host '%s' already has a <client>: expected one per host",
            host_at(R, host)->id);
        host = -1;
    }
    const char *user = need(R, n, "user", "the user's e-mail address, e.g. alice@isp-a.net");
    c.user = user ? email_norm(R, n, "user", user) : NULL;
    const char *pw = attr(R, n, "password");
    c.password = g_strdup(pw ? pw : "");
    c.check_every = get_time(R, n, "check-every", 0);
    c.keep = get_bool(R, n, "keep", FALSE, NULL);
    static const char *const servers[] = { "smtp", "pop3" };
    for (gsize i = 0; i < 2; i++) {
        gint s = get_host(R, n, servers[i], FALSE);
        if (s >= 0 && host_at(R, s)->mailserver < 0) {
            err(R, n, servers[i], "host '%s' has no <mailserver>: expected a mail server",
                host_at(R, s)->id);
            s = -1;
        }
        if (i == 0)
            c.smtp = s;
        else
            c.pop3 = s;
    }
    if (c.user) {
        gint server = -1, u = -1;
        const char *dom = strrchr(c.user, '@') + 1;
        if (!find_mailbox(R, c.user, &server, &u)) {
            if (server < 0)
                err(R, n, "user",
                    "no mailserver serves domain '%s': expected a domain listed in a "
                    "<mailserver domains=...>",
                    dom);
            else
                err(R, n, "user", "unknown user '%s' on mailserver '%s': expected a <user> there",
                    c.user, server_host_id(R, server));
        } else {
            c.mailbox_server = server;
            c.mailbox_user = u;
            gint mh = (gint) server_at(R, server)->host;
            if (c.pop3 >= 0 && c.pop3 != mh)
                err(R, n, "pop3", "host '%s' does not hold the mailbox of %s: expected '%s'",
                    host_at(R, c.pop3)->id, c.user, server_host_id(R, server));
        }
    }
    if (host < 0 || !c.user) {
        g_free(c.user);
        g_free(c.password);
        return;
    }
    c.host = (guint) host;
    g_array_append_val(R->sc->clients, c);
    host_at(R, host)->client = (gint) R->sc->clients->len - 1;
}

static gint
find_client_by_host_attr(Reader *R, xmlNode *n, const char *name, gboolean required)
{
    gint h = get_host(R, n, name, required);
    if (h < 0)
        return -1;
    if (host_at(R, h)->client < 0) {
        err(R, n, name, "host '%s' has no <client>: expected a host with a <client>",
            host_at(R, h)->id);
        return -1;
    }
    return host_at(R, h)->client;
}

static void
read_message(Reader *R, xmlNode *n)
{
    MsScenarioMessage m = { .line = line_of(n) };
    const char *why;
    const char *id = need(R, n, "id", "a unique id, e.g. m1");
    if (id && !ms__scenario_check_id(id, &why)) {
        err(R, n, "id", "'%s' is not a valid id: %s", id, why);
        id = NULL;
    }
    if (id && g_hash_table_contains(R->message_ids, id)) {
        err(R, n, "id", "duplicate message id '%s'", id);
        id = NULL;
    }
    const char *from = need(R, n, "from", "the sender's e-mail address");
    m.from = from ? email_norm(R, n, "from", from) : NULL;
    const char *to = need(R, n, "to", "one or more recipient addresses");
    m.to = get_address_list(R, n, "to", to);
    m.cc = get_address_list(R, n, "cc", attr(R, n, "cc"));
    if (to && m.to->len == 0 && strspn(to, ", \t\r\n") == strlen(to))
        err(R, n, "to", "no recipient: expected at least one e-mail address");
    const char *subject = attr(R, n, "subject");
    m.subject = g_strdup(subject ? subject : "");
    m.at = get_time(R, n, "at", 0);
    check_time_in_run(R, n, "at", m.at);
    m.size = get_size(R, n, "size", 0);
    xmlChar *body = xmlNodeGetContent(n);
    if (body) {
        char *b = g_strstrip(g_strdup((const char *) body));
        if (*b)
            m.body = b;
        else
            g_free(b);
        xmlFree(body);
    }
    gint client = -1;
    if (attr(R, n, "client")) {
        client = find_client_by_host_attr(R, n, "client", FALSE);
        if (client >= 0 && m.from &&
            strcmp(g_array_index(R->sc->clients, MsScenarioClient, client).user, m.from) != 0)
            err(R, n, "from", "'%s' is not the user of client '%s': expected %s", m.from,
                attr(R, n, "client"), g_array_index(R->sc->clients, MsScenarioClient, client).user);
    } else if (m.from) {
        guint matches = 0;
        for (guint i = 0; i < R->sc->clients->len; i++)
            if (strcmp(g_array_index(R->sc->clients, MsScenarioClient, i).user, m.from) == 0) {
                if (matches++ == 0)
                    client = (gint) i;
            }
        if (matches == 0)
            err(R, n, "from",
                "'%s' is not the user of any <client>: expected the address of a "
                "client that sends it",
                m.from);
        else if (matches > 1) {
            err(R, n, "from",
                "'%s' is the user of %u clients: expected client= to say which sends it", m.from,
                matches);
            client = -1;
        }
    }
    if (!id || !m.from || client < 0 || m.to->len == 0) {
        g_free(m.from);
        g_ptr_array_unref(m.to);
        g_ptr_array_unref(m.cc);
        g_free(m.subject);
        g_free(m.body);
        return;
    }
    m.sender_client = (guint) client;
    m.id = g_strdup(id);
    g_array_append_val(R->sc->messages, m);
    g_hash_table_insert(R->message_ids, m.id, GINT_TO_POINTER((gint) R->sc->messages->len));
}

static gint
get_message(Reader *R, xmlNode *n, gboolean required)
{
    const char *v =
        required ? need(R, n, "message", "the id of a <message>") : attr(R, n, "message");
    if (!v)
        return -1;
    gpointer p = g_hash_table_lookup(R->message_ids, v);
    if (!p) {
        g_autoptr(GPtrArray) ids = g_ptr_array_new();
        for (guint i = 0; i < R->sc->messages->len; i++)
            g_ptr_array_add(ids, g_array_index(R->sc->messages, MsScenarioMessage, i).id);
        g_autofree char *h =
            hint(ms__scenario_closest((const char *const *) ids->pdata, ids->len, v));
        err(R, n, "message", "unknown message '%s': expected the id of a <message>%s", v, h);
        return -1;
    }
    return GPOINTER_TO_INT(p) - 1;
}

static void
read_check(Reader *R, xmlNode *n)
{
    MsScenarioCheck c = { .line = line_of(n) };
    gint client = find_client_by_host_attr(R, n, "client", TRUE);
    if (!attr(R, n, "at"))
        err(R, n, "at", "missing: expected a time, e.g. 30s");
    c.at = get_time(R, n, "at", 0);
    check_time_in_run(R, n, "at", c.at);
    if (client < 0)
        return;
    c.client = (guint) client;
    g_array_append_val(R->sc->checks, c);
}

/* "120/h": messages per unit of time. */
static gboolean
parse_msg_rate(const char *v, double *per_s)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {
        { "s", 1 },
        { "min", 60 },
        { "h", 3600 },
        { "d", 86400 },
    };
    const char *slash = strchr(v, '/');
    if (!slash)
        return FALSE;
    g_autofree char *num = g_strndup(v, (gsize) (slash - v));
    double x;
    if (!parse_number(num, &x) || !(x > 0))
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(units); i++)
        if (strcmp(slash + 1, units[i].unit) == 0) {
            *per_s = x / units[i].seconds;
            return TRUE;
        }
    return FALSE;
}

/* "2KiB" | "fixed:2KiB" | "lognormal:mu=8,sigma=1" | "exponential:mean=4KiB" */
static gboolean
parse_size_dist(const char *v, MsWorkloadSpec *w)
{
    guint64 bytes;
    if (g_str_has_prefix(v, "fixed:"))
        v += 6;
    if (ms_units_parse_size(v, &bytes, NULL)) {
        w->size_dist = MS_WORKLOAD_SIZE_FIXED;
        w->size_a = (double) bytes;
        return bytes > 0;
    }
    if (g_str_has_prefix(v, "exponential:mean=")) {
        if (!ms_units_parse_size(v + 17, &bytes, NULL) || bytes == 0)
            return FALSE;
        w->size_dist = MS_WORKLOAD_SIZE_EXPONENTIAL;
        w->size_a = (double) bytes;
        return TRUE;
    }
    if (g_str_has_prefix(v, "lognormal:mu=")) {
        const char *p = v + 13;
        const char *comma = strstr(p, ",sigma=");
        if (!comma)
            return FALSE;
        g_autofree char *mu = g_strndup(p, (gsize) (comma - p));
        double m, s;
        if (!parse_number(mu, &m) || !parse_number(comma + 7, &s) || !(s > 0) || m < 0 || m > 40)
            return FALSE;
        w->size_dist = MS_WORKLOAD_SIZE_LOGNORMAL;
        w->size_a = m;
        w->size_b = s;
        return TRUE;
    }
    return FALSE;
}

static void
read_workload(Reader *R, xmlNode *n)
{
    MsWorkloadSpec w = { .line = line_of(n), .from_server = -1, .to_server = -1 };
    const char *from = need(R, n, "from", "a sender domain served by a <mailserver>");
    const char *to = need(R, n, "to", "a recipient domain");
    w.from = from ? get_hostname(R, n, "from", from) : NULL;
    /* to="*": a random domain of the world for each message */
    w.to = to ? (strcmp(to, "*") == 0 ? g_strdup("*") : get_hostname(R, n, "to", to)) : NULL;
    if (w.from) {
        w.from_server = domain_server(R, w.from);
        if (w.from_server < 0)
            err(R, n, "from",
                "no mailserver serves domain '%s': expected a domain listed in a "
                "<mailserver domains=...>",
                w.from);
    }
    if (w.to && strcmp(w.to, "*") != 0)
        w.to_server = domain_server(R, w.to);
    w.start = get_time(R, n, "start", 0);
    check_time_in_run(R, n, "start", w.start);
    w.end = get_time(R, n, "end", R->sc->until);
    if (w.end == MS_TIME_INFINITE && !attr(R, n, "end"))
        err(R, n, "end", "missing, and the scenario has no until=: expected an end time");
    else if (w.end <= w.start)
        err(R, n, "end", "not after start: expected end > start");
    const char *rate = need(R, n, "rate", "messages per time, e.g. 120/h");
    if (rate && !parse_msg_rate(rate, &w.rate_per_s))
        err(R, n, "rate",
            "'%s' is not a message rate: expected a number > 0, '/', and s, min, h "
            "or d, e.g. 120/h",
            rate);
    w.size_dist = MS_WORKLOAD_SIZE_FIXED;
    w.size_a = 2048;
    const char *size = attr(R, n, "size");
    if (size && !parse_size_dist(size, &w))
        err(R, n, "size",
            "'%s' is not a size distribution: expected a size (2KiB), "
            "fixed:SIZE, exponential:mean=SIZE or lognormal:mu=M,sigma=S",
            size);
    if (!w.from || !w.to) {
        g_free(w.from);
        g_free(w.to);
        return;
    }
    g_array_append_val(R->sc->workloads, w);
}

static const char *const fault_names[] = { "host-down", "link-down",    "loss",
                                           "dns-down",  "mailbox-full", NULL };

static gint
find_link(Reader *R, gint a, gint b)
{
    for (guint i = 0; i < R->sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(R->sc->links, MsScenarioLink, i);
        if (((gint) l->a == a && (gint) l->b == b) || ((gint) l->a == b && (gint) l->b == a))
            return (gint) i;
    }
    return -1;
}

static void
read_fault(Reader *R, xmlNode *n)
{
    MsScenarioFault f = {
        .line = line_of(n), .host = -1, .link = -1, .mailserver = -1, .user = -1
    };
    if (!attr(R, n, "kind")) {
        err(R, n, "kind", "missing: expected host-down, link-down, loss, dns-down or mailbox-full");
        return;
    }
    gint kind = get_enum(R, n, "kind", fault_names, -1);
    const char *target = need(R, n, "target", "what fails");
    if (!attr(R, n, "at"))
        err(R, n, "at", "missing: expected when the fault starts, e.g. 10s");
    f.at = get_time(R, n, "at", 0);
    check_time_in_run(R, n, "at", f.at);
    f.duration = get_time(R, n, "duration", MS_TIME_INFINITE);
    if (f.duration == 0)
        err(R, n, "duration",
            "0 is not allowed: expected a time > 0, or no duration for a "
            "fault that lasts to the end");
    if (kind < 0 || !target)
        return;
    f.kind = (MsFaultKind) kind;
    gboolean ok = TRUE;
    switch (f.kind) {
    case MS_FAULT_HOST_DOWN:
    case MS_FAULT_DNS_DOWN:
        f.host = find_host(R, target);
        if (f.host < 0) {
            g_autofree char *hh = host_hint(R, target);
            err(R, n, "target", "unknown host '%s': expected the id of a <host>%s", target, hh);
            ok = FALSE;
        } else if (f.kind == MS_FAULT_DNS_DOWN && host_at(R, f.host)->role != MS_HOST_DNS) {
            err(R, n, "target", "host '%s' has role %s: expected a dns host", target,
                ms_host_role_to_string(host_at(R, f.host)->role));
            ok = FALSE;
        }
        break;
    case MS_FAULT_LINK_DOWN:
    case MS_FAULT_LOSS: {
        const char *tilde = strchr(target, '~');
        g_autofree char *a = tilde ? g_strndup(target, (gsize) (tilde - target)) : NULL;
        gint ha = a ? find_host(R, a) : -1, hb = tilde ? find_host(R, tilde + 1) : -1;
        if (!tilde) {
            err(R, n, "target", "'%s' is not a link: expected HOST~HOST, e.g. r1~r2", target);
            ok = FALSE;
        } else if (ha < 0 || hb < 0) {
            g_autofree char *hh = host_hint(R, ha < 0 ? a : tilde + 1);
            err(R, n, "target", "unknown host '%s': expected the id of a <host>%s",
                ha < 0 ? a : tilde + 1, hh);
            ok = FALSE;
        } else if ((f.link = find_link(R, ha, hb)) < 0) {
            err(R, n, "target", "no link between '%s' and '%s': expected the ends of a <link>", a,
                tilde + 1);
            ok = FALSE;
        }
        if (f.kind == MS_FAULT_LOSS) {
            if (!attr(R, n, "rate"))
                err(R, n, "rate", "missing: a loss fault needs the loss probability, 0 to 1");
            f.rate = get_fraction(R, n, "rate", 0.0);
        }
        break;
    }
    case MS_FAULT_MAILBOX_FULL: {
        const char *why;
        g_autofree char *e = NULL;
        if (!ms__scenario_check_email(target, &why)) {
            err(R, n, "target", "'%s' is not a mailbox: %s", target, why);
            ok = FALSE;
        } else if (!find_mailbox(R, (e = email_norm(R, n, "target", target)), &f.mailserver,
                                 &f.user)) {
            err(R, n, "target",
                "unknown user '%s': expected a <user> of the mailserver of its domain", e);
            ok = FALSE;
        }
        break;
    }
    }
    if (!ok)
        return;
    f.target = g_strdup(target);
    g_array_append_val(R->sc->faults, f);
}

static const char *const expect_names[] = { "delivered", "bounced",   "dsn",     "received-headers",
                                            "attempts",  "retrieved", "no-loss", NULL };

static void
read_expect(Reader *R, xmlNode *n)
{
    MsScenarioExpect e = { .line = line_of(n), .message = -1, .client = -1, .count = -1 };
    if (!attr(R, n, "kind")) {
        err(R, n, "kind",
            "missing: expected one of delivered, bounced, dsn, received-headers, "
            "attempts, retrieved, no-loss");
        return;
    }
    gint kind = get_enum(R, n, "kind", expect_names, -1);
    if (kind < 0)
        return;
    e.kind = (MsExpectKind) kind;
    gboolean need_msg = e.kind != MS_EXPECT_DSN && e.kind != MS_EXPECT_NO_LOSS;
    e.message = get_message(R, n, need_msg);
    const char *to = (e.kind == MS_EXPECT_DSN)
                         ? need(R, n, "to", "the address that receives the DSN")
                         : attr(R, n, "to");
    if (e.kind == MS_EXPECT_RECEIVED_HEADERS && !to)
        err(R, n, "to", "missing: expected the recipient whose copy is counted");
    if (to) {
        e.to = email_norm(R, n, "to", to);
        if (e.to && e.message >= 0 && e.kind != MS_EXPECT_DSN) {
            const MsScenarioMessage *m =
                &g_array_index(R->sc->messages, MsScenarioMessage, e.message);
            gboolean found = FALSE;
            for (guint i = 0; i < m->to->len && !found; i++)
                found = strcmp(m->to->pdata[i], e.to) == 0;
            for (guint i = 0; i < m->cc->len && !found; i++)
                found = strcmp(m->cc->pdata[i], e.to) == 0;
            if (!found)
                err(R, n, "to",
                    "'%s' is not a recipient of message '%s': expected one of its to/cc "
                    "addresses",
                    e.to, m->id);
        }
    }
    e.within = get_time(R, n, "within", MS_TIME_INFINITE);
    const char *status = attr(R, n, "status");
    if (status) {
        const char *why;
        if (!ms__scenario_check_status(status, &why))
            err(R, n, "status", "'%s' is not valid: %s", status, why);
        else if (e.kind == MS_EXPECT_BOUNCED && status[0] == '2')
            err(R, n, "status", "a bounce has a 4.x.x or 5.x.x status, not '%s' (RFC 3464 2.3.4)",
                status);
        else
            e.status = g_strdup(status);
    }
    gboolean need_count = e.kind == MS_EXPECT_RECEIVED_HEADERS || e.kind == MS_EXPECT_ATTEMPTS;
    if (need_count && !attr(R, n, "count"))
        err(R, n, "count", "missing: expected a number");
    if (attr(R, n, "count"))
        e.count = (gint64) get_count(R, n, "count", 0, 1000000, 0);
    if (e.kind == MS_EXPECT_RETRIEVED)
        e.client = find_client_by_host_attr(R, n, "client", TRUE);
    else if (attr(R, n, "client"))
        e.client = find_client_by_host_attr(R, n, "client", FALSE);
    g_array_append_val(R->sc->expects, e);
}

static void
read_output(Reader *R, xmlNode *n)
{
    MsScenarioOutput o = { .line = line_of(n) };
    const char *t = attr(R, n, "trace"), *p = attr(R, n, "pcap"), *s = attr(R, n, "stats");
    if (!t && !p && !s)
        err(R, n, NULL, "names no file: expected trace=, pcap= or stats=");
    o.trace = t && *t ? g_strdup(t) : NULL;
    o.pcap = p && *p ? g_strdup(p) : NULL;
    o.stats = s && *s ? g_strdup(s) : NULL;
    g_array_append_val(R->sc->outputs, o);
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
    return sc;
}

MsScenario *
ms__scenario_read(MsScenarioDiag *d, xmlDoc *doc)
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
    g_autoptr(GPtrArray) server_nodes = g_ptr_array_new();
    Reader R = { d, scenario_new(), temps, host_ids, domains, message_ids };

    read_root(&R, root);
    for (xmlNode *n = root->children; n; n = n->next)
        if (is(n, "host"))
            read_host(&R, n, addresses, names);
    guint nrouting = 0, ndns = 0;
    for (xmlNode *n = root->children; n; n = n->next) {
        if (is(n, "link")) {
            read_link(&R, n, pairs);
        } else if (is(n, "routing") || is(n, "dns")) {
            gboolean routing = is(n, "routing");
            if ((routing ? nrouting++ : ndns++) > 0) {
                err(&R, n, NULL, "given twice: expected at most one <%s>", (const char *) n->name);
            } else if (routing) {
                static const char *const metrics[] = { "latency", "hops", NULL };
                R.sc->routing = get_enum(&R, n, "metric", metrics, 0) == 0 ? MS_ROUTING_LATENCY
                                                                           : MS_ROUTING_HOPS;
            } else {
                read_dns(&R, n);
            }
        }
    }
    for (xmlNode *n = root->children; n; n = n->next)
        if (is(n, "zone"))
            read_zone(&R, n, zone_names);
    if (R.sc->zones->len > 0 && R.sc->dns_mode == MS_DNS_NONE)
        err(&R, root, NULL,
            "zones are given but no <dns>: expected <dns mode=\"flat\" server=...> "
            "or <dns mode=\"hierarchy\" root=...>");
    for (xmlNode *n = root->children; n; n = n->next)
        if (is(n, "mailserver")) {
            read_mailserver(&R, n);
            g_ptr_array_add(server_nodes, n);
        }
    resolve_smarthosts(&R, server_nodes);
    for (xmlNode *n = root->children; n; n = n->next)
        if (is(n, "client"))
            read_client(&R, n);
    for (xmlNode *n = root->children; n; n = n->next)
        if (is(n, "message"))
            read_message(&R, n);
    for (xmlNode *n = root->children; n; n = n->next) {
        if (is(n, "check"))
            read_check(&R, n);
        else if (is(n, "workload"))
            read_workload(&R, n);
        else if (is(n, "fault"))
            read_fault(&R, n);
        else if (is(n, "expect"))
            read_expect(&R, n);
        else if (is(n, "output"))
            read_output(&R, n);
    }
    return R.sc;
}

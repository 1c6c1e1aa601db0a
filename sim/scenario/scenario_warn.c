/* Authoring warnings: MsScenario -> "FILE:LINE: warning: ..." lines for a
 * scenario that loads but will silently lose its point (see
 * ms_scenario_warnings in include/mailsim/scenario.h). `mailsim validate`
 * prints them; `mailsim run` prints them once before the run.
 *
 * Design. Every check reads the loaded scenario alone (no world is built, no
 * event runs) and warns only where the scenario itself proves the point lost:
 * a warning that cries wolf teaches authors to ignore warnings. So each check
 * takes the conservative side wherever the outcome depends on the run:
 *  - a sender domain without an MX, null MX or A record in any zone, in a
 *    world where a server other than the sender's own may bounce a message
 *    it has accepted (a relay, a backup MX, a quota, a full mailbox, a
 *    workload): that bounce is routed by DNS (RFC 5321 5.1) and finds
 *    nothing. Without such a server every bounce is written by the sender's
 *    own server and delivered locally, so the warning would be noise;
 *  - an expectation that needs a recipient delivered (delivered,
 *    received-headers, retrieved) where the recipient's domain is served by
 *    no <mailserver>, or names no <user> of it (that server answers 550
 *    5.1.1); where the message is larger than the submission server or the
 *    recipient's server takes, or not below the recipient's quota; where
 *    the server that must look the domain up finds a null MX or no record at
 *    all; or where even the fastest path from the sending client to the
 *    recipient's server (link latencies alone, a lower bound of any
 *    delivery) ends after until= or after within=;
 *  - retrieved by a client that never looks (no pop3= server, or no
 *    check-every= and no <check> at or after the message's time), or by one
 *    whose user is not a recipient;
 *  - bounced where nothing can make the delivery fail: the recipient exists,
 *    its domain has DNS records, and the scenario has no fault, no scripted
 *    4xx/5xx reply, no lossy link, no policy limit, greylisting or command
 *    delay, no quota,
 *    no smarthost or backup MX, no workload, a message well within every
 *    profile's default size and recipient limits, and one connected network;
 *  - a dsn expected at an address that sends no message (and no workload
 *    sends mail), since DSNs go to envelope senders (RFC 3464 2.2);
 *  - a message whose client has no smtp= server (it is never sent; an
 *    expectation that needs it delivered can never hold);
 *  - a host with no link; a <check> or check-every= of a client without a
 *    pop3= server (it downloads nothing); a fault at exactly until= (later
 *    is an error);
 *  - a TXT record written as SPF (v=spf1) or DMARC (at a _dmarc name)
 *    that its parser refuses, or an SPF record with more than 10 terms
 *    that query DNS (always permerror);
 *  - in a world with TLS, a client that insists on TLS (smtp-tls or
 *    pop3-tls starttls, stls or implicit) against a server without a
 *    certificate, or one without TLS against a server that takes logins
 *    only inside TLS (auth-only): it can never log in.
 * Not decided here (they depend on routing, timing or load): whether a given
 * link is ever used, whether a retry schedule fits in the run, whether load
 * or loss make a delivery fail.
 *
 * Ownership: the caller owns the returned array and its strings. Costs:
 * linear in the scenario (record names and served domains are indexed in
 * hash tables that are looked up, never iterated); the path bound runs
 * Dijkstra (O(E log V), ms_scenario_latencies()) once per distinct sending host that an expectation needs. No
 * hash-table order reaches the output: warnings are sorted by line, then by
 * the order the checks ran in. */
#include "mailsim/scenario.h"
#include "mailsim/dmarc.h"
#include "mailsim/spf.h"

#include <string.h>

typedef struct {
    guint line;
    guint seq;
    char *text;
} Warning;

typedef struct {
    const MsScenario *sc;
    GArray *out;        /* of Warning */
    GHashTable *dists;  /* source host + 1 -> MsTime array (one Dijkstra each) */
    GHashTable *named;  /* set of names owning an MX, null MX or A record */
    GHashTable *served; /* domain -> mailserver index + 1 */
    GHashTable *nullmx; /* set of domains publishing a null MX */
} Checker;

static void warn(Checker *C, guint line, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
warn(Checker *C, guint line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    Warning w = { line, C->out->len, g_strdup_vprintf(fmt, ap) };
    va_end(ap);
    g_array_append_val(C->out, w);
}

static const MsScenarioHost *
host_at(const MsScenario *sc, guint i)
{
    return &g_array_index(sc->hosts, MsScenarioHost, i);
}

static const MsScenarioMailserver *
server_at(const MsScenario *sc, gint i)
{
    return &g_array_index(sc->mailservers, MsScenarioMailserver, i);
}

static const char *
domain_of(const char *email)
{
    const char *at = strrchr(email, '@');
    return at ? at + 1 : "";
}

/* The mail server whose domains= lists domain, or -1. */
static gint
served_by(const Checker *C, const char *domain)
{
    return GPOINTER_TO_INT(g_hash_table_lookup(C->served, domain)) - 1;
}

static gboolean
has_user(const MsScenarioMailserver *m, const char *email)
{
    gsize local = (gsize) (strrchr(email, '@') - email);
    for (guint i = 0; i < m->users->len; i++) {
        const char *name = g_array_index(m->users, MsScenarioUser, i).name;
        if (strlen(name) == local && strncmp(name, email, local) == 0)
            return TRUE;
    }
    return FALSE;
}

/* TRUE when some zone holds an MX (or null MX) for domain, or an A record
 * for the name itself (the implicit MX of RFC 5321 5.1). */
static gboolean
domain_in_dns(const Checker *C, const char *domain)
{
    return g_hash_table_contains(C->named, domain);
}

static void
index_names(Checker *C)
{
    const MsScenario *sc = C->sc;
    for (guint i = 0; i < sc->zones->len; i++) {
        const MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, i);
        for (guint k = 0; k < z->records->len; k++) {
            const MsScenarioRecord *r = &g_array_index(z->records, MsScenarioRecord, k);
            if (r->type != MS_RECORD_NS)
                g_hash_table_add(C->named, r->name);
            if (r->type == MS_RECORD_NULLMX)
                g_hash_table_add(C->nullmx, r->name);
        }
    }
    for (guint i = 0; i < sc->mailservers->len; i++) { /* each domain is on one server */
        const MsScenarioMailserver *m = server_at(sc, (gint) i);
        for (guint k = 0; k < m->domains->len; k++)
            g_hash_table_insert(C->served, m->domains->pdata[k], GINT_TO_POINTER((gint) i + 1));
    }
}

/* ---- the fastest path: a lower bound on any delivery ------------------- */

/* Shortest one-way latency from host `from` to every host
 * (MS_TIME_INFINITE when unreachable); owned by the checker. */
static const MsTime *
latencies_from(Checker *C, guint from)
{
    const MsScenario *sc = C->sc;
    MsTime *d = g_hash_table_lookup(C->dists, GUINT_TO_POINTER(from + 1));
    if (d)
        return d;
    g_autofree MsTime *seed = g_new(MsTime, sc->hosts->len);
    for (guint i = 0; i < sc->hosts->len; i++)
        seed[i] = i == from ? 0 : MS_TIME_INFINITE;
    d = ms_scenario_latencies(sc, seed, NULL, NULL);
    g_hash_table_insert(C->dists, GUINT_TO_POINTER(from + 1), d);
    return d;
}

/* ---- the checks --------------------------------------------------------- */

/* A client without smtp= drops what it would send (sim/mail/mail_mua.c). */
static void
check_messages_sent(Checker *C)
{
    const MsScenario *sc = C->sc;
    for (guint i = 0; i < sc->messages->len; i++) {
        const MsScenarioMessage *m = &g_array_index(sc->messages, MsScenarioMessage, i);
        if (m->via_server >= 0)
            continue; /* sent by a host's own MTA, not submitted by a client */
        const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, m->sender_client);
        if (c->smtp < 0)
            warn(C, m->line,
                 "element 'message': client '%s' has no smtp= server to submit to: message '%s' "
                 "is never sent",
                 host_at(sc, c->host)->id, m->id);
    }
}

/* TRUE when some server other than a sender's own may accept a message and
 * bounce it later (an asynchronous bounce, which needs the sender domain in
 * DNS). A rejection during the SMTP session is bounced by the sender's own
 * server, locally. */
static gboolean
remote_bounce_possible(const MsScenario *sc)
{
    if (sc->workloads->len)
        return TRUE;
    for (guint i = 0; i < sc->faults->len; i++)
        if (g_array_index(sc->faults, MsScenarioFault, i).kind == MS_FAULT_MAILBOX_FULL)
            return TRUE;
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *s = server_at(sc, (gint) i);
        if (s->smarthost >= 0 || s->backup_for->len || s->domains->len == 0)
            return TRUE;
        for (guint k = 0; k < s->users->len; k++)
            if (g_array_index(s->users, MsScenarioUser, k).quota > 0)
                return TRUE;
    }
    return FALSE;
}

static void
check_sender_domains(Checker *C)
{
    const MsScenario *sc = C->sc;
    if (!remote_bounce_possible(sc))
        return;
    g_autoptr(GHashTable) told = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < sc->messages->len; i++) {
        const MsScenarioMessage *m = &g_array_index(sc->messages, MsScenarioMessage, i);
        const char *dom = domain_of(m->from);
        if (g_hash_table_contains(told, dom) || domain_in_dns(C, dom))
            continue;
        g_hash_table_add(told, (gpointer) dom);
        warn(C, m->line,
             "element 'message' attribute 'from': sender domain '%s' has no <zone> record "
             "(MX or A) in the simulated DNS: a bounce that another server sends to %s "
             "cannot come back",
             dom, m->from);
    }
    for (guint i = 0; i < sc->workloads->len; i++) {
        const MsWorkloadSpec *w = &g_array_index(sc->workloads, MsWorkloadSpec, i);
        if (g_hash_table_contains(told, w->from) || domain_in_dns(C, w->from))
            continue;
        g_hash_table_add(told, w->from);
        warn(C, w->line,
             "element 'workload' attribute 'from': sender domain '%s' has no <zone> record "
             "(MX or A) in the simulated DNS: a bounce that another server sends to its "
             "senders cannot come back",
             w->from);
    }
}

/* Why a recipient can never be delivered to, or NULL (caller frees). */
static char *
undeliverable(const Checker *C, const char *rcpt)
{
    const MsScenario *sc = C->sc;
    const char *dom = domain_of(rcpt);
    gint s = served_by(C, dom);
    if (s < 0)
        return g_strdup_printf("no <mailserver> serves domain '%s'", dom);
    if (!has_user(server_at(sc, s), rcpt))
        return g_strdup_printf("'%s' is not a <user> of mailserver '%s' (it answers 550 5.1.1)",
                               rcpt, host_at(sc, server_at(sc, s)->host)->id);
    return NULL;
}

static const char *
expect_name(const MsScenarioExpect *x)
{
    return ms_expect_kind_to_string(x->kind);
}

/* The size of message m as sent: at least size= (the whole message is
 * padded to it) and more than its body. */
static guint64
message_size(const MsScenarioMessage *m)
{
    return MAX(m->size, m->body ? (guint64) strlen(m->body) : 0);
}

/* The largest message server s takes: its policy's, else its profile's
 * (e.g. Postfix message_size_limit). */
static guint64
max_size_of(const MsScenarioMailserver *s)
{
    if (ms_scenario_policy_has(&s->policy, MS_POLICY_MAX_SIZE))
        return s->policy.max_size;
    MsMtaPolicy def;
    ms_mta_policy_defaults(s->profile, &def);
    return def.max_size;
}

/* FALSE (after a warning) when m is larger than what the submission server
 * or rcpt's server takes (the SIZE= it declares is refused, RFC 1870 6.2),
 * or at least rcpt's quota (a box takes a message only while its bytes
 * stay within the quota, and the stored copy adds Return-Path:). */
static gboolean
check_fits(Checker *C, const MsScenarioExpect *x, const MsScenarioMessage *m, const char *rcpt)
{
    const MsScenario *sc = C->sc;
    guint64 size = message_size(m);
    const MsScenarioMailserver *to = server_at(sc, served_by(C, domain_of(rcpt)));
    const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, m->sender_client);
    const MsScenarioHost *sub_host = host_at(sc, (guint) c->smtp);
    const MsScenarioMailserver *sub = server_at(sc, sub_host->mailserver);
    const MsScenarioMailserver *servers[] = { sub, to };
    for (gsize i = 0; i < G_N_ELEMENTS(servers); i++) {
        guint64 max = max_size_of(servers[i]);
        if (max && size > max) {
            warn(C, x->line,
                 "element 'expect': kind=\"%s\" can never hold: message '%s' has %" G_GUINT64_FORMAT
                 " bytes and mailserver '%s' takes at most %" G_GUINT64_FORMAT
                 " (552, RFC 1870 6.2)",
                 expect_name(x), m->id, size, host_at(sc, servers[i]->host)->id, max);
            return FALSE;
        }
    }
    gsize local = (gsize) (strrchr(rcpt, '@') - rcpt);
    for (guint i = 0; i < to->users->len; i++) {
        const MsScenarioUser *u = &g_array_index(to->users, MsScenarioUser, i);
        if (strlen(u->name) == local && strncmp(u->name, rcpt, local) == 0 && u->quota &&
            size >= u->quota) {
            warn(C, x->line,
                 "element 'expect': kind=\"%s\" can never hold: message '%s' has %" G_GUINT64_FORMAT
                 " bytes, and the quota of %s is %" G_GUINT64_FORMAT " bytes",
                 expect_name(x), m->id, size, rcpt, u->quota);
            return FALSE;
        }
    }
    return TRUE;
}

/* FALSE (after a warning) when the server that would look rcpt's domain
 * up in DNS finds nothing to deliver to. The message goes from the
 * submission server along smarthosts until one serves the domain (it
 * delivers locally) or has no smarthost: that one asks DNS for the MX
 * (sim/mail/mail_mta.c), and a null MX bounces it (RFC 7505 3), a name with
 * no MX and no A record leaves it nowhere to go (RFC 5321 5.1). */
static gboolean
check_route(Checker *C, const MsScenarioExpect *x, const MsScenarioMessage *m, const char *rcpt)
{
    const MsScenario *sc = C->sc;
    const char *dom = domain_of(rcpt);
    gint dest = served_by(C, dom);
    const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, m->sender_client);
    gint cur = host_at(sc, (guint) c->smtp)->mailserver;
    for (guint steps = 0; cur != dest && server_at(sc, cur)->smarthost >= 0; steps++) {
        if (steps > sc->mailservers->len)
            return TRUE; /* a loop of smarthosts: not this check's business */
        cur = host_at(sc, (guint) server_at(sc, cur)->smarthost)->mailserver;
    }
    if (cur == dest)
        return TRUE;
    const char *by = host_at(sc, server_at(sc, cur)->host)->id;
    if (g_hash_table_contains(C->nullmx, dom))
        warn(C, x->line,
             "element 'expect': kind=\"%s\" can never hold: domain '%s' publishes a null MX, "
             "so mailserver '%s' bounces message '%s' to %s at once (RFC 7505 3)",
             expect_name(x), dom, by, m->id, rcpt);
    else if (!domain_in_dns(C, dom))
        warn(C, x->line,
             "element 'expect': kind=\"%s\" can never hold: domain '%s' has no MX or A record "
             "in any <zone>, so mailserver '%s' cannot find where to send message '%s'",
             expect_name(x), dom, by, m->id);
    else
        return TRUE;
    return FALSE;
}

/* Checks one recipient that expectation x needs delivered; returns FALSE
 * after a warning. */
static gboolean
check_reachable(Checker *C, const MsScenarioExpect *x, const MsScenarioMessage *m, const char *rcpt)
{
    const MsScenario *sc = C->sc;
    const MsScenarioClient *sender =
        &g_array_index(sc->clients, MsScenarioClient, m->sender_client);
    if (sender->smtp < 0) {
        warn(C, x->line,
             "element 'expect': kind=\"%s\" can never hold: message '%s' is never sent "
             "(client '%s' has no smtp= server)",
             expect_name(x), m->id, host_at(sc, sender->host)->id);
        return FALSE;
    }
    g_autofree char *why = undeliverable(C, rcpt);
    if (why) {
        warn(C, x->line,
             "element 'expect': kind=\"%s\" can never hold: message '%s' cannot be delivered "
             "to %s: %s",
             expect_name(x), m->id, rcpt, why);
        return FALSE;
    }
    if (!check_fits(C, x, m, rcpt) || !check_route(C, x, m, rcpt))
        return FALSE;
    if (x->within == MS_TIME_INFINITE && sc->until == MS_TIME_INFINITE)
        return TRUE;
    guint from = g_array_index(sc->clients, MsScenarioClient, m->sender_client).host;
    guint to = server_at(sc, served_by(C, domain_of(rcpt)))->host;
    MsTime fastest = latencies_from(C, from)[to];
    g_autofree char *fs = ms_time_to_string(fastest);
    if (fastest == MS_TIME_INFINITE) {
        warn(C, x->line,
             "element 'expect': kind=\"%s\" can never hold: no chain of links joins host '%s' "
             "(the sender of message '%s') to host '%s' (the mailserver of %s)",
             expect_name(x), host_at(sc, from)->id, m->id, host_at(sc, to)->id, rcpt);
        return FALSE;
    }
    if (x->within != MS_TIME_INFINITE && x->within < fastest) {
        g_autofree char *ws = ms_time_to_string(x->within);
        warn(C, x->line,
             "element 'expect' attribute 'within': kind=\"%s\" can never hold: %s is shorter "
             "than the one-way latency of the fastest path from host '%s' to host '%s' (%s)",
             expect_name(x), ws, host_at(sc, from)->id, host_at(sc, to)->id, fs);
        return FALSE;
    }
    if (sc->until != MS_TIME_INFINITE && m->at + fastest > sc->until) {
        g_autofree char *as = ms_time_to_string(m->at), *us = ms_time_to_string(sc->until);
        warn(C, x->line,
             "element 'expect': kind=\"%s\" can never hold: message '%s' leaves at %s and the "
             "fastest path to host '%s' takes %s, past the end of the run (until=%s)",
             expect_name(x), m->id, as, host_at(sc, to)->id, fs, us);
        return FALSE;
    }
    return TRUE;
}

/* The recipients expectation x needs delivered (borrowed strings). */
static GPtrArray *
needed_recipients(const MsScenario *sc, const MsScenarioExpect *x, const MsScenarioMessage *m)
{
    GPtrArray *out = g_ptr_array_new();
    if (x->kind == MS_EXPECT_RETRIEVED && x->client >= 0) {
        g_ptr_array_add(out, g_array_index(sc->clients, MsScenarioClient, x->client).user);
    } else if (x->to) {
        g_ptr_array_add(out, x->to);
    } else if (x->kind == MS_EXPECT_DELIVERED) { /* every recipient */
        for (guint i = 0; i < m->to->len; i++)
            g_ptr_array_add(out, m->to->pdata[i]);
        for (guint i = 0; i < m->cc->len; i++)
            g_ptr_array_add(out, m->cc->pdata[i]);
    } else if (m->to->len) { /* the first recipient, as the checks of a run take it */
        g_ptr_array_add(out, m->to->pdata[0]);
    }
    return out;
}

static gboolean
is_recipient(const MsScenarioMessage *m, const char *addr)
{
    for (guint i = 0; i < m->to->len; i++)
        if (strcmp(m->to->pdata[i], addr) == 0)
            return TRUE;
    for (guint i = 0; i < m->cc->len; i++)
        if (strcmp(m->cc->pdata[i], addr) == 0)
            return TRUE;
    return FALSE;
}

static void
check_retrieved(Checker *C, const MsScenarioExpect *x, const MsScenarioMessage *m)
{
    const MsScenario *sc = C->sc;
    const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, x->client);
    const char *cid = host_at(sc, c->host)->id;
    const char *kind = ms_expect_kind_to_string(x->kind);
    if (!is_recipient(m, c->user)) {
        warn(C, x->line,
             "element 'expect' attribute 'client': kind=\"%s\" can never hold: the user of "
             "client '%s', %s, is not a recipient of message '%s'",
             kind, cid, c->user, m->id);
        return;
    }
    if (c->pop3 < 0 && c->imap < 0) {
        warn(C, x->line,
             "element 'expect' attribute 'client': kind=\"%s\" can never hold: client '%s' "
             "has no pop3= server, so it never downloads mail",
             kind, cid);
        return;
    }
    if (c->check_every > 0 || c->idle)
        return;
    for (guint i = 0; i < sc->checks->len; i++) {
        const MsScenarioCheck *k = &g_array_index(sc->checks, MsScenarioCheck, i);
        if (k->client == (guint) x->client && k->at >= m->at)
            return;
    }
    warn(C, x->line,
         "element 'expect' attribute 'client': kind=\"%s\" can never hold: client '%s' "
         "never checks its mailbox after message '%s' is sent (no check-every= and no <check> "
         "at or after its time)",
         kind, cid, m->id);
}

/* TRUE when something in the scenario could make delivery of m to rcpt
 * fail: see the list atop this file. Conservative: any doubt says TRUE. */
static gboolean
failure_possible(Checker *C, const MsScenarioMessage *m, const char *rcpt)
{
    const MsScenario *sc = C->sc;
    if (sc->faults->len || sc->workloads->len || sc->dns_mode == MS_DNS_NONE)
        return TRUE;
    g_autofree char *why = undeliverable(C, rcpt);
    if (why || !domain_in_dns(C, domain_of(rcpt)))
        return TRUE;
    for (guint i = 0; i < sc->links->len; i++)
        if (g_array_index(sc->links, MsScenarioLink, i).loss > 0)
            return TRUE;
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *s = server_at(sc, (gint) i);
        if (s->smarthost >= 0 || s->backup_for->len)
            return TRUE;
        /* command-delay too: a pause past the client's timeouts
         * (RFC 5321 4.5.3.2) ends in deferrals, and deferrals in a bounce. */
        if (s->policy.set & (MS_POLICY_GIVE_UP | MS_POLICY_MAX_SIZE | MS_POLICY_MAX_RECIPIENTS |
                             MS_POLICY_GREYLIST | MS_POLICY_COMMAND_DELAY))
            return TRUE;
        for (guint k = 0; k < s->replies->len; k++)
            if (g_array_index(s->replies, MsScenarioReply, k).code >= 400)
                return TRUE;
        for (guint k = 0; k < s->users->len; k++)
            if (g_array_index(s->users, MsScenarioUser, k).quota > 0)
                return TRUE;
        /* The profile's own limits (e.g. Postfix message_size_limit). */
        MsMtaPolicy def;
        ms_mta_policy_defaults(s->profile, &def);
        guint64 body = m->body ? strlen(m->body) : 0;
        if ((def.max_size && MAX(m->size, body) >= def.max_size / 2) ||
            (def.max_recipients && m->to->len + m->cc->len >= def.max_recipients))
            return TRUE;
    }
    /* One connected network: every host reachable from the sender. */
    const MsTime *d =
        latencies_from(C, g_array_index(sc->clients, MsScenarioClient, m->sender_client).host);
    for (guint i = 0; i < sc->hosts->len; i++)
        if (d[i] == MS_TIME_INFINITE)
            return TRUE;
    return FALSE;
}

static void
check_expects(Checker *C)
{
    const MsScenario *sc = C->sc;
    for (guint i = 0; i < sc->expects->len; i++) {
        const MsScenarioExpect *x = &g_array_index(sc->expects, MsScenarioExpect, i);
        const MsScenarioMessage *m =
            x->message >= 0 ? &g_array_index(sc->messages, MsScenarioMessage, x->message) : NULL;
        /* A message sent via= a host's own MTA has no submission path to
         * reason about: no warning rather than a wrong one. */
        if (m && m->via_server >= 0)
            continue;
        switch (x->kind) {
        case MS_EXPECT_DELIVERED:
        case MS_EXPECT_RECEIVED_HEADERS:
        case MS_EXPECT_SEEN:
        case MS_EXPECT_RETRIEVED: {
            if (!m)
                break;
            g_autoptr(GPtrArray) rcpts = needed_recipients(sc, x, m);
            gboolean ok = TRUE;
            for (guint k = 0; k < rcpts->len && ok; k++)
                ok = check_reachable(C, x, m, rcpts->pdata[k]);
            if (ok && (x->kind == MS_EXPECT_RETRIEVED || x->kind == MS_EXPECT_SEEN) &&
                x->client >= 0)
                check_retrieved(C, x, m);
            break;
        }
        case MS_EXPECT_BOUNCED: {
            if (!m)
                break;
            g_autoptr(GPtrArray) rcpts = needed_recipients(sc, x, m);
            const MsScenarioClient *c =
                &g_array_index(sc->clients, MsScenarioClient, m->sender_client);
            if (c->smtp < 0)
                warn(C, x->line,
                     "element 'expect': kind=\"bounced\" can never hold: message '%s' is never "
                     "sent (client '%s' has no smtp= server)",
                     m->id, host_at(sc, c->host)->id);
            else if (rcpts->len && !failure_possible(C, m, rcpts->pdata[0]))
                warn(C, x->line,
                     "element 'expect': kind=\"bounced\" can never hold: nothing in the scenario "
                     "can make delivery of message '%s' to %s fail (a known user, with DNS "
                     "records, and no fault, scripted 4xx/5xx reply, lossy link, policy limit, "
                     "quota, relay or workload)",
                     m->id, (const char *) rcpts->pdata[0]);
            break;
        }
        case MS_EXPECT_DSN: {
            if (x->count == 0 || !x->to || sc->workloads->len)
                break;
            gboolean sender = FALSE;
            for (guint k = 0; k < sc->messages->len && !sender; k++) {
                const MsScenarioMessage *mk = &g_array_index(sc->messages, MsScenarioMessage, k);
                /* the envelope sender: mail-from= when a host's own MTA sends it */
                sender = strcmp(mk->mail_from ? mk->mail_from : mk->from, x->to) == 0;
            }
            g_autofree char *why = undeliverable(C, x->to);
            if (!sender)
                warn(C, x->line,
                     "element 'expect' attribute 'to': kind=\"dsn\" can never hold: %s sends no "
                     "<message>, and a DSN goes to the sender of the mail that failed "
                     "(RFC 3464 2.2)",
                     x->to);
            else if (why)
                warn(C, x->line,
                     "element 'expect' attribute 'to': kind=\"dsn\" can never hold: a DSN "
                     "cannot be delivered to %s: %s",
                     x->to, why);
            break;
        }
        case MS_EXPECT_ATTEMPTS:
        case MS_EXPECT_NO_LOSS:
        case MS_EXPECT_ENCRYPTED:
        case MS_EXPECT_LOGIN_ENCRYPTED:
        case MS_EXPECT_NO_CLEAR_PASSWORD:
        case MS_EXPECT_CLEAR_HOPS:
        case MS_EXPECT_TLS_DEFERRED:
        case MS_EXPECT_NOT_SEEN:
        case MS_EXPECT_AUTH:
        case MS_EXPECT_QUARANTINED:
            break;
        }
    }
}

/* TXT records that mean to be SPF (v=spf1) or DMARC (at a _dmarc name)
 * but do not parse: receivers will read them as RFC 7208 4.6's permerror or
 * ignore them (RFC 7489 6.6.3), which is rarely what the lesson meant. */
static void
check_auth_records(Checker *C)
{
    const MsScenario *sc = C->sc;
    for (guint i = 0; i < sc->zones->len; i++) {
        const MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, i);
        for (guint k = 0; k < z->records->len; k++) {
            const MsScenarioRecord *r = &g_array_index(z->records, MsScenarioRecord, k);
            if (r->type != MS_RECORD_TXT)
                continue;
            g_autoptr(GError) err = NULL;
            guint terms = 0;
            if (ms_spf_record_is_spf(r->target)) {
                if (!ms_spf_record_validate(r->target, &terms, &err))
                    warn(C, r->line,
                         "SPF record at %s cannot be parsed: %s (receivers get permerror, RFC "
                         "7208 4.6)",
                         r->name, err->message);
                else if (terms > MS_SPF_MAX_DNS_TERMS)
                    warn(C, r->line,
                         "SPF record at %s has %u terms that query DNS: more than %u is always "
                         "permerror (RFC 7208 4.6.4)",
                         r->name, terms, MS_SPF_MAX_DNS_TERMS);
            } else if (g_str_has_prefix(r->name, "_dmarc.")) {
                g_autoptr(MsDmarcRecord) rec = ms_dmarc_record_parse(r->target, &err);
                if (!rec)
                    warn(C, r->line, "DMARC record at %s cannot be used: %s", r->name,
                         err->message);
            }
        }
    }
}

/* Clients whose logins can never happen, for want of TLS on one side. */
static void
check_tls(Checker *C)
{
    const MsScenario *sc = C->sc;
    if (!sc->tls)
        return;
    for (guint i = 0; i < sc->clients->len; i++) {
        const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, i);
        const gint server[3] = { c->smtp, c->pop3, c->imap };
        const gint mode[3] = { c->smtp_tls, c->pop3_tls, c->imap_tls };
        static const char *const attr[3] = { "smtp-tls", "pop3-tls", "imap-tls" };
        static const char *const what[3] = { "every message it sends stays in its outbox",
                                             "it never downloads anything",
                                             "it never shows any mail" };
        for (guint k = 0; k < 3; k++) {
            if (server[k] < 0 || host_at(sc, (guint) server[k])->mailserver < 0)
                continue;
            const MsScenarioMailserver *m = &g_array_index(
                sc->mailservers, MsScenarioMailserver, host_at(sc, (guint) server[k])->mailserver);
            gboolean wants = mode[k] != 0; /* absent (-1): STARTTLS/STLS */
            if (wants && !m->tls.certificate)
                warn(C, c->line,
                     "element 'client' attribute '%s': client '%s' requires TLS, but mailserver "
                     "'%s' has no certificate (certificate=\"none\"): %s",
                     attr[k], host_at(sc, c->host)->id, host_at(sc, m->host)->id, what[k]);
            else if (!wants && m->tls.certificate && m->tls.auth_only)
                warn(C, c->line,
                     "element 'client' attribute '%s': client '%s' logs in without TLS, but "
                     "mailserver '%s' takes logins only inside TLS (auth-only): %s",
                     attr[k], host_at(sc, c->host)->id, host_at(sc, m->host)->id, what[k]);
        }
    }
}

static void
check_hosts_and_faults(Checker *C)
{
    const MsScenario *sc = C->sc;
    if (sc->hosts->len >= 2) {
        g_autofree guint *degree = g_new0(guint, sc->hosts->len);
        for (guint i = 0; i < sc->links->len; i++) {
            const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
            degree[l->a]++;
            degree[l->b]++;
        }
        for (guint i = 0; i < sc->hosts->len; i++)
            if (degree[i] == 0)
                warn(C, host_at(sc, i)->line,
                     "host '%s': no <link> joins it to any other host: nothing can reach it",
                     host_at(sc, i)->id);
    }
    for (guint i = 0; i < sc->checks->len; i++) {
        const MsScenarioCheck *k = &g_array_index(sc->checks, MsScenarioCheck, i);
        const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, k->client);
        if (c->pop3 < 0 && c->imap < 0)
            warn(C, k->line,
                 "element 'check' attribute 'client': client '%s' has no pop3= server: the "
                 "check downloads nothing",
                 host_at(sc, c->host)->id);
    }
    for (guint i = 0; i < sc->clients->len; i++) {
        const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, i);
        if (c->pop3 < 0 && c->imap < 0 && c->check_every > 0)
            warn(C, c->line,
                 "element 'client' attribute 'check-every': client '%s' has no pop3= server: "
                 "its checks download nothing",
                 host_at(sc, c->host)->id);
    }
    for (guint i = 0; i < sc->faults->len; i++) {
        const MsScenarioFault *f = &g_array_index(sc->faults, MsScenarioFault, i);
        if (sc->until != MS_TIME_INFINITE && f->at == sc->until) {
            g_autofree char *us = ms_time_to_string(sc->until);
            warn(C, f->line,
                 "element 'fault' attribute 'at': the fault starts as the run ends (until=%s): "
                 "it changes nothing",
                 us);
        }
    }
}

static gint
warning_cmp(gconstpointer a, gconstpointer b)
{
    const Warning *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

GPtrArray *
ms_scenario_warnings(const MsScenario *sc)
{
    g_return_val_if_fail(sc != NULL, NULL);
    g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(Warning));
    g_autoptr(GHashTable) dists =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    g_autoptr(GHashTable) named = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) served = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) nullmx = g_hash_table_new(g_str_hash, g_str_equal);
    Checker C = { sc, out, dists, named, served, nullmx };
    index_names(&C);
    check_hosts_and_faults(&C);
    check_messages_sent(&C);
    check_sender_domains(&C);
    check_expects(&C);
    check_tls(&C);
    check_auth_records(&C);
    g_array_sort(out, warning_cmp);
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    const char *path = sc->path ? sc->path : "(memory)";
    /* The imported files' own warnings first, in the order found. */
    for (guint i = 0; sc->import_warnings && i < sc->import_warnings->len; i++)
        g_ptr_array_add(lines, g_strdup(sc->import_warnings->pdata[i]));
    for (guint i = 0; i < out->len; i++) {
        Warning *w = &g_array_index(out, Warning, i);
        g_ptr_array_add(lines, w->line
                                   ? g_strdup_printf("%s:%u: warning: %s", path, w->line, w->text)
                                   : g_strdup_printf("%s: warning: %s", path, w->text));
        g_free(w->text);
    }
    return lines;
}

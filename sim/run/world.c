/* Building a world from a scenario (see include/mailsim/world.h), and
 * checking its expectations after a run. The scenario's host indices become
 * the network's host ids (same order), so the description and the world
 * name hosts alike.
 *
 * DNS: every zone goes to its server. In hierarchy mode the delegations are
 * made from the zones themselves: each zone is delegated (NS + glue A) from
 * the closest enclosing zone of the file, or from the root, which is created
 * on the root server when the file does not declare it. Resolvers of mail
 * servers ask the flat registry with recursion desired, or start at the root
 * and iterate. */
#include "mailsim/world.h"
#include "mailsim/dns_server.h"
#include "mailsim/dns_resolver.h"
#include "mailsim/workload.h"
#include "mailsim/mail_tls_policy.h"
#include "mailsim/mail_auth.h"
#include "mailsim/tls_dane.h"

#include <string.h>

G_DEFINE_QUARK(ms - world - error - quark, ms_world_error)

struct _MsWorld {
    const MsScenario *sc;
    guint latency_exact_limit; /* see ms_world_latency_exact_limit() */
    MsEngine *engine;
    MsNet *net;
    MsTcp *tcp;
    MsMail *mail;
    GPtrArray *dns;    /* MsDnsServer* per host index, or NULL */
    GArray *server_of; /* mailserver index -> MsMail server index */
    guint16 ev_fault;
    guint32 *msg_ids; /* scenario message index -> mail message id */
    MsWorkloads *workloads;
    MsFidelity fidelity;
    MsShard *shard; /* partitioned run: this part's, or NULL */
    GStringChunk *names; /* other parts' users' names (user_names()), or NULL */
    GHashTable *name_lists; /* while building: a listing joined by '\n' -> its GPtrArray */
};

static MsHostRole
role_of(MsScenarioRole r)
{
    switch (r) {
    case MS_HOST_CLIENT:
        return MS_ROLE_CLIENT;
    case MS_HOST_MAILSERVER:
        return MS_ROLE_MAILSERVER;
    case MS_HOST_DNS:
        return MS_ROLE_DNS;
    case MS_HOST_RELAY:
        return MS_ROLE_RELAY;
    case MS_HOST_ROUTER:
    default:
        return MS_ROLE_ROUTER;
    }
}

static guint32
ttl_seconds(MsTime t)
{
    return (guint32) MIN(t / MS_TIME_S, (MsTime) G_MAXINT32);
}

static MsDnsServer *
dns_at(MsWorld *w, guint host)
{
    if (!g_ptr_array_index(w->dns, host))
        w->dns->pdata[host] = ms_dns_server_new(w->net, host);
    return g_ptr_array_index(w->dns, host);
}

static void
on_fault(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsWorld *w = user_data;
    (void) e;
    const MsScenarioFault *f = &g_array_index(w->sc->faults, MsScenarioFault, ev->data.u32[0]);
    gboolean begin = ev->data.u32[1] == 0;
    switch (f->kind) {
    case MS_FAULT_HOST_DOWN:
    case MS_FAULT_DNS_DOWN:
        ms_net_set_host_up(w->net, (MsHostId) f->host, !begin);
        break;
    case MS_FAULT_LINK_DOWN:
        ms_net_set_link_up(w->net, (guint32) f->link, !begin);
        break;
    case MS_FAULT_LOSS: {
        MsLinkParams *p = (MsLinkParams *) ms_net_link_params(w->net, (guint32) f->link);
        p->loss = begin ? f->rate : g_array_index(w->sc->links, MsScenarioLink, f->link).loss;
        break;
    }
    case MS_FAULT_STRIP_STARTTLS:
        ms_mail_downgrade_set(w->mail, f->host >= 0 ? (guint32) f->host : G_MAXUINT32,
                              f->link >= 0 ? (guint32) f->link : G_MAXUINT32, f->reply, begin);
        break;
    case MS_FAULT_MAILBOX_FULL: {
        const MsScenarioMailserver *ms =
            &g_array_index(w->sc->mailservers, MsScenarioMailserver, f->mailserver);
        /* Another part's mailbox: its part fills it (and this part's
         * scenario may no longer hold the user, ms_world_partition_release()). */
        if (w->shard && !ms_shard_is_local(w->shard, ms->host))
            break;
        const MsScenarioUser *u = &g_array_index(ms->users, MsScenarioUser, f->user);
        MsMailStore *store =
            ms_mail_server_store(w->mail, g_array_index(w->server_of, guint, f->mailserver));
        if (begin)
            ms_mail_store_fill(store, u->name);
        else
            ms_mail_store_set_quota(store, u->name, u->quota);
        break;
    }
    }
}

/* TLS in the world: the scenario's CA (its key from the stream "tls-pki"),
 * valid from 30 days before the run's epoch for a year, and through it a
 * certificate for every server that has one (sim/mail/mail.c). */
static gboolean
enable_tls(MsWorld *w, GError **error)
{
    guint64 seed = ms_engine_seed(w->engine);
    MsRng rng;
    ms_rng_init_named(&rng, seed, "tls-pki");
    gint64 from = MS_MAIL_EPOCH_UNIX - 30 * 86400, to = MS_MAIL_EPOCH_UNIX + 365 * 86400;
    MsTlsPki *pki = ms_tls_pki_new("mailsim scenario CA", &rng, from, to, error);
    if (!pki)
        return FALSE;
    return ms_mail_enable_tls(w->mail, pki, seed, error);
}

/* A zone's <tlsa> records (RFC 7672), made from the credentials the
 * servers got when TLS was enabled: "_25._tcp.<host>" in the zone. */
static gboolean
publish_tlsa(MsWorld *w, const MsScenarioZone *z, GError **error)
{
    const MsScenario *sc = w->sc;
    for (guint k = 0; z->tlsa && k < z->tlsa->len; k++) {
        const MsScenarioTlsa *t = &g_array_index(z->tlsa, MsScenarioTlsa, k);
        guint server = ms_mail_server_by_host(w->mail, t->key_of);
        const MsTlsCredentials *cred =
            server == G_MAXUINT ? NULL : ms_mail_tls_policy_credentials(w->mail, server);
        if (!cred) {
            g_set_error(error, MS_WORLD_ERROR, 0,
                        "%s:%u: <tlsa>: host '%s' has no mail server speaking TLS (a <mailserver> "
                        "with a certificate, in a world with TLS): expected one whose certificate "
                        "the record describes",
                        sc->path, t->line, g_array_index(sc->hosts, MsScenarioHost, t->key_of).id);
            return FALSE;
        }
        MsDnsRecord *rec =
            ms_tls_dane_record_new(cred, ms_net_host_name(w->net, t->host), MS_SMTP_PORT,
                                   ttl_seconds(z->ttl), t->usage, t->selector, t->matching, error);
        if (!rec) {
            g_prefix_error(error, "%s:%u: <tlsa>: ", sc->path, t->line);
            return FALSE;
        }
        ms_dns_server_add_record(dns_at(w, z->server), rec);
    }
    return TRUE;
}

/* Each <dkim>: the key, made from the seed on the stream "dkim/<domain>"
 * (so that no other draw moves) or read from its PEM file, given to the
 * server, and its record published at <selector>._domainkey.<domain> in
 * the zone that holds that name (RFC 6376 3.6.2.1). */
static gboolean
add_dkim_keys(MsWorld *w, GError **error)
{
    const MsScenario *sc = w->sc;
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *ms = &g_array_index(sc->mailservers, MsScenarioMailserver, i);
        for (guint k = 0; ms->dkim && k < ms->dkim->len; k++) {
            const MsScenarioDkim *d = &g_array_index(ms->dkim, MsScenarioDkim, k);
            g_autoptr(GError) local = NULL;
            MsDkimSigningKey *key = NULL;
            if (d->key_pem) {
                key = ms_dkim_signing_key_load((const guint8 *) d->key_pem, strlen(d->key_pem),
                                               &local);
            } else {
                MsRng rng;
                g_autofree char *stream = g_strdup_printf("dkim/%s", d->domain);
                ms_rng_init_named(&rng, ms_engine_seed(w->engine), stream);
                key = ms_dkim_signing_key_generate(d->key == MS_SCENARIO_DKIM_ED25519
                                                       ? MS_DKIM_ALG_ED25519_SHA256
                                                       : MS_DKIM_ALG_RSA_SHA256,
                                                   2048, &rng, &local);
            }
            if (!key) {
                g_set_error(error, MS_WORLD_ERROR, 0, "%s:%u: <dkim>: %s", sc->path, d->line,
                            local->message);
                return FALSE;
            }
            g_autofree char *owner = ms_dkim_query_name(d->selector, d->domain);
            g_autofree char *record = ms_dkim_signing_key_record(key);
            ms_mail_auth_add_key(w->mail, g_array_index(w->server_of, guint, i), d->domain,
                                 d->selector, key);
            if (!d->publish)
                continue;
            const MsScenarioZone *zone = NULL;
            for (guint z = 0; z < sc->zones->len; z++) {
                const MsScenarioZone *c = &g_array_index(sc->zones, MsScenarioZone, z);
                if (ms_dns_name_in_zone(owner, c->name) &&
                    (!zone || strlen(c->name) > strlen(zone->name)))
                    zone = c;
            }
            if (!zone) {
                g_set_error(error, MS_WORLD_ERROR, 0,
                            "%s:%u: <dkim>: no <zone> holds %s: expected a zone for %s (or "
                            "publish=\"no\")",
                            sc->path, d->line, owner, d->domain);
                return FALSE;
            }
            ms_dns_server_add_record(dns_at(w, zone->server),
                                     ms_dns_record_new_txt(owner, ttl_seconds(zone->ttl), record));
        }
    }
    return TRUE;
}

static gboolean
build_dns(MsWorld *w, GError **error)
{
    const MsScenario *sc = w->sc;
    /* A flat registry stands for the whole DNS: names outside its zones do
     * not exist (NXDOMAIN from its root zone), rather than being refused. */
    if (sc->dns_mode == MS_DNS_FLAT && sc->dns_server >= 0)
        ms_dns_server_add_zone(dns_at(w, (guint) sc->dns_server), "", 86400);
    for (guint i = 0; i < sc->zones->len; i++) {
        const MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, i);
        MsDnsServer *s = dns_at(w, z->server);
        ms_dns_server_add_zone(s, z->name, ttl_seconds(z->ttl));
        gboolean has_ns = FALSE;
        for (guint k = 0; k < z->records->len; k++) {
            const MsScenarioRecord *r = &g_array_index(z->records, MsScenarioRecord, k);
            guint32 ttl = ttl_seconds(r->ttl);
            switch (r->type) {
            case MS_RECORD_MX:
                ms_dns_server_add_record(
                    s, ms_dns_record_new_mx(z->name, ttl, r->preference, r->target));
                break;
            case MS_RECORD_NULLMX:
                ms_dns_server_add_record(s, ms_dns_record_new_mx(z->name, ttl, 0, ""));
                break;
            case MS_RECORD_A:
                ms_dns_server_add_record(s, ms_dns_record_new_a(r->name, ttl, r->address));
                break;
            case MS_RECORD_TXT: /* cut into 255-octet strings by the codec */
                ms_dns_server_add_record(s, ms_dns_record_new_txt(r->name, ttl, r->target));
                break;
            case MS_RECORD_NS:
                has_ns = TRUE;
                ms_dns_server_add_record(s, ms_dns_record_new_ns(z->name, ttl, r->target));
                if (r->address && ms_dns_name_in_zone(r->target, z->name))
                    ms_dns_server_add_record(s, ms_dns_record_new_a(r->target, ttl, r->address));
                break;
            }
        }
        if (z->sts_id) { /* RFC 8461 3.1 */
            g_autofree char *owner = g_strdup_printf("_mta-sts.%s", z->name);
            g_autofree char *txt = g_strdup_printf("v=STSv1; id=%s", z->sts_id);
            ms_dns_server_add_record(s, ms_dns_record_new_txt(owner, ttl_seconds(z->ttl), txt));
        }
        if (sc->dns_mode != MS_DNS_HIERARCHY)
            continue;
        /* Delegate this zone from its parent. */
        const MsScenarioZone *parent = NULL;
        for (guint k = 0; k < sc->zones->len; k++) {
            const MsScenarioZone *p = &g_array_index(sc->zones, MsScenarioZone, k);
            if (p != z && strlen(p->name) < strlen(z->name) &&
                ms_dns_name_in_zone(z->name, p->name) &&
                (!parent || strlen(p->name) > strlen(parent->name)))
                parent = p;
        }
        if (z->name[0] == '\0')
            continue; /* the root itself */
        guint parent_host = parent ? parent->server : (guint) sc->dns_root;
        if (sc->dns_root < 0 && !parent) {
            g_set_error(error, MS_WORLD_ERROR, 0,
                        "%s:%u: zone '%s': hierarchy mode needs a root server", sc->path, z->line,
                        z->name);
            return FALSE;
        }
        MsDnsServer *ps = dns_at(w, parent_host);
        if (!parent)
            ms_dns_server_add_zone(ps, "", 86400);
        const char *ns_name = ms_net_host_name(w->net, z->server);
        guint32 ns_addr = ms_net_host_addr(w->net, z->server);
        if (has_ns) {
            for (guint k = 0; k < z->records->len; k++) {
                const MsScenarioRecord *r = &g_array_index(z->records, MsScenarioRecord, k);
                if (r->type == MS_RECORD_NS) {
                    ns_name = r->target;
                    if (r->address)
                        ns_addr = r->address;
                    break;
                }
            }
        }
        /* Registry data: TLD delegations last two days, as .com's do. */
        ms_dns_server_add_record(ps, ms_dns_record_new_ns(z->name, 172800, ns_name));
        ms_dns_server_add_record(ps, ms_dns_record_new_a(ns_name, 172800, ns_addr));
    }
    return TRUE;
}

/* Another part's mail server keeps no mailboxes here, only the names of
 * its users, listed as its store would list them: lower case (ASCII),
 * each once, in strcmp() order (ms_mail_store_users()), made without a
 * store (no table entry, mailbox and copies per user: a part lists every
 * other part's users). A rank holds the names of every other part's
 * users, so each name is kept once in the world's chunk, and servers whose
 * listings are equal share one array (read-only): generated worlds name
 * users alike in every domain ("u0", "u1", ...), and the medium world's
 * 75,000 other parts' users in a rank of four took 1.0 MB as a list per
 * server and a string per user. */
static gint
cmp_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static GPtrArray *
user_names(MsWorld *w, const GArray *users)
{
    g_autoptr(GPtrArray) lower = g_ptr_array_new_full(users->len, g_free);
    for (guint k = 0; k < users->len; k++)
        g_ptr_array_add(lower, g_ascii_strdown(g_array_index(users, MsScenarioUser, k).name, -1));
    g_ptr_array_sort(lower, cmp_name);
    g_autoptr(GPtrArray) listed = g_ptr_array_new_full(lower->len, NULL); /* borrowed */
    GString *key = g_string_new(NULL);
    for (guint k = 0; k < lower->len; k++)
        if (listed->len == 0 || strcmp(lower->pdata[k], g_ptr_array_index(listed, listed->len - 1)) != 0) {
            g_ptr_array_add(listed, lower->pdata[k]);
            g_string_append(key, lower->pdata[k]);
            g_string_append_c(key, '\n');
        }
    if (!w->name_lists)
        w->name_lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_ptr_array_unref);
    GPtrArray *names = g_hash_table_lookup(w->name_lists, key->str);
    if (names) {
        g_string_free(key, TRUE);
        return g_ptr_array_ref(names);
    }
    names = g_ptr_array_new_full(listed->len, NULL);
    if (!w->names)
        w->names = g_string_chunk_new(16 * 1024);
    for (guint k = 0; k < listed->len; k++)
        g_ptr_array_add(names, g_string_chunk_insert_const(w->names, g_ptr_array_index(listed, k)));
    g_hash_table_insert(w->name_lists, g_string_free(key, FALSE), g_ptr_array_ref(names));
    return names;
}

/* Whether some <expect> reads single messages' records after the run (all
 * but those about totals and logins, which folded records still answer). */
static gboolean
expects_records(const MsScenario *sc)
{
    for (guint i = 0; i < sc->expects->len; i++) {
        switch (g_array_index(sc->expects, MsScenarioExpect, i).kind) {
        case MS_EXPECT_NO_LOSS:
        case MS_EXPECT_LOGIN_ENCRYPTED:
        case MS_EXPECT_NO_CLEAR_PASSWORD:
            break;
        default:
            return TRUE;
        }
    }
    return FALSE;
}

MsWorld *
ms_world_new(const MsScenario *sc, guint64 seed, GError **error)
{
    MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
    o.seed = seed;
    return ms_world_new_full(sc, &o, error);
}

MsWorld *
ms_world_new_full(const MsScenario *sc, const MsWorldOptions *opts, GError **error)
{
    g_autoptr(GError) local = NULL;
    MsWorldOptions defaults = MS_WORLD_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    MsWorld *w = g_new0(MsWorld, 1);
    w->sc = sc;
    w->fidelity = opts->fidelity >= 0 ? (MsFidelity) opts->fidelity : sc->fidelity;
    w->engine = ms_engine_new(opts->seed ? opts->seed : sc->seed);
    w->net = ms_net_new(w->engine);
    if (w->fidelity == MS_FIDELITY_FLOW) {
        w->tcp = ms_tcp_new_flow(w->net);
        ms_net_set_express(w->net, TRUE); /* datagrams (DNS) as one event each */
    } else {
        w->tcp = ms_tcp_new(w->net);
    }
    ms_net_set_metric(w->net, sc->routing == MS_ROUTING_HOPS     ? MS_ROUTE_BY_HOPS
                              : sc->routing == MS_ROUTING_POLICY ? MS_ROUTE_BY_POLICY
                                                                 : MS_ROUTE_BY_LATENCY);
    w->dns = g_ptr_array_new_with_free_func((GDestroyNotify) ms_dns_server_free);
    g_ptr_array_set_size(w->dns, (gint) sc->hosts->len);
    w->server_of = g_array_new(FALSE, FALSE, sizeof(guint));
    w->ev_fault = ms_engine_register(w->engine, "fault", on_fault, w);
    for (guint i = 0; i < sc->hosts->len; i++) {
        const MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, i);
        if (ms_net_add_host(w->net, h->name, h->address, role_of(h->role), &local) == G_MAXUINT32) {
            g_set_error(error, MS_WORLD_ERROR, 0, "%s:%u: host '%s': %s", sc->path, h->line, h->id,
                        local->message);
            ms_world_free(w);
            return NULL;
        }
        if (h->asn)
            ms_net_set_host_as(w->net, i, h->asn);
    }
    for (guint i = 0; i < sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(sc->links, MsScenarioLink, i);
        MsLinkParams p = { l->latency, l->bandwidth_bps, l->mtu, l->loss,
                           l->queue_packets ? (guint64) l->queue_packets * l->mtu
                                            : l->queue_bytes };
        guint32 li = ms_net_add_link(w->net, l->a, l->b, &p, &local);
        if (li == G_MAXUINT32) {
            g_set_error(error, MS_WORLD_ERROR, 0, "%s:%u: %s", sc->path, l->line, local->message);
            ms_world_free(w);
            return NULL;
        }
        if (l->relation != MS_RELATION_NONE)
            ms_net_set_link_relation(
                w->net, li,
                l->relation == MS_RELATION_PEER ? MS_NET_REL_PEER : MS_NET_REL_PROVIDER_CUSTOMER);
    }
    if (opts->partition) {
        /* Before any set-up event: the shard tells the engine which hosts
         * are this part's. */
        MsTime lookahead;
        if (!ms_world_partition_lookahead(sc, opts->partition, &lookahead, NULL, error)) {
            ms_world_free(w);
            return NULL;
        }
        /* No cut link: the parts never meet; any window will do. */
        if (lookahead == MS_TIME_INFINITE)
            lookahead = MS_TIME_INFINITE / 4;
        /* At flow level only connection ends talk across ranks (further
         * apart than a cut link), and rate signals travel at most
         * MS_TCP_FLOW_SIGNAL_MAX (sim/net/flow.c). */
        lookahead = ms_tcp_lookahead(w->tcp, opts->partition, lookahead);
        w->shard = ms_shard_new(w->engine, opts->partition, opts->part, lookahead);
        /* Per pair of parts at packet level; at flow level every rank hears
         * every link crossing one lookahead ahead (sim/net/flow_dist.c), so
         * one lookahead holds for every pair. */
        if (w->fidelity != MS_FIDELITY_FLOW) {
            g_autofree MsTime *pair_la = ms_world_partition_pair_lookahead(sc, opts->partition);
            ms_shard_set_pair_lookahead(w->shard, pair_la);
            /* And where the pending events are: packets are the only way
             * hosts meet at packet level. */
            g_autofree MsTime *reach = ms_world_partition_reach(sc, opts->partition);
            ms_shard_set_reach(w->shard, reach);
        }
        ms_net_attach_shard(w->net, w->shard);
        ms_tcp_attach_shard(w->tcp, w->shard);
    }
    /* The parts of one process, and the pilot run before them. */
    if (opts->route_share)
        ms_net_share_routes(w->net, opts->route_share);
    if (!build_dns(w, error)) {
        ms_world_free(w);
        return NULL;
    }
    w->mail = ms_mail_new(w->net, w->tcp);
    ms_mail_set_partitioned(w->mail, w->shard != NULL);
    ms_mail_set_flat_dns(w->mail, sc->dns_mode != MS_DNS_HIERARCHY);
    /* A part keeps its records for the merge, but its merged statistics
     * are told the limit a sequential run would have folded with, so both
     * state the same quantiles. */
    gboolean would_fold = opts->fold_records > 0 && !expects_records(sc);
    guint exact_limit =
        opts->fold_exact_limit >= 0 ? (guint) opts->fold_exact_limit : MS_MAIL_FOLD_EXACT_LIMIT;
    w->latency_exact_limit = would_fold ? exact_limit : MS_SKETCH_ALWAYS_EXACT;
    gboolean fold = would_fold && !w->shard;
    if (fold)
        ms_mail_set_fold_records(w->mail, TRUE,
                                 opts->fold_keep_first >= 0 ? (guint) opts->fold_keep_first
                                                            : MS_WORLD_SUMMARY_MESSAGES,
                                 exact_limit);
    /* Folding is for runs where memory matters: stores nobody reads keep
     * counts only unless asked otherwise. */
    ms_mail_set_keep_bodies(w->mail, opts->keep_bodies >= 0 ? opts->keep_bodies != 0
                                     : fold                 ? FALSE
                                                            : sc->keep_bodies);
    MsScenario *release = opts->release_users;
    g_return_val_if_fail(release == NULL || release == sc, NULL);
    g_autofree gboolean *faulted = release ? ms_scenario_mailbox_fault_servers(sc) : NULL;
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *ms = &g_array_index(sc->mailservers, MsScenarioMailserver, i);
        MsMtaPolicy pol;
        ms_mta_policy_defaults(ms->profile, &pol);
        /* The file's policy, with the options' fields laid over it. */
        MsScenarioPolicy merged = ms->policy;
        const MsScenarioPolicy *over = opts->policy;
        if (over && (opts->policy_host < 0 || (guint) opts->policy_host == ms->host)) {
            if (ms_scenario_policy_has(over, MS_POLICY_RETRY_FIRST))
                merged.retry_first = over->retry_first;
            if (ms_scenario_policy_has(over, MS_POLICY_RETRY_MAX))
                merged.retry_max = over->retry_max;
            if (ms_scenario_policy_has(over, MS_POLICY_GIVE_UP))
                merged.give_up = over->give_up;
            if (ms_scenario_policy_has(over, MS_POLICY_MAX_SIZE))
                merged.max_size = over->max_size;
            if (ms_scenario_policy_has(over, MS_POLICY_MAX_RECIPIENTS))
                merged.max_recipients = over->max_recipients;
            if (ms_scenario_policy_has(over, MS_POLICY_GREYLIST))
                merged.greylist = over->greylist;
            if (ms_scenario_policy_has(over, MS_POLICY_COMMAND_DELAY))
                merged.command_delay = over->command_delay;
            if (ms_scenario_policy_has(over, MS_POLICY_GREYLIST_DELAY))
                merged.greylist_delay = over->greylist_delay;
            merged.set |= over->set;
        }
        const MsScenarioPolicy *sp = &merged;
        if (ms_scenario_policy_has(sp, MS_POLICY_RETRY_FIRST))
            pol.retry_first = sp->retry_first;
        if (ms_scenario_policy_has(sp, MS_POLICY_RETRY_MAX))
            pol.retry_max = sp->retry_max;
        if (ms_scenario_policy_has(sp, MS_POLICY_GIVE_UP))
            pol.give_up = sp->give_up;
        if (ms_scenario_policy_has(sp, MS_POLICY_MAX_SIZE))
            pol.max_size = sp->max_size;
        if (ms_scenario_policy_has(sp, MS_POLICY_MAX_RECIPIENTS))
            pol.max_recipients = sp->max_recipients;
        if (ms_scenario_policy_has(sp, MS_POLICY_GREYLIST))
            pol.greylist = sp->greylist;
        if (ms_scenario_policy_has(sp, MS_POLICY_GREYLIST_DELAY))
            pol.greylist_delay = sp->greylist_delay;
        if (sc->tls) {
            pol.tls = ms->tls.certificate;
            pol.smtpd_tls_level = ms->tls.smtpd_level;
            pol.tls_auth_only = ms->tls.auth_only;
            pol.smtp_tls_level = ms->tls.smtp_level;
            pol.cert_fault = ms->tls.cert_fault;
        }
        MsResolver *res = NULL;
        gint dns_host = ms->resolver >= 0                  ? ms->resolver
                        : sc->dns_mode == MS_DNS_FLAT      ? sc->dns_server
                        : sc->dns_mode == MS_DNS_HIERARCHY ? sc->dns_root
                                                           : -1;
        if (dns_host >= 0) {
            gboolean iterative = sc->dns_mode == MS_DNS_HIERARCHY && ms->resolver < 0;
            res = ms_resolver_new(w->net, ms->host, ms_net_host_addr(w->net, (MsHostId) dns_host),
                                  iterative);
        }
        const char **domains = g_new0(const char *, ms->domains->len + 1);
        for (guint k = 0; k < ms->domains->len; k++)
            domains[k] = g_ptr_array_index(ms->domains, k);
        guint idx = ms_mail_add_server(w->mail, ms->host, domains, &pol, res);
        g_free(domains);
        g_array_append_val(w->server_of, idx);
        for (guint k = 0; k < ms->backup_for->len; k++)
            ms_mail_add_backup_domain(w->mail, idx, g_ptr_array_index(ms->backup_for, k));
        if (!w->shard || ms_shard_is_local(w->shard, ms->host)) {
            for (guint k = 0; k < ms->users->len; k++) {
                const MsScenarioUser *u = &g_array_index(ms->users, MsScenarioUser, k);
                ms_mail_add_user(w->mail, idx, u->name, u->password, u->quota);
                if (u->forward)
                    ms_mail_auth_add_forward(w->mail, idx, u->name, u->forward);
            }
        } else {
            ms_mail_set_user_names(w->mail, idx, user_names(w, ms->users));
        }
        /* In the mail store now (or its names, for another part's server,
         * whose part runs its faults). */
        if (release && (!faulted[i] || (w->shard && !ms_shard_is_local(w->shard, ms->host))))
            ms_scenario_drop_users(release, i);
        for (guint k = 0; ms->lists && k < ms->lists->len; k++) {
            const MsScenarioList *l = &g_array_index(ms->lists, MsScenarioList, k);
            g_autoptr(GPtrArray) mem = g_ptr_array_new();
            for (guint j = 0; j < l->members->len; j++)
                g_ptr_array_add(mem, g_ptr_array_index(l->members, j));
            g_ptr_array_add(mem, NULL);
            ms_mail_auth_add_list(w->mail, idx, l->name, (const char *const *) mem->pdata,
                                  l->subject_tag, l->footer);
        }
        if (ms->auth.line) {
            g_autoptr(GPtrArray) bl = g_ptr_array_new();
            for (guint j = 0; ms->auth.dnsbl && j < ms->auth.dnsbl->len; j++)
                g_ptr_array_add(bl, g_ptr_array_index(ms->auth.dnsbl, j));
            g_ptr_array_add(bl, NULL);
            MsMailAuthSettings as = { ms->auth.spf,           ms->auth.dkim,
                                      ms->auth.dmarc,         (const char *const *) bl->pdata,
                                      ms->auth.dnsbl_at_rcpt, ms->auth.sender_login_match };
            ms_mail_auth_configure(w->mail, idx, &as);
        }
        if (ms_scenario_policy_has(sp, MS_POLICY_COMMAND_DELAY))
            ms_mail_set_command_delay(w->mail, idx, sp->command_delay);
        if (ms->tls.mta_sts)
            ms_mail_tls_policy_honour_sts(w->mail, idx, TRUE);
        for (guint k = 0; k < ms->replies->len; k++) {
            const MsScenarioReply *rp = &g_array_index(ms->replies, MsScenarioReply, k);
            static const MsFaultCommand cmds[] = {
                [MS_REPLY_CONNECT] = MS_FAULT_CMD_CONNECT, [MS_REPLY_HELO] = MS_FAULT_CMD_HELO,
                [MS_REPLY_EHLO] = MS_FAULT_CMD_HELO,       [MS_REPLY_MAIL] = MS_FAULT_CMD_MAIL,
                [MS_REPLY_RCPT] = MS_FAULT_CMD_RCPT,       [MS_REPLY_DATA] = MS_FAULT_CMD_DATA,
                [MS_REPLY_EOD] = MS_FAULT_CMD_EOD,
            };
            MsReplyRule rule = { cmds[rp->command], rp->code, rp->enhanced,
                                 rp->text,          rp->from, rp->to,
                                 rp->start,         rp->end,  rp->rate };
            ms_mail_add_reply_rule(w->mail, idx, &rule);
        }
    }
    g_clear_pointer(&w->name_lists, g_hash_table_unref); /* the listings are the servers' now */
    if (sc->tls && !enable_tls(w, error)) {
        ms_world_free(w);
        return NULL;
    }
    for (guint i = 0; i < sc->zones->len; i++) { /* MTA-STS, DNSSEC, DANE */
        const MsScenarioZone *z = &g_array_index(sc->zones, MsScenarioZone, i);
        if ((z->sts_policy &&
             !ms_mail_tls_policy_publish_sts(w->mail, z->name, z->sts_id, z->sts_policy, error)) ||
            !publish_tlsa(w, z, error)) {
            ms_world_free(w);
            return NULL;
        }
        if (z->dnssec)
            ms_mail_tls_policy_set_dnssec(w->mail, z->name);
    }
    if (!add_dkim_keys(w, error)) {
        ms_world_free(w);
        return NULL;
    }
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *ms = &g_array_index(sc->mailservers, MsScenarioMailserver, i);
        if (ms->smarthost >= 0)
            ms_mail_set_smarthost(w->mail, g_array_index(w->server_of, guint, i),
                                  (MsHostId) ms->smarthost);
    }
    for (guint i = 0; i < sc->clients->len; i++) {
        const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, i);
        guint smtp = c->smtp >= 0 ? ms_mail_server_by_host(w->mail, (MsHostId) c->smtp) : G_MAXUINT;
        guint pop3 = c->pop3 >= 0 ? ms_mail_server_by_host(w->mail, (MsHostId) c->pop3) : G_MAXUINT;
        guint ci = ms_mail_add_client(w->mail, c->host, c->user, c->password, smtp, pop3, c->keep);
        if (sc->tls)
            ms_mail_set_client_tls(
                w->mail, ci,
                c->smtp_tls >= 0 ? (MsMailClientTls) c->smtp_tls : MS_MAIL_CLIENT_TLS_STARTTLS,
                c->pop3_tls >= 0 ? (MsMailClientTls) c->pop3_tls : MS_MAIL_CLIENT_TLS_STARTTLS);
        if (c->imap >= 0) {
            guint imap = ms_mail_server_by_host(w->mail, (MsHostId) c->imap);
            MsMailClientTls mode = !sc->tls           ? MS_MAIL_CLIENT_TLS_NONE
                                   : c->imap_tls >= 0 ? (MsMailClientTls) c->imap_tls
                                                      : MS_MAIL_CLIENT_TLS_STARTTLS;
            ms_mail_set_client_imap(w->mail, ci, imap, c->idle, mode);
            /* An idling device connects at the start and stays. */
            if (c->idle && c->check_every == 0)
                ms_mail_check(w->mail, ci, 0, 0);
        }
        if (c->check_every > 0)
            ms_mail_check(w->mail, ci, c->check_every, c->check_every);
    }
    w->msg_ids = g_new0(guint32, sc->messages->len + 1);
    for (guint i = 0; i < sc->messages->len; i++) {
        const MsScenarioMessage *m = &g_array_index(sc->messages, MsScenarioMessage, i);
        g_autoptr(GPtrArray) to = g_ptr_array_new();
        for (guint k = 0; k < m->to->len; k++)
            g_ptr_array_add(to, g_ptr_array_index(m->to, k));
        g_ptr_array_add(to, NULL);
        g_autoptr(GPtrArray) cc = g_ptr_array_new();
        for (guint k = 0; k < m->cc->len; k++)
            g_ptr_array_add(cc, g_ptr_array_index(m->cc, k));
        g_ptr_array_add(cc, NULL);
        const char *body = m->size ? NULL : (m->body ? m->body : "");
        if (m->via_server >= 0) {
            w->msg_ids[i] = ms_mail_auth_send_direct(
                w->mail, g_array_index(w->server_of, guint, m->via_server), m->id, m->from,
                m->mail_from, (const char *const *) to->pdata, (const char *const *) cc->pdata,
                m->subject, body, m->size, m->at);
            continue;
        }
        w->msg_ids[i] = ms_mail_submit_as(
            w->mail, m->sender_client, m->from, m->id, (const char *const *) to->pdata,
            (const char *const *) cc->pdata, m->subject, body, m->size, m->at);
    }
    for (guint i = 0; i < sc->checks->len; i++) {
        const MsScenarioCheck *c = &g_array_index(sc->checks, MsScenarioCheck, i);
        ms_mail_check(w->mail, c->client, c->at, 0);
    }
    w->workloads = ms_workloads_start(w->mail, sc->workloads, (const guint *) w->server_of->data,
                                      ms_engine_seed(w->engine));
    for (guint i = 0; i < sc->faults->len; i++) {
        const MsScenarioFault *f = &g_array_index(sc->faults, MsScenarioFault, i);
        MsEventData d = { { 0 } };
        d.u32[0] = i;
        /* Addressed to the world itself, which every part of a partitioned
         * run runs: each applies the fault to its own hosts and links and
         * recomputes routes alike. */
        ms_engine_schedule_from(w->engine, MS_HOST_WORLD, f->at, MS_HOST_WORLD, w->ev_fault, d);
        if (f->duration != MS_TIME_INFINITE) {
            d.u32[1] = 1;
            ms_engine_schedule_from(w->engine, MS_HOST_WORLD, ms_time_add(f->at, f->duration),
                                    MS_HOST_WORLD, w->ev_fault, d);
        }
    }
    return w;
}

void
ms_world_free(MsWorld *w)
{
    if (!w)
        return;
    ms_workloads_free(w->workloads);
    ms_mail_free(w->mail);
    if (w->name_lists)
        g_hash_table_unref(w->name_lists);
    if (w->names) /* after the mail servers that list them */
        g_string_chunk_free(w->names);
    g_ptr_array_unref(w->dns);
    g_array_free(w->server_of, TRUE);
    g_free(w->msg_ids);
    ms_tcp_free(w->tcp);
    ms_net_free(w->net);
    ms_shard_free(w->shard);
    ms_engine_free(w->engine);
    g_free(w);
}

MsEngine *
ms_world_engine(MsWorld *w)
{
    return w->engine;
}
MsNet *
ms_world_net(MsWorld *w)
{
    return w->net;
}
MsTcp *
ms_world_tcp(MsWorld *w)
{
    return w->tcp;
}
MsMail *
ms_world_mail(MsWorld *w)
{
    return w->mail;
}
const MsScenario *
ms_world_scenario(MsWorld *w)
{
    return w->sc;
}
MsFidelity
ms_world_fidelity(const MsWorld *w)
{
    return w->fidelity;
}

guint
ms_world_latency_exact_limit(const MsWorld *w)
{
    return w->latency_exact_limit;
}

MsTime
ms_world_default_until(const MsWorld *w)
{
    return w->sc->until;
}

MsShard *
ms_world_shard(MsWorld *w)
{
    return w->shard;
}

MsEngineResult
ms_world_run(MsWorld *w, MsTime until)
{
    g_return_val_if_fail(w->shard == NULL || ms_shard_parts(w->shard) == 1, MS_ENGINE_IDLE);
    return ms_engine_run(w->engine, until);
}

gboolean
ms_world_run_parts(MsWorld *const *parts, guint n, guint threads, MsTime until)
{
    g_autofree MsShard **shards = g_new(MsShard *, n);
    for (guint i = 0; i < n; i++) {
        g_return_val_if_fail(parts[i]->shard && ms_shard_self(parts[i]->shard) == i, FALSE);
        shards[i] = parts[i]->shard;
    }
    ms_shard_run_threads(shards, n, threads, until);
    return TRUE;
}

gboolean
ms_world_run_parts_async(MsWorld *const *parts, guint n, guint threads, MsTime until,
                         MsShardAsyncStats *stats)
{
    g_autofree MsShard **shards = g_new(MsShard *, n);
    for (guint i = 0; i < n; i++) {
        g_return_val_if_fail(parts[i]->shard && ms_shard_self(parts[i]->shard) == i, FALSE);
        shards[i] = parts[i]->shard;
    }
    ms_shard_run_async(shards, n, threads, until, stats);
    return TRUE;
}

gboolean
ms_world_merge_parts(MsWorld *const *parts, guint n, GError **error)
{
    /* A chunk of one part's export at a time (part 0's own records go once
     * exported: the merge replaces them), never every part's whole. */
    g_return_val_if_fail(n > 0, FALSE);
    g_autoptr(MsMailMerge) merge = ms_mail_merge_new(parts[0]->mail, n);
    for (guint i = 0; i < n; i++) {
        g_autoptr(MsMailExport) x =
            ms_mail_export_new(parts[i]->mail, MS_MAIL_EXPORT_CHUNK, i == 0);
        for (GBytes *c; (c = ms_mail_export_next(x));) {
            gboolean ok = ms_mail_merge_add(merge, i, c, error);
            g_bytes_unref(c);
            if (!ok)
                return FALSE;
        }
    }
    return ms_mail_merge_finish(merge, error);
}

/* --- expectations --------------------------------------------------------- */

static const MsRcptRecord *
find_rcpt(const MsMessageRecord *r, const char *to)
{
    for (guint i = 0; i < r->rcpts->len; i++) {
        const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, i);
        if (!to || g_ascii_strcasecmp(rr->address, to) == 0)
            return rr;
    }
    return NULL;
}

gboolean
ms_world_check(MsWorld *w, GString *out)
{
    const MsScenario *sc = w->sc;
    gboolean all = TRUE;
    for (guint i = 0; i < sc->expects->len; i++) {
        const MsScenarioExpect *x = &g_array_index(sc->expects, MsScenarioExpect, i);
        const MsMessageRecord *r =
            x->message >= 0 ? ms_mail_message(w->mail, w->msg_ids[x->message]) : NULL;
        const MsRcptRecord *rr = r ? find_rcpt(r, x->to) : NULL;
        gboolean ok = FALSE;
        g_autofree char *what = NULL, *got = NULL;
        const char *label = r ? r->label : "";
        switch (x->kind) {
        case MS_EXPECT_DELIVERED: {
            /* every named (or every) recipient delivered, within the limit */
            ok = r != NULL;
            MsTime worst = 0;
            for (guint k = 0; r && k < r->rcpts->len; k++) {
                const MsRcptRecord *q = &g_array_index(r->rcpts, MsRcptRecord, k);
                if (x->to && g_ascii_strcasecmp(q->address, x->to) != 0)
                    continue;
                ok &= q->state == MS_RCPT_DELIVERED;
                worst = MAX(worst, q->done_at - r->created_at);
            }
            if (ok && x->within != MS_TIME_INFINITE)
                ok = worst <= x->within;
            g_autofree char *within =
                x->within != MS_TIME_INFINITE ? ms_time_to_string(x->within) : NULL;
            g_autofree char *took = ms_time_to_string(worst);
            what = g_strdup_printf("mail %s is delivered to %s%s%s", label,
                                   x->to ? x->to : "every recipient", within ? " within " : "",
                                   within ? within : "");
            got = rr ? g_strdup_printf("%s after %s", ms_rcpt_state_to_string(rr->state), took)
                     : g_strdup("no such recipient");
            break;
        }
        case MS_EXPECT_BOUNCED:
            ok = rr && rr->state == MS_RCPT_BOUNCED &&
                 (!x->status || g_str_has_prefix(rr->status, x->status));
            what =
                g_strdup_printf("mail %s to %s bounces%s%s", label, x->to ? x->to : "its recipient",
                                x->status ? " with status " : "", x->status ? x->status : "");
            got = rr ? g_strdup_printf("%s %s", ms_rcpt_state_to_string(rr->state), rr->status)
                     : g_strdup("no such recipient");
            break;
        case MS_EXPECT_DSN: {
            guint n = 0;
            for (guint id = 1; id <= ms_mail_n_messages(w->mail); id++) {
                const MsMessageRecord *d = ms_mail_message(w->mail, id);
                const MsRcptRecord *q = d->is_dsn ? find_rcpt(d, x->to) : NULL;
                if (q && q->state == MS_RCPT_DELIVERED)
                    n++;
            }
            ok = x->count >= 0 ? n == (guint) x->count : n > 0;
            what = g_strdup_printf("a bounce (DSN) reaches %s", x->to);
            got = g_strdup_printf("%u delivered", n);
            break;
        }
        case MS_EXPECT_RECEIVED_HEADERS:
            ok = rr && rr->state == MS_RCPT_DELIVERED && rr->received_headers == (guint) x->count;
            what = g_strdup_printf("mail %s reaches %s with exactly %" G_GINT64_FORMAT
                                   " Received: headers",
                                   label, x->to ? x->to : "its recipient", x->count);
            got = rr ? g_strdup_printf("%u", rr->received_headers) : g_strdup("no such recipient");
            break;
        case MS_EXPECT_ATTEMPTS:
            ok = rr && rr->attempts == (guint) x->count;
            what = g_strdup_printf("mail %s takes %" G_GINT64_FORMAT " delivery attempt%s", label,
                                   x->count, x->count == 1 ? "" : "s");
            got = rr ? g_strdup_printf("%u", rr->attempts) : g_strdup("no such recipient");
            break;
        case MS_EXPECT_RETRIEVED: {
            const MsScenarioClient *c =
                x->client >= 0 ? &g_array_index(sc->clients, MsScenarioClient, x->client) : NULL;
            const MsRcptRecord *q = r && c ? find_rcpt(r, c->user) : rr;
            ok = q && q->retrieved_at > 0 && (!c || q->retrieved_by == c->host);
            what = g_strdup_printf("mail %s is downloaded by %s", label,
                                   c ? g_array_index(sc->hosts, MsScenarioHost, c->host).id
                                     : "its recipient");
            got = q && q->retrieved_at ? ms_time_to_string(q->retrieved_at) : g_strdup("never");
            break;
        }
        case MS_EXPECT_SEEN:
        case MS_EXPECT_NOT_SEEN: {
            const MsScenarioClient *c = &g_array_index(sc->clients, MsScenarioClient, x->client);
            const char *dev = g_array_index(sc->hosts, MsScenarioHost, c->host).id;
            const MsRcptRecord *q = r ? find_rcpt(r, c->user) : NULL;
            MsTime at = r ? ms_mail_client_seen_at(w->mail, (guint) x->client, r->id) : 0;
            gboolean delivered = q && q->state == MS_RCPT_DELIVERED;
            MsTime delay = at && delivered && at >= q->done_at ? at - q->done_at : 0;
            if (x->kind == MS_EXPECT_NOT_SEEN) {
                ok = r && !at;
                what = g_strdup_printf("mail %s never shows on %s", label, dev);
            } else {
                ok = at && (x->within == MS_TIME_INFINITE || (delivered && delay <= x->within));
                g_autofree char *within =
                    x->within != MS_TIME_INFINITE ? ms_time_to_string(x->within) : NULL;
                what = g_strdup_printf("mail %s shows on %s%s%s%s", label, dev,
                                       within ? " within " : "", within ? within : "",
                                       within ? " of its delivery" : "");
            }
            if (!at) {
                got = g_strdup("never");
            } else {
                g_autofree char *ts = ms_time_to_string(at);
                g_autofree char *ds = ms_time_to_string(delay);
                got = delivered ? g_strdup_printf("at %s, %s after delivery", ts, ds)
                                : g_strdup_printf("at %s", ts);
            }
            break;
        }
        case MS_EXPECT_ENCRYPTED: {
            guint enc = r ? r->hops_tls : 0, clear = r ? r->hops_clear : 0;
            ok = r && (x->count >= 0 ? enc == (guint) x->count : enc > 0 && clear == 0);
            what = x->count >= 0
                       ? g_strdup_printf("mail %s crosses %" G_GINT64_FORMAT " hop%s inside TLS",
                                         label, x->count, x->count == 1 ? "" : "s")
                       : g_strdup_printf("mail %s crosses every hop inside TLS", label);
            got = g_strdup_printf("%u encrypted, %u in the clear", enc, clear);
            break;
        }
        case MS_EXPECT_LOGIN_ENCRYPTED: {
            guint enc = 0, clear = 0;
            for (guint k = 0; k < sc->clients->len; k++) {
                if (x->client >= 0 && (guint) x->client != k)
                    continue;
                guint e1 = 0, c1 = 0;
                ms_mail_client_logins(w->mail, k, &e1, &c1);
                enc += e1;
                clear += c1;
            }
            ok = enc > 0 && clear == 0;
            const char *who =
                x->client >= 0
                    ? g_array_index(sc->hosts, MsScenarioHost,
                                    g_array_index(sc->clients, MsScenarioClient, x->client).host)
                          .id
                    : "every client";
            what = g_strdup_printf("%s logs in only inside TLS", who);
            got = g_strdup_printf("%u login%s inside TLS, %u in the clear", enc,
                                  enc == 1 ? "" : "s", clear);
            break;
        }
        case MS_EXPECT_NO_CLEAR_PASSWORD: {
            MsMailStats st;
            ms_mail_get_stats(w->mail, &st);
            ok = st.logins_clear == 0;
            what = g_strdup("no password crosses a link in the clear");
            got = g_strdup_printf("%" G_GUINT64_FORMAT " in the clear, %" G_GUINT64_FORMAT
                                  " inside TLS",
                                  st.logins_clear, st.logins_tls);
            break;
        }
        case MS_EXPECT_CLEAR_HOPS: {
            guint enc = r ? r->hops_tls : 0, clear = r ? r->hops_clear : 0;
            ok = r && (x->count >= 0 ? clear == (guint) x->count : clear > 0);
            what = x->count >= 0
                       ? g_strdup_printf("mail %s crosses %" G_GINT64_FORMAT " hop%s in the clear",
                                         label, x->count, x->count == 1 ? "" : "s")
                       : g_strdup_printf("mail %s crosses a hop in the clear", label);
            got = g_strdup_printf("%u encrypted, %u in the clear", enc, clear);
            break;
        }
        case MS_EXPECT_TLS_DEFERRED: {
            MsMailTlsLedger l;
            ms_mail_tls_policy_ledger(w->mail, r ? r->id : 0, &l);
            ok = r && (x->count >= 0 ? l.tls_refusals == (guint) x->count : l.tls_refusals > 0);
            what = x->count >= 0 ? g_strdup_printf("mail %s is held back %" G_GINT64_FORMAT
                                                   " time%s for want of TLS",
                                                   label, x->count, x->count == 1 ? "" : "s")
                                 : g_strdup_printf("mail %s is held back for want of TLS", label);
            got = g_strdup_printf("%u session%s ended by a TLS requirement", l.tls_refusals,
                                  l.tls_refusals == 1 ? "" : "s");
            break;
        }
        case MS_EXPECT_AUTH: {
            MsMailAuthLedger l;
            if (x->at_host >= 0)
                ms_mail_auth_ledger_at(w->mail, r ? r->id : 0, (MsHostId) x->at_host, &l);
            else
                ms_mail_auth_ledger(w->mail, r ? r->id : 0, &l);
            const char *res = !strcmp(x->check, "spf")     ? l.spf
                              : !strcmp(x->check, "dkim")  ? l.dkim
                              : !strcmp(x->check, "dmarc") ? l.dmarc
                                                           : l.dnsbl;
            ok = r && strcmp(res, x->result) == 0;
            what = x->at_host >= 0
                       ? g_strdup_printf("the %s check %s made of mail %s says %s", x->check,
                                         ms_net_host_name(w->net, (MsHostId) x->at_host), label,
                                         x->result)
                       : g_strdup_printf("the receiver's %s check of mail %s says %s", x->check,
                                         label, x->result);
            got = g_strdup(*res ? res : "not checked");
            break;
        }
        case MS_EXPECT_QUARANTINED: {
            MsMailAuthLedger l;
            ms_mail_auth_ledger(w->mail, r ? r->id : 0, &l);
            ok = r && l.action == MS_MAIL_AUTH_QUARANTINE && rr && rr->state == MS_RCPT_DELIVERED;
            what = g_strdup_printf("mail %s lands in the Junk of %s", label,
                                   x->to ? x->to : "its recipient");
            got = g_strdup(!l.checked                            ? "not checked"
                           : l.action == MS_MAIL_AUTH_QUARANTINE ? "quarantined"
                           : l.action == MS_MAIL_AUTH_REJECT     ? "rejected"
                                                                 : "accepted");
            break;
        }
        case MS_EXPECT_NO_LOSS: {
            g_autoptr(GString) rep = g_string_new(NULL);
            ok = ms_mail_check_balance(w->mail, rep);
            what = g_strdup("no message is lost");
            got = g_strdup(ok ? "all accounted for" : rep->str);
            break;
        }
        }
        g_string_append_printf(out, "%s  %s:%u: %s (got: %s)\n", ok ? "PASS" : "FAIL", sc->path,
                               x->line, what, got);
        all &= ok;
    }
    g_autoptr(GString) rep = g_string_new(NULL);
    if (!ms_mail_check_balance(w->mail, rep)) {
        g_string_append_printf(out, "FAIL  accounting: %s", rep->str);
        all = FALSE;
    }
    return all;
}

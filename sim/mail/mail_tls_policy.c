/* MTA-STS in the simulated world (RFC 8461), and the ledger of what the
 * attacker and the defences did to each message.
 *
 * Role in the data flow: a domain's zone carries "_mta-sts.<domain>" TXT
 * "v=STSv1; id=..." and the world hands the mail layer the policy document
 * (ms_mail_tls_policy_publish_sts). A sending MTA that honours MTA-STS
 * looks the TXT record up at the start of each delivery attempt, before
 * its MX look-up (RFC 8461 5.1); with a record whose id differs from its
 * cached policy's, or with no cached policy, it "fetches" the document --
 * in the real world over HTTPS from https://mta-sts.<domain>/.well-known/
 * mta-sts.txt (RFC 8461 3.3), here taken from what the domain published,
 * without the HTTPS exchange -- parses it with include/mailsim/mta_sts.h
 * and caches it for max_age. Without a record it keeps using an unexpired
 * cached policy: that cache is what defeats an attacker who also hides
 * the TXT record (RFC 8461 10.3, "Denial of Service" aside).
 *
 * Each delivery attempt then asks ms__tls_attempt_new(): in enforce mode
 * the session must use TLS with a certificate valid for the MX host's name
 * (RFC 8461 4.2: the sender's level is raised to Postfix's "verify"), and
 * a session without it ends with the message still queued (RFC 8461 5:
 * "MUST NOT deliver"); in testing mode the sender delivers anyway and only
 * says what it would report (RFC 8460 TLS reports are not modelled).
 *
 * Before each connection, ms__tls_policy_mx_refused() checks the MX host
 * against the policy's mx patterns (RFC 8461 4.1): enforce skips a host
 * the policy does not name, testing only says so.
 *
 * Not modelled: policy refresh ahead of expiry (5.1), and TLSRPT.
 *
 * Determinism: the tables are looked up by key, never iterated. Ownership:
 * everything here belongs to the mail layer (MsMail.tls_policy). */
#include "mail_tls_policy-private.h"

#include <string.h>

static void
published_free(gpointer p)
{
    MsMailStsPublished *x = p;
    g_free(x->id);
    g_free(x->text);
    g_free(x);
}

static void
cached_free(gpointer p)
{
    MsMailStsCached *c = p;
    g_free(c->id);
    ms_mta_sts_policy_free(c->policy);
    g_free(c);
}

static void
cache_table_free(gpointer p)
{
    if (p)
        g_hash_table_destroy(p);
}

MsMailTlsPolicy *
ms__tls_policy_get(MsMail *m)
{
    if (!m->tls_policy) {
        MsMailTlsPolicy *p = g_new0(MsMailTlsPolicy, 1);
        p->attackers = g_array_new(FALSE, TRUE, sizeof(MsMailAttacker));
        p->published = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, published_free);
        p->honour = g_array_new(FALSE, TRUE, sizeof(gboolean));
        p->caches = g_ptr_array_new_with_free_func(cache_table_free);
        p->ledger = g_array_new(FALSE, TRUE, sizeof(MsMailTlsLedger));
        p->dnssec = g_ptr_array_new_with_free_func(g_free);
        p->dane = g_ptr_array_new_with_free_func(cache_table_free);
        m->tls_policy = p;
    }
    return m->tls_policy;
}

void
ms__tls_policy_free(MsMailTlsPolicy *p)
{
    if (!p)
        return;
    g_array_free(p->attackers, TRUE);
    g_hash_table_destroy(p->published);
    g_array_free(p->honour, TRUE);
    g_ptr_array_unref(p->caches);
    g_array_free(p->ledger, TRUE);
    ms__tls_dane_clear(p);
    g_free(p);
}

MsMailTlsLedger *
ms__tls_policy_ledger(MsMail *m, guint32 message)
{
    if (message == 0)
        return NULL;
    MsMailTlsPolicy *p = ms__tls_policy_get(m);
    if (p->ledger->len < message)
        g_array_set_size(p->ledger, message);
    return &g_array_index(p->ledger, MsMailTlsLedger, message - 1);
}

void
ms_mail_tls_policy_ledger(MsMail *m, guint32 message, MsMailTlsLedger *out)
{
    g_return_if_fail(m != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    if (m->tls_policy && message > 0 && message <= m->tls_policy->ledger->len)
        *out = g_array_index(m->tls_policy->ledger, MsMailTlsLedger, message - 1);
}

gboolean
ms_mail_tls_policy_publish_sts(MsMail *m, const char *domain, const char *id, const char *policy,
                               GError **error)
{
    g_return_val_if_fail(m != NULL && domain != NULL && id != NULL && policy != NULL, FALSE);
    g_autoptr(MsMtaStsPolicy) check =
        ms_mta_sts_policy_parse(policy, strlen(policy), domain, error);
    if (!check)
        return FALSE;
    MsMailStsPublished *x = g_new0(MsMailStsPublished, 1);
    x->id = g_strdup(id);
    x->text = g_strdup(policy);
    g_hash_table_replace(ms__tls_policy_get(m)->published, g_ascii_strdown(domain, -1), x);
    return TRUE;
}

void
ms_mail_tls_policy_honour_sts(MsMail *m, guint server, gboolean honour)
{
    g_return_if_fail(m != NULL && server < m->servers->len);
    MsMailTlsPolicy *p = ms__tls_policy_get(m);
    if (p->honour->len <= server)
        g_array_set_size(p->honour, server + 1);
    g_array_index(p->honour, gboolean, server) = honour;
}

static gboolean
honours(MsMail *m, const MsMailServer *s)
{
    MsMailTlsPolicy *p = m->tls_policy;
    return p && s->index < p->honour->len && g_array_index(p->honour, gboolean, s->index);
}

static GHashTable *
cache_of(MsMail *m, const MsMailServer *s)
{
    MsMailTlsPolicy *p = ms__tls_policy_get(m);
    if (p->caches->len <= s->index)
        g_ptr_array_set_size(p->caches, (gint) s->index + 1);
    if (!p->caches->pdata[s->index])
        p->caches->pdata[s->index] =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cached_free);
    return p->caches->pdata[s->index];
}

/* The sender's unexpired policy for domain, or NULL. */
static MsMailStsCached *
cached_policy(MsMail *m, const MsMailServer *s, const char *domain)
{
    g_autofree char *key = g_ascii_strdown(domain, -1);
    MsMailStsCached *c = g_hash_table_lookup(cache_of(m, s), key);
    return c && ms_engine_now(m->engine) < c->expires ? c : NULL;
}

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailQueueEntry *entry;
    void (*then)(MsMail *, MsMailQueueEntry *);
} StsLookup;

static void
sts_lookup_free(StsLookup *l)
{
    ms__live_remove(l->mail, &l->live);
    g_free(l);
}

/* "Fetches" the published document into the cache; NULL when the domain
 * serves none or it does not parse (then the sender has no policy, RFC
 * 8461 3.2). */
static MsMailStsCached *
fetch(MsMail *m, MsMailQueueEntry *e, const char *id)
{
    MsMailServer *s = e->server;
    g_autofree char *key = g_ascii_strdown(e->domain, -1);
    const MsMailStsPublished *pub = g_hash_table_lookup(ms__tls_policy_get(m)->published, key);
    g_autoptr(GError) err = NULL;
    g_autofree char *url = g_strdup_printf("https://mta-sts.%s/.well-known/mta-sts.txt", e->domain);
    MsMtaStsPolicy *pol =
        pub ? ms_mta_sts_policy_parse(pub->text, strlen(pub->text), url, &err) : NULL;
    if (!pol) {
        ms__mail_note(m, s->host, MS_HOST_WORLD, e->message,
                      "%s cannot fetch the MTA-STS policy of %s (%s): it treats the domain as "
                      "having none",
                      s->hostname, e->domain, err ? err->message : "nothing is served there");
        return NULL;
    }
    MsMailStsCached *c = g_new0(MsMailStsCached, 1);
    c->id = g_strdup(id);
    c->policy = pol;
    c->expires = ms_engine_now(m->engine) + (MsTime) pol->max_age * MS_TIME_S;
    GString *list = g_string_new(NULL);
    for (guint i = 0; i < pol->mx->len; i++)
        g_string_append_printf(list, "%s%s", i ? " " : "", (const char *) pol->mx->pdata[i]);
    g_autofree char *mx = g_string_free(list, FALSE);
    ms__mail_note(m, s->host, MS_HOST_WORLD, e->message,
                  "%s fetches the MTA-STS policy of %s from %s (in the real world over HTTPS, "
                  "with a certificate checked; here taken as published): mode %s, mx %s, kept "
                  "for %u s",
                  s->hostname, e->domain, url, ms_mta_sts_mode_to_string(pol->mode), mx,
                  pol->max_age);
    g_hash_table_replace(cache_of(m, s), g_steal_pointer(&key), c);
    return c;
}

static void
on_sts_txt(MsResolver *r, MsResolveStatus st, GPtrArray *recs, GPtrArray *add, gboolean cached,
           gpointer ud)
{
    StsLookup *l = ud;
    MsMail *m = l->mail;
    MsMailQueueEntry *e = l->entry;
    MsMailServer *s = e->server;
    (void) r;
    (void) add;
    (void) cached;
    g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    for (guint i = 0; st == MS_RESOLVE_OK && i < recs->len; i++) {
        MsDnsRecord *rec = g_ptr_array_index(recs, i);
        if (rec->type == MS_DNS_TYPE_TXT)
            g_ptr_array_add(values, ms_dns_record_txt_join(rec));
    }
    g_autoptr(GError) err = NULL;
    g_autofree char *id = values->len ? ms_mta_sts_record_select(values, &err) : NULL;
    MsMailStsCached *have = cached_policy(m, s, e->domain);
    if (id && have && strcmp(have->id, id) == 0) {
        ms__mail_note(m, s->host, MS_HOST_WORLD, e->message,
                      "the MTA-STS record of %s still says id=%s: %s keeps its cached policy "
                      "(mode %s)",
                      e->domain, id, s->hostname, ms_mta_sts_mode_to_string(have->policy->mode));
    } else if (id) {
        fetch(m, e, id);
    } else if (have) {
        /* RFC 8461 5.1: no record, but a cached policy not yet expired
         * still applies (an attacker could have hidden the record). */
        g_autofree char *left = ms_time_to_string(have->expires - ms_engine_now(m->engine));
        ms__mail_note(m, s->host, MS_HOST_WORLD, e->message,
                      "%s finds no MTA-STS record for %s but still holds its policy for %s more "
                      "(mode %s): it applies it",
                      s->hostname, e->domain, left, ms_mta_sts_mode_to_string(have->policy->mode));
    }
    void (*then)(MsMail *, MsMailQueueEntry *) = l->then;
    sts_lookup_free(l);
    then(m, e);
}

gboolean
ms__tls_policy_discover(MsMail *m, MsMailQueueEntry *e, void (*then)(MsMail *, MsMailQueueEntry *))
{
    MsMailServer *s = e->server;
    if (!m->pki || !s->policy.tls || !honours(m, s) || !s->resolver)
        return FALSE;
    StsLookup *l = g_new0(StsLookup, 1);
    ms__live_add(m, &l->live, l, (GDestroyNotify) sts_lookup_free);
    l->mail = m;
    l->entry = e;
    l->then = then;
    g_autofree char *name = g_strdup_printf("_mta-sts.%s", e->domain);
    ms__mail_note(m, s->host, MS_HOST_WORLD, e->message,
                  "but first %s looks for an MTA-STS policy of %s: it asks DNS for the TXT "
                  "record of %s (RFC 8461 3.1)",
                  s->hostname, e->domain, name);
    ms_resolver_lookup(s->resolver, name, MS_DNS_TYPE_TXT, e->message, on_sts_txt, l);
    return TRUE;
}

gboolean
ms__tls_policy_mx_refused(MsMail *m, MsMailQueueEntry *e, MsHostId peer)
{
    MsMailServer *s = e->server;
    if (!m->pki || !s->policy.tls || !honours(m, s) || peer == MS_NO_HOST_ID)
        return FALSE;
    MsMailStsCached *c = cached_policy(m, s, e->domain);
    const char *host = ms_net_host_name(m->net, peer);
    if (!c || c->policy->mode == MS_MTA_STS_MODE_NONE || ms_mta_sts_policy_allows(c->policy, host))
        return FALSE;
    gboolean enforce = c->policy->mode == MS_MTA_STS_MODE_ENFORCE;
    ms__mail_note(m, s->host, peer, e->message,
                  "%s is not among the MX hosts the MTA-STS policy of %s names (RFC 8461 4.1)%s",
                  host, e->domain,
                  enforce ? ": the policy is enforced, so no mail goes to it"
                          : "; the policy is in testing mode, so it is only reported");
    if (!enforce)
        return FALSE;
    g_free(e->last_error);
    e->last_error =
        g_strdup_printf("MTA-STS policy of %s does not allow MX host %s", e->domain, host);
    return TRUE;
}

MsMailTlsAttempt *
ms__tls_attempt_new(MsMail *m, MsMailQueueEntry *e, MsHostId peer, gboolean tls_possible,
                    MsSmtpTlsLevel *level, gboolean *verify)
{
    MsMailTlsAttempt *t = g_new0(MsMailTlsAttempt, 1);
    t->mail = m;
    t->entry = e;
    t->peer = peer;
    t->tls_possible = tls_possible;
    if (tls_possible && e->server->policy.smtp_tls_level == MS_MTA_TLS_DANE)
        ms__tls_dane_apply(t, level, verify);
    if (!tls_possible || !honours(m, e->server))
        return t;
    MsMailStsCached *c = cached_policy(m, e->server, e->domain);
    if (!c)
        return t;
    t->sts_mode = c->policy->mode;
    if (t->sts_mode == MS_MTA_STS_MODE_ENFORCE) {
        /* RFC 8461 4.2: TLS with a certificate valid for the MX host. */
        *level = MS_SMTP_TLS_ENCRYPT;
        *verify = TRUE;
    }
    return t;
}

void
ms__tls_attempt_free(MsMailTlsAttempt *t)
{
    if (t && t->dane)
        g_ptr_array_unref(t->dane);
    g_free(t);
}

static const char *
peer_name(MsMailTlsAttempt *t)
{
    return t->peer != MS_NO_HOST_ID ? ms_net_host_name(t->mail->net, t->peer) : "?";
}

void
ms__tls_attempt_hop(MsMailTlsAttempt *t, gboolean encrypted)
{
    if (!t)
        return;
    MsMail *m = t->mail;
    MsMailQueueEntry *e = t->entry;
    if (e->message == 0)
        return;
    const MsMailAttacker *a = ms__downgrade_on_path(m, e->server->host, t->peer);
    if (a) {
        g_autofree char *where = ms__downgrade_where(m, a);
        if (encrypted) {
            ms__mail_note(m, e->server->host, t->peer, e->message,
                          "the attacker on %s saw only TLS records: the two servers' addresses, "
                          "the EHLO before STARTTLS, the server's name in the handshake and the "
                          "sizes; not the sender, the recipients or the message",
                          where);
        } else {
            /* The ledger grows with message ids: only a hop that wrote
             * something in it makes it do so. */
            ms__tls_policy_ledger(m, e->message)->hops_read++;
            ms__mail_note(m, e->server->host, t->peer, e->message,
                          "the attacker on %s read the whole message as it passed in clear: the "
                          "envelope (MAIL FROM, RCPT TO), every header and the body. It saw no "
                          "password: servers do not log in to each other on port 25",
                          where);
        }
    }
    if (!encrypted && t->sts_mode == MS_MTA_STS_MODE_TESTING)
        ms__mail_note(m, e->server->host, t->peer, e->message,
                      "the MTA-STS policy of %s is in testing mode: it would have refused this "
                      "clear-text hop, but only asks for a report (RFC 8460), so %s delivered",
                      e->domain, e->server->hostname);
}

void
ms__tls_attempt_refused(MsMailTlsAttempt *t, MsSmtpSessionStatus st)
{
    if (!t || (st != MS_SMTP_SESSION_TLS_UNAVAILABLE && st != MS_SMTP_SESSION_TLS_FAILED))
        return;
    MsMail *m = t->mail;
    MsMailQueueEntry *e = t->entry;
    MsMailTlsLedger *l = ms__tls_policy_ledger(m, e->message);
    if (l)
        l->tls_refusals++;
    g_autofree char *why = t->refused ? g_strdup_printf("STARTTLS was refused with %u", t->refused)
                           : st == MS_SMTP_SESSION_TLS_UNAVAILABLE
                               ? g_strdup("STARTTLS was not offered")
                               : g_strdup("the TLS handshake failed");
    const char *did = t->refused ? " had answered it)" : " had removed it)";
    g_autofree char *where = NULL;
    if (t->stripped) {
        const MsMailAttacker *a = ms__downgrade_on_path(m, e->server->host, t->peer);
        where = a ? ms__downgrade_where(m, a) : g_strdup("the path");
    }
    if (t->sts_mode == MS_MTA_STS_MODE_ENFORCE)
        ms__mail_note(m, e->server->host, t->peer, e->message,
                      "MTA-STS policy of %s requires TLS: %s by %s%s%s%s. %s keeps the message "
                      "queued rather than send it in clear",
                      e->domain, why, peer_name(t), where ? " (an attacker on " : "",
                      where ? where : "", where ? did : "", e->server->hostname);
    else if (t->dane_required)
        ms__mail_note(m, e->server->host, t->peer, e->message,
                      "%s publishes signed TLSA records, so TLS is mandatory (DANE, RFC 7672 "
                      "2.2): %s%s%s%s. %s keeps the message queued rather than send it in clear",
                      peer_name(t), why, where ? " (an attacker on " : "", where ? where : "",
                      where ? did : "", e->server->hostname);
    else if (where) /* the sender's own level: mail_mta.c tells the rest */
        ms__mail_note(m, e->server->host, t->peer, e->message,
                      "%s requires TLS (its smtp security level): %s by %s%s%s%s; it keeps the "
                      "message queued",
                      e->server->hostname, why, peer_name(t), where ? " (an attacker on " : "",
                      where ? where : "", where ? did : "");
}

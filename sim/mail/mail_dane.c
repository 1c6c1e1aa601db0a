/* DANE for SMTP (RFC 7672) on the sending side of the simulated MTAs, at
 * Postfix's smtp_tls_security_level=dane.
 *
 * Role in the data flow: before each connection to an MX host,
 * ms__tls_dane_wait() asks the sender's resolver for the TLSA records at
 * "_25._tcp.<host>" (RFC 7672 2.2.3) and resumes the attempt with the
 * answer, kept per sender and host name. ms__tls_dane_apply() then decides
 * the session's level (RFC 7672 2.2): records from a DNSSEC-signed zone
 * with at least one usable one (DANE-TA(2) or DANE-EE(3), selector and
 * matching type known) make TLS mandatory and authenticated by those
 * records instead of the PKI; records that are all unusable make TLS
 * mandatory without authentication; records from an unsigned zone cannot
 * be trusted and are ignored, as is their absence: the sender falls back
 * to opportunistic TLS. In the handshake, ms__tls_attempt_tls_started()
 * puts our check in place of the PKI's: ms_tls_dane_check() of the chain
 * against the records (sim/proto/tls_dane.c), a mismatch failing the
 * handshake with bad_certificate (alert 42), so the message stays queued.
 * A stripped STARTTLS meets the same mandatory TLS as MTA-STS's enforce
 * mode (sim/mail/mail_tls_policy.c tells it).
 *
 * Modelled, not simulated: DNSSEC validation. A zone marked dnssec="true"
 * stands for a signed zone whose signatures validate; the resolver's
 * answers carry no RRSIG and no AD bit.
 *
 * Ownership: answers belong to the mail layer's MsMailTlsPolicy; an
 * attempt holds a reference to the records it checks against. Costs: one
 * TLSA look-up per connection (the resolver caches by TTL), one DANE check
 * per handshake. */
#include "mail_tls_policy-private.h"

#include "mailsim/dns_server.h"
#include "mailsim/tls_dane.h"

#include <string.h>

static void
answer_free(gpointer p)
{
    MsMailDaneAnswer *a = p;
    if (a->records)
        g_ptr_array_unref(a->records);
    g_free(a);
}

void
ms__tls_dane_clear(MsMailTlsPolicy *p)
{
    g_ptr_array_unref(p->dnssec);
    g_ptr_array_unref(p->dane);
}

void
ms_mail_tls_policy_set_dnssec(MsMail *m, const char *zone)
{
    g_return_if_fail(m != NULL && zone != NULL);
    g_ptr_array_add(ms__tls_policy_get(m)->dnssec, g_ascii_strdown(zone, -1));
}

const MsTlsCredentials *
ms_mail_tls_policy_credentials(MsMail *m, guint server)
{
    g_return_val_if_fail(m != NULL, NULL);
    if (server >= m->servers->len)
        return NULL;
    return ((MsMailServer *) g_ptr_array_index(m->servers, server))->tls_cred;
}

static gboolean
signed_name(MsMail *m, const char *name)
{
    GPtrArray *z = ms__tls_policy_get(m)->dnssec;
    for (guint i = 0; i < z->len; i++)
        if (ms_dns_name_in_zone(name, z->pdata[i]))
            return TRUE;
    return FALSE;
}

static GHashTable *
answers_of(MsMail *m, const MsMailServer *s)
{
    MsMailTlsPolicy *p = ms__tls_policy_get(m);
    if (p->dane->len <= s->index)
        g_ptr_array_set_size(p->dane, (gint) s->index + 1);
    if (!p->dane->pdata[s->index])
        p->dane->pdata[s->index] =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, answer_free);
    return p->dane->pdata[s->index];
}

/* The answer for host, when it came at this very instant (this attempt). */
static MsMailDaneAnswer *
fresh_answer(MsMail *m, const MsMailServer *s, const char *host)
{
    g_autofree char *key = g_ascii_strdown(host, -1);
    MsMailDaneAnswer *a = g_hash_table_lookup(answers_of(m, s), key);
    return a && a->at == ms_engine_now(m->engine) ? a : NULL;
}

typedef struct {
    MsLive live;
    MsMail *mail;
    MsMailQueueEntry *entry;
    char *host;
    void (*then)(MsMail *, MsMailQueueEntry *);
} DaneLookup;

static void
dane_lookup_free(DaneLookup *l)
{
    ms__live_remove(l->mail, &l->live);
    g_free(l->host);
    g_free(l);
}

static void
on_tlsa(MsResolver *r, MsResolveStatus st, GPtrArray *recs, GPtrArray *add, gboolean cached,
        gpointer ud)
{
    DaneLookup *l = ud;
    (void) r;
    (void) add;
    (void) cached;
    MsMail *m = l->mail;
    MsMailQueueEntry *e = l->entry;
    MsMailDaneAnswer *a = g_new0(MsMailDaneAnswer, 1);
    a->records = g_ptr_array_new_with_free_func((GDestroyNotify) ms_dns_record_free);
    for (guint i = 0; st == MS_RESOLVE_OK && i < recs->len; i++) {
        const MsDnsRecord *rec = g_ptr_array_index(recs, i);
        if (rec->type == MS_DNS_TYPE_TLSA)
            g_ptr_array_add(a->records, ms_dns_record_copy(rec));
    }
    a->secure = signed_name(m, l->host);
    a->at = ms_engine_now(m->engine);
    g_hash_table_replace(answers_of(m, e->server), g_ascii_strdown(l->host, -1), a);
    void (*then)(MsMail *, MsMailQueueEntry *) = l->then;
    dane_lookup_free(l);
    then(m, e);
}

gboolean
ms__tls_dane_wait(MsMail *m, MsMailQueueEntry *e, MsHostId peer,
                  void (*then)(MsMail *, MsMailQueueEntry *))
{
    MsMailServer *s = e->server;
    if (!m->pki || !s->policy.tls || s->policy.smtp_tls_level != MS_MTA_TLS_DANE || !s->resolver ||
        peer == MS_NO_HOST_ID)
        return FALSE;
    const char *host = ms_net_host_name(m->net, peer);
    if (fresh_answer(m, s, host))
        return FALSE;
    DaneLookup *l = g_new0(DaneLookup, 1);
    ms__live_add(m, &l->live, l, (GDestroyNotify) dane_lookup_free);
    l->mail = m;
    l->entry = e;
    l->host = g_strdup(host);
    l->then = then;
    g_autofree char *owner = ms_tls_dane_owner(host, MS_SMTP_PORT);
    ms__mail_note(m, s->host, MS_HOST_WORLD, e->message,
                  "%s uses DANE: before connecting it asks DNS for the TLSA records of %s "
                  "(RFC 7672 2.2.3)",
                  s->hostname, owner);
    ms_resolver_lookup(s->resolver, owner, MS_DNS_TYPE_TLSA, e->message, on_tlsa, l);
    return TRUE;
}

/* Usable for SMTP (RFC 7672 3.1): DANE-TA(2) or DANE-EE(3), selector 0/1,
 * matching 0/1/2 with a digest of the right length. */
static gboolean
usable(const MsDnsRecord *r)
{
    const MsDnsTlsa *t = &r->rdata.tlsa;
    if (t->usage != MS_TLS_DANE_DANE_TA && t->usage != MS_TLS_DANE_DANE_EE)
        return FALSE;
    if (t->selector > MS_TLS_DANE_SEL_SPKI)
        return FALSE;
    gsize n = t->data ? g_bytes_get_size(t->data) : 0;
    return (t->matching_type == MS_TLS_DANE_MATCH_FULL && n > 0) ||
           (t->matching_type == MS_TLS_DANE_MATCH_SHA256 && n == 32) ||
           (t->matching_type == MS_TLS_DANE_MATCH_SHA512 && n == 64);
}

void
ms__tls_dane_apply(MsMailTlsAttempt *t, MsSmtpTlsLevel *level, gboolean *verify)
{
    MsMail *m = t->mail;
    MsMailServer *s = t->entry->server;
    /* Postfix's "dane" without usable TLSA records is "may" */
    *level = MS_SMTP_TLS_MAY;
    *verify = FALSE;
    if (t->peer == MS_NO_HOST_ID)
        return;
    const char *host = ms_net_host_name(m->net, t->peer);
    MsMailDaneAnswer *a = fresh_answer(m, s, host);
    if (!a || a->records->len == 0) {
        ms__mail_note(m, s->host, t->peer, t->entry->message,
                      "%s publishes no TLSA record: DANE does not apply, and %s uses "
                      "opportunistic TLS",
                      host, s->hostname);
        return;
    }
    if (!a->secure) {
        ms__mail_note(m, s->host, t->peer, t->entry->message,
                      "the TLSA records of %s come from a zone without DNSSEC: anyone who can "
                      "forge DNS answers could have written them, so %s ignores them (RFC 7672 "
                      "2.2) and uses opportunistic TLS",
                      host, s->hostname);
        return;
    }
    *level = MS_SMTP_TLS_ENCRYPT;
    t->dane_required = TRUE;
    guint n_usable = 0;
    for (guint i = 0; i < a->records->len; i++)
        n_usable += usable(g_ptr_array_index(a->records, i));
    if (n_usable == 0) {
        ms__mail_note(m, s->host, t->peer, t->entry->message,
                      "%s has signed TLSA records, none usable for SMTP: %s requires TLS but "
                      "cannot authenticate the server (RFC 7672 2.2)",
                      host, s->hostname);
        return;
    }
    t->dane = g_ptr_array_ref(a->records);
    g_autofree char *first = ms_tls_dane_tlsa_to_string(
        &((const MsDnsRecord *) g_ptr_array_index(a->records, 0))->rdata.tlsa);
    ms__mail_note(m, s->host, t->peer, t->entry->message,
                  "%s has %u signed TLSA record%s (%s%s): %s requires TLS and a certificate "
                  "that matches %s",
                  host, a->records->len, a->records->len == 1 ? "" : "s", first,
                  a->records->len > 1 ? ", ..." : "", s->hostname,
                  n_usable == 1 ? "it" : "one of them");
}

static gboolean
dane_verify(GBytes *const *chain, guint n_certs, const char *server_name, guint8 *alert, char **why,
            gpointer data)
{
    MsMailTlsAttempt *t = data;
    MsMail *m = t->mail;
    const char *names[] = { server_name, NULL };
    gint64 now = MS_MAIL_EPOCH_UNIX + ms_engine_now(m->engine) / MS_TIME_S;
    g_autofree char *reason = NULL;
    MsTlsDaneResult r = ms_tls_dane_check(chain, n_certs, t->dane, names, now, NULL, &reason);
    if (!t->dane_told) {
        t->dane_told = TRUE;
        ms__mail_note(m, t->entry->server->host, t->peer, t->entry->message,
                      "DANE check of %s: %s (%s)", server_name ? server_name : "?",
                      ms_tls_dane_result_to_string(r), reason ? reason : "");
    }
    if (r == MS_TLS_DANE_AUTHENTICATED || r == MS_TLS_DANE_UNUSABLE)
        return TRUE;
    if (alert)
        *alert = 42; /* bad_certificate, RFC 8446 6.2 */
    if (why)
        *why = g_strdup_printf("DANE: %s", reason ? reason : "no TLSA record matched");
    return FALSE;
}

void
ms__tls_attempt_tls_started(MsMailTlsAttempt *t, MsMailTls *tls)
{
    if (t && t->dane && tls)
        ms__mail_tls_set_verifier(tls, dane_verify, t);
}

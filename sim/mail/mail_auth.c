/* Sender authentication at a receiving server (see
 * include/mailsim/mail_auth.h): the per-server settings, the checks made on
 * mail from outside, DKIM signing at a domain's outbound server, and the
 * ledger and counts the expectations and statistics read.
 *
 * Role in the data flow: the SMTP service (mail_smtpd.c) asks here whether
 * a client is on a blocklist (before its greeting, or at its first RCPT
 * with dnsbl-at="rcpt"), and hands each message from outside to the
 * checks before it replies to the end of DATA; the acceptance then stores
 * the message with the Authentication-Results header the checks wrote. */
#include "mail_auth-private.h"
#include "mailsim/auth_results.h"
#include "mailsim/dmarc.h"
#include "mailsim/dns_resolver.h"
#include "mailsim/psl.h"
#include "mailsim/spf.h"

#include <string.h>

/* ---- the state ----------------------------------------------------------- */

/* The ledger: one entry per check a server made on a message, in one
 * array in the order made; each entry links to the message's previous one
 * and `ledgers` maps a message to its latest (index + 1). Small: a fixed
 * record per check, no allocation per message. */
typedef struct {
    MsMailAuthLedger l;
    guint32 message;
    guint32 prev; /* index + 1 of the message's previous check, 0 for none */
} LedgerEntry;


MsMailAuth *
ms__auth_get(MsMail *m)
{
    if (!m->auth) {
        MsMailAuth *a = g_new0(MsMailAuth, 1);
        a->servers = g_ptr_array_new();
        a->ledgers = g_hash_table_new(g_direct_hash, g_direct_equal);
        a->ledger = g_array_new(FALSE, TRUE, sizeof(LedgerEntry));
        a->report_rows = g_array_new(FALSE, TRUE, sizeof(MsMailAuthReportRow));
        a->report_keys = g_array_new(FALSE, TRUE, sizeof(MsAuthRowKey));
        a->queued = g_array_new(FALSE, TRUE, sizeof(MsAuthQueued));
        a->listings = g_array_new(FALSE, TRUE, sizeof(MsAuthListing));
        a->dnsbl_servers = g_array_new(FALSE, FALSE, sizeof(guint));
        a->pending = g_ptr_array_new_with_free_func(ms__auth_direct_free);
        m->auth = a;
    }
    return m->auth;
}

MsMailAuthServer *
ms__auth_server(MsMail *m, const MsMailServer *s)
{
    if (!m->auth || s->index >= m->auth->servers->len)
        return NULL;
    return g_ptr_array_index(m->auth->servers, s->index);
}

MsMailAuthLedger *
ms__auth_ledger_add(MsMail *m, guint32 message)
{
    MsMailAuth *a = ms__auth_get(m);
    LedgerEntry e = { 0 };
    e.l.where = MS_NO_HOST_ID;
    e.l.at = ms_engine_now(m->engine);
    e.message = message;
    e.prev = GPOINTER_TO_UINT(g_hash_table_lookup(a->ledgers, GUINT_TO_POINTER(message)));
    g_array_append_val(a->ledger, e);
    g_hash_table_insert(a->ledgers, GUINT_TO_POINTER(message), GUINT_TO_POINTER(a->ledger->len));
    return &g_array_index(a->ledger, LedgerEntry, a->ledger->len - 1).l;
}

guint
ms__auth_ledger_len(const MsMail *m)
{
    return m->auth ? m->auth->ledger->len : 0;
}

const MsMailAuthLedger *
ms__auth_ledger_entry(const MsMail *m, guint i, guint32 *message)
{
    const LedgerEntry *e = &g_array_index(m->auth->ledger, LedgerEntry, i);
    *message = e->message;
    return &e->l;
}

void
ms__auth_ledger_reset(MsMail *m)
{
    if (!m->auth)
        return;
    g_array_set_size(m->auth->ledger, 0);
    g_hash_table_remove_all(m->auth->ledgers);
}

/* The entry index + 1 of message's latest check, 0 for none. */
static guint32
ledger_last(const MsMail *m, guint32 message)
{
    return m->auth ? GPOINTER_TO_UINT(g_hash_table_lookup(m->auth->ledgers,
                                                          GUINT_TO_POINTER(message)))
                   : 0;
}

static void
ledger_blank(MsMailAuthLedger *out)
{
    memset(out, 0, sizeof *out);
    out->where = MS_NO_HOST_ID;
}

void
ms_mail_auth_ledger(const MsMail *m, guint32 message, MsMailAuthLedger *out)
{
    g_return_if_fail(m != NULL && out != NULL);
    ledger_blank(out);
    guint32 k = ledger_last(m, message);
    if (k)
        *out = g_array_index(m->auth->ledger, LedgerEntry, k - 1).l;
}

gboolean
ms_mail_auth_ledger_at(const MsMail *m, guint32 message, MsHostId where, MsMailAuthLedger *out)
{
    g_return_val_if_fail(m != NULL && out != NULL, FALSE);
    ledger_blank(out);
    for (guint32 k = ledger_last(m, message); k;) {
        const LedgerEntry *e = &g_array_index(m->auth->ledger, LedgerEntry, k - 1);
        if (e->l.where == where) {
            *out = e->l;
            return TRUE;
        }
        k = e->prev;
    }
    return FALSE;
}

guint
ms_mail_auth_n_ledgers(const MsMail *m, guint32 message)
{
    g_return_val_if_fail(m != NULL, 0);
    guint n = 0;
    for (guint32 k = ledger_last(m, message); k;
         k = g_array_index(m->auth->ledger, LedgerEntry, k - 1).prev)
        n++;
    return n;
}

gboolean
ms_mail_auth_ledger_nth(const MsMail *m, guint32 message, guint i, MsMailAuthLedger *out)
{
    g_return_val_if_fail(m != NULL && out != NULL, FALSE);
    ledger_blank(out);
    guint n = ms_mail_auth_n_ledgers(m, message);
    if (i >= n)
        return FALSE;
    guint32 k = ledger_last(m, message);
    for (guint skip = n - 1 - i; skip; skip--) /* the chain runs newest first */
        k = g_array_index(m->auth->ledger, LedgerEntry, k - 1).prev;
    *out = g_array_index(m->auth->ledger, LedgerEntry, k - 1).l;
    return TRUE;
}

guint
ms_mail_auth_n_report_rows(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, 0);
    return m->auth ? m->auth->report_rows->len : 0;
}

const MsMailAuthReportRow *
ms_mail_auth_report_row(const MsMail *m, guint i)
{
    g_return_val_if_fail(m != NULL && m->auth && i < m->auth->report_rows->len, NULL);
    return &g_array_index(m->auth->report_rows, MsMailAuthReportRow, i);
}

MsAuthRowKey
ms__auth_report_key(const MsMail *m, guint i)
{
    return g_array_index(m->auth->report_keys, MsAuthRowKey, i);
}

void
ms__auth_report_add(MsMail *m, const MsMailAuthReportRow *row, MsAuthRowKey key)
{
    MsMailAuth *a = ms__auth_get(m);
    g_array_append_val(a->report_rows, *row);
    g_array_append_val(a->report_keys, key);
}

void
ms__auth_report_reset(MsMail *m)
{
    if (!m->auth)
        return;
    g_array_set_size(m->auth->report_rows, 0);
    g_array_set_size(m->auth->report_keys, 0);
}

/* The order key of the running event, with its time. */
static MsAuthRowKey
event_key(MsMail *m, MsTime *at)
{
    MsAuthRowKey key;
    ms_engine_current_key(m->engine, &key.src, &key.seq);
    *at = ms_engine_now(m->engine);
    return key;
}

gboolean
ms__auth_dnsbl_domain(MsMail *m, const char *rcpt)
{
    if (!m->auth)
        return FALSE;
    const char *domain = ms__address_domain(rcpt);
    const GArray *d = m->auth->dnsbl_servers; /* few: O(1) per recipient in practice */
    for (guint i = 0; i < d->len; i++)
        if (ms__server_is_local(g_ptr_array_index(m->servers, g_array_index(d, guint, i)), domain))
            return TRUE;
    return FALSE;
}

void
ms__auth_note_queued(MsMail *m, guint32 message, const char *rcpt, MsHostId host)
{
    if (!m->partitioned || !ms__auth_dnsbl_domain(m, rcpt))
        return;
    const MsRcptRecord *rr = ms__mail_rcpt(m, message, rcpt);
    MsAuthQueued q = { message, rr ? rr->address : ms__mail_text(m, rcpt), host, 0, { 0 } };
    q.key = event_key(m, &q.at);
    g_array_append_val(m->auth->queued, q);
}

guint
ms__auth_queued_len(const MsMail *m)
{
    return m->auth ? m->auth->queued->len : 0;
}

const MsAuthQueued *
ms__auth_queued_entry(const MsMail *m, guint i)
{
    return &g_array_index(m->auth->queued, MsAuthQueued, i);
}

guint
ms__auth_listings_len(const MsMail *m)
{
    return m->auth ? m->auth->listings->len : 0;
}

const MsAuthListing *
ms__auth_listing(const MsMail *m, guint i)
{
    return &g_array_index(m->auth->listings, MsAuthListing, i);
}

void
ms__auth_dnsbl_log_reset(MsMail *m)
{
    if (!m->auth)
        return;
    g_array_set_size(m->auth->queued, 0);
    g_array_set_size(m->auth->listings, 0);
}

gboolean
ms_mail_auth_enabled(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, FALSE);
    return m->auth != NULL;
}

void
ms_mail_auth_get_stats(const MsMail *m, MsMailAuthStats *out)
{
    g_return_if_fail(m != NULL && out != NULL);
    if (m->auth)
        *out = m->auth->stats;
    else
        memset(out, 0, sizeof *out);
}

const char *
ms_mail_auth_result_name(guint i)
{
    static const char *const names[] = { "none",    "pass",      "fail",     "softfail",
                                         "neutral", "temperror", "permerror" };
    return i < G_N_ELEMENTS(names) ? names[i] : "?";
}

static void
server_free(gpointer p)
{
    MsMailAuthServer *as = p;
    if (!as)
        return;
    g_strfreev((char **) as->set.dnsbl);
    if (as->aliases)
        g_ptr_array_unref(as->aliases);
    if (as->keys)
        g_ptr_array_unref(as->keys);
    g_free(as);
}

void
ms__auth_free(MsMailAuth *a)
{
    if (!a)
        return;
    for (guint i = 0; i < a->servers->len; i++)
        server_free(g_ptr_array_index(a->servers, i));
    g_ptr_array_unref(a->servers);
    g_hash_table_destroy(a->ledgers);
    g_array_free(a->ledger, TRUE);
    g_array_free(a->report_rows, TRUE);
    g_array_free(a->report_keys, TRUE);
    g_array_free(a->queued, TRUE);
    g_array_free(a->listings, TRUE);
    g_array_free(a->dnsbl_servers, TRUE);
    g_ptr_array_unref(a->pending);
    if (a->checks && a->checks_free)
        a->checks_free(a->checks);
    g_free(a);
}

MsMailAuthServer *
ms__auth_server_get(MsMail *m, guint server)
{
    MsMailAuth *a = ms__auth_get(m);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    MsMailAuthServer *as = ms__auth_server(m, s);
    if (!as) {
        as = g_new0(MsMailAuthServer, 1);
        if (a->servers->len <= server)
            g_ptr_array_set_size(a->servers, (gint) server + 1);
        g_ptr_array_index(a->servers, server) = as;
    }
    return as;
}

void
ms_mail_auth_configure(MsMail *m, guint server, const MsMailAuthSettings *set)
{
    g_return_if_fail(m != NULL && server < m->servers->len && set != NULL);
    MsMailAuthServer *as = ms__auth_server_get(m, server);
    g_strfreev((char **) as->set.dnsbl);
    as->set = *set;
    as->set.dnsbl =
        set->dnsbl && set->dnsbl[0] ? (const char *const *) g_strdupv((char **) set->dnsbl) : NULL;
    GArray *d = m->auth->dnsbl_servers;
    for (guint i = 0; i < d->len; i++)
        if (g_array_index(d, guint, i) == server)
            g_array_remove_index(d, i--);
    if (as->set.dnsbl)
        g_array_append_val(d, server);
}

/* ---- DKIM keys and signing ----------------------------------------------- */

struct _MsMailAuthKey {
    char *domain;
    char *selector;
    MsDkimSigningKey *key;
};

static void
key_free(gpointer p)
{
    MsMailAuthKey *k = p;
    g_free(k->domain);
    g_free(k->selector);
    ms_dkim_signing_key_free(k->key);
    g_free(k);
}

void
ms_mail_auth_add_key(MsMail *m, guint server, const char *domain, const char *selector,
                     MsDkimSigningKey *key)
{
    g_return_if_fail(m != NULL && server < m->servers->len && domain && selector && key);
    MsMailAuthServer *as = ms__auth_server_get(m, server);
    if (!as->keys)
        as->keys = g_ptr_array_new_with_free_func(key_free);
    MsMailAuthKey *k = g_new0(MsMailAuthKey, 1);
    k->domain = g_ascii_strdown(domain, -1);
    k->selector = g_strdup(selector);
    k->key = key;
    g_ptr_array_add(as->keys, k);
}

/* The domain of the address in a From: value ("Name <a@b>" or "a@b"),
 * lower case, or NULL. Caller frees. */
static char *
from_domain_of(GBytes *data)
{
    gsize n;
    const char *d = g_bytes_get_data(data, &n);
    g_autofree char *v = ms__mail_header_value(d, n, "From");
    if (!v)
        return NULL;
    const char *lt = strrchr(v, '<');
    const char *start = lt ? lt + 1 : v;
    const char *end = lt ? strchr(start, '>') : start + strlen(start);
    if (!end)
        return NULL;
    g_autofree char *addr = g_strstrip(g_strndup(start, (gsize) (end - start)));
    const char *at = strrchr(addr, '@');
    return at && at[1] ? g_ascii_strdown(at + 1, -1) : NULL;
}

GBytes *
ms__auth_sign(MsMail *m, MsMailServer *s, guint32 message, GBytes *data)
{
    MsMailAuthServer *as = m->auth ? ms__auth_server(m, s) : NULL;
    if (!as || !as->keys || as->keys->len == 0)
        return g_bytes_ref(data);
    g_autofree char *dom = from_domain_of(data);
    const MsMailAuthKey *k = NULL;
    for (guint i = 0; dom && i < as->keys->len && !k; i++) {
        const MsMailAuthKey *x = g_ptr_array_index(as->keys, i);
        if (strcmp(x->domain, dom) == 0)
            k = x;
    }
    if (!k)
        return g_bytes_ref(data);
    MsDkimSignOptions opt;
    ms_dkim_sign_options_init(&opt, k->domain, k->selector);
    gsize n;
    const char *d = g_bytes_get_data(data, &n);
    g_autoptr(GError) err = NULL;
    g_autofree char *hdr = ms_dkim_sign(k->key, &opt, d, n, &err);
    if (!hdr) {
        ms__mail_note(m, s->host, MS_HOST_WORLD, message, "%s cannot sign the message: %s",
                      s->hostname, err->message);
        return g_bytes_ref(data);
    }
    m->auth->stats.signed_messages++;
    ms__mail_note(m, s->host, MS_HOST_WORLD, message,
                  "%s signs the message with DKIM (d=%s, s=%s, %s, relaxed/relaxed): the "
                  "signature covers the From:, To:, Subject: and body as they are now",
                  s->hostname, k->domain, k->selector,
                  ms_dkim_alg_to_string(ms_dkim_signing_key_alg(k->key)));
    return ms__prepend_header(data, hdr);
}

/* ---- asking the DNS -------------------------------------------------------- */

/* The answer texts of records, in the forms the SPF and DMARC modules read. */
static GPtrArray *
answer_texts(GPtrArray *records, guint16 type)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; records && i < records->len; i++) {
        const MsDnsRecord *r = g_ptr_array_index(records, i);
        if (r->type != type)
            continue;
        if (type == MS_DNS_TYPE_TXT) {
            g_autoptr(GBytes) j = ms_dns_record_txt_join(r);
            g_ptr_array_add(out, g_strndup(g_bytes_get_data(j, NULL), g_bytes_get_size(j)));
        } else if (type == MS_DNS_TYPE_A) {
            char ip[MS_IPV4_STRLEN];
            g_ptr_array_add(out, g_strdup(ms_ipv4_format(r->rdata.a, ip)));
        } else if (type == MS_DNS_TYPE_MX) {
            g_ptr_array_add(out,
                            g_strdup_printf("%u %s", r->rdata.mx.preference, r->rdata.mx.exchange));
        }
    }
    g_ptr_array_add(out, NULL);
    return out;
}

static MsSpfAnswer
answer_kind(MsResolveStatus st, guint n)
{
    switch (st) {
    case MS_RESOLVE_OK:
        return n ? MS_SPF_ANSWER_RECORDS : MS_SPF_ANSWER_NODATA;
    case MS_RESOLVE_NODATA:
        return MS_SPF_ANSWER_NODATA;
    case MS_RESOLVE_NXDOMAIN:
        return MS_SPF_ANSWER_NXDOMAIN;
    case MS_RESOLVE_TIMEOUT:
    case MS_RESOLVE_SERVFAIL:
    default:
        return MS_SPF_ANSWER_TEMPFAIL;
    }
}

/* ---- the checks of one message, and of one client ------------------------ */

typedef enum { STEP_DNSBL, STEP_SPF, STEP_DKIM, STEP_DMARC, STEP_DONE } Step;

/* A parsed key a server keeps for the TTL of its record (as OpenDKIM's
 * cache does): later messages signed with it need no query at all. */
typedef struct {
    MsDkimKey *key; /* NULL: the name had no usable key (the check asks again) */
    MsTime until;
} CachedKey;

typedef struct {
    GHashTable *keys; /* "server index/query name" -> CachedKey*: looked up, never iterated */
    MsPsl *psl;
    GHashTable *rngs; /* server index -> MsRng* (DMARC pct draws): looked up, never iterated */
} Checks;

static void
cached_key_free(gpointer p)
{
    CachedKey *c = p;
    ms_dkim_key_free(c->key);
    g_free(c);
}

static void
checks_free(gpointer p)
{
    Checks *c = p;
    g_hash_table_destroy(c->keys);
    g_hash_table_destroy(c->rngs);
    ms_psl_free(c->psl);
    g_free(c);
}

static Checks *
checks_of(MsMail *m)
{
    MsMailAuth *a = ms__auth_get(m);
    if (!a->checks) {
        Checks *c = g_new0(Checks, 1);
        c->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cached_key_free);
        c->rngs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        c->psl = ms_psl_new_default();
        a->checks = c;
        a->checks_free = checks_free;
    }
    return a->checks;
}

/* What reads the answer to a check's DNS question (on_answer calls it
 * once the check is known to be still wanted). */
typedef void (*AnswerFunc)(MsAuthCheck *c, MsResolveStatus st, GPtrArray *records);

struct _MsAuthCheck {
    MsLive live;
    MsMail *mail;
    MsMailServer *server;
    MsAuthCheckDone done; /* NULL once cancelled: the answer in flight is dropped */
    gpointer done_data;
    Step step;
    guint32 message;
    MsHostId peer;
    guint32 peer_addr;
    char ip[MS_IPV4_STRLEN];
    char *helo, *mail_from, *rcpt_to;
    GBytes *data;
    gboolean in_flight; /* a resolver callback will come */
    AnswerFunc answer;  /* what reads its answer */
    /* DNSBL */
    guint zone;
    char *listed; /* the zone that listed the client */
    /* SPF */
    MsSpfCheck *spf;
    MsSpfResult spf_result;
    char *spf_query;
    /* DKIM */
    MsDkimVerifier *dkim;
    guint dkim_next;
    char *key_query;
    /* DMARC */
    char *from_domain;
    MsDmarcLookup *dmarc;
};

static void
check_free(MsAuthCheck *c)
{
    ms__live_remove(c->mail, &c->live);
    g_free(c->helo);
    g_free(c->mail_from);
    g_free(c->rcpt_to);
    if (c->data)
        g_bytes_unref(c->data);
    g_free(c->listed);
    ms_spf_check_free(c->spf);
    g_free(c->spf_query);
    ms_dkim_verifier_free(c->dkim);
    g_free(c->key_query);
    g_free(c->from_domain);
    ms_dmarc_lookup_free(c->dmarc);
    g_free(c);
}

void
ms__auth_check_cancel(MsAuthCheck *c)
{
    if (!c)
        return;
    c->done = NULL;
    if (!c->in_flight)
        check_free(c);
}

static void advance(MsAuthCheck *c);

/* Every answer lands here first: a check cancelled meanwhile is freed now,
 * else the answer goes to the step that asked. */
static void
on_answer(MsResolver *r, MsResolveStatus st, GPtrArray *records, GPtrArray *additional,
          gboolean from_cache, gpointer ud)
{
    MsAuthCheck *c = ud;
    (void) r;
    (void) additional;
    (void) from_cache;
    c->in_flight = FALSE;
    if (!c->done) {
        check_free(c);
        return;
    }
    c->answer(c, st, records);
}

static void
lookup(MsAuthCheck *c, const char *name, guint16 type, AnswerFunc answer)
{
    c->in_flight = TRUE;
    c->answer = answer;
    if (!c->server->resolver) { /* nobody to ask: a temporary failure */
        on_answer(NULL, MS_RESOLVE_SERVFAIL, NULL, NULL, FALSE, c);
        return;
    }
    ms_resolver_lookup(c->server->resolver, name, type, c->message, on_answer, c);
}

/* -- DNSBL (RFC 5782 2.1): "<d.c.b.a>.<zone>" A; any answer lists -- */

static void mark_listed(MsAuthCheck *c, const char *zone);

static void
on_dnsbl(MsAuthCheck *c, MsResolveStatus st, GPtrArray *records)
{
    MsMailAuthServer *as = ms__auth_server(c->mail, c->server);
    const char *zone = as->set.dnsbl[c->zone];
    MsMailAuth *a = c->mail->auth;
    if (st == MS_RESOLVE_OK && records && records->len > 0) {
        const MsDnsRecord *rec = g_ptr_array_index(records, 0);
        char code[MS_IPV4_STRLEN];
        ms_ipv4_format(rec->rdata.a, code);
        c->listed = g_strdup(zone);
        a->stats.dnsbl_listed++;
        mark_listed(c, zone);
        ms__mail_note(c->mail, c->server->host, c->peer, 0,
                      "DNSBL: %s lists %s (%s answers %s): %s will refuse this client", zone, c->ip,
                      zone, code, c->server->hostname);
        c->step = STEP_DONE;
    } else {
        ms__mail_note(c->mail, c->server->host, c->peer, 0, "DNSBL: %s does not list %s (%s)", zone,
                      c->ip,
                      st == MS_RESOLVE_NXDOMAIN ? "no such name" : ms_resolve_status_to_string(st));
        c->zone++;
        if (!as->set.dnsbl[c->zone]) {
            a->stats.dnsbl_clean++;
            c->step = STEP_DONE;
        }
    }
    advance(c);
}

/* The session knows no message before DATA: the ledger marks the messages
 * the listed client holds queued for this server's domains (what it came
 * to deliver). O(messages), once per refused client. A partitioned run
 * keeps the listing instead, for the merge (mail_merge.c). */
/* Whether message r has a recipient queued at `peer` for a domain of
 * server s: what that client came to deliver. */
static gboolean
brought_by(MsMail *m, const MsMessageRecord *r, MsHostId peer, const MsMailServer *s)
{
    for (guint i = 0; i < r->rcpts->len; i++) {
        const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, i);
        if (rr->state == MS_RCPT_QUEUED && rr->where == peer &&
            ms__server_is_local(s, ms__address_domain(rr->address)))
            return TRUE;
    }
    (void) m;
    return FALSE;
}

static void
mark_listed(MsAuthCheck *c, const char *zone)
{
    MsMail *m = c->mail;
    (void) zone;
    if (c->peer == MS_NO_HOST_ID)
        return;
    if (m->partitioned) {
        /* The client may run on another part, whose queue this part does
         * not see: the merge marks what it held (mail_merge.c). */
        MsAuthListing l = { c->server->host, c->peer, 0, { 0 }, ms__auth_ledger_len(m) };
        l.key = event_key(m, &l.at);
        g_array_append_val(m->auth->listings, l);
        return;
    }
    guint32 id = 0;
    for (const MsMessageRecord *r; (r = ms__mail_record_next(m, &id));) {
        if (!brought_by(m, r, c->peer, c->server))
            continue;
        MsMailAuthLedger *l = ms__auth_ledger_add(m, id);
        l->checked = TRUE;
        l->where = c->server->host;
        g_strlcpy(l->dnsbl, "listed", sizeof l->dnsbl);
    }
}

/* The message the blocklist question is tagged with in the trace (so the
 * pictures show it in the message's journey): the first the client holds
 * queued for this server, or 0. O(messages), once per client session of
 * a server that consults a blocklist, and only when something traces. */
static guint32
dnsbl_message(MsMail *m, const MsMailServer *s, MsHostId peer)
{
    if (peer == MS_NO_HOST_ID)
        return 0;
    guint32 id = 0;
    for (const MsMessageRecord *r; (r = ms__mail_record_next(m, &id));)
        if (brought_by(m, r, peer, s))
            return id;
    return 0;
}

static void
dnsbl_ask(MsAuthCheck *c)
{
    MsMailAuthServer *as = ms__auth_server(c->mail, c->server);
    guint32 x = c->peer_addr;
    g_autofree char *name = g_strdup_printf("%u.%u.%u.%u.%s", x & 0xff, (x >> 8) & 0xff,
                                            (x >> 16) & 0xff, x >> 24, as->set.dnsbl[c->zone]);
    lookup(c, name, MS_DNS_TYPE_A, on_dnsbl);
}

/* -- SPF (RFC 7208) -- */

static void spf_ask(MsAuthCheck *c);

static guint16
spf_dns_type(MsSpfQueryType type)
{
    return type == MS_SPF_QUERY_TXT  ? MS_DNS_TYPE_TXT
           : type == MS_SPF_QUERY_MX ? MS_DNS_TYPE_MX
           : type == MS_SPF_QUERY_A  ? MS_DNS_TYPE_A
                                     : 28; /* AAAA (RFC 3596) */
}

static void
on_spf(MsAuthCheck *c, MsResolveStatus st, GPtrArray *records)
{
    const char *name;
    MsSpfQueryType type;
    if (ms_spf_check_next_query(c->spf, &name, &type)) {
        g_autoptr(GPtrArray) texts = answer_texts(records, spf_dns_type(type));
        ms_spf_check_answer(c->spf, answer_kind(st, texts->len - 1),
                            (const char *const *) texts->pdata, texts->len - 1);
    }
    spf_ask(c);
}

static void
spf_ask(MsAuthCheck *c)
{
    const char *name;
    MsSpfQueryType type;
    if (ms_spf_check_next_query(c->spf, &name, &type)) {
        g_free(c->spf_query);
        c->spf_query = g_strdup(name);
        lookup(c, c->spf_query, spf_dns_type(type), on_spf);
        return;
    }
    c->spf_result = ms_spf_check_result(c->spf);
    MsMailAuth *a = c->mail->auth;
    guint idx = c->spf_result == MS_SPF_RESULT_NONE        ? 0
                : c->spf_result == MS_SPF_RESULT_PASS      ? 1
                : c->spf_result == MS_SPF_RESULT_FAIL      ? 2
                : c->spf_result == MS_SPF_RESULT_SOFTFAIL  ? 3
                : c->spf_result == MS_SPF_RESULT_NEUTRAL   ? 4
                : c->spf_result == MS_SPF_RESULT_TEMPERROR ? 5
                                                           : 6;
    a->stats.spf[idx]++;
    const char *dom = ms_spf_check_domain(c->spf);
    const char *why = ms_spf_check_explanation(c->spf);
    const char *res = ms_spf_result_to_string(c->spf_result);
    const char *helo =
        ms_spf_check_is_helo(c->spf) ? " (the HELO name: the envelope sender is empty)" : "";
    if (c->spf_result == MS_SPF_RESULT_PASS)
        ms__mail_note(c->mail, c->server->host, c->peer, c->message,
                      "SPF pass: %s may send for %s%s (%s)", c->ip, dom, helo, why);
    else if (c->spf_result == MS_SPF_RESULT_FAIL || c->spf_result == MS_SPF_RESULT_SOFTFAIL)
        ms__mail_note(c->mail, c->server->host, c->peer, c->message,
                      "SPF %s: %s is not in %s's record%s (%s)", res, c->ip, dom, helo, why);
    else
        ms__mail_note(c->mail, c->server->host, c->peer, c->message, "SPF %s for %s%s: %s", res,
                      dom ? dom : "?", helo, why);
    c->step = STEP_DKIM;
    advance(c);
}

/* -- DKIM (RFC 6376 6) -- */

static void dkim_ask(MsAuthCheck *c);

static char *
key_cache_name(const MsAuthCheck *c, const char *q)
{
    return g_strdup_printf("%u/%s", c->server->index, q);
}

static void
on_key(MsAuthCheck *c, MsResolveStatus st, GPtrArray *records)
{
    g_autoptr(GPtrArray) texts = answer_texts(records, MS_DNS_TYPE_TXT);
    guint i = c->dkim_next;
    if (st == MS_RESOLVE_OK && texts->len > 1) {
        const char *txt = texts->pdata[0];
        /* The record is parsed once: the key verifies this message and is
         * kept for the record's TTL; a record that does not parse goes to
         * the verifier as text, which says why. */
        MsDkimKey *key = ms_dkim_key_parse(txt, strlen(txt), NULL);
        if (key) {
            ms_dkim_verifier_answer_key(c->dkim, i, key);
            const MsDnsRecord *rec = g_ptr_array_index(records, 0);
            CachedKey *ck = g_new0(CachedKey, 1);
            ck->key = key;
            ck->until = ms_engine_now(c->mail->engine) + (MsTime) rec->ttl * MS_TIME_S;
            g_hash_table_replace(checks_of(c->mail)->keys, key_cache_name(c, c->key_query), ck);
        } else {
            ms_dkim_verifier_answer(c->dkim, i, MS_DKIM_DNS_OK, txt, strlen(txt));
        }
    } else {
        MsDkimDnsStatus ds = (st == MS_RESOLVE_TIMEOUT || st == MS_RESOLVE_SERVFAIL)
                                 ? MS_DKIM_DNS_TEMPFAIL
                                 : MS_DKIM_DNS_NONE;
        ms_dkim_verifier_answer(c->dkim, i, ds, NULL, 0);
    }
    c->dkim_next++;
    dkim_ask(c);
}

static void
dkim_ask(MsAuthCheck *c)
{
    Checks *ck = checks_of(c->mail);
    guint n = ms_dkim_verifier_count(c->dkim);
    for (; c->dkim_next < n; c->dkim_next++) {
        const char *q = ms_dkim_verifier_query(c->dkim, c->dkim_next);
        if (!q)
            continue;
        g_autofree char *key = key_cache_name(c, q);
        CachedKey *hit = g_hash_table_lookup(ck->keys, key);
        if (hit && hit->until > ms_engine_now(c->mail->engine)) {
            ms_dkim_verifier_answer_key(c->dkim, c->dkim_next, hit->key);
            continue;
        }
        g_free(c->key_query);
        c->key_query = g_strdup(q);
        lookup(c, c->key_query, MS_DNS_TYPE_TXT, on_key);
        return;
    }
    MsMailAuth *a = c->mail->auth;
    MsDkimResult best = MS_DKIM_RESULT_NONE;
    for (guint i = 0; i < n; i++) {
        const char *why = NULL;
        MsDkimResult r = ms_dkim_verifier_result(c->dkim, i, &why);
        const MsDkimSignature *sig = ms_dkim_verifier_signature(c->dkim, i);
        if (r == MS_DKIM_RESULT_PASS)
            ms__mail_note(c->mail, c->server->host, c->peer, c->message,
                          "DKIM pass: the signature of %s (selector %s) verifies: what it "
                          "signed arrived unchanged",
                          sig->domain, sig->selector);
        else
            ms__mail_note(c->mail, c->server->host, c->peer, c->message,
                          "DKIM %s: the signature of %s%s%s%s does not verify: %s",
                          ms_dkim_result_to_string(r), sig ? sig->domain : "(unreadable)",
                          sig ? " (selector " : "", sig ? sig->selector : "", sig ? ")" : "",
                          why ? why : "no reason given");
        if (best != MS_DKIM_RESULT_PASS &&
            (best == MS_DKIM_RESULT_NONE || r == MS_DKIM_RESULT_PASS))
            best = r;
    }
    if (n == 0)
        ms__mail_note(c->mail, c->server->host, c->peer, c->message,
                      "DKIM none: the message carries no DKIM-Signature");
    a->stats.dkim[best == MS_DKIM_RESULT_NONE        ? 0
                  : best == MS_DKIM_RESULT_PASS      ? 1
                  : best == MS_DKIM_RESULT_FAIL      ? 2
                  : best == MS_DKIM_RESULT_NEUTRAL   ? 4
                  : best == MS_DKIM_RESULT_TEMPERROR ? 5
                                                     : 6]++;
    c->step = STEP_DMARC;
    advance(c);
}

/* -- DMARC (RFC 7489 6.6) -- */

static void dmarc_ask(MsAuthCheck *c);

static void
on_dmarc(MsAuthCheck *c, MsResolveStatus st, GPtrArray *records)
{
    g_autoptr(GPtrArray) texts = answer_texts(records, MS_DNS_TYPE_TXT);
    ms_dmarc_lookup_answer(c->dmarc, answer_kind(st, texts->len - 1),
                           (const char *const *) texts->pdata, texts->len - 1);
    dmarc_ask(c);
}

static void
dmarc_ask(MsAuthCheck *c)
{
    const char *name;
    if (ms_dmarc_lookup_next_query(c->dmarc, &name)) {
        lookup(c, name, MS_DNS_TYPE_TXT, on_dmarc);
        return;
    }
    c->step = STEP_DONE;
    advance(c);
}

/* -- the verdict -- */

static MsRng *
dmarc_rng(MsMail *m, MsMailServer *s)
{
    Checks *ck = checks_of(m);
    MsRng *r = g_hash_table_lookup(ck->rngs, GUINT_TO_POINTER(s->index + 1));
    if (!r) {
        r = g_new(MsRng, 1);
        char name[32];
        g_snprintf(name, sizeof name, "dmarc/%u", s->host);
        ms_rng_init_named(r, ms_engine_seed(m->engine), name);
        g_hash_table_insert(ck->rngs, GUINT_TO_POINTER(s->index + 1), r);
    }
    return r;
}

/* What the aggregate report will say of this message (RFC 7489 7.2,
 * Appendix C's RecordType). */
static void
add_report_row(MsAuthCheck *c, const MsDmarcRecord *rec, const MsDmarcOutcome *out)
{
    MsMail *m = c->mail;
    MsMailAuthReportRow row = { 0 };
    row.receiver = c->server->host;
    row.policy_domain = ms__mail_text(m, ms_dmarc_lookup_policy_domain(c->dmarc));
    g_autofree char *text = ms_dmarc_record_to_string(rec);
    row.record = ms__mail_text(m, text);
    row.at = ms_engine_now(m->engine);
    g_strlcpy(row.source_ip, c->ip, sizeof row.source_ip);
    row.disposition = out->disposition;
    row.dkim_aligned = out->dkim_aligned;
    row.spf_aligned = out->spf_aligned;
    row.sampled_out = out->sampled_out;
    /* Appendix C: "the envelope recipient domain", the RCPT TO this
     * receiver was given (a forwarded copy's is the forward's target, not
     * the address the sender wrote), the first of the transaction's. */
    row.envelope_to = c->rcpt_to ? ms__mail_text(m, ms__address_domain(c->rcpt_to)) : NULL;
    row.envelope_from =
        ms__mail_text(m, c->mail_from && *c->mail_from ? ms__address_domain(c->mail_from) : "");
    row.header_from = ms__mail_text(m, c->from_domain ? c->from_domain : "");
    row.spf_domain = c->spf ? ms__mail_text(m, ms_spf_check_domain(c->spf)) : NULL;
    row.spf_helo = c->spf && ms_spf_check_is_helo(c->spf);
    row.spf_result = c->spf_result;
    guint n = c->dkim ? ms_dkim_verifier_count(c->dkim) : 0;
    for (guint i = 0; i < n && row.n_dkim < MS_MAIL_AUTH_REPORT_DKIM; i++) {
        const MsDkimSignature *sig = ms_dkim_verifier_signature(c->dkim, i);
        if (!sig)
            continue;
        row.dkim_domain[row.n_dkim] = ms__mail_text(m, sig->domain);
        row.dkim_selector[row.n_dkim] = ms__mail_text(m, sig->selector);
        row.dkim_result[row.n_dkim] =
            ms_dkim_result_to_string(ms_dkim_verifier_result(c->dkim, i, NULL));
        row.n_dkim++;
    }
    MsAuthRowKey key;
    ms_engine_current_key(m->engine, &key.src, &key.seq);
    ms__auth_report_add(m, &row, key);
}

/* Hands the verdict to whoever asked, then frees the check. */
static void
hand_over(MsAuthCheck *c, const MsAuthVerdict *v)
{
    MsAuthCheckDone done = c->done;
    gpointer ud = c->done_data;
    c->done = NULL;
    done(c->mail, v, ud);
    check_free(c);
}

static void
finish(MsAuthCheck *c)
{
    MsMail *m = c->mail;
    MsMailServer *s = c->server;
    MsMailAuthServer *as = ms__auth_server(m, s);
    MsMailAuth *a = m->auth;
    MsAuthVerdict v = { 0 };
    v.action = MS_MAIL_AUTH_ACCEPT;
    if (!c->data) { /* a DNSBL check */
        v.listed = c->listed;
        hand_over(c, &v);
        return;
    }
    MsMailAuthLedger *l = ms__auth_ledger_add(m, c->message);
    l->checked = TRUE;
    l->where = s->host;
    g_autoptr(MsAuthResults) ar = ms_auth_results_new(s->hostname);
    if (c->spf) {
        g_strlcpy(l->spf, ms_spf_result_to_string(c->spf_result), sizeof l->spf);
        if (as->set.spf)
            ms_auth_results_add_spf(ar, c->spf_result,
                                    ms_spf_check_is_helo(c->spf)
                                        ? ms_spf_check_domain(c->spf)
                                        : (c->mail_from && *c->mail_from ? c->mail_from : NULL),
                                    ms_spf_check_is_helo(c->spf), ms_spf_check_explanation(c->spf));
    }
    g_autoptr(GPtrArray) passed = g_ptr_array_new();
    if (c->dkim) {
        guint n = ms_dkim_verifier_count(c->dkim);
        const char *word = "none";
        for (guint i = 0; i < n; i++) {
            const char *why = NULL;
            MsDkimResult r = ms_dkim_verifier_result(c->dkim, i, &why);
            const MsDkimSignature *sig = ms_dkim_verifier_signature(c->dkim, i);
            if (r == MS_DKIM_RESULT_PASS && sig)
                g_ptr_array_add(passed, sig->domain);
            if (strcmp(word, "pass") != 0 && (i == 0 || r == MS_DKIM_RESULT_PASS))
                word = ms_dkim_result_to_string(r);
            if (as->set.dkim)
                ms_auth_results_add_dkim(ar, ms_dkim_result_to_string(r), sig ? sig->domain : NULL,
                                         sig ? sig->selector : NULL, sig ? sig->b_text : NULL, why);
        }
        if (as->set.dkim && n == 0)
            ms_auth_results_add_dkim(ar, "none", NULL, NULL, NULL, NULL);
        g_strlcpy(l->dkim, word, sizeof l->dkim);
    }
    if (c->dmarc) {
        MsDmarcInput in = { 0 };
        in.from_domain = c->from_domain;
        in.spf = c->spf_result;
        in.spf_domain = c->spf ? ms_spf_check_domain(c->spf) : NULL;
        in.dkim_domains = (const char *const *) passed->pdata;
        in.n_dkim = passed->len;
        const MsDmarcRecord *rec = ms_dmarc_lookup_record(c->dmarc);
        in.pct_draw = rec && rec->pct < 100 ? (guint) ms_rng_below(dmarc_rng(m, s), 100) : 0;
        MsDmarcOutcome out = { 0 };
        ms_dmarc_lookup_evaluate(c->dmarc, &in, &out);
        g_strlcpy(l->dmarc, ms_dmarc_result_to_string(out.result), sizeof l->dmarc);
        a->stats.dmarc[out.result == MS_DMARC_RESULT_NONE        ? 0
                       : out.result == MS_DMARC_RESULT_PASS      ? 1
                       : out.result == MS_DMARC_RESULT_FAIL      ? 2
                       : out.result == MS_DMARC_RESULT_TEMPERROR ? 5
                                                                 : 6]++;
        ms_auth_results_add_dmarc(ar, out.result, c->from_domain, out.reason);
        if (out.result == MS_DMARC_RESULT_FAIL) {
            v.action = out.disposition == MS_DMARC_POLICY_REJECT       ? MS_MAIL_AUTH_REJECT
                       : out.disposition == MS_DMARC_POLICY_QUARANTINE ? MS_MAIL_AUTH_QUARANTINE
                                                                       : MS_MAIL_AUTH_ACCEPT;
        }
        const char *does = v.action == MS_MAIL_AUTH_REJECT       ? "refuses the message"
                           : v.action == MS_MAIL_AUTH_QUARANTINE ? "puts the message into Junk"
                                                                 : "delivers the message";
        ms__mail_note(m, s->host, c->peer, c->message, "DMARC %s for %s: %s; %s %s%s",
                      ms_dmarc_result_to_string(out.result), c->from_domain ? c->from_domain : "?",
                      out.reason ? out.reason : ms_dmarc_lookup_explanation(c->dmarc), s->hostname,
                      does, out.sampled_out ? " (spared by pct sampling)" : "");
        if (v.action == MS_MAIL_AUTH_REJECT) {
            a->stats.rejected++;
            v.reply_text = g_strdup_printf(
                "Unauthenticated email from %s is not accepted due to the domain's DMARC policy",
                c->from_domain);
        } else if (v.action == MS_MAIL_AUTH_QUARANTINE) {
            a->stats.quarantined++;
        }
        if (rec && rec->rua && rec->rua->len > 0)
            add_report_row(c, rec, &out);
        ms_dmarc_outcome_clear(&out);
    }
    l->action = v.action;
    g_autofree char *hdr = ms_auth_results_to_string(ar);
    v.header = g_strconcat(hdr, "\r\n", NULL);
    hand_over(c, &v);
    g_free(v.header);
    g_free(v.reply_text);
}

static void
advance(MsAuthCheck *c)
{
    MsMailAuthServer *as = ms__auth_server(c->mail, c->server);
    gboolean dmarc = as->set.dmarc;
    for (;;) {
        switch (c->step) {
        case STEP_DNSBL:
            dnsbl_ask(c);
            return;
        case STEP_SPF:
            if (as->set.spf || dmarc) {
                g_autoptr(GError) err = NULL;
                c->spf = ms_spf_check_new(c->ip, c->mail_from, c->helo, &err);
                if (c->spf) {
                    ms_spf_check_set_receiver(c->spf, c->server->hostname,
                                              MS_MAIL_EPOCH_UNIX +
                                                  ms_engine_now(c->mail->engine) / MS_TIME_S);
                    spf_ask(c);
                    return;
                }
            }
            c->step = STEP_DKIM;
            continue;
        case STEP_DKIM:
            if (as->set.dkim || dmarc) {
                gsize n;
                const char *d = g_bytes_get_data(c->data, &n);
                c->dkim = ms_dkim_verifier_new(
                    d, n, 0, MS_MAIL_EPOCH_UNIX + ms_engine_now(c->mail->engine) / MS_TIME_S);
                dkim_ask(c);
                return;
            }
            c->step = STEP_DMARC;
            continue;
        case STEP_DMARC:
            if (dmarc) {
                c->from_domain = from_domain_of(c->data);
                c->dmarc = ms_dmarc_lookup_new(c->from_domain ? c->from_domain : "",
                                               checks_of(c->mail)->psl);
                dmarc_ask(c);
                return;
            }
            c->step = STEP_DONE;
            continue;
        case STEP_DONE:
        default:
            finish(c);
            return;
        }
    }
}

static MsAuthCheck *
check_new(MsMail *m, MsMailServer *s, MsHostId peer, guint32 peer_addr, MsAuthCheckDone done,
          gpointer ud)
{
    MsAuthCheck *c = g_new0(MsAuthCheck, 1);
    ms__live_add(m, &c->live, c, (GDestroyNotify) check_free);
    c->mail = m;
    c->server = s;
    c->peer = peer;
    c->peer_addr = peer_addr;
    ms_ipv4_format(peer_addr, c->ip);
    c->done = done;
    c->done_data = ud;
    return c;
}

gboolean
ms__auth_wants_dnsbl(MsMail *m, const MsMailServer *s)
{
    MsMailAuthServer *as = m->auth ? ms__auth_server(m, s) : NULL;
    return as && as->set.dnsbl && as->set.dnsbl[0];
}

gboolean
ms__auth_dnsbl_at_rcpt(MsMail *m, const MsMailServer *s)
{
    MsMailAuthServer *as = m->auth ? ms__auth_server(m, s) : NULL;
    return as && as->set.dnsbl_at_rcpt;
}

gboolean
ms__auth_wants_checks(MsMail *m, const MsMailServer *s)
{
    MsMailAuthServer *as = m->auth ? ms__auth_server(m, s) : NULL;
    return as && (as->set.spf || as->set.dkim || as->set.dmarc);
}

gboolean
ms__auth_login_match(MsMail *m, const MsMailServer *s)
{
    MsMailAuthServer *as = m->auth ? ms__auth_server(m, s) : NULL;
    return as && as->set.sender_login_match;
}

MsAuthCheck *
ms__auth_dnsbl_start(MsMail *m, MsMailServer *s, MsHostId peer, guint32 peer_addr,
                     MsAuthCheckDone done, gpointer ud)
{
    MsAuthCheck *c = check_new(m, s, peer, peer_addr, done, ud);
    c->step = STEP_DNSBL;
    if (ms_trace_enabled(m->trace)) /* only a trace shows the tag */
        c->message = dnsbl_message(m, s, peer);
    ms__mail_note(m, s->host, peer, 0, "%s asks its blocklist%s about %s %s (RFC 5782)",
                  s->hostname, ms__auth_server(m, s)->set.dnsbl[1] ? "s" : "", c->ip,
                  ms__auth_dnsbl_at_rcpt(m, s) ? "at its first RCPT" : "before greeting it");
    advance(c);
    return c;
}

MsAuthCheck *
ms__auth_check_start(MsMail *m, MsMailServer *s, guint32 message, MsHostId peer, guint32 peer_addr,
                     const char *helo, const char *mail_from, const char *rcpt_to, GBytes *data,
                     MsAuthCheckDone done, gpointer ud)
{
    MsAuthCheck *c = check_new(m, s, peer, peer_addr, done, ud);
    c->message = message;
    c->helo = g_strdup(helo);
    c->mail_from = g_strdup(mail_from);
    c->rcpt_to = g_strdup(rcpt_to);
    c->data = g_bytes_ref(data);
    c->step = STEP_SPF;
    MsMailAuthServer *as = ms__auth_server(m, s);
    ms__mail_note(m, s->host, peer, message,
                  "%s checks who really sent this before it answers:%s%s%s", s->hostname,
                  as->set.spf || as->set.dmarc ? " SPF" : "",
                  as->set.dkim || as->set.dmarc ? " DKIM" : "", as->set.dmarc ? " DMARC" : "");
    advance(c);
    return c;
}

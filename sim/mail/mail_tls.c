/* TLS between simulated TCP and the protocol cores of a mail session: the
 * channel that a session puts on its connection when STARTTLS or STLS
 * succeeds, or from the first octet on the implicit-TLS ports (465, 995).
 *
 * Role in the data flow: every session of sim/mail (SMTP, POP3 and IMAP,
 * servers and clients) routes its octets through here. TCP octets from the
 * peer go into the TLS endpoint (sim/proto/tls*.c, sans-I/O) with
 * ms__mail_tls_in() (ms__mail_tls_client_in() for a client, which says why a
 * handshake failed); the records it answers with go straight back onto the
 * connection, and the plaintext it opens is handed to the session, which
 * feeds it to its core; before TLS the octets pass as they are. What the
 * core writes goes through ms__mail_tls_out() and leaves sealed. The wire (and
 * so the capture, and the flow model's transfer times) carries real TLS
 * records: the handshake's round trips and octets cost what they cost at
 * both fidelities, with nothing charged by hand.
 *
 * Design. Randomness: each host draws its TLS randoms (client and server
 * random, key shares) from a stream of its own, named "tls/<host id>" off
 * the run's seed (ms_rng_init_named), made the first time the host speaks
 * TLS: runs without TLS draw nothing from it and keep their outputs byte
 * for byte, and TLS sessions never shift the draws of the host's other
 * stream (MX shuffles, ports, losses). Trust: one MsTlsPki per world
 * issues each TLS server's certificate once, when TLS is enabled (servers
 * keep their credentials for every session, as a real server keeps its
 * key and certificate files); a client checks a chain with
 * ms_tls_pki_verify() at the simulated civil time (MS_MAIL_EPOCH_UNIX plus
 * the engine's clock), and the PKI caches its verdicts per chain and
 * name; each client host also keeps the keys it read from certificates
 * (MsTlsKeyCache), so a server seen again costs no X.509 parse, only the
 * check of its signature. Whether a failed check matters is the client's
 * policy: mail user agents and MTAs at the "verify" level refuse; the
 * opportunistic ("may") and "encrypt" levels of Postfix do not verify, so
 * the handshake goes on and the narration says what the check would have
 * found. Round trips: a client counts each flight of handshake records it
 * sent that the server answered before the handshake completed (one for a
 * TLS 1.3 handshake, two with a HelloRetryRequest).
 *
 * Ownership: a channel belongs to its session (which frees it); the
 * endpoint, its configuration copies and the peer name are the channel's.
 * The credentials and the PKI are the mail layer's and outlive every
 * channel. Costs: one Ed25519 signature (server) and verification (client),
 * two X25519 key pairs and shared secrets per full handshake; the PKI
 * caches verdicts per chain and each client host the keys it read from
 * certificates, so a client seeing the same server again pays no
 * certificate parse or check, only the signature. That is about 0.3 ms of
 * CPU per full handshake (`mailsim bench tls`), nearly all in nettle.
 * Session resumption (RFC 8446 2.2) saves most of it: each client host
 * keeps the last ticket per server name and port in tls_sessions (as
 * Postfix's smtp_tls_session_cache) and offers it on the next connection
 * to that service; a resumed handshake has no certificate and no
 * signature (0.18 ms with psk_dhe_ke), and with psk_ke no X25519 on either
 * side (18 us). Figures (README, TLS): a generated world of 20 domains and
 * 5,000 messages at flow level, 11.3x the CPU of the run without TLS
 * without resumption, 8.5x with psk_dhe_ke, 3.4x with psk_ke; the README
 * says where the rest goes and why 1.5x is out of reach. */
#include "mail-private.h"

#include <string.h>

struct _MsMailTls {
    MsMail *mail;
    MsTcpConnId conn;
    MsHostId host, peer;
    guint32 message;
    MsTls *tls;
    gboolean client;
    gboolean verify;    /* client: a failed check fails the handshake */
    char *server_name;  /* client: the name checked and sent as SNI */
    guint16 port;       /* client: the server's port (sessions are kept per service) */
    char *check_failed; /* client, not verifying: what the check found */
    gboolean awaiting;  /* client: a flight sent, no answer yet */
    guint round_trips;  /* client: flights answered before ESTABLISHED */
    gboolean told;      /* ESTABLISHED or FAILED already reported */
    gboolean starttls;  /* client: STARTTLS/STLS cost a round trip before */
    MsMailTlsVerifier verifier; /* client: replaces the PKI check (DANE), or NULL */
    gpointer verifier_data;
};

void
ms__mail_tls_set_verifier(MsMailTls *t, MsMailTlsVerifier fn, gpointer data)
{
    t->verifier = fn;
    t->verifier_data = data;
}

MsRng *
ms__mail_tls_rng(MsMail *m, MsHostId host)
{
    if (!m->tls_rngs)
        m->tls_rngs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    MsRng *r = g_hash_table_lookup(m->tls_rngs, GUINT_TO_POINTER(host));
    if (!r) {
        r = g_new(MsRng, 1);
        char name[32];
        g_snprintf(name, sizeof name, "tls/%u", host);
        ms_rng_init_named(r, ms_engine_seed(m->engine), name);
        g_hash_table_insert(m->tls_rngs, GUINT_TO_POINTER(host), r);
    }
    return r;
}

/* A client host's cache of server keys read from certificates, as a
 * real client process keeps what it parsed: made on first use. */
static MsTlsKeyCache *
key_cache(MsMail *m, MsHostId host)
{
    if (!m->tls_key_caches)
        m->tls_key_caches = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                                  (GDestroyNotify) ms_tls_key_cache_free);
    MsTlsKeyCache *c = g_hash_table_lookup(m->tls_key_caches, GUINT_TO_POINTER(host));
    if (!c) {
        c = ms_tls_key_cache_new();
        g_hash_table_insert(m->tls_key_caches, GUINT_TO_POINTER(host), c);
    }
    return c;
}

void
ms_mail_set_tls_resumption(MsMail *m, gboolean enabled, MsTlsPskMode mode)
{
    g_return_if_fail(m != NULL);
    m->tls_no_resumption = !enabled;
    m->tls_psk_mode = mode;
}

/* The cache key of a client host's ticket for a server name and port:
 * real clients keep sessions per service (Postfix's smtp client keys its
 * smtp_tls_session_cache by server name, address and port; NSS, under
 * Thunderbird, by host and port), so a ticket from submission is not
 * offered to POP3 on the same host, whose server (Dovecot beside Postfix)
 * could not open it anyway. */
static char *
session_key(MsHostId host, const char *server_name, guint16 port)
{
    return g_strdup_printf("%u/%s:%u", host, server_name ? server_name : "", port);
}

/* A server's ticket key: drawn once from a stream of its own, so that
 * tickets shift none of the host's other draws. One key per server host,
 * for all its ports, as Postfix's tlsmgr hands one set of ticket keys to
 * every smtpd of the instance (25, 587, 465); since clients keep tickets
 * per service (session_key), a ticket only ever comes back to the service
 * that issued it. */
static const guint8 *
ticket_key(MsMail *m, MsMailServer *s)
{
    if (m->tls_no_resumption)
        return NULL;
    if (!s->ticket_key_set) {
        MsRng r;
        char name[48];
        g_snprintf(name, sizeof name, "tls-ticket/%u", s->host);
        ms_rng_init_named(&r, ms_engine_seed(m->engine), name);
        for (guint i = 0; i < sizeof s->ticket_key; i += 8) {
            guint64 v = ms_rng_next(&r);
            for (guint j = 0; j < 8; j++)
                s->ticket_key[i + j] = (guint8) (v >> (8 * j));
        }
        s->ticket_key_set = TRUE;
    }
    return s->ticket_key;
}

static void
keylog_cb(const char *line, gpointer ud)
{
    MsMailTls *t = ud;
    if (t->mail->keylog)
        t->mail->keylog(line, t->mail->keylog_data);
}

static gboolean
verify_cb(GBytes *const *chain, guint n_certs, const char *server_name, guint8 *alert, char **why,
          gpointer ud)
{
    MsMailTls *t = ud;
    MsMail *m = t->mail;
    if (t->verifier)
        return t->verifier(chain, n_certs, server_name, alert, why, t->verifier_data);
    gint64 now = MS_MAIL_EPOCH_UNIX + ms_engine_now(m->engine) / MS_TIME_S;
    g_autofree char *reason = NULL;
    guint8 a = 0;
    if (ms_tls_pki_verify(m->pki, chain, n_certs, server_name, now, &a, &reason))
        return TRUE;
    if (!t->verify) {
        /* Opportunistic and "encrypt" TLS encrypt without checking who
         * answers (Postfix's smtp_tls_security_level may/encrypt). */
        g_free(t->check_failed);
        t->check_failed = g_steal_pointer(&reason);
        return TRUE;
    }
    if (alert)
        *alert = a;
    if (why)
        *why = g_steal_pointer(&reason);
    return FALSE;
}

/* Sends whatever records the endpoint has queued. */
static void
flush(MsMailTls *t)
{
    GBytes *out;
    while ((out = ms_tls_take_output(t->tls))) {
        if (t->client && ms_tls_state(t->tls) == MS_TLS_HANDSHAKING)
            t->awaiting = TRUE;
        ms__send_bytes(t->mail, t->conn, out);
    }
}

MsMailTls *
ms__mail_tls_client_new(MsMail *m, MsTcpConnId conn, MsHostId host, MsHostId peer,
                        const char *server_name, guint16 port, gboolean verify, gboolean starttls,
                        guint32 message)
{
    g_return_val_if_fail(m->pki != NULL, NULL);
    MsMailTls *t = g_new0(MsMailTls, 1);
    t->mail = m;
    t->conn = conn;
    t->host = host;
    t->peer = peer;
    t->message = message;
    t->client = TRUE;
    t->verify = verify;
    t->starttls = starttls;
    t->server_name = g_strdup(server_name);
    t->port = port;
    MsTlsConfig cfg = { 0 };
    cfg.role = MS_TLS_CLIENT;
    cfg.rng = ms__mail_tls_rng(m, host);
    cfg.server_name = server_name;
    cfg.verify = verify_cb;
    /* The client's side logs the secrets (SSLKEYLOGFILE is a client's
     * file; the server would write the same lines again). */
    cfg.keylog = m->keylog ? keylog_cb : NULL;
    cfg.user_data = t;
    cfg.now_ms = (guint64) (ms_engine_now(m->engine) / MS_TIME_MS);
    cfg.psk_mode = m->tls_psk_mode;
    cfg.key_cache = key_cache(m, host);
    if (m->tls_sessions && !m->tls_no_resumption) {
        g_autofree char *key = session_key(host, server_name, port);
        cfg.resume = g_hash_table_lookup(m->tls_sessions, key);
    }
    t->tls = ms_tls_new(&cfg);
    ms_tls_start(t->tls);
    flush(t);
    return t;
}

/* Client: keeps the ticket the server just sent as this host's session for
 * the server name, replacing the one before. */
static void
keep_session(MsMailTls *t)
{
    MsTlsSession *s = ms_tls_take_session(t->tls);
    if (!s)
        return;
    MsMail *m = t->mail;
    if (!m->tls_sessions)
        m->tls_sessions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) ms_tls_session_free);
    g_hash_table_replace(m->tls_sessions, session_key(t->host, t->server_name, t->port), s);
}

MsMailTls *
ms__mail_tls_server_new(MsMail *m, MsTcpConnId conn, MsMailServer *s, MsHostId peer,
                        guint32 message)
{
    g_return_val_if_fail(s->tls_cred != NULL, NULL);
    MsMailTls *t = g_new0(MsMailTls, 1);
    t->mail = m;
    t->conn = conn;
    t->host = s->host;
    t->peer = peer;
    t->message = message;
    MsTlsConfig cfg = { 0 };
    cfg.role = MS_TLS_SERVER;
    cfg.rng = ms__mail_tls_rng(m, s->host);
    cfg.cert_chain = s->tls_cred->chain;
    cfg.n_certs = s->tls_cred->n_certs;
    cfg.ed25519_seed = s->tls_cred->ed25519_seed;
    cfg.ed25519_pub = s->tls_cred->ed25519_pub;
    cfg.ticket_key = ticket_key(m, s);
    cfg.now_ms = (guint64) (ms_engine_now(m->engine) / MS_TIME_MS);
    cfg.user_data = t;
    t->tls = ms_tls_new(&cfg);
    ms_tls_start(t->tls);
    flush(t);
    return t;
}

void
ms__mail_tls_free(MsMailTls *t)
{
    if (!t)
        return;
    ms_tls_free(t->tls);
    g_free(t->server_name);
    g_free(t->check_failed);
    g_free(t);
}

/* The handshake's end, told once by the client side: the story line
 * (cipher, round trips, octets) and, when the certificate would not have
 * passed, what an unverifying client accepted. */
static void
tell_established(MsMailTls *t)
{
    MsMail *m = t->mail;
    if (!t->client) /* each handshake counted and told once, by its client */
        return;
    m->tls_handshakes++;
    gboolean resumed = ms_tls_resumed(t->tls);
    if (resumed)
        m->tls_resumed++;
    const char *peer = t->peer != MS_NO_HOST_ID ? ms_net_host_name(m->net, t->peer) : "?";
    guint rtt = t->round_trips + (t->starttls ? 1 : 0);
    ms__mail_note(m, t->host, t->peer, t->message,
                  "TLS 1.3 handshake with %s%s: %s, %s, %u round trip%s%s, %" G_GUINT64_FORMAT
                  " octets; from here on the session is encrypted",
                  t->server_name ? t->server_name : peer,
                  resumed ? " resumed with its session ticket (no certificate sent)" : "",
                  ms_tls_group(t->tls) ? ms_tls_group(t->tls) : "no key exchange",
                  ms_tls_cipher_suite(t->tls), rtt, rtt == 1 ? "" : "s",
                  t->starttls ? " with STARTTLS" : "", ms_tls_handshake_octets(t->tls));
    if (!t->verify && !m->told_tls_may) {
        m->told_tls_may = TRUE;
        ms__mail_aside(m, t->host, t->message,
                       "(what really happens: between mail servers TLS is usually opportunistic. "
                       "The sender encrypts because the receiver offered STARTTLS, but it checks "
                       "no certificate, and had STARTTLS been missing it would have sent the "
                       "message in the clear. TLS protects each hop only: on every server the "
                       "message lies unencrypted, readable by whoever runs it.)");
    }
    if (t->check_failed)
        ms__mail_aside(m, t->host, t->message,
                       "(the certificate would not pass a check: %s. Opportunistic TLS encrypts "
                       "without checking who answers, so a man in the middle could read this "
                       "session; only a verifying policy would refuse it.)",
                       t->check_failed);
}

MsMailTlsEvent
ms__mail_tls_feed(MsMailTls *t, const guint8 *data, gsize len, GBytes **plain)
{
    *plain = NULL;
    MsTlsState before = ms_tls_state(t->tls);
    if (t->client && t->awaiting && before == MS_TLS_HANDSHAKING && len > 0) {
        t->awaiting = FALSE;
        t->round_trips++;
    }
    ms_tls_feed(t->tls, data, len);
    MsTlsState now = ms_tls_state(t->tls);
    flush(t);
    if (t->client && !t->mail->tls_no_resumption)
        keep_session(t);
    *plain = ms_tls_take_plaintext(t->tls);
    if (t->told)
        return now == MS_TLS_FAILED ? MS_MAIL_TLS_FAILED : MS_MAIL_TLS_NOTHING;
    if (now == MS_TLS_ESTABLISHED ||
        (now == MS_TLS_CLOSED && before == MS_TLS_HANDSHAKING && ms_tls_cipher_suite(t->tls))) {
        t->told = TRUE;
        tell_established(t);
        return MS_MAIL_TLS_ESTABLISHED;
    }
    if (now == MS_TLS_FAILED || now == MS_TLS_CLOSED) {
        t->told = TRUE;
        if (t->client)
            t->mail->tls_failures++;
        return MS_MAIL_TLS_FAILED;
    }
    return MS_MAIL_TLS_NOTHING;
}

void
ms__mail_tls_send(MsMailTls *t, GBytes *plain)
{
    gsize n;
    const guint8 *d = g_bytes_get_data(plain, &n);
    ms_tls_write(t->tls, d, n);
    g_bytes_unref(plain);
    flush(t);
}

void
ms__mail_tls_out(MsMailTls *t, MsMail *m, MsTcpConnId conn, GBytes *out)
{
    if (t)
        ms__mail_tls_send(t, out);
    else
        ms__send_bytes(m, conn, out);
}

void
ms__mail_tls_close(MsMailTls *t)
{
    if (t && ms_tls_state(t->tls) == MS_TLS_ESTABLISHED) {
        ms_tls_close(t->tls);
        flush(t);
    }
}

const char *
ms__mail_tls_eof(MsMailTls *t)
{
    MsTlsState before = ms_tls_state(t->tls);
    ms_tls_eof(t->tls);
    if (before == MS_TLS_FAILED || ms_tls_state(t->tls) != MS_TLS_FAILED)
        return NULL; /* a close_notify came first, or the failure was told */
    MsMail *m = t->mail;
    const char *peer = t->peer != MS_NO_HOST_ID ? ms_net_host_name(m->net, t->peer) : "?";
    ms__mail_note(m, t->host, t->peer, t->message,
                  "%s: the TLS session with %s ended with a TCP FIN but no close_notify (%s). "
                  "RFC 8446 6.1 counts that as a truncation: whatever came last may have been "
                  "cut off by someone on the path",
                  ms_net_host_name(m->net, t->host), peer, ms_tls_error(t->tls));
    return ms_tls_error(t->tls);
}

gboolean
ms__mail_tls_handshaking(const MsMailTls *t)
{
    return ms_tls_state(t->tls) == MS_TLS_HANDSHAKING;
}

const char *
ms__mail_tls_error(const MsMailTls *t)
{
    const char *e = ms_tls_error(t->tls);
    return e ? e : "the TLS session ended during the handshake";
}

GBytes *
ms__mail_tls_in(MsMailTls *t, const guint8 *data, gsize len, gboolean *established,
                gboolean *failed)
{
    *established = FALSE;
    *failed = FALSE;
    if (!t)
        return g_bytes_new_static(data, len);
    GBytes *plain = NULL;
    MsMailTlsEvent ev = ms__mail_tls_feed(t, data, len, &plain);
    if (ev == MS_MAIL_TLS_FAILED) {
        *failed = TRUE;
        g_clear_pointer(&plain, g_bytes_unref);
    }
    *established = ev == MS_MAIL_TLS_ESTABLISHED;
    return plain;
}

GBytes *
ms__mail_tls_client_in(MsMailTls *t, const char *server_name, const guint8 *data, gsize len,
                       gboolean *established, char **failed)
{
    gboolean bad;
    GBytes *plain = ms__mail_tls_in(t, data, len, established, &bad);
    *failed =
        bad ? g_strdup_printf("TLS with %s failed: %s", server_name, ms__mail_tls_error(t)) : NULL;
    return plain;
}

void
ms__mail_tls_count_hop(MsMail *m, guint32 message, gboolean encrypted)
{
    MsMessageRecord *r = message ? ms__mail_record(m, message) : NULL;
    if (encrypted) {
        m->hops_tls++;
        if (r)
            r->hops_tls++;
    } else {
        m->hops_clear++;
        if (r)
            r->hops_clear++;
    }
}

void
ms__mail_tls_count_login(MsMail *m, MsMailClient *c, gboolean encrypted)
{
    if (encrypted) {
        m->logins_tls++;
        c->logins_tls++;
    } else {
        m->logins_clear++;
        c->logins_clear++;
    }
}

void
ms__mail_tls_tell_login(MsMail *m, MsMailClient *c, const MsMailServer *s, gboolean inside,
                        const char *reads)
{
    ms__mail_tls_count_login(m, c, inside);
    if (!m->pki)
        return;
    if (inside)
        ms__mail_note(m, c->host, s->host, 0,
                      "%s logs in to %s inside TLS: the password crosses the network encrypted",
                      ms_net_host_name(m->net, c->host), s->hostname);
    else
        ms__mail_note(m, c->host, s->host, 0,
                      "%s logs in to %s in the clear: anyone who sees the packets reads %s",
                      ms_net_host_name(m->net, c->host), s->hostname, reads);
}

void
ms_mail_client_logins(const MsMail *m, guint client, guint *inside_tls, guint *clear)
{
    g_return_if_fail(m != NULL && client < m->clients->len);
    const MsMailClient *c = g_ptr_array_index(m->clients, client);
    if (inside_tls)
        *inside_tls = c->logins_tls;
    if (clear)
        *clear = c->logins_clear;
}

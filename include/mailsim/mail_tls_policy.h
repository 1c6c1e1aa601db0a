/* The TLS defences of the simulated mail world and their attacker: a
 * downgrade attacker that strips STARTTLS on a link or router
 * (sim/mail/mail_downgrade.c), MTA-STS policies that domains publish and
 * senders honour (RFC 8461, sim/mail/mail_tls_policy.c), and a ledger of
 * what happened to each message's hops between servers. */
#pragma once

#include "mailsim/mail.h"
#include "mailsim/tls_pki.h"

G_BEGIN_DECLS

/* A message's hops between mail servers (port 25), as TLS left them. */
typedef struct {
    guint hops_tls;     /* handed over inside TLS */
    guint hops_clear;   /* handed over in clear text */
    guint hops_read;    /* of those in clear, crossed an active attacker */
    guint tls_refusals; /* sessions that a TLS requirement ended (STARTTLS missing
                          * or failed while the sender's level or an MTA-STS
                          * policy required it): the message stayed queued */
} MsMailTlsLedger;

/* Fills *out for message id (zeros for an unknown id). */
void ms_mail_tls_policy_ledger(MsMail *mail, guint32 message, MsMailTlsLedger *out);

/* Domain publishes MTA-STS: its "_mta-sts" TXT id (the zone carries the
 * record itself) and the policy document that
 * https://mta-sts.<domain>/.well-known/mta-sts.txt would serve. FALSE with
 * error when the document does not parse (RFC 8461 3.2). */
gboolean ms_mail_tls_policy_publish_sts(MsMail *mail, const char *domain, const char *id,
                                        const char *policy, GError **error);

/* Whether server's MTA looks up and honours MTA-STS (default FALSE). */
void ms_mail_tls_policy_honour_sts(MsMail *mail, guint server, gboolean honour);

/* Zone (and every name below it) is DNSSEC-signed: a DANE sender takes
 * the TLSA records found there as validated (RFC 7672 2.2 needs that; the
 * signatures themselves are not simulated). */
void ms_mail_tls_policy_set_dnssec(MsMail *mail, const char *zone);

/* The certificate and key of server, or NULL when it speaks no TLS (or
 * the world none): what a TLSA record for it describes. Borrowed. */
const MsTlsCredentials *ms_mail_tls_policy_credentials(MsMail *mail, guint server);

/* reply value of an attacker that lets STARTTLS through and alters one
 * octet of the TLS records the server sends during the handshake, which
 * then fails (bad_record_mac): what an attacker does to push an
 * opportunistic sender back to clear text. */
#define MS_MAIL_DOWNGRADE_BREAK_TLS 1

/* An attacker starts (active TRUE) or stops tampering with port-25 SMTP
 * on host (link G_MAXUINT32) or on link (host G_MAXUINT32): with reply 0
 * it rewrites EHLO replies so that STARTTLS disappears; with a 4xx/5xx
 * code it lets the offer through and answers the client's STARTTLS itself
 * with that code; with MS_MAIL_DOWNGRADE_BREAK_TLS it breaks handshakes.
 * Calls nest: a second start on the same spot needs a second stop. */
void ms_mail_downgrade_set(MsMail *mail, guint32 host, guint32 link, guint16 reply,
                           gboolean active);

G_END_DECLS

/* What the mail layer's TLS defences and their attacker share
 * (sim/mail/mail_downgrade.c, sim/mail/mail_tls_policy.c), and the hooks
 * the MTA's delivery attempts call (sim/mail/mail_mta.c). Not public. */
#pragma once

#include "mail-private.h"
#include "mailsim/mail_tls_policy.h"
#include "mailsim/mta_sts.h"

/* An active attacker (a strip-starttls fault): on a router or on a link. */
typedef struct {
    MsHostId host; /* MS_NO_HOST_ID when on a link */
    guint32 link;  /* G_MAXUINT32 when on a host */
    guint16 reply; /* 0: rewrite EHLO; else the code it answers STARTTLS with */
    guint active;  /* faults in force (they may overlap) */
} MsMailAttacker;

/* A policy a domain publishes: its TXT id and its document. */
typedef struct {
    char *id;
    char *text;
} MsMailStsPublished;

/* A sender's cached policy of one domain (RFC 8461 5.1). */
typedef struct {
    char *id;
    MsMtaStsPolicy *policy;
    MsTime expires; /* fetched + max_age */
} MsMailStsCached;

/* A sender's latest TLSA answer for one MX host (RFC 7672 2.2). */
typedef struct {
    GPtrArray *records; /* MsDnsRecord* (TLSA), owned; shared with attempts by ref */
    gboolean secure;    /* from a DNSSEC-signed zone */
    MsTime at;          /* when it came */
} MsMailDaneAnswer;

struct _MsMailTlsPolicy {
    GArray *attackers;     /* MsMailAttacker, in the order first set */
    GHashTable *published; /* lower-case domain -> MsMailStsPublished*: looked up only */
    GArray *honour;        /* gboolean per server index: honours MTA-STS */
    GPtrArray *caches;     /* per server index: GHashTable domain -> MsMailStsCached*, or NULL */
    GArray *ledger;        /* MsMailTlsLedger per message id - 1 */
    GPtrArray *dnssec;     /* lower-case names of signed zones */
    GPtrArray *dane; /* per server index: GHashTable host name -> MsMailDaneAnswer*, or NULL */
};
typedef struct _MsMailTlsPolicy MsMailTlsPolicy;

/* One delivery attempt's view: the attacker on its path, the policy that
 * governs it. Owned by the attempt. */
typedef struct {
    MsMail *mail;
    MsMailQueueEntry *entry;
    MsHostId peer;
    gboolean told_strip;   /* the rewrite was narrated */
    gboolean told_break;   /* the altered TLS record was narrated */
    guint16 refused;       /* the code an attacker answered STARTTLS with, or 0 */
    gboolean stripped;     /* an EHLO reply lost its STARTTLS */
    MsMtaStsMode sts_mode; /* the policy in force, NONE without one */
    gboolean tls_possible; /* the world and the sender speak TLS */
    GPtrArray *dane;       /* usable TLSA records that must match (a ref), or NULL */
    gboolean dane_required; /* TLSA records make TLS mandatory (RFC 7672 2.2) */
    gboolean dane_told;     /* the verdict was narrated */
} MsMailTlsAttempt;

MsMailTlsPolicy *ms__tls_policy_get(MsMail *mail);
void ms__tls_policy_free(MsMailTlsPolicy *policy);
MsMailTlsLedger *ms__tls_policy_ledger(MsMail *mail, guint32 message);
/* The attacker in force on the route from `from` to `to` now, or NULL. */
const MsMailAttacker *ms__downgrade_on_path(MsMail *mail, MsHostId from, MsHostId to);
/* Where the attacker sits, in words ("the link r1~r2"); caller frees. */
char *ms__downgrade_where(MsMail *mail, const MsMailAttacker *attacker);

/* mail_tls_policy.c: start_attempt's MTA-STS discovery (RFC 8461 5.1).
 * Returns FALSE when the sender does not look (the caller goes on); TRUE
 * when it looks, and then(mail, entry) follows the answer. */
gboolean ms__tls_policy_discover(MsMail *mail, MsMailQueueEntry *entry,
                                 void (*then)(MsMail *, MsMailQueueEntry *));
/* Whether an enforced MTA-STS policy rules out the MX host peer (RFC 8461
 * 4.1; told, and e's last error set); a testing policy only tells. */
gboolean ms__tls_policy_mx_refused(MsMail *mail, MsMailQueueEntry *entry, MsHostId peer);
/* A new attempt's view; raises the level and verify flag as a policy demands. */
MsMailTlsAttempt *ms__tls_attempt_new(MsMail *mail, MsMailQueueEntry *entry, MsHostId peer,
                                      gboolean tls_possible, MsSmtpTlsLevel *level,
                                      gboolean *verify);
void ms__tls_attempt_free(MsMailTlsAttempt *attempt);
/* The message was handed over on this attempt, inside TLS or not. */
void ms__tls_attempt_hop(MsMailTlsAttempt *attempt, gboolean encrypted);
/* The session ended with status st: a TLS refusal is told and counted. */
void ms__tls_attempt_refused(MsMailTlsAttempt *attempt, MsSmtpSessionStatus st);

/* mail_dane.c: DANE (RFC 7672). Before a connection to peer by a sender
 * at level dane: TRUE when a TLSA look-up was started (then(mail, entry)
 * runs again with the answer at hand), FALSE to go on. */
gboolean ms__tls_dane_wait(MsMail *mail, MsMailQueueEntry *entry, MsHostId peer,
                           void (*then)(MsMail *, MsMailQueueEntry *));
/* The answer for peer, fresh for this attempt: raises the level as
 * DANE demands (called by ms__tls_attempt_new). */
void ms__tls_dane_apply(MsMailTlsAttempt *attempt, MsSmtpTlsLevel *level, gboolean *verify);
/* The session's TLS channel exists: DANE checks its chain. */
void ms__tls_attempt_tls_started(MsMailTlsAttempt *attempt, MsMailTls *tls);
void ms__tls_dane_clear(MsMailTlsPolicy *policy);

/* mail_downgrade.c: octets from the server before TLS, as the client gets
 * them past an attacker: a rewritten copy, or NULL when unchanged. */
GBytes *ms__tls_attempt_inbound(MsMailTlsAttempt *attempt, const guint8 *data, gsize len);
/* TLS records from the server while tls's handshake runs: when an
 * attacker that breaks handshakes (MS_MAIL_DOWNGRADE_BREAK_TLS) is on the
 * path, a copy with one octet altered, else NULL. */
GBytes *ms__tls_attempt_inbound_tls(MsMailTlsAttempt *attempt, const MsMailTls *tls,
                                    const guint8 *data, gsize len);
/* Octets the client sends before TLS: when an attacker that answers
 * STARTTLS itself is on the path and `out` is that command, it is kept
 * from the server and *answer gets the attacker's reply for the client
 * (TRUE; out is consumed). */
gboolean ms__tls_attempt_outbound(MsMailTlsAttempt *attempt, GBytes *out, GBytes **answer);

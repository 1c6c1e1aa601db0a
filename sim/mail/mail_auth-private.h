/* The sender authentication of the mail layer, shared by its files
 * (mail_auth.c: the receiver's checks, signing and the ledger;
 * mail_auth_send.c: direct sending, forwarding and lists), and the hooks
 * the SMTP service and acceptance call. Not public. */
#pragma once

#include "mail-private.h"
#include "mailsim/mail_auth.h"

/* A forwarding user or a list of one server. */
typedef struct {
    char *user;         /* local part, lower case */
    char *target;       /* forward: the address; NULL for a list */
    GPtrArray *members; /* list: char* addresses; NULL for a forward */
    char *subject_tag;  /* list only */
    char *footer;       /* list only */
} MsMailAlias;

/* A DKIM signing key of one server for one domain (mail_auth.c). */
typedef struct _MsMailAuthKey MsMailAuthKey;

typedef struct {
    MsMailAuthSettings set; /* dnsbl: owned strv */
    GPtrArray *aliases;     /* MsMailAlias*, in the order added */
    GPtrArray *keys;        /* MsMailAuthKey*, in the order added */
} MsMailAuthServer;

/* The order key (sim/core/engine.h) of the event that ended a check: a
 * partitioned run puts every part's report rows back in the order a
 * sequential run adds them (time, then this key). */
typedef struct {
    MsHostId src;
    guint64 seq;
} MsAuthRowKey;

/* A partitioned run's DNSBL bookkeeping (mail_auth.c, mail_merge.c). A
 * listing marks the messages the client holds queued for the listing
 * server's domains (mark_listed), which a part cannot see when the client
 * runs on another part: the part that checked keeps the listing, every
 * part keeps when each recipient for a listing server's domains was queued
 * at a server (or left the queues by a bounce: host MS_NO_HOST_ID), and
 * the merge finds what each listed client held at the moment of its
 * listing. Keys: the event's time and order key, as for report rows. */
typedef struct {
    guint32 message;
    const char *rcpt; /* the record's own text */
    MsHostId host;
    MsTime at;
    MsAuthRowKey key;
} MsAuthQueued;
typedef struct {
    MsHostId server, peer;
    MsTime at;
    MsAuthRowKey key;
    guint ledger_len; /* the part's checks made before it */
} MsAuthListing;

typedef struct _MsMailAuth {
    GPtrArray *servers;  /* per server index: MsMailAuthServer* or NULL */
    GHashTable *ledgers; /* message id -> index + 1 in `ledger` of its latest check: looked
                          * up, never iterated */
    GArray *ledger;      /* every check made, in order (mail_auth.c's LedgerEntry) */
    MsMailAuthStats stats;
    guint16 ev_direct;
    GPtrArray *pending; /* direct sends not yet made */
    guint alias_depth;  /* nested alias expansions (a forward to a forward) */
    GArray *report_rows; /* MsMailAuthReportRow, for DMARC aggregate reports */
    GArray *report_keys; /* MsAuthRowKey per row: the order key of the event that added it */
    GArray *queued;      /* MsAuthQueued (partitioned runs with a DNSBL only) */
    GArray *listings;    /* MsAuthListing (partitioned runs only) */
    GArray *dnsbl_servers; /* guint: the indices of servers that consult a DNSBL */
    gpointer checks;     /* mail_auth.c's own state (caches), or NULL */
    GDestroyNotify checks_free;
} MsMailAuth;

/* The layer's auth state, made on first use. */
MsMailAuth *ms__auth_get(MsMail *mail);
void ms__auth_free(MsMailAuth *auth);
/* The settings of server index `server`, made on first use. */
MsMailAuthServer *ms__auth_server_get(MsMail *mail, guint server);
/* Frees a pending direct send (mail_auth_send.c). */
void ms__auth_direct_free(gpointer direct);
/* The settings of server s, or NULL when it has none. */
MsMailAuthServer *ms__auth_server(MsMail *mail, const MsMailServer *s);
/* A new ledger entry for a check of message id made now (where, results
 * and action for the caller to fill); valid until the next one. */
MsMailAuthLedger *ms__auth_ledger_add(MsMail *mail, guint32 message);
/* The ledger for the merge of a partitioned run (mail_merge.c): how many
 * checks, the i-th in the order made (*message gets its message id), and
 * forgetting them all (the merge puts back every part's, re-keyed). */
guint ms__auth_ledger_len(const MsMail *mail);
const MsMailAuthLedger *ms__auth_ledger_entry(const MsMail *mail, guint i, guint32 *message);
void ms__auth_ledger_reset(MsMail *mail);
/* The DMARC report rows for the same merge: the order key of row i, a
 * row added with its key (its strings must live as long as the mail
 * layer: ms__mail_text), and forgetting them all. */
MsAuthRowKey ms__auth_report_key(const MsMail *mail, guint i);
void ms__auth_report_add(MsMail *mail, const MsMailAuthReportRow *row, MsAuthRowKey key);
void ms__auth_report_reset(MsMail *mail);
/* mail_accept.c and mail_dsn.c, in a partitioned run: recipient rcpt of
 * message was queued at host now (MS_NO_HOST_ID: bounced, out of every
 * queue). Kept only for a domain of a server that consults a DNSBL. */
void ms__auth_note_queued(MsMail *mail, guint32 message, const char *rcpt, MsHostId host);
/* What the merge reads of them, and forgetting them. */
guint ms__auth_queued_len(const MsMail *mail);
const MsAuthQueued *ms__auth_queued_entry(const MsMail *mail, guint i);
guint ms__auth_listings_len(const MsMail *mail);
const MsAuthListing *ms__auth_listing(const MsMail *mail, guint i);
void ms__auth_dnsbl_log_reset(MsMail *mail);
/* Whether rcpt's domain is a domain of a server that consults a DNSBL. */
gboolean ms__auth_dnsbl_domain(MsMail *mail, const char *rcpt);

/* mail_auth_send.c: called by ms__mail_accept for each local recipient
 * before its mailbox: TRUE when `local` is an alias of s (a forward or a
 * list), which then took the message on its way. */
gboolean ms__auth_alias_take(MsMail *mail, MsMailServer *s, guint32 message, const char *from,
                             const char *rcpt, const char *local, GBytes *data);
/* Is `local` a forward or a list of s (its RCPT is accepted like a user's)? */
gboolean ms__auth_is_alias(MsMail *mail, const MsMailServer *s, const char *local);

/* mail_auth.c: the checks. A check asks its DNS questions one at a time
 * through the server's resolver and ends in `done` (never synchronously);
 * ms__auth_check_cancel() drops a check whose session is gone. */
typedef struct _MsAuthCheck MsAuthCheck;
typedef struct {
    MsMailAuthAction action;
    char *header;       /* "Authentication-Results: ...\r\n" (message checks) */
    char *reply_text;   /* REJECT: the 550 5.7.1 text */
    const char *listed; /* DNSBL: the zone that lists the client, or NULL */
} MsAuthVerdict;
typedef void (*MsAuthCheckDone)(MsMail *mail, const MsAuthVerdict *verdict, gpointer user_data);
gboolean ms__auth_wants_dnsbl(MsMail *mail, const MsMailServer *s);
gboolean ms__auth_dnsbl_at_rcpt(MsMail *mail, const MsMailServer *s);
gboolean ms__auth_wants_checks(MsMail *mail, const MsMailServer *s);
gboolean ms__auth_login_match(MsMail *mail, const MsMailServer *s);
MsAuthCheck *ms__auth_dnsbl_start(MsMail *mail, MsMailServer *s, MsHostId peer, guint32 peer_addr,
                                  MsAuthCheckDone done, gpointer user_data);
/* rcpt_to: the transaction's first RCPT (a DMARC report row's envelope_to). */
MsAuthCheck *ms__auth_check_start(MsMail *mail, MsMailServer *s, guint32 message, MsHostId peer,
                                  guint32 peer_addr, const char *helo, const char *mail_from,
                                  const char *rcpt_to, GBytes *data, MsAuthCheckDone done,
                                  gpointer user_data);
void ms__auth_check_cancel(MsAuthCheck *check);
/* The message with s's DKIM-Signature on top when s holds a key for its
 * From: domain, else data itself (a new reference either way). */
GBytes *ms__auth_sign(MsMail *mail, MsMailServer *s, guint32 message, GBytes *data);

/* Structures shared by the files of the mail layer (the .c files of sim/mail): the
 * world's servers, clients, queue entries and work in flight, and the
 * internal functions each file offers the others, grouped by file. Not
 * public. */
#pragma once

#include "mailsim/mail.h"
#include "mailsim/smtp_server.h"
#include "mailsim/smtp_client.h"
#include "mailsim/pop3_server.h"
#include "mailsim/pop3_client.h"
#include "mailsim/imap_client.h"
#include "mailsim/imap_server.h"
#include "mailsim/mail_imap.h"
#include "mailsim/tls.h"
#include "mailsim/tls_pki.h"

#define MS_NO_SERVER  G_MAXUINT
#define MS_NO_HOST_ID G_MAXUINT32
/* RFC 5321 6.3: a message with this many Received: headers is looping. */
#define MS_MAIL_LOOP_LIMIT 100
/* Postfix smtp_mx_address_limit: addresses tried per delivery attempt. */
#define MS_MX_ADDRESS_LIMIT 5
/* postgrey's default delay. */
#define MS_GREYLIST_DELAY (300 * MS_TIME_S)
/* A queue id's buffer: "%X%04X" of a 32-bit host id and a 32-bit count is
 * at most 8 + 8 hex digits, and a NUL: never truncated. */
#define MS_MAIL_QID_SIZE 17

typedef struct _MsMailQueueEntry MsMailQueueEntry;
typedef struct _MsMailFolded MsMailFolded;
#define MS__RECORD_PAGE 1024u
typedef struct _MsMailTls MsMailTls;

/* Work in flight that a connection or a DNS look-up holds through its
 * callback data (SMTP and POP3 sessions, submissions, delivery attempts,
 * address look-ups). Each links itself into MsMail.live while it lives, so
 * that a run stopped midway (--until) still frees it with the mail layer. */
typedef struct {
    GList link;             /* in MsMail.live; data: the owner */
    GDestroyNotify release; /* the owner's own free function (it unlinks) */
} MsLive;
typedef struct _MsMailServer MsMailServer;

/* What a listening port's callbacks get as user data. */
typedef struct {
    MsMail *mail;
    MsMailServer *server;
    guint16 port;
} MsMailListenCtx;

struct _MsMailServer {
    guint index;
    MsHostId host;
    MsMailListenCtx lsn_smtp, lsn_submission, lsn_pop3, lsn_smtps, lsn_pop3s, lsn_imap, lsn_imaps;
    char *hostname;
    GPtrArray *domains;    /* char*, lower case */
    GPtrArray *backup_for; /* char*, lower case: domains relayed as a backup MX */
    MsMtaPolicy policy;
    MsResolver *resolver; /* owned, may be NULL */
    MsMailStore *store;
    GPtrArray *user_names; /* another part's server: its users' names, its store empty; or NULL */
    MsHostId smarthost;    /* MS_NO_HOST_ID: deliver by MX */
    GArray *trusted;    /* MsHostId allowed to relay through us */
    GPtrArray *queue;   /* MsMailQueueEntry*, in arrival order */
    guint next_qid;
    guint n_dsn;      /* bounces this server made: their labels */
    guint pop3_count; /* POP3 sessions accepted: APOP tokens */
    guint peak_queue;
    GHashTable *greylist; /* "ip/from/rcpt" -> MsTime* first seen */
    GArray *rules;        /* MsReplyRule with owned strings */
    MsTime command_delay;
    gboolean has_readers; /* a simulated client checks this server's mail over POP3 */
    MsTlsCredentials *tls_cred; /* its certificate and key when it speaks TLS, or NULL */
    guint8 ticket_key[16];      /* its session ticket key (mail_tls.c), once ticket_key_set */
    gboolean ticket_key_set;
    MsMailImap *imap; /* IMAP state over the store once a client reads it over IMAP, or NULL */
    GPtrArray *imapd; /* its live IMAP sessions (mail_imapd.c), in order of acceptance */
};

typedef struct {
    guint index;
    MsHostId host;
    char *address; /* user@domain */
    char *user, *domain;
    char *password;
    guint smtp_server, pop3_server;
    gboolean keep;
    GPtrArray *seen_uids; /* char*, for keep-on-server */
    gboolean checking;    /* a POP3 session is running */
    MsMailClientTls submit_tls, pop3_tls;
    guint logins_tls, logins_clear; /* passwords sent inside TLS and in the clear */
    /* IMAP (mail_imapc.c): the server it reads at instead of POP3 (or
     * MS_NO_SERVER), whether it stays in IDLE, its TLS, and what it knows
     * of INBOX between sessions */
    guint imap_server;
    gboolean idle;
    MsMailClientTls imap_tls;
    guint32 uidvalidity, uidnext;
    /* every message this device has shown its user: MsMailSeen, in order */
    GArray *seen;
} MsMailClient;

/* A message a device has shown its user (POP3 download or IMAP fetch). */
typedef struct {
    guint32 message;
    MsTime at;
} MsMailSeen;

struct _MsMailQueueEntry {
    MsMail *mail;
    MsMailServer *server;
    guint32 message;
    char qid[MS_MAIL_QID_SIZE];
    char *from;       /* envelope sender, "" for a DSN */
    GPtrArray *rcpts; /* char*, all in `domain` */
    char *domain;
    GBytes *data; /* the message, with this server's Received: on top */
    MsTime queued_at;
    guint attempts;    /* delivery attempts made */
    MsEventId timer;   /* retry timer */
    gboolean busy;     /* an attempt is running */
    gboolean outbound; /* the attempt is a handoff out of the world */
    /* the running attempt */
    GArray *addrs;      /* guint32 addresses to try, in order */
    GArray *addr_hosts; /* MsHostId per address (for traces) */
    guint next_addr;
    gboolean tls_clear_retry; /* the next attempt, to the same address, goes in clear:
                               * opportunistic TLS failed there (mail_mta.c) */
    char *last_error; /* for deferral and bounce text */
    char last_status[12];
};

struct _MsMail {
    MsNet *net;
    MsTcp *tcp;
    MsEngine *engine;
    MsTrace *trace;
    GPtrArray *servers;     /* MsMailServer* */
    GPtrArray *clients;     /* MsMailClient* */
    GArray *server_of_host; /* guint per host id: index + 1 of its (first) server, 0 for none */
    GHashTable
        *local_domains; /* lower-case domain -> index + 1 of the first server that takes its mail */
    GHashTable *backup_domains; /* lower-case domains some server is a backup MX for (a set) */
    /* Message records (mail_record.c): pages of MS__RECORD_PAGE record
     * pointers, page k for ids k * MS__RECORD_PAGE + 1 ..; a page whose
     * records were all folded is freed (NULL). */
    GPtrArray *record_pages;
    guint32 n_records;   /* ids handed out: 1..n_records */
    GStringChunk *texts; /* the fixed strings of records that are never folded (ms__mail_text) */
    /* Folding finished records (ms_mail_set_fold_records). */
    gboolean fold;
    guint32 keep_first;
    GHashTable *live_mids;      /* fold: Message-ID -> MsMessageRecord* of each live record */
    MsMailFolded *folded;       /* fold: what the folded records add up to (mail_stats.c) */
    GQueue live;                /* MsLive: work in flight */
    gboolean keep_bodies;       /* FALSE: stores nobody reads only count deliveries */
    guint16 ev_submit, ev_check, ev_retry, ev_pop3_resume, ev_smtpd_flush;
    guint16 ev_connect_timeout; /* an MTA's connect timeout (mail_mta.c) */
    guint16 ev_imapc_renew;     /* an IMAP client renews its IDLE (mail_imapc.c) */
    gboolean ev_imapc_renew_ok; /* ev_imapc_renew is registered */
    GPtrArray *pending;        /* submissions not yet made (mail_mua.c) */
    GHashTable *by_message_id; /* foreign Message-ID header -> id (bridge injections only) */
    GPtrArray *by_origin;      /* per origin host: GArray of guint32 ids by Message-ID number - 1 */
    guint32 *origin_count;     /* per host: messages it originated (Message-ID numbers) */
    guint n_origin_count;
    gboolean partitioned; /* one part of a partitioned world: shadows for others' messages */
    gboolean merged;      /* records are the merge of every part's (queues are elsewhere) */
    /* the creation key of the last record made (see MsMessageRecord) */
    MsTime last_create_t;
    MsHostId last_create_src;
    guint64 last_create_seq;
    guint32 last_create_idx;
    gboolean told_dns, told_routing; /* asides given once per run */
    gboolean told_tls_may;           /* the aside on opportunistic TLS, once */
    gboolean told_tls_fallback;      /* the aside on the clear-text fallback, once */
    gboolean flat_dns;
    guint64 smtp_sessions, pop3_sessions, imap_sessions;
    MsMailOutboundFunc outbound; /* the way out of the world, or NULL */
    gpointer outbound_data;
    /* TLS (mail_tls.c): NULL pki means the world speaks no TLS at all */
    MsTlsPki *pki;
    GHashTable *tls_rngs; /* MsHostId -> MsRng*: looked up, never iterated */
    GHashTable *tls_key_caches; /* MsHostId -> MsTlsKeyCache*: looked up, never iterated */
    MsTlsKeylogFunc keylog;
    gpointer keylog_data;
    guint64 tls_handshakes, tls_failures, tls_resumed;
    /* "client host id/server name" -> MsTlsSession*: the last ticket each
     * client host holds per server name; looked up, never iterated */
    GHashTable *tls_sessions;
    gboolean tls_no_resumption;
    MsTlsPskMode tls_psk_mode;
    guint64 hops_tls, hops_clear; /* SMTP and POP3 sessions that carried mail or a login */
    guint64 logins_tls, logins_clear;
    /* downgrade attackers, MTA-STS, the per-message TLS ledger
     * (mail_downgrade.c, mail_tls_policy.c); NULL until first used */
    struct _MsMailTlsPolicy *tls_policy;
    /* sender authentication (mail_auth.c, mail_auth_send.c); NULL until first used */
    struct _MsMailAuth *auth;
};

/* mail.c: the MsMail object, its servers and clients, work in flight, traces */
/* Sends `out` (consumed) on conn: what every session does with the bytes
 * its protocol core produces. */
void ms__send_bytes(MsMail *mail, MsTcpConnId conn, GBytes *out);
void ms__live_add(MsMail *m, MsLive *l, gpointer owner, GDestroyNotify release);
void ms__live_remove(MsMail *m, MsLive *l);
void ms__mail_note(MsMail *mail, MsHostId host, MsHostId peer, guint32 message, const char *fmt,
                   ...) G_GNUC_PRINTF(5, 6);
void ms__mail_aside(MsMail *mail, MsHostId host, guint32 message, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
void ms__mail_proto_line(MsMail *mail, MsHostId host, MsHostId peer, guint32 message,
                         const char *proto, gboolean outgoing, const char *line);
gboolean ms__server_is_local(const MsMailServer *s, const char *domain);
/* The sorted user names of s (a new reference): its store's, or those set
 * for another part's server (ms_mail_set_user_names()). */
GPtrArray *ms__mail_server_users(const MsMailServer *s);
gboolean ms__server_is_backup_for(const MsMailServer *s, const char *domain);
/* Does a delivery to s keep the message (someone may read it)? */
gboolean ms__server_keeps_bodies(const MsMail *mail, const MsMailServer *s);
/* Whether some server of the world takes or backs up mail for `domain`. */
gboolean ms__mail_domain_in_world(MsMail *mail, const char *domain);

/* mail_tls.c: TLS between simulated TCP and a session's protocol core */
typedef enum {
    MS_MAIL_TLS_NOTHING,     /* nothing to report */
    MS_MAIL_TLS_ESTABLISHED, /* the handshake has just completed */
    MS_MAIL_TLS_FAILED,      /* it failed or the peer closed: end the session */
} MsMailTlsEvent;
/* The per-host TLS stream ("tls/<host id>" off the run's seed). */
MsRng *ms__mail_tls_rng(MsMail *mail, MsHostId host);
/* A client channel on conn: the ClientHello leaves at once. verify: a
 * certificate that fails the PKI's check fails the handshake (else the
 * narration only says what the check found). Caller frees. */
MsMailTls *ms__mail_tls_client_new(MsMail *mail, MsTcpConnId conn, MsHostId host, MsHostId peer,
                                   const char *server_name, guint16 port, gboolean verify,
                                   gboolean starttls, guint32 message);
/* A server channel for s on conn, waiting for the ClientHello. */
MsMailTls *ms__mail_tls_server_new(MsMail *mail, MsTcpConnId conn, MsMailServer *s, MsHostId peer,
                                   guint32 message);
void ms__mail_tls_free(MsMailTls *t);
/* A client's own check of the server's chain instead of the PKI's (DANE,
 * mail_tls_policy.c): TRUE accepts; FALSE sets *alert and *why. */
typedef gboolean (*MsMailTlsVerifier)(GBytes *const *chain, guint n_certs, const char *server_name,
                                      guint8 *alert, char **why, gpointer data);
void ms__mail_tls_set_verifier(MsMailTls *t, MsMailTlsVerifier fn, gpointer data);
/* TCP octets in; records the endpoint answers with leave at once; *plain
 * gets the application data opened (caller unrefs), or NULL. */
MsMailTlsEvent ms__mail_tls_feed(MsMailTls *t, const guint8 *data, gsize len, GBytes **plain);
/* Seals plain (consumed) and sends it (queued until the handshake ends). */
void ms__mail_tls_send(MsMailTls *t, GBytes *plain);
/* What a session's core wrote, onto its connection: sealed by t, or as it
 * is when t is NULL (no TLS yet). out is consumed. Used by the sessions'
 * pumps (mail_imapd.c, mail_imapc.c, mail_pop3.c, mail_mua.c, mail_mta.c). */
void ms__mail_tls_out(MsMailTls *t, MsMail *mail, MsTcpConnId conn, GBytes *out);
/* close_notify (RFC 8446 6.1) before the TCP close; nothing when t is NULL. */
void ms__mail_tls_close(MsMailTls *t);
const char *ms__mail_tls_error(const MsMailTls *t);
/* The octets a session's core should read from `data` that arrived on its
 * connection: `data` itself when `t` is NULL (no TLS yet), else what the
 * channel opened (NULL for none; caller unrefs). *established: the
 * handshake finished with these octets; *failed: it failed (or the peer
 * closed it), and nothing is returned: the caller tells its core and ends
 * the session. Used by the SMTP, POP3 and IMAP servers (mail_smtpd.c,
 * mail_pop3.c, mail_imapd.c). */
GBytes *ms__mail_tls_in(MsMailTls *t, const guint8 *data, gsize len, gboolean *established,
                        gboolean *failed);
/* The same for a client, whose core is told why: *failed is "TLS with
 * SERVER failed: why" (caller frees) or NULL. Shared by the SMTP, POP3 and
 * IMAP clients (mail_mua.c, mail_pop3.c, mail_imapc.c) and the MTA's
 * attempts (mail_mta.c). */
GBytes *ms__mail_tls_client_in(MsMailTls *t, const char *server_name, const guint8 *data,
                               gsize len, gboolean *established, char **failed);
/* The connection under the channel ended with the peer's FIN: without a
 * close_notify received first that is a truncation (RFC 8446 6.1), told
 * once in the story and returned (the endpoint's reason, borrowed); NULL
 * after an orderly close or a failure already reported. */
const char *ms__mail_tls_eof(MsMailTls *t);
/* TRUE while the channel's handshake is still running. */
gboolean ms__mail_tls_handshaking(const MsMailTls *t);
/* Counts a hop (a session that carried a message or a login) as
 * encrypted or clear, and a login likewise: the summary's figures. */
void ms__mail_tls_count_hop(MsMail *mail, guint32 message, gboolean encrypted);
void ms__mail_tls_count_login(MsMail *mail, MsMailClient *client, gboolean encrypted);
/* A mail program's login to s has left: counted and, in a world that
 * speaks TLS, told: inside TLS, or in the clear with what anyone on the
 * path `reads` (the commands, password and all). The POP3 and IMAP checks
 * (mail_pop3.c, mail_imapc.c); a submission tells its AUTH its own way. */
void ms__mail_tls_tell_login(MsMail *mail, MsMailClient *client, const MsMailServer *s,
                             gboolean inside, const char *reads);

/* mail_record.c: message records and the Message-ID index */
/* Sets up and frees the records, their texts and the index (ms_mail_new
 * and ms_mail_free). */
void ms__mail_records_init(MsMail *mail);
void ms__mail_records_clear(MsMail *mail);
/* A new record (every recipient with the client, at `origin`) with a
 * Message-ID "<label.N@origin>"; `parent`: the message a DSN reports on, or
 * 0. Strings are copied. Returns its id. */
guint32 ms__mail_new_record(MsMail *mail, const char *label, const char *from,
                            const char *const *rcpts, const char *subject, MsHostId origin,
                            guint32 parent);
/* Record id, or NULL when there is none. Valid until the next record is
 * made (the array moves). */
MsMessageRecord *ms__mail_record(MsMail *mail, guint32 id);
/* The record of `address` in message id; a shadow record gets one made. */
MsRcptRecord *ms__mail_rcpt(MsMail *mail, guint32 id, const char *address);
/* Frees a recipient record's strings (a GArray clear function). */
void ms__rcpt_clear(gpointer rcpt);
/* A copy of `s` (NULL for NULL) that lives as long as the mail layer: what
 * records hold for their label, sender, subject, Message-ID and recipient
 * addresses. Packed in large blocks, without a malloc per string: a run of
 * millions of messages keeps these for every one. */
char *ms__mail_text(MsMail *m, const char *s);
/* Ids handed out so far (records 1..n, some perhaps folded). */
guint32 ms__mail_n_records(const MsMail *mail);
/* The live record after *id (start at 0), setting *id to its id; NULL
 * after the last. Skips folded ones at a page a step. */
const MsMessageRecord *ms__mail_record_next(const MsMail *mail, guint32 *id);
/* Frees every record and the index (a merge installs new ones). */
void ms__mail_records_reset(MsMail *mail);
/* Appends a copy of *r (taking r->rcpts) as record n + 1, indexed; its
 * strings must live as long as the mail layer (ms__mail_text). Returns the id. */
guint32 ms__mail_record_install(MsMail *mail, const MsMessageRecord *r);
/* Who needs record id to stay: a record starts held by its creator, which
 * releases it once it has handed the message on; queue entries and
 * submissions hold it while they live. When the last holder lets go of a
 * finished message (every recipient delivered, bounced or refused), a mail
 * layer that folds records folds it (see ms_mail_set_fold_records), so a
 * caller must not use the record after its release. */
void ms__mail_hold(MsMail *mail, guint32 id);
void ms__mail_release(MsMail *mail, guint32 id);
/* The message was stored where a client may read it: never fold it. */
void ms__mail_pin(MsMail *mail, guint32 id);

/* mail_stats.c: what folded records add up to */
void ms__mail_folded_init(MsMail *mail, guint exact_limit);
void ms__mail_folded_clear(MsMail *mail);
/* Adds record r to the folded totals (mail_record.c frees it next). */
void ms__mail_fold_stats(MsMail *mail, const MsMessageRecord *r);

/* Stamps a change of a recipient's state, where or detail (merging partitioned runs). */
void ms__rcpt_touch(MsMail *mail, MsRcptRecord *rr);
/* Our id for the Message-ID: header of a message, or 0. */
guint32 ms__mail_message_from_data(MsMail *mail, GBytes *data);
/* Our id for a Message-ID; a partitioned run makes a shadow for one it has
 * not seen (data[0..n), the message, if known, gives its subject). */
guint32 ms__mail_message_by_mid(MsMail *mail, const char *mid, const char *data, gsize n);
/* Makes record id findable by its Message-ID (origin and number). */
void ms__mail_index(MsMail *mail, guint32 id);
void ms__mail_index_clear(MsMail *mail);
/* Our record with this Message-ID, or 0 (never makes one). */
guint32 ms__mail_lookup_mid(MsMail *mail, const char *mid);

/* mail_header.c */
/* The value of the first field `name` (no colon; case-insensitive) in the
 * header section of d[0..n), without leading blanks, up to the end of its
 * line; NULL when there is none. Caller frees. */
char *ms__mail_header_value(const char *d, gsize n, const char *name);
/* The number of Received: fields in the header section (RFC 5321 6.3). */
guint ms__count_received(GBytes *data);
/* A new message: `header` (one or more CRLF-terminated fields) followed by
 * data (borrowed). Caller unrefs. */
GBytes *ms__prepend_header(GBytes *data, const char *header);
/* The RFC 5322 date of simulated time t, written into out; returns out. */
#define MS_MAIL_DATE_SIZE 32
char *ms__mail_date(MsTime t, char out[MS_MAIL_DATE_SIZE]);
/* After the last '@' of address ("" without one): borrowed from address. */
const char *ms__address_domain(const char *address);
/* Before the last '@' (all of it without one). Caller frees. */
char *ms__address_local(const char *address);

/* mail_faults.c */
void ms__rules_free(GArray *rules);
/* Fills `reply` when a rule of s matches (command, sender, recipient) now. */
gboolean ms__rules_match(MsMail *mail, MsMailServer *s, MsFaultCommand command, const char *from,
                         const char *to, MsSmtpReply *reply);

/* mail_smtpd.c */
void ms__smtpd_listen(MsMail *mail, MsMailServer *s);

/* mail_accept.c: accepting a message into a server's care */
/* Writes s's next queue id ("<host in hex><count>") into out. */
void ms__mail_queue_id(MsMailServer *s, char out[MS_MAIL_QID_SIZE]);
/* A new copy of data (borrowed) with s's Received: header on top (RFC
 * 5321 4.4): "Received: <from_clause>by <hostname> (<agent>) with <with>
 * id <id>\r\n\tfor <rcpt>; <date>\r\n"; from_clause ends with the
 * separator before "by". Caller unrefs. */
GBytes *ms__mail_stamp(MsMail *mail, MsMailServer *s, const char *from_clause, const char *agent,
                       const char *with, const char *id, const char *rcpt, GBytes *data);
/* Accepts a message into s's care: every recipient is marked queued at s,
 * then local recipients go to mailboxes (or bounce) and the others to the
 * queue, one entry per destination domain. data is borrowed. */
void ms__mail_accept(MsMail *mail, MsMailServer *s, guint32 message, const char *from,
                     const char *const *rcpts, guint n_rcpts, GBytes *data);
/* The same; junk: local recipients get it with the Junk flag (DMARC
 * quarantine). */
void ms__mail_accept_full(MsMail *mail, MsMailServer *s, guint32 message, const char *from,
                          const char *const *rcpts, guint n_rcpts, GBytes *data, gboolean junk);

/* mail_dsn.c */
/* Why a server gives up on a recipient, as its DSN reports it (RFC 3464
 * 2.2 and 2.3). Strings are borrowed. */
typedef struct {
    const char *status;     /* RFC 3463 code (Status:), "5.1.1" */
    const char *reply;      /* the SMTP reply as the remote MTA sent it ("550 5.1.1 ..."), or
                             * NULL when the reporting MTA decided itself */
    const char *remote_mta; /* the host that sent `reply` (Remote-MTA:), or NULL */
    const char *text;       /* without a reply: the reporting MTA's own words (X-Postfix;) */
    MsTime arrival;         /* when the message came into the reporting MTA (Arrival-Date:) */
} MsBounceReason;
/* Marks `rcpt` of message bounced at s (why) and, unless `from` is empty,
 * makes an RFC 3464 DSN to `from` quoting the header section of `original`
 * (borrowed, may be NULL) and accepts it at s. */
void ms__mail_bounce(MsMail *mail, MsMailServer *s, guint32 message, const char *from,
                     const char *rcpt, const MsBounceReason *why, GBytes *original);

/* mail_mta.c */
void ms__mta_enqueue(MsMail *mail, MsMailServer *s, guint32 message, const char *from,
                     GPtrArray *rcpts, const char *domain, GBytes *data);
void ms__mta_init(MsMail *mail);
void ms__queue_entry_free(MsMailQueueEntry *e);

/* mail_pop3.c */
void ms__pop3d_listen(MsMail *mail, MsMailServer *s);
void ms__pop3_init(MsMail *mail);
void ms__mua_check(MsMail *mail, MsMailClient *c);

/* mail_imapd.c: the IMAP service of simulated servers */
/* Starts s's IMAP service (port 143, and 993 when s speaks TLS) over its
 * store; once per server, when a client first reads it over IMAP. */
void ms__imapd_listen(MsMail *mail, MsMailServer *s);
/* A message was stored for `user` at s: idling sessions hear of it now
 * (RFC 2177), the others at their next command. */
void ms__imapd_notify(MsMail *mail, MsMailServer *s, const char *user);

/* mail_imapc.c: the IMAP side of a simulated mail program */
/* A mail check over IMAP (a session that stays in IDLE if the client
 * idles). Does nothing while the client's last check still runs. */
void ms__imap_check(MsMail *mail, MsMailClient *c);
/* A copy of a message the client sent, into its Sent folder (APPEND in a
 * short session of its own). data is borrowed. */
void ms__imap_save_sent(MsMail *mail, MsMailClient *c, guint32 message, GBytes *data);
/* Notes that the device of c showed message `id` to its user now (its
 * first sighting only): per-device record, and the recipient's record
 * for the first device. Returns TRUE when it was the device's first. */
gboolean ms__mail_seen(MsMail *mail, MsMailClient *c, guint32 id);

/* mail_mua.c */
GBytes *ms__mail_compose(MsMail *mail, const char *from, const MsMessageRecord *record,
                         const char *const *to, const char *const *cc, const char *body,
                         guint64 size);
void ms__mua_init(MsMail *mail);

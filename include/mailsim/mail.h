/* The mail layer of a simulated world: mail servers (MSA on port 587 with
 * SMTP AUTH, MX on port 25, an MTA queue that looks up MX records, relays,
 * retries and bounces, mailboxes and a POP3 server on port 110) and mail
 * clients (submission and POP3 checks), all speaking real SMTP and POP3
 * through the sans-I/O protocol cores over TCP-lite.
 *
 * Every message gets an id and a life record; at the end of a run the
 * totals must balance: for each recipient of each message accepted by a
 * server, delivered + bounced + still queued. */
#pragma once

#include <glib.h>
#include "mailsim/net.h"
#include "mailsim/tcp.h"
#include "mailsim/dns_resolver.h"
#include "mailsim/mail_store.h"
#include "mailsim/mta_profile.h"
#include "mailsim/pop3_server.h"
#include "mailsim/tls.h"
#include "mailsim/sketch.h"

G_BEGIN_DECLS

typedef struct _MsMail MsMail;

#define MS_SMTP_PORT       25
#define MS_SUBMISSION_PORT 587
#define MS_POP3_PORT       110
#define MS_SMTPS_PORT      465 /* submission over implicit TLS (RFC 8314 3.3) */
#define MS_POP3S_PORT      995 /* POP3 over implicit TLS (RFC 8314 3.3) */
#define MS_IMAP_PORT       143
#define MS_IMAPS_PORT      993 /* IMAP over implicit TLS (RFC 8314 3.3) */
/* The civil time at which every run starts, in seconds since 1970-01-01
 * UTC: Sunday 2026-11-29 00:00:00 UTC. The Date: and Received: headers
 * count simulated time from it, and captures stamp packets with the same
 * clock (pcapng timestamps are Unix time), so both tell the same date. */
#define MS_MAIL_EPOCH_UNIX G_GINT64_CONSTANT(1795910400)

typedef enum {
    MS_RCPT_WITH_CLIENT, /* not accepted by any server (yet) */
    MS_RCPT_REFUSED,     /* the submission server refused it: it stays with the client */
    MS_RCPT_QUEUED,      /* accepted, on its way */
    MS_RCPT_DELIVERED,   /* stored in a mailbox */
    MS_RCPT_BOUNCED,     /* given up, a DSN sent to the sender (unless the sender was <>) */
} MsRcptState;

/* What happened to one recipient of one message. The address, like a
 * message record's label, from, subject and message_id, is owned by the
 * mail layer and lives as long as it; `detail` is the record's own. */
typedef struct {
    char *address;
    MsRcptState state;
    MsTime done_at;  /* delivered / bounced at */
    char *detail;    /* "sales@diversicomcorp.com at mx.diversicomcorp.com" or the bounce reason */
    char status[12]; /* enhanced status of a bounce ("5.1.1") */
    MsHostId where;  /* the server holding it (queued) or storing it (delivered) */
    guint attempts;  /* delivery attempts by MTAs (connections tried) */
    guint deferrals;
    guint received_headers; /* in the stored copy */
    guint hops;             /* servers that accepted it */
    MsTime retrieved_at;    /* by POP3, or 0 */
    MsHostId retrieved_by;
    MsTime updated_at; /* last change of state, where or detail (-1: never) */
    gboolean held;     /* merged records: a server of the part that queued it holds it */
} MsRcptRecord;

typedef struct {
    guint32 id;  /* 1, 2, ... */
    char *label; /* the scenario's id ("m1"), or "dsn-1" */
    char *from;
    char *subject;
    char *message_id;  /* the Message-ID header */
    MsTime created_at; /* submitted (or bounce created) at */
    guint32 parent;    /* for a DSN: the message it reports on, else 0 */
    gboolean is_dsn;
    MsHostId origin;  /* client host or bouncing server */
    guint32 origin_n; /* the origin's own count of messages: the Message-ID's number */
    GArray *rcpts;    /* MsRcptRecord */
    /* Partitioned runs. A shadow is the partial record a part keeps for a
     * message another part created (it saw it pass); the creation key
     * (time, scheduling host and counter of the event that created it, rank
     * within that event; create_t -1 for set-up) orders records as a
     * sequential run numbers them. */
    gboolean shadow;
    /* Hops (SMTP sessions that handed the message on) inside TLS and in
     * the clear. Not carried across the parts of a partitioned run. */
    guint16 hops_tls, hops_clear;
    MsTime create_t;
    MsHostId create_src;
    guint64 create_seq;
    guint32 create_idx;
} MsMessageRecord;

/* A new mail layer over net and tcp (borrowed). Returns a new object
 * (caller frees). */
MsMail *ms_mail_new(MsNet *net, MsTcp *tcp);
void ms_mail_free(MsMail *mail);

/* Tells the narration that the world's DNS is one flat registry (its
 * asides then say how the real Internet differs). */
void ms_mail_set_flat_dns(MsMail *mail, gboolean flat);

/* Whether delivered messages are kept in full (TRUE, the default: what
 * lessons and POP3 need). With FALSE, a server that no simulated client
 * checks over POP3 only counts what it delivers (quota, totals and the
 * accounting stay exact; nothing of the message is kept), delivered
 * recipients get no `detail` text (their `where` says where), and the memory
 * of a run is the queues' content, not every message ever sent. Servers
 * some client checks keep bodies either way. Set before the run. */
void ms_mail_set_keep_bodies(MsMail *mail, gboolean keep);

/* Adds a mail server on `host` for the given domains (may be empty: a
 * relay) using `resolver` (owned, may be NULL for a relay with a
 * smarthost). Returns the server index. */
guint ms_mail_add_server(MsMail *mail, MsHostId host, const char *const *domains,
                         const MsMtaPolicy *policy, MsResolver *resolver);
/* All non-local mail of `server` goes through `relay_host` (a smarthost);
 * the relay trusts it (as Postfix's mynetworks). */
void ms_mail_set_smarthost(MsMail *mail, guint server, MsHostId relay_host);
/* Makes `server` a backup MX for `domain` (not one of its own): its port 25
 * accepts mail for any recipient there from anyone, queues it and delivers
 * it to the domain's MX hosts that are more preferred than itself (RFC 5321
 * 5.1), as Postfix does for its relay_domains. */
void ms_mail_add_backup_domain(MsMail *mail, guint server, const char *domain);
gboolean ms_mail_add_user(MsMail *mail, guint server, const char *user, const char *password,
                          guint64 quota);
MsMailStore *ms_mail_server_store(MsMail *mail, guint server);
/* A server another part of a partitioned run runs: instead of users in its
 * store (which stays empty: no session of it runs here), the names of its
 * users, as ms_mail_store_users() would list them (lower case, sorted), for
 * the workloads here that draw recipients from them. Takes `names` (a
 * GPtrArray whose free function, if any, frees its strings; the strings
 * must outlive `mail` otherwise). */
void ms_mail_set_user_names(MsMail *mail, guint server, GPtrArray *names);
guint ms_mail_server_by_host(MsMail *mail, MsHostId host); /* G_MAXUINT if none */

/* Adds a client on `host` for user address `address` (user@domain) with its
 * password, submitting to `smtp_server` and checking mail at `pop3_server`
 * (server indices; G_MAXUINT for none). Returns the client index. */
guint ms_mail_add_client(MsMail *mail, MsHostId host, const char *address, const char *password,
                         guint smtp_server, guint pop3_server, gboolean keep_on_server);

/* How a client protects a protocol: not at all, STARTTLS (or STLS) on the
 * usual port, required before the login, or implicit TLS on 465 / 995
 * (RFC 8314 3.3). Only when the world speaks TLS (ms_mail_enable_tls). */
typedef enum {
    MS_MAIL_CLIENT_TLS_NONE = 0,
    MS_MAIL_CLIENT_TLS_STARTTLS,
    MS_MAIL_CLIENT_TLS_IMPLICIT,
} MsMailClientTls;
void ms_mail_set_client_tls(MsMail *mail, guint client, MsMailClientTls submission,
                            MsMailClientTls pop3);
/* The client reads its mail over IMAP at `imap_server` instead of POP3:
 * the mail stays on the server, each check fetches what this device has
 * not seen yet (marking it \Seen, a flag every device shares), and a copy
 * of each message it sends goes to its Sent folder (APPEND). With `idle`
 * the first check opens a session that stays in IDLE (RFC 2177), so the
 * server pushes new mail at once. `tls`: as ms_mail_set_client_tls (used
 * only when the world speaks TLS). Several clients on different hosts
 * may read one mailbox: a phone and a laptop. Set before the run. */
void ms_mail_set_client_imap(MsMail *mail, guint client, guint imap_server, gboolean idle,
                             MsMailClientTls tls);
/* When the device of `client` first showed message `id` to its user
 * (downloaded over POP3 or fetched over IMAP), or 0 if it never did. */
MsTime ms_mail_client_seen_at(const MsMail *mail, guint client, guint32 id);
/* The clients, and for one: its host, how it reads mail ("POP3", "IMAP",
 * "IMAP IDLE", or NULL when it does not), and over the messages its
 * device showed that had been delivered to its mailbox, how many and the
 * delay from delivery to showing (sum and max): push against polling. */
guint ms_mail_n_clients(const MsMail *mail);
/* Whether some client reads its mail over IMAP (the same in every part
 * of a partitioned run: it depends on the scenario only). */
gboolean ms_mail_uses_imap(const MsMail *mail);
MsHostId ms_mail_client_host(const MsMail *mail, guint client);
const char *ms_mail_client_reads(const MsMail *mail, guint client);
void ms_mail_client_seen_delays(const MsMail *mail, guint client, guint *n, MsTime *total,
                                MsTime *max);
/* How many times `client` sent its password inside TLS and in the clear
 * (SMTP AUTH and POP3 PASS/APOP). */
void ms_mail_client_logins(const MsMail *mail, guint client, guint *inside_tls, guint *clear);

/* Turns TLS on in the world: `pki` (taken) issues a certificate, with the
 * policy's fault, to every server whose policy has tls set (added before
 * this call; each from the stream "tls-cert/<hostname>" off `seed`).
 * Returns FALSE with error set when issuing fails. */
gboolean ms_mail_enable_tls(MsMail *mail, MsTlsPki *pki, guint64 seed, GError **error);
/* Whether the world speaks TLS. */
gboolean ms_mail_tls_enabled(const MsMail *mail);
/* Session resumption (RFC 8446 2.2): servers send tickets, each client host
 * keeps the last ticket per server name (as Postfix's
 * smtp_tls_session_cache and mail clients do) and offers it next time.
 * mode: the key exchange offered with it (default psk_dhe_ke, as OpenSSL
 * and GnuTLS clients); enabled FALSE: no tickets at all. Set before the run. */
void ms_mail_set_tls_resumption(MsMail *mail, gboolean enabled, MsTlsPskMode mode);
/* Every TLS session's secrets, one SSLKEYLOGFILE line at a time (fn NULL:
 * none). Set before the run. */
void ms_mail_set_tls_keylog(MsMail *mail, void (*fn)(const char *line, gpointer user_data),
                            gpointer user_data);

/* Schedules the submission of a message by `client` at time `at`. to and cc
 * are NULL-terminated; body may be NULL (then `size` bytes of text are
 * made). Returns the message id. */
guint32 ms_mail_submit(MsMail *mail, guint client, const char *label, const char *const *to,
                       const char *const *cc, const char *subject, const char *body, guint64 size,
                       MsTime at);
/* The same with From: and MAIL FROM `from` rather than the client's own
 * address (a client that claims to be someone else; the submission server
 * may refuse it, see ms_mail_auth_configure). */
guint32 ms_mail_submit_as(MsMail *mail, guint client, const char *from, const char *label,
                          const char *const *to, const char *const *cc, const char *subject,
                          const char *body, guint64 size, MsTime at);
/* Schedules a mail check by `client` at `at` (POP3, or IMAP for an IMAP
 * client); every `every` after that if > 0. */
void ms_mail_check(MsMail *mail, guint client, MsTime at, MsTime every);

/* Message ids handed out so far (1..n). */
guint ms_mail_n_messages(const MsMail *mail);
/* Record id (1..n), or NULL when it was folded (ms_mail_set_fold_records). */
const MsMessageRecord *ms_mail_message(const MsMail *mail, guint32 id);
const MsMessageRecord *ms_mail_message_by_label(const MsMail *mail, const char *label);

typedef struct {
    guint messages, dsns;
    guint rcpts_accepted; /* recipients accepted by some server */
    guint delivered, bounced, queued, refused, with_client; /* every recipient, DSNs' too */
    guint dsn_delivered, dsn_bounced, dsn_queued;           /* of those, the DSNs' recipients */
    guint retrieved;
    guint deferrals, attempts;
    guint64 smtp_sessions, pop3_sessions;
    /* TLS: handshakes completed and failed; hops (sessions that carried a
     * message or a login) inside TLS and in the clear; logins likewise. */
    guint64 tls_handshakes, tls_failures, hops_tls, hops_clear, logins_tls, logins_clear;
    guint64 tls_resumed; /* of the handshakes, those that resumed a session */
    /* IMAP sessions (server side); recipients some device has shown, and
     * the time from delivery to the first device showing it (sum, max). */
    guint64 imap_sessions;
    guint seen;
    MsTime seen_delay_total, seen_delay_max;
} MsMailStats;
void ms_mail_get_stats(const MsMail *mail, MsMailStats *stats);

/* --- folding finished records (sim/mail/mail_record.c) ---
 * With fold on, a message whose recipients are all delivered, bounced or
 * refused, and which nothing holds any more (its creator, a queue entry, a
 * client's submission), is folded into the statistics and freed: its
 * recipient counts into the totals ms_mail_get_stats() reports, the latency
 * of each delivered recipient of a submitted message into a sketch
 * (include/mailsim/sketch.h: exact up to `exact_limit` values, then within
 * MS_SKETCH_RELATIVE_ERROR), and each delivered path (storing server, origin)
 * into counts, for the routing statistics, for the MS_MAIL_PATH_DESTINATIONS
 * lowest storing servers. The memory of a run then grows with the mail in
 * flight, not with all mail ever sent. Records 1..keep_first, and those of
 * messages stored where a client may read them, are never folded. Only for
 * runs no output of which reads records afterwards (traces, pictures,
 * expectations about single messages, partitioned runs): ms_mail_message()
 * returns NULL for a folded id. Set before the first record is made. */
#define MS_MAIL_FOLD_EXACT_LIMIT  65536
#define MS_MAIL_PATH_DESTINATIONS 256
void ms_mail_set_fold_records(MsMail *mail, gboolean fold, guint keep_first, guint exact_limit);
gboolean ms_mail_folds_records(const MsMail *mail);
/* Records folded so far. */
guint64 ms_mail_n_folded(const MsMail *mail);
/* The latencies (ns, submission to mailbox) of the folded records'
 * delivered recipients of submitted messages; NULL when fold is off. */
const MsSketch *ms_mail_folded_latency(const MsMail *mail);
typedef struct {
    MsHostId where, origin; /* storing server, the message's origin */
    guint32 count;          /* delivered recipients that took this path */
} MsMailPathCount;
/* The delivered paths of folded records (where != origin): appends to
 * `wheres` (MsHostId) every storing server met, ascending, and to `paths`
 * (MsMailPathCount) the counts for the MS_MAIL_PATH_DESTINATIONS lowest of
 * them, ascending by (where, origin). */
void ms_mail_folded_paths(const MsMail *mail, GArray *wheres, GArray *paths);

/* What the queues of all servers hold now: entries (one message for one
 * destination domain at one server) and the bytes they keep (the message
 * itself, the entry and its strings). For benchmarks. O(queued). */
void ms_mail_queue_footprint(const MsMail *mail, guint *entries, guint64 *bytes);

/* --- partitioned runs (see sim/mail/mail_merge.c) --- */

#define MS_MAIL_ERROR (ms_mail_error_quark())
GQuark ms_mail_error_quark(void);

/* Says this mail layer runs one part of a partitioned world: a message seen
 * for the first time (another part created it) gets a shadow record. */
void ms_mail_set_partitioned(MsMail *mail, gboolean partitioned);
/* Exporting a part's records for the merge, in chunks (a length-checked
 * byte format of frames, sim/mail/mail_export.c): its records, its clients'
 * lists and its servers' sender checks, TLS-policy counts, DMARC report rows
 * and DNSBL bookkeeping, all naming messages by Message-ID. Each chunk holds
 * whole frames and closes once it reaches about chunk_bytes, so that a
 * chunk can be merged (or sent) and freed before the next is written. With
 * `release`, after the last chunk the exporter frees what it exported (what
 * a merge into this mail layer replaces: use it for the merging part's own
 * export only). mail must not change while an exporter reads it; the
 * exporter does not own it. */
typedef struct _MsMailExport MsMailExport;
/* The chunk size partitioned runs use: small next to a part's records
 * (about 300 bytes per record and recipient), large enough that the
 * per-chunk costs (a frame header, an MPI message) do not count; its
 * buffer (64 KiB) stays under glibc's threshold for mapping memory apart
 * (128 KiB), so chunks come and go in the heap. */
#define MS_MAIL_EXPORT_CHUNK (60 * 1024)
MsMailExport *ms_mail_export_new(MsMail *mail, gsize chunk_bytes, gboolean release);
/* The next chunk (caller frees), or NULL after the last. */
GBytes *ms_mail_export_next(MsMailExport *export);
void ms_mail_export_free(MsMailExport *export);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMailExport, ms_mail_export_free)
/* This part's whole export in one GBytes (caller frees). */
GBytes *ms_mail_export_records(MsMail *mail);

/* A merge that reads the parts' exports one chunk at a time: each part's
 * chunks in order, the parts in order 0 .. n_parts - 1, then finish, which
 * replaces mail's records by the merge: one record per message, numbered as
 * a sequential run numbers them, each recipient's latest state with counters
 * summed; the clients' lists, the sender checks and the TLS-policy ledger in
 * the merged ids. A chunk is read at once (the caller may free it on
 * return). FALSE with `error` set on malformed input, a part cut short or
 * parts out of order; after a FALSE only ms_mail_merge_free() is left. The
 * merge keeps a pointer to mail, which must outlive it. */
typedef struct _MsMailMerge MsMailMerge;
MsMailMerge *ms_mail_merge_new(MsMail *mail, guint n_parts);
gboolean ms_mail_merge_add(MsMailMerge *merge, guint part, GBytes *chunk, GError **error);
gboolean ms_mail_merge_finish(MsMailMerge *merge, GError **error);
void ms_mail_merge_free(MsMailMerge *merge);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMailMerge, ms_mail_merge_free)
/* The same in one call, from every part's whole export (parts[0..n)). */
gboolean ms_mail_merge(MsMail *mail, GBytes *const *parts, guint n, GError **error);

/* Checks that every accepted recipient is delivered, bounced or queued;
 * appends a line per problem to `report`. TRUE when balanced. */
gboolean ms_mail_check_balance(const MsMail *mail, GString *report);

/* Scripted faults at the mail level: a server answers `code` to a command
 * for matching senders and recipients (shell-style globs, "*" = any),
 * inside a time window, with a probability drawn from the server's random
 * stream. What users of mail test servers ask for most, here deterministic
 * and per hop. */
typedef enum {
    MS_FAULT_CMD_CONNECT, /* the greeting (421 closes, 554 refuses the session) */
    MS_FAULT_CMD_HELO,    /* HELO and EHLO */
    MS_FAULT_CMD_MAIL,
    MS_FAULT_CMD_RCPT,
    MS_FAULT_CMD_DATA,
    MS_FAULT_CMD_EOD, /* the end of the message content */
} MsFaultCommand;

typedef struct {
    MsFaultCommand command;
    guint code;
    const char *enhanced;  /* or NULL */
    const char *text;      /* or NULL */
    const char *from, *to; /* globs; NULL = any */
    MsTime start, end;
    double rate; /* in [0, 1] */
} MsReplyRule;

/* Adds a rule to `server` (strings copied). */
void ms_mail_add_reply_rule(MsMail *mail, guint server, const MsReplyRule *rule);
/* Delays every reply of `server`'s SMTP service by `delay` (a slow server). */
void ms_mail_set_command_delay(MsMail *mail, guint server, MsTime delay);

/* Per-server figures, for statistics. */
typedef struct {
    MsHostId host;
    guint queue_len, peak_queue;
    guint64 dns_lookups, dns_cache_hits, dns_queries, dns_timeouts;
} MsMailServerStats;
guint ms_mail_n_servers(const MsMail *mail);
void ms_mail_server_stats(const MsMail *mail, guint server, MsMailServerStats *stats);

/* --- access for the bridge (real sockets attached to simulated servers) --- */

MsHostId ms_mail_server_host(const MsMail *mail, guint server);
const char *ms_mail_server_hostname(const MsMail *mail, guint server);
const MsMtaPolicy *ms_mail_server_policy(const MsMail *mail, guint server);
/* Whether `server` takes mail for `domain` (case-insensitive). */
gboolean ms_mail_server_is_local(const MsMail *mail, guint server, const char *domain);
/* The first server that takes mail for `domain`, or G_MAXUINT: a domain of
 * no server is outside the simulated world. */
guint ms_mail_server_for_domain(const MsMail *mail, const char *domain);

/* How a message came in from outside the world, for its Received: header. */
typedef struct {
    const char *helo; /* the client's EHLO/HELO name, or NULL */
    const char *peer; /* the client's real address, e.g. "127.0.0.1" */
    gboolean esmtp;
    gboolean authenticated;   /* "with ESMTPA" (RFC 3848) */
    const char *label_prefix; /* record label prefix; NULL: "bridge" */
    gboolean tls;             /* came inside TLS: "with ESMTPS"/"ESMTPSA" (RFC 3848) */
} MsMailInjectInfo;

/* Puts a message from outside the world into the care of `server`, as if
 * it had arrived over SMTP: a message record is created (every recipient
 * queued), the server's Received: header goes on top (and a Message-ID:
 * when the message has none, so later hops find the record), then local
 * recipients go to mailboxes and the others to the server's MTA queue. Call
 * between engine runs, not from a handler. `rcpts` is NULL-terminated, at
 * least one; `data` has CRLF line ends. Returns the message id; `queue_id`
 * (may be NULL) receives the server's queue id (caller frees). */
guint32 ms_mail_inject(MsMail *mail, guint server, const char *from, const char *const *rcpts,
                       GBytes *data, const MsMailInjectInfo *info, char **queue_id);

/* TRUE when every recipient of message `id` is delivered or bounced. */
gboolean ms_mail_message_settled(const MsMail *mail, guint32 id);

/* A maildrop: the POP3 view of one server's mailbox store, shared by the
 * simulated POP3 servers and the bridge. Create one per connection, build
 * the core with ms_pop3_server_new(cfg, ms_mail_drop_hooks(), drop), and
 * free the core before the drop. `peer` names the client in traces
 * (MS_HOST_WORLD for a real one). Counts a POP3 session. Returns a new
 * object (caller frees). */
typedef struct _MsMailDrop MsMailDrop;
MsMailDrop *ms_mail_drop_new(MsMail *mail, guint server, MsHostId peer);
void ms_mail_drop_free(MsMailDrop *drop);
const MsPop3ServerHooks *ms_mail_drop_hooks(void);

/* Traces one protocol line of a real connection at `server` (peer
 * MS_HOST_WORLD: the real client or server), as the simulated sessions
 * trace theirs; `message` may be 0. */
void ms_mail_trace_line(MsMail *mail, guint server, guint32 message, const char *proto,
                        gboolean outgoing, const char *line);

/* The world's way out to the real Internet (the bridge's --relay-out).
 * While a function is set, a server's MTA hands each queue entry for a
 * domain that no server of the world serves (or backs up), unless it has a
 * smarthost, to that function instead of asking DNS. The entry stays in
 * the server's queue, busy, until ms_mail_outbound_result() gives the
 * outcome: so the accounting still sees the recipients held. Strings and
 * data of `job` are borrowed for the call (ref or copy them). */
typedef struct {
    guint server;
    const char *queue_id;
    guint32 message;
    const char *from;         /* "" for a DSN */
    const char *const *rcpts; /* NULL-terminated, all in `domain` */
    const char *domain;
    GBytes *data;
    guint attempt; /* 1 for the first try */
} MsMailOutbound;
typedef void (*MsMailOutboundFunc)(const MsMailOutbound *job, gpointer user_data);
/* fn NULL: no way out (the default; outside domains then meet DNS). */
void ms_mail_set_outbound(MsMail *mail, MsMailOutboundFunc fn, gpointer user_data);
/* The outcome of a handoff for recipient `rcpt` of the entry, or for every
 * recipient still in it when `rcpt` is NULL: a 2xx code delivers them; a
 * 5xx bounces them to the sender (an RFC 3464 DSN from the server, none for
 * a bounce); anything else (a 4xx, or 0 when the real server could not be
 * reached) defers the whole entry by the server's retry schedule in
 * simulated time, which gives up (4.4.7) past the profile's maximum queue
 * age (only with rcpt NULL; for one recipient it is a no-op: that one stays
 * for the entry's outcome). An entry with no recipient left is removed.
 * `status` (enhanced code, may be NULL) and `text` describe the reply. Call
 * between engine runs. FALSE when the server has no busy entry `queue_id`
 * holding `rcpt` (already settled). */
gboolean ms_mail_outbound_result(MsMail *mail, guint server, const char *queue_id, const char *rcpt,
                                 guint code, const char *status, const char *text);
/* A DSN from `server` to `from` about `rcpt` of mail the world never held
 * (a real client's message that the real server refused): created and
 * queued like any bounce, nothing when `from` is empty. Call between engine
 * runs. Returns the DSN's message id, or 0. */
guint32 ms_mail_bounce_external(MsMail *mail, guint server, const char *from, const char *rcpt,
                                const char *status, const char *diagnostic, GBytes *original);

const char *ms_rcpt_state_to_string(MsRcptState state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMail, ms_mail_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMailDrop, ms_mail_drop_free)

G_END_DECLS

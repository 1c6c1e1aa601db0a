/* Structures shared by the files of sim/bridge/: the bridge
 * itself, a real socket connection (BridgeConn) with its output queue,
 * timers and TLS layer, the spool and the outgoing relay. Not public. */
#pragma once

#include "mailsim/bridge.h"
#include "mailsim/mail.h"
#include "mailsim/mail_imap.h"
#include "mailsim/smtp_client.h"
#include "mailsim/smtp_server.h"

#include <gio/gio.h>

/* Output queued above this stops reading the client (back-pressure); below
 * the low mark reading resumes. */
#define BRIDGE_OUT_HIGH   (1u << 20)
#define BRIDGE_OUT_LOW    (256u << 10)
#define BRIDGE_READ_CHUNK 65536u
/* Queued buffers written by one sendmsg. */
#define FLUSH_IOV 64

typedef struct _BridgeConn BridgeConn;
typedef struct _Relay Relay;
typedef struct _BridgeHandshake BridgeHandshake;
typedef struct _BridgeMaildir BridgeMaildir;

/* What a connection tells its session. Each may be NULL except destroy.
 * A session ends a connection with conn_close() (after the output is sent)
 * or conn_abort(); it never frees the connection itself. */
typedef struct {
    void (*input)(BridgeConn *c, const guint8 *data, gsize len);
    void (*eof)(BridgeConn *c);                    /* the peer closed or the socket failed */
    void (*timeout)(BridgeConn *c, gboolean idle); /* idle: no byte; else no reply in time */
    void (*drained)(BridgeConn *c);                /* output fell below BRIDGE_OUT_LOW */
    void (*destroy)(BridgeConn *c);                /* free the session; called once */
    /* The TLS handshake asked for with conn_start_tls ended: ok, or it
     * failed (the connection is then aborted after this returns). */
    void (*tls_done)(BridgeConn *c, gboolean ok);
} BridgeConnClass;

struct _BridgeConn {
    MsBridge *bridge;
    const BridgeConnClass *klass;
    gpointer session;
    GSocketConnection *conn; /* owned */
    GSocket *sock;           /* borrowed from conn */
    GSource *in_src, *out_src;
    GQueue out;    /* GBytes* */
    gsize out_off; /* sent of the head */
    gsize out_bytes;
    gboolean closing; /* close when the output is sent */
    gboolean in_dispatch;
    gboolean batching;  /* input being digested: send later, at once */
    gboolean dead;      /* free at the end of the dispatch */
    gboolean counted;   /* counts against max_connections */
    gboolean reply_due; /* the session holds a reply back (a delay): not idle */
    /* TLS: tls_wanted until the queued output is sent, then hs while the
     * handshake runs (reading stops for both), then tls with its streams. */
    gboolean tls_wanted;
    BridgeHandshake *hs;
    gint64 hs_start_us;
    GTlsConnection *tls;       /* owned; NULL in clear text */
    GPollableInputStream *tin; /* tls's streams, borrowed */
    GPollableOutputStream *tout;
    gint64 last_input_us, last_reply_us;
    GList link; /* in bridge->conns */
    char peer[64];
};

struct _MsBridge {
    MsWorld *world;
    MsMail *mail;
    MsEngine *engine;
    MsBridgeConfig cfg;
    guint smtp_server, pop3_server, imap_server;
    GSocketService *smtp_svc, *pop3_svc, *smtps_svc, *pop3s_svc, *imap_svc, *imaps_svc;
    guint16 smtp_port, pop3_port, smtps_port, pop3s_port, imap_port, imaps_port;
    char *smtp_bound, *pop3_bound, *smtps_bound, *pop3s_bound, *imap_bound, *imaps_bound;
    MsMailImap *imap; /* the IMAP view of imap_server's store, or NULL */
    /* TLS credentials (bridge_tls.c). */
    GTlsCertificate *tls_cert;
    char *tls_cert_path, *tls_key_path; /* the files in use */
    char *tls_tmpdir;                   /* made for a generated certificate, removed at free */
    char *tls_fingerprint;              /* SHA-256, colon-separated hex */
    gboolean tls_generated;
    GHashTable *tls_certs; /* host name -> GTlsCertificate for SNI (RFC 6066 3), or NULL */
    GQueue conns; /* BridgeConn*, via their link */
    guint n_counted;
    guint pacer, housekeeping;
    gint64 wall_base;
    MsTime sim_base;
    MsBridgeStats stats;
    GPtrArray *pending; /* SpoolJob*: in-world mail not yet settled */
    guint64 spool_seq;
    /* Durable mailboxes (bridge_maildir.c), with --spool only. The spool id
     * of each watched message (guint32 id -> "w..." id), and while
     * ms_mail_inject runs, the id it is about to create and its spool id
     * (delivery may happen inside the call). */
    BridgeMaildir *maildir;
    GHashTable *spool_ids;
    guint32 inject_next;
    const char *inject_spool_id;
    /* Group commit of spool files (bridge_smtp.c): messages whose 250 waits
     * for the batch's fsyncs, and the timer that ends the batch. */
    GPtrArray *commit_wait;
    guint commit_timer;
    Relay *relay;      /* NULL without --relay-out */
    gboolean stopping; /* ms_bridge_free is running */
};

/* A message kept in the spool until the simulation settles it. */
typedef struct {
    guint32 message; /* the simulation's id */
    char *path;      /* spool file, or NULL without a spool */
    /* Once the message is settled: the DSNs it caused, which must be
     * settled too before the spool file goes. */
    gboolean settled;
    GArray *dsns; /* guint32 */
} SpoolJob;

/* bridge_conn.c */
BridgeConn *ms__bridge_conn_new(MsBridge *b, GSocketConnection *conn, const BridgeConnClass *klass,
                                gpointer session, gboolean counted);
void ms__bridge_conn_send(BridgeConn *c, GBytes *data);
void ms__bridge_conn_send_str(BridgeConn *c, const char *text);
void ms__bridge_conn_close(BridgeConn *c);
void ms__bridge_conn_abort(BridgeConn *c);
void ms__bridge_conn_free(BridgeConn *c);
/* At max_connections, answers `line` (a CRLF-ended refusal) on `conn`
 * without a session, closes it, counts it as refused and returns TRUE;
 * else FALSE, and the caller starts its session. */
gboolean ms__bridge_conn_refuse_if_full(MsBridge *b, GSocketConnection *conn, const char *line);
/* Reading pauses while output is above the high mark; sessions that make
 * output lazily (POP3) check this before taking more. */
gboolean ms__bridge_conn_output_full(const BridgeConn *c);
/* Starts TLS as the server on the connection: once the output queued so
 * far (the 220 to STARTTLS, the +OK to STLS; nothing for implicit TLS) is
 * sent, the handshake runs, reading in clear text stopped; its end is
 * reported to klass->tls_done. A handshake that has not ended after
 * idle_timeout_ms is aborted (counted as a timeout). */
void ms__bridge_conn_start_tls(BridgeConn *c);
/* Checks the timeouts of every connection (called by the housekeeping timer). */
void ms__bridge_conns_check_timeouts(MsBridge *b, gint64 now_us);

/* bridge_smtp.c / bridge_pop3.c: a new session on an accepted socket. */
/* With implicit_tls (the SMTPS and POP3S listeners) the TLS handshake runs
 * first and the greeting is sent inside TLS (RFC 8314 3.3). */
void ms__bridge_smtp_accept(MsBridge *b, GSocketConnection *conn, gboolean implicit_tls);
void ms__bridge_pop3_accept(MsBridge *b, GSocketConnection *conn, gboolean implicit_tls);
void ms__bridge_imap_accept(MsBridge *b, GSocketConnection *conn, gboolean implicit_tls);
/* bridge_smtp.c: commits the spool batch waiting now, if any, and answers
 * its sessions (at shutdown). */
void ms__bridge_smtp_flush(MsBridge *b);
/* Frees a message waiting for its commit (the free function of
 * MsBridge.commit_wait). */
void ms__bridge_smtp_waiting_free(gpointer p);
/* bridge_imap.c: after each pacer tick, tells idling IMAP sessions whose
 * mailbox changed (RFC 2177). */
void ms__bridge_imap_tick(MsBridge *b);

/* bridge_tls.c */
/* Loads the configured certificate or makes a self-signed one, and sets
 * the TLS 1.2 floor; FALSE with error when neither works. */
gboolean ms__bridge_tls_setup(MsBridge *b, GError **error);
/* Drops the certificate and removes the files it generated in a temporary
 * directory. */
void ms__bridge_tls_clear(MsBridge *b);

/* bridge_tls_guard.c */
/* `base` with its input read through a guard (see the file's comment):
 * the stream to give GTlsServerConnection. certs (host name ->
 * GTlsCertificate, or NULL) is referenced. Caller owns the result. */
GIOStream *ms__bridge_tls_guard_new(GIOStream *base, GHashTable *certs);
/* Tells the guard under tls which connection to give the certificate that
 * the ClientHello's server_name picks. */
void ms__bridge_tls_guard_attach(GTlsConnection *tls);
/* The handshake is done: from now a handshake record is refused. */
void ms__bridge_tls_guard_arm(GTlsConnection *tls);
/* Whether the guard under tls refused a renegotiation. */
gboolean ms__bridge_tls_guard_refused(GTlsConnection *tls);

/* bridge_spool.c */
/* A spool file written but not yet durable (group commit). */
typedef struct {
    char *path; /* its name once committed */
    char *tmp;  /* where it is until then (NULL once renamed) */
    int fd;     /* open until the commit's fsync */
} BridgeSpoolFile;
/* Writes one message (envelope and content) to a temporary spool file,
 * without fsync; kind 'w' (for the world) or 'r' (for the relay). NULL
 * with `error` (G_FILE_ERROR_NOSPC for a full disk) when it cannot. */
BridgeSpoolFile *ms__bridge_spool_begin(MsBridge *b, char kind, const char *from,
                                        const char *const *rcpts, GBytes *data, GError **error);
/* Makes a batch of begun files durable: fsyncs each, renames each into
 * place, fsyncs the spool directory once. On failure every file of the
 * batch is removed and `error` says why (none may be acknowledged). */
gboolean ms__bridge_spool_commit(MsBridge *b, GPtrArray *files, GError **error);
/* Frees a spool file (closing it; removing it if it was never committed). */
void ms__bridge_spool_file_free(BridgeSpoolFile *f);
void ms__bridge_spool_remove(MsBridge *b, const char *path);
/* One message read back from the spool. */
typedef struct {
    gboolean for_relay; /* an 'r' file (for the real server), else a 'w' file (for the world) */
    char *path;         /* its spool file */
    char *from;
    char **rcpts; /* NULL-terminated */
    GBytes *data; /* the message as received */
} BridgeSpooled;
/* Reads every spool file back, in name order (the order they were
 * written), and sets the spool's sequence past the highest name. Returns
 * the messages (BridgeSpooled*; caller frees the array, which frees them),
 * or NULL with `error` for a directory or file that cannot be read or is
 * not a spool file. */
GPtrArray *ms__bridge_spool_read(MsBridge *b, GError **error);
/* The spool id ("w000000000012") of a spool file's path; caller frees. */
char *ms__bridge_spool_id(const char *path);
/* Moves the spool's sequence past an id found elsewhere (in a Maildir), so
 * that ids are never reused while a file names them. */
void ms__bridge_spool_note_id(MsBridge *b, const char *spool_id);
/* Parses a spool file's contents (for tests through the public recovery). */
gboolean ms__bridge_spool_parse(GBytes *file, char **from, GPtrArray **rcpts, GBytes **data);

/* bridge_inject.c */
/* Puts accepted mail into the simulation; with a `spool_path`, watches it
 * until it is settled. Returns the simulation's message id. */
guint32 ms__bridge_inject(MsBridge *b, const char *from, const char *const *rcpts, GBytes *data,
                          const MsMailInjectInfo *info, const char *spool_path, char **queue_id);
/* Removes the spool files of the watched messages the simulation has
 * delivered or bounced (called after each pacer tick). */
void ms__bridge_inject_settle(MsBridge *b);
/* Whether a stored message is to be kept on disk (*keep: mail the bridge
 * put into the world, or a DSN about it) and its spool id (NULL for a DSN
 * or without a spool; borrowed). */
const char *ms__bridge_inject_spool_id(MsBridge *b, guint32 message, gboolean *keep);
/* Frees a SpoolJob (the free function of MsBridge.pending). */
void ms__bridge_inject_job_free(gpointer job);

/* bridge_maildir.c */
/* Reads every simulated server's users' Maildirs under DIR/mail back into
 * their stores and from then on mirrors the stores' changes there. NULL
 * with error when a mailbox cannot be made or read. */
BridgeMaildir *ms__bridge_maildir_open(MsBridge *b, GError **error);
void ms__bridge_maildir_free(BridgeMaildir *md);
/* Did the mailbox of `rcpt` hold a file from spool id `spool_id` at start? */
/* IMAP folders other than INBOX as Maildir++ subfolders of the boxes of
 * `server` (the IMAP server): written after each IMAP input, before its
 * replies go out (FALSE with error when a write fails), and put back into
 * `imap` at start (folders without a kept UIDVALIDITY get `fresh`). */
gboolean ms__bridge_maildir_sync_folders(BridgeMaildir *md, MsMailImap *imap, guint server,
                                         const char *user, GError **error);
gboolean ms__bridge_maildir_load_folders(BridgeMaildir *md, MsMailImap *imap, guint server,
                                         guint32 fresh, GError **error);
gboolean ms__bridge_maildir_has(BridgeMaildir *md, const char *rcpt, const char *spool_id);
/* Removes the tombstones of a spool id (its spool file is gone). */
void ms__bridge_maildir_forget(BridgeMaildir *md, const char *spool_id);
/* Fsyncs the new/ directories renamed into since the last call; FALSE
 * (printed) if one fails, and then no spool file may go yet. */
gboolean ms__bridge_maildir_sync(BridgeMaildir *md);
/* Did writing some copy of this message fail? (Its spool file stays.) */
gboolean ms__bridge_maildir_failed(BridgeMaildir *md, guint32 message);
/* Messages read back at start. */
guint64 ms__bridge_maildir_loaded(const BridgeMaildir *md);
/* The IMAP UIDVALIDITY of server's mailboxes, kept in
 * DIR/mail/<server>/imap-uidvalidity: read back when the file exists, else
 * `fresh`, written there first (tmp, fsync, rename, fsync of the
 * directory). 0 with error set when it cannot be read or written. */
guint32 ms__bridge_maildir_uidvalidity(BridgeMaildir *md, guint server, guint32 fresh,
                                       GError **error);

/* bridge_relay.c */
Relay *ms__bridge_relay_new(MsBridge *b, const char *target, GError **error);
void ms__bridge_relay_free(Relay *r);
/* Queues a message for the real SMTP server (the relay refs data). */
void ms__bridge_relay_queue(Relay *r, const char *from, const char *const *rcpts, GBytes *data,
                            const char *spool_path);
/* The mail layer's way out (MsMailOutboundFunc; user data: the Relay). */
void ms__bridge_relay_outbound(const MsMailOutbound *job, gpointer relay);

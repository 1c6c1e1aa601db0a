/* Structures shared by the files of sim/bridge/: the bridge
 * itself, a real socket connection (BridgeConn) with its output queue and
 * timers, the spool and the outgoing relay. Not public. */
#pragma once

#include "mailsim/bridge.h"
#include "mailsim/mail.h"
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

/* What a connection tells its session. Each may be NULL except destroy.
 * A session ends a connection with conn_close() (after the output is sent)
 * or conn_abort(); it never frees the connection itself. */
typedef struct {
    void (*input)(BridgeConn *c, const guint8 *data, gsize len);
    void (*eof)(BridgeConn *c);                    /* the peer closed or the socket failed */
    void (*timeout)(BridgeConn *c, gboolean idle); /* idle: no byte; else no reply in time */
    void (*drained)(BridgeConn *c);                /* output fell below BRIDGE_OUT_LOW */
    void (*destroy)(BridgeConn *c);                /* free the session; called once */
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
    gint64 last_input_us, last_reply_us;
    GList link; /* in bridge->conns */
    char peer[64];
};

struct _MsBridge {
    MsWorld *world;
    MsMail *mail;
    MsEngine *engine;
    MsBridgeConfig cfg;
    guint smtp_server, pop3_server;
    GSocketService *smtp_svc, *pop3_svc;
    guint16 smtp_port, pop3_port;
    char *smtp_bound, *pop3_bound;
    GQueue conns; /* BridgeConn*, via their link */
    guint n_counted;
    guint pacer, housekeeping;
    gint64 wall_base;
    MsTime sim_base;
    MsBridgeStats stats;
    GPtrArray *pending; /* SpoolJob*: in-world mail not yet settled */
    guint64 spool_seq;
    Relay *relay;      /* NULL without --relay-out */
    gboolean stopping; /* ms_bridge_free is running */
};

/* A message kept in the spool until the simulation settles it. */
typedef struct {
    guint32 message; /* the simulation's id */
    char *path;      /* spool file, or NULL without a spool */
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
/* Checks the timeouts of every connection (called by the housekeeping timer). */
void ms__bridge_conns_check_timeouts(MsBridge *b, gint64 now_us);

/* bridge_smtp.c / bridge_pop3.c: a new session on an accepted socket. */
void ms__bridge_smtp_accept(MsBridge *b, GSocketConnection *conn);
void ms__bridge_pop3_accept(MsBridge *b, GSocketConnection *conn);

/* bridge_spool.c */
/* Writes one message (envelope and content) into the spool, fsync'd;
 * kind 'w' (for the world) or 'r' (for the relay). Returns the new path. */
char *ms__bridge_spool_write(MsBridge *b, char kind, const char *from, const char *const *rcpts,
                             GBytes *data, GError **error);
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
/* Frees a SpoolJob (the free function of MsBridge.pending). */
void ms__bridge_inject_job_free(gpointer job);

/* bridge_relay.c */
Relay *ms__bridge_relay_new(MsBridge *b, const char *target, GError **error);
void ms__bridge_relay_free(Relay *r);
/* Queues a message for the real SMTP server (the relay refs data). */
void ms__bridge_relay_queue(Relay *r, const char *from, const char *const *rcpts, GBytes *data,
                            const char *spool_path);
/* The mail layer's way out (MsMailOutboundFunc; user data: the Relay). */
void ms__bridge_relay_outbound(const MsMailOutbound *job, gpointer relay);

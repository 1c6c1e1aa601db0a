/* The bridge: real SMTP and POP3 listening sockets attached to simulated
 * mail servers of a running world, the engine paced against the wall
 * clock. Real clients speak to the same protocol cores (MsSmtpServer,
 * MsPop3Server) as simulated hosts; mail they send is put into the
 * simulation with ms_mail_inject() and travels like any simulated message;
 * mail the simulation delivers shows up in the POP3 maildrops as it
 * arrives. Optionally mail for domains outside the world is handed to a
 * real SMTP server (--relay-out), and accepted mail is kept in a spool
 * directory (written and fsync'd before the 250) until it is delivered.
 *
 * TLS (GIO's GTlsConnection, from glib-networking): the SMTP and POP3
 * listeners offer STARTTLS and STLS (RFC 3207, RFC 2595), the SMTPS and
 * POP3S listeners speak TLS from the first octet (RFC 8314 3.3); TLS 1.2 or
 * later only. Logins (AUTH, USER/PASS, APOP) are accepted only inside TLS
 * unless allow_plaintext_auth. The certificate is the one configured, or a
 * self-signed one made at start.
 *
 * The bridge runs on the thread-default GMainContext: create it, run a
 * GMainLoop, free it. It is the only part of mailsim that reads the wall
 * clock. Sockets bind to loopback unless another address is asked for. */
#pragma once

#include <glib.h>
#include "mailsim/world.h"

G_BEGIN_DECLS

typedef struct _MsBridge MsBridge;

#define MS_BRIDGE_ERROR (ms_bridge_error_quark())
GQuark ms_bridge_error_quark(void);

/* RFC 5321 4.5.3.2.7: the server waits at least 5 minutes for a command. */
#define MS_BRIDGE_DEFAULT_IDLE_MS (5u * 60u * 1000u)
/* RFC 5321 4.5.3.2.6: 10 minutes for the data block; we allow a client that
 * long between two replies, however it trickles its bytes. */
#define MS_BRIDGE_DEFAULT_COMMAND_MS (10u * 60u * 1000u)
/* Postfix's maximal_queue_lifetime, 5 days. */
#define MS_BRIDGE_DEFAULT_RELAY_GIVE_UP_MS (5ull * 24u * 3600u * 1000u)
/* Postfix's default_process_limit. */
#define MS_BRIDGE_DEFAULT_MAX_CONNECTIONS 100u

typedef struct {
    gboolean smtp;     /* listen for SMTP */
    char *smtp_addr;   /* NULL: 127.0.0.1 */
    guint16 smtp_port; /* 0: any free port */
    char *smtp_host;   /* scenario host id; NULL: the first mailserver with users */
    gboolean pop3;
    char *pop3_addr;
    guint16 pop3_port;
    char *pop3_host;          /* NULL: the SMTP one */
    gboolean smtps;           /* listen for SMTP inside TLS (submissions, RFC 8314 3.3) */
    char *smtps_addr;         /* NULL: 127.0.0.1 */
    guint16 smtps_port;       /* 0: any free port */
    gboolean pop3s;           /* listen for POP3 inside TLS (RFC 8314 3.3) */
    char *pop3s_addr;
    guint16 pop3s_port;
    gboolean imap; /* listen for IMAP (STARTTLS offered) */
    char *imap_addr;
    guint16 imap_port;
    char *imap_host; /* NULL: the SMTP one */
    gboolean imaps;  /* listen for IMAP inside TLS (RFC 8314 3.3) */
    char *imaps_addr;
    guint16 imaps_port;
    char *tls_cert;                /* PEM certificate (chain) file; NULL: self-signed, generated */
    char *tls_key;                 /* PEM private key file; NULL: in tls_cert's file */
    gboolean allow_plaintext_auth; /* accept logins outside TLS (local testing only) */
    double speed;             /* simulated seconds per wall second; 0: as fast as possible */
    char *relay_out;          /* "HOST:PORT" of a real SMTP server, or NULL */
    char *spool_dir;          /* or NULL: no spool */
    guint max_connections;    /* both listeners together */
    guint max_recipients;     /* per message; 0: the server's policy */
    guint64 max_size;         /* octets; 0: the server's policy */
    guint idle_timeout_ms;    /* no byte from the client this long: 421 4.4.2 */
    guint command_timeout_ms; /* no complete command this long: 421 4.4.2 */
    guint relay_retry_ms;     /* first retry of a failed relay attempt (doubles, at most 64x) */
    guint64
        relay_give_up_ms; /* a real client's relay mail undelivered this long (wall clock) bounces */
} MsBridgeConfig;

/* Fills cfg with the defaults named above (strings NULL). */
void ms_bridge_config_init(MsBridgeConfig *cfg);
/* Frees the strings of cfg. */
void ms_bridge_config_clear(MsBridgeConfig *cfg);

/* Parses "[ADDR:]PORT[=HOST]" (ADDR may be "[v6]"). Returns TRUE and sets
 * the newly allocated addr (or NULL) and host (or NULL), or FALSE with
 * error set. */
gboolean ms_bridge_parse_endpoint(const char *text, char **addr, guint16 *port, char **host,
                                  GError **error);

/* The simulated time to reach at wall time wall_us, for a run that stood at
 * sim_base at wall time wall_base_us, at `speed` (> 0). Saturates. */
MsTime ms_bridge_pace(MsTime sim_base, gint64 wall_base_us, gint64 wall_us, double speed);

typedef struct {
    guint64 connections; /* accepted sockets */
    guint64 refused;     /* closed at once: over the connection limit */
    guint64 smtp_sessions, pop3_sessions, imap_sessions;
    guint64 timeouts;     /* idle, command or TLS handshake timeouts */
    guint64 tls_sessions; /* TLS handshakes completed */
    guint64 tls_failed;   /* handshakes that failed or timed out */
    guint64 aborted;     /* connections the client dropped before QUIT */
    guint64 messages;    /* messages acknowledged with 250 */
    guint64 bytes;       /* their octets */
    guint64 rcpts_world; /* recipients given to the simulation */
    guint64 rcpts_relay; /* recipients for --relay-out */
    guint64 relay_sent, relay_failed, relay_queued, relay_attempts;
    guint64 spooled, recovered; /* written to the spool; re-injected at start */
    guint64 spool_pending;      /* spool files still waiting for delivery */
    /* Durable mailboxes (--spool): messages read back from the Maildirs at
     * start, files written since, recipients of recovered spool files
     * found already delivered (not delivered again); bodies read from
     * their files on demand (the store holds only sizes and places). */
    guint64 maildir_loaded, maildir_written, recovered_dup;
    guint64 maildir_read;
    guint64 spool_commits; /* group commits of spool files (each: one fsync of DIR) */
} MsBridgeStats;

/* Attaches a bridge to `world` (borrowed; must outlive the bridge): binds
 * the listeners, reads the spool (re-injecting what it holds) and starts
 * pacing on the thread-default main context. cfg is copied. Returns a new
 * bridge (caller frees), or NULL with error set (bad host, port in use,
 * spool not writable, ...). */
MsBridge *ms_bridge_new(MsWorld *world, const MsBridgeConfig *cfg, GError **error);
/* Closes every connection and listener. Spooled mail stays on disk. */
void ms_bridge_free(MsBridge *bridge);

/* The bound ports (useful with port 0), 0 when not listening. */
guint16 ms_bridge_smtp_port(const MsBridge *bridge);
/* The IMAP and IMAPS listeners' ports and addresses (0/NULL when off). */
guint16 ms_bridge_imap_port(const MsBridge *bridge);
const char *ms_bridge_imap_address(const MsBridge *bridge);
guint16 ms_bridge_imaps_port(const MsBridge *bridge);
const char *ms_bridge_imaps_address(const MsBridge *bridge);
guint16 ms_bridge_pop3_port(const MsBridge *bridge);
guint16 ms_bridge_smtps_port(const MsBridge *bridge);
guint16 ms_bridge_pop3s_port(const MsBridge *bridge);
const char *ms_bridge_smtps_address(const MsBridge *bridge);
const char *ms_bridge_pop3s_address(const MsBridge *bridge);
/* The certificate file in use, and whether the bridge generated it
 * (self-signed, for the SMTP and POP3 servers' names, localhost,
 * 127.0.0.1 and ::1). Borrowed. */
const char *ms_bridge_tls_cert_path(const MsBridge *bridge, gboolean *generated);
/* The SHA-256 fingerprint of that certificate, as colon-separated hex. */
const char *ms_bridge_tls_fingerprint(const MsBridge *bridge);
const char *ms_bridge_smtp_address(const MsBridge *bridge);
const char *ms_bridge_pop3_address(const MsBridge *bridge);

void ms_bridge_get_stats(const MsBridge *bridge, MsBridgeStats *stats);
/* Runs the engine up to what the wall clock says now (normally done by the
 * pacer; for tests and for a final catch-up). */
void ms_bridge_pace_now(MsBridge *bridge);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsBridge, ms_bridge_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MsBridgeConfig, ms_bridge_config_clear)

G_END_DECLS

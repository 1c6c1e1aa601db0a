/* The SMTP client protocol core: a sans-I/O state machine that delivers
 * queued transactions (envelope + message) over one SMTP session. It reads
 * the server's replies from ms_smtp_client_feed(), writes commands and
 * message content to ms_smtp_client_take_output(), and reports outcomes
 * through hooks. No socket and no clock: simulated TCP or a bridge socket
 * carries the bytes. EHLO with HELO fallback, AUTH PLAIN/LOGIN (RFC 4954),
 * PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), STARTTLS
 * (RFC 3207: the core asks for the handshake, the caller runs it). */
#pragma once

#include <glib.h>
#include "mailsim/smtp_reply.h"

G_BEGIN_DECLS

typedef struct _MsSmtpClient MsSmtpClient;

/* When the client uses STARTTLS, as Postfix's smtp_tls_security_level
 * (verification, for its "verify" level, is the TLS channel's business:
 * to this core it is ENCRYPT). */
typedef enum {
    MS_SMTP_TLS_NONE = 0, /* never: the session stays in clear */
    MS_SMTP_TLS_MAY,      /* when the server offers it; in clear when refused */
    MS_SMTP_TLS_ENCRYPT,  /* required: no STARTTLS offered (or 454) defers */
} MsSmtpTlsLevel;

typedef struct {
    const char *helo_name; /* EHLO/HELO argument; NULL: "localhost" */
    const char *auth_user; /* NULL: do not authenticate */
    const char *auth_password;
    gboolean no_pipelining; /* never pipeline, even when offered */
    MsSmtpTlsLevel tls_level; /* STARTTLS use; ignored when tls_active */
    gboolean tls_active;      /* implicit TLS (port 465, RFC 8314 3.3): the
                                * session starts inside TLS */
    const char *peer_name;    /* the server as the deferral text names it,
                                * "mx.example.net[192.0.2.25]"; NULL: "the server" */
} MsSmtpClientConfig;

typedef enum {
    MS_SMTP_TXN_ACCEPTED, /* 250 after the message content */
    MS_SMTP_TXN_TEMPFAIL, /* a 4xx (or the session failed): retry later */
    MS_SMTP_TXN_PERMFAIL, /* a 5xx: do not retry */
} MsSmtpTxnStatus;

typedef enum {
    MS_SMTP_SESSION_OK,               /* QUIT answered */
    MS_SMTP_SESSION_GREETING_REFUSED, /* greeting not 220 (e.g. 421, 554) */
    MS_SMTP_SESSION_HELO_REFUSED,     /* EHLO and HELO refused */
    MS_SMTP_SESSION_AUTH_FAILED,      /* AUTH refused (535, 454, ...) */
    MS_SMTP_SESSION_AUTH_UNAVAILABLE, /* no AUTH PLAIN or LOGIN offered */
    MS_SMTP_SESSION_SERVER_CLOSED,    /* 421 at some later point */
    MS_SMTP_SESSION_PROTOCOL_ERROR,   /* malformed or unexpected reply */
    MS_SMTP_SESSION_CONNECTION_LOST,  /* ms_smtp_client_connection_lost() */
    MS_SMTP_SESSION_TLS_UNAVAILABLE,  /* TLS required, STARTTLS not offered or refused */
    MS_SMTP_SESSION_TLS_FAILED,       /* ms_smtp_client_tls_failed() */
} MsSmtpSessionStatus;

const char *ms_smtp_txn_status_to_string(MsSmtpTxnStatus status);
const char *ms_smtp_session_status_to_string(MsSmtpSessionStatus status);

/* Hooks; any may be NULL. Reply pointers are valid during the call only; a
 * multi-line reply's text has its lines joined by '\n' and its enhanced
 * code (if any) taken from the first line. */
typedef struct {
    /* Each RCPT TO reply. */
    void (*rcpt_result)(guint txn, guint rcpt, const MsSmtpReply *reply, gpointer user_data);
    /* Exactly once per message added, in order. reply is the deciding reply
     * (after the content; else MAIL's; else the last refused RCPT's; else
     * DATA's; or the one that ended the session). A synthetic reply with
     * code 0 is given when the connection was lost. */
    void (*txn_result)(guint txn, MsSmtpTxnStatus status, const MsSmtpReply *reply,
                       gpointer user_data);
    /* Exactly once, when the session ends. reply may be NULL. */
    void (*session_result)(MsSmtpSessionStatus status, const MsSmtpReply *reply,
                           gpointer user_data);
    MsSmtpTraceFunc trace;
} MsSmtpClientHooks;

/* A new client session, waiting for the greeting. cfg and hooks are
 * copied. Returns a new client (caller frees with ms_smtp_client_free). */
MsSmtpClient *ms_smtp_client_new(const MsSmtpClientConfig *cfg, const MsSmtpClientHooks *hooks,
                                 gpointer user_data);
void ms_smtp_client_free(MsSmtpClient *client);

/* Queues one transaction and returns its index (0, 1, ...). mail_from is
 * the reverse path without brackets ("" for the null path); rcpts is
 * NULL-terminated (at least one); message has CRLF line ends and is not
 * dot-stuffed (the client stuffs it and appends CRLF.CRLF). The client
 * refs message. Call before or after the greeting, until finish. */
guint ms_smtp_client_add_message(MsSmtpClient *client, const char *mail_from,
                                 const char *const *rcpts, GBytes *message);

/* No more messages: QUIT once the queue is done. */
void ms_smtp_client_finish(MsSmtpClient *client);

/* Consumes octets from the server; any split gives the same result. */
void ms_smtp_client_feed(MsSmtpClient *client, const guint8 *data, gsize len);

/* The transport closed or failed: pending transactions fail temporarily and
 * the session ends with MS_SMTP_SESSION_CONNECTION_LOST (unless it had
 * already ended). */
void ms_smtp_client_connection_lost(MsSmtpClient *client);

/* Octets to send so far, or NULL when none (caller owns the GBytes). */
GBytes *ms_smtp_client_take_output(MsSmtpClient *client);

/* TRUE from the server's 220 to STARTTLS until ms_smtp_client_tls_started()
 * or _tls_failed(): the caller runs the TLS handshake on the connection. Any
 * octets that followed the 220 in the clear were discarded (RFC 3207 5: a
 * reply injected before the handshake must not be taken as from inside). */
gboolean ms_smtp_client_wants_tls(const MsSmtpClient *client);
/* The handshake is done: the session continues inside TLS with a new EHLO,
 * all that the first EHLO said forgotten (RFC 3207 4.2). */
void ms_smtp_client_tls_started(MsSmtpClient *client);
/* The handshake failed (`why`, e.g. the verification error): pending
 * transactions fail temporarily, the session ends with
 * MS_SMTP_SESSION_TLS_FAILED and nothing more is sent. */
void ms_smtp_client_tls_failed(MsSmtpClient *client, const char *why);
/* Whether the session is inside TLS now. */
gboolean ms_smtp_client_tls_active(const MsSmtpClient *client);

/* Whether the credentials were sent (AUTH with its response), and if so
 * whether from inside TLS (*inside_tls; may be NULL). */
gboolean ms_smtp_client_auth_sent(const MsSmtpClient *client, gboolean *inside_tls);

/* TRUE once the session has ended (QUIT answered, 421, a fatal error). */
gboolean ms_smtp_client_is_closed(const MsSmtpClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsSmtpClient, ms_smtp_client_free)

G_END_DECLS

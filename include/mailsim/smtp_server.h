/* The SMTP server protocol core: a sans-I/O state machine that turns the
 * bytes a client sends into replies and into events for policy hooks (auth,
 * MAIL FROM, RCPT TO, the message). It owns no socket and no clock: a
 * simulated host feeds it bytes from simulated TCP, the bridge feeds it bytes
 * from a real socket, and both send what ms_smtp_server_take_output()
 * returns. Implements RFC 5321 with SIZE (RFC 1870), 8BITMIME (RFC 6152),
 * PIPELINING (RFC 2920), ENHANCEDSTATUSCODES (RFC 2034, RFC 3463), AUTH
 * PLAIN and LOGIN (RFC 4954), STARTTLS (RFC 3207: the core says when the
 * caller must run the TLS handshake; it never sees a TLS record), and, in
 * the dialects that advertise them, DSN's parameters (RFC 3461, syntax
 * only) and ETRN (RFC 1985). It answers in the
 * words of Postfix, Exim or OpenSMTPD when configured with their dialect.
 * See sim/proto/smtp_server.c for the choices made where the RFCs leave room
 * (bare CR/LF, long lines, NUL octets). */
#pragma once

#include <glib.h>
#include "mailsim/smtp_reply.h"

G_BEGIN_DECLS

typedef struct _MsSmtpServer MsSmtpServer;

/* Postfix's message_size_limit default, used when max_size is 0. */
#define MS_SMTP_SERVER_DEFAULT_MAX_SIZE 10240000u
/* RFC 5321 4.5.3.1.8: a server must accept at least 100 recipients. */
#define MS_SMTP_SERVER_DEFAULT_MAX_RCPTS 100u
/* Postfix's smtpd_hard_error_limit: protocol errors before 421. */
#define MS_SMTP_SERVER_DEFAULT_MAX_ERRORS 20u

/* Whose replies the server speaks: the EHLO keywords in that server's
 * order, its reply texts and whether it sends enhanced status codes
 * (sim/proto/smtp_server.c cites each server's source). The protocol
 * behaviour is the same for all. MAILSIM is this project's own style (the
 * bridge and the tests use it). */
typedef enum {
    MS_SMTP_DIALECT_MAILSIM = 0,
    MS_SMTP_DIALECT_POSTFIX,
    MS_SMTP_DIALECT_EXIM,
    MS_SMTP_DIALECT_OPENSMTPD,
} MsSmtpDialect;

typedef struct {
    const char *hostname;      /* in the greeting and EHLO reply; NULL: "localhost" */
    MsSmtpDialect dialect;     /* 0: MS_SMTP_DIALECT_MAILSIM */
    const char *client_address; /* the client's IP address as text: Exim and
                                 * OpenSMTPD show it in the HELO/EHLO reply
                                 * ("Hello x [192.0.2.1]"); NULL: left out */
    guint64 max_size;          /* octets of message content; 0: the default above */
    guint max_recipients;      /* 0: MS_SMTP_SERVER_DEFAULT_MAX_RCPTS */
    guint max_errors;          /* protocol errors before 421 4.7.0; 0: default */
    gboolean offer_auth;       /* advertise and accept AUTH PLAIN LOGIN */
    gboolean no_pipelining;    /* do not advertise PIPELINING */
    guint greeting_code;       /* 0: 220; 554 refuses the session (RFC 5321
                                 * 3.1), 421 closes it at once */
    const char *greeting_text; /* NULL: "<hostname> ESMTP mailsim" */
    /* TLS (RFC 3207, RFC 8314). The core runs no TLS itself: see
     * ms_smtp_server_wants_tls() for how the caller takes over. */
    gboolean offer_starttls;    /* advertise and accept STARTTLS */
    gboolean tls_active;        /* the session runs inside TLS from its first
                                * octet (implicit TLS, port 465: RFC 8314 3.3) */
    gboolean auth_requires_tls; /* AUTH neither advertised nor accepted before
                                 * TLS (Postfix smtpd_tls_auth_only) */
    gboolean tls_required;      /* MAIL, RCPT, DATA and AUTH refused before TLS
                                * (smtpd_tls_security_level=encrypt; RFC 3207 4) */
} MsSmtpServerConfig;

/* What the policy hooks see of the session. Valid during the hook only. */
typedef struct {
    const char *helo;      /* argument of the last HELO/EHLO, or NULL */
    const char *auth_user; /* authenticated user, or NULL */
    gboolean esmtp;        /* the client said EHLO */
    gboolean tls;          /* the session runs inside TLS */
} MsSmtpSession;

/* The envelope given with a message. Paths are without angle brackets;
 * the null reverse path is "". Valid during the hook only. */
typedef struct {
    const char *mail_from;
    const char *const *rcpts; /* n_rcpts accepted forward paths */
    guint n_rcpts;
    guint64 declared_size;  /* SIZE= parameter, 0 when absent */
    gboolean body_8bitmime; /* BODY=8BITMIME was given */
} MsSmtpEnvelope;

/* Policy hooks; any may be NULL. Each reply argument arrives pre-filled with
 * the server's default and the hook may change code, enhanced code and text
 * (ms_smtp_reply_set). A 2xx reply accepts; anything else refuses; 421 also
 * closes the session. user_data is the pointer given to ms_smtp_server_new. */
typedef struct {
    /* AUTH: return TRUE to accept (the server replies 235 2.7.0). reply is
     * pre-filled with 535 5.7.8, used when FALSE is returned (it may be
     * changed to e.g. 454 4.7.0). Without this hook every AUTH fails. */
    gboolean (*auth)(const MsSmtpSession *session, const char *user, const char *password,
                     MsSmtpReply *reply, gpointer user_data);
    /* MAIL FROM: pre-filled 250 2.1.0. declared_size is SIZE= or 0. */
    void (*mail_from)(const MsSmtpSession *session, const char *reverse_path, guint64 declared_size,
                      MsSmtpReply *reply, gpointer user_data);
    /* RCPT TO: pre-filled 250 2.1.5; e.g. 550 5.1.1, 550 5.7.1, 452 4.2.2. */
    void (*rcpt)(const MsSmtpSession *session, const char *forward_path, MsSmtpReply *reply,
                 gpointer user_data);
    /* The whole message, un-stuffed, CRLF line ends (the hook may keep a
     * reference). Pre-filled 250 2.0.0 "Ok: queued"; set the queue id. */
    void (*data)(const MsSmtpSession *session, const MsSmtpEnvelope *envelope, GBytes *message,
                 MsSmtpReply *reply, gpointer user_data);
    /* Called for every well-formed command line before it is executed, with
     * the verb in upper case and the argument ("" when none); called with
     * verb "." and argument "" when the message content has ended, before it
     * is checked. reply arrives with code 0; setting a code replaces the
     * command's reply and the command is not executed (for scripted faults). */
    void (*command)(const MsSmtpSession *session, const char *verb, const char *arg,
                    MsSmtpReply *reply, gpointer user_data);
    /* Every command line received and every reply line sent; message
     * content is traced as one summary line. */
    MsSmtpTraceFunc trace;
} MsSmtpServerHooks;

/* A new server session; cfg and hooks are copied (strings too). Returns a
 * new session (caller frees with ms_smtp_server_free). */
MsSmtpServer *ms_smtp_server_new(const MsSmtpServerConfig *cfg, const MsSmtpServerHooks *hooks,
                                 gpointer user_data);
void ms_smtp_server_free(MsSmtpServer *srv);

/* Queues the greeting. Call once, before feeding input. */
void ms_smtp_server_start(MsSmtpServer *srv);

/* Consumes len octets from the client. Any split of the stream gives the
 * same output. Input after the session closed is ignored. */
void ms_smtp_server_feed(MsSmtpServer *srv, const guint8 *data, gsize len);

/* Returns the octets to send so far, or NULL when there are none (caller
 * owns the GBytes). */
GBytes *ms_smtp_server_take_output(MsSmtpServer *srv);

/* TRUE once 221 (QUIT) or 421 has been queued: send the output, then close. */
gboolean ms_smtp_server_is_closed(const MsSmtpServer *srv);

/* STARTTLS (RFC 3207 4). After the server has queued its 220 reply to
 * STARTTLS, this is TRUE: the caller sends ms_smtp_server_take_output(),
 * then runs the TLS handshake as server on the same connection, and calls
 * ms_smtp_server_tls_started() when it completes, or
 * ms_smtp_server_tls_failed() when it does not. Octets fed between the
 * STARTTLS line and tls_started(), including any pipelined after it in the
 * same feed, are discarded unread: they arrived in clear text and must not
 * be taken as commands of the protected session (the CVE-2011-0411
 * injection). */
gboolean ms_smtp_server_wants_tls(const MsSmtpServer *srv);

/* The handshake succeeded: the session starts afresh inside TLS (RFC 3207
 * 4.2: HELO/EHLO, authentication and any transaction are forgotten); EHLO
 * no longer offers STARTTLS and offers AUTH if configured. */
void ms_smtp_server_tls_started(MsSmtpServer *srv);

/* The handshake failed: the session is closed (nothing more is sent; the
 * caller drops the connection). */
void ms_smtp_server_tls_failed(MsSmtpServer *srv);

/* Whether the session runs inside TLS (tls_active, or after tls_started). */
gboolean ms_smtp_server_is_tls(const MsSmtpServer *srv);

/* A reply that needs time (a check that asks the DNS first). Called from
 * inside the data hook, it holds the end-of-data reply back: the hook's
 * reply argument is ignored, the transaction is reset as usual (RFC 5321
 * 4.1.1.4), and the core reads no more input (it keeps what arrives) until
 * ms_smtp_server_resume() gives the reply; it then sends it, as the hook's
 * would have been, and reads what the client pipelined meanwhile. Called
 * from inside the RCPT hook, it holds that reply back the same way; the
 * resume's reply decides the recipient (taken on a 2xx, as the hook's
 * would have); a reply with code 0 (MS_SMTP_REPLY_INIT) sends what the
 * hook was given, the dialect's acceptance. Any split of the input gives
 * the same replies. */
void ms_smtp_server_defer(MsSmtpServer *srv);
void ms_smtp_server_resume(MsSmtpServer *srv, const MsSmtpReply *reply);
gboolean ms_smtp_server_is_deferred(const MsSmtpServer *srv);

/* Messages accepted (2xx after the data hook) in this session. */
guint ms_smtp_server_messages_accepted(const MsSmtpServer *srv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsSmtpServer, ms_smtp_server_free)

G_END_DECLS

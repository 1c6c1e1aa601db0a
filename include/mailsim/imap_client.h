/* The IMAP client protocol core (IMAP4rev1, RFC 3501, as IMAP4rev2 servers
 * of RFC 9051 also answer it): a sans-I/O state machine in the manner of the
 * POP3 client (pop3_client.h). Bytes from the server go in with
 * ms_imap_client_feed(); commands come out of ms_imap_client_take_output().
 * It owns no socket and reads no clock: the simulated mail program and the
 * tests drive it alike.
 *
 * Session: the greeting (its [CAPABILITY] code, or a CAPABILITY command);
 * with a TLS level, STARTTLS when offered (RFC 9051 6.2.1), the caller's
 * handshake, CAPABILITY again; LOGIN, or AUTHENTICATE PLAIN (RFC 4616, with
 * SASL-IR when offered) when asked for and AUTH=PLAIN is listed; then, in
 * order:
 *   - each queued APPEND (a synchronising literal, RFC 9051 6.3.12) into
 *     its folder, with CREATE and one retry on NO [TRYCREATE];
 *   - with `fetch`: SELECT INBOX, UID SEARCH UID <uidnext>:* for what this
 *     device has not seen yet, UID FETCH (UID FLAGS RFC822.SIZE BODY.PEEK[])
 *     of those, and UID STORE +FLAGS (\Seen) when `mark_seen`;
 *   - with `idle` (and IDLE listed): IDLE (RFC 2177) until the server tells
 *     of new messages (EXISTS), then DONE, fetch the new ones, IDLE again;
 *     the session then lasts until ms_imap_client_stop() or the connection
 *     ends;
 *   - LOGOUT.
 * One command at a time: the client never pipelines. The done hook is
 * called exactly once, when the session is over. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MsImapClient MsImapClient;

/* A line of a response (between literals) is at most this long by default,
 * as the server's own limit (imap_server.h). */
#define MS_IMAP_CLIENT_LINE_MAX 65536

typedef enum {
    MS_IMAP_CLIENT_OK,              /* everything done and LOGOUT answered */
    MS_IMAP_CLIENT_AUTH_FAILED,     /* LOGIN/AUTHENTICATE refused (text: the server's) */
    MS_IMAP_CLIENT_SERVER_ERROR,    /* an unexpected NO or BAD, or a BYE before LOGOUT */
    MS_IMAP_CLIENT_PROTOCOL_ERROR,  /* the server broke the protocol */
    MS_IMAP_CLIENT_DISCONNECTED,    /* the connection ended before LOGOUT was answered */
    MS_IMAP_CLIENT_TLS_UNAVAILABLE, /* TLS required, STARTTLS not offered or refused;
                                     * or LOGINDISABLED outside TLS */
    MS_IMAP_CLIENT_TLS_FAILED,      /* ms_imap_client_tls_failed() */
} MsImapClientResult;

typedef enum {
    MS_IMAP_TLS_NONE = 0, /* never */
    MS_IMAP_TLS_MAY,      /* STARTTLS when listed; else in the clear */
    MS_IMAP_TLS_ENCRYPT,  /* required: without it the session ends before the login */
} MsImapTlsLevel;

typedef struct {
    const char *user;
    const char *password;
    /* AUTHENTICATE PLAIN when the server lists AUTH=PLAIN (else LOGIN).
     * Default FALSE. */
    gboolean auth_plain;
    /* Look for new messages in INBOX. Default TRUE. */
    gboolean fetch;
    /* Mark fetched messages \Seen (UID STORE +FLAGS). Default TRUE. */
    gboolean mark_seen;
    /* Stay connected in IDLE after the fetch (needs `fetch`). When the
     * server does not list IDLE the session ends with LOGOUT instead.
     * Default FALSE. */
    gboolean idle;
    /* What this device knew of INBOX: its UIDVALIDITY (0: nothing) and the
     * first UID it has not seen. When the server's UIDVALIDITY differs,
     * everything counts as new (RFC 9051 2.3.1.1). */
    guint32 uidvalidity;
    guint32 uidnext;
    /* Largest message accepted, octets (default 64 MiB); longest response
     * line between literals (default MS_IMAP_CLIENT_LINE_MAX). */
    gsize max_message;
    gsize max_line;
    /* Whether the trace sees the password (default FALSE: "****"). */
    gboolean trace_secrets;
    /* STARTTLS use (ignored when tls_active) and implicit TLS (port 993,
     * RFC 8314 3.3). Default NONE / FALSE. */
    MsImapTlsLevel tls_level;
    gboolean tls_active;
} MsImapClientConfig;

typedef struct {
    /* A message fetched from INBOX: its UID, its flags as the server had
     * them before this client marked it (MS_IMAP_FLAG_* of imap_server.h:
     * \Seen set means another device read it first) and its bytes
     * (borrowed: ref to keep). */
    void (*message)(gpointer user_data, guint32 uid, guint flags, GBytes *message);
    /* An APPEND was accepted: folder, and the UID the server gave (RFC 4315
     * APPENDUID), or 0. Optional. */
    void (*appended)(gpointer user_data, const char *folder, guint32 uid);
    /* The server has confirmed IDLE: from now on it pushes. Optional. */
    void (*idling)(gpointer user_data);
    /* The end of the session, called once. `text`: the server's words or
     * what went wrong ("" when OK). */
    void (*done)(gpointer user_data, MsImapClientResult result, const char *text);
    /* Optional: every protocol line without CRLF, made printable, with each
     * literal summarised as "{n}[n octets]". */
    void (*trace)(gpointer user_data, gboolean from_client, const char *line);
} MsImapClientHooks;

/* Fills `cfg` with the defaults named above. */
void ms_imap_client_config_init(MsImapClientConfig *cfg);

/* A client for one connection; waits for the greeting. `cfg` and `hooks`
 * are copied (strings too). user and password are required and may not
 * hold CR, LF or NUL. Returns a new client (caller frees). */
MsImapClient *ms_imap_client_new(const MsImapClientConfig *cfg, const MsImapClientHooks *hooks,
                                 gpointer user_data);
/* Frees the client; does not call the done hook. Accepts NULL. */
void ms_imap_client_free(MsImapClient *client);

/* Queues a message (borrowed; a reference is taken) for APPEND to `folder`
 * with `flags` (MS_IMAP_FLAG_*), before the fetch. Only before the login. */
void ms_imap_client_append(MsImapClient *client, const char *folder, GBytes *message, guint flags);

/* Reads bytes from the server; any split gives the same result. Ignored
 * once the session is closed. */
void ms_imap_client_feed(MsImapClient *client, const guint8 *data, gsize len);
/* The connection ended: the session ends (DISCONNECTED unless known). */
void ms_imap_client_eof(MsImapClient *client);
/* Bytes to send, or NULL. Returns a new GBytes (caller frees). */
GBytes *ms_imap_client_take_output(MsImapClient *client);
/* Ends the session politely: DONE if idling, then LOGOUT, as soon as the
 * command running (if any) is answered. */
void ms_imap_client_stop(MsImapClient *client);
/* While idling: DONE, and IDLE again once it is answered (RFC 2177 3: a
 * server may log out a client idle for 30 minutes, so clients re-issue
 * IDLE at least every 29). No effect otherwise. */
void ms_imap_client_renew_idle(MsImapClient *client);

/* TRUE from the OK to STARTTLS until _tls_started() or _tls_failed(): the
 * caller runs the handshake. Octets that arrive meanwhile are dropped. */
gboolean ms_imap_client_wants_tls(const MsImapClient *client);
/* The handshake is done: CAPABILITY again (RFC 9051 6.2.1), then the login. */
void ms_imap_client_tls_started(MsImapClient *client);
void ms_imap_client_tls_failed(MsImapClient *client, const char *why);
gboolean ms_imap_client_tls_active(const MsImapClient *client);
/* Whether the password was sent, and whether from inside TLS. */
gboolean ms_imap_client_login_sent(const MsImapClient *client, gboolean *inside_tls);

gboolean ms_imap_client_is_closed(const MsImapClient *client);
/* TRUE while the server has confirmed IDLE and no DONE was sent. */
gboolean ms_imap_client_is_idling(const MsImapClient *client);
MsImapClientResult ms_imap_client_result(const MsImapClient *client);
/* Messages fetched, and APPENDs accepted, so far. */
guint ms_imap_client_fetched(const MsImapClient *client);
guint ms_imap_client_appended(const MsImapClient *client);
/* What the device knows of INBOX now: carry these to the next session's
 * configuration. */
guint32 ms_imap_client_uidvalidity(const MsImapClient *client);
guint32 ms_imap_client_uidnext(const MsImapClient *client);

/* A fixed name for a result, e.g. "auth-failed". */
const char *ms_imap_client_result_to_string(MsImapClientResult result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsImapClient, ms_imap_client_free)

G_END_DECLS

/* The POP3 client protocol core (RFC 1939): a sans-I/O state machine that
 * logs in, lists the maildrop, retrieves each message, optionally deletes
 * it, and quits. Bytes from the server go in with ms_pop3_client_feed();
 * commands come out of ms_pop3_client_take_output(). It owns no socket and
 * reads no clock: the simulated MUA and tests drive it alike. Timeouts are
 * the caller's business (it calls _free, or _eof, when it gives up).
 *
 * Session: greeting; APOP (when configured and the greeting has a
 * timestamp) or USER/PASS; STAT; UIDL (or LIST when the server refuses
 * UIDL); then for each message, in order, RETR and, if configured, DELE;
 * QUIT. With a TLS level (RFC 2595 4): CAPA, then STLS when offered, the
 * caller's handshake, CAPA again inside TLS, and only then the login.
 * One command at a time: the client never pipelines. The session
 * hook is called exactly once, when the session is over. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MsPop3Client MsPop3Client;

/* RFC 2449 4: a response line is at most 512 octets including CRLF. */
#define MS_POP3_CLIENT_STATUS_MAX 512

typedef enum {
    MS_POP3_CLIENT_OK,              /* every message handled and QUIT answered +OK */
    MS_POP3_CLIENT_AUTH_FAILED,     /* USER/PASS/APOP refused (text: the server's) */
    MS_POP3_CLIENT_LOCKED,          /* refused with [IN-USE] (RFC 2449 8.1.1) */
    MS_POP3_CLIENT_SERVER_ERROR,    /* an unexpected -ERR (greeting, STAT, RETR, DELE, QUIT) */
    MS_POP3_CLIENT_PROTOCOL_ERROR,  /* the server broke the protocol (bad or overlong line) */
    MS_POP3_CLIENT_DISCONNECTED,    /* the connection ended before QUIT was answered */
    MS_POP3_CLIENT_TLS_UNAVAILABLE, /* TLS required, STLS not offered or refused */
    MS_POP3_CLIENT_TLS_FAILED,      /* ms_pop3_client_tls_failed() */
} MsPop3ClientResult;

/* When the client uses STLS (the POP3 side of Postfix-like levels). */
typedef enum {
    MS_POP3_TLS_NONE = 0, /* never (no CAPA is sent either) */
    MS_POP3_TLS_MAY,      /* when CAPA lists STLS; else in the clear */
    MS_POP3_TLS_ENCRYPT,  /* required: without STLS the session ends before USER */
} MsPop3TlsLevel;

typedef struct {
    const char *user;
    const char *password;
    /* Log in with APOP when the greeting carries a timestamp (RFC 1939 7),
     * USER/PASS otherwise. Default FALSE. */
    gboolean use_apop;
    /* DELE each message once retrieved. Default FALSE. */
    gboolean delete_after_retrieve;
    /* "Leave on server" mode: a NULL-terminated list of unique ids already
     * seen; those messages are neither retrieved nor deleted. May be NULL. */
    const char *const *skip_uids;
    /* Longest line of a multi-line response accepted, CRLF included
     * (default 65536: RFC 5322 allows 1000, real mail is sloppier). */
    gsize max_line;
    /* Largest message accepted, in octets (default 64 MiB). */
    gsize max_message;
    /* Whether the trace hook sees the password / digest (default FALSE). */
    gboolean trace_secrets;
    /* STLS use (ignored when tls_active) and implicit TLS (port 995, RFC
     * 8314 3.3: the session starts protected). Default NONE / FALSE. */
    MsPop3TlsLevel tls_level;
    gboolean tls_active;
} MsPop3ClientConfig;

typedef struct {
    /* A message retrieved: `msgno` as the server numbers it, `uid` from UIDL
     * (NULL when the server has no UIDL), `message` un-stuffed with CRLF
     * line ends. Everything is borrowed: ref `message` to keep it. */
    void (*message)(gpointer user_data, guint msgno, const char *uid, GBytes *message);
    /* The end of the session, called once. `text` is the server's text
     * after -ERR, or a description of what went wrong ("" when OK). */
    void (*done)(gpointer user_data, MsPop3ClientResult result, const char *text);
    /* Optional: every protocol line without CRLF, made printable;
     * retrieved messages summarised in one line. */
    void (*trace)(gpointer user_data, gboolean from_client, const char *line);
} MsPop3ClientHooks;

/* Fills `cfg` with the defaults named above (user and password NULL). */
void ms_pop3_client_config_init(MsPop3ClientConfig *cfg);

/* A client for one connection; waits for the server's greeting. `cfg` is
 * copied (strings and skip list too), `hooks` is copied. user and password
 * are required. Returns a new client (caller frees). */
MsPop3Client *ms_pop3_client_new(const MsPop3ClientConfig *cfg, const MsPop3ClientHooks *hooks,
                                 gpointer user_data);
/* Frees the client; does not call the done hook. Accepts NULL. */
void ms_pop3_client_free(MsPop3Client *client);

/* Reads bytes from the server; any split gives the same result. Ignored
 * once the session is closed. */
void ms_pop3_client_feed(MsPop3Client *client, const guint8 *data, gsize len);
/* The connection was closed by the server or the transport: ends the
 * session (DISCONNECTED unless its result was already known). */
void ms_pop3_client_eof(MsPop3Client *client);
/* Bytes to send, or NULL. Returns a new GBytes (caller frees). */
GBytes *ms_pop3_client_take_output(MsPop3Client *client);
/* TRUE from the +OK to STLS until _tls_started() or _tls_failed(): the
 * caller runs the handshake. Clear text that followed the +OK, or arrives
 * meanwhile, is dropped (RFC 2595 4: nothing before the handshake counts). */
gboolean ms_pop3_client_wants_tls(const MsPop3Client *client);
/* The handshake is done: CAPA again (the first answer is forgotten, RFC
 * 2595 4), then the login, inside TLS. */
void ms_pop3_client_tls_started(MsPop3Client *client);
/* The handshake failed: the session ends with MS_POP3_CLIENT_TLS_FAILED
 * and `why`, nothing more is sent. */
void ms_pop3_client_tls_failed(MsPop3Client *client, const char *why);
gboolean ms_pop3_client_tls_active(const MsPop3Client *client);
/* Whether the password (PASS) or its digest (APOP) was sent, and if so
 * whether from inside TLS (*inside_tls; may be NULL). */
gboolean ms_pop3_client_login_sent(const MsPop3Client *client, gboolean *inside_tls);

/* TRUE once the session is over: send what is left, then close. */
gboolean ms_pop3_client_is_closed(const MsPop3Client *client);

/* The result so far (MS_POP3_CLIENT_OK while the session runs) and the
 * number of messages retrieved. */
MsPop3ClientResult ms_pop3_client_result(const MsPop3Client *client);
guint ms_pop3_client_retrieved(const MsPop3Client *client);

/* A fixed name for a result, e.g. "auth-failed". */
const char *ms_pop3_client_result_to_string(MsPop3ClientResult result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsPop3Client, ms_pop3_client_free)

G_END_DECLS

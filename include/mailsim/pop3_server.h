/* The POP3 server protocol core (RFC 1939, with CAPA and response codes of
 * RFC 2449 and RFC 3206, and STLS of RFC 2595 4): a sans-I/O state machine. Bytes from the client go
 * in with ms_pop3_server_feed(); bytes for the client come out of
 * ms_pop3_server_take_output(). It owns no socket, reads no clock and knows
 * no engine: a simulated host carries its bytes over simulated TCP, the
 * bridge carries them over a real socket. The maildrop is reached through
 * hooks, so the same core serves the simulated mailbox store and tests.
 *
 * Authentication delay. After a failed PASS or APOP the core holds its -ERR
 * reply back and stops reading input. ms_pop3_server_take_delay_ms() then
 * returns the delay once (non-zero). The caller sends what take_output gives
 * (the replies before the failure), waits that long in its own time (an
 * engine timer, or a GLib timeout in the bridge), and calls
 * ms_pop3_server_resume(): the held -ERR becomes output and the buffered
 * input is read on. So a client that pipelines guesses gets one guess per
 * delay, and the core never needs a clock.
 *
 * A typical driver loop:
 *     ms_pop3_server_feed(srv, buf, n);
 *     while ((out = ms_pop3_server_take_output(srv))) send(out);
 *     if ((ms = ms_pop3_server_take_delay_ms(srv))) schedule resume in ms;
 *     if (ms_pop3_server_is_closed(srv) && nothing left to send) close;
 * A dropped connection is simply ms_pop3_server_free(): the maildrop is
 * unlocked and no deletion is committed (RFC 1939 6).
 *
 * TLS. The core runs no TLS itself. After it has queued "+OK" to STLS,
 * ms_pop3_server_wants_tls() is TRUE: the caller sends the output, runs
 * the TLS handshake as server on the connection, and calls
 * ms_pop3_server_tls_started() (or _tls_failed()). Input fed in between,
 * including commands pipelined after STLS, is discarded unread (the
 * CVE-2011-0411 injection). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MsPop3Server MsPop3Server;

/* RFC 1939 7: a unique-id is 1 to 70 characters in the range 0x21..0x7E. */
#define MS_POP3_UID_MAX 70
/* RFC 2449 4: a command line is up to 255 octets including its CRLF. */
#define MS_POP3_SERVER_LINE_MAX 255

/* One message of a maildrop, as the `list` hook describes it. */
typedef struct {
    guint64 size;                  /* octets, CRLF line ends, before byte-stuffing */
    char uid[MS_POP3_UID_MAX + 1]; /* NUL-terminated unique id (RFC 1939 7) */
} MsPop3MessageInfo;

typedef struct {
    /* Host name in the greeting and in the APOP timestamp. */
    const char *hostname;
    /* A token unique to this connection (e.g. "<host counter>.<conn id>"),
     * chosen by the caller since the core has no clock. When non-NULL the
     * greeting carries the timestamp "<token@hostname>" and APOP is offered
     * (RFC 1939 7); NULL turns APOP off. No '<', '>', '@' or spaces. */
    const char *apop_token;
    /* How long the caller must wait before a failed PASS/APOP is answered.
     * Default 2000 ms, as Dovecot's auth_failure_delay. */
    guint64 auth_fail_delay_ms;
    /* Failed logins after which the connection is closed (default 3). */
    guint max_auth_failures;
    /* Text of the CAPA IMPLEMENTATION line (RFC 2449 6.9); default "mailsim". */
    const char *implementation;
    /* Whether the trace hook sees passwords and APOP digests (default FALSE:
     * they are replaced by "****"). Teaching scenarios may turn it on. */
    gboolean trace_secrets;
    /* Advertise STLS in CAPA and accept it (RFC 2595 4). */
    gboolean offer_stls;
    /* The session runs inside TLS from its first octet (POP3S on port 995,
     * RFC 8314 3.3). */
    gboolean tls_active;
    /* USER, PASS and APOP are refused before TLS and USER is left out of
     * CAPA, as Dovecot does with disable_plaintext_auth = yes. */
    gboolean auth_requires_tls;
} MsPop3ServerConfig;

/* The maildrop behind the server. `user` is the name given by USER/APOP. */
typedef struct {
    /* USER/PASS check. Required. */
    gboolean (*authenticate)(gpointer user_data, const char *user, const char *password);
    /* APOP: returns the shared secret of `user` (newly allocated; the core
     * frees it) or NULL when the user is unknown or may not use APOP. The
     * core computes MD5(timestamp secret) itself (RFC 1939 7), so backends
     * never see digests. Optional: NULL refuses every APOP. */
    char *(*apop_secret)(gpointer user_data, const char *user);
    /* Takes the exclusive lock on the user's maildrop (RFC 1939 8). FALSE
     * means someone else holds it: answered "-ERR [IN-USE]" (RFC 2449 8.1.1). */
    gboolean (*lock)(gpointer user_data, const char *user);
    /* Appends one MsPop3MessageInfo per message to `out`, message 1 first.
     * FALSE (or an invalid uid) is answered "-ERR [SYS/TEMP]" (RFC 3206 5). */
    gboolean (*list)(gpointer user_data, const char *user, GArray *out);
    /* The bytes of message `index` (0-based), CRLF line ends, exactly the
     * size `list` gave; a new reference (the core unrefs it). NULL, or a
     * different size, is answered "-ERR [SYS/TEMP]". */
    GBytes *(*retrieve)(gpointer user_data, const char *user, guint index);
    /* Removes the messages at `indices` (0-based, ascending); called once,
     * at QUIT from the TRANSACTION state only (the UPDATE state, RFC 1939 6).
     * FALSE is answered "-ERR [SYS/TEMP] some deleted messages not removed". */
    gboolean (*commit)(gpointer user_data, const char *user, const guint *indices, guint n);
    /* Releases the lock taken by `lock`. Called exactly once per successful
     * lock: at QUIT, on a failed maildrop listing, or from _free. */
    void (*unlock)(gpointer user_data, const char *user);
    /* Optional: every protocol line, without its CRLF, made printable (bytes
     * outside 0x20..0x7E other than valid UTF-8 become \xNN). from_client
     * says the direction. Message text in RETR and TOP is summarised in one
     * line "[n octets of message k]". */
    void (*trace)(gpointer user_data, gboolean from_client, const char *line);
} MsPop3ServerHooks;

/* Fills `cfg` with the defaults named above. */
void ms_pop3_server_config_init(MsPop3ServerConfig *cfg);

/* A server for one connection. `cfg` is copied (strings too); `hooks` is
 * copied; `user_data` is passed to every hook. Nothing is sent before
 * ms_pop3_server_start(). Returns a new server (caller frees). */
MsPop3Server *ms_pop3_server_new(const MsPop3ServerConfig *cfg, const MsPop3ServerHooks *hooks,
                                 gpointer user_data);
/* Frees the server; if the maildrop is locked it is unlocked with no
 * deletion committed (a dropped connection). Accepts NULL. */
void ms_pop3_server_free(MsPop3Server *srv);

/* Queues the greeting "+OK ... <token@hostname>". Call once. */
void ms_pop3_server_start(MsPop3Server *srv);

/* Reads `len` bytes from the client. Any split of the same input gives the
 * same output. Input after the session closed is ignored. */
void ms_pop3_server_feed(MsPop3Server *srv, const guint8 *data, gsize len);

/* Output to send now, or NULL when there is none. Taking output may let the
 * core read more buffered input (the output high-water mark, see the .c),
 * so call it until it returns NULL. Returns a new GBytes (caller frees). */
GBytes *ms_pop3_server_take_output(MsPop3Server *srv);

/* Non-zero once after a failed PASS/APOP: wait that many milliseconds, then
 * call ms_pop3_server_resume(). Returns 0 otherwise. */
guint64 ms_pop3_server_take_delay_ms(MsPop3Server *srv);
/* Whether the server is waiting for ms_pop3_server_resume(). */
gboolean ms_pop3_server_is_held(const MsPop3Server *srv);
/* Ends the authentication delay: the held reply becomes output and the
 * buffered input is read. No effect when not held. */
void ms_pop3_server_resume(MsPop3Server *srv);

/* TRUE after "+OK" to STLS has been queued, until tls_started/failed. */
gboolean ms_pop3_server_wants_tls(const MsPop3Server *srv);
/* The handshake succeeded: the session stays in the AUTHORIZATION state
 * inside TLS, with what it learnt before forgotten (RFC 2595 4: a USER
 * given before). CAPA no longer lists STLS; it lists USER. */
void ms_pop3_server_tls_started(MsPop3Server *srv);
/* The handshake failed: the session is closed, nothing more is sent. */
void ms_pop3_server_tls_failed(MsPop3Server *srv);
/* Whether the session runs inside TLS. */
gboolean ms_pop3_server_is_tls(const MsPop3Server *srv);

/* TRUE once the session is over (after QUIT, or too many failures): send
 * the remaining output, then close the connection. */
gboolean ms_pop3_server_is_closed(const MsPop3Server *srv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsPop3Server, ms_pop3_server_free)

G_END_DECLS

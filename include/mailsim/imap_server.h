/* The IMAP server protocol core (IMAP4rev2, RFC 9051, answering IMAP4rev1
 * clients of RFC 3501 as well): a sans-I/O state machine in the manner of
 * the POP3 core (pop3_server.h). Bytes from the client go in with
 * ms_imap_server_feed(); bytes for the client come out of
 * ms_imap_server_take_output(). It owns no socket, reads no clock and knows
 * no engine. The mailboxes are reached through hooks (MsImapServerHooks),
 * so the same core can serve the simulated mailbox store, the bridge and
 * tests.
 *
 * A typical driver loop:
 *     ms_imap_server_feed(srv, buf, n);
 *     while ((out = ms_imap_server_take_output(srv))) send(out);
 *     if (ms_imap_server_wants_tls(srv)) run the TLS handshake, then
 *         ms_imap_server_tls_started() (or _tls_failed());
 *     if (ms_imap_server_is_closed(srv) && nothing left to send) close;
 * When the mailbox may have changed behind the session (new mail
 * delivered), the caller calls ms_imap_server_refresh(): during IDLE
 * (RFC 2177) the untagged EXISTS/EXPUNGE answers are queued at once;
 * otherwise they wait for the next command (NOOP, RFC 9051 6.1.2).
 *
 * TLS. After "OK Begin TLS negotiation now" to STARTTLS (RFC 9051 6.2.1)
 * ms_imap_server_wants_tls() is TRUE; input fed before
 * ms_imap_server_tls_started() is discarded (the CVE-2011-0411 injection).
 * With auth_requires_tls, LOGIN is refused and CAPABILITY says
 * LOGINDISABLED until TLS (RFC 9051 6.2.3), and AUTHENTICATE as well. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MsImapServer MsImapServer;

/* System flags (RFC 9051 2.3.2), as a bit set. */
enum {
    MS_IMAP_FLAG_SEEN = 1u << 0,
    MS_IMAP_FLAG_ANSWERED = 1u << 1,
    MS_IMAP_FLAG_FLAGGED = 1u << 2,
    MS_IMAP_FLAG_DELETED = 1u << 3,
    MS_IMAP_FLAG_DRAFT = 1u << 4,
};

/* One line of a command (a fragment between literals) is at most this long,
 * as Dovecot's imap_max_line_length default of 64 KiB. */
#define MS_IMAP_SERVER_LINE_MAX 65536

/* Keywords (RFC 9051 2.3.2: flags that do not begin with "\") a mailbox
 * may define, as Dovecot's Maildir, which names them by the letters a-z;
 * STORE or APPEND of one more is refused with NO [LIMIT] (RFC 5530) and
 * PERMANENTFLAGS then lists no "\*". */
#define MS_IMAP_KEYWORD_MAX 26

/* One message of a mailbox, as the `list` hook describes it. */
typedef struct {
    guint32 uid;          /* > 0, strictly ascending along the list */
    guint64 size;         /* octets, CRLF line ends: RFC822.SIZE */
    guint flags;          /* MS_IMAP_FLAG_* */
    gint64 internal_date; /* seconds since 1970 UTC: INTERNALDATE */
    guint32 keywords;     /* bit k: the mailbox's keyword k (see `list`) */
} MsImapMessageInfo;

/* A mailbox as a whole, from the `list` hook. */
typedef struct {
    guint32 uidvalidity; /* > 0 */
    guint32 uidnext;     /* > every uid in the mailbox */
} MsImapMailboxInfo;

typedef enum {
    MS_IMAP_HOOK_OK,
    MS_IMAP_HOOK_NO_MAILBOX, /* answered NO [NONEXISTENT] or [TRYCREATE] */
    MS_IMAP_HOOK_EXISTS,     /* CREATE/RENAME onto an existing name: NO [ALREADYEXISTS] */
    MS_IMAP_HOOK_FAILED,     /* answered NO [SERVERBUG] */
    MS_IMAP_HOOK_OVER_QUOTA, /* APPEND: NO [OVERQUOTA] */
    MS_IMAP_HOOK_LIMIT,      /* a keyword past MS_IMAP_KEYWORD_MAX: NO [LIMIT] */
    MS_IMAP_HOOK_CANNOT,     /* not allowed on this mailbox: NO [CANNOT] */
} MsImapHookResult;

typedef struct {
    /* Host name in the greeting. */
    const char *hostname;
    /* Offer STARTTLS (RFC 9051 6.2.1). */
    gboolean offer_starttls;
    /* The session runs inside TLS from its first octet (IMAPS, RFC 8314 3.3). */
    gboolean tls_active;
    /* LOGIN and AUTHENTICATE only inside TLS (RFC 9051 6.2.3 LOGINDISABLED). */
    gboolean auth_requires_tls;
    /* Largest literal accepted (APPEND's message): default 32 MiB. Larger
     * ones are refused before a single octet of them is read. */
    guint64 max_literal;
    /* Failed logins after which the connection is closed (default 3). */
    guint max_auth_failures;
    /* Whether the trace hook sees passwords (default FALSE: "****"). */
    gboolean trace_secrets;
} MsImapServerConfig;

/* The mailboxes behind the server; `user` is the name that logged in and
 * `mailbox` a name as it travels on the wire (modified UTF-7, RFC 3501
 * 5.1.3, checked by the core; "INBOX" always spelt so, "/" the hierarchy
 * delimiter).
 * Every hook is required. */
typedef struct {
    gboolean (*authenticate)(gpointer user_data, const char *user, const char *password);
    /* Appends the names of the user's mailboxes other than INBOX (newly
     * allocated strings; `out` frees them), in any order (the core sorts). */
    void (*mailboxes)(gpointer user_data, const char *user, GPtrArray *out);
    /* Lists a mailbox: one MsImapMessageInfo per message, oldest first, and
     * its uidvalidity/uidnext. NO_MAILBOX when it does not exist. When
     * `keywords` is not NULL, appends the keywords the mailbox defines
     * (newly allocated), keyword k being bit k of a message's `keywords`;
     * a keyword keeps its number as long as the mailbox exists, new ones
     * come at the end. */
    MsImapHookResult (*list)(gpointer user_data, const char *user, const char *mailbox, GArray *out,
                             MsImapMailboxInfo *info, GPtrArray *keywords);
    /* The bytes of a message (CRLF line ends, exactly the listed size): a new
     * reference, or NULL when it has gone. */
    GBytes *(*read)(gpointer user_data, const char *user, const char *mailbox, guint32 uid);
    /* Sets a message's flags and keywords (the whole set each; `keywords`
     * NULL-terminated, NULL for none, spelt as the client did). A keyword
     * the mailbox does not define yet is added to its list (LIMIT when it
     * already holds MS_IMAP_KEYWORD_MAX); keywords match case-insensitively. */
    MsImapHookResult (*set_flags)(gpointer user_data, const char *user, const char *mailbox,
                                  guint32 uid, guint flags, const char *const *keywords);
    /* Removes the messages with these uids (ascending) for good. */
    MsImapHookResult (*expunge)(gpointer user_data, const char *user, const char *mailbox,
                                const guint32 *uids, guint n);
    /* Adds a message (a ref is taken if kept) with flags, keywords (as for
     * set_flags) and a date (G_MININT64 when the client gave none: the hook
     * stamps its own); sets *uid to the uid it got (RFC 4315 APPENDUID), or
     * 0. */
    MsImapHookResult (*append)(gpointer user_data, const char *user, const char *mailbox,
                               GBytes *data, guint flags, const char *const *keywords,
                               gint64 internal_date, guint32 *uid);
    /* Folders: CREATE, DELETE, RENAME. Never called for INBOX. */
    MsImapHookResult (*create)(gpointer user_data, const char *user, const char *mailbox);
    MsImapHookResult (*delete_mailbox)(gpointer user_data, const char *user, const char *mailbox);
    MsImapHookResult (*rename)(gpointer user_data, const char *user, const char *from,
                               const char *to);
    /* Subscriptions (RFC 9051 6.3.7, 6.3.8): appends the names the user
     * subscribed to (newly allocated; any order, the core sorts), which
     * may include names that no longer exist (LIST answers \NonExistent);
     * and subscribes (`on`) or unsubscribes one name. */
    void (*subscriptions)(gpointer user_data, const char *user, GPtrArray *out);
    MsImapHookResult (*subscribe)(gpointer user_data, const char *user, const char *mailbox,
                                  gboolean on);
} MsImapServerHooks;

/* Told every protocol line without its CRLF, made printable (other octets
 * as \xNN); the contents of literals summarised "{n}[n octets]", LOGIN and
 * AUTHENTICATE arguments as "****" unless trace_secrets. */
typedef void (*MsImapTraceFunc)(gpointer user_data, gboolean from_client, const char *line);

/* Fills `cfg` with the defaults named above. */
void ms_imap_server_config_init(MsImapServerConfig *cfg);

/* A server for one connection. `cfg` and `hooks` are copied; `user_data`
 * is passed to every hook. Returns a new server (caller frees). */
MsImapServer *ms_imap_server_new(const MsImapServerConfig *cfg, const MsImapServerHooks *hooks,
                                 gpointer user_data);
void ms_imap_server_free(MsImapServer *srv);
/* Sets (or with NULL clears) the trace. */
void ms_imap_server_set_trace(MsImapServer *srv, MsImapTraceFunc fn, gpointer user_data);

/* Queues the greeting "* OK [CAPABILITY ...]". Call once. */
void ms_imap_server_start(MsImapServer *srv);
/* Reads `len` octets from the client; any split gives the same output. */
void ms_imap_server_feed(MsImapServer *srv, const guint8 *data, gsize len);
/* Output to send now, or NULL. Call until NULL (taking output may let the
 * core read more buffered input). Returns a new GBytes (caller frees). */
GBytes *ms_imap_server_take_output(MsImapServer *srv);

/* The selected mailbox may have changed: in IDLE the changes are told at
 * once (untagged EXPUNGE and EXISTS), otherwise at the next command that
 * allows them. No effect when no mailbox is selected. */
void ms_imap_server_refresh(MsImapServer *srv);
/* Whether the session is in IDLE (it waits for DONE). */
gboolean ms_imap_server_is_idling(const MsImapServer *srv);
/* The user logged in and the selected mailbox (NULL when none). */
const char *ms_imap_server_user(const MsImapServer *srv);
const char *ms_imap_server_selected(const MsImapServer *srv);

gboolean ms_imap_server_wants_tls(const MsImapServer *srv);
void ms_imap_server_tls_started(MsImapServer *srv);
void ms_imap_server_tls_failed(MsImapServer *srv);
gboolean ms_imap_server_is_tls(const MsImapServer *srv);
/* TRUE once the session is over (LOGOUT, BYE): send the rest, close. */
gboolean ms_imap_server_is_closed(const MsImapServer *srv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsImapServer, ms_imap_server_free)

G_END_DECLS

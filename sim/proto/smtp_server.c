/* The SMTP server protocol core (see include/mailsim/smtp_server.h). In the
 * data flow it sits between a byte stream (simulated TCP or a bridge socket)
 * and the MTA's policy and queue, which it reaches only through hooks.
 *
 * Design. Input is appended to one buffer and consumed by a loop that is in
 * one of three modes: command lines, AUTH continuation lines, or message
 * content. Lines are only acted on once complete, and the content parser is
 * a byte-level state machine whose state survives between feeds, so any
 * split of the stream (one octet at a time included) produces the same
 * replies. Replies are appended to one output buffer in command order, which
 * is all PIPELINING (RFC 2920) asks of a server.
 *
 * Choices where the RFCs leave room, all strict, because the same code
 * faces hostile peers behind the bridge:
 *  - Command lines must end in CRLF (RFC 5321 2.3.8, 4.1.1). A line that
 *    ends in a bare LF gets 500 5.5.2 and is not executed. A line over 512
 *    octets including CRLF (RFC 5321 4.5.3.1.4) is discarded up to its LF
 *    and answered with one 500 5.5.6, so the stream stays in step. Octets
 *    below 0x20, DEL and 8-bit octets in a command (no SMTPUTF8) get
 *    500 5.5.2. AUTH continuation lines may reach 12288 octets (RFC 4954 4).
 *  - Only CRLF "." CRLF ends message content (RFC 5321 4.1.1.4, 4.5.2); the
 *    354 reply counts as the first CRLF. A bare CR or bare LF never ends a
 *    line, so "<LF>.<LF>" and "<CR>.<CR>" (SMTP smuggling probes) are plain
 *    content and nothing after them is read as a command. A message holding
 *    a bare CR or LF (forbidden by RFC 5321 2.3.8) or a NUL octet is read to
 *    its real end and then refused with 554 5.6.0, not repaired: a relay
 *    that silently normalised it could be made to forward a message that
 *    differs from what the sender's side saw.
 *  - Text lines may be 1000 octets including CRLF (RFC 5321 4.5.3.1.6),
 *    counted after un-stuffing (a stuffed line of 998 octets of text is
 *    legal at the RFC 5322 level). A longer line makes the message refused
 *    with 554 5.6.0 after its end, rather than folded or split, because
 *    splitting would change a signed body.
 *  - Content beyond max_size is counted but not stored, and the message is
 *    refused with 552 5.3.4 at its end (RFC 1870 6.3).
 *  - After max_errors protocol errors (5xx for syntax or sequence) the
 *    session ends with 421 4.7.0, like Postfix's smtpd_hard_error_limit.
 *  - After the 220 to STARTTLS nothing more is read until the caller says
 *    the handshake is done: the rest of the buffer and every later feed
 *    are dropped, and the session then starts afresh (RFC 3207 4.2).
 *    Commands a man in the middle appends behind a client's STARTTLS
 *    would otherwise run inside the protected session (CVE-2011-0411).
 *    Before TLS, tls_required refuses every command but HELO, EHLO,
 *    STARTTLS, RSET, NOOP, HELP and QUIT with 530 5.7.0 (RFC 3207 4), and
 *    auth_requires_tls AUTH (Postfix: 504 5.5.4), and EHLO hides AUTH.
 *  - Enhanced status codes are sent once the client said EHLO, on 2xx, 4xx
 *    and 5xx replies except the greeting and the replies to HELO/EHLO
 *    (RFC 2034 3), in the MAILSIM dialect; see "Dialects" for the others.
 *
 * Dialects. A server configured as Postfix, Exim or OpenSMTPD answers with
 * that server's words, from its sources (Postfix 3.x src/smtpd/smtpd.c,
 * Exim 4.96 src/smtp_in.c, OpenSMTPD 7.x usr.sbin/smtpd/smtp_session.c):
 * the EHLO keywords in its order, the first line of its HELO/EHLO reply,
 * and the texts of MAIL, RCPT, DATA, RSET, NOOP, QUIT, HELP and of an
 * unknown command. Postfix and OpenSMTPD put enhanced status codes in
 * every reply, HELO sessions included (their reply strings carry them);
 * Exim does not implement RFC 2034 and sends none. Keywords of
 * extensions this core does not implement are left out rather than
 * advertised falsely: SMTPUTF8 and CHUNKING (Postfix's defaults; CHUNKING is Exim's too) and
 * PRDR (Exim's default configure file turns it on). Error replies
 * (syntax, sequence) keep this core's wording in every dialect. DSN
 * (RFC 3461), which Postfix and OpenSMTPD advertise, is accepted: MAIL's
 * RET and ENVID and RCPT's NOTIFY and ORCPT are checked for syntax and
 * not acted on.
 *
 * Invariants: replies leave in the order of the commands; nothing is read
 * after 221 or 421. Ownership: the server owns its buffers and copies of the
 * configuration; the message GBytes handed to the data hook is released after
 * the hook (the hook may ref it). Costs: O(n) in input octets; memory is the
 * unprocessed input (at most one line, 512 or 12288 octets, plus what the
 * caller fed in one go) and the message up to max_size. */
#include "mailsim/smtp_server.h"
#include "line_reader-private.h"

#include <string.h>

#define CMD_LINE_MAX   512   /* RFC 5321 4.5.3.1.4, including CRLF */
#define AUTH_LINE_MAX  12288 /* RFC 4954 4 */
#define TEXT_LINE_MAX  998   /* RFC 5321 4.5.3.1.6: 1000 with CRLF */
#define LOCAL_PART_MAX 64    /* RFC 5321 4.5.3.1.1 */
#define DOMAIN_MAX     255   /* RFC 5321 4.5.3.1.2 */
#define PATH_MAX_LEN   256   /* RFC 5321 4.5.3.1.3, with the brackets */

typedef enum { MODE_COMMAND, MODE_AUTH, MODE_DATA } Mode;
typedef enum { AUTH_NONE, AUTH_PLAIN, AUTH_LOGIN_USER, AUTH_LOGIN_PASS } AuthStep;
/* Message content parser: where we are relative to line starts. */
typedef enum { D_LINE_START, D_DOT, D_DOT_CR, D_TEXT, D_CR } DataState;

typedef enum { ENH_AFTER_EHLO, ENH_ALWAYS, ENH_NEVER } EnhMode;

/* An enhanced code and a text. */
typedef struct {
    const char *enh, *text;
} Said;

/* The reply texts of one dialect (see "Dialects" above). */
typedef struct {
    EnhMode enh;
    gboolean dsn, vrfy, etrn; /* DSN advertised; VRFY, ETRN implemented */
    Said mail_ok, rcpt_ok, data_go, queued, rset, noop, quit, starttls;
    gboolean quit_names_host; /* "<hostname> closing connection" */
    guint unknown_code;
    Said unknown;
} Dialect;

static const Dialect dialects[] = {
    [MS_SMTP_DIALECT_MAILSIM] = {
        .enh = ENH_AFTER_EHLO,
        .dsn = FALSE,
        .vrfy = TRUE,
        .etrn = FALSE,
        .mail_ok = { "2.1.0", "Ok" },
        .rcpt_ok = { "2.1.5", "Ok" },
        .data_go = { NULL, "End data with <CR><LF>.<CR><LF>" },
        .queued = { "2.0.0", "Ok: queued" },
        .rset = { "2.0.0", "Ok" },
        .noop = { "2.0.0", "Ok" },
        .quit = { "2.0.0", "closing connection" },
        .starttls = { "2.0.0", "Ready to start TLS" },
        .quit_names_host = TRUE,
        .unknown_code = 500,
        .unknown = { "5.5.2", "Command unrecognized" },
    },
    /* smtpd.c: mail_cmd "250 2.1.0 Ok", rcpt_cmd "250 2.1.5 Ok", data_cmd
     * "354 End data with <CR><LF>.<CR><LF>", the queue manager's "250 2.0.0
     * Ok: queued as <id>" (the data hook adds the id), quit_cmd "221 2.0.0
     * Bye", starttls_cmd "220 2.0.0 Ready to start TLS", and no HELP
     * command: "502 5.5.2 Error: command not recognized". */
    [MS_SMTP_DIALECT_POSTFIX] = {
        .enh = ENH_ALWAYS,
        .dsn = TRUE,
        .vrfy = TRUE,
        .etrn = TRUE,
        .mail_ok = { "2.1.0", "Ok" },
        .rcpt_ok = { "2.1.5", "Ok" },
        .data_go = { NULL, "End data with <CR><LF>.<CR><LF>" },
        .queued = { "2.0.0", "Ok: queued" },
        .rset = { "2.0.0", "Ok" },
        .noop = { "2.0.0", "Ok" },
        .quit = { "2.0.0", "Bye" },
        .starttls = { "2.0.0", "Ready to start TLS" },
        .quit_names_host = FALSE,
        .unknown_code = 502,
        .unknown = { "5.5.2", "Error: command not recognized" },
    },
    /* smtp_in.c: "250 OK", "250 Accepted", "354 Enter message, ending with
     * "." on a line by itself", "250 OK id=<id>" (the hook adds the id),
     * "250 Reset OK", "221 <host> closing connection", "220 TLS go ahead"
     * (tls-openssl.c/tls.c, the STARTTLS reply), "500 unrecognized
     * command". */
    [MS_SMTP_DIALECT_EXIM] = {
        .enh = ENH_NEVER,
        .dsn = FALSE,
        .vrfy = TRUE,
        .etrn = FALSE,
        .mail_ok = { NULL, "OK" },
        .rcpt_ok = { NULL, "Accepted" },
        .data_go = { NULL, "Enter message, ending with \".\" on a line by itself" },
        .queued = { NULL, "OK" },
        .rset = { NULL, "Reset OK" },
        .noop = { NULL, "OK" },
        .quit = { NULL, "closing connection" },
        .starttls = { NULL, "TLS go ahead" },
        .quit_names_host = TRUE,
        .unknown_code = 500,
        .unknown = { NULL, "unrecognized command" },
    },
    /* smtp_session.c: "250 2.0.0 Ok" to MAIL, "250 2.1.5 Destination
     * address valid: Recipient ok", "354 Enter mail, end with "." on a line
     * by itself", "250 2.0.0 <msgid> Message accepted for delivery" (the
     * hook writes it), "250 2.0.0 Reset state", "221 2.0.0 Bye", "220 2.0.0
     * Ready to start TLS" (smtp_proceed_starttls), "500 5.5.1 Invalid
     * command: Command unrecognized"; it has no VRFY command. */
    [MS_SMTP_DIALECT_OPENSMTPD] = {
        .enh = ENH_ALWAYS,
        .dsn = TRUE,
        .vrfy = FALSE,
        .etrn = FALSE,
        .mail_ok = { "2.0.0", "Ok" },
        .rcpt_ok = { "2.1.5", "Destination address valid: Recipient ok" },
        .data_go = { NULL, "Enter mail, end with \".\" on a line by itself" },
        .queued = { "2.0.0", "Message accepted for delivery" },
        .rset = { "2.0.0", "Reset state" },
        .noop = { "2.0.0", "Ok" },
        .quit = { "2.0.0", "Bye" },
        .starttls = { "2.0.0", "Ready to start TLS" },
        .quit_names_host = FALSE,
        .unknown_code = 500,
        .unknown = { "5.5.1", "Invalid command: Command unrecognized" },
    },
};

struct _MsSmtpServer {
    char *hostname;
    const Dialect *d;
    MsSmtpDialect dialect;
    char *client_address;
    char *greeting_text;
    guint greeting_code;
    guint64 max_size;
    guint max_rcpts;
    guint max_errors;
    gboolean offer_auth;
    gboolean offer_starttls, auth_requires_tls, tls_required;
    gboolean pipelining;
    MsSmtpServerHooks hooks;
    gpointer user_data;

    gboolean started;
    gboolean closed;
    gboolean refusing; /* 554 greeting: only QUIT is served */
    guint errors;
    guint accepted;

    char *helo;
    gboolean esmtp;
    char *auth_user;
    gboolean tls;           /* inside TLS (RFC 3207, RFC 8314) */
    gboolean wants_tls;     /* 220 to STARTTLS queued; waiting for the caller */
    gboolean tls_discarded; /* clear-text input after STARTTLS was dropped */
    gboolean deferred;      /* the data or RCPT hook deferred its reply: input waits in `in` */
    char *deferred_rcpt;    /* the RCPT path whose reply is deferred, or NULL (data) */
    MsSmtpReply deferred_default; /* RCPT: the reply the hook was given, for a resume with
                                   * code 0 */

    /* The mail transaction. */
    gboolean in_mail;
    char *mail_from;
    guint64 declared_size;
    gboolean body_8bit;
    GPtrArray *rcpts; /* char *, NULL-terminated for the envelope */

    /* Input. */
    GByteArray *in;
    Mode mode;
    gboolean discarding; /* inside an overlong line, waiting for its LF */
    AuthStep auth_step;
    char *login_user;

    /* Message content. */
    GByteArray *msg;
    guint64 msg_octets;
    DataState dstate;
    gsize line_len;
    gboolean bad_newline, bad_nul, long_line;

    GByteArray *out;
};

/* ---- output ---------------------------------------------------------- */

static void
trace(MsSmtpServer *srv, MsSmtpTraceDir dir, const guint8 *line, gsize len)
{
    if (!srv->hooks.trace)
        return;
    g_autofree char *esc = ms_smtp_escape_line(line, len);
    srv->hooks.trace(dir, esc, srv->user_data);
}

/* Queues a reply; enhanced codes unless told otherwise. 421 closes. */
static void
send_reply_full(MsSmtpServer *srv, const MsSmtpReply *r, gboolean allow_enhanced)
{
    if (srv->closed)
        return;
    g_autoptr(GString) s = g_string_new(NULL);
    gboolean enh = allow_enhanced &&
                   (srv->d->enh == ENH_ALWAYS || (srv->d->enh == ENH_AFTER_EHLO && srv->esmtp));
    /* OpenSMTPD sends a reply without a code as it is written (its
     * lookups' "550 Invalid recipient"); the others get X.0.0 added. */
    if (srv->dialect == MS_SMTP_DIALECT_OPENSMTPD && !r->enhanced[0])
        enh = FALSE;
    ms_smtp_reply_format(r, enh, s);
    g_byte_array_append(srv->out, (const guint8 *) s->str, (guint) s->len);
    if (srv->hooks.trace) {
        const char *p = s->str;
        while (*p) {
            const char *e = strstr(p, "\r\n");
            trace(srv, MS_SMTP_TRACE_OUT, (const guint8 *) p, (gsize) (e - p));
            p = e + 2;
        }
    }
    if (r->code == 421 || r->code == 221)
        srv->closed = TRUE;
}

static void
send_reply(MsSmtpServer *srv, const MsSmtpReply *r)
{
    send_reply_full(srv, r, TRUE);
}

static void
reply(MsSmtpServer *srv, guint code, const char *enh, const char *text)
{
    MsSmtpReply r = { code, { 0 }, (char *) text };
    g_strlcpy(r.enhanced, enh ? enh : "", sizeof r.enhanced);
    send_reply(srv, &r);
}

/* A 5xx for a syntax or sequence error: counted against max_errors. */
static void
protocol_error(MsSmtpServer *srv, guint code, const char *enh, const char *text)
{
    reply(srv, code, enh, text);
    if (++srv->errors >= srv->max_errors)
        reply(srv, 421, "4.7.0", "Too many errors, closing connection");
}

static MsSmtpSession
session_view(const MsSmtpServer *srv)
{
    MsSmtpSession s = { srv->helo, srv->auth_user, srv->esmtp, srv->tls };
    return s;
}

/* ---- life cycle ------------------------------------------------------ */

static void
reset_transaction(MsSmtpServer *srv)
{
    srv->in_mail = FALSE;
    g_clear_pointer(&srv->mail_from, g_free);
    srv->declared_size = 0;
    srv->body_8bit = FALSE;
    g_ptr_array_set_size(srv->rcpts, 0);
}

MsSmtpServer *
ms_smtp_server_new(const MsSmtpServerConfig *cfg, const MsSmtpServerHooks *hooks,
                   gpointer user_data)
{
    MsSmtpServer *srv = g_new0(MsSmtpServer, 1);
    MsSmtpServerConfig none = { 0 };
    if (!cfg)
        cfg = &none;
    srv->hostname = g_strdup(cfg->hostname ? cfg->hostname : "localhost");
    srv->dialect =
        (guint) cfg->dialect < G_N_ELEMENTS(dialects) ? cfg->dialect : MS_SMTP_DIALECT_MAILSIM;
    srv->d = &dialects[srv->dialect];
    srv->client_address = g_strdup(cfg->client_address);
    srv->greeting_code = cfg->greeting_code ? cfg->greeting_code : 220;
    srv->greeting_text = cfg->greeting_text ? g_strdup(cfg->greeting_text)
                                            : g_strdup_printf("%s ESMTP mailsim", srv->hostname);
    srv->max_size = cfg->max_size ? cfg->max_size : MS_SMTP_SERVER_DEFAULT_MAX_SIZE;
    srv->max_rcpts = cfg->max_recipients ? cfg->max_recipients : MS_SMTP_SERVER_DEFAULT_MAX_RCPTS;
    srv->max_errors = cfg->max_errors ? cfg->max_errors : MS_SMTP_SERVER_DEFAULT_MAX_ERRORS;
    srv->offer_auth = cfg->offer_auth;
    srv->offer_starttls = cfg->offer_starttls;
    srv->tls = cfg->tls_active;
    srv->auth_requires_tls = cfg->auth_requires_tls || cfg->tls_required;
    srv->tls_required = cfg->tls_required;
    srv->pipelining = !cfg->no_pipelining;
    if (hooks)
        srv->hooks = *hooks;
    srv->user_data = user_data;
    srv->rcpts = g_ptr_array_new_with_free_func(g_free);
    srv->in = g_byte_array_new();
    srv->out = g_byte_array_new();
    return srv;
}

void
ms_smtp_server_free(MsSmtpServer *srv)
{
    if (!srv)
        return;
    g_free(srv->hostname);
    g_free(srv->client_address);
    g_free(srv->greeting_text);
    g_free(srv->helo);
    g_free(srv->auth_user);
    g_free(srv->mail_from);
    g_free(srv->login_user);
    g_free(srv->deferred_rcpt);
    ms_smtp_reply_clear(&srv->deferred_default);
    g_ptr_array_unref(srv->rcpts);
    g_byte_array_unref(srv->in);
    g_byte_array_unref(srv->out);
    if (srv->msg)
        g_byte_array_unref(srv->msg);
    g_free(srv);
}

void
ms_smtp_server_start(MsSmtpServer *srv)
{
    g_return_if_fail(srv != NULL && !srv->started);
    srv->started = TRUE;
    MsSmtpReply r = { srv->greeting_code, { 0 }, srv->greeting_text };
    if (srv->greeting_code == 554)
        srv->refusing = TRUE; /* RFC 5321 3.1: wait for QUIT, 503 otherwise */
    send_reply_full(srv, &r, FALSE);
}

GBytes *
ms_smtp_server_take_output(MsSmtpServer *srv)
{
    g_return_val_if_fail(srv != NULL, NULL);
    if (srv->out->len == 0)
        return NULL;
    GBytes *b = g_byte_array_free_to_bytes(srv->out);
    srv->out = g_byte_array_new();
    return b;
}

gboolean
ms_smtp_server_is_closed(const MsSmtpServer *srv)
{
    g_return_val_if_fail(srv != NULL, TRUE);
    return srv->closed;
}

gboolean
ms_smtp_server_wants_tls(const MsSmtpServer *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->wants_tls && !srv->closed;
}

void
ms_smtp_server_tls_started(MsSmtpServer *srv)
{
    g_return_if_fail(srv != NULL && srv->wants_tls);
    srv->wants_tls = FALSE;
    srv->tls = TRUE;
    /* RFC 3207 4.2: the server discards what it learnt from the client
     * before TLS: the EHLO argument, any authentication, the transaction. */
    reset_transaction(srv);
    g_clear_pointer(&srv->helo, g_free);
    g_clear_pointer(&srv->auth_user, g_free);
    srv->esmtp = FALSE;
    srv->mode = MODE_COMMAND;
    srv->auth_step = AUTH_NONE;
    g_clear_pointer(&srv->login_user, g_free);
    srv->discarding = FALSE;
    g_byte_array_set_size(srv->in, 0);
    srv->tls_discarded = FALSE;
    if (srv->hooks.trace)
        srv->hooks.trace(MS_SMTP_TRACE_IN, "<TLS established>", srv->user_data);
}

void
ms_smtp_server_tls_failed(MsSmtpServer *srv)
{
    g_return_if_fail(srv != NULL);
    srv->wants_tls = FALSE;
    srv->closed = TRUE;
    g_byte_array_set_size(srv->in, 0);
    if (srv->hooks.trace)
        srv->hooks.trace(MS_SMTP_TRACE_IN, "<TLS handshake failed>", srv->user_data);
}

gboolean
ms_smtp_server_is_tls(const MsSmtpServer *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->tls;
}

guint
ms_smtp_server_messages_accepted(const MsSmtpServer *srv)
{
    g_return_val_if_fail(srv != NULL, 0);
    return srv->accepted;
}

/* ---- address syntax (RFC 5321 4.1.2) ---------------------------------- */

static gboolean
is_atext(guchar c)
{
    return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Domain or address literal at p; returns the end or NULL. */
static const char *
parse_domain(const char *p)
{
    const char *start = p;
    if (*p == '[') {
        p++;
        while (*p && *p != ']') {
            guchar c = (guchar) *p;
            if (c < 33 || c > 126 || c == '[' || c == '\\')
                return NULL;
            p++;
        }
        if (*p != ']' || p == start + 1)
            return NULL;
        return p + 1;
    }
    for (;;) {
        if (!g_ascii_isalnum(*p))
            return NULL;
        while (g_ascii_isalnum(*p) || *p == '-')
            p++;
        if (p[-1] == '-')
            return NULL;
        if (*p != '.')
            break;
        p++;
    }
    return (gsize) (p - start) <= DOMAIN_MAX ? p : NULL;
}

/* Parses "<path>" at s. The null path "<>" is allowed when allow_null and
 * "<Postmaster>" when allow_postmaster (RFC 5321 4.5.1). A source route is
 * accepted and dropped (RFC 5321 4.1.1.3). Sets *out to the path without
 * brackets (caller frees); returns the end or NULL. */
static const char *
parse_path(const char *s, gboolean allow_null, gboolean allow_postmaster, char **out)
{
    const char *open = s;
    if (*s != '<')
        return NULL;
    const char *p = s + 1;
    if (*p == '>') {
        if (!allow_null)
            return NULL;
        *out = g_strdup("");
        return p + 1;
    }
    if (*p == '@') { /* A-d-l ":" */
        for (;;) {
            p = parse_domain(p + 1);
            if (!p)
                return NULL;
            if (*p == ',' && p[1] == '@') {
                p++;
                continue;
            }
            break;
        }
        if (*p != ':')
            return NULL;
        p++;
    }
    const char *mailbox = p;
    if (*p == '"') {
        p++;
        while (*p != '"') {
            guchar c = (guchar) *p;
            if (c == '\\') {
                guchar n = (guchar) p[1];
                if (n < 32 || n > 126)
                    return NULL;
                p += 2;
            } else if (c >= 32 && c <= 126) {
                p++;
            } else {
                return NULL;
            }
        }
        p++;
    } else {
        for (;;) {
            if (!is_atext((guchar) *p))
                return NULL;
            while (is_atext((guchar) *p))
                p++;
            if (*p != '.')
                break;
            p++;
        }
    }
    if ((gsize) (p - mailbox) > LOCAL_PART_MAX)
        return NULL;
    if (*p == '>' && allow_postmaster && p - mailbox == 10 &&
        g_ascii_strncasecmp(mailbox, "postmaster", 10) == 0) {
        *out = g_strndup(mailbox, 10);
        return p + 1;
    }
    if (*p != '@')
        return NULL;
    p = parse_domain(p + 1);
    if (!p || *p != '>' || (gsize) (p + 1 - open) > PATH_MAX_LEN)
        return NULL;
    *out = g_strndup(mailbox, (gsize) (p - mailbox));
    return p + 1;
}

/* ---- commands ------------------------------------------------------- */

/* Whether EHLO lists AUTH: configured, and not held back until TLS. */
static gboolean
auth_offered(const MsSmtpServer *srv)
{
    return srv->offer_auth && (srv->tls || !srv->auth_requires_tls);
}

/* The EHLO keywords, one per line, in the server's own order. SIZE is
 * message_size_limit (Postfix, 10240000), message_size_limit (Exim, 50M =
 * 52428800) or max-message-size (OpenSMTPD, 35M = 36700160): the profile's
 * max_size. AUTH only where the caller offers it (submission). */
static void
append_keywords(const MsSmtpServer *srv, GString *t)
{
    const char *auth = auth_offered(srv) ? "\nAUTH PLAIN LOGIN" : "";
    /* RFC 3207 4.2: not offered again inside TLS. */
    const char *starttls = srv->offer_starttls && !srv->tls ? "\nSTARTTLS" : "";
    switch (srv->dialect) {
    case MS_SMTP_DIALECT_POSTFIX:
        /* smtpd.c ehlo_cmd: PIPELINING, SIZE, VRFY, ETRN, STARTTLS, AUTH,
         * ENHANCEDSTATUSCODES, 8BITMIME, DSN, (SMTPUTF8, CHUNKING). */
        if (srv->pipelining)
            g_string_append(t, "\nPIPELINING");
        g_string_append_printf(t, "\nSIZE %" G_GUINT64_FORMAT "\nVRFY\nETRN%s%s", srv->max_size,
                               starttls, auth);
        g_string_append(t, "\nENHANCEDSTATUSCODES\n8BITMIME\nDSN");
        break;
    case MS_SMTP_DIALECT_EXIM:
        /* smtp_in.c: SIZE, 8BITMIME (accept_8bitmime, on since 4.80), DSN
         * only with dsn_advertise_hosts (unset), PIPELINING, AUTH,
         * (CHUNKING), STARTTLS, (PRDR), HELP. */
        g_string_append_printf(t, "\nSIZE %" G_GUINT64_FORMAT "\n8BITMIME", srv->max_size);
        if (srv->pipelining)
            g_string_append(t, "\nPIPELINING");
        g_string_append_printf(t, "%s%s\nHELP", auth, starttls);
        break;
    case MS_SMTP_DIALECT_OPENSMTPD:
        /* smtp_proceed_ehlo: 8BITMIME, ENHANCEDSTATUSCODES, SIZE, DSN (on
         * unless the listener says no-dsn), STARTTLS, AUTH, HELP. It does
         * not advertise PIPELINING. */
        g_string_append_printf(
            t, "\n8BITMIME\nENHANCEDSTATUSCODES\nSIZE %" G_GUINT64_FORMAT "\nDSN%s%s\nHELP",
            srv->max_size, starttls, auth);
        break;
    case MS_SMTP_DIALECT_MAILSIM:
    default:
        /* STARTTLS before AUTH, as Postfix and OpenSMTPD list them. */
        if (srv->pipelining)
            g_string_append(t, "\nPIPELINING");
        g_string_append_printf(t, "\nSIZE %" G_GUINT64_FORMAT, srv->max_size);
        g_string_append(t, "\n8BITMIME\nENHANCEDSTATUSCODES");
        g_string_append_printf(t, "%s%s\nHELP", starttls, auth);
        break;
    }
}

static void
cmd_helo(MsSmtpServer *srv, const char *arg, gboolean ehlo)
{
    if (!*arg) {
        /* Replies to HELO/EHLO carry no enhanced code (RFC 2034 3). */
        MsSmtpReply r = { 501, { 0 }, ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname" };
        send_reply_full(srv, &r, FALSE);
        if (++srv->errors >= srv->max_errors)
            reply(srv, 421, "4.7.0", "Too many errors, closing connection");
        return;
    }
    reset_transaction(srv); /* RFC 5321 4.1.4: EHLO implies RSET */
    g_free(srv->helo);
    srv->helo = g_strdup(arg);
    srv->esmtp = ehlo;
    g_autoptr(GString) t = g_string_new(srv->hostname);
    /* The first line: Exim's "Hello <helo> [<addr>]" (smtp_in.c, the
     * looked-up host name when it has one; we show the HELO name) and
     * OpenSMTPD's "..., pleased to meet you" (smtp_proceed_ehlo). */
    if (srv->dialect == MS_SMTP_DIALECT_EXIM || srv->dialect == MS_SMTP_DIALECT_OPENSMTPD) {
        g_string_append_printf(t, " Hello %s", arg);
        if (srv->client_address)
            g_string_append_printf(t, " [%s]", srv->client_address);
        if (srv->dialect == MS_SMTP_DIALECT_OPENSMTPD)
            g_string_append(t, ", pleased to meet you");
    }
    if (ehlo)
        append_keywords(srv, t);
    MsSmtpReply r = { 250, { 0 }, t->str };
    send_reply_full(srv, &r, FALSE);
}

/* RFC 3461 4: xtext is printable ASCII but "+" and "=", which appear
 * only as "+" and two upper-case hex digits. */
static gboolean
xtext_valid(const char *p)
{
    if (!*p)
        return FALSE;
    for (; *p; p++) {
        if (*p == '+') {
            if (!g_ascii_isxdigit(p[1]) || !g_ascii_isxdigit(p[2]) || g_ascii_islower(p[1]) ||
                g_ascii_islower(p[2]))
                return FALSE;
            p += 2;
        } else if (*p < '!' || *p > '~' || *p == '=') {
            return FALSE;
        }
    }
    return TRUE;
}

/* RCPT parameters: only DSN's NOTIFY and ORCPT, when DSN is advertised
 * (RFC 3461 4.1, 4.2); anything else gets 555 (RFC 5321 4.1.1.11). */
static gboolean
parse_rcpt_params(MsSmtpServer *srv, const char *p)
{
    g_auto(GStrv) words = g_strsplit(p, " ", -1);
    for (char **w = words; *w; w++) {
        if (!**w)
            continue;
        char *eq = strchr(*w, '=');
        const char *val = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        if (!srv->d->dsn || !srv->esmtp) {
            protocol_error(srv, 555, "5.5.4", "Unsupported parameter");
            return FALSE;
        }
        if (g_ascii_strcasecmp(*w, "NOTIFY") == 0) {
            /* "NEVER" alone, or a list of SUCCESS, FAILURE, DELAY. */
            g_auto(GStrv) items = g_strsplit(val, ",", -1);
            gboolean never = FALSE, ok = items[0] != NULL;
            guint n = 0;
            for (char **i = items; *i && ok; i++, n++) {
                if (g_ascii_strcasecmp(*i, "NEVER") == 0)
                    never = TRUE;
                else
                    ok = g_ascii_strcasecmp(*i, "SUCCESS") == 0 ||
                         g_ascii_strcasecmp(*i, "FAILURE") == 0 ||
                         g_ascii_strcasecmp(*i, "DELAY") == 0;
            }
            if (!ok || (never && n > 1)) {
                protocol_error(srv, 501, "5.5.4", "Bad NOTIFY parameter");
                return FALSE;
            }
        } else if (g_ascii_strcasecmp(*w, "ORCPT") == 0) {
            /* addr-type ";" xtext, e.g. "rfc822;user@example.org". */
            const char *semi = strchr(val, ';');
            if (!semi || semi == val || !xtext_valid(semi + 1)) {
                protocol_error(srv, 501, "5.5.4", "Bad ORCPT parameter");
                return FALSE;
            }
        } else {
            protocol_error(srv, 555, "5.5.4", "Unsupported parameter");
            return FALSE;
        }
    }
    return TRUE;
}

/* Parses ESMTP parameters of MAIL (RFC 5321 4.1.2 Mail-parameters). */
static gboolean
parse_mail_params(MsSmtpServer *srv, const char *p)
{
    g_auto(GStrv) words = g_strsplit(p, " ", -1);
    for (char **w = words; *w; w++) {
        if (!**w)
            continue;
        char *eq = strchr(*w, '=');
        const char *val = eq ? eq + 1 : NULL;
        if (eq)
            *eq = '\0';
        if (!srv->esmtp) {
            protocol_error(srv, 555, "5.5.4", "Parameters need EHLO");
            return FALSE;
        }
        if (g_ascii_strcasecmp(*w, "SIZE") == 0) {
            guint64 n = 0;
            if (!val || !*val || strlen(val) > 20 ||
                !g_ascii_string_to_unsigned(val, 10, 0, G_MAXUINT64, &n, NULL)) {
                protocol_error(srv, 501, "5.5.4", "Bad SIZE parameter");
                return FALSE;
            }
            srv->declared_size = n;
        } else if (g_ascii_strcasecmp(*w, "BODY") == 0) {
            if (val && g_ascii_strcasecmp(val, "8BITMIME") == 0) {
                srv->body_8bit = TRUE;
            } else if (!val || g_ascii_strcasecmp(val, "7BIT") != 0) {
                protocol_error(srv, 501, "5.5.4", "Bad BODY parameter");
                return FALSE;
            }
        } else if (srv->d->dsn &&
                   (g_ascii_strcasecmp(*w, "RET") == 0 || g_ascii_strcasecmp(*w, "ENVID") == 0)) {
            /* RFC 3461 4.3, 4.4: RET=FULL|HDRS, ENVID=xtext. */
            gboolean ret = g_ascii_strcasecmp(*w, "RET") == 0;
            if (!val || !*val ||
                (ret ? g_ascii_strcasecmp(val, "FULL") != 0 && g_ascii_strcasecmp(val, "HDRS") != 0
                     : !xtext_valid(val))) {
                protocol_error(srv, 501, "5.5.4",
                               ret ? "Bad RET parameter" : "Bad ENVID parameter");
                return FALSE;
            }
        } else if (g_ascii_strcasecmp(*w, "AUTH") == 0 && srv->offer_auth) {
            if (!val || !*val) { /* RFC 4954 5: xtext or <>; accepted, not used */
                protocol_error(srv, 501, "5.5.4", "Bad AUTH parameter");
                return FALSE;
            }
        } else {
            protocol_error(srv, 555, "5.5.4", "Unsupported parameter");
            return FALSE;
        }
    }
    return TRUE;
}

/* Skips "FROM:" / "TO:" and optional spaces (liberal: many clients send
 * "MAIL FROM: <a@b>"). */
static const char *
skip_keyword(const char *arg, const char *kw)
{
    gsize n = strlen(kw);
    if (g_ascii_strncasecmp(arg, kw, n) != 0)
        return NULL;
    arg += n;
    while (*arg == ' ')
        arg++;
    return arg;
}

static void
cmd_mail(MsSmtpServer *srv, const char *arg)
{
    if (!srv->helo) {
        protocol_error(srv, 503, "5.5.1", "Send HELO/EHLO first");
        return;
    }
    if (srv->in_mail) {
        protocol_error(srv, 503, "5.5.1", "Nested MAIL command");
        return;
    }
    const char *p = skip_keyword(arg, "FROM:");
    g_autofree char *path = NULL;
    const char *end = p ? parse_path(p, TRUE, FALSE, &path) : NULL;
    if (!end || (*end && *end != ' ')) {
        protocol_error(srv, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
        return;
    }
    srv->declared_size = 0;
    srv->body_8bit = FALSE;
    if (!parse_mail_params(srv, end))
        return;
    if (srv->declared_size > srv->max_size) { /* RFC 1870 6.2 */
        reply(srv, 552, "5.3.4", "Message size exceeds fixed maximum message size");
        return;
    }
    MsSmtpReply r = MS_SMTP_REPLY_INIT;
    ms_smtp_reply_set(&r, 250, srv->d->mail_ok.enh, srv->d->mail_ok.text);
    if (srv->hooks.mail_from) {
        MsSmtpSession s = session_view(srv);
        srv->hooks.mail_from(&s, path, srv->declared_size, &r, srv->user_data);
    }
    if (r.code / 100 == 2) {
        srv->in_mail = TRUE;
        srv->mail_from = g_steal_pointer(&path);
    }
    send_reply(srv, &r);
    ms_smtp_reply_clear(&r);
}

static void
cmd_rcpt(MsSmtpServer *srv, const char *arg)
{
    if (!srv->in_mail) {
        protocol_error(srv, 503, "5.5.1", "Need MAIL command");
        return;
    }
    const char *p = skip_keyword(arg, "TO:");
    g_autofree char *path = NULL;
    const char *end = p ? parse_path(p, FALSE, TRUE, &path) : NULL;
    if (!end || (*end && *end != ' ')) {
        protocol_error(srv, 501, "5.5.4", "Syntax: RCPT TO:<address>");
        return;
    }
    if (!parse_rcpt_params(srv, end))
        return;
    if (srv->rcpts->len >= srv->max_rcpts) { /* RFC 5321 4.5.3.1.10 */
        reply(srv, 452, "4.5.3", "Too many recipients");
        return;
    }
    MsSmtpReply r = MS_SMTP_REPLY_INIT;
    ms_smtp_reply_set(&r, 250, srv->d->rcpt_ok.enh, srv->d->rcpt_ok.text);
    if (srv->hooks.rcpt) {
        MsSmtpSession s = session_view(srv);
        srv->hooks.rcpt(&s, path, &r, srv->user_data);
    }
    if (srv->deferred) { /* the reply, and the recipient's fate, come with the resume */
        srv->deferred_rcpt = g_steal_pointer(&path);
        ms_smtp_reply_clear(&srv->deferred_default);
        srv->deferred_default = r;
        return;
    }
    if (r.code / 100 == 2)
        g_ptr_array_add(srv->rcpts, g_steal_pointer(&path));
    send_reply(srv, &r);
    ms_smtp_reply_clear(&r);
}

static void
cmd_data(MsSmtpServer *srv, const char *arg)
{
    if (*arg) {
        protocol_error(srv, 501, "5.5.4", "Syntax: DATA");
        return;
    }
    if (!srv->in_mail) {
        protocol_error(srv, 503, "5.5.1", "Need MAIL command");
        return;
    }
    if (srv->rcpts->len == 0) { /* RFC 5321 3.3, RFC 2920 3.1 */
        reply(srv, 554, "5.5.1", "No valid recipients");
        return;
    }
    reply(srv, 354, NULL, srv->d->data_go.text);
    srv->mode = MODE_DATA;
    srv->dstate = D_LINE_START; /* the CRLF ending "DATA" starts a line */
    /* RFC 1870 SIZE, when declared and acceptable, sizes the buffer once
     * (a Received: header or two of slack) instead of doubling it. */
    srv->msg =
        srv->declared_size > 0 && srv->declared_size <= srv->max_size
            ? g_byte_array_sized_new((guint) MIN(srv->declared_size + 1024, (guint64) G_MAXUINT32))
            : g_byte_array_new();
    srv->msg_octets = 0;
    srv->line_len = 0;
    srv->bad_newline = srv->bad_nul = srv->long_line = FALSE;
}

/* Checks credentials and sends 235 or the refusal (RFC 4954 4, 6). */
static void
auth_finish(MsSmtpServer *srv, const char *user, const char *password)
{
    srv->mode = MODE_COMMAND;
    srv->auth_step = AUTH_NONE;
    MsSmtpReply r = MS_SMTP_REPLY_INIT;
    ms_smtp_reply_set(&r, 535, "5.7.8", "Authentication credentials invalid");
    gboolean ok = FALSE;
    if (srv->hooks.auth && *user) {
        MsSmtpSession s = session_view(srv);
        ok = srv->hooks.auth(&s, user, password, &r, srv->user_data);
    }
    if (ok) {
        srv->auth_user = g_strdup(user);
        reply(srv, 235, "2.7.0", "Authentication successful");
    } else {
        if (r.code / 100 == 2) /* a hook that refused must not say 2xx */
            ms_smtp_reply_set(&r, 535, "5.7.8", "Authentication credentials invalid");
        send_reply(srv, &r);
    }
    ms_smtp_reply_clear(&r);
}

/* PLAIN response: authzid NUL authcid NUL passwd (RFC 4616 2). Only an
 * empty authzid or one equal to authcid is accepted (no proxy auth). */
static void
auth_plain(MsSmtpServer *srv, const char *b64)
{
    gsize n = 0;
    g_autofree guint8 *raw =
        strcmp(b64, "=") == 0 ? (guint8 *) g_strdup("") : ms_smtp_base64_decode_strict(b64, &n);
    srv->mode = MODE_COMMAND;
    srv->auth_step = AUTH_NONE;
    if (!raw) {
        protocol_error(srv, 501, "5.5.2", "Cannot decode response");
        return;
    }
    const char *zid = (const char *) raw;
    const char *nul1 = memchr(raw, 0, n);
    const char *nul2 = nul1 ? memchr(nul1 + 1, 0, n - (gsize) (nul1 + 1 - zid)) : NULL;
    if (!nul1 || !nul2 || memchr(nul2 + 1, 0, n - (gsize) (nul2 + 1 - zid))) {
        protocol_error(srv, 501, "5.5.2", "Malformed PLAIN response");
        return;
    }
    const char *cid = nul1 + 1, *pw = nul2 + 1;
    if (*zid && strcmp(zid, cid) != 0) {
        auth_finish(srv, "", "");
        return;
    }
    auth_finish(srv, cid, pw);
}

static void
cmd_auth(MsSmtpServer *srv, const char *arg)
{
    if (!srv->offer_auth) {
        protocol_error(srv, 502, "5.5.1", "AUTH not available");
        return;
    }
    if (!srv->tls && srv->auth_requires_tls) {
        /* Credentials are not read in clear text. Postfix answers its
         * smtpd_tls_auth_only refusal with RFC 4954 4's text under 504
         * (smtpd_sasl_proto.c); the others with RFC 3207 4's 530. */
        if (srv->dialect == MS_SMTP_DIALECT_POSTFIX)
            protocol_error(srv, 504, "5.5.4",
                           "Encryption required for requested authentication mechanism");
        else
            protocol_error(srv, 530, "5.7.0", "Must issue a STARTTLS command first");
        return;
    }
    if (!srv->esmtp) {
        protocol_error(srv, 503, "5.5.1", "Send EHLO first");
        return;
    }
    if (srv->auth_user) {
        protocol_error(srv, 503, "5.5.1", "Already authenticated");
        return;
    }
    if (srv->in_mail) { /* RFC 4954 4 */
        protocol_error(srv, 503, "5.5.1", "AUTH not permitted during a mail transaction");
        return;
    }
    g_auto(GStrv) w = g_strsplit(arg, " ", 3);
    if (!w[0] || !*w[0] || (w[1] && (!*w[1] || w[2]))) {
        protocol_error(srv, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
        return;
    }
    if (g_ascii_strcasecmp(w[0], "PLAIN") == 0) {
        if (w[1]) {
            auth_plain(srv, w[1]);
            return;
        }
        srv->mode = MODE_AUTH;
        srv->auth_step = AUTH_PLAIN;
        reply(srv, 334, NULL, "");
    } else if (g_ascii_strcasecmp(w[0], "LOGIN") == 0) {
        srv->mode = MODE_AUTH;
        if (w[1]) {
            gsize n = 0;
            guint8 *u = ms_smtp_base64_decode_strict(w[1], &n);
            if (!u) {
                srv->mode = MODE_COMMAND;
                protocol_error(srv, 501, "5.5.2", "Cannot decode response");
                return;
            }
            g_free(srv->login_user);
            srv->login_user = (char *) u;
            srv->auth_step = AUTH_LOGIN_PASS;
            reply(srv, 334, NULL, "UGFzc3dvcmQ6"); /* "Password:" */
        } else {
            srv->auth_step = AUTH_LOGIN_USER;
            reply(srv, 334, NULL, "VXNlcm5hbWU6"); /* "Username:" */
        }
    } else {
        protocol_error(srv, 504, "5.5.4", "Unrecognized authentication type");
    }
}

static void
auth_line(MsSmtpServer *srv, const char *line)
{
    if (strcmp(line, "*") == 0) { /* RFC 4954 4: the client cancels */
        srv->mode = MODE_COMMAND;
        srv->auth_step = AUTH_NONE;
        g_clear_pointer(&srv->login_user, g_free);
        reply(srv, 501, "5.7.0", "Authentication cancelled");
        return;
    }
    if (srv->auth_step == AUTH_PLAIN) {
        auth_plain(srv, line);
        return;
    }
    gsize n = 0;
    guint8 *v = ms_smtp_base64_decode_strict(line, &n);
    if (!v) {
        srv->mode = MODE_COMMAND;
        srv->auth_step = AUTH_NONE;
        g_clear_pointer(&srv->login_user, g_free);
        protocol_error(srv, 501, "5.5.2", "Cannot decode response");
        return;
    }
    if (srv->auth_step == AUTH_LOGIN_USER) {
        g_free(srv->login_user);
        srv->login_user = (char *) v;
        srv->auth_step = AUTH_LOGIN_PASS;
        reply(srv, 334, NULL, "UGFzc3dvcmQ6");
        return;
    }
    g_autofree char *user = g_steal_pointer(&srv->login_user);
    g_autofree char *pw = (char *) v;
    auth_finish(srv, user ? user : "", pw);
}

typedef enum {
    V_UNKNOWN,
    V_HELO,
    V_EHLO,
    V_MAIL,
    V_RCPT,
    V_DATA,
    V_RSET,
    V_NOOP,
    V_VRFY,
    V_EXPN,
    V_HELP,
    V_QUIT,
    V_AUTH,
    V_ETRN,
    V_STARTTLS,
} Verb;

static const struct {
    const char *name;
    Verb verb;
} verbs[] = {
    { "HELO", V_HELO }, { "EHLO", V_EHLO },         { "MAIL", V_MAIL }, { "RCPT", V_RCPT },
    { "DATA", V_DATA }, { "RSET", V_RSET },         { "NOOP", V_NOOP }, { "VRFY", V_VRFY },
    { "EXPN", V_EXPN }, { "HELP", V_HELP },         { "QUIT", V_QUIT }, { "AUTH", V_AUTH },
    { "ETRN", V_ETRN }, { "STARTTLS", V_STARTTLS },
};

static void
unknown_command(MsSmtpServer *srv)
{
    protocol_error(srv, srv->d->unknown_code, srv->d->unknown.enh, srv->d->unknown.text);
}

/* HELP (RFC 5321 4.1.1.8), in each server's words; Postfix has no HELP
 * command at all. */
static void
cmd_help(MsSmtpServer *srv)
{
    switch (srv->dialect) {
    case MS_SMTP_DIALECT_POSTFIX:
        unknown_command(srv);
        break;
    case MS_SMTP_DIALECT_EXIM:
        /* smtp_in.c HELP_CMD; BDAT, which it lists, is not implemented
         * here. */
        reply(srv, 214, NULL,
              srv->offer_auth
                  ? "Commands supported:\nAUTH HELO EHLO MAIL RCPT DATA NOOP QUIT RSET HELP"
                  : "Commands supported:\nHELO EHLO MAIL RCPT DATA NOOP QUIT RSET HELP");
        break;
    case MS_SMTP_DIALECT_OPENSMTPD:
        /* smtp_proceed_help */
        reply(srv, 214, "2.0.0",
              "This is OpenSMTPD\nTo report bugs in the implementation, please contact "
              "bugs@openbsd.org\nwith full details\nEnd of HELP info");
        break;
    case MS_SMTP_DIALECT_MAILSIM:
    default:
        reply(srv, 214, "2.0.0",
              srv->offer_auth ? "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT AUTH"
                              : "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT");
        break;
    }
}

/* STARTTLS (RFC 3207 4): the 220 is queued and the caller takes over. */
static void
cmd_starttls(MsSmtpServer *srv, const char *arg)
{
    if (*arg) {
        protocol_error(srv, 501, "5.5.4", "Syntax: STARTTLS");
        return;
    }
    if (srv->tls) {
        /* Postfix: "554 5.5.1 Error: TLS already active" (smtpd.c). */
        if (srv->dialect == MS_SMTP_DIALECT_POSTFIX)
            protocol_error(srv, 554, "5.5.1", "Error: TLS already active");
        else
            protocol_error(srv, 503, "5.5.1", "TLS already active");
        return;
    }
    if (!srv->offer_starttls) {
        protocol_error(srv, 502, "5.5.1",
                       srv->dialect == MS_SMTP_DIALECT_POSTFIX ? "Error: command not implemented"
                                                               : "STARTTLS not available");
        return;
    }
    reply(srv, 220, srv->d->starttls.enh, srv->d->starttls.text);
    srv->wants_tls = TRUE;
}

/* RFC 3207 4: before TLS a server that requires it refuses every command
 * but the few a client needs to get there with 530 (Postfix's
 * smtpd_tls_security_level = encrypt: smtpd.c lets only the commands
 * flagged SMTPD_CMD_FLAG_PRE_TLS through, HELO, EHLO, STARTTLS, RSET, NOOP
 * and QUIT; HELP is kept too). So AUTH gets 530 here, not the 504 of
 * smtpd_tls_auth_only alone, and a pipelining client gets the reason on
 * every line. */
static gboolean
tls_gate(MsSmtpServer *srv, Verb v)
{
    if (!srv->tls_required || srv->tls)
        return FALSE;
    switch (v) {
    case V_HELO:
    case V_EHLO:
    case V_STARTTLS:
    case V_RSET:
    case V_NOOP:
    case V_QUIT:
    case V_HELP:
    case V_UNKNOWN:
        return FALSE;
    default:
        break;
    }
    protocol_error(srv, 530, "5.7.0", "Must issue a STARTTLS command first");
    return TRUE;
}

static void
command(MsSmtpServer *srv, char *line)
{
    char *sp = strchr(line, ' ');
    const char *arg = "";
    if (sp) {
        *sp = '\0';
        arg = sp + 1;
    }
    /* Trailing spaces are tolerated (RFC 5321 4.1.1 asks servers to be
     * lenient here); the argument is otherwise kept as sent. */
    g_autofree char *argc = g_strdup(arg);
    g_strchomp(argc);
    g_autofree char *verb = g_ascii_strup(line, -1);
    Verb v = V_UNKNOWN;
    for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++)
        if (strcmp(verb, verbs[i].name) == 0)
            v = verbs[i].verb;

    if (srv->refusing && v != V_QUIT) {
        protocol_error(srv, 503, "5.5.1", "Service refused, send QUIT");
        return;
    }
    if (srv->hooks.command) {
        MsSmtpReply r = MS_SMTP_REPLY_INIT;
        MsSmtpSession s = session_view(srv);
        srv->hooks.command(&s, verb, argc, &r, srv->user_data);
        if (r.code != 0) {
            send_reply_full(srv, &r, v != V_HELO && v != V_EHLO);
            ms_smtp_reply_clear(&r);
            return;
        }
        ms_smtp_reply_clear(&r);
    }
    if (tls_gate(srv, v))
        return;
    switch (v) {
    case V_STARTTLS:
        cmd_starttls(srv, argc);
        break;
    case V_HELO:
        cmd_helo(srv, argc, FALSE);
        break;
    case V_EHLO:
        cmd_helo(srv, argc, TRUE);
        break;
    case V_MAIL:
        cmd_mail(srv, argc);
        break;
    case V_RCPT:
        cmd_rcpt(srv, argc);
        break;
    case V_DATA:
        cmd_data(srv, argc);
        break;
    case V_AUTH:
        cmd_auth(srv, argc);
        break;
    case V_RSET:
        if (*argc) {
            protocol_error(srv, 501, "5.5.4", "Syntax: RSET");
            break;
        }
        reset_transaction(srv);
        reply(srv, 250, srv->d->rset.enh, srv->d->rset.text);
        break;
    case V_NOOP:
        reply(srv, 250, srv->d->noop.enh, srv->d->noop.text);
        break;
    case V_VRFY:
        if (!srv->d->vrfy) {
            unknown_command(srv);
            break;
        }
        if (!*argc) {
            protocol_error(srv, 501, "5.5.4", "Syntax: VRFY address");
            break;
        }
        /* RFC 5321 3.5.3: neither confirm nor deny. Postfix echoes the
         * argument (smtpd.c vrfy_cmd: "252 2.0.0 <arg>"). */
        if (srv->dialect == MS_SMTP_DIALECT_POSTFIX)
            reply(srv, 252, "2.0.0", argc);
        else
            reply(srv, 252, "2.0.0",
                  "Cannot VRFY user, but will accept message and attempt delivery");
        break;
    case V_ETRN:
        /* RFC 1985; Postfix only. Its default fast_flush_domains is
         * $relay_domains, empty at compatibility level 2 and later, so
         * flush_send() denies every domain: "459 <domain>: service
         * unavailable" (smtpd.c etrn_cmd, no enhanced code). */
        if (!srv->d->etrn) {
            unknown_command(srv);
        } else if (!srv->helo) {
            protocol_error(srv, 503, "5.5.1", "Error: send HELO/EHLO first");
        } else if (srv->in_mail) {
            protocol_error(srv, 503, "5.5.1", "Error: MAIL transaction in progress");
        } else if (!*argc) {
            protocol_error(srv, 500, "5.5.4", "Syntax: ETRN domain");
        } else {
            g_autofree char *t = g_strdup_printf("<%s>: service unavailable", argc);
            MsSmtpReply r = { 459, { 0 }, t };
            send_reply_full(srv, &r, FALSE); /* the source's string has no code */
        }
        break;
    case V_EXPN:
        protocol_error(srv, 502, "5.5.1", "EXPN not implemented");
        break;
    case V_HELP:
        cmd_help(srv);
        break;
    case V_QUIT: {
        g_autofree char *t = srv->d->quit_names_host
                                 ? g_strdup_printf("%s %s", srv->hostname, srv->d->quit.text)
                                 : g_strdup(srv->d->quit.text);
        reply(srv, 221, srv->d->quit.enh, t);
        break;
    }
    case V_UNKNOWN:
    default:
        unknown_command(srv);
        break;
    }
}

/* One complete line of n octets, the last being LF. */
static void
handle_line(MsSmtpServer *srv, const guint8 *raw, gsize n)
{
    gsize len = n - 1;
    gboolean crlf = len > 0 && raw[len - 1] == '\r';
    if (crlf)
        len--;
    /* Credentials stay out of traces (the bridge may log real ones): an
     * AUTH response, and an initial response after "AUTH mech ", are
     * replaced by a placeholder. */
    const guint8 *ir = len > 5 && g_ascii_strncasecmp((const char *) raw, "AUTH ", 5) == 0
                           ? memchr(raw + 5, ' ', len - 5)
                           : NULL;
    if (srv->mode == MODE_AUTH) {
        trace(srv, MS_SMTP_TRACE_IN, (const guint8 *) "<AUTH response>", 15);
    } else if (ir) {
        GByteArray *m = g_byte_array_new();
        g_byte_array_append(m, raw, (guint) (ir + 1 - raw));
        g_byte_array_append(m, (const guint8 *) "<initial response>", 18);
        trace(srv, MS_SMTP_TRACE_IN, m->data, m->len);
        g_byte_array_unref(m);
    } else {
        trace(srv, MS_SMTP_TRACE_IN, raw, len);
    }
    if (!crlf) {
        protocol_error(srv, 500, "5.5.2", "Line must end with CRLF");
        if (srv->mode == MODE_AUTH) {
            srv->mode = MODE_COMMAND;
            srv->auth_step = AUTH_NONE;
            g_clear_pointer(&srv->login_user, g_free);
        }
        return;
    }
    for (gsize i = 0; i < len; i++) {
        if (raw[i] < 0x20 || raw[i] >= 0x7f) {
            protocol_error(srv, 500, "5.5.2", "Invalid character in command");
            if (srv->mode == MODE_AUTH) {
                srv->mode = MODE_COMMAND;
                srv->auth_step = AUTH_NONE;
                g_clear_pointer(&srv->login_user, g_free);
            }
            return;
        }
    }
    g_autofree char *line = g_strndup((const char *) raw, len);
    if (srv->mode == MODE_AUTH)
        auth_line(srv, line);
    else
        command(srv, line);
}

/* ---- message content ------------------------------------------------ */

static void
msg_put(MsSmtpServer *srv, const guint8 *p, gsize n)
{
    srv->msg_octets += n;
    if (srv->msg->len + n <= srv->max_size)
        g_byte_array_append(srv->msg, p, (guint) n);
}

static void
text_octets(MsSmtpServer *srv, const guint8 *p, gsize n)
{
    msg_put(srv, p, n);
    srv->line_len += n;
    if (srv->line_len > TEXT_LINE_MAX)
        srv->long_line = TRUE;
}

static void
end_of_data(MsSmtpServer *srv)
{
    srv->mode = MODE_COMMAND;
    if (srv->hooks.trace) {
        g_autofree char *sum =
            g_strdup_printf("<message content: %" G_GUINT64_FORMAT " octets>", srv->msg_octets);
        srv->hooks.trace(MS_SMTP_TRACE_IN, sum, srv->user_data);
        srv->hooks.trace(MS_SMTP_TRACE_IN, ".", srv->user_data);
    }
    g_autoptr(GBytes) message = g_byte_array_free_to_bytes(g_steal_pointer(&srv->msg));
    MsSmtpReply r = MS_SMTP_REPLY_INIT;
    MsSmtpSession s = session_view(srv);
    if (srv->hooks.command)
        srv->hooks.command(&s, ".", "", &r, srv->user_data);
    if (r.code == 0) {
        if (srv->msg_octets > srv->max_size)
            ms_smtp_reply_set(&r, 552, "5.3.4", "Message size exceeds fixed maximum message size");
        else if (srv->bad_newline)
            ms_smtp_reply_set(&r, 554, "5.6.0", "Message contains bare CR or LF");
        else if (srv->bad_nul)
            ms_smtp_reply_set(&r, 554, "5.6.0", "Message contains NUL octets");
        else if (srv->long_line)
            ms_smtp_reply_set(&r, 554, "5.6.0", "Message has a line longer than 998 octets");
    }
    if (r.code == 0) {
        ms_smtp_reply_set(&r, 250, srv->d->queued.enh, srv->d->queued.text);
        if (srv->hooks.data) {
            g_ptr_array_add(srv->rcpts, NULL);
            MsSmtpEnvelope env = { srv->mail_from, (const char *const *) srv->rcpts->pdata,
                                   srv->rcpts->len - 1, srv->declared_size, srv->body_8bit };
            srv->hooks.data(&s, &env, message, &r, srv->user_data);
            g_ptr_array_set_size(srv->rcpts, srv->rcpts->len - 1);
        }
        if (srv->deferred) { /* the reply comes with ms_smtp_server_resume() */
            reset_transaction(srv);
            ms_smtp_reply_clear(&r);
            return;
        }
        if (r.code / 100 == 2)
            srv->accepted++;
    }
    reset_transaction(srv); /* RFC 5321 4.1.1.4: whatever the reply */
    send_reply(srv, &r);
    ms_smtp_reply_clear(&r);
}

/* The first CR, LF or NUL in p[i..n), or n. */
static gsize
text_end(const guint8 *p, gsize i, gsize n)
{
    const guint8 *cr = memchr(p + i, '\r', n - i);
    gsize e = cr ? (gsize) (cr - p) : n;
    const guint8 *lf = memchr(p + i, '\n', e - i);
    if (lf)
        e = (gsize) (lf - p);
    const guint8 *nul = memchr(p + i, 0, e - i);
    return nul ? (gsize) (nul - p) : e;
}

/* From p[i], a text octet (not CR, LF or NUL): the text up to the next CR,
 * LF or NUL and, past it, every whole plain line that follows ("text CRLF",
 * the next line not starting with a dot), appended in one piece: what the
 * octet-by-octet states would store, without a call per line. Returns where
 * it stopped, with dstate, line_len and long_line as those states leave
 * them there. */
static gsize
text_run(MsSmtpServer *srv, const guint8 *p, gsize i, gsize n)
{
    gsize j = i;
    for (;;) {
        gsize e = text_end(p, j, n);
        srv->line_len += e - j;
        if (srv->line_len > TEXT_LINE_MAX)
            srv->long_line = TRUE;
        if (e + 1 < n && p[e] == '\r' && p[e + 1] == '\n') {
            srv->line_len = 0;
            j = e + 2;
            if (j < n && p[j] != '.')
                continue; /* a plain line follows (empty lines too: text_end stops at once) */
            msg_put(srv, p + i, j - i);
            srv->dstate = D_LINE_START;
            return j;
        }
        msg_put(srv, p + i, e - i);
        srv->dstate = D_TEXT;
        return e;
    }
}

/* Consumes content octets; returns how many, stopping just after the
 * CRLF.CRLF that ends the content (RFC 5321 4.5.2 un-stuffing). */
static gsize
data_consume(MsSmtpServer *srv, const guint8 *p, gsize n)
{
    static const guint8 crlf[2] = { '\r', '\n' };
    static const guint8 cr[1] = { '\r' };
    for (gsize i = 0; i < n; i++) {
        guint8 c = p[i];
        switch (srv->dstate) {
        case D_LINE_START:
            if (c == '.') {
                srv->dstate = D_DOT;
                continue;
            }
            break;
        case D_DOT: /* the leading dot is dropped whatever follows */
            if (c == '\r') {
                srv->dstate = D_DOT_CR;
                continue;
            }
            break;
        case D_DOT_CR:
            if (c == '\n') {
                end_of_data(srv);
                return i + 1;
            }
            srv->bad_newline = TRUE; /* ".<CR>x": a bare CR */
            text_octets(srv, cr, 1);
            break;
        case D_CR:
            if (c == '\n') {
                msg_put(srv, crlf, 2);
                srv->line_len = 0;
                srv->dstate = D_LINE_START;
                continue;
            }
            srv->bad_newline = TRUE;
            text_octets(srv, cr, 1);
            break;
        case D_TEXT:
        default:
            break;
        }
        srv->dstate = D_TEXT;
        if (c == '\r') {
            srv->dstate = D_CR;
        } else if (c == '\n') {
            /* A bare LF: kept, flagged, and not a line start, so "<LF>.<LF>"
             * cannot end the content. */
            srv->bad_newline = TRUE;
            msg_put(srv, p + i, 1);
            srv->line_len = 0;
        } else if (c == 0) {
            srv->bad_nul = TRUE;
            text_octets(srv, p + i, 1);
        } else {
            /* Runs of text and plain lines found with memchr (vectorised)
             * rather than octet by octet. */
            i = text_run(srv, p, i, n) - 1;
        }
    }
    return n;
}

/* ---- input loop ----------------------------------------------------- */

/* Input between STARTTLS and the handshake: dropped, traced once. */
static void
discard_before_tls(MsSmtpServer *srv)
{
    if (!srv->tls_discarded && srv->hooks.trace)
        srv->hooks.trace(MS_SMTP_TRACE_IN, "<clear-text input after STARTTLS discarded>",
                         srv->user_data);
    srv->tls_discarded = TRUE;
}

static void drain(MsSmtpServer *srv);

void
ms_smtp_server_feed(MsSmtpServer *srv, const guint8 *data, gsize len)
{
    g_return_if_fail(srv != NULL && (data != NULL || len == 0));
    g_return_if_fail(srv->started && len <= G_MAXUINT);
    if (srv->closed || len == 0)
        return;
    if (srv->wants_tls) {
        discard_before_tls(srv);
        return;
    }
    /* Message content arriving with nothing buffered is consumed where it
     * lies: bodies are the bulk of the bytes, and copying each into `in`
     * first is a copy of every message per hop. */
    while (srv->in->len == 0 && srv->mode == MODE_DATA && len > 0 && !srv->closed &&
           !srv->deferred) {
        gsize n = data_consume(srv, data, len);
        data += n;
        len -= n;
    }
    if (srv->closed || len == 0)
        return;
    g_byte_array_append(srv->in, data, (guint) len);
    drain(srv);
}

void
ms_smtp_server_defer(MsSmtpServer *srv)
{
    g_return_if_fail(srv != NULL && !srv->deferred);
    srv->deferred = TRUE;
}

gboolean
ms_smtp_server_is_deferred(const MsSmtpServer *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->deferred;
}

void
ms_smtp_server_resume(MsSmtpServer *srv, const MsSmtpReply *r)
{
    g_return_if_fail(srv != NULL && r != NULL && srv->deferred);
    srv->deferred = FALSE;
    if (srv->deferred_rcpt) { /* RCPT: a 2xx takes the recipient (RFC 5321 4.1.1.3) */
        if (r->code == 0)
            r = &srv->deferred_default;
        char *path = g_steal_pointer(&srv->deferred_rcpt);
        if (r->code / 100 == 2)
            g_ptr_array_add(srv->rcpts, path);
        else
            g_free(path);
    } else if (r->code / 100 == 2) {
        srv->accepted++;
    }
    send_reply(srv, r);
    if (!srv->closed && srv->in->len > 0)
        drain(srv); /* what the client pipelined meanwhile (RFC 2920 3.1) */
}

/* Reads the commands and content buffered in `in`, until it is empty, the
 * session closes, STARTTLS waits for the handshake or a reply is deferred. */
static void
drain(MsSmtpServer *srv)
{
    gsize pos = 0;
    while (!srv->closed && !srv->deferred && pos < srv->in->len) {
        const guint8 *p = srv->in->data + pos;
        gsize avail = srv->in->len - pos;
        if (srv->mode == MODE_DATA) {
            pos += data_consume(srv, p, avail);
            continue;
        }
        gsize limit = srv->mode == MODE_AUTH ? AUTH_LINE_MAX : CMD_LINE_MAX;
        gsize n; /* the line with its terminator: handle_line() wants to see a bare LF */
        MsLineReaderCut cut = ms__line_reader_cut(p, avail, limit, &srv->discarding, &n, NULL);
        pos += n;
        if (cut == MS__LINE_READER_WAIT)
            break;
        if (cut == MS__LINE_READER_TOO_LONG) {
            if (srv->hooks.trace)
                srv->hooks.trace(MS_SMTP_TRACE_IN, "<overlong line discarded>", srv->user_data);
            if (srv->mode == MODE_AUTH) {
                srv->mode = MODE_COMMAND;
                srv->auth_step = AUTH_NONE;
                g_clear_pointer(&srv->login_user, g_free);
                protocol_error(srv, 500, "5.5.6", "Authentication exchange line is too long");
            } else {
                protocol_error(srv, 500, "5.5.6", "Line too long");
            }
            continue;
        }
        handle_line(srv, p, n);
        if (srv->wants_tls) {
            /* RFC 3207 4, and CVE-2011-0411: whatever the client sent after
             * STARTTLS in clear text is not a command of the TLS session. */
            if (pos < srv->in->len)
                discard_before_tls(srv);
            pos = srv->in->len;
            break;
        }
    }
    if (srv->closed)
        g_byte_array_set_size(srv->in, 0);
    else
        g_byte_array_remove_range(srv->in, 0, (guint) pos);
}

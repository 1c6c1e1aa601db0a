/* The POP3 client core (see include/mailsim/pop3_client.h): what a
 * simulated mail user agent (and the tests) run to fetch a maildrop, turning
 * server replies into commands and retrieved messages.
 *
 * Design. Server input is cut into lines at LF (a CR before it is dropped).
 * The state says what the next line is: a status line ("+OK"/"-ERR",
 * RFC 1939 3) answering the one outstanding command, or a line of a
 * multi-line response (UIDL, LIST, RETR) until the "." line. Data lines
 * are un-stuffed (a leading '.' removed, RFC 1939 3) and a message is
 * rebuilt with CRLF line ends, so a message the server stored with CRLF
 * comes back byte for byte. Because every decision is taken per complete
 * line, any split of the server's bytes gives the same result.
 *
 * Hostile servers. A status line longer than 512 octets (RFC 2449 4), a
 * data line longer than max_line, a message larger than max_message, a NUL
 * in a status line, a line that is neither +OK nor -ERR, or a malformed
 * UIDL/LIST line ends the session at once with PROTOCOL_ERROR; no QUIT is
 * sent since the two sides no longer agree on where replies begin. A
 * missing terminator simply leaves the client waiting: the caller's timeout
 * ends it with _eof or _free. Unexpected -ERR replies end the session
 * politely with QUIT, so the server commits what was already deleted.
 *
 * STLS (RFC 2595 4). With a TLS level the client asks CAPA after the
 * greeting; when STLS is listed it sends STLS and, on +OK, stops reading
 * (what follows in the clear is dropped: an attacker's injected lines must
 * not count as from inside) until the caller's handshake is done; then
 * CAPA again and the login. No STLS with ENCRYPT ends the session before
 * USER, so the password never crosses the wire in the clear; MAY logs in
 * in the clear as opportunistic clients do.
 *
 * Ownership: the configuration is copied; each message is a GBytes built
 * once and lent to the message hook. Costs: O(size) per message, one copy;
 * the unread input is compacted once per feed. No global state, no clock. */
#include "mailsim/pop3_client.h"
#include "line_reader-private.h"

#include <string.h>

#define DEFAULT_MAX_LINE    65536
#define DEFAULT_MAX_MESSAGE (64u << 20)
#define UID_MAX             70 /* RFC 1939 7 */

typedef enum {
    S_GREETING,
    S_CAPA,
    S_CAPA_DATA,
    S_STLS,
    S_TLS_WAIT, /* +OK to STLS: the caller's handshake runs */
    S_USER,
    S_PASS,
    S_APOP,
    S_STAT,
    S_UIDL,
    S_UIDL_DATA,
    S_LIST,
    S_LIST_DATA,
    S_RETR,
    S_RETR_DATA,
    S_DELE,
    S_QUIT,
    S_CLOSED,
} State;

struct _MsPop3Client {
    MsPop3ClientConfig cfg; /* strings below are owned copies */
    char *user, *password;
    GHashTable *skip; /* set of uids; lookups only, never iterated */
    MsPop3ClientHooks hooks;
    gpointer user_data;

    State state;
    MsPop3ClientResult result;
    gboolean result_set; /* a failure is known; QUIT is only politeness */
    char *text;
    guint count;       /* messages in the maildrop (STAT) */
    GPtrArray *uids;   /* uid of message k at k-1, NULL if unknown */
    gboolean *present; /* message k listed by UIDL/LIST */
    guint current;     /* message being retrieved/deleted (1-based) */
    GByteArray *msg;
    guint retrieved;

    GByteArray *in;
    GByteArray *out;

    char *greeting;    /* its text: APOP's timestamp after STLS */
    gboolean cap_stls; /* the last CAPA listed STLS */
    gboolean login_sent, login_in_tls;
    gboolean tls_active;
};

/* ---- trace and output ------------------------------------------------- */

static char *
printable(const char *p, gsize n)
{
    GString *s = g_string_sized_new(n + 8);
    for (gsize i = 0; i < n; i++) {
        guchar c = (guchar) p[i];
        if (c >= 0x20 && c < 0x7f)
            g_string_append_c(s, (char) c);
        else
            g_string_append_printf(s, "\\x%02X", c);
    }
    return g_string_free(s, FALSE);
}

static void
trace(MsPop3Client *c, gboolean from_client, const char *p, gsize n)
{
    if (!c->hooks.trace)
        return;
    g_autofree char *text = printable(p, n);
    c->hooks.trace(c->user_data, from_client, text);
}

/* Queues one command; `shown` is what the trace sees (NULL: the command). */
static void send_cmd(MsPop3Client *c, const char *shown, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
send_cmd(MsPop3Client *c, const char *shown, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (shown && !c->cfg.trace_secrets)
        trace(c, TRUE, shown, strlen(shown));
    else
        trace(c, TRUE, line, strlen(line));
    g_byte_array_append(c->out, (const guint8 *) line, (guint) strlen(line));
    g_byte_array_append(c->out, (const guint8 *) "\r\n", 2);
}

/* ---- ending ----------------------------------------------------------- */

static void
finish(MsPop3Client *c)
{
    if (c->state == S_CLOSED)
        return;
    c->state = S_CLOSED;
    if (c->hooks.done)
        c->hooks.done(c->user_data, c->result, c->text ? c->text : "");
}

static void
set_result(MsPop3Client *c, MsPop3ClientResult r, const char *text)
{
    if (c->result_set)
        return;
    c->result_set = TRUE;
    c->result = r;
    g_free(c->text);
    c->text = g_strdup(text);
}

static void
protocol_error(MsPop3Client *c, const char *what)
{
    set_result(c, MS_POP3_CLIENT_PROTOCOL_ERROR, what);
    finish(c);
}

static void
quit(MsPop3Client *c)
{
    send_cmd(c, NULL, "QUIT");
    c->state = S_QUIT;
}

/* An unexpected -ERR: remember it and leave with QUIT. */
static void
fail_and_quit(MsPop3Client *c, MsPop3ClientResult r, const char *text)
{
    set_result(c, r, text);
    quit(c);
}

/* ---- the session ------------------------------------------------------ */

static void
next_message(MsPop3Client *c)
{
    while (++c->current <= c->count) {
        guint k = c->current;
        if (!c->present[k - 1])
            continue;
        const char *uid = g_ptr_array_index(c->uids, k - 1);
        if (uid && g_hash_table_contains(c->skip, uid))
            continue;
        send_cmd(c, NULL, "RETR %u", k);
        c->state = S_RETR;
        return;
    }
    quit(c);
}

static void
start_listing(MsPop3Client *c)
{
    if (c->count == 0) {
        quit(c);
        return;
    }
    send_cmd(c, NULL, "UIDL");
    c->state = S_UIDL;
}

/* The timestamp of an APOP greeting: "<...>" with an '@' inside and only
 * printable characters (RFC 1939 7). Newly allocated, or NULL. */
static char *
greeting_timestamp(const char *text)
{
    const char *lt = strchr(text, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (!gt || gt - lt < 3)
        return NULL;
    gboolean at = FALSE;
    for (const char *p = lt + 1; p < gt; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '<')
            return NULL;
        at = at || *p == '@';
    }
    return at ? g_strndup(lt, (gsize) (gt - lt + 1)) : NULL;
}

static void login(MsPop3Client *c, const char *greeting);

/* After the greeting, or after the handshake: CAPA when STLS may be or
 * was used, else the login. */
static void
capa_or_login(MsPop3Client *c)
{
    if (c->cfg.tls_level != MS_POP3_TLS_NONE) {
        c->cap_stls = FALSE;
        send_cmd(c, NULL, "CAPA");
        c->state = S_CAPA;
        return;
    }
    login(c, c->greeting);
}

/* The CAPA listing is over (or CAPA was refused): STLS, the login, or an
 * end for want of TLS. */
static void
after_capa(MsPop3Client *c)
{
    if (!c->tls_active && c->cap_stls) {
        send_cmd(c, NULL, "STLS");
        c->state = S_STLS;
        return;
    }
    if (!c->tls_active && c->cfg.tls_level == MS_POP3_TLS_ENCRYPT) {
        set_result(c, MS_POP3_CLIENT_TLS_UNAVAILABLE,
                   "TLS is required, but the server does not offer STLS");
        quit(c);
        return;
    }
    login(c, c->greeting);
}

static void
login(MsPop3Client *c, const char *greeting)
{
    g_autofree char *ts = c->cfg.use_apop ? greeting_timestamp(greeting) : NULL;
    if (ts) {
        g_autofree char *joined = g_strconcat(ts, c->password, NULL);
        g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_MD5, joined, -1);
        g_autofree char *shown = g_strdup_printf("APOP %s ****", c->user);
        send_cmd(c, shown, "APOP %s %s", c->user, digest);
        c->login_sent = TRUE;
        c->login_in_tls = c->tls_active;
        c->state = S_APOP;
    } else {
        send_cmd(c, NULL, "USER %s", c->user);
        c->state = S_USER;
    }
}

static void
login_refused(MsPop3Client *c, const char *text)
{
    /* RFC 2449 8.1.1: [IN-USE] says the maildrop is locked, not that the
     * credentials were wrong. */
    MsPop3ClientResult r =
        g_str_has_prefix(text, "[IN-USE]") ? MS_POP3_CLIENT_LOCKED : MS_POP3_CLIENT_AUTH_FAILED;
    fail_and_quit(c, r, text);
}

/* A decimal number of at most 10 digits that fits in 32 bits (or 64). */
static gboolean
parse_u64(const char *s, gsize max_digits, guint64 *out)
{
    gsize n = strlen(s);
    if (n == 0 || n > max_digits)
        return FALSE;
    guint64 v = 0;
    for (gsize i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        v = v * 10 + (guint64) (s[i] - '0');
    }
    *out = v;
    return TRUE;
}

static void
on_status(MsPop3Client *c, gboolean ok, const char *text)
{
    switch (c->state) {
    case S_GREETING:
        g_free(c->greeting);
        c->greeting = g_strdup(text);
        if (ok)
            capa_or_login(c);
        else
            fail_and_quit(c, MS_POP3_CLIENT_SERVER_ERROR, text);
        break;
    case S_CAPA:
        if (ok)
            c->state = S_CAPA_DATA;
        else
            after_capa(c); /* no CAPA (RFC 2449 5 is optional): no STLS known */
        break;
    case S_STLS:
        if (ok) { /* RFC 2595 4: the handshake starts now */
            c->state = S_TLS_WAIT;
        } else if (c->cfg.tls_level == MS_POP3_TLS_ENCRYPT) {
            g_autofree char *why =
                g_strdup_printf("TLS is required, but STLS was refused: %s", text);
            set_result(c, MS_POP3_CLIENT_TLS_UNAVAILABLE, why);
            quit(c);
        } else {
            login(c, c->greeting);
        }
        break;
    case S_USER:
        if (!ok) {
            login_refused(c, text);
            break;
        }
        send_cmd(c, "PASS ****", "PASS %s", c->password);
        c->login_sent = TRUE;
        c->login_in_tls = c->tls_active;
        c->state = S_PASS;
        break;
    case S_PASS:
    case S_APOP:
        if (!ok) {
            login_refused(c, text);
            break;
        }
        send_cmd(c, NULL, "STAT");
        c->state = S_STAT;
        break;
    case S_STAT: {
        if (!ok) {
            fail_and_quit(c, MS_POP3_CLIENT_SERVER_ERROR, text);
            break;
        }
        /* RFC 1939 5: "+OK nn mm". */
        g_auto(GStrv) w = g_strsplit(text, " ", 3);
        guint64 n, octets;
        if (!w[0] || !w[1] || !parse_u64(w[0], 6, &n) || !parse_u64(w[1], 20, &octets)) {
            protocol_error(c, "malformed STAT reply");
            break;
        }
        c->count = (guint) n;
        g_ptr_array_set_size(c->uids, (guint) n);
        c->present = g_new0(gboolean, n + 1);
        start_listing(c);
        break;
    }
    case S_UIDL:
        if (ok) {
            c->state = S_UIDL_DATA;
        } else {
            send_cmd(c, NULL, "LIST"); /* no UIDL: messages without ids */
            c->state = S_LIST;
        }
        break;
    case S_LIST:
        if (ok)
            c->state = S_LIST_DATA;
        else
            fail_and_quit(c, MS_POP3_CLIENT_SERVER_ERROR, text);
        break;
    case S_RETR:
        if (!ok) {
            fail_and_quit(c, MS_POP3_CLIENT_SERVER_ERROR, text);
            break;
        }
        g_byte_array_set_size(c->msg, 0);
        c->state = S_RETR_DATA;
        break;
    case S_DELE:
        if (ok)
            next_message(c);
        else
            fail_and_quit(c, MS_POP3_CLIENT_SERVER_ERROR, text);
        break;
    case S_QUIT:
        if (!ok)
            set_result(c, MS_POP3_CLIENT_SERVER_ERROR, text);
        set_result(c, MS_POP3_CLIENT_OK, "");
        finish(c);
        break;
    case S_CAPA_DATA:
    case S_TLS_WAIT:
    case S_UIDL_DATA:
    case S_LIST_DATA:
    case S_RETR_DATA:
    case S_CLOSED:
        g_assert_not_reached();
    }
}

static gboolean
uid_valid(const char *uid)
{
    gsize n = strlen(uid);
    if (n < 1 || n > UID_MAX)
        return FALSE;
    for (gsize i = 0; i < n; i++)
        if (uid[i] < 0x21 || uid[i] > 0x7e)
            return FALSE;
    return TRUE;
}

/* One line of a UIDL or LIST listing ("k uid" / "k size"). */
static gboolean
on_listing_line(MsPop3Client *c, const char *line, gboolean uidl)
{
    g_auto(GStrv) w = g_strsplit(line, " ", -1);
    guint64 k, size;
    if (g_strv_length(w) != 2 || !parse_u64(w[0], 10, &k) || k < 1 || k > c->count ||
        c->present[k - 1])
        return FALSE;
    if (uidl) {
        if (!uid_valid(w[1]))
            return FALSE;
        g_ptr_array_index(c->uids, k - 1) = g_strdup(w[1]);
    } else if (!parse_u64(w[1], 20, &size)) {
        return FALSE;
    }
    c->present[k - 1] = TRUE;
    return TRUE;
}

static void
message_done(MsPop3Client *c)
{
    guint k = c->current;
    if (c->hooks.trace) {
        g_autofree char *sum = g_strdup_printf("[%u octets of message %u]", c->msg->len, k);
        c->hooks.trace(c->user_data, FALSE, sum);
        c->hooks.trace(c->user_data, FALSE, ".");
    }
    g_autoptr(GBytes) b = g_byte_array_free_to_bytes(c->msg);
    c->msg = g_byte_array_new();
    c->retrieved++;
    if (c->hooks.message)
        c->hooks.message(c->user_data, k, g_ptr_array_index(c->uids, k - 1), b);
    if (c->state == S_CLOSED)
        return;
    if (c->cfg.delete_after_retrieve) {
        send_cmd(c, NULL, "DELE %u", k);
        c->state = S_DELE;
    } else {
        next_message(c);
    }
}

/* One line without its line end; `len` octets, may hold anything. */
static void
on_line(MsPop3Client *c, const char *p, gsize len)
{
    gboolean data = c->state == S_UIDL_DATA || c->state == S_LIST_DATA || c->state == S_RETR_DATA ||
                    c->state == S_CAPA_DATA;
    gboolean end = data && len == 1 && p[0] == '.';
    if (data && c->state == S_RETR_DATA && !end) {
        if (len > 0 && p[0] == '.') { /* un-stuff (RFC 1939 3) */
            p++;
            len--;
        }
        if (c->msg->len + len + 2 > c->cfg.max_message) {
            protocol_error(c, "message too large");
            return;
        }
        g_byte_array_append(c->msg, (const guint8 *) p, (guint) len);
        g_byte_array_append(c->msg, (const guint8 *) "\r\n", 2);
        return;
    }
    if (c->state != S_RETR_DATA || !end)
        trace(c, FALSE, p, len);
    if (memchr(p, '\0', len)) {
        protocol_error(c, "NUL byte from server");
        return;
    }
    g_autofree char *line = g_strndup(p, len);
    if (c->state == S_CAPA_DATA) {
        if (end)
            after_capa(c);
        else if (g_ascii_strcasecmp(line, "STLS") == 0)
            c->cap_stls = TRUE;
        return;
    }
    if (data) {
        if (end && c->state == S_RETR_DATA) {
            message_done(c);
        } else if (end) {
            c->current = 0;
            next_message(c);
        } else if (!on_listing_line(c, line, c->state == S_UIDL_DATA)) {
            protocol_error(c, "malformed listing line");
        }
        return;
    }
    if (g_str_has_prefix(line, "+OK") && (line[3] == '\0' || line[3] == ' '))
        on_status(c, TRUE, line[3] ? line + 4 : "");
    else if (g_str_has_prefix(line, "-ERR") && (line[4] == '\0' || line[4] == ' '))
        on_status(c, FALSE, line[4] ? line + 5 : "");
    else
        protocol_error(c, "reply is neither +OK nor -ERR");
}

/* ---- public ----------------------------------------------------------- */

void
ms_pop3_client_config_init(MsPop3ClientConfig *cfg)
{
    g_return_if_fail(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->max_line = DEFAULT_MAX_LINE;
    cfg->max_message = DEFAULT_MAX_MESSAGE;
}

static gboolean
word_valid(const char *s)
{
    /* A command argument: no space, CR, LF or NUL would survive the line. */
    if (!*s)
        return FALSE;
    for (const char *p = s; *p; p++)
        if ((guchar) *p <= 0x20 || *p == 0x7f)
            return FALSE;
    return TRUE;
}

MsPop3Client *
ms_pop3_client_new(const MsPop3ClientConfig *cfg, const MsPop3ClientHooks *hooks,
                   gpointer user_data)
{
    g_return_val_if_fail(cfg != NULL && hooks != NULL, NULL);
    g_return_val_if_fail(cfg->user != NULL && word_valid(cfg->user), NULL);
    g_return_val_if_fail(cfg->password != NULL && !strpbrk(cfg->password, "\r\n"), NULL);
    MsPop3Client *c = g_new0(MsPop3Client, 1);
    c->cfg = *cfg;
    c->user = g_strdup(cfg->user);
    c->password = g_strdup(cfg->password);
    c->cfg.user = c->user;
    c->cfg.password = c->password;
    c->cfg.skip_uids = NULL;
    c->tls_active = cfg->tls_active;
    if (c->tls_active) /* implicit TLS: protected from the first octet */
        c->cfg.tls_level = MS_POP3_TLS_NONE;
    if (c->cfg.max_line < MS_POP3_CLIENT_STATUS_MAX)
        c->cfg.max_line = c->cfg.max_line ? MS_POP3_CLIENT_STATUS_MAX : DEFAULT_MAX_LINE;
    if (c->cfg.max_message == 0)
        c->cfg.max_message = DEFAULT_MAX_MESSAGE;
    c->skip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (const char *const *u = cfg->skip_uids; u && *u; u++)
        g_hash_table_add(c->skip, g_strdup(*u));
    c->hooks = *hooks;
    c->user_data = user_data;
    c->state = S_GREETING;
    c->result = MS_POP3_CLIENT_OK;
    c->uids = g_ptr_array_new_with_free_func(g_free);
    c->msg = g_byte_array_new();
    c->in = g_byte_array_new();
    c->out = g_byte_array_new();
    return c;
}

void
ms_pop3_client_free(MsPop3Client *client)
{
    if (!client)
        return;
    g_free(client->user);
    g_free(client->password);
    g_free(client->text);
    g_free(client->greeting);
    g_hash_table_unref(client->skip);
    g_ptr_array_unref(client->uids);
    g_free(client->present);
    g_byte_array_unref(client->msg);
    g_byte_array_unref(client->in);
    g_byte_array_unref(client->out);
    g_free(client);
}

void
ms_pop3_client_feed(MsPop3Client *c, const guint8 *data, gsize len)
{
    g_return_if_fail(c != NULL);
    g_return_if_fail(data != NULL || len == 0);
    if (c->state == S_CLOSED)
        return;
    g_byte_array_append(c->in, data, (guint) len);
    gsize pos = 0;
    while (c->state != S_CLOSED) {
        gsize avail = c->in->len - pos;
        if (c->state == S_TLS_WAIT) /* clear text before the handshake: dropped */
            break;
        gboolean data_line = c->state == S_UIDL_DATA || c->state == S_LIST_DATA ||
                             c->state == S_RETR_DATA || c->state == S_CAPA_DATA;
        gsize limit = data_line ? c->cfg.max_line : MS_POP3_CLIENT_STATUS_MAX;
        const char *p = (const char *) c->in->data + pos;
        gsize used, n;
        MsLineReaderCut cut =
            ms__line_reader_cut((const guint8 *) p, avail, limit, NULL, &used, &n);
        if (cut == MS__LINE_READER_TOO_LONG) {
            protocol_error(c, "line too long");
            break;
        }
        if (cut == MS__LINE_READER_WAIT)
            break;
        pos += used;
        on_line(c, p, n);
    }
    if (c->state == S_CLOSED || c->state == S_TLS_WAIT)
        g_byte_array_set_size(c->in, 0);
    else if (pos > 0)
        g_byte_array_remove_range(c->in, 0, (guint) pos);
}

void
ms_pop3_client_eof(MsPop3Client *c)
{
    g_return_if_fail(c != NULL);
    if (c->state == S_CLOSED)
        return;
    set_result(c, MS_POP3_CLIENT_DISCONNECTED, "connection closed by the server");
    finish(c);
}

GBytes *
ms_pop3_client_take_output(MsPop3Client *c)
{
    g_return_val_if_fail(c != NULL, NULL);
    if (c->out->len == 0)
        return NULL;
    GBytes *b = g_byte_array_free_to_bytes(c->out);
    c->out = g_byte_array_new();
    return b;
}

gboolean
ms_pop3_client_is_closed(const MsPop3Client *c)
{
    g_return_val_if_fail(c != NULL, TRUE);
    return c->state == S_CLOSED;
}

MsPop3ClientResult
ms_pop3_client_result(const MsPop3Client *c)
{
    g_return_val_if_fail(c != NULL, MS_POP3_CLIENT_PROTOCOL_ERROR);
    return c->result;
}

guint
ms_pop3_client_retrieved(const MsPop3Client *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return c->retrieved;
}

const char *
ms_pop3_client_result_to_string(MsPop3ClientResult result)
{
    switch (result) {
    case MS_POP3_CLIENT_OK:
        return "ok";
    case MS_POP3_CLIENT_AUTH_FAILED:
        return "auth-failed";
    case MS_POP3_CLIENT_LOCKED:
        return "locked";
    case MS_POP3_CLIENT_SERVER_ERROR:
        return "server-error";
    case MS_POP3_CLIENT_PROTOCOL_ERROR:
        return "protocol-error";
    case MS_POP3_CLIENT_DISCONNECTED:
        return "disconnected";
    case MS_POP3_CLIENT_TLS_UNAVAILABLE:
        return "tls-unavailable";
    case MS_POP3_CLIENT_TLS_FAILED:
        return "tls-failed";
    }
    return "unknown";
}

gboolean
ms_pop3_client_wants_tls(const MsPop3Client *c)
{
    g_return_val_if_fail(c != NULL, FALSE);
    return c->state == S_TLS_WAIT;
}

gboolean
ms_pop3_client_tls_active(const MsPop3Client *c)
{
    g_return_val_if_fail(c != NULL, FALSE);
    return c->tls_active;
}

gboolean
ms_pop3_client_login_sent(const MsPop3Client *c, gboolean *inside_tls)
{
    g_return_val_if_fail(c != NULL, FALSE);
    if (inside_tls)
        *inside_tls = c->login_sent && c->login_in_tls;
    return c->login_sent;
}

void
ms_pop3_client_tls_started(MsPop3Client *c)
{
    g_return_if_fail(c != NULL && c->state == S_TLS_WAIT);
    c->tls_active = TRUE;
    capa_or_login(c); /* RFC 2595 4: the capabilities again, inside TLS */
}

void
ms_pop3_client_tls_failed(MsPop3Client *c, const char *why)
{
    g_return_if_fail(c != NULL);
    if (c->state == S_CLOSED)
        return;
    set_result(c, MS_POP3_CLIENT_TLS_FAILED, why ? why : "TLS handshake failed");
    finish(c);
}

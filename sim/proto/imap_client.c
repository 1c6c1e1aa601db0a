/* The IMAP client core (see include/mailsim/imap_client.h): what a
 * simulated mail program (and the tests) run to look at a mailbox that
 * stays on the server, turning server responses into commands, fetched
 * messages and appended copies.
 *
 * Design. Server input is cut into lines at LF (a CR before it dropped); a
 * line that ends in "{n}" announces a literal of n octets (RFC 9051 4.3),
 * after which the same response goes on with another line. A response is
 * assembled whole (lines and literals, as on the wire) before it is
 * parsed, by a small recursive-descent reader of the grammar of RFC 9051 9
 * that knows the few forms a client needs: status responses with their
 * codes, CAPABILITY, SEARCH, EXISTS/EXPUNGE and FETCH. Every decision is
 * taken per complete response, so any split of the server's bytes gives
 * the same result.
 *
 * New mail per device. Each device remembers the UIDVALIDITY of INBOX and
 * the first UID it has not seen (the caller carries them from session to
 * session); a fetch asks UID SEARCH UID <next>:* and keeps only the UIDs at
 * or past <next>, since "n:*" also names the largest UID when every UID is
 * below n (RFC 9051 6.4.4 and 9, seq-range). BODY.PEEK[] leaves \Seen
 * alone so the flags a device reports are those the server had: a message
 * another device read first arrives \Seen. A changed UIDVALIDITY makes
 * every message new (RFC 9051 2.3.1.1).
 *
 * IDLE (RFC 2177). After the fetch the client sends IDLE; once the server
 * answers "+", an untagged EXISTS larger than the count it knew means new
 * mail: the client sends DONE, fetches as before and idles again. EXPUNGE
 * lowers the count. Renewing IDLE before the server's 30-minute timeout
 * (RFC 2177 3) needs a clock, which is the caller's: it calls
 * ms_imap_client_renew_idle(), which sends DONE and idles again.
 *
 * Hostile servers. A line longer than max_line, a literal larger than
 * max_message, a NUL, a tag that is not the one outstanding, a
 * continuation nobody asked for, or a FETCH/SEARCH/status response that
 * does not parse ends the session at once with PROTOCOL_ERROR (no LOGOUT:
 * the two sides no longer agree on where responses begin). A server that
 * never finishes a response leaves the client waiting: the caller's
 * timeout ends it. An unexpected NO or BAD ends the session politely with
 * LOGOUT; a BYE before LOGOUT ends it at once (the server is closing).
 *
 * STARTTLS (RFC 9051 6.2.1). With a TLS level the client sends STARTTLS
 * when listed and, on OK, reads nothing more (octets after it in the clear
 * are dropped: CVE-2011-0411) until the caller's handshake is done; then
 * CAPABILITY again, since the first answer may have been forged, and the
 * login. LOGINDISABLED outside TLS (RFC 9051 6.2.3), or no STARTTLS with
 * ENCRYPT, ends the session before the password leaves.
 *
 * Ownership: the configuration and queued APPENDs are copied or
 * referenced; each fetched message is a GBytes lent to the message hook.
 * Costs: O(size) per message, copied once out of the response. No global
 * state, no clock. */
#include "mailsim/imap_client.h"
#include "mailsim/imap_server.h"

#include <string.h>

#define DEFAULT_MAX_MESSAGE (64u << 20)
#define MAX_DEPTH           16
#define MIN_LINE            1024

typedef enum {
    S_GREETING,
    S_CAPABILITY,
    S_STARTTLS,
    S_TLS_WAIT,
    S_LOGIN,
    S_AUTH,      /* AUTHENTICATE sent: "+" or the tagged answer */
    S_AUTH_DATA, /* the initial response sent after "+" */
    S_APPEND,    /* APPEND sent: "+" for the literal, or a tagged NO */
    S_APPEND_DATA,
    S_CREATE,
    S_SELECT,
    S_SEARCH,
    S_FETCH,
    S_STORE,
    S_IDLE,   /* IDLE sent, "+" not yet seen */
    S_IDLING, /* the server pushes */
    S_DONE,   /* DONE sent: IDLE's tagged answer */
    S_LOGOUT,
    S_CLOSED,
} State;

typedef struct {
    char *folder;
    GBytes *data;
    guint flags;
} Append;

struct _MsImapClient {
    MsImapClientConfig cfg; /* strings below are owned copies */
    char *user, *password;
    MsImapClientHooks hooks;
    gpointer user_data;

    State state;
    MsImapClientResult result;
    gboolean result_set;
    char *text;
    guint tag_n;
    char tag[16]; /* of the command outstanding */

    /* capabilities (the last list seen) */
    gboolean cap_starttls, cap_logindisabled, cap_auth_plain, cap_sasl_ir, cap_idle;
    gboolean caps_known, caps_after_login, logged_in;

    GQueue appends; /* Append*: still to do */
    gboolean append_retried;
    guint32 appenduid; /* from the last tagged OK's [APPENDUID], or 0 */

    guint32 uidvalidity, uidnext;
    guint32 exists;
    gboolean new_mail, stop;
    GArray *found; /* guint32 UIDs to fetch */
    GArray *got;   /* guint32 UIDs fetched in this round */
    guint fetched, appended;

    /* input framing */
    GByteArray *in;
    GByteArray *resp; /* the response being assembled, as on the wire */
    GString *shown;   /* its printable form */
    guint64 literal_left;
    gsize line_len; /* octets of the current line so far */

    GByteArray *out;
    gboolean login_sent, login_in_tls;
    gboolean tls_active;
};

/* ---- trace and output ------------------------------------------------- */

static void
append_printable(GString *s, const guint8 *p, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f)
            g_string_append_c(s, (char) p[i]);
        else
            g_string_append_printf(s, "\\x%02X", p[i]);
    }
}

static void
trace_out(MsImapClient *c, const char *line)
{
    if (!c->hooks.trace)
        return;
    g_autoptr(GString) s = g_string_new(NULL);
    append_printable(s, (const guint8 *) line, strlen(line));
    c->hooks.trace(c->user_data, TRUE, s->str);
}

static void
raw_out(MsImapClient *c, const void *p, gsize n)
{
    g_byte_array_append(c->out, p, (guint) n);
}

/* Queues "<tag> <args>\r\n" with a new tag; `shown` (NULL: the same) is
 * what the trace sees after the tag. */
static void send_tagged(MsImapClient *c, const char *shown, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void
send_tagged(MsImapClient *c, const char *shown, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_snprintf(c->tag, sizeof c->tag, "a%u", ++c->tag_n);
    g_autofree char *line = g_strdup_printf("%s %s", c->tag, args);
    if (shown && !c->cfg.trace_secrets) {
        g_autofree char *t = g_strdup_printf("%s %s", c->tag, shown);
        trace_out(c, t);
    } else {
        trace_out(c, line);
    }
    raw_out(c, line, strlen(line));
    raw_out(c, "\r\n", 2);
}

/* An IMAP quoted string (RFC 9051 4.3): '\' before '"' and '\'. */
static char *
quoted(const char *s)
{
    GString *q = g_string_new("\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_c(q, '\\');
        g_string_append_c(q, *p);
    }
    g_string_append_c(q, '"');
    return g_string_free(q, FALSE);
}

/* ---- ending ----------------------------------------------------------- */

static void
finish(MsImapClient *c)
{
    if (c->state == S_CLOSED)
        return;
    c->state = S_CLOSED;
    if (c->hooks.done)
        c->hooks.done(c->user_data, c->result, c->text ? c->text : "");
}

static void
set_result(MsImapClient *c, MsImapClientResult r, const char *text)
{
    if (c->result_set)
        return;
    c->result_set = TRUE;
    c->result = r;
    g_free(c->text);
    c->text = g_strdup(text);
}

static void
protocol_error(MsImapClient *c, const char *what)
{
    set_result(c, MS_IMAP_CLIENT_PROTOCOL_ERROR, what);
    finish(c);
}

static void
logout(MsImapClient *c)
{
    send_tagged(c, NULL, "LOGOUT");
    c->state = S_LOGOUT;
}

static void
fail_and_logout(MsImapClient *c, MsImapClientResult r, const char *text)
{
    set_result(c, r, text);
    logout(c);
}

/* ---- the session ------------------------------------------------------ */

static void login(MsImapClient *c);

static void
after_caps(MsImapClient *c)
{
    if (c->logged_in) { /* the post-login list, asked for IDLE */
        c->caps_after_login = TRUE;
        return;
    }
    if (!c->tls_active && c->cfg.tls_level != MS_IMAP_TLS_NONE && c->cap_starttls) {
        send_tagged(c, NULL, "STARTTLS");
        c->state = S_STARTTLS;
        return;
    }
    if (!c->tls_active && c->cfg.tls_level == MS_IMAP_TLS_ENCRYPT) {
        fail_and_logout(c, MS_IMAP_CLIENT_TLS_UNAVAILABLE,
                        "TLS is required, but the server does not offer STARTTLS");
        return;
    }
    login(c);
}

static void
ask_caps(MsImapClient *c)
{
    send_tagged(c, NULL, "CAPABILITY");
    c->state = S_CAPABILITY;
}

static void
login(MsImapClient *c)
{
    if (c->cap_logindisabled && !c->tls_active) {
        fail_and_logout(c, MS_IMAP_CLIENT_TLS_UNAVAILABLE,
                        "the server refuses logins outside TLS (LOGINDISABLED)");
        return;
    }
    c->login_sent = TRUE;
    c->login_in_tls = c->tls_active;
    if (c->cfg.auth_plain && c->cap_auth_plain) {
        /* RFC 4616 2: authzid (empty) NUL authcid NUL passwd. */
        gsize ul = strlen(c->user), pl = strlen(c->password);
        g_autofree guint8 *raw = g_malloc(ul + pl + 2);
        raw[0] = 0;
        memcpy(raw + 1, c->user, ul);
        raw[ul + 1] = 0;
        memcpy(raw + ul + 2, c->password, pl);
        g_autofree char *b64 = g_base64_encode(raw, ul + pl + 2);
        if (c->cap_sasl_ir) { /* RFC 4959: the response rides on the command */
            send_tagged(c, "AUTHENTICATE PLAIN ****", "AUTHENTICATE PLAIN %s", b64);
            c->state = S_AUTH_DATA;
        } else {
            send_tagged(c, NULL, "AUTHENTICATE PLAIN");
            c->state = S_AUTH;
        }
        return;
    }
    g_autofree char *u = quoted(c->user);
    g_autofree char *p = quoted(c->password);
    g_autofree char *shown = g_strdup_printf("LOGIN %s ****", u);
    send_tagged(c, shown, "LOGIN %s %s", u, p);
    c->state = S_LOGIN;
}

static void after_fetch(MsImapClient *c);

static void
next_step(MsImapClient *c)
{
    if (c->stop) {
        logout(c);
        return;
    }
    Append *a = g_queue_peek_head(&c->appends);
    if (a) {
        g_autofree char *flags = NULL;
        GString *f = g_string_new(NULL);
        static const char *const names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                             "\\Draft" };
        for (guint i = 0; i < G_N_ELEMENTS(names); i++)
            if (a->flags & (1u << i))
                g_string_append_printf(f, "%s%s", f->len ? " " : "", names[i]);
        flags = g_string_free(f, FALSE);
        /* RFC 9051 6.3.12: a synchronising literal; the octets follow "+". */
        send_tagged(c, NULL, "APPEND %s (%s) {%" G_GSIZE_FORMAT "}", a->folder, flags,
                    g_bytes_get_size(a->data));
        c->state = S_APPEND;
        return;
    }
    if (!c->cfg.fetch) {
        logout(c);
        return;
    }
    if (c->cfg.idle && !c->cap_idle && !c->caps_after_login) {
        ask_caps(c); /* IDLE may be listed only once logged in */
        return;
    }
    send_tagged(c, NULL, "SELECT INBOX");
    c->state = S_SELECT;
}

static void
search_new(MsImapClient *c)
{
    c->new_mail = FALSE;
    g_array_set_size(c->found, 0);
    send_tagged(c, NULL, "UID SEARCH UID %u:*", c->uidnext ? c->uidnext : 1);
    c->state = S_SEARCH;
}

/* A sorted set of UIDs as a sequence set ("3:5,9"). */
static char *
uid_set(GArray *uids)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < uids->len;) {
        guint32 lo = g_array_index(uids, guint32, i), hi = lo;
        guint j = i + 1;
        while (j < uids->len && g_array_index(uids, guint32, j) == hi + 1)
            hi = g_array_index(uids, guint32, j++);
        if (s->len)
            g_string_append_c(s, ',');
        if (hi > lo)
            g_string_append_printf(s, "%u:%u", lo, hi);
        else
            g_string_append_printf(s, "%u", lo);
        i = j;
    }
    return g_string_free(s, FALSE);
}

static gint
cmp_u32(gconstpointer a, gconstpointer b)
{
    guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
    return x < y ? -1 : x > y;
}

static void
idle(MsImapClient *c)
{
    send_tagged(c, NULL, "IDLE");
    c->state = S_IDLE;
}

static void
after_fetch(MsImapClient *c)
{
    for (guint i = 0; i < c->got->len; i++)
        c->uidnext = MAX(c->uidnext, g_array_index(c->got, guint32, i) + 1);
    g_array_set_size(c->got, 0);
    if (c->stop || !c->cfg.idle || !c->cap_idle) {
        logout(c);
        return;
    }
    if (c->new_mail) { /* more arrived while we fetched */
        search_new(c);
        return;
    }
    idle(c);
}

static void
send_done(MsImapClient *c)
{
    /* RFC 2177 3: DONE is a bare line, not a tagged command. */
    trace_out(c, "DONE");
    raw_out(c, "DONE\r\n", 6);
    c->state = S_DONE;
}

/* ---- the response reader ---------------------------------------------- */

typedef struct {
    const guint8 *p;
    gsize n, i;
} Rd;

static gboolean
rd_sp(Rd *r)
{
    if (r->i < r->n && r->p[r->i] == ' ') {
        r->i++;
        return TRUE;
    }
    return FALSE;
}

static gboolean
rd_lit(Rd *r, const char *s)
{
    gsize k = strlen(s);
    if (r->n - r->i < k || g_ascii_strncasecmp((const char *) r->p + r->i, s, k) != 0)
        return FALSE;
    r->i += k;
    return TRUE;
}

static gboolean
rd_number(Rd *r, guint64 max, guint64 *out)
{
    gsize start = r->i;
    guint64 v = 0;
    while (r->i < r->n && g_ascii_isdigit(r->p[r->i])) {
        v = v * 10 + (guint64) (r->p[r->i++] - '0');
        if (v > max)
            return FALSE;
    }
    *out = v;
    return r->i > start;
}

/* An atom, or a fetch item name with its [section] and <partial>. */
static char *
rd_atom(Rd *r)
{
    gsize start = r->i;
    while (r->i < r->n) {
        guint8 ch = r->p[r->i];
        if (ch == '[') {
            while (r->i < r->n && r->p[r->i] != ']' && r->p[r->i] != '\r')
                r->i++;
            if (r->i == r->n || r->p[r->i] != ']')
                return NULL;
            r->i++;
            continue;
        }
        if (ch <= ' ' || ch >= 0x7f || ch == '(' || ch == ')' || ch == '{' || ch == '"' ||
            ch == ']')
            break;
        r->i++;
    }
    if (r->i == start)
        return NULL;
    return g_strndup((const char *) r->p + start, r->i - start);
}

/* A literal "{n}\r\n" and its octets: the position and length. */
static gboolean
rd_literal(Rd *r, gsize *at, gsize *len)
{
    guint64 n;
    if (!rd_lit(r, "{") || !rd_number(r, G_MAXSIZE / 2, &n) || !rd_lit(r, "}\r\n") ||
        r->n - r->i < n)
        return FALSE;
    *at = r->i;
    *len = (gsize) n;
    r->i += (gsize) n;
    return TRUE;
}

static gboolean
rd_quoted(Rd *r)
{
    if (!rd_lit(r, "\""))
        return FALSE;
    while (r->i < r->n) {
        guint8 ch = r->p[r->i++];
        if (ch == '\\' && r->i < r->n)
            r->i++;
        else if (ch == '"')
            return TRUE;
        else if (ch == '\r' || ch == '\n')
            return FALSE;
    }
    return FALSE;
}

/* Any value: NIL, a number, an atom, a string or a list of values. */
static gboolean
rd_skip(Rd *r, guint depth)
{
    if (depth > MAX_DEPTH || r->i >= r->n)
        return FALSE;
    guint8 ch = r->p[r->i];
    if (ch == '"')
        return rd_quoted(r);
    if (ch == '{') {
        gsize at, len;
        return rd_literal(r, &at, &len);
    }
    if (ch == '(') {
        r->i++;
        if (rd_lit(r, ")"))
            return TRUE;
        do {
            if (!rd_skip(r, depth + 1))
                return FALSE;
        } while (rd_sp(r));
        return rd_lit(r, ")");
    }
    g_autofree char *a = rd_atom(r);
    return a != NULL;
}

/* A flag list "(\Seen \Flagged)": the system flags it holds. */
static gboolean
rd_flags(Rd *r, guint *flags)
{
    static const char *const names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                         "\\Draft" };
    *flags = 0;
    if (!rd_lit(r, "("))
        return FALSE;
    if (rd_lit(r, ")"))
        return TRUE;
    do {
        if (rd_lit(r, "\\*")) /* PERMANENTFLAGS may hold it */
            continue;
        if (r->i < r->n && r->p[r->i] == '\\')
            r->i++;
        g_autofree char *a = rd_atom(r);
        if (!a)
            return FALSE;
        g_autofree char *f = g_strconcat("\\", a, NULL);
        for (guint k = 0; k < G_N_ELEMENTS(names); k++)
            if (g_ascii_strcasecmp(f, names[k]) == 0)
                *flags |= 1u << k;
    } while (rd_sp(r));
    return rd_lit(r, ")");
}

/* The rest of the line from here, as text (for messages). */
static char *
rd_text(Rd *r)
{
    gsize end = r->n;
    while (end > r->i && (r->p[end - 1] == '\n' || r->p[end - 1] == '\r'))
        end--;
    g_autoptr(GString) s = g_string_new(NULL);
    append_printable(s, r->p + r->i, end - r->i);
    r->i = r->n;
    return g_strdup(s->str);
}

static void
caps_clear(MsImapClient *c)
{
    c->cap_starttls = c->cap_logindisabled = c->cap_auth_plain = c->cap_sasl_ir = c->cap_idle =
        FALSE;
}

/* Capability atoms up to the end of the list (']' or the line's end). */
static void
rd_caps(MsImapClient *c, Rd *r)
{
    caps_clear(c);
    c->caps_known = TRUE;
    if (c->logged_in)
        c->caps_after_login = TRUE;
    while (rd_sp(r)) {
        g_autofree char *a = rd_atom(r);
        if (!a)
            break;
        if (g_ascii_strcasecmp(a, "STARTTLS") == 0)
            c->cap_starttls = TRUE;
        else if (g_ascii_strcasecmp(a, "LOGINDISABLED") == 0)
            c->cap_logindisabled = TRUE;
        else if (g_ascii_strcasecmp(a, "AUTH=PLAIN") == 0)
            c->cap_auth_plain = TRUE;
        else if (g_ascii_strcasecmp(a, "SASL-IR") == 0)
            c->cap_sasl_ir = TRUE;
        else if (g_ascii_strcasecmp(a, "IDLE") == 0)
            c->cap_idle = TRUE;
    }
}

/* "[CODE args]" at the start of a status text: the codes we use. *code
 * gets the code's name (or NULL when there is none). */
static gboolean
rd_code(MsImapClient *c, Rd *r, char **code)
{
    *code = NULL;
    if (!rd_lit(r, "["))
        return TRUE;
    char *a = rd_atom(r);
    if (!a)
        return FALSE;
    *code = a;
    guint64 v;
    if (g_ascii_strcasecmp(a, "CAPABILITY") == 0) {
        rd_caps(c, r);
    } else if (g_ascii_strcasecmp(a, "UIDVALIDITY") == 0) {
        if (!rd_sp(r) || !rd_number(r, G_MAXUINT32, &v) || v == 0)
            return FALSE;
        if (c->state == S_SELECT && (guint32) v != c->uidvalidity) {
            c->uidvalidity = (guint32) v; /* RFC 9051 2.3.1.1: the old UIDs mean nothing */
            c->uidnext = 1;
        }
    } else if (g_ascii_strcasecmp(a, "APPENDUID") == 0) {
        /* RFC 4315 3: [APPENDUID uidvalidity uid] */
        guint64 u;
        if (rd_sp(r) && rd_number(r, G_MAXUINT32, &v) && rd_sp(r) && rd_number(r, G_MAXUINT32, &u))
            c->appenduid = (guint32) u;
    }
    /* skip whatever else the code holds */
    while (r->i < r->n && r->p[r->i] != ']' && r->p[r->i] != '\r' && r->p[r->i] != '\n')
        r->i++;
    if (!rd_lit(r, "]"))
        return FALSE;
    rd_sp(r);
    return TRUE;
}

static void
on_fetch(MsImapClient *c, Rd *r)
{
    guint64 uid = 0;
    guint flags = 0;
    gsize body_at = 0, body_len = 0;
    gboolean have_body = FALSE;
    if (!rd_lit(r, "(")) {
        protocol_error(c, "malformed FETCH response");
        return;
    }
    do {
        g_autofree char *name = rd_atom(r);
        if (!name || !rd_sp(r)) {
            protocol_error(c, "malformed FETCH response");
            return;
        }
        gboolean ok;
        if (g_ascii_strcasecmp(name, "UID") == 0) {
            ok = rd_number(r, G_MAXUINT32, &uid) && uid > 0;
        } else if (g_ascii_strcasecmp(name, "FLAGS") == 0) {
            ok = rd_flags(r, &flags);
        } else if (g_ascii_strcasecmp(name, "BODY[]") == 0 ||
                   g_ascii_strcasecmp(name, "RFC822") == 0) {
            if (rd_lit(r, "NIL")) {
                ok = TRUE;
            } else if (r->i < r->n && r->p[r->i] == '"') { /* a quoted body: rare but legal */
                gsize at = r->i + 1;
                ok = rd_quoted(r);
                body_at = at;
                body_len = r->i - at - 1;
                have_body = ok;
            } else {
                ok = rd_literal(r, &body_at, &body_len);
                have_body = ok;
            }
        } else {
            ok = rd_skip(r, 1);
        }
        if (!ok) {
            protocol_error(c, "malformed FETCH response");
            return;
        }
    } while (rd_sp(r));
    if (!rd_lit(r, ")")) {
        protocol_error(c, "malformed FETCH response");
        return;
    }
    if (!have_body || c->state != S_FETCH)
        return; /* flag updates (after STORE, or another device's) */
    if (uid == 0) {
        protocol_error(c, "FETCH response without UID");
        return;
    }
    g_autoptr(GBytes) b = g_bytes_new(r->p + body_at, body_len);
    g_array_append_val(c->got, (guint32){ (guint32) uid });
    c->fetched++;
    if (c->hooks.message)
        c->hooks.message(c->user_data, (guint32) uid, flags, b);
}

static void
on_untagged(MsImapClient *c, Rd *r)
{
    guint64 n;
    if (r->i < r->n && g_ascii_isdigit(r->p[r->i])) {
        if (!rd_number(r, G_MAXUINT32, &n) || !rd_sp(r)) {
            protocol_error(c, "malformed untagged response");
            return;
        }
        if (rd_lit(r, "EXISTS")) {
            if (n > c->exists &&
                (c->state == S_IDLE || c->state == S_IDLING || c->state == S_DONE ||
                 c->state == S_FETCH || c->state == S_STORE || c->state == S_SEARCH))
                c->new_mail = TRUE;
            c->exists = (guint32) n;
            if (c->new_mail && c->state == S_IDLING)
                send_done(c);
        } else if (rd_lit(r, "EXPUNGE")) {
            if (c->exists > 0)
                c->exists--;
        } else if (rd_lit(r, "FETCH") && rd_sp(r)) {
            on_fetch(c, r);
        }
        return; /* RECENT and others: nothing to do */
    }
    g_autofree char *word = rd_atom(r);
    if (!word) {
        protocol_error(c, "malformed untagged response");
        return;
    }
    if (g_ascii_strcasecmp(word, "CAPABILITY") == 0) {
        rd_caps(c, r);
    } else if (g_ascii_strcasecmp(word, "SEARCH") == 0) {
        while (rd_sp(r)) {
            if (!rd_number(r, G_MAXUINT32, &n) || n == 0) {
                protocol_error(c, "malformed SEARCH response");
                return;
            }
            if (c->state == S_SEARCH && n >= MAX(c->uidnext, 1))
                g_array_append_val(c->found, (guint32){ (guint32) n });
        }
    } else if (g_ascii_strcasecmp(word, "OK") == 0 || g_ascii_strcasecmp(word, "NO") == 0 ||
               g_ascii_strcasecmp(word, "BAD") == 0 || g_ascii_strcasecmp(word, "PREAUTH") == 0 ||
               g_ascii_strcasecmp(word, "BYE") == 0) {
        g_autofree char *code = NULL;
        if (!rd_sp(r)) {
            /* "* OK" with no text: tolerated, as many servers send it */
        } else if (!rd_code(c, r, &code)) {
            protocol_error(c, "malformed response code");
            return;
        }
        g_autofree char *text = rd_text(r);
        gboolean bye = g_ascii_strcasecmp(word, "BYE") == 0;
        if (c->state == S_GREETING) {
            if (bye) {
                set_result(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
                finish(c);
            } else if (g_ascii_strcasecmp(word, "PREAUTH") == 0) {
                c->logged_in = TRUE; /* RFC 9051 7.1.4 */
                next_step(c);
            } else if (g_ascii_strcasecmp(word, "OK") == 0) {
                if (c->caps_known)
                    after_caps(c);
                else
                    ask_caps(c);
            } else {
                protocol_error(c, "greeting is neither OK, PREAUTH nor BYE");
            }
            return;
        }
        if (bye && c->state != S_LOGOUT) {
            g_autofree char *why = g_strdup_printf("the server closed the session: %s", text);
            set_result(c, MS_IMAP_CLIENT_SERVER_ERROR, why);
            finish(c);
        }
    }
    /* FLAGS, LIST, STATUS, NAMESPACE, ENABLED...: not needed here */
}

static void
on_continuation(MsImapClient *c)
{
    switch (c->state) {
    case S_AUTH: {
        gsize ul = strlen(c->user), pl = strlen(c->password);
        g_autofree guint8 *raw = g_malloc(ul + pl + 2);
        raw[0] = 0;
        memcpy(raw + 1, c->user, ul);
        raw[ul + 1] = 0;
        memcpy(raw + ul + 2, c->password, pl);
        g_autofree char *b64 = g_base64_encode(raw, ul + pl + 2);
        trace_out(c, c->cfg.trace_secrets ? b64 : "****");
        raw_out(c, b64, strlen(b64));
        raw_out(c, "\r\n", 2);
        c->state = S_AUTH_DATA;
        break;
    }
    case S_APPEND: {
        Append *a = g_queue_peek_head(&c->appends);
        gsize n = g_bytes_get_size(a->data);
        g_autofree char *shown = g_strdup_printf("[%" G_GSIZE_FORMAT " octets]", n);
        trace_out(c, shown);
        raw_out(c, g_bytes_get_data(a->data, NULL), n);
        raw_out(c, "\r\n", 2); /* the end of the APPEND command line */
        c->state = S_APPEND_DATA;
        break;
    }
    case S_IDLE:
        c->state = S_IDLING;
        if (c->hooks.idling)
            c->hooks.idling(c->user_data);
        if (c->state == S_IDLING && (c->new_mail || c->stop))
            send_done(c);
        break;
    default:
        protocol_error(c, "continuation request nobody asked for");
    }
}

static void
on_tagged(MsImapClient *c, gboolean ok, gboolean bad, const char *code, const char *text)
{
    switch (c->state) {
    case S_CAPABILITY:
        if (!ok) {
            fail_and_logout(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
            break;
        }
        if (c->logged_in) {
            c->caps_after_login = TRUE;
            next_step(c);
        } else {
            after_caps(c);
        }
        break;
    case S_STARTTLS:
        if (ok) {
            c->state = S_TLS_WAIT; /* RFC 9051 6.2.1: the handshake starts now */
        } else if (c->cfg.tls_level == MS_IMAP_TLS_ENCRYPT) {
            g_autofree char *why =
                g_strdup_printf("TLS is required, but STARTTLS was refused: %s", text);
            fail_and_logout(c, MS_IMAP_CLIENT_TLS_UNAVAILABLE, why);
        } else {
            login(c);
        }
        break;
    case S_LOGIN:
    case S_AUTH:
    case S_AUTH_DATA:
        if (!ok) {
            fail_and_logout(c, MS_IMAP_CLIENT_AUTH_FAILED, text);
            break;
        }
        c->logged_in = TRUE;
        next_step(c);
        break;
    case S_APPEND:
    case S_APPEND_DATA: {
        Append *a = g_queue_peek_head(&c->appends);
        if (!ok && !bad && code && g_ascii_strcasecmp(code, "TRYCREATE") == 0 &&
            !c->append_retried) {
            /* RFC 9051 6.3.12: the folder does not exist; make it, try once more. */
            c->append_retried = TRUE;
            send_tagged(c, NULL, "CREATE %s", a->folder);
            c->state = S_CREATE;
            break;
        }
        if (!ok) {
            fail_and_logout(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
            break;
        }
        c->appended++;
        c->append_retried = FALSE;
        g_queue_pop_head(&c->appends);
        if (c->hooks.appended)
            c->hooks.appended(c->user_data, a->folder, c->appenduid);
        g_free(a->folder);
        g_bytes_unref(a->data);
        g_free(a);
        next_step(c);
        break;
    }
    case S_CREATE:
        /* NO [ALREADYEXISTS]: someone else made it meanwhile; try anyway. */
        if (!ok && !(code && g_ascii_strcasecmp(code, "ALREADYEXISTS") == 0)) {
            fail_and_logout(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
            break;
        }
        next_step(c);
        break;
    case S_SELECT:
        if (!ok) {
            fail_and_logout(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
            break;
        }
        if (c->exists == 0)
            after_fetch(c);
        else
            search_new(c);
        break;
    case S_SEARCH:
        if (!ok) {
            fail_and_logout(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
            break;
        }
        if (c->found->len == 0) {
            after_fetch(c);
            break;
        }
        g_array_sort(c->found, cmp_u32);
        {
            g_autofree char *set = uid_set(c->found);
            send_tagged(c, NULL, "UID FETCH %s (UID FLAGS RFC822.SIZE BODY.PEEK[])", set);
        }
        c->state = S_FETCH;
        break;
    case S_FETCH:
        if (!ok) {
            fail_and_logout(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
            break;
        }
        if (c->cfg.mark_seen && c->got->len > 0) {
            g_array_sort(c->got, cmp_u32);
            g_autofree char *set = uid_set(c->got);
            send_tagged(c, NULL, "UID STORE %s +FLAGS (\\Seen)", set);
            c->state = S_STORE;
            break;
        }
        after_fetch(c);
        break;
    case S_STORE:
        if (!ok) {
            fail_and_logout(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
            break;
        }
        after_fetch(c);
        break;
    case S_IDLE:
    case S_DONE:
        if (!ok) { /* IDLE refused: say goodbye instead of waiting */
            fail_and_logout(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
            break;
        }
        if (c->stop)
            logout(c);
        else if (c->new_mail)
            search_new(c);
        else
            idle(c);
        break;
    case S_LOGOUT:
        if (!ok)
            set_result(c, MS_IMAP_CLIENT_SERVER_ERROR, text);
        set_result(c, MS_IMAP_CLIENT_OK, "");
        finish(c);
        break;
    case S_IDLING:
        protocol_error(c, "tagged response while idling");
        break;
    case S_GREETING:
    case S_TLS_WAIT:
    case S_CLOSED:
        g_assert_not_reached();
    }
}

/* One whole response (lines and literals, CRLF ends as received). */
static void
on_response(MsImapClient *c, const guint8 *p, gsize n)
{
    Rd r = { p, n, 0 };
    if (c->hooks.trace)
        c->hooks.trace(c->user_data, FALSE, c->shown->str);
    if (n > 0 && p[0] == '+') {
        if (c->state == S_GREETING) {
            protocol_error(c, "continuation request before the greeting");
            return;
        }
        on_continuation(c);
        return;
    }
    if (rd_lit(&r, "* ")) {
        on_untagged(c, &r);
        return;
    }
    if (c->state == S_GREETING) {
        protocol_error(c, "greeting is not untagged");
        return;
    }
    gsize tl = strlen(c->tag);
    if (c->state == S_IDLING || n < tl + 1 || memcmp(p, c->tag, tl) != 0 || p[tl] != ' ') {
        protocol_error(c, "tagged response to no command sent");
        return;
    }
    r.i = tl + 1;
    gboolean ok = rd_lit(&r, "OK"), no = !ok && rd_lit(&r, "NO"),
             bad = !ok && !no && rd_lit(&r, "BAD");
    if (!ok && !no && !bad) {
        protocol_error(c, "tagged response is neither OK, NO nor BAD");
        return;
    }
    g_autofree char *code = NULL;
    c->appenduid = 0;
    if (rd_sp(&r) && !rd_code(c, &r, &code)) {
        protocol_error(c, "malformed response code");
        return;
    }
    g_autofree char *text = rd_text(&r);
    on_tagged(c, ok, bad, code, text);
}

/* ---- public ----------------------------------------------------------- */

void
ms_imap_client_config_init(MsImapClientConfig *cfg)
{
    g_return_if_fail(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->fetch = TRUE;
    cfg->mark_seen = TRUE;
    cfg->max_message = DEFAULT_MAX_MESSAGE;
    cfg->max_line = MS_IMAP_CLIENT_LINE_MAX;
}

static gboolean
text_valid(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

MsImapClient *
ms_imap_client_new(const MsImapClientConfig *cfg, const MsImapClientHooks *hooks,
                   gpointer user_data)
{
    g_return_val_if_fail(cfg != NULL && hooks != NULL, NULL);
    g_return_val_if_fail(text_valid(cfg->user) && cfg->user[0], NULL);
    g_return_val_if_fail(text_valid(cfg->password), NULL);
    MsImapClient *c = g_new0(MsImapClient, 1);
    c->cfg = *cfg;
    c->user = g_strdup(cfg->user);
    c->password = g_strdup(cfg->password);
    c->cfg.user = c->user;
    c->cfg.password = c->password;
    c->tls_active = cfg->tls_active;
    if (c->tls_active)
        c->cfg.tls_level = MS_IMAP_TLS_NONE;
    if (c->cfg.max_line < MIN_LINE)
        c->cfg.max_line = c->cfg.max_line ? MIN_LINE : MS_IMAP_CLIENT_LINE_MAX;
    if (c->cfg.max_message == 0)
        c->cfg.max_message = DEFAULT_MAX_MESSAGE;
    c->uidvalidity = cfg->uidvalidity;
    c->uidnext = cfg->uidvalidity ? MAX(cfg->uidnext, 1) : 1;
    c->hooks = *hooks;
    c->user_data = user_data;
    c->state = S_GREETING;
    c->result = MS_IMAP_CLIENT_OK;
    g_queue_init(&c->appends);
    c->found = g_array_new(FALSE, FALSE, sizeof(guint32));
    c->got = g_array_new(FALSE, FALSE, sizeof(guint32));
    c->in = g_byte_array_new();
    c->resp = g_byte_array_new();
    c->shown = g_string_new(NULL);
    c->out = g_byte_array_new();
    return c;
}

static void
append_free(gpointer p)
{
    Append *a = p;
    g_free(a->folder);
    g_bytes_unref(a->data);
    g_free(a);
}

void
ms_imap_client_free(MsImapClient *c)
{
    if (!c)
        return;
    g_free(c->user);
    g_free(c->password);
    g_free(c->text);
    g_queue_clear_full(&c->appends, append_free);
    g_array_unref(c->found);
    g_array_unref(c->got);
    g_byte_array_unref(c->in);
    g_byte_array_unref(c->resp);
    g_string_free(c->shown, TRUE);
    g_byte_array_unref(c->out);
    g_free(c);
}

static gboolean
folder_valid(const char *s)
{
    /* An atom (RFC 9051 9 ATOM-CHAR), so it travels without quoting. */
    if (!*s)
        return FALSE;
    for (const char *p = s; *p; p++)
        if ((guchar) *p <= ' ' || (guchar) *p >= 0x7f || strchr("(){%*\"\\]", *p))
            return FALSE;
    return TRUE;
}

void
ms_imap_client_append(MsImapClient *c, const char *folder, GBytes *message, guint flags)
{
    g_return_if_fail(c != NULL && folder != NULL && folder_valid(folder) && message != NULL);
    g_return_if_fail(c->state == S_GREETING);
    Append *a = g_new0(Append, 1);
    a->folder = g_strdup(folder);
    a->data = g_bytes_ref(message);
    a->flags = flags & 0x1fu;
    g_queue_push_tail(&c->appends, a);
}

/* The "{n}" at the end of a line (CRLF removed), or FALSE. */
static gboolean
line_literal(const guint8 *p, gsize n, guint64 *len)
{
    if (n < 3 || p[n - 1] != '}')
        return FALSE;
    gsize i = n - 1;
    guint64 v = 0, mul = 1;
    gsize digits = 0;
    while (i > 0 && g_ascii_isdigit(p[i - 1])) {
        if (++digits > 19)
            return FALSE;
        v += (guint64) (p[i - 1] - '0') * mul;
        mul *= 10;
        i--;
    }
    if (digits == 0 || i == 0 || p[i - 1] != '{')
        return FALSE;
    *len = v;
    return TRUE;
}

void
ms_imap_client_feed(MsImapClient *c, const guint8 *data, gsize len)
{
    g_return_if_fail(c != NULL);
    g_return_if_fail(data != NULL || len == 0);
    if (c->state == S_CLOSED || c->state == S_TLS_WAIT)
        return;
    g_byte_array_append(c->in, data, (guint) len);
    gsize pos = 0;
    while (c->state != S_CLOSED && c->state != S_TLS_WAIT && pos < c->in->len) {
        const guint8 *p = c->in->data + pos;
        gsize avail = c->in->len - pos;
        if (c->literal_left > 0) {
            gsize k = (gsize) MIN((guint64) avail, c->literal_left);
            g_byte_array_append(c->resp, p, (guint) k);
            c->literal_left -= k;
            pos += k;
            continue;
        }
        const guint8 *lf = memchr(p, '\n', avail);
        gsize total = lf ? (gsize) (lf - p) + 1 : avail;
        if (c->line_len + total > c->cfg.max_line) {
            protocol_error(c, "response line too long");
            break;
        }
        if (memchr(p, '\0', total)) {
            protocol_error(c, "NUL octet from the server");
            break;
        }
        g_byte_array_append(c->resp, p, (guint) total);
        pos += total;
        if (!lf) {
            c->line_len += total;
            break;
        }
        /* A whole line: its text without CRLF goes to the shown form. */
        gsize line_start = c->resp->len - (c->line_len + total);
        const guint8 *lp = c->resp->data + line_start;
        gsize ln = c->line_len + total - 1;
        c->line_len = 0;
        if (ln > 0 && lp[ln - 1] == '\r')
            ln--;
        else { /* a bare LF: keep the response in CRLF form for the reader */
            g_byte_array_set_size(c->resp, c->resp->len - 1);
            g_byte_array_append(c->resp, (const guint8 *) "\r\n", 2);
            lp = c->resp->data + line_start;
        }
        append_printable(c->shown, lp, ln);
        guint64 lit;
        if (line_literal(lp, ln, &lit)) {
            if (lit > c->cfg.max_message) {
                protocol_error(c, "literal larger than the largest message accepted");
                break;
            }
            g_string_append_printf(c->shown, "[%" G_GUINT64_FORMAT " octets]", lit);
            c->literal_left = lit;
            continue;
        }
        g_autoptr(GByteArray) resp = c->resp;
        c->resp = g_byte_array_new();
        on_response(c, resp->data, resp->len);
        g_string_truncate(c->shown, 0);
    }
    if (c->state == S_CLOSED || c->state == S_TLS_WAIT)
        g_byte_array_set_size(c->in, 0);
    else if (pos > 0)
        g_byte_array_remove_range(c->in, 0, (guint) pos);
}

void
ms_imap_client_eof(MsImapClient *c)
{
    g_return_if_fail(c != NULL);
    if (c->state == S_CLOSED)
        return;
    set_result(c, MS_IMAP_CLIENT_DISCONNECTED, "connection closed by the server");
    finish(c);
}

GBytes *
ms_imap_client_take_output(MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, NULL);
    if (c->out->len == 0)
        return NULL;
    GBytes *b = g_byte_array_free_to_bytes(c->out);
    c->out = g_byte_array_new();
    return b;
}

void
ms_imap_client_stop(MsImapClient *c)
{
    g_return_if_fail(c != NULL);
    if (c->state == S_CLOSED || c->stop)
        return;
    c->stop = TRUE;
    if (c->state == S_IDLING)
        send_done(c);
}

void
ms_imap_client_renew_idle(MsImapClient *c)
{
    g_return_if_fail(c != NULL);
    /* The tagged OK to DONE starts IDLE again (or a fetch, if mail came). */
    if (c->state == S_IDLING && !c->stop)
        send_done(c);
}

gboolean
ms_imap_client_wants_tls(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, FALSE);
    return c->state == S_TLS_WAIT;
}

void
ms_imap_client_tls_started(MsImapClient *c)
{
    g_return_if_fail(c != NULL && c->state == S_TLS_WAIT);
    c->tls_active = TRUE;
    caps_clear(c); /* RFC 9051 6.2.1: forget what was said in the clear */
    c->caps_known = FALSE;
    ask_caps(c);
}

void
ms_imap_client_tls_failed(MsImapClient *c, const char *why)
{
    g_return_if_fail(c != NULL);
    if (c->state == S_CLOSED)
        return;
    set_result(c, MS_IMAP_CLIENT_TLS_FAILED, why ? why : "TLS handshake failed");
    finish(c);
}

gboolean
ms_imap_client_tls_active(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, FALSE);
    return c->tls_active;
}

gboolean
ms_imap_client_login_sent(const MsImapClient *c, gboolean *inside_tls)
{
    g_return_val_if_fail(c != NULL, FALSE);
    if (inside_tls)
        *inside_tls = c->login_sent && c->login_in_tls;
    return c->login_sent;
}

gboolean
ms_imap_client_is_closed(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, TRUE);
    return c->state == S_CLOSED;
}

gboolean
ms_imap_client_is_idling(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, FALSE);
    return c->state == S_IDLING;
}

MsImapClientResult
ms_imap_client_result(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, MS_IMAP_CLIENT_PROTOCOL_ERROR);
    return c->result;
}

guint
ms_imap_client_fetched(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return c->fetched;
}

guint
ms_imap_client_appended(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return c->appended;
}

guint32
ms_imap_client_uidvalidity(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, 0);
    return c->uidvalidity;
}

guint32
ms_imap_client_uidnext(const MsImapClient *c)
{
    g_return_val_if_fail(c != NULL, 1);
    return c->uidnext;
}

const char *
ms_imap_client_result_to_string(MsImapClientResult result)
{
    switch (result) {
    case MS_IMAP_CLIENT_OK:
        return "ok";
    case MS_IMAP_CLIENT_AUTH_FAILED:
        return "auth-failed";
    case MS_IMAP_CLIENT_SERVER_ERROR:
        return "server-error";
    case MS_IMAP_CLIENT_PROTOCOL_ERROR:
        return "protocol-error";
    case MS_IMAP_CLIENT_DISCONNECTED:
        return "disconnected";
    case MS_IMAP_CLIENT_TLS_UNAVAILABLE:
        return "tls-unavailable";
    case MS_IMAP_CLIENT_TLS_FAILED:
        return "tls-failed";
    }
    return "unknown";
}

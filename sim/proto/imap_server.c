/* The IMAP server core's session (see include/mailsim/imap_server.h):
 * turns the bytes an IMAP client sends into the bytes an IMAP server
 * answers, for the bridge's real listener and for tests; the mailboxes are
 * the hooks'. This file frames input into commands, parses their tag and
 * name, dispatches them by state to the command families (one file each,
 * listed in imap_server-private.h), queues and traces the output, and
 * holds the public API and the commands of the session itself
 * (CAPABILITY, NOOP, LOGOUT, ENABLE, IDLE).
 *
 * Design. Input is cut into lines at LF (a CR before it dropped). A command
 * is one line, or several joined by literals: a line that ends in "{n}"
 * (synchronising: the core answers "+ Ready" first, RFC 9051 7.5) or
 * "{n+}" (LITERAL+, RFC 7888) is followed by n raw octets and then more of
 * the command. The assembled command (line fragments and literal octets, in
 * order) is then parsed by a small recursive-descent parser over the
 * grammar of RFC 9051 9 and run. Replies depend only on the command and the
 * state, never on how the input was cut, so any split gives the same
 * output; the tests prove it octet by octet.
 *
 * States (RFC 9051 3): not authenticated, authenticated, selected, logout.
 * The selected mailbox is a snapshot (an array of uid, size, flags, date)
 * taken at SELECT and brought up to date only where the protocol allows
 * telling the client: at NOOP and CHECK, at IDLE and while idling
 * (ms_imap_server_refresh), after our own STORE/EXPUNGE/APPEND/COPY. So
 * sequence numbers never move under a FETCH or SEARCH (RFC 9051 7.5.1
 * forbids EXPUNGE responses then).
 *
 * What is spoken: IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501), both
 * advertised; a session speaks rev1 until ENABLE IMAP4rev2 (6.3.1), then
 * the rev2 forms of Appendix E: ESEARCH for every SEARCH, no RECENT, no
 * UNSEEN code but a LIST response at SELECT, no LSUB, CHECK or STATUS
 * RECENT. Beside them LITERAL+, SASL-IR, ENABLE, IDLE, NAMESPACE, UNSELECT,
 * MOVE, UIDPLUS, ESEARCH (RFC 4731), SEARCHRES (RFC 5182), LIST-EXTENDED
 * (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154, from the
 * names Sent, Junk, Drafts, Trash), BINARY (RFC 3516, FETCH only) and
 * STARTTLS/LOGINDISABLED. FETCH knows numbered sections (BODY[1.2.MIME],
 * RFC 9051 6.4.5). Flags are the five system flags and the keywords a
 * mailbox defines (at most MS_IMAP_KEYWORD_MAX); subscriptions are the
 * hooks' list. Mailbox names are modified UTF-7 (RFC 3501 5.1.3) inside
 * and for IMAP4rev1 sessions, UTF-8 for a session after ENABLE IMAP4rev2
 * (RFC 9051 5.1), converted at the edge (imap_mutf7.c); quoted strings
 * then carry UTF-8 both ways (RFC 9051 9).
 *
 * Choices where the RFCs leave room, each for a hostile peer:
 * - A line fragment is at most MS_IMAP_SERVER_LINE_MAX octets; a longer
 *   one is discarded as it arrives and answered "* BAD [TOOBIG]".
 * - A literal larger than the limit (max_literal for APPEND, a line for
 *   every other command) is refused before any octet of it is read: a
 *   synchronising one with "tag NO [TOOBIG]" (RFC 9051 7.1, so the client
 *   never sends it), a non-synchronising one with "* BYE" and the end of
 *   the session (RFC 7888 4: its octets are on their way and cannot be
 *   told apart from commands).
 * - Parentheses nest at most MAX_DEPTH deep, a command has at most
 *   MAX_ITEMS fetch attributes, search keys or set ranges; more is BAD.
 * - A message sequence number past the end (or "*" in an empty mailbox) is
 *   BAD, as RFC 3501 9 demands; UIDs that do not exist are skipped.
 * - After MAX_BAD consecutive BAD answers the session ends with BYE, as
 *   Dovecot does after ten invalid commands.
 * - A failed login is answered at once (no delay: the bridge is a test
 *   server), and the session ends after max_auth_failures.
 * - STARTTLS (RFC 9051 6.2.1): once its OK is queued nothing more is read;
 *   octets that arrived after it in clear are dropped (CVE-2011-0411).
 *
 * Ownership: the server copies its configuration; message bytes from the
 * read hook are released as soon as a reply is built. Costs: FETCH of a
 * message section copies it once into the output; sequence sets are sorted
 * and merged (O(r log r)) and then walked with the mailbox (O(n + r));
 * SEARCH reads a message only for text keys. Output above OUT_HIGH_WATER
 * stops the reading of input until it is taken. No global state, no clock. */
#include "mailsim/imap_server.h"
#include "imap_server-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_HIGH_WATER (1u << 20)
#define IN_MAX         (4u << 20) /* unread input beyond this closes the session */

/* ---- output and trace ------------------------------------------------- */

static char *
printable(const guint8 *p, gsize n)
{
    GString *s = g_string_sized_new(n + 8);
    for (gsize i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f)
            g_string_append_c(s, (char) p[i]);
        else
            g_string_append_printf(s, "\\x%02X", p[i]);
    }
    return g_string_free(s, FALSE);
}

/* Traces `text` (a response or command, CRLF-separated lines, literals
 * inline as "{n}\r\n" + octets), one call per line, literal contents
 * summarised. */
static void
trace_text(MsImapServer *srv, gboolean from_client, const guint8 *p, gsize n)
{
    if (!srv->trace_fn)
        return;
    GString *line = g_string_new(NULL);
    gsize i = 0;
    while (i < n) {
        const guint8 *lf = memchr(p + i, '\n', n - i);
        gsize end = lf ? (gsize) (lf - p) : n;
        gsize len = end - i;
        if (len > 0 && p[i + len - 1] == '\r')
            len--;
        g_autofree char *part = printable(p + i, len);
        g_string_append(line, part);
        i = lf ? end + 1 : n;
        /* A literal announced at the end of the line: summarise it. */
        guint64 lit = 0;
        const char *brace = strrchr(line->str, '{');
        if (brace && line->str[line->len - 1] == '}') {
            char *endp = NULL;
            lit = g_ascii_strtoull(brace + 1, &endp, 10);
            if (endp && (*endp == '}' || (*endp == '+' && endp[1] == '}')) && lit <= n - i) {
                g_string_append_printf(line, "[%" G_GUINT64_FORMAT " octets]", lit);
                i += (gsize) lit;
                continue; /* the command goes on after the literal */
            }
        }
        srv->trace_fn(srv->trace_ud, from_client, line->str);
        g_string_truncate(line, 0);
    }
    if (line->len)
        srv->trace_fn(srv->trace_ud, from_client, line->str);
    g_string_free(line, TRUE);
}

/* Appends a whole response (CRLF added) and traces it. */
void
ms__imap_emit(MsImapServer *srv, GString *s)
{
    g_string_append(s, "\r\n");
    trace_text(srv, FALSE, (const guint8 *) s->str, s->len - 2);
    g_byte_array_append(srv->out, (const guint8 *) s->str, (guint) s->len);
}

G_GNUC_PRINTF(2, 3)
void
ms__imap_say(MsImapServer *srv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    GString *s = g_string_new(NULL);
    g_string_append_vprintf(s, fmt, ap);
    va_end(ap);
    ms__imap_emit(srv, s);
    g_string_free(s, TRUE);
}

/* A tagged BAD counts towards MAX_BAD. */
G_GNUC_PRINTF(3, 4)
void
ms__imap_bad(MsImapServer *srv, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ms__imap_say(srv, "%s BAD %s", tag ? tag : "*", text);
    if (++srv->bad_in_row >= MAX_BAD && srv->state != ST_CLOSED) {
        ms__imap_say(srv, "* BYE Too many invalid IMAP commands.");
        srv->state = ST_CLOSED;
    }
}

void
ms__imap_capabilities(MsImapServer *srv, GString *s)
{
    /* RFC 9051 1: a server that speaks both says both; a client gets the
     * IMAP4rev2 forms only after ENABLE IMAP4rev2 (6.3.1). */
    g_string_append(
        s, "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ENABLE IDLE NAMESPACE UNSELECT MOVE UIDPLUS "
           "ESEARCH SEARCHRES LIST-EXTENDED LIST-STATUS SPECIAL-USE BINARY");
    if (srv->state == ST_NOAUTH) {
        if (srv->cfg.offer_starttls && !srv->tls)
            g_string_append(s, " STARTTLS");
        if (srv->cfg.auth_requires_tls && !srv->tls)
            g_string_append(s, " LOGINDISABLED");
        else
            g_string_append(s, " AUTH=PLAIN");
    }
}

/* ---- the parser -------------------------------------------------------- */

/* ATOM-CHAR (RFC 9051 9): CHAR except ( ) { SP CTL % * " \ ]; with
 * `astring`, "]" too. */
gboolean
ms__imap_atom_char(guint8 c, gboolean astring)
{
    if (c <= 0x20 || c >= 0x7f)
        return FALSE;
    if (strchr("(){%*\"\\", c))
        return FALSE;
    return astring || c != ']';
}

/* An atom; `extra` lists further characters allowed (e.g. "\\" for flags,
 * "*" for sets, "[]<>." for fetch items). Newly allocated or NULL. */
char *
ms__imap_parse_atom(MsImapParser *ps, const char *extra)
{
    gsize st = ps->i;
    while (ps->i < ps->n && (ms__imap_atom_char(ps->p[ps->i], FALSE) ||
                             (extra && ps->p[ps->i] && strchr(extra, ps->p[ps->i]))))
        ps->i++;
    if (ps->i == st)
        return NULL;
    return g_strndup((const char *) ps->p + st, ps->i - st);
}

/* A quoted string or a literal (RFC 9051 4.3); the literal's octets follow
 * its CRLF in the assembled command. Newly allocated (may contain NUL
 * octets only in literals: *len tells). NULL on a syntax error. */
char *
ms__imap_parse_string(MsImapParser *ps, gsize *len_out)
{
    if (eat(ps, '"')) {
        GString *s = g_string_new(NULL);
        while (ps->i < ps->n && ps->p[ps->i] != '"') {
            guint8 c = ps->p[ps->i++];
            if (c == '\r' || c == '\n')
                break;
            if (c == '\\') {
                if (ps->i >= ps->n || (ps->p[ps->i] != '"' && ps->p[ps->i] != '\\'))
                    break;
                c = ps->p[ps->i++];
            }
            g_string_append_c(s, (char) c);
        }
        /* RFC 9051 9: in IMAP4rev2 a quoted string is UTF-8 (QUOTED-CHAR
         * takes UTF8-2/3/4); anything else is a syntax error. IMAP4rev1
         * strings are left as lenient as before. */
        if (!eat(ps, '"') || (ps->utf8 && !g_utf8_validate(s->str, (gssize) s->len, NULL))) {
            g_string_free(s, TRUE);
            return NULL;
        }
        if (len_out)
            *len_out = s->len;
        return g_string_free(s, FALSE);
    }
    if (eat(ps, '~')) /* literal8 (RFC 9051 4.3.1) is accepted as a literal */
        if (!peek(ps, '{'))
            return NULL;
    if (!eat(ps, '{'))
        return NULL;
    guint64 n = 0;
    gsize digits = 0;
    while (ps->i < ps->n && g_ascii_isdigit(ps->p[ps->i]) && digits < 19) {
        n = n * 10 + (guint64) (ps->p[ps->i++] - '0');
        digits++;
    }
    eat(ps, '+');
    if (!digits || !eat(ps, '}') || !eat(ps, '\r') || !eat(ps, '\n') || n > ps->n - ps->i)
        return NULL;
    char *s = g_strndup((const char *) ps->p + ps->i, (gsize) n);
    if (len_out)
        *len_out = (gsize) n;
    ps->i += (gsize) n;
    return s;
}

/* 1*ASTRING-CHAR, with `wild` also the list wildcards "%" and "*". Newly
 * allocated or NULL. */
static char *
astring_chars(MsImapParser *ps, gboolean wild)
{
    gsize st = ps->i;
    while (ps->i < ps->n && (ms__imap_atom_char(ps->p[ps->i], TRUE) ||
                             (wild && (ps->p[ps->i] == '%' || ps->p[ps->i] == '*'))))
        ps->i++;
    if (ps->i == st)
        return NULL;
    return g_strndup((const char *) ps->p + st, ps->i - st);
}

/* astring = 1*ASTRING-CHAR / string. A string holding NUL is refused. */
char *
ms__imap_parse_astring(MsImapParser *ps)
{
    if (peek(ps, '"') || peek(ps, '{') || peek(ps, '~')) {
        gsize len = 0;
        char *s = ms__imap_parse_string(ps, &len);
        if (s && strlen(s) != len) {
            g_free(s);
            return NULL;
        }
        return s;
    }
    return astring_chars(ps, FALSE);
}

/* list-mailbox (RFC 9051 9): astring with % and * allowed unquoted. */
char *
ms__imap_parse_list_mailbox(MsImapParser *ps)
{
    if (peek(ps, '"') || peek(ps, '{'))
        return ms__imap_parse_astring(ps);
    return astring_chars(ps, TRUE);
}

/* Answers the tagged BAD for a syntax error. */
void
ms__imap_syntax(MsImapCtx *c, const char *what)
{
    ms__imap_bad(c->srv, c->tag, "Error in IMAP command %s: syntax error.", what);
}

gboolean
ms__imap_end_ok(MsImapCtx *c, const char *what)
{
    if (at_end(c->ps))
        return TRUE;
    ms__imap_syntax(c, what);
    return FALSE;
}

static void
cmd_capability(MsImapCtx *c)
{
    if (!ms__imap_end_ok(c, "CAPABILITY"))
        return;
    GString *s = g_string_new("* CAPABILITY ");
    ms__imap_capabilities(c->srv, s);
    ms__imap_emit(c->srv, s);
    g_string_free(s, TRUE);
    ms__imap_say(c->srv, "%s OK Capability completed.", c->tag);
}

static void
cmd_noop(MsImapCtx *c)
{
    if (!ms__imap_end_ok(c, "NOOP"))
        return;
    ms__imap_sync(c->srv);
    ms__imap_say(c->srv, "%s OK NOOP completed.", c->tag);
}

static void
cmd_logout(MsImapCtx *c)
{
    if (!ms__imap_end_ok(c, "LOGOUT"))
        return;
    ms__imap_say(c->srv, "* BYE Logging out");
    ms__imap_say(c->srv, "%s OK Logout completed.", c->tag);
    ms__imap_deselect(c->srv);
    c->srv->state = ST_CLOSED;
}

static void
cmd_enable(MsImapCtx *c)
{
    if (!eat(c->ps, ' ')) {
        ms__imap_syntax(c, "ENABLE");
        return;
    }
    gboolean rev2 = FALSE;
    do {
        g_autofree char *cap = ms__imap_parse_atom(c->ps, NULL);
        if (!cap) {
            ms__imap_syntax(c, "ENABLE");
            return;
        }
        rev2 |= !g_ascii_strcasecmp(cap, "IMAP4rev2");
    } while (eat(c->ps, ' '));
    if (!ms__imap_end_ok(c, "ENABLE"))
        return;
    /* RFC 5161 3.1: ENABLED names what this command enabled, so neither
     * an extension we do not know nor one enabled before; IMAP4rev2 (RFC
     * 9051 6.3.1) is the only one that changes what we answer. */
    ms__imap_say(c->srv, "* ENABLED%s", rev2 && !c->srv->rev2 ? " IMAP4rev2" : "");
    c->srv->rev2 |= rev2;
    ms__imap_say(c->srv, "%s OK Enabled.", c->tag);
}

static void
cmd_idle(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    if (!ms__imap_end_ok(c, "IDLE"))
        return;
    ms__imap_say(srv, "+ idling");
    g_free(srv->tag);
    srv->tag = g_strdup(c->tag);
    srv->mode = IN_IDLE;
    ms__imap_sync(srv); /* RFC 2177 3: what changed is told now */
}

/* ---- dispatch ---------------------------------------------------------- */

enum { A_NOAUTH = 1, A_AUTH = 2, A_SEL = 4, A_ANY = 7, A_LOGGED = 6 };

typedef struct {
    const char *name;
    guint states;
    gboolean uid_ok;
    MsImapCmdFunc func;
} Command;

static const Command commands[] = {
    { "CAPABILITY", A_ANY, FALSE, cmd_capability },
    { "NOOP", A_ANY, FALSE, cmd_noop },
    { "LOGOUT", A_ANY, FALSE, cmd_logout },
    { "STARTTLS", A_NOAUTH, FALSE, ms__imap_cmd_starttls },
    { "LOGIN", A_NOAUTH, FALSE, ms__imap_cmd_login },
    { "AUTHENTICATE", A_NOAUTH, FALSE, ms__imap_cmd_authenticate },
    { "ENABLE", A_LOGGED, FALSE, cmd_enable },
    { "SELECT", A_LOGGED, FALSE, ms__imap_cmd_select },
    { "EXAMINE", A_LOGGED, FALSE, ms__imap_cmd_examine },
    { "NAMESPACE", A_LOGGED, FALSE, ms__imap_cmd_namespace },
    { "LIST", A_LOGGED, FALSE, ms__imap_cmd_list },
    { "LSUB", A_LOGGED, FALSE, ms__imap_cmd_lsub },
    { "SUBSCRIBE", A_LOGGED, FALSE, ms__imap_cmd_subscribe },
    { "UNSUBSCRIBE", A_LOGGED, FALSE, ms__imap_cmd_unsubscribe },
    { "STATUS", A_LOGGED, FALSE, ms__imap_cmd_status },
    { "CREATE", A_LOGGED, FALSE, ms__imap_cmd_create },
    { "DELETE", A_LOGGED, FALSE, ms__imap_cmd_delete },
    { "RENAME", A_LOGGED, FALSE, ms__imap_cmd_rename },
    { "APPEND", A_LOGGED, FALSE, ms__imap_cmd_append },
    { "IDLE", A_LOGGED, FALSE, cmd_idle },
    { "CHECK", A_SEL, FALSE, ms__imap_cmd_check },
    { "CLOSE", A_SEL, FALSE, ms__imap_cmd_close },
    { "UNSELECT", A_SEL, FALSE, ms__imap_cmd_unselect },
    { "EXPUNGE", A_SEL, TRUE, ms__imap_cmd_expunge },
    { "FETCH", A_SEL, TRUE, ms__imap_cmd_fetch },
    { "STORE", A_SEL, TRUE, ms__imap_cmd_store },
    { "SEARCH", A_SEL, TRUE, ms__imap_cmd_search },
    { "COPY", A_SEL, TRUE, ms__imap_cmd_copy },
    { "MOVE", A_SEL, TRUE, ms__imap_cmd_move },
};

/* Parentheses deeper than MAX_DEPTH outside strings and literals. */
static gboolean
too_deep(const guint8 *p, gsize n)
{
    int depth = 0;
    gboolean quoted = FALSE;
    for (gsize i = 0; i < n; i++) {
        guint8 ch = p[i];
        if (quoted) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                quoted = FALSE;
            continue;
        }
        if (ch == '"')
            quoted = TRUE;
        else if (ch == '(' && ++depth > MAX_DEPTH)
            return TRUE;
        else if (ch == ')')
            depth--;
        else if (ch == '}' && i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
            /* skip the literal's octets */
            gsize b = i;
            while (b > 0 && p[b - 1] != '{')
                b--;
            guint64 len = g_ascii_strtoull((const char *) p + b, NULL, 10);
            i += 2 + (gsize) MIN(len, (guint64) (n - i - 2));
        }
    }
    return FALSE;
}

static void
trace_command(MsImapServer *srv, const guint8 *p, gsize n, const char *tag, const char *name)
{
    if (!srv->trace_fn)
        return;
    if (!srv->cfg.trace_secrets && name &&
        (!g_ascii_strcasecmp(name, "LOGIN") || !g_ascii_strcasecmp(name, "AUTHENTICATE"))) {
        g_autofree char *t = g_strdup_printf("%s %s ****", tag, name);
        srv->trace_fn(srv->trace_ud, TRUE, t);
        return;
    }
    trace_text(srv, TRUE, p, n - 2);
}

/* Runs one assembled command (ending in CRLF). */
static void
run_command(MsImapServer *srv, const guint8 *p, gsize n)
{
    MsImapParser ps = { p, n, 0, srv->rev2 };
    /* tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 9). */
    gsize st = 0;
    while (ps.i < n && ms__imap_atom_char(p[ps.i], TRUE) && p[ps.i] != '+')
        ps.i++;
    g_autofree char *tag = ps.i > st ? g_strndup((const char *) p, ps.i) : NULL;
    if (!tag || !eat(&ps, ' ')) {
        trace_command(srv, p, n, NULL, NULL);
        ms__imap_bad(srv, NULL, "Error in IMAP command received by server.");
        return;
    }
    g_autofree char *name = ms__imap_parse_atom(&ps, NULL);
    trace_command(srv, p, n, tag, name);
    if (!name) {
        ms__imap_bad(srv, tag, "Error in IMAP command received by server.");
        return;
    }
    if (memchr(p, '\0', n)) {
        ms__imap_bad(srv, tag, "NUL octet in command.");
        return;
    }
    if (too_deep(p, n)) {
        ms__imap_bad(srv, tag, "Error in IMAP command: too deeply nested.");
        return;
    }
    gboolean uid = FALSE;
    if (!g_ascii_strcasecmp(name, "UID")) {
        g_free(name);
        name = NULL;
        if (!eat(&ps, ' ') || !(name = ms__imap_parse_atom(&ps, NULL))) {
            ms__imap_bad(srv, tag, "Error in IMAP command UID: syntax error.");
            return;
        }
        uid = TRUE;
    }
    const Command *cmd = NULL;
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
        if (!g_ascii_strcasecmp(name, commands[i].name))
            cmd = &commands[i];
    if (!cmd || (uid && !cmd->uid_ok)) {
        ms__imap_bad(srv, tag, "Unknown command %s%s.", uid ? "UID " : "", cmd ? cmd->name : "");
        return;
    }
    guint st_bit = srv->state == ST_NOAUTH ? A_NOAUTH : srv->state == ST_AUTH ? A_AUTH : A_SEL;
    if (!(cmd->states & st_bit)) {
        ms__imap_bad(srv, tag, "%s%s not valid in this state.", uid ? "UID " : "", cmd->name);
        return;
    }
    guint bad_before = srv->bad_in_row;
    MsImapCtx c = { srv, tag, &ps, uid };
    cmd->func(&c);
    if (srv->bad_in_row == bad_before)
        srv->bad_in_row = 0;
}

/* ---- input framing ----------------------------------------------------- */

/* If the line (without CRLF) ends in a literal announcement "{n}" or
 * "{n+}", returns TRUE with its size and kind. */
static gboolean
literal_at_end(const guint8 *p, gsize n, guint64 *size, gboolean *nonsync)
{
    if (n < 3 || p[n - 1] != '}')
        return FALSE;
    gsize e = n - 1;
    *nonsync = p[e - 1] == '+';
    if (*nonsync)
        e--;
    gsize b = e;
    while (b > 0 && g_ascii_isdigit(p[b - 1]))
        b--;
    if (b == e || b == 0 || p[b - 1] != '{')
        return FALSE;
    guint64 v = 0; /* saturates: a 30-digit size is refused, not wrapped */
    for (gsize i = b; i < e; i++)
        v = v > (G_MAXUINT64 - 9) / 10 ? G_MAXUINT64 : v * 10 + (guint64) (p[i] - '0');
    *size = v;
    return TRUE;
}

/* Whether the command assembled so far is an APPEND (its literal may be a
 * whole message). */
static gboolean
is_append(const GByteArray *cmd)
{
    const guint8 *sp = memchr(cmd->data, ' ', cmd->len);
    if (!sp)
        return FALSE;
    gsize rest = cmd->len - (gsize) (sp + 1 - cmd->data);
    return rest >= 7 && g_ascii_strncasecmp((const char *) sp + 1, "APPEND ", 7) == 0;
}

static char *
tag_of(const GByteArray *cmd)
{
    gsize i = 0;
    while (i < cmd->len && ms__imap_atom_char(cmd->data[i], TRUE) && cmd->data[i] != '+')
        i++;
    return i ? g_strndup((const char *) cmd->data, i) : g_strdup("*");
}

static void
idle_line(MsImapServer *srv, const guint8 *p, gsize n)
{
    trace_text(srv, TRUE, p, n);
    srv->mode = IN_COMMAND;
    g_autofree char *tag = g_steal_pointer(&srv->tag);
    if (n == 4 && g_ascii_strncasecmp((const char *) p, "DONE", 4) == 0)
        ms__imap_say(srv, "%s OK Idle completed.", tag);
    else
        ms__imap_bad(srv, tag, "Expected DONE.");
}

static void
auth_line(MsImapServer *srv, const guint8 *p, gsize n)
{
    if (srv->trace_fn)
        srv->trace_fn(srv->trace_ud, TRUE, srv->cfg.trace_secrets ? "[SASL response]" : "****");
    srv->mode = IN_COMMAND;
    g_autofree char *tag = g_steal_pointer(&srv->tag);
    if (n == 1 && p[0] == '*') { /* RFC 9051 6.2.2 */
        ms__imap_bad(srv, tag, "Authentication aborted by client.");
        return;
    }
    g_autofree char *line = g_strndup((const char *) p, n);
    if (strlen(line) != n) {
        ms__imap_bad(srv, tag, "Invalid base64 data in continued response");
        return;
    }
    MsImapParser ps = { (const guint8 *) "\r\n", 2, 0, FALSE };
    MsImapCtx c = { srv, tag, &ps, FALSE };
    ms__imap_sasl_plain(&c, line);
}

static void
discard_before_tls(MsImapServer *srv)
{
    if (!srv->tls_discarded && srv->trace_fn)
        srv->trace_fn(srv->trace_ud, TRUE, "[clear-text input after STARTTLS discarded]");
    srv->tls_discarded = TRUE;
}

static void
process_input(MsImapServer *srv)
{
    while (srv->state != ST_CLOSED && !srv->wants_tls && srv->out->len < OUT_HIGH_WATER) {
        gsize avail = srv->in->len - srv->in_pos;
        if (avail == 0)
            break;
        const guint8 *p = srv->in->data + srv->in_pos;
        if (srv->literal_left > 0) {
            gsize take = (gsize) MIN((guint64) avail, srv->literal_left);
            g_byte_array_append(srv->cmd, p, (guint) take);
            srv->literal_left -= take;
            srv->in_pos += take;
            continue;
        }
        const guint8 *lf = memchr(p, '\n', avail);
        if (!lf) {
            /* The fragment may still end in the CR of a line whose text is
             * exactly the limit: the same bytes must get the same answer
             * however they were cut. */
            if (srv->discarding || avail > (gsize) MS_IMAP_SERVER_LINE_MAX + 1) {
                srv->discarding = TRUE;
                srv->in_pos = srv->in->len;
            }
            break;
        }
        gsize total = (gsize) (lf - p) + 1;
        srv->in_pos += total;
        gsize n = total - 1;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (srv->discarding || n > MS_IMAP_SERVER_LINE_MAX) {
            srv->discarding = FALSE;
            g_byte_array_set_size(srv->cmd, 0);
            if (srv->mode != IN_COMMAND) {
                srv->mode = IN_COMMAND;
                g_clear_pointer(&srv->tag, g_free);
            }
            if (srv->trace_fn)
                srv->trace_fn(srv->trace_ud, TRUE, "[overlong line]");
            ms__imap_bad(srv, NULL, "[TOOBIG] Line too long.");
            continue;
        }
        if (srv->mode == IN_IDLE) {
            idle_line(srv, p, n);
            continue;
        }
        if (srv->mode == IN_AUTH_LINE) {
            auth_line(srv, p, n);
            continue;
        }
        if (srv->cmd->len == 0 && n == 0)
            continue; /* an empty line between commands */
        g_byte_array_append(srv->cmd, p, (guint) n);
        g_byte_array_append(srv->cmd, (const guint8 *) "\r\n", 2);
        guint64 size;
        gboolean nonsync;
        if (literal_at_end(p, n, &size, &nonsync)) {
            guint64 limit = is_append(srv->cmd) ? srv->cfg.max_literal : MS_IMAP_SERVER_LINE_MAX;
            guint64 room = srv->cfg.max_literal + 64 * (guint64) MS_IMAP_SERVER_LINE_MAX;
            if (size > limit || srv->cmd->len + size > room) {
                g_autofree char *tag = tag_of(srv->cmd);
                trace_text(srv, TRUE, srv->cmd->data, srv->cmd->len - 2);
                g_byte_array_set_size(srv->cmd, 0);
                if (nonsync) {
                    /* RFC 7888 4: its octets are already coming. */
                    ms__imap_say(srv, "* BYE [TOOBIG] Literal too large.");
                    srv->state = ST_CLOSED;
                } else {
                    ms__imap_say(srv, "%s NO [TOOBIG] Literal too large.", tag); /* RFC 9051 7.1 */
                }
                continue;
            }
            srv->literal_left = size;
            if (!nonsync)
                ms__imap_say(srv, "+ Ready for literal data");
            continue; /* after the literal, the command goes on */
        }
        g_autoptr(GByteArray) cmd = srv->cmd;
        srv->cmd = g_byte_array_new();
        run_command(srv, cmd->data, cmd->len);
        if (srv->wants_tls) {
            if (srv->in_pos < srv->in->len)
                discard_before_tls(srv);
            srv->in_pos = srv->in->len;
        }
    }
    if (srv->in_pos > 0) {
        g_byte_array_remove_range(srv->in, 0, (guint) srv->in_pos);
        srv->in_pos = 0;
    }
    if (srv->state != ST_CLOSED && srv->in->len > IN_MAX) {
        g_byte_array_set_size(srv->in, 0);
        ms__imap_say(srv, "* BYE Too much unread input.");
        srv->state = ST_CLOSED;
    }
}

/* ---- public ------------------------------------------------------------ */

void
ms_imap_server_config_init(MsImapServerConfig *cfg)
{
    g_return_if_fail(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->hostname = "localhost";
    cfg->max_literal = 32u << 20;
    cfg->max_auth_failures = 3;
}

MsImapServer *
ms_imap_server_new(const MsImapServerConfig *cfg, const MsImapServerHooks *hooks,
                   gpointer user_data)
{
    g_return_val_if_fail(cfg != NULL && hooks != NULL && cfg->hostname != NULL, NULL);
    g_return_val_if_fail(hooks->authenticate && hooks->mailboxes && hooks->list && hooks->read &&
                             hooks->set_flags && hooks->expunge && hooks->append && hooks->create &&
                             hooks->delete_mailbox && hooks->rename && hooks->subscriptions &&
                             hooks->subscribe,
                         NULL);
    MsImapServer *srv = g_new0(MsImapServer, 1);
    srv->cfg = *cfg;
    srv->hostname = g_strdup(cfg->hostname);
    srv->cfg.hostname = srv->hostname;
    if (srv->cfg.max_auth_failures == 0)
        srv->cfg.max_auth_failures = 1;
    srv->hooks = *hooks;
    srv->user_data = user_data;
    srv->state = ST_NOAUTH;
    srv->tls = cfg->tls_active;
    srv->msgs = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    srv->keywords = g_ptr_array_new_with_free_func(g_free);
    srv->saved = g_array_new(FALSE, FALSE, sizeof(guint32));
    srv->in = g_byte_array_new();
    srv->cmd = g_byte_array_new();
    srv->out = g_byte_array_new();
    return srv;
}

void
ms_imap_server_free(MsImapServer *srv)
{
    if (!srv)
        return;
    g_free(srv->hostname);
    g_free(srv->user);
    g_free(srv->mailbox);
    g_free(srv->tag);
    g_array_unref(srv->msgs);
    g_ptr_array_unref(srv->keywords);
    g_array_unref(srv->saved);
    g_byte_array_unref(srv->in);
    g_byte_array_unref(srv->cmd);
    g_byte_array_unref(srv->out);
    g_free(srv);
}

void
ms_imap_server_start(MsImapServer *srv)
{
    g_return_if_fail(srv != NULL && !srv->started);
    srv->started = TRUE;
    GString *s = g_string_new("* OK [CAPABILITY ");
    ms__imap_capabilities(srv, s);
    g_string_append_printf(s, "] %s IMAP server ready.", srv->hostname);
    ms__imap_emit(srv, s);
    g_string_free(s, TRUE);
}

void
ms_imap_server_feed(MsImapServer *srv, const guint8 *data, gsize len)
{
    g_return_if_fail(srv != NULL && srv->started);
    g_return_if_fail(data != NULL || len == 0);
    if (srv->state == ST_CLOSED)
        return;
    if (srv->wants_tls) {
        if (len > 0)
            discard_before_tls(srv);
        return;
    }
    /* Bounded: reading stops only at the output high-water mark, and then
     * at most one read's worth waits; a client that never reads its
     * replies is the caller's to cut off. */
    g_byte_array_append(srv->in, data, (guint) len);
    process_input(srv);
}

GBytes *
ms_imap_server_take_output(MsImapServer *srv)
{
    g_return_val_if_fail(srv != NULL, NULL);
    if (srv->out->len == 0)
        return NULL;
    GBytes *b = g_byte_array_free_to_bytes(srv->out);
    srv->out = g_byte_array_new();
    process_input(srv);
    return b;
}

void
ms_imap_server_set_trace(MsImapServer *srv, MsImapTraceFunc fn, gpointer user_data)
{
    g_return_if_fail(srv != NULL);
    srv->trace_fn = fn;
    srv->trace_ud = user_data;
}

void
ms_imap_server_refresh(MsImapServer *srv)
{
    g_return_if_fail(srv != NULL);
    if (srv->state != ST_SELECTED)
        return;
    if (srv->mode == IN_IDLE)
        ms__imap_sync(srv);
    else
        srv->dirty = TRUE;
}

gboolean
ms_imap_server_is_idling(const MsImapServer *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->mode == IN_IDLE && srv->state != ST_CLOSED;
}

const char *
ms_imap_server_user(const MsImapServer *srv)
{
    g_return_val_if_fail(srv != NULL, NULL);
    return srv->state == ST_AUTH || srv->state == ST_SELECTED ? srv->user : NULL;
}

const char *
ms_imap_server_selected(const MsImapServer *srv)
{
    g_return_val_if_fail(srv != NULL, NULL);
    return srv->mailbox;
}

gboolean
ms_imap_server_wants_tls(const MsImapServer *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->wants_tls && srv->state != ST_CLOSED;
}

void
ms_imap_server_tls_started(MsImapServer *srv)
{
    g_return_if_fail(srv != NULL && srv->wants_tls);
    srv->wants_tls = FALSE;
    srv->tls = TRUE;
    srv->tls_discarded = FALSE;
    srv->discarding = FALSE;
    g_byte_array_set_size(srv->in, 0);
    g_byte_array_set_size(srv->cmd, 0);
    srv->in_pos = 0;
    if (srv->trace_fn)
        srv->trace_fn(srv->trace_ud, TRUE, "[TLS established]");
}

void
ms_imap_server_tls_failed(MsImapServer *srv)
{
    g_return_if_fail(srv != NULL);
    srv->wants_tls = FALSE;
    srv->state = ST_CLOSED;
    g_byte_array_set_size(srv->in, 0);
    srv->in_pos = 0;
    if (srv->trace_fn)
        srv->trace_fn(srv->trace_ud, TRUE, "[TLS handshake failed]");
}

gboolean
ms_imap_server_is_tls(const MsImapServer *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->tls;
}

gboolean
ms_imap_server_is_closed(const MsImapServer *srv)
{
    g_return_val_if_fail(srv != NULL, TRUE);
    return srv->state == ST_CLOSED;
}

/* The IMAP server core (see include/mailsim/imap_server.h): turns the bytes
 * an IMAP client sends into the bytes an IMAP server answers, for the
 * bridge's real listener and for tests; the mailboxes are the hooks'.
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
 * What is spoken: IMAP4rev1 (RFC 3501) with LITERAL+, SASL-IR, ENABLE,
 * IDLE, NAMESPACE, UNSELECT, MOVE, UIDPLUS, ESEARCH (RFC 4731), SEARCHRES
 * (RFC 5182), LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
 * SPECIAL-USE (RFC 6154, from the names Sent, Junk, Drafts, Trash), BINARY
 * (RFC 3516, FETCH only) and STARTTLS/LOGINDISABLED. FETCH knows numbered
 * sections (BODY[1.2.MIME], RFC 9051 6.4.5). IMAP4rev2 is not advertised:
 * see the README for what it still lacks. Flags are the five system flags;
 * keywords in STORE and APPEND are ignored (PERMANENTFLAGS lists no \*).
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
#include "imap-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_HIGH_WATER (1u << 20)
#define IN_MAX         (4u << 20) /* unread input beyond this closes the session */
#define MAX_DEPTH      16
#define MAX_ITEMS      4096
#define MAX_BAD        10
#define NAME_MAX_LEN   1024
#define SYSTEM_FLAGS   0x1fu

typedef enum { ST_NOAUTH, ST_AUTH, ST_SELECTED, ST_CLOSED } State;
typedef enum { IN_COMMAND, IN_AUTH_LINE, IN_IDLE } InMode;

struct _MsImapServer {
    MsImapServerConfig cfg;
    char *hostname;
    MsImapServerHooks hooks;
    gpointer user_data;
    MsImapTraceFunc trace_fn;
    gpointer trace_ud;

    State state;
    gboolean started;
    gboolean tls, wants_tls, tls_discarded;
    char *user;
    guint auth_failures, bad_in_row;

    /* The selected mailbox's snapshot. */
    char *mailbox;
    gboolean readonly;
    GArray *msgs; /* MsImapMessageInfo */
    MsImapMailboxInfo box;
    gboolean dirty; /* refresh asked outside IDLE */
    GArray *saved;  /* guint32 uids, ascending: the "$" of SEARCH SAVE (RFC 5182) */

    /* Input framing. */
    InMode mode;
    GByteArray *in;
    gsize in_pos;
    gboolean discarding; /* inside an overlong line */
    GByteArray *cmd;     /* the command being assembled */
    guint64 literal_left;
    char *tag; /* of the pending AUTHENTICATE or IDLE */

    GByteArray *out;
};

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
static void
emit(MsImapServer *srv, GString *s)
{
    g_string_append(s, "\r\n");
    trace_text(srv, FALSE, (const guint8 *) s->str, s->len - 2);
    g_byte_array_append(srv->out, (const guint8 *) s->str, (guint) s->len);
}

G_GNUC_PRINTF(2, 3)
static void
say(MsImapServer *srv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    GString *s = g_string_new(NULL);
    g_string_append_vprintf(s, fmt, ap);
    va_end(ap);
    emit(srv, s);
    g_string_free(s, TRUE);
}

/* A tagged BAD counts towards MAX_BAD. */
G_GNUC_PRINTF(3, 4)
static void
bad(MsImapServer *srv, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    say(srv, "%s BAD %s", tag ? tag : "*", text);
    if (++srv->bad_in_row >= MAX_BAD && srv->state != ST_CLOSED) {
        say(srv, "* BYE Too many invalid IMAP commands.");
        srv->state = ST_CLOSED;
    }
}

static void
capability_list(MsImapServer *srv, GString *s)
{
    g_string_append(s, "IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE NAMESPACE UNSELECT MOVE UIDPLUS "
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

typedef struct {
    const guint8 *p;
    gsize n, i;
} Parser;

static gboolean
at_end(const Parser *ps)
{
    return ps->i + 2 == ps->n && ps->p[ps->i] == '\r';
}

static gboolean
peek(const Parser *ps, char c)
{
    return ps->i < ps->n && ps->p[ps->i] == (guint8) c;
}

static gboolean
eat(Parser *ps, char c)
{
    if (!peek(ps, c))
        return FALSE;
    ps->i++;
    return TRUE;
}

/* ATOM-CHAR (RFC 9051 9): CHAR except ( ) { SP CTL % * " \ ]; with
 * `astring`, "]" too. */
static gboolean
atom_char(guint8 c, gboolean astring)
{
    if (c <= 0x20 || c >= 0x7f)
        return FALSE;
    if (strchr("(){%*\"\\", c))
        return FALSE;
    return astring || c != ']';
}

/* An atom; `extra` lists further characters allowed (e.g. "\\" for flags,
 * "*" for sets, "[]<>." for fetch items). Newly allocated or NULL. */
static char *
p_atom(Parser *ps, const char *extra)
{
    gsize st = ps->i;
    while (ps->i < ps->n && (atom_char(ps->p[ps->i], FALSE) ||
                             (extra && ps->p[ps->i] && strchr(extra, ps->p[ps->i]))))
        ps->i++;
    if (ps->i == st)
        return NULL;
    return g_strndup((const char *) ps->p + st, ps->i - st);
}

/* A quoted string or a literal (RFC 9051 4.3); the literal's octets follow
 * its CRLF in the assembled command. Newly allocated (may contain NUL
 * octets only in literals: *len tells). NULL on a syntax error. */
static char *
p_string(Parser *ps, gsize *len_out)
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
        if (!eat(ps, '"')) {
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

/* astring = 1*ASTRING-CHAR / string. A string holding NUL is refused. */
static char *
p_astring(Parser *ps)
{
    if (peek(ps, '"') || peek(ps, '{') || peek(ps, '~')) {
        gsize len = 0;
        char *s = p_string(ps, &len);
        if (s && strlen(s) != len) {
            g_free(s);
            return NULL;
        }
        return s;
    }
    gsize st = ps->i;
    while (ps->i < ps->n && atom_char(ps->p[ps->i], TRUE))
        ps->i++;
    if (ps->i == st)
        return NULL;
    return g_strndup((const char *) ps->p + st, ps->i - st);
}

/* list-mailbox (RFC 9051 9): astring with % and * allowed unquoted. */
static char *
p_list_mailbox(Parser *ps)
{
    if (peek(ps, '"') || peek(ps, '{'))
        return p_astring(ps);
    gsize st = ps->i;
    while (ps->i < ps->n &&
           (atom_char(ps->p[ps->i], TRUE) || ps->p[ps->i] == '%' || ps->p[ps->i] == '*'))
        ps->i++;
    if (ps->i == st)
        return NULL;
    return g_strndup((const char *) ps->p + st, ps->i - st);
}

/* ---- mailbox names ----------------------------------------------------- */

/* Modified UTF-7 (RFC 3501 5.1.3): printable US-ASCII, "&-" for "&", and
 * "&" base64 (with "," for "/") "-" for UTF-16 of anything else; the
 * encoded units must be well-formed UTF-16 and not printable ASCII, and
 * the unused bits at the end zero. */
static gboolean
mutf7_valid(const char *s)
{
    for (const char *q = s; *q; q++) {
        guchar c = (guchar) *q;
        if (c < 0x20 || c > 0x7e)
            return FALSE;
        if (c != '&')
            continue;
        q++;
        if (*q == '-')
            continue;
        guint32 bits = 0;
        int nbits = 0;
        gboolean high = FALSE, any = FALSE;
        for (; *q && *q != '-'; q++) {
            const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
            const char *pos = strchr(alpha, *q);
            if (!pos)
                return FALSE;
            bits = (bits << 6) | (guint32) (pos - alpha);
            nbits += 6;
            if (nbits >= 16) {
                nbits -= 16;
                guint32 u = (bits >> nbits) & 0xffff;
                bits &= (1u << nbits) - 1;
                any = TRUE;
                if (u >= 0xd800 && u <= 0xdbff) {
                    if (high)
                        return FALSE;
                    high = TRUE;
                } else if (u >= 0xdc00 && u <= 0xdfff) {
                    if (!high)
                        return FALSE;
                    high = FALSE;
                } else if (high || (u >= 0x20 && u <= 0x7e)) {
                    return FALSE;
                }
            }
        }
        if (*q != '-' || !any || high || nbits >= 6 || bits != 0)
            return FALSE;
    }
    return TRUE;
}

/* Checks a mailbox name and spells INBOX canonically (RFC 9051 5.1:
 * "INBOX" is case-insensitive). Newly allocated, or NULL with the reason
 * answered to the client. */
static char *
mailbox_name(MsImapServer *srv, const char *tag, const char *raw)
{
    gsize n = strlen(raw);
    if (n == 0 || n > NAME_MAX_LEN || !mutf7_valid(raw)) {
        say(srv, "%s NO [CANNOT] Invalid mailbox name.", tag);
        return NULL;
    }
    if (g_ascii_strcasecmp(raw, "INBOX") == 0)
        return g_strdup("INBOX");
    if (raw[0] == '/' || raw[n - 1] == '/' || strstr(raw, "//") || strpbrk(raw, "*%")) {
        say(srv, "%s NO [CANNOT] Invalid mailbox name.", tag);
        return NULL;
    }
    return g_strdup(raw);
}

/* ---- sequence sets ----------------------------------------------------- */

typedef struct {
    guint32 lo, hi;
} Range;

static int
range_cmp(gconstpointer a, gconstpointer b)
{
    const Range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static gboolean
parse_num(const char *s, gsize n, guint32 *out)
{
    if (n == 0 || n > 10 || s[0] == '0')
        return FALSE;
    guint64 v = 0;
    for (gsize i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        v = v * 10 + (guint64) (s[i] - '0');
    }
    if (v > G_MAXUINT32)
        return FALSE;
    *out = (guint32) v;
    return TRUE;
}

/* Parses a sequence-set (RFC 9051 9) with "*" standing for `star`, into
 * sorted, merged ranges. FALSE on a syntax error. */
static gboolean
parse_set(const char *s, guint32 star, GArray *ranges)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    for (char **w = parts; *w; w++) {
        if (ranges->len >= MAX_ITEMS)
            return FALSE;
        char *colon = strchr(*w, ':');
        guint32 a, b;
        gsize alen = colon ? (gsize) (colon - *w) : strlen(*w);
        if (alen == 1 && (*w)[0] == '*')
            a = star;
        else if (!parse_num(*w, alen, &a))
            return FALSE;
        b = a;
        if (colon) {
            if (strcmp(colon + 1, "*") == 0)
                b = star;
            else if (!parse_num(colon + 1, strlen(colon + 1), &b))
                return FALSE;
        }
        Range r = { MIN(a, b), MAX(a, b) };
        g_array_append_val(ranges, r);
    }
    g_array_sort(ranges, range_cmp);
    guint k = 0;
    for (guint i = 0; i < ranges->len; i++) {
        Range r = g_array_index(ranges, Range, i);
        if (k > 0 && r.lo <= g_array_index(ranges, Range, k - 1).hi + 1ull) {
            Range *prev = &g_array_index(ranges, Range, k - 1);
            prev->hi = MAX(prev->hi, r.hi);
        } else {
            g_array_index(ranges, Range, k++) = r;
        }
    }
    g_array_set_size(ranges, k);
    return TRUE;
}

static guint32
max_uid(const MsImapServer *srv)
{
    if (srv->msgs->len == 0)
        return 0;
    return g_array_index(srv->msgs, MsImapMessageInfo, srv->msgs->len - 1).uid;
}

/* Resolves a set against the snapshot into ascending 0-based indices.
 * Sequence numbers past the end are BAD (RFC 3501 9), "*" in an empty
 * mailbox too; UIDs that are not there are skipped (RFC 9051 6.4.9).
 * Returns NULL after answering BAD. */
static GArray *
resolve_set(MsImapServer *srv, const char *tag, const char *s, gboolean uid)
{
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(Range));
    guint32 n = srv->msgs->len;
    if (strcmp(s, "$") == 0) {
        /* RFC 5182 2.1: the saved result, by UID, so that messages expunged
         * since the SEARCH simply drop out; as a message set it names the
         * same messages by number. */
        GArray *idx = g_array_new(FALSE, FALSE, sizeof(guint));
        guint j = 0;
        for (guint i = 0; i < n && j < srv->saved->len; i++) {
            guint32 u = g_array_index(srv->msgs, MsImapMessageInfo, i).uid;
            while (j < srv->saved->len && g_array_index(srv->saved, guint32, j) < u)
                j++;
            if (j < srv->saved->len && g_array_index(srv->saved, guint32, j) == u)
                g_array_append_val(idx, i);
        }
        return idx;
    }
    gboolean star = strchr(s, '*') != NULL;
    if (!parse_set(s, uid ? max_uid(srv) : n, ranges)) {
        bad(srv, tag, "Invalid sequence set.");
        return NULL;
    }
    GArray *idx = g_array_new(FALSE, FALSE, sizeof(guint));
    if (!uid) {
        if ((star && n == 0) ||
            (ranges->len && g_array_index(ranges, Range, ranges->len - 1).hi > n)) {
            g_array_unref(idx);
            bad(srv, tag,
                "Error in IMAP command: Invalid messageset (message sequence number "
                "past the end).");
            return NULL;
        }
        for (guint r = 0; r < ranges->len; r++)
            for (guint64 k = g_array_index(ranges, Range, r).lo;
                 k <= g_array_index(ranges, Range, r).hi; k++) {
                guint i = (guint) k - 1;
                g_array_append_val(idx, i);
            }
        return idx;
    }
    guint r = 0;
    for (guint i = 0; i < n && r < ranges->len; i++) {
        guint32 u = g_array_index(srv->msgs, MsImapMessageInfo, i).uid;
        while (r < ranges->len && g_array_index(ranges, Range, r).hi < u)
            r++;
        if (r < ranges->len && g_array_index(ranges, Range, r).lo <= u)
            g_array_append_val(idx, i);
    }
    return idx;
}

/* Appends a UID set for `uids` (ascending) in compact form. */
static void
append_uid_set(GString *s, const guint32 *uids, guint n)
{
    for (guint i = 0; i < n;) {
        guint j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        if (i)
            g_string_append_c(s, ',');
        if (j > i)
            g_string_append_printf(s, "%u:%u", uids[i], uids[j]);
        else
            g_string_append_printf(s, "%u", uids[i]);
        i = j + 1;
    }
}

/* ---- flags and dates --------------------------------------------------- */

static const char *const flag_names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                          "\\Draft" };

static void
append_flags(GString *s, guint flags)
{
    g_string_append_c(s, '(');
    gboolean first = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(flag_names); i++)
        if (flags & (1u << i)) {
            if (!first)
                g_string_append_c(s, ' ');
            g_string_append(s, flag_names[i]);
            first = FALSE;
        }
    g_string_append_c(s, ')');
}

/* One flag: a system flag sets its bit; a keyword is ignored (*ok TRUE,
 * bit 0); \Recent and unknown system flags are errors. */
static guint
flag_bit(const char *f, gboolean *ok)
{
    *ok = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(flag_names); i++)
        if (g_ascii_strcasecmp(f, flag_names[i]) == 0)
            return 1u << i;
    if (f[0] == '\\')
        *ok = FALSE;
    return 0;
}

/* flag-list "(" [flag *(SP flag)] ")", or with `bare` also flags without
 * parentheses (STORE allows that). -1 on a syntax error. */
static gint64
p_flags(Parser *ps, gboolean bare)
{
    gboolean paren = eat(ps, '(');
    if (!paren && !bare)
        return -1;
    guint flags = 0, count = 0;
    while (!peek(ps, ')') && !at_end(ps)) {
        if (count && !eat(ps, ' '))
            return -1;
        g_autofree char *f = p_atom(ps, "\\");
        gboolean ok;
        if (!f || ++count > MAX_ITEMS)
            return -1;
        flags |= flag_bit(f, &ok);
        if (!ok)
            return -1;
    }
    if (paren && !eat(ps, ')'))
        return -1;
    return flags;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void
append_date(GString *s, gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    if (!dt)
        dt = g_date_time_new_from_unix_utc(0);
    g_string_append_printf(s, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"",
                           g_date_time_get_day_of_month(dt), months[g_date_time_get_month(dt) - 1],
                           g_date_time_get_year(dt), g_date_time_get_hour(dt),
                           g_date_time_get_minute(dt), g_date_time_get_second(dt));
}

/* date-time (RFC 9051 9): "dd-Mon-yyyy hh:mm:ss +zzzz", day may be " d". */
static gboolean
parse_date_time(const char *s, gint64 *out)
{
    int d, y, h, mi, se, z;
    char mon[4], sign;
    if (strlen(s) != 26 ||
        sscanf(s, "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &d, mon, &y, &h, &mi, &se, &sign, &z) != 8)
        return FALSE;
    mon[3] = '\0';
    int m = 0;
    while (m < 12 && g_ascii_strcasecmp(mon, months[m]) != 0)
        m++;
    if (m == 12 || (sign != '+' && sign != '-') || z % 100 >= 60)
        return FALSE;
    g_autoptr(GDateTime) dt = g_date_time_new_utc(y, m + 1, d, h, mi, se);
    if (!dt)
        return FALSE;
    gint64 off = (gint64) (z / 100) * 3600 + (gint64) (z % 100) * 60;
    *out = g_date_time_to_unix(dt) - (sign == '+' ? off : -off);
    return TRUE;
}

/* ---- mailbox snapshot -------------------------------------------------- */

static MsImapMessageInfo *
msg_at(MsImapServer *srv, guint i)
{
    return &g_array_index(srv->msgs, MsImapMessageInfo, i);
}

/* Lists `mailbox` through the hook and checks what it says: uids > 0 and
 * ascending, uidnext past them, flags only system ones. */
static MsImapHookResult
list_box(MsImapServer *srv, const char *mailbox, GArray *msgs, MsImapMailboxInfo *info)
{
    memset(info, 0, sizeof *info);
    MsImapHookResult r = srv->hooks.list(srv->user_data, srv->user, mailbox, msgs, info);
    if (r != MS_IMAP_HOOK_OK)
        return r;
    guint32 prev = 0;
    for (guint i = 0; i < msgs->len; i++) {
        MsImapMessageInfo *m = &g_array_index(msgs, MsImapMessageInfo, i);
        if (m->uid <= prev)
            return MS_IMAP_HOOK_FAILED;
        prev = m->uid;
        m->flags &= SYSTEM_FLAGS;
    }
    if (info->uidvalidity == 0 || info->uidnext <= prev)
        return MS_IMAP_HOOK_FAILED;
    return MS_IMAP_HOOK_OK;
}

/* Brings the snapshot up to date and tells the client: EXPUNGE for the
 * messages gone (highest first, so each number is right when sent), FETCH
 * FLAGS for changed flags, EXISTS when the count changed (RFC 9051 7.4.1,
 * 7.3.1). */
static void
sync_box(MsImapServer *srv)
{
    if (srv->state != ST_SELECTED)
        return;
    srv->dirty = FALSE;
    g_autoptr(GArray) now = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    MsImapMailboxInfo info;
    if (list_box(srv, srv->mailbox, now, &info) != MS_IMAP_HOOK_OK) {
        say(srv, "* BYE [SERVERBUG] The selected mailbox is gone.");
        srv->state = ST_CLOSED;
        return;
    }
    if (info.uidvalidity != srv->box.uidvalidity) {
        say(srv, "* BYE [UIDVALIDITY] The mailbox's UIDVALIDITY changed.");
        srv->state = ST_CLOSED;
        return;
    }
    /* Walk both uid lists: an old message missing from the new list was
     * expunged; one still there takes the flags the hook now has. */
    guint old_n = srv->msgs->len;
    g_autoptr(GArray) alive = g_array_sized_new(FALSE, TRUE, sizeof(gboolean), old_n);
    g_array_set_size(alive, old_n);
    g_autoptr(GArray) changed = g_array_sized_new(FALSE, TRUE, sizeof(gboolean), old_n);
    g_array_set_size(changed, old_n);
    guint j = 0;
    for (guint i = 0; i < old_n; i++) {
        MsImapMessageInfo *m = msg_at(srv, i);
        while (j < now->len && g_array_index(now, MsImapMessageInfo, j).uid < m->uid)
            j++;
        if (j < now->len && g_array_index(now, MsImapMessageInfo, j).uid == m->uid) {
            g_array_index(alive, gboolean, i) = TRUE;
            guint f = g_array_index(now, MsImapMessageInfo, j).flags;
            g_array_index(changed, gboolean, i) = f != m->flags;
            m->flags = f;
        }
    }
    guint32 top = max_uid(srv);
    for (guint i = old_n; i-- > 0;)
        if (!g_array_index(alive, gboolean, i)) {
            say(srv, "* %u EXPUNGE", i + 1);
            g_array_remove_index(srv->msgs, i);
            g_array_remove_index(changed, i);
        }
    for (guint i = 0; i < srv->msgs->len; i++)
        if (g_array_index(changed, gboolean, i)) {
            GString *s = g_string_new(NULL);
            g_string_append_printf(s, "* %u FETCH (UID %u FLAGS ", i + 1, msg_at(srv, i)->uid);
            append_flags(s, msg_at(srv, i)->flags);
            g_string_append_c(s, ')');
            emit(srv, s);
            g_string_free(s, TRUE);
        }
    for (guint k = 0; k < now->len; k++)
        if (g_array_index(now, MsImapMessageInfo, k).uid > top)
            g_array_append_val(srv->msgs, g_array_index(now, MsImapMessageInfo, k));
    if (srv->msgs->len != old_n)
        say(srv, "* %u EXISTS", srv->msgs->len);
    srv->box.uidnext = info.uidnext;
}

static void
deselect(MsImapServer *srv)
{
    g_clear_pointer(&srv->mailbox, g_free);
    g_array_set_size(srv->msgs, 0);
    g_array_set_size(srv->saved, 0); /* RFC 5182 2.1: "$" is empty in a new mailbox */
    if (srv->state == ST_SELECTED)
        srv->state = ST_AUTH;
}

static const char *
hook_code(MsImapHookResult r)
{
    switch (r) {
    case MS_IMAP_HOOK_NO_MAILBOX:
        return "[NONEXISTENT] Mailbox doesn't exist.";
    case MS_IMAP_HOOK_EXISTS:
        return "[ALREADYEXISTS] Mailbox already exists.";
    case MS_IMAP_HOOK_OVER_QUOTA:
        return "[OVERQUOTA] Quota exceeded.";
    default:
        return "[SERVERBUG] Internal error.";
    }
}

/* ---- commands ---------------------------------------------------------- */

typedef struct {
    MsImapServer *srv;
    const char *tag;
    Parser *ps;
    gboolean uid; /* the UID prefix */
} Ctx;

typedef void (*CmdFunc)(Ctx *c);

/* Answers the tagged BAD for a syntax error. */
static void
syntax(Ctx *c, const char *what)
{
    bad(c->srv, c->tag, "Error in IMAP command %s: syntax error.", what);
}

static gboolean
end_ok(Ctx *c, const char *what)
{
    if (at_end(c->ps))
        return TRUE;
    syntax(c, what);
    return FALSE;
}

static void
cmd_capability(Ctx *c)
{
    if (!end_ok(c, "CAPABILITY"))
        return;
    GString *s = g_string_new("* CAPABILITY ");
    capability_list(c->srv, s);
    emit(c->srv, s);
    g_string_free(s, TRUE);
    say(c->srv, "%s OK Capability completed.", c->tag);
}

static void
cmd_noop(Ctx *c)
{
    if (!end_ok(c, "NOOP"))
        return;
    sync_box(c->srv);
    say(c->srv, "%s OK NOOP completed.", c->tag);
}

static void
cmd_logout(Ctx *c)
{
    if (!end_ok(c, "LOGOUT"))
        return;
    say(c->srv, "* BYE Logging out");
    say(c->srv, "%s OK Logout completed.", c->tag);
    deselect(c->srv);
    c->srv->state = ST_CLOSED;
}

static void
cmd_starttls(Ctx *c)
{
    MsImapServer *srv = c->srv;
    if (!end_ok(c, "STARTTLS"))
        return;
    if (srv->tls) {
        bad(srv, c->tag, "TLS is already active.");
        return;
    }
    if (!srv->cfg.offer_starttls) {
        bad(srv, c->tag, "TLS support isn't enabled.");
        return;
    }
    say(srv, "%s OK Begin TLS negotiation now.", c->tag);
    srv->wants_tls = TRUE;
}

static gboolean
login_refused(Ctx *c)
{
    MsImapServer *srv = c->srv;
    if (srv->tls || !srv->cfg.auth_requires_tls)
        return FALSE;
    /* RFC 9051 6.2.3 and RFC 5530 PRIVACYREQUIRED. */
    say(srv,
        "%s NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) "
        "connections.",
        c->tag);
    return TRUE;
}

static void
login_as(Ctx *c, const char *user, const char *pass)
{
    MsImapServer *srv = c->srv;
    if (!srv->hooks.authenticate(srv->user_data, user, pass)) {
        srv->auth_failures++;
        say(srv, "%s NO [AUTHENTICATIONFAILED] Authentication failed.", c->tag);
        if (srv->auth_failures >= srv->cfg.max_auth_failures) {
            say(srv, "* BYE Too many failed logins.");
            srv->state = ST_CLOSED;
        }
        return;
    }
    g_free(srv->user);
    srv->user = g_strdup(user);
    srv->state = ST_AUTH;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s OK [CAPABILITY ", c->tag);
    capability_list(srv, s);
    g_string_append(s, "] Logged in");
    emit(srv, s);
    g_string_free(s, TRUE);
}

static void
cmd_login(Ctx *c)
{
    g_autofree char *user = NULL, *pass = NULL;
    if (!eat(c->ps, ' ') || !(user = p_astring(c->ps)) || !eat(c->ps, ' ') ||
        !(pass = p_astring(c->ps))) {
        syntax(c, "LOGIN");
        return;
    }
    if (!end_ok(c, "LOGIN") || login_refused(c))
        return;
    login_as(c, user, pass);
}

/* SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, base64 (RFC 9051
 * 6.2.2). An authzid other than the authcid is refused. */
static void
sasl_plain(Ctx *c, const char *b64)
{
    MsImapServer *srv = c->srv;
    gsize n = strlen(b64);
    gboolean ok = n > 0 && n % 4 == 0;
    for (gsize i = 0; ok && i < n; i++)
        ok = g_ascii_isalnum(b64[i]) || b64[i] == '+' || b64[i] == '/' ||
             (b64[i] == '=' && i >= n - 2);
    if (!ok) {
        bad(srv, c->tag, "Invalid base64 data in continued response");
        return;
    }
    gsize len = 0;
    g_autofree guchar *raw = g_base64_decode(b64, &len);
    const guchar *z1 = memchr(raw, '\0', len);
    const guchar *z2 = z1 ? memchr(z1 + 1, '\0', len - (gsize) (z1 + 1 - raw)) : NULL;
    if (!z2 || memchr(z2 + 1, '\0', len - (gsize) (z2 + 1 - raw))) {
        say(srv, "%s NO [AUTHENTICATIONFAILED] Invalid PLAIN response.", c->tag);
        return;
    }
    g_autofree char *authz = g_strndup((const char *) raw, (gsize) (z1 - raw));
    g_autofree char *user = g_strndup((const char *) z1 + 1, (gsize) (z2 - z1 - 1));
    g_autofree char *pass = g_strndup((const char *) z2 + 1, len - (gsize) (z2 + 1 - raw));
    if (*authz && strcmp(authz, user) != 0) {
        say(srv, "%s NO [AUTHORIZATIONFAILED] Authorization identity not permitted.", c->tag);
        return;
    }
    login_as(c, user, pass);
}

static void
cmd_authenticate(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *mech = NULL, *ir = NULL;
    if (!eat(c->ps, ' ') || !(mech = p_atom(c->ps, NULL))) {
        syntax(c, "AUTHENTICATE");
        return;
    }
    if (eat(c->ps, ' ') && !(ir = p_atom(c->ps, "="))) {
        syntax(c, "AUTHENTICATE");
        return;
    }
    if (!end_ok(c, "AUTHENTICATE") || login_refused(c))
        return;
    if (g_ascii_strcasecmp(mech, "PLAIN") != 0) {
        say(srv, "%s NO [CANNOT] Unsupported authentication mechanism.", c->tag);
        return;
    }
    if (ir) { /* SASL-IR (RFC 4959 3): "=" is an empty response */
        sasl_plain(c, strcmp(ir, "=") == 0 ? "" : ir);
        return;
    }
    say(srv, "+ ");
    g_free(srv->tag);
    srv->tag = g_strdup(c->tag);
    srv->mode = IN_AUTH_LINE;
}

static void
cmd_enable(Ctx *c)
{
    if (!eat(c->ps, ' ')) {
        syntax(c, "ENABLE");
        return;
    }
    do {
        g_autofree char *cap = p_atom(c->ps, NULL);
        if (!cap) {
            syntax(c, "ENABLE");
            return;
        }
    } while (eat(c->ps, ' '));
    if (!end_ok(c, "ENABLE"))
        return;
    /* RFC 5161 3.1: nothing we know of needs enabling. */
    say(c->srv, "* ENABLED");
    say(c->srv, "%s OK Enabled.", c->tag);
}

static void
cmd_namespace(Ctx *c)
{
    if (!end_ok(c, "NAMESPACE"))
        return;
    say(c->srv, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
    say(c->srv, "%s OK Namespace completed.", c->tag);
}

/* Reads " mailbox" and checks it. NULL after answering. */
static char *
mailbox_arg(Ctx *c, const char *what)
{
    g_autofree char *raw = NULL;
    if (!eat(c->ps, ' ') || !(raw = p_astring(c->ps))) {
        syntax(c, what);
        return NULL;
    }
    return mailbox_name(c->srv, c->tag, raw);
}

static void
select_box(Ctx *c, gboolean readonly)
{
    MsImapServer *srv = c->srv;
    const char *what = readonly ? "EXAMINE" : "SELECT";
    g_autofree char *name = mailbox_arg(c, what);
    if (!name)
        return;
    if (eat(c->ps, ' ')) { /* select-params (RFC 9051 9): none known */
        syntax(c, what);
        return;
    }
    if (!end_ok(c, what))
        return;
    if (srv->state == ST_SELECTED) {
        deselect(srv);
        say(srv, "* OK [CLOSED] Previous mailbox closed."); /* RFC 9051 7.1 */
    }
    MsImapHookResult r = list_box(srv, name, srv->msgs, &srv->box);
    if (r != MS_IMAP_HOOK_OK) {
        g_array_set_size(srv->msgs, 0);
        say(srv, "%s NO %s", c->tag, hook_code(r));
        return;
    }
    srv->mailbox = g_steal_pointer(&name);
    srv->readonly = readonly;
    srv->state = ST_SELECTED;
    srv->dirty = FALSE;
    say(srv, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
    say(srv, "* OK [PERMANENTFLAGS (%s)] Flags permitted.",
        readonly ? "" : "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    say(srv, "* %u EXISTS", srv->msgs->len);
    say(srv, "* 0 RECENT");
    for (guint i = 0; i < srv->msgs->len; i++)
        if (!(msg_at(srv, i)->flags & MS_IMAP_FLAG_SEEN)) {
            say(srv, "* OK [UNSEEN %u] First unseen.", i + 1);
            break;
        }
    say(srv, "* OK [UIDVALIDITY %u] UIDs valid", srv->box.uidvalidity);
    say(srv, "* OK [UIDNEXT %u] Predicted next UID", srv->box.uidnext);
    say(srv, "%s OK [%s] %s completed.", c->tag, readonly ? "READ-ONLY" : "READ-WRITE", what);
}

static void
cmd_select(Ctx *c)
{
    select_box(c, FALSE);
}

static void
cmd_examine(Ctx *c)
{
    select_box(c, TRUE);
}

static int
strptrcmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* LIST wildcards (RFC 9051 6.3.9): "*" matches anything, "%" anything but
 * the delimiter. Iterative with backtracking over the last star, bounded
 * by O(|pattern| * |name|). */
static gboolean
match(const char *pat, const char *name, int depth)
{
    if (depth > 32)
        return FALSE;
    for (; *pat; pat++) {
        if (*pat == '*' || *pat == '%') {
            gboolean pct = *pat == '%';
            for (const char *q = name;; q++) {
                if (match(pat + 1, q, depth + 1))
                    return TRUE;
                if (!*q || (pct && *q == '/'))
                    return FALSE;
            }
        }
        if (*name != *pat)
            return FALSE;
        name++;
    }
    return *name == '\0';
}

/* Parses a STATUS item list "(" item *(SP item) ")" (RFC 9051 6.3.11)
 * into `items` (upper case). FALSE on a syntax error or an unknown item,
 * with *unknown set to it in the latter case. */
static gboolean
p_status_items(Ctx *c, GPtrArray *items, char **unknown)
{
    static const char *const known[] = { "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
                                         "RECENT",   "SIZE",    "DELETED" };
    if (!eat(c->ps, '('))
        return FALSE;
    while (!eat(c->ps, ')')) {
        if (items->len && !eat(c->ps, ' '))
            return FALSE;
        char *it = p_atom(c->ps, NULL);
        if (!it || items->len >= 16) {
            g_free(it);
            return FALSE;
        }
        gboolean ok = FALSE;
        for (guint k = 0; k < G_N_ELEMENTS(known); k++)
            ok = ok || !g_ascii_strcasecmp(it, known[k]);
        if (!ok) {
            *unknown = it;
            return FALSE;
        }
        g_ptr_array_add(items, g_ascii_strup(it, -1));
        g_free(it);
    }
    return TRUE;
}

/* Appends the untagged STATUS response for `name` to `s` (without CRLF).
 * Returns the hook's answer; `s` is untouched unless OK. */
static MsImapHookResult
status_response(MsImapServer *srv, const char *name, GPtrArray *items, GString *s)
{
    g_autoptr(GArray) msgs = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    MsImapMailboxInfo info;
    MsImapHookResult r = list_box(srv, name, msgs, &info);
    if (r != MS_IMAP_HOOK_OK)
        return r;
    guint unseen = 0, deleted = 0;
    guint64 size = 0;
    for (guint i = 0; i < msgs->len; i++) {
        const MsImapMessageInfo *m = &g_array_index(msgs, MsImapMessageInfo, i);
        unseen += !(m->flags & MS_IMAP_FLAG_SEEN);
        deleted += !!(m->flags & MS_IMAP_FLAG_DELETED);
        size += m->size;
    }
    g_string_append(s, "* STATUS ");
    ms__imap_string(s, name);
    g_string_append(s, " (");
    for (guint i = 0; i < items->len; i++) {
        const char *it = g_ptr_array_index(items, i);
        guint64 v = 0; /* RECENT: no session sees a message as new */
        if (!strcmp(it, "MESSAGES"))
            v = msgs->len;
        else if (!strcmp(it, "UIDNEXT"))
            v = info.uidnext;
        else if (!strcmp(it, "UIDVALIDITY"))
            v = info.uidvalidity;
        else if (!strcmp(it, "UNSEEN"))
            v = unseen;
        else if (!strcmp(it, "SIZE"))
            v = size;
        else if (!strcmp(it, "DELETED"))
            v = deleted;
        g_string_append_printf(s, "%s%s %" G_GUINT64_FORMAT, i ? " " : "", it, v);
    }
    g_string_append_c(s, ')');
    return MS_IMAP_HOOK_OK;
}

/* Options of extended LIST (RFC 5258 3, RFC 9051 6.3.9): selection
 * options (L_SEL_*) and return options (L_RET_*). */
enum {
    L_SEL_SUBSCRIBED = 1,
    L_SEL_REMOTE = 2,
    L_SEL_RECURSIVE = 4,
    L_SEL_SPECIAL = 8,
    L_RET_SUBSCRIBED = 16,
    L_RET_CHILDREN = 32,
    L_RET_STATUS = 64,
    L_RET_SPECIAL = 128,
};

/* The special-use attribute (RFC 6154 2) of a mailbox, from its name. */
static const char *
special_use(const char *name)
{
    static const char *const uses[][2] = {
        { "Sent", "\\Sent" },
        { "Junk", "\\Junk" },
        { "Drafts", "\\Drafts" },
        { "Trash", "\\Trash" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(uses); i++)
        if (!strcmp(name, uses[i][0]))
            return uses[i][1];
    return NULL;
}

/* One option list "(" [atom *(SP atom)] ")"; for return options,
 * "STATUS (items)" fills `status`. FALSE on a syntax error or an unknown
 * option (RFC 5258 3: BAD), *opts holding the options seen. */
static gboolean
p_list_opts(Ctx *c, gboolean ret, guint *opts, GPtrArray *status, char **unknown)
{
    static const struct {
        const char *name;
        guint bit;
        gboolean ret;
    } known[] = {
        { "SUBSCRIBED", L_SEL_SUBSCRIBED, FALSE },
        { "REMOTE", L_SEL_REMOTE, FALSE },
        { "RECURSIVEMATCH", L_SEL_RECURSIVE, FALSE },
        { "SPECIAL-USE", L_SEL_SPECIAL, FALSE },
        { "SUBSCRIBED", L_RET_SUBSCRIBED, TRUE },
        { "CHILDREN", L_RET_CHILDREN, TRUE },
        { "STATUS", L_RET_STATUS, TRUE },
        { "SPECIAL-USE", L_RET_SPECIAL, TRUE },
    };
    if (!eat(c->ps, '('))
        return FALSE;
    if (eat(c->ps, ')'))
        return TRUE;
    do {
        g_autofree char *w = p_atom(c->ps, NULL);
        guint bit = 0;
        for (guint i = 0; w && i < G_N_ELEMENTS(known); i++)
            if (known[i].ret == ret && !g_ascii_strcasecmp(w, known[i].name))
                bit = known[i].bit;
        if (!bit) {
            if (w)
                *unknown = g_steal_pointer(&w);
            return FALSE;
        }
        if (bit == L_RET_STATUS && (!eat(c->ps, ' ') || !p_status_items(c, status, unknown)))
            return FALSE;
        *opts |= bit;
    } while (eat(c->ps, ' '));
    return eat(c->ps, ')');
}

/* The answer to a parsed LIST or LSUB: one line per matching mailbox,
 * followed by its STATUS when asked, then the tagged OK. */
static void
list_answer(MsImapServer *srv, const char *tag, gboolean lsub, const char *ref, GPtrArray *pats,
            GPtrArray *status, guint opts, gboolean extended)
{
    const char *what = lsub ? "LSUB" : "LIST";
    if (pats->len == 1 && !*(char *) g_ptr_array_index(pats, 0) && !extended) {
        /* RFC 9051 6.3.9: the delimiter and root */
        if (!lsub)
            say(srv, "* LIST (\\Noselect) \"/\" \"\"");
        say(srv, "%s OK %s completed.", tag, what);
        return;
    }
    g_autoptr(GPtrArray) full = g_ptr_array_new_with_free_func(g_free);
    for (guint k = 0; k < pats->len; k++)
        if (*(char *) g_ptr_array_index(pats, k))
            g_ptr_array_add(full, g_strconcat(ref, g_ptr_array_index(pats, k), NULL));
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    srv->hooks.mailboxes(srv->user_data, srv->user, names);
    g_ptr_array_sort(names, strptrcmp);
    g_ptr_array_insert(names, 0, g_strdup("INBOX"));
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        gboolean hit = FALSE;
        for (guint k = 0; k < full->len && !hit; k++) {
            const char *pat = g_ptr_array_index(full, k);
            hit = match(pat, name, 0);
            /* "INBOX" matches case-insensitively (RFC 9051 5.1). */
            if (!hit && i == 0)
                hit = g_ascii_strcasecmp(pat, "INBOX") == 0;
        }
        const char *use = special_use(name);
        if (!hit || ((opts & L_SEL_SPECIAL) && !use))
            continue;
        gboolean children = FALSE;
        gsize nl = strlen(name);
        for (guint k = 1; k < names->len && !children; k++) {
            const char *o = g_ptr_array_index(names, k);
            children = strncmp(o, name, nl) == 0 && o[nl] == '/';
        }
        GString *s = g_string_new(NULL);
        g_string_append_printf(s, "* %s (%s", what, children ? "\\HasChildren" : "\\HasNoChildren");
        /* RFC 5258 3.4: \Subscribed with the SUBSCRIBED selection or return
         * option; RFC 6154 2: special-use attributes always. */
        if (opts & (L_SEL_SUBSCRIBED | L_RET_SUBSCRIBED))
            g_string_append(s, " \\Subscribed");
        if (use)
            g_string_append_printf(s, " %s", use);
        g_string_append(s, ") \"/\" ");
        ms__imap_string(s, name);
        /* RFC 5258 3.5: CHILDINFO for a mailbox whose children match the
         * selection, only under RECURSIVEMATCH. */
        if ((opts & L_SEL_RECURSIVE) && (opts & L_SEL_SUBSCRIBED) && children)
            g_string_append(s, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
        emit(srv, s);
        g_string_free(s, TRUE);
        /* RFC 5819 4: the STATUS response follows its LIST response; a
         * mailbox that cannot be read gets none. */
        if (opts & L_RET_STATUS) {
            GString *st = g_string_new(NULL);
            if (status_response(srv, name, status, st) == MS_IMAP_HOOK_OK)
                emit(srv, st);
            g_string_free(st, TRUE);
        }
    }
    say(srv, "%s OK %s completed.", tag, what);
}

/* LIST (RFC 9051 6.3.9) with the extended syntax of RFC 5258: selection
 * options, several patterns, RETURN options, STATUS among them (LIST-STATUS,
 * RFC 5819), and special-use attributes (RFC 6154); LSUB (RFC 3501 6.3.9)
 * in its old form. Every mailbox counts as subscribed (SUBSCRIBE keeps no
 * list), so the SUBSCRIBED selection lists the existing ones. */
static void
list_or_lsub(Ctx *c, gboolean lsub)
{
    MsImapServer *srv = c->srv;
    const char *what = lsub ? "LSUB" : "LIST";
    g_autofree char *ref = NULL, *unknown = NULL;
    g_autoptr(GPtrArray) pats = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) status = g_ptr_array_new_with_free_func(g_free);
    guint opts = 0;
    gboolean extended = FALSE;
    if (!eat(c->ps, ' ')) {
        syntax(c, what);
        return;
    }
    if (!lsub && peek(c->ps, '(')) {
        extended = TRUE;
        if (!p_list_opts(c, FALSE, &opts, status, &unknown) || !eat(c->ps, ' '))
            goto syntax_error;
        /* RFC 5258 3.1: RECURSIVEMATCH only beside another selection option. */
        if ((opts & L_SEL_RECURSIVE) && !(opts & (L_SEL_SUBSCRIBED | L_SEL_SPECIAL)))
            goto syntax_error;
    }
    if (!(ref = p_astring(c->ps)) || !eat(c->ps, ' '))
        goto syntax_error;
    if (!lsub && eat(c->ps, '(')) {
        extended = TRUE;
        do {
            char *p = p_list_mailbox(c->ps);
            if (!p || pats->len >= 64) {
                g_free(p);
                goto syntax_error;
            }
            g_ptr_array_add(pats, p);
        } while (eat(c->ps, ' '));
        if (!eat(c->ps, ')'))
            goto syntax_error;
    } else {
        char *p = p_list_mailbox(c->ps);
        if (!p)
            goto syntax_error;
        g_ptr_array_add(pats, p);
    }
    if (!lsub && eat(c->ps, ' ')) {
        g_autofree char *w = p_atom(c->ps, NULL);
        extended = TRUE;
        if (!w || g_ascii_strcasecmp(w, "RETURN") || !eat(c->ps, ' ') ||
            !p_list_opts(c, TRUE, &opts, status, &unknown))
            goto syntax_error;
    }
    if (!end_ok(c, what))
        return;
    list_answer(srv, c->tag, lsub, ref, pats, status, opts, extended);
    return;
syntax_error:
    if (unknown)
        bad(srv, c->tag, "Error in IMAP command %s: unknown option %s.", what, unknown);
    else
        syntax(c, what);
}

static void
cmd_list(Ctx *c)
{
    list_or_lsub(c, FALSE);
}

static void
cmd_lsub(Ctx *c)
{
    list_or_lsub(c, TRUE);
}

static void
cmd_subscribe(Ctx *c)
{
    g_autofree char *name = mailbox_arg(c, "SUBSCRIBE");
    if (!name || !end_ok(c, "SUBSCRIBE"))
        return;
    /* Every mailbox counts as subscribed; the call is accepted. */
    say(c->srv, "%s OK Subscribe completed.", c->tag);
}

static void
cmd_status(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *name = mailbox_arg(c, "STATUS");
    if (!name)
        return;
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *unknown = NULL;
    if (!eat(c->ps, ' ') || !p_status_items(c, items, &unknown)) {
        if (unknown)
            bad(srv, c->tag, "Unknown STATUS item %s.", unknown);
        else
            syntax(c, "STATUS");
        return;
    }
    if (!end_ok(c, "STATUS"))
        return;
    GString *s = g_string_new(NULL);
    MsImapHookResult r = status_response(srv, name, items, s);
    if (r != MS_IMAP_HOOK_OK)
        say(srv, "%s NO %s", c->tag, hook_code(r));
    else {
        emit(srv, s);
        say(srv, "%s OK Status completed.", c->tag);
    }
    g_string_free(s, TRUE);
}

static void
cmd_create(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *name = mailbox_arg(c, "CREATE");
    if (!name || !end_ok(c, "CREATE"))
        return;
    if (strcmp(name, "INBOX") == 0) {
        say(srv, "%s NO [ALREADYEXISTS] Mailbox already exists.", c->tag);
        return;
    }
    MsImapHookResult r = srv->hooks.create(srv->user_data, srv->user, name);
    if (r == MS_IMAP_HOOK_OK)
        say(srv, "%s OK Create completed.", c->tag);
    else
        say(srv, "%s NO %s", c->tag, hook_code(r));
}

static void
cmd_delete(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *name = mailbox_arg(c, "DELETE");
    if (!name || !end_ok(c, "DELETE"))
        return;
    if (strcmp(name, "INBOX") == 0) { /* RFC 9051 6.3.5 */
        say(srv, "%s NO [CANNOT] INBOX can't be deleted.", c->tag);
        return;
    }
    if (srv->state == ST_SELECTED && strcmp(srv->mailbox, name) == 0) {
        say(srv, "%s NO [INUSE] Can't delete the selected mailbox.", c->tag);
        return;
    }
    MsImapHookResult r = srv->hooks.delete_mailbox(srv->user_data, srv->user, name);
    if (r == MS_IMAP_HOOK_OK)
        say(srv, "%s OK Delete completed.", c->tag);
    else
        say(srv, "%s NO %s", c->tag, hook_code(r));
}

static void
cmd_rename(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *from = mailbox_arg(c, "RENAME");
    if (!from)
        return;
    g_autofree char *to = mailbox_arg(c, "RENAME");
    if (!to || !end_ok(c, "RENAME"))
        return;
    /* Renaming INBOX moves its messages (RFC 9051 6.3.6): not supported. */
    if (strcmp(from, "INBOX") == 0 || strcmp(to, "INBOX") == 0) {
        say(srv, "%s NO [CANNOT] INBOX can't be renamed here.", c->tag);
        return;
    }
    MsImapHookResult r = srv->hooks.rename(srv->user_data, srv->user, from, to);
    if (r == MS_IMAP_HOOK_OK)
        say(srv, "%s OK Rename completed.", c->tag);
    else
        say(srv, "%s NO %s", c->tag, hook_code(r));
}

static void
cmd_append(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *name = mailbox_arg(c, "APPEND");
    if (!name)
        return;
    gint64 flags = 0, date = 0;
    gboolean have_date = FALSE;
    if (!eat(c->ps, ' ')) {
        syntax(c, "APPEND");
        return;
    }
    if (peek(c->ps, '(')) {
        flags = p_flags(c->ps, FALSE);
        if (flags < 0 || !eat(c->ps, ' ')) {
            syntax(c, "APPEND");
            return;
        }
    }
    if (peek(c->ps, '"')) {
        g_autofree char *d = p_string(c->ps, NULL);
        if (!d || !parse_date_time(d, &date) || !eat(c->ps, ' ')) {
            bad(srv, c->tag, "Invalid date-time in APPEND.");
            return;
        }
        have_date = TRUE;
    }
    gsize len = 0;
    if (!peek(c->ps, '{') && !peek(c->ps, '~')) {
        syntax(c, "APPEND");
        return;
    }
    g_autofree char *data = p_string(c->ps, &len);
    if (!data || !end_ok(c, "APPEND")) {
        if (!data)
            syntax(c, "APPEND");
        return;
    }
    g_autoptr(GBytes) msg = g_bytes_new(data, len);
    guint32 uid = 0;
    MsImapHookResult r = srv->hooks.append(srv->user_data, srv->user, name, msg, (guint) flags,
                                           have_date ? date : G_MININT64, &uid);
    if (r != MS_IMAP_HOOK_OK) {
        say(srv, "%s NO %s", c->tag,
            r == MS_IMAP_HOOK_NO_MAILBOX ? "[TRYCREATE] Mailbox doesn't exist." : hook_code(r));
        return;
    }
    if (srv->state == ST_SELECTED && strcmp(srv->mailbox, name) == 0)
        sync_box(srv);
    g_autoptr(GArray) tmp = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    MsImapMailboxInfo info;
    if (uid && list_box(srv, name, tmp, &info) == MS_IMAP_HOOK_OK)
        say(srv, "%s OK [APPENDUID %u %u] Append completed.", c->tag, info.uidvalidity, uid);
    else
        say(srv, "%s OK Append completed.", c->tag);
}

static void
cmd_check(Ctx *c)
{
    if (!end_ok(c, "CHECK"))
        return;
    sync_box(c->srv);
    say(c->srv, "%s OK Check completed.", c->tag);
}

/* Removes the snapshot's \Deleted messages (all, or those in `only`),
 * telling EXPUNGE for each unless `silent`. FALSE if the hook failed. */
static gboolean
expunge_deleted(MsImapServer *srv, GArray *only, gboolean silent)
{
    g_autoptr(GArray) idx = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint i = 0; i < srv->msgs->len; i++) {
        if (!(msg_at(srv, i)->flags & MS_IMAP_FLAG_DELETED))
            continue;
        if (only) {
            gboolean in = FALSE;
            for (guint k = 0; k < only->len && !in; k++)
                in = g_array_index(only, guint, k) == i;
            if (!in)
                continue;
        }
        g_array_append_val(idx, i);
        g_array_append_val(uids, msg_at(srv, i)->uid);
    }
    if (idx->len == 0)
        return TRUE;
    if (srv->hooks.expunge(srv->user_data, srv->user, srv->mailbox, (const guint32 *) uids->data,
                           uids->len) != MS_IMAP_HOOK_OK)
        return FALSE;
    for (guint k = idx->len; k-- > 0;) {
        guint i = g_array_index(idx, guint, k);
        if (!silent)
            say(srv, "* %u EXPUNGE", i + 1);
        g_array_remove_index(srv->msgs, i);
    }
    return TRUE;
}

static void
cmd_expunge(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autoptr(GArray) only = NULL;
    if (c->uid) { /* UID EXPUNGE (RFC 4315 2.1) */
        g_autofree char *set = NULL;
        if (!eat(c->ps, ' ') || !(set = p_atom(c->ps, "*"))) {
            syntax(c, "UID EXPUNGE");
            return;
        }
        if (!(only = resolve_set(srv, c->tag, set, TRUE)))
            return;
    }
    if (!end_ok(c, "EXPUNGE"))
        return;
    if (srv->readonly) {
        say(srv, "%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
        return;
    }
    if (!expunge_deleted(srv, only, FALSE)) {
        say(srv, "%s NO [SERVERBUG] Expunge failed.", c->tag);
        return;
    }
    say(srv, "%s OK Expunge completed.", c->tag);
}

static void
cmd_close(Ctx *c)
{
    MsImapServer *srv = c->srv;
    if (!end_ok(c, "CLOSE"))
        return;
    /* RFC 9051 6.4.1: expunge without telling, then leave. */
    if (!srv->readonly)
        expunge_deleted(srv, NULL, TRUE);
    deselect(srv);
    say(srv, "%s OK Close completed.", c->tag);
}

static void
cmd_unselect(Ctx *c)
{
    if (!end_ok(c, "UNSELECT"))
        return;
    deselect(c->srv);
    say(c->srv, "%s OK Unselect completed.", c->tag);
}

static void
cmd_idle(Ctx *c)
{
    MsImapServer *srv = c->srv;
    if (!end_ok(c, "IDLE"))
        return;
    say(srv, "+ idling");
    g_free(srv->tag);
    srv->tag = g_strdup(c->tag);
    srv->mode = IN_IDLE;
    sync_box(srv); /* RFC 2177 3: what changed is told now */
}

/* ---- FETCH ------------------------------------------------------------- */

typedef enum {
    F_FLAGS,
    F_UID,
    F_INTERNALDATE,
    F_SIZE,
    F_ENVELOPE,
    F_BODYSTRUCTURE,
    F_BODY, /* BODY without a section: the non-extensible structure */
    F_SECTION,
    F_BINARY,      /* BINARY[part] (RFC 3516 4.2): the decoded contents */
    F_BINARY_SIZE, /* BINARY.SIZE[part] */
} FetchKind;

typedef enum { S_ALL, S_HEADER, S_TEXT, S_FIELDS, S_FIELDS_NOT, S_MIME } SectionKind;

#define MAX_PART_DEPTH 16

typedef struct {
    FetchKind kind;
    SectionKind section;
    gboolean peek;
    char *label;  /* the response's item name, e.g. "BODY[HEADER]" or "RFC822" */
    char **names; /* HEADER.FIELDS */
    guint path[MAX_PART_DEPTH]; /* the part number, e.g. 1.2 (RFC 9051 6.4.5) */
    guint path_len;
    gboolean partial;
    guint64 origin, count;
} FetchItem;

static void
fetch_item_clear(gpointer p)
{
    FetchItem *f = p;
    g_free(f->label);
    g_strfreev(f->names);
}

/* section-spec after "[" up to and including "]" (RFC 9051 9): an
 * optional part number (1.2.3) then "", HEADER, TEXT, MIME (after a part
 * number only), HEADER.FIELDS[.NOT] (names); with `binary` (RFC 3516) the
 * part number only. Then an optional partial <origin.count>, unless
 * `no_partial`. */
static gboolean
p_section(Parser *ps, FetchItem *f, GString *label, gboolean binary, gboolean no_partial)
{
    g_autofree char *all = p_atom(ps, ".");
    const char *word = all;
    f->section = S_ALL;
    f->path_len = 0;
    while (word && g_ascii_isdigit(*word)) {
        const char *dot = strchr(word, '.');
        gsize len = dot ? (gsize) (dot - word) : strlen(word);
        guint32 v;
        if (f->path_len >= MAX_PART_DEPTH || !parse_num(word, len, &v))
            return FALSE;
        f->path[f->path_len++] = v;
        g_string_append_printf(label, "%s%u", f->path_len > 1 ? "." : "", v);
        word = dot ? dot + 1 : NULL;
        if (dot && !*word)
            return FALSE;
    }
    if (word && binary)
        return FALSE;
    if (word) {
        if (f->path_len)
            g_string_append_c(label, '.');
        if (!g_ascii_strcasecmp(word, "MIME") && f->path_len)
            f->section = S_MIME;
        else if (!g_ascii_strcasecmp(word, "HEADER"))
            f->section = S_HEADER;
        else if (!g_ascii_strcasecmp(word, "TEXT"))
            f->section = S_TEXT;
        else if (!g_ascii_strcasecmp(word, "HEADER.FIELDS"))
            f->section = S_FIELDS;
        else if (!g_ascii_strcasecmp(word, "HEADER.FIELDS.NOT"))
            f->section = S_FIELDS_NOT;
        else
            return FALSE;
        g_autofree char *up = g_ascii_strup(word, -1);
        g_string_append(label, up);
    }
    if (f->section == S_FIELDS || f->section == S_FIELDS_NOT) {
        if (!eat(ps, ' ') || !eat(ps, '('))
            return FALSE;
        GPtrArray *names = g_ptr_array_new();
        g_string_append(label, " (");
        while (!eat(ps, ')')) {
            if (names->len && !eat(ps, ' '))
                goto fail;
            char *n = p_astring(ps);
            if (!n || names->len >= 256) {
                g_free(n);
                goto fail;
            }
            g_string_append_printf(label, "%s%s", names->len ? " " : "", n);
            g_ptr_array_add(names, n);
        }
        if (names->len == 0)
            goto fail;
        g_string_append_c(label, ')');
        g_ptr_array_add(names, NULL);
        f->names = (char **) g_ptr_array_free(names, FALSE);
        goto done;
    fail:
        g_ptr_array_set_free_func(names, g_free);
        g_ptr_array_unref(names);
        return FALSE;
    }
done:
    if (!eat(ps, ']'))
        return FALSE;
    g_string_append_c(label, ']');
    if (!no_partial && eat(ps, '<')) { /* partial <origin.count> (RFC 9051 6.4.5) */
        gsize a0 = ps->i;
        while (ps->i < ps->n && g_ascii_isdigit(ps->p[ps->i]))
            ps->i++;
        gsize a1 = ps->i;
        if (!eat(ps, '.'))
            return FALSE;
        gsize b0 = ps->i;
        while (ps->i < ps->n && g_ascii_isdigit(ps->p[ps->i]))
            ps->i++;
        gsize b1 = ps->i;
        guint32 a = 0, b = 0;
        if (!eat(ps, '>'))
            return FALSE;
        gboolean zero = a1 - a0 == 1 && ps->p[a0] == '0';
        if (!(zero || parse_num((const char *) ps->p + a0, a1 - a0, &a)) ||
            !parse_num((const char *) ps->p + b0, b1 - b0, &b))
            return FALSE;
        f->partial = TRUE;
        f->origin = a;
        f->count = b;
        g_string_append_printf(label, "<%u>", a);
    }
    return TRUE;
}

/* One fetch-att (RFC 9051 9); FALSE on a syntax error. */
static gboolean
p_fetch_att(Parser *ps, GArray *items)
{
    gsize st = ps->i;
    while (ps->i < ps->n && (g_ascii_isalnum(ps->p[ps->i]) || ps->p[ps->i] == '.'))
        ps->i++;
    g_autofree char *w = g_ascii_strup((const char *) ps->p + st, (gssize) (ps->i - st));
    FetchItem f = { 0 };
    static const struct {
        const char *name;
        FetchKind kind;
    } simple[] = {
        { "FLAGS", F_FLAGS },      { "UID", F_UID },           { "INTERNALDATE", F_INTERNALDATE },
        { "RFC822.SIZE", F_SIZE }, { "ENVELOPE", F_ENVELOPE }, { "BODYSTRUCTURE", F_BODYSTRUCTURE }
    };
    for (guint i = 0; i < G_N_ELEMENTS(simple); i++)
        if (strcmp(w, simple[i].name) == 0) {
            f.kind = simple[i].kind;
            g_array_append_val(items, f);
            return TRUE;
        }
    /* RFC 3501 6.4.5: RFC822 = BODY[], RFC822.HEADER = BODY.PEEK[HEADER],
     * RFC822.TEXT = BODY[TEXT], answered under their own names. */
    if (!strcmp(w, "RFC822") || !strcmp(w, "RFC822.HEADER") || !strcmp(w, "RFC822.TEXT")) {
        f.kind = F_SECTION;
        f.section = !strcmp(w, "RFC822") ? S_ALL : !strcmp(w, "RFC822.TEXT") ? S_TEXT : S_HEADER;
        f.peek = f.section == S_HEADER;
        f.label = g_strdup(w);
        g_array_append_val(items, f);
        return TRUE;
    }
    if (!strcmp(w, "BINARY") || !strcmp(w, "BINARY.PEEK") || !strcmp(w, "BINARY.SIZE")) {
        if (!eat(ps, '['))
            return FALSE;
        gboolean size = !strcmp(w, "BINARY.SIZE");
        f.kind = size ? F_BINARY_SIZE : F_BINARY;
        f.peek = strcmp(w, "BINARY") != 0;
        GString *label = g_string_new(size ? "BINARY.SIZE[" : "BINARY[");
        if (!p_section(ps, &f, label, TRUE, size)) {
            g_string_free(label, TRUE);
            return FALSE;
        }
        f.label = g_string_free(label, FALSE);
        g_array_append_val(items, f);
        return TRUE;
    }
    if (strcmp(w, "BODY") != 0 && strcmp(w, "BODY.PEEK") != 0)
        return FALSE;
    if (!eat(ps, '[')) {
        if (strcmp(w, "BODY") != 0)
            return FALSE;
        f.kind = F_BODY;
        g_array_append_val(items, f);
        return TRUE;
    }
    f.kind = F_SECTION;
    f.peek = strcmp(w, "BODY.PEEK") == 0;
    GString *label = g_string_new("BODY[");
    if (!p_section(ps, &f, label, FALSE, FALSE)) {
        g_string_free(label, TRUE);
        g_strfreev(f.names);
        return FALSE;
    }
    f.label = g_string_free(label, FALSE);
    g_array_append_val(items, f);
    return TRUE;
}

static gboolean
p_fetch_atts(Parser *ps, GArray *items)
{
    gsize st = ps->i;
    g_autofree char *macro = p_atom(ps, NULL);
    if (macro && (peek(ps, ' ') || at_end(ps))) {
        const char *expand = NULL;
        if (!g_ascii_strcasecmp(macro, "ALL"))
            expand = "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE";
        else if (!g_ascii_strcasecmp(macro, "FAST"))
            expand = "FLAGS INTERNALDATE RFC822.SIZE";
        else if (!g_ascii_strcasecmp(macro, "FULL"))
            expand = "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY";
        if (expand) {
            Parser sub = { (const guint8 *) expand, strlen(expand), 0 };
            while (sub.i < sub.n) {
                p_fetch_att(&sub, items);
                eat(&sub, ' ');
            }
            return TRUE;
        }
    }
    ps->i = st;
    if (!eat(ps, '('))
        return p_fetch_att(ps, items);
    do {
        if (items->len >= 64 || !p_fetch_att(ps, items))
            return FALSE;
    } while (eat(ps, ' '));
    return eat(ps, ')');
}

/* The bytes a section names, before any partial; NULL when the message
 * has no such part (answered NIL). */
static GBytes *
section_bytes(const FetchItem *f, GBytes *msg)
{
    gsize n;
    const guint8 *p = g_bytes_get_data(msg, &n);
    gsize off = 0;
    if (f->path_len) {
        MsImapPart part;
        if (!ms__imap_part_find(p, n, f->path, f->path_len, &part))
            return NULL;
        g_free(part.encoding);
        if (f->section == S_MIME)
            return g_bytes_new_from_bytes(msg, part.header_off, part.header_len);
        if (f->section == S_ALL)
            return g_bytes_new_from_bytes(msg, part.body_off, part.body_len);
        /* HEADER, TEXT, HEADER.FIELDS look into a message/rfc822 part; of
         * any other part they take its own header, as Dovecot does. */
        off = part.is_message ? part.body_off : part.header_off;
        n = part.body_off + part.body_len - off;
    }
    g_autoptr(GBytes) ent = g_bytes_new_from_bytes(msg, off, n);
    p += off;
    gsize h = ms__imap_header_end(p, n);
    switch (f->section) {
    case S_HEADER:
        return g_bytes_new_from_bytes(ent, 0, h);
    case S_TEXT:
        return g_bytes_new_from_bytes(ent, h, n - h);
    case S_FIELDS:
    case S_FIELDS_NOT:
        return ms__imap_header_fields(p, n, f->names, f->section == S_FIELDS_NOT);
    default:
        return g_bytes_ref(ent);
    }
}

/* The decoded contents of BINARY[part] (RFC 3516 4.2): base64 and
 * quoted-printable undone, 7bit/8bit/binary as they are; the whole
 * message for an empty part number; NULL (with *unknown_cte for an
 * encoding we cannot undo) when there is no such part. */
static GBytes *
binary_bytes(const FetchItem *f, GBytes *msg, gboolean *unknown_cte)
{
    gsize n;
    const guint8 *p = g_bytes_get_data(msg, &n);
    if (f->path_len == 0)
        return g_bytes_ref(msg);
    MsImapPart part;
    if (!ms__imap_part_find(p, n, f->path, f->path_len, &part))
        return NULL;
    g_autofree char *enc = part.encoding;
    const guint8 *b = p + part.body_off;
    if (part.is_multipart || part.is_message || !strcmp(enc, "7bit") || !strcmp(enc, "8bit") ||
        !strcmp(enc, "binary"))
        return g_bytes_new_from_bytes(msg, part.body_off, part.body_len);
    if (!strcmp(enc, "quoted-printable"))
        return ms__imap_qp_decode(b, part.body_len);
    if (!strcmp(enc, "base64")) {
        /* g_base64_decode skips what is not base64 (the line breaks). */
        g_autofree char *text = g_strndup((const char *) b, part.body_len);
        gsize len = 0;
        guchar *raw = g_base64_decode(text, &len);
        return g_bytes_new_take(raw, len);
    }
    *unknown_cte = TRUE;
    return NULL;
}

static void
append_literal(GString *s, GBytes *b, const FetchItem *f)
{
    gsize n;
    const guint8 *p = g_bytes_get_data(b, &n);
    gsize off = 0, len = n;
    if (f->partial) {
        off = (gsize) MIN(f->origin, (guint64) n);
        len = (gsize) MIN(f->count, (guint64) (n - off));
    }
    /* RFC 3516 4.3: contents with a NUL octet go as a literal8. */
    gboolean nul = memchr(p + off, 0, len) != NULL;
    g_string_append_printf(s, "%s{%" G_GSIZE_FORMAT "}\r\n", nul ? "~" : "", len);
    g_string_append_len(s, (const char *) p + off, (gssize) len);
}

typedef enum { FETCH_OK, FETCH_GONE, FETCH_UNKNOWN_CTE } FetchResult;

/* Answers FETCH for message index i; nothing is answered when its bytes
 * are gone or a BINARY part has an encoding we cannot undo. */
static FetchResult
fetch_one(MsImapServer *srv, guint i, GArray *items, gboolean uid)
{
    MsImapMessageInfo *m = msg_at(srv, i);
    g_autoptr(GBytes) msg = NULL;
    gboolean need_msg = FALSE, sets_seen = FALSE, has_flags = FALSE, has_uid = FALSE;
    for (guint k = 0; k < items->len; k++) {
        FetchItem *f = &g_array_index(items, FetchItem, k);
        need_msg |= f->kind >= F_ENVELOPE;
        sets_seen |= (f->kind == F_SECTION || f->kind == F_BINARY) && !f->peek;
        has_flags |= f->kind == F_FLAGS;
        has_uid |= f->kind == F_UID;
    }
    if (need_msg) {
        msg = srv->hooks.read(srv->user_data, srv->user, srv->mailbox, m->uid);
        if (!msg || g_bytes_get_size(msg) != m->size)
            return FETCH_GONE;
    }
    /* BINARY first: an unknown encoding answers NO before any flag moves. */
    g_autoptr(GPtrArray) bins = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    for (guint k = 0; k < items->len; k++) {
        FetchItem *f = &g_array_index(items, FetchItem, k);
        gboolean unknown = FALSE;
        GBytes *b = NULL;
        if (f->kind == F_BINARY || f->kind == F_BINARY_SIZE)
            b = binary_bytes(f, msg, &unknown);
        if (unknown)
            return FETCH_UNKNOWN_CTE;
        g_ptr_array_add(bins, b);
    }
    /* RFC 9051 6.4.5: BODY[] sets \Seen, and the new flags are told. */
    gboolean seen_now = sets_seen && !srv->readonly && !(m->flags & MS_IMAP_FLAG_SEEN);
    if (seen_now && srv->hooks.set_flags(srv->user_data, srv->user, srv->mailbox, m->uid,
                                         m->flags | MS_IMAP_FLAG_SEEN) == MS_IMAP_HOOK_OK)
        m->flags |= MS_IMAP_FLAG_SEEN;
    else
        seen_now = FALSE;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "* %u FETCH (", i + 1);
    gboolean first = TRUE;
#define SEP()                                                                                      \
    do {                                                                                           \
        if (!first)                                                                                \
            g_string_append_c(s, ' ');                                                             \
        first = FALSE;                                                                             \
    } while (0)
    if (uid && !has_uid) { /* RFC 9051 6.4.9: UID FETCH always tells the UID */
        SEP();
        g_string_append_printf(s, "UID %u", m->uid);
    }
    gsize n = 0;
    const guint8 *p = msg ? g_bytes_get_data(msg, &n) : NULL;
    for (guint k = 0; k < items->len; k++) {
        FetchItem *f = &g_array_index(items, FetchItem, k);
        SEP();
        switch (f->kind) {
        case F_FLAGS:
            g_string_append(s, "FLAGS ");
            append_flags(s, m->flags);
            break;
        case F_UID:
            g_string_append_printf(s, "UID %u", m->uid);
            break;
        case F_INTERNALDATE:
            g_string_append(s, "INTERNALDATE ");
            append_date(s, m->internal_date);
            break;
        case F_SIZE:
            g_string_append_printf(s, "RFC822.SIZE %" G_GUINT64_FORMAT, m->size);
            break;
        case F_ENVELOPE:
            g_string_append(s, "ENVELOPE ");
            ms__imap_envelope(s, p, n);
            break;
        case F_BODYSTRUCTURE:
        case F_BODY:
            g_string_append(s, f->kind == F_BODY ? "BODY " : "BODYSTRUCTURE ");
            ms__imap_bodystructure(s, p, n, f->kind == F_BODYSTRUCTURE);
            break;
        case F_SECTION: {
            g_autoptr(GBytes) b = section_bytes(f, msg);
            g_string_append_printf(s, "%s ", f->label);
            if (b)
                append_literal(s, b, f);
            else
                g_string_append(s, "NIL");
            break;
        }
        case F_BINARY: {
            GBytes *b = g_ptr_array_index(bins, k);
            g_string_append_printf(s, "%s ", f->label);
            if (b)
                append_literal(s, b, f);
            else
                g_string_append(s, "NIL");
            break;
        }
        case F_BINARY_SIZE: {
            GBytes *b = g_ptr_array_index(bins, k);
            if (b)
                g_string_append_printf(s, "%s %" G_GSIZE_FORMAT, f->label, g_bytes_get_size(b));
            else
                g_string_append_printf(s, "%s NIL", f->label);
            break;
        }
        }
    }
    if (seen_now && !has_flags) {
        SEP();
        g_string_append(s, "FLAGS ");
        append_flags(s, m->flags);
    }
#undef SEP
    g_string_append_c(s, ')');
    emit(srv, s);
    g_string_free(s, TRUE);
    return FETCH_OK;
}

static void
cmd_fetch(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *set = NULL;
    g_autoptr(GArray) items = g_array_new(FALSE, TRUE, sizeof(FetchItem));
    g_array_set_clear_func(items, fetch_item_clear);
    if (!eat(c->ps, ' ') || !(set = p_atom(c->ps, "*")) || !eat(c->ps, ' ') ||
        !p_fetch_atts(c->ps, items)) {
        syntax(c, "FETCH");
        return;
    }
    if (eat(c->ps, ' ')) { /* fetch modifiers (RFC 4466): none known */
        syntax(c, "FETCH");
        return;
    }
    if (!end_ok(c, "FETCH"))
        return;
    g_autoptr(GArray) idx = resolve_set(srv, c->tag, set, c->uid);
    if (!idx)
        return;
    gboolean gone = FALSE, unknown_cte = FALSE;
    for (guint k = 0; k < idx->len; k++) {
        FetchResult r = fetch_one(srv, g_array_index(idx, guint, k), items, c->uid);
        gone |= r == FETCH_GONE;
        unknown_cte |= r == FETCH_UNKNOWN_CTE;
    }
    if (unknown_cte) /* RFC 3516 4.2 */
        say(srv, "%s NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding.", c->tag);
    else if (gone)
        say(srv, "%s NO [EXPUNGEISSUED] Some messages were expunged.", c->tag);
    else
        say(srv, "%s OK Fetch completed.", c->tag);
}

/* ---- STORE ------------------------------------------------------------- */

static void
cmd_store(Ctx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *set = NULL, *op = NULL;
    if (!eat(c->ps, ' ') || !(set = p_atom(c->ps, "*")) || !eat(c->ps, ' ') ||
        !(op = p_atom(c->ps, "+-")) || !eat(c->ps, ' ')) {
        syntax(c, "STORE");
        return;
    }
    gint64 flags = p_flags(c->ps, TRUE);
    if (flags < 0) {
        bad(srv, c->tag, "Invalid flags in STORE.");
        return;
    }
    if (!end_ok(c, "STORE"))
        return;
    char mode = op[0] == '+' || op[0] == '-' ? op[0] : '=';
    const char *word = mode == '=' ? op : op + 1;
    gboolean silent;
    if (!g_ascii_strcasecmp(word, "FLAGS"))
        silent = FALSE;
    else if (!g_ascii_strcasecmp(word, "FLAGS.SILENT"))
        silent = TRUE;
    else {
        syntax(c, "STORE");
        return;
    }
    g_autoptr(GArray) idx = resolve_set(srv, c->tag, set, c->uid);
    if (!idx)
        return;
    if (srv->readonly) {
        say(srv, "%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
        return;
    }
    gboolean failed = FALSE;
    for (guint k = 0; k < idx->len; k++) {
        guint i = g_array_index(idx, guint, k);
        MsImapMessageInfo *m = msg_at(srv, i);
        guint nf = mode == '+'   ? m->flags | (guint) flags
                   : mode == '-' ? m->flags & ~(guint) flags
                                 : (guint) flags;
        if (nf != m->flags) {
            if (srv->hooks.set_flags(srv->user_data, srv->user, srv->mailbox, m->uid, nf) !=
                MS_IMAP_HOOK_OK) {
                failed = TRUE;
                continue;
            }
            m->flags = nf;
        }
        if (!silent) {
            GString *s = g_string_new(NULL);
            g_string_append_printf(s, "* %u FETCH (", i + 1);
            if (c->uid)
                g_string_append_printf(s, "UID %u ", m->uid);
            g_string_append(s, "FLAGS ");
            append_flags(s, m->flags);
            g_string_append_c(s, ')');
            emit(srv, s);
            g_string_free(s, TRUE);
        }
    }
    if (failed)
        say(srv, "%s NO [EXPUNGEISSUED] Some messages could not be changed.", c->tag);
    else
        say(srv, "%s OK Store completed.", c->tag);
}

/* ---- COPY and MOVE ----------------------------------------------------- */

static void
copy_or_move(Ctx *c, gboolean move)
{
    MsImapServer *srv = c->srv;
    const char *what = move ? "MOVE" : "COPY";
    g_autofree char *set = NULL;
    if (!eat(c->ps, ' ') || !(set = p_atom(c->ps, "*"))) {
        syntax(c, what);
        return;
    }
    g_autofree char *dest = mailbox_arg(c, what);
    if (!dest || !end_ok(c, what))
        return;
    g_autoptr(GArray) idx = resolve_set(srv, c->tag, set, c->uid);
    if (!idx)
        return;
    if (move && srv->readonly) {
        say(srv, "%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
        return;
    }
    g_autoptr(GArray) dst_uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    g_autoptr(GArray) src_uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint k = 0; k < idx->len; k++) {
        MsImapMessageInfo *m = msg_at(srv, g_array_index(idx, guint, k));
        g_autoptr(GBytes) msg = srv->hooks.read(srv->user_data, srv->user, srv->mailbox, m->uid);
        guint32 nu = 0;
        MsImapHookResult r = msg ? srv->hooks.append(srv->user_data, srv->user, dest, msg, m->flags,
                                                     m->internal_date, &nu)
                                 : MS_IMAP_HOOK_FAILED;
        if (r != MS_IMAP_HOOK_OK) {
            say(srv, "%s NO %s", c->tag,
                r == MS_IMAP_HOOK_NO_MAILBOX ? "[TRYCREATE] Mailbox doesn't exist." : hook_code(r));
            return;
        }
        g_array_append_val(src_uids, m->uid);
        g_array_append_val(dst_uids, nu);
    }
    g_autoptr(GArray) tmp = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    MsImapMailboxInfo info;
    GString *code = g_string_new(NULL);
    if (src_uids->len && list_box(srv, dest, tmp, &info) == MS_IMAP_HOOK_OK) {
        /* RFC 4315 3 COPYUID; for MOVE untagged before the EXPUNGEs (RFC 6851 4.3). */
        g_string_append_printf(code, "[COPYUID %u ", info.uidvalidity);
        append_uid_set(code, (const guint32 *) src_uids->data, src_uids->len);
        g_string_append_c(code, ' ');
        append_uid_set(code, (const guint32 *) dst_uids->data, dst_uids->len);
        g_string_append(code, "] ");
    }
    if (move) {
        if (code->len)
            say(srv, "* OK %sMoved UIDs.", code->str);
        if (src_uids->len && srv->hooks.expunge(srv->user_data, srv->user, srv->mailbox,
                                                (const guint32 *) src_uids->data,
                                                src_uids->len) != MS_IMAP_HOOK_OK) {
            say(srv, "%s NO [SERVERBUG] Move failed after copying.", c->tag);
            g_string_free(code, TRUE);
            return;
        }
        for (guint k = idx->len; k-- > 0;) {
            guint i = g_array_index(idx, guint, k);
            say(srv, "* %u EXPUNGE", i + 1);
            g_array_remove_index(srv->msgs, i);
        }
        say(srv, "%s OK Move completed.", c->tag);
    } else {
        say(srv, "%s OK %sCopy completed.", c->tag, code->str);
    }
    g_string_free(code, TRUE);
    if (strcmp(dest, srv->mailbox) == 0)
        sync_box(srv);
}

static void
cmd_copy(Ctx *c)
{
    copy_or_move(c, FALSE);
}

static void
cmd_move(Ctx *c)
{
    copy_or_move(c, TRUE);
}

/* ---- SEARCH ------------------------------------------------------------ */

typedef enum {
    K_ALL,
    K_FLAG_SET,   /* bit set */
    K_FLAG_CLEAR, /* bit clear */
    K_HEADER,     /* str in header field */
    K_SET,        /* sequence set */
    K_UIDSET,
    K_LARGER,
    K_SMALLER,
    K_NOT,
    K_OR,
    K_AND,
    K_DATE, /* BEFORE/ON/SINCE (internal date), SENT* (Date: field) */
    K_TEXT, /* BODY (bit 0) or TEXT (bit 1) contains str */
    K_NONE, /* KEYWORD: no keyword is ever set */
} KeyKind;

typedef struct SearchKey SearchKey;
struct SearchKey {
    KeyKind kind;
    guint bit;
    guint64 num;
    char *field, *str;
    GArray *idx; /* K_SET / K_UIDSET: the matching indices, ascending */
    gint64 day;  /* K_DATE: the day (GDate julian: 1 = 1 January 1) */
    int cmp;     /* K_DATE: -1 before, 0 on, 1 since (on or after) */
    gboolean sent;
    GPtrArray *subs;
};

static void
key_free(gpointer p)
{
    SearchKey *k = p;
    if (!k)
        return;
    g_free(k->field);
    g_free(k->str);
    if (k->idx)
        g_array_unref(k->idx);
    if (k->subs)
        g_ptr_array_unref(k->subs);
    g_free(k);
}

static SearchKey *
key_new(KeyKind kind)
{
    SearchKey *k = g_new0(SearchKey, 1);
    k->kind = kind;
    return k;
}

static SearchKey *p_search_key(Ctx *c, int depth, guint *count);

/* GDate's day count of day/month/year, or -1 when it is no date. */
static gint64
julian(guint d, guint m, guint y)
{
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        d > g_date_get_days_in_month((GDateMonth) m, (GDateYear) y))
        return -1;
    GDate dt;
    g_date_clear(&dt, 1);
    g_date_set_dmy(&dt, (GDateDay) d, (GDateMonth) m, (GDateYear) y);
    return g_date_get_julian(&dt);
}

static guint
month_of(const char *s)
{
    for (guint i = 0; i < 12; i++)
        if (!g_ascii_strncasecmp(s, months[i], 3))
            return i + 1;
    return 0;
}

/* date (RFC 9051 9): d[d]-Mon-yyyy. */
static gboolean
search_date(const char *s, gint64 *day)
{
    guint d = 0, y = 0;
    char mon[4] = { 0 };
    int used = 0;
    if (sscanf(s, "%2u-%3c-%4u%n", &d, mon, &y, &used) != 3 || s[used] || strlen(s) < 10)
        return FALSE;
    *day = julian(d, month_of(mon), y);
    return *day >= 0;
}

/* The day of a Date: field (RFC 5322 3.3: [day-name ","] d month yyyy
 * ...), in its own zone; -1 when absent or unreadable. */
static gint64
sent_day(const guint8 *p, gsize n)
{
    g_autofree char *v = ms__imap_header_get(p, n, "Date");
    if (!v)
        return -1;
    const char *q = strchr(v, ',');
    q = q ? q + 1 : v;
    guint d = 0, y = 0;
    char mon[4] = { 0 };
    if (sscanf(q, " %2u %3c %4u", &d, mon, &y) != 3)
        return -1;
    return julian(d, month_of(mon), y);
}

/* Keys joined by spaces until `close` (')' or end), as one AND key. */
static SearchKey *
p_search_keys(Ctx *c, int depth, gboolean paren, guint *count)
{
    SearchKey *and = key_new(K_AND);
    and->subs = g_ptr_array_new_with_free_func(key_free);
    for (;;) {
        SearchKey *k = p_search_key(c, depth, count);
        if (!k) {
            key_free(and);
            return NULL;
        }
        g_ptr_array_add(and->subs, k);
        if (paren && eat(c->ps, ')'))
            return and;
        if (!paren && at_end(c->ps))
            return and;
        if (!eat(c->ps, ' ')) {
            key_free(and);
            return NULL;
        }
    }
}

static gboolean
is_set_syntax(const char *w)
{
    if (strcmp(w, "$") == 0) /* RFC 5182 2.1 */
        return TRUE;
    for (const char *q = w; *q; q++)
        if (!g_ascii_isdigit(*q) && !strchr(":,*", *q))
            return FALSE;
    return *w != '\0';
}

/* One search-key (RFC 9051 6.4.4) of the supported subset; NULL after a
 * syntax error or an unsupported key (the caller answers BAD), with
 * c->srv's state unchanged. A sequence set past the end answers BAD itself
 * and sets *count to G_MAXUINT. */
static SearchKey *
p_search_key(Ctx *c, int depth, guint *count)
{
    if (depth > MAX_DEPTH || ++*count > MAX_ITEMS)
        return NULL;
    if (eat(c->ps, '('))
        return p_search_keys(c, depth + 1, TRUE, count);
    g_autofree char *w = p_atom(c->ps, "*");
    if (!w)
        return NULL;
    static const struct {
        const char *name;
        KeyKind kind;
        guint bit;
    } flagkeys[] = {
        { "SEEN", K_FLAG_SET, MS_IMAP_FLAG_SEEN },
        { "UNSEEN", K_FLAG_CLEAR, MS_IMAP_FLAG_SEEN },
        { "ANSWERED", K_FLAG_SET, MS_IMAP_FLAG_ANSWERED },
        { "UNANSWERED", K_FLAG_CLEAR, MS_IMAP_FLAG_ANSWERED },
        { "FLAGGED", K_FLAG_SET, MS_IMAP_FLAG_FLAGGED },
        { "UNFLAGGED", K_FLAG_CLEAR, MS_IMAP_FLAG_FLAGGED },
        { "DELETED", K_FLAG_SET, MS_IMAP_FLAG_DELETED },
        { "UNDELETED", K_FLAG_CLEAR, MS_IMAP_FLAG_DELETED },
        { "DRAFT", K_FLAG_SET, MS_IMAP_FLAG_DRAFT },
        { "UNDRAFT", K_FLAG_CLEAR, MS_IMAP_FLAG_DRAFT },
    };
    for (guint i = 0; i < G_N_ELEMENTS(flagkeys); i++)
        if (!g_ascii_strcasecmp(w, flagkeys[i].name)) {
            SearchKey *k = key_new(flagkeys[i].kind);
            k->bit = flagkeys[i].bit;
            return k;
        }
    if (!g_ascii_strcasecmp(w, "ALL"))
        return key_new(K_ALL);
    /* RFC 9051 6.4.4: dates compare by day, disregarding time and zone. */
    static const char *const dates[] = { "BEFORE",     "ON",     "SINCE",
                                         "SENTBEFORE", "SENTON", "SENTSINCE" };
    for (guint i = 0; i < G_N_ELEMENTS(dates); i++)
        if (!g_ascii_strcasecmp(w, dates[i])) {
            g_autofree char *d = NULL;
            gint64 day;
            if (!eat(c->ps, ' ') || !(d = p_astring(c->ps)) || !search_date(d, &day))
                return NULL;
            SearchKey *k = key_new(K_DATE);
            k->day = day;
            k->cmp = (int) (i % 3) - 1;
            k->sent = i >= 3;
            return k;
        }
    if (!g_ascii_strcasecmp(w, "BODY") || !g_ascii_strcasecmp(w, "TEXT")) {
        char *str = NULL;
        if (!eat(c->ps, ' ') || !(str = p_astring(c->ps)))
            return NULL;
        SearchKey *k = key_new(K_TEXT);
        k->bit = g_ascii_toupper(w[0]) == 'T';
        k->str = str;
        return k;
    }
    if (!g_ascii_strcasecmp(w, "HEADER")) {
        char *field = NULL, *str = NULL;
        if (!eat(c->ps, ' ') || !(field = p_astring(c->ps)) || !eat(c->ps, ' ') ||
            !(str = p_astring(c->ps))) {
            g_free(field);
            return NULL;
        }
        SearchKey *k = key_new(K_HEADER);
        k->field = field;
        k->str = str;
        return k;
    }
    if (!g_ascii_strcasecmp(w, "KEYWORD") || !g_ascii_strcasecmp(w, "UNKEYWORD")) {
        /* Keywords are never kept (PERMANENTFLAGS has no \*): none is set. */
        g_autofree char *kw = NULL;
        if (!eat(c->ps, ' ') || !(kw = p_atom(c->ps, NULL)))
            return NULL;
        return key_new(g_ascii_toupper(w[0]) == 'K' ? K_NONE : K_ALL);
    }
    const char *headers[] = { "FROM", "SUBJECT", "TO", "CC", "BCC" };
    for (guint i = 0; i < G_N_ELEMENTS(headers); i++)
        if (!g_ascii_strcasecmp(w, headers[i])) {
            char *str = NULL;
            if (!eat(c->ps, ' ') || !(str = p_astring(c->ps)))
                return NULL;
            SearchKey *k = key_new(K_HEADER);
            k->field = g_strdup(headers[i]);
            k->str = str;
            return k;
        }
    if (!g_ascii_strcasecmp(w, "LARGER") || !g_ascii_strcasecmp(w, "SMALLER")) {
        g_autofree char *num = NULL;
        guint32 v = 0;
        if (!eat(c->ps, ' ') || !(num = p_atom(c->ps, NULL)) ||
            !(strcmp(num, "0") == 0 || parse_num(num, strlen(num), &v)))
            return NULL;
        SearchKey *k = key_new(g_ascii_toupper(w[0]) == 'L' ? K_LARGER : K_SMALLER);
        k->num = v;
        return k;
    }
    if (!g_ascii_strcasecmp(w, "NOT")) {
        SearchKey *sub;
        if (!eat(c->ps, ' ') || !(sub = p_search_key(c, depth + 1, count)))
            return NULL;
        SearchKey *k = key_new(K_NOT);
        k->subs = g_ptr_array_new_with_free_func(key_free);
        g_ptr_array_add(k->subs, sub);
        return k;
    }
    if (!g_ascii_strcasecmp(w, "OR")) {
        SearchKey *k = key_new(K_OR);
        k->subs = g_ptr_array_new_with_free_func(key_free);
        for (int i = 0; i < 2; i++) {
            SearchKey *sub;
            if (!eat(c->ps, ' ') || !(sub = p_search_key(c, depth + 1, count))) {
                key_free(k);
                return NULL;
            }
            g_ptr_array_add(k->subs, sub);
        }
        return k;
    }
    gboolean uid = !g_ascii_strcasecmp(w, "UID");
    g_autofree char *set = NULL;
    if (uid) {
        if (!eat(c->ps, ' ') || !(set = p_atom(c->ps, "*")))
            return NULL;
    } else if (is_set_syntax(w)) {
        set = g_strdup(w);
    } else {
        return NULL;
    }
    GArray *idx = resolve_set(c->srv, c->tag, set, uid);
    if (!idx) {
        *count = G_MAXUINT; /* answered already */
        return NULL;
    }
    SearchKey *k = key_new(uid ? K_UIDSET : K_SET);
    k->idx = idx;
    return k;
}

static gboolean
ascii_contains(const char *hay, const char *needle)
{
    gsize n = strlen(needle);
    for (const char *q = hay; *q; q++)
        if (g_ascii_strncasecmp(q, needle, n) == 0)
            return TRUE;
    return n == 0;
}

static gboolean
key_match(MsImapServer *srv, SearchKey *k, guint i, GBytes **msg)
{
    MsImapMessageInfo *m = msg_at(srv, i);
    switch (k->kind) {
    case K_ALL:
        return TRUE;
    case K_FLAG_SET:
        return (m->flags & k->bit) != 0;
    case K_FLAG_CLEAR:
        return (m->flags & k->bit) == 0;
    case K_LARGER:
        return m->size > k->num;
    case K_SMALLER:
        return m->size < k->num;
    case K_SET:
    case K_UIDSET:
        for (guint j = 0; j < k->idx->len; j++)
            if (g_array_index(k->idx, guint, j) == i)
                return TRUE;
        return FALSE;
    case K_HEADER: {
        if (!*msg)
            *msg = srv->hooks.read(srv->user_data, srv->user, srv->mailbox, m->uid);
        if (!*msg)
            return FALSE;
        gsize n;
        const guint8 *p = g_bytes_get_data(*msg, &n);
        g_autofree char *v = ms__imap_header_get(p, n, k->field);
        return v && ascii_contains(v, k->str);
    }
    case K_NONE:
        return FALSE;
    case K_DATE:
    case K_TEXT: {
        gint64 day =
            m->internal_date >= 0 ? m->internal_date / 86400 : (m->internal_date - 86399) / 86400;
        day += 719163; /* 1970-01-01 in GDate's day count (1 = 1 January of year 1) */
        if (k->kind == K_DATE && !k->sent)
            return k->cmp < 0 ? day < k->day : k->cmp == 0 ? day == k->day : day >= k->day;
        if (!*msg)
            *msg = srv->hooks.read(srv->user_data, srv->user, srv->mailbox, m->uid);
        if (!*msg)
            return FALSE;
        gsize n;
        const guint8 *p = g_bytes_get_data(*msg, &n);
        if (k->kind == K_DATE) {
            day = sent_day(p, n);
            if (day < 0)
                return FALSE;
            return k->cmp < 0 ? day < k->day : k->cmp == 0 ? day == k->day : day >= k->day;
        }
        gsize h = k->bit ? 0 : ms__imap_header_end(p, n);
        g_autofree char *text = g_strndup((const char *) p + h, n - h);
        return ascii_contains(text, k->str);
    }
    case K_NOT:
        return !key_match(srv, g_ptr_array_index(k->subs, 0), i, msg);
    case K_OR:
        return key_match(srv, g_ptr_array_index(k->subs, 0), i, msg) ||
               key_match(srv, g_ptr_array_index(k->subs, 1), i, msg);
    case K_AND:
        for (guint j = 0; j < k->subs->len; j++)
            if (!key_match(srv, g_ptr_array_index(k->subs, j), i, msg))
                return FALSE;
        return TRUE;
    }
    return FALSE;
}

/* RETURN options of ESEARCH (RFC 4731 3.1) and SAVE (RFC 5182 2.1). */
enum { R_MIN = 1, R_MAX = 2, R_ALL = 4, R_COUNT = 8, R_SAVE = 16 };

/* "RETURN (opt ...)" after "SEARCH "; *ret gets the options (an empty
 * list means ALL, RFC 4731 3.1). FALSE on a syntax error. */
static gboolean
p_search_return(Ctx *c, guint *ret)
{
    if (!eat(c->ps, '('))
        return FALSE;
    *ret = 0;
    if (!eat(c->ps, ')')) {
        do {
            g_autofree char *w = p_atom(c->ps, NULL);
            static const struct {
                const char *name;
                guint bit;
            } opts[] = { { "MIN", R_MIN },
                         { "MAX", R_MAX },
                         { "ALL", R_ALL },
                         { "COUNT", R_COUNT },
                         { "SAVE", R_SAVE } };
            guint bit = 0;
            for (guint i = 0; w && i < G_N_ELEMENTS(opts); i++)
                if (!g_ascii_strcasecmp(w, opts[i].name))
                    bit = opts[i].bit;
            if (!bit)
                return FALSE;
            *ret |= bit;
        } while (eat(c->ps, ' '));
        if (!eat(c->ps, ')'))
            return FALSE;
    }
    if (*ret == 0)
        *ret = R_ALL;
    return eat(c->ps, ' ');
}

/* The ESEARCH response (RFC 4731 3.1, RFC 9051 7.3.4) for the matches
 * `hits` (message numbers or UIDs, ascending). MIN, MAX and ALL are left
 * out when nothing matched; COUNT is always there when asked. */
static void
esearch_reply(Ctx *c, guint ret, const guint32 *hits, guint n)
{
    GString *s = g_string_new("* ESEARCH (TAG ");
    ms__imap_string(s, c->tag);
    g_string_append_c(s, ')');
    if (c->uid)
        g_string_append(s, " UID");
    if ((ret & R_MIN) && n)
        g_string_append_printf(s, " MIN %u", hits[0]);
    if ((ret & R_MAX) && n)
        g_string_append_printf(s, " MAX %u", hits[n - 1]);
    if (ret & R_COUNT)
        g_string_append_printf(s, " COUNT %u", n);
    if ((ret & R_ALL) && n) {
        g_string_append(s, " ALL ");
        append_uid_set(s, hits, n);
    }
    emit(c->srv, s);
    g_string_free(s, TRUE);
}

/* SEARCH (RFC 9051 6.4.4) with the RETURN options of ESEARCH (RFC 4731)
 * and SAVE (RFC 5182). The classic "* SEARCH" answer is given unless
 * RETURN was used. (After ENABLE IMAP4rev2 a client would get ESEARCH
 * always, RFC 9051 7.3.4; IMAP4rev2 is not offered yet.) */
static void
cmd_search(Ctx *c)
{
    MsImapServer *srv = c->srv;
    if (!eat(c->ps, ' ')) {
        syntax(c, "SEARCH");
        return;
    }
    guint ret = 0;
    gboolean esearch = FALSE;
    gsize st = c->ps->i;
    g_autofree char *first = p_atom(c->ps, NULL);
    if (first && !g_ascii_strcasecmp(first, "RETURN") && eat(c->ps, ' ')) {
        if (!p_search_return(c, &ret)) {
            if (ret & R_SAVE)
                g_array_set_size(srv->saved, 0);
            syntax(c, "SEARCH");
            return;
        }
        esearch = TRUE;
        st = c->ps->i;
        g_clear_pointer(&first, g_free);
        first = p_atom(c->ps, NULL);
    }
    /* RFC 9051 6.4.4: CHARSET US-ASCII or UTF-8. */
    if (first && !g_ascii_strcasecmp(first, "CHARSET")) {
        g_autofree char *cs = NULL;
        if (!eat(c->ps, ' ') || !(cs = p_astring(c->ps)) || !eat(c->ps, ' ')) {
            if (ret & R_SAVE)
                g_array_set_size(srv->saved, 0);
            syntax(c, "SEARCH");
            return;
        }
        if (g_ascii_strcasecmp(cs, "UTF-8") && g_ascii_strcasecmp(cs, "US-ASCII")) {
            if (ret & R_SAVE)
                g_array_set_size(srv->saved, 0);
            say(srv, "%s NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset.", c->tag);
            return;
        }
    } else {
        c->ps->i = st;
    }
    guint count = 0;
    SearchKey *key = p_search_keys(c, 0, FALSE, &count);
    if (!key) {
        /* RFC 5182 2.1: a failed SEARCH ... SAVE leaves "$" empty. */
        if (ret & R_SAVE)
            g_array_set_size(srv->saved, 0);
        if (count != G_MAXUINT)
            bad(srv, c->tag, "Error in IMAP command SEARCH: unsupported or invalid search key.");
        return;
    }
    g_autoptr(GArray) hits = g_array_new(FALSE, FALSE, sizeof(guint32));
    g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint i = 0; i < srv->msgs->len; i++) {
        g_autoptr(GBytes) msg = NULL;
        if (key_match(srv, key, i, &msg)) {
            guint32 u = msg_at(srv, i)->uid, v = c->uid ? u : i + 1;
            g_array_append_val(hits, v);
            g_array_append_val(uids, u);
        }
    }
    key_free(key);
    if (ret & R_SAVE) {
        /* RFC 5182 2.4: with MIN and/or MAX but neither ALL nor COUNT, only
         * those are saved. */
        g_array_set_size(srv->saved, 0);
        if ((ret & (R_MIN | R_MAX)) && !(ret & (R_ALL | R_COUNT))) {
            if ((ret & R_MIN) && uids->len)
                g_array_append_val(srv->saved, g_array_index(uids, guint32, 0));
            if ((ret & R_MAX) && uids->len > (ret & R_MIN ? 1u : 0u))
                g_array_append_val(srv->saved, g_array_index(uids, guint32, uids->len - 1));
        } else {
            g_array_append_vals(srv->saved, uids->data, uids->len);
        }
    }
    if (esearch) {
        /* RFC 5182 2.1: SAVE alone asks for no ESEARCH response. */
        if (ret & ~R_SAVE)
            esearch_reply(c, ret, (const guint32 *) (gpointer) hits->data, hits->len);
    } else {
        GString *s = g_string_new("* SEARCH");
        for (guint i = 0; i < hits->len; i++)
            g_string_append_printf(s, " %u", g_array_index(hits, guint32, i));
        emit(srv, s);
        g_string_free(s, TRUE);
    }
    say(srv, "%s OK Search completed.", c->tag);
}

/* ---- dispatch ---------------------------------------------------------- */

enum { A_NOAUTH = 1, A_AUTH = 2, A_SEL = 4, A_ANY = 7, A_LOGGED = 6 };

typedef struct {
    const char *name;
    guint states;
    gboolean uid_ok;
    CmdFunc func;
} Command;

static const Command commands[] = {
    { "CAPABILITY", A_ANY, FALSE, cmd_capability },
    { "NOOP", A_ANY, FALSE, cmd_noop },
    { "LOGOUT", A_ANY, FALSE, cmd_logout },
    { "STARTTLS", A_NOAUTH, FALSE, cmd_starttls },
    { "LOGIN", A_NOAUTH, FALSE, cmd_login },
    { "AUTHENTICATE", A_NOAUTH, FALSE, cmd_authenticate },
    { "ENABLE", A_LOGGED, FALSE, cmd_enable },
    { "SELECT", A_LOGGED, FALSE, cmd_select },
    { "EXAMINE", A_LOGGED, FALSE, cmd_examine },
    { "NAMESPACE", A_LOGGED, FALSE, cmd_namespace },
    { "LIST", A_LOGGED, FALSE, cmd_list },
    { "LSUB", A_LOGGED, FALSE, cmd_lsub },
    { "SUBSCRIBE", A_LOGGED, FALSE, cmd_subscribe },
    { "UNSUBSCRIBE", A_LOGGED, FALSE, cmd_subscribe },
    { "STATUS", A_LOGGED, FALSE, cmd_status },
    { "CREATE", A_LOGGED, FALSE, cmd_create },
    { "DELETE", A_LOGGED, FALSE, cmd_delete },
    { "RENAME", A_LOGGED, FALSE, cmd_rename },
    { "APPEND", A_LOGGED, FALSE, cmd_append },
    { "IDLE", A_LOGGED, FALSE, cmd_idle },
    { "CHECK", A_SEL, FALSE, cmd_check },
    { "CLOSE", A_SEL, FALSE, cmd_close },
    { "UNSELECT", A_SEL, FALSE, cmd_unselect },
    { "EXPUNGE", A_SEL, TRUE, cmd_expunge },
    { "FETCH", A_SEL, TRUE, cmd_fetch },
    { "STORE", A_SEL, TRUE, cmd_store },
    { "SEARCH", A_SEL, TRUE, cmd_search },
    { "COPY", A_SEL, TRUE, cmd_copy },
    { "MOVE", A_SEL, TRUE, cmd_move },
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
    Parser ps = { p, n, 0 };
    /* tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 9). */
    gsize st = 0;
    while (ps.i < n && atom_char(p[ps.i], TRUE) && p[ps.i] != '+')
        ps.i++;
    g_autofree char *tag = ps.i > st ? g_strndup((const char *) p, ps.i) : NULL;
    if (!tag || !eat(&ps, ' ')) {
        trace_command(srv, p, n, NULL, NULL);
        bad(srv, NULL, "Error in IMAP command received by server.");
        return;
    }
    g_autofree char *name = p_atom(&ps, NULL);
    trace_command(srv, p, n, tag, name);
    if (!name) {
        bad(srv, tag, "Error in IMAP command received by server.");
        return;
    }
    if (memchr(p, '\0', n)) {
        bad(srv, tag, "NUL octet in command.");
        return;
    }
    if (too_deep(p, n)) {
        bad(srv, tag, "Error in IMAP command: too deeply nested.");
        return;
    }
    gboolean uid = FALSE;
    if (!g_ascii_strcasecmp(name, "UID")) {
        g_free(name);
        name = NULL;
        if (!eat(&ps, ' ') || !(name = p_atom(&ps, NULL))) {
            bad(srv, tag, "Error in IMAP command UID: syntax error.");
            return;
        }
        uid = TRUE;
    }
    const Command *cmd = NULL;
    for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
        if (!g_ascii_strcasecmp(name, commands[i].name))
            cmd = &commands[i];
    if (!cmd || (uid && !cmd->uid_ok)) {
        bad(srv, tag, "Unknown command %s%s.", uid ? "UID " : "", cmd ? cmd->name : "");
        return;
    }
    guint st_bit = srv->state == ST_NOAUTH ? A_NOAUTH : srv->state == ST_AUTH ? A_AUTH : A_SEL;
    if (!(cmd->states & st_bit)) {
        bad(srv, tag, "%s%s not valid in this state.", uid ? "UID " : "", cmd->name);
        return;
    }
    guint bad_before = srv->bad_in_row;
    Ctx c = { srv, tag, &ps, uid };
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
    while (i < cmd->len && atom_char(cmd->data[i], TRUE) && cmd->data[i] != '+')
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
        say(srv, "%s OK Idle completed.", tag);
    else
        bad(srv, tag, "Expected DONE.");
}

static void
auth_line(MsImapServer *srv, const guint8 *p, gsize n)
{
    if (srv->trace_fn)
        srv->trace_fn(srv->trace_ud, TRUE, srv->cfg.trace_secrets ? "[SASL response]" : "****");
    srv->mode = IN_COMMAND;
    g_autofree char *tag = g_steal_pointer(&srv->tag);
    if (n == 1 && p[0] == '*') { /* RFC 9051 6.2.2 */
        bad(srv, tag, "Authentication aborted by client.");
        return;
    }
    g_autofree char *line = g_strndup((const char *) p, n);
    if (strlen(line) != n) {
        bad(srv, tag, "Invalid base64 data in continued response");
        return;
    }
    Parser ps = { (const guint8 *) "\r\n", 2, 0 };
    Ctx c = { srv, tag, &ps, FALSE };
    sasl_plain(&c, line);
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
            if (srv->discarding || avail > MS_IMAP_SERVER_LINE_MAX) {
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
            bad(srv, NULL, "[TOOBIG] Line too long.");
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
                    say(srv, "* BYE [TOOBIG] Literal too large.");
                    srv->state = ST_CLOSED;
                } else {
                    say(srv, "%s NO [TOOBIG] Literal too large.", tag); /* RFC 9051 7.1 */
                }
                continue;
            }
            srv->literal_left = size;
            if (!nonsync)
                say(srv, "+ Ready for literal data");
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
        say(srv, "* BYE Too much unread input.");
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
                             hooks->delete_mailbox && hooks->rename,
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
    capability_list(srv, s);
    g_string_append_printf(s, "] %s IMAP server ready.", srv->hostname);
    emit(srv, s);
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
        sync_box(srv);
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

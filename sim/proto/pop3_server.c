/* The POP3 server core (see include/mailsim/pop3_server.h): turns the bytes
 * a POP3 client sends into the bytes a maildrop server answers, for both the
 * simulated hosts and the real-socket bridge.
 *
 * Design. Input is appended to one buffer and cut into lines at LF (a CR
 * before the LF is dropped, a bare LF is tolerated). Each complete line is
 * one command: its keyword is looked up case-insensitively in a table that
 * says in which state it is valid and how many arguments it takes (RFC 1939
 * 3), and its handler appends the reply to the output buffer. Since a reply
 * depends only on the line and the state, never on where the input was cut,
 * any split of the same input gives the same output.
 *
 * States (RFC 1939 3): AUTHORIZATION until USER/PASS or APOP succeed and the
 * maildrop is locked and listed; TRANSACTION until QUIT; then UPDATE, which
 * commits the deletions and unlocks, and the session is closed. A connection
 * that is dropped in TRANSACTION commits nothing (RFC 1939 6): _free only
 * unlocks.
 *
 * Hostile input. A line is at most 255 octets with its CRLF (RFC 2449 4).
 * Once 255 octets are buffered without an LF, the rest of the line is
 * discarded as it arrives, so memory stays bounded, and "-ERR" is answered
 * when its LF comes (whatever the split, one reply per overlong line). NUL
 * bytes, unknown keywords, missing or extra arguments, non-numbers and
 * numbers out of range are all answered "-ERR" and the state is unchanged.
 *
 * Flow control. Input is not read while the output buffer holds at least
 * OUT_HIGH_WATER bytes, so a client that pipelines many RETRs without
 * reading its replies cannot make the server build them all at once; taking
 * output reads on. Input left unread beyond IN_MAX closes the session.
 * During the authentication delay (see the header) input is not read either.
 *
 * TLS (RFC 2595 4). STLS is a command of the AUTHORIZATION state only.
 * Once its "+OK" is queued the core reads nothing more: the rest of the
 * buffered input and whatever is fed until ms_pop3_server_tls_started() is
 * dropped, because it arrived in clear text and a man in the middle may
 * have put it there (the CVE-2011-0411 class). With auth_requires_tls the
 * login commands wait for TLS, in Dovecot's words.
 *
 * Ownership: the server copies its configuration; message bytes from the
 * retrieve hook are released as soon as the reply is built. Costs: a RETR
 * copies the message once into the output (byte-stuffing, O(size)); every
 * other command is O(number of messages) at most. No global state, no clock;
 * one server per connection, used by one thread at a time. */
#include "mailsim/pop3_server.h"
#include "line_reader-private.h"

#include <string.h>

#define OUT_HIGH_WATER (1u << 20) /* stop reading input above 1 MiB of output */
#define IN_MAX         (1u << 20) /* unread input beyond this closes the session */
#define MAX_ARGS       2          /* TOP n m has the most arguments */

typedef enum { ST_AUTHORIZATION, ST_TRANSACTION, ST_CLOSED } State;

typedef struct {
    MsPop3MessageInfo info;
    gboolean deleted;
} Entry;

struct _MsPop3Server {
    MsPop3ServerConfig cfg; /* strings below are owned copies */
    char *hostname, *apop_token, *implementation;
    MsPop3ServerHooks hooks;
    gpointer user_data;

    State state;
    gboolean started;
    char *timestamp;    /* "<token@host>" or NULL when APOP is off */
    char *pending_user; /* name given by the last USER, until PASS */
    char *user;         /* the user whose maildrop is locked */
    gboolean locked;
    gboolean tls;           /* inside TLS */
    gboolean wants_tls;     /* "+OK" to STLS queued, handshake pending */
    gboolean tls_discarded; /* clear-text input after STLS was dropped */
    GArray *entries; /* of Entry, message k at index k-1 */
    guint auth_failures;

    GByteArray *in;
    gsize in_pos;        /* first unread byte of `in` */
    gboolean discarding; /* inside an overlong line */
    GByteArray *out;

    gboolean holding; /* waiting for ms_pop3_server_resume() */
    GByteArray *held; /* the reply held back during the delay */
    guint64 delay_to_take;
    gboolean close_after_hold;
};

typedef void (*CmdFunc)(MsPop3Server *srv, char **args, guint nargs, const char *rest);

typedef struct {
    const char *name;
    gboolean in_auth, in_trans;
    guint min_args, max_args;
    CmdFunc func;
} Command;

/* ---- output and trace ------------------------------------------------- */

/* Makes a protocol line fit for a trace: valid UTF-8 kept, anything else
 * (controls, NUL, broken sequences) written as \xNN. Newly allocated. */
static char *
printable(const guint8 *p, gsize n)
{
    GString *s = g_string_sized_new(n + 8);
    gsize i = 0;
    while (i < n) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            g_string_append_c(s, (char) p[i]);
            i++;
            continue;
        }
        if (p[i] >= 0x80) {
            gunichar c = g_utf8_get_char_validated((const char *) p + i, (gssize) (n - i));
            if (c != (gunichar) -1 && c != (gunichar) -2 && c >= 0xa0) {
                const char *next = g_utf8_next_char((const char *) p + i);
                gsize step = (gsize) (next - (const char *) p) - i;
                g_string_append_len(s, (const char *) p + i, (gssize) step);
                i += step;
                continue;
            }
        }
        g_string_append_printf(s, "\\x%02X", p[i]);
        i++;
    }
    return g_string_free(s, FALSE);
}

static void
trace(MsPop3Server *srv, gboolean from_client, const char *line, gsize len)
{
    if (!srv->hooks.trace)
        return;
    g_autofree char *text = printable((const guint8 *) line, len);
    srv->hooks.trace(srv->user_data, from_client, text);
}

static GByteArray *
sink(MsPop3Server *srv)
{
    return srv->holding ? srv->held : srv->out;
}

/* Appends one reply line (CRLF added) to the output, or to the held reply
 * during the authentication delay, and traces it. */
G_GNUC_PRINTF(2, 3)
static void
reply(MsPop3Server *srv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    gsize n = strlen(line);
    trace(srv, FALSE, line, n);
    GByteArray *o = sink(srv);
    g_byte_array_append(o, (const guint8 *) line, (guint) n);
    g_byte_array_append(o, (const guint8 *) "\r\n", 2);
}

/* Appends message text byte-stuffed (RFC 1939 3: a line that starts with
 * '.' gets one more '.'), then the terminating "." line. Any LF counts as a
 * line end, so a stray bare LF cannot smuggle a terminator. */
static void
append_stuffed(GByteArray *o, const guint8 *p, gsize n)
{
    gsize i = 0;
    while (i < n) {
        if (p[i] == '.')
            g_byte_array_append(o, (const guint8 *) ".", 1);
        const guint8 *lf = memchr(p + i, '\n', n - i);
        gsize end = lf ? (gsize) (lf - p) + 1 : n;
        g_byte_array_append(o, p + i, (guint) (end - i));
        i = end;
    }
    if (n > 0 && p[n - 1] != '\n')
        g_byte_array_append(o, (const guint8 *) "\r\n", 2);
    g_byte_array_append(o, (const guint8 *) ".\r\n", 3);
}

/* ---- maildrop --------------------------------------------------------- */

static void
count_live(const MsPop3Server *srv, guint *n, guint64 *octets)
{
    *n = 0;
    *octets = 0;
    for (guint i = 0; i < srv->entries->len; i++) {
        const Entry *e = &g_array_index(srv->entries, Entry, i);
        if (!e->deleted) {
            (*n)++;
            *octets += e->info.size;
        }
    }
}

static gboolean
uid_valid(const char *uid)
{
    gsize n = strnlen(uid, MS_POP3_UID_MAX + 1);
    if (n < 1 || n > MS_POP3_UID_MAX)
        return FALSE;
    for (gsize i = 0; i < n; i++)
        if (uid[i] < 0x21 || uid[i] > 0x7e)
            return FALSE;
    return TRUE;
}

static void
unlock(MsPop3Server *srv)
{
    if (srv->locked) {
        srv->locked = FALSE;
        if (srv->hooks.unlock)
            srv->hooks.unlock(srv->user_data, srv->user);
    }
}

/* After a successful login: lock, list, enter TRANSACTION (RFC 1939 4). */
static void
open_maildrop(MsPop3Server *srv, const char *user)
{
    g_free(srv->user);
    srv->user = g_strdup(user);
    if (srv->hooks.lock && !srv->hooks.lock(srv->user_data, user)) {
        reply(srv, "-ERR [IN-USE] maildrop already locked by another session");
        return;
    }
    srv->locked = TRUE;
    g_autoptr(GArray) infos = g_array_new(FALSE, TRUE, sizeof(MsPop3MessageInfo));
    gboolean ok = srv->hooks.list(srv->user_data, user, infos);
    for (guint i = 0; ok && i < infos->len; i++)
        ok = uid_valid(g_array_index(infos, MsPop3MessageInfo, i).uid);
    if (!ok) {
        unlock(srv);
        reply(srv, "-ERR [SYS/TEMP] cannot open maildrop");
        return;
    }
    g_array_set_size(srv->entries, 0);
    for (guint i = 0; i < infos->len; i++) {
        Entry e = { .info = g_array_index(infos, MsPop3MessageInfo, i), .deleted = FALSE };
        g_array_append_val(srv->entries, e);
    }
    srv->state = ST_TRANSACTION;
    guint n;
    guint64 octets;
    count_live(srv, &n, &octets);
    reply(srv, "+OK maildrop has %u message%s (%" G_GUINT64_FORMAT " octets)", n, n == 1 ? "" : "s",
          octets);
}

/* A failed PASS or APOP: the -ERR is held for the delay (RFC 1939 13
 * leaves the counter-measure to the server; RFC 3206 4 names [AUTH]). */
static void
auth_failed(MsPop3Server *srv)
{
    srv->auth_failures++;
    gboolean last = srv->auth_failures >= srv->cfg.max_auth_failures;
    if (srv->cfg.auth_fail_delay_ms > 0) {
        srv->holding = TRUE;
        srv->delay_to_take = srv->cfg.auth_fail_delay_ms;
    }
    if (last)
        reply(srv, "-ERR [AUTH] invalid credentials, too many failures, closing");
    else
        reply(srv, "-ERR [AUTH] invalid credentials");
    if (last) {
        if (srv->holding)
            srv->close_after_hold = TRUE;
        else
            srv->state = ST_CLOSED;
    }
}

/* ---- arguments -------------------------------------------------------- */

/* A decimal number without sign, at most 10 digits, <= G_MAXUINT32. */
static gboolean
parse_number(const char *s, guint *out)
{
    gsize n = strlen(s);
    if (n == 0 || n > 10)
        return FALSE;
    guint64 v = 0;
    for (gsize i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        v = v * 10 + (guint64) (s[i] - '0');
    }
    if (v > G_MAXUINT32)
        return FALSE;
    *out = (guint) v;
    return TRUE;
}

/* Resolves a message-number argument to a live entry, answering -ERR and
 * returning NULL when it names no message or a deleted one. */
static Entry *
message_arg(MsPop3Server *srv, const char *arg, guint *msgno)
{
    guint k;
    if (!parse_number(arg, &k)) {
        reply(srv, "-ERR invalid message number");
        return NULL;
    }
    if (k < 1 || k > srv->entries->len) {
        reply(srv, "-ERR no such message");
        return NULL;
    }
    Entry *e = &g_array_index(srv->entries, Entry, k - 1);
    if (e->deleted) {
        reply(srv, "-ERR message %u already deleted", k);
        return NULL;
    }
    *msgno = k;
    return e;
}

/* ---- commands --------------------------------------------------------- */

static gboolean
login_allowed(const MsPop3Server *srv)
{
    return srv->tls || !srv->cfg.auth_requires_tls;
}

/* Dovecot's refusal with disable_plaintext_auth = yes (its
 * AUTH_PLAINTEXT_DISABLED_MSG under the [AUTH] code of RFC 3206 4).
 * Dovecot lets APOP through, as it is no plain-text mechanism; it is
 * refused here too, since its MD5 digest can be guessed offline by anyone
 * who captured it. Returns TRUE when refused. */
static gboolean
login_refused(MsPop3Server *srv)
{
    if (login_allowed(srv))
        return FALSE;
    reply(srv, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) "
               "connections.");
    return TRUE;
}

/* STLS (RFC 2595 4), answered in Dovecot's words (login-common,
 * client_cmd_starttls). */
static void
cmd_stls(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) args;
    (void) nargs;
    (void) rest;
    if (srv->tls) {
        reply(srv, "-ERR TLS is already active.");
        return;
    }
    if (!srv->cfg.offer_stls) {
        reply(srv, "-ERR TLS support isn't enabled.");
        return;
    }
    reply(srv, "+OK Begin TLS negotiation now.");
    srv->wants_tls = TRUE;
}

static void
cmd_user(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) nargs;
    (void) rest;
    if (login_refused(srv))
        return;
    g_free(srv->pending_user);
    srv->pending_user = g_strdup(args[0]);
    /* The same answer for every name, so USER cannot probe for accounts. */
    reply(srv, "+OK send PASS");
}

static void
cmd_pass(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) args;
    (void) nargs;
    if (login_refused(srv)) {
        g_clear_pointer(&srv->pending_user, g_free);
        return;
    }
    if (!srv->pending_user) {
        reply(srv, "-ERR send USER first");
        return;
    }
    /* RFC 1939 7: the password is the rest of the line, spaces included. */
    g_autofree char *user = g_steal_pointer(&srv->pending_user);
    if (srv->hooks.authenticate(srv->user_data, user, rest))
        open_maildrop(srv, user);
    else
        auth_failed(srv);
}

static gboolean
is_hex32(const char *s)
{
    if (strlen(s) != 32)
        return FALSE;
    for (int i = 0; i < 32; i++)
        if (!g_ascii_isxdigit(s[i]))
            return FALSE;
    return TRUE;
}

static void
cmd_apop(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) nargs;
    (void) rest;
    g_clear_pointer(&srv->pending_user, g_free);
    if (login_refused(srv))
        return;
    if (!srv->timestamp) {
        reply(srv, "-ERR APOP not available");
        return;
    }
    if (!is_hex32(args[1])) {
        reply(srv, "-ERR invalid digest");
        return;
    }
    g_autofree char *secret =
        srv->hooks.apop_secret ? srv->hooks.apop_secret(srv->user_data, args[0]) : NULL;
    gboolean ok = FALSE;
    if (secret) {
        /* RFC 1939 7: digest = MD5(timestamp, including <>, then secret). */
        g_autofree char *joined = g_strconcat(srv->timestamp, secret, NULL);
        g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_MD5, joined, -1);
        ok = g_ascii_strcasecmp(digest, args[1]) == 0;
    }
    if (ok)
        open_maildrop(srv, args[0]);
    else
        auth_failed(srv);
}

static void
cmd_capa(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) args;
    (void) nargs;
    (void) rest;
    /* RFC 2449 5 and 6; AUTH-RESP-CODE is RFC 3206 6. */
    reply(srv, "+OK capability list follows");
    reply(srv, "TOP");
    reply(srv, "UIDL");
    if (srv->state == ST_AUTHORIZATION && login_allowed(srv))
        reply(srv, "USER");
    reply(srv, "RESP-CODES");
    reply(srv, "AUTH-RESP-CODE");
    reply(srv, "PIPELINING");
    /* RFC 2595 4: STLS only where it may be used, before login and TLS. */
    if (srv->state == ST_AUTHORIZATION && srv->cfg.offer_stls && !srv->tls)
        reply(srv, "STLS");
    reply(srv, "IMPLEMENTATION %s", srv->implementation);
    reply(srv, ".");
}

static void
cmd_stat(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) args;
    (void) nargs;
    (void) rest;
    guint n;
    guint64 octets;
    count_live(srv, &n, &octets);
    reply(srv, "+OK %u %" G_GUINT64_FORMAT, n, octets); /* RFC 1939 5 STAT */
}

static void
list_or_uidl(MsPop3Server *srv, char **args, guint nargs, gboolean uidl)
{
    if (nargs == 1) {
        guint k;
        Entry *e = message_arg(srv, args[0], &k);
        if (!e)
            return;
        if (uidl)
            reply(srv, "+OK %u %s", k, e->info.uid);
        else
            reply(srv, "+OK %u %" G_GUINT64_FORMAT, k, e->info.size);
        return;
    }
    guint n;
    guint64 octets;
    count_live(srv, &n, &octets);
    if (uidl)
        reply(srv, "+OK unique-id listing follows");
    else
        reply(srv, "+OK %u message%s (%" G_GUINT64_FORMAT " octets)", n, n == 1 ? "" : "s", octets);
    for (guint i = 0; i < srv->entries->len; i++) {
        const Entry *e = &g_array_index(srv->entries, Entry, i);
        if (e->deleted)
            continue;
        if (uidl)
            reply(srv, "%u %s", i + 1, e->info.uid);
        else
            reply(srv, "%u %" G_GUINT64_FORMAT, i + 1, e->info.size);
    }
    reply(srv, ".");
}

static void
cmd_list(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) rest;
    list_or_uidl(srv, args, nargs, FALSE);
}

static void
cmd_uidl(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) rest;
    list_or_uidl(srv, args, nargs, TRUE);
}

/* Length of the part of a message that TOP sends: the header, the empty
 * line after it, and at most `lines` lines of the body (RFC 1939 7). */
static gsize
top_length(const guint8 *p, gsize n, guint lines)
{
    gsize i = 0;
    gboolean header = TRUE;
    while (i < n) {
        if (!header && lines == 0)
            break;
        const guint8 *lf = memchr(p + i, '\n', n - i);
        gsize end = lf ? (gsize) (lf - p) + 1 : n;
        if (header) {
            gsize len = end - i;
            if ((len == 2 && p[i] == '\r') || len == 1)
                header = FALSE;
        } else {
            lines--;
        }
        i = end;
    }
    return i;
}

static void
send_message(MsPop3Server *srv, char **args, gboolean top)
{
    guint k;
    Entry *e = message_arg(srv, args[0], &k);
    if (!e)
        return;
    guint lines = 0;
    if (top && !parse_number(args[1], &lines)) {
        reply(srv, "-ERR invalid number of lines");
        return;
    }
    g_autoptr(GBytes) msg = srv->hooks.retrieve(srv->user_data, srv->user, k - 1);
    if (!msg || g_bytes_get_size(msg) != e->info.size) {
        reply(srv, "-ERR [SYS/TEMP] message %u unavailable", k);
        return;
    }
    gsize n;
    const guint8 *p = g_bytes_get_data(msg, &n);
    if (top) {
        n = top_length(p, n, lines);
        reply(srv, "+OK top of message follows");
    } else {
        reply(srv, "+OK %" G_GUINT64_FORMAT " octets", e->info.size);
    }
    if (srv->hooks.trace) {
        g_autofree char *sum = g_strdup_printf("[%" G_GSIZE_FORMAT " octets of message %u]", n, k);
        srv->hooks.trace(srv->user_data, FALSE, sum);
        srv->hooks.trace(srv->user_data, FALSE, ".");
    }
    append_stuffed(srv->out, p, n);
}

static void
cmd_retr(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) nargs;
    (void) rest;
    send_message(srv, args, FALSE);
}

static void
cmd_top(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) nargs;
    (void) rest;
    send_message(srv, args, TRUE);
}

static void
cmd_dele(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) nargs;
    (void) rest;
    guint k;
    Entry *e = message_arg(srv, args[0], &k);
    if (!e)
        return;
    e->deleted = TRUE;
    reply(srv, "+OK message %u deleted", k);
}

static void
cmd_noop(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) args;
    (void) nargs;
    (void) rest;
    reply(srv, "+OK");
}

static void
cmd_rset(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) args;
    (void) nargs;
    (void) rest;
    for (guint i = 0; i < srv->entries->len; i++)
        g_array_index(srv->entries, Entry, i).deleted = FALSE;
    guint n;
    guint64 octets;
    count_live(srv, &n, &octets);
    reply(srv, "+OK maildrop has %u message%s (%" G_GUINT64_FORMAT " octets)", n, n == 1 ? "" : "s",
          octets);
}

static void
cmd_quit(MsPop3Server *srv, char **args, guint nargs, const char *rest)
{
    (void) args;
    (void) nargs;
    (void) rest;
    if (srv->state == ST_AUTHORIZATION) {
        srv->state = ST_CLOSED;
        reply(srv, "+OK bye");
        return;
    }
    /* RFC 1939 6: the UPDATE state commits deletions, then unlocks. */
    g_autoptr(GArray) gone = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < srv->entries->len; i++)
        if (g_array_index(srv->entries, Entry, i).deleted)
            g_array_append_val(gone, i);
    gboolean ok = TRUE;
    if (gone->len > 0 && srv->hooks.commit)
        ok = srv->hooks.commit(srv->user_data, srv->user, (const guint *) (void *) gone->data,
                               gone->len);
    unlock(srv);
    srv->state = ST_CLOSED;
    if (ok)
        reply(srv, "+OK bye, %u message%s deleted", gone->len, gone->len == 1 ? "" : "s");
    else
        reply(srv, "-ERR [SYS/TEMP] some deleted messages not removed");
}

static const Command commands[] = {
    { "USER", TRUE, FALSE, 1, 1, cmd_user }, { "PASS", TRUE, FALSE, 1, G_MAXUINT, cmd_pass },
    { "APOP", TRUE, FALSE, 2, 2, cmd_apop }, { "CAPA", TRUE, TRUE, 0, 0, cmd_capa },
    { "QUIT", TRUE, TRUE, 0, 0, cmd_quit },  { "STAT", FALSE, TRUE, 0, 0, cmd_stat },
    { "LIST", FALSE, TRUE, 0, 1, cmd_list }, { "UIDL", FALSE, TRUE, 0, 1, cmd_uidl },
    { "RETR", FALSE, TRUE, 1, 1, cmd_retr }, { "TOP", FALSE, TRUE, 2, 2, cmd_top },
    { "DELE", FALSE, TRUE, 1, 1, cmd_dele }, { "NOOP", FALSE, TRUE, 0, 0, cmd_noop },
    { "RSET", FALSE, TRUE, 0, 0, cmd_rset }, { "STLS", TRUE, FALSE, 0, 0, cmd_stls },
};

/* ---- lines ------------------------------------------------------------ */

static void
trace_command(MsPop3Server *srv, const char *line, gsize n, const Command *c)
{
    if (!srv->hooks.trace)
        return;
    if (c && !srv->cfg.trace_secrets && c->func == cmd_pass) {
        srv->hooks.trace(srv->user_data, TRUE, "PASS ****");
        return;
    }
    if (c && !srv->cfg.trace_secrets && c->func == cmd_apop) {
        /* Keep the user name, hide the digest. */
        const char *sp = memchr(line, ' ', n);
        const char *sp2 = sp ? memchr(sp + 1, ' ', n - (gsize) (sp + 1 - line)) : NULL;
        gsize keep = sp2 ? (gsize) (sp2 - line) : n;
        g_autofree char *head = printable((const guint8 *) line, keep);
        g_autofree char *text = g_strconcat(head, " ****", NULL);
        srv->hooks.trace(srv->user_data, TRUE, text);
        return;
    }
    trace(srv, TRUE, line, n);
}

/* One command line, without its CRLF, at most LINE_MAX - 1 octets. */
static void
handle_line(MsPop3Server *srv, const guint8 *p, gsize n)
{
    /* RFC 1939 7: PASS is valid only right after USER; any other line in
     * between forgets the name. */
    g_autofree char *pending = g_steal_pointer(&srv->pending_user);
    if (memchr(p, '\0', n)) {
        trace(srv, TRUE, (const char *) p, n);
        reply(srv, "-ERR NUL byte in command");
        return;
    }
    char line[MS_POP3_SERVER_LINE_MAX];
    memcpy(line, p, n);
    line[n] = '\0';

    gsize kw = strcspn(line, " ");
    const Command *c = NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        if (strlen(commands[i].name) == kw && g_ascii_strncasecmp(line, commands[i].name, kw) == 0)
            c = &commands[i];
    trace_command(srv, line, n, c);
    if (!c) {
        reply(srv, "-ERR unknown command");
        return;
    }
    gboolean ok_state = srv->state == ST_AUTHORIZATION ? c->in_auth : c->in_trans;
    if (!ok_state) {
        reply(srv, "-ERR %s not valid in this state", c->name);
        return;
    }
    const char *rest = line[kw] == ' ' ? line + kw + 1 : line + kw;
    char *args[MAX_ARGS];
    guint nargs = 0;
    gboolean too_many = FALSE;
    g_auto(GStrv) words = g_strsplit(rest, " ", -1);
    for (char **w = words; *w; w++) {
        if (**w == '\0')
            continue;
        if (nargs == MAX_ARGS) {
            too_many = TRUE;
            break;
        }
        args[nargs++] = *w;
    }
    /* PASS takes the rest of the line as one argument (RFC 1939 7). */
    if (c->func == cmd_pass) {
        too_many = FALSE;
        srv->pending_user = g_steal_pointer(&pending);
    }
    if (nargs < c->min_args || too_many || (c->max_args != G_MAXUINT && nargs > c->max_args)) {
        reply(srv, "-ERR syntax error in %s", c->name);
        return;
    }
    c->func(srv, args, nargs, rest);
}

static void
discard_before_tls(MsPop3Server *srv)
{
    if (!srv->tls_discarded && srv->hooks.trace)
        srv->hooks.trace(srv->user_data, TRUE, "[clear-text input after STLS discarded]");
    srv->tls_discarded = TRUE;
}

static void
process_input(MsPop3Server *srv)
{
    while (srv->state != ST_CLOSED && !srv->holding && !srv->wants_tls &&
           srv->out->len < OUT_HIGH_WATER) {
        gsize avail = srv->in->len - srv->in_pos;
        if (avail == 0)
            break;
        const guint8 *p = srv->in->data + srv->in_pos;
        gsize used, n;
        MsLineReaderCut cut =
            ms__line_reader_cut(p, avail, MS_POP3_SERVER_LINE_MAX, &srv->discarding, &used, &n);
        srv->in_pos += used;
        if (cut == MS__LINE_READER_WAIT)
            break;
        if (cut == MS__LINE_READER_TOO_LONG) {
            if (srv->hooks.trace)
                srv->hooks.trace(srv->user_data, TRUE, "[overlong line]");
            reply(srv, "-ERR line too long");
            continue;
        }
        handle_line(srv, p, n);
        if (srv->wants_tls) {
            /* RFC 2595 4 and CVE-2011-0411: nothing sent in clear text
             * after STLS is a command of the TLS session. */
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
        if (srv->holding)
            srv->close_after_hold = TRUE;
        else
            srv->state = ST_CLOSED;
        reply(srv, "-ERR too much unread input, closing");
    }
}

/* ---- public ----------------------------------------------------------- */

void
ms_pop3_server_config_init(MsPop3ServerConfig *cfg)
{
    g_return_if_fail(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->hostname = "localhost";
    cfg->apop_token = NULL;
    cfg->auth_fail_delay_ms = 2000;
    cfg->max_auth_failures = 3;
    cfg->implementation = "mailsim";
    cfg->trace_secrets = FALSE;
}

static gboolean
token_valid(const char *s)
{
    if (!*s)
        return FALSE;
    for (const char *q = s; *q; q++)
        if (*q <= 0x20 || *q >= 0x7f || *q == '<' || *q == '>' || *q == '@')
            return FALSE;
    return TRUE;
}

MsPop3Server *
ms_pop3_server_new(const MsPop3ServerConfig *cfg, const MsPop3ServerHooks *hooks,
                   gpointer user_data)
{
    g_return_val_if_fail(cfg != NULL && hooks != NULL, NULL);
    g_return_val_if_fail(
        hooks->authenticate != NULL && hooks->list != NULL && hooks->retrieve != NULL, NULL);
    g_return_val_if_fail(cfg->hostname != NULL && token_valid(cfg->hostname), NULL);
    g_return_val_if_fail(cfg->apop_token == NULL || token_valid(cfg->apop_token), NULL);
    MsPop3Server *srv = g_new0(MsPop3Server, 1);
    srv->cfg = *cfg;
    srv->hostname = g_strdup(cfg->hostname);
    srv->apop_token = g_strdup(cfg->apop_token);
    srv->implementation = g_strdup(cfg->implementation ? cfg->implementation : "mailsim");
    srv->cfg.hostname = srv->hostname;
    srv->cfg.apop_token = srv->apop_token;
    srv->cfg.implementation = srv->implementation;
    if (srv->cfg.max_auth_failures == 0)
        srv->cfg.max_auth_failures = 1;
    srv->hooks = *hooks;
    srv->user_data = user_data;
    srv->state = ST_AUTHORIZATION;
    srv->tls = cfg->tls_active;
    if (cfg->apop_token)
        srv->timestamp = g_strdup_printf("<%s@%s>", cfg->apop_token, cfg->hostname);
    srv->entries = g_array_new(FALSE, TRUE, sizeof(Entry));
    srv->in = g_byte_array_new();
    srv->out = g_byte_array_new();
    srv->held = g_byte_array_new();
    return srv;
}

void
ms_pop3_server_free(MsPop3Server *srv)
{
    if (!srv)
        return;
    unlock(srv); /* a dropped session: nothing committed (RFC 1939 6) */
    g_free(srv->hostname);
    g_free(srv->apop_token);
    g_free(srv->implementation);
    g_free(srv->timestamp);
    g_free(srv->pending_user);
    g_free(srv->user);
    g_array_unref(srv->entries);
    g_byte_array_unref(srv->in);
    g_byte_array_unref(srv->out);
    g_byte_array_unref(srv->held);
    g_free(srv);
}

void
ms_pop3_server_start(MsPop3Server *srv)
{
    g_return_if_fail(srv != NULL && !srv->started);
    srv->started = TRUE;
    if (srv->timestamp)
        reply(srv, "+OK %s POP3 server ready %s", srv->hostname, srv->timestamp);
    else
        reply(srv, "+OK %s POP3 server ready", srv->hostname);
}

void
ms_pop3_server_feed(MsPop3Server *srv, const guint8 *data, gsize len)
{
    g_return_if_fail(srv != NULL && srv->started);
    g_return_if_fail(data != NULL || len == 0);
    if (srv->state == ST_CLOSED || srv->close_after_hold)
        return;
    if (srv->wants_tls) {
        if (len > 0)
            discard_before_tls(srv);
        return;
    }
    g_byte_array_append(srv->in, data, (guint) len);
    process_input(srv);
}

GBytes *
ms_pop3_server_take_output(MsPop3Server *srv)
{
    g_return_val_if_fail(srv != NULL, NULL);
    if (srv->out->len == 0)
        return NULL;
    GBytes *b = g_byte_array_free_to_bytes(srv->out);
    srv->out = g_byte_array_new();
    process_input(srv); /* the high-water mark may have stopped the reading */
    return b;
}

guint64
ms_pop3_server_take_delay_ms(MsPop3Server *srv)
{
    g_return_val_if_fail(srv != NULL, 0);
    guint64 d = srv->delay_to_take;
    srv->delay_to_take = 0;
    return d;
}

gboolean
ms_pop3_server_is_held(const MsPop3Server *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->holding;
}

void
ms_pop3_server_resume(MsPop3Server *srv)
{
    g_return_if_fail(srv != NULL);
    if (!srv->holding)
        return;
    srv->holding = FALSE;
    srv->delay_to_take = 0;
    g_byte_array_append(srv->out, srv->held->data, srv->held->len);
    g_byte_array_set_size(srv->held, 0);
    if (srv->close_after_hold) {
        srv->state = ST_CLOSED;
        g_byte_array_set_size(srv->in, 0);
        return;
    }
    process_input(srv);
}

gboolean
ms_pop3_server_wants_tls(const MsPop3Server *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->wants_tls && srv->state != ST_CLOSED;
}

void
ms_pop3_server_tls_started(MsPop3Server *srv)
{
    g_return_if_fail(srv != NULL && srv->wants_tls);
    srv->wants_tls = FALSE;
    srv->tls = TRUE;
    srv->tls_discarded = FALSE;
    /* RFC 2595 4: still AUTHORIZATION; a USER given in clear is forgotten. */
    g_clear_pointer(&srv->pending_user, g_free);
    srv->discarding = FALSE;
    g_byte_array_set_size(srv->in, 0);
    srv->in_pos = 0;
    if (srv->hooks.trace)
        srv->hooks.trace(srv->user_data, TRUE, "[TLS established]");
}

void
ms_pop3_server_tls_failed(MsPop3Server *srv)
{
    g_return_if_fail(srv != NULL);
    srv->wants_tls = FALSE;
    srv->state = ST_CLOSED;
    g_byte_array_set_size(srv->in, 0);
    srv->in_pos = 0;
    if (srv->hooks.trace)
        srv->hooks.trace(srv->user_data, TRUE, "[TLS handshake failed]");
}

gboolean
ms_pop3_server_is_tls(const MsPop3Server *srv)
{
    g_return_val_if_fail(srv != NULL, FALSE);
    return srv->tls;
}

gboolean
ms_pop3_server_is_closed(const MsPop3Server *srv)
{
    g_return_val_if_fail(srv != NULL, TRUE);
    return srv->state == ST_CLOSED;
}

/* The SMTP client protocol core (see include/mailsim/smtp_client.h). In the
 * data flow it is the sending side of every hop: the MUA's submission, an
 * MTA's relay attempt, the bridge's hand-off to a real MTA. It reaches its
 * caller only through hooks and the two byte buffers.
 *
 * Design. Every command sent pushes a record of what its reply means onto a
 * FIFO; every complete reply pops one. Without PIPELINING the client sends
 * one command and waits; with PIPELINING (RFC 2920 3.1) it sends RSET (when
 * needed), MAIL, every RCPT and DATA as one group and waits for all their
 * replies, DATA being the last command of the group as 3.1 requires. After
 * the group the 354 (or not) decides whether the content goes out. So with
 * PIPELINING a transaction whose recipients were all refused still sends
 * DATA (the server answers 554, RFC 2920 3.1), and if the server answers 354
 * anyway the client sends only the terminating "." so that no content is
 * delivered; without PIPELINING such a transaction never sends DATA.
 *
 * Robustness: reply lines are checked against RFC 5321 4.2 (three digits,
 * SP or '-'), every line of a multi-line reply must repeat the code, a line
 * may have 2048 octets (four times the 512 of RFC 5321 4.5.3.1.5: lenient
 * towards real servers, bounded against hostile ones), a reply at most 100
 * lines, NUL is refused, and a reply nobody asked for, or a code of the wrong
 * kind for its command (354 to MAIL, 250 to DATA), ends the session with
 * MS_SMTP_SESSION_PROTOCOL_ERROR. Every message added gets exactly one
 * txn_result and the session exactly one session_result, whatever happens.
 *
 * Message content: the caller's CRLF text is dot-stuffed (RFC 5321 4.5.2)
 * and followed by CRLF.CRLF (a final CRLF is added when the text lacks one).
 * Bare CR/LF in the text are sent as they are (the server core refuses
 * them); 8-bit text gets BODY=8BITMIME when offered and is sent as it is
 * otherwise (RFC 6152 3 would ask for a conversion we do not do).
 *
 * STARTTLS (RFC 3207). With tls_level MAY or ENCRYPT the client sends
 * STARTTLS after an EHLO that offers it, and nothing more until the reply:
 * on 220 it stops reading (what followed the 220 in the clear is dropped,
 * RFC 3207 5, the response-injection attack), reports wants_tls and waits
 * for the caller's handshake; once told the handshake is done it forgets
 * the first EHLO's capabilities and says EHLO again (4.2), and only then
 * authenticates, so a password never crosses the wire before TLS when TLS
 * is used. ENCRYPT with no STARTTLS offered, or a 454, ends the session in
 * Postfix's words ("TLS is required, but was not offered by host ...") as
 * a temporary failure before any MAIL; MAY goes on in the clear, as
 * Postfix's opportunistic level does. With tls_active (implicit TLS, RFC
 * 8314 3.3) the session starts protected and STARTTLS is never sent.
 *
 * Ownership: the client refs each message until its transaction ends. Costs:
 * O(n) in octets; the stuffed copy of one message exists while it is sent. */
#include "mailsim/smtp_client.h"

#include <string.h>

#define REPLY_LINE_MAX  2048
#define REPLY_LINES_MAX 100
#define CMD_LINE_MAX    512 /* RFC 5321 4.5.3.1.4 */

typedef enum {
    P_GREETING,
    P_EHLO,
    P_HELO,
    P_STARTTLS,
    P_AUTH_LOGIN,
    P_AUTH_USER,
    P_AUTH_PLAIN_WAIT,
    P_AUTH_FINAL,
    P_RSET,
    P_MAIL,
    P_RCPT,
    P_DATA,
    P_DOT,
    P_QUIT,
} PendKind;

typedef struct {
    PendKind kind;
    guint txn;
    guint rcpt;
} Pending;

typedef struct {
    char *from;
    GPtrArray *rcpts;
    GBytes *msg;
    gboolean started, mail_sent, mail_failed, data_sent, got_dot, done;
    guint rcpt_sent, n_ok;
    gboolean any_4xx;
    MsSmtpReply mail_reply, rcpt_fail, final;
} Txn;

struct _MsSmtpClient {
    char *helo_name;
    char *auth_user;
    char *auth_password;
    gboolean no_pipelining;
    MsSmtpTlsLevel tls_level;
    char *peer_name;
    gboolean tls_active; /* inside TLS now */
    gboolean wants_tls;  /* 220 to STARTTLS seen: the caller's handshake runs */
    gboolean auth_sent, auth_in_tls; /* credentials sent; from inside TLS */
    MsSmtpClientHooks hooks;
    gpointer user_data;

    GByteArray *in;
    GByteArray *out;
    GQueue pending; /* Pending *, oldest first */

    /* The reply being read. */
    gboolean in_reply;
    guint cur_code;
    guint cur_lines;
    char cur_enh[12];
    GString *cur_text;

    /* What EHLO told us. */
    gboolean esmtp, cap_pipelining, cap_8bit, cap_size, cap_plain, cap_login, cap_starttls;
    guint64 size_max;

    GPtrArray *txns; /* Txn * */
    guint cur;       /* first transaction not done */
    gboolean ready;  /* greeting, HELO/EHLO and AUTH done */
    gboolean need_rset;
    gboolean finished;
    gboolean quit_sent;
    gboolean reported;
    gboolean closed;
};

const char *
ms_smtp_txn_status_to_string(MsSmtpTxnStatus status)
{
    switch (status) {
    case MS_SMTP_TXN_ACCEPTED:
        return "accepted";
    case MS_SMTP_TXN_TEMPFAIL:
        return "tempfail";
    case MS_SMTP_TXN_PERMFAIL:
        return "permfail";
    default:
        return "?";
    }
}

const char *
ms_smtp_session_status_to_string(MsSmtpSessionStatus status)
{
    static const char *const names[] = {
        "ok",
        "greeting-refused",
        "helo-refused",
        "auth-failed",
        "auth-unavailable",
        "server-closed",
        "protocol-error",
        "connection-lost",
        "tls-unavailable",
        "tls-failed",
    };
    return (guint) status < G_N_ELEMENTS(names) ? names[status] : "?";
}

static void
txn_free(gpointer p)
{
    Txn *t = p;
    g_free(t->from);
    g_ptr_array_unref(t->rcpts);
    if (t->msg)
        g_bytes_unref(t->msg);
    ms_smtp_reply_clear(&t->mail_reply);
    ms_smtp_reply_clear(&t->rcpt_fail);
    ms_smtp_reply_clear(&t->final);
    g_free(t);
}

MsSmtpClient *
ms_smtp_client_new(const MsSmtpClientConfig *cfg, const MsSmtpClientHooks *hooks,
                   gpointer user_data)
{
    MsSmtpClient *c = g_new0(MsSmtpClient, 1);
    MsSmtpClientConfig none = { 0 };
    if (!cfg)
        cfg = &none;
    c->helo_name = g_strdup(cfg->helo_name ? cfg->helo_name : "localhost");
    c->auth_user = g_strdup(cfg->auth_user);
    c->auth_password = g_strdup(cfg->auth_password ? cfg->auth_password : "");
    c->no_pipelining = cfg->no_pipelining;
    c->tls_level = cfg->tls_level;
    c->tls_active = cfg->tls_active;
    c->peer_name = g_strdup(cfg->peer_name ? cfg->peer_name : "the server");
    if (hooks)
        c->hooks = *hooks;
    c->user_data = user_data;
    c->in = g_byte_array_new();
    c->out = g_byte_array_new();
    g_queue_init(&c->pending);
    c->cur_text = g_string_new(NULL);
    c->txns = g_ptr_array_new_with_free_func(txn_free);
    Pending *p = g_new0(Pending, 1);
    p->kind = P_GREETING;
    g_queue_push_tail(&c->pending, p);
    return c;
}

void
ms_smtp_client_free(MsSmtpClient *c)
{
    if (!c)
        return;
    g_free(c->helo_name);
    g_free(c->auth_user);
    g_free(c->peer_name);
    if (c->auth_password)
        memset(c->auth_password, 0, strlen(c->auth_password));
    g_free(c->auth_password);
    g_byte_array_unref(c->in);
    g_byte_array_unref(c->out);
    g_queue_clear_full(&c->pending, g_free);
    g_string_free(c->cur_text, TRUE);
    g_ptr_array_unref(c->txns);
    g_free(c);
}

GBytes *
ms_smtp_client_take_output(MsSmtpClient *c)
{
    g_return_val_if_fail(c != NULL, NULL);
    if (c->out->len == 0)
        return NULL;
    GBytes *b = g_byte_array_free_to_bytes(c->out);
    c->out = g_byte_array_new();
    return b;
}

gboolean
ms_smtp_client_is_closed(const MsSmtpClient *c)
{
    g_return_val_if_fail(c != NULL, TRUE);
    return c->closed;
}

/* ---- sending -------------------------------------------------------- */

static void
trace(MsSmtpClient *c, MsSmtpTraceDir dir, const char *line, gsize len)
{
    if (!c->hooks.trace)
        return;
    g_autofree char *esc = ms_smtp_escape_line((const guint8 *) line, len);
    c->hooks.trace(dir, esc, c->user_data);
}

static void
send_cmd(MsSmtpClient *c, PendKind kind, guint txn, guint rcpt, const char *line)
{
    gsize n = strlen(line);
    g_byte_array_append(c->out, (const guint8 *) line, (guint) n);
    g_byte_array_append(c->out, (const guint8 *) "\r\n", 2);
    /* Credentials stay out of traces (the bridge may log real ones). */
    if (kind == P_AUTH_USER || kind == P_AUTH_FINAL) {
        c->auth_sent = TRUE;
        c->auth_in_tls = c->tls_active;
        const char *masked = g_str_has_prefix(line, "AUTH PLAIN ") ? "AUTH PLAIN <initial response>"
                                                                   : "<AUTH response>";
        trace(c, MS_SMTP_TRACE_OUT, masked, strlen(masked));
    } else {
        trace(c, MS_SMTP_TRACE_OUT, line, n);
    }
    Pending *p = g_new0(Pending, 1);
    p->kind = kind;
    p->txn = txn;
    p->rcpt = rcpt;
    g_queue_push_tail(&c->pending, p);
}

/* Appends the dot-stuffed content and the terminating CRLF.CRLF. */
static void
send_content(MsSmtpClient *c, GBytes *msg)
{
    gsize n = 0;
    const guint8 *p = msg ? g_bytes_get_data(msg, &n) : NULL;
    gsize start = 0;
    /* Reserve room for the content once (a few stuffed dots of slack)
     * rather than letting appends double the buffer. */
    guint have = c->out->len;
    if (n < G_MAXUINT / 2) {
        g_byte_array_set_size(c->out, have + (guint) n + 64);
        g_byte_array_set_size(c->out, have);
    }
    /* RFC 5321 4.5.2: a line starting with "." gets one more. Lines are
     * found with memchr (vectorised), not octet by octet. */
    if (n > 0 && p[0] == '.')
        g_byte_array_append(c->out, (const guint8 *) ".", 1);
    for (const guint8 *q = p; n > 0 && (q = memchr(q, '\n', n - (gsize) (q - p))) && q + 1 < p + n;
         q++) {
        if (q[1] == '.') {
            gsize i = (gsize) (q + 1 - p);
            g_byte_array_append(c->out, p + start, (guint) (i - start));
            g_byte_array_append(c->out, (const guint8 *) ".", 1);
            start = i;
        }
    }
    g_byte_array_append(c->out, p + start, (guint) (n - start));
    if (n > 0 && !(n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n'))
        g_byte_array_append(c->out, (const guint8 *) "\r\n", 2);
    g_byte_array_append(c->out, (const guint8 *) ".\r\n", 3);
    if (c->hooks.trace) {
        g_autofree char *sum = g_strdup_printf("<message content: %" G_GSIZE_FORMAT " octets>", n);
        c->hooks.trace(MS_SMTP_TRACE_OUT, sum, c->user_data);
        c->hooks.trace(MS_SMTP_TRACE_OUT, ".", c->user_data);
    }
}

/* ---- outcomes ------------------------------------------------------- */

static MsSmtpTxnStatus
status_of(guint code)
{
    if (code / 100 == 2)
        return MS_SMTP_TXN_ACCEPTED;
    if (code / 100 == 5)
        return MS_SMTP_TXN_PERMFAIL;
    return MS_SMTP_TXN_TEMPFAIL;
}

static void
txn_report(MsSmtpClient *c, guint idx, MsSmtpTxnStatus st, const MsSmtpReply *r)
{
    Txn *t = g_ptr_array_index(c->txns, idx);
    t->done = TRUE;
    g_clear_pointer(&t->msg, g_bytes_unref);
    if (c->hooks.txn_result)
        c->hooks.txn_result(idx, st, r, c->user_data);
}

/* Decides a transaction from its replies (see the header's txn_result). */
static void
txn_finish(MsSmtpClient *c, guint idx)
{
    Txn *t = g_ptr_array_index(c->txns, idx);
    if (t->done)
        return;
    c->need_rset = !t->got_dot;
    if (t->mail_failed)
        txn_report(c, idx, status_of(t->mail_reply.code), &t->mail_reply);
    else if (t->n_ok == 0 && t->rcpt_fail.code != 0)
        txn_report(c, idx, t->any_4xx ? MS_SMTP_TXN_TEMPFAIL : MS_SMTP_TXN_PERMFAIL, &t->rcpt_fail);
    else
        txn_report(c, idx, status_of(t->final.code), &t->final);
}

/* Ends the session: every unfinished transaction fails with `r` (4xx or no
 * code: temporary; 5xx: permanent), the session result is reported, and
 * QUIT is sent when the stream is still in step. */
static void
session_end(MsSmtpClient *c, MsSmtpSessionStatus st, const MsSmtpReply *r, gboolean quit)
{
    if (c->reported)
        return;
    c->reported = TRUE;
    for (guint i = c->cur; i < c->txns->len; i++) {
        Txn *t = g_ptr_array_index(c->txns, i);
        if (!t->done)
            txn_report(c, i, r && r->code / 100 == 5 ? MS_SMTP_TXN_PERMFAIL : MS_SMTP_TXN_TEMPFAIL,
                       r);
    }
    c->cur = c->txns->len;
    if (c->hooks.session_result)
        c->hooks.session_result(st, r, c->user_data);
    g_queue_clear_full(&c->pending, g_free);
    if (quit && !c->quit_sent) {
        c->quit_sent = TRUE;
        send_cmd(c, P_QUIT, 0, 0, "QUIT");
    } else {
        c->closed = TRUE;
    }
}

static void
protocol_error(MsSmtpClient *c, const char *why)
{
    MsSmtpReply r = { 0, { 0 }, (char *) why };
    session_end(c, MS_SMTP_SESSION_PROTOCOL_ERROR, &r, FALSE);
}

void
ms_smtp_client_connection_lost(MsSmtpClient *c)
{
    g_return_if_fail(c != NULL);
    MsSmtpReply r = { 0, { 0 }, "connection lost" };
    session_end(c, MS_SMTP_SESSION_CONNECTION_LOST, &r, FALSE);
    c->closed = TRUE;
}

/* ---- the next command ----------------------------------------------- */

static gboolean
has_8bit(GBytes *msg)
{
    gsize n = 0;
    const guint8 *p = g_bytes_get_data(msg, &n);
    gsize i = 0;
    /* 64 octets a test, eight at a time: bodies of large worlds are
     * megabytes a second (the compiler vectorises the inner loop). */
    for (; i + 64 <= n; i += 64) {
        guint64 acc = 0;
        for (int k = 0; k < 8; k++) {
            guint64 w;
            memcpy(&w, p + i + 8 * k, 8);
            acc |= w;
        }
        if (acc & G_GUINT64_CONSTANT(0x8080808080808080))
            return TRUE;
    }
    for (; i + 8 <= n; i += 8) {
        guint64 w;
        memcpy(&w, p + i, 8);
        if (w & G_GUINT64_CONSTANT(0x8080808080808080))
            return TRUE;
    }
    for (; i < n; i++)
        if (p[i] & 0x80)
            return TRUE;
    return FALSE;
}

static void
send_mail(MsSmtpClient *c, Txn *t, guint idx)
{
    g_autoptr(GString) s = g_string_new(NULL);
    g_string_append_printf(s, "MAIL FROM:<%s>", t->from);
    if (c->cap_size)
        g_string_append_printf(s, " SIZE=%" G_GSIZE_FORMAT, g_bytes_get_size(t->msg));
    if (c->cap_8bit && has_8bit(t->msg))
        g_string_append(s, " BODY=8BITMIME");
    send_cmd(c, P_MAIL, idx, 0, s->str);
    t->mail_sent = TRUE;
}

static void
send_rcpt(MsSmtpClient *c, Txn *t, guint idx)
{
    g_autofree char *line =
        g_strdup_printf("RCPT TO:<%s>", (char *) g_ptr_array_index(t->rcpts, t->rcpt_sent));
    send_cmd(c, P_RCPT, idx, t->rcpt_sent, line);
    t->rcpt_sent++;
}

static void
advance(MsSmtpClient *c)
{
    if (c->closed || c->quit_sent || !c->ready || !g_queue_is_empty(&c->pending))
        return;
    gboolean pipe = c->cap_pipelining && !c->no_pipelining;
    for (;;) {
        if (c->cur >= c->txns->len) {
            if (c->finished) {
                c->quit_sent = TRUE;
                send_cmd(c, P_QUIT, 0, 0, "QUIT");
            }
            return;
        }
        guint idx = c->cur;
        Txn *t = g_ptr_array_index(c->txns, idx);
        if (t->done) {
            c->cur++;
            continue;
        }
        if (!t->started) {
            t->started = TRUE;
            if (c->cap_size && c->size_max > 0 && g_bytes_get_size(t->msg) > c->size_max) {
                /* RFC 1870 6.1: do not send what the server said it refuses. */
                MsSmtpReply r = { 552, "5.3.4", "message larger than the server's SIZE limit" };
                txn_report(c, idx, MS_SMTP_TXN_PERMFAIL, &r);
                continue;
            }
        }
        if (pipe) {
            if (c->need_rset)
                send_cmd(c, P_RSET, idx, 0, "RSET");
            c->need_rset = FALSE;
            send_mail(c, t, idx);
            while (t->rcpt_sent < t->rcpts->len)
                send_rcpt(c, t, idx);
            t->data_sent = TRUE;
            send_cmd(c, P_DATA, idx, 0, "DATA");
            return;
        }
        if (c->need_rset) {
            c->need_rset = FALSE;
            send_cmd(c, P_RSET, idx, 0, "RSET");
            return;
        }
        if (!t->mail_sent) {
            send_mail(c, t, idx);
            return;
        }
        if (t->mail_failed) {
            txn_finish(c, idx);
            continue;
        }
        if (t->rcpt_sent < t->rcpts->len) {
            send_rcpt(c, t, idx);
            return;
        }
        if (t->n_ok == 0) {
            txn_finish(c, idx);
            continue;
        }
        g_assert(!t->data_sent);
        t->data_sent = TRUE;
        send_cmd(c, P_DATA, idx, 0, "DATA");
        return;
    }
}

guint
ms_smtp_client_add_message(MsSmtpClient *c, const char *mail_from, const char *const *rcpts,
                           GBytes *message)
{
    g_return_val_if_fail(c != NULL && mail_from != NULL && rcpts != NULL && rcpts[0] != NULL &&
                             message != NULL,
                         G_MAXUINT);
    g_return_val_if_fail(!c->finished, G_MAXUINT);
    Txn *t = g_new0(Txn, 1);
    t->from = g_strdup(mail_from);
    t->rcpts = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *r = rcpts; *r; r++)
        g_ptr_array_add(t->rcpts, g_strdup(*r));
    t->msg = g_bytes_ref(message);
    g_ptr_array_add(c->txns, t);
    guint idx = c->txns->len - 1;
    if (c->reported) {
        MsSmtpReply r = { 0, { 0 }, "session already ended" };
        txn_report(c, idx, MS_SMTP_TXN_TEMPFAIL, &r);
        c->cur = c->txns->len;
    } else {
        advance(c);
    }
    return idx;
}

void
ms_smtp_client_finish(MsSmtpClient *c)
{
    g_return_if_fail(c != NULL);
    c->finished = TRUE;
    advance(c);
}

/* ---- replies -------------------------------------------------------- */

static void
parse_ehlo(MsSmtpClient *c, const char *text)
{
    c->esmtp = TRUE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    if (!lines[0]) /* "250" with no text at all */
        return;
    for (guint i = 1; lines[i]; i++) {
        g_auto(GStrv) w = g_strsplit_set(lines[i], " =", -1);
        if (!w[0])
            continue;
        if (g_ascii_strcasecmp(w[0], "PIPELINING") == 0) {
            c->cap_pipelining = TRUE;
        } else if (g_ascii_strcasecmp(w[0], "8BITMIME") == 0) {
            c->cap_8bit = TRUE;
        } else if (g_ascii_strcasecmp(w[0], "SIZE") == 0) {
            guint64 n = 0;
            c->cap_size = TRUE;
            if (w[1] && g_ascii_string_to_unsigned(w[1], 10, 0, G_MAXUINT64, &n, NULL))
                c->size_max = n;
        } else if (g_ascii_strcasecmp(w[0], "STARTTLS") == 0) {
            c->cap_starttls = TRUE;
        } else if (g_ascii_strcasecmp(w[0], "AUTH") == 0) {
            for (guint k = 1; w[k]; k++) {
                if (g_ascii_strcasecmp(w[k], "PLAIN") == 0)
                    c->cap_plain = TRUE;
                else if (g_ascii_strcasecmp(w[k], "LOGIN") == 0)
                    c->cap_login = TRUE;
            }
        }
    }
}

static void
ready(MsSmtpClient *c)
{
    c->ready = TRUE;
    advance(c);
}

/* Ends the session before any transaction because TLS is required but
 * cannot be had: Postfix's deferral texts (smtp_proto.c), DSN 4.7.4
 * (RFC 3463 3.8: security features not supported). Each pending message
 * fails temporarily; QUIT goes out in the clear. */
static void
tls_unavailable(MsSmtpClient *c, const MsSmtpReply *refusal)
{
    g_autofree char *text =
        refusal ? g_strdup_printf("TLS is required, but host %s refused to start TLS: %u %s",
                                  c->peer_name, refusal->code, refusal->text ? refusal->text : "")
                : g_strdup_printf("TLS is required, but was not offered by host %s", c->peer_name);
    MsSmtpReply r = { 0, "4.7.4", text };
    session_end(c, MS_SMTP_SESSION_TLS_UNAVAILABLE, &r, TRUE);
}

/* AUTH when configured (RFC 4954), then the transactions. */
static void
authenticate(MsSmtpClient *c)
{
    if (!c->auth_user) {
        ready(c);
        return;
    }
    if (c->cap_plain) {
        /* RFC 4616 2: authzid (empty) NUL authcid NUL passwd. */
        gsize ul = strlen(c->auth_user), pl = strlen(c->auth_password);
        g_autofree guint8 *raw = g_malloc(ul + pl + 2);
        raw[0] = 0;
        memcpy(raw + 1, c->auth_user, ul);
        raw[ul + 1] = 0;
        memcpy(raw + ul + 2, c->auth_password, pl);
        g_autofree char *b64 = g_base64_encode(raw, ul + pl + 2);
        memset(raw, 0, ul + pl + 2);
        g_autofree char *line = g_strdup_printf("AUTH PLAIN %s", b64);
        /* RFC 4954 4: no initial response if it would overflow the line. */
        if (strlen(line) + 2 <= CMD_LINE_MAX)
            send_cmd(c, P_AUTH_FINAL, 0, 0, line);
        else
            send_cmd(c, P_AUTH_PLAIN_WAIT, 0, 0, "AUTH PLAIN");
        return;
    }
    if (c->cap_login) {
        send_cmd(c, P_AUTH_LOGIN, 0, 0, "AUTH LOGIN");
        return;
    }
    MsSmtpReply r = { 530, "5.7.0", "no AUTH PLAIN or LOGIN offered" };
    session_end(c, MS_SMTP_SESSION_AUTH_UNAVAILABLE, &r, TRUE);
}

/* After a successful EHLO or HELO: STARTTLS first when the policy asks
 * for it and the session is not protected yet, else AUTH. */
static void
after_helo(MsSmtpClient *c)
{
    if (!c->tls_active && c->tls_level != MS_SMTP_TLS_NONE) {
        if (c->cap_starttls) {
            send_cmd(c, P_STARTTLS, 0, 0, "STARTTLS");
            return;
        }
        if (c->tls_level == MS_SMTP_TLS_ENCRYPT) {
            tls_unavailable(c, NULL);
            return;
        }
    }
    authenticate(c);
}

static void
send_b64(MsSmtpClient *c, PendKind kind, const char *s, gsize n)
{
    g_autofree char *b64 = g_base64_encode((const guchar *) s, n);
    send_cmd(c, kind, 0, 0, b64);
}

static void
on_reply(MsSmtpClient *c, const MsSmtpReply *r)
{
    Pending *p = g_queue_pop_head(&c->pending);
    if (!p) {
        protocol_error(c, "reply without a command");
        return;
    }
    Pending pd = *p;
    g_free(p);
    guint k = r->code / 100;
    if (r->code == 421 && pd.kind != P_QUIT) { /* RFC 5321 3.8 */
        session_end(c,
                    pd.kind == P_GREETING ? MS_SMTP_SESSION_GREETING_REFUSED
                                          : MS_SMTP_SESSION_SERVER_CLOSED,
                    r, FALSE);
        return;
    }
    Txn *t = NULL;
    if (pd.kind >= P_RSET && pd.kind <= P_DOT) {
        if (pd.txn >= c->txns->len) {
            protocol_error(c, "internal: reply for an unknown transaction");
            return;
        }
        t = g_ptr_array_index(c->txns, pd.txn);
    }
    switch (pd.kind) {
    case P_GREETING:
        if (r->code == 220) {
            g_autofree char *line = g_strdup_printf("EHLO %s", c->helo_name);
            send_cmd(c, P_EHLO, 0, 0, line);
        } else if (k == 2 || k == 3) {
            protocol_error(c, "unexpected greeting code");
        } else { /* 554: RFC 5321 3.1, the client should QUIT */
            session_end(c, MS_SMTP_SESSION_GREETING_REFUSED, r, TRUE);
        }
        break;
    case P_EHLO:
        if (k == 2) {
            parse_ehlo(c, r->text ? r->text : "");
            after_helo(c);
        } else if (k == 5) { /* RFC 5321 4.1.4: fall back to HELO */
            g_autofree char *line = g_strdup_printf("HELO %s", c->helo_name);
            send_cmd(c, P_HELO, 0, 0, line);
        } else if (k == 4) {
            session_end(c, MS_SMTP_SESSION_HELO_REFUSED, r, TRUE);
        } else {
            protocol_error(c, "unexpected reply to EHLO");
        }
        break;
    case P_HELO:
        if (k == 2)
            after_helo(c);
        else if (k == 4 || k == 5)
            session_end(c, MS_SMTP_SESSION_HELO_REFUSED, r, TRUE);
        else
            protocol_error(c, "unexpected reply to HELO");
        break;
    case P_STARTTLS:
        if (r->code == 220) { /* RFC 3207 4: the handshake starts now */
            c->wants_tls = TRUE;
            return;
        }
        if (k == 4 || k == 5) { /* 454 4.7.0 TLS not available (RFC 3207 4) */
            if (c->tls_level == MS_SMTP_TLS_ENCRYPT)
                tls_unavailable(c, r);
            else
                authenticate(c);
        } else {
            protocol_error(c, "unexpected reply to STARTTLS");
        }
        break;
    case P_AUTH_LOGIN:
    case P_AUTH_USER:
    case P_AUTH_PLAIN_WAIT:
        if (r->code == 334) {
            if (pd.kind == P_AUTH_LOGIN) {
                send_b64(c, P_AUTH_USER, c->auth_user, strlen(c->auth_user));
            } else if (pd.kind == P_AUTH_USER) {
                send_b64(c, P_AUTH_FINAL, c->auth_password, strlen(c->auth_password));
            } else {
                gsize ul = strlen(c->auth_user), pl = strlen(c->auth_password);
                g_autofree char *raw = g_malloc(ul + pl + 2);
                raw[0] = 0;
                memcpy(raw + 1, c->auth_user, ul);
                raw[ul + 1] = 0;
                memcpy(raw + ul + 2, c->auth_password, pl);
                send_b64(c, P_AUTH_FINAL, raw, ul + pl + 2);
            }
        } else if (k == 4 || k == 5) {
            session_end(c, MS_SMTP_SESSION_AUTH_FAILED, r, TRUE);
        } else {
            protocol_error(c, "unexpected reply to AUTH");
        }
        break;
    case P_AUTH_FINAL:
        if (r->code == 235)
            ready(c);
        else if (k == 4 || k == 5)
            session_end(c, MS_SMTP_SESSION_AUTH_FAILED, r, TRUE);
        else
            protocol_error(c, "unexpected reply to AUTH");
        break;
    case P_RSET:
        if (k != 2 && k != 4 && k != 5)
            protocol_error(c, "unexpected reply to RSET");
        break;
    case P_MAIL:
        if (k == 3) {
            protocol_error(c, "unexpected reply to MAIL");
            return;
        }
        ms_smtp_reply_copy(&t->mail_reply, r);
        t->mail_failed = k != 2;
        break;
    case P_RCPT:
        if (k == 3) {
            protocol_error(c, "unexpected reply to RCPT");
            return;
        }
        if (c->hooks.rcpt_result)
            c->hooks.rcpt_result(pd.txn, pd.rcpt, r, c->user_data);
        if (k == 2 && !t->mail_failed) {
            t->n_ok++;
        } else {
            t->any_4xx |= k == 4;
            ms_smtp_reply_copy(&t->rcpt_fail, r);
        }
        break;
    case P_DATA:
        if (r->code == 354) {
            gboolean deliver = t->n_ok > 0 && !t->mail_failed;
            send_content(c, deliver ? t->msg : NULL);
            Pending *dot = g_new0(Pending, 1);
            dot->kind = P_DOT;
            dot->txn = pd.txn;
            g_queue_push_tail(&c->pending, dot);
        } else if (k == 4 || k == 5) {
            ms_smtp_reply_copy(&t->final, r);
            txn_finish(c, pd.txn);
        } else {
            protocol_error(c, "unexpected reply to DATA");
            return;
        }
        break;
    case P_DOT:
        if (k == 3) {
            protocol_error(c, "unexpected reply after the message");
            return;
        }
        t->got_dot = TRUE;
        ms_smtp_reply_copy(&t->final, r);
        txn_finish(c, pd.txn);
        break;
    case P_QUIT:
        c->closed = TRUE;
        if (!c->reported) {
            c->reported = TRUE;
            if (c->hooks.session_result)
                c->hooks.session_result(MS_SMTP_SESSION_OK, r, c->user_data);
        }
        return;
    default:
        break;
    }
    advance(c);
}

/* Reads one reply line (without its line end) into the reply being built. */
static void
reply_line(MsSmtpClient *c, const char *line, gsize len)
{
    trace(c, MS_SMTP_TRACE_IN, line, len);
    guint code = 0;
    gboolean last = FALSE;
    const char *text = NULL;
    if (memchr(line, 0, len) || !ms_smtp_reply_parse_line(line, len, &code, &last, &text)) {
        protocol_error(c, "malformed reply line");
        return;
    }
    if (c->in_reply && code != c->cur_code) {
        protocol_error(c, "reply code changed inside a multi-line reply");
        return;
    }
    if (++c->cur_lines > REPLY_LINES_MAX) {
        protocol_error(c, "reply has too many lines");
        return;
    }
    gsize tlen = len - (gsize) (text - line);
    /* Strip an enhanced code of the right class (RFC 2034 4). */
    const char *sp = memchr(text, ' ', tlen);
    gsize elen = sp ? (gsize) (sp - text) : tlen;
    if (elen < sizeof c->cur_enh && ms_smtp_enhanced_valid(text, elen, code / 100)) {
        if (!c->in_reply)
            memcpy(c->cur_enh, text, elen), c->cur_enh[elen] = '\0';
        text += sp ? elen + 1 : elen;
        tlen -= sp ? elen + 1 : elen;
    }
    if (c->in_reply)
        g_string_append_c(c->cur_text, '\n');
    g_string_append_len(c->cur_text, text, (gssize) tlen);
    c->in_reply = TRUE;
    c->cur_code = code;
    if (!last)
        return;
    MsSmtpReply r = { code, { 0 }, c->cur_text->str };
    memcpy(r.enhanced, c->cur_enh, sizeof r.enhanced);
    c->in_reply = FALSE;
    c->cur_lines = 0;
    c->cur_enh[0] = '\0';
    on_reply(c, &r);
    g_string_truncate(c->cur_text, 0);
}

void
ms_smtp_client_feed(MsSmtpClient *c, const guint8 *data, gsize len)
{
    g_return_if_fail(c != NULL && (data != NULL || len == 0));
    if (c->closed || c->wants_tls || len == 0) /* clear text before the handshake: dropped */
        return;
    g_byte_array_append(c->in, data, (guint) len);
    gsize pos = 0;
    while (!c->closed && !c->wants_tls && pos < c->in->len) {
        const guint8 *p = c->in->data + pos;
        gsize avail = c->in->len - pos;
        const guint8 *lf = memchr(p, '\n', MIN(avail, (gsize) REPLY_LINE_MAX + 2));
        if (!lf) {
            if (avail > REPLY_LINE_MAX + 1)
                protocol_error(c, "reply line too long");
            break;
        }
        gsize n = (gsize) (lf - p);
        pos += n + 1;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > REPLY_LINE_MAX) {
            protocol_error(c, "reply line too long");
            break;
        }
        reply_line(c, (const char *) p, n);
    }
    /* After the 220 to STARTTLS what is left came in the clear before the
     * handshake: dropped, never read as if it came from inside TLS. */
    if (c->closed || c->wants_tls)
        g_byte_array_set_size(c->in, 0);
    else
        g_byte_array_remove_range(c->in, 0, (guint) pos);
}

gboolean
ms_smtp_client_wants_tls(const MsSmtpClient *c)
{
    g_return_val_if_fail(c != NULL, FALSE);
    return c->wants_tls && !c->closed;
}

gboolean
ms_smtp_client_auth_sent(const MsSmtpClient *c, gboolean *inside_tls)
{
    g_return_val_if_fail(c != NULL, FALSE);
    if (inside_tls)
        *inside_tls = c->auth_sent && c->auth_in_tls;
    return c->auth_sent;
}

gboolean
ms_smtp_client_tls_active(const MsSmtpClient *c)
{
    g_return_val_if_fail(c != NULL, FALSE);
    return c->tls_active;
}

void
ms_smtp_client_tls_started(MsSmtpClient *c)
{
    g_return_if_fail(c != NULL && c->wants_tls);
    c->wants_tls = FALSE;
    c->tls_active = TRUE;
    /* RFC 3207 4.2: forget what the server said before TLS. */
    c->esmtp = c->cap_pipelining = c->cap_8bit = c->cap_size = FALSE;
    c->cap_plain = c->cap_login = c->cap_starttls = FALSE;
    c->size_max = 0;
    g_autofree char *line = g_strdup_printf("EHLO %s", c->helo_name);
    send_cmd(c, P_EHLO, 0, 0, line);
}

void
ms_smtp_client_tls_failed(MsSmtpClient *c, const char *why)
{
    g_return_if_fail(c != NULL);
    c->wants_tls = FALSE;
    MsSmtpReply r = { 0, "4.7.5", (char *) (why ? why : "TLS handshake failed") };
    /* Nothing more can be said on a connection whose handshake broke. */
    session_end(c, MS_SMTP_SESSION_TLS_FAILED, &r, FALSE);
    c->closed = TRUE;
}

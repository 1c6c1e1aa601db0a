/* DKIM canonicalisation (RFC 6376 3.4) and what feeds it (see
 * include/mailsim/dkim.h). Role in the data flow: the signer and the
 * verifier (dkim.c) split a message into header fields and body here,
 * select the signed fields (RFC 6376 5.4.2) and hash their canonical
 * forms; the body hash is computed here too.
 *
 * Design. A message is first brought into CRLF form (a bare LF becomes
 * CRLF, RFC 5322 2.3 forbids it on the wire and real verifiers read it as
 * a line end), then split once: an array of field offsets and the body's
 * offset. The body is canonicalised line by line into a sink (SHA-256 or
 * a byte array) without building the canonical body: runs of empty lines
 * are only counted and emitted when a non-empty line follows, which is
 * how "ignore empty lines at the end" costs no look-ahead. l= is a cap on
 * the octets the sink accepts.
 *
 * Header fields: simple is the field as it is plus CRLF; relaxed (RFC 6376
 * 3.4.2) lower-cases the name, deletes CRLFs (unfolding), makes every run
 * of spaces and tabs one space, and drops white space at the end of the
 * value and on both sides of the colon.
 *
 * Costs: linear in the message, one copy of it (the CRLF form, copied in
 * runs between bare LFs), one allocation per canonical header field; the
 * canonical body is never built: its runs reach SHA-256 through a 4 KiB
 * buffer (a call per line cost more than the hash of a short line). No
 * state outside the arguments. */
#include "dkim-private.h"

#include <string.h>

/* --- message splitting ---------------------------------------------------- */

void
ms__dkim_message_init(MsDkimMessage *msg, const char *text, gsize len)
{
    /* Copied in runs between bare LFs (memchr finds each line end), not
     * octet by octet: a message already in CRLF form is one copy. */
    GString *s = g_string_sized_new(len + 16);
    gsize from = 0;
    for (gsize pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (!nl)
            break;
        gsize at = (gsize) (nl - text);
        if (at == 0 || text[at - 1] != '\r') {
            g_string_append_len(s, text + from, (gssize) (at - from));
            g_string_append_c(s, '\r');
            from = at;
        }
        pos = at + 1;
    }
    g_string_append_len(s, text + from, (gssize) (len - from));
    msg->len = s->len;
    msg->text = g_string_free(s, FALSE);
    msg->fields = g_array_new(FALSE, FALSE, sizeof(MsDkimField));
    msg->body = msg->len;

    const char *t = msg->text;
    gsize pos = 0;
    while (pos < msg->len) {
        if (pos + 1 < msg->len && t[pos] == '\r' && t[pos + 1] == '\n') {
            msg->body = pos + 2; /* the empty line */
            return;
        }
        /* One field: this line and the lines that start with WSP. */
        gsize start = pos, end = pos;
        for (;;) {
            const char *nl = g_strstr_len(t + end, (gssize) (msg->len - end), "\r\n");
            if (!nl) {
                end = msg->len;
                pos = msg->len;
                break;
            }
            end = (gsize) (nl - t);
            pos = end + 2;
            if (pos < msg->len && ms__dkim_is_wsp(t[pos]))
                end = pos; /* folded: continue on the next line */
            else
                break;
        }
        const char *colon = memchr(t + start, ':', end - start);
        if (!colon || ms__dkim_is_wsp(t[start]))
            continue; /* not a field (RFC 5322 2.2): nothing h= can select */
        gsize nl = (gsize) (colon - t) - start;
        while (nl && ms__dkim_is_wsp(t[start + nl - 1]))
            nl--;
        MsDkimField f = { start, nl, end - start };
        g_array_append_val(msg->fields, f);
    }
}

void
ms__dkim_message_clear(MsDkimMessage *msg)
{
    g_clear_pointer(&msg->text, g_free);
    g_clear_pointer(&msg->fields, g_array_unref);
}

gboolean
ms__dkim_field_is(const MsDkimMessage *msg, const MsDkimField *f, const char *name)
{
    return strlen(name) == f->name_len &&
           g_ascii_strncasecmp(msg->text + f->start, name, f->name_len) == 0;
}

/* --- header fields ---------------------------------------------------------- */

/* Appends the canonical form of a field (without CRLF) to out. */
static void
canon_header_into(MsDkimCanon canon, const char *field, gsize len, GString *out)
{
    if (canon == MS_DKIM_CANON_SIMPLE) {
        g_string_append_len(out, field, (gssize) len);
        return;
    }
    const char *colon = memchr(field, ':', len);
    gsize name_end = colon ? (gsize) (colon - field) : len;
    gsize ne = name_end;
    while (ne && ms__dkim_is_fws(field[ne - 1]))
        ne--;
    for (gsize i = 0; i < ne; i++)
        g_string_append_c(out, g_ascii_tolower(field[i]));
    if (!colon)
        return;
    g_string_append_c(out, ':');
    gboolean space = FALSE, any = FALSE;
    for (gsize i = name_end + 1; i < len; i++) {
        char c = field[i];
        if (c == '\r' && i + 1 < len && field[i + 1] == '\n') {
            i++;
            continue; /* unfold: the CRLF goes, the WSP after it counts */
        }
        if (ms__dkim_is_wsp(c) || c == '\n') {
            space = TRUE;
            continue;
        }
        if (space && any)
            g_string_append_c(out, ' ');
        space = FALSE;
        any = TRUE;
        g_string_append_c(out, c);
    }
}

char *
ms_dkim_canon_header(MsDkimCanon canon, const char *field, gsize len)
{
    g_return_val_if_fail(field != NULL || len == 0, NULL);
    GString *out = g_string_sized_new(len + 2);
    canon_header_into(canon, field, len, out);
    g_string_append(out, "\r\n");
    return g_string_free(out, FALSE);
}

void
ms__dkim_hash_headers(const MsDkimMessage *msg, MsDkimCanon canon, const char *const *names,
                      struct sha256_ctx *ctx)
{
    guint n = msg->fields->len;
    g_autofree gboolean *used = g_new0(gboolean, n ? n : 1);
    g_autoptr(GString) c = g_string_new(NULL);
    for (; *names; names++) {
        for (guint k = n; k-- > 0;) {
            const MsDkimField *f = &g_array_index(msg->fields, MsDkimField, k);
            if (used[k] || !ms__dkim_field_is(msg, f, *names))
                continue;
            used[k] = TRUE;
            g_string_truncate(c, 0);
            canon_header_into(canon, msg->text + f->start, f->len, c);
            g_string_append(c, "\r\n");
            sha256_update(ctx, c->len, (const guint8 *) c->str);
            break;
        }
    }
}

void
ms__dkim_hash_signature_field(MsDkimCanon canon, const char *field, gsize len,
                              struct sha256_ctx *ctx)
{
    /* RFC 6376 3.7: the field as it is, but for the value of b=, which is
     * taken as empty; a value never holds ";", so the tag ends there. */
    g_autoptr(GString) blanked = g_string_sized_new(len);
    const char *colon = memchr(field, ':', len);
    gsize pos = colon ? (gsize) (colon - field) + 1 : len;
    g_string_append_len(blanked, field, (gssize) pos);
    while (pos < len) {
        const char *semi = memchr(field + pos, ';', len - pos);
        gsize end = semi ? (gsize) (semi - field) : len;
        gsize a = pos;
        while (a < end && ms__dkim_is_fws(field[a]))
            a++;
        const char *eq = memchr(field + a, '=', end - a);
        gsize ne = eq ? (gsize) (eq - field) : a;
        while (ne > a && ms__dkim_is_fws(field[ne - 1]))
            ne--;
        if (eq && ne - a == 1 && field[a] == 'b')
            g_string_append_len(blanked, field + pos, (gssize) ((gsize) (eq - field) + 1 - pos));
        else
            g_string_append_len(blanked, field + pos, (gssize) (end - pos));
        if (semi)
            g_string_append_c(blanked, ';');
        pos = end + 1;
    }
    g_autoptr(GString) c = g_string_sized_new(blanked->len);
    canon_header_into(canon, blanked->str, blanked->len, c);
    sha256_update(ctx, c->len, (const guint8 *) c->str);
}

/* --- body ------------------------------------------------------------------- */

/* Where the canonical body goes: a hash, through a buffer so that SHA-256
 * sees blocks rather than a call per line or word, or a byte array (for
 * ms_dkim_canon_body). */
typedef struct {
    struct sha256_ctx *hash; /* one of these two */
    GByteArray *bytes;
    gint64 left;   /* octets the sink still accepts, or -1 for all */
    guint64 total; /* canonical octets produced (beyond left too) */
    gsize n;       /* octets waiting in buf */
    guint8 buf[4096];
} BodySink;

static void
sink_flush(BodySink *s)
{
    if (s->hash && s->n)
        sha256_update(s->hash, s->n, s->buf);
    s->n = 0;
}

static void
sink_put(BodySink *s, const char *data, gsize n)
{
    s->total += n;
    if (s->left >= 0) {
        n = (gsize) MIN((gint64) n, s->left);
        s->left -= (gint64) n;
    }
    if (n == 0)
        return;
    if (!s->hash) {
        g_byte_array_append(s->bytes, (const guint8 *) data, (guint) n);
    } else if (s->n + n <= sizeof s->buf) {
        memcpy(s->buf + s->n, data, n);
        s->n += n;
    } else {
        sink_flush(s);
        if (n >= sizeof s->buf) {
            sha256_update(s->hash, n, (const guint8 *) data);
        } else {
            memcpy(s->buf, data, n);
            s->n = n;
        }
    }
}

/* Whether octet i of a line ending at `end` continues a run that relaxed
 * canonicalisation keeps as it is: not white space, or one SP between two
 * octets that are not. */
static inline gboolean
in_run(const char *line, gsize i, gsize end)
{
    return !ms__dkim_is_wsp(line[i]) ||
           (line[i] == ' ' && i + 1 < end && !ms__dkim_is_wsp(line[i + 1]));
}

/* Canonicalises the body into the sink, one line at a time and without a
 * copy of the line: simple puts the line as it is; relaxed (RFC 6376
 * 3.4.4) puts the runs between its white space, each run taken whole as
 * long as it only holds single spaces between words (the common line is
 * one run), one SP for any white space before a run, and nothing for white
 * space at the end. Empty lines are counted and put only when a non-empty
 * line follows (RFC 6376 3.4.3, 3.4.4: empty lines at the end are
 * ignored). Linear in the body; nothing allocated. */
static void
canon_body(MsDkimCanon canon, const char *body, gsize len, BodySink *sink)
{
    guint64 blank = 0; /* empty lines held back */
    gboolean any = FALSE;
    gsize pos = 0;
    while (pos < len) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        gsize end = nl ? (gsize) (nl - body) : len, next = nl ? end + 1 : len;
        if (nl && end > pos && body[end - 1] == '\r')
            end--;
        gboolean empty = TRUE;
        if (canon == MS_DKIM_CANON_SIMPLE) {
            if (end > pos) {
                for (; blank; blank--)
                    sink_put(sink, "\r\n", 2);
                sink_put(sink, body + pos, end - pos);
                empty = FALSE;
            }
        } else {
            for (gsize i = pos; i < end;) {
                gsize a = i;
                while (i < end && ms__dkim_is_wsp(body[i]))
                    i++;
                if (i == end)
                    break; /* white space at the end of the line goes */
                gboolean space = i > a;
                gsize b = i;
                while (i < end && in_run(body, i, end))
                    i++;
                if (empty) {
                    for (; blank; blank--)
                        sink_put(sink, "\r\n", 2);
                    empty = FALSE;
                }
                if (space)
                    sink_put(sink, " ", 1);
                sink_put(sink, body + b, i - b);
            }
        }
        pos = next;
        if (empty) {
            blank++;
            continue;
        }
        sink_put(sink, "\r\n", 2);
        any = TRUE;
    }
    /* RFC 6376 3.4.3: an empty body is one CRLF under simple; 3.4.4 (and
     * erratum 1384): it stays empty under relaxed. */
    if (!any && canon == MS_DKIM_CANON_SIMPLE)
        sink_put(sink, "\r\n", 2);
    sink_flush(sink);
}

GBytes *
ms_dkim_canon_body(MsDkimCanon canon, const char *body, gsize len)
{
    g_return_val_if_fail(body != NULL || len == 0, NULL);
    BodySink s = { .bytes = g_byte_array_new(), .left = -1 };
    canon_body(canon, body, len, &s);
    return g_byte_array_free_to_bytes(s.bytes);
}

gboolean
ms_dkim_body_hash(MsDkimCanon canon, const char *body, gsize len, gint64 length, guint8 out[32])
{
    g_return_val_if_fail(body != NULL || len == 0, FALSE);
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    BodySink s = { .hash = &ctx, .left = length };
    canon_body(canon, body, len, &s);
    if (length >= 0 && s.total < (guint64) length)
        return FALSE;
    sha256_digest(&ctx, 32, out);
    return TRUE;
}

/* What the IMAP server core says about a message's contents: the header
 * and text split, header fields, the ENVELOPE and the BODYSTRUCTURE (RFC
 * 9051 7.5.2), numbered body parts (RFC 9051 6.4.5) and quoted-printable
 * decoding for BINARY (RFC 3516), computed from the bytes the mailbox hook
 * returns.
 *
 * Design: a message is parsed on demand, never stored; nothing here keeps
 * state. The parser is lenient where mail is often sloppy (bare LF, no
 * blank line, unquoted parameters) and bounded where it could be made to
 * work hard: multipart nesting stops at MAX_DEPTH (deeper parts are
 * described as opaque application/octet-stream), and a part count stops at
 * MAX_PARTS. Encoded words (RFC 2047) are passed through undecoded, as RFC
 * 9051 7.5.2 asks. Costs: O(size) per call. */
#include "imap-private.h"

#include <string.h>

#define MAX_DEPTH 8
#define MAX_PARTS 256

gsize
ms__imap_header_end(const guint8 *p, gsize n)
{
    gsize i = 0;
    while (i < n) {
        const guint8 *lf = memchr(p + i, '\n', n - i);
        if (!lf)
            return n;
        gsize end = (gsize) (lf - p) + 1;
        gsize len = end - i;
        if (len == 1 || (len == 2 && p[i] == '\r'))
            return end;
        i = end;
    }
    return n;
}

/* Calls `fn` for each header field: its name and its raw extent (name to
 * the end of its last continuation line, line ends included). */
typedef gboolean (*FieldFunc)(const char *name, gsize name_len, const guint8 *field, gsize len,
                              gpointer ud);

static void
each_field(const guint8 *p, gsize n, FieldFunc fn, gpointer ud)
{
    gsize hend = ms__imap_header_end(p, n);
    gsize i = 0;
    while (i < hend) {
        gsize start = i;
        /* A field runs to the first line that does not begin with a blank. */
        do {
            const guint8 *lf = memchr(p + i, '\n', hend - i);
            i = lf ? (gsize) (lf - p) + 1 : hend;
        } while (i < hend && (p[i] == ' ' || p[i] == '\t'));
        gsize len = i - start;
        if (len <= 2 && (p[start] == '\r' || p[start] == '\n'))
            break; /* the blank line */
        const guint8 *colon = memchr(p + start, ':', len);
        if (!colon)
            continue;
        if (!fn((const char *) p + start, (gsize) (colon - p) - start, p + start, len, ud))
            return;
    }
}

typedef struct {
    const char *want;
    char *value;
} GetCtx;

static gboolean
get_one(const char *name, gsize name_len, const guint8 *field, gsize len, gpointer ud)
{
    GetCtx *g = ud;
    if (strlen(g->want) != name_len || g_ascii_strncasecmp(name, g->want, name_len) != 0)
        return TRUE;
    GString *v = g_string_new(NULL);
    for (gsize i = name_len + 1; i < len; i++)
        if (field[i] != '\r' && field[i] != '\n')
            g_string_append_c(v, (char) field[i]);
    g_strstrip(v->str);
    g->value = g_strdup(v->str);
    g_string_free(v, TRUE);
    return FALSE;
}

char *
ms__imap_header_get(const guint8 *p, gsize n, const char *name)
{
    GetCtx g = { name, NULL };
    each_field(p, n, get_one, &g);
    return g.value;
}

typedef struct {
    char **names;
    gboolean not ;
    GByteArray *out;
} FieldsCtx;

static gboolean
pick_field(const char *name, gsize name_len, const guint8 *field, gsize len, gpointer ud)
{
    FieldsCtx *f = ud;
    gboolean listed = FALSE;
    for (char **w = f->names; *w && !listed; w++)
        listed = strlen(*w) == name_len && g_ascii_strncasecmp(*w, name, name_len) == 0;
    if (listed != f->not )
        g_byte_array_append(f->out, field, (guint) len);
    return TRUE;
}

GBytes *
ms__imap_header_fields(const guint8 *p, gsize n, char **names, gboolean not )
{
    FieldsCtx f = { names, not, g_byte_array_new() };
    each_field(p, n, pick_field, &f);
    g_byte_array_append(f.out, (const guint8 *) "\r\n", 2);
    return g_byte_array_free_to_bytes(f.out);
}

void
ms__imap_string(GString *s, const char *v)
{
    ms__imap_string_utf8(s, v, FALSE);
}

void
ms__imap_string_utf8(GString *s, const char *v, gboolean utf8)
{
    if (!v) {
        g_string_append(s, "NIL");
        return;
    }
    gboolean quotable = strlen(v) < 1024 && (!utf8 || g_utf8_validate(v, -1, NULL));
    for (const char *q = v; *q && quotable; q++)
        if (*q == '\r' || *q == '\n' || (!utf8 && (guchar) *q >= 0x80))
            quotable = FALSE;
    if (!quotable) {
        g_string_append_printf(s, "{%" G_GSIZE_FORMAT "}\r\n%s", strlen(v), v);
        return;
    }
    g_string_append_c(s, '"');
    for (const char *q = v; *q; q++) {
        if (*q == '"' || *q == '\\')
            g_string_append_c(s, '\\');
        g_string_append_c(s, *q);
    }
    g_string_append_c(s, '"');
}

/* ---- addresses -------------------------------------------------------- */

static char *
unquote(const char *s)
{
    g_autofree char *t = g_strstrip(g_strdup(s));
    gsize n = strlen(t);
    if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
        GString *o = g_string_new(NULL);
        for (gsize i = 1; i + 1 < n; i++) {
            if (t[i] == '\\' && i + 2 < n)
                i++;
            g_string_append_c(o, t[i]);
        }
        return g_string_free(o, FALSE);
    }
    return g_steal_pointer(&t);
}

static void
append_address(GString *s, const char *one)
{
    g_autofree char *name = NULL;
    g_autofree char *addr = NULL;
    const char *lt = strchr(one, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) {
        g_autofree char *raw = g_strndup(one, (gsize) (lt - one));
        name = unquote(raw);
        addr = g_strstrip(g_strndup(lt + 1, (gsize) (gt - lt - 1)));
    } else {
        addr = g_strstrip(g_strdup(one));
    }
    if (name && !*name)
        g_clear_pointer(&name, g_free);
    const char *at = strrchr(addr, '@');
    g_autofree char *mbox = at ? g_strndup(addr, (gsize) (at - addr)) : g_strdup(addr);
    g_string_append_c(s, '(');
    ms__imap_string(s, name);
    g_string_append(s, " NIL ");
    ms__imap_string(s, mbox);
    g_string_append_c(s, ' ');
    ms__imap_string(s, at ? at + 1 : NULL);
    g_string_append_c(s, ')');
}

/* An address list (RFC 5322 3.4) as ((name adl mailbox host) ...), or NIL.
 * Commas inside quotes, angle brackets and comments do not split; groups
 * contribute their members. */
static void
append_addresses(GString *s, const char *v)
{
    if (!v) {
        g_string_append(s, "NIL");
        return;
    }
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);
    gboolean quoted = FALSE;
    int angle = 0, paren = 0;
    for (const char *q = v;; q++) {
        char c = *q;
        if (c == '\0' || (!quoted && !angle && !paren && (c == ',' || c == ';' || c == ':'))) {
            if (c == ':') { /* a group's display name: dropped */
                g_string_truncate(cur, 0);
                continue;
            }
            g_strstrip(cur->str);
            if (*cur->str && strchr(cur->str, '@'))
                g_ptr_array_add(parts, g_strdup(cur->str));
            g_string_truncate(cur, 0);
            if (c == '\0' || parts->len >= MAX_PARTS)
                break;
            continue;
        }
        if (c == '\\' && quoted && q[1]) {
            g_string_append_c(cur, c);
            c = *++q;
        } else if (c == '"' && !paren) {
            quoted = !quoted;
        } else if (!quoted && c == '<') {
            angle++;
        } else if (!quoted && c == '>' && angle) {
            angle--;
        } else if (!quoted && c == '(') {
            paren++;
            continue;
        } else if (!quoted && c == ')' && paren) {
            paren--;
            continue;
        }
        if (!paren)
            g_string_append_c(cur, c);
    }
    g_string_free(cur, TRUE);
    if (parts->len == 0) {
        g_string_append(s, "NIL");
    } else {
        g_string_append_c(s, '(');
        for (guint i = 0; i < parts->len; i++)
            append_address(s, g_ptr_array_index(parts, i));
        g_string_append_c(s, ')');
    }
    g_ptr_array_unref(parts);
}

void
ms__imap_envelope(GString *s, const guint8 *p, gsize n)
{
    g_autofree char *date = ms__imap_header_get(p, n, "Date");
    g_autofree char *subject = ms__imap_header_get(p, n, "Subject");
    g_autofree char *from = ms__imap_header_get(p, n, "From");
    g_autofree char *sender = ms__imap_header_get(p, n, "Sender");
    g_autofree char *reply_to = ms__imap_header_get(p, n, "Reply-To");
    g_autofree char *to = ms__imap_header_get(p, n, "To");
    g_autofree char *cc = ms__imap_header_get(p, n, "Cc");
    g_autofree char *bcc = ms__imap_header_get(p, n, "Bcc");
    g_autofree char *irt = ms__imap_header_get(p, n, "In-Reply-To");
    g_autofree char *mid = ms__imap_header_get(p, n, "Message-ID");
    g_string_append_c(s, '(');
    ms__imap_string(s, date);
    g_string_append_c(s, ' ');
    ms__imap_string(s, subject);
    g_string_append_c(s, ' ');
    append_addresses(s, from);
    g_string_append_c(s, ' ');
    /* RFC 9051 7.5.2: Sender and Reply-To default to From. */
    append_addresses(s, sender ? sender : from);
    g_string_append_c(s, ' ');
    append_addresses(s, reply_to ? reply_to : from);
    g_string_append_c(s, ' ');
    append_addresses(s, to);
    g_string_append_c(s, ' ');
    append_addresses(s, cc);
    g_string_append_c(s, ' ');
    append_addresses(s, bcc);
    g_string_append_c(s, ' ');
    ms__imap_string(s, irt);
    g_string_append_c(s, ' ');
    ms__imap_string(s, mid);
    g_string_append_c(s, ')');
}

/* ---- body structure ---------------------------------------------------- */

typedef struct {
    char *type, *subtype; /* upper case */
    GPtrArray *params;    /* char*: name, value, name, value... (name upper case) */
} ContentType;

static void
content_type_clear(ContentType *ct)
{
    g_free(ct->type);
    g_free(ct->subtype);
    g_ptr_array_unref(ct->params);
}

/* Parses a Content-Type value (RFC 2045 5.1); a missing or broken one is
 * text/plain; charset=us-ascii (RFC 2045 5.2), or message/rfc822 inside a
 * multipart/digest. */
static void
content_type_parse(ContentType *ct, const char *v, gboolean digest)
{
    ct->params = g_ptr_array_new_with_free_func(g_free);
    const char *slash = v ? strchr(v, '/') : NULL;
    if (!v || !slash) {
        ct->type = g_strdup(digest ? "MESSAGE" : "TEXT");
        ct->subtype = g_strdup(digest ? "RFC822" : "PLAIN");
        if (!digest) {
            g_ptr_array_add(ct->params, g_strdup("CHARSET"));
            g_ptr_array_add(ct->params, g_strdup("US-ASCII"));
        }
        return;
    }
    g_autofree char *t = g_strstrip(g_strndup(v, (gsize) (slash - v)));
    const char *semi = strchr(slash, ';');
    g_autofree char *st =
        g_strstrip(g_strndup(slash + 1, semi ? (gsize) (semi - slash - 1) : strlen(slash + 1)));
    ct->type = g_ascii_strup(t, -1);
    ct->subtype = g_ascii_strup(st, -1);
    while (semi && ct->params->len < 2 * 16) {
        const char *q = semi + 1;
        const char *eq = strchr(q, '=');
        if (!eq)
            break;
        g_autofree char *name = g_strstrip(g_strndup(q, (gsize) (eq - q)));
        const char *val = eq + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        GString *value = g_string_new(NULL);
        if (*val == '"') {
            val++;
            while (*val && *val != '"') {
                if (*val == '\\' && val[1])
                    val++;
                g_string_append_c(value, *val++);
            }
            semi = *val ? strchr(val + 1, ';') : NULL;
        } else {
            semi = strchr(val, ';');
            gsize len = semi ? (gsize) (semi - val) : strlen(val);
            g_string_append_len(value, val, (gssize) len);
            g_strstrip(value->str);
            g_string_set_size(value, strlen(value->str));
        }
        if (*name) {
            g_ptr_array_add(ct->params, g_ascii_strup(name, -1));
            g_ptr_array_add(ct->params, g_string_free(value, FALSE));
        } else {
            g_string_free(value, TRUE);
        }
    }
}

static const char *
param(const ContentType *ct, const char *name)
{
    for (guint i = 0; i + 1 < ct->params->len; i += 2)
        if (strcmp(g_ptr_array_index(ct->params, i), name) == 0)
            return g_ptr_array_index(ct->params, i + 1);
    return NULL;
}

static void
append_params(GString *s, const ContentType *ct)
{
    if (ct->params->len == 0) {
        g_string_append(s, "NIL");
        return;
    }
    g_string_append_c(s, '(');
    for (guint i = 0; i < ct->params->len; i++) {
        if (i)
            g_string_append_c(s, ' ');
        ms__imap_string(s, g_ptr_array_index(ct->params, i));
    }
    g_string_append_c(s, ')');
}

static guint64
count_lines(const guint8 *p, gsize n)
{
    guint64 k = 0;
    for (gsize i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

static void part(GString *s, const guint8 *p, gsize n, gboolean ext, int depth, gboolean digest);

/* The parts of a multipart body between its boundary lines (RFC 2046
 * 5.1.1): each part runs from after a delimiter line to before the CRLF
 * that precedes the next. Appends (offset, length) pairs to `out`, at most
 * MAX_PARTS parts. */
static void
split_parts(const guint8 *body, gsize n, const char *boundary, GArray *out)
{
    gsize blen = strlen(boundary);
    gsize i = 0;
    gssize start = -1;
    while (i < n && out->len < 2 * MAX_PARTS) {
        const guint8 *lf = memchr(body + i, '\n', n - i);
        gsize end = lf ? (gsize) (lf - body) + 1 : n;
        gboolean delim = end - i >= 2 + blen && body[i] == '-' && body[i + 1] == '-' &&
                         memcmp(body + i + 2, boundary, blen) == 0;
        if (delim) {
            gboolean last =
                end - i >= 4 + blen && body[i + 2 + blen] == '-' && body[i + 3 + blen] == '-';
            if (start >= 0) {
                gsize pend = i;
                if (pend > (gsize) start && body[pend - 1] == '\n')
                    pend--;
                if (pend > (gsize) start && body[pend - 1] == '\r')
                    pend--;
                gsize off = (gsize) start, len = pend - (gsize) start;
                g_array_append_val(out, off);
                g_array_append_val(out, len);
            }
            if (last)
                break;
            start = (gssize) end;
        }
        i = end;
    }
}

static void
multipart(GString *s, const guint8 *body, gsize n, const char *boundary, gboolean ext, int depth,
          gboolean digest)
{
    g_autoptr(GArray) parts = g_array_new(FALSE, FALSE, sizeof(gsize));
    split_parts(body, n, boundary, parts);
    for (guint k = 0; k + 1 < parts->len; k += 2)
        part(s, body + g_array_index(parts, gsize, k), g_array_index(parts, gsize, k + 1), ext,
             depth + 1, digest);
    if (parts->len == 0) /* RFC 9051 7.5.2 wants at least one part */
        part(s, (const guint8 *) "", 0, ext, depth + 1, FALSE);
}

static void
part(GString *s, const guint8 *p, gsize n, gboolean ext, int depth, gboolean digest)
{
    g_autofree char *ctv = ms__imap_header_get(p, n, "Content-Type");
    g_autofree char *cte = ms__imap_header_get(p, n, "Content-Transfer-Encoding");
    g_autofree char *cid = ms__imap_header_get(p, n, "Content-ID");
    g_autofree char *cdesc = ms__imap_header_get(p, n, "Content-Description");
    ContentType ct;
    content_type_parse(&ct, ctv, digest);
    gsize hend = ms__imap_header_end(p, n);
    const guint8 *body = p + hend;
    gsize blen = n - hend;
    const char *boundary = param(&ct, "BOUNDARY");
    if (depth >= MAX_DEPTH &&
        (strcmp(ct.type, "MULTIPART") == 0 || strcmp(ct.type, "MESSAGE") == 0)) {
        content_type_clear(&ct);
        ct.type = g_strdup("APPLICATION");
        ct.subtype = g_strdup("OCTET-STREAM");
        ct.params = g_ptr_array_new_with_free_func(g_free);
        boundary = NULL;
    }
    g_string_append_c(s, '(');
    if (strcmp(ct.type, "MULTIPART") == 0 && boundary && *boundary) {
        multipart(s, body, blen, boundary, ext, depth, strcmp(ct.subtype, "DIGEST") == 0);
        g_string_append_c(s, ' ');
        ms__imap_string(s, ct.subtype);
        if (ext) {
            g_string_append_c(s, ' ');
            append_params(s, &ct);
            g_string_append(s, " NIL NIL NIL");
        }
        g_string_append_c(s, ')');
        content_type_clear(&ct);
        return;
    }
    if (strcmp(ct.type, "MULTIPART") == 0) { /* no boundary: opaque */
        g_free(ct.type);
        g_free(ct.subtype);
        ct.type = g_strdup("APPLICATION");
        ct.subtype = g_strdup("OCTET-STREAM");
    }
    ms__imap_string(s, ct.type);
    g_string_append_c(s, ' ');
    ms__imap_string(s, ct.subtype);
    g_string_append_c(s, ' ');
    append_params(s, &ct);
    g_string_append_c(s, ' ');
    ms__imap_string(s, cid);
    g_string_append_c(s, ' ');
    ms__imap_string(s, cdesc);
    g_string_append_c(s, ' ');
    g_autofree char *enc = g_ascii_strup(cte ? cte : "7BIT", -1);
    ms__imap_string(s, enc);
    g_string_append_printf(s, " %" G_GSIZE_FORMAT, blen);
    if (strcmp(ct.type, "MESSAGE") == 0 && strcmp(ct.subtype, "RFC822") == 0) {
        /* RFC 9051 7.5.2 body-type-msg: envelope, body, lines. */
        g_string_append_c(s, ' ');
        ms__imap_envelope(s, body, blen);
        g_string_append_c(s, ' ');
        part(s, body, blen, ext, depth + 1, FALSE);
        g_string_append_printf(s, " %" G_GUINT64_FORMAT, count_lines(body, blen));
    } else if (strcmp(ct.type, "TEXT") == 0) {
        g_string_append_printf(s, " %" G_GUINT64_FORMAT, count_lines(body, blen));
    }
    if (ext)
        g_string_append(s, " NIL NIL NIL NIL");
    g_string_append_c(s, ')');
    content_type_clear(&ct);
}

void
ms__imap_bodystructure(GString *s, const guint8 *p, gsize n, gboolean ext)
{
    part(s, p, n, ext, 0, FALSE);
}

/* ---- numbered parts (RFC 9051 6.4.5) ----------------------------------- */

/* The entity at [hoff, end) of the message, its header up to boff. */
typedef struct {
    gsize hoff, boff, end;
    gboolean in_digest;
} Entity;

static Entity
entity_at(const guint8 *p, gsize off, gsize end, gboolean in_digest)
{
    Entity e = { off, off + ms__imap_header_end(p + off, end - off), end, in_digest };
    return e;
}

gboolean
ms__imap_part_find(const guint8 *p, gsize n, const guint *path, guint depth, MsImapPart *out)
{
    g_return_val_if_fail(depth > 0, FALSE);
    Entity e = entity_at(p, 0, n, FALSE);
    gboolean is_message = TRUE; /* e is a message: numbers name its parts */
    for (guint d = 0; d < depth;) {
        if (d >= MAX_DEPTH)
            return FALSE;
        g_autofree char *ctv = ms__imap_header_get(p + e.hoff, e.boff - e.hoff, "Content-Type");
        ContentType ct;
        content_type_parse(&ct, ctv, e.in_digest);
        const char *boundary = param(&ct, "BOUNDARY");
        gboolean multi = !strcmp(ct.type, "MULTIPART") && boundary && *boundary;
        gboolean digest = multi && !strcmp(ct.subtype, "DIGEST");
        gboolean rfc822 = !strcmp(ct.type, "MESSAGE") && !strcmp(ct.subtype, "RFC822");
        if (multi) {
            g_autoptr(GArray) parts = g_array_new(FALSE, FALSE, sizeof(gsize));
            split_parts(p + e.boff, e.end - e.boff, boundary, parts);
            content_type_clear(&ct);
            guint k = path[d];
            if (k == 0 || 2 * k > parts->len)
                return FALSE;
            gsize off = e.boff + g_array_index(parts, gsize, 2 * (k - 1));
            e = entity_at(p, off, off + g_array_index(parts, gsize, 2 * k - 1), digest);
            is_message = FALSE;
            d++;
        } else if (is_message) {
            /* A single-part message: its body is part 1, with the
             * message's header as its MIME header. */
            content_type_clear(&ct);
            if (path[d] != 1)
                return FALSE;
            is_message = FALSE;
            d++;
        } else if (rfc822) {
            /* RFC 9051 6.4.5: the numbers after a message/rfc822 part name
             * the parts of the message inside it. */
            content_type_clear(&ct);
            e = entity_at(p, e.boff, e.end, FALSE);
            is_message = TRUE;
        } else {
            content_type_clear(&ct);
            return FALSE;
        }
    }
    g_autofree char *ctv = ms__imap_header_get(p + e.hoff, e.boff - e.hoff, "Content-Type");
    ContentType ct;
    content_type_parse(&ct, ctv, e.in_digest);
    out->header_off = e.hoff;
    out->header_len = e.boff - e.hoff;
    out->body_off = e.boff;
    out->body_len = e.end - e.boff;
    out->is_message = !strcmp(ct.type, "MESSAGE") && !strcmp(ct.subtype, "RFC822");
    out->is_multipart = !strcmp(ct.type, "MULTIPART");
    content_type_clear(&ct);
    g_autofree char *cte =
        ms__imap_header_get(p + e.hoff, e.boff - e.hoff, "Content-Transfer-Encoding");
    out->encoding = g_ascii_strdown(cte ? cte : "7bit", -1);
    return TRUE;
}

static int
hexval(guint8 c)
{
    if (g_ascii_isdigit(c))
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

GBytes *
ms__imap_qp_decode(const guint8 *p, gsize n)
{
    GByteArray *out = g_byte_array_sized_new((guint) n);
    gsize i = 0;
    while (i < n) {
        /* One line, its end (CRLF or LF) kept apart. */
        const guint8 *lf = memchr(p + i, '\n', n - i);
        gsize eol = lf ? (gsize) (lf - p) : n, next = lf ? eol + 1 : n;
        gsize end = eol;
        if (end > i && p[end - 1] == '\r')
            end--;
        /* RFC 2045 6.7 rule 3: blanks at the end of a line were added in
         * transport and are dropped. */
        while (end > i && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        gboolean soft = FALSE;
        for (gsize j = i; j < end; j++) {
            if (p[j] != '=') {
                g_byte_array_append(out, p + j, 1);
                continue;
            }
            if (j + 1 == end) { /* rule 5: "=" ends a soft line break */
                soft = TRUE;
                break;
            }
            int hi = j + 2 < end ? hexval(p[j + 1]) : -1, lo = j + 2 < end ? hexval(p[j + 2]) : -1;
            if (hi < 0 || lo < 0) { /* not an escape: kept as it came (6.7 note) */
                g_byte_array_append(out, p + j, 1);
                continue;
            }
            guint8 v = (guint8) (hi << 4 | lo);
            g_byte_array_append(out, &v, 1);
            j += 2;
        }
        if (lf && !soft)
            g_byte_array_append(out, (const guint8 *) "\r\n", 2);
        i = next;
    }
    return g_byte_array_free_to_bytes(out);
}

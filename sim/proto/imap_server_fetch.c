/* The IMAP server core's FETCH (RFC 9051 6.4.5): the parser of fetch
 * attributes and the rendering of each: FLAGS, UID, INTERNALDATE,
 * RFC822.SIZE, ENVELOPE, BODY and BODYSTRUCTURE, BODY[section]<partial>
 * with numbered parts (1.2.MIME), the RFC822 aliases, and BINARY and
 * BINARY.SIZE (RFC 3516).
 *
 * Design. A message is read through the hook only when an item needs its
 * bytes, once per message; sections are views into it (g_bytes_new_from_
 * bytes) and are copied once, into the output. BINARY is worked out first
 * so that an unknown Content-Transfer-Encoding answers NO [UNKNOWN-CTE]
 * before any \Seen flag moves. A non-PEEK body fetch sets \Seen and tells
 * the new flags. The MIME work is imap_message.c's. */
#include "imap_server-private.h"

#include <string.h>

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
    char *label;                /* the response's item name, e.g. "BODY[HEADER]" or "RFC822" */
    char **names;               /* HEADER.FIELDS */
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
p_section(MsImapParser *ps, FetchItem *f, GString *label, gboolean binary, gboolean no_partial)
{
    g_autofree char *all = ms__imap_parse_atom(ps, ".");
    const char *word = all;
    f->section = S_ALL;
    f->path_len = 0;
    while (word && g_ascii_isdigit(*word)) {
        const char *dot = strchr(word, '.');
        gsize len = dot ? (gsize) (dot - word) : strlen(word);
        guint32 v;
        if (f->path_len >= MAX_PART_DEPTH || !ms__imap_parse_num(word, len, &v))
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
            char *n = ms__imap_parse_astring(ps);
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
        if (!(zero || ms__imap_parse_num((const char *) ps->p + a0, a1 - a0, &a)) ||
            !ms__imap_parse_num((const char *) ps->p + b0, b1 - b0, &b))
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
p_fetch_att(MsImapParser *ps, GArray *items)
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
p_fetch_atts(MsImapParser *ps, GArray *items)
{
    gsize st = ps->i;
    g_autofree char *macro = ms__imap_parse_atom(ps, NULL);
    if (macro && (peek(ps, ' ') || at_end(ps))) {
        const char *expand = NULL;
        if (!g_ascii_strcasecmp(macro, "ALL"))
            expand = "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE";
        else if (!g_ascii_strcasecmp(macro, "FAST"))
            expand = "FLAGS INTERNALDATE RFC822.SIZE";
        else if (!g_ascii_strcasecmp(macro, "FULL"))
            expand = "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY";
        if (expand) {
            MsImapParser sub = { (const guint8 *) expand, strlen(expand), 0, FALSE };
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
    if (seen_now) {
        g_autoptr(GPtrArray) names = ms__imap_keyword_names(srv->keywords, m->keywords);
        seen_now = srv->hooks.set_flags(srv->user_data, srv->user, srv->mailbox, m->uid,
                                        m->flags | MS_IMAP_FLAG_SEEN,
                                        (const char *const *) names->pdata) == MS_IMAP_HOOK_OK;
    }
    if (seen_now)
        m->flags |= MS_IMAP_FLAG_SEEN;
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
            ms__imap_append_flags(s, m, srv->keywords);
            break;
        case F_UID:
            g_string_append_printf(s, "UID %u", m->uid);
            break;
        case F_INTERNALDATE:
            g_string_append(s, "INTERNALDATE ");
            ms__imap_append_date(s, m->internal_date);
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
        case F_SECTION:
        case F_BINARY: {
            GBytes *bin = g_ptr_array_index(bins, k);
            g_autoptr(GBytes) b = f->kind == F_SECTION ? section_bytes(f, msg)
                                  : bin                ? g_bytes_ref(bin)
                                                       : NULL;
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
        ms__imap_append_flags(s, m, srv->keywords);
    }
#undef SEP
    g_string_append_c(s, ')');
    ms__imap_emit(srv, s);
    g_string_free(s, TRUE);
    return FETCH_OK;
}

void
ms__imap_cmd_fetch(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *set = NULL;
    g_autoptr(GArray) items = g_array_new(FALSE, TRUE, sizeof(FetchItem));
    g_array_set_clear_func(items, fetch_item_clear);
    if (!eat(c->ps, ' ') || !(set = ms__imap_parse_atom(c->ps, "*")) || !eat(c->ps, ' ') ||
        !p_fetch_atts(c->ps, items)) {
        ms__imap_syntax(c, "FETCH");
        return;
    }
    if (eat(c->ps, ' ')) { /* fetch modifiers (RFC 4466): none known */
        ms__imap_syntax(c, "FETCH");
        return;
    }
    if (!ms__imap_end_ok(c, "FETCH"))
        return;
    g_autoptr(GArray) idx = ms__imap_resolve_set(srv, c->tag, set, c->uid);
    if (!idx)
        return;
    gboolean gone = FALSE, unknown_cte = FALSE;
    for (guint k = 0; k < idx->len; k++) {
        FetchResult r = fetch_one(srv, g_array_index(idx, guint, k), items, c->uid);
        gone |= r == FETCH_GONE;
        unknown_cte |= r == FETCH_UNKNOWN_CTE;
    }
    if (unknown_cte) /* RFC 3516 4.2 */
        ms__imap_say(srv, "%s NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding.", c->tag);
    else if (gone)
        ms__imap_say(srv, "%s NO [EXPUNGEISSUED] Some messages were expunged.", c->tag);
    else
        ms__imap_say(srv, "%s OK Fetch completed.", c->tag);
}

/* DKIM's text formats (see include/mailsim/dkim.h). Role in the data flow:
 * the verifier hands each DKIM-Signature field's value and each key
 * record the caller fetched to the parsers here; what they return drives
 * the verification, and what they refuse becomes a permerror with the
 * parser's reason.
 *
 * Design. One tag-list parser (RFC 6376 3.2) serves both formats: it
 * splits on ";" (VALCHAR excludes it, so a value never holds one), trims
 * folding white space around names and values, checks each name against
 * ALPHA *(ALPHA / DIGIT / "_") and each value against VALCHAR and inner
 * white space, and refuses a name given twice. The field and record
 * parsers then read the tags they know and ignore the others (RFC 6376
 * 3.2: unknown tags MUST be ignored).
 *
 * Choices where the RFCs leave room:
 * - An empty tag-spec is allowed only after the last ";" (the ABNF allows
 *   one trailing ";", nothing more); "a=1;;b=2" is a syntax error.
 * - x= equal to t= is accepted: RFC 6376 3.5 asks signers for x= greater
 *   than t=; a verifier refusing only x= < t= (as python3-dkim does) loses
 *   nothing, since such a signature expires the second it is made.
 * - a=, c=, k= and q= values are compared case-insensitively, d= is
 *   lower-cased (DNS names), s= is kept as written (it is queried as is).
 * - bh= must decode to 32 octets (SHA-256): anything else is a permerror
 *   rather than a body hash that can never match.
 *
 * Costs: one pass over the text, one allocation per tag. Ownership: the
 * list owns its strings; the structs own theirs. */
#include "dkim-private.h"

#include <string.h>

G_DEFINE_QUARK(ms - dkim - error - quark, ms_dkim_error)

typedef struct {
    char *name;
    char *value;
} MsDkimTag;

struct _MsDkimTagList {
    GArray *tags; /* of MsDkimTag */
};

static void
tag_clear(gpointer p)
{
    MsDkimTag *t = p;
    g_free(t->name);
    g_free(t->value);
}

void
ms_dkim_tag_list_free(MsDkimTagList *list)
{
    if (!list)
        return;
    g_array_unref(list->tags);
    g_free(list);
}

/* VALCHAR = %x21-3A / %x3C-7E (RFC 6376 3.2). */
static gboolean
is_valchar(char c)
{
    guchar u = (guchar) c;
    return u >= 0x21 && u <= 0x7e && u != ';';
}

MsDkimTagList *
ms_dkim_tag_list_parse(const char *text, gsize len, GError **error)
{
    g_return_val_if_fail(text != NULL || len == 0, NULL);
    MsDkimTagList *list = g_new0(MsDkimTagList, 1);
    list->tags = g_array_new(FALSE, TRUE, sizeof(MsDkimTag));
    g_array_set_clear_func(list->tags, tag_clear);
    g_autoptr(MsDkimTagList) guard = list;

    gsize pos = 0;
    while (pos <= len) {
        gsize end = pos;
        while (end < len && text[end] != ';')
            end++;
        gsize a = pos, b = end;
        while (a < b && ms__dkim_is_fws(text[a]))
            a++;
        while (b > a && ms__dkim_is_fws(text[b - 1]))
            b--;
        if (a == b) {
            /* Only the spec after a final ";" (or an empty list) may be empty. */
            if (end < len || (pos > 0 && text[pos - 1] != ';')) {
                g_set_error(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX,
                            "empty tag at offset %" G_GSIZE_FORMAT, pos);
                return NULL;
            }
            break;
        }
        const char *eq = memchr(text + a, '=', b - a);
        if (!eq) {
            g_set_error(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX,
                        "tag without \"=\" at offset %" G_GSIZE_FORMAT, a);
            return NULL;
        }
        gsize ne = (gsize) (eq - text), vs = ne + 1;
        while (ne > a && ms__dkim_is_fws(text[ne - 1]))
            ne--;
        while (vs < b && ms__dkim_is_fws(text[vs]))
            vs++;
        /* tag-name = ALPHA *ALNUMPUNC */
        gboolean name_ok = ne > a && g_ascii_isalpha(text[a]);
        for (gsize k = a; name_ok && k < ne; k++)
            name_ok = g_ascii_isalnum(text[k]) || text[k] == '_';
        if (!name_ok) {
            g_autofree char *shown = g_strndup(text + a, MIN(ne - a, 40));
            g_autofree char *esc = g_strescape(shown, NULL);
            g_set_error(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX, "invalid tag name \"%s\"", esc);
            return NULL;
        }
        for (gsize k = vs; k < b; k++) {
            if (!is_valchar(text[k]) && !ms__dkim_is_fws(text[k])) {
                g_autofree char *name = g_strndup(text + a, ne - a);
                g_set_error(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX,
                            "tag %s: invalid character 0x%02x in its value", name,
                            (guchar) text[k]);
                return NULL;
            }
        }
        MsDkimTag t = { g_strndup(text + a, ne - a), g_strndup(text + vs, b - vs) };
        for (guint i = 0; i < list->tags->len; i++) {
            if (strcmp(g_array_index(list->tags, MsDkimTag, i).name, t.name) == 0) {
                g_set_error(error, MS_DKIM_ERROR, MS_DKIM_ERROR_SYNTAX,
                            "tag %s given twice (RFC 6376 3.2)", t.name);
                tag_clear(&t);
                return NULL;
            }
        }
        g_array_append_val(list->tags, t);
        pos = end + 1;
    }
    return g_steal_pointer(&guard);
}

guint
ms_dkim_tag_list_size(const MsDkimTagList *list)
{
    g_return_val_if_fail(list != NULL, 0);
    return list->tags->len;
}

const char *
ms_dkim_tag_list_name(const MsDkimTagList *list, guint i)
{
    g_return_val_if_fail(list != NULL && i < list->tags->len, NULL);
    return g_array_index(list->tags, MsDkimTag, i).name;
}

const char *
ms_dkim_tag_list_value(const MsDkimTagList *list, guint i)
{
    g_return_val_if_fail(list != NULL && i < list->tags->len, NULL);
    return g_array_index(list->tags, MsDkimTag, i).value;
}

const char *
ms_dkim_tag_list_lookup(const MsDkimTagList *list, const char *name)
{
    g_return_val_if_fail(list != NULL && name != NULL, NULL);
    for (guint i = 0; i < list->tags->len; i++) {
        const MsDkimTag *t = &g_array_index(list->tags, MsDkimTag, i);
        if (strcmp(t->name, name) == 0)
            return t->value;
    }
    return NULL;
}

/* --- helpers --------------------------------------------------------------- */

GBytes *
ms__dkim_base64_decode(const char *text, gsize len)
{
    g_autoptr(GString) clean = g_string_sized_new(len);
    gsize pad = 0;
    for (gsize i = 0; i < len; i++) {
        char c = text[i];
        if (ms__dkim_is_fws(c))
            continue;
        if (c == '=') {
            pad++;
        } else if (g_ascii_isalnum(c) || c == '+' || c == '/') {
            if (pad)
                return NULL; /* data after padding */
        } else {
            return NULL;
        }
        g_string_append_c(clean, c);
    }
    if (clean->len % 4 != 0 || pad > 2)
        return NULL;
    if (clean->len == 0)
        return g_bytes_new(NULL, 0);
    gsize n = 0;
    guchar *out = g_base64_decode(clean->str, &n);
    return g_bytes_new_take(out, n);
}

/* A domain name or selector: labels of letters, digits, "-" and "_"
 * (selectors and some d= values carry underscores in practice), separated
 * by single dots. */
static gboolean
valid_dns_name(const char *s)
{
    if (!*s || *s == '.' || strlen(s) > 253)
        return FALSE;
    char prev = '.';
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (prev == '.')
                return FALSE;
        } else if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_') {
            return FALSE;
        }
        prev = *p;
    }
    return prev != '.';
}

/* 1*max DIGIT into *out. */
static gboolean
parse_digits(const char *s, guint max, gint64 *out)
{
    gsize n = strlen(s);
    if (n == 0 || n > max)
        return FALSE;
    gint64 v = 0;
    for (gsize i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return TRUE;
}

/* Splits a colon-separated list, trimming folding white space around each
 * element (RFC 6376 3.5 h=, q=; 3.6.1 h=, s=, t=). */
static char **
split_colon(const char *s)
{
    char **parts = g_strsplit(s, ":", -1);
    for (char **p = parts; *p; p++) {
        char *a = *p;
        while (ms__dkim_is_fws(*a))
            a++;
        gsize n = strlen(a);
        while (n && ms__dkim_is_fws(a[n - 1]))
            n--;
        memmove(*p, a, n);
        (*p)[n] = '\0';
    }
    return parts;
}

static gboolean
list_has(char *const *list, const char *what)
{
    for (; *list; list++)
        if (g_ascii_strcasecmp(*list, what) == 0)
            return TRUE;
    return FALSE;
}

static gboolean fail(GError **error, MsDkimError code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static gboolean
fail(GError **error, MsDkimError code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, MS_DKIM_ERROR, code, msg);
    return FALSE;
}

/* --- DKIM-Signature (RFC 6376 3.5) ----------------------------------------- */

void
ms_dkim_signature_free(MsDkimSignature *sig)
{
    if (!sig)
        return;
    g_free(sig->domain);
    g_free(sig->selector);
    g_free(sig->identity);
    g_strfreev(sig->headers);
    g_clear_pointer(&sig->body_hash, g_bytes_unref);
    g_clear_pointer(&sig->signature, g_bytes_unref);
    g_free(sig->b_text);
    g_free(sig);
}

static gboolean
parse_canon(const char *s, MsDkimCanon *out)
{
    if (g_ascii_strcasecmp(s, "simple") == 0)
        *out = MS_DKIM_CANON_SIMPLE;
    else if (g_ascii_strcasecmp(s, "relaxed") == 0)
        *out = MS_DKIM_CANON_RELAXED;
    else
        return FALSE;
    return TRUE;
}

static gboolean
signature_fill(MsDkimSignature *sig, const MsDkimTagList *tags, GError **error)
{
    static const char *const required[] = { "v", "a", "b", "bh", "d", "h", "s" };
    for (guint i = 0; i < G_N_ELEMENTS(required); i++)
        if (!ms_dkim_tag_list_lookup(tags, required[i]))
            return fail(error, MS_DKIM_ERROR_SYNTAX, "missing required tag %s= (RFC 6376 3.5)",
                        required[i]);

    if (strcmp(ms_dkim_tag_list_lookup(tags, "v"), "1") != 0)
        return fail(error, MS_DKIM_ERROR_UNSUPPORTED, "unknown version v=%s",
                    ms_dkim_tag_list_lookup(tags, "v"));

    const char *a = ms_dkim_tag_list_lookup(tags, "a");
    if (g_ascii_strcasecmp(a, "rsa-sha256") == 0)
        sig->alg = MS_DKIM_ALG_RSA_SHA256;
    else if (g_ascii_strcasecmp(a, "ed25519-sha256") == 0)
        sig->alg = MS_DKIM_ALG_ED25519_SHA256;
    else if (g_ascii_strcasecmp(a, "rsa-sha1") == 0)
        return fail(error, MS_DKIM_ERROR_UNSUPPORTED,
                    "rsa-sha1 is no longer accepted (RFC 8301 3.1)");
    else
        return fail(error, MS_DKIM_ERROR_UNSUPPORTED, "unknown algorithm a=%s", a);

    const char *b = ms_dkim_tag_list_lookup(tags, "b");
    sig->signature = ms__dkim_base64_decode(b, strlen(b));
    if (!sig->signature || g_bytes_get_size(sig->signature) == 0)
        return fail(error, MS_DKIM_ERROR_SYNTAX, "b= is not valid base64 or is empty");
    GString *bt = g_string_new(NULL);
    for (const char *p = b; *p; p++)
        if (!ms__dkim_is_fws(*p))
            g_string_append_c(bt, *p);
    sig->b_text = g_string_free(bt, FALSE);

    const char *bh = ms_dkim_tag_list_lookup(tags, "bh");
    sig->body_hash = ms__dkim_base64_decode(bh, strlen(bh));
    if (!sig->body_hash || g_bytes_get_size(sig->body_hash) != 32)
        return fail(error, MS_DKIM_ERROR_SYNTAX, "bh= is not a base64 SHA-256 hash");

    sig->header_canon = sig->body_canon = MS_DKIM_CANON_SIMPLE;
    const char *c = ms_dkim_tag_list_lookup(tags, "c");
    if (c) {
        g_auto(GStrv) parts = g_strsplit(c, "/", 3);
        if (!parts[0] || !parse_canon(parts[0], &sig->header_canon) ||
            (parts[1] && (!parse_canon(parts[1], &sig->body_canon) || parts[2])))
            return fail(error, MS_DKIM_ERROR_UNSUPPORTED, "unknown canonicalization c=%s", c);
    }

    sig->domain = g_ascii_strdown(ms_dkim_tag_list_lookup(tags, "d"), -1);
    if (!valid_dns_name(sig->domain))
        return fail(error, MS_DKIM_ERROR_SYNTAX, "d=%s is not a domain name", sig->domain);
    sig->selector = g_strdup(ms_dkim_tag_list_lookup(tags, "s"));
    if (!valid_dns_name(sig->selector))
        return fail(error, MS_DKIM_ERROR_SYNTAX, "s=%s is not a selector", sig->selector);

    sig->headers = split_colon(ms_dkim_tag_list_lookup(tags, "h"));
    gboolean from = FALSE;
    for (char **h = sig->headers; *h; h++) {
        if (!**h)
            return fail(error, MS_DKIM_ERROR_SYNTAX, "h= has an empty header field name");
        for (const char *p = *h; *p; p++)
            if ((guchar) *p < 33 || (guchar) *p > 126)
                return fail(error, MS_DKIM_ERROR_SYNTAX, "h= names an invalid field \"%s\"", *h);
        char *low = g_ascii_strdown(*h, -1);
        g_free(*h);
        *h = low;
        from = from || strcmp(low, "from") == 0;
    }
    if (!from)
        return fail(error, MS_DKIM_ERROR_SYNTAX, "h= does not include From (RFC 6376 5.4)");

    const char *i = ms_dkim_tag_list_lookup(tags, "i");
    if (i) {
        const char *at = strrchr(i, '@');
        if (!at)
            return fail(error, MS_DKIM_ERROR_SYNTAX, "i=%s has no \"@\"", i);
        const char *idom = at + 1;
        gsize il = strlen(idom), dl = strlen(sig->domain);
        gboolean within = g_ascii_strcasecmp(idom, sig->domain) == 0 ||
                          (il > dl && idom[il - dl - 1] == '.' &&
                           g_ascii_strcasecmp(idom + il - dl, sig->domain) == 0);
        if (!within)
            return fail(error, MS_DKIM_ERROR_SYNTAX, "i=%s is not within d=%s (RFC 6376 3.5)", i,
                        sig->domain);
        sig->identity = g_strdup(i);
    } else {
        sig->identity = g_strconcat("@", sig->domain, NULL);
    }

    sig->body_length = sig->timestamp = sig->expiration = -1;
    const char *l = ms_dkim_tag_list_lookup(tags, "l");
    if (l && !parse_digits(l, 18, &sig->body_length))
        return fail(error, MS_DKIM_ERROR_SYNTAX, "l=%s is not a length", l);
    const char *t = ms_dkim_tag_list_lookup(tags, "t");
    if (t && !parse_digits(t, 12, &sig->timestamp))
        return fail(error, MS_DKIM_ERROR_SYNTAX, "t=%s is not a timestamp", t);
    const char *x = ms_dkim_tag_list_lookup(tags, "x");
    if (x && !parse_digits(x, 12, &sig->expiration))
        return fail(error, MS_DKIM_ERROR_SYNTAX, "x=%s is not a timestamp", x);
    if (t && x && sig->expiration < sig->timestamp)
        return fail(error, MS_DKIM_ERROR_SYNTAX, "x= is before t= (RFC 6376 3.5)");

    const char *q = ms_dkim_tag_list_lookup(tags, "q");
    if (q) {
        g_auto(GStrv) methods = split_colon(q);
        if (!list_has(methods, "dns/txt"))
            return fail(error, MS_DKIM_ERROR_UNSUPPORTED, "no known query method in q=%s", q);
    }
    return TRUE;
}

MsDkimSignature *
ms_dkim_signature_parse(const char *value, gsize len, GError **error)
{
    g_return_val_if_fail(value != NULL || len == 0, NULL);
    g_autoptr(MsDkimTagList) tags = ms_dkim_tag_list_parse(value, len, error);
    if (!tags)
        return NULL;
    g_autoptr(MsDkimSignature) sig = g_new0(MsDkimSignature, 1);
    if (!signature_fill(sig, tags, error))
        return NULL;
    return g_steal_pointer(&sig);
}

/* --- key records (RFC 6376 3.6.1) ------------------------------------------ */

MsDkimKey *
ms_dkim_key_parse(const char *txt, gsize len, GError **error)
{
    g_return_val_if_fail(txt != NULL || len == 0, NULL);
    g_autoptr(MsDkimTagList) tags = ms_dkim_tag_list_parse(txt, len, error);
    if (!tags)
        return NULL;
    const char *v = ms_dkim_tag_list_lookup(tags, "v");
    if (v && (strcmp(v, "DKIM1") != 0 || strcmp(ms_dkim_tag_list_name(tags, 0), "v") != 0)) {
        fail(error, MS_DKIM_ERROR_SYNTAX, "v= must be DKIM1 and come first (RFC 6376 3.6.1)");
        return NULL;
    }
    const char *h = ms_dkim_tag_list_lookup(tags, "h");
    if (h) {
        g_auto(GStrv) hashes = split_colon(h);
        if (!list_has(hashes, "sha256")) {
            fail(error, MS_DKIM_ERROR_UNSUPPORTED, "key allows only h=%s, not sha256", h);
            return NULL;
        }
    }
    MsDkimKeyType type = MS_DKIM_KEY_RSA;
    const char *k = ms_dkim_tag_list_lookup(tags, "k");
    if (k && g_ascii_strcasecmp(k, "ed25519") == 0) {
        type = MS_DKIM_KEY_ED25519;
    } else if (k && g_ascii_strcasecmp(k, "rsa") != 0) {
        fail(error, MS_DKIM_ERROR_UNSUPPORTED, "unknown key type k=%s", k);
        return NULL;
    }
    const char *s = ms_dkim_tag_list_lookup(tags, "s");
    if (s) {
        g_auto(GStrv) services = split_colon(s);
        if (!list_has(services, "*") && !list_has(services, "email")) {
            fail(error, MS_DKIM_ERROR_UNSUPPORTED, "key is not for email (s=%s)", s);
            return NULL;
        }
    }
    const char *p = ms_dkim_tag_list_lookup(tags, "p");
    if (!p) {
        fail(error, MS_DKIM_ERROR_SYNTAX, "key record without p= (RFC 6376 3.6.1)");
        return NULL;
    }
    g_autoptr(GBytes) der = ms__dkim_base64_decode(p, strlen(p));
    if (!der) {
        fail(error, MS_DKIM_ERROR_SYNTAX, "p= is not valid base64");
        return NULL;
    }
    if (g_bytes_get_size(der) == 0) {
        fail(error, MS_DKIM_ERROR_KEY, "key revoked (empty p=)");
        return NULL;
    }
    g_autoptr(MsDkimKey) key = ms__dkim_key_import(type, der, error);
    if (!key)
        return NULL;
    const char *t = ms_dkim_tag_list_lookup(tags, "t");
    if (t) {
        g_auto(GStrv) flags = split_colon(t);
        key->testing = list_has(flags, "y");
        key->strict_i = list_has(flags, "s");
    }
    return g_steal_pointer(&key);
}

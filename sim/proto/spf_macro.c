/* SPF macro-strings (RFC 7208 7) and the addresses they expand from: the
 * part of the SPF evaluator (spf.c) that turns "%{ir}.%{v}._spf.%{d2}"
 * into a DNS name.
 *
 * A macro-string is checked once when its record is parsed
 * (ms__spf_macro_check: every "%" starts one of "%{...}", "%%", "%_",
 * "%-"; letters from 7.2; a domain-spec ends with a macro or with "."
 * and a top label) and expanded when its term is evaluated
 * (ms_spf_macro_expand). Expansion splits the letter's value at the
 * delimiters given (default "."), each delimiter character splitting on
 * its own so that empty parts survive, reverses the parts for "r", keeps
 * the rightmost N for a digit transformer and joins them with "."; an
 * upper-case letter is then URL-escaped (7.3). A domain-spec longer than
 * 253 octets loses labels from the left until it fits (7.3).
 *
 * Choices: %{p} is "unknown" (this evaluator does no PTR lookups); c, r
 * and t are refused outside exp= (7.2: "only in exp text"), which makes a
 * record that uses them a permerror. A digit transformer of 0 is a syntax
 * error (7.3: "MUST be nonzero"); larger values than there are parts keep
 * them all. No output grows past MS_SPF_MACRO_MAX octets (a record is at
 * most a few KB, so only a hostile one gets near it).
 *
 * Cost: linear in the output. No state. */
#include "spf-private.h"

#include <arpa/inet.h>
#include <string.h>

/* Bound on one expansion's length, before the 253-octet cut. */
#define MS_SPF_MACRO_MAX 8192

gboolean
ms__spf_addr_parse(const char *text, gboolean unmap, MsSpfAddr *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return FALSE;
    if (!strchr(text, ':')) {
        /* RFC 7208 12: qnum, no leading zeros, exactly four. */
        const char *p = text;
        for (int i = 0; i < 4; i++) {
            if (!g_ascii_isdigit(*p))
                return FALSE;
            guint v = 0, n = 0;
            const char *start = p;
            while (g_ascii_isdigit(*p) && n < 4) {
                v = v * 10 + (guint) (*p - '0');
                p++;
                n++;
            }
            if (n > 3 || v > 255 || (n > 1 && *start == '0'))
                return FALSE;
            out->b[i] = (guint8) v;
            if (i < 3) {
                if (*p != '.')
                    return FALSE;
                p++;
            }
        }
        return *p == 0;
    }
    if (strlen(text) >= INET6_ADDRSTRLEN)
        return FALSE;
    if (inet_pton(AF_INET6, text, out->b) != 1)
        return FALSE;
    static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (unmap && memcmp(out->b, mapped, 12) == 0) {
        memmove(out->b, out->b + 12, 4);
        memset(out->b + 4, 0, 12);
        return TRUE;
    }
    out->v6 = TRUE;
    return TRUE;
}

gboolean
ms__spf_addr_match(const MsSpfAddr *a, const MsSpfAddr *b, guint bits)
{
    if (a->v6 != b->v6)
        return FALSE;
    guint max = a->v6 ? 128 : 32;
    if (bits > max)
        bits = max;
    guint whole = bits / 8, rest = bits % 8;
    if (memcmp(a->b, b->b, whole) != 0)
        return FALSE;
    if (rest == 0)
        return TRUE;
    guint8 mask = (guint8) (0xff << (8 - rest));
    return (a->b[whole] & mask) == (b->b[whole] & mask);
}

static gboolean
is_delimiter(char c)
{
    return c && strchr(".-+,/_=", c) != NULL;
}

/* RFC 7208 12: toplabel = (*alphanum ALPHA *alphanum) /
 * (1*alphanum "-" *(alphanum / "-") alphanum). */
static gboolean
is_toplabel(const char *s, gsize n)
{
    if (n == 0 || !g_ascii_isalnum(s[0]) || !g_ascii_isalnum(s[n - 1]))
        return FALSE;
    gboolean alpha = FALSE, hyphen = FALSE;
    for (gsize i = 0; i < n; i++) {
        if (g_ascii_isalpha(s[i]))
            alpha = TRUE;
        else if (s[i] == '-')
            hyphen = TRUE;
        else if (!g_ascii_isdigit(s[i]))
            return FALSE;
    }
    return alpha || hyphen;
}

/* One "%{...}" at text[*i] (which is '%', text[*i+1] '{'): letter,
 * digits, optional 'r', delimiters, '}'. Fills what it read and advances
 * *i past the '}'. */
typedef struct {
    char letter; /* lower case */
    gboolean upper;
    guint digits; /* 0: keep all */
    gboolean reverse;
    char delims[8];
} SpfMacro;

static gboolean
macro_read(const char *text, gsize len, gsize *i, gboolean in_exp, SpfMacro *m, GError **error)
{
    gsize p = *i + 2;
    memset(m, 0, sizeof *m);
    if (p >= len) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "unterminated macro");
        return FALSE;
    }
    char c = text[p];
    char lc = g_ascii_tolower(c);
    if (!strchr("slodiphcrtv", lc) || !c) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "unknown macro letter '%c'",
                    g_ascii_isprint(c) ? c : '?');
        return FALSE;
    }
    if (!in_exp && strchr("crt", lc)) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                    "macro %%{%c} is only allowed in exp= (RFC 7208 7.2)", c);
        return FALSE;
    }
    m->letter = lc;
    m->upper = g_ascii_isupper(c);
    p++;
    gboolean digits = FALSE;
    while (p < len && g_ascii_isdigit(text[p])) {
        if (m->digits < 100000)
            m->digits = m->digits * 10 + (guint) (text[p] - '0');
        digits = TRUE;
        p++;
    }
    if (digits && m->digits == 0) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                    "macro digit transformer 0 (RFC 7208 7.3: must be nonzero)");
        return FALSE;
    }
    if (p < len && (text[p] == 'r' || text[p] == 'R')) {
        m->reverse = TRUE;
        p++;
    }
    guint nd = 0;
    while (p < len && is_delimiter(text[p])) {
        if (!strchr(m->delims, text[p]) && nd < sizeof m->delims - 1)
            m->delims[nd++] = text[p];
        p++;
    }
    if (p >= len || text[p] != '}') {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "malformed macro");
        return FALSE;
    }
    *i = p + 1;
    return TRUE;
}

gboolean
ms__spf_macro_check(const char *text, gsize len, gboolean domain_spec, GError **error)
{
    gsize i = 0, literal_start = 0;
    gboolean last_macro = FALSE;
    while (i < len) {
        char c = text[i];
        if (c == '%') {
            if (i + 1 >= len) {
                g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "'%%' at the end");
                return FALSE;
            }
            char n = text[i + 1];
            if (n == '{') {
                SpfMacro m;
                if (!macro_read(text, len, &i, !domain_spec, &m, error))
                    return FALSE;
            } else if (n == '%' || n == '_' || n == '-') {
                i += 2;
            } else {
                g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                            "'%%' not followed by '{', '%%', '_' or '-' (RFC 7208 7.1)");
                return FALSE;
            }
            last_macro = TRUE;
            literal_start = i;
            continue;
        }
        /* macro-literal: %x21-24 / %x26-7E (a space only in exp text). */
        if ((guchar) c < 0x21 || (guchar) c > 0x7e) {
            if (!(c == ' ' && !domain_spec)) {
                g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                            "character 0x%02x not allowed", (guchar) c);
                return FALSE;
            }
        }
        last_macro = FALSE;
        i++;
    }
    if (!domain_spec || last_macro)
        return TRUE;
    /* domain-end = "." toplabel [ "." ] */
    const char *lit = text + literal_start;
    gsize n = len - literal_start;
    if (n > 0 && lit[n - 1] == '.')
        n--;
    const char *dot = NULL;
    for (gsize k = n; k > 0; k--)
        if (lit[k - 1] == '.') {
            dot = lit + k - 1;
            break;
        }
    if (!dot || !is_toplabel(dot + 1, (gsize) (lit + n - dot - 1))) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                    "\"%.*s\" does not end in a top-level label (RFC 7208 12: domain-end)",
                    (int) MIN(len, 80), text);
        return FALSE;
    }
    return TRUE;
}

/* The value of a macro letter before transformation. */
static char *
letter_value(char letter, const MsSpfMacroContext *ctx, GError **error)
{
    const char *sender = ctx->sender ? ctx->sender : "";
    const char *at = strrchr(sender, '@');
    switch (letter) {
    case 's':
        return g_strdup(sender);
    case 'l':
        if (!at)
            return g_strdup("postmaster");
        return at == sender ? g_strdup("postmaster") : g_strndup(sender, (gsize) (at - sender));
    case 'o':
        return g_strdup(at ? at + 1 : sender);
    case 'd':
        return g_strdup(ctx->domain ? ctx->domain : "");
    case 'h':
        return g_strdup(ctx->helo && *ctx->helo ? ctx->helo : "unknown");
    case 'p':
        return g_strdup("unknown");
    case 'r':
        return g_strdup(ctx->receiver && *ctx->receiver ? ctx->receiver : "unknown");
    case 't':
        return g_strdup_printf("%" G_GINT64_FORMAT, ctx->now);
    case 'i':
    case 'c':
    case 'v': {
        MsSpfAddr a;
        if (!ms__spf_addr_parse(ctx->client_ip, TRUE, &a)) {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_ADDRESS,
                        "client address \"%s\" is not IPv4 or IPv6",
                        ctx->client_ip ? ctx->client_ip : "");
            return NULL;
        }
        if (letter == 'v')
            return g_strdup(a.v6 ? "ip6" : "in-addr");
        if (!a.v6)
            return g_strdup_printf("%u.%u.%u.%u", a.b[0], a.b[1], a.b[2], a.b[3]);
        if (letter == 'c') {
            char buf[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, a.b, buf, sizeof buf);
            return g_strdup(buf);
        }
        /* 7.3: IPv6 "i" is dot-separated nibbles, most significant first. */
        GString *s = g_string_sized_new(64);
        for (int k = 0; k < 16; k++)
            g_string_append_printf(s, "%s%x.%x", k ? "." : "", a.b[k] >> 4, a.b[k] & 15);
        return g_string_free(s, FALSE);
    }
    default:
        g_assert_not_reached();
    }
}

static void
append_transformed(GString *out, const char *value, const SpfMacro *m)
{
    const char *delims = m->delims[0] ? m->delims : ".";
    /* Split at every delimiter character; empty parts are kept. */
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    const char *start = value;
    for (const char *p = value;; p++) {
        if (*p == 0 || strchr(delims, *p)) {
            g_ptr_array_add(parts, g_strndup(start, (gsize) (p - start)));
            if (*p == 0)
                break;
            start = p + 1;
        }
    }
    guint n = parts->len;
    guint first = 0;
    if (m->digits && m->digits < n)
        first = n - m->digits;
    GString *joined = g_string_new(NULL);
    for (guint k = first; k < n; k++) {
        guint idx = m->reverse ? n - 1 - k : k;
        if (joined->len || k > first)
            g_string_append_c(joined, '.');
        g_string_append(joined, g_ptr_array_index(parts, idx));
    }
    if (m->upper) {
        /* 7.3: upper-case macros are URL-escaped (RFC 3986 unreserved kept). */
        for (gsize k = 0; k < joined->len; k++) {
            guchar c = (guchar) joined->str[k];
            if (g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
                g_string_append_c(out, (char) c);
            else
                g_string_append_printf(out, "%%%02X", c);
        }
    } else {
        g_string_append_len(out, joined->str, (gssize) joined->len);
    }
    g_string_free(joined, TRUE);
    g_ptr_array_free(parts, TRUE);
}

char *
ms_spf_macro_expand(const char *macro_string, const MsSpfMacroContext *ctx, gboolean in_exp,
                    GError **error)
{
    g_return_val_if_fail(macro_string != NULL && ctx != NULL, NULL);
    gsize len = strlen(macro_string);
    if (!ms__spf_macro_check(macro_string, len, !in_exp, error))
        return NULL;
    g_autoptr(GString) out = g_string_sized_new(len + 32);
    gsize i = 0;
    while (i < len) {
        if (out->len > MS_SPF_MACRO_MAX) {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_LIMIT,
                        "macro expansion longer than %d octets", MS_SPF_MACRO_MAX);
            return NULL;
        }
        char c = macro_string[i];
        if (c != '%') {
            g_string_append_c(out, c);
            i++;
            continue;
        }
        char n = macro_string[i + 1];
        if (n == '%') {
            g_string_append_c(out, '%');
            i += 2;
        } else if (n == '_') {
            g_string_append_c(out, ' ');
            i += 2;
        } else if (n == '-') {
            g_string_append(out, "%20");
            i += 2;
        } else {
            SpfMacro m;
            if (!macro_read(macro_string, len, &i, in_exp, &m, error))
                return NULL;
            g_autofree char *value = letter_value(m.letter, ctx, error);
            if (!value)
                return NULL;
            append_transformed(out, value, &m);
        }
    }
    if (out->len > MS_SPF_MACRO_MAX) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_LIMIT,
                    "macro expansion longer than %d octets", MS_SPF_MACRO_MAX);
        return NULL;
    }
    if (!in_exp) {
        /* 7.3: over 253 octets, drop labels from the left until it fits. */
        const char *s = out->str;
        gsize l = out->len;
        while (l > 253) {
            const char *dot = memchr(s, '.', l);
            if (!dot) {
                s += l;
                l = 0;
                break;
            }
            l -= (gsize) (dot + 1 - s);
            s = dot + 1;
        }
        if (s != out->str)
            return g_strndup(s, l);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

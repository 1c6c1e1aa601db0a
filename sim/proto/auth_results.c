/* The Authentication-Results header field (RFC 8601): the line a
 * receiving server adds to a message it accepts, saying what its SPF, DKIM
 * and DMARC checks found; see include/mailsim/auth_results.h.
 *
 * The builder keeps the resinfos (method, result, reason, properties) as
 * given and writes the field only when asked: on one line when it fits in
 * 78 columns, else with each resinfo starting a line of its own (CRLF and
 * a TAB, which counts 8 columns), as real receivers lay it out. Within a
 * resinfo the words that must not be split ("spf=pass",
 * "smtp.mailfrom=user@example.com", a word of a reason) are laid out left
 * to right, a new line started whenever the next word would pass column
 * 78.
 * Between the header's own words the fold replaces a space, which is
 * CFWS there (RFC 8601 2.2); inside a quoted reason it is put before the
 * reason's own space (RFC 5322 3.2.4 allows FWS in a quoted-string), so
 * unfolding gives the reason back unchanged. A word longer than a line
 * stands alone on its line.
 *
 * Quoting (RFC 8601 2.2, RFC 2045 5.1): a result, method or property name
 * is a keyword; a value is written bare when it is a token, a domain name
 * or local-part@domain, else as a quoted-string with '"' and '\' escaped.
 * Octets outside printable ASCII in a reason become '?': the header is
 * 7-bit. The tests parse every shape of output with python3-authres.
 *
 * Ownership: the builder owns copies of everything added; one thread at a
 * time. Cost: linear in the field's length, laid out at most twice (once
 * to see whether it fits on one line). */
#include "mailsim/auth_results.h"

#include <string.h>

typedef struct {
    char *ptype, *property, *value;
} MsArProperty;

typedef struct {
    char *method, *result, *reason;
    GPtrArray *props; /* MsArProperty * */
} MsArResinfo;

struct _MsAuthResults {
    char *authserv_id;
    GPtrArray *resinfos; /* MsArResinfo * */
};

static void
prop_free(gpointer p)
{
    MsArProperty *x = p;
    g_free(x->ptype);
    g_free(x->property);
    g_free(x->value);
    g_free(x);
}

static void
resinfo_free(gpointer p)
{
    MsArResinfo *r = p;
    g_free(r->method);
    g_free(r->result);
    g_free(r->reason);
    g_ptr_array_unref(r->props);
    g_free(r);
}

MsAuthResults *
ms_auth_results_new(const char *authserv_id)
{
    g_return_val_if_fail(authserv_id != NULL && *authserv_id, NULL);
    MsAuthResults *ar = g_new0(MsAuthResults, 1);
    ar->authserv_id = g_strdup(authserv_id);
    ar->resinfos = g_ptr_array_new_with_free_func(resinfo_free);
    return ar;
}

void
ms_auth_results_free(MsAuthResults *ar)
{
    if (!ar)
        return;
    g_free(ar->authserv_id);
    g_ptr_array_unref(ar->resinfos);
    g_free(ar);
}

/* RFC 8601 2.2: Keyword = ldh-str (letters, digits, hyphens; not ending
 * in a hyphen). */
static gboolean
is_keyword(const char *s)
{
    if (!s || !g_ascii_isalnum(s[0]))
        return FALSE;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-')
            return FALSE;
    return s[strlen(s) - 1] != '-';
}

void
ms_auth_results_add(MsAuthResults *ar, const char *method, const char *result, const char *reason)
{
    g_return_if_fail(ar != NULL && is_keyword(method) && is_keyword(result));
    MsArResinfo *r = g_new0(MsArResinfo, 1);
    r->method = g_ascii_strdown(method, -1);
    r->result = g_ascii_strdown(result, -1);
    r->reason = reason && *reason ? g_strdup(reason) : NULL;
    r->props = g_ptr_array_new_with_free_func(prop_free);
    g_ptr_array_add(ar->resinfos, r);
}

void
ms_auth_results_add_property(MsAuthResults *ar, const char *ptype, const char *property,
                             const char *value)
{
    g_return_if_fail(ar != NULL && ar->resinfos->len > 0);
    g_return_if_fail(is_keyword(ptype) && is_keyword(property) && value != NULL);
    MsArResinfo *r = g_ptr_array_index(ar->resinfos, ar->resinfos->len - 1);
    MsArProperty *p = g_new0(MsArProperty, 1);
    p->ptype = g_ascii_strdown(ptype, -1);
    p->property = g_ascii_strdown(property, -1);
    p->value = g_strdup(value);
    g_ptr_array_add(r->props, p);
}

void
ms_auth_results_add_spf(MsAuthResults *ar, MsSpfResult result, const char *identity, gboolean helo,
                        const char *reason)
{
    ms_auth_results_add(ar, "spf", ms_spf_result_to_string(result), reason);
    if (identity && *identity)
        ms_auth_results_add_property(ar, "smtp", helo ? "helo" : "mailfrom", identity);
}

void
ms_auth_results_add_dkim(MsAuthResults *ar, const char *result, const char *d, const char *s,
                         const char *b, const char *reason)
{
    ms_auth_results_add(ar, "dkim", result, reason);
    if (d && *d)
        ms_auth_results_add_property(ar, "header", "d", d);
    if (s && *s)
        ms_auth_results_add_property(ar, "header", "s", s);
    if (b && *b) {
        /* RFC 6008 2: the first 8 characters of the signature suffice. */
        g_autofree char *head = g_strndup(b, 8);
        ms_auth_results_add_property(ar, "header", "b", head);
    }
}

void
ms_auth_results_add_dmarc(MsAuthResults *ar, MsDmarcResult result, const char *from_domain,
                          const char *reason)
{
    ms_auth_results_add(ar, "dmarc", ms_dmarc_result_to_string(result), reason);
    if (from_domain && *from_domain)
        ms_auth_results_add_property(ar, "header", "from", from_domain);
}

guint
ms_auth_results_count(const MsAuthResults *ar)
{
    g_return_val_if_fail(ar != NULL, 0);
    return ar->resinfos->len;
}

/* ---- writing --------------------------------------------------------- */

/* RFC 2045 5.1: token := 1*<any CHAR except SPACE, CTLs, or tspecials>. */
static gboolean
is_token(const char *s)
{
    if (!*s)
        return FALSE;
    for (const char *p = s; *p; p++)
        if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f || strchr("()<>@,;:\\\"/[]?=", *p))
            return FALSE;
    return TRUE;
}

/* RFC 5322 3.2.3 atext, for a dot-atom local-part. */
static gboolean
is_dot_atom(const char *s, gsize n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return FALSE;
    for (gsize i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.' && i > 0 && s[i - 1] == '.')
            return FALSE;
        if (!g_ascii_isalnum(c) && !strchr("!#$%&'*+-/=?^_`{|}~.", c))
            return FALSE;
    }
    return TRUE;
}

/* RFC 5322 3.2.4: a quoted-string of printable ASCII and quoted-pairs. */
static gboolean
is_quoted_string(const char *s, gsize n)
{
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return FALSE;
    for (gsize i = 1; i < n - 1; i++) {
        guchar c = (guchar) s[i];
        if (c < 0x20 || c >= 0x7f)
            return FALSE;
        if (c == '\\') {
            if (i + 1 >= n - 1)
                return FALSE;
            i++;
        } else if (c == '"') {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean
is_domain_name(const char *s)
{
    if (!*s || *s == '.' || s[strlen(s) - 1] == '.')
        return FALSE;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
            return FALSE;
    return !strstr(s, "..");
}

/* pvalue = value / [ [ local-part ] "@" ] domain-name (RFC 8601 2.2). */
static gboolean
bare_pvalue(const char *v)
{
    if (is_token(v))
        return TRUE;
    const char *at = strrchr(v, '@');
    if (!at || !is_domain_name(at + 1))
        return FALSE;
    return at == v || is_dot_atom(v, (gsize) (at - v)) || is_quoted_string(v, (gsize) (at - v));
}

typedef struct {
    GString *out;
    guint col;   /* columns used on the current line */
    guint limit; /* MS_AUTH_RESULTS_WIDTH, or unlimited for the one-line try */
} ArWriter;

static guint
width(const char *s)
{
    return (guint) strlen(s);
}

static void
new_line(ArWriter *w, const char *word)
{
    g_string_append(w->out, "\r\n\t");
    g_string_append(w->out, word);
    w->col = 8 + width(word);
}

/* Places a word: after a space on this line, or on a new line. Inside a
 * quoted-string, `word` starts with the reason's own space. */
static void
put_word(ArWriter *w, const char *word, gboolean quoted_cont)
{
    guint need = width(word) + (quoted_cont ? 0 : 1);
    /* Every line starts with a word, so one that does not fit moves on. */
    if (w->col + need > w->limit) {
        if (quoted_cont) {
            /* Fold before the reason's own space. */
            g_string_append(w->out, "\r\n");
            g_string_append(w->out, word);
            w->col = width(word);
        } else {
            new_line(w, word);
        }
        return;
    }
    if (!quoted_cont)
        g_string_append_c(w->out, ' ');
    g_string_append(w->out, word);
    w->col += need;
}

static char *
quoted_or_bare(const char *v, gboolean pvalue)
{
    if (pvalue ? bare_pvalue(v) : is_token(v))
        return g_strdup(v);
    GString *q = g_string_new("\"");
    for (const char *p = v; *p; p++) {
        guchar c = (guchar) *p;
        if (c == '"' || c == '\\')
            g_string_append_c(q, '\\');
        g_string_append_c(q, c < 0x20 || c >= 0x7f ? '?' : (char) c);
    }
    g_string_append_c(q, '"');
    return g_string_free(q, FALSE);
}

/* Writes the quoted reason, one word of it at a time. */
static void
put_reason(ArWriter *w, const char *reason, const char *suffix)
{
    g_autofree char *q = quoted_or_bare(reason, FALSE);
    g_autofree char *text = g_strdup_printf("reason=%s%s", q, suffix);
    /* Split where a run of spaces inside the quotes starts; each later
     * piece keeps its spaces, so no line ends in one. */
    gboolean first = TRUE;
    const char *p = text;
    while (*p) {
        const char *sp = p + 1;
        while (*sp && (*sp != ' ' || sp[-1] == ' '))
            sp++;
        if (!*sp)
            sp = NULL;
        g_autofree char *piece = sp ? g_strndup(p, (gsize) (sp - p)) : g_strdup(p);
        put_word(w, piece, !first);
        first = FALSE;
        if (!sp)
            break;
        p = sp;
    }
}

/* Lays the field out within `limit` columns; with `per_line`, each
 * resinfo starts a line of its own. */
static char *
layout(const MsAuthResults *ar, guint limit, gboolean per_line)
{
    ArWriter w = { g_string_new("Authentication-Results:"), 23, limit };
    g_autofree char *id = quoted_or_bare(ar->authserv_id, FALSE);
    g_autofree char *first = g_strdup_printf("%s;", id);
    put_word(&w, first, FALSE);
    if (ar->resinfos->len == 0)
        put_word(&w, "none", FALSE);
    for (guint i = 0; i < ar->resinfos->len; i++) {
        const MsArResinfo *r = g_ptr_array_index(ar->resinfos, i);
        const char *end = i + 1 < ar->resinfos->len ? ";" : "";
        gboolean last_is_method = !r->reason && r->props->len == 0;
        g_autofree char *m =
            g_strdup_printf("%s=%s%s", r->method, r->result, last_is_method ? end : "");
        if (per_line)
            new_line(&w, m);
        else
            put_word(&w, m, FALSE);
        if (r->reason)
            put_reason(&w, r->reason, r->props->len == 0 ? end : "");
        for (guint k = 0; k < r->props->len; k++) {
            const MsArProperty *p = g_ptr_array_index(r->props, k);
            g_autofree char *v = quoted_or_bare(p->value, TRUE);
            g_autofree char *word = g_strdup_printf("%s.%s=%s%s", p->ptype, p->property, v,
                                                    k + 1 == r->props->len ? end : "");
            put_word(&w, word, FALSE);
        }
    }
    return g_string_free(w.out, FALSE);
}

char *
ms_auth_results_to_string(const MsAuthResults *ar)
{
    g_return_val_if_fail(ar != NULL, NULL);
    /* One line when it fits; else one resinfo a line, each folded. */
    char *flat = layout(ar, G_MAXUINT, FALSE);
    if (strlen(flat) <= MS_AUTH_RESULTS_WIDTH)
        return flat;
    g_free(flat);
    return layout(ar, MS_AUTH_RESULTS_WIDTH, TRUE);
}

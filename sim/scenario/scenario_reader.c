/* The scenario reader's helpers (see sim/scenario/scenario_read.c for the
 * design): attribute values owned by the reader, typed values (times,
 * sizes, counts, fractions, booleans, enumerations) that report a bad value
 * on its attribute and fall back to the default, and the look-ups of hosts,
 * mail servers and mailboxes by the names a file uses. Every function takes
 * the MsScenarioReader of one load; none keeps state of its own. */
#include "scenario-private.h"
#include "mailsim/units.h"

#include <math.h>
#include <string.h>

gboolean
ms__reader_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0;
}

guint
ms__reader_line_of(const xmlNode *n)
{
    long l = xmlGetLineNo((xmlNode *) n);
    return l > 0 ? (guint) l : 0;
}

/* The attribute's value (entities already decoded), or NULL when absent.
 * Owned by the reader. */
const char *
ms__reader_attr(MsScenarioReader *R, xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *) name);
    if (v)
        g_ptr_array_add(R->temps, v);
    return (const char *) v;
}

/* How errors name an element: by its id or key when it has one. */
char *
ms__reader_describe(MsScenarioReader *R, xmlNode *n)
{
    const char *name = (const char *) n->name;
    const char *key = NULL;
    if (ms__reader_is(n, "host") || ms__reader_is(n, "message"))
        key = ms__reader_attr(R, n, "id");
    else if (ms__reader_is(n, "zone"))
        key = ms__reader_attr(R, n, "name");
    else if (ms__reader_is(n, "mailserver") || ms__reader_is(n, "client"))
        key = ms__reader_attr(R, n, "host");
    if (ms__reader_is(n, "link")) {
        const char *a = ms__reader_attr(R, n, "a"), *b = ms__reader_attr(R, n, "b");
        return g_strdup_printf("link '%s'~'%s'", a ? a : "", b ? b : "");
    }
    if (key)
        return g_strdup_printf("%s '%s'", name, key);
    return g_strdup_printf("element '%s'", name);
}

void
ms__reader_err(MsScenarioReader *R, xmlNode *n, const char *attr_name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autofree char *what = ms__reader_describe(R, n);
    if (attr_name)
        ms__scenario_diag_add(R->d, MS__SCENARIO_FROM_MEANING, ms__reader_line_of(n),
                              "%s attribute '%s': %s", what, attr_name, msg);
    else
        ms__scenario_diag_add(R->d, MS__SCENARIO_FROM_MEANING, ms__reader_line_of(n), "%s: %s",
                              what, msg);
}

const char *
ms__reader_need(MsScenarioReader *R, xmlNode *n, const char *name, const char *expect)
{
    const char *v = ms__reader_attr(R, n, name);
    if (!v)
        ms__reader_err(R, n, name, "missing: expected %s", expect);
    return v;
}

/* ---- typed attributes: absent -> default, bad -> error + default -------- */

/* ok as a units parser returned it; on failure reports the parser's error
 * (*e: read only here, after the parser has run, since the order in which
 * arguments are evaluated is unspecified) on the attribute. */
gboolean
ms__reader_parsed(MsScenarioReader *R, xmlNode *n, const char *name, gboolean ok, GError *const *e)
{
    if (!ok)
        ms__reader_err(R, n, name, "%s", (*e)->message);
    return ok;
}

MsTime
ms__reader_get_time(MsScenarioReader *R, xmlNode *n, const char *name, MsTime dflt)
{
    const char *v = ms__reader_attr(R, n, name);
    g_autoptr(GError) e = NULL;
    MsTime t = 0;
    return v && ms__reader_parsed(R, n, name, ms_units_parse_time(v, &t, &e), &e) ? t : dflt;
}

guint64
ms__reader_get_size(MsScenarioReader *R, xmlNode *n, const char *name, guint64 dflt)
{
    const char *v = ms__reader_attr(R, n, name);
    g_autoptr(GError) e = NULL;
    guint64 s = 0;
    return v && ms__reader_parsed(R, n, name, ms_units_parse_size(v, &s, &e), &e) ? s : dflt;
}

guint64
ms__reader_get_count(MsScenarioReader *R, xmlNode *n, const char *name, guint64 lo, guint64 hi,
                     guint64 dflt)
{
    const char *v = ms__reader_attr(R, n, name);
    g_autoptr(GError) e = NULL;
    guint64 c = 0;
    if (!v || !ms__reader_parsed(R, n, name, ms_units_parse_count(v, &c, &e), &e))
        return dflt;
    if (c < lo || c > hi) {
        ms__reader_err(R, n, name,
                       "%s is out of range: expected %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                       v, lo, hi);
        return dflt;
    }
    return c;
}

gboolean
ms__reader_parse_number(const char *v, double *out)
{
    char *end = NULL;
    double x = g_ascii_strtod(v, &end);
    if (end == v || *end != '\0' || !isfinite(x))
        return FALSE;
    *out = x;
    return TRUE;
}

double
ms__reader_get_fraction(MsScenarioReader *R, xmlNode *n, const char *name, double dflt)
{
    const char *v = ms__reader_attr(R, n, name);
    if (!v)
        return dflt;
    double x;
    gsize len = strlen(v);
    gboolean ok;
    if (len > 1 && v[len - 1] == '%') {
        /* "5%": a percentage, as sweeps and people write loss rates */
        g_autofree char *num = g_strndup(v, len - 1);
        ok = ms__reader_parse_number(num, &x);
        x /= 100;
    } else {
        ok = ms__reader_parse_number(v, &x);
    }
    if (!ok || x < 0.0 || x > 1.0) {
        ms__reader_err(R, n, name,
                       "'%s' is not a probability: expected a number from 0 to 1 (or 0%% to "
                       "100%%)",
                       v);
        return dflt;
    }
    return x;
}

gboolean
ms__reader_get_bool(MsScenarioReader *R, xmlNode *n, const char *name, gboolean dflt,
                    gboolean *given)
{
    const char *v = ms__reader_attr(R, n, name);
    if (given)
        *given = v != NULL;
    if (!v)
        return dflt;
    if (strcmp(v, "true") == 0)
        return TRUE;
    if (strcmp(v, "false") == 0)
        return FALSE;
    ms__reader_err(R, n, name, "'%s' is not a boolean: expected true or false", v);
    if (given)
        *given = FALSE;
    return dflt;
}

/* " (did you mean 'x'?)" for a suggestion, "" for none (caller frees). */
char *
ms__reader_hint(const char *suggestion)
{
    return suggestion ? g_strdup_printf(" (did you mean '%s'?)", suggestion) : g_strdup("");
}

/* Looks an enumeration value up in a NULL-terminated table of names. */
gint
ms__reader_get_enum(MsScenarioReader *R, xmlNode *n, const char *name, const char *const *names,
                    gint dflt)
{
    const char *v = ms__reader_attr(R, n, name);
    if (!v)
        return dflt;
    for (gint i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    g_autofree char *list = g_strjoinv(", ", (char **) names);
    g_autofree char *h =
        ms__reader_hint(ms__scenario_closest(names, g_strv_length((char **) names), v));
    ms__reader_err(R, n, name, "'%s' is not known: expected one of %s%s", v, list, h);
    return dflt;
}

gint
ms__reader_find_host(MsScenarioReader *R, const char *id)
{
    gpointer p = g_hash_table_lookup(R->host_ids, id);
    return p ? GPOINTER_TO_INT(p) - 1 : -1;
}

MsScenarioHost *
ms__reader_host_at(MsScenarioReader *R, gint i)
{
    return &g_array_index(R->sc->hosts, MsScenarioHost, i);
}

/* The hint for an unknown host id: the closest id, in file order. */
char *
ms__reader_host_hint(MsScenarioReader *R, const char *id)
{
    g_autoptr(GPtrArray) ids = g_ptr_array_new();
    for (guint i = 0; i < R->sc->hosts->len; i++)
        g_ptr_array_add(ids, ms__reader_host_at(R, (gint) i)->id);
    return ms__reader_hint(ms__scenario_closest((const char *const *) ids->pdata, ids->len, id));
}

/* A host reference; -1 (with an error when required or unknown). */
gint
ms__reader_get_host(MsScenarioReader *R, xmlNode *n, const char *name, gboolean required)
{
    const char *v =
        required ? ms__reader_need(R, n, name, "the id of a <host>") : ms__reader_attr(R, n, name);
    if (!v)
        return -1;
    gint h = ms__reader_find_host(R, v);
    if (h < 0) {
        g_autofree char *hh = ms__reader_host_hint(R, v);
        ms__reader_err(R, n, name, "unknown host '%s': expected the id of a <host>%s", v, hh);
    }
    return h;
}

/* A host reference that must have one of the roles in the mask. */
gint
ms__reader_get_host_role(MsScenarioReader *R, xmlNode *n, const char *name, gboolean required,
                         guint role_mask, const char *expect)
{
    gint h = ms__reader_get_host(R, n, name, required);
    if (h >= 0 && !(role_mask & (1u << ms__reader_host_at(R, h)->role))) {
        ms__reader_err(R, n, name, "host '%s' has role %s: expected %s",
                       ms__reader_host_at(R, h)->id,
                       ms_host_role_to_string(ms__reader_host_at(R, h)->role), expect);
        return -1;
    }
    return h;
}

char *
ms__reader_get_hostname(MsScenarioReader *R, xmlNode *n, const char *name, const char *v)
{
    const char *why;
    if (!ms__scenario_check_hostname(v, &why)) {
        ms__reader_err(R, n, name, "'%s' is not a valid host name: %s", v, why);
        return NULL;
    }
    return g_ascii_strdown(v, -1);
}

/* An e-mail address, its domain lowered (local parts are case-sensitive,
 * RFC 5321 2.4); NULL with an error when bad. */
char *
ms__reader_email_norm(MsScenarioReader *R, xmlNode *n, const char *name, const char *v)
{
    const char *why;
    if (!ms__scenario_check_email(v, &why)) {
        ms__reader_err(R, n, name, "'%s' is not a valid e-mail address: %s", v, why);
        return NULL;
    }
    const char *at = strrchr(v, '@');
    g_autofree char *dom = g_ascii_strdown(at + 1, -1);
    return g_strdup_printf("%.*s@%s", (int) (at - v), v, dom);
}

/* Splits "a@x, b@y c@z" into checked addresses. */
GPtrArray *
ms__reader_get_address_list(MsScenarioReader *R, xmlNode *n, const char *name, const char *v)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    if (!v)
        return out;
    g_auto(GStrv) parts = g_strsplit_set(v, ", \t\r\n", -1);
    for (char **p = parts; *p; p++) {
        if (**p == '\0')
            continue;
        char *e = ms__reader_email_norm(R, n, name, *p);
        if (e)
            g_ptr_array_add(out, e);
    }
    return out;
}

gint
ms__reader_domain_server(MsScenarioReader *R, const char *domain)
{
    gpointer p = g_hash_table_lookup(R->domains, domain);
    return p ? GPOINTER_TO_INT(p) - 1 : -1;
}

MsScenarioMailserver *
ms__reader_server_at(MsScenarioReader *R, gint i)
{
    return &g_array_index(R->sc->mailservers, MsScenarioMailserver, i);
}

/* The id of a mail server's host, for errors; "?" when it had none. */
const char *
ms__reader_server_host_id(MsScenarioReader *R, gint server)
{
    guint h = ms__reader_server_at(R, server)->host;
    return h < R->sc->hosts->len ? ms__reader_host_at(R, (gint) h)->id : "?";
}

gint
ms__reader_find_user(MsScenarioMailserver *m, const char *local)
{
    for (guint i = 0; i < m->users->len; i++)
        if (strcmp(g_array_index(m->users, MsScenarioUser, i).name, local) == 0)
            return (gint) i;
    return -1;
}

/* Resolves user@domain to (mailserver, user); FALSE with *why when not. */
gboolean
ms__reader_find_mailbox(MsScenarioReader *R, const char *email, gint *server, gint *user)
{
    const char *at = strrchr(email, '@');
    if (!at)
        return FALSE;
    *server = ms__reader_domain_server(R, at + 1);
    if (*server < 0)
        return FALSE;
    g_autofree char *local = g_strndup(email, (gsize) (at - email));
    *user = ms__reader_find_user(ms__reader_server_at(R, *server), local);
    return *user >= 0;
}

void
ms__reader_check_time_in_run(MsScenarioReader *R, xmlNode *n, const char *name, MsTime t)
{
    if (R->sc->until != MS_TIME_INFINITE && t > R->sc->until) {
        g_autofree char *ts = ms_time_to_string(t);
        g_autofree char *us = ms_time_to_string(R->sc->until);
        ms__reader_err(R, n, name,
                       "%s is after the end of the run (until=%s): expected a time within the run",
                       ts, us);
    }
}

char *
ms__scenario_put_uint(char *p, guint64 v)
{
    char digits[20];
    guint n = 0;
    do
        digits[n++] = (char) ('0' + v % 10);
    while ((v /= 10) > 0);
    while (n > 0)
        *p++ = digits[--n];
    *p = '\0';
    return p;
}

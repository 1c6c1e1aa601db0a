/* MTA-STS records, policies and MX matching (see include/mailsim/mta_sts.h).
 * Role in the data flow: a sending MTA about to deliver to a domain finds
 * the "_mta-sts" TXT record in the simulated DNS and the domain's policy
 * document in the scenario, parses them here, and before each connection
 * asks whether the MX host is one the policy lists; the verdict and the
 * mode decide whether a failed or missing TLS handshake defers the mail.
 *
 * Design. Both parsers are single passes over the octets with every read
 * bounds-checked against `len`, so they accept text that is not
 * NUL-terminated and refuse embedded NULs. The TXT record follows the
 * ABNF of RFC 8461 3.1 exactly. The policy follows 3.2, with these
 * choices where the RFC leaves room:
 *   - A field other than mx given twice is an error, not "first wins": two
 *     modes in one document are a mistake the domain should hear about,
 *     and guessing could turn "enforce" into "none" or back.
 *   - Blank lines are tolerated (the ABNF has none, but an editor adds them
 *     easily and they carry no meaning); so are trailing spaces and tabs.
 *   - mx patterns are host names by RFC 5321's Domain rule (letters,
 *     digits and hyphens, no trailing dot), with "*." allowed only in
 *     front (RFC 8461 3.2, 4.1); they are kept lower-cased.
 *   - Every problem is reported, one per line with its line number, so a
 *     scenario author fixes a document in one go; the result is still
 *     all-or-nothing, as RFC 8461 3.2 wants (an invalid policy is none).
 *
 * Costs: linear in the input; matching is linear in the names. No state;
 * any thread. */
#include "mailsim/mta_sts.h"

#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(ms - mta - sts - error - quark, ms_mta_sts_error)

#define NAME_MAX_LEN   32 /* 1 + *31 characters of a field name (RFC 8461 3.1, 3.2) */
#define ID_MAX_LEN     32
#define LABEL_MAX      63
#define HOST_MAX       253
#define MAX_AGE_DIGITS 10

static gboolean
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* A field name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."). */
static gboolean
valid_field_name(const char *s, gsize n)
{
    if (n == 0 || n > NAME_MAX_LEN || !g_ascii_isalnum(s[0]))
        return FALSE;
    for (gsize i = 1; i < n; i++)
        if (!g_ascii_isalnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return FALSE;
    return TRUE;
}

/* An extension value of the TXT record: 1*(%x21-3A / %x3C / %x3E-7E). */
static gboolean
ext_value_char(char c)
{
    return c >= 0x21 && c <= 0x7E && c != ';' && c != '=';
}

/* ---------------------------------------------------------------- TXT record */

char *
ms_mta_sts_record_parse(const char *text, gsize len, GError **error)
{
    g_return_val_if_fail(text != NULL || len == 0, NULL);
    static const char version[] = "v=STSv1";
    const gsize vlen = sizeof version - 1;
    if (len < vlen || memcmp(text, version, vlen) != 0) {
        g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                    "the record does not begin with \"v=STSv1\" (RFC 8461 3.1)");
        return NULL;
    }
    g_autofree char *id = NULL;
    guint fields = 0;
    gsize p = vlen;
    for (;;) {
        /* sts-field-delim = *WSP ";" *WSP */
        gsize q = p;
        while (q < len && is_wsp(text[q]))
            q++;
        if (q == len && fields > 0)
            break;
        if (q == len) {
            g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                        "the record has no field after \"v=STSv1\" (it needs an id)");
            return NULL;
        }
        if (text[q] != ';') {
            g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                        "the record has '%c' at offset %" G_GSIZE_FORMAT
                        " where ';' should separate its fields",
                        g_ascii_isprint(text[q]) ? text[q] : '?', q);
            return NULL;
        }
        q++;
        while (q < len && is_wsp(text[q]))
            q++;
        if (q == len) {
            if (fields > 0)
                break; /* a final delimiter */
            g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                        "the record has no field after \"v=STSv1\" (it needs an id)");
            return NULL;
        }
        gsize name = q;
        while (q < len && text[q] != '=' && text[q] != ';' && !is_wsp(text[q]))
            q++;
        if (q == len || text[q] != '=' || !valid_field_name(text + name, q - name)) {
            g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                        "the field at offset %" G_GSIZE_FORMAT " is not name=value (RFC 8461 3.1)",
                        name);
            return NULL;
        }
        gsize name_len = q - name;
        gsize value = ++q;
        while (q < len && ext_value_char(text[q]))
            q++;
        if (q == value || (q < len && text[q] != ';' && !is_wsp(text[q]))) {
            g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                        "the value of '%.*s' at offset %" G_GSIZE_FORMAT
                        " is empty or holds a character a field value cannot",
                        (int) name_len, text + name, value);
            return NULL;
        }
        if (name_len == 2 && memcmp(text + name, "id", 2) == 0) {
            if (id) {
                g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                            "the record has two id fields");
                return NULL;
            }
            gsize n = q - value;
            gboolean ok = n <= ID_MAX_LEN;
            for (gsize i = 0; i < n && ok; i++)
                ok = g_ascii_isalnum(text[value + i]);
            if (!ok) {
                g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                            "id '%.*s' is not 1 to 32 letters and digits (RFC 8461 3.1)",
                            (int) MIN(n, 64), text + value);
                return NULL;
            }
            id = g_strndup(text + value, n);
        }
        /* Other fields are extensions, ignored (RFC 8461 3.1). */
        fields++;
        p = q;
    }
    if (!id) {
        g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_RECORD,
                    "the record has no id field (RFC 8461 3.1)");
        return NULL;
    }
    return g_steal_pointer(&id);
}

/* Does the value start "v=STSv1" followed by a delimiter's first
 * character? */
static gboolean
starts_as_sts(GBytes *value)
{
    gsize n;
    const char *d = g_bytes_get_data(value, &n);
    return n > 7 && memcmp(d, "v=STSv1", 7) == 0 && (d[7] == ';' || is_wsp(d[7]));
}

char *
ms_mta_sts_record_select(const GPtrArray *values, GError **error)
{
    g_return_val_if_fail(values != NULL, NULL);
    GBytes *pick = NULL;
    guint found = 0;
    for (guint i = 0; i < values->len; i++) {
        GBytes *v = g_ptr_array_index(values, i);
        if (!starts_as_sts(v))
            continue;
        found++;
        pick = pick ? pick : v;
    }
    if (found == 0) {
        g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_NO_RECORD,
                    "no TXT record begins with \"v=STSv1\"");
        return NULL;
    }
    if (found > 1) {
        g_set_error(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_NO_RECORD,
                    "%u TXT records begin with \"v=STSv1\"; RFC 8461 3.1 asks for exactly one",
                    found);
        return NULL;
    }
    gsize n;
    const char *d = g_bytes_get_data(pick, &n);
    return ms_mta_sts_record_parse(d, n, error);
}

/* ---------------------------------------------------------------- policy */

/* RFC 5321 Domain: sub-domain *("." sub-domain), sub-domain = Let-dig
 * [Ldh-str]; NULL when `s` is one, else what is wrong (static). */
static const char *
domain_problem(const char *s, gsize n)
{
    if (n == 0)
        return "is empty";
    if (n > HOST_MAX)
        return "is longer than 253 characters";
    gsize label = 0;
    for (gsize i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0)
                return i == n ? "ends with a dot" : "has an empty label";
            if (label > LABEL_MAX)
                return "has a label longer than 63 characters";
            if (s[i - 1] == '-')
                return "has a label ending with '-'";
            label = 0;
            continue;
        }
        if (s[i] == '*')
            return "has a '*' that is not a whole leftmost label \"*.\"";
        if (!g_ascii_isalnum(s[i]) && s[i] != '-')
            return "has a character other than letters, digits, '-' and '.'";
        if (label == 0 && s[i] == '-')
            return "has a label starting with '-'";
        label++;
    }
    return NULL;
}

typedef struct {
    const char *source;
    GString *errors;
} Problems;

static void G_GNUC_PRINTF(3, 4) problem(Problems *pr, guint line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (pr->errors->len)
        g_string_append_c(pr->errors, '\n');
    if (line)
        g_string_append_printf(pr->errors, "%s:%u: %s", pr->source, line, msg);
    else
        g_string_append_printf(pr->errors, "%s: %s", pr->source, msg);
}

/* One "key: value" line of `n` octets (no line end). */
static void
policy_line(MsMtaStsPolicy *pol, const char *s, gsize n, guint line, guint *seen_line, Problems *pr)
{
    enum { VERSION, MODE, MAX_AGE };
    static const char *const keys[] = { "version", "mode", "max_age" };
    const char *colon = memchr(s, ':', n);
    if (!colon) {
        problem(pr, line, "no ':' (a policy line is \"key: value\", RFC 8461 3.2)");
        return;
    }
    gsize klen = (gsize) (colon - s);
    if (!valid_field_name(s, klen)) {
        problem(pr, line, "'%.*s' is not a field name", (int) MIN(klen, 40), s);
        return;
    }
    const char *v = colon + 1;
    gsize vlen = n - klen - 1;
    while (vlen > 0 && is_wsp(*v)) {
        v++;
        vlen--;
    }
    while (vlen > 0 && is_wsp(v[vlen - 1]))
        vlen--;
    for (gsize i = 0; i < vlen; i++)
        if (!g_ascii_isprint(v[i]) && !is_wsp(v[i])) {
            problem(pr, line, "the value holds the octet 0x%02x", (guint) (guchar) v[i]);
            return;
        }
    g_autofree char *key = g_strndup(s, klen);
    g_autofree char *value = g_strndup(v, vlen);
    if (strcmp(key, "mx") == 0) {
        const char *host = value;
        if (g_str_has_prefix(host, "*."))
            host += 2;
        const char *bad = domain_problem(host, strlen(host));
        if (bad) {
            problem(pr, line, "mx pattern '%s' %s", value, bad);
            return;
        }
        g_ptr_array_add(pol->mx, g_ascii_strdown(value, -1));
        return;
    }
    gint which = -1;
    for (guint k = 0; k < G_N_ELEMENTS(keys); k++)
        if (strcmp(key, keys[k]) == 0)
            which = (gint) k;
    if (which < 0)
        return; /* an extension field, ignored (RFC 8461 3.2) */
    if (seen_line[which]) {
        problem(pr, line, "a second '%s' field (the first is on line %u)", key, seen_line[which]);
        return;
    }
    seen_line[which] = line;
    switch (which) {
    case VERSION:
        if (strcmp(value, "STSv1") != 0)
            problem(pr, line, "version '%s' is not STSv1", value);
        break;
    case MODE:
        if (strcmp(value, "enforce") == 0)
            pol->mode = MS_MTA_STS_MODE_ENFORCE;
        else if (strcmp(value, "testing") == 0)
            pol->mode = MS_MTA_STS_MODE_TESTING;
        else if (strcmp(value, "none") == 0)
            pol->mode = MS_MTA_STS_MODE_NONE;
        else
            problem(pr, line, "mode '%s' is not enforce, testing or none", value);
        break;
    case MAX_AGE: {
        gboolean digits = vlen > 0 && vlen <= MAX_AGE_DIGITS;
        for (gsize i = 0; i < vlen && digits; i++)
            digits = g_ascii_isdigit(value[i]);
        guint64 age = digits ? g_ascii_strtoull(value, NULL, 10) : 0;
        if (!digits)
            problem(pr, line, "max_age '%s' is not 1 to 10 digits", value);
        else if (age > MS_MTA_STS_MAX_AGE_LIMIT)
            problem(pr, line, "max_age %s is above the limit of %u seconds (RFC 8461 3.2)", value,
                    MS_MTA_STS_MAX_AGE_LIMIT);
        else
            pol->max_age = (guint32) age;
        break;
    }
    default:
        g_assert_not_reached();
    }
}

MsMtaStsPolicy *
ms_mta_sts_policy_parse(const char *text, gsize len, const char *source, GError **error)
{
    g_return_val_if_fail(text != NULL || len == 0, NULL);
    Problems pr = { source ? source : "policy", g_string_new(NULL) };
    g_autoptr(MsMtaStsPolicy) pol = g_new0(MsMtaStsPolicy, 1);
    pol->mx = g_ptr_array_new_with_free_func(g_free);
    guint seen_line[3] = { 0, 0, 0 };
    if (len > MS_MTA_STS_POLICY_MAX) {
        problem(&pr, 0, "the document is %" G_GSIZE_FORMAT " octets, more than the %d we read", len,
                MS_MTA_STS_POLICY_MAX);
    } else {
        guint line = 0;
        for (gsize p = 0; p < len;) {
            line++;
            const char *nl = memchr(text + p, '\n', len - p);
            gsize end = nl ? (gsize) (nl - text) : len;
            gsize n = end - p;
            if (n > 0 && text[p + n - 1] == '\r')
                n--; /* CRLF; a lone LF is accepted too (RFC 8461 3.2) */
            const char *bad = NULL;
            for (gsize i = 0; i < n && !bad; i++) {
                guchar c = (guchar) text[p + i];
                if (c == '\r')
                    bad = "a CR not followed by LF";
                else if (c == 0)
                    bad = "a NUL octet";
                else if (c >= 0x80)
                    bad = "an octet above 127 (the policy is ASCII)";
            }
            if (bad) {
                problem(&pr, line, "%s", bad);
            } else {
                gsize lead = 0;
                while (lead < n && is_wsp(text[p + lead]))
                    lead++;
                if (lead == n)
                    ; /* a blank line */
                else if (lead > 0)
                    problem(&pr, line, "the line starts with white space");
                else
                    policy_line(pol, text + p, n, line, seen_line, &pr);
            }
            p = nl ? end + 1 : len;
        }
        static const char *const required[] = { "version", "mode", "max_age" };
        for (guint k = 0; k < G_N_ELEMENTS(required); k++)
            if (!seen_line[k])
                problem(&pr, 0, "no '%s' field (RFC 8461 3.2 requires it)", required[k]);
        if (seen_line[1] && pol->mode != MS_MTA_STS_MODE_NONE && pol->mx->len == 0)
            problem(&pr, 0, "mode %s without any 'mx' field: no MX host could match",
                    ms_mta_sts_mode_to_string(pol->mode));
    }
    if (pr.errors->len) {
        g_set_error_literal(error, MS_MTA_STS_ERROR, MS_MTA_STS_ERROR_POLICY, pr.errors->str);
        g_string_free(pr.errors, TRUE);
        return NULL;
    }
    g_string_free(pr.errors, TRUE);
    return g_steal_pointer(&pol);
}

void
ms_mta_sts_policy_free(MsMtaStsPolicy *policy)
{
    if (!policy)
        return;
    g_clear_pointer(&policy->mx, g_ptr_array_unref);
    g_free(policy);
}

char *
ms_mta_sts_policy_to_text(const MsMtaStsPolicy *policy)
{
    g_return_val_if_fail(policy != NULL, NULL);
    GString *s = g_string_new("version: STSv1\r\n");
    g_string_append_printf(s, "mode: %s\r\n", ms_mta_sts_mode_to_string(policy->mode));
    for (guint i = 0; policy->mx && i < policy->mx->len; i++)
        g_string_append_printf(s, "mx: %s\r\n", (const char *) g_ptr_array_index(policy->mx, i));
    g_string_append_printf(s, "max_age: %u\r\n", policy->max_age);
    return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------- matching */

gboolean
ms_mta_sts_mx_matches(const char *pattern, const char *host)
{
    g_return_val_if_fail(pattern != NULL && host != NULL, FALSE);
    gsize hn = strlen(host);
    if (hn > 0 && host[hn - 1] == '.')
        hn--; /* an absolute name from DNS */
    gsize pn = strlen(pattern);
    if (pn > 0 && pattern[pn - 1] == '.')
        pn--;
    if (pn >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* RFC 8461 4.1: the wildcard stands for exactly one label. */
        gsize suffix = pn - 1; /* ".example.net" */
        if (hn <= suffix)
            return FALSE;
        gsize label = hn - suffix;
        if (memchr(host, '.', label) != NULL)
            return FALSE;
        return g_ascii_strncasecmp(host + label, pattern + 1, suffix) == 0;
    }
    return hn == pn && hn > 0 && g_ascii_strncasecmp(host, pattern, hn) == 0;
}

gboolean
ms_mta_sts_policy_allows(const MsMtaStsPolicy *policy, const char *host)
{
    g_return_val_if_fail(policy != NULL && host != NULL, FALSE);
    for (guint i = 0; i < policy->mx->len; i++)
        if (ms_mta_sts_mx_matches(g_ptr_array_index(policy->mx, i), host))
            return TRUE;
    return FALSE;
}

const char *
ms_mta_sts_mode_to_string(MsMtaStsMode mode)
{
    switch (mode) {
    case MS_MTA_STS_MODE_NONE:
        return "none";
    case MS_MTA_STS_MODE_TESTING:
        return "testing";
    case MS_MTA_STS_MODE_ENFORCE:
        return "enforce";
    }
    return "?";
}

/* DMARC (RFC 7489), sans I/O: the record, policy discovery and the
 * verdict a receiver reaches from SPF's and DKIM's results. The mail layer
 * answers the TXT questions and acts on the disposition; see
 * include/mailsim/dmarc.h for the contract.
 *
 * Parsing (6.3, 6.4): the text is split at ";" and each part read as
 * tag "=" value with spaces and tabs trimmed; empty parts (a trailing
 * ";", ";;") are skipped. "v=DMARC1" must be the first tag, its value
 * exactly that (the ABNF writes it in hex, so case matters); other tag
 * names and the keyword values are case-insensitive. A tag other than v
 * and p that does not parse keeps its default and adds a warning (6.3:
 * errors in the rest of the record are discarded in favour of defaults);
 * a repeated tag keeps its first value; unknown tags are ignored. p and sp
 * are special (6.6.3 step 6): a missing or invalid p, or an invalid sp,
 * makes the record p=none when it carries a valid rua, else unusable.
 *
 * Discovery (6.6.3): "_dmarc.<From domain>", then, when that holds no
 * DMARC record, "_dmarc.<organisational domain>" (psl.h) if the two
 * differ. TXT values that do not start with "v=DMARC1" are not DMARC
 * records and are discarded; two or more remaining end discovery without
 * a policy, which is reported as permerror; a temporary DNS failure as
 * temperror (neither case applies any policy). Reporting addresses in
 * other domains are taken as written: the authorisation check of 7.1
 * (the "_report._dmarc" record) is the report sender's business.
 *
 * Evaluation (3.1, 6.6.2, 6.6.4): SPF counts when it passed for a domain
 * aligned with From under aspf; DKIM when any verified signature's d= is
 * aligned under adkim; either gives pass. On fail, the policy is p, or sp
 * when the record came from the organisational domain for a From domain
 * below it, and pct samples it with the caller's draw: a message not
 * sampled gets the next milder disposition (reject -> quarantine ->
 * none).
 *
 * Ownership: records, lookups and outcomes own their strings; a lookup
 * borrows its MsPsl. No state beyond those objects; a record or lookup is
 * used by one thread at a time, the MsPsl may be shared.
 *
 * Cost: a record parses in time linear in its length; discovery is one or
 * two TXT questions; alignment costs two public suffix lookups (a few
 * hash lookups each) per identifier. */
#include "mailsim/dmarc.h"

#include <string.h>

G_DEFINE_QUARK(ms - dmarc - error - quark, ms_dmarc_error)

/* ---- the record ------------------------------------------------------ */

static void warn(MsDmarcRecord *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
warn(MsDmarcRecord *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(r->warnings, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

static char *
trim(const char *s, gsize n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return g_strndup(s, n);
}

static gboolean
parse_policy(const char *v, MsDmarcPolicy *out)
{
    static const char *const names[] = { "none", "quarantine", "reject" };
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        if (g_ascii_strcasecmp(v, names[i]) == 0) {
            *out = (MsDmarcPolicy) i;
            return TRUE;
        }
    return FALSE;
}

/* DMARC-URI = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ] (6.4), the
 * URI read loosely as scheme ":" and at least one more visible octet. */
static gboolean
valid_uri(const char *u)
{
    if (!g_ascii_isalpha(u[0]))
        return FALSE;
    const char *p = u + 1;
    while (g_ascii_isalnum(*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p != ':' || !p[1])
        return FALSE;
    const char *bang = strchr(p, '!');
    for (const char *q = p + 1; *q && q != bang; q++)
        if ((guchar) *q <= 0x20 || (guchar) *q >= 0x7f)
            return FALSE;
    if (bang) {
        const char *d = bang + 1;
        if (!g_ascii_isdigit(*d))
            return FALSE;
        while (g_ascii_isdigit(*d))
            d++;
        if (*d && (strchr("kmgtKMGT", *d) == NULL || d[1]))
            return FALSE;
    }
    return bang != p + 1;
}

static void
parse_uris(MsDmarcRecord *r, const char *tag, const char *value, GPtrArray *into)
{
    g_auto(GStrv) parts = g_strsplit(value, ",", -1);
    for (guint i = 0; parts[i]; i++) {
        g_autofree char *u = trim(parts[i], strlen(parts[i]));
        if (valid_uri(u))
            g_ptr_array_add(into, g_steal_pointer(&u));
        else
            warn(r, "%s: \"%s\" is not a URI, ignored", tag, u);
    }
}

static gboolean
parse_uint(const char *v, guint64 max, guint64 *out)
{
    if (!*v || strlen(v) > 10)
        return FALSE;
    guint64 n = 0;
    for (const char *p = v; *p; p++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
        n = n * 10 + (guint64) (*p - '0');
    }
    if (n > max)
        return FALSE;
    *out = n;
    return TRUE;
}

/* fo = ( "0" / "1" / "d" / "s" ) *( ":" ( "0" / "1" / "d" / "s" ) ) */
static gboolean
valid_fo(const char *v)
{
    g_auto(GStrv) parts = g_strsplit(v, ":", -1);
    if (!parts[0])
        return FALSE;
    for (guint i = 0; parts[i]; i++) {
        g_autofree char *t = trim(parts[i], strlen(parts[i]));
        if (strlen(t) != 1 || !strchr("01dsDS", t[0]))
            return FALSE;
    }
    return TRUE;
}

/* rf = Keyword *( ":" Keyword ) */
static gboolean
valid_rf(const char *v)
{
    g_auto(GStrv) parts = g_strsplit(v, ":", -1);
    if (!parts[0])
        return FALSE;
    for (guint i = 0; parts[i]; i++) {
        g_autofree char *t = trim(parts[i], strlen(parts[i]));
        if (!g_ascii_isalpha(t[0]))
            return FALSE;
        for (const char *p = t; *p; p++)
            if (!g_ascii_isalnum(*p) && *p != '-')
                return FALSE;
    }
    return TRUE;
}

/* The "v=DMARC1" at the start of a TXT value (6.6.3: others are not DMARC
 * records): "v" *WSP "=" *WSP "DMARC1", then *WSP and ";" or the end. */
static gboolean
starts_dmarc1(const char *t)
{
    const char *p = t;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != 'v' && *p != 'V')
        return FALSE;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p++ != '=')
        return FALSE;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncmp(p, "DMARC1", 6) != 0)
        return FALSE;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == 0 || *p == ';';
}

MsDmarcRecord *
ms_dmarc_record_parse(const char *text, GError **error)
{
    g_return_val_if_fail(text != NULL, NULL);
    if (!starts_dmarc1(text)) {
        g_set_error(error, MS_DMARC_ERROR, MS_DMARC_ERROR_NOT_DMARC,
                    "not a DMARC record: it does not start with \"v=DMARC1\" (RFC 7489 6.4)");
        return NULL;
    }
    g_autoptr(MsDmarcRecord) r = g_new0(MsDmarcRecord, 1);
    r->pct = 100;
    r->ri = 86400;
    r->fo = g_strdup("0");
    r->rf = g_strdup("afrf");
    r->rua = g_ptr_array_new_with_free_func(g_free);
    r->ruf = g_ptr_array_new_with_free_func(g_free);
    r->warnings = g_ptr_array_new_with_free_func(g_free);
    gboolean have_p = FALSE, p_bad = FALSE, sp_bad = FALSE;
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_auto(GStrv) parts = g_strsplit(text, ";", -1);
    for (guint i = 1; parts[i]; i++) { /* parts[0] is v=DMARC1 */
        g_autofree char *part = trim(parts[i], strlen(parts[i]));
        if (!*part)
            continue;
        const char *eq = strchr(part, '=');
        if (!eq) {
            warn(r, "\"%s\" is not tag=value, ignored", part);
            continue;
        }
        g_autofree char *tag_raw = trim(part, (gsize) (eq - part));
        g_autofree char *tag = g_ascii_strdown(tag_raw, -1);
        g_autofree char *value = trim(eq + 1, strlen(eq + 1));
        if (!g_hash_table_add(seen, g_strdup(tag))) {
            warn(r, "%s appears twice, the first kept", tag);
            continue;
        }
        if (strcmp(tag, "v") == 0) {
            warn(r, "v is not the first tag, ignored");
        } else if (strcmp(tag, "p") == 0) {
            have_p = TRUE;
            if (!parse_policy(value, &r->p)) {
                p_bad = TRUE;
                warn(r, "p=%s is not none, quarantine or reject", value);
            }
        } else if (strcmp(tag, "sp") == 0) {
            if (parse_policy(value, &r->sp)) {
                r->sp_given = TRUE;
            } else {
                sp_bad = TRUE;
                warn(r, "sp=%s is not none, quarantine or reject", value);
            }
        } else if (strcmp(tag, "adkim") == 0 || strcmp(tag, "aspf") == 0) {
            MsDmarcAlignment *slot = tag[1] == 'd' ? &r->adkim : &r->aspf;
            if (g_ascii_strcasecmp(value, "r") == 0)
                *slot = MS_DMARC_ALIGN_RELAXED;
            else if (g_ascii_strcasecmp(value, "s") == 0)
                *slot = MS_DMARC_ALIGN_STRICT;
            else
                warn(r, "%s=%s is not r or s, relaxed used", tag, value);
        } else if (strcmp(tag, "pct") == 0) {
            guint64 n;
            if (parse_uint(value, 100, &n))
                r->pct = (guint) n;
            else
                warn(r, "pct=%s is not 0 to 100, 100 used", value);
        } else if (strcmp(tag, "ri") == 0) {
            guint64 n;
            if (parse_uint(value, G_MAXUINT32, &n))
                r->ri = (guint32) n;
            else
                warn(r, "ri=%s is not a number of seconds, 86400 used", value);
        } else if (strcmp(tag, "fo") == 0) {
            if (valid_fo(value)) {
                g_free(r->fo);
                r->fo = g_ascii_strdown(value, -1);
            } else {
                warn(r, "fo=%s is not a list of 0, 1, d, s; 0 used", value);
            }
        } else if (strcmp(tag, "rf") == 0) {
            if (valid_rf(value)) {
                g_free(r->rf);
                r->rf = g_ascii_strdown(value, -1);
            } else {
                warn(r, "rf=%s is not a list of format names, afrf used", value);
            }
        } else if (strcmp(tag, "rua") == 0) {
            parse_uris(r, "rua", value, r->rua);
        } else if (strcmp(tag, "ruf") == 0) {
            parse_uris(r, "ruf", value, r->ruf);
        }
        /* Other tags: ignored (6.3). */
    }
    if (!have_p || p_bad || sp_bad) {
        /* 6.6.3 step 6. */
        if (r->rua->len == 0) {
            g_set_error(error, MS_DMARC_ERROR, MS_DMARC_ERROR_INVALID,
                        "%s and no valid rua: no DMARC processing (RFC 7489 6.6.3)",
                        !have_p ? "no p tag"
                        : p_bad ? "an invalid p"
                                : "an invalid sp");
            return NULL;
        }
        warn(r, "%s: treated as p=none for its rua (RFC 7489 6.6.3)",
             !have_p ? "no p tag"
             : p_bad ? "invalid p"
                     : "invalid sp");
        r->p = MS_DMARC_POLICY_NONE;
        r->sp = MS_DMARC_POLICY_NONE;
        r->sp_given = FALSE;
        r->p_assumed = TRUE;
    }
    if (!r->sp_given)
        r->sp = r->p;
    return g_steal_pointer(&r);
}

void
ms_dmarc_record_free(MsDmarcRecord *record)
{
    if (!record)
        return;
    g_clear_pointer(&record->rua, g_ptr_array_unref);
    g_clear_pointer(&record->ruf, g_ptr_array_unref);
    g_clear_pointer(&record->warnings, g_ptr_array_unref);
    g_free(record->fo);
    g_free(record->rf);
    g_free(record);
}

static void
append_uris(GString *s, const char *tag, const GPtrArray *uris)
{
    if (!uris || uris->len == 0)
        return;
    g_string_append_printf(s, "; %s=", tag);
    for (guint i = 0; i < uris->len; i++)
        g_string_append_printf(s, "%s%s", i ? "," : "", (const char *) uris->pdata[i]);
}

char *
ms_dmarc_record_to_string(const MsDmarcRecord *record)
{
    g_return_val_if_fail(record != NULL, NULL);
    GString *s = g_string_new("v=DMARC1");
    g_string_append_printf(
        s, "; p=%s; sp=%s; adkim=%s; aspf=%s; pct=%u; fo=%s; rf=%s; ri=%u",
        ms_dmarc_policy_to_string(record->p), ms_dmarc_policy_to_string(record->sp),
        ms_dmarc_alignment_to_string(record->adkim), ms_dmarc_alignment_to_string(record->aspf),
        record->pct, record->fo, record->rf, record->ri);
    append_uris(s, "rua", record->rua);
    append_uris(s, "ruf", record->ruf);
    return g_string_free(s, FALSE);
}

/* ---- alignment ------------------------------------------------------- */

static char *
name_key(const char *d)
{
    g_autofree char *l = g_ascii_strdown(d, -1);
    gsize n = strlen(l);
    if (n && l[n - 1] == '.')
        l[n - 1] = 0;
    return g_steal_pointer(&l);
}

gboolean
ms_dmarc_aligned(const MsPsl *psl, const char *from_domain, const char *auth_domain,
                 MsDmarcAlignment mode)
{
    g_return_val_if_fail(psl != NULL, FALSE);
    if (!from_domain || !auth_domain || !*from_domain || !*auth_domain)
        return FALSE;
    g_autofree char *a = name_key(from_domain);
    g_autofree char *b = name_key(auth_domain);
    if (!*a || !*b)
        return FALSE;
    if (mode == MS_DMARC_ALIGN_STRICT)
        return strcmp(a, b) == 0; /* 3.1.1, 3.1.2: an exact match */
    g_autofree char *oa = ms_psl_organizational_domain(psl, a);
    g_autofree char *ob = ms_psl_organizational_domain(psl, b);
    return oa && ob && strcmp(oa, ob) == 0;
}

/* ---- discovery ------------------------------------------------------- */

struct _MsDmarcLookup {
    const MsPsl *psl;
    char *from;
    char *org;
    char *policy_domain;
    char *query;
    gboolean asked_org;
    MsDmarcLookupStatus status;
    MsDmarcRecord *record;
    char *explanation;
};

static gboolean
usable_domain(const char *d)
{
    gsize len = strlen(d);
    if (len == 0 || len > 253)
        return FALSE;
    gsize label = 0;
    for (gsize i = 0; i <= len; i++) {
        if (i == len || d[i] == '.') {
            if (label == 0 || label > 63)
                return FALSE;
            label = 0;
        } else if ((guchar) d[i] <= 0x20 || d[i] == 0x7f) {
            return FALSE;
        } else {
            label++;
        }
    }
    return TRUE;
}

static void
lookup_end(MsDmarcLookup *l, MsDmarcLookupStatus status, char *explanation)
{
    l->status = status;
    g_free(l->explanation);
    l->explanation = explanation;
    g_clear_pointer(&l->query, g_free);
}

MsDmarcLookup *
ms_dmarc_lookup_new(const char *from_domain, const MsPsl *psl)
{
    g_return_val_if_fail(psl != NULL, NULL);
    MsDmarcLookup *l = g_new0(MsDmarcLookup, 1);
    l->psl = psl;
    l->from = name_key(from_domain ? from_domain : "");
    l->explanation = g_strdup("");
    if (!usable_domain(l->from)) {
        l->org = g_strdup(l->from);
        lookup_end(l, MS_DMARC_LOOKUP_NONE,
                   g_strdup_printf("\"%s\" is not a domain name: no DMARC policy", l->from));
        return l;
    }
    l->org = ms_psl_organizational_domain(psl, l->from);
    l->status = MS_DMARC_LOOKUP_PENDING;
    l->query = g_strdup_printf("_dmarc.%s", l->from);
    return l;
}

void
ms_dmarc_lookup_free(MsDmarcLookup *lookup)
{
    if (!lookup)
        return;
    g_free(lookup->from);
    g_free(lookup->org);
    g_free(lookup->policy_domain);
    g_free(lookup->query);
    ms_dmarc_record_free(lookup->record);
    g_free(lookup->explanation);
    g_free(lookup);
}

gboolean
ms_dmarc_lookup_next_query(MsDmarcLookup *lookup, const char **name)
{
    g_return_val_if_fail(lookup != NULL, FALSE);
    if (lookup->status != MS_DMARC_LOOKUP_PENDING)
        return FALSE;
    if (name)
        *name = lookup->query;
    return TRUE;
}

void
ms_dmarc_lookup_answer(MsDmarcLookup *lookup, MsDmarcAnswer answer, const char *const *records,
                       gsize n_records)
{
    g_return_if_fail(lookup != NULL && lookup->status == MS_DMARC_LOOKUP_PENDING);
    MsDmarcLookup *l = lookup;
    const char *domain = l->asked_org ? l->org : l->from;
    if (answer == MS_SPF_ANSWER_TEMPFAIL) {
        lookup_end(l, MS_DMARC_LOOKUP_TEMPERROR,
                   g_strdup_printf("DNS temporary failure for %s", l->query));
        return;
    }
    const char *found = NULL;
    guint n = 0;
    if (answer == MS_SPF_ANSWER_RECORDS)
        for (gsize i = 0; i < n_records; i++)
            if (records[i] && starts_dmarc1(records[i])) {
                found = records[i];
                n++;
            }
    if (n > 1) {
        lookup_end(l, MS_DMARC_LOOKUP_PERMERROR,
                   g_strdup_printf("%u DMARC records at %s: no policy applies (RFC 7489 6.6.3)", n,
                                   l->query));
        return;
    }
    if (n == 1) {
        g_autoptr(GError) e = NULL;
        l->record = ms_dmarc_record_parse(found, &e);
        if (!l->record) {
            lookup_end(
                l, MS_DMARC_LOOKUP_PERMERROR,
                g_strdup_printf("the DMARC record at %s is unusable: %s", l->query, e->message));
            return;
        }
        l->policy_domain = g_strdup(domain);
        lookup_end(l, MS_DMARC_LOOKUP_FOUND, g_strdup_printf("record at %s", l->query));
        return;
    }
    if (!l->asked_org && strcmp(l->from, l->org) != 0) {
        l->asked_org = TRUE;
        g_free(l->query);
        l->query = g_strdup_printf("_dmarc.%s", l->org);
        return;
    }
    lookup_end(l, MS_DMARC_LOOKUP_NONE,
               l->asked_org
                   ? g_strdup_printf("no DMARC record at _dmarc.%s nor _dmarc.%s", l->from, l->org)
                   : g_strdup_printf("no DMARC record at _dmarc.%s", l->from));
}

MsDmarcLookupStatus
ms_dmarc_lookup_status(const MsDmarcLookup *lookup)
{
    g_return_val_if_fail(lookup != NULL, MS_DMARC_LOOKUP_NONE);
    return lookup->status;
}

const MsDmarcRecord *
ms_dmarc_lookup_record(const MsDmarcLookup *lookup)
{
    g_return_val_if_fail(lookup != NULL, NULL);
    return lookup->status == MS_DMARC_LOOKUP_FOUND ? lookup->record : NULL;
}

const char *
ms_dmarc_lookup_from_domain(const MsDmarcLookup *lookup)
{
    g_return_val_if_fail(lookup != NULL, NULL);
    return lookup->from;
}

const char *
ms_dmarc_lookup_org_domain(const MsDmarcLookup *lookup)
{
    g_return_val_if_fail(lookup != NULL, NULL);
    return lookup->org;
}

const char *
ms_dmarc_lookup_policy_domain(const MsDmarcLookup *lookup)
{
    g_return_val_if_fail(lookup != NULL, NULL);
    return lookup->status == MS_DMARC_LOOKUP_FOUND ? lookup->policy_domain : NULL;
}

const char *
ms_dmarc_lookup_explanation(const MsDmarcLookup *lookup)
{
    g_return_val_if_fail(lookup != NULL, NULL);
    return lookup->explanation;
}

/* ---- evaluation ------------------------------------------------------ */

static MsDmarcPolicy
milder(MsDmarcPolicy p)
{
    return p == MS_DMARC_POLICY_REJECT ? MS_DMARC_POLICY_QUARANTINE : MS_DMARC_POLICY_NONE;
}

void
ms_dmarc_evaluate(const MsDmarcRecord *record, gboolean subdomain, const MsPsl *psl,
                  const MsDmarcInput *in, MsDmarcOutcome *out)
{
    g_return_if_fail(record != NULL && psl != NULL && in != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    const char *from = in->from_domain ? in->from_domain : "";
    GString *why = g_string_new(NULL);
    out->spf_aligned =
        in->spf == MS_SPF_RESULT_PASS && ms_dmarc_aligned(psl, from, in->spf_domain, record->aspf);
    for (gsize i = 0; i < in->n_dkim && !out->dkim_aligned; i++)
        if (ms_dmarc_aligned(psl, from, in->dkim_domains[i], record->adkim)) {
            out->dkim_aligned = TRUE;
            out->dkim_domain = name_key(in->dkim_domains[i]);
        }
    const char *aspf = record->aspf == MS_DMARC_ALIGN_STRICT ? "strict" : "relaxed";
    const char *adkim = record->adkim == MS_DMARC_ALIGN_STRICT ? "strict" : "relaxed";
    if (out->spf_aligned || out->dkim_aligned) {
        out->result = MS_DMARC_RESULT_PASS;
        out->disposition = MS_DMARC_POLICY_NONE;
        g_string_append_printf(why, "%s aligned with %s:", from, "From");
        if (out->spf_aligned)
            g_string_append_printf(why, " SPF pass for %s (%s)", in->spf_domain, aspf);
        if (out->dkim_aligned)
            g_string_append_printf(why, "%s DKIM d=%s (%s)", out->spf_aligned ? "," : "",
                                   out->dkim_domain, adkim);
    } else {
        out->result = MS_DMARC_RESULT_FAIL;
        g_string_append_printf(why, "nothing aligned with %s: SPF %s", from,
                               ms_spf_result_to_string(in->spf));
        if (in->spf_domain && *in->spf_domain)
            g_string_append_printf(why, " for %s", in->spf_domain);
        if (in->spf == MS_SPF_RESULT_PASS)
            g_string_append_printf(why, " (not aligned, %s)", aspf);
        if (in->n_dkim == 0) {
            g_string_append(why, ", no verified DKIM signature");
        } else {
            g_string_append(why, ", DKIM d=");
            for (gsize i = 0; i < in->n_dkim; i++)
                g_string_append_printf(why, "%s%s", i ? "," : "", in->dkim_domains[i]);
            g_string_append_printf(why, " (not aligned, %s)", adkim);
        }
    }
    out->policy = subdomain ? record->sp : record->p;
    if (out->result == MS_DMARC_RESULT_FAIL) {
        out->disposition = out->policy;
        if (out->policy != MS_DMARC_POLICY_NONE && in->pct_draw >= record->pct) {
            /* 6.6.4 with pct (6.3): not sampled, the next milder policy. */
            out->sampled_out = TRUE;
            out->disposition = milder(out->policy);
        }
        g_string_append_printf(why, "; policy %s%s",
                               subdomain ? "sp=" : "p=", ms_dmarc_policy_to_string(out->policy));
        if (out->sampled_out)
            g_string_append_printf(why, ", sampled out by pct=%u: %s", record->pct,
                                   ms_dmarc_policy_to_string(out->disposition));
    }
    out->reason = g_string_free(why, FALSE);
}

void
ms_dmarc_lookup_evaluate(const MsDmarcLookup *lookup, const MsDmarcInput *in, MsDmarcOutcome *out)
{
    g_return_if_fail(lookup != NULL && in != NULL && out != NULL);
    g_return_if_fail(lookup->status != MS_DMARC_LOOKUP_PENDING);
    if (lookup->status != MS_DMARC_LOOKUP_FOUND) {
        memset(out, 0, sizeof *out);
        out->result = lookup->status == MS_DMARC_LOOKUP_TEMPERROR   ? MS_DMARC_RESULT_TEMPERROR
                      : lookup->status == MS_DMARC_LOOKUP_PERMERROR ? MS_DMARC_RESULT_PERMERROR
                                                                    : MS_DMARC_RESULT_NONE;
        out->reason = g_strdup(lookup->explanation);
        return;
    }
    MsDmarcInput copy = *in;
    if (!copy.from_domain)
        copy.from_domain = lookup->from;
    gboolean subdomain = strcmp(lookup->policy_domain, lookup->from) != 0;
    ms_dmarc_evaluate(lookup->record, subdomain, lookup->psl, &copy, out);
}

void
ms_dmarc_outcome_clear(MsDmarcOutcome *out)
{
    if (!out)
        return;
    g_clear_pointer(&out->dkim_domain, g_free);
    g_clear_pointer(&out->reason, g_free);
}

const char *
ms_dmarc_policy_to_string(MsDmarcPolicy policy)
{
    static const char *const names[] = { "none", "quarantine", "reject" };
    return (guint) policy < G_N_ELEMENTS(names) ? names[policy] : "?";
}

const char *
ms_dmarc_alignment_to_string(MsDmarcAlignment mode)
{
    return mode == MS_DMARC_ALIGN_STRICT ? "s" : "r";
}

const char *
ms_dmarc_result_to_string(MsDmarcResult result)
{
    static const char *const names[] = { "none", "pass", "fail", "temperror", "permerror" };
    return (guint) result < G_N_ELEMENTS(names) ? names[result] : "?";
}

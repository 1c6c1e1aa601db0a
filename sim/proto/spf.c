/* SPF (RFC 7208): records and check_host(), sans I/O. The receiving
 * server's mail layer creates a check from the session (client address,
 * MAIL FROM, HELO), answers the DNS questions it asks, and narrates the
 * result; see include/mailsim/spf.h for the contract.
 *
 * Design: check_host() (RFC 7208 4) is written as the plain recursive
 * function the RFC describes, over a memo of DNS answers. When it needs an
 * answer the memo does not have, it stops and the check asks that
 * question; once answered, the evaluation runs again from the start and
 * gets one step further. Every run makes the same decisions in the same
 * order (the memo answers a repeated question the same way, as a
 * resolver's cache would), so the last run is the evaluation, with its
 * term and void-lookup counts. The cost is a re-run per question: at most
 * about 1 + 10 TXT + 10 MX + 100 address questions under the limits of
 * 4.6.4, each run a few microseconds, which buys an evaluator without
 * continuation state and a parser that is simply called again.
 *
 * A record is parsed whole before any term is evaluated (4.6: a syntax
 * error anywhere makes the record a permerror, even after a matching
 * term). Terms are split at runs of spaces; mechanism and modifier names
 * are case-insensitive (4.6.1); a term is a modifier when it starts with
 * a name followed by "=" (12: name = ALPHA *(ALPHA / DIGIT / "-" / "_" /
 * ".")). The CIDR suffix of a, mx, ip4, ip6 is the text from the first
 * "/" outside a macro's braces.
 *
 * Choices where the RFC leaves room, or where this simulator must choose:
 *  - every lookup answered NXDOMAIN or with no records counts towards the
 *    void limit (4.6.4), including the TXT lookups of include/redirect and
 *    the address lookups of an mx term's exchanges, as pyspf counts them;
 *  - an mx term looks its exchanges up in preference order (ties in the
 *    order the DNS gave), more than 10 exchanges being a permerror (4.6.4);
 *  - a TXT text with bytes outside printable ASCII that starts with
 *    "v=spf1" is an SPF record with a syntax error (3.1: records are
 *    ASCII), so a permerror;
 *  - the ptr mechanism never matches (no PTR lookups here: 5.5's answer
 *    when the PTR lookup fails) but counts as a DNS-querying term;
 *  - exp= is checked for syntax and otherwise ignored (its text would only
 *    explain a fail to the sender).
 *
 * Ownership: a check owns its memo (answers, and each TXT answer's record
 * parsed once), its pending question and its result strings. Not
 * thread-safe; one check per SMTP transaction.
 *
 * Cost: a check that asks q questions runs check_host() q + 1 times, each
 * run linear in the terms it evaluates: about 25 us for a record with an
 * mx term and two includes (6 questions) on the development machine. */
#include "spf-private.h"

#include <string.h>

G_DEFINE_QUARK(ms - spf - error - quark, ms_spf_error)

/* Pending: a value outside MsSpfResult for "an answer is missing". */
#define SPF_PENDING ((MsSpfResult) 100)

typedef enum {
    MECH_ALL,
    MECH_INCLUDE,
    MECH_A,
    MECH_MX,
    MECH_PTR,
    MECH_IP4,
    MECH_IP6,
    MECH_EXISTS,
} SpfMech;

typedef struct {
    char qualifier; /* '+', '-', '~', '?' */
    SpfMech mech;
    char *spec; /* domain-spec macro-string, or NULL for the current domain */
    guint cidr4, cidr6;
    MsSpfAddr net; /* ip4, ip6 */
    char *text;    /* the term as written */
} SpfTerm;

typedef struct SpfRecord {
    GArray *terms; /* of SpfTerm */
    char *redirect;
    char *exp;
} SpfRecord;

typedef struct {
    MsSpfAnswer answer;
    GPtrArray *records; /* char * */
    /* TXT answers: the SPF record among them, parsed once for every run
     * (or why it does not parse). */
    gboolean parsed;
    struct SpfRecord *record;
    char *parse_error;
} SpfMemo;

struct _MsSpfCheck {
    MsSpfAddr addr;
    char *client_ip;
    char *sender; /* local@domain, never NULL */
    char *domain; /* lower case */
    char *helo;
    gboolean is_helo;
    char *receiver;
    gint64 now;
    GHashTable *memo; /* "TYPE name" -> SpfMemo *; lookups only, never iterated */
    guint queries;
    /* The pending question. */
    gboolean pending;
    char *pending_name;
    MsSpfQueryType pending_type;
    /* The last run. */
    gboolean done;
    MsSpfResult result;
    char *mechanism;
    char *explanation;
    guint dns_terms, voids;
};

/* One run of check_host() over the memo. */
typedef struct {
    MsSpfCheck *check;
    guint dns_terms;
    guint voids;
    MsSpfResult result;
    char *error; /* why a permerror or temperror, at the innermost level */
    char *miss_name;
    MsSpfQueryType miss_type;
} SpfRun;

/* ---- records --------------------------------------------------------- */

static void
term_clear(gpointer p)
{
    SpfTerm *t = p;
    g_free(t->spec);
    g_free(t->text);
}

static void
record_free(SpfRecord *r)
{
    if (!r)
        return;
    g_array_unref(r->terms);
    g_free(r->redirect);
    g_free(r->exp);
    g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SpfRecord, record_free)

/* "/" cidr: "0" or a nonzero digit and at most `maxdigits`-1 more, up to max. */
static gboolean
parse_cidr_len(const char *s, gsize n, guint max, guint *out)
{
    if (n == 0 || n > 3 || !g_ascii_isdigit(s[0]) || (s[0] == '0' && n > 1))
        return FALSE;
    guint v = 0;
    for (gsize i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        v = v * 10 + (guint) (s[i] - '0');
    }
    if (v > max)
        return FALSE;
    *out = v;
    return TRUE;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], the
 * text starting at its first "/". */
static gboolean
parse_dual_cidr(const char *s, guint *c4, guint *c6)
{
    *c4 = 32;
    *c6 = 128;
    if (!*s)
        return TRUE;
    if (s[0] != '/')
        return FALSE;
    const char *v6 = strstr(s, "//");
    if (v6 == s) /* "//64" */
        return parse_cidr_len(s + 2, strlen(s + 2), 128, c6);
    if (v6) {
        if (!parse_cidr_len(s + 1, (gsize) (v6 - s - 1), 32, c4))
            return FALSE;
        return parse_cidr_len(v6 + 2, strlen(v6 + 2), 128, c6);
    }
    return parse_cidr_len(s + 1, strlen(s + 1), 32, c4);
}

/* Where the dual-cidr-length at the end of `s` starts (the end when
 * there is none): an optional "//" and digits, after an optional "/" and
 * digits. The domain-spec may itself hold "/" and ":" (12: macro-literal),
 * so the suffix is read from the right. */
static const char *
find_cidr(const char *s)
{
    const char *end = s + strlen(s);
    const char *p = end;
    while (p > s && g_ascii_isdigit(p[-1]))
        p--;
    if (p < end && p - s >= 2 && p[-1] == '/' && p[-2] == '/') {
        end = p - 2;
        p = end;
        while (p > s && g_ascii_isdigit(p[-1]))
            p--;
    }
    if (p < end && p > s && p[-1] == '/' && !(p - 1 > s && p[-2] == '/'))
        return p - 1;
    return end;
}

static gboolean
check_spec(const char *spec, gsize len, const char *term, GError **error)
{
    if (len == 0) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "empty domain-spec in \"%s\"", term);
        return FALSE;
    }
    g_autoptr(GError) e = NULL;
    if (!ms__spf_macro_check(spec, len, TRUE, &e)) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "bad domain-spec in \"%s\": %s", term,
                    e->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean
parse_mechanism(const char *term, SpfTerm *t, GError **error)
{
    const char *p = term;
    t->qualifier = '+';
    if (strchr("+-~?", *p) && *p) {
        t->qualifier = *p;
        p++;
    }
    gsize nlen = 0;
    while (g_ascii_isalnum(p[nlen]))
        nlen++;
    static const struct {
        const char *name;
        SpfMech mech;
    } names[] = {
        { "all", MECH_ALL }, { "include", MECH_INCLUDE }, { "a", MECH_A },
        { "mx", MECH_MX },   { "ptr", MECH_PTR },         { "ip4", MECH_IP4 },
        { "ip6", MECH_IP6 }, { "exists", MECH_EXISTS },
    };
    gboolean found = FALSE;
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        if (strlen(names[i].name) == nlen && g_ascii_strncasecmp(p, names[i].name, nlen) == 0) {
            t->mech = names[i].mech;
            found = TRUE;
        }
    const char *rest = p + nlen;
    if (!found || (*rest && *rest != ':' && *rest != '/')) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "unknown mechanism \"%s\"", term);
        return FALSE;
    }
    t->cidr4 = 32;
    t->cidr6 = 128;
    switch (t->mech) {
    case MECH_ALL:
        if (*rest) {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                        "\"all\" takes no argument: \"%s\"", term);
            return FALSE;
        }
        return TRUE;
    case MECH_INCLUDE:
    case MECH_EXISTS:
        if (*rest != ':') {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                        "\"%.*s\" needs \":domain\": \"%s\"", (int) nlen, p, term);
            return FALSE;
        }
        if (!check_spec(rest + 1, strlen(rest + 1), term, error))
            return FALSE;
        t->spec = g_strdup(rest + 1);
        return TRUE;
    case MECH_PTR:
        if (*rest == '/') {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                        "ptr takes no CIDR length: \"%s\"", term);
            return FALSE;
        }
        if (*rest == ':') {
            if (!check_spec(rest + 1, strlen(rest + 1), term, error))
                return FALSE;
            t->spec = g_strdup(rest + 1);
        }
        return TRUE;
    case MECH_A:
    case MECH_MX: {
        const char *spec = *rest == ':' ? rest + 1 : rest;
        const char *cidr = *rest == ':' ? find_cidr(spec) : rest;
        if (*rest == ':') {
            if (!check_spec(spec, (gsize) (cidr - spec), term, error))
                return FALSE;
            t->spec = g_strndup(spec, (gsize) (cidr - spec));
        }
        if (!parse_dual_cidr(cidr, &t->cidr4, &t->cidr6)) {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "bad CIDR length in \"%s\"",
                        term);
            return FALSE;
        }
        return TRUE;
    }
    case MECH_IP4:
    case MECH_IP6: {
        gboolean v6 = t->mech == MECH_IP6;
        if (*rest != ':') {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "\"%s\" needs an address", term);
            return FALSE;
        }
        const char *addr = rest + 1;
        const char *slash = strchr(addr, '/');
        g_autofree char *a = slash ? g_strndup(addr, (gsize) (slash - addr)) : g_strdup(addr);
        if (!ms__spf_addr_parse(a, FALSE, &t->net) || t->net.v6 != v6) {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "bad %s address in \"%s\"",
                        v6 ? "IPv6" : "IPv4", term);
            return FALSE;
        }
        if (slash) {
            guint *len = v6 ? &t->cidr6 : &t->cidr4;
            if (!parse_cidr_len(slash + 1, strlen(slash + 1), v6 ? 128 : 32, len)) {
                g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "bad CIDR length in \"%s\"",
                            term);
                return FALSE;
            }
        }
        return TRUE;
    }
    }
    g_assert_not_reached();
}

/* Parses a whole record (already known to start with "v=spf1"). */
static SpfRecord *
record_parse(const char *text, guint *dns_terms, GError **error)
{
    for (const char *p = text; *p; p++)
        if ((guchar) *p < 0x20 || (guchar) *p > 0x7e) {
            g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                        "character 0x%02x in the record (RFC 7208 3.1: printable ASCII only)",
                        (guchar) *p);
            return NULL;
        }
    if (!ms_spf_record_is_spf(text)) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                    "the record does not start with "
                    "\"v=spf1\"");
        return NULL;
    }
    g_autoptr(SpfRecord) r = g_new0(SpfRecord, 1);
    r->terms = g_array_new(FALSE, TRUE, sizeof(SpfTerm));
    g_array_set_clear_func(r->terms, term_clear);
    guint queries = 0;
    g_auto(GStrv) words = g_strsplit(text + 6, " ", -1);
    for (guint i = 0; words[i]; i++) {
        const char *w = words[i];
        if (!*w)
            continue;
        /* A modifier: name "=" ... */
        gsize n = 0;
        if (g_ascii_isalpha(w[0]))
            while (g_ascii_isalnum(w[n]) || w[n] == '-' || w[n] == '_' || w[n] == '.')
                n++;
        if (n > 0 && w[n] == '=') {
            const char *value = w + n + 1;
            gboolean redirect = n == 8 && g_ascii_strncasecmp(w, "redirect", 8) == 0;
            gboolean exp = n == 3 && g_ascii_strncasecmp(w, "exp", 3) == 0;
            if (redirect || exp) {
                char **slot = redirect ? &r->redirect : &r->exp;
                if (*slot) {
                    g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX,
                                "%s= appears twice (RFC 7208 6)", redirect ? "redirect" : "exp");
                    return NULL;
                }
                if (!check_spec(value, strlen(value), w, error))
                    return NULL;
                *slot = g_strdup(value);
                if (redirect)
                    queries++;
            } else {
                g_autoptr(GError) e = NULL;
                if (!ms__spf_macro_check(value, strlen(value), FALSE, &e)) {
                    g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "bad modifier \"%s\": %s",
                                w, e->message);
                    return NULL;
                }
            }
            continue;
        }
        SpfTerm t = { 0 };
        if (!parse_mechanism(w, &t, error)) {
            term_clear(&t);
            return NULL;
        }
        t.text = g_strdup(w);
        if (t.mech == MECH_INCLUDE || t.mech == MECH_A || t.mech == MECH_MX || t.mech == MECH_PTR ||
            t.mech == MECH_EXISTS)
            queries++;
        g_array_append_val(r->terms, t);
    }
    if (dns_terms)
        *dns_terms = queries;
    return g_steal_pointer(&r);
}

gboolean
ms_spf_record_is_spf(const char *text)
{
    /* 4.5: "v=spf1" exactly (case-insensitive), then a space or the end. */
    return text && g_ascii_strncasecmp(text, "v=spf1", 6) == 0 && (text[6] == 0 || text[6] == ' ');
}

gboolean
ms_spf_record_validate(const char *text, guint *dns_terms, GError **error)
{
    g_return_val_if_fail(text != NULL, FALSE);
    g_autoptr(SpfRecord) r = record_parse(text, dns_terms, error);
    return r != NULL;
}

/* ---- evaluation ------------------------------------------------------ */

static void
memo_free(gpointer p)
{
    SpfMemo *m = p;
    g_ptr_array_unref(m->records);
    record_free(m->record);
    g_free(m->parse_error);
    g_free(m);
}

static char *
memo_key(const char *name, MsSpfQueryType type)
{
    return g_strdup_printf("%s %s", ms_spf_query_type_to_string(type), name);
}

/* The memo's answer, or NULL (and the run records the miss) when the
 * question has not been answered yet. Counts a void answer. */
static SpfMemo *
lookup(SpfRun *run, const char *name, MsSpfQueryType type)
{
    g_autofree char *key = memo_key(name, type);
    SpfMemo *m = g_hash_table_lookup(run->check->memo, key);
    if (!m) {
        if (!run->miss_name) {
            run->miss_name = g_strdup(name);
            run->miss_type = type;
        }
        return NULL;
    }
    if (m->answer == MS_SPF_ANSWER_NXDOMAIN || m->answer == MS_SPF_ANSWER_NODATA)
        run->voids++;
    return m;
}

static MsSpfResult
run_error(SpfRun *run, MsSpfResult result, char *why)
{
    if (!run->error)
        run->error = why;
    else
        g_free(why);
    return result;
}

/* 4.3: a name check_host() can use: labels of 1..63 octets, at most 253
 * in all (a trailing dot aside), at least two labels, not a literal. */
static gboolean
domain_usable(const char *d)
{
    gsize len = strlen(d);
    if (len && d[len - 1] == '.')
        len--;
    if (len == 0 || len > 253 || d[0] == '[')
        return FALSE;
    guint labels = 0;
    gsize label = 0;
    for (gsize i = 0; i <= len; i++) {
        if (i == len || d[i] == '.') {
            if (label == 0 || label > 63)
                return FALSE;
            labels++;
            label = 0;
        } else if ((guchar) d[i] <= 0x20 || (guchar) d[i] >= 0x7f) {
            return FALSE;
        } else {
            label++;
        }
    }
    return labels >= 2;
}

static char *
normalise_name(const char *name)
{
    g_autofree char *lower = g_ascii_strdown(name, -1);
    gsize len = strlen(lower);
    if (len && lower[len - 1] == '.')
        lower[len - 1] = 0;
    return g_steal_pointer(&lower);
}

/* Expands a term's domain-spec (or returns the current domain). NULL
 * means permerror (already recorded in the run). */
static char *
target_name(SpfRun *run, const char *spec, const char *domain)
{
    if (!spec)
        return g_strdup(domain);
    MsSpfCheck *c = run->check;
    MsSpfMacroContext ctx = {
        .sender = c->sender,
        .domain = domain,
        .client_ip = c->client_ip,
        .helo = c->helo,
        .receiver = c->receiver,
        .now = c->now,
    };
    g_autoptr(GError) e = NULL;
    char *name = ms_spf_macro_expand(spec, &ctx, FALSE, &e);
    if (!name) {
        run_error(run, MS_SPF_RESULT_PERMERROR,
                  g_strdup_printf("macro expansion failed at %s: %s", domain, e->message));
        return NULL;
    }
    char *n = normalise_name(name);
    g_free(name);
    return n;
}

/* A DNS-querying term (4.6.4): FALSE when it is one too many. */
static gboolean
count_term(SpfRun *run)
{
    if (run->dns_terms >= MS_SPF_MAX_DNS_TERMS) {
        run_error(run, MS_SPF_RESULT_PERMERROR,
                  g_strdup_printf("more than %d DNS-querying terms (RFC 7208 4.6.4)",
                                  MS_SPF_MAX_DNS_TERMS));
        return FALSE;
    }
    run->dns_terms++;
    return TRUE;
}

static gboolean
too_many_voids(SpfRun *run)
{
    if (run->voids > MS_SPF_MAX_VOID) {
        run_error(run, MS_SPF_RESULT_PERMERROR,
                  g_strdup_printf("more than %d void lookups (RFC 7208 4.6.4)", MS_SPF_MAX_VOID));
        return TRUE;
    }
    return FALSE;
}

static MsSpfResult
temp_failure(SpfRun *run, const char *type, const char *name)
{
    return run_error(run, MS_SPF_RESULT_TEMPERROR,
                     g_strdup_printf("DNS temporary failure for %s %s", type, name));
}

/* Does an address answer match the client under the term's CIDR lengths?
 * Returns PASS (match), NONE (no match), PENDING, TEMPERROR or PERMERROR. */
static MsSpfResult
match_addresses(SpfRun *run, const char *name, const SpfTerm *t)
{
    MsSpfAddr *client = &run->check->addr;
    MsSpfQueryType type = client->v6 ? MS_SPF_QUERY_AAAA : MS_SPF_QUERY_A;
    const SpfMemo *m = lookup(run, name, type);
    if (!m)
        return SPF_PENDING;
    if (m->answer == MS_SPF_ANSWER_TEMPFAIL)
        return temp_failure(run, ms_spf_query_type_to_string(type), name);
    if (too_many_voids(run))
        return MS_SPF_RESULT_PERMERROR;
    for (guint i = 0; i < m->records->len; i++) {
        MsSpfAddr a;
        if (!ms__spf_addr_parse(g_ptr_array_index(m->records, i), FALSE, &a) || a.v6 != client->v6)
            continue;
        if (ms__spf_addr_match(&a, client, client->v6 ? t->cidr6 : t->cidr4))
            return MS_SPF_RESULT_PASS;
    }
    return MS_SPF_RESULT_NONE;
}

typedef struct {
    guint pref;
    guint order;
    const char *host;
} SpfMx;

static gint
mx_compare(gconstpointer a, gconstpointer b)
{
    const SpfMx *x = a, *y = b;
    if (x->pref != y->pref)
        return x->pref < y->pref ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static MsSpfResult
match_mx(SpfRun *run, const char *name, const SpfTerm *t)
{
    const SpfMemo *m = lookup(run, name, MS_SPF_QUERY_MX);
    if (!m)
        return SPF_PENDING;
    if (m->answer == MS_SPF_ANSWER_TEMPFAIL)
        return temp_failure(run, "MX", name);
    if (too_many_voids(run))
        return MS_SPF_RESULT_PERMERROR;
    if (m->records->len > MS_SPF_MAX_MX_NAMES)
        return run_error(run, MS_SPF_RESULT_PERMERROR,
                         g_strdup_printf("%s has %u MX records, more than %d (RFC 7208 4.6.4)",
                                         name, m->records->len, MS_SPF_MAX_MX_NAMES));
    g_autoptr(GArray) mx = g_array_new(FALSE, FALSE, sizeof(SpfMx));
    for (guint i = 0; i < m->records->len; i++) {
        const char *rec = g_ptr_array_index(m->records, i);
        SpfMx e = { 0, i, rec };
        const char *sp = strchr(rec, ' ');
        if (sp && g_ascii_isdigit(rec[0])) {
            e.pref = (guint) g_ascii_strtoull(rec, NULL, 10);
            e.host = sp + 1;
            while (*e.host == ' ')
                e.host++;
        }
        g_array_append_val(mx, e);
    }
    g_array_sort(mx, mx_compare);
    for (guint i = 0; i < mx->len; i++) {
        g_autofree char *host = normalise_name(g_array_index(mx, SpfMx, i).host);
        if (!*host)
            continue; /* a null MX ("0 .") names no host */
        MsSpfResult r = match_addresses(run, host, t);
        if (r != MS_SPF_RESULT_NONE)
            return r;
    }
    return MS_SPF_RESULT_NONE;
}

/* The explanation of a result decided inside another domain's record. */
typedef struct {
    char *term;   /* the term whose qualifier gave the result */
    char *detail; /* a sentence saying why */
} SpfWhy;

static void
why_clear(SpfWhy *w)
{
    g_clear_pointer(&w->term, g_free);
    g_clear_pointer(&w->detail, g_free);
}

static MsSpfResult check_host(SpfRun *run, const char *domain, guint depth, SpfWhy *why);

static MsSpfResult
qualifier_result(char q)
{
    switch (q) {
    case '-':
        return MS_SPF_RESULT_FAIL;
    case '~':
        return MS_SPF_RESULT_SOFTFAIL;
    case '?':
        return MS_SPF_RESULT_NEUTRAL;
    default:
        return MS_SPF_RESULT_PASS;
    }
}

/* Evaluates one mechanism: PASS for a match, NONE for no match, or an
 * error / PENDING. */
static MsSpfResult
evaluate_term(SpfRun *run, const SpfTerm *t, const char *domain, guint depth, char **inner)
{
    switch (t->mech) {
    case MECH_ALL:
        return MS_SPF_RESULT_PASS;
    case MECH_IP4:
    case MECH_IP6:
        if (t->net.v6 != run->check->addr.v6)
            return MS_SPF_RESULT_NONE;
        return ms__spf_addr_match(&t->net, &run->check->addr, t->net.v6 ? t->cidr6 : t->cidr4)
                   ? MS_SPF_RESULT_PASS
                   : MS_SPF_RESULT_NONE;
    case MECH_PTR:
        /* 5.5: no PTR lookups here; a failed PTR lookup is no match. */
        return count_term(run) ? MS_SPF_RESULT_NONE : MS_SPF_RESULT_PERMERROR;
    case MECH_A:
    case MECH_MX:
    case MECH_EXISTS:
    case MECH_INCLUDE:
        break;
    }
    if (!count_term(run))
        return MS_SPF_RESULT_PERMERROR;
    g_autofree char *target = target_name(run, t->spec, domain);
    if (!target)
        return MS_SPF_RESULT_PERMERROR;
    switch (t->mech) {
    case MECH_A:
        return match_addresses(run, target, t);
    case MECH_MX:
        return match_mx(run, target, t);
    case MECH_EXISTS: {
        /* 5.7: always an A lookup, whatever the client's family. */
        const SpfMemo *m = lookup(run, target, MS_SPF_QUERY_A);
        if (!m)
            return SPF_PENDING;
        if (m->answer == MS_SPF_ANSWER_TEMPFAIL)
            return temp_failure(run, "A", target);
        if (too_many_voids(run))
            return MS_SPF_RESULT_PERMERROR;
        return m->records->len > 0 ? MS_SPF_RESULT_PASS : MS_SPF_RESULT_NONE;
    }
    case MECH_INCLUDE: {
        /* 5.2: pass matches; fail, softfail, neutral do not; temperror
         * is temperror; permerror and none are permerror. */
        SpfWhy sub = { 0 };
        MsSpfResult r = check_host(run, target, depth + 1, &sub);
        if (r == MS_SPF_RESULT_PASS)
            *inner = g_strdup_printf("%s at %s", sub.detail ? sub.detail : "pass", target);
        why_clear(&sub);
        if (r == SPF_PENDING || r == MS_SPF_RESULT_PASS)
            return r;
        if (r == MS_SPF_RESULT_NONE)
            return run_error(
                run, MS_SPF_RESULT_PERMERROR,
                g_strdup_printf("include:%s has no SPF record (RFC 7208 5.2)", target));
        if (r == MS_SPF_RESULT_TEMPERROR || r == MS_SPF_RESULT_PERMERROR)
            return r;
        return MS_SPF_RESULT_NONE;
    }
    default:
        g_assert_not_reached();
    }
}

static MsSpfResult
check_host(SpfRun *run, const char *domain, guint depth, SpfWhy *why)
{
    if (!domain_usable(domain)) {
        why->detail = g_strdup_printf("\"%s\" is not a usable domain name (RFC 7208 4.3)", domain);
        return MS_SPF_RESULT_NONE;
    }
    SpfMemo *m = lookup(run, domain, MS_SPF_QUERY_TXT);
    if (!m)
        return SPF_PENDING;
    if (m->answer == MS_SPF_ANSWER_TEMPFAIL)
        return temp_failure(run, "TXT", domain);
    const char *text = NULL;
    guint found = 0;
    for (guint i = 0; i < m->records->len; i++) {
        const char *t = g_ptr_array_index(m->records, i);
        if (ms_spf_record_is_spf(t)) {
            text = t;
            found++;
        }
    }
    if (found == 0) {
        why->detail = g_strdup_printf("no SPF record at %s", domain);
        return MS_SPF_RESULT_NONE;
    }
    if (found > 1)
        return run_error(run, MS_SPF_RESULT_PERMERROR,
                         g_strdup_printf("%u SPF records at %s (RFC 7208 4.5)", found, domain));
    if (!m->parsed) {
        g_autoptr(GError) e = NULL;
        m->record = record_parse(text, NULL, &e);
        m->parse_error = e ? g_strdup(e->message) : NULL;
        m->parsed = TRUE;
    }
    const SpfRecord *rec = m->record;
    if (!rec)
        return run_error(
            run, MS_SPF_RESULT_PERMERROR,
            g_strdup_printf("syntax error in the SPF record at %s: %s", domain, m->parse_error));
    for (guint i = 0; i < rec->terms->len; i++) {
        const SpfTerm *t = &g_array_index(rec->terms, SpfTerm, i);
        g_autofree char *inner = NULL;
        MsSpfResult r = evaluate_term(run, t, domain, depth, &inner);
        if (r == MS_SPF_RESULT_NONE)
            continue;
        if (r != MS_SPF_RESULT_PASS)
            return r; /* pending or an error */
        why->term = g_strdup(t->text);
        why->detail = inner ? g_strdup_printf("%s matched (%s)", t->text, inner)
                            : g_strdup_printf("%s matched", t->text);
        return qualifier_result(t->qualifier);
    }
    if (rec->redirect) {
        /* 6.1: only when no mechanism matched; a target without a record
         * is a permerror. */
        if (!count_term(run))
            return MS_SPF_RESULT_PERMERROR;
        g_autofree char *target = target_name(run, rec->redirect, domain);
        if (!target)
            return MS_SPF_RESULT_PERMERROR;
        SpfWhy sub = { 0 };
        MsSpfResult r = check_host(run, target, depth + 1, &sub);
        if (r == MS_SPF_RESULT_NONE) {
            why_clear(&sub);
            return run_error(
                run, MS_SPF_RESULT_PERMERROR,
                g_strdup_printf("redirect=%s has no SPF record (RFC 7208 6.1)", target));
        }
        /* The result is the target's: so is the deciding term. */
        why->term = g_steal_pointer(&sub.term);
        if (sub.detail)
            why->detail =
                g_strdup_printf("%s at %s (redirect from %s)", sub.detail, target, domain);
        why_clear(&sub);
        return r;
    }
    why->detail = g_strdup("no mechanism matched (default neutral, RFC 7208 4.7)");
    return MS_SPF_RESULT_NEUTRAL;
}

/* ---- the check ------------------------------------------------------- */

MsSpfCheck *
ms_spf_check_new(const char *client_ip, const char *sender, const char *helo, GError **error)
{
    g_return_val_if_fail(client_ip != NULL, NULL);
    MsSpfAddr addr;
    if (!ms__spf_addr_parse(client_ip, TRUE, &addr)) {
        g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_ADDRESS,
                    "client address \"%s\" is not IPv4 or IPv6", client_ip);
        return NULL;
    }
    MsSpfCheck *c = g_new0(MsSpfCheck, 1);
    c->addr = addr;
    /* An IPv4-mapped address is checked as IPv4 (its dotted form). */
    c->client_ip = addr.v6
                       ? g_strdup(client_ip)
                       : g_strdup_printf("%u.%u.%u.%u", addr.b[0], addr.b[1], addr.b[2], addr.b[3]);
    c->helo = g_strdup(helo && *helo ? helo : NULL);
    /* 2.4, 4.3: the null reverse-path checks "postmaster@<helo>"; a
     * sender without a local-part gets "postmaster". */
    if (sender && *sender) {
        const char *at = strrchr(sender, '@');
        if (!at)
            c->sender = g_strdup_printf("postmaster@%s", sender);
        else if (at == sender)
            c->sender = g_strdup_printf("postmaster%s", sender);
        else
            c->sender = g_strdup(sender);
    } else {
        c->is_helo = TRUE;
        c->sender = g_strdup_printf("postmaster@%s", helo ? helo : "");
    }
    c->domain = normalise_name(strrchr(c->sender, '@') + 1);
    c->receiver = g_strdup("unknown");
    c->memo = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, memo_free);
    c->explanation = g_strdup("");
    return c;
}

void
ms_spf_check_free(MsSpfCheck *check)
{
    if (!check)
        return;
    g_free(check->client_ip);
    g_free(check->sender);
    g_free(check->domain);
    g_free(check->helo);
    g_free(check->receiver);
    g_hash_table_unref(check->memo);
    g_free(check->pending_name);
    g_free(check->mechanism);
    g_free(check->explanation);
    g_free(check);
}

void
ms_spf_check_set_receiver(MsSpfCheck *check, const char *receiver, gint64 now)
{
    g_return_if_fail(check != NULL);
    g_free(check->receiver);
    check->receiver = g_strdup(receiver && *receiver ? receiver : "unknown");
    check->now = now;
}

/* Runs check_host() over the memo; either finishes the check or leaves a
 * pending question. */
static void
advance(MsSpfCheck *c)
{
    if (c->done || c->pending)
        return;
    SpfRun run = { .check = c };
    SpfWhy why = { 0 };
    MsSpfResult r = check_host(&run, c->domain, 0, &why);
    c->dns_terms = run.dns_terms;
    c->voids = run.voids;
    if (r == SPF_PENDING) {
        g_assert(run.miss_name);
        c->pending = TRUE;
        g_free(c->pending_name);
        c->pending_name = g_steal_pointer(&run.miss_name);
        c->pending_type = run.miss_type;
        g_free(run.error);
        why_clear(&why);
        return;
    }
    c->done = TRUE;
    c->result = r;
    g_free(c->mechanism);
    c->mechanism = g_steal_pointer(&why.term);
    g_free(c->explanation);
    if (r == MS_SPF_RESULT_PERMERROR || r == MS_SPF_RESULT_TEMPERROR) {
        c->explanation = g_strdup(run.error ? run.error : ms_spf_result_to_string(r));
        g_clear_pointer(&c->mechanism, g_free);
    } else {
        c->explanation = g_strdup(why.detail ? why.detail : ms_spf_result_to_string(r));
    }
    why_clear(&why);
    g_free(run.error);
    g_free(run.miss_name);
}

gboolean
ms_spf_check_next_query(MsSpfCheck *check, const char **name, MsSpfQueryType *type)
{
    g_return_val_if_fail(check != NULL, FALSE);
    advance(check);
    if (!check->pending)
        return FALSE;
    if (name)
        *name = check->pending_name;
    if (type)
        *type = check->pending_type;
    return TRUE;
}

void
ms_spf_check_answer(MsSpfCheck *check, MsSpfAnswer answer, const char *const *records,
                    gsize n_records)
{
    g_return_if_fail(check != NULL);
    advance(check);
    g_return_if_fail(check->pending);
    SpfMemo *m = g_new0(SpfMemo, 1);
    m->answer = answer;
    m->records = g_ptr_array_new_with_free_func(g_free);
    if (answer == MS_SPF_ANSWER_RECORDS) {
        for (gsize i = 0; i < n_records; i++)
            if (records[i])
                g_ptr_array_add(m->records, g_strdup(records[i]));
        if (m->records->len == 0)
            m->answer = MS_SPF_ANSWER_NODATA;
    }
    g_hash_table_insert(check->memo, memo_key(check->pending_name, check->pending_type), m);
    check->queries++;
    check->pending = FALSE;
}

gboolean
ms_spf_check_done(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, FALSE);
    return check->done;
}

MsSpfResult
ms_spf_check_result(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, MS_SPF_RESULT_NONE);
    return check->done ? check->result : MS_SPF_RESULT_NONE;
}

const char *
ms_spf_check_mechanism(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, NULL);
    return check->done ? check->mechanism : NULL;
}

const char *
ms_spf_check_explanation(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, "");
    return check->done ? check->explanation : "";
}

const char *
ms_spf_check_domain(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, NULL);
    return check->domain;
}

gboolean
ms_spf_check_is_helo(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, FALSE);
    return check->is_helo;
}

guint
ms_spf_check_dns_terms(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, 0);
    return check->dns_terms;
}

guint
ms_spf_check_void_lookups(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, 0);
    return check->voids;
}

guint
ms_spf_check_queries(const MsSpfCheck *check)
{
    g_return_val_if_fail(check != NULL, 0);
    return check->queries;
}

MsSpfResult
ms_spf_check_run(MsSpfCheck *check, MsSpfLookupFunc lookup_func, gpointer user_data)
{
    g_return_val_if_fail(check != NULL && lookup_func != NULL, MS_SPF_RESULT_NONE);
    const char *name;
    MsSpfQueryType type;
    while (ms_spf_check_next_query(check, &name, &type)) {
        g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func(g_free);
        g_autofree char *asked = g_strdup(name);
        MsSpfAnswer a = lookup_func(asked, type, records, user_data);
        ms_spf_check_answer(check, a, (const char *const *) records->pdata, records->len);
    }
    return ms_spf_check_result(check);
}

const char *
ms_spf_result_to_string(MsSpfResult result)
{
    static const char *const names[] = { "none",     "neutral",   "pass",     "fail",
                                         "softfail", "temperror", "permerror" };
    return (guint) result < G_N_ELEMENTS(names) ? names[result] : "unknown";
}

const char *
ms_spf_query_type_to_string(MsSpfQueryType type)
{
    static const char *const names[] = { "TXT", "A", "AAAA", "MX" };
    return (guint) type < G_N_ELEMENTS(names) ? names[type] : "?";
}

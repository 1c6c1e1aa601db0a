/* The public suffix list, for DMARC's organisational domain (RFC 7489
 * 3.2): see include/mailsim/psl.h.
 *
 * A list is three sets of rules, looked up by suffix: plain rules
 * ("co.uk"), wildcards ("*.ck", stored as "ck") and exceptions ("!www.ck",
 * stored as "www.ck"). For a name of n labels, every suffix of 1..n labels
 * is looked up once in each set, so a lookup costs n hash lookups; the
 * prevailing rule is an exception if one matches (the public suffix is
 * then the exception minus its leftmost label), else the longest plain or
 * wildcard match, else the implicit "*" (the last label). This is the
 * algorithm publicsuffix.org publishes with the list; the tests run its
 * test vectors against Debian's copy of the list.
 *
 * The built-in list is a string in the list's own format, parsed like a
 * file, so both sources take the same path. It names the top-level names
 * the simulated world uses (the reserved ones of RFC 2606 and RFC 6761,
 * the generic ones, a few country codes with their second-level
 * registries as publicsuffix.org lists them, and one wildcard with its
 * exception). Debian's list has some 9,000 rules; parsing it takes about
 * a millisecond and the sets hold it in a few hundred KB, so a world
 * reads it once.
 *
 * A list is immutable once built and may be shared by every receiver of
 * a world (and across threads). The hash tables are only looked up,
 * never iterated. */
#include "mailsim/psl.h"

#include <string.h>

G_DEFINE_QUARK(ms - psl - error - quark, ms_psl_error)

struct _MsPsl {
    char *source;
    GHashTable *plain;     /* rule -> itself */
    GHashTable *wildcard;  /* "ck" for "*.ck" */
    GHashTable *exception; /* "www.ck" for "!www.ck" */
    guint size;
};

static const char builtin_list[] =
    "// mailsim's built-in public suffix list (the format of publicsuffix.org).\n"
    "// Reserved names: RFC 2606, RFC 6761.\n"
    "example\n"
    "test\n"
    "invalid\n"
    "localhost\n"
    "// Generic top-level names.\n"
    "com\n"
    "net\n"
    "org\n"
    "edu\n"
    "gov\n"
    "mil\n"
    "int\n"
    "info\n"
    "arpa\n"
    "in-addr.arpa\n"
    "ip6.arpa\n"
    "// Country codes, with the second-level registries publicsuffix.org lists.\n"
    "uk\n"
    "ac.uk\n"
    "co.uk\n"
    "gov.uk\n"
    "org.uk\n"
    "se\n"
    "pt\n"
    "com.pt\n"
    "edu.pt\n"
    "de\n"
    "fr\n"
    "jp\n"
    "ac.jp\n"
    "co.jp\n"
    "au\n"
    "com.au\n"
    "edu.au\n"
    "// A wildcard and its exception, as the list has them for .ck.\n"
    "*.ck\n"
    "!www.ck\n";

static MsPsl *
psl_alloc(const char *source)
{
    MsPsl *psl = g_new0(MsPsl, 1);
    psl->source = g_strdup(source);
    psl->plain = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    psl->wildcard = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    psl->exception = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return psl;
}

/* A rule's labels: non-empty, no "*" or "!" inside, no spaces. */
static const char *
rule_problem(const char *rule)
{
    if (!*rule)
        return "empty rule";
    if (rule[0] == '.' || rule[strlen(rule) - 1] == '.' || strstr(rule, ".."))
        return "empty label";
    for (const char *p = rule; *p; p++) {
        if (*p == '*' || *p == '!')
            return "'*' or '!' inside a rule";
        if ((guchar) *p < 0x21 || *p == 0x7f)
            return "control character";
    }
    return NULL;
}

MsPsl *
ms_psl_new_from_data(const char *text, gsize len, const char *source, GError **error)
{
    g_return_val_if_fail(text != NULL || len == 0, NULL);
    if (!source)
        source = "public suffix list";
    g_autoptr(MsPsl) psl = psl_alloc(source);
    gsize pos = 0;
    guint line = 0;
    while (pos < len) {
        line++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        gsize n = nl ? (gsize) (nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        /* The rule is the line's first word; "//" starts a comment line. */
        gsize a = 0;
        while (a < n && (start[a] == ' ' || start[a] == '\t' || start[a] == '\r'))
            a++;
        gsize b = a;
        while (b < n && start[b] != ' ' && start[b] != '\t' && start[b] != '\r')
            b++;
        if (a == b || (b - a >= 2 && start[a] == '/' && start[a + 1] == '/'))
            continue;
        g_autofree char *word = g_strndup(start + a, b - a);
        if (strlen(word) != b - a) {
            g_set_error(error, MS_PSL_ERROR, MS_PSL_ERROR_PARSE, "%s:%u: NUL in a rule", source,
                        line);
            return NULL;
        }
        g_autofree char *rule = g_utf8_validate(word, -1, NULL) ? g_ascii_strdown(word, -1) : NULL;
        if (!rule) {
            g_set_error(error, MS_PSL_ERROR, MS_PSL_ERROR_PARSE, "%s:%u: not UTF-8", source, line);
            return NULL;
        }
        GHashTable *set = psl->plain;
        const char *body = rule;
        if (rule[0] == '!') {
            set = psl->exception;
            body = rule + 1;
        } else if (g_str_has_prefix(rule, "*.")) {
            set = psl->wildcard;
            body = rule + 2;
        }
        const char *why = rule_problem(body);
        if (why) {
            g_set_error(error, MS_PSL_ERROR, MS_PSL_ERROR_PARSE, "%s:%u: \"%s\": %s", source, line,
                        word, why);
            return NULL;
        }
        if (set == psl->exception && !strchr(body, '.')) {
            g_set_error(error, MS_PSL_ERROR, MS_PSL_ERROR_PARSE,
                        "%s:%u: \"%s\": an exception needs two labels", source, line, word);
            return NULL;
        }
        if (g_hash_table_add(set, g_strdup(body)))
            psl->size++;
    }
    return g_steal_pointer(&psl);
}

MsPsl *
ms_psl_new_builtin(void)
{
    MsPsl *psl = ms_psl_new_from_data(builtin_list, sizeof builtin_list - 1, "builtin", NULL);
    g_assert(psl);
    return psl;
}

MsPsl *
ms_psl_new_from_file(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) e = NULL;
    if (!g_file_get_contents(path, &text, &len, &e)) {
        g_set_error(error, MS_PSL_ERROR, MS_PSL_ERROR_READ, "%s", e->message);
        return NULL;
    }
    return ms_psl_new_from_data(text, len, path, error);
}

MsPsl *
ms_psl_new_default(void)
{
    if (g_file_test(MS_PSL_SYSTEM_PATH, G_FILE_TEST_EXISTS)) {
        MsPsl *psl = ms_psl_new_from_file(MS_PSL_SYSTEM_PATH, NULL);
        if (psl)
            return psl;
    }
    return ms_psl_new_builtin();
}

void
ms_psl_free(MsPsl *psl)
{
    if (!psl)
        return;
    g_free(psl->source);
    g_hash_table_unref(psl->plain);
    g_hash_table_unref(psl->wildcard);
    g_hash_table_unref(psl->exception);
    g_free(psl);
}

const char *
ms_psl_source(const MsPsl *psl)
{
    g_return_val_if_fail(psl != NULL, NULL);
    return psl->source;
}

guint
ms_psl_size(const MsPsl *psl)
{
    g_return_val_if_fail(psl != NULL, 0);
    return psl->size;
}

/* Lower case, no trailing dot, labels of 1..63 octets, at most 253 in
 * all; NULL when the name is not one. */
static char *
normalise(const char *domain)
{
    if (!domain)
        return NULL;
    g_autofree char *d = g_ascii_strdown(domain, -1);
    gsize len = strlen(d);
    if (len && d[len - 1] == '.')
        d[--len] = 0;
    if (len == 0 || len > 253)
        return NULL;
    gsize label = 0;
    for (gsize i = 0; i <= len; i++) {
        if (i == len || d[i] == '.') {
            if (label == 0 || label > 63)
                return NULL;
            label = 0;
        } else if ((guchar) d[i] <= 0x20 || d[i] == 0x7f) {
            return NULL;
        } else {
            label++;
        }
    }
    return g_steal_pointer(&d);
}

/* How many labels (from the right) of `d` the public suffix has, and the
 * label count of `d`. */
static guint
suffix_labels(const MsPsl *psl, const char *d, guint *n_labels)
{
    /* starts[k]: where the suffix of k+1 labels begins. */
    g_autoptr(GArray) starts = g_array_new(FALSE, FALSE, sizeof(gsize));
    gsize len = strlen(d);
    for (gsize i = len; i > 0; i--)
        if (d[i - 1] == '.')
            g_array_append_val(starts, i);
    gsize zero = 0;
    g_array_append_val(starts, zero);
    guint n = starts->len;
    *n_labels = n;
    guint best = 1; /* the implicit "*" rule */
    for (guint k = 1; k <= n; k++) {
        const char *s = d + g_array_index(starts, gsize, k - 1);
        if (g_hash_table_contains(psl->exception, s))
            return k - 1; /* exceptions prevail */
        if (g_hash_table_contains(psl->plain, s) && k > best)
            best = k;
        if (k >= 2) {
            const char *parent = d + g_array_index(starts, gsize, k - 2);
            if (g_hash_table_contains(psl->wildcard, parent) && k > best)
                best = k;
        }
    }
    return best;
}

static char *
last_labels(const char *d, guint keep, guint n)
{
    const char *p = d;
    for (guint skip = n - keep; skip > 0; skip--)
        p = strchr(p, '.') + 1;
    return g_strdup(p);
}

char *
ms_psl_public_suffix(const MsPsl *psl, const char *domain)
{
    g_return_val_if_fail(psl != NULL, NULL);
    g_autofree char *d = normalise(domain);
    if (!d)
        return NULL;
    guint n;
    guint k = suffix_labels(psl, d, &n);
    return last_labels(d, MIN(k, n), n);
}

char *
ms_psl_organizational_domain(const MsPsl *psl, const char *domain)
{
    g_return_val_if_fail(psl != NULL, NULL);
    g_autofree char *d = normalise(domain);
    if (!d)
        return NULL;
    guint n;
    guint k = suffix_labels(psl, d, &n);
    /* RFC 7489 3.2 step 3: the public suffix and one more label; a name
     * that is itself a public suffix stands for itself. */
    return last_labels(d, MIN(k + 1, n), n);
}

/* SPF (RFC 7208) evaluation, sans I/O: see include/mailsim/spf.h.
 * Placeholder while the evaluator is written: every check ends in
 * permerror at once. */
#include "mailsim/spf.h"

G_DEFINE_QUARK(ms - spf - error - quark, ms_spf_error)

struct _MsSpfCheck {
    char *domain;
};

MsSpfCheck *
ms_spf_check_new(const char *client_ip, const char *sender, const char *helo, GError **error)
{
    (void) client_ip;
    (void) helo;
    (void) error;
    MsSpfCheck *c = g_new0(MsSpfCheck, 1);
    c->domain = g_strdup(sender ? sender : "");
    return c;
}

void
ms_spf_check_free(MsSpfCheck *check)
{
    if (!check)
        return;
    g_free(check->domain);
    g_free(check);
}

void
ms_spf_check_set_receiver(MsSpfCheck *check, const char *receiver, gint64 now)
{
    (void) check;
    (void) receiver;
    (void) now;
}

gboolean
ms_spf_check_next_query(MsSpfCheck *check, const char **name, MsSpfQueryType *type)
{
    (void) check;
    (void) name;
    (void) type;
    return FALSE;
}

void
ms_spf_check_answer(MsSpfCheck *check, MsSpfAnswer answer, const char *const *records,
                    gsize n_records)
{
    (void) check;
    (void) answer;
    (void) records;
    (void) n_records;
}

gboolean
ms_spf_check_done(const MsSpfCheck *check)
{
    (void) check;
    return TRUE;
}

MsSpfResult
ms_spf_check_result(const MsSpfCheck *check)
{
    (void) check;
    return MS_SPF_RESULT_PERMERROR;
}

const char *
ms_spf_check_mechanism(const MsSpfCheck *check)
{
    (void) check;
    return NULL;
}

const char *
ms_spf_check_explanation(const MsSpfCheck *check)
{
    (void) check;
    return "not implemented yet";
}

const char *
ms_spf_check_domain(const MsSpfCheck *check)
{
    return check->domain;
}

gboolean
ms_spf_check_is_helo(const MsSpfCheck *check)
{
    (void) check;
    return FALSE;
}

guint
ms_spf_check_dns_terms(const MsSpfCheck *check)
{
    (void) check;
    return 0;
}

guint
ms_spf_check_void_lookups(const MsSpfCheck *check)
{
    (void) check;
    return 0;
}

guint
ms_spf_check_queries(const MsSpfCheck *check)
{
    (void) check;
    return 0;
}

MsSpfResult
ms_spf_check_run(MsSpfCheck *check, MsSpfLookupFunc lookup, gpointer user_data)
{
    (void) lookup;
    (void) user_data;
    return ms_spf_check_result(check);
}

gboolean
ms_spf_record_is_spf(const char *text)
{
    return text && g_ascii_strncasecmp(text, "v=spf1", 6) == 0 && (text[6] == 0 || text[6] == ' ');
}

gboolean
ms_spf_record_validate(const char *text, guint *dns_terms, GError **error)
{
    (void) text;
    if (dns_terms)
        *dns_terms = 0;
    g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "SPF parsing is not implemented yet");
    return FALSE;
}

char *
ms_spf_macro_expand(const char *macro_string, const MsSpfMacroContext *ctx, gboolean in_exp,
                    GError **error)
{
    (void) macro_string;
    (void) ctx;
    (void) in_exp;
    g_set_error(error, MS_SPF_ERROR, MS_SPF_ERROR_SYNTAX, "SPF macros are not implemented yet");
    return NULL;
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

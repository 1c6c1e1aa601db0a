/* DMARC (RFC 7489): see include/mailsim/dmarc.h. Placeholder while the
 * parser and evaluator are written: no record parses, every lookup ends
 * with no policy. */
#include "mailsim/dmarc.h"

#include <string.h>

G_DEFINE_QUARK(ms - dmarc - error - quark, ms_dmarc_error)

struct _MsDmarcLookup {
    char *from;
};

MsDmarcRecord *
ms_dmarc_record_parse(const char *text, GError **error)
{
    (void) text;
    g_set_error(error, MS_DMARC_ERROR, MS_DMARC_ERROR_INVALID, "not implemented yet");
    return NULL;
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

char *
ms_dmarc_record_to_string(const MsDmarcRecord *record)
{
    (void) record;
    return g_strdup("v=DMARC1");
}

gboolean
ms_dmarc_aligned(const MsPsl *psl, const char *from_domain, const char *auth_domain,
                 MsDmarcAlignment mode)
{
    (void) psl;
    (void) mode;
    return from_domain && auth_domain && *from_domain &&
           g_ascii_strcasecmp(from_domain, auth_domain) == 0;
}

MsDmarcLookup *
ms_dmarc_lookup_new(const char *from_domain, const MsPsl *psl)
{
    (void) psl;
    MsDmarcLookup *l = g_new0(MsDmarcLookup, 1);
    l->from = g_strdup(from_domain);
    return l;
}

void
ms_dmarc_lookup_free(MsDmarcLookup *lookup)
{
    if (!lookup)
        return;
    g_free(lookup->from);
    g_free(lookup);
}

gboolean
ms_dmarc_lookup_next_query(MsDmarcLookup *lookup, const char **name)
{
    (void) lookup;
    (void) name;
    return FALSE;
}

void
ms_dmarc_lookup_answer(MsDmarcLookup *lookup, MsDmarcAnswer answer, const char *const *records,
                       gsize n_records)
{
    (void) lookup;
    (void) answer;
    (void) records;
    (void) n_records;
}

MsDmarcLookupStatus
ms_dmarc_lookup_status(const MsDmarcLookup *lookup)
{
    (void) lookup;
    return MS_DMARC_LOOKUP_NONE;
}

const MsDmarcRecord *
ms_dmarc_lookup_record(const MsDmarcLookup *lookup)
{
    (void) lookup;
    return NULL;
}

const char *
ms_dmarc_lookup_from_domain(const MsDmarcLookup *lookup)
{
    return lookup->from;
}

const char *
ms_dmarc_lookup_org_domain(const MsDmarcLookup *lookup)
{
    return lookup->from;
}

const char *
ms_dmarc_lookup_policy_domain(const MsDmarcLookup *lookup)
{
    (void) lookup;
    return NULL;
}

const char *
ms_dmarc_lookup_explanation(const MsDmarcLookup *lookup)
{
    (void) lookup;
    return "not implemented yet";
}

void
ms_dmarc_evaluate(const MsDmarcRecord *record, gboolean subdomain, const MsPsl *psl,
                  const MsDmarcInput *in, MsDmarcOutcome *out)
{
    (void) record;
    (void) subdomain;
    (void) psl;
    (void) in;
    memset(out, 0, sizeof *out);
    out->reason = g_strdup("not implemented yet");
}

void
ms_dmarc_lookup_evaluate(const MsDmarcLookup *lookup, const MsDmarcInput *in, MsDmarcOutcome *out)
{
    ms_dmarc_evaluate(NULL, FALSE, NULL, in, out);
    (void) lookup;
}

void
ms_dmarc_outcome_clear(MsDmarcOutcome *out)
{
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

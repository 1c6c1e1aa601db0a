/* The Authentication-Results header (RFC 8601): see
 * include/mailsim/auth_results.h. Placeholder while the builder is
 * written: the header always says "none". */
#include "mailsim/auth_results.h"

struct _MsAuthResults {
    char *authserv_id;
};

MsAuthResults *
ms_auth_results_new(const char *authserv_id)
{
    MsAuthResults *ar = g_new0(MsAuthResults, 1);
    ar->authserv_id = g_strdup(authserv_id);
    return ar;
}

void
ms_auth_results_free(MsAuthResults *ar)
{
    if (!ar)
        return;
    g_free(ar->authserv_id);
    g_free(ar);
}

void
ms_auth_results_add(MsAuthResults *ar, const char *method, const char *result, const char *reason)
{
    (void) ar;
    (void) method;
    (void) result;
    (void) reason;
}

void
ms_auth_results_add_property(MsAuthResults *ar, const char *ptype, const char *property,
                             const char *value)
{
    (void) ar;
    (void) ptype;
    (void) property;
    (void) value;
}

void
ms_auth_results_add_spf(MsAuthResults *ar, MsSpfResult result, const char *identity, gboolean helo,
                        const char *reason)
{
    (void) ar;
    (void) result;
    (void) identity;
    (void) helo;
    (void) reason;
}

void
ms_auth_results_add_dkim(MsAuthResults *ar, const char *result, const char *d, const char *s,
                         const char *b, const char *reason)
{
    (void) ar;
    (void) result;
    (void) d;
    (void) s;
    (void) b;
    (void) reason;
}

void
ms_auth_results_add_dmarc(MsAuthResults *ar, MsDmarcResult result, const char *from_domain,
                          const char *reason)
{
    (void) ar;
    (void) result;
    (void) from_domain;
    (void) reason;
}

guint
ms_auth_results_count(const MsAuthResults *ar)
{
    (void) ar;
    return 0;
}

char *
ms_auth_results_to_string(const MsAuthResults *ar)
{
    return g_strdup_printf("Authentication-Results: %s; none", ar->authserv_id);
}

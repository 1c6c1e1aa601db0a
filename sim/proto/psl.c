/* The public suffix list: see include/mailsim/psl.h. Placeholder while
 * the list is written: every name is its own organisational domain. */
#include "mailsim/psl.h"

G_DEFINE_QUARK(ms - psl - error - quark, ms_psl_error)

struct _MsPsl {
    char *source;
};

MsPsl *
ms_psl_new_builtin(void)
{
    MsPsl *psl = g_new0(MsPsl, 1);
    psl->source = g_strdup("builtin");
    return psl;
}

MsPsl *
ms_psl_new_from_data(const char *text, gsize len, const char *source, GError **error)
{
    (void) text;
    (void) len;
    g_set_error(error, MS_PSL_ERROR, MS_PSL_ERROR_PARSE, "%s: not implemented yet", source);
    return NULL;
}

MsPsl *
ms_psl_new_from_file(const char *path, GError **error)
{
    g_set_error(error, MS_PSL_ERROR, MS_PSL_ERROR_READ, "%s: not implemented yet", path);
    return NULL;
}

MsPsl *
ms_psl_new_default(void)
{
    return ms_psl_new_builtin();
}

void
ms_psl_free(MsPsl *psl)
{
    if (!psl)
        return;
    g_free(psl->source);
    g_free(psl);
}

const char *
ms_psl_source(const MsPsl *psl)
{
    return psl->source;
}

guint
ms_psl_size(const MsPsl *psl)
{
    (void) psl;
    return 0;
}

char *
ms_psl_public_suffix(const MsPsl *psl, const char *domain)
{
    (void) psl;
    (void) domain;
    return NULL;
}

char *
ms_psl_organizational_domain(const MsPsl *psl, const char *domain)
{
    (void) psl;
    return domain ? g_ascii_strdown(domain, -1) : NULL;
}

/* Sender authentication at a receiving server (see
 * include/mailsim/mail_auth.h): the per-server settings, the checks made on
 * mail from outside, DKIM signing at a domain's outbound server, and the
 * ledger and counts the expectations and statistics read.
 *
 * Role in the data flow: the SMTP service (mail_smtpd.c) asks here whether
 * a client is on a blocklist before its greeting, and hands each message
 * from outside to the checks before it replies to the end of DATA; the
 * acceptance then stores the message with the Authentication-Results
 * header the checks wrote. */
#include "mail_auth-private.h"

#include <string.h>

/* ---- the state ----------------------------------------------------------- */

MsMailAuth *
ms__auth_get(MsMail *m)
{
    if (!m->auth) {
        MsMailAuth *a = g_new0(MsMailAuth, 1);
        a->servers = g_ptr_array_new();
        a->ledgers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        a->pending = g_ptr_array_new_with_free_func(ms__auth_direct_free);
        m->auth = a;
    }
    return m->auth;
}

MsMailAuthServer *
ms__auth_server(MsMail *m, const MsMailServer *s)
{
    if (!m->auth || s->index >= m->auth->servers->len)
        return NULL;
    return g_ptr_array_index(m->auth->servers, s->index);
}

MsMailAuthLedger *
ms__auth_ledger(MsMail *m, guint32 message)
{
    MsMailAuth *a = ms__auth_get(m);
    MsMailAuthLedger *l = g_hash_table_lookup(a->ledgers, GUINT_TO_POINTER(message));
    if (!l) {
        l = g_new0(MsMailAuthLedger, 1);
        l->where = MS_NO_HOST_ID;
        g_hash_table_insert(a->ledgers, GUINT_TO_POINTER(message), l);
    }
    return l;
}

void
ms_mail_auth_ledger(const MsMail *m, guint32 message, MsMailAuthLedger *out)
{
    g_return_if_fail(m != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->where = MS_NO_HOST_ID;
    const MsMailAuthLedger *l =
        m->auth ? g_hash_table_lookup(m->auth->ledgers, GUINT_TO_POINTER(message)) : NULL;
    if (l)
        *out = *l;
}

void
ms_mail_auth_get_stats(const MsMail *m, MsMailAuthStats *out)
{
    g_return_if_fail(m != NULL && out != NULL);
    if (m->auth)
        *out = m->auth->stats;
    else
        memset(out, 0, sizeof *out);
}

const char *
ms_mail_auth_result_name(guint i)
{
    static const char *const names[] = { "none",    "pass",      "fail",     "softfail",
                                         "neutral", "temperror", "permerror" };
    return i < G_N_ELEMENTS(names) ? names[i] : "?";
}

static void
server_free(gpointer p)
{
    MsMailAuthServer *as = p;
    if (!as)
        return;
    g_strfreev((char **) as->set.dnsbl);
    if (as->aliases)
        g_ptr_array_unref(as->aliases);
    if (as->keys)
        g_ptr_array_unref(as->keys);
    g_free(as);
}

void
ms__auth_free(MsMailAuth *a)
{
    if (!a)
        return;
    for (guint i = 0; i < a->servers->len; i++)
        server_free(g_ptr_array_index(a->servers, i));
    g_ptr_array_unref(a->servers);
    g_hash_table_destroy(a->ledgers);
    g_ptr_array_unref(a->pending);
    if (a->checks && a->checks_free)
        a->checks_free(a->checks);
    g_free(a);
}

MsMailAuthServer *
ms__auth_server_get(MsMail *m, guint server)
{
    MsMailAuth *a = ms__auth_get(m);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    MsMailAuthServer *as = ms__auth_server(m, s);
    if (!as) {
        as = g_new0(MsMailAuthServer, 1);
        if (a->servers->len <= server)
            g_ptr_array_set_size(a->servers, (gint) server + 1);
        g_ptr_array_index(a->servers, server) = as;
    }
    return as;
}

void
ms_mail_auth_configure(MsMail *m, guint server, const MsMailAuthSettings *set)
{
    g_return_if_fail(m != NULL && server < m->servers->len && set != NULL);
    MsMailAuthServer *as = ms__auth_server_get(m, server);
    g_strfreev((char **) as->set.dnsbl);
    as->set = *set;
    as->set.dnsbl =
        set->dnsbl && set->dnsbl[0] ? (const char *const *) g_strdupv((char **) set->dnsbl) : NULL;
}

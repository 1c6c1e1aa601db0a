/* DMARC aggregate reports of a run (RFC 7489 7.2): after the run, the rows
 * the receivers' checks recorded (include/mailsim/mail_auth.h) become one
 * report per (receiver, policy domain), written with the report module
 * (sim/run/dmarc_report.c) into a folder, for every domain whose record
 * asked for them with rua=.
 *
 * Design. The reporting period is the day of the run (the record's ri=
 * is 86400 by default, and lessons run for minutes): begin is the epoch of
 * simulated time (midnight UTC), end a day later. The reporting
 * organisation is the receiver's organisational domain (public suffix
 * list), its contact dmarc-reports@ that domain, and the report id names
 * receiver, domain and period, so a file name and its content are the same
 * in every run of the same scenario. Groups keep the order of their first
 * row (no hash table reaches the output). Costs: O(rows x groups). */
#include "mailsim/world.h"
#include "mailsim/dmarc_report.h"
#include "mailsim/mail_auth.h"
#include "mailsim/psl.h"

#include <string.h>

typedef struct {
    MsHostId receiver;
    const char *policy_domain;
    GArray *rows; /* guint row indices */
} Group;

gboolean
ms_world_write_dmarc_reports(MsWorld *w, const char *dir, guint *n_files, GError **error)
{
    g_return_val_if_fail(w != NULL && dir != NULL, FALSE);
    MsMail *m = ms_world_mail(w);
    MsNet *net = ms_world_net(w);
    guint n = ms_mail_auth_n_report_rows(m);
    g_autoptr(GArray) groups = g_array_new(FALSE, TRUE, sizeof(Group));
    for (guint i = 0; i < n; i++) {
        const MsMailAuthReportRow *r = ms_mail_auth_report_row(m, i);
        Group *g = NULL;
        for (guint k = 0; k < groups->len && !g; k++) {
            Group *x = &g_array_index(groups, Group, k);
            if (x->receiver == r->receiver && strcmp(x->policy_domain, r->policy_domain) == 0)
                g = x;
        }
        if (!g) {
            Group ng = { r->receiver, r->policy_domain, g_array_new(FALSE, FALSE, sizeof(guint)) };
            g_array_append_val(groups, ng);
            g = &g_array_index(groups, Group, groups->len - 1);
        }
        g_array_append_val(g->rows, i);
    }
    g_autoptr(MsPsl) psl = ms_psl_new_default();
    gboolean ok = TRUE;
    guint written = 0;
    for (guint k = 0; k < groups->len; k++) {
        Group *g = &g_array_index(groups, Group, k);
        const MsMailAuthReportRow *first =
            ms_mail_auth_report_row(m, g_array_index(g->rows, guint, 0));
        g_autoptr(GError) perr = NULL;
        g_autoptr(MsDmarcRecord) rec = ms_dmarc_record_parse(first->record, &perr);
        const char *host = ms_net_host_name(net, g->receiver);
        g_autofree char *org = ms_psl_organizational_domain(psl, host);
        const char *rdom = org ? org : host;
        g_autofree char *email = g_strdup_printf("dmarc-reports@%s", rdom);
        gint64 begin = MS_MAIL_EPOCH_UNIX;
        gint64 end = begin + 86400;
        g_autofree char *id =
            g_strdup_printf("%s.%s.%" G_GINT64_FORMAT, rdom, g->policy_domain, begin);
        MsDmarcReportMetadata md = { rdom, email, NULL, id, rdom, begin, end };
        g_autoptr(MsDmarcReport) rep = rec ? ms_dmarc_report_new(&md, rec, g->policy_domain) : NULL;
        for (guint i = 0; rep && i < g->rows->len; i++) {
            const MsMailAuthReportRow *r =
                ms_mail_auth_report_row(m, g_array_index(g->rows, guint, i));
            MsDmarcReportDkim dk[MS_MAIL_AUTH_REPORT_DKIM];
            for (guint d = 0; d < r->n_dkim; d++)
                dk[d] = (MsDmarcReportDkim){ r->dkim_domain[d], r->dkim_selector[d],
                                             r->dkim_result[d], NULL };
            MsDmarcReportRow row = { 0 };
            row.source_ip = r->source_ip;
            row.count = 1;
            row.disposition = (MsDmarcPolicy) r->disposition;
            row.dkim_pass = r->dkim_aligned;
            row.spf_pass = r->spf_aligned;
            row.override = r->sampled_out ? "sampled_out" : NULL;
            row.envelope_to = r->envelope_to;
            row.envelope_from = r->envelope_from;
            row.header_from = r->header_from;
            row.dkim = dk;
            row.n_dkim = r->n_dkim;
            row.spf_domain = r->spf_domain ? r->spf_domain : r->envelope_from;
            row.spf_helo = r->spf_helo;
            row.spf_result = (MsSpfResult) r->spf_result;
            ms_dmarc_report_add(rep, &row);
        }
        if (ok && rep) {
            g_autoptr(GError) werr = NULL;
            if (ms_dmarc_report_write(rep, dir, NULL, &werr)) {
                written++;
            } else {
                g_propagate_error(error, g_steal_pointer(&werr));
                ok = FALSE;
            }
        }
        g_array_unref(g->rows);
    }
    if (n_files)
        *n_files = written;
    return ok;
}

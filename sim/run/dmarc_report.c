/* DMARC aggregate reports (RFC 7489 7.2, Appendix C): see
 * include/mailsim/dmarc_report.h. Placeholder while the writer is
 * written: rows are counted, no XML is produced. */
#include "mailsim/dmarc_report.h"

G_DEFINE_QUARK(ms - dmarc - report - error - quark, ms_dmarc_report_error)

struct _MsDmarcReport {
    guint n_rows;
    guint64 n_messages;
};

MsDmarcReport *
ms_dmarc_report_new(const MsDmarcReportMetadata *metadata, const MsDmarcRecord *record,
                    const char *policy_domain)
{
    (void) metadata;
    (void) record;
    (void) policy_domain;
    return g_new0(MsDmarcReport, 1);
}

void
ms_dmarc_report_free(MsDmarcReport *report)
{
    g_free(report);
}

void
ms_dmarc_report_add_error(MsDmarcReport *report, const char *error)
{
    (void) report;
    (void) error;
}

void
ms_dmarc_report_add(MsDmarcReport *report, const MsDmarcReportRow *row)
{
    report->n_rows++;
    report->n_messages += row->count;
}

guint
ms_dmarc_report_n_rows(const MsDmarcReport *report)
{
    return report->n_rows;
}

guint64
ms_dmarc_report_n_messages(const MsDmarcReport *report)
{
    return report->n_messages;
}

char *
ms_dmarc_report_to_xml(const MsDmarcReport *report, gsize *len, GError **error)
{
    (void) report;
    if (len)
        *len = 0;
    g_set_error(error, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID, "not implemented yet");
    return NULL;
}

char *
ms_dmarc_report_file_name(const MsDmarcReport *report)
{
    (void) report;
    return g_strdup("report.xml");
}

gboolean
ms_dmarc_report_write(const MsDmarcReport *report, const char *dir, char **path, GError **error)
{
    (void) dir;
    if (path)
        *path = NULL;
    return ms_dmarc_report_to_xml(report, NULL, error) != NULL;
}

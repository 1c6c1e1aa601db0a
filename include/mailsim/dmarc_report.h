/* DMARC aggregate reports (RFC 7489 7.2, Appendix C): what one receiver
 * tells a domain, for one reporting period, about the mail it received in
 * that domain's name: which addresses sent it, how many messages, what SPF
 * and DKIM said and what DMARC did with them. The XML follows the RFC's
 * schema (namespace-free, as reports in the wild are), written with
 * libxml2; tests validate it against the schema.
 *
 * The mail layer builds one report per (receiver, policy domain, period):
 * a report is created from its metadata and the DMARC record in force,
 * then given one row per message (or per group of messages it counted
 * itself); rows that are identical but for their count are merged, in the
 * order first seen, so the output does not depend on any hash order. */
#pragma once

#include <glib.h>
#include "mailsim/dmarc.h"
#include "mailsim/spf.h"

G_BEGIN_DECLS

#define MS_DMARC_REPORT_ERROR (ms_dmarc_report_error_quark())
GQuark ms_dmarc_report_error_quark(void);

typedef enum {
    MS_DMARC_REPORT_ERROR_INVALID, /* a row or metadata the schema cannot carry */
    MS_DMARC_REPORT_ERROR_WRITE,   /* the file could not be written */
} MsDmarcReportError;

/* report_metadata (Appendix C ReportMetadataType). Strings are copied. */
typedef struct {
    const char *org_name;           /* the reporting organisation ("isp-b.net") */
    const char *email;              /* its contact address */
    const char *extra_contact_info; /* may be NULL */
    const char *report_id;          /* unique per report */
    const char *receiver_domain;    /* the receiver's domain, for the file name (7.2.1.1) */
    gint64 begin;                   /* the period, seconds since the epoch (UTC) */
    gint64 end;
} MsDmarcReportMetadata;

/* One DKIM signature's result (DKIMAuthResultType). */
typedef struct {
    const char *domain;       /* d= */
    const char *selector;     /* s=, may be NULL */
    const char *result;       /* none, pass, fail, policy, neutral, temperror, permerror */
    const char *human_result; /* may be NULL */
} MsDmarcReportDkim;

/* One row: a message or a group of like messages (RecordType). Strings
 * are copied. */
typedef struct {
    const char *source_ip;         /* the SMTP client, IPv4 or IPv6 text */
    guint count;                   /* messages the row stands for, >= 1 */
    MsDmarcPolicy disposition;     /* what the receiver did (policy_evaluated) */
    gboolean dkim_pass;            /* DKIM passed and aligned (policy_evaluated dkim) */
    gboolean spf_pass;             /* SPF passed and aligned (policy_evaluated spf) */
    const char *override;          /* PolicyOverrideType ("sampled_out", "forwarded",
                                  * "trusted_forwarder", "mailing_list",
                                  * "local_policy", "other") or NULL */
    const char *override_comment;  /* may be NULL */
    const char *envelope_to;       /* recipient domain, may be NULL */
    const char *envelope_from;     /* RFC5321.MailFrom domain ("" for the null sender) */
    const char *header_from;       /* RFC5322.From domain */
    const MsDmarcReportDkim *dkim; /* n_dkim signatures (may be 0) */
    gsize n_dkim;
    const char *spf_domain; /* the domain SPF checked */
    gboolean spf_helo;      /* its scope: TRUE helo, FALSE mfrom */
    MsSpfResult spf_result;
} MsDmarcReportRow;

typedef struct _MsDmarcReport MsDmarcReport;

/* A report with its metadata and the policy published (policy_published:
 * the record's adkim, aspf, p, sp, pct and fo, found at `policy_domain`).
 * Copies what it needs. Returns a new report (caller frees). */
MsDmarcReport *ms_dmarc_report_new(const MsDmarcReportMetadata *metadata,
                                   const MsDmarcRecord *record, const char *policy_domain);
void ms_dmarc_report_free(MsDmarcReport *report);

/* Adds an <error> line to report_metadata (e.g. a record that needed a
 * default). */
void ms_dmarc_report_add_error(MsDmarcReport *report, const char *error);

/* Adds a row, or adds its count to an earlier identical row. */
void ms_dmarc_report_add(MsDmarcReport *report, const MsDmarcReportRow *row);

/* Distinct rows, and messages counted over all rows. */
guint ms_dmarc_report_n_rows(const MsDmarcReport *report);
guint64 ms_dmarc_report_n_messages(const MsDmarcReport *report);

/* The report as an XML document (UTF-8, indented; an IPv6 source_ip is
 * written in full, eight groups, which is the only form the RFC's
 * IPAddress pattern accepts). Returns the text (caller frees) and its
 * length in *len (may be NULL), or NULL with MS_DMARC_REPORT_ERROR_INVALID
 * for a report without rows or a row whose source_ip does not parse. */
char *ms_dmarc_report_to_xml(const MsDmarcReport *report, gsize *len, GError **error);

/* The file name RFC 7489 7.2.1.1 gives a report:
 * "<receiver>!<policy domain>!<begin>!<end>.xml" (caller frees). */
char *ms_dmarc_report_file_name(const MsDmarcReport *report);

/* Writes the report into the folder `dir` (which must exist) under its
 * file name; stores the path in *path when not NULL (caller frees).
 * FALSE with MS_DMARC_REPORT_ERROR_INVALID or _WRITE. */
gboolean ms_dmarc_report_write(const MsDmarcReport *report, const char *dir, char **path,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDmarcReport, ms_dmarc_report_free)

G_END_DECLS

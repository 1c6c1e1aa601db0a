/* DMARC aggregate reports (RFC 7489 7.2 and Appendix C): the XML file a
 * receiver writes, per reporting period and policy domain, from the rows
 * its mail layer hands over; see include/mailsim/dmarc_report.h.
 *
 * Rows are kept in the order first seen, each with its count; a row equal
 * to an earlier one in every field but the count adds to it (found
 * through a hash table keyed by the row's fields, which is only looked up:
 * the output follows the array, never the table). The document is built
 * with libxml2's tree API, which escapes text, and written indented in
 * UTF-8: the elements of Appendix C in the schema's order, namespace-free
 * like the reports real receivers send (the RFC's schema cannot resolve
 * its own types in its target namespace; tests/data/dmarc/ says more).
 * An IPv6 source_ip is written as eight groups, the only form the RFC's
 * IPAddress pattern accepts; an IPv4-mapped address as the IPv4 address
 * SPF checked.
 *
 * This is the one file outside sim/scenario/ that includes libxml2
 * (tools/lint.sh names it): the report is XML by definition and the
 * project already links the library.
 *
 * Cost: O(rows) to add (one hash lookup each) and to write. Ownership: the
 * report copies every string it is given. */
#include "mailsim/dmarc_report.h"

#include <arpa/inet.h>
#include <libxml/tree.h>
#include <string.h>

G_DEFINE_QUARK(ms - dmarc - report - error - quark, ms_dmarc_report_error)

typedef struct {
    char *domain, *selector, *result, *human_result;
} MsDmarcReportDkimRow;

typedef struct {
    char *source_ip;
    guint64 count;
    MsDmarcPolicy disposition;
    gboolean dkim_pass, spf_pass;
    char *override, *override_comment;
    char *envelope_to, *envelope_from, *header_from;
    GArray *dkim; /* MsDmarcReportDkimRow */
    char *spf_domain;
    gboolean spf_helo;
    MsSpfResult spf_result;
} MsDmarcReportEntry;

struct _MsDmarcReport {
    char *org_name, *email, *extra_contact_info, *report_id, *receiver_domain;
    gint64 begin, end;
    GPtrArray *errors; /* char * */
    /* policy_published */
    char *domain;
    MsDmarcAlignment adkim, aspf;
    MsDmarcPolicy p, sp;
    guint pct;
    char *fo;
    GPtrArray *rows;    /* MsDmarcReportEntry *, in the order first seen */
    GHashTable *by_key; /* row key -> MsDmarcReportEntry * (lookups only) */
    guint64 messages;
};

static void
dkim_row_clear(gpointer p)
{
    MsDmarcReportDkimRow *d = p;
    g_free(d->domain);
    g_free(d->selector);
    g_free(d->result);
    g_free(d->human_result);
}

static void
entry_free(gpointer p)
{
    MsDmarcReportEntry *e = p;
    g_free(e->source_ip);
    g_free(e->override);
    g_free(e->override_comment);
    g_free(e->envelope_to);
    g_free(e->envelope_from);
    g_free(e->header_from);
    g_array_unref(e->dkim);
    g_free(e->spf_domain);
    g_free(e);
}

MsDmarcReport *
ms_dmarc_report_new(const MsDmarcReportMetadata *metadata, const MsDmarcRecord *record,
                    const char *policy_domain)
{
    g_return_val_if_fail(metadata != NULL && record != NULL && policy_domain != NULL, NULL);
    MsDmarcReport *r = g_new0(MsDmarcReport, 1);
    r->org_name = g_strdup(metadata->org_name ? metadata->org_name : "");
    r->email = g_strdup(metadata->email ? metadata->email : "");
    r->extra_contact_info = g_strdup(metadata->extra_contact_info);
    r->report_id = g_strdup(metadata->report_id ? metadata->report_id : "");
    r->receiver_domain =
        g_strdup(metadata->receiver_domain ? metadata->receiver_domain : r->org_name);
    r->begin = metadata->begin;
    r->end = metadata->end;
    r->errors = g_ptr_array_new_with_free_func(g_free);
    r->domain = g_strdup(policy_domain);
    r->adkim = record->adkim;
    r->aspf = record->aspf;
    r->p = record->p;
    r->sp = record->sp;
    r->pct = record->pct;
    r->fo = g_strdup(record->fo ? record->fo : "0");
    r->rows = g_ptr_array_new_with_free_func(entry_free);
    r->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return r;
}

void
ms_dmarc_report_free(MsDmarcReport *report)
{
    if (!report)
        return;
    g_free(report->org_name);
    g_free(report->email);
    g_free(report->extra_contact_info);
    g_free(report->report_id);
    g_free(report->receiver_domain);
    g_ptr_array_unref(report->errors);
    g_free(report->domain);
    g_free(report->fo);
    g_ptr_array_unref(report->rows);
    g_hash_table_unref(report->by_key);
    g_free(report);
}

void
ms_dmarc_report_add_error(MsDmarcReport *report, const char *error)
{
    g_return_if_fail(report != NULL && error != NULL);
    g_ptr_array_add(report->errors, g_strdup(error));
}

/* Every field of a row but its count, unambiguously (each string with its
 * length). */
static char *
row_key(const MsDmarcReportRow *row)
{
    GString *k = g_string_new(NULL);
#define KEY_STR(s) g_string_append_printf(k, "%zu:%s|", (s) ? strlen(s) : (gsize) 0, (s) ? (s) : "")
    KEY_STR(row->source_ip);
    g_string_append_printf(k, "%d|%d|%d|%d|%d|", row->disposition, row->dkim_pass, row->spf_pass,
                           row->spf_helo, row->spf_result);
    KEY_STR(row->override);
    KEY_STR(row->override_comment);
    KEY_STR(row->envelope_to);
    KEY_STR(row->envelope_from);
    KEY_STR(row->header_from);
    KEY_STR(row->spf_domain);
    for (gsize i = 0; i < row->n_dkim; i++) {
        KEY_STR(row->dkim[i].domain);
        KEY_STR(row->dkim[i].selector);
        KEY_STR(row->dkim[i].result);
        KEY_STR(row->dkim[i].human_result);
    }
#undef KEY_STR
    return g_string_free(k, FALSE);
}

void
ms_dmarc_report_add(MsDmarcReport *report, const MsDmarcReportRow *row)
{
    g_return_if_fail(report != NULL && row != NULL && row->count >= 1);
    g_autofree char *key = row_key(row);
    MsDmarcReportEntry *e = g_hash_table_lookup(report->by_key, key);
    report->messages += row->count;
    if (e) {
        e->count += row->count;
        return;
    }
    e = g_new0(MsDmarcReportEntry, 1);
    e->source_ip = g_strdup(row->source_ip ? row->source_ip : "");
    e->count = row->count;
    e->disposition = row->disposition;
    e->dkim_pass = row->dkim_pass;
    e->spf_pass = row->spf_pass;
    e->override = g_strdup(row->override);
    e->override_comment = g_strdup(row->override_comment);
    e->envelope_to = g_strdup(row->envelope_to);
    e->envelope_from = g_strdup(row->envelope_from ? row->envelope_from : "");
    e->header_from = g_strdup(row->header_from ? row->header_from : "");
    e->dkim = g_array_new(FALSE, TRUE, sizeof(MsDmarcReportDkimRow));
    g_array_set_clear_func(e->dkim, dkim_row_clear);
    for (gsize i = 0; i < row->n_dkim; i++) {
        MsDmarcReportDkimRow d = {
            g_strdup(row->dkim[i].domain ? row->dkim[i].domain : ""),
            g_strdup(row->dkim[i].selector),
            g_strdup(row->dkim[i].result ? row->dkim[i].result : ""),
            g_strdup(row->dkim[i].human_result),
        };
        g_array_append_val(e->dkim, d);
    }
    e->spf_domain = g_strdup(row->spf_domain ? row->spf_domain : "");
    e->spf_helo = row->spf_helo;
    e->spf_result = row->spf_result;
    g_ptr_array_add(report->rows, e);
    g_hash_table_insert(report->by_key, g_steal_pointer(&key), e);
}

guint
ms_dmarc_report_n_rows(const MsDmarcReport *report)
{
    g_return_val_if_fail(report != NULL, 0);
    return report->rows->len;
}

guint64
ms_dmarc_report_n_messages(const MsDmarcReport *report)
{
    g_return_val_if_fail(report != NULL, 0);
    return report->messages;
}

/* The source_ip as Appendix C's IPAddress pattern takes it, or NULL. */
static char *
schema_ip(const char *text)
{
    guint8 b[16];
    if (inet_pton(AF_INET, text, b) == 1)
        return g_strdup_printf("%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    if (inet_pton(AF_INET6, text, b) != 1)
        return NULL;
    static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(b, mapped, 12) == 0)
        return g_strdup_printf("%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 8; i++)
        g_string_append_printf(s, "%s%x", i ? ":" : "", (b[2 * i] << 8) | b[2 * i + 1]);
    return g_string_free(s, FALSE);
}

static gboolean
one_of(const char *v, const char *const *allowed)
{
    for (guint i = 0; v && allowed[i]; i++)
        if (strcmp(v, allowed[i]) == 0)
            return TRUE;
    return FALSE;
}

static xmlNodePtr
child(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, (const xmlChar *) name, (const xmlChar *) text);
}

static xmlNodePtr
child_int(xmlNodePtr parent, const char *name, gint64 v)
{
    g_autofree char *t = g_strdup_printf("%" G_GINT64_FORMAT, v);
    return child(parent, name, t);
}

static gboolean
add_record(xmlNodePtr feedback, const MsDmarcReportEntry *e, GError **error)
{
    static const char *const overrides[] = {
        "forwarded", "sampled_out", "trusted_forwarder", "mailing_list", "local_policy",
        "other",     NULL
    };
    static const char *const dkim_results[] = { "none",    "pass",      "fail",      "policy",
                                                "neutral", "temperror", "permerror", NULL };
    g_autofree char *ip = schema_ip(e->source_ip);
    if (!ip) {
        g_set_error(error, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID,
                    "source_ip \"%s\" is not an IPv4 or IPv6 address", e->source_ip);
        return FALSE;
    }
    if (e->override && !one_of(e->override, overrides)) {
        g_set_error(error, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID,
                    "\"%s\" is not a PolicyOverrideType (RFC 7489 Appendix C)", e->override);
        return FALSE;
    }
    xmlNodePtr rec = xmlNewChild(feedback, NULL, (const xmlChar *) "record", NULL);
    xmlNodePtr row = xmlNewChild(rec, NULL, (const xmlChar *) "row", NULL);
    child(row, "source_ip", ip);
    child_int(row, "count", (gint64) e->count);
    xmlNodePtr pe = xmlNewChild(row, NULL, (const xmlChar *) "policy_evaluated", NULL);
    child(pe, "disposition", ms_dmarc_policy_to_string(e->disposition));
    child(pe, "dkim", e->dkim_pass ? "pass" : "fail");
    child(pe, "spf", e->spf_pass ? "pass" : "fail");
    if (e->override) {
        xmlNodePtr reason = xmlNewChild(pe, NULL, (const xmlChar *) "reason", NULL);
        child(reason, "type", e->override);
        if (e->override_comment)
            child(reason, "comment", e->override_comment);
    }
    xmlNodePtr ids = xmlNewChild(rec, NULL, (const xmlChar *) "identifiers", NULL);
    if (e->envelope_to)
        child(ids, "envelope_to", e->envelope_to);
    child(ids, "envelope_from", e->envelope_from);
    child(ids, "header_from", e->header_from);
    xmlNodePtr ar = xmlNewChild(rec, NULL, (const xmlChar *) "auth_results", NULL);
    for (guint i = 0; i < e->dkim->len; i++) {
        const MsDmarcReportDkimRow *d = &g_array_index(e->dkim, MsDmarcReportDkimRow, i);
        if (!one_of(d->result, dkim_results)) {
            g_set_error(error, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID,
                        "\"%s\" is not a DKIM result (RFC 7489 Appendix C)", d->result);
            return FALSE;
        }
        xmlNodePtr dk = xmlNewChild(ar, NULL, (const xmlChar *) "dkim", NULL);
        child(dk, "domain", d->domain);
        if (d->selector)
            child(dk, "selector", d->selector);
        child(dk, "result", d->result);
        if (d->human_result)
            child(dk, "human_result", d->human_result);
    }
    xmlNodePtr spf = xmlNewChild(ar, NULL, (const xmlChar *) "spf", NULL);
    child(spf, "domain", e->spf_domain);
    child(spf, "scope", e->spf_helo ? "helo" : "mfrom");
    child(spf, "result", ms_spf_result_to_string(e->spf_result));
    return TRUE;
}

char *
ms_dmarc_report_to_xml(const MsDmarcReport *report, gsize *len, GError **error)
{
    g_return_val_if_fail(report != NULL, NULL);
    if (len)
        *len = 0;
    if (report->rows->len == 0) {
        g_set_error(error, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_INVALID,
                    "a report needs at least one record (RFC 7489 Appendix C)");
        return NULL;
    }
    xmlDocPtr doc = xmlNewDoc((const xmlChar *) "1.0");
    xmlNodePtr feedback = xmlNewNode(NULL, (const xmlChar *) "feedback");
    xmlDocSetRootElement(doc, feedback);
    child(feedback, "version", "1.0");
    xmlNodePtr meta = xmlNewChild(feedback, NULL, (const xmlChar *) "report_metadata", NULL);
    child(meta, "org_name", report->org_name);
    child(meta, "email", report->email);
    if (report->extra_contact_info)
        child(meta, "extra_contact_info", report->extra_contact_info);
    child(meta, "report_id", report->report_id);
    xmlNodePtr range = xmlNewChild(meta, NULL, (const xmlChar *) "date_range", NULL);
    child_int(range, "begin", report->begin);
    child_int(range, "end", report->end);
    for (guint i = 0; i < report->errors->len; i++)
        child(meta, "error", report->errors->pdata[i]);
    xmlNodePtr pp = xmlNewChild(feedback, NULL, (const xmlChar *) "policy_published", NULL);
    child(pp, "domain", report->domain);
    child(pp, "adkim", ms_dmarc_alignment_to_string(report->adkim));
    child(pp, "aspf", ms_dmarc_alignment_to_string(report->aspf));
    child(pp, "p", ms_dmarc_policy_to_string(report->p));
    child(pp, "sp", ms_dmarc_policy_to_string(report->sp));
    child_int(pp, "pct", report->pct);
    child(pp, "fo", report->fo);
    for (guint i = 0; i < report->rows->len; i++)
        if (!add_record(feedback, report->rows->pdata[i], error)) {
            xmlFreeDoc(doc);
            return NULL;
        }
    xmlChar *buf = NULL;
    int n = 0;
    xmlDocDumpFormatMemoryEnc(doc, &buf, &n, "UTF-8", 1);
    xmlFreeDoc(doc);
    char *out = g_strndup((const char *) buf, (gsize) MAX(n, 0));
    xmlFree(buf);
    if (len)
        *len = (gsize) MAX(n, 0);
    return out;
}

char *
ms_dmarc_report_file_name(const MsDmarcReport *report)
{
    g_return_val_if_fail(report != NULL, NULL);
    /* RFC 7489 7.2.1.1: receiver "!" policy-domain "!" begin "!" end ".xml"
     * (the unique-id part is optional and left out). */
    g_autofree char *name =
        g_strdup_printf("%s!%s!%" G_GINT64_FORMAT "!%" G_GINT64_FORMAT ".xml",
                        report->receiver_domain, report->domain, report->begin, report->end);
    g_strdelimit(name, "/\\", '_');
    return g_steal_pointer(&name);
}

gboolean
ms_dmarc_report_write(const MsDmarcReport *report, const char *dir, char **path, GError **error)
{
    g_return_val_if_fail(report != NULL && dir != NULL, FALSE);
    if (path)
        *path = NULL;
    gsize len = 0;
    g_autofree char *xml = ms_dmarc_report_to_xml(report, &len, error);
    if (!xml)
        return FALSE;
    g_autofree char *name = ms_dmarc_report_file_name(report);
    g_autofree char *file = g_build_filename(dir, name, NULL);
    g_autoptr(GError) e = NULL;
    if (!g_file_set_contents(file, xml, (gssize) len, &e)) {
        g_set_error(error, MS_DMARC_REPORT_ERROR, MS_DMARC_REPORT_ERROR_WRITE, "%s", e->message);
        return FALSE;
    }
    if (path)
        *path = g_steal_pointer(&file);
    return TRUE;
}

/* The scenario's TLS defences, read from the file: a zone's <mta-sts>
 * (RFC 8461), which the world turns into the "_mta-sts.<zone>" TXT record
 * and the policy document the zone's domain serves.
 *
 * Design. The real policy is a text file fetched over HTTPS from
 * https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 3.3); a
 * scenario states it with attributes (mode, max-age, mx) and the reader
 * writes it as that file would be written, then runs it and the TXT record
 * through the same parsers a sending MTA uses (include/mailsim/mta_sts.h),
 * so a policy the simulated senders would refuse is refused at load, with
 * the parser's reason on the element's line. Ownership: the zone owns the
 * strings it gets. */
#include "scenario-private.h"

#include "mailsim/mta_sts.h"

#include <string.h>

static const char *const sts_modes[] = { "none", "testing", "enforce", NULL };

void
ms__reader_read_mta_sts(MsScenarioReader *R, xmlNode *n, MsScenarioZone *z)
{
    if (z->sts_line) {
        ms__reader_err(R, n, NULL,
                       "given twice: expected at most one <mta-sts> per zone (the first is on "
                       "line %u)",
                       z->sts_line);
        return;
    }
    z->sts_line = ms__reader_line_of(n);
    const char *id = ms__reader_need(R, n, "id", "the policy's id, 1 to 32 letters and digits");
    if (!ms__reader_attr(R, n, "mode"))
        ms__reader_err(R, n, "mode", "missing: expected enforce, testing or none");
    gint mode = ms__reader_get_enum(R, n, "mode", sts_modes, -1);
    /* RFC 8461 3.2: max_age in seconds, at most 31557600; one day here
     * when absent (the RFC suggests weeks; a lesson runs for hours). */
    guint64 max_age = ms__reader_get_count(R, n, "max-age", 0, MS_MTA_STS_MAX_AGE_LIMIT, 86400);
    const char *mx = ms__reader_attr(R, n, "mx");
    if (mode != MS_MTA_STS_MODE_NONE && (!mx || !*mx))
        ms__reader_err(R, n, "mx",
                       "missing: expected the MX host names or patterns ('*.example.org') "
                       "the policy allows, separated by spaces (RFC 8461 3.2)");
    if (!id || mode < 0)
        return;
    g_autofree char *record = g_strdup_printf("v=STSv1; id=%s", id);
    g_autoptr(GError) err = NULL;
    g_autofree char *parsed_id = ms_mta_sts_record_parse(record, strlen(record), &err);
    if (!parsed_id) {
        ms__reader_err(R, n, "id", "'%s' makes no valid MTA-STS record: %s", id, err->message);
        return;
    }
    GString *doc = g_string_new("version: STSv1\r\n");
    g_string_append_printf(doc, "mode: %s\r\n", sts_modes[mode]);
    g_auto(GStrv) patterns = g_strsplit_set(mx ? mx : "", " \t\n,", -1);
    for (guint i = 0; patterns[i]; i++)
        if (*patterns[i])
            g_string_append_printf(doc, "mx: %s\r\n", patterns[i]);
    g_string_append_printf(doc, "max_age: %" G_GUINT64_FORMAT "\r\n", max_age);
    g_autofree char *text = g_string_free(doc, FALSE);
    g_autoptr(MsMtaStsPolicy) pol = ms_mta_sts_policy_parse(text, strlen(text), "policy", &err);
    if (!pol) {
        ms__reader_err(R, n, "mx", "makes no valid MTA-STS policy: %s", err->message);
        return;
    }
    z->sts_id = g_strdup(id);
    z->sts_policy = g_steal_pointer(&text);
}

/* <tlsa host key-of usage selector matching>: RFC 7672 3.1 recommends
 * DANE-EE(3) SPKI(1) SHA2-256(1), the defaults. The record is made at
 * world build from the certificate the mail server on key-of gets (the
 * world checks that there is one: zones are read before mail servers);
 * the host's name must lie in the zone, where "_25._tcp.<name>" is
 * published. */
void
ms__reader_read_tlsa(MsScenarioReader *R, xmlNode *n, MsScenarioZone *z)
{
    MsScenarioTlsa t = { .line = ms__reader_line_of(n) };
    gint host = ms__reader_get_host(R, n, "host", TRUE);
    gint key_of =
        ms__reader_attr(R, n, "key-of") ? ms__reader_get_host(R, n, "key-of", TRUE) : host;
    t.usage = (guint8) ms__reader_get_count(R, n, "usage", 0, 255, 3);
    t.selector = (guint8) ms__reader_get_count(R, n, "selector", 0, 255, 1);
    t.matching = (guint8) ms__reader_get_count(R, n, "matching", 0, 255, 1);
    if (host < 0 || key_of < 0)
        return;
    const MsScenarioHost *h = ms__reader_host_at(R, host);
    gsize ln = strlen(h->name), lz = strlen(z->name ? z->name : "");
    if (z->name && !(ln > lz && h->name[ln - lz - 1] == '.' &&
                     g_ascii_strcasecmp(h->name + ln - lz, z->name) == 0)) {
        ms__reader_err(R, n, "host",
                       "'%s' is named %s, outside zone '%s': expected a host whose name is in "
                       "the zone",
                       h->id, h->name, z->name);
        return;
    }
    t.host = (guint) host;
    t.key_of = (guint) key_of;
    if (!z->tlsa)
        z->tlsa = g_array_new(FALSE, FALSE, sizeof(MsScenarioTlsa));
    g_array_append_val(z->tlsa, t);
}

/* The scenario's sender authentication, read from the file: TXT records and
 * their typed helpers in a <zone> (<txt>, <spf>, <dmarc>, <dnsbl>), and a
 * <mailserver>'s <dkim> keys, <auth> checks, <list>s and forwarding users.
 *
 * Design. Each helper is written down as the record a zone would publish
 * (SPF, RFC 7208 3; DMARC, RFC 7489 6.3; a DNSBL entry, RFC 5782 2.1) and
 * stored as MS_RECORD_TXT or MS_RECORD_A, so the world builder publishes
 * them like any record and the resolvers cache them like any answer. The
 * reader checks what it can of the shape here (a tag value outside its
 * range is an error on the attribute); whether a record's text parses as
 * its protocol says is left to `mailsim validate` (scenario_warn.c), since a
 * lesson may publish a broken record on purpose. Keys are not made here:
 * the reader records which key the world builder makes (from the seed) or
 * reads the PEM file named by private-key=, relative to the scenario.
 * Ownership: the zone and the mail server own what they get. */
#include "scenario-private.h"
#include "mailsim/input_file.h"

#include <string.h>

/* A DKIM private key file is a few kilobytes at most. */
#define MAX_KEY_FILE (64u * 1024)

static void
add_txt(MsScenarioZone *z, guint line, const char *owner, const char *text)
{
    MsScenarioRecord r = { .line = line, .type = MS_RECORD_TXT, .host = -1, .ttl = z->ttl };
    r.name = g_strdup(owner);
    r.target = g_strdup(text);
    g_array_append_val(z->records, r);
}

/* Is name equal to or below zone ("." holds every name)? */
static gboolean
owner_in_zone(const char *name, const char *zone)
{
    if (strcmp(zone, ".") == 0)
        return TRUE;
    gsize ln = strlen(name), lz = strlen(zone);
    if (ln == lz)
        return strcmp(name, zone) == 0;
    return ln > lz && name[ln - lz - 1] == '.' && strcmp(name + ln - lz, zone) == 0;
}

/* The owner of a TXT-like element: name= (a name in the zone) or the apex,
 * with `prefix` ("_dmarc.") put before it. NULL after an error. */
static char *
owner_of(MsScenarioReader *R, xmlNode *n, const MsScenarioZone *z, const char *prefix)
{
    const char *v = ms__reader_attr(R, n, "name");
    g_autofree char *base = NULL;
    if (v) {
        /* "_dmarc" and "_domainkey" labels are not host names: check the
         * rest as one. */
        const char *host = v;
        while (*host == '_') {
            const char *dot = strchr(host, '.');
            if (!dot)
                break;
            host = dot + 1;
        }
        g_autofree char *h = ms__reader_get_hostname(R, n, "name", host);
        if (!h)
            return NULL;
        g_autofree char *labels = g_ascii_strdown(v, host - v);
        base = host == v ? g_steal_pointer(&h) : g_strconcat(labels, h, NULL);
        if (!owner_in_zone(base, z->name)) {
            ms__reader_err(R, n, "name", "'%s' is outside zone '%s': expected a name in the zone",
                           base, z->name);
            return NULL;
        }
    } else {
        base = g_strdup(z->name);
    }
    return g_strconcat(prefix, base, NULL);
}

/* <txt name= value=> or <txt name=>text</txt> */
static void
read_txt(MsScenarioReader *R, xmlNode *n, MsScenarioZone *z)
{
    g_autofree char *owner = owner_of(R, n, z, "");
    const char *v = ms__reader_attr(R, n, "value");
    g_autofree char *text = NULL;
    if (v) {
        text = g_strdup(v);
    } else {
        xmlChar *t = xmlNodeGetContent(n);
        text = g_strstrip(g_strdup(t ? (const char *) t : ""));
        if (t)
            xmlFree(t);
    }
    if (owner)
        add_txt(z, ms__reader_line_of(n), owner, text);
}

/* <spf>v=spf1 ...</spf>, or <spf ip4= a= mx= include= redirect= all=>:
 * the record of RFC 7208 4.6 written from the attributes in that order. */
static void
read_spf(MsScenarioReader *R, xmlNode *n, MsScenarioZone *z)
{
    g_autofree char *owner = owner_of(R, n, z, "");
    xmlChar *t = xmlNodeGetContent(n);
    g_autofree char *body = g_strstrip(g_strdup(t ? (const char *) t : ""));
    if (t)
        xmlFree(t);
    static const char *const mechs[] = { "ip4", "a", "mx", "include" };
    gboolean attrs = FALSE;
    for (guint i = 0; i < G_N_ELEMENTS(mechs); i++)
        attrs |= ms__reader_attr(R, n, mechs[i]) != NULL;
    attrs |= ms__reader_attr(R, n, "all") || ms__reader_attr(R, n, "redirect");
    if (*body && attrs) {
        ms__reader_err(R, n, NULL,
                       "both a record text and attributes: expected one of them, e.g. "
                       "<spf>v=spf1 mx -all</spf> or <spf mx=\"yes\" all=\"-all\"/>");
        return;
    }
    g_autofree char *text = NULL;
    if (*body) {
        text = g_steal_pointer(&body);
    } else {
        GString *s = g_string_new("v=spf1");
        for (guint i = 0; i < G_N_ELEMENTS(mechs); i++) {
            const char *v = ms__reader_attr(R, n, mechs[i]);
            if (!v)
                continue;
            if ((i == 1 || i == 2) && (strcmp(v, "yes") == 0 || *v == '\0')) {
                g_string_append_printf(s, " %s", mechs[i]); /* the domain's own a / mx */
                continue;
            }
            if ((i == 1 || i == 2) && strcmp(v, "no") == 0)
                continue;
            g_auto(GStrv) parts = g_strsplit_set(v, ", \t\r\n", -1);
            for (char **p = parts; *p; p++)
                if (**p)
                    g_string_append_printf(s, " %s:%s", mechs[i], *p);
        }
        const char *redirect = ms__reader_attr(R, n, "redirect");
        if (redirect)
            g_string_append_printf(s, " redirect=%s", redirect);
        static const char *const alls[] = { "-all", "~all", "?all", "+all", NULL };
        const char *all = ms__reader_attr(R, n, "all");
        if (all) {
            gint k = ms__reader_get_enum(R, n, "all", alls, -1);
            if (k >= 0)
                g_string_append_printf(s, " %s", alls[k]);
        } else if (!redirect) {
            g_string_append(s, " -all");
        }
        text = g_string_free(s, FALSE);
    }
    if (owner)
        add_txt(z, ms__reader_line_of(n), owner, text);
}

/* <dmarc p= sp= adkim= aspf= pct= rua=>: "_dmarc.<zone>" (RFC 7489 6.3). */
static void
read_dmarc(MsScenarioReader *R, xmlNode *n, MsScenarioZone *z)
{
    static const char *const policies[] = { "none", "quarantine", "reject", NULL };
    static const char *const modes[] = { "r", "s", NULL };
    g_autofree char *owner = owner_of(R, n, z, "_dmarc.");
    if (!ms__reader_attr(R, n, "p"))
        ms__reader_err(R, n, "p", "missing: expected none, quarantine or reject (RFC 7489 6.3)");
    gint p = ms__reader_get_enum(R, n, "p", policies, 0);
    GString *s = g_string_new("v=DMARC1; p=");
    g_string_append(s, policies[MAX(p, 0)]);
    if (ms__reader_attr(R, n, "sp"))
        g_string_append_printf(s, "; sp=%s",
                               policies[MAX(ms__reader_get_enum(R, n, "sp", policies, 0), 0)]);
    if (ms__reader_attr(R, n, "adkim"))
        g_string_append_printf(s, "; adkim=%s",
                               modes[MAX(ms__reader_get_enum(R, n, "adkim", modes, 0), 0)]);
    if (ms__reader_attr(R, n, "aspf"))
        g_string_append_printf(s, "; aspf=%s",
                               modes[MAX(ms__reader_get_enum(R, n, "aspf", modes, 0), 0)]);
    if (ms__reader_attr(R, n, "pct"))
        g_string_append_printf(s, "; pct=%" G_GUINT64_FORMAT,
                               ms__reader_get_count(R, n, "pct", 0, 100, 100));
    const char *rua = ms__reader_attr(R, n, "rua");
    if (rua) {
        /* RFC 7489 6.2: a mailto: URI; a bare address is taken as one. */
        const char *addr = g_str_has_prefix(rua, "mailto:") ? rua + 7 : rua;
        const char *why;
        if (!ms__scenario_check_email(addr, &why))
            ms__reader_err(R, n, "rua", "'%s' is not a report address: %s", rua, why);
        else
            g_string_append_printf(s, "; rua=mailto:%s", addr);
    }
    g_autofree char *text = g_string_free(s, FALSE);
    if (owner)
        add_txt(z, ms__reader_line_of(n), owner, text);
}

/* <dnsbl addresses= text=> in a DNSBL's zone: each address listed as RFC
 * 5782 2.1 says, "<d.c.b.a>.<zone>" A 127.0.0.2 with a TXT saying why. */
static void
read_dnsbl(MsScenarioReader *R, xmlNode *n, MsScenarioZone *z)
{
    const char *list = ms__reader_need(R, n, "addresses", "IPv4 addresses the list names");
    const char *why_text = ms__reader_attr(R, n, "text");
    if (!list)
        return;
    g_auto(GStrv) parts = g_strsplit_set(list, ", \t\r\n", -1);
    for (char **p = parts; *p; p++) {
        if (!**p)
            continue;
        guint32 a;
        const char *why;
        if (!ms__scenario_parse_ipv4(*p, &a, &why)) {
            ms__reader_err(R, n, "addresses", "'%s' is not valid: %s", *p, why);
            continue;
        }
        g_autofree char *owner =
            g_strdup_printf("%u.%u.%u.%u%s%s", a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff, a >> 24,
                            strcmp(z->name, ".") ? "." : "", strcmp(z->name, ".") ? z->name : "");
        MsScenarioRecord r = { .line = ms__reader_line_of(n), .type = MS_RECORD_A, .host = -1 };
        r.ttl = z->ttl;
        r.name = g_strdup(owner);
        r.address = 0x7f000002; /* RFC 5782 2.1: 127.0.0.2 says "listed" */
        g_array_append_val(z->records, r);
        g_autofree char *text =
            why_text ? g_strdup(why_text) : g_strdup_printf("%s is listed in %s", *p, z->name);
        add_txt(z, ms__reader_line_of(n), owner, text);
    }
}

gboolean
ms__reader_read_zone_auth(MsScenarioReader *R, xmlNode *c, MsScenarioZone *z)
{
    if (ms__reader_is(c, "txt"))
        read_txt(R, c, z);
    else if (ms__reader_is(c, "spf"))
        read_spf(R, c, z);
    else if (ms__reader_is(c, "dmarc"))
        read_dmarc(R, c, z);
    else if (ms__reader_is(c, "dnsbl"))
        read_dnsbl(R, c, z);
    else
        return FALSE;
    return TRUE;
}

static void
read_dkim(MsScenarioReader *R, xmlNode *n, MsScenarioMailserver *m)
{
    static const char *const keys[] = { "rsa", "ed25519", NULL };
    MsScenarioDkim k = { .line = ms__reader_line_of(n) };
    const char *sel = ms__reader_need(R, n, "selector", "a selector, e.g. s2026");
    if (sel) {
        /* RFC 6376 3.1: a selector is one or more dot-separated labels */
        g_autofree char *probe = ms__reader_get_hostname(R, n, "selector", sel);
        k.selector = g_steal_pointer(&probe);
    }
    k.key = (MsScenarioDkimKey) ms__reader_get_enum(R, n, "key", keys, MS_SCENARIO_DKIM_RSA);
    static const char *const yesno[] = { "yes", "no", NULL };
    k.publish = ms__reader_get_enum(R, n, "publish", yesno, 0) == 0;
    const char *dom = ms__reader_attr(R, n, "domain");
    if (dom)
        k.domain = ms__reader_get_hostname(R, n, "domain", dom);
    else if (m->domains->len > 0)
        k.domain = g_strdup(g_ptr_array_index(m->domains, 0));
    else
        ms__reader_err(R, n, "domain",
                       "missing: this server has no domains, expected the domain it signs for");
    const char *path = ms__reader_attr(R, n, "private-key");
    if (path) {
        k.key_path = g_strdup(path);
        g_autofree char *dir = g_path_get_dirname(R->sc->path ? R->sc->path : ".");
        g_autofree char *full =
            g_path_is_absolute(path) ? g_strdup(path) : g_build_filename(dir, path, NULL);
        g_autoptr(GError) err = NULL;
        gsize len = 0;
        if (!ms_input_file_read(full, MAX_KEY_FILE, "a PEM private key", MS_SCENARIO_ERROR,
                                MS_SCENARIO_ERROR_IO, &k.key_pem, &len, &err))
            ms__reader_err(R, n, "private-key", "%s", err->message);
    }
    for (guint i = 0; m->dkim && i < m->dkim->len; i++) {
        const MsScenarioDkim *o = &g_array_index(m->dkim, MsScenarioDkim, i);
        if (k.domain && o->domain && strcmp(o->domain, k.domain) == 0)
            ms__reader_err(R, n, "domain",
                           "this server already signs for '%s' (line %u): expected one key per "
                           "domain",
                           k.domain, o->line);
    }
    if (!k.selector || !k.domain) {
        g_free(k.selector);
        g_free(k.domain);
        g_free(k.key_path);
        g_free(k.key_pem);
        return;
    }
    g_array_append_val(m->dkim, k);
}

static void
read_auth(MsScenarioReader *R, xmlNode *n, MsScenarioMailserver *m)
{
    MsScenarioAuth *a = &m->auth;
    if (a->line) {
        ms__reader_err(R, n, NULL,
                       "given twice: expected at most one <auth> (the first is on line %u)",
                       a->line);
        return;
    }
    static const char *const onoff[] = { "off", "on", NULL };
    static const char *const ats[] = { "connect", "rcpt", NULL };
    a->line = ms__reader_line_of(n);
    a->spf = ms__reader_get_enum(R, n, "spf", onoff, 0) == 1;
    a->dkim = ms__reader_get_enum(R, n, "dkim", onoff, 0) == 1;
    a->dmarc = ms__reader_get_enum(R, n, "dmarc", onoff, 0) == 1;
    a->sender_login_match = ms__reader_get_enum(R, n, "sender-login-match", onoff, 0) == 1;
    a->dnsbl_at_rcpt = ms__reader_get_enum(R, n, "dnsbl-at", ats, 0) == 1;
    const char *bl = ms__reader_attr(R, n, "dnsbl");
    if (bl) {
        g_auto(GStrv) parts = g_strsplit_set(bl, ", \t\r\n", -1);
        for (char **p = parts; *p; p++) {
            if (!**p)
                continue;
            char *z = ms__reader_get_hostname(R, n, "dnsbl", *p);
            if (z)
                g_ptr_array_add(a->dnsbl, z);
        }
    }
}

static void
read_list(MsScenarioReader *R, xmlNode *n, MsScenarioMailserver *m)
{
    MsScenarioList l = { .line = ms__reader_line_of(n) };
    const char *name = ms__reader_need(R, n, "name", "the list's local part, e.g. staff");
    const char *members = ms__reader_need(R, n, "members", "the members' addresses");
    if (!name || !members)
        return;
    g_autofree char *probe = g_strdup_printf("%s@example.com", name);
    const char *why;
    if (!ms__scenario_check_email(probe, &why)) {
        ms__reader_err(R, n, "name", "'%s' is not a valid local part: %s", name, why);
        return;
    }
    if (m->domains->len == 0) {
        ms__reader_err(R, n, NULL, "this server has no domains: expected domains= for the list");
        return;
    }
    if (ms__reader_find_user(m, name) >= 0) {
        ms__reader_err(R, n, "name", "'%s' is also a <user> of this server: expected one of them",
                       name);
        return;
    }
    l.members = ms__reader_get_address_list(R, n, "members", members);
    if (l.members->len == 0)
        ms__reader_err(R, n, "members", "no member: expected at least one address");
    const char *tag = ms__reader_attr(R, n, "subject-tag");
    l.subject_tag = tag ? g_strdup(tag) : g_strdup_printf("[%s] ", name);
    const char *footer = ms__reader_attr(R, n, "footer");
    l.footer = g_strdup(footer ? footer : "");
    l.name = g_ascii_strdown(name, -1);
    g_array_append_val(m->lists, l);
}

gboolean
ms__reader_read_server_auth(MsScenarioReader *R, xmlNode *c, MsScenarioMailserver *m)
{
    if (ms__reader_is(c, "dkim"))
        read_dkim(R, c, m);
    else if (ms__reader_is(c, "auth"))
        read_auth(R, c, m);
    else if (ms__reader_is(c, "list"))
        read_list(R, c, m);
    else
        return FALSE;
    return TRUE;
}

void
ms__scenario_auth_free(MsScenarioMailserver *m)
{
    for (guint i = 0; m->dkim && i < m->dkim->len; i++) {
        MsScenarioDkim *k = &g_array_index(m->dkim, MsScenarioDkim, i);
        g_free(k->domain);
        g_free(k->selector);
        g_free(k->key_path);
        g_free(k->key_pem);
    }
    if (m->dkim)
        g_array_free(m->dkim, TRUE);
    for (guint i = 0; m->lists && i < m->lists->len; i++) {
        MsScenarioList *l = &g_array_index(m->lists, MsScenarioList, i);
        g_free(l->name);
        g_ptr_array_unref(l->members);
        g_free(l->subject_tag);
        g_free(l->footer);
    }
    if (m->lists)
        g_array_free(m->lists, TRUE);
    if (m->auth.dnsbl)
        g_ptr_array_unref(m->auth.dnsbl);
}

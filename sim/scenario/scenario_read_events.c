/* The reader's phases for what happens during a run (see
 * sim/scenario/scenario_read.c for the design): messages, POP3 checks,
 * stochastic workloads, faults, expectations and outputs. They run after
 * hosts, links, zones, mail servers and clients are read, so every name they
 * use resolves to an index. */
#include "scenario-private.h"
#include "mailsim/units.h"

#include <math.h>
#include <string.h>

static gint
find_client_by_host_attr(MsScenarioReader *R, xmlNode *n, const char *name, gboolean required)
{
    gint h = ms__reader_get_host(R, n, name, required);
    if (h < 0)
        return -1;
    if (ms__reader_host_at(R, h)->client < 0) {
        ms__reader_err(R, n, name, "host '%s' has no <client>: expected a host with a <client>",
                       ms__reader_host_at(R, h)->id);
        return -1;
    }
    return ms__reader_host_at(R, h)->client;
}

void
ms__reader_read_message(MsScenarioReader *R, xmlNode *n)
{
    MsScenarioMessage m = { .line = ms__reader_line_of(n) };
    const char *why;
    const char *id = ms__reader_need(R, n, "id", "a unique id, e.g. m1");
    if (id && !ms__scenario_check_id(id, &why)) {
        ms__reader_err(R, n, "id", "'%s' is not a valid id: %s", id, why);
        id = NULL;
    }
    if (id && g_hash_table_contains(R->message_ids, id)) {
        ms__reader_err(R, n, "id", "duplicate message id '%s'", id);
        id = NULL;
    }
    const char *from = ms__reader_need(R, n, "from", "the sender's e-mail address");
    m.from = from ? ms__reader_email_norm(R, n, "from", from) : NULL;
    const char *to = ms__reader_need(R, n, "to", "one or more recipient addresses");
    m.to = ms__reader_get_address_list(R, n, "to", to);
    m.cc = ms__reader_get_address_list(R, n, "cc", ms__reader_attr(R, n, "cc"));
    if (to && m.to->len == 0 && strspn(to, ", \t\r\n") == strlen(to))
        ms__reader_err(R, n, "to", "no recipient: expected at least one e-mail address");
    const char *subject = ms__reader_attr(R, n, "subject");
    m.subject = g_strdup(subject ? subject : "");
    m.at = ms__reader_get_time(R, n, "at", 0);
    ms__reader_check_time_in_run(R, n, "at", m.at);
    m.size = ms__reader_get_size(R, n, "size", 0);
    xmlChar *body = xmlNodeGetContent(n);
    if (body) {
        char *b = g_strstrip(g_strdup((const char *) body));
        if (*b)
            m.body = b;
        else
            g_free(b);
        xmlFree(body);
    }
    gint client = -1;
    m.via_server = -1;
    const char *mail_from = ms__reader_attr(R, n, "mail-from");
    if (ms__reader_attr(R, n, "via")) {
        /* A host that sends with its own MTA, straight to the recipients'
         * MX: nobody checks what it writes in From: or MAIL FROM. */
        gint h = ms__reader_get_host(R, n, "via", TRUE);
        if (h >= 0 && ms__reader_host_at(R, h)->mailserver < 0)
            ms__reader_err(R, n, "via",
                           "host '%s' has no <mailserver>: expected a host that runs its own "
                           "mail server (an MTA sends the message)",
                           ms__reader_host_at(R, h)->id);
        else if (h >= 0)
            m.via_server = ms__reader_host_at(R, h)->mailserver;
        if (ms__reader_attr(R, n, "client"))
            ms__reader_err(R, n, "client", "both via= and client= given: expected one of them");
        if (mail_from && *mail_from)
            m.mail_from = ms__reader_email_norm(R, n, "mail-from", mail_from);
        else if (mail_from) /* the null reverse path, RFC 5321 4.5.5 */
            m.mail_from = g_strdup("");
        client = m.via_server >= 0 ? 0 : -1;
    } else if (mail_from) {
        ms__reader_err(R, n, "mail-from",
                       "only a message sent via= a host's own MTA sets its envelope sender: "
                       "expected via= as well");
    }
    if (m.via_server >= 0) {
        /* sent by an MTA: no client */
    } else if (ms__reader_attr(R, n, "client")) {
        /* client= names the sender: its From: may claim another address
         * (the submission server may refuse it: <auth sender-login-match>) */
        client = find_client_by_host_attr(R, n, "client", FALSE);
    } else if (m.from) {
        guint matches = 0;
        for (guint i = 0; i < R->sc->clients->len; i++)
            if (strcmp(g_array_index(R->sc->clients, MsScenarioClient, i).user, m.from) == 0) {
                if (matches++ == 0)
                    client = (gint) i;
            }
        if (matches == 0)
            ms__reader_err(R, n, "from",
                           "'%s' is not the user of any <client>: expected the address of a "
                           "client that sends it",
                           m.from);
        else if (matches > 1) {
            ms__reader_err(R, n, "from",
                           "'%s' is the user of %u clients: expected client= to say which sends it",
                           m.from, matches);
            client = -1;
        }
    }
    if (!id || !m.from || client < 0 || m.to->len == 0) {
        g_free(m.from);
        g_free(m.mail_from);
        g_ptr_array_unref(m.to);
        g_ptr_array_unref(m.cc);
        g_free(m.subject);
        g_free(m.body);
        return;
    }
    m.sender_client = (guint) client;
    m.id = g_strdup(id);
    g_array_append_val(R->sc->messages, m);
    g_hash_table_insert(R->message_ids, m.id, GINT_TO_POINTER((gint) R->sc->messages->len));
}

static gint
get_message(MsScenarioReader *R, xmlNode *n, gboolean required)
{
    const char *v = required ? ms__reader_need(R, n, "message", "the id of a <message>")
                             : ms__reader_attr(R, n, "message");
    if (!v)
        return -1;
    gpointer p = g_hash_table_lookup(R->message_ids, v);
    if (!p) {
        g_autoptr(GPtrArray) ids = g_ptr_array_new();
        for (guint i = 0; i < R->sc->messages->len; i++)
            g_ptr_array_add(ids, g_array_index(R->sc->messages, MsScenarioMessage, i).id);
        g_autofree char *h =
            ms__reader_hint(ms__scenario_closest((const char *const *) ids->pdata, ids->len, v));
        ms__reader_err(R, n, "message", "unknown message '%s': expected the id of a <message>%s", v,
                       h);
        return -1;
    }
    return GPOINTER_TO_INT(p) - 1;
}

void
ms__reader_read_check(MsScenarioReader *R, xmlNode *n)
{
    MsScenarioCheck c = { .line = ms__reader_line_of(n) };
    gint client = find_client_by_host_attr(R, n, "client", TRUE);
    if (!ms__reader_attr(R, n, "at"))
        ms__reader_err(R, n, "at", "missing: expected a time, e.g. 30s");
    c.at = ms__reader_get_time(R, n, "at", 0);
    ms__reader_check_time_in_run(R, n, "at", c.at);
    if (client < 0)
        return;
    c.client = (guint) client;
    g_array_append_val(R->sc->checks, c);
}

/* "120/h": messages per unit of time. */
static gboolean
parse_msg_rate(const char *v, double *per_s)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {
        { "s", 1 },
        { "min", 60 },
        { "h", 3600 },
        { "d", 86400 },
    };
    const char *slash = strchr(v, '/');
    if (!slash)
        return FALSE;
    g_autofree char *num = g_strndup(v, (gsize) (slash - v));
    double x;
    if (!ms__reader_parse_number(num, &x) || !(x > 0))
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(units); i++)
        if (strcmp(slash + 1, units[i].unit) == 0) {
            *per_s = x / units[i].seconds;
            return TRUE;
        }
    return FALSE;
}

/* "2KiB" | "fixed:2KiB" | "lognormal:mu=8,sigma=1" | "exponential:mean=4KiB" */
static gboolean
parse_size_dist(const char *v, MsWorkloadSpec *w)
{
    guint64 bytes;
    if (g_str_has_prefix(v, "fixed:"))
        v += 6;
    if (ms_units_parse_size(v, &bytes, NULL)) {
        w->size_dist = MS_WORKLOAD_SIZE_FIXED;
        w->size_a = (double) bytes;
        return bytes > 0;
    }
    if (g_str_has_prefix(v, "exponential:mean=")) {
        if (!ms_units_parse_size(v + 17, &bytes, NULL) || bytes == 0)
            return FALSE;
        w->size_dist = MS_WORKLOAD_SIZE_EXPONENTIAL;
        w->size_a = (double) bytes;
        return TRUE;
    }
    if (g_str_has_prefix(v, "lognormal:mu=")) {
        const char *p = v + 13;
        const char *comma = strstr(p, ",sigma=");
        if (!comma)
            return FALSE;
        g_autofree char *mu = g_strndup(p, (gsize) (comma - p));
        double m, s;
        if (!ms__reader_parse_number(mu, &m) || !ms__reader_parse_number(comma + 7, &s) ||
            !(s > 0) || m < 0 || m > 40)
            return FALSE;
        w->size_dist = MS_WORKLOAD_SIZE_LOGNORMAL;
        w->size_a = m;
        w->size_b = s;
        return TRUE;
    }
    return FALSE;
}

void
ms__reader_read_workload(MsScenarioReader *R, xmlNode *n)
{
    MsWorkloadSpec w = { .line = ms__reader_line_of(n), .from_server = -1, .to_server = -1 };
    const char *from = ms__reader_need(R, n, "from", "a sender domain served by a <mailserver>");
    const char *to = ms__reader_need(R, n, "to", "a recipient domain");
    w.from = from ? ms__reader_get_hostname(R, n, "from", from) : NULL;
    /* to="*": a random domain of the world for each message */
    w.to = to ? (strcmp(to, "*") == 0 ? g_strdup("*") : ms__reader_get_hostname(R, n, "to", to))
              : NULL;
    if (w.from) {
        w.from_server = ms__reader_domain_server(R, w.from);
        if (w.from_server < 0)
            ms__reader_err(R, n, "from",
                           "no mailserver serves domain '%s': expected a domain listed in a "
                           "<mailserver domains=...>",
                           w.from);
    }
    if (w.to && strcmp(w.to, "*") != 0)
        w.to_server = ms__reader_domain_server(R, w.to);
    w.start = ms__reader_get_time(R, n, "start", 0);
    ms__reader_check_time_in_run(R, n, "start", w.start);
    w.end = ms__reader_get_time(R, n, "end", R->sc->until);
    if (w.end == MS_TIME_INFINITE && !ms__reader_attr(R, n, "end"))
        ms__reader_err(R, n, "end",
                       "missing, and the scenario has no until=: expected an end time");
    else if (w.end <= w.start)
        ms__reader_err(R, n, "end", "not after start: expected end > start");
    const char *rate = ms__reader_need(R, n, "rate", "messages per time, e.g. 120/h");
    if (rate && !parse_msg_rate(rate, &w.rate_per_s))
        ms__reader_err(R, n, "rate",
                       "'%s' is not a message rate: expected a number > 0, '/', and s, min, h "
                       "or d, e.g. 120/h",
                       rate);
    w.size_dist = MS_WORKLOAD_SIZE_FIXED;
    w.size_a = 2048;
    const char *size = ms__reader_attr(R, n, "size");
    if (size && !parse_size_dist(size, &w))
        ms__reader_err(R, n, "size",
                       "'%s' is not a size distribution: expected a size (2KiB), "
                       "fixed:SIZE, exponential:mean=SIZE or lognormal:mu=M,sigma=S",
                       size);
    if (!w.from || !w.to) {
        g_free(w.from);
        g_free(w.to);
        return;
    }
    g_array_append_val(R->sc->workloads, w);
}

static const char *const fault_names[] = { "host-down",    "link-down",      "loss", "dns-down",
                                           "mailbox-full", "strip-starttls", NULL };

static gint
find_link(MsScenarioReader *R, gint a, gint b)
{
    for (guint i = 0; i < R->sc->links->len; i++) {
        const MsScenarioLink *l = &g_array_index(R->sc->links, MsScenarioLink, i);
        if (((gint) l->a == a && (gint) l->b == b) || ((gint) l->a == b && (gint) l->b == a))
            return (gint) i;
    }
    return -1;
}

void
ms__reader_read_fault(MsScenarioReader *R, xmlNode *n)
{
    MsScenarioFault f = {
        .line = ms__reader_line_of(n), .host = -1, .link = -1, .mailserver = -1, .user = -1
    };
    if (!ms__reader_attr(R, n, "kind")) {
        ms__reader_err(R, n, "kind",
                       "missing: expected host-down, link-down, loss, dns-down, mailbox-full or "
                       "strip-starttls");
        return;
    }
    gint kind = ms__reader_get_enum(R, n, "kind", fault_names, -1);
    const char *target = ms__reader_need(R, n, "target", "what fails");
    if (!ms__reader_attr(R, n, "at"))
        ms__reader_err(R, n, "at", "missing: expected when the fault starts, e.g. 10s");
    f.at = ms__reader_get_time(R, n, "at", 0);
    ms__reader_check_time_in_run(R, n, "at", f.at);
    f.duration = ms__reader_get_time(R, n, "duration", MS_TIME_INFINITE);
    if (f.duration == 0)
        ms__reader_err(R, n, "duration",
                       "0 is not allowed: expected a time > 0, or no duration for a "
                       "fault that lasts to the end");
    if (kind < 0 || !target)
        return;
    f.kind = (MsFaultKind) kind;
    gboolean ok = TRUE;
    if (ms__reader_attr(R, n, "reply")) {
        if (f.kind != MS_FAULT_STRIP_STARTTLS)
            ms__reader_err(R, n, "reply", "only a strip-starttls fault answers STARTTLS");
        f.reply = (guint16) ms__reader_get_count(R, n, "reply", 400, 599, 454);
    }
    if (f.kind == MS_FAULT_STRIP_STARTTLS && !strchr(target, '~')) {
        /* An attacker in a router (or any host on the path). */
        f.host = ms__reader_find_host(R, target);
        if (f.host < 0) {
            g_autofree char *hh = ms__reader_host_hint(R, target);
            ms__reader_err(R, n, "target",
                           "unknown host '%s': expected the id of a <host> or a link HOST~HOST%s",
                           target, hh);
            return;
        }
        f.target = g_strdup(target);
        g_array_append_val(R->sc->faults, f);
        return;
    }
    switch (f.kind) {
    case MS_FAULT_HOST_DOWN:
    case MS_FAULT_DNS_DOWN:
        f.host = ms__reader_find_host(R, target);
        if (f.host < 0) {
            g_autofree char *hh = ms__reader_host_hint(R, target);
            ms__reader_err(R, n, "target", "unknown host '%s': expected the id of a <host>%s",
                           target, hh);
            ok = FALSE;
        } else if (f.kind == MS_FAULT_DNS_DOWN &&
                   ms__reader_host_at(R, f.host)->role != MS_HOST_DNS) {
            ms__reader_err(R, n, "target", "host '%s' has role %s: expected a dns host", target,
                           ms_host_role_to_string(ms__reader_host_at(R, f.host)->role));
            ok = FALSE;
        }
        break;
    case MS_FAULT_STRIP_STARTTLS: /* on a link: read as link-down's target */
    case MS_FAULT_LINK_DOWN:
    case MS_FAULT_LOSS: {
        const char *tilde = strchr(target, '~');
        g_autofree char *a = tilde ? g_strndup(target, (gsize) (tilde - target)) : NULL;
        gint ha = a ? ms__reader_find_host(R, a) : -1,
             hb = tilde ? ms__reader_find_host(R, tilde + 1) : -1;
        if (!tilde) {
            ms__reader_err(R, n, "target", "'%s' is not a link: expected HOST~HOST, e.g. r1~r2",
                           target);
            ok = FALSE;
        } else if (ha < 0 || hb < 0) {
            g_autofree char *hh = ms__reader_host_hint(R, ha < 0 ? a : tilde + 1);
            ms__reader_err(R, n, "target", "unknown host '%s': expected the id of a <host>%s",
                           ha < 0 ? a : tilde + 1, hh);
            ok = FALSE;
        } else if ((f.link = find_link(R, ha, hb)) < 0) {
            ms__reader_err(R, n, "target",
                           "no link between '%s' and '%s': expected the ends of a <link>", a,
                           tilde + 1);
            ok = FALSE;
        }
        if (f.kind == MS_FAULT_LOSS) {
            if (!ms__reader_attr(R, n, "rate"))
                ms__reader_err(R, n, "rate",
                               "missing: a loss fault needs the loss probability, 0 to 1");
            f.rate = ms__reader_get_fraction(R, n, "rate", 0.0);
        }
        break;
    }
    case MS_FAULT_MAILBOX_FULL: {
        const char *why;
        g_autofree char *e = NULL;
        if (!ms__scenario_check_email(target, &why)) {
            ms__reader_err(R, n, "target", "'%s' is not a mailbox: %s", target, why);
            ok = FALSE;
        } else if (!ms__reader_find_mailbox(R, (e = ms__reader_email_norm(R, n, "target", target)),
                                            &f.mailserver, &f.user)) {
            ms__reader_err(R, n, "target",
                           "unknown user '%s': expected a <user> of the mailserver of its domain",
                           e);
            ok = FALSE;
        }
        break;
    }
    }
    if (!ok)
        return;
    f.target = g_strdup(target);
    g_array_append_val(R->sc->faults, f);
}

static const char *const expect_names[] = {
    "delivered",  "bounced",      "dsn",       "received-headers", "attempts",
    "retrieved",  "no-loss",      "encrypted", "login-encrypted",  "no-clear-password",
    "clear-hops", "tls-deferred", "seen",      "not-seen",         "auth",
    "quarantined",  NULL
};

void
ms__reader_read_expect(MsScenarioReader *R, xmlNode *n)
{
    MsScenarioExpect e = {
        .line = ms__reader_line_of(n), .message = -1, .client = -1, .count = -1, .at_host = -1
    };
    if (!ms__reader_attr(R, n, "kind")) {
        ms__reader_err(R, n, "kind",
                       "missing: expected one of delivered, bounced, dsn, received-headers, "
                       "attempts, retrieved, no-loss, encrypted, login-encrypted, "
                       "no-clear-password, clear-hops, tls-deferred, seen, not-seen, auth, "
                       "quarantined");
        return;
    }
    gint kind = ms__reader_get_enum(R, n, "kind", expect_names, -1);
    if (kind < 0)
        return;
    e.kind = (MsExpectKind) kind;
    if (e.kind >= MS_EXPECT_ENCRYPTED && e.kind <= MS_EXPECT_TLS_DEFERRED && !R->sc->tls)
        ms__reader_err(R, n, "kind",
                       "'%s' checks TLS, but this world speaks none: expected no "
                       "tls=\"false\" on <scenario>",
                       expect_names[kind]);
    gboolean need_msg = e.kind != MS_EXPECT_DSN && e.kind != MS_EXPECT_NO_LOSS &&
                        e.kind != MS_EXPECT_LOGIN_ENCRYPTED &&
                        e.kind != MS_EXPECT_NO_CLEAR_PASSWORD;
    e.message = get_message(R, n, need_msg);
    const char *to = (e.kind == MS_EXPECT_DSN)
                         ? ms__reader_need(R, n, "to", "the address that receives the DSN")
                         : ms__reader_attr(R, n, "to");
    if (e.kind == MS_EXPECT_RECEIVED_HEADERS && !to)
        ms__reader_err(R, n, "to", "missing: expected the recipient whose copy is counted");
    if (to) {
        e.to = ms__reader_email_norm(R, n, "to", to);
        if (e.to && e.message >= 0 && e.kind != MS_EXPECT_DSN) {
            const MsScenarioMessage *m =
                &g_array_index(R->sc->messages, MsScenarioMessage, e.message);
            gboolean found = FALSE;
            for (guint i = 0; i < m->to->len && !found; i++)
                found = strcmp(m->to->pdata[i], e.to) == 0;
            for (guint i = 0; i < m->cc->len && !found; i++)
                found = strcmp(m->cc->pdata[i], e.to) == 0;
            if (!found)
                ms__reader_err(R, n, "to",
                               "'%s' is not a recipient of message '%s': expected one of its to/cc "
                               "addresses",
                               e.to, m->id);
        }
    }
    e.within = ms__reader_get_time(R, n, "within", MS_TIME_INFINITE);
    const char *status = ms__reader_attr(R, n, "status");
    if (status) {
        const char *why;
        if (!ms__scenario_check_status(status, &why))
            ms__reader_err(R, n, "status", "'%s' is not valid: %s", status, why);
        else if (e.kind == MS_EXPECT_BOUNCED && status[0] == '2')
            ms__reader_err(R, n, "status",
                           "a bounce has a 4.x.x or 5.x.x status, not '%s' (RFC 3464 2.3.4)",
                           status);
        else
            e.status = g_strdup(status);
    }
    gboolean need_count = e.kind == MS_EXPECT_RECEIVED_HEADERS || e.kind == MS_EXPECT_ATTEMPTS;
    if (need_count && !ms__reader_attr(R, n, "count"))
        ms__reader_err(R, n, "count", "missing: expected a number");
    if (ms__reader_attr(R, n, "count"))
        e.count = (gint64) ms__reader_get_count(R, n, "count", 0, 1000000, 0);
    if (e.kind == MS_EXPECT_AUTH) {
        static const char *const checks[] = { "spf", "dkim", "dmarc", "dnsbl", NULL };
        if (!ms__reader_attr(R, n, "check"))
            ms__reader_err(R, n, "check", "missing: expected spf, dkim, dmarc or dnsbl");
        gint c = ms__reader_get_enum(R, n, "check", checks, -1);
        /* RFC 8601 2.7: the result words of each method */
        static const char *const results[] = { "pass",   "fail",      "softfail",  "neutral",
                                               "none",   "temperror", "permerror", "policy",
                                               "listed", NULL };
        if (!ms__reader_attr(R, n, "result"))
            ms__reader_err(R, n, "result",
                           "missing: expected pass, fail, softfail, neutral, none, temperror, "
                           "permerror, policy or listed (RFC 8601 2.7)");
        gint r = ms__reader_get_enum(R, n, "result", results, -1);
        if (c >= 0)
            e.check = g_strdup(checks[c]);
        if (r >= 0)
            e.result = g_strdup(results[r]);
        const char *at = ms__reader_attr(R, n, "at");
        if (at) {
            e.at_host = ms__reader_find_host(R, at);
            if (e.at_host < 0)
                ms__reader_err(R, n, "at", "no host '%s': expected the id of a mail server", at);
        }
    } else if (ms__reader_attr(R, n, "at")) {
        ms__reader_err(R, n, "at", "only kind=\"auth\" names the server whose checks count");
    }
    if (e.kind == MS_EXPECT_RETRIEVED || e.kind == MS_EXPECT_SEEN || e.kind == MS_EXPECT_NOT_SEEN)
        e.client = find_client_by_host_attr(R, n, "client", TRUE);
    else if (ms__reader_attr(R, n, "client"))
        e.client = find_client_by_host_attr(R, n, "client", FALSE);
    g_array_append_val(R->sc->expects, e);
}

void
ms__reader_read_output(MsScenarioReader *R, xmlNode *n)
{
    MsScenarioOutput o = { .line = ms__reader_line_of(n) };
    const char *t = ms__reader_attr(R, n, "trace"), *p = ms__reader_attr(R, n, "pcap"),
               *s = ms__reader_attr(R, n, "stats");
    if (!t && !p && !s)
        ms__reader_err(R, n, NULL, "names no file: expected trace=, pcap= or stats=");
    o.trace = t && *t ? g_strdup(t) : NULL;
    o.pcap = p && *p ? g_strdup(p) : NULL;
    o.stats = s && *s ? g_strdup(s) : NULL;
    g_array_append_val(R->sc->outputs, o);
}

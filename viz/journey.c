/* The journey of one message (include/mailsim/viz_journey.h): reads the
 * recorded trace of a run and the mail layer's records and lists the steps
 * the hop diagram, the sequence chart and the story page number.
 *
 * Design: steps are found from protocol facts, not from the narration's
 * wording. An SMTP hand-off is a 2xx reply a server sends, tagged with the
 * message, right after it received the lone "." that ends DATA (RFC 5321
 * 4.1.1.4: the reply to the end of data is the acceptance of
 * responsibility); it is a submission when the sender is a client host. A
 * DNS step is one query line the resolver host sends for the message,
 * paired with the next answer line from the same server. The store, the
 * POP3 download and a bounce come from the recipient records (done_at,
 * where, retrieved_at, retrieved_by). A failed try is a connection of the
 * message that ended otherwise than closed (timed out, refused, reset);
 * the tries of one host to one peer make one step, at the first, that
 * counts them. A refused session is an SMTP session of the message in
 * which the server answered 4xx or 5xx and never accepted the data. Steps
 * are sorted by time, then by the order of the trace records they come
 * from (causal), then by kind, so a store follows the hand-off it belongs
 * to and a backup MX's own DNS query follows the hand-off to it.
 *
 * A sender-check step is each check the mail layer's ledger holds for the
 * message (SPF, DKIM, DMARC, a DNSBL listing: ms_mail_auth_ledger_nth), at
 * the checking server when its verdict came; the DNS questions that
 * server asked up to the verdict are marked with the check that asked
 * them (by the name asked: _dmarc., ._domainkey., a reversed address
 * under a blocklist, else SPF) and listed as the check step's lines.
 *
 * The protocol lines of an SMTP or POP3 step are those sent between the
 * two hosts from the TCP connect before the step to the close after it.
 * The message's notes ("what really happens") become the aside of the
 * first later step taken by the host they are about.
 *
 * Costs: one pass over the records, plus a bounded scan back and forth per
 * hand-off. Ownership: the journey owns its steps and their strings. */
#include "mailsim/viz_journey.h"
#include "mailsim/mail_auth.h"
#include "mailsim/viz.h"

#include <stdlib.h>
#include <string.h>

static void
line_clear(gpointer p)
{
    MsVizLine *l = p;
    g_free(l->proto);
    g_free(l->text);
}

static void
step_clear(gpointer p)
{
    MsVizStep *s = p;
    g_free(s->title);
    g_free(s->detail);
    g_free(s->aside);
    g_free(s->results);
    if (s->lines)
        g_array_free(s->lines, TRUE);
}

void
ms_viz_journey_free(MsVizJourney *j)
{
    if (!j)
        return;
    g_array_free(j->steps, TRUE);
    g_free(j->label);
    g_free(j->subject);
    g_free(j);
}

static MsVizStep *
add_step(MsVizJourney *j, MsVizStepKind kind, MsTime at, MsHostId from, MsHostId to, guint order)
{
    MsVizStep s = { 0 };
    s.kind = kind;
    s.order = order;
    s.at = at;
    s.from = from;
    s.to = to;
    s.lines = g_array_new(FALSE, TRUE, sizeof(MsVizLine));
    g_array_set_clear_func(s.lines, line_clear);
    g_array_append_val(j->steps, s);
    return &g_array_index(j->steps, MsVizStep, j->steps->len - 1);
}

static void
add_line(MsVizStep *s, const MsRecord *r)
{
    MsVizLine l = { r->at, r->host, r->peer, g_strdup(r->proto ? r->proto : ""),
                    g_strdup(r->text ? r->text : "") };
    g_array_append_val(s->lines, l);
}

static gboolean
is_line(const MsRecord *r, const char *proto)
{
    return r->kind == MS_TRACE_PROTO_LINE && r->proto && strcmp(r->proto, proto) == 0 && r->text;
}

/* The last line `host` received from `peer` before index i, or NULL. */
static const MsRecord *
last_received(const MsRecorder *rec, guint i, MsHostId host, MsHostId peer, const char *proto)
{
    for (guint k = i; k-- > 0;) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (is_line(r, proto) && !r->outgoing && r->host == host && r->peer == peer)
            return r;
    }
    return NULL;
}

/* Adds to `s` the lines sent either way between client and server during
 * the TCP connection around record index i. */
static void
session_lines(const MsRecorder *rec, guint i, MsHostId client, MsHostId server, const char *proto,
              MsVizStep *s)
{
    guint n = ms_recorder_len(rec);
    guint start = 0, end = n;
    for (guint k = MIN(i + 1, n); k-- > 0;) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (r->kind == MS_TRACE_TCP_CONNECT && r->host == client && r->peer == server) {
            start = k;
            break;
        }
    }
    for (guint k = i; k < n; k++) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (r->kind == MS_TRACE_TCP_CLOSE && r->host == client && r->peer == server) {
            end = k + 1;
            break;
        }
        /* an IMAP session in IDLE lasts on: the step ends where the client
         * goes back to waiting (RFC 2177) */
        if (strcmp(proto, "imap") == 0 && is_line(r, proto) && r->outgoing && r->host == client &&
            r->peer == server && g_str_has_suffix(r->text, " IDLE")) {
            end = k + 1;
            break;
        }
    }
    for (guint k = start; k < end; k++) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (is_line(r, proto) && r->outgoing &&
            ((r->host == client && r->peer == server) || (r->host == server && r->peer == client)))
            add_line(s, r);
    }
    /* Inside TLS or not, from protocol facts: the implicit-TLS ports
     * (RFC 8314 3.3: 465 submissions, 995 POP3S), or the client's
     * STARTTLS (RFC 3207 4) / STLS (RFC 2595 4) answered 220 / +OK. */
    s->session = TRUE;
    s->tls_from = s->lines->len;
    const MsRecord *c = ms_recorder_get(rec, start);
    if (c && c->kind == MS_TRACE_TCP_CONNECT && c->text &&
        (g_str_has_suffix(c->text, "port 465") || g_str_has_suffix(c->text, "port 995") ||
         g_str_has_suffix(c->text, "port 993"))) {
        s->tls = s->implicit_tls = TRUE;
        s->tls_from = 0;
        return;
    }
    gboolean imap = strcmp(proto, "imap") == 0;
    const char *cmd = strcmp(proto, "pop3") == 0 ? "STLS" : "STARTTLS";
    const char *yes = strcmp(proto, "pop3") == 0 ? "+OK" : "220";
    for (guint k = 0; k + 1 < s->lines->len; k++) {
        const MsVizLine *l = &g_array_index(s->lines, MsVizLine, k);
        /* IMAP: "<tag> STARTTLS" answered "<tag> OK" (RFC 9051 6.2.1) */
        const char *sp = imap ? strchr(l->text, ' ') : NULL;
        if (l->from != client || g_ascii_strcasecmp(sp ? sp + 1 : l->text, cmd) != 0)
            continue;
        const MsVizLine *reply = &g_array_index(s->lines, MsVizLine, k + 1);
        const char *rsp = imap ? strchr(reply->text, ' ') : NULL;
        if (imap)
            yes = "OK";
        if (reply->from == server && g_str_has_prefix(rsp ? rsp + 1 : reply->text, yes)) {
            s->tls = TRUE;
            s->tls_from = k + 2;
        }
        break;
    }
}

/* A step for the SMTP session that the message's connect at record index
 * i opened, when the server refused the message in it: a 4xx or 5xx reply
 * (RFC 5321 4.2.1: 4yz transient, 5yz permanent) and no 2xx reply to the
 * "." that ends DATA (RFC 5321 4.1.1.4), which would be a hand-off. The
 * server's lines are not tagged with the message: they are found by the
 * two hosts, between the client's connect and its close. */
static void
add_rejected(MsVizJourney *j, MsNet *net, const MsRecorder *rec, guint i)
{
    const MsRecord *c = ms_recorder_get(rec, i);
    MsHostId client = c->host, server = c->peer;
    const MsRecord *refusal = NULL;
    guint at = i;
    gboolean after_dot = FALSE;
    for (guint k = i + 1; k < ms_recorder_len(rec); k++) {
        const MsRecord *r = ms_recorder_get(rec, k);
        if (r->kind == MS_TRACE_TCP_CLOSE && r->host == client && r->peer == server)
            break;
        if (!is_line(r, "smtp") || r->host != server || r->peer != client)
            continue;
        if (!r->outgoing) {
            after_dot = strcmp(r->text, ".") == 0;
            continue;
        }
        if (after_dot && r->text[0] == '2')
            return; /* accepted: a hand-off, not a refusal */
        if (!refusal && (r->text[0] == '4' || r->text[0] == '5')) {
            refusal = r;
            at = k;
        }
    }
    if (!refusal)
        return;
    MsVizStep *s = add_step(j, MS_VIZ_STEP_REJECTED, refusal->at, client, server, at);
    s->title = g_strdup_printf("refused (%.3s)", refusal->text);
    s->detail = g_strdup_printf("%s offers the message to %s, which refuses it: \"%s\"",
                                ms_net_host_name(net, client), ms_net_host_name(net, server),
                                refusal->text);
    session_lines(rec, at, client, server, "smtp", s);
}

/* The notes of the message ("what really happens" asides) go to the step
 * they explain: the first step after the note, in trace order, taken by
 * the host the note is about (the resolver's DNS query, the server's
 * connection), else the first step after it at all. */
static void
attach_asides(MsVizJourney *j, const MsRecorder *rec)
{
    for (guint i = 0; i < ms_recorder_len(rec); i++) {
        const MsRecord *r = ms_recorder_get(rec, i);
        if (r->kind != MS_TRACE_NOTE || r->message != j->message || !r->text)
            continue;
        MsVizStep *to = NULL, *next = NULL;
        for (guint k = 0; k < j->steps->len && !to; k++) {
            MsVizStep *s = &g_array_index(j->steps, MsVizStep, k);
            if (s->order <= i || s->order == G_MAXUINT)
                continue;
            if (!next)
                next = s;
            if (s->from == r->host)
                to = s;
        }
        to = to ? to : next;
        if (!to)
            continue;
        char *joined = to->aside ? g_strconcat(to->aside, " ", r->text, NULL) : g_strdup(r->text);
        g_free(to->aside);
        to->aside = joined;
    }
}

/* The check a DNS question was for, from its name (RFC 7489 6.1: DMARC at
 * "_dmarc."; RFC 6376 3.6.2.1: keys under "._domainkey."; RFC 5782 2.1: a
 * blocklist asks the client's address reversed, four numeric labels, when
 * the server consulted one); SPF asks everything else (RFC 7208 4: the
 * domain's TXT, then what its mechanisms name). `text` is the query line,
 * "query TYPE NAME?". */
static const char *
check_of_query(const char *text, gboolean dnsbl)
{
    const char *name = strchr(text, ' ');
    name = name ? strchr(name + 1, ' ') : NULL;
    if (!name)
        return "SPF";
    name++;
    if (g_str_has_prefix(name, "_dmarc."))
        return "DMARC";
    if (strstr(name, "._domainkey."))
        return "DKIM";
    if (dnsbl && g_str_has_prefix(text, "query A ")) {
        guint labels = 0;
        const char *p = name;
        for (; labels < 4; labels++) {
            const char *dot = strchr(p, '.');
            if (!dot || dot == p)
                break;
            for (const char *q = p; q < dot; q++)
                if (!g_ascii_isdigit(*q))
                    dot = NULL;
            if (!dot)
                break;
            p = dot + 1;
        }
        if (labels == 4)
            return "DNSBL";
    }
    return "SPF";
}

/* A step for each time a server checked who sent the message (the mail
 * layer's ledger: SPF, DKIM, DMARC, a DNSBL listing), just before what
 * else happened at that instant (the verdict comes before the reply it
 * decides); the DNS questions that server asked between the message's
 * arrival and the verdict are marked with the check that asked them. */
static void
add_checks(MsVizJourney *j, MsNet *net, MsMail *mail, const MsRecorder *rec)
{
    guint n = ms_mail_auth_n_ledgers(mail, j->message);
    for (guint i = 0; i < n; i++) {
        MsMailAuthLedger l;
        if (!ms_mail_auth_ledger_nth(mail, j->message, i, &l) || l.where == MS_HOST_WORLD)
            continue;
        guint first = ms_recorder_first_at(rec, l.at);
        MsVizStep *s =
            add_step(j, MS_VIZ_STEP_CHECK, l.at, l.where, l.where, first ? first - 1 : 0);
        GString *res = g_string_new(NULL);
        static const char *const names[] = { "DNSBL", "SPF", "DKIM", "DMARC" };
        const char *words[] = { l.dnsbl, l.spf, l.dkim, l.dmarc };
        for (guint k = 0; k < G_N_ELEMENTS(names); k++)
            if (*words[k])
                g_string_append_printf(res, "%s%s %s", res->len ? " \u00b7 " : "", names[k],
                                       words[k]);
        s->results = g_string_free(res, FALSE);
        s->outcome = *l.dnsbl && strcmp(l.dnsbl, "listed") == 0 ? MS_VIZ_CHECK_REFUSED
                     : l.action == MS_MAIL_AUTH_REJECT          ? MS_VIZ_CHECK_REFUSED
                     : l.action == MS_MAIL_AUTH_QUARANTINE      ? MS_VIZ_CHECK_QUARANTINED
                                                                : MS_VIZ_CHECK_ACCEPTED;
        const char *does = *l.dnsbl && strcmp(l.dnsbl, "listed") == 0
                               ? "a blocklist lists the sending server: it refuses it (554 5.7.1)"
                           : l.action == MS_MAIL_AUTH_REJECT
                               ? "DMARC failed under p=reject: it refuses the message (550 5.7.1)"
                           : l.action == MS_MAIL_AUTH_QUARANTINE
                               ? "DMARC failed under p=quarantine: the message goes into Junk"
                               : "it takes the message in";
        s->title = g_strdup("sender checks");
        s->detail = g_strdup_printf("%s checks who sent the message: %s; %s",
                                    ms_net_host_name(net, l.where), s->results, does);
    }
    /* Each DNS question of a checking server goes to the earliest check it
     * made at or after the question: a server asks for its own next hop
     * only after its verdict. */
    for (guint k = 0; k < j->steps->len; k++) {
        MsVizStep *d = &g_array_index(j->steps, MsVizStep, k);
        if (d->kind != MS_VIZ_STEP_DNS || d->lines->len == 0)
            continue;
        MsVizStep *check = NULL;
        for (guint c = 0; c < j->steps->len; c++) {
            MsVizStep *x = &g_array_index(j->steps, MsVizStep, c);
            if (x->kind == MS_VIZ_STEP_CHECK && x->from == d->from && x->at >= d->at &&
                (!check || x->at < check->at))
                check = x;
        }
        if (!check)
            continue;
        d->asked_for = check_of_query(g_array_index(d->lines, MsVizLine, 0).text,
                                      strstr(check->results, "DNSBL") != NULL);
        g_free(d->title);
        d->title = g_strdup_printf("DNS query (%s)", d->asked_for);
        char *more = g_strdup_printf("For its %s check, %s", d->asked_for, d->detail);
        g_free(d->detail);
        d->detail = more;
        /* the check's step lists the questions it asked (the story shows them) */
        for (guint i = 0; i < d->lines->len; i++) {
            const MsVizLine *l = &g_array_index(d->lines, MsVizLine, i);
            MsVizLine copy = { l->at, l->from, l->to, g_strdup(l->proto), g_strdup(l->text) };
            g_array_append_val(check->lines, copy);
        }
    }
}

static int
step_cmp(const void *a, const void *b)
{
    const MsVizStep *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    /* equal times: the order of the trace, which is causal (a backup MX
     * accepts the message, then asks DNS where it goes next); outcomes read
     * from the records after the steps of the trace, the hand-off before
     * the store, the store before the download */
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    if (x->kind != y->kind)
        return (int) x->kind - (int) y->kind;
    return 0;
}

MsVizJourney *
ms_viz_journey_new(MsNet *net, MsMail *mail, const MsRecorder *rec, guint32 message)
{
    g_return_val_if_fail(net && mail && rec, NULL);
    const MsMessageRecord *m = ms_mail_message(mail, message);
    g_return_val_if_fail(m != NULL, NULL);
    MsVizJourney *j = g_new0(MsVizJourney, 1);
    j->message = message;
    j->label = g_strdup(m->label);
    j->subject = g_strdup(m->subject ? m->subject : "");
    j->steps = g_array_new(FALSE, TRUE, sizeof(MsVizStep));
    g_array_set_clear_func(j->steps, step_clear);

    guint n = ms_recorder_len(rec);
    /* failed tries so far: (from, to) and their step */
    typedef struct {
        MsHostId from, to;
        guint step, count;
    } Tries;
    g_autoptr(GArray) tries = g_array_new(FALSE, FALSE, sizeof(Tries));
    for (guint i = 0; i < n; i++) {
        const MsRecord *r = ms_recorder_get(rec, i);
        if (r->message == message && r->kind == MS_TRACE_TCP_CLOSE && r->text &&
            r->peer != MS_HOST_WORLD && r->host != r->peer &&
            !g_str_has_suffix(r->text, ": closed")) {
            const char *why = g_strrstr(r->text, ": ");
            why = why ? why + 2 : r->text;
            Tries *t = NULL;
            for (guint k = 0; k < tries->len && !t; k++)
                if (g_array_index(tries, Tries, k).from == r->host &&
                    g_array_index(tries, Tries, k).to == r->peer)
                    t = &g_array_index(tries, Tries, k);
            if (t) {
                MsVizStep *s = &g_array_index(j->steps, MsVizStep, t->step);
                g_autofree char *when = ms_viz_time_label(r->at);
                t->count++;
                g_free(s->title);
                s->title = g_strdup_printf("%u failed tries", t->count);
                char *more = g_strdup_printf("%s; again at %s: %s", s->detail, when, why);
                g_free(s->detail);
                s->detail = more;
                continue;
            }
            MsVizStep *s = add_step(j, MS_VIZ_STEP_FAILED, r->at, r->host, r->peer, i);
            s->title = g_strdup("failed try");
            s->detail = g_strdup_printf("%s cannot reach %s: %s", ms_net_host_name(net, r->host),
                                        ms_net_host_name(net, r->peer), why);
            Tries fresh = { r->host, r->peer, j->steps->len - 1, 1 };
            g_array_append_val(tries, fresh);
            continue;
        }
        if (r->message == message && r->kind == MS_TRACE_TCP_CONNECT && r->peer != MS_HOST_WORLD &&
            r->host != r->peer) {
            add_rejected(j, net, rec, i);
            continue;
        }
        if (r->message != message || r->kind != MS_TRACE_PROTO_LINE || !r->text || !r->proto)
            continue;
        if (strcmp(r->proto, "smtp") == 0 && r->outgoing && r->text[0] == '2') {
            const MsRecord *prev = last_received(rec, i, r->host, r->peer, "smtp");
            if (!prev || strcmp(prev->text, ".") != 0)
                continue;
            gboolean submit = ms_net_host_role(net, r->peer) == MS_ROLE_CLIENT;
            MsVizStep *s = add_step(j, submit ? MS_VIZ_STEP_SUBMIT : MS_VIZ_STEP_SMTP, r->at,
                                    r->peer, r->host, i);
            s->title = g_strdup(submit ? "submission (SMTP)" : "SMTP hand-off");
            s->detail = g_strdup_printf(
                "%s %s the message to %s, which answers \"%s\"", ms_net_host_name(net, r->peer),
                submit ? "submits" : "passes", ms_net_host_name(net, r->host), r->text);
            session_lines(rec, i, r->peer, r->host, "smtp", s);
        } else if (strcmp(r->proto, "dns") == 0 && r->outgoing) {
            MsVizStep *s = add_step(j, MS_VIZ_STEP_DNS, r->at, r->host, r->peer, i);
            s->title = g_strdup("DNS query");
            add_line(s, r);
            const char *answer = "no answer";
            for (guint k = i + 1; k < n; k++) {
                const MsRecord *a = ms_recorder_get(rec, k);
                if (is_line(a, "dns") && !a->outgoing && a->host == r->host && a->peer == r->peer) {
                    /* the answer travels from the server to the asking host */
                    MsVizLine l = { a->at, a->peer, a->host, g_strdup("dns"), g_strdup(a->text) };
                    g_array_append_val(s->lines, l);
                    answer = a->text;
                    break;
                }
                if (is_line(a, "dns") && a->outgoing && a->host == r->host && a->peer == r->peer)
                    break; /* asked again first: a retry after a timeout */
            }
            s->detail = g_strdup_printf("%s asks %s \"%s\"; %s", ms_net_host_name(net, r->host),
                                        ms_net_host_name(net, r->peer), r->text, answer);
        }
    }
    for (guint k = 0; k < m->rcpts->len; k++) {
        const MsRcptRecord *rr = &g_array_index(m->rcpts, MsRcptRecord, k);
        if (rr->state == MS_RCPT_DELIVERED && rr->where != MS_HOST_WORLD) {
            MsVizStep *s =
                add_step(j, MS_VIZ_STEP_STORE, rr->done_at, rr->where, rr->where, G_MAXUINT);
            s->title = g_strdup("mailbox store");
            s->detail = g_strdup_printf("%s stores it in the mailbox of %s",
                                        ms_net_host_name(net, rr->where), rr->address);
        } else if (rr->state == MS_RCPT_BOUNCED && rr->where != MS_HOST_WORLD) {
            MsVizStep *s =
                add_step(j, MS_VIZ_STEP_BOUNCE, rr->done_at, rr->where, rr->where, G_MAXUINT);
            s->title = g_strdup("bounce");
            s->detail = g_strdup_printf("%s gives up on %s: %s", ms_net_host_name(net, rr->where),
                                        rr->address, rr->detail ? rr->detail : "");
        }
        if (rr->retrieved_at > 0 && rr->retrieved_by != MS_HOST_WORLD &&
            rr->where != MS_HOST_WORLD) {
            /* how the device that showed it first reads its mail */
            const char *reads = NULL;
            for (guint c = 0; c < ms_mail_n_clients(mail) && !reads; c++)
                if (ms_mail_client_host(mail, c) == rr->retrieved_by)
                    reads = ms_mail_client_reads(mail, c);
            gboolean imap = reads && g_str_has_prefix(reads, "IMAP");
            MsVizStep *s = add_step(j, imap ? MS_VIZ_STEP_IMAP : MS_VIZ_STEP_POP3, rr->retrieved_at,
                                    rr->where, rr->retrieved_by, G_MAXUINT);
            if (imap) {
                gboolean idle = strcmp(reads, "IMAP IDLE") == 0;
                s->title = g_strdup(idle ? "IMAP push (IDLE)" : "IMAP fetch");
                s->detail = g_strdup_printf(
                    "%s shows it from the mailbox of %s on %s over IMAP%s; it stays on the server",
                    ms_net_host_name(net, rr->retrieved_by), rr->address,
                    ms_net_host_name(net, rr->where),
                    idle ? ", told of it at once by the server while it waited in IDLE" : "");
            } else {
                s->title = g_strdup("POP3 download");
                s->detail =
                    g_strdup_printf("%s downloads it from the mailbox of %s on %s over POP3",
                                    ms_net_host_name(net, rr->retrieved_by), rr->address,
                                    ms_net_host_name(net, rr->where));
            }
            guint i = ms_recorder_first_at(rec, rr->retrieved_at);
            session_lines(rec, MIN(i, n ? n - 1 : 0), rr->retrieved_by, rr->where,
                          imap ? "imap" : "pop3", s);
        }
    }
    if (ms_mail_auth_enabled(mail))
        add_checks(j, net, mail, rec);
    /* g_array_sort is stable (GLib >= 2.32): equal (time, kind) steps keep
     * the order the trace gave them. */
    g_array_sort(j->steps, step_cmp);
    for (guint k = 0; k < j->steps->len; k++)
        j->tls |= g_array_index(j->steps, MsVizStep, k).tls;
    attach_asides(j, rec);
    return j;
}

guint32
ms_viz_message_lookup(MsMail *mail, const char *text, GError **error)
{
    guint n = ms_mail_n_messages(mail);
    if (n == 0) {
        g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID, "the scenario sends no message");
        return 0;
    }
    if (!text || !*text)
        return 1;
    const MsMessageRecord *m = ms_mail_message_by_label(mail, text);
    if (m)
        return m->id;
    char *end = NULL;
    guint64 v = g_ascii_strtoull(text, &end, 10);
    if (end && *end == '\0' && end != text && v >= 1 && v <= n)
        return (guint32) v;
    g_set_error(error, MS_VIZ_ERROR, MS_VIZ_ERROR_INVALID,
                "--message: no message '%s' (give a label such as '%s' or an id from 1 to %u)",
                text, ms_mail_message(mail, 1)->label, n);
    return 0;
}

/* Senders that make sender authentication matter: a host's own MTA that
 * sends with any From: and MAIL FROM straight to the recipients' MX (an
 * attacker, a list server), a forwarding service, and a mailing list.
 *
 * Role in the data flow: ms_mail_auth_send_direct() schedules a message
 * that appears on a server at its time (as a workload arrival does: a
 * record, the composed message, the server's Received: header) and is
 * accepted there (mail_accept.c), so its MTA queue delivers it by MX like
 * any other. Forwards and lists are aliases of a server: when
 * ms__mail_accept() meets a local recipient that is one, it calls
 * ms__auth_alias_take() instead of storing the message, which sends it on.
 *
 * Design. A forward keeps the message and its envelope sender, as a
 * .forward or a Postfix virtual alias without SRS does: the next receiver
 * sees the forwarder's address with the original sender's domain, so SPF
 * fails there while a DKIM signature, which covers only the content,
 * survives. A list rewrites, as Mailman does by default: the envelope
 * sender becomes <list>-bounces@<domain> (its bounces come back to the
 * list), Subject: gets a tag, a List-Id: (RFC 2919) is added and a footer
 * goes under the body; the tag and the footer break the author's DKIM
 * signature (RFC 6376 3.4 and 3.7: the signed Subject and the body hash
 * change). Both send the same message on (the same Message-ID), so the
 * record of the message gains a recipient record for each new address and
 * the original recipient is counted delivered ("forwarded to ...").
 * Invariants: an expansion nested more than MAX_ALIAS_DEPTH deep (a forward
 * to itself, two forwards to each other) bounces with 5.4.6, RFC 5321 6.3's
 * loop. Ownership: aliases are owned by the server's auth settings; data is
 * borrowed. Costs: one copy of the message per list expansion. */
#include "mail_auth-private.h"

#include <string.h>

#define MAX_ALIAS_DEPTH 8

static void
alias_free(gpointer p)
{
    MsMailAlias *a = p;
    g_free(a->user);
    g_free(a->target);
    if (a->members)
        g_ptr_array_unref(a->members);
    g_free(a->subject_tag);
    g_free(a->footer);
    g_free(a);
}

static MsMailAuthServer *
server_auth_get(MsMail *m, guint server)
{
    MsMailAuthServer *as = ms__auth_server_get(m, server);
    if (!as->aliases)
        as->aliases = g_ptr_array_new_with_free_func(alias_free);
    return as;
}

void
ms_mail_auth_add_forward(MsMail *m, guint server, const char *user, const char *target)
{
    g_return_if_fail(m != NULL && server < m->servers->len && user && target);
    MsMailAlias *a = g_new0(MsMailAlias, 1);
    a->user = g_ascii_strdown(user, -1);
    a->target = g_strdup(target);
    g_ptr_array_add(server_auth_get(m, server)->aliases, a);
}

void
ms_mail_auth_add_list(MsMail *m, guint server, const char *name, const char *const *members,
                      const char *subject_tag, const char *footer)
{
    g_return_if_fail(m != NULL && server < m->servers->len && name && members);
    MsMailAlias *a = g_new0(MsMailAlias, 1);
    a->user = g_ascii_strdown(name, -1);
    a->members = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *p = members; *p; p++)
        g_ptr_array_add(a->members, g_strdup(*p));
    a->subject_tag = g_strdup(subject_tag ? subject_tag : "");
    a->footer = g_strdup(footer ? footer : "");
    g_ptr_array_add(server_auth_get(m, server)->aliases, a);
}

/* The recipient record of `address` in message id, added when the
 * message had none (an address an alias sends the message on to). */
static MsRcptRecord *
rcpt_add(MsMail *m, guint32 id, const char *address)
{
    MsRcptRecord *rr = ms__mail_rcpt(m, id, address);
    MsMessageRecord *r = ms__mail_record(m, id);
    if (rr || !r)
        return rr;
    MsRcptRecord n = { 0 };
    n.address = ms__mail_text(m, address);
    n.state = MS_RCPT_WITH_CLIENT;
    n.updated_at = -1;
    g_array_append_val(r->rcpts, n);
    return &g_array_index(r->rcpts, MsRcptRecord, r->rcpts->len - 1);
}

/* The list's copy: Subject: tagged (once: a reply keeps its tag), List-Id:
 * on top, the footer under the body. Caller unrefs. */
static GBytes *
list_rewrite(const MsMailAlias *a, const char *domain, GBytes *data)
{
    gsize n;
    const char *d = g_bytes_get_data(data, &n);
    GString *out = g_string_sized_new(n + 256);
    g_string_append_printf(out, "List-Id: <%s.%s>\r\n", a->user, domain);
    /* the header section ends at the first empty line (RFC 5322 2.1) */
    const char *end = g_strstr_len(d, (gssize) n, "\r\n\r\n");
    gsize hdr_len = end ? (gsize) (end - d) + 2 : n;
    gsize pos = 0;
    gboolean tagged = FALSE;
    while (pos < hdr_len) {
        const char *eol = g_strstr_len(d + pos, (gssize) (hdr_len - pos), "\r\n");
        gsize line_end = eol ? (gsize) (eol - d) + 2 : hdr_len;
        if (!tagged && line_end - pos >= 8 && g_ascii_strncasecmp(d + pos, "Subject:", 8) == 0) {
            const char *v = d + pos + 8;
            while (*v == ' ' || *v == '\t')
                v++;
            g_string_append(out, "Subject: ");
            if (*a->subject_tag && strncmp(v, a->subject_tag, strlen(a->subject_tag)) != 0)
                g_string_append(out, a->subject_tag);
            g_string_append_len(out, v, (gssize) (d + line_end - v));
            tagged = TRUE;
        } else {
            g_string_append_len(out, d + pos, (gssize) (line_end - pos));
        }
        pos = line_end;
    }
    g_string_append_len(out, d + hdr_len, (gssize) (n - hdr_len));
    if (*a->footer) {
        if (out->len >= 2 && strcmp(out->str + out->len - 2, "\r\n") != 0)
            g_string_append(out, "\r\n");
        g_string_append(out, "-- \r\n");
        for (const char *p = a->footer; *p; p++) {
            if (*p == '\r')
                continue;
            if (*p == '\n')
                g_string_append(out, "\r\n");
            else
                g_string_append_c(out, *p);
        }
        g_string_append(out, "\r\n");
    }
    gsize len = out->len;
    return g_bytes_new_take(g_string_free(out, FALSE), len);
}

gboolean
ms__auth_is_alias(MsMail *m, const MsMailServer *s, const char *local)
{
    MsMailAuthServer *as = m->auth ? ms__auth_server(m, s) : NULL;
    for (guint i = 0; as && as->aliases && i < as->aliases->len; i++)
        if (g_ascii_strcasecmp(((const MsMailAlias *) g_ptr_array_index(as->aliases, i))->user,
                               local) == 0)
            return TRUE;
    return FALSE;
}

gboolean
ms__auth_alias_take(MsMail *m, MsMailServer *s, guint32 id, const char *from, const char *rcpt,
                    const char *local, GBytes *data)
{
    MsMailAuthServer *as = m->auth ? ms__auth_server(m, s) : NULL;
    if (!as || !as->aliases)
        return FALSE;
    const MsMailAlias *a = NULL;
    for (guint i = 0; i < as->aliases->len && !a; i++) {
        const MsMailAlias *x = g_ptr_array_index(as->aliases, i);
        if (g_ascii_strcasecmp(x->user, local) == 0)
            a = x;
    }
    if (!a)
        return FALSE;
    MsTime now = ms_engine_now(m->engine);
    MsMailAuth *au = m->auth;
    if (au->alias_depth >= MAX_ALIAS_DEPTH) {
        MsBounceReason why = { "5.4.6", NULL, NULL, "mail forwarding loop", now };
        ms__mail_bounce(m, s, id, from, rcpt, &why, data);
        return TRUE;
    }
    const char *domain = ms__address_domain(rcpt);
    MsRcptRecord *rr = ms__mail_rcpt(m, id, rcpt);
    g_autoptr(GPtrArray) to = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *envelope = NULL;
    g_autoptr(GBytes) copy = NULL;
    if (a->target) {
        g_ptr_array_add(to, g_strdup(a->target));
        envelope = g_strdup(from); /* no SRS: the original sender stays */
        copy = g_bytes_ref(data);
        ms__mail_note(m, s->host, MS_HOST_WORLD, id,
                      "%s forwards the message for %s to %s, unchanged, with the envelope "
                      "sender <%s> kept",
                      s->hostname, rcpt, a->target, from);
    } else {
        for (guint i = 0; i < a->members->len; i++)
            g_ptr_array_add(to, g_strdup(g_ptr_array_index(a->members, i)));
        envelope = g_strdup_printf("%s-bounces@%s", a->user, domain);
        copy = list_rewrite(a, domain, data);
        ms__mail_note(m, s->host, MS_HOST_WORLD, id,
                      "list %s at %s sends the message on to %u member%s from <%s>%s%s", rcpt,
                      s->hostname, a->members->len, a->members->len == 1 ? "" : "s", envelope,
                      *a->subject_tag ? ", its Subject: tagged" : "",
                      *a->footer ? " and a footer added" : "");
    }
    g_ptr_array_add(to, NULL);
    if (rr) {
        rr->state = MS_RCPT_DELIVERED;
        rr->done_at = now;
        ms__rcpt_touch(m, rr);
        g_clear_pointer(&rr->detail, g_free);
        g_autofree char *list = g_strjoinv(", ", (char **) to->pdata);
        rr->detail = g_strdup_printf("%s to %s at %s", a->target ? "forwarded" : "sent by the list",
                                     list, s->hostname);
    }
    for (guint i = 0; to->pdata[i]; i++)
        rcpt_add(m, id, to->pdata[i]);
    au->alias_depth++;
    ms__mail_accept(m, s, id, envelope, (const char *const *) to->pdata, to->len - 1, copy);
    au->alias_depth--;
    return TRUE;
}

/* ---- a host's own MTA ---------------------------------------------------- */

typedef struct {
    guint32 message;
    guint server;
    char *mail_from;
    GBytes *data;
    char **rcpts;
} Direct;

void
ms__auth_direct_free(gpointer p)
{
    Direct *d = p;
    g_free(d->mail_from);
    g_bytes_unref(d->data);
    g_strfreev(d->rcpts);
    g_free(d);
}

static void
on_direct(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsMail *m = user_data;
    (void) e;
    Direct *d = ev->data.ptr[0];
    guint at;
    if (g_ptr_array_find(m->auth->pending, d, &at))
        g_ptr_array_steal_index_fast(m->auth->pending, at); /* now ours to free */
    MsMailServer *s = g_ptr_array_index(m->servers, d->server);
    const MsMessageRecord *r = ms__mail_record(m, d->message);
    char qid[MS_MAIL_QID_SIZE];
    ms__mail_queue_id(s, qid);
    guint n = g_strv_length(d->rcpts);
    g_autoptr(GBytes) stamped = NULL;
    ms__mail_note(m, s->host, MS_HOST_WORLD, d->message,
                  "%s's own MTA sends message %s (\"%s\") with From: %s and envelope sender "
                  "<%s>, straight to the recipients' mail exchangers (queue id %s)",
                  s->hostname, r->label, r->subject, r->from, d->mail_from, qid);
    /* the server signs what it sends for a domain it holds a key for */
    g_autoptr(GBytes) signed_data = ms__auth_sign(m, s, d->message, d->data);
    stamped = ms__mail_stamp(m, s, "from localhost ", ms_mta_profile_product(s->policy.profile),
                             "ESMTP", qid, d->rcpts[0], signed_data);
    ms__mail_accept(m, s, d->message, d->mail_from, (const char *const *) d->rcpts, n, stamped);
    ms__auth_direct_free(d);
}

guint32
ms_mail_auth_send_direct(MsMail *m, guint server, const char *label, const char *from,
                         const char *mail_from, const char *const *to, const char *const *cc,
                         const char *subject, const char *body, guint64 size, MsTime at)
{
    g_return_val_if_fail(m != NULL && server < m->servers->len, 0);
    g_return_val_if_fail(label && from && to && to[0], 0);
    MsMailAuth *a = ms__auth_get(m);
    if (!a->ev_direct)
        a->ev_direct = ms_engine_register(m->engine, "auth-direct-send", on_direct, m);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    for (const char *const *p = to; *p; p++)
        g_ptr_array_add(all, (gpointer) *p);
    for (const char *const *p = cc; p && *p; p++)
        g_ptr_array_add(all, (gpointer) *p);
    g_ptr_array_add(all, NULL);
    guint32 id = ms__mail_new_record(m, label, from, (const char *const *) all->pdata,
                                     subject ? subject : "", s->host, 0);
    MsMessageRecord *r = ms__mail_record(m, id);
    r->created_at = at;
    Direct *d = g_new0(Direct, 1);
    d->message = id;
    d->server = server;
    d->mail_from = g_strdup(mail_from ? mail_from : from);
    d->data = ms__mail_compose(m, from, r, to, cc, body, size);
    d->rcpts = g_strdupv((char **) all->pdata);
    g_ptr_array_add(a->pending, d);
    MsEventData ev = { { 0 } };
    ev.ptr[0] = d;
    ms_engine_schedule_from(m->engine, s->host, at, s->host, a->ev_direct, ev);
    return id;
}

/* The downgrade attacker: an active man in the middle on a link or in a
 * router (a strip-starttls fault) that removes STARTTLS from the EHLO
 * replies it forwards, so that an opportunistic sender goes on in clear
 * text and the attacker reads the mail.
 *
 * Role in the data flow: a delivery attempt (sim/mail/mail_mta.c) passes
 * what the server sent before TLS through ms__tls_attempt_inbound(); when
 * an attacker is in force on the route between the two hosts, the
 * keyword STARTTLS is overwritten with "XXXXXXXA" of the same length, as
 * the attacks reported in the wild do (and as some firewalls' "SMTP
 * inspection" did): the TCP stream keeps its length, the sender sees an
 * unknown extension and no offer of TLS (RFC 3207 4: with no STARTTLS in
 * the EHLO reply a client may not start TLS).
 *
 * With a reply code (reply= on the fault) the attacker lets the offer
 * through and answers the client's STARTTLS itself (RFC 3207 4: 454 "TLS
 * not available due to temporary reason"), keeping the command from the
 * server; an opportunistic client goes on in clear. Its answer reaches the
 * client at once, without the last leg's delay.
 *
 * With MS_MAIL_DOWNGRADE_BREAK_TLS (a C API value; scenarios give only
 * reply codes) the attacker lets STARTTLS through and flips one octet of
 * the server's TLS records during the handshake: it reads nothing, but the
 * client's check of the record fails (bad_record_mac) and an opportunistic
 * sender, as Postfix at may does, connects again and sends in clear
 * (mail_mta.c), which is the point of the attack.
 *
 * Limits, on purpose: the rewrite is applied where the client's SMTP core
 * reads the stream, so a capture taken on the links shows the octets the
 * server sent; and only server-to-server sessions (port 25) are attacked,
 * since mail programs submit on ports where TLS is required before AUTH
 * (RFC 8314) and fail rather than send a password in clear. The keyword
 * is found within one delivered segment (an EHLO reply is a few hundred
 * octets and arrives whole).
 *
 * Ownership: attackers live in the mail layer's MsMailTlsPolicy. Costs: a
 * route look-up per inbound segment while an attacker is in force and the
 * session is still in clear; nothing otherwise. */
#include "mail_tls_policy-private.h"

#include <string.h>

void
ms_mail_downgrade_set(MsMail *m, guint32 host, guint32 link, guint16 reply, gboolean active)
{
    g_return_if_fail(m != NULL);
    MsMailTlsPolicy *p = ms__tls_policy_get(m);
    MsMailAttacker *found = NULL;
    for (guint i = 0; i < p->attackers->len && !found; i++) {
        MsMailAttacker *a = &g_array_index(p->attackers, MsMailAttacker, i);
        if (a->host == host && a->link == link)
            found = a;
    }
    if (!found) {
        MsMailAttacker a = { host, link, reply, 0 };
        g_array_append_val(p->attackers, a);
        found = &g_array_index(p->attackers, MsMailAttacker, p->attackers->len - 1);
    }
    if (active) {
        found->active++;
        found->reply = reply;
    } else if (found->active > 0)
        found->active--;
    g_autofree char *where = ms__downgrade_where(m, found);
    ms__mail_note(m, host != MS_NO_HOST_ID ? host : MS_HOST_WORLD, MS_HOST_WORLD, 0,
                  !active ? "the attacker on %s stops tampering with SMTP"
                  : reply == MS_MAIL_DOWNGRADE_BREAK_TLS
                      ? "an attacker on %s starts altering the TLS handshakes of the SMTP "
                        "sessions it forwards"
                  : reply ? "an attacker on %s starts answering SMTP clients' STARTTLS itself, "
                            "with a refusal"
                          : "an attacker on %s starts removing STARTTLS from the SMTP servers' "
                            "replies it forwards",
                  where);
}

char *
ms__downgrade_where(MsMail *m, const MsMailAttacker *a)
{
    if (a->host != MS_NO_HOST_ID)
        return g_strdup_printf("the router %s", ms_net_host_name(m->net, a->host));
    MsHostId x, y;
    ms_net_link_ends(m->net, a->link, &x, &y);
    return g_strdup_printf("the link %s~%s", ms_net_host_name(m->net, x),
                           ms_net_host_name(m->net, y));
}

const MsMailAttacker *
ms__downgrade_on_path(MsMail *m, MsHostId from, MsHostId to)
{
    MsMailTlsPolicy *p = m->tls_policy;
    if (!p || p->attackers->len == 0 || from == MS_NO_HOST_ID || to == MS_NO_HOST_ID)
        return NULL;
    gboolean any = FALSE;
    for (guint i = 0; i < p->attackers->len; i++)
        any |= g_array_index(p->attackers, MsMailAttacker, i).active > 0;
    if (!any)
        return NULL;
    GArray *path = ms_net_route_path(m->net, from, to);
    if (!path)
        return NULL;
    const MsMailAttacker *hit = NULL;
    for (guint i = 0; i < p->attackers->len && !hit; i++) {
        const MsMailAttacker *a = &g_array_index(p->attackers, MsMailAttacker, i);
        if (!a->active)
            continue;
        MsHostId x = MS_NO_HOST_ID, y = MS_NO_HOST_ID;
        if (a->link != G_MAXUINT32)
            ms_net_link_ends(m->net, a->link, &x, &y);
        for (guint k = 0; k < path->len && !hit; k++) {
            MsHostId h = g_array_index(path, MsHostId, k);
            if (a->host != MS_NO_HOST_ID && h == a->host)
                hit = a;
            if (a->link != G_MAXUINT32 && k + 1 < path->len) {
                MsHostId n = g_array_index(path, MsHostId, k + 1);
                if ((h == x && n == y) || (h == y && n == x))
                    hit = a;
            }
        }
    }
    g_array_free(path, TRUE);
    return hit;
}

/* The first "STARTTLS" (any case) in d[0..n), or NULL. */
static const guint8 *
find_keyword(const guint8 *d, gsize n)
{
    static const char kw[] = "STARTTLS";
    const gsize k = sizeof kw - 1;
    for (gsize i = 0; i + k <= n; i++)
        if (g_ascii_strncasecmp((const char *) d + i, kw, k) == 0)
            return d + i;
    return NULL;
}

gboolean
ms__tls_attempt_outbound(MsMailTlsAttempt *t, GBytes *out, GBytes **answer)
{
    *answer = NULL;
    gsize n;
    const char *d = g_bytes_get_data(out, &n);
    if (!t || !t->tls_possible || n != 10 || g_ascii_strncasecmp(d, "STARTTLS\r\n", 10) != 0)
        return FALSE;
    MsMail *m = t->mail;
    const MsMailAttacker *a = ms__downgrade_on_path(m, t->entry->server->host, t->peer);
    if (!a || a->reply < 400)
        return FALSE;
    /* RFC 3207 4: 454 is the server's "TLS not available due to temporary
     * reason"; a 5xx here is the attacker's own invention */
    *answer =
        g_bytes_new_take(g_strdup_printf("%u %s TLS not available due to temporary reason\r\n",
                                         a->reply, a->reply >= 500 ? "5.7.0" : "4.7.0"),
                         strlen("000 0.0.0 TLS not available due to temporary reason\r\n"));
    g_bytes_unref(out);
    t->stripped = TRUE;
    t->refused = a->reply;
    g_autofree char *where = ms__downgrade_where(m, a);
    ms__mail_note(m, t->entry->server->host, t->peer, t->entry->message,
                  "an attacker on %s keeps %s's STARTTLS from reaching %s and answers it itself "
                  "with %u, as if the server could not start TLS just now",
                  where, t->entry->server->hostname, ms_net_host_name(m->net, t->peer), a->reply);
    return TRUE;
}

GBytes *
ms__tls_attempt_inbound(MsMailTlsAttempt *t, const guint8 *data, gsize len)
{
    if (!t || !t->tls_possible || !find_keyword(data, len))
        return NULL;
    MsMail *m = t->mail;
    const MsMailAttacker *a = ms__downgrade_on_path(m, t->entry->server->host, t->peer);
    if (!a || a->reply)
        return NULL;
    guint8 *copy = g_memdup2(data, len);
    guint8 *p;
    while ((p = (guint8 *) find_keyword(copy, len)))
        memcpy(p, "XXXXXXXA", 8);
    t->stripped = TRUE;
    if (!t->told_strip) {
        t->told_strip = TRUE;
        g_autofree char *where = ms__downgrade_where(m, a);
        ms__mail_note(m, t->entry->server->host, t->peer, t->entry->message,
                      "an attacker on %s rewrites %s's EHLO reply on its way: STARTTLS becomes "
                      "XXXXXXXA, so %s sees no offer of TLS",
                      where, ms_net_host_name(m->net, t->peer), t->entry->server->hostname);
    }
    return g_bytes_new_take(copy, len);
}

GBytes *
ms__tls_attempt_inbound_tls(MsMailTlsAttempt *t, const MsMailTls *tls, const guint8 *data,
                            gsize len)
{
    if (!t || !t->tls_possible || len == 0 || !ms__mail_tls_handshaking(tls))
        return NULL;
    MsMail *m = t->mail;
    const MsMailAttacker *a = ms__downgrade_on_path(m, t->entry->server->host, t->peer);
    if (!a || a->reply != MS_MAIL_DOWNGRADE_BREAK_TLS)
        return NULL;
    /* the last octet of the segment: the tag of a protected record (or a
     * byte of the ServerHello), so the client's check fails. The attacker
     * reads nothing: it only makes the handshake fail. */
    guint8 *copy = g_memdup2(data, len);
    copy[len - 1] ^= 0x01;
    if (!t->told_break) {
        t->told_break = TRUE;
        g_autofree char *where = ms__downgrade_where(m, a);
        ms__mail_note(m, t->entry->server->host, t->peer, t->entry->message,
                      "an attacker on %s alters one octet of the TLS records %s sends to %s: it "
                      "cannot read them, but the handshake will fail",
                      where, ms_net_host_name(m->net, t->peer), t->entry->server->hostname);
    }
    return g_bytes_new_take(copy, len);
}

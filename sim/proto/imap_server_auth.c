/* The IMAP server core's way in (imap_server.c dispatches here): STARTTLS
 * (RFC 9051 6.2.1), LOGIN (6.2.3) and AUTHENTICATE PLAIN (6.2.2, RFC 4616,
 * SASL-IR of RFC 4959), from the not-authenticated state to the
 * authenticated one.
 *
 * Design. The password check is the hooks'; this file only frames it. With
 * auth_requires_tls both commands are refused in clear with
 * PRIVACYREQUIRED (RFC 5530). A failed login is answered at once and
 * counts towards max_auth_failures. An authzid other than the authcid is
 * refused: there is no one a user may act for. No state of its own, no
 * allocation kept. */
#include "imap_server-private.h"

#include <string.h>

void
ms__imap_cmd_starttls(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    if (!ms__imap_end_ok(c, "STARTTLS"))
        return;
    if (srv->tls) {
        ms__imap_bad(srv, c->tag, "TLS is already active.");
        return;
    }
    if (!srv->cfg.offer_starttls) {
        ms__imap_bad(srv, c->tag, "TLS support isn't enabled.");
        return;
    }
    ms__imap_say(srv, "%s OK Begin TLS negotiation now.", c->tag);
    srv->wants_tls = TRUE;
}

static gboolean
login_refused(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    if (srv->tls || !srv->cfg.auth_requires_tls)
        return FALSE;
    /* RFC 9051 6.2.3 and RFC 5530 PRIVACYREQUIRED. */
    ms__imap_say(
        srv,
        "%s NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) "
        "connections.",
        c->tag);
    return TRUE;
}

static void
login_as(MsImapCtx *c, const char *user, const char *pass)
{
    MsImapServer *srv = c->srv;
    if (!srv->hooks.authenticate(srv->user_data, user, pass)) {
        srv->auth_failures++;
        ms__imap_say(srv, "%s NO [AUTHENTICATIONFAILED] Authentication failed.", c->tag);
        if (srv->auth_failures >= srv->cfg.max_auth_failures) {
            ms__imap_say(srv, "* BYE Too many failed logins.");
            srv->state = ST_CLOSED;
        }
        return;
    }
    g_free(srv->user);
    srv->user = g_strdup(user);
    srv->state = ST_AUTH;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s OK [CAPABILITY ", c->tag);
    ms__imap_capabilities(srv, s);
    g_string_append(s, "] Logged in");
    ms__imap_emit(srv, s);
    g_string_free(s, TRUE);
}

void
ms__imap_cmd_login(MsImapCtx *c)
{
    g_autofree char *user = NULL, *pass = NULL;
    if (!eat(c->ps, ' ') || !(user = ms__imap_parse_astring(c->ps)) || !eat(c->ps, ' ') ||
        !(pass = ms__imap_parse_astring(c->ps))) {
        ms__imap_syntax(c, "LOGIN");
        return;
    }
    if (!ms__imap_end_ok(c, "LOGIN") || login_refused(c))
        return;
    login_as(c, user, pass);
}

/* SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL passwd, base64 (RFC 9051
 * 6.2.2). An authzid other than the authcid is refused. */
void
ms__imap_sasl_plain(MsImapCtx *c, const char *b64)
{
    MsImapServer *srv = c->srv;
    gsize n = strlen(b64);
    gboolean ok = n > 0 && n % 4 == 0;
    for (gsize i = 0; ok && i < n; i++)
        ok = g_ascii_isalnum(b64[i]) || b64[i] == '+' || b64[i] == '/' ||
             (b64[i] == '=' && i >= n - 2);
    if (!ok) {
        ms__imap_bad(srv, c->tag, "Invalid base64 data in continued response");
        return;
    }
    gsize len = 0;
    g_autofree guchar *raw = g_base64_decode(b64, &len);
    const guchar *z1 = memchr(raw, '\0', len);
    const guchar *z2 = z1 ? memchr(z1 + 1, '\0', len - (gsize) (z1 + 1 - raw)) : NULL;
    if (!z2 || memchr(z2 + 1, '\0', len - (gsize) (z2 + 1 - raw))) {
        ms__imap_say(srv, "%s NO [AUTHENTICATIONFAILED] Invalid PLAIN response.", c->tag);
        return;
    }
    g_autofree char *authz = g_strndup((const char *) raw, (gsize) (z1 - raw));
    g_autofree char *user = g_strndup((const char *) z1 + 1, (gsize) (z2 - z1 - 1));
    g_autofree char *pass = g_strndup((const char *) z2 + 1, len - (gsize) (z2 + 1 - raw));
    if (*authz && strcmp(authz, user) != 0) {
        ms__imap_say(srv, "%s NO [AUTHORIZATIONFAILED] Authorization identity not permitted.",
                     c->tag);
        return;
    }
    login_as(c, user, pass);
}

void
ms__imap_cmd_authenticate(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *mech = NULL, *ir = NULL;
    if (!eat(c->ps, ' ') || !(mech = ms__imap_parse_atom(c->ps, NULL))) {
        ms__imap_syntax(c, "AUTHENTICATE");
        return;
    }
    if (eat(c->ps, ' ') && !(ir = ms__imap_parse_atom(c->ps, "="))) {
        ms__imap_syntax(c, "AUTHENTICATE");
        return;
    }
    if (!ms__imap_end_ok(c, "AUTHENTICATE") || login_refused(c))
        return;
    if (g_ascii_strcasecmp(mech, "PLAIN") != 0) {
        ms__imap_say(srv, "%s NO [CANNOT] Unsupported authentication mechanism.", c->tag);
        return;
    }
    if (ir) { /* SASL-IR (RFC 4959 3): "=" is an empty response */
        ms__imap_sasl_plain(c, strcmp(ir, "=") == 0 ? "" : ir);
        return;
    }
    ms__imap_say(srv, "+ ");
    g_free(srv->tag);
    srv->tag = g_strdup(c->tag);
    srv->mode = IN_AUTH_LINE;
}

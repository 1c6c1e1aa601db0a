/* Scripted SMTP faults of a mail server (see MsReplyRule in
 * include/mailsim/mail.h): rules are scanned in the order given; the first
 * that matches the command, the sender and recipient globs and the time
 * window, and whose probability draw succeeds, decides the reply. The draw
 * comes from the server host's random stream, so a run is reproducible. */
#include "mail-private.h"

void
ms__rules_free(GArray *rules)
{
    if (!rules)
        return;
    for (guint i = 0; i < rules->len; i++) {
        MsReplyRule *r = &g_array_index(rules, MsReplyRule, i);
        g_free((char *) r->enhanced);
        g_free((char *) r->text);
        g_free((char *) r->from);
        g_free((char *) r->to);
    }
    g_array_free(rules, TRUE);
}

void
ms_mail_add_reply_rule(MsMail *m, guint server, const MsReplyRule *rule)
{
    g_return_if_fail(m != NULL && server < m->servers->len && rule != NULL);
    MsMailServer *s = g_ptr_array_index(m->servers, server);
    MsReplyRule r = *rule;
    r.enhanced = g_strdup(rule->enhanced);
    r.text = g_strdup(rule->text);
    r.from = g_strdup(rule->from);
    r.to = g_strdup(rule->to);
    g_array_append_val(s->rules, r);
}

void
ms_mail_set_command_delay(MsMail *m, guint server, MsTime delay)
{
    g_return_if_fail(m != NULL && server < m->servers->len && delay >= 0);
    ((MsMailServer *) g_ptr_array_index(m->servers, server))->command_delay = delay;
}

static gboolean
glob_ok(const char *pattern, const char *value)
{
    if (!pattern || !*pattern || g_strcmp0(pattern, "*") == 0)
        return TRUE;
    if (!value)
        return FALSE;
    g_autofree char *p = g_ascii_strdown(pattern, -1);
    g_autofree char *v = g_ascii_strdown(value, -1);
    return g_pattern_match_simple(p, v);
}

gboolean
ms__rules_match(MsMail *m, MsMailServer *s, MsFaultCommand command, const char *from,
                const char *to, MsSmtpReply *reply)
{
    MsTime now = ms_engine_now(m->engine);
    for (guint i = 0; i < s->rules->len; i++) {
        const MsReplyRule *r = &g_array_index(s->rules, MsReplyRule, i);
        if (r->command != command || now < r->start || now >= r->end)
            continue;
        if (!glob_ok(r->from, from) || (command >= MS_FAULT_CMD_RCPT && !glob_ok(r->to, to)))
            continue;
        if (r->rate < 1.0 && !ms_rng_bernoulli(ms_engine_host_rng(m->engine, s->host), r->rate))
            continue;
        ms_smtp_reply_set(reply, r->code, r->enhanced,
                          r->text && *r->text ? r->text : "scripted reply");
        ms__mail_note(m, s->host, MS_HOST_WORLD, 0, "%s answers %u by the scenario's script",
                      s->hostname, r->code);
        return TRUE;
    }
    return FALSE;
}

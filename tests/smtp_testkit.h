/* Test policy for the SMTP cores, shared by tests/test_smtp_server.c and
 * tests/test_smtp_client.c: server hooks that record what they see and
 * refuse chosen recipients, and a pump that wires a client to a server in
 * memory. Header-only (static inline) so each test program stays one file. */
#pragma once

#include <string.h>
#include "mailsim/smtp_server.h"
#include "mailsim/smtp_client.h"

typedef struct {
    GPtrArray *msgs;     /* GBytes of every message given to the data hook */
    GPtrArray *envs;     /* char *: "from|rcpt,rcpt|size|8bit" */
    GString *trace;      /* "> line\n" in, "< line\n" out */
    const char *ov_verb; /* command override: this verb ... */
    guint ov_code;       /* ... gets this reply (0: none) */
    const char *ov_enh;
    guint ov_skip; /* let this many matching commands through first */
    guint queued;
} TkPolicy;

static inline void
tk_policy_init(TkPolicy *p)
{
    memset(p, 0, sizeof *p);
    p->msgs = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    p->envs = g_ptr_array_new_with_free_func(g_free);
    p->trace = g_string_new(NULL);
}

static inline void
tk_policy_clear(TkPolicy *p)
{
    g_ptr_array_unref(p->msgs);
    g_ptr_array_unref(p->envs);
    g_string_free(p->trace, TRUE);
}

static inline gboolean
tk_auth(const MsSmtpSession *s, const char *user, const char *pw, MsSmtpReply *r, gpointer ud)
{
    (void) s;
    (void) r;
    (void) ud;
    return strcmp(user, "alice") == 0 && strcmp(pw, "secret") == 0;
}

static inline void
tk_rcpt(const MsSmtpSession *s, const char *path, MsSmtpReply *r, gpointer ud)
{
    (void) s;
    (void) ud;
    if (g_str_has_prefix(path, "unknown@"))
        ms_smtp_reply_set(r, 550, "5.1.1", "User unknown");
    else if (g_str_has_suffix(path, "@elsewhere.test"))
        ms_smtp_reply_set(r, 554, "5.7.1", "Relay access denied");
    else if (g_str_has_prefix(path, "full@"))
        ms_smtp_reply_set(r, 452, "4.2.2", "Mailbox full");
}

static inline void
tk_data(const MsSmtpSession *s, const MsSmtpEnvelope *env, GBytes *msg, MsSmtpReply *r, gpointer ud)
{
    TkPolicy *p = ud;
    (void) s;
    g_ptr_array_add(p->msgs, g_bytes_ref(msg));
    g_autofree char *rc = g_strjoinv(",", (char **) env->rcpts);
    g_ptr_array_add(p->envs, g_strdup_printf("%s|%s|%" G_GUINT64_FORMAT "|%d", env->mail_from, rc,
                                             env->declared_size, env->body_8bitmime));
    g_autofree char *t = g_strdup_printf("Ok: queued as Q%u", ++p->queued);
    ms_smtp_reply_set(r, 250, "2.0.0", t);
}

static inline void
tk_command(const MsSmtpSession *s, const char *verb, const char *arg, MsSmtpReply *r, gpointer ud)
{
    TkPolicy *p = ud;
    (void) s;
    (void) arg;
    if (p->ov_code && p->ov_verb && strcmp(verb, p->ov_verb) == 0) {
        if (p->ov_skip > 0) {
            p->ov_skip--;
            return;
        }
        ms_smtp_reply_set(r, p->ov_code, p->ov_enh, "Scripted fault");
    }
}

static inline void
tk_trace(MsSmtpTraceDir dir, const char *line, gpointer ud)
{
    TkPolicy *p = ud;
    g_string_append_printf(p->trace, "%s %s\n", dir == MS_SMTP_TRACE_IN ? ">" : "<", line);
}

static inline MsSmtpServerHooks
tk_server_hooks(void)
{
    MsSmtpServerHooks h = { tk_auth, NULL, tk_rcpt, tk_data, tk_command, tk_trace };
    return h;
}

/* The server configuration of these tests: host "mx.test", AUTH offered,
 * every other field zero (the core's defaults). */
static inline MsSmtpServerConfig
tk_server_config(void)
{
    MsSmtpServerConfig c = { 0 };
    c.hostname = "mx.test";
    c.offer_auth = TRUE;
    return c;
}

/* Moves bytes both ways until neither side has anything to say. With
 * bytewise, every chunk is delivered one octet at a time. Returns the
 * number of octets the client sent. */
static inline gsize
tk_pump(MsSmtpServer *srv, MsSmtpClient *cli, gboolean bytewise)
{
    gsize sent = 0;
    for (;;) {
        gboolean moved = FALSE;
        g_autoptr(GBytes) so = ms_smtp_server_take_output(srv);
        if (so) {
            gsize n = 0;
            const guint8 *d = g_bytes_get_data(so, &n);
            if (bytewise)
                for (gsize i = 0; i < n; i++)
                    ms_smtp_client_feed(cli, d + i, 1);
            else
                ms_smtp_client_feed(cli, d, n);
            moved = TRUE;
        }
        g_autoptr(GBytes) co = ms_smtp_client_take_output(cli);
        if (co) {
            gsize n = 0;
            const guint8 *d = g_bytes_get_data(co, &n);
            sent += n;
            if (bytewise)
                for (gsize i = 0; i < n; i++)
                    ms_smtp_server_feed(srv, d + i, 1);
            else
                ms_smtp_server_feed(srv, d, n);
            moved = TRUE;
        }
        if (!moved)
            return sent;
    }
}

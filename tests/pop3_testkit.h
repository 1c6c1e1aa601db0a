/* Test scaffolding for the POP3 cores, shared by tests/test_pop3_server.c
 * and tests/test_pop3_client.c: an in-memory maildrop behind the server's
 * hooks (with switches for a maildrop held elsewhere, a listing that fails
 * and a message of the wrong size), a server set up as in RFC 1939's APOP
 * example, and a way to collect what a server says. Header-only (static
 * inline), as tests/smtp_testkit.h, so each test program stays one file. */
#pragma once

#include <string.h>
#include "mailsim/pop3_server.h"

typedef struct {
    const char *user, *password, *secret;
    GPtrArray *msgs; /* GBytes */
    GPtrArray *uids; /* char * */
    gboolean held_elsewhere, list_fails, wrong_size;
    guint locks, unlocks, commits;
    GArray *committed; /* guint indices of the last commit */
    GString *trace;    /* "C: line\n" and "S: line\n", as the server traces them */
} TkMaildrop;

static inline gboolean
tk_maildrop_auth(gpointer ud, const char *user, const char *password)
{
    TkMaildrop *b = ud;
    return strcmp(user, b->user) == 0 && strcmp(password, b->password) == 0;
}

static inline char *
tk_maildrop_secret(gpointer ud, const char *user)
{
    TkMaildrop *b = ud;
    return strcmp(user, b->user) == 0 && b->secret ? g_strdup(b->secret) : NULL;
}

static inline gboolean
tk_maildrop_lock(gpointer ud, const char *user)
{
    TkMaildrop *b = ud;
    (void) user;
    if (b->held_elsewhere)
        return FALSE;
    b->locks++;
    return TRUE;
}

static inline void
tk_maildrop_unlock(gpointer ud, const char *user)
{
    TkMaildrop *b = ud;
    (void) user;
    b->unlocks++;
}

static inline gboolean
tk_maildrop_list(gpointer ud, const char *user, GArray *out)
{
    TkMaildrop *b = ud;
    (void) user;
    if (b->list_fails)
        return FALSE;
    for (guint i = 0; i < b->msgs->len; i++) {
        MsPop3MessageInfo info = { .size = g_bytes_get_size(b->msgs->pdata[i]) };
        g_strlcpy(info.uid, b->uids->pdata[i], sizeof info.uid);
        g_array_append_val(out, info);
    }
    return TRUE;
}

static inline GBytes *
tk_maildrop_retrieve(gpointer ud, const char *user, guint index)
{
    TkMaildrop *b = ud;
    (void) user;
    if (index >= b->msgs->len)
        return NULL;
    if (b->wrong_size)
        return g_bytes_new("x", 1);
    return g_bytes_ref(b->msgs->pdata[index]);
}

/* Records the indices and removes those messages, as a real maildrop does. */
static inline gboolean
tk_maildrop_commit(gpointer ud, const char *user, const guint *idx, guint n)
{
    TkMaildrop *b = ud;
    (void) user;
    b->commits++;
    g_array_set_size(b->committed, 0);
    g_array_append_vals(b->committed, idx, n);
    for (guint k = n; k-- > 0;) { /* highest index first */
        g_ptr_array_remove_index(b->msgs, idx[k]);
        g_ptr_array_remove_index(b->uids, idx[k]);
    }
    return TRUE;
}

static inline void
tk_maildrop_trace(gpointer ud, gboolean from_client, const char *line)
{
    TkMaildrop *b = ud;
    g_string_append_printf(b->trace, "%s %s\n", from_client ? "C:" : "S:", line);
}

static const MsPop3ServerHooks tk_maildrop_hooks = {
    .authenticate = tk_maildrop_auth,
    .apop_secret = tk_maildrop_secret,
    .lock = tk_maildrop_lock,
    .list = tk_maildrop_list,
    .retrieve = tk_maildrop_retrieve,
    .commit = tk_maildrop_commit,
    .unlock = tk_maildrop_unlock,
    .trace = tk_maildrop_trace,
};

/* Adds a message (taking `msg`) with the uid "uid-N", N its number. */
static inline void
tk_maildrop_add(TkMaildrop *b, GBytes *msg)
{
    g_ptr_array_add(b->msgs, msg);
    g_ptr_array_add(b->uids, g_strdup_printf("uid-%u", b->msgs->len));
}

/* The maildrop of user "mrose" with `password` (APOP secret "tanstaaf",
 * RFC 1939 7) holding the NULL-terminated `texts` (static strings). */
static inline TkMaildrop *
tk_maildrop_new(const char *password, const char *const *texts)
{
    TkMaildrop *b = g_new0(TkMaildrop, 1);
    b->user = "mrose";
    b->password = password;
    b->secret = "tanstaaf";
    b->msgs = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    b->uids = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *t = texts; *t; t++)
        tk_maildrop_add(b, g_bytes_new_static(*t, strlen(*t)));
    b->committed = g_array_new(FALSE, FALSE, sizeof(guint));
    b->trace = g_string_new(NULL);
    return b;
}

static inline void
tk_maildrop_free(TkMaildrop *b)
{
    g_ptr_array_unref(b->msgs);
    g_ptr_array_unref(b->uids);
    g_array_unref(b->committed);
    g_string_free(b->trace, TRUE);
    g_free(b);
}

/* A server core on `box`, named as in RFC 1939's APOP example (host
 * dbc.mtview.ca.us, token 1896.697170952); a negative `auth_fail_delay_ms`
 * keeps the core's default. Caller frees. */
static inline MsPop3Server *
tk_pop3_server_new(TkMaildrop *box, gint64 auth_fail_delay_ms)
{
    MsPop3ServerConfig cfg;
    ms_pop3_server_config_init(&cfg);
    cfg.hostname = "dbc.mtview.ca.us";
    cfg.apop_token = "1896.697170952";
    if (auth_fail_delay_ms >= 0)
        cfg.auth_fail_delay_ms = (guint64) auth_fail_delay_ms;
    return ms_pop3_server_new(&cfg, &tk_maildrop_hooks, box);
}

/* Appends everything the server has to say now to `out`. */
static inline void
tk_pop3_server_output(MsPop3Server *srv, GString *out)
{
    GBytes *b;
    while ((b = ms_pop3_server_take_output(srv))) {
        gsize n;
        const char *p = g_bytes_get_data(b, &n);
        g_string_append_len(out, p, (gssize) n);
        g_bytes_unref(b);
    }
}

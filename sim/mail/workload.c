/* Stochastic workloads (see include/mailsim/workload.h). One engine event
 * per arrival: it injects the message and schedules the next arrival at
 * now + Exp(1 / rate) while that is before the workload's end. Senders and
 * recipients are drawn uniformly from the users of the two servers (sorted
 * names, so hash order never reaches the draws); a domain the world does not
 * serve gets "user@domain", which bounces or leaves the world like any mail
 * to an unknown place. */
#include "mailsim/workload.h"
#include "mail_auth-private.h"

#include <math.h>

typedef struct {
    const MsWorkloadSpec *w;
    guint index;
    MsMailServer *from, *to;    /* to may be NULL */
    GPtrArray *senders, *rcpts; /* borrowed user names */
    MsRng rng;
    guint n;
    gboolean to_any;
} Gen;

struct _MsWorkloads {
    MsMail *mail;
    GPtrArray *any_servers; /* MsMailServer* with domains, for to="*" */
    GPtrArray *any_users;   /* GPtrArray* of their user names, same order */
    GArray *gens;           /* Gen */
    guint16 ev;
    guint64 generated;
};

guint64
ms_workload_draw_size(const MsWorkloadSpec *w, MsRng *rng)
{
    g_return_val_if_fail(w != NULL && rng != NULL, 1);
    double v;
    switch (w->size_dist) {
    case MS_WORKLOAD_SIZE_LOGNORMAL:
        v = ms_rng_lognormal(rng, w->size_a, w->size_b);
        break;
    case MS_WORKLOAD_SIZE_EXPONENTIAL:
        v = ms_rng_exponential(rng, w->size_a);
        break;
    case MS_WORKLOAD_SIZE_FIXED:
    default:
        v = w->size_a;
        break;
    }
    if (!(v >= 1))
        v = 1;
    return (guint64) MIN(v, 64.0 * 1024 * 1024); /* heavy tails are cut at 64 MiB */
}

static void
schedule_next(MsWorkloads *ws, guint i, MsTime from)
{
    Gen *g = &g_array_index(ws->gens, Gen, i);
    double gap = ms_rng_exponential(&g->rng, 1.0 / g->w->rate_per_s);
    MsTime at = ms_time_add(from, ms_time_from_seconds(gap));
    if (at >= g->w->end)
        return;
    MsEventData d = { { 0 } };
    d.u32[0] = i;
    ms_engine_schedule_from(ws->mail->engine, g->from->host, at, g->from->host, ws->ev, d);
}

static void
on_arrival(MsEngine *e, const MsEvent *ev, gpointer user_data)
{
    MsWorkloads *ws = user_data;
    MsMail *m = ws->mail;
    Gen *g = &g_array_index(ws->gens, Gen, ev->data.u32[0]);
    (void) e;
    const char *su = g->senders->len
                         ? g_ptr_array_index(g->senders, ms_rng_below(&g->rng, g->senders->len))
                         : "user";
    const char *to_domain = g->w->to;
    GPtrArray *rcpts_pool = g->rcpts;
    if (g->to_any && ws->any_servers->len > 0) {
        /* a random other domain of the world */
        guint k = (guint) ms_rng_below(&g->rng, ws->any_servers->len);
        if (g_ptr_array_index(ws->any_servers, k) == (gpointer) g->from && ws->any_servers->len > 1)
            k = (k + 1 + (guint) ms_rng_below(&g->rng, ws->any_servers->len - 1)) %
                ws->any_servers->len;
        MsMailServer *ts = g_ptr_array_index(ws->any_servers, k);
        to_domain = g_ptr_array_index(ts->domains, 0);
        rcpts_pool = g_ptr_array_index(ws->any_users, k);
    }
    const char *ru = rcpts_pool && rcpts_pool->len
                         ? g_ptr_array_index(rcpts_pool, ms_rng_below(&g->rng, rcpts_pool->len))
                         : "user";
    g_autofree char *from =
        g_strconcat(su, "@", g->w->from, NULL); /* no printf: once per message */
    g_autofree char *to = g_strconcat(ru, "@", to_domain, NULL);
    guint64 size = ms_workload_draw_size(g->w, &g->rng);
    g_autofree char *label = g_strdup_printf("w%u.%u", g->index, ++g->n);
    const char *rcpts[] = { to, NULL };
    guint32 id = ms__mail_new_record(m, label, from, rcpts, "workload message", g->from->host, 0);
    MsMessageRecord *r = ms__mail_record(m, id);
    g_autoptr(GBytes) composed = ms__mail_compose(m, from, r, rcpts, NULL, NULL, size);
    /* the domain's outbound server signs, when it holds a DKIM key */
    g_autoptr(GBytes) data =
        m->auth ? ms__auth_sign(m, g->from, id, composed) : g_bytes_ref(composed);
    char wid[MS_MAIL_QID_SIZE];
    g_snprintf(wid, sizeof wid, "W%u", r->origin_n); /* per origin: partition-independent */
    g_autoptr(GBytes) stamped =
        ms__mail_stamp(m, g->from, "from localhost ", "mailsim", "ESMTPA", wid, to, data);
    ms__mail_accept(m, g->from, id, from, rcpts, 1, stamped);
    ms__mail_release(m, id); /* handed on: queues and mailboxes have it */
    ws->generated++;
    schedule_next(ws, ev->data.u32[0], ev->at);
}

static void
unref_listed(gpointer users)
{
    if (users) /* servers without a domain list no users */
        g_ptr_array_unref(users);
}

/* Server i's users from `listed`, listing them there first if need be;
 * a new reference. */
static GPtrArray *
users_of(GPtrArray *listed, MsMailServer *s, guint i)
{
    if (!listed->pdata[i])
        listed->pdata[i] = ms__mail_server_users(s);
    return g_ptr_array_ref(listed->pdata[i]);
}

MsWorkloads *
ms_workloads_start(MsMail *m, const GArray *specs, const guint *server_of, guint64 seed)
{
    g_return_val_if_fail(m != NULL && specs != NULL, NULL);
    g_return_val_if_fail(specs->len == 0 || server_of != NULL, NULL);
    MsWorkloads *ws = g_new0(MsWorkloads, 1);
    ws->mail = m;
    ws->gens = g_array_new(FALSE, TRUE, sizeof(Gen));
    ws->ev = ms_engine_register(m->engine, "workload-arrival", on_arrival, ws);
    ws->any_servers = g_ptr_array_new();
    ws->any_users = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
    /* Each server's users listed once (a store lists them anew, sorted, at
     * every call), lent to the generators. */
    g_autoptr(GPtrArray) listed = g_ptr_array_new_full(m->servers->len, unref_listed);
    g_ptr_array_set_size(listed, (gint) m->servers->len);
    for (guint i = 0; i < m->servers->len; i++) {
        MsMailServer *s = g_ptr_array_index(m->servers, i);
        if (s->domains->len == 0)
            continue;
        listed->pdata[i] = ms__mail_server_users(s);
        g_ptr_array_add(ws->any_servers, s);
        g_ptr_array_add(ws->any_users, g_ptr_array_ref(listed->pdata[i]));
    }
    for (guint i = 0; i < specs->len; i++) {
        const MsWorkloadSpec *w = &g_array_index(specs, MsWorkloadSpec, i);
        if (w->from_server < 0)
            continue;
        Gen g = { 0 };
        g.w = w;
        g.index = i + 1;
        g.from = g_ptr_array_index(m->servers, server_of[w->from_server]);
        g.to = w->to_server >= 0 ? g_ptr_array_index(m->servers, server_of[w->to_server]) : NULL;
        g.to_any = g_strcmp0(w->to, "*") == 0;
        g.senders = users_of(listed, g.from, server_of[w->from_server]);
        g.rcpts = g.to ? users_of(listed, g.to, server_of[w->to_server]) : NULL;
        g_autofree char *purpose = g_strdup_printf("workload-%u", i);
        ms_rng_init_named(&g.rng, seed, purpose);
        g_array_append_val(ws->gens, g);
    }
    for (guint i = 0; i < ws->gens->len; i++)
        schedule_next(ws, i, g_array_index(ws->gens, Gen, i).w->start);
    return ws;
}

void
ms_workloads_free(MsWorkloads *ws)
{
    if (!ws)
        return;
    for (guint i = 0; i < ws->gens->len; i++) {
        Gen *g = &g_array_index(ws->gens, Gen, i);
        g_ptr_array_unref(g->senders);
        if (g->rcpts)
            g_ptr_array_unref(g->rcpts);
    }
    g_array_free(ws->gens, TRUE);
    g_ptr_array_unref(ws->any_servers);
    g_ptr_array_unref(ws->any_users);
    g_free(ws);
}

guint64
ms_workloads_generated(const MsWorkloads *ws)
{
    g_return_val_if_fail(ws != NULL, 0);
    return ws->generated;
}

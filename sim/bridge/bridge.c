/* The bridge's core (see include/mailsim/bridge.h): it binds the real
 * listeners, paces the engine against the wall clock and decides where the mail recovered from the spool goes (the simulation
 * or the relay). The sessions live in bridge_smtp.c, bridge_pop3.c and bridge_imap.c, the
 * sockets in bridge_conn.c, injection into the simulation (and the watch
 * on spooled mail until the simulation has delivered or bounced it) in
 * bridge_inject.c, the spool in bridge_spool.c, the durable mailboxes in
 * bridge_maildir.c, the outgoing relay in
 * bridge_relay.c and the TLS certificate in bridge_tls.c. This file calls them all; none calls it.
 *
 * Pacing: a GLib timeout runs every PACE_MS of wall time and runs the
 * engine up to ms_bridge_pace(sim_base, wall_base, now, speed), so at speed
 * 1 one simulated second passes per wall second, at 60 a simulated minute.
 * With speed 0 ("max") each tick runs events for at most MAX_SLICE_US of
 * wall time and then lets the sockets be served. This file, and only it,
 * reads the wall clock for the simulation (bridge_conn.c reads it for the
 * sockets' own timers); the engine itself never does.
 *
 * Everything runs on the thread-default main context, one thread; the
 * engine is only entered between socket events, never from a handler.
 * Costs: O(pending spool jobs) per pacer tick. */
#include "bridge-private.h"

#include <string.h>

#define PACE_MS         10
#define MAX_SLICE_US    10000
#define HOUSEKEEPING_MS 200
/* A listen backlog large enough for a burst of clients (Postfix: 100). */
#define LISTEN_BACKLOG 256

G_DEFINE_QUARK(ms - bridge - error - quark, ms_bridge_error)

void
ms_bridge_config_init(MsBridgeConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->speed = 1.0;
    cfg->max_connections = MS_BRIDGE_DEFAULT_MAX_CONNECTIONS;
    cfg->idle_timeout_ms = MS_BRIDGE_DEFAULT_IDLE_MS;
    cfg->command_timeout_ms = MS_BRIDGE_DEFAULT_COMMAND_MS;
    cfg->relay_retry_ms = 1000;
    cfg->relay_give_up_ms = MS_BRIDGE_DEFAULT_RELAY_GIVE_UP_MS;
}

void
ms_bridge_config_clear(MsBridgeConfig *cfg)
{
    g_clear_pointer(&cfg->smtp_addr, g_free);
    g_clear_pointer(&cfg->smtp_host, g_free);
    g_clear_pointer(&cfg->pop3_addr, g_free);
    g_clear_pointer(&cfg->pop3_host, g_free);
    g_clear_pointer(&cfg->relay_out, g_free);
    g_clear_pointer(&cfg->spool_dir, g_free);
    g_clear_pointer(&cfg->smtps_addr, g_free);
    g_clear_pointer(&cfg->pop3s_addr, g_free);
    g_clear_pointer(&cfg->imap_addr, g_free);
    g_clear_pointer(&cfg->imap_host, g_free);
    g_clear_pointer(&cfg->imaps_addr, g_free);
    g_clear_pointer(&cfg->tls_cert, g_free);
    g_clear_pointer(&cfg->tls_key, g_free);
}

static void
config_copy(MsBridgeConfig *dst, const MsBridgeConfig *src)
{
    *dst = *src;
    dst->smtp_addr = g_strdup(src->smtp_addr);
    dst->smtp_host = g_strdup(src->smtp_host);
    dst->pop3_addr = g_strdup(src->pop3_addr);
    dst->pop3_host = g_strdup(src->pop3_host);
    dst->relay_out = g_strdup(src->relay_out);
    dst->spool_dir = g_strdup(src->spool_dir);
    dst->smtps_addr = g_strdup(src->smtps_addr);
    dst->pop3s_addr = g_strdup(src->pop3s_addr);
    dst->imap_addr = g_strdup(src->imap_addr);
    dst->imap_host = g_strdup(src->imap_host);
    dst->imaps_addr = g_strdup(src->imaps_addr);
    dst->tls_cert = g_strdup(src->tls_cert);
    dst->tls_key = g_strdup(src->tls_key);
}

gboolean
ms_bridge_parse_endpoint(const char *text, char **addr, guint16 *port, char **host, GError **error)
{
    *addr = NULL;
    *host = NULL;
    g_autofree char *s = g_strdup(text ? text : "");
    char *eq = strchr(s, '=');
    g_autofree char *h = NULL;
    if (eq) {
        *eq = '\0';
        if (!eq[1]) {
            g_set_error(error, MS_BRIDGE_ERROR, 0, "'%s': nothing after '='", text);
            return FALSE;
        }
        h = g_strdup(eq + 1);
    }
    const char *port_s = s;
    g_autofree char *a = NULL;
    if (s[0] == '[') { /* [v6]:port */
        char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            g_set_error(error, MS_BRIDGE_ERROR, 0, "'%s': expected [ADDRESS]:PORT", text);
            return FALSE;
        }
        a = g_strndup(s + 1, (gsize) (close - s - 1));
        port_s = close + 2;
    } else {
        char *colon = strrchr(s, ':');
        if (colon) {
            a = g_strndup(s, (gsize) (colon - s));
            port_s = colon + 1;
        }
    }
    guint64 p = 0;
    if (!*port_s || !g_ascii_string_to_unsigned(port_s, 10, 0, 65535, &p, NULL)) {
        g_set_error(error, MS_BRIDGE_ERROR, 0, "'%s': '%s' is not a port number (0 to 65535)", text,
                    port_s);
        return FALSE;
    }
    if (a && !*a) {
        g_set_error(error, MS_BRIDGE_ERROR, 0, "'%s': empty address", text);
        return FALSE;
    }
    if (a) {
        g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(a);
        if (!ia) {
            g_set_error(error, MS_BRIDGE_ERROR, 0, "'%s': '%s' is not an IP address", text, a);
            return FALSE;
        }
    }
    *port = (guint16) p;
    *addr = g_steal_pointer(&a);
    *host = g_steal_pointer(&h);
    return TRUE;
}

MsTime
ms_bridge_pace(MsTime sim_base, gint64 wall_base_us, gint64 wall_us, double speed)
{
    if (wall_us <= wall_base_us || speed <= 0.0)
        return sim_base;
    double add = (double) (wall_us - wall_base_us) * (double) MS_TIME_US * speed;
    if (add >= (double) (MS_TIME_INFINITE - sim_base))
        return MS_TIME_INFINITE - 1;
    return sim_base + (MsTime) add;
}

/* --- finding the simulated servers ----------------------------------------- */

static guint
server_for(MsBridge *b, const char *host_id, GError **error)
{
    const MsScenario *sc = ms_world_scenario(b->world);
    if (host_id) {
        for (guint i = 0; i < sc->hosts->len; i++) {
            const MsScenarioHost *h = &g_array_index(sc->hosts, MsScenarioHost, i);
            if (strcmp(h->id, host_id) != 0)
                continue;
            if (h->mailserver < 0) {
                g_set_error(error, MS_BRIDGE_ERROR, 0, "host '%s' is not a mail server", host_id);
                return G_MAXUINT;
            }
            return ms_mail_server_by_host(b->mail, (MsHostId) i);
        }
        g_set_error(error, MS_BRIDGE_ERROR, 0, "the scenario has no host '%s'", host_id);
        return G_MAXUINT;
    }
    for (guint i = 0; i < sc->mailservers->len; i++) {
        const MsScenarioMailserver *m = &g_array_index(sc->mailservers, MsScenarioMailserver, i);
        if (m->users->len > 0)
            return ms_mail_server_by_host(b->mail, m->host);
    }
    g_set_error(error, MS_BRIDGE_ERROR, 0, "the scenario has no mail server with users");
    return G_MAXUINT;
}

/* --- listeners --------------------------------------------------------------- */

static gboolean
on_incoming(GSocketService *svc, GSocketConnection *conn, GObject *source, gpointer ud)
{
    MsBridge *b = ud;
    (void) source;
    b->stats.connections++;
    if (svc == b->smtp_svc || svc == b->smtps_svc)
        ms__bridge_smtp_accept(b, conn, svc == b->smtps_svc);
    else if (svc == b->imap_svc || svc == b->imaps_svc)
        ms__bridge_imap_accept(b, conn, svc == b->imaps_svc);
    else
        ms__bridge_pop3_accept(b, conn, svc == b->pop3s_svc);
    return TRUE;
}

static GSocketService *
listen_on(MsBridge *b, const char *addr, guint16 port, guint16 *bound, char **bound_addr,
          GError **error)
{
    g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(addr ? addr : "127.0.0.1");
    if (!ia) {
        g_set_error(error, MS_BRIDGE_ERROR, 0, "'%s' is not an IP address", addr);
        return NULL;
    }
    g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(ia, port);
    g_autoptr(GSocketService) svc = g_socket_service_new();
    g_socket_listener_set_backlog(G_SOCKET_LISTENER(svc), LISTEN_BACKLOG);
    g_autoptr(GSocketAddress) eff = NULL;
    if (!g_socket_listener_add_address(G_SOCKET_LISTENER(svc), sa, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, NULL, &eff, error))
        return NULL;
    *bound = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(eff));
    *bound_addr = g_inet_address_to_string(ia);
    g_signal_connect(svc, "incoming", G_CALLBACK(on_incoming), b);
    g_socket_service_start(svc);
    return g_steal_pointer(&svc);
}

/* --- pacing ------------------------------------------------------------------ */

void
ms_bridge_pace_now(MsBridge *b)
{
    if (b->cfg.speed > 0.0) {
        MsTime target =
            ms_bridge_pace(b->sim_base, b->wall_base, g_get_monotonic_time(), b->cfg.speed);
        if (target > ms_engine_now(b->engine))
            ms_engine_run(b->engine, target);
    } else {
        gint64 deadline = g_get_monotonic_time() + MAX_SLICE_US;
        for (guint k = 1; ms_engine_next_time(b->engine) != MS_TIME_INFINITE; k++) {
            ms_engine_step(b->engine);
            if (k % 256 == 0 && g_get_monotonic_time() > deadline)
                break;
        }
    }
    ms__bridge_inject_settle(b);
    ms__bridge_imap_tick(b);
}

static gboolean
on_pace(gpointer ud)
{
    ms_bridge_pace_now(ud);
    return G_SOURCE_CONTINUE;
}

static gboolean
on_housekeeping(gpointer ud)
{
    MsBridge *b = ud;
    ms__bridge_conns_check_timeouts(b, g_get_monotonic_time());
    return G_SOURCE_CONTINUE;
}

/* Puts back what the spool kept when the last bridge stopped (or died):
 * world mail into the simulation, relay mail into the relay's queue; relay
 * mail without --relay-out stays in the spool for a later run. */
static gboolean
recover_spool(MsBridge *b, GError **error)
{
    g_autoptr(GPtrArray) found = ms__bridge_spool_read(b, error);
    if (!found)
        return FALSE;
    for (guint i = 0; i < found->len; i++) {
        const BridgeSpooled *m = g_ptr_array_index(found, i);
        const char *const *rcpts = (const char *const *) m->rcpts;
        if (!m->for_relay) {
            /* Recipients whose Maildir has this message already: not again. */
            g_autofree char *id = ms__bridge_spool_id(m->path);
            g_autoptr(GPtrArray) left = g_ptr_array_new();
            for (const char *const *r = rcpts; *r; r++) {
                if (ms__bridge_maildir_has(b->maildir, *r, id))
                    b->stats.recovered_dup++;
                else
                    g_ptr_array_add(left, (gpointer) *r);
            }
            g_ptr_array_add(left, NULL);
            if (!g_ptr_array_index(left, 0)) {
                ms__bridge_spool_remove(b, m->path);
                continue;
            }
            MsMailInjectInfo info = { "spool", "127.0.0.1", TRUE, FALSE, "spool", FALSE };
            ms__bridge_inject(b, m->from, (const char *const *) left->pdata, m->data, &info,
                              m->path, NULL);
        } else if (b->relay) {
            ms__bridge_relay_queue(b->relay, m->from, rcpts, m->data, m->path);
        } else {
            g_printerr("mailsim bridge: spool: %s waits for --relay-out; left in place\n", m->path);
            continue;
        }
        b->stats.recovered++;
    }
    return TRUE;
}

/* --- life cycle --------------------------------------------------------------- */

MsBridge *
ms_bridge_new(MsWorld *world, const MsBridgeConfig *cfg, GError **error)
{
    g_return_val_if_fail(world && cfg, NULL);
    g_autoptr(MsBridge) b = g_new0(MsBridge, 1);
    b->world = world;
    b->mail = ms_world_mail(world);
    b->engine = ms_world_engine(world);
    config_copy(&b->cfg, cfg);
    g_queue_init(&b->conns);
    b->pending = g_ptr_array_new_with_free_func(ms__bridge_inject_job_free);
    b->spool_ids = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    b->commit_wait = g_ptr_array_new_with_free_func(ms__bridge_smtp_waiting_free);
    b->smtp_server = b->pop3_server = b->imap_server = G_MAXUINT;
    b->smtp_server = server_for(b, cfg->smtp_host, error);
    if (b->smtp_server == G_MAXUINT)
        return NULL;
    b->pop3_server = cfg->pop3_host ? server_for(b, cfg->pop3_host, error) : b->smtp_server;
    if (b->pop3_server == G_MAXUINT)
        return NULL;
    b->imap_server = cfg->imap_host ? server_for(b, cfg->imap_host, error) : b->smtp_server;
    if (b->imap_server == G_MAXUINT)
        return NULL;
    if (cfg->relay_out) {
        b->relay = ms__bridge_relay_new(b, cfg->relay_out, error);
        if (!b->relay)
            return NULL;
        /* Simulated servers' mail for outside the world leaves through it. */
        ms_mail_set_outbound(b->mail, ms__bridge_relay_outbound, b->relay);
    }
    if (cfg->spool_dir) {
        if (g_mkdir_with_parents(cfg->spool_dir, 0700) != 0) {
            g_set_error(error, MS_BRIDGE_ERROR, 0, "--spool %s: cannot create the directory",
                        cfg->spool_dir);
            return NULL;
        }
    }
    if (cfg->spool_dir && !(b->maildir = ms__bridge_maildir_open(b, error)))
        return NULL;
    if (cfg->imap || cfg->imaps) {
        /* UIDVALIDITY: INBOX's UIDs are the store's uid numbers. Without
         * --spool they live as long as this run, so the start time, which
         * a restart changes (RFC 9051 2.3.1.1); with --spool the Maildir
         * keeps them, and the UIDVALIDITY is kept beside them. Other
         * folders live in memory: theirs from the start time always.
         * INTERNALDATE maps simulated time onto the wall clock at start. */
        gint64 now_s = g_get_real_time() / G_USEC_PER_SEC;
        gint64 sim_s = (gint64) (ms_engine_now(b->engine) / MS_TIME_S);
        guint32 start = (guint32) (now_s & 0x7fffffff);
        guint32 inbox = start;
        if (b->maildir) {
            inbox = ms__bridge_maildir_uidvalidity(b->maildir, b->imap_server, start, error);
            if (!inbox) {
                g_prefix_error(error, "--spool: ");
                return NULL;
            }
        }
        b->imap =
            ms_mail_imap_new(ms_mail_server_store(b->mail, b->imap_server), inbox, now_s - sim_s);
        /* a folder's UIDVALIDITY is above INBOX's and new in every run;
         * with --spool the folders kept on disk keep theirs */
        ms_mail_imap_set_folder_uidvalidity(b->imap, MAX(start, inbox + 1));
        if (b->maildir && !ms__bridge_maildir_load_folders(b->maildir, b->imap, b->imap_server,
                                                           MAX(start, inbox + 1) - 1, error)) {
            g_prefix_error(error, "--spool: IMAP folder: ");
            return NULL;
        }
    }
    if (!ms__bridge_tls_setup(b, error))
        return NULL;
    if (cfg->smtp) {
        b->smtp_svc =
            listen_on(b, cfg->smtp_addr, cfg->smtp_port, &b->smtp_port, &b->smtp_bound, error);
        if (!b->smtp_svc) {
            g_prefix_error(error, "SMTP listener: ");
            return NULL;
        }
    }
    if (cfg->pop3) {
        b->pop3_svc =
            listen_on(b, cfg->pop3_addr, cfg->pop3_port, &b->pop3_port, &b->pop3_bound, error);
        if (!b->pop3_svc) {
            g_prefix_error(error, "POP3 listener: ");
            return NULL;
        }
    }
    if (cfg->smtps) {
        b->smtps_svc =
            listen_on(b, cfg->smtps_addr, cfg->smtps_port, &b->smtps_port, &b->smtps_bound, error);
        if (!b->smtps_svc) {
            g_prefix_error(error, "SMTPS listener: ");
            return NULL;
        }
    }
    if (cfg->pop3s) {
        b->pop3s_svc =
            listen_on(b, cfg->pop3s_addr, cfg->pop3s_port, &b->pop3s_port, &b->pop3s_bound, error);
        if (!b->pop3s_svc) {
            g_prefix_error(error, "POP3S listener: ");
            return NULL;
        }
    }
    if (cfg->imap) {
        b->imap_svc =
            listen_on(b, cfg->imap_addr, cfg->imap_port, &b->imap_port, &b->imap_bound, error);
        if (!b->imap_svc) {
            g_prefix_error(error, "IMAP listener: ");
            return NULL;
        }
    }
    if (cfg->imaps) {
        b->imaps_svc =
            listen_on(b, cfg->imaps_addr, cfg->imaps_port, &b->imaps_port, &b->imaps_bound, error);
        if (!b->imaps_svc) {
            g_prefix_error(error, "IMAPS listener: ");
            return NULL;
        }
    }
    b->wall_base = g_get_monotonic_time();
    b->sim_base = ms_engine_now(b->engine);
    if (cfg->spool_dir && !recover_spool(b, error))
        return NULL;
    b->pacer = g_timeout_add(b->cfg.speed > 0.0 ? PACE_MS : 1, on_pace, b);
    b->housekeeping = g_timeout_add(HOUSEKEEPING_MS, on_housekeeping, b);
    return g_steal_pointer(&b);
}

static void
stop_service(GSocketService **svc)
{
    if (*svc) {
        g_socket_service_stop(*svc);
        g_socket_listener_close(G_SOCKET_LISTENER(*svc));
        g_clear_object(svc);
    }
}

void
ms_bridge_free(MsBridge *b)
{
    if (!b)
        return;
    b->stopping = TRUE;
    if (b->pacer)
        g_source_remove(b->pacer);
    if (b->housekeeping)
        g_source_remove(b->housekeeping);
    stop_service(&b->smtp_svc);
    stop_service(&b->pop3_svc);
    stop_service(&b->smtps_svc);
    stop_service(&b->pop3s_svc);
    stop_service(&b->imap_svc);
    stop_service(&b->imaps_svc);
    ms__bridge_smtp_flush(b); /* messages waiting for their commit */
    while (b->conns.head)
        ms__bridge_conn_free(b->conns.head->data);
    if (b->relay)
        ms_mail_set_outbound(b->mail, NULL, NULL);
    ms__bridge_relay_free(b->relay);
    g_ptr_array_unref(b->pending);
    g_hash_table_destroy(b->spool_ids);
    ms__bridge_maildir_free(b->maildir);
    g_free(b->smtp_bound);
    g_free(b->pop3_bound);
    g_free(b->smtps_bound);
    g_free(b->pop3s_bound);
    g_free(b->imap_bound);
    g_free(b->imaps_bound);
    ms_mail_imap_free(b->imap); /* after the sessions that use it */
    ms__bridge_tls_clear(b);
    ms_bridge_config_clear(&b->cfg);
    g_free(b);
}

guint16
ms_bridge_smtp_port(const MsBridge *b)
{
    return b->smtp_port;
}
guint16
ms_bridge_pop3_port(const MsBridge *b)
{
    return b->pop3_port;
}
const char *
ms_bridge_smtp_address(const MsBridge *b)
{
    return b->smtp_bound;
}
const char *
ms_bridge_pop3_address(const MsBridge *b)
{
    return b->pop3_bound;
}
guint16
ms_bridge_smtps_port(const MsBridge *b)
{
    return b->smtps_port;
}
guint16
ms_bridge_pop3s_port(const MsBridge *b)
{
    return b->pop3s_port;
}
const char *
ms_bridge_smtps_address(const MsBridge *b)
{
    return b->smtps_bound;
}
const char *
ms_bridge_pop3s_address(const MsBridge *b)
{
    return b->pop3s_bound;
}

void
ms_bridge_get_stats(const MsBridge *b, MsBridgeStats *st)
{
    *st = b->stats;
    st->spool_pending = b->pending->len;
    st->maildir_loaded = ms__bridge_maildir_loaded(b->maildir);
}

guint16
ms_bridge_imap_port(const MsBridge *b)
{
    return b->imap_port;
}

const char *
ms_bridge_imap_address(const MsBridge *b)
{
    return b->imap_bound;
}

guint16
ms_bridge_imaps_port(const MsBridge *b)
{
    return b->imaps_port;
}

const char *
ms_bridge_imaps_address(const MsBridge *b)
{
    return b->imaps_bound;
}

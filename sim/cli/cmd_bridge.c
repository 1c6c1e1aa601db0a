/* `mailsim bridge [FILE]`: builds the world of a scenario (the built-in
 * first lesson by default), attaches real SMTP and POP3 listeners to its
 * mail servers (include/mailsim/bridge.h) and runs a GMainLoop until
 * SIGINT or SIGTERM, then prints the bridge's and the simulation's
 * statistics and whether the accounting balances. The TLS certificate in
 * use is printed first ("bridge: tls-cert FILE ..."), then the bound
 * addresses on one line, so scripts can use port 0. Exit 0 after a
 * clean stop with balanced accounting, 1 when mail is unaccounted for, 2
 * for bad usage or a scenario or socket that cannot be set up. */
#include "mailsim/bridge.h"
#include "mailsim/cli.h"
#include "mailsim/sinks.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean
on_signal(gpointer ud)
{
    g_main_loop_quit(ud);
    return G_SOURCE_CONTINUE;
}

static void
print_stats(MsBridge *b, MsWorld *w, FILE *out)
{
    MsBridgeStats bs;
    ms_bridge_get_stats(b, &bs);
    MsMailStats st;
    ms_mail_get_stats(ms_world_mail(w), &st);
    g_autofree char *now = ms_time_to_string(ms_engine_now(ms_world_engine(w)));
    fprintf(out,
            "bridge-stats: connections=%" G_GUINT64_FORMAT " refused=%" G_GUINT64_FORMAT
            " smtp_sessions=%" G_GUINT64_FORMAT " pop3_sessions=%" G_GUINT64_FORMAT
            " timeouts=%" G_GUINT64_FORMAT " aborted=%" G_GUINT64_FORMAT
            " tls_sessions=%" G_GUINT64_FORMAT " tls_failed=%" G_GUINT64_FORMAT
            " imap_sessions=%" G_GUINT64_FORMAT "\n",
            bs.connections, bs.refused, bs.smtp_sessions, bs.pop3_sessions, bs.timeouts, bs.aborted,
            bs.tls_sessions, bs.tls_failed, bs.imap_sessions);
    fprintf(out,
            "bridge-mail: accepted=%" G_GUINT64_FORMAT " bytes=%" G_GUINT64_FORMAT
            " rcpts_world=%" G_GUINT64_FORMAT " rcpts_relay=%" G_GUINT64_FORMAT
            " relay_sent=%" G_GUINT64_FORMAT " relay_failed=%" G_GUINT64_FORMAT
            " relay_queued=%" G_GUINT64_FORMAT " relay_attempts=%" G_GUINT64_FORMAT "\n",
            bs.messages, bs.bytes, bs.rcpts_world, bs.rcpts_relay, bs.relay_sent, bs.relay_failed,
            bs.relay_queued, bs.relay_attempts);
    fprintf(out,
            "bridge-spool: spooled=%" G_GUINT64_FORMAT " recovered=%" G_GUINT64_FORMAT
            " pending=%" G_GUINT64_FORMAT " maildir_loaded=%" G_GUINT64_FORMAT
            " maildir_written=%" G_GUINT64_FORMAT " recovered_dup=%" G_GUINT64_FORMAT
            " maildir_read=%" G_GUINT64_FORMAT " spool_commits=%" G_GUINT64_FORMAT "\n",
            bs.spooled, bs.recovered, bs.spool_pending, bs.maildir_loaded, bs.maildir_written,
            bs.recovered_dup, bs.maildir_read, bs.spool_commits);
    fprintf(out,
            "sim-mail: t=%s messages=%u dsns=%u delivered=%u bounced=%u queued=%u refused=%u "
            "retrieved=%u"
            " smtp_sessions=%" G_GUINT64_FORMAT " pop3_sessions=%" G_GUINT64_FORMAT "\n",
            now, st.messages, st.dsns, st.delivered, st.bounced, st.queued, st.refused,
            st.retrieved, st.smtp_sessions, st.pop3_sessions);
    MsMail *m = ms_world_mail(w);
    for (guint i = 0; i < ms_mail_n_servers(m); i++) {
        guint stored = 0, deleted = 0;
        guint64 bytes = 0;
        ms_mail_store_totals(ms_mail_server_store(m, i), &stored, &deleted, &bytes);
        fprintf(out, "sim-store: %s stored=%u deleted=%u bytes=%" G_GUINT64_FORMAT "\n",
                ms_mail_server_hostname(m, i), stored, deleted, bytes);
    }
}

/* Runs a bridge on `w` until SIGINT or SIGTERM; the exit status. */
static int
run_bridge(MsWorld *w, const MsBridgeConfig *cfg, const char *speed_s)
{
    g_autoptr(GError) error = NULL;
    /* A client that vanishes must not kill the bridge with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    g_autoptr(MsBridge) b = ms_bridge_new(w, cfg, &error);
    if (!b) {
        fprintf(stderr, "mailsim bridge: %s\n", error->message);
        return MS_EXIT_USAGE;
    }
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    guint s1 = g_unix_signal_add(SIGINT, on_signal, loop);
    guint s2 = g_unix_signal_add(SIGTERM, on_signal, loop);
    gboolean generated = FALSE;
    const char *cert = ms_bridge_tls_cert_path(b, &generated);
    printf("bridge: tls-cert %s (%s; SHA-256 %s)%s\n", cert,
           generated ? "self-signed, made by this bridge" : "given", ms_bridge_tls_fingerprint(b),
           cfg->allow_plaintext_auth ? "; logins allowed without TLS" : "");
    printf("bridge:");
    if (cfg->smtp)
        printf(" smtp %s:%u", ms_bridge_smtp_address(b), ms_bridge_smtp_port(b));
    if (cfg->pop3)
        printf(" pop3 %s:%u", ms_bridge_pop3_address(b), ms_bridge_pop3_port(b));
    if (cfg->imap)
        printf(" imap %s:%u", ms_bridge_imap_address(b), ms_bridge_imap_port(b));
    if (cfg->imaps)
        printf(" imaps %s:%u", ms_bridge_imaps_address(b), ms_bridge_imaps_port(b));
    if (cfg->smtps)
        printf(" smtps %s:%u", ms_bridge_smtps_address(b), ms_bridge_smtps_port(b));
    if (cfg->pop3s)
        printf(" pop3s %s:%u", ms_bridge_pop3s_address(b), ms_bridge_pop3s_port(b));
    printf(" speed %s\n", cfg->speed > 0 ? speed_s ? speed_s : "1" : "max");
    fflush(stdout);
    g_main_loop_run(loop);
    g_source_remove(s1);
    g_source_remove(s2);
    ms_bridge_pace_now(b);
    printf("bridge: stopping\n");
    print_stats(b, w, stdout);
    g_autoptr(GString) report = g_string_new(NULL);
    gboolean ok = ms_mail_check_balance(ms_world_mail(w), report);
    printf("accounting: %s\n%s", ok ? "balanced" : "NOT balanced", report->str);
    fflush(stdout);
    return ok ? MS_EXIT_OK : MS_EXIT_FAILED;
}

int
ms_cmd_bridge(int argc, char **argv)
{
    const char *cmd = "bridge";
    g_autofree char *smtp_s = NULL, *pop3_s = NULL, *speed_s = NULL, *relay_s = NULL,
                    *spool_s = NULL;
    g_autofree char *maxconn_s = NULL, *maxrcpt_s = NULL, *maxsize_s = NULL, *idle_s = NULL,
                    *cmdto_s = NULL;
    g_autofree char *level_s = NULL, *seed_s = NULL, *retry_s = NULL, *giveup_s = NULL;
    g_autofree char *smtps_s = NULL, *pop3s_s = NULL, *cert_s = NULL, *key_s = NULL;
    g_autofree char *imap_s = NULL, *imaps_s = NULL;
    gboolean quiet = FALSE, plaintext_auth = FALSE;
    GOptionEntry entries[] = {
        { "smtp", 0, 0, G_OPTION_ARG_STRING, &smtp_s,
          "listen for SMTP (port 0: any free port); HOST: the scenario's mail server",
          "[ADDR:]PORT[=HOST]" },
        { "pop3", 0, 0, G_OPTION_ARG_STRING, &pop3_s,
          "listen for POP3 (default HOST: the SMTP one)", "[ADDR:]PORT[=HOST]" },
        { "smtps", 0, 0, G_OPTION_ARG_STRING, &smtps_s,
          "listen for SMTP inside TLS from the first octet (submissions, like port 465)",
          "[ADDR:]PORT[=HOST]" },
        { "pop3s", 0, 0, G_OPTION_ARG_STRING, &pop3s_s,
          "listen for POP3 inside TLS from the first octet (like port 995)", "[ADDR:]PORT[=HOST]" },
        { "imap", 0, 0, G_OPTION_ARG_STRING, &imap_s,
          "listen for IMAP (default HOST: the SMTP one)", "[ADDR:]PORT[=HOST]" },
        { "imaps", 0, 0, G_OPTION_ARG_STRING, &imaps_s,
          "listen for IMAP inside TLS from the first octet (like port 993)", "[ADDR:]PORT[=HOST]" },
        { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &cert_s,
          "PEM certificate (chain) for TLS (default: a self-signed one, made at start)", "FILE" },
        { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &key_s,
          "PEM private key of --tls-cert (default: in the same file)", "FILE" },
        { "allow-plaintext-auth", 0, 0, G_OPTION_ARG_NONE, &plaintext_auth,
          "accept AUTH, USER/PASS and APOP outside TLS (local testing only: passwords travel in "
          "clear)",
          NULL },
        { "speed", 0, 0, G_OPTION_ARG_STRING, &speed_s,
          "simulated seconds per wall second (default 1), or max", "X|max" },
        { "relay-out", 0, 0, G_OPTION_ARG_STRING, &relay_s,
          "hand mail for domains outside the world to this SMTP server", "HOST:PORT" },
        { "spool", 0, 0, G_OPTION_ARG_FILENAME, &spool_s,
          "keep accepted mail here until delivered (fsync'd before 250)", "DIR" },
        { "max-connections", 0, 0, G_OPTION_ARG_STRING, &maxconn_s,
          "connections at once, both listeners (default 100)", "N" },
        { "max-recipients", 0, 0, G_OPTION_ARG_STRING, &maxrcpt_s,
          "recipients per message (default: the server's policy)", "N" },
        { "max-size", 0, 0, G_OPTION_ARG_STRING, &maxsize_s,
          "message size in octets (default: the server's policy)", "N" },
        { "idle-timeout", 0, 0, G_OPTION_ARG_STRING, &idle_s,
          "close a silent client after this long (default 5min)", "TIME" },
        { "command-timeout", 0, 0, G_OPTION_ARG_STRING, &cmdto_s,
          "close a client that completes no command this long (default 10min)", "TIME" },
        { "relay-retry", 0, 0, G_OPTION_ARG_STRING, &retry_s,
          "first retry of a failed relay-out (default 1s, doubling)", "TIME" },
        { "relay-give-up", 0, 0, G_OPTION_ARG_STRING, &giveup_s,
          "bounce a real client's relay-out mail still undelivered after this long, wall clock "
          "(default 5d)",
          "TIME" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed (default: the scenario's)",
          "N" },
        { "level", 'l', 0, G_OPTION_ARG_STRING, &level_s,
          "narration detail: mail (default), protocol or packets", "LEVEL" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "no narration", NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("[FILE] - let real mail clients into a running simulation");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx,
        "Without FILE, bridges the built-in first lesson (" MS_CLI_DEFAULT_SCENARIO ").\n"
        "Addresses default to 127.0.0.1. Prints 'bridge: tls-cert FILE ...', then\n"
        "'bridge: smtp ADDR:PORT pop3 ADDR:PORT ...' once listening;\n"
        "stops on SIGINT or SIGTERM and prints statistics.\n"
        "SMTP and IMAP offer STARTTLS and POP3 STLS; TLS 1.2 or later. Logins only inside TLS\n"
        "unless --allow-plaintext-auth.\n"
        "Exit status: 0 stopped cleanly, 1 mail unaccounted for, 2 bad usage or input.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 2)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[2]);
    if (!smtp_s && !pop3_s && !smtps_s && !pop3s_s && !imap_s && !imaps_s)
        return ms_cli_usage(cmd, "give --smtp, --pop3, --imap, --smtps, --pop3s or --imaps");
    if (key_s && !cert_s)
        return ms_cli_usage(cmd, "--tls-key needs --tls-cert");

    g_auto(MsBridgeConfig) cfg;
    ms_bridge_config_init(&cfg);
    g_autoptr(GError) error = NULL;
    guint64 n = 0;
    MsTime t = 0;
    if (smtp_s) {
        cfg.smtp = TRUE;
        if (!ms_bridge_parse_endpoint(smtp_s, &cfg.smtp_addr, &cfg.smtp_port, &cfg.smtp_host,
                                      &error))
            return ms_cli_usage(cmd, "--smtp: %s", error->message);
    }
    if (pop3_s) {
        cfg.pop3 = TRUE;
        if (!ms_bridge_parse_endpoint(pop3_s, &cfg.pop3_addr, &cfg.pop3_port, &cfg.pop3_host,
                                      &error))
            return ms_cli_usage(cmd, "--pop3: %s", error->message);
    }
    if (imap_s) {
        cfg.imap = TRUE;
        if (!ms_bridge_parse_endpoint(imap_s, &cfg.imap_addr, &cfg.imap_port, &cfg.imap_host,
                                      &error))
            return ms_cli_usage(cmd, "--imap: %s", error->message);
    }
    /* The TLS listeners serve the same simulated servers: a HOST given on
     * both the clear and the TLS option must agree. */
    struct {
        const char *opt, *text;
        gboolean *on;
        char **addr, **host;
        guint16 *port;
    } tls_opts[] = {
        { "--smtps", smtps_s, &cfg.smtps, &cfg.smtps_addr, &cfg.smtp_host, &cfg.smtps_port },
        { "--pop3s", pop3s_s, &cfg.pop3s, &cfg.pop3s_addr, &cfg.pop3_host, &cfg.pop3s_port },
        { "--imaps", imaps_s, &cfg.imaps, &cfg.imaps_addr, &cfg.imap_host, &cfg.imaps_port },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(tls_opts); i++) {
        if (!tls_opts[i].text)
            continue;
        g_autofree char *host = NULL;
        *tls_opts[i].on = TRUE;
        if (!ms_bridge_parse_endpoint(tls_opts[i].text, tls_opts[i].addr, tls_opts[i].port, &host,
                                      &error))
            return ms_cli_usage(cmd, "%s: %s", tls_opts[i].opt, error->message);
        if (host && *tls_opts[i].host && strcmp(host, *tls_opts[i].host) != 0)
            return ms_cli_usage(cmd, "%s: host '%s' differs from the clear-text listener's '%s'",
                                tls_opts[i].opt, host, *tls_opts[i].host);
        if (host && !*tls_opts[i].host)
            *tls_opts[i].host = g_steal_pointer(&host);
    }
    cfg.tls_cert = g_strdup(cert_s);
    cfg.tls_key = g_strdup(key_s);
    cfg.allow_plaintext_auth = plaintext_auth;
    if (speed_s && strcmp(speed_s, "max") == 0) {
        cfg.speed = 0.0;
    } else if (speed_s) {
        char *end = NULL;
        double v = g_ascii_strtod(speed_s, &end);
        if (end == speed_s || *end || !(v > 0.0 && v <= 1e9))
            return ms_cli_usage(cmd, "--speed: '%s' is not a positive number or 'max'", speed_s);
        cfg.speed = v;
    }
    cfg.relay_out = g_strdup(relay_s);
    cfg.spool_dir = g_strdup(spool_s);
    if (maxconn_s) {
        if (!ms_cli_arg_count(cmd, "--max-connections", maxconn_s, &n))
            return MS_EXIT_USAGE;
        if (n == 0 || n > 100000)
            return ms_cli_usage(cmd, "--max-connections: from 1 to 100000");
        cfg.max_connections = (guint) n;
    }
    if (maxrcpt_s) {
        if (!ms_cli_arg_count(cmd, "--max-recipients", maxrcpt_s, &n))
            return MS_EXIT_USAGE;
        cfg.max_recipients = (guint) MIN(n, G_MAXUINT);
    }
    if (maxsize_s) {
        if (!ms_cli_arg_count(cmd, "--max-size", maxsize_s, &n))
            return MS_EXIT_USAGE;
        cfg.max_size = n;
    }
    if (idle_s) {
        if (!ms_cli_arg_time(cmd, "--idle-timeout", idle_s, &t))
            return MS_EXIT_USAGE;
        cfg.idle_timeout_ms = (guint) MIN(t / MS_TIME_MS, G_MAXUINT);
    }
    if (cmdto_s) {
        if (!ms_cli_arg_time(cmd, "--command-timeout", cmdto_s, &t))
            return MS_EXIT_USAGE;
        cfg.command_timeout_ms = (guint) MIN(t / MS_TIME_MS, G_MAXUINT);
    }
    if (retry_s) {
        if (!ms_cli_arg_time(cmd, "--relay-retry", retry_s, &t))
            return MS_EXIT_USAGE;
        cfg.relay_retry_ms = (guint) MAX(1, MIN(t / MS_TIME_MS, G_MAXUINT));
    }
    if (giveup_s) {
        if (!ms_cli_arg_time(cmd, "--relay-give-up", giveup_s, &t))
            return MS_EXIT_USAGE;
        cfg.relay_give_up_ms = t / MS_TIME_MS;
    }
    guint64 seed = 0;
    if (seed_s && !ms_cli_arg_count(cmd, "--seed", seed_s, &seed))
        return MS_EXIT_USAGE;
    MsNarrateLevel level = MS_NARRATE_MAIL;
    if (level_s && !ms_cli_arg_level(cmd, level_s, &level))
        return MS_EXIT_USAGE;

    g_autoptr(MsScenario) sc = ms_cli_load_scenario(argc == 2 ? argv[1] : NULL, &error);
    if (!sc) {
        fprintf(stderr, "mailsim bridge: %s\n", error->message);
        return MS_EXIT_USAGE;
    }
    g_autoptr(MsWorld) w = ms_world_new(sc, seed, &error);
    if (!w) {
        fprintf(stderr, "mailsim bridge: %s\n", error->message);
        return MS_EXIT_USAGE;
    }
    if (!quiet)
        ms_trace_add_sink(ms_net_trace(ms_world_net(w)), ms_narrator_record,
                          ms_narrator_new(ms_world_net(w), stdout, level, isatty(STDOUT_FILENO)),
                          ms_narrator_free);
    return run_bridge(w, &cfg, speed_s);
}

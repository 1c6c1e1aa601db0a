/* `mailsim gen`: writes a generated benchmark world as a scenario file (the
 * same elements a <generate> element stands for), so it can be read,
 * edited or diffed. */
#include "mailsim/cli.h"
#include "mailsim/output_file.h"
#include "mailsim/generate.h"
#include "mailsim/units.h"

#include <stdio.h>
#include <string.h>

int
ms_cmd_gen(int argc, char **argv)
{
    const char *cmd = "gen";
    g_autofree char *auth = NULL;
    g_autofree char *topo = NULL, *domains = NULL, *routers = NULL, *users = NULL, *messages = NULL,
                    *duration = NULL, *seed = NULL, *out = NULL, *name = NULL;
    GOptionEntry entries[] = {
        { "auth", 0, 0, G_OPTION_ARG_STRING, &auth,
          "sender authentication on every domain: none (default), rsa or ed25519 (DKIM keys of "
          "that kind; SPF, DMARC p=reject; as <generate auth=...>)",
          "KIND" },
        { "topology", 0, 0, G_OPTION_ARG_STRING, &topo, "transit-stub (default) or scale-free",
          "KIND" },
        { "domains", 0, 0, G_OPTION_ARG_STRING, &domains, "mail domains (default 100)", "D" },
        { "routers", 0, 0, G_OPTION_ARG_STRING, &routers, "routers (default 1000)", "R" },
        { "users", 0, 0, G_OPTION_ARG_STRING, &users,
          "users over all domains (default 100 per domain)", "U" },
        { "messages", 0, 0, G_OPTION_ARG_STRING, &messages,
          "messages expected over the duration (default 10 per user)", "M" },
        { "duration", 0, 0, G_OPTION_ARG_STRING, &duration, "how long traffic lasts (default 1d)",
          "TIME" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "generator seed (default 1)", "S" },
        { "name", 0, 0, G_OPTION_ARG_STRING, &name, "scenario name (default generated)", "NAME" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "write to FILE instead of standard output",
          "FILE" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("- write a generated benchmark world as a scenario");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 1)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[1]);
    MsGenParams p = { 0 };
    p.seed = 1;
    guint64 v;
    if (topo) {
        if (strcmp(topo, "scale-free") == 0)
            p.topology = MS_GEN_SCALE_FREE;
        else if (strcmp(topo, "transit-stub") != 0)
            return ms_cli_usage(
                cmd, "--topology: '%s' is not a topology: expected transit-stub or scale-free",
                topo);
    }
    if (auth) {
        if (strcmp(auth, "rsa") == 0)
            p.auth = 1;
        else if (strcmp(auth, "ed25519") == 0)
            p.auth = 2;
        else if (strcmp(auth, "none") != 0)
            return ms_cli_usage(cmd, "--auth: '%s': expected none, rsa or ed25519", auth);
    }
    struct {
        const char *opt, *val;
        guint64 max;
    } counts[] = {
        { "--domains", domains, 1000000 }, { "--routers", routers, 10000000 },
        { "--users", users, 100000000 },   { "--messages", messages, 1000000000 },
        { "--seed", seed, G_MAXUINT64 },
    };
    guint64 vals[G_N_ELEMENTS(counts)] = { 0 };
    for (gsize i = 0; i < G_N_ELEMENTS(counts); i++) {
        if (!counts[i].val)
            continue;
        if (!ms_cli_arg_count(cmd, counts[i].opt, counts[i].val, &v))
            return MS_EXIT_USAGE;
        if (v > counts[i].max || (v == 0 && i < 2))
            return ms_cli_usage(cmd, "%s: '%s' out of range: expected 1 to %" G_GUINT64_FORMAT,
                                counts[i].opt, counts[i].val, counts[i].max);
        vals[i] = v;
    }
    p.domains = (guint32) vals[0];
    p.routers = (guint32) vals[1];
    p.users = vals[2];
    p.messages = vals[3];
    if (seed)
        p.seed = vals[4];
    if (duration && (!ms_cli_arg_time(cmd, "--duration", duration, &p.duration) || p.duration <= 0))
        return p.duration <= 0 && duration
                   ? ms_cli_usage(cmd, "--duration: must be greater than zero")
                   : MS_EXIT_USAGE;
    g_autofree char *doc = ms_generate_scenario(&p, name ? name : "generated");
    if (out) {
        g_autoptr(GError) error = NULL;
        if (!ms_output_file_write(out, doc, strlen(doc), &error)) {
            fprintf(stderr, "mailsim gen: %s\n", error->message);
            return MS_EXIT_USAGE;
        }
        return MS_EXIT_OK;
    }
    fputs(doc, stdout);
    return MS_EXIT_OK;
}

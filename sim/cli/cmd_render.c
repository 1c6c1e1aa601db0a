/* `mailsim render [FILE] [-o OUT] [--kind hops|sequence|plots|story|map|routing]
 * [--message ID] [--seed N]`: runs a scenario (the built-in first lesson
 * when no file is given) with an in-memory recorder on its trace and draws
 * a picture of the run with viz/ (include/mailsim/viz.h). The output's
 * extension picks the format; without -o the picture is NAME-KIND.png
 * (NAME-story.html for the story) in the current directory, NAME being the
 * scenario's name. With --kind sweep FILE is the JSON of `mailsim sweep
 * --json` and with --kind bench the CSV `make bench` writes
 * (build/bench-worlds.csv); the picture is of those many runs and no
 * scenario runs. Prints the path written. Exit 0 on success, 2 for bad
 * usage, a bad scenario or an output that cannot be written. */
#include "mailsim/cli.h"
#include "mailsim/embedded.h"
#include "mailsim/scenario.h"
#include "mailsim/sweep_results.h"
#include "mailsim/viz.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_SCENARIO "scenarios/teaching/01-first-email.xml"

int
ms_cmd_render(int argc, char **argv)
{
    const char *cmd = "render";
    g_autofree char *out = NULL, *kind_s = NULL, *message_s = NULL, *seed_s = NULL, *width_s = NULL,
                    *height_s = NULL, *x = NULL, *split = NULL;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out,
          "where to write (.png, .svg, .pdf; .html for the story)", "OUT" },
        { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind_s,
          "hops (default), sequence, plots, story, sweep, bench, map or routing", "KIND" },
        { "message", 'm', 0, G_OPTION_ARG_STRING, &message_s,
          "the message to follow: label or id (default: the first)", "ID" },
        { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "random seed (default: the scenario's)",
          "N" },
        { "width", 0, 0, G_OPTION_ARG_STRING, &width_s,
          "page width in pixels (default 1600; grows to fit)", "PX" },
        { "height", 0, 0, G_OPTION_ARG_STRING, &height_s,
          "page height in pixels (default 1000; grows to fit)", "PX" },
        { "x", 0, 0, G_OPTION_ARG_STRING, &x, "with --kind sweep: this axis along x", "AXIS" },
        { "split", 0, 0, G_OPTION_ARG_STRING, &split,
          "with --kind sweep: one column of panels per value of this axis", "AXIS" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("[FILE] - run a scenario and draw a picture of it");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Without FILE, draws the built-in first lesson (" DEFAULT_SCENARIO ").\n"
             "Kinds: hops = the topology with the message's journey as numbered, timed arrows;\n"
             "sequence = the exchanges between hosts, time downwards; plots = delivery latency\n"
             "CDF and histogram; story = one HTML page that steps through the journey;\n"
             "sweep = FILE is a sweep's JSON (mailsim sweep --json): each statistic's mean,\n"
             "95 % CI and replications per grid point (with --x AXIS and --split AXIS: by\n"
             "axis, in small multiples); bench = FILE is the CSV of\n"
             "`make bench` (build/bench-worlds.csv): time per message against messages;\n"
             "map = an imported network on its coordinates, links by load; routing = the\n"
             "routing study: path stretch, hop counts and path latencies of delivered mail.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (argc > 2)
        return ms_cli_usage(cmd, "unexpected argument '%s'", argv[2]);
    g_autoptr(GError) error = NULL;
    MsVizOptions opt = { MS_VIZ_HOPS, 0, 0, 0 };
    if (kind_s && !ms_viz_kind_parse(kind_s, &opt.kind, &error))
        return ms_cli_usage(cmd, "%s", error->message);
    guint64 seed = 0, v = 0;
    if (seed_s && !ms_cli_arg_count(cmd, "--seed", seed_s, &seed))
        return MS_EXIT_USAGE;
    if (width_s) {
        if (!ms_cli_arg_count(cmd, "--width", width_s, &v))
            return MS_EXIT_USAGE;
        if (v < 200 || v > 20000)
            return ms_cli_usage(cmd, "--width: %s is out of range: expected 200 to 20000", width_s);
        opt.width = (double) v;
    }
    if (height_s) {
        if (!ms_cli_arg_count(cmd, "--height", height_s, &v))
            return MS_EXIT_USAGE;
        if (v < 200 || v > 20000)
            return ms_cli_usage(cmd, "--height: %s is out of range: expected 200 to 20000",
                                height_s);
        opt.height = (double) v;
    }

    if (opt.kind == MS_VIZ_SWEEP || opt.kind == MS_VIZ_BENCH) {
        if (argc != 2)
            return ms_cli_usage(cmd, "--kind %s: give the %s to draw as FILE",
                                ms_viz_kind_to_string(opt.kind),
                                opt.kind == MS_VIZ_SWEEP ? "sweep's JSON" : "benchmark CSV");
        if (!out) {
            g_autofree char *base = g_path_get_basename(argv[1]);
            char *dot = strrchr(base, '.');
            if (dot && dot != base)
                *dot = '\0';
            out = g_strdup_printf("%s-%s.png", base, ms_viz_kind_to_string(opt.kind));
        }
        if ((x || split) && opt.kind != MS_VIZ_SWEEP)
            return ms_cli_usage(cmd, "--x and --split are for --kind sweep");
        gboolean ok;
        if (x || split) {
            /* by axis (viz/sweep_small_multiples.c) */
            MsVizFormat format;
            g_autoptr(MsSweepResults) r = NULL;
            g_autoptr(MsVizCanvas) c = NULL;
            ok = ms_viz_format_from_path(out, &format, &error) &&
                 (r = ms_sweep_results_load_file(argv[1], &error)) &&
                 (c = ms_viz_sweep_by(r, NULL, x, split, format, opt.width, opt.height, &error)) &&
                 ms_viz_canvas_write(c, out, &error);
        } else {
            ok = ms_viz_render_file(opt.kind, argv[1], out, opt.width, opt.height, &error);
        }
        if (!ok) {
            fprintf(stderr, "mailsim render: %s\n", error->message);
            return MS_EXIT_USAGE;
        }
        printf("%s\n", out);
        return MS_EXIT_OK;
    }
    g_autoptr(MsScenario) sc = NULL;
    if (argc == 2) {
        sc = ms_scenario_load_file(argv[1], &error);
    } else {
        gsize len = 0;
        const guint8 *data = ms_embedded_get(DEFAULT_SCENARIO, &len);
        if (!data) {
            fprintf(stderr, "mailsim render: the built-in scenario is missing from this build\n");
            return MS_EXIT_USAGE;
        }
        sc = ms_scenario_load_memory((const char *) data, len, DEFAULT_SCENARIO, &error);
    }
    if (!sc) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    if (!out)
        out = g_strdup_printf("%s-%s.%s", sc->name, ms_viz_kind_to_string(opt.kind),
                              opt.kind == MS_VIZ_STORY ? "html" : "png");
    MsVizFormat format;
    if (!ms_viz_format_from_path(out, &format, &error))
        return ms_cli_usage(cmd, "-o: %s", error->message);

    g_autoptr(MsWorld) w = ms_world_new(sc, seed, &error);
    if (!w) {
        fprintf(stderr, "%s\n", error->message);
        return MS_EXIT_USAGE;
    }
    g_autoptr(MsRecorder) rec = ms_recorder_new(0, 0, FALSE);
    ms_recorder_attach(rec, ms_net_trace(ms_world_net(w)));
    ms_world_run(w, ms_world_default_until(w));
    if (message_s) {
        opt.message = ms_viz_message_lookup(ms_world_mail(w), message_s, &error);
        if (!opt.message)
            return ms_cli_usage(cmd, "%s", error->message);
    }
    gboolean ok = ms_viz_render(w, rec, &opt, out, &error);
    if (!ok) {
        fprintf(stderr, "mailsim render: %s\n", error->message);
        return MS_EXIT_USAGE;
    }
    printf("%s\n", out);
    return MS_EXIT_OK;
}

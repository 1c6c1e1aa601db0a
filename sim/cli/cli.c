/* The argument helpers every command of the mailsim CLI shares (see
 * include/mailsim/cli.h): one clear usage line per bad argument, the unit
 * parsers, the default scenario. The command table is in cli_main.c. */
#include "mailsim/cli.h"

#include <sys/resource.h>
#include "mailsim/units.h"
#include "mailsim/embedded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ms_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "mailsim %s: %s\nTry 'mailsim %s --help'.\n", cmd, msg, cmd);
    return MS_EXIT_USAGE;
}

gboolean
ms_cli_parse(GOptionContext *ctx, const char *cmd, int *argc, char ***argv)
{
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        ms_cli_usage(cmd, "%s", error->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_time(const char *cmd, const char *opt, const char *value, MsTime *out)
{
    g_autoptr(GError) error = NULL;
    if (!ms_units_parse_time(value, out, &error)) {
        ms_cli_usage(cmd, "%s: %s", opt, error->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_size(const char *cmd, const char *opt, const char *value, guint64 *out)
{
    g_autoptr(GError) error = NULL;
    if (!ms_units_parse_size(value, out, &error)) {
        ms_cli_usage(cmd, "%s: %s", opt, error->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_count(const char *cmd, const char *opt, const char *value, guint64 *out)
{
    g_autoptr(GError) error = NULL;
    if (!ms_units_parse_count(value, out, &error)) {
        ms_cli_usage(cmd, "%s: %s", opt, error->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_fidelity(const char *cmd, const char *opt, const char *value, gint *out)
{
    if (g_strcmp0(value, "packet") == 0)
        *out = 0;
    else if (g_strcmp0(value, "flow") == 0)
        *out = 1;
    else {
        ms_cli_usage(cmd, "%s: '%s' is not a fidelity: expected packet or flow", opt,
                     value ? value : "");
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_yes_no(const char *cmd, const char *opt, const char *value, gint *out)
{
    if (g_strcmp0(value, "yes") == 0 || g_strcmp0(value, "true") == 0)
        *out = 1;
    else if (g_strcmp0(value, "no") == 0 || g_strcmp0(value, "false") == 0)
        *out = 0;
    else {
        ms_cli_usage(cmd, "%s: '%s': expected yes or no", opt, value ? value : "");
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_cli_arg_fraction(const char *cmd, const char *opt, const char *value, double *out)
{
    char *end = NULL;
    double v = value ? g_ascii_strtod(value, &end) : 0;
    if (!value || end == value || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
        ms_cli_usage(cmd, "%s: '%s' is not a valid fraction: expected a number from 0 to 1", opt,
                     value ? value : "");
        return FALSE;
    }
    *out = v;
    return TRUE;
}

MsScenario *
ms_cli_load_scenario(const char *file, GError **error)
{
    if (file)
        return ms_scenario_load_file(file, error);
    gsize len = 0;
    const guint8 *data = ms_embedded_get(MS_CLI_DEFAULT_SCENARIO, &len);
    if (!data) {
        g_set_error(error, MS_SCENARIO_ERROR, MS_SCENARIO_ERROR_IO,
                    "the built-in scenario %s is missing from this build", MS_CLI_DEFAULT_SCENARIO);
        return NULL;
    }
    return ms_scenario_load_memory((const char *) data, len, MS_CLI_DEFAULT_SCENARIO, error);
}

gboolean
ms_cli_arg_level(const char *cmd, const char *value, MsNarrateLevel *out)
{
    static const struct {
        const char *name;
        MsNarrateLevel level;
    } levels[] = {
        { "mail", MS_NARRATE_MAIL },
        { "protocol", MS_NARRATE_PROTOCOL },
        { "packets", MS_NARRATE_PACKETS },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(levels); i++)
        if (g_strcmp0(value, levels[i].name) == 0) {
            *out = levels[i].level;
            return TRUE;
        }
    ms_cli_usage(cmd, "--level: '%s' is not a level: expected mail, protocol or packets",
                 value ? value : "");
    return FALSE;
}

long
ms_cli_peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* kilobytes on Linux */
}

/* The mailsim command line: `mailsim CMD [OPTIONS] [ARGS]`. Each command is
 * a function with a main()-like signature, listed in one table in
 * sim/cli/cli_main.c; options are parsed with GOptionContext. Exit status: 0 success,
 * 1 a run that failed (an expectation, a lost message), 2 bad usage or bad
 * input. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"
#include "mailsim/scenario.h"
#include "mailsim/sinks.h"

G_BEGIN_DECLS

enum {
    MS_EXIT_OK = 0,
    MS_EXIT_FAILED = 1,
    MS_EXIT_USAGE = 2,
};

/* Entry point of the mailsim binary. */
int ms_cli_main(int argc, char **argv);

/* Helpers shared by the commands. Each prints one clear line naming the
 * command and the argument on error and returns FALSE. */
gboolean ms_cli_parse(GOptionContext *ctx, const char *cmd, int *argc, char ***argv);
gboolean ms_cli_arg_time(const char *cmd, const char *opt, const char *value, MsTime *out);
gboolean ms_cli_arg_count(const char *cmd, const char *opt, const char *value, guint64 *out);
/* A size in bytes with a unit ("100MB", "64KiB"; see ms_units_parse_size). */
gboolean ms_cli_arg_size(const char *cmd, const char *opt, const char *value, guint64 *out);
/* "packet" or "flow" -> an MsFidelity; "yes"/"no" (or true/false) -> 1/0. */
gboolean ms_cli_arg_fidelity(const char *cmd, const char *opt, const char *value, gint *out);
gboolean ms_cli_arg_yes_no(const char *cmd, const char *opt, const char *value, gint *out);
gboolean ms_cli_arg_fraction(const char *cmd, const char *opt, const char *value, double *out);
/* The scenario a command uses without FILE: the first lesson, compiled in. */
#define MS_CLI_DEFAULT_SCENARIO "scenarios/teaching/01-first-email.xml"

/* Loads `file`, or the built-in default when it is NULL. Returns a new
 * scenario (caller frees) or NULL with `error` set. */
MsScenario *ms_cli_load_scenario(const char *file, GError **error);

/* Parses a narration level: mail, protocol or packets. */
gboolean ms_cli_arg_level(const char *cmd, const char *value, MsNarrateLevel *out);

/* Prints "mailsim CMD: MESSAGE" and a hint to --help; returns MS_EXIT_USAGE. */
int ms_cli_usage(const char *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* This process's peak resident memory in KiB (-1 if unknown). */
long ms_cli_peak_rss_kb(void);

/* Before a command that runs a world: executes the binary again with glibc's
 * malloc asked for transparent huge pages, when the kernel gives them on
 * request (sim/cli/cli_huge_pages.c; MAILSIM_HUGE_PAGES=0 turns it off). Returns only
 * when it does not. */
void ms_cli_prefer_huge_pages(char **argv);
/* This process's anonymous memory in huge pages now, in KiB (-1 if unknown). */
long ms_cli_huge_pages_kb(void);

/* The commands (sim/cmd_*.c). */
int ms_cmd_bench(int argc, char **argv);
int ms_cmd_bridge(int argc, char **argv);
int ms_cmd_render(int argc, char **argv);
int ms_cmd_run(int argc, char **argv);
int ms_cmd_gen(int argc, char **argv);
int ms_cmd_validate(int argc, char **argv);
int ms_cmd_sweep(int argc, char **argv);
int ms_cmd_compare(int argc, char **argv);
int ms_cmd_merge(int argc, char **argv);

G_END_DECLS

/* Shared scaffolding of the CUnit test programs: each tests/test_<module>.c
 * declares a table of MsTestCase and calls ms_test_main() from its main().
 * The runner prints CUnit's summary, one "suite-skipped:" line per skipped
 * test and one "suite-result: SUITE passed=N failed=M skipped=K" line that
 * tests/run-all.sh adds up. A skipped test is not a pass. */
#pragma once

#include <CUnit/CUnit.h>
#include <glib.h>

typedef struct {
    const char *name;
    void (*func)(void);
} MsTestCase;

/* Runs the NULL-terminated table `cases` as one suite named `suite`;
 * returns the process exit status (0 when every test passed). */
int ms_test_main(const char *suite, const MsTestCase *cases);

/* The same, then calls `cleanup` (when not NULL) after the last test: for
 * a suite whose tests share something expensive made once (e.g. a world
 * several tests read), which cleanup frees. */
int ms_test_main_full(const char *suite, const MsTestCase *cases, void (*cleanup)(void));

/* Marks the running test as skipped (it could not check what it is for,
 * e.g. a program it needs is missing) and prints "SKIPPED: why". The test
 * then counts as skipped, not passed, unless it also failed; a test may
 * call this more than once. Under MAILSIM_NO_SKIP=1, tests/run-all.sh
 * fails the run when anything skipped (CI). */
void ms_test_skip(const char *why);

/* Path of the built mailsim binary (from $MAILSIM, else "./mailsim"). */
const char *ms_test_mailsim_path(void);

/* Runs argv (NULL-terminated) with the working directory unchanged; stores
 * its stdout and stderr (caller frees) and returns the exit status, or -1
 * when it could not be started. */
int ms_test_spawn(const char *const *argv, char **out, char **err);

/* Runs the bridge integration script tests/bridge/NAME with python3 and
 * the mailsim under test (ms_test_mailsim_path()), from the repository
 * root: the running test fails when the script exits non-zero (its output
 * then goes to stderr), and is marked skipped for each "SKIPPED: why" line
 * the script prints. */
void ms_test_bridge_script(const char *name);

/* Writes DIR/gen.xml, a small generated transit-stub world (8 domains,
 * 200 messages in an hour) the distributed-profile tests split, and
 * returns its path (caller frees); the running test stops if it cannot. */
char *ms_test_write_profile_world(const char *dir);

/* A statistics table (an MsStatsTable *) as its CSV file, without the
 * "run,events" row (fault events run once per part of a split run), for
 * comparing runs; caller frees. */
char *ms_test_stats_text(gconstpointer table);

/* The scenario file at `path` (an MsScenario *, caller frees); the running
 * test stops, printing the error, if it does not load. */
gpointer ms_test_load_scenario(const char *path);

/* The value of " name=" in a "key=value ..." line such as `mailsim bench`
 * prints (caller frees), or NULL when the line has no such field. */
char *ms_test_field(const char *line, const char *name);

/* The number of nodes XPath `expr` selects in `doc` (an xmlDoc *), with
 * the prefix "s" bound to the SVG namespace; 0 for a bad expression. */
struct _xmlDoc;
guint ms_test_xpath_count(struct _xmlDoc *doc, const char *expr);

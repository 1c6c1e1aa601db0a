/* libFuzzer target for the scenario loader: any bytes -> ms_scenario_load_memory
 * must return a scenario or an error, never crash, hang or leak. Seeds: the
 * good scenarios of tests/scenarios/good and two hostile ones (entity
 * expansion, an external entity).
 *
 * Built and run by `make fuzz` (clang, libFuzzer, ASan+UBSan, against
 * build-fuzz/libmailsim.a), FUZZ_SECONDS each (default 60; CI runs 15), on a
 * work corpus build-fuzz/corpus-scenario seeded from tests/fuzz/corpus/scenario/.
 * To run this target alone for longer, after `make fuzz-build`:
 *
 *   cd build-fuzz && ./fuzz_scenario -max_total_time=600 -max_len=16384 corpus-scenario
 *
 * (new inputs go to the corpus directory, crash-* / leak-* files to build-fuzz/;
 * an interesting new input may be worth committing to the seed corpus.)
 */
#include "mailsim/scenario.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *error = NULL;
    MsScenario *sc = ms_scenario_load_memory((const char *) data, size, "fuzz.xml", &error);
    /* Exactly one of the two is set. */
    if ((sc == NULL) == (error == NULL))
        __builtin_trap();
    ms_scenario_free(sc);
    g_clear_error(&error);
    return 0;
}

/* libFuzzer target for the scenario loader: any bytes -> ms_scenario_load_memory
 * must return a scenario or an error, never crash, hang or leak. Not part of
 * `make check`. Build and run by hand from the repository root (after `make`,
 * which generates build/gen/embedded.c):
 *
 *   mkdir -p build-fuzz && clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -std=c11 -D_DEFAULT_SOURCE -Iinclude $(pkg-config --cflags glib-2.0 libxml-2.0) \
 *       tests/fuzz/fuzz_scenario.c sim/scenario*.c sim/core/units.c sim/core/time.c \
 *       build/gen/embedded.c $(pkg-config --libs glib-2.0 libxml-2.0) -lm \
 *       -o build-fuzz/fuzz_scenario
 *   mkdir -p build-fuzz/corpus && cp -r tests/scenarios build-fuzz/seeds
 *   cd build-fuzz && ./fuzz_scenario -max_total_time=60 -max_len=8192 corpus seeds
 *
 * (libFuzzer reads seed directories recursively and writes new inputs to the
 * first directory and crash files to the working directory.)
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

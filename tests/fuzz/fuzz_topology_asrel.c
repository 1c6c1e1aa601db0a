/* libFuzzer target for the asrel importer of imported topologies
 * (include/mailsim/topology.h; the checks are in fuzz_topology.h). Seeds:
 * tests/fuzz/corpus/topology_asrel/ (small files written for mailsim).
 * Built and run by `make fuzz` like every target (see fuzz_scenario.c). */
#include "fuzz_topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ms_fuzz_topology(data, size, MS_TOPOLOGY_CAIDA_ASREL);
}

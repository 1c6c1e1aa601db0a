/* The body shared by the libFuzzer targets of the topology importers
 * (tests/fuzz/fuzz_topology_*.c, one per format): any bytes ->
 * ms_topology_load_memory must return a topology or an error, never crash,
 * hang or leak; a topology it returns must also write out as scenario
 * elements (with PoPs, so that path runs too). */
#pragma once

#include "mailsim/topology.h"

#include <stdint.h>

static inline int
ms_fuzz_topology(const uint8_t *data, size_t size, MsTopologyFormat format)
{
    GError *error = NULL;
    MsTopology *t = ms_topology_load_memory((const char *) data, size, "fuzz", format, &error);
    /* Exactly one of the two is set. */
    if ((t == NULL) == (error == NULL))
        __builtin_trap();
    if (t) {
        GString *s = g_string_new(NULL);
        ms_topology_append_world(t, 2, NULL, FALSE, 0, s);
        g_string_free(s, TRUE);
    }
    ms_topology_free(t);
    g_clear_error(&error);
    return 0;
}

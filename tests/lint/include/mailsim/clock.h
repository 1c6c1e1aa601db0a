/* Fixture: the clock, owned by sim/core/ (sim/core/clock.c). */
#pragma once

long ms_clock_now(void);

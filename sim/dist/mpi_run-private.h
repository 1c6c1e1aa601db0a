/* What the two drivers of partitioned runs share (sim/dist/mpi_run.c and
 * sim/dist/shard_team.c). Not public. */
#pragma once

/* This process's CPU time in seconds, every thread's (MPI's too). */
double ms__dist_cpu_seconds(void);

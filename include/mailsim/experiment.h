/* Experiment files: a sweep written down (include/mailsim/sweep.h), so
 * that the file and the mailsim version reproduce every number. Read with
 * libxml2 and checked against the RELAX NG schema
 * scenarios/schema/experiment.rng (compiled into the binary), with
 * file:line errors; the result is plain data that `mailsim sweep
 * EXPERIMENT.xml` turns into a sweep (ms_sweep_new_from_experiment()).
 *
 *   <experiment version="1" name="loss-latency" seeds="1..10" max-points="50">
 *     <title>...</title> <description>...</description>
 *     <scenario file="../teaching/02-packets.xml" label="..."/>    one or more
 *     <axis name="loss" select="//link[@a='r-isp']/@loss" values="0..5%/6"/>
 *     <axis key="fidelity" values="packet,flow"/>                  a short key
 *     <zip> <axis .../> <axis .../> </zip>                         vary together
 *     <statistic name="latency_mean_s"/> ...                       default: all
 *     <output results="DIR" csv="F" tidy="F" json="F" plot="F" x="AXIS" split="AXIS"/>
 *   </experiment>
 *
 * Scenario files are found relative to the experiment file; outputs are
 * written relative to the working directory. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MS_EXPERIMENT_ERROR (ms_experiment_error_quark())
GQuark ms_experiment_error_quark(void);

/* The version this reader reads (version= of <experiment>). */
#define MS_EXPERIMENT_VERSION 1

typedef struct {
    guint line;
    char *file;  /* as written */
    char *path;  /* resolved against the experiment file's folder */
    char *label; /* or NULL */
} MsExperimentScenario;

typedef struct {
    guint line;
    char *name;   /* or NULL: derived from the key */
    char *key;    /* an XPath (select=) or a short key (key=) */
    char *values; /* the list of values and ranges */
} MsExperimentAxis;

typedef struct {
    char *path; /* the experiment file */
    char *name;
    char *title;           /* or NULL */
    char *seeds;           /* or NULL: the first scenario's seed */
    guint max_points;      /* 0: the default */
    GPtrArray *scenarios;  /* MsExperimentScenario* */
    GPtrArray *dims;       /* GPtrArray* of MsExperimentAxis*: one per dimension;
                            * a dimension of several axes is a <zip> */
    GPtrArray *statistics; /* char*; empty: all */
    guint statistics_line;
    /* <output>: each NULL when not asked for */
    char *results, *csv, *tidy, *json, *plot, *plot_x, *plot_split;
} MsExperiment;

/* Reads an experiment from `data` (`len` bytes); `path` names it in errors
 * and anchors its scenario paths. Returns a new object (caller frees), or
 * NULL with `error` listing every problem as "path:line: ...". */
MsExperiment *ms_experiment_load_memory(const char *data, gsize len, const char *path,
                                        GError **error);
MsExperiment *ms_experiment_load_file(const char *path, GError **error);
void ms_experiment_free(MsExperiment *experiment);

/* Whether `data` looks like an experiment (its root element is
 * <experiment>), to tell one from a scenario. */
gboolean ms_experiment_sniff(const char *data, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsExperiment, ms_experiment_free)

G_END_DECLS

/* Shared by the files of sweeps (sim/run/sweep*.c): the grid (sweep.c), the
 * jobs and the results folder (sweep_run.c), the outputs (sweep_output.c).
 * Not a public interface. */
#pragma once

#include "mailsim/scenario.h"
#include "mailsim/sweep.h"

G_BEGIN_DECLS

typedef enum {
    MS__SWEEP_XPATH,    /* any attribute, by XPath (scenario_override.h) */
    MS__SWEEP_UNTIL,    /* the short keys of the first sweeps */
    MS__SWEEP_FIDELITY, /* ... */
    MS__SWEEP_KEEP,
    MS__SWEEP_POLICY,
} MsSweepKeyKind;

typedef struct {
    char *name; /* the column: given, or derived from the key */
    char *key;  /* as given: a short key or an XPath */
    MsSweepKeyKind kind;
    MsPolicyField field; /* POLICY */
    gint host;           /* POLICY: scenario host index, -1 = every server */
    guint dim;           /* the dimension it varies along (zipped axes share one) */
    GPtrArray *texts;    /* char*: the values as given (ranges expanded) */
    GArray *values;      /* gint64: parsed value of a short key */
} MsSweepAxis;

typedef struct {
    char *path;     /* display name and where it was read */
    char *label;    /* its value on the scenario axis */
    GBytes *data;   /* the file as read */
    char *sha256;   /* of data, for the keys of stored runs */
    MsScenario *sc; /* as written, without overrides */
} MsSweepSource;

#define MS__SWEEP_N_STATS 18

typedef struct {
    double v[MS__SWEEP_N_STATS];
    gboolean done;
    gboolean ran; /* run by this process (not read back, nor merged) */
    char *error;
} MsSweepResult;

typedef enum {
    MS__SWEEP_MISSING,   /* not run, or the folder has nothing for it */
    MS__SWEEP_STORED,    /* read back from the results folder */
    MS__SWEEP_OTHER,     /* stored by another mailsim version */
    MS__SWEEP_UNREADABLE /* a stored file that does not read back */
} MsSweepJobState;

struct _MsSweep {
    char *experiment;   /* its name: "" for a sweep from the command line */
    char *title;        /* the experiment's title, or NULL */
    GPtrArray *sources; /* MsSweepSource*: dimension 0 when there are several */
    GPtrArray *axes;    /* MsSweepAxis* */
    GArray *dims;       /* guint: values along each dimension; dims[0] = sources */
    GArray *seeds;      /* guint64 */
    gboolean seeds_set;
    GArray *stats;    /* guint: the statistics reported, in order */
    guint max_points; /* larger grids need ms_sweep_set_max_points(.., TRUE) */
    gboolean allow_large;
    gboolean keep_records; /* jobs keep every message's record (no folding) */
    gboolean checked;
    char *store;   /* the results folder, or NULL */
    char *version; /* written into and checked against stored runs */
    gboolean rerun_other;
    MsSweepResult *results; /* points * seeds, job order */
    MsSweepJobState *state; /* per job, after the plan */
    char **other_versions;  /* per job with state OTHER: the version found */
    guint n_results;
};

extern const char *const ms__sweep_stat_names[MS__SWEEP_N_STATS];

/* The value index along dimension `dim` of grid point `point`. */
guint ms__sweep_dim_index(const MsSweep *sw, guint point, guint dim);
/* The value of axis k at `point`, as given. */
const char *ms__sweep_axis_text(const MsSweep *sw, guint point, guint k);
/* Whether the scenario axis shows (more than one scenario). */
gboolean ms__sweep_has_scenario_axis(const MsSweep *sw);
/* The point's scenario. */
const MsSweepSource *ms__sweep_source(const MsSweep *sw, guint point);

/* Summary of stat at point, over the seeds with a result. */
typedef struct {
    guint n;
    double mean, ci, sd, min, max;
} MsSweepCell;
MsSweepCell ms__sweep_summarise(const MsSweep *sw, guint point, guint stat);

/* Frees the results and the plan. */
void ms__sweep_results_clear(MsSweep *sw);

G_END_DECLS

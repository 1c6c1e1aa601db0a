/* Sweeps (include/mailsim/sweep.h) from experiment files
 * (include/mailsim/experiment.h): the scenarios, axes, zipped axes, seeds,
 * statistics and limit of an experiment, given to a new sweep in the
 * file's order. Every error the sweep finds is given the experiment file's
 * line of the element at fault ("exp.xml:12: axis loss: ..."); the
 * outputs of <output> are the caller's to write (sim/cli/cmd_sweep.c). */
#include "sweep-private.h"

MsSweep *
ms_sweep_new_from_experiment(const MsExperiment *e, GError **error)
{
    g_autoptr(MsSweep) sw = ms_sweep_new();
    g_autoptr(GError) local = NULL;
    ms_sweep_set_name(sw, e->name);
    ms_sweep_set_title(sw, e->title);
    for (guint i = 0; i < e->scenarios->len; i++) {
        const MsExperimentScenario *s = e->scenarios->pdata[i];
        if (!ms_sweep_add_scenario_file(sw, s->path, s->label, &local)) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "%s:%u: scenario %s:\n%s", e->path, s->line,
                        s->file, local->message);
            return NULL;
        }
    }
    if (e->seeds && !ms_sweep_set_seeds(sw, e->seeds, &local)) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "%s: %s", e->path, local->message);
        return NULL;
    }
    for (guint d = 0; d < e->dims->len; d++) {
        const GPtrArray *dim = e->dims->pdata[d];
        const MsExperimentAxis *first = dim->pdata[0];
        gboolean ok;
        if (dim->len == 1) {
            ok = ms_sweep_add_axis(sw, first->name, first->key, first->values, &local);
        } else {
            g_autofree const char **names = g_new0(const char *, dim->len);
            g_autofree const char **keys = g_new0(const char *, dim->len);
            g_autofree const char **values = g_new0(const char *, dim->len);
            for (guint i = 0; i < dim->len; i++) {
                const MsExperimentAxis *a = dim->pdata[i];
                names[i] = a->name;
                keys[i] = a->key;
                values[i] = a->values;
            }
            ok = ms_sweep_add_zipped(sw, dim->len, names, keys, values, &local);
        }
        if (!ok) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "%s:%u: %s", e->path, first->line,
                        local->message);
            return NULL;
        }
    }
    if (e->statistics->len) {
        g_autofree const char **names = g_new0(const char *, e->statistics->len + 1);
        for (guint i = 0; i < e->statistics->len; i++)
            names[i] = e->statistics->pdata[i];
        if (!ms_sweep_set_statistics(sw, names, &local)) {
            g_set_error(error, MS_SWEEP_ERROR, 0, "%s:%u: %s", e->path, e->statistics_line,
                        local->message);
            return NULL;
        }
    }
    if (e->max_points)
        ms_sweep_set_max_points(sw, e->max_points, FALSE);
    return g_steal_pointer(&sw);
}

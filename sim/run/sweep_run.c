/* Sweeps (include/mailsim/sweep.h): the jobs, and the results folder that
 * makes a sweep resumable.
 *
 * Design. A job is (grid point, seed); job j = point * seeds + seed index,
 * and it writes only results[j]. Before running, ms_sweep_plan() looks in
 * the results folder (when there is one) for each job's file, named by a
 * hash of what decides the run: the scenario file's bytes (SHA-256), the
 * point's settings (key=value, sorted) and the seed. A file written by this
 * mailsim version is read back, and the job is not run again; one written
 * by another version is refused unless told to run it again (never mixed
 * silently); one that does not read back is run again. ms_sweep_run() then
 * runs only the missing jobs, on a pool of threads, and writes each job's
 * file as soon as it has finished, atomically (g_file_set_contents writes
 * a temporary file and renames it), so a sweep killed at any moment leaves
 * only whole files and resumes where it stopped.
 *
 * Determinism: a job's numbers depend only on its scenario, settings and
 * seed (every engine, random stream, network and trace is the job's own);
 * stored numbers are written with 17 significant digits, which read back
 * to the same doubles; summaries are computed afterwards in job order. So
 * the results are the same bytes whatever the number of threads, and
 * however often the sweep was interrupted and resumed.
 *
 * Scenarios with XPath settings are loaded once per grid point, by the
 * first of its jobs to start (a lock per point), shared read-only by its
 * other jobs (ms_world_new_full never writes the scenario), and freed when
 * the last of them ends; jobs start in job order, so about one scenario per
 * thread is alive at a time.
 *
 * Threading: jobs run on a GThreadPool; the per-point cache and the
 * progress counter are under locks. Costs: one world and one scenario in
 * memory per running thread; one small file per run in the folder. */
#include "mailsim/json.h"
#include "mailsim/scenario_override.h"
#include "mailsim/stats.h"
#include "mailsim/world.h"
#include "sweep-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define RUN_MAGIC "mailsim-sweep-run 1"

gboolean
ms_sweep_set_store(MsSweep *sw, const char *dir, const char *version, gboolean rerun_other,
                   GError **error)
{
    if (g_file_test(dir, G_FILE_TEST_EXISTS) && !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "results folder %s: not a folder", dir);
        return FALSE;
    }
    g_free(sw->store);
    sw->store = g_strdup(dir);
    g_free(sw->version);
    sw->version = g_strdup(version ? version : MS_MAILSIM_VERSION);
    sw->rerun_other = rerun_other;
    return TRUE;
}

static int
cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The settings of a point as "key=value" lines, in axis order (sorted:
 * FALSE) or sorted (TRUE). Returns a new array (caller frees). */
static GPtrArray *
point_settings(const MsSweep *sw, guint point, gboolean sorted)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    for (guint k = 0; k < sw->axes->len; k++) {
        const MsSweepAxis *a = sw->axes->pdata[k];
        g_ptr_array_add(lines, g_strdup_printf("%s=%s", a->key, ms__sweep_axis_text(sw, point, k)));
    }
    if (sorted)
        g_ptr_array_sort(lines, cmp_str);
    return lines;
}

/* The hash that names job j's file (64 hex digits; caller frees). */
static char *
job_key(const MsSweep *sw, guint j)
{
    guint point = j / sw->seeds->len;
    g_autoptr(GString) s = g_string_new(NULL);
    g_string_append_printf(s, "scenario-sha256 %s\n", ms__sweep_source(sw, point)->sha256);
    g_autoptr(GPtrArray) lines = point_settings(sw, point, TRUE);
    for (guint i = 0; i < lines->len; i++)
        g_string_append_printf(s, "set %s\n", (const char *) lines->pdata[i]);
    g_string_append_printf(s, "seed %" G_GUINT64_FORMAT "\n",
                           g_array_index(sw->seeds, guint64, j % sw->seeds->len));
    return g_compute_checksum_for_string(G_CHECKSUM_SHA256, s->str, (gssize) s->len);
}

static char *
job_path(const MsSweep *sw, const char *key)
{
    g_autofree char *name = g_strdup_printf("%.32s.run", key);
    return g_build_filename(sw->store, "runs", name, NULL);
}

/* Reads job j's file into r. Returns its state; `other` gets the version
 * of a file by another version (caller frees). */
static MsSweepJobState
read_job(const MsSweep *sw, guint j, MsSweepResult *r, char **other)
{
    g_autofree char *key = job_key(sw, j);
    g_autofree char *path = job_path(sw, key);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return MS__SWEEP_MISSING;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint n = g_strv_length(lines);
    if (n < 3 || strcmp(lines[0], RUN_MAGIC) != 0 || !g_str_has_prefix(lines[1], "version "))
        return MS__SWEEP_UNREADABLE;
    if (strcmp(lines[1] + 8, sw->version) != 0) {
        *other = g_strdup(lines[1] + 8);
        return MS__SWEEP_OTHER;
    }
    if (!g_str_has_prefix(lines[2], "key ") || strcmp(lines[2] + 4, key) != 0)
        return MS__SWEEP_UNREADABLE;
    guint got = 0;
    for (guint i = 3; i < n; i++) {
        if (!g_str_has_prefix(lines[i], "stat "))
            continue;
        const char *name = lines[i] + 5;
        const char *sp = strchr(name, ' ');
        if (!sp || got >= MS__SWEEP_N_STATS ||
            strncmp(name, ms__sweep_stat_names[got], (gsize) (sp - name)) != 0 ||
            strlen(ms__sweep_stat_names[got]) != (gsize) (sp - name))
            return MS__SWEEP_UNREADABLE;
        char *end = NULL;
        r->v[got] = g_ascii_strtod(sp + 1, &end);
        if (!end || *end || end == sp + 1)
            return MS__SWEEP_UNREADABLE;
        got++;
    }
    if (got != MS__SWEEP_N_STATS)
        return MS__SWEEP_UNREADABLE;
    r->done = TRUE;
    return MS__SWEEP_STORED;
}

static gboolean
write_job(const MsSweep *sw, guint j, const MsSweepResult *r, GError **error)
{
    g_autofree char *key = job_key(sw, j);
    g_autofree char *path = job_path(sw, key);
    guint point = j / sw->seeds->len;
    g_autoptr(GString) s = g_string_new(RUN_MAGIC "\n");
    g_string_append_printf(s, "version %s\nkey %s\nscenario %s\n", sw->version, key,
                           ms__sweep_source(sw, point)->path);
    g_autoptr(GPtrArray) lines = point_settings(sw, point, FALSE);
    for (guint i = 0; i < lines->len; i++)
        g_string_append_printf(s, "set %s\n", (const char *) lines->pdata[i]);
    g_string_append_printf(s, "seed %" G_GUINT64_FORMAT "\n",
                           g_array_index(sw->seeds, guint64, j % sw->seeds->len));
    for (guint i = 0; i < MS__SWEEP_N_STATS; i++) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd(buf, sizeof buf, "%.17g", r->v[i]);
        g_string_append_printf(s, "stat %s %s\n", ms__sweep_stat_names[i], buf);
    }
    return g_file_set_contents(path, s->str, (gssize) s->len, error);
}

gboolean
ms_sweep_plan(MsSweep *sw, GError **error)
{
    if (!sw->checked && !ms_sweep_check(sw, error))
        return FALSE;
    ms__sweep_results_clear(sw);
    sw->n_results = ms_sweep_n_points(sw) * sw->seeds->len;
    sw->results = g_new0(MsSweepResult, sw->n_results);
    sw->state = g_new0(MsSweepJobState, sw->n_results);
    sw->other_versions = g_new0(char *, sw->n_results);
    if (!sw->store)
        return TRUE;
    /* A sweep killed while writing leaves g_file_set_contents()'s temporary
     * file ("KEY.run.XXXXXX") beside the runs: never read, removed here.
     * (Two sweeps writing to one folder at once are not supported.) */
    g_autofree char *runs = g_build_filename(sw->store, "runs", NULL);
    g_autoptr(GDir) dir = g_dir_open(runs, 0, NULL);
    for (const char *n; dir && (n = g_dir_read_name(dir));)
        if (strstr(n, ".run.")) {
            g_autofree char *path = g_build_filename(runs, n, NULL);
            g_unlink(path);
        }
    guint other = 0;
    const char *first_other = NULL;
    for (guint j = 0; j < sw->n_results; j++) {
        sw->state[j] = read_job(sw, j, &sw->results[j], &sw->other_versions[j]);
        if (sw->state[j] == MS__SWEEP_OTHER) {
            other++;
            if (!first_other)
                first_other = sw->other_versions[j];
        }
    }
    if (other && !sw->rerun_other) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "results folder %s holds %u of this sweep's %u runs written by mailsim %s "
                    "(this is mailsim %s): they are not mixed with new ones. Give "
                    "--rerun-other-versions to run them again with this version (their files "
                    "are replaced), or choose another results folder",
                    sw->store, other, sw->n_results, first_other, sw->version);
        return FALSE;
    }
    return TRUE;
}

void
ms_sweep_counts(const MsSweep *sw, MsSweepCounts *c)
{
    memset(c, 0, sizeof *c);
    c->total = sw->n_results;
    for (guint j = 0; sw->state && j < sw->n_results; j++)
        switch (sw->state[j]) {
        case MS__SWEEP_STORED:
            c->stored++;
            break;
        case MS__SWEEP_OTHER:
            c->other_version++;
            c->to_run++;
            if (!c->other_version_name)
                c->other_version_name = sw->other_versions[j];
            break;
        case MS__SWEEP_UNREADABLE:
            c->unreadable++;
            c->to_run++;
            break;
        case MS__SWEEP_MISSING:
            c->to_run++;
            break;
        }
}

/* --- jobs ------------------------------------------------------------------- */

typedef struct {
    GMutex lock;
    MsScenario *sc; /* loaded with the point's overrides */
    char *error;
    guint left; /* jobs of the point still to finish */
} PointCache;

typedef struct {
    MsSweep *sw;
    PointCache *cache; /* per point, or NULL without XPath axes */
    GMutex lock;       /* progress */
    guint done, total;
    MsSweepProgress progress;
    gpointer user;
    char *write_error;
} RunState;

typedef struct {
    RunState *rs;
    guint index;
} Job;

static gboolean
has_xpath_axes(const MsSweep *sw)
{
    for (guint k = 0; k < sw->axes->len; k++)
        if (((MsSweepAxis *) sw->axes->pdata[k])->kind == MS__SWEEP_XPATH)
            return TRUE;
    return FALSE;
}

/* The point's scenario, loading it once; NULL with `error`. */
static const MsScenario *
point_scenario(RunState *rs, guint point, char **error)
{
    const MsSweep *sw = rs->sw;
    const MsSweepSource *src = ms__sweep_source(sw, point);
    if (!rs->cache)
        return src->sc;
    PointCache *pc = &rs->cache[point];
    g_mutex_lock(&pc->lock);
    if (!pc->sc && !pc->error) {
        g_autoptr(GArray) ov = g_array_new(FALSE, FALSE, sizeof(MsScenarioOverride));
        for (guint k = 0; k < sw->axes->len; k++) {
            const MsSweepAxis *a = sw->axes->pdata[k];
            if (a->kind != MS__SWEEP_XPATH)
                continue;
            MsScenarioOverride o = { a->key, ms__sweep_axis_text(sw, point, k) };
            g_array_append_val(ov, o);
        }
        gsize len;
        const char *data = g_bytes_get_data(src->data, &len);
        g_autoptr(GError) e = NULL;
        pc->sc = ms_scenario_load_memory_with(data, len, src->path,
                                              (const MsScenarioOverride *) ov->data, ov->len, &e);
        if (!pc->sc)
            pc->error = g_strdup(e->message);
    }
    *error = g_strdup(pc->error);
    const MsScenario *sc = pc->sc;
    g_mutex_unlock(&pc->lock);
    return sc;
}

static void
point_release(RunState *rs, guint point)
{
    if (!rs->cache)
        return;
    PointCache *pc = &rs->cache[point];
    g_mutex_lock(&pc->lock);
    if (--pc->left == 0)
        g_clear_pointer(&pc->sc, ms_scenario_free);
    g_mutex_unlock(&pc->lock);
}

static void
measure(MsWorld *w, double *v)
{
    MsMailStats ms;
    ms_mail_get_stats(ms_world_mail(w), &ms);
    MsLatencyStats lat;
    ms_stats_latency(w, &lat);
    MsTcpStats ts;
    ms_tcp_get_stats(ms_world_tcp(w), &ts);
    MsNetStats ns;
    ms_net_get_stats(ms_world_net(w), &ns);
    MsEngineStats es;
    ms_engine_get_stats(ms_world_engine(w), &es);
    guint peak = 0;
    for (guint i = 0; i < ms_mail_n_servers(ms_world_mail(w)); i++) {
        MsMailServerStats s;
        ms_mail_server_stats(ms_world_mail(w), i, &s);
        peak = MAX(peak, s.peak_queue);
    }
    double all[MS__SWEEP_N_STATS] = { ms.messages,
                                      ms.dsns,
                                      ms.delivered,
                                      ms.bounced,
                                      ms.queued,
                                      ms.refused,
                                      ms.deferrals,
                                      ms.attempts,
                                      lat.mean,
                                      lat.p50,
                                      lat.p95,
                                      lat.p99,
                                      lat.max,
                                      (double) ms.smtp_sessions,
                                      (double) ts.retransmits,
                                      (double) ns.dropped,
                                      peak,
                                      (double) es.processed };
    memcpy(v, all, sizeof all);
}

static void
run_job(gpointer data, gpointer user_data)
{
    Job *job = data;
    (void) user_data;
    RunState *rs = job->rs;
    MsSweep *sw = rs->sw;
    guint j = job->index;
    g_free(job);
    guint point = j / sw->seeds->len;
    MsSweepResult *r = &sw->results[j];
    char *load_error = NULL;
    const MsScenario *sc = point_scenario(rs, point, &load_error);
    if (sc) {
        MsWorldOptions o = MS_WORLD_OPTIONS_INIT;
        o.seed = g_array_index(sw->seeds, guint64, j % sw->seeds->len);
        o.fold_records = !sw->keep_records; /* a job reads only totals and quantiles */
        MsScenarioPolicy policy = { 0 };
        MsTime until = sc->until;
        for (guint k = 0; k < sw->axes->len; k++) {
            const MsSweepAxis *a = g_ptr_array_index(sw->axes, k);
            if (a->kind == MS__SWEEP_XPATH)
                continue;
            gint64 v = g_array_index(a->values, gint64, ms__sweep_dim_index(sw, point, a->dim));
            switch (a->kind) {
            case MS__SWEEP_UNTIL:
                until = v;
                break;
            case MS__SWEEP_FIDELITY:
                o.fidelity = (gint) v;
                break;
            case MS__SWEEP_KEEP:
                o.keep_bodies = (gint) v;
                break;
            case MS__SWEEP_POLICY:
                policy.set |= a->field;
                o.policy_host = a->host;
                switch (a->field) {
                case MS_POLICY_RETRY_FIRST:
                    policy.retry_first = v;
                    break;
                case MS_POLICY_RETRY_MAX:
                    policy.retry_max = v;
                    break;
                case MS_POLICY_GIVE_UP:
                    policy.give_up = v;
                    break;
                case MS_POLICY_COMMAND_DELAY:
                    policy.command_delay = v;
                    break;
                case MS_POLICY_MAX_SIZE:
                    policy.max_size = (guint64) v;
                    break;
                case MS_POLICY_MAX_RECIPIENTS:
                    policy.max_recipients = (guint32) v;
                    break;
                case MS_POLICY_GREYLIST:
                    policy.greylist = v != 0;
                    break;
                case MS_POLICY_GREYLIST_DELAY:
                    policy.greylist_delay = v;
                    break;
                }
                break;
            case MS__SWEEP_XPATH:
                break;
            }
        }
        if (policy.set)
            o.policy = &policy;
        g_autoptr(GError) error = NULL;
        g_autoptr(MsWorld) w = ms_world_new_full(sc, &o, &error);
        if (w) {
            ms_world_run(w, until);
            measure(w, r->v);
            r->done = TRUE;
            r->ran = TRUE;
        } else {
            r->error = g_strdup(error->message);
        }
    } else {
        r->error = load_error;
        load_error = NULL;
    }
    g_free(load_error);
    point_release(rs, point);
    if (r->done && sw->store) {
        g_autoptr(GError) e = NULL;
        if (!write_job(sw, j, r, &e)) {
            g_mutex_lock(&rs->lock);
            if (!rs->write_error)
                rs->write_error = g_strdup(e->message);
            g_mutex_unlock(&rs->lock);
        }
    }
    g_mutex_lock(&rs->lock);
    rs->done++;
    if (rs->progress)
        rs->progress(rs->done, rs->total, rs->user);
    g_mutex_unlock(&rs->lock);
}

gboolean
ms_sweep_run_part(MsSweep *sw, guint jobs, guint part, guint parts, MsSweepProgress progress,
                  gpointer user, GError **error)
{
    g_return_val_if_fail(jobs >= 1 && parts >= 1 && part < parts, FALSE);
    if (!sw->state && !ms_sweep_plan(sw, error))
        return FALSE;
    guint n_points = ms_sweep_n_points(sw);
    RunState rs = { .sw = sw, .progress = progress, .user = user };
    g_mutex_init(&rs.lock);
    g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(guint));
    guint missing = 0;
    for (guint j = 0; j < sw->n_results; j++)
        if (sw->state[j] != MS__SWEEP_STORED && missing++ % parts == part)
            g_array_append_val(todo, j);
    rs.total = todo->len;
    g_autofree char *runs = sw->store ? g_build_filename(sw->store, "runs", NULL) : NULL;
    if (runs && todo->len && g_mkdir_with_parents(runs, 0777) != 0) {
        int e = errno;
        g_set_error(error, MS_SWEEP_ERROR, 0, "results folder %s: cannot create: %s", runs,
                    g_strerror(e));
        return FALSE;
    }
    if (has_xpath_axes(sw) && todo->len) {
        rs.cache = g_new0(PointCache, n_points);
        for (guint p = 0; p < n_points; p++)
            g_mutex_init(&rs.cache[p].lock);
        for (guint i = 0; i < todo->len; i++)
            rs.cache[g_array_index(todo, guint, i) / sw->seeds->len].left++;
    }
    if (jobs == 1 || todo->len <= 1) {
        for (guint i = 0; i < todo->len; i++) {
            Job *jb = g_new(Job, 1);
            *jb = (Job){ &rs, g_array_index(todo, guint, i) };
            run_job(jb, NULL);
        }
    } else {
        GThreadPool *pool =
            g_thread_pool_new(run_job, NULL, (gint) MIN(jobs, todo->len), TRUE, NULL);
        for (guint i = 0; i < todo->len; i++) {
            Job *jb = g_new(Job, 1);
            *jb = (Job){ &rs, g_array_index(todo, guint, i) };
            g_thread_pool_push(pool, jb, NULL);
        }
        g_thread_pool_free(pool, FALSE, TRUE); /* runs every queued job, then joins */
    }
    for (guint p = 0; rs.cache && p < n_points; p++) {
        g_mutex_clear(&rs.cache[p].lock);
        g_free(rs.cache[p].error);
        ms_scenario_free(rs.cache[p].sc);
    }
    g_free(rs.cache);
    g_mutex_clear(&rs.lock);
    gboolean ok = TRUE;
    for (guint i = 0; i < todo->len && ok; i++) {
        guint j = g_array_index(todo, guint, i);
        if (sw->results[j].error) {
            guint point = j / sw->seeds->len;
            g_autoptr(GString) label = g_string_new(NULL);
            if (ms__sweep_has_scenario_axis(sw))
                g_string_append_printf(label, "scenario=%s", ms__sweep_source(sw, point)->label);
            for (guint k = 0; k < sw->axes->len; k++)
                g_string_append_printf(label, "%s%s=%s", label->len ? ", " : "",
                                       ms_sweep_axis_name(sw, k),
                                       ms__sweep_axis_text(sw, point, k));
            g_set_error(
                error, MS_SWEEP_ERROR, 0, "grid point %u (%s), seed %" G_GUINT64_FORMAT ": %s",
                point, label->len ? label->str : "the scenario as written",
                g_array_index(sw->seeds, guint64, j % sw->seeds->len), sw->results[j].error);
            ok = FALSE;
        }
    }
    if (ok && rs.write_error) {
        g_set_error(error, MS_SWEEP_ERROR, 0, "results folder %s: %s", sw->store, rs.write_error);
        ok = FALSE;
    }
    g_free(rs.write_error);
    for (guint i = 0; ok && i < todo->len; i++)
        sw->state[g_array_index(todo, guint, i)] = MS__SWEEP_STORED;
    return ok;
}

/* --- results between processes ----------------------------------------------
 * A pack: "mailsim-sweep-pack 1\n", then little-endian fields: the number
 * of jobs (u32), of statistics (u32), the first 32 hex digits of the
 * sweep's digest (sweep_digest(): what decides every run), the number of
 * results (u32), and per result the job index (u32) and each statistic's
 * 64-bit pattern (u64), which carries the double exactly. */

#define PACK_MAGIC    "mailsim-sweep-pack 1\n"
#define PACK_KEY_LEN  32
#define PACK_HEAD_LEN (sizeof(PACK_MAGIC) - 1 + 4 + 4 + PACK_KEY_LEN + 4)
#define PACK_ITEM_LEN (4 + 8 * MS__SWEEP_N_STATS)

/* SHA-256 (hex) over what decides the sweep's runs and their order: each
 * scenario's bytes and label, each axis's key, dimension and values, the
 * seeds. Caller frees. */
static char *
sweep_digest(const MsSweep *sw)
{
    g_autoptr(GString) s = g_string_new(NULL);
    for (guint i = 0; i < sw->sources->len; i++) {
        const MsSweepSource *src = sw->sources->pdata[i];
        g_string_append_printf(s, "scenario %s %s\n", src->sha256, src->label ? src->label : "");
    }
    for (guint k = 0; k < sw->axes->len; k++) {
        const MsSweepAxis *a = sw->axes->pdata[k];
        g_string_append_printf(s, "axis %s %u", a->key, a->dim);
        for (guint i = 0; i < a->texts->len; i++)
            g_string_append_printf(s, " %s", (const char *) a->texts->pdata[i]);
        g_string_append_c(s, '\n');
    }
    for (guint i = 0; i < sw->seeds->len; i++)
        g_string_append_printf(s, "seed %" G_GUINT64_FORMAT "\n",
                               g_array_index(sw->seeds, guint64, i));
    return g_compute_checksum_for_string(G_CHECKSUM_SHA256, s->str, (gssize) s->len);
}

static void
put_u32(GByteArray *b, guint32 v)
{
    v = GUINT32_TO_LE(v);
    g_byte_array_append(b, (const guint8 *) &v, 4);
}

static guint32
get_u32(const guint8 *p)
{
    guint32 v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

GBytes *
ms_sweep_pack_results(const MsSweep *sw, gboolean all)
{
    g_return_val_if_fail(sw != NULL && sw->results != NULL, NULL);
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *) PACK_MAGIC, sizeof(PACK_MAGIC) - 1);
    put_u32(b, sw->n_results);
    put_u32(b, MS__SWEEP_N_STATS);
    g_autofree char *key = sweep_digest(sw);
    g_byte_array_append(b, (const guint8 *) key, PACK_KEY_LEN);
    guint32 n = 0;
    for (guint j = 0; j < sw->n_results; j++)
        n += all ? sw->results[j].done : sw->results[j].ran;
    put_u32(b, n);
    for (guint j = 0; j < sw->n_results; j++) {
        if (!(all ? sw->results[j].done : sw->results[j].ran))
            continue;
        put_u32(b, j);
        for (guint i = 0; i < MS__SWEEP_N_STATS; i++) {
            guint64 bits;
            memcpy(&bits, &sw->results[j].v[i], 8);
            bits = GUINT64_TO_LE(bits);
            g_byte_array_append(b, (const guint8 *) &bits, 8);
        }
    }
    return g_byte_array_free_to_bytes(b);
}

gboolean
ms_sweep_merge_results(MsSweep *sw, GBytes *packed, GError **error)
{
    g_return_val_if_fail(sw != NULL && sw->results != NULL && packed != NULL, FALSE);
    gsize len = 0;
    const guint8 *p = g_bytes_get_data(packed, &len);
    g_autofree char *key = sweep_digest(sw);
    const guint8 *head = p + sizeof(PACK_MAGIC) - 1;
    if (len < PACK_HEAD_LEN || memcmp(p, PACK_MAGIC, sizeof(PACK_MAGIC) - 1) != 0 ||
        get_u32(head) != sw->n_results || get_u32(head + 4) != MS__SWEEP_N_STATS ||
        memcmp(head + 8, key, PACK_KEY_LEN) != 0) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "results from another process are not of this sweep (another grid, "
                    "scenario or seeds)");
        return FALSE;
    }
    guint32 n = get_u32(head + 8 + PACK_KEY_LEN);
    if ((len - PACK_HEAD_LEN) / PACK_ITEM_LEN != n || (len - PACK_HEAD_LEN) % PACK_ITEM_LEN) {
        g_set_error(error, MS_SWEEP_ERROR, 0,
                    "results from another process: %" G_GSIZE_FORMAT " bytes, expected %u results",
                    len, n);
        return FALSE;
    }
    const guint8 *q = p + PACK_HEAD_LEN;
    for (guint32 k = 0; k < n; k++, q += PACK_ITEM_LEN) {
        guint32 j = get_u32(q);
        if (j >= sw->n_results) {
            g_set_error(error, MS_SWEEP_ERROR, 0,
                        "results from another process: run %u of a sweep of %u runs", j,
                        sw->n_results);
            return FALSE;
        }
        MsSweepResult *r = &sw->results[j];
        if (r->done)
            continue;
        for (guint i = 0; i < MS__SWEEP_N_STATS; i++) {
            guint64 bits;
            memcpy(&bits, q + 4 + 8 * i, 8);
            bits = GUINT64_FROM_LE(bits);
            memcpy(&r->v[i], &bits, 8);
        }
        r->done = TRUE;
        g_clear_pointer(&r->error, g_free);
        if (sw->store) {
            g_autofree char *runs = g_build_filename(sw->store, "runs", NULL);
            if (g_mkdir_with_parents(runs, 0777) != 0) {
                int e = errno;
                g_set_error(error, MS_SWEEP_ERROR, 0, "results folder %s: cannot create: %s", runs,
                            g_strerror(e));
                return FALSE;
            }
            g_autoptr(GError) e = NULL;
            if (!write_job(sw, j, r, &e)) {
                g_set_error(error, MS_SWEEP_ERROR, 0, "results folder %s: %s", sw->store,
                            e->message);
                return FALSE;
            }
        }
        sw->state[j] = MS__SWEEP_STORED;
    }
    return TRUE;
}

gboolean
ms_sweep_run(MsSweep *sw, guint jobs, MsSweepProgress progress, gpointer user, GError **error)
{
    return ms_sweep_run_part(sw, jobs, 0, 1, progress, user, error);
}

gboolean
ms_sweep_complete(const MsSweep *sw)
{
    for (guint j = 0; sw->results && j < sw->n_results; j++)
        if (!sw->results[j].done)
            return FALSE;
    return sw->results != NULL;
}

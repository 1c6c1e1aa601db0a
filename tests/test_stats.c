/* Tests of the statistics writer (sim/run/stats.c): its JSON and CSV
 * renderings of one table say the same thing, every section is one JSON
 * object, the link rows and the busiest-link ranking agree, and a table
 * split into parts and added up writes what the whole one writes. */
#include "mailsim/stats.h"
#include "mailsim/world.h"
#include "testlib.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LESSON "scenarios/teaching/04-many-hops.xml"

/* Lesson 4 run to its end (caller frees). */
static MsWorld *
run_lesson(void)
{
    g_autoptr(MsScenario) sc = ms_test_load_scenario(LESSON);
    g_autoptr(GError) error = NULL;
    MsWorld *w = ms_world_new(sc, 1, &error);
    g_assert_no_error(error);
    ms_world_run(w, MS_TIME_INFINITE);
    return w;
}

/* Removes `dir` and the files the tests wrote in it. */
static void
remove_dir(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    for (const char *n; d && (n = g_dir_read_name(d));) {
        g_autofree char *p = g_build_filename(dir, n, NULL);
        g_remove(p);
    }
    g_rmdir(dir);
}

static char *
written(const MsStatsTable *t, const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE_FATAL(ms_stats_table_write(t, path, &error));
    char *text = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* JSON and CSV: the same rows in the same order, each section once. */
static void
test_json_matches_csv(void)
{
    g_autoptr(MsWorld) w = run_lesson();
    g_autoptr(MsStatsTable) t = ms_stats_collect(w);
    g_autofree char *dir = g_dir_make_tmp("mailsim-stats-XXXXXX", NULL);
    g_autofree char *csv = written(t, dir, "s.csv");
    g_autofree char *json = written(t, dir, "s.json");

    g_autoptr(JsonParser) parser = json_parser_new();
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, json, -1, NULL));
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    g_auto(GStrv) lines = g_strsplit(csv, "\n", -1);
    CU_ASSERT_STRING_EQUAL(lines[0], "section,name,value");
    guint rows = 0, sections = 0, busiest = 0, links = 0;
    g_autofree char *last = NULL;
    for (guint i = 1; lines[i] && lines[i][0]; i++, rows++) {
        g_auto(GStrv) f = g_strsplit(lines[i], ",", 3);
        CU_ASSERT_FATAL(g_strv_length(f) == 3);
        if (!last || strcmp(last, f[0]) != 0) {
            sections++;
            g_free(last);
            last = g_strdup(f[0]);
            busiest += g_str_has_prefix(f[0], "busiest-link:");
            links += g_str_has_prefix(f[0], "link:");
        }
        /* the JSON holds the same value for the same (section, name) */
        CU_ASSERT_TRUE_FATAL(json_object_has_member(root, f[0]));
        JsonObject *sec = json_object_get_object_member(root, f[0]);
        CU_ASSERT_TRUE_FATAL(json_object_has_member(sec, f[1]));
        double v = json_object_get_double_member(sec, f[1]);
        CU_ASSERT_DOUBLE_EQUAL(v, g_ascii_strtod(f[2], NULL), 1e-9 * (1 + fabs(v)));
    }
    /* one object per section: a repeated section would collapse in JSON */
    CU_ASSERT_EQUAL(json_object_get_size(root), sections);
    CU_ASSERT_TRUE(links >= 4);
    CU_ASSERT_TRUE(busiest >= 2);
    guint members = 0;
    GList *names = json_object_get_members(root);
    for (GList *l = names; l; l = l->next)
        members += json_object_get_size(json_object_get_object_member(root, l->data));
    g_list_free(names);
    CU_ASSERT_EQUAL(members, rows);

    /* busiest-link:1 ... carry the largest link byte counts, in order */
    double prev = INFINITY;
    for (guint i = 1; i <= busiest; i++) {
        g_autofree char *sec = g_strdup_printf("busiest-link:%u", i);
        CU_ASSERT_TRUE_FATAL(json_object_has_member(root, sec));
        JsonObject *o = json_object_get_object_member(root, sec);
        CU_ASSERT_EQUAL(json_object_get_size(o), 1);
        GList *m = json_object_get_members(o);
        const char *name = m->data;
        double bytes = json_object_get_double_member(o, name);
        CU_ASSERT_TRUE(bytes > 0 && bytes <= prev);
        prev = bytes;
        /* "a~b_bytes" is link:a~b's bytes row */
        g_autofree char *link = g_strndup(name, strlen(name) - strlen("_bytes"));
        g_autofree char *link_sec = g_strconcat("link:", link, NULL);
        CU_ASSERT_DOUBLE_EQUAL(ms_stats_table_get(t, link_sec, "bytes"), bytes, 0.5);
        g_list_free(m);
    }
    remove_dir(dir);
}

/* A table that takes a part's values adds them: a part's figures added to
 * an empty run's table give the part's figures (the links' included, though
 * a part sends only the links it counted anything on). */
static void
test_part_values_add(void)
{
    g_autoptr(MsWorld) w = run_lesson();
    g_autoptr(MsStatsTable) whole = ms_stats_collect(w);
    g_autoptr(MsStatsTable) part = ms_stats_collect_part(w);
    g_autoptr(GBytes) values = ms_stats_table_part_values(part);
    /* the same world, not run: every counter 0 */
    g_autoptr(MsScenario) sc = ms_test_load_scenario(LESSON);
    g_autoptr(MsWorld) idle = ms_world_new(sc, 1, NULL);
    g_autoptr(MsStatsTable) sum = ms_stats_collect(idle);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE_FATAL(ms_stats_table_add_part(sum, values, &error));
    double link_bytes = 0;
    guint found = 0;
    g_autofree char *dir = g_dir_make_tmp("mailsim-stats-XXXXXX", NULL);
    g_autofree char *csv = written(whole, dir, "w.csv");
    g_auto(GStrv) lines = g_strsplit(csv, "\n", -1);
    for (guint i = 1; lines[i] && lines[i][0]; i++) {
        g_auto(GStrv) f = g_strsplit(lines[i], ",", 3);
        if (!g_str_has_prefix(f[0], "link:") || strcmp(f[1], "bytes") != 0)
            continue;
        double v = ms_stats_table_get(sum, f[0], "bytes");
        CU_ASSERT_DOUBLE_EQUAL(v, ms_stats_table_get(whole, f[0], "bytes"), 0.5);
        CU_ASSERT_DOUBLE_EQUAL(ms_stats_table_get(sum, f[0], "packets"),
                               ms_stats_table_get(whole, f[0], "packets"), 0.5);
        link_bytes += v;
        found++;
    }
    CU_ASSERT_TRUE(found >= 4 && link_bytes > 0);
    CU_ASSERT_DOUBLE_EQUAL(ms_stats_table_get(sum, "net", "packets_sent"),
                           ms_stats_table_get(whole, "net", "packets_sent"), 0.5);
    /* values of another world are refused, the table unchanged */
    g_autoptr(GBytes) shorter = g_bytes_new_from_bytes(values, 0, g_bytes_get_size(values) - 8);
    CU_ASSERT_FALSE(ms_stats_table_add_part(sum, shorter, &error) && error == NULL);
    remove_dir(dir);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "JSON and CSV say the same, each section once", test_json_matches_csv },
        { "a part's values add up, links included", test_part_values_add },
        { NULL, NULL },
    };
    return ms_test_main("stats", cases);
}

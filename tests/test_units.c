/* Tests of the unit parsers and time printing, table-driven: every accepted
 * form, the boundaries, and the refusals with their error codes. */
#include "testlib.h"
#include "mailsim/units.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *text;
    gboolean ok;
    guint64 value;
} Case;

static void
test_times(void)
{
    static const Case cases[] = {
        { "250ms", TRUE, 250000000 },
        { "2s", TRUE, 2000000000 },
        { "5d", TRUE, 5ULL * 86400 * 1000000000 },
        { "1.5h", TRUE, 5400ULL * 1000000000 },
        { "0.1s", TRUE, 100000000 },
        { "10ns", TRUE, 10 },
        { "3us", TRUE, 3000 },
        { "5min", TRUE, 300ULL * 1000000000 },
        { "0", TRUE, 0 },
        { ".5s", TRUE, 500000000 },
        { "1 s", TRUE, 1000000000 },
        { "0.0000000015s", TRUE, 1 },
        { "10parsecs", FALSE, 0 },
        { "10", FALSE, 0 },
        { "-1s", FALSE, 0 },
        { "", FALSE, 0 },
        { "s", FALSE, 0 },
        { "1.2.3s", FALSE, 0 },
        { "99999999999999999999s", FALSE, 0 },
        { "300000d", FALSE, 0 },
        { "1e3s", FALSE, 0 },
        { "1sx", FALSE, 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        MsTime t = -1;
        GError *error = NULL;
        gboolean ok = ms_units_parse_time(cases[i].text, &t, &error);
        CU_ASSERT_EQUAL(ok, cases[i].ok);
        if (ok != cases[i].ok)
            fprintf(stderr, "time case '%s'\n", cases[i].text);
        if (ok) {
            CU_ASSERT_EQUAL((guint64) t, cases[i].value);
        } else {
            CU_ASSERT(error != NULL && strstr(error->message, "'") != NULL);
        }
        g_clear_error(&error);
    }
}

static void
test_rates(void)
{
    static const Case cases[] = {
        { "10Mbps", TRUE, 10000000 }, { "1Gbps", TRUE, 1000000000 },
        { "56kbps", TRUE, 56000 },    { "1.5Mbps", TRUE, 1500000 },
        { "9600bps", TRUE, 9600 },    { "0Mbps", FALSE, 0 },
        { "10MB", FALSE, 0 },         { "10", FALSE, 0 },
        { "-5Mbps", FALSE, 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint64 v = 0;
        gboolean ok = ms_units_parse_rate(cases[i].text, &v, NULL);
        CU_ASSERT_EQUAL(ok, cases[i].ok);
        if (ok)
            CU_ASSERT_EQUAL(v, cases[i].value);
    }
}

static void
test_sizes(void)
{
    static const Case cases[] = {
        { "1500B", TRUE, 1500 },  { "64KiB", TRUE, 65536 },        { "20MB", TRUE, 20000000 },
        { "1.5KiB", TRUE, 1536 }, { "2GiB", TRUE, 2147483648ULL }, { "512", TRUE, 512 },
        { "0", TRUE, 0 },         { "10Mbps", FALSE, 0 },          { "-1B", FALSE, 0 },
        { "KiB", FALSE, 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint64 v = 0;
        gboolean ok = ms_units_parse_size(cases[i].text, &v, NULL);
        CU_ASSERT_EQUAL(ok, cases[i].ok);
        if (ok)
            CU_ASSERT_EQUAL(v, cases[i].value);
    }
}

static void
test_counts(void)
{
    guint64 v;
    CU_ASSERT_TRUE(ms_units_parse_count("42", &v, NULL));
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_FALSE(ms_units_parse_count("-1", &v, NULL));
    CU_ASSERT_FALSE(ms_units_parse_count("4x", &v, NULL));
    CU_ASSERT_FALSE(ms_units_parse_count("", &v, NULL));
    CU_ASSERT_FALSE(ms_units_parse_count("184467440737095516160", &v, NULL));
}

/* Printing then parsing gives the value back. */
static void
test_round_trip(void)
{
    guint64 sizes[] = { 0, 1, 1500, 65536, 1048576, 3 * 1073741824ULL };
    for (gsize i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_autofree char *s = ms_units_size_to_string(sizes[i]);
        g_autofree char *compact = g_strdup(s);
        guint64 v = 1;
        CU_ASSERT_TRUE(ms_units_parse_size(compact, &v, NULL));
        CU_ASSERT_EQUAL(v, sizes[i]);
    }
    guint64 rates[] = { 9600, 56000, 10000000, 1000000000 };
    for (gsize i = 0; i < G_N_ELEMENTS(rates); i++) {
        g_autofree char *s = ms_units_rate_to_string(rates[i]);
        guint64 v = 0;
        CU_ASSERT_TRUE(ms_units_parse_rate(s, &v, NULL));
        CU_ASSERT_EQUAL(v, rates[i]);
    }
    MsTime times[] = { 1, 999, 1000, 1500000, 250 * MS_TIME_MS, 2 * MS_TIME_S };
    for (gsize i = 0; i < G_N_ELEMENTS(times); i++) {
        g_autofree char *s = ms_time_to_string(times[i]);
        MsTime t = 0;
        CU_ASSERT_TRUE(ms_units_parse_time(s, &t, NULL));
        CU_ASSERT_EQUAL(t, times[i]);
    }
}

static void
test_time_to_string(void)
{
    struct {
        MsTime t;
        const char *s;
    } cases[] = {
        { 0, "0 ns" },
        { 3, "3 ns" },
        { 1250 * MS_TIME_MS, "1.250 s" },
        { 120 * MS_TIME_MS, "120 ms" },
        { 2 * MS_TIME_DAY + 4 * MS_TIME_H, "2 d 4 h" },
        { MS_TIME_INFINITE, "never" },
        { 67 * MS_TIME_MIN, "1 h 7 min" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *s = ms_time_to_string(cases[i].t);
        CU_ASSERT_STRING_EQUAL(s, cases[i].s);
    }
    char buf[32];
    CU_ASSERT_STRING_EQUAL(ms_time_format_seconds(120 * MS_TIME_MS, buf, sizeof buf), "0.120");
    CU_ASSERT_STRING_EQUAL(ms_time_format_seconds(12345678900, buf, sizeof buf), "12.346");
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "times", test_times },
        { "rates", test_rates },
        { "sizes", test_sizes },
        { "counts", test_counts },
        { "round trip", test_round_trip },
        { "time to string", test_time_to_string },
        { NULL, NULL },
    };
    return ms_test_main("units", cases);
}

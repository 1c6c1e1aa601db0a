/* Simulated time: MsTime is a signed 64-bit count of nanoseconds since the
 * start of a run. Every layer of mailsim measures time with it; model code
 * never reads the wall clock. int64 nanoseconds reach about 292 years. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef gint64 MsTime;

#define MS_TIME_NS  ((MsTime) 1)
#define MS_TIME_US  ((MsTime) 1000)
#define MS_TIME_MS  ((MsTime) 1000000)
#define MS_TIME_S   ((MsTime) 1000000000)
#define MS_TIME_MIN (60 * MS_TIME_S)
#define MS_TIME_H   (3600 * MS_TIME_S)
#define MS_TIME_DAY (86400 * MS_TIME_S)
/* The end of time: "run until idle" and "never". */
#define MS_TIME_INFINITE G_MAXINT64

static inline MsTime
ms_time_from_seconds(double s)
{
    return (MsTime) (s * 1e9 + (s >= 0 ? 0.5 : -0.5));
}
static inline double
ms_time_to_seconds(MsTime t)
{
    return (double) t / 1e9;
}

/* a + b, saturating at MS_TIME_INFINITE (both are >= 0). */
static inline MsTime
ms_time_add(MsTime a, MsTime b)
{
    return (a > MS_TIME_INFINITE - b) ? MS_TIME_INFINITE : a + b;
}

/* Formats t in the largest unit that keeps it readable ("1.250 s", "120 ms",
 * "3 ns", "2 d 4 h"); "never" for MS_TIME_INFINITE. Returns a newly
 * allocated string (caller frees). */
char *ms_time_to_string(MsTime t);

/* Formats t as seconds with millisecond precision ("12.345"): the form
 * narration prints. Writes into buf (at least 32 bytes) and returns it. */
const char *ms_time_format_seconds(MsTime t, char *buf, gsize len);

G_END_DECLS

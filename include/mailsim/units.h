/* Values with units, as people write them in scenario files and on the
 * command line: times ("250ms", "2s", "5d"), bit rates ("10Mbps", "1Gbps")
 * and sizes ("1500B", "64KiB", "20MB"). The CLI and the scenario loader share
 * these parsers, so a value means the same everywhere. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"

G_BEGIN_DECLS

#define MS_UNITS_ERROR (ms_units_error_quark())
GQuark ms_units_error_quark(void);

typedef enum {
    MS_UNITS_ERROR_SYNTAX, /* not a number followed by a known unit */
    MS_UNITS_ERROR_RANGE,  /* negative, or too large to represent */
} MsUnitsError;

/* Parses a duration: a decimal number (fraction allowed) and one of the units
 * ns, us, ms, s, min, h, d. A bare number is refused (units are mandatory),
 * except "0". Negative values are refused. */
gboolean ms_units_parse_time(const char *text, MsTime *out, GError **error);

/* Parses a bit rate in bits per second: bps, kbps, Mbps, Gbps, Tbps
 * (decimal multiples, as links are sold). Must be > 0. */
gboolean ms_units_parse_rate(const char *text, guint64 *out_bps, GError **error);

/* Parses a size in bytes: B, KB, MB, GB (powers of 1000) and KiB, MiB, GiB
 * (powers of 1024). A bare integer means bytes. */
gboolean ms_units_parse_size(const char *text, guint64 *out_bytes, GError **error);

/* Parses a non-negative integer count (no units); refuses signs, junk and
 * overflow. */
gboolean ms_units_parse_count(const char *text, guint64 *out, GError **error);

/* Formats a rate ("10 Mbps") and a size ("64 KiB" when exact, else "1500 B");
 * newly allocated (caller frees). */
char *ms_units_rate_to_string(guint64 bps);
char *ms_units_size_to_string(guint64 bytes);

G_END_DECLS

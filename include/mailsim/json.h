/* Writing JSON text by hand: the one string escaper the trace's JSON Lines
 * sink, the sweep's summary and the story page share. They write their
 * JSON themselves rather than through json-glib's JsonGenerator because
 * the trace writes one object per record, millions per run, into a reused
 * buffer (building a JsonNode tree per record would cost an allocation per
 * member), and because the sweep's file and the story's data keep a layout
 * of their own that readers and tests already know. Reading JSON is left
 * to json-glib (sim/run/sweep_results.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    MS_JSON_PLAIN = 0,
    /* Also escape <, > and & (as \u003c, \u003e, \u0026), so that the
     * text can sit inside an HTML <script> element without closing it. */
    MS_JSON_HTML_SAFE = 1 << 0,
} MsJsonFlags;

/* Appends `text` (UTF-8; NULL is taken as "") to `out` as a JSON string
 * with its quotes (RFC 8259 7): '"' and '\' escaped with a backslash,
 * newline, carriage return and tab as \n, \r and \t, every other control
 * octet as \u00XX, everything else (UTF-8 included) as it is. Costs: one
 * pass, one append per run of octets that need no escape. */
void ms_json_append_string(GString *out, const char *text, MsJsonFlags flags);

G_END_DECLS

/* The JSON string escaper (include/mailsim/json.h) every JSON writer of
 * mailsim uses: trace records (JSON Lines), the sweep's summary, the story
 * page's steps. It sits at the bottom (GLib only) so that writers in any
 * layer share it.
 *
 * Design: the octets that need no escape are appended in runs, not one by
 * one, since trace text is mostly plain (a protocol line, a host name): the
 * loop only compares, and the buffer grows once per run. Invariant: the
 * output is valid JSON for any input octets; invalid UTF-8 is passed
 * through (the writers give UTF-8 from scenario files and protocol lines
 * already checked where they entered). No state, no allocation besides
 * the GString's own growth. */
#include "mailsim/json.h"

void
ms_json_append_string(GString *out, const char *text, MsJsonFlags flags)
{
    static const char hex[] = "0123456789abcdef";
    const gboolean html = (flags & MS_JSON_HTML_SAFE) != 0;
    const char *run = text ? text : "";
    g_string_append_c(out, '"');
    for (const char *p = run;; p++) {
        guchar ch = (guchar) *p;
        if (ch >= 0x20 && ch != '"' && ch != '\\' &&
            !(html && (ch == '<' || ch == '>' || ch == '&')))
            continue;
        if (p > run)
            g_string_append_len(out, run, p - run);
        if (ch == 0)
            break;
        run = p + 1;
        switch (ch) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default: {
            char u[] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 0xf], 0 };
            g_string_append(out, u);
        }
        }
    }
    g_string_append_c(out, '"');
}

/* Tests of the JSON string escaper (include/mailsim/json.h), table-driven:
 * each escape and the octets either side of its boundary (0x1f and 0x20,
 * the HTML-safe flag on and off, NULL and ""), then every octet 1..255 in
 * a string that json-glib must read back unchanged. */
#include "testlib.h"
#include "mailsim/json.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

static void
test_escapes(void)
{
    static const struct {
        const char *text;
        MsJsonFlags flags;
        const char *want;
    } cases[] = {
        { NULL, MS_JSON_PLAIN, "\"\"" },
        { "", MS_JSON_PLAIN, "\"\"" },
        { "plain text", MS_JSON_PLAIN, "\"plain text\"" },
        { "say \"hi\"", MS_JSON_PLAIN, "\"say \\\"hi\\\"\"" },
        { "a\\b", MS_JSON_PLAIN, "\"a\\\\b\"" },
        { "\n\r\t", MS_JSON_PLAIN, "\"\\n\\r\\t\"" },
        { "\x01\x08\x0c\x1f", MS_JSON_PLAIN, "\"\\u0001\\u0008\\u000c\\u001f\"" },
        { "\x1f\x20", MS_JSON_PLAIN, "\"\\u001f \"" },
        { "\x7f", MS_JSON_PLAIN, "\"\x7f\"" },
        { "caf\xc3\xa9", MS_JSON_PLAIN, "\"caf\xc3\xa9\"" },
        { "MAIL FROM:<a@b> & more", MS_JSON_PLAIN, "\"MAIL FROM:<a@b> & more\"" },
        { "MAIL FROM:<a@b> & more", MS_JSON_HTML_SAFE,
          "\"MAIL FROM:\\u003ca@b\\u003e \\u0026 more\"" },
        { "</script>", MS_JSON_HTML_SAFE, "\"\\u003c/script\\u003e\"" },
        { "\"\n", MS_JSON_HTML_SAFE, "\"\\\"\\n\"" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GString) out = g_string_new("x");
        ms_json_append_string(out, cases[i].text, cases[i].flags);
        CU_ASSERT_STRING_EQUAL(out->str + 1, cases[i].want);
        CU_ASSERT_EQUAL(out->str[0], 'x'); /* appended, not replaced */
        if (strcmp(out->str + 1, cases[i].want) != 0)
            fprintf(stderr, "\ncase %" G_GSIZE_FORMAT ": got %s, want %s\n", i, out->str + 1,
                    cases[i].want);
    }
}

/* Every octet but NUL, once plain and once HTML-safe: a JSON parser reads
 * back the very string that was written. */
static void
test_round_trip(void)
{
    char all[256];
    for (int c = 1; c < 256; c++)
        all[c - 1] = (char) c;
    all[255] = 0;
    /* only octets < 0x80 form valid UTF-8 on their own: json-glib checks it */
    const char *texts[] = { all, "\xc3\xa9 \xe2\x82\xac <b>&amp;</b> \"q\" \\ \t\r\n" };
    for (gsize t = 0; t < G_N_ELEMENTS(texts); t++) {
        g_autofree char *text = t == 0 ? g_strndup(texts[0], 127) : g_strdup(texts[t]);
        for (int html = 0; html <= 1; html++) {
            g_autoptr(GString) doc = g_string_new("[");
            ms_json_append_string(doc, text, html ? MS_JSON_HTML_SAFE : MS_JSON_PLAIN);
            g_string_append_c(doc, ']');
            g_autoptr(JsonParser) parser = json_parser_new();
            g_autoptr(GError) error = NULL;
            CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(parser, doc->str, -1, &error));
            JsonArray *a = json_node_get_array(json_parser_get_root(parser));
            CU_ASSERT_STRING_EQUAL(json_array_get_string_element(a, 0), text);
            if (html)
                CU_ASSERT(strpbrk(doc->str, "<>&") == NULL);
        }
    }
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "escapes", test_escapes },
        { "round trip", test_round_trip },
        { NULL, NULL },
    };
    return ms_test_main("json", cases);
}

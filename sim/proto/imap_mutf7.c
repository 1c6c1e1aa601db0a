/* Mailbox names between their two IMAP spellings: modified UTF-7 (RFC 3501
 * 5.1.3), which IMAP4rev1 sessions speak and the hooks and the bridge's
 * Maildir++ folders keep, and UTF-8 (RFC 9051 5.1), which a session speaks
 * once it has enabled IMAP4rev2. The IMAP server core converts at its edge
 * (imap_server_args.c on the way in, imap_server_list.c and friends on the
 * way out), so one internal form names each mailbox.
 *
 * Design. The Unicode work is GLib's: g_utf8_to_utf16 and g_utf16_to_utf8
 * (which refuse unpaired surrogates), g_base64_* for the octets; only the
 * modified alphabet ("," for "/", no "=" padding) and the shifts ("&" ...
 * "-", "&-" for "&") are done here. A modified UTF-7 name is accepted only
 * in its one canonical spelling (decoding and encoding again must give the
 * same octets), so every UTF-8 name has exactly one internal name: that
 * refuses printable ASCII inside base64, adjacent base64 runs, non-zero
 * padding bits and stray characters, as RFC 3501 5.1.3 asks. Costs: linear
 * in the name, a few allocations per run. Pure functions, nothing kept. */
#include "imap-private.h"

#include <string.h>

static gboolean
printable_ascii(gunichar c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* Appends the UTF-8 run p[0..n) (no printable ASCII in it) as "&" modified
 * base64 of its UTF-16BE "-". */
static void
encode_run(GString *out, const char *p, gsize n)
{
    glong units = 0;
    g_autofree gunichar2 *u16 = g_utf8_to_utf16(p, (glong) n, NULL, &units, NULL);
    g_assert(u16 != NULL); /* the caller validated the UTF-8 */
    g_autofree guchar *be = g_malloc((gsize) units * 2);
    for (glong i = 0; i < units; i++) {
        be[2 * i] = (guchar) (u16[i] >> 8);
        be[2 * i + 1] = (guchar) (u16[i] & 0xff);
    }
    g_autofree char *b64 = g_base64_encode(be, (gsize) units * 2);
    g_string_append_c(out, '&');
    for (const char *q = b64; *q && *q != '='; q++)
        g_string_append_c(out, *q == '/' ? ',' : *q);
    g_string_append_c(out, '-');
}

char *
ms__imap_mutf7_from_utf8(const char *utf8)
{
    g_return_val_if_fail(utf8 != NULL, NULL);
    if (!g_utf8_validate(utf8, -1, NULL))
        return NULL;
    GString *out = g_string_sized_new(strlen(utf8) + 8);
    const char *p = utf8;
    while (*p) {
        gunichar c = g_utf8_get_char(p);
        if (printable_ascii(c)) {
            if (c == '&')
                g_string_append(out, "&-");
            else
                g_string_append_c(out, (char) c);
            p++;
            continue;
        }
        const char *st = p;
        while (*p && !printable_ascii(g_utf8_get_char(p)))
            p = g_utf8_next_char(p);
        encode_run(out, st, (gsize) (p - st));
    }
    return g_string_free(out, FALSE);
}

/* Decodes one modified base64 run b[0..n) into UTF-8 appended to `out`.
 * FALSE when it is not base64 of well-formed UTF-16BE. */
static gboolean
decode_run(GString *out, const char *b, gsize n)
{
    if (n == 0 || n % 4 == 1)
        return FALSE;
    GString *std = g_string_sized_new(n + 3);
    for (gsize i = 0; i < n; i++) {
        char ch = b[i];
        if (!g_ascii_isalnum(ch) && ch != '+' && ch != ',') {
            g_string_free(std, TRUE);
            return FALSE;
        }
        g_string_append_c(std, ch == ',' ? '/' : ch);
    }
    while (std->len % 4)
        g_string_append_c(std, '=');
    gsize len = 0;
    g_autofree guchar *be = g_base64_decode(std->str, &len);
    g_string_free(std, TRUE);
    if (len == 0 || len % 2)
        return FALSE;
    g_autofree gunichar2 *u16 = g_new(gunichar2, len / 2);
    for (gsize i = 0; i < len / 2; i++)
        u16[i] = (gunichar2) ((be[2 * i] << 8) | be[2 * i + 1]);
    g_autofree char *u8 = g_utf16_to_utf8(u16, (glong) (len / 2), NULL, NULL, NULL);
    if (!u8)
        return FALSE;
    g_string_append(out, u8);
    return TRUE;
}

char *
ms__imap_mutf7_to_utf8(const char *mutf7)
{
    g_return_val_if_fail(mutf7 != NULL, NULL);
    g_autoptr(GString) out = g_string_sized_new(strlen(mutf7));
    for (const char *p = mutf7; *p;) {
        guchar c = (guchar) *p;
        if (!printable_ascii(c))
            return NULL;
        if (c != '&') {
            g_string_append_c(out, (char) c);
            p++;
            continue;
        }
        const char *end = strchr(p + 1, '-');
        if (!end)
            return NULL;
        if (end == p + 1)
            g_string_append_c(out, '&');
        else if (!decode_run(out, p + 1, (gsize) (end - p - 1)))
            return NULL;
        p = end + 1;
    }
    /* RFC 3501 5.1.3: one spelling per name; see the top of the file. */
    g_autofree char *again = ms__imap_mutf7_from_utf8(out->str);
    if (!again || strcmp(again, mutf7) != 0)
        return NULL;
    return g_string_free(g_steal_pointer(&out), FALSE);
}

gboolean
ms__imap_name_chars_ok(const char *utf8)
{
    for (const char *p = utf8; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        /* RFC 9051 5.1 (Net-Unicode, RFC 5198 2): no C0 or C1 controls, no
         * DEL, no line or paragraph separator. */
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029)
            return FALSE;
    }
    return TRUE;
}

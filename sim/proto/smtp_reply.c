/* SMTP reply values and lexical helpers shared by sim/proto/smtp_server.c and
 * sim/proto/smtp_client.c (see include/mailsim/smtp_reply.h).
 *
 * Design. A reply is a plain value (code, enhanced code, owned text) so that
 * hooks can be handed one pre-filled with a default and change any part of
 * it. Formatting enforces the wire rules in one place, whatever a hook wrote:
 * the text cannot inject a CR or LF (it would let a hook, or data copied into
 * a reply, forge extra reply lines), and no line exceeds the 512-octet reply
 * limit of RFC 5321 4.5.3.1.5.
 *
 * Ownership: MsSmtpReply owns its text. Costs: all functions are linear in
 * their input; no state. */
#include "mailsim/smtp_reply.h"

#include <string.h>

#define REPLY_LINE_MAX 512 /* RFC 5321 4.5.3.1.5, including CRLF */

void
ms_smtp_reply_set(MsSmtpReply *reply, guint code, const char *enhanced, const char *text)
{
    g_return_if_fail(reply != NULL);
    reply->code = code;
    g_strlcpy(reply->enhanced, enhanced ? enhanced : "", sizeof reply->enhanced);
    char *old = reply->text;
    reply->text = g_strdup(text);
    g_free(old);
}

void
ms_smtp_reply_copy(MsSmtpReply *dst, const MsSmtpReply *src)
{
    g_return_if_fail(dst != NULL && src != NULL);
    if (dst == src)
        return;
    ms_smtp_reply_set(dst, src->code, src->enhanced, src->text);
}

void
ms_smtp_reply_clear(MsSmtpReply *reply)
{
    if (!reply)
        return;
    g_clear_pointer(&reply->text, g_free);
    reply->code = 0;
    reply->enhanced[0] = '\0';
}

static gboolean
digits_1_3(const char *s, gsize len)
{
    if (len < 1 || len > 3)
        return FALSE;
    for (gsize i = 0; i < len; i++)
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
    return TRUE;
}

gboolean
ms_smtp_enhanced_valid(const char *s, gsize len, guint klass)
{
    if (!s || len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return FALSE;
    if (klass != 0 && (guint) (s[0] - '0') != klass)
        return FALSE;
    const char *dot = memchr(s + 2, '.', len - 2);
    if (!dot)
        return FALSE;
    gsize sub = (gsize) (dot - (s + 2));
    gsize det = len - 2 - sub - 1;
    return digits_1_3(s + 2, sub) && digits_1_3(dot + 1, det);
}

/* Appends one wire line: code, separator, optional enhanced code, text. */
static void
format_line(GString *out, guint code, char sep, const char *enh, const char *text, gsize len)
{
    gsize start = out->len;
    char digits[3] = { (char) ('0' + code / 100), (char) ('0' + code / 10 % 10),
                       (char) ('0' + code % 10) };
    g_string_append_len(out, digits, 3);
    /* "334 " keeps its space even when empty: SASL clients expect it. */
    if (*enh || len > 0 || sep == '-' || code == 334)
        g_string_append_c(out, sep);
    if (*enh) {
        g_string_append(out, enh);
        if (len > 0)
            g_string_append_c(out, ' ');
    }
    for (gsize i = 0; i < len && out->len - start < REPLY_LINE_MAX - 2; i++) {
        guchar c = (guchar) text[i];
        g_string_append_c(out, (c < 0x20 || c == 0x7f) ? ' ' : (char) c);
    }
    g_string_append(out, "\r\n");
}

void
ms_smtp_reply_format(const MsSmtpReply *reply, gboolean with_enhanced, GString *out)
{
    g_return_if_fail(reply != NULL && out != NULL);
    guint code = (reply->code >= 200 && reply->code <= 599) ? reply->code : 451;
    guint klass = code / 100;
    char enh[sizeof reply->enhanced] = "";
    if (with_enhanced && klass != 3) {
        if (ms_smtp_enhanced_valid(reply->enhanced, strlen(reply->enhanced), klass))
            g_strlcpy(enh, reply->enhanced, sizeof enh);
        else
            g_snprintf(enh, sizeof enh, "%u.0.0", klass);
    }
    const char *text = reply->text ? reply->text : "";
    for (;;) {
        const char *nl = strchr(text, '\n');
        gsize len = nl ? (gsize) (nl - text) : strlen(text);
        if (len > 0 && text[len - 1] == '\r')
            len--;
        format_line(out, code, nl ? '-' : ' ', enh, text, len);
        if (!nl)
            break;
        text = nl + 1;
    }
}

gboolean
ms_smtp_reply_parse_line(const char *line, gsize len, guint *code, gboolean *last,
                         const char **text)
{
    if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
        !g_ascii_isdigit(line[2]))
        return FALSE;
    gboolean is_last;
    const char *t;
    if (len == 3) {
        is_last = TRUE;
        t = line + 3;
    } else if (line[3] == ' ' || line[3] == '-') {
        is_last = line[3] == ' ';
        t = line + 4;
    } else {
        return FALSE;
    }
    *code = (guint) ((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
    *last = is_last;
    *text = t;
    return TRUE;
}

static int
b64_value(guchar c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

guint8 *
ms_smtp_base64_decode_strict(const char *s, gsize *out_len)
{
    g_return_val_if_fail(s != NULL && out_len != NULL, NULL);
    gsize n = strlen(s);
    if (n % 4 != 0)
        return NULL;
    gsize pad = 0;
    if (n >= 1 && s[n - 1] == '=')
        pad++;
    if (n >= 2 && s[n - 2] == '=')
        pad++;
    for (gsize i = 0; i < n - pad; i++)
        if (b64_value((guchar) s[i]) < 0)
            return NULL;
    g_autofree guint8 *out = g_malloc(n / 4 * 3 + 1);
    gsize o = 0;
    for (gsize i = 0; i < n; i += 4) {
        guint32 v = 0;
        for (gsize k = 0; k < 4; k++) {
            int d = s[i + k] == '=' ? 0 : b64_value((guchar) s[i + k]);
            v = (v << 6) | (guint32) d;
        }
        out[o++] = (guint8) (v >> 16);
        out[o++] = (guint8) (v >> 8);
        out[o++] = (guint8) v;
    }
    o -= pad;
    out[o] = 0;
    *out_len = o;
    return g_steal_pointer(&out);
}

char *
ms_smtp_escape_line(const guint8 *line, gsize len)
{
    GString *s = g_string_sized_new(len + 8);
    for (gsize i = 0; i < len; i++) {
        guint8 c = line[i];
        if (c == '\\')
            g_string_append(s, "\\\\");
        else if (c < 0x20 || c >= 0x7f)
            g_string_append_printf(s, "\\x%02x", c);
        else
            g_string_append_c(s, (char) c);
    }
    return g_string_free(s, FALSE);
}

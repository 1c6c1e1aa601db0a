/* Syntax of the names and addresses a scenario file holds: IPv4 dotted
 * quads, host names (RFC 1123 2.1 labels), e-mail addresses (RFC 5321
 * 4.1.2 Mailbox with a dot-atom local part, RFC 5322 3.2.3), enhanced status
 * codes (RFC 3463 2) and element ids. Pure functions on strings, used by the
 * loader (sim/scenario/scenario_read.c); no allocation, O(length). */
#include "scenario-private.h"
#include "mailsim/net.h"

#include <string.h>

gboolean
ms__scenario_parse_ipv4(const char *text, guint32 *out, const char **why)
{
    guint32 addr;
    if (!ms_ipv4_parse(text, &addr)) { /* the syntax: include/mailsim/net.h */
        *why = "expected an IPv4 address a.b.c.d with each part 0 to 255, e.g. 192.0.2.10";
        return FALSE;
    }
    if (addr == 0 || addr == 0xFFFFFFFFu) {
        *why = "0.0.0.0 and 255.255.255.255 are not host addresses";
        return FALSE;
    }
    *out = addr;
    return TRUE;
}

gboolean
ms__scenario_check_hostname(const char *text, const char **why)
{
    gsize len = strlen(text);
    const char *expect =
        "expected a host name of dot-separated labels of letters, digits "
        "and '-' (1 to 63 characters, no '-' at either end), at most 253 characters";
    if (len == 0 || len > 253) {
        *why = expect;
        return FALSE;
    }
    gsize label = 0;
    char prev = '.';
    for (const char *p = text;; p++) {
        char c = *p;
        if (c == '.' || c == '\0') {
            if (label == 0 || prev == '-') {
                *why = expect;
                return FALSE;
            }
            if (c == '\0')
                break;
            label = 0;
        } else if (g_ascii_isalnum(c) || (c == '-' && label > 0)) {
            if (++label > 63) {
                *why = expect;
                return FALSE;
            }
        } else {
            *why = expect;
            return FALSE;
        }
        prev = c;
    }
    return TRUE;
}

/* RFC 5322 3.2.3 atext. */
static gboolean
is_atext(char c)
{
    return g_ascii_isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

gboolean
ms__scenario_check_email(const char *text, const char **why)
{
    const char *expect =
        "expected an e-mail address local@domain (RFC 5321 4.1.2), e.g. alice@isp-a.net";
    const char *at = strrchr(text, '@');
    if (!at || at == text) {
        *why = expect;
        return FALSE;
    }
    gsize local = (gsize) (at - text);
    if (local > 64) { /* RFC 5321 4.5.3.1.1 */
        *why = "the local part is longer than 64 characters (RFC 5321 4.5.3.1.1)";
        return FALSE;
    }
    char prev = '.';
    for (const char *p = text; p < at; p++) {
        if (*p == '.') {
            if (prev == '.') {
                *why = expect;
                return FALSE;
            }
        } else if (!is_atext(*p)) {
            *why = expect;
            return FALSE;
        }
        prev = *p;
    }
    if (prev == '.') {
        *why = expect;
        return FALSE;
    }
    const char *hwhy;
    if (!ms__scenario_check_hostname(at + 1, &hwhy)) {
        *why = expect;
        return FALSE;
    }
    return TRUE;
}

gboolean
ms__scenario_check_status(const char *text, const char **why)
{
    /* RFC 3463 2: class "." subject "." detail; class 2, 4 or 5; subject
     * 1 to 3 digits, detail 1 to 3 digits. */
    const char *p = text;
    if (!(*p == '2' || *p == '4' || *p == '5') || p[1] != '.')
        goto bad;
    p += 2;
    for (int part = 0; part < 2; part++) {
        int n = 0;
        while (g_ascii_isdigit(*p) && n < 4) {
            p++;
            n++;
        }
        if (n < 1 || n > 3)
            goto bad;
        if (part == 0) {
            if (*p != '.')
                goto bad;
            p++;
        }
    }
    if (*p == '\0')
        return TRUE;
bad:
    *why = "expected an enhanced status code class.subject.detail with class 2, 4 or 5 "
           "(RFC 3463 2), e.g. 5.1.1";
    return FALSE;
}

gboolean
ms__scenario_check_id(const char *text, const char **why)
{
    /* Ids appear in errors, traces and link targets "a~b": keep them plain. */
    if (*text == '\0' || strlen(text) > 64)
        goto bad;
    for (const char *p = text; *p; p++)
        if (!(g_ascii_isalnum(*p) || *p == '-' || *p == '_' || *p == '.'))
            goto bad;
    return TRUE;
bad:
    *why = "expected an id of 1 to 64 letters, digits, '-', '_' or '.'";
    return FALSE;
}

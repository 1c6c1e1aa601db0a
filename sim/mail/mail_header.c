/* RFC 5322 header helpers of the mail layer: reading a field of a
 * message's header section, counting its Received: fields, putting a new
 * field on top, writing a date, and the two halves of an address.
 *
 * Role in the data flow: every server that takes a message in (SMTP,
 * injection, workloads, DSNs; mail_accept.c and its callers) stamps a
 * Received: header with ms__mail_date() and ms__prepend_header(), counts
 * the Received: fields to stop loops (RFC 5321 6.3), and reads the
 * Message-ID: and Subject: back to find the message's record
 * (mail_record.c).
 *
 * Design. Messages are GBytes with CRLF line ends, as the SMTP core hands
 * them over; the helpers read them in place and never parse the whole
 * header section into a table: a hop reads at most two fields of it. Only
 * unfolded fields are read (the fields we look for are ours, on one line;
 * a folded field from a real client gives its first line). Dates are
 * simulated time counted from 2026-11-29 00:00:00 UTC (MS_MAIL_EPOCH_UNIX,
 * the clock captures stamp packets with too), written with fixed
 * English names so that no locale can change a byte.
 *
 * Invariants: the header section ends at the first empty line (RFC 5322
 * 2.1); a message without one is all header. Ownership: each function says
 * what it returns; the inputs are borrowed. Costs: reading a field is
 * O(header section); prepending copies the message once (GBytes are
 * immutable and shared with queues and mailboxes). */
#include "mail-private.h"

#include <string.h>

/* The start of the line after the one at p, or NULL at the end. */
static const char *
next_line(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (gsize) (end - p));
    return nl ? nl + 1 : NULL;
}

/* The first field named `name` (k octets, no colon) at or after line p of
 * the header section that ends at `end` or at the first empty line; NULL
 * when there is none. */
static const char *
find_field(const char *p, const char *end, const char *name, gsize k)
{
    for (; p && p < end; p = next_line(p, end)) {
        if (p + 2 <= end && p[0] == '\r' && p[1] == '\n')
            return NULL;
        if ((gsize) (end - p) > k && p[k] == ':' && g_ascii_strncasecmp(p, name, k) == 0)
            return p;
    }
    return NULL;
}

char *
ms__mail_header_value(const char *d, gsize n, const char *name)
{
    gsize k = strlen(name);
    const char *end = d + n;
    const char *p = find_field(d, end, name, k);
    if (!p)
        return NULL;
    const char *v = p + k + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    const char *e = v;
    while (e < end && *e != '\r' && *e != '\n')
        e++;
    return g_strndup(v, (gsize) (e - v));
}

guint
ms__count_received(GBytes *data)
{
    gsize n;
    const char *d = g_bytes_get_data(data, &n);
    const char *end = d + n;
    guint count = 0;
    for (const char *p = find_field(d, end, "Received", 8); p;
         p = find_field(next_line(p, end), end, "Received", 8))
        count++;
    return count;
}

GBytes *
ms__prepend_header(GBytes *data, const char *header)
{
    gsize n, h = strlen(header);
    const guint8 *d = g_bytes_get_data(data, &n);
    guint8 *out = g_malloc(h + n);
    memcpy(out, header, h);
    memcpy(out + h, d, n);
    return g_bytes_new_take(out, h + n);
}

const char *
ms__address_domain(const char *address)
{
    const char *at = strrchr(address, '@');
    return at ? at + 1 : "";
}

char *
ms__address_local(const char *address)
{
    const char *at = strrchr(address, '@');
    return at ? g_strndup(address, (gsize) (at - address)) : g_strdup(address);
}

/* Writes v as `width` decimal digits, zero-padded, at p; returns the end. */
static char *
put_digits(char *p, guint v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char) ('0' + v % 10);
    return p + width;
}

char *
ms__mail_date(MsTime t, char out[MS_MAIL_DATE_SIZE])
{
    /* Civil date from a day count (the proleptic Gregorian calendar, by
     * 400-year eras), not GDateTime: every Received: header writes one. */
    static const char *const days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    gint64 secs = t / MS_TIME_S;
    if (secs < 0)
        secs = 0;
    /* The epoch 2026-11-29 (a Sunday) is day 20786 after 1970-01-01. */
    gint64 day = MS_MAIL_EPOCH_UNIX / 86400 + secs / 86400, sod = secs % 86400;
    guint weekday = (guint) ((day + 3) % 7); /* 1970-01-01 was a Thursday: index 3 */
    gint64 z = day + 719468, era = z / 146097, doe = z - era * 146097;
    gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    gint64 d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9,
           y = yoe + era * 400 + (m <= 2);
    /* "Sun, 29 Nov 2026 00:00:00 +0000" (RFC 5322 3.3), without printf. */
    char *p = out;
    memcpy(p, days[weekday], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put_digits(p, (guint) d, 2);
    *p++ = ' ';
    memcpy(p, months[m - 1], 3);
    p += 3;
    *p++ = ' ';
    p = put_digits(p, (guint) (y % 10000), 4);
    *p++ = ' ';
    p = put_digits(p, (guint) (sod / 3600), 2);
    *p++ = ':';
    p = put_digits(p, (guint) (sod / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (guint) (sod % 60), 2);
    memcpy(p, " +0000", sizeof " +0000");
    return out;
}

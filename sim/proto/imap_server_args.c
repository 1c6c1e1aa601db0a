/* The IMAP server core's argument values, shared by every command family:
 * mailbox names (modified UTF-7, RFC 3501 5.1.3, INBOX case-insensitive),
 * sequence sets resolved against the selected mailbox's snapshot (RFC
 * 9051 9, "$" of RFC 5182), flag lists, and date-times.
 *
 * Design. Parsers take what the grammar of RFC 9051 9 allows and no more;
 * a sequence number past the end is BAD (RFC 3501 9) while UIDs that do
 * not exist are skipped (RFC 9051 6.4.9). Sets are sorted and merged
 * (O(r log r)) and walked with the mailbox (O(n + r)). Pure functions over
 * the session's snapshot; nothing kept. */
#include "imap_server-private.h"

#include <stdio.h>
#include <string.h>

/* ---- mailbox names ----------------------------------------------------- */

/* Checks a mailbox name in the session's spelling and returns it in the
 * internal one (RFC 9051 5.1): modified UTF-7 (RFC 3501 5.1.3) from an
 * IMAP4rev1 session, taken as it is once it is in its canonical spelling;
 * UTF-8 from a session that has enabled IMAP4rev2, converted. Either way
 * the name must decode to Unicode without controls (RFC 9051 5.1), and
 * "INBOX" is spelt so whatever its case. Newly allocated, or NULL with the
 * reason answered to the client (NO [CANNOT], as for any name the server
 * will not have). */
static char *
mailbox_name(MsImapServer *srv, const char *tag, const char *raw)
{
    gsize n = strlen(raw);
    g_autofree char *internal = NULL, *utf8 = NULL;
    if (n == 0 || n > NAME_MAX_LEN) {
        ms__imap_say(srv, "%s NO [CANNOT] Invalid mailbox name.", tag);
        return NULL;
    }
    if (srv->rev2) {
        if (!g_utf8_validate(raw, -1, NULL)) {
            ms__imap_say(srv, "%s NO [CANNOT] Mailbox name is not valid UTF-8.", tag);
            return NULL;
        }
        internal = ms__imap_mutf7_from_utf8(raw);
        utf8 = g_strdup(raw);
    } else {
        internal = g_strdup(raw);
        utf8 = ms__imap_mutf7_to_utf8(raw);
        if (!utf8) {
            ms__imap_say(srv, "%s NO [CANNOT] Invalid mailbox name.", tag);
            return NULL;
        }
    }
    if (!ms__imap_name_chars_ok(utf8)) {
        ms__imap_say(srv, "%s NO [CANNOT] Mailbox name holds a control character.", tag);
        return NULL;
    }
    n = strlen(internal);
    if (g_ascii_strcasecmp(internal, "INBOX") == 0)
        return g_strdup("INBOX");
    /* "/" "*" "%" spell the same in both forms (base64 runs use "," and
     * "+", never these), so the internal name is checked. */
    if (n > NAME_MAX_LEN || internal[0] == '/' || internal[n - 1] == '/' ||
        strstr(internal, "//") || strpbrk(internal, "*%")) {
        ms__imap_say(srv, "%s NO [CANNOT] Invalid mailbox name.", tag);
        return NULL;
    }
    return g_steal_pointer(&internal);
}

char *
ms__imap_mailbox_external(MsImapServer *srv, const char *name)
{
    if (!srv->rev2)
        return g_strdup(name);
    /* A name the hooks hold that is not canonical modified UTF-7 (none the
     * core creates) is shown as it is. */
    char *utf8 = ms__imap_mutf7_to_utf8(name);
    return utf8 ? utf8 : g_strdup(name);
}

void
ms__imap_mailbox_out(MsImapServer *srv, GString *s, const char *name)
{
    g_autofree char *ext = ms__imap_mailbox_external(srv, name);
    /* RFC 9051 9: in IMAP4rev2 a quoted string may carry UTF-8 (QUOTED-CHAR
     * takes UTF8-2/3/4), so the name goes quoted; IMAP4rev1's modified
     * UTF-7 is ASCII and quoted anyway. */
    ms__imap_string_utf8(s, ext, srv->rev2);
}

/* ---- sequence sets ----------------------------------------------------- */

typedef struct {
    guint32 lo, hi;
} Range;

static int
range_cmp(gconstpointer a, gconstpointer b)
{
    const Range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

gboolean
ms__imap_parse_num(const char *s, gsize n, guint32 *out)
{
    if (n == 0 || n > 10 || s[0] == '0')
        return FALSE;
    guint64 v = 0;
    for (gsize i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return FALSE;
        v = v * 10 + (guint64) (s[i] - '0');
    }
    if (v > G_MAXUINT32)
        return FALSE;
    *out = (guint32) v;
    return TRUE;
}

/* Parses a sequence-set (RFC 9051 9) with "*" standing for `star`, into
 * sorted, merged ranges. FALSE on a syntax error. */
static gboolean
parse_set(const char *s, guint32 star, GArray *ranges)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    for (char **w = parts; *w; w++) {
        if (ranges->len >= MAX_ITEMS)
            return FALSE;
        char *colon = strchr(*w, ':');
        guint32 a, b;
        gsize alen = colon ? (gsize) (colon - *w) : strlen(*w);
        if (alen == 1 && (*w)[0] == '*')
            a = star;
        else if (!ms__imap_parse_num(*w, alen, &a))
            return FALSE;
        b = a;
        if (colon) {
            if (strcmp(colon + 1, "*") == 0)
                b = star;
            else if (!ms__imap_parse_num(colon + 1, strlen(colon + 1), &b))
                return FALSE;
        }
        Range r = { MIN(a, b), MAX(a, b) };
        g_array_append_val(ranges, r);
    }
    g_array_sort(ranges, range_cmp);
    guint k = 0;
    for (guint i = 0; i < ranges->len; i++) {
        Range r = g_array_index(ranges, Range, i);
        if (k > 0 && r.lo <= g_array_index(ranges, Range, k - 1).hi + 1ull) {
            Range *prev = &g_array_index(ranges, Range, k - 1);
            prev->hi = MAX(prev->hi, r.hi);
        } else {
            g_array_index(ranges, Range, k++) = r;
        }
    }
    g_array_set_size(ranges, k);
    return TRUE;
}

/* Resolves a set against the snapshot into ascending 0-based indices.
 * Sequence numbers past the end are BAD (RFC 3501 9), "*" in an empty
 * mailbox too; UIDs that are not there are skipped (RFC 9051 6.4.9).
 * Returns NULL after answering BAD. */
GArray *
ms__imap_resolve_set(MsImapServer *srv, const char *tag, const char *s, gboolean uid)
{
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(Range));
    guint32 n = srv->msgs->len;
    if (strcmp(s, "$") == 0) {
        /* RFC 5182 2.1: the saved result, by UID, so that messages expunged
         * since the SEARCH simply drop out; as a message set it names the
         * same messages by number. */
        GArray *idx = g_array_new(FALSE, FALSE, sizeof(guint));
        guint j = 0;
        for (guint i = 0; i < n && j < srv->saved->len; i++) {
            guint32 u = g_array_index(srv->msgs, MsImapMessageInfo, i).uid;
            while (j < srv->saved->len && g_array_index(srv->saved, guint32, j) < u)
                j++;
            if (j < srv->saved->len && g_array_index(srv->saved, guint32, j) == u)
                g_array_append_val(idx, i);
        }
        return idx;
    }
    gboolean star = strchr(s, '*') != NULL;
    if (!parse_set(s, uid ? max_uid(srv) : n, ranges)) {
        ms__imap_bad(srv, tag, "Invalid sequence set.");
        return NULL;
    }
    GArray *idx = g_array_new(FALSE, FALSE, sizeof(guint));
    if (!uid) {
        if ((star && n == 0) ||
            (ranges->len && g_array_index(ranges, Range, ranges->len - 1).hi > n)) {
            g_array_unref(idx);
            ms__imap_bad(srv, tag,
                         "Error in IMAP command: Invalid messageset (message sequence number "
                         "past the end).");
            return NULL;
        }
        for (guint r = 0; r < ranges->len; r++)
            for (guint64 k = g_array_index(ranges, Range, r).lo;
                 k <= g_array_index(ranges, Range, r).hi; k++) {
                guint i = (guint) k - 1;
                g_array_append_val(idx, i);
            }
        return idx;
    }
    guint r = 0;
    for (guint i = 0; i < n && r < ranges->len; i++) {
        guint32 u = g_array_index(srv->msgs, MsImapMessageInfo, i).uid;
        while (r < ranges->len && g_array_index(ranges, Range, r).hi < u)
            r++;
        if (r < ranges->len && g_array_index(ranges, Range, r).lo <= u)
            g_array_append_val(idx, i);
    }
    return idx;
}

/* Appends a UID set for `uids` (ascending) in compact form. */
void
ms__imap_append_uid_set(GString *s, const guint32 *uids, guint n)
{
    for (guint i = 0; i < n;) {
        guint j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        if (i)
            g_string_append_c(s, ',');
        if (j > i)
            g_string_append_printf(s, "%u:%u", uids[i], uids[j]);
        else
            g_string_append_printf(s, "%u", uids[i]);
        i = j + 1;
    }
}

/* ---- flags and dates --------------------------------------------------- */

static const char *const flag_names[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                          "\\Draft" };

void
ms__imap_append_flags(GString *s, const MsImapMessageInfo *m, GPtrArray *keywords)
{
    g_string_append_c(s, '(');
    gboolean first = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(flag_names); i++)
        if (m->flags & (1u << i)) {
            if (!first)
                g_string_append_c(s, ' ');
            g_string_append(s, flag_names[i]);
            first = FALSE;
        }
    for (guint k = 0; keywords && k < keywords->len; k++)
        if (m->keywords & (1u << k)) {
            if (!first)
                g_string_append_c(s, ' ');
            g_string_append(s, g_ptr_array_index(keywords, k));
            first = FALSE;
        }
    g_string_append_c(s, ')');
}

GPtrArray *
ms__imap_keyword_names(GPtrArray *keywords, guint32 bits)
{
    GPtrArray *names = g_ptr_array_new();
    for (guint k = 0; keywords && k < keywords->len; k++)
        if (bits & (1u << k))
            g_ptr_array_add(names, g_ptr_array_index(keywords, k));
    g_ptr_array_add(names, NULL);
    return names;
}

guint32
ms__imap_keyword_bits(GPtrArray *keywords, GPtrArray *names, GPtrArray *unknown)
{
    guint32 bits = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        guint k = 0;
        while (k < keywords->len && g_ascii_strcasecmp(g_ptr_array_index(keywords, k), n))
            k++;
        if (k < keywords->len)
            bits |= 1u << k;
        else if (unknown)
            g_ptr_array_add(unknown, (gpointer) n);
    }
    return bits;
}

/* One flag (RFC 9051 9: flag = system flag / flag-keyword / flag-extension):
 * a system flag sets its bit in *flags; a keyword (an atom without "\")
 * joins `keywords` unless already there. \Recent, "\*" and unknown
 * system flags are errors (RFC 9051 6.4.6: \Recent cannot be stored). */
static gboolean
flag_one(const char *f, guint *flags, GPtrArray *keywords)
{
    for (guint i = 0; i < G_N_ELEMENTS(flag_names); i++)
        if (g_ascii_strcasecmp(f, flag_names[i]) == 0) {
            *flags |= 1u << i;
            return TRUE;
        }
    if (strchr(f, '\\'))
        return FALSE;
    for (guint k = 0; k < keywords->len; k++)
        if (!g_ascii_strcasecmp(g_ptr_array_index(keywords, k), f))
            return TRUE;
    g_ptr_array_add(keywords, g_strdup(f));
    return TRUE;
}

/* flag-list "(" [flag *(SP flag)] ")", or with `bare` also flags without
 * parentheses (STORE allows that). */
gboolean
ms__imap_parse_flags(MsImapParser *ps, gboolean bare, guint *flags, GPtrArray *keywords)
{
    gboolean paren = eat(ps, '(');
    *flags = 0;
    if (!paren && !bare)
        return FALSE;
    guint count = 0;
    while (!peek(ps, ')') && !at_end(ps)) {
        if (count && !eat(ps, ' '))
            return FALSE;
        g_autofree char *f = ms__imap_parse_atom(ps, "\\");
        if (!f || ++count > MAX_ITEMS || !flag_one(f, flags, keywords))
            return FALSE;
    }
    return !paren || eat(ps, ')');
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void
ms__imap_append_date(GString *s, gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    if (!dt)
        dt = g_date_time_new_from_unix_utc(0);
    g_string_append_printf(s, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"",
                           g_date_time_get_day_of_month(dt), months[g_date_time_get_month(dt) - 1],
                           g_date_time_get_year(dt), g_date_time_get_hour(dt),
                           g_date_time_get_minute(dt), g_date_time_get_second(dt));
}

/* date-time (RFC 9051 9): "dd-Mon-yyyy hh:mm:ss +zzzz", day may be " d". */
gboolean
ms__imap_parse_date_time(const char *s, gint64 *out)
{
    int d, y, h, mi, se, z;
    char mon[4], sign;
    if (strlen(s) != 26 ||
        sscanf(s, "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &d, mon, &y, &h, &mi, &se, &sign, &z) != 8)
        return FALSE;
    mon[3] = '\0';
    int m = 0;
    while (m < 12 && g_ascii_strcasecmp(mon, months[m]) != 0)
        m++;
    if (m == 12 || (sign != '+' && sign != '-') || z % 100 >= 60)
        return FALSE;
    g_autoptr(GDateTime) dt = g_date_time_new_utc(y, m + 1, d, h, mi, se);
    if (!dt)
        return FALSE;
    gint64 off = (gint64) (z / 100) * 3600 + (gint64) (z % 100) * 60;
    *out = g_date_time_to_unix(dt) - (sign == '+' ? off : -off);
    return TRUE;
}

char *
ms__imap_mailbox_arg(MsImapCtx *c, const char *what)
{
    g_autofree char *raw = NULL;
    if (!eat(c->ps, ' ') || !(raw = ms__imap_parse_astring(c->ps))) {
        ms__imap_syntax(c, what);
        return NULL;
    }
    return mailbox_name(c->srv, c->tag, raw);
}

guint
ms__imap_month_of(const char *s)
{
    for (guint i = 0; i < 12; i++)
        if (!g_ascii_strncasecmp(s, months[i], 3))
            return i + 1;
    return 0;
}

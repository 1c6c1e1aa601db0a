/* The IMAP server core's SEARCH (RFC 9051 6.4.4): the search-key parser,
 * the matcher, and the answers: the classic "* SEARCH", ESEARCH with
 * RETURN options (RFC 4731) and the saved result "$" (SEARCHRES, RFC
 * 5182).
 *
 * Design. Keys are parsed into a tree (depth and count bounded by
 * MAX_DEPTH and MAX_ITEMS), then matched message by message; a message's
 * bytes are read through the hook only for header, text and sent-date
 * keys, once per message. Dates compare by day. "$" is kept by UID, so
 * expunged messages drop out of it. */
#include "imap_server-private.h"

#include <stdio.h>
#include <string.h>

/* ---- SEARCH ------------------------------------------------------------ */

typedef enum {
    K_ALL,
    K_FLAG_SET,   /* bit set */
    K_FLAG_CLEAR, /* bit clear */
    K_HEADER,     /* str in header field */
    K_SET,        /* sequence set */
    K_UIDSET,
    K_LARGER,
    K_SMALLER,
    K_NOT,
    K_OR,
    K_AND,
    K_DATE,    /* BEFORE/ON/SINCE (internal date), SENT* (Date: field) */
    K_TEXT,    /* BODY (bit 0) or TEXT (bit 1) contains str */
    K_KEYWORD, /* KEYWORD str: the message has it */
} KeyKind;

typedef struct SearchKey SearchKey;
struct SearchKey {
    KeyKind kind;
    guint bit;
    guint64 num;
    char *field, *str;
    GArray *idx; /* K_SET / K_UIDSET: the matching indices, ascending */
    gint64 day;  /* K_DATE: the day (GDate julian: 1 = 1 January 1) */
    int cmp;     /* K_DATE: -1 before, 0 on, 1 since (on or after) */
    gboolean sent;
    GPtrArray *subs;
};

static void
key_free(gpointer p)
{
    SearchKey *k = p;
    if (!k)
        return;
    g_free(k->field);
    g_free(k->str);
    if (k->idx)
        g_array_unref(k->idx);
    if (k->subs)
        g_ptr_array_unref(k->subs);
    g_free(k);
}

static SearchKey *
key_new(KeyKind kind)
{
    SearchKey *k = g_new0(SearchKey, 1);
    k->kind = kind;
    return k;
}

static SearchKey *p_search_key(MsImapCtx *c, int depth, guint *count);

/* GDate's day count of day/month/year, or -1 when it is no date. */
static gint64
julian(guint d, guint m, guint y)
{
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        d > g_date_get_days_in_month((GDateMonth) m, (GDateYear) y))
        return -1;
    GDate dt;
    g_date_clear(&dt, 1);
    g_date_set_dmy(&dt, (GDateDay) d, (GDateMonth) m, (GDateYear) y);
    return g_date_get_julian(&dt);
}

/* date (RFC 9051 9): d[d]-Mon-yyyy. */
static gboolean
search_date(const char *s, gint64 *day)
{
    guint d = 0, y = 0;
    char mon[4] = { 0 };
    int used = 0;
    if (sscanf(s, "%2u-%3c-%4u%n", &d, mon, &y, &used) != 3 || s[used] || strlen(s) < 10)
        return FALSE;
    *day = julian(d, ms__imap_month_of(mon), y);
    return *day >= 0;
}

/* The day of a Date: field (RFC 5322 3.3: [day-name ","] d month yyyy
 * ...), in its own zone; -1 when absent or unreadable. */
static gint64
sent_day(const guint8 *p, gsize n)
{
    g_autofree char *v = ms__imap_header_get(p, n, "Date");
    if (!v)
        return -1;
    const char *q = strchr(v, ',');
    q = q ? q + 1 : v;
    guint d = 0, y = 0;
    char mon[4] = { 0 };
    if (sscanf(q, " %2u %3c %4u", &d, mon, &y) != 3)
        return -1;
    return julian(d, ms__imap_month_of(mon), y);
}

/* Keys joined by spaces until `close` (')' or end), as one AND key. */
static SearchKey *
p_search_keys(MsImapCtx *c, int depth, gboolean paren, guint *count)
{
    SearchKey *and = key_new(K_AND);
    and->subs = g_ptr_array_new_with_free_func(key_free);
    for (;;) {
        SearchKey *k = p_search_key(c, depth, count);
        if (!k) {
            key_free(and);
            return NULL;
        }
        g_ptr_array_add(and->subs, k);
        if (paren && eat(c->ps, ')'))
            return and;
        if (!paren && at_end(c->ps))
            return and;
        if (!eat(c->ps, ' ')) {
            key_free(and);
            return NULL;
        }
    }
}

static gboolean
is_set_syntax(const char *w)
{
    if (strcmp(w, "$") == 0) /* RFC 5182 2.1 */
        return TRUE;
    for (const char *q = w; *q; q++)
        if (!g_ascii_isdigit(*q) && !strchr(":,*", *q))
            return FALSE;
    return *w != '\0';
}

/* One search-key (RFC 9051 6.4.4) of the supported subset; NULL after a
 * syntax error or an unsupported key (the caller answers BAD), with
 * c->srv's state unchanged. A sequence set past the end answers BAD itself
 * and sets *count to G_MAXUINT. */
static SearchKey *
p_search_key(MsImapCtx *c, int depth, guint *count)
{
    if (depth > MAX_DEPTH || ++*count > MAX_ITEMS)
        return NULL;
    if (eat(c->ps, '('))
        return p_search_keys(c, depth + 1, TRUE, count);
    g_autofree char *w = ms__imap_parse_atom(c->ps, "*");
    if (!w)
        return NULL;
    static const struct {
        const char *name;
        KeyKind kind;
        guint bit;
    } flagkeys[] = {
        { "SEEN", K_FLAG_SET, MS_IMAP_FLAG_SEEN },
        { "UNSEEN", K_FLAG_CLEAR, MS_IMAP_FLAG_SEEN },
        { "ANSWERED", K_FLAG_SET, MS_IMAP_FLAG_ANSWERED },
        { "UNANSWERED", K_FLAG_CLEAR, MS_IMAP_FLAG_ANSWERED },
        { "FLAGGED", K_FLAG_SET, MS_IMAP_FLAG_FLAGGED },
        { "UNFLAGGED", K_FLAG_CLEAR, MS_IMAP_FLAG_FLAGGED },
        { "DELETED", K_FLAG_SET, MS_IMAP_FLAG_DELETED },
        { "UNDELETED", K_FLAG_CLEAR, MS_IMAP_FLAG_DELETED },
        { "DRAFT", K_FLAG_SET, MS_IMAP_FLAG_DRAFT },
        { "UNDRAFT", K_FLAG_CLEAR, MS_IMAP_FLAG_DRAFT },
    };
    for (guint i = 0; i < G_N_ELEMENTS(flagkeys); i++)
        if (!g_ascii_strcasecmp(w, flagkeys[i].name)) {
            SearchKey *k = key_new(flagkeys[i].kind);
            k->bit = flagkeys[i].bit;
            return k;
        }
    if (!g_ascii_strcasecmp(w, "ALL"))
        return key_new(K_ALL);
    /* RFC 9051 6.4.4: dates compare by day, disregarding time and zone. */
    static const char *const dates[] = { "BEFORE",     "ON",     "SINCE",
                                         "SENTBEFORE", "SENTON", "SENTSINCE" };
    for (guint i = 0; i < G_N_ELEMENTS(dates); i++)
        if (!g_ascii_strcasecmp(w, dates[i])) {
            g_autofree char *d = NULL;
            gint64 day;
            if (!eat(c->ps, ' ') || !(d = ms__imap_parse_astring(c->ps)) || !search_date(d, &day))
                return NULL;
            SearchKey *k = key_new(K_DATE);
            k->day = day;
            k->cmp = (int) (i % 3) - 1;
            k->sent = i >= 3;
            return k;
        }
    if (!g_ascii_strcasecmp(w, "BODY") || !g_ascii_strcasecmp(w, "TEXT")) {
        char *str = NULL;
        if (!eat(c->ps, ' ') || !(str = ms__imap_parse_astring(c->ps)))
            return NULL;
        SearchKey *k = key_new(K_TEXT);
        k->bit = g_ascii_toupper(w[0]) == 'T';
        k->str = str;
        return k;
    }
    if (!g_ascii_strcasecmp(w, "HEADER")) {
        char *field = NULL, *str = NULL;
        if (!eat(c->ps, ' ') || !(field = ms__imap_parse_astring(c->ps)) || !eat(c->ps, ' ') ||
            !(str = ms__imap_parse_astring(c->ps))) {
            g_free(field);
            return NULL;
        }
        SearchKey *k = key_new(K_HEADER);
        k->field = field;
        k->str = str;
        return k;
    }
    if (!g_ascii_strcasecmp(w, "KEYWORD") || !g_ascii_strcasecmp(w, "UNKEYWORD")) {
        /* RFC 9051 6.4.4: UNKEYWORD is NOT KEYWORD. */
        char *kw = NULL;
        if (!eat(c->ps, ' ') || !(kw = ms__imap_parse_atom(c->ps, NULL)))
            return NULL;
        SearchKey *k = key_new(K_KEYWORD);
        k->str = kw;
        if (g_ascii_toupper(w[0]) == 'K')
            return k;
        SearchKey *not = key_new(K_NOT);
        not ->subs = g_ptr_array_new_with_free_func(key_free);
        g_ptr_array_add(not ->subs, k);
        return not ;
    }
    const char *headers[] = { "FROM", "SUBJECT", "TO", "CC", "BCC" };
    for (guint i = 0; i < G_N_ELEMENTS(headers); i++)
        if (!g_ascii_strcasecmp(w, headers[i])) {
            char *str = NULL;
            if (!eat(c->ps, ' ') || !(str = ms__imap_parse_astring(c->ps)))
                return NULL;
            SearchKey *k = key_new(K_HEADER);
            k->field = g_strdup(headers[i]);
            k->str = str;
            return k;
        }
    if (!g_ascii_strcasecmp(w, "LARGER") || !g_ascii_strcasecmp(w, "SMALLER")) {
        g_autofree char *num = NULL;
        guint32 v = 0;
        if (!eat(c->ps, ' ') || !(num = ms__imap_parse_atom(c->ps, NULL)) ||
            !(strcmp(num, "0") == 0 || ms__imap_parse_num(num, strlen(num), &v)))
            return NULL;
        SearchKey *k = key_new(g_ascii_toupper(w[0]) == 'L' ? K_LARGER : K_SMALLER);
        k->num = v;
        return k;
    }
    if (!g_ascii_strcasecmp(w, "NOT")) {
        SearchKey *sub;
        if (!eat(c->ps, ' ') || !(sub = p_search_key(c, depth + 1, count)))
            return NULL;
        SearchKey *k = key_new(K_NOT);
        k->subs = g_ptr_array_new_with_free_func(key_free);
        g_ptr_array_add(k->subs, sub);
        return k;
    }
    if (!g_ascii_strcasecmp(w, "OR")) {
        SearchKey *k = key_new(K_OR);
        k->subs = g_ptr_array_new_with_free_func(key_free);
        for (int i = 0; i < 2; i++) {
            SearchKey *sub;
            if (!eat(c->ps, ' ') || !(sub = p_search_key(c, depth + 1, count))) {
                key_free(k);
                return NULL;
            }
            g_ptr_array_add(k->subs, sub);
        }
        return k;
    }
    gboolean uid = !g_ascii_strcasecmp(w, "UID");
    g_autofree char *set = NULL;
    if (uid) {
        if (!eat(c->ps, ' ') || !(set = ms__imap_parse_atom(c->ps, "*")))
            return NULL;
    } else if (is_set_syntax(w)) {
        set = g_strdup(w);
    } else {
        return NULL;
    }
    GArray *idx = ms__imap_resolve_set(c->srv, c->tag, set, uid);
    if (!idx) {
        *count = G_MAXUINT; /* answered already */
        return NULL;
    }
    SearchKey *k = key_new(uid ? K_UIDSET : K_SET);
    k->idx = idx;
    return k;
}

static gboolean
ascii_contains(const char *hay, const char *needle)
{
    gsize n = strlen(needle);
    for (const char *q = hay; *q; q++)
        if (g_ascii_strncasecmp(q, needle, n) == 0)
            return TRUE;
    return n == 0;
}

static gboolean
key_match(MsImapServer *srv, SearchKey *k, guint i, GBytes **msg)
{
    MsImapMessageInfo *m = msg_at(srv, i);
    switch (k->kind) {
    case K_ALL:
        return TRUE;
    case K_FLAG_SET:
        return (m->flags & k->bit) != 0;
    case K_FLAG_CLEAR:
        return (m->flags & k->bit) == 0;
    case K_LARGER:
        return m->size > k->num;
    case K_SMALLER:
        return m->size < k->num;
    case K_SET:
    case K_UIDSET:
        for (guint j = 0; j < k->idx->len; j++)
            if (g_array_index(k->idx, guint, j) == i)
                return TRUE;
        return FALSE;
    case K_HEADER: {
        if (!*msg)
            *msg = srv->hooks.read(srv->user_data, srv->user, srv->mailbox, m->uid);
        if (!*msg)
            return FALSE;
        gsize n;
        const guint8 *p = g_bytes_get_data(*msg, &n);
        g_autofree char *v = ms__imap_header_get(p, n, k->field);
        return v && ascii_contains(v, k->str);
    }
    case K_KEYWORD:
        for (guint j = 0; j < srv->keywords->len; j++)
            if (!g_ascii_strcasecmp(g_ptr_array_index(srv->keywords, j), k->str))
                return (m->keywords & (1u << j)) != 0;
        return FALSE;
    case K_DATE:
    case K_TEXT: {
        gint64 day =
            m->internal_date >= 0 ? m->internal_date / 86400 : (m->internal_date - 86399) / 86400;
        day += 719163; /* 1970-01-01 in GDate's day count (1 = 1 January of year 1) */
        if (k->kind == K_DATE && !k->sent)
            return k->cmp < 0 ? day < k->day : k->cmp == 0 ? day == k->day : day >= k->day;
        if (!*msg)
            *msg = srv->hooks.read(srv->user_data, srv->user, srv->mailbox, m->uid);
        if (!*msg)
            return FALSE;
        gsize n;
        const guint8 *p = g_bytes_get_data(*msg, &n);
        if (k->kind == K_DATE) {
            day = sent_day(p, n);
            if (day < 0)
                return FALSE;
            return k->cmp < 0 ? day < k->day : k->cmp == 0 ? day == k->day : day >= k->day;
        }
        gsize h = k->bit ? 0 : ms__imap_header_end(p, n);
        g_autofree char *text = g_strndup((const char *) p + h, n - h);
        return ascii_contains(text, k->str);
    }
    case K_NOT:
        return !key_match(srv, g_ptr_array_index(k->subs, 0), i, msg);
    case K_OR:
        return key_match(srv, g_ptr_array_index(k->subs, 0), i, msg) ||
               key_match(srv, g_ptr_array_index(k->subs, 1), i, msg);
    case K_AND:
        for (guint j = 0; j < k->subs->len; j++)
            if (!key_match(srv, g_ptr_array_index(k->subs, j), i, msg))
                return FALSE;
        return TRUE;
    }
    return FALSE;
}

/* RETURN options of ESEARCH (RFC 4731 3.1) and SAVE (RFC 5182 2.1). */
enum { R_MIN = 1, R_MAX = 2, R_ALL = 4, R_COUNT = 8, R_SAVE = 16 };

/* "RETURN (opt ...)" after "SEARCH "; *ret gets the options (an empty
 * list means ALL, RFC 4731 3.1). FALSE on a syntax error. */
static gboolean
p_search_return(MsImapCtx *c, guint *ret)
{
    if (!eat(c->ps, '('))
        return FALSE;
    *ret = 0;
    if (!eat(c->ps, ')')) {
        do {
            g_autofree char *w = ms__imap_parse_atom(c->ps, NULL);
            static const struct {
                const char *name;
                guint bit;
            } opts[] = { { "MIN", R_MIN },
                         { "MAX", R_MAX },
                         { "ALL", R_ALL },
                         { "COUNT", R_COUNT },
                         { "SAVE", R_SAVE } };
            guint bit = 0;
            for (guint i = 0; w && i < G_N_ELEMENTS(opts); i++)
                if (!g_ascii_strcasecmp(w, opts[i].name))
                    bit = opts[i].bit;
            if (!bit)
                return FALSE;
            *ret |= bit;
        } while (eat(c->ps, ' '));
        if (!eat(c->ps, ')'))
            return FALSE;
    }
    if (*ret == 0)
        *ret = R_ALL;
    return eat(c->ps, ' ');
}

/* The ESEARCH response (RFC 4731 3.1, RFC 9051 7.3.4) for the matches
 * `hits` (message numbers or UIDs, ascending). MIN, MAX and ALL are left
 * out when nothing matched; COUNT is always there when asked. */
static void
esearch_reply(MsImapCtx *c, guint ret, const guint32 *hits, guint n)
{
    GString *s = g_string_new("* ESEARCH (TAG ");
    ms__imap_string(s, c->tag);
    g_string_append_c(s, ')');
    if (c->uid)
        g_string_append(s, " UID");
    if ((ret & R_MIN) && n)
        g_string_append_printf(s, " MIN %u", hits[0]);
    if ((ret & R_MAX) && n)
        g_string_append_printf(s, " MAX %u", hits[n - 1]);
    if (ret & R_COUNT)
        g_string_append_printf(s, " COUNT %u", n);
    if ((ret & R_ALL) && n) {
        g_string_append(s, " ALL ");
        ms__imap_append_uid_set(s, hits, n);
    }
    ms__imap_emit(c->srv, s);
    g_string_free(s, TRUE);
}

/* Parses SEARCH's arguments: RETURN options (into *ret, *esearch when
 * given), CHARSET, and the keys as one AND key. NULL after answering BAD or
 * NO. */
static SearchKey *
search_parse(MsImapCtx *c, guint *ret, gboolean *esearch)
{
    MsImapServer *srv = c->srv;
    if (!eat(c->ps, ' ')) {
        ms__imap_syntax(c, "SEARCH");
        return NULL;
    }
    gsize st = c->ps->i;
    g_autofree char *first = ms__imap_parse_atom(c->ps, NULL);
    if (first && !g_ascii_strcasecmp(first, "RETURN") && eat(c->ps, ' ')) {
        if (!p_search_return(c, ret)) {
            ms__imap_syntax(c, "SEARCH");
            return NULL;
        }
        *esearch = TRUE;
        st = c->ps->i;
        g_clear_pointer(&first, g_free);
        first = ms__imap_parse_atom(c->ps, NULL);
    }
    /* RFC 9051 6.4.4: CHARSET US-ASCII or UTF-8. */
    if (first && !g_ascii_strcasecmp(first, "CHARSET")) {
        g_autofree char *cs = NULL;
        if (!eat(c->ps, ' ') || !(cs = ms__imap_parse_astring(c->ps)) || !eat(c->ps, ' ')) {
            ms__imap_syntax(c, "SEARCH");
            return NULL;
        }
        if (g_ascii_strcasecmp(cs, "UTF-8") && g_ascii_strcasecmp(cs, "US-ASCII")) {
            ms__imap_say(srv, "%s NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset.", c->tag);
            return NULL;
        }
    } else {
        c->ps->i = st;
    }
    guint count = 0;
    SearchKey *key = p_search_keys(c, 0, FALSE, &count);
    if (!key && count != G_MAXUINT)
        ms__imap_bad(srv, c->tag,
                     "Error in IMAP command SEARCH: unsupported or invalid search key.");
    return key;
}

/* SEARCH (RFC 9051 6.4.4) with the RETURN options of ESEARCH (RFC 4731)
 * and SAVE (RFC 5182). The classic "* SEARCH" answer is given unless
 * RETURN was used or the client enabled IMAP4rev2 (RFC 9051 7.3.4). */
void
ms__imap_cmd_search(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    guint ret = 0;
    gboolean esearch = FALSE;
    SearchKey *key = search_parse(c, &ret, &esearch);
    /* RFC 9051 6.4.4: an IMAP4rev2 client gets ESEARCH, ALL unless it asked
     * otherwise. */
    if (key && srv->rev2 && !esearch) {
        esearch = TRUE;
        ret = R_ALL;
    }
    if (!key) {
        /* RFC 5182 2.1: a failed SEARCH ... SAVE leaves "$" empty. */
        if (ret & R_SAVE)
            g_array_set_size(srv->saved, 0);
        return;
    }
    g_autoptr(GArray) hits = g_array_new(FALSE, FALSE, sizeof(guint32));
    g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint i = 0; i < srv->msgs->len; i++) {
        g_autoptr(GBytes) msg = NULL;
        if (key_match(srv, key, i, &msg)) {
            guint32 u = msg_at(srv, i)->uid, v = c->uid ? u : i + 1;
            g_array_append_val(hits, v);
            g_array_append_val(uids, u);
        }
    }
    key_free(key);
    if (ret & R_SAVE) {
        /* RFC 5182 2.4: with MIN and/or MAX but neither ALL nor COUNT, only
         * those are saved. */
        g_array_set_size(srv->saved, 0);
        if ((ret & (R_MIN | R_MAX)) && !(ret & (R_ALL | R_COUNT))) {
            if ((ret & R_MIN) && uids->len)
                g_array_append_val(srv->saved, g_array_index(uids, guint32, 0));
            if ((ret & R_MAX) && uids->len > (ret & R_MIN ? 1u : 0u))
                g_array_append_val(srv->saved, g_array_index(uids, guint32, uids->len - 1));
        } else {
            g_array_append_vals(srv->saved, uids->data, uids->len);
        }
    }
    if (esearch) {
        /* RFC 5182 2.1: SAVE alone asks for no ESEARCH response. */
        if (ret & ~R_SAVE)
            esearch_reply(c, ret, (const guint32 *) (gpointer) hits->data, hits->len);
    } else {
        GString *s = g_string_new("* SEARCH");
        for (guint i = 0; i < hits->len; i++)
            g_string_append_printf(s, " %u", g_array_index(hits, guint32, i));
        ms__imap_emit(srv, s);
        g_string_free(s, TRUE);
    }
    ms__imap_say(srv, "%s OK Search completed.", c->tag);
}

/* The IMAP server core's mailbox management: LIST with the extended syntax
 * (RFC 9051 6.3.9, RFC 5258) and its STATUS return option (RFC 5819),
 * special-use attributes (RFC 6154), LSUB, STATUS, NAMESPACE, SUBSCRIBE,
 * CREATE, DELETE and RENAME.
 *
 * Design. Mailbox names come from the hooks, sorted here (never in a hash
 * table's order), INBOX first. Wildcards match by backtracking, bounded by
 * O(|pattern| * |name|). STATUS lists the mailbox through the hook and
 * counts (O(messages)). INBOX is never created, deleted or renamed. */
#include "imap_server-private.h"

#include <string.h>

void
ms__imap_cmd_namespace(MsImapCtx *c)
{
    if (!ms__imap_end_ok(c, "NAMESPACE"))
        return;
    ms__imap_say(c->srv, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
    ms__imap_say(c->srv, "%s OK Namespace completed.", c->tag);
}

/* Reads " mailbox" and checks it. NULL after answering. */

static int
strptrcmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* LIST wildcards (RFC 9051 6.3.9): "*" matches anything, "%" anything but
 * the delimiter. Iterative with backtracking over the last star, bounded
 * by O(|pattern| * |name|). */
static gboolean
match(const char *pat, const char *name, int depth)
{
    if (depth > 32)
        return FALSE;
    for (; *pat; pat++) {
        if (*pat == '*' || *pat == '%') {
            gboolean pct = *pat == '%';
            for (const char *q = name;; q++) {
                if (match(pat + 1, q, depth + 1))
                    return TRUE;
                if (!*q || (pct && *q == '/'))
                    return FALSE;
            }
        }
        if (*name != *pat)
            return FALSE;
        name++;
    }
    return *name == '\0';
}

/* Parses a STATUS item list "(" item *(SP item) ")" (RFC 9051 6.3.11)
 * into `items` (upper case). FALSE on a syntax error or an unknown item,
 * with *unknown set to it in the latter case. */
static gboolean
p_status_items(MsImapCtx *c, GPtrArray *items, char **unknown)
{
    static const char *const known[] = { "MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
                                         "RECENT",   "SIZE",    "DELETED" };
    if (!eat(c->ps, '('))
        return FALSE;
    while (!eat(c->ps, ')')) {
        if (items->len && !eat(c->ps, ' '))
            return FALSE;
        char *it = ms__imap_parse_atom(c->ps, NULL);
        if (!it || items->len >= 16) {
            g_free(it);
            return FALSE;
        }
        gboolean ok = FALSE;
        for (guint k = 0; k < G_N_ELEMENTS(known); k++)
            ok = ok || !g_ascii_strcasecmp(it, known[k]);
        /* RFC 9051 Appendix E: IMAP4rev2 has no RECENT. */
        ok = ok && !(c->srv->rev2 && !g_ascii_strcasecmp(it, "RECENT"));
        if (!ok) {
            *unknown = it;
            return FALSE;
        }
        g_ptr_array_add(items, g_ascii_strup(it, -1));
        g_free(it);
    }
    return TRUE;
}

/* Appends the untagged STATUS response for `name` to `s` (without CRLF).
 * Returns the hook's answer; `s` is untouched unless OK. */
static MsImapHookResult
status_response(MsImapServer *srv, const char *name, GPtrArray *items, GString *s)
{
    g_autoptr(GArray) msgs = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    MsImapMailboxInfo info;
    MsImapHookResult r = ms__imap_list_box(srv, name, msgs, &info, NULL);
    if (r != MS_IMAP_HOOK_OK)
        return r;
    guint unseen = 0, deleted = 0;
    guint64 size = 0;
    for (guint i = 0; i < msgs->len; i++) {
        const MsImapMessageInfo *m = &g_array_index(msgs, MsImapMessageInfo, i);
        unseen += !(m->flags & MS_IMAP_FLAG_SEEN);
        deleted += !!(m->flags & MS_IMAP_FLAG_DELETED);
        size += m->size;
    }
    g_string_append(s, "* STATUS ");
    ms__imap_mailbox_out(srv, s, name);
    g_string_append(s, " (");
    for (guint i = 0; i < items->len; i++) {
        const char *it = g_ptr_array_index(items, i);
        guint64 v = 0; /* RECENT: no session sees a message as new */
        if (!strcmp(it, "MESSAGES"))
            v = msgs->len;
        else if (!strcmp(it, "UIDNEXT"))
            v = info.uidnext;
        else if (!strcmp(it, "UIDVALIDITY"))
            v = info.uidvalidity;
        else if (!strcmp(it, "UNSEEN"))
            v = unseen;
        else if (!strcmp(it, "SIZE"))
            v = size;
        else if (!strcmp(it, "DELETED"))
            v = deleted;
        g_string_append_printf(s, "%s%s %" G_GUINT64_FORMAT, i ? " " : "", it, v);
    }
    g_string_append_c(s, ')');
    return MS_IMAP_HOOK_OK;
}

/* Options of extended LIST (RFC 5258 3, RFC 9051 6.3.9): selection
 * options (L_SEL_*) and return options (L_RET_*). */
enum {
    L_SEL_SUBSCRIBED = 1,
    L_SEL_REMOTE = 2,
    L_SEL_RECURSIVE = 4,
    L_SEL_SPECIAL = 8,
    L_RET_SUBSCRIBED = 16,
    L_RET_CHILDREN = 32,
    L_RET_STATUS = 64,
    L_RET_SPECIAL = 128,
};

/* The special-use attribute (RFC 6154 2) of a mailbox, from its name. */
static const char *
special_use(const char *name)
{
    static const char *const uses[][2] = {
        { "Sent", "\\Sent" },
        { "Junk", "\\Junk" },
        { "Drafts", "\\Drafts" },
        { "Trash", "\\Trash" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(uses); i++)
        if (!strcmp(name, uses[i][0]))
            return uses[i][1];
    return NULL;
}

/* One option list "(" [atom *(SP atom)] ")"; for return options,
 * "STATUS (items)" fills `status`. FALSE on a syntax error or an unknown
 * option (RFC 5258 3: BAD), *opts holding the options seen. */
static gboolean
p_list_opts(MsImapCtx *c, gboolean ret, guint *opts, GPtrArray *status, char **unknown)
{
    static const struct {
        const char *name;
        guint bit;
        gboolean ret;
    } known[] = {
        { "SUBSCRIBED", L_SEL_SUBSCRIBED, FALSE },
        { "REMOTE", L_SEL_REMOTE, FALSE },
        { "RECURSIVEMATCH", L_SEL_RECURSIVE, FALSE },
        { "SPECIAL-USE", L_SEL_SPECIAL, FALSE },
        { "SUBSCRIBED", L_RET_SUBSCRIBED, TRUE },
        { "CHILDREN", L_RET_CHILDREN, TRUE },
        { "STATUS", L_RET_STATUS, TRUE },
        { "SPECIAL-USE", L_RET_SPECIAL, TRUE },
    };
    if (!eat(c->ps, '('))
        return FALSE;
    if (eat(c->ps, ')'))
        return TRUE;
    do {
        g_autofree char *w = ms__imap_parse_atom(c->ps, NULL);
        guint bit = 0;
        for (guint i = 0; w && i < G_N_ELEMENTS(known); i++)
            if (known[i].ret == ret && !g_ascii_strcasecmp(w, known[i].name))
                bit = known[i].bit;
        if (!bit) {
            if (w)
                *unknown = g_steal_pointer(&w);
            return FALSE;
        }
        if (bit == L_RET_STATUS && (!eat(c->ps, ' ') || !p_status_items(c, status, unknown)))
            return FALSE;
        *opts |= bit;
    } while (eat(c->ps, ' '));
    return eat(c->ps, ')');
}

/* Whether `name` is in the sorted array `sorted`. */
static gboolean
has_name(GPtrArray *sorted, const char *name)
{
    guint lo = 0, hi = sorted->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        int d = strcmp(g_ptr_array_index(sorted, mid), name);
        if (d == 0)
            return TRUE;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return FALSE;
}

/* Whether one of the sorted `names` lies below `name` ("name/..."). */
static gboolean
has_child(GPtrArray *names, const char *name)
{
    gsize nl = strlen(name);
    for (guint k = 0; k < names->len; k++) {
        const char *o = g_ptr_array_index(names, k);
        if (strncmp(o, name, nl) == 0 && o[nl] == '/')
            return TRUE;
    }
    return FALSE;
}

/* Whether the internal `name` matches one of the patterns `full` (ref and
 * pattern joined, in the session's spelling). The match is made on the
 * session's spelling: a wildcard stands for characters, which in UTF-8
 * are whole sequences, in modified UTF-7 not (RFC 9051 6.3.9, 5.1). */
static gboolean
matches_any(MsImapServer *srv, GPtrArray *full, const char *internal)
{
    g_autofree char *name = ms__imap_mailbox_external(srv, internal);
    for (guint k = 0; k < full->len; k++) {
        const char *pat = g_ptr_array_index(full, k);
        /* "INBOX" matches case-insensitively (RFC 9051 5.1). */
        if (match(pat, name, 0) ||
            (!strcmp(name, "INBOX") && g_ascii_strcasecmp(pat, "INBOX") == 0))
            return TRUE;
    }
    return FALSE;
}

/* INBOX first, then by octets: the order LIST answers in. */
static int
list_order(gconstpointer a, gconstpointer b)
{
    const char *x = *(char *const *) a, *y = *(char *const *) b;
    gboolean xi = !strcmp(x, "INBOX"), yi = !strcmp(y, "INBOX");
    return xi || yi ? yi - xi : strcmp(x, y);
}

/* What LIST and LSUB work from: the existing mailboxes and the subscribed
 * names, each sorted by octets (for has_name), INBOX among the former. */
typedef struct {
    GPtrArray *names, *subs;
} MailboxNames;

static void
names_read(MsImapServer *srv, MailboxNames *mn)
{
    mn->names = g_ptr_array_new_with_free_func(g_free);
    mn->subs = g_ptr_array_new_with_free_func(g_free);
    srv->hooks.mailboxes(srv->user_data, srv->user, mn->names);
    g_ptr_array_add(mn->names, g_strdup("INBOX"));
    g_ptr_array_sort(mn->names, strptrcmp);
    srv->hooks.subscriptions(srv->user_data, srv->user, mn->subs);
    g_ptr_array_sort(mn->subs, strptrcmp);
}

static void
names_clear(MailboxNames *mn)
{
    g_ptr_array_unref(mn->names);
    g_ptr_array_unref(mn->subs);
}

/* Appends one LIST (or LSUB) response for `name`, without CRLF. LIST:
 * \NonExistent for a subscribed name whose mailbox is gone (RFC 9051
 * 6.3.9, RFC 5258 3), else \HasChildren or \HasNoChildren (RFC 5258 4);
 * \Subscribed when `subscribed` (RFC 5258 3.4); the special-use attribute
 * (RFC 6154 2); CHILDINFO when `childinfo` (RFC 5258 3.5). LSUB (RFC 3501
 * 6.3.9) knows none of these: \Noselect for a parent listed only for its
 * subscribed children, nothing otherwise, as Dovecot answers. */
static void
list_line(MsImapServer *srv, GString *s, const char *what, const char *name, MailboxNames *mn,
          gboolean subscribed, gboolean parent_only, gboolean childinfo)
{
    gboolean exists = has_name(mn->names, name);
    g_string_append_printf(s, "* %s (", what);
    if (!strcmp(what, "LSUB")) {
        g_string_append_printf(s, "%s) \"/\" ", parent_only ? "\\Noselect" : "");
        ms__imap_mailbox_out(srv, s, name);
        return;
    }
    if (!exists)
        g_string_append(s, "\\NonExistent");
    else
        g_string_append(s, has_child(mn->names, name) ? "\\HasChildren" : "\\HasNoChildren");
    if (subscribed)
        g_string_append(s, " \\Subscribed");
    const char *use = exists ? special_use(name) : NULL;
    if (use)
        g_string_append_printf(s, " %s", use);
    g_string_append(s, ") \"/\" ");
    ms__imap_mailbox_out(srv, s, name);
    if (childinfo)
        g_string_append(s, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
}

void
ms__imap_tell_list(MsImapServer *srv, const char *name)
{
    MailboxNames mn;
    names_read(srv, &mn);
    GString *s = g_string_new(NULL);
    list_line(srv, s, "LIST", name, &mn, FALSE, FALSE, FALSE);
    ms__imap_emit(srv, s);
    g_string_free(s, TRUE);
    names_clear(&mn);
}

/* The answer to a parsed LIST or LSUB: one line per matching mailbox,
 * followed by its STATUS when asked, then the tagged OK. Which names are
 * candidates: the existing mailboxes for a plain LIST; the subscribed
 * names (existing or not) for LSUB and the SUBSCRIBED selection option,
 * with, for LSUB and under RECURSIVEMATCH, the parents that match only
 * because a subscribed name below them does not (RFC 3501 6.3.9, RFC
 * 5258 3.5). */
static void
list_answer(MsImapServer *srv, const char *tag, gboolean lsub, const char *ref, GPtrArray *pats,
            GPtrArray *status, guint opts, gboolean extended)
{
    const char *what = lsub ? "LSUB" : "LIST";
    if (pats->len == 1 && !*(char *) g_ptr_array_index(pats, 0) && !extended) {
        /* RFC 9051 6.3.9: the delimiter and root */
        if (!lsub)
            ms__imap_say(srv, "* LIST (\\Noselect) \"/\" \"\"");
        ms__imap_say(srv, "%s OK %s completed.", tag, what);
        return;
    }
    g_autoptr(GPtrArray) full = g_ptr_array_new_with_free_func(g_free);
    for (guint k = 0; k < pats->len; k++)
        if (*(char *) g_ptr_array_index(pats, k))
            g_ptr_array_add(full, g_strconcat(ref, g_ptr_array_index(pats, k), NULL));
    MailboxNames mn;
    names_read(srv, &mn);
    gboolean by_subs = lsub || (opts & L_SEL_SUBSCRIBED);
    gboolean parents = lsub || (opts & L_SEL_RECURSIVE);
    g_autoptr(GPtrArray) cands = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *from = by_subs ? mn.subs : mn.names;
    for (guint i = 0; i < from->len; i++) {
        const char *name = g_ptr_array_index(from, i);
        if (matches_any(srv, full, name))
            g_ptr_array_add(cands, g_strdup(name));
        else if (by_subs && parents)
            for (const char *sl = strchr(name, '/'); sl; sl = strchr(sl + 1, '/')) {
                g_autofree char *up = g_strndup(name, (gsize) (sl - name));
                if (matches_any(srv, full, up))
                    g_ptr_array_add(cands, g_steal_pointer(&up));
            }
    }
    g_ptr_array_sort(cands, list_order);
    for (guint i = 0; i < cands->len; i++) {
        const char *name = g_ptr_array_index(cands, i);
        if (i > 0 && !strcmp(name, g_ptr_array_index(cands, i - 1)))
            continue;
        gboolean exists = has_name(mn.names, name);
        if ((opts & L_SEL_SPECIAL) && !(exists && special_use(name)))
            continue;
        gboolean sub = has_name(mn.subs, name);
        /* RFC 5258 3.5: CHILDINFO when a subscribed name below does not
         * match the pattern itself. */
        gboolean childinfo = FALSE;
        gsize nl = strlen(name);
        for (guint k = 0; k < mn.subs->len && by_subs && parents && !childinfo; k++) {
            const char *o = g_ptr_array_index(mn.subs, k);
            childinfo = !strncmp(o, name, nl) && o[nl] == '/' && !matches_any(srv, full, o);
        }
        GString *s = g_string_new(NULL);
        list_line(srv, s, what, name, &mn, sub && (opts & (L_SEL_SUBSCRIBED | L_RET_SUBSCRIBED)),
                  !sub, childinfo && !lsub);
        ms__imap_emit(srv, s);
        g_string_free(s, TRUE);
        /* RFC 5819 4: the STATUS response follows its LIST response; a
         * mailbox that cannot be read gets none. */
        if ((opts & L_RET_STATUS) && exists) {
            GString *st = g_string_new(NULL);
            if (status_response(srv, name, status, st) == MS_IMAP_HOOK_OK)
                ms__imap_emit(srv, st);
            g_string_free(st, TRUE);
        }
    }
    names_clear(&mn);
    ms__imap_say(srv, "%s OK %s completed.", tag, what);
}

/* LIST (RFC 9051 6.3.9) with the extended syntax of RFC 5258: selection
 * options, several patterns, RETURN options, STATUS among them (LIST-STATUS,
 * RFC 5819), and special-use attributes (RFC 6154); LSUB (RFC 3501 6.3.9)
 * for IMAP4rev1 clients: IMAP4rev2 has none (RFC 9051 Appendix E), its
 * clients ask LIST (SUBSCRIBED), so after ENABLE IMAP4rev2 LSUB is BAD. */
static void
list_or_lsub(MsImapCtx *c, gboolean lsub)
{
    MsImapServer *srv = c->srv;
    const char *what = lsub ? "LSUB" : "LIST";
    g_autofree char *ref = NULL, *unknown = NULL;
    g_autoptr(GPtrArray) pats = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) status = g_ptr_array_new_with_free_func(g_free);
    guint opts = 0;
    gboolean extended = FALSE;
    if (lsub && srv->rev2) {
        ms__imap_bad(srv, c->tag, "LSUB is not part of IMAP4rev2: use LIST (SUBSCRIBED).");
        return;
    }
    if (!eat(c->ps, ' ')) {
        ms__imap_syntax(c, what);
        return;
    }
    if (!lsub && peek(c->ps, '(')) {
        extended = TRUE;
        if (!p_list_opts(c, FALSE, &opts, status, &unknown) || !eat(c->ps, ' '))
            goto syntax_error;
        /* RFC 5258 3.1: RECURSIVEMATCH only beside another selection option. */
        if ((opts & L_SEL_RECURSIVE) && !(opts & (L_SEL_SUBSCRIBED | L_SEL_SPECIAL)))
            goto syntax_error;
    }
    if (!(ref = ms__imap_parse_astring(c->ps)) || !eat(c->ps, ' '))
        goto syntax_error;
    if (!lsub && eat(c->ps, '(')) {
        extended = TRUE;
        do {
            char *p = ms__imap_parse_list_mailbox(c->ps);
            if (!p || pats->len >= 64) {
                g_free(p);
                goto syntax_error;
            }
            g_ptr_array_add(pats, p);
        } while (eat(c->ps, ' '));
        if (!eat(c->ps, ')'))
            goto syntax_error;
    } else {
        char *p = ms__imap_parse_list_mailbox(c->ps);
        if (!p)
            goto syntax_error;
        g_ptr_array_add(pats, p);
    }
    if (!lsub && eat(c->ps, ' ')) {
        g_autofree char *w = ms__imap_parse_atom(c->ps, NULL);
        extended = TRUE;
        if (!w || g_ascii_strcasecmp(w, "RETURN") || !eat(c->ps, ' ') ||
            !p_list_opts(c, TRUE, &opts, status, &unknown))
            goto syntax_error;
    }
    if (!ms__imap_end_ok(c, what))
        return;
    list_answer(srv, c->tag, lsub, ref, pats, status, opts, extended);
    return;
syntax_error:
    if (unknown)
        ms__imap_bad(srv, c->tag, "Error in IMAP command %s: unknown option %s.", what, unknown);
    else
        ms__imap_syntax(c, what);
}

void
ms__imap_cmd_list(MsImapCtx *c)
{
    list_or_lsub(c, FALSE);
}

void
ms__imap_cmd_lsub(MsImapCtx *c)
{
    list_or_lsub(c, TRUE);
}

/* The tagged answer to a folder command: OK, or NO with the hook's code. */
static void
hook_answer(MsImapCtx *c, MsImapHookResult r, const char *what)
{
    if (r == MS_IMAP_HOOK_OK)
        ms__imap_say(c->srv, "%s OK %s completed.", c->tag, what);
    else
        ms__imap_say(c->srv, "%s NO %s", c->tag, ms__imap_hook_code(r));
}

/* SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8): the hooks keep the
 * list; a name need not exist (its mailbox may come later or be gone). */
static void
subscribe(MsImapCtx *c, gboolean on)
{
    const char *what = on ? "SUBSCRIBE" : "UNSUBSCRIBE";
    g_autofree char *name = ms__imap_mailbox_arg(c, what);
    if (!name || !ms__imap_end_ok(c, what))
        return;
    MsImapServer *srv = c->srv;
    hook_answer(c, srv->hooks.subscribe(srv->user_data, srv->user, name, on),
                on ? "Subscribe" : "Unsubscribe");
}

void
ms__imap_cmd_subscribe(MsImapCtx *c)
{
    subscribe(c, TRUE);
}

void
ms__imap_cmd_unsubscribe(MsImapCtx *c)
{
    subscribe(c, FALSE);
}

void
ms__imap_cmd_status(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *name = ms__imap_mailbox_arg(c, "STATUS");
    if (!name)
        return;
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *unknown = NULL;
    if (!eat(c->ps, ' ') || !p_status_items(c, items, &unknown)) {
        if (unknown)
            ms__imap_bad(srv, c->tag, "Unknown STATUS item %s.", unknown);
        else
            ms__imap_syntax(c, "STATUS");
        return;
    }
    if (!ms__imap_end_ok(c, "STATUS"))
        return;
    GString *s = g_string_new(NULL);
    MsImapHookResult r = status_response(srv, name, items, s);
    if (r != MS_IMAP_HOOK_OK)
        ms__imap_say(srv, "%s NO %s", c->tag, ms__imap_hook_code(r));
    else {
        ms__imap_emit(srv, s);
        ms__imap_say(srv, "%s OK Status completed.", c->tag);
    }
    g_string_free(s, TRUE);
}

void
ms__imap_cmd_create(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *name = ms__imap_mailbox_arg(c, "CREATE");
    if (!name || !ms__imap_end_ok(c, "CREATE"))
        return;
    if (strcmp(name, "INBOX") == 0) {
        ms__imap_say(srv, "%s NO [ALREADYEXISTS] Mailbox already exists.", c->tag);
        return;
    }
    MsImapHookResult r = srv->hooks.create(srv->user_data, srv->user, name);
    hook_answer(c, r, "Create");
}

void
ms__imap_cmd_delete(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *name = ms__imap_mailbox_arg(c, "DELETE");
    if (!name || !ms__imap_end_ok(c, "DELETE"))
        return;
    if (strcmp(name, "INBOX") == 0) { /* RFC 9051 6.3.5 */
        ms__imap_say(srv, "%s NO [CANNOT] INBOX can't be deleted.", c->tag);
        return;
    }
    if (srv->state == ST_SELECTED && strcmp(srv->mailbox, name) == 0) {
        ms__imap_say(srv, "%s NO [INUSE] Can't delete the selected mailbox.", c->tag);
        return;
    }
    MsImapHookResult r = srv->hooks.delete_mailbox(srv->user_data, srv->user, name);
    hook_answer(c, r, "Delete");
}

void
ms__imap_cmd_rename(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *from = ms__imap_mailbox_arg(c, "RENAME");
    if (!from)
        return;
    g_autofree char *to = ms__imap_mailbox_arg(c, "RENAME");
    if (!to || !ms__imap_end_ok(c, "RENAME"))
        return;
    /* Renaming INBOX moves its messages (RFC 9051 6.3.6): not supported. */
    if (strcmp(from, "INBOX") == 0 || strcmp(to, "INBOX") == 0) {
        ms__imap_say(srv, "%s NO [CANNOT] INBOX can't be renamed here.", c->tag);
        return;
    }
    MsImapHookResult r = srv->hooks.rename(srv->user_data, srv->user, from, to);
    hook_answer(c, r, "Rename");
}

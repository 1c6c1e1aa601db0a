/* The IMAP server core's selected mailbox: the snapshot a session works on
 * (uid, size, flags, date per message), taken at SELECT or EXAMINE and
 * brought up to date only where the protocol lets the client be told
 * (NOOP, CHECK, IDLE, after its own changes); and the commands that choose
 * or leave a mailbox without changing it (SELECT, EXAMINE, CHECK,
 * UNSELECT).
 *
 * Design. Sequence numbers never move under a FETCH or SEARCH (RFC 9051
 * 7.5.1): the snapshot changes only in ms__imap_sync(), which compares it
 * with a fresh listing (O(n)) and tells EXPUNGE (highest first), FETCH
 * FLAGS and EXISTS. What the hooks list is checked (uids ascending,
 * uidnext past them). A UIDVALIDITY change ends the session. */
#include "imap_server-private.h"

#include <string.h>

/* ---- mailbox snapshot -------------------------------------------------- */

/* Lists `mailbox` through the hook and checks what it says: uids > 0 and
 * ascending, uidnext past them, flags only system ones. */
MsImapHookResult
ms__imap_list_box(MsImapServer *srv, const char *mailbox, GArray *msgs, MsImapMailboxInfo *info,
                  GPtrArray *keywords)
{
    memset(info, 0, sizeof *info);
    MsImapHookResult r = srv->hooks.list(srv->user_data, srv->user, mailbox, msgs, info, keywords);
    if (r != MS_IMAP_HOOK_OK)
        return r;
    if (keywords && keywords->len > MS_IMAP_KEYWORD_MAX)
        return MS_IMAP_HOOK_FAILED;
    guint32 defined = keywords ? (guint32) ((1ull << keywords->len) - 1) : 0;
    guint32 prev = 0;
    for (guint i = 0; i < msgs->len; i++) {
        MsImapMessageInfo *m = &g_array_index(msgs, MsImapMessageInfo, i);
        if (m->uid <= prev)
            return MS_IMAP_HOOK_FAILED;
        prev = m->uid;
        m->flags &= SYSTEM_FLAGS;
        m->keywords &= defined;
    }
    if (info->uidvalidity == 0 || info->uidnext <= prev)
        return MS_IMAP_HOOK_FAILED;
    return MS_IMAP_HOOK_OK;
}

/* Tells message i's flags: "* n FETCH ([UID u ]FLAGS (...))". */
void
ms__imap_tell_flags(MsImapServer *srv, guint i, gboolean uid)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "* %u FETCH (", i + 1);
    if (uid)
        g_string_append_printf(s, "UID %u ", msg_at(srv, i)->uid);
    g_string_append(s, "FLAGS ");
    ms__imap_append_flags(s, msg_at(srv, i), srv->keywords);
    g_string_append_c(s, ')');
    ms__imap_emit(srv, s);
    g_string_free(s, TRUE);
}

void
ms__imap_tell_flag_list(MsImapServer *srv)
{
    GString *s = g_string_new("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    for (guint k = 0; k < srv->keywords->len; k++)
        g_string_append_printf(s, " %s", (const char *) g_ptr_array_index(srv->keywords, k));
    g_string_append_c(s, ')');
    ms__imap_emit(srv, s);
    /* RFC 9051 7.1: "\*" when new keywords may be made; none in a
     * read-only mailbox. */
    g_string_assign(s, "* OK [PERMANENTFLAGS (");
    if (!srv->readonly) {
        g_string_append(s, "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
        for (guint k = 0; k < srv->keywords->len; k++)
            g_string_append_printf(s, " %s", (const char *) g_ptr_array_index(srv->keywords, k));
        if (srv->keywords->len < MS_IMAP_KEYWORD_MAX)
            g_string_append(s, " \\*");
    }
    g_string_append(s, ")] Flags permitted.");
    ms__imap_emit(srv, s);
    g_string_free(s, TRUE);
}

/* Brings the snapshot up to date and tells the client: FLAGS when the
 * mailbox defines new keywords (RFC 9051 7.3.5), EXPUNGE for the messages
 * gone (highest first, so each number is right when sent), FETCH FLAGS for
 * changed flags, EXISTS when the count changed (RFC 9051 7.4.1, 7.3.1). */
void
ms__imap_sync(MsImapServer *srv)
{
    if (srv->state != ST_SELECTED)
        return;
    srv->dirty = FALSE;
    g_autoptr(GArray) now = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    g_autoptr(GPtrArray) keywords = g_ptr_array_new_with_free_func(g_free);
    MsImapMailboxInfo info;
    if (ms__imap_list_box(srv, srv->mailbox, now, &info, keywords) != MS_IMAP_HOOK_OK) {
        ms__imap_say(srv, "* BYE [SERVERBUG] The selected mailbox is gone.");
        srv->state = ST_CLOSED;
        return;
    }
    if (info.uidvalidity != srv->box.uidvalidity) {
        ms__imap_say(srv, "* BYE [UIDVALIDITY] The mailbox's UIDVALIDITY changed.");
        srv->state = ST_CLOSED;
        return;
    }
    if (keywords->len != srv->keywords->len) { /* numbers never change: only new ones */
        g_ptr_array_unref(srv->keywords);
        srv->keywords = g_ptr_array_ref(keywords);
        ms__imap_tell_flag_list(srv);
    }
    /* Walk both uid lists: an old message missing from the new list was
     * expunged; one still there takes the flags the hook now has. */
    guint old_n = srv->msgs->len;
    g_autoptr(GArray) alive = g_array_sized_new(FALSE, TRUE, sizeof(gboolean), old_n);
    g_array_set_size(alive, old_n);
    g_autoptr(GArray) changed = g_array_sized_new(FALSE, TRUE, sizeof(gboolean), old_n);
    g_array_set_size(changed, old_n);
    guint j = 0;
    for (guint i = 0; i < old_n; i++) {
        MsImapMessageInfo *m = msg_at(srv, i);
        while (j < now->len && g_array_index(now, MsImapMessageInfo, j).uid < m->uid)
            j++;
        if (j < now->len && g_array_index(now, MsImapMessageInfo, j).uid == m->uid) {
            g_array_index(alive, gboolean, i) = TRUE;
            const MsImapMessageInfo *n = &g_array_index(now, MsImapMessageInfo, j);
            g_array_index(changed, gboolean, i) =
                n->flags != m->flags || n->keywords != m->keywords;
            m->flags = n->flags;
            m->keywords = n->keywords;
        }
    }
    guint32 top = max_uid(srv);
    for (guint i = old_n; i-- > 0;)
        if (!g_array_index(alive, gboolean, i)) {
            ms__imap_say(srv, "* %u EXPUNGE", i + 1);
            g_array_remove_index(srv->msgs, i);
            g_array_remove_index(changed, i);
        }
    for (guint i = 0; i < srv->msgs->len; i++)
        if (g_array_index(changed, gboolean, i))
            ms__imap_tell_flags(srv, i, TRUE);
    for (guint k = 0; k < now->len; k++)
        if (g_array_index(now, MsImapMessageInfo, k).uid > top)
            g_array_append_val(srv->msgs, g_array_index(now, MsImapMessageInfo, k));
    if (srv->msgs->len != old_n)
        ms__imap_say(srv, "* %u EXISTS", srv->msgs->len);
    srv->box.uidnext = info.uidnext;
}

void
ms__imap_deselect(MsImapServer *srv)
{
    g_clear_pointer(&srv->mailbox, g_free);
    g_array_set_size(srv->msgs, 0);
    g_ptr_array_set_size(srv->keywords, 0);
    g_array_set_size(srv->saved, 0); /* RFC 5182 2.1: "$" is empty in a new mailbox */
    if (srv->state == ST_SELECTED)
        srv->state = ST_AUTH;
}

const char *
ms__imap_hook_code(MsImapHookResult r)
{
    switch (r) {
    case MS_IMAP_HOOK_NO_MAILBOX:
        return "[NONEXISTENT] Mailbox doesn't exist.";
    case MS_IMAP_HOOK_EXISTS:
        return "[ALREADYEXISTS] Mailbox already exists.";
    case MS_IMAP_HOOK_OVER_QUOTA:
        return "[OVERQUOTA] Quota exceeded.";
    case MS_IMAP_HOOK_CANNOT:
        return "[CANNOT] Not allowed on this mailbox.";
    case MS_IMAP_HOOK_LIMIT:
        return "[LIMIT] Too many keywords in the mailbox.";
    default:
        return "[SERVERBUG] Internal error.";
    }
}

static void
select_box(MsImapCtx *c, gboolean readonly)
{
    MsImapServer *srv = c->srv;
    const char *what = readonly ? "EXAMINE" : "SELECT";
    g_autofree char *name = ms__imap_mailbox_arg(c, what);
    if (!name)
        return;
    if (eat(c->ps, ' ')) { /* select-params (RFC 9051 9): none known */
        ms__imap_syntax(c, what);
        return;
    }
    if (!ms__imap_end_ok(c, what))
        return;
    if (srv->state == ST_SELECTED) {
        ms__imap_deselect(srv);
        ms__imap_say(srv, "* OK [CLOSED] Previous mailbox closed."); /* RFC 9051 7.1 */
    }
    MsImapHookResult r = ms__imap_list_box(srv, name, srv->msgs, &srv->box, srv->keywords);
    if (r != MS_IMAP_HOOK_OK) {
        g_array_set_size(srv->msgs, 0);
        g_ptr_array_set_size(srv->keywords, 0);
        ms__imap_say(srv, "%s NO %s", c->tag, ms__imap_hook_code(r));
        return;
    }
    srv->mailbox = g_steal_pointer(&name);
    srv->readonly = readonly;
    srv->state = ST_SELECTED;
    srv->dirty = FALSE;
    ms__imap_tell_flag_list(srv);
    ms__imap_say(srv, "* %u EXISTS", srv->msgs->len);
    /* RFC 9051 Appendix E: IMAP4rev2 has no \Recent flag nor RECENT
     * response, and SELECT no longer tells UNSEEN (6.3.2: SEARCH UNSEEN
     * does) but the mailbox's LIST response. */
    if (!srv->rev2) {
        ms__imap_say(srv, "* 0 RECENT");
        for (guint i = 0; i < srv->msgs->len; i++)
            if (!(msg_at(srv, i)->flags & MS_IMAP_FLAG_SEEN)) {
                ms__imap_say(srv, "* OK [UNSEEN %u] First unseen.", i + 1);
                break;
            }
    }
    ms__imap_say(srv, "* OK [UIDVALIDITY %u] UIDs valid", srv->box.uidvalidity);
    ms__imap_say(srv, "* OK [UIDNEXT %u] Predicted next UID", srv->box.uidnext);
    if (srv->rev2)
        ms__imap_tell_list(srv, srv->mailbox);
    ms__imap_say(srv, "%s OK [%s] %s completed.", c->tag, readonly ? "READ-ONLY" : "READ-WRITE",
                 what);
}

void
ms__imap_cmd_select(MsImapCtx *c)
{
    select_box(c, FALSE);
}

void
ms__imap_cmd_examine(MsImapCtx *c)
{
    select_box(c, TRUE);
}

void
ms__imap_cmd_check(MsImapCtx *c)
{
    if (c->srv->rev2) { /* RFC 9051 Appendix E: CHECK is gone; NOOP does it */
        ms__imap_bad(c->srv, c->tag, "CHECK is not part of IMAP4rev2: use NOOP.");
        return;
    }
    if (!ms__imap_end_ok(c, "CHECK"))
        return;
    ms__imap_sync(c->srv);
    ms__imap_say(c->srv, "%s OK Check completed.", c->tag);
}

void
ms__imap_cmd_unselect(MsImapCtx *c)
{
    if (!ms__imap_end_ok(c, "UNSELECT"))
        return;
    ms__imap_deselect(c->srv);
    ms__imap_say(c->srv, "%s OK Unselect completed.", c->tag);
}

/* The IMAP server core's changes to messages: APPEND (RFC 9051 6.3.12 with
 * APPENDUID, RFC 4315), STORE (6.4.6), COPY and MOVE (6.4.7, 6.4.8, RFC
 * 6851, COPYUID), EXPUNGE and UID EXPUNGE (6.4.3, RFC 4315 2.1) and CLOSE
 * (6.4.1).
 *
 * Design. Every change goes through a hook first and into the snapshot
 * only when the hook agreed, so the session never shows what the store
 * does not hold. EXPUNGE responses go highest first so each number is
 * right when sent. A read-only (EXAMINEd) mailbox refuses changes with
 * [READ-ONLY]. COPY reads each message once through the hook. */
#include "imap_server-private.h"

#include <string.h>

/* The NO for an APPEND or COPY the hook refused: TRYCREATE when the
 * destination does not exist (RFC 9051 6.3.12). */
static void
refuse_append(MsImapCtx *c, MsImapHookResult r)
{
    ms__imap_say(c->srv, "%s NO %s", c->tag,
                 r == MS_IMAP_HOOK_NO_MAILBOX ? "[TRYCREATE] Mailbox doesn't exist."
                                              : ms__imap_hook_code(r));
}

/* The UIDVALIDITY of a mailbox for APPENDUID and COPYUID (RFC 4315 3),
 * or 0 when it cannot be listed. */
static guint32
uidvalidity_of(MsImapServer *srv, const char *mailbox)
{
    g_autoptr(GArray) tmp = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    MsImapMailboxInfo info;
    if (ms__imap_list_box(srv, mailbox, tmp, &info, NULL) != MS_IMAP_HOOK_OK)
        return 0;
    return info.uidvalidity;
}

/* Removes the messages at `idx` (ascending indices) from the snapshot,
 * highest first so that each EXPUNGE number is right when sent (RFC 9051
 * 7.5.1), telling each unless `silent`. */
static void
drop_from_snapshot(MsImapServer *srv, GArray *idx, gboolean silent)
{
    for (guint k = idx->len; k-- > 0;) {
        guint i = g_array_index(idx, guint, k);
        if (!silent)
            ms__imap_say(srv, "* %u EXPUNGE", i + 1);
        g_array_remove_index(srv->msgs, i);
    }
}

void
ms__imap_cmd_append(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *name = ms__imap_mailbox_arg(c, "APPEND");
    if (!name)
        return;
    guint flags = 0;
    gint64 date = 0;
    gboolean have_date = FALSE;
    g_autoptr(GPtrArray) keywords = g_ptr_array_new_with_free_func(g_free);
    if (!eat(c->ps, ' ')) {
        ms__imap_syntax(c, "APPEND");
        return;
    }
    if (peek(c->ps, '(')) {
        if (!ms__imap_parse_flags(c->ps, FALSE, &flags, keywords) || !eat(c->ps, ' ')) {
            ms__imap_syntax(c, "APPEND");
            return;
        }
    }
    if (peek(c->ps, '"')) {
        g_autofree char *d = ms__imap_parse_string(c->ps, NULL);
        if (!d || !ms__imap_parse_date_time(d, &date) || !eat(c->ps, ' ')) {
            ms__imap_bad(srv, c->tag, "Invalid date-time in APPEND.");
            return;
        }
        have_date = TRUE;
    }
    gsize len = 0;
    if (!peek(c->ps, '{') && !peek(c->ps, '~')) {
        ms__imap_syntax(c, "APPEND");
        return;
    }
    g_autofree char *data = ms__imap_parse_string(c->ps, &len);
    if (!data || !ms__imap_end_ok(c, "APPEND")) {
        if (!data)
            ms__imap_syntax(c, "APPEND");
        return;
    }
    g_autoptr(GBytes) msg = g_bytes_new(data, len);
    guint32 uid = 0;
    g_ptr_array_add(keywords, NULL);
    MsImapHookResult r = srv->hooks.append(srv->user_data, srv->user, name, msg, flags,
                                           (const char *const *) keywords->pdata,
                                           have_date ? date : G_MININT64, &uid);
    if (r != MS_IMAP_HOOK_OK) {
        refuse_append(c, r);
        return;
    }
    if (srv->state == ST_SELECTED && strcmp(srv->mailbox, name) == 0)
        ms__imap_sync(srv);
    guint32 validity = uid ? uidvalidity_of(srv, name) : 0;
    if (validity)
        ms__imap_say(srv, "%s OK [APPENDUID %u %u] Append completed.", c->tag, validity, uid);
    else
        ms__imap_say(srv, "%s OK Append completed.", c->tag);
}

/* Removes the snapshot's \Deleted messages (all, or those in `only`),
 * telling EXPUNGE for each unless `silent`. FALSE if the hook failed. */
static gboolean
expunge_deleted(MsImapServer *srv, GArray *only, gboolean silent)
{
    g_autoptr(GArray) idx = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GArray) uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint i = 0; i < srv->msgs->len; i++) {
        if (!(msg_at(srv, i)->flags & MS_IMAP_FLAG_DELETED))
            continue;
        if (only) {
            gboolean in = FALSE;
            for (guint k = 0; k < only->len && !in; k++)
                in = g_array_index(only, guint, k) == i;
            if (!in)
                continue;
        }
        g_array_append_val(idx, i);
        g_array_append_val(uids, msg_at(srv, i)->uid);
    }
    if (idx->len == 0)
        return TRUE;
    if (srv->hooks.expunge(srv->user_data, srv->user, srv->mailbox, (const guint32 *) uids->data,
                           uids->len) != MS_IMAP_HOOK_OK)
        return FALSE;
    drop_from_snapshot(srv, idx, silent);
    return TRUE;
}

void
ms__imap_cmd_expunge(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autoptr(GArray) only = NULL;
    if (c->uid) { /* UID EXPUNGE (RFC 4315 2.1) */
        g_autofree char *set = NULL;
        if (!eat(c->ps, ' ') || !(set = ms__imap_parse_atom(c->ps, "*"))) {
            ms__imap_syntax(c, "UID EXPUNGE");
            return;
        }
        if (!(only = ms__imap_resolve_set(srv, c->tag, set, TRUE)))
            return;
    }
    if (!ms__imap_end_ok(c, "EXPUNGE"))
        return;
    if (srv->readonly) {
        ms__imap_say(srv, "%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
        return;
    }
    if (!expunge_deleted(srv, only, FALSE)) {
        ms__imap_say(srv, "%s NO [SERVERBUG] Expunge failed.", c->tag);
        return;
    }
    ms__imap_say(srv, "%s OK Expunge completed.", c->tag);
}

void
ms__imap_cmd_close(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    if (!ms__imap_end_ok(c, "CLOSE"))
        return;
    /* RFC 9051 6.4.1: expunge without telling, then leave. */
    if (!srv->readonly)
        expunge_deleted(srv, NULL, TRUE);
    ms__imap_deselect(srv);
    ms__imap_say(srv, "%s OK Close completed.", c->tag);
}

/* ---- STORE ------------------------------------------------------------- */

void
ms__imap_cmd_store(MsImapCtx *c)
{
    MsImapServer *srv = c->srv;
    g_autofree char *set = NULL, *op = NULL;
    if (!eat(c->ps, ' ') || !(set = ms__imap_parse_atom(c->ps, "*")) || !eat(c->ps, ' ') ||
        !(op = ms__imap_parse_atom(c->ps, "+-")) || !eat(c->ps, ' ')) {
        ms__imap_syntax(c, "STORE");
        return;
    }
    guint flags = 0;
    g_autoptr(GPtrArray) keywords = g_ptr_array_new_with_free_func(g_free);
    if (!ms__imap_parse_flags(c->ps, TRUE, &flags, keywords)) {
        ms__imap_bad(srv, c->tag, "Invalid flags in STORE.");
        return;
    }
    if (!ms__imap_end_ok(c, "STORE"))
        return;
    char mode = op[0] == '+' || op[0] == '-' ? op[0] : '=';
    const char *word = mode == '=' ? op : op + 1;
    gboolean silent;
    if (!g_ascii_strcasecmp(word, "FLAGS"))
        silent = FALSE;
    else if (!g_ascii_strcasecmp(word, "FLAGS.SILENT"))
        silent = TRUE;
    else {
        ms__imap_syntax(c, "STORE");
        return;
    }
    g_autoptr(GArray) idx = ms__imap_resolve_set(srv, c->tag, set, c->uid);
    if (!idx)
        return;
    if (srv->readonly) {
        ms__imap_say(srv, "%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
        return;
    }
    /* Keywords the mailbox does not define yet (`fresh`) are added by the
     * hook with the first message that gets them; then the mailbox's list
     * is read again and told in FLAGS (RFC 9051 7.3.5) before any FETCH
     * response names them. */
    g_autoptr(GPtrArray) fresh = g_ptr_array_new();
    guint32 given = ms__imap_keyword_bits(srv->keywords, keywords, fresh);
    if (mode == '-')
        g_ptr_array_set_size(fresh, 0); /* removing what nobody has */
    g_autoptr(GArray) done = g_array_new(FALSE, TRUE, sizeof(gboolean));
    g_array_set_size(done, idx->len);
    gboolean failed = FALSE, limit = FALSE, added = FALSE;
    for (guint k = 0; k < idx->len; k++) {
        MsImapMessageInfo *m = msg_at(srv, g_array_index(idx, guint, k));
        guint nf = mode == '+' ? m->flags | flags : mode == '-' ? m->flags & ~flags : flags;
        guint32 nk = mode == '+' ? m->keywords | given : mode == '-' ? m->keywords & ~given : given;
        if (nf != m->flags || nk != m->keywords || fresh->len) {
            g_autoptr(GPtrArray) names = ms__imap_keyword_names(srv->keywords, nk);
            g_ptr_array_remove_index(names, names->len - 1); /* the NULL */
            g_ptr_array_extend(names, fresh, NULL, NULL);
            g_ptr_array_add(names, NULL);
            MsImapHookResult r =
                srv->hooks.set_flags(srv->user_data, srv->user, srv->mailbox, m->uid, nf,
                                     (const char *const *) names->pdata);
            if (r != MS_IMAP_HOOK_OK) {
                limit |= r == MS_IMAP_HOOK_LIMIT;
                failed |= r != MS_IMAP_HOOK_LIMIT;
                continue;
            }
            added |= fresh->len > 0;
            m->flags = nf;
            m->keywords = nk;
        }
        g_array_index(done, gboolean, k) = TRUE;
    }
    if (added) {
        g_autoptr(GArray) tmp = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
        g_autoptr(GPtrArray) now = g_ptr_array_new_with_free_func(g_free);
        MsImapMailboxInfo info;
        if (ms__imap_list_box(srv, srv->mailbox, tmp, &info, now) == MS_IMAP_HOOK_OK &&
            now->len >= srv->keywords->len) {
            g_ptr_array_unref(srv->keywords);
            srv->keywords = g_ptr_array_ref(now);
            ms__imap_tell_flag_list(srv);
        }
        guint32 bits = ms__imap_keyword_bits(srv->keywords, fresh, NULL);
        for (guint k = 0; k < idx->len; k++)
            if (g_array_index(done, gboolean, k))
                msg_at(srv, g_array_index(idx, guint, k))->keywords |= bits;
    }
    for (guint k = 0; k < idx->len && !silent; k++)
        if (g_array_index(done, gboolean, k))
            ms__imap_tell_flags(srv, g_array_index(idx, guint, k), c->uid);
    if (limit) /* RFC 5530 LIMIT */
        ms__imap_say(srv, "%s NO [LIMIT] Too many keywords in the mailbox.", c->tag);
    else if (failed)
        ms__imap_say(srv, "%s NO [EXPUNGEISSUED] Some messages could not be changed.", c->tag);
    else
        ms__imap_say(srv, "%s OK Store completed.", c->tag);
}

/* ---- COPY and MOVE ----------------------------------------------------- */

static void
copy_or_move(MsImapCtx *c, gboolean move)
{
    MsImapServer *srv = c->srv;
    const char *what = move ? "MOVE" : "COPY";
    g_autofree char *set = NULL;
    if (!eat(c->ps, ' ') || !(set = ms__imap_parse_atom(c->ps, "*"))) {
        ms__imap_syntax(c, what);
        return;
    }
    g_autofree char *dest = ms__imap_mailbox_arg(c, what);
    if (!dest || !ms__imap_end_ok(c, what))
        return;
    g_autoptr(GArray) idx = ms__imap_resolve_set(srv, c->tag, set, c->uid);
    if (!idx)
        return;
    if (move && srv->readonly) {
        ms__imap_say(srv, "%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
        return;
    }
    g_autoptr(GArray) dst_uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    g_autoptr(GArray) src_uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (guint k = 0; k < idx->len; k++) {
        MsImapMessageInfo *m = msg_at(srv, g_array_index(idx, guint, k));
        g_autoptr(GBytes) msg = srv->hooks.read(srv->user_data, srv->user, srv->mailbox, m->uid);
        guint32 nu = 0;
        g_autoptr(GPtrArray) names = ms__imap_keyword_names(srv->keywords, m->keywords);
        MsImapHookResult r =
            msg ? srv->hooks.append(srv->user_data, srv->user, dest, msg, m->flags,
                                    (const char *const *) names->pdata, m->internal_date, &nu)
                : MS_IMAP_HOOK_FAILED;
        if (r != MS_IMAP_HOOK_OK) {
            refuse_append(c, r);
            return;
        }
        g_array_append_val(src_uids, m->uid);
        g_array_append_val(dst_uids, nu);
    }
    GString *code = g_string_new(NULL);
    guint32 validity = src_uids->len ? uidvalidity_of(srv, dest) : 0;
    if (validity) {
        /* RFC 4315 3 COPYUID; for MOVE untagged before the EXPUNGEs (RFC 6851 4.3). */
        g_string_append_printf(code, "[COPYUID %u ", validity);
        ms__imap_append_uid_set(code, (const guint32 *) src_uids->data, src_uids->len);
        g_string_append_c(code, ' ');
        ms__imap_append_uid_set(code, (const guint32 *) dst_uids->data, dst_uids->len);
        g_string_append(code, "] ");
    }
    if (move) {
        if (code->len)
            ms__imap_say(srv, "* OK %sMoved UIDs.", code->str);
        if (src_uids->len && srv->hooks.expunge(srv->user_data, srv->user, srv->mailbox,
                                                (const guint32 *) src_uids->data,
                                                src_uids->len) != MS_IMAP_HOOK_OK) {
            ms__imap_say(srv, "%s NO [SERVERBUG] Move failed after copying.", c->tag);
            g_string_free(code, TRUE);
            return;
        }
        drop_from_snapshot(srv, idx, FALSE);
        ms__imap_say(srv, "%s OK Move completed.", c->tag);
    } else {
        ms__imap_say(srv, "%s OK %sCopy completed.", c->tag, code->str);
    }
    g_string_free(code, TRUE);
    if (strcmp(dest, srv->mailbox) == 0)
        ms__imap_sync(srv);
}

void
ms__imap_cmd_copy(MsImapCtx *c)
{
    copy_or_move(c, FALSE);
}

void
ms__imap_cmd_move(MsImapCtx *c)
{
    copy_or_move(c, TRUE);
}

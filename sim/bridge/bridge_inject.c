/* Mail accepted by the bridge going into the simulation: the SMTP session
 * (bridge_smtp.c) and the spool's recovery (bridge.c) hand a message to the
 * simulated server, and a message kept in the spool is watched until the
 * simulation has settled it, when its spool file is removed.
 *
 * Settled means: every recipient delivered (stored in its mailbox, which
 * with --spool means written to its Maildir and fsync'd by
 * bridge_maildir.c during the store) or bounced, and every DSN the message
 * caused settled likewise (stored durably, relayed, or given up). A
 * message some copy of which could not be written keeps its spool file, so
 * a restart delivers it again where it is missing.
 *
 * Design: the watch is a list of (message id, spool file) polled after
 * each pacer tick, not a callback from the mail layer: the mail layer knows
 * nothing of spool files. Costs: O(pending spool jobs) per pacer tick, and
 * once per settled message a scan of the messages made since it (its DSNs
 * are among them). */
#include "bridge-private.h"

void
ms__bridge_inject_job_free(gpointer p)
{
    SpoolJob *j = p;
    g_free(j->path);
    if (j->dsns)
        g_array_unref(j->dsns);
    g_free(j);
}

guint32
ms__bridge_inject(MsBridge *b, const char *from, const char *const *rcpts, GBytes *data,
                  const MsMailInjectInfo *info, const char *spool_path, char **queue_id)
{
    g_autofree char *spool_id = spool_path ? ms__bridge_spool_id(spool_path) : NULL;
    /* The final server may store the message inside ms_mail_inject: the
     * Maildir asks for its spool id before the id is known here. */
    b->inject_next = ms_mail_n_messages(b->mail) + 1;
    b->inject_spool_id = spool_id;
    guint32 id = ms_mail_inject(b->mail, b->smtp_server, from, rcpts, data, info, queue_id);
    b->inject_spool_id = NULL;
    b->inject_next = 0;
    if (spool_path) {
        SpoolJob *j = g_new0(SpoolJob, 1);
        j->message = id;
        j->path = g_strdup(spool_path);
        g_ptr_array_add(b->pending, j);
        g_hash_table_replace(b->spool_ids, GUINT_TO_POINTER(id), g_steal_pointer(&spool_id));
    }
    for (const char *const *r = rcpts; *r; r++)
        b->stats.rcpts_world++;
    return id;
}

const char *
ms__bridge_inject_spool_id(MsBridge *b, guint32 message, gboolean *keep)
{
    *keep = FALSE;
    if (message == 0)
        return NULL;
    if (b->inject_spool_id && message == b->inject_next) {
        *keep = TRUE;
        return b->inject_spool_id;
    }
    const char *id = g_hash_table_lookup(b->spool_ids, GUINT_TO_POINTER(message));
    if (id) {
        *keep = TRUE;
        return id;
    }
    const MsMessageRecord *r = ms_mail_message(b->mail, message);
    /* A DSN about our mail is kept, without the spool id: it is not a copy
     * of the spooled message. */
    if (r && r->is_dsn && r->parent &&
        (g_hash_table_contains(b->spool_ids, GUINT_TO_POINTER(r->parent)) ||
         (b->inject_spool_id && r->parent == b->inject_next)))
        *keep = TRUE;
    return NULL;
}

/* Once: the DSNs about `j`'s message (made after it, so with higher ids). */
static void
find_dsns(MsBridge *b, SpoolJob *j)
{
    j->dsns = g_array_new(FALSE, FALSE, sizeof(guint32));
    guint n = ms_mail_n_messages(b->mail);
    for (guint32 id = j->message + 1; id <= n; id++) {
        const MsMessageRecord *r = ms_mail_message(b->mail, id);
        if (r->is_dsn && r->parent == j->message)
            g_array_append_val(j->dsns, id);
    }
    j->settled = TRUE;
}

static gboolean
job_done(MsBridge *b, SpoolJob *j)
{
    if (!j->settled) {
        if (!ms_mail_message_settled(b->mail, j->message))
            return FALSE;
        find_dsns(b, j);
    }
    for (guint i = 0; i < j->dsns->len; i++)
        if (!ms_mail_message_settled(b->mail, g_array_index(j->dsns, guint32, i)))
            return FALSE;
    return TRUE;
}

void
ms__bridge_inject_settle(MsBridge *b)
{
    /* The renames into the Maildirs first: a spool file goes only after. */
    if (!ms__bridge_maildir_sync(b->maildir))
        return;
    for (guint i = 0; i < b->pending->len;) {
        SpoolJob *j = g_ptr_array_index(b->pending, i);
        if (!job_done(b, j)) {
            i++;
            continue;
        }
        gboolean failed = ms__bridge_maildir_failed(b->maildir, j->message);
        for (guint k = 0; k < j->dsns->len && !failed; k++)
            failed = ms__bridge_maildir_failed(b->maildir, g_array_index(j->dsns, guint32, k));
        if (failed)
            g_printerr("mailsim bridge: spool: %s kept: a mailbox copy could not be written; "
                       "a restart delivers it where it is missing\n",
                       j->path);
        else
            ms__bridge_spool_remove(b, j->path);
        g_hash_table_remove(b->spool_ids, GUINT_TO_POINTER(j->message));
        g_ptr_array_remove_index(b->pending, i); /* order does not matter */
    }
}

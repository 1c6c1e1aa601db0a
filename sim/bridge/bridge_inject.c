/* Mail accepted by the bridge going into the simulation: the SMTP session
 * (bridge_smtp.c) and the spool's recovery (bridge.c) hand a message to the
 * simulated server, and a message kept in the spool is watched until the
 * simulation has delivered or bounced every recipient, when its spool file
 * is removed.
 *
 * Design: the watch is a list of (message id, spool file) polled after
 * each pacer tick, not a callback from the mail layer: the mail layer knows
 * nothing of spool files. Costs: O(pending spool jobs) per pacer tick. */
#include "bridge-private.h"

void
ms__bridge_inject_job_free(gpointer p)
{
    SpoolJob *j = p;
    g_free(j->path);
    g_free(j);
}

guint32
ms__bridge_inject(MsBridge *b, const char *from, const char *const *rcpts, GBytes *data,
                  const MsMailInjectInfo *info, const char *spool_path, char **queue_id)
{
    guint32 id = ms_mail_inject(b->mail, b->smtp_server, from, rcpts, data, info, queue_id);
    if (spool_path) {
        SpoolJob *j = g_new0(SpoolJob, 1);
        j->message = id;
        j->path = g_strdup(spool_path);
        g_ptr_array_add(b->pending, j);
    }
    for (const char *const *r = rcpts; *r; r++)
        b->stats.rcpts_world++;
    return id;
}

void
ms__bridge_inject_settle(MsBridge *b)
{
    for (guint i = 0; i < b->pending->len;) {
        SpoolJob *j = g_ptr_array_index(b->pending, i);
        if (ms_mail_message_settled(b->mail, j->message)) {
            ms__bridge_spool_remove(b, j->path);
            g_ptr_array_remove_index(b->pending, i); /* order does not matter */
        } else {
            i++;
        }
    }
}

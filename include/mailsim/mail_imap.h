/* IMAP access to a mail server's mailboxes: the hooks the IMAP server core
 * (imap_server.h) calls, backed by an MsMailStore for INBOX, so the same
 * messages are seen through POP3 and IMAP with the same sizes, and by
 * folders kept in memory for every other mailbox (CREATE, APPEND, COPY).
 *
 * The store knows nothing of IMAP: this module keeps, per user, the IMAP
 * UID it gave each stored message (in arrival order, so UIDs ascend), its
 * flags, and the folders. A message deleted through POP3 disappears from
 * INBOX at the next refresh; an IMAP EXPUNGE deletes it from the store.
 * State lives as long as the MsMailImap (the bridge's run): nothing is
 * written to disk. Pure data: no engine, no network. */
#pragma once

#include <glib.h>
#include "mailsim/imap_server.h"
#include "mailsim/mail_store.h"

G_BEGIN_DECLS

typedef struct _MsMailImap MsMailImap;

/* IMAP state over `store` (borrowed; must outlive it). `uidvalidity` is
 * the base of every mailbox's UIDVALIDITY (e.g. the start time in seconds,
 * so a restart that forgets the UIDs changes it, RFC 9051 2.3.1.1);
 * `epoch` is added to a message's stored_at (in seconds) to give its
 * INTERNALDATE. Returns a new object (caller frees). */
MsMailImap *ms_mail_imap_new(MsMailStore *store, guint32 uidvalidity, gint64 epoch);
void ms_mail_imap_free(MsMailImap *imap);

/* The time (seconds since 1970) APPEND gives a message when the client
 * names none; the caller keeps it current (the model reads no clock).
 * Starts at `epoch`. */
void ms_mail_imap_set_now(MsMailImap *imap, gint64 now);

/* The hooks; their user_data is the MsMailImap. */
const MsImapServerHooks *ms_mail_imap_hooks(void);

/* A value that changes whenever `user`'s INBOX gains or loses messages in
 * the store: a caller polls it to know when to call
 * ms_imap_server_refresh() (IDLE). Cheap: O(1). */
guint64 ms_mail_imap_stamp(MsMailImap *imap, const char *user);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMailImap, ms_mail_imap_free)

G_END_DECLS

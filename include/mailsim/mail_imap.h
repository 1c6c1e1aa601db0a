/* IMAP access to a mail server's mailboxes: the hooks the IMAP server core
 * (imap_server.h) calls, backed by an MsMailStore for INBOX, so the same
 * messages are seen through POP3 and IMAP with the same sizes, and by
 * folders kept in memory for every other mailbox (CREATE, APPEND, COPY).
 *
 * INBOX's UIDs are the numbers of the store's uids ("user.n", in arrival
 * order, never reused) and its flags are the store's, so both live as long
 * as the store's messages (on the bridge with --spool: in the Maildir file
 * names). A message deleted through POP3 disappears from INBOX at the next
 * refresh; an IMAP EXPUNGE deletes it from the store. Messages the store
 * flags MS_STORE_FLAG_JUNK (DMARC quarantine) are shown in "Junk" instead
 * of INBOX, still in the store. The other folders, keywords and
 * subscriptions live as long as the MsMailImap. Pure data: no engine, no
 * network. */
#pragma once

#include <glib.h>
#include "mailsim/imap_server.h"
#include "mailsim/mail_store.h"

G_BEGIN_DECLS

typedef struct _MsMailImap MsMailImap;

/* IMAP state over `store` (borrowed; must outlive it). `uidvalidity` is
 * INBOX's UIDVALIDITY, and the base of the other folders' until
 * ms_mail_imap_set_folder_uidvalidity(): a value that changes whenever the
 * store's numbering starts again (e.g. the start time in seconds when the
 * store lives only in memory, RFC 9051 2.3.1.1), one kept on disk with the
 * messages when they are;
 * `epoch` is added to a message's stored_at (in seconds) to give its
 * INTERNALDATE. Returns a new object (caller frees). */
MsMailImap *ms_mail_imap_new(MsMailStore *store, guint32 uidvalidity, gint64 epoch);
void ms_mail_imap_free(MsMailImap *imap);
/* The base of the UIDVALIDITY of folders other than INBOX, which live in
 * memory only: a value new with every run (the start time) when INBOX's
 * persists. Set before any folder is made. */
void ms_mail_imap_set_folder_uidvalidity(MsMailImap *imap, guint32 base);

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

/* Whether `mailbox` is a view of the store (INBOX, and Junk for the
 * messages it flags MS_STORE_FLAG_JUNK): its messages are kept wherever the
 * store's are, never as a folder of their own. */
gboolean ms_mail_imap_is_store_view(const char *mailbox);

/* Folders kept outside (the bridge's Maildir++ subfolders), put back at
 * start: a folder other than INBOX with its UIDVALIDITY and UIDNEXT (FALSE
 * if it exists), then its messages in ascending UID order (FALSE for a UID
 * not above the last, or no such folder); UIDNEXT moves past each. Changes
 * are seen by the keeper through the hooks (mailboxes, list, read). */
gboolean ms_mail_imap_restore_folder(MsMailImap *imap, const char *user, const char *mailbox,
                                     guint32 uidvalidity, guint32 uidnext);
gboolean ms_mail_imap_restore_message(MsMailImap *imap, const char *user, const char *mailbox,
                                      guint32 uid, guint flags, gint64 date, GBytes *data);
/* Gives a message of INBOX, Junk or a folder the keywords `keywords`
 * (NULL-terminated; the whole set), as kept outside with it; FALSE for no
 * such message or past MS_IMAP_KEYWORD_MAX keywords in its mailbox. */
gboolean ms_mail_imap_restore_keywords(MsMailImap *imap, const char *user, const char *mailbox,
                                       guint32 uid, const char *const *keywords);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMailImap, ms_mail_imap_free)

G_END_DECLS

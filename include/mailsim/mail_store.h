/* Mailboxes: the store of a mail server's users, where the final MTA puts a
 * message (RFC 5321 4.4: with a Return-Path: header naming the envelope
 * sender) and from which the POP3 server serves it. One MsMailStore per
 * server; users are the local parts it accepts ("feedback" and "service"
 * are different boxes). Pure data: no engine, no network. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"

G_BEGIN_DECLS

typedef struct _MsMailStore MsMailStore;

typedef enum {
    MS_STORE_OK,
    MS_STORE_NO_USER,    /* 550 5.1.1 at RCPT */
    MS_STORE_OVER_QUOTA, /* 552 5.2.2 */
} MsStoreResult;

/* A message's flags (RFC 9051 2.3.2 system flags), a bit set. */
typedef enum {
    MS_STORE_FLAG_SEEN = 1 << 0,
    MS_STORE_FLAG_ANSWERED = 1 << 1,
    MS_STORE_FLAG_FLAGGED = 1 << 2,
    MS_STORE_FLAG_DELETED = 1 << 3,
    MS_STORE_FLAG_DRAFT = 1 << 4,
    MS_STORE_FLAG_JUNK = 1 << 5, /* the $Junk keyword (RFC 5788): DMARC quarantined it */
} MsStoreFlags;

/* One stored message, as POP3 sees it. */
typedef struct {
    /* The body: CRLF line ends, Return-Path: first; owned by the store. NULL
     * when it is kept elsewhere (the bridge's Maildir): readers take it
     * with ms_mail_store_body(), never from here. */
    GBytes *data;
    guint64 size;    /* of the body, always set (POP3 LIST, RFC822.SIZE, quota) */
    char *location;  /* where the body is kept outside the store (opaque to
                        the store: the keeper's own name for it), or NULL */
    char *uid;       /* unique id, stable across sessions (RFC 1939 7 UIDL) */
    guint32 message; /* the simulation's message id (accounting), or 0 */
    MsTime stored_at;
    gboolean deleted; /* removed by a POP3 session's UPDATE */
    guint flags;      /* MsStoreFlags */
} MsStoredMessage;

/* Who is told of changes to a store's messages (the bridge keeps its
 * mailboxes on disk through this). Each callback may be NULL; each runs
 * after the change, synchronously, with the message (owned by the store).
 * A store without an observer (the default, and every simulated run)
 * behaves exactly as before. */
typedef struct {
    void (*stored)(const char *user, const MsStoredMessage *m, gpointer user_data);
    void (*deleted)(const char *user, const MsStoredMessage *m, gpointer user_data);
    void (*flags_changed)(const char *user, const MsStoredMessage *m, guint old_flags,
                          gpointer user_data);
} MsMailStoreObserver;

/* Reads a body the store does not hold (m->data NULL) from where its
 * keeper put it (m->location): a new reference, or NULL with `error` (the
 * file vanished, a read failed). The bridge gives one with its Maildir;
 * the mail layer itself never touches files. */
typedef GBytes *(*MsMailStoreLoader)(const char *user, const MsStoredMessage *m, gpointer user_data,
                                     GError **error);

/* Returns a new empty store (caller frees). */
MsMailStore *ms_mail_store_new(void);
void ms_mail_store_free(MsMailStore *store);

/* Sets (or with NULL removes) the observer; `obs` is borrowed and must
 * outlive the store or the next call. */
void ms_mail_store_set_observer(MsMailStore *store, const MsMailStoreObserver *obs,
                                gpointer user_data);

/* Sets (or with NULL removes) the loader of bodies kept elsewhere. */
void ms_mail_store_set_loader(MsMailStore *store, MsMailStoreLoader load, gpointer user_data);

/* The body of `m` (one of the user's messages): a new reference to the one
 * held in memory, or what the loader reads; NULL with `error` when there is
 * neither or the loader fails. Each call without a body in memory reads
 * again (nothing is cached: a mailbox of any size costs no body memory). */
GBytes *ms_mail_store_body(MsMailStore *store, const char *user, const MsStoredMessage *m,
                           GError **error);

/* Records that the body of the user's message with this uid is kept at
 * `location` (the keeper's name for it, copied) and, when a loader is set,
 * releases the copy in memory. FALSE if there is no such message. The
 * observer is not called. */
gboolean ms_mail_store_set_location(MsMailStore *store, const char *user, const char *uid,
                                    const char *location);

/* Adds a user (local part, case-insensitive) with a password and a quota in
 * bytes (0: unlimited). FALSE if the user exists. */
gboolean ms_mail_store_add_user(MsMailStore *store, const char *user, const char *password,
                                guint64 quota);
gboolean ms_mail_store_has_user(const MsMailStore *store, const char *user);
gboolean ms_mail_store_check_password(const MsMailStore *store, const char *user,
                                      const char *password);
/* The user's password (for APOP), or NULL. */
const char *ms_mail_store_password(const MsMailStore *store, const char *user);

/* Would a message of `size` bytes fit? */
MsStoreResult ms_mail_store_can_accept(const MsMailStore *store, const char *user, guint64 size);

/* Stores `data` (a ref is taken) for `user`. */
MsStoreResult ms_mail_store_deliver(MsMailStore *store, const char *user, GBytes *data,
                                    guint32 message, MsTime at);

/* Puts back a message kept outside the store (the bridge's Maildir at
 * start), with the number of its uid ("<user>.<uid_n>") and its flags:
 * no quota check (the mail was accepted before) and no observer call; the
 * box's uid counter moves past uid_n so later deliveries get new uids.
 * MS_STORE_NO_USER for an unknown user. */
MsStoreResult ms_mail_store_restore(MsMailStore *store, const char *user, GBytes *data, guint uid_n,
                                    guint flags, MsTime at);

/* ms_mail_store_restore() of a message whose body stays where it is kept
 * (`location`, read through the loader when needed): only its size is
 * held. */
MsStoreResult ms_mail_store_restore_located(MsMailStore *store, const char *user, guint64 size,
                                            const char *location, guint uid_n, guint flags,
                                            MsTime at);

/* The number n of a uid "<user>.<n>" this store made, or 0. */
guint ms_mail_store_uid_number(const char *uid);
/* The number the user's next stored message will get (greater than every
 * number given so far, deleted messages' too), or 0 for an unknown user:
 * IMAP's UIDNEXT when UIDs are these numbers (mail_imap.c). */
guint ms_mail_store_uid_next(const MsMailStore *store, const char *user);
/* Makes the user's next uid number at least `uid_next` (never lowers it):
 * numbers given before a restart to messages deleted since are not given
 * again (RFC 1939 7, RFC 9051 2.3.1.1). FALSE for an unknown user. */
gboolean ms_mail_store_reserve_uids(MsMailStore *store, const char *user, guint uid_next);

/* Counts a delivery of `size` bytes for `user` without keeping the
 * message (a lean world where nobody reads this store): the quota, the
 * totals and the UID counter move exactly as ms_mail_store_deliver() would
 * move them, but POP3 will never list it and nothing of it is stored, so
 * quota bytes are never given back (nobody deletes it). */
MsStoreResult ms_mail_store_count(MsMailStore *store, const char *user, guint64 size,
                                  guint32 message, MsTime at);

/* Sets a user's quota (and ends a "mailbox full" fault); marks the box full
 * (the fault: it takes nothing until the quota is set again). */
void ms_mail_store_set_quota(MsMailStore *store, const char *user, guint64 quota);
void ms_mail_store_fill(MsMailStore *store, const char *user);

/* POP3 access: a maildrop is locked while a session holds it (RFC 1939 8). */
gboolean ms_mail_store_lock(MsMailStore *store, const char *user);
void ms_mail_store_unlock(MsMailStore *store, const char *user);

/* The user's live messages (not deleted), oldest first. The array and its
 * elements belong to the store; valid until the next change. */
GPtrArray *ms_mail_store_messages(MsMailStore *store, const char *user);

/* A number that changes whenever the user's live messages change (one is
 * stored, restored or deleted; not when flags change): views built from
 * ms_mail_store_messages() stay valid while it holds. 0 for no such user. */
guint64 ms_mail_store_version(const MsMailStore *store, const char *user);

/* Marks the message with this uid deleted (POP3 UPDATE). */
gboolean ms_mail_store_delete(MsMailStore *store, const char *user, const char *uid);

/* Sets the flags of the live message with this uid (and tells the
 * observer if they changed); FALSE if there is none. */
gboolean ms_mail_store_set_flags(MsMailStore *store, const char *user, const char *uid,
                                 guint flags);

/* The users' names, sorted (a new array of borrowed strings; caller frees
 * the array). */
GPtrArray *ms_mail_store_users(const MsMailStore *store);

/* Totals over all users: messages stored ever, messages deleted, bytes now. */
void ms_mail_store_totals(const MsMailStore *store, guint *stored, guint *deleted, guint64 *bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMailStore, ms_mail_store_free)

G_END_DECLS

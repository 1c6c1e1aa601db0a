/* IMAP mailboxes over a mail server's store (see include/mailsim/mail_imap.h):
 * the hooks through which an IMAP server core reads and changes INBOX (the
 * MsMailStore, shared with POP3 and with delivery) and the user's other
 * folders (kept here, in memory).
 *
 * Design. INBOX is the store: a message's IMAP UID is the number n of its
 * store uid ("user.n"), which the store hands out in arrival order (so UIDs
 * ascend, RFC 9051 2.3.1.1) and never reuses, and UIDNEXT is the store's
 * next number; its flags are the store's. Both are what the bridge's
 * Maildir keeps on disk (",U=n" and ":2,<flags>" in the file names), so
 * with a UIDVALIDITY that persists too, an IMAP client's cache stays valid
 * across a restart. Per user a table keeps only the INTERNALDATE that an
 * APPEND into INBOX set; its entries for messages that have left the store
 * are dropped at the next listing. Folders other than INBOX are arrays of
 * messages kept in memory, with their own UIDVALIDITY (a base that changes
 * with every run, plus a counter, so a folder deleted and made again never
 * reuses one) and UIDNEXT.
 *
 * Keywords (RFC 9051 2.3.2) are kept here, beside the store's flags: each
 * mailbox has a list of the keywords it defines (at most
 * MS_IMAP_KEYWORD_MAX, numbered in the order they were first used, never
 * renumbered), and each message a bit set over it: for INBOX in the
 * per-user table with the APPEND dates, for a folder in its messages. A
 * user's subscriptions (RFC 9051 6.3.7) are a list of names that outlives
 * the mailboxes it names.
 *
 * Junk. A message the store flags MS_STORE_FLAG_JUNK (a DMARC quarantine,
 * mail_accept.c) is shown in the mailbox "Junk" (\Junk by its name, RFC
 * 6154) instead of INBOX: both are views of the one store, split by that
 * flag, sharing its UID numbering (UIDs rise within each) and
 * UIDVALIDITY. Junk exists once the store has held such a message for the
 * user, or the user created it; APPEND (so COPY and MOVE) into it stores
 * with the flag, STORE keeps the flag, DELETE removes its messages from
 * the store; it cannot be renamed. POP3 reads the store and still sees
 * these messages (README: the choice and why).
 *
 * Determinism: hash tables are only looked up, never iterated into output;
 * folder names are handed out sorted. Costs: listing INBOX is O(messages)
 * (the store's live view is rebuilt only after a change); reading one
 * message by UID is a binary search over the UIDs, kept between changes. */
#include "mailsim/mail_imap.h"

#include <string.h>

/* The mailbox that shows what DMARC quarantined (RFC 6154 \Junk). */
#define JUNK_BOX "Junk"

typedef struct {
    gboolean dated;
    gint64 date;      /* INTERNALDATE given by APPEND, when `dated` */
    guint32 keywords; /* over User.inbox_keywords */
} InboxState;

typedef struct {
    guint32 uid;
    guint flags;
    gint64 date;
    GBytes *data;
    guint32 keywords; /* over Folder.keywords */
} FolderMsg;

typedef struct {
    guint32 uidvalidity, uidnext;
    GArray *msgs;        /* FolderMsg */
    GPtrArray *keywords; /* the keywords it defines, by number */
} Folder;

typedef struct {
    GHashTable *inbox; /* store uid -> InboxState*, for INBOX messages APPENDed or with keywords */
    GPtrArray *inbox_keywords; /* INBOX's keywords, by number */
    GPtrArray *junk_keywords;  /* Junk's */
    gboolean junk;             /* Junk exists (see junk_exists) */
    GPtrArray *subscribed;     /* names, in the order subscribed */
    GHashTable *folders;       /* name -> Folder* */
    /* The IMAP UIDs of INBOX's live messages in store order, built for the
     * store's `version` (ms_mail_store_version()); `sorted`: they rise
     * along it (always, unless a restart restored messages out of order),
     * so a UID is found by binary search. */
    GArray *uids; /* guint32 */
    guint64 version;
    gboolean sorted;
} User;

struct _MsMailImap {
    MsMailStore *store;
    guint32 uidvalidity;
    guint32 folder_base, folder_serial;
    gint64 epoch, now;
    GHashTable *users; /* lower-cased name -> User* */
};

static void
folder_free(gpointer p)
{
    Folder *f = p;
    for (guint i = 0; i < f->msgs->len; i++)
        g_bytes_unref(g_array_index(f->msgs, FolderMsg, i).data);
    g_array_unref(f->msgs);
    g_ptr_array_unref(f->keywords);
    g_free(f);
}

static void
user_free(gpointer p)
{
    User *u = p;
    g_hash_table_destroy(u->inbox);
    g_array_unref(u->uids);
    g_ptr_array_unref(u->inbox_keywords);
    g_ptr_array_unref(u->junk_keywords);
    g_ptr_array_unref(u->subscribed);
    g_hash_table_destroy(u->folders);
    g_free(u);
}

MsMailImap *
ms_mail_imap_new(MsMailStore *store, guint32 uidvalidity, gint64 epoch)
{
    g_return_val_if_fail(store != NULL, NULL);
    MsMailImap *x = g_new0(MsMailImap, 1);
    x->store = store;
    x->uidvalidity = uidvalidity ? uidvalidity : 1;
    x->folder_base = x->uidvalidity;
    x->epoch = epoch;
    x->now = epoch;
    x->users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, user_free);
    return x;
}

void
ms_mail_imap_free(MsMailImap *x)
{
    if (!x)
        return;
    g_hash_table_destroy(x->users);
    g_free(x);
}

static User *
user_get(MsMailImap *x, const char *name)
{
    g_autofree char *key = g_ascii_strdown(name, -1);
    User *u = g_hash_table_lookup(x->users, key);
    if (!u) {
        u = g_new0(User, 1);
        u->inbox = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        u->uids = g_array_new(FALSE, FALSE, sizeof(guint32));
        u->inbox_keywords = g_ptr_array_new_with_free_func(g_free);
        u->junk_keywords = g_ptr_array_new_with_free_func(g_free);
        u->subscribed = g_ptr_array_new_with_free_func(g_free);
        u->folders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, folder_free);
        g_hash_table_insert(x->users, g_steal_pointer(&key), u);
    }
    return u;
}

/* A stored message's IMAP UID: the number of its store uid. */
static guint32
inbox_uid(const MsStoredMessage *m)
{
    return ms_mail_store_uid_number(m->uid);
}

/* The live stored messages; dates of messages gone from the store are
 * dropped. */
static GPtrArray *
inbox_list(MsMailImap *x, User *u, const char *user)
{
    GPtrArray *msgs = ms_mail_store_messages(x->store, user);
    if (!msgs)
        return NULL;
    if (g_hash_table_size(u->inbox) > msgs->len) {
        g_autoptr(GHashTable) live = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < msgs->len; i++)
            g_hash_table_add(live, ((MsStoredMessage *) g_ptr_array_index(msgs, i))->uid);
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, u->inbox);
        while (g_hash_table_iter_next(&it, &key, NULL))
            if (!g_hash_table_contains(live, key))
                g_hash_table_iter_remove(&it);
    }
    return msgs;
}

/* The live message with this UID: O(log n) while INBOX is unchanged (a
 * FETCH of every message reads them one by one), O(n) after a change. */
static const MsStoredMessage *
inbox_find(MsMailImap *x, User *u, const char *user, guint32 uid)
{
    GPtrArray *msgs = inbox_list(x, u, user);
    if (!msgs)
        return NULL;
    guint64 version = ms_mail_store_version(x->store, user);
    if (version != u->version || u->uids->len != msgs->len) {
        g_array_set_size(u->uids, msgs->len);
        u->sorted = TRUE;
        for (guint i = 0; i < msgs->len; i++) {
            guint32 v = inbox_uid(g_ptr_array_index(msgs, i));
            g_array_index(u->uids, guint32, i) = v;
            if (i > 0 && g_array_index(u->uids, guint32, i - 1) >= v)
                u->sorted = FALSE;
        }
        u->version = version;
    }
    const guint32 *v = (const guint32 *) u->uids->data;
    guint lo = 0, hi = msgs->len;
    if (u->sorted) {
        while (lo < hi) {
            guint mid = lo + (hi - lo) / 2;
            if (v[mid] < uid)
                lo = mid + 1;
            else
                hi = mid;
        }
        hi = MIN(lo + 1, msgs->len);
    }
    for (guint i = lo; i < hi; i++)
        if (v[i] == uid)
            return g_ptr_array_index(msgs, i);
    return NULL;
}

static Folder *
folder_get(User *u, const char *mailbox)
{
    return g_hash_table_lookup(u->folders, mailbox);
}

/* A new empty folder `mailbox` of u (which has none of that name). */
static Folder *
folder_add(User *u, const char *mailbox, guint32 uidvalidity, guint32 uidnext)
{
    Folder *f = g_new0(Folder, 1);
    f->uidvalidity = uidvalidity;
    f->uidnext = uidnext;
    f->msgs = g_array_new(FALSE, TRUE, sizeof(FolderMsg));
    f->keywords = g_ptr_array_new_with_free_func(g_free);
    g_hash_table_insert(u->folders, g_strdup(mailbox), f);
    return f;
}

static FolderMsg *
folder_find(Folder *f, guint32 uid)
{
    for (guint i = 0; i < f->msgs->len; i++)
        if (g_array_index(f->msgs, FolderMsg, i).uid == uid)
            return &g_array_index(f->msgs, FolderMsg, i);
    return NULL;
}

/* The bit set of `names` over a mailbox's keyword list `known`, adding the
 * names it lacks (case-insensitive match, first spelling kept); FALSE,
 * with nothing added, when that would pass MS_IMAP_KEYWORD_MAX. */
static gboolean
keyword_bits(GPtrArray *known, const char *const *names, guint32 *out)
{
    guint fresh = 0;
    for (const char *const *n = names; n && *n; n++) {
        gboolean seen = FALSE;
        for (guint k = 0; k < known->len && !seen; k++)
            seen = !g_ascii_strcasecmp(g_ptr_array_index(known, k), *n);
        for (const char *const *p = names; p < n && !seen; p++)
            seen = !g_ascii_strcasecmp(*p, *n);
        fresh += !seen;
    }
    if (known->len + fresh > MS_IMAP_KEYWORD_MAX)
        return FALSE;
    *out = 0;
    for (const char *const *n = names; n && *n; n++) {
        guint k = 0;
        while (k < known->len && g_ascii_strcasecmp(g_ptr_array_index(known, k), *n))
            k++;
        if (k == known->len)
            g_ptr_array_add(known, g_strdup(*n));
        *out |= 1u << k;
    }
    return TRUE;
}

static void
keyword_list(GPtrArray *known, GPtrArray *out)
{
    for (guint k = 0; out && k < known->len; k++)
        g_ptr_array_add(out, g_strdup(g_ptr_array_index(known, k)));
}

/* INBOX's per-message state for a store uid, made when missing. */
static InboxState *
inbox_state(User *u, const char *store_uid)
{
    InboxState *st = g_hash_table_lookup(u->inbox, store_uid);
    if (!st) {
        st = g_new0(InboxState, 1);
        g_hash_table_insert(u->inbox, g_strdup(store_uid), st);
    }
    return st;
}

/* ---- the hooks --------------------------------------------------------- */

static gboolean
h_auth(gpointer ud, const char *user, const char *password)
{
    MsMailImap *x = ud;
    return ms_mail_store_check_password(x->store, user, password);
}

/* The mailboxes the store holds: INBOX, and Junk for the messages the
 * store flags MS_STORE_FLAG_JUNK (a DMARC quarantine); *junk tells which. */
static gboolean
in_store(const char *mailbox, gboolean *junk)
{
    *junk = strcmp(mailbox, JUNK_BOX) == 0;
    return *junk || strcmp(mailbox, "INBOX") == 0;
}

gboolean
ms_mail_imap_is_store_view(const char *mailbox)
{
    gboolean junk;
    return mailbox && in_store(mailbox, &junk);
}

static gboolean
in_view(const MsStoredMessage *m, gboolean junk)
{
    return ((m->flags & MS_STORE_FLAG_JUNK) != 0) == junk;
}

/* Whether Junk exists: once the store has held a quarantined message for
 * the user (made on first delivery, as a Sieve "fileinto :create" would),
 * or the user created it, until the user deletes it. O(messages). */
static gboolean
junk_exists(MsMailImap *x, User *u, const char *user)
{
    GPtrArray *msgs = u->junk ? NULL : ms_mail_store_messages(x->store, user);
    for (guint i = 0; msgs && i < msgs->len && !u->junk; i++)
        u->junk = in_view(g_ptr_array_index(msgs, i), TRUE);
    return u->junk;
}

static GPtrArray *
view_keywords(User *u, gboolean junk)
{
    return junk ? u->junk_keywords : u->inbox_keywords;
}

static void
h_mailboxes(gpointer ud, const char *user, GPtrArray *out)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, u->folders);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_ptr_array_add(out, g_strdup(key)); /* the core sorts them */
    if (junk_exists(x, u, user))
        g_ptr_array_add(out, g_strdup(JUNK_BOX));
}

static MsImapHookResult
h_list(gpointer ud, const char *user, const char *mailbox, GArray *out, MsImapMailboxInfo *info,
       GPtrArray *keywords)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    gboolean junk;
    if (in_store(mailbox, &junk)) {
        GPtrArray *msgs = inbox_list(x, u, user);
        if (!msgs || (junk && !junk_exists(x, u, user)))
            return MS_IMAP_HOOK_NO_MAILBOX;
        for (guint i = 0; i < msgs->len; i++) {
            const MsStoredMessage *m = g_ptr_array_index(msgs, i);
            if (!in_view(m, junk))
                continue;
            InboxState *st = g_hash_table_lookup(u->inbox, m->uid);
            MsImapMessageInfo mi = { 0 };
            mi.uid = inbox_uid(m);
            mi.size = m->size;
            mi.flags = m->flags & ~MS_STORE_FLAG_JUNK;
            mi.internal_date =
                st && st->dated ? st->date : x->epoch + (gint64) (m->stored_at / MS_TIME_S);
            mi.keywords = st ? st->keywords : 0;
            g_array_append_val(out, mi);
        }
        keyword_list(view_keywords(u, junk), keywords);
        /* Both views share the store's numbering, so one UIDVALIDITY and
         * UIDNEXT serve both (UIDs need only rise within a mailbox). */
        info->uidvalidity = x->uidvalidity;
        info->uidnext = ms_mail_store_uid_next(x->store, user);
        return MS_IMAP_HOOK_OK;
    }
    Folder *f = folder_get(u, mailbox);
    if (!f)
        return MS_IMAP_HOOK_NO_MAILBOX;
    for (guint i = 0; i < f->msgs->len; i++) {
        const FolderMsg *m = &g_array_index(f->msgs, FolderMsg, i);
        MsImapMessageInfo mi = { m->uid, g_bytes_get_size(m->data), m->flags, m->date,
                                 m->keywords };
        g_array_append_val(out, mi);
    }
    keyword_list(f->keywords, keywords);
    info->uidvalidity = f->uidvalidity;
    info->uidnext = f->uidnext;
    return MS_IMAP_HOOK_OK;
}

/* The store's message with this UID in INBOX or Junk, or NULL. */
static const MsStoredMessage *
view_find(MsMailImap *x, User *u, const char *user, guint32 uid, gboolean junk)
{
    const MsStoredMessage *m = inbox_find(x, u, user, uid);
    return m && in_view(m, junk) ? m : NULL;
}

static GBytes *
h_read(gpointer ud, const char *user, const char *mailbox, guint32 uid)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    gboolean junk;
    if (in_store(mailbox, &junk)) {
        const MsStoredMessage *m = view_find(x, u, user, uid, junk);
        return m ? ms_mail_store_body(x->store, user, m, NULL) : NULL; /* NULL: NO, not a crash */
    }
    Folder *f = folder_get(u, mailbox);
    FolderMsg *m = f ? folder_find(f, uid) : NULL;
    return m ? g_bytes_ref(m->data) : NULL;
}

static MsImapHookResult
h_set_flags(gpointer ud, const char *user, const char *mailbox, guint32 uid, guint flags,
            const char *const *keywords)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    guint32 bits = 0;
    gboolean junk;
    if (in_store(mailbox, &junk)) {
        /* the store's flags: the bridge's Maildir keeps them (":2,"); the
         * Junk mark stays as it is */
        const MsStoredMessage *m = view_find(x, u, user, uid, junk);
        if (!m)
            return MS_IMAP_HOOK_FAILED;
        if (!keyword_bits(view_keywords(u, junk), keywords, &bits))
            return MS_IMAP_HOOK_LIMIT;
        if (!ms_mail_store_set_flags(x->store, user, m->uid,
                                     (m->flags & MS_STORE_FLAG_JUNK) | flags))
            return MS_IMAP_HOOK_FAILED;
        if (bits || g_hash_table_contains(u->inbox, m->uid))
            inbox_state(u, m->uid)->keywords = bits;
        return MS_IMAP_HOOK_OK;
    }
    Folder *f = folder_get(u, mailbox);
    FolderMsg *m = f ? folder_find(f, uid) : NULL;
    if (!m)
        return MS_IMAP_HOOK_FAILED;
    if (!keyword_bits(f->keywords, keywords, &bits))
        return MS_IMAP_HOOK_LIMIT;
    m->flags = flags;
    m->keywords = bits;
    return MS_IMAP_HOOK_OK;
}

/* Deletes from the store the messages of a view with these UIDs (all of
 * the view when `uids` is NULL). */
static void
view_delete(MsMailImap *x, User *u, const char *user, gboolean junk, const guint32 *uids, guint n)
{
    /* Collect the store uids first: deleting changes the live view. */
    g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *msgs = inbox_list(x, u, user);
    for (guint i = 0; msgs && i < msgs->len; i++) {
        const MsStoredMessage *m = g_ptr_array_index(msgs, i);
        gboolean hit = !uids;
        for (guint k = 0; k < n && !hit; k++)
            hit = uids[k] == inbox_uid(m);
        if (hit && in_view(m, junk))
            g_ptr_array_add(gone, g_strdup(m->uid));
    }
    for (guint i = 0; i < gone->len; i++) {
        ms_mail_store_delete(x->store, user, g_ptr_array_index(gone, i));
        g_hash_table_remove(u->inbox, g_ptr_array_index(gone, i));
    }
}

static MsImapHookResult
h_expunge(gpointer ud, const char *user, const char *mailbox, const guint32 *uids, guint n)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    gboolean junk;
    if (in_store(mailbox, &junk)) {
        view_delete(x, u, user, junk, uids, n);
        return MS_IMAP_HOOK_OK;
    }
    Folder *f = folder_get(u, mailbox);
    if (!f)
        return MS_IMAP_HOOK_NO_MAILBOX;
    for (guint i = f->msgs->len; i-- > 0;) {
        FolderMsg *m = &g_array_index(f->msgs, FolderMsg, i);
        for (guint k = 0; k < n; k++)
            if (uids[k] == m->uid) {
                g_bytes_unref(m->data);
                g_array_remove_index(f->msgs, i);
                break;
            }
    }
    return MS_IMAP_HOOK_OK;
}

static MsImapHookResult
h_append(gpointer ud, const char *user, const char *mailbox, GBytes *data, guint flags,
         const char *const *keywords, gint64 date, guint32 *uid)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    guint32 bits = 0;
    gboolean junk;
    *uid = 0;
    if (in_store(mailbox, &junk)) {
        if (junk && !junk_exists(x, u, user))
            return MS_IMAP_HOOK_NO_MAILBOX;
        if (!keyword_bits(view_keywords(u, junk), keywords, &bits))
            return MS_IMAP_HOOK_LIMIT;
        MsStoreResult r = ms_mail_store_deliver(x->store, user, data, 0, 0);
        if (r == MS_STORE_OVER_QUOTA)
            return MS_IMAP_HOOK_OVER_QUOTA;
        if (r != MS_STORE_OK)
            return MS_IMAP_HOOK_FAILED;
        GPtrArray *msgs = inbox_list(x, u, user);
        MsStoredMessage *last = msgs && msgs->len ? g_ptr_array_index(msgs, msgs->len - 1) : NULL;
        if (!last)
            return MS_IMAP_HOOK_FAILED;
        ms_mail_store_set_flags(x->store, user, last->uid, flags | (junk ? MS_STORE_FLAG_JUNK : 0));
        InboxState *st = inbox_state(u, last->uid);
        st->dated = TRUE;
        st->date = date != G_MININT64 ? date : x->now;
        st->keywords = bits;
        *uid = inbox_uid(last);
        return MS_IMAP_HOOK_OK;
    }
    Folder *f = folder_get(u, mailbox);
    if (!f)
        return MS_IMAP_HOOK_NO_MAILBOX;
    if (!keyword_bits(f->keywords, keywords, &bits))
        return MS_IMAP_HOOK_LIMIT;
    FolderMsg m = { f->uidnext++, flags, date != G_MININT64 ? date : x->now, g_bytes_ref(data),
                    bits };
    g_array_append_val(f->msgs, m);
    *uid = m.uid;
    return MS_IMAP_HOOK_OK;
}

static MsImapHookResult
h_create(gpointer ud, const char *user, const char *mailbox)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    gboolean junk;
    if (in_store(mailbox, &junk)) {
        if (junk_exists(x, u, user))
            return MS_IMAP_HOOK_EXISTS;
        u->junk = TRUE;
        return MS_IMAP_HOOK_OK;
    }
    if (folder_get(u, mailbox))
        return MS_IMAP_HOOK_EXISTS;
    folder_add(u, mailbox, x->folder_base + ++x->folder_serial, 1);
    return MS_IMAP_HOOK_OK;
}

/* DELETE Junk deletes its messages from the store (RFC 9051 6.3.4: the
 * messages go with their mailbox); it comes back with the next quarantine. */
static MsImapHookResult
h_delete(gpointer ud, const char *user, const char *mailbox)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    gboolean junk;
    if (in_store(mailbox, &junk)) {
        if (!junk_exists(x, u, user))
            return MS_IMAP_HOOK_NO_MAILBOX;
        view_delete(x, u, user, TRUE, NULL, 0);
        u->junk = FALSE;
        g_ptr_array_set_size(u->junk_keywords, 0);
        return MS_IMAP_HOOK_OK;
    }
    return g_hash_table_remove(u->folders, mailbox) ? MS_IMAP_HOOK_OK : MS_IMAP_HOOK_NO_MAILBOX;
}

static MsImapHookResult
h_rename(gpointer ud, const char *user, const char *from, const char *to)
{
    MsMailImap *x = ud;
    User *u = user_get(x, user);
    gboolean junk;
    if (in_store(from, &junk) || in_store(to, &junk))
        return MS_IMAP_HOOK_CANNOT; /* the store's quarantine has a fixed name */
    if (!folder_get(u, from))
        return MS_IMAP_HOOK_NO_MAILBOX;
    if (folder_get(u, to))
        return MS_IMAP_HOOK_EXISTS;
    gpointer key, value;
    g_hash_table_steal_extended(u->folders, from, &key, &value);
    g_free(key);
    g_hash_table_insert(u->folders, g_strdup(to), value);
    return MS_IMAP_HOOK_OK;
}

static void
h_subscriptions(gpointer ud, const char *user, GPtrArray *out)
{
    User *u = user_get(ud, user);
    for (guint i = 0; i < u->subscribed->len; i++)
        g_ptr_array_add(out, g_strdup(g_ptr_array_index(u->subscribed, i)));
}

/* RFC 9051 6.3.7: a name may be subscribed whether or not it exists, and
 * stays subscribed when its mailbox is deleted; unsubscribing a name that
 * is not subscribed is not an error. */
static MsImapHookResult
h_subscribe(gpointer ud, const char *user, const char *mailbox, gboolean on)
{
    User *u = user_get(ud, user);
    guint i = 0;
    while (i < u->subscribed->len && strcmp(g_ptr_array_index(u->subscribed, i), mailbox))
        i++;
    if (on && i == u->subscribed->len)
        g_ptr_array_add(u->subscribed, g_strdup(mailbox));
    else if (!on && i < u->subscribed->len)
        g_ptr_array_remove_index(u->subscribed, i);
    return MS_IMAP_HOOK_OK;
}

static const MsImapServerHooks imap_hooks = {
    .authenticate = h_auth,
    .mailboxes = h_mailboxes,
    .list = h_list,
    .read = h_read,
    .set_flags = h_set_flags,
    .expunge = h_expunge,
    .append = h_append,
    .create = h_create,
    .delete_mailbox = h_delete,
    .rename = h_rename,
    .subscriptions = h_subscriptions,
    .subscribe = h_subscribe,
};

const MsImapServerHooks *
ms_mail_imap_hooks(void)
{
    return &imap_hooks;
}

guint64
ms_mail_imap_stamp(MsMailImap *x, const char *user)
{
    g_return_val_if_fail(x != NULL && user != NULL, 0);
    GPtrArray *msgs = ms_mail_store_messages(x->store, user);
    if (!msgs || msgs->len == 0)
        return 0;
    const MsStoredMessage *last = g_ptr_array_index(msgs, msgs->len - 1);
    return ((guint64) msgs->len << 32) ^ g_str_hash(last->uid);
}

void
ms_mail_imap_set_folder_uidvalidity(MsMailImap *x, guint32 base)
{
    g_return_if_fail(x != NULL);
    x->folder_base = base ? base : 1;
}

void
ms_mail_imap_set_now(MsMailImap *x, gint64 now)
{
    g_return_if_fail(x != NULL);
    x->now = now;
}

/* ---- folders kept outside (the bridge's Maildir++ subfolders) ----------- */

gboolean
ms_mail_imap_restore_folder(MsMailImap *x, const char *user, const char *mailbox,
                            guint32 uidvalidity, guint32 uidnext)
{
    g_return_val_if_fail(x != NULL && user != NULL && mailbox != NULL && uidvalidity != 0, FALSE);
    User *u = user_get(x, user);
    if (ms_mail_imap_is_store_view(mailbox) || folder_get(u, mailbox))
        return FALSE;
    folder_add(u, mailbox, uidvalidity, MAX(uidnext, 1));
    return TRUE;
}

gboolean
ms_mail_imap_restore_message(MsMailImap *x, const char *user, const char *mailbox, guint32 uid,
                             guint flags, gint64 date, GBytes *data)
{
    g_return_val_if_fail(x != NULL && user != NULL && mailbox != NULL && data != NULL, FALSE);
    Folder *f = folder_get(user_get(x, user), mailbox);
    if (!f || uid == 0 ||
        (f->msgs->len > 0 && g_array_index(f->msgs, FolderMsg, f->msgs->len - 1).uid >= uid))
        return FALSE; /* UIDs ascend (RFC 9051 2.3.1.1) */
    FolderMsg m = { .uid = uid, .flags = flags, .date = date, .data = g_bytes_ref(data) };
    g_array_append_val(f->msgs, m);
    f->uidnext = MAX(f->uidnext, uid + 1);
    return TRUE;
}

gboolean
ms_mail_imap_restore_keywords(MsMailImap *x, const char *user, const char *mailbox, guint32 uid,
                              const char *const *keywords)
{
    g_return_val_if_fail(x != NULL && user != NULL && mailbox != NULL, FALSE);
    User *u = user_get(x, user);
    gboolean junk;
    guint32 bits = 0;
    if (in_store(mailbox, &junk)) {
        const MsStoredMessage *m = view_find(x, u, user, uid, junk);
        if (!m || !keyword_bits(view_keywords(u, junk), keywords, &bits))
            return FALSE;
        inbox_state(u, m->uid)->keywords = bits;
        return TRUE;
    }
    Folder *f = folder_get(u, mailbox);
    FolderMsg *m = f ? folder_find(f, uid) : NULL;
    if (!m || !keyword_bits(f->keywords, keywords, &bits))
        return FALSE;
    m->keywords = bits;
    return TRUE;
}

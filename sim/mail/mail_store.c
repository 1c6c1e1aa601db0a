/* Mailboxes of one mail server (see include/mailsim/mail_store.h). Users are
 * kept in a hash by lower-cased local part (set-up and per-message lookups,
 * not per packet); each holds its messages in arrival order, with a hash of
 * the live ones by uid (deletion and flags in O(1): an IMAP client marks or
 * expunges thousands at once) and a list of the live ones rebuilt only after
 * a change (ms_mail_store_messages() is called per command). Deleted
 * messages stay as tombstones so the accounting can tell "retrieved and
 * deleted" from "never delivered". UIDs are "<user>.<n>" with n counting
 * deliveries to that box: unique and stable, as RFC 1939 7 asks.
 *
 * Cost: a stored message keeps its whole body until a POP3 session deletes
 * it, unless its keeper (the bridge's Maildir) says where the body lives
 * (ms_mail_store_set_location) and gives a loader: then the store holds
 * only the size, flags, uid and that location, and readers get the body
 * through ms_mail_store_body() from the loader, per request. Worlds where nobody reads a store use ms_mail_store_count() instead,
 * which keeps nothing per message (see ms_mail_set_keep_bodies()). A box
 * that never held a message has no message arrays (a large world has a
 * million boxes), and a box is one allocation (see Box).
 *
 * An optional observer (the bridge's Maildir, sim/bridge/bridge_maildir.c)
 * hears of each stored or deleted message and each change of flags, after
 * the change; without one nothing else happens, so simulated runs are the
 * same with or without this hook. */
#include "mailsim/mail_store.h"

#include <stddef.h>
#include <string.h>

/* A box's messages, made with its first one (most boxes of a large world
 * never hold one). */
typedef struct {
    GPtrArray *all;       /* MsStoredMessage*, deleted ones included */
    GPtrArray *live;      /* view handed out by ms_mail_store_messages; NULL until asked */
    GHashTable *by_uid;   /* uid -> MsStoredMessage* in `all`, live ones only */
    guint64 version;      /* bumped whenever the live set changes */
    guint64 live_version; /* the version `live` was built for */
} BoxMessages;

/* One user: a single allocation, the lower-cased name and the password
 * following the fixed fields in `text` ("name\0password\0"). The store's
 * hash holds `text` itself as both key and value (a set: GLib then keeps no
 * array of values), and box_of() finds the box from it. About 40 bytes
 * and the name and password per user, where a box with its own key and
 * password strings took about 170 (malloc's headers included): the medium
 * world's 100,000 users are most of its mail servers' memory. */
typedef struct {
    guint64 quota; /* 0: unlimited */
    guint64 bytes; /* live bytes */
    guint next_uid;
    guint8 locked;
    guint8 full;         /* the "mailbox full" fault: takes nothing */
    BoxMessages *msgs;   /* NULL until the first message */
    char text[];
} Box;

struct _MsMailStore {
    GHashTable *boxes; /* a set of Box text (the lower-cased user) */
    guint stored, deleted;
    const MsMailStoreObserver *obs; /* borrowed, or NULL */
    gpointer obs_data;
    MsMailStoreLoader load; /* reads bodies kept elsewhere, or NULL */
    gpointer load_data;
    GPtrArray *empty; /* the view of every box that never held a message; NULL until asked */
};

static void
stored_free(gpointer p)
{
    MsStoredMessage *m = p;
    if (m->data)
        g_bytes_unref(m->data);
    g_free(m->uid);
    g_free(m->location);
    g_free(m);
}

static guint ci_hash(gconstpointer p);

static gboolean ci_equal(gconstpointer a, gconstpointer b);

static Box *
box_of(gpointer text)
{
    return (Box *) (void *) ((char *) text - offsetof(Box, text));
}

static void
box_free(gpointer text)
{
    Box *b = box_of(text);
    if (b->msgs) {
        g_hash_table_destroy(b->msgs->by_uid);
        g_ptr_array_unref(b->msgs->all);
        if (b->msgs->live)
            g_ptr_array_unref(b->msgs->live);
        g_free(b->msgs);
    }
    g_free(b);
}

static const char *
box_password(const Box *b)
{
    return b->text + strlen(b->text) + 1;
}

MsMailStore *
ms_mail_store_new(void)
{
    MsMailStore *s = g_new0(MsMailStore, 1);
    s->boxes = g_hash_table_new_full(ci_hash, ci_equal, box_free, NULL);
    return s;
}

void
ms_mail_store_free(MsMailStore *s)
{
    if (!s)
        return;
    g_hash_table_destroy(s->boxes);
    if (s->empty)
        g_ptr_array_unref(s->empty);
    g_free(s);
}

static Box *
box(const MsMailStore *s, const char *user)
{
    /* case-insensitive hash: no copy per look-up */
    gpointer text = g_hash_table_lookup(s->boxes, user);
    return text ? box_of(text) : NULL;
}

/* The keys are stored lower case; look-ups may come in any case. */
static guint
ci_hash(gconstpointer p)
{
    guint h = 5381;
    for (const char *c = p; *c; c++)
        h = h * 33 + (guint) g_ascii_tolower(*c);
    return h;
}

static gboolean
ci_equal(gconstpointer a, gconstpointer b)
{
    return g_ascii_strcasecmp(a, b) == 0;
}

void
ms_mail_store_set_observer(MsMailStore *s, const MsMailStoreObserver *obs, gpointer user_data)
{
    g_return_if_fail(s != NULL);
    s->obs = obs;
    s->obs_data = user_data;
}

void
ms_mail_store_set_loader(MsMailStore *s, MsMailStoreLoader load, gpointer user_data)
{
    g_return_if_fail(s != NULL);
    s->load = load;
    s->load_data = user_data;
}

GBytes *
ms_mail_store_body(MsMailStore *s, const char *user, const MsStoredMessage *m, GError **error)
{
    g_return_val_if_fail(s != NULL && user != NULL && m != NULL, NULL);
    if (m->data)
        return g_bytes_ref(m->data);
    if (!s->load) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no body kept", m->uid);
        return NULL;
    }
    return s->load(user, m, s->load_data, error);
}

gboolean
ms_mail_store_set_location(MsMailStore *s, const char *user, const char *uid, const char *location)
{
    g_return_val_if_fail(s != NULL && user != NULL && uid != NULL && location != NULL, FALSE);
    Box *b = box(s, user);
    MsStoredMessage *m = b && b->msgs ? g_hash_table_lookup(b->msgs->by_uid, uid) : NULL;
    if (!m)
        return FALSE;
    g_free(m->location);
    m->location = g_strdup(location);
    if (s->load && m->data)
        g_clear_pointer(&m->data, g_bytes_unref);
    return TRUE;
}

gboolean
ms_mail_store_add_user(MsMailStore *s, const char *user, const char *password, guint64 quota)
{
    g_return_val_if_fail(s != NULL && user != NULL, FALSE);
    if (box(s, user))
        return FALSE;
    if (!password)
        password = "";
    gsize nl = strlen(user) + 1, pl = strlen(password) + 1;
    Box *b = g_malloc0(sizeof(Box) + nl + pl);
    for (gsize i = 0; i < nl; i++)
        b->text[i] = g_ascii_tolower(user[i]);
    memcpy(b->text + nl, password, pl);
    b->quota = quota;
    g_hash_table_add(s->boxes, b->text);
    return TRUE;
}

gboolean
ms_mail_store_has_user(const MsMailStore *s, const char *user)
{
    g_return_val_if_fail(s != NULL && user != NULL, FALSE);
    return box(s, user) != NULL;
}

gboolean
ms_mail_store_check_password(const MsMailStore *s, const char *user, const char *password)
{
    g_return_val_if_fail(s != NULL && user != NULL, FALSE);
    Box *b = box(s, user);
    return b && password && strcmp(box_password(b), password) == 0;
}

const char *
ms_mail_store_password(const MsMailStore *s, const char *user)
{
    g_return_val_if_fail(s != NULL && user != NULL, NULL);
    Box *b = box(s, user);
    return b ? box_password(b) : NULL;
}

MsStoreResult
ms_mail_store_can_accept(const MsMailStore *s, const char *user, guint64 size)
{
    g_return_val_if_fail(s != NULL && user != NULL, MS_STORE_NO_USER);
    Box *b = box(s, user);
    if (!b)
        return MS_STORE_NO_USER;
    if (b->full || (b->quota && b->bytes + size > b->quota))
        return MS_STORE_OVER_QUOTA;
    return MS_STORE_OK;
}

/* Files m (taken) as a new live message at the end of b; a box's arrays
 * and hash are made with its first message. */
static void
box_add(Box *b, MsStoredMessage *m)
{
    if (!b->msgs) {
        b->msgs = g_new0(BoxMessages, 1);
        b->msgs->all = g_ptr_array_new_with_free_func(stored_free);
        b->msgs->by_uid = g_hash_table_new(g_str_hash, g_str_equal);
        b->msgs->version = 1; /* what ms_mail_store_version() said before */
    }
    g_ptr_array_add(b->msgs->all, m);
    g_hash_table_replace(b->msgs->by_uid, m->uid, m);
    b->bytes += m->size;
    b->msgs->version++;
}

MsStoreResult
ms_mail_store_deliver(MsMailStore *s, const char *user, GBytes *data, guint32 message, MsTime at)
{
    g_return_val_if_fail(s != NULL && user != NULL && data != NULL, MS_STORE_NO_USER);
    MsStoreResult r = ms_mail_store_can_accept(s, user, g_bytes_get_size(data));
    if (r != MS_STORE_OK)
        return r;
    Box *b = box(s, user);
    MsStoredMessage *m = g_new0(MsStoredMessage, 1);
    m->data = g_bytes_ref(data);
    m->size = g_bytes_get_size(data);
    m->uid = g_strdup_printf("%s.%u", b->text, ++b->next_uid);
    m->message = message;
    m->stored_at = at;
    box_add(b, m);
    s->stored++;
    if (s->obs && s->obs->stored)
        s->obs->stored(user, m, s->obs_data);
    return MS_STORE_OK;
}

/* The restores: a message accepted before, filed without quota check or
 * observer call; data (a ref taken) or a location with its size. */
static MsStoreResult
restore(MsMailStore *s, const char *user, GBytes *data, guint64 size, const char *location,
        guint uid_n, guint flags, MsTime at)
{
    Box *b = box(s, user);
    if (!b)
        return MS_STORE_NO_USER;
    MsStoredMessage *m = g_new0(MsStoredMessage, 1);
    m->data = data ? g_bytes_ref(data) : NULL;
    m->size = size;
    m->location = g_strdup(location);
    if (uid_n == 0)
        uid_n = b->next_uid + 1;
    m->uid = g_strdup_printf("%s.%u", b->text, uid_n);
    b->next_uid = MAX(b->next_uid, uid_n);
    m->stored_at = at;
    m->flags = flags;
    box_add(b, m);
    s->stored++;
    return MS_STORE_OK;
}

MsStoreResult
ms_mail_store_restore(MsMailStore *s, const char *user, GBytes *data, guint uid_n, guint flags,
                      MsTime at)
{
    g_return_val_if_fail(s != NULL && user != NULL && data != NULL, MS_STORE_NO_USER);
    return restore(s, user, data, g_bytes_get_size(data), NULL, uid_n, flags, at);
}

MsStoreResult
ms_mail_store_restore_located(MsMailStore *s, const char *user, guint64 size, const char *location,
                              guint uid_n, guint flags, MsTime at)
{
    g_return_val_if_fail(s != NULL && user != NULL && location != NULL, MS_STORE_NO_USER);
    return restore(s, user, NULL, size, location, uid_n, flags, at);
}

guint
ms_mail_store_uid_number(const char *uid)
{
    const char *dot = uid ? strrchr(uid, '.') : NULL;
    guint64 n = 0;
    if (!dot || !g_ascii_string_to_unsigned(dot + 1, 10, 1, G_MAXUINT, &n, NULL))
        return 0;
    return (guint) n;
}

guint
ms_mail_store_uid_next(const MsMailStore *s, const char *user)
{
    g_return_val_if_fail(s != NULL && user != NULL, 0);
    const Box *b = box(s, user);
    return b ? b->next_uid + 1 : 0;
}

gboolean
ms_mail_store_reserve_uids(MsMailStore *s, const char *user, guint uid_next)
{
    g_return_val_if_fail(s != NULL && user != NULL, FALSE);
    Box *b = box(s, user);
    if (!b)
        return FALSE;
    if (uid_next > 0)
        b->next_uid = MAX(b->next_uid, uid_next - 1);
    return TRUE;
}

MsStoreResult
ms_mail_store_count(MsMailStore *s, const char *user, guint64 size, guint32 message, MsTime at)
{
    g_return_val_if_fail(s != NULL && user != NULL, MS_STORE_NO_USER);
    (void) message;
    (void) at;
    MsStoreResult r = ms_mail_store_can_accept(s, user, size);
    if (r != MS_STORE_OK)
        return r;
    Box *b = box(s, user);
    b->next_uid++;
    b->bytes += size;
    s->stored++;
    return MS_STORE_OK;
}

void
ms_mail_store_set_quota(MsMailStore *s, const char *user, guint64 quota)
{
    g_return_if_fail(s != NULL && user != NULL);
    Box *b = box(s, user);
    if (b) {
        b->quota = quota;
        b->full = FALSE;
    }
}

void
ms_mail_store_fill(MsMailStore *s, const char *user)
{
    g_return_if_fail(s != NULL && user != NULL);
    Box *b = box(s, user);
    if (b)
        b->full = TRUE;
}

gboolean
ms_mail_store_lock(MsMailStore *s, const char *user)
{
    g_return_val_if_fail(s != NULL && user != NULL, FALSE);
    Box *b = box(s, user);
    if (!b || b->locked)
        return FALSE;
    b->locked = TRUE;
    return TRUE;
}

void
ms_mail_store_unlock(MsMailStore *s, const char *user)
{
    g_return_if_fail(s != NULL && user != NULL);
    Box *b = box(s, user);
    if (b)
        b->locked = FALSE;
}

GPtrArray *
ms_mail_store_messages(MsMailStore *s, const char *user)
{
    g_return_val_if_fail(s != NULL && user != NULL, NULL);
    Box *b = box(s, user);
    if (!b)
        return NULL;
    BoxMessages *x = b->msgs;
    if (!x) {
        /* no message ever: an empty view, made once per store */
        if (!s->empty)
            s->empty = g_ptr_array_new();
        return s->empty;
    }
    if (x->live && x->live_version == x->version)
        return x->live;
    if (!x->live)
        x->live = g_ptr_array_new();
    g_ptr_array_set_size(x->live, 0);
    for (guint i = 0; i < x->all->len; i++) {
        MsStoredMessage *m = g_ptr_array_index(x->all, i);
        if (!m->deleted)
            g_ptr_array_add(x->live, m);
    }
    x->live_version = x->version;
    return x->live;
}

guint64
ms_mail_store_version(const MsMailStore *s, const char *user)
{
    g_return_val_if_fail(s != NULL && user != NULL, 0);
    Box *b = box(s, user);
    return !b ? 0 : b->msgs ? b->msgs->version : 1;
}

gboolean
ms_mail_store_delete(MsMailStore *s, const char *user, const char *uid)
{
    g_return_val_if_fail(s != NULL && user != NULL && uid != NULL, FALSE);
    Box *b = box(s, user);
    MsStoredMessage *m = b && b->msgs ? g_hash_table_lookup(b->msgs->by_uid, uid) : NULL;
    if (!m)
        return FALSE;
    m->deleted = TRUE;
    b->bytes -= m->size;
    b->msgs->version++;
    s->deleted++;
    /* The observer may still find it by uid (the bridge moves a copy written
     * in this tick into place, ms_mail_store_set_location, before removing
     * its file); only then is it gone. */
    if (s->obs && s->obs->deleted)
        s->obs->deleted(user, m, s->obs_data);
    g_hash_table_remove(b->msgs->by_uid, uid);
    return TRUE;
}

gboolean
ms_mail_store_set_flags(MsMailStore *s, const char *user, const char *uid, guint flags)
{
    g_return_val_if_fail(s != NULL && user != NULL && uid != NULL, FALSE);
    Box *b = box(s, user);
    MsStoredMessage *m = b && b->msgs ? g_hash_table_lookup(b->msgs->by_uid, uid) : NULL;
    if (!m)
        return FALSE;
    guint old = m->flags;
    m->flags = flags;
    if (old != flags && s->obs && s->obs->flags_changed)
        s->obs->flags_changed(user, m, old, s->obs_data);
    return TRUE;
}

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
ms_mail_store_users(const MsMailStore *s)
{
    g_return_val_if_fail(s != NULL, NULL);
    GPtrArray *out = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, s->boxes);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(out, k);
    g_ptr_array_sort(out, cmp_str); /* hash order must not reach behaviour */
    return out;
}

void
ms_mail_store_totals(const MsMailStore *s, guint *stored, guint *deleted, guint64 *bytes)
{
    g_return_if_fail(s != NULL);
    guint64 total = 0;
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, s->boxes);
    while (g_hash_table_iter_next(&it, &k, NULL))
        total += box_of(k)->bytes; /* a sum: iteration order does not matter */
    if (stored)
        *stored = s->stored;
    if (deleted)
        *deleted = s->deleted;
    if (bytes)
        *bytes = total;
}

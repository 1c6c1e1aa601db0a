/* Tests of the mailbox store: users are separate boxes (feedback@ is not
 * service@), quota on both sides of the limit, locking, deletion. */
#include "testlib.h"
#include "mailsim/mail_store.h"

#include <string.h>

static GBytes *
msg(gsize n)
{
    char *d = g_malloc(n);
    memset(d, 'x', n);
    return g_bytes_new_take(d, n);
}

static void
test_boxes_are_separate(void)
{
    g_autoptr(MsMailStore) s = ms_mail_store_new();
    CU_ASSERT_TRUE(ms_mail_store_add_user(s, "feedback", "pw1", 0));
    CU_ASSERT_TRUE(ms_mail_store_add_user(s, "service", "pw2", 0));
    CU_ASSERT_FALSE(ms_mail_store_add_user(s, "Service", "x", 0));
    g_autoptr(GBytes) m = msg(100);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "feedback", m, 1, 0), MS_STORE_OK);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "nobody", m, 2, 0), MS_STORE_NO_USER);
    CU_ASSERT_EQUAL(ms_mail_store_messages(s, "feedback")->len, 1);
    CU_ASSERT_EQUAL(ms_mail_store_messages(s, "SERVICE")->len, 0);
    CU_ASSERT_TRUE(ms_mail_store_check_password(s, "service", "pw2"));
    CU_ASSERT_FALSE(ms_mail_store_check_password(s, "service", "pw1"));
    CU_ASSERT_FALSE(ms_mail_store_check_password(s, "nobody", ""));
}

static void
test_quota_boundary(void)
{
    g_autoptr(MsMailStore) s = ms_mail_store_new();
    ms_mail_store_add_user(s, "u", "p", 1000);
    g_autoptr(GBytes) a = msg(600), b = msg(400), c = msg(1);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "u", a, 1, 0), MS_STORE_OK);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "u", b, 2, 0), MS_STORE_OK); /* exactly full */
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "u", c, 3, 0), MS_STORE_OVER_QUOTA);
    GPtrArray *live = ms_mail_store_messages(s, "u");
    CU_ASSERT_TRUE(ms_mail_store_delete(s, "u", ((MsStoredMessage *) live->pdata[0])->uid));
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "u", c, 3, 0), MS_STORE_OK);
    ms_mail_store_fill(s, "u");
    CU_ASSERT_EQUAL(ms_mail_store_can_accept(s, "u", 1), MS_STORE_OVER_QUOTA);
    guint stored, deleted;
    guint64 bytes;
    ms_mail_store_totals(s, &stored, &deleted, &bytes);
    CU_ASSERT_EQUAL(stored, 3);
    CU_ASSERT_EQUAL(deleted, 1);
    CU_ASSERT_EQUAL(bytes, 401);
}

static void
test_lock_and_uids(void)
{
    g_autoptr(MsMailStore) s = ms_mail_store_new();
    ms_mail_store_add_user(s, "u", "p", 0);
    CU_ASSERT_TRUE(ms_mail_store_lock(s, "u"));
    CU_ASSERT_FALSE(ms_mail_store_lock(s, "u"));
    ms_mail_store_unlock(s, "u");
    CU_ASSERT_TRUE(ms_mail_store_lock(s, "u"));
    CU_ASSERT_FALSE(ms_mail_store_lock(s, "ghost"));
    g_autoptr(GBytes) m = msg(10);
    ms_mail_store_deliver(s, "u", m, 1, 0);
    ms_mail_store_deliver(s, "u", m, 2, 0);
    GPtrArray *live = ms_mail_store_messages(s, "u");
    CU_ASSERT_STRING_NOT_EQUAL(((MsStoredMessage *) live->pdata[0])->uid,
                               ((MsStoredMessage *) live->pdata[1])->uid);
    CU_ASSERT_FALSE(ms_mail_store_delete(s, "u", "nope"));
}

typedef struct {
    GString *log;
} Seen;

static void
o_stored(const char *user, const MsStoredMessage *m, gpointer ud)
{
    g_string_append_printf(((Seen *) ud)->log, "stored %s %s;", user, m->uid);
}
static void
o_deleted(const char *user, const MsStoredMessage *m, gpointer ud)
{
    g_string_append_printf(((Seen *) ud)->log, "deleted %s %s;", user, m->uid);
}
static void
o_flags(const char *user, const MsStoredMessage *m, guint old, gpointer ud)
{
    g_string_append_printf(((Seen *) ud)->log, "flags %s %s %u->%u;", user, m->uid, old, m->flags);
}

/* The observer hears each store, deletion and change of flags, after the
 * change; not counted deliveries (nothing kept), not restores, not a
 * change to the same flags, not a refused delivery; and nothing once
 * removed. */
static void
test_observer(void)
{
    static const MsMailStoreObserver obs = { o_stored, o_deleted, o_flags };
    g_autoptr(MsMailStore) s = ms_mail_store_new();
    ms_mail_store_add_user(s, "feedback", "pw", 10);
    Seen seen = { g_string_new(NULL) };
    ms_mail_store_set_observer(s, &obs, &seen);
    g_autoptr(GBytes) m4 = msg(4), m20 = msg(20);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "Feedback", m4, 1, 0), MS_STORE_OK);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "feedback", m20, 2, 0), MS_STORE_OVER_QUOTA);
    CU_ASSERT_EQUAL(ms_mail_store_count(s, "feedback", 1, 3, 0), MS_STORE_OK);
    CU_ASSERT_EQUAL(ms_mail_store_restore(s, "feedback", m20, 0, 0, 0), MS_STORE_OK);
    CU_ASSERT_TRUE(ms_mail_store_set_flags(s, "feedback", "feedback.1", MS_STORE_FLAG_SEEN));
    CU_ASSERT_TRUE(ms_mail_store_set_flags(s, "feedback", "feedback.1", MS_STORE_FLAG_SEEN));
    CU_ASSERT_FALSE(ms_mail_store_set_flags(s, "feedback", "feedback.9", MS_STORE_FLAG_SEEN));
    CU_ASSERT_TRUE(ms_mail_store_delete(s, "feedback", "feedback.1"));
    CU_ASSERT_FALSE(ms_mail_store_set_flags(s, "feedback", "feedback.1", 0)); /* deleted */
    ms_mail_store_set_observer(s, NULL, NULL);
    CU_ASSERT_TRUE(ms_mail_store_delete(s, "feedback", "feedback.3"));
    CU_ASSERT_STRING_EQUAL(seen.log->str,
                           "stored Feedback feedback.1;flags feedback feedback.1 0->1;"
                           "deleted feedback feedback.1;");
    g_string_free(seen.log, TRUE);
}

/* A restored message keeps its uid number and flags, skips the quota (it
 * was accepted before), and later deliveries get uids past it; a restore
 * without a number takes the next one. Uid numbers: "<user>.<n>" with n
 * from 1 to G_MAXUINT, anything else 0. */
static void
test_restore(void)
{
    g_autoptr(MsMailStore) s = ms_mail_store_new();
    ms_mail_store_add_user(s, "feedback", "pw", 10);
    g_autoptr(GBytes) m20 = msg(20), m1 = msg(1);
    CU_ASSERT_EQUAL(ms_mail_store_restore(s, "nobody", m20, 1, 0, 0), MS_STORE_NO_USER);
    CU_ASSERT_EQUAL(ms_mail_store_restore(s, "feedback", m20, 41, MS_STORE_FLAG_DRAFT, 0),
                    MS_STORE_OK);
    CU_ASSERT_EQUAL(ms_mail_store_restore(s, "feedback", m20, 0, 0, 0), MS_STORE_OK);
    ms_mail_store_set_quota(s, "feedback", 0);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "feedback", m1, 1, 0), MS_STORE_OK);
    GPtrArray *live = ms_mail_store_messages(s, "feedback");
    CU_ASSERT_EQUAL_FATAL(live->len, 3);
    CU_ASSERT_STRING_EQUAL(((MsStoredMessage *) g_ptr_array_index(live, 0))->uid, "feedback.41");
    CU_ASSERT_EQUAL(((MsStoredMessage *) g_ptr_array_index(live, 0))->flags, MS_STORE_FLAG_DRAFT);
    CU_ASSERT_STRING_EQUAL(((MsStoredMessage *) g_ptr_array_index(live, 1))->uid, "feedback.42");
    CU_ASSERT_STRING_EQUAL(((MsStoredMessage *) g_ptr_array_index(live, 2))->uid, "feedback.43");
    CU_ASSERT_EQUAL(ms_mail_store_uid_number("feedback.43"), 43);
    CU_ASSERT_EQUAL(ms_mail_store_uid_number("a.b.4294967295"), G_MAXUINT);
    CU_ASSERT_EQUAL(ms_mail_store_uid_number("a.4294967296"), 0);
    CU_ASSERT_EQUAL(ms_mail_store_uid_number("a.0"), 0);
    CU_ASSERT_EQUAL(ms_mail_store_uid_number("a."), 0);
    CU_ASSERT_EQUAL(ms_mail_store_uid_number("a.x1"), 0);
    CU_ASSERT_EQUAL(ms_mail_store_uid_number("nodot"), 0);
    CU_ASSERT_EQUAL(ms_mail_store_uid_number(NULL), 0);
}

/* The next uid number: what IMAP gives as UIDNEXT; reserving numbers (a
 * restart that read uid-next) raises it and never lowers it; deleted
 * numbers are not given again. */
static void
test_uid_next(void)
{
    g_autoptr(MsMailStore) s = ms_mail_store_new();
    CU_ASSERT_TRUE(ms_mail_store_add_user(s, "feedback", "pw", 0));
    CU_ASSERT_EQUAL(ms_mail_store_uid_next(s, "feedback"), 1);
    CU_ASSERT_EQUAL(ms_mail_store_uid_next(s, "nobody"), 0);
    g_autoptr(GBytes) m = g_bytes_new_static("Subject: x\r\n\r\n", 15);
    ms_mail_store_deliver(s, "feedback", m, 1, 0);
    ms_mail_store_deliver(s, "feedback", m, 2, 0);
    CU_ASSERT_EQUAL(ms_mail_store_uid_next(s, "feedback"), 3);
    CU_ASSERT_TRUE(ms_mail_store_delete(s, "feedback", "feedback.2"));
    CU_ASSERT_EQUAL(ms_mail_store_uid_next(s, "Feedback"), 3);
    CU_ASSERT_TRUE(ms_mail_store_reserve_uids(s, "feedback", 2)); /* lower: no change */
    CU_ASSERT_EQUAL(ms_mail_store_uid_next(s, "feedback"), 3);
    CU_ASSERT_TRUE(ms_mail_store_reserve_uids(s, "feedback", 10));
    CU_ASSERT_EQUAL(ms_mail_store_uid_next(s, "feedback"), 10);
    CU_ASSERT_FALSE(ms_mail_store_reserve_uids(s, "nobody", 10));
    ms_mail_store_deliver(s, "feedback", m, 3, 0);
    GPtrArray *live = ms_mail_store_messages(s, "feedback");
    CU_ASSERT_STRING_EQUAL(((MsStoredMessage *) g_ptr_array_index(live, live->len - 1))->uid,
                           "feedback.10");
}

/* A loader that counts its calls and serves "body of <location>", or
 * fails for the location "gone". */
typedef struct {
    guint calls;
} Loads;

static GBytes *
count_load(const char *user, const MsStoredMessage *m, gpointer ud, GError **error)
{
    Loads *l = ud;
    (void) user;
    l->calls++;
    if (strcmp(m->location, "gone") == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "gone: vanished");
        return NULL;
    }
    g_autofree char *text = g_strdup_printf("body of %s", m->location);
    return g_bytes_new(text, strlen(text));
}

/* Bodies kept elsewhere: once a location is set (with a loader), the store
 * drops its copy, keeps the size for listings and quota, and each read
 * goes through the loader; a restored message holds only its size; a
 * loader failure is an error, not a crash; without a loader the body
 * stays in memory. */
static void
test_bodies_elsewhere(void)
{
    g_autoptr(MsMailStore) s = ms_mail_store_new();
    ms_mail_store_add_user(s, "u", "p", 0);
    g_autoptr(GBytes) m = msg(100);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "u", m, 1, 0), MS_STORE_OK);
    GPtrArray *live = ms_mail_store_messages(s, "u");
    MsStoredMessage *a = live->pdata[0];
    /* no loader: the location is noted, the body stays */
    CU_ASSERT_TRUE(ms_mail_store_set_location(s, "u", a->uid, "here"));
    CU_ASSERT_PTR_NOT_NULL(a->data);
    Loads loads = { 0 };
    ms_mail_store_set_loader(s, count_load, &loads);
    g_autoptr(GBytes) b0 = ms_mail_store_body(s, "u", a, NULL);
    CU_ASSERT_TRUE(g_bytes_equal(b0, m));
    CU_ASSERT_EQUAL(loads.calls, 0);
    CU_ASSERT_TRUE(ms_mail_store_set_location(s, "u", a->uid, "new/a"));
    CU_ASSERT_FALSE(ms_mail_store_set_location(s, "u", "u.99", "new/x"));
    CU_ASSERT_PTR_NULL(a->data);
    CU_ASSERT_EQUAL(a->size, 100);
    g_autoptr(GBytes) b1 = ms_mail_store_body(s, "u", a, NULL);
    g_autoptr(GBytes) b2 = ms_mail_store_body(s, "u", a, NULL);
    CU_ASSERT_EQUAL(loads.calls, 2); /* nothing cached */
    CU_ASSERT_EQUAL(g_bytes_get_size(b1), strlen("body of new/a"));
    CU_ASSERT_EQUAL(memcmp(g_bytes_get_data(b1, NULL), "body of new/a", 13), 0);
    CU_ASSERT_EQUAL(ms_mail_store_restore_located(s, "u", 40, "gone", 5, 0, 0), MS_STORE_OK);
    CU_ASSERT_EQUAL(ms_mail_store_restore_located(s, "ghost", 40, "x", 1, 0, 0), MS_STORE_NO_USER);
    live = ms_mail_store_messages(s, "u");
    CU_ASSERT_EQUAL_FATAL(live->len, 2);
    MsStoredMessage *c = live->pdata[1];
    CU_ASSERT_STRING_EQUAL(c->uid, "u.5");
    CU_ASSERT_EQUAL(c->size, 40);
    g_autoptr(GError) err = NULL;
    CU_ASSERT_PTR_NULL(ms_mail_store_body(s, "u", c, &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    guint64 bytes = 0;
    ms_mail_store_totals(s, NULL, NULL, &bytes);
    CU_ASSERT_EQUAL(bytes, 140); /* sizes, not loaded bodies */
    CU_ASSERT_TRUE(ms_mail_store_delete(s, "u", "u.5"));
    ms_mail_store_totals(s, NULL, NULL, &bytes);
    CU_ASSERT_EQUAL(bytes, 100);
    ms_mail_store_set_loader(s, NULL, NULL);
    g_autoptr(GError) err2 = NULL;
    CU_ASSERT_PTR_NULL(ms_mail_store_body(s, "u", a, &err2));
    CU_ASSERT_PTR_NOT_NULL(err2);
}

/* A box is one block (name, then password) with its message arrays made
 * on the first message: both sides of that, and names of every length the
 * block packs (empty password, none at all, upper case folded). */
static void
test_box_layout(void)
{
    g_autoptr(MsMailStore) s = ms_mail_store_new();
    CU_ASSERT_TRUE(ms_mail_store_add_user(s, "Alice.Long-Name", "Secret pass", 5));
    CU_ASSERT_TRUE(ms_mail_store_add_user(s, "b", "", 0));
    CU_ASSERT_TRUE(ms_mail_store_add_user(s, "c", NULL, 0));
    CU_ASSERT_STRING_EQUAL(ms_mail_store_password(s, "ALICE.long-name"), "Secret pass");
    CU_ASSERT_STRING_EQUAL(ms_mail_store_password(s, "b"), "");
    CU_ASSERT_STRING_EQUAL(ms_mail_store_password(s, "c"), "");
    CU_ASSERT_TRUE(ms_mail_store_check_password(s, "c", ""));
    CU_ASSERT_FALSE(ms_mail_store_check_password(s, "alice.long-name", "secret pass"));
    g_autoptr(GPtrArray) users = ms_mail_store_users(s);
    CU_ASSERT_EQUAL(users->len, 3);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(users, 0), "alice.long-name");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(users, 2), "c");
    /* no message yet: version 1, an empty view; 0 for nobody */
    CU_ASSERT_EQUAL(ms_mail_store_version(s, "b"), 1);
    CU_ASSERT_EQUAL(ms_mail_store_version(s, "nobody"), 0);
    CU_ASSERT_EQUAL(ms_mail_store_messages(s, "b")->len, 0);
    CU_ASSERT_EQUAL(ms_mail_store_messages(s, "c")->len, 0);
    g_autoptr(GBytes) m = msg(5);
    CU_ASSERT_EQUAL(ms_mail_store_deliver(s, "B", m, 1, 0), MS_STORE_OK);
    CU_ASSERT_EQUAL(ms_mail_store_version(s, "b"), 2);
    GPtrArray *live = ms_mail_store_messages(s, "b");
    CU_ASSERT_EQUAL(live->len, 1);
    CU_ASSERT_STRING_EQUAL(((MsStoredMessage *) live->pdata[0])->uid, "b.1");
    CU_ASSERT_EQUAL(ms_mail_store_messages(s, "c")->len, 0); /* the shared empty view stays empty */
    /* the quota sits beside the name: exactly full, then one byte over */
    CU_ASSERT_EQUAL(ms_mail_store_can_accept(s, "alice.long-name", 5), MS_STORE_OK);
    CU_ASSERT_EQUAL(ms_mail_store_can_accept(s, "alice.long-name", 6), MS_STORE_OVER_QUOTA);
    CU_ASSERT_TRUE(ms_mail_store_delete(s, "b", "b.1"));
    CU_ASSERT_EQUAL(ms_mail_store_version(s, "b"), 3);
    CU_ASSERT_EQUAL(ms_mail_store_messages(s, "b")->len, 0);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "boxes are separate", test_boxes_are_separate },
        { "quota boundary", test_quota_boundary },
        { "lock and uids", test_lock_and_uids },
        { "observer", test_observer },
        { "restore and uid numbers", test_restore },
        { "next uid number, reserved numbers", test_uid_next },
        { "bodies kept elsewhere", test_bodies_elsewhere },
        { "a box in one block, its messages on first use", test_box_layout },
        { NULL, NULL },
    };
    return ms_test_main("mailbox", cases);
}

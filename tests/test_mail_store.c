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

int
main(void)
{
    static const MsTestCase cases[] = {
        { "boxes are separate", test_boxes_are_separate },
        { "quota boundary", test_quota_boundary },
        { "lock and uids", test_lock_and_uids },
        { NULL, NULL },
    };
    return ms_test_main("mailbox", cases);
}

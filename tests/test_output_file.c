/* Output files (sim/core/output_file.c): a regular file is replaced whole,
 * a symbolic link and a FIFO are written through and stay what they were,
 * and a path that cannot be written gives an error naming it. */
#include "mailsim/output_file.h"
#include "testlib.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static char *
read_all(const char *path)
{
    char *s = NULL;
    g_file_get_contents(path, &s, NULL, NULL);
    return s;
}

static void
test_regular_and_link(void)
{
    g_autofree char *dir = g_dir_make_tmp("ms-out-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *file = g_build_filename(dir, "a.csv", NULL);
    g_autofree char *link = g_build_filename(dir, "b.csv", NULL);
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE(ms_output_file_write(file, "first\n", 6, &error));
    CU_ASSERT_TRUE(ms_output_file_write(file, "second\n", 7, &error));
    g_autofree char *a = read_all(file);
    CU_ASSERT_STRING_EQUAL(a, "second\n");
    /* a link to the file: written through, and still a link afterwards */
    CU_ASSERT_EQUAL_FATAL(symlink(file, link), 0);
    CU_ASSERT_TRUE(ms_output_file_write(link, "third\n", 6, &error));
    CU_ASSERT_TRUE(g_file_test(link, G_FILE_TEST_IS_SYMLINK));
    g_autofree char *b = read_all(file);
    CU_ASSERT_STRING_EQUAL(b, "third\n");
    g_unlink(link);
    g_unlink(file);
    g_rmdir(dir);
}

/* A FIFO (as a pipe a user names) is opened and written, not replaced by a
 * file: a reader on the other end gets the octets. */
static void
test_fifo(void)
{
    g_autofree char *dir = g_dir_make_tmp("ms-out-XXXXXX", NULL);
    g_autofree char *fifo = g_build_filename(dir, "pipe", NULL);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    const char *argv[] = { "sh", "-c", "cat \"$0\"", fifo, NULL };
    GPid pid;
    gint out_fd;
    g_autoptr(GError) error = NULL;
    CU_ASSERT_TRUE_FATAL(g_spawn_async_with_pipes(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH,
                                                  NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
    CU_ASSERT_TRUE(ms_output_file_write(fifo, "through\n", 8, &error));
    char buf[32] = { 0 };
    gsize got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(out_fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (gsize) n;
    CU_ASSERT_STRING_EQUAL(buf, "through\n");
    struct stat st;
    CU_ASSERT_EQUAL(stat(fifo, &st), 0);
    CU_ASSERT_TRUE(S_ISFIFO(st.st_mode));
    close(out_fd);
    g_spawn_close_pid(pid);
    g_unlink(fifo);
    g_rmdir(dir);
}

static void
test_error_names_path(void)
{
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FALSE(ms_output_file_write("/nonexistent-dir-of-mailsim/x.svg", "x", 1, &error));
    CU_ASSERT_PTR_NOT_NULL_FATAL(error);
    CU_ASSERT_PTR_NOT_NULL(strstr(error->message, "/nonexistent-dir-of-mailsim/x.svg"));
}

static const MsTestCase cases[] = {
    { "a regular file replaced, a link written through", test_regular_and_link },
    { "a FIFO written through", test_fifo },
    { "an unwritable path named in the error", test_error_names_path },
    { NULL, NULL },
};

int
main(void)
{
    return ms_test_main("output_file", cases);
}

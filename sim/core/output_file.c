/* Output files named by the user: every writer of a capture, picture,
 * summary or generated scenario ends here (see include/mailsim/output_file.h
 * for the rule). Sits in core because all layers above write files. */
#include "mailsim/output_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static gboolean
write_through(const char *path, const void *data, gsize len, GError **error)
{
    gboolean is_stdout = strcmp(path, "-") == 0;
    FILE *f = is_stdout ? stdout : fopen(path, "wb");
    gboolean ok = f && fwrite(data, 1, len, f) == len && fflush(f) == 0;
    int e = errno;
    if (f && !is_stdout && fclose(f) != 0 && ok) {
        ok = FALSE;
        e = errno;
    }
    if (!ok)
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s",
                    is_stdout ? "standard output" : path, g_strerror(e));
    return ok;
}

gboolean
ms_output_file_write(const char *path, const void *data, gsize len, GError **error)
{
    g_return_val_if_fail(path != NULL, FALSE);
    if (strcmp(path, "-") == 0 || g_file_test(path, G_FILE_TEST_IS_SYMLINK) ||
        (g_file_test(path, G_FILE_TEST_EXISTS) && !g_file_test(path, G_FILE_TEST_IS_REGULAR)))
        return write_through(path, data, len, error);
    return g_file_set_contents(path, data, (gssize) len, error);
}

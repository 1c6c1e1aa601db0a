/* Input files named by the user: the scenario loader and the topology
 * importers read their files here (see include/mailsim/input_file.h).
 * Sits in core because layers above it read files. */
#include "mailsim/input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean
ms_input_file_read(const char *path, gsize max_size, const char *what, GQuark domain, gint code,
                   char **out, gsize *len, GError **error)
{
    g_return_val_if_fail(path != NULL && out != NULL && len != NULL, FALSE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, domain, code, "%s: cannot open: %s", path, g_strerror(e));
        return FALSE;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(error, domain, code, "%s: not a regular file: expected %s", path, what);
        return FALSE;
    }
    if ((guint64) st.st_size > max_size) {
        close(fd);
        g_set_error(error, domain, code,
                    "%s: %" G_GUINT64_FORMAT " bytes is too large: at most %" G_GSIZE_FORMAT
                    " bytes are accepted",
                    path, (guint64) st.st_size, max_size);
        return FALSE;
    }
    gsize size = (gsize) st.st_size, got = 0;
    g_autofree char *buf = g_malloc(size + 1);
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (gsize) n;
    }
    int read_errno = errno;
    close(fd);
    if (got != size) {
        g_set_error(error, domain, code, "%s: cannot read: %s", path,
                    got < size ? g_strerror(read_errno) : "file changed size");
        return FALSE;
    }
    buf[size] = '\0';
    *len = size;
    *out = g_steal_pointer(&buf);
    return TRUE;
}

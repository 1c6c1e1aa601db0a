/* Writing an output file the user named (a capture, a picture, a CSV):
 * the one place that decides how. A regular file is replaced whole and
 * atomically (g_file_set_contents: a new file renamed over the old), so a
 * reader never sees half of it; "-" is standard output; a symbolic link or
 * an existing path that is not a regular file (/dev/stdout, a FIFO, a
 * terminal) is opened and written through, never replaced — renaming a
 * new file over /dev/stdout as root would swap the system's device link
 * for a plain file. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes len octets of data to path as described above. On failure
 * returns FALSE with error set (G_FILE_ERROR, naming the path). */
gboolean ms_output_file_write(const char *path, const void *data, gsize len, GError **error);

G_END_DECLS

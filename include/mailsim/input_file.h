/* Reading an input file the user named (a scenario, a topology): the one
 * place that refuses what is not a regular file and what is larger than
 * the caller accepts, on the open descriptor and before reading, so
 * /dev/zero or a huge file is never read. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reads path whole into *out (NUL-terminated, caller frees) and its size
 * into *len. `what` names the expected kind in the error ("a scenario XML
 * file"); errors are set in `domain` with `code`, each naming the path. */
gboolean ms_input_file_read(const char *path, gsize max_size, const char *what, GQuark domain,
                            gint code, char **out, gsize *len, GError **error);

G_END_DECLS

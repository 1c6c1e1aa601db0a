/* Files compiled into the mailsim binary (the Makefile's EMBED_FILES, turned
 * into build/gen/embedded.c by tools/embed.sh): the scenario schema, so that
 * validation works from any directory and after `make install`. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Returns the bytes of the embedded file `name` (its path relative to the
 * repository root, e.g. "scenarios/schema/scenario.rng") and stores their
 * count in *len; NULL when no such file was embedded. The bytes are static
 * and followed by a NUL that *len does not count; the caller must not free
 * them. */
const guint8 *ms_embedded_get(const char *name, gsize *len);

G_END_DECLS

/* Helpers shared by the files of the IMAP server core: the message parts
 * FETCH describes (imap_message.c). Not public. */
#pragma once

#include <glib.h>

/* The offset just past the header's blank line (or the whole length when
 * there is none), so p[0..end) is BODY[HEADER] and the rest BODY[TEXT]. */
gsize ms__imap_header_end(const guint8 *p, gsize n);
/* The unfolded value of the first header field `name` (case-insensitive),
 * leading and trailing blanks removed; NULL when absent. Newly allocated. */
char *ms__imap_header_get(const guint8 *p, gsize n, const char *name);
/* The header fields named in `names` (or, with `not`, all the others), in
 * their order in the message, followed by the blank line (RFC 9051 6.4.5
 * HEADER.FIELDS). Newly allocated. */
GBytes *ms__imap_header_fields(const guint8 *p, gsize n, char **names, gboolean not );
/* Appends the ENVELOPE (RFC 9051 7.5.2) of a message to `s`. */
void ms__imap_envelope(GString *s, const guint8 *p, gsize n);
/* Appends the BODYSTRUCTURE (extensible when `ext`) or BODY of a message
 * seen as one part, to `s`. */
void ms__imap_bodystructure(GString *s, const guint8 *p, gsize n, gboolean ext);
/* Appends `v` as an IMAP string: quoted when it can be, else a literal; NIL
 * for NULL. */
void ms__imap_string(GString *s, const char *v);

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
/* The same; with `utf8`, valid UTF-8 is quoted too (RFC 9051 9: an
 * IMAP4rev2 quoted string may carry UTF-8). */
void ms__imap_string_utf8(GString *s, const char *v, gboolean utf8);

/* A body part of a message by its part number (RFC 9051 6.4.5). */
typedef struct {
    gsize header_off, header_len; /* its MIME header (with the blank line) */
    gsize body_off, body_len;     /* its contents */
    gboolean is_message;          /* message/rfc822: HEADER and TEXT look inside */
    gboolean is_multipart;
    char *encoding; /* Content-Transfer-Encoding, lower case ("7bit" when absent) */
} MsImapPart;
/* Finds part path[0].path[1]...path[depth-1] (each >= 1) of the message
 * p[0..n): a single-part message has its body as part 1, the numbers after
 * a message/rfc822 part name the parts of the message inside. FALSE when
 * there is no such part. On TRUE, out->encoding is newly allocated. */
gboolean ms__imap_part_find(const guint8 *p, gsize n, const guint *path, guint depth,
                            MsImapPart *out);
/* Decodes quoted-printable (RFC 2045 6.7): "=XX" escapes, soft line breaks,
 * blanks at line ends dropped, hard line breaks as CRLF; a malformed "="
 * is kept as it is. Returns a new GBytes. */
GBytes *ms__imap_qp_decode(const guint8 *p, gsize n);

/* ---- mailbox name spellings (imap_mutf7.c) ---------------------------- */

/* The modified UTF-7 (RFC 3501 5.1.3) spelling of a UTF-8 name; NULL when
 * `utf8` is not valid UTF-8. Newly allocated. */
char *ms__imap_mutf7_from_utf8(const char *utf8);
/* The UTF-8 spelling of a modified UTF-7 name; NULL unless `mutf7` is
 * modified UTF-7 in its canonical spelling. Newly allocated. */
char *ms__imap_mutf7_to_utf8(const char *mutf7);
/* FALSE when valid UTF-8 `utf8` holds a character RFC 9051 5.1 keeps out
 * of mailbox names: controls (C0, DEL, C1), U+2028, U+2029. */
gboolean ms__imap_name_chars_ok(const char *utf8);

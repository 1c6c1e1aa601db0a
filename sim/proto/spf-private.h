/* Shared by spf.c (records and their evaluation) and spf_macro.c
 * (macro-strings, addresses). Not a public interface. */
#pragma once

#include <glib.h>
#include "mailsim/spf.h"

/* An address: IPv4 in b[0..3], IPv6 in b[0..15]. */
typedef struct {
    gboolean v6;
    guint8 b[16];
} MsSpfAddr;

/* Parses IPv4 dotted-quad (no leading zeros, RFC 7208 12 "qnum") or IPv6
 * text; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes IPv4 when
 * `unmap` is TRUE. */
gboolean ms__spf_addr_parse(const char *text, gboolean unmap, MsSpfAddr *out);

/* Whether the first `bits` bits of a and b agree (same family only). */
gboolean ms__spf_addr_match(const MsSpfAddr *a, const MsSpfAddr *b, guint bits);

/* Checks the syntax of a macro-string (RFC 7208 7.1) of `len` octets:
 * with `domain_spec`, also that it ends as a domain-spec must (12:
 * domain-end) and that it has no c, r or t macro. */
gboolean ms__spf_macro_check(const char *text, gsize len, gboolean domain_spec, GError **error);

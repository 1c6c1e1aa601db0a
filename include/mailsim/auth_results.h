/* The Authentication-Results header field (RFC 8601): how a receiving
 * server records, on the message it delivers, what its SPF, DKIM and DMARC
 * checks found, for the reader's mail program and for the lessons.
 *
 * A builder: created with the authserv-id (the receiving server's name),
 * then one resinfo per check ("spf=pass smtp.mailfrom=example.com",
 * "dkim=pass header.d=example.com header.s=sel header.b=AbCdEf12",
 * "dmarc=fail header.from=example.com"), each with an optional reason
 * (RFC 8601 2.2: reason="..."), and formatted as one header field folded
 * at spaces so that no line passes 78 columns (RFC 5322 2.1.1; a single
 * word longer than a line stays whole). Values are written as RFC 2045
 * tokens, or as quoted-strings when they hold specials (RFC 8601 2.2). */
#pragma once

#include <glib.h>
#include "mailsim/dmarc.h"
#include "mailsim/spf.h"

G_BEGIN_DECLS

typedef struct _MsAuthResults MsAuthResults;

/* The header's width limit, in columns (a folding tab counts 8). */
#define MS_AUTH_RESULTS_WIDTH 78

/* A builder for the server `authserv_id` (a domain name, e.g.
 * "mx.example.net"). Returns a new builder (caller frees). */
MsAuthResults *ms_auth_results_new(const char *authserv_id);
void ms_auth_results_free(MsAuthResults *ar);

/* Starts a resinfo "method=result" (RFC 8601 2.2, 2.7), with `reason`
 * (may be NULL) as reason="...". Method and result are keywords
 * ("spf", "pass"); the caller picks them from RFC 8601 2.7 / the IANA
 * registry. */
void ms_auth_results_add(MsAuthResults *ar, const char *method, const char *result,
                         const char *reason);

/* Adds "ptype.property=value" to the resinfo last started (e.g. "smtp",
 * "mailfrom", "user@example.com"); a value that is neither a token, a
 * domain name nor local-part@domain is quoted. A property with no resinfo
 * started before it is a programmer error. */
void ms_auth_results_add_property(MsAuthResults *ar, const char *ptype, const char *property,
                                  const char *value);

/* SPF (RFC 7208 9.1, RFC 8601 2.7.2): "spf=<result> smtp.mailfrom=<identity>"
 * or, when `helo` is TRUE, "smtp.helo=<identity>". `identity` is the MAIL
 * FROM address or domain, or the HELO name (may be NULL: no property). */
void ms_auth_results_add_spf(MsAuthResults *ar, MsSpfResult result, const char *identity,
                             gboolean helo, const char *reason);

/* DKIM (RFC 8601 2.7.1, RFC 6008): "dkim=<result> header.d=<d> header.s=<s>
 * header.b=<first 8 characters of b>". `result` is one of none, pass,
 * fail, policy, neutral, temperror, permerror. d, s and b may be NULL
 * (no property). */
void ms_auth_results_add_dkim(MsAuthResults *ar, const char *result, const char *d, const char *s,
                              const char *b, const char *reason);

/* DMARC (RFC 7489 11.2): "dmarc=<result> header.from=<domain>"; `from_domain`
 * may be NULL (no property). */
void ms_auth_results_add_dmarc(MsAuthResults *ar, MsDmarcResult result, const char *from_domain,
                               const char *reason);

/* How many resinfos have been added. */
guint ms_auth_results_count(const MsAuthResults *ar);

/* The whole header field, "Authentication-Results: <authserv-id>;" then
 * the resinfos separated by ";", or "; none" when there are none (RFC 8601
 * 2.2): on one line when it fits in 78 columns, else each resinfo on a
 * line of its own (CRLF + TAB), itself folded where it is longer; no
 * final CRLF. Caller frees. */
char *ms_auth_results_to_string(const MsAuthResults *ar);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsAuthResults, ms_auth_results_free)

G_END_DECLS

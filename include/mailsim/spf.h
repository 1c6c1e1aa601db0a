/* SPF (RFC 7208): may this client IP send mail for that domain? Sans-I/O:
 * a check is created from what the receiving server saw (the client's
 * address, the MAIL FROM address, the HELO name), asks its DNS questions
 * one at a time (a name and a type: TXT, A, AAAA or MX), is fed each answer
 * as text (or NXDOMAIN, no data, a temporary failure), and ends with one of
 * the RFC's seven results, the term that decided it and a sentence the
 * narration can use ("ip4:192.0.2.0/24 matched", "-all matched", "more than
 * 10 DNS-querying terms"). The mail layer owns the resolver, its cache and
 * the simulated time the lookups take; this module only decides.
 *
 * Supported (RFC 7208 5, 6, 7): "v=spf1", the mechanisms all, include, a,
 * mx (each with ip4 and ip6 CIDR lengths, "a/24//64"), ip4, ip6, exists and
 * ptr, the qualifiers + - ~ ?, the modifiers redirect= and exp= (exp= is
 * parsed, its macros checked, and then ignored: the explanation a real
 * receiver would fetch for a fail is not looked up), unknown modifiers
 * ignored (6). Macros (7): s l o d i h v p c r t, the digit and "r"
 * transformers and the delimiters . - + , / _ =; %% %_ %- escapes. c, r and
 * t are only allowed in exp= (7.2), which is ignored.
 *
 * Unsupported, and what happens instead: PTR lookups. The ptr mechanism
 * (5.5) counts as a DNS-querying term and never matches, which is what RFC
 * 7208 5.5 prescribes when the PTR lookup fails; %{p} expands to "unknown"
 * (7.3: the domain could not be validated).
 *
 * Limits (4.6.4): at most 10 terms that query DNS (include, a, mx, ptr,
 * exists, redirect), else permerror; at most 2 "void" lookups (NXDOMAIN or
 * no data) in the whole evaluation, else permerror; an mx term whose name
 * has more than 10 MX records is a permerror; an include/redirect loop ends
 * at the 10-term limit. Several "v=spf1" records at one name are a
 * permerror (4.5); a syntax error in a record is a permerror (4.6). A
 * record's size is not limited beyond what DNS carries. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MS_SPF_ERROR (ms_spf_error_quark())
GQuark ms_spf_error_quark(void);

typedef enum {
    MS_SPF_ERROR_SYNTAX,  /* a record or macro-string that breaks RFC 7208 4.6 / 7.1 */
    MS_SPF_ERROR_ADDRESS, /* a client IP that is neither IPv4 nor IPv6 text */
    MS_SPF_ERROR_LIMIT,   /* a macro expansion grew past its bound */
} MsSpfError;

/* RFC 7208 2.6; the order is the RFC's, and none is 0. */
typedef enum {
    MS_SPF_RESULT_NONE = 0,  /* no record, or no usable domain to check */
    MS_SPF_RESULT_NEUTRAL,   /* "?": the domain says nothing about this client */
    MS_SPF_RESULT_PASS,      /* "+": authorised */
    MS_SPF_RESULT_FAIL,      /* "-": not authorised */
    MS_SPF_RESULT_SOFTFAIL,  /* "~": probably not authorised */
    MS_SPF_RESULT_TEMPERROR, /* a DNS lookup failed temporarily */
    MS_SPF_RESULT_PERMERROR, /* the record cannot be used: syntax, limits, several records */
} MsSpfResult;

/* The DNS question types a check asks. */
typedef enum {
    MS_SPF_QUERY_TXT = 0,
    MS_SPF_QUERY_A,
    MS_SPF_QUERY_AAAA,
    MS_SPF_QUERY_MX,
} MsSpfQueryType;

/* How the DNS answered a question. */
typedef enum {
    MS_SPF_ANSWER_RECORDS = 0, /* one or more records, given as text */
    MS_SPF_ANSWER_NODATA,      /* the name exists, no record of that type (RCODE 0, empty) */
    MS_SPF_ANSWER_NXDOMAIN,    /* the name does not exist (RCODE 3) */
    MS_SPF_ANSWER_TEMPFAIL,    /* timeout, SERVFAIL or another temporary error */
} MsSpfAnswer;

/* The limits of RFC 7208 4.6.4. */
#define MS_SPF_MAX_DNS_TERMS 10
#define MS_SPF_MAX_VOID      2
#define MS_SPF_MAX_MX_NAMES  10

typedef struct _MsSpfCheck MsSpfCheck;

/* A check of one identity (RFC 7208 2.4, 4.1). `client_ip` is the SMTP
 * client's address as text, IPv4 ("192.0.2.3") or IPv6 ("2001:db8::cb01";
 * an IPv4-mapped "::ffff:192.0.2.3" is checked as IPv4, 5.6). `sender` is
 * the MAIL FROM address ("user@example.com"; a bare domain is taken as
 * "postmaster@domain", 4.3) or NULL/"" for the null reverse-path, in which
 * case the HELO identity "postmaster@<helo>" is checked (2.4). `helo` is
 * the HELO/EHLO name (may be NULL: %{h} then expands to "unknown").
 * A domain that is not a usable name (empty labels, a label over 63
 * octets, a name over 253, no dot) makes the result none without any
 * question (4.3). Returns NULL with MS_SPF_ERROR_ADDRESS when client_ip
 * does not parse. Returns a new check (caller frees). */
MsSpfCheck *ms_spf_check_new(const char *client_ip, const char *sender, const char *helo,
                             GError **error);
void ms_spf_check_free(MsSpfCheck *check);

/* Sets the receiving host's name for %{r} (7.3; default "unknown") and
 * the time for %{t} (seconds since the epoch; default 0). Both only appear
 * in exp=, which the check parses but does not fetch. Call before the
 * first ms_spf_check_next_query(). */
void ms_spf_check_set_receiver(MsSpfCheck *check, const char *receiver, gint64 now);

/* The question the check waits for: TRUE with *name (lower case, no
 * trailing dot; owned by the check, valid until the next answer) and
 * *type set, or FALSE when the check has finished (then read the result).
 * Calling it again before answering returns the same question. */
gboolean ms_spf_check_next_query(MsSpfCheck *check, const char **name, MsSpfQueryType *type);

/* Feeds the answer to the pending question. With MS_SPF_ANSWER_RECORDS,
 * `records` holds `n_records` NUL-terminated texts, one per record, in the
 * order the DNS gave them:
 *   TXT   the record's character-strings already joined (RFC 7208 3.3);
 *   A     dotted quad, "192.0.2.10";
 *   AAAA  RFC 5952 or any inet_pton form, "2001:db8::10";
 *   MX    "10 mail.example.com" or just "mail.example.com" (0 assumed);
 *         the exchanges are looked up in preference order (5.4).
 * A record that does not parse as its type is skipped (as a resolver
 * would drop it); RECORDS with n_records 0 counts as NODATA. A TXT record
 * holding a NUL octet cannot travel as text: pass it with each NUL
 * replaced by 0x01, which keeps it the syntax error it is (3.1). An answer
 * when no question is pending is a programmer error. */
void ms_spf_check_answer(MsSpfCheck *check, MsSpfAnswer answer, const char *const *records,
                         gsize n_records);

/* Whether the check has a result (ms_spf_check_next_query returned FALSE). */
gboolean ms_spf_check_done(const MsSpfCheck *check);

/* The result once done (MS_SPF_RESULT_NONE before). */
MsSpfResult ms_spf_check_result(const MsSpfCheck *check);

/* The term whose qualifier gave the result, as written with its
 * qualifier when it had one ("ip4:192.0.2.0/24", "-all",
 * "~include:_spf.example.com"; after a redirect=, the term that matched in
 * the target's record), or NULL when no term matched (the default
 * neutral, none, or an error). Owned by the check. */
const char *ms_spf_check_mechanism(const MsSpfCheck *check);

/* One sentence for the narration and for an Authentication-Results reason,
 * such as "ip4:192.0.2.0/24 matched", "-all matched", "include:a.example
 * matched (ip4:192.0.2.0/24 matched at a.example)", "-all matched at
 * _spf.example.com (redirect from example.com)", "no mechanism matched
 * (default neutral, RFC 7208 4.7)", "no SPF record at example.com", "2 SPF
 * records at example.com (RFC 7208 4.5)", "more than 10 DNS-querying terms
 * (RFC 7208 4.6.4)", "more than 2 void lookups (RFC 7208 4.6.4)", "syntax
 * error in the SPF record at example.com: unknown mechanism \"foo\"",
 * "DNS temporary failure for TXT example.com". Owned by the check; ""
 * before the check is done. */
const char *ms_spf_check_explanation(const MsSpfCheck *check);

/* The domain checked (from MAIL FROM, or the HELO name), lower case, and
 * whether it came from HELO (the Authentication-Results property is then
 * smtp.helo rather than smtp.mailfrom). Owned by the check. */
const char *ms_spf_check_domain(const MsSpfCheck *check);
gboolean ms_spf_check_is_helo(const MsSpfCheck *check);

/* How many DNS-querying terms (4.6.4) and void lookups the check counted
 * so far, and how many questions it asked in all. */
guint ms_spf_check_dns_terms(const MsSpfCheck *check);
guint ms_spf_check_void_lookups(const MsSpfCheck *check);
guint ms_spf_check_queries(const MsSpfCheck *check);

/* A synchronous driver for tests, tools and callers that have the answers
 * at hand: asks `lookup` each question until the check is done and returns
 * the result. `lookup` appends the answer texts (char *, the array owns
 * them with g_free) to `records` and returns the answer kind. */
typedef MsSpfAnswer (*MsSpfLookupFunc)(const char *name, MsSpfQueryType type, GPtrArray *records,
                                       gpointer user_data);
MsSpfResult ms_spf_check_run(MsSpfCheck *check, MsSpfLookupFunc lookup, gpointer user_data);

/* Whether a TXT text is an SPF record: "v=spf1" (any case) alone or
 * followed by a space (4.5). */
gboolean ms_spf_record_is_spf(const char *text);

/* Parses an SPF record's syntax (4.5, 4.6, 5, 6, and the macro-strings of
 * 7.1) without evaluating it, for a scenario's validation. Returns TRUE,
 * or FALSE with MS_SPF_ERROR_SYNTAX naming the first bad term. Also
 * stores, when `dns_terms` is not NULL, how many terms in it would query
 * DNS (a record with more than 10 is valid syntax but always permerror). */
gboolean ms_spf_record_validate(const char *text, guint *dns_terms, GError **error);

/* What the macros of 7.3 expand from. Strings may be NULL ("" for the
 * sender parts, "unknown" for helo and receiver). `domain` is the
 * <domain> of the check_host() being evaluated; `client_ip` is text. */
typedef struct {
    const char *sender;    /* "strong-bad@email.example.com" */
    const char *domain;    /* "email.example.com" */
    const char *client_ip; /* "192.0.2.3" or "2001:db8::cb01" */
    const char *helo;      /* HELO/EHLO name */
    const char *receiver;  /* %{r} */
    gint64 now;            /* %{t} */
} MsSpfMacroContext;

/* Expands a macro-string (RFC 7208 7): "%{ir}.%{v}._spf.%{d2}" ->
 * "3.2.0.192.in-addr._spf.example.com". `in_exp` allows c, r and t (7.2)
 * and makes the result a text rather than a domain-spec. A domain-spec
 * result longer than 253 octets is cut from the left, label by label,
 * as 7.3 says. Returns a new string (caller frees), or NULL with
 * MS_SPF_ERROR_SYNTAX (a bad macro) or MS_SPF_ERROR_ADDRESS (a bad
 * client_ip, when %{i}, %{c} or %{v} needs it). */
char *ms_spf_macro_expand(const char *macro_string, const MsSpfMacroContext *ctx, gboolean in_exp,
                          GError **error);

/* Static names: "none", "neutral", "pass", "fail", "softfail",
 * "temperror", "permerror" (the RFC 8601 result words). */
const char *ms_spf_result_to_string(MsSpfResult result);
/* "TXT", "A", "AAAA", "MX". */
const char *ms_spf_query_type_to_string(MsSpfQueryType type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsSpfCheck, ms_spf_check_free)

G_END_DECLS

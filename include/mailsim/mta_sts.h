/* MTA-STS (RFC 8461): a recipient domain's promise that its MX hosts speak
 * TLS with certificates valid for their names. Sans-I/O: the mail layer
 * looks up the TXT record at "_mta-sts.<domain>" and obtains the policy
 * document (which the real world fetches over HTTPS from
 * https://mta-sts.<domain>/.well-known/mta-sts.txt, RFC 8461 3.3, and a
 * scenario states directly); this module parses both and answers whether
 * an MX host is one the policy names.
 *
 * Parsing follows the ABNF of RFC 8461 3.1 and 3.2 and refuses what it
 * does not allow, with the reason and, for a policy, "source:line:"; a
 * sender that meets an invalid record or policy acts as if the domain had
 * none (RFC 8461 3.1, 3.2), which is the caller's decision to narrate. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MS_MTA_STS_ERROR (ms_mta_sts_error_quark())
GQuark ms_mta_sts_error_quark(void);

typedef enum {
    MS_MTA_STS_ERROR_RECORD,    /* a TXT record that breaks RFC 8461 3.1 */
    MS_MTA_STS_ERROR_NO_RECORD, /* no STSv1 TXT record, or more than one */
    MS_MTA_STS_ERROR_POLICY,    /* a policy document that breaks RFC 8461 3.2 */
} MsMtaStsError;

typedef enum {
    MS_MTA_STS_MODE_NONE = 0, /* the domain withdraws its policy */
    MS_MTA_STS_MODE_TESTING,  /* report failures, deliver anyway */
    MS_MTA_STS_MODE_ENFORCE,  /* deliver only to a matching MX over valid TLS */
} MsMtaStsMode;

/* A parsed policy (RFC 8461 3.2). `mx` holds the patterns in document
 * order, lower-cased ("mail.example.com", "*.example.net"). */
typedef struct {
    MsMtaStsMode mode;
    guint32 max_age; /* seconds, at most MS_MTA_STS_MAX_AGE_LIMIT */
    GPtrArray *mx;   /* of char *, owned */
} MsMtaStsPolicy;

/* The largest max_age RFC 8461 3.2 allows (about one year). */
#define MS_MTA_STS_MAX_AGE_LIMIT 31557600u
/* The largest policy document we read, in octets (our bound; RFC 8461 3.3
 * leaves the fetch's limits to the sender). */
#define MS_MTA_STS_POLICY_MAX (64 * 1024)

/* Parses the value of one TXT record (its strings already joined, e.g. by
 * ms_dns_record_txt_join), "v=STSv1; id=20160831085700Z;" (RFC 8461 3.1):
 * "v=STSv1" first, then fields separated by ";" with optional spaces or
 * tabs around it, an "id" of 1 to 32 letters and digits exactly once,
 * other fields of the extension syntax ignored. Returns the id (caller
 * frees), or NULL with MS_MTA_STS_ERROR_RECORD saying what is wrong. */
char *ms_mta_sts_record_parse(const char *text, gsize len, GError **error);

/* Picks the policy record among the TXT values found at "_mta-sts.<domain>"
 * (RFC 8461 3.1: values not starting with "v=STSv1" are discarded, and
 * exactly one must remain) and parses it. `values` holds GBytes *. Returns
 * the id (caller frees), or NULL with MS_MTA_STS_ERROR_NO_RECORD (none, or
 * several) or MS_MTA_STS_ERROR_RECORD. */
char *ms_mta_sts_record_select(const GPtrArray *values, GError **error);

/* Parses a policy document of `len` octets (RFC 8461 3.2): lines "key:
 * value" ended by LF or CRLF (a last line without either is fine), keys
 * "version" (must be "STSv1"), "mode" ("enforce", "testing" or "none"),
 * "max_age" (1 to 10 digits, at most MS_MTA_STS_MAX_AGE_LIMIT) and "mx"
 * (repeatable, a host name with an optional leading "*."), other keys of
 * the extension syntax ignored. version, mode and max_age are required
 * once each, and at least one mx unless the mode is "none". Blank lines
 * are tolerated. On error returns NULL with MS_MTA_STS_ERROR_POLICY, whose
 * message lists every problem found, one per line, each as
 * "source:line: what" (`source` names the document, e.g. its URL or the
 * scenario file). Returns a new policy (caller frees). */
MsMtaStsPolicy *ms_mta_sts_policy_parse(const char *text, gsize len, const char *source,
                                        GError **error);
void ms_mta_sts_policy_free(MsMtaStsPolicy *policy);

/* The policy as a document, CRLF-ended lines in the order version, mode,
 * mx..., max_age, as a domain would publish it (caller frees). */
char *ms_mta_sts_policy_to_text(const MsMtaStsPolicy *policy);

/* RFC 8461 4.1: does the MX host `host` match `pattern`? Names compare
 * without regard to case and a trailing dot; "*.example.net" matches
 * exactly one leftmost label ("mx1.example.net", not "example.net" nor
 * "a.b.example.net"). */
gboolean ms_mta_sts_mx_matches(const char *pattern, const char *host);

/* Whether any of the policy's mx patterns matches `host`. */
gboolean ms_mta_sts_policy_allows(const MsMtaStsPolicy *policy, const char *host);

/* Static names: "none", "testing", "enforce". */
const char *ms_mta_sts_mode_to_string(MsMtaStsMode mode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsMtaStsPolicy, ms_mta_sts_policy_free)

G_END_DECLS

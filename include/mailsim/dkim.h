/* DomainKeys Identified Mail (RFC 6376, with Ed25519 from RFC 8463 and the
 * algorithm floor of RFC 8301), sans I/O. A signing domain's outbound
 * server signs a message with a private key whose public half it publishes
 * as a TXT record at "<selector>._domainkey.<domain>"; a receiver finds the
 * DKIM-Signature header fields of a message, asks the caller for each
 * key record (the caller owns DNS, and may own a key cache), and gets a
 * result per signature in RFC 8601's words (pass, fail, neutral,
 * temperror, permerror), with the d=, s= and b= an Authentication-Results
 * header field names.
 *
 * Pieces, lowest first: tag-lists (RFC 6376 3.2, also the syntax of DMARC
 * records), the DKIM-Signature header field and key records parsed into
 * structs, canonicalisation (RFC 6376 3.4), signing keys (generated from a
 * seeded stream or read from PEM/DER), signing, and the verifier.
 *
 * Messages are RFC 5322 octets: header fields, an empty line, the body.
 * Lines end in CRLF; a bare LF is read as a line end too (a message kept
 * with Unix line ends verifies as it would on the wire), a bare CR is
 * data. Cryptography (SHA-256, RSA PKCS#1 v1.5, Ed25519) is nettle's and
 * hogweed's, PEM and DER keys are read and written by GnuTLS. */
#pragma once

#include <glib.h>
#include "mailsim/rng.h"

G_BEGIN_DECLS

#define MS_DKIM_ERROR (ms_dkim_error_quark())
GQuark ms_dkim_error_quark(void);

typedef enum {
    MS_DKIM_ERROR_SYNTAX,      /* a tag-list, signature or key record breaking RFC 6376 */
    MS_DKIM_ERROR_UNSUPPORTED, /* well-formed but not something we verify (a=rsa-sha1, q=...) */
    MS_DKIM_ERROR_KEY,         /* a key that cannot be read, is revoked, or is too weak */
    MS_DKIM_ERROR_CRYPTO,      /* the library refused to generate, sign or encode */
} MsDkimError;

/* Signing algorithms (RFC 6376 3.3, RFC 8463 3). rsa-sha1 is recognised
 * only to be refused (RFC 8301 3.1). */
typedef enum {
    MS_DKIM_ALG_RSA_SHA256 = 0,
    MS_DKIM_ALG_ED25519_SHA256,
} MsDkimAlg;

/* "rsa-sha256", "ed25519-sha256". */
const char *ms_dkim_alg_to_string(MsDkimAlg alg);

/* Canonicalisation algorithms (RFC 6376 3.4). */
typedef enum {
    MS_DKIM_CANON_SIMPLE = 0,
    MS_DKIM_CANON_RELAXED,
} MsDkimCanon;

/* "simple", "relaxed". */
const char *ms_dkim_canon_to_string(MsDkimCanon canon);

/* A verification result, named as RFC 8601 2.7.1 names DKIM's results.
 * NONE is the message's result when it carries no signature; a signature
 * itself is never NONE. */
typedef enum {
    MS_DKIM_RESULT_NONE = 0,
    MS_DKIM_RESULT_PASS,
    MS_DKIM_RESULT_FAIL,      /* the body hash or the signature did not verify */
    MS_DKIM_RESULT_NEUTRAL,   /* failed, but the key is in testing mode (t=y) */
    MS_DKIM_RESULT_TEMPERROR, /* the key could not be fetched for now */
    MS_DKIM_RESULT_PERMERROR, /* malformed signature or key, no key, revoked, expired */
} MsDkimResult;

/* "none", "pass", "fail", "neutral", "temperror", "permerror". */
const char *ms_dkim_result_to_string(MsDkimResult result);

/* --- tag-lists (RFC 6376 3.2) ------------------------------------------- */

typedef struct _MsDkimTagList MsDkimTagList;

/* Parses "tag=value; tag=value" as RFC 6376 3.2 defines it: names are
 * ALPHA *(ALPHA / DIGIT / "_"), compared case-sensitively; values lose
 * their leading and trailing folding white space and keep inner white
 * space; a trailing ";" is allowed; a name given twice makes the whole
 * list invalid. Returns the list, or NULL with MS_DKIM_ERROR_SYNTAX
 * naming the offending tag or offset. Caller frees. */
MsDkimTagList *ms_dkim_tag_list_parse(const char *text, gsize len, GError **error);
void ms_dkim_tag_list_free(MsDkimTagList *list);
/* Number of tags, in the order written. */
guint ms_dkim_tag_list_size(const MsDkimTagList *list);
/* Name and value of tag i (< size); the strings belong to the list. */
const char *ms_dkim_tag_list_name(const MsDkimTagList *list, guint i);
const char *ms_dkim_tag_list_value(const MsDkimTagList *list, guint i);
/* The value of the tag named `name`, or NULL when absent. */
const char *ms_dkim_tag_list_lookup(const MsDkimTagList *list, const char *name);

/* --- the DKIM-Signature header field (RFC 6376 3.5) --------------------- */

/* A parsed DKIM-Signature. Strings and arrays are owned by the struct. */
typedef struct {
    MsDkimAlg alg;            /* a= */
    MsDkimCanon header_canon; /* c=, before the "/" */
    MsDkimCanon body_canon;   /* c=, after it ("simple" when absent) */
    char *domain;             /* d=, lower-cased */
    char *selector;           /* s=, as written */
    char *identity;           /* i=, or "@" + d= when absent */
    char **headers;           /* h=, NULL-terminated, lower-cased, in order */
    GBytes *body_hash;        /* bh=, decoded */
    GBytes *signature;        /* b=, decoded */
    char *b_text;             /* b= as base64 without white space (for header.b) */
    gint64 body_length;       /* l=, or -1 */
    gint64 timestamp;         /* t=, or -1 */
    gint64 expiration;        /* x=, or -1 */
} MsDkimSignature;

/* Parses the value of a DKIM-Signature header field (what follows the
 * colon, folding included) and applies RFC 6376 3.5 and 6.1.1: v=1; a=,
 * b=, bh=, d=, h=, s= present; h= names From; i= within d= (equal or a
 * subdomain); x= not before t=; q= absent or naming dns/txt; unknown tags
 * ignored. Returns NULL with MS_DKIM_ERROR_SYNTAX (or _UNSUPPORTED for
 * a=rsa-sha1, an unknown algorithm or query method) and the reason, which
 * the verifier reports as the permerror's reason. Caller frees. */
MsDkimSignature *ms_dkim_signature_parse(const char *value, gsize len, GError **error);
void ms_dkim_signature_free(MsDkimSignature *sig);

/* --- key records (RFC 6376 3.6.1, RFC 8463 4) --------------------------- */

typedef enum {
    MS_DKIM_KEY_RSA = 0,
    MS_DKIM_KEY_ED25519,
} MsDkimKeyType;

/* A public key record, parsed and its key imported, ready to verify with.
 * Immutable after parsing, so a receiver may cache it by query name and
 * hand the same key to many verifications. */
typedef struct _MsDkimKey MsDkimKey;

/* Parses a key record (the TXT strings already joined, RFC 6376 3.6.2.2):
 * v=DKIM1 first when present; k=rsa (default) or ed25519; h= when present
 * must allow sha256; s= when present must include "*" or "email"; t= flags
 * y (testing) and s (i= must equal d=); p= required, empty meaning revoked
 * (RFC 6376 3.6.1). An RSA p= may be SubjectPublicKeyInfo (what openssl
 * and opendkim-genkey publish) or a bare RSAPublicKey; it must be at least
 * 1024 bits (RFC 8301 3.2). An ed25519 p= is the 32 raw octets (RFC 8463
 * 4.2). Returns NULL with MS_DKIM_ERROR_SYNTAX, _UNSUPPORTED or _KEY (a
 * revoked, unreadable or short key) and the reason. Caller frees. */
MsDkimKey *ms_dkim_key_parse(const char *txt, gsize len, GError **error);
void ms_dkim_key_free(MsDkimKey *key);
MsDkimKeyType ms_dkim_key_type(const MsDkimKey *key);
/* t=y: the domain is testing DKIM (a failure reads as neutral). */
gboolean ms_dkim_key_testing(const MsDkimKey *key);
/* Key size in bits (RSA modulus; 256 for Ed25519). */
guint ms_dkim_key_bits(const MsDkimKey *key);

/* "<selector>._domainkey.<domain>", the name to query for TXT (RFC 6376
 * 3.6.2.1). Caller frees. */
char *ms_dkim_query_name(const char *selector, const char *domain);

/* --- canonicalisation (RFC 6376 3.4) ------------------------------------ */

/* One header field as signed: `field` is the whole field as it appears in
 * the message ("Name: value", folding included, without its final CRLF).
 * simple keeps it as it is; relaxed lower-cases the name, unfolds, reduces
 * runs of spaces and tabs to one space, and drops white space at the end
 * of the value and around the colon. The result ends in CRLF. Caller
 * frees. */
char *ms_dkim_canon_header(MsDkimCanon canon, const char *field, gsize len);

/* The canonical body (RFC 6376 3.4.3, 3.4.4): simple drops empty lines at
 * the end and ends the body in CRLF ("\r\n" for an empty body); relaxed
 * also drops spaces and tabs at line ends and reduces runs of them to one
 * space, and leaves an empty body empty. Returns the bytes (caller
 * unrefs). */
GBytes *ms_dkim_canon_body(MsDkimCanon canon, const char *body, gsize len);

/* SHA-256 of the canonical body, or of its first `length` octets when
 * length >= 0 (l=, RFC 6376 3.5). Returns FALSE, leaving out untouched,
 * when the canonical body is shorter than length. */
gboolean ms_dkim_body_hash(MsDkimCanon canon, const char *body, gsize len, gint64 length,
                           guint8 out[32]);

/* --- signing keys -------------------------------------------------------- */

/* A private key with its public half. */
typedef struct _MsDkimSigningKey MsDkimSigningKey;

/* Generates a key from rng (deterministic: the same stream state gives
 * the same key): Ed25519 from a 32-octet seed; RSA of `bits` (1024 to
 * 4096, 0 meaning 2048) by nettle's rsa_generate_keypair drawing from rng,
 * public exponent 65537. RSA-2048 takes tens of milliseconds. `bits` is
 * ignored for Ed25519. Returns NULL with MS_DKIM_ERROR_KEY for a size out
 * of range, MS_DKIM_ERROR_CRYPTO on a library failure. Caller frees. */
MsDkimSigningKey *ms_dkim_signing_key_generate(MsDkimAlg alg, guint bits, MsRng *rng,
                                               GError **error);

/* Reads a private key given in a scenario: PEM or DER, PKCS#1 ("RSA
 * PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"), RSA (1024 bits or more) or
 * Ed25519, by GnuTLS. Returns NULL with MS_DKIM_ERROR_KEY and GnuTLS's
 * reason. Caller frees. */
MsDkimSigningKey *ms_dkim_signing_key_load(const guint8 *data, gsize len, GError **error);
void ms_dkim_signing_key_free(MsDkimSigningKey *key);

/* The algorithm this key signs with. */
MsDkimAlg ms_dkim_signing_key_alg(const MsDkimSigningKey *key);
guint ms_dkim_signing_key_bits(const MsDkimSigningKey *key);

/* The p= value to publish (base64 without white space): an RSA key's
 * SubjectPublicKeyInfo DER, an Ed25519 key's 32 octets. Caller frees. */
char *ms_dkim_signing_key_public_b64(const MsDkimSigningKey *key);

/* The whole TXT record to publish: "v=DKIM1; k=rsa; p=..." or
 * "v=DKIM1; k=ed25519; p=...". Longer than 255 octets for RSA-2048, so
 * the DNS layer splits it into several strings. Caller frees. */
char *ms_dkim_signing_key_record(const MsDkimSigningKey *key);

/* The private key as PKCS#8 PEM (for a scenario to keep, or a test's
 * independent verifier). Returns NULL with MS_DKIM_ERROR_CRYPTO on a
 * GnuTLS failure. Caller frees. */
char *ms_dkim_signing_key_to_pem(const MsDkimSigningKey *key, GError **error);

/* --- signing (RFC 6376 5) ------------------------------------------------ */

typedef struct {
    const char *domain;         /* d=, required */
    const char *selector;       /* s=, required */
    MsDkimCanon header_canon;   /* default relaxed */
    MsDkimCanon body_canon;     /* default relaxed */
    const char *const *headers; /* names to sign; NULL: the default set */
    gboolean oversign_from;     /* default TRUE: "from" once more in h= */
    const char *identity;       /* i=, NULL for none */
    gint64 timestamp;           /* t=, -1 for none (default) */
    gint64 expiration;          /* x=, -1 for none (default) */
} MsDkimSignOptions;

/* Fills opt with the defaults above for domain and selector (the strings
 * are borrowed). The default header set is RFC 6376 5.4.1's usual one:
 * from, to, cc, subject, date, message-id, reply-to, in-reply-to,
 * references, mime-version, content-type; of these the signature names
 * each instance the message has (RFC 6376 5.4.2, bottom-up), and "from"
 * one extra time, which, as RFC 6376 8.15 explains, makes a From field
 * added later on the way break the signature. */
void ms_dkim_sign_options_init(MsDkimSignOptions *opt, const char *domain, const char *selector);

/* Signs a message (header fields, empty line, body) and returns the
 * DKIM-Signature header field to put on top of it: "DKIM-Signature: v=1;
 * a=...", folded below 78 columns with CRLF + TAB, ending in CRLF. No l=
 * (RFC 6376 8.2). Returns NULL with MS_DKIM_ERROR_SYNTAX for a message
 * without a From field or options without domain or selector, and
 * MS_DKIM_ERROR_CRYPTO on a library failure. Caller frees. */
char *ms_dkim_sign(const MsDkimSigningKey *key, const MsDkimSignOptions *opt, const char *message,
                   gsize len, GError **error);

/* --- verification (RFC 6376 6) ------------------------------------------ */

/* How the caller's DNS query for a key ended. */
typedef enum {
    MS_DKIM_DNS_OK = 0,   /* a TXT record: pass its strings joined */
    MS_DKIM_DNS_NONE,     /* NXDOMAIN, or no TXT record at the name: permerror */
    MS_DKIM_DNS_TEMPFAIL, /* a timeout or SERVFAIL: temperror (RFC 6376 6.1.2) */
} MsDkimDnsStatus;

/* The verifier of one message. */
typedef struct _MsDkimVerifier MsDkimVerifier;

/* The verifier's default bound on signatures evaluated per message
 * (RFC 6376 6.1 lets a verifier limit them; signatures beyond it are not
 * reported). */
#define MS_DKIM_MAX_SIGNATURES 5

/* Starts verifying `message` (copied): finds its DKIM-Signature fields,
 * top first, at most max_signatures of them (0: MS_DKIM_MAX_SIGNATURES),
 * and parses each; one that does not parse is already decided
 * (permerror). `now` is the receiver's Unix time for x= (-1: do not check
 * expiry). Caller frees. */
MsDkimVerifier *ms_dkim_verifier_new(const char *message, gsize len, guint max_signatures,
                                     gint64 now);
void ms_dkim_verifier_free(MsDkimVerifier *v);

/* Signatures found (at most the bound). 0 means the message's result is
 * none. */
guint ms_dkim_verifier_count(const MsDkimVerifier *v);

/* The TXT query signature i (< count) waits for, "<s>._domainkey.<d>",
 * or NULL when it needs none (already decided). The string belongs to v.
 * Several signatures may share a name: answer each. */
const char *ms_dkim_verifier_query(const MsDkimVerifier *v, guint i);

/* Answers signature i's query: for MS_DKIM_DNS_OK `txt` holds the record
 * (strings joined), otherwise it is ignored (may be NULL). RFC 6376
 * 3.6.2.2 leaves several TXT records at one name undefined: the caller
 * passes one (the first). Parses the key and decides the signature. A signature already decided is left as it
 * is. */
void ms_dkim_verifier_answer(MsDkimVerifier *v, guint i, MsDkimDnsStatus status, const char *txt,
                             gsize len);

/* The same with a key the caller already holds (its cache, filled from
 * ms_dkim_key_parse): decides signature i at once; the key is only
 * borrowed for the call. */
void ms_dkim_verifier_answer_key(MsDkimVerifier *v, guint i, const MsDkimKey *key);

/* Signature i's result: NONE while it still waits for its key, then one
 * of RFC 8601's results. *reason (may be NULL) gets a short text for a
 * result other than pass ("body hash did not verify", "signature did not
 * verify", "key revoked", ...), NULL for pass; it belongs to v. */
MsDkimResult ms_dkim_verifier_result(const MsDkimVerifier *v, guint i, const char **reason);

/* Signature i parsed, or NULL when its header field did not parse (its
 * result is then permerror). Belongs to v. */
const MsDkimSignature *ms_dkim_verifier_signature(const MsDkimVerifier *v, guint i);

/* The RFC 8601 method result for signature i, for an
 * Authentication-Results header field: "dkim=pass header.d=example.com
 * header.s=sel header.b=AbCdEfGh" (the first 8 characters of b=, as
 * RFC 6008 allows), with reason="..." after the result when not pass, and without the
 * properties the signature did not supply. Caller frees. */
char *ms_dkim_verifier_result_text(const MsDkimVerifier *v, guint i);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDkimTagList, ms_dkim_tag_list_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDkimSignature, ms_dkim_signature_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDkimKey, ms_dkim_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDkimSigningKey, ms_dkim_signing_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDkimVerifier, ms_dkim_verifier_free)

G_END_DECLS

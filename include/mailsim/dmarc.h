/* DMARC (RFC 7489): does the domain in a message's From: header agree
 * with what SPF and DKIM authenticated, and what does that domain ask a
 * receiver to do when it does not? Sans-I/O, in three steps:
 *
 *   1. policy discovery (6.6.3): an MsDmarcLookup asks for the TXT records
 *      at "_dmarc.<From domain>", and when there is none, at
 *      "_dmarc.<organisational domain>" (from the public suffix list,
 *      psl.h); the mail layer answers from its resolver;
 *   2. the record (6.3): parsed into an MsDmarcRecord;
 *   3. evaluation (3.1, 6.6.2, 6.6.4): identifier alignment, relaxed or
 *      strict, of the SPF-authenticated domain and of every DKIM d= that
 *      verified, the result pass or fail, the policy that applies (p, or
 *      sp for a subdomain covered by its organisation's record) and the
 *      disposition after pct sampling, drawn by the caller (deterministic).
 *
 * Choices where the RFC leaves room: a record's tags other than v and p
 * that do not parse fall back to their defaults with a warning (6.3: "syntax
 * errors in the remainder of the record SHOULD be discarded in favor of
 * default values"); a record whose p is missing or invalid is used as
 * p=none when it has a valid rua, and is otherwise a permerror (6.6.3);
 * several DMARC records at one name, a permerror (6.6.3 step 5 says no
 * DMARC processing; RFC 8601's permerror says why in the header); a DNS
 * temporary failure during discovery, temperror. */
#pragma once

#include <glib.h>
#include "mailsim/psl.h"
#include "mailsim/spf.h"

G_BEGIN_DECLS

#define MS_DMARC_ERROR (ms_dmarc_error_quark())
GQuark ms_dmarc_error_quark(void);

typedef enum {
    MS_DMARC_ERROR_NOT_DMARC, /* the text does not start with "v=DMARC1" (discarded, 6.6.3) */
    MS_DMARC_ERROR_INVALID,   /* v=DMARC1, but no usable p and no valid rua (6.6.3) */
} MsDmarcError;

/* p= and sp= (6.3), also the disposition a receiver applies. */
typedef enum {
    MS_DMARC_POLICY_NONE = 0,
    MS_DMARC_POLICY_QUARANTINE,
    MS_DMARC_POLICY_REJECT,
} MsDmarcPolicy;

/* adkim= and aspf= (3.1.1, 3.1.2). */
typedef enum {
    MS_DMARC_ALIGN_RELAXED = 0, /* "r": the same organisational domain */
    MS_DMARC_ALIGN_STRICT,      /* "s": exactly the same domain */
} MsDmarcAlignment;

/* RFC 7489 11.2's result words for Authentication-Results. */
typedef enum {
    MS_DMARC_RESULT_NONE = 0,  /* no policy published */
    MS_DMARC_RESULT_PASS,      /* SPF or DKIM passed and aligned */
    MS_DMARC_RESULT_FAIL,      /* neither did */
    MS_DMARC_RESULT_TEMPERROR, /* discovery met a temporary DNS failure */
    MS_DMARC_RESULT_PERMERROR, /* a record that cannot be used */
} MsDmarcResult;

/* A parsed record (RFC 7489 6.3), defaults filled in. */
typedef struct {
    MsDmarcPolicy p;
    MsDmarcPolicy sp;       /* p when the record has no (valid) sp */
    gboolean sp_given;      /* the record named sp itself */
    gboolean p_assumed;     /* p missing or invalid, taken as none for a valid rua (6.6.3) */
    MsDmarcAlignment adkim; /* default relaxed */
    MsDmarcAlignment aspf;  /* default relaxed */
    guint pct;              /* 0..100, default 100 */
    GPtrArray *rua;         /* char *: the valid URIs as written ("mailto:d@ex.com!10m") */
    GPtrArray *ruf;         /* char *: likewise */
    char *fo;               /* "0" by default; a colon list of 0 1 d s */
    char *rf;               /* "afrf" by default */
    guint32 ri;             /* seconds, default 86400 */
    GPtrArray *warnings;    /* char *: each tag ignored and why, in record order */
} MsDmarcRecord;

/* Parses one TXT text (its strings joined). "v=DMARC1" must be the first
 * tag (6.4: exactly, case-sensitive value); tag names are
 * case-insensitive, values of p, sp, adkim, aspf likewise; unknown tags are
 * ignored (6.3). Returns a new record (caller frees), or NULL with
 * MS_DMARC_ERROR_NOT_DMARC or MS_DMARC_ERROR_INVALID. */
MsDmarcRecord *ms_dmarc_record_parse(const char *text, GError **error);
void ms_dmarc_record_free(MsDmarcRecord *record);

/* The record as a DMARC TXT text with every tag explicit, in the order v
 * p sp adkim aspf pct fo rf ri rua ruf (caller frees). */
char *ms_dmarc_record_to_string(const MsDmarcRecord *record);

/* Identifier alignment (3.1.1, 3.1.2): strict, the two names are equal
 * (case-insensitive, trailing dot ignored); relaxed, their organisational
 * domains under `psl` are equal. FALSE when either name is NULL or empty. */
gboolean ms_dmarc_aligned(const MsPsl *psl, const char *from_domain, const char *auth_domain,
                          MsDmarcAlignment mode);

/* How a DNS question of the lookup was answered (see MsSpfAnswer). */
typedef MsSpfAnswer MsDmarcAnswer;

typedef enum {
    MS_DMARC_LOOKUP_PENDING = 0, /* a question is waiting for its answer */
    MS_DMARC_LOOKUP_FOUND,       /* a usable record (ms_dmarc_lookup_record) */
    MS_DMARC_LOOKUP_NONE,        /* no record at either name: result none */
    MS_DMARC_LOOKUP_TEMPERROR,   /* a temporary DNS failure */
    MS_DMARC_LOOKUP_PERMERROR,   /* several records, or an invalid one */
} MsDmarcLookupStatus;

typedef struct _MsDmarcLookup MsDmarcLookup;

/* Policy discovery for the RFC5322.From domain `from_domain` (6.6.3),
 * with organisational domains from `psl`, which must outlive the lookup.
 * Returns a new lookup (caller frees); a malformed domain ends at once
 * with MS_DMARC_LOOKUP_NONE. */
MsDmarcLookup *ms_dmarc_lookup_new(const char *from_domain, const MsPsl *psl);
void ms_dmarc_lookup_free(MsDmarcLookup *lookup);

/* The TXT question waiting ("_dmarc.example.com"; owned by the lookup,
 * valid until the next answer): TRUE, or FALSE when discovery is over. */
gboolean ms_dmarc_lookup_next_query(MsDmarcLookup *lookup, const char **name);

/* Feeds the answer to the pending TXT question: the records' texts, each
 * one TXT record's strings joined. */
void ms_dmarc_lookup_answer(MsDmarcLookup *lookup, MsDmarcAnswer answer, const char *const *records,
                            gsize n_records);

MsDmarcLookupStatus ms_dmarc_lookup_status(const MsDmarcLookup *lookup);
/* The record found (FOUND only; owned by the lookup), else NULL. */
const MsDmarcRecord *ms_dmarc_lookup_record(const MsDmarcLookup *lookup);
/* The From domain and its organisational domain (lower case), and the
 * domain whose "_dmarc" record was used (NULL unless FOUND). Owned by the
 * lookup. */
const char *ms_dmarc_lookup_from_domain(const MsDmarcLookup *lookup);
const char *ms_dmarc_lookup_org_domain(const MsDmarcLookup *lookup);
const char *ms_dmarc_lookup_policy_domain(const MsDmarcLookup *lookup);
/* A sentence on how discovery ended ("record at _dmarc.example.com",
 * "no DMARC record at _dmarc.a.example.com nor _dmarc.example.com", "2
 * DMARC records at _dmarc.example.com", "DNS temporary failure for
 * _dmarc.example.com"). Owned by the lookup. */
const char *ms_dmarc_lookup_explanation(const MsDmarcLookup *lookup);

/* What the receiver learnt from SPF and DKIM about one message. */
typedef struct {
    const char *from_domain;         /* RFC5322.From domain */
    MsSpfResult spf;                 /* SPF's result for ... */
    const char *spf_domain;          /* ... this domain (MAIL FROM's, or HELO's for <>) */
    const char *const *dkim_domains; /* d= of each DKIM signature that verified (pass) */
    gsize n_dkim;
    guint pct_draw; /* uniform in [0, 100), e.g. ms_rng_below(rng, 100):
                     * the policy applies when pct_draw < pct (6.6.4) */
} MsDmarcInput;

/* The verdict on one message. */
typedef struct {
    MsDmarcResult result;
    gboolean spf_aligned;      /* SPF passed for a domain aligned with From */
    gboolean dkim_aligned;     /* some verified d= is aligned with From */
    char *dkim_domain;         /* the first aligned verified d=, or NULL */
    MsDmarcPolicy policy;      /* the requested policy: p, or sp for a subdomain */
    MsDmarcPolicy disposition; /* what to do: none on pass; on fail the policy,
                                * or the next milder one when sampled out */
    gboolean sampled_out;      /* failed, but the pct draw spared it (6.6.4) */
    char *reason;              /* one sentence for narration and the AR header */
} MsDmarcOutcome;

/* Evaluates `in` against `record` (3.1, 6.6.2, 6.6.4). `subdomain` says
 * the record was found at the organisational domain for a From domain
 * below it, so sp applies. Fills `out` (release with
 * ms_dmarc_outcome_clear). */
void ms_dmarc_evaluate(const MsDmarcRecord *record, gboolean subdomain, const MsPsl *psl,
                       const MsDmarcInput *in, MsDmarcOutcome *out);

/* The whole verdict after discovery: none, temperror and permerror from
 * the lookup's status, else ms_dmarc_evaluate with the record and the
 * subdomain rule the lookup found. `in->from_domain` may be NULL (the
 * lookup's is used). The lookup must be over. */
void ms_dmarc_lookup_evaluate(const MsDmarcLookup *lookup, const MsDmarcInput *in,
                              MsDmarcOutcome *out);

void ms_dmarc_outcome_clear(MsDmarcOutcome *out);

/* Static names: "none", "quarantine", "reject"; "r", "s"; "none",
 * "pass", "fail", "temperror", "permerror". */
const char *ms_dmarc_policy_to_string(MsDmarcPolicy policy);
const char *ms_dmarc_alignment_to_string(MsDmarcAlignment mode);
const char *ms_dmarc_result_to_string(MsDmarcResult result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDmarcRecord, ms_dmarc_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDmarcLookup, ms_dmarc_lookup_free)

G_END_DECLS

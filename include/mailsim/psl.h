/* The public suffix list: which names are registries ("com", "co.uk")
 * rather than organisations, so that DMARC can find a domain's
 * organisational domain (RFC 7489 3.2: the public suffix plus one label).
 *
 * Two sources, both in the list's own format (one rule a line, "//"
 * comments, "*." wildcards, "!" exceptions; publicsuffix.org's algorithm:
 * the longest matching rule wins, an exception beats a wildcard, and an
 * unlisted top-level name counts as a suffix by the implicit "*" rule):
 * a small list compiled into the library for the simulated world's TLDs
 * (example, test, invalid, com, net, org, edu, a few country codes with
 * their second-level registries), and Debian's full list
 * (/usr/share/publicsuffix/public_suffix_list.dat, package publicsuffix)
 * when it is installed. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MS_PSL_ERROR (ms_psl_error_quark())
GQuark ms_psl_error_quark(void);

typedef enum {
    MS_PSL_ERROR_READ,  /* the file could not be read */
    MS_PSL_ERROR_PARSE, /* a rule that is not a name ("source:line: why") */
} MsPslError;

/* Where Debian's publicsuffix package puts the list. */
#define MS_PSL_SYSTEM_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

typedef struct _MsPsl MsPsl;

/* The list compiled into the library (always succeeds). Caller frees. */
MsPsl *ms_psl_new_builtin(void);

/* Parses a list of `len` octets; `source` names it in error messages.
 * Rules are lower-cased; non-ASCII (IDN) rules are kept as UTF-8 and only
 * match names written the same way. Returns NULL with MS_PSL_ERROR_PARSE
 * ("source:line: why") for a rule that is not a name. Caller frees. */
MsPsl *ms_psl_new_from_data(const char *text, gsize len, const char *source, GError **error);

/* Reads and parses the file at `path` (MS_PSL_ERROR_READ when it cannot).
 * Caller frees. */
MsPsl *ms_psl_new_from_file(const char *path, GError **error);

/* Debian's list when MS_PSL_SYSTEM_PATH exists and parses, else the
 * built-in one (never NULL). Caller frees. */
MsPsl *ms_psl_new_default(void);

void ms_psl_free(MsPsl *psl);

/* "builtin" or the path or source the list came from. Owned by the list. */
const char *ms_psl_source(const MsPsl *psl);
/* How many rules the list holds. */
guint ms_psl_size(const MsPsl *psl);

/* The public suffix of `domain` ("example.co.uk" -> "co.uk"), lower case,
 * without a trailing dot; NULL for an empty or malformed name. Caller
 * frees. */
char *ms_psl_public_suffix(const MsPsl *psl, const char *domain);

/* The organisational domain (RFC 7489 3.2): the public suffix plus one
 * label ("mail.example.co.uk" -> "example.co.uk"). A name that is itself a
 * public suffix is its own organisational domain. Lower case, no trailing
 * dot; NULL for an empty or malformed name. Caller frees. */
char *ms_psl_organizational_domain(const MsPsl *psl, const char *domain);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsPsl, ms_psl_free)

G_END_DECLS

/* Shared by the files of the scenario loader (sim/scenario*.c): the error
 * collector, the reader that turns a validated libxml2 tree into MsScenario,
 * and the syntax checks of names and addresses. Not a public interface. */
#pragma once

#include <libxml/tree.h>
#include "mailsim/scenario.h"

G_BEGIN_DECLS

/* Where an error came from: the XML parser and the schema report first; a
 * meaning check on the same line says more, so it hides schema errors
 * there (see sim/scenario/scenario.c). */
typedef enum {
    MS__SCENARIO_FROM_PARSER,
    MS__SCENARIO_FROM_SCHEMA,
    MS__SCENARIO_FROM_MEANING,
} MsScenarioErrorOrigin;

typedef struct {
    const char *path;  /* display name, borrowed */
    GPtrArray *errors; /* of ScenarioErrorLine (sim/scenario/scenario.c) */
    guint seq;         /* insertion counter: a stable sort key */
    gboolean stopped;  /* the parser was stopped on hostile input */
} MsScenarioDiag;

/* Records one error at `line` (0 = no line known); fmt is the text after
 * "FILE:LINE: ". */
void ms__scenario_diag_add(MsScenarioDiag *d, MsScenarioErrorOrigin origin, guint line,
                           const char *fmt, ...) G_GNUC_PRINTF(4, 5);
guint ms__scenario_diag_count(const MsScenarioDiag *d);

/* Builds the scenario from a document that passed the schema (or not: the
 * reader never trusts the schema and checks each value it uses), adding
 * every meaning error to d. Returns the scenario (caller frees) even when
 * errors were added; the caller decides. */
MsScenario *ms__scenario_read(MsScenarioDiag *d, xmlDoc *doc);

/* Syntax checks (sim/scenario/scenario_syntax.c). Each returns TRUE when text is
 * valid; on FALSE *why (static string) says what was expected. */
gboolean ms__scenario_parse_ipv4(const char *text, guint32 *out, const char **why);
gboolean ms__scenario_check_hostname(const char *text, const char **why);
gboolean ms__scenario_check_email(const char *text, const char **why);
gboolean ms__scenario_check_status(const char *text, const char **why);
gboolean ms__scenario_check_id(const char *text, const char **why);

/* The element and attribute names of the schema, for "did you mean" hints
 * (sim/scenario/scenario_names.c). */
typedef struct _MsScenarioNames MsScenarioNames;

/* Reads the names from RELAX NG text (the embedded schema); NULL when it
 * does not parse. The caller frees the result. */
MsScenarioNames *ms__scenario_names_new(const guint8 *rng, gsize len);
void ms__scenario_names_free(MsScenarioNames *names);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsScenarioNames, ms__scenario_names_free)

/* The known name closest to `unknown` among the attributes (attribute TRUE)
 * or the child elements of `element` ("" = the document), at most 2 edits
 * away; NULL when none is. Borrowed from names. */
const char *ms__scenario_names_suggest(const MsScenarioNames *names, const char *element,
                                       gboolean attribute, const char *unknown);

/* The hint for an unknown name: " (did you mean 'x'?)", or for an element
 * the schema allows elsewhere " (<x> goes inside <p>)", or "" (caller
 * frees). */
char *ms__scenario_names_hint(const MsScenarioNames *names, const char *element, gboolean attribute,
                              const char *unknown);

/* TRUE when the schema allows `name` as an attribute (attribute TRUE) or
 * a child element of `element`. */
gboolean ms__scenario_names_has(const MsScenarioNames *names, const char *element,
                                gboolean attribute, const char *name);

/* Damerau-Levenshtein distance (optimal string alignment), ASCII case
 * ignored; G_MAXUINT for names over 64 characters. */
guint ms__scenario_edit_distance(const char *a, const char *b);

/* The name of known[0..n) closest to `name`, at most 2 edits away and
 * closer than its own length (the first wins a tie); NULL when none is.
 * Borrowed from known. */
const char *ms__scenario_closest(const char *const *known, guint n, const char *name);

/* Reports every attribute and element of doc that the schema does not
 * know, in libxml2's words plus a hint, as schema errors. */
void ms__scenario_check_names(MsScenarioDiag *d, const MsScenarioNames *names, xmlDoc *doc);

G_END_DECLS

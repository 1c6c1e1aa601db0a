/* Shared by the files of the scenario loader (sim/scenario*.c): the error
 * collector, the reader that turns a validated libxml2 tree into MsScenario,
 * and the syntax checks of names and addresses. Not a public interface. */
#pragma once

#include <libxml/tree.h>
#include "mailsim/scenario.h"
#include "mailsim/scenario_override.h"
#include "generate-private.h"

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
    GPtrArray *import_warnings; /* of char*: warnings from <topology> files */
} MsScenarioDiag;

/* Replaces each <topology> child of the root by the routers and links of
 * its file (and the mail it asks for), before the schema sees the document
 * (sim/scenario/scenario_topology.c). */
void ms__scenario_expand_topology(MsScenarioDiag *d, xmlDoc *doc);
/* Gives node n, its siblings after it and all their descendants source
 * line `line` (at most 65,535): errors in elements a <generate> or
 * <topology> element stands for name that element's line. */
void ms__scenario_set_lines(xmlNode *n, guint line);

/* Records one error at `line` (0 = no line known); fmt is the text after
 * "FILE:LINE: ". */
void ms__scenario_diag_add(MsScenarioDiag *d, MsScenarioErrorOrigin origin, guint line,
                           const char *fmt, ...) G_GNUC_PRINTF(4, 5);
guint ms__scenario_diag_count(const MsScenarioDiag *d);

/* Applies overrides[i] for each i not yet `applied` to doc (scenario_override.c),
 * marking those that selected something or failed; `expanded` says that
 * <generate> has been expanded: an override still selecting nothing then is
 * an error. Errors go to d, without a line unless an element is at fault. */
void ms__scenario_apply_overrides(MsScenarioDiag *d, xmlDoc *doc,
                                  const MsScenarioOverride *overrides, guint n, gboolean *applied,
                                  gboolean expanded);

/* Builds the scenario from a document that passed the schema (or not: the
 * reader never trusts the schema and checks each value it uses), adding
 * every meaning error to d. Returns the scenario (caller frees) even when
 * errors were added; the caller decides. Consumes the document: the
 * elements it read are freed, so only xmlFreeDoc() is left to do.
 * `generated` (of MsScenarioGenerated*, may be NULL) holds the records of
 * the document's <generate/> placeholders, in document order. */
MsScenario *ms__scenario_read(MsScenarioDiag *d, xmlDoc *doc, GPtrArray *generated);

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

/* ---- the reader's shared state and helpers --------------------------------
 * sim/scenario/scenario_reader.c holds the helpers (attributes, typed values,
 * look-ups), sim/scenario/scenario_read.c the phases up to the clients and
 * ms__scenario_read(), sim/scenario/scenario_read_events.c the phases of what
 * happens in a run (messages, checks, workloads, faults, expectations,
 * outputs). A typed reader reports a bad value on its attribute through
 * ms__reader_err() and returns the default, so that one run reports every
 * problem. */
/* A mask of host roles, for ms__reader_get_host_role(). */
#define ROLE(r) (1u << (r))

typedef struct {
    MsScenarioDiag *d;
    MsScenario *sc;
    GPtrArray *temps;        /* xmlChar* from libxml2, xmlFree'd at the end */
    GHashTable *host_ids;    /* id -> index + 1 */
    GHashTable *domains;     /* domain -> mailserver index + 1 */
    GHashTable *message_ids; /* id -> index + 1 */
    GPtrArray *generated;    /* of MsScenarioGenerated*: the <generate> placeholders' records */
} MsScenarioReader;

/* ---- the reader's walk over the root (sim/scenario/scenario_stream.c) ------
 * A generated world is not copied into the document: its elements stay
 * records (MsGenWorld, generate-private.h), and an empty <generate/> stands
 * where they would have been appended. Each phase walks the root's children
 * with an MsScenarioWalk, which makes each record of a wanted kind into an
 * element of its own when the walk reaches it (no XML text is written or
 * parsed), so the tree of the whole generated world never exists; the
 * elements come in the order the copies had. */
typedef struct {
    MsGenWorld *world; /* owned */
    guint line;        /* of the <generate> element: errors in its elements name it */
    guint kinds;       /* bit i: kind_names[i] of scenario_stream.c occurs */
    guint kind_bits[MS__GEN_EXPECT + 1]; /* each record kind's bit */
} MsScenarioGenerated;

/* Takes world. */
MsScenarioGenerated *ms__scenario_generated_new(MsGenWorld *world, guint line);
void ms__scenario_generated_free(gpointer p);

/* A new element (in doc, which may be NULL) with the attributes and
 * children the XML of record e has (ms__gen_world_write); lines are 0.
 * The caller frees it (xmlFreeNode) or adds it to a tree. */
xmlNode *ms__gen_element_node(xmlDoc *doc, const MsGenElement *e);

typedef struct {
    MsScenarioReader *R;
    const char *const *names;   /* the element names wanted, NULL-terminated */
    guint kinds;                /* their kind bits */
    xmlNode *next;              /* the next written child of the root */
    MsScenarioGenerated *gen;   /* the placeholder being walked, or NULL */
    guint gen_at;               /* the next of its records */
    xmlNode *made;              /* the element made of the record handed out last */
    const MsGenElement *record; /* the record handed out last */
    guint direct;     /* kind bits whose records come as records (ms__scenario_walk_step) */
    guint n_generate; /* placeholders met so far */
    guint temps_mark; /* R->temps' length when the walk began */
} MsScenarioWalk;

/* Starts a walk over the root's elements named in `names` (borrowed,
 * NULL-terminated; at most 32). */
void ms__scenario_walk_init(MsScenarioWalk *w, MsScenarioReader *R, xmlNode *root,
                            const char *const *names);

/* The next wanted element, or NULL at the end. A generated element lives only
 * until the next call, and so do the attribute values read from any element
 * since the previous call (R->temps above the walk's start). */
xmlNode *ms__scenario_walk_next(MsScenarioWalk *w);

/* The next wanted item, FALSE at the end: a written or generated element
 * (*node), or, for a generated record of a kind in w->direct (set after
 * ms__scenario_walk_init() to MS__WALK_* bits), the record
 * itself (*record; *node NULL), whose element ms__scenario_walk_make()
 * makes when the phase wants it after all. Both live until the next step. */
#define MS__WALK_HOST (1u << 0)
#define MS__WALK_LINK (1u << 1)
gboolean ms__scenario_walk_step(MsScenarioWalk *w, xmlNode **node, const MsGenElement **record);
xmlNode *ms__scenario_walk_make(MsScenarioWalk *w);

/* Ends a walk early (a walk that returned NULL has ended already). */
void ms__scenario_walk_end(MsScenarioWalk *w);

/* Writes v in decimal and a NUL at p (room for 21 bytes); returns the
 * address of the NUL. printf's cost without printf: for the 100,000
 * generated user names and the generated elements' numbers. */
char *ms__scenario_put_uint(char *p, guint64 v);

gboolean ms__reader_is(const xmlNode *n, const char *name);

guint ms__reader_line_of(const xmlNode *n);

/* The attribute's value (entities already decoded), or NULL when absent.
 * Owned by the reader. */
const char *ms__reader_attr(MsScenarioReader *R, xmlNode *n, const char *name);

/* How errors name an element: by its id or key when it has one. */
char *ms__reader_describe(MsScenarioReader *R, xmlNode *n);

void ms__reader_err(MsScenarioReader *R, xmlNode *n, const char *attr_name, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

const char *ms__reader_need(MsScenarioReader *R, xmlNode *n, const char *name, const char *expect);

/* ok as a units parser returned it; on failure reports the parser's error
 * (*e: read only here, after the parser has run, since the order in which
 * arguments are evaluated is unspecified) on the attribute. */
gboolean ms__reader_parsed(MsScenarioReader *R, xmlNode *n, const char *name, gboolean ok,
                           GError *const *e);

MsTime ms__reader_get_time(MsScenarioReader *R, xmlNode *n, const char *name, MsTime dflt);

guint64 ms__reader_get_size(MsScenarioReader *R, xmlNode *n, const char *name, guint64 dflt);

guint64 ms__reader_get_count(MsScenarioReader *R, xmlNode *n, const char *name, guint64 lo,
                             guint64 hi, guint64 dflt);

gboolean ms__reader_parse_number(const char *v, double *out);

double ms__reader_get_fraction(MsScenarioReader *R, xmlNode *n, const char *name, double dflt);

gboolean ms__reader_get_bool(MsScenarioReader *R, xmlNode *n, const char *name, gboolean dflt,
                             gboolean *given);

/* " (did you mean 'x'?)" for a suggestion, "" for none (caller frees). */
char *ms__reader_hint(const char *suggestion);

/* Looks an enumeration value up in a NULL-terminated table of names. */
gint ms__reader_get_enum(MsScenarioReader *R, xmlNode *n, const char *name,
                         const char *const *names, gint dflt);

gint ms__reader_find_host(MsScenarioReader *R, const char *id);

MsScenarioHost *ms__reader_host_at(MsScenarioReader *R, gint i);

/* The hint for an unknown host id: the closest id, in file order. */
char *ms__reader_host_hint(MsScenarioReader *R, const char *id);

/* A host reference; -1 (with an error when required or unknown). */
gint ms__reader_get_host(MsScenarioReader *R, xmlNode *n, const char *name, gboolean required);

/* A host reference that must have one of the roles in the mask. */
gint ms__reader_get_host_role(MsScenarioReader *R, xmlNode *n, const char *name, gboolean required,
                              guint role_mask, const char *expect);

char *ms__reader_get_hostname(MsScenarioReader *R, xmlNode *n, const char *name, const char *v);

/* An e-mail address, its domain lowered (local parts are case-sensitive,
 * RFC 5321 2.4); NULL with an error when bad. */
char *ms__reader_email_norm(MsScenarioReader *R, xmlNode *n, const char *name, const char *v);

/* Splits "a@x, b@y c@z" into checked addresses. */
GPtrArray *ms__reader_get_address_list(MsScenarioReader *R, xmlNode *n, const char *name,
                                       const char *v);

gint ms__reader_domain_server(MsScenarioReader *R, const char *domain);

MsScenarioMailserver *ms__reader_server_at(MsScenarioReader *R, gint i);

/* The id of a mail server's host, for errors; "?" when it had none. */
const char *ms__reader_server_host_id(MsScenarioReader *R, gint server);

gint ms__reader_find_user(MsScenarioMailserver *m, const char *local);

/* Resolves user@domain to (mailserver, user); FALSE with *why when not. */
gboolean ms__reader_find_mailbox(MsScenarioReader *R, const char *email, gint *server, gint *user);

void ms__reader_check_time_in_run(MsScenarioReader *R, xmlNode *n, const char *name, MsTime t);

void ms__reader_read_message(MsScenarioReader *R, xmlNode *n);

void ms__reader_read_check(MsScenarioReader *R, xmlNode *n);

void ms__reader_read_workload(MsScenarioReader *R, xmlNode *n);

void ms__reader_read_fault(MsScenarioReader *R, xmlNode *n);

void ms__reader_read_expect(MsScenarioReader *R, xmlNode *n);

void ms__reader_read_output(MsScenarioReader *R, xmlNode *n);

/* scenario_read_tls.c: <mta-sts> in a <zone> (RFC 8461), into z. */
void ms__reader_read_mta_sts(MsScenarioReader *R, xmlNode *n, MsScenarioZone *z);
/* <tlsa> in a <zone> (RFC 7672), into z->tlsa. */
void ms__reader_read_tlsa(MsScenarioReader *R, xmlNode *n, MsScenarioZone *z);
/* scenario_read_auth.c: a zone's <txt>, <spf>, <dmarc>, <dnsbl>; a mail
 * server's <dkim>, <auth>, <list>. Each returns FALSE for another element. */
gboolean ms__reader_read_zone_auth(MsScenarioReader *R, xmlNode *c, MsScenarioZone *z);
gboolean ms__reader_read_server_auth(MsScenarioReader *R, xmlNode *c, MsScenarioMailserver *m);
/* Frees what a mail server's auth elements and forwarding users hold. */
void ms__scenario_auth_free(MsScenarioMailserver *m);

G_END_DECLS

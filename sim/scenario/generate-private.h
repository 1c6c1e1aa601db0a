/* A generated world as records (sim/scenario/generate.c): the elements a
 * <generate> element stands for, in document order, each a small tagged
 * struct instead of XML text. Two consumers read them: the XML writer
 * (`mailsim gen`, ms_generate_elements: the text, byte for byte as it was
 * written before records existed) and the scenario reader, which turns one
 * record at a time into an element (sim/scenario/scenario_stream.c) without
 * any text to parse. Not a public interface. */
#pragma once

#include "mailsim/generate.h"

G_BEGIN_DECLS

/* The kinds of records, in the order of the reader's kind bits
 * (scenario_stream.c). */
typedef enum {
    MS__GEN_HOST,
    MS__GEN_LINK,
    MS__GEN_DNS,
    MS__GEN_ZONE,
    MS__GEN_MAILSERVER,
    MS__GEN_WORKLOAD,
    MS__GEN_FAULT,
    MS__GEN_EXPECT,
} MsGenElementKind;

/* One element. Strings are borrowed from the world (its chunk, or string
 * literals); what each field means depends on the kind:
 *  HOST:       s[0] id, s[1] name, s[2] role; num the IPv4 address
 *  LINK:       s[0] a, s[1] b (host ids), s[2] bandwidth ("1Gbps"); num latency in ms
 *  DNS:        s[0] the registry's host id (mode flat)
 *  ZONE:       s[0] domain, s[1] MX name, s[2] its host id, s[3] backup MX name and s[4] its
 *              host id (NULL: no backup), s[5] SPF ip4= list (NULL: no sender authentication)
 *  MAILSERVER: s[0] host id, s[1] domains (NULL for a relay or a backup), s[2] smarthost
 *              (or NULL), s[3] backup-for (or NULL), s[4] DKIM key kind ("rsa", "ed25519"
 *              or NULL: no <dkim> nor <auth>); count generated-users (with domains)
 *  WORKLOAD:   s[0] from (domain), s[1] end ("86400s"), s[2] rate per hour ("41.6667")
 *  FAULT:      s[0] target (an MX host id); count at= in seconds (host-down for 30 min)
 *  EXPECT:     (none: kind no-loss) */
typedef struct {
    MsGenElementKind kind;
    guint32 num;
    guint64 count;
    const char *s[6];
} MsGenElement;

typedef struct {
    GArray *elements;      /* of MsGenElement, in document order */
    GStringChunk *strings; /* what the elements' strings point into */
} MsGenWorld;

/* The world of `params` (defaults filled in as ms_generate_elements does);
 * the same parameters always give the same records. Caller frees. Costs:
 * about 60 bytes a record plus its strings (the medium world: 25,000
 * records, 2 MB). */
MsGenWorld *ms__gen_world_new(const MsGenParams *params);
void ms__gen_world_free(MsGenWorld *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsGenWorld, ms__gen_world_free)

/* Appends the XML of w's elements to out, as `mailsim gen` writes them. */
void ms__gen_world_write(const MsGenWorld *w, GString *out);

/* The element name of a kind ("host", "link", ...). */
const char *ms__gen_kind_name(MsGenElementKind kind);

G_END_DECLS

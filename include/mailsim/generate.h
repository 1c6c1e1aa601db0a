/* Generated worlds for benchmarks: a router graph (transit-stub or
 * scale-free), D mail domains each with its MX (a share with a backup MX, a
 * share relaying through smarthosts), users, Poisson traffic from every
 * domain to random others with heavy-tailed sizes, and a few MX outages.
 * The generator makes records of scenario elements (sim/scenario/
 * generate-private.h): the functions below write them out as scenario XML
 * (`mailsim gen`), and the loader makes a `<generate>` element's records
 * into the scenario without any text; the same parameters and seed always
 * give the same records, and the same bytes. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"

G_BEGIN_DECLS

typedef enum {
    MS_GEN_TRANSIT_STUB, /* a well-connected transit core with stub trees hanging off it */
    MS_GEN_SCALE_FREE,   /* preferential attachment (Barabasi-Albert, two links per new router) */
} MsGenTopology;

typedef struct {
    MsGenTopology topology;
    guint32 domains;  /* >= 1 */
    guint32 routers;  /* >= 4 */
    guint64 users;    /* spread evenly over the domains */
    guint64 messages; /* expected messages over `duration` */
    MsTime duration;  /* traffic lasts this long; the run lasts 2 h more to drain retries */
    guint64 seed;
    double backup_mx; /* share of domains with a backup MX (default 0.2) */
    double relays;    /* share of domains sending through a smarthost relay (default 0.1) */
    guint32 outages;  /* MX outages of 30 min (default domains / 50) */
    guint auth;       /* sender authentication on every domain: 0 none; 1 DKIM with RSA-2048
                       * keys, 2 with Ed25519; each zone publishes SPF (mx) and DMARC
                       * p=reject, each MX signs and checks SPF, DKIM and DMARC */
} MsGenParams;

/* Where mail goes on a router graph: router ids mail hosts (MX, backup MX)
 * hang off, optionally weighted (cumulative weights, one per attach id,
 * non-decreasing, the last > 0; NULL = evenly), and the ids of the
 * well-connected routers the DNS registry (the first) and relays hang off. */
typedef struct {
    GPtrArray *attach;  /* of char* */
    GArray *cumulative; /* of double, or NULL */
    GPtrArray *core;    /* of char*, at least one */
} MsGenSites;

/* Sets the defaults above for the fields not given (zeros) . */
void ms_gen_params_defaults(MsGenParams *params);

/* Appends the generated elements (hosts, links, dns, zones, mailservers,
 * workloads, faults, one no-loss expectation) to `out`, without the root
 * element. */
void ms_generate_elements(const MsGenParams *params, GString *out);

/* Appends the mail part of a generated world (DNS registry, relays,
 * domains, MX hosts, users, workloads, outages, a no-loss expectation) on
 * routers that already exist, e.g. an imported topology's; params->topology
 * and params->routers are not used. Hosts get addresses from next_addr
 * upwards; returns the next free one. Random draws come from the stream
 * (seed, "place-mail"). */
guint32 ms_generate_mail_elements(const MsGenParams *params, const MsGenSites *sites,
                                  guint32 next_addr, GString *out);

/* A whole scenario document named `name`. Returns a new string (caller frees). */
char *ms_generate_scenario(const MsGenParams *params, const char *name);

const char *ms_gen_topology_to_string(MsGenTopology topology);

G_END_DECLS

/* Scenario files: the XML description of a simulated world (hosts, links,
 * DNS zones, mail servers, clients, messages, workloads, faults, expected
 * outcomes), read with libxml2, validated against the RELAX NG schema
 * scenarios/schema/scenario.rng (compiled into the binary) and then checked
 * for meaning. The result, MsScenario, is plain data exposed on purpose: the
 * world builder walks its arrays and never looks anything up by name.
 *
 * Conventions of every element struct below:
 *  - `line` is the line of the element in the file (1-based);
 *  - strings are owned by the scenario, never NULL unless documented;
 *  - times are MsTime (ns), rates bits per second, sizes bytes;
 *  - IPv4 addresses are guint32 in host byte order (192.0.2.1 = 0xC0000201);
 *  - cross references are indices into the scenario's arrays; an optional
 *    reference that is absent is -1;
 *  - host names, domains and e-mail domains are stored in lower case.
 *
 * Limits on input (hostile files are refused, never obeyed): see the
 * MS_SCENARIO_MAX_* constants. No DOCTYPE may declare entities, nothing is
 * fetched from the network, external entities are never substituted. */
#pragma once

#include <glib.h>
#include "mailsim/mta_profile.h"
#include "mailsim/time.h"
#include "mailsim/workload.h"

G_BEGIN_DECLS

#define MS_SCENARIO_ERROR (ms_scenario_error_quark())
GQuark ms_scenario_error_quark(void);

typedef enum {
    MS_SCENARIO_ERROR_IO,      /* cannot read the file, or it is too large */
    MS_SCENARIO_ERROR_INVALID, /* malformed, hostile, schema or meaning errors */
} MsScenarioError;

/* The version this loader reads (attribute version= of <scenario>). */
#define MS_SCENARIO_VERSION 1

/* Bounds on input. A file above MAX_FILE_SIZE is refused before parsing;
 * attribute values above MAX_ATTR_LEN and text above MAX_TEXT_LEN are
 * refused; elements nested deeper than MAX_DEPTH stop the parser (the format
 * needs 3 levels). */
#define MS_SCENARIO_MAX_FILE_SIZE (32u * 1024 * 1024)
#define MS_SCENARIO_MAX_ATTR_LEN  (16u * 1024)
#define MS_SCENARIO_MAX_TEXT_LEN  (1024u * 1024)
#define MS_SCENARIO_MAX_DEPTH     16
/* At most this many error lines are reported; one more says how many were
 * left out. */
#define MS_SCENARIO_MAX_ERRORS 100

typedef enum {
    MS_HOST_CLIENT,
    MS_HOST_MAILSERVER,
    MS_HOST_DNS,
    MS_HOST_RELAY,
    MS_HOST_ROUTER,
} MsScenarioRole;

/* (Fields in an order without padding: 88 bytes, held per host by every
 * process for the whole run.) */
typedef struct {
    guint line;
    MsScenarioRole role;
    char *id;   /* unique in the file */
    char *name; /* host name (FQDN); defaults to id */
    char *label; /* a name for people (label=), or NULL */
    guint32 address; /* IPv4, host byte order; unique */
    gboolean has_position;
    double x, y;     /* diagram position, when has_position */
    gint mailserver; /* index into mailservers of this host's <mailserver>, or -1 */
    gint client;     /* index into clients of this host's <client>, or -1 */
    gboolean has_geo;
    guint32 asn;     /* the AS it belongs to (as=); 0 = none. A host with one link and no
                      * as= takes its neighbour's */
    double lat, lon; /* degrees (lat=, lon=), when has_geo */
} MsScenarioHost;

/* How the ASes at the two ends of a link relate (for policy routing). */
typedef enum {
    MS_RELATION_NONE,              /* one AS, or not said */
    MS_RELATION_PROVIDER_CUSTOMER, /* a's AS is a provider of b's */
    MS_RELATION_PEER,              /* settlement-free peers */
} MsScenarioRelation;

typedef struct {
    guint line;
    guint a, b;            /* host indices, a != b */
    MsTime latency;        /* > 0; default 1ms */
    guint64 bandwidth_bps; /* > 0; default 100Mbps */
    guint32 mtu;           /* bytes, 68..65535; default 1500 */
    double loss;           /* probability in [0,1]; default 0 */
    guint64 queue_bytes;   /* drop-tail limit in bytes (default 64KiB), or 0 ... */
    guint32 queue_packets; /* ... when the limit is in packets (queue-packets=) */
    MsScenarioRelation relation; /* between the ASes of a and b (relation=) */
} MsScenarioLink;

/* POLICY: valley-free routing between ASes with the Gao-Rexford
 * preferences (sim/net/routing_policy.c), latency inside an AS. */
typedef enum { MS_ROUTING_LATENCY, MS_ROUTING_HOPS, MS_ROUTING_POLICY } MsRoutingMetric;
typedef enum { MS_DNS_NONE, MS_DNS_FLAT, MS_DNS_HIERARCHY } MsDnsMode;

typedef enum {
    MS_RECORD_MX,
    MS_RECORD_A,
    MS_RECORD_NS,
    MS_RECORD_NULLMX, /* RFC 7505: MX 0 "." — the domain accepts no mail */
    MS_RECORD_TXT,    /* a TXT record (<txt>, and what <spf>, <dmarc> and <dnsbl> publish) */
} MsRecordType;

typedef struct {
    guint line;
    MsRecordType type;
    char *name;         /* owner: the zone name for MX, NS and NULLMX; the name= of an A */
    char *target;       /* MX exchange, NS server name, "." for NULLMX; NULL for A; TXT: the
                         * text, one string (cut into 255-octet strings at world build) */
    guint16 preference; /* MX only (0 for NULLMX) */
    guint32 address;    /* A: the address; NS: glue address when host= is given, else 0 */
    gint host;          /* A/NS: host index when given as host=, else -1 */
    MsTime ttl;         /* the record's TTL (the zone's unless an A sets its own) */
} MsScenarioRecord;

/* <tlsa host= key-of= usage= selector= matching=> in a zone (RFC 7672):
 * the TLSA record at "_25._tcp.<host's name>" for the certificate of the
 * mail server on host key-of (host itself unless given), made at world
 * build once that server has its credentials. */
typedef struct {
    guint line;
    guint host;   /* the MX host the record is for (host index) */
    guint key_of; /* whose credentials it describes (host index) */
    guint8 usage, selector, matching;
} MsScenarioTlsa;

typedef struct {
    guint line;
    char *name;      /* the zone apex, e.g. "diversicomcorp.com" */
    guint server;    /* host index of the DNS server that is authoritative */
    MsTime ttl;      /* default TTL; 1h when absent */
    GArray *records; /* of MsScenarioRecord, in file order */
    /* <mta-sts> (RFC 8461): the zone publishes "_mta-sts.<name>" TXT
     * "v=STSv1; id=<sts_id>" and the policy document sts_policy (checked
     * by the parser at load); NULL when absent. */
    guint sts_line;
    char *sts_id;
    char *sts_policy;
    gboolean dnssec; /* dnssec="true": the zone is signed (its answers validate) */
    GArray *tlsa;    /* of MsScenarioTlsa, or NULL */
} MsScenarioZone;

typedef struct {
    guint line;
    char *name;     /* local part */
    char *password; /* "" when absent */
    guint64 quota;  /* bytes; 0 = no quota */
    char *forward;  /* forward= address: mail for this user is sent on there (a forwarding
                     * service: the envelope sender is kept), or NULL */
} MsScenarioUser;

/* <list name= members= subject-tag= footer=> in a <mailserver>: a mailing list
 * at name@<the server's first domain> that sends each message on to every
 * member, from the envelope sender name-bounces@domain, with its Subject
 * tagged and a footer added (as Mailman does: what breaks DKIM). */
typedef struct {
    guint line;
    char *name;         /* local part */
    GPtrArray *members; /* of char*, addresses, at least one */
    char *subject_tag;  /* put before the Subject ("[name] " by default; "" = none) */
    char *footer;       /* added at the end of the body, or "" */
} MsScenarioList;

/* <dkim selector= key= publish= private-key= domain=> in a <mailserver>: the
 * server signs (RFC 6376) mail of `domain` from its own users. The key is
 * made at world build from the seed (its own stream "dkim/<domain>"), or
 * read from the PEM file private-key= names; unless publish="no", the
 * public key goes into the zone holding <selector>._domainkey.<domain>. */
typedef enum { MS_SCENARIO_DKIM_RSA, MS_SCENARIO_DKIM_ED25519 } MsScenarioDkimKey;
typedef struct {
    guint line;
    char *domain;   /* lower case; the server's first domain when absent */
    char *selector; /* s= */
    MsScenarioDkimKey key;
    gboolean publish;
    char *key_path; /* private-key= as written (relative to the scenario), or NULL */
    char *key_pem;  /* that file's text, read at load, or NULL */
} MsScenarioDkim;

/* <auth spf= dkim= dmarc= dnsbl= dnsbl-at= sender-login-match=> in a
 * <mailserver>: which sender checks its SMTP service makes on mail from
 * outside (port 25, not logged in). All off when absent. */
typedef struct {
    guint line; /* 0 when absent */
    gboolean spf, dkim, dmarc;
    GPtrArray *dnsbl;            /* of char*: DNSBL zones to ask, in order; may be empty */
    gboolean dnsbl_at_rcpt;      /* refuse at RCPT (else at connect) */
    gboolean sender_login_match; /* Postfix reject_sender_login_mismatch on submission */
} MsScenarioAuth;

/* Which policy fields the file set; the others take the profile's defaults. */
typedef enum {
    MS_POLICY_RETRY_FIRST = 1 << 0,
    MS_POLICY_RETRY_MAX = 1 << 1,
    MS_POLICY_GIVE_UP = 1 << 2,
    MS_POLICY_MAX_SIZE = 1 << 3,
    MS_POLICY_MAX_RECIPIENTS = 1 << 4,
    MS_POLICY_GREYLIST = 1 << 5,
    MS_POLICY_COMMAND_DELAY = 1 << 6,
    MS_POLICY_GREYLIST_DELAY = 1 << 7,
} MsPolicyField;

typedef struct {
    guint line; /* of <policy>, 0 when absent */
    guint set;  /* MsPolicyField bits of the fields given */
    MsTime retry_first;
    MsTime retry_max;
    MsTime give_up;
    guint64 max_size;
    guint32 max_recipients;
    gboolean greylist;
    MsTime command_delay;
    MsTime greylist_delay;
} MsScenarioPolicy;

static inline gboolean
ms_scenario_policy_has(const MsScenarioPolicy *p, MsPolicyField f)
{
    return (p->set & (guint) f) != 0;
}

/* The SMTP command a scripted reply answers (EOD = the end of DATA,
 * RFC 5321 4.1.1.4). */
typedef enum {
    MS_REPLY_CONNECT,
    MS_REPLY_HELO,
    MS_REPLY_EHLO,
    MS_REPLY_MAIL,
    MS_REPLY_RCPT,
    MS_REPLY_DATA,
    MS_REPLY_EOD,
} MsReplyCommand;

typedef struct {
    guint line;
    MsReplyCommand command;
    guint16 code;      /* 200..599 (RFC 5321 4.2) */
    char *enhanced;    /* RFC 3463 "class.subject.detail" whose class matches code, or NULL */
    char *text;        /* "" when absent */
    char *from;        /* envelope sender pattern; "*" = any */
    char *to;          /* recipient pattern; "*" = any */
    MsTime start, end; /* active window; end MS_TIME_INFINITE when absent */
    double rate;       /* probability of replying so, in [0,1]; default 1 */
} MsScenarioReply;

/* A server's <tls> (Postfix's settings; sim/mail/mta_profile.h). */
typedef struct {
    guint line;                /* 0 when absent: the defaults */
    MsMtaTlsLevel smtpd_level; /* smtpd-security-level (may) */
    gboolean auth_only;        /* auth-only (true) */
    MsMtaTlsLevel smtp_level;  /* smtp-security-level (may) */
    gboolean certificate;      /* FALSE: certificate="none", no TLS at all */
    MsTlsCertFault cert_fault; /* certificate= (good) */
    gboolean mta_sts;          /* mta-sts (false): the MTA honours recipients' MTA-STS */
} MsScenarioTls;

typedef struct {
    guint line;
    guint host;            /* host index (role mailserver or relay) */
    GPtrArray *domains;    /* of char*, lower case; empty for a relay */
    GPtrArray *backup_for; /* of char*, lower case: domains this server is a backup
                            * MX for (it accepts their mail and relays it to a
                            * more preferred MX, RFC 5321 5.1); may be empty */
    MsMtaProfile profile;
    gint resolver;  /* host index of a dns host, or -1 (builder's default) */
    gint smarthost; /* host index of a host that has a <mailserver>, or -1 */
    GArray *users;  /* of MsScenarioUser */
    /* generated-users=: users [generated_from, users->len) are u1..uN with
     * password "pw", and their strings live in this one block (owned here,
     * NULL when there are none) instead of two allocations a user */
    char *generated_names;
    guint generated_from;
    MsScenarioPolicy policy;
    GArray *replies; /* of MsScenarioReply */
    MsScenarioTls tls;
    GArray *dkim;  /* of MsScenarioDkim */
    GArray *lists; /* of MsScenarioList */
    MsScenarioAuth auth;
} MsScenarioMailserver;

typedef struct {
    guint line;
    guint host;          /* host index (role client) */
    char *user;          /* e-mail address, "alice@isp-a.net" */
    char *password;      /* "" when absent */
    gint smtp;           /* host index of the submission server, or -1 */
    gint pop3;           /* host index of the POP3 server, or -1 */
    gint mailbox_server; /* mailserver index holding the user's mailbox, or -1 */
    gint mailbox_user;   /* user index in that mailserver, or -1 */
    MsTime check_every;  /* 0 = only at <check> */
    gboolean keep;       /* leave retrieved mail on the server */
    gint smtp_tls;       /* smtp-tls: MsMailClientTls value, -1 when absent (starttls) */
    gint pop3_tls;       /* pop3-tls: likewise (stls) */
    gint imap;           /* host index of the IMAP server (instead of pop3), or -1 */
    gboolean idle;       /* idle="true": stays connected in IMAP IDLE */
    gint imap_tls;       /* imap-tls: MsMailClientTls value, -1 when absent (starttls) */
} MsScenarioClient;

typedef struct {
    guint line;
    char *id;
    char *from;          /* e-mail address */
    GPtrArray *to;       /* of char*, at least one */
    GPtrArray *cc;       /* of char*, may be empty */
    char *subject;       /* "" when absent */
    MsTime at;           /* submission time; default 0 */
    guint64 size;        /* bytes wanted; 0 = the body as given */
    char *body;          /* the element's text, or NULL */
    guint sender_client; /* client index whose user is from (or client= when given); 0 when
                          * via_server is set */
    gint via_server;     /* via=: mailserver index of a host that sends the message with its
                          * own MTA straight to the recipients' MX (any From:), or -1 */
    char *mail_from;     /* mail-from=: the envelope sender (via= only), or NULL: from */
} MsScenarioMessage;

typedef struct {
    guint line;
    guint client; /* client index */
    MsTime at;
} MsScenarioCheck;

typedef enum {
    MS_FAULT_HOST_DOWN,
    MS_FAULT_LINK_DOWN,
    MS_FAULT_LOSS,
    MS_FAULT_DNS_DOWN,
    MS_FAULT_MAILBOX_FULL,
    MS_FAULT_STRIP_STARTTLS, /* an active attacker on a link or host removes STARTTLS */
} MsFaultKind;

typedef struct {
    guint line;
    MsFaultKind kind;
    char *target;    /* as written */
    gint host;       /* HOST_DOWN, DNS_DOWN, STRIP_STARTTLS on a host: host index; else -1 */
    gint link;       /* LINK_DOWN, LOSS, STRIP_STARTTLS on a link: link index; else -1 */
    gint mailserver; /* MAILBOX_FULL: mailserver index ... */
    gint user;       /* ... and user index; else -1 */
    MsTime at;
    MsTime duration; /* MS_TIME_INFINITE when absent */
    double rate;     /* LOSS: loss probability in [0,1] */
    guint16 reply;   /* STRIP_STARTTLS: 0 to rewrite the EHLO reply, or the 4xx/5xx code the
                      * attacker answers STARTTLS with itself (reply=) */
} MsScenarioFault;

typedef enum {
    MS_EXPECT_DELIVERED,
    MS_EXPECT_BOUNCED,
    MS_EXPECT_DSN,
    MS_EXPECT_RECEIVED_HEADERS,
    MS_EXPECT_ATTEMPTS,
    MS_EXPECT_RETRIEVED,
    MS_EXPECT_NO_LOSS,
    MS_EXPECT_ENCRYPTED,         /* the message's hops inside TLS (all, or `count`) */
    MS_EXPECT_LOGIN_ENCRYPTED,   /* every login (of `client`) inside TLS, at least one */
    MS_EXPECT_NO_CLEAR_PASSWORD, /* no password crossed a link in the clear */
    MS_EXPECT_CLEAR_HOPS,        /* count= hops of the message crossed in clear text */
    MS_EXPECT_TLS_DEFERRED, /* a TLS requirement (MTA-STS, a TLS level) held it back (count=) */
    MS_EXPECT_SEEN,         /* client's device showed the message (within= of its delivery) */
    MS_EXPECT_NOT_SEEN,     /* client's device never showed the message */
    MS_EXPECT_AUTH,         /* the receiver's check= (spf, dkim, dmarc, dnsbl) gave result= */
    MS_EXPECT_QUARANTINED,  /* the message went into the recipient's Junk (DMARC quarantine) */
} MsExpectKind;

typedef struct {
    guint line;
    MsExpectKind kind;
    gint message;  /* message index, or -1 */
    char *to;      /* recipient, or NULL */
    MsTime within; /* MS_TIME_INFINITE when absent */
    char *status;  /* RFC 3463 status, or NULL */
    gint64 count;  /* -1 when absent */
    gint client;   /* client index, or -1 */
    char *check;   /* AUTH: "spf", "dkim", "dmarc" or "dnsbl"; else NULL */
    char *result;  /* AUTH: the RFC 8601 result word wanted ("pass", "fail", ...) */
    gint at_host;  /* AUTH: the host index of the server whose checks count (at=), or -1 for
                    * the last server that checked */
} MsScenarioExpect;

typedef struct {
    guint line;
    char *trace; /* JSON Lines path, or NULL */
    char *pcap;  /* pcapng path, or NULL */
    char *stats; /* statistics path, or NULL */
} MsScenarioOutput;

/* How the transport is simulated: every segment on every link, or each
 * transfer's duration computed from its path (sim/net/flow.c). */
typedef enum { MS_FIDELITY_PACKET, MS_FIDELITY_FLOW } MsFidelity;

typedef struct {
    char *path; /* the display name given to the loader */
    guint version;
    char *name;
    guint64 seed;        /* default 1 */
    MsTime until;        /* MS_TIME_INFINITE = until idle */
    MsFidelity fidelity; /* fidelity= on <scenario>, default PACKET */
    gboolean
        keep_bodies;   /* keep-bodies= on <scenario>, default TRUE (see ms_mail_set_keep_bodies) */
    gboolean tls;      /* the world speaks TLS: TRUE unless tls="false" on <scenario> */
    char *title;       /* "" when absent */
    char *description; /* "" when absent */
    MsRoutingMetric routing; /* default LATENCY */
    MsDnsMode dns_mode;      /* NONE when there is no <dns> */
    gint dns_server;         /* FLAT: host index of the registry */
    gint dns_root;           /* HIERARCHY: host index of the root server */
    GArray *hosts;           /* of MsScenarioHost */
    GArray *links;           /* of MsScenarioLink */
    GArray *zones;           /* of MsScenarioZone */
    GArray *mailservers;     /* of MsScenarioMailserver */
    GArray *clients;         /* of MsScenarioClient */
    GArray *messages;        /* of MsScenarioMessage */
    GArray *checks;          /* of MsScenarioCheck */
    GArray *workloads;       /* of MsWorkloadSpec (mailsim/workload.h): from_server and
                          * to_server are mailserver indices; end defaults to until */
    GArray *faults;          /* of MsScenarioFault */
    GArray *expects;         /* of MsScenarioExpect */
    GArray *outputs;         /* of MsScenarioOutput */
    GPtrArray *import_warnings; /* of char*: "FILE:LINE: warning: ..." from the files of
                                 * <topology> elements (ms_scenario_warnings returns them) */
} MsScenario;

/* Reads, validates and checks a scenario file. On any error returns NULL and
 * sets one MS_SCENARIO_ERROR whose message holds every error found, one per
 * line, "FILE:LINE: element 'x' attribute 'y': what is wrong, what was
 * expected", sorted by line. The caller owns the result (ms_scenario_free). */
MsScenario *ms_scenario_load_file(const char *path, GError **error);

/* The same from memory; display_name names the input in errors. data need
 * not be NUL-terminated. */
MsScenario *ms_scenario_load_memory(const char *data, gsize len, const char *display_name,
                                    GError **error);

void ms_scenario_free(MsScenario *sc);

/* Frees the users of mail server `mailserver` (index into sc->mailservers),
 * leaving it none: for a scenario held by one part of a partitioned run,
 * once the part's world is built (ms_world_partition_release()). Returns how
 * many users were dropped. */
guint ms_scenario_drop_users(MsScenario *sc, guint mailserver);

/* Per mail server (index into sc->mailservers), whether a mailbox-full
 * fault names one of its users: the fault reads the user's name when it
 * fires, so those servers keep their users. Caller frees. */
gboolean *ms_scenario_mailbox_fault_servers(const MsScenario *sc);

/* Authoring warnings (sim/scenario/scenario_warn.c): places where a scenario
 * that loads will silently lose its point, e.g. a sender domain without DNS
 * records (its bounces cannot come back) or an <expect> that can never hold.
 * Decided from the scenario alone, never by running it, and only where the
 * scenario proves it (the file's opening comment lists each check). Returns
 * one string per warning, "FILE:LINE: warning: what, and why it matters",
 * sorted by line; an empty array when there is nothing to say. The caller
 * owns the array (g_ptr_array_unref frees the strings too). */
GPtrArray *ms_scenario_warnings(const MsScenario *sc);

/* Which links a latency search may cross (link = index into sc->links). */
typedef gboolean (*MsScenarioLinkFilter)(const MsScenario *sc, guint link, gconstpointer data);

/* Shortest one-way latencies (sim/scenario/scenario_paths.c): d[h] = min
 * over hosts s of seed[s] plus the least sum of link latencies on a path
 * from s to h crossing only links `follow` accepts (NULL: every link);
 * MS_TIME_INFINITE where no seeded host reaches. seed has one entry per
 * host (MS_TIME_INFINITE: not a source). A lower bound on any packet's
 * travel. The caller frees the returned array (one per host). */
MsTime *ms_scenario_latencies(const MsScenario *sc, const MsTime *seed, MsScenarioLinkFilter follow,
                              gconstpointer data);

/* Index of the host with this id, or -1. O(hosts). */
gint ms_scenario_find_host(const MsScenario *sc, const char *id);

const char *ms_host_role_to_string(MsScenarioRole role);
const char *ms_fault_kind_to_string(MsFaultKind kind);
const char *ms_expect_kind_to_string(MsExpectKind kind);
const char *ms_record_type_to_string(MsRecordType type);
const char *ms_reply_command_to_string(MsReplyCommand command);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsScenario, ms_scenario_free)

G_END_DECLS

/* The DNS wire codec: DNS messages as bytes (RFC 1035 4.1) and back. It is
 * sans-I/O: the simulated resolvers and registries carry its bytes in
 * simulated UDP datagrams, the pcapng sink writes the same bytes, and a real
 * DNS tool could read them.
 *
 * Names are presented as text without the trailing dot: "example.com", and
 * the root is "" (a lone "." is also accepted on input, and so is a trailing
 * dot). A label byte that is not a printable ASCII character other than '.'
 * and '\\' is written as \DDD (three decimal digits), and '.' and '\\' inside
 * a label as "\." and "\\", as in master files (RFC 1035 5.1); decoded names
 * always use this form, so any name that arrives on the wire survives a
 * decode/encode round trip. Names compare without regard to ASCII case
 * (RFC 4343): use ms_dns_name_equal(), never strcmp.
 *
 * A message is a plain, transparent value: the fields are the wire fields,
 * and the record sections are GPtrArrays of MsDnsRecord that own their
 * elements (add with g_ptr_array_add; the array frees what it holds). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MS_DNS_ERROR (ms_dns_error_quark())
GQuark ms_dns_error_quark(void);

/* Why a message was refused by ms_dns_message_decode() or a name by
 * ms_dns_name_validate(). */
typedef enum {
    MS_DNS_ERROR_TRUNCATED,   /* the data ends inside a header, name or record */
    MS_DNS_ERROR_LABEL,       /* a label longer than 63 octets, or an empty one in text */
    MS_DNS_ERROR_NAME,        /* a name longer than 255 octets on the wire */
    MS_DNS_ERROR_POINTER,     /* a compression pointer forward, out of range, or looping */
    MS_DNS_ERROR_COUNT,       /* section counts that the data cannot hold */
    MS_DNS_ERROR_RDATA,       /* RDLENGTH that does not match the type's RDATA */
    MS_DNS_ERROR_TRAILING,    /* bytes left over after the last record */
    MS_DNS_ERROR_UNSUPPORTED, /* valid DNS we do not model: QDCOUNT > 1 */
} MsDnsError;

/* Record types (RFC 1035 3.2.2; MX null form RFC 7505; TLSA RFC 6698 7.1).
 * Other values are carried as raw RDATA. */
typedef enum {
    MS_DNS_TYPE_A = 1,
    MS_DNS_TYPE_NS = 2,
    MS_DNS_TYPE_CNAME = 5,
    MS_DNS_TYPE_SOA = 6,
    MS_DNS_TYPE_MX = 15,
    MS_DNS_TYPE_TXT = 16,
    MS_DNS_TYPE_TLSA = 52,
} MsDnsType;

#define MS_DNS_CLASS_IN 1

/* Response codes (RFC 1035 4.1.1). */
typedef enum {
    MS_DNS_RCODE_NOERROR = 0,
    MS_DNS_RCODE_FORMERR = 1,
    MS_DNS_RCODE_SERVFAIL = 2,
    MS_DNS_RCODE_NXDOMAIN = 3,
    MS_DNS_RCODE_NOTIMP = 4,
    MS_DNS_RCODE_REFUSED = 5,
} MsDnsRcode;

#define MS_DNS_OPCODE_QUERY 0
/* Longest name on the wire, length octets and root label included
 * (RFC 1035 3.1), and longest label. */
#define MS_DNS_MAX_NAME_WIRE 255
#define MS_DNS_MAX_LABEL     63

typedef struct {
    guint16 preference;
    char *exchange; /* "" for a null MX (RFC 7505) */
} MsDnsMx;

typedef struct {
    char *mname; /* primary server */
    char *rname; /* mailbox of the person responsible, as a name */
    guint32 serial, refresh, retry, expire;
    guint32 minimum; /* negative-caching TTL (RFC 2308 4) */
} MsDnsSoa;

/* A TLSA record's RDATA (RFC 6698 2.1): certificate usage, selector,
 * matching type (one octet each) and the certificate association data.
 * Any values are carried; which ones are usable is DANE's business
 * (include/mailsim/tls_dane.h), not the codec's. */
typedef struct {
    guint8 usage;
    guint8 selector;
    guint8 matching_type;
    GBytes *data; /* owned; may be empty */
} MsDnsTlsa;

/* One resource record. Which member of `rdata` is valid follows from
 * `type`: A -> a, NS and CNAME -> target, MX -> mx, SOA -> soa, TXT -> txt
 * (a GPtrArray of GBytes, one per character-string of 0..255 octets, at
 * least one, in wire order; RFC 1035 3.3.14), TLSA -> tlsa, anything else
 * -> raw (the RDATA octets as they were on the wire). The class is kept as
 * given; only IN records are interpreted by the rest of mailsim. */
typedef struct {
    char *name;   /* owner name */
    guint16 type; /* an MsDnsType or any other value */
    guint16 rclass;
    guint32 ttl;
    union {
        guint32 a; /* IPv4 address, host byte order (10.0.0.1 = 0x0A000001) */
        char *target;
        MsDnsMx mx;
        MsDnsSoa soa;
        GPtrArray *txt;
        MsDnsTlsa tlsa;
        GBytes *raw;
    } rdata;
} MsDnsRecord;

/* Record constructors. Every string is copied; class is IN. Names are not
 * checked here (ms_dns_message_encode() requires valid ones; check names
 * that come from users with ms_dns_name_validate()). Each returns a new
 * record (caller frees with ms_dns_record_free, or hands it to a section). */
MsDnsRecord *ms_dns_record_new_a(const char *name, guint32 ttl, guint32 addr);
MsDnsRecord *ms_dns_record_new_ns(const char *name, guint32 ttl, const char *target);
MsDnsRecord *ms_dns_record_new_cname(const char *name, guint32 ttl, const char *target);
MsDnsRecord *ms_dns_record_new_mx(const char *name, guint32 ttl, guint16 preference,
                                  const char *exchange);
MsDnsRecord *ms_dns_record_new_soa(const char *name, guint32 ttl, const char *mname,
                                   const char *rname, guint32 serial, guint32 refresh,
                                   guint32 retry, guint32 expire, guint32 minimum);
/* A TXT record holding `text` (NUL-terminated, any length) cut into
 * character-strings of 255 octets, the last one shorter; "" gives one
 * empty string. Readers join them again (ms_dns_record_txt_join), as
 * RFC 7208 3.3 and RFC 8461 3.1 ask. */
MsDnsRecord *ms_dns_record_new_txt(const char *name, guint32 ttl, const char *text);
/* A TLSA record (RFC 6698 2.1); `data` is copied (at most 65532 octets). */
MsDnsRecord *ms_dns_record_new_tlsa(const char *name, guint32 ttl, guint8 usage, guint8 selector,
                                    guint8 matching_type, const guint8 *data, gsize len);
/* A record of any type and class with opaque RDATA (copied; at most 65535
 * octets). For a known type the RDATA must be that type's wire form; TXT
 * and TLSA RDATA is read into its typed form (rdata.txt, rdata.tlsa), and
 * malformed RDATA of those types is a critical and NULL. */
MsDnsRecord *ms_dns_record_new_raw(const char *name, guint16 type, guint16 rclass, guint32 ttl,
                                   const guint8 *rdata, gsize len);
/* A deep copy (caller frees). */
MsDnsRecord *ms_dns_record_copy(const MsDnsRecord *rec);
void ms_dns_record_free(MsDnsRecord *rec);

/* The character-strings of a TXT record joined without separator, as one
 * value (RFC 8461 3.1); new bytes (caller unrefs). The value may contain
 * NUL octets, as the wire allows: check before treating it as text. */
GBytes *ms_dns_record_txt_join(const MsDnsRecord *rec);

/* True for the null MX of RFC 7505 3: preference 0 and exchange the root. */
gboolean ms_dns_record_is_null_mx(const MsDnsRecord *rec);

typedef struct {
    guint16 id;
    gboolean qr;   /* FALSE query, TRUE response */
    guint8 opcode; /* 0..15; MS_DNS_OPCODE_QUERY */
    gboolean aa, tc, rd, ra;
    guint8 rcode; /* 0..15; an MsDnsRcode */
    /* The question. RFC 1035 allows several; mailsim, like every DNS
     * server in practice (RFC 9619), has exactly one, or none when
     * has_question is FALSE (a FORMERR reply, say). */
    gboolean has_question;
    char *qname; /* NULL when has_question is FALSE */
    guint16 qtype, qclass;
    GPtrArray *answer; /* of MsDnsRecord*, owned */
    GPtrArray *authority;
    GPtrArray *additional;
} MsDnsMessage;

/* An empty message: every flag clear, no question, empty sections (caller
 * frees with ms_dns_message_free). */
MsDnsMessage *ms_dns_message_new(void);
/* A standard query for (qname, qtype, IN) with the given id and RD flag
 * (caller frees). */
MsDnsMessage *ms_dns_message_new_query(guint16 id, const char *qname, guint16 qtype, gboolean rd);
/* The skeleton of a response to `query`: same id, opcode, RD and question,
 * QR set, the given AA and rcode, empty sections to be filled by the caller
 * (caller frees). A negative answer (RFC 2308 2.1/2.2) is this with rcode
 * NXDOMAIN or NOERROR, no answer, and the zone's SOA in `authority`. */
MsDnsMessage *ms_dns_message_new_response(const MsDnsMessage *query, MsDnsRcode rcode, gboolean aa);
void ms_dns_message_free(MsDnsMessage *m);

/* Encodes `m` (RFC 1035 4.1), compressing repeated names (RFC 1035 4.1.4)
 * in the question, owner names and the names inside NS, CNAME, MX and SOA
 * RDATA. Requires valid names (see ms_dns_name_validate), raw RDATA of at
 * most 65535 octets, TXT records of at least one string, each at most 255
 * octets, and TLSA data that fits 65535 octets with its 3 leading octets; on a violation it logs a critical and returns NULL.
 * The result can exceed 512 octets; fitting a UDP payload (and setting TC)
 * is the sender's job. Returns new bytes (caller unrefs). */
GBytes *ms_dns_message_encode(const MsDnsMessage *m);

/* Decodes `len` octets. Refuses, with an MS_DNS_ERROR naming what and where,
 * anything malformed: truncation anywhere, labels over 63 octets, names over
 * 255, compression pointers that point forward, into the header, or into a
 * loop, section counts larger than the data can hold, RDLENGTH that does not
 * fit the record type (a TLSA shorter than 3 octets, a TXT whose strings do
 * not fill it exactly or that has none), leftover bytes, and more than one
 * question. It reads
 * only data[0..len) on any input. Returns a new message (caller frees) or
 * NULL with `error` set. */
MsDnsMessage *ms_dns_message_decode(const guint8 *data, gsize len, GError **error);

/* Checks a name in the textual form described above: labels 1..63 octets,
 * at most 255 octets on the wire, well-formed escapes. */
gboolean ms_dns_name_validate(const char *name, GError **error);

/* Case-insensitive name equality (RFC 4343), ignoring a trailing dot, so
 * "Example.COM." equals "example.com" and "." equals "". Escapes are
 * compared by the octets they stand for. Invalid names equal nothing. */
gboolean ms_dns_name_equal(const char *a, const char *b);

/* The negative-caching TTL of a negative response (RFC 2308 5): the
 * smaller of the TTL of the SOA record in the authority section and that
 * SOA's MINIMUM field. FALSE (and *ttl untouched) when there is no SOA in
 * authority, in which case RFC 2308 5 says not to cache the answer. */
gboolean ms_dns_message_negative_ttl(const MsDnsMessage *m, guint32 *ttl);

/* Static names: "A", "MX", "TXT", "TLSA", ... or NULL for other types; "NOERROR",
 * "NXDOMAIN", ... or NULL for other rcodes. */
const char *ms_dns_type_to_string(guint16 type);
const char *ms_dns_rcode_to_string(guint8 rcode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDnsRecord, ms_dns_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsDnsMessage, ms_dns_message_free)

G_END_DECLS

/* DNS messages to and from wire bytes (see include/mailsim/dns_codec.h).
 * Role in the data flow: the DNS registries and resolvers build MsDnsMessage
 * values and put the encoded bytes into simulated UDP datagrams; the
 * receiving side decodes them; the pcapng sink records the same bytes.
 *
 * Design. The decoder is a bounds-checked cursor over the input: every read
 * first checks the remaining length, so no input makes it read outside
 * data[0..len). Names are the only recursive structure (compression
 * pointers, RFC 1035 4.1.4); they are read iteratively into a 255-octet
 * stack buffer with these rules:
 *   - a pointer must point before the pointer itself ("forward" otherwise),
 *     after the 12-octet header, and before the start of the run of labels
 *     that the pointer ends. That last rule makes the successive run starts
 *     strictly decreasing, so every name is read in a bounded number of
 *     steps and a pointer loop is refused at its first repeat. Every encoder
 *     that compresses against names it has already written obeys it.
 *   - the octets of the name as read (labels plus root) never exceed 255.
 * Record RDATA is interpreted by type alone (A, NS, CNAME, MX, SOA, TXT,
 * TLSA); names inside RDATA must end exactly at the end of RDLENGTH, and so
 * must a TXT record's last character-string. Everything else is kept as raw
 * octets, so unknown types (EDNS OPT, AAAA) survive.
 *
 * The encoder writes into one GByteArray and compresses every name it
 * writes: it remembers the offset of each label it has written (those below
 * 0x4000, the reach of a 14-bit pointer) and, for each suffix of a new name,
 * looks for an equal (case-insensitive) name at one of those offsets.
 * Costs: decode is O(len) (a name costs at most 255 octets plus its
 * pointers); encode is O(names x remembered labels x 255) in the worst case,
 * which for the tens of names of a DNS message is a few microseconds.
 *
 * Ownership: a message owns its strings and its three record arrays; the
 * arrays own their records. No global state; any thread. */
#include "mailsim/dns_codec.h"

#include <string.h>

G_DEFINE_QUARK(ms - dns - error - quark, ms_dns_error)

#define HEADER_LEN  12
#define POINTER_MAX 0x3FFF /* largest offset a compression pointer can name */
#define TXT_STRING_MAX 255    /* a <character-string>: one length octet (RFC 1035 3.3) */

/* ---------------------------------------------------------------- names */

/* Parses the textual form into wire form (uncompressed labels, root octet
 * last) in out[0..*out_len). */
static gboolean
name_to_wire(const char *text, guint8 out[MS_DNS_MAX_NAME_WIRE], gsize *out_len, GError **error)
{
    gsize n = 0;
    if (text[0] == '\0' || (text[0] == '.' && text[1] == '\0')) {
        out[0] = 0;
        *out_len = 1;
        return TRUE;
    }
    const char *p = text;
    for (;;) {
        gsize len_at = n;
        guint label = 0;
        if (n >= MS_DNS_MAX_NAME_WIRE)
            goto too_long;
        n++; /* the length octet, filled in below */
        while (*p != '\0' && *p != '.') {
            guint8 c;
            if (*p == '\\') {
                p++;
                if (g_ascii_isdigit(p[0])) {
                    if (!g_ascii_isdigit(p[1]) || !g_ascii_isdigit(p[2])) {
                        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_LABEL,
                                    "name '%s': \\DDD escape needs three digits", text);
                        return FALSE;
                    }
                    guint v = (guint) (p[0] - '0') * 100 + (guint) (p[1] - '0') * 10 +
                              (guint) (p[2] - '0');
                    if (v > 255) {
                        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_LABEL,
                                    "name '%s': escape \\%.3s is above 255", text, p);
                        return FALSE;
                    }
                    c = (guint8) v;
                    p += 3;
                } else if (*p == '\0') {
                    g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_LABEL,
                                "name '%s' ends with a lone backslash", text);
                    return FALSE;
                } else {
                    c = (guint8) *p++;
                }
            } else {
                c = (guint8) *p++;
            }
            if (label == MS_DNS_MAX_LABEL) {
                g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_LABEL,
                            "name '%s': a label is longer than %d octets", text, MS_DNS_MAX_LABEL);
                return FALSE;
            }
            if (n >= MS_DNS_MAX_NAME_WIRE)
                goto too_long;
            out[n++] = c;
            label++;
        }
        if (label == 0) {
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_LABEL, "name '%s' has an empty label",
                        text);
            return FALSE;
        }
        out[len_at] = (guint8) label;
        if (*p == '\0')
            break;
        p++; /* the dot */
        if (*p == '\0')
            break; /* a trailing dot: the root is implied anyway */
    }
    if (n >= MS_DNS_MAX_NAME_WIRE)
        goto too_long;
    out[n++] = 0;
    *out_len = n;
    return TRUE;

too_long:
    g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_NAME,
                "name '%.40s...' is longer than %d octets on the wire", text, MS_DNS_MAX_NAME_WIRE);
    return FALSE;
}

/* The textual form of uncompressed wire labels (RFC 1035 5.1 escapes). */
static char *
wire_to_text(const guint8 *wire)
{
    GString *s = g_string_sized_new(64);
    for (gsize i = 0; wire[i] != 0; i += (gsize) wire[i] + 1) {
        if (i > 0)
            g_string_append_c(s, '.');
        for (gsize k = 1; k <= wire[i]; k++) {
            guint8 c = wire[i + k];
            if (c == '.' || c == '\\')
                g_string_append_printf(s, "\\%c", c);
            else if (c <= 0x20 || c >= 0x7F)
                g_string_append_printf(s, "\\%03u", (guint) c);
            else
                g_string_append_c(s, (char) c);
        }
    }
    return g_string_free(s, FALSE);
}

gboolean
ms_dns_name_validate(const char *name, GError **error)
{
    g_return_val_if_fail(name != NULL, FALSE);
    guint8 wire[MS_DNS_MAX_NAME_WIRE];
    gsize len;
    return name_to_wire(name, wire, &len, error);
}

gboolean
ms_dns_name_equal(const char *a, const char *b)
{
    g_return_val_if_fail(a != NULL && b != NULL, FALSE);
    /* Fast path: without escapes, names that differ as text (ignoring case
     * and one trailing dot) differ on the wire too. Resolvers and servers
     * compare many names that differ, so reject those without encoding. */
    if (!strchr(a, '\\') && !strchr(b, '\\')) {
        gsize na = strlen(a), nb = strlen(b);
        if (na > 0 && a[na - 1] == '.')
            na--; /* "." is the root, as "" is */
        if (nb > 0 && b[nb - 1] == '.')
            nb--;
        if (na != nb || g_ascii_strncasecmp(a, b, na) != 0)
            return FALSE;
        /* Equal as text: equal on the wire exactly when the name is valid
         * (b has a's labels), so one encoding answers. */
        guint8 w[MS_DNS_MAX_NAME_WIRE];
        gsize l;
        return name_to_wire(a, w, &l, NULL);
    }
    guint8 wa[MS_DNS_MAX_NAME_WIRE], wb[MS_DNS_MAX_NAME_WIRE];
    gsize la, lb;
    if (!name_to_wire(a, wa, &la, NULL) || !name_to_wire(b, wb, &lb, NULL) || la != lb)
        return FALSE;
    /* Length octets are below 64, so lowering them is harmless. */
    for (gsize i = 0; i < la; i++)
        if (g_ascii_tolower((gchar) wa[i]) != g_ascii_tolower((gchar) wb[i]))
            return FALSE;
    return TRUE;
}

/* ---------------------------------------------------------------- records */

static gboolean read_rdata_octets(const guint8 *d, gsize len, gsize start, MsDnsRecord *rec,
                                  GError **error);

static MsDnsRecord *
record_new(const char *name, guint16 type, guint32 ttl)
{
    g_return_val_if_fail(name != NULL, NULL);
    MsDnsRecord *r = g_new0(MsDnsRecord, 1);
    r->name = g_strdup(name);
    r->type = type;
    r->rclass = MS_DNS_CLASS_IN;
    r->ttl = ttl;
    return r;
}

MsDnsRecord *
ms_dns_record_new_a(const char *name, guint32 ttl, guint32 addr)
{
    MsDnsRecord *r = record_new(name, MS_DNS_TYPE_A, ttl);
    r->rdata.a = addr;
    return r;
}

MsDnsRecord *
ms_dns_record_new_ns(const char *name, guint32 ttl, const char *target)
{
    g_return_val_if_fail(target != NULL, NULL);
    MsDnsRecord *r = record_new(name, MS_DNS_TYPE_NS, ttl);
    r->rdata.target = g_strdup(target);
    return r;
}

MsDnsRecord *
ms_dns_record_new_cname(const char *name, guint32 ttl, const char *target)
{
    g_return_val_if_fail(target != NULL, NULL);
    MsDnsRecord *r = record_new(name, MS_DNS_TYPE_CNAME, ttl);
    r->rdata.target = g_strdup(target);
    return r;
}

MsDnsRecord *
ms_dns_record_new_mx(const char *name, guint32 ttl, guint16 preference, const char *exchange)
{
    g_return_val_if_fail(exchange != NULL, NULL);
    MsDnsRecord *r = record_new(name, MS_DNS_TYPE_MX, ttl);
    r->rdata.mx.preference = preference;
    r->rdata.mx.exchange = g_strdup(exchange);
    return r;
}

MsDnsRecord *
ms_dns_record_new_soa(const char *name, guint32 ttl, const char *mname, const char *rname,
                      guint32 serial, guint32 refresh, guint32 retry, guint32 expire,
                      guint32 minimum)
{
    g_return_val_if_fail(mname != NULL && rname != NULL, NULL);
    MsDnsRecord *r = record_new(name, MS_DNS_TYPE_SOA, ttl);
    r->rdata.soa = (MsDnsSoa){
        .mname = g_strdup(mname),
        .rname = g_strdup(rname),
        .serial = serial,
        .refresh = refresh,
        .retry = retry,
        .expire = expire,
        .minimum = minimum,
    };
    return r;
}

MsDnsRecord *
ms_dns_record_new_txt(const char *name, guint32 ttl, const char *text)
{
    g_return_val_if_fail(text != NULL, NULL);
    MsDnsRecord *r = record_new(name, MS_DNS_TYPE_TXT, ttl);
    r->rdata.txt = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    gsize len = strlen(text), at = 0;
    do {
        gsize n = MIN(len - at, (gsize) TXT_STRING_MAX);
        g_ptr_array_add(r->rdata.txt, g_bytes_new(text + at, n));
        at += n;
    } while (at < len);
    return r;
}

MsDnsRecord *
ms_dns_record_new_tlsa(const char *name, guint32 ttl, guint8 usage, guint8 selector,
                       guint8 matching_type, const guint8 *data, gsize len)
{
    g_return_val_if_fail(len <= G_MAXUINT16 - 3 && (data != NULL || len == 0), NULL);
    MsDnsRecord *r = record_new(name, MS_DNS_TYPE_TLSA, ttl);
    r->rdata.tlsa = (MsDnsTlsa){
        .usage = usage,
        .selector = selector,
        .matching_type = matching_type,
        .data = g_bytes_new(data, len),
    };
    return r;
}

GBytes *
ms_dns_record_txt_join(const MsDnsRecord *rec)
{
    g_return_val_if_fail(rec != NULL && rec->type == MS_DNS_TYPE_TXT, NULL);
    GByteArray *all = g_byte_array_new();
    for (guint i = 0; i < rec->rdata.txt->len; i++) {
        gsize n;
        const guint8 *d = g_bytes_get_data(g_ptr_array_index(rec->rdata.txt, i), &n);
        if (n > 0)
            g_byte_array_append(all, d, (guint) n);
    }
    return g_byte_array_free_to_bytes(all);
}

MsDnsRecord *
ms_dns_record_new_raw(const char *name, guint16 type, guint16 rclass, guint32 ttl,
                      const guint8 *rdata, gsize len)
{
    g_return_val_if_fail(len <= G_MAXUINT16 && (rdata != NULL || len == 0), NULL);
    MsDnsRecord *r = record_new(name, type, ttl);
    r->rclass = rclass;
    if (type == MS_DNS_TYPE_TXT || type == MS_DNS_TYPE_TLSA) {
        /* Kept in their typed form, as the decoder would. */
        g_autoptr(GError) error = NULL;
        if (!read_rdata_octets(rdata, len, 0, r, &error)) {
            g_critical("ms_dns_record_new_raw: %s", error->message);
            ms_dns_record_free(r);
            return NULL;
        }
        return r;
    }
    r->rdata.raw = g_bytes_new(rdata, len);
    return r;
}

MsDnsRecord *
ms_dns_record_copy(const MsDnsRecord *rec)
{
    g_return_val_if_fail(rec != NULL, NULL);
    MsDnsRecord *r = g_new(MsDnsRecord, 1);
    *r = *rec;
    r->name = g_strdup(rec->name);
    switch (rec->type) {
    case MS_DNS_TYPE_A:
        break;
    case MS_DNS_TYPE_NS:
    case MS_DNS_TYPE_CNAME:
        r->rdata.target = g_strdup(rec->rdata.target);
        break;
    case MS_DNS_TYPE_MX:
        r->rdata.mx.exchange = g_strdup(rec->rdata.mx.exchange);
        break;
    case MS_DNS_TYPE_SOA:
        r->rdata.soa.mname = g_strdup(rec->rdata.soa.mname);
        r->rdata.soa.rname = g_strdup(rec->rdata.soa.rname);
        break;
    case MS_DNS_TYPE_TXT:
        r->rdata.txt = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
        for (guint i = 0; i < rec->rdata.txt->len; i++)
            g_ptr_array_add(r->rdata.txt, g_bytes_ref(g_ptr_array_index(rec->rdata.txt, i)));
        break;
    case MS_DNS_TYPE_TLSA:
        r->rdata.tlsa.data = g_bytes_ref(rec->rdata.tlsa.data);
        break;
    default:
        r->rdata.raw = rec->rdata.raw ? g_bytes_ref(rec->rdata.raw) : NULL;
        break;
    }
    return r;
}

void
ms_dns_record_free(MsDnsRecord *rec)
{
    if (!rec)
        return;
    switch (rec->type) {
    case MS_DNS_TYPE_A:
        break;
    case MS_DNS_TYPE_NS:
    case MS_DNS_TYPE_CNAME:
        g_free(rec->rdata.target);
        break;
    case MS_DNS_TYPE_MX:
        g_free(rec->rdata.mx.exchange);
        break;
    case MS_DNS_TYPE_SOA:
        g_free(rec->rdata.soa.mname);
        g_free(rec->rdata.soa.rname);
        break;
    case MS_DNS_TYPE_TXT:
        g_clear_pointer(&rec->rdata.txt, g_ptr_array_unref);
        break;
    case MS_DNS_TYPE_TLSA:
        g_clear_pointer(&rec->rdata.tlsa.data, g_bytes_unref);
        break;
    default:
        g_clear_pointer(&rec->rdata.raw, g_bytes_unref);
        break;
    }
    g_free(rec->name);
    g_free(rec);
}

gboolean
ms_dns_record_is_null_mx(const MsDnsRecord *rec)
{
    g_return_val_if_fail(rec != NULL, FALSE);
    return rec->type == MS_DNS_TYPE_MX && rec->rdata.mx.preference == 0 &&
           ms_dns_name_equal(rec->rdata.mx.exchange, "");
}

/* ---------------------------------------------------------------- messages */

static GPtrArray *
section_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify) ms_dns_record_free);
}

MsDnsMessage *
ms_dns_message_new(void)
{
    MsDnsMessage *m = g_new0(MsDnsMessage, 1);
    m->answer = section_new();
    m->authority = section_new();
    m->additional = section_new();
    return m;
}

MsDnsMessage *
ms_dns_message_new_query(guint16 id, const char *qname, guint16 qtype, gboolean rd)
{
    g_return_val_if_fail(qname != NULL, NULL);
    MsDnsMessage *m = ms_dns_message_new();
    m->id = id;
    m->opcode = MS_DNS_OPCODE_QUERY;
    m->rd = rd;
    m->has_question = TRUE;
    m->qname = g_strdup(qname);
    m->qtype = qtype;
    m->qclass = MS_DNS_CLASS_IN;
    return m;
}

MsDnsMessage *
ms_dns_message_new_response(const MsDnsMessage *query, MsDnsRcode rcode, gboolean aa)
{
    g_return_val_if_fail(query != NULL && (guint) rcode <= 15, NULL);
    MsDnsMessage *m = ms_dns_message_new();
    m->id = query->id;
    m->qr = TRUE;
    m->opcode = query->opcode;
    m->aa = aa;
    m->rd = query->rd; /* RFC 1035 4.1.1: RD is copied into the response */
    m->rcode = (guint8) rcode;
    if (query->has_question) {
        m->has_question = TRUE;
        m->qname = g_strdup(query->qname);
        m->qtype = query->qtype;
        m->qclass = query->qclass;
    }
    return m;
}

void
ms_dns_message_free(MsDnsMessage *m)
{
    if (!m)
        return;
    g_free(m->qname);
    g_ptr_array_unref(m->answer);
    g_ptr_array_unref(m->authority);
    g_ptr_array_unref(m->additional);
    g_free(m);
}

gboolean
ms_dns_message_negative_ttl(const MsDnsMessage *m, guint32 *ttl)
{
    g_return_val_if_fail(m != NULL && ttl != NULL, FALSE);
    for (guint i = 0; i < m->authority->len; i++) {
        const MsDnsRecord *r = g_ptr_array_index(m->authority, i);
        if (r->type == MS_DNS_TYPE_SOA) {
            *ttl = MIN(r->ttl, r->rdata.soa.minimum);
            return TRUE;
        }
    }
    return FALSE;
}

const char *
ms_dns_type_to_string(guint16 type)
{
    switch (type) {
    case MS_DNS_TYPE_A:
        return "A";
    case MS_DNS_TYPE_NS:
        return "NS";
    case MS_DNS_TYPE_CNAME:
        return "CNAME";
    case MS_DNS_TYPE_SOA:
        return "SOA";
    case MS_DNS_TYPE_MX:
        return "MX";
    case MS_DNS_TYPE_TXT:
        return "TXT";
    case MS_DNS_TYPE_TLSA:
        return "TLSA";
    default:
        return NULL;
    }
}

const char *
ms_dns_rcode_to_string(guint8 rcode)
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
    };
    return rcode < G_N_ELEMENTS(names) ? names[rcode] : NULL;
}

/* ---------------------------------------------------------------- encoder */

typedef struct {
    GByteArray *buf;
    GArray *labels; /* guint16 offsets of labels written, for compression */
} Writer;

static void
put8(Writer *w, guint8 v)
{
    g_byte_array_append(w->buf, &v, 1);
}

static void
put16(Writer *w, guint16 v)
{
    guint8 b[2] = { (guint8) (v >> 8), (guint8) v };
    g_byte_array_append(w->buf, b, 2);
}

static void
put32(Writer *w, guint32 v)
{
    guint8 b[4] = { (guint8) (v >> 24), (guint8) (v >> 16), (guint8) (v >> 8), (guint8) v };
    g_byte_array_append(w->buf, b, 4);
}

/* Does the (possibly compressed) name at `off` in our own output equal the
 * uncompressed labels `s`, ignoring case? Our output holds only pointers we
 * wrote, each to an earlier offset, so the walk ends. */
static gboolean
suffix_matches(const GByteArray *buf, gsize off, const guint8 *s)
{
    const guint8 *d = buf->data;
    gsize p = off;
    for (;;) {
        while ((d[p] & 0xC0) == 0xC0)
            p = ((gsize) (d[p] & 0x3F) << 8) | d[p + 1];
        if (d[p] != *s)
            return FALSE;
        if (*s == 0)
            return TRUE;
        for (gsize k = 1; k <= *s; k++)
            if (g_ascii_tolower((gchar) d[p + k]) != g_ascii_tolower((gchar) s[k]))
                return FALSE;
        p += (gsize) *s + 1;
        s += (gsize) *s + 1;
    }
}

static gboolean
write_name(Writer *w, const char *name)
{
    guint8 wire[MS_DNS_MAX_NAME_WIRE];
    gsize len;
    g_autoptr(GError) error = NULL;
    if (!name_to_wire(name, wire, &len, &error)) {
        g_critical("ms_dns_message_encode: %s", error->message);
        return FALSE;
    }
    /* Find the longest suffix (fewest labels to write) already present. */
    gsize i = 0;
    gint match = -1;
    while (wire[i] != 0) {
        for (guint k = 0; k < w->labels->len; k++) {
            guint16 off = g_array_index(w->labels, guint16, k);
            if (suffix_matches(w->buf, off, wire + i)) {
                match = off;
                break;
            }
        }
        if (match >= 0)
            break;
        i += (gsize) wire[i] + 1;
    }
    /* Write the labels before the matched suffix (all of them when nothing
     * matched: then i is at the root octet), remembering each. */
    for (gsize j = 0; j < i; j += (gsize) wire[j] + 1) {
        if (w->buf->len <= POINTER_MAX) {
            guint16 off = (guint16) w->buf->len;
            g_array_append_val(w->labels, off);
        }
        g_byte_array_append(w->buf, wire + j, (guint) wire[j] + 1);
    }
    if (match >= 0)
        put16(w, (guint16) (0xC000 | match));
    else
        put8(w, 0);
    return TRUE;
}

static gboolean
write_record(Writer *w, const MsDnsRecord *r)
{
    if (!write_name(w, r->name))
        return FALSE;
    put16(w, r->type);
    put16(w, r->rclass);
    put32(w, r->ttl);
    guint rdlen_at = w->buf->len;
    put16(w, 0);
    gboolean ok = TRUE;
    switch (r->type) {
    case MS_DNS_TYPE_A:
        put32(w, r->rdata.a);
        break;
    case MS_DNS_TYPE_NS:
    case MS_DNS_TYPE_CNAME:
        ok = write_name(w, r->rdata.target);
        break;
    case MS_DNS_TYPE_MX:
        put16(w, r->rdata.mx.preference);
        ok = write_name(w, r->rdata.mx.exchange);
        break;
    case MS_DNS_TYPE_SOA:
        ok = write_name(w, r->rdata.soa.mname) && write_name(w, r->rdata.soa.rname);
        put32(w, r->rdata.soa.serial);
        put32(w, r->rdata.soa.refresh);
        put32(w, r->rdata.soa.retry);
        put32(w, r->rdata.soa.expire);
        put32(w, r->rdata.soa.minimum);
        break;
    case MS_DNS_TYPE_TXT: /* RFC 1035 3.3.14: one or more <character-string> */
        if (r->rdata.txt->len == 0) {
            g_critical("ms_dns_message_encode: TXT record without a string");
            return FALSE;
        }
        for (guint i = 0; i < r->rdata.txt->len; i++) {
            gsize n;
            const guint8 *d = g_bytes_get_data(g_ptr_array_index(r->rdata.txt, i), &n);
            if (n > TXT_STRING_MAX) {
                g_critical("ms_dns_message_encode: TXT string of %" G_GSIZE_FORMAT " octets", n);
                return FALSE;
            }
            put8(w, (guint8) n);
            if (n > 0)
                g_byte_array_append(w->buf, d, (guint) n);
        }
        break;
    case MS_DNS_TYPE_TLSA: { /* RFC 6698 2.1 */
        gsize n;
        const guint8 *d = g_bytes_get_data(r->rdata.tlsa.data, &n);
        if (n > G_MAXUINT16 - 3) {
            g_critical("ms_dns_message_encode: TLSA data of %" G_GSIZE_FORMAT " octets", n);
            return FALSE;
        }
        put8(w, r->rdata.tlsa.usage);
        put8(w, r->rdata.tlsa.selector);
        put8(w, r->rdata.tlsa.matching_type);
        if (n > 0)
            g_byte_array_append(w->buf, d, (guint) n);
        break;
    }
    default:
        if (r->rdata.raw) {
            gsize n;
            const guint8 *d = g_bytes_get_data(r->rdata.raw, &n);
            if (n > G_MAXUINT16) {
                g_critical("ms_dns_message_encode: RDATA of %" G_GSIZE_FORMAT " octets", n);
                return FALSE;
            }
            if (n > 0)
                g_byte_array_append(w->buf, d, (guint) n);
        }
        break;
    }
    guint rdlen = w->buf->len - rdlen_at - 2;
    w->buf->data[rdlen_at] = (guint8) (rdlen >> 8);
    w->buf->data[rdlen_at + 1] = (guint8) rdlen;
    return ok;
}

GBytes *
ms_dns_message_encode(const MsDnsMessage *m)
{
    g_return_val_if_fail(m != NULL, NULL);
    g_return_val_if_fail(m->opcode <= 15 && m->rcode <= 15, NULL);
    g_return_val_if_fail(!m->has_question || m->qname != NULL, NULL);
    const GPtrArray *sections[3] = { m->answer, m->authority, m->additional };
    for (guint s = 0; s < 3; s++)
        g_return_val_if_fail(sections[s]->len <= G_MAXUINT16, NULL);

    Writer w = { g_byte_array_sized_new(512), g_array_new(FALSE, FALSE, sizeof(guint16)) };
    put16(&w, m->id);
    guint16 flags =
        (guint16) ((m->qr ? 0x8000 : 0) | (m->opcode << 11) | (m->aa ? 0x0400 : 0) |
                   (m->tc ? 0x0200 : 0) | (m->rd ? 0x0100 : 0) | (m->ra ? 0x0080 : 0) | m->rcode);
    put16(&w, flags);
    put16(&w, m->has_question ? 1 : 0);
    for (guint s = 0; s < 3; s++)
        put16(&w, (guint16) sections[s]->len);

    gboolean ok = TRUE;
    if (m->has_question) {
        ok = write_name(&w, m->qname);
        put16(&w, m->qtype);
        put16(&w, m->qclass);
    }
    for (guint s = 0; s < 3 && ok; s++)
        for (guint i = 0; i < sections[s]->len && ok; i++)
            ok = write_record(&w, g_ptr_array_index(sections[s], i));
    g_array_unref(w.labels);
    if (!ok) {
        g_byte_array_unref(w.buf);
        return NULL;
    }
    return g_byte_array_free_to_bytes(w.buf);
}

/* ---------------------------------------------------------------- decoder */

typedef struct {
    const guint8 *d;
    gsize len;
} Reader;

static guint16
get16(const Reader *r, gsize at)
{
    return (guint16) ((r->d[at] << 8) | r->d[at + 1]);
}

static guint32
get32(const Reader *r, gsize at)
{
    return ((guint32) r->d[at] << 24) | ((guint32) r->d[at + 1] << 16) |
           ((guint32) r->d[at + 2] << 8) | r->d[at + 3];
}

/* Reads the name at *pos. Its octets in place (up to the first pointer)
 * must lie before `bound` (the end of the RDATA it belongs to, or of the
 * message); *pos moves past them. See the rules in the comment on top. */
static gboolean
read_name(const Reader *r, gsize *pos, gsize bound, char **out, GError **error)
{
    guint8 wire[MS_DNS_MAX_NAME_WIRE];
    gsize n = 0;
    gsize p = *pos, run_start = *pos, end = bound, after = 0;
    gboolean jumped = FALSE;
    for (;;) {
        if (p >= end)
            goto truncated;
        guint8 b = r->d[p];
        if ((b & 0xC0) == 0xC0) {
            if (p + 1 >= end)
                goto truncated;
            gsize target = ((gsize) (b & 0x3F) << 8) | r->d[p + 1];
            if (target >= p) {
                g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_POINTER,
                            "compression pointer at offset %" G_GSIZE_FORMAT
                            " points forward to %" G_GSIZE_FORMAT,
                            p, target);
                return FALSE;
            }
            if (target < HEADER_LEN) {
                g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_POINTER,
                            "compression pointer at offset %" G_GSIZE_FORMAT
                            " points into the header (%" G_GSIZE_FORMAT ")",
                            p, target);
                return FALSE;
            }
            if (target >= run_start) {
                g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_POINTER,
                            "compression pointer at offset %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT
                            " makes a loop (it does not point before"
                            " the labels at %" G_GSIZE_FORMAT " that lead to it)",
                            p, target, run_start);
                return FALSE;
            }
            if (!jumped)
                after = p + 2;
            jumped = TRUE;
            p = run_start = target;
            end = r->len;
            continue;
        }
        if (b > MS_DNS_MAX_LABEL) {
            /* 0x40 and 0x80 are the extended and reserved label types of
             * RFC 6891 and RFC 1035 4.1.4; neither is in use. */
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_LABEL,
                        "label at offset %" G_GSIZE_FORMAT " has length octet 0x%02x:"
                        " labels are at most %d octets",
                        p, b, MS_DNS_MAX_LABEL);
            return FALSE;
        }
        if (n + b + 1 + (b ? 1 : 0) > MS_DNS_MAX_NAME_WIRE) {
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_NAME,
                        "name at offset %" G_GSIZE_FORMAT " is longer than %d octets", *pos,
                        MS_DNS_MAX_NAME_WIRE);
            return FALSE;
        }
        if (p + 1 + b > end)
            goto truncated;
        memcpy(wire + n, r->d + p, (gsize) b + 1);
        n += (gsize) b + 1;
        p += (gsize) b + 1;
        if (b == 0)
            break;
    }
    *pos = jumped ? after : p;
    *out = wire_to_text(wire);
    return TRUE;

truncated:
    g_set_error(error, MS_DNS_ERROR, end < r->len ? MS_DNS_ERROR_RDATA : MS_DNS_ERROR_TRUNCATED,
                "name at offset %" G_GSIZE_FORMAT " runs past the end of the %s (%" G_GSIZE_FORMAT
                ")",
                *pos, end < r->len ? "RDATA" : "message", end);
    return FALSE;
}

/* Checks that a name inside RDATA ended exactly where RDLENGTH says. */
static gboolean
rdata_ends(gsize pos, gsize rd_end, guint16 type, GError **error)
{
    if (pos == rd_end)
        return TRUE;
    g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_RDATA,
                "%s RDATA ends at offset %" G_GSIZE_FORMAT " but RDLENGTH says %" G_GSIZE_FORMAT,
                ms_dns_type_to_string(type), pos, rd_end);
    return FALSE;
}

/* Reads the RDATA of the types that hold no names (TXT, TLSA) from its
 * `len` octets into rec, whose type is set; `start` is the record's offset,
 * for messages. */
static gboolean
read_rdata_octets(const guint8 *d, gsize len, gsize start, MsDnsRecord *rec, GError **error)
{
    if (rec->type == MS_DNS_TYPE_TLSA) { /* RFC 6698 2.1 */
        if (len < 3) {
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_RDATA,
                        "TLSA record at offset %" G_GSIZE_FORMAT " has RDLENGTH %" G_GSIZE_FORMAT
                        ", below 3",
                        start, len);
            return FALSE;
        }
        rec->rdata.tlsa.usage = d[0];
        rec->rdata.tlsa.selector = d[1];
        rec->rdata.tlsa.matching_type = d[2];
        rec->rdata.tlsa.data = g_bytes_new(d + 3, len - 3);
        return TRUE;
    }
    g_assert(rec->type == MS_DNS_TYPE_TXT);
    rec->rdata.txt = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
    if (len == 0) {
        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_RDATA,
                    "TXT record at offset %" G_GSIZE_FORMAT " has no character-string"
                    " (RFC 1035 3.3.14 asks for one or more)",
                    start);
        return FALSE;
    }
    for (gsize p = 0; p < len;) {
        gsize n = d[p];
        if (n > len - p - 1) {
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_RDATA,
                        "TXT record at offset %" G_GSIZE_FORMAT ": a string %" G_GSIZE_FORMAT
                        " octets into the RDATA claims %" G_GSIZE_FORMAT
                        " octets, but only %" G_GSIZE_FORMAT " are left",
                        start, p, n, len - p - 1);
            return FALSE;
        }
        g_ptr_array_add(rec->rdata.txt, g_bytes_new(d + p + 1, n));
        p += n + 1;
    }
    return TRUE;
}

static MsDnsRecord *
read_record(const Reader *r, gsize *pos, GError **error)
{
    g_autoptr(MsDnsRecord) rec = g_new0(MsDnsRecord, 1);
    /* Until the RDATA is read, the record must free as a type with no
     * pointers in it. */
    rec->type = MS_DNS_TYPE_A;
    gsize start = *pos;
    if (!read_name(r, pos, r->len, &rec->name, error))
        return NULL;
    gsize p = *pos;
    if (r->len - p < 10) {
        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_TRUNCATED,
                    "record at offset %" G_GSIZE_FORMAT " is cut off in its fixed fields", start);
        return NULL;
    }
    guint16 type = get16(r, p);
    rec->rclass = get16(r, p + 2);
    rec->ttl = get32(r, p + 4);
    guint16 rdlen = get16(r, p + 8);
    p += 10;
    if (r->len - p < rdlen) {
        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_TRUNCATED,
                    "record at offset %" G_GSIZE_FORMAT ": RDLENGTH %u runs past the end"
                    " of the message",
                    start, rdlen);
        return NULL;
    }
    gsize rd_end = p + rdlen;
    switch (type) {
    case MS_DNS_TYPE_A:
        if (rdlen != 4) {
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_RDATA,
                        "A record at offset %" G_GSIZE_FORMAT " has RDLENGTH %u, not 4", start,
                        rdlen);
            return NULL;
        }
        rec->rdata.a = get32(r, p);
        p = rd_end;
        break;
    case MS_DNS_TYPE_NS:
    case MS_DNS_TYPE_CNAME:
        rec->type = type;
        if (!read_name(r, &p, rd_end, &rec->rdata.target, error) ||
            !rdata_ends(p, rd_end, type, error))
            return NULL;
        break;
    case MS_DNS_TYPE_MX:
        rec->type = type;
        if (rdlen < 3) {
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_RDATA,
                        "MX record at offset %" G_GSIZE_FORMAT " has RDLENGTH %u, below 3", start,
                        rdlen);
            return NULL;
        }
        rec->rdata.mx.preference = get16(r, p);
        p += 2;
        if (!read_name(r, &p, rd_end, &rec->rdata.mx.exchange, error) ||
            !rdata_ends(p, rd_end, type, error))
            return NULL;
        break;
    case MS_DNS_TYPE_SOA:
        rec->type = type;
        if (!read_name(r, &p, rd_end, &rec->rdata.soa.mname, error) ||
            !read_name(r, &p, rd_end, &rec->rdata.soa.rname, error))
            return NULL;
        if (rd_end - p != 20) {
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_RDATA,
                        "SOA record at offset %" G_GSIZE_FORMAT " has %" G_GSIZE_FORMAT
                        " octets after its names, not 20",
                        start, rd_end - p);
            return NULL;
        }
        rec->rdata.soa.serial = get32(r, p);
        rec->rdata.soa.refresh = get32(r, p + 4);
        rec->rdata.soa.retry = get32(r, p + 8);
        rec->rdata.soa.expire = get32(r, p + 12);
        rec->rdata.soa.minimum = get32(r, p + 16);
        p = rd_end;
        break;
    case MS_DNS_TYPE_TXT:
    case MS_DNS_TYPE_TLSA:
        rec->type = type;
        if (!read_rdata_octets(r->d + p, rdlen, start, rec, error))
            return NULL;
        p = rd_end;
        break;
    default:
        rec->type = type;
        rec->rdata.raw = g_bytes_new(r->d + p, rdlen);
        p = rd_end;
        break;
    }
    rec->type = type;
    *pos = p;
    return g_steal_pointer(&rec);
}

MsDnsMessage *
ms_dns_message_decode(const guint8 *data, gsize len, GError **error)
{
    g_return_val_if_fail(data != NULL || len == 0, NULL);
    Reader r = { data, len };
    if (len < HEADER_LEN) {
        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_TRUNCATED,
                    "message of %" G_GSIZE_FORMAT " octets is shorter than the %d-octet header",
                    len, HEADER_LEN);
        return NULL;
    }
    g_autoptr(MsDnsMessage) m = ms_dns_message_new();
    m->id = get16(&r, 0);
    guint16 flags = get16(&r, 2);
    m->qr = (flags & 0x8000) != 0;
    m->opcode = (guint8) ((flags >> 11) & 0xF);
    m->aa = (flags & 0x0400) != 0;
    m->tc = (flags & 0x0200) != 0;
    m->rd = (flags & 0x0100) != 0;
    m->ra = (flags & 0x0080) != 0;
    m->rcode = (guint8) (flags & 0xF);
    guint qd = get16(&r, 4);
    guint counts[3] = { get16(&r, 6), get16(&r, 8), get16(&r, 10) };
    if (qd > 1) {
        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_UNSUPPORTED,
                    "QDCOUNT is %u; only messages with at most one question are supported", qd);
        return NULL;
    }
    /* A question takes at least 5 octets (root name, type, class), a
     * record at least 11 (root name and 10 fixed octets). */
    guint64 need = (guint64) qd * 5 + ((guint64) counts[0] + counts[1] + counts[2]) * 11;
    if (need > len - HEADER_LEN) {
        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_COUNT,
                    "header counts (QD %u, AN %u, NS %u, AR %u) need at least %" G_GUINT64_FORMAT
                    " octets, but only %" G_GSIZE_FORMAT " follow the header",
                    qd, counts[0], counts[1], counts[2], need, len - HEADER_LEN);
        return NULL;
    }
    gsize pos = HEADER_LEN;
    if (qd == 1) {
        if (!read_name(&r, &pos, len, &m->qname, error)) {
            g_prefix_error(error, "question: ");
            return NULL;
        }
        if (len - pos < 4) {
            g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_TRUNCATED,
                        "question is cut off after its name, at offset %" G_GSIZE_FORMAT, pos);
            return NULL;
        }
        m->has_question = TRUE;
        m->qtype = get16(&r, pos);
        m->qclass = get16(&r, pos + 2);
        pos += 4;
    }
    GPtrArray *sections[3] = { m->answer, m->authority, m->additional };
    static const char *const section_names[3] = { "answer", "authority", "additional" };
    for (guint s = 0; s < 3; s++) {
        for (guint i = 0; i < counts[s]; i++) {
            MsDnsRecord *rec = read_record(&r, &pos, error);
            if (!rec) {
                g_prefix_error(error, "%s record %u: ", section_names[s], i + 1);
                return NULL;
            }
            g_ptr_array_add(sections[s], rec);
        }
    }
    if (pos != len) {
        g_set_error(error, MS_DNS_ERROR, MS_DNS_ERROR_TRAILING,
                    "%" G_GSIZE_FORMAT
                    " octets left over after the last record (offset %" G_GSIZE_FORMAT ")",
                    len - pos, pos);
        return NULL;
    }
    return g_steal_pointer(&m);
}

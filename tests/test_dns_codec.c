/* Tests of the DNS wire codec: byte-exact encoding of a known query, round
 * trips of every record type, the RDATA layout of TXT (RFC 1035 3.3.14) and
 * TLSA (RFC 6698 2.1) octet by octet and as tshark decodes them, name
 * compression, negative answers (RFC 2308)
 * and null MX (RFC 7505), the name rules on both sides of each limit, a
 * table of hostile messages that must each be refused with the right error,
 * and seeded random inputs and mutations that must never crash. */
#include "testlib.h"
#include "mailsim/dns_codec.h"
#include "mailsim/pcap_writer.h"
#include "mailsim/rng.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- helpers */

static gboolean
bytes_equal(GBytes *b, const guint8 *want, gsize n)
{
    gsize len;
    const guint8 *d = g_bytes_get_data(b, &len);
    return len == n && memcmp(d, want, n) == 0;
}

static gboolean
record_equal(const MsDnsRecord *a, const MsDnsRecord *b)
{
    if (!ms_dns_name_equal(a->name, b->name) || a->type != b->type || a->rclass != b->rclass ||
        a->ttl != b->ttl)
        return FALSE;
    switch (a->type) {
    case MS_DNS_TYPE_A:
        return a->rdata.a == b->rdata.a;
    case MS_DNS_TYPE_NS:
    case MS_DNS_TYPE_CNAME:
        return ms_dns_name_equal(a->rdata.target, b->rdata.target);
    case MS_DNS_TYPE_MX:
        return a->rdata.mx.preference == b->rdata.mx.preference &&
               ms_dns_name_equal(a->rdata.mx.exchange, b->rdata.mx.exchange);
    case MS_DNS_TYPE_SOA:
        return ms_dns_name_equal(a->rdata.soa.mname, b->rdata.soa.mname) &&
               ms_dns_name_equal(a->rdata.soa.rname, b->rdata.soa.rname) &&
               a->rdata.soa.serial == b->rdata.soa.serial &&
               a->rdata.soa.refresh == b->rdata.soa.refresh &&
               a->rdata.soa.retry == b->rdata.soa.retry &&
               a->rdata.soa.expire == b->rdata.soa.expire &&
               a->rdata.soa.minimum == b->rdata.soa.minimum;
    case MS_DNS_TYPE_TXT:
        if (a->rdata.txt->len != b->rdata.txt->len)
            return FALSE;
        for (guint i = 0; i < a->rdata.txt->len; i++)
            if (!g_bytes_equal(g_ptr_array_index(a->rdata.txt, i),
                               g_ptr_array_index(b->rdata.txt, i)))
                return FALSE;
        return TRUE;
    case MS_DNS_TYPE_TLSA:
        return a->rdata.tlsa.usage == b->rdata.tlsa.usage &&
               a->rdata.tlsa.selector == b->rdata.tlsa.selector &&
               a->rdata.tlsa.matching_type == b->rdata.tlsa.matching_type &&
               g_bytes_equal(a->rdata.tlsa.data, b->rdata.tlsa.data);
    default:
        return g_bytes_equal(a->rdata.raw, b->rdata.raw);
    }
}

static gboolean
section_equal(const GPtrArray *a, const GPtrArray *b)
{
    if (a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++)
        if (!record_equal(g_ptr_array_index(a, i), g_ptr_array_index(b, i)))
            return FALSE;
    return TRUE;
}

static gboolean
message_equal(const MsDnsMessage *a, const MsDnsMessage *b)
{
    if (a->id != b->id || a->qr != b->qr || a->opcode != b->opcode || a->aa != b->aa ||
        a->tc != b->tc || a->rd != b->rd || a->ra != b->ra || a->rcode != b->rcode ||
        a->has_question != b->has_question)
        return FALSE;
    if (a->has_question &&
        (!ms_dns_name_equal(a->qname, b->qname) || a->qtype != b->qtype || a->qclass != b->qclass))
        return FALSE;
    return section_equal(a->answer, b->answer) && section_equal(a->authority, b->authority) &&
           section_equal(a->additional, b->additional);
}

/* Encodes m, decodes the result and returns it (caller frees). */
static MsDnsMessage *
round_trip(const MsDnsMessage *m)
{
    g_autoptr(GBytes) b = ms_dns_message_encode(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    gsize n;
    const guint8 *d = g_bytes_get_data(b, &n);
    g_autoptr(GError) error = NULL;
    MsDnsMessage *back = ms_dns_message_decode(d, n, &error);
    if (!back)
        fprintf(stderr, "round trip: %s\n", error->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    return back;
}

/* A name of `wire` octets on the wire (labels plus root), >= 2. */
static char *
name_of_wire_length(gsize wire)
{
    GString *s = g_string_new(NULL);
    gsize left = wire - 1; /* octets for labels */
    while (left > 0) {
        gsize label = MIN(left - 1, (gsize) MS_DNS_MAX_LABEL);
        if (s->len)
            g_string_append_c(s, '.');
        for (gsize i = 0; i < label; i++)
            g_string_append_c(s, (char) ('a' + i % 26));
        left -= label + 1;
    }
    return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------- tests */

static void
test_query_bytes(void)
{
    static const guint8 want[] = {
        0x12, 0x34,                                     /* id */
        0x01, 0x00,                                     /* flags: RD */
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* QD=1 AN NS AR=0 */
        7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',
        3,    'c',  'o',  'm',  0,    0x00, 0x0F, /* QTYPE MX */
        0x00, 0x01,                               /* QCLASS IN */
    };
    g_autoptr(MsDnsMessage) q =
        ms_dns_message_new_query(0x1234, "example.com", MS_DNS_TYPE_MX, TRUE);
    g_autoptr(GBytes) b = ms_dns_message_encode(q);
    CU_ASSERT(bytes_equal(b, want, sizeof want));
    /* A trailing dot and another case give the same bytes apart from case. */
    g_autoptr(MsDnsMessage) q2 =
        ms_dns_message_new_query(0x1234, "example.com.", MS_DNS_TYPE_MX, TRUE);
    g_autoptr(GBytes) b2 = ms_dns_message_encode(q2);
    CU_ASSERT(bytes_equal(b2, want, sizeof want));
    g_autoptr(MsDnsMessage) back = ms_dns_message_decode(want, sizeof want, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT(message_equal(q, back));
    CU_ASSERT_STRING_EQUAL(back->qname, "example.com");
}

static void
test_round_trip_types(void)
{
    static const guint8 txt[] = { 5, 'h', 'e', 'l', 'l', 'o' };
    static const guint8 aaaa[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    MsDnsRecord *recs[] = {
        ms_dns_record_new_a("mx1.example.com", 300, 0x0A000001),
        ms_dns_record_new_a("max.example.com", G_MAXUINT32, 0xFFFFFFFF),
        ms_dns_record_new_ns("example.com", 86400, "ns1.example.net"),
        ms_dns_record_new_cname("www.example.com", 60, "web.example.org"),
        ms_dns_record_new_mx("example.com", 3600, 10, "mx1.example.com"),
        ms_dns_record_new_mx("Example.COM", 3600, 65535, "MX2.example.com"),
        ms_dns_record_new_soa("example.com", 3600, "ns1.example.com", "hostmaster.example.com",
                              2024010101, 7200, 900, 1209600, 300),
        ms_dns_record_new_raw("example.com", 16, MS_DNS_CLASS_IN, 5, txt, sizeof txt),
        ms_dns_record_new_raw("v6.example.com", 28, MS_DNS_CLASS_IN, 5, aaaa, sizeof aaaa),
        ms_dns_record_new_raw("empty.example.com", 99, 3 /* CH */, 0, NULL, 0),
        ms_dns_record_new_ns("", 518400, "a.root-servers.net"),
        ms_dns_record_new_txt("_mta-sts.example.com", 300, "v=STSv1; id=20160831085700Z;"),
        ms_dns_record_new_txt("empty.example.com", 300, ""),
        ms_dns_record_new_tlsa("_25._tcp.mx.example.com", 300, 3, 1, 1, aaaa, sizeof aaaa),
        ms_dns_record_new_tlsa("_25._tcp.mx.example.com", 300, 255, 255, 255, NULL, 0),
    };
    for (gsize i = 0; i < G_N_ELEMENTS(recs); i++) {
        g_autoptr(MsDnsMessage) q =
            ms_dns_message_new_query((guint16) i, recs[i]->name, recs[i]->type, FALSE);
        g_autoptr(MsDnsMessage) m = ms_dns_message_new_response(q, MS_DNS_RCODE_NOERROR, TRUE);
        m->ra = TRUE;
        g_ptr_array_add(m->answer, ms_dns_record_copy(recs[i]));
        g_ptr_array_add(m->additional, recs[i]); /* the section owns it now */
        g_autoptr(MsDnsMessage) back = round_trip(m);
        if (!message_equal(m, back))
            fprintf(stderr, "round trip of record %" G_GSIZE_FORMAT " differs\n", i);
        CU_ASSERT(message_equal(m, back));
        CU_ASSERT(back->qr && back->aa && back->ra && !back->rd && !back->tc);
    }
    /* Flags and codes at their extremes survive too. */
    g_autoptr(MsDnsMessage) m = ms_dns_message_new();
    m->id = 0xFFFF;
    m->qr = m->aa = m->tc = m->rd = m->ra = TRUE;
    m->opcode = 15;
    m->rcode = 15;
    g_autoptr(MsDnsMessage) back = round_trip(m);
    CU_ASSERT(message_equal(m, back));
    CU_ASSERT_FALSE(back->has_question);
    CU_ASSERT_PTR_NULL(back->qname);
}

static void
test_compression(void)
{
    g_autoptr(MsDnsMessage) q = ms_dns_message_new_query(7, "example.com", MS_DNS_TYPE_MX, TRUE);
    g_autoptr(MsDnsMessage) m = ms_dns_message_new_response(q, MS_DNS_RCODE_NOERROR, TRUE);
    const char *hosts[] = { "mx1.example.com", "mx2.example.com", "MX3.EXAMPLE.COM" };
    /* Uncompressed size: header, question, and per record owner + 10 + RDATA. */
    gsize plain = 12 + (strlen("example.com") + 2) + 4;
    for (guint i = 0; i < G_N_ELEMENTS(hosts); i++) {
        g_ptr_array_add(m->answer, ms_dns_record_new_mx("example.com", 3600,
                                                        (guint16) (10 * (i + 1)), hosts[i]));
        g_ptr_array_add(m->additional, ms_dns_record_new_a(hosts[i], 3600, 0x0A000001 + i));
        plain += (strlen("example.com") + 2) + 10 + 2 + (strlen(hosts[i]) + 2);
        plain += (strlen(hosts[i]) + 2) + 10 + 4;
    }
    g_autoptr(GBytes) b = ms_dns_message_encode(m);
    gsize n;
    const guint8 *d = g_bytes_get_data(b, &n);
    /* Every owner "example.com" is a 2-octet pointer to the question name at
     * 12, each exchange is "mxN" + a pointer, each A owner a pointer to the
     * exchange written before: 3*(13-2) + 3*(17-6) + 3*(17-2) = 111 saved. */
    CU_ASSERT(n < plain);
    CU_ASSERT_EQUAL(plain - n, 111);
    gsize first_rr = 12 + 13 + 4;
    CU_ASSERT(d[first_rr] == 0xC0 && d[first_rr + 1] == 12);
    g_autoptr(MsDnsMessage) back = round_trip(m);
    CU_ASSERT(message_equal(m, back));
    /* The case of the first occurrence is what the pointer carries. */
    const MsDnsRecord *mx3 = g_ptr_array_index(back->answer, 2);
    CU_ASSERT_STRING_EQUAL(mx3->rdata.mx.exchange, "MX3.example.com");
}

static void
test_nxdomain(void)
{
    g_autoptr(MsDnsMessage) q =
        ms_dns_message_new_query(99, "nosuch.example.com", MS_DNS_TYPE_MX, TRUE);
    g_autoptr(MsDnsMessage) m = ms_dns_message_new_response(q, MS_DNS_RCODE_NXDOMAIN, TRUE);
    g_ptr_array_add(m->authority,
                    ms_dns_record_new_soa("example.com", 3600, "ns1.example.com",
                                          "hostmaster.example.com", 1, 7200, 900, 1209600, 300));
    g_autoptr(MsDnsMessage) back = round_trip(m);
    CU_ASSERT(message_equal(m, back));
    CU_ASSERT_EQUAL(back->rcode, MS_DNS_RCODE_NXDOMAIN);
    CU_ASSERT_STRING_EQUAL(ms_dns_rcode_to_string(back->rcode), "NXDOMAIN");
    CU_ASSERT_EQUAL(back->answer->len, 0);
    CU_ASSERT_EQUAL(back->authority->len, 1);
    guint32 ttl = 0;
    /* RFC 2308 5: min(SOA TTL, SOA MINIMUM), both ways round. */
    CU_ASSERT(ms_dns_message_negative_ttl(back, &ttl));
    CU_ASSERT_EQUAL(ttl, 300);
    MsDnsRecord *soa = g_ptr_array_index(back->authority, 0);
    soa->ttl = 60;
    CU_ASSERT(ms_dns_message_negative_ttl(back, &ttl));
    CU_ASSERT_EQUAL(ttl, 60);
    g_ptr_array_set_size(back->authority, 0);
    ttl = 7;
    CU_ASSERT_FALSE(ms_dns_message_negative_ttl(back, &ttl));
    CU_ASSERT_EQUAL(ttl, 7);
    CU_ASSERT_PTR_NULL(ms_dns_rcode_to_string(9));
}

static void
test_null_mx(void)
{
    /* RFC 7505 3: "0 ." is preference 0 and the root: RDATA 00 00 00. */
    static const char *const roots[] = { "", "." };
    for (gsize i = 0; i < G_N_ELEMENTS(roots); i++) {
        g_autoptr(MsDnsMessage) q =
            ms_dns_message_new_query(1, "nomail.example", MS_DNS_TYPE_MX, FALSE);
        g_autoptr(MsDnsMessage) m = ms_dns_message_new_response(q, MS_DNS_RCODE_NOERROR, TRUE);
        g_ptr_array_add(m->answer, ms_dns_record_new_mx("nomail.example", 3600, 0, roots[i]));
        g_autoptr(GBytes) b = ms_dns_message_encode(m);
        gsize n;
        const guint8 *d = g_bytes_get_data(b, &n);
        static const guint8 tail[] = { 0xC0, 12, 0, 15, 0, 1, 0, 0, 0x0E, 0x10, 0, 3, 0, 0, 0 };
        CU_ASSERT_FATAL(n > sizeof tail);
        CU_ASSERT(memcmp(d + n - sizeof tail, tail, sizeof tail) == 0);
        g_autoptr(MsDnsMessage) back = round_trip(m);
        const MsDnsRecord *mx = g_ptr_array_index(back->answer, 0);
        CU_ASSERT(ms_dns_record_is_null_mx(mx));
        CU_ASSERT_STRING_EQUAL(mx->rdata.mx.exchange, "");
    }
    g_autoptr(MsDnsRecord) real = ms_dns_record_new_mx("a.example", 1, 0, "mx.a.example");
    g_autoptr(MsDnsRecord) pref = ms_dns_record_new_mx("a.example", 1, 10, "");
    g_autoptr(MsDnsRecord) a = ms_dns_record_new_a("a.example", 1, 0);
    CU_ASSERT_FALSE(ms_dns_record_is_null_mx(real));
    CU_ASSERT_FALSE(ms_dns_record_is_null_mx(pref));
    CU_ASSERT_FALSE(ms_dns_record_is_null_mx(a));
}

static void
test_names(void)
{
    g_autofree char *n63 = g_strnfill(63, 'x');
    g_autofree char *n64 = g_strnfill(64, 'x');
    g_autofree char *w255 = name_of_wire_length(255);
    g_autofree char *w256 = name_of_wire_length(256);
    g_autofree char *w255dot = g_strconcat(w255, ".", NULL);
    const struct {
        const char *name;
        gboolean ok;
        gint code;
    } cases[] = {
        { "", TRUE, 0 },
        { ".", TRUE, 0 },
        { "com", TRUE, 0 },
        { "example.com.", TRUE, 0 },
        { n63, TRUE, 0 },
        { n64, FALSE, MS_DNS_ERROR_LABEL },
        { w255, TRUE, 0 },
        { w255dot, TRUE, 0 },
        { w256, FALSE, MS_DNS_ERROR_NAME },
        { "a..b", FALSE, MS_DNS_ERROR_LABEL },
        { ".a", FALSE, MS_DNS_ERROR_LABEL },
        { "a.b..", FALSE, MS_DNS_ERROR_LABEL },
        { "..", FALSE, MS_DNS_ERROR_LABEL },
        { "dot\\.inside.example", TRUE, 0 },
        { "nul\\000.example", TRUE, 0 },
        { "bad\\256.example", FALSE, MS_DNS_ERROR_LABEL },
        { "bad\\25", FALSE, MS_DNS_ERROR_LABEL },
        { "bad\\", FALSE, MS_DNS_ERROR_LABEL },
    };
    CU_ASSERT_EQUAL(strlen(w255), 253); /* the longest name in text is 253 */
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        gboolean ok = ms_dns_name_validate(cases[i].name, &error);
        if (ok != cases[i].ok)
            fprintf(stderr, "name case %" G_GSIZE_FORMAT " '%.20s'\n", i, cases[i].name);
        CU_ASSERT_EQUAL(ok, cases[i].ok);
        if (!ok)
            CU_ASSERT(g_error_matches(error, MS_DNS_ERROR, cases[i].code));
    }
    const struct {
        const char *a, *b;
        gboolean eq;
    } eq[] = {
        { "Example.COM", "example.com", TRUE },
        { "example.com.", "EXAMPLE.com", TRUE },
        { "", ".", TRUE },
        { "a\\.b", "A\\.B", TRUE },
        { "a\\066", "ab", TRUE },
        { "a\\.b", "a.b", FALSE },
        { "example.com", "example.org", FALSE },
        { "example.com", "www.example.com", FALSE },
        { "a..b", "a..b", FALSE },
        { "\\200", "\\200", TRUE },
        { "\\200", "\\201", FALSE },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(eq); i++)
        CU_ASSERT_EQUAL(ms_dns_name_equal(eq[i].a, eq[i].b), eq[i].eq);
    /* Equal texts that are not names are not equal names: a 64-octet
     * label, and 128 labels (257 octets on the wire). */
    g_autofree char *label63 = g_strnfill(63, 'x'), *label64 = g_strnfill(64, 'x');
    g_autofree char *ok63 = g_strconcat(label63, ".example", NULL),
                    *bad64 = g_strconcat(label64, ".example", NULL);
    g_autofree char *upper63 = g_ascii_strup(ok63, -1);
    CU_ASSERT_TRUE(ms_dns_name_equal(ok63, upper63));
    CU_ASSERT_FALSE(ms_dns_name_equal(bad64, bad64));
    GString *many = g_string_new("a");
    for (int i = 1; i < 128; i++)
        g_string_append(many, ".a");
    CU_ASSERT_FALSE(ms_dns_name_equal(many->str, many->str));
    g_string_free(many, TRUE);

    /* Odd octets survive the wire and come back escaped. */
    g_autoptr(MsDnsMessage) q =
        ms_dns_message_new_query(1, "a\\.b\\000c\\\\ d.example", MS_DNS_TYPE_A, FALSE);
    g_autoptr(MsDnsMessage) back = round_trip(q);
    CU_ASSERT_STRING_EQUAL(back->qname, "a\\.b\\000c\\\\\\032d.example");
    CU_ASSERT(ms_dns_name_equal(back->qname, q->qname));
    CU_ASSERT_STRING_EQUAL(ms_dns_type_to_string(MS_DNS_TYPE_MX), "MX");
    CU_ASSERT_PTR_NULL(ms_dns_type_to_string(28));
}

/* A builder for hand-made messages: a header with the given counts, then
 * the given body. */
static GByteArray *
hostile(guint16 qd, guint16 an, guint16 ns, guint16 ar, const guint8 *body, gsize n)
{
    guint8 h[12] = { 0xAB,
                     0xCD,
                     0x81,
                     0x80,
                     (guint8) (qd >> 8),
                     (guint8) qd,
                     (guint8) (an >> 8),
                     (guint8) an,
                     (guint8) (ns >> 8),
                     (guint8) ns,
                     (guint8) (ar >> 8),
                     (guint8) ar };
    GByteArray *a = g_byte_array_new();
    g_byte_array_append(a, h, 12);
    if (n)
        g_byte_array_append(a, body, (guint) n);
    return a;
}

#define Q_EXAMPLE 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1 /* 13 octets */

static void
test_hostile(void)
{
    static const guint8 loop[] = { 1, 'a', 0xC0, 12, 0, 1, 0, 1 };
    static const guint8 self[] = { 0xC0, 12, 0, 1, 0, 1 };
    static const guint8 fwd[] = { 0xC0, 16, 0, 1, 0, 1, 1, 'a', 0 };
    static const guint8 header[] = { 1, 'a', 0xC0, 2, 0, 1, 0, 1 };
    static const guint8 reserved[] = { 0x80, 0, 1, 0, 1 };
    static const guint8 short_q[] = { 1, 'a', 0, 0, 1, 0 };
    static const guint8 unterminated[] = { 3, 'a', 'b', 'c', 1, 'x' };
    static const guint8 a5[] = { Q_EXAMPLE, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5 };
    static const guint8 a3[] = { Q_EXAMPLE, 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3 };
    static const guint8 rd_long[] = { Q_EXAMPLE, 0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2 };
    static const guint8 fixed_cut[] = { Q_EXAMPLE, 0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 1, 0 };
    /* MX whose exchange name runs past RDLENGTH 4 (pref + "\1a" then no root). */
    static const guint8 mx_over[] = { Q_EXAMPLE, 0xC0, 12, 0, 15, 0,  1, 0,   0,
                                      0,         1,    0,  4, 0,  10, 1, 'a', 0 };
    /* MX with RDLENGTH 5 but the name ends after 4. */
    static const guint8 mx_under[] = { Q_EXAMPLE, 0xC0, 12, 0, 15, 0,  1,    0,  0,
                                       0,         1,    0,  5, 0,  10, 0xC0, 12, 0 };
    static const guint8 mx_short[] = { Q_EXAMPLE, 0xC0, 12, 0, 15, 0, 1, 0, 0, 0, 1, 0, 2, 0, 10 };
    static const guint8 soa_short[] = { Q_EXAMPLE, 0xC0, 12,   0,  6,    0,  1, 0, 0, 0, 1,
                                        0,         8,    0xC0, 12, 0xC0, 12, 0, 0, 0, 1 };
    static const guint8 trailing[] = { Q_EXAMPLE, 0xFF };
    static const guint8 tlsa2[] = { Q_EXAMPLE, 0xC0, 12, 0, 52, 0, 1, 0, 0, 0, 1, 0, 2, 3, 1 };
    static const guint8 txt0[] = { Q_EXAMPLE, 0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 1, 0, 0 };
    static const guint8 txt_over[] = { Q_EXAMPLE, 0xC0, 12, 0, 16, 0,   1,   0,  0,
                                       0,         1,    0,  4, 4,  'a', 'b', 'c' };
    static const guint8 txt_over2[] = { Q_EXAMPLE, 0xC0, 12, 0, 16, 0,   1, 0,   0,
                                        0,         1,    0,  5, 1,  'a', 3, 'b', 'c' };
    g_autofree guint8 *label64 = g_malloc0(1 + 64 + 1 + 4);
    label64[0] = 64;
    memset(label64 + 1, 'z', 64);
    label64[67] = 1;
    label64[69] = 1;
    /* 256 octets on the wire: three labels of 63 and one of 62, then root. */
    gsize n256 = 256 + 4;
    g_autofree guint8 *name256 = g_malloc0(n256);
    for (gsize i = 0, p = 0; i < 4; i++) {
        gsize l = i < 3 ? 63 : 62;
        name256[p] = (guint8) l;
        memset(name256 + p + 1, 'n', l);
        p += l + 1;
    }
    name256[258] = 1;
    name256[259] = 1;
    const struct {
        const char *what;
        guint16 qd, an;
        const guint8 *body;
        gsize n;
        gint code;
        const char *needle; /* expected in the message */
    } cases[] = {
        { "pointer loop", 1, 0, loop, sizeof loop, MS_DNS_ERROR_POINTER, "loop" },
        { "pointer to itself", 1, 0, self, sizeof self, MS_DNS_ERROR_POINTER, "forward" },
        { "pointer forward", 1, 0, fwd, sizeof fwd, MS_DNS_ERROR_POINTER, "forward" },
        { "pointer into header", 1, 0, header, sizeof header, MS_DNS_ERROR_POINTER, "header" },
        { "reserved label type", 1, 0, reserved, sizeof reserved, MS_DNS_ERROR_LABEL, "0x80" },
        { "label 64", 1, 0, label64, 70, MS_DNS_ERROR_LABEL, "63" },
        { "name 256", 1, 0, name256, n256, MS_DNS_ERROR_NAME, "255" },
        { "question cut", 1, 0, short_q, sizeof short_q, MS_DNS_ERROR_TRUNCATED, "question" },
        { "name unterminated", 1, 0, unterminated, sizeof unterminated, MS_DNS_ERROR_TRUNCATED,
          "past the end" },
        { "counts too large", 1, 0xFFFF, NULL, 0, MS_DNS_ERROR_COUNT, "AN 65535" },
        { "answer missing", 1, 1, (const guint8[]){ Q_EXAMPLE }, 13, MS_DNS_ERROR_COUNT, "need" },
        { "two questions", 2, 0, loop, sizeof loop, MS_DNS_ERROR_UNSUPPORTED, "QDCOUNT" },
        { "A RDLENGTH 5", 1, 1, a5, sizeof a5, MS_DNS_ERROR_RDATA, "not 4" },
        { "A RDLENGTH 3", 1, 1, a3, sizeof a3, MS_DNS_ERROR_RDATA, "not 4" },
        { "RDATA past end", 1, 1, rd_long, sizeof rd_long, MS_DNS_ERROR_TRUNCATED, "RDLENGTH" },
        { "fixed fields cut", 1, 1, fixed_cut, sizeof fixed_cut, MS_DNS_ERROR_TRUNCATED, "fixed" },
        { "MX name past RDATA", 1, 1, mx_over, sizeof mx_over, MS_DNS_ERROR_RDATA, "RDATA" },
        { "MX name short of RDATA", 1, 1, mx_under, sizeof mx_under, MS_DNS_ERROR_RDATA,
          "RDLENGTH" },
        { "MX RDLENGTH 2", 1, 1, mx_short, sizeof mx_short, MS_DNS_ERROR_RDATA, "below 3" },
        { "SOA without numbers", 1, 1, soa_short, sizeof soa_short, MS_DNS_ERROR_RDATA, "20" },
        { "trailing octet", 1, 0, trailing, sizeof trailing, MS_DNS_ERROR_TRAILING, "left over" },
        { "TLSA RDLENGTH 2", 1, 1, tlsa2, sizeof tlsa2, MS_DNS_ERROR_RDATA, "below 3" },
        { "TXT without a string", 1, 1, txt0, sizeof txt0, MS_DNS_ERROR_RDATA, "no character" },
        { "TXT string past RDATA", 1, 1, txt_over, sizeof txt_over, MS_DNS_ERROR_RDATA,
          "claims 4 octets, but only 3" },
        { "TXT second string past RDATA", 1, 1, txt_over2, sizeof txt_over2, MS_DNS_ERROR_RDATA,
          "2 octets into the RDATA claims 3" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GByteArray) a =
            hostile(cases[i].qd, cases[i].an, 0, 0, cases[i].body, cases[i].n);
        g_autoptr(GError) error = NULL;
        g_autoptr(MsDnsMessage) m = ms_dns_message_decode(a->data, a->len, &error);
        gboolean good = m == NULL && g_error_matches(error, MS_DNS_ERROR, cases[i].code) &&
                        strstr(error->message, cases[i].needle) != NULL;
        if (!good)
            fprintf(stderr, "hostile case '%s': %s\n", cases[i].what,
                    error ? error->message : "accepted");
        CU_ASSERT(good);
    }
    /* The header boundary: 11 octets refused, 12 (an empty message) fine. */
    static const guint8 hdr[12] = { 1, 2 };
    for (gsize n = 0; n < 12; n++) {
        g_autoptr(GError) error = NULL;
        CU_ASSERT_PTR_NULL(ms_dns_message_decode(n ? hdr : NULL, n, &error));
        CU_ASSERT(g_error_matches(error, MS_DNS_ERROR, MS_DNS_ERROR_TRUNCATED));
    }
    g_autoptr(MsDnsMessage) empty = ms_dns_message_decode(hdr, 12, NULL);
    CU_ASSERT_PTR_NOT_NULL(empty);
    /* The 255-octet side of the name limit decodes. */
    name256[0] = 62;
    memmove(name256 + 63, name256 + 64, n256 - 64);
    g_autoptr(GByteArray) ok255 = hostile(1, 0, 0, 0, name256, n256 - 1);
    g_autoptr(MsDnsMessage) m255 = ms_dns_message_decode(ok255->data, ok255->len, NULL);
    CU_ASSERT_PTR_NOT_NULL(m255);
    /* A pointer chain going strictly backwards is fine. */
    static const guint8 chain[] = {
        Q_EXAMPLE, 0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 6,  3, 'w', 'w',
        'w',       0xC0, 12,                                           /* CNAME at 25 */
        0xC0,      37,   0,  1, 0, 1, 0, 0, 0, 1, 0, 4, 10, 0, 0,   1, /* A www.example */
    };
    g_autoptr(GByteArray) c = hostile(1, 2, 0, 0, chain, sizeof chain);
    g_autoptr(GError) cerr = NULL;
    g_autoptr(MsDnsMessage) cm = ms_dns_message_decode(c->data, c->len, &cerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cm);
    const MsDnsRecord *arec = g_ptr_array_index(cm->answer, 1);
    CU_ASSERT_STRING_EQUAL(arec->name, "www.example");
    CU_ASSERT_EQUAL(arec->rdata.a, 0x0A000001);
}

/* The TLSA of RFC 6698 2.3's first example, "0 0 1 d2abde24...": */
static const guint8 rfc6698_digest[32] = {
    0xd2, 0xab, 0xde, 0x24, 0x0d, 0x7c, 0xd3, 0xee, 0x6b, 0x4b, 0x28, 0xc5, 0x4d, 0xf0, 0x34, 0xb9,
    0x79, 0x83, 0xa1, 0xd1, 0x6e, 0x8a, 0x41, 0x0e, 0x45, 0x61, 0xcb, 0x10, 0x66, 0x18, 0xe9, 0x71,
};

/* A response carrying the TLSA above, a TXT of 300 octets (two strings) and
 * an MTA-STS TXT record; caller frees. */
static MsDnsMessage *
tlsa_txt_response(char **long_text)
{
    g_autoptr(MsDnsMessage) q =
        ms_dns_message_new_query(0x5151, "_443._tcp.www.example.com", MS_DNS_TYPE_TLSA, TRUE);
    MsDnsMessage *m = ms_dns_message_new_response(q, MS_DNS_RCODE_NOERROR, TRUE);
    g_ptr_array_add(m->answer, ms_dns_record_new_tlsa("_443._tcp.www.example.com", 3600, 0, 0, 1,
                                                      rfc6698_digest, sizeof rfc6698_digest));
    GString *t = g_string_new(NULL);
    for (guint i = 0; i < 300; i++)
        g_string_append_c(t, (char) ('a' + i % 26));
    *long_text = g_string_free(t, FALSE);
    g_ptr_array_add(m->additional, ms_dns_record_new_txt("long.example.com", 60, *long_text));
    g_ptr_array_add(m->additional, ms_dns_record_new_txt("_mta-sts.example.com", 60,
                                                         "v=STSv1; id=20160831085700Z;"));
    return m;
}

/* Finds `needle` in `hay` and returns its offset, or -1. */
static gssize
find_octets(const guint8 *hay, gsize n, const guint8 *needle, gsize k)
{
    for (gsize i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return (gssize) i;
    return -1;
}

static void
test_tlsa_txt_wire(void)
{
    g_autofree char *long_text = NULL;
    g_autoptr(MsDnsMessage) m = tlsa_txt_response(&long_text);
    g_autoptr(GBytes) b = ms_dns_message_encode(m);
    gsize n;
    const guint8 *d = g_bytes_get_data(b, &n);
    /* The TLSA answer: owner a pointer to the question, TYPE 52, CLASS IN,
     * TTL 3600, RDLENGTH 35, then usage, selector, matching type and the
     * 32-octet digest (RFC 6698 2.1). */
    guint8 tlsa[10 + 2 + 3 + 32] = {
        0xC0, 12, 0x00, 52, 0x00, 0x01, 0x00, 0x00, 0x0E, 0x10, 0x00, 35, 0, 0, 1,
    };
    memcpy(tlsa + 15, rfc6698_digest, 32);
    CU_ASSERT(find_octets(d, n, tlsa, sizeof tlsa) > 12);
    /* The long TXT: TYPE 16, RDLENGTH 302, a string of 255 octets (length
     * octet 0xFF) then one of 45 (0x2D) (RFC 1035 3.3.14). */
    static const guint8 txt_head[] = { 0x00, 16,   0x00, 0x01, 0x00, 0x00, 0x00,
                                       60,   0x01, 0x2E, 0xFF, 'a',  'b' };
    gssize at = find_octets(d, n, txt_head, sizeof txt_head);
    CU_ASSERT_FATAL(at > 0);
    CU_ASSERT_EQUAL(d[at + 10 + 256], 45);
    CU_ASSERT_EQUAL(memcmp(d + at + 11, long_text, 255), 0);
    CU_ASSERT_EQUAL(memcmp(d + at + 10 + 257, long_text + 255, 45), 0);
    /* The empty TXT is one empty string: RDLENGTH 1, RDATA 00. */
    g_autoptr(MsDnsMessage) e = ms_dns_message_new();
    g_ptr_array_add(e->answer, ms_dns_record_new_txt("e.example", 0, ""));
    g_autoptr(GBytes) eb = ms_dns_message_encode(e);
    static const guint8 empty_txt[] = { 1, 'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
                                        0, 16,  0, 1,   0,   0,   0,   0,   0,   1,   0 };
    gsize en;
    const guint8 *ed = g_bytes_get_data(eb, &en);
    CU_ASSERT(en == 12 + sizeof empty_txt && memcmp(ed + 12, empty_txt, sizeof empty_txt) == 0);

    /* Decoded back: typed fields, and the strings joined again. */
    g_autoptr(MsDnsMessage) back = round_trip(m);
    CU_ASSERT(message_equal(m, back));
    const MsDnsRecord *t = g_ptr_array_index(back->answer, 0);
    CU_ASSERT_EQUAL(t->type, MS_DNS_TYPE_TLSA);
    CU_ASSERT_EQUAL(t->rdata.tlsa.matching_type, 1);
    CU_ASSERT(bytes_equal(t->rdata.tlsa.data, rfc6698_digest, 32));
    const MsDnsRecord *lt = g_ptr_array_index(back->additional, 0);
    CU_ASSERT_EQUAL(lt->rdata.txt->len, 2);
    g_autoptr(GBytes) joined = ms_dns_record_txt_join(lt);
    CU_ASSERT(bytes_equal(joined, (const guint8 *) long_text, 300));
    CU_ASSERT_STRING_EQUAL(ms_dns_type_to_string(MS_DNS_TYPE_TLSA), "TLSA");
    CU_ASSERT_STRING_EQUAL(ms_dns_type_to_string(MS_DNS_TYPE_TXT), "TXT");
    /* Raw RDATA of these types becomes their typed form. */
    static const guint8 raw_txt[] = { 2, 'h', 'i', 0, 1, '!' };
    g_autoptr(MsDnsRecord) rt =
        ms_dns_record_new_raw("x.example", MS_DNS_TYPE_TXT, 1, 5, raw_txt, sizeof raw_txt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    CU_ASSERT_EQUAL(rt->rdata.txt->len, 3);
    g_autoptr(GBytes) rj = ms_dns_record_txt_join(rt);
    CU_ASSERT(bytes_equal(rj, (const guint8 *) "hi!", 3));
    g_autoptr(MsDnsRecord) copy = ms_dns_record_copy(rt);
    CU_ASSERT(record_equal(rt, copy));

    /* tshark, an independent decoder, reads the same fields. */
    g_autofree char *tshark = g_find_program_in_path("tshark");
    if (!tshark) {
        ms_test_skip("tshark not found in PATH; the TLSA and TXT layout was checked octet by"
                     " octet only");
        return;
    }
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-tlsa-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *path = g_build_filename(dir, "tlsa.pcapng", NULL);
    MsPcapWriter *w = ms_pcap_writer_new(path, &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    guint iface = ms_pcap_writer_add_interface(w, "dns");
    ms_pcap_writer_udp(w, iface, 1000000000, 0x0A000035, 0x0A000001, 53, 40000, 64, 1, d, n);
    CU_ASSERT(ms_pcap_writer_close(w, &error));
    const char *argv[] = { tshark, "-n",
                           "-r",   path,
                           "-T",   "fields",
                           "-E",   "separator=|",
                           "-e",   "dns.tlsa.certificate_usage",
                           "-e",   "dns.tlsa.selector",
                           "-e",   "dns.tlsa.matching_type",
                           "-e",   "dns.tlsa.certificate_association_data",
                           "-e",   "dns.txt",
                           "-e",   "_ws.malformed",
                           "-e",   "_ws.expert",
                           NULL };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(ms_test_spawn(argv, &out, &err), 0);
    g_autofree char *want = g_strdup_printf(
        "0|0|1|d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971|%.255s,%s,"
        "v=STSv1; id=20160831085700Z;||\n",
        long_text, long_text + 255);
    if (g_strcmp0(out, want) != 0)
        fprintf(stderr, "tshark:\n%s\nwanted:\n%s\n", out, want);
    CU_ASSERT_STRING_EQUAL(out ? out : "", want);
    g_unlink(path);
    g_rmdir(dir);
}

/* Decodes `d`; when it is accepted, encoding is total and idempotent:
 * encode(decode(encode(decode(d)))) == encode(decode(d)). */
static guint
check_input(const guint8 *d, gsize n)
{
    g_autoptr(MsDnsMessage) m = ms_dns_message_decode(d, n, NULL);
    if (!m)
        return 0;
    g_autoptr(GBytes) e1 = ms_dns_message_encode(m);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
    gsize n1;
    const guint8 *d1 = g_bytes_get_data(e1, &n1);
    g_autoptr(MsDnsMessage) m2 = ms_dns_message_decode(d1, n1, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
    CU_ASSERT(message_equal(m, m2));
    g_autoptr(GBytes) e2 = ms_dns_message_encode(m2);
    CU_ASSERT(g_bytes_equal(e1, e2));
    return 1;
}

static void
test_random_inputs(void)
{
    MsRng rng;
    ms_rng_init_named(&rng, 20240601, "dns-codec-fuzz");
    guint8 buf[600];
    guint accepted = 0;
    /* Random strings, biased towards small counts so some get past the header. */
    for (guint i = 0; i < 4000; i++) {
        gsize n = (gsize) ms_rng_below(&rng, sizeof buf + 1);
        for (gsize k = 0; k < n; k++)
            buf[k] = (guint8) ms_rng_next(&rng);
        if (n >= 12 && (i & 1)) {
            for (gsize k = 4; k < 12; k += 2) {
                buf[k] = 0;
                buf[k + 1] = (guint8) ms_rng_below(&rng, 3);
            }
        }
        accepted += check_input(buf, n);
    }
    /* Mutations of a rich valid message: byte flips, truncations, splices. */
    g_autoptr(MsDnsMessage) q = ms_dns_message_new_query(5, "example.com", MS_DNS_TYPE_MX, TRUE);
    g_autoptr(MsDnsMessage) m = ms_dns_message_new_response(q, MS_DNS_RCODE_NOERROR, TRUE);
    g_ptr_array_add(m->answer, ms_dns_record_new_mx("example.com", 60, 10, "mx1.example.com"));
    g_ptr_array_add(m->answer, ms_dns_record_new_mx("example.com", 60, 0, ""));
    g_ptr_array_add(m->authority, ms_dns_record_new_ns("example.com", 60, "ns.example.com"));
    g_ptr_array_add(m->authority, ms_dns_record_new_soa("example.com", 60, "ns.example.com",
                                                        "h.example.com", 1, 2, 3, 4, 5));
    g_ptr_array_add(m->additional, ms_dns_record_new_a("mx1.example.com", 60, 0x0A000001));
    g_ptr_array_add(m->additional, ms_dns_record_new_cname("w.example.com", 60, "example.com"));
    static const guint8 txt[] = { 2, 'h', 'i' };
    g_ptr_array_add(m->additional, ms_dns_record_new_raw("example.com", 16, 1, 60, txt, 3));
    g_autoptr(GBytes) valid = ms_dns_message_encode(m);
    gsize vn;
    const guint8 *vd = g_bytes_get_data(valid, &vn);
    CU_ASSERT_FATAL(vn <= sizeof buf);
    CU_ASSERT_EQUAL(check_input(vd, vn), 1);
    guint mutants_accepted = 0;
    for (guint i = 0; i < 4000; i++) {
        memcpy(buf, vd, vn);
        gsize n = vn;
        guint flips = 1 + (guint) ms_rng_below(&rng, 4);
        for (guint f = 0; f < flips; f++) {
            gsize at = (gsize) ms_rng_below(&rng, n);
            switch (ms_rng_below(&rng, 4)) {
            case 0:
                buf[at] = (guint8) ms_rng_next(&rng);
                break;
            case 1:
                buf[at] ^= (guint8) (1u << ms_rng_below(&rng, 8));
                break;
            case 2:
                buf[at] = (guint8) (0xC0 | ms_rng_below(&rng, 2));
                break;
            default:
                n = at;
                break; /* truncate */
            }
            if (n == 0)
                break;
        }
        mutants_accepted += check_input(buf, n);
    }
    /* Not a correctness claim, but shows the mutations reach deep: some
     * survive (a changed TTL, say) and most do not. */
    CU_ASSERT(mutants_accepted > 100 && mutants_accepted < 3900);
    printf("\n  random: %u of 4000 accepted; mutants: %u of 4000 accepted\n", accepted,
           mutants_accepted);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "query bytes for example.com MX", test_query_bytes },
        { "round trip of each record type", test_round_trip_types },
        { "compression shrinks repeated names", test_compression },
        { "NXDOMAIN with SOA, negative TTL", test_nxdomain },
        { "null MX", test_null_mx },
        { "names: limits, escapes, equality", test_names },
        { "TLSA and TXT on the wire", test_tlsa_txt_wire },
        { "hostile messages are refused", test_hostile },
        { "random inputs and mutations", test_random_inputs },
        { NULL, NULL },
    };
    return ms_test_main("dns_codec", cases);
}

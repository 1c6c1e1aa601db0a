/* Tests of the pcapng writer. One capture holds a DNS query and response
 * over UDP port 53 (built with the DNS codec), a TCP handshake with MSS
 * options, an SMTP greeting, EHLO and reply, QUIT, and a FIN close. The
 * file is checked twice: by our own reader (block structure, lengths, every
 * IPv4/TCP/UDP checksum) and by tshark, which must decode SMTP and DNS, find
 * nothing malformed and no bad checksum (and does find one we plant), and
 * show nanosecond timestamps. Also: errors name the path, one sequence of
 * calls gives one byte-identical file, and a size limit keeps the file whole
 * blocks within the limit (from the writer and from `mailsim run
 * --pcap-limit`), changing nothing when the capture fits. */
#include "testlib.h"
#include "mailsim/dns_codec.h"
#include "mailsim/pcap_writer.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT    0x0A000001u /* 10.0.0.1 */
#define SERVER    0x0A000002u /* 10.0.0.2 */
#define DNS_SRV   0x0A000035u /* 10.0.0.53 */
#define T0        1234567890  /* first packet: 1.234567890 s */
#define MS        1000000     /* one millisecond in ns */
#define N_PACKETS 14

static const char greeting[] = "220 mx.example.com ESMTP mailsim\r\n";
static const char ehlo[] = "EHLO client.example.org\r\n";
static const char ehlo_reply[] = "250-mx.example.com\r\n250 8BITMIME\r\n";
static const char quit[] = "QUIT\r\n";
static const char bye[] = "221 2.0.0 Bye\r\n";

/* What tshark's Protocol column must say for frames 1..14. */
static const char *const expected_protocol[N_PACKETS] = {
    "DNS",  "DNS",  "TCP",  "TCP",  "TCP", "SMTP", "TCP",
    "SMTP", "SMTP", "SMTP", "SMTP", "TCP", "TCP",  "TCP",
};

static void
smtp_data(MsPcapWriter *w, guint iface, gint64 t, gboolean from_client, guint32 *cseq,
          guint32 *sseq, const char *text)
{
    gsize n = strlen(text);
    if (from_client) {
        ms_pcap_writer_tcp(w, iface, t, CLIENT, SERVER, 40000, 25, *cseq, *sseq,
                           MS_TCP_PSH | MS_TCP_ACK, 64240, 64, 0x100, (const guint8 *) text, n);
        *cseq += (guint32) n;
    } else {
        ms_pcap_writer_tcp(w, iface, t, SERVER, CLIENT, 25, 40000, *sseq, *cseq,
                           MS_TCP_PSH | MS_TCP_ACK, 65160, 63, 0x200, (const guint8 *) text, n);
        *sseq += (guint32) n;
    }
}

/* Writes the capture described at the top, bounded to `limit` octets
 * (0: none); returns FALSE with error set when the writer reports one.
 * `left_out` (may be NULL) gets the packets the limit kept out. */
static gboolean
write_capture_limited(const char *path, guint64 limit, guint64 *left_out, GError **error)
{
    MsPcapWriter *w = ms_pcap_writer_new(path, error);
    if (!w)
        return FALSE;
    if (!ms_pcap_writer_set_limit(w, limit, error)) {
        ms_pcap_writer_free(w);
        return FALSE;
    }
    guint lan = ms_pcap_writer_add_interface(w, "client-lan");
    guint wan = ms_pcap_writer_add_interface(w, "isp-dns");
    CU_ASSERT_EQUAL(lan, 0);
    CU_ASSERT_EQUAL(wan, 1);

    /* DNS: MX query for example.com and its answer. */
    g_autoptr(MsDnsMessage) q =
        ms_dns_message_new_query(0xBEEF, "example.com", MS_DNS_TYPE_MX, TRUE);
    g_autoptr(MsDnsMessage) r = ms_dns_message_new_response(q, MS_DNS_RCODE_NOERROR, TRUE);
    g_ptr_array_add(r->answer, ms_dns_record_new_mx("example.com", 3600, 10, "mx.example.com"));
    g_ptr_array_add(r->additional, ms_dns_record_new_a("mx.example.com", 3600, SERVER));
    g_autoptr(GBytes) qb = ms_dns_message_encode(q);
    g_autoptr(GBytes) rb = ms_dns_message_encode(r);
    gsize qn, rn;
    const guint8 *qd = g_bytes_get_data(qb, &qn);
    const guint8 *rd = g_bytes_get_data(rb, &rn);
    ms_pcap_writer_udp(w, wan, T0, CLIENT, DNS_SRV, 53000, 53, 64, 1, qd, qn);
    ms_pcap_writer_udp(w, wan, T0 + 2 * MS, DNS_SRV, CLIENT, 53, 53000, 62, 7, rd, rn);

    /* Handshake with MSS and SACK-permitted options (RFC 9293 3.5, RFC 2018 2). */
    guint32 cseq = 1000, sseq = 5000;
    MsPcapTcp syn = { .src_ip = CLIENT,
                      .dst_ip = SERVER,
                      .sport = 40000,
                      .dport = 25,
                      .seq = cseq,
                      .flags = MS_TCP_SYN,
                      .window = 64240,
                      .ttl = 64,
                      .ip_id = 0x100,
                      .mss = 1460,
                      .sack_perm = TRUE };
    ms_pcap_writer_tcp_segment(w, lan, T0 + 3 * MS, &syn, NULL, 0);
    cseq++;
    MsPcapTcp synack = { .src_ip = SERVER,
                         .dst_ip = CLIENT,
                         .sport = 25,
                         .dport = 40000,
                         .seq = sseq,
                         .ack = cseq,
                         .flags = MS_TCP_SYN | MS_TCP_ACK,
                         .window = 65160,
                         .ttl = 63,
                         .ip_id = 0x200,
                         .mss = 1400,
                         .sack_perm = TRUE };
    ms_pcap_writer_tcp_segment(w, lan, T0 + 4 * MS, &synack, NULL, 0);
    sseq++;
    ms_pcap_writer_tcp(w, lan, T0 + 5 * MS, CLIENT, SERVER, 40000, 25, cseq, sseq, MS_TCP_ACK,
                       64240, 64, 0x101, NULL, 0);

    /* SMTP (RFC 5321 4.2, 4.1.1.1, 4.1.1.10). */
    smtp_data(w, lan, T0 + 6 * MS, FALSE, &cseq, &sseq, greeting);
    /* The ACK of the greeting carries two SACK blocks (RFC 2018 3), as if
     * the server had sent more. */
    MsPcapTcp sack = { .src_ip = CLIENT,
                       .dst_ip = SERVER,
                       .sport = 40000,
                       .dport = 25,
                       .seq = cseq,
                       .ack = sseq,
                       .flags = MS_TCP_ACK,
                       .window = 64240,
                       .ttl = 64,
                       .ip_id = 0x102,
                       .n_sack = 2,
                       .sack = { sseq + 3000, sseq + 4000, sseq + 1000, sseq + 2000 } };
    ms_pcap_writer_tcp_segment(w, lan, T0 + 7 * MS, &sack, NULL, 0);
    smtp_data(w, lan, T0 + 8 * MS, TRUE, &cseq, &sseq, ehlo);
    smtp_data(w, lan, T0 + 9 * MS, FALSE, &cseq, &sseq, ehlo_reply);
    smtp_data(w, lan, T0 + 10 * MS, TRUE, &cseq, &sseq, quit);
    smtp_data(w, lan, T0 + 11 * MS, FALSE, &cseq, &sseq, bye);

    /* Close: each side's FIN takes one sequence number. */
    ms_pcap_writer_tcp(w, lan, T0 + 12 * MS, CLIENT, SERVER, 40000, 25, cseq, sseq,
                       MS_TCP_FIN | MS_TCP_ACK, 64240, 64, 0x103, NULL, 0);
    cseq++;
    ms_pcap_writer_tcp(w, lan, T0 + 13 * MS, SERVER, CLIENT, 25, 40000, sseq, cseq,
                       MS_TCP_FIN | MS_TCP_ACK, 65160, 63, 0x201, NULL, 0);
    sseq++;
    ms_pcap_writer_tcp(w, lan, T0 + 14 * MS, CLIENT, SERVER, 40000, 25, cseq, sseq, MS_TCP_ACK,
                       64240, 64, 0x104, NULL, 0);
    gint64 first = 0;
    guint64 out = ms_pcap_writer_left_out(w, &first);
    CU_ASSERT_EQUAL(ms_pcap_writer_packets(w) + out, N_PACKETS);
    CU_ASSERT(out ? first >= T0 : first == -1);
    if (left_out)
        *left_out = out;
    return ms_pcap_writer_close(w, error);
}

static gboolean
write_capture(const char *path, GError **error)
{
    return write_capture_limited(path, 0, NULL, error);
}

static guint32
rd_le32(const guint8 *p)
{
    return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

/* RFC 1071 sum over [p, p+n) plus `sum`, folded; 0xFFFF means the data
 * including its checksum field verifies (returned as the complement, 0). */
static guint16
verify_sum(guint32 sum, const guint8 *p, gsize n)
{
    for (gsize i = 0; i + 1 < n; i += 2)
        sum += (guint32) ((p[i] << 8) | p[i + 1]);
    if (n % 2)
        sum += (guint32) (p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (guint16) ~sum;
}

/* Our own reader: block structure and all checksums. Returns the number of
 * packets, or -1 after a failed assertion. */
static int
check_file_structure(const char *path)
{
    g_autofree guint8 *d = NULL;
    gsize n = 0;
    CU_ASSERT_FATAL(g_file_get_contents(path, (char **) &d, &n, NULL));
    CU_ASSERT_FATAL(n >= 28 && rd_le32(d) == 0x0A0D0D0A && rd_le32(d + 8) == 0x1A2B3C4D);
    int packets = 0;
    gsize at = 0;
    while (at < n) {
        CU_ASSERT_FATAL(n - at >= 12);
        guint32 type = rd_le32(d + at);
        guint32 len = rd_le32(d + at + 4);
        CU_ASSERT_FATAL(len % 4 == 0 && len >= 12 && len <= n - at);
        CU_ASSERT_EQUAL_FATAL(rd_le32(d + at + len - 4), len);
        if (type == 1) {
            CU_ASSERT_EQUAL(d[at + 8] | (d[at + 9] << 8), 228);
        } else if (type == 6) {
            const guint8 *ip = d + at + 28;
            guint32 cap = rd_le32(d + at + 20);
            CU_ASSERT_FATAL(cap >= 28 && 28 + cap <= len - 4);
            CU_ASSERT_EQUAL(ip[0], 0x45);
            CU_ASSERT_EQUAL((guint32) ((ip[2] << 8) | ip[3]), cap);
            CU_ASSERT_EQUAL(verify_sum(0, ip, 20), 0);
            guint8 pseudo[12];
            memcpy(pseudo, ip + 12, 8);
            pseudo[8] = 0;
            pseudo[9] = ip[9];
            pseudo[10] = (guint8) ((cap - 20) >> 8);
            pseudo[11] = (guint8) (cap - 20);
            guint32 ps = 0;
            for (int k = 0; k < 12; k += 2)
                ps += (guint32) ((pseudo[k] << 8) | pseudo[k + 1]);
            CU_ASSERT_EQUAL(verify_sum(ps, ip + 20, cap - 20), 0);
            packets++;
        }
        at += len;
    }
    return packets;
}

/* Runs tshark (`prog`, a full path) with checksum validation on and the extra arguments;
 * returns its stdout (caller frees) or NULL. */
static char *
tshark(const char *prog, const char *path, const char *const *extra)
{
    GPtrArray *argv = g_ptr_array_new();
    const char *base[] = { prog, "-n",
                           "-r", path,
                           "-o", "tcp.check_checksum:TRUE",
                           "-o", "ip.check_checksum:TRUE",
                           "-o", "udp.check_checksum:TRUE" };
    for (gsize i = 0; i < G_N_ELEMENTS(base); i++)
        g_ptr_array_add(argv, (gpointer) base[i]);
    for (; *extra; extra++)
        g_ptr_array_add(argv, (gpointer) *extra);
    g_ptr_array_add(argv, NULL);
    g_autofree char *err = NULL;
    char *out = NULL;
    int rc = ms_test_spawn((const char *const *) argv->pdata, &out, &err);
    g_ptr_array_free(argv, TRUE);
    if (rc != 0) {
        fprintf(stderr, "tshark exited %d: %s\n", rc, err ? err : "");
        g_clear_pointer(&out, g_free);
    }
    return out;
}

static void
test_capture(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mailsim-pcapng-XXXXXX", &error);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *path = g_build_filename(dir, "smtp.pcapng", NULL);
    g_autofree char *bad = g_build_filename(dir, "bad.pcapng", NULL);
    CU_ASSERT_FATAL(write_capture(path, &error));
    CU_ASSERT_EQUAL(check_file_structure(path), N_PACKETS);

    g_autofree char *prog = g_find_program_in_path("tshark");
    if (!prog) {
        ms_test_skip("tshark not found in PATH; the capture was checked only by"
                     " our own reader, not decoded by Wireshark");
    } else {
        /* Packets, protocols and nanosecond timestamps. */
        const char *fields[] = { "-T", "fields",
                                 "-e", "frame.number",
                                 "-e", "_ws.col.Protocol",
                                 "-e", "frame.time_epoch",
                                 "-e", "tcp.options.mss_val",
                                 "-e", "ip.checksum.status",
                                 "-e", "tcp.checksum.status",
                                 "-e", "udp.checksum.status",
                                 "-e", "dns.mx.mail_exchange",
                                 NULL };
        g_autofree char *out = tshark(prog, path, fields);
        CU_ASSERT_PTR_NOT_NULL_FATAL(out);
        /* Trailing fields can be empty: strip newlines only, not tabs. */
        gsize olen = strlen(out);
        while (olen > 0 && out[olen - 1] == '\n')
            out[--olen] = '\0';
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        CU_ASSERT_EQUAL_FATAL(g_strv_length(lines), N_PACKETS);
        for (guint i = 0; i < N_PACKETS; i++) {
            g_auto(GStrv) f = g_strsplit(lines[i], "\t", -1);
            CU_ASSERT_FATAL(g_strv_length(f) == 8);
            CU_ASSERT_EQUAL(atoi(f[0]), (int) i + 1);
            if (strcmp(f[1], expected_protocol[i]) != 0)
                fprintf(stderr, "frame %u: protocol %s, expected %s\n", i + 1, f[1],
                        expected_protocol[i]);
            CU_ASSERT_STRING_EQUAL(f[1], expected_protocol[i]);
            CU_ASSERT_STRING_EQUAL(f[4], "1");                /* IP checksum: Good */
            CU_ASSERT_STRING_EQUAL(i < 2 ? f[6] : f[5], "1"); /* UDP or TCP checksum */
        }
        g_auto(GStrv) first = g_strsplit(lines[0], "\t", -1);
        CU_ASSERT_STRING_EQUAL(first[2], "1.234567890");
        g_auto(GStrv) second = g_strsplit(lines[1], "\t", -1);
        CU_ASSERT_STRING_EQUAL(second[2], "1.236567890");
        CU_ASSERT_STRING_EQUAL(second[7], "mx.example.com");
        g_auto(GStrv) syn = g_strsplit(lines[2], "\t", -1);
        CU_ASSERT_STRING_EQUAL(syn[3], "1460");
        g_auto(GStrv) synack = g_strsplit(lines[3], "\t", -1);
        CU_ASSERT_STRING_EQUAL(synack[3], "1400");

        /* SMTP as Wireshark reads it: the EHLO command and the 250 reply. */
        const char *smtp[] = {
            "-Y", "smtp", "-T", "fields", "-e", "smtp.req.command", "-e", "smtp.response.code", NULL
        };
        g_autofree char *sout = tshark(prog, path, smtp);
        CU_ASSERT_PTR_NOT_NULL_FATAL(sout);
        CU_ASSERT(strstr(sout, "EHLO") != NULL);
        CU_ASSERT(strstr(sout, "QUIT") != NULL);
        CU_ASSERT(strstr(sout, "\t220") != NULL && strstr(sout, "\t250") != NULL);

        /* The SACK options as Wireshark reads them: SACK-permitted on the
         * SYN and SYN-ACK (frames 3 and 4), two blocks on frame 7, most
         * recent first, relative to the server's ISN (its greeting took 34). */
        const char *perm[] = { "-Y", "tcp.options.sack_perm", "-T", "fields",
                               "-e", "frame.number",          NULL };
        g_autofree char *permout = tshark(prog, path, perm);
        CU_ASSERT_PTR_NOT_NULL_FATAL(permout);
        CU_ASSERT_STRING_EQUAL(permout, "3\n4\n");
        const char *blocks[] = { "-Y", "tcp.options.sack_le", "-T", "fields",
                                 "-e", "frame.number",        "-e", "tcp.options.sack_le",
                                 "-e", "tcp.options.sack_re", NULL };
        g_autofree char *bl = tshark(prog, path, blocks);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
        if (g_strcmp0(bl, "7\t3035,1035\t4035,2035\n") != 0)
            fprintf(stderr, "tshark SACK blocks: %s\n", bl);
        CU_ASSERT_STRING_EQUAL(bl, "7\t3035,1035\t4035,2035\n");

        /* Nothing malformed, no error-level expert info (bad checksums are). */
        const char *problems[] = { "-Y", "_ws.malformed || _ws.expert.severity >= error", NULL };
        g_autofree char *pout = tshark(prog, path, problems);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pout);
        if (*g_strstrip(pout))
            fprintf(stderr, "tshark found problems:\n%s\n", pout);
        CU_ASSERT_STRING_EQUAL(pout, "");

        /* Control: the same filter does see a checksum we break on purpose. */
        g_autofree char *data = NULL;
        gsize n;
        CU_ASSERT_FATAL(g_file_get_contents(path, &data, &n, NULL));
        gsize at = 0;
        while (at + 4 <= n && memcmp(data + at, "EHLO", 4) != 0)
            at++;
        CU_ASSERT_FATAL(at + 4 <= n);
        data[at] = 'F';
        CU_ASSERT_FATAL(g_file_set_contents(bad, data, (gssize) n, NULL));
        g_autofree char *bout = tshark(prog, bad, problems);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bout);
        g_auto(GStrv) blines = g_strsplit(g_strstrip(bout), "\n", -1);
        CU_ASSERT_EQUAL(g_strv_length(blines), 1);
        g_remove(bad);
    }
    CU_ASSERT_EQUAL(g_remove(path), 0);
    CU_ASSERT_EQUAL(g_rmdir(dir), 0);
}

static void
test_deterministic(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-pcapng-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    g_autofree char *a = g_build_filename(dir, "a.pcapng", NULL);
    g_autofree char *b = g_build_filename(dir, "b.pcapng", NULL);
    CU_ASSERT_FATAL(write_capture(a, NULL) && write_capture(b, NULL));
    g_autofree char *da = NULL, *db = NULL;
    gsize na, nb;
    CU_ASSERT_FATAL(g_file_get_contents(a, &da, &na, NULL) &&
                    g_file_get_contents(b, &db, &nb, NULL));
    CU_ASSERT(na == nb && memcmp(da, db, na) == 0);
    g_remove(a);
    g_remove(b);
    g_rmdir(dir);
}

static void
test_errors(void)
{
    /* Cannot create: the error names the path. */
    g_autoptr(GError) error = NULL;
    const char *missing = "/nonexistent-mailsim-dir/x.pcapng";
    CU_ASSERT_PTR_NULL(ms_pcap_writer_new(missing, &error));
    CU_ASSERT(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    CU_ASSERT(error && strstr(error->message, missing) != NULL);
    g_clear_error(&error);

    /* A full disk: buffered writes succeed, close reports ENOSPC. */
    if (g_file_test("/dev/full", G_FILE_TEST_EXISTS)) {
        MsPcapWriter *w = ms_pcap_writer_new("/dev/full", &error);
        CU_ASSERT_PTR_NOT_NULL_FATAL(w);
        guint i = ms_pcap_writer_add_interface(w, "x");
        static const guint8 payload[100];
        for (guint k = 0; k < 1000; k++) /* about 150 KB: past the stdio buffer */
            ms_pcap_writer_udp(w, i, k, CLIENT, SERVER, 1, 2, 64, (guint16) k, payload,
                               sizeof payload);
        CU_ASSERT_FALSE(ms_pcap_writer_close(w, &error));
        CU_ASSERT(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOSPC));
        CU_ASSERT(error && strstr(error->message, "/dev/full") != NULL);
    } else {
        ms_test_skip("no /dev/full, write-error path not exercised");
    }
    ms_pcap_writer_free(NULL);

    /* Free without close still closes the file. */
    g_autofree char *dir = g_dir_make_tmp("mailsim-pcapng-XXXXXX", NULL);
    g_autofree char *p = g_build_filename(dir, "f.pcapng", NULL);
    g_autoptr(MsPcapWriter) w = ms_pcap_writer_new(p, NULL);
    CU_ASSERT_PTR_NOT_NULL(w);
    g_clear_pointer(&w, ms_pcap_writer_free);
    CU_ASSERT_EQUAL(check_file_structure(p), 0);
    g_remove(p);
    g_rmdir(dir);
}

static void
test_udp_zero_checksum(void)
{
    /* RFC 768: a checksum that computes to 0 is sent as 0xFFFF. Search a
     * one-octet payload that makes the sum come out zero, then check it. */
    g_autofree char *dir = g_dir_make_tmp("mailsim-pcapng-XXXXXX", NULL);
    g_autofree char *p = g_build_filename(dir, "z.pcapng", NULL);
    gboolean found = FALSE;
    for (guint v = 0; v < 65536 && !found; v++) {
        guint8 pl[2] = { (guint8) (v >> 8), (guint8) v };
        guint32 sum = (CLIENT >> 16) + (CLIENT & 0xFFFF) + (SERVER >> 16) + (SERVER & 0xFFFF) + 17 +
                      10 + 1 + 2 + 10 + v;
        while (sum >> 16)
            sum = (sum & 0xFFFF) + (sum >> 16);
        if ((guint16) ~sum != 0)
            continue;
        found = TRUE;
        MsPcapWriter *w = ms_pcap_writer_new(p, NULL);
        guint i = ms_pcap_writer_add_interface(w, "z");
        ms_pcap_writer_udp(w, i, 0, CLIENT, SERVER, 1, 2, 64, 0, pl, 2);
        CU_ASSERT_FATAL(ms_pcap_writer_close(w, NULL));
        g_autofree guint8 *d = NULL;
        gsize n;
        CU_ASSERT_FATAL(g_file_get_contents(p, (char **) &d, &n, NULL));
        /* The EPB is last: trailing length, then the 30-octet packet padded
         * to 32; the UDP checksum sits 6 octets into the UDP header. */
        const guint8 *udp = d + n - 4 - 32 + 20;
        CU_ASSERT(udp[6] == 0xFF && udp[7] == 0xFF);
        CU_ASSERT_EQUAL(check_file_structure(p), 1);
    }
    CU_ASSERT(found);
    g_remove(p);
    g_rmdir(dir);
}

/* Size of a file, or -1. */
static gint64
file_size(const char *path)
{
    GStatBuf st;
    return g_stat(path, &st) == 0 ? (gint64) st.st_size : -1;
}

static gboolean
same_bytes(const char *a, const char *b)
{
    g_autofree char *da = NULL, *db = NULL;
    gsize na = 0, nb = 0;
    if (!g_file_get_contents(a, &da, &na, NULL) || !g_file_get_contents(b, &db, &nb, NULL))
        return FALSE;
    return na == nb && memcmp(da, db, na) == 0;
}

/* The writer's limit, on both sides of each boundary: the header alone,
 * one octet short of the whole capture (the last packet is left out), the
 * exact size and one more (nothing changes), and a limit far above. */
static void
test_limit_writer(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-pcapng-XXXXXX", NULL);
    g_autofree char *full = g_build_filename(dir, "full.pcapng", NULL);
    g_autofree char *p = g_build_filename(dir, "lim.pcapng", NULL);
    CU_ASSERT_FATAL(write_capture(full, NULL));
    gint64 size = file_size(full);
    CU_ASSERT_FATAL(size > 0);
    /* The Section Header Block alone: 28 fixed octets, the user-application
     * option (4 + 8) and the end option (4). */
    const guint64 shb = 28 + 12 + 4;
    const struct {
        guint64 limit;
        gboolean whole;   /* the full capture fits */
        guint64 min_left; /* at least this many packets left out */
    } cases[] = {
        { shb, FALSE, N_PACKETS },
        { shb + 1, FALSE, N_PACKETS },
        { (guint64) size / 2, FALSE, 1 },
        { (guint64) size - 1, FALSE, 1 },
        { (guint64) size, TRUE, 0 },
        { (guint64) size + 1, TRUE, 0 },
        { G_GUINT64_CONSTANT(1) << 40, TRUE, 0 },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint64 left = 0;
        g_autoptr(GError) error = NULL;
        CU_ASSERT_FATAL(write_capture_limited(p, cases[i].limit, &left, &error));
        gint64 n = file_size(p);
        CU_ASSERT(n > 0 && (guint64) n <= cases[i].limit);
        CU_ASSERT(left >= cases[i].min_left);
        CU_ASSERT_EQUAL(same_bytes(p, full), cases[i].whole);
        CU_ASSERT_EQUAL(check_file_structure(p), (int) (N_PACKETS - left));
        if (cases[i].whole)
            CU_ASSERT_EQUAL(left, 0);
        g_remove(p);
    }
    /* A limit below what is already written is refused, naming the path. */
    g_autoptr(GError) error = NULL;
    CU_ASSERT_FALSE(write_capture_limited(p, shb - 1, NULL, &error));
    CU_ASSERT(error && strstr(error->message, p) != NULL);
    g_remove(p);
    g_remove(full);
    g_rmdir(dir);
}

/* Runs `mailsim run -q` on the built-in lesson with `extra` arguments;
 * returns the exit status and its output (caller frees). */
static int
run_mailsim(const char *const *extra, char **out, char **err)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer) ms_test_mailsim_path());
    g_ptr_array_add(argv, (gpointer) "run");
    g_ptr_array_add(argv, (gpointer) "-q");
    for (; *extra; extra++)
        g_ptr_array_add(argv, (gpointer) *extra);
    g_ptr_array_add(argv, NULL);
    int rc = ms_test_spawn((const char *const *) argv->pdata, out, err);
    g_ptr_array_free(argv, TRUE);
    return rc;
}

/* `mailsim run --pcap-limit`: a limit below the capture's size gives a
 * file within it that our reader and tshark read whole, and says on stderr
 * and in the summary what was left out; a limit above changes no byte; a
 * value that is no size is refused with exit 2 naming the option; and
 * --pcap-links is --pcap-link. */
static void
test_limit_cli(void)
{
    g_autofree char *dir = g_dir_make_tmp("mailsim-pcapng-XXXXXX", NULL);
    g_autofree char *full = g_build_filename(dir, "full.pcapng", NULL);
    g_autofree char *p = g_build_filename(dir, "lim.pcapng", NULL);
    {
        const char *args[] = { "--pcap", full, NULL };
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL_FATAL(run_mailsim(args, &out, &err), 0);
        CU_ASSERT(strstr(out, "left out") == NULL);
    }
    gint64 size = file_size(full);
    CU_ASSERT_FATAL(size > 4000);
    int packets = check_file_structure(full);
    CU_ASSERT_FATAL(packets > 2);

    /* Smaller: about half the capture. */
    g_autofree char *half = g_strdup_printf("%" G_GINT64_FORMAT "B", size / 2);
    {
        const char *args[] = { "--pcap", p, "--pcap-limit", half, NULL };
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run_mailsim(args, &out, &err), 0);
        gint64 n = file_size(p);
        CU_ASSERT(n > 0 && n <= size / 2);
        int kept = check_file_structure(p);
        CU_ASSERT(kept > 0 && kept < packets);
        g_autofree char *left = g_strdup_printf("%d packets from then on left out", packets - kept);
        CU_ASSERT(strstr(err, "--pcap-limit") != NULL && strstr(err, left) != NULL);
        /* Said once on stderr, and again in the summary. */
        CU_ASSERT(strstr(err, "--pcap-limit") == g_strrstr(err, "--pcap-limit"));
        g_autofree char *summary = g_strdup_printf("; %d left out", packets - kept);
        CU_ASSERT(strstr(out, summary) != NULL);
        g_autofree char *prog = g_find_program_in_path("tshark");
        if (prog) {
            const char *count[] = { "-T", "fields", "-e", "frame.number", NULL };
            g_autofree char *tout = tshark(prog, p, count);
            CU_ASSERT_FATAL(tout != NULL);
            g_auto(GStrv) lines = g_strsplit(g_strstrip(tout), "\n", -1);
            CU_ASSERT_EQUAL(g_strv_length(lines), (guint) kept);
        } else {
            ms_test_skip("tshark not found in PATH; checked by our reader only");
        }
        g_remove(p);
    }
    /* Larger (and exactly the size): byte-identical. */
    g_autofree char *exact = g_strdup_printf("%" G_GINT64_FORMAT, size);
    const char *larger[] = { "1GB", exact };
    for (gsize i = 0; i < G_N_ELEMENTS(larger); i++) {
        const char *args[] = { "--pcap", p, "--pcap-limit", larger[i], NULL };
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run_mailsim(args, &out, &err), 0);
        CU_ASSERT(same_bytes(p, full));
        CU_ASSERT(strstr(err, "left out") == NULL && strstr(out, "left out") == NULL);
        g_remove(p);
    }
    /* Bad values: exit 2, the option and the value named. */
    const char *bad[] = { "12 parsecs", "", "-5MB", "0", "10B" };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *args[] = { "--pcap", p, "--pcap-limit", bad[i], NULL };
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run_mailsim(args, &out, &err), 2);
        CU_ASSERT(strstr(err, "--pcap-limit") != NULL);
        g_autofree char *quoted = g_strdup_printf("'%s'", bad[i]);
        CU_ASSERT(strstr(err, quoted) != NULL);
        g_remove(p);
    }
    {
        const char *args[] = { "--pcap-limit", "1MB", NULL };
        g_autofree char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(run_mailsim(args, &out, &err), 2);
        CU_ASSERT(strstr(err, "need --pcap FILE") != NULL);
    }
    /* --pcap-links is --pcap-link. */
    g_autofree char *q = g_build_filename(dir, "links.pcapng", NULL);
    {
        const char *a[] = { "--pcap",         p,   "--pcap-link", "pc-alice~r-isp", "--pcap-link",
                            "r-isp~smtp-isp", NULL };
        const char *b[] = { "--pcap",         q,   "--pcap-links", "pc-alice~r-isp", "--pcap-links",
                            "r-isp~smtp-isp", NULL };
        g_autofree char *o1 = NULL, *e1 = NULL, *o2 = NULL, *e2 = NULL;
        CU_ASSERT_EQUAL(run_mailsim(a, &o1, &e1), 0);
        CU_ASSERT_EQUAL(run_mailsim(b, &o2, &e2), 0);
        CU_ASSERT(check_file_structure(q) > 0);
        CU_ASSERT(same_bytes(p, q));
        g_remove(p);
        g_remove(q);
    }
    g_remove(full);
    g_rmdir(dir);
}

/* A run's capture is stamped with the clock of its Date: headers (the run
 * starts on 2026-11-29 00:00:00 UTC, Unix time 1795910400), not at 1970:
 * lesson 1's first packet, Alice's SYN at t=1 s, is 1795910401.000000000
 * in tshark, the second second of that day. */
static void
test_capture_date(void)
{
    g_autofree char *prog = g_find_program_in_path("tshark");
    if (!prog) {
        ms_test_skip("tshark not found in PATH; the capture's dates were not checked");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mailsim-pcapng-XXXXXX", NULL);
    g_autofree char *p = g_build_filename(dir, "lesson1.pcapng", NULL);
    const char *args[] = { "--pcap", p, NULL };
    g_autofree char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(run_mailsim(args, &out, &err), 0);
    const char *epoch[] = { "-T", "fields", "-e", "frame.time_epoch", "-c", "1", NULL };
    g_autofree char *tout = tshark(prog, p, epoch);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tout);
    CU_ASSERT_STRING_EQUAL(g_strstrip(tout), "1795910401.000000000");
    g_remove(p);
    g_rmdir(dir);
}

int
main(void)
{
    static const MsTestCase cases[] = {
        { "SMTP and DNS capture decoded by tshark", test_capture },
        { "a run's capture starts at the scenario's date (tshark)", test_capture_date },
        { "same calls, same bytes", test_deterministic },
        { "errors name the path", test_errors },
        { "UDP checksum 0 sent as 0xFFFF", test_udp_zero_checksum },
        { "a size limit keeps whole blocks within it", test_limit_writer },
        { "mailsim run --pcap-limit and --pcap-links", test_limit_cli },
        { NULL, NULL },
    };
    return ms_test_main("pcapng", cases);
}

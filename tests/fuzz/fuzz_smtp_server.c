/* libFuzzer target for the SMTP server core. Seeds: SMTP sessions (the
 * first octet picks the configuration, see below) and one server's replies.
 *
 * Built and run by `make fuzz` (clang, libFuzzer, ASan+UBSan, against
 * build-fuzz/libmailsim.a), FUZZ_SECONDS each (default 60; CI runs 15), on a
 * work corpus build-fuzz/corpus-smtp_server seeded from tests/fuzz/corpus/smtp_server/.
 * To run this target alone for longer, after `make fuzz-build`:
 *
 *   cd build-fuzz && ./fuzz_smtp_server -max_total_time=600 -max_len=16384 corpus-smtp_server
 *
 * (new inputs go to the corpus directory, crash-* / leak-* files to build-fuzz/;
 * an interesting new input may be worth committing to the seed corpus.)
 *
 * Each input is fed twice: whole, and in chunks whose sizes come from the
 * input's first octet. Besides crashes and sanitizer reports it checks the
 * core's promise that the split does not change the output (abort if it
 * does). The first octet also picks the configuration (AUTH, small SIZE,
 * few recipients) so those paths are reached. The same octets are also fed
 * to a client core, as if a hostile server had sent them. */
#include <stdlib.h>
#include <string.h>
#include "smtp_testkit.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static GBytes *
session(const guint8 *data, gsize size, guint chunk, guint8 sel)
{
    TkPolicy pol;
    tk_policy_init(&pol);
    MsSmtpServerConfig cfg = { 0 };
    cfg.hostname = "fuzz.test";
    cfg.offer_auth = sel & 1;
    cfg.max_size = (sel & 2) ? 64 : 0;
    cfg.max_recipients = (sel & 4) ? 2 : 0;
    cfg.no_pipelining = (sel & 8) != 0;
    MsSmtpServerHooks h = tk_server_hooks();
    if (sel & 16) {
        pol.ov_verb = "RCPT";
        pol.ov_code = 421;
        pol.ov_skip = 1;
    }
    MsSmtpServer *s = ms_smtp_server_new(&cfg, &h, &pol);
    ms_smtp_server_start(s);
    GByteArray *all = g_byte_array_new();
    for (gsize off = 0; off < size; off += chunk) {
        ms_smtp_server_feed(s, data + off, MIN((gsize) chunk, size - off));
        GBytes *o = ms_smtp_server_take_output(s);
        if (o) {
            g_byte_array_append(all, g_bytes_get_data(o, NULL), (guint) g_bytes_get_size(o));
            g_bytes_unref(o);
        }
    }
    GBytes *o = ms_smtp_server_take_output(s);
    if (o) {
        g_byte_array_append(all, g_bytes_get_data(o, NULL), (guint) g_bytes_get_size(o));
        g_bytes_unref(o);
    }
    ms_smtp_server_free(s);
    tk_policy_clear(&pol);
    return g_byte_array_free_to_bytes(all);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    if (size < 1)
        return 0;
    guint8 sel = data[0];
    data++;
    size--;
    GBytes *whole = session(data, size, size ? (guint) size : 1, sel);
    GBytes *split = session(data, size, (sel >> 5) + 1u, sel);
    if (!g_bytes_equal(whole, split))
        abort();
    /* The same octets as a hostile server's replies: no crash. */
    MsSmtpClient *c = ms_smtp_client_new(NULL, NULL, NULL);
    static const char *const rcpts[] = { "x@y.test", NULL };
    GBytes *m = g_bytes_new_static("x\r\n", 3);
    ms_smtp_client_add_message(c, "a@b.test", rcpts, m);
    ms_smtp_client_feed(c, data, size);
    GBytes *junk = ms_smtp_client_take_output(c);
    if (junk)
        g_bytes_unref(junk);
    ms_smtp_client_free(c);
    g_bytes_unref(m);
    g_bytes_unref(whole);
    g_bytes_unref(split);
    return 0;
}

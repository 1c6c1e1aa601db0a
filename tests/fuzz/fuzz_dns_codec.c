/* libFuzzer target for the DNS wire codec: any input must decode or be
 * refused without a crash, a leak or a read out of bounds, and an accepted
 * input must re-encode to bytes that decode again and re-encode to the same
 * bytes (encode is idempotent after one round). Seeds: queries and
 * responses (MX with glue and name compression, NXDOMAIN with SOA, CNAME
 * and NS).
 *
 * Built and run by `make fuzz` (clang, libFuzzer, ASan+UBSan, against
 * build-fuzz/libmailsim.a), FUZZ_SECONDS each (default 60; CI runs 15), on a
 * work corpus build-fuzz/corpus-dns_codec seeded from tests/fuzz/corpus/dns_codec/.
 * To run this target alone for longer, after `make fuzz-build`:
 *
 *   cd build-fuzz && ./fuzz_dns_codec -max_total_time=600 -max_len=16384 corpus-dns_codec
 *
 * (new inputs go to the corpus directory, crash-* / leak-* files to build-fuzz/;
 * an interesting new input may be worth committing to the seed corpus.)
 */
#include "mailsim/dns_codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    GError *error = NULL;
    MsDnsMessage *m = ms_dns_message_decode(data, size, &error);
    if (!m) {
        if (!error || !error->message[0])
            abort(); /* every refusal says why */
        g_error_free(error);
        return 0;
    }
    GBytes *e1 = ms_dns_message_encode(m);
    if (!e1)
        abort();
    gsize n1;
    const guint8 *d1 = g_bytes_get_data(e1, &n1);
    MsDnsMessage *m2 = ms_dns_message_decode(d1, n1, &error);
    if (!m2)
        abort(); /* our own output must decode */
    GBytes *e2 = ms_dns_message_encode(m2);
    if (!e2 || !g_bytes_equal(e1, e2))
        abort();
    if (m->answer->len != m2->answer->len || m->authority->len != m2->authority->len ||
        m->additional->len != m2->additional->len || m->id != m2->id)
        abort();
    g_bytes_unref(e2);
    g_bytes_unref(e1);
    ms_dns_message_free(m2);
    ms_dns_message_free(m);
    return 0;
}

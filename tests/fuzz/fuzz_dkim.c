/* libFuzzer target for DKIM (sim/proto/dkim*.c): tag-lists, DKIM-Signature
 * fields, key records and whole messages through the verifier must be
 * accepted or refused without a crash, a leak or a read out of bounds;
 * every refusal says why, and every signature the verifier answers ends
 * with a result and a reason unless it passed. The first octet picks the
 * mode (its value modulo 5):
 *
 *   0  a tag-list; an accepted list's names and values obey RFC 6376 3.2
 *   1  the value of a DKIM-Signature field
 *   2  a key record
 *   3  a whole message, verified with every query answered by a fixed
 *      Ed25519 key (or RFC 8463's RSA key for a=rsa-sha256)
 *   4  the value of a DKIM-Signature field on top of a fixed message,
 *      verified the same way
 *
 * Seeds (tests/fuzz/corpus/dkim/): RFC 8463 Appendix A's signatures and
 * key records, tag-lists and a message signed by mailsim.
 *
 * Built and run by `make fuzz` (clang, libFuzzer, ASan+UBSan, against
 * build-fuzz/libmailsim.a), FUZZ_SECONDS each; alone, after `make fuzz-build`:
 *
 *   cd build-fuzz && ./fuzz_dkim -max_total_time=600 -max_len=16384 corpus-dkim
 */
#include "mailsim/dkim.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

/* RFC 8463 A.2's key records. */
static const char ed25519_record[] =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rsa_record[] =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6"
    "wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5Qj"
    "vHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

static const char fixed_message[] =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

static void
check_error(GError *error)
{
    if (!error || error->domain != MS_DKIM_ERROR || !error->message[0])
        abort(); /* every refusal says why */
    g_error_free(error);
}

static void
verify(const char *message, gsize len)
{
    MsDkimVerifier *v = ms_dkim_verifier_new(message, len, 0, 1790910000);
    guint n = ms_dkim_verifier_count(v);
    if (n > MS_DKIM_MAX_SIGNATURES)
        abort();
    for (guint i = 0; i < n; i++) {
        const MsDkimSignature *sig = ms_dkim_verifier_signature(v, i);
        const char *q = ms_dkim_verifier_query(v, i);
        if (q && !sig)
            abort(); /* only a parsed signature waits for a key */
        if (q) {
            const char *rec = sig->alg == MS_DKIM_ALG_RSA_SHA256 ? rsa_record : ed25519_record;
            /* Every third signature gets the record through the cache path. */
            if (i % 3 == 2) {
                MsDkimKey *key = ms_dkim_key_parse(rec, strlen(rec), NULL);
                if (!key)
                    abort();
                ms_dkim_verifier_answer_key(v, i, key);
                ms_dkim_key_free(key);
            } else {
                ms_dkim_verifier_answer(v, i, MS_DKIM_DNS_OK, rec, strlen(rec));
            }
        }
        const char *reason = NULL;
        MsDkimResult r = ms_dkim_verifier_result(v, i, &reason);
        if (r == MS_DKIM_RESULT_NONE || (r != MS_DKIM_RESULT_PASS && !reason) ||
            ms_dkim_verifier_query(v, i))
            abort();
        char *text = ms_dkim_verifier_result_text(v, i);
        if (!text || !g_str_has_prefix(text, "dkim="))
            abort();
        g_free(text);
    }
    ms_dkim_verifier_free(v);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *text = (const char *) data + 1;
    gsize len = size - 1;
    GError *error = NULL;
    switch (data[0] % 5) {
    case 0: {
        MsDkimTagList *l = ms_dkim_tag_list_parse(text, len, &error);
        if (!l) {
            check_error(error);
            break;
        }
        for (guint i = 0; i < ms_dkim_tag_list_size(l); i++) {
            const char *name = ms_dkim_tag_list_name(l, i), *value = ms_dkim_tag_list_value(l, i);
            if (!g_ascii_isalpha(name[0]) || strchr(value, ';') || strchr(name, '='))
                abort();
            if (ms_dkim_tag_list_lookup(l, name) != value)
                abort(); /* names are unique */
        }
        ms_dkim_tag_list_free(l);
        break;
    }
    case 1: {
        MsDkimSignature *sig = ms_dkim_signature_parse(text, len, &error);
        if (!sig) {
            check_error(error);
            break;
        }
        if (!sig->domain || !sig->selector || !sig->identity || !sig->headers || !sig->headers[0] ||
            g_bytes_get_size(sig->body_hash) != 32)
            abort();
        ms_dkim_signature_free(sig);
        break;
    }
    case 2: {
        MsDkimKey *key = ms_dkim_key_parse(text, len, &error);
        if (!key) {
            check_error(error);
            break;
        }
        if (ms_dkim_key_bits(key) < 256)
            abort();
        ms_dkim_key_free(key);
        break;
    }
    case 3:
        verify(text, len);
        break;
    case 4: {
        GString *m = g_string_new("DKIM-Signature:");
        g_string_append_len(m, text, (gssize) len);
        g_string_append(m, "\r\n");
        g_string_append(m, fixed_message);
        verify(m->str, m->len);
        g_string_free(m, TRUE);
        break;
    }
    }
    return 0;
}

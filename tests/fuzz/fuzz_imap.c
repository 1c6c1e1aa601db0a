/* libFuzzer target for the IMAP server core, its mailboxes a real mail
 * store (sim/mail/mail_imap.c) with three messages for user "u". Seeds:
 * IMAP sessions (tests/fuzz/corpus/imap/).
 *
 * Built and run by `make fuzz` (clang, libFuzzer, ASan+UBSan, against
 * build-fuzz/libmailsim.a), FUZZ_SECONDS each; alone, after `make fuzz-build`:
 *
 *   cd build-fuzz && ./fuzz_imap -max_total_time=600 -max_len=16384 corpus-imap
 *
 * The first byte picks the split (low 3 bits) and whether the session starts logged in
 * (an "x LOGIN u p" is prepended) and selected. Each input is fed whole and
 * then in pieces of 1..8 octets, each on a fresh store; the outputs must be
 * identical (split invariance), and nothing may crash, hang or leak. */
#include "mailsim/imap_server.h"
#include "mailsim/mail_imap.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static const char *const texts[] = {
    "From: A <a@b.c>\r\nSubject: one\r\n\r\nbody\r\n",
    "From: x@y\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nq\r\n--b--\r\n",
    "no header at all",
};

static GByteArray *
run(const guint8 *data, size_t size, size_t chunk, guint8 sel)
{
    MsMailStore *store = ms_mail_store_new();
    ms_mail_store_add_user(store, "u", "p", 1 << 16);
    for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
        GBytes *d = g_bytes_new_static(texts[i], strlen(texts[i]));
        ms_mail_store_deliver(store, "u", d, 0, 0);
        g_bytes_unref(d);
    }
    MsMailImap *imap = ms_mail_imap_new(store, 7, 0);
    MsImapServerConfig cfg;
    ms_imap_server_config_init(&cfg);
    cfg.offer_starttls = TRUE;
    cfg.max_literal = 8192;
    MsImapServer *srv = ms_imap_server_new(&cfg, ms_mail_imap_hooks(), imap);
    GByteArray *all = g_byte_array_new();
    ms_imap_server_start(srv);
    if (sel & 0x10) {
        const char *pre = (sel & 0x20) ? "x LOGIN u p\r\ny SELECT INBOX\r\n" : "x LOGIN u p\r\n";
        ms_imap_server_feed(srv, (const guint8 *) pre, strlen(pre));
    }
    for (size_t i = 0; i <= size; i += chunk) {
        if (i < size)
            ms_imap_server_feed(srv, data + i, MIN(chunk, size - i));
        GBytes *b;
        while ((b = ms_imap_server_take_output(srv))) {
            g_byte_array_append(all, g_bytes_get_data(b, NULL), (guint) g_bytes_get_size(b));
            g_bytes_unref(b);
        }
    }
    /* Mail arrives after the input (a refresh mid-input would fall at
     * different points of different splits). STARTTLS is left pending:
     * everything after it is discarded however it is split. */
    GBytes *d = g_bytes_new_static(texts[0], strlen(texts[0]));
    ms_mail_store_deliver(store, "u", d, 0, 0);
    g_bytes_unref(d);
    ms_imap_server_refresh(srv);
    GBytes *b;
    while ((b = ms_imap_server_take_output(srv))) {
        g_byte_array_append(all, g_bytes_get_data(b, NULL), (guint) g_bytes_get_size(b));
        g_bytes_unref(b);
    }
    g_byte_array_append(all, (const guint8 *) (ms_imap_server_is_closed(srv) ? "C" : "O"), 1);
    ms_imap_server_free(srv);
    ms_mail_imap_free(imap);
    ms_mail_store_free(store);
    return all;
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    if (size < 2)
        return 0;
    guint8 sel = data[0];
    data++;
    size--;
    GByteArray *whole = run(data, size, size, sel);
    GByteArray *split = run(data, size, 1 + (sel & 7), sel);
    if (whole->len != split->len || memcmp(whole->data, split->data, whole->len) != 0)
        abort();
    g_byte_array_unref(whole);
    g_byte_array_unref(split);
    return 0;
}

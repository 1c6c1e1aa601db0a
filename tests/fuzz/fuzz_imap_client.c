/* libFuzzer target for the IMAP client core: the input is what a hostile
 * server says. Seeds: server transcripts (tests/fuzz/corpus/imap_client/).
 *
 * Built and run by `make fuzz` (clang, libFuzzer, ASan+UBSan, against
 * build-fuzz/libmailsim.a), FUZZ_SECONDS each; alone, after `make fuzz-build`:
 *
 *   cd build-fuzz && ./fuzz_imap_client -max_total_time=600 -max_len=16384 corpus-imap_client
 *
 * The first byte picks the client's settings: IDLE, AUTHENTICATE PLAIN,
 * STARTTLS required, a queued APPEND, a known UIDVALIDITY. The rest is fed
 * whole and then in pieces of 1..8 octets (low bits of the first byte);
 * what the client sends, its result and what it fetched must be the same
 * (split invariance), and nothing may crash, hang or leak. Feeding stops
 * where the client asks for a TLS handshake (what follows would be TLS). */
#include "mailsim/imap_client.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

typedef struct {
    GString *log; /* hook calls, in order */
    GString *out; /* everything the client sent */
} Run;

static void
h_message(gpointer ud, guint32 uid, guint flags, GBytes *message)
{
    Run *r = ud;
    g_string_append_printf(r->log, "[msg %u %u %zu]", uid, flags, g_bytes_get_size(message));
}

static void
h_appended(gpointer ud, const char *folder, guint32 uid)
{
    Run *r = ud;
    g_string_append_printf(r->log, "[appended %s %u]", folder, uid);
}

static void
h_idling(gpointer ud)
{
    Run *r = ud;
    g_string_append(r->log, "[idling]");
}

static void
h_done(gpointer ud, MsImapClientResult result, const char *text)
{
    Run *r = ud;
    g_string_append_printf(r->log, "[done %d %s]", result, text);
}

static const MsImapClientHooks hooks = { h_message, h_appended, h_idling, h_done, NULL };

static char *
run(const guint8 *data, size_t size, size_t chunk, guint8 sel)
{
    Run r = { g_string_new(NULL), g_string_new(NULL) };
    MsImapClientConfig cfg;
    ms_imap_client_config_init(&cfg);
    cfg.user = "u";
    cfg.password = "p \"q\"";
    cfg.idle = (sel & 0x08) != 0;
    cfg.auth_plain = (sel & 0x10) != 0;
    cfg.tls_level = (sel & 0x20) ? MS_IMAP_TLS_ENCRYPT : MS_IMAP_TLS_NONE;
    cfg.uidvalidity = (sel & 0x80) ? 7 : 0;
    cfg.uidnext = 3;
    cfg.max_message = 4096;
    cfg.max_line = 2048;
    MsImapClient *c = ms_imap_client_new(&cfg, &hooks, &r);
    if (sel & 0x40) {
        GBytes *m = g_bytes_new_static("Subject: s\r\n\r\nx\r\n", 17);
        ms_imap_client_append(c, "Sent", m, 1);
        g_bytes_unref(m);
    }
    for (size_t i = 0; i <= size; i += chunk) {
        if (i < size && !ms_imap_client_wants_tls(c))
            ms_imap_client_feed(c, data + i, MIN(chunk, size - i));
        GBytes *b;
        while ((b = ms_imap_client_take_output(c))) {
            g_string_append_len(r.out, g_bytes_get_data(b, NULL), (gssize) g_bytes_get_size(b));
            g_bytes_unref(b);
        }
        if (i >= size)
            break;
    }
    ms_imap_client_stop(c);
    GBytes *b;
    while ((b = ms_imap_client_take_output(c))) {
        g_string_append_len(r.out, g_bytes_get_data(b, NULL), (gssize) g_bytes_get_size(b));
        g_bytes_unref(b);
    }
    ms_imap_client_eof(c);
    g_string_append_printf(r.log, "[fetched %u appended %u next %u]", ms_imap_client_fetched(c),
                           ms_imap_client_appended(c), ms_imap_client_uidnext(c));
    ms_imap_client_free(c);
    /* hook calls and output are compared apart: when output is taken
     * depends on the split, the order of each does not */
    g_string_append(r.log, "\n--\n");
    g_string_append_len(r.log, r.out->str, (gssize) r.out->len);
    g_string_free(r.out, TRUE);
    return g_string_free(r.log, FALSE);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    if (size < 2)
        return 0;
    guint8 sel = data[0];
    data++;
    size--;
    char *whole = run(data, size, size, sel);
    char *pieces = run(data, size, 1 + (sel & 7), sel);
    if (strcmp(whole, pieces) != 0)
        abort(); /* the result depends on how the input was cut */
    g_free(whole);
    g_free(pieces);
    return 0;
}

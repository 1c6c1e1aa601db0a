/* libFuzzer target for the POP3 cores. Seeds: POP3 sessions and a
 * server's replies.
 *
 * Built and run by `make fuzz` (clang, libFuzzer, ASan+UBSan, against
 * build-fuzz/libmailsim.a), FUZZ_SECONDS each (default 60; CI runs 15), on a
 * work corpus build-fuzz/corpus-pop3_server seeded from tests/fuzz/corpus/pop3_server/.
 * To run this target alone for longer, after `make fuzz-build`:
 *
 *   cd build-fuzz && ./fuzz_pop3_server -max_total_time=600 -max_len=16384 corpus-pop3_server
 *
 * (new inputs go to the corpus directory, crash-* / leak-* files to build-fuzz/;
 * an interesting new input may be worth committing to the seed corpus.)
 *
 * The first byte picks the target: even bytes drive the server (logged in
 * half of the time), odd bytes drive the client as a hostile server. Each
 * input is fed whole and then in pieces of 1..8 octets; the outputs must be
 * identical (split invariance), and nothing may crash or leak. */
#include "mailsim/pop3_client.h"
#include "mailsim/pop3_server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static gboolean
f_auth(gpointer ud, const char *u, const char *p)
{
    (void) ud;
    return strcmp(u, "u") == 0 && strcmp(p, "p") == 0;
}

static char *
f_secret(gpointer ud, const char *u)
{
    (void) ud;
    return strcmp(u, "u") == 0 ? g_strdup("p") : NULL;
}

static gboolean
f_list(gpointer ud, const char *u, GArray *out)
{
    (void) ud;
    (void) u;
    for (guint i = 0; i < 3; i++) {
        MsPop3MessageInfo info = { .size = 6 + i };
        g_snprintf(info.uid, sizeof info.uid, "id%u", i);
        g_array_append_val(out, info);
    }
    return TRUE;
}

static GBytes *
f_retrieve(gpointer ud, const char *u, guint index)
{
    static const char text[] = ".\r\n.ab\r\nxyz";
    (void) ud;
    (void) u;
    return g_bytes_new(text, 6 + index);
}

static const MsPop3ServerHooks hooks = {
    .authenticate = f_auth,
    .apop_secret = f_secret,
    .list = f_list,
    .retrieve = f_retrieve,
};

static GByteArray *
run_server(const guint8 *data, size_t size, size_t chunk)
{
    MsPop3ServerConfig cfg;
    ms_pop3_server_config_init(&cfg);
    cfg.apop_token = "1.2";
    MsPop3Server *srv = ms_pop3_server_new(&cfg, &hooks, NULL);
    GByteArray *all = g_byte_array_new();
    ms_pop3_server_start(srv);
    for (size_t i = 0; i <= size; i += chunk) {
        if (i < size)
            ms_pop3_server_feed(srv, data + i, MIN(chunk, size - i));
        for (;;) {
            GBytes *b;
            while ((b = ms_pop3_server_take_output(srv))) {
                g_byte_array_append(all, g_bytes_get_data(b, NULL), (guint) g_bytes_get_size(b));
                g_bytes_unref(b);
            }
            if (!ms_pop3_server_is_held(srv))
                break;
            ms_pop3_server_resume(srv);
        }
    }
    g_byte_array_append(all, (const guint8 *) (ms_pop3_server_is_closed(srv) ? "C" : "O"), 1);
    ms_pop3_server_free(srv);
    return all;
}

static GByteArray *
run_client(const guint8 *data, size_t size, size_t chunk)
{
    MsPop3ClientConfig cfg;
    ms_pop3_client_config_init(&cfg);
    cfg.user = "u";
    cfg.password = "p";
    cfg.use_apop = size > 0 && (data[0] & 1);
    cfg.delete_after_retrieve = TRUE;
    cfg.max_message = 4096;
    cfg.max_line = 1024;
    MsPop3ClientHooks h = { 0 };
    MsPop3Client *c = ms_pop3_client_new(&cfg, &h, NULL);
    for (size_t i = 0; i < size; i += chunk)
        ms_pop3_client_feed(c, data + i, MIN(chunk, size - i));
    ms_pop3_client_eof(c);
    GByteArray *all = g_byte_array_new();
    GBytes *b = ms_pop3_client_take_output(c);
    if (b) {
        g_byte_array_append(all, g_bytes_get_data(b, NULL), (guint) g_bytes_get_size(b));
        g_bytes_unref(b);
    }
    guint8 tail[2] = { (guint8) ms_pop3_client_result(c), (guint8) ms_pop3_client_retrieved(c) };
    g_byte_array_append(all, tail, 2);
    ms_pop3_client_free(c);
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
    GByteArray *(*run)(const guint8 *, size_t, size_t) = (sel & 1) ? run_client : run_server;
    GByteArray *whole = run(data, size, size);
    GByteArray *split = run(data, size, 1 + (sel >> 1) % 8);
    if (whole->len != split->len || memcmp(whole->data, split->data, whole->len) != 0)
        abort();
    g_byte_array_unref(whole);
    g_byte_array_unref(split);
    return 0;
}

/* Shared by the IMAP server tests (tests/test_imap_server.c,
 * tests/test_imap_rev2.c): a real mail store with the IMAP glue over it
 * (sim/mail/mail_imap.c), sessions run on a fresh server, whole and
 * octet by octet, and the steps of a session driven by hand (the login
 * and SELECT most begin with, opening, sending). Header-only (static inline) so each test program stays
 * one file. */
#pragma once

#include "testlib.h"
#include "mailsim/imap_server.h"
#include "mailsim/mail_imap.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    MsMailStore *store;
    MsMailImap *imap;
} ImapBox;

/* alice (password "pw") with `texts` delivered one a second. */
static inline ImapBox *
imap_box_new(const char *const *texts, guint n)
{
    ImapBox *b = g_new0(ImapBox, 1);
    b->store = ms_mail_store_new();
    ms_mail_store_add_user(b->store, "alice", "pw", 0);
    for (guint i = 0; i < n; i++) {
        g_autoptr(GBytes) d = g_bytes_new_static(texts[i], strlen(texts[i]));
        ms_mail_store_deliver(b->store, "alice", d, 0, (MsTime) (i + 1) * MS_TIME_S);
    }
    /* 2026-12-07 00:00:00 UTC as the epoch of stored_at. */
    b->imap = ms_mail_imap_new(b->store, 1000, 1796601600);
    return b;
}

static inline void
imap_box_free(ImapBox *b)
{
    ms_mail_imap_free(b->imap);
    ms_mail_store_free(b->store);
    g_free(b);
}

/* The commands most sessions begin with. */
#define LOGIN  "a LOGIN alice pw\r\n"
#define SELECT LOGIN "b SELECT INBOX\r\n"

static inline void
imap_drain(MsImapServer *srv, GString *out)
{
    GBytes *o;
    while ((o = ms_imap_server_take_output(srv))) {
        gsize n;
        const char *p = g_bytes_get_data(o, &n);
        g_string_append_len(out, p, (gssize) n);
        g_bytes_unref(o);
    }
}

/* Starts srv and reads its greeting, leaving `out` empty. */
static inline void
imap_open(MsImapServer *srv, GString *out)
{
    ms_imap_server_start(srv);
    imap_drain(srv, out);
    g_string_truncate(out, 0);
}

/* Feeds `text` whole and appends what srv answers to `out`. */
static inline void
imap_send(MsImapServer *srv, GString *out, const char *text)
{
    ms_imap_server_feed(srv, (const guint8 *) text, strlen(text));
    imap_drain(srv, out);
}

/* Runs `input` on a fresh server with `cfg` over `b`, fed in pieces of
 * `chunk` octets (0: whole); returns everything after the greeting, and
 * whether the server closed (when `closed` is not NULL). */
static inline GString *
imap_run_on(ImapBox *b, const MsImapServerConfig *cfg, const char *input, gsize chunk,
            gboolean *closed)
{
    g_autoptr(MsImapServer) srv = ms_imap_server_new(cfg, ms_mail_imap_hooks(), b->imap);
    GString *out = g_string_new(NULL);
    imap_open(srv, out);
    gsize len = strlen(input);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (gsize i = 0; i < len; i += chunk) {
        ms_imap_server_feed(srv, (const guint8 *) input + i, MIN(chunk, len - i));
        imap_drain(srv, out);
    }
    if (closed)
        *closed = ms_imap_server_is_closed(srv);
    return out;
}

/* imap_run_on() on two fresh boxes, whole and octet by octet, checking
 * both answer the same; returns the answer. */
static inline GString *
imap_run_both(const char *const *texts, guint n, const MsImapServerConfig *cfg, const char *input)
{
    ImapBox *b1 = imap_box_new(texts, n), *b2 = imap_box_new(texts, n);
    GString *whole = imap_run_on(b1, cfg, input, 0, NULL);
    GString *octets = imap_run_on(b2, cfg, input, 1, NULL);
    CU_ASSERT_STRING_EQUAL(whole->str, octets->str);
    g_string_free(octets, TRUE);
    imap_box_free(b1);
    imap_box_free(b2);
    return whole;
}

/* TRUE when `out` holds `text`; else says what is missing, and where. */
static inline gboolean
imap_has(const GString *out, const char *text)
{
    if (!strstr(out->str, text)) {
        fprintf(stderr, "\n--- missing: %s\n--- in:\n%s\n", text, out->str);
        return FALSE;
    }
    return TRUE;
}

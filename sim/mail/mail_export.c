/* Exporting a part's mail records for the merge of a partitioned run (see
 * include/mailsim/mail.h and the design notes atop mail_merge.c). Role:
 * after a part has run, it writes its records, its clients' lists and its
 * servers' ledgers, all naming messages by Message-ID, as bytes that
 * ms_mail_merge_add() reads, on this process or on rank 0 of an MPI run.
 *
 * Design. An export is a sequence of frames; each frame is the magic
 * "MSR4", a section (MsExportSection), an item count and that many items.
 * The sections come in a fixed order, each in one or more frames, and an
 * END frame closes the export, so that a reader can tell an export cut at
 * a frame boundary from a whole one. An exporter hands the frames out in
 * chunks of about a chosen size (ms_mail_export_next()), each chunk whole
 * frames: a chunk can be sent and merged, then freed, while the next is
 * written, so neither the part nor the merging rank ever holds a whole
 * export (the largest rank's peak memory, README "Memory per rank"). One
 * chunk of unlimited size is ms_mail_export_records()'s whole export.
 *
 * Items, field by field (numbers in the machine's byte order: every rank
 * runs the same binary; strings as a 32-bit length and the bytes):
 * SESSIONS: the SMTP and POP3 session counters (one item). RECORDS: per
 * record its Message-ID, label, from, subject, parent's Message-ID,
 * creation time, DSN and shadow flags, origin and its number, creation
 * key (time, source, counter, index), this part's TLS hops, then per
 * recipient its address, state, update and done times, detail, status,
 * where, attempts, deferrals, Received: count, hops, retrieval time and
 * device, and whether a local queue holds it. CLIENTS: per client that
 * logged in or whose device showed something, its index, its logins
 * inside TLS and in the clear, and the count and (Message-ID, time) pairs
 * of what it showed. CHECKS: per sender check its Message-ID ("" for
 * none), checked flag, the SPF, DKIM, DMARC and DNSBL words, action,
 * checking host and time. TLS: per non-zero TLS-ledger entry its
 * Message-ID and four counts. ROWS: per DMARC report row its time, event
 * key, receiver, policy domain, record, source address, disposition,
 * flags, envelope domains, SPF domain and result and its DKIM signatures.
 * QUEUED: per entry its Message-ID, recipient, host, time and event key.
 * LISTINGS: per DNSBL listing its server, client, time, event key and the
 * count of checks the part had made before it. ("MSR3" was one frame of
 * everything; "MSR2" had neither rows nor the DNSBL bookkeeping.)
 *
 * Ownership: an exporter reads the mail layer it was made for, which must
 * not change while it exports; with `release`, it frees what it exported
 * after the last chunk (the merging part's own records, which the merge
 * replaces). Costs: O(records + recipients) over the whole export, plus a
 * hash set of the queued recipients for its life; memory per chunk about
 * its size plus one item (a chunk closes once it reaches the size). */
#include "mail-private.h"
#include "mail_auth-private.h"
#include "mail_merge-private.h"
#include "mail_tls_policy-private.h"

#include <string.h>

struct _MsMailExport {
    MsMail *m;
    gsize chunk;      /* a chunk closes once it holds this many bytes */
    gboolean release; /* free what was exported after the last chunk */
    GHashTable *held; /* "id\naddress" of every recipient a local queue holds */
    MsExportSection section;
    guint32 cursor; /* within the section: last record id, or next index */
    gboolean done;
};

static void
put(GByteArray *b, const void *v, gsize n)
{
    g_byte_array_append(b, v, (guint) n);
}

static void
put_u32(GByteArray *b, guint32 v)
{
    put(b, &v, sizeof v);
}
static void
put_u64(GByteArray *b, guint64 v)
{
    put(b, &v, sizeof v);
}

static void
put_str(GByteArray *b, const char *s)
{
    gsize n = s ? strlen(s) : 0;
    put_u32(b, (guint32) n);
    put(b, s, n);
}

/* A string that may be NULL: a flag, then the string. */
static void
put_ostr(GByteArray *b, const char *s)
{
    put_u32(b, s != NULL);
    put_str(b, s);
}

/* "id\naddress" of every recipient some local queue holds. */
static GHashTable *
held_set(MsMail *m)
{
    GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint s = 0; s < m->servers->len; s++) {
        const MsMailServer *sv = g_ptr_array_index(m->servers, s);
        for (guint q = 0; q < sv->queue->len; q++) {
            const MsMailQueueEntry *e = g_ptr_array_index(sv->queue, q);
            for (guint x = 0; x < e->rcpts->len; x++)
                g_hash_table_add(set,
                                 g_strdup_printf("%u\n%s", e->message,
                                                 (const char *) g_ptr_array_index(e->rcpts, x)));
        }
    }
    return set;
}

/* Whether client c has something to send along: logins or shown mail. */
static gboolean
client_active(const MsMailClient *c)
{
    return c->seen->len || c->logins_tls || c->logins_clear;
}

/* Message id's Message-ID ("" for none: id 0, or a record gone, which a
 * part never folds away). */
static void
put_mid(GByteArray *b, MsMail *m, guint32 id)
{
    const MsMessageRecord *r = id ? ms__mail_record(m, id) : NULL;
    put_str(b, r ? r->message_id : "");
}

/* Whether a TLS-ledger entry holds anything. */
static gboolean
tls_counted(const MsMailTlsLedger *l)
{
    return l->hops_tls || l->hops_clear || l->hops_read || l->tls_refusals;
}

static void
put_record(GByteArray *b, MsMail *m, GHashTable *held, const MsMessageRecord *r)
{
    const MsMessageRecord *parent = r->parent ? ms__mail_record(m, r->parent) : NULL;
    put_str(b, r->message_id);
    put_str(b, r->label);
    put_str(b, r->from);
    put_str(b, r->subject);
    put_str(b, parent ? parent->message_id : "");
    put_u64(b, (guint64) r->created_at);
    put_u32(b, r->is_dsn ? 1 : 0);
    put_u32(b, r->shadow ? 1 : 0);
    put_u32(b, r->origin);
    put_u32(b, r->origin_n);
    put_u64(b, (guint64) r->create_t);
    put_u32(b, r->create_src);
    put_u64(b, r->create_seq);
    put_u32(b, r->create_idx);
    put_u32(b, (guint32) r->hops_tls << 16 | r->hops_clear); /* this part's TLS hops */
    put_u32(b, r->rcpts->len);
    for (guint k = 0; k < r->rcpts->len; k++) {
        const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
        gboolean is_held = FALSE;
        if (rr->state == MS_RCPT_QUEUED) {
            g_autofree char *key = g_strdup_printf("%u\n%s", r->id, rr->address);
            is_held = g_hash_table_contains(held, key);
        }
        put_str(b, rr->address);
        put_u32(b, rr->state);
        put_u64(b, (guint64) rr->updated_at);
        put_u64(b, (guint64) rr->done_at);
        put_str(b, rr->detail);
        put_str(b, rr->status);
        put_u32(b, rr->where);
        put_u32(b, rr->attempts);
        put_u32(b, rr->deferrals);
        put_u32(b, rr->received_headers);
        put_u32(b, rr->hops);
        put_u64(b, (guint64) rr->retrieved_at);
        put_u32(b, rr->retrieved_by);
        put_u32(b, is_held ? 1 : 0);
    }
}

static void
put_client(GByteArray *b, MsMail *m, guint c)
{
    const MsMailClient *cl = g_ptr_array_index(m->clients, c);
    put_u32(b, c);
    put_u32(b, cl->logins_tls);
    put_u32(b, cl->logins_clear);
    put_u32(b, cl->seen->len);
    for (guint i = 0; i < cl->seen->len; i++) {
        const MsMailSeen *sn = &g_array_index(cl->seen, MsMailSeen, i);
        put_mid(b, m, sn->message);
        put_u64(b, (guint64) sn->at);
    }
}

static void
put_check(GByteArray *b, MsMail *m, guint i)
{
    guint32 msg;
    const MsMailAuthLedger *l = ms__auth_ledger_entry(m, i, &msg);
    put_mid(b, m, msg);
    put_u32(b, l->checked ? 1 : 0);
    put_str(b, l->spf);
    put_str(b, l->dkim);
    put_str(b, l->dmarc);
    put_str(b, l->dnsbl);
    put_u32(b, l->action);
    put_u32(b, l->where);
    put_u64(b, (guint64) l->at);
}

static void
put_tls(GByteArray *b, MsMail *m, guint i)
{
    const MsMailTlsLedger *l = &g_array_index(m->tls_policy->ledger, MsMailTlsLedger, i);
    put_mid(b, m, i + 1);
    put_u32(b, l->hops_tls);
    put_u32(b, l->hops_clear);
    put_u32(b, l->hops_read);
    put_u32(b, l->tls_refusals);
}

/* A DMARC report row names no message: everything in it is what the
 * checking server saw; it travels with the order key of its event. */
static void
put_row(GByteArray *b, MsMail *m, guint i)
{
    const MsMailAuthReportRow *r = ms_mail_auth_report_row(m, i);
    MsAuthRowKey key = ms__auth_report_key(m, i);
    put_u64(b, (guint64) r->at);
    put_u32(b, key.src);
    put_u64(b, key.seq);
    put_u32(b, r->receiver);
    put_str(b, r->policy_domain);
    put_str(b, r->record);
    put_str(b, r->source_ip);
    put_u32(b, r->disposition);
    put_u32(b, (guint32) (r->dkim_aligned ? 1 : 0) | (r->spf_aligned ? 2 : 0) |
                   (r->sampled_out ? 4 : 0) | (r->spf_helo ? 8 : 0));
    put_ostr(b, r->envelope_to);
    put_str(b, r->envelope_from);
    put_str(b, r->header_from);
    put_ostr(b, r->spf_domain);
    put_u32(b, r->spf_result);
    put_u32(b, r->n_dkim);
    for (guint d = 0; d < r->n_dkim; d++) {
        put_ostr(b, r->dkim_domain[d]);
        put_ostr(b, r->dkim_selector[d]);
        put_ostr(b, r->dkim_result[d]);
    }
}

static void
put_queued(GByteArray *b, MsMail *m, guint i)
{
    const MsAuthQueued *q = ms__auth_queued_entry(m, i);
    put_mid(b, m, q->message);
    put_str(b, q->rcpt);
    put_u32(b, q->host);
    put_u64(b, (guint64) q->at);
    put_u32(b, q->key.src);
    put_u64(b, q->key.seq);
}

static void
put_listing(GByteArray *b, MsMail *m, guint i)
{
    const MsAuthListing *l = ms__auth_listing(m, i);
    put_u32(b, l->server);
    put_u32(b, l->peer);
    put_u64(b, (guint64) l->at);
    put_u32(b, l->key.src);
    put_u64(b, l->key.seq);
    put_u32(b, l->ledger_len);
}

/* The number of entries of an indexed section (checks, TLS ledger, rows,
 * queued, listings). */
static guint
section_len(MsMail *m, MsExportSection s)
{
    switch (s) {
    case MS__EXPORT_CLIENTS:
        return m->clients->len;
    case MS__EXPORT_CHECKS:
        return ms__auth_ledger_len(m);
    case MS__EXPORT_TLS:
        return m->tls_policy ? m->tls_policy->ledger->len : 0;
    case MS__EXPORT_ROWS:
        return ms_mail_auth_n_report_rows(m);
    case MS__EXPORT_QUEUED:
        return ms__auth_queued_len(m);
    case MS__EXPORT_LISTINGS:
        return ms__auth_listings_len(m);
    default:
        return 0;
    }
}

/* Writes entry i of an indexed section; FALSE when it is left out (a
 * client with nothing to say, a TLS-ledger entry of zeros). */
static gboolean
put_entry(GByteArray *b, MsMail *m, MsExportSection s, guint i)
{
    switch (s) {
    case MS__EXPORT_CLIENTS:
        if (!client_active(g_ptr_array_index(m->clients, i)))
            return FALSE;
        put_client(b, m, i);
        return TRUE;
    case MS__EXPORT_CHECKS:
        put_check(b, m, i);
        return TRUE;
    case MS__EXPORT_TLS:
        if (!tls_counted(&g_array_index(m->tls_policy->ledger, MsMailTlsLedger, i)))
            return FALSE;
        put_tls(b, m, i);
        return TRUE;
    case MS__EXPORT_ROWS:
        put_row(b, m, i);
        return TRUE;
    case MS__EXPORT_QUEUED:
        put_queued(b, m, i);
        return TRUE;
    case MS__EXPORT_LISTINGS:
        put_listing(b, m, i);
        return TRUE;
    default:
        g_assert_not_reached();
    }
}

/* One frame of x's current section, from its cursor, until the section
 * ends (then x moves to the next) or b reaches the chunk size. */
static void
put_frame(MsMailExport *x, GByteArray *b)
{
    MsMail *m = x->m;
    put_u32(b, MS__EXPORT_MAGIC);
    put_u32(b, x->section);
    guint at = b->len, n = 0;
    put_u32(b, 0); /* the count, set below */
    gboolean ended = TRUE;
    if (x->section == MS__EXPORT_SESSIONS) {
        put_u64(b, m->smtp_sessions);
        put_u64(b, m->pop3_sessions);
        n = 1;
    } else if (x->section == MS__EXPORT_RECORDS) {
        /* At least one item a frame, however small the chunk. */
        guint32 id = x->cursor;
        const MsMessageRecord *r = NULL;
        while ((!n || b->len < x->chunk) && (r = ms__mail_record_next(m, &id))) {
            put_record(b, m, x->held, r);
            n++;
            x->cursor = id;
        }
        ended = r == NULL;
    } else if (x->section == MS__EXPORT_END) {
        x->done = TRUE;
    } else {
        guint len = section_len(m, x->section);
        for (; x->cursor < len && (!n || b->len < x->chunk); x->cursor++)
            n += put_entry(b, m, x->section, x->cursor);
        ended = x->cursor == len;
    }
    memcpy(b->data + at, &n, sizeof n);
    if (ended && !x->done) {
        x->section++;
        x->cursor = 0;
    }
}

MsMailExport *
ms_mail_export_new(MsMail *m, gsize chunk_bytes, gboolean release)
{
    g_return_val_if_fail(m != NULL, NULL);
    MsMailExport *x = g_new0(MsMailExport, 1);
    x->m = m;
    x->chunk = MAX(chunk_bytes, 1);
    x->release = release;
    x->held = held_set(m);
    x->section = MS__EXPORT_SESSIONS;
    return x;
}

GBytes *
ms_mail_export_next(MsMailExport *x)
{
    g_return_val_if_fail(x != NULL, NULL);
    if (x->done)
        return NULL;
    /* Room for the chunk and its last item (GLib rounds room up to a
     * power of two: 64 KiB for MS_MAIL_EXPORT_CHUNK). */
    GByteArray *b = g_byte_array_sized_new((guint) MIN(x->chunk, (gsize) 1 << 20) + 4096);
    while (!x->done && b->len < x->chunk)
        put_frame(x, b);
    if (x->done && x->release) {
        g_clear_pointer(&x->held, g_hash_table_destroy);
        ms__mail_merge_release(x->m);
    }
    return g_byte_array_free_to_bytes(b);
}

void
ms_mail_export_free(MsMailExport *x)
{
    if (!x)
        return;
    if (x->held)
        g_hash_table_destroy(x->held);
    g_free(x);
}

GBytes *
ms_mail_export_records(MsMail *m)
{
    g_return_val_if_fail(m != NULL, NULL);
    g_autoptr(MsMailExport) x = ms_mail_export_new(m, G_MAXSIZE, FALSE);
    GBytes *all = ms_mail_export_next(x);
    g_assert(x->done); /* one chunk of unlimited size is everything */
    return all;
}

/* Merging the mail records of a partitioned run (see include/mailsim/mail.h
 * and the design notes atop sim/dist/shard.c). Role: after every part has run,
 * each exports its records; one part merges them into the records a
 * sequential run of the same scenario and seed would have, so that
 * statistics, expectations and the "nothing lost" check read them as usual.
 *
 * Why it works. A message is created once, on the part that runs its origin
 * (set-up messages: on every part, identically); other parts only keep
 * shadows of it, made when it passes them. A message is known everywhere by
 * its Message-ID, which is partition-independent ("<label.N@origin>", N
 * counted per origin host). Each recipient's versions are combined: the
 * state, where, detail and done time of the latest change (updated_at; a
 * message moves between parts only over links with positive latency, so
 * changes on two parts never share a time), counters (attempts, deferrals,
 * hops) summed, the first retrieval (POP3 or IMAP: a sequential run keeps
 * the first device's). Records are then numbered in the
 * order a sequential run creates them: set-up records first, in their order,
 * then by the order key of the event that created them (time, scheduling
 * host, its counter) and the rank within that event.
 *
 * "Queued" must mean held by a server: each part says, for the recipients it
 * marked queued, whether one of its servers holds them (MsRcptRecord.held),
 * and the merged check reads that flag.
 *
 * Session counters (SMTP, POP3) travel along and are added.
 *
 * What each device showed its user (MsMailClient.seen: the summary's list
 * of reading devices, the <expect seen> checks) names messages by id, so
 * it travels too, by Message-ID: each part sends its own clients' lists
 * and the merge gives every client of the merging part the list its part
 * made, in the merged ids. A client runs on one part only, so no list is
 * combined with another. The clients' password counts (inside TLS, in the
 * clear: <expect login-encrypted/no-clear-password>) travel along too; the
 * merged layer's totals are their sums.
 *
 * Two more tables name messages by id and travel by Message-ID the same
 * way: the sender checks (SPF, DKIM, DMARC, DNSBL: mail_auth.c's ledger,
 * which <expect kind="auth"> and the journey pictures read) and the
 * TLS-policy ledger (hops read by an attacker, sessions a TLS requirement
 * ended: mail_tls_policy.c). A part exports what its own servers recorded;
 * the merge puts every part's checks back in the order they were made (by
 * time: one message's checks on two parts never share a time, for the same
 * reason as above) and adds up the TLS counts.
 *
 * The DMARC report rows (mail_auth.c: what a receiver's aggregate report
 * will say of each message it checked against a record with rua=) name no
 * message: each holds only what the checking server saw (its envelope's
 * first RCPT as envelope_to), so a part's rows are already the sequential
 * run's. They travel with the order key of the event that added them, and
 * the merge puts them back in the order a sequential run adds them (time,
 * then that key), which is the order the report files follow.
 *
 * A DNSBL listing marks the messages the listed client holds queued for
 * the listing server's domains at that moment (mail_auth.c's mark_listed);
 * the client may run on another part, whose queues the listing part cannot
 * see, and a part's records do not say what was queued where at a given
 * moment. So in a partitioned run the listing part keeps the listing, and
 * every part keeps when each recipient for a domain of a DNSBL-consulting
 * server was queued at a server (or bounced), with the event's order key;
 * the merge takes, for every listing, every message with such a recipient
 * whose latest entry before the listing put it at the listed client, in
 * id order, as the sequential run marks them.
 *
 * Format: "MSR3", the session counters, the record count, then per record
 * its fields in a fixed order, then the number of clients that logged in
 * or whose device showed something and per such client its index, its
 * logins inside TLS and in the clear, and the count and (Message-ID, time)
 * pairs of what it showed, then the number of sender checks and per check
 * its Message-ID ("" for none), checked flag, the SPF, DKIM, DMARC and
 * DNSBL words, action, checking host and time, then the number of
 * non-zero TLS-ledger entries and per entry its Message-ID and four
 * counts, then the number of DMARC report rows and per row its time,
 * event key, receiver, policy domain, record, source address,
 * disposition, flags, envelope domains, SPF domain and result and its
 * DKIM signatures, then the number of queue entries and per entry its
 * Message-ID, recipient, host, time and event key, then the number of
 * DNSBL listings and per listing its server, client, time, event key and
 * the count of checks the part had made before it ("MSR2" had neither
 * rows nor these); numbers in the machine's byte order (every
 * rank runs the same binary), strings as a 32-bit length and the bytes.
 * Reading checks every length against what is left (GVariant did this too,
 * at ten times the cost on a million records). Cost: O(records + recipients), plus a
 * sort of the records. */
#include "mail-private.h"
#include "mail_auth-private.h"
#include "mail_tls_policy-private.h"
#include "mailsim/dmarc.h"
#include "mailsim/spf.h"

#include <string.h>

G_DEFINE_QUARK(ms - mail - error - quark, ms_mail_error)

/* --- the byte format ------------------------------------------------------ */

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

typedef struct {
    const guint8 *p, *end;
    gboolean bad;
} Reader;

static void
get(Reader *r, void *v, gsize n)
{
    if (r->bad || (gsize) (r->end - r->p) < n) {
        r->bad = TRUE;
        memset(v, 0, n);
        return;
    }
    memcpy(v, r->p, n);
    r->p += n;
}

static guint32
get_u32(Reader *r)
{
    guint32 v;
    get(r, &v, sizeof v);
    return v;
}
static guint64
get_u64(Reader *r)
{
    guint64 v;
    get(r, &v, sizeof v);
    return v;
}

/* A string of the input: pointer and length (not terminated). */
typedef struct {
    const char *s;
    gsize n;
} Str;

static Str
get_str(Reader *r)
{
    Str out = { "", 0 };
    guint32 n = get_u32(r);
    if (r->bad || (gsize) (r->end - r->p) < n) {
        r->bad = TRUE;
        return out;
    }
    out.s = (const char *) r->p;
    out.n = n;
    r->p += n;
    return out;
}

static char *
dup_str(Str s)
{
    return g_strndup(s.s, s.n);
}

/* A string that may be NULL (put_ostr), kept in m's texts (it lives as
 * long as the mail layer, as a report row's strings must). */
static const char *
get_otext(Reader *r, MsMail *m)
{
    guint32 set = get_u32(r);
    Str s = get_str(r);
    if (set > 1)
        r->bad = TRUE;
    if (r->bad || !set)
        return NULL;
    return g_string_chunk_insert_len(m->texts, s.s, (gssize) s.n);
}

#define MAGIC 0x3352534du /* "MSR3" */

static const char *
tag_out(gpointer user_data, guint32 id)
{
    const MsMessageRecord *r = ms__mail_record(user_data, id);
    return r ? r->message_id : NULL;
}

static guint32
tag_in(gpointer user_data, const char *mid)
{
    return ms__mail_message_by_mid(user_data, mid, NULL, 0);
}

void
ms_mail_set_partitioned(MsMail *m, gboolean partitioned)
{
    g_return_if_fail(m != NULL);
    m->partitioned = partitioned;
    if (partitioned)
        ms_net_set_tag_codec(m->net, tag_out, tag_in, m);
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

GBytes *
ms_mail_export_records(MsMail *m)
{
    g_return_val_if_fail(m != NULL, NULL);
    g_autoptr(GHashTable) held = held_set(m);
    guint32 n = 0, id = 0;
    while (ms__mail_record_next(m, &id))
        n++; /* a part never folds: n is every id, but count what is there */
    GByteArray *b = g_byte_array_sized_new(64 * n + 64);
    put_u32(b, MAGIC);
    put_u64(b, m->smtp_sessions);
    put_u64(b, m->pop3_sessions);
    put_u32(b, n);
    id = 0;
    for (const MsMessageRecord *r; (r = ms__mail_record_next(m, &id));) {
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
    guint32 active = 0;
    for (guint c = 0; c < m->clients->len; c++)
        active += client_active(g_ptr_array_index(m->clients, c));
    put_u32(b, active);
    for (guint c = 0; c < m->clients->len; c++) {
        const MsMailClient *cl = g_ptr_array_index(m->clients, c);
        if (!client_active(cl))
            continue;
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
    /* The checks this part's servers made, in the order made. */
    guint nl = ms__auth_ledger_len(m);
    put_u32(b, nl);
    for (guint i = 0; i < nl; i++) {
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
    /* The TLS-policy ledger: only the messages something was counted for. */
    const GArray *tl = m->tls_policy ? m->tls_policy->ledger : NULL;
    guint32 nt = 0;
    for (guint i = 0; tl && i < tl->len; i++)
        nt += tls_counted(&g_array_index(tl, MsMailTlsLedger, i));
    put_u32(b, nt);
    for (guint i = 0; tl && i < tl->len; i++) {
        const MsMailTlsLedger *l = &g_array_index(tl, MsMailTlsLedger, i);
        if (!tls_counted(l))
            continue;
        put_mid(b, m, i + 1);
        put_u32(b, l->hops_tls);
        put_u32(b, l->hops_clear);
        put_u32(b, l->hops_read);
        put_u32(b, l->tls_refusals);
    }
    /* The DMARC report rows this part's servers added, in order, each with
     * the order key of its event. A row names no message: everything in it
     * is what the checking server saw. */
    guint nr = ms_mail_auth_n_report_rows(m);
    put_u32(b, nr);
    for (guint i = 0; i < nr; i++) {
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
    /* The DNSBL bookkeeping: when recipients were queued where, and the
     * listings this part's servers made (mail_auth-private.h). */
    guint nq = ms__auth_queued_len(m);
    put_u32(b, nq);
    for (guint i = 0; i < nq; i++) {
        const MsAuthQueued *q = ms__auth_queued_entry(m, i);
        put_mid(b, m, q->message);
        put_str(b, q->rcpt);
        put_u32(b, q->host);
        put_u64(b, (guint64) q->at);
        put_u32(b, q->key.src);
        put_u64(b, q->key.seq);
    }
    guint nlst = ms__auth_listings_len(m);
    put_u32(b, nlst);
    for (guint i = 0; i < nlst; i++) {
        const MsAuthListing *l = ms__auth_listing(m, i);
        put_u32(b, l->server);
        put_u32(b, l->peer);
        put_u64(b, (guint64) l->at);
        put_u32(b, l->key.src);
        put_u64(b, l->key.seq);
        put_u32(b, l->ledger_len);
    }
    return g_byte_array_free_to_bytes(b);
}

typedef struct {
    MsMessageRecord rec;
    char *parent_mid;
    gboolean have_base; /* rec's own fields come from a non-shadow */
} Merged;

/* Merged recipients own their strings until the install moves them into
 * the mail layer's texts. */
static void
merged_rcpt_clear(gpointer p)
{
    MsRcptRecord *r = p;
    g_free(r->address);
    g_free(r->detail);
}

static void
merged_clear(gpointer p)
{
    Merged *x = p;
    g_free(x->rec.label);
    g_free(x->rec.from);
    g_free(x->rec.subject);
    g_free(x->rec.message_id);
    g_free(x->parent_mid);
    if (x->rec.rcpts)
        g_array_free(x->rec.rcpts, TRUE);
}

static MsRcptRecord *
merged_rcpt(Merged *x, Str address)
{
    for (guint i = 0; i < x->rec.rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(x->rec.rcpts, MsRcptRecord, i);
        if (strlen(rr->address) == address.n &&
            g_ascii_strncasecmp(rr->address, address.s, address.n) == 0)
            return rr;
    }
    MsRcptRecord rr = { 0 };
    rr.address = dup_str(address);
    rr.state = MS_RCPT_WITH_CLIENT;
    rr.updated_at = G_MININT64;
    g_array_append_val(x->rec.rcpts, rr);
    return &g_array_index(x->rec.rcpts, MsRcptRecord, x->rec.rcpts->len - 1);
}

/* One message a part's device showed, as read. */
typedef struct {
    guint client;
    char *mid;
    gint64 at;
} SeenIn;

static void
seen_in_clear(gpointer p)
{
    g_free(((SeenIn *) p)->mid);
}

/* One sender check a part's server made, as read; part and order keep
 * one part's checks in their order (check i: i << 32 | 0xffffffff; the
 * k-th message a listing marks, made after check i - 1: i << 32 | k). */
typedef struct {
    char *mid;
    MsMailAuthLedger l;
    guint part;
    guint64 index;
} CheckIn;

static void
check_in_clear(gpointer p)
{
    g_free(((CheckIn *) p)->mid);
}

static gint
check_order(gconstpointer a, gconstpointer b)
{
    const CheckIn *x = a, *y = b;
    if (x->l.at != y->l.at)
        return x->l.at < y->l.at ? -1 : 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* One DMARC report row a part's server added, as read (its strings in
 * the mail layer's texts); part and index keep one part's rows in order. */
typedef struct {
    MsMailAuthReportRow row;
    MsAuthRowKey key;
    guint part, index;
} RowIn;

/* The order a sequential run adds rows in: by the (time, source, counter)
 * of the event that ended the check (sim/core/engine.c runs events in that
 * order); one event runs on one part, so equal keys are one part's rows. */
static gint
row_order(gconstpointer a, gconstpointer b)
{
    const RowIn *x = a, *y = b;
    if (x->row.at != y->row.at)
        return x->row.at < y->row.at ? -1 : 1;
    if (x->key.src != y->key.src)
        return x->key.src < y->key.src ? -1 : 1;
    if (x->key.seq != y->key.seq)
        return x->key.seq < y->key.seq ? -1 : 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* A recipient queued at a host (or bounced) on a part, as read: the
 * Message-ID and the address (lower case) name it. */
typedef struct {
    char *mid, *rcpt;
    MsHostId host;
    MsTime at;
    MsAuthRowKey key;
    guint part, index;
} QueuedIn;

static void
queued_in_clear(gpointer p)
{
    QueuedIn *q = p;
    g_free(q->mid);
    g_free(q->rcpt);
}

/* Whether event (at, key) ran before (at2, key2). */
static gboolean
key_before(MsTime at, MsAuthRowKey key, MsTime at2, MsAuthRowKey key2)
{
    if (at != at2)
        return at < at2;
    if (key.src != key2.src)
        return key.src < key2.src;
    return key.seq < key2.seq;
}

/* One recipient's entries together, then in the order they were made. */
static gint
queued_order(gconstpointer a, gconstpointer b)
{
    const QueuedIn *x = a, *y = b;
    int c = strcmp(x->mid, y->mid);
    if (!c)
        c = strcmp(x->rcpt, y->rcpt);
    if (c)
        return c;
    if (key_before(x->at, x->key, y->at, y->key))
        return -1;
    if (key_before(y->at, y->key, x->at, x->key))
        return 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* A part's listing, as read. */
typedef struct {
    MsAuthListing l;
    guint part, index;
} ListingIn;

static gint
listing_order(gconstpointer a, gconstpointer b)
{
    const ListingIn *x = a, *y = b;
    if (key_before(x->l.at, x->l.key, y->l.at, y->l.key))
        return -1;
    if (key_before(y->l.at, y->l.key, x->l.at, x->l.key))
        return 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The mail server of host h on m, or NULL. */
static const MsMailServer *
server_on(const MsMail *m, MsHostId h)
{
    guint v = h < m->server_of_host->len ? g_array_index(m->server_of_host, guint, h) : 0;
    return v ? g_ptr_array_index(m->servers, v - 1) : NULL;
}

/* What each DNSBL listing marks, as a sequential run's mark_listed
 * (mail_auth.c) does at the moment of the listing: every message, in id
 * order, with a recipient for a domain of the listing server that was
 * queued at the listed client then (its latest entry before the listing
 * put it there). A recipient for a domain of the client's own server was
 * stored there, never queued. Adds the checks to `checks`. Cost:
 * O(listings x recipients x their entries), as the sequential run's
 * O(listings x messages). */
static void
mark_listings(MsMail *m, GArray *queued, GArray *listings, GArray *checks)
{
    if (!listings->len)
        return;
    g_array_sort(queued, queued_order);
    g_array_sort(listings, listing_order);
    g_autoptr(GHashTable) first = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = queued->len; i-- > 0;) { /* looked up only: the first of each recipient */
        const QueuedIn *q = &g_array_index(queued, QueuedIn, i);
        g_hash_table_replace(first, g_strconcat(q->mid, "\n", q->rcpt, NULL),
                             GUINT_TO_POINTER(i + 1));
    }
    for (guint li = 0; li < listings->len; li++) {
        const ListingIn *l = &g_array_index(listings, ListingIn, li);
        const MsMailServer *s = server_on(m, l->l.server), *own = server_on(m, l->l.peer);
        guint32 marked = 0, id = 0;
        for (const MsMessageRecord *r; (r = ms__mail_record_next(m, &id));) {
            for (guint k = 0; k < r->rcpts->len; k++) {
                const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
                const char *dom = ms__address_domain(rr->address);
                if (!ms__server_is_local(s, dom) || (own && ms__server_is_local(own, dom)))
                    continue;
                g_autofree char *low = g_ascii_strdown(rr->address, -1);
                g_autofree char *key = g_strconcat(r->message_id, "\n", low, NULL);
                guint at = GPOINTER_TO_UINT(g_hash_table_lookup(first, key));
                const QueuedIn *last = NULL;
                for (guint i = at; at && i <= queued->len; i++) {
                    const QueuedIn *q = &g_array_index(queued, QueuedIn, i - 1);
                    if (strcmp(q->mid, r->message_id) || strcmp(q->rcpt, low) ||
                        !key_before(q->at, q->key, l->l.at, l->l.key))
                        break;
                    last = q;
                }
                if (!last || last->host != l->l.peer)
                    continue;
                CheckIn in = { g_strdup(r->message_id), { 0 }, l->part,
                               (guint64) l->l.ledger_len << 32 | marked++ };
                in.l.checked = TRUE;
                in.l.where = l->l.server;
                in.l.at = l->l.at;
                g_strlcpy(in.l.dnsbl, "listed", sizeof in.l.dnsbl);
                g_array_append_val(checks, in);
                break;
            }
        }
    }
}

/* One part's TLS-ledger counts for a message, as read. */
typedef struct {
    char *mid;
    MsMailTlsLedger l;
} TlsIn;

static void
tls_in_clear(gpointer p)
{
    g_free(((TlsIn *) p)->mid);
}

/* A result word of a check ("pass", "listed", "" for none) into its
 * fixed field; longer is malformed. */
static void
get_word(Reader *r, char *to, gsize size)
{
    Str w = get_str(r);
    memset(to, 0, size);
    if (w.n >= size || memchr(w.s, 0, w.n)) {
        r->bad = TRUE;
        return;
    }
    memcpy(to, w.s, w.n);
}

/* One part's version of a recipient, as read. */
typedef struct {
    Str address, detail, status;
    guint32 state, where, attempts, deferrals, received, hops, retrieved_by, held;
    gint64 updated, done, retrieved;
} RcptIn;

static void
read_rcpt(Reader *r, RcptIn *x)
{
    x->address = get_str(r);
    x->state = get_u32(r);
    x->updated = (gint64) get_u64(r);
    x->done = (gint64) get_u64(r);
    x->detail = get_str(r);
    x->status = get_str(r);
    x->where = get_u32(r);
    x->attempts = get_u32(r);
    x->deferrals = get_u32(r);
    x->received = get_u32(r);
    x->hops = get_u32(r);
    x->retrieved = (gint64) get_u64(r);
    x->retrieved_by = get_u32(r);
    x->held = get_u32(r);
    if (x->state > MS_RCPT_BOUNCED)
        r->bad = TRUE;
}

/* Folds one part's version of a recipient into the merged one. */
static void
merge_rcpt(MsRcptRecord *to, const RcptIn *v, gboolean base)
{
    to->attempts += v->attempts;
    to->deferrals += v->deferrals;
    to->hops += v->hops;
    /* The first device to show it, as a sequential run keeps it (ms__mail_seen). */
    if (v->retrieved > 0 && (!to->retrieved_at || v->retrieved < to->retrieved_at)) {
        to->retrieved_at = v->retrieved;
        to->retrieved_by = v->retrieved_by;
    }
    /* The latest change wins; a set-up version (never changed) gives the
     * starting point (where = the origin). */
    if (v->updated > to->updated_at || (base && to->updated_at == G_MININT64 && v->updated < 0)) {
        to->updated_at = v->updated;
        to->state = (MsRcptState) v->state;
        to->done_at = v->done;
        to->where = v->where;
        to->received_headers = v->received;
        to->held = v->held != 0;
        memset(to->status, 0, sizeof to->status);
        memcpy(to->status, v->status.s, MIN(v->status.n, sizeof to->status - 1));
        g_free(to->detail);
        to->detail = v->detail.n ? dup_str(v->detail) : NULL;
    }
}

static gint
by_creation(gconstpointer a, gconstpointer b)
{
    const MsMessageRecord *x = &((const Merged *) a)->rec, *y = &((const Merged *) b)->rec;
    if (x->create_t != y->create_t)
        return x->create_t < y->create_t ? -1 : 1;
    if (x->create_src != y->create_src)
        return x->create_src < y->create_src ? -1 : 1;
    if (x->create_seq != y->create_seq)
        return x->create_seq < y->create_seq ? -1 : 1;
    return x->create_idx < y->create_idx ? -1 : x->create_idx > y->create_idx;
}

gboolean
ms_mail_merge(MsMail *m, GBytes *const *parts, guint n, GError **error)
{
    g_return_val_if_fail(m != NULL && (parts != NULL || n == 0), FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(Merged));
    g_array_set_clear_func(all, merged_clear);
    g_autoptr(GHashTable) index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint64 smtp_sessions = 0, pop3_sessions = 0;
    g_autoptr(GArray) rcpts = g_array_new(FALSE, FALSE, sizeof(RcptIn));
    g_autoptr(GArray) shown = g_array_new(FALSE, FALSE, sizeof(SeenIn));
    g_array_set_clear_func(shown, seen_in_clear);
    g_autoptr(GArray) checks = g_array_new(FALSE, FALSE, sizeof(CheckIn));
    g_array_set_clear_func(checks, check_in_clear);
    g_autoptr(GArray) tls_rows = g_array_new(FALSE, FALSE, sizeof(TlsIn));
    g_array_set_clear_func(tls_rows, tls_in_clear);
    g_autoptr(GArray) report_rows = g_array_new(FALSE, FALSE, sizeof(RowIn));
    g_autoptr(GArray) queued = g_array_new(FALSE, FALSE, sizeof(QueuedIn));
    g_array_set_clear_func(queued, queued_in_clear);
    g_autoptr(GArray) listings = g_array_new(FALSE, FALSE, sizeof(ListingIn));
    guint n_hosts = ms_net_n_hosts(m->net);
    /* The exports hold everything: this part's own records can go now,
     * which keeps the merge's peak memory near one copy of the records. */
    ms__mail_records_reset(m);
    /* So can its clients' lists and counts: this part's are in its export. */
    for (guint c = 0; c < m->clients->len; c++) {
        MsMailClient *cl = g_ptr_array_index(m->clients, c);
        g_array_set_size(cl->seen, 0);
        cl->logins_tls = cl->logins_clear = 0;
    }
    m->logins_tls = m->logins_clear = 0;
    /* And its ledgers, keyed by its own ids. */
    ms__auth_ledger_reset(m);
    ms__auth_report_reset(m);
    ms__auth_dnsbl_log_reset(m);
    if (m->tls_policy)
        g_array_set_size(m->tls_policy->ledger, 0);
    for (guint p = 0; p < n; p++) {
        gsize len;
        const guint8 *data = g_bytes_get_data(parts[p], &len);
        Reader rd = { data, data + len, FALSE };
        if (get_u32(&rd) != MAGIC) {
            g_set_error(error, MS_MAIL_ERROR, 0, "mail records of part %u: not a record export", p);
            return FALSE;
        }
        smtp_sessions += get_u64(&rd);
        pop3_sessions += get_u64(&rd);
        guint32 nr = get_u32(&rd);
        for (guint32 i = 0; i < nr && !rd.bad; i++) {
            Str mid = get_str(&rd), label = get_str(&rd), from = get_str(&rd),
                subject = get_str(&rd), parent_mid = get_str(&rd);
            gint64 created = (gint64) get_u64(&rd);
            gboolean is_dsn = get_u32(&rd) != 0, shadow = get_u32(&rd) != 0;
            guint32 origin = get_u32(&rd), origin_n = get_u32(&rd);
            gint64 create_t = (gint64) get_u64(&rd);
            guint32 create_src = get_u32(&rd);
            guint64 create_seq = get_u64(&rd);
            guint32 create_idx = get_u32(&rd), tls_hops = get_u32(&rd), nk = get_u32(&rd);
            g_array_set_size(rcpts, 0);
            for (guint32 k = 0; k < nk && !rd.bad; k++) {
                RcptIn in;
                read_rcpt(&rd, &in);
                g_array_append_val(rcpts, in);
            }
            if (rd.bad)
                break;
            g_autofree char *key = dup_str(mid);
            gpointer at = g_hash_table_lookup(index, key);
            if (!at) {
                Merged fresh = { 0 };
                fresh.rec.message_id = g_strdup(key);
                fresh.rec.rcpts = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
                g_array_set_clear_func(fresh.rec.rcpts, merged_rcpt_clear);
                g_array_append_val(all, fresh);
                at = GUINT_TO_POINTER(all->len);
                g_hash_table_insert(index, g_steal_pointer(&key), at);
            }
            Merged *x = &g_array_index(all, Merged, GPOINTER_TO_UINT(at) - 1);
            /* Each part counted the hops its own servers made. */
            x->rec.hops_tls += (guint16) (tls_hops >> 16);
            x->rec.hops_clear += (guint16) (tls_hops & 0xffff);
            gboolean base = !shadow && !x->have_base;
            if (base || (!x->have_base && !x->rec.label)) {
                MsMessageRecord *r = &x->rec;
                g_free(r->label);
                g_free(r->from);
                g_free(r->subject);
                g_free(x->parent_mid);
                r->label = dup_str(label);
                r->from = dup_str(from);
                r->subject = dup_str(subject);
                x->parent_mid = dup_str(parent_mid);
                r->created_at = created;
                r->is_dsn = is_dsn;
                r->origin = origin;
                r->origin_n = origin_n;
                r->create_t = create_t;
                r->create_src = create_src;
                r->create_seq = create_seq;
                r->create_idx = create_idx;
                x->have_base = !shadow;
                if (base) {
                    /* The creator's recipient order is the record's. */
                    g_autoptr(GArray) old = x->rec.rcpts;
                    x->rec.rcpts = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
                    g_array_set_clear_func(x->rec.rcpts, merged_rcpt_clear);
                    for (guint k = 0; k < rcpts->len; k++)
                        merged_rcpt(x, g_array_index(rcpts, RcptIn, k).address);
                    for (guint k = 0; k < old->len; k++) {
                        MsRcptRecord *o = &g_array_index(old, MsRcptRecord, k);
                        Str a = { o->address, strlen(o->address) };
                        MsRcptRecord *t = merged_rcpt(x, a);
                        g_free(t->detail);
                        char *keep = t->address;
                        *t = *o;
                        t->address = keep;
                        o->detail = NULL;
                    }
                }
            }
            for (guint k = 0; k < rcpts->len; k++) {
                const RcptIn *in = &g_array_index(rcpts, RcptIn, k);
                merge_rcpt(merged_rcpt(x, in->address), in, !shadow);
            }
        }
        guint32 nc = get_u32(&rd);
        for (guint32 c = 0; c < nc && !rd.bad; c++) {
            guint32 client = get_u32(&rd), tls = get_u32(&rd), clear = get_u32(&rd),
                    count = get_u32(&rd);
            if (client >= m->clients->len) {
                rd.bad = TRUE;
                break;
            }
            MsMailClient *cl = g_ptr_array_index(m->clients, client);
            cl->logins_tls += tls;
            cl->logins_clear += clear;
            m->logins_tls += tls;
            m->logins_clear += clear;
            for (guint32 i = 0; i < count && !rd.bad; i++) {
                SeenIn in = { client, dup_str(get_str(&rd)), 0 };
                in.at = (gint64) get_u64(&rd);
                g_array_append_val(shown, in);
            }
        }
        guint32 na = get_u32(&rd);
        for (guint32 i = 0; i < na && !rd.bad; i++) {
            CheckIn in = { dup_str(get_str(&rd)), { 0 }, p, (guint64) i << 32 | 0xffffffffu };
            in.l.checked = get_u32(&rd) != 0;
            get_word(&rd, in.l.spf, sizeof in.l.spf);
            get_word(&rd, in.l.dkim, sizeof in.l.dkim);
            get_word(&rd, in.l.dmarc, sizeof in.l.dmarc);
            get_word(&rd, in.l.dnsbl, sizeof in.l.dnsbl);
            guint32 action = get_u32(&rd), where = get_u32(&rd);
            in.l.at = (MsTime) get_u64(&rd);
            if (action > MS_MAIL_AUTH_REJECT ||
                (where >= n_hosts && where != MS_NO_HOST_ID && where != MS_HOST_WORLD))
                rd.bad = TRUE;
            in.l.action = (MsMailAuthAction) action;
            in.l.where = (MsHostId) where;
            g_array_append_val(checks, in);
        }
        guint32 nt = get_u32(&rd);
        for (guint32 i = 0; i < nt && !rd.bad; i++) {
            TlsIn in = { dup_str(get_str(&rd)), { 0 } };
            in.l.hops_tls = get_u32(&rd);
            in.l.hops_clear = get_u32(&rd);
            in.l.hops_read = get_u32(&rd);
            in.l.tls_refusals = get_u32(&rd);
            g_array_append_val(tls_rows, in);
        }
        guint32 nrows = get_u32(&rd);
        for (guint32 i = 0; i < nrows && !rd.bad; i++) {
            RowIn in = { { 0 }, { 0 }, p, i };
            MsMailAuthReportRow *r = &in.row;
            r->at = (MsTime) get_u64(&rd);
            in.key.src = get_u32(&rd);
            in.key.seq = get_u64(&rd);
            r->receiver = get_u32(&rd);
            Str pd = get_str(&rd), rec = get_str(&rd);
            get_word(&rd, r->source_ip, sizeof r->source_ip);
            r->disposition = get_u32(&rd);
            guint32 flags = get_u32(&rd);
            r->dkim_aligned = (flags & 1) != 0;
            r->spf_aligned = (flags & 2) != 0;
            r->sampled_out = (flags & 4) != 0;
            r->spf_helo = (flags & 8) != 0;
            r->envelope_to = get_otext(&rd, m);
            Str ef = get_str(&rd), hf = get_str(&rd);
            r->spf_domain = get_otext(&rd, m);
            r->spf_result = get_u32(&rd);
            r->n_dkim = get_u32(&rd);
            if (r->receiver >= n_hosts || r->disposition > MS_DMARC_POLICY_REJECT || flags > 15 ||
                r->spf_result > MS_SPF_RESULT_PERMERROR || r->n_dkim > MS_MAIL_AUTH_REPORT_DKIM)
                rd.bad = TRUE;
            for (guint d = 0; d < r->n_dkim && !rd.bad; d++) {
                r->dkim_domain[d] = get_otext(&rd, m);
                r->dkim_selector[d] = get_otext(&rd, m);
                r->dkim_result[d] = get_otext(&rd, m);
            }
            if (rd.bad)
                break;
            r->policy_domain = g_string_chunk_insert_len(m->texts, pd.s, (gssize) pd.n);
            r->record = g_string_chunk_insert_len(m->texts, rec.s, (gssize) rec.n);
            r->envelope_from = g_string_chunk_insert_len(m->texts, ef.s, (gssize) ef.n);
            r->header_from = g_string_chunk_insert_len(m->texts, hf.s, (gssize) hf.n);
            g_array_append_val(report_rows, in);
        }
        guint32 nq = get_u32(&rd);
        for (guint32 i = 0; i < nq && !rd.bad; i++) {
            Str mid = get_str(&rd), rcpt = get_str(&rd);
            QueuedIn in = { dup_str(mid), NULL, get_u32(&rd), 0, { 0 }, p, i };
            g_autofree char *addr = dup_str(rcpt);
            in.rcpt = g_ascii_strdown(addr, -1);
            in.at = (MsTime) get_u64(&rd);
            in.key.src = get_u32(&rd);
            in.key.seq = get_u64(&rd);
            if (in.host >= n_hosts && in.host != MS_NO_HOST_ID)
                rd.bad = TRUE;
            g_array_append_val(queued, in);
        }
        guint32 nlst = get_u32(&rd);
        for (guint32 i = 0; i < nlst && !rd.bad; i++) {
            ListingIn in = { { 0 }, p, i };
            in.l.server = get_u32(&rd);
            in.l.peer = get_u32(&rd);
            in.l.at = (MsTime) get_u64(&rd);
            in.l.key.src = get_u32(&rd);
            in.l.key.seq = get_u64(&rd);
            in.l.ledger_len = get_u32(&rd);
            if (in.l.server >= n_hosts || !server_on(m, in.l.server) || in.l.peer >= n_hosts)
                rd.bad = TRUE;
            g_array_append_val(listings, in);
        }
        if (rd.bad || rd.p != rd.end) {
            g_set_error(error, MS_MAIL_ERROR, 0,
                        "mail records of part %u are malformed (byte %" G_GSIZE_FORMAT ")", p,
                        (gsize) (rd.p - data));
            return FALSE;
        }
    }
    for (guint i = 0; i < all->len; i++)
        if (!g_array_index(all, Merged, i).have_base) {
            g_set_error(error, MS_MAIL_ERROR, 0, "message %s was seen but no part created it",
                        g_array_index(all, Merged, i).rec.message_id);
            return FALSE;
        }
    g_array_sort(all, by_creation);
    /* Install: numbered 1.. in creation order, parents resolved. */
    for (guint i = 0; i < all->len; i++) {
        Merged *x = &g_array_index(all, Merged, i);
        MsMessageRecord r = x->rec;
        r.label = ms__mail_text(m, x->rec.label);
        r.from = ms__mail_text(m, x->rec.from);
        r.subject = ms__mail_text(m, x->rec.subject);
        r.message_id = ms__mail_text(m, x->rec.message_id);
        g_free(x->rec.label);
        g_free(x->rec.from);
        g_free(x->rec.subject);
        g_free(x->rec.message_id);
        memset(&x->rec, 0, sizeof x->rec); /* the recipients move to r, their addresses below */
        r.id = i + 1;
        r.shadow = FALSE;
        for (guint k = 0; k < r.rcpts->len; k++) {
            MsRcptRecord *rr = &g_array_index(r.rcpts, MsRcptRecord, k);
            g_autofree char *owned = rr->address;
            rr->address = ms__mail_text(m, owned);
            if (rr->updated_at == G_MININT64)
                rr->updated_at = -1;
        }
        g_array_set_clear_func(r.rcpts, ms__rcpt_clear);
        ms__mail_record_install(m, &r);
    }
    for (guint i = 0; i < all->len; i++) {
        const char *pm = g_array_index(all, Merged, i).parent_mid;
        if (pm && *pm)
            ms__mail_record(m, i + 1)->parent = ms__mail_lookup_mid(m, pm);
    }
    /* The devices' lists, in the merged ids. */
    for (guint i = 0; i < shown->len; i++) {
        const SeenIn *in = &g_array_index(shown, SeenIn, i);
        MsMailSeen sn = { ms__mail_lookup_mid(m, in->mid), in->at };
        if (!sn.message) {
            g_set_error(error, MS_MAIL_ERROR, 0,
                        "a device showed message %s, which no part's records hold", in->mid);
            return FALSE;
        }
        g_array_append_val(((MsMailClient *) g_ptr_array_index(m->clients, in->client))->seen, sn);
    }
    /* The sender checks, in the merged ids and in the order made, with
     * what the DNSBL listings mark. */
    mark_listings(m, queued, listings, checks);
    g_array_sort(checks, check_order);
    for (guint i = 0; i < checks->len; i++) {
        const CheckIn *in = &g_array_index(checks, CheckIn, i);
        guint32 id = *in->mid ? ms__mail_lookup_mid(m, in->mid) : 0;
        if (*in->mid && !id) {
            g_set_error(error, MS_MAIL_ERROR, 0,
                        "part %u checked the sender of message %s, which no part's records hold",
                        in->part, in->mid);
            return FALSE;
        }
        *ms__auth_ledger_add(m, id) = in->l;
    }
    /* The TLS counts, added over the parts. */
    for (guint i = 0; i < tls_rows->len; i++) {
        const TlsIn *in = &g_array_index(tls_rows, TlsIn, i);
        guint32 id = ms__mail_lookup_mid(m, in->mid);
        if (!id) {
            g_set_error(error, MS_MAIL_ERROR, 0,
                        "the TLS ledger names message %s, which no part's records hold", in->mid);
            return FALSE;
        }
        MsMailTlsLedger *l = ms__tls_policy_ledger(m, id);
        l->hops_tls += in->l.hops_tls;
        l->hops_clear += in->l.hops_clear;
        l->hops_read += in->l.hops_read;
        l->tls_refusals += in->l.tls_refusals;
    }
    /* The DMARC report rows, in the order a sequential run adds them. */
    g_array_sort(report_rows, row_order);
    for (guint i = 0; i < report_rows->len; i++) {
        const RowIn *in = &g_array_index(report_rows, RowIn, i);
        ms__auth_report_add(m, &in->row, in->key);
    }
    m->merged = TRUE;
    m->smtp_sessions = smtp_sessions;
    m->pop3_sessions = pop3_sessions;
    return TRUE;
}

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
 * The exports travel as frames (mail_export.c) and the merge reads them
 * one chunk at a time (ms_mail_merge_add), each part's in order, then the
 * next part's: what it keeps between chunks is the merged messages (their
 * strings already in the mail layer's texts, where the installed records
 * keep them) and the small tables above, never a whole export, so that
 * rank 0 of an MPI run holds one part's chunk at a time, not every part's
 * export (README "Memory per rank"). Reading checks every length against
 * what is left. Costs: O(records + recipients), a hash look-up per
 * record, plus a sort of the records; memory about one merged record per
 * message (the installed record takes its place: each merged message is
 * freed as it is installed). */
#include "mail-private.h"
#include "mail_auth-private.h"
#include "mail_merge-private.h"
#include "mail_tls_policy-private.h"
#include "mailsim/dmarc.h"
#include "mailsim/spf.h"

#include <string.h>

G_DEFINE_QUARK(ms - mail - error - quark, ms_mail_error)

/* --- reading the byte format (written by mail_export.c) ------------------ */

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

/* A message as merged so far: its strings (and its recipients'
 * addresses) are in the mail layer's texts already, where its installed
 * record keeps them; the recipients' details are their own. One
 * allocation per message, freed as the message is installed. */
typedef struct {
    MsMessageRecord rec;
    const char *parent_mid; /* set with the fields of the creator's version */
    gboolean have_base;     /* rec's own fields come from a non-shadow */
} Merged;

static void
merged_free(gpointer p)
{
    Merged *x = p;
    if (!x)
        return;
    if (x->rec.rcpts)
        g_array_free(x->rec.rcpts, TRUE);
    g_free(x);
}

static GArray *
rcpt_array(void)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
    g_array_set_clear_func(a, ms__rcpt_clear);
    return a;
}

/* s as one of m's texts: reused from `old`'s addresses when one is the
 * same string (a recipient read before from a shadow), else copied. */
static char *
text_of(MsMail *m, Str s, const GArray *old)
{
    for (guint i = 0; old && i < old->len; i++) {
        char *a = g_array_index(old, MsRcptRecord, i).address;
        if (strlen(a) == s.n && memcmp(a, s.s, s.n) == 0)
            return a;
    }
    return g_string_chunk_insert_len(m->texts, s.s, (gssize) s.n);
}

/* x's recipient `address` (compared without case), made (with the
 * address from `old` or copied) when x has none. */
static MsRcptRecord *
merged_rcpt(MsMail *m, Merged *x, Str address, const GArray *old)
{
    for (guint i = 0; i < x->rec.rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(x->rec.rcpts, MsRcptRecord, i);
        if (strlen(rr->address) == address.n &&
            g_ascii_strncasecmp(rr->address, address.s, address.n) == 0)
            return rr;
    }
    MsRcptRecord rr = { 0 };
    rr.address = text_of(m, address, old);
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
    const MsMessageRecord *x = &(*(Merged *const *) a)->rec, *y = &(*(Merged *const *) b)->rec;
    if (x->create_t != y->create_t)
        return x->create_t < y->create_t ? -1 : 1;
    if (x->create_src != y->create_src)
        return x->create_src < y->create_src ? -1 : 1;
    if (x->create_seq != y->create_seq)
        return x->create_seq < y->create_seq ? -1 : 1;
    return x->create_idx < y->create_idx ? -1 : x->create_idx > y->create_idx;
}

struct _MsMailMerge {
    MsMail *m;
    guint n_parts, n_hosts;
    guint part;         /* the part being read (n_parts: none yet) */
    gboolean ended;     /* its END frame was read */
    MsExportSection at; /* its last section read */
    /* its entries read so far, per indexed section (the order keys) */
    guint32 n_checks, n_rows, n_queued, n_listings;
    GPtrArray *all;    /* Merged, in the order first read */
    GHashTable *index; /* Message-ID (one of m's texts) -> Merged */
    GString *key;      /* a Message-ID read, terminated for the look-up */
    GArray *rcpts;     /* RcptIn of the record being read */
    guint64 smtp_sessions, pop3_sessions;
    guint *logins_tls, *logins_clear; /* per client of m */
    GArray *shown, *checks, *tls_rows, *report_rows, *queued, *listings;
};

MsMailMerge *
ms_mail_merge_new(MsMail *m, guint n_parts)
{
    g_return_val_if_fail(m != NULL, NULL);
    MsMailMerge *g = g_new0(MsMailMerge, 1);
    g->m = m;
    g->n_parts = n_parts;
    g->n_hosts = ms_net_n_hosts(m->net);
    g->part = n_parts;
    g->all = g_ptr_array_new_with_free_func(merged_free);
    g->index = g_hash_table_new(g_str_hash, g_str_equal);
    g->key = g_string_new(NULL);
    g->rcpts = g_array_new(FALSE, FALSE, sizeof(RcptIn));
    g->logins_tls = g_new0(guint, m->clients->len);
    g->logins_clear = g_new0(guint, m->clients->len);
    g->shown = g_array_new(FALSE, FALSE, sizeof(SeenIn));
    g_array_set_clear_func(g->shown, seen_in_clear);
    g->checks = g_array_new(FALSE, FALSE, sizeof(CheckIn));
    g_array_set_clear_func(g->checks, check_in_clear);
    g->tls_rows = g_array_new(FALSE, FALSE, sizeof(TlsIn));
    g_array_set_clear_func(g->tls_rows, tls_in_clear);
    g->report_rows = g_array_new(FALSE, FALSE, sizeof(RowIn));
    g->queued = g_array_new(FALSE, FALSE, sizeof(QueuedIn));
    g_array_set_clear_func(g->queued, queued_in_clear);
    g->listings = g_array_new(FALSE, FALSE, sizeof(ListingIn));
    return g;
}

void
ms_mail_merge_free(MsMailMerge *g)
{
    if (!g)
        return;
    g_hash_table_destroy(g->index);
    g_ptr_array_unref(g->all);
    g_string_free(g->key, TRUE);
    g_array_free(g->rcpts, TRUE);
    g_free(g->logins_tls);
    g_free(g->logins_clear);
    g_array_free(g->shown, TRUE);
    g_array_free(g->checks, TRUE);
    g_array_free(g->tls_rows, TRUE);
    g_array_free(g->report_rows, TRUE);
    g_array_free(g->queued, TRUE);
    g_array_free(g->listings, TRUE);
    g_free(g);
}

void
ms__mail_merge_release(MsMail *m)
{
    ms__mail_records_reset(m);
    for (guint c = 0; c < m->clients->len; c++) {
        MsMailClient *cl = g_ptr_array_index(m->clients, c);
        g_array_set_size(cl->seen, 0);
        cl->logins_tls = cl->logins_clear = 0;
    }
    m->logins_tls = m->logins_clear = 0;
    ms__auth_ledger_reset(m);
    ms__auth_report_reset(m);
    ms__auth_dnsbl_log_reset(m);
    if (m->tls_policy)
        g_array_set_size(m->tls_policy->ledger, 0);
}

/* The merged message with Message-ID mid, made when new. */
static Merged *
merged_of(MsMailMerge *g, Str mid)
{
    g_string_truncate(g->key, 0);
    g_string_append_len(g->key, mid.s, (gssize) mid.n);
    Merged *x = g_hash_table_lookup(g->index, g->key->str);
    if (x)
        return x;
    x = g_new0(Merged, 1);
    x->rec.message_id = g_string_chunk_insert_len(g->m->texts, mid.s, (gssize) mid.n);
    x->rec.rcpts = rcpt_array();
    g_ptr_array_add(g->all, x);
    g_hash_table_insert(g->index, x->rec.message_id, x);
    return x;
}

/* One record of a part, read and merged. */
static void
read_record(MsMailMerge *g, Reader *rd)
{
    MsMail *m = g->m;
    Str mid = get_str(rd), label = get_str(rd), from = get_str(rd), subject = get_str(rd),
        parent_mid = get_str(rd);
    gint64 created = (gint64) get_u64(rd);
    gboolean is_dsn = get_u32(rd) != 0, shadow = get_u32(rd) != 0;
    guint32 origin = get_u32(rd), origin_n = get_u32(rd);
    gint64 create_t = (gint64) get_u64(rd);
    guint32 create_src = get_u32(rd);
    guint64 create_seq = get_u64(rd);
    guint32 create_idx = get_u32(rd), tls_hops = get_u32(rd), nk = get_u32(rd);
    g_array_set_size(g->rcpts, 0);
    for (guint32 k = 0; k < nk && !rd->bad; k++) {
        RcptIn in;
        read_rcpt(rd, &in);
        g_array_append_val(g->rcpts, in);
    }
    if (rd->bad)
        return;
    Merged *x = merged_of(g, mid);
    /* Each part counted the hops its own servers made. */
    x->rec.hops_tls += (guint16) (tls_hops >> 16);
    x->rec.hops_clear += (guint16) (tls_hops & 0xffff);
    /* The creator's version gives the record's own fields (a set-up
     * message is every part's own: the first part's); a shadow's are
     * never read, as a merge where no part created a message fails. */
    if (!shadow && !x->have_base) {
        MsMessageRecord *r = &x->rec;
        r->label = g_string_chunk_insert_len(m->texts, label.s, (gssize) label.n);
        r->from = g_string_chunk_insert_len(m->texts, from.s, (gssize) from.n);
        r->subject = g_string_chunk_insert_len(m->texts, subject.s, (gssize) subject.n);
        x->parent_mid =
            parent_mid.n ? g_string_chunk_insert_len(m->texts, parent_mid.s, (gssize) parent_mid.n)
                         : NULL;
        r->created_at = created;
        r->is_dsn = is_dsn;
        r->origin = origin;
        r->origin_n = origin_n;
        r->create_t = create_t;
        r->create_src = create_src;
        r->create_seq = create_seq;
        r->create_idx = create_idx;
        x->have_base = TRUE;
        /* The creator's recipient order is the record's. */
        g_autoptr(GArray) old = x->rec.rcpts;
        x->rec.rcpts = rcpt_array();
        for (guint k = 0; k < g->rcpts->len; k++)
            merged_rcpt(m, x, g_array_index(g->rcpts, RcptIn, k).address, old);
        for (guint k = 0; k < old->len; k++) {
            MsRcptRecord *o = &g_array_index(old, MsRcptRecord, k);
            Str a = { o->address, strlen(o->address) };
            MsRcptRecord *t = merged_rcpt(m, x, a, old);
            g_free(t->detail);
            char *keep = t->address;
            *t = *o;
            t->address = keep;
            o->detail = NULL;
        }
    }
    for (guint k = 0; k < g->rcpts->len; k++) {
        const RcptIn *in = &g_array_index(g->rcpts, RcptIn, k);
        merge_rcpt(merged_rcpt(m, x, in->address, NULL), in, !shadow);
    }
}

/* One client's logins and what its device showed, as a part saw them. */
static void
read_client(MsMailMerge *g, Reader *rd)
{
    guint32 client = get_u32(rd), tls = get_u32(rd), clear = get_u32(rd), count = get_u32(rd);
    if (client >= g->m->clients->len) {
        rd->bad = TRUE;
        return;
    }
    g->logins_tls[client] += tls;
    g->logins_clear[client] += clear;
    for (guint32 i = 0; i < count && !rd->bad; i++) {
        SeenIn in = { client, dup_str(get_str(rd)), 0 };
        in.at = (gint64) get_u64(rd);
        g_array_append_val(g->shown, in);
    }
}

static void
read_check(MsMailMerge *g, Reader *rd)
{
    guint64 i = g->n_checks++;
    CheckIn in = { dup_str(get_str(rd)), { 0 }, g->part, i << 32 | 0xffffffffu };
    in.l.checked = get_u32(rd) != 0;
    get_word(rd, in.l.spf, sizeof in.l.spf);
    get_word(rd, in.l.dkim, sizeof in.l.dkim);
    get_word(rd, in.l.dmarc, sizeof in.l.dmarc);
    get_word(rd, in.l.dnsbl, sizeof in.l.dnsbl);
    guint32 action = get_u32(rd), where = get_u32(rd);
    in.l.at = (MsTime) get_u64(rd);
    if (action > MS_MAIL_AUTH_REJECT ||
        (where >= g->n_hosts && where != MS_NO_HOST_ID && where != MS_HOST_WORLD))
        rd->bad = TRUE;
    in.l.action = (MsMailAuthAction) action;
    in.l.where = (MsHostId) where;
    g_array_append_val(g->checks, in);
}

static void
read_tls(MsMailMerge *g, Reader *rd)
{
    TlsIn in = { dup_str(get_str(rd)), { 0 } };
    in.l.hops_tls = get_u32(rd);
    in.l.hops_clear = get_u32(rd);
    in.l.hops_read = get_u32(rd);
    in.l.tls_refusals = get_u32(rd);
    g_array_append_val(g->tls_rows, in);
}

static void
read_row(MsMailMerge *g, Reader *rd)
{
    MsMail *m = g->m;
    RowIn in = { { 0 }, { 0 }, g->part, g->n_rows++ };
    MsMailAuthReportRow *r = &in.row;
    r->at = (MsTime) get_u64(rd);
    in.key.src = get_u32(rd);
    in.key.seq = get_u64(rd);
    r->receiver = get_u32(rd);
    Str pd = get_str(rd), rec = get_str(rd);
    get_word(rd, r->source_ip, sizeof r->source_ip);
    r->disposition = get_u32(rd);
    guint32 flags = get_u32(rd);
    r->dkim_aligned = (flags & 1) != 0;
    r->spf_aligned = (flags & 2) != 0;
    r->sampled_out = (flags & 4) != 0;
    r->spf_helo = (flags & 8) != 0;
    r->envelope_to = get_otext(rd, m);
    Str ef = get_str(rd), hf = get_str(rd);
    r->spf_domain = get_otext(rd, m);
    r->spf_result = get_u32(rd);
    r->n_dkim = get_u32(rd);
    if (r->receiver >= g->n_hosts || r->disposition > MS_DMARC_POLICY_REJECT || flags > 15 ||
        r->spf_result > MS_SPF_RESULT_PERMERROR || r->n_dkim > MS_MAIL_AUTH_REPORT_DKIM)
        rd->bad = TRUE;
    for (guint d = 0; d < r->n_dkim && !rd->bad; d++) {
        r->dkim_domain[d] = get_otext(rd, m);
        r->dkim_selector[d] = get_otext(rd, m);
        r->dkim_result[d] = get_otext(rd, m);
    }
    if (rd->bad)
        return;
    r->policy_domain = g_string_chunk_insert_len(m->texts, pd.s, (gssize) pd.n);
    r->record = g_string_chunk_insert_len(m->texts, rec.s, (gssize) rec.n);
    r->envelope_from = g_string_chunk_insert_len(m->texts, ef.s, (gssize) ef.n);
    r->header_from = g_string_chunk_insert_len(m->texts, hf.s, (gssize) hf.n);
    g_array_append_val(g->report_rows, in);
}

static void
read_queued(MsMailMerge *g, Reader *rd)
{
    Str mid = get_str(rd), rcpt = get_str(rd);
    QueuedIn in = { dup_str(mid), NULL, get_u32(rd), 0, { 0 }, g->part, g->n_queued++ };
    g_autofree char *addr = dup_str(rcpt);
    in.rcpt = g_ascii_strdown(addr, -1);
    in.at = (MsTime) get_u64(rd);
    in.key.src = get_u32(rd);
    in.key.seq = get_u64(rd);
    if (in.host >= g->n_hosts && in.host != MS_NO_HOST_ID)
        rd->bad = TRUE;
    g_array_append_val(g->queued, in);
}

static void
read_listing(MsMailMerge *g, Reader *rd)
{
    ListingIn in = { { 0 }, g->part, g->n_listings++ };
    in.l.server = get_u32(rd);
    in.l.peer = get_u32(rd);
    in.l.at = (MsTime) get_u64(rd);
    in.l.key.src = get_u32(rd);
    in.l.key.seq = get_u64(rd);
    in.l.ledger_len = get_u32(rd);
    if (in.l.server >= g->n_hosts || !server_on(g->m, in.l.server) || in.l.peer >= g->n_hosts)
        rd->bad = TRUE;
    g_array_append_val(g->listings, in);
}

static void
read_sessions(MsMailMerge *g, Reader *rd)
{
    g->smtp_sessions += get_u64(rd);
    g->pop3_sessions += get_u64(rd);
}

/* The reader of one item, per section (END has none). */
static void (*const item_readers[MS__EXPORT_END])(MsMailMerge *g, Reader *rd) = {
    [MS__EXPORT_SESSIONS] = read_sessions, [MS__EXPORT_RECORDS] = read_record,
    [MS__EXPORT_CLIENTS] = read_client,    [MS__EXPORT_CHECKS] = read_check,
    [MS__EXPORT_TLS] = read_tls,           [MS__EXPORT_ROWS] = read_row,
    [MS__EXPORT_QUEUED] = read_queued,     [MS__EXPORT_LISTINGS] = read_listing,
};

/* Whether part `part` may come now: the part being read, or the next one
 * once the part before has ended (parts come in order, none left out). */
static gboolean
part_in_order(MsMailMerge *g, guint part, GError **error)
{
    if (part >= g->n_parts) {
        g_set_error(error, MS_MAIL_ERROR, 0, "mail records of part %u: only %u parts", part,
                    g->n_parts);
        return FALSE;
    }
    if (part == g->part && !g->ended)
        return TRUE;
    guint next = g->part == g->n_parts ? 0 : g->part + 1;
    if (g->part != g->n_parts && !g->ended) {
        g_set_error(error, MS_MAIL_ERROR, 0, "mail records of part %u end too early", g->part);
        return FALSE;
    }
    if (part != next) {
        g_set_error(error, MS_MAIL_ERROR, 0,
                    "mail records of part %u: out of order (part %u expected)", part, next);
        return FALSE;
    }
    g->part = part;
    g->ended = FALSE;
    g->at = MS__EXPORT_SESSIONS;
    g->n_checks = g->n_rows = g->n_queued = g->n_listings = 0;
    return TRUE;
}

gboolean
ms_mail_merge_add(MsMailMerge *g, guint part, GBytes *chunk, GError **error)
{
    g_return_val_if_fail(g != NULL && chunk != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    if (!part_in_order(g, part, error))
        return FALSE;
    gsize len;
    const guint8 *data = g_bytes_get_data(chunk, &len);
    Reader rd = { data, data + len, FALSE };
    const char *what = NULL;
    while (rd.p < rd.end && !rd.bad && !what) {
        if (g->ended) {
            what = "bytes after the end";
            break;
        }
        guint32 magic = get_u32(&rd), section = get_u32(&rd), count = get_u32(&rd);
        if (rd.bad)
            break;
        if (magic != MS__EXPORT_MAGIC) {
            what = "not a record export";
            break;
        }
        if (section > MS__EXPORT_END || section < g->at) {
            what = "sections out of order";
            break;
        }
        g->at = section;
        if (section == MS__EXPORT_END && count)
            rd.bad = TRUE; /* END holds nothing */
        for (guint32 i = 0; i < count && !rd.bad; i++)
            item_readers[section](g, &rd);
        g->ended = section == MS__EXPORT_END;
    }
    if (what || rd.bad) {
        g_set_error(error, MS_MAIL_ERROR, 0,
                    "mail records of part %u are malformed (%s at byte %" G_GSIZE_FORMAT
                    " of a chunk)",
                    part, what ? what : "a length past the end or a value out of range",
                    (gsize) (rd.p - data));
        return FALSE;
    }
    return TRUE;
}

gboolean
ms_mail_merge_finish(MsMailMerge *g, GError **error)
{
    g_return_val_if_fail(g != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    MsMail *m = g->m;
    if (g->n_parts && (g->part != g->n_parts - 1 || !g->ended)) {
        guint short_part = g->part == g->n_parts ? 0 : g->ended ? g->part + 1 : g->part;
        g_set_error(error, MS_MAIL_ERROR, 0, "mail records of part %u end too early", short_part);
        return FALSE;
    }
    for (guint i = 0; i < g->all->len; i++) {
        const Merged *x = g_ptr_array_index(g->all, i);
        if (!x->have_base) {
            g_set_error(error, MS_MAIL_ERROR, 0, "message %s was seen but no part created it",
                        x->rec.message_id);
            return FALSE;
        }
        /* Message N of its origin: the origin's messages 1..N are all
         * here (a part keeps every record it made); the index sizes an
         * array by N, so a malformed N must not reach it. */
        if (x->rec.origin_n > g->all->len) {
            g_set_error(error, MS_MAIL_ERROR, 0,
                        "message %s is number %u of its origin, of %u messages merged",
                        x->rec.message_id, x->rec.origin_n, g->all->len);
            return FALSE;
        }
    }
    /* What the merge replaces goes (a part's own export may have freed it
     * already: ms_mail_export_new's release). */
    ms__mail_merge_release(m);
    for (guint c = 0; c < m->clients->len; c++) {
        MsMailClient *cl = g_ptr_array_index(m->clients, c);
        cl->logins_tls = g->logins_tls[c];
        cl->logins_clear = g->logins_clear[c];
        m->logins_tls += cl->logins_tls;
        m->logins_clear += cl->logins_clear;
    }
    g_hash_table_remove_all(g->index); /* its keys become the records' */
    g_ptr_array_sort(g->all, by_creation);
    /* Install: numbered 1.. in creation order, each merged message freed
     * as its record takes its place, parents resolved after. */
    guint n = g->all->len;
    g_autofree const char **parents = g_new0(const char *, MAX(n, 1));
    for (guint i = 0; i < n; i++) {
        Merged *x = g_ptr_array_index(g->all, i);
        MsMessageRecord r = x->rec;
        parents[i] = x->parent_mid;
        r.id = i + 1;
        r.shadow = FALSE;
        for (guint k = 0; k < r.rcpts->len; k++) {
            MsRcptRecord *rr = &g_array_index(r.rcpts, MsRcptRecord, k);
            if (rr->updated_at == G_MININT64)
                rr->updated_at = -1;
        }
        x->rec.rcpts = NULL; /* the record's now */
        ms__mail_record_install(m, &r);
        merged_free(x);
        g_ptr_array_index(g->all, i) = NULL;
    }
    g_ptr_array_set_size(g->all, 0);
    for (guint i = 0; i < n; i++)
        if (parents[i])
            ms__mail_record(m, i + 1)->parent = ms__mail_lookup_mid(m, parents[i]);
    /* The devices' lists, in the merged ids. */
    for (guint i = 0; i < g->shown->len; i++) {
        const SeenIn *in = &g_array_index(g->shown, SeenIn, i);
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
    mark_listings(m, g->queued, g->listings, g->checks);
    g_array_sort(g->checks, check_order);
    for (guint i = 0; i < g->checks->len; i++) {
        const CheckIn *in = &g_array_index(g->checks, CheckIn, i);
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
    for (guint i = 0; i < g->tls_rows->len; i++) {
        const TlsIn *in = &g_array_index(g->tls_rows, TlsIn, i);
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
    g_array_sort(g->report_rows, row_order);
    for (guint i = 0; i < g->report_rows->len; i++) {
        const RowIn *in = &g_array_index(g->report_rows, RowIn, i);
        ms__auth_report_add(m, &in->row, in->key);
    }
    m->merged = TRUE;
    m->smtp_sessions = g->smtp_sessions;
    m->pop3_sessions = g->pop3_sessions;
    return TRUE;
}

gboolean
ms_mail_merge(MsMail *m, GBytes *const *parts, guint n, GError **error)
{
    g_return_val_if_fail(m != NULL && (parts != NULL || n == 0), FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
    /* The exports hold everything: this part's own records can go now,
     * which keeps the merge's peak memory near one copy of the records. */
    ms__mail_merge_release(m);
    g_autoptr(MsMailMerge) g = ms_mail_merge_new(m, n);
    for (guint p = 0; p < n; p++)
        if (!ms_mail_merge_add(g, p, parts[p], error))
            return FALSE;
    return ms_mail_merge_finish(g, error);
}

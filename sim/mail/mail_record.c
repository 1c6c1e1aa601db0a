/* Message records and the Message-ID index: the life record of every
 * message of a run (one MsMessageRecord per message, submitted or a DSN;
 * one MsRcptRecord per recipient), what statistics, expectations, the
 * accounting and the pictures read at the end.
 *
 * Role in the data flow: a record is made where a message enters the
 * world (a client's submission in mail_mua.c, a workload arrival, a bridge
 * injection, a DSN in mail_dsn.c, a message from an unknown peer in
 * mail_smtpd.c); every server that takes the message in finds the record
 * again from the Message-ID: header of its copy and moves the recipients'
 * states (mail_accept.c, mail_mta.c, mail_dsn.c).
 *
 * Design. Each record is its own allocation (MsRecordBox), found from its
 * id through pages of MS__RECORD_PAGE pointers; ids are never reused, and
 * a record never moves. The Message-ID we write is "<label.N@origin>", N
 * counted per origin host. Counting per origin, not globally, keeps the
 * bytes on the wire independent of how a run is split.
 *
 * Two ways to keep records. By default every record stays to the end of
 * the run, its strings packed in the mail layer's text chunk, and a copy
 * that arrives somewhere is found from (origin, N) read back from its
 * Message-ID: an array per origin host gives the id, and the whole string
 * is compared with the record's, so no hash table maps every Message-ID to
 * an id (it cost ~100 bytes per message). Headers written by others match
 * no record: a real client's Message-ID (bridge injections only) is mapped
 * by a small table, and a partitioned run makes a shadow record for a
 * message another part created.
 * With fold on (ms_mail_set_fold_records), a finished message's record is
 * folded into the statistics (mail_stats.c) and freed as soon as nothing
 * holds it, so memory follows the mail in flight. Holders are counted on
 * the record: its creator until it has handed the message on, each queue
 * entry, a client's submission. Each such record carries its strings in
 * the same allocation, the Message-ID index is a hash of the live records
 * only, and a page of pointers goes once all its records are folded: what
 * remains per message ever sent is nothing but the ids.
 *
 * Invariants: record id k is in page (k - 1) / MS__RECORD_PAGE at slot
 * (k - 1) % MS__RECORD_PAGE, or the slot (or page) is NULL because it was
 * folded; without fold, by_origin[h][n - 1] is the id whose Message-ID has
 * origin h and number n; with fold, live_mids maps the Message-ID of every
 * live record to it; a record's recipients keep their order (the one the
 * message named them in); records refer to each other by id (`parent`).
 * Ownership: the fixed strings of records (label, from, subject,
 * Message-ID, recipient addresses) are copies in the mail layer's text
 * chunk (ms__mail_text), or, for a record that may be folded, in its own
 * allocation; a recipient's `detail` is its own.
 * Costs: making a record is O(recipients) and amortised O(1) for the
 * index; finding one from an id is two array reads, from a Message-ID
 * O(length) plus one host-name look-up (or one hash look-up with fold);
 * ms_mail_message_by_label() is O(messages) (tests and the command line
 * only). Memory per message ever sent: 8 bytes of page while its page
 * lives, plus, without fold, the record and 4 bytes of index. */
#include "mail-private.h"

#include <string.h>

typedef struct {
    MsMessageRecord r; /* first: a box's address is its record's */
    guint32 holds;     /* creator, queue entries, submissions */
    gboolean pinned;   /* stored where a client may read it: never folded */
    char texts[];      /* with fold: the record's strings */
} MsRecordBox;

typedef struct {
    guint live; /* non-NULL slots */
    MsRecordBox *slot[MS__RECORD_PAGE];
} RecordPage;

void
ms__rcpt_clear(gpointer p)
{
    MsRcptRecord *r = p;
    g_free(r->detail); /* the address is one of the mail layer's texts */
}

static void
box_free(MsRecordBox *b)
{
    g_array_free(b->r.rcpts, TRUE); /* the strings are texts or the box's own */
    g_free(b);
}

static void
page_free(gpointer p)
{
    RecordPage *pg = p;
    if (!pg)
        return;
    for (guint i = 0; i < MS__RECORD_PAGE; i++)
        if (pg->slot[i])
            box_free(pg->slot[i]);
    g_free(pg);
}

static void
ids_free(gpointer p)
{
    if (p)
        g_array_unref(p);
}

void
ms__mail_records_init(MsMail *m)
{
    m->record_pages = g_ptr_array_new_with_free_func(page_free);
    m->texts = g_string_chunk_new(64 * 1024);
    m->by_message_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->by_origin = g_ptr_array_new_with_free_func(ids_free);
}

void
ms__mail_records_clear(MsMail *m)
{
    g_hash_table_destroy(m->by_message_id);
    g_ptr_array_unref(m->by_origin);
    g_free(m->origin_count);
    g_ptr_array_unref(m->record_pages);
    if (m->live_mids)
        g_hash_table_destroy(m->live_mids);
    ms__mail_folded_clear(m);
    g_string_chunk_free(m->texts);
}

void
ms_mail_set_fold_records(MsMail *m, gboolean fold, guint keep_first, guint exact_limit)
{
    g_return_if_fail(m != NULL && m->n_records == 0 && !m->partitioned);
    m->fold = fold;
    m->keep_first = keep_first;
    ms__mail_folded_clear(m);
    g_clear_pointer(&m->live_mids, g_hash_table_destroy);
    if (fold) {
        /* Keys are the records' own Message-ID strings. */
        m->live_mids = g_hash_table_new(g_str_hash, g_str_equal);
        ms__mail_folded_init(m, exact_limit);
    }
}

gboolean
ms_mail_folds_records(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, FALSE);
    return m->fold;
}

static MsRecordBox *
box_of(const MsMail *m, guint32 id)
{
    if (id < 1 || id > m->n_records)
        return NULL;
    const RecordPage *pg = g_ptr_array_index(m->record_pages, (id - 1) / MS__RECORD_PAGE);
    return pg ? pg->slot[(id - 1) % MS__RECORD_PAGE] : NULL;
}

guint
ms_mail_n_messages(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, 0);
    return m->n_records;
}

guint32
ms__mail_n_records(const MsMail *m)
{
    return m->n_records;
}

const MsMessageRecord *
ms__mail_record_next(const MsMail *m, guint32 *id)
{
    for (guint32 k = *id + 1; k <= m->n_records;) {
        const RecordPage *pg = g_ptr_array_index(m->record_pages, (k - 1) / MS__RECORD_PAGE);
        if (!pg) { /* all folded: on to the next page */
            k = ((k - 1) / MS__RECORD_PAGE + 1) * MS__RECORD_PAGE + 1;
            continue;
        }
        const MsRecordBox *b = pg->slot[(k - 1) % MS__RECORD_PAGE];
        if (b) {
            *id = k;
            return &b->r;
        }
        k++;
    }
    *id = m->n_records;
    return NULL;
}

const MsMessageRecord *
ms_mail_message(const MsMail *m, guint32 id)
{
    g_return_val_if_fail(m != NULL, NULL);
    g_return_val_if_fail(id >= 1 && id <= m->n_records, NULL);
    MsRecordBox *b = box_of(m, id);
    return b ? &b->r : NULL;
}

MsMessageRecord *
ms__mail_record(MsMail *m, guint32 id)
{
    MsRecordBox *b = box_of(m, id);
    return b ? &b->r : NULL;
}

const MsMessageRecord *
ms_mail_message_by_label(const MsMail *m, const char *label)
{
    g_return_val_if_fail(m != NULL && label != NULL, NULL);
    for (guint32 id = 1; id <= m->n_records; id++) {
        const MsRecordBox *b = box_of(m, id);
        if (b && g_strcmp0(b->r.label, label) == 0)
            return &b->r;
    }
    return NULL;
}

char *
ms__mail_text(MsMail *m, const char *s)
{
    return s ? g_string_chunk_insert(m->texts, s) : NULL;
}

MsRcptRecord *
ms__mail_rcpt(MsMail *m, guint32 id, const char *address)
{
    MsMessageRecord *r = ms__mail_record(m, id);
    if (!r)
        return NULL;
    for (guint i = 0; i < r->rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, i);
        if (g_ascii_strcasecmp(rr->address, address) == 0)
            return rr;
    }
    /* A partitioned run: another part may have sent the message on to an
     * address of its own (a forward or a list, mail_auth_send.c) that the
     * record here never heard of; the merge joins the versions. */
    if (!r->shadow && !m->partitioned)
        return NULL;
    MsRcptRecord rr = { 0 };
    rr.address = ms__mail_text(m, address);
    rr.state = MS_RCPT_WITH_CLIENT;
    rr.updated_at = -1;
    g_array_append_val(r->rcpts, rr);
    return &g_array_index(r->rcpts, MsRcptRecord, r->rcpts->len - 1);
}

void
ms__rcpt_touch(MsMail *m, MsRcptRecord *rr)
{
    rr->updated_at = ms_engine_now(m->engine);
}

/* Files box b under the next id, indexed; stamps its creation key. */
static guint32
add_box(MsMail *m, MsRecordBox *b)
{
    MsMessageRecord *r = &b->r;
    r->id = ++m->n_records;
    MsHostId src;
    guint64 seq;
    if (ms_engine_current_key(m->engine, &src, &seq)) {
        r->create_t = ms_engine_now(m->engine);
        r->create_src = src;
        r->create_seq = seq;
    } else {
        r->create_t = -1;
        r->create_src = MS_HOST_WORLD;
        r->create_seq = 0;
    }
    if (r->id > 1 && r->create_t == m->last_create_t && src == m->last_create_src &&
        r->create_seq == m->last_create_seq)
        r->create_idx = ++m->last_create_idx;
    else
        r->create_idx = m->last_create_idx = 0;
    m->last_create_t = r->create_t;
    m->last_create_src = r->create_src;
    m->last_create_seq = r->create_seq;
    guint page = (r->id - 1) / MS__RECORD_PAGE;
    if (page >= m->record_pages->len)
        g_ptr_array_add(m->record_pages, g_new0(RecordPage, 1));
    RecordPage *pg = g_ptr_array_index(m->record_pages, page);
    pg->slot[(r->id - 1) % MS__RECORD_PAGE] = b;
    pg->live++;
    ms__mail_index(m, r->id);
    return r->id;
}

guint32
ms__mail_record_install(MsMail *m, const MsMessageRecord *r)
{
    MsRecordBox *b = g_new0(MsRecordBox, 1);
    b->r = *r;
    MsMessageRecord keep = b->r; /* the creation key stays the record's own */
    guint32 id = add_box(m, b);
    b->r.create_t = keep.create_t;
    b->r.create_src = keep.create_src;
    b->r.create_seq = keep.create_seq;
    b->r.create_idx = keep.create_idx;
    return id;
}

void
ms__mail_records_reset(MsMail *m)
{
    g_ptr_array_set_size(m->record_pages, 0);
    m->n_records = 0;
    ms__mail_index_clear(m);
    if (m->live_mids)
        g_hash_table_remove_all(m->live_mids);
}

/* A string of the record in box b: copied into the box at *at when fold
 * is on, else into the mail layer's texts. */
static char *
box_text(MsMail *m, MsRecordBox *b, gsize *at, const char *s)
{
    if (!m->fold || !s)
        return ms__mail_text(m, s);
    gsize n = strlen(s) + 1;
    char *out = memcpy(b->texts + *at, s, n);
    *at += n;
    return out;
}

guint32
ms__mail_new_record(MsMail *m, const char *label, const char *from, const char *const *rcpts,
                    const char *subject, MsHostId origin, guint32 parent)
{
    /* Numbered per origin host, so that no part of a partitioned run needs
     * another's counter and the bytes on the wire do not depend on the split. */
    if (origin >= m->n_origin_count) {
        guint n = MAX(origin + 1, MAX(ms_net_n_hosts(m->net), m->n_origin_count * 2));
        m->origin_count = g_renew(guint32, m->origin_count, n);
        memset(m->origin_count + m->n_origin_count, 0, (n - m->n_origin_count) * sizeof(guint32));
        m->n_origin_count = n;
    }
    guint32 origin_n = ++m->origin_count[origin];
    g_autofree char *mid =
        g_strdup_printf("<%s.%u@%s>", label, origin_n, ms_net_host_name(m->net, origin));
    if (!subject)
        subject = "";
    guint n_rcpts = 0;
    gsize texts = 0;
    if (m->fold)
        texts = strlen(label) + (from ? strlen(from) : 0) + strlen(subject) + strlen(mid) + 4;
    for (const char *const *p = rcpts; p && *p; p++, n_rcpts++)
        texts += m->fold ? strlen(*p) + 1 : 0;
    MsRecordBox *b = g_malloc0(sizeof(MsRecordBox) + texts);
    MsMessageRecord *r = &b->r;
    gsize at = 0;
    r->label = box_text(m, b, &at, label);
    r->from = box_text(m, b, &at, from);
    r->subject = box_text(m, b, &at, subject);
    r->message_id = box_text(m, b, &at, mid);
    r->created_at = ms_engine_now(m->engine);
    r->parent = parent;
    r->is_dsn = parent != 0;
    r->origin = origin;
    r->origin_n = origin_n;
    r->rcpts = g_array_sized_new(FALSE, TRUE, sizeof(MsRcptRecord), n_rcpts);
    g_array_set_clear_func(r->rcpts, ms__rcpt_clear);
    for (const char *const *p = rcpts; p && *p; p++) {
        MsRcptRecord rr = { 0 };
        rr.address = box_text(m, b, &at, *p);
        rr.state = MS_RCPT_WITH_CLIENT;
        rr.where = origin;
        rr.updated_at = -1;
        g_array_append_val(r->rcpts, rr);
    }
    b->holds = 1; /* the creator's, until it has handed the message on */
    return add_box(m, b);
}

/* Message-IDs are "<label.N@origin-hostname>", N counted per origin: an
 * index per origin host finds a record from (origin, N) with one array
 * access, after a lookup of the host name (a table of hosts, small next to
 * one of messages). With fold, a hash of the live records' Message-IDs. */
void
ms__mail_index(MsMail *m, guint32 id)
{
    const MsMessageRecord *r = ms__mail_record(m, id);
    if (r && m->fold) {
        g_hash_table_insert(m->live_mids, r->message_id, (gpointer) r);
        return;
    }
    if (!r || r->origin_n == 0 || r->origin >= ms_net_n_hosts(m->net))
        return;
    if (m->by_origin->len <= r->origin)
        g_ptr_array_set_size(m->by_origin, (gint) r->origin + 1);
    GArray *ids = g_ptr_array_index(m->by_origin, r->origin);
    if (!ids) {
        ids = g_array_new(FALSE, TRUE, sizeof(guint32));
        m->by_origin->pdata[r->origin] = ids;
    }
    if (ids->len < r->origin_n)
        g_array_set_size(ids, r->origin_n);
    g_array_index(ids, guint32, r->origin_n - 1) = id;
}

void
ms__mail_index_clear(MsMail *m)
{
    g_ptr_array_set_size(m->by_origin, 0);
}

/* (origin, N) of a Message-ID of ours, "<label.N@host>"; FALSE if it is not
 * shaped so or names no host. label_end: where the label ends (the dot). */
static gboolean
parse_mid(MsMail *m, const char *mid, MsHostId *origin, guint32 *num, const char **label_end)
{
    const char *at = strrchr(mid, '@');
    if (mid[0] != '<' || !at || at == mid)
        return FALSE;
    const char *dot = at;
    while (dot > mid && g_ascii_isdigit(dot[-1]))
        dot--;
    if (dot == at || dot - 1 <= mid || dot[-1] != '.' || at - dot > 9)
        return FALSE;
    guint32 n = 0;
    for (const char *q = dot; q < at; q++)
        n = n * 10 + (guint32) (*q - '0');
    gsize hl = strcspn(at + 1, ">");
    if (at[1 + hl] != '>' || at[2 + hl] != '\0')
        return FALSE;
    char host[256];
    if (hl == 0 || hl >= sizeof host)
        return FALSE;
    memcpy(host, at + 1, hl);
    host[hl] = '\0';
    MsHostId h = ms_net_host_by_name(m->net, host);
    if (h == G_MAXUINT32 || n == 0)
        return FALSE;
    *origin = h;
    *num = n;
    *label_end = dot - 1;
    return TRUE;
}

guint32
ms__mail_lookup_mid(MsMail *m, const char *mid)
{
    if (m->fold) {
        const MsMessageRecord *r = g_hash_table_lookup(m->live_mids, mid);
        return r ? r->id : 0;
    }
    MsHostId origin;
    guint32 num;
    const char *label_end;
    if (!parse_mid(m, mid, &origin, &num, &label_end) || origin >= m->by_origin->len)
        return 0;
    GArray *ids = g_ptr_array_index(m->by_origin, origin);
    if (!ids || num > ids->len)
        return 0;
    guint32 id = g_array_index(ids, guint32, num - 1);
    const MsMessageRecord *r = ms__mail_record(m, id);
    return r && strcmp(r->message_id, mid) == 0 ? id : 0;
}

/* A partitioned run meets a message another part created: a shadow record
 * with what the message itself says (label and number from "<label.N@host>",
 * the Subject: header); recipients are added as they are met. */
static guint32
add_shadow(MsMail *m, const char *mid, const char *d, gsize n)
{
    MsHostId origin;
    guint32 num;
    const char *label_end;
    if (!parse_mid(m, mid, &origin, &num, &label_end))
        return 0;
    MsRecordBox *b = g_new0(MsRecordBox, 1);
    MsMessageRecord *r = &b->r;
    r->shadow = TRUE;
    g_autofree char *label = g_strndup(mid + 1, (gsize) (label_end - mid - 1));
    r->label = ms__mail_text(m, label);
    r->origin_n = num;
    r->origin = origin;
    r->is_dsn = g_str_has_prefix(r->label, "dsn-");
    r->from = ms__mail_text(m, "");
    g_autofree char *subject = d ? ms__mail_header_value(d, n, "Subject") : NULL;
    r->subject = ms__mail_text(m, subject ? subject : "");
    r->message_id = ms__mail_text(m, mid);
    r->rcpts = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
    g_array_set_clear_func(r->rcpts, ms__rcpt_clear);
    return add_box(m, b);
}

/* Finds the Message-ID header of a message and maps it to our id. */
guint32
ms__mail_message_from_data(MsMail *m, GBytes *data)
{
    gsize n;
    const char *d = g_bytes_get_data(data, &n);
    g_autofree char *mid = ms__mail_header_value(d, n, "Message-ID");
    return mid ? ms__mail_message_by_mid(m, mid, d, n) : 0;
}

guint32
ms__mail_message_by_mid(MsMail *m, const char *mid, const char *data, gsize n)
{
    guint32 found = ms__mail_lookup_mid(m, mid);
    gpointer v;
    if (found) {
        MsMessageRecord *r = ms__mail_record(m, found);
        if (r->shadow && !*r->subject && data) {
            /* A shadow made from a packet's tag learns its subject here. */
            g_autofree char *subject = ms__mail_header_value(data, n, "Subject");
            if (subject)
                r->subject = ms__mail_text(m, subject);
        }
        return r->id;
    }
    /* Not one of ours: a real client's Message-ID (the bridge maps those). */
    v = g_hash_table_lookup(m->by_message_id, mid);
    if (v)
        return GPOINTER_TO_UINT(v);
    return m->partitioned ? add_shadow(m, mid, data, n) : 0;
}

/* --- holders and folding ---------------------------------------------------- */

void
ms__mail_hold(MsMail *m, guint32 id)
{
    MsRecordBox *b = box_of(m, id);
    if (b)
        b->holds++;
}

void
ms__mail_pin(MsMail *m, guint32 id)
{
    MsRecordBox *b = box_of(m, id);
    if (b)
        b->pinned = TRUE;
}

/* Whether every recipient of r has reached an end: nothing can change its
 * record any more but a holder. */
static gboolean
finished(const MsMessageRecord *r)
{
    for (guint i = 0; i < r->rcpts->len; i++) {
        MsRcptState st = g_array_index(r->rcpts, MsRcptRecord, i).state;
        if (st != MS_RCPT_DELIVERED && st != MS_RCPT_BOUNCED && st != MS_RCPT_REFUSED)
            return FALSE;
    }
    return TRUE;
}

/* Folds box b into the statistics and frees it, with its page once every
 * record of that page has gone. */
static void
fold(MsMail *m, MsRecordBox *b)
{
    guint32 id = b->r.id;
    ms__mail_fold_stats(m, &b->r);
    g_hash_table_remove(m->live_mids, b->r.message_id);
    guint page = (id - 1) / MS__RECORD_PAGE;
    RecordPage *pg = g_ptr_array_index(m->record_pages, page);
    pg->slot[(id - 1) % MS__RECORD_PAGE] = NULL;
    box_free(b);
    /* A page still being filled stays for the ids to come. */
    if (--pg->live == 0 && (guint64) (page + 1) * MS__RECORD_PAGE <= m->n_records) {
        g_free(pg);
        m->record_pages->pdata[page] = NULL;
    }
}

void
ms__mail_release(MsMail *m, guint32 id)
{
    /* After ms_mail_merge() the records are every part's, numbered anew, and
     * nothing holds them: the ids that this part's left-over work (queue
     * entries and submissions that --until cut short) lets go of when it is
     * freed are ids of the records the merge replaced, and may name another
     * message now. */
    if (m->merged)
        return;
    MsRecordBox *b = box_of(m, id);
    if (!b)
        return;
    g_return_if_fail(b->holds > 0);
    if (--b->holds == 0 && m->fold && !b->pinned && id > m->keep_first && !b->r.shadow &&
        finished(&b->r))
        fold(m, b);
}

guint64
ms_mail_n_folded(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, 0);
    guint64 live = 0;
    for (guint p = 0; p < m->record_pages->len; p++) {
        const RecordPage *pg = g_ptr_array_index(m->record_pages, p);
        live += pg ? pg->live : 0;
    }
    return m->n_records - live;
}

gboolean
ms_mail_message_settled(const MsMail *m, guint32 id)
{
    g_return_val_if_fail(m != NULL, FALSE);
    g_return_val_if_fail(id >= 1 && id <= m->n_records, FALSE);
    const MsRecordBox *b = box_of(m, id);
    if (!b)
        return TRUE; /* folded, so it had ended (the bridge, which asks, never folds) */
    const MsMessageRecord *r = &b->r;
    for (guint i = 0; i < r->rcpts->len; i++) {
        MsRcptState st = g_array_index(r->rcpts, MsRcptRecord, i).state;
        if (st != MS_RCPT_DELIVERED && st != MS_RCPT_BOUNCED)
            return FALSE;
    }
    return TRUE;
}

const char *
ms_rcpt_state_to_string(MsRcptState s)
{
    static const char *const names[] = { "with-client", "refused", "queued", "delivered",
                                         "bounced" };
    return (guint) s < G_N_ELEMENTS(names) ? names[s] : "?";
}

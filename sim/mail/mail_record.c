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
 * Design. Records live in one array indexed by id - 1; ids are never
 * reused. The Message-ID we write is "<label.N@origin>", N counted per
 * origin host: when a copy arrives somewhere, (origin, N) is read back from
 * it, an array per origin host gives the id, and the whole string is
 * compared with the record's, so no hash table maps every Message-ID to an
 * id (it cost ~100 bytes per message). Headers written by others match no
 * record: a real client's Message-ID (bridge injections only) is mapped by
 * a small table, and a partitioned run makes a shadow record for a message
 * another part created. Counting per origin, not globally, keeps the bytes
 * on the wire independent of how a run is split.
 *
 * Invariants: record id k is m->messages[k - 1]; by_origin[h][n - 1] is the
 * id whose Message-ID has origin h and number n; a record's recipients
 * keep their order (the one the message named them in). Records hold no
 * pointer into the array (it moves as it grows): they refer to each other
 * by id (`parent`).
 * Ownership: the fixed strings of records (label, from, subject,
 * Message-ID, recipient addresses) are copies in the mail layer's text
 * chunk (ms__mail_text), freed with it; a recipient's `detail` is its own.
 * Costs: making a record is O(recipients) and amortised O(1) for the
 * index; finding one from a Message-ID is O(length) plus one host-name
 * look-up; ms_mail_message_by_label() is O(messages) (tests and the
 * command line only). */
#include "mail-private.h"

#include <string.h>

void
ms__rcpt_clear(gpointer p)
{
    MsRcptRecord *r = p;
    g_free(r->detail); /* the address is one of the mail layer's texts */
}

static void
record_clear(gpointer p)
{
    MsMessageRecord *m = p;
    g_array_free(m->rcpts, TRUE); /* the strings are the mail layer's texts */
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
    m->messages = g_array_new(FALSE, TRUE, sizeof(MsMessageRecord));
    g_array_set_clear_func(m->messages, record_clear);
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
    g_array_free(m->messages, TRUE);
    g_string_chunk_free(m->texts);
}

guint
ms_mail_n_messages(const MsMail *m)
{
    g_return_val_if_fail(m != NULL, 0);
    return m->messages->len;
}

const MsMessageRecord *
ms_mail_message(const MsMail *m, guint32 id)
{
    g_return_val_if_fail(m != NULL, NULL);
    g_return_val_if_fail(id >= 1 && id <= m->messages->len, NULL);
    return &g_array_index(m->messages, MsMessageRecord, id - 1);
}

MsMessageRecord *
ms__mail_record(MsMail *m, guint32 id)
{
    if (id < 1 || id > m->messages->len)
        return NULL;
    return &g_array_index(m->messages, MsMessageRecord, id - 1);
}

const MsMessageRecord *
ms_mail_message_by_label(const MsMail *m, const char *label)
{
    g_return_val_if_fail(m != NULL && label != NULL, NULL);
    for (guint i = 0; i < m->messages->len; i++) {
        const MsMessageRecord *r = &g_array_index(m->messages, MsMessageRecord, i);
        if (g_strcmp0(r->label, label) == 0)
            return r;
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
    if (!r->shadow)
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

/* Appends r (taken) as a new record and indexes it. */
static guint32
add_record(MsMail *m, MsMessageRecord *r)
{
    r->id = m->messages->len + 1;
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
    if (m->messages->len > 0 && r->create_t == m->last_create_t && src == m->last_create_src &&
        r->create_seq == m->last_create_seq)
        r->create_idx = ++m->last_create_idx;
    else
        r->create_idx = m->last_create_idx = 0;
    m->last_create_t = r->create_t;
    m->last_create_src = r->create_src;
    m->last_create_seq = r->create_seq;
    g_array_append_val(m->messages, *r);
    ms__mail_index(m, r->id);
    return r->id;
}

guint32
ms__mail_new_record(MsMail *m, const char *label, const char *from, const char *const *rcpts,
                    const char *subject, MsHostId origin, guint32 parent)
{
    MsMessageRecord r = { 0 };
    r.label = ms__mail_text(m, label);
    r.from = ms__mail_text(m, from);
    r.subject = ms__mail_text(m, subject ? subject : "");
    r.created_at = ms_engine_now(m->engine);
    r.parent = parent;
    r.is_dsn = parent != 0;
    r.origin = origin;
    r.rcpts = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
    g_array_set_clear_func(r.rcpts, ms__rcpt_clear);
    for (const char *const *p = rcpts; p && *p; p++) {
        MsRcptRecord rr = { 0 };
        rr.address = ms__mail_text(m, *p);
        rr.state = MS_RCPT_WITH_CLIENT;
        rr.where = origin;
        rr.updated_at = -1;
        g_array_append_val(r.rcpts, rr);
    }
    /* Numbered per origin host, so that no part of a partitioned run needs
     * another's counter and the bytes on the wire do not depend on the split. */
    if (origin >= m->n_origin_count) {
        guint n = MAX(origin + 1, MAX(ms_net_n_hosts(m->net), m->n_origin_count * 2));
        m->origin_count = g_renew(guint32, m->origin_count, n);
        memset(m->origin_count + m->n_origin_count, 0, (n - m->n_origin_count) * sizeof(guint32));
        m->n_origin_count = n;
    }
    r.origin_n = ++m->origin_count[origin];
    g_autofree char *mid =
        g_strdup_printf("<%s.%u@%s>", label, r.origin_n, ms_net_host_name(m->net, origin));
    r.message_id = ms__mail_text(m, mid);
    return add_record(m, &r);
}

/* Message-IDs are "<label.N@origin-hostname>", N counted per origin: an
 * index per origin host finds a record from (origin, N) with one array
 * access, after a lookup of the host name (a table of hosts, small next to
 * one of messages). */
void
ms__mail_index(MsMail *m, guint32 id)
{
    const MsMessageRecord *r = ms__mail_record(m, id);
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
    MsMessageRecord r = { 0 };
    r.shadow = TRUE;
    g_autofree char *label = g_strndup(mid + 1, (gsize) (label_end - mid - 1));
    r.label = ms__mail_text(m, label);
    r.origin_n = num;
    r.origin = origin;
    r.is_dsn = g_str_has_prefix(r.label, "dsn-");
    r.from = ms__mail_text(m, "");
    g_autofree char *subject = d ? ms__mail_header_value(d, n, "Subject") : NULL;
    r.subject = ms__mail_text(m, subject ? subject : "");
    r.message_id = ms__mail_text(m, mid);
    r.rcpts = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
    g_array_set_clear_func(r.rcpts, ms__rcpt_clear);
    return add_record(m, &r);
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

gboolean
ms_mail_message_settled(const MsMail *m, guint32 id)
{
    g_return_val_if_fail(m != NULL, FALSE);
    g_return_val_if_fail(id >= 1 && id <= m->messages->len, FALSE);
    const MsMessageRecord *r = &g_array_index(m->messages, MsMessageRecord, id - 1);
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

/* Merging the mail records of a partitioned run (see include/mailsim/mail.h
 * and the design notes atop sim/shard.c). Role: after every part has run,
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
 * hops) summed, the latest POP3 retrieval. Records are then numbered in the
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
 * Format: a GVariant of type RECORDS_TYPE, in the byte order of the machine
 * (every rank runs the same binary). Cost: O(records + recipients), plus a
 * sort of the records. */
#include "mail-private.h"

#include <string.h>

G_DEFINE_QUARK(ms-mail-error-quark, ms_mail_error)

#define RCPT_TYPE "(suxxssuuuuuxub)"
#define RECORD_TYPE "(sssssxbbuuxutua" RCPT_TYPE ")"
#define RECORDS_TYPE "(tta" RECORD_TYPE ")"   /* SMTP and POP3 sessions, records */
/* The same for reading, strings borrowed. */
#define RCPT_GET "(&suxx&s&suuuuuxub)"

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
        const Server *sv = g_ptr_array_index(m->servers, s);
        for (guint q = 0; q < sv->queue->len; q++) {
            const QueueEntry *e = g_ptr_array_index(sv->queue, q);
            for (guint x = 0; x < e->rcpts->len; x++)
                g_hash_table_add(set, g_strdup_printf("%u\n%s", e->message,
                                                      (const char *) g_ptr_array_index(e->rcpts, x)));
        }
    }
    return set;
}

GBytes *
ms_mail_export_records(MsMail *m)
{
    g_autoptr(GHashTable) held = held_set(m);
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a" RECORD_TYPE));
    for (guint i = 0; i < m->messages->len; i++) {
        const MsMessageRecord *r = &g_array_index(m->messages, MsMessageRecord, i);
        const MsMessageRecord *parent = r->parent ? ms__mail_record(m, r->parent) : NULL;
        GVariantBuilder rb;
        g_variant_builder_init(&rb, G_VARIANT_TYPE("a" RCPT_TYPE));
        for (guint k = 0; k < r->rcpts->len; k++) {
            const MsRcptRecord *rr = &g_array_index(r->rcpts, MsRcptRecord, k);
            gboolean is_held = FALSE;
            if (rr->state == MS_RCPT_QUEUED) {
                g_autofree char *key = g_strdup_printf("%u\n%s", r->id, rr->address);
                is_held = g_hash_table_contains(held, key);
            }
            g_variant_builder_add(&rb, RCPT_TYPE, rr->address, (guint32) rr->state, (gint64) rr->updated_at,
                                  (gint64) rr->done_at, rr->detail ? rr->detail : "", rr->status, rr->where,
                                  rr->attempts, rr->deferrals, rr->received_headers, rr->hops,
                                  (gint64) rr->retrieved_at, rr->retrieved_by, is_held);
        }
        g_variant_builder_add(&b, RECORD_TYPE, r->message_id, r->label, r->from, r->subject,
                              parent ? parent->message_id : "", (gint64) r->created_at, r->is_dsn, r->shadow,
                              r->origin, r->origin_n, (gint64) r->create_t, r->create_src,
                              (guint64) r->create_seq, r->create_idx, &rb);
    }
    g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new("(tt@a" RECORD_TYPE ")", m->smtp_sessions,
                                                             m->pop3_sessions, g_variant_builder_end(&b)));
    return g_variant_get_data_as_bytes(v);
}

typedef struct {
    MsMessageRecord rec;
    char           *parent_mid;
    gboolean        have_base;   /* rec's own fields come from a non-shadow */
} Merged;

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
merged_rcpt(Merged *x, const char *address)
{
    for (guint i = 0; i < x->rec.rcpts->len; i++) {
        MsRcptRecord *rr = &g_array_index(x->rec.rcpts, MsRcptRecord, i);
        if (g_ascii_strcasecmp(rr->address, address) == 0)
            return rr;
    }
    MsRcptRecord rr = { 0 };
    rr.address = g_strdup(address);
    rr.state = MS_RCPT_WITH_CLIENT;
    rr.updated_at = G_MININT64;
    g_array_append_val(x->rec.rcpts, rr);
    return &g_array_index(x->rec.rcpts, MsRcptRecord, x->rec.rcpts->len - 1);
}

/* Folds one part's version of a recipient into the merged one. */
static void
merge_rcpt(MsRcptRecord *to, GVariant *v, gboolean base)
{
    const char *address, *detail, *status;
    guint32 state, where, attempts, deferrals, received, hops, retrieved_by;
    gint64 updated, done, retrieved;
    gboolean held;
    g_variant_get(v, RCPT_GET, &address, &state, &updated, &done, &detail, &status, &where, &attempts,
                  &deferrals, &received, &hops, &retrieved, &retrieved_by, &held);
    to->attempts += attempts;
    to->deferrals += deferrals;
    to->hops += hops;
    if (retrieved > to->retrieved_at) {
        to->retrieved_at = retrieved;
        to->retrieved_by = retrieved_by;
    }
    /* The latest change wins; a set-up version (never changed) gives the
     * starting point (where = the origin). */
    if (updated > to->updated_at || (base && to->updated_at == G_MININT64 && updated < 0)) {
        to->updated_at = updated;
        to->state = (MsRcptState) state;
        to->done_at = done;
        to->where = where;
        to->received_headers = received;
        to->held = held;
        g_strlcpy(to->status, status, sizeof to->status);
        g_free(to->detail);
        to->detail = *detail ? g_strdup(detail) : NULL;
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
    g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(Merged));
    g_array_set_clear_func(all, merged_clear);
    g_autoptr(GHashTable) index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint64 smtp_sessions = 0, pop3_sessions = 0;
    for (guint p = 0; p < n; p++) {
        g_autoptr(GVariant) whole = g_variant_new_from_bytes(G_VARIANT_TYPE(RECORDS_TYPE), parts[p], FALSE);
        if (!g_variant_is_normal_form(whole)) {
            g_set_error(error, MS_MAIL_ERROR, 0, "mail records of part %u are malformed", p);
            return FALSE;
        }
        guint64 ss, ps;
        g_autoptr(GVariant) v = NULL;
        g_variant_get(whole, "(tt@a" RECORD_TYPE ")", &ss, &ps, &v);
        smtp_sessions += ss;
        pop3_sessions += ps;
        gsize nr = g_variant_n_children(v);
        for (gsize i = 0; i < nr; i++) {
            g_autoptr(GVariant) rv = g_variant_get_child_value(v, i);
            const char *mid, *label, *from, *subject, *parent_mid;
            gint64 created, create_t;
            gboolean is_dsn, shadow;
            guint32 origin, origin_n, create_src, create_idx;
            guint64 create_seq;
            g_autoptr(GVariant) rcpts = NULL;
            g_variant_get(rv, "(&s&s&s&s&sxbbuuxutu@a" RCPT_TYPE ")", &mid, &label, &from, &subject, &parent_mid, &created, &is_dsn,
                          &shadow, &origin, &origin_n, &create_t, &create_src, &create_seq, &create_idx, &rcpts);
            gpointer at = g_hash_table_lookup(index, mid);
            if (!at) {
                Merged fresh = { 0 };
                fresh.rec.message_id = g_strdup(mid);
                fresh.rec.rcpts = g_array_new(FALSE, TRUE, sizeof(MsRcptRecord));
                g_array_set_clear_func(fresh.rec.rcpts, ms__rcpt_clear);
                g_array_append_val(all, fresh);
                at = GUINT_TO_POINTER(all->len);
                g_hash_table_insert(index, g_strdup(mid), at);
            }
            Merged *x = &g_array_index(all, Merged, GPOINTER_TO_UINT(at) - 1);
            gboolean base = !shadow && !x->have_base;
            if (base || (!x->have_base && !x->rec.label)) {
                MsMessageRecord *r = &x->rec;
                g_free(r->label);
                g_free(r->from);
                g_free(r->subject);
                g_free(x->parent_mid);
                r->label = g_strdup(label);
                r->from = g_strdup(from);
                r->subject = g_strdup(subject);
                x->parent_mid = g_strdup(parent_mid);
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
                    g_array_set_clear_func(x->rec.rcpts, ms__rcpt_clear);
                    gsize nk = g_variant_n_children(rcpts);
                    for (gsize k = 0; k < nk; k++) {
                        const char *address;
                        g_variant_get_child(rcpts, k, "(&suxxssuuuuuxub)", &address, NULL, NULL, NULL, NULL, NULL,
                                            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                        merged_rcpt(x, address);
                    }
                    for (guint k = 0; k < old->len; k++) {
                        MsRcptRecord *o = &g_array_index(old, MsRcptRecord, k);
                        MsRcptRecord *t = merged_rcpt(x, o->address);
                        g_free(t->detail);
                        char *keep = t->address;
                        *t = *o;
                        t->address = keep;
                        o->detail = NULL;
                    }
                }
            }
            gsize nk = g_variant_n_children(rcpts);
            for (gsize k = 0; k < nk; k++) {
                g_autoptr(GVariant) rr = g_variant_get_child_value(rcpts, k);
                const char *address;
                g_variant_get_child(rr, 0, "&s", &address);
                merge_rcpt(merged_rcpt(x, address), rr, !shadow);
            }
        }
    }
    for (guint i = 0; i < all->len; i++)
        if (!g_array_index(all, Merged, i).have_base) {
            g_set_error(error, MS_MAIL_ERROR, 0,
                        "message %s was seen but no part created it", g_array_index(all, Merged, i).rec.message_id);
            return FALSE;
        }
    g_array_sort(all, by_creation);
    /* Install: numbered 1.. in creation order, parents resolved. */
    g_hash_table_remove_all(m->by_mid);
    g_array_set_size(m->messages, 0);
    for (guint i = 0; i < all->len; i++) {
        Merged *x = &g_array_index(all, Merged, i);
        MsMessageRecord r = x->rec;
        memset(&x->rec, 0, sizeof x->rec);
        r.id = i + 1;
        r.shadow = FALSE;
        for (guint k = 0; k < r.rcpts->len; k++) {
            MsRcptRecord *rr = &g_array_index(r.rcpts, MsRcptRecord, k);
            if (rr->updated_at == G_MININT64)
                rr->updated_at = -1;
        }
        g_array_append_val(m->messages, r);
        MsMessageRecord *in = &g_array_index(m->messages, MsMessageRecord, i);
        g_hash_table_insert(m->by_mid, in->message_id, GUINT_TO_POINTER(in->id));
    }
    for (guint i = 0; i < all->len; i++) {
        const char *pm = g_array_index(all, Merged, i).parent_mid;
        if (pm && *pm)
            g_array_index(m->messages, MsMessageRecord, i).parent =
                GPOINTER_TO_UINT(g_hash_table_lookup(m->by_mid, pm));
    }
    m->merged = TRUE;
    m->smtp_sessions = smtp_sessions;
    m->pop3_sessions = pop3_sessions;
    return TRUE;
}

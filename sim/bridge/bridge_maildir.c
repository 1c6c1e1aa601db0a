/* The bridge's durable mailboxes: with --spool DIR, what the simulated
 * servers store for their users is also kept on disk as Maildir, in
 * DIR/mail/<server>/<user>/{tmp,new,cur}, so mail acknowledged with 250
 * survives a crash after it has left the spool.
 *
 * Design: the in-memory store (sim/mail/mail_store.c) stays the one the
 * simulation and the POP3 cores read; this file is its observer
 * (MsMailStoreObserver), told synchronously of every message stored, deleted
 * and re-flagged, and mirrors each change on disk before the store's caller
 * goes on. An observer rather than a bridge-side poll because deletions come
 * from anywhere (the bridge's POP3 sessions at QUIT, the simulated clients'
 * own POP3 sessions, IMAP EXPUNGE) and all go through the store; and rather
 * than a disk backend inside the mail layer because only the bridge touches
 * real files (sim/mail does no I/O).
 *
 * What is kept: mail the bridge put into the world (its SMTP listener and
 * the spool's recovery) and the DSNs about it. The scenario's own simulated
 * traffic is not written: a restarted bridge runs the scenario again from
 * its start and makes that traffic again.
 *
 * Writing (the Maildir discipline, cr.yp.to/proto/maildir.html): the file
 * is created in tmp/ under a unique name, written, fsync'd, closed, renamed
 * into new/, and new/ is fsync'd, so a crash leaves either no file in new/
 * or the whole message. The fsyncs are shared by the copies stored in one
 * pacer tick (group commit): on_stored only writes tmp/, and
 * ms__bridge_maildir_sync (called before the spool files of settled
 * messages are removed) fsyncs them, renames them and fsyncs each new/
 * once. Until then the spool keeps each of them, the store keeps the body,
 * and a rename lost in a crash is a copy the recovery makes again; a
 * deletion or flag change of such a copy flushes the tick's copies first. Names are "<sec>.M<usec>P<pid>Q<n>.<host>" (the
 * wall clock, the process and a counter: unique as the spec asks), then
 * ",S=<size>" (Dovecot reads the size from it), ",U=<n>" (the store's uid
 * number, so POP3 UIDLs survive a restart) and, for mail from the spool,
 * ",X=<spool id>"; in cur/ the info ":2,<flags>" follows, the letters
 * sorted (D draft, F flagged, R answered, S seen, T deleted), then the
 * lower-case letters of IMAP keywords and $Junk (see "keywords" below). The contents
 * are the message exactly as the store holds it (Return-Path: first, CRLF
 * line ends, as received).
 *
 * Exactly once: at start the Maildirs are read back into the stores
 * (ms__bridge_maildir_load) before the spool is recovered; a spool file's
 * recipient whose mailbox already holds a file with the spool file's id is
 * not delivered again (ms__bridge_maildir_has). A write that fails is
 * remembered by message id (ms__bridge_maildir_failed), and the spool
 * keeps that message's file, so a restart delivers it to the mailboxes
 * that lack it.
 *
 * A copy deleted (POP3 QUIT, EXPUNGE) while its spool file is still there
 * leaves a tombstone in DIR/gone (see tombstone()), so that the recovery
 * does not deliver it again either.
 *
 * IMAP: INBOX's UIDs are the store's uid numbers (",U=") and its flags the
 * ":2," letters, so both survive a restart; the UIDVALIDITY that makes
 * them valid for a client's cache is kept per server in
 * DIR/mail/<server>/imap-uidvalidity (one decimal number and a newline),
 * written once, as Dovecot keeps its own in the header of dovecot-uidlist.
 * A box's next uid number is in <box>/uid-next, written before a deletion
 * (when the file of the highest number goes, nothing else remembers it),
 * so no number is ever given twice, to POP3 UIDL or to IMAP.
 *
 * Invariants: a uid in a box's file map names the file holding that
 * message now (new/ or cur/). Ownership: the BridgeMaildir belongs to the
 * bridge. Threading: the bridge's one thread. Costs: per stored message
 * one file write, an fsync and a rename (the fsyncs of one tick after the
 * first cost little: one journal commit), and an fsync of new/ per box and
 * pacer tick; per deletion an
 * unlink and an fsync of its directory; per flag change a rename and one
 * or two directory fsyncs; at start every file of every box is listed and
 * stat'd, not read. Bodies are not kept in memory: once a message is in
 * its file, the store holds its size, flags, uid and location ("new/NAME"
 * or "cur/NAME:2,FLAGS", relative to the box), and on_load reads the file
 * each time a reader needs the body (about 200 bytes of memory per
 * message instead of its size). */
#define _GNU_SOURCE /* sync_file_range (Linux) */
#include "bridge-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#define UIDVALIDITY_FILE "imap-uidvalidity" /* per server */
#define UID_NEXT_FILE    "uid-next"         /* per box */
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    BridgeMaildir *md;
    guint server;
    MsMailStore *store;
    char *dir;         /* DIR/mail/<server> */
    char *dir_name;    /* <server> */
} MaildirServer;

struct _BridgeMaildir {
    MsBridge *b;
    char *root; /* DIR/mail */
    char *host; /* this machine's name, '/' and ':' escaped */
    guint64 seq;
    GPtrArray *servers;  /* MaildirServer*, one per simulated server, by index */
    GHashTable *present; /* "<server>\037<user>\037<spool id>" (directory names) of the
                            files and tombstones read at start */
    char *gone_dir;      /* DIR/gone: tombstones */
    GHashTable *gone;    /* spool id -> GPtrArray of its tombstones' paths */
    GHashTable *failed;  /* message ids whose write failed */
    GHashTable *dirty;   /* new/ directories with renames not yet fsync'd */
    GPtrArray *pending;  /* MaildirPending*: written to tmp/, not yet fsync'd */
    guint64 loaded;
    /* IMAP folders other than INBOX as kept on disk: lower-cased user ->
     * (mailbox -> DiskFolder*). */
    GHashTable *folders;
    GHashTable *keywords; /* Maildir path -> its dovecot-keywords names (char*, by letter) */
};

/* A copy written to tmp/ in this pacer tick, waiting for the tick's
 * fsyncs (flush_pending): until then the store keeps its body. */
typedef struct {
    MaildirServer *ms;
    char *user, *uid;
    guint32 message;
    char *box, *name;
    int fd;
} MaildirPending;

static void
pending_free(gpointer p)
{
    MaildirPending *q = p;
    if (q->fd >= 0)
        close(q->fd);
    g_free(q->user);
    g_free(q->uid);
    g_free(q->box);
    g_free(q->name);
    g_free(q);
}

static const MsMailStoreObserver observer;

static gint
cmp_str_ptr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* A name safe as one directory component: letters, digits and ._+-@ kept,
 * anything else (and a leading dot) as %XX. */
static char *
dir_name(const char *s)
{
    GString *out = g_string_new(NULL);
    for (const char *c = s; *c; c++) {
        gboolean ok = g_ascii_isalnum(*c) || strchr("_+-@", *c) || (*c == '.' && c != s);
        if (ok)
            g_string_append_c(out, g_ascii_tolower(*c));
        else
            g_string_append_printf(out, "%%%02X", (guint8) *c);
    }
    return g_string_free(out, FALSE);
}

static gboolean
fsync_path(const char *path, GError **error)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: fsync: %s", path,
                    g_strerror(e));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* The key of `present`: a mailbox (by its directory names) and a spool id. */
static char *
present_key(const char *server_dir, const char *user_dir, const char *spool_id)
{
    return g_strdup_printf("%s\037%s\037%s", server_dir, user_dir, spool_id);
}

static char *
box_dir(MaildirServer *ms, const char *user)
{
    g_autofree char *u = dir_name(user);
    return g_build_filename(ms->dir, u, NULL);
}

static gboolean
make_box(const char *dir, GError **error)
{
    static const char *const subs[] = { "tmp", "new", "cur" };
    for (guint i = 0; i < G_N_ELEMENTS(subs); i++) {
        g_autofree char *d = g_build_filename(dir, subs[i], NULL);
        if (g_mkdir_with_parents(d, 0700) != 0) {
            int e = errno;
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", d,
                        g_strerror(e));
            return FALSE;
        }
    }
    return TRUE;
}

/* The Maildir info of `flags`: the letters in ASCII order. */
static void
flag_letters(guint flags, char out[8])
{
    guint n = 0;
    if (flags & MS_STORE_FLAG_DRAFT)
        out[n++] = 'D';
    if (flags & MS_STORE_FLAG_FLAGGED)
        out[n++] = 'F';
    if (flags & MS_STORE_FLAG_ANSWERED)
        out[n++] = 'R';
    if (flags & MS_STORE_FLAG_SEEN)
        out[n++] = 'S';
    if (flags & MS_STORE_FLAG_DELETED)
        out[n++] = 'T';
    out[n] = '\0';
}

static guint
parse_flags(const char *info)
{
    guint f = 0;
    for (const char *c = info; *c; c++) {
        switch (*c) {
        case 'D':
            f |= MS_STORE_FLAG_DRAFT;
            break;
        case 'F':
            f |= MS_STORE_FLAG_FLAGGED;
            break;
        case 'R':
            f |= MS_STORE_FLAG_ANSWERED;
            break;
        case 'S':
            f |= MS_STORE_FLAG_SEEN;
            break;
        case 'T':
            f |= MS_STORE_FLAG_DELETED;
            break;
        default:
            break; /* P (passed) and lower-case keywords: not kept */
        }
    }
    return f;
}

/* --- keywords: Dovecot's dovecot-keywords -------------------------------------
 *
 * IMAP keywords are kept as Dovecot keeps them in a Maildir: each Maildir
 * (INBOX's box, each Maildir++ folder) has a file dovecot-keywords of
 * lines "<n> <name>", and keyword n is the lower-case letter 'a' + n in
 * the info of a file name after the flag letters (":2,Sab"), so at most 26
 * per Maildir. The store's MS_STORE_FLAG_JUNK (a DMARC quarantine) is the
 * keyword $Junk (RFC 5788 section 3.1) in INBOX's files, so a quarantined
 * message stays in Junk across a restart. A name keeps its letter as long
 * as the file exists; new names are appended (the file rewritten through
 * a temporary file, fsync'd, renamed, and the directory fsync'd) before a
 * message file names their letter. */

#define KEYWORDS_FILE   "dovecot-keywords"
#define KEYWORD_LETTERS 26
#define JUNK_KEYWORD    "$Junk"

/* The keyword names of the Maildir `dir`, by letter (read from its file the
 * first time; a missing or unreadable file is an empty list, a line that is
 * not "<n> <name>" with n < 26 is skipped). */
static GPtrArray *
keyword_table(BridgeMaildir *md, const char *dir)
{
    GPtrArray *t = g_hash_table_lookup(md->keywords, dir);
    if (t)
        return t;
    t = g_ptr_array_new_with_free_func(g_free);
    g_hash_table_insert(md->keywords, g_strdup(dir), t);
    g_autofree char *path = g_build_filename(dir, KEYWORDS_FILE, NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return t;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        char *sp = strchr(lines[i], ' ');
        guint64 n = 0;
        if (!sp || !sp[1])
            continue;
        *sp = '\0';
        if (!g_ascii_string_to_unsigned(lines[i], 10, 0, KEYWORD_LETTERS - 1, &n, NULL))
            continue;
        if (t->len <= n)
            g_ptr_array_set_size(t, (guint) n + 1);
        g_free(g_ptr_array_index(t, n));
        g_ptr_array_index(t, n) = g_strdup(sp + 1);
    }
    return t;
}

/* Forgets the table of a Maildir removed from disk. */
static void
keyword_table_drop(BridgeMaildir *md, const char *dir)
{
    g_hash_table_remove(md->keywords, dir);
}

/* The letter of `name` in dir's table, appending it (and writing the file
 * durably) when new; 0 when the table is full (the keyword is not kept on
 * disk: said once on stderr) or the file cannot be written (error set). */
static char
keyword_letter(BridgeMaildir *md, const char *dir, const char *name, GError **error)
{
    GPtrArray *t = keyword_table(md, dir);
    guint k = 0;
    while (k < t->len &&
           (!g_ptr_array_index(t, k) || g_ascii_strcasecmp(g_ptr_array_index(t, k), name)))
        k++;
    if (k < t->len)
        return (char) ('a' + k);
    for (k = 0; k < t->len && g_ptr_array_index(t, k); k++)
        ;
    if (k >= KEYWORD_LETTERS) {
        g_printerr("mailsim bridge: maildir: %s: more than %d keywords, %s not kept on disk\n", dir,
                   KEYWORD_LETTERS, name);
        return 0;
    }
    if (k == t->len)
        g_ptr_array_add(t, NULL);
    g_ptr_array_index(t, k) = g_strdup(name);
    GString *text = g_string_new(NULL);
    for (guint i = 0; i < t->len; i++)
        if (g_ptr_array_index(t, i))
            g_string_append_printf(text, "%u %s\n", i, (const char *) g_ptr_array_index(t, i));
    g_autofree char *path = g_build_filename(dir, KEYWORDS_FILE, NULL);
    g_autofree char *body = g_string_free(text, FALSE);
    if (!g_file_set_contents_full(path, body, -1,
                                  G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                  0600, error) ||
        !fsync_path(dir, error)) {
        g_free(g_ptr_array_index(t, k));
        g_ptr_array_index(t, k) = NULL;
        return 0;
    }
    return (char) ('a' + k);
}

/* The Maildir info (after ":2,") for `flags` and the keywords `names` in
 * dir: the flag letters, then the keyword letters in ASCII order; with
 * MS_STORE_FLAG_JUNK in flags, $Junk's letter too. NULL with error when
 * the keywords file cannot be written. */
static char *
info_of(BridgeMaildir *md, const char *dir, guint flags, const char *const *names, GError **error)
{
    char letters[8];
    flag_letters(flags, letters);
    gboolean have[KEYWORD_LETTERS] = { FALSE };
    for (const char *const *n = names; n && *n; n++) {
        char c = keyword_letter(md, dir, *n, error);
        if (error && *error)
            return NULL;
        if (c)
            have[c - 'a'] = TRUE;
    }
    if (flags & MS_STORE_FLAG_JUNK) {
        char c = keyword_letter(md, dir, JUNK_KEYWORD, error);
        if (error && *error)
            return NULL;
        if (c)
            have[c - 'a'] = TRUE;
    }
    GString *out = g_string_new(letters);
    for (int k = 0; k < KEYWORD_LETTERS; k++)
        if (have[k])
            g_string_append_c(out, (char) ('a' + k));
    return g_string_free(out, FALSE);
}

/* The keyword names of the lower-case letters in `info` (dir's table;
 * letters it does not name are dropped); *junk (may be NULL) tells whether
 * $Junk was among them, which is then left out of the list. */
static GStrv
info_keywords(BridgeMaildir *md, const char *dir, const char *info, gboolean *junk)
{
    GPtrArray *t = keyword_table(md, dir);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    if (junk)
        *junk = FALSE;
    for (const char *c = info; c && *c; c++) {
        guint k = (guint) (*c - 'a');
        const char *name = *c >= 'a' && *c <= 'z' && k < t->len ? g_ptr_array_index(t, k) : NULL;
        if (!name)
            continue;
        if (junk && g_ascii_strcasecmp(name, JUNK_KEYWORD) == 0)
            *junk = TRUE;
        else
            g_strv_builder_add(b, name);
    }
    return g_strv_builder_end(b);
}

/* Whether the info of a file name or location (may be NULL) has
 * keyword letters. */
static gboolean
has_keyword_letters(const char *name)
{
    const char *info = name ? strstr(name, ":2,") : NULL;
    for (const char *c = info ? info + 3 : ""; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            return TRUE;
    return FALSE;
}

/* The info of a file name or location ("" when it has none). */
static const char *
name_info(const char *name)
{
    const char *info = name ? strstr(name, ":2,") : NULL;
    return info ? info + 3 : "";
}

/* Writes `data` to tmp/name and returns the open descriptor (-1 with
 * `error`; nothing is left then). The fsync and the rename into new/ come
 * later, for every copy of the pacer tick at once (flush_pending). */
static int
write_tmp(const char *box, const char *name, GBytes *data, GError **error)
{
    g_autofree char *tmp = g_build_filename(box, "tmp", name, NULL);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", tmp, g_strerror(e));
        return -1;
    }
    gsize n;
    const char *d = g_bytes_get_data(data, &n);
    gsize off = 0;
    int e = 0;
    while (off < n && !e) {
        ssize_t w = write(fd, d + off, n - off);
        if (w < 0 && errno != EINTR)
            e = errno;
        else if (w > 0)
            off += (gsize) w;
    }
    if (e) {
        close(fd);
        unlink(tmp);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", tmp, g_strerror(e));
        return -1;
    }
    return fd;
}

/* Makes the copies written since the last call durable (the Maildir
 * discipline): each fsync'd (the first commits the file system's journal
 * for all of them, so the rest cost little), closed, renamed from tmp/
 * into new/, and its body from then on read from the file; new/ is marked
 * for the directory fsync of ms__bridge_maildir_sync. A copy that fails is
 * removed and its message remembered as failed: the spool keeps it and a
 * restart delivers it where it is missing; the store keeps its body. */
static void
flush_pending(BridgeMaildir *md)
{
    /* Writeback of every copy started before the first fsync waits: its
     * journal commit then carries them all, and the later fsyncs find
     * little left to do (one disk flush per tick, not one per copy). */
    for (guint i = 0; i < md->pending->len; i++)
        sync_file_range(((MaildirPending *) g_ptr_array_index(md->pending, i))->fd, 0, 0,
                        SYNC_FILE_RANGE_WRITE);
    for (guint i = 0; i < md->pending->len; i++) {
        MaildirPending *q = g_ptr_array_index(md->pending, i);
        g_autofree char *tmp = g_build_filename(q->box, "tmp", q->name, NULL);
        g_autofree char *dst = g_build_filename(q->box, "new", q->name, NULL);
        int e = 0;
        if (fsync(q->fd) != 0)
            e = errno;
        if (close(q->fd) != 0 && !e)
            e = errno;
        q->fd = -1;
        if (!e && rename(tmp, dst) != 0)
            e = errno;
        if (e) {
            unlink(tmp);
            g_printerr("mailsim bridge: maildir: %s: %s (the spool keeps the message)\n", tmp,
                       g_strerror(e));
            g_hash_table_add(md->failed, GUINT_TO_POINTER(q->message));
            continue;
        }
        md->b->stats.maildir_written++;
        g_hash_table_add(md->dirty, g_build_filename(q->box, "new", NULL));
        /* From now on the body is read from the file when a reader needs it. */
        g_autofree char *where = g_build_filename("new", q->name, NULL);
        ms_mail_store_set_location(q->ms->store, q->user, q->uid, where);
    }
    g_ptr_array_set_size(md->pending, 0);
}

static char *name_field(const char *name, const char *key);

/* Writes "<value>\n" to dir/name durably: a temporary file, fsync'd and
 * renamed over it, then an fsync of dir. */
static gboolean
write_number(const char *dir, const char *name, guint value, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    g_autofree char *text = g_strdup_printf("%u\n", value);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int e = fd < 0 ? errno : 0;
    if (!e && write(fd, text, strlen(text)) != (ssize_t) strlen(text))
        e = errno ? errno : EIO;
    if (!e && fsync(fd) != 0)
        e = errno;
    if (fd >= 0 && close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path, g_strerror(e));
        return FALSE;
    }
    return fsync_path(dir, error);
}

/* The number in dir/name: TRUE with *value (0 when there is no file);
 * FALSE with error when it cannot be read or is not a number. */
static gboolean
read_number(const char *dir, const char *name, guint *value, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) read_error = NULL;
    *value = 0;
    if (!g_file_get_contents(path, &text, NULL, &read_error)) {
        if (g_error_matches(read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&read_error));
        return FALSE;
    }
    guint64 v = 0;
    g_strchomp(text);
    if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT32, &v, NULL)) {
        g_set_error(error, MS_BRIDGE_ERROR, 0, "%s: \"%s\" is not a number from 1 to %u", path,
                    text, G_MAXUINT32);
        return FALSE;
    }
    *value = (guint) v;
    return TRUE;
}

/* Deleting a copy whose spool file is still there (another recipient not
 * yet settled) leaves a tombstone DIR/gone/<spool id>#<server>#<user>,
 * written durably before the unlink: after a crash the recovery must not
 * take the missing file for a copy never made and deliver it again. The
 * tombstones go with their spool file (ms__bridge_maildir_forget). */
static gboolean
tombstone(MaildirServer *ms, const char *user, const char *spool_id, GError **error)
{
    BridgeMaildir *md = ms->md;
    g_autofree char *spool_name = g_strdup_printf("%s.msg", spool_id);
    g_autofree char *spool_path = g_build_filename(md->b->cfg.spool_dir, spool_name, NULL);
    if (!g_file_test(spool_path, G_FILE_TEST_EXISTS))
        return TRUE; /* settled: no recovery will look */
    if (g_mkdir_with_parents(md->gone_dir, 0700) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", md->gone_dir,
                    g_strerror(e));
        return FALSE;
    }
    g_autofree char *udir = dir_name(user);
    g_autofree char *name = g_strdup_printf("%s#%s#%s", spool_id, ms->dir_name, udir);
    g_autofree char *path = g_build_filename(md->gone_dir, name, NULL);
    if (!g_file_set_contents_full(path, "", 0,
                                  G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                  0600, error) ||
        !fsync_path(md->gone_dir, error))
        return FALSE;
    GPtrArray *list = g_hash_table_lookup(md->gone, spool_id);
    if (!list) {
        list = g_ptr_array_new_with_free_func(g_free);
        g_hash_table_insert(md->gone, g_strdup(spool_id), list);
    }
    g_ptr_array_add(list, g_steal_pointer(&path));
    return TRUE;
}

/* --- the observer ------------------------------------------------------------ */

static void
on_stored(const char *user, const MsStoredMessage *m, gpointer ud)
{
    MaildirServer *ms = ud;
    BridgeMaildir *md = ms->md;
    gboolean keep = FALSE;
    const char *spool_id = ms__bridge_inject_spool_id(md->b, m->message, &keep);
    if (!keep)
        return;
    g_autofree char *box = box_dir(ms, user);
    gint64 now = g_get_real_time();
    g_autofree char *name = g_strdup_printf(
        "%" G_GINT64_FORMAT ".M%06dP%dQ%" G_GUINT64_FORMAT ".%s,S=%" G_GSIZE_FORMAT ",U=%u%s%s",
        now / G_USEC_PER_SEC, (int) (now % G_USEC_PER_SEC), (int) getpid(), ++md->seq, md->host,
        g_bytes_get_size(m->data), ms_mail_store_uid_number(m->uid), spool_id ? ",X=" : "",
        spool_id ? spool_id : "");
    g_autoptr(GError) err = NULL;
    int fd = -1;
    if (!make_box(box, &err) || (fd = write_tmp(box, name, m->data, &err)) < 0) {
        g_printerr("mailsim bridge: maildir: %s (the spool keeps the message)\n", err->message);
        g_hash_table_add(md->failed, GUINT_TO_POINTER(m->message));
        return;
    }
    MaildirPending *q = g_new0(MaildirPending, 1);
    q->ms = ms;
    q->user = g_strdup(user);
    q->uid = g_strdup(m->uid);
    q->message = m->message;
    q->box = g_steal_pointer(&box);
    q->name = g_steal_pointer(&name);
    q->fd = fd;
    g_ptr_array_add(md->pending, q);
}

/* The path of m's file in `box`, or NULL when it is not kept on disk; a
 * copy written in this tick is first moved into new/ (flush_pending). */
static char *
file_of(MaildirServer *ms, const char *box, const MsStoredMessage *m)
{
    if (!m->location && ms->md->pending->len)
        flush_pending(ms->md);
    return m->location ? g_build_filename(box, m->location, NULL) : NULL;
}

static void
on_deleted(const char *user, const MsStoredMessage *m, gpointer ud)
{
    MaildirServer *ms = ud;
    g_autofree char *box = box_dir(ms, user);
    g_autofree char *path = file_of(ms, box, m);
    if (!path)
        return; /* not kept on disk */
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GError) err = NULL;
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *spool_id = name_field(base, "X");
    if (spool_id && !tombstone(ms, user, spool_id, &err)) {
        /* Better kept than delivered again after a crash. */
        g_printerr("mailsim bridge: maildir: %s kept: %s\n", path, err->message);
        return;
    }
    /* The box's next uid number first: once the file of the highest uid is
     * gone, only this says that number was given (a restart must not give
     * it again: POP3 UIDL and IMAP UID). */
    if (!write_number(box, UID_NEXT_FILE, ms_mail_store_uid_next(ms->store, user), &err)) {
        g_printerr("mailsim bridge: maildir: %s kept: %s\n", path, err->message);
        return;
    }
    if ((unlink(path) != 0 && errno != ENOENT) || !fsync_path(dir, &err))
        g_printerr("mailsim bridge: maildir: cannot remove %s: %s\n", path,
                   err ? err->message : g_strerror(errno));
}

/* Renames the INBOX file `path` of m into cur/ with the info `letters`
 * (nothing when it has them already) and fsyncs the directories. */
static gboolean
set_info(MaildirServer *ms, const char *user, const char *box, const MsStoredMessage *m,
         const char *path, const char *letters, GError **error)
{
    g_autofree char *base = g_path_get_basename(path);
    char *colon = strchr(base, ':');
    if (colon)
        *colon = '\0';
    g_autofree char *cur = g_build_filename(box, "cur", NULL);
    g_autofree char *name = g_strdup_printf("%s:2,%s", base, letters);
    g_autofree char *dst = g_build_filename(cur, name, NULL);
    g_autofree char *srcdir = g_path_get_dirname(path);
    if (strcmp(path, dst) == 0)
        return TRUE;
    if (rename(path, dst) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot rename %s: %s", path,
                    g_strerror(e));
        return FALSE;
    }
    g_autofree char *where = g_build_filename("cur", name, NULL);
    ms_mail_store_set_location(ms->store, user, m->uid, where);
    /* Both directories: the new name in cur/, the old one gone from new/. */
    return fsync_path(cur, error) && (strcmp(srcdir, cur) == 0 || fsync_path(srcdir, error));
}

static void
on_flags(const char *user, const MsStoredMessage *m, guint old, gpointer ud)
{
    MaildirServer *ms = ud;
    (void) old;
    g_autofree char *box = box_dir(ms, user);
    g_autofree char *path = file_of(ms, box, m);
    if (!path)
        return; /* not kept on disk */
    /* The IMAP keywords stay as they are (ms__bridge_maildir_sync_folders
     * writes them); $Junk follows the flag. */
    gboolean was_junk = FALSE;
    g_auto(GStrv) names = info_keywords(ms->md, box, name_info(path), &was_junk);
    g_autoptr(GError) err = NULL;
    g_autofree char *letters = info_of(ms->md, box, m->flags, (const char *const *) names, &err);
    if (!letters || !set_info(ms, user, box, m, path, letters, &err))
        g_printerr("mailsim bridge: maildir: %s\n", err->message);
}

static const MsMailStoreObserver observer = { on_stored, on_deleted, on_flags };

/* The store's loader: a body read from its file when a reader (POP3 RETR
 * and TOP, IMAP FETCH of body parts, SEARCH of text) needs it. A file that
 * vanished or cannot be read gives NULL: the POP3 core answers -ERR
 * [SYS/TEMP], the IMAP core NO, and the bridge says why here. */
static GBytes *
on_load(const char *user, const MsStoredMessage *m, gpointer ud, GError **error)
{
    MaildirServer *ms = ud;
    g_autofree char *box = box_dir(ms, user);
    g_autofree char *path = g_build_filename(box, m->location, NULL);
    g_autofree char *contents = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;
    if (!g_file_get_contents(path, &contents, &len, &err)) {
        g_printerr("mailsim bridge: maildir: %s\n", err->message);
        g_propagate_error(error, g_steal_pointer(&err));
        return NULL;
    }
    ms->md->b->stats.maildir_read++;
    return g_bytes_new_take(g_steal_pointer(&contents), len);
}

/* --- loading at start -------------------------------------------------------- */

typedef struct {
    char *path;
    const char *sub; /* "new" or "cur" */
    guint64 size;
    guint uid_n;
    guint flags;
    char *spool_id;
    char *info; /* the letters after ":2," ("" when none) */
} Found;

static void
found_free(gpointer p)
{
    Found *f = p;
    g_free(f->path);
    g_free(f->spool_id);
    g_free(f->info);
    g_free(f);
}

/* Uid order is delivery order; files another program put there (no U=)
 * come last, by name. */
static gint
cmp_found(gconstpointer a, gconstpointer b)
{
    const Found *x = *(const Found *const *) a, *y = *(const Found *const *) b;
    if ((x->uid_n == 0) != (y->uid_n == 0))
        return x->uid_n == 0 ? 1 : -1;
    if (x->uid_n != y->uid_n)
        return x->uid_n < y->uid_n ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* The value of ",KEY=" in a file name's base (up to ':'), or NULL. */
static char *
name_field(const char *name, const char *key)
{
    g_autofree char *base = g_strdup(name);
    char *colon = strchr(base, ':');
    if (colon)
        *colon = '\0';
    g_autofree char *pat = g_strdup_printf(",%s=", key);
    const char *at = strstr(base, pat);
    if (!at)
        return NULL;
    at += strlen(pat);
    return g_strndup(at, strcspn(at, ","));
}

static gboolean
scan(const char *dir, gboolean cur, GPtrArray *out, GError **error)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, error);
    if (!d)
        return FALSE;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (name[0] == '.')
            continue;
        Found *f = g_new0(Found, 1);
        f->path = g_build_filename(dir, name, NULL);
        f->sub = cur ? "cur" : "new";
        GStatBuf st;
        if (g_stat(f->path, &st) != 0 || !S_ISREG(st.st_mode)) {
            found_free(f); /* gone since the listing, or not a message */
            continue;
        }
        f->size = (guint64) st.st_size;
        g_autofree char *u = name_field(name, "U");
        guint64 n = 0;
        if (u && g_ascii_string_to_unsigned(u, 10, 1, G_MAXUINT, &n, NULL))
            f->uid_n = (guint) n;
        f->spool_id = name_field(name, "X");
        const char *info = strstr(name, ":2,");
        if (cur && info)
            f->flags = parse_flags(info + 3);
        f->info = g_strdup(cur && info ? info + 3 : "");
        g_ptr_array_add(out, f);
    }
    return TRUE;
}

/* Empties tmp/: what is there is a write a crash interrupted, never
 * renamed, so never acknowledged as stored. */
static void
clean_tmp(const char *box)
{
    g_autofree char *tmp = g_build_filename(box, "tmp", NULL);
    g_autoptr(GDir) d = g_dir_open(tmp, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(tmp, name, NULL);
        unlink(p);
    }
}

/* A file another program put into the box gets the uid the store gave it
 * in its name (",U=<n>" before the info), so it keeps it across restarts. */
static gboolean
name_uid(Found *f, guint uid_n, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(f->path);
    g_autofree char *base = g_path_get_basename(f->path);
    char *colon = strchr(base, ':');
    g_autofree char *info = colon ? g_strdup(colon) : g_strdup("");
    if (colon)
        *colon = '\0';
    g_autofree char *name = g_strdup_printf("%s,U=%u%s", base, uid_n, info);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (rename(f->path, path) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", f->path,
                    g_strerror(e));
        return FALSE;
    }
    g_free(f->path);
    f->path = g_steal_pointer(&path);
    return fsync_path(dir, error);
}

/* The messages of a Maildir (tmp/ emptied first), in uid order (Found*;
 * caller frees), or NULL with error. */
static GPtrArray *
scan_box(const char *box, GError **error)
{
    clean_tmp(box);
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(found_free);
    g_autofree char *newd = g_build_filename(box, "new", NULL);
    g_autofree char *curd = g_build_filename(box, "cur", NULL);
    if (!scan(newd, FALSE, found, error) || !scan(curd, TRUE, found, error))
        return NULL;
    g_ptr_array_sort(found, cmp_found); /* directory order is arbitrary */
    return g_steal_pointer(&found);
}

static gboolean
load_box(MaildirServer *ms, const char *user, GError **error)
{
    BridgeMaildir *md = ms->md;
    g_autofree char *box = box_dir(ms, user);
    if (!make_box(box, error))
        return FALSE;
    g_autoptr(GPtrArray) found = scan_box(box, error);
    if (!found)
        return FALSE;
    g_autofree char *udir = dir_name(user);
    for (guint i = 0; i < found->len; i++) {
        Found *f = g_ptr_array_index(found, i);
        /* Only the size: bodies are read on demand (on_load). */
        guint uid_n = f->uid_n ? f->uid_n : ms_mail_store_uid_next(ms->store, user);
        if (f->uid_n == 0 && !name_uid(f, uid_n, error))
            return FALSE;
        g_autofree char *base = g_path_get_basename(f->path);
        g_autofree char *where = g_build_filename(f->sub, base, NULL);
        gboolean junk = FALSE; /* the keywords themselves are restored with IMAP's state */
        g_strfreev(info_keywords(md, box, f->info, &junk));
        ms_mail_store_restore_located(ms->store, user, f->size, where, uid_n,
                                      f->flags | (junk ? MS_STORE_FLAG_JUNK : 0), 0);
        if (f->spool_id) {
            g_hash_table_add(md->present, present_key(ms->dir_name, udir, f->spool_id));
            ms__bridge_spool_note_id(md->b, f->spool_id);
        }
        md->loaded++;
    }
    guint next = 0;
    if (!read_number(box, UID_NEXT_FILE, &next, error))
        return FALSE;
    ms_mail_store_reserve_uids(ms->store, user, next);
    return TRUE;
}

/* The tombstones left by the last run: those whose spool file is gone are
 * stale (a crash between the two removals) and removed; the others count
 * as copies present. */
static void
load_tombstones(BridgeMaildir *md)
{
    g_autoptr(GDir) d = g_dir_open(md->gone_dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(md->gone_dir, name, NULL);
        g_auto(GStrv) parts = g_strsplit(name, "#", -1);
        g_autofree char *spool_name =
            g_strv_length(parts) == 3 ? g_strdup_printf("%s.msg", parts[0]) : NULL;
        g_autofree char *spool_path =
            spool_name ? g_build_filename(md->b->cfg.spool_dir, spool_name, NULL) : NULL;
        if (!spool_path || !g_file_test(spool_path, G_FILE_TEST_EXISTS)) {
            unlink(path);
            continue;
        }
        g_hash_table_add(md->present, present_key(parts[1], parts[2], parts[0]));
        ms__bridge_spool_note_id(md->b, parts[0]);
        GPtrArray *list = g_hash_table_lookup(md->gone, parts[0]);
        if (!list) {
            list = g_ptr_array_new_with_free_func(g_free);
            g_hash_table_insert(md->gone, g_strdup(parts[0]), list);
        }
        g_ptr_array_add(list, g_steal_pointer(&path));
    }
}

void
ms__bridge_maildir_forget(BridgeMaildir *md, const char *spool_id)
{
    GPtrArray *list = md ? g_hash_table_lookup(md->gone, spool_id) : NULL;
    if (!list)
        return;
    for (guint i = 0; i < list->len; i++)
        unlink(g_ptr_array_index(list, i));
    g_hash_table_remove(md->gone, spool_id);
}

static void
server_free(gpointer p)
{
    MaildirServer *ms = p;
    if (ms->store)
        ms_mail_store_set_observer(ms->store, NULL, NULL);
    g_free(ms->dir);
    if (ms->store)
        ms_mail_store_set_loader(ms->store, NULL, NULL);
    g_free(ms->dir_name);
    g_free(ms);
}

static char *
escaped_host(void)
{
    GString *h = g_string_new(NULL);
    for (const char *c = g_get_host_name(); *c; c++) {
        if (*c == '/')
            g_string_append(h, "\\057");
        else if (*c == ':')
            g_string_append(h, "\\072");
        else if (*c == ',')
            g_string_append(h, "\\054"); /* our fields are comma-separated */
        else
            g_string_append_c(h, *c);
    }
    return g_string_free(h, FALSE);
}

BridgeMaildir *
ms__bridge_maildir_open(MsBridge *b, GError **error)
{
    BridgeMaildir *md = g_new0(BridgeMaildir, 1);
    md->b = b;
    md->root = g_build_filename(b->cfg.spool_dir, "mail", NULL);
    md->host = escaped_host();
    md->present = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    md->failed = g_hash_table_new(g_direct_hash, g_direct_equal);
    md->dirty = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    md->keywords =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
    md->pending = g_ptr_array_new_with_free_func(pending_free);
    md->gone_dir = g_build_filename(b->cfg.spool_dir, "gone", NULL);
    md->gone =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
    load_tombstones(md);
    md->servers = g_ptr_array_new_with_free_func(server_free);
    for (guint i = 0; i < ms_mail_n_servers(b->mail); i++) {
        MaildirServer *ms = g_new0(MaildirServer, 1);
        ms->md = md;
        ms->server = i;
        ms->dir_name = dir_name(ms_mail_server_hostname(b->mail, i));
        ms->dir = g_build_filename(md->root, ms->dir_name, NULL);
        g_ptr_array_add(md->servers, ms);
    }
    for (guint i = 0; i < md->servers->len; i++) {
        MaildirServer *ms = g_ptr_array_index(md->servers, i);
        MsMailStore *store = ms_mail_server_store(b->mail, i);
        g_autoptr(GPtrArray) users = ms_mail_store_users(store);
        ms->store = store;
        for (guint k = 0; k < users->len; k++) {
            if (!load_box(ms, g_ptr_array_index(users, k), error)) {
                g_prefix_error(error, "--spool: mailbox: ");
                ms__bridge_maildir_free(md);
                return NULL;
            }
        }
        ms_mail_store_set_observer(store, &observer, ms);
        ms_mail_store_set_loader(store, on_load, ms);
    }
    return md;
}

guint32
ms__bridge_maildir_uidvalidity(BridgeMaildir *md, guint server, guint32 fresh, GError **error)
{
    g_return_val_if_fail(md != NULL && server < md->servers->len && fresh != 0, 0);
    MaildirServer *ms = g_ptr_array_index(md->servers, server);
    guint v = 0;
    if (!read_number(ms->dir, UIDVALIDITY_FILE, &v, error))
        return 0;
    if (v)
        return v;
    if (g_mkdir_with_parents(ms->dir, 0700) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", ms->dir,
                    g_strerror(e));
        return 0;
    }
    return write_number(ms->dir, UIDVALIDITY_FILE, fresh, error) ? fresh : 0;
}

void
ms__bridge_maildir_free(BridgeMaildir *md)
{
    if (!md)
        return;
    flush_pending(md);
    ms__bridge_maildir_sync(md);
    g_ptr_array_unref(md->pending);
    if (md->folders)
        g_hash_table_destroy(md->folders);
    g_ptr_array_unref(md->servers);
    g_hash_table_destroy(md->present);
    g_hash_table_destroy(md->failed);
    g_hash_table_destroy(md->dirty);
    g_hash_table_destroy(md->keywords);
    g_hash_table_destroy(md->gone);
    g_free(md->gone_dir);
    g_free(md->root);
    g_free(md->host);
    g_free(md);
}

gboolean
ms__bridge_maildir_has(BridgeMaildir *md, const char *rcpt, const char *spool_id)
{
    const char *at = strrchr(rcpt, '@');
    if (!md || !at)
        return FALSE;
    guint server = ms_mail_server_for_domain(md->b->mail, at + 1);
    if (server == G_MAXUINT)
        return FALSE;
    g_autofree char *local = g_strndup(rcpt, (gsize) (at - rcpt));
    g_autofree char *udir = dir_name(local);
    const MaildirServer *ms = g_ptr_array_index(md->servers, server);
    g_autofree char *key = present_key(ms->dir_name, udir, spool_id);
    return g_hash_table_contains(md->present, key);
}

gboolean
ms__bridge_maildir_sync(BridgeMaildir *md)
{
    if (!md)
        return TRUE;
    flush_pending(md);
    if (g_hash_table_size(md->dirty) == 0)
        return TRUE;
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, md->dirty);
    while (g_hash_table_iter_next(&it, &k, NULL)) { /* any order: each is independent */
        g_autoptr(GError) err = NULL;
        if (!fsync_path(k, &err)) {
            g_printerr("mailsim bridge: maildir: %s (spool files kept until it works)\n",
                       err->message);
            return FALSE;
        }
        g_hash_table_iter_remove(&it);
    }
    return TRUE;
}

gboolean
ms__bridge_maildir_failed(BridgeMaildir *md, guint32 message)
{
    return md && g_hash_table_contains(md->failed, GUINT_TO_POINTER(message));
}

guint64
ms__bridge_maildir_loaded(const BridgeMaildir *md)
{
    return md ? md->loaded : 0;
}

/* --- IMAP folders other than INBOX: Maildir++ subfolders ---------------------
 *
 * A folder ("Sent", "a/b") is kept as a Maildir++ subfolder of its user's
 * box, as Dovecot and Courier lay them out: BOX/.Sent/{tmp,new,cur},
 * BOX/.a.b/ (the hierarchy delimiter '/' becomes '.'; a '.' or any other
 * character outside letters, digits and _+-@ in a name becomes %XX). Files
 * go straight into cur/ with their UID (",U=") and flags (":2,"); their
 * modification time is the INTERNALDATE (Dovecot reads it from there). The
 * folder's UIDVALIDITY is in imap-uidvalidity, its UIDNEXT in uid-next
 * (written before an expunge, as for INBOX).
 *
 * The folders live in mail_imap.c; this file sees their changes through
 * the IMAP hooks (mailboxes, list, read): after each input of an IMAP
 * session, before its replies go out, ms__bridge_maildir_sync_folders
 * compares the user's folders with what is on disk and writes the
 * difference (tmp/, fsync, rename into cur/, fsync of cur/), so an OK to
 * APPEND, STORE, EXPUNGE, CREATE, DELETE or RENAME is sent once the change
 * is durable. A RENAME is written as the new folder and the old one
 * removed. Costs: per IMAP input O(messages in the user's folders) in
 * memory; file work only for what changed. Limit: folder bodies are held
 * in memory (INBOX's are read on demand). */

typedef struct {
    char *rel; /* "cur/NAME" or "new/NAME" within the folder */
    char *info; /* its flag and keyword letters */
} FolderFile;

typedef struct {
    guint32 uidvalidity;
    GHashTable *files; /* GUINT_TO_POINTER(uid) -> FolderFile* */
} DiskFolder;

static void
folder_file_free(gpointer p)
{
    FolderFile *f = p;
    g_free(f->rel);
    g_free(f->info);
    g_free(f);
}

static void
disk_folder_free(gpointer p)
{
    DiskFolder *d = p;
    g_hash_table_destroy(d->files);
    g_free(d);
}

static DiskFolder *
disk_folder_new(guint32 uidvalidity)
{
    DiskFolder *d = g_new0(DiskFolder, 1);
    d->uidvalidity = uidvalidity;
    d->files = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, folder_file_free);
    return d;
}

static GHashTable *
user_folders(BridgeMaildir *md, const char *user)
{
    if (!md->folders)
        md->folders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) g_hash_table_destroy);
    g_autofree char *key = g_ascii_strdown(user, -1);
    GHashTable *t = g_hash_table_lookup(md->folders, key);
    if (!t) {
        t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, disk_folder_free);
        g_hash_table_insert(md->folders, g_steal_pointer(&key), t);
    }
    return t;
}

/* ".Sent", ".a.b": the Maildir++ directory name of a folder. */
static char *
folder_dir_name(const char *mailbox)
{
    GString *out = g_string_new(".");
    for (const char *c = mailbox; *c; c++) {
        if (*c == '/')
            g_string_append_c(out, '.');
        else if (g_ascii_isalnum(*c) || strchr("_+-@", *c))
            g_string_append_c(out, *c);
        else
            g_string_append_printf(out, "%%%02X", (guint8) *c);
    }
    return g_string_free(out, FALSE);
}

/* The folder name of a Maildir++ directory name, or NULL if it is not one. */
static char *
folder_of_dir_name(const char *name)
{
    if (name[0] != '.' || !name[1] || strcmp(name, "..") == 0)
        return NULL;
    GString *out = g_string_new(NULL);
    for (const char *c = name + 1; *c; c++) {
        int hi, lo;
        if (*c == '.')
            g_string_append_c(out, '/');
        else if (*c == '%' && (hi = g_ascii_xdigit_value(c[1])) >= 0 &&
                 (lo = g_ascii_xdigit_value(c[2])) >= 0) {
            g_string_append_c(out, (char) (hi * 16 + lo));
            c += 2;
        } else
            g_string_append_c(out, *c);
    }
    return g_string_free(out, FALSE);
}

static void
remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
            remove_tree(p);
        else
            unlink(p);
    }
    rmdir(dir);
}

/* Writes one folder message durably into dir/cur/ (tmp/, fsync, rename,
 * fsync of cur/), its info `letters`, its mtime the INTERNALDATE; the
 * relative path is put in *rel. */
static gboolean
write_folder_message(BridgeMaildir *md, const char *dir, guint32 uid, const char *letters,
                     gint64 date, GBytes *data, char **rel, GError **error)
{
    gint64 now = g_get_real_time();
    g_autofree char *name = g_strdup_printf(
        "%" G_GINT64_FORMAT ".M%06dP%dQ%" G_GUINT64_FORMAT ".%s,S=%" G_GSIZE_FORMAT ",U=%u:2,%s",
        now / G_USEC_PER_SEC, (int) (now % G_USEC_PER_SEC), (int) getpid(), ++md->seq, md->host,
        g_bytes_get_size(data), uid, letters);
    int fd = write_tmp(dir, name, data, error);
    if (fd < 0)
        return FALSE;
    g_autofree char *tmp = g_build_filename(dir, "tmp", name, NULL);
    g_autofree char *cur = g_build_filename(dir, "cur", NULL);
    g_autofree char *dst = g_build_filename(cur, name, NULL);
    struct timespec times[2] = { { (time_t) date, 0 }, { (time_t) date, 0 } };
    int e = 0;
    if (date > 0 && futimens(fd, times) != 0)
        e = errno;
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, dst) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", tmp, g_strerror(e));
        return FALSE;
    }
    if (!fsync_path(cur, error))
        return FALSE;
    *rel = g_build_filename("cur", name, NULL);
    return TRUE;
}

/* Makes the folder `mailbox` on disk what the IMAP view says it is. */
static gboolean
sync_folder(BridgeMaildir *md, MsMailImap *imap, const char *user, const char *box,
            const char *mailbox, GHashTable *disk, GError **error)
{
    const MsImapServerHooks *h = ms_mail_imap_hooks();
    g_autoptr(GArray) msgs = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
    g_autoptr(GPtrArray) keywords = g_ptr_array_new_with_free_func(g_free);
    MsImapMailboxInfo info = { 0 };
    if (h->list(imap, user, mailbox, msgs, &info, keywords) != MS_IMAP_HOOK_OK)
        return TRUE;
    g_autofree char *dname = folder_dir_name(mailbox);
    g_autofree char *dir = g_build_filename(box, dname, NULL);
    DiskFolder *d = g_hash_table_lookup(disk, mailbox);
    if (d && d->uidvalidity != info.uidvalidity) { /* deleted and made again */
        remove_tree(dir);
        keyword_table_drop(md, dir);
        g_hash_table_remove(disk, mailbox);
        d = NULL;
    }
    if (!d) {
        if (!make_box(dir, error) ||
            !write_number(dir, UIDVALIDITY_FILE, info.uidvalidity, error) ||
            !fsync_path(box, error))
            return FALSE;
        d = disk_folder_new(info.uidvalidity);
        g_hash_table_insert(disk, g_strdup(mailbox), d);
    }
    g_autoptr(GHashTable) live = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < msgs->len; i++) {
        const MsImapMessageInfo *m = &g_array_index(msgs, MsImapMessageInfo, i);
        g_hash_table_add(live, GUINT_TO_POINTER(m->uid));
        FolderFile *f = g_hash_table_lookup(d->files, GUINT_TO_POINTER(m->uid));
        g_autoptr(GStrvBuilder) kb = g_strv_builder_new();
        for (guint k = 0; k < keywords->len; k++)
            if (m->keywords & (1u << k))
                g_strv_builder_add(kb, g_ptr_array_index(keywords, k));
        g_auto(GStrv) names = g_strv_builder_end(kb);
        g_autofree char *letters = info_of(md, dir, m->flags & ~(guint) MS_STORE_FLAG_JUNK,
                                           (const char *const *) names, error);
        if (!letters)
            return FALSE;
        if (!f) { /* APPENDed, COPYed or MOVEd here */
            g_autoptr(GBytes) data = h->read(imap, user, mailbox, m->uid);
            char *rel = NULL;
            if (!data)
                continue;
            if (!write_folder_message(md, dir, m->uid, letters, m->internal_date, data, &rel,
                                      error))
                return FALSE;
            f = g_new0(FolderFile, 1);
            f->rel = rel;
            f->info = g_steal_pointer(&letters);
            g_hash_table_insert(d->files, GUINT_TO_POINTER(m->uid), f);
        } else if (strcmp(f->info, letters) != 0) { /* STORE */
            g_autofree char *src = g_build_filename(dir, f->rel, NULL);
            g_autofree char *base = g_path_get_basename(f->rel);
            char *colon = strchr(base, ':');
            if (colon)
                *colon = '\0';
            g_autofree char *name = g_strdup_printf("%s:2,%s", base, letters);
            g_autofree char *rel = g_build_filename("cur", name, NULL);
            g_autofree char *dst = g_build_filename(dir, rel, NULL);
            g_autofree char *cur = g_build_filename(dir, "cur", NULL);
            if (rename(src, dst) != 0) {
                int e = errno;
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", src,
                            g_strerror(e));
                return FALSE;
            }
            if (!fsync_path(cur, error))
                return FALSE;
            g_free(f->rel);
            f->rel = g_steal_pointer(&rel);
            g_free(f->info);
            f->info = g_steal_pointer(&letters);
        }
    }
    /* EXPUNGEd or MOVEd away: the UIDNEXT first (no UID given twice). */
    g_autoptr(GArray) gone = g_array_new(FALSE, FALSE, sizeof(guint));
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, d->files);
    while (g_hash_table_iter_next(&it, &k, NULL))
        if (!g_hash_table_contains(live, k)) {
            guint uid = GPOINTER_TO_UINT(k);
            g_array_append_val(gone, uid);
        }
    if (gone->len && !write_number(dir, UID_NEXT_FILE, info.uidnext, error))
        return FALSE;
    for (guint i = 0; i < gone->len; i++) { /* any order: each is independent */
        gpointer key = GUINT_TO_POINTER(g_array_index(gone, guint, i));
        FolderFile *f = g_hash_table_lookup(d->files, key);
        g_autofree char *path = g_build_filename(dir, f->rel, NULL);
        g_autofree char *sub = g_path_get_dirname(path);
        if ((unlink(path) != 0 && errno != ENOENT) || !fsync_path(sub, error)) {
            if (error && !*error)
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
                            g_strerror(errno));
            return FALSE;
        }
        g_hash_table_remove(d->files, key);
    }
    return TRUE;
}

/* Makes the keyword letters of INBOX's files (the store's messages, in
 * the views INBOX and Junk) what IMAP says; their flags and $Junk are
 * written by on_flags. */
static gboolean
sync_inbox_keywords(MaildirServer *ms, MsMailImap *imap, const char *user, const char *box,
                    GError **error)
{
    const MsImapServerHooks *h = ms_mail_imap_hooks();
    GPtrArray *stored = ms_mail_store_messages(ms->store, user);
    g_autoptr(GHashTable) by_uid = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; stored && i < stored->len; i++) {
        const MsStoredMessage *m = g_ptr_array_index(stored, i);
        g_hash_table_insert(by_uid, GUINT_TO_POINTER(ms_mail_store_uid_number(m->uid)),
                            (gpointer) m);
    }
    static const char *const views[] = { "INBOX", "Junk" };
    for (guint v = 0; v < G_N_ELEMENTS(views); v++) {
        g_autoptr(GArray) msgs = g_array_new(FALSE, TRUE, sizeof(MsImapMessageInfo));
        g_autoptr(GPtrArray) keywords = g_ptr_array_new_with_free_func(g_free);
        MsImapMailboxInfo info = { 0 };
        if (h->list(imap, user, views[v], msgs, &info, keywords) != MS_IMAP_HOOK_OK)
            continue;
        for (guint i = 0; i < msgs->len; i++) {
            const MsImapMessageInfo *mi = &g_array_index(msgs, MsImapMessageInfo, i);
            const MsStoredMessage *m = g_hash_table_lookup(by_uid, GUINT_TO_POINTER(mi->uid));
            if (!m || (!mi->keywords && !has_keyword_letters(m->location)))
                continue; /* not kept on disk, or no keywords here nor there */
            g_autoptr(GStrvBuilder) kb = g_strv_builder_new();
            for (guint k = 0; k < keywords->len; k++)
                if (mi->keywords & (1u << k))
                    g_strv_builder_add(kb, g_ptr_array_index(keywords, k));
            g_auto(GStrv) names = g_strv_builder_end(kb);
            g_autofree char *letters =
                info_of(ms->md, box, m->flags, (const char *const *) names, error);
            if (!letters)
                return FALSE;
            if (m->location && strcmp(name_info(m->location), letters) == 0)
                continue;
            g_autofree char *path = file_of(ms, box, m);
            if (path && !set_info(ms, user, box, m, path, letters, error))
                return FALSE;
        }
    }
    return TRUE;
}

gboolean
ms__bridge_maildir_sync_folders(BridgeMaildir *md, MsMailImap *imap, guint server, const char *user,
                                GError **error)
{
    g_return_val_if_fail(md != NULL && server < md->servers->len, FALSE);
    MaildirServer *ms = g_ptr_array_index(md->servers, server);
    if (!ms_mail_store_has_user(ms->store, user))
        return TRUE;
    GHashTable *disk = user_folders(md, user);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    ms_mail_imap_hooks()->mailboxes(imap, user, names);
    g_ptr_array_sort(names, cmp_str_ptr); /* deterministic order of writes */
    g_autofree char *box = box_dir(ms, user);
    if (!sync_inbox_keywords(ms, imap, user, box, error))
        return FALSE;
    g_autoptr(GHashTable) now = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < names->len; i++) {
        const char *mailbox = g_ptr_array_index(names, i);
        if (ms_mail_imap_is_store_view(mailbox))
            continue; /* Junk: the store's messages, in INBOX's files */
        g_hash_table_add(now, (gpointer) mailbox);
        if (!sync_folder(md, imap, user, box, mailbox, disk, error))
            return FALSE;
    }
    /* DELETEd (or RENAMEd away: the new name was written above). */
    GHashTableIter it;
    gpointer k;
    gboolean removed = FALSE;
    g_hash_table_iter_init(&it, disk);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        if (g_hash_table_contains(now, k))
            continue;
        g_autofree char *dname = folder_dir_name(k);
        g_autofree char *dir = g_build_filename(box, dname, NULL);
        remove_tree(dir);
        keyword_table_drop(md, dir);
        g_hash_table_iter_remove(&it);
        removed = TRUE;
    }
    return !removed || fsync_path(box, error);
}

static gboolean
load_folder(BridgeMaildir *md, MsMailImap *imap, const char *user, const char *box,
            const char *dname, guint32 fresh, GError **error)
{
    g_autofree char *mailbox = folder_of_dir_name(dname);
    g_autofree char *dir = g_build_filename(box, dname, NULL);
    if (!mailbox || !g_file_test(dir, G_FILE_TEST_IS_DIR) ||
        g_ascii_strcasecmp(mailbox, "INBOX") == 0 || ms_mail_imap_is_store_view(mailbox))
        return TRUE;
    guint uidvalidity = 0, uidnext = 0;
    if (!make_box(dir, error) || !read_number(dir, UIDVALIDITY_FILE, &uidvalidity, error) ||
        !read_number(dir, UID_NEXT_FILE, &uidnext, error))
        return FALSE;
    if (!uidvalidity) { /* made by another program: a UIDVALIDITY from now on */
        uidvalidity = fresh;
        if (!write_number(dir, UIDVALIDITY_FILE, uidvalidity, error))
            return FALSE;
    }
    g_autoptr(GPtrArray) found = scan_box(dir, error);
    if (!found)
        return FALSE;
    if (!ms_mail_imap_restore_folder(imap, user, mailbox, uidvalidity, uidnext))
        return TRUE; /* two directories for one name: the first wins */
    DiskFolder *d = disk_folder_new(uidvalidity);
    g_hash_table_insert(user_folders(md, user), g_strdup(mailbox), d);
    guint32 last = 0;
    for (guint i = 0; i < found->len; i++) {
        Found *f = g_ptr_array_index(found, i);
        guint32 uid = f->uid_n ? f->uid_n : MAX(last + 1, uidnext);
        if (f->uid_n == 0 && !name_uid(f, uid, error))
            return FALSE;
        g_autofree char *contents = NULL;
        gsize len = 0;
        if (!g_file_get_contents(f->path, &contents, &len, error))
            return FALSE;
        GStatBuf st;
        gint64 date = g_stat(f->path, &st) == 0 ? (gint64) st.st_mtime : 0;
        g_autoptr(GBytes) data = g_bytes_new_take(g_steal_pointer(&contents), len);
        if (!ms_mail_imap_restore_message(imap, user, mailbox, uid, f->flags, date, data))
            continue; /* a UID twice: kept on disk, not served */
        last = uid;
        g_auto(GStrv) names = info_keywords(md, dir, f->info, NULL);
        if (names[0] &&
            !ms_mail_imap_restore_keywords(imap, user, mailbox, uid, (const char *const *) names))
            g_printerr("mailsim bridge: maildir: %s: keywords not restored\n", f->path);
        FolderFile *ff = g_new0(FolderFile, 1);
        g_autofree char *base = g_path_get_basename(f->path);
        ff->rel = g_build_filename(f->sub, base, NULL);
        ff->info = g_strdup(f->info);
        g_hash_table_insert(d->files, GUINT_TO_POINTER(uid), ff);
    }
    return TRUE;
}

gboolean
ms__bridge_maildir_load_folders(BridgeMaildir *md, MsMailImap *imap, guint server, guint32 fresh,
                                GError **error)
{
    g_return_val_if_fail(md != NULL && server < md->servers->len, FALSE);
    MaildirServer *ms = g_ptr_array_index(md->servers, server);
    g_autoptr(GPtrArray) users = ms_mail_store_users(ms->store);
    for (guint i = 0; i < users->len; i++) {
        const char *user = g_ptr_array_index(users, i);
        g_autofree char *box = box_dir(ms, user);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GDir) d = g_dir_open(box, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d)))
            if (name[0] == '.')
                g_ptr_array_add(names, g_strdup(name));
        g_ptr_array_sort(names, cmp_str_ptr); /* directory order is arbitrary */
        for (guint k = 0; k < names->len; k++)
            if (!load_folder(md, imap, user, box, g_ptr_array_index(names, k), fresh, error))
                return FALSE;
        /* INBOX's keywords ($Junk went into the store's flags at load_box). */
        GPtrArray *stored = ms_mail_store_messages(ms->store, user);
        for (guint k = 0; stored && k < stored->len; k++) {
            const MsStoredMessage *m = g_ptr_array_index(stored, k);
            gboolean junk = FALSE;
            g_auto(GStrv) kw = info_keywords(md, box, name_info(m->location), &junk);
            if (kw[0] && !ms_mail_imap_restore_keywords(
                             imap, user, (m->flags & MS_STORE_FLAG_JUNK) ? "Junk" : "INBOX",
                             ms_mail_store_uid_number(m->uid), (const char *const *) kw))
                g_printerr("mailsim bridge: maildir: %s/%s: keywords not restored\n", box,
                           m->location);
        }
    }
    return TRUE;
}

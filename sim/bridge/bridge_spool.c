/* The bridge's spool: accepted mail kept on disk until it is delivered,
 * so that nothing acknowledged with 250 is lost if the process dies.
 *
 * One file per accepted message and destination: "wNNNNNNNNNNNN.msg" for
 * recipients inside the simulated world, "rNNNNNNNNNNNN.msg" for those the
 * relay hands to a real server. Contents: a line "MAILSIM-SPOOL 1", one
 * line "F <sender>", one "R <recipient>" per recipient, an empty line, then
 * the message exactly as received (CRLF line ends). A file is written under
 * a temporary name ("<name>.tmp"), fsync'd, renamed into place and the
 * directory fsync'd before the 250 goes out (the rename is atomic: a reader
 * sees a whole file or none).
 *
 * Group commit: the fsyncs are shared by the messages that arrive close
 * together. ms__bridge_spool_begin() only writes the temporary file; the
 * SMTP listener holds each 250 back and, a few milliseconds after the first
 * message of a batch, ms__bridge_spool_commit() fsyncs every file of the
 * batch, renames them and fsyncs the directory once, and only then do the
 * 250s go out (bridge_smtp.c). The first fsync commits the file system's
 * journal for all of them, so the others and the directory's cost little:
 * two journal commits per batch instead of two per message. A failure of
 * any step removes every file of the batch and each message is refused
 * with a 4xx: nothing is acknowledged that is not durable. A temporary file
 * left by a crash was never acknowledged; the next start removes it.
 *
 * A file is removed when the simulation has delivered or bounced
 * every recipient (world files) or the real server has answered for it
 * (relay files).
 *
 * At start the spool is read back in name order, and the bridge
 * (bridge.c) decides what becomes of each message: world files are put
 * into the new simulation again, relay files queued again. This file only
 * reads and writes spool files; it calls no other file of the bridge.
 * A world file is removed only when every copy of the message is durable
 * in its Maildir (bridge_maildir.c), every DSN it caused is settled too,
 * and no write of it failed; at start, a recipient whose Maildir already
 * holds the file's spool id (",X=w..." in the Maildir file's name) is not
 * delivered again (bridge.c). Spool ids are never reused while a Maildir
 * file names them (the sequence starts past the highest id in either). */
#define _GNU_SOURCE /* sync_file_range (Linux) */
#include "bridge-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SPOOL_MAGIC "MAILSIM-SPOOL 1\r\n"

static gboolean
fsync_dir(const char *dir, GError **error)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: fsync: %s", dir,
                    g_strerror(e));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

static gboolean
clean_address(const char *a)
{
    return !strpbrk(a, "\r\n");
}

void
ms__bridge_spool_file_free(BridgeSpoolFile *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp)
        unlink(f->tmp); /* not committed */
    g_free(f->tmp);
    g_free(f->path);
    g_free(f);
}

static gboolean
write_all(int fd, const char *d, gsize n)
{
    gsize off = 0;
    while (off < n) {
        ssize_t w = write(fd, d + off, n - off);
        if (w < 0 && errno != EINTR)
            return FALSE;
        if (w > 0)
            off += (gsize) w;
    }
    return TRUE;
}

BridgeSpoolFile *
ms__bridge_spool_begin(MsBridge *b, char kind, const char *from, const char *const *rcpts,
                       GBytes *data, GError **error)
{
    if (!clean_address(from)) {
        g_set_error(error, MS_BRIDGE_ERROR, 0, "a sender with a line break cannot be spooled");
        return NULL;
    }
    GString *s = g_string_new(SPOOL_MAGIC);
    g_string_append_printf(s, "F %s\r\n", from);
    for (const char *const *r = rcpts; *r; r++) {
        if (!clean_address(*r)) {
            g_string_free(s, TRUE);
            g_set_error(error, MS_BRIDGE_ERROR, 0,
                        "a recipient with a line break cannot be spooled");
            return NULL;
        }
        g_string_append_printf(s, "R %s\r\n", *r);
    }
    g_string_append(s, "\r\n");
    gsize n;
    const char *d = g_bytes_get_data(data, &n);
    g_string_append_len(s, d, (gssize) n);
    g_autofree char *name = g_strdup_printf("%c%012" G_GUINT64_FORMAT ".msg", kind, ++b->spool_seq);
    BridgeSpoolFile *f = g_new0(BridgeSpoolFile, 1);
    f->path = g_build_filename(b->cfg.spool_dir, name, NULL);
    f->tmp = g_strconcat(f->path, ".tmp", NULL);
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    gboolean ok = f->fd >= 0 && write_all(f->fd, s->str, s->len);
    int e = errno;
    g_string_free(s, TRUE);
    if (!ok) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", f->tmp,
                    g_strerror(e));
        if (f->fd < 0)
            g_clear_pointer(&f->tmp, g_free); /* nothing was made */
        ms__bridge_spool_file_free(f);
        return NULL;
    }
    return f;
}

gboolean
ms__bridge_spool_commit(MsBridge *b, GPtrArray *files, GError **error)
{
    int e = 0;
    const char *what = NULL;
    /* 1. The contents. Writeback of every file is started first, so that
     * the first fsync's journal commit carries them all and the later
     * fsyncs find little left to do. */
    for (guint i = 0; i < files->len; i++) {
        BridgeSpoolFile *f = g_ptr_array_index(files, i);
        sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    for (guint i = 0; i < files->len && !e; i++) {
        BridgeSpoolFile *f = g_ptr_array_index(files, i);
        if (fsync(f->fd) != 0 || close(f->fd) != 0) {
            e = errno;
            what = f->tmp;
        }
        f->fd = -1;
    }
    /* 2. The names: each file appears whole or not at all. */
    guint renamed = 0;
    for (; renamed < files->len && !e; renamed++) {
        BridgeSpoolFile *f = g_ptr_array_index(files, renamed);
        if (rename(f->tmp, f->path) != 0) {
            e = errno;
            what = f->tmp;
            break;
        }
        g_clear_pointer(&f->tmp, g_free);
    }
    if (e)
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", what, g_strerror(e));
    /* 3. The directory, once for the batch. */
    if (e || !fsync_dir(b->cfg.spool_dir, error)) {
        for (guint i = 0; i < files->len; i++) {
            BridgeSpoolFile *f = g_ptr_array_index(files, i);
            if (!f->tmp)
                unlink(f->path); /* renamed, but the batch is refused */
        }
        return FALSE;
    }
    b->stats.spooled += files->len;
    b->stats.spool_commits++;
    return TRUE;
}

char *
ms__bridge_spool_id(const char *path)
{
    g_autofree char *base = g_path_get_basename(path);
    char *dot = strchr(base, '.');
    if (dot)
        *dot = '\0';
    return g_steal_pointer(&base);
}

void
ms__bridge_spool_note_id(MsBridge *b, const char *spool_id)
{
    guint64 seq = 0;
    if (spool_id && (spool_id[0] == 'w' || spool_id[0] == 'r') &&
        g_ascii_string_to_unsigned(spool_id + 1, 10, 0, G_MAXUINT64, &seq, NULL))
        b->spool_seq = MAX(b->spool_seq, seq);
}

void
ms__bridge_spool_remove(MsBridge *b, const char *path)
{
    if (!path)
        return;
    if (unlink(path) != 0 && errno != ENOENT) {
        g_printerr("mailsim bridge: spool: cannot remove %s: %s\n", path, g_strerror(errno));
        return;
    }
    g_autofree char *id = ms__bridge_spool_id(path);
    ms__bridge_maildir_forget(b->maildir, id);
}

gboolean
ms__bridge_spool_parse(GBytes *file, char **from, GPtrArray **rcpts, GBytes **data)
{
    gsize n;
    const char *d = g_bytes_get_data(file, &n);
    gsize m = strlen(SPOOL_MAGIC);
    if (n < m || memcmp(d, SPOOL_MAGIC, m) != 0)
        return FALSE;
    g_autofree char *f = NULL;
    g_autoptr(GPtrArray) r = g_ptr_array_new_with_free_func(g_free);
    gsize pos = m;
    for (;;) {
        const char *nl = pos < n ? memchr(d + pos, '\n', n - pos) : NULL;
        if (!nl || nl == d + pos || nl[-1] != '\r')
            return FALSE;
        gsize len = (gsize) (nl - (d + pos)) - 1; /* without CRLF */
        const char *line = d + pos;
        pos = (gsize) (nl - d) + 1;
        if (len == 0)
            break;
        if (len >= 2 && line[0] == 'F' && line[1] == ' ' && !f)
            f = g_strndup(line + 2, len - 2);
        else if (len >= 3 && line[0] == 'R' && line[1] == ' ')
            g_ptr_array_add(r, g_strndup(line + 2, len - 2));
        else
            return FALSE;
    }
    if (!f || r->len == 0)
        return FALSE;
    *from = g_steal_pointer(&f);
    *rcpts = g_steal_pointer(&r);
    *data = g_bytes_new_from_bytes(file, pos, n - pos);
    return TRUE;
}

static gint
cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
spooled_free(gpointer p)
{
    BridgeSpooled *m = p;
    g_free(m->path);
    g_free(m->from);
    g_strfreev(m->rcpts);
    g_bytes_unref(m->data);
    g_free(m);
}

GPtrArray *
ms__bridge_spool_read(MsBridge *b, GError **error)
{
    g_autoptr(GDir) dir = g_dir_open(b->cfg.spool_dir, 0, error);
    if (!dir) {
        g_prefix_error(error, "--spool: ");
        return NULL;
    }
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir))) {
        guint64 seq = 0;
        gsize len = strlen(name);
        if ((name[0] == 'w' || name[0] == 'r') && g_str_has_suffix(name, ".msg.tmp")) {
            /* written before a crash, never committed, never acknowledged */
            g_autofree char *p = g_build_filename(b->cfg.spool_dir, name, NULL);
            unlink(p);
            continue;
        }
        if ((name[0] != 'w' && name[0] != 'r') || len != 17 || !g_str_has_suffix(name, ".msg"))
            continue;
        g_autofree char *digits = g_strndup(name + 1, 12);
        if (!g_ascii_string_to_unsigned(digits, 10, 0, G_MAXUINT64, &seq, NULL))
            continue;
        b->spool_seq = MAX(b->spool_seq, seq);
        g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, cmp_names); /* directory order is arbitrary */
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(spooled_free);
    for (guint i = 0; i < names->len; i++) {
        const char *nm = g_ptr_array_index(names, i);
        g_autofree char *path = g_build_filename(b->cfg.spool_dir, nm, NULL);
        g_autofree char *contents = NULL;
        gsize len = 0;
        if (!g_file_get_contents(path, &contents, &len, error)) {
            g_prefix_error(error, "--spool: ");
            return NULL;
        }
        g_autoptr(GBytes) file = g_bytes_new_take(g_steal_pointer(&contents), len);
        g_autofree char *from = NULL;
        g_autoptr(GPtrArray) rcpts = NULL;
        g_autoptr(GBytes) data = NULL;
        if (!ms__bridge_spool_parse(file, &from, &rcpts, &data)) {
            g_set_error(error, MS_BRIDGE_ERROR, 0, "--spool: %s is not a mailsim spool file", path);
            return NULL;
        }
        g_ptr_array_add(rcpts, NULL);
        BridgeSpooled *m = g_new0(BridgeSpooled, 1);
        m->for_relay = nm[0] == 'r';
        m->path = g_steal_pointer(&path);
        m->from = g_steal_pointer(&from);
        m->rcpts = (char **) g_ptr_array_steal(rcpts, NULL);
        m->data = g_steal_pointer(&data);
        g_ptr_array_add(found, m);
    }
    return g_steal_pointer(&found);
}

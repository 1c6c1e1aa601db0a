/* The bridge's spool: accepted mail kept on disk until it is delivered,
 * so that nothing acknowledged with 250 is lost if the process dies.
 *
 * One file per accepted message and destination: "wNNNNNNNNNNNN.msg" for
 * recipients inside the simulated world, "rNNNNNNNNNNNN.msg" for those the
 * relay hands to a real server. Contents: a line "MAILSIM-SPOOL 1", one
 * line "F <sender>", one "R <recipient>" per recipient, an empty line, then
 * the message exactly as received (CRLF line ends). A file is written under
 * a temporary name, fsync'd, renamed into place and the directory fsync'd
 * before the 250 goes out (the rename is atomic: a reader sees a whole file
 * or none). It is removed when the simulation has delivered or bounced
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

char *
ms__bridge_spool_write(MsBridge *b, char kind, const char *from, const char *const *rcpts,
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
    g_autofree char *path = g_build_filename(b->cfg.spool_dir, name, NULL);
    /* CONSISTENT: temporary file then rename; DURABLE: fsync before the rename. */
    gboolean ok = g_file_set_contents_full(
        path, s->str, (gssize) s->len, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
        0600, error);
    g_string_free(s, TRUE);
    if (!ok || !fsync_dir(b->cfg.spool_dir, error)) {
        if (ok)
            unlink(path);
        return NULL;
    }
    b->stats.spooled++;
    return g_steal_pointer(&path);
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

/* `mailsim merge -o OUT.jsonl PART.jsonl...`: joins the JSON Lines traces
 * the parts of a partitioned run wrote (`--trace F` gives F.partN.jsonl)
 * into one trace in the order a sequential run emits its records.
 *
 * Order. Each part's record starts with "ord": the order key (time,
 * scheduling host, its counter) of the event that emitted it, [-1] for
 * set-up. Events run in that order in a sequential run, and each event runs
 * on exactly one part (fault events, addressed to the world, on every part,
 * each telling about its own hosts), so a k-way merge by key, ties kept in
 * part order and file order, restores the sequential emission order. Set-up
 * records are the same on every part: part 0's are kept.
 *
 * Message ids. A part numbers the messages it knows in its own order; its
 * trace ends with {"ids":[[id, Message-ID, shadow, created at, host,
 * counter, rank], ...]} (with its part number and the number of parts,
 * checked: a missing or misordered part is refused). The creators'
 * entries, sorted by creation key, give the sequential numbering; every
 * "message":N is rewritten to it.
 *
 * Streaming: one pass reads the id tables, a second merges holding one line
 * per part, so memory does not grow with the trace. Captures (F.partN.pcapng,
 * with -o OUT.pcapng) are handed to Wireshark's mergecap, which orders
 * packets by time. */
#include "mailsim/cli.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *mid;
    gint64 t;
    guint64 src, seq, idx;
} Creation;

typedef struct {
    const char *path;
    FILE *f;
    char *line; /* current line (getline buffer), NULL at the end */
    size_t cap;
    gint64 key[3]; /* its order key; key[0] = -1 for set-up */
    guint64 lineno;
    GHashTable *local; /* local id -> final id */
} Part;

static gint
creation_cmp(gconstpointer a, gconstpointer b)
{
    const Creation *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Reads the {"ids":...} line of a part: appends the messages it created to
 * `made` and returns its (local id, Message-ID) pairs. */
static gboolean
read_ids(const char *path, guint want_part, guint want_parts, GArray *made, GPtrArray *pairs_out,
         GError **error)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: %s", path, g_strerror(errno));
        return FALSE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    gboolean found = FALSE, ok = TRUE;
    while (ok && (n = getline(&line, &cap, f)) > 0) {
        if (strncmp(line, "{\"part\":", 8) != 0)
            continue;
        found = TRUE;
        g_autoptr(JsonParser) parser = json_parser_new();
        if (!json_parser_load_from_data(parser, line, n, error)) {
            ok = FALSE;
            break;
        }
        JsonObject *o = json_node_get_object(json_parser_get_root(parser));
        gint64 part = json_object_get_int_member_with_default(o, "part", -1);
        gint64 parts = json_object_get_int_member_with_default(o, "parts", -1);
        if (part != (gint64) want_part || parts != (gint64) want_parts) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s is part %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                        ", given as part %u of %u: pass "
                        "every part's trace, in part order",
                        path, part, parts, want_part, want_parts);
            ok = FALSE;
            break;
        }
        JsonArray *ids = json_object_get_array_member(o, "ids");
        for (guint i = 0; ids && i < json_array_get_length(ids); i++) {
            JsonArray *e = json_array_get_array_element(ids, i);
            if (!e || json_array_get_length(e) != 7) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: malformed id table",
                            path);
                ok = FALSE;
                break;
            }
            const char *mid = json_array_get_string_element(e, 1);
            g_ptr_array_add(pairs_out, GINT_TO_POINTER((gint) json_array_get_int_element(e, 0)));
            g_ptr_array_add(pairs_out, g_strdup(mid ? mid : ""));
            if (json_array_get_int_element(e, 2) == 0) {
                Creation c = { g_strdup(mid ? mid : ""), json_array_get_int_element(e, 3),
                               (guint64) json_array_get_int_element(e, 4),
                               (guint64) json_array_get_int_element(e, 5),
                               (guint64) json_array_get_int_element(e, 6) };
                g_array_append_val(made, c);
            }
        }
    }
    free(line);
    fclose(f);
    if (ok && !found) {
        g_set_error(
            error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
            "%s: no id table: not a part's trace (written by mailsim run --partition --trace)",
            path);
        ok = FALSE;
    }
    return ok;
}

/* Advances a part to its next record line; FALSE at the end. */
static gboolean
next_line(Part *p, GError **error)
{
    for (;;) {
        ssize_t n = getline(&p->line, &p->cap, p->f);
        if (n <= 0) {
            g_clear_pointer(&p->line, free);
            return FALSE;
        }
        p->lineno++;
        if (strncmp(p->line, "{\"part\":", 8) == 0)
            continue;
        if (strncmp(p->line, "{\"ord\":[", 8) != 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%" G_GUINT64_FORMAT ": a record without \"ord\"", p->path, p->lineno);
            return FALSE;
        }
        char *q = p->line + 8, *end;
        p->key[0] = g_ascii_strtoll(q, &end, 10);
        p->key[1] = p->key[2] = 0;
        if (p->key[0] >= 0 && *end == ',') {
            p->key[1] = g_ascii_strtoll(end + 1, &end, 10);
            if (*end == ',')
                p->key[2] = g_ascii_strtoll(end + 1, &end, 10);
        }
        if (*end != ']') {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%" G_GUINT64_FORMAT ": malformed \"ord\"", p->path, p->lineno);
            return FALSE;
        }
        return TRUE;
    }
}

/* Writes p's current line without its "ord" and with final message ids. */
static void
emit(FILE *out, const Part *p)
{
    const char *body = strstr(p->line, "],") + 2;
    fputc('{', out);
    const char *m = strstr(body, ",\"message\":");
    if (!m) {
        fputs(body, out);
        return;
    }
    m += 11;
    fwrite(body, 1, (size_t) (m - body), out);
    char *end;
    guint64 local = g_ascii_strtoull(m, &end, 10);
    gpointer fin = g_hash_table_lookup(p->local, GUINT_TO_POINTER((guint) local));
    fprintf(out, "%u", fin ? GPOINTER_TO_UINT(fin) : 0);
    fputs(end, out);
}

static gboolean
key_less(const Part *a, const Part *b)
{
    for (int i = 0; i < 3; i++)
        if (a->key[i] != b->key[i])
            return a->key[i] < b->key[i];
    return FALSE;
}

/* Captures: Wireshark's mergecap (installed with tshark) merges pcapng
 * files by packet time, which is all a partitioned run's captures need. */
static int
merge_captures(const char *out_path, int n, char **inputs)
{
    g_autofree char *mergecap = g_find_program_in_path("mergecap");
    if (!mergecap) {
        fprintf(
            stderr,
            "mailsim merge: merging captures needs Wireshark's mergecap (Debian: wireshark-common, "
            "which tshark brings)\n");
        return MS_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++)
        if (!g_file_test(inputs[i], G_FILE_TEST_IS_REGULAR)) {
            fprintf(stderr, "mailsim merge: %s: no such capture\n", inputs[i]);
            return MS_EXIT_USAGE;
        }
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, mergecap);
    g_ptr_array_add(argv, (gpointer) "-w");
    g_ptr_array_add(argv, (gpointer) out_path);
    for (int i = 0; i < n; i++)
        g_ptr_array_add(argv, inputs[i]);
    g_ptr_array_add(argv, NULL);
    g_autofree char *err = NULL;
    int status = 0;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                      NULL, &err, &status, &error) ||
        !g_spawn_check_wait_status(status, &error)) {
        fprintf(stderr, "mailsim merge: mergecap: %s%s%s\n", error ? error->message : "failed",
                err && *err ? ": " : "", err ? g_strstrip(err) : "");
        return MS_EXIT_FAILED;
    }
    printf("%s: %d capture%s merged by packet time\n", out_path, n, n == 1 ? "" : "s");
    return MS_EXIT_OK;
}

int
ms_cmd_merge(int argc, char **argv)
{
    const char *cmd = "merge";
    g_autofree char *out_path = NULL;
    GOptionEntry entries[] = {
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "the merged trace", "OUT.jsonl" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("PART... - join the traces or captures of a partitioned run");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "The parts' traces come from mailsim run --partition ... --trace F.jsonl\n"
             "(F.part0.jsonl, F.part1.jsonl, ...), given in part order: the merged\n"
             "trace is the sequential run's. With -o OUT.pcapng the inputs are the\n"
             "parts' captures (--pcap), merged by packet time with Wireshark's mergecap.\n");
    if (!ms_cli_parse(ctx, cmd, &argc, &argv))
        return MS_EXIT_USAGE;
    if (!out_path)
        return ms_cli_usage(cmd, "-o OUT.jsonl is required");
    if (argc < 2)
        return ms_cli_usage(cmd, "expected the parts' trace files");
    if (g_str_has_suffix(out_path, ".pcapng") || g_str_has_suffix(out_path, ".pcap"))
        return merge_captures(out_path, argc - 1, argv + 1);
    guint k = (guint) argc - 1;
    g_autoptr(GError) error = NULL;
    /* Pass 1: the sequential numbering. */
    g_autoptr(GArray) made = g_array_new(FALSE, FALSE, sizeof(Creation));
    g_autoptr(GPtrArray) pairs = g_ptr_array_new();
    g_autofree guint *pairs_end = g_new0(guint, k);
    int rc = MS_EXIT_OK;
    for (guint i = 0; i < k && rc == MS_EXIT_OK; i++) {
        if (!read_ids(argv[i + 1], i, k, made, pairs, &error)) {
            fprintf(stderr, "mailsim merge: %s\n", error->message);
            rc = MS_EXIT_USAGE;
        }
        pairs_end[i] = pairs->len;
    }
    g_array_sort(made, creation_cmp);
    g_autoptr(GHashTable) final = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < made->len; i++) {
        Creation *c = &g_array_index(made, Creation, i);
        if (!g_hash_table_contains(final, c->mid))
            g_hash_table_insert(final, c->mid, GUINT_TO_POINTER(g_hash_table_size(final) + 1));
    }
    g_autofree Part *parts = g_new0(Part, k);
    for (guint i = 0, at = 0; i < k && rc == MS_EXIT_OK; i++) {
        parts[i].path = argv[i + 1];
        parts[i].local = g_hash_table_new(g_direct_hash, g_direct_equal);
        for (; at < pairs_end[i]; at += 2)
            g_hash_table_insert(parts[i].local, g_ptr_array_index(pairs, at),
                                g_hash_table_lookup(final, g_ptr_array_index(pairs, at + 1)));
        parts[i].f = fopen(parts[i].path, "r");
    }
    FILE *out = rc == MS_EXIT_OK ? fopen(out_path, "w") : NULL;
    if (rc == MS_EXIT_OK && !out) {
        fprintf(stderr, "mailsim merge: %s: %s\n", out_path, g_strerror(errno));
        rc = MS_EXIT_USAGE;
    }
    /* Pass 2: k-way merge (k is small: a linear scan per record). */
    guint64 written = 0;
    for (guint i = 0; i < k && rc == MS_EXIT_OK; i++)
        if (!next_line(&parts[i], &error) && error) {
            fprintf(stderr, "mailsim merge: %s\n", error->message);
            rc = MS_EXIT_USAGE;
        }
    while (rc == MS_EXIT_OK) {
        Part *best = NULL;
        for (guint i = 0; i < k; i++) {
            Part *p = &parts[i];
            while (p->line && p->key[0] < 0 && i > 0) /* set-up: part 0's copy only */
                if (!next_line(p, &error) && error)
                    break;
            if (p->line && (!best || key_less(p, best)))
                best = p;
        }
        if (error) {
            fprintf(stderr, "mailsim merge: %s\n", error->message);
            rc = MS_EXIT_USAGE;
            break;
        }
        if (!best)
            break;
        emit(out, best);
        written++;
        if (!next_line(best, &error) && error) {
            fprintf(stderr, "mailsim merge: %s\n", error->message);
            rc = MS_EXIT_USAGE;
        }
    }
    if (out && fclose(out) != 0 && rc == MS_EXIT_OK) {
        fprintf(stderr, "mailsim merge: %s: %s\n", out_path, g_strerror(errno));
        rc = MS_EXIT_FAILED;
    }
    for (guint i = 0; i < k; i++) {
        if (parts[i].f)
            fclose(parts[i].f);
        free(parts[i].line);
        if (parts[i].local)
            g_hash_table_destroy(parts[i].local);
    }
    for (guint i = 0; i < made->len; i++)
        g_free(g_array_index(made, Creation, i).mid);
    for (guint i = 1; i < pairs->len; i += 2)
        g_free(g_ptr_array_index(pairs, i));
    if (rc == MS_EXIT_OK)
        printf("%s: %" G_GUINT64_FORMAT " records from %u part%s\n", out_path, written, k,
               k == 1 ? "" : "s");
    return rc;
}

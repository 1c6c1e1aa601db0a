/* The octets a client sends to the bridge's TLS listeners, between the
 * socket and GIO's GTlsServerConnection: a filter input stream that reads
 * the TLS record headers as they pass (RFC 8446 5.1, RFC 5246 6.2.1) and
 * does two things GIO offers no call for.
 *
 * Renegotiation. Once the handshake is done (ms__bridge_tls_guard_arm),
 * a record of type handshake (22) from the client can only be a new
 * ClientHello under TLS 1.2, a renegotiation: TLS 1.3 sends its
 * post-handshake messages inside application_data records (RFC 8446 5.1).
 * GnuTLS would serve it (RFC 5746's secure renegotiation) and
 * glib-networking no longer lets a program refuse (its rehandshake mode is
 * ignored since GLib 2.64). A server of mail gains nothing from it and it
 * costs a full handshake of CPU per request (the renegotiation DoS class),
 * so the read that meets such a record fails instead: the TLS connection
 * sees an error, the session ends and the bridge closes the socket. The
 * record never reaches GnuTLS, so no second handshake starts.
 *
 * SNI (RFC 6066 3). The first record, while the handshake runs, holds the
 * ClientHello; its server_name is read with the simulation's own parser
 * (ms_tls_client_hello_server_name) and the certificate for that name, if
 * the bridge has one, is put on the connection before GnuTLS asks for it
 * (glib-networking fetches the certificate only once the ClientHello is
 * parsed, in the same handshake thread that runs this read). A ClientHello
 * that does not fit in the first record, or names no known host, keeps the
 * default certificate.
 *
 * Threading: reads come from GIO's handshake thread during the handshake
 * and from the main context after it, never from both at once; the table
 * of certificates is built before any connection and only read here.
 * Ownership: the guard holds its base stream (the socket's input), the
 * stream it returns holds the socket's connection, and the guard a
 * reference to the certificate table, and a plain pointer to the TLS
 * connection that reads from it (which holds the guard). Costs: a few
 * comparisons per record header; the first record's payload copied once. */
#include "bridge-private.h"

#include "mailsim/tls.h"

#include <string.h>

#define TLS_RECORD_HANDSHAKE 22
#define TLS_RECORD_MAX       (16384 + 2048) /* a TLSCiphertext's largest (RFC 5246 6.2.3) */

typedef struct {
    GFilterInputStream parent;
    guint8 hdr[5];
    guint hdr_have;          /* octets of the current record header read */
    gsize left;              /* payload octets of the current record still to pass */
    guint records;           /* whole record headers seen */
    GByteArray *first;       /* the first record's payload, until it is complete */
    GHashTable *certs;       /* host name -> GTlsCertificate, a reference, or NULL */
    GTlsConnection *tls;     /* the connection reading from us, not owned */
    gboolean armed, refused; /* handshake done; a renegotiation seen */
} BridgeTlsGuard;

typedef struct {
    GFilterInputStreamClass parent_class;
} BridgeTlsGuardClass;

static void guard_pollable_init(GPollableInputStreamInterface *iface);
GType ms__bridge_tls_guard_get_type(void);

G_DEFINE_TYPE_WITH_CODE(BridgeTlsGuard, ms__bridge_tls_guard, G_TYPE_FILTER_INPUT_STREAM,
                        G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM, guard_pollable_init))

/* The first record is complete: the certificate for its ClientHello's
 * server_name, if we have one. */
static void
choose_certificate(BridgeTlsGuard *g)
{
    if (!g->certs || !g->tls || g->first->len < 4)
        return;
    gsize len =
        4 + ((gsize) g->first->data[1] << 16 | (gsize) g->first->data[2] << 8 | g->first->data[3]);
    if (len > g->first->len)
        return; /* the ClientHello goes on in a later record */
    g_autofree char *name = ms_tls_client_hello_server_name(g->first->data, len);
    GTlsCertificate *cert = name ? g_hash_table_lookup(g->certs, name) : NULL;
    if (cert)
        g_tls_connection_set_certificate(g->tls, cert);
}

/* Walks n octets just read; FALSE (with error) at a renegotiation. */
static gboolean
inspect(BridgeTlsGuard *g, const guint8 *p, gsize n, GError **error)
{
    while (n > 0) {
        if (g->left == 0 && g->hdr_have < 5) {
            g->hdr[g->hdr_have++] = *p++;
            n--;
            if (g->hdr_have < 5)
                continue;
            g->left = (gsize) g->hdr[3] << 8 | g->hdr[4];
            g->records++;
            if (g->armed && g->hdr[0] == TLS_RECORD_HANDSHAKE) {
                g->refused = TRUE;
                g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                    "renegotiation refused: the client sent a handshake "
                                    "record after the handshake");
                return FALSE;
            }
            if (g->left == 0)
                g->hdr_have = 0;
            continue;
        }
        gsize k = MIN(n, g->left);
        if (g->first && g->records == 1) {
            g_byte_array_append(g->first, p, (guint) k);
            if (k == g->left) {
                if (g->hdr[0] == TLS_RECORD_HANDSHAKE && g->first->len <= TLS_RECORD_MAX)
                    choose_certificate(g);
                g_clear_pointer(&g->first, g_byte_array_unref);
            }
        }
        p += k;
        n -= k;
        g->left -= k;
        if (g->left == 0)
            g->hdr_have = 0;
    }
    return TRUE;
}

static gssize
guard_result(BridgeTlsGuard *g, void *buf, gssize n, GError **error)
{
    if (g->refused) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                            "renegotiation refused");
        return -1;
    }
    if (n > 0 && !inspect(g, buf, (gsize) n, error))
        return -1;
    return n;
}

static gssize
guard_read(GInputStream *stream, void *buf, gsize count, GCancellable *cancellable, GError **error)
{
    BridgeTlsGuard *g = (BridgeTlsGuard *) stream;
    if (g->refused)
        return guard_result(g, buf, 0, error);
    GInputStream *base = G_FILTER_INPUT_STREAM(stream)->base_stream;
    gssize n = g_input_stream_read(base, buf, count, cancellable, error);
    return n < 0 ? n : guard_result(g, buf, n, error);
}

static gboolean
guard_can_poll(GPollableInputStream *stream)
{
    GInputStream *base = G_FILTER_INPUT_STREAM(stream)->base_stream;
    return G_IS_POLLABLE_INPUT_STREAM(base) &&
           g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(base));
}

static gboolean
guard_is_readable(GPollableInputStream *stream)
{
    BridgeTlsGuard *g = (BridgeTlsGuard *) stream;
    GInputStream *base = G_FILTER_INPUT_STREAM(stream)->base_stream;
    return g->refused || g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(base));
}

static GSource *
guard_create_source(GPollableInputStream *stream, GCancellable *cancellable)
{
    GInputStream *base = G_FILTER_INPUT_STREAM(stream)->base_stream;
    g_autoptr(GSource) inner =
        g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(base), NULL);
    return g_pollable_source_new_full(stream, inner, cancellable);
}

static gssize
guard_read_nonblocking(GPollableInputStream *stream, void *buf, gsize count, GError **error)
{
    BridgeTlsGuard *g = (BridgeTlsGuard *) stream;
    if (g->refused)
        return guard_result(g, buf, 0, error);
    GInputStream *base = G_FILTER_INPUT_STREAM(stream)->base_stream;
    gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(base), buf, count,
                                                        NULL, error);
    return n < 0 ? n : guard_result(g, buf, n, error);
}

static void
guard_finalize(GObject *obj)
{
    BridgeTlsGuard *g = (BridgeTlsGuard *) obj;
    g_clear_pointer(&g->first, g_byte_array_unref);
    g_clear_pointer(&g->certs, g_hash_table_unref);
    G_OBJECT_CLASS(ms__bridge_tls_guard_parent_class)->finalize(obj);
}

static void
ms__bridge_tls_guard_class_init(BridgeTlsGuardClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = guard_finalize;
    G_INPUT_STREAM_CLASS(klass)->read_fn = guard_read;
}

static void
guard_pollable_init(GPollableInputStreamInterface *iface)
{
    iface->can_poll = guard_can_poll;
    iface->is_readable = guard_is_readable;
    iface->create_source = guard_create_source;
    iface->read_nonblocking = guard_read_nonblocking;
}

static void
ms__bridge_tls_guard_init(BridgeTlsGuard *g)
{
    g->first = g_byte_array_new();
}

GIOStream *
ms__bridge_tls_guard_new(GIOStream *base, GHashTable *certs)
{
    BridgeTlsGuard *g = g_object_new(ms__bridge_tls_guard_get_type(), "base-stream",
                                     g_io_stream_get_input_stream(base), NULL);
    g->certs = certs ? g_hash_table_ref(certs) : NULL;
    GIOStream *io = g_simple_io_stream_new(G_INPUT_STREAM(g), g_io_stream_get_output_stream(base));
    g_object_unref(g);
    /* base closes its socket when its last reference goes (GIOStream's
     * dispose): it lives as long as the TLS connection above, so that a
     * close_notify sent while closing still finds the socket open. */
    g_object_set_data_full(G_OBJECT(io), "ms-bridge-base", g_object_ref(base), g_object_unref);
    return io;
}

static BridgeTlsGuard *
guard_of(GTlsConnection *tls)
{
    g_autoptr(GIOStream) base = NULL;
    g_object_get(tls, "base-io-stream", &base, NULL);
    GInputStream *in = base ? g_io_stream_get_input_stream(base) : NULL;
    return in && G_TYPE_CHECK_INSTANCE_TYPE(in, ms__bridge_tls_guard_get_type())
               ? (BridgeTlsGuard *) in
               : NULL;
}

void
ms__bridge_tls_guard_attach(GTlsConnection *tls)
{
    BridgeTlsGuard *g = guard_of(tls);
    if (g)
        g->tls = tls;
}

void
ms__bridge_tls_guard_arm(GTlsConnection *tls)
{
    BridgeTlsGuard *g = guard_of(tls);
    if (g)
        g->armed = TRUE;
}

gboolean
ms__bridge_tls_guard_refused(GTlsConnection *tls)
{
    BridgeTlsGuard *g = guard_of(tls);
    return g && g->refused;
}

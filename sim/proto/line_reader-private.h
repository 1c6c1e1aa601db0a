/* Shared by the line-oriented protocol cores of sim/proto (pop3_client.c,
 * pop3_server.c, smtp_server.c): cutting the next line out of buffered
 * input, under a limit each protocol sets. Not public. */
#pragma once

#include <glib.h>

typedef enum {
    MS__LINE_READER_WAIT,     /* no LF yet: the line goes on in later input */
    MS__LINE_READER_LINE,     /* a whole line within the limit */
    MS__LINE_READER_TOO_LONG, /* a line (whole, or already too long without its LF) over the limit */
} MsLineReaderCut;

/* Looks for the line that starts at p[0..avail). `limit` counts the line's
 * octets with its terminator (CRLF, or a bare LF). Sets *used to the octets
 * the caller consumes (0 while waiting) and, for a whole line, *len to its
 * length without the CR LF or LF (`len` may be NULL).
 *
 * `discarding` NULL: a reader that ends the session; TOO_LONG comes as
 * soon as the octets without an LF reach the limit. Non-NULL: a reader that
 * answers a long line once and reads on (RFC 5321 4.5.3.1.4, RFC 2449 4);
 * the octets are consumed (WAIT with *used = avail) and *discarding set
 * until the LF arrives, which comes as TOO_LONG and clears it. */
MsLineReaderCut ms__line_reader_cut(const guint8 *p, gsize avail, gsize limit, gboolean *discarding,
                                    gsize *used, gsize *len);

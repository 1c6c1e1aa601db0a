/* Line cutting for the line-oriented protocol cores (see
 * line_reader-private.h). Role in the data flow: each core's feed buffers
 * the peer's octets and asks here where the next line ends, how many
 * octets it takes and whether it is over the core's limit; what to answer
 * a long line (a protocol error, an -ERR, a 500) stays with the core.
 *
 * Design. A line ends at LF; a CR before it is dropped from the text the
 * caller reads, and counts towards the limit as the RFCs count CRLF. Only
 * whole lines are decided on, and a partial line is judged as soon as it
 * cannot fit any more, so a split of the input anywhere gives the same
 * lines and the same verdicts. Costs: one memchr over the buffered octets
 * per call; no allocation, no state but the caller's `discarding` flag. */
#include "line_reader-private.h"

#include <string.h>

MsLineReaderCut
ms__line_reader_cut(const guint8 *p, gsize avail, gsize limit, gboolean *discarding, gsize *used,
                    gsize *len)
{
    const guint8 *lf = memchr(p, '\n', avail);
    *used = 0;
    if (len)
        *len = 0;
    if (!lf) {
        /* Without an LF, `limit` octets already make the line too long
         * (the LF would be one more). */
        if (!(discarding && *discarding) && avail < limit)
            return MS__LINE_READER_WAIT;
        if (!discarding)
            return MS__LINE_READER_TOO_LONG;
        *discarding = TRUE;
        *used = avail;
        return MS__LINE_READER_WAIT;
    }
    gsize total = (gsize) (lf - p) + 1;
    *used = total;
    if ((discarding && *discarding) || total > limit) {
        if (discarding)
            *discarding = FALSE;
        return MS__LINE_READER_TOO_LONG;
    }
    gsize n = total - 1;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (len)
        *len = n;
    return MS__LINE_READER_LINE;
}

/* SMTP replies as values, shared by the server and client cores
 * (smtp_server.h, smtp_client.h): a reply code, an optional enhanced status
 * code (RFC 3463) and a text that may span several lines. Also the small
 * lexical helpers both cores need: reply-line syntax (RFC 5321 4.2), enhanced
 * code syntax, strict base64 (RFC 4954 4) and escaping a hostile line for a
 * trace. No state, no I/O. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Direction of a traced protocol line, seen from the core that traces it. */
typedef enum {
    MS_SMTP_TRACE_IN,  /* received from the peer */
    MS_SMTP_TRACE_OUT, /* sent to the peer */
} MsSmtpTraceDir;

/* Trace hook shared by both cores: one protocol line, without CRLF, with
 * non-printable octets escaped as \xNN. Owned by the caller of the hook. */
typedef void (*MsSmtpTraceFunc)(MsSmtpTraceDir dir, const char *line, gpointer user_data);

/* A reply. code 0 means "unset". enhanced is "" or "class.subject.detail".
 * text is owned (g_free) and may be NULL; '\n' separates the lines of a
 * multi-line reply. Embed it, initialise with MS_SMTP_REPLY_INIT and release
 * with ms_smtp_reply_clear(). */
typedef struct {
    guint code;
    char enhanced[12];
    char *text;
} MsSmtpReply;

#define MS_SMTP_REPLY_INIT                                                                         \
    {                                                                                              \
        0, { 0 }, NULL                                                                             \
    }

/* Sets all three fields (enhanced and text may be NULL). */
void ms_smtp_reply_set(MsSmtpReply *reply, guint code, const char *enhanced, const char *text);
/* Copies src into dst (dst's old text is freed). */
void ms_smtp_reply_copy(MsSmtpReply *dst, const MsSmtpReply *src);
/* Frees the text and resets to MS_SMTP_REPLY_INIT. */
void ms_smtp_reply_clear(MsSmtpReply *reply);

/* Appends the reply to out as wire lines, each ending in CRLF:
 * "code-text" for all but the last line and "code text" for the last
 * (RFC 5321 4.2.1). When with_enhanced is TRUE and the code is 2xx, 4xx or
 * 5xx, every line carries the enhanced code after the reply code (RFC 2034
 * 3); an absent or inconsistent enhanced code becomes "c.0.0". Control
 * octets in the text become spaces, and each line is cut to 512 octets
 * including CRLF (RFC 5321 4.5.3.1.5). A code outside 200..599 is sent as
 * 451. */
void ms_smtp_reply_format(const MsSmtpReply *reply, gboolean with_enhanced, GString *out);

/* TRUE when s[0..len) is an enhanced status code "c.sss.ddd" with class c
 * equal to klass (2, 4 or 5; 0 accepts any of them) and subject and detail
 * of 1 to 3 digits (RFC 3463 2). */
gboolean ms_smtp_enhanced_valid(const char *s, gsize len, guint klass);

/* Parses one reply line without its line end (RFC 5321 4.2): a code of
 * three digits, first 2..5 and second 0..5, then end of line, SP (last line)
 * or '-' (more lines follow). On success sets *code, *last and *text (points
 * into line, possibly at its end). FALSE for anything else. */
gboolean ms_smtp_reply_parse_line(const char *line, gsize len, guint *code, gboolean *last,
                                  const char **text);

/* Strict base64 (RFC 4648 4, as RFC 4954 4 requires): length a multiple of
 * 4, only the base64 alphabet, '=' padding only at the end. Returns the
 * decoded octets (caller frees) with their length in *out_len and a NUL
 * after them, or NULL when s is not strict base64. "" decodes to "". */
guint8 *ms_smtp_base64_decode_strict(const char *s, gsize *out_len);

/* Returns line[0..len) with every octet outside printable ASCII written as
 * \xNN (and '\\' as "\\\\"), for traces (caller frees). */
char *ms_smtp_escape_line(const guint8 *line, gsize len);

G_END_DECLS

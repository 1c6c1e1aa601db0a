/* Shared by the files of the IMAP server core (imap_server*.c), not
 * public: the session's struct, the parser over an assembled command, the
 * context a command runs in, and the helpers more than one command family
 * uses. Each file holds one family of commands:
 *   imap_server.c         the session: framing, dispatch, output, the API
 *   imap_server_auth.c    STARTTLS, LOGIN, AUTHENTICATE
 *   imap_server_args.c    arguments: mailbox names, sequence sets, flags, dates
 *   imap_server_select.c  the selected mailbox's snapshot; SELECT, EXAMINE,
 *                         CHECK, UNSELECT
 *   imap_server_list.c    LIST, LSUB, STATUS, NAMESPACE, SUBSCRIBE,
 *                         CREATE, DELETE, RENAME
 *   imap_server_fetch.c   FETCH and the body parts it renders
 *   imap_server_search.c  SEARCH, ESEARCH, SEARCHRES
 *   imap_server_store.c   APPEND, STORE, COPY, MOVE, EXPUNGE, CLOSE
 * The message parsing they share with nothing else is imap-private.h's,
 * with the mailbox name spellings (imap_mutf7.c). */
#pragma once

#include "mailsim/imap_server.h"
#include "imap-private.h"

#include <glib.h>

#define MAX_DEPTH    16   /* nested parentheses in a command */
#define MAX_ITEMS    4096 /* fetch attributes, search keys, set ranges */
#define MAX_BAD      10   /* BAD answers in a row before BYE */
#define NAME_MAX_LEN 1024 /* octets of a mailbox name */
#define SYSTEM_FLAGS 0x1fu

typedef enum { ST_NOAUTH, ST_AUTH, ST_SELECTED, ST_CLOSED } MsImapState;
typedef enum { IN_COMMAND, IN_AUTH_LINE, IN_IDLE } MsImapInMode;

struct _MsImapServer {
    MsImapServerConfig cfg;
    char *hostname;
    MsImapServerHooks hooks;
    gpointer user_data;
    MsImapTraceFunc trace_fn;
    gpointer trace_ud;

    MsImapState state;
    gboolean started;
    gboolean tls, wants_tls, tls_discarded;
    char *user;
    guint auth_failures, bad_in_row;
    gboolean rev2; /* ENABLE IMAP4rev2 was given (RFC 9051 6.3.1) */

    /* The selected mailbox's snapshot. */
    char *mailbox;
    gboolean readonly;
    GArray *msgs;        /* MsImapMessageInfo */
    GPtrArray *keywords; /* the keywords the mailbox defines: bit k of a message's */
    MsImapMailboxInfo box;
    gboolean dirty; /* refresh asked outside IDLE */
    GArray *saved;  /* guint32 uids, ascending: the "$" of SEARCH SAVE (RFC 5182) */

    /* Input framing. */
    MsImapInMode mode;
    GByteArray *in;
    gsize in_pos;
    gboolean discarding; /* inside an overlong line */
    GByteArray *cmd;     /* the command being assembled */
    guint64 literal_left;
    char *tag; /* of the pending AUTHENTICATE or IDLE */

    GByteArray *out;
};

/* ---- output (imap_server.c) ------------------------------------------- */

/* Appends a whole response (CRLF added) and traces it. */
void ms__imap_emit(MsImapServer *srv, GString *s);
/* One response line from a format. */
G_GNUC_PRINTF(2, 3) void ms__imap_say(MsImapServer *srv, const char *fmt, ...);
/* A tagged (or, with a NULL tag, untagged) BAD; MAX_BAD in a row end the
 * session. */
G_GNUC_PRINTF(3, 4) void ms__imap_bad(MsImapServer *srv, const char *tag, const char *fmt, ...);
/* Appends the capability list for the session's state. */
void ms__imap_capabilities(MsImapServer *srv, GString *s);

/* ---- the parser (imap_server.c) --------------------------------------- */

/* An assembled command: line fragments and literal octets, CRLF at the end. */
typedef struct {
    const guint8 *p;
    gsize n, i;
    gboolean utf8; /* IMAP4rev2: quoted strings are UTF-8 (RFC 9051 9) */
} MsImapParser;

static inline gboolean
at_end(const MsImapParser *ps)
{
    return ps->i + 2 == ps->n && ps->p[ps->i] == '\r';
}

static inline gboolean
peek(const MsImapParser *ps, char c)
{
    return ps->i < ps->n && ps->p[ps->i] == (guint8) c;
}

static inline gboolean
eat(MsImapParser *ps, char c)
{
    if (!peek(ps, c))
        return FALSE;
    ps->i++;
    return TRUE;
}

gboolean ms__imap_atom_char(guint8 c, gboolean astring);
/* An atom; `extra` lists further characters allowed. Newly allocated or
 * NULL. */
char *ms__imap_parse_atom(MsImapParser *ps, const char *extra);
/* A quoted string or a literal; *len_out its length (literals may hold
 * NUL). Newly allocated or NULL. */
char *ms__imap_parse_string(MsImapParser *ps, gsize *len_out);
/* An astring without NUL octets. Newly allocated or NULL. */
char *ms__imap_parse_astring(MsImapParser *ps);
/* A list-mailbox: an astring that may hold "%" and "*" unquoted. */
char *ms__imap_parse_list_mailbox(MsImapParser *ps);

/* The context a command runs in. */
typedef struct {
    MsImapServer *srv;
    const char *tag;
    MsImapParser *ps;
    gboolean uid; /* the UID prefix */
} MsImapCtx;

/* Answers the tagged BAD for a syntax error in `what`. */
void ms__imap_syntax(MsImapCtx *c, const char *what);
/* TRUE at the end of the command, else answers BAD. */
gboolean ms__imap_end_ok(MsImapCtx *c, const char *what);

/* ---- arguments (imap_server_args.c) ----------------------------------- */

/* Reads " mailbox" in the session's spelling (modified UTF-7, or UTF-8
 * after ENABLE IMAP4rev2), checks it and returns the internal name
 * (modified UTF-7, INBOX spelt so). Newly allocated, or NULL after
 * answering. */
char *ms__imap_mailbox_arg(MsImapCtx *c, const char *what);
/* An internal mailbox name in the session's spelling (UTF-8 after ENABLE
 * IMAP4rev2, RFC 9051 5.1). Newly allocated. */
char *ms__imap_mailbox_external(MsImapServer *srv, const char *name);
/* Appends an internal mailbox name to a response as an IMAP string in the
 * session's spelling. */
void ms__imap_mailbox_out(MsImapServer *srv, GString *s, const char *name);
/* A number without leading zeros, 1 .. 2^32-1. */
gboolean ms__imap_parse_num(const char *s, gsize n, guint32 *out);
/* A sequence set (or "$") against the snapshot, as ascending 0-based
 * indices; NULL after answering BAD. Returns a new array. */
GArray *ms__imap_resolve_set(MsImapServer *srv, const char *tag, const char *s, gboolean uid);
/* Appends a UID set for `uids` (ascending) in compact form. */
void ms__imap_append_uid_set(GString *s, const guint32 *uids, guint n);
/* Appends "(\Seen ... keyword ...)" for a message's flags and keywords
 * (bits over `keywords`). */
void ms__imap_append_flags(GString *s, const MsImapMessageInfo *m, GPtrArray *keywords);
/* A flag list (or, with `bare`, flags without parentheses): system flags
 * into *flags, keywords appended to `keywords` (once each,
 * case-insensitively). FALSE on a syntax error. */
gboolean ms__imap_parse_flags(MsImapParser *ps, gboolean bare, guint *flags, GPtrArray *keywords);
/* The names of the keywords in `bits` over `keywords`, NULL-terminated
 * (for the hooks). Returns a new array. */
GPtrArray *ms__imap_keyword_names(GPtrArray *keywords, guint32 bits);
/* The bits over `keywords` of the keywords in `names` (case-insensitive);
 * those not defined are appended to `unknown` (borrowed from `names`)
 * unless it is NULL. */
guint32 ms__imap_keyword_bits(GPtrArray *keywords, GPtrArray *names, GPtrArray *unknown);
/* Appends a quoted date-time (RFC 9051 9) in UTC. */
void ms__imap_append_date(GString *s, gint64 t);
gboolean ms__imap_parse_date_time(const char *s, gint64 *out);
/* 1..12 for a three-letter month name at `s`, else 0. */
guint ms__imap_month_of(const char *s);

/* ---- the selected mailbox (imap_server_select.c) ----------------------- */

static inline MsImapMessageInfo *
msg_at(MsImapServer *srv, guint i)
{
    return &g_array_index(srv->msgs, MsImapMessageInfo, i);
}

static inline guint32
max_uid(const MsImapServer *srv)
{
    if (srv->msgs->len == 0)
        return 0;
    return g_array_index(srv->msgs, MsImapMessageInfo, srv->msgs->len - 1).uid;
}

/* Lists a mailbox through the hook and checks what it says; its keywords
 * into `keywords` unless NULL. */
MsImapHookResult ms__imap_list_box(MsImapServer *srv, const char *mailbox, GArray *msgs,
                                   MsImapMailboxInfo *info, GPtrArray *keywords);
/* Tells the flags the selected mailbox defines: FLAGS and PERMANENTFLAGS
 * (RFC 9051 7.3.5, 7.1), at SELECT and whenever a keyword is added. */
void ms__imap_tell_flag_list(MsImapServer *srv);
/* Brings the snapshot up to date, telling the client (EXPUNGE, FETCH
 * FLAGS, EXISTS). */
void ms__imap_sync(MsImapServer *srv);
void ms__imap_deselect(MsImapServer *srv);
/* Tells message i's flags in an untagged FETCH, with its UID if `uid`. */
void ms__imap_tell_flags(MsImapServer *srv, guint i, gboolean uid);
/* The response code and text for a hook's failure. */
const char *ms__imap_hook_code(MsImapHookResult r);

/* ---- the commands, by file -------------------------------------------- */

typedef void (*MsImapCmdFunc)(MsImapCtx *c);

void ms__imap_sasl_plain(MsImapCtx *c, const char *b64);
void ms__imap_cmd_starttls(MsImapCtx *c);
void ms__imap_cmd_login(MsImapCtx *c);
void ms__imap_cmd_authenticate(MsImapCtx *c);

void ms__imap_cmd_select(MsImapCtx *c);
void ms__imap_cmd_examine(MsImapCtx *c);
void ms__imap_cmd_check(MsImapCtx *c);
void ms__imap_cmd_unselect(MsImapCtx *c);

/* The LIST response for one mailbox, as SELECT answers it in IMAP4rev2
 * (RFC 9051 6.3.2). */
void ms__imap_tell_list(MsImapServer *srv, const char *name);
void ms__imap_cmd_namespace(MsImapCtx *c);
void ms__imap_cmd_list(MsImapCtx *c);
void ms__imap_cmd_lsub(MsImapCtx *c);
void ms__imap_cmd_subscribe(MsImapCtx *c);
void ms__imap_cmd_unsubscribe(MsImapCtx *c);
void ms__imap_cmd_status(MsImapCtx *c);
void ms__imap_cmd_create(MsImapCtx *c);
void ms__imap_cmd_delete(MsImapCtx *c);
void ms__imap_cmd_rename(MsImapCtx *c);

void ms__imap_cmd_fetch(MsImapCtx *c);
void ms__imap_cmd_search(MsImapCtx *c);

void ms__imap_cmd_append(MsImapCtx *c);
void ms__imap_cmd_store(MsImapCtx *c);
void ms__imap_cmd_copy(MsImapCtx *c);
void ms__imap_cmd_move(MsImapCtx *c);
void ms__imap_cmd_expunge(MsImapCtx *c);
void ms__imap_cmd_close(MsImapCtx *c);

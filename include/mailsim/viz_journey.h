/* The journey of one message, as the pictures tell it: an ordered list of
 * steps (submission, each DNS query, each SMTP hand-off, a receiver's
 * sender checks, the mailbox store, the POP3 download, a bounce), each with its simulated time, the
 * two hosts, a sentence for people, and the protocol lines of that step.
 * Built after a run from the in-memory recorder (include/mailsim/recorder.h,
 * attached before the run with no filter) and the mail layer's records. */
#pragma once

#include <glib.h>
#include "mailsim/mail.h"
#include "mailsim/net.h"
#include "mailsim/recorder.h"

G_BEGIN_DECLS

/* Errors of the pictures: a bad --message, --kind or output name. */
#define MS_VIZ_ERROR (ms_viz_error_quark())
GQuark ms_viz_error_quark(void);
typedef enum { MS_VIZ_ERROR_INVALID } MsVizError;

typedef enum {
    MS_VIZ_STEP_SUBMIT, /* a client hands the message to its server (SMTP submission) */
    MS_VIZ_STEP_DNS,    /* one DNS query and its answer */
    MS_VIZ_STEP_SMTP,   /* a server hands the message to the next server */
    MS_VIZ_STEP_STORE,  /* the final server stores it in a mailbox (from == to) */
    MS_VIZ_STEP_POP3,   /* a client downloads it over POP3 (from = server, to = client) */
    MS_VIZ_STEP_BOUNCE, /* a server gives up on a recipient (from == to) */
    MS_VIZ_STEP_FAILED, /* tries to reach the next host that failed (timed out, refused): from tried to */
    MS_VIZ_STEP_REJECTED, /* a session in which the server refused the message (4xx/5xx): from tried to */
    MS_VIZ_STEP_IMAP,  /* a device fetches it over IMAP, leaving it on the server (from = server) */
    MS_VIZ_STEP_CHECK, /* a receiving server's sender checks (SPF, DKIM, DMARC, DNSBL) and their
                        * verdict (from == to) */
    MS_VIZ_STEP_KIND_COUNT
} MsVizStepKind;

/* What a receiving server's sender checks made it do with the message. */
typedef enum {
    MS_VIZ_CHECK_ACCEPTED,    /* passed, or failed under a policy that asks nothing */
    MS_VIZ_CHECK_QUARANTINED, /* DMARC p=quarantine: into Junk */
    MS_VIZ_CHECK_REFUSED,     /* DMARC p=reject (550 5.7.1) or a DNSBL listing (554 5.7.1) */
} MsVizCheckOutcome;

/* One protocol line of a step, as sent. */
typedef struct {
    MsTime at;
    MsHostId from, to;
    char *proto;
    char *text;
} MsVizLine;

typedef struct {
    MsVizStepKind kind;
    MsTime at;         /* when it happened: hand-off accepted, query sent, stored, downloaded */
    MsHostId from, to; /* the way the message (or the query) goes */
    char *title;       /* a few words: "submission (SMTP)", "DNS query", ... */
    char *detail;      /* one sentence for people */
    GArray *lines;     /* MsVizLine: the protocol lines of this step, in time order */
    char *aside;       /* "what really happens": the trace's notes before this step, or NULL */
    guint order;       /* causal order among steps at the same time: the index of the trace
                        * record it comes from (G_MAXUINT for the records' outcomes) */
    /* SMTP and POP3 sessions (submission, hand-off, download): whether the
     * message crossed inside TLS, and from which of `lines` on the session
     * was inside it (after STARTTLS/STLS and its 220/+OK, RFC 3207 and
     * RFC 2595; 0 on the implicit-TLS ports 465 and 995, RFC 8314) */
    gboolean session;
    gboolean tls;
    gboolean implicit_tls;
    guint tls_from;
    /* Sender checks. A DNS step a check asked: "SPF", "DKIM", "DMARC" or
     * "DNSBL" (else NULL). A CHECK step: its results in a few words
     * ("SPF pass · DKIM none · DMARC fail") and what they made the server
     * do. */
    const char *asked_for;
    char *results;
    MsVizCheckOutcome outcome;
} MsVizStep;

typedef struct {
    guint32 message; /* the mail layer's id */
    char *label;     /* "m1" */
    char *subject;
    GArray *steps; /* MsVizStep, by time */
    gboolean tls;  /* some session step of the journey used TLS: pictures mark each one */
} MsVizJourney;

/* The journey of `message` (1..n) from what `recorder` kept (every kind,
 * not filtered by message) and the mail layer's records. Returns a new
 * journey (caller frees), with no steps when nothing was recorded. */
MsVizJourney *ms_viz_journey_new(MsNet *net, MsMail *mail, const MsRecorder *recorder,
                                 guint32 message);
void ms_viz_journey_free(MsVizJourney *journey);

/* Parses a --message argument: a label ("m1") or an id ("1"). Returns the
 * id, or 0 with `error` set when no such message exists. */
guint32 ms_viz_message_lookup(MsMail *mail, const char *text, GError **error);

const char *ms_viz_step_kind_to_string(MsVizStepKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MsVizJourney, ms_viz_journey_free)

G_END_DECLS

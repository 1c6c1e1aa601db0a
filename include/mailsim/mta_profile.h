/* MTA profiles and policies: the retry schedules and limits of real MTAs
 * (Postfix, Exim, OpenSMTPD) that a mail server of the world follows. The
 * mail layer owns them (sim/mail/mta_profile.c); the scenario description,
 * a layer above, names a profile per server. Pure functions of their
 * arguments: no engine, no state. */
#pragma once

#include <glib.h>
#include "mailsim/time.h"

G_BEGIN_DECLS

typedef enum {
    MS_MTA_POSTFIX,   /* retry after 300 s, doubling to 4000 s, give up after 5 d */
    MS_MTA_EXIM,      /* every 15 min for 2 h, then x1.5 from 1 h to 16 h, then 6 h; 4 d */
    MS_MTA_OPENSMTPD, /* at creation + 400 s x n^2; give up after 4 d */
} MsMtaProfile;

/* A server's policy; a field left 0 takes the profile's default. */
typedef struct {
    MsMtaProfile profile;
    MsTime retry_first, retry_max, give_up;
    guint64 max_size;
    guint max_recipients;
    gboolean greylist; /* postgrey-like: first try of a new triple gets 450 for 300 s */
} MsMtaPolicy;

/* Fills `policy` with the profile's defaults. */
void ms_mta_policy_defaults(MsMtaProfile profile, MsMtaPolicy *policy);
/* When a message first queued at `queued_at`, whose attempt number
 * `attempt` (1 = the first) has just failed at `now`, is tried again, by
 * the profile's schedule; MS_TIME_INFINITE when it is past give-up. */
MsTime ms_mta_next_retry(const MsMtaPolicy *policy, guint attempt, MsTime queued_at, MsTime now);

/* "postfix", "exim", "opensmtpd"; "?" for anything else. Static storage. */
const char *ms_mta_profile_to_string(MsMtaProfile profile);

G_END_DECLS

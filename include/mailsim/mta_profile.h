/* The named MTA profiles a scenario picks per server (retry schedules and
 * limits of real MTAs; the values are set in sim/mail/mail.c). Shared by the
 * scenario description and the mail layer. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    MS_MTA_POSTFIX,     /* retry after 300 s, doubling to 4000 s, give up after 5 d */
    MS_MTA_EXIM,        /* every 15 min for 2 h, then x1.5 from 1 h to 16 h, then 6 h; 4 d */
    MS_MTA_OPENSMTPD,   /* at creation + 400 s x n^2; give up after 4 d */
} MsMtaProfile;

const char *ms_mta_profile_to_string(MsMtaProfile profile);

G_END_DECLS

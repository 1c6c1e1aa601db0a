/* The byte format of a part's record export, shared by its writer
 * (mail_export.c) and its reader (mail_merge.c); the format is described
 * atop mail_export.c. Not public. */
#pragma once

#include "mailsim/mail.h"

#define MS__EXPORT_MAGIC 0x3452534du /* "MSR4": frames */

/* The sections of an export, in the order a part writes them; a section
 * may span several frames (and chunks), never goes back. */
typedef enum {
    MS__EXPORT_SESSIONS, /* one item: the SMTP and POP3 session counts */
    MS__EXPORT_RECORDS,
    MS__EXPORT_CLIENTS, /* clients that logged in or were shown mail */
    MS__EXPORT_CHECKS,  /* sender checks, in the order made */
    MS__EXPORT_TLS,     /* non-zero TLS-ledger entries */
    MS__EXPORT_ROWS,    /* DMARC report rows */
    MS__EXPORT_QUEUED,  /* DNSBL bookkeeping: recipients queued where */
    MS__EXPORT_LISTINGS,
    MS__EXPORT_END, /* no items: the part's export is whole */
} MsExportSection;

/* Frees what a merge replaces: m's records, its clients' lists and login
 * counts, its sender checks, DMARC rows, DNSBL bookkeeping and TLS ledger
 * (mail_merge.c). */
void ms__mail_merge_release(MsMail *m);

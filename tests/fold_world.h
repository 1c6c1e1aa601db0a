/* The generated flow-level world the folding suites run (test_mail_fold
 * in process, test_mail_fold_cli through `mailsim run`): one place, so
 * both measure the same world. */
#pragma once

#include <glib.h>

/* A transit-stub world of `domains` domains (three routers and twenty
 * users each) sending `messages` over `duration`, as scenario text
 * (caller frees). */
static inline char *
fold_world_xml(guint domains, guint messages, const char *duration, guint seed)
{
    return g_strdup_printf(
        "<scenario version=\"1\" name=\"fold\" seed=\"%u\" fidelity=\"flow\">"
        "<generate topology=\"transit-stub\" domains=\"%u\" routers=\"%u\" users=\"%u\" "
        "messages=\"%u\" duration=\"%s\" seed=\"%u\"/></scenario>",
        seed, domains, domains * 3, domains * 20, messages, duration, seed);
}

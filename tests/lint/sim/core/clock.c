/* Fixture for tests/test_lint.sh: every rule broken here is on a line the
 * test names. "static int not_here;" in a comment is no violation. */
#include "mailsim/clock.h"
#include "mailsim/mail.h"

static unsigned long ticks = (unsigned long) (7 * 6);
static const char *const names[] = { "static int in_a_string;" };

long
ms_clock_now(void)
{
    static int calls;
    calls++;
    (void) names;
    return (long) ticks + calls + ms_mail_send("x");
}

static struct {
    int a;
    int b;
} multi = { 1, 2 };

int ms_clock_use(void);
int
ms_clock_use(void)
{
    return multi.a;
}

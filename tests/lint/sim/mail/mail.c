/* Fixture: what the rules allow. mail may call into core; static functions,
 * their declarations, const tables and attributes are not mutable state. */
#include "mailsim/mail.h"

static int helper(int x);
static inline int
twice(int x)
{
    return 2 * x;
}
static const int table[] = { 1, 2, 3 };
static void (*const hook)(void) = 0;
static __attribute__((unused)) int
unused_helper(const char *fmt, ...)
{
    return fmt != 0;
}

static int
helper(int x)
{
    static const unsigned char payload[4] = { (unsigned char) (1 + 1) };
    return x + table[0] + payload[0] + (hook != 0);
}

int
ms_mail_send(const char *to)
{
    return helper(twice(to != 0)) + (int) ms_clock_now();
}

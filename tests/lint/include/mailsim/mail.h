/* Fixture: mail, owned by sim/mail/ (sim/mail/mail.c). */
#pragma once
#include "mailsim/clock.h"

int ms_mail_send(const char *to);

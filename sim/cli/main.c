/* The mailsim binary: hands the command line to the CLI dispatcher. */
#include "mailsim/cli.h"

int
main(int argc, char **argv)
{
    return ms_cli_main(argc, argv);
}

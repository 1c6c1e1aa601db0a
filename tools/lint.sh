#!/bin/sh
# `make lint`: the layering and no-global-state rules of STYLE.md, by grep.
#  - sim/ never includes cairo or pango; only the scenario loader includes libxml2.
#  - no g_random_* (one global generator) in sim/ or viz/.
#  - no mutable file-scope statics in sim/ or viz/ (static const is fine).
#  - only sim/dist/mpi_*.c include mpi.h (Open MPI is optional).
set -u
rc=0
bad() { echo "lint: $*"; rc=1; }
for f in sim/*/*.c sim/*/*.h include/mailsim/*.h; do
    [ -e "$f" ] || continue
    grep -n '#include <cairo\|#include <pango' "$f" >/dev/null && bad "$f includes cairo/pango (viz/ only)"
    case "$f" in
        sim/scenario/*) ;;
        *) grep -n '#include <libxml' "$f" >/dev/null && bad "$f includes libxml2 (scenario loader only)" ;;
    esac
done
# Open MPI is optional: only sim/dist/mpi_*.c may include it.
for f in sim/*/*.c sim/*/*.h include/mailsim/*.h viz/*.c tests/*.c; do
    case "$f" in sim/dist/mpi_*.c) continue ;; esac
    grep -n '#include <mpi' "$f" >/dev/null && bad "$f includes mpi.h (sim/dist/mpi_*.c only)"
done
for f in sim/*/*.c viz/*.c; do
    [ -e "$f" ] || continue
    grep -n 'g_random_' "$f" && bad "$f uses g_random_* (use the engine's streams)"
    # file-scope 'static' objects that are not const and not functions
    awk -v f="$f" '/^static / && !/const/ && !/\(/ && /[=;]/ { print f ":" NR ": " $0; found = 1 } END { exit found }' "$f" ||
        bad "$f has mutable static state"
done
[ $rc -eq 0 ] && echo "lint: ok"
exit $rc

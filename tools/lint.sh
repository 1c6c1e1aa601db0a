#!/bin/sh
# `make lint`: the layering and no-global-state rules of STYLE.md.
#
#   sh tools/lint.sh [ROOT [BUILD]]     ROOT defaults to ".", BUILD to "build"
#
# Every rule names the file and line it trips on:
#  - layers: each folder (sim/<folder>/, viz/) may use itself and the folders
#    the table below allows, nothing higher. Checked twice:
#      (a) by include: a quoted #include of a public header
#          (include/mailsim/X.h, owned by the folder holding X.c, or by the
#          table's entry for headers without one) or of a private header
#          (sim/<folder>/*-private.h) owned by a folder not allowed; public
#          headers are checked as members of their owner folder;
#      (b) by call: `nm` on the built objects (BUILD/sim/*/*.o, BUILD/viz/*.o,
#          BUILD/gen/*.o) maps every undefined symbol to the folder defining
#          it; a use of a folder not allowed is reported at the symbol's first
#          use in the source. (b) needs the objects: `make lint` builds them.
#  - nothing outside viz/ includes cairo or pango; only sim/scenario/
#    (and sim/run/dmarc_report.c, whose output is XML) includes libxml2;
#    only sim/dist/mpi_*.c include mpi.h (Open MPI is optional).
#  - no g_random_* (one global generator) in sim/ or viz/.
#  - no mutable statics in sim/ or viz/, at file scope or inside functions:
#    every `static` object must be const (static functions, their
#    declarations and `static inline` are fine).
set -u
ROOT=${1:-.}
BUILD=${2:-build}
cd "$ROOT" || exit 2
rc=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
bad() { echo "lint: $*"; rc=1; }

# ---- the layer table, lowest first ----------------------------------------
# folder=the folders it may use besides itself
ALLOWED="core=
proto=core
dist=core
net=core proto dist
dns=core proto dist net
mail=core proto dist net dns
scenario=core proto dist net dns mail
run=core proto dist net dns mail scenario
viz=core proto dist net dns mail scenario run
bridge=core proto dist net dns mail scenario run
cli=core proto dist net dns mail scenario run viz bridge"
# Public headers include/mailsim/X.h without an X.c of their own: X=owner
# (a trailing * matches any rest of the name). Every other public header is
# owned by the folder holding its X.c; one with neither is an error.
HEADERS="engine_remote=core
tcp_wire=net
mta_profile=mail
tls*=proto
viz_*=viz"
# Upward includes tolerated for now, as "file:header"; each one is a bug.
# exceptions being removed: (none)
EXCEPTIONS=""

# awk functions shared by both layering checks: tables() reads the tables
# above, owner(path) is the folder a file of the tree belongs to ("" when
# unknown), may_use(a, b) whether folder a may use folder b.
LAYER_AWK='
function tables(    n, i, kv, lines) {
    n = split(ALLOWED, lines, "\n")
    for (i = 1; i <= n; i++) {
        split(lines[i], kv, "=")
        allowed[kv[1]] = " " kv[2] " "
    }
    n = split(HEADERS, lines, "\n")
    for (i = 1; i <= n; i++) {
        split(lines[i], kv, "=")
        htable[kv[1]] = kv[2]
    }
    n = split(EXCEPTIONS, lines, "[ \n]")
    for (i = 1; i <= n; i++) exception[lines[i]] = 1
}
function header_owner(x,    k) {
    if (x in htable) return htable[x]
    for (k in htable)
        if (k ~ /\*$/ && index(x, substr(k, 1, length(k) - 1)) == 1) return htable[k]
    return (x in cowner) ? cowner[x] : ""
}
function owner(path,    x, parts) {
    if (path ~ /^include\/mailsim\/[^\/]*\.h$/) {
        x = substr(path, 17); x = substr(x, 1, length(x) - 2)
        return header_owner(x)
    }
    if (path ~ /^sim\/[^\/]*\/[^\/]*$/) { split(path, parts, "/"); return parts[2] }
    if (path ~ /^viz\/[^\/]*$/) return "viz"
    return ""
}
function may_use(a, b) {
    return a == b || index(allowed[a], " " b " ") > 0
}
# Records "dir/X.c": an X.h of include/mailsim/ is owned by that folder.
function saw_c(path,    x, parts) {
    if (path !~ /\.c$/) return
    x = path; sub(/^.*\//, "", x); x = substr(x, 1, length(x) - 2)
    if (path ~ /^viz\//) cowner[x] = "viz"
    else { split(path, parts, "/"); cowner[x] = parts[2] }
}
'

SOURCES=$(ls sim/*/*.c sim/*/*.h viz/*.c viz/*.h include/mailsim/*.h 2>/dev/null)
ALLFILES=$(ls sim/*/* viz/* include/mailsim/* 2>/dev/null)


# ---- (a) layering by include ----------------------------------------------
# shellcheck disable=SC2086
echo "$ALLFILES" | awk -v ALLOWED="$ALLOWED" -v HEADERS="$HEADERS" -v EXCEPTIONS="$EXCEPTIONS" "$LAYER_AWK"'
BEGIN { tables() }
FILENAME == "-" { exists[$0] = 1; saw_c($0); next }
FNR == 1 {
    me = owner(FILENAME)
    if (me == "" || !(me in allowed)) {
        printf "lint: %s:1: no owner folder in the layer table: give it an entry in tools/lint.sh\n", FILENAME
        bad = 1
    }
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
    name = $0; sub(/^[^"]*"/, "", name); sub(/".*/, "", name)
    if (name ~ /^mailsim\//) path = "include/" name
    else {
        # A private header, relative to the including file.
        path = FILENAME; sub(/[^\/]*$/, "", path); path = path name
        while (sub(/[^\/]+\/\.\.\//, "", path)) { }
    }
    o = (path in exists) ? owner(path) : ""
    if (o == "") {
        printf "lint: %s:%d: includes \"%s\", which has no owner folder (unknown header: add it to tools/lint.sh)\n", FILENAME, FNR, name
        bad = 1
    } else if (me != "" && !may_use(me, o) && !((FILENAME ":" name) in exception)) {
        printf "lint: %s:%d: %s includes \"%s\" (%s): a higher layer\n", FILENAME, FNR, me, name, o
        bad = 1
    }
}
END { exit bad }
' - $SOURCES || rc=1

# ---- (b) layering by call: nm on the built objects -------------------------
objs=$(ls "$BUILD"/sim/*/*.o "$BUILD"/viz/*.o "$BUILD"/gen/*.o 2>/dev/null)
if [ -z "$objs" ]; then
    bad "no objects under $BUILD/: build first (make lint does)"
else
    # shellcheck disable=SC2086
    nm -A -P $objs | awk -v ALLOWED="$ALLOWED" -v HEADERS="$HEADERS" -v BUILD="$BUILD/" "$LAYER_AWK"'
        BEGIN { tables() }
        {
            src = $1; sub(/:$/, "", src); sub(/\.o$/, ".c", src)
            if (index(src, BUILD) == 1) src = substr(src, length(BUILD) + 1)
            f = (src ~ /^gen\//) ? "core" : owner(src)   # generated data, read through sim/core/
            if ($3 ~ /^[TDBRCGSVW]$/) def[$2] = f
            else if ($3 == "U") { n++; user[n] = f; file[n] = src; sym[n] = $2 }
        }
        END {
            for (i = 1; i <= n; i++)
                if ((sym[i] in def) && !may_use(user[i], def[sym[i]]))
                    print file[i], user[i], sym[i], def[sym[i]]
        }
    ' | sort -u | while read -r src me sym owner; do
        # The first use outside a comment, for the line number.
        line=$(grep -n "\\<$sym\\>" "$src" 2>/dev/null |
            grep -v '^[0-9]*:[[:space:]]*\(/\*\|\*\|//\)' | head -1 | cut -d: -f1)
        echo "lint: $src:${line:-1}: $me calls $sym ($owner)"
    done > "$tmp"
    [ -s "$tmp" ] && { cat "$tmp"; rc=1; }
fi

# ---- libraries that belong to one layer ------------------------------------
# Prints "lint: FILE:LINE: WHY" for each line of FILES (those that exist)
# matching the grep pattern and not excused by a sh pattern of ALLOW; false
# when there is none.
flag() { # $1 = pattern, $2 = why, $3 = ALLOW (case patterns), then the files
    pat=$1 why=$2 allow=$3
    shift 3
    # shellcheck disable=SC2046
    grep -n -H "$pat" $(ls "$@" 2>/dev/null) /dev/null | cut -d: -f1,2 | while read -r at; do
        ok=""
        set -f
        for a in $allow; do
            # shellcheck disable=SC2254
            case "${at%:*}" in $a) ok=1 ;; esac
        done
        [ -z "$ok" ] && echo "lint: $at: $why"
    done | grep .
}
# shellcheck disable=SC2086
flag '#[[:space:]]*include[[:space:]]*<\(cairo\|pango\)' "includes cairo/pango (viz/ only)" \
    'viz/* include/mailsim/viz_*' $SOURCES && rc=1
# shellcheck disable=SC2086
flag '#[[:space:]]*include[[:space:]]*<libxml' "includes libxml2 (sim/scenario/ and the DMARC report writer only)" \
    'sim/scenario/* include/mailsim/scenario.h sim/run/dmarc_report.c' $SOURCES && rc=1
# shellcheck disable=SC2086
flag '#[[:space:]]*include[[:space:]]*<mpi' "includes mpi.h (sim/dist/mpi_*.c only)" \
    'sim/dist/mpi_*.c' $SOURCES tests/*.c && rc=1

# ---- no global state --------------------------------------------------------
# shellcheck disable=SC2086
flag 'g_random_' "uses g_random_* (use the engine's streams)" '' $SOURCES && rc=1
# Mutable statics. Comments, string and character literals and preprocessor
# lines are blanked first; then each `static` declaration is read up to its
# first '=', ';' or '{' (across lines): a '(' there not followed by '*' makes
# it a function (or a function attribute such as G_GNUC_PRINTF(1, 2));
# otherwise it is an object, and it must say const.
# shellcheck disable=SC2086
awk '
function strip(s,    out, m, c) {
    out = ""
    while (s != "") {
        if (incom) {
            m = index(s, "*/")
            if (!m) return out
            s = substr(s, m + 2); incom = 0; out = out " "
            continue
        }
        m = match(s, /[\/"\047]/)
        if (!m) return out s
        out = out substr(s, 1, m - 1); c = substr(s, m, 1); s = substr(s, m)
        if (c == "/") {
            if (substr(s, 2, 1) == "*") { incom = 1; s = substr(s, 3); continue }
            if (substr(s, 2, 1) == "/") return out
            out = out "/"; s = substr(s, 2)
            continue
        }
        if (c == "\"") m = match(s, /^"([^"\\]|\\.)*"/)
        else m = match(s, /^\047([^\047\\]|\\.)*\047/)
        if (!m) return out
        out = out c c; s = substr(s, RLENGTH + 1)
    }
    return out
}
function judge(head,    p, rest) {
    # Attributes say nothing about function or object: drop them first.
    gsub(/__attribute__[ \t]*\(\(([^()]|\([^()]*\))*\)\)/, " ", head)
    gsub(/G_GNUC_[A-Z0-9_]+[ \t]*(\([^()]*\))?/, " ", head)
    if (head ~ /(^|[^A-Za-z0-9_])inline([^A-Za-z0-9_]|$)/) return
    p = index(head, "(")
    if (p) {
        rest = substr(head, p + 1)
        sub(/^[ \t]*/, "", rest)
        if (substr(rest, 1, 1) != "*") return                 # a function
        if (rest ~ /^\*[ \t]*const([^A-Za-z0-9_]|$)/) return  # a const function pointer
    } else if (head ~ /(^|[^A-Za-z0-9_])const([^A-Za-z0-9_]|$)/) return
    gsub(/[ \t]+/, " ", head); sub(/^ /, "", head); sub(/ $/, "", head)
    printf "lint: %s:%d: mutable static \"%s\": make it const, or a field of an object\n", FILENAME, at, head
    bad = 1
}
FNR == 1 { incom = 0; pending = 0; cont = 0 }
{
    if (cont || (!incom && $0 ~ /^[ \t]*#/)) { cont = ($0 ~ /\\$/); next }
    s = strip($0)
    while (s != "") {
        if (!pending) {
            if (!match(s, /(^|[^A-Za-z0-9_])static[ \t]/) && !match(s, /(^|[^A-Za-z0-9_])static$/)) break
            s = substr(s, RSTART + RLENGTH); head = ""; pending = 1; at = FNR
        }
        m = match(s, /[=;{]/)
        if (!m) { head = head " " s; break }
        head = head " " substr(s, 1, m - 1); s = substr(s, m + 1)
        pending = 0
        judge(head)
    }
}
END { exit bad }
' $SOURCES || rc=1

[ $rc -eq 0 ] && echo "lint: ok"
exit $rc

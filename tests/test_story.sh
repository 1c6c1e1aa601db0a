#!/bin/sh
# `make check-browser`: the story page (mailsim render --kind story) in
# headless Chromium. Loads the page from a file, presses its buttons through
# the URL fragment it honours (#step=N&press=next,prev), reads the DOM back
# and checks which step is highlighted, then saves a screenshot. Installs
# Chromium from Debian when it is missing and we are root; skips with a
# clear message when it cannot (and fails then under MAILSIM_NO_SKIP=1). Not part of `make check` (it may need a
# download and takes a few seconds per page load).
#   MAILSIM=path/to/mailsim   the binary (default ./mailsim)
#   STORY_SHOT=file.png       keep the screenshot there
set -u
MAILSIM=${MAILSIM:-./mailsim}

find_chromium() {
    for c in chromium chromium-browser google-chrome; do
        command -v "$c" 2>/dev/null && return 0
    done
    return 1
}

if ! CHROME=$(find_chromium); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "check-browser: installing chromium (Debian package) ..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; }
    fi
    if ! CHROME=$(find_chromium); then
        echo "check-browser: SKIPPED: chromium is not installed and could not be installed here"
        echo "browser: 0 passed, 0 failed, 1 skipped"
        # A skip is not a pass: under MAILSIM_NO_SKIP=1 (CI) it fails.
        [ "${MAILSIM_NO_SKIP:-0}" = 1 ] && exit 1
        exit 0
    fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
if ! "$MAILSIM" render --kind story -o "$tmp/story.html" >/dev/null; then
    echo "check-browser: mailsim render --kind story failed"
    echo "browser: 0 passed, 1 failed"
    exit 1
fi
page="file://$tmp/story.html"

browse() { # $1 = profile name, then chromium's arguments; no network services
    prof=$1
    shift
    timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --user-data-dir="$tmp/profile-$prof" "$@" 2>/dev/null
}

pass=0
fail=0
check() { # $1 = what, $2 = shell test
    if eval "$2"; then
        pass=$((pass + 1))
        echo "  ok    $1"
    else
        fail=$((fail + 1))
        echo "  FAIL  $1"
    fi
}

browse a --dump-dom "$page" >"$tmp/d0.html"
check "the page opens on the overview" 'grep -q "data-current-step=\"0\"" "$tmp/d0.html"'
check "no arrow is highlighted on the overview" '! grep -q "class=\"arrow [a-z0-9]* active\"" "$tmp/d0.html"'

browse b --dump-dom "$page#press=next,next,next" >"$tmp/d3.html"
check "three presses of Next reach step 3" 'grep -q "data-current-step=\"3\"" "$tmp/d3.html"'
check "arrow 3 is highlighted" 'grep -Eq "<g id=\"arrow-3\" class=\"arrow [a-z0-9]+ active\"" "$tmp/d3.html"'
check "arrow 2 is not" '! grep -Eq "<g id=\"arrow-2\" class=\"[^\"]*active" "$tmp/d3.html"'
check "step 3 lists its DNS lines" 'grep -q "query MX diversicomcorp.com" "$tmp/d3.html"'

check "step 3 has no aside shown" 'grep -q "<aside id=\"step-aside\" hidden=\"\"></aside>" "$tmp/d3.html"'

browse f --dump-dom "$page#step=2" >"$tmp/d2a.html"
check "step 2 (the first DNS query) shows its aside beside it" 'grep -q "<aside id=\"step-aside\">(what really happens" "$tmp/d2a.html"'

browse c --dump-dom "$page#step=5&press=prev" >"$tmp/d4.html"
check "Previous from step 5 shows step 4" 'grep -q "data-current-step=\"4\"" "$tmp/d4.html"'
check "arrow 4 is highlighted" 'grep -Eq "<g id=\"arrow-4\" class=\"arrow [a-z0-9]+ active\"" "$tmp/d4.html"'

browse d --dump-dom "$page#step=1&press=next" >"$tmp/d2.html"
check "Next from step 1 shows step 2, its label says so" 'grep -q "Step 2 of" "$tmp/d2.html"'

browse e --screenshot="$tmp/shot.png" --window-size=1600,1400 --hide-scrollbars "$page#step=5" >/dev/null
check "a screenshot of step 5 was taken" '[ -s "$tmp/shot.png" ] && head -c 8 "$tmp/shot.png" | grep -q PNG'
if [ -n "${STORY_SHOT:-}" ] && [ -s "$tmp/shot.png" ]; then
    cp "$tmp/shot.png" "$STORY_SHOT"
fi

echo "browser: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

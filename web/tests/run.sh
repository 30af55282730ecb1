#!/usr/bin/env bash
# Browser tests of the web chat and the monitor: headless Debian Chromium driven by
# playwright-core (never downloads a browser), against the real `koi` binary.
# Installs what is missing: chromium (apt-get), node and npm (apt-get), node_modules (npm ci).
# KOI_SCREENSHOTS=1 also writes the screenshots to docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../.. && pwd)"

apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; then
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  fi
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# Emoji in messages and screenshots (optional, small).
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -gt 0 ]; then
  echo "web/tests: installing ${missing[*]}"
  apt_install "${missing[@]}"
fi
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi

# The workspace build scripts/test has already made (`-p koi` would unify
# features differently and rebuild some thirty crates).
(cd "$root" && cargo build --workspace --all-targets --locked)
export KOI_BIN="${KOI_BIN:-$root/target/debug/koi}"
node --test --test-concurrency=1 *.test.js

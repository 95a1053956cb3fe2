#!/usr/bin/env bash
# The dashboard in a real browser: Debian's headless Chromium (installed with apt if
# missing) driven by playwright-core and checked by axe-core (both pinned in
# .ci/browser/package-lock.json, installed with npm ci), against a real `pilot serve`
# with a throwaway SQLite store. Screenshots of every page it checks go to
# $SCREENSHOTS (default .ci/browser/screenshots).
#
#   .ci/browser.sh                          # builds target/debug/pilot if it is missing
#   PILOT_BIN=target/release/pilot .ci/browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
  printf '\n==> installing Chromium\n'
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd .ci/browser && npm ci --no-audit --no-fund --silent)

. .ci/serve.sh

# The pilot's http step and its run events go to the test's receiver on loopback.
export PILOT_OUTBOUND__ALLOW_LIST='["127.0.0.1/32"]'
export PILOT_WEBHOOKS__ALLOW_HTTP=true
# Retries a second apart, so a delivery can be seen dead within the test.
export PILOT_WEBHOOKS__RETRY_DELAYS_SECS='[1, 1, 1, 1, 1]'
start_pilot
setup=""
for _ in $(seq 1 100); do
  setup=$(sed -n 's/^Dashboard setup .*: \(http[^ ]*\)$/\1/p' "$data/serve.out" | head -n 1)
  [ -n "$setup" ] && break
  sleep 0.1
done
[ -n "$setup" ] || { echo "pilot serve printed no setup link" >&2; cat "$data/serve.out" >&2; exit 1; }

sink_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PILOT_URL="$url" SETUP_URL="$setup" SINK_PORT="$sink_port" CHROMIUM="$(command -v chromium)" \
  SCREENSHOTS="${SCREENSHOTS:-$PWD/.ci/browser/screenshots}" \
  node .ci/browser/dashboard.test.mjs || { cat "$data/serve.err" >&2; exit 1; }
